"""JSON endpoints under /api/v1/goals/: the indicators, areas (their summary, an indicator's trend and table),
values (one by hand, or a whole CSV file), targets, and the principal coaching log."""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_login import current_user, login_required
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from werkzeug.utils import secure_filename

from app import db
from app.errors import InvalidInput, msg
from app.goals import service
from app.goals.models import ACTION_STATES, TERMS

blp = Blueprint("goals_api", __name__, url_prefix="/api/v1/goals",
                description="School, network and city goals, indicators and the principal coaching log")
MAX_CSV_BYTES = 5 * 1024 * 1024


def _shown(shown) -> dict | None:
    if shown is None:
        return None
    return {"value": None if shown.value is None else round(shown.value, 4), "students": shown.students,
            "suppressed": shown.suppressed, "reason": shown.reason}


def _target(target) -> dict | None:
    if target is None:
        return None
    return {"id": target.public_id, "indicator": target.indicator_key, "year": target.year, "grade": target.grade,
            "value": target.value, "baseline": target.baseline, "baseline_year": target.baseline_year,
            "note": target.note}


def _area(area) -> dict:
    return {"id": area.public_id, "name": area.name, "kind": area.kind, "code": area.code,
            "network": area.network.public_id if area.network else None,
            "city": area.city.public_id if area.city else None}


class IndicatorOut(Schema):
    key = fields.String()
    title = fields.Dict(metadata={"description": "{en, he, ar}"})
    definition = fields.Dict(metadata={"description": "{en, he, ar}"})
    unit = fields.String(metadata={"description": "percent, count or score"})
    direction = fields.String(metadata={"description": "up (higher is better) or down"})
    least = fields.Float()
    most = fields.Float()
    grades = fields.List(fields.Integer())
    source = fields.String(metadata={"description": "imported or computed"})
    measure = fields.String(metadata={"description": "share, count or mean"})


class AreaOut(Schema):
    id = fields.String()
    name = fields.String()
    kind = fields.String(metadata={"description": "school, network, municipality or institute"})
    code = fields.String(allow_none=True)
    network = fields.String(allow_none=True)
    city = fields.String(allow_none=True)


class SummaryOut(Schema):
    area = fields.Dict()
    indicators = fields.List(fields.Dict(), metadata={
        "description": "per indicator: the latest value (suppressed when about fewer than 10 students, for whoever "
                       "is not of the school), its term, the target and whether it is on track"})


class GoalTrendOut(Schema):
    indicator = fields.String()
    series = fields.List(fields.Dict())
    target = fields.Dict(allow_none=True)
    track = fields.String(allow_none=True)
    grades = fields.Dict(allow_none=True)


class ValueIn(Schema):
    indicator = fields.String(required=True, validate=validate.Length(min=1, max=40))
    year = fields.Integer(required=True, strict=True, validate=validate.Range(service.FIRST_YEAR, service.LAST_YEAR))
    term = fields.Integer(required=True, strict=True, validate=validate.OneOf(TERMS))
    grade = fields.Integer(required=True, strict=True, validate=validate.Range(0, 12))
    count = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(0, 2000))
    students = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(1, 2000))
    value = fields.Float(load_default=None, allow_none=True, allow_nan=False,
                         validate=validate.Range(-1e9, 1e9))


class ValueOut(Schema):
    indicator = fields.String(attribute="indicator_key")
    year = fields.Integer()
    term = fields.Integer()
    grade = fields.Integer()
    value = fields.Float()
    numerator = fields.Float(allow_none=True)
    students = fields.Integer(allow_none=True)
    source = fields.String()


class ImportOut(Schema):
    id = fields.String(attribute="public_id")
    rows = fields.Integer()
    encoding = fields.String()


class ImportArgs(Schema):
    encoding = fields.String(load_default="auto", validate=validate.OneOf(("auto", "utf-8", "windows-1255")))
    filename = fields.String(load_default="", validate=validate.Length(max=200))


class TargetIn(Schema):
    indicator = fields.String(required=True, validate=validate.Length(min=1, max=40))
    year = fields.Integer(required=True, strict=True, validate=validate.Range(service.FIRST_YEAR, service.LAST_YEAR))
    grade = fields.Integer(load_default=0, strict=True, validate=validate.Range(0, 12))
    value = fields.Float(required=True, allow_nan=False, validate=validate.Range(-1e9, 1e9))
    baseline = fields.Float(load_default=None, allow_none=True, allow_nan=False, validate=validate.Range(-1e9, 1e9))
    baseline_year = fields.Integer(load_default=None, allow_none=True, strict=True,
                                   validate=validate.Range(service.FIRST_YEAR, service.LAST_YEAR))
    note = fields.String(load_default="", validate=validate.Length(max=service.MAX_TEXT))


