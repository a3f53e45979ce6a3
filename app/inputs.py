"""One input schema per use case: the page's form and the API's JSON body are read by the same marshmallow
schema, so a rule about what a user may send lives in one place.

The API declares a schema with flask-smorest's `@blp.arguments(Schema)`. A page view reads its form
with `read_form(Schema, request.form)`: a refused field becomes `InvalidInput` naming the field, which the
page shows (see `app.errors.form_errors_to`) like any other refusal.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import parse_qsl

from marshmallow import Schema, ValidationError, fields, validate
from werkzeug.formparser import FormDataParser, MultiPartParser

from app.db import MAX_ID
from app.errors import ClassLabError, InvalidInput, Message, msg

# Deeper than any body we define (a grid's answers are three levels); the stdlib decoder would recurse
# until a RecursionError (a 500) on a body thousands of levels deep.
MAX_JSON_DEPTH = 64
# Text anywhere (a name, a comment, a search): no C0 control character but tab and line breaks, no DEL,
# and no lone UTF-16 surrogate (a JSON "\ud800" decodes to one; no database can store it, and PostgreSQL
# refuses NUL). Refused, never stripped: the sender learns which field, and nothing is stored altered.
_REFUSED_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
TOO_DEEP = msg("The JSON body is nested too deeply (at most %(most)d levels).", most=MAX_JSON_DEPTH)


class MalformedBody(ClassLabError):
    """A request body that is not acceptable JSON at all (too deep, NaN): 400, like malformed JSON."""

    title = msg("Malformed JSON")


def database_id(message: Message, **kwargs: Any) -> fields.Integer:
    """An id of a row: a whole number an id column can hold (app.db.MAX_ID; a larger one is nobody's id)."""
    return fields.Integer(strict=False, validate=validate.Range(min=1, max=MAX_ID, error=message),
                          error_messages={"invalid": message}, **kwargs)


def whole_number(message: Message, *, least: int = 0, most: int = MAX_ID, **kwargs: Any) -> fields.Integer:
    """Any other whole number sent to us: never outside what an INTEGER column holds (MAX_ID), so an oversized one
    is refused naming its field instead of overflowing in the database driver."""
    return fields.Integer(strict=False, validate=validate.Range(min=max(least, -MAX_ID), max=min(most, MAX_ID),
                                                                error=message),
                          error_messages={"invalid": message}, **kwargs)


def digits(text: str | None, most: int = MAX_ID) -> int | None:
    """The whole number `text` writes in ASCII digits (a header, a form field's name, a URL part), or None when
    it is not one or is above `most`. `str.isdigit()` alone lets "²" through, which int() refuses, and int()
    refuses more than 4300 digits: both were server errors."""
    if text is None or not (text.isascii() and text.isdigit()) or len(text) > len(str(most)):
        return None
    value = int(text)
    return value if value <= most else None


def text_refused(value: str) -> bool:
    """Whether text holds a character no field accepts (see _REFUSED_TEXT)."""
    return _REFUSED_TEXT.search(value) is not None


def refused_text(field: str) -> InvalidInput:
    """The refusal of a field's text, naming the field (the API's problem+json, a page's message)."""
    # A field's name may itself be the refused text (a form key with a NUL): shown with U+FFFD in its place, since
    # a page cannot even be encoded with a lone surrogate in it.
    # Names the field: a page shows the message above the whole form, where "this text" could be any of its boxes.
    return InvalidInput(msg("“%(field)s” holds control characters or invalid Unicode: remove them and send it again.",
                            field=_REFUSED_TEXT.sub("\ufffd", field)), field=field)


def check_text(field: str, value: str) -> None:
    if text_refused(value):
        raise refused_text(field)


def _refuse_constant(name: str) -> Any:
    raise MalformedBody(msg("%(name)s is not a number; JSON has no NaN or Infinity.", name=name))


def _parse_int(digits: str) -> int | float:
    # A number this long is past any column and refused anyway; infinity lets the check below name its
    # field, where int() would spend quadratic time and, past 4300 digits, raise a bare ValueError.
    return int(digits) if len(digits) <= 40 else math.inf


def loads(text: str | bytes) -> Any:
    """The one JSON reader for request bodies (the app's JSON provider uses it, so webargs/flask-smorest and
    views read the same): no NaN/Infinity, at most MAX_JSON_DEPTH levels, every whole number within an INTEGER
    column and every other number finite (1e400 is infinity), every string (keys too) free of refused
    characters; a refusal names the field's path."""
    if _too_deep(text):
        # Counted before decoding: the decoder would recurse until a RecursionError, and Python 3.11 is left
        # unable to compile code after one (a later ast.parse raises "recursion depth mismatch").
        raise MalformedBody(TOO_DEEP)
    try:
        data = json.loads(text, parse_constant=_refuse_constant, parse_int=_parse_int)
    except RecursionError:
        raise MalformedBody(TOO_DEEP) from None
    _check_document(data)
    return data


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_JSON_BRACKET = re.compile(r"[\[\]{}]")


def _too_deep(text: str | bytes) -> bool:
    """Whether arrays and objects nest deeper than MAX_JSON_DEPTH, brackets inside strings aside."""
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", "replace")
    depth = 0
    for bracket in _JSON_BRACKET.finditer(_JSON_STRING.sub("", text)):
        depth += 1 if bracket.group() in "[{" else -1
        if depth > MAX_JSON_DEPTH:
            return True
    return False


def _check_document(data: Any) -> None:
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth >= MAX_JSON_DEPTH:
                raise MalformedBody(TOO_DEEP)
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                name = f"{path}.{key}" if path else str(key)
                if isinstance(key, str) and text_refused(key):
                    raise refused_text(name)
                stack.append((item, name, depth + 1))
        elif isinstance(value, str):
            check_text(path or "body", value)
        elif isinstance(value, float) and not math.isfinite(value) or (
                isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_ID):
            # No whole number we store or look up is past an INTEGER column (an id inside a grid's answers,
            # a count): refusing them here is the one rule, before any driver overflows.
            raise InvalidInput(msg("This number is too large."), field=path or "body")


def _first_message(messages: Any, field: str | None) -> Message:
    """The first refusal, in the reader's language: a schema's own message (a Message), else marshmallow's
    English sentence replaced by one naming the field."""
    while isinstance(messages, dict):
        messages = next(iter(messages.values()))
    while isinstance(messages, list):
        messages = messages[0]
    if isinstance(messages, Message):
        return messages
    return msg("'%(field)s' is not valid.", field=field or "body")


def read_form(schema: type[Schema] | Schema, form: Mapping[str, Any]) -> dict[str, Any]:
    """The schema's reading of a submitted form. Fields that are lists (tags) take every value sent under
    their name; an empty text box of an optional field counts as not sent."""
    schema = schema() if isinstance(schema, type) else schema
    data: dict[str, Any] = {}
    for name, field in schema.fields.items():
        key = field.data_key or name
        if key not in form:
            continue
        for value in form.getlist(key) if hasattr(form, "getlist") else [form[key]]:
            if isinstance(value, str):
                check_text(key, value)
        if isinstance(field, fields.List):
            data[key] = form.getlist(key) if hasattr(form, "getlist") else form[key]
        elif form[key] != "" or field.required or isinstance(field, fields.String):
            data[key] = form[key]
    try:
        return schema.load(data, unknown="exclude")
    except ValidationError as exc:
        name = next(iter(exc.messages)) if isinstance(exc.messages, dict) and exc.messages else None
        raise InvalidInput(_first_message(exc.messages, name), field=name) from None


# Form fields and query arguments ---------------------------------------------------------------------------
# Werkzeug keeps bytes that are not UTF-8 percent-encoded in a urlencoded form or a query ("a%ED%A0%80b" was stored
# as those nine characters) and turns them into U+FFFD in a multipart form: either way a field whose bytes were
# not text was stored altered. Read here, such bytes become lone surrogates (Python's surrogateescape), which the
# text rule refuses like a JSON "\ud800", naming the field.


def _text_of(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def parse_query(raw: bytes) -> list[tuple[str, str]]:
    """A query string or a urlencoded body: (name, value) pairs, bytes that are not UTF-8 kept refusable."""
    return parse_qsl(_text_of(raw), keep_blank_values=True, errors="surrogateescape")


class _BytesKeptMultiPart(MultiPartParser):
    def get_part_charset(self, headers) -> str:
        return "latin-1"  # every byte kept as one character; FormParser decodes them as UTF-8


class FormParser(FormDataParser):
    """Werkzeug's form parser, reading text fields as app.inputs reads everything (see above)."""

    def _parse_urlencoded(self, stream, mimetype, content_length, options):
        return stream, self.cls(parse_query(stream.read())), self.cls()

    def _parse_multipart(self, stream, mimetype, content_length, options):
        parser = _BytesKeptMultiPart(stream_factory=self.stream_factory, max_form_memory_size=self.max_form_memory_size,
                                     max_form_parts=self.max_form_parts, cls=self.cls)
        boundary = options.get("boundary", "").encode("ascii")
        if not boundary:
            raise ValueError("Missing boundary")
        form, files = parser.parse(stream, boundary, content_length)
        form = self.cls((name, _text_of(value.encode("latin-1"))) for name, value in form.items(multi=True))
        return stream, form, files


def local_datetime(value: str | None, field: str, zone: tzinfo) -> datetime:
    """A datetime-local form value ("2026-12-08T16:30") in the reader's time zone, as UTC for storing."""
    try:
        naive = datetime.fromisoformat((value or "")[:40])
    except (TypeError, ValueError):
        raise InvalidInput(msg("'%(value)s' is not a date and time.", value=(value or "")[:40]), field=field) from None
    if naive.tzinfo is not None:
        return naive.astimezone(UTC)
    return naive.replace(tzinfo=zone).astimezone(UTC)
