"""Goals end to end, on both stacks: roll-ups and suppression against hand-worked values (and an attempt to recover a
suppressed cell from the totals), CSV imports with each bad row named and nothing half-imported, values, targets and
the roadmap, computed indicators, who may see and do what, the principal coaching log, every page and form with good
and bad input, the API, the CSV and PDF reports and the data export."""

from __future__ import annotations

import html
import io
import json
import zipfile
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from app.errors import ClassLabError, NotVisible
from app.goals import service as goals
from app.goals.models import Area, PrincipalSession, SessionAction, Target, Value, ValueImport
from tests import builders
from tests.web import bearer, csrf_token, signed_in


@pytest.fixture
def world(session, people):
    return builders.goals_world(session, people)


def _area(session, public_id: str) -> Area:
    return session.scalar(select(Area).where(Area.public_id == public_id))


def _values(session) -> int:
    return session.scalar(select(func.count(Value.id)))


def _page(client, path: str) -> str:
    answer = client.get(path)
    assert answer.status_code == 200, (path, answer.status_code)
    return html.unescape(answer.get_data(as_text=True))


# ------------------------------------------------------------------------------------- arithmetic, by hand


def test_roll_up_and_suppression_against_hand_worked_values(session, people, world):
    a, city = _area(session, world["a"]), _area(session, world["city"])
    # The principal is of the school: every cell. 2027/1: 6/30 = 20 %, 3/8 = 37.5 %, 7/25 = 28 %; 16/63 = 25.397 %.
    inside = goals.grade_table(session, people["leader"], a, "math5_share", 2027, 1)
    assert [inside.parts[g].value for g in (10, 11, 12)] == pytest.approx([20.0, 37.5, 28.0])
    assert inside.total.value == pytest.approx(100 * 16 / 63) and inside.total.students == 63
    # The city's leader is not: grade 11 has 8 students (under 10), so it is hidden, and so is the smallest other
    # grade (12, 25 students), else 63 − 30 − 25 = 8 students and 16 − 6 − 7 = 3 would give grade 11 away.
    outside = goals.grade_table(session, people["city_leader"], a, "math5_share", 2027, 1)
    assert outside.parts[10].value == pytest.approx(20.0) and outside.parts[10].students == 30
    assert outside.parts[11].suppressed and outside.parts[11].reason == "small"
    assert outside.parts[12].suppressed and outside.parts[12].reason == "complementary"
    assert outside.total.value == pytest.approx(100 * 16 / 63) and outside.total.students == 63
    # The attacker's try: the total less every published grade leaves two grades unknown, never one.
    known = [g for g in (10, 11, 12) if not outside.parts[g].suppressed]
    assert len({10, 11, 12} - set(known)) == 2
    # The city adds students, not percentages: (16 + 21) / (63 + 95) = 37 / 158 = 23.418 %.
    points = goals.series(session, people["city_leader"], city, "math5_share")
    assert [(p.year, p.term) for p in points] == [(2026, 2), (2027, 1)]
    assert points[-1].shown.value == pytest.approx(100 * 37 / 158) and points[-1].shown.students == 158
    # 2026/2: (13 + 17) / (63 + 95) = 30 / 158.
    assert points[0].shown.value == pytest.approx(100 * 30 / 158)
    # The city's schools × grades: A11 small; A12 hides row A; B11 and B12 then hide columns 11 and 12.
    table = goals.school_table(session, people["city_leader"], city, "math5_share", 2027, 1)
    rows = {table.row_names[r]: r for r in goals.table_rows(table)}
    ra, rb = rows["Tichon Alef"], rows["مدرسة النور"]
    hidden = {(r, g) for (r, g), shown in table.parts.items() if shown.suppressed}
    assert hidden == {(ra, 11), (ra, 12), (rb, 11), (rb, 12)}
    assert table.parts[(ra, 10)].value == pytest.approx(20.0) and table.parts[(rb, 10)].value == pytest.approx(15.0)
    assert table.grade_totals[11].value == pytest.approx(100 * 12 / 43)
    # No row and no column of the published table has exactly one hidden cell: none can be recovered.
    for r in (ra, rb):
        assert sum((r, g) in hidden for g in table.grades) != 1
    for g in table.grades:
        assert sum((r, g) in hidden for r in (ra, rb)) != 1


