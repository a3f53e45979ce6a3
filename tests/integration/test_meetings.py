"""PLC meetings end to end: the protocol library, scheduling and building an agenda around evidence the community
may see, running it live (the poll with its ETag, held responses, a member removed mid-meeting), the record
(summary, next steps, attendance, Markdown and PDF), the community's history, the institute's report, the API and
the data export. Runs on the embedded stack and on PostgreSQL + Redis."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile

import pytest

from app.communities import service as communities
from app.diagnostics import service as diagnostics
from app.errors import Conflict, Forbidden, InvalidInput, NotFound, NotVisible
from app.meetings import protocolfile
from app.meetings import service as meetings
from app.meetings.models import Meeting, MeetingResponse, MeetingStep, NextStep
from app.notifications.models import Notification
from app.rehearsals.models import Attempt, RehearsalGroup, Scenario
from app.sharing import service as sharing
from tests import builders
from tests.web import bearer, csrf_token, signed_in

SOON = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)


def _page(resp) -> str:
    return resp.get_data(as_text=True)


@pytest.fixture
def library(session):
    report = meetings.import_library(session)
    session.commit()
    return report


@pytest.fixture
def plc(session, people):
    """A community: the facilitator, the teacher and her colleague; the other school's teacher is outside."""
    return builders.community(session, people["facilitator"], "Fractions PLC",
                              members=(people["teacher"].email, people["colleague"].email))


@pytest.fixture
def shared_clip(session, people, plc):
    """The teacher's lesson with a clip of it shared with the community (the class consented)."""
    video = builders.ready_video(session, people["teacher"], "Fractions lesson", 120.0, consent="full")
    clip = builders.clip(session, people["teacher"], video, "Comparing 1/3 and 1/4", 10.0, 40.0)
    share = sharing.share_clip(session, people["teacher"], clip.public_id, None, "view", community_id=plc.public_id)
    session.commit()
    return clip, share


@pytest.fixture
def result(session, people):
    """The facilitator's own class has answered a diagnostic (only a class's teacher may bring its results)."""
    builders.starter_bank(session)
    group = builders.diagnostic_class(session, people["facilitator"], "ח'1", students=(("S1", "Rami"), ("S2", "Lior")))
    assignment = builders.open_assignment(session, people["facilitator"], group)
    items = {ai.item.key: ai.item.id for ai in assignment.items}
    students = {s.code: s.id for s in group.students}
    diagnostics.teacher_grid(session, people["facilitator"], assignment.public_id, {
        (students["S1"], items["frac-compare-same-numerator"]): "B",
        (students["S2"], items["frac-compare-same-numerator"]): "A",
        (students["S1"], items["frac-order-unit"]): "A"})
    session.commit()
    return assignment


def _meeting(session, people, plc, protocol: str | None = None) -> Meeting:
    made = meetings.schedule(session, people["facilitator"], plc.public_id, title="Looking at 1/3 and 1/4",
                             starts_at=SOON, mode="hybrid", place="Room 12", protocol=protocol)
    session.commit()
    return made


# ------------------------------------------------------------------------------------ the library


def test_the_shipped_protocols_are_valid_and_trilingual_and_import_is_idempotent(session, library):
    assert library.added >= 5
    found = meetings.protocols(session)
    assert {"notice-and-wonder", "student-thinking", "what-next", "tuning", "item-answers"} <= {p.key for p in found}
    for protocol in found:
        assert set(protocol.spec["title"]) == set(protocol.spec["purpose"]) == {"en", "he", "ar"}
        for step in protocol.spec["steps"]:
            assert set(step["title"]) == set(step["prompt"]) == {"en", "he", "ar"}
            assert 1 <= step["minutes"] <= 60 and step["responses"] in ("open", "held")
    again = meetings.import_library(session)
    assert (again.added, again.updated, again.unchanged) == (0, 0, len(found))


BROKEN = b"""protocols:
  - key: quick-look
    title: {en: Quick look, he: \xd7\x9e\xd7\x91\xd7\x98, ar: "\xd9\x86\xd8\xb8\xd8\xb1\xd8\xa9"}
    purpose: {en: A look, he: x, ar: yy}
    suits: [clip, video]
    steps:
      - title: {en: Watch, he: x, ar: yy}
        prompt: {en: Watch it, he: x, ar: yy}
        minutes: 90
      - title: {en: Talk, he: x}
        prompt: {en: Talk, he: x, ar: yy}
        minutes: 5
        responses: later
"""


def test_a_protocol_file_with_errors_is_refused_naming_file_line_and_field(session, people, library):
    with pytest.raises(protocolfile.ProtocolFileError) as caught:
        protocolfile.read("mine.yaml", BROKEN)
    lines = caught.value.lines
    assert "mine.yaml:5: protocol 'quick-look': suits[2]: 'video' is not one of: clip, result, item, attempt" in lines
    assert "mine.yaml:9: protocol 'quick-look': steps[1]: minutes: 90 is out of range: from 1 to 60" in lines
    assert any(line.startswith("mine.yaml:10: protocol 'quick-look': steps[2].title: missing ar") for line in lines)
    assert "mine.yaml:13: protocol 'quick-look': steps[2].responses: 'later' is not one of: open, held" in lines
    before = len(meetings.protocols(session))
    with pytest.raises(Forbidden):
        meetings.import_protocols(session, people["teacher"], "mine.yaml", BROKEN)
    with pytest.raises(InvalidInput) as refused:
        meetings.import_protocols(session, people["admin"], "mine.yaml", BROKEN)
    assert "mine.yaml:9:" in refused.value.detail
    assert len(meetings.protocols(session)) == before


