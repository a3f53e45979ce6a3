"""JSON endpoints of feedback under /api/v1/videos/: comments and replies on a lesson or one of its clips."""

from __future__ import annotations

import json

from flask import Response, current_app
from flask.views import MethodView
from flask_login import current_user, login_required
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from app import db
from app.feedback import service as feedback
from app.feedback.schemas import ClipCommentIn, CommentEdit, CommentIn
from app.video import clips

blp = Blueprint("feedback_api", __name__, url_prefix="/api/v1/videos", description="Feedback on lessons and clips")


class TagOut(Schema):
    framework = fields.String()
    version = fields.Integer()
    element = fields.String()


class CommentOut(Schema):
    id = fields.Integer()
    parent_id = fields.Integer(allow_none=True)
    start = fields.Float()
    end = fields.Float(allow_none=True)
    body = fields.String()
    quote = fields.String(allow_none=True)
    tags = fields.List(fields.Nested(TagOut))
    author = fields.String(attribute="author.display_name")
    created_at = fields.DateTime()
    edited_at = fields.DateTime(allow_none=True)
    deleted = fields.Function(lambda c: c.deleted_at is not None)
    replies = fields.List(fields.Nested(lambda: CommentOut(exclude=("replies",))))


_TAG_KEYS = ("framework", "version", "element")


def _comment_out(c, *, replies: bool) -> dict:
    """One CommentOut, built by hand (the schema stays the contract and the documentation)."""
    out = {"id": c.id, "parent_id": c.parent_id, "start": c.start, "end": c.end, "body": c.body, "quote": c.quote,
           "tags": [{k: t[k] for k in _TAG_KEYS if k in t} for t in c.tags], "author": c.author.display_name,
           "created_at": c.created_at.isoformat(), "edited_at": c.edited_at.isoformat() if c.edited_at else None,
           "deleted": c.deleted_at is not None}
    if replies:
        out["replies"] = [_comment_out(r, replies=False) for r in c.replies]
    return out


def comments_json(threads) -> Response:
    """CommentOut(many=True) for a lesson's threads: marshmallow took longer over 500 comments than loading them."""
    body = json.dumps([_comment_out(c, replies=True) for c in threads], separators=(",", ":"))
    return current_app.response_class(body + "\n", mimetype="application/json")


@blp.route("/<public_id>/comments")
class Comments(MethodView):
    @login_required
    @blp.response(200, CommentOut(many=True))
    def get(self, public_id: str):
        return comments_json(feedback.threads(db.session(), current_user, public_id))

    @login_required
    @blp.arguments(CommentIn)
    @blp.response(201, CommentOut)
    def post(self, body, public_id: str):
        s = db.session()
        comment = feedback.add_comment(s, current_user, public_id, **body)
        return comment


@blp.route("/comments/<int:comment_id>")
class OneComment(MethodView):
    @login_required
    @blp.response(200, CommentOut)
    def get(self, comment_id: int):
        return feedback.get_comment(db.session(), current_user, comment_id)

    @login_required
    @blp.arguments(CommentEdit)
    @blp.response(200, CommentOut)
    def patch(self, body, comment_id: int):
        s = db.session()
        comment = feedback.edit_comment(s, current_user, comment_id, body["body"], body["tags"])
        return comment

    @login_required
    @blp.response(204)
    def delete(self, comment_id: int):
        s = db.session()
        feedback.delete_comment(s, current_user, comment_id)



@blp.route("/clips/<clip_id>/comments")
class ClipComments(MethodView):
    @login_required
    @blp.response(200, CommentOut(many=True))
    def get(self, clip_id: str):
        s = db.session()
        return feedback.clip_threads(s, current_user, clips.get_clip(s, current_user, clip_id))

    @login_required
    @blp.arguments(ClipCommentIn)
    @blp.response(201, CommentOut)
    def post(self, body, clip_id: str):
        s = db.session()
        comment = feedback.add_clip_comment(s, current_user, clip_id, **body)
        return comment
