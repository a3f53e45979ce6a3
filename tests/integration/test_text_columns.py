"""Every text column of every model, enumerated from the SQLAlchemy metadata, is either written by a request that
this file names (a page form, a JSON body, a tus header, an uploaded file) or excluded with the reason no user
writes it. Each named request is then sent on both stacks (PostgreSQL refuses NUL; SQLite would store it) with a
NUL, a control character and a lone surrogate in that one field, and must be refused (issue 10):

- answered 4xx, never 5xx: the API with problem+json naming the field, a page with the message naming the field
  (on its error page, or flashed on the page the form goes back to);
- nothing in the database changed (every table, every row, compared before and after);
- and, so that a request that stores nothing anyway cannot pass for a refusal, the same request with a good value
  stores it in that column.

The app's rule (app/inputs.py, README "Bad input is refused in one place"): refused, never stripped. A lone
surrogate travels as JSON "\\ud800", as the bytes a careless encoder writes for one (ED A0 80) in a form, a query,
a tus header or a file.
"""

from __future__ import annotations

import base64
import html
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from sqlalchemy import String, select

from app.db import Base
from tests import builders
from tests.web import bearer, csrf_token, login

BAD = {"NUL": "\x00", "control character": "\x1b", "lone surrogate": "\ud800"}
REFUSED_SAYS = "holds control characters or invalid Unicode"


@dataclass(frozen=True)
class Writer:
    """A request that writes `column` ("table.column"), sending `value` in the field named `field`."""

    column: str
    via: str  # "page" or "api": how a refusal is answered
    field: str
    good: str  # a value the request stores as it is
    send: Callable[[World, str], object]
    # What the page's message says to name the field, when not the text rule's own words ("“field” holds ...").
    says: str | None = None


def _bad(good: str, char: str) -> str:
    return good[:1] + char + good[1:]