def test_the_national_roll_up_and_on_track(session, people, world):
    cells = goals.national_rollup(session)
    assert cells[("math5_share", 2027, 1, 11)].numerator == 12 and cells[("math5_share", 2027, 1, 11)].students == 43
    a = _area(session, world["a"])
    points = goals.series(session, people["leader"], a, "math5_share")
    target = goals.target_for(session, a, "math5_share")
    # 12 % in 2025 to 16 % in 2028: in 2027 the path is at 14.67 %; school A is at 25.4 %, above it: on track.
    assert goals.track(target, points, "up") in ("on", "met")
    summary = {s.indicator.key: s for s in goals.summary(session, people["leader"], a)}
    assert summary["math5_share"].latest.shown.value == pytest.approx(100 * 16 / 63)
    assert summary["physics_share"].latest is None


# ------------------------------------------------------------------------------------------------- imports


GOOD_CSV = ("school,year,term,grade,indicator,count,students\n"
            "480012,2027,2,10,math5_share,7,31\n"
            "480012,2027,2,11,math5_share,4,9\n"
            "480013,2027,2,10,math5_share,6,40\n")


def test_a_csv_import_is_all_or_nothing_and_names_each_bad_row(session, people, world):
    before = _values(session)
    bad = GOOD_CSV + "480012,2027,2,13,math5_share,1,10\n999999,2027,2,10,math5_share,1,10\n"
    with pytest.raises(ClassLabError) as refused:
        goals.import_values(session, people["admin"], world["institute"], bad.encode(), filename="bad.csv")
    detail = str(refused.value.detail)
    assert "row 4 (line 5)" in detail and "row 5 (line 6)" in detail
    session.rollback()
    assert _values(session) == before
    # The principal may import school A's rows, not school B's: nothing imported, the row named.
    with pytest.raises(ClassLabError) as refused:
        goals.import_values(session, people["leader"], world["a"], GOOD_CSV.encode(), filename="mixed.csv")
    assert "line 4: 480013" in str(refused.value.detail)
    session.rollback()
    assert _values(session) == before
    record = goals.import_values(session, people["admin"], world["institute"], GOOD_CSV.encode(), filename="ok.csv")
    session.commit()
    assert record.rows == 3 and _values(session) == before + 3
    # Windows-1255 with Hebrew headers and grade letters, semicolons: the same cells, replaced.
    hebrew = ("סמל מוסד;שנה;מחצית;שכבה;מדד;מספר;תלמידים\n"
              "480012;2027;2;י;math5_share;8;31\n").encode("cp1255")
    record = goals.import_values(session, people["leader"], world["a"], hebrew, filename="מנב״ס.csv")
    session.commit()
    assert record.encoding == "windows-1255" and _values(session) == before + 3
    cell = session.scalar(select(Value).where(Value.indicator_key == "math5_share", Value.year == 2027,
                                              Value.term == 2, Value.grade == 10, Value.area_id ==
                                              _area(session, world["a"]).id))
    assert cell.numerator == 8 and cell.source == "imported"
    # Neither UTF-8 nor Windows-1255 text: refused, nothing stored.
    with pytest.raises(ClassLabError) as refused:
        goals.import_values(session, people["admin"], world["institute"], "x".encode("utf-16"), filename="u16.csv")
    assert "UTF-16" in str(refused.value.detail)
    session.rollback()
    with pytest.raises(ClassLabError) as refused:
        goals.import_values(session, people["admin"], world["institute"], b"school,year\n480012,2027\n")
    assert "missing" in str(refused.value.detail).lower()


