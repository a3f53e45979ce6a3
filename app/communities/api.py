"""JSON endpoints under /api/v1/communities/."""

from __future__ import annotations

from flask.views import MethodView
from flask_login import current_user, login_required
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app import db
from app.communities import service
from app.communities.models import MEMBER_ROLES

blp = Blueprint("communities_api", __name__, url_prefix="/api/v1/communities",
                description="Professional learning communities")


class MemberOut(Schema):
    user_id = fields.Integer()
    name = fields.String(attribute="user.display_name")
    role = fields.String()
    added_at = fields.DateTime()


class CommunityOut(Schema):
    id = fields.String(attribute="public_id")
    name = fields.String()
    description = fields.String()
    members = fields.List(fields.Nested(MemberOut))


class CommunityIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(load_default="", validate=validate.Length(max=5000))


class MemberIn(Schema):
    email = fields.String(required=True, validate=validate.Length(max=254))
    role = fields.String(load_default="member", validate=validate.OneOf(MEMBER_ROLES))


class SharedOut(Schema):
    kind = fields.Function(lambda s: "clip" if s.clip else "lesson")
    id = fields.Function(lambda s: s.clip.public_id if s.clip else s.video.public_id)
    title = fields.Function(lambda s: s.clip.title if s.clip else s.video.title)
    owner = fields.Function(lambda s: s.video.owner.display_name)
    right = fields.String()
    created_at = fields.DateTime()


@blp.route("/")
class Communities(MethodView):
    @login_required
    @blp.response(200, CommunityOut(many=True))
    def get(self):
        return service.list_communities(db.session(), current_user)

    @login_required
    @blp.arguments(CommunityIn)
    @blp.response(201, CommunityOut)
    def post(self, body):
        s = db.session()
        community = service.create_community(s, current_user, body["name"], body["description"])
        return community


@blp.route("/<public_id>")
class OneCommunity(MethodView):
    @login_required
    @blp.response(200, CommunityOut)
    def get(self, public_id: str):
        return service.get_community(db.session(), current_user, public_id)


@blp.route("/<public_id>/members")
class Members(MethodView):
    @login_required
    @blp.arguments(MemberIn)
    @blp.response(201, MemberOut)
    def post(self, body, public_id: str):
        s = db.session()
        member = service.add_member(s, current_user, public_id, body["email"], body["role"])
        return member


@blp.route("/<public_id>/members/<int:user_id>")
class OneMember(MethodView):
    @login_required
    @blp.response(204)
    def delete(self, public_id: str, user_id: int):
        s = db.session()
        service.remove_member(s, current_user, public_id, user_id)


@blp.route("/<public_id>/shared")
class Shared(MethodView):
    @login_required
    @blp.response(200, SharedOut(many=True))
    def get(self, public_id: str):
        s = db.session()
        return service.shared_with(s, current_user, service.get_community(s, current_user, public_id))
