"""JSON endpoints of sharing under /api/v1/videos/: the class's consent, shares of a lesson or a clip, the
audit log."""

from __future__ import annotations

from flask.views import MethodView
from flask_login import current_user, login_required
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from app import db
from app.sharing import service as sharing
from app.sharing.schemas import ConsentIn, ShareIn
from app.video import clips, service
from app.video.api import VideoOut, video_out

blp = Blueprint("sharing_api", __name__, url_prefix="/api/v1/videos",
                description="Consent, shares and the audit log of lessons and clips")


class ShareOut(Schema):
    id = fields.Integer()
    right = fields.String()
    user = fields.Function(lambda s: s.user.email if s.user else None)
    community = fields.Function(lambda s: s.community.public_id if s.community else None)
    clip = fields.Function(lambda s: s.clip.public_id if s.clip else None)
    created_at = fields.DateTime()


class AuditOut(Schema):
    at = fields.DateTime()
    action = fields.String()
    actor = fields.Function(lambda e: e.actor.email if e.actor else None)
    detail = fields.String()


@blp.route("/<public_id>/consent")
class ConsentView(MethodView):
    @login_required
    @blp.arguments(ConsentIn)
    @blp.response(200, VideoOut)
    def put(self, body, public_id: str):
        s = db.session()
        video = sharing.set_consent(s, current_user, public_id, body["status"], body["note"])
        return video_out(video)


@blp.route("/<public_id>/shares")
class Shares(MethodView):
    @login_required
    @blp.response(200, ShareOut(many=True))
    def get(self, public_id: str):
        s = db.session()
        return sharing.shares_of(s, service.get_video(s, current_user, public_id, "share"), lesson_only=False)

    @login_required
    @blp.arguments(ShareIn)
    @blp.response(201, ShareOut)
    def post(self, body, public_id: str):
        s = db.session()
        found = sharing.share(s, current_user, public_id, body["email"], body["right"], community_id=body["community"])
        return found


@blp.route("/shares/<int:share_id>")
class OneShare(MethodView):
    @login_required
    @blp.response(204)
    def delete(self, share_id: int):
        s = db.session()
        sharing.revoke(s, current_user, share_id)


@blp.route("/<public_id>/audit")
class Audit(MethodView):
    @login_required
    @blp.response(200, AuditOut(many=True))
    def get(self, public_id: str):
        return sharing.audit_log(db.session(), current_user, public_id)



@blp.route("/clips/<clip_id>/shares")
class ClipShares(MethodView):
    @login_required
    @blp.response(200, ShareOut(many=True))
    def get(self, clip_id: str):
        s = db.session()
        clip = clips.get_clip(s, current_user, clip_id, "share")
        return sharing.shares_of(s, clip.video, clip)

    @login_required
    @blp.arguments(ShareIn)
    @blp.response(201, ShareOut)
    def post(self, body, clip_id: str):
        s = db.session()
        found = sharing.share_clip(s, current_user, clip_id, body["email"], body["right"],
                                   community_id=body["community"])
        return found