def test_values_targets_and_steps_refuse_bad_input(session, people, world):
    a = world["a"]
    for kwargs, field in (({"count": 5, "students": 4}, "count"), ({"count": 5, "students": 0}, "count"),
                          ({"count": "x", "students": 9}, "count"), ({"count": 1, "students": 9, "grade": 7}, "grade")):
        values = {"indicator_key": "math5_share", "year": 2027, "term": 1, "grade": 10, **kwargs}
        with pytest.raises(ClassLabError) as refused:
            goals.enter_value(session, people["leader"], a, **values)
        assert refused.value.field == field, kwargs
    with pytest.raises(ClassLabError) as refused:
        goals.enter_value(session, people["leader"], a, indicator_key="math5_bagrut_mean", year=2027, term=1,
                          grade=12, value=140, students=20)
    assert "outside this indicator's range" in str(refused.value.detail)
    with pytest.raises(ClassLabError):
        goals.enter_value(session, people["leader"], a, indicator_key="nope", year=2027, term=1, grade=10)
    # A target for a school one does not lead: the city's leader sees school A but does not lead it.
    with pytest.raises(ClassLabError) as refused:
        goals.set_target(session, people["city_leader"], a, indicator_key="math5_share", year=2028, value=20)
    assert "You do not lead" in str(refused.value.detail)
    for kwargs in ({"value": 120}, {"value": 15, "baseline": 12, "baseline_year": 2029}, {"value": 15, "year": 1999}):
        with pytest.raises(ClassLabError):
            goals.set_target(session, people["leader"], a, indicator_key="math5_share", **{"year": 2028, **kwargs})
    with pytest.raises(ClassLabError):
        goals.add_step(session, people["leader"], a, kind="wish", title="x", owner="y", due_on="2027-01-01")
    with pytest.raises(ClassLabError):
        goals.add_step(session, people["leader"], a, kind="action", title="", owner="y", due_on="2027-01-01")
    with pytest.raises(ClassLabError):
        goals.add_step(session, people["leader"], a, kind="action", title="x", owner="y", due_on="tomorrow")
    session.rollback()
    assert session.scalar(select(func.count(Target.id))) == 1


def test_computed_indicators_count_cycles_meetings_and_mastery(app, session, people, world):
    from app.coaching import service as coaching
    from app.coaching.models import CoachingCycle

    link = builders.active_coach_link(session, people["leader"], people["coach"].email, people["teacher"])
    cycle = coaching.start_cycle(session, people["coach"], link.id, "שאלות פתוחות")
    session.commit()
    coaching.close_cycle(session, people["coach"], cycle.public_id)
    session.get(CoachingCycle, cycle.id).closed_at = datetime(2026, 11, 20, tzinfo=UTC)  # in term 1 of 2027
    session.commit()
    n = goals.compute_values(session, year=2027, term=1)
    session.commit()
    assert n >= 4  # two schools × (cycles, meetings), and mastery where students answered
    a, b = _area(session, world["a"]), _area(session, world["b"])

    def computed(area, key):
        return session.scalar(select(Value).where(Value.area_id == area.id, Value.indicator_key == key,
                                                  Value.year == 2027, Value.term == 1, Value.part == ""))

    assert computed(a, "coaching_cycles_closed").value == 1 and computed(a, "coaching_cycles_closed").grade == 0
    assert computed(b, "coaching_cycles_closed").value == 0
    assert computed(a, "plc_meetings_held").source == "computed"
    # Again: the same cells, replaced, never doubled.
    goals.compute_values(session, year=2027, term=1)
    session.commit()
    assert session.scalar(select(func.count(Value.id)).where(Value.indicator_key == "coaching_cycles_closed")) == 2
    with pytest.raises(ClassLabError):
        goals.compute_values(session, year=2027, term=3)


# ---------------------------------------------------------------------------------------------- who sees what


def test_who_sees_and_leads_what(session, people, world):
    def visible(user) -> set[str]:
        return {a.public_id for a in goals.areas(session, user)}

    every = {world[k] for k in ("a", "b", "city", "network", "institute")}
    assert visible(people["admin"]) == every
    assert visible(people["leader"]) == {world["a"]}
    assert visible(people["city_leader"]) == {world["city"], world["a"], world["b"]}
    assert visible(people["coach"]) == {world["a"]}
    assert visible(people["teacher"]) == set()
    for user, public_id in ((people["teacher"], world["a"]), (people["leader"], world["b"]),
                            (people["coach"], world["b"]), (people["leader"], world["city"])):
        with pytest.raises(NotVisible):
            goals.get_area(session, user, public_id)
    goals.get_area(session, people["city_leader"], world["a"], "import")
    with pytest.raises(ClassLabError):
        goals.get_area(session, people["coach"], world["a"], "lead")
    # The principal session: the coach and the principal; nobody else.
    for user in (people["teacher"], people["city_leader"], people["other_teacher"]):
        with pytest.raises(NotVisible):
            goals.get_session(session, user, world["session"])


