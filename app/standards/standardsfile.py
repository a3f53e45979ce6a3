"""Reading the standards for teacher leaders (app/standards/frameworks/*.yaml), validated in full before anything
uses them, each problem named by file, line and field:

    leaders-2027.yaml:88: role 'instructional_coach': standards[2].evidence.least: 9 is out of range: from 1 to 6

A file is one version of one framework (`key`, `version`): its rubric scale (levels 1..N, each a label and what
work at that level looks like), and its roles, each with 3 to 6 standards. A standard has 2 to 6 indicators, the
evidence it asks for (which kinds, how many pieces, the word limit of each commentary) and, for each level of the
scale, what a portfolio at that level shows for this standard. Texts are language maps {en, he, ar}.

Cohorts, portfolios and certificates name the version they were made under by its ref ("leaders@2027"), so a
newer file is added beside the old one, never written over it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from app import yamlbank

FOLDER = Path(__file__).resolve().parent / "frameworks"
EVIDENCE_KINDS = ("clip", "cycle", "meeting", "attempt")
ROLE_KEYS = ("department_head", "instructional_coach", "community_facilitator", "new_teacher_mentor")
LEAST_STANDARDS, MOST_STANDARDS = 3, 6
LEAST_INDICATORS, MOST_INDICATORS = 2, 6
LEAST_PIECES, MOST_PIECES = 1, 8
LEAST_WORDS, MOST_WORDS = 50, 800
_STANDARD_KEY = re.compile(r"^[A-Z]{2,4}-[0-9]{1,2}$")
_INDICATOR_KEY = re.compile(r"^[0-9]{1,2}\.[0-9]{1,2}$")
_VERSION = re.compile(r"^[0-9A-Za-z.-]{1,20}$")
FILE_FIELDS = ("key", "version", "title", "levels", "roles")
ROLE_FIELDS = ("key", "title", "description", "pass_level", "standards")
STANDARD_FIELDS = ("key", "title", "description", "indicators", "evidence", "rubric")
EVIDENCE_FIELDS = ("kinds", "least", "most", "words")


@dataclass(frozen=True)
class Level:
    value: int
    label: dict[str, str]
    description: dict[str, str]


@dataclass(frozen=True)
class Indicator:
    key: str
    text: dict[str, str]


@dataclass(frozen=True)
class EvidenceRule:
    kinds: tuple[str, ...]
    least: int
    most: int
    words: int


@dataclass(frozen=True)
class Standard:
    key: str
    title: dict[str, str]
    description: dict[str, str]
    indicators: tuple[Indicator, ...]
    evidence: EvidenceRule
    rubric: dict[int, dict[str, str]]


@dataclass(frozen=True)
class Role:
    key: str
    title: dict[str, str]
    description: dict[str, str]
    standards: tuple[Standard, ...]
    pass_level: int


@dataclass(frozen=True)
class Framework:
    key: str
    version: str
    title: dict[str, str]
    levels: tuple[Level, ...]
    roles: tuple[Role, ...]

    @property
    def ref(self) -> str:
        return f"{self.key}@{self.version}"

    def role(self, key: str) -> Role | None:
        return next((r for r in self.roles if r.key == key), None)

    def standard(self, role_key: str, standard_key: str) -> Standard | None:
        role = self.role(role_key)
        return next((s for s in role.standards if s.key == standard_key), None) if role else None


class StandardsFileError(ValueError):
    def __init__(self, lines: list[str]):
        self.lines = lines
        super().__init__("\n".join(lines))


def text(value: Mapping[str, str] | None, locale: str) -> str:
    """The text in the reader's language, else English."""
    if not value:
        return ""
    return value.get(locale) or value.get("en") or next(iter(value.values()), "")


def _unknown(ctx: yamlbank.Context, data: Mapping, allowed: tuple[str, ...], path: str) -> None:
    for name in data:
        if name not in allowed:
            ctx.error(data, name, f"{path}{name}", f"unknown field (expected one of: {', '.join(allowed)})")


