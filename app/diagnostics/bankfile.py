"""The question bank: YAML files in, validated dataclasses out.

    load_bank(folder=None)      -> Bank   every *.yaml / *.yml file of the folder (default: the package's bank/)
    load_bank_text({name: text}) -> Bank  the same from strings (tests, teachers' uploads)

A file is a mapping with any of the sections `topics`, `misconceptions`, `items` and `diagnostics`,
each a list; the starter bank keeps one kind per file, but file names carry no meaning. Validation
collects every problem before raising one `BankError`, each line naming the file, the line, the
record (item 'key') and the field, so an author fixes a whole upload in one pass.

Item shapes (the YAML keys are the dataclass fields):

    choice   choices: {A: {text, correct: true}, B: {text, misconception}, ...}   keys A-D, 2 to 4
    numeric  answer, tolerance (>= 0, default 0), wrong_answers: [{value, misconception}, ...]
    text     rubric: {levels: [{score, description}, ...], patterns: [{pattern, misconception}, ...]},
             model_answer (optional)

Optional `he` and `ar` hold the stem in Hebrew and Arabic. Stems, choices and rubric lines are
Markdown with $TeX$ (see app/richtext.py); write them in single-quoted or block YAML strings, because in a
double-quoted string "\\frac" starts with a form feed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app import richtext, yamlbank

__all__ = [
    "BANK_DIR",
    "Bank",
    "BankError",
    "Choice",
    "Diagnostic",
    "Item",
    "ITEM_TYPES",
    "LANGUAGES",
    "Misconception",
    "Rubric",
    "RubricLevel",
    "RubricPattern",
    "Source",
    "Topic",
    "WrongAnswer",
    "format_number",
    "load_bank",
    "load_bank_text",
]

BANK_DIR = Path(__file__).with_name("bank")
ITEM_TYPES = ("choice", "numeric", "text")
CHOICE_KEYS = ("A", "B", "C", "D")
LANGUAGES = ("he", "ar")  # translations of a stem; English is the item's own language
# Keys become QTI identifiers (NCNames) and URL parts: lower-case letters and digits, joined by - or _.
_SLUG = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")
# The result states of the diagnostics reports; a misconception named like one would be ambiguous.
_RESERVED = {"correct", "incorrect", "missing", "skipped", "pending"}  # the heatmap's states (analysis)


class BankError(Exception):
    """Every problem found in a bank; `problems` holds them one per entry."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems if problems is not None else [message]


# --------------------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Topic:
    key: str
    title: str


@dataclass(frozen=True)
class Source:
    authors: str
    year: int
    title: str
    venue: str
    pages: str | None = None

    @property
    def citation(self) -> str:
        pages = f", {self.pages}" if self.pages else ""
        return f"{self.authors} ({self.year}). {self.title}. {self.venue}{pages}."


@dataclass(frozen=True)
class Misconception:
    key: str
    topic: str
    title: str
    description: str
    typical_reasoning: str
    teaching_ideas: tuple[str, ...]
    source: Source


@dataclass(frozen=True)
class Choice:
    key: str
    text: str
    correct: bool = False
    misconception: str | None = None


@dataclass(frozen=True)
class WrongAnswer:
    value: float
    misconception: str


@dataclass(frozen=True)
class RubricLevel:
    score: int
    description: str


@dataclass(frozen=True)
class RubricPattern:
    pattern: str
    misconception: str


@dataclass(frozen=True)
class Rubric:
    levels: tuple[RubricLevel, ...]
    patterns: tuple[RubricPattern, ...] = ()

    @property
    def max_score(self) -> int:
        return max((level.score for level in self.levels), default=0)


@dataclass(frozen=True)
class Item:
    key: str
    topic: str
    type: str
    stem: str
    choices: tuple[Choice, ...] = ()
    answer: float | None = None
    tolerance: float | None = None
    wrong_answers: tuple[WrongAnswer, ...] = ()
    rubric: Rubric | None = None
    model_answer: str | None = None
    translations: Mapping[str, str] = field(default_factory=dict)

    @property
    def correct_choice(self) -> Choice | None:
        return next((c for c in self.choices if c.correct), None)

    @property
    def misconceptions(self) -> tuple[str, ...]:
        """The misconceptions a response to this item can reveal, in the order they appear."""
        keys: list[str | None] = [c.misconception for c in self.choices]
        keys += [w.misconception for w in self.wrong_answers]
        if self.rubric:
            keys += [p.misconception for p in self.rubric.patterns]
        return tuple(dict.fromkeys(k for k in keys if k))

    def misconception_of(self) -> dict[str, str]:
        """Response value -> misconception (a choice key, or a number written by `format_number`)."""
        if self.type == "choice":
            return {c.key: c.misconception for c in self.choices if c.misconception}
        return {format_number(w.value): w.misconception for w in self.wrong_answers}