def test_the_principal_coaching_log(session, people, world):
    leader, coach = people["leader"], people["coach"]
    # The principal prepares: the agenda and two charts to look at.
    goals.prepare(session, leader, world["session"], agenda="נתוני 5 יחידות; נשירה ממגמות",
                  data=[{"indicator": "math5_share"}, {"indicator": "math5_dropout"}])
    with pytest.raises(ClassLabError):
        goals.prepare(session, leader, world["session"], agenda="", data=[{"indicator": "nope"}])
    with pytest.raises(ClassLabError):  # the principal does not write the coach's log
        goals.record(session, leader, world["session"], notes="x")
    with pytest.raises(ClassLabError):  # an action without an owner: nothing recorded
        goals.record(session, coach, world["session"], notes="שיחה טובה",
                     actions=[{"text": "תגבור", "owner": "", "due": "2027-01-10"}])
    session.rollback()
    first = goals.record(session, coach, world["session"], notes="סיכמנו שתי פעולות.",
                         actions=[{"text": "תגבור לכיתות י'", "owner": "רכזת המתמטיקה", "due": "2027-01-10"},
                                  {"text": "שיחה עם הורים", "owner": "המנהלת", "due": "2027-01-20"}])
    session.commit()
    assert first.status == "held" and len(first.actions) == 2
    pair = goals.get_pair(session, coach, world["pair"])
    second = goals.plan_session(session, coach, pair.public_id, held_on=date(2027, 1, 25), agenda="מעקב")
    session.commit()
    earlier = goals.open_before(session, second)
    assert [a.text for a in earlier] == ["תגבור לכיתות י'", "שיחה עם הורים"]
    with pytest.raises(ClassLabError):
        goals.record(session, coach, second.public_id, notes="x", follow_ups={"nope": ("done", "")})
    session.rollback()
    second = session.get(PrincipalSession, second.id)
    goals.record(session, coach, second.public_id, notes="מעקב", follow_ups={
        earlier[0].public_id: ("done", "התחיל בינואר"), earlier[1].public_id: ("not_done", "נדחה")})
    session.commit()
    states = {a.text: (a.status, a.followed_up_in_id) for a in session.scalars(select(SessionAction))}
    assert states["תגבור לכיתות י'"] == ("done", second.id) and states["שיחה עם הורים"][0] == "not_done"
    assert goals.open_before(session, second)  # followed up here, so still listed here
    with pytest.raises(ClassLabError):  # no pairing twice
        goals.pair(session, people["admin"], coach_email=coach.email, principal_email=leader.email, year=2027)
    with pytest.raises(ClassLabError):  # a teacher is not a principal
        goals.pair(session, people["admin"], coach_email=coach.email, principal_email=people["teacher"].email,
                   year=2027)


# --------------------------------------------------------------------------------------------- pages and forms


def test_every_page_with_data_for_each_role(app, session, people, world):
    leader = signed_in(app, people["leader"].email, people["password"])
    leader.post("/language", data={"csrf_token": csrf_token(leader, "/dashboard"), "locale": "he"})
    page = _page(leader, "/goals/")
    assert world["a"] in page and 'dir="rtl"' in page
    page = _page(leader, f"/goals/areas/{world['a']}")
    assert "Tichon Alef" in page and 'id="indicator-math5_share"' in page and "<svg" in page
    page = _page(leader, f"/goals/areas/{world['a']}/indicators/math5_share?year=2027&term=1")
    assert 'id="grades"' in page and "hidden" not in page.split('id="grades"')[1].split("</table>")[0].lower()
    _page(leader, f"/goals/areas/{world['a']}/values")
    page = _page(leader, f"/goals/areas/{world['a']}/plan")
    assert "שיעורי תגבור לכיתות י'" in page
    page = _page(leader, f"/goals/sessions/{world['session']}")
    assert 'id="prepare"' in page and 'id="record"' not in page and "<svg" in page
    city = signed_in(app, people["city_leader"].email, people["password"])
    page = _page(city, f"/goals/areas/{world['city']}/indicators/math5_share?year=2027&term=1")
    assert 'id="school-table"' in page and 'class="suppressed"' in page and 'id="on-track"' in page
    page = _page(city, f"/goals/areas/{world['a']}/indicators/math5_share?year=2027&term=1")
    assert 'class="suppressed"' in page
    coach = signed_in(app, people["coach"].email, people["password"])
    page = _page(coach, f"/goals/sessions/{world['session']}")
    assert 'id="record"' in page
    _page(coach, "/goals/rounds")
    admin = signed_in(app, people["admin"].email, people["password"])
    page = _page(admin, f"/goals/areas/{world['institute']}/indicators/math5_share?year=2027&term=1")
    assert "Haifa" in page
    assert 'id="enrol"' in _page(admin, "/goals/") and 'id="new-round"' in _page(admin, "/goals/rounds")
    teacher = signed_in(app, people["teacher"].email, people["password"])
    assert teacher.get(f"/goals/areas/{world['a']}").status_code == 404
    assert teacher.get(f"/goals/sessions/{world['session']}").status_code == 404
    # The dashboards: the principal's and the coach's, with a recorded session's open action and the next session.
    goals.record(session, people["coach"], world["session"], notes="סיכום",
                 actions=[{"text": "תגבור לשכבה י'", "owner": "רכזת", "due": "2027-01-10"}])
    pair = goals.get_pair(session, people["coach"], world["pair"])
    goals.plan_session(session, people["coach"], pair.public_id, held_on=date(2099, 1, 5))
    session.commit()
    for who in (leader, signed_in(app, people["coach"].email, people["password"])):
        board = _page(who, "/dashboard").split('id="goals-panel"')[1].split("</section>")[0]
        assert "Tichon Alef" in board and "תגבור לשכבה י'" in board and "2099" in board


