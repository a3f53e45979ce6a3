"""Reading PLC protocols (app/meetings/protocols/*.yaml) and a meeting's agenda written as YAML, validated in full
before anything is stored, each problem named by file, line and field:

    starter.yaml:41: protocol 'tuning': steps[3]: minutes: 90 is out of range: from 1 to 60

A protocol is a few steps, each with a short title, the prompt the facilitator puts to the group and a suggested
time; `responses: held` on a step means that the members' written responses reach the facilitator first, who
reveals them (independent first thinking), `open` (the default) that everyone sees them at once. Texts are language
maps {en, he, ar}; a file that says `languages: [he]` at its top is in that language only.

An agenda file lists a meeting's steps: a protocol's steps (`protocol: tuning`, or one of them with `step: 2`) or a
step written for this meeting (`title`, `prompt`, `minutes`, `responses`), each optionally with one piece of
evidence, named by what it is and its public id:

    steps:
      - protocol: notice-and-wonder
        evidence: {clip: 3fZ0aB...}
      - title: Our next lesson
        prompt: What will each of us try this week?
        minutes: 10
        evidence: {item: {assignment: Xy12..., number: 4}}

The reader checks the shape; whether the evidence exists and may be shared into the meeting is the service's
question, and its answer names the same line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app import yamlbank

EVIDENCE_KINDS = ("clip", "result", "item", "attempt")
RESPONSES = ("open", "held")
LEAST_STEPS, MOST_STEPS = 2, 8
MOST_AGENDA_STEPS = 30
LEAST_MINUTES, MOST_MINUTES = 1, 60
PROTOCOL_FIELDS = ("key", "title", "purpose", "suits", "steps")
STEP_FIELDS = ("title", "prompt", "minutes", "responses")
AGENDA_STEP_FIELDS = ("protocol", "step", "title", "prompt", "minutes", "responses", "evidence")


@dataclass
class ProtocolStep:
    title: dict[str, str]
    prompt: dict[str, str]
    minutes: int
    responses: str = "open"


@dataclass
class ProtocolRecord:
    key: str
    title: dict[str, str]
    purpose: dict[str, str]
    suits: list[str]
    steps: list[ProtocolStep]
    languages: list[str]
    line: int | None = None

    def spec(self) -> dict[str, Any]:
        return {"title": self.title, "purpose": self.purpose,
                "steps": [{"title": s.title, "prompt": s.prompt, "minutes": s.minutes, "responses": s.responses}
                          for s in self.steps]}


@dataclass
class AgendaEntry:
    """One line of an agenda file: a protocol's steps (`step` None: all of them) or a step of its own."""

    line: int | None
    protocol: str | None = None
    step: int | None = None
    title: dict[str, str] = field(default_factory=dict)
    prompt: dict[str, str] = field(default_factory=dict)
    minutes: int | None = None
    responses: str | None = None
    evidence: tuple[str, str, int | None] | None = None  # (kind, public id, item number)


class ProtocolFileError(ValueError):
    def __init__(self, lines: list[str]):
        self.lines = lines
        super().__init__("\n".join(lines))


def _unknown(ctx: yamlbank.Context, data: Mapping, allowed: tuple[str, ...]) -> None:
    for name in data:
        if name not in allowed:
            ctx.error(data, name, str(name), f"unknown field (expected one of: {', '.join(allowed)})")


def _responses(ctx: yamlbank.Context, data: Mapping, path: str) -> str | None:
    value = data.get("responses")
    if value is None:
        return None
    if value not in RESPONSES:
        ctx.error(data, "responses", f"{path}responses", f"{yamlbank.show(value)} is not one of: open, held")
        return None
    return value


