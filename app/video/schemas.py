"""What a user sends about a lesson's clips, read the same way from the pages and the API (app.inputs)."""

from __future__ import annotations

from marshmallow import Schema, fields


class ClipIn(Schema):
    # Empty or missing values are the service's to refuse, in its own words ("A clip needs an end time").
    title = fields.String(load_default="", metadata={"description": "1 to 300 characters"})
    start = fields.Raw(load_default=None, metadata={"description": "seconds, or m:ss"})
    end = fields.Raw(load_default=None)
    note = fields.String(load_default="", metadata={"description": "up to 5000 characters"})
