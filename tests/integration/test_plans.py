"""Learning plans end to end: the activity library, drafting from results, edits and their record, group plans,
re-assessment, sharing with the coach, and the pages."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from app.diagnostics import service as diagnostics
from app.errors import InvalidInput, NotVisible
from app.plans import activityfile
from app.plans import service as plans
from app.plans.models import LearningPlan, PlanChange
from tests import builders

TODAY = dt.date.today()
# The answers of comparing-and-adding-fractions that reveal each misconception (two each: enough to hold it).
REVEALING = {
    "larger-denominator-larger": {"frac-compare-same-numerator": "B", "frac-order-unit": "A"},
    "add-numerators-denominators": {"frac-add-unlike": "A", "frac-add-decimal": "0.3333"},
    "multiplication-makes-bigger": {"div-by-half": "A", "cheese-cost": "20"},
}


@pytest.fixture
def library(session):
    builders.starter_bank(session)
    report = plans.import_library(session)
    session.commit()
    return report


@pytest.fixture
def klass(session, people, library):
    return builders.diagnostic_class(session, people["teacher"], "ז'2", students=(
        ("S01", "נועה"), ("S02", "سامي"), ("S03", "Dana"), ("S04", None)))


def answer(session, teacher, assignment, answers_by_code: dict[str, list[str]]):
    """Each student (by code) answers so as to reveal these misconceptions; other items are left blank."""
    items = {ai.item.key: ai.item.id for ai in assignment.items}
    students = {s.code: s.id for s in assignment.class_group.students}
    grid = {}
    for code, held in answers_by_code.items():
        for key in held:
            for item, value in REVEALING[key].items():
                grid[students[code], items[item]] = value
    diagnostics.teacher_grid(session, teacher, assignment.public_id, grid)
    session.commit()


@pytest.fixture
def result(session, people, klass):
    assignment = builders.open_assignment(session, people["teacher"], klass)
    answer(session, people["teacher"], assignment, {
        "S01": ["add-numerators-denominators", "larger-denominator-larger"],
        "S02": ["add-numerators-denominators", "multiplication-makes-bigger"],
        "S03": ["add-numerators-denominators"],
    })
    return assignment


def test_the_starter_library_has_two_activities_per_misconception_in_three_languages(session, library):
    assert library.added == 48 and library.prerequisites >= 10
    known = set(diagnostics.misconceptions(session))
    for key in known:
        found = plans.activities(session, key)
        assert len(found) >= 2, key
        assert len({a.kind for a in found}) >= 2, key
    for activity in plans.activities(session):
        for name in ("title", "materials", "look_for"):
            assert set(activity.spec[name]) == {"en", "he", "ar"}
        assert all(set(step) == {"en", "he", "ar"} for step in activity.spec["steps"])
    again = plans.import_library(session)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 48)


def test_an_activity_file_naming_an_unknown_misconception_is_refused_with_file_line_and_field(session, library,
                                                                                              tmp_path):
    text = Path(plans.LIBRARY / "starter.yaml").read_text(encoding="utf-8")
    broken = text.replace("misconceptions: [larger-denominator-larger]", "misconceptions: [larger-denominators]", 1)
    line = broken.splitlines().index("    misconceptions: [larger-denominators]") + 1
    (tmp_path / "starter.yaml").write_text(broken, encoding="utf-8")
    with pytest.raises(activityfile.ActivityFileError) as caught:
        plans.import_library(session, tmp_path)
    assert caught.value.lines == [f"starter.yaml:{line}: activity 'fractions-folding-strips': misconceptions[1]: "
                                  "unknown misconception 'larger-denominators'"]
    session.rollback()
    assert len(plans.activities(session)) == 48  # nothing half-saved


def test_goals_follow_the_prerequisites_most_fundamental_first():
    pairs = [("larger-denominator-larger", "add-numerators-denominators"), ("a", "b"), ("b", "c")]
    assert plans.order_goals(["add-numerators-denominators", "larger-denominator-larger"], pairs) == [
        "larger-denominator-larger", "add-numerators-denominators"]
    # through a misconception the student does not hold
    assert plans.order_goals(["c", "x", "a"], pairs) == ["x", "a", "c"]
    assert plans.order_goals(["x", "y"], pairs) == ["x", "y"]


def test_a_draft_has_one_goal_per_misconception_held_with_activities_evidence_and_an_unseen_check_item(
        session, people, klass, result):
    teacher = people["teacher"]
    s01 = next(s for s in klass.students if s.code == "S01")
    plan = plans.draft_for_student(session, teacher, s01.id, today=TODAY)
    session.commit()
    assert [g.misconception for g in plan.goals] == ["larger-denominator-larger", "add-numerators-denominators"]
    first = plan.goals[0]
    assert [(a["item"], a["value"], a["question"]) for a in first.evidence["answers"]] == [
        ("frac-compare-same-numerator", "B", 1), ("frac-order-unit", "A", 2)]
    assert len(first.activities) == 2
    assert all("larger-denominator-larger" in plans.activities_by_key(session)[a.activity_key].misconceptions
               for a in first.activities)
    seen = {ai.item.key for ai in result.items}
    for goal in plan.goals:
        assert goal.check_item and goal.check_item not in seen
    assert plan.target_date == TODAY + dt.timedelta(weeks=4)
    assert plan.title == "נועה" and plan.kind == "student" and plan.assignment_id == result.id
    assert [c.what for c in plan.changes] == ["drafted"]
    # drafting again from the same result keeps the plan
    assert plans.draft_for_student(session, teacher, s01.id, today=TODAY).id == plan.id


def test_drafting_for_the_class_reports_who_has_no_result_and_who_holds_nothing(session, people, klass, result):
    report = plans.draft_for_class(session, people["teacher"], klass.id, today=TODAY)
    session.commit()
    assert sorted(p.title for p in report.plans) == ["Dana", "נועה", "سامي"]
    assert [s.code for s in report.without_results] == ["S04"]
    again = plans.draft_for_class(session, people["teacher"], klass.id, today=TODAY)
    assert not again.plans and len(again.kept) == 3


def test_bad_drafts_are_refused_clearly_and_nothing_is_saved(session, people, klass, result):
    teacher = people["teacher"]
    s04 = next(s for s in klass.students if s.code == "S04")
    with pytest.raises(InvalidInput, match="no submitted diagnostic"):
        plans.draft_for_student(session, teacher, s04.id)
    s01 = next(s for s in klass.students if s.code == "S01")
    with pytest.raises(InvalidInput, match="in the past") as caught:
        plans.draft_for_student(session, teacher, s01.id, target_date=TODAY - dt.timedelta(days=1), today=TODAY)
    assert caught.value.field == "target_date"
    with pytest.raises(InvalidInput, match="like 2027-01-31"):
        plans.draft_for_class(session, teacher, klass.id, target_date="next friday")
    with pytest.raises(NotVisible):  # another teacher's class
        plans.draft_for_class(session, people["other_teacher"], klass.id)
    with pytest.raises(NotVisible):
        plans.draft_for_student(session, people["other_teacher"], s01.id)
    session.rollback()
    assert session.query(LearningPlan).count() == 0


def test_edits_are_recorded_with_who_and_when_and_bad_edits_change_nothing(session, people, klass, result):
    teacher = people["teacher"]
    s01 = next(s for s in klass.students if s.code == "S01")
    plan = plans.draft_for_student(session, teacher, s01.id, today=TODAY)
    session.commit()
    goal = plan.goals[0]
    plans.edit_plan(session, teacher, plan.public_id, title="Noa — fractions", target_date=TODAY + dt.timedelta(7),
                    today=TODAY)
    plans.set_goal(session, teacher, plan.public_id, goal.id, note="Start with the strips.")
    added = plans.add_activity(session, teacher, plan.public_id, goal.id, "fractions-number-line-placing"
                               if "fractions-number-line-placing" in plans.activities_by_key(session)
                               else _another_activity(session, goal), day=TODAY.isoformat())
    plans.update_activity(session, teacher, plan.public_id, goal.activities[0].id, done=True)
    plans.record_check(session, teacher, plan.public_id, goal.id, "correct")
    session.commit()
    whats = [c.what for c in session.query(PlanChange).filter_by(plan_id=plan.id).order_by(PlanChange.id)]
    assert whats == ["drafted", "title", "target_date", "goal_note", "activity_added", "activity_done",
                     "check_result"]
    change = session.query(PlanChange).filter_by(plan_id=plan.id, what="target_date").one()
    assert change.actor_id == teacher.id and change.after == (TODAY + dt.timedelta(7)).isoformat()
    assert added.day == TODAY
    for call, field in [
        (lambda: plans.add_activity(session, teacher, plan.public_id, goal.id, "no-such-activity"), "activity"),
        (lambda: plans.edit_plan(session, teacher, plan.public_id, target_date="2001-01-01"), "target_date"),
        (lambda: plans.set_goal(session, teacher, plan.public_id, goal.id, status="done"), "status"),
        (lambda: plans.record_check(session, teacher, plan.public_id, goal.id, "maybe"), "result"),
        (lambda: plans.update_activity(session, teacher, plan.public_id, added.id,
                                       day=(TODAY + dt.timedelta(30)).isoformat()), "day"),
        (lambda: plans.edit_plan(session, teacher, plan.public_id, title="  "), "title"),
    ]:
        with pytest.raises(InvalidInput) as caught:
            call()
        assert caught.value.field == field
        session.rollback()
    assert session.query(PlanChange).filter_by(plan_id=plan.id).count() == 7
    with pytest.raises(NotVisible):
        plans.set_goal(session, teacher, plan.public_id, 2**31 - 1, note="x")


def _another_activity(session, goal):
    used = {a.activity_key for a in goal.activities}
    return next(a.key for a in plans.activities(session) if a.key not in used)


def test_group_plans_gather_students_who_share_a_misconception(session, people, klass, result):
    groups = plans.draft_groups(session, people["teacher"], klass.id, today=TODAY)
    session.commit()
    shared = [(p.goals[0].misconception, sorted(s.code for s in p.students)) for p in groups]
    assert ("add-numerators-denominators", ["S01", "S02", "S03"]) in shared
    plan = next(p for p in groups if p.goals[0].misconception == "add-numerators-denominators")
    assert {a["student"] for a in plan.goals[0].evidence["answers"]} == {"S01", "S02", "S03"}
    assert len(plans.draft_groups(session, people["teacher"], klass.id, today=TODAY)) == len(groups)
    assert session.query(LearningPlan).filter_by(kind="group").count() == len(groups)


def test_a_newer_result_sets_each_goal_to_met_partly_or_not_yet(session, people, klass, result):
    teacher = people["teacher"]
    report = plans.draft_for_class(session, teacher, klass.id, today=TODAY)
    session.commit()
    later = builders.open_assignment(session, teacher, klass, title="Again")
    later.closes_at = result.closes_at + dt.timedelta(days=1)
    items = {ai.item.key: ai.item.id for ai in later.items}
    codes = {s.code: s.id for s in klass.students}
    grid = {
        # S01: answers the fractions items correctly now; still adds numerators on both
        (codes["S01"], items["frac-compare-same-numerator"]): "A", (codes["S01"], items["frac-order-unit"]): "B",
        (codes["S01"], items["frac-add-unlike"]): "A", (codes["S01"], items["frac-add-decimal"]): "0.3333",
        # S03: reveals it once only
        (codes["S03"], items["frac-add-unlike"]): "A", (codes["S03"], items["frac-add-decimal"]): "0.5333",
    }
    diagnostics.teacher_grid(session, teacher, later.public_id, grid)
    session.commit()
    changed = plans.reassess(session, teacher, klass.id)
    session.commit()
    assert len(changed) == 2  # S02 has no newer result
    by_title = {p.title: {g.misconception: g.status for g in p.goals} for p in report.plans}
    assert by_title["נועה"] == {"larger-denominator-larger": "met", "add-numerators-denominators": "not_yet"}
    assert by_title["Dana"] == {"add-numerators-denominators": "partly"}
    assert by_title["سامي"] == {"add-numerators-denominators": "working", "multiplication-makes-bigger": "working"}
    assert plans.goals_met(report.plans)["met"] == 1


def test_the_coach_reads_a_plan_only_while_it_is_shared_and_never_changes_it(session, people, klass, result):
    teacher, coach = people["teacher"], people["coach"]
    builders.active_coach_link(session, people["admin"], coach.email, teacher)
    s01 = next(s for s in klass.students if s.code == "S01")
    plan = plans.draft_for_student(session, teacher, s01.id, today=TODAY)
    session.commit()
    with pytest.raises(NotVisible):
        plans.get_plan(session, coach, plan.public_id)
    assert plans.plans_shared_with(session, coach) == []
    plans.share_with_coach(session, teacher, plan.public_id, True)
    session.commit()
    assert plans.get_plan(session, coach, plan.public_id).id == plan.id
    assert [p.id for p in plans.plans_shared_with(session, coach)] == [plan.id]
    with pytest.raises(Exception) as caught:
        plans.edit_plan(session, coach, plan.public_id, title="mine")
    assert getattr(caught.value, "status", None) == 403
    for stranger in (people["other_teacher"], people["leader"]):
        with pytest.raises(NotVisible):
            plans.get_plan(session, stranger, plan.public_id)
        assert plans.plans_shared_with(session, stranger) == []


# ------------------------------------------------------------------------------------------------ the pages


def _page(response) -> str:
    return response.get_data(as_text=True)


def test_the_teacher_drafts_edits_and_prints_plans_through_the_pages_and_bad_input_is_refused(
        app, session, people, klass, result):
    from tests.web import csrf_token, signed_in

    client = signed_in(app, people["teacher"].email, people["password"])
    token = csrf_token(client, f"/plans/classes/{klass.id}")
    page = _page(client.get(f"/plans/classes/{klass.id}"))
    assert 'id="draft-form"' in page and "No plan yet" in page
    s01 = next(s for s in klass.students if s.code == "S01")
    results = _page(client.get(f"/diagnostics/assignments/{result.public_id}"))
    assert f'href="/plans/students/{s01.id}?misconception=larger-denominator-larger"' in results
    assert f'href="/plans/classes/{klass.id}"' in results
    # bad target dates: refused with the reason, nothing drafted
    for bad, reason in (("2001-01-01", "in the past"), ("soon", "like 2027-01-31")):
        answer = client.post(f"/plans/classes/{klass.id}/draft", data={"target_date": bad, "csrf_token": token},
                             follow_redirects=True)
        assert answer.status_code == 200 and reason in _page(answer)
    assert session.query(LearningPlan).count() == 0
    drafted = client.post(f"/plans/classes/{klass.id}/draft",
                          data={"target_date": (TODAY + dt.timedelta(21)).isoformat(), "csrf_token": token},
                          follow_redirects=True)
    page = _page(drafted)
    assert "3 plans drafted." in page and "No submitted diagnostic yet, so no plan: S04." in page
    assert "נועה" in page and "Adding the numerators and adding the denominators" in page
    plan = session.query(LearningPlan).filter_by(title="נועה").one()
    page = _page(client.get(f"/plans/{plan.public_id}"))
    assert 'id="goal-larger-denominator-larger"' in page and "Rehearse responding to this misconception" in page
    assert page.index("goal-larger-denominator-larger") < page.index("goal-add-numerators-denominators")
    goal = plan.goals[0]
    for url, data, reason in (
        (f"/plans/{plan.public_id}/edit", {"title": "", "target_date": ""}, "Give the plan a title"),
        (f"/plans/{plan.public_id}/edit", {"title": "x", "target_date": "2001-01-01"}, "in the past"),
        (f"/plans/{plan.public_id}/goals/{goal.id}", {"status": "finished"}, "Unknown goal status"),
        (f"/plans/{plan.public_id}/goals/{goal.id}/activities", {"activity": "nope"}, "no activity"),
        (f"/plans/{plan.public_id}/goals/{goal.id}/activities", {"activity": goal.activities[0].activity_key},
         "already part of the goal"),
        (f"/plans/{plan.public_id}/goals/{goal.id}/check", {"result": "perhaps"}, "correct or incorrect"),
        (f"/plans/{plan.public_id}/activities/{goal.activities[0].id}", {"day": "31/12/2099"}, "like 2027-01-31"),
    ):
        answer = client.post(url, data={**data, "csrf_token": token}, follow_redirects=True)
        assert answer.status_code == 200 and reason in _page(answer), (url, data)
    assert [c.what for c in session.query(PlanChange).filter_by(plan_id=plan.id)] == ["drafted"]
    # good edits
    assert client.post(f"/plans/{plan.public_id}/edit", data={"title": "Noa", "target_date": "",
                                                              "csrf_token": token}).status_code == 302
    assert client.post(f"/plans/{plan.public_id}/goals/{goal.id}",
                       data={"status": "partly", "note": "Strips helped.", "csrf_token": token}).status_code == 302
    assert client.post(f"/plans/{plan.public_id}/activities/{goal.activities[0].id}",
                       data={"done": "1", "day": TODAY.isoformat(), "csrf_token": token}).status_code == 302
    assert client.post(f"/plans/{plan.public_id}/share", data={"shared": "1", "csrf_token": token}).status_code == 302
    page = _page(client.get(f"/plans/{plan.public_id}"))
    assert "Strips helped." in page and "Record of changes" in page and "Shared with the coach" in page
    week = _page(client.get(f"/plans/classes/{klass.id}/week?from={TODAY.isoformat()}"))
    assert f'id="day-{TODAY.isoformat()}"' in week and f"activity-{goal.activities[0].id}" in week
    assert client.get(f"/plans/classes/{klass.id}/week?from=garbage").status_code == 200
    # a heatmap cell's link goes to the plan with that goal
    jump = client.get(f"/plans/students/{s01.id}?misconception=add-numerators-denominators")
    assert jump.status_code == 302 and plan.public_id in jump.headers["Location"]
    # printable page and PDF in the class's language
    printed = _page(client.get(f"/plans/{plan.public_id}/print?lang=he"))
    assert '<html lang="he" dir="rtl">' in printed and "חיבור המונים וחיבור המכנים" in printed
    pdf = client.get(f"/plans/{plan.public_id}/plan.pdf?lang=he")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    # another teacher: nothing of it
    other = signed_in(app, people["other_teacher"].email, people["password"])
    for url in (f"/plans/{plan.public_id}", f"/plans/{plan.public_id}/print", f"/plans/{plan.public_id}/plan.pdf",
                f"/plans/classes/{klass.id}", f"/plans/students/{s01.id}"):
        assert other.get(url).status_code == 404, url
    assert other.post(f"/plans/{plan.public_id}/edit", data={
        "title": "mine", "csrf_token": csrf_token(other, "/plans/")}).status_code == 404
    assert other.post(f"/plans/classes/{klass.id}/draft", data={
        "csrf_token": csrf_token(other, "/plans/")}).status_code == 404
    # A teacher reading in Hebrew sees the answer as the class's students saw it: ב, not B.
    client.post("/language", data={"locale": "he", "next": "/dashboard", "csrf_token": token})
    assert "<bdi>ב</bdi>" in _page(client.get(f"/plans/{plan.public_id}"))


def test_drafting_one_student_from_the_page_and_a_student_without_results(app, session, people, klass, result):
    from tests.web import csrf_token, signed_in

    client = signed_in(app, people["teacher"].email, people["password"])
    token = csrf_token(client, "/plans/")
    s04 = next(s for s in klass.students if s.code == "S04")
    refused = client.post(f"/plans/students/{s04.id}", data={"csrf_token": token}, follow_redirects=True)
    assert refused.status_code == 200 and "has no submitted diagnostic yet" in _page(refused)
    s02 = next(s for s in klass.students if s.code == "S02")
    made = client.post(f"/plans/students/{s02.id}", data={"csrf_token": token, "target_date": ""})
    assert made.status_code == 302 and "/plans/" in made.headers["Location"]
    assert client.get(f"/plans/students/{2**31}").status_code == 404
    groups = client.post(f"/plans/classes/{klass.id}/groups", data={"csrf_token": token}, follow_redirects=True)
    assert "group plan" in _page(groups)
    assert client.post(f"/plans/classes/{klass.id}/reassess", data={"csrf_token": token},
                       follow_redirects=True).status_code == 200


def test_the_plans_are_in_the_teachers_data_export_and_nobody_elses(app, session, people, klass, result):
    import io
    import json
    import zipfile

    from app.export import service as exports

    teacher = people["teacher"]
    plans.draft_for_class(session, teacher, klass.id, today=TODAY)
    session.commit()
    plan = session.query(LearningPlan).filter_by(title="נועה").one()
    plans.set_goal(session, teacher, plan.public_id, plan.goals[0].id, note="Strips helped.")
    session.commit()
    store, settings = app.extensions["classlab.storage"], app.extensions["classlab.settings"]
    archives = {}
    for who in ("teacher", "colleague"):
        found = exports.request_export(session, people[who])
        session.commit()
        exports.build_export(session, store, found.id, work_folder=settings.work_folder)
        session.commit()
        archives[who] = zipfile.ZipFile(io.BytesIO(b"".join(store.stream(found.key))))
    exported = json.loads(archives["teacher"].read("plans/plans.json"))
    noa = next(p for p in exported if p["title"] == "נועה")
    assert [g["misconception"] for g in noa["goals"]] == ["larger-denominator-larger", "add-numerators-denominators"]
    assert noa["goals"][0]["note"] == "Strips helped." and noa["students"] == [{"code": "S01", "name": "נועה"}]
    assert [c["what"] for c in noa["changes"]] == ["drafted", "goal_note"]
    assert "plans/plans.json" not in archives["colleague"].namelist()


# role -> what it may do with the teacher's plan, before and after the teacher shares it with the coach
MATRIX_ROLES = ("teacher", "coach", "colleague", "other_teacher", "leader", "city_leader", "admin", "facilitator")


@pytest.mark.parametrize("shared", [False, True])
def test_the_plan_authorization_matrix_through_pages_and_api(app, session, people, klass, result, shared):
    from tests.web import bearer, csrf_token, signed_in

    teacher = people["teacher"]
    builders.active_coach_link(session, people["admin"], people["coach"].email, teacher)
    s01 = next(s for s in klass.students if s.code == "S01")
    plan = plans.draft_for_student(session, teacher, s01.id, today=TODAY)
    plans.share_with_coach(session, teacher, plan.public_id, shared)
    session.commit()
    readers = {"teacher", "coach"} if shared else {"teacher"}
    for role in MATRIX_ROLES:
        client = signed_in(app, people[role].email, people["password"])
        token = csrf_token(client, "/plans/")
        api = bearer(session, people[role])
        reads = role in readers
        for url in (f"/plans/{plan.public_id}", f"/plans/{plan.public_id}/print", f"/plans/{plan.public_id}/plan.pdf"):
            assert client.get(url).status_code == (200 if reads else 404), (role, url)
        assert app.test_client().get(f"/api/v1/plans/{plan.public_id}", headers=api).status_code == (
            200 if reads else 404), role
        listed = [p.public_id for p in plans.plans_shared_with(session, people[role])]
        assert (plan.public_id in listed) == (role == "coach" and shared), role
        edited = client.post(f"/plans/{plan.public_id}/edit", data={"title": f"by {role}", "csrf_token": token})
        assert edited.status_code == (302 if role == "teacher" else 403 if reads else 404), role
        patched = app.test_client().patch(f"/api/v1/plans/{plan.public_id}", json={"title": f"api {role}"},
                                          headers=api)
        assert patched.status_code == (200 if role == "teacher" else 403 if reads else 404), role
        assert client.get(f"/plans/classes/{klass.id}").status_code == (200 if role == "teacher" else 404), role
    session.expire_all()
    assert session.get(LearningPlan, plan.id).title == "api teacher"
    # Signed out, and a student signed in with the class code: the sign-in page, never the plan.
    anonymous = app.test_client()
    for url in (f"/plans/{plan.public_id}", f"/plans/{plan.public_id}/plan.pdf"):
        assert anonymous.get(url).status_code in (302, 401)
    assert anonymous.get(f"/api/v1/plans/{plan.public_id}").status_code == 401
    student = app.test_client()
    entered = student.post("/s/", data={"class_code": klass.code, "student_code": "S02",
                                        "csrf_token": csrf_token(student, "/s/")})
    assert entered.status_code == 302 and entered.headers["Location"].endswith("/s/home")
    assert student.get(f"/plans/{plan.public_id}").status_code in (302, 401)
    assert "נועה" not in student.get("/s/home").get_data(as_text=True)


def test_the_dashboards_show_plans_due_and_plans_shared_with_the_coach(app, session, people, klass, result):
    from tests.web import signed_in

    teacher, coach = people["teacher"], people["coach"]
    builders.active_coach_link(session, people["admin"], coach.email, teacher)
    s01 = next(s for s in klass.students if s.code == "S01")
    soon = plans.draft_for_student(session, teacher, s01.id, target_date=TODAY + dt.timedelta(days=3), today=TODAY)
    s02 = next(s for s in klass.students if s.code == "S02")
    later = plans.draft_for_student(session, teacher, s02.id, target_date=TODAY + dt.timedelta(days=60), today=TODAY)
    plans.set_goal(session, teacher, soon.public_id, soon.goals[0].id, status="met")
    plans.share_with_coach(session, teacher, later.public_id, True)
    session.commit()
    page = signed_in(app, teacher.email, people["password"]).get("/dashboard").get_data(as_text=True)
    panel = page[page.index('id="plans-panel"'):]
    panel = panel[:panel.index("</section>")]
    assert f"/plans/{soon.public_id}" in panel and "1 of 2 goals met" in panel
    assert f"/plans/{later.public_id}" not in panel  # not due within two weeks
    page = signed_in(app, coach.email, people["password"]).get("/dashboard").get_data(as_text=True)
    assert 'id="plans-panel"' in page and f"/plans/{later.public_id}" in page and soon.public_id not in page
    page = signed_in(app, people["colleague"].email, people["password"]).get("/dashboard").get_data(as_text=True)
    assert 'id="plans-panel"' not in page


def test_a_lesson_moment_tagged_with_the_misconception_is_cited_and_linked_both_ways(app, session, people, klass,
                                                                                      result):
    from app.feedback import service as feedback
    from app.feedback.models import ObservationFramework
    from tests.web import signed_in

    teacher = people["teacher"]
    framework = session.query(ObservationFramework).filter_by(key="misconceptions", current=True).one()
    assert {e["key"] for d in framework.data["dimensions"] for e in d["elements"]} >= {
        "larger-denominator-larger", "add-numerators-denominators"}
    assert framework.data["he"] == "תפיסות שגויות (מאגר האבחון)"
    again = plans.import_library(session)  # the same bank: the same framework version
    session.commit()
    assert again.framework and session.query(ObservationFramework).filter_by(key="misconceptions").count() == 1
    lesson = builders.ready_video(session, teacher, "Fractions, lesson 3", seconds=300)
    clip = builders.clip(session, teacher, lesson, "Is 1/8 bigger?", 90, 120)
    moment = feedback.add_comment(session, teacher, lesson.public_id, body="Dana: eighths are bigger, 8 > 4.",
                                  start=95.0, tags=["misconceptions:larger-denominator-larger"])
    moment.clip_id = clip.id
    feedback.add_comment(session, teacher, lesson.public_id, body="Good wait time.", start=10.0)
    session.commit()
    s01 = next(s for s in klass.students if s.code == "S01")
    plan = plans.draft_for_student(session, teacher, s01.id, today=TODAY)
    session.commit()
    cited = {g.misconception: g.evidence["moments"] for g in plan.goals}
    assert cited["larger-denominator-larger"] == [{"video": lesson.public_id, "title": "Fractions, lesson 3",
                                                   "start": 95.0, "comment": moment.id, "clip": clip.public_id}]
    assert cited["add-numerators-denominators"] == []
    client = signed_in(app, teacher.email, people["password"])
    page = client.get(f"/plans/{plan.public_id}").get_data(as_text=True)
    assert f"/videos/{lesson.public_id}?t=95.0#comment-{moment.id}" in page
    assert f"/videos/clips/{clip.public_id}" in page
    # and back: the rehearsal of that misconception lists the plans working on it
    from app.rehearsals import service as rehearsals

    scenario = rehearsals.from_misconception(session, teacher, "larger-denominator-larger")
    session.commit()
    page = client.get(f"/rehearsals/scenarios/{scenario.public_id}").get_data(as_text=True)
    assert 'id="plans-on-this"' in page and f"/plans/{plan.public_id}" in page


def test_the_activity_library_page_and_an_administrators_import(app, session, people, library):
    import io

    from tests.web import csrf_token, signed_in

    teacher = signed_in(app, people["teacher"].email, people["password"])
    page = teacher.get("/plans/activities").get_data(as_text=True)
    assert "48 activities" in page and 'id="m-larger-denominator-larger"' in page and 'id="import"' not in page
    one = teacher.get("/plans/activities?misconception=larger-denominator-larger").get_data(as_text=True)
    assert one.count('<section class="card" id="m-') == 1 and "One bar, more and more people" in one
    assert teacher.get("/plans/activities?misconception=" + "x" * 500).status_code == 200
    token = csrf_token(teacher, "/plans/activities")
    good = builders.ACTIVITIES / "sample.yaml"
    refused = teacher.post("/plans/activities/import", data={"csrf_token": token, "file": (good.open("rb"), "a.yaml")})
    assert refused.status_code == 403
    admin = signed_in(app, people["admin"].email, people["password"])
    token = csrf_token(admin, "/plans/activities")
    assert 'id="import"' in admin.get("/plans/activities").get_data(as_text=True)
    text = good.read_text(encoding="utf-8")
    for data, says in (
        (b"", "Choose an activity file"),
        (text.replace("[no-number-between]", "[no-such-misconception]").encode(),
         "unknown misconception &#39;no-such-misconception&#39;"),
        (b"activities: [", "malformed YAML"),
        (text.replace("first: multiplication-makes-bigger", "first: no-number-between")
         .replace("after: [no-number-between]", "after: [larger-denominator-larger]").encode(), "in a circle"),
    ):
        answer = admin.post("/plans/activities/import", data={"csrf_token": token, "file": (io.BytesIO(data),
                                                                                             "mine.yaml")},
                            follow_redirects=True)
        assert answer.status_code == 200 and says in answer.get_data(as_text=True), says
    # Larger than any request the app takes: refused before the form is read, and said so.
    huge = admin.post("/plans/activities/import", data={"csrf_token": token, "file": (io.BytesIO(
        b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)), "mine.yaml")})
    assert huge.status_code == 413 and "exceeds the size" in huge.get_data(as_text=True)
    assert len(plans.activities(session)) == 48
    answer = admin.post("/plans/activities/import", data={"csrf_token": token, "file": (good.open("rb"), "a.yaml")},
                        follow_redirects=True)
    assert "Activities added: 1, updated: 0, unchanged: 0." in answer.get_data(as_text=True)
    session.expire_all()
    assert len(plans.activities(session, "no-number-between")) >= 3
    assert ("multiplication-makes-bigger", "no-number-between") in plans.prerequisites(session)


def test_the_timeline_follows_each_goal_through_the_record_of_changes(app, session, people, klass, result):
    from tests.web import signed_in

    teacher = people["teacher"]
    s01 = next(s for s in klass.students if s.code == "S01")
    plan = plans.draft_for_student(session, teacher, s01.id, today=TODAY)
    first, second = plan.goals
    plans.set_goal(session, teacher, plan.public_id, first.id, status="partly")
    plans.set_goal(session, teacher, plan.public_id, second.id, note="not a status change")
    plans.set_goal(session, teacher, plan.public_id, first.id, status="met")
    session.commit()
    changes = session.query(PlanChange).filter_by(plan_id=plan.id).order_by(PlanChange.id).all()
    base = changes[0].at
    for n, change in enumerate(changes):  # the draft, then a change a week
        change.at = base + dt.timedelta(weeks=n)
    session.commit()
    session.expire_all()
    plan = session.get(LearningPlan, plan.id)
    days, series = plans.timeline(plan)
    assert days == [(base + dt.timedelta(weeks=n)).date() for n in (0, 1, 3)]  # the note changed no level
    assert series == {first.misconception: [1, 2, 3], second.misconception: [1, 1, 1]}
    page = signed_in(app, teacher.email, people["password"]).get(f"/plans/{plan.public_id}").get_data(as_text=True)
    assert 'id="timeline"' in page and "<svg" in page[page.index('id="timeline"'):]
