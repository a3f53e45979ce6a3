"""JSON endpoints under /api/v1/coaching/."""

from __future__ import annotations

from flask.views import MethodView
from flask_login import current_user, login_required
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app import db
from app.coaching import service

blp = Blueprint("coaching_api", __name__, url_prefix="/api/v1/coaching", description="Coaching links and cycles")


class LinkOut(Schema):
    id = fields.Integer()
    coach = fields.String(attribute="coach.email")
    teacher = fields.String(attribute="teacher.email")
    status = fields.String()
    created_at = fields.DateTime()
    responded_at = fields.DateTime(allow_none=True)


class AssignIn(Schema):
    coach = fields.String(required=True, validate=validate.Length(max=254), metadata={"description": "e-mail"})
    teacher = fields.String(required=True, validate=validate.Length(max=254), metadata={"description": "e-mail"})


class RespondIn(Schema):
    accept = fields.Boolean(required=True)


class CycleIn(Schema):
    focus_goal = fields.String(required=True, validate=validate.Length(max=2000))
    starts_on = fields.Date(load_default=None)
    due_on = fields.Date(load_default=None)


class CycleEdit(Schema):
    focus_goal = fields.String(load_default=None, validate=validate.Length(max=2000))
    due_on = fields.Date(load_default=None)
    next_steps = fields.String(load_default=None, validate=validate.Length(max=5000))


class LessonIn(Schema):
    video = fields.String(required=True, validate=validate.Length(max=32), metadata={"description": "a video id"})


class CycleOut(Schema):
    id = fields.String(attribute="public_id")
    link = fields.Integer(attribute="link_id")
    focus_goal = fields.String()
    starts_on = fields.Date()
    due_on = fields.Date(allow_none=True)
    next_steps = fields.String()
    next_steps_agreed_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    lessons = fields.Function(lambda c: [lesson.video.public_id for lesson in c.lessons])


@blp.route("/links")
class Links(MethodView):
    @login_required
    @blp.response(200, LinkOut(many=True))
    def get(self):
        return service.links_for(db.session(), current_user)

    @login_required
    @blp.arguments(AssignIn)
    @blp.response(201, LinkOut)
    def post(self, body):
        s = db.session()
        link = service.assign_coach(s, current_user, body["coach"], body["teacher"])
        return link


@blp.route("/links/<int:link_id>")
class OneLink(MethodView):
    @login_required
    @blp.arguments(RespondIn)
    @blp.response(200, LinkOut)
    def post(self, body, link_id: int):
        """The teacher accepts or declines."""
        s = db.session()
        link = service.respond(s, current_user, link_id, body["accept"])
        return link

    @login_required
    @blp.response(200, LinkOut)
    def delete(self, link_id: int):
        """End coaching."""
        s = db.session()
        link = service.end_link(s, current_user, link_id)
        return link


@blp.route("/links/<int:link_id>/cycles")
class Cycles(MethodView):
    @login_required
    @blp.arguments(CycleIn)
    @blp.response(201, CycleOut)
    def post(self, body, link_id: int):
        s = db.session()
        cycle = service.start_cycle(s, current_user, link_id, body["focus_goal"], body["starts_on"], body["due_on"])
        return cycle


@blp.route("/cycles/<public_id>")
class OneCycle(MethodView):
    @login_required
    @blp.response(200, CycleOut)
    def get(self, public_id: str):
        return service.get_cycle(db.session(), current_user, public_id)

    @login_required
    @blp.arguments(CycleEdit)
    @blp.response(200, CycleOut)
    def patch(self, body, public_id: str):
        s = db.session()
        cycle = service.update_cycle(s, current_user, public_id, **body)
        return cycle


@blp.route("/cycles/<public_id>/lessons")
class CycleLessons(MethodView):
    @login_required
    @blp.arguments(LessonIn)
    @blp.response(201, CycleOut)
    def post(self, body, public_id: str):
        s = db.session()
        lesson = service.add_lesson(s, current_user, public_id, body["video"])
        return lesson.cycle


@blp.route("/cycles/<public_id>/agree")
class Agree(MethodView):
    @login_required
    @blp.response(200, CycleOut)
    def post(self, public_id: str):
        s = db.session()
        cycle = service.agree_next_steps(s, current_user, public_id)
        return cycle
