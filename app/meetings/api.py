"""JSON endpoints under /api/v1/meetings/: the protocol library, scheduling a community's meeting and building its
agenda, running it (start, move the group, respond, reveal, highlight, close), and its record (summary, next
steps). The live state a screen polls is the page's /meetings/<id>/live, with its ETag."""

from __future__ import annotations

from flask.views import MethodView
from flask_login import current_user, login_required
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app import db
from app.meetings import protocolfile, service
from app.meetings.models import MODES

blp = Blueprint("meetings_api", __name__, url_prefix="/api/v1/meetings",
                description="PLC meetings: agenda, live responses, record")


class ProtocolOut(Schema):
    key = fields.String()
    suits = fields.List(fields.String())
    languages = fields.List(fields.String())
    texts = fields.Dict(attribute="spec", metadata={
        "description": "title, purpose: {en, he, ar}; steps: [{title, prompt, minutes, responses}]"})


class StepOut(Schema):
    id = fields.Integer()
    position = fields.Integer()
    texts = fields.Dict(metadata={"description": "title, prompt: {language: text}"})
    minutes = fields.Integer()
    responses = fields.String(metadata={"description": "open: seen by all at once; held: the facilitator first"})
    revealed = fields.Boolean()
    protocol = fields.String(attribute="protocol_key", allow_none=True)
    evidence = fields.String(metadata={"description": "none, clip, result, item or attempt"})


class NextStepOut(Schema):
    id = fields.Integer()
    text = fields.String()
    assignee = fields.Function(lambda n: n.assignee.display_name if n.assignee else None)
    assignee_id = fields.Integer(allow_none=True)
    due = fields.Date(allow_none=True)
    done = fields.Function(lambda n: n.done_at is not None)


class MeetingSummaryOut(Schema):
    id = fields.String(attribute="public_id")
    community = fields.Function(lambda m: m.community.public_id)
    title = fields.String()
    starts_at = fields.DateTime()
    mode = fields.String()
    place = fields.String()
    status = fields.String(metadata={"description": "planned, live or closed"})


class MeetingOut(MeetingSummaryOut):
    current_step = fields.Integer()
    version = fields.Integer()
    summary = fields.String()
    steps = fields.List(fields.Nested(StepOut))
    next_steps = fields.List(fields.Nested(NextStepOut))


class ResponseOut(Schema):
    id = fields.Integer()
    step = fields.Integer(attribute="step_id")
    author = fields.Function(lambda r: r.author.display_name)
    text = fields.String()
    seconds = fields.Float(allow_none=True)
    highlighted = fields.Boolean()
    created_at = fields.DateTime()


class AttendanceOut(Schema):
    user_id = fields.Integer()
    name = fields.String()
    role = fields.String(metadata={"description": "facilitator or member"})
    prewatched_at = fields.String(allow_none=True, metadata={"description": "when they opened the evidence first"})
    present = fields.Boolean()


class MeetingIn(Schema):
    community = fields.String(required=True, validate=validate.Length(min=1, max=32))
    title = fields.String(required=True, validate=validate.Length(min=1, max=service.MAX_TITLE))
    starts_at = fields.AwareDateTime(required=True, metadata={"description": "ISO 8601 with its UTC offset"})
    mode = fields.String(load_default="in_person", validate=validate.OneOf(MODES))
    place = fields.String(load_default="", validate=validate.Length(max=300))
    protocol = fields.String(load_default=None, validate=validate.Length(max=80),
                             metadata={"description": "a protocol's key: its steps become the agenda"})


class StepIn(Schema):
    protocol = fields.String(load_default=None, validate=validate.Length(max=80))
    step = fields.Integer(load_default=None, validate=validate.Range(1, protocolfile.MOST_STEPS),
                          metadata={"description": "with protocol: which of its steps (1-based)"})
    title = fields.String(load_default="", validate=validate.Length(max=service.MAX_TITLE))
    prompt = fields.String(load_default="", validate=validate.Length(max=2000))
    minutes = fields.Integer(load_default=None, validate=validate.Range(protocolfile.LEAST_MINUTES,
                                                                        protocolfile.MOST_MINUTES))
    responses = fields.String(load_default=None, validate=validate.OneOf(protocolfile.RESPONSES))
    evidence = fields.String(load_default="none", validate=validate.OneOf(("none", *protocolfile.EVIDENCE_KINDS)))
    ref = fields.String(load_default="", validate=validate.Length(max=40),
                        metadata={"description": "the evidence's public id (clip, result: the assignment, attempt)"})
    number = fields.Integer(load_default=None, validate=validate.Range(1, 500),
                            metadata={"description": "item: the question's number in the assignment"})
    language = fields.String(load_default="en", validate=validate.OneOf(service.LANGUAGES),
                             metadata={"description": "the language of a title and prompt written here"})


class GoIn(Schema):
    position = fields.Integer(required=True, validate=validate.Range(0, 1000))


class ResponseIn(Schema):
    step = fields.Integer(load_default=None, metadata={"description": "the step's id; left out: the current step"})
    text = fields.String(required=True, validate=validate.Length(min=1, max=service.MAX_RESPONSE))
    seconds = fields.Float(load_default=None, allow_nan=False, validate=validate.Range(0, 24 * 3600),
                           metadata={"description": "a moment of the step's clip, from its start"})


class HighlightIn(Schema):
    on = fields.Boolean(load_default=True)


class SummaryIn(Schema):
    summary = fields.String(required=True, validate=validate.Length(max=service.MAX_SUMMARY))