def test_the_protocol_page_imports_a_file_for_an_administrator_and_refuses_a_broken_one(app, session, people,
                                                                                       library):
    admin = signed_in(app, people["admin"].email, people["password"])
    token = csrf_token(admin, "/meetings/protocols")
    page = _page(admin.get("/meetings/protocols"))
    assert 'id="protocol-notice-and-wonder"' in page and 'id="protocol-form"' in page
    bad = admin.post("/meetings/protocols/import",
                     data={"csrf_token": token, "file": (io.BytesIO(BROKEN), "mine.yaml")}, follow_redirects=True)
    assert bad.status_code == 200 and "mine.yaml:9:" in _page(bad)
    empty = admin.post("/meetings/protocols/import", data={"csrf_token": token}, follow_redirects=True)
    assert "Choose a protocol file" in _page(empty)
    good = BROKEN.replace(b"video]", b"attempt]").replace(b"minutes: 90", b"minutes: 9").replace(
        b"he: x}\n        prompt: {en: Talk", b"he: x, ar: z}\n        prompt: {en: Talk").replace(b"later", b"held")
    ok = admin.post("/meetings/protocols/import", data={"csrf_token": token, "file": (io.BytesIO(good), "mine.yaml")},
                    follow_redirects=True)
    assert "Protocols added: 1" in _page(ok) and 'id="protocol-quick-look"' in _page(ok)
    teacher = signed_in(app, people["teacher"].email, people["password"])
    assert 'id="protocol-form"' not in _page(teacher.get("/meetings/protocols"))


# ------------------------------------------------------------------------------------ scheduling and the agenda


def test_scheduling_needs_the_facilitator_and_tells_every_member(session, people, plc, library):
    with pytest.raises(Forbidden):
        meetings.schedule(session, people["teacher"], plc.public_id, title="Mine", starts_at=SOON)
    with pytest.raises(NotVisible):
        meetings.schedule(session, people["other_teacher"], plc.public_id, title="Mine", starts_at=SOON)
    for kwargs, field in (({"title": ""}, "title"), ({"mode": "by pigeon"}, "mode"), ({"starts_at": None}, "starts_at"),
                          ({"protocol": "nope"}, "protocol")):
        with pytest.raises(InvalidInput) as refused:
            meetings.schedule(session, people["facilitator"], plc.public_id,
                              **{"title": "T", "starts_at": SOON, **kwargs})
        assert refused.value.field == field
    session.rollback()
    made = _meeting(session, people, plc, protocol="notice-and-wonder")
    assert [s.position for s in made.steps] == list(range(len(made.steps))) and made.steps[0].protocol_key
    told = session.query(Notification).filter_by(kind="meeting_scheduled").all()
    assert {n.user_id for n in told} == {people["teacher"].id, people["colleague"].id}
    assert all(n.link == f"/meetings/{made.public_id}" for n in told)


def test_evidence_only_the_community_may_see_is_put_on_the_agenda(session, people, plc, shared_clip, result, library):
    clip, share = shared_clip
    made = _meeting(session, people, plc)
    step = meetings.add_step(session, people["facilitator"], made.public_id, lang="en", protocol="notice-and-wonder",
                             protocol_step=1, evidence="clip", ref=clip.public_id)
    meetings.add_step(session, people["facilitator"], made.public_id, lang="he", title="מה התלמידים חשבו",
                      prompt="מה התשובות מלמדות?", minutes=10, evidence="item", ref=f"{result.public_id}:1")
    meetings.add_step(session, people["facilitator"], made.public_id, lang="en", title="The class", prompt="What?",
                      minutes=5, evidence="result", ref=result.public_id)
    session.commit()
    assert step.texts["title"]["he"] and step.evidence == "clip"
    # not shared with the community / somebody else's class / an attempt nobody showed: refused, nothing stored
    other = builders.ready_video(session, people["teacher"], "Another", 60.0, consent="full")
    private_clip = builders.clip(session, people["teacher"], other, "Private", 0, 10)
    teacher_class = builders.diagnostic_class(session, people["teacher"], "ט'3", students=(("T1", None),))
    theirs = builders.open_assignment(session, people["teacher"], teacher_class)
    for evidence, ref, reason in (("clip", private_clip.public_id, "not shared with the community"),
                                  ("result", theirs.public_id, "Only a class's own teacher"),
                                  ("item", f"{result.public_id}:99", "no question 99"),
                                  ("attempt", "nope", "not shown to a rehearsal group"),
                                  ("poster", "x", "Evidence is a clip")):
        with pytest.raises(InvalidInput) as refused:
            meetings.add_step(session, people["facilitator"], made.public_id, lang="en", title="x", prompt="y",
                              minutes=5, evidence=evidence, ref=ref)
        assert reason in refused.value.detail
    session.rollback()
    assert session.query(MeetingStep).filter_by(meeting_id=made.id).count() == 3
    with pytest.raises(Forbidden):
        meetings.add_step(session, people["teacher"], made.public_id, lang="en", title="x", prompt="y", minutes=5)
    # the anonymised views: no student's name or code
    views = [meetings.result_view(session, s, "en") for s in made.steps[1:]]
    assert views[0].item_number == 1 and views[0].students == 2 and sum(views[0].answers.values()) == pytest.approx(1)
    assert "Rami" not in json.dumps(views[1].__dict__, default=str) and views[1].misconceptions
    # the share is revoked: the step stays, its evidence is withdrawn
    sharing.revoke(session, people["teacher"], share.id)
    session.commit()
    assert meetings.evidence_shared(session, made.steps[0]) is False
    with pytest.raises(NotFound):
        meetings.prewatch(session, people["colleague"], made.public_id, made.steps[0].id)