def _step(ctx: yamlbank.Context, steps: list, n: int) -> ProtocolStep | None:
    raw = steps[n]
    path = f"steps[{n + 1}]"
    if not isinstance(raw, Mapping):
        ctx.error(steps, n, path, "must be a mapping (title, prompt, minutes, responses)")
        return None
    before = len(ctx.problems)
    for name in raw:
        if name not in STEP_FIELDS:
            ctx.error(raw, name, f"{path}.{name}", f"unknown field (expected one of: {', '.join(STEP_FIELDS)})")
    where, ctx.where = ctx.where, f"{ctx.where}: {path}" if ctx.where else path  # the step's own minutes
    minutes = yamlbank.whole_number(ctx, raw, "minutes", LEAST_MINUTES, MOST_MINUTES, None)
    ctx.where = where
    if raw.get("minutes") is None:
        ctx.error(raw, "minutes", f"{path}.minutes",
                  f"is required: a whole number from {LEAST_MINUTES} to {MOST_MINUTES}")
    step = ProtocolStep(title=yamlbank.language_map(ctx, raw, "title", f"{path}.title"),
                        prompt=yamlbank.language_map(ctx, raw, "prompt", f"{path}.prompt"),
                        minutes=minutes or 0, responses=_responses(ctx, raw, f"{path}.") or "open")
    return step if len(ctx.problems) == before else None


def _suits(ctx: yamlbank.Context, raw: Mapping) -> list[str]:
    value = raw.get("suits")
    if not isinstance(value, list) or not value:
        ctx.error(raw, "suits", "suits", "is required: a list of the evidence it suits: " + ", ".join(EVIDENCE_KINDS))
        return []
    kinds = []
    for n, kind in enumerate(value):
        if kind not in EVIDENCE_KINDS:
            ctx.error(value, n, f"suits[{n + 1}]", f"{yamlbank.show(kind)} is not one of: {', '.join(EVIDENCE_KINDS)}")
        elif kind in kinds:
            ctx.error(value, n, f"suits[{n + 1}]", f"{kind!r} is listed twice")
        else:
            kinds.append(kind)
    return kinds


def _protocol(ctx: yamlbank.Context, raw: Mapping) -> ProtocolRecord | None:
    before = len(ctx.problems)
    key = yamlbank.key(ctx, raw)
    if key:
        ctx.where = f"protocol {key!r}"
    _unknown(ctx, raw, PROTOCOL_FIELDS)
    steps_raw = raw.get("steps")
    steps: list[ProtocolStep] = []
    if not isinstance(steps_raw, list) or not LEAST_STEPS <= len(steps_raw) <= MOST_STEPS:
        ctx.error(raw, "steps", "steps", f"is required: a list of {LEAST_STEPS} to {MOST_STEPS} steps"
                  if not isinstance(steps_raw, list) else
                  f"has {len(steps_raw)} steps; write {LEAST_STEPS} to {MOST_STEPS}")
    else:
        steps = [s for n in range(len(steps_raw)) if (s := _step(ctx, steps_raw, n)) is not None]
    record = ProtocolRecord(key=key, title=yamlbank.language_map(ctx, raw, "title"),
                            purpose=yamlbank.language_map(ctx, raw, "purpose"), suits=_suits(ctx, raw),
                            steps=steps, languages=list(ctx.languages), line=yamlbank.line_of(raw))
    return record if len(ctx.problems) == before else None


def _document(name: str, text: str | bytes) -> tuple[yamlbank.Problems, Any]:
    problems = yamlbank.Problems(name)
    try:
        doc = yamlbank.load(name, text)
    except yamlbank.Unreadable as exc:
        raise ProtocolFileError([exc.message]) from None
    problems.duplicates(doc)
    return problems, doc.data


def read(name: str, text: str | bytes) -> list[ProtocolRecord]:
    """Every protocol of the file, or ProtocolFileError listing every problem."""
    problems, data = _document(name, text)
    if not isinstance(data, Mapping) or not isinstance(data.get("protocols"), list) or not data["protocols"]:
        problems.add(yamlbank.line_of(data), "protocols", "is required: a list of protocols")
        raise ProtocolFileError(problems.lines)
    ctx = yamlbank.Context(problems, yamlbank.LANGUAGES)
    yamlbank.read_languages(ctx, data)
    for name_ in data:
        if name_ not in ("languages", "protocols"):
            ctx.error(data, name_, str(name_), "unknown field (expected languages, protocols)")
    found = yamlbank.keyed_records(ctx, data["protocols"], "protocol", "key, title, purpose, suits, steps",
                                   lambda raw: _protocol(ctx, raw))
    if problems:
        raise ProtocolFileError(problems.lines)
    return found