# Columns no request writes, each with the reason. The test below fails on an entry that is no column (a stale
# reason) and on a text column that is neither here nor written by a Writer.
EXCLUDED: dict[str, str] = {
    "goal_area.public_id": "generated id",
    "goal_value_import.public_id": "generated id",
    "goal_value_import.filename": "the uploaded file's name, reduced by werkzeug's secure_filename before it is kept",
    "goal_value_import.encoding": "the encoding the app recognised or was told (from a list)",
    "goal_value.indicator_key": "an indicator of the indicators file; any other is refused as unknown",
    "goal_value.part": "a misconception's key, written by the app when it computes diagnostic mastery",
    "goal_value.source": "imported, hand or computed, set by the app",
    "goal_target.public_id": "generated id",
    "goal_target.indicator_key": "an indicator of the indicators file; any other is refused as unknown",
    "goal_step.public_id": "generated id",
    "goal_step.indicator_key": "an indicator of the indicators file, chosen from a list; any other is refused",
    "goal_step.kind": "milestone or action, chosen from a list; any other is refused",
    "goal_step.status": "open, done or dropped, chosen from a list; any other is refused",
    "goal_principal_pair.public_id": "generated id",
    "goal_principal_session.public_id": "generated id",
    "goal_principal_session.status": "planned or held, moved by the app",
    "goal_session_action.public_id": "generated id",
    "goal_session_action.status": "open, done or not done, chosen from a list; any other is refused",
    "goal_coach_round.public_id": "generated id",
    "cert_cohort.public_id": "generated id",
    "cert_cohort.role_key": "a role of the standards file, chosen from a list; any other is refused as unknown",
    "cert_cohort.framework_ref": "the current version of the standards, set by the app",
    "cert_attendance.status": "present, absent or excused, chosen from a list; any other is refused",
    "cert_portfolio.public_id": "generated id",
    "cert_portfolio.status": "the portfolio's state, moved by the app",
    "cert_portfolio_entry.standard_key": "a standard of the cohort's role; any other is refused as unknown",
    "cert_portfolio_entry.kind": "clip, cycle, meeting or attempt; any other is refused",
    "cert_assessor_training.framework_ref": "the current version of the standards, set by the app",
    "cert_assessor_training.role_key": "a role of the standards file; any other is refused as unknown",
    "cert_assessor_training.standard_key": "a standard of the role; any other is refused as unknown",
    "cert_score.standard_key": "a standard the assessor was assigned; any other is refused",
    "cert_key.public_multibase": "the public half of a key the app generates",
    "cert_certificate.public_id": "generated id",
    "cert_certificate.holder_name": "copied from the holder's account name when issued",
    "cert_certificate.role_key": "copied from the cohort when issued",
    "cert_certificate.framework_ref": "copied from the cohort when issued",
    "cert_certificate.organization_name": "copied from the holder's organization when issued",
    "cert_certificate.key_multibase": "the public half of the key that signed it",
    "organization.name": "organizations are made by the CLI (`classlab user create --organization`), no request",
    "organization.kind": "an enum the CLI sets with the organization",
    "user_account.password_hash": "argon2 hash the app computes; the password itself is never stored",
    "user_account.timezone": "no request sets it yet: the default zone (Asia/Jerusalem)",
    "api_token.prefix": "the first characters of a secret the app generates",
    "api_token.token_hash": "SHA-256 of a secret the app generates",
    "audit_event.video_public_id": "copied from the lesson's generated id",
    "audit_event.action": "one of the app's own action names",
    "audit_event.detail": "composed by the app from stored values (titles, e-mails, consent), each refused at its own "
                          "field above",
    "class_group.code": "generated by the app (new_class_code)",
    "coach_link.status": "the link's state, moved by the app (pending, active, declined, ended)",
    "community.public_id": "generated id",
    "data_export.status": "the export's state, moved by the app and the worker",
    "data_export.key": "storage key the worker chooses",
    "data_export.error": "written by the worker from its own failure",
    "data_export.public_id": "generated id",
    "notification.kind": "one of the app's notification kinds",
    "notification.link": "a path the app builds from generated ids",
    "video.status": "the pipeline's state machine",
    "video.step": "the pipeline's step name",
    "video.failed_step": "the pipeline's step name",
    "video.failure_reason": "written by the worker",
    "video.sha256": "digest the worker computes",
    "video.container": "ffprobe's name for a whitelisted format",
    "video.video_codec": "ffprobe's name for a whitelisted codec",
    "video.audio_codec": "ffprobe's name for a whitelisted codec",
    "video.web_mode": "the transcode's choice (remux or encode)",
    "video.public_id": "generated id",
    "assignment.public_id": "generated id",
    "coaching_cycle.public_id": "generated id",
    "transcript.language": "Whisper's detected language (or the setting)",
    "transcript.model": "the ASR model setting",
    "transcript_segment.text": "what Whisper heard; the owner's correction goes to `corrected`",
    "upload.id": "generated id",
    "video_asset.kind": "one of the pipeline's rendition kinds",
    "video_asset.key": "deterministic storage key the pipeline builds",
    "video_asset.content_type": "the pipeline's own MIME types",
    "video_clip.cut_status": "the clip cutter's state",
    "video_clip.cut_key": "deterministic storage key the clip cutter builds",
    "video_clip.public_id": "generated id",
    "submission.source": "who entered the answers (student, teacher, csv), set by the app",
    "answer.scored_by": "auto or teacher, set by the app",
    "diagnostic_item.type": "derived from the QTI interaction element (choice, numeric, text), not typed text",
    "diagnostic_item.digest": "digest the app computes of the item",
    "diagnostic.key": "the starter bank, imported by the CLI from the YAML in the repository (`classlab diagnostics "
                      "import`)",
    "diagnostic.title": "the starter bank (CLI)",
    "diagnostic.description": "the starter bank (CLI)",
    "misconception.key": "the starter bank (CLI)",
    "diagnostic_topic.key": "the starter bank (CLI)",
    "diagnostic_topic.title": "the starter bank (CLI)",
    "class_group.language": "one of a closed set (en, he, ar) the service checks before anything is stored; never "
                            "free text",
    "class_group.digits": "one of a closed set (western, arabic-indic) the service checks; never free text",
    "misconception.topic": "the starter bank (CLI)",
    "misconception.title": "the starter bank (CLI)",
    "misconception.description": "the starter bank (CLI)",
    "misconception.typical_reasoning": "the starter bank (CLI)",
    "observation_framework.key": "framework YAML imported by the CLI (`classlab frameworks import`)",
    "observation_framework.title": "framework YAML imported by the CLI",
    "video.purpose": "lesson or rehearsal, set by the app when a recording is attached to an attempt",
    "plan_activity.key": "from the activity library's files, checked against [a-z0-9-] before anything is stored",
    "plan_activity.kind": "from the activity library's files, one of five kinds (checked)",
    "plan_activity.grouping": "from the activity library's files, one of four groupings (checked)",
    "plan_prerequisite.first": "from the activity library's files, a key of the misconception bank (checked)",
    "plan_prerequisite.after": "from the activity library's files, a key of the misconception bank (checked)",
    "learning_plan.public_id": "generated id",
    "learning_plan.kind": "student or group, set by the app",
    "plan_goal.misconception": "a misconception the student's result revealed, copied by the app",
    "plan_goal.status": "working, met, partly or not yet: a form's value is checked against these before storing",
    "plan_goal.check_item": "an item key of the bank, chosen by the app",
    "plan_goal.check_result": "correct or incorrect: a form's value is checked against these before storing",
    "community.language": "one of a closed set (he, ar, en) the service checks before anything is stored",
    "plc_protocol.key": "from the protocol library's files, checked against [a-z0-9-] before anything is stored",
    "lesson_analysis.status": "waiting, running, done or failed, moved by the app and the worker",
    "lesson_analysis.reason": "written by the worker from its own failure",
    "lesson_analysis.language": "copied from the lesson's language when it is measured",
    "lesson_analysis.teacher_set_by": "machine or person, set by the app",
    "lesson_marker.public_id": "generated id",
    "lesson_marker.kind": "one of the app's marker kinds, found by the worker",
    "lesson_marker.state": "machine, confirmed, corrected or dismissed, set by the app from a verdict it checks",
    "lesson_marker.corrected_kind": "one of the app's marker kinds, checked before storing",
    "video.language": "he, ar or en, checked against these before storing",
    "plc_meeting.public_id": "generated id",
    "plc_meeting.mode": "in person, online or hybrid: a form's value is checked against these before storing",
    "plc_meeting.status": "planned, live or closed, moved by the app",
    "plc_meeting_step.evidence": "none, clip, result, item or attempt: checked before storing",
    "plc_meeting_step.responses": "open or held: checked before storing",
    "plc_meeting_step.protocol_key": "a protocol of the library, looked up before storing",
    "plc_meeting_step.item_key": "copied by the app from the assignment's item the question number names",
    "plan_goal_activity.activity_key": "a key of the activity library, looked up before anything is stored",
    "plan_change.what": "a code the app writes for each kind of change",
    "plan_change.before": "the value before the change, copied by the app from a stored (checked) value",
    "plan_change.after": "the value after the change, copied by the app from a checked value",
    "rehearsal_scenario.public_id": "generated id",
    "rehearsal_scenario.key": "from a scenario file, checked against [a-z0-9-] before anything is stored",
    "rehearsal_scenario.topic": "from a scenario file, one of the bank's topic keys (checked)",
    "rehearsal_scenario.move": "from a scenario file, one of four moves (checked)",
    "rehearsal_scenario.misconception_key": "from a scenario file, a key of the misconception bank (checked)",
    "rehearsal_scenario.yaml_text": "re-written by the app from the validated record; the YAML sent is checked by the "
                                    "text rule (and by app.yamlbank for a file) and refused whole",
    "rehearsal_scenario.source": "library, authored, misconception, diagnostic or clip: set by the app",
    "rehearsal_scenario.source_ref": "a misconception key or a generated id the app copies",
    "rehearsal_attempt.public_id": "generated id",
    "rehearsal_attempt.language": "one of the scenario's languages, chosen by the app",
    "rehearsal_attempt.media": "camera or mic, checked by the service (and a CHECK constraint)",
    "rehearsal_group.public_id": "generated id",
    "rehearsal_score.criterion": "a criterion key of the scenario's rubric, checked before anything is stored",
}


