"""The one line-numbered YAML reader behind every bank: positions, guards and the problem collector."""

from __future__ import annotations

import pytest

from app import yamlbank
from app.yamlbank import Problems, Unreadable, line_of, load

BANK = """\
# a comment line counts
items:
  - key: compare
    choices:
      A: {text: one, correct: true}
      B:
        text: two
  - key: half
    tags: [a, b,
      c]
    stem: |
      Block text
      on two lines.
"""


def _refused(text: str | bytes, **kwargs) -> Unreadable:
    with pytest.raises(Unreadable) as info:
        load("bank.yaml", text, **kwargs)
    assert str(info.value) == info.value.message
    assert info.value.message.startswith("bank.yaml")
    return info.value


def test_positions_of_keys_list_items_and_nodes() -> None:
    data = load("bank.yaml", BANK).data
    items = data["items"]
    assert line_of(data, "items") == 2
    assert [line_of(items, 0), line_of(items, 1)] == [3, 8]
    assert line_of(items[0], "choices") == 4
    assert line_of(items[0]["choices"], "A") == 5
    assert line_of(items[0]["choices"]["A"], "correct") == 5  # inside a flow mapping
    assert line_of(items[0]["choices"]["B"], "text") == 7
    assert line_of(items[1]["tags"], 2) == 10  # a flow list running over two lines
    assert line_of(items[1], "stem") == 11
    # the node's own line when the key is absent or not given, so "is required" points at the record
    assert line_of(items[1], "model_answer") == 8
    assert line_of(items[1]) == 8
    assert line_of(items, 7) == 3
    # values without positions: scalars, and plain data (a framework read back from the database)
    assert line_of(items[1]["stem"]) is None
    assert line_of({"key": "x"}, "key") is None
    assert line_of(None) is None


def test_data_is_plain_python() -> None:
    data = load("bank.yaml", BANK).data
    assert data == {
        "items": [
            {"key": "compare", "choices": {"A": {"text": "one", "correct": True}, "B": {"text": "two"}}},
            {"key": "half", "tags": ["a", "b", "c"], "stem": "Block text\non two lines.\n"},
        ]
    }
    assert isinstance(data, dict) and isinstance(data["items"], list)
    # YAML 1.1 as PyYAML read it: yes/no are booleans, so a bank can tell the author to quote them
    data = load("x.yaml", "a: yes\nb: no\nc: 'yes'\nd: !!str 12\n").data
    assert data == {"a": True, "b": False, "c": "yes", "d": "12"}
    assert type(load("x.yaml", "d: !!str 12\n").data["d"]) is str


def test_bytes_bom_and_crlf() -> None:
    assert load("x.yaml", "\ufeffkey: a\r\nother: b\r\n".encode()).data == {"key": "a", "other": "b"}
    doc = load("x.yaml", "key: a\r\nother: b\r\n")
    assert line_of(doc.data, "other") == 2


def test_non_utf8_bytes_are_refused_with_the_byte() -> None:
    error = _refused(b"key: caf\xe9\n")
    assert error.message == "bank.yaml: not UTF-8 text (invalid continuation byte at byte 8)"
    assert error.line is None


def test_size_limit() -> None:
    assert load("x.yaml", "a: 1\n", max_chars=5).data == {"a": 1}
    error = _refused("a: 12\n", max_chars=5)
    assert error.message == "bank.yaml: the file is too large (6 characters; at most 5)"
    assert yamlbank.MAX_CHARS >= 500_000  # the largest starter bank file is far below
    _refused("a: " + "x" * yamlbank.MAX_CHARS)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("items: &x [a, b]\nmore: *x\n", 1),  # the anchor is refused before any alias can use it
        ("a: [1, 2]\nb: *x\n", 2),  # an alias to nothing
        # "billion laughs": each line would multiply the one before
        ("a: &a [lol, lol]\nb: &b [*a, *a, *a]\nc: &c [*b, *b, *b]\n", 1),
    ],
)
def test_anchors_and_aliases_are_refused(text: str, line: int) -> None:
    error = _refused(text)
    assert error.line == line
    assert "anchors (&name) and aliases (*name) are not allowed" in error.reason


