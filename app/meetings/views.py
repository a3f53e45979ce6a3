"""Pages: my meetings, scheduling one, a meeting (agenda while planned, the live view while it runs, its record
once closed), the live poll, the record as Markdown, a printable page and a PDF in the community's language, a
community's history of meetings, the protocol library and the institute's report.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale, get_locale, get_timezone
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from app import authz, charts, db, l10n, pdf
from app.accounts.forms import ActionForm
from app.communities import service as communities
from app.config import RTL
from app.diagnostics import service as diagnostics
from app.errors import InvalidInput, form_errors_to, msg
from app.feedback.tagstats import tag_labels
from app.inputs import digits, local_datetime
from app.meetings import policy, service
from app.meetings.models import Protocol
from app.video import clips

bp = Blueprint("meetings", __name__, url_prefix="/meetings")

# How often a live screen asks for changes, in milliseconds: a response reaches everyone within this plus one
# round trip (bench/meetings.py measures it under load).
POLL_MS = 1000


def _lang() -> str:
    return str(get_locale() or "en")[:2]


def _zone() -> ZoneInfo:
    return ZoneInfo(str(get_timezone() or "Asia/Jerusalem"))


def _id(value: str | None, field: str) -> int:
    found = digits(value or "", 2**31 - 1)
    if found is None:
        raise InvalidInput(msg("Choose a valid %(field)s.", field=field), field=field)
    return found


def _optional_id(value: str | None, field: str) -> int | None:
    return _id(value, field) if value else None


def _mode_labels() -> dict[str, str]:
    return {"in_person": _("In person"), "online": _("Online"), "hybrid": _("Hybrid")}


def _status_labels() -> dict[str, str]:
    return {"planned": _("Planned"), "live": _("Live now"), "closed": _("Closed")}


def _evidence_labels() -> dict[str, str]:
    return {"clip": _("A clip shared with the community"), "result": _("A class's results (anonymised)"),
            "item": _("One question's answers (anonymised)"), "attempt": _("A rehearsal attempt")}


def _to_meeting(public_id: str, **_kw) -> str:
    return url_for("meetings.meeting", public_id=public_id)


def _to_community(**_kw) -> str:
    return url_for("communities.show", public_id=request.form.get("community", "")[:32])


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.get("/")
@login_required
def index():
    s = db.session()
    found = service.my_meetings(s, current_user)
    return render_template("meetings/index.html", meetings=found, statuses=_status_labels(), modes=_mode_labels(),
                           next_steps=service.next_steps_for(s, current_user),
                           facilitated=communities.facilitated_by(s, current_user),
                           may_report=policy.may_report(current_user))


@bp.get("/new")
@login_required
def new():
    s = db.session()
    community = communities.get_community(s, current_user, request.args.get("community", "")[:32], "manage")
    return render_template("meetings/new.html", community=community, protocols=service.protocols(s), lang=_lang(),
                           modes=_mode_labels(), action_form=ActionForm(),
                           default_start=(date.today() + timedelta(days=7)).isoformat() + "T16:00")


@bp.post("/")
@login_required
@form_errors_to(lambda **_kw: url_for("meetings.new", community=request.form.get("community", "")[:32]))
def create():
    f = request.form
    meeting = service.schedule(
        db.session(), current_user, f.get("community", "")[:32], title=f.get("title", ""),
        starts_at=local_datetime(f.get("starts_at"), "starts_at", _zone()) if f.get("starts_at") else None,
        mode=f.get("mode", "")[:20], place=f.get("place", ""), protocol=f.get("protocol", "")[:80] or None)
    flash(_("The meeting is scheduled and the members are told."), "info")
    return redirect(url_for("meetings.meeting", public_id=meeting.public_id))


def _step_views(s, meeting, lang: str) -> list[dict]:
    """Each step with what the page shows of its evidence (only while it is shared)."""
    store = current_app.extensions["classlab.storage"]
    seconds = current_app.extensions["classlab.settings"].media_url_seconds
    rtl = lang in RTL
    titles = diagnostics.misconception_titles(s, lang)
    views = []
    for step in meeting.steps:
        view = {"step": step, "title": service.text_in(step.texts.get("title"), lang, meeting.community.language),
                "prompt": service.text_in(step.texts.get("prompt"), lang, meeting.community.language),
                "shared": service.evidence_shared(s, step) if step.evidence != "none" else None}
        if view["shared"] and step.evidence == "clip":
            src, offset = clips.media_url(store, seconds, current_user, step.clip)
            view.update(src=src, offset=offset or 0.0, clip=step.clip,
                        may_rehearse=step.clip.video.owner_id == current_user.id
                        or authz.may(current_user, "comment", step.clip))
        elif view["shared"] and step.evidence == "attempt":
            view.update(attempt=step.attempt)
        elif view["shared"] and step.evidence in ("result", "item"):
            res = service.result_view(s, step, lang)
            view["result"] = res
            if res is not None and step.evidence == "item":
                view["chart"] = Markup(charts.bar_chart_svg(
                    res.answers or {"—": 0}, title=_("Share of students giving each answer"), rtl=rtl))
            elif res is not None:
                view["chart"] = Markup(charts.bar_chart_svg(
                    {titles.get(k, k): v for k, v in res.misconceptions.items()} or {"—": 0},
                    title=_("Students holding each misconception"), rtl=rtl))
                view["chart2"] = Markup(charts.bar_chart_svg(res.difficulty or {"—": 0},
                                                             title=_("Proportion correct per item"), rtl=rtl))
            view["titles"] = titles
        views.append(view)
    return views


@bp.get("/<public_id>")
@login_required
def meeting(public_id: str):
    s = db.session()
    found = service.get_meeting(s, current_user, public_id)
    service.join(s, current_user, found)
    lang = _lang()
    runs = authz.may(current_user, "run", found)
    people = service.members(s, found)
    return render_template(
        "meetings/meeting.html", meeting=found, steps=_step_views(s, found, lang), runs=runs, lang=lang,
        may_respond=authz.may(current_user, "respond", found), responses=service.responses_of(s, current_user, found),
        people=people, attendance=service.attendance(s, found), statuses=_status_labels(), modes=_mode_labels(),
        evidence_labels=_evidence_labels(), action_form=ActionForm(), poll_ms=POLL_MS,
        options=service.evidence_options(s, current_user, found, lang) if runs and found.status != "closed" else [],
        protocols=service.protocols(s) if runs else [], clock=service.clock,
        live_url=url_for("meetings.live", public_id=found.public_id),
        starts_local=found.starts_at.astimezone(_zone()).strftime("%Y-%m-%dT%H:%M"))


@bp.get("/<public_id>/live")
@login_required
def live(public_id: str):
    """The live state as JSON for a member's screen, answered 304 when nothing changed since the version the
    screen has (its ETag): membership and the version are one query, the state is made once per version."""
    s = db.session()
    meeting_id, version, role = service.poll_head(s, current_user, public_id)
    etag = f"m{version}-u{current_user.id}"
    if request.if_none_match.contains(etag):
        resp = current_app.response_class(status=304)
    else:
        cache = current_app.extensions["classlab.cache"]
        key = ("meeting-state", public_id, meeting_id, version)
        full = cache.get_or_make(key, lambda: (service.state(s, meeting_id), 2048))
        body = json.dumps(service.for_viewer(full, current_user.id, role == "facilitator"), ensure_ascii=False)
        resp = current_app.response_class(body, content_type="application/json")
    resp.set_etag(etag)
    resp.headers["Cache-Control"] = "private, no-cache"
    return resp


@bp.post("/<public_id>/edit")
@login_required
@form_errors_to(_to_meeting)
def edit(public_id: str):
    f = request.form
    service.edit_meeting(db.session(), current_user, public_id, title=f.get("title", ""),
                         starts_at=local_datetime(f.get("starts_at"), "starts_at", _zone()) if f.get("starts_at")
                         else None, mode=f.get("mode", "")[:20], place=f.get("place", ""))
    flash(_("Saved."), "info")
    return redirect(url_for("meetings.meeting", public_id=public_id))


@bp.post("/<public_id>/steps")
@login_required
@form_errors_to(_to_meeting, "#agenda")
def add_step(public_id: str):
    f = request.form
    protocol, _sep, number = f.get("protocol_step", "").partition("#")
    evidence, _sep2, ref = f.get("evidence", "").partition("|")
    minutes = f.get("minutes", "").strip()
    service.add_step(db.session(), current_user, public_id, lang=_lang(), protocol=protocol[:80] or None,
                     protocol_step=digits(number, 99) if protocol else None, title=f.get("title", ""),
                     prompt=f.get("prompt", ""),
                     minutes=(digits(minutes, 999) if minutes.isdigit() else -1) if minutes else None,
                     responses=f.get("responses", "")[:10] or None, evidence=evidence[:10] or "none",
                     ref=ref[:50])
    return redirect(url_for("meetings.meeting", public_id=public_id) + "#agenda")


@bp.post("/<public_id>/steps/<int:step_id>/remove")
@login_required
@form_errors_to(_to_meeting, "#agenda")
def remove_step(public_id: str, step_id: int):
    service.remove_step(db.session(), current_user, public_id, step_id)
    return redirect(url_for("meetings.meeting", public_id=public_id) + "#agenda")


@bp.post("/<public_id>/steps/<int:step_id>/move")
@login_required
@form_errors_to(_to_meeting, "#agenda")
def move_step(public_id: str, step_id: int):
    service.move_step(db.session(), current_user, public_id, step_id, -1 if request.form.get("by") == "up" else 1)
    return redirect(url_for("meetings.meeting", public_id=public_id) + "#agenda")


@bp.post("/<public_id>/agenda")
@login_required
@form_errors_to(_to_meeting, "#agenda-file")
def import_agenda(public_id: str):
    upload = request.files.get("file")
    data = upload.read(service.MAX_FILE + 1) if upload else b""
    added = service.import_agenda(db.session(), current_user, public_id, upload.filename if upload else "", data,
                                  _lang())
    flash(_("Steps added from the file: %(count)d.", count=len(added)), "info")
    return redirect(url_for("meetings.meeting", public_id=public_id) + "#agenda")


@bp.get("/<public_id>/steps/<int:step_id>/watch")
@login_required
def watch(public_id: str, step_id: int):
    """A member opens a step's evidence from the meeting: pre-watching is recorded, then the evidence's page."""
    step = service.prewatch(db.session(), current_user, public_id, step_id)
    if step.evidence == "clip":
        return redirect(url_for("video.clip", clip_id=step.clip.public_id))
    if step.evidence == "attempt":
        return redirect(url_for("rehearsals.attempt", public_id=step.attempt.public_id))
    return redirect(url_for("meetings.meeting", public_id=public_id) + f"#step-{step.id}")


def _done(public_id: str, anchor: str = "") -> Response:
    if _wants_json():
        return current_app.response_class(json.dumps({"ok": True}), content_type="application/json")
    return redirect(url_for("meetings.meeting", public_id=public_id) + anchor)


@bp.post("/<public_id>/start")
@login_required
@form_errors_to(_to_meeting)
def start(public_id: str):
    service.start(db.session(), current_user, public_id)
    return _done(public_id)


@bp.post("/<public_id>/go")
@login_required
@form_errors_to(_to_meeting)
def go_to(public_id: str):
    service.go_to(db.session(), current_user, public_id, _id(request.form.get("position"), "position"))
    return _done(public_id, "#live")


@bp.post("/<public_id>/responses")
@login_required
@form_errors_to(_to_meeting, "#live")
def respond(public_id: str):
    f = request.form
    raw = (f.get("seconds") or "").strip()
    seconds = None
    if raw:
        minutes_part, _sep, secs = raw.partition(":")
        whole = (digits(minutes_part, 10**6), digits(secs, 59)) if _sep else (None, digits(raw, 10**6))
        if (_sep and None in whole) or (not _sep and whole[1] is None):
            raise InvalidInput(msg("Write the moment as minutes:seconds, e.g. 2:15."), field="seconds")
        seconds = float((whole[0] or 0) * 60 + whole[1])
    response = service.respond(db.session(), current_user, public_id, step_id=_optional_id(f.get("step"), "step"),
                               text=f.get("text", ""), seconds=seconds)
    if _wants_json():
        return current_app.response_class(json.dumps({"id": response.id}), status=201,
                                          content_type="application/json")
    return redirect(url_for("meetings.meeting", public_id=public_id) + f"#step-{response.step_id}")


@bp.post("/<public_id>/steps/<int:step_id>/reveal")
@login_required
@form_errors_to(_to_meeting, "#live")
def reveal(public_id: str, step_id: int):
    service.reveal(db.session(), current_user, public_id, step_id)
    return _done(public_id, f"#step-{step_id}")


@bp.post("/<public_id>/responses/<int:response_id>/highlight")
@login_required
@form_errors_to(_to_meeting)
def highlight(public_id: str, response_id: int):
    service.highlight(db.session(), current_user, public_id, response_id, request.form.get("on", "1") == "1")
    return _done(public_id, f"#response-{response_id}")


@bp.post("/<public_id>/close")
@login_required
@form_errors_to(_to_meeting)
def close(public_id: str):
    service.close(db.session(), current_user, public_id)
    flash(_("The meeting is closed. Write the summary and the next steps the group agreed."), "info")
    return redirect(url_for("meetings.meeting", public_id=public_id) + "#summary")


@bp.post("/<public_id>/summary")
@login_required
@form_errors_to(_to_meeting, "#summary")
def summary(public_id: str):
    service.set_summary(db.session(), current_user, public_id, request.form.get("summary", ""))
    flash(_("Saved."), "info")
    return redirect(url_for("meetings.meeting", public_id=public_id) + "#summary")


@bp.post("/<public_id>/attendance")
@login_required
@form_errors_to(_to_meeting, "#attendance")
def set_attendance(public_id: str):
    present = {_id(v, "present") for v in request.form.getlist("present")}
    service.set_attendance(db.session(), current_user, public_id, present)
    flash(_("Saved."), "info")
    return redirect(url_for("meetings.meeting", public_id=public_id) + "#attendance")


@bp.post("/<public_id>/next-steps")
@login_required
@form_errors_to(_to_meeting, "#next-steps")
def add_next_step(public_id: str):
    f = request.form
    due = None
    if f.get("due"):
        try:
            due = date.fromisoformat(f.get("due", "")[:10])
        except ValueError:
            raise InvalidInput(msg("'%(value)s' is not a date.", value=f.get("due", "")[:40]), field="due") from None
    service.add_next_step(db.session(), current_user, public_id, text=f.get("text", ""),
                          assignee_id=_optional_id(f.get("assignee"), "assignee"), due=due)
    return redirect(url_for("meetings.meeting", public_id=public_id) + "#next-steps")


@bp.post("/<public_id>/next-steps/<int:next_step_id>/remove")
@login_required
@form_errors_to(_to_meeting, "#next-steps")
def remove_next_step(public_id: str, next_step_id: int):
    service.remove_next_step(db.session(), current_user, public_id, next_step_id)
    return redirect(url_for("meetings.meeting", public_id=public_id) + "#next-steps")


@bp.post("/<public_id>/next-steps/<int:next_step_id>/done")
@login_required
@form_errors_to(_to_meeting, "#next-steps")
def next_step_done(public_id: str, next_step_id: int):
    service.mark_done(db.session(), current_user, public_id, next_step_id, request.form.get("done", "1") == "1")
    back = request.form.get("back", "")
    return redirect(url_for("accounts.dashboard") if back == "dashboard"
                    else url_for("meetings.meeting", public_id=public_id) + "#next-steps")


@bp.post("/<public_id>/delete")
@login_required
@form_errors_to(_to_meeting)
def delete(public_id: str):
    community = service.delete_meeting(db.session(), current_user, public_id)
    flash(_("The meeting is deleted."), "info")
    return redirect(url_for("meetings.community", public_id=community.public_id))


# ------------------------------------------------------------------------------------ the record


def _record_labels(meeting) -> dict[str, str]:
    return {"community": _("Community"), "when": _("When"), "agenda": _("Agenda"), "summary": _("Summary"),
            "next_steps": _("Next steps"), "attendance": _("Present"),
            "starts_at": l10n.format_datetime(meeting.starts_at, "medium", lang=_lang(), zone=_zone())}


@bp.get("/<public_id>/record.md")
@login_required
def record_markdown(public_id: str):
    s = db.session()
    found = service.get_meeting(s, current_user, public_id)
    text = service.markdown(s, current_user, found, _lang(), _record_labels(found))
    return Response(text, mimetype="text/markdown",
                    headers={"Content-Disposition": f"attachment; filename=meeting-{public_id}.md"})


def _record_html(s, found, *, for_pdf: bool) -> str:
    lang = _lang()
    return render_template("meetings/record.html", meeting=found, steps=_step_views(s, found, lang), lang=lang,
                           responses=service.responses_of(s, current_user, found), people=service.members(s, found),
                           attendance=service.attendance(s, found), clock=service.clock, for_pdf=for_pdf,
                           css=pdf.stylesheet("plan-print.css") if for_pdf else None)


@bp.get("/<public_id>/record")
@login_required
def record(public_id: str):
    s = db.session()
    found = service.get_meeting(s, current_user, public_id)
    with force_locale(found.community.language):
        return _record_html(s, found, for_pdf=False)


@bp.get("/<public_id>/record.pdf")
@login_required
def record_pdf(public_id: str):
    """The record as a PDF in the community's language (its members read it in that language)."""
    s = db.session()
    found = service.get_meeting(s, current_user, public_id)
    with force_locale(found.community.language):
        html = _record_html(s, found, for_pdf=True)
    return Response(pdf.render(html), mimetype="application/pdf",
                    headers={"Content-Disposition": f"attachment; filename=meeting-{public_id}.pdf"})


