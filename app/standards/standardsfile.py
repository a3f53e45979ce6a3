"""Reading the standards for teacher leaders (app/standards/frameworks/*.yaml), validated in full before anything
uses them, each problem named by file, line and field:

    leaders-2027.yaml:88: role 'instructional_coach': standards[2].evidence.least: 9 is out of range: from 1 to 6

A file is one version of one framework (`key`, `version`): its rubric scale (`levels`, numbered 1..N, each a label
and what work at that level looks like in general), and its roles, each with 3 to 6 standards and the level every
standard must reach to certify (`pass_level`). A standard has 2 to 6 indicators, the evidence it asks for (which
kinds, how many pieces, the word limit of the candidate's commentary on each) and, for each level of the scale,
what a portfolio at that level shows for this standard. Every text is a language map {en, he, ar}, all three
required:

    key: leaders
    version: "2027"
    title: {en: ..., he: ..., ar: ...}
    levels:
      - {value: 1, label: {en: ..., he: ..., ar: ...}, description: {en: ..., he: ..., ar: ...}}
      ...
    roles:
      - key: instructional_coach
        title: ...
        description: ...
        pass_level: 3
        standards:
          - key: CO-1
            title: ...
            description: ...
            indicators:
              - {key: "1.1", text: ...}
            evidence: {kinds: [cycle, clip], least: 2, most: 5, words: 400}
            rubric: {1: ..., 2: ..., 3: ..., 4: ...}

Standard keys are unique in the whole framework, indicator keys within their standard. The data is read as YAML
1.1 (app.yamlbank), so a text that is `yes`, `no`, `on` or `off` must be quoted, and so must an indicator key
("1.2", which unquoted is a number).

Cohorts, portfolios and certificates name the version they were made under by its ref ("leaders@2027"), so a
newer version is added as a file beside the old one, never written over it; two files with one ref are an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from app import yamlbank

FOLDER = Path(__file__).resolve().parent / "frameworks"
EVIDENCE_KINDS = ("clip", "cycle", "meeting", "attempt")
ROLE_KEYS = ("department_head", "instructional_coach", "community_facilitator", "new_teacher_mentor")
LEAST_LEVELS, MOST_LEVELS = 3, 6
LEAST_STANDARDS, MOST_STANDARDS = 3, 6
LEAST_INDICATORS, MOST_INDICATORS = 2, 6
LEAST_PIECES, MOST_LEAST, MOST_PIECES = 1, 6, 8  # least: 1..6 pieces; most: least..8
LEAST_WORDS, MOST_WORDS = 50, 800
FILE_FIELDS = ("key", "version", "title", "levels", "roles")
LEVEL_FIELDS = ("value", "label", "description")
ROLE_FIELDS = ("key", "title", "description", "pass_level", "standards")
STANDARD_FIELDS = ("key", "title", "description", "indicators", "evidence", "rubric")
INDICATOR_FIELDS = ("key", "text")
EVIDENCE_FIELDS = ("kinds", "least", "most", "words")
_STANDARD_KEY = re.compile(r"^[A-Z]{2,4}-[0-9]{1,2}$")
_INDICATOR_KEY = re.compile(r"^[0-9]{1,2}\.[0-9]{1,2}$")
_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.-]{0,19}$")


@dataclass(frozen=True)
class Level:
    """One step of the rubric scale: its number (1..N), its name and what work at that level looks like."""

    value: int
    label: dict[str, str]
    description: dict[str, str]


@dataclass(frozen=True)
class Indicator:
    key: str
    text: dict[str, str]


@dataclass(frozen=True)
class EvidenceRule:
    """What a portfolio holds for one standard: pieces of these kinds, least..most of them, each with a commentary
    of at most `words` words."""

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
    rubric: dict[int, dict[str, str]]  # level value -> what a portfolio at that level shows for this standard


@dataclass(frozen=True)
class Role:
    key: str
    title: dict[str, str]
    description: dict[str, str]
    standards: tuple[Standard, ...]
    pass_level: int  # the level each standard must reach to certify


@dataclass(frozen=True)
class Framework:
    key: str
    version: str
    title: dict[str, str]
    levels: tuple[Level, ...]
    roles: tuple[Role, ...]

    @property
    def ref(self) -> str:
        """How cohorts, portfolios and certificates name this version: "leaders@2027"."""
        return f"{self.key}@{self.version}"

    def role(self, key: str) -> Role | None:
        return next((r for r in self.roles if r.key == key), None)

    def standard(self, role_key: str, standard_key: str) -> Standard | None:
        role = self.role(role_key)
        return next((s for s in role.standards if s.key == standard_key), None) if role else None


class StandardsFileError(ValueError):
    """Every problem of a standards file (or folder), each line "file:line: where: field: message"."""

    def __init__(self, lines: list[str]):
        self.lines = lines
        super().__init__("\n".join(lines))


def text(value: Mapping[str, str] | None, locale: str) -> str:
    """The text in the reader's language, else English."""
    if not value:
        return ""
    return value.get(locale) or value.get("en") or next(iter(value.values()), "")