def _evidence(ctx: yamlbank.Context, raw: Mapping) -> tuple[str, str, int | None] | None:
    value = raw.get("evidence")
    if value is None:
        return None
    shape = "a mapping with one of: clip, result, attempt (a public id) or item ({assignment: id, number: n})"
    if not isinstance(value, Mapping) or len(value) != 1:
        ctx.error(raw, "evidence", "evidence", f"must be {shape}")
        return None
    kind, ref = next(iter(value.items()))
    if kind not in EVIDENCE_KINDS:
        ctx.error(value, kind, f"evidence.{kind}", f"unknown evidence (expected one of: {', '.join(EVIDENCE_KINDS)})")
        return None
    if kind == "item":
        if not isinstance(ref, Mapping) or not isinstance(ref.get("assignment"), str):
            ctx.error(value, kind, "evidence.item", "must be {assignment: <public id>, number: <question number>}")
            return None
        number = yamlbank.whole_number(ctx, ref, "number", 1, 500, None)
        if number is None:
            if ref.get("number") is None:
                ctx.error(ref, "number", "evidence.item.number", "is required: the question's number (1, 2, ...)")
            return None
        return kind, ref["assignment"].strip(), number
    if not isinstance(ref, str) or not ref.strip() or len(ref) > 40:
        ctx.error(value, kind, f"evidence.{kind}", f"must be a public id, not {yamlbank.show(ref)}")
        return None
    return kind, ref.strip(), None


def read_agenda(name: str, text: str | bytes, *, language: str, protocols: Mapping[str, int]) -> list[AgendaEntry]:
    """The steps of an agenda file, or ProtocolFileError listing every problem. Texts written as plain text are in
    `language` (the facilitator's); `protocols` maps each known protocol key to its number of steps."""
    problems, data = _document(name, text)
    if not isinstance(data, Mapping) or not isinstance(data.get("steps"), list) or not data["steps"]:
        problems.add(yamlbank.line_of(data), "steps", "is required: a list of agenda steps")
        raise ProtocolFileError(problems.lines)
    ctx = yamlbank.Context(problems, (language,))
    for name_ in data:
        if name_ != "steps":
            ctx.error(data, name_, str(name_), "unknown field (expected steps)")
    if len(data["steps"]) > MOST_AGENDA_STEPS:
        ctx.error(data, "steps", "steps", f"has {len(data['steps'])} steps; at most {MOST_AGENDA_STEPS}")
    entries: list[AgendaEntry] = []
    for n, raw in enumerate(data["steps"]):
        ctx.where = f"step #{n + 1}"
        if not isinstance(raw, Mapping):
            ctx.error(data["steps"], n, None, "must be a mapping (protocol and step, or title, prompt and minutes)")
            continue
        before = len(problems)
        _unknown(ctx, raw, AGENDA_STEP_FIELDS)
        entry = AgendaEntry(line=yamlbank.line_of(raw), evidence=_evidence(ctx, raw),
                            responses=_responses(ctx, raw, ""),
                            minutes=yamlbank.whole_number(ctx, raw, "minutes", LEAST_MINUTES, MOST_MINUTES, None))
        protocol = raw.get("protocol")
        if protocol is not None:
            if protocol not in protocols:
                ctx.error(raw, "protocol", "protocol", f"unknown protocol {yamlbank.show(protocol)}")
            else:
                entry.protocol = protocol
                if raw.get("step") is not None:
                    entry.step = yamlbank.whole_number(ctx, raw, "step", 1, protocols[protocol], None)
            for name_ in ("title", "prompt"):
                if name_ in raw:
                    entry.__dict__[name_] = yamlbank.language_map(ctx, raw, name_)
        else:
            if raw.get("step") is not None:
                ctx.error(raw, "step", "step", "names a step of a protocol: write `protocol:` too")
            entry.title = yamlbank.language_map(ctx, raw, "title")
            entry.prompt = yamlbank.language_map(ctx, raw, "prompt")
            if raw.get("minutes") is None:
                ctx.error(raw, "minutes", "minutes",
                          f"is required: a whole number from {LEAST_MINUTES} to {MOST_MINUTES}")
        if len(problems) == before:
            entries.append(entry)
    if problems:
        raise ProtocolFileError(problems.lines)
    return entries
