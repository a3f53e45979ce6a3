"""Pages of goals: the areas a person may see (a school, a network, a city, the nation), an indicator's trend against
its target with the schools on or off track, values (a CSV import, a value by hand), targets and the roadmap, CSV
and PDF reports, and the principal coaching log: pairs, sessions prepared and recorded, the coaches' rounds."""

from __future__ import annotations

import math
from datetime import date

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup
from werkzeug.utils import secure_filename

from app import authz, charts, db, pdf
from app.accounts.forms import ActionForm
from app.accounts.models import OrgKind
from app.config import RTL
from app.errors import InvalidInput, form_errors_to, msg
from app.goals import indicatorsfile, service
from app.goals.models import ACTION_STATES, STEP_KINDS, TERMS, WHOLE_SCHOOL
from app.goals.policy import leads, runs_programme
from app.inputs import digits

bp = Blueprint("goals", __name__, url_prefix="/goals")
MAX_CSV_BYTES = 5 * 1024 * 1024


def _lang() -> str:
    return str(get_locale() or "en")[:2]


def _number(value: str | None, field: str, most: int = 2**31 - 1) -> int:
    found = digits((value or "").strip(), most)
    if found is None:
        raise InvalidInput(msg("“%(field)s” is a whole number.", field=field), field=field)
    return found


def _maybe(value: str | None, field: str) -> int | None:
    return None if not (value or "").strip() else _number(value, field)


def track_labels() -> dict[str | None, str]:
    return {"met": _("Target met"), "on": _("On track"), "off": _("Off track"), None: _("No target or no data")}


def kind_labels() -> dict[str, str]:
    return {"institute": _("National"), "network": _("School network"), "municipality": _("City"),
            "school": _("School")}


def step_labels() -> dict[str, str]:
    return {"milestone": _("Milestone"), "action": _("Action"), "open": _("Open"), "done": _("Done"),
            "dropped": _("Dropped")}


def action_labels() -> dict[str, str]:
    return {"open": _("Open"), "done": _("Done"), "not_done": _("Not done")}


def grade_label(grade) -> str:
    names = {0: _("Whole school"), 7: _("Grade 7"), 8: _("Grade 8"), 9: _("Grade 9"), 10: _("Grade 10"),
             11: _("Grade 11"), 12: _("Grade 12")}
    return names.get(grade, str(grade))


def _context() -> dict:
    return {"lang": _lang(), "tracks": track_labels(), "kinds": kind_labels(), "steps_l": step_labels(),
            "actions_l": action_labels(), "grade_label": grade_label, "text": indicatorsfile.text,
            "action_form": ActionForm(), "catalogue": service.catalogue(), "period": service.period_label}