# ------------------------------------------------------------------------------------ history, library, report


@bp.get("/communities/<public_id>")
@login_required
def community(public_id: str):
    s = db.session()
    found = communities.get_community(s, current_user, public_id)
    meetings = service.meetings_of(s, current_user, found)
    tags, mis = service.discussed(s, current_user, found)
    lang = _lang()
    rtl = lang in RTL
    labels = tag_labels(s, tags, lang)
    titles = diagnostics.misconception_titles(s, lang)
    tag_chart = mis_chart = None
    if tags:
        tag_chart = Markup(charts.bar_chart_svg({labels.get(k, k): v for k, v in tags.most_common(8)},
                                                title=_("Framework tags in the clips discussed"), rtl=rtl))
    if mis:
        mis_chart = Markup(charts.bar_chart_svg({titles.get(k, k): v for k, v in mis.most_common(8)},
                                                title=_("Misconceptions discussed"), rtl=rtl))
    return render_template("meetings/community.html", community=found, meetings=meetings, tag_chart=tag_chart,
                           mis_chart=mis_chart, statuses=_status_labels(), modes=_mode_labels(),
                           can_manage=authz.may(current_user, "manage", found))


@bp.get("/protocols")
@login_required
def protocols():
    s = db.session()
    return render_template("meetings/protocols.html", protocols=service.protocols(s), lang=_lang(),
                           evidence_labels=_evidence_labels(), action_form=ActionForm(),
                           may_import=authz.may(current_user, "manage", Protocol(key="")))