def _list(ctx: yamlbank.Context, data: Mapping, name: str, path: str, least: int, most: int, noun: str) -> list:
    value = data.get(name)
    if not isinstance(value, list):
        ctx.error(data, name, f"{path}{name}", f"is required: a list of {least} to {most} {noun}")
        return []
    if not least <= len(value) <= most:
        ctx.error(data, name, f"{path}{name}", f"has {len(value)} {noun}; write {least} to {most}")
    return value


def _number(ctx: yamlbank.Context, data: Mapping, name: str, path: str, least: int, most: int) -> int | None:
    value = data.get(name)
    if value is None:
        ctx.error(data, name, f"{path}{name}", f"is required: a whole number from {least} to {most}")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        ctx.error(data, name, f"{path}{name}", f"must be a whole number from {least} to {most}, "
                                               f"not {yamlbank.show(value)}")
        return None
    if not least <= value <= most:
        ctx.error(data, name, f"{path}{name}", f"{value} is out of range: from {least} to {most}")
        return None
    return value


def _levels(ctx: yamlbank.Context, data: Mapping) -> tuple[Level, ...]:
    raw = _list(ctx, data, "levels", "", 3, 6, "levels")
    levels = []
    for n, item in enumerate(raw):
        path = f"levels[{n + 1}]."
        if not isinstance(item, Mapping):
            ctx.error(raw, n, f"levels[{n + 1}]", "must be a mapping (value, label, description)")
            continue
        _unknown(ctx, item, ("value", "label", "description"), path)
        value = _number(ctx, item, "value", path, 1, 6)
        if value is not None and value != n + 1:
            ctx.error(item, "value", f"{path}value", f"is {value}; the levels are numbered 1, 2, 3… in order")
        levels.append(Level(value or n + 1, yamlbank.language_map(ctx, item, "label", f"{path}label"),
                            yamlbank.language_map(ctx, item, "description", f"{path}description")))
    return tuple(levels)


def _evidence(ctx: yamlbank.Context, data: Mapping, path: str) -> EvidenceRule:
    raw = data.get("evidence")
    path = f"{path}evidence"
    if not isinstance(raw, Mapping):
        ctx.error(data, "evidence", path, "is required: a mapping (kinds, least, most, words)")
        return EvidenceRule((), 0, 0, 0)
    _unknown(ctx, raw, EVIDENCE_FIELDS, f"{path}.")
    kinds_raw = raw.get("kinds")
    kinds: list[str] = []
    if not isinstance(kinds_raw, list) or not kinds_raw:
        ctx.error(raw, "kinds", f"{path}.kinds", "is required: a list of " + ", ".join(EVIDENCE_KINDS))
    else:
        for n, kind in enumerate(kinds_raw):
            if kind not in EVIDENCE_KINDS:
                ctx.error(kinds_raw, n, f"{path}.kinds[{n + 1}]",
                          f"{yamlbank.show(kind)} is not one of: {', '.join(EVIDENCE_KINDS)}")
            elif kind in kinds:
                ctx.error(kinds_raw, n, f"{path}.kinds[{n + 1}]", f"{kind!r} is listed twice")
            else:
                kinds.append(kind)
    least = _number(ctx, raw, "least", f"{path}.", LEAST_PIECES, 6)
    most = _number(ctx, raw, "most", f"{path}.", LEAST_PIECES, MOST_PIECES)
    words = _number(ctx, raw, "words", f"{path}.", LEAST_WORDS, MOST_WORDS)
    if least is not None and most is not None and least > most:
        ctx.error(raw, "most", f"{path}.most", f"is {most}, fewer than least ({least})")
    return EvidenceRule(tuple(kinds), least or 0, most or 0, words or 0)