def text_columns() -> set[str]:
    """Every String and Text column (enums included: they are VARCHARs) of every model."""
    import app.models  # noqa: F401 - every module's tables in Base.metadata

    return {f"{table.name}.{column.name}" for table in Base.metadata.tables.values() for column in table.columns
            if isinstance(column.type, String)}


# The world the requests act in ------------------------------------------------------------------------------


class World:
    """People signed in with their own cookies and tokens, and the objects the requests write to."""

    def __init__(self, app, session, people):
        from app.coaching import service as coaching
        from app.diagnostics import bankfile
        from app.diagnostics import service as diagnostics
        from app.diagnostics.models import Student
        from app.feedback import service as feedback
        from app.video import clips

        self.app, self.people = app, people
        diagnostics.import_bank(session, None, bankfile.load_bank())
        session.commit()
        teacher = people["teacher"]
        self.lesson = builders.shared(session, builders.transcribed(
            session, builders.ready_video(session, teacher, "Fractions"), ("first line", "second line"))).public_id
        self.consent_lesson = builders.shared(session, builders.ready_video(session, teacher, "Consent")).public_id
        clip = clips.create_clip(session, teacher, self.lesson, title="A clip", start=2, end=20)
        session.commit()
        self.clip = clip.public_id
        self.comment = feedback.add_comment(session, teacher, self.lesson, body="First", start=3).id
        session.commit()
        self.community = builders.community(session, people["facilitator"], "PLC").public_id
        from app.db import utcnow
        from app.meetings import service as meetings

        meeting = meetings.schedule(session, people["facilitator"], self.community, title="Week 1", starts_at=utcnow())
        meetings.add_step(session, people["facilitator"], meeting.public_id, lang="en", title="Notice", prompt="What?",
                          minutes=5)
        meetings.start(session, people["facilitator"], meeting.public_id)
        session.commit()
        self.meeting = meeting.public_id
        link = builders.active_coach_link(session, people["leader"], people["coach"].email, teacher)
        self.link = link.id
        self.cycle = coaching.start_cycle(session, people["coach"], link.id, "Wait time").public_id
        session.commit()
        from app.rehearsals import service as rehearsals

        rehearsals.import_library(session, builders.SCENARIOS)
        self.scenario = rehearsals.library(session, teacher)[0].public_id
        self.attempt = rehearsals.start_attempt(session, teacher, self.scenario).public_id
        session.commit()

        group = builders.diagnostic_class(session, teacher, "7B", students=(("S01", None), ("S02", None),
                                                                             ("S03", None)))
        self.klass = group.id
        self.students = {s.code: s.id for s in group.students}
        text_item = next(i for i in diagnostics.current_items(session) if i.type == "text")
        self.item, self.item_key = text_item.id, text_item.key
        self.pattern = text_item.spec["rubric"]["patterns"][0]["misconception"]
        self.lowest_level = min(level["score"] for level in text_item.spec["rubric"]["levels"])
        self.assignment = builders.open_assignment(session, teacher, group, title="Explain", diagnostic_key=None,
                                                   item_keys=[text_item.key]).public_id
        scored = diagnostics.student_answers(session, session.get(Student, self.students["S03"]), self.assignment,
                                             {text_item.id: "because 8 is bigger"}, submit=True)
        session.commit()
        self.answer = scored.answers[0].id
        self.qti = self._qti_item(session, text_item)
        import datetime as dt

        from app.plans.models import LearningPlan, PlanGoal, PlanMember

        plan = LearningPlan(class_group=group, teacher_id=teacher.id, title="Plan",
                            target_date=dt.date.today() + dt.timedelta(days=28))
        plan.members = [PlanMember(student_id=self.students["S01"])]
        plan.goals = [PlanGoal(position=1, misconception=self.pattern)]
        session.add(plan)
        session.commit()
        self.plan, self.goal = plan.public_id, plan.goals[0].id

        cert = builders.certification_world(app.extensions["classlab.settings"], session, people)
        self.aims = builders.goals_world(session, people)
        from app.goals import service as goals

        first = goals.record(session, people["coach"], self.aims["session"], notes="First",
                             actions=[{"text": "Support group", "owner": "Dana", "due": "2027-01-10"}])
        session.flush()
        self.aims["action"] = first.actions[0].public_id
        self.aims["second"] = goals.plan_session(session, people["coach"], self.aims["pair"],
                                                 held_on="2027-01-20").public_id
        session.commit()
        self.cohort, self.portfolio, self.entry = cert["cohort"], cert["portfolio"], cert["entry"]
        self.scored, self.score_standard, self.certificate = cert["scored"], cert["standard"], cert["certificate"]

        self.clients, self.tokens, self.csrf = {}, {}, {}
        self.last_client = None  # the page client of the last form posted, to read the message it was sent back with
        for who in ("teacher", "coach", "facilitator", "admin", "colleague"):
            client = app.test_client()
            login(client, people[who].email, people["password"])
            self.clients[who] = client
            self.csrf[who] = csrf_token(client, "/diagnostics/")
            self.tokens[who] = bearer(session, people[who])
        student = app.test_client()
        self.csrf["student"] = csrf_token(student, "/s/")
        signed = student.post("/s/", data={"class_code": group.code, "student_code": "S01",
                                            "csrf_token": self.csrf["student"]})
        assert signed.status_code == 302, signed.get_data(as_text=True)[:300]
        self.clients["student"] = student

    @staticmethod
    def _qti_item(session, item) -> str:
        from app.diagnostics import qti
        from app.diagnostics.service import spec_item

        return qti.item_to_qti(spec_item(item.spec))

    # Requests. Text is encoded as a careless client would: a lone surrogate as its three UTF-8-like bytes.

    def form(self, who: str, url: str, fields: dict[str, str]):
        body = urlencode({**fields, "csrf_token": self.csrf[who]}, encoding="utf-8", errors="surrogatepass")
        self.last_client = self.clients[who]
        return self.clients[who].post(url, data=body, content_type="application/x-www-form-urlencoded")

    def multipart(self, who: str, url: str, fields: dict[str, str], files: dict[str, tuple[bytes, str]]):
        parts = []
        for name, value in {**fields, "csrf_token": self.csrf[who]}.items():
            parts.append(f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                         + value.encode("utf-8", "surrogatepass"))
        for name, (data, filename) in files.items():
            parts.append(f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                         "Content-Type: application/octet-stream\r\n\r\n".encode() + data)
        boundary = "----classlab" + uuid.uuid4().hex
        self.last_client = self.clients[who]
        body = b"".join(b"--" + boundary.encode() + b"\r\n" + part + b"\r\n" for part in parts)
        return self.clients[who].post(url, data=body + b"--" + boundary.encode() + b"--\r\n",
                                      content_type=f"multipart/form-data; boundary={boundary}")

    def json(self, who: str, method: str, url: str, body: dict):
        # json.dumps writes NUL as \u0000 and a lone surrogate as \ud800, as any JSON encoder does.
        return self.app.test_client().open(url, method=method, data=json.dumps(body), headers=self.tokens[who],
                                           content_type="application/json")

    def raw(self, who: str, url: str, data: bytes, content_type: str):
        return self.app.test_client().post(url, data=data, headers=self.tokens[who], content_type=content_type)

    def tus(self, who: str, metadata: dict[str, str]):
        pairs = ",".join(f"{key} {base64.b64encode(value.encode('utf-8', 'surrogatepass')).decode()}"
                         for key, value in metadata.items())
        return self.app.test_client().post("/api/v1/uploads/", headers={
            **self.tokens[who], "Tus-Resumable": "1.0.0", "Upload-Length": "100", "Upload-Metadata": pairs})

    def people_form(self, value_of: dict[str, str]):
        fields = {"email": f"p{uuid.uuid4().hex[:8]}@a.example", "display_name": "Person", "role": "teacher",
                  "password": "long enough password"}
        return self.form("admin", "/people", {**fields, **value_of})

    def qti_upload(self, replace: tuple[str, str], topic: str | None = None):
        xml = self.qti.replace(*replace, 1)
        fields = {"topic": topic} if topic is not None else {}
        answer = self.multipart("admin", "/diagnostics/bank/qti", fields,
                                {"file": (xml.encode("utf-8", "surrogatepass"), "item.xml")})
        preview = answer.headers.get("Location", "")
        if answer.status_code != 302 or "/diagnostics/bank/qti/" not in preview:
            return answer  # refused as it arrived
        # the file was read and kept: import its items from the preview, as the administrator would
        page = self.clients["admin"].get(preview).get_data(as_text=True)
        keys = [html.unescape(k) for k in re.findall(r'name="item" value="([^"]*)"', page)]
        return self.clients["admin"].post(preview, data={"csrf_token": self.csrf["admin"], "action": "import",
                                                         "item": keys, "topic": topic or ""})

    def stem_source(self) -> str:
        start = self.qti.index('data-cl-source="', self.qti.index('class="cl-stem"')) + len('data-cl-source="')
        return self.qti[start:self.qti.index('"', start)]


