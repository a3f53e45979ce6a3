"""The question bank: YAML files in, validated dataclasses out, every text in every language.

    load_bank(folder=None)      -> Bank   every *.yaml / *.yml file of the folder (default: the package's bank/)
    load_bank_text({name: text}) -> Bank  the same from strings (tests, teachers' uploads)
    pick(texts, lang, languages) -> str   THE accessor: a text in one language (see "Languages" below)

A file is a mapping with any of the sections `topics`, `misconceptions`, `items` and `diagnostics`,
each a list; the starter bank keeps one kind per file, but file names carry no meaning. Validation
collects every problem before raising one `BankError`, each line naming the file, the line, the
record (item 'key') and the field, so an author fixes a whole upload in one pass.

Item shapes (the YAML keys are the dataclass fields):

    choice   choices: {A: {text, correct: true}, B: {text, misconception}, ...}   keys A-D, 2 to 4
    numeric  answer, tolerance (>= 0, default 0), wrong_answers: [{value, misconception}, ...]
    text     rubric: {levels: [{score, description}, ...], patterns: [{pattern, misconception}, ...]},
             model_answer (optional)

Languages (the contract between the loader and the bank's translators). Every translatable field is a
*language map* with exactly the keys en, he and ar:

    stem:
      en: 'Which is larger: $\\frac{3}{4}$ or $\\frac{3}{8}$?'
      he: 'איזה שבר גדול יותר: $\\frac{3}{4}$ או $\\frac{3}{8}$?'
      ar: 'أيّ الكسرين أكبر: $\\frac{3}{4}$ أم $\\frac{3}{8}$؟'

The translatable fields are TRANSLATABLE below: topics' title; misconceptions' title, description,
typical_reasoning and each of the teaching_ideas; items' stem, choices' text, model_answer, rubric levels'
description and rubric patterns' pattern; diagnostics' title and description. A misconception's source stays
as published. A *language-neutral* text (no letter outside `$...$` maths, and none inside `\\text{...}`, e.g.
a choice `'$\\frac{3}{4}$'`) may stay a plain string; it reads the same in every language. Any other plain
string, or a map without one of the languages, is refused naming file, line and field ("stem: missing he, ar").

A file that says `languages: [en]` at the top is a deliberately single-language bank: its plain strings are
in that language and its maps need only that language. Its records carry `languages == ("en",)`, and only
for them `pick` falls back to another language; the old `he:` / `ar:` siblings of an item (its stem's
translations, before stems became maps) are read only in such a file. In a bank in every language nothing
falls back: a missing text is a loader error, never a silent English sentence on a Hebrew page.

Stems, choices and rubric lines are Markdown with $TeX$ (see app/richtext.py); write them in single-quoted or
block YAML strings, because in a double-quoted string "\\frac" starts with a form feed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app import richtext, yamlbank

__all__ = [
    "BANK_DIR",
    "Bank",
    "BankError",
    "CHOICE_LABELS",
    "Choice",
    "ChoiceText",
    "Diagnostic",
    "DiagnosticText",
    "ITEM_TYPES",
    "CHOICE_TYPES",
    "Item",
    "ItemText",
    "LANGUAGES",
    "Misconception",
    "MisconceptionText",
    "Rubric",
    "RubricLevel",
    "RubricPattern",
    "Source",
    "TRANSLATABLE",
    "Texts",
    "Topic",
    "WrongAnswer",
    "choice_label",
    "format_number",
    "is_language_neutral",
    "load_bank",
    "load_bank_text",
    "pick",
]

BANK_DIR = Path(__file__).with_name("bank")
ITEM_TYPES = ("choice", "multiple", "inline", "numeric", "text")
# One answer; every answer that is right ("choose all that apply"); one answer for the gap in the stem (a word or
# a number chosen from a list, written as \_\_\_\_\_ in the stem).
CHOICE_TYPES = ("choice", "multiple", "inline")
GAP = re.compile(r"(?:\\?_){5,}")  # _____ (or \_\_\_\_\_) in a stem: where an inline item's answer goes
CHOICE_KEYS = ("A", "B", "C", "D")
#: Every language of the bank, in the order texts are kept and exported.
LANGUAGES = ("en", "he", "ar")
#: How the choices A-D are shown in each language (the data keys stay A-D).
CHOICE_LABELS = {"en": ("A", "B", "C", "D"), "he": ("א", "ב", "ג", "ד"), "ar": ("أ", "ب", "ج", "د")}
#: Field paths that hold a text in every language ("[]" is each element of a list).
TRANSLATABLE = {
    "topics": ("title",),
    "misconceptions": ("title", "description", "typical_reasoning", "teaching_ideas[]"),
    "items": ("stem", "choices.X.text", "model_answer", "rubric.levels[].description", "rubric.patterns[].pattern"),
    "diagnostics": ("title", "description"),
}
#: A language's text: {"en": ..., "he": ..., "ar": ...}; a single-language bank's has only its own language.
Texts = Mapping[str, str]
# Keys become QTI identifiers (NCNames) and URL parts: lower-case letters and digits, joined by - or _.
_SLUG = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")
# The result states of the diagnostics reports; a misconception named like one would be ambiguous.
_RESERVED = {"correct", "incorrect", "missing", "skipped", "pending"}  # the heatmap's states (analysis)


class BankError(Exception):
    """Every problem found in a bank; `problems` holds them one per entry."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems if problems is not None else [message]