@dataclass(frozen=True)
class Diagnostic:
    key: str
    title: str
    description: str
    items: tuple[str, ...]
    targets: tuple[str, ...]


@dataclass(frozen=True)
class Bank:
    topics: dict[str, Topic]
    misconceptions: dict[str, Misconception]
    items: dict[str, Item]
    diagnostics: dict[str, Diagnostic]

    def items_for_topic(self, topic: str) -> list[Item]:
        return [item for item in self.items.values() if item.topic == topic]

    def items_of(self, diagnostic: str) -> list[Item]:
        return [self.items[key] for key in self.diagnostics[diagnostic].items]


def format_number(value: float) -> str:
    """The shortest text that reads back as the same float: 15, not 15.0; 0.1, not 0.1000000000000000055."""
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


# ------------------------------------------------------------------------------------ validation


@dataclass
class _Ctx:
    """Where a record lives, for messages: file, line and "item 'key'"."""

    problems: yamlbank.Problems
    file: str
    record: Mapping[str, Any]
    where: str

    def error(self, field_: str | None, message: str, at: Mapping[str, Any] | None = None) -> None:
        self.problems.add(_line(at or self.record, field_), self.where, field_, message, file=self.file)


def _line(mapping: Mapping[str, Any], field_: str | None) -> int | None:
    # "choices.B.misconception" and "teaching_ideas[1]" point at the last key named, in `mapping`
    last = field_.rsplit(".", 1)[-1].split("[", 1)[0] if field_ else None
    return yamlbank.line_of(mapping, last)


def _text(ctx: _Ctx, data: Mapping[str, Any], name: str, path: str | None = None, required: bool = True) -> str:
    path = path or name
    value = data.get(name)
    if value is None:
        if required:
            ctx.error(path, "is required", data)
        return ""
    if not isinstance(value, str) or not value.strip():
        ctx.error(path, f"must be non-empty text, not {_show(value)}", data)
        return ""
    return value.strip()


def _markdown(ctx: _Ctx, data: Mapping[str, Any], name: str, path: str | None = None, required: bool = True) -> str:
    value = _text(ctx, data, name, path, required)
    for problem in richtext.check(value):
        ctx.error(path or name, problem, data)
    return value


def _number(ctx: _Ctx, data: Mapping[str, Any], name: str, path: str) -> float | None:
    value = data.get(name)
    if value is None:
        ctx.error(path, "is required", data)
        return None
    # bool is an int in Python; `answer: yes` is a mistake, not 1
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        ctx.error(path, f"must be a number, not {_show(value)}", data)
        return None
    return float(value)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fields(ctx: _Ctx, data: Mapping[str, Any], allowed: set[str], prefix: str = "") -> None:
    for key in data:
        if key not in allowed:
            ctx.error(f"{prefix}{key}", f"unknown field (expected one of: {', '.join(sorted(allowed))})", data)


def _key(ctx: _Ctx, data: Mapping[str, Any]) -> str:
    key = data.get("key")
    if key is None:
        ctx.error("key", "is required")
        return ""
    if not isinstance(key, str) or not _SLUG.match(key):
        ctx.error("key", f"must be a slug like 'larger-denominator' (a-z, 0-9, - or _), not {_show(key)}")
        return key if isinstance(key, str) else ""
    return key


_SECTIONS = ("topics", "misconceptions", "items", "diagnostics")
_RECORD_NAMES = {"topics": "topic", "misconceptions": "misconception", "items": "item", "diagnostics": "diagnostic"}


@dataclass
class _Pending:
    """Parsed records and the references between them, checked once every file is read."""

    topics: dict[str, tuple[Topic, _Ctx]] = field(default_factory=dict)
    misconceptions: dict[str, tuple[Misconception, _Ctx]] = field(default_factory=dict)
    items: dict[str, tuple[Item, _Ctx]] = field(default_factory=dict)
    diagnostics: dict[str, tuple[Diagnostic, _Ctx]] = field(default_factory=dict)
    # (ctx, field, key, mapping) for every reference to a topic / misconception / item
    topic_refs: list[tuple[_Ctx, str, str]] = field(default_factory=list)
    misconception_refs: list[tuple[_Ctx, str, str, Mapping[str, Any]]] = field(default_factory=list)
    item_refs: list[tuple[_Ctx, str, str]] = field(default_factory=list)