@bp.post("/protocols/import")
@login_required
@form_errors_to("meetings.protocols", "#import")
def import_protocols():
    upload = request.files.get("file")
    data = upload.read(service.MAX_FILE + 1) if upload else b""
    report = service.import_protocols(db.session(), current_user, upload.filename if upload else "", data)
    flash(_("Protocols added: %(added)d, updated: %(updated)d, unchanged: %(unchanged)d.", added=report.added,
            updated=report.updated, unchanged=report.unchanged), "info")
    return redirect(url_for("meetings.protocols"))


def _report_range(args) -> tuple[date, date]:
    today = date.today()
    default_since = date(today.year - 1, today.month, 1) if today.month != 12 else date(today.year, 1, 1)

    def month(name: str, default: date) -> date:
        raw = args.get(name, "")[:7]
        if not raw:
            return default
        try:
            return date.fromisoformat(raw + "-01")
        except ValueError:
            raise InvalidInput(msg("'%(value)s' is not a month (YYYY-MM).", value=raw), field=name) from None

    return month("since", default_since), month("until", today)


@bp.get("/report")
@login_required
def report():
    """A month range that cannot be read is said above the report of the default range (a year to this month)."""
    if not policy.may_report(current_user):
        flash(_("The communities report is for the institute's administrators and school leaders."), "error")
        return redirect(url_for("meetings.index"))
    try:
        since, until = _report_range(request.args)
        rep = service.report(db.session(), current_user, since=since, until=until)
    except InvalidInput as exc:
        flash(exc.detail, "error")
        since, until = _report_range({})
        rep = service.report(db.session(), current_user, since=since, until=until)
    rtl = _lang() in RTL
    meetings_chart = Markup(charts.stacked_columns_svg(rep.months, rep.meetings_by_month,
                                                       title=_("Meetings held per month"), rtl=rtl))
    active_chart = Markup(charts.stacked_columns_svg(rep.months, rep.active_by_month,
                                                     title=_("Active members per month"), rtl=rtl))
    return render_template("meetings/report.html", rep=rep, since_month=f"{since:%Y-%m}",
                           until_month=f"{until:%Y-%m}", meetings_chart=meetings_chart, active_chart=active_chart)


@bp.get("/report.csv")
@login_required
def report_csv():
    since, until = _report_range(request.args)
    rep = service.report(db.session(), current_user, since=since, until=until)
    text = service.report_csv(rep, [_("Organization"), _("Month"), _("Communities"), _("Meetings held"),
                                    _("Active members")])
    name = f"communities-{since:%Y-%m}-{until:%Y-%m}.csv"
    return Response("\ufeff" + text, mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={name}"})