class TargetOut(Schema):
    id = fields.String(attribute="public_id")
    indicator = fields.String(attribute="indicator_key")
    year = fields.Integer()
    grade = fields.Integer()
    value = fields.Float()
    baseline = fields.Float(allow_none=True)
    baseline_year = fields.Integer(allow_none=True)
    note = fields.String()


class DataIn(Schema):
    indicator = fields.String(required=True, validate=validate.Length(min=1, max=40))
    grade = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(0, 12))


class SessionIn(Schema):
    date = fields.Date(required=True)
    agenda = fields.String(load_default="", validate=validate.Length(max=service.MAX_TEXT))
    data = fields.List(fields.Nested(DataIn), load_default=list, validate=validate.Length(max=service.MAX_DATA))


class ActionIn(Schema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=service.MAX_TITLE))
    owner = fields.String(required=True, validate=validate.Length(min=1, max=200))
    due = fields.Date(required=True)


class FollowUpIn(Schema):
    action = fields.String(required=True, validate=validate.Length(min=1, max=32))
    status = fields.String(required=True, validate=validate.OneOf(ACTION_STATES))
    note = fields.String(load_default="", validate=validate.Length(max=service.MAX_TEXT))


class RecordIn(Schema):
    notes = fields.String(required=True, validate=validate.Length(min=1, max=service.MAX_TEXT))
    actions = fields.List(fields.Nested(ActionIn), load_default=list, validate=validate.Length(max=service.MAX_ACTIONS))
    follow_ups = fields.List(fields.Nested(FollowUpIn), load_default=list, validate=validate.Length(max=100))


class ActionOut(Schema):
    id = fields.String(attribute="public_id")
    text = fields.String()
    owner = fields.String(attribute="owner_name")
    due = fields.Date(attribute="due_on")
    status = fields.String()
    follow_up = fields.String()


class SessionOut(Schema):
    id = fields.String(attribute="public_id")
    number = fields.Integer()
    date = fields.Date(attribute="held_on")
    status = fields.String(metadata={"description": "planned or held"})
    agenda = fields.String()
    notes = fields.String()
    data = fields.List(fields.Dict())
    actions = fields.List(fields.Nested(ActionOut))


class PairOut(Schema):
    id = fields.String(attribute="public_id")
    year = fields.Integer()
    coach = fields.Function(lambda p: p.coach.display_name)
    principal = fields.Function(lambda p: p.principal.display_name)
    school = fields.Function(lambda p: p.area.public_id)
    sessions = fields.List(fields.Nested(SessionOut))


@blp.route("/indicators")
class Indicators(MethodView):
    @login_required
    @blp.response(200, IndicatorOut(many=True))
    def get(self):
        """The indicators: definitions, units, directions, ranges and grades."""
        return list(service.catalogue().indicators)


@blp.route("/areas")
class Areas(MethodView):
    @login_required
    @blp.response(200, AreaOut(many=True))
    def get(self):
        """The schools, networks and cities (and the national view) I may see."""
        return [_area(a) for a in service.areas(db.session(), current_user)]


@blp.route("/areas/<public_id>")
class OneArea(MethodView):
    @login_required
    @blp.response(200, SummaryOut)
    def get(self, public_id: str):
        """Every indicator's latest value, target and track for the area."""
        s = db.session()
        area = service.get_area(s, current_user, public_id)
        rows = service.summary(s, current_user, area)
        return {"area": _area(area), "indicators": [
            {"indicator": r.indicator.key, "latest": _shown(r.latest.shown) if r.latest else None,
             "year": r.latest.year if r.latest else None, "term": r.latest.term if r.latest else None,
             "target": _target(r.target), "track": r.track} for r in rows]}