def _post(client, path: str, data: dict, form_page: str, **kw):
    answer = client.post(path, data={"csrf_token": csrf_token(client, form_page), **data}, follow_redirects=True,
                         **kw)
    assert answer.status_code == 200, (path, answer.status_code)
    return html.unescape(answer.get_data(as_text=True))


def test_the_area_forms_with_good_and_bad_input(app, session, people, world):
    leader = signed_in(app, people["leader"].email, people["password"])
    a = world["a"]
    values = f"/goals/areas/{a}/values"
    for bad, message in (({"indicator": "math5_share", "year": "2027", "term": "1", "grade": "10", "count": "9",
                           "students": "5"}, "A share needs whole numbers"),
                         ({"indicator": "math5_share", "year": "abc", "term": "1", "grade": "10"}, "whole number"),
                         ({"indicator": "math5_share", "year": "2027", "term": "7", "grade": "10", "count": "1",
                           "students": "20"}, "The term is 1, 2 or 3."),
                         ({"indicator": "zzz", "year": "2027", "term": "1", "grade": "10"}, "Choose one of the "
                                                                                            "indicators.")):
        assert message in _post(leader, values, bad, values)
    page = _post(leader, values, {"indicator": "math5_share", "year": "2027", "term": "2", "grade": "12",
                                  "count": "9", "students": "26"}, values)
    assert "The value is saved." in page
    # The import form: good, then a bad file that names its row and stores nothing.
    before = _values(session)
    page = _post(leader, f"{values}/import", {"encoding": "auto", "file": (io.BytesIO(
        b"school,year,term,grade,indicator,count,students\n480012,2027,2,11,math5_share,3,9\n"), "a.csv")}, values,
        content_type="multipart/form-data")
    assert "1 values imported." in page
    page = _post(leader, f"{values}/import", {"encoding": "auto", "file": (io.BytesIO(
        b"school,year,term,grade,indicator,count,students\n480012,2027,2,11,math5_share,30,9\n"), "b.csv")}, values,
        content_type="multipart/form-data")
    assert "Nothing was imported" in page and "row 1 (line 2)" in page
    assert _post(leader, f"{values}/import", {"encoding": "latin-1"}, values).count("Choose the CSV file") == 1
    session.expire_all()
    assert _values(session) == before + 1
    plan = f"/goals/areas/{a}/plan"
    assert "The target is set." in _post(leader, f"/goals/areas/{a}/targets", {
        "indicator": "math5_share", "year": "2029", "grade": "0", "value": "18", "baseline": "12",
        "baseline_year": "2025", "note": "יעד הרשת"}, plan)
    for bad, message in (({"value": "300"}, "A target is a value within"), ({"value": "x"}, "is a number"),
                         ({"value": "15", "baseline": "10", "baseline_year": "2030"}, "The baseline's year")):
        assert message in _post(leader, f"/goals/areas/{a}/targets", {"indicator": "math5_share", "year": "2029",
                                                                      "grade": "0", **bad}, plan)
    city = signed_in(app, people["city_leader"].email, people["password"])
    assert "You do not lead" in _post(city, f"/goals/areas/{a}/targets", {
        "indicator": "math5_share", "year": "2029", "value": "18"}, f"/goals/areas/{world['city']}/plan")
    assert "The step is on the roadmap." in _post(leader, f"/goals/areas/{a}/steps", {
        "kind": "milestone", "title": "חצי מהשכבה במגמה", "owner": "המנהלת", "due": "2027-06-30"}, plan)
    assert "is a date" in _post(leader, f"/goals/areas/{a}/steps", {
        "kind": "milestone", "title": "x", "owner": "y", "due": "soon"}, plan)
    page = _post(leader, f"/goals/steps/{world['step']}/status", {"status": "done"}, plan)
    assert "step-done" in page
    assert "open, done or dropped" in _post(leader, f"/goals/steps/{world['step']}/status", {"status": "x"}, plan)
    target = session.scalar(select(Target).where(Target.year == 2029))
    assert "The target is removed." in _post(leader, f"/goals/targets/{target.public_id}/delete", {}, plan)
    assert city.post(f"/goals/targets/{world['target']}/delete", data={
        "csrf_token": csrf_token(city, "/goals/")}).status_code in (302, 403, 404)
    session.expire_all()
    assert session.scalar(select(Target).where(Target.public_id == world["target"])) is not None