def _csv(text: str) -> bytes:
    # With the byte order mark the file must be UTF-8 (app.diagnostics.service.decode_csv), so the bytes of a lone
    # surrogate are refused instead of being read as Windows-1255 letters.
    return b"\xef\xbb\xbf" + text.encode("utf-8", "surrogatepass")


OPEN, CLOSE = "2020-01-01T08:00", "2099-01-01T08:00"
OPEN_UTC, CLOSE_UTC = "2020-01-01T08:00:00+00:00", "2099-01-01T08:00:00+00:00"
FILE = "The file "  # both of the CSV reader's refusals ("The file holds control characters", "The file starts as")
QTI = "This is not QTI we can read"

WRITERS: list[Writer] = [
    # goals
    Writer("goal_area.code", "page", "code", "480077", lambda w, v: w.form("admin", "/goals/areas", {
        "organization": str(w.people["orgs"]["b"].id), "code": v})),
    Writer("goal_target.note", "page", "note", "The network's target", lambda w, v: w.form(
        "admin", f"/goals/areas/{w.aims['a']}/targets", {"indicator": "math5_share", "year": "2029", "value": "18",
                                                          "note": v})),
    Writer("goal_step.title", "page", "title", "Extra lessons", lambda w, v: w.form(
        "admin", f"/goals/areas/{w.aims['a']}/steps", {"kind": "action", "title": v, "owner": "Dana",
                                                        "due": "2027-03-01"})),
    Writer("goal_step.owner_name", "page", "owner", "Dana Cohen", lambda w, v: w.form(
        "admin", f"/goals/areas/{w.aims['a']}/steps", {"kind": "action", "title": "Parents' evening", "owner": v,
                                                        "due": "2027-03-01"})),
    Writer("goal_principal_session.agenda", "page", "agenda", "The track's data", lambda w, v: w.form(
        "coach", f"/goals/pairs/{w.aims['pair']}/sessions", {"date": "2027-02-01", "agenda": v})),
    Writer("goal_principal_session.notes", "page", "notes", "We looked at grade 10", lambda w, v: w.form(
        "coach", f"/goals/sessions/{w.aims['session']}/record", {"notes": v})),
    Writer("goal_session_action.text", "page", "action-1", "Open a support group", lambda w, v: w.form(
        "coach", f"/goals/sessions/{w.aims['session']}/record", {"notes": "Notes", "action-1": v, "owner-1": "Dana",
                                                                 "due-1": "2027-01-10"})),
    Writer("goal_session_action.owner_name", "page", "owner-1", "Rina Levi", lambda w, v: w.form(
        "coach", f"/goals/sessions/{w.aims['session']}/record", {"notes": "Notes", "action-1": "Call parents",
                                                                 "owner-1": v, "due-1": "2027-01-10"})),
    Writer("goal_session_action.follow_up", "page", "note-1", "Started in January", lambda w, v: w.form(
        "coach", f"/goals/sessions/{w.aims['second']}/record", {"notes": "Follow-up", "follow-1": w.aims["action"],
                                                                "status-1": "done", "note-1": v})),
    Writer("goal_coach_round.agenda", "page", "agenda", "Reading track data", lambda w, v: w.form(
        "admin", "/goals/rounds", {"year": "2027", "number": "5", "date": "2027-03-01", "agenda": v})),
    Writer("goal_coach_round.notes", "page", "notes", "We practised", lambda w, v: w.form(
        "admin", f"/goals/rounds/{w.aims['round']}/record", {"notes": v})),
    # certification
    Writer("cert_cohort.name", "page", "name", "Coaches 2028", lambda w, v: w.form("admin", "/standards/cohorts", {
        "name": v, "role": "instructional_coach", "deadline": "2099-01-01T08:00", "double_share": "20"})),
    Writer("cert_session.title", "page", "title", "Meeting 1", lambda w, v: w.form(
        "admin", f"/standards/cohorts/{w.cohort}/sessions", {"title": v, "held_at": "2027-01-05T16:00"})),
    Writer("cert_session.place", "page", "place", "Haifa", lambda w, v: w.form(
        "admin", f"/standards/cohorts/{w.cohort}/sessions", {"title": "Meeting 2", "held_at": "2027-01-05T16:00",
                                                             "place": v})),
    Writer("cert_portfolio_entry.commentary", "page", "commentary", "It shows 1.2", lambda w, v: w.form(
        "coach", f"/standards/portfolios/{w.portfolio}/entries/{w.entry}", {"commentary": v})),
    Writer("cert_portfolio_entry.commentary", "api", "commentary", "It shows 1.3", lambda w, v: w.json(
        "coach", "PATCH", f"/api/v1/standards/portfolios/{w.portfolio}/entries/{w.entry}", {"commentary": v})),
    Writer("cert_score.rationale", "page", "rationale", "Shows 1.1 and 1.2", lambda w, v: w.form(
        "colleague", f"/standards/portfolios/{w.scored}/scores", {"standard": w.score_standard, "level": "3",
                                                                  "rationale": v})),
    Writer("cert_certificate.revoked_reason", "page", "reason", "Not the candidate's own", lambda w, v: w.form(
        "admin", f"/standards/certificates/{w.certificate}/revoke", {"reason": v})),
    # PLC meetings
    Writer("plc_meeting.title", "page", "title", "Week 2", lambda w, v: w.form("facilitator", "/meetings/", {
        "community": w.community, "title": v, "starts_at": "2027-01-05T16:00", "mode": "online"})),
    Writer("plc_meeting.title", "api", "title", "Week 3", lambda w, v: w.json(
        "facilitator", "POST", "/api/v1/meetings/",
        {"community": w.community, "title": v, "starts_at": "2027-01-05T16:00:00+02:00"})),
    Writer("plc_meeting.place", "page", "place", "Room 12", lambda w, v: w.form("facilitator", "/meetings/", {
        "community": w.community, "title": "Week 4", "starts_at": "2027-01-05T16:00", "mode": "online",
        "place": v})),
    Writer("plc_meeting.summary", "page", "summary", "We saw counting", lambda w, v: w.form(
        "facilitator", f"/meetings/{w.meeting}/summary", {"summary": v})),
    Writer("plc_meeting.summary", "api", "summary", "We saw counting again", lambda w, v: w.json(
        "facilitator", "PUT", f"/api/v1/meetings/{w.meeting}/summary", {"summary": v})),
    Writer("plc_response.text", "page", "text", "They count pieces", lambda w, v: w.form(
        "facilitator", f"/meetings/{w.meeting}/responses", {"text": v})),
    Writer("plc_response.text", "api", "text", "They compare sizes", lambda w, v: w.json(
        "facilitator", "POST", f"/api/v1/meetings/{w.meeting}/responses", {"text": v})),
    Writer("plc_next_step.text", "page", "text", "Try strips", lambda w, v: w.form(
        "facilitator", f"/meetings/{w.meeting}/next-steps", {"text": v})),
    Writer("plc_next_step.text", "api", "text", "Try strips again", lambda w, v: w.json(
        "facilitator", "POST", f"/api/v1/meetings/{w.meeting}/next-steps", {"text": v})),
    # learning plans
    Writer("learning_plan.title", "page", "title", "Noa: fractions", lambda w, v: w.form(
        "teacher", f"/plans/{w.plan}/edit", {"title": v, "target_date": ""})),
    Writer("plan_goal.note", "page", "note", "Strips helped", lambda w, v: w.form(
        "teacher", f"/plans/{w.plan}/goals/{w.goal}", {"note": v})),
    # rehearsals
    Writer("rehearsal_attempt.reflection", "page", "reflection", "I answered too soon", lambda w, v: w.form(
        "teacher", f"/rehearsals/attempts/{w.attempt}/reflect", {"reflection": v})),
    Writer("rehearsal_group.note", "page", "note", "Thursday after school", lambda w, v: w.form(
        "facilitator", "/rehearsals/groups", {"scenario": w.scenario, "community": w.community, "note": v})),
    # accounts
    Writer("user_account.email", "page", "email", "made.by.page@a.example",
           lambda w, v: w.people_form({"email": v})),
    Writer("user_account.display_name", "page", "display_name", "Shown Name",
           lambda w, v: w.people_form({"display_name": v})),
    Writer("user_account.role", "page", "role", "coach", lambda w, v: w.people_form({"role": v})),
    Writer("user_account.locale", "page", "locale", "he",
           lambda w, v: w.form("colleague", "/language", {"locale": v, "next": "/dashboard"})),
    Writer("api_token.name", "page", "name", "page token", lambda w, v: w.form("teacher", "/tokens",
                                                                                  {"name": v, "days": "7"})),
    Writer("api_token.name", "api", "name", "api token", lambda w, v: w.app.test_client().post(
        "/api/v1/accounts/tokens", data=json.dumps({"email": w.people["teacher"].email,
                                                    "password": w.people["password"], "name": v}),
        content_type="application/json")),
    # lessons: the tus upload's metadata names the lesson
    Writer("video.title", "api", "title", "Tus lesson", lambda w, v: w.tus("teacher", {"title": v,
                                                                                      "filename": "a.mp4"})),
    Writer("video.original_filename", "api", "filename", "camera.mp4",
           lambda w, v: w.tus("teacher", {"filename": v})),
    Writer("video.consent", "page", "status", "partial", lambda w, v: w.form(
        "teacher", f"/videos/{w.consent_lesson}/consent", {"status": v, "note": ""})),
    Writer("video.consent", "api", "status", "none", lambda w, v: w.json(
        "teacher", "PUT", f"/api/v1/videos/{w.consent_lesson}/consent", {"status": v})),
    Writer("video.consent_note", "page", "note", "signed forms", lambda w, v: w.form(
        "teacher", f"/videos/{w.consent_lesson}/consent", {"status": "full", "note": v})),
    Writer("video.consent_note", "api", "note", "forms in the office", lambda w, v: w.json(
        "teacher", "PUT", f"/api/v1/videos/{w.consent_lesson}/consent", {"status": "full", "note": v})),
    Writer("transcript_segment.corrected", "page", "segment-0", "first line fixed", lambda w, v: w.form(
        "teacher", f"/videos/{w.lesson}/transcript/edit", {"segment-0": v})),
    Writer("transcript_segment.corrected", "api", "text", "second line fixed", lambda w, v: w.json(
        "teacher", "PUT", f"/api/v1/videos/{w.lesson}/transcript/1", {"text": v})),
    Writer("video_clip.title", "page", "title", "Page clip", lambda w, v: w.form(
        "teacher", f"/videos/{w.lesson}/clips", {"title": v, "start": "1", "end": "5", "note": ""})),
    Writer("video_clip.title", "api", "title", "Api clip", lambda w, v: w.json(
        "teacher", "POST", f"/api/v1/videos/{w.lesson}/clips", {"title": v, "start": 1, "end": 5})),
    Writer("video_clip.note", "page", "note", "page note", lambda w, v: w.form(
        "teacher", f"/videos/{w.lesson}/clips", {"title": "Noted", "start": "1", "end": "5", "note": v})),
    Writer("video_clip.note", "api", "note", "api note", lambda w, v: w.json(
        "teacher", "POST", f"/api/v1/videos/{w.lesson}/clips", {"title": "Noted", "start": 1, "end": 5, "note": v})),
    # feedback
    Writer("video_comment.body", "page", "body", "page comment", lambda w, v: w.form(
        "teacher", f"/videos/{w.lesson}/comments", {"body": v, "start": "0:05"})),
    Writer("video_comment.body", "page", "body", "page reply", lambda w, v: w.form(
        "teacher", f"/videos/{w.lesson}/comments", {"body": v, "start": "0:03", "parent_id": str(w.comment)})),
    Writer("video_comment.body", "page", "body", "page clip comment", lambda w, v: w.form(
        "teacher", f"/videos/clips/{w.clip}/comments", {"body": v, "start": "0:04"})),
    Writer("video_comment.body", "page", "body", "page edit", lambda w, v: w.form(
        "teacher", f"/videos/comments/{w.comment}/edit", {"body": v})),
    Writer("video_comment.body", "api", "body", "api comment", lambda w, v: w.json(
        "teacher", "POST", f"/api/v1/videos/{w.lesson}/comments", {"body": v, "start": 6})),
    Writer("video_comment.body", "api", "body", "api clip comment", lambda w, v: w.json(
        "teacher", "POST", f"/api/v1/videos/clips/{w.clip}/comments", {"body": v, "start": 4})),
    Writer("video_comment.body", "api", "body", "api edit", lambda w, v: w.json(
        "teacher", "PATCH", f"/api/v1/videos/comments/{w.comment}", {"body": v})),
    Writer("video_comment.quote", "page", "quote", "first line", lambda w, v: w.form(
        "teacher", f"/videos/{w.lesson}/comments", {"body": "quoted", "start": "0:01", "quote": v})),
    Writer("video_comment.quote", "api", "quote", "second line", lambda w, v: w.json(
        "teacher", "POST", f"/api/v1/videos/{w.lesson}/comments", {"body": "quoted", "start": 11, "quote": v})),
    # sharing
    Writer("video_share.right", "page", "right", "view", lambda w, v: w.form(
        "teacher", f"/videos/{w.lesson}/share", {"email": w.people["colleague"].email, "right": v})),
    Writer("video_share.right", "page", "right", "comment", lambda w, v: w.form(
        "teacher", f"/videos/clips/{w.clip}/share", {"email": w.people["colleague"].email, "right": v})),
    Writer("video_share.right", "api", "right", "view", lambda w, v: w.json(
        "teacher", "POST", f"/api/v1/videos/{w.lesson}/shares", {"email": w.people["other_teacher"].email,
                                                                   "right": v})),
    Writer("video_share.right", "api", "right", "comment", lambda w, v: w.json(
        "teacher", "POST", f"/api/v1/videos/clips/{w.clip}/shares", {"email": w.people["other_teacher"].email,
                                                                       "right": v})),
    # communities
    Writer("community.name", "page", "name", "Page PLC", lambda w, v: w.form(
        "facilitator", "/communities/", {"name": v, "description": ""})),
    Writer("community.name", "api", "name", "Api PLC", lambda w, v: w.json(
        "facilitator", "POST", "/api/v1/communities/", {"name": v})),
    Writer("community.description", "page", "description", "page description", lambda w, v: w.form(
        "facilitator", "/communities/", {"name": "Described", "description": v})),
    Writer("community.description", "api", "description", "api description", lambda w, v: w.json(
        "facilitator", "POST", "/api/v1/communities/", {"name": "Described", "description": v})),
    Writer("community_member.role", "page", "role", "facilitator", lambda w, v: w.form(
        "facilitator", f"/communities/{w.community}/members", {"email": w.people["colleague"].email, "role": v})),
    Writer("community_member.role", "api", "role", "facilitator", lambda w, v: w.json(
        "facilitator", "POST", f"/api/v1/communities/{w.community}/members",
        {"email": w.people["teacher"].email, "role": v})),
    # coaching
    Writer("coaching_cycle.focus_goal", "page", "focus_goal", "Questions", lambda w, v: w.form(
        "coach", f"/coaching/links/{w.link}/cycles", {"focus_goal": v})),
    Writer("coaching_cycle.focus_goal", "page", "focus_goal", "Edited goal", lambda w, v: w.form(
        "coach", f"/coaching/cycles/{w.cycle}/edit", {"focus_goal": v})),
    Writer("coaching_cycle.focus_goal", "api", "focus_goal", "Api goal", lambda w, v: w.json(
        "coach", "POST", f"/api/v1/coaching/links/{w.link}/cycles", {"focus_goal": v})),
    Writer("coaching_cycle.focus_goal", "api", "focus_goal", "Patched goal", lambda w, v: w.json(
        "coach", "PATCH", f"/api/v1/coaching/cycles/{w.cycle}", {"focus_goal": v})),
    Writer("coaching_cycle.next_steps", "page", "next_steps", "Try think-pair-share", lambda w, v: w.form(
        "coach", f"/coaching/cycles/{w.cycle}/edit", {"next_steps": v})),
    Writer("coaching_cycle.next_steps", "api", "next_steps", "Count to five", lambda w, v: w.json(
        "coach", "PATCH", f"/api/v1/coaching/cycles/{w.cycle}", {"next_steps": v})),
    # diagnostics: classes, rosters, assignments
    Writer("class_group.name", "page", "name", "Page class", lambda w, v: w.form(
        "teacher", "/diagnostics/classes", {"name": v})),
    Writer("class_group.name", "api", "name", "Api class", lambda w, v: w.json(
        "teacher", "POST", "/api/v1/diagnostics/classes", {"name": v})),
    Writer("student.code", "page", "code", "PG01", lambda w, v: w.form(
        "teacher", f"/diagnostics/classes/{w.klass}/students", {"code": v, "name": ""})),
    Writer("student.code", "page", "file", "PF01", lambda w, v: w.multipart(
        "teacher", f"/diagnostics/classes/{w.klass}/students", {}, {"file": (_csv(f"code,name\n{v},\n"), "r.csv")}),
        says=FILE),
    Writer("student.code", "api", "code", "AP01", lambda w, v: w.json(
        "teacher", "POST", f"/api/v1/diagnostics/classes/{w.klass}/students", {"code": v})),
    Writer("student.code", "api", "file", "AF01", lambda w, v: w.raw(
        "teacher", f"/api/v1/diagnostics/classes/{w.klass}/roster", _csv(f"code,name\n{v},\n"), "text/csv")),
    Writer("student.name", "page", "name", "Dana", lambda w, v: w.form(
        "teacher", f"/diagnostics/classes/{w.klass}/students", {"code": "", "name": v})),
    Writer("student.name", "page", "file", "Yossi", lambda w, v: w.multipart(
        "teacher", f"/diagnostics/classes/{w.klass}/students", {}, {"file": (_csv(f"code,name\n,{v}\n"), "r.csv")}),
        says=FILE),
    Writer("student.name", "api", "name", "Samir", lambda w, v: w.json(
        "teacher", "POST", f"/api/v1/diagnostics/classes/{w.klass}/students", {"name": v})),
    Writer("student.name", "api", "file", "Noa", lambda w, v: w.raw(
        "teacher", f"/api/v1/diagnostics/classes/{w.klass}/roster", _csv(f"code,name\n,{v}\n"), "text/csv")),
    Writer("assignment.title", "page", "title", "Page assignment", lambda w, v: w.form(
        "teacher", f"/diagnostics/classes/{w.klass}/assignments",
        {"title": v, "diagnostic": "comparing-and-adding-fractions", "opens_at": OPEN, "closes_at": CLOSE})),
    Writer("assignment.title", "api", "title", "Api assignment", lambda w, v: w.json(
        "teacher", "POST", f"/api/v1/diagnostics/classes/{w.klass}/assignments",
        {"title": v, "diagnostic": "comparing-and-adding-fractions", "opens_at": OPEN_UTC, "closes_at": CLOSE_UTC})),
    Writer("assignment.diagnostic_key", "page", "diagnostic", "comparing-and-adding-fractions", lambda w, v: w.form(
        "teacher", f"/diagnostics/classes/{w.klass}/assignments",
        {"title": "By key", "diagnostic": v, "opens_at": OPEN, "closes_at": CLOSE})),
    Writer("assignment.diagnostic_key", "api", "diagnostic", "comparing-and-adding-fractions", lambda w, v: w.json(
        "teacher", "POST", f"/api/v1/diagnostics/classes/{w.klass}/assignments",
        {"title": "By key", "diagnostic": v, "opens_at": OPEN_UTC, "closes_at": CLOSE_UTC})),
    # diagnostics: answers, by the student, the teacher's grid, its CSV and the API, and the teacher's scoring
    Writer("answer.value", "page", "i-{item}", "smaller parts", lambda w, v: w.form(
        "student", f"/s/a/{w.assignment}", {f"i-{w.item}": v})),
    Writer("answer.value", "page", "a-{S02}-{item}", "grid answer", lambda w, v: w.form(
        "teacher", f"/diagnostics/assignments/{w.assignment}/grid", {f"a-{w.students['S02']}-{w.item}": v})),
    Writer("answer.value", "page", "file", "csv answer", lambda w, v: w.multipart(
        "teacher", f"/diagnostics/assignments/{w.assignment}/grid", {},
        {"file": (_csv(f"code,{w.item_key}\nS02,{v}\n"), "answers.csv")}), says=FILE),
    Writer("answer.value", "api", "answers.0.value", "api answer", lambda w, v: w.json(
        "teacher", "PUT", f"/api/v1/diagnostics/assignments/{w.assignment}/answers",
        {"answers": [{"student": "S02", "item": w.item_key, "value": v}]})),
    Writer("answer.misconception", "page", "misconception", "{pattern}", lambda w, v: w.form(
        "teacher", f"/diagnostics/answers/{w.answer}/score", {"level": str(w.lowest_level), "misconception": v})),
    # the item bank: a QTI item uploaded by an administrator
    Writer("diagnostic_item.key", "page", "file", "qti-imported-item", lambda w, v: w.qti_upload(
        (f'identifier="{w.item_key}"', f'identifier="{v}"')), says=QTI),
    Writer("diagnostic_item.topic", "page", "file", "imported-topic", lambda w, v: w.qti_upload(
        ('data-cl-topic="fractions"', f'data-cl-topic="{v}"')), says=QTI),
    Writer("diagnostic_item.topic", "page", "topic", "given-topic", lambda w, v: w.qti_upload(
        ('data-cl-topic="fractions"', ""), topic=v)),
    Writer("diagnostic_item.stem", "page", "file", "Is 1/8 less than 1/6?", lambda w, v: w.qti_upload(
        (f'data-cl-source="{w.stem_source()}"', f'data-cl-source="{v}"')), says=QTI),
]


