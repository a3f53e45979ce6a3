"""JSON endpoints under /api/v1/notifications/: one's own notifications, rendered in one's language."""

from __future__ import annotations

from flask.views import MethodView
from flask_babel import gettext
from flask_login import current_user, login_required
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app import db
from app.errors import msg
from app.inputs import database_id, whole_number
from app.notifications import messages, service

blp = Blueprint("notifications_api", __name__, url_prefix="/api/v1/notifications",
                description="The signed-in user's notifications")


class ListArgs(Schema):
    limit = whole_number(msg("Ask for 1 to 500 notifications."), least=1, most=500, load_default=50)
    unread = fields.Boolean(load_default=False, metadata={"description": "only the unread ones"})


class NotificationOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    params = fields.Dict(keys=fields.String(), values=fields.String())
    message = fields.Method("message_of", metadata={"description": "the sentence, in the user's language"})
    link = fields.String(metadata={"description": "a path on this site"})
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)

    def message_of(self, note) -> str:
        return messages.render(note.kind, note.params, gettext)


class ReadRequest(Schema):
    ids = fields.List(database_id(msg("There is no such notification.")), validate=validate.Length(max=1000))
    all = fields.Boolean(load_default=False, metadata={"description": "mark every notification read"})

    @validates_schema
    def ids_or_all(self, data, **_kwargs):
        if not data.get("all") and not data.get("ids"):
            raise ValidationError(msg("Give the ids to mark read, or all: true."), field_name="ids")


class ReadOut(Schema):
    marked = fields.Integer(metadata={"description": "how many were unread and are now read"})
    unread = fields.Integer()


class CountOut(Schema):
    unread = fields.Integer()


@blp.route("/")
class Notifications(MethodView):
    @login_required
    @blp.arguments(ListArgs, location="query")
    @blp.response(200, NotificationOut(many=True))
    def get(self, args):
        """Newest first."""
        return service.list_for(db.session(), current_user, args["limit"], unread_only=args["unread"])


@blp.route("/unread")
class Unread(MethodView):
    @login_required
    @blp.response(200, CountOut)
    def get(self):
        return {"unread": service.unread_count(db.session(), current_user)}


@blp.route("/read")
class Read(MethodView):
    @login_required
    @blp.arguments(ReadRequest)
    @blp.response(200, ReadOut)
    def post(self, body):
        """Mark some (ids) or all of one's notifications read; ids of others' notifications are ignored."""
        s = db.session()
        marked = service.mark_read(s, current_user, "all" if body["all"] else body["ids"])
        return {"marked": marked, "unread": service.unread_count(s, current_user)}