def _rubric(ctx: yamlbank.Context, data: Mapping, path: str, levels: tuple[Level, ...]) -> dict[int, dict[str, str]]:
    raw = data.get("rubric")
    path = f"{path}rubric"
    values = [lv.value for lv in levels]
    if not isinstance(raw, Mapping):
        ctx.error(data, "rubric", path, f"is required: what each level ({', '.join(map(str, values))}) looks like")
        return {}
    rubric = {}
    for level, _text in raw.items():
        if isinstance(level, bool) or level not in values:
            ctx.error(raw, level, f"{path}.{level}", f"{yamlbank.show(level)} is not a level of the scale "
                                                     f"({', '.join(map(str, values))})")
            continue
        rubric[level] = yamlbank.language_map(ctx, raw, level, f"{path}.{level}")
    missing = [str(v) for v in values if v not in raw]
    if missing:
        ctx.error(data, "rubric", path, f"missing level {', '.join(missing)}")
    return rubric


def _indicators(ctx: yamlbank.Context, data: Mapping, path: str) -> tuple[Indicator, ...]:
    raw = _list(ctx, data, "indicators", path, LEAST_INDICATORS, MOST_INDICATORS, "indicators")
    found, seen = [], set()
    for n, item in enumerate(raw):
        where = f"{path}indicators[{n + 1}]"
        if not isinstance(item, Mapping):
            ctx.error(raw, n, where, "must be a mapping (key, text)")
            continue
        _unknown(ctx, item, ("key", "text"), f"{where}.")
        key = item.get("key")
        if not isinstance(key, str) or not _INDICATOR_KEY.match(key):
            ctx.error(item, "key", f"{where}.key", f"must be like 1.2, not {yamlbank.show(key)}")
        elif key in seen:
            ctx.error(item, "key", f"{where}.key", f"{key!r} is listed twice")
        else:
            seen.add(key)
        found.append(Indicator(str(key), yamlbank.language_map(ctx, item, "text", f"{where}.text")))
    return tuple(found)


def _standard(ctx: yamlbank.Context, raw: Any, holder: list, n: int, levels: tuple[Level, ...]) -> Standard | None:
    path = f"standards[{n + 1}]."
    if not isinstance(raw, Mapping):
        ctx.error(holder, n, f"standards[{n + 1}]", "must be a mapping (" + ", ".join(STANDARD_FIELDS) + ")")
        return None
    before = len(ctx.problems)
    _unknown(ctx, raw, STANDARD_FIELDS, path)
    key = raw.get("key")
    if not isinstance(key, str) or not _STANDARD_KEY.match(key):
        ctx.error(raw, "key", f"{path}key", f"must be like CO-1 (capitals, a hyphen, a number), not "
                                            f"{yamlbank.show(key)}")
    found = Standard(str(key), yamlbank.language_map(ctx, raw, "title", f"{path}title"),
                     yamlbank.language_map(ctx, raw, "description", f"{path}description"),
                     _indicators(ctx, raw, path), _evidence(ctx, raw, path), _rubric(ctx, raw, path, levels))
    return found if len(ctx.problems) == before else None


def _role(ctx: yamlbank.Context, raw: Any, holder: list, n: int, levels: tuple[Level, ...],
          standard_keys: dict[str, int | None]) -> Role | None:
    ctx.where = f"role #{n + 1}"
    if not isinstance(raw, Mapping):
        ctx.error(holder, n, None, "must be a mapping (" + ", ".join(ROLE_FIELDS) + ")")
        return None
    before = len(ctx.problems)
    key = raw.get("key")
    if key not in ROLE_KEYS:
        ctx.error(raw, "key", "key", f"{yamlbank.show(key)} is not one of: {', '.join(ROLE_KEYS)}")
    else:
        ctx.where = f"role {key!r}"
    _unknown(ctx, raw, ROLE_FIELDS, "")
    pass_level = _number(ctx, raw, "pass_level", "", 1, max(len(levels), 1))
    standards = []
    listed = _list(ctx, raw, "standards", "", LEAST_STANDARDS, MOST_STANDARDS, "standards")
    for m, item in enumerate(listed):
        found = _standard(ctx, item, listed, m, levels)
        skey = item.get("key") if isinstance(item, Mapping) else None
        if isinstance(skey, str) and skey in standard_keys:
            ctx.error(item, "key", f"standards[{m + 1}].key",
                      f"{skey!r} is already the key of the standard on line {standard_keys[skey]}")
            continue
        if isinstance(skey, str):
            standard_keys[skey] = yamlbank.line_of(item)
        if found is not None:
            standards.append(found)
    role = Role(str(key), yamlbank.language_map(ctx, raw, "title"), yamlbank.language_map(ctx, raw, "description"),
                tuple(standards), pass_level or 0)
    return role if len(ctx.problems) == before else None