def _axis(ind, points, target) -> tuple[int, int, int]:
    if ind.unit == "percent":
        return 0, 100, 20
    values = [p.shown.value for p in points if p.shown.value is not None] + ([target.value] if target else [])
    top = max(values, default=1)
    hi = max(5, int(math.ceil(top / 5.0)) * 5) if ind.unit == "count" else int(ind.most)
    lo = 0 if ind.unit == "count" else int(ind.least)
    return lo, hi, max(1, (hi - lo) // 5)


def trend_chart(ind, points, target, lang: str) -> Markup | str:
    """The indicator by term, and the target's straight path from its baseline where it has one."""
    columns = [p.label for p in points]
    if not columns:
        return ""
    values = [None if p.shown.value is None else round(p.shown.value, 1) for p in points]
    series = {indicatorsfile.text(ind.title, lang): values}
    if target is not None:
        path = []
        for p in points:
            if target.baseline is not None and target.baseline_year and p.year <= target.year:
                span = max(1, target.year - target.baseline_year)
                at = min(max(p.year - target.baseline_year, 0), span)
                path.append(round(target.baseline + (target.value - target.baseline) * at / span, 1))
            else:
                path.append(round(target.value, 1))
        series[_("Target for %(year)s", year=target.year)] = path
    lo, hi, step = _axis(ind, points, target)
    clipped = {k: [None if v is None else min(max(v, lo), hi) for v in vs] for k, vs in series.items()}
    return Markup(charts.line_chart_svg(columns, clipped, title=indicatorsfile.text(ind.title, lang), lo=lo, hi=hi,
                                        rtl=lang in RTL, step=step))


# ------------------------------------------------------------------------------------------------------- home


@bp.get("/")
@login_required
def index():
    s = db.session()
    runs = runs_programme(current_user)
    return render_template(
        "goals/index.html", areas=service.areas(s, current_user), pairs=service.pairs(s, current_user),
        rounds=service.rounds(s, current_user), runs=runs,
        organizations=service.enrollable(s) if runs else [], networks=service.groups(s, OrgKind.network) if runs
        else [], cities=service.groups(s, OrgKind.municipality) if runs else [],
        year=service.school_year(date.today()), **_context())


@bp.post("/areas")
@login_required
@form_errors_to("goals.index", "#enrol")
def enrol():
    f = request.form
    area = service.enrol(db.session(), current_user, organization_id=_number(f.get("organization"), "organization"),
                         code=f.get("code", ""), network_id=_maybe(f.get("network"), "network"),
                         city_id=_maybe(f.get("city"), "city"))
    flash(_("%(name)s takes part in the goals.", name=area.name), "info")
    return redirect(url_for("goals.index") + "#areas")


@bp.post("/compute")
@login_required
@form_errors_to("goals.index", "#compute")
def compute():
    if not runs_programme(current_user):
        raise InvalidInput(msg("Only the programme's administrators compute the indicators."), field="term")
    f = request.form
    n = service.compute_values(db.session(), year=_number(f.get("year"), "year"), term=_number(f.get("term"), "term"))
    flash(_("%(n)d values computed from ClassLab's own data.", n=n), "info")
    return redirect(url_for("goals.index") + "#compute")


# -------------------------------------------------------------------------------------------------------- areas


@bp.get("/areas/<public_id>")
@login_required
def area(public_id: str):
    s = db.session()
    found = service.get_area(s, current_user, public_id)
    lang = _lang()
    rows = service.summary(s, current_user, found)
    sparks = {r.indicator.key: trend_chart(r.indicator, r.points, r.target, lang) for r in rows if r.points}
    return render_template("goals/area.html", area=found, rows=rows, charts=sparks, lead=leads(current_user, found),
                           schools=service.schools_in(s, found) if found.code is None else [],
                           may_import=authz.may(current_user, "import", found), **_context())


def _period(s, found, key: str) -> tuple[int, int] | None:
    year, term = digits(request.args.get("year", "")), digits(request.args.get("term", ""))
    if year and term in TERMS:
        return year, term
    return service.latest(s, found, key)


@bp.get("/areas/<public_id>/indicators/<key>")
@login_required
def indicator(public_id: str, key: str):
    s = db.session()
    found = service.get_area(s, current_user, public_id)
    ind = service.catalogue().get(key[:40])
    if ind is None:
        return redirect(url_for("goals.area", public_id=public_id))
    lang = _lang()
    points = service.series(s, current_user, found, ind.key)
    target = service.target_for(s, found, ind.key)
    chosen = _period(s, found, ind.key)
    grades = service.grade_table(s, current_user, found, ind.key, *chosen) if chosen else None
    table = service.school_table(s, current_user, found, ind.key, *chosen) if chosen and found.code is None else None
    on_track = service.schools_on_track(s, current_user, found, ind.key) if found.kind in ("network", "municipality") \
        else []
    parts = service.parts_of(s, current_user, found, ind.key, *chosen) if chosen else []
    periods = sorted({(p.year, p.term) for p in points}, reverse=True)
    return render_template(
        "goals/indicator.html", area=found, ind=ind, points=points, target=target,
        chart=trend_chart(ind, points, target, lang), chosen=chosen, grades=grades, table=table,
        rows=service.table_rows(table) if table else [], on_track=on_track, parts=parts, periods=periods,
        track=service.track(target, points, ind.direction), **_context())


@bp.get("/areas/<public_id>/values")
@login_required
def values(public_id: str):
    s = db.session()
    found = service.get_area(s, current_user, public_id, "import")
    entered = [i for i in service.catalogue().indicators if i.source != "computed"]
    return render_template("goals/values.html", area=found, imports=service.imports(s, found), entered=entered,
                           lead=leads(current_user, found), terms=TERMS, grades_of=service.grades_of,
                           year=service.school_year(date.today()), **_context())


@bp.post("/areas/<public_id>/values/import")
@login_required
@form_errors_to("goals.values", "#import")
def import_values(public_id: str):
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidInput(msg("Choose the CSV file to import."), field="file")
    data = upload.stream.read(MAX_CSV_BYTES + 1)
    record = service.import_values(db.session(), current_user, public_id, data,
                                   filename=secure_filename(upload.filename)[:200],
                                   encoding=request.form.get("encoding", "auto")[:20])
    flash(_("%(n)d values imported.", n=record.rows), "info")
    return redirect(url_for("goals.values", public_id=public_id) + "#imports")


@bp.post("/areas/<public_id>/values")
@login_required
@form_errors_to("goals.values", "#by-hand")
def enter_value(public_id: str):
    f = request.form
    service.enter_value(db.session(), current_user, public_id, indicator_key=f.get("indicator", "")[:40],
                        year=_number(f.get("year"), "year"), term=_number(f.get("term"), "term", 9),
                        grade=_number(f.get("grade"), "grade", 99), count=f.get("count", "")[:20],
                        students=f.get("students", "")[:20], value=f.get("value", "")[:20])
    flash(_("The value is saved."), "info")
    return redirect(url_for("goals.values", public_id=public_id) + "#by-hand")


@bp.get("/areas/<public_id>/plan")
@login_required
def plan(public_id: str):
    s = db.session()
    found = service.get_area(s, current_user, public_id)
    return render_template("goals/plan.html", area=found, targets=service.targets(s, found),
                           steps=service.steps(s, found), lead=leads(current_user, found), step_kinds=STEP_KINDS,
                           grades_of=service.grades_of, year=service.school_year(date.today()),
                           whole=WHOLE_SCHOOL, today=date.today(), **_context())


@bp.post("/areas/<public_id>/targets")
@login_required
@form_errors_to("goals.plan", "#new-target")
def set_target(public_id: str):
    f = request.form
    service.set_target(db.session(), current_user, public_id, indicator_key=f.get("indicator", "")[:40],
                       year=_number(f.get("year"), "year"), grade=_number(f.get("grade") or "0", "grade", 99),
                       value=f.get("value", "")[:20], baseline=f.get("baseline", "")[:20],
                       baseline_year=_maybe(f.get("baseline_year"), "baseline_year"), note=f.get("note", ""))
    flash(_("The target is set."), "info")
    return redirect(url_for("goals.plan", public_id=public_id) + "#targets")


@bp.post("/targets/<public_id>/delete")
@login_required
@form_errors_to("goals.index")
def delete_target(public_id: str):
    found = service.delete_target(db.session(), current_user, public_id)
    flash(_("The target is removed."), "info")
    return redirect(url_for("goals.plan", public_id=found.public_id) + "#targets")


@bp.post("/areas/<public_id>/steps")
@login_required
@form_errors_to("goals.plan", "#new-step")
def add_step(public_id: str):
    f = request.form
    service.add_step(db.session(), current_user, public_id, kind=f.get("kind", "")[:20], title=f.get("title", ""),
                     owner=f.get("owner", ""), due_on=f.get("due", "")[:20],
                     indicator_key=f.get("indicator", "")[:40] or None)
    flash(_("The step is on the roadmap."), "info")
    return redirect(url_for("goals.plan", public_id=public_id) + "#roadmap")


@bp.post("/steps/<public_id>/status")
@login_required
@form_errors_to("goals.index")
def step_status(public_id: str):
    step = service.set_step(db.session(), current_user, public_id, request.form.get("status", "")[:20])
    return redirect(url_for("goals.plan", public_id=step.area.public_id) + f"#step-{step.public_id}")


@bp.get("/areas/<public_id>/report.csv")
@login_required
def report_csv(public_id: str):
    s = db.session()
    found = service.get_area(s, current_user, public_id)
    key = request.args.get("indicator", "")[:40] or None
    if key and service.catalogue().get(key) is None:
        key = None
    return Response(service.values_csv(s, current_user, found, key), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="goals-{found.public_id}.csv"'})


@bp.get("/areas/<public_id>/report.pdf")
@login_required
def report_pdf(public_id: str):
    s = db.session()
    found = service.get_area(s, current_user, public_id)
    lang = _lang()
    rows = service.summary(s, current_user, found)
    sparks = {r.indicator.key: trend_chart(r.indicator, r.points, r.target, lang) for r in rows if r.points}
    html = render_template("goals/report_print.html", area=found, rows=rows, charts=sparks, today=date.today(),
                           inline_css=Markup(pdf.stylesheet("plan-print.css")), **_context())
    return Response(pdf.render(html), mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="goals-{found.public_id}.pdf"'})


# ---------------------------------------------------------------------------------------------- principals


@bp.post("/pairs")
@login_required
@form_errors_to("goals.index", "#new-pair")
def add_pair():
    f = request.form
    made = service.pair(db.session(), current_user, coach_email=f.get("coach", ""), principal_email=f.get(
        "principal", ""), year=_number(f.get("year"), "year"))
    flash(_("%(coach)s coaches %(principal)s.", coach=made.coach.display_name,
            principal=made.principal.display_name), "info")
    return redirect(url_for("goals.index") + "#principals")


def _chosen_data() -> list[dict]:
    keys = [k[:40] for k in request.form.getlist("data")][:20]
    return [{"indicator": k, "grade": None} for k in keys if k]


@bp.post("/pairs/<public_id>/sessions")
@login_required
@form_errors_to("goals.index", "#principals")
def plan_session(public_id: str):
    f = request.form
    made = service.plan_session(db.session(), current_user, public_id, held_on=f.get("date", "")[:20],
                                agenda=f.get("agenda", ""), data=_chosen_data())
    flash(_("Session %(n)d is planned.", n=made.number), "info")
    return redirect(url_for("goals.principal_session", public_id=made.public_id))


@bp.get("/sessions/<public_id>")
@login_required
def principal_session(public_id: str):
    s = db.session()
    found = service.get_session(s, current_user, public_id)
    lang = _lang()
    school = found.pair.area
    looked = []
    for item in found.data or []:
        ind = service.catalogue().get(item.get("indicator", ""))
        if ind is None:
            continue
        points = service.series(s, current_user, school, ind.key)
        target = service.target_for(s, school, ind.key)
        looked.append((ind, trend_chart(ind, points, target, lang), points[-1] if points else None, target,
                       service.track(target, points, ind.direction)))
    return render_template("goals/session.html", meeting=found, pair=found.pair, school=school, looked=looked,
                           earlier=service.open_before(s, found), may_prepare=authz.may(current_user, "prepare", found),
                           may_record=authz.may(current_user, "record", found), action_states=ACTION_STATES,
                           chosen_keys={d.get("indicator") for d in found.data or []}, **_context())


@bp.post("/sessions/<public_id>/prepare")
@login_required
@form_errors_to("goals.principal_session", "#prepare")
def prepare(public_id: str):
    f = request.form
    service.prepare(db.session(), current_user, public_id, agenda=f.get("agenda", ""), data=_chosen_data(),
                    held_on=f.get("date", "")[:20])
    flash(_("The session is prepared."), "info")
    return redirect(url_for("goals.principal_session", public_id=public_id) + "#agenda")


@bp.post("/sessions/<public_id>/record")
@login_required
@form_errors_to("goals.principal_session", "#record")
def record(public_id: str):
    f = request.form
    actions = [{"text": f.get(f"action-{n}", ""), "owner": f.get(f"owner-{n}", ""), "due": f.get(f"due-{n}", "")[:20]}
               for n in range(1, 6)]
    follow = {}
    for n in range(1, service.MAX_ACTIONS * 3):
        key = f.get(f"follow-{n}", "")[:32]
        if key:
            follow[key] = (f.get(f"status-{n}", "")[:20], f.get(f"note-{n}", ""))
    service.record(db.session(), current_user, public_id, notes=f.get("notes", ""), actions=actions,
                   follow_ups=follow)
    flash(_("The session is recorded."), "info")
    return redirect(url_for("goals.principal_session", public_id=public_id) + "#actions")


@bp.get("/rounds")
@login_required
def rounds():
    s = db.session()
    year = service.school_year(date.today())
    found = service.rounds(s, current_user)
    return render_template("goals/rounds.html", rounds=found, runs=runs_programme(current_user), year=year,
                           coaches={r.id: service.coaches_of(s, r.year) for r in found},
                           may_record={r.id: authz.may(current_user, "record", r) for r in found}, **_context())


@bp.post("/rounds")
@login_required
@form_errors_to("goals.rounds", "#new-round")
def add_round():
    f = request.form
    made = service.create_round(db.session(), current_user, year=_number(f.get("year"), "year"),
                                number=_number(f.get("number"), "number", 99), meets_on=f.get("date", "")[:20],
                                agenda=f.get("agenda", ""), leader_email=f.get("leader", ""))
    flash(_("Round %(n)d's group meeting is planned.", n=made.number), "info")
    return redirect(url_for("goals.rounds") + f"#round-{made.public_id}")


@bp.post("/rounds/<public_id>/record")
@login_required
@form_errors_to("goals.rounds")
def record_round(public_id: str):
    f = request.form
    present = [n for v in f.getlist("present")[:500] if (n := digits(v)) is not None]
    made = service.record_round(db.session(), current_user, public_id, notes=f.get("notes", ""), present=present)
    flash(_("The group meeting is recorded."), "info")
    return redirect(url_for("goals.rounds") + f"#round-{made.public_id}")