def test_every_text_column_is_written_by_a_listed_request_or_excluded_with_a_reason():
    columns = text_columns()
    mapped = {writer.column for writer in WRITERS}
    assert len(columns) > 70, columns  # the walk found the models
    assert not EXCLUDED.keys() - columns, f"excluded but no such column: {sorted(EXCLUDED.keys() - columns)}"
    assert not mapped - columns, f"mapped but no such column: {sorted(mapped - columns)}"
    assert not mapped & EXCLUDED.keys(), f"both mapped and excluded: {sorted(mapped & EXCLUDED.keys())}"
    assert all(len(reason) > 10 for reason in EXCLUDED.values())
    unmapped = columns - mapped - EXCLUDED.keys()
    assert not unmapped, (f"text columns no request of this file writes and no reason excludes: {sorted(unmapped)}."
                          " Add the page form and API request that write each (or the reason nobody does).")


# Sending them -------------------------------------------------------------------------------------------------


@pytest.fixture
def settings(stack):
    """The stack's settings, with room for the token exchanges this test makes (the login limit is per minute)."""
    import os

    from app.config import load_settings

    return load_settings({**os.environ, **stack, "LOGIN_RATE_LIMIT": "1000 per minute"})


def _row(row) -> str:
    return repr(tuple(row))  # JSON columns hold lists and dicts: compared as text


