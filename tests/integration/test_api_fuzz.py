"""A fuzz pass over the whole JSON API with schemathesis (issue 10): every operation of the OpenAPI document the
app publishes, with seed data so that path parameters name real objects, on both stacks. No answer may be a
server error, and every answer must conform to the document (status code, media type, body schema, headers).

The cases of each operation, in this order:
- a known good request per binding (schemathesis' explicit examples), so the deep end of each use case is
  reached even where generated bodies are refused early;
- schemathesis' coverage phase: deterministic cases at the edges of every parameter and body field (bounds,
  wrong types, missing and unexpected properties, missing auth, unexpected methods);
- Hypothesis-drawn positive (data the document allows) and negative (data it forbids) cases, derandomized, so a
  run sends the same requests every time.
A "binding" names the seed objects a path takes and who sends the case (the person who may use them); drawn
cases take a binding's objects or, as often, ids generated freely. Reads go first, then writes, then what takes
seed objects away (deletions, leaves before the lesson they hang from; consent withdrawn; coaching ended).

Asserted besides: every operation answered 2xx at least once, and most cases naming a seed object found it
(neither 404 nor 401). The answers per operation are printed (`pytest -s`).
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
import schemathesis

# imported now, while no other thread runs: a lazy import under a live server's threads parses with `ast` (pytest
# rewrites a plugin's modules as they are imported), which CPython 3.11.7 can fail spuriously (gh-106905). Every
# module of schemathesis, not only the schema's: coverage cases and reporting import theirs lazily too.
import schemathesis.specs.openapi.schemas  # noqa: F401
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core import NOT_SET
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app import db
from app.accounts import service as accounts
from app.analytics import service as analytics
from app.coaching import service as coaching
from app.diagnostics import bankfile
from app.diagnostics import service as diagnostics
from app.export import service as export
from app.feedback import service as feedback
from app.plans import service as plans
from app.sharing import service as sharing
from app.video.models import VideoStatus
from tests import builders
from tests.eager import import_all

import_all("schemathesis")  # see the import of schemathesis.specs.openapi.schemas above

pytestmark = pytest.mark.timeout(900)

# Drawn cases per operation and mode; with the explicit and coverage cases, about 9,500 requests per stack over 135
# operations. Cut from 40/20 when the whole CI run on this machine neared its 30-minute budget (the fuzz took 4 of
# its minutes).
POSITIVE_EXAMPLES = 30
NEGATIVE_EXAMPLES = 15
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
# A tus chunk is bytes like any octet stream (the generated body is binary, as the document says).
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
# A QTI package or item is bytes too; besides random bytes, the drawn bodies include real QTI and hostile XML.
schemathesis.serializer.alias(["application/zip", "application/xml"], "application/octet-stream")
_QTI_SAMPLES = [
    b'<qti-assessment-item xmlns="http://www.imsglobal.org/xsd/imsqtiasi_v3p0" identifier="x"/>',
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;&a;</x>',
    b"PK\x03\x04" + bytes(40),
]
schemathesis.openapi.media_type("application/zip", st.sampled_from(_QTI_SAMPLES) | st.binary(max_size=512))
schemathesis.openapi.media_type("application/xml", st.sampled_from(_QTI_SAMPLES) | st.binary(max_size=512))


@dataclass
class Binding:
    """Who sends an operation's cases and the seed objects its path (and query) name; without a path, ids are
    generated. `good_body`/`good_headers`: a known good request, sent once before the generated ones."""

    actor: str = "teacher"
    path: dict[str, Any] | None = None
    query: dict[str, Any] | None = None
    good_body: Any = NOT_SET
    good_headers: dict[str, str] | None = None
    pinned: tuple[str, ...] = ()  # query parameters never varied
    media_type: str | None = None  # the good body's, where the operation takes several


@dataclass
class Tally:
    statuses: Counter = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    nonconforming: list[str] = field(default_factory=list)
    seeded: int = 0  # cases whose path named seed objects
    seeded_found: int = 0  # of which the answer was neither 404 nor 401


def seed(app, session, people) -> tuple[dict[str, str], dict[str, Any]]:
    """Everything an operation's path can name, and each actor's bearer token."""
    teacher, colleague, coach = people["teacher"], people["colleague"], people["coach"]
    facilitator, leader = people["facilitator"], people["leader"]
    builders.starter_bank(session)
    builders.talk_framework(session)
    plc = builders.community(session, facilitator, "Fractions PLC", members=(teacher.email, colleague.email))
    lesson = builders.transcribed_video(session, teacher, "Fractions, lesson 1", seconds=120.0)
    builders.with_original(app, session, lesson, b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 1000)
    builders.shared(session, lesson, colleague.email, right="comment", community=plc)
    top = builders.comment(session, teacher, lesson, "Students justify here.", 12.0, tags=["talk:justify"])
    reply = builders.comment(session, colleague, lesson, "Agreed: Dana's answer.", parent=top)
    clip = builders.clip(session, teacher, lesson, "The half", 5.0, 35.0)
    clip_comment = feedback.add_clip_comment(session, teacher, clip.public_id, body="Look at this.", start=10.0)
    clip_share = sharing.share_clip(session, teacher, clip.public_id, facilitator.email, "view")
    lesson_share = sharing.share(session, teacher, lesson.public_id, people["leader"].email, "view")
    session.commit()
    doomed = builders.ready_video(session, teacher, "A lesson to delete", consent="full")
    link = builders.active_coach_link(session, leader, coach.email, teacher)
    pending = coaching.assign_coach(session, leader, coach.email, colleague.email)
    cycle = coaching.start_cycle(session, coach, link.id, "Students justify their answers")
    session.commit()
    coaching.add_lesson(session, teacher, cycle.public_id, lesson.public_id)
    coaching.update_cycle(session, coach, cycle.public_id, next_steps="Ask 'how do you know?' twice a lesson.")
    session.commit()
    klass = builders.diagnostic_class(session, teacher, "7B", students=(("S01", "Noa"), ("S02", None)))
    first = builders.open_assignment(session, teacher, klass, title="Fractions")
    again = builders.open_assignment(session, teacher, klass, title="Again", opened=timedelta(minutes=30))
    item_key = first.items[0].item.key
    plans.import_library(session)
    items = {ai.item.key: ai.item.id for ai in first.items}
    codes = {st.code: st.id for st in klass.students}
    diagnostics.teacher_grid(session, teacher, first.public_id, {
        (codes["S01"], items["frac-compare-same-numerator"]): "B", (codes["S01"], items["frac-order-unit"]): "A",
        (codes["S01"], items["frac-add-unlike"]): "A", (codes["S01"], items["frac-add-decimal"]): "0.3333",
        (codes["S02"], items["frac-add-unlike"]): "A", (codes["S02"], items["frac-add-decimal"]): "0.3333"})
    session.commit()
    drafted = plans.draft_for_class(session, teacher, klass.id)
    session.commit()
    plan, doomed_plan = sorted(drafted.plans, key=lambda p: p.title)  # "Noa" (S01), then "S02"
    spare_activity = next(a.key for a in plans.activities(session)
                          if a.key not in {g.activity_key for g in plan.goals[0].activities})
    from app.meetings import service as meetings

    meeting = meetings.schedule(session, facilitator, plc.public_id, title="Week 1", starts_at=lesson.created_at)
    held = meetings.add_step(session, facilitator, meeting.public_id, lang="en", title="Notice", prompt="What?",
                             minutes=5, responses="held", evidence="clip", ref=clip.public_id)
    meetings.start(session, facilitator, meeting.public_id)
    said = meetings.respond(session, teacher, meeting.public_id, step_id=held.id, text="They count.", seconds=4)
    planned = meetings.schedule(session, facilitator, plc.public_id, title="Week 2", starts_at=lesson.created_at)
    meetings.add_step(session, facilitator, planned.public_id, lang="en", title="Wonder", prompt="Why?", minutes=5)
    doomed_meeting = meetings.schedule(session, facilitator, plc.public_id, title="Gone", starts_at=lesson.created_at)
    session.commit()
    analysed = builders.analysed_video(session, teacher, title="Comparing fractions (analysed)")
    analytics.set_shared(session, teacher, analysed.video.public_id, True)
    builders.shared(session, analysed.video, coach.email)
    marker = next(m for m in analysed.markers if m.kind == "uptake")
    session.commit()
    upload = builders.upload(app, session, teacher, length=64)
    archive = export.request_export(session, teacher)
    session.commit()
    export.fail_export(session, archive.id, "The worker was stopped.")  # so that a new one may be asked for
    failed = builders.ready_video(session, teacher, "A lesson that failed")
    failed.status, failed.failed_step, failed.failure_reason = VideoStatus.failed, "transcode", "ffmpeg died"
    session.commit()
    cert = builders.certification_world(app.extensions["classlab.settings"], session, people)
    aims = builders.goals_world(session, people)
    tokens = {}
    for role in ("teacher", "colleague", "coach", "facilitator", "leader", "admin"):
        tokens[role] = accounts.issue_token(session, people[role], "fuzz", 1).secret
    spare = accounts.issue_token(session, teacher, "to revoke", 1).token
    session.commit()
    world = dict(people=people, plc=plc, lesson=lesson, top=top, reply=reply, clip=clip, clip_comment=clip_comment,
                 clip_share=clip_share, lesson_share=lesson_share, doomed=doomed, link=link, pending=pending,
                 cycle=cycle, klass=klass, first=first, again=again, item_key=item_key, upload=upload,
                 archive=archive, spare=spare, failed=failed, plan=plan, doomed_plan=doomed_plan,
                 spare_activity=spare_activity, meeting=meeting, held=held, said=said, planned=planned,
                 doomed_meeting=doomed_meeting, analysed=analysed.video.public_id, marker=marker.public_id, cert=cert,
                 aims=aims)
    return tokens, world


def bindings(w: dict[str, Any]) -> dict[tuple[str, str], list[Binding]]:
    """For each operation (method, path): who reaches which seed object, and a good body where one helps."""
    p = w["people"]
    lesson, clip, cycle, klass = w["lesson"].public_id, w["clip"].public_id, w["cycle"].public_id, w["klass"].id
    v = "/api/v1/videos"
    tus = {"Tus-Resumable": "1.0.0"}
    pl, plan = "/api/v1/plans", w["plan"]
    mt, meeting = "/api/v1/meetings", w["meeting"].public_id
    an = "/api/v1/analytics"
    st, cert = "/api/v1/standards", w["cert"]
    gl, aims = "/api/v1/goals", w["aims"]
    goal = plan.goals[0]
    return {
        ("GET", "/api/v1/accounts/users/{user_id}"): [Binding(path={"user_id": p["colleague"].id}),
                                                      Binding("leader", {"user_id": p["teacher"].id})],
        ("POST", "/api/v1/accounts/tokens"): [Binding(good_body={"email": p["teacher"].email, "name": "fuzz",
                                                                 "password": p["password"], "days": 1})],
        ("DELETE", "/api/v1/accounts/tokens/{token_id}"): [Binding(path={"token_id": w["spare"].id})],
        ("GET", "/api/v1/accounts/exports/{export_id}"): [Binding(path={"export_id": w["archive"].public_id})],
        # Without a worker in this test the round trip would answer 503 after 5 s, as it should; the worker's
        # answer is tested with a real worker elsewhere.
        ("GET", "/api/v1/health"): [Binding(query={"worker": False}, pinned=("worker",))],
        ("GET", v + "/{public_id}"): [Binding(path={"public_id": lesson}), Binding("colleague", {"public_id": lesson})],
        ("DELETE", v + "/{public_id}"): [Binding(path={"public_id": w["doomed"].public_id})],
        ("POST", v + "/{public_id}/retry"): [Binding(path={"public_id": w["failed"].public_id}),
                                             Binding(path={"public_id": lesson})],
        ("GET", v + "/{public_id}/transcript"): [Binding(path={"public_id": lesson}),
                                                 Binding("colleague", {"public_id": lesson})],
        ("PUT", v + "/{public_id}/transcript/{position}"): [
            Binding(path={"public_id": lesson, "position": 0}, good_body={"text": "Good morning, everybody."})],
        ("GET", v + "/{public_id}/download"): [Binding(path={"public_id": lesson})],
        ("GET", v + "/{public_id}/clips"): [Binding(path={"public_id": lesson}),
                                            Binding("colleague", {"public_id": lesson})],
        ("POST", v + "/{public_id}/clips"): [Binding(path={"public_id": lesson},
                                                     good_body={"title": "Wait time", "start": "0:40", "end": 55})],
        ("GET", v + "/clips/{clip_id}"): [Binding(path={"clip_id": clip}), Binding("facilitator", {"clip_id": clip})],
        ("DELETE", v + "/clips/{clip_id}"): [Binding(path={"clip_id": clip})],
        ("GET", "/api/v1/search"): [Binding(query={"q": "half"})],
        ("GET", v + "/{public_id}/comments"): [Binding(path={"public_id": lesson}),
                                               Binding("colleague", {"public_id": lesson})],
        ("POST", v + "/{public_id}/comments"): [
            Binding(path={"public_id": lesson}, good_body={"body": "Nice question.", "start": 30, "end": "0:45",
                                                           "tags": ["talk:build"], "quote": "what a half is"}),
            Binding("colleague", {"public_id": lesson}, good_body={"body": "Thanks!", "parent_id": w["top"].id})],
        ("GET", v + "/comments/{comment_id}"): [Binding(path={"comment_id": w["top"].id}),
                                                Binding("colleague", {"comment_id": w["reply"].id})],
        ("PATCH", v + "/comments/{comment_id}"): [
            Binding(path={"comment_id": w["top"].id}, good_body={"body": "Students justify, here.",
                                                                  "tags": ["talk:justify", "talk:build"]})],
        ("DELETE", v + "/comments/{comment_id}"): [Binding(path={"comment_id": w["top"].id}),
                                                   Binding("colleague", {"comment_id": w["reply"].id})],
        ("GET", v + "/clips/{clip_id}/comments"): [Binding(path={"clip_id": clip})],
        ("POST", v + "/clips/{clip_id}/comments"): [
            Binding(path={"clip_id": clip}, good_body={"body": "And here.", "start": 20}),
            Binding(path={"clip_id": clip}, good_body={"body": "Yes.", "parent_id": w["clip_comment"].id})],
        ("PUT", v + "/{public_id}/consent"): [Binding(path={"public_id": lesson},
                                                      good_body={"status": "full", "note": "Forms of 28 May."})],
        ("GET", v + "/{public_id}/shares"): [Binding(path={"public_id": lesson})],
        ("POST", v + "/{public_id}/shares"): [
            Binding(path={"public_id": lesson}, good_body={"email": p["coach"].email, "right": "view"}),
            Binding(path={"public_id": lesson}, good_body={"community": w["plc"].public_id, "right": "comment"})],
        ("DELETE", v + "/shares/{share_id}"): [Binding(path={"share_id": w["lesson_share"].id}),
                                               Binding(path={"share_id": w["clip_share"].id})],
        ("GET", v + "/{public_id}/audit"): [Binding(path={"public_id": lesson})],
        ("GET", v + "/clips/{clip_id}/shares"): [Binding(path={"clip_id": clip})],
        ("POST", v + "/clips/{clip_id}/shares"): [
            Binding(path={"clip_id": clip}, good_body={"email": p["colleague"].email, "right": "comment"})],
        ("POST", "/api/v1/diagnostics/classes"): [Binding(good_body={"name": "8A"})],
        ("GET", "/api/v1/diagnostics/classes/{class_id}"): [Binding(path={"class_id": klass})],
        ("PATCH", "/api/v1/diagnostics/classes/{class_id}"): [
            Binding(path={"class_id": klass}, good_body={"language": "ar", "digits": "arabic-indic"})],
        ("POST", "/api/v1/diagnostics/classes/{class_id}/students"): [
            Binding(path={"class_id": klass}, good_body={"code": "S03", "name": "Rami"}),
            Binding(path={"class_id": klass}, good_body={"name": "Yael"})],
        ("POST", "/api/v1/diagnostics/classes/{class_id}/roster"): [
            Binding(path={"class_id": klass}, good_body="code,name\nS04,Lior\nS05,\n")],
        ("POST", "/api/v1/diagnostics/classes/{class_id}/assignments"): [
            Binding(path={"class_id": klass}, good_body={"diagnostic": "negative-numbers",
                                                         "opens_at": "2020-01-01T08:00:00+02:00",
                                                         "closes_at": "2099-01-01T08:00:00+02:00"})],
        ("PUT", "/api/v1/diagnostics/assignments/{public_id}/answers"): [
            Binding(path={"public_id": w["first"].public_id},
                    good_body={"answers": [{"student": "S01", "item": w["item_key"], "value": "A"}]})],
        ("GET", "/api/v1/diagnostics/assignments/{public_id}/results"): [
            Binding(path={"public_id": w["first"].public_id})],
        ("GET", "/api/v1/diagnostics/classes/{class_id}/progress"): [
            Binding(path={"class_id": klass}, query={"before": w["first"].public_id, "after": w["again"].public_id})],
        ("GET", "/api/v1/diagnostics/items/{key}/qti"): [Binding(path={"key": w["item_key"]})],
        # an administrator's dry runs: whatever the body, nothing is stored and nothing fails
        ("POST", "/api/v1/diagnostics/qti"): [Binding("admin", query={"dry_run": True}, pinned=("dry_run",),
                                                      good_body=builders.qti_package(bankfile.load_bank()),
                                                      media_type="application/zip")],
        ("POST", "/api/v1/notifications/read"): [Binding(good_body={"all": True})],
        ("POST", "/api/v1/communities/"): [Binding("facilitator", good_body={"name": "Science PLC"})],
        ("GET", "/api/v1/communities/{public_id}"): [Binding(path={"public_id": w["plc"].public_id}),
                                                     Binding("facilitator", {"public_id": w["plc"].public_id})],
        ("POST", "/api/v1/communities/{public_id}/members"): [
            Binding("facilitator", {"public_id": w["plc"].public_id}, good_body={"email": p["coach"].email})],
        ("DELETE", "/api/v1/communities/{public_id}/members/{user_id}"): [
            Binding("facilitator", {"public_id": w["plc"].public_id, "user_id": p["colleague"].id})],
        ("GET", "/api/v1/communities/{public_id}/shared"): [Binding(path={"public_id": w["plc"].public_id})],
        ("GET", "/api/v1/coaching/links"): [Binding(), Binding("coach")],
        ("POST", "/api/v1/coaching/links"): [
            Binding("leader", good_body={"coach": p["coach"].email, "teacher": p["facilitator"].email})],
        ("POST", "/api/v1/coaching/links/{link_id}"): [
            Binding("colleague", {"link_id": w["pending"].id}, good_body={"accept": True})],
        ("DELETE", "/api/v1/coaching/links/{link_id}"): [Binding(path={"link_id": w["link"].id})],
        ("POST", "/api/v1/coaching/links/{link_id}/cycles"): [
            Binding("coach", {"link_id": w["link"].id}, good_body={"focus_goal": "Wait time", "due_on": "2099-01-01"})],
        ("GET", "/api/v1/coaching/cycles/{public_id}"): [Binding(path={"public_id": cycle}),
                                                         Binding("coach", {"public_id": cycle})],
        ("PATCH", "/api/v1/coaching/cycles/{public_id}"): [
            Binding("coach", {"public_id": cycle}, good_body={"next_steps": "Wait three seconds."})],
        ("POST", "/api/v1/coaching/cycles/{public_id}/lessons"): [
            Binding(path={"public_id": cycle}, good_body={"video": w["doomed"].public_id})],
        ("POST", "/api/v1/coaching/cycles/{public_id}/agree"): [Binding(path={"public_id": cycle})],
        ("GET", "/api/v1/plans/activities"): [Binding(query={"misconception": "larger-denominator-larger"})],
        ("GET", pl + "/classes/{class_id}"): [Binding(path={"class_id": klass})],
        ("POST", pl + "/classes/{class_id}/drafts"): [Binding(path={"class_id": klass}, good_body={})],
        ("POST", pl + "/classes/{class_id}/group-drafts"): [Binding(path={"class_id": klass}, good_body={})],
        ("POST", pl + "/classes/{class_id}/reassessment"): [Binding(path={"class_id": klass})],
        ("POST", pl + "/students/{student_id}/drafts"): [
            Binding(path={"student_id": plan.students[0].id}, good_body={"target_date": None})],
        ("GET", pl + "/{public_id}"): [Binding(path={"public_id": plan.public_id})],
        ("PATCH", pl + "/{public_id}"): [Binding(path={"public_id": plan.public_id},
                                                 good_body={"title": "Noa: fractions", "shared_with_coach": True})],
        ("DELETE", pl + "/{public_id}"): [Binding(path={"public_id": w["doomed_plan"].public_id})],
        ("PATCH", pl + "/{public_id}/goals/{goal_id}"): [
            Binding(path={"public_id": plan.public_id, "goal_id": goal.id},
                    good_body={"status": "partly", "note": "Strips helped."})],
        ("POST", pl + "/{public_id}/goals/{goal_id}/activities"): [
            Binding(path={"public_id": plan.public_id, "goal_id": goal.id},
                    good_body={"activity": w["spare_activity"]})],
        ("PATCH", pl + "/{public_id}/activities/{activity_id}"): [
            Binding(path={"public_id": plan.public_id, "activity_id": goal.activities[0].id},
                    good_body={"done": True})],
        ("DELETE", pl + "/{public_id}/activities/{activity_id}"): [
            Binding(path={"public_id": plan.public_id, "activity_id": goal.activities[-1].id})],
        ("POST", mt + "/"): [Binding("facilitator", good_body={
            "community": w["plc"].public_id, "title": "Week 3", "starts_at": "2099-01-01T16:00:00+02:00",
            "mode": "online", "place": "https://meet.example/plc"})],
        ("GET", mt + "/{public_id}"): [Binding(path={"public_id": meeting}),
                                       Binding("facilitator", {"public_id": meeting})],
        ("DELETE", mt + "/{public_id}"): [Binding("facilitator", {"public_id": w["doomed_meeting"].public_id})],
        ("GET", mt + "/{public_id}/responses"): [Binding(path={"public_id": meeting}),
                                                 Binding("colleague", {"public_id": meeting})],
        ("POST", mt + "/{public_id}/responses"): [
            Binding(path={"public_id": meeting}, good_body={"text": "I wonder why.", "step": w["held"].id,
                                                            "seconds": 6.5})],
        ("POST", mt + "/{public_id}/steps"): [Binding("facilitator", {"public_id": meeting}, good_body={
            "title": "Next", "prompt": "What will you try?", "minutes": 10, "evidence": "clip", "ref": clip})],
        ("POST", mt + "/{public_id}/steps/{step_id}/reveal"): [
            Binding("facilitator", {"public_id": meeting, "step_id": w["held"].id})],
        ("POST", mt + "/{public_id}/start"): [Binding("facilitator", {"public_id": w["planned"].public_id})],
        ("PUT", mt + "/{public_id}/current-step"): [Binding("facilitator", {"public_id": meeting},
                                                            good_body={"position": 0})],
        ("PUT", mt + "/{public_id}/responses/{response_id}/highlight"): [
            Binding("facilitator", {"public_id": meeting, "response_id": w["said"].id}, good_body={"on": True})],
        ("POST", mt + "/{public_id}/close"): [Binding("facilitator", {"public_id": meeting})],
        ("PUT", mt + "/{public_id}/summary"): [Binding("facilitator", {"public_id": meeting},
                                                       good_body={"summary": "We saw counting."})],
        ("POST", mt + "/{public_id}/next-steps"): [Binding("facilitator", {"public_id": meeting}, good_body={
            "text": "Try strips", "assignee": p["teacher"].id, "due": "2099-01-01"})],
        ("GET", mt + "/{public_id}/attendance"): [Binding("facilitator", {"public_id": meeting})],
        ("GET", an + "/lessons/{public_id}"): [Binding(path={"public_id": w["analysed"]}),
                                               Binding("coach", {"public_id": w["analysed"]})],
        ("PATCH", an + "/lessons/{public_id}"): [
            Binding(path={"public_id": w["analysed"]}, good_body={"teacher_voice": 0, "shared_with_coach": True})],
        ("POST", an + "/lessons/{public_id}/rerun"): [Binding(path={"public_id": w["analysed"]})],
        ("POST", an + "/markers/{marker_id}"): [
            Binding(path={"marker_id": w["marker"]}, good_body={"verdict": "correct", "kind": "question_open"}),
            Binding("coach", {"marker_id": w["marker"]}, good_body={"verdict": "confirm"})],
        ("POST", an + "/markers/{marker_id}/comment"): [
            Binding(path={"marker_id": w["marker"]}, good_body={"body": "You took up her idea.",
                                                                "tags": ["talk:build"]})],
        ("GET", an + "/trends"): [Binding()],
        ("GET", an + "/teachers/{user_id}/trends"): [Binding("coach", {"user_id": p["teacher"].id})],
        ("GET", st + "/framework"): [Binding()],
        ("GET", st + "/cohorts"): [Binding("coach"), Binding("admin")],
        ("GET", st + "/cohorts/{public_id}/agreement"): [Binding("admin", {"public_id": cert["cohort"]})],
        ("GET", st + "/portfolios/{public_id}"): [Binding("coach", {"public_id": cert["portfolio"]}),
                                                   Binding("colleague", {"public_id": cert["scored"]})],
        ("POST", st + "/portfolios/{public_id}/entries"): [Binding("coach", {"public_id": cert["portfolio"]})],
        ("PATCH", st + "/portfolios/{public_id}/entries/{entry_id}"): [
            Binding("coach", {"public_id": cert["portfolio"], "entry_id": cert["entry"]},
                    good_body={"commentary": "It shows indicator 1.2."})],
        ("DELETE", st + "/portfolios/{public_id}/entries/{entry_id}"): [
            Binding("coach", {"public_id": cert["portfolio"], "entry_id": cert["spare_entry"]})],
        ("POST", st + "/portfolios/{public_id}/submit"): [Binding("coach", {"public_id": cert["portfolio"]})],
        ("POST", st + "/portfolios/{public_id}/scores"): [
            Binding("colleague", {"public_id": cert["scored"]},
                    good_body={"standard": cert["standard"], "level": 3, "rationale": "Shows 1.1 and 1.2."})],
        ("GET", st + "/certificates/{public_id}"): [Binding("facilitator", {"public_id": cert["certificate"]})],
        ("POST", st + "/verify"): [Binding()],
        ("GET", gl + "/indicators"): [Binding()],
        ("GET", gl + "/areas"): [Binding("leader"), Binding("admin")],
        ("GET", gl + "/areas/{public_id}"): [Binding("leader", {"public_id": aims["a"]}),
                                             Binding("admin", {"public_id": aims["city"]})],
        ("GET", gl + "/areas/{public_id}/indicators/{key}"): [
            Binding("leader", {"public_id": aims["a"], "key": "math5_share"})],
        ("POST", gl + "/areas/{public_id}/values"): [
            Binding("leader", {"public_id": aims["a"]}, good_body={
                "indicator": "math5_share", "year": 2027, "term": 2, "grade": 10, "count": 7, "students": 30})],
        ("POST", gl + "/areas/{public_id}/imports"): [Binding("admin", {"public_id": aims["institute"]})],
        ("GET", gl + "/areas/{public_id}/targets"): [Binding("leader", {"public_id": aims["a"]})],
        ("POST", gl + "/areas/{public_id}/targets"): [
            Binding("leader", {"public_id": aims["a"]}, good_body={"indicator": "math5_share", "year": 2029,
                                                                  "value": 18})],
        ("GET", gl + "/principal-coaching"): [Binding("coach"), Binding("leader")],
        ("POST", gl + "/principal-coaching/{public_id}/sessions"): [
            Binding("coach", {"public_id": aims["pair"]}, good_body={"date": "2027-01-20", "agenda": "Follow-up"})],
        ("GET", gl + "/sessions/{public_id}"): [Binding("coach", {"public_id": aims["session"]})],
        ("POST", gl + "/sessions/{public_id}/record"): [
            Binding("coach", {"public_id": aims["session"]}, good_body={"notes": "We looked at the data."})],
        ("POST", "/api/v1/uploads/"): [Binding(good_headers={**tus, "Upload-Length": "10"})],
        ("HEAD", "/api/v1/uploads/{upload_id}"): [Binding(path={"upload_id": w["upload"].id})],
        ("PATCH", "/api/v1/uploads/{upload_id}"): [
            Binding(path={"upload_id": w["upload"].id}, good_body=b"0123456789",
                    good_headers={**tus, "Upload-Offset": "0"})],
        ("DELETE", "/api/v1/uploads/{upload_id}"): [Binding(path={"upload_id": w["upload"].id})],
    }


# Reads first, then writes, then what takes the seed away, in this order: deletions, each before whatever it
# hangs from, with consent (withdrawing it ends every share) and the end of coaching among them. The token
# everyone else uses is never deleted (a spare one is), and tokens go very last all the same, in case a
# generated id names one.
REVOKES_TOKENS = "DELETE /api/v1/accounts/tokens/{token_id}"
LAST = [("POST", "/close"), ("POST", "/agree"), ("DELETE", "/activities/"), ("DELETE", "/plans/"),
        ("DELETE", "/comments/"), ("DELETE", "/shares/"), ("PUT", "/consent"),
        ("DELETE", "/members/"), ("DELETE", "/clips/"), ("DELETE", "/uploads/"), ("POST", "/coaching/links/{link_id}"),
        ("DELETE", "/coaching/links/"), ("DELETE", "/videos/"), ("DELETE", "/accounts/tokens/")]


def order(operation) -> tuple:
    method, path = operation.method.upper(), operation.path
    late = [i for i, (m, part) in enumerate(LAST) if m == method and (part in path if m == "DELETE"
                                                                      else path.endswith(part))]
    if late:
        return (2, late[0], path)
    return (0 if method in ("GET", "HEAD", "OPTIONS") else 1, 0, path + " " + method)


class Captured(logging.Handler):
    """The tracebacks app.errors logs for a 500, to show with the case that caused it."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.last: list[str] = []

    def emit(self, record):
        self.last.append(self.format(record))