class NextStepIn(Schema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    assignee = fields.Integer(load_default=None, validate=validate.Range(1, 2**31 - 1))
    due = fields.Date(load_default=None)


@blp.route("/protocols")
class Protocols(MethodView):
    @login_required
    @blp.response(200, ProtocolOut(many=True))
    def get(self):
        """The protocol library."""
        return service.protocols(db.session())


@blp.route("/")
class Meetings(MethodView):
    @login_required
    @blp.response(200, MeetingSummaryOut(many=True))
    def get(self):
        """The meetings of the communities I belong to, newest first."""
        return service.my_meetings(db.session(), current_user)

    @login_required
    @blp.arguments(MeetingIn)
    @blp.response(201, MeetingOut)
    def post(self, body):
        """A facilitator schedules a meeting of their community; the members are told."""
        return service.schedule(db.session(), current_user, body["community"], title=body["title"],
                                starts_at=body["starts_at"], mode=body["mode"], place=body["place"],
                                protocol=body["protocol"])


@blp.route("/<public_id>")
class OneMeeting(MethodView):
    @login_required
    @blp.response(200, MeetingOut)
    def get(self, public_id: str):
        return service.get_meeting(db.session(), current_user, public_id)

    @login_required
    @blp.response(204)
    def delete(self, public_id: str):
        service.delete_meeting(db.session(), current_user, public_id)


@blp.route("/<public_id>/responses")
class Responses(MethodView):
    @login_required
    @blp.response(200, ResponseOut(many=True))
    def get(self, public_id: str):
        """The responses I may read (a held step's responses only once revealed, unless I facilitate)."""
        s = db.session()
        meeting = service.get_meeting(s, current_user, public_id)
        return [r for rs in service.responses_of(s, current_user, meeting).values() for r in rs]

    @login_required
    @blp.arguments(ResponseIn)
    @blp.response(201, ResponseOut)
    def post(self, body, public_id: str):
        return service.respond(db.session(), current_user, public_id, step_id=body["step"], text=body["text"],
                               seconds=body["seconds"])


@blp.route("/<public_id>/steps")
class Steps(MethodView):
    @login_required
    @blp.arguments(StepIn)
    @blp.response(201, StepOut)
    def post(self, body, public_id: str):
        """A step at the end of the agenda: a protocol's step, or one written here, with at most one piece of
        evidence the facilitator may share with the community."""
        return service.add_step(db.session(), current_user, public_id, lang=body["language"],
                                protocol=body["protocol"], protocol_step=body["step"], title=body["title"],
                                prompt=body["prompt"], minutes=body["minutes"], responses=body["responses"],
                                evidence=body["evidence"], ref=body["ref"], number=body["number"])


@blp.route("/<public_id>/steps/<int:step_id>/reveal")
class Reveal(MethodView):
    @login_required
    @blp.response(200, MeetingOut)
    def post(self, public_id: str, step_id: int):
        s = db.session()
        service.reveal(s, current_user, public_id, step_id)
        return service.get_meeting(s, current_user, public_id)


@blp.route("/<public_id>/start")
class Start(MethodView):
    @login_required
    @blp.response(200, MeetingOut)
    def post(self, public_id: str):
        return service.start(db.session(), current_user, public_id)


@blp.route("/<public_id>/current-step")
class CurrentStep(MethodView):
    @login_required
    @blp.arguments(GoIn)
    @blp.response(200, MeetingOut)
    def put(self, body, public_id: str):
        """Move the group to a step (0-based position): every member's screen follows."""
        return service.go_to(db.session(), current_user, public_id, body["position"])


@blp.route("/<public_id>/responses/<int:response_id>/highlight")
class Highlight(MethodView):
    @login_required
    @blp.arguments(HighlightIn)
    @blp.response(204)
    def put(self, body, public_id: str, response_id: int):
        service.highlight(db.session(), current_user, public_id, response_id, body["on"])


@blp.route("/<public_id>/close")
class Close(MethodView):
    @login_required
    @blp.response(200, MeetingOut)
    def post(self, public_id: str):
        return service.close(db.session(), current_user, public_id)


@blp.route("/<public_id>/summary")
class Summary(MethodView):
    @login_required
    @blp.arguments(SummaryIn)
    @blp.response(200, MeetingOut)
    def put(self, body, public_id: str):
        return service.set_summary(db.session(), current_user, public_id, body["summary"])


@blp.route("/<public_id>/next-steps")
class NextSteps(MethodView):
    @login_required
    @blp.arguments(NextStepIn)
    @blp.response(201, NextStepOut)
    def post(self, body, public_id: str):
        return service.add_next_step(db.session(), current_user, public_id, text=body["text"],
                                     assignee_id=body["assignee"], due=body["due"])


@blp.route("/<public_id>/attendance")
class AttendanceList(MethodView):
    @login_required
    @blp.response(200, AttendanceOut(many=True))
    def get(self, public_id: str):
        """Who pre-watched the evidence and who came (the facilitator's view)."""
        s = db.session()
        meeting = service.get_meeting(s, current_user, public_id, "run")
        rows = service.attendance(s, meeting)
        return [{"user_id": u.id, "name": u.display_name, "role": role,
                 "prewatched_at": rows[u.id].prewatched_at.isoformat() if u.id in rows and rows[u.id].prewatched_at
                 else None, "present": bool(u.id in rows and rows[u.id].present)}
                for u, role in service.members(s, meeting)]