@blp.route("/areas/<public_id>/indicators/<key>")
class AreaIndicator(MethodView):
    @login_required
    @blp.response(200, GoalTrendOut)
    def get(self, public_id: str, key: str):
        """An indicator by term (all grades together) and, for the latest term, by grade."""
        s = db.session()
        area = service.get_area(s, current_user, public_id)
        ind = service.indicator(key)
        points = service.series(s, current_user, area, ind.key)
        target = service.target_for(s, area, ind.key)
        latest = service.latest(s, area, ind.key)
        table = service.grade_table(s, current_user, area, ind.key, *latest) if latest else None
        return {"indicator": ind.key,
                "series": [{"year": p.year, "term": p.term, **(_shown(p.shown) or {})} for p in points],
                "target": _target(target), "track": service.track(target, points, ind.direction),
                "grades": None if table is None else {
                    "year": latest[0], "term": latest[1],
                    "parts": {str(g): _shown(table.parts[g]) for g in table.grades},
                    "total": _shown(table.total)}}


@blp.route("/areas/<public_id>/values")
class Values(MethodView):
    @login_required
    @blp.arguments(ValueIn)
    @blp.response(201, ValueOut)
    def post(self, body, public_id: str):
        """One value of a school by hand: a share as count of students, a mean as value and students, a count."""
        return service.enter_value(db.session(), current_user, public_id, indicator_key=body["indicator"],
                                   year=body["year"], term=body["term"], grade=body["grade"], count=body["count"],
                                   students=body["students"], value=body["value"])


@blp.route("/areas/<public_id>/imports")
class Imports(MethodView):
    @login_required
    @blp.arguments(ImportArgs, location="query")
    @blp.doc(requestBody={"required": True, "content": {"text/csv": {"schema": {"type": "string",
                                                                               "format": "binary"}}}})
    @blp.response(201, ImportOut)
    def post(self, args, public_id: str):
        """A whole CSV file from a school's system, as the request body (UTF-8 or Windows-1255): all or nothing,
        each bad row named in the answer."""
        if (request.content_length or 0) > MAX_CSV_BYTES:
            raise InvalidInput(msg("The file is larger than 5 MB."), field="file")
        data = request.get_data(cache=False)
        if not data:
            raise InvalidInput(msg("Send the CSV file as the request body."), field="file")
        return service.import_values(db.session(), current_user, public_id, data,
                                     filename=secure_filename(args["filename"]), encoding=args["encoding"])


@blp.route("/areas/<public_id>/targets")
class Targets(MethodView):
    @login_required
    @blp.response(200, TargetOut(many=True))
    def get(self, public_id: str):
        s = db.session()
        return service.targets(s, service.get_area(s, current_user, public_id))

    @login_required
    @blp.arguments(TargetIn)
    @blp.response(201, TargetOut)
    def post(self, body, public_id: str):
        """Set (or change) the area's target for an indicator, a school year and a grade (0: all grades)."""
        return service.set_target(db.session(), current_user, public_id, indicator_key=body["indicator"],
                                  year=body["year"], grade=body["grade"], value=body["value"],
                                  baseline=body["baseline"], baseline_year=body["baseline_year"], note=body["note"])


@blp.route("/principal-coaching")
class Pairs(MethodView):
    @login_required
    @blp.response(200, PairOut(many=True))
    def get(self):
        """The coach–principal pairs I am part of (all, for the programme's administrators), with their sessions."""
        return service.pairs(db.session(), current_user)


@blp.route("/principal-coaching/<public_id>/sessions")
class PairSessions(MethodView):
    @login_required
    @blp.arguments(SessionIn)
    @blp.response(201, SessionOut)
    def post(self, body, public_id: str):
        """Plan the next session: the date, the agenda and the indicators to look at."""
        return service.plan_session(db.session(), current_user, public_id, held_on=body["date"],
                                    agenda=body["agenda"], data=body["data"])


@blp.route("/sessions/<public_id>")
class OneSession(MethodView):
    @login_required
    @blp.response(200, SessionOut)
    def get(self, public_id: str):
        return service.get_session(db.session(), current_user, public_id)


@blp.route("/sessions/<public_id>/record")
class RecordSession(MethodView):
    @login_required
    @blp.arguments(RecordIn)
    @blp.response(200, SessionOut)
    def post(self, body, public_id: str):
        """Record the session (the coach): notes, agreed actions, and how earlier open actions went."""
        follow = {f["action"]: (f["status"], f["note"]) for f in body["follow_ups"]}
        return service.record(db.session(), current_user, public_id, notes=body["notes"],
                              actions=[{"text": a["text"], "owner": a["owner"], "due": a["due"]}
                                       for a in body["actions"]], follow_ups=follow)