def read(name: str, source: str | bytes) -> Framework:
    """The framework of one file, or StandardsFileError listing every problem."""
    problems = yamlbank.Problems(name)
    try:
        doc = yamlbank.load(name, source)
    except yamlbank.Unreadable as exc:
        raise StandardsFileError([exc.message]) from None
    problems.duplicates(doc)
    data = doc.data
    if not isinstance(data, Mapping):
        problems.add(yamlbank.line_of(data), "must be a mapping (" + ", ".join(FILE_FIELDS) + ")")
        raise StandardsFileError(problems.lines)
    ctx = yamlbank.Context(problems, yamlbank.LANGUAGES)
    _unknown(ctx, data, FILE_FIELDS, "")
    key = yamlbank.key(ctx, data)
    version = data.get("version")
    if isinstance(version, int) and not isinstance(version, bool):
        version = str(version)
    if not isinstance(version, str) or not _VERSION.match(version):
        ctx.error(data, "version", "version", f"is required: letters, digits, dots or hyphens, not "
                                              f"{yamlbank.show(data.get('version'))}")
    title = yamlbank.language_map(ctx, data, "title")
    levels = _levels(ctx, data)
    roles, seen, standard_keys = [], {}, {}
    listed = _list(ctx, data, "roles", "", 1, len(ROLE_KEYS), "roles")
    for n, raw in enumerate(listed):
        role = _role(ctx, raw, listed, n, levels, standard_keys)
        rkey = raw.get("key") if isinstance(raw, Mapping) else None
        if isinstance(rkey, str) and rkey in seen:
            ctx.error(raw, "key", "key", f"{rkey!r} is already the key of the role on line {seen[rkey]}")
            continue
        if isinstance(rkey, str):
            seen[rkey] = yamlbank.line_of(raw)
        if role is not None:
            roles.append(role)
    if problems:
        raise StandardsFileError(problems.lines)
    return Framework(key, str(version), title, levels, tuple(roles))


def load_framework(path: Path | str) -> Framework:
    path = Path(path)
    return read(path.name, path.read_bytes())


def frameworks(folder: Path | None = None) -> dict[str, Framework]:
    """Every version in the folder (default: the ones shipped), by ref; a ref given twice is an error."""
    if folder is None:
        return _shipped()
    return _read_folder(folder)


def _read_folder(folder: Path) -> dict[str, Framework]:
    found: dict[str, Framework] = {}
    where: dict[str, str] = {}
    problems: list[str] = []
    for path in sorted(Path(folder).glob("*.yaml")):
        try:
            framework = load_framework(path)
        except StandardsFileError as exc:
            problems.extend(exc.lines)
            continue
        if framework.ref in found:
            problems.append(f"{path.name}: {framework.ref} is also the version in {where[framework.ref]}")
            continue
        found[framework.ref], where[framework.ref] = framework, path.name
    if problems:
        raise StandardsFileError(problems)
    return found


@cache
def _shipped() -> dict[str, Framework]:
    return _read_folder(FOLDER)


def framework(ref: str) -> Framework | None:
    return _shipped().get(ref)


def current(key: str = "leaders") -> Framework:
    """The newest version of the framework (versions compared as numbers where they are numbers)."""
    versions = [f for f in _shipped().values() if f.key == key]
    if not versions:
        raise LookupError(f"no standards framework {key!r} in {FOLDER}")

    def order(f: Framework) -> tuple:
        return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"[.-]", f.version))

    return max(versions, key=order)