# ---------------------------------------------------------------------------------------------------- the parts


def _unknown(ctx: yamlbank.Context, data: Mapping, allowed: tuple[str, ...], path: str) -> None:
    for name in data:
        if name not in allowed:
            ctx.error(data, name, f"{path}{name}", f"unknown field (expected one of: {', '.join(allowed)})")


def _mapping(ctx: yamlbank.Context, data: Mapping, name: str, path: str, shape: str) -> Mapping | None:
    value = data.get(name)
    if isinstance(value, Mapping):
        return value
    ctx.error(data, name, f"{path}{name}", f"is required: {shape}" if value is None
              else f"must be {shape}, not {yamlbank.show(value)}")
    return None


def _list(ctx: yamlbank.Context, data: Mapping, name: str, path: str, least: int, most: int, noun: str) -> list:
    value = data.get(name)
    if not isinstance(value, list):
        ctx.error(data, name, f"{path}{name}", f"is required: a list of {least} to {most} {noun}" if value is None
                  else f"must be a list of {least} to {most} {noun}, not {yamlbank.show(value)}")
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
        ctx.error(data, name, f"{path}{name}",
                  f"must be a whole number from {least} to {most}, not {yamlbank.show(value)}")
        return None
    if not least <= value <= most:
        ctx.error(data, name, f"{path}{name}", f"{value} is out of range: from {least} to {most}")
        return None
    return value


def _texts(ctx: yamlbank.Context, data: Mapping, name: str, path: str = "") -> dict[str, str]:
    return yamlbank.language_map(ctx, data, name, f"{path}{name}")


def _levels(ctx: yamlbank.Context, data: Mapping) -> tuple[tuple[Level, ...], tuple[int, ...]]:
    """The scale, and its level values when they are in order (1..N); () when they are not, so that rubrics and
    pass levels are not measured against a broken scale."""
    listed = _list(ctx, data, "levels", "", LEAST_LEVELS, MOST_LEVELS, "levels")
    levels, in_order = [], bool(listed)
    for n, item in enumerate(listed):
        path = f"levels[{n + 1}]"
        if not isinstance(item, Mapping):
            ctx.error(listed, n, path, "must be a mapping (" + ", ".join(LEVEL_FIELDS) + ")")
            in_order = False
            continue
        _unknown(ctx, item, LEVEL_FIELDS, f"{path}.")
        value = item.get("value")
        if value is None:
            ctx.error(item, "value", f"{path}.value", f"is required: {n + 1} (the levels are numbered 1, 2, 3…)")
            in_order = False
        elif isinstance(value, bool) or not isinstance(value, int) or value != n + 1:
            ctx.error(item, "value", f"{path}.value",
                      f"is {yamlbank.show(value)}; the levels are numbered 1, 2, 3… in order, so this one is {n + 1}")
            in_order = False
        levels.append(Level(n + 1, _texts(ctx, item, "label", f"{path}."),
                            _texts(ctx, item, "description", f"{path}.")))
    in_order = in_order and LEAST_LEVELS <= len(listed) <= MOST_LEVELS
    return tuple(levels), tuple(range(1, len(levels) + 1)) if in_order else ()