AGENDA = """steps:
  - protocol: notice-and-wonder
    evidence: {clip: CLIP}
  - protocol: item-answers
    step: 2
    evidence: {item: {assignment: ASSIGNMENT, number: 1}}
  - title: השבוע הבא
    prompt: מה כל אחד ינסה בכיתה?
    minutes: 10
"""


def test_an_agenda_file_adds_its_steps_or_names_each_problem_by_line(session, people, plc, shared_clip, result,
                                                                     library):
    clip, _ = shared_clip
    made = _meeting(session, people, plc)
    text = AGENDA.replace("CLIP", clip.public_id).replace("ASSIGNMENT", result.public_id)
    added = meetings.import_agenda(session, people["facilitator"], made.public_id, "agenda.yaml", text.encode(), "he")
    session.commit()
    protocol_steps = len(next(p for p in meetings.protocols(session) if p.key == "notice-and-wonder").spec["steps"])
    assert len(added) == protocol_steps + 2
    assert added[-1].texts == {"title": {"he": "השבוע הבא"}, "prompt": {"he": "מה כל אחד ינסה בכיתה?"}}
    assert added[protocol_steps].evidence == "item"
    broken = ("steps:\n  - protocol: nope\n  - title: x\n    prompt: y\n  - protocol: tuning\n    step: 40\n"
              "  - title: a\n    prompt: b\n    minutes: 5\n    evidence: {clip: NOT-SHARED}\n")
    with pytest.raises(InvalidInput) as refused:
        meetings.import_agenda(session, people["facilitator"], made.public_id, "agenda.yaml", broken.encode(), "he")
    detail = refused.value.detail
    assert "agenda.yaml:2: step #1: protocol: unknown protocol 'nope'" in detail
    assert "agenda.yaml:4: step #2: minutes: is required" in detail or "agenda.yaml:3: step #2: minutes" in detail
    assert "agenda.yaml:6: step #3: step: 40 is out of range" in detail
    session.rollback()
    evidence_only = "steps:\n  - title: a\n    prompt: b\n    minutes: 5\n    evidence: {clip: NOT-SHARED}\n"
    with pytest.raises(InvalidInput) as refused:
        meetings.import_agenda(session, people["facilitator"], made.public_id, "a.yaml", evidence_only.encode(), "he")
    assert "a.yaml:2: evidence: This clip is not shared with the community" in refused.value.detail
    session.rollback()
    assert session.query(MeetingStep).filter_by(meeting_id=made.id).count() == len(added)


# ------------------------------------------------------------------------------------ running it live