def _topic(ctx: _Ctx, data: Mapping[str, Any], pending: _Pending) -> Topic:
    _fields(ctx, data, {"key", "title"})
    return Topic(key=_key(ctx, data), title=_text(ctx, data, "title"))


def _source(ctx: _Ctx, data: Mapping[str, Any]) -> Source:
    raw = data.get("source")
    if not isinstance(raw, Mapping):
        ctx.error(
            "source",
            "is required: a mapping with authors, year, title and venue"
            if raw is None
            else f"must be a mapping with authors, year, title and venue, not {_show(raw)}",
        )
        return Source("", 0, "", "")
    _fields(ctx, raw, {"authors", "year", "title", "venue", "pages"}, "source.")
    year = raw.get("year")
    if isinstance(year, bool) or not isinstance(year, int) or not 1800 <= year <= 2100:
        ctx.error("source.year", f"must be a year such as 1981, not {_show(year)}", raw)
        year = 0
    pages = raw.get("pages")
    return Source(
        authors=_text(ctx, raw, "authors", "source.authors"),
        year=year,
        title=_text(ctx, raw, "title", "source.title"),
        venue=_text(ctx, raw, "venue", "source.venue"),
        pages=str(pages) if pages is not None else None,
    )


def _misconception(ctx: _Ctx, data: Mapping[str, Any], pending: _Pending) -> Misconception:
    allowed = {"key", "topic", "title", "description", "typical_reasoning", "teaching_ideas", "source"}
    _fields(ctx, data, allowed)
    key = _key(ctx, data)
    if key in _RESERVED:
        ctx.error("key", f"{key!r} is reserved: it names a result state in the reports")
    topic = _text(ctx, data, "topic")
    if topic:
        pending.topic_refs.append((ctx, "topic", topic))
    ideas_raw = data.get("teaching_ideas")
    ideas: list[str] = []
    if not isinstance(ideas_raw, list) or not 2 <= len(ideas_raw) <= 3:
        ctx.error("teaching_ideas", f"must be a list of 2 or 3 ideas, not {_show(ideas_raw)}")
    else:
        for n, idea in enumerate(ideas_raw):
            if not isinstance(idea, str) or not idea.strip():
                ctx.error(f"teaching_ideas[{n}]", f"must be non-empty text, not {_show(idea)}")
            else:
                ideas.append(idea.strip())
    return Misconception(
        key=key,
        topic=topic,
        title=_text(ctx, data, "title"),
        description=_markdown(ctx, data, "description"),
        typical_reasoning=_markdown(ctx, data, "typical_reasoning"),
        teaching_ideas=tuple(ideas),
        source=_source(ctx, data),
    )


_COMMON_ITEM_FIELDS = {"key", "topic", "type", "stem", *LANGUAGES}
_TYPE_FIELDS = {
    "choice": {"choices"},
    "numeric": {"answer", "tolerance", "wrong_answers"},
    "text": {"rubric", "model_answer"},
}


def _item(ctx: _Ctx, data: Mapping[str, Any], pending: _Pending) -> Item:
    key = _key(ctx, data)
    topic = _text(ctx, data, "topic")
    if topic:
        pending.topic_refs.append((ctx, "topic", topic))
    stem = _markdown(ctx, data, "stem")
    translations = {lang: _markdown(ctx, data, lang, required=False) for lang in LANGUAGES if lang in data}
    translations = {lang: text for lang, text in translations.items() if text}
    type_ = data.get("type")
    if type_ not in ITEM_TYPES:
        ctx.error("type", f"unknown type {_show(type_)} (expected one of: {', '.join(ITEM_TYPES)})")
        _fields(ctx, data, _COMMON_ITEM_FIELDS | set().union(*_TYPE_FIELDS.values()))
        return Item(key=key, topic=topic, type=str(type_), stem=stem, translations=translations)
    for name in data:
        if name not in _COMMON_ITEM_FIELDS | _TYPE_FIELDS[type_]:
            other = [t for t, names in _TYPE_FIELDS.items() if name in names]
            why = f"belongs to {other[0]} items, this is a {type_} item" if other else "unknown field"
            ctx.error(name, why)
    base = {"key": key, "topic": topic, "type": type_, "stem": stem, "translations": translations}
    if type_ == "choice":
        return Item(**base, choices=_choices(ctx, data, pending))
    if type_ == "numeric":
        return _numeric(ctx, data, pending, base)
    return _text_item(ctx, data, pending, base)


