"""Reading rehearsal scenarios from YAML (docs/scenarios.md): the library's files, a teacher's import and the
in-app editor all come through `read`, which validates the whole file before anything is stored and names the
file, line and field of every problem ("starter.yaml:42: scenario 'fractions-compare': anticipate: is required").

A file holds `scenarios:` and, optionally, `rubrics:` that scenarios name by key (YAML anchors are refused by
app.yamlbank, so a shared rubric is named instead); a scenario may also carry its rubric inline. Every text is a
language map {en, he, ar}; a file that says `languages: [he]` at its top is written in that language only and its
texts may be plain strings.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML

from app import yamlbank
from app.rehearsals.models import HIGHEST, LOWEST, MOVES

LANGUAGES = yamlbank.LANGUAGES
# The reading helpers every language-map bank shares (app.yamlbank).
_Ctx, _show, _texts = yamlbank.Context, yamlbank.show, yamlbank.language_map
_whole, _key = yamlbank.whole_number, yamlbank.key
# The phases of a scenario (Context → Anticipate → Enact → Reflect) and its goal: each required.
PHASES = ("title", "context", "goal", "anticipate", "reflect")
MAX_TURNS, MAX_CRITERIA = 5, 6
LEAST_SECONDS, MOST_SECONDS, DEFAULT_SECONDS = 30, 600, 180


@dataclass
class ScenarioRecord:
    """One scenario, valid, as it will be stored: `spec` holds every text as a language map."""

    key: str
    version: int
    topic: str
    grade: int | None
    move: str
    misconception: str | None
    max_seconds: int
    languages: list[str]
    spec: dict[str, Any]
    yaml_text: str = ""
    line: int | None = None


class ScenarioFileError(ValueError):
    def __init__(self, lines: list[str]):
        self.lines = lines
        super().__init__("\n".join(lines))


def _rubric(ctx: _Ctx, data: Mapping, path: str) -> dict[str, Any]:
    rubric: dict[str, Any] = {"title": _texts(ctx, data, "title", f"{path}.title"), "criteria": []}
    if isinstance(data.get("key"), str):
        rubric["key"] = data["key"]
    criteria = data.get("criteria")
    if not isinstance(criteria, list) or not criteria:
        ctx.error(data, "criteria", f"{path}.criteria", f"is required: a list of 1 to {MAX_CRITERIA} criteria")
        return rubric
    if len(criteria) > MAX_CRITERIA:
        ctx.error(data, "criteria", f"{path}.criteria", f"has {len(criteria)} criteria; at most {MAX_CRITERIA}")
    seen: set[str] = set()
    for n, criterion in enumerate(criteria[:MAX_CRITERIA]):
        where = f"{path}.criteria[{n + 1}]"
        if not isinstance(criterion, Mapping):
            ctx.error(criteria, n, where, "must be a mapping with key, title and levels")
            continue
        key = _key(ctx, criterion, "key", f"{where}.key")
        if key in seen:
            ctx.error(criterion, "key", f"{where}.key", f"{key!r} is used twice in this rubric")
        seen.add(key)
        item = {"key": key, "title": _texts(ctx, criterion, "title", f"{where}.title"), "levels": []}
        levels = criterion.get("levels")
        if not isinstance(levels, list) or not levels:
            ctx.error(criterion, "levels", f"{where}.levels", f"is required: levels scored {LOWEST} to {HIGHEST}")
        else:
            scores: set[int] = set()
            for m, level in enumerate(levels):
                at = f"{where}.levels[{m + 1}]"
                if not isinstance(level, Mapping):
                    ctx.error(levels, m, at, "must be a mapping with score and text")
                    continue
                score = level.get("score")
                if isinstance(score, bool) or not isinstance(score, int):
                    ctx.error(level, "score", f"{at}.score", f"must be a whole number from {LOWEST} to {HIGHEST}, "
                                                             f"not {_show(score)}")
                elif not LOWEST <= score <= HIGHEST:
                    ctx.error(level, "score", f"{at}.score",
                              f"{score} is out of range: levels are scored {LOWEST} to {HIGHEST}")
                elif score in scores:
                    ctx.error(level, "score", f"{at}.score", f"{score} is given to two levels")
                else:
                    scores.add(score)
                    item["levels"].append({"score": score, "text": _texts(ctx, level, "text", f"{at}.text")})
            item["levels"].sort(key=lambda lv: lv["score"])
        rubric["criteria"].append(item)
    return rubric


def _dump(record: Mapping) -> str:
    out = io.StringIO()
    yaml = YAML()
    yaml.width = 110
    yaml.allow_unicode = True
    yaml.dump({"scenarios": [record]}, out)
    return out.getvalue()


def read(name: str, text: str | bytes, *, topics: set[str] | None = None,
         misconceptions: set[str] | None = None) -> list[ScenarioRecord]:
    """Every scenario of the file, or ScenarioFileError listing every problem; `topics` and `misconceptions`,
    when given, are the keys a scenario may name."""
    problems = yamlbank.Problems(name)
    try:
        doc = yamlbank.load(name, text)
    except yamlbank.Unreadable as exc:
        raise ScenarioFileError([exc.message]) from None
    problems.duplicates(doc)
    data = doc.data
    if not isinstance(data, Mapping) or not isinstance(data.get("scenarios"), list) or not data["scenarios"]:
        problems.add(yamlbank.line_of(data), "scenarios", "is required: a list of scenarios")
        raise ScenarioFileError(problems.lines)
    ctx = _Ctx(problems, LANGUAGES)
    yamlbank.read_languages(ctx, data)

    rubrics: dict[str, dict] = {}
    for n, raw in enumerate(data.get("rubrics") or []):
        ctx.where = f"rubric #{n + 1}"
        if not isinstance(raw, Mapping):
            ctx.error(data["rubrics"], n, None, "must be a mapping with key, title and criteria")
            continue
        key = _key(ctx, raw)
        ctx.where = f"rubric {key!r}" if key else ctx.where
        if key in rubrics:
            ctx.error(raw, "key", "key", f"{key!r} is defined twice")
        rubrics[key] = _rubric(ctx, raw, "rubric")

    found: list[ScenarioRecord] = []
    seen: set[tuple[str, int]] = set()
    for n, raw in enumerate(data["scenarios"]):
        ctx.where = f"scenario #{n + 1}"
        if not isinstance(raw, Mapping):
            ctx.error(data["scenarios"], n, None, "must be a mapping (key, topic, title, context, ...)")
            continue
        key = _key(ctx, raw)
        if key:
            ctx.where = f"scenario {key!r}"
        version = _whole(ctx, raw, "version", 1, 100000, 1)
        if key and (key, version) in seen:
            ctx.error(raw, "key", "key", f"{key!r} version {version} is in this file twice")
        seen.add((key, version))
        topic = raw.get("topic")
        if not isinstance(topic, str) or not topic.strip():
            ctx.error(raw, "topic", "topic", "is required")
            topic = ""
        elif topics is not None and topic not in topics:
            ctx.error(raw, "topic", "topic", f"unknown topic {topic!r} (known: {', '.join(sorted(topics))})")
        move = raw.get("move")
        if move not in MOVES:
            ctx.error(raw, "move", "move", f"must be one of {', '.join(MOVES)}, not {_show(move)}")
        misconception = raw.get("misconception")
        if misconception is not None and (not isinstance(misconception, str)
                                          or (misconceptions is not None and misconception not in misconceptions)):
            ctx.error(raw, "misconception", "misconception", f"no misconception {_show(misconception)} in the bank")
            misconception = None
        spec: dict[str, Any] = {phase: _texts(ctx, raw, phase) for phase in PHASES}
        turns = raw.get("turns")
        spec["turns"] = []
        if not isinstance(turns, list) or not turns:
            ctx.error(raw, "turns", "turns", f"is required: 1 to {MAX_TURNS} student turns to respond to")
        else:
            if len(turns) > MAX_TURNS:
                ctx.error(raw, "turns", "turns", f"has {len(turns)} turns; at most {MAX_TURNS}")
            for m, turn in enumerate(turns[:MAX_TURNS]):
                at = f"turns[{m + 1}]"
                if not isinstance(turn, Mapping):
                    ctx.error(turns, m, at, "must be a mapping with student and text")
                    continue
                spec["turns"].append({"student": _texts(ctx, turn, "student", f"{at}.student", required=False),
                                      "text": _texts(ctx, turn, "text", f"{at}.text")})
        rubric = raw.get("rubric")
        if isinstance(rubric, str):
            if rubric not in rubrics:
                ctx.error(raw, "rubric", "rubric", f"no rubric {rubric!r} in this file's rubrics")
                spec["rubric"] = {"criteria": []}
            else:
                spec["rubric"] = rubrics[rubric]
        elif isinstance(rubric, Mapping):
            spec["rubric"] = _rubric(ctx, rubric, "rubric")
        else:
            ctx.error(raw, "rubric", "rubric", "is required: the key of a rubric in this file, or a rubric")
            spec["rubric"] = {"criteria": []}
        grade = _whole(ctx, raw, "grade", 1, 12, None)
        max_seconds = _whole(ctx, raw, "max_seconds", LEAST_SECONDS, MOST_SECONDS, DEFAULT_SECONDS)
        record = ScenarioRecord(
            key=key, version=version, topic=topic or "", grade=grade, move=move if move in MOVES else "",
            misconception=misconception, max_seconds=max_seconds, languages=list(ctx.languages), spec=spec,
            line=yamlbank.line_of(data["scenarios"], n))
        record.yaml_text = to_yaml(record, record.languages)
        found.append(record)
    if problems:
        raise ScenarioFileError(problems.lines)
    return found


def editable(record: ScenarioRecord) -> dict[str, Any]:
    """The scenario as one self-contained YAML record (its rubric inline): what the in-app editor shows."""
    out: dict[str, Any] = {"key": record.key, "version": record.version, "topic": record.topic}
    if record.grade is not None:
        out["grade"] = record.grade
    out["move"] = record.move
    if record.misconception:
        out["misconception"] = record.misconception
    out["max_seconds"] = record.max_seconds
    spec = record.spec
    for phase in ("title", "context", "goal", "anticipate"):
        out[phase] = dict(spec[phase])
    out["turns"] = [{**({"student": dict(t["student"])} if t.get("student") else {}), "text": dict(t["text"])}
                    for t in spec["turns"]]
    out["reflect"] = dict(spec["reflect"])
    rubric = spec.get("rubric") or {}
    out["rubric"] = {**({"key": rubric["key"]} if rubric.get("key") else {}), "title": dict(rubric.get("title") or {}),
                     "criteria": [{"key": c["key"], "title": dict(c["title"]),
                                   "levels": [{"score": lv["score"], "text": dict(lv["text"])} for lv in c["levels"]]}
                                  for c in rubric.get("criteria", [])]}
    return out


def to_yaml(record: ScenarioRecord, languages: list[str]) -> str:
    """A scenario made in the app (from evidence) as the YAML its editor shows, with the file's languages."""
    text = _dump(editable(record))
    if languages != list(LANGUAGES):
        text = f"languages: [{', '.join(languages)}]\n" + text
    return text
