"""Line-numbered YAML for every bank written by hand: the item bank, observation frameworks, and the banks to come.

A bank is validated in full before anything is stored, and each problem names the file and line an author must
fix. This module reads the YAML (on ruamel.yaml's round-trip loader, which keeps the position of every key and list
item) and collects the problems; the bank's own module decides what is valid. A new bank needs a few lines:

    from app import yamlbank

    def load_scenarios_text(name: str, text: str | bytes) -> list[Scenario]:
        problems = Problems(name)
        try:
            doc = yamlbank.load(name, text)
        except yamlbank.Unreadable as exc:
            raise ScenarioError([exc.message]) from None
        problems.duplicates(doc)
        for n, record in enumerate(doc.data["scenarios"]):
            if "title" not in record:
                problems.add(line_of(record), f"scenario #{n + 1}", "title", "is required")
        ...
        if problems:
            raise ScenarioError(problems.lines)   # "scenarios.yaml:12: scenario #3: title: is required"

What `load` refuses, each with the file and, where it has one, the line:

- a file over `MAX_CHARS` characters (a bank file is a few hundred KB at most), or bytes that are not UTF-8;
- YAML syntax errors ("malformed YAML: ...", with the column, and the line the broken construct began on);
- anchors and aliases (`&name`, `*name`): a few lines of aliases can expand into a huge structure, and a bank has
  no use for them; tags other than YAML's plain ones (`!!python/...`, `!custom`); keys that are lists or mappings;
  nesting deeper than `MAX_DEPTH`; several documents in one file; an empty file.

Duplicate keys in one mapping are not fatal: `Document.duplicates` lists each with both line numbers (the later
value is the one kept), so the bank can report them with every other problem in one pass.

The data is read as YAML 1.1, like PyYAML, which these banks were first written against: `yes`/`no` are booleans
(the banks' messages say "put the text in quotes" when one turns up where text belongs).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.composer import Composer, ComposerError
from ruamel.yaml.constructor import ConstructorError, RoundTripConstructor
from ruamel.yaml.error import MantissaNoDotYAML1_1Warning, MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent
from ruamel.yaml.reader import ReaderError

from app import richtext

__all__ = ["KEY", "LANGUAGES", "MAX_CHARS", "MAX_DEPTH", "Context", "Document", "Duplicate", "Problems", "Unreadable",
           "key", "keyed_records", "language_map", "line_of", "load", "read_languages", "show", "whole_number"]

#: Largest file accepted, in characters: the starter banks are a few KB to 100 KB; refuse the absurd before parsing.
MAX_CHARS = 1_000_000
#: Deepest nesting of lists and mappings accepted (a bank needs about six), so hostile input cannot exhaust the stack.
MAX_DEPTH = 50

_DUPLICATE = "malformed YAML: duplicate key {key!r} (first on line {first_line})"
_PLAIN_TAGS = {f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "seq", "map")}


class Unreadable(ValueError):
    """The file cannot be read as a bank at all; `message` is "file:line: reason" (or "file: reason")."""

    def __init__(self, file: str, reason: str, line: int | None = None) -> None:
        self.file, self.reason, self.line = file, reason, line
        self.message = f"{file}:{line}: {reason}" if line else f"{file}: {reason}"
        super().__init__(self.message)


@dataclass(frozen=True)
class Duplicate:
    """A key written twice in one mapping: `line` is the repeat (whose value is kept), `first_line` the first."""

    key: Any
    line: int
    first_line: int


@dataclass
class Document:
    """One bank file: `data` is mappings (dict subclasses), lists and plain scalars, positions kept for `line_of`."""

    name: str
    data: Any
    duplicates: list[Duplicate] = field(default_factory=list)


def line_of(node: Any, key: Any = None) -> int | None:
    """The 1-based line of `key` in a mapping, of item number `key` in a list, or of `node` itself.

    Falls back to the node's own line when the key is absent, and gives None for anything `load` did not produce
    (a plain dict, e.g. a framework read back from the database), so callers need no special case.
    """
    lc = getattr(node, "lc", None)
    if lc is None:
        return None
    try:
        if isinstance(node, CommentedSeq) and isinstance(key, int) and not isinstance(key, bool):
            return lc.item(key)[0] + 1
        if isinstance(node, CommentedMap) and key is not None and key in node:
            return lc.key(key)[0] + 1
    except (KeyError, IndexError, TypeError):
        pass
    return lc.line + 1 if lc.line is not None else None


class Problems:
    """Collects problems as "file:line: where: field: message" lines (empty parts are left out).

    `position` shapes the "file:line" part; the observation frameworks, read in the admin pages rather than a
    terminal, say "file, line 12".
    """

    def __init__(self, file: str = "", *, position: str = "{file}:{line}") -> None:
        self.file = file
        self.position = position
        self.lines: list[str] = []

    def add(self, line: int | None, *parts: str | None, file: str | None = None) -> None:
        file = self.file if file is None else file
        at = self.position.format(file=file, line=line) if line else file
        self.lines.append(": ".join(p for p in (at, *parts) if p))

    def unreadable(self, error: Unreadable) -> None:
        self.add(error.line, error.reason, file=error.file)

    def duplicates(self, doc: Document, template: str = _DUPLICATE) -> None:
        """One problem per repeated key; `template` may use {key} and {first_line}."""
        for dup in doc.duplicates:
            self.add(dup.line, template.format(key=str(dup.key), first_line=dup.first_line), file=doc.name)

    def __bool__(self) -> bool:
        return bool(self.lines)

    def __len__(self) -> int:
        return len(self.lines)

    def __iter__(self) -> Iterator[str]:
        return iter(self.lines)


# ---------------------------------------------------------------------------------------------------- the reader


class _Composer(Composer):
    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        if isinstance(event, AliasEvent) or event.anchor is not None:
            raise ComposerError(None, None, "anchors (&name) and aliases (*name) are not allowed", event.start_mark)
        tag = getattr(event, "tag", None)
        if tag is not None and tag not in _PLAIN_TAGS and tag != "!":
            shown = tag.replace("tag:yaml.org,2002:", "!!")
            raise ComposerError(
                None,
                None,
                f"the tag {shown!r} is not allowed (a bank holds only text, numbers, lists and mappings)",
                event.start_mark,
            )
        return super().compose_node(parent, index)


class _Constructor(RoundTripConstructor):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.duplicates: list[Duplicate] = []

    def check_mapping_key(self, node: Any, key_node: Any, mapping: Any, key: Any, value: Any) -> bool:
        if not isinstance(key, str | int | float | bool):
            message = f"a mapping key must be plain text, not {_kind(key)}"
            raise ConstructorError(None, None, message, key_node.start_mark)
        if key in mapping:
            self.duplicates.append(Duplicate(key, key_node.start_mark.line + 1, mapping.lc.key(key)[0] + 1))
        # The later value wins, as in PyYAML and JSON parsers; the bank reports the repeat with both lines.
        return True

    def construct_plain_str(self, node: Any) -> Any:
        # The round-trip loader keeps an explicit `!!str` as a tagged object; the composer admits only plain tags.
        return self.construct_scalar(node)


_Constructor.add_constructor("tag:yaml.org,2002:str", _Constructor.construct_plain_str)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, Sequence) and not isinstance(value, str):
        return "a list"
    return type(value).__name__


def load(name: str, text: str | bytes, *, max_chars: int = MAX_CHARS) -> Document:
    """Read one bank file. `name` (usually the file name) starts every message; raises `Unreadable`."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise Unreadable(name, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if len(text) > max_chars:
        raise Unreadable(name, f"the file is too large ({len(text):,} characters; at most {max_chars:,})")
    yaml = YAML(typ="rt", pure=True)
    yaml.version = (1, 1)
    yaml.max_depth = MAX_DEPTH
    yaml.Composer = _Composer
    yaml.Constructor = _Constructor
    try:
        with warnings.catch_warnings():
            # "1e3" without a dot: ruamel reads it as a number and says so on stderr, which an author never sees
            warnings.simplefilter("ignore", MantissaNoDotYAML1_1Warning)
            data = yaml.load(text)
    except MarkedYAMLError as exc:
        raise _malformed(name, exc) from None
    except ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1 if isinstance(exc.position, int) else None
        raise Unreadable(name, f"malformed YAML: {exc.reason} (character U+{exc.character:04X})", line) from None
    except YAMLError as exc:
        raise Unreadable(name, f"malformed YAML: {str(exc).strip()}") from None
    if data is None:
        raise Unreadable(name, "the file is empty")
    return Document(name, data, yaml.constructor.duplicates)