def test_the_programme_and_session_forms_with_good_and_bad_input(app, session, people, world):
    admin = signed_in(app, people["admin"].email, people["password"])
    home = "/goals/"
    assert "A school's code is its ministry code" in _post(admin, "/goals/areas", {
        "organization": str(people["orgs"]["b"].id), "code": "12"}, home)
    assert "Choose an organization." in _post(admin, "/goals/areas", {"organization": "999999"}, home)
    assert "takes part in the goals" in _post(admin, "/goals/areas", {
        "organization": str(people["orgs"]["b"].id), "code": "480099"}, home)
    assert "values computed" in _post(admin, "/goals/compute", {"year": "2027", "term": "1"}, home)
    assert "terms 1 and 2" in _post(admin, "/goals/compute", {"year": "2027", "term": "3"}, home)
    assert "is not the principal of a school" in _post(admin, "/goals/pairs", {
        "coach": people["coach"].email, "principal": people["teacher"].email, "year": "2027"}, home)
    assert "Nobody active has the e-mail address" in _post(admin, "/goals/pairs", {
        "coach": "nobody@x.example", "principal": people["leader"].email, "year": "2027"}, home)
    assert "already coaches" in _post(admin, "/goals/pairs", {
        "coach": people["coach"].email, "principal": people["leader"].email, "year": "2027"}, home)
    rounds = "/goals/rounds"
    assert "is planned" in _post(admin, rounds, {"year": "2027", "number": "2", "date": "2027-01-05",
                                                 "agenda": "סבב 2"}, rounds)
    assert "already planned" in _post(admin, rounds, {"year": "2027", "number": "2", "date": "2027-01-05"}, rounds)
    assert "is a date" in _post(admin, rounds, {"year": "2027", "number": "3", "date": "x"}, rounds)
    assert "The group meeting is recorded." in _post(admin, f"/goals/rounds/{world['round']}/record", {
        "notes": "עברנו על נתוני הסבב", "present": str(people["coach"].id)}, rounds)
    assert "coaches of that year only" in _post(admin, f"/goals/rounds/{world['round']}/record", {
        "notes": "", "present": str(people["teacher"].id)}, rounds)

    coach = signed_in(app, people["coach"].email, people["password"])
    leader = signed_in(app, people["leader"].email, people["password"])
    page_path = f"/goals/sessions/{world['session']}"
    assert "The session is prepared." in _post(leader, f"{page_path}/prepare", {
        "agenda": "נתונים ותגבור", "data": ["math5_share", "physics_share"], "date": "2026-12-11"}, page_path)
    assert "Choose one of the indicators." in _post(leader, f"{page_path}/prepare", {
        "agenda": "x", "data": ["nope"]}, page_path)
    assert "Fill in" in _post(coach, f"{page_path}/record", {"notes": ""}, page_path)
    assert "Action 1: give what, who and by when." in _post(coach, f"{page_path}/record", {
        "notes": "x", "action-1": "תגבור"}, page_path)
    assert "is a date" in _post(coach, f"{page_path}/record", {
        "notes": "x", "action-1": "תגבור", "owner-1": "רכזת", "due-1": "soon"}, page_path)
    page = _post(coach, f"{page_path}/record", {"notes": "סיכום", "action-1": "תגבור", "owner-1": "רכזת",
                                                "due-1": "2027-01-10"}, page_path)
    assert "The session is recorded." in page and "תגבור" in page
    pair_page = _post(coach, f"/goals/pairs/{world['pair']}/sessions", {"date": "2027-01-20", "agenda": "מעקב"},
                      home)
    assert "Session 2 is planned." in pair_page and "תגבור" in pair_page  # the open action, to follow up
    assert "is a date" in _post(coach, f"/goals/pairs/{world['pair']}/sessions", {"date": ""}, home)
    assert leader.post(f"{page_path}/record", data={"csrf_token": csrf_token(leader, page_path), "notes": "x"},
                       follow_redirects=True).status_code in (200, 403)
    session.expire_all()
    assert session.scalar(select(PrincipalSession).where(PrincipalSession.public_id == world["session"])
                          ).notes == "סיכום"