def _database(engine) -> dict[str, list[str]]:
    """Every row of every table."""
    with engine.connect() as conn:
        return {table.name: [_row(row) for row in conn.execute(select(table).order_by(*table.primary_key.columns))]
                for table in Base.metadata.sorted_tables}


def _changes(before: dict, after: dict) -> list[str]:
    found = []
    for name, rows in after.items():
        added, removed = set(rows) - set(before[name]), set(before[name]) - set(rows)
        if added or removed:
            found.append(f"{name}: +{sorted(added)[:2]} -{sorted(removed)[:2]}")
    return found


def _rows_with(engine, column: str, value: str) -> set[str]:
    table_name, column_name = column.split(".")
    table = Base.metadata.tables[table_name]
    with engine.connect() as conn:
        return {_row(row) for row in conn.execute(select(table).where(table.c[column_name] == value))}


def _refusal_problem(writer: Writer, field: str, resp, client) -> str | None:
    """What is wrong with the answer to a bad value, or None when it is the refusal the rule asks for."""
    status, text = resp.status_code, resp.get_data(as_text=True)
    if status >= 500:
        return f"answered {status}: {text[:200]}"
    if writer.via == "api":
        if not 400 <= status < 500 or resp.mimetype != "application/problem+json":
            return f"answered {status} {resp.mimetype}, not a 4xx problem+json: {text[:200]}"
        problem = resp.get_json()
        if problem.get("field") != field and field not in problem.get("detail", ""):
            return f"the problem does not name {field!r}: {problem}"
        return None
    says = writer.says or f"“{field}” {REFUSED_SAYS}"
    if status in (302, 303):
        shown = client.get(resp.headers["Location"])
        if shown.status_code >= 500:
            return f"the page it went back to answered {shown.status_code}"
        text = shown.get_data(as_text=True)
    elif not 400 <= status < 500:
        return f"answered {status}, neither a 4xx nor back to the form"
    if says in text:
        return None
    shown = re.findall(r'class="flash[^"]*"[^>]*>([^<]*)<', text) or re.findall(r"<main.*?</main>", text, re.S)[:1]
    return f"the page does not say {says!r}; it shows {shown or text[:200]}"


def test_nul_control_characters_and_lone_surrogates_are_refused_in_every_text_column(app, session, people):
    from app import db

    world = World(app, session, people)
    engine = db.get_engine(app.extensions["classlab.settings"].database_url)
    ids = {"item": world.item, **world.students, "pattern": world.pattern}
    problems = []
    for writer in WRITERS:
        field, good = writer.field.format(**ids), writer.good.format(**ids)
        where = f"{writer.column} via {writer.via} field {field!r}"
        for kind, char in BAD.items():
            before = _database(engine)
            resp = writer.send(world, _bad(good, char))
            changed = _changes(before, _database(engine))
            if changed:
                problems.append(f"{where}, {kind}: stored {changed}")
            problem = _refusal_problem(writer, field, resp, world.last_client)
            if problem:
                problems.append(f"{where}, {kind}: {problem}")
        before = _rows_with(engine, writer.column, good)
        resp = writer.send(world, good)
        if resp.status_code >= 400 or not _rows_with(engine, writer.column, good) - before:
            problems.append(f"{where}: the good value {good!r} was not stored (answer {resp.status_code}: "
                            f"{resp.get_data(as_text=True)[:200]})")
    assert not problems, "\n".join(problems)