# ------------------------------------------------------------------------------------- languages


def pick(texts: Texts | str | None, lang: str, languages: Sequence[str] = LANGUAGES) -> str:
    """The text in `lang`: the one accessor every page, export and report uses.

    `languages` are those of the record's bank. A bank in every language has every text (the loader saw to
    it), so a missing one is a bug and raises KeyError. Only a deliberately single-language bank (or an item
    imported from another tool, or stored before banks had languages: then `texts` may be a plain string)
    falls back: to its own languages in order, then en, he, ar.
    """
    if texts is None:
        return ""
    if isinstance(texts, str):
        return texts
    if lang in texts:
        return texts[lang]
    if set(LANGUAGES) <= set(languages):
        raise KeyError(f"no {lang!r} text in a bank that has every language: {dict(texts)!r}")
    for other in (*languages, *LANGUAGES):
        if other in texts:
            return texts[other]
    return ""


def choice_label(position: int, lang: str) -> str:
    """The letter shown for the choice at `position` (0 for A): A/B/C, א/ב/ג or أ/ب/ج."""
    labels = CHOICE_LABELS.get(lang, CHOICE_LABELS["en"])
    return labels[position] if 0 <= position < len(labels) else str(position + 1)


# $$…$$ or $…$ (not an escaped \$), as richtext's dollarmath reads them
_MATH = re.compile(r"(?<!\\)\$\$(.+?)(?<!\\)\$\$|(?<!\\)\$(.+?)(?<!\\)\$", re.DOTALL)
# words written inside a formula: \text{cm} is a word to translate, x is not
_MATH_WORDS = re.compile(r"\\(?:text|textrm|textit|textbf|textsf|textup|mbox)\s*\{([^{}]*)\}")
_LETTER = re.compile(r"[^\W\d_]")


def is_language_neutral(text: str) -> bool:
    """True when the text has no word to translate: no letter outside $…$ maths and none inside \\text{…}."""
    outside = _MATH.sub(" ", text)
    if _LETTER.search(outside):
        return False
    for m in _MATH.finditer(text):
        for words in _MATH_WORDS.findall(m.group(1) or m.group(2) or ""):
            if _LETTER.search(words):
                return False
    return True


# --------------------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Topic:
    key: str
    title: Texts
    languages: tuple[str, ...] = LANGUAGES

    def in_language(self, lang: str) -> TopicText:
        return TopicText(self.key, pick(self.title, lang, self.languages))


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
    title: Texts
    description: Texts
    typical_reasoning: Texts
    teaching_ideas: tuple[Texts, ...]
    source: Source
    languages: tuple[str, ...] = LANGUAGES

    def in_language(self, lang: str) -> MisconceptionText:
        def t(texts: Texts) -> str:
            return pick(texts, lang, self.languages)

        return MisconceptionText(
            key=self.key, topic=self.topic, title=t(self.title), description=t(self.description),
            typical_reasoning=t(self.typical_reasoning), teaching_ideas=tuple(t(i) for i in self.teaching_ideas),
            source=self.source,
        )  # fmt: skip