def _malformed(name: str, exc: MarkedYAMLError) -> Unreadable:
    mark = exc.problem_mark or exc.context_mark
    detail = " ".join(str(part) for part in (exc.context, exc.problem) if part) or "not valid YAML"
    where = []
    if mark is not None:
        where.append(f"column {mark.column + 1}")
        if exc.context_mark is not None and exc.problem_mark is not None and exc.context_mark.line != mark.line:
            where.append(f"it began on line {exc.context_mark.line + 1}")
    reason = f"malformed YAML: {detail}" + (f" ({'; '.join(where)})" if where else "")
    return Unreadable(name, reason, mark.line + 1 if mark is not None else None)


# ------------------------------------------------------------------------ language-map banks (shared reading)
# Scenarios, activities and the banks to come hold every text as a language map {en, he, ar}; a file that says
# `languages: [he]` at its top is in that language only. These helpers read such fields and report each problem
# as "file:line: where: field: message".

LANGUAGES = ("en", "he", "ar")
KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")


@dataclass
class Context:
    problems: Problems
    languages: tuple[str, ...]
    where: str = ""
    extra: dict = field(default_factory=dict)

    def error(self, node: Any, key: Any, path: str | None, message: str) -> None:
        self.problems.add(line_of(node, key), self.where or None, path, message)


