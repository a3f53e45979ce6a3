"""JSON endpoints under /api/v1/accounts/: users, API tokens, exports of one's own data."""

from __future__ import annotations

from flask.views import MethodView
from flask_login import current_user, login_required
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app import db
from app.accounts import service
from app.errors import msg
from app.extensions import limiter, login_limit
from app.inputs import whole_number

blp = Blueprint("accounts_api", __name__, url_prefix="/api/v1/accounts", description="Users, API tokens, data exports")


class OrganizationOut(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String()


class UserOut(Schema):
    id = fields.Integer()
    email = fields.String()
    display_name = fields.String()
    role = fields.String()
    locale = fields.String(allow_none=True)
    timezone = fields.String()
    organization = fields.Nested(OrganizationOut, allow_none=True)


class TokenRequest(Schema):
    email = fields.String(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True, validate=validate.Length(max=1024))
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    days = whole_number(msg("A token lasts 1 to 366 days."), least=1, most=366, load_default=None,
                        metadata={"description": "default: API_TOKEN_DAYS"})


class TokenOut(Schema):
    id = fields.Integer()
    name = fields.String()
    prefix = fields.String()
    created_at = fields.DateTime()
    expires_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)
    last_used_at = fields.DateTime(allow_none=True)


class IssuedTokenOut(TokenOut):
    token = fields.String(metadata={"description": "the secret; shown only in this response"})


@blp.route("/me")
class Me(MethodView):
    @login_required
    @blp.response(200, UserOut)
    def get(self):
        return current_user


@blp.route("/users")
class Users(MethodView):
    @login_required
    @blp.response(200, UserOut(many=True))
    def get(self):
        return service.users_visible_to(db.session(), current_user)


@blp.route("/users/<int:user_id>")
class OneUser(MethodView):
    @login_required
    @blp.response(200, UserOut)
    def get(self, user_id: int):
        return service.get_user(db.session(), current_user, user_id)


@blp.route("/tokens")
class Tokens(MethodView):
    @login_required
    @blp.response(200, TokenOut(many=True))
    def get(self):
        return service.tokens_of(db.session(), current_user)

    @limiter.limit(login_limit)
    @blp.arguments(TokenRequest)
    @blp.response(201, IssuedTokenOut)
    @blp.doc(security=[])
    def post(self, body):
        """Exchange an e-mail and password for a bearer token."""
        s = db.session()
        user = service.authenticate(s, body["email"], body["password"])
        from flask import current_app

        days = body["days"] or current_app.extensions["classlab.settings"].api_token_days
        issued = service.issue_token(s, user, body["name"], days)
        fields_ = {name: getattr(issued.token, name) for name in TokenOut().fields}
        return {**fields_, "token": issued.secret}


@blp.route("/tokens/<int:token_id>")
class OneToken(MethodView):
    @login_required
    @blp.response(204)
    def delete(self, token_id: int):
        s = db.session()
        service.revoke_token(s, current_user, token_id)


class ExportOut(Schema):
    id = fields.String(attribute="public_id")
    status = fields.String(metadata={"description": "pending | running | ready | failed"})
    size = fields.Integer(allow_none=True, metadata={"description": "bytes of the ZIP archive, once ready"})
    error = fields.String(allow_none=True, metadata={"description": "why it failed"})
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    download_url = fields.String(allow_none=True, metadata={"description": "signed, expiring (MEDIA_URL_SECONDS)"})


def _export_out(export) -> dict:
    from flask import current_app

    from app.export.service import download_url

    url = download_url(current_app.extensions["classlab.storage"], export,
                       current_app.extensions["classlab.settings"].download_url_seconds)
    return {**{name: getattr(export, name) for name in ("public_id", "status", "size", "error", "created_at",
                                                         "finished_at")}, "download_url": url}


@blp.route("/exports")
class Exports(MethodView):
    @login_required
    @blp.response(200, ExportOut(many=True))
    def get(self):
        """Your recent exports, newest first (each kept EXPORT_DAYS days)."""
        from app.export.service import exports_of

        return [_export_out(e) for e in exports_of(db.session(), current_user)]

    @login_required
    @blp.response(202, ExportOut)
    @blp.alt_response(409, description="An export is already pending or running")
    def post(self):
        """Ask for a ZIP archive of all your data; poll the export until it is ready (409 while one is pending)."""
        from app.export import service as export

        # Sent after the commit; a broker that is down then marks it failed (the poll shows why).
        return _export_out(export.request_export(db.session(), current_user))


@blp.route("/exports/<export_id>")
class OneExport(MethodView):
    @login_required
    @blp.response(200, ExportOut)
    def get(self, export_id: str):
        """The export's status, and a signed download URL once it is ready."""
        from app.export.service import get_export

        return _export_out(get_export(db.session(), current_user, export_id))