def test_a_live_meeting_held_responses_the_poll_and_a_member_removed_mid_meeting(app, session, people, plc,
                                                                                 shared_clip, library):
    clip, _ = shared_clip
    made = _meeting(session, people, plc)
    first = meetings.add_step(session, people["facilitator"], made.public_id, lang="en", protocol="notice-and-wonder",
                              protocol_step=1, responses="held", evidence="clip", ref=clip.public_id)
    second = meetings.add_step(session, people["facilitator"], made.public_id, lang="en", title="Wonder",
                               prompt="What do you wonder?", minutes=5)
    session.commit()
    facilitator = signed_in(app, people["facilitator"].email, people["password"])
    teacher = signed_in(app, people["teacher"].email, people["password"])
    colleague = signed_in(app, people["colleague"].email, people["password"])
    outsider = signed_in(app, people["other_teacher"].email, people["password"])
    token = csrf_token(facilitator, f"/meetings/{made.public_id}")
    t_token = csrf_token(teacher, f"/meetings/{made.public_id}")
    c_token = csrf_token(colleague, f"/meetings/{made.public_id}")
    assert outsider.get(f"/meetings/{made.public_id}").status_code == 404
    assert outsider.get(f"/meetings/{made.public_id}/live").status_code == 404
    # pre-watching before the meeting is recorded and shown to the facilitator
    assert teacher.get(f"/meetings/{made.public_id}/steps/{first.id}/watch").headers["Location"].endswith(
        f"/videos/clips/{clip.public_id}")
    page = _page(facilitator.get(f"/meetings/{made.public_id}"))
    assert page.count("✓") >= 1 and 'id="start-meeting"' in page
    assert facilitator.post(f"/meetings/{made.public_id}/start", data={"csrf_token": token}).status_code == 302
    live = teacher.get(f"/meetings/{made.public_id}/live", headers={"Accept": "application/json"})
    state, etag = live.get_json(), live.headers["ETag"]
    assert state["status"] == "live" and state["current"] == 0 and state["responses"] == []
    assert teacher.get(f"/meetings/{made.public_id}/live", headers={"If-None-Match": etag}).status_code == 304
    # a held step: the author and the facilitator see the response, the colleague only that one is waiting
    sent = teacher.post(f"/meetings/{made.public_id}/responses", headers={"Accept": "application/json"},
                        data={"csrf_token": t_token, "step": first.id, "text": "She counts the pieces",
                              "seconds": "0:12"})
    assert sent.status_code == 201
    assert teacher.get(f"/meetings/{made.public_id}/live", headers={"If-None-Match": etag}).status_code == 200
    mine = teacher.get(f"/meetings/{made.public_id}/live").get_json()
    theirs = colleague.get(f"/meetings/{made.public_id}/live").get_json()
    runs = facilitator.get(f"/meetings/{made.public_id}/live").get_json()
    assert [r["text"] for r in mine["responses"]] == ["She counts the pieces"] and mine["responses"][0]["seconds"] == 12
    assert theirs["responses"] == [] and theirs["waiting"] == {str(first.id): 1}
    assert "She counts the pieces" not in _page(colleague.get(f"/meetings/{made.public_id}/record.md"))
    assert "She counts the pieces" in _page(facilitator.get(f"/meetings/{made.public_id}/record.md"))
    assert [r["text"] for r in runs["responses"]] == ["She counts the pieces"] and len(runs["present"]) == 2
    facilitator.post(f"/meetings/{made.public_id}/steps/{first.id}/reveal", data={"csrf_token": token})
    assert [r["text"] for r in colleague.get(f"/meetings/{made.public_id}/live").get_json()["responses"]] == [
        "She counts the pieces"]
    # the facilitator moves the group on; responses go to the current step by default
    facilitator.post(f"/meetings/{made.public_id}/go", data={"csrf_token": token, "position": "1"})
    assert colleague.get(f"/meetings/{made.public_id}/live").get_json()["current"] == 1
    colleague.post(f"/meetings/{made.public_id}/responses", data={"csrf_token": c_token, "text": "Why thirds?"})
    assert session.query(MeetingResponse).filter_by(step_id=second.id).one().text == "Why thirds?"
    # bad input: an empty response, a moment on a step without a clip, a broken moment, a step of another meeting
    for data, reason in (({"text": "  "}, "Write your response first"),
                         ({"text": "x", "step": second.id, "seconds": "1:00"}, "only in a step with a clip"),
                         ({"text": "x", "seconds": "1:99"}, "minutes:seconds"),
                         ({"text": "x", "step": "999999"}, "is not on the meeting"),
                         ({"text": "x", "step": "abc"}, "Choose a valid step")):
        answer = colleague.post(f"/meetings/{made.public_id}/responses", data={"csrf_token": c_token, **data},
                                follow_redirects=True)
        assert answer.status_code == 200 and reason in _page(answer), reason
        problem = colleague.post(f"/meetings/{made.public_id}/responses", data={"csrf_token": c_token, **data},
                                 headers={"Accept": "application/json"})
        assert problem.status_code in (404, 422) and reason in problem.get_json()["detail"]
    for url, data in ((f"/meetings/{made.public_id}/go", {"position": "7"}),
                      (f"/meetings/{made.public_id}/go", {"position": "x"})):
        assert facilitator.post(url, data={"csrf_token": token, **data}, follow_redirects=True).status_code == 200
    assert colleague.post(f"/meetings/{made.public_id}/go", data={"csrf_token": c_token, "position": "0"}
                          ).status_code in (302, 403)
    assert session.query(Meeting).get(made.id).current_step == 1
    # the colleague is removed mid-meeting: the next poll, the page, a response and the evidence are closed to her
    communities.remove_member(session, people["facilitator"], plc.public_id, people["colleague"].id)
    session.commit()
    assert colleague.get(f"/meetings/{made.public_id}/live").status_code == 404
    assert colleague.get(f"/meetings/{made.public_id}").status_code == 404
    assert colleague.post(f"/meetings/{made.public_id}/responses", headers={"Accept": "application/json"},
                          data={"csrf_token": c_token, "text": "still here?"}).status_code == 404
    assert colleague.get(f"/videos/clips/{clip.public_id}").status_code == 404
    # closing: no more responses, and what was said is kept
    facilitator.post(f"/meetings/{made.public_id}/close", data={"csrf_token": token})
    refused = teacher.post(f"/meetings/{made.public_id}/responses", headers={"Accept": "application/json"},
                           data={"csrf_token": t_token, "text": "late"})
    assert refused.status_code == 409 and "closed" in refused.get_json()["detail"]
    assert session.query(MeetingResponse).filter_by(meeting_id=made.id).count() == 2
    with pytest.raises(Conflict):
        meetings.close(session, people["facilitator"], made.public_id)