def _choices(ctx: _Ctx, data: Mapping[str, Any], pending: _Pending) -> tuple[Choice, ...]:
    raw = data.get("choices")
    if not isinstance(raw, Mapping) or not raw:
        ctx.error(
            "choices",
            "is required: a mapping from A, B, C, D to {text, correct / misconception}"
            if raw is None
            else f"must be a mapping from A-D to choices, not {_show(raw)}",
        )
        return ()
    if not 2 <= len(raw) <= 4:
        ctx.error("choices", f"needs 2 to 4 choices, has {len(raw)}")
    elif all(letter in CHOICE_KEYS for letter in raw) and list(raw) != list(CHOICE_KEYS[: len(raw)]):
        ctx.error("choices", f"must be lettered {', '.join(CHOICE_KEYS[: len(raw)])} in order, not {', '.join(raw)}")
    choices: list[Choice] = []
    texts: dict[str, str] = {}
    for letter, body in raw.items():
        path = f"choices.{letter}"
        if letter not in CHOICE_KEYS:
            ctx.error(path, f"choice keys are A, B, C and D, not {_show(letter)}", raw)
            continue
        if not isinstance(body, Mapping):
            ctx.error(path, f"must be a mapping with text and correct / misconception, not {_show(body)}", raw)
            continue
        _fields(ctx, body, {"text", "correct", "misconception"}, f"{path}.")
        text = _markdown(ctx, body, "text", f"{path}.text")
        correct = body.get("correct", False)
        if not isinstance(correct, bool):
            ctx.error(f"{path}.correct", f"must be true or false, not {_show(correct)}", body)
            correct = False
        misconception = body.get("misconception")
        if correct and misconception is not None:
            ctx.error(f"{path}.misconception", "the correct choice cannot reveal a misconception", body)
            misconception = None
        elif not correct:
            if misconception is None:
                ctx.error(f"{path}.misconception", "every distractor must name the misconception it reveals", body)
            elif not isinstance(misconception, str):
                ctx.error(f"{path}.misconception", f"must be a misconception key, not {_show(misconception)}", body)
                misconception = None
            else:
                pending.misconception_refs.append((ctx, f"{path}.misconception", misconception, body))
        if text and text in texts:
            ctx.error(f"{path}.text", f"is the same as choice {texts[text]}", body)
        texts.setdefault(text, letter)
        choices.append(Choice(key=letter, text=text, correct=correct, misconception=misconception))
    correct_keys = [c.key for c in choices if c.correct]
    if choices and not correct_keys:
        ctx.error("choices", "no choice is marked correct: true")
    elif len(correct_keys) > 1:
        ctx.error("choices", f"choices {' and '.join(correct_keys)} are all marked correct; exactly one must be")
    return tuple(choices)


def _numeric(ctx: _Ctx, data: Mapping[str, Any], pending: _Pending, base: dict[str, Any]) -> Item:
    answer = _number(ctx, data, "answer", "answer")
    tolerance = 0.0
    if data.get("tolerance") is not None:
        tolerance = _number(ctx, data, "tolerance", "tolerance")
        if tolerance is not None and tolerance < 0:
            ctx.error("tolerance", f"must not be negative, is {format_number(tolerance)}")
        tolerance = tolerance if tolerance is not None and tolerance >= 0 else 0.0
    raw = data.get("wrong_answers")
    wrong: list[WrongAnswer] = []
    if not isinstance(raw, list) or not raw:
        ctx.error(
            "wrong_answers",
            "must list at least one {value, misconception}: the item is a diagnostic"
            if raw is None
            else f"must be a list of {{value, misconception}}, not {_show(raw)}",
        )
        raw = []
    for n, entry in enumerate(raw):
        path = f"wrong_answers[{n}]"
        if not isinstance(entry, Mapping):
            ctx.error(path, f"must be a mapping with value and misconception, not {_show(entry)}")
            continue
        _fields(ctx, entry, {"value", "misconception"}, f"{path}.")
        value = _number(ctx, entry, "value", f"{path}.value")
        misconception = _text(ctx, entry, "misconception", f"{path}.misconception")
        if misconception:
            pending.misconception_refs.append((ctx, f"{path}.misconception", misconception, entry))
        if value is None:
            continue
        if answer is not None and abs(value - answer) <= tolerance:
            ctx.error(
                f"{path}.value",
                f"{format_number(value)} would be marked correct (answer "
                f"{format_number(answer)}, tolerance {format_number(tolerance)})",
                entry,
            )
        for earlier in wrong:
            if abs(earlier.value - value) <= tolerance:
                ctx.error(
                    f"{path}.value",
                    f"{format_number(value)} cannot be told apart from the wrong answer "
                    f"{format_number(earlier.value)} within the tolerance",
                    entry,
                )
        wrong.append(WrongAnswer(value=value, misconception=misconception))
    return Item(**base, answer=answer, tolerance=tolerance, wrong_answers=tuple(wrong))


