"""GET /api/v1/health: the web app, its database, and optionally a worker round trip."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import text

from app import db

blp = Blueprint("health", __name__, url_prefix="/api/v1/health", description="Liveness of the service")


class HealthQuery(Schema):
    worker = fields.Boolean(load_default=False, metadata={"description": "also round-trip a worker task"})


class HealthOut(Schema):
    status = fields.String()
    database = fields.String()
    worker = fields.Dict(allow_none=True)


@blp.route("")
class Health(MethodView):
    @blp.arguments(HealthQuery, location="query")
    @blp.response(200, HealthOut)
    @blp.doc(security=[])
    def get(self, args):
        db.session().execute(text("SELECT 1"))
        worker = None
        if args["worker"]:
            from workers.health import ping_worker

            worker = ping_worker(timeout=5)
        return {"status": "ok", "database": "ok", "worker": worker}
