"""JSON endpoints under /api/v1/videos/ and /api/v1/search."""

from __future__ import annotations

from flask import current_app, url_for
from flask.views import MethodView
from flask_login import current_user, login_required
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app import db
from app.errors import NotFound, msg
from app.http import answer_cache, send
from app.video import clips, service, transcripts
from app.video.delivery import asset_url
from app.video.schemas import ClipIn

blp = Blueprint("videos_api", __name__, url_prefix="/api/v1/videos", description="Lesson videos and transcripts")
search_blp = Blueprint("search_api", __name__, url_prefix="/api/v1/search", description="Transcript search")

class AssetOut(Schema):
    kind = fields.String()
    size = fields.Integer()
    content_type = fields.String()
    url = fields.String(metadata={"description": "signed, expiring"})


class VideoOut(Schema):
    id = fields.String()
    title = fields.String()
    status = fields.String()
    step = fields.String(allow_none=True)
    progress = fields.Float()
    failed_step = fields.String(allow_none=True)
    failure_reason = fields.String(allow_none=True)
    duration = fields.Float(allow_none=True)
    size = fields.Integer(allow_none=True)
    sha256 = fields.String(allow_none=True)
    width = fields.Integer(allow_none=True)
    height = fields.Integer(allow_none=True)
    web_mode = fields.String(allow_none=True)
    watch_url = fields.String()
    assets = fields.List(fields.Nested(AssetOut))


class SegmentOut(Schema):
    position = fields.Integer()
    start = fields.Float()
    end = fields.Float()
    text = fields.String(attribute="shown")
    original = fields.String(attribute="text")
    corrected = fields.Boolean()
    words = fields.List(fields.Dict())


class TranscriptOut(Schema):
    language = fields.String()
    model = fields.String()
    segments = fields.List(fields.Nested(SegmentOut))


class CorrectionIn(Schema):
    text = fields.String(required=True, validate=validate.Length(max=2000))


class SearchQuery(Schema):
    q = fields.String(required=True, validate=validate.Length(min=1, max=200))


class HitOut(Schema):
    video_id = fields.String()
    title = fields.String()
    start = fields.Float()
    text = fields.String()
    url = fields.String()


def video_out(video) -> dict:
    data = service.summary(video)
    store = current_app.extensions["classlab.storage"]
    seconds = current_app.extensions["classlab.settings"].media_url_seconds
    data["watch_url"] = url_for("video.watch", public_id=video.public_id, _external=True)
    data["assets"] = [
        {"kind": a.kind, "size": a.size, "content_type": a.content_type,
         "url": asset_url(store, a, seconds, audience=current_user.id)}
        for a in video.assets if a.kind != "storyboard_vtt"
    ]
    return data


@blp.route("/")
class Videos(MethodView):
    @login_required
    @blp.response(200, VideoOut(many=True))
    def get(self):
        return [video_out(v) for v in service.list_videos(db.session(), current_user)]


@blp.route("/<public_id>")
class OneVideo(MethodView):
    @login_required
    @blp.response(200, VideoOut)
    def get(self, public_id: str):
        return video_out(service.get_video(db.session(), current_user, public_id))

    @login_required
    @blp.response(204)
    def delete(self, public_id: str):
        s = db.session()
        service.delete_video(s, current_app.extensions["classlab.storage"], current_user, public_id)


@blp.route("/<public_id>/retry")
class Retry(MethodView):
    @login_required
    @blp.response(202, VideoOut)
    def post(self, public_id: str):
        s = db.session()
        video = service.retry(s, current_user, public_id)
        return video_out(video)


@blp.route("/<public_id>/transcript")
class TranscriptView(MethodView):
    @login_required
    @blp.response(200, TranscriptOut, headers={
        "ETag": {"description": "strong; send it back in If-None-Match to get 304", "schema": {"type": "string"}}})
    @blp.alt_response(304, description="Not modified: the transcript named in If-None-Match is still current")
    def get(self, public_id: str):
        """The transcript with its word timings; the same bytes until the transcript changes (a correction)."""
        s = db.session()
        video = service.get_video(s, current_user, public_id, assets=False, transcript=True)
        return send(transcripts.as_json(answer_cache(), s, video))


