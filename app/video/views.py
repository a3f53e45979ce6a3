"""Pages: my videos, upload, watch (player, captions, transcript), transcript corrections, search."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from urllib.parse import quote

from flask import Blueprint, Response, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import select

from app import authz, db
from app.accounts.forms import ActionForm, csrf_input
from app.analytics import service as analytics
from app.analytics import shown as analytics_shown
from app.errors import ClassLabError, InvalidInput, NotFound, form_errors_to, msg
from app.feedback import service as feedback
from app.feedback import shown
from app.feedback.models import ObservationFramework
from app.feedback.schemas import WatchPageIn
from app.http import answer_cache, hole, kept_page, row_state, send, state
from app.inputs import digits, read_form
from app.rehearsals import service as rehearsals
from app.sharing import service as sharing
from app.video import captions, clips, service, transcripts
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

LESSON_LANGUAGE_LABELS = {"he": _l("Hebrew"), "ar": _l("Arabic"), "en": _l("English")}


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
    return render_template("video/upload.html", max_bytes=settings.max_upload_bytes,
                           languages=LESSON_LANGUAGE_LABELS, default_language=service.lesson_language(
                               current_user.locale))


def _fragment(name: str, **context) -> str:
    """A part of a page rendered to be kept (app.cache): with only what it is given, without the context
    processors a page's render runs (the unread notifications' count is the page's business, not the part's)."""
    return current_app.jinja_env.get_template(name).render(**context)


# Threads the watch page shows at first and per "more comments": the rest come from the comments API on demand.
WATCH_PAGE = 20


@bp.get("/<public_id>")
@login_required
def watch(public_id: str):
    """The lesson's page. Everything it shows is read on every view, through the same checks as ever; a ready
    lesson's page is then rendered once per all of that (app.http.kept_page) and kept, with this view's CSRF
    token and signed media links put in its holes."""
    s = db.session()
    video = service.get_video(s, current_user, public_id, transcript=True)
    cache = answer_cache()
    store, seconds = _store(), _seconds()
    me = current_user.id
    playable = {a.kind: a for a in video.assets if a.kind != "storyboard_vtt"}
    try:
        start = float(request.args.get("t", "0"))
    except ValueError:
        start = 0.0
    if not math.isfinite(start) or start < 0:
        start = 0.0
    sharing.record(s, video, current_user, "view")
    frameworks, element_titles, lang, tag_options = _frameworks(s)
    from app.communities.service import list_communities

    owner = authz.may(current_user, "share", video)
    can_comment = authz.may(current_user, "comment", video)
    lesson_feedback = shown.lesson_feedback(cache, s, video)  # the page, the markers and the tag chart share it
    wanted = read_form(WatchPageIn, request.args)
    page = shown.page_of(lesson_feedback, wanted.get("comment"), WATCH_PAGE) or wanted["page"]
    pages = max(1, math.ceil(len(lesson_feedback.threads) / WATCH_PAGE))
    rehearsal = _rehearsal_panel(s, video, lang)
    analysis = analytics.readable(s, current_user, video)
    rehearsed = rehearsals.rehearsals_for_lesson(s, current_user, video) if video.purpose == "lesson" else []
    lesson_clips = clips.clips_of(s, current_user, video)
    shares = sharing.shares_of(s, video) if owner and rehearsal is None else None
    communities = list_communities(s, current_user) if owner else []
    to_download = {a.kind: a for a in video.assets if a.kind in ("original", "web")} \
        if authz.may(current_user, "download", video) else {}

    def url(kind: str) -> str:
        return asset_url(store, playable[kind], seconds, audience=me)

    def download_url(kind: str) -> str:
        return asset_url(store, to_download[kind], _download_seconds(), download=True, audience=me)

    def render(urls=None, downloads=None, **layout) -> str:  # layout: a kept page's holes for the layout's values
        urls = {k: url(k) for k in playable} if urls is None else urls
        downloads = {k: download_url(k) for k in to_download} if downloads is None else downloads
        sources = {k: urls[k] for k in ("web", "low") if k in urls}
        if not video.has_video and video.status == VideoStatus.ready and "original" in urls:
            sources = {"audio": urls["original"]}
        return render_template(
            "video/watch.html", video=video, urls=urls, sources=sources, start=start, VideoStatus=VideoStatus,
            rehearsal=rehearsal, rehearsed=rehearsed,
            comment_threads=_comment_threads(cache, video, lesson_feedback, page, can_comment, element_titles, lang,
                                             layout.get("csrf_field")),
            any_feedback=bool(lesson_feedback.threads),
            comments_page=page, comments_pages=pages, comments_limit=WATCH_PAGE,
            markers=_markers(cache, video, lesson_feedback) if "storyboard" in urls else "",
            frameworks=frameworks, element_titles=element_titles,
            clips=lesson_clips,
            can_comment=can_comment,
            transcript_lines=_transcript_lines(cache, s, video, can_comment, lang, analysis),
            action_form=ActionForm(),
            analysis=analysis,
            analysis_band=analytics_shown.band(analysis, analytics.turns_shown(s, analysis, text=False))
            if analysis is not None and analysis.measured_at else None,
            analysis_card=analytics_shown.card(analysis) if analysis is not None and analysis.measured_at else None,
            languages=LESSON_LANGUAGE_LABELS, missing_model=(video.transcript.settings or {}).get("missing_model")
            if video.transcript is not None else None,
            downloads=downloads, shares=shares, share_action=url_for("sharing.share", public_id=public_id),
            communities=communities, tag_summary=_lesson_tags(cache, s, video, lesson_feedback, lang),
            tag_options=tag_options, **layout,
        )

    if rehearsal is not None or video.status != VideoStatus.ready:
        return render()  # a rehearsal's panel, or a lesson still being processed (its progress moves)
    key = ("watch page", video.public_id, video.id, state(
        row_state(video), row_state(video.transcript), sorted(playable), sorted(to_download), row_state(current_user),
        lang, request.full_path, owner, can_comment, lesson_feedback.version, _frameworks_seen(s),
        row_state(analysis), [(row_state(a), row_state(a.scenario), row_state(a.owner)) for a in rehearsed],
        [row_state(c) for c in lesson_clips],
        [(row_state(sh), row_state(sh.user), row_state(sh.community)) for sh in shares or ()],
        [row_state(c) for c in communities]))

    def holes(needed: set[str]) -> dict[str, str]:  # only the links the page shows are signed
        from flask_wtf.csrf import generate_csrf

        return {"csrf_token": generate_csrf(), **{f"url_{k}": url(k) for k in playable if f"url_{k}" in needed},
                **{f"download_{k}": download_url(k) for k in to_download if f"download_{k}" in needed}}

    def render_kept(**layout) -> str:
        return render(urls={k: hole(f"url_{k}") for k in playable},
                      downloads={k: hole(f"download_{k}") for k in to_download},
                      csrf_token=lambda: hole("csrf_token"), **layout)

    return kept_page(key, render_kept, holes, render)


def _rehearsal_panel(s, video, lang: str) -> dict | None:
    """A rehearsal's recording is watched here like a lesson, with its scenario, rubric, reflection and sharing
    beside it (app.rehearsals)."""
    attempt = rehearsals.attempt_of_video(s, video)
    if attempt is None:
        return None
    me = current_user.id
    mine = attempt.owner_id == me
    return {
        "attempt": attempt, "scenario": attempt.scenario, "lang": attempt.language, "mine": mine,
        "can_score": authz.may(current_user, "score", attempt),
        "can_choose": authz.may(current_user, "choose", attempt),
        "my_levels": {row.criterion: row.level for row in attempt.scores if row.reviewer_id == me},
        "means": rehearsals.mean_scores(attempt),
        "reviewers": sorted({row.reviewer.display_name for row in attempt.scores}),
        "lessons": rehearsals.my_lessons(s, current_user) if mine else [],
        "others": [a for a in rehearsals.attempts_of(s, current_user, attempt.scenario) if a.id != attempt.id]
        if mine else [],
    }


def _transcript_lines(cache, s, video, can_comment: bool, lang: str, analysis=None) -> Markup:
    """The transcript's lines as the page shows them, rendered once per transcript version, language, whether
    the reader may quote them into a comment, and (for a reader of the lesson's analytics) the speakers' version;
    empty without lines."""
    if video.transcript is None:
        return Markup("")
    transcript = video.transcript

    def render() -> tuple[Markup, int]:
        found = transcripts.lines(cache, s, video)
        speakers = []
        if analysis is not None and found:
            for turn in analytics.speaker_at(analysis, [line.start + 0.01 for line in found]):
                speakers.append("" if turn is None else _("Teacher") if turn.role == "teacher"
                                else _("Student %(n)d", n=turn.student))
        html = Markup(_fragment("video/_transcript_lines.html", segments=found, can_comment=can_comment,
                                speakers=speakers, ltr=transcript.language in ("en", ""))) if found else Markup("")
        return html, len(html) + 100

    return cache.get_or_make(("transcript", video.public_id, transcript.id, transcript.version, "lines html",
                              lang, can_comment, analysis.version if analysis is not None else None), render)


def tag_choices(s) -> Markup:
    """The comment form's options for tagging a moment with a framework element (also the analytics page's)."""
    return _frameworks(s)[3]


_CSRF_FIELD = "<!--csrf field-->"  # nothing a comment can hold: its text is escaped, "<" and all


def _comment_threads(cache, video, lesson_feedback, page: int, can_comment: bool, element_titles: dict,
                     lang: str, csrf_field: Markup | None = None) -> Markup:
    """One page of threads as the page shows them to this reader (their own comments carry edit and delete
    forms, everyone's a reply form if they may comment), rendered once per feedback version, page, reader,
    language and time zone; the request's CSRF field (or a kept page's hole for it) is put in each form as it
    goes out."""
    me = current_user.id

    def render() -> tuple[str, int]:
        html = _fragment(
            "video/_comment_threads.html", threads=shown.thread_page(lesson_feedback, page, WATCH_PAGE), me=me,
            can_comment=can_comment, element_titles=element_titles, any_feedback=bool(lesson_feedback.threads),
            add_comment_url=url_for("feedback.add_comment", public_id=video.public_id), csrf_field=Markup(_CSRF_FIELD))
        return html, len(html) + 100

    html = cache.get_or_make(("comments html", video.public_id, video.id, lesson_feedback.version, page, WATCH_PAGE,
                              me, can_comment, lang, current_user.timezone, _frameworks_seen(db.session())), render)
    return Markup(html.replace(_CSRF_FIELD, csrf_field if csrf_field is not None else csrf_input()))


def _markers(cache, video, lesson_feedback) -> Markup:
    """Every thread's marker on the scrubber (not only the page's), written once per feedback version."""
    def write() -> tuple[Markup, int]:
        spans = "".join(
            f'<span class="marker{" range" if c.end else ""}" data-comment="{c.id}" data-start="{c.start}" '
            f'data-end="{c.end or ""}" title="{int(c.start // 60)}:{int(c.start % 60):02d}"></span>'
            for c in lesson_feedback.threads)
        return Markup(spans), len(spans) + 100

    return cache.get_or_make(("markers", video.public_id, video.id, lesson_feedback.version), write)


def _lesson_tags(cache, s, video, lesson_feedback, lang: str) -> Markup:
    """The watch page's tag chart: counts per five minutes of the lesson, and totals per element, over the
    threads the page already read through authz; rendered once per feedback version and language."""
    from app.config import RTL
    from app.feedback import tagstats

    def render() -> tuple[Markup, int]:
        timeline = tagstats.timeline_of(lesson_feedback.threads, video.duration, public_id=video.public_id)
        labels = tagstats.tag_labels(s, timeline.keys, lang)
        chart = Markup(tagstats.render_stacked_columns_svg(
            [tagstats.clock(t) for t in timeline.starts], {labels[k]: timeline.counts[k] for k in timeline.keys},
            title=_("Framework tags across the lesson (per %(n)d minutes)", n=timeline.bucket_seconds // 60),
            rtl=lang.split("_")[0] in RTL, totals_label=_("Total"))) if timeline.total else None
        html = Markup(_fragment("video/_tag_summary.html", tag_timeline=timeline, tag_labels=labels,
                                      tag_chart=chart))
        return html, len(html) + 100

    return cache.get_or_make(("tag chart", video.public_id, video.id, lesson_feedback.version, video.duration, lang,
                              _frameworks_seen(s)), render)


def _frameworks_seen(s) -> tuple[tuple[int, bool], ...]:
    """Every stored framework version, (id, current), read once per request: a stored version never changes
    (importing other content under its number is refused), so this names all that tag titles are made from."""
    if "frameworks_seen" not in g:
        g.frameworks_seen = tuple((row.id, row.current) for row in s.execute(
            select(ObservationFramework.id, ObservationFramework.current).order_by(ObservationFramework.id)))
    return g.frameworks_seen


@dataclass(frozen=True)
class ShownFramework:
    key: str
    title: str
    data: dict


def _frameworks(s):
    """The current frameworks, each element's title in the page's language, the language, and the comment form's
    options for tagging; read, parsed and rendered once per process for each set of stored frameworks and
    language."""
    from flask_babel import get_locale

    from app.feedback.frameworks import Framework, tag_label

    lang = str(get_locale() or "en")

    def read() -> tuple[tuple, int]:
        rows = feedback.current_frameworks(s)
        element_titles = {}
        for row in rows:
            framework = Framework.from_dict(row.data)
            for element in framework.elements():
                element_titles[f"{row.key}:{element.key}"] = tag_label(framework, element.key, lang)
        found = tuple(ShownFramework(row.key, row.title, row.data) for row in rows)
        options = Markup(_fragment("video/_tag_options.html", frameworks=found, element_titles=element_titles,
                                         lang=lang))
        return (found, element_titles, options), 20_000 + len(options)

    frameworks, element_titles, options = answer_cache().get_or_make(("frameworks", _frameworks_seen(s), lang), read)
    return frameworks, element_titles, lang, options


@bp.post("/<public_id>/clips")
@login_required
@form_errors_to("video.watch", "#clips")
def add_clip(public_id: str):
    clip = clips.create_clip(db.session(), current_user, public_id, **read_form(ClipIn, request.form))
    return redirect(url_for("video.clip", clip_id=clip.public_id))


def _meetings_with(s, **evidence) -> list:
    from app.meetings.service import meetings_with

    return meetings_with(s, current_user, **evidence)


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
    frameworks, element_titles, _lang, _options = _frameworks(s)
    return render_template(
        "video/clip.html", clip=found, video=video, src=src, offset=offset or 0.0, action_form=ActionForm(),
        can_delete=authz.may(current_user, "delete", found), sees_lesson=authz.may(current_user, "view", video),
        can_comment=authz.may(current_user, "comment", found), threads=feedback.clip_threads(s, current_user, found),
        frameworks=frameworks, element_titles=element_titles,
        shares=sharing.shares_of(s, video, found) if owner else None,
        communities=list_communities(s, current_user) if owner else [],
        rehearsals=rehearsals.scenarios_from(s, current_user, clip=found),
        meetings=_meetings_with(s, clip_id=found.id),
        may_rehearse=video.owner_id == current_user.id or authz.may(current_user, "comment", found),
    )


@bp.get("/clips/<clip_id>/captions.vtt")
@login_required
def clip_captions(clip_id: str):
    """The clip's captions on the clip file's own timeline: nothing from outside the clip."""
    s = db.session()
    found = clips.get_clip(s, current_user, clip_id)
    offset = 0.0 if authz.may(current_user, "view", found.video) else found.start
    cues = [captions.Cue(max(c.start, found.start) - offset, min(c.end, found.end) - offset, c.text)
            for c in transcripts.cues(answer_cache(), s, found.video) if c.end > found.start and c.start < found.end]
    return Response(captions.to_webvtt(cues), mimetype="text/vtt", headers={"Cache-Control": "private, no-store"})


@bp.post("/clips/<clip_id>/delete")
@login_required
def delete_clip(clip_id: str):
    public_id = clips.delete_clip(db.session(), current_user, clip_id, _store())
    return redirect(url_for("video.watch", public_id=public_id) + "#clips")


@bp.get("/<public_id>/captions.vtt")
@login_required
def captions_vtt(public_id: str):
    s = db.session()
    video = service.get_video(s, current_user, public_id, assets=False, transcript=True)
    return send(transcripts.as_file(answer_cache(), s, video, "vtt"))


@bp.get("/<public_id>/storyboard.vtt")
@login_required
def storyboard_vtt(public_id: str):
    video = service.get_video(db.session(), current_user, public_id)
    track, sprite = video.asset("storyboard_vtt"), video.asset("storyboard")
    if track is None or sprite is None:
        raise NotFound(msg("This video has no storyboard yet."))
    text = _store().read(track.key).decode("utf-8")
    signed = asset_url(_store(), sprite, _seconds(), audience=current_user.id)
    text = re.sub(r"^storyboard\.jpg(?=#)", lambda _m: signed, text, flags=re.M)
    return Response(text, mimetype="text/vtt", headers={"Cache-Control": "private, no-store"})


@bp.get("/<public_id>/transcript.<fmt>")
@login_required
def transcript_export(public_id: str, fmt: str):
    s = db.session()
    video = service.get_video(s, current_user, public_id, "download", assets=False, transcript=True)
    if fmt not in transcripts.FORMATS:
        raise NotFound(msg("No transcript format '%(format)s': choose vtt, srt or txt.", format=fmt))
    name = quote(f"{video.title[:80]}.{fmt}", safe="")
    return send(transcripts.as_file(answer_cache(), s, video, fmt),
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


@bp.post("/<public_id>/language")
@login_required
@form_errors_to("video.watch", "#lesson-language")
def set_language(public_id: str):
    video = service.set_language(db.session(), current_user, public_id, request.form.get("language", "")[:8])
    if video.status == VideoStatus.transcoded:
        flash(_("The lesson will be transcribed again in %(language)s.",
                language=LESSON_LANGUAGE_LABELS[video.language]), "info")
    return redirect(url_for("video.watch", public_id=public_id) + "#lesson-language")


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