def fuzz(strategy, examples: int, send) -> None:
    """`examples` cases drawn from the strategy, each sent; derandomized, so every run sends the same cases."""

    @settings(max_examples=examples, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(drawn=strategy)
    def draw(drawn):
        send(drawn)

    draw()


def coverage_cases(schema, operation, choices: list[Binding]):
    """Schemathesis' coverage phase: deterministic cases at the edges of each parameter and body field (bounds,
    wrong types, missing and unexpected properties, missing auth), positive and negative; each takes a binding's
    seed objects in turn, except in the parameter the case is about."""
    config = schema.config.generation_for(operation=operation)
    made = schema.iter_coverage_cases(operation, generation_modes=list(GenerationMode), generation_config=config)
    for n, case in enumerate(made):
        binding = choices[n % len(choices)]
        about = getattr(case.meta.phase.data, "parameter", None) if case.meta else None
        for location, values in (("path_parameters", binding.path), ("query", binding.query)):
            wanted = {k: v for k, v in (values or {}).items() if k != about or k in binding.pinned}
            setattr(case, location, {**(getattr(case, location) or {}), **wanted})
        yield case, binding.actor, bool(binding.path)


def test_fuzz_the_whole_api_without_a_server_error(app, session, people):
    tokens, world = seed(app, session, people)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = sorted((result.ok() for result in schema.get_all_operations()), key=order)
    table = bindings(world)
    declared = {(op.method.upper(), op.path) for op in operations}
    assert set(table) <= declared, set(table) - declared  # the bindings name operations that exist
    captured = Captured()
    logging.getLogger("app.errors").addHandler(captured)
    tallies: dict[str, Tally] = defaultdict(Tally)

    def run(operation, case, actor: str, seeded: bool) -> None:
        name = f"{operation.method.upper()} {operation.path}"
        tally = tallies[name]
        if name == REVOKES_TOKENS:  # a generated id may be the very token sending it: sign in afresh each time
            tokens[actor] = accounts.issue_token(db.session(), people[actor], "fuzz", 1).secret
            db.session().commit()
        headers = {"Authorization": f"Bearer {tokens[actor]}"}
        captured.last.clear()
        try:
            response = case.call(headers=headers)
        except Exception as exc:  # noqa: BLE001 - an exception out of the app is a server error, reported
            tally.statuses["raised"] += 1
            tally.server_errors.append(f"raised {exc!r}\n{case.as_curl_command(headers=headers)}")
            return
        tally.statuses[response.status_code] += 1
        if seeded:
            tally.seeded += 1
            tally.seeded_found += response.status_code not in (401, 404)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (AssertionError, FailureGroup) as exc:
            text = f"{response.status_code} {exc}\n" + "\n".join(captured.last)[-3000:]
            if response.status_code >= 500:
                cause = captured.last[-1].strip().splitlines()[-1] if captured.last else "(nothing logged)"
                tally.server_errors.append(f"{cause}\n{text}")
            else:
                tally.nonconforming.append(text)

    for operation in operations:
        key = (operation.method.upper(), operation.path)
        choices = table.get(key) or [Binding()]
        for binding in choices:  # the explicit examples
            if binding.good_body is not NOT_SET or binding.good_headers:
                media = {"media_type": binding.media_type} if binding.media_type else {}
                case = operation.Case(path_parameters=binding.path, query=binding.query, headers=binding.good_headers,
                                      body=binding.good_body, **media)
                run(operation, case, binding.actor, bool(binding.path))
        for case, actor, seeded in coverage_cases(schema, operation, choices):
            run(operation, case, actor, seeded)
        for mode, examples in ((GenerationMode.POSITIVE, POSITIVE_EXAMPLES), (GenerationMode.NEGATIVE,
                                                                              NEGATIVE_EXAMPLES)):
            strategies = [operation.as_strategy(mode, path_parameters=b.path, query=b.query).map(
                lambda case, b=b: (case, b.actor, bool(b.path))) for b in choices]
            if any(b.path for b in choices):  # and ids nobody made
                strategies.append(operation.as_strategy(mode).map(lambda case: (case, "teacher", False)))
            try:
                fuzz(st.one_of(strategies), examples, lambda drawn, operation=operation: run(operation, *drawn))
            except Unsatisfiable:  # nothing to break: no parameter and no body (GET /api/v1/accounts/me)
                assert mode is GenerationMode.NEGATIVE, key

    logging.getLogger("app.errors").removeHandler(captured)
    cases = sum(sum(t.statuses.values()) for t in tallies.values())
    succeeded = {name for name, t in tallies.items() if any(isinstance(s, int) and s < 300 for s in t.statuses)}
    with_ids = {name: t for name, t in tallies.items() if "{" in name}
    found = sum(t.seeded_found for t in with_ids.values())
    report = "\n".join(f"{name}: {dict(t.statuses)}" + (f"; seed objects found {t.seeded_found}/{t.seeded}"
                                                         if name in with_ids else "")
                       for name, t in sorted(tallies.items()))
    print(f"\n{len(operations)} operations, {cases} cases; {len(succeeded)} answered 2xx at least once; the "
          f"{len(with_ids)} with ids in their path found the seed objects in {found} of "
          f"{sum(t.seeded for t in with_ids.values())} cases that named them\n{report}")
    errors = [f"{name}\n{text}" for name, t in tallies.items() for text in t.server_errors]
    causes = Counter(f"{name}: {text.splitlines()[0][:300]}" for name, t in tallies.items() for text in t.server_errors)
    assert not errors, (f"{len(errors)} server errors:\n" + "\n".join(f"{n} x {c}" for c, n in causes.items())
                        + "\n\nThe first ones in full:\n\n" + "\n\n".join(errors[:5]))
    nonconforming = [f"{name}\n{text}" for name, t in tallies.items() for text in t.nonconforming]
    assert not nonconforming, f"{len(nonconforming)} answers not as documented:\n\n" + "\n\n".join(nonconforming[:20])
    assert len(tallies) == len(operations) >= 70
    # Every operation did its work at least once: with the seed's ids where its path has any.
    assert succeeded == set(tallies), sorted(set(tallies) - succeeded)
    # And the seed objects were found (not 404, not refused for want of a token) in most cases naming them; an
    # object deleted is found once.
    lacking = {name: (t.seeded_found, t.seeded) for name, t in with_ids.items()
               if not name.startswith("DELETE") and t.seeded_found < t.seeded / 2}
    assert not lacking, lacking
