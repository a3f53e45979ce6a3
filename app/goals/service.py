"""Goals and indicators: areas (schools with their network and city), values (imported by CSV, entered by hand or
computed from ClassLab's own data), roll-ups with small cells suppressed, targets and roadmaps, and the principal
coaching log.

School years are named by the year they end (2027 is September 2026 to August 2027); terms are the halves of the
year (1: September to January, 2: February to August), and 3 for schools that report by trimester. A value about
the whole school (the computed indicators) has grade WHOLE_SCHOOL (0).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app import authz
from app.accounts.models import Organization, OrgKind, Role, User
from app.coaching.models import CoachingCycle, CoachLink
from app.communities.models import Community
from app.db import MAX_ID, utcnow
from app.diagnostics.models import Answer, Assignment, ClassGroup, Submission
from app.errors import Conflict, InvalidInput, NotVisible, msg
from app.goals import indicatorsfile, rollup, valuescsv
from app.goals.models import (
    ACTION_STATES,
    STEP_KINDS,
    STEP_STATES,
    TERMS,
    WHOLE_SCHOOL,
    Area,
    CoachRound,
    PrincipalPair,
    PrincipalSession,
    RoundAttendance,
    SessionAction,
    Step,
    Target,
    Value,
    ValueImport,
)
from app.goals.policy import inside, leads, oversees, runs_programme
from app.inputs import check_text
from app.meetings.models import Meeting
from app.notifications.service import notify

FIRST_YEAR, LAST_YEAR = 2015, 2040
MAX_TEXT = 4000
MAX_TITLE = 300
MAX_DATA = 6  # indicator charts looked at in one session
SESSIONS_A_YEAR = 7
MAX_SESSIONS = 12
MAX_ACTIONS = 20

UNKNOWN_INDICATOR = msg("Choose one of the indicators.")
BAD_YEAR = msg("The school year is the year it ends, from %(least)d to %(most)d.", least=FIRST_YEAR, most=LAST_YEAR)
BAD_TERM = msg("The term is 1, 2 or 3.")
BAD_GRADE = msg("Choose one of the grades this indicator is given for.")
NOT_LED = msg("You do not lead this school, network or city: only its leaders set its targets and roadmap.")


# ------------------------------------------------------------------------------------------------------ calendar


def school_year(day: date) -> int:
    return day.year + 1 if day.month >= 9 else day.year


def term_of(day: date) -> int:
    return 1 if day.month >= 9 or day.month == 1 else 2


def term_dates(year: int, term: int) -> tuple[date, date]:
    """First and last day of a term (terms 1 and 2; term 3 is the school's own and computed never)."""
    if term == 1:
        return date(year - 1, 9, 1), date(year, 1, 31)
    return date(year, 2, 1), date(year, 8, 31)


def period_label(year: int, term: int) -> str:
    return f"{year - 1}–{str(year)[-2:]}/{term}"


# --------------------------------------------------------------------------------------------------- indicators


def catalogue() -> indicatorsfile.Catalogue:
    return indicatorsfile.current()


def indicator(key: str | None) -> indicatorsfile.Indicator:
    found = catalogue().get(str(key or "")[:40])
    if found is None:
        raise InvalidInput(UNKNOWN_INDICATOR, field="indicator")
    return found


def grades_of(ind: indicatorsfile.Indicator) -> tuple[int, ...]:
    """The grades a value of this indicator is given for: the whole school (0) for the computed ones."""
    return (WHOLE_SCHOOL,) if ind.source == "computed" else tuple(ind.grades)


def _year(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not FIRST_YEAR <= value <= LAST_YEAR:
        raise InvalidInput(BAD_YEAR, field="year")
    return value


def _text(field: str, value: Any, most: int = MAX_TEXT, *, required: bool = False) -> str:
    text = str(value or "").strip()
    check_text(field, text)
    if required and not text:
        raise InvalidInput(msg("Fill in “%(field)s”.", field=field), field=field)
    if len(text) > most:
        raise InvalidInput(msg("“%(field)s” is too long (at most %(most)d characters).", field=field, most=most),
                           field=field)
    return text


# -------------------------------------------------------------------------------------------------------- areas


def _groups_under(session: Session, org: Organization) -> Area:
    area = session.scalar(select(Area).where(Area.organization_id == org.id))
    if area is None:
        area = Area(organization=org)
        session.add(area)
        session.flush()
    return area


def enrol(session: Session, actor: User, *, organization_id: int, code: str | None = None,
          network_id: int | None = None, city_id: int | None = None) -> Area:
    """Take an organization into the goals (administrators): a school with its ministry code and, where it has
    them, its network and its city (by default its parent organization, when that is a network or a city)."""
    if not runs_programme(actor):
        raise NotVisible(authz.NO_SUCH_OBJECT)
    org = session.get(Organization, organization_id) if 0 < organization_id <= MAX_ID else None
    if org is None:
        raise InvalidInput(msg("Choose an organization."), field="organization")
    area = _groups_under(session, org)
    if org.kind != OrgKind.school:
        return area
    text = str(code or "").strip()
    if not (text.isascii() and text.isdigit() and 3 <= len(text) <= 10):
        raise InvalidInput(msg("A school's code is its ministry code (סמל מוסד): 3 to 10 digits."), field="code")
    other = session.scalar(select(Area).where(Area.code == text, Area.id != area.id))
    if other is not None:
        raise Conflict(msg("Another school (%(name)s) has the code %(code)s.", name=other.name, code=text))
    area.code = text
    for field, given, kind in (("network", network_id, OrgKind.network), ("city", city_id, OrgKind.municipality)):
        group_org = None
        if given:
            group_org = session.get(Organization, given) if 0 < given <= MAX_ID else None
            if group_org is None or group_org.kind != kind:
                raise InvalidInput(msg("Choose a school network or a city of the right kind."), field=field)
        elif org.parent is not None and org.parent.kind == kind:
            group_org = org.parent
        setattr(area, f"{field}_id", _groups_under(session, group_org).id if group_org is not None else None)
    session.flush()
    return area


def get_area(session: Session, actor: User, public_id: str, action: str = "view") -> Area:
    return authz.load(session, actor, Area, public_id, action)


def areas(session: Session, actor: User) -> list[Area]:
    order = {"institute": 0, "network": 1, "municipality": 2, "school": 3}
    found = list(session.scalars(authz.visible(actor, select(Area))))
    return sorted(found, key=lambda a: (order.get(a.kind, 9), a.name))


def national(session: Session) -> Area | None:
    return session.scalar(select(Area).join(Organization).where(Organization.kind == OrgKind.institute)
                          .order_by(Area.id).limit(1))


def schools_in(session: Session, area: Area) -> list[Area]:
    query = select(Area).where(Area.code.is_not(None))
    if area.kind == "school":
        return [area]
    if area.kind == "network":
        query = query.where(Area.network_id == area.id)
    elif area.kind == "municipality":
        query = query.where(Area.city_id == area.id)
    return list(session.scalars(query.order_by(Area.code)))


def enrollable(session: Session) -> list[Organization]:
    return list(session.scalars(select(Organization).order_by(Organization.kind, Organization.name)))


def groups(session: Session, kind: OrgKind) -> list[Organization]:
    return list(session.scalars(select(Organization).where(Organization.kind == kind).order_by(Organization.name)))


# ------------------------------------------------------------------------------------------------------- values


def _spec(ind: indicatorsfile.Indicator) -> valuescsv.IndicatorSpec:
    return valuescsv.IndicatorSpec(key=ind.key, measure=ind.measure, least=ind.least, most=ind.most,
                                   grades=grades_of(ind))


def _store(session: Session, area_id: int, key: str, year: int, term: int, grade: int, numerator, students,
           value: float, source: str, actor: User | None, import_id: int | None = None, part: str = "") -> Value:
    row = session.scalar(select(Value).where(Value.area_id == area_id, Value.indicator_key == key,
                                             Value.part == part, Value.year == year, Value.term == term,
                                             Value.grade == grade))
    if row is None:
        row = Value(area_id=area_id, indicator_key=key, part=part, year=year, term=term, grade=grade)
        session.add(row)
    row.numerator, row.students, row.value, row.source = numerator, students, value, source
    row.import_id, row.entered_by_id, row.entered_at = import_id, actor.id if actor else None, utcnow()
    return row


def import_values(session: Session, actor: User, public_id: str, data: bytes, *, filename: str = "",
                  encoding: str = "auto") -> ValueImport:
    """Values from a school system's CSV: all or nothing, every bad row named. Rows may be about any school the
    actor oversees (their school, or the schools of their network or city)."""
    area = get_area(session, actor, public_id, "import")
    if encoding not in ("auto", "utf-8", "windows-1255"):
        raise InvalidInput(msg("Choose the file's encoding: automatic, UTF-8 or Windows-1255."), field="encoding")
    codes = {a.code: a for a in session.scalars(select(Area).where(Area.code.is_not(None)))}
    specs = {ind.key: _spec(ind) for ind in catalogue().indicators if ind.source != "computed"}
    try:
        parsed = valuescsv.parse(data, indicators=specs, schools=lambda code: codes[code].id if code in codes else None,
                                 encoding=encoding, year_range=(FIRST_YEAR, LAST_YEAR))
    except valuescsv.ValuesCsvError as exc:
        raise InvalidInput(msg("Nothing was imported: %(problems)s", problems="; ".join(exc.problems)),
                           field="file") from None
    by_id = {a.id: a for a in codes.values()}
    refused = [f"line {row.line}: {by_id[row.school_id].code}" for row in parsed.rows
               if not oversees(actor, by_id[row.school_id])]
    if refused:
        raise InvalidInput(msg("Nothing was imported: these rows are about schools you do not lead: %(rows)s",
                               rows=", ".join(refused[:50])), field="file")
    record = ValueImport(area_id=area.id, filename=_text("filename", filename, 200), encoding=parsed.encoding,
                         rows=len(parsed.rows), by_id=actor.id)
    session.add(record)
    session.flush()
    for row in parsed.rows:
        _store(session, row.school_id, row.indicator, row.year, row.term, row.grade, row.numerator, row.students,
               row.value, "imported", actor, record.id)
    session.flush()
    return record


def _number(value: Any, field: str) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise InvalidInput(msg("“%(field)s” is a number.", field=field), field=field)
    try:
        number = float(str(value).strip().replace(",", ".")) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise InvalidInput(msg("“%(field)s” is a number.", field=field), field=field) from None
    if number != number or number in (float("inf"), float("-inf")) or abs(number) > 1e9:
        raise InvalidInput(msg("“%(field)s” is a number.", field=field), field=field)
    return number


def enter_value(session: Session, actor: User, public_id: str, *, indicator_key: str, year: Any, term: Any,
                grade: Any, count: Any = None, students: Any = None, value: Any = None) -> Value:
    """One value by hand, with the same rules as an import: a share is a count of students out of the students of
    the grade; a mean, a value and the students it averages; a count, a whole number."""
    area = get_area(session, actor, public_id, "lead")
    if area.code is None:
        raise Conflict(msg("Values are entered for a school; a network's and a city's are added up from them."))
    ind = indicator(indicator_key)
    if ind.source == "computed":
        raise InvalidInput(msg("This indicator is computed from ClassLab's own data; it is not entered."),
                           field="indicator")
    year = _year(year)
    if term not in TERMS:
        raise InvalidInput(BAD_TERM, field="term")
    if grade not in grades_of(ind):
        raise InvalidInput(BAD_GRADE, field="grade")
    n, k, v = _number(students, "students"), _number(count, "count"), _number(value, "value")
    if ind.measure == "share":
        if n is None or k is None or n != int(n) or k != int(k) or not 0 <= k <= n or not 0 < n <= 2000:
            raise InvalidInput(msg("A share needs whole numbers: the students in the track out of the grade's "
                                   "students (1 to 2000)."), field="count")
        numerator, people, shown = k, int(n), 100 * k / n
    elif ind.measure == "mean":
        if v is None or n is None or n != int(n) or not 0 < n <= 2000:
            raise InvalidInput(msg("A mean needs the value and the number of students it is over (1 to 2000)."),
                               field="value")
        numerator, people, shown = v * n, int(n), v
    else:
        shown = v if v is not None else k
        if shown is None or shown != int(shown):
            raise InvalidInput(msg("A count is a whole number."), field="value")
        numerator, people = shown, None
    if not ind.within(shown):
        raise InvalidInput(msg("%(value)s is outside this indicator's range, %(least)s to %(most)s.",
                               value=f"{shown:g}", least=f"{ind.least:g}", most=f"{ind.most:g}"), field="value")
    row = _store(session, area.id, ind.key, year, term, grade, numerator, people, shown, "hand", actor)
    session.flush()
    return row


def imports(session: Session, area: Area) -> list[ValueImport]:
    return list(session.scalars(select(ValueImport).where(ValueImport.area_id == area.id)
                                .order_by(ValueImport.at.desc()).limit(10)))


# ------------------------------------------------------------------------------------------ computed indicators


def _in(column, start: date, end: date):
    return column.between(datetime(start.year, start.month, start.day, tzinfo=UTC),
                          datetime(end.year, end.month, end.day, 23, 59, 59, tzinfo=UTC))


def compute_values(session: Session, *, year: int, term: int) -> int:
    """The computed indicators of every school for a term, from ClassLab's own data: coaching cycles closed by the
    school's teachers, community meetings the school's communities held, and diagnostic mastery (the share of the
    school's students who answered a diagnostic without showing a misconception; per misconception as parts)."""
    if term not in (1, 2):
        raise InvalidInput(msg("Computed indicators are given for terms 1 and 2."), field="term")
    start, end = term_dates(_year(year), term)
    wanted = {ind.computed: ind for ind in catalogue().indicators if ind.source == "computed"}
    stored = 0
    for area in session.scalars(select(Area).where(Area.code.is_not(None))):
        org = area.organization_id
        if "coaching_cycles_closed" in wanted:
            n = session.scalar(select(func.count(CoachingCycle.id)).join(CoachLink).join(User, User.id ==
                               CoachLink.teacher_id).where(User.organization_id == org,
                                                           _in(CoachingCycle.closed_at, start, end))) or 0
            ind = wanted["coaching_cycles_closed"]
            _store(session, area.id, ind.key, year, term, WHOLE_SCHOOL, n, None, n, "computed", None)
            stored += 1
        if "plc_meetings_held" in wanted:
            n = session.scalar(select(func.count(Meeting.id)).join(Community).where(
                Community.organization_id == org, Meeting.status == "closed",
                _in(Meeting.closed_at, start, end))) or 0
            ind = wanted["plc_meetings_held"]
            _store(session, area.id, ind.key, year, term, WHOLE_SCHOOL, n, None, n, "computed", None)
            stored += 1
        if "diagnostic_mastery" in wanted:
            ind = wanted["diagnostic_mastery"]
            shown = defaultdict(set)
            took: set[int] = set()
            rows = session.execute(
                select(Submission.student_id, Answer.misconception).join(Assignment).join(ClassGroup)
                .join(User, User.id == ClassGroup.teacher_id).outerjoin(Answer, Answer.submission_id == Submission.id)
                .where(User.organization_id == org, _in(Submission.submitted_at, start, end)))
            for student, misconception in rows:
                took.add(student)
                if misconception:
                    shown[misconception].add(student)
            if not took:
                continue
            clear = len(took - set().union(*shown.values())) if shown else len(took)
            _store(session, area.id, ind.key, year, term, WHOLE_SCHOOL, clear, len(took), 100 * clear / len(took),
                   "computed", None)
            for key, students in shown.items():
                free = len(took) - len(students)
                _store(session, area.id, ind.key, year, term, WHOLE_SCHOOL, free, len(took), 100 * free / len(took),
                       "computed", None, part=key[:80])
            stored += 1 + len(shown)
    session.flush()
    return stored


# --------------------------------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Point:
    year: int
    term: int
    shown: rollup.Shown

    @property
    def label(self) -> str:
        return period_label(self.year, self.term)


def _cells(session: Session, schools: list[int], key: str, *, grade: int | None = None, part: str = "",
           by: tuple = ()) -> dict[tuple, rollup.Cell]:
    """Sums of numerators and students over the schools, grouped by `by` columns."""
    ind = indicator(key)
    query = (select(*by, func.sum(Value.numerator), func.sum(Value.students), func.count(Value.id))
             .where(Value.indicator_key == key, Value.part == part, Value.area_id.in_(schools)))
    if grade is not None:
        query = query.where(Value.grade == grade)
    if by:
        query = query.group_by(*by)
    found = {}
    for row in session.execute(query):
        *keys, numerator, students, count = row
        if not count:
            continue
        found[tuple(keys)] = rollup.Cell(numerator, int(students) if students is not None and ind.measure != "count"
                                         else None, ind.measure)
    return found


def _protected(actor: User, area: Area) -> bool:
    return not inside(actor, area)


def _shown(cell: rollup.Cell, protect: bool) -> rollup.Shown:
    if protect:
        parts, _total = rollup.protect_1d({"x": cell})
        return parts["x"]
    return rollup.Shown(cell.value, cell.students, False, None)


def series(session: Session, actor: User, area: Area, key: str, grade: int | None = None) -> list[Point]:
    """The indicator by term, for one grade or all together, added up over the area's schools."""
    schools = [s.id for s in schools_in(session, area)]
    cells = _cells(session, schools, key, grade=grade, by=(Value.year, Value.term))
    protect = _protected(actor, area)
    return [Point(year, term, _shown(cell, protect)) for (year, term), cell in sorted(cells.items())]


def latest(session: Session, area: Area, key: str) -> tuple[int, int] | None:
    schools = select(Area.id).where(Area.id.in_([s.id for s in schools_in(session, area)]))
    row = session.execute(select(Value.year, Value.term).where(Value.indicator_key == key, Value.part == "",
                                                               Value.area_id.in_(schools))
                          .order_by(Value.year.desc(), Value.term.desc()).limit(1)).first()
    return (row[0], row[1]) if row else None


@dataclass
class GradeTable:
    grades: list[int]
    parts: dict[int, rollup.Shown]
    total: rollup.Shown | None


def grade_table(session: Session, actor: User, area: Area, key: str, year: int, term: int) -> GradeTable:
    """A school's (or an area's, added up) value per grade and for the grades together, small cells suppressed
    with their complements for whoever is not of the school."""
    schools = [s.id for s in schools_in(session, area)]
    cells = {g: c for (g, y, t), c in _cells(session, schools, key, by=(Value.grade, Value.year, Value.term)).items()
             if (y, t) == (year, term)}
    grades = sorted(cells)
    if not cells:
        return GradeTable([], {}, None)
    total = rollup.combine(cells.values())
    if _protected(actor, area):
        parts, shown_total = rollup.protect_1d(cells, total)
    else:
        parts = {g: rollup.Shown(c.value, c.students, False, None) for g, c in cells.items()}
        shown_total = rollup.Shown(total.value, total.students, False, None)
    return GradeTable(grades, parts, shown_total if len(grades) > 1 else None)


@dataclass
class SchoolTable:
    rows: list[Area]
    row_names: dict[int, str]
    grades: list[int]
    parts: dict[tuple[int, int], rollup.Shown]
    row_totals: dict[int, rollup.Shown]
    grade_totals: dict[int, rollup.Shown]
    total: rollup.Shown | None


def school_table(session: Session, actor: User, area: Area, key: str, year: int, term: int) -> SchoolTable:
    """A network's or a city's schools × grades (the national view: its cities), only aggregates, small cells
    and their complements suppressed so that no cell can be worked out from the totals."""
    schools = schools_in(session, area)
    query = (select(Value.area_id, Value.grade, func.sum(Value.numerator), func.sum(Value.students))
             .where(Value.indicator_key == key, Value.part == "", Value.year == year, Value.term == term,
                    Value.area_id.in_([s.id for s in schools])).group_by(Value.area_id, Value.grade))
    ind = indicator(key)
    by_school = {s.id: s for s in schools}
    national_view = area.kind == "institute"
    cells: dict[tuple[int, int], list[rollup.Cell]] = defaultdict(list)
    names: dict[int, str] = {}
    for school_id, grade, numerator, students in session.execute(query):
        school = by_school[school_id]
        row = (school.city_id or 0) if national_view else school_id
        names[row] = (school.city.name if school.city else "—") if national_view else school.name
        cells[(row, grade)].append(rollup.Cell(numerator, students if ind.measure != "count" else None, ind.measure))
    combined = {k: rollup.combine(v) for k, v in cells.items()}
    if not combined:
        return SchoolTable([], {}, [], {}, {}, {}, None)
    parts, row_totals, grade_totals, total = rollup.protect_2d(combined)
    rows = sorted({r for r, _g in combined}, key=lambda r: names[r])
    return SchoolTable([by_school.get(r) for r in rows] if not national_view else [], names,
                       sorted({g for _r, g in combined}), parts, row_totals, grade_totals, total)


def table_rows(table: SchoolTable) -> list[int]:
    return sorted({r for r, _g in table.parts}, key=lambda r: table.row_names[r])


def parts_of(session: Session, actor: User, area: Area, key: str, year: int, term: int) -> list[tuple[str, Any]]:
    """Diagnostic mastery per misconception (an indicator's parts), added up over the area's schools."""
    schools = [s.id for s in schools_in(session, area)]
    query = (select(Value.part, func.sum(Value.numerator), func.sum(Value.students))
             .where(Value.indicator_key == key, Value.part != "", Value.year == year, Value.term == term,
                    Value.area_id.in_(schools)).group_by(Value.part).order_by(Value.part))
    protect = _protected(actor, area)
    return [(part, _shown(rollup.Cell(n, int(k) if k is not None else None, "share"), protect))
            for part, n, k in session.execute(query)]


def national_rollup(session: Session) -> dict[tuple[str, int, int, int], rollup.Cell]:
    """Every indicator, year, term and grade added up over every school: one query (bench/goals.py)."""
    measures = {ind.key: ind.measure for ind in catalogue().indicators}
    query = (select(Value.indicator_key, Value.year, Value.term, Value.grade, func.sum(Value.numerator),
                    func.sum(Value.students)).where(Value.part == "")
             .group_by(Value.indicator_key, Value.year, Value.term, Value.grade))
    found = {}
    for key, year, term, grade, numerator, students in session.execute(query):
        measure = measures.get(key, "count")
        found[(key, year, term, grade)] = rollup.Cell(numerator, students if measure != "count" else None, measure)
    return found


# ------------------------------------------------------------------------------------------- targets and tracks


def targets(session: Session, area: Area) -> list[Target]:
    return list(session.scalars(select(Target).where(Target.area_id == area.id)
                                .order_by(Target.indicator_key, Target.year, Target.grade)))


def target_for(session: Session, area: Area, key: str, grade: int = WHOLE_SCHOOL) -> Target | None:
    return session.scalar(select(Target).where(Target.area_id == area.id, Target.indicator_key == key,
                                               Target.grade == grade).order_by(Target.year.desc()).limit(1))


def set_target(session: Session, actor: User, public_id: str, *, indicator_key: str, year: Any, value: Any,
               grade: Any = WHOLE_SCHOOL, baseline: Any = None, baseline_year: Any = None, note: str = "") -> Target:
    area = get_area(session, actor, public_id, "view")
    if not leads(actor, area):
        raise InvalidInput(NOT_LED, field="area")
    ind = indicator(indicator_key)
    year = _year(year)
    if grade != WHOLE_SCHOOL and grade not in grades_of(ind):
        raise InvalidInput(BAD_GRADE, field="grade")
    goal = _number(value, "target")
    if goal is None or not ind.within(goal):
        raise InvalidInput(msg("A target is a value within the indicator's range, %(least)s to %(most)s.",
                               least=f"{ind.least:g}", most=f"{ind.most:g}"), field="target")
    start = _number(baseline, "baseline")
    if start is not None and not ind.within(start):
        raise InvalidInput(msg("The baseline is outside the indicator's range, %(least)s to %(most)s.",
                               least=f"{ind.least:g}", most=f"{ind.most:g}"), field="baseline")
    since = None
    if start is not None:
        since = _year(baseline_year) if baseline_year not in (None, "") else None
        if since is None or since >= year:
            raise InvalidInput(msg("The baseline's year comes before the target's."), field="baseline_year")
    row = session.scalar(select(Target).where(Target.area_id == area.id, Target.indicator_key == ind.key,
                                              Target.year == year, Target.grade == grade))
    if row is None:
        row = Target(area_id=area.id, indicator_key=ind.key, year=year, grade=grade)
        session.add(row)
    row.value, row.baseline, row.baseline_year = goal, start, since
    row.note, row.set_by_id = _text("note", note), actor.id
    session.flush()
    return row


def delete_target(session: Session, actor: User, public_id: str) -> Area:
    target = authz.load(session, actor, Target, public_id, "delete")
    area = target.area
    session.delete(target)
    session.flush()
    return area


def track(target: Target | None, points: list[Point], direction: str) -> str | None:
    """On track, off track or met, for the target against the latest value (None: no target or no value)."""
    if target is None:
        return None
    known = [p for p in points if p.shown.value is not None]
    if not known:
        return None
    last = known[-1]
    start = target.baseline_year or last.year
    return rollup.on_track(direction, target.baseline, target.value, start, target.year,
                           min(max(last.year, start), target.year), last.shown.value)


@dataclass
class Summary:
    indicator: indicatorsfile.Indicator
    points: list[Point]
    latest: Point | None
    target: Target | None
    track: str | None


def summary(session: Session, actor: User, area: Area) -> list[Summary]:
    found = []
    for ind in catalogue().indicators:
        points = series(session, actor, area, ind.key)
        target = target_for(session, area, ind.key)
        found.append(Summary(ind, points, points[-1] if points else None, target, track(target, points,
                                                                                          ind.direction)))
    return found


def schools_on_track(session: Session, actor: User, area: Area, key: str
                     ) -> list[tuple[Area, Point | None, Target | None, str | None]]:
    ind = indicator(key)
    found = []
    for school in schools_in(session, area):
        points = series(session, actor, school, key)
        target = target_for(session, school, key)
        found.append((school, points[-1] if points else None, target, track(target, points, ind.direction)))
    return found


# ------------------------------------------------------------------------------------------------------ roadmap


def steps(session: Session, area: Area) -> list[Step]:
    return list(session.scalars(select(Step).where(Step.area_id == area.id)
                                .order_by(Step.status != "open", Step.due_on, Step.id)))


def _day(value: Any, field: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip()[:10])
    except ValueError:
        raise InvalidInput(msg("“%(field)s” is a date (day, month and year).", field=field), field=field) from None


def add_step(session: Session, actor: User, public_id: str, *, kind: str, title: str, owner: str, due_on: Any,
             indicator_key: str | None = None) -> Step:
    area = get_area(session, actor, public_id, "view")
    if not leads(actor, area):
        raise InvalidInput(NOT_LED, field="area")
    if kind not in STEP_KINDS:
        raise InvalidInput(msg("A step is a milestone or an action."), field="kind")
    key = indicator(indicator_key).key if indicator_key else None
    step = Step(area_id=area.id, kind=kind, title=_text("title", title, MAX_TITLE, required=True),
                owner_name=_text("owner", owner, 200, required=True), due_on=_day(due_on, "due"),
                indicator_key=key, created_by_id=actor.id)
    session.add(step)
    session.flush()
    return step


def set_step(session: Session, actor: User, public_id: str, status: str, today: date | None = None) -> Step:
    step = authz.load(session, actor, Step, public_id, "edit")
    if status not in STEP_STATES:
        raise InvalidInput(msg("A step is open, done or dropped."), field="status")
    step.status = status
    step.done_on = (today or date.today()) if status == "done" else None
    session.flush()
    return step


# -------------------------------------------------------------------------------------- principal coaching log


def _person(session: Session, email: str, field: str) -> User:
    found = session.scalar(select(User).where(func.lower(User.email) == str(email or "").strip().lower()[:254],
                                              User.active.is_(True)))
    if found is None:
        raise InvalidInput(msg("Nobody active has the e-mail address %(email)s.", email=str(email or "")[:254]),
                           field=field)
    return found


def pair(session: Session, actor: User, *, coach_email: str, principal_email: str, year: Any) -> PrincipalPair:
    """Pair a coach with a school's principal for a school year (administrators)."""
    if not runs_programme(actor):
        raise NotVisible(authz.NO_SUCH_OBJECT)
    coach = _person(session, coach_email, "coach")
    principal = _person(session, principal_email, "principal")
    if coach.role not in (Role.coach, Role.admin):
        raise InvalidInput(msg("%(name)s is not a coach.", name=coach.display_name), field="coach")
    area = session.scalar(select(Area).where(Area.organization_id == principal.organization_id,
                                             Area.code.is_not(None))) if principal.organization_id else None
    if principal.role != Role.school_leader or area is None:
        raise InvalidInput(msg("%(name)s is not the principal of a school taking part in the goals.",
                               name=principal.display_name), field="principal")
    year = _year(year)
    found = session.scalar(select(PrincipalPair).where(PrincipalPair.coach_id == coach.id,
                                                       PrincipalPair.principal_id == principal.id,
                                                       PrincipalPair.year == year))
    if found is not None:
        raise Conflict(msg("%(coach)s already coaches %(principal)s this year.", coach=coach.display_name,
                           principal=principal.display_name))
    made = PrincipalPair(coach_id=coach.id, principal_id=principal.id, area_id=area.id, year=year,
                         assigned_by_id=actor.id)
    session.add(made)
    session.flush()
    return made


def pairs(session: Session, actor: User) -> list[PrincipalPair]:
    return list(session.scalars(authz.visible(actor, select(PrincipalPair))
                                .options(selectinload(PrincipalPair.sessions))
                                .order_by(PrincipalPair.year.desc(), PrincipalPair.id)))


def get_pair(session: Session, actor: User, public_id: str, action: str = "view") -> PrincipalPair:
    return authz.load(session, actor, PrincipalPair, public_id, action)


def _data(session: Session, area: Area, data: Any) -> list[dict]:
    chosen = []
    for item in data or []:
        key = item.get("indicator") if isinstance(item, dict) else item
        ind = indicator(key)
        grade = item.get("grade") if isinstance(item, dict) else None
        if grade is not None and grade not in grades_of(ind):
            raise InvalidInput(BAD_GRADE, field="grade")
        entry = {"indicator": ind.key, "grade": grade}
        if entry not in chosen:
            chosen.append(entry)
    if len(chosen) > MAX_DATA:
        raise InvalidInput(msg("Look at %(most)d indicators at most in one session.", most=MAX_DATA), field="data")
    return chosen


def plan_session(session: Session, actor: User, public_id: str, *, held_on: Any, agenda: str = "",
                 data: Any = ()) -> PrincipalSession:
    """The next session with the principal: when, the agenda and the data to look at together."""
    found = get_pair(session, actor, public_id, "view")
    authz.require(actor, "plan", found)
    number = (max((s.number for s in found.sessions), default=0)) + 1
    if number > MAX_SESSIONS:
        raise Conflict(msg("This pair already has %(most)d sessions this year.", most=MAX_SESSIONS))
    meeting = PrincipalSession(pair=found, number=number, held_on=_day(held_on, "date"),
                               agenda=_text("agenda", agenda), data=_data(session, found.area, data))
    session.add(meeting)
    session.flush()
    other = found.principal if actor.id == found.coach_id else found.coach
    notify(session, other, "principal_session", {"number": number, "school": found.area.name},
           f"/goals/sessions/{meeting.public_id}", actor=actor)
    return meeting


def get_session(session: Session, actor: User, public_id: str, action: str = "view") -> PrincipalSession:
    return authz.load(session, actor, PrincipalSession, public_id, action)


def prepare(session: Session, actor: User, public_id: str, *, agenda: str, data: Any, held_on: Any = None
            ) -> PrincipalSession:
    meeting = get_session(session, actor, public_id, "view")
    authz.require(actor, "prepare", meeting, hide=False)
    meeting.agenda = _text("agenda", agenda)
    meeting.data = _data(session, meeting.pair.area, data)
    if held_on not in (None, ""):
        meeting.held_on = _day(held_on, "date")
    session.flush()
    return meeting


def open_before(session: Session, meeting: PrincipalSession) -> list[SessionAction]:
    """Actions agreed at earlier sessions of the pair that are still open: followed up at this one."""
    return list(session.scalars(select(SessionAction).join(PrincipalSession, PrincipalSession.id ==
                                                           SessionAction.session_id)
                                .where(PrincipalSession.pair_id == meeting.pair_id,
                                       PrincipalSession.number < meeting.number,
                                       (SessionAction.status == "open") |
                                       (SessionAction.followed_up_in_id == meeting.id))
                                .order_by(SessionAction.id)))


def record(session: Session, actor: User, public_id: str, *, notes: str, actions: Any = (),
           follow_ups: Any = None) -> PrincipalSession:
    """What was said, the actions agreed (what, who, by when) and how earlier actions went: the session is held.
    All or nothing: one bad action or follow-up and nothing is recorded."""
    meeting = get_session(session, actor, public_id, "view")
    authz.require(actor, "record", meeting, hide=False)
    text = _text("notes", notes, required=True)
    new = []
    for n, item in enumerate(actions or []):
        if not isinstance(item, dict):
            raise InvalidInput(msg("Action %(n)d: give what, who and by when.", n=n + 1), field="actions")
        what = str(item.get("text") or "").strip()
        who = str(item.get("owner") or "").strip()
        if not what and not who and not item.get("due"):
            continue
        if not what or not who:
            raise InvalidInput(msg("Action %(n)d: give what, who and by when.", n=n + 1), field="actions")
        new.append(SessionAction(text=_text("action", what, MAX_TITLE), owner_name=_text("owner", who, 200),
                                 due_on=_day(item.get("due"), "due")))
    if len(new) + len(meeting.actions) > MAX_ACTIONS:
        raise InvalidInput(msg("At most %(most)d actions in one session.", most=MAX_ACTIONS), field="actions")
    earlier = {a.public_id: a for a in open_before(session, meeting)}
    updates = []
    for key, (status, note) in (follow_ups or {}).items():
        action = earlier.get(str(key))
        if action is None:
            raise InvalidInput(msg("That action is not one to follow up at this session."), field="follow_up")
        if status not in ACTION_STATES:
            raise InvalidInput(msg("An action is open, done or not done."), field="follow_up")
        updates.append((action, status, _text("follow_up", note)))
    for action, status, note in updates:
        action.status, action.follow_up, action.followed_up_in_id = status, note, meeting.id
    meeting.notes = text
    meeting.actions.extend(new)
    meeting.status, meeting.recorded_at = "held", utcnow()
    session.flush()
    return meeting


def rounds(session: Session, actor: User) -> list[CoachRound]:
    return list(session.scalars(authz.visible(actor, select(CoachRound))
                                .options(selectinload(CoachRound.attendance))
                                .order_by(CoachRound.year.desc(), CoachRound.number)))


def create_round(session: Session, actor: User, *, year: Any, number: Any, meets_on: Any, agenda: str = "",
                 leader_email: str = "") -> CoachRound:
    if not runs_programme(actor):
        raise NotVisible(authz.NO_SUCH_OBJECT)
    year = _year(year)
    if not isinstance(number, int) or isinstance(number, bool) or not 1 <= number <= MAX_SESSIONS:
        raise InvalidInput(msg("A round is numbered 1 to %(most)d.", most=MAX_SESSIONS), field="number")
    if session.scalar(select(CoachRound.id).where(CoachRound.year == year, CoachRound.number == number)):
        raise Conflict(msg("Round %(number)d of that year is already planned.", number=number))
    leader = _person(session, leader_email, "leader") if str(leader_email or "").strip() else actor
    made = CoachRound(year=year, number=number, meets_on=_day(meets_on, "date"), agenda=_text("agenda", agenda),
                      led_by_id=leader.id)
    session.add(made)
    session.flush()
    return made


def coaches_of(session: Session, year: int) -> list[User]:
    ids = select(PrincipalPair.coach_id).where(PrincipalPair.year == year)
    return list(session.scalars(select(User).where(User.id.in_(ids)).order_by(User.display_name)))


def record_round(session: Session, actor: User, public_id: str, *, notes: str, present: Any) -> CoachRound:
    meeting = authz.load(session, actor, CoachRound, public_id, "view")
    authz.require(actor, "record", meeting, hide=False)
    coaches = {c.id: c for c in coaches_of(session, meeting.year)}
    chosen = set()
    for value in present or []:
        if not isinstance(value, int) or isinstance(value, bool) or value not in coaches:
            raise InvalidInput(msg("Mark the attendance of the coaches of that year only."), field="present")
        chosen.add(value)
    meeting.notes = _text("notes", notes)
    kept = {a.coach_id: a for a in meeting.attendance}
    for coach_id in coaches:
        row = kept.get(coach_id)
        if row is None:
            row = RoundAttendance(coach_id=coach_id)
            meeting.attendance.append(row)
        row.present = coach_id in chosen
    session.flush()
    return meeting


def dashboard(session: Session, actor: User, today: date | None = None) -> dict:
    """For a person's dashboard: the areas they see (the first few), the principal sessions coming up, and the
    actions agreed at sessions they are part of that are still open."""
    today = today or date.today()
    mine = select(PrincipalPair.id).where((PrincipalPair.coach_id == actor.id) |
                                          (PrincipalPair.principal_id == actor.id))
    coming = list(session.scalars(select(PrincipalSession).where(
        PrincipalSession.pair_id.in_(mine), PrincipalSession.status == "planned",
        PrincipalSession.held_on >= today).order_by(PrincipalSession.held_on).limit(5)))
    open_actions = list(session.scalars(select(SessionAction).join(
        PrincipalSession, PrincipalSession.id == SessionAction.session_id).where(
        PrincipalSession.pair_id.in_(mine), SessionAction.status == "open").order_by(SessionAction.due_on).limit(5)))
    return {"goal_areas": areas(session, actor)[:5], "goal_sessions": coming, "goal_actions": open_actions}


# -------------------------------------------------------------------------------------------------- exports


def values_csv(session: Session, actor: User, area: Area, key: str | None = None) -> str:
    """The area's indicators by term and grade as CSV (what a spreadsheet opens): added up over its schools,
    small cells suppressed as on the page."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["area", "indicator", "year", "term", "grade", "value", "students", "suppressed", "target"])
    chosen = [indicator(key)] if key else list(catalogue().indicators)
    for ind in chosen:
        periods = sorted({(p.year, p.term) for p in series(session, actor, area, ind.key)})
        target = target_for(session, area, ind.key)
        for year, term in periods:
            table = grade_table(session, actor, area, ind.key, year, term)
            rows = [(g, table.parts[g]) for g in table.grades] + ([("all", table.total)] if table.total else [])
            for grade, shown in rows:
                writer.writerow([area.name, ind.key, year, term, grade,
                                 "" if shown.value is None else round(shown.value, 2),
                                 "" if shown.students is None else shown.students,
                                 "yes" if shown.suppressed else "", "" if target is None else target.value])
    return "\ufeff" + out.getvalue()


def export_for(session: Session, user: User) -> dict:
    """What the data export holds of a person: the targets and steps they set, the principal sessions they took
    part in (as coach or principal) with their actions, and the coaches' rounds they attended."""
    mine = session.scalars(select(PrincipalPair).where((PrincipalPair.coach_id == user.id) |
                                                       (PrincipalPair.principal_id == user.id)))
    return {
        "targets": [{"area": t.area.name, "indicator": t.indicator_key, "year": t.year, "grade": t.grade,
                     "value": t.value, "baseline": t.baseline, "note": t.note}
                    for t in session.scalars(select(Target).where(Target.set_by_id == user.id))],
        "steps": [{"area": s.area.name, "kind": s.kind, "title": s.title, "owner": s.owner_name,
                   "due": s.due_on.isoformat(), "status": s.status}
                  for s in session.scalars(select(Step).where(Step.created_by_id == user.id))],
        "principal_sessions": [
            {"year": p.year, "school": p.area.name, "role": "coach" if p.coach_id == user.id else "principal",
             "coach": p.coach.display_name, "principal": p.principal.display_name,
             "sessions": [{"number": s.number, "date": s.held_on.isoformat(), "status": s.status, "agenda": s.agenda,
                           "notes": s.notes, "data": s.data,
                           "actions": [{"text": a.text, "owner": a.owner_name, "due": a.due_on.isoformat(),
                                        "status": a.status, "follow_up": a.follow_up} for a in s.actions]}
                          for s in p.sessions]} for p in mine],
        "coach_rounds": [{"year": a.round.year, "number": a.round.number, "date": a.round.meets_on.isoformat(),
                          "present": a.present}
                         for a in session.scalars(select(RoundAttendance).where(RoundAttendance.coach_id == user.id))],
    }
