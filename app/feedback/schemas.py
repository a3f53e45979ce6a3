"""What a user sends to give feedback, read the same way from the page's forms and the API (app.inputs)."""

from __future__ import annotations

from marshmallow import Schema, fields

from app.errors import msg
from app.inputs import database_id

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