def test_reports_csv_and_pdf(app, session, people, world):
    city = signed_in(app, people["city_leader"].email, people["password"])
    answer = city.get(f"/goals/areas/{world['a']}/report.csv?indicator=math5_share")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    text = answer.get_data(as_text=True)
    rows = [line.split(",") for line in text.strip().splitlines()[1:]]
    eleven = next(r for r in rows if r[2] == "2027" and r[3] == "1" and r[4] == "11")
    assert eleven[5] == "" and eleven[7] == "yes"  # hidden in the file too
    answer = city.get(f"/goals/areas/{world['city']}/report.pdf")
    assert answer.status_code == 200 and answer.data.startswith(b"%PDF")
    from pypdf import PdfReader

    pages = "".join(p.extract_text() for p in PdfReader(io.BytesIO(answer.data)).pages)
    assert "Haifa" in pages


# ---------------------------------------------------------------------------------------------- API and export


def test_the_api(app, session, people, world):
    client = app.test_client()
    leader, coach = bearer(session, people["leader"]), bearer(session, people["coach"])
    admin = bearer(session, people["admin"])
    keys = {i["key"] for i in client.get("/api/v1/goals/indicators", headers=leader).json}
    assert {"math5_share", "diagnostic_mastery"} <= keys
    assert [a["id"] for a in client.get("/api/v1/goals/areas", headers=leader).json] == [world["a"]]
    summary = client.get(f"/api/v1/goals/areas/{world['a']}", headers=leader).json
    row = next(r for r in summary["indicators"] if r["indicator"] == "math5_share")
    assert row["latest"]["value"] == pytest.approx(100 * 16 / 63, abs=1e-3) and row["target"]["value"] == 16
    trend = client.get(f"/api/v1/goals/areas/{world['a']}/indicators/math5_share",
                       headers=bearer(session, people["city_leader"])).json
    assert trend["grades"]["parts"]["11"]["suppressed"] is True and len(trend["series"]) == 2
    made = client.post(f"/api/v1/goals/areas/{world['a']}/values", headers=leader, json={
        "indicator": "math5_share", "year": 2027, "term": 2, "grade": 10, "count": 7, "students": 30})
    assert made.status_code == 201 and made.json["value"] == pytest.approx(100 * 7 / 30)
    bad = client.post(f"/api/v1/goals/areas/{world['a']}/values", headers=leader, json={
        "indicator": "math5_share", "year": 2027, "term": 2, "grade": 10, "count": 70, "students": 30})
    assert bad.status_code == 422
    imported = client.post(f"/api/v1/goals/areas/{world['institute']}/imports?filename=x.csv", headers={
        **admin, "Content-Type": "text/csv"}, data=GOOD_CSV.encode())
    assert imported.status_code == 201 and imported.json["rows"] == 3
    refused = client.post(f"/api/v1/goals/areas/{world['institute']}/imports", headers={
        **admin, "Content-Type": "text/csv"}, data=b"school\n1\n")
    assert refused.status_code == 422 and "missing" in refused.json["detail"].lower()
    assert client.post(f"/api/v1/goals/areas/{world['a']}/targets", headers=bearer(session, people["city_leader"]),
                       json={"indicator": "math5_share", "year": 2029, "value": 20}).status_code == 422
    assert client.post(f"/api/v1/goals/areas/{world['a']}/targets", headers=leader, json={
        "indicator": "math5_share", "year": 2029, "value": 20}).status_code == 201
    pairs = client.get("/api/v1/goals/principal-coaching", headers=coach).json
    assert pairs[0]["id"] == world["pair"] and pairs[0]["sessions"][0]["id"] == world["session"]
    recorded = client.post(f"/api/v1/goals/sessions/{world['session']}/record", headers=coach, json={
        "notes": "סיכום", "actions": [{"text": "תגבור", "owner": "רכזת", "due": "2027-01-10"}]})
    assert recorded.status_code == 200 and recorded.json["status"] == "held"
    planned = client.post(f"/api/v1/goals/principal-coaching/{world['pair']}/sessions", headers=leader, json={
        "date": "2027-01-20", "data": [{"indicator": "math5_share"}]})
    assert planned.status_code == 201 and planned.json["number"] == 2
    assert client.get(f"/api/v1/goals/sessions/{world['session']}",
                      headers=bearer(session, people["teacher"])).status_code == 404
    assert client.get(f"/api/v1/goals/areas/{world['b']}", headers=leader).status_code == 404
    assert session.scalar(select(func.count(ValueImport.id))) == 1


