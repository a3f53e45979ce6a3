"""One input schema per use case: the page's form and the API's JSON body are read by the same marshmallow
schema, so a rule about what a user may send lives in one place.

The API declares a schema with flask-smorest's `@blp.arguments(Schema)`. A page view reads its form
with `read_form(Schema, request.form)`: a refused field becomes `InvalidInput` naming the field, which the
page shows (see `app.errors.form_errors_to`) like any other refusal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from app.db import MAX_ID
from app.errors import InvalidInput


def database_id(message: str, **kwargs: Any) -> fields.Integer:
    """An id of a row: a whole number a 64-bit column can hold (a larger one is nobody's id)."""
    return fields.Integer(strict=False, validate=validate.Range(min=1, max=MAX_ID, error=message),
                          error_messages={"invalid": message}, **kwargs)


def _first_message(messages: Any) -> str:
    while isinstance(messages, dict):
        messages = next(iter(messages.values()))
    while isinstance(messages, list):
        messages = messages[0]
    return str(messages)


def read_form(schema: type[Schema] | Schema, form: Mapping[str, Any]) -> dict[str, Any]:
    """The schema's reading of a submitted form. Fields that are lists (tags) take every value sent under
    their name; an empty text box of an optional field counts as not sent."""
    schema = schema() if isinstance(schema, type) else schema
    data: dict[str, Any] = {}
    for name, field in schema.fields.items():
        key = field.data_key or name
        if key not in form:
            continue
        if isinstance(field, fields.List):
            data[key] = form.getlist(key) if hasattr(form, "getlist") else form[key]
        elif form[key] != "" or field.required or isinstance(field, fields.String):
            data[key] = form[key]
    try:
        return schema.load(data, unknown="exclude")
    except ValidationError as exc:
        name = next(iter(exc.messages)) if isinstance(exc.messages, dict) and exc.messages else None
        raise InvalidInput(_first_message(exc.messages), field=name) from None
