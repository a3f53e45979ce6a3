"""Coaching: links assigned by a leader and accepted by the teacher, cycles, the coach's dashboard,
and the consent rule that lets a lesson reach the owner's coach (and nobody else) without full consent."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app import authz
from app.coaching import service as coaching
from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.feedback import service as feedback
from app.notifications.models import Notification
from app.sharing import service as sharing
from app.video import service
from tests import builders
from tests.web import csrf_token, login, signed_in


@pytest.fixture
def video(app, session, people, lesson_file):
    return builders.processed_video(app, session, people["teacher"], lesson_file(3), "Fractions, period 3")


def _kinds(session, user):
    from sqlalchemy import select

    return [n.kind for n in session.scalars(select(Notification).where(Notification.user_id == user.id)
                                            .order_by(Notification.id))]


def test_who_assigns_and_who_accepts(session, people):
    with pytest.raises(Forbidden, match="school leader"):
        coaching.assign_coach(session, people["colleague"], "coach@a.example", "teacher@a.example")
    with pytest.raises(Forbidden):  # a leader of school A does not lead school B
        coaching.assign_coach(session, people["leader"], "coach@a.example", "teacher@b.example")
    with pytest.raises(InvalidInput, match="coach role"):
        coaching.assign_coach(session, people["leader"], "colleague@a.example", "teacher@a.example")
    with pytest.raises(NotFound, match="no ClassLab user"):
        coaching.assign_coach(session, people["leader"], "ghost@x.example", "teacher@a.example")
    link = coaching.assign_coach(session, people["city_leader"], "coach@a.example", "teacher@a.example")
    session.commit()
    assert link.status == "pending" and _kinds(session, people["teacher"]) == ["coach_request"]
    with pytest.raises(Conflict, match="already coaches"):
        coaching.assign_coach(session, people["admin"], "coach@a.example", "teacher@a.example")
    with pytest.raises(Forbidden):  # only the teacher answers
        coaching.respond(session, people["coach"], link.id, True)
    with pytest.raises(NotFound):  # and a stranger does not learn the link exists
        coaching.respond(session, people["other_teacher"], link.id, True)
    with pytest.raises(Forbidden):  # no cycle before the teacher accepts
        coaching.start_cycle(session, people["coach"], link.id, "Wait time")
    coaching.respond(session, people["teacher"], link.id, True)
    session.commit()
    assert link.status == "active" and _kinds(session, people["coach"]) == ["coach_accepted"]
    with pytest.raises(Conflict, match="already answered"):
        coaching.respond(session, people["teacher"], link.id, False)
    assert {lk.id for lk in coaching.links_for(session, people["leader"])} == {link.id}
    assert coaching.links_for(session, people["other_teacher"]) == []
    other = coaching.assign_coach(session, people["admin"], "coach@a.example", "teacher@b.example")
    coaching.respond(session, people["other_teacher"], other.id, False)
    session.commit()
    assert other.status == "declined" and "coach_declined" in _kinds(session, people["coach"])


def test_a_lesson_without_full_consent_reaches_the_coach_and_nobody_else(session, people, video):
    assert video.consent == "none"
    with pytest.raises(Conflict, match="full consent"):  # no coach yet
        sharing.share(session, people["teacher"], video.public_id, "coach@a.example", "comment")
    link = builders.active_coach_link(session, people["leader"], "coach@a.example", people["teacher"])
    sharing.share(session, people["teacher"], video.public_id, "coach@a.example", "comment")
    with pytest.raises(Conflict, match="full consent"):
        sharing.share(session, people["teacher"], video.public_id, "colleague@a.example", "view")
    session.commit()
    assert authz.may(people["coach"], "comment", video) and not authz.may(people["coach"], "download", video)
    assert not authz.may(people["colleague"], "view", video) and not authz.may(people["leader"], "view", video)
    # Full consent, a colleague is shared; consent withdrawn: the colleague loses it, the coach keeps it.
    sharing.set_consent(session, people["teacher"], video.public_id, "full")
    sharing.share(session, people["teacher"], video.public_id, "colleague@a.example", "view")
    sharing.set_consent(session, people["teacher"], video.public_id, "partial", "one family withdrew")
    session.commit()
    assert authz.may(people["coach"], "view", video) and not authz.may(people["colleague"], "view", video)
    # Coaching ends: the coach's share of a lesson without full consent ends with it.
    coaching.end_link(session, people["teacher"], link.id)
    session.commit()
    assert not authz.may(people["coach"], "view", video)
    assert video.public_id not in {v.public_id for v in service.list_videos(session, people["coach"])}


def test_a_coaching_cycle_from_focus_to_agreed_next_steps(session, people, video):
    link = builders.active_coach_link(session, people["leader"], "coach@a.example", people["teacher"])
    with pytest.raises(InvalidInput, match="focus goal"):
        coaching.start_cycle(session, people["coach"], link.id, "  ")
    with pytest.raises(InvalidInput, match="YYYY-MM-DD"):
        coaching.start_cycle(session, people["coach"], link.id, "Wait time", "1.9.2026")
    with pytest.raises(InvalidInput, match="due before it starts"):
        coaching.start_cycle(session, people["coach"], link.id, "Wait time", "2026-12-01", "2026-11-01")
    cycle = coaching.start_cycle(session, people["coach"], link.id, "More wait time after questions",
                                 "2026-12-01", "2026-12-20")
    session.commit()
    assert "cycle_started" in _kinds(session, people["teacher"])
    with pytest.raises(Forbidden):  # the teacher chooses which lessons the coach sees
        coaching.add_lesson(session, people["coach"], cycle.public_id, video.public_id)
    coaching.add_lesson(session, people["teacher"], cycle.public_id, video.public_id)
    session.commit()
    assert authz.may(people["coach"], "comment", video)  # shared to comment, consent "none" notwithstanding
    assert _kinds(session, people["coach"])[-1] == "cycle_lesson"
    with pytest.raises(Conflict, match="already part"):
        coaching.add_lesson(session, people["teacher"], cycle.public_id, video.public_id)
    feedback.add_comment(session, people["coach"], video.public_id, body="Count to five here", start=1, end=2)
    coaching.update_cycle(session, people["coach"], cycle.public_id, next_steps="Wait five seconds; cold call")
    session.commit()
    assert "next_steps" in _kinds(session, people["teacher"])
    with pytest.raises(Forbidden):
        coaching.agree_next_steps(session, people["coach"], cycle.public_id)
    coaching.agree_next_steps(session, people["teacher"], cycle.public_id)
    session.commit()
    assert cycle.next_steps_agreed_at is not None
    coaching.update_cycle(session, people["coach"], cycle.public_id, next_steps="Wait five seconds")
    assert cycle.next_steps_agreed_at is None  # changed steps must be agreed again
    with pytest.raises(NotFound):
        coaching.get_cycle(session, people["leader"], cycle.public_id)  # leaders see links, not their content
    coaching.close_cycle(session, people["teacher"], cycle.public_id)
    session.commit()
    with pytest.raises(Forbidden):
        coaching.update_cycle(session, people["coach"], cycle.public_id, next_steps="late")


def test_the_coach_dashboard(app, session, people, video, lesson_file):
    link = builders.active_coach_link(session, people["leader"], "coach@a.example", people["teacher"])
    quiet = builders.processed_video(app, session, people["teacher"], lesson_file(3), "Not shared")
    sharing.share(session, people["teacher"], video.public_id, "coach@a.example", "comment")
    due = coaching.start_cycle(session, people["coach"], link.id, "Questions", date.today(),
                               date.today() + timedelta(days=3))
    coaching.start_cycle(session, people["coach"], link.id, "Later", date.today(), date.today() + timedelta(days=30))
    session.commit()
    board = coaching.dashboard(session, people["coach"])
    assert [lk.teacher_id for lk in board.teachers] == [people["teacher"].id]
    assert [v.public_id for v in board.new_videos] == [video.public_id]  # only what was shared
    assert quiet.public_id not in {v.public_id for v in board.new_videos}
    assert [c.public_id for c in board.cycles_due] == [due.public_id]
    question = feedback.add_comment(session, people["teacher"], video.public_id, body="Was I too fast?", start=1)
    answered = feedback.add_comment(session, people["teacher"], video.public_id, body="And here?", start=2)
    feedback.add_comment(session, people["coach"], video.public_id, body="No, fine", parent_id=answered.id)
    sharing.record(session, video, people["coach"], "view")
    session.commit()
    board = coaching.dashboard(session, people["coach"])
    assert [c.id for c in board.unanswered] == [question.id]
    assert board.new_videos == []  # watched


def test_coaching_pages(app, client, session, people, video):
    leader = signed_in(app, "leader@a.example", people["password"])
    token = csrf_token(leader, "/coaching/")
    resp = leader.post("/coaching/assign", data={"coach": "coach@a.example", "teacher": "teacher@a.example",
                                                 "csrf_token": token}, follow_redirects=True)
    assert "the teacher is asked to accept" in resp.get_data(as_text=True)
    bad = leader.post("/coaching/assign", data={"coach": "colleague@a.example", "teacher": "teacher@a.example",
                                                "csrf_token": token}, follow_redirects=True)
    assert bad.status_code == 200 and "does not have the coach role" in bad.get_data(as_text=True)
    login(client, "teacher@a.example", people["password"])
    page = client.get("/coaching/").get_data(as_text=True)
    link_id = int(page.split('id="accept-')[1].split('"')[0])
    token = csrf_token(client, "/coaching/")
    assert client.post(f"/coaching/links/{link_id}/accept", data={"csrf_token": token}).status_code == 302
    resp = client.post(f"/coaching/links/{link_id}/cycles", data={"focus_goal": "Wait time", "csrf_token": token,
                                                                  "starts_on": "2026-12-01", "due_on": ""})
    cycle_url = resp.headers["Location"]
    assert "/coaching/cycles/" in cycle_url
    client.post(cycle_url + "/lessons", data={"video": video.public_id, "csrf_token": token})
    coach = signed_in(app, "coach@a.example", people["password"])
    board = coach.get("/coaching/").get_data(as_text=True)
    assert 'id="dashboard"' in board and "Noa Levi" in board and video.title in board
    cycle_page = coach.get(cycle_url).get_data(as_text=True)
    assert video.title in cycle_page and 'id="lesson-form"' not in cycle_page
    coach.post(cycle_url + "/edit", data={"focus_goal": "Wait time", "next_steps": "Count to five",
                                          "csrf_token": csrf_token(coach, cycle_url)})
    assert 'id="agree-form"' in client.get(cycle_url).get_data(as_text=True)
    client.post(cycle_url + "/agree", data={"csrf_token": token})
    assert 'id="agreed"' in client.get(cycle_url).get_data(as_text=True)
    teacher_id = int(client.get("/api/v1/accounts/me").get_json()["id"])
    assert coach.get(f"/videos/tags?teacher={teacher_id}").status_code == 200  # the coach sees the tag summary
    stranger = signed_in(app, "teacher@b.example", people["password"])
    assert stranger.get(cycle_url).status_code == 404
    assert stranger.get(f"/videos/tags?teacher={teacher_id}").status_code == 404
    assert stranger.post(f"/coaching/links/{link_id}/end",
                         data={"csrf_token": csrf_token(stranger, "/coaching/")}).status_code == 404
    for lang in ("he", "ar"):
        client.post("/language", data={"locale": lang, "next": "/coaching/", "csrf_token": token})
        assert 'dir="rtl"' in client.get(cycle_url).get_data(as_text=True)


def test_coaching_api(app, session, people, video):
    video_id = video.public_id

    def client_for(email):
        c = signed_in(app, email, people["password"])
        return c, {"X-CSRFToken": csrf_token(c, "/coaching/")}

    leader, lh = client_for("leader@a.example")
    resp = leader.post("/api/v1/coaching/links", json={"coach": "coach@a.example", "teacher": "teacher@a.example"},
                       headers=lh)
    assert resp.status_code == 201, resp.get_json()
    link_id = resp.get_json()["id"]
    bad = leader.post("/api/v1/coaching/links", json={"coach": "coach@a.example"}, headers=lh)
    assert bad.status_code == 422 and "teacher" in bad.get_data(as_text=True)
    again = leader.post("/api/v1/coaching/links", json={"coach": "coach@a.example", "teacher": "teacher@a.example"},
                        headers=lh)
    assert again.status_code == 409 and "already coaches" in again.get_json()["detail"]
    teacher, th = client_for("teacher@a.example")
    assert teacher.post(f"/api/v1/coaching/links/{link_id}", json={"accept": True}, headers=th).status_code == 200
    made = teacher.post(f"/api/v1/coaching/links/{link_id}/cycles",
                        json={"focus_goal": "Wait time", "starts_on": "2026-12-01", "due_on": "2026-11-01"}, headers=th)
    assert made.status_code == 422 and "due before it starts" in made.get_json()["detail"]
    made = teacher.post(f"/api/v1/coaching/links/{link_id}/cycles",
                        json={"focus_goal": "Wait time", "due_on": "not a date"}, headers=th)
    assert made.status_code == 422
    made = teacher.post(f"/api/v1/coaching/links/{link_id}/cycles", json={"focus_goal": "Wait time"}, headers=th)
    cycle = made.get_json()["id"]
    resp = teacher.post(f"/api/v1/coaching/cycles/{cycle}/lessons", json={"video": video_id}, headers=th)
    assert resp.status_code == 201 and resp.get_json()["lessons"] == [video_id]
    coach, ch = client_for("coach@a.example")
    assert coach.get(f"/api/v1/videos/{video_id}").status_code == 200
    steps = coach.patch(f"/api/v1/coaching/cycles/{cycle}", json={"next_steps": "Count to five"}, headers=ch)
    assert steps.status_code == 200 and steps.get_json()["next_steps_agreed_at"] is None
    assert coach.post(f"/api/v1/coaching/cycles/{cycle}/agree", headers=ch).status_code == 403
    agreed = teacher.post(f"/api/v1/coaching/cycles/{cycle}/agree", headers=th)
    assert agreed.status_code == 200 and agreed.get_json()["next_steps_agreed_at"]
    stranger, sh = client_for("teacher@b.example")
    assert stranger.get(f"/api/v1/coaching/cycles/{cycle}").status_code == 404
    assert stranger.delete(f"/api/v1/coaching/links/{link_id}", headers=sh).status_code == 404
    assert [lk["id"] for lk in leader.get("/api/v1/coaching/links").get_json()] == [link_id]
    ended = teacher.delete(f"/api/v1/coaching/links/{link_id}", headers=th)
    assert ended.status_code == 200 and ended.get_json()["status"] == "ended"
    assert coach.get(f"/api/v1/videos/{video_id}").status_code == 404  # consent was never full
