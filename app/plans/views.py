"""Pages: a class's plans (draft, group, re-assess, goals met), a plan (goals, evidence, activities, checks,
its record of changes), the week's schedule, and the printable plan (a page and a PDF) for the student and
their parents in the class's language.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from app import authz, charts, db, pdf
from app.accounts.forms import ActionForm
from app.diagnostics import service as diagnostics
from app.errors import InvalidInput, form_errors_to, msg
from app.inputs import digits
from app.plans import service
from app.plans.models import GOAL_STATES, Activity
from app.rehearsals import service as rehearsals
from app.rehearsals.models import pick

bp = Blueprint("plans", __name__, url_prefix="/plans")


def _lang() -> str:
    from flask_babel import get_locale

    return str(get_locale() or "en")[:2]


def _state_labels() -> dict[str, str]:
    return {"working": _("Working on it"), "met": _("Met"), "partly": _("Partly"), "not_yet": _("Not yet")}


def _kind_labels() -> dict[str, str]:
    return {"worked-example": _("Worked example"), "manipulative": _("Manipulatives"),
            "small-group": _("Small-group task"), "practice-set": _("Practice set"), "discussion": _("Discussion")}


def _grouping_labels() -> dict[str, str]:
    return {"individual": _("individual"), "pair": _("in pairs"), "small-group": _("small group"),
            "whole-class": _("whole class")}


def _id(value: str | None, field: str) -> int:
    found = digits(value or "", 2**31 - 1)
    if found is None:
        raise InvalidInput(msg("Choose a valid %(field)s.", field=field), field=field)
    return found


def _to_class(class_id: int, **_kw) -> str:
    return url_for("plans.for_class", class_id=class_id)


def _to_plan(public_id: str, **_kw) -> str:
    return url_for("plans.plan", public_id=public_id)


@bp.get("/")
@login_required
def index():
    s = db.session()
    classes = diagnostics.classes_of(s, current_user)
    return render_template("plans/index.html", classes=classes, shared=service.plans_shared_with(s, current_user),
                           states=_state_labels())


@bp.get("/activities")
@login_required
def library():
    """The activity library by misconception, in the reader's language; an administrator imports files here."""
    s = db.session()
    key = request.args.get("misconception", "")[:80] or None
    titles = _titles()
    found = service.activities(s, key)
    by_misconception: dict[str, list] = {}
    for activity in found:
        for m in activity.misconceptions:
            if key is None or m == key:
                by_misconception.setdefault(m, []).append(activity)
    return render_template("plans/library.html", by_misconception=dict(sorted(
        by_misconception.items(), key=lambda kv: titles.get(kv[0], kv[0]))), titles=titles, chosen=key,
        lang=_lang(), kinds=_kind_labels(), groupings=_grouping_labels(), total=len(found),
        may_import=authz.may(current_user, "manage", Activity(key="")), action_form=ActionForm())


@bp.post("/activities/import")
@login_required
@form_errors_to("plans.library", "#import")
def import_activities():
    upload = request.files.get("file")
    data = upload.read(service.MAX_FILE + 1) if upload else b""
    report = service.import_activities(db.session(), current_user, upload.filename if upload else "", data)
    flash(_("Activities added: %(added)d, updated: %(updated)d, unchanged: %(unchanged)d.", added=report.added,
            updated=report.updated, unchanged=report.unchanged), "info")
    return redirect(url_for("plans.library"))


@bp.get("/classes/<int:class_id>")
@login_required
def for_class(class_id: int):
    s = db.session()
    group = diagnostics.get_class(s, current_user, class_id)
    found = service.plans_of_class(s, current_user, class_id)
    counts = service.goals_met(found)
    labels = _state_labels()
    chart = Markup(charts.bar_chart_svg({labels[k]: counts[k] for k in GOAL_STATES}, title=_("Students' goals"),
                                 rtl=_lang() in ("he", "ar"))) if any(counts.values()) else None
    planned = {m.student_id for p in found if p.kind == "student" and not p.closed for m in p.members}
    return render_template(
        "plans/class.html", group=group, plans=found, counts=counts, states=labels, chart=chart,
        unplanned=[st for st in group.students if st.id not in planned], misconceptions=_titles(),
        action_form=ActionForm(), default_target=(dt.date.today() + dt.timedelta(weeks=service.DEFAULT_WEEKS)))


