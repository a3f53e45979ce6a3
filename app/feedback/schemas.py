"""What a user sends to give feedback, read the same way from the page's forms and the API (app.inputs)."""

from __future__ import annotations

from marshmallow import Schema, fields

from app.errors import msg
from app.inputs import database_id, whole_number

NO_SUCH_PARENT = msg("There is no such comment to reply to.")


class CommentIn(Schema):
    # An empty body is the service's to refuse, with its own words ("Write something").
    body = fields.String(load_default="")
    start = fields.Raw(load_default=None, metadata={"description": "seconds, or m:ss"})
    end = fields.Raw(load_default=None)
    parent_id = database_id(NO_SUCH_PARENT, load_default=None)
    quote = fields.String(load_default=None)
    tags = fields.List(fields.String(), load_default=list, metadata={"description": "framework:element"})


class CommentEdit(Schema):
    body = fields.String(load_default="")
    tags = fields.List(fields.String(), load_default=None)


class ClipCommentIn(Schema):
    body = fields.String(load_default="")
    start = fields.Raw(load_default=None)
    end = fields.Raw(load_default=None)
    parent_id = database_id(NO_SUCH_PARENT, load_default=None)
    tags = fields.List(fields.String(), load_default=list)


DEFAULT_PAGE = 50
MAX_PAGE = 200


class CommentsPageIn(Schema):
    """Which threads of a lesson to list: page `page` of `limit` threads (replies come with their thread)."""

    page = whole_number("A page number is a whole number from 1.", least=1, load_default=1)
    limit = whole_number(f"A page holds 1 to {MAX_PAGE} threads.", least=1, most=MAX_PAGE, load_default=DEFAULT_PAGE,
                         metadata={"description": f"threads per page (default {DEFAULT_PAGE}, at most {MAX_PAGE})"})


class WatchPageIn(Schema):
    """The watch page's comments: a page of them, or the page that holds one comment (a link to it)."""

    page = whole_number("A page number is a whole number from 1.", least=1, load_default=1)
    comment = database_id("There is no such comment.", load_default=None)
