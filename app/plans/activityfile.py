"""Reading the activity library of learning plans from YAML (app/plans/activities/*.yaml), validated in full
before anything is stored, each problem named by file, line and field:

    starter.yaml:212: activity 'ratio-tables': misconceptions[1]: unknown misconception 'additive-ratios'

A file holds `activities:` and, optionally, `prerequisites:` (a misconception listed under `after` is worked on
only after the one in `first`: a plan orders its goals by them, most fundamental first). Every text is a language
map {en, he, ar}, Markdown with $TeX$ like the item bank; a file that says `languages: [he]` at its top is in
that language only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app import yamlbank

KINDS = ("worked-example", "manipulative", "small-group", "practice-set", "discussion")
GROUPINGS = ("individual", "pair", "small-group", "whole-class")
LEAST_MINUTES, MOST_MINUTES = 5, 90
MOST_MISCONCEPTIONS = 3
LEAST_STEPS, MOST_STEPS = 2, 6
FIELDS = ("key", "misconceptions", "kind", "minutes", "grouping", "title", "materials", "steps", "look_for")


@dataclass
class ActivityRecord:
    """One activity, valid, as it will be stored: `spec` holds title, materials, steps and look_for as
    language maps (steps: a list of them)."""

    key: str
    kind: str
    minutes: int
    grouping: str
    misconceptions: list[str]
    languages: list[str]
    spec: dict[str, Any]
    line: int | None = None


@dataclass
class Library:
    activities: list[ActivityRecord] = field(default_factory=list)
    prerequisites: list[tuple[str, str]] = field(default_factory=list)  # (first, after)


class ActivityFileError(ValueError):
    def __init__(self, lines: list[str]):
        self.lines = lines
        super().__init__("\n".join(lines))


def _choice(ctx: yamlbank.Context, data: Mapping, name: str, allowed: tuple[str, ...]) -> str:
    value = data.get(name)
    if value not in allowed:
        ctx.error(data, name, name, ("is required: " if value is None else f"{yamlbank.show(value)} is not one of: ")
                  + ", ".join(allowed))
        return ""
    return value


def _misconception_keys(ctx: yamlbank.Context, data: Mapping, known: set[str] | None) -> list[str]:
    value = data.get("misconceptions")
    if not isinstance(value, list) or not value:
        ctx.error(data, "misconceptions", "misconceptions",
                  f"is required: a list of 1 to {MOST_MISCONCEPTIONS} misconception keys")
        return []
    if len(value) > MOST_MISCONCEPTIONS:
        ctx.error(data, "misconceptions", "misconceptions",
                  f"lists {len(value)}; at most {MOST_MISCONCEPTIONS} (an activity works on a few, well)")
    keys: list[str] = []
    for n, key in enumerate(value):
        path = f"misconceptions[{n + 1}]"
        if not isinstance(key, str) or not yamlbank.KEY.match(key):
            ctx.error(value, n, path, f"must be a misconception key, not {yamlbank.show(key)}")
        elif known is not None and key not in known:
            ctx.error(value, n, path, f"unknown misconception {key!r}")
        elif key in keys:
            ctx.error(value, n, path, f"{key!r} is listed twice")
        else:
            keys.append(key)
    return keys


def _steps(ctx: yamlbank.Context, data: Mapping) -> list[dict[str, str]]:
    value = data.get("steps")
    if not isinstance(value, list) or not LEAST_STEPS <= len(value) <= MOST_STEPS:
        ctx.error(data, "steps", "steps", f"is required: a list of {LEAST_STEPS} to {MOST_STEPS} steps"
                  if not isinstance(value, list) else
                  f"has {len(value)} steps; write {LEAST_STEPS} to {MOST_STEPS}")
        return []
    holder = {str(n): step for n, step in enumerate(value)}
    steps = []
    for n, step in enumerate(value):
        if isinstance(step, Mapping | str):
            # language_map reads a field of a mapping; the step is its own field, so it is read through a holder
            # whose line numbers are the list's.
            texts = yamlbank.language_map(_ListCtx(ctx, value, n), holder, str(n), f"steps[{n + 1}]")
            steps.append(texts)
        else:
            ctx.error(value, n, f"steps[{n + 1}]", f"must be text or a language map, not {yamlbank.show(step)}")
    return steps


class _ListCtx(yamlbank.Context):
    """Reports a problem of a list item at the item's own line."""

    def __init__(self, ctx: yamlbank.Context, seq: list, index: int) -> None:
        super().__init__(ctx.problems, ctx.languages, ctx.where, ctx.extra)
        self._seq, self._index = seq, index

    def error(self, node: Any, key: Any, path: str | None, message: str) -> None:
        line = yamlbank.line_of(node, key) if hasattr(node, "lc") else yamlbank.line_of(self._seq, self._index)
        self.problems.add(line, self.where or None, path, message)