def test_after_the_meeting_summary_next_steps_attendance_and_the_record(app, session, people, plc, shared_clip,
                                                                        library):
    clip, _ = shared_clip
    made = _meeting(session, people, plc)
    step = meetings.add_step(session, people["facilitator"], made.public_id, lang="en", protocol="notice-and-wonder",
                             protocol_step=1, evidence="clip", ref=clip.public_id)
    meetings.start(session, people["facilitator"], made.public_id)
    said = meetings.respond(session, people["teacher"], made.public_id, step_id=step.id, text="הם סופרים חלקים",
                            seconds=12)
    meetings.close(session, people["facilitator"], made.public_id)
    session.commit()
    facilitator = signed_in(app, people["facilitator"].email, people["password"])
    token = csrf_token(facilitator, f"/meetings/{made.public_id}")
    assert facilitator.post(f"/meetings/{made.public_id}/responses/{said.id}/highlight",
                            data={"csrf_token": token, "on": "1"}).status_code == 302
    for url, data, reason in (
            (f"/meetings/{made.public_id}/summary", {"summary": "x" * 20001}, "at most 20000"),
            (f"/meetings/{made.public_id}/next-steps", {"text": ""}, "1 to 1000 characters"),
            (f"/meetings/{made.public_id}/next-steps", {"text": "x", "assignee": str(people["other_teacher"].id)},
             "member of the community"),
            (f"/meetings/{made.public_id}/next-steps", {"text": "x", "due": "next week"}, "is not a date"),
            (f"/meetings/{made.public_id}/next-steps", {"text": "x", "due": "2027-01-10"}, "choose the member"),
            (f"/meetings/{made.public_id}/attendance", {"present": str(people["admin"].id)}, "can be marked present"),
            (f"/meetings/{made.public_id}/attendance", {"present": "abc"}, "Choose a valid present")):
        answer = facilitator.post(url, data={"csrf_token": token, **data}, follow_redirects=True)
        assert answer.status_code == 200 and reason in _page(answer), reason
    assert session.query(NextStep).count() == 0
    facilitator.post(f"/meetings/{made.public_id}/summary",
                     data={"csrf_token": token, "summary": "We saw students count pieces, not compare sizes."})
    due = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    facilitator.post(f"/meetings/{made.public_id}/next-steps", data={
        "csrf_token": token, "text": "Try a fraction strip task", "assignee": str(people["teacher"].id), "due": due})
    facilitator.post(f"/meetings/{made.public_id}/attendance", data={
        "csrf_token": token, "present": [str(people["teacher"].id), str(people["facilitator"].id)]})
    ns = session.query(NextStep).one()
    assert ns.assignee_id == people["teacher"].id and str(ns.due) == due
    assert session.query(Notification).filter_by(kind="meeting_next_step", user_id=people["teacher"].id).count() == 1
    # the teacher's dashboard shows her next step; she marks it done there
    teacher = signed_in(app, people["teacher"].email, people["password"])
    board = _page(teacher.get("/dashboard"))
    assert 'id="meetings-panel"' in board and "Try a fraction strip task" in board
    t_token = csrf_token(teacher, "/dashboard")
    done = teacher.post(f"/meetings/{made.public_id}/next-steps/{ns.id}/done",
                        data={"csrf_token": t_token, "back": "dashboard"})
    assert done.headers["Location"].endswith("/dashboard")
    assert "Try a fraction strip task" not in _page(teacher.get("/dashboard"))
    colleague = signed_in(app, people["colleague"].email, people["password"])
    refused = colleague.post(f"/meetings/{made.public_id}/next-steps/{ns.id}/done",
                             data={"csrf_token": csrf_token(colleague, "/dashboard")}, follow_redirects=True)
    assert "Only the member it is assigned to" in _page(refused)
    # the record: Markdown, the printable page (in the community's language) and the PDF
    md = _page(teacher.get(f"/meetings/{made.public_id}/record.md"))
    assert "# Looking at 1/3 and 1/4" in md and "★ **Noa Levi** [0:12]: הם סופרים חלקים" in md
    assert "We saw students count pieces" in md and "- [x] Try a fraction strip task — Noa Levi" in md
    communities.set_language(session, people["facilitator"], plc.public_id, "he")
    session.commit()
    printable = _page(teacher.get(f"/meetings/{made.public_id}/record"))
    assert 'lang="he" dir="rtl"' in printable and "הם סופרים חלקים" in printable
    pdf = teacher.get(f"/meetings/{made.public_id}/record.pdf")
    if pdf.status_code == 503:
        pytest.fail("WeasyPrint needs Pango on this machine (make system-test-deps)")
    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert pdf.mimetype == "application/pdf" and "Looking at 1/3 and 1/4" in text and "Noa Levi" in text
    page = _page(teacher.get(f"/meetings/{made.public_id}"))
    assert 'id="record-pdf"' in page and "respond-form" not in page


def test_the_community_history_charts_what_was_discussed(app, session, people, plc, shared_clip, result, library):
    clip, _ = shared_clip
    builders.talk_framework(session)
    builders.comment(session, people["teacher"], clip.video, "Students justify", 15.0, tags=["talk:justify"])
    made = _meeting(session, people, plc)
    meetings.add_step(session, people["facilitator"], made.public_id, lang="en", protocol="notice-and-wonder",
                      protocol_step=1, evidence="clip", ref=clip.public_id)
    meetings.add_step(session, people["facilitator"], made.public_id, lang="en", protocol="item-answers",
                      protocol_step=2, evidence="item", ref=f"{result.public_id}:1")
    session.commit()
    tags, mis = meetings.discussed(session, people["teacher"], plc)
    assert tags == {"talk:justify": 1} and mis["larger-denominator-larger"] == 1
    teacher = signed_in(app, people["teacher"].email, people["password"])
    page = _page(teacher.get(f"/meetings/communities/{plc.public_id}"))
    assert 'id="history"' in page and "Looking at 1/3 and 1/4" in page and page.count("<svg") == 2
    assert "Students justify" in page
    with pytest.raises(NotVisible):
        meetings.discussed(session, people["other_teacher"], plc)
    # linked both ways: the evidence's pages name the meeting (to who may see it), the meeting offers rehearsals
    clip_page = _page(teacher.get(f"/videos/clips/{clip.public_id}"))
    assert 'id="clip-meetings"' in clip_page and f"/meetings/{made.public_id}" in clip_page
    facilitator = signed_in(app, people["facilitator"].email, people["password"])
    results = _page(facilitator.get(f"/diagnostics/assignments/{result.public_id}"))
    assert 'id="meetings-from-results"' in results and f"/meetings/{made.public_id}" in results
    page = _page(teacher.get(f"/meetings/{made.public_id}"))
    assert "/rehearsals/from/misconception/larger-denominator-larger" in page
    assert f"/rehearsals/from/clip/{clip.public_id}" in page  # the clip's own teacher may rehearse from it
    colleague_page = _page(signed_in(app, people["colleague"].email, people["password"]).get(
        f"/meetings/{made.public_id}"))
    assert f"/rehearsals/from/clip/{clip.public_id}" not in colleague_page  # shared to watch only
    assert meetings.meetings_with(session, people["other_teacher"], clip_id=clip.id) == []