def _titles() -> dict[str, str]:
    return diagnostics.misconception_titles(db.session(), _lang())


def _report(report: service.DraftReport) -> None:
    if report.drafted:
        flash(ngettext("%(num)d plan drafted.", "%(num)d plans drafted.", report.drafted), "info")
    if report.kept:
        flash(ngettext("%(num)d student already has a plan from the same result: kept as it is.",
                       "%(num)d students already have a plan from the same result: kept as they are.",
                       len(report.kept)), "info")
    if report.without_results:
        flash(_("No submitted diagnostic yet, so no plan: %(names)s.",
                names=", ".join(st.name or st.code for st in report.without_results)), "warning")
    if report.nothing_held:
        flash(_("No misconception held in the latest result: %(names)s.",
                names=", ".join(st.name or st.code for st in report.nothing_held)), "info")


@bp.post("/classes/<int:class_id>/draft")
@login_required
@form_errors_to(_to_class)
def draft_class(class_id: int):
    report = service.draft_for_class(db.session(), current_user, class_id,
                                     target_date=request.form.get("target_date", "")[:40])
    _report(report)
    return redirect(url_for("plans.for_class", class_id=class_id))


@bp.post("/classes/<int:class_id>/groups")
@login_required
@form_errors_to(_to_class)
def draft_groups(class_id: int):
    found = service.draft_groups(db.session(), current_user, class_id,
                                 target_date=request.form.get("target_date", "")[:40])
    if found:
        flash(ngettext("%(num)d group plan.", "%(num)d group plans.", len(found)), "info")
    else:
        flash(_("No misconception is shared by two or more students in their latest results."), "info")
    return redirect(url_for("plans.for_class", class_id=class_id, _anchor="groups"))


@bp.post("/classes/<int:class_id>/reassess")
@login_required
@form_errors_to(_to_class)
def reassess(class_id: int):
    changed = service.reassess(db.session(), current_user, class_id)
    flash(ngettext("%(num)d plan updated from a newer result.", "%(num)d plans updated from newer results.",
                   len(changed)) if changed else _("No plan has a newer result to compare with yet."), "info")
    return redirect(url_for("plans.for_class", class_id=class_id))


@bp.get("/classes/<int:class_id>/week")
@login_required
def week(class_id: int):
    s = db.session()
    group = diagnostics.get_class(s, current_user, class_id)
    try:
        start = dt.date.fromisoformat(request.args.get("from", "")[:10])
    except ValueError:
        start = dt.date.today()
    rows, unscheduled = service.week(s, current_user, class_id, start)
    monday = start - dt.timedelta(days=start.weekday())
    return render_template("plans/week.html", group=group, rows=rows, unscheduled=unscheduled,
                           library=service.activities_by_key(s), titles=_titles(), lang=_lang(),
                           previous=(monday - dt.timedelta(weeks=1)).isoformat(),
                           following=(monday + dt.timedelta(weeks=1)).isoformat(), today=dt.date.today())


@bp.route("/students/<int:student_id>", methods=["GET", "POST"])
@login_required
@form_errors_to(lambda student_id, **_kw: url_for("plans.student", student_id=student_id))
def student(student_id: int):
    """A student's plans; POST drafts one from their latest result. From a heatmap cell (?misconception=),
    straight to the plan with that goal."""
    s = db.session()
    if request.method == "POST":
        plan = service.draft_for_student(s, current_user, student_id,
                                         target_date=request.form.get("target_date", "")[:40])
        flash(_("Plan drafted from the latest result. Edit anything below."), "info")
        return redirect(url_for("plans.plan", public_id=plan.public_id))
    key = request.args.get("misconception", "")[:80]
    if key:
        plan = service.plan_for_student_and_misconception(s, current_user, student_id, key)
        if plan is not None:
            return redirect(url_for("plans.plan", public_id=plan.public_id, _anchor=f"goal-{key}"))
    found = service.plans_of_student(s, current_user, student_id)
    pupil = service.get_student(s, current_user, student_id)
    return render_template("plans/student.html", student=pupil, plans=found, states=_state_labels(),
                           action_form=ActionForm(), misconception=key, titles=_titles())


