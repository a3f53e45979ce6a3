"""Observation frameworks as data: the dimensions and elements a comment or clip on a lesson video can be tagged with.

A framework is a YAML file (the starters live in ``framework_data/``; an admin can import more), never code:

    key: math-discourse            # lower-case slug, unique per framework
    version: 1                     # positive integer; bump it when the content changes
    title: Mathematics Classroom Discourse
    description: ...
    inspired_by: [...]             # optional: text or a list of texts naming the research traditions drawn on
    language: en                   # the language the titles are written in (en, he or ar)
    he: ...                        # optional translations of this node's title, one field per language
    dimensions:
      - key: who-thinks
        title: ...
        description: ...
        elements:
          - key: wait-time         # unique within the whole framework
            title: ...
            description: ...
            look_fors: [...]       # optional: things a coach can see on video

`load_framework_text` validates a file and reports every problem at once (file, line, dimension/element and field),
so an admin fixes an import in one pass. `Framework.as_dict` / `Framework.from_dict` store one version as JSON in the
database and read it back through the same validation. Pure functions on plain data: no Flask, no database.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from types import MappingProxyType
from typing import Any

from app import yamlbank

__all__ = [
    "LANGUAGES",
    "Dimension",
    "Element",
    "Framework",
    "FrameworkError",
    "load_framework_text",
    "load_starter_frameworks",
    "tag_label",
]

#: Languages a framework may be written in, and translated into (the app's UI languages).
LANGUAGES = ("en", "he", "ar")

#: Separator between the dimension and element title in a tag label. U+203A is bidi-mirrored, so in a Hebrew or
#: Arabic label it is drawn pointing the reading direction.
TAG_SEPARATOR = " › "

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_SLUG_MAX = 64

_FRAMEWORK_FIELDS = ("key", "version", "title", "description", "inspired_by", "language", "dimensions", *LANGUAGES)
_DIMENSION_FIELDS = ("key", "title", "description", "elements", *LANGUAGES)
_ELEMENT_FIELDS = ("key", "title", "description", "look_fors", *LANGUAGES)


def _frozen_mapping(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(value or {}))


@dataclass(frozen=True)
class Element:
    key: str
    title: str
    description: str
    look_fors: tuple[str, ...]
    dimension: str  # the key of the dimension the element belongs to
    translations: Mapping[str, str] = field(default_factory=dict, hash=False)  # language -> translated title

    def __post_init__(self) -> None:
        object.__setattr__(self, "look_fors", tuple(self.look_fors))
        object.__setattr__(self, "translations", _frozen_mapping(self.translations))

    def title_in(self, lang: str) -> str:
        return self.translations.get(_base_language(lang), self.title)


@dataclass(frozen=True)
class Dimension:
    key: str
    title: str
    description: str
    elements: tuple[Element, ...]
    translations: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "elements", tuple(self.elements))
        object.__setattr__(self, "translations", _frozen_mapping(self.translations))

    def title_in(self, lang: str) -> str:
        return self.translations.get(_base_language(lang), self.title)


@dataclass(frozen=True)
class Framework:
    key: str
    version: int
    title: str
    description: str
    inspired_by: tuple[str, ...]
    dimensions: tuple[Dimension, ...]
    translations: Mapping[str, str] = field(default_factory=dict, hash=False)
    language: str = "en"

    def __post_init__(self) -> None:
        object.__setattr__(self, "inspired_by", tuple(self.inspired_by))
        object.__setattr__(self, "dimensions", tuple(self.dimensions))
        object.__setattr__(self, "translations", _frozen_mapping(self.translations))

    def title_in(self, lang: str) -> str:
        return self.translations.get(_base_language(lang), self.title)

    def dimension(self, key: str) -> Dimension | None:
        return next((d for d in self.dimensions if d.key == key), None)

    def element(self, key: str) -> Element | None:
        for dimension in self.dimensions:
            for element in dimension.elements:
                if element.key == key:
                    return element
        return None

    def elements(self) -> list[Element]:
        """Every element, in document order."""
        return [element for dimension in self.dimensions for element in dimension.elements]

    def as_dict(self) -> dict[str, Any]:
        """The framework in its file shape, JSON-serialisable (for storing one version in the database)."""
        return {
            "key": self.key,
            "version": self.version,
            "title": self.title,
            "description": self.description,
            "inspired_by": list(self.inspired_by),
            "language": self.language,
            **dict(self.translations),
            "dimensions": [
                {
                    "key": d.key,
                    "title": d.title,
                    "description": d.description,
                    **dict(d.translations),
                    "elements": [
                        {
                            "key": e.key,
                            "title": e.title,
                            "description": e.description,
                            "look_fors": list(e.look_fors),
                            **dict(e.translations),
                        }
                        for e in d.elements
                    ],
                }
                for d in self.dimensions
            ],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Framework:
        """Read back `as_dict` output (or any dict in the file shape), with the same validation as a file."""
        name = f"<framework {d.get('key')!r}>" if isinstance(d, Mapping) else "<framework>"
        return _build(yamlbank.Document(name, d))


class FrameworkError(ValueError):
    """A framework file or dict is invalid. `problems` lists every problem found, each a self-contained sentence."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems: list[str] = list(problems)
        count = len(self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in framework:\n" + "\n".join(self.problems))


# --- validation ---------------------------------------------------------------------------------------------------


def _problems(name: str) -> yamlbank.Problems:
    # Admins read these in a page, not a terminal: "demo.yaml, line 12: ..." rather than "demo.yaml:12: ...".
    return yamlbank.Problems(name, position="{file}, line {line}")


_line = yamlbank.line_of  # (node, key): the line of a key, of a list item, or of the node itself


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"the yes/no value {str(value).lower()} (put the text in quotes)"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the text {value!r}"
    return type(value).__name__


def _check_fields(node: Mapping, allowed: tuple[str, ...], where: str, problems: yamlbank.Problems) -> None:
    for key in node:
        if key in allowed:
            continue
        message = f"unknown field {str(key)!r}"
        close = difflib.get_close_matches(str(key), [a for a in allowed if a not in LANGUAGES], n=1, cutoff=0.6)
        if close:
            message += f" (did you mean {close[0]!r}?)"
        elif isinstance(key, str) and re.fullmatch(r"[a-z]{2,3}(?:[-_][A-Za-z]{2,4})?", key):
            message += f" (title translations are supported for: {', '.join(LANGUAGES)})"
        else:
            message += f" (expected one of: {', '.join(a for a in allowed if a not in LANGUAGES)})"
        problems.add(_line(node, key), where, message)


def _text(node: Mapping, name: str, where: str, problems: yamlbank.Problems, *, required: bool) -> str:
    if name not in node:
        if required:
            problems.add(_line(node), where, f"field {name!r} is missing")
        return ""
    value = node[name]
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            problems.add(_line(node, name), where, f"field {name!r} is empty")
        return ""
    if not isinstance(value, str):
        problems.add(_line(node, name), where, f"field {name!r} must be text, got {_kind(value)}")
        return ""
    return value.strip()


def _slug(node: Mapping, where: str, problems: yamlbank.Problems) -> str:
    key = _text(node, "key", where, problems, required=True)
    if key and (len(key) > _SLUG_MAX or not _SLUG.match(key)):
        problems.add(
            _line(node, "key"),
            where,
            f"field 'key' must be a lower-case slug (letters a-z, digits and single hyphens, at most {_SLUG_MAX} "
            f"characters), got {key!r}",
        )
        return ""
    return key


def _translations(node: Mapping, own_language: str, where: str, problems: yamlbank.Problems) -> dict[str, str]:
    out: dict[str, str] = {}
    for lang in LANGUAGES:
        if lang not in node:
            continue
        if lang == own_language:
            problems.add(_line(node, lang), where, f"field {lang!r} translates into the framework's own language")
            continue
        text = _text(node, lang, where, problems, required=True)
        if text:
            out[lang] = text
    return out


def _text_list(
    node: Mapping, name: str, where: str, problems: yamlbank.Problems, *, allow_single: bool
) -> tuple[str, ...]:
    if name not in node or node[name] is None:
        return ()
    value = node[name]
    if isinstance(value, str) and allow_single:
        return (value.strip(),) if value.strip() else ()
    if not isinstance(value, list):
        problems.add(
            _line(node, name), where, f"field {name!r} must be a list of texts (one '- ' line each), got {_kind(value)}"
        )
        return ()
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            got = "empty text" if isinstance(item, str) else _kind(item)
            problems.add(_line(value, i), where, f"field {name!r} item {i + 1} must be non-empty text, got {got}")
            continue
        out.append(item.strip())
    return tuple(out)


def _build(doc: yamlbank.Document) -> Framework:
    data = doc.data
    problems = _problems(doc.name)
    problems.duplicates(doc, "field {key!r} appears twice in the same block (first on line {first_line})")

    if not isinstance(data, Mapping):
        problems.add(
            _line(data), "", f"a framework must be a mapping of fields (key, version, title, ...), got {_kind(data)}"
        )
        raise FrameworkError(problems.lines)

    fw_key = _slug(data, "framework", problems)
    where = f"framework {fw_key!r}" if fw_key else "framework"
    _check_fields(data, _FRAMEWORK_FIELDS, where, problems)

    version = 0
    if "version" not in data:
        problems.add(_line(data), where, "field 'version' is missing")
    else:
        raw = data["version"]
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
            problems.add(
                _line(data, "version"), where, f"field 'version' must be a positive whole number, got {_kind(raw)}"
            )
        else:
            version = raw

    title = _text(data, "title", where, problems, required=True)
    description = _text(data, "description", where, problems, required=False)
    inspired_by = _text_list(data, "inspired_by", where, problems, allow_single=True)
    language = "en"
    if "language" in data:
        raw_language = _text(data, "language", where, problems, required=True)
        if raw_language and raw_language not in LANGUAGES:
            problems.add(
                _line(data, "language"),
                where,
                f"field 'language' must be one of {', '.join(LANGUAGES)}, got {raw_language!r}",
            )
        elif raw_language:
            language = raw_language
    translations = _translations(data, language, where, problems)

    dimensions: list[Dimension] = []
    raw_dimensions = data.get("dimensions")
    if "dimensions" not in data:
        problems.add(_line(data), where, "field 'dimensions' is missing")
    elif not isinstance(raw_dimensions, list) or not raw_dimensions:
        got = "an empty list" if isinstance(raw_dimensions, list) else _kind(raw_dimensions)
        problems.add(_line(data, "dimensions"), where, f"field 'dimensions' must be a non-empty list, got {got}")
    else:
        dimension_lines: dict[str, int | None] = {}
        element_lines: dict[str, tuple[str, int | None]] = {}
        for i, raw_dim in enumerate(raw_dimensions):
            dim_where = f"dimension #{i + 1}"
            if not isinstance(raw_dim, Mapping):
                problems.add(_line(raw_dimensions, i), dim_where, f"must be a mapping of fields, got {_kind(raw_dim)}")
                continue
            dim_key = _slug(raw_dim, dim_where, problems)
            if dim_key:
                dim_where = f"dimension {dim_key!r}"
                if dim_key in dimension_lines:
                    first = dimension_lines[dim_key]
                    problems.add(
                        _line(raw_dim, "key"),
                        dim_where,
                        "duplicate dimension key" + (f" (first used on line {first})" if first else ""),
                    )
                else:
                    dimension_lines[dim_key] = _line(raw_dim, "key")
            _check_fields(raw_dim, _DIMENSION_FIELDS, dim_where, problems)
            dim_title = _text(raw_dim, "title", dim_where, problems, required=True)
            dim_description = _text(raw_dim, "description", dim_where, problems, required=False)
            dim_translations = _translations(raw_dim, language, dim_where, problems)

            elements: list[Element] = []
            raw_elements = raw_dim.get("elements")
            if not raw_elements:
                problems.add(
                    _line(raw_dim, "elements"), dim_where, "has no elements (field 'elements' must list at least one)"
                )
            elif not isinstance(raw_elements, list):
                problems.add(
                    _line(raw_dim, "elements"), dim_where, f"field 'elements' must be a list, got {_kind(raw_elements)}"
                )
            else:
                for j, raw_el in enumerate(raw_elements):
                    el_where = f"{dim_where} › element #{j + 1}"
                    if not isinstance(raw_el, Mapping):
                        problems.add(
                            _line(raw_elements, j), el_where, f"must be a mapping of fields, got {_kind(raw_el)}"
                        )
                        continue
                    el_key = _slug(raw_el, el_where, problems)
                    if el_key:
                        el_where = f"{dim_where} › element {el_key!r}"
                        if el_key in element_lines:
                            first_dim, first = element_lines[el_key]
                            problems.add(
                                _line(raw_el, "key"),
                                el_where,
                                f"duplicate element key (first used in "
                                f"dimension {first_dim!r}" + (f" on line {first})" if first else ")"),
                            )
                        else:
                            element_lines[el_key] = (dim_key or f"#{i + 1}", _line(raw_el, "key"))
                    _check_fields(raw_el, _ELEMENT_FIELDS, el_where, problems)
                    elements.append(
                        Element(
                            key=el_key,
                            title=_text(raw_el, "title", el_where, problems, required=True),
                            description=_text(raw_el, "description", el_where, problems, required=False),
                            look_fors=_text_list(raw_el, "look_fors", el_where, problems, allow_single=False),
                            dimension=dim_key,
                            translations=_translations(raw_el, language, el_where, problems),
                        )
                    )
            dimensions.append(Dimension(dim_key, dim_title, dim_description, tuple(elements), dim_translations))

    if problems:
        raise FrameworkError(problems.lines)
    return Framework(fw_key, version, title, description, inspired_by, tuple(dimensions), translations, language)


# --- public loaders -----------------------------------------------------------------------------------------------


def load_framework_text(name: str, text: str | bytes) -> Framework:
    """Parse and validate one framework file. `name` (usually the file name) starts every problem message.

    Raises FrameworkError listing every problem found (malformed YAML stops at the first syntax error, with its line).
    """
    try:
        doc = yamlbank.load(name, text)
    except yamlbank.Unreadable as exc:
        problems = _problems(name)
        problems.unreadable(exc)
        raise FrameworkError(problems.lines) from None
    return _build(doc)


def load_starter_frameworks() -> list[Framework]:
    """The frameworks shipped in this package's ``framework_data/*.yaml``, in file-name order."""
    folder = resources.files(__package__).joinpath("framework_data")
    frameworks = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith((".yaml", ".yml")) and entry.is_file():
            frameworks.append(load_framework_text(entry.name, entry.read_bytes()))
    keys = [f.key for f in frameworks]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise FrameworkError([f"framework_data: more than one starter framework has the key {k!r}" for k in repeated])
    return frameworks


def _base_language(lang: str) -> str:
    return (lang or "").replace("_", "-").split("-")[0].lower()


def tag_label(framework: Framework, element_key: str, lang: str = "en") -> str:
    """ "Dimension › Element" for a tag, in `lang` where the framework translates a title (English otherwise).

    `lang` may be a locale such as "he_IL". Raises KeyError when the framework has no such element.
    """
    element = framework.element(element_key)
    if element is None:
        raise KeyError(f"framework {framework.key!r} v{framework.version} has no element {element_key!r}")
    dimension = framework.dimension(element.dimension)
    assert dimension is not None  # an element always belongs to one of the framework's dimensions
    return f"{dimension.title_in(lang)}{TAG_SEPARATOR}{element.title_in(lang)}"
