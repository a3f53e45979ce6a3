"""Pages: my videos, upload, watch (player, captions, transcript), transcript corrections, search."""

from __future__ import annotations

import math
import re
from urllib.parse import quote

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app import authz, db
from app.accounts.forms import ActionForm
from app.errors import ClassLabError, InvalidInput, NotFound, form_errors_to, msg
from app.feedback import service as feedback
from app.inputs import digits, read_form
from app.sharing import service as sharing
from app.video import captions, clips, service
from app.video.delivery import asset_url, poster_urls
from app.video.models import VideoStatus
from app.video.schemas import ClipIn

bp = Blueprint("video", __name__, url_prefix="/videos")
search_bp = Blueprint("search", __name__)


STATUS_LABELS = {
    "uploading": _l("Uploading"), "uploaded": _l("Waiting to be processed"), "probed": _l("Preparing for the web"),
    "transcoded": _l("Playable; transcribing"), "transcribed": _l("Transcribed"), "ready": _l("Ready"),
    "failed": _l("Failed"),
}
STEP_LABELS = {"probe": _l("Checking the file"), "transcode": _l("Preparing for the web"),
               "transcribe": _l("Transcribing speech"), "finish": _l("Finishing"),
               "refused": _l("Checking the file")}

@bp.app_context_processor
def video_labels():
    return {"status_labels": STATUS_LABELS, "step_labels": STEP_LABELS}


def _store():
    return current_app.extensions["classlab.storage"]


def _seconds() -> int:
    return current_app.extensions["classlab.settings"].media_url_seconds


def _download_seconds() -> int:
    return current_app.extensions["classlab.settings"].download_url_seconds


@bp.get("/")
@login_required
def index():
    s = db.session()
    videos = service.list_videos(s, current_user)
    thumbs = poster_urls(_store(), service.posters(s, videos), _seconds(), current_user.id)
    return render_template("video/list.html", videos=videos, thumbs=thumbs, VideoStatus=VideoStatus)


@bp.get("/upload")
@login_required
def upload():
    settings = current_app.extensions["classlab.settings"]
    return render_template("video/upload.html", max_bytes=settings.max_upload_bytes)


@bp.get("/<public_id>")
@login_required
def watch(public_id: str):
    video = service.get_video(db.session(), current_user, public_id)
    store, seconds = _store(), _seconds()
    me = current_user.id
    urls = {a.kind: asset_url(store, a, seconds, audience=me) for a in video.assets if a.kind != "storyboard_vtt"}
    sources = {k: urls[k] for k in ("web", "low") if k in urls}
    if not video.has_video and video.status == VideoStatus.ready and "original" in urls:
        sources = {"audio": urls["original"]}
    try:
        start = float(request.args.get("t", "0"))
    except ValueError:
        start = 0.0
    if not math.isfinite(start) or start < 0:
        start = 0.0
    s = db.session()
    sharing.record(s, video, current_user, "view")
    frameworks, element_titles, lang = _frameworks(s)
    from app.communities.service import list_communities

    owner = authz.may(current_user, "share", video)
    threads = feedback.threads(s, current_user, public_id)  # read once: the list and the tag chart both use it
    return render_template(
        "video/watch.html", video=video, urls=urls, sources=sources, start=start, VideoStatus=VideoStatus,
        threads=threads, frameworks=frameworks, element_titles=element_titles,
        clips=clips.clips_of(s, current_user, video),
        can_comment=authz.may(current_user, "comment", video),
        segments=service.transcript_lines(s, video), action_form=ActionForm(),
        downloads={a.kind: asset_url(store, a, _download_seconds(), download=True, audience=me) for a in video.assets
                   if a.kind in ("original", "web")} if authz.may(current_user, "download", video) else {},
        shares=sharing.shares_of(s, video) if owner else None,
        share_action=url_for("sharing.share", public_id=public_id),
        communities=list_communities(s, current_user) if owner else [],
        **_lesson_tags(s, video, threads, lang),
    )


