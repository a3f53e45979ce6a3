"""What a user sends to share a lesson or record consent, read the same way from pages and the API."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.errors import msg


class ConsentIn(Schema):
    status = fields.String(required=True, validate=validate.OneOf(
        ["none", "partial", "full"], error=msg("Consent is none, partial or full.")),
        error_messages={"required": msg("Consent is none, partial or full.")})
    note = fields.String(load_default="", validate=validate.Length(
        max=2000, error=msg("A consent note has at most 2000 characters.")))


class ShareIn(Schema):
    email = fields.String(load_default=None, validate=validate.Length(
        max=254, error=msg("An e-mail address has at most 254 characters.")))
    community = fields.String(load_default=None, validate=validate.Length(max=32),
                              metadata={"description": "a community's id, instead of an e-mail"})
    right = fields.String(required=True, validate=validate.OneOf(
        ["view", "comment"], error=msg("Share to view or to comment.")),
        error_messages={"required": msg("Share to view or to comment.")})