@dataclass(frozen=True)
class Choice:
    key: str
    text: Texts
    correct: bool = False
    misconception: str | None = None
    feedback: Texts | None = None  # shown to a student who chose it, once their answers are submitted


@dataclass(frozen=True)
class WrongAnswer:
    value: float
    misconception: str


@dataclass(frozen=True)
class RubricLevel:
    score: int
    description: Texts


@dataclass(frozen=True)
class RubricPattern:
    pattern: Texts
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
    stem: Texts
    choices: tuple[Choice, ...] = ()
    answer: float | None = None
    tolerance: float | None = None
    wrong_answers: tuple[WrongAnswer, ...] = ()
    rubric: Rubric | None = None
    model_answer: Texts | None = None
    languages: tuple[str, ...] = LANGUAGES
    # A passage, table of data or figure that several items share (QTI's assessment stimulus), shown above the stem
    stimulus: Texts | None = None

    @property
    def correct_choice(self) -> Choice | None:
        return next((c for c in self.choices if c.correct), None)

    @property
    def correct_keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.choices if c.correct)

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
        if self.type in CHOICE_TYPES:
            return {c.key: c.misconception for c in self.choices if c.misconception}
        return {format_number(w.value): w.misconception for w in self.wrong_answers}

    def in_language(self, lang: str) -> ItemText:
        def t(texts: Texts | None) -> str:
            return pick(texts, lang, self.languages)

        rubric = self.rubric or Rubric(levels=())
        return ItemText(
            key=self.key, topic=self.topic, type=self.type, lang=lang, stem=t(self.stem),
            choices=tuple(ChoiceText(c.key, choice_label(n, lang), t(c.text), c.correct, c.misconception,
                                     t(c.feedback) if c.feedback else None)
                          for n, c in enumerate(self.choices)),
            model_answer=t(self.model_answer) if self.model_answer else None,
            levels=tuple((level.score, t(level.description)) for level in rubric.levels),
            patterns=tuple((p.misconception, t(p.pattern)) for p in rubric.patterns),
            stimulus=t(self.stimulus) if self.stimulus else None,
        )  # fmt: skip


@dataclass(frozen=True)
class Diagnostic:
    key: str
    title: Texts
    description: Texts
    items: tuple[str, ...]
    targets: tuple[str, ...]
    languages: tuple[str, ...] = LANGUAGES

    def in_language(self, lang: str) -> DiagnosticText:
        return DiagnosticText(
            self.key,
            pick(self.title, lang, self.languages),
            pick(self.description, lang, self.languages),
            self.items,
            self.targets,
        )


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


# What a page shows: a record's texts in one language (made by the records' `in_language`).


@dataclass(frozen=True)
class TopicText:
    key: str
    title: str


@dataclass(frozen=True)
class MisconceptionText:
    key: str
    topic: str
    title: str
    description: str
    typical_reasoning: str
    teaching_ideas: tuple[str, ...]
    source: Source


@dataclass(frozen=True)
class ChoiceText:
    key: str  # the data key, A-D: what a form sends and a response stores
    label: str  # what the reader sees: A, א or أ
    text: str
    correct: bool
    misconception: str | None
    feedback: str | None = None


@dataclass(frozen=True)
class ItemText:
    key: str
    topic: str
    type: str
    lang: str
    stem: str
    choices: tuple[ChoiceText, ...]
    model_answer: str | None
    levels: tuple[tuple[int, str], ...]  # (score, description)
    patterns: tuple[tuple[str, str], ...]  # (misconception, pattern)
    stimulus: str | None = None

    @property
    def choice_labels(self) -> dict[str, str]:
        """Choice key -> the label the reader sees (for reports keyed by the response: B -> ב)."""
        return {c.key: c.label for c in self.choices}


@dataclass(frozen=True)
class DiagnosticText:
    key: str
    title: str
    description: str
    items: tuple[str, ...]
    targets: tuple[str, ...]


def format_number(value: float) -> str:
    """The shortest text that reads back as the same float: 15, not 15.0; 0.1, not 0.1000000000000000055."""
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


# ------------------------------------------------------------------------------------ validation


