"""JSON endpoints under /api/v1/videos/ and /api/v1/search."""

from __future__ import annotations

from flask import current_app, url_for
from flask.views import MethodView
from flask_login import current_user, login_required
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app import db
from app.errors import NotFound
from app.feedback import service as feedback
from app.sharing import service as sharing
from app.video import clips, service
from app.video.delivery import asset_url

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
    @blp.response(200, TranscriptOut)
    def get(self, public_id: str):
        video = service.get_video(db.session(), current_user, public_id)
        if video.transcript is None:
            return {"language": "", "model": "", "segments": []}
        return {
            "language": video.transcript.language, "model": video.transcript.model,
            "segments": [
                {"position": s.position, "start": s.start, "end": s.end, "shown": s.shown, "text": s.text,
                 "corrected": s.corrected is not None, "words": s.words}
                for s in video.transcript.segments
            ],
        }


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


class TagOut(Schema):
    framework = fields.String()
    version = fields.Integer()
    element = fields.String()


class CommentOut(Schema):
    id = fields.Integer()
    parent_id = fields.Integer(allow_none=True)
    start = fields.Float()
    end = fields.Float(allow_none=True)
    body = fields.String()
    quote = fields.String(allow_none=True)
    tags = fields.List(fields.Nested(TagOut))
    author = fields.String(attribute="author.display_name")
    created_at = fields.DateTime()
    edited_at = fields.DateTime(allow_none=True)
    deleted = fields.Function(lambda c: c.deleted_at is not None)
    replies = fields.List(fields.Nested(lambda: CommentOut(exclude=("replies",))))


class CommentIn(Schema):
    body = fields.String(required=True)
    start = fields.Raw(load_default=None, metadata={"description": "seconds, or m:ss"})
    end = fields.Raw(load_default=None)
    parent_id = fields.Integer(load_default=None)
    quote = fields.String(load_default=None)
    tags = fields.List(fields.String(), load_default=list, metadata={"description": "framework:element"})


class CommentEdit(Schema):
    body = fields.String(required=True)
    tags = fields.List(fields.String(), load_default=None)


@blp.route("/<public_id>/comments")
class Comments(MethodView):
    @login_required
    @blp.response(200, CommentOut(many=True))
    def get(self, public_id: str):
        return feedback.threads(db.session(), current_user, public_id)

    @login_required
    @blp.arguments(CommentIn)
    @blp.response(201, CommentOut)
    def post(self, body, public_id: str):
        s = db.session()
        comment = feedback.add_comment(s, current_user, public_id, **body)
        return comment


@blp.route("/comments/<int:comment_id>")
class OneComment(MethodView):
    @login_required
    @blp.response(200, CommentOut)
    def get(self, comment_id: int):
        return feedback.get_comment(db.session(), current_user, comment_id)

    @login_required
    @blp.arguments(CommentEdit)
    @blp.response(200, CommentOut)
    def patch(self, body, comment_id: int):
        s = db.session()
        comment = feedback.edit_comment(s, current_user, comment_id, body["body"], body["tags"])
        return comment

    @login_required
    @blp.response(204)
    def delete(self, comment_id: int):
        s = db.session()
        feedback.delete_comment(s, current_user, comment_id)


# ------------------------------------------------------------------ download, consent, sharing, audit
class DownloadOut(Schema):
    url = fields.String(metadata={"description": "signed, expiring; served as an attachment"})
    filename = fields.String()


class ConsentIn(Schema):
    status = fields.String(required=True, validate=validate.OneOf(["none", "partial", "full"]))
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class ShareIn(Schema):
    email = fields.String(load_default=None, validate=validate.Length(max=254))
    community = fields.String(load_default=None, validate=validate.Length(max=32),
                              metadata={"description": "a community's id, instead of an e-mail"})
    right = fields.String(required=True, validate=validate.OneOf(["view", "comment"]))


class ShareOut(Schema):
    id = fields.Integer()
    right = fields.String()
    user = fields.Function(lambda s: s.user.email if s.user else None)
    community = fields.Function(lambda s: s.community.public_id if s.community else None)
    clip = fields.Function(lambda s: s.clip.public_id if s.clip else None)
    created_at = fields.DateTime()


class AuditOut(Schema):
    at = fields.DateTime()
    action = fields.String()
    actor = fields.Function(lambda e: e.actor.email if e.actor else None)
    detail = fields.String()


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
            raise NotFound("This video has no stored original.")
        store = current_app.extensions["classlab.storage"]
        url = asset_url(store, asset, _settings().media_url_seconds, download=True, audience=current_user.id)
        return {"url": url, "filename": video.original_filename or video.title}


@blp.route("/<public_id>/consent")
class ConsentView(MethodView):
    @login_required
    @blp.arguments(ConsentIn)
    @blp.response(200, VideoOut)
    def put(self, body, public_id: str):
        s = db.session()
        video = sharing.set_consent(s, current_user, public_id, body["status"], body["note"])
        return video_out(video)


@blp.route("/<public_id>/shares")
class Shares(MethodView):
    @login_required
    @blp.response(200, ShareOut(many=True))
    def get(self, public_id: str):
        s = db.session()
        return sharing.shares_of(s, service.get_video(s, current_user, public_id, "share"), lesson_only=False)

    @login_required
    @blp.arguments(ShareIn)
    @blp.response(201, ShareOut)
    def post(self, body, public_id: str):
        s = db.session()
        found = sharing.share(s, current_user, public_id, body["email"], body["right"], community_id=body["community"])
        return found


@blp.route("/shares/<int:share_id>")
class OneShare(MethodView):
    @login_required
    @blp.response(204)
    def delete(self, share_id: int):
        s = db.session()
        sharing.revoke(s, current_user, share_id)


@blp.route("/<public_id>/audit")
class Audit(MethodView):
    @login_required
    @blp.response(200, AuditOut(many=True))
    def get(self, public_id: str):
        return sharing.audit_log(db.session(), current_user, public_id)


# --------------------------------------------------------------------------------------------- clips
class ClipIn(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    start = fields.Raw(required=True, metadata={"description": "seconds, or m:ss"})
    end = fields.Raw(required=True)
    note = fields.String(load_default="", validate=validate.Length(max=5000))


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


class ClipCommentIn(Schema):
    body = fields.String(required=True)
    start = fields.Raw(load_default=None)
    end = fields.Raw(load_default=None)
    parent_id = fields.Integer(load_default=None)
    tags = fields.List(fields.String(), load_default=list)


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


@blp.route("/clips/<clip_id>/shares")
class ClipShares(MethodView):
    @login_required
    @blp.response(200, ShareOut(many=True))
    def get(self, clip_id: str):
        s = db.session()
        clip = clips.get_clip(s, current_user, clip_id, "share")
        return sharing.shares_of(s, clip.video, clip)

    @login_required
    @blp.arguments(ShareIn)
    @blp.response(201, ShareOut)
    def post(self, body, clip_id: str):
        s = db.session()
        found = sharing.share_clip(s, current_user, clip_id, body["email"], body["right"],
                                   community_id=body["community"])
        return found


@blp.route("/clips/<clip_id>/comments")
class ClipComments(MethodView):
    @login_required
    @blp.response(200, CommentOut(many=True))
    def get(self, clip_id: str):
        s = db.session()
        return feedback.clip_threads(s, current_user, clips.get_clip(s, current_user, clip_id))

    @login_required
    @blp.arguments(ClipCommentIn)
    @blp.response(201, CommentOut)
    def post(self, body, clip_id: str):
        s = db.session()
        comment = feedback.add_clip_comment(s, current_user, clip_id, **body)
        return comment
