"""JSON endpoints under /api/v1/accounts/."""

from __future__ import annotations

from flask.views import MethodView
from flask_login import current_user, login_required
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app import db, limiter, login_limit
from app.accounts import service

blp = Blueprint("accounts_api", __name__, url_prefix="/api/v1/accounts", description="Users and API tokens")


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
    days = fields.Integer(load_default=None, validate=validate.Range(1, 366),
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
        s.commit()
        fields_ = {name: getattr(issued.token, name) for name in TokenOut().fields}
        return {**fields_, "token": issued.secret}


@blp.route("/tokens/<int:token_id>")
class OneToken(MethodView):
    @login_required
    @blp.response(204)
    def delete(self, token_id: int):
        s = db.session()
        service.revoke_token(s, current_user, token_id)
        s.commit()