def show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def language_map(ctx: Context, data: Mapping, name: str, path: str | None = None, *,
                 required: bool = True) -> dict[str, str]:
    """The field as {language: text}, each text checked as Markdown with $TeX$ (app.richtext)."""
    path = path or name
    value = data.get(name) if isinstance(data, Mapping) else None
    if value is None:
        if required:
            ctx.error(data, name, path, "is required")
        return {}
    if isinstance(value, str):
        if not value.strip():
            ctx.error(data, name, path, "must be non-empty text")
            return {}
        if len(ctx.languages) == 1:
            for problem in richtext.check(value.strip()):
                ctx.error(data, name, path, problem)
            return {ctx.languages[0]: value.strip()}
        shape = ", ".join(f"{lang}: …" for lang in ctx.languages)
        ctx.error(data, name, path, f"missing {', '.join(ctx.languages[1:])}: write {{{shape}}} (a file in one "
                                    "language says `languages: [he]` at its top)")
        return {}
    if not isinstance(value, Mapping):
        ctx.error(data, name, path, f"must be text or a language map, not {show(value)}")
        return {}
    texts = {}
    for lang, text in value.items():
        if lang not in LANGUAGES:
            ctx.error(value, lang, f"{path}.{lang}", f"unknown language {show(lang)} (expected en, he or ar)")
        elif not isinstance(text, str) or not text.strip():
            ctx.error(value, lang, f"{path}.{lang}", f"must be non-empty text, not {show(text)}")
        else:
            texts[lang] = text.strip()
            for problem in richtext.check(texts[lang]):  # Markdown with $TeX$, as in the item bank
                ctx.error(value, lang, f"{path}.{lang}", problem)
    missing = [lang for lang in ctx.languages if lang not in value]
    if missing:
        ctx.error(data, name, path, f"missing {', '.join(missing)}")
    return texts


def whole_number(ctx: Context, data: Mapping, name: str, least: int, most: int, default: int | None) -> int | None:
    value = data.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        ctx.error(data, name, name, f"must be a whole number from {least} to {most}, not {show(value)}")
        return default
    if not least <= value <= most:
        ctx.error(data, name, name, f"{value} is out of range: from {least} to {most}")
        return default
    return value


def key(ctx: Context, data: Mapping, name: str = "key", path: str | None = None) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not KEY.match(value):
        ctx.error(data, name, path or name, "is required: lowercase letters, digits and hyphens, at most 80"
                  if value is None else f"must be lowercase letters, digits and hyphens, not {show(value)}")
        return ""
    return value


def keyed_records(ctx: Context, records: list, noun: str, shape: str, read: Callable[[Mapping], Any]) -> list[Any]:
    """Each mapping of a bank's list read by `read` (which reports its own problems and returns None for a record
    with any), in order; an item that is no mapping, and a key given twice (named with the first one's line), are
    reported here. `noun` names a record in messages ("activity"), `shape` lists its fields."""
    found, seen = [], {}
    for n, raw in enumerate(records):
        ctx.where = f"{noun} #{n + 1}"
        if not isinstance(raw, Mapping):
            ctx.error(records, n, None, f"must be a mapping ({shape})")
            continue
        record = read(raw)
        key = raw.get("key")
        if isinstance(key, str) and key in seen:
            ctx.error(raw, "key", "key", f"{key!r} is already the key of the {noun} on line {seen[key]}")
            continue
        if isinstance(key, str):
            seen[key] = line_of(raw)
        if record is not None:
            found.append(record)
    return found


def read_languages(ctx: Context, data: Mapping) -> None:
    """A file's `languages: [he]` header: the languages its texts are written in (all three when absent)."""
    languages = data.get("languages")
    if languages is None:
        return
    if (not isinstance(languages, list) or not languages
            or any(lang not in LANGUAGES for lang in languages) or len(set(languages)) != len(languages)):
        ctx.error(data, "languages", "languages", "must list some of en, he, ar once each")
    else:
        ctx.languages = tuple(languages)
