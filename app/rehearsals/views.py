"""Pages: the scenario library, a scenario (read, anticipate, record, history), recording an attempt, comparing
two attempts, group rehearsals, and "rehearse this" from a misconception, a diagnostic result or a clip.

An attempt, once recorded, is watched on the lesson's own watch page (app.video.views.watch), which shows the
rehearsal's panel (scenario, rubric, reflection, sharing) beside the same player, transcript and timestamped
comments as a lesson.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from app import charts, db, richtext
from app.accounts.forms import ActionForm
from app.communities import service as communities
from app.communities.policy import membership
from app.diagnostics import service as diagnostics
from app.errors import InvalidInput, form_errors_to, msg
from app.inputs import digits
from app.plans import service as plans
from app.rehearsals import service
from app.rehearsals.models import HIGHEST, LOWEST, Scenario, pick
from app.video.delivery import asset_url
from app.video.models import VideoStatus

bp = Blueprint("rehearsals", __name__, url_prefix="/rehearsals")


def _lang() -> str:
    from flask_babel import get_locale

    return str(get_locale() or "en")[:2]


def _store():
    return current_app.extensions["classlab.storage"]


def _seconds() -> int:
    return current_app.extensions["classlab.settings"].media_url_seconds


def _move_labels() -> dict[str, str]:
    return {
        "respond-to-misconception": _("Responding to a misconception"),
        "launch-task": _("Launching a task"),
        "press-for-reasoning": _("Pressing for reasoning"),
        "lead-discussion": _("Leading a discussion"),
    }


@bp.app_template_filter("pick")
def _pick(texts, lang: str | None = None) -> str:
    return pick(texts, lang or _lang())


@bp.app_template_filter("rich")
def _rich(texts, lang: str | None = None) -> Markup:
    """A scenario's text in `lang`, its Markdown and $TeX$ rendered like the item bank's (app.richtext)."""
    return richtext.render_inline(pick(texts, lang or _lang()))


@bp.get("/")
@login_required
def index():
    s = db.session()
    lang = _lang()
    topic = request.args.get("topic") or None
    scenarios = service.library(s, current_user, topic[:80] if topic else None)
    topics = diagnostics.topics_in(s, lang)
    mine = service.attempts_of(s, current_user)
    return render_template(
        "rehearsals/index.html", scenarios=scenarios, topics=topics, topic=topic, lang=lang, moves=_move_labels(),
        attempts=mine[:20], to_review=service.shared_with_me(s, current_user),
        groups=service.groups_of(s, current_user), action_form=ActionForm(),
    )


@bp.post("/import")
@login_required
@form_errors_to("rehearsals.index", "#import")
def import_file():
    upload = request.files.get("file")
    data = upload.read(2_000_001) if upload else b""
    if len(data) > 2_000_000:
        raise InvalidInput(msg("The scenario file is larger than 2 MB; a scenario file is a few KB."), field="file")
    found = service.import_scenarios(db.session(), current_user, upload.filename if upload else "", data)
    flash(_("Imported %(n)d scenarios.", n=len(found)) if len(found) != 1 else _("Imported 1 scenario."), "info")
    return redirect(url_for("rehearsals.scenario", public_id=found[0].public_id))


def _voice_urls(scenario: Scenario, lang: str) -> list[str | None]:
    row = (scenario.voices or {}).get(lang) or []
    store, seconds, me = _store(), _seconds(), current_user.id
    return [store.signed_url(v["key"], seconds, audience=me) if v and not v.get("pending") else None for v in row]


def _history_chart(points, rubric: dict, lang: str) -> Markup:
    scored = [p for p in points if p.average is not None]
    if not scored:
        return Markup("")
    series = []
    for criterion in rubric.get("criteria", []):
        values = [p.by_criterion.get(criterion["key"]) for p in points]
        if any(v is not None for v in values):
            series.append((pick(criterion["title"], lang), values))
    return Markup(charts.line_chart_svg(
        [f"#{p.attempt.number}" for p in points], dict(series), lo=LOWEST, hi=HIGHEST,
        title=_("Rubric levels over your attempts (1 to 4)"), rtl=lang in ("he", "ar")))


@bp.get("/scenarios/<public_id>")
@login_required
def scenario(public_id: str):
    s = db.session()
    found = service.get_scenario(s, current_user, public_id)
    lang = request.args.get("lang") if request.args.get("lang") in found.languages else None
    lang = lang or (_lang() if _lang() in found.languages else found.languages[0])
    points = service.history(s, current_user, found)
    clip_url = _clip_url(found)
    facilitated = [c for c in communities.list_communities(s, current_user)
                   if membership(current_user, c) == "facilitator"]
    source_link = _source_link(found)
    return render_template(
        "rehearsals/scenario.html", scenario=found, lang=lang, moves=_move_labels(), voices=_voice_urls(found, lang),
        points=points, chart=_history_chart(points, found.rubric, lang), clip_url=clip_url,
        can_edit=found.owner_id == current_user.id, facilitated=facilitated, source_link=source_link,
        action_form=ActionForm(), versions=_versions(s, found),
        plans=plans.plans_working_on(s, current_user, found.misconception_key) if found.misconception_key else [],
    )


def _clip_url(found: Scenario) -> str | None:
    """The clip a scenario was made from plays as its situation, for whoever may watch that clip."""
    from app.video import clips

    if found.clip is None or not clips.playable(current_user, found.clip):
        return None
    url, offset = clips.media_url(_store(), _seconds(), current_user, found.clip)
    if url and not offset:  # the whole lesson's rendition (its owner): play the clip's range of it
        url += f"#t={found.clip.start:g},{found.clip.end:g}"
    return url


def _versions(s, found: Scenario) -> int:
    from sqlalchemy import func, select

    return s.scalar(select(func.count()).select_from(Scenario).where(
        Scenario.key == found.key, Scenario.owner_id.is_(None) if found.owner_id is None
        else Scenario.owner_id == found.owner_id)) or 1


def _source_link(found: Scenario) -> tuple[str, str] | None:
    if found.source == "misconception" and found.source_ref:
        return _("The misconception in the bank"), url_for("diagnostics.bank", _anchor=f"m-{found.source_ref}")
    if found.source == "diagnostic" and found.source_ref:
        return _("The class's diagnostic results"), url_for("diagnostics.results", public_id=found.source_ref)
    if found.source == "clip" and found.source_ref:
        return _("The clip from the lesson"), url_for("video.clip", clip_id=found.source_ref)
    return None


@bp.post("/scenarios/<public_id>/voices")
@login_required
@form_errors_to("rehearsals.scenario", "#turns")
def voice(public_id: str):
    upload = request.files.get("file")
    turn = digits(request.form.get("turn", ""), 100)
    if turn is None or turn < 1:
        raise InvalidInput(msg("Choose which student turn this recording is."), field="turn")
    data = upload.stream if upload else None
    size = 0
    if upload is not None:
        upload.stream.seek(0, 2)
        size = upload.stream.tell()
        upload.stream.seek(0)
    found = service.record_voice(db.session(), _store(), current_user, public_id, request.form.get("lang", ""),
                                 turn - 1, upload.filename if upload else "", data, size)
    flash(_("Your recording of the student's words was received; it plays here in a moment."), "info")
    return redirect(url_for("rehearsals.scenario", public_id=found.public_id, lang=request.form.get("lang")) + "#turns")


@bp.route("/scenarios/<public_id>/edit", methods=["GET", "POST"])
@login_required
def edit(public_id: str):
    s = db.session()
    found = service.get_scenario(s, current_user, public_id, "edit")
    text, problems = found.yaml_text, None
    if request.method == "POST":
        text = request.form.get("yaml", "")
        try:
            with s.begin_nested():
                saved = service.edit_scenario(s, current_user, public_id, text)
        except InvalidInput as exc:
            from app.errors import render

            problems = render(exc.detail)
        else:
            flash(_("Saved as version %(n)d.", n=saved.version), "info")
            return redirect(url_for("rehearsals.scenario", public_id=saved.public_id))
    return render_template("rehearsals/edit.html", scenario=found, text=text, problems=problems,
                           action_form=ActionForm()), 422 if problems else 200


@bp.post("/scenarios/<public_id>/delete")
@login_required
@form_errors_to("rehearsals.scenario")
def delete_scenario(public_id: str):
    service.delete_scenario(db.session(), _store(), current_user, public_id)
    flash(_("The scenario and its attempts were deleted."), "info")
    return redirect(url_for("rehearsals.index"))


@bp.post("/scenarios/<public_id>/attempts")
@login_required
@form_errors_to("rehearsals.scenario")
def start(public_id: str):
    attempt = service.start_attempt(db.session(), current_user, public_id, media=request.form.get("media", "camera"),
                                    language=request.form.get("lang", _lang()))
    return redirect(url_for("rehearsals.attempt", public_id=attempt.public_id))


@bp.get("/attempts/<public_id>")
@login_required
def attempt(public_id: str):
    s = db.session()
    found = service.get_attempt(s, current_user, public_id)
    if found.video is not None and found.video.status != VideoStatus.uploading:
        return redirect(url_for("video.watch", public_id=found.video.public_id))
    if found.owner_id != current_user.id:
        return render_template("rehearsals/not_recorded.html", attempt=found), 200
    lang = found.language
    return render_template("rehearsals/record.html", attempt=found, scenario=found.scenario, lang=lang,
                           clip_url=_clip_url(found.scenario),
                           voices=_voice_urls(found.scenario, lang), action_form=ActionForm(),
                           interrupted=found.video is not None)


@bp.post("/attempts/<public_id>/recording")
@login_required
@form_errors_to("rehearsals.attempt")
def attach(public_id: str):
    """Called by the recorder right after it created the upload, before the first chunk."""
    video = request.form.get("video", "") or (request.get_json(silent=True) or {}).get("video", "")
    found = service.attach_recording(db.session(), current_user, public_id, str(video)[:32])
    return jsonify({"attempt": found.public_id, "video": found.video.public_id,
                    "watch": url_for("video.watch", public_id=found.video.public_id)})


@bp.post("/attempts/<public_id>/restart")
@login_required
@form_errors_to("rehearsals.attempt")
def restart(public_id: str):
    """An attempt whose upload never finished (the page was closed while recording) is recorded again."""
    s = db.session()
    found = service.get_attempt(s, current_user, public_id, "record")
    if found.video is not None and found.video.status == VideoStatus.uploading:
        from app.video import service as videos

        videos.delete_video(s, _store(), current_user, found.video.public_id)
        found.video_id = None
    return redirect(url_for("rehearsals.attempt", public_id=public_id))


def _back_to_attempt(public_id: str, anchor: str = "#rehearsal"):
    s = db.session()
    found = service.get_attempt(s, current_user, public_id)
    if found.video is not None:
        return redirect(url_for("video.watch", public_id=found.video.public_id) + anchor)
    return redirect(url_for("rehearsals.attempt", public_id=public_id))


def _to_attempt(**kwargs) -> str:
    return url_for("rehearsals.attempt", public_id=kwargs["public_id"]) + "#rehearsal"


@bp.post("/attempts/<public_id>/score")
@login_required
@form_errors_to(_to_attempt)
def score(public_id: str):
    levels = {}
    for name, value in request.form.items():
        if not name.startswith("level-"):
            continue
        if value == "":
            continue
        level = digits(value, 100)
        if level is None:
            raise InvalidInput(msg("The level of '%(criterion)s' must be from %(least)d to %(most)d.",
                                   criterion=name[6:86], least=LOWEST, most=HIGHEST), field=name[:80])
        levels[name[6:]] = level
    service.score(db.session(), current_user, public_id, levels)
    flash(_("Your rubric scores were saved."), "info")
    return _back_to_attempt(public_id)


@bp.post("/attempts/<public_id>/reflect")
@login_required
@form_errors_to(_to_attempt)
def reflect(public_id: str):
    service.reflect(db.session(), current_user, public_id, request.form.get("reflection", ""))
    flash(_("Your reflection was saved."), "info")
    return _back_to_attempt(public_id)


@bp.post("/attempts/<public_id>/share")
@login_required
@form_errors_to(_to_attempt)
def share(public_id: str):
    found = service.share(db.session(), current_user, public_id, request.form.get("email", ""))
    flash(_("Shared with %(name)s: they may watch, comment and score.", name=found.user.display_name), "info")
    return _back_to_attempt(public_id)


@bp.post("/attempts/<public_id>/shares/<int:share_id>/revoke")
@login_required
@form_errors_to(_to_attempt)
def unshare(public_id: str, share_id: int):
    service.unshare(db.session(), current_user, public_id, share_id)
    flash(_("No longer shared."), "info")
    return _back_to_attempt(public_id)


@bp.post("/attempts/<public_id>/next-lesson")
@login_required
@form_errors_to(_to_attempt)
def next_lesson(public_id: str):
    service.set_next_lesson(db.session(), current_user, public_id, request.form.get("lesson", "")[:32])
    flash(_("Saved."), "info")
    return _back_to_attempt(public_id)


@bp.post("/attempts/<public_id>/group")
@login_required
@form_errors_to(_to_attempt)
def show_to_group(public_id: str):
    found = service.show_to_group(db.session(), current_user, public_id, request.form.get("shown") == "1")
    flash(_("The group may watch this attempt.") if found.shown_to_group else
          _("The group no longer sees this attempt."), "info")
    return _back_to_attempt(public_id)


@bp.post("/attempts/<public_id>/choose")
@login_required
@form_errors_to(_to_attempt)
def choose(public_id: str):
    found = service.choose(db.session(), current_user, public_id, request.form.get("chosen") == "1")
    return redirect(url_for("rehearsals.group", public_id=found.group.public_id))


@bp.post("/attempts/<public_id>/delete")
@login_required
@form_errors_to(_to_attempt)
def delete_attempt(public_id: str):
    s = db.session()
    found = service.get_attempt(s, current_user, public_id, "delete")
    scenario_id = found.scenario.public_id
    service.delete_attempt(s, _store(), current_user, public_id)
    flash(_("The attempt and its recording were deleted."), "info")
    return redirect(url_for("rehearsals.scenario", public_id=scenario_id))


@bp.get("/compare")
@login_required
def compare():
    s = db.session()
    pair = [service.get_attempt(s, current_user, str(request.args.get(k, ""))[:32]) for k in ("a", "b")]
    store, seconds, me = _store(), _seconds(), current_user.id
    shown = []
    for found in pair:
        video = found.video
        source = None
        if video is not None:
            asset = video.asset("web") or video.asset("low")
            source = asset_url(store, asset, seconds, audience=me) if asset is not None else None
        lines = []
        if video is not None and video.transcript is not None:
            from app.video import service as videos

            lines = videos.transcript_lines(s, video)
        shown.append({"attempt": found, "source": source, "lines": lines, "scores": service.mean_scores(found),
                      "audio_only": video is not None and not video.has_video})
    rubric = pair[1].scenario.rubric
    return render_template("rehearsals/compare.html", shown=shown, rubric=rubric, lang=_lang())


# ---------------------------------------------------------------------------------------- from evidence


@bp.post("/from/misconception/<key>")
@login_required
@form_errors_to("rehearsals.index")
def from_misconception(key: str):
    found = service.from_misconception(db.session(), current_user, key)
    return redirect(url_for("rehearsals.scenario", public_id=found.public_id))


@bp.post("/from/diagnostic/<public_id>")
@login_required
@form_errors_to("diagnostics.results")
def from_diagnostic(public_id: str):
    found = service.from_diagnostic(db.session(), current_user, public_id)
    return redirect(url_for("rehearsals.scenario", public_id=found.public_id))


@bp.post("/from/clip/<clip_id>")
@login_required
@form_errors_to("video.clip")
def from_clip(clip_id: str):
    found = service.from_clip(db.session(), current_user, clip_id)
    return redirect(url_for("rehearsals.scenario", public_id=found.public_id))


# ---------------------------------------------------------------------------------------- group rehearsals


@bp.post("/groups")
@login_required
@form_errors_to(lambda **kw: url_for("rehearsals.scenario", public_id=request.form.get("scenario", "")[:32])
                if request.form.get("scenario") else url_for("rehearsals.index"), "#group")
def start_group(**_kw):
    group = service.start_group(db.session(), current_user, request.form.get("scenario", "")[:32],
                                request.form.get("community", "")[:32], request.form.get("note", ""))
    return redirect(url_for("rehearsals.group", public_id=group.public_id))


@bp.get("/groups/<public_id>")
@login_required
def group(public_id: str):
    s = db.session()
    found = service.get_group(s, current_user, public_id)
    attempts = service.group_attempts(s, current_user, found)
    store, seconds, me = _store(), _seconds(), current_user.id
    sources = {}
    for a in attempts:
        asset = a.video.asset("web") or a.video.asset("low") if a.video is not None else None
        if asset is not None:
            sources[a.id] = asset_url(store, asset, seconds, audience=me)
    mine = [a for a in service.attempts_of(s, current_user) if a.group_id == found.id]
    lang = _lang() if _lang() in found.scenario.languages else found.scenario.languages[0]
    from app import authz

    return render_template("rehearsals/group.html", group=found, attempts=attempts, sources=sources, mine=mine,
                           lang=lang, manage=authz.may(current_user, "manage", found), action_form=ActionForm())


@bp.post("/groups/<public_id>/attempts")
@login_required
@form_errors_to("rehearsals.group")
def group_attempt(public_id: str):
    found = service.start_group_attempt(db.session(), current_user, public_id, request.form.get("media", "camera"))
    return redirect(url_for("rehearsals.attempt", public_id=found.public_id))


@bp.post("/groups/<public_id>/close")
@login_required
@form_errors_to("rehearsals.group")
def close_group(public_id: str):
    service.close_group(db.session(), current_user, public_id)
    flash(_("The group rehearsal is closed."), "info")
    return redirect(url_for("rehearsals.group", public_id=public_id))