def test_the_institute_report_counts_meetings_and_active_members_by_organization(app, session, people, plc,
                                                                                 library):
    made = _meeting(session, people, plc)
    meetings.add_step(session, people["facilitator"], made.public_id, lang="en", title="Talk", prompt="Go",
                      minutes=5)
    meetings.start(session, people["facilitator"], made.public_id)
    meetings.respond(session, people["teacher"], made.public_id, step_id=None, text="Yes")
    meetings.close(session, people["facilitator"], made.public_id)
    _meeting(session, people, plc)  # planned: not held yet
    session.commit()
    today = dt.date.today()
    rep = meetings.report(session, people["admin"], since=today.replace(day=1), until=today)
    row = next(r for r in rep.rows if r["organization"] == "Tichon Alef")
    assert row["communities"] == 1 and row["meetings"] == 1 and row["members"] == 2
    with pytest.raises(Forbidden):
        meetings.report(session, people["teacher"], since=today, until=today)
    leader = meetings.report(session, people["leader"], since=today.replace(day=1), until=today)
    assert [r["organization"] for r in leader.rows] == ["Tichon Alef"]
    admin = signed_in(app, people["admin"].email, people["password"])
    page = _page(admin.get("/meetings/report"))
    assert "Tichon Alef" in page and page.count("<svg") == 2
    csv_text = _page(admin.get(f"/meetings/report.csv?since={today:%Y-%m}&until={today:%Y-%m}"))
    assert f"Tichon Alef,{today:%Y-%m},1,1,2" in csv_text
    for query, reason in (("since=2026-13", "is not a month"), ("since=2030-01&until=2029-01", "comes before"),
                          ("since=2001-01&until=2029-01", "at most three years")):
        answer = admin.get(f"/meetings/report?{query}", follow_redirects=True)
        assert answer.status_code == 200 and reason in _page(answer), reason
    teacher = signed_in(app, people["teacher"].email, people["password"])
    assert "is for the institute" in _page(teacher.get("/meetings/report", follow_redirects=True))


# ------------------------------------------------------------------------------------ pages, API, export


def test_the_scheduling_and_agenda_pages_take_good_input_and_refuse_bad(app, session, people, plc, shared_clip,
                                                                      library):
    clip, _ = shared_clip
    facilitator = signed_in(app, people["facilitator"].email, people["password"])
    token = csrf_token(facilitator, f"/meetings/new?community={plc.public_id}")
    page = _page(facilitator.get(f"/meetings/new?community={plc.public_id}"))
    assert 'id="meeting-form"' in page and "notice-and-wonder" in page
    for data, reason in (({"title": "", "starts_at": "2027-01-05T16:00"}, "1 to 200 characters"),
                         ({"title": "T", "starts_at": "tuesday"}, "is not a date and time"),
                         ({"title": "T", "starts_at": ""}, "Choose the date and time"),
                         ({"title": "T", "starts_at": "2027-01-05T16:00", "mode": "x"}, "in person, online or hybrid"),
                         ({"title": "T\x00", "starts_at": "2027-01-05T16:00"}, "title")):
        answer = facilitator.post("/meetings/", data={"csrf_token": token, "community": plc.public_id,
                                                      "mode": "online", **data}, follow_redirects=True)
        assert answer.status_code == 200 and reason in _page(answer), reason
    assert session.query(Meeting).count() == 0
    teacher = signed_in(app, people["teacher"].email, people["password"])
    assert teacher.get(f"/meetings/new?community={plc.public_id}").status_code == 403
    made = facilitator.post("/meetings/", data={"csrf_token": token, "community": plc.public_id, "title": "Week 3",
                                                "starts_at": "2027-01-05T16:00", "mode": "online",
                                                "place": "https://meet.example/abc", "protocol": "what-next"})
    meeting = session.query(Meeting).one()
    assert made.headers["Location"].endswith(f"/meetings/{meeting.public_id}")
    assert meeting.starts_at.astimezone(dt.UTC).hour == 14  # 16:00 in Jerusalem in winter
    url = f"/meetings/{meeting.public_id}"
    page = _page(facilitator.get(url))
    assert 'id="step-form"' in page and clip.title in page and "https://meet.example/abc" in page
    for data, reason in (({"title": "", "prompt": "p", "minutes": "5"}, "A step needs a title"),
                         ({"title": "t", "prompt": "", "minutes": "5"}, "prompt for the group"),
                         ({"title": "t", "prompt": "p", "minutes": "500"}, "1 to 60 minutes"),
                         ({"title": "t", "prompt": "p", "minutes": "abc"}, "1 to 60 minutes"),
                         ({"protocol_step": "tuning#40"}, "steps."),
                         ({"protocol_step": "nope#1"}, "There is no protocol"),
                         ({"title": "t", "prompt": "p", "minutes": "5", "responses": "later"}, "facilitator first"),
                         ({"title": "t", "prompt": "p", "minutes": "5", "evidence": "clip|nope"}, "not shared")):
        answer = facilitator.post(f"{url}/steps", data={"csrf_token": token, **data}, follow_redirects=True)
        assert answer.status_code == 200 and reason in _page(answer), reason
    before = session.query(MeetingStep).count()
    facilitator.post(f"{url}/steps", data={"csrf_token": token, "protocol_step": "notice-and-wonder#1",
                                           "evidence": f"clip|{clip.public_id}"})
    facilitator.post(f"{url}/steps", data={"csrf_token": token, "title": "Ours", "prompt": "What now?", "minutes": "8"})
    assert session.query(MeetingStep).count() == before + 2
    last = session.query(MeetingStep).order_by(MeetingStep.position.desc()).first()
    facilitator.post(f"{url}/steps/{last.id}/move", data={"csrf_token": token, "by": "up"})
    session.expire_all()
    assert session.get(MeetingStep, last.id).position == before
    facilitator.post(f"{url}/steps/{last.id}/remove", data={"csrf_token": token})
    assert session.query(MeetingStep).count() == before + 1
    bad = facilitator.post(f"{url}/agenda", data={"csrf_token": token, "file": (io.BytesIO(b"steps: [1"), "a.yaml")},
                           follow_redirects=True)
    assert "a.yaml:1:" in _page(bad) and "malformed YAML" in _page(bad)
    good = facilitator.post(f"{url}/agenda", data={"csrf_token": token, "file": (io.BytesIO(
        b"steps:\n  - title: Close\n    prompt: One word each\n    minutes: 3\n"), "a.yaml")}, follow_redirects=True)
    assert "Steps added from the file: 1." in _page(good)
    edit = facilitator.post(f"{url}/edit", data={"csrf_token": token, "title": "Week 3b",
                                                 "starts_at": "2027-01-06T17:00", "mode": "in_person", "place": "Lab"},
                            follow_redirects=True)
    assert "Week 3b" in _page(edit)
    for data, reason in (({"title": "", "starts_at": "2027-01-06T17:00", "mode": "online"}, "1 to 200 characters"),
                         ({"title": "T", "starts_at": "x", "mode": "online"}, "is not a date and time"),
                         ({"title": "T", "starts_at": "2027-01-06T17:00", "mode": "x"}, "online or hybrid")):
        bad_edit = facilitator.post(f"{url}/edit", data={"csrf_token": token, **data}, follow_redirects=True)
        assert reason in _page(bad_edit), reason
    # the community's pages link to its meetings; the language form refuses a language we do not have
    page = _page(facilitator.get(f"/communities/{plc.public_id}"))
    assert 'id="new-meeting-link"' in page and 'id="language-form"' in page
    refused = facilitator.post(f"/communities/{plc.public_id}/language", data={"csrf_token": token, "language": "fr"},
                               follow_redirects=True)
    assert "Hebrew, Arabic or English" in _page(refused)
    facilitator.post(f"/communities/{plc.public_id}/language", data={"csrf_token": token, "language": "ar"})
    session.expire_all()
    assert session.get(type(plc), plc.id).language == "ar"
    # the lists and the facilitator's dashboard, with data
    assert "Week 3b" in _page(teacher.get("/meetings/")) and "Week 3b" in _page(teacher.get("/dashboard"))
    deleted = facilitator.post(f"{url}/delete", data={"csrf_token": token})
    assert deleted.headers["Location"].endswith(f"/meetings/communities/{plc.public_id}")
    assert session.query(Meeting).count() == 0