def test_the_data_export_holds_the_coaching_log(app, session, people, world):
    from app.export import service as exports

    goals.record(session, people["coach"], world["session"], notes="סיכום",
                 actions=[{"text": "תגבור", "owner": "רכזת", "due": "2027-01-10"}])
    session.commit()
    store, settings = app.extensions["classlab.storage"], app.extensions["classlab.settings"]
    found = exports.request_export(session, people["leader"])
    session.commit()
    exports.build_export(session, store, found.id, work_folder=settings.work_folder)
    session.commit()
    with zipfile.ZipFile(io.BytesIO(b"".join(store.stream(found.key)))) as archive:
        data = json.loads(archive.read("goals/goals.json"))
    assert data["principal_sessions"][0]["role"] == "principal"
    assert data["principal_sessions"][0]["sessions"][0]["actions"][0]["text"] == "תגבור"
    assert data["steps"][0]["title"] == "שיעורי תגבור לכיתות י'"


# The authorization matrix of goals: every role × object × action through authz.may, and reading through the API
# and the page (404 to whoever may not see it, as for an id that does not exist).
MATRIX_ROLES = ("admin", "leader", "city_leader", "coach", "teacher", "other_teacher", "anonymous")
MATRIX = {
    ("a", "view"): {"admin", "leader", "city_leader", "coach"},
    ("a", "lead"): {"admin", "leader"},
    ("a", "import"): {"admin", "leader", "city_leader"},
    ("b", "view"): {"admin", "city_leader"},
    ("b", "lead"): {"admin"},
    ("b", "import"): {"admin", "city_leader"},
    ("city", "view"): {"admin", "city_leader"},
    ("city", "lead"): {"admin", "city_leader"},
    ("city", "import"): {"admin", "city_leader"},
    ("target", "view"): {"admin", "leader", "city_leader", "coach"},
    ("target", "edit"): {"admin", "leader"},
    ("session", "view"): {"admin", "leader", "coach"},
    ("session", "prepare"): {"admin", "leader", "coach"},
    ("session", "record"): {"admin", "coach"},
}


@pytest.mark.parametrize("role", MATRIX_ROLES)
def test_the_goals_authorization_matrix(app, session, people, world, role):
    from app import authz

    objects = {"a": _area(session, world["a"]), "b": _area(session, world["b"]),
               "city": _area(session, world["city"]),
               "target": session.scalar(select(Target).where(Target.public_id == world["target"])),
               "session": session.scalar(select(PrincipalSession).where(PrincipalSession.public_id ==
                                                                         world["session"]))}
    user = None if role == "anonymous" else people[role]
    wrong = [f"{role} {action} {name}: expected {role in allowed}"
             for (name, action), allowed in MATRIX.items()
             if bool(user is not None and authz.may(user, action, objects[name])) is not (role in allowed)]
    client = app.test_client()
    headers = bearer(session, user) if user is not None else {}
    page = signed_in(app, user.email, people["password"]) if user is not None else app.test_client()
    for name, api, web in (("a", f"/api/v1/goals/areas/{world['a']}", f"/goals/areas/{world['a']}"),
                           ("b", f"/api/v1/goals/areas/{world['b']}", f"/goals/areas/{world['b']}"),
                           ("city", f"/api/v1/goals/areas/{world['city']}", f"/goals/areas/{world['city']}"),
                           ("session", f"/api/v1/goals/sessions/{world['session']}",
                            f"/goals/sessions/{world['session']}")):
        sees = role in MATRIX[(name, "view")]
        answer = client.get(api, headers=headers).status_code
        if answer != (200 if sees else 401 if user is None else 404):
            wrong.append(f"api {role} view {name}: {answer}")
        answer = page.get(web).status_code
        if answer != (200 if sees else 302 if user is None else 404):
            wrong.append(f"page {role} view {name}: {answer}")
    assert not wrong, "\n".join(wrong)
