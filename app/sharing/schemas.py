"""What a user sends to share a lesson or record consent, read the same way from pages and the API."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class ConsentIn(Schema):
    status = fields.String(required=True, validate=validate.OneOf(
        ["none", "partial", "full"], error="Consent is none, partial or full."))
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class ShareIn(Schema):
    email = fields.String(load_default=None, validate=validate.Length(max=254))
    community = fields.String(load_default=None, validate=validate.Length(max=32),
                              metadata={"description": "a community's id, instead of an e-mail"})
    right = fields.String(required=True, validate=validate.OneOf(
        ["view", "comment"], error="Share to view or to comment."))