@blp.route("/<public_id>/transcript/<int:position>")
class CorrectSegment(MethodView):
    @login_required
    @blp.arguments(CorrectionIn)
    @blp.response(200, SegmentOut)
    def put(self, body, public_id: str, position: int):
        s = db.session()
        seg = service.correct_segment(s, current_user, public_id, position, body["text"])
        return {"position": seg.position, "start": seg.start, "end": seg.end, "shown": seg.shown, "text": seg.text,
                "corrected": seg.corrected is not None, "words": seg.words}


@search_blp.route("")
class Search(MethodView):
    @login_required
    @search_blp.arguments(SearchQuery, location="query")
    @search_blp.response(200, HitOut(many=True))
    def get(self, args):
        hits = service.search(db.session(), current_user, args["q"])
        return [
            {"video_id": h.video.public_id, "title": h.video.title, "start": h.segment.start, "text": h.segment.shown,
             "url": url_for("video.watch", public_id=h.video.public_id, t=f"{h.segment.start:.1f}")}
            for h in hits
        ]


# ------------------------------------------------------------------ download
class DownloadOut(Schema):
    url = fields.String(metadata={"description": "signed, expiring; served as an attachment"})
    filename = fields.String()


def _settings():
    return current_app.extensions["classlab.settings"]


@blp.route("/<public_id>/download")
class Download(MethodView):
    @login_required
    @blp.response(200, DownloadOut)
    def get(self, public_id: str):
        """The original recording, for its owner only."""
        s = db.session()
        video = service.get_video(s, current_user, public_id, "download")
        asset = video.asset("original")
        if asset is None:
            raise NotFound(msg("This video has no stored original."))
        store = current_app.extensions["classlab.storage"]
        url = asset_url(store, asset, _settings().download_url_seconds, download=True, audience=current_user.id)
        return {"url": url, "filename": video.original_filename or video.title}


class ClipOut(Schema):
    id = fields.String(attribute="public_id")
    video_id = fields.String()
    title = fields.String()
    note = fields.String()
    start = fields.Float()
    end = fields.Float()
    creator = fields.String()
    cut_status = fields.String()
    media_url = fields.String(allow_none=True, metadata={"description": "signed, expiring; None while being cut"})
    media_offset = fields.Float(allow_none=True, metadata={"description": "where the media's 0 is in the lesson"})


def clip_out(clip) -> dict:
    url, offset = clips.media_url(current_app.extensions["classlab.storage"], _settings().media_url_seconds,
                                  current_user, clip)
    return {
        "public_id": clip.public_id, "video_id": clip.video.public_id, "title": clip.title, "note": clip.note,
        "start": clip.start, "end": clip.end, "creator": clip.creator.display_name, "cut_status": clip.cut_status,
        "media_url": url, "media_offset": offset,
    }


@blp.route("/<public_id>/clips")
class VideoClips(MethodView):
    @login_required
    @blp.response(200, ClipOut(many=True))
    def get(self, public_id: str):
        s = db.session()
        return [clip_out(c) for c in clips.clips_of(s, current_user, service.get_video(s, current_user, public_id))]

    @login_required
    @blp.arguments(ClipIn)
    @blp.response(201, ClipOut)
    def post(self, body, public_id: str):
        s = db.session()
        clip = clips.create_clip(s, current_user, public_id, **body)
        return clip_out(clip)


@blp.route("/clips/<clip_id>")
class OneClip(MethodView):
    @login_required
    @blp.response(200, ClipOut)
    def get(self, clip_id: str):
        return clip_out(clips.get_clip(db.session(), current_user, clip_id))

    @login_required
    @blp.response(204)
    def delete(self, clip_id: str):
        s = db.session()
        clips.delete_clip(s, current_user, clip_id, current_app.extensions["classlab.storage"])