def _evidence(ctx: yamlbank.Context, data: Mapping, path: str) -> EvidenceRule:
    raw = _mapping(ctx, data, "evidence", path, "a mapping (kinds, least, most, words)")
    path = f"{path}evidence"
    if raw is None:
        return EvidenceRule((), 0, 0, 0)
    _unknown(ctx, raw, EVIDENCE_FIELDS, f"{path}.")
    listed = raw.get("kinds")
    kinds: list[str] = []
    if not isinstance(listed, list) or not listed:
        ctx.error(raw, "kinds", f"{path}.kinds", "is required: a list of some of: " + ", ".join(EVIDENCE_KINDS))
    else:
        for n, kind in enumerate(listed):
            if kind not in EVIDENCE_KINDS:
                ctx.error(listed, n, f"{path}.kinds[{n + 1}]",
                          f"{yamlbank.show(kind)} is not one of: {', '.join(EVIDENCE_KINDS)}")
            elif kind in kinds:
                ctx.error(listed, n, f"{path}.kinds[{n + 1}]", f"{kind!r} is listed twice")
            else:
                kinds.append(kind)
    least = _number(ctx, raw, "least", f"{path}.", LEAST_PIECES, MOST_LEAST)
    most = _number(ctx, raw, "most", f"{path}.", LEAST_PIECES, MOST_PIECES)
    words = _number(ctx, raw, "words", f"{path}.", LEAST_WORDS, MOST_WORDS)
    if least is not None and most is not None and least > most:
        ctx.error(raw, "most", f"{path}.most", f"is {most}, fewer than least ({least})")
    return EvidenceRule(tuple(kinds), least or 0, most or 0, words or 0)


def _rubric(ctx: yamlbank.Context, data: Mapping, path: str, scale: tuple[int, ...]) -> dict[int, dict[str, str]]:
    shown = ", ".join(map(str, scale)) or "1, 2, 3…"
    raw = _mapping(ctx, data, "rubric", path, f"a mapping of what each level ({shown}) looks like for this standard")
    path = f"{path}rubric"
    if raw is None:
        return {}
    rubric = {}
    for level in raw:
        if type(level) is not int or (scale and level not in scale):
            hint = " (write the level as a number, unquoted)" if isinstance(level, str) and level.isdigit() else ""
            ctx.error(raw, level, f"{path}.{level}",
                      f"{yamlbank.show(level)} is not a level of the scale ({shown}){hint}")
            continue
        rubric[level] = yamlbank.language_map(ctx, raw, level, f"{path}.{level}")
    missing = [str(v) for v in scale if v not in raw]
    if missing:
        ctx.error(data, "rubric", path, f"missing level {', '.join(missing)}")
    return rubric


def _indicators(ctx: yamlbank.Context, data: Mapping, path: str) -> tuple[Indicator, ...]:
    listed = _list(ctx, data, "indicators", path, LEAST_INDICATORS, MOST_INDICATORS, "indicators")
    found: list[Indicator] = []
    seen: dict[str, int | None] = {}
    for n, item in enumerate(listed):
        where = f"{path}indicators[{n + 1}]"
        if not isinstance(item, Mapping):
            ctx.error(listed, n, where, "must be a mapping (key, text)")
            continue
        _unknown(ctx, item, INDICATOR_FIELDS, f"{where}.")
        key = item.get("key")
        if isinstance(key, float):
            ctx.error(item, "key", f"{where}.key", f"write it in quotes, \"{key}\" (unquoted, YAML reads a number)")
        elif not isinstance(key, str) or not _INDICATOR_KEY.match(key):
            ctx.error(item, "key", f"{where}.key", "is required: a key like \"1.2\"" if key is None
                      else f"must be like \"1.2\", not {yamlbank.show(key)}")
        elif key in seen:
            ctx.error(item, "key", f"{where}.key", f"{key!r} is already the key of the indicator on line {seen[key]}")
        else:
            seen[key] = yamlbank.line_of(item, "key")
        found.append(Indicator(str(key), _texts(ctx, item, "text", f"{where}.")))
    return tuple(found)