def _text_item(ctx: _Ctx, data: Mapping[str, Any], pending: _Pending, base: dict[str, Any]) -> Item:
    model = _markdown(ctx, data, "model_answer", required=False) or None
    raw = data.get("rubric")
    if not isinstance(raw, Mapping):
        ctx.error(
            "rubric",
            "is required: a mapping with levels and patterns"
            if raw is None
            else f"must be a mapping with levels and patterns, not {_show(raw)}",
        )
        return Item(**base, model_answer=model)
    _fields(ctx, raw, {"levels", "patterns"}, "rubric.")
    levels: list[RubricLevel] = []
    raw_levels = raw.get("levels")
    if not isinstance(raw_levels, list) or len(raw_levels) < 2:
        ctx.error(
            "rubric.levels", f"must list at least 2 levels of {{score, description}}, not {_show(raw_levels)}", raw
        )
        raw_levels = raw_levels if isinstance(raw_levels, list) else []
    for n, entry in enumerate(raw_levels):
        path = f"rubric.levels[{n}]"
        if not isinstance(entry, Mapping):
            ctx.error(path, f"must be a mapping with score and description, not {_show(entry)}", raw)
            continue
        _fields(ctx, entry, {"score", "description"}, f"{path}.")
        score = entry.get("score")
        if isinstance(score, bool) or not isinstance(score, int) or score < 0:
            ctx.error(f"{path}.score", f"must be a whole number >= 0, not {_show(score)}", entry)
            score = None
        elif any(level.score == score for level in levels):
            ctx.error(f"{path}.score", f"two levels have score {score}", entry)
        description = _markdown(ctx, entry, "description", f"{path}.description")
        if score is not None:
            levels.append(RubricLevel(score=score, description=description))
    patterns: list[RubricPattern] = []
    raw_patterns = raw.get("patterns")
    if not isinstance(raw_patterns, list) or not raw_patterns:
        wanted = "a list of {pattern, misconception}: what each wrong answer reveals"
        ctx.error("rubric.patterns", f"must be {wanted}, not {_show(raw_patterns)}", raw)
        raw_patterns = []
    for n, entry in enumerate(raw_patterns):
        path = f"rubric.patterns[{n}]"
        if not isinstance(entry, Mapping):
            ctx.error(path, f"must be a mapping with pattern and misconception, not {_show(entry)}", raw)
            continue
        _fields(ctx, entry, {"pattern", "misconception"}, f"{path}.")
        misconception = _text(ctx, entry, "misconception", f"{path}.misconception")
        if misconception:
            pending.misconception_refs.append((ctx, f"{path}.misconception", misconception, entry))
        patterns.append(
            RubricPattern(pattern=_markdown(ctx, entry, "pattern", f"{path}.pattern"), misconception=misconception)
        )
    return Item(**base, model_answer=model, rubric=Rubric(levels=tuple(levels), patterns=tuple(patterns)))


def _key_list(ctx: _Ctx, data: Mapping[str, Any], name: str, what: str) -> list[str]:
    raw = data.get(name)
    if not isinstance(raw, list) or not raw:
        ctx.error(name, f"must be a non-empty list of {what} keys, not {_show(raw)}")
        return []
    keys: list[str] = []
    for n, key in enumerate(raw):
        if not isinstance(key, str):
            ctx.error(f"{name}[{n}]", f"must be {what} key, not {_show(key)}")
        elif key in keys:
            ctx.error(f"{name}[{n}]", f"{key!r} is listed twice")
        else:
            keys.append(key)
    return keys