def _plan_page(public_id: str):
    s = db.session()
    plan = service.get_plan(s, current_user, public_id)
    lang = _lang()
    library = service.activities_by_key(s)
    keys = [g.misconception for g in plan.goals]
    titles = _titles()
    may_edit = plan.teacher_id == current_user.id
    scenarios = {key: rehearsals.scenarios_from(s, current_user, misconception=key) for key in keys}
    return render_template(
        "plans/plan.html", plan=plan, lang=lang, library=library, titles=titles, states=_state_labels(),
        kinds=_kind_labels(), groupings=_grouping_labels(), may_edit=may_edit, scenarios=scenarios,
        choices={key: service.activities(s, key) for key in keys}, action_form=ActionForm(),
        check_items=service.check_items(s, plan, lang), answer_labels=service.answer_labels(s, plan, lang),
        timeline=_timeline(plan, titles, lang),
        change_labels=_change_labels(), shown=lambda text: _shown(text, titles, library, lang))


def _timeline(plan, titles: dict[str, str], lang: str) -> str | None:
    days, series = service.timeline(plan)
    if len(days) < 2:
        return None
    return Markup(charts.line_chart_svg([d.strftime("%d.%m") for d in days],
                                        {titles.get(k, k): v for k, v in series.items()},
                                        title=_("Goals over time: 1 not yet, 2 partly, 3 met"), lo=1, hi=3,
                                        rtl=lang in ("he", "ar")))


def _shown(text: str, titles: dict[str, str], library: dict, lang: str) -> str:
    """A change's before/after as the teacher reads it: "misconception: state" with the misconception's title and
    the state's label, an activity key as its title."""
    key, sep, rest = (text or "").partition(": ")
    states = _state_labels()
    if sep and key in titles:
        if rest in states:
            rest = states[rest]
        elif rest in library:
            rest = pick(library[rest].spec.get("title"), lang)
        return f"{titles[key]}: {rest}" if rest else titles[key]
    if text in library:
        return pick(library[text].spec.get("title"), lang)
    return text


def _change_labels() -> dict[str, str]:
    return {"drafted": _("Drafted from"), "title": _("Title"), "target_date": _("Target date"),
            "goal_status": _("Goal status"), "goal_note": _("Note"), "activity_added": _("Activity added"),
            "activity_removed": _("Activity removed"), "activity_done": _("Activity done"),
            "activity_not_done": _("Activity not done"), "activity_day": _("Day"), "check_result": _("Check"),
            "reassessed": _("Re-assessed"), "shared": _("Shared with the coach"),
            "unshared": _("No longer shared with the coach"), "closed": _("Closed"), "reopened": _("Reopened")}


@bp.get("/<public_id>")
@login_required
def plan(public_id: str):
    return _plan_page(public_id)


@bp.post("/<public_id>/edit")
@login_required
@form_errors_to(_to_plan)
def edit(public_id: str):
    service.edit_plan(db.session(), current_user, public_id, title=request.form.get("title"),
                      target_date=request.form.get("target_date", "")[:40])
    flash(_("Saved."), "info")
    return redirect(url_for("plans.plan", public_id=public_id))


@bp.post("/<public_id>/goals/<int:goal_id>")
@login_required
@form_errors_to(_to_plan)
def goal(public_id: str, goal_id: int):
    status = request.form.get("status") or None
    service.set_goal(db.session(), current_user, public_id, goal_id, status=status[:20] if status else None,
                     note=request.form.get("note"))
    flash(_("Saved."), "info")
    return redirect(url_for("plans.plan", public_id=public_id, _anchor=f"goal-id-{goal_id}"))