@dataclass
class _Ctx:
    """Where a record lives, for messages: file, line and "item 'key'"; and the languages of its file."""

    problems: yamlbank.Problems
    file: str
    record: Mapping[str, Any]
    where: str
    languages: tuple[str, ...] = LANGUAGES

    @property
    def single_language(self) -> bool:
        return not set(LANGUAGES) <= set(self.languages)

    def error(self, field_: str | None, message: str, at: Any = None, line: int | None = None) -> None:
        if line is None:
            line = _line(at if at is not None else self.record, field_)
        self.problems.add(line, self.where, field_, message, file=self.file)


def _line(node: Any, field_: str | None) -> int | None:
    # "choices.B.misconception" and "teaching_ideas[1]" point at the last key named, in `node`
    last = field_.rsplit(".", 1)[-1].split("[", 1)[0] if field_ else None
    return yamlbank.line_of(node, last)


def _plain(ctx: _Ctx, data: Mapping[str, Any], name: str, path: str | None = None, required: bool = True) -> str:
    """A text that is not translated: a key, a reference, a citation."""
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


def _language_map(ctx: _Ctx, value: Any, path: str, line: int | None, markdown: bool) -> dict[str, str]:
    """A translatable value (already known to be present) as {language: text}, or {} after reporting why not."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            ctx.error(path, "must be non-empty text, not ''", line=line)
            return {}
        for problem in richtext.check(text) if markdown else ():
            ctx.error(path, problem, line=line)
        if is_language_neutral(text):
            return {lang: text for lang in LANGUAGES}
        if ctx.single_language and len(ctx.languages) == 1:
            return {ctx.languages[0]: text}
        missing = [lang for lang in ctx.languages if lang != "en"] or list(ctx.languages)
        shape = ", ".join(f"{lang}: …" for lang in ctx.languages)
        ctx.error(
            path,
            f"missing {', '.join(missing)}: write {{{shape}}} "
            "(a deliberately single-language file says `languages: [en]` at its top)",
            line=line,
        )
        return {}
    if isinstance(value, Mapping):
        texts: dict[str, str] = {}
        for lang, text in value.items():
            where = f"{path}.{lang}"
            if lang not in LANGUAGES:
                ctx.error(where, f"unknown language {_show(lang)} (expected {', '.join(LANGUAGES)})", value)
                continue
            if not isinstance(text, str) or not text.strip():
                ctx.error(where, f"must be non-empty text, not {_show(text)}", value)
                continue
            for problem in richtext.check(text) if markdown else ():
                ctx.error(where, problem, value)
            texts[lang] = text.strip()
        missing = [lang for lang in ctx.languages if lang not in value]
        if missing:
            ctx.error(path, f"missing {', '.join(missing)}", line=line)
        return {lang: texts[lang] for lang in LANGUAGES if lang in texts}
    shape = ", ".join(f"{lang}: …" for lang in ctx.languages)
    ctx.error(path, f"must be text or a language map {{{shape}}}, not {_show(value)}", line=line)
    return {}


def _texts(
    ctx: _Ctx,
    data: Mapping[str, Any],
    name: str,
    path: str | None = None,
    *,
    required: bool = True,
    markdown: bool = True,
) -> dict[str, str]:
    """The translatable field `name` of `data`."""
    path = path or name
    value = data.get(name)
    if value is None:
        if required:
            ctx.error(path, "is required", data)
        return {}
    return _language_map(ctx, value, path, _line(data, path), markdown)


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
    return Topic(key=_key(ctx, data), title=_texts(ctx, data, "title", markdown=False), languages=ctx.languages)


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
        authors=_plain(ctx, raw, "authors", "source.authors"),
        year=year,
        title=_plain(ctx, raw, "title", "source.title"),
        venue=_plain(ctx, raw, "venue", "source.venue"),
        pages=str(pages) if pages is not None else None,
    )


def _misconception(ctx: _Ctx, data: Mapping[str, Any], pending: _Pending) -> Misconception:
    allowed = {"key", "topic", "title", "description", "typical_reasoning", "teaching_ideas", "source"}
    _fields(ctx, data, allowed)
    key = _key(ctx, data)
    if key in _RESERVED:
        ctx.error("key", f"{key!r} is reserved: it names a result state in the reports")
    topic = _plain(ctx, data, "topic")
    if topic:
        pending.topic_refs.append((ctx, "topic", topic))
    ideas_raw = data.get("teaching_ideas")
    ideas: list[dict[str, str]] = []
    if not isinstance(ideas_raw, list) or not 2 <= len(ideas_raw) <= 3:
        ctx.error("teaching_ideas", f"must be a list of 2 or 3 ideas, not {_show(ideas_raw)}")
    else:
        for n, idea in enumerate(ideas_raw):
            path = f"teaching_ideas[{n}]"
            line = yamlbank.line_of(ideas_raw, n)
            if idea is None or (isinstance(idea, str) and not idea.strip()):
                ctx.error(path, f"must be non-empty text, not {_show(idea)}", line=line)
                continue
            texts = _language_map(ctx, idea, path, line, markdown=False)
            if texts:
                ideas.append(texts)
    return Misconception(
        key=key,
        topic=topic,
        title=_texts(ctx, data, "title", markdown=False),
        description=_texts(ctx, data, "description"),
        typical_reasoning=_texts(ctx, data, "typical_reasoning"),
        teaching_ideas=tuple(ideas),
        source=_source(ctx, data),
        languages=ctx.languages,
    )


_LEGACY_STEM_TRANSLATIONS = ("he", "ar")  # an item's stem in Hebrew and Arabic, before stems were language maps
_COMMON_ITEM_FIELDS = {"key", "topic", "type", "stem", "stimulus", *_LEGACY_STEM_TRANSLATIONS}
_TYPE_FIELDS = {
    "choice": {"choices"},
    "multiple": {"choices"},
    "inline": {"choices"},
    "numeric": {"answer", "tolerance", "wrong_answers"},
    "text": {"rubric", "model_answer"},
}


def _stem(ctx: _Ctx, data: Mapping[str, Any]) -> dict[str, str]:
    stem = _texts(ctx, data, "stem")
    for lang in _LEGACY_STEM_TRANSLATIONS:
        if lang not in data:
            continue
        if not ctx.single_language:
            ctx.error(
                lang,
                f"the stem's translations go in its language map (stem: {{en: …, he: …, ar: …}}), "
                f"not in a field '{lang}' of the item",
                data,
            )
            continue
        # a single-language file written before the language maps: `he:` beside the stem is its Hebrew
        value = data[lang]
        if not isinstance(value, str) or not value.strip():
            ctx.error(lang, f"must be non-empty text, not {_show(value)}", data)
            continue
        for problem in richtext.check(value):
            ctx.error(lang, problem, data)
        if stem:
            stem.setdefault(lang, value.strip())
    return {lang: stem[lang] for lang in LANGUAGES if lang in stem}


def _item(ctx: _Ctx, data: Mapping[str, Any], pending: _Pending) -> Item:
    key = _key(ctx, data)
    topic = _plain(ctx, data, "topic")
    if topic:
        pending.topic_refs.append((ctx, "topic", topic))
    stem = _stem(ctx, data)
    type_ = data.get("type")
    base = {"key": key, "topic": topic, "stem": stem, "languages": ctx.languages}
    if "stimulus" in data:
        base["stimulus"] = _texts(ctx, data, "stimulus") or None
    if type_ not in ITEM_TYPES:
        ctx.error("type", f"unknown type {_show(type_)} (expected one of: {', '.join(ITEM_TYPES)})")
        _fields(ctx, data, _COMMON_ITEM_FIELDS | set().union(*_TYPE_FIELDS.values()))
        return Item(**base, type=str(type_))
    for name in data:
        if name not in _COMMON_ITEM_FIELDS | _TYPE_FIELDS[type_]:
            other = [t for t, names in _TYPE_FIELDS.items() if name in names]
            why = f"belongs to {other[0]} items, this is a {type_} item" if other else "unknown field"
            ctx.error(name, why)
    base["type"] = type_
    if type_ == "inline":
        for lang, text in stem.items():
            if not GAP.search(text):
                ctx.error("stem", f"an inline item's stem shows the gap the student fills: write _____ where it goes"
                          f" (missing in {lang})", data)
    if type_ in CHOICE_TYPES:
        return Item(**base, choices=_choices(ctx, data, pending, several=type_ == "multiple"))
    if type_ == "numeric":
        return _numeric(ctx, data, pending, base)
    return _text_item(ctx, data, pending, base)


def _choices(ctx: _Ctx, data: Mapping[str, Any], pending: _Pending, several: bool = False) -> tuple[Choice, ...]:
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
    seen: dict[tuple[str, str], str] = {}  # (language, text) -> the choice that has it
    for letter, body in raw.items():
        path = f"choices.{letter}"
        if letter not in CHOICE_KEYS:
            ctx.error(path, f"choice keys are A, B, C and D, not {_show(letter)}", raw)
            continue
        if not isinstance(body, Mapping):
            ctx.error(path, f"must be a mapping with text and correct / misconception, not {_show(body)}", raw)
            continue
        _fields(ctx, body, {"text", "correct", "misconception", "feedback"}, f"{path}.")
        text = _texts(ctx, body, "text", f"{path}.text")
        feedback = _texts(ctx, body, "feedback", f"{path}.feedback") if "feedback" in body else None
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
        same = sorted({seen[(lang, t)] for lang, t in text.items() if (lang, t) in seen})
        if same:
            langs = [lang for lang, t in text.items() if seen.get((lang, t)) == same[0]]
            shown = "" if len(langs) == len(text) else f" (in {', '.join(langs)})"
            ctx.error(f"{path}.text", f"is the same as choice {same[0]}{shown}", body)
        for lang, t in text.items():
            seen.setdefault((lang, t), letter)
        choices.append(Choice(key=letter, text=text, correct=correct, misconception=misconception,
                              feedback=feedback or None))
    correct_keys = [c.key for c in choices if c.correct]
    if choices and not correct_keys:
        ctx.error("choices", "no choice is marked correct: true")
    elif len(correct_keys) > 1 and not several:
        ctx.error("choices", f"choices {' and '.join(correct_keys)} are all marked correct; exactly one must be "
                  "(a 'multiple' item takes several)")
    elif several and len(correct_keys) == len(choices):
        ctx.error("choices", "every choice is marked correct: a 'multiple' item needs at least one distractor")
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
        misconception = _plain(ctx, entry, "misconception", f"{path}.misconception")
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
    model = _texts(ctx, data, "model_answer", required=False) or None
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
        description = _texts(ctx, entry, "description", f"{path}.description")
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
        misconception = _plain(ctx, entry, "misconception", f"{path}.misconception")
        if misconception:
            pending.misconception_refs.append((ctx, f"{path}.misconception", misconception, entry))
        patterns.append(
            RubricPattern(pattern=_texts(ctx, entry, "pattern", f"{path}.pattern"), misconception=misconception)
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
        title=_texts(ctx, data, "title", markdown=False),
        description=_texts(ctx, data, "description", markdown=False),
        items=tuple(items),
        targets=tuple(targets),
        languages=ctx.languages,
    )


_PARSERS = {"topics": _topic, "misconceptions": _misconception, "items": _item, "diagnostics": _diagnostic}


def _file_languages(name: str, data: Mapping[str, Any], problems: yamlbank.Problems) -> tuple[str, ...]:
    """The `languages:` flag of a file: every language when absent."""
    raw = data.get("languages")
    if raw is None:
        return LANGUAGES
    line = yamlbank.line_of(data, "languages")
    if not isinstance(raw, list) or not raw or any(lang not in LANGUAGES for lang in raw) or len(set(raw)) != len(raw):
        problems.add(
            line,
            "languages",
            f"must list the file's languages once each, from {', '.join(LANGUAGES)} "
            f"(e.g. [en] for a single-language bank), not {_show(raw)}",
            file=name,
        )
        return LANGUAGES
    return tuple(lang for lang in LANGUAGES if lang in raw)


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
    languages = _file_languages(name, data, problems)
    for section, records in data.items():
        line = yamlbank.line_of(data, section)
        if section == "languages":
            continue
        if section not in _SECTIONS:
            expected = ", ".join((*_SECTIONS, "languages"))
            problems.add(line, str(section), f"unknown section (expected one of: {expected})", file=name)
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
            ctx = _Ctx(problems, name, record, where, languages)
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
