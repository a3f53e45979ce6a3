"""JSON endpoints of feedback under /api/v1/videos/: comments and replies on a lesson or one of its clips."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView
from flask_login import current_user, login_required
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from app import db
from app.feedback import service as feedback
from app.feedback import shown
from app.feedback.schemas import ClipCommentIn, CommentEdit, CommentIn, CommentsPageIn
from app.http import answer_cache, send
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
    author_id = fields.Integer(metadata={"description": "the author's user id (whose comment it is)"})
    created_at = fields.DateTime()
    edited_at = fields.DateTime(allow_none=True)
    deleted = fields.Function(lambda c: c.deleted_at is not None)
    replies = fields.List(fields.Nested(lambda: CommentOut(exclude=("replies",))))


def _page_links(page: shown.Page, public_id: str) -> dict[str, str]:
    """RFC 8288 links to the neighbouring pages, GitHub's way: the body stays the plain array it always was."""
    def link(number: int, rel: str) -> str:
        url = url_for("feedback_api.Comments", public_id=public_id, page=number, limit=page.limit)
        return f'<{url}>; rel="{rel}"'

    links = [link(1, "first")]
    if page.number > 1:
        links.append(link(min(page.number - 1, page.pages), "prev"))
    if page.has_next:
        links.append(link(page.number + 1, "next"))
    links.append(link(page.pages, "last"))
    return {"Link": ", ".join(links), "X-Total-Count": str(page.total)}


@blp.route("/<public_id>/comments")
class Comments(MethodView):
    @login_required
    @blp.arguments(CommentsPageIn, location="query")
    @blp.response(200, CommentOut(many=True), headers={
        "Link": {"description": 'the first, previous, next and last pages (rel="first" … "last")',
                 "schema": {"type": "string"}},
        "X-Total-Count": {"description": "threads on the lesson", "schema": {"type": "integer"}},
        "ETag": {"description": "strong; send it back in If-None-Match to get 304", "schema": {"type": "string"}}})
    @blp.alt_response(304, description="Not modified: the page named in If-None-Match is still current")
    def get(self, args, public_id: str):
        """The lesson's threads in time order, replies nested, a page at a time (default 50 threads, at most 200).
        Past the last page: an empty array."""
        page = shown.comments_page(answer_cache(), db.session(), current_user, public_id, args["page"], args["limit"])
        return send(page.body, headers=_page_links(page, public_id))

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