@bp.post("/<public_id>/goals/<int:goal_id>/activities")
@login_required
@form_errors_to(_to_plan)
def add_activity(public_id: str, goal_id: int):
    service.add_activity(db.session(), current_user, public_id, goal_id, request.form.get("activity", "")[:80],
                         day=request.form.get("day", "")[:40])
    flash(_("Activity added."), "info")
    return redirect(url_for("plans.plan", public_id=public_id, _anchor=f"goal-id-{goal_id}"))


@bp.post("/<public_id>/goals/<int:goal_id>/check")
@login_required
@form_errors_to(_to_plan)
def check(public_id: str, goal_id: int):
    service.record_check(db.session(), current_user, public_id, goal_id, request.form.get("result", "")[:20])
    flash(_("Check result saved."), "info")
    return redirect(url_for("plans.plan", public_id=public_id, _anchor=f"goal-id-{goal_id}"))


@bp.post("/<public_id>/activities/<int:activity_id>")
@login_required
@form_errors_to(_to_plan)
def update_activity(public_id: str, activity_id: int):
    done = request.form.get("done")
    service.update_activity(db.session(), current_user, public_id, activity_id,
                            done=None if done is None else done == "1", day=request.form.get("day", "")[:40],
                            clear_day=request.form.get("clear_day") == "1")
    flash(_("Saved."), "info")
    return redirect(url_for("plans.plan", public_id=public_id))


@bp.post("/<public_id>/activities/<int:activity_id>/remove")
@login_required
@form_errors_to(_to_plan)
def remove_activity(public_id: str, activity_id: int):
    service.remove_activity(db.session(), current_user, public_id, activity_id)
    flash(_("Activity removed."), "info")
    return redirect(url_for("plans.plan", public_id=public_id))


@bp.post("/<public_id>/share")
@login_required
@form_errors_to(_to_plan)
def share(public_id: str):
    shared = request.form.get("shared") == "1"
    service.share_with_coach(db.session(), current_user, public_id, shared)
    flash(_("Your coach can now read this plan.") if shared else _("Your coach no longer sees this plan."), "info")
    return redirect(url_for("plans.plan", public_id=public_id))


@bp.post("/<public_id>/close")
@login_required
@form_errors_to(_to_plan)
def close(public_id: str):
    closed = request.form.get("closed", "1") == "1"
    service.close_plan(db.session(), current_user, public_id, closed)
    flash(_("Plan closed.") if closed else _("Plan reopened."), "info")
    return redirect(url_for("plans.plan", public_id=public_id))


@bp.post("/<public_id>/delete")
@login_required
@form_errors_to(_to_plan)
def delete(public_id: str):
    s = db.session()
    class_id = service.get_plan(s, current_user, public_id, "delete").class_id
    service.delete_plan(s, current_user, public_id)
    flash(_("Plan deleted."), "info")
    return redirect(url_for("plans.for_class", class_id=class_id))


def _printable(public_id: str, *, inline_css: bool = False) -> tuple[str, str]:
    s = db.session()
    plan = service.get_plan(s, current_user, public_id, "print")
    lang = (request.args.get("lang") or plan.class_group.language or "en")[:2]
    if lang not in ("en", "he", "ar"):
        lang = plan.class_group.language or "en"
    # In the class's language (the student's and the parents'), whatever the teacher reads the site in.
    with force_locale(lang):
        html = render_template("plans/print.html", plan=plan, lang=lang, library=service.activities_by_key(s),
                               inline_css=Markup(pdf.stylesheet()) if inline_css else None,
                               titles=diagnostics.misconception_titles(s, lang),
                               students=", ".join(st.name or st.code for st in plan.students))
    return html, lang


@bp.get("/<public_id>/print")
@login_required
def printable(public_id: str):
    return _printable(public_id)[0]


@bp.get("/<public_id>/plan.pdf")
@login_required
def as_pdf(public_id: str):
    html, lang = _printable(public_id, inline_css=True)
    data = pdf.render(html)
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="plan-{public_id[:12]}-{lang}.pdf"',
        "Cache-Control": "private, no-store"})
