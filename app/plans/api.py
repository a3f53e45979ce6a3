"""JSON endpoints under /api/v1/plans/: the activity library, drafting plans from results, reading and editing a
plan (each edit recorded), progress, re-assessment and sharing with the coach."""

from __future__ import annotations

from flask.views import MethodView
from flask_login import current_user, login_required
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app import db
from app.plans import service
from app.plans.models import CHECK_RESULTS, GOAL_STATES

blp = Blueprint("plans_api", __name__, url_prefix="/api/v1/plans",
                description="Personalized learning plans drafted from diagnostic results")

_DATE = "A date (YYYY-MM-DD), today or later and within a year; left out: four weeks from today."


class ActivityOut(Schema):
    key = fields.String()
    kind = fields.String()
    minutes = fields.Integer()
    grouping = fields.String()
    misconceptions = fields.List(fields.String())
    languages = fields.List(fields.String())
    texts = fields.Dict(attribute="spec", metadata={
        "description": "title, materials, look_for: {en, he, ar}; steps: a list of {en, he, ar}"})


class GoalActivityOut(Schema):
    id = fields.Integer()
    activity = fields.String(attribute="activity_key")
    day = fields.Date(allow_none=True)
    done_at = fields.DateTime(allow_none=True)


class GoalOut(Schema):
    id = fields.Integer()
    position = fields.Integer()
    misconception = fields.String()
    status = fields.String(metadata={"description": "working, met, partly or not_yet"})
    evidence = fields.Dict(metadata={"description": "answers: the answers that revealed the misconception; moments: "
                                                    "the lesson moments tagged with it"})
    check_item = fields.String(allow_none=True)
    check_result = fields.String(allow_none=True)
    note = fields.String()
    activities = fields.List(fields.Nested(GoalActivityOut))


class ChangeOut(Schema):
    at = fields.DateTime()
    by = fields.Function(lambda c: c.actor.display_name if c.actor else None)
    what = fields.String()
    before = fields.String()
    after = fields.String()


class PlanSummaryOut(Schema):
    id = fields.String(attribute="public_id")
    kind = fields.String()
    title = fields.String()
    class_id = fields.Integer()
    students = fields.Function(lambda p: [s.code for s in p.students])
    target_date = fields.Date()
    shared_with_coach = fields.Boolean()
    closed = fields.Boolean()
    goals = fields.Function(lambda p: [{"misconception": g.misconception, "status": g.status} for g in p.goals])


class PlanOut(PlanSummaryOut):
    drafted_from = fields.Function(lambda p: p.assignment.public_id if p.assignment else None)
    goals = fields.List(fields.Nested(GoalOut))
    changes = fields.List(fields.Nested(ChangeOut))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class DraftIn(Schema):
    target_date = fields.String(load_default=None, validate=validate.Length(max=40), metadata={"description": _DATE})


class DraftReportOut(Schema):
    drafted = fields.Integer(metadata={"description": "how many plans were drafted"})
    plans = fields.List(fields.Nested(PlanSummaryOut))
    kept = fields.List(fields.Nested(PlanSummaryOut), metadata={"description": "already drafted from the same result"})
    without_results = fields.Function(lambda r: [s.code for s in r.without_results])
    nothing_held = fields.Function(lambda r: [s.code for s in r.nothing_held])


class PlanIn(Schema):
    title = fields.String(validate=validate.Length(min=1, max=service.MAX_TITLE))
    target_date = fields.String(validate=validate.Length(max=40), metadata={"description": _DATE})
    shared_with_coach = fields.Boolean()
    closed = fields.Boolean()


class GoalIn(Schema):
    status = fields.String(validate=validate.OneOf(GOAL_STATES))
    note = fields.String(validate=validate.Length(max=service.MAX_NOTE))
    check_result = fields.String(allow_none=True, validate=validate.OneOf(CHECK_RESULTS))


class AddActivityIn(Schema):
    activity = fields.String(required=True, validate=validate.Length(min=1, max=80))
    day = fields.String(load_default=None, validate=validate.Length(max=40))


class ActivityIn(Schema):
    done = fields.Boolean()
    day = fields.String(allow_none=True, validate=validate.Length(max=40),
                        metadata={"description": "A date up to the plan's target date; null takes it off the week"})


class LibraryQuery(Schema):
    misconception = fields.String(load_default=None, validate=validate.Length(max=80))