def _activity(ctx: yamlbank.Context, raw: Mapping, known: set[str] | None) -> ActivityRecord | None:
    before = len(ctx.problems)
    key = yamlbank.key(ctx, raw)
    if key:
        ctx.where = f"activity {key!r}"
    for name in raw:
        if name not in FIELDS:
            ctx.error(raw, name, str(name), f"unknown field (expected one of: {', '.join(FIELDS)})")
    record = ActivityRecord(
        key=key, kind=_choice(ctx, raw, "kind", KINDS), grouping=_choice(ctx, raw, "grouping", GROUPINGS),
        minutes=yamlbank.whole_number(ctx, raw, "minutes", LEAST_MINUTES, MOST_MINUTES, None) or 0,
        misconceptions=_misconception_keys(ctx, raw, known), languages=list(ctx.languages),
        spec={"title": yamlbank.language_map(ctx, raw, "title"),
              "materials": yamlbank.language_map(ctx, raw, "materials"),
              "steps": _steps(ctx, raw),
              "look_for": yamlbank.language_map(ctx, raw, "look_for")},
        line=yamlbank.line_of(raw))
    if raw.get("minutes") is None:
        ctx.error(raw, "minutes", "minutes", f"is required: a whole number from {LEAST_MINUTES} to {MOST_MINUTES}")
    return record if len(ctx.problems) == before else None


def _prerequisites(ctx: yamlbank.Context, data: Mapping, known: set[str] | None) -> list[tuple[str, str]]:
    value = data.get("prerequisites")
    if value is None:
        return []
    if not isinstance(value, list):
        ctx.error(data, "prerequisites", "prerequisites", "must be a list of {first: key, after: [keys]}")
        return []
    pairs: list[tuple[str, str]] = []
    for n, raw in enumerate(value):
        ctx.where = f"prerequisite #{n + 1}"
        if not isinstance(raw, Mapping):
            ctx.error(value, n, None, "must be a mapping {first: key, after: [keys]}")
            continue
        first = raw.get("first")
        after = raw.get("after")
        if not isinstance(first, str) or (known is not None and first not in known):
            ctx.error(raw, "first", "first", "is required: a misconception key" if first is None
                      else f"unknown misconception {yamlbank.show(first)}")
            continue
        if not isinstance(after, list) or not after:
            ctx.error(raw, "after", "after", "is required: a list of misconception keys")
            continue
        for m, later in enumerate(after):
            if not isinstance(later, str) or (known is not None and later not in known):
                ctx.error(after, m, f"after[{m + 1}]", f"unknown misconception {yamlbank.show(later)}")
            elif later == first:
                ctx.error(after, m, f"after[{m + 1}]", f"{first!r} cannot come after itself")
            else:
                pairs.append((first, later))
    ctx.where = ""
    cycle = circle(pairs)
    if cycle:
        ctx.error(data, "prerequisites", "prerequisites",
                  "go round in a circle: " + " → ".join(cycle) + " (no order of goals can satisfy them)")
    return pairs


def circle(pairs: list[tuple[str, str]]) -> list[str]:
    """A circle in the prerequisites, as the keys along it, or [] when there is none."""
    graph: dict[str, list[str]] = {}
    for first, after in pairs:
        graph.setdefault(first, []).append(after)
    state: dict[str, int] = {}  # 1 on the path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        state[node] = 2
        path.pop()
        return []

    for start in sorted(graph):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return []


def read(name: str, text: str | bytes, *, misconceptions: set[str] | None = None) -> Library:
    """Every activity and prerequisite of the file, or ActivityFileError listing every problem; `misconceptions`,
    when given, are the keys an activity may name (the misconception bank)."""
    problems = yamlbank.Problems(name)
    try:
        doc = yamlbank.load(name, text)
    except yamlbank.Unreadable as exc:
        raise ActivityFileError([exc.message]) from None
    problems.duplicates(doc)
    data = doc.data
    if not isinstance(data, Mapping) or not isinstance(data.get("activities"), list) or not data["activities"]:
        problems.add(yamlbank.line_of(data), "activities", "is required: a list of activities")
        raise ActivityFileError(problems.lines)
    ctx = yamlbank.Context(problems, yamlbank.LANGUAGES)
    yamlbank.read_languages(ctx, data)
    for name_ in data:
        if name_ not in ("languages", "activities", "prerequisites"):
            ctx.error(data, name_, str(name_), "unknown field (expected languages, activities, prerequisites)")
    library = Library(prerequisites=_prerequisites(ctx, data, misconceptions))
    library.activities = yamlbank.keyed_records(ctx, data["activities"], "activity",
                                                "key, misconceptions, kind, minutes, ...",
                                                lambda raw: _activity(ctx, raw, misconceptions))
    if problems:
        raise ActivityFileError(problems.lines)
    return library