def _standard(ctx: yamlbank.Context, listed: list, n: int, scale: tuple[int, ...]) -> Standard | None:
    raw = listed[n]
    path = f"standards[{n + 1}]."
    if not isinstance(raw, Mapping):
        ctx.error(listed, n, f"standards[{n + 1}]", "must be a mapping (" + ", ".join(STANDARD_FIELDS) + ")")
        return None
    before = len(ctx.problems)
    _unknown(ctx, raw, STANDARD_FIELDS, path)
    key = raw.get("key")
    if not isinstance(key, str) or not _STANDARD_KEY.match(key):
        ctx.error(raw, "key", f"{path}key", "is required: a key like CO-1 (capitals, a hyphen, a number)"
                  if key is None else f"must be like CO-1 (capitals, a hyphen, a number), not {yamlbank.show(key)}")
    found = Standard(str(key), _texts(ctx, raw, "title", path), _texts(ctx, raw, "description", path),
                     _indicators(ctx, raw, path), _evidence(ctx, raw, path), _rubric(ctx, raw, path, scale))
    return found if len(ctx.problems) == before else None


def _pass_level(ctx: yamlbank.Context, raw: Mapping, scale: tuple[int, ...]) -> int | None:
    value = raw.get("pass_level")
    shown = ", ".join(map(str, scale)) or "1, 2, 3…"
    if value is None:
        ctx.error(raw, "pass_level", "pass_level", f"is required: the level ({shown}) each standard must reach")
    elif isinstance(value, bool) or not isinstance(value, int):
        ctx.error(raw, "pass_level", "pass_level",
                  f"must be a level of the scale ({shown}), not {yamlbank.show(value)}")
    elif (scale and value not in scale) or not 1 <= value <= MOST_LEVELS:
        ctx.error(raw, "pass_level", "pass_level", f"{value} is not a level of the scale ({shown})")
    else:
        return value
    return None


def _role(ctx: yamlbank.Context, listed: list, n: int, scale: tuple[int, ...],
          standard_keys: dict[str, int | None]) -> Role | None:
    raw = listed[n]
    ctx.where = f"role #{n + 1}"
    if not isinstance(raw, Mapping):
        ctx.error(listed, n, None, "must be a mapping (" + ", ".join(ROLE_FIELDS) + ")")
        return None
    before = len(ctx.problems)
    key = raw.get("key")
    if key not in ROLE_KEYS:
        ctx.error(raw, "key", "key", ("is required: one of: " if key is None
                                      else f"{yamlbank.show(key)} is not one of: ") + ", ".join(ROLE_KEYS))
    else:
        ctx.where = f"role {key!r}"
    _unknown(ctx, raw, ROLE_FIELDS, "")
    pass_level = _pass_level(ctx, raw, scale)
    standards = []
    listed_standards = _list(ctx, raw, "standards", "", LEAST_STANDARDS, MOST_STANDARDS, "standards")
    for m, item in enumerate(listed_standards):
        found = _standard(ctx, listed_standards, m, scale)
        skey = item.get("key") if isinstance(item, Mapping) else None
        if isinstance(skey, str) and skey in standard_keys:
            ctx.error(item, "key", f"standards[{m + 1}].key",
                      f"{skey!r} is already the key of the standard on line {standard_keys[skey]}")
            continue
        if isinstance(skey, str):
            standard_keys[skey] = yamlbank.line_of(item, "key")
        if found is not None:
            standards.append(found)
    role = Role(str(key), _texts(ctx, raw, "title"), _texts(ctx, raw, "description"), tuple(standards),
                pass_level or 0)
    return role if len(ctx.problems) == before else None


def _version(ctx: yamlbank.Context, data: Mapping) -> str:
    version = data.get("version")
    if isinstance(version, int) and not isinstance(version, bool):
        version = str(version)  # version: 2027
    if isinstance(version, str) and _VERSION.match(version):
        return version
    ctx.error(data, "version", "version", "is required: text such as \"2027\"" if version is None
              else f"must be text such as \"2027\" (letters, digits, dots, hyphens; in quotes), "
                   f"not {yamlbank.show(version)}")
    return ""


