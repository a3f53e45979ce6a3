"""JSON endpoints under /api/v1/analytics/: a lesson's measures, speaker turns and markers; naming the teacher's
voice, sharing with the coach, reviewing a marker or turning it into a comment; a teacher's trends."""

from __future__ import annotations

from flask.views import MethodView
from flask_login import current_user, login_required
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app import db
from app.analytics import service
from app.analytics.models import MARKER_KINDS

blp = Blueprint("analytics_api", __name__, url_prefix="/api/v1/analytics",
                description="Lesson analytics: who talks when, questions, wait times and uptake (never a score)")


class MarkerOut(Schema):
    id = fields.String(attribute="public_id")
    kind = fields.String(attribute="shown_kind", metadata={"description": ", ".join(MARKER_KINDS)})
    found_as = fields.String(attribute="kind")
    start = fields.Float()
    end = fields.Float()
    state = fields.String(metadata={"description": "machine, confirmed, corrected or dismissed"})
    detail = fields.Dict()
    comment_id = fields.Integer(allow_none=True)


class TurnOut(Schema):
    start = fields.Float()
    end = fields.Float()
    voice = fields.Integer()
    role = fields.String(metadata={"description": "teacher or student"})
    student = fields.Integer(metadata={"description": "1, 2, … for a student's voice; 0 for the teacher's"})
    text = fields.String()


class AnalysisOut(Schema):
    lesson = fields.Function(lambda a: a.video.public_id)
    status = fields.String(metadata={"description": "waiting, running, done or failed"})
    reason = fields.String()
    language = fields.String()
    has_text = fields.Boolean()
    duration = fields.Float()
    teacher_voice = fields.Integer(allow_none=True)
    teacher_set_by = fields.String(metadata={"description": "machine (the guess) or person"})
    voices = fields.List(fields.Dict())
    overlaps = fields.List(fields.List(fields.Float()))
    measures = fields.Dict()
    shared_with_coach = fields.Boolean()
    markers = fields.List(fields.Nested(MarkerOut))
    turns = fields.Method("_turns")

    def _turns(self, analysis):
        return TurnOut(many=True).dump(service.turns_shown(db.session(), analysis))


class AnalysisIn(Schema):
    teacher_voice = fields.Integer(validate=validate.Range(0, 99), metadata={
        "description": "The voice that is the teacher's: every turn heard in it becomes the teacher's"})
    shared_with_coach = fields.Boolean()


class ReviewIn(Schema):
    verdict = fields.String(required=True, validate=validate.OneOf(["confirm", "dismiss", "correct"]))
    kind = fields.String(validate=validate.OneOf(MARKER_KINDS), metadata={"description": "with verdict=correct"})


class MarkerCommentIn(Schema):
    body = fields.String(required=True, validate=validate.Length(max=10000))
    tags = fields.List(fields.String(validate=validate.Length(max=200)), validate=validate.Length(max=10),
                       load_default=list)


class MarkerCommentOut(Schema):
    id = fields.Integer()
    start = fields.Float()
    end = fields.Float(allow_none=True)
    body = fields.String()


class TrendOut(Schema):
    lesson = fields.Function(lambda p: p.video.public_id)
    title = fields.Function(lambda p: p.video.title)
    recorded = fields.Function(lambda p: p.video.created_at.isoformat())
    measures = fields.Dict()


@blp.route("/lessons/<public_id>")
class LessonAnalytics(MethodView):
    @login_required
    @blp.response(200, AnalysisOut)
    def get(self, public_id: str):
        """The lesson's analysis, for its teacher (and their coach while shared)."""
        return service.get(db.session(), current_user, public_id)

    @login_required
    @blp.arguments(AnalysisIn)
    @blp.response(200, AnalysisOut)
    def patch(self, body, public_id: str):
        s = db.session()
        if "teacher_voice" in body:
            service.set_teacher(s, current_user, public_id, body["teacher_voice"])
        if "shared_with_coach" in body:
            service.set_shared(s, current_user, public_id, body["shared_with_coach"])
        return service.get(s, current_user, public_id)


@blp.route("/lessons/<public_id>/rerun")
class Rerun(MethodView):
    @login_required
    @blp.response(202, AnalysisOut)
    def post(self, public_id: str):
        """Analyse the lesson again (the turns are heard again, then measured)."""
        return service.rerun(db.session(), current_user, public_id)


@blp.route("/markers/<marker_id>")
class Marker(MethodView):
    @login_required
    @blp.arguments(ReviewIn)
    @blp.response(200, MarkerOut)
    def post(self, body, marker_id: str):
        """Confirm, dismiss or correct a marker."""
        return service.review_marker(db.session(), current_user, marker_id, body["verdict"], body.get("kind"))


@blp.route("/markers/<marker_id>/comment")
class MarkerComment(MethodView):
    @login_required
    @blp.arguments(MarkerCommentIn)
    @blp.response(201, MarkerCommentOut)
    def post(self, body, marker_id: str):
        """The marker becomes a comment at its moment, tagged with framework elements (framework:element)."""
        return service.marker_to_comment(db.session(), current_user, marker_id, body=body["body"],
                                         tags=body["tags"])


@blp.route("/trends")
class MyTrends(MethodView):
    @login_required
    @blp.response(200, TrendOut(many=True))
    def get(self):
        """Your analysed lessons in order, with their measures."""
        return service.trends(db.session(), current_user, current_user)


@blp.route("/teachers/<int:user_id>/trends")
class TeacherTrends(MethodView):
    @login_required
    @blp.response(200, TrendOut(many=True))
    def get(self, user_id: int):
        """A teacher's lessons that they share with you, their coach (404 when none)."""
        return service.shared_trends(db.session(), current_user, user_id)
