"""app.inputs.loads, the one JSON reader for request bodies, and the text rule every field follows."""

from __future__ import annotations

import pytest

from app.errors import InvalidInput
from app.inputs import MAX_JSON_DEPTH, MalformedBody, loads, text_refused
from app.video.timeline import check_times


class Lesson:
    duration = 60.0


def test_good_bodies_read_as_the_stdlib_would():
    body = '{"body": "שלום\\r\\n\\tעולם", "start": 1.5, "ids": [1, 2147483647], "ok": true, "x": null}'
    assert loads(body) == {"body": "שלום\r\n\tעולם", "start": 1.5, "ids": [1, 2**31 - 1], "ok": True, "x": None}
    nested = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert loads(nested) is not None


@pytest.mark.parametrize("body", ["[" * 5000 + "]" * 5000, "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1),
                                  '{"a": NaN}', '[Infinity]', '[-Infinity]'])
def test_too_deep_and_nan_are_malformed(body):
    with pytest.raises(MalformedBody):
        loads(body)


@pytest.mark.parametrize("body,field", [
    ('{"parent_id": 2147483648}', "parent_id"),  # past PostgreSQL's INTEGER (app.db.MAX_ID)
    ('{"parent_id": -2147483648}', "parent_id"),
    ('{"parent_id": 9223372036854775808}', "parent_id"),
    ('{"start": ' + "9" * 401 + "}", "start"),
    ('{"start": -' + "9" * 9000 + "}", "start"),
    ('{"start": 1e400}', "start"),
    ('{"answers": [{"student": 1}, {"student": 1000000000000000000000000000000}]}', "answers.1.student"),
    ('{"body": "a\\u0000b"}', "body"),
    ('{"body": "a\\ud800b"}', "body"),
    ('{"body": "a\\udc00"}', "body"),
    ('{"tags": ["ok", "\\u001b[31m"]}', "tags.1"),
    ('{"a\\u0000": 1}', "a\x00"),
    ('"\\u007f"', "body"),
])
def test_numbers_and_text_are_refused_naming_the_field(body, field):
    with pytest.raises(InvalidInput) as err:
        loads(body)
    assert err.value.field == field


def test_the_text_rule():
    assert not text_refused("line\r\nnext\ttab, עברית, عربي, emoji 🎓, \u200f rtl mark")
    assert all(text_refused(c) for c in ["\x00", "\x07", "\x0b", "\x0c", "\x1b", "\x7f", "\ud800", "\udfff"])


@pytest.mark.parametrize("start,end,field", [
    (10**401, None, "start"), ("9" * 401, None, "start"), ("1e400", None, "start"), (float("nan"), None, "start"),
    (1, "9" * 401, "end"), (1, 10**401, "end"), (True, None, "start"),
])
def test_times_past_a_double_are_refused_by_field(start, end, field):
    with pytest.raises(InvalidInput) as err:
        check_times(Lesson(), start, end)
    assert err.value.field == field


def test_form_and_query_bytes_that_are_not_utf8_are_refusable_not_altered():
    from io import BytesIO

    from app.inputs import FormParser, parse_query

    pairs = dict(parse_query(b"cesu=a%ED%A0%80b&raw=a\xffb&ok=%D7%A9%D7%9C%D7%95%D7%9D&plus=a+b"))
    assert text_refused(pairs["cesu"]) and text_refused(pairs["raw"])  # was "a%ED%A0%80b" and "a%FFb", stored as such
    assert pairs["ok"] == "שלום" and pairs["plus"] == "a b"
    body = ('--X\r\nContent-Disposition: form-data; name="bad"\r\n\r\nm\udced\udca0\udc80n\r\n'
            '--X\r\nContent-Disposition: form-data; name="ok"\r\n\r\nכיתה\r\n--X--\r\n')
    body = body.encode("utf-8", "surrogateescape")
    _stream, form, _files = FormParser().parse(BytesIO(body), "multipart/form-data", len(body), {"boundary": "X"})
    assert text_refused(form["bad"]) and form["ok"] == "כיתה"  # not "m���n", which nothing could tell from text