def test_duplicate_keys_are_listed_with_both_lines() -> None:
    doc = load("bank.yaml", "key: a\ntitle: One\nsub:\n  x: 1\n  x: 2\ntitle: Two\n")
    assert doc.duplicates == [yamlbank.Duplicate("x", 5, 4), yamlbank.Duplicate("title", 6, 2)]
    assert doc.data == {"key": "a", "title": "Two", "sub": {"x": 2}}  # the later value, as in PyYAML
    assert line_of(doc.data, "title") == 6
    problems = Problems("bank.yaml")
    problems.duplicates(doc)
    assert problems.lines == [
        "bank.yaml:5: malformed YAML: duplicate key 'x' (first on line 4)",
        "bank.yaml:6: malformed YAML: duplicate key 'title' (first on line 2)",
    ]


@pytest.mark.parametrize(
    ("text", "line", "parts"),
    [
        ("a: 1\nb: c: d\n", 2, ("mapping values are not allowed here", "(column 5)")),
        ("a: 1\nb: [1, 2\nc: 3\n", 3, ("expected ',' or ']', but got ':'", "it began on line 2")),
        ("a: 1\n  b: 2\n", 2, ("mapping values are not allowed here",)),
        ("a: 'unclosed\n", 2, ("found unexpected end of stream", "it began on line 1")),
        ("a: 1\n\tb: 2\n", 2, ("malformed YAML",)),
        ("a: 1\n---\nb: 2\n", 2, ("expected a single document",)),
        ("a: 1\nb: \x07\n", 2, ("special characters are not allowed", "U+0007")),
    ],
)
def test_syntax_errors_name_the_line(text: str, line: int, parts: tuple[str, ...]) -> None:
    error = _refused(text)
    assert error.line == line, error.message
    assert error.message.startswith(f"bank.yaml:{line}: malformed YAML: ")
    for part in parts:
        assert part in error.message, error.message


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "the file is empty"),
        ("# only a comment\n", "the file is empty"),
        ("a: !!python/object/apply:os.system [ls]\n", "the tag '!!python/object/apply:os.system' is not allowed"),
        ("a: !custom x\n", "the tag '!custom' is not allowed"),
        ("a: !!binary aGk=\n", "the tag '!!binary' is not allowed"),
        ("? [a, b]\n: c\n", "a mapping key must be plain text, not a list"),
        ("{x: 1}: c\n", "a mapping key must be plain text, not a mapping"),
        ("~: c\n", "a mapping key must be plain text, not nothing"),
        ("a: " + "[" * 60 + "]" * 60 + "\n", "maximum depth"),
    ],
)
def test_what_a_bank_never_needs_is_refused(text: str, reason: str) -> None:
    assert reason in _refused(text).reason


def test_problems_format_and_positions() -> None:
    problems = Problems("items.yaml")
    assert not problems and len(problems) == 0
    problems.add(12, "item 'half'", "answer", "must be a number")
    problems.add(None, "", None, "must be a mapping")
    problems.add(3, "diagnostic 'quick'", "items[1]", "unknown item", file="diagnostics.yaml")
    problems.unreadable(Unreadable("other.yaml", "malformed YAML: oops", 4))
    assert list(problems) == [
        "items.yaml:12: item 'half': answer: must be a number",
        "items.yaml: must be a mapping",
        "diagnostics.yaml:3: diagnostic 'quick': items[1]: unknown item",
        "other.yaml:4: malformed YAML: oops",
    ]
    spoken = Problems("demo.yaml", position="{file}, line {line}")
    spoken.add(7, "framework 'demo'", "field 'title' is empty")
    assert spoken.lines == ["demo.yaml, line 7: framework 'demo': field 'title' is empty"]
