"""Reading the progress indicators of goals (app/goals/indicators/*.yaml), validated in full before anything uses
them, each problem named by file, line and field:

    indicators-2027.yaml:41: indicators[3].range: 120 is more than 100 (a percent is from 0 to 100)

A file is one version of the catalogue (`key: indicators`, `version`): what each indicator counts and over whom, its
unit, which way is better, the values it may take, the grades a value is given for, and where the values come from
(a school system's CSV, or computed from ClassLab's own data). Every text is a language map {en, he, ar}, all three
required:

    key: indicators
    version: "2027"
    title: {en: ..., he: ..., ar: ...}
    indicators:
      - key: math5_share
        title: {en: ..., he: ..., ar: ...}
        definition: {en: ..., he: ..., ar: ...}
        unit: percent          # percent | count | score
        direction: up          # up (higher is better) | down
        range: [0, 100]        # the least and the most a value may be
        grades: [10, 11, 12]   # some of 7..12
        source: imported       # imported | computed
        measure: share         # share | count | mean
        computed: ...          # only for source: computed, one of COMPUTED

How a value is kept and added up over schools, networks and cities follows `measure`: a `share` is a number of
students out of a number of students, shown as a percent (roll-ups add both); a `count` is a number per school
(roll-ups add them); a `mean` is a value with the number of students it is the mean of (roll-ups weight by it).
So a percent is a share or a mean from 0 to 100, a share is always a percent, and a count is a count of at least 0.

Values name an indicator by its key, so a key once shipped keeps its meaning; a new version is added as a file
beside the old one ("indicators@2028"), never written over it. The data is read as YAML 1.1 (app.yamlbank): a text
that is `yes`, `no`, `on` or `off` must be quoted.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from app import yamlbank

FOLDER = Path(__file__).resolve().parent / "indicators"
KEY = "indicators"
UNITS = ("percent", "count", "score")
MEASURES = ("share", "count", "mean")
DIRECTIONS = ("up", "down")
SOURCES = ("imported", "computed")
COMPUTED = ("diagnostic_mastery", "coaching_cycles_closed", "plc_meetings_held")
#: What ClassLab computes for each computed indicator: the share of students free of a misconception, and counts.
COMPUTED_MEASURES = {"diagnostic_mastery": "share", "coaching_cycles_closed": "count", "plc_meetings_held": "count"}
GRADES = (7, 8, 9, 10, 11, 12)
LEAST_INDICATORS, MOST_INDICATORS = 6, 40
FILE_FIELDS = ("key", "version", "title", "indicators")
INDICATOR_FIELDS = ("key", "title", "definition", "unit", "direction", "range", "grades", "source", "measure",
                    "computed")
_INDICATOR_KEY = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.-]{0,19}$")


@dataclass(frozen=True)
class Indicator:
    key: str
    title: dict[str, str]
    definition: dict[str, str]  # what is counted, over whom
    unit: str  # percent | count | score
    direction: str  # up (higher is better) | down
    least: float
    most: float
    grades: tuple[int, ...]  # ascending, some of 7..12
    source: str  # imported | computed
    measure: str  # share | count | mean
    computed: str | None  # one of COMPUTED for source computed, else None

    def within(self, value: float) -> bool:
        """Whether `value` is one this indicator may take (its range, bounds included; never NaN or infinite)."""
        try:
            number = float(value)
        except (TypeError, ValueError):
            return False
        return math.isfinite(number) and self.least <= number <= self.most


@dataclass(frozen=True)
class Catalogue:
    key: str
    version: str
    title: dict[str, str]
    indicators: tuple[Indicator, ...]

    @property
    def ref(self) -> str:
        """How this version is named: "indicators@2027"."""
        return f"{self.key}@{self.version}"

    def get(self, key: str) -> Indicator | None:
        return next((i for i in self.indicators if i.key == key), None)


class IndicatorsFileError(ValueError):
    """Every problem of an indicators file (or folder), each line "file:line: field: message"."""

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


def _choice(ctx: yamlbank.Context, data: Mapping, name: str, path: str, choices: tuple[str, ...]) -> str | None:
    value = data.get(name)
    if isinstance(value, str) and value in choices:
        return value
    ctx.error(data, name, f"{path}{name}", ("is required: one of: " if value is None
                                            else f"{yamlbank.show(value)} is not one of: ") + ", ".join(choices))
    return None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _range(ctx: yamlbank.Context, data: Mapping, path: str) -> tuple[float, float] | None:
    value = data.get("range")
    path = f"{path}range"
    shape = "[least, most], two numbers, such as [0, 100]"
    if not isinstance(value, list) or len(value) != 2:
        ctx.error(data, "range", path, f"is required: {shape}" if value is None
                  else f"must be {shape}, not {yamlbank.show(value)}")
        return None
    good = True
    for n, bound in enumerate(value):
        if not _is_number(bound):
            ctx.error(value, n, f"{path}[{n + 1}]", f"must be a number, not {yamlbank.show(bound)}")
            good = False
    if not good:
        return None
    least, most = float(value[0]), float(value[1])
    if least >= most:
        ctx.error(data, "range", path, f"the least ({value[0]}) must be less than the most ({value[1]})")
        return None
    return least, most


def _grades(ctx: yamlbank.Context, data: Mapping, path: str) -> tuple[int, ...]:
    value = data.get("grades")
    path = f"{path}grades"
    shape = "a list of some of the grades 7 to 12, such as [10, 11, 12]"
    if not isinstance(value, list) or not value:
        ctx.error(data, "grades", path, f"is required: {shape}" if value is None
                  else f"must be {shape}, not {yamlbank.show(value)}")
        return ()
    found: list[int] = []
    for n, grade in enumerate(value):
        if isinstance(grade, bool) or not isinstance(grade, int) or grade not in GRADES:
            ctx.error(value, n, f"{path}[{n + 1}]", f"{yamlbank.show(grade)} is not a grade from 7 to 12")
        elif grade in found:
            ctx.error(value, n, f"{path}[{n + 1}]", f"{grade} is listed twice")
        else:
            found.append(grade)
    return tuple(sorted(found))


def _computed(ctx: yamlbank.Context, item: Mapping, path: str, source: str | None,
              computed_by: dict[str, int | None]) -> str | None:
    value = item.get("computed")  # `computed: null` is the same as no field
    if source == "imported" and value is not None:
        ctx.error(item, "computed", f"{path}computed", "is only for source: computed (leave it out of an imported "
                                                       "indicator)")
        return None
    if source != "computed":
        return None
    if value not in COMPUTED:
        ctx.error(item, "computed", f"{path}computed",
                  ("is required for source: computed: one of: " if value is None
                   else f"{yamlbank.show(value)} is not one of: ") + ", ".join(COMPUTED))
        return None
    if value in computed_by:
        ctx.error(item, "computed", f"{path}computed",
                  f"{value!r} is already computed by the indicator on line {computed_by[value]}")
        return None
    computed_by[value] = yamlbank.line_of(item, "computed")
    return value


def _agree(ctx: yamlbank.Context, item: Mapping, path: str, unit: str | None, measure: str | None,
           bounds: tuple[float, float] | None, computed: str | None) -> None:
    """The rules between fields: a percent is a share or a mean from 0 to 100, a share a percent, a count a count
    of at least 0, and a computed indicator is the measure ClassLab computes."""
    if unit == "percent" and measure == "count":
        ctx.error(item, "measure", f"{path}measure", "a percent is a share or a mean, not a count (write measure: "
                                                     "share, or unit: count)")
    elif measure == "share" and unit is not None and unit != "percent":
        ctx.error(item, "unit", f"{path}unit", f"a share is shown as a percent, not a {unit} (write unit: percent)")
    elif measure == "count" and unit is not None and unit != "count":
        ctx.error(item, "unit", f"{path}unit", f"a count is in unit count, not {unit} (write unit: count)")
    if bounds is not None:
        least, most = bounds
        shown = f"[{_show_number(least)}, {_show_number(most)}]"
        if unit == "percent" and (least < 0 or most > 100):
            ctx.error(item, "range", f"{path}range", f"{shown} is not within 0 to 100 (a percent)")
        elif measure == "count" and least < 0:
            ctx.error(item, "range", f"{path}range", f"{shown} starts below 0 (a count is 0 or more)")
    if computed is not None and measure is not None and measure != COMPUTED_MEASURES[computed]:
        ctx.error(item, "measure", f"{path}measure",
                  f"{computed} is computed as a {COMPUTED_MEASURES[computed]}, not a {measure}")


def _show_number(value: float) -> str:
    return str(int(value)) if value.is_integer() else str(value)


def _indicator(ctx: yamlbank.Context, listed: list, n: int, seen: dict[str, int | None],
               computed_by: dict[str, int | None]) -> Indicator | None:
    item = listed[n]
    path = f"indicators[{n + 1}]."
    if not isinstance(item, Mapping):
        ctx.error(listed, n, f"indicators[{n + 1}]", "must be a mapping (" + ", ".join(INDICATOR_FIELDS) + ")")
        return None
    before = len(ctx.problems)
    _unknown(ctx, item, INDICATOR_FIELDS, path)
    key = item.get("key")
    if not isinstance(key, str) or not _INDICATOR_KEY.match(key):
        rule = "lowercase letters, digits and underscores, 2 to 40, starting with a letter (such as math5_share)"
        ctx.error(item, "key", f"{path}key", f"is required: {rule}" if key is None
                  else f"must be {rule}, not {yamlbank.show(key)}")
    elif key in seen:
        ctx.error(item, "key", f"{path}key", f"{key!r} is already the key of the indicator on line {seen[key]}")
    else:
        seen[key] = yamlbank.line_of(item, "key")
    title = yamlbank.language_map(ctx, item, "title", f"{path}title")
    definition = yamlbank.language_map(ctx, item, "definition", f"{path}definition")
    unit = _choice(ctx, item, "unit", path, UNITS)
    direction = _choice(ctx, item, "direction", path, DIRECTIONS)
    bounds = _range(ctx, item, path)
    grades = _grades(ctx, item, path)
    source = _choice(ctx, item, "source", path, SOURCES)
    measure = _choice(ctx, item, "measure", path, MEASURES)
    computed = _computed(ctx, item, path, source, computed_by)
    _agree(ctx, item, path, unit, measure, bounds, computed)
    if len(ctx.problems) != before or bounds is None:
        return None
    return Indicator(str(key), title, definition, str(unit), str(direction), bounds[0], bounds[1], grades,
                     str(source), str(measure), computed)


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


def _read(name: str, source: str | bytes) -> tuple[Catalogue, int | None]:
    problems = yamlbank.Problems(name)
    try:
        doc = yamlbank.load(name, source)
    except yamlbank.Unreadable as exc:
        raise IndicatorsFileError([exc.message]) from None
    problems.duplicates(doc)
    data = doc.data
    if not isinstance(data, Mapping):
        problems.add(yamlbank.line_of(data), f"the file must be a mapping ({', '.join(FILE_FIELDS)}), "
                                             f"not {yamlbank.show(data)}")
        raise IndicatorsFileError(problems.lines)
    ctx = yamlbank.Context(problems, yamlbank.LANGUAGES)
    _unknown(ctx, data, FILE_FIELDS, "")
    key = data.get("key")
    if key != KEY:
        ctx.error(data, "key", "key", f"is required: {KEY}" if key is None
                  else f"must be {KEY}, not {yamlbank.show(key)}")
    version = _version(ctx, data)
    title = yamlbank.language_map(ctx, data, "title")
    listed = data.get("indicators")
    shape = f"a list of {LEAST_INDICATORS} to {MOST_INDICATORS} indicators"
    if not isinstance(listed, list):
        ctx.error(data, "indicators", "indicators", f"is required: {shape}" if listed is None
                  else f"must be {shape}, not {yamlbank.show(listed)}")
        listed = []
    elif not LEAST_INDICATORS <= len(listed) <= MOST_INDICATORS:
        ctx.error(data, "indicators", "indicators",
                  f"has {len(listed)} indicators; write {LEAST_INDICATORS} to {MOST_INDICATORS}")
    seen: dict[str, int | None] = {}
    computed_by: dict[str, int | None] = {}
    indicators = [_indicator(ctx, listed, n, seen, computed_by) for n in range(len(listed))]
    if problems:
        raise IndicatorsFileError(problems.lines)
    found = tuple(i for i in indicators if i is not None)
    return Catalogue(KEY, version, title, found), yamlbank.line_of(data, "version")


def read(name: str, source: str | bytes) -> Catalogue:
    """The catalogue of one file (`name` starts every message), or IndicatorsFileError listing every problem."""
    return _read(name, source)[0]


def load(path: Path | str) -> Catalogue:
    """The catalogue of the file at `path`, or IndicatorsFileError listing every problem."""
    path = Path(path)
    try:
        source = path.read_bytes()
    except OSError as exc:
        raise IndicatorsFileError([f"{path.name}: cannot be read ({exc.strerror or exc})"]) from None
    return read(path.name, source)


def _read_folder(folder: Path) -> dict[str, Catalogue]:
    found: dict[str, Catalogue] = {}
    where: dict[str, str] = {}
    problems: list[str] = []
    for path in sorted(Path(folder).glob("*.yaml")):
        try:
            catalogue, line = _read(path.name, path.read_bytes())
        except IndicatorsFileError as exc:
            problems.extend(exc.lines)
            continue
        if catalogue.ref in found:
            problems.append(f"{path.name}:{line}: version: {catalogue.ref} is already the version in "
                            f"{where[catalogue.ref]} (a new version needs a new version number)")
            continue
        found[catalogue.ref], where[catalogue.ref] = catalogue, path.name
    if problems:
        raise IndicatorsFileError(problems)
    return found


@cache
def _shipped() -> dict[str, Catalogue]:
    return _read_folder(FOLDER)


def catalogues(folder: Path | str | None = None) -> dict[str, Catalogue]:
    """Every version in `folder` (default: the ones shipped in app/goals/indicators/, read once), by ref; a ref
    given by two files is an error."""
    if folder is None:
        return dict(_shipped())
    return _read_folder(Path(folder))


def catalogue(ref: str) -> Catalogue | None:
    """The shipped version named by `ref` ("indicators@2027"), or None."""
    return _shipped().get(ref)


def _order(version: str) -> tuple:
    # "2027" < "2027.1" < "2028"; numbers compare as numbers, other parts after them as text
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"[.-]", version))


def current() -> Catalogue:
    """The newest shipped version (read once); LookupError when there is none."""
    versions = list(_shipped().values())
    if not versions:
        raise LookupError(f"no indicators file in {FOLDER}")
    return max(versions, key=lambda c: _order(c.version))