def _lesson_tags(s, video, threads, lang: str) -> dict:
    """The watch page's tag chart: counts per five minutes of the lesson, and totals per element, over the
    threads the page already read through authz."""
    from markupsafe import Markup

    from app.config import RTL
    from app.feedback import tagstats

    timeline = tagstats.timeline_of(threads, video.duration, public_id=video.public_id)
    labels = tagstats.tag_labels(s, timeline.keys, lang)
    chart = Markup(tagstats.render_stacked_columns_svg(
        [tagstats.clock(t) for t in timeline.starts], {labels[k]: timeline.counts[k] for k in timeline.keys},
        title=_("Framework tags across the lesson (per %(n)d minutes)", n=timeline.bucket_seconds // 60),
        rtl=lang.split("_")[0] in RTL, totals_label=_("Total"))) if timeline.total else None
    return {"tag_timeline": timeline, "tag_labels": labels, "tag_chart": chart}


def _frameworks(s):
    """The current frameworks, and each element's title in the page's language."""
    from flask_babel import get_locale

    from app.feedback.frameworks import Framework, tag_label

    frameworks = feedback.current_frameworks(s)
    lang = str(get_locale() or "en")
    element_titles = {}
    for row in frameworks:
        framework = Framework.from_dict(row.data)
        for element in framework.elements():
            element_titles[f"{row.key}:{element.key}"] = tag_label(framework, element.key, lang)
    return frameworks, element_titles, lang


def _cues(video):
    return captions.video_cues(video)


@bp.post("/<public_id>/clips")
@login_required
@form_errors_to("video.watch", "#clips")
def add_clip(public_id: str):
    clip = clips.create_clip(db.session(), current_user, public_id, **read_form(ClipIn, request.form))
    return redirect(url_for("video.clip", clip_id=clip.public_id))


@bp.get("/clips/<clip_id>")
@login_required
def clip(clip_id: str):
    s = db.session()
    found = clips.get_clip(s, current_user, clip_id)
    video = found.video
    src, offset = clips.media_url(_store(), _seconds(), current_user, found)
    sharing.record(s, video, current_user, "view", f"clip {found.title}")
    from app.communities.service import list_communities

    owner = authz.may(current_user, "share", found)
    frameworks, element_titles, _lang = _frameworks(s)
    return render_template(
        "video/clip.html", clip=found, video=video, src=src, offset=offset or 0.0, action_form=ActionForm(),
        can_delete=authz.may(current_user, "delete", found), sees_lesson=authz.may(current_user, "view", video),
        can_comment=authz.may(current_user, "comment", found), threads=feedback.clip_threads(s, current_user, found),
        frameworks=frameworks, element_titles=element_titles,
        shares=sharing.shares_of(s, video, found) if owner else None,
        communities=list_communities(s, current_user) if owner else [],
    )


@bp.get("/clips/<clip_id>/captions.vtt")
@login_required
def clip_captions(clip_id: str):
    """The clip's captions on the clip file's own timeline: nothing from outside the clip."""
    found = clips.get_clip(db.session(), current_user, clip_id)
    offset = 0.0 if authz.may(current_user, "view", found.video) else found.start
    cues = [captions.Cue(max(c.start, found.start) - offset, min(c.end, found.end) - offset, c.text)
            for c in _cues(found.video) if c.end > found.start and c.start < found.end]
    return Response(captions.to_webvtt(cues), mimetype="text/vtt", headers={"Cache-Control": "private, no-store"})


@bp.post("/clips/<clip_id>/delete")
@login_required
def delete_clip(clip_id: str):
    public_id = clips.delete_clip(db.session(), current_user, clip_id, _store())
    return redirect(url_for("video.watch", public_id=public_id) + "#clips")


@bp.get("/<public_id>/captions.vtt")
@login_required
def captions_vtt(public_id: str):
    video = service.get_video(db.session(), current_user, public_id)
    return Response(captions.to_webvtt(_cues(video)), mimetype="text/vtt",
                    headers={"Cache-Control": "private, no-store"})


@bp.get("/<public_id>/storyboard.vtt")
@login_required
def storyboard_vtt(public_id: str):
    video = service.get_video(db.session(), current_user, public_id)
    track, sprite = video.asset("storyboard_vtt"), video.asset("storyboard")
    if track is None or sprite is None:
        raise NotFound(msg("This video has no storyboard yet."))
    text = b"".join(_store().stream(track.key)).decode("utf-8")
    signed = asset_url(_store(), sprite, _seconds(), audience=current_user.id)
    text = re.sub(r"^storyboard\.jpg(?=#)", lambda _m: signed, text, flags=re.M)
    return Response(text, mimetype="text/vtt", headers={"Cache-Control": "private, no-store"})


@bp.get("/<public_id>/transcript.<fmt>")
@login_required
def transcript_export(public_id: str, fmt: str):
    video = service.get_video(db.session(), current_user, public_id, "download")
    cues = _cues(video)
    renderers = {"vtt": (captions.to_webvtt, "text/vtt"), "srt": (captions.to_srt, "application/x-subrip"),
                 "txt": (lambda c: captions.to_text(c), "text/plain")}
    if fmt not in renderers:
        raise NotFound(msg("No transcript format '%(format)s': choose vtt, srt or txt.", format=fmt))
    render, mimetype = renderers[fmt]
    name = quote(f"{video.title[:80]}.{fmt}", safe="")
    return Response(render(cues), mimetype=mimetype,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"})


@bp.route("/<public_id>/transcript/edit", methods=["GET", "POST"])
@login_required
@form_errors_to("video.edit_transcript")
def edit_transcript(public_id: str):
    s = db.session()
    video = service.get_video(s, current_user, public_id, "edit")
    if request.method == "POST":
        changed = 0
        for key, value in request.form.items():
            if key.startswith("segment-"):
                position = digits(key.removeprefix("segment-"))
                if position is None:
                    raise InvalidInput(msg("A transcript line number is not valid."), field=key)
                before = next((x.shown for x in video.transcript.segments if x.position == position), None)
                if before is not None and value.strip() != before:
                    service.correct_segment(s, current_user, public_id, position, value)
                    changed += 1
        flash(_("%(n)d transcript lines corrected.", n=changed), "info")
        return redirect(url_for("video.watch", public_id=public_id))
    return render_template("video/edit_transcript.html", video=video, form=ActionForm())


@bp.post("/<public_id>/retry")
@login_required
def retry(public_id: str):
    service.retry(db.session(), current_user, public_id)
    flash(_("Processing restarted."), "info")
    return redirect(url_for("video.watch", public_id=public_id))


@bp.post("/<public_id>/delete")
@login_required
def delete(public_id: str):
    s = db.session()
    video = service.get_video(s, current_user, public_id, "delete")
    sharing.record(s, video, current_user, "delete", video.title)
    service.delete_video(s, _store(), current_user, public_id)
    flash(_("The video and all its files were deleted."), "info")
    return redirect(url_for("video.index"))


@search_bp.get("/search")
@login_required
def search():
    q = request.args.get("q", "").strip()
    hits, error = [], None
    if q:
        try:
            hits = service.search(db.session(), current_user, q)
        except ClassLabError as exc:
            error = exc.detail
    return render_template("video/search.html", q=q, hits=hits, error=error)