def _diagnostic(ctx: _Ctx, data: Mapping[str, Any], pending: _Pending) -> Diagnostic:
    _fields(ctx, data, {"key", "title", "description", "items", "targets"})
    key = _key(ctx, data)
    items = _key_list(ctx, data, "items", "an item")
    targets = _key_list(ctx, data, "targets", "a misconception")
    for n, item in enumerate(items):
        pending.item_refs.append((ctx, f"items[{n}]", item))
    for n, target in enumerate(targets):
        pending.misconception_refs.append((ctx, f"targets[{n}]", target, data))
    return Diagnostic(
        key=key,
        title=_text(ctx, data, "title"),
        description=_text(ctx, data, "description"),
        items=tuple(items),
        targets=tuple(targets),
    )


_PARSERS = {"topics": _topic, "misconceptions": _misconception, "items": _item, "diagnostics": _diagnostic}


def _read_file(name: str, text: str | bytes, problems: yamlbank.Problems, pending: _Pending) -> None:
    try:
        doc = yamlbank.load(name, text)
    except yamlbank.Unreadable as exc:
        problems.unreadable(exc)
        return
    problems.duplicates(doc)
    data = doc.data
    if not isinstance(data, Mapping):
        problems.add(None, f"must be a mapping with sections {', '.join(_SECTIONS)}", file=name)
        return
    for section, records in data.items():
        line = yamlbank.line_of(data, section)
        if section not in _SECTIONS:
            problems.add(line, str(section), f"unknown section (expected one of: {', '.join(_SECTIONS)})", file=name)
            continue
        if not isinstance(records, list):
            problems.add(line, section, "must be a list", file=name)
            continue
        kind = _RECORD_NAMES[section]
        store: dict[str, tuple[Any, _Ctx]] = getattr(pending, section)
        for n, record in enumerate(records):
            if not isinstance(record, Mapping):
                problems.add(line, f"{kind} #{n + 1}", f"must be a mapping, not {_show(record)}", file=name)
                continue
            key = record.get("key")
            where = f"{kind} {key!r}" if isinstance(key, str) else f"{kind} #{n + 1}"
            ctx = _Ctx(problems, name, record, where)
            parsed = _PARSERS[section](ctx, record, pending)
            if not parsed.key:
                continue
            if parsed.key in store:
                first = store[parsed.key][1]
                ctx.error(
                    "key",
                    f"duplicate {kind} key {parsed.key!r}, first defined at {first.file}:{_line(first.record, None)}",
                )
                continue
            store[parsed.key] = (parsed, ctx)


def _check_references(pending: _Pending) -> None:
    for ctx, path, topic in pending.topic_refs:
        if topic not in pending.topics:
            ctx.error(path, f"unknown topic {topic!r}" + _known(pending.topics))
    for ctx, path, key, at in pending.misconception_refs:
        if key not in pending.misconceptions:
            ctx.error(path, f"unknown misconception {key!r}", at)
    for ctx, path, key in pending.item_refs:
        if key not in pending.items:
            ctx.error(path, f"unknown item {key!r}")
    for diagnostic, ctx in pending.diagnostics.values():
        revealed = {m for key in diagnostic.items if key in pending.items for m in pending.items[key][0].misconceptions}
        for n, target in enumerate(diagnostic.targets):
            if target in pending.misconceptions and target not in revealed:
                ctx.error(f"targets[{n}]", f"no item of this diagnostic can reveal {target!r}")


def _known(store: Mapping[str, Any]) -> str:
    return f" (known: {', '.join(store)})" if store else " (no topics are defined)"


def _raise(problems: list[str]) -> None:
    count = len(problems)
    header = f"{count} problem{'s' if count != 1 else ''} in the question bank:"
    raise BankError("\n".join([header, *problems]), problems)


def load_bank_text(files: Mapping[str, str | bytes]) -> Bank:
    """A bank from {file name: YAML text or UTF-8 bytes}; raises BankError listing every problem found."""
    problems = yamlbank.Problems()
    pending = _Pending()
    for name, text in files.items():
        _read_file(name, text, problems, pending)
    _check_references(pending)
    if problems.lines:
        _raise(problems.lines)
    return Bank(
        topics={k: v for k, (v, _) in pending.topics.items()},
        misconceptions={k: v for k, (v, _) in pending.misconceptions.items()},
        items={k: v for k, (v, _) in pending.items.items()},
        diagnostics={k: v for k, (v, _) in pending.diagnostics.items()},
    )


def load_bank(folder: Path | None = None) -> Bank:
    """The bank in `folder` (default: the starter bank shipped with the package)."""
    folder = folder or BANK_DIR
    paths = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    if not paths:
        raise BankError(f"{folder}: no .yaml files")
    return load_bank_text({path.name: path.read_bytes() for path in paths})