@blp.route("/activities")
class Activities(MethodView):
    @login_required
    @blp.arguments(LibraryQuery, location="query")
    @blp.response(200, ActivityOut(many=True))
    def get(self, query):
        """The activity library, or the activities for one misconception."""
        return service.activities(db.session(), query["misconception"])


@blp.route("/classes/<int:class_id>")
class ClassPlans(MethodView):
    @login_required
    @blp.response(200, PlanSummaryOut(many=True))
    def get(self, class_id: int):
        return service.plans_of_class(db.session(), current_user, class_id)


@blp.route("/classes/<int:class_id>/drafts")
class ClassDrafts(MethodView):
    @login_required
    @blp.arguments(DraftIn)
    @blp.response(201, DraftReportOut)
    def post(self, body, class_id: int):
        """A plan for every student of the class from their latest result (kept when already drafted from it)."""
        return service.draft_for_class(db.session(), current_user, class_id, target_date=body["target_date"])


@blp.route("/classes/<int:class_id>/group-drafts")
class GroupDrafts(MethodView):
    @login_required
    @blp.arguments(DraftIn)
    @blp.response(201, PlanSummaryOut(many=True))
    def post(self, body, class_id: int):
        """One small-group plan per misconception two or more students share."""
        return service.draft_groups(db.session(), current_user, class_id, target_date=body["target_date"])


@blp.route("/classes/<int:class_id>/reassessment")
class Reassessment(MethodView):
    @login_required
    @blp.response(200, PlanSummaryOut(many=True))
    def post(self, class_id: int):
        """Each open plan's goals set to met, partly or not yet from its students' newer results."""
        return service.reassess(db.session(), current_user, class_id)


@blp.route("/students/<int:student_id>/drafts")
class StudentDrafts(MethodView):
    @login_required
    @blp.arguments(DraftIn)
    @blp.response(201, PlanOut)
    def post(self, body, student_id: int):
        return service.draft_for_student(db.session(), current_user, student_id, target_date=body["target_date"])


@blp.route("/<public_id>")
class OnePlan(MethodView):
    @login_required
    @blp.response(200, PlanOut)
    def get(self, public_id: str):
        return service.get_plan(db.session(), current_user, public_id)

    @login_required
    @blp.arguments(PlanIn)
    @blp.response(200, PlanOut)
    def patch(self, body, public_id: str):
        s = db.session()
        if "title" in body or "target_date" in body:
            service.edit_plan(s, current_user, public_id, title=body.get("title"),
                              target_date=body.get("target_date"))
        if "shared_with_coach" in body:
            service.share_with_coach(s, current_user, public_id, body["shared_with_coach"])
        if "closed" in body:
            service.close_plan(s, current_user, public_id, body["closed"])
        return service.get_plan(s, current_user, public_id)

    @login_required
    @blp.response(204)
    def delete(self, public_id: str):
        service.delete_plan(db.session(), current_user, public_id)


@blp.route("/<public_id>/goals/<int:goal_id>")
class OneGoal(MethodView):
    @login_required
    @blp.arguments(GoalIn)
    @blp.response(200, GoalOut)
    def patch(self, body, public_id: str, goal_id: int):
        s = db.session()
        goal = service.set_goal(s, current_user, public_id, goal_id, status=body.get("status"),
                                note=body.get("note"))
        if "check_result" in body:
            goal = service.record_check(s, current_user, public_id, goal_id, body["check_result"])
        return goal


@blp.route("/<public_id>/goals/<int:goal_id>/activities")
class GoalActivities(MethodView):
    @login_required
    @blp.arguments(AddActivityIn)
    @blp.response(201, GoalActivityOut)
    def post(self, body, public_id: str, goal_id: int):
        return service.add_activity(db.session(), current_user, public_id, goal_id, body["activity"], day=body["day"])


@blp.route("/<public_id>/activities/<int:activity_id>")
class OneActivity(MethodView):
    @login_required
    @blp.arguments(ActivityIn)
    @blp.response(200, GoalActivityOut)
    def patch(self, body, public_id: str, activity_id: int):
        return service.update_activity(db.session(), current_user, public_id, activity_id, done=body.get("done"),
                                       day=body.get("day"), clear_day="day" in body and body["day"] is None)

    @login_required
    @blp.response(204)
    def delete(self, public_id: str, activity_id: int):
        service.remove_activity(db.session(), current_user, public_id, activity_id)