# ---------------------------------------------------------------------------------------------------- reading


def _read(name: str, source: str | bytes) -> tuple[Framework, int | None]:
    problems = yamlbank.Problems(name)
    try:
        doc = yamlbank.load(name, source)
    except yamlbank.Unreadable as exc:
        raise StandardsFileError([exc.message]) from None
    problems.duplicates(doc)
    data = doc.data
    if not isinstance(data, Mapping):
        problems.add(yamlbank.line_of(data), f"the file must be a mapping ({', '.join(FILE_FIELDS)}), "
                                             f"not {yamlbank.show(data)}")
        raise StandardsFileError(problems.lines)
    ctx = yamlbank.Context(problems, yamlbank.LANGUAGES)
    _unknown(ctx, data, FILE_FIELDS, "")
    key = yamlbank.key(ctx, data)
    version = _version(ctx, data)
    title = _texts(ctx, data, "title")
    levels, scale = _levels(ctx, data)
    roles: list[Role] = []
    seen: dict[str, int | None] = {}
    standard_keys: dict[str, int | None] = {}
    listed = _list(ctx, data, "roles", "", 1, len(ROLE_KEYS), "roles")
    for n, raw in enumerate(listed):
        role = _role(ctx, listed, n, scale, standard_keys)
        rkey = raw.get("key") if isinstance(raw, Mapping) else None
        if isinstance(rkey, str) and rkey in seen:
            ctx.error(raw, "key", "key", f"{rkey!r} is already the key of the role on line {seen[rkey]}")
            continue
        if isinstance(rkey, str):
            seen[rkey] = yamlbank.line_of(raw, "key")
        if role is not None:
            roles.append(role)
    if problems:
        raise StandardsFileError(problems.lines)
    return Framework(key, version, title, levels, tuple(roles)), yamlbank.line_of(data, "version")


def read(name: str, source: str | bytes) -> Framework:
    """The framework of one file (`name` starts every message), or StandardsFileError listing every problem."""
    return _read(name, source)[0]


def load_framework(path: Path | str) -> Framework:
    """The framework of the file at `path`, or StandardsFileError listing every problem."""
    path = Path(path)
    try:
        source = path.read_bytes()
    except OSError as exc:
        raise StandardsFileError([f"{path.name}: cannot be read ({exc.strerror or exc})"]) from None
    return read(path.name, source)


def _read_folder(folder: Path) -> dict[str, Framework]:
    found: dict[str, Framework] = {}
    where: dict[str, str] = {}
    problems: list[str] = []
    for path in sorted(Path(folder).glob("*.yaml")):
        try:
            framework, line = _read(path.name, path.read_bytes())
        except StandardsFileError as exc:
            problems.extend(exc.lines)
            continue
        if framework.ref in found:
            problems.append(f"{path.name}:{line}: version: {framework.ref} is already the version in "
                            f"{where[framework.ref]} (a new version needs a new version number)")
            continue
        found[framework.ref], where[framework.ref] = framework, path.name
    if problems:
        raise StandardsFileError(problems)
    return found


@cache
def _shipped() -> dict[str, Framework]:
    return _read_folder(FOLDER)


def frameworks(folder: Path | str | None = None) -> dict[str, Framework]:
    """Every version in `folder` (default: the ones shipped in app/standards/frameworks/, read once), by ref; a
    ref given by two files is an error."""
    if folder is None:
        return dict(_shipped())
    return _read_folder(Path(folder))


def framework(ref: str) -> Framework | None:
    """The shipped version named by `ref` ("leaders@2027"), or None."""
    return _shipped().get(ref)


def _order(version: str) -> tuple:
    # "2027" < "2027.1" < "2028"; numbers compare as numbers, other parts after them as text
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"[.-]", version))


def current(key: str = "leaders") -> Framework:
    """The newest shipped version of the framework `key`; LookupError when there is none."""
    versions = [f for f in _shipped().values() if f.key == key]
    if not versions:
        raise LookupError(f"no standards framework {key!r} in {FOLDER}")
    return max(versions, key=lambda f: _order(f.version))