def test_the_api_runs_a_meeting_and_the_export_holds_what_a_member_wrote(app, session, people, plc, shared_clip,
                                                                         library):
    clip, _ = shared_clip
    client = app.test_client()
    fac = bearer(session, people["facilitator"])
    made = client.post("/api/v1/meetings/", headers=fac, json={
        "community": plc.public_id, "title": "API meeting", "starts_at": SOON.isoformat(), "mode": "online",
        "protocol": "notice-and-wonder"})
    assert made.status_code == 201, made.get_json()
    pid = made.get_json()["id"]
    assert client.post("/api/v1/meetings/", headers=fac, json={"community": plc.public_id, "title": "x",
                                                               "starts_at": "tomorrow"}).status_code == 422
    step = client.post(f"/api/v1/meetings/{pid}/steps", headers=fac, json={
        "title": "Clip", "prompt": "Look", "minutes": 5, "evidence": "clip", "ref": clip.public_id})
    assert step.status_code == 201 and step.get_json()["evidence"] == "clip"
    refused = client.post(f"/api/v1/meetings/{pid}/steps", headers=fac, json={
        "title": "Clip", "prompt": "Look", "minutes": 5, "evidence": "clip", "ref": "nope"})
    assert refused.status_code == 422 and "not shared" in refused.get_json()["detail"]
    assert client.post(f"/api/v1/meetings/{pid}/start", headers=fac).get_json()["status"] == "live"
    teacher = bearer(session, people["teacher"])
    said = client.post(f"/api/v1/meetings/{pid}/responses", headers=teacher,
                       json={"text": "A moment", "seconds": 3.5, "step": step.get_json()["id"]})
    assert said.status_code == 201 and said.get_json()["step"] == step.get_json()["id"]
    no_clip = client.post(f"/api/v1/meetings/{pid}/responses", headers=teacher, json={"text": "x", "seconds": 3.5})
    assert no_clip.status_code == 422 and no_clip.get_json()["field"] == "seconds"
    assert client.put(f"/api/v1/meetings/{pid}/current-step", headers=fac, json={"position": 1}).status_code == 200
    assert client.put(f"/api/v1/meetings/{pid}/current-step", headers=teacher, json={"position": 0}).status_code == 403
    assert [r["text"] for r in client.get(f"/api/v1/meetings/{pid}/responses", headers=teacher).get_json()] == [
        "A moment"]
    outsider = bearer(session, people["other_teacher"])
    assert client.get(f"/api/v1/meetings/{pid}", headers=outsider).status_code == 404
    assert client.put(f"/api/v1/meetings/{pid}/summary", headers=fac, json={"summary": "Done"}).status_code == 200
    assert client.post(f"/api/v1/meetings/{pid}/next-steps", headers=fac, json={
        "text": "Try it", "assignee": people["teacher"].id}).status_code == 201
    attendance = client.get(f"/api/v1/meetings/{pid}/attendance", headers=fac).get_json()
    assert {a["name"]: a["present"] for a in attendance}["Noa Levi"] is True
    assert client.post(f"/api/v1/meetings/{pid}/close", headers=fac).get_json()["status"] == "closed"
    late = client.post(f"/api/v1/meetings/{pid}/responses", headers=teacher, json={"text": "late"})
    assert late.status_code == 409
    protocols = client.get("/api/v1/meetings/protocols", headers=teacher).get_json()
    assert any(p["key"] == "tuning" for p in protocols)
    # the member's data export holds what she wrote and her next step
    from app.export import service as exports

    store, settings = app.extensions["classlab.storage"], app.extensions["classlab.settings"]
    found = exports.request_export(session, people["teacher"])
    session.commit()
    exports.build_export(session, store, found.id, work_folder=settings.work_folder)
    session.commit()
    with zipfile.ZipFile(io.BytesIO(b"".join(store.stream(found.key)))) as archive:
        data = json.loads(archive.read("meetings/meetings.json"))
    assert data["responses"][0]["text"] == "A moment" and data["next_steps"][0]["text"] == "Try it"


def test_a_rehearsal_attempt_shown_to_the_community_is_evidence_and_stops_being_when_consent_is_withdrawn(
        session, people, plc, library):
    scenario = Scenario(key="respond-to-thirds", spec={"title": {"en": "Thirds"}}, languages=["en"])
    session.add(scenario)
    session.flush()
    group = RehearsalGroup(community_id=plc.id, scenario_id=scenario.id, facilitator_id=people["facilitator"].id)
    recording = builders.ready_video(session, people["colleague"], "Attempt", 30.0)
    attempt = Attempt(scenario=scenario, owner=people["colleague"], video_id=recording.id, group=group,
                      shown_to_group=False)
    session.add_all([group, attempt])
    session.commit()
    made = _meeting(session, people, plc)
    with pytest.raises(InvalidInput):
        meetings.add_step(session, people["facilitator"], made.public_id, lang="en", title="R", prompt="P",
                          minutes=5, evidence="attempt", ref=attempt.public_id)
    session.rollback()
    attempt.shown_to_group = True
    session.commit()
    options = meetings.evidence_options(session, people["facilitator"], made, "en")
    assert any(o.kind == "attempt" and o.ref == attempt.public_id for o in options)
    step = meetings.add_step(session, people["facilitator"], made.public_id, lang="en", title="R", prompt="P",
                             minutes=5, evidence="attempt", ref=attempt.public_id)
    session.commit()
    assert meetings.evidence_shared(session, step)
    attempt.shown_to_group = False
    session.commit()
    assert not meetings.evidence_shared(session, step)


ROLES = ("facilitator", "teacher", "other_teacher", "coach", "leader", "admin")
#: (what, expected per role in ROLES order): the facilitator runs it, the member takes part, nobody else sees it.
MATRIX = (
    ("page", (200, 200, 404, 404, 404, 404)),
    ("live", (200, 200, 404, 404, 404, 404)),
    ("record", (200, 200, 404, 404, 404, 404)),
    ("respond", (201, 201, 404, 404, 404, 404)),
    ("move the group", (200, 403, 404, 404, 404, 404)),
    ("api read", (200, 200, 404, 404, 404, 404)),
    ("api summary", (200, 403, 404, 404, 404, 404)),
    ("report", (302, 302, 302, 302, 200, 200)),
)


def test_the_meeting_authorization_matrix_through_pages_and_api(app, session, people, plc, library):
    made = _meeting(session, people, plc, protocol="what-next")
    meetings.start(session, people["facilitator"], made.public_id)
    session.commit()
    url = f"/meetings/{made.public_id}"
    for role_index, role in enumerate(ROLES):
        client = signed_in(app, people[role].email, people["password"])
        token = csrf_token(client, "/dashboard")
        auth = bearer(session, people[role])
        json_headers = {"Accept": "application/json"}
        answers = {
            "page": client.get(url).status_code,
            "live": client.get(url + "/live").status_code,
            "record": client.get(url + "/record.md").status_code,
            "respond": client.post(url + "/responses", headers=json_headers,
                                   data={"csrf_token": token, "text": f"from {role}"}).status_code,
            "move the group": client.post(url + "/go", headers=json_headers,
                                          data={"csrf_token": token, "position": "1"}).status_code,
            "api read": app.test_client().get(f"/api/v1{url}", headers=auth).status_code,
            "api summary": app.test_client().put(f"/api/v1{url}/summary", headers=auth,
                                                 json={"summary": "x"}).status_code,
            "report": client.get("/meetings/report").status_code,
        }
        for what, expected in MATRIX:
            assert answers[what] == expected[role_index], (role, what, answers[what])
    session.expire_all()
    assert sorted(r.text for r in session.query(MeetingResponse)) == ["from facilitator", "from teacher"]


def test_two_responses_at_the_same_moment_make_two_versions(app, session, people, plc, library):
    """Each change bumps the meeting's version in the database, never from the value its request read: with a
    Python-side increment, two requests that read version n would both write n + 1, and a poll between their
    commits would keep the first one's state under the second one's version."""
    from app import db

    made = _meeting(session, people, plc)
    meetings.add_step(session, people["facilitator"], made.public_id, lang="en", title="Go", prompt="Go", minutes=5)
    meetings.start(session, people["facilitator"], made.public_id)
    session.commit()
    before = session.get(Meeting, made.id).version
    engine = session.get_bind()
    # Two requests' sessions (the app's: loaded values kept after a commit) that both read version n.
    first, second = db.session_factory(bind=engine), db.session_factory(bind=engine)
    try:
        one, two = first.get(Meeting, made.id), second.get(Meeting, made.id)
        assert one.version == two.version == before
        first.commit()
        second.commit()  # ends its transaction; what it read stays loaded, as within one request
        meetings.respond(first, first.get(type(people["teacher"]), people["teacher"].id), made.public_id,
                         step_id=None, text="first")
        first.commit()
        meetings.respond(second, second.get(type(people["colleague"]), people["colleague"].id), made.public_id,
                         step_id=None, text="second")
        second.commit()
    finally:
        first.close()
        second.close()
    session.expire_all()
    assert session.get(Meeting, made.id).version == before + 2
