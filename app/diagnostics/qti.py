"""IMS QTI 3.0 export and import of bank items, and IMS Content Packages of them.

    item_to_qti(item)                  -> str         one qti-assessment-item document
    qti_to_item(xml)                   -> Item        raises QtiError naming the element at fault
    bank_to_qti_package(bank, out_zip) -> Path        imsmanifest.xml + items/<key>.xml
    qti_package_to_items(zip_path)     -> [Item]

Everything a QTI player needs is in standard QTI 3.0 (ASI namespace imsqtiasi_v3p0):

* choice: base-type identifier, `qti-choice-interaction` of `qti-simple-choice`, the
  match_correct response-processing template;
* numeric: base-type float, `qti-text-entry-interaction`, and response processing written out
  (templates have no tolerance): `qti-equal` with tolerance-mode "absolute" against the correct
  response sets SCORE to 1;
* text: base-type string, `qti-extended-text-interaction`, the model answer as the correct
  response, and the rubric in a `qti-rubric-block` (use "scoring", view "scorer") for the person
  who scores it; response processing is present and empty, because a person scores the answer.

How ClassLab's own data travels, so that export then import gives back the same item. We use only
QTI 3.0's `data-*` attributes on body elements and QTI's own outcome machinery, never a foreign
XML element, so the file stays a plain QTI item that other tools load and keep:

* `data-misconception` on each distractor `qti-simple-choice` and on each rubric pattern;
* numeric wrong answers and misconception distractors are further branches of the response
  processing that set a MISCONCEPTION outcome (base-type identifier) to the misconception's key, so
  any QTI engine reports the misconception a wrong answer or a chosen distractor reveals, not only
  ClassLab (a choice item without such distractors keeps the match_correct template). Reading, a
  foreign item's branches give its choices their misconceptions; a `data-misconception` that
  disagrees with the processing is refused;
* `data-cl-topic` and `data-cl-languages` (the languages of the item's bank, "en he ar") on
  `qti-assessment-item`, which takes attributes of other namespaces and data-* (the schema's `qti-item-body`
  does not; items exported before had them there, and they are still read there);
  the Markdown source of the stem, choices and rubric lines in `data-cl-source` next to their rendered
  XHTML + MathML.

Every language travels in the one item, marked the way QTI marks any content's language: each text is
written once per language, in a wrapper (`div` for the stem and the model answer, `span` for a choice or a
rubric line) of class `cl-lang` with `xml:lang` (and `dir="rtl"` for Hebrew and Arabic). A language-neutral
text (a choice that is only maths) is written once, without wrappers. The item's own `xml:lang` is its
bank's first language. A model answer is one `qti-value` (in that language), so the scorer's rubric block
also holds it in every language (`div.cl-model-answer`). Reading back gives the same language maps; an item
whose texts lack one of its languages is refused, naming the element.

An item from another tool has none of these: its stem and choices are turned back into Markdown
(MathML into TeX), they are in the item's `xml:lang` (English when it has none or one ClassLab does not
know), and its topic is "" for the importer to set. Items exported before the bank had languages kept the
Hebrew and Arabic stem in `data-cl-source-he` / `data-cl-source-ar`; those are still read.

Every exported item and manifest is validated against 1EdTech's QTI 3.0 XSDs, vendored in tests/data/qti3-xsd
(tests/unit/test_qti_xsd.py), and played in Citolab's QTI player (tests/browser/test_qti_player.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
import posixpath
import re
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree as ET

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import fromstring as defused_fromstring
from latex2mathml.symbols_parser import SYMBOLS

from app.diagnostics.bankfile import (
    LANGUAGES,
    Bank,
    Choice,
    Item,
    Rubric,
    RubricLevel,
    RubricPattern,
    Texts,
    WrongAnswer,
    format_number,
    is_language_neutral,
    pick,
)
from app.richtext import MEDIA_REF, media_refs, render_block, render_inline

__all__ = [
    "QTI_NS",
    "MATHML_NS",
    "QtiError",
    "bank_to_qti_package",
    "item_to_qti",
    "qti_package_to_items",
    "read_package",
    "PackageEntry",
    "qti_to_item",
]

QTI_NS = "http://www.imsglobal.org/xsd/imsqtiasi_v3p0"
MATHML_NS = "http://www.w3.org/1998/Math/MathML"
CP_NS = "http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XML_NS = "http://www.w3.org/XML/1998/namespace"
XML_LANG = f"{{{XML_NS}}}lang"
RTL = frozenset({"he", "ar"})
SCHEMA_LOCATION = f"{QTI_NS} https://purl.imsglobal.org/spec/qti/v3p0/schema/xsd/imsqti_asiv3p0_v1p0.xsd"
CP_SCHEMA_LOCATION = f"{CP_NS} https://purl.imsglobal.org/spec/qti/v3p0/schema/xsd/imsqtiv3p0_imscpv1p2_v1p0.xsd"
_RP_TEMPLATES = "https://purl.imsglobal.org/spec/qti/v3p0/rptemplates/"
MATCH_CORRECT = _RP_TEMPLATES + "match_correct.xml"
ITEM_RESOURCE_TYPE = "imsqti_item_xmlv3p0"

RESPONSE = "RESPONSE"
SCORE = "SCORE"
MISCONCEPTION = "MISCONCEPTION"
FEEDBACK = "FEEDBACK"
BASE_TYPES = frozenset(
    {"boolean", "directedPair", "duration", "file", "float", "identifier", "integer", "pair", "point", "string", "uri"}
)
_INTERACTIONS = {
    "qti-choice-interaction": ("choice", {"identifier"}),
    "qti-inline-choice-interaction": ("inline", {"identifier"}),
    "qti-text-entry-interaction": ("numeric", {"float", "integer", "string"}),
    "qti-extended-text-interaction": ("text", {"string"}),
}
MEDIA_FOLDER = "media"  # an item's images, beside its file: items/media/<sha256>.<ext>
# What an image may be (by its first bytes, whatever its name says), and how large.
IMAGE_TYPES = {b"\x89PNG\r\n\x1a\n": "png", b"\xff\xd8\xff": "jpg", b"GIF87a": "gif", b"GIF89a": "gif"}
MAX_IMAGE_BYTES = 5_000_000
# A package member larger than this is not an item; refusing it bounds what an upload can cost.
MAX_MEMBER_BYTES = 2_000_000
MAX_PACKAGE_ITEMS = 5_000
# What all the items of a package may unpack to, and how much one file may be compressed (QTI XML deflates about
# 5 to 15 times; a zip bomb thousands of times).
MAX_PACKAGE_BYTES = 100_000_000
MAX_RATIO = 200


class QtiError(ValueError):
    """A QTI document or package ClassLab cannot read; the message names the element at fault."""


def _q(local: str) -> str:
    return f"{{{QTI_NS}}}{local}"


def _split(tag: str) -> tuple[str | None, str]:
    if tag.startswith("{"):
        ns, local = tag[1:].split("}", 1)
        return ns, local
    return None, tag


# ------------------------------------------------------------------------------------- writing


def _fill(dest: ET.Element, markdown: str, inline: bool) -> None:
    """Append the rendered Markdown to `dest`: XHTML in the QTI namespace (as QTI requires), MathML in its own."""
    html = render_inline(markdown) if inline else render_block(markdown)
    # app.richtext declares the MathML namespace on every <math>, so its elements are already in it
    wrap = ET.fromstring(f'<wrap xmlns="{QTI_NS}">{html}</wrap>')
    for img in wrap.iter(_q("img")):
        # an item's own file travels beside the item in the package (items/media/<sha256>.<ext>)
        ref = MEDIA_REF.fullmatch(img.get("src", ""))
        if ref:
            img.set("src", f"{MEDIA_FOLDER}/{ref.group(1)}")
        img.set("alt", img.get("alt", ""))
    for link in wrap.iter(_q("a")):
        # QTI's <a> has href and type; rel and title are the page's, not the item's
        for name in set(link.attrib) - {"href"}:
            del link.attrib[name]
    if len(dest):
        dest[-1].tail = (dest[-1].tail or "") + (wrap.text or "")
    else:
        dest.text = (dest.text or "") + (wrap.text or "")
    dest.extend(list(wrap))


def _neutral(texts: Texts) -> str | None:
    """The one text of a language-neutral map (the same maths in every language), or None."""
    values = set(texts.values())
    if len(values) == 1 and set(texts) == set(LANGUAGES):
        text = values.pop()
        return text if is_language_neutral(text) else None
    return None


def _fill_texts(dest: ET.Element, texts: Texts, inline: bool) -> None:
    """A text in every language into `dest`: once when language-neutral, else one `cl-lang` wrapper each."""
    neutral = _neutral(texts)
    if neutral is not None:
        dest.set("data-cl-source", neutral)
        _fill(dest, neutral, inline)
        return
    for lang, text in texts.items():
        attrs = {XML_LANG: lang, **({"dir": "rtl"} if lang in RTL else {}), "class": "cl-lang", "data-cl-source": text}
        _fill(_sub(dest, "span" if inline else "div", attrs), text, inline)


def _sub(parent: ET.Element, local: str, attrs: dict[str, str] | None = None, text: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, _q(local), attrs or {})
    if text is not None:
        el.text = text
    return el


def _set_outcome(parent: ET.Element, outcome: str, base_type: str, value: str) -> None:
    setter = _sub(parent, "qti-set-outcome-value", {"identifier": outcome})
    _sub(setter, "qti-base-value", {"base-type": base_type}, value)


def _equal(parent: ET.Element, tolerance: float, value: float | None = None) -> None:
    """RESPONSE compared with the correct response, or with `value` when given."""
    # exact when there is no tolerance: "absolute" with 0 would ask engines for a float comparison they may round
    attrs = {"tolerance-mode": "exact"}
    if tolerance:
        attrs = {"tolerance-mode": "absolute", "tolerance": format_number(tolerance)}
    equal = _sub(parent, "qti-equal", attrs)
    _sub(equal, "qti-variable", {"identifier": RESPONSE})
    if value is None:
        _sub(equal, "qti-correct", {"identifier": RESPONSE})
    else:
        _sub(equal, "qti-base-value", {"base-type": "float"}, format_number(value))


def _numeric_processing(root: ET.Element, item: Item) -> None:
    tolerance = item.tolerance or 0.0
    processing = _sub(root, "qti-response-processing")
    condition = _sub(processing, "qti-response-condition")
    branch = _sub(condition, "qti-response-if")
    _equal(branch, tolerance)
    _set_outcome(branch, SCORE, "float", "1")
    for wrong in item.wrong_answers:
        branch = _sub(condition, "qti-response-else-if")
        _equal(branch, tolerance, value=wrong.value)
        _set_outcome(branch, MISCONCEPTION, "identifier", wrong.misconception)


def _match(parent: ET.Element, choice: str | None = None) -> None:
    """RESPONSE matched with the correct response, or with the choice identifier `choice` when given."""
    match = _sub(parent, "qti-match")
    _sub(match, "qti-variable", {"identifier": RESPONSE})
    if choice is None:
        _sub(match, "qti-correct", {"identifier": RESPONSE})
    else:
        _sub(match, "qti-base-value", {"base-type": "identifier"}, choice)


def _misconception_distractors(item: Item) -> list[Choice]:
    return [c for c in item.choices if c.misconception and not c.correct]


def _choice_processing(root: ET.Element, item: Item) -> None:
    """match_correct written out, with one more branch per misconception distractor that sets MISCONCEPTION, so
    any QTI engine reports the misconception a chosen distractor reveals (as numeric items do); FEEDBACK is set to
    the response when choices have feedback, which the modal feedback after it shows."""
    distractors = _misconception_distractors(item)
    with_feedback = [c for c in item.choices if c.feedback]
    if not distractors and not with_feedback:
        _sub(root, "qti-response-processing", {"template": MATCH_CORRECT})
        return
    processing = _sub(root, "qti-response-processing")
    if with_feedback:
        setter = _sub(processing, "qti-set-outcome-value", {"identifier": FEEDBACK})
        _sub(setter, "qti-variable", {"identifier": RESPONSE})
    condition = _sub(processing, "qti-response-condition")
    branch = _sub(condition, "qti-response-if")
    _match(branch)
    _set_outcome(branch, SCORE, "float", "1")
    for choice in distractors:
        branch = _sub(condition, "qti-response-else-if")
        if item.type == "multiple":  # the first misconception distractor among those chosen
            member = _sub(branch, "qti-member")
            _sub(member, "qti-base-value", {"base-type": "identifier"}, choice.key)
            _sub(member, "qti-variable", {"identifier": RESPONSE})
        else:
            _match(branch, choice.key)
        _set_outcome(branch, MISCONCEPTION, "identifier", choice.misconception)


def _modal_feedback(root: ET.Element, item: Item) -> None:
    for choice in item.choices:
        if choice.feedback:
            modal = _sub(root, "qti-modal-feedback",
                         {"outcome-identifier": FEEDBACK, "identifier": choice.key, "show-hide": "show"})
            _fill_texts(_sub(_sub(modal, "qti-content-body"), "div", {"class": "cl-feedback"}),
                        choice.feedback, inline=False)


def _plain_text(markdown: str) -> str:
    """A choice as text only: the Markdown without its maths delimiters and emphasis."""
    return re.sub(r"(?<!\\)\$+|\*+", "", markdown).strip()


def _rubric_block(body: ET.Element, rubric: Rubric, model_answer: Texts | None) -> None:
    block = _sub(body, "qti-rubric-block", {"use": "scoring", "view": "scorer", "class": "cl-rubric"})
    content = _sub(block, "qti-content-body")
    if model_answer:
        _fill_texts(_sub(content, "div", {"class": "cl-model-answer"}), model_answer, inline=False)
    levels = _sub(content, "ol", {"class": "cl-rubric-levels"})
    for level in rubric.levels:
        li = _sub(levels, "li", {"data-score": str(level.score)})
        _sub(li, "strong", {"class": "cl-score"}, text=f"{level.score}:").tail = " "
        _fill_texts(li, level.description, inline=True)
    if rubric.patterns:
        patterns = _sub(content, "ul", {"class": "cl-rubric-patterns"})
        for pattern in rubric.patterns:
            li = _sub(patterns, "li", {"data-misconception": pattern.misconception})
            _fill_texts(li, pattern.pattern, inline=True)


_TYPE_BASE = {"choice": "identifier", "multiple": "identifier", "inline": "identifier", "numeric": "float",
              "text": "string"}


def _item_element(item: Item) -> ET.Element:
    if item.type not in _TYPE_BASE:
        raise QtiError(f"item {item.key!r}: unknown type {item.type!r}")
    root = ET.Element(
        _q("qti-assessment-item"),
        {
            "identifier": item.key,
            "title": item.key,
            "adaptive": "false",
            "time-dependent": "false",
            XML_LANG: item.languages[0],
            f"{{{XSI_NS}}}schemaLocation": SCHEMA_LOCATION,
        },
    )
    several = item.type == "multiple"
    declaration = _sub(
        root,
        "qti-response-declaration",
        {"identifier": RESPONSE, "cardinality": "multiple" if several else "single",
         "base-type": _TYPE_BASE[item.type]},
    )
    correct: list[str] = []
    if item.type in ("choice", "multiple", "inline"):
        correct = list(item.correct_keys)
    elif item.type == "numeric":
        correct = [format_number(item.answer)] if item.answer is not None else []
    elif item.model_answer:
        correct = [pick(item.model_answer, item.languages[0], item.languages)]
    if correct:
        values = _sub(declaration, "qti-correct-response")
        for value in correct:
            _sub(values, "qti-value", text=value)

    maximum = str(item.rubric.max_score) if item.type == "text" and item.rubric else "1"
    score = _sub(
        root,
        "qti-outcome-declaration",
        {"identifier": SCORE, "cardinality": "single", "base-type": "float", "normal-maximum": maximum},
    )
    _sub(_sub(score, "qti-default-value"), "qti-value", text="0")
    if item.type == "numeric" or _misconception_distractors(item):
        _sub(
            root,
            "qti-outcome-declaration",
            {"identifier": MISCONCEPTION, "cardinality": "single", "base-type": "identifier"},
        )
    if any(c.feedback for c in item.choices):
        _sub(root, "qti-outcome-declaration", {"identifier": FEEDBACK, "cardinality": "multiple" if several else
                                               "single", "base-type": "identifier"})

    root.set("data-cl-topic", item.topic)
    root.set("data-cl-languages", " ".join(item.languages))
    body = _sub(root, "qti-item-body")
    if item.stimulus:
        # in the item itself, so that every tool shows it (a package could share one stimulus file; a single item
        # could not)
        _fill_texts(_sub(body, "div", {"class": "cl-stimulus"}), item.stimulus, inline=False)
    _fill_texts(_sub(body, "div", {"class": "cl-stem"}), item.stem, inline=False)

    if item.type in ("choice", "multiple"):
        interaction = _sub(
            body, "qti-choice-interaction", {"response-identifier": RESPONSE, "shuffle": "false",
                                             "max-choices": str(len(item.choices)) if several else "1"}
        )
        for choice in item.choices:
            attrs = {"identifier": choice.key}
            if choice.misconception:
                attrs["data-misconception"] = choice.misconception
            _fill_texts(_sub(interaction, "qti-simple-choice", attrs), choice.text, inline=True)
        _choice_processing(root, item)
        _modal_feedback(root, item)
    elif item.type == "inline":
        # the stem shows the gap; the list to choose from follows it. A qti-inline-choice holds text only, so it
        # shows the choice's Markdown source (TeX for maths) and keeps every language in data-cl-source attributes.
        interaction = _sub(_sub(body, "p"), "qti-inline-choice-interaction",
                           {"response-identifier": RESPONSE, "shuffle": "false"})
        for choice in item.choices:
            attrs = {"identifier": choice.key}
            if choice.misconception:
                attrs["data-misconception"] = choice.misconception
            neutral = _neutral(choice.text)
            if neutral is not None:
                attrs["data-cl-source"] = neutral
            else:
                attrs.update({f"data-cl-source-{code}": text for code, text in choice.text.items()})
            shown = neutral if neutral is not None else pick(choice.text, item.languages[0], item.languages)
            _sub(interaction, "qti-inline-choice", attrs, _plain_text(shown))
        _choice_processing(root, item)
        _modal_feedback(root, item)
    elif item.type == "numeric":
        _sub(_sub(body, "p"), "qti-text-entry-interaction", {"response-identifier": RESPONSE, "expected-length": "10"})
        _numeric_processing(root, item)
    else:
        _sub(body, "qti-extended-text-interaction", {"response-identifier": RESPONSE, "expected-lines": "6"})
        if item.rubric:
            _rubric_block(body, item.rubric, item.model_answer)
        _sub(root, "qti-response-processing")
    return root


def item_to_qti(item: Item) -> str:
    """One QTI 3.0 assessment item, as a UTF-8 XML document string."""
    return _document(_item_element(item))


# Elements whose content is running text: whitespace added inside them would change what is shown.
_COMPACT = {
    "p",
    "li",
    "strong",
    "em",
    "span",
    "qti-simple-choice",
    "qti-value",
    "qti-base-value",
    "title",
    "schema",
    "schemaversion",
}
_PREFIXES = {XML_NS: "xml", XSI_NS: "xsi"}
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _check_chars(text: str) -> str:
    bad = _NOT_XML.search(text)
    if bad:
        raise QtiError(f"U+{ord(bad.group()):04X} cannot be written in XML 1.0 (in {text[:40]!r})")
    return text


def _esc_text(text: str) -> str:
    return _check_chars(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _esc_attr(text: str) -> str:
    # newlines and tabs as references: a parser would otherwise normalise them to spaces
    return _esc_text(text).replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")


def _write(el: ET.Element, out: list[str], default_ns: str | None, level: int, pretty: bool) -> None:
    ns, local = _split(el.tag)
    attrs: list[tuple[str, str]] = []
    if ns != default_ns:
        attrs.append(("xmlns", ns or ""))
        default_ns = ns
    if level == 0 and any(_split(k)[0] == XSI_NS for k in el.attrib):
        attrs.append(("xmlns:xsi", XSI_NS))
    for key, value in el.attrib.items():
        key_ns, key_local = _split(key)
        attrs.append((f"{_PREFIXES[key_ns]}:{key_local}" if key_ns else key_local, value))
    start = local + "".join(f' {k}="{_esc_attr(v)}"' for k, v in attrs)
    children = list(el)
    if not children and not el.text:
        out.append(f"<{start}/>")
        return
    out.append(f"<{start}>")
    indent = (
        pretty
        and children
        and not (el.text or "").strip()
        and all(not (c.tail or "").strip() for c in children)
        and local not in _COMPACT
        and ns != MATHML_NS
    )
    if not indent:
        out.append(_esc_text(el.text or ""))
    for child in children:
        if indent:
            out.append("\n" + "  " * (level + 1))
        _write(child, out, default_ns, level + 1, bool(indent))
        if not indent:
            out.append(_esc_text(child.tail or ""))
    if indent:
        out.append("\n" + "  " * level)
    out.append(f"</{local}>")


def _document(root: ET.Element) -> str:
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n']
    _write(root, out, None, 0, True)
    out.append("\n")
    return "".join(out)


# ------------------------------------------------------------------------------------- reading


def _parse(xml: str | bytes, what: str) -> ET.Element:
    """A document from outside, parsed by defusedxml with DTDs refused: QTI needs none, and entity declarations
    are how XML uploads blow up (billion laughs) or read the server's files (external entities), in whatever
    encoding the document declares."""
    try:
        return defused_fromstring(xml, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DTDForbidden:
        raise QtiError(f"{what}: DOCTYPE declarations are not allowed (QTI needs none)") from None
    except EntitiesForbidden:
        raise QtiError(f"{what}: ENTITY declarations are not allowed") from None
    except ExternalReferenceForbidden:
        raise QtiError(f"{what}: references to external files are not allowed") from None
    except ET.ParseError as exc:
        raise QtiError(f"{what}: not well-formed XML ({exc})") from exc


def _local_children(el: ET.Element, local: str) -> list[ET.Element]:
    return [c for c in el if c.tag == _q(local)]


def _values(declaration: ET.Element) -> list[str] | None:
    correct = declaration.find(_q("qti-correct-response"))
    if correct is None:
        return None
    return [(v.text or "").strip() for v in _local_children(correct, "qti-value")]


def _float(text: str | None, where: str) -> float:
    try:
        value = float((text or "").strip())
    except ValueError:
        raise QtiError(f"{where}: {text!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise QtiError(f"{where}: {text!r} is not a finite number")
    return value


def _tolerance(equal: ET.Element) -> float:
    mode = equal.get("tolerance-mode", "exact")
    if mode == "exact":
        return 0.0
    if mode == "relative":
        raise QtiError("qti-equal: tolerance-mode 'relative' is not supported (ClassLab tolerances are absolute)")
    if mode != "absolute":
        raise QtiError(f"qti-equal: unknown tolerance-mode {mode!r}")
    parts = (equal.get("tolerance") or "").split()
    if not parts or len(parts) > 2:
        raise QtiError(f"qti-equal: tolerance must be one or two numbers, not {equal.get('tolerance')!r}")
    values = [_float(p, "qti-equal tolerance") for p in parts]
    if len(values) == 2 and values[0] != values[1]:
        raise QtiError("qti-equal: a different tolerance below and above is not supported")
    if values[0] < 0:
        raise QtiError(f"qti-equal: tolerance {parts[0]} is negative")
    return values[0]


def _branches(root: ET.Element):
    """(branch, its condition) for every qti-response-if / qti-response-else-if of the response processing."""
    processing = root.find(_q("qti-response-processing"))
    if processing is None:
        return
    for branch in processing.iter():
        if branch.tag in (_q("qti-response-if"), _q("qti-response-else-if")) and len(branch):
            yield branch, branch[0]


def _misconception_set(branch: ET.Element) -> str | None:
    """The misconception key a branch sets MISCONCEPTION to, or None when it sets none."""
    setter = next((s for s in branch.iter(_q("qti-set-outcome-value")) if s.get("identifier") == MISCONCEPTION), None)
    if setter is None:
        return None
    key = (setter.findtext(_q("qti-base-value")) or "").strip()
    if not key:
        raise QtiError("qti-set-outcome-value MISCONCEPTION: empty qti-base-value")
    return key


def _numeric_rules(root: ET.Element) -> tuple[float, list[WrongAnswer]]:
    """The tolerance and the wrong answer -> misconception branches of ClassLab's numeric processing."""
    tolerance, wrong = 0.0, []
    for branch, condition in _branches(root):
        if condition.tag != _q("qti-equal"):
            continue
        operands = list(condition)
        if any(o.tag == _q("qti-correct") for o in operands):
            tolerance = _tolerance(condition)
            continue
        value = next((o for o in operands if o.tag == _q("qti-base-value")), None)
        key = _misconception_set(branch)
        if value is None or key is None:
            continue
        wrong.append(WrongAnswer(value=_float(value.text, "qti-base-value"), misconception=key))
    return tolerance, wrong


def _choice_rules(root: ET.Element, response_id: str) -> dict[str, str]:
    """Choice identifier -> the misconception the response processing sets when that choice is the response
    (branches `qti-match` of RESPONSE with an identifier that set MISCONCEPTION), as ClassLab and other tools
    write them."""
    found: dict[str, str] = {}
    for branch, condition in _branches(root):
        if condition.tag not in (_q("qti-match"), _q("qti-member")):
            continue
        operands = list(condition)
        if not any(o.tag == _q("qti-variable") and o.get("identifier") == response_id for o in operands):
            continue
        value = next((o for o in operands if o.tag == _q("qti-base-value")), None)
        key = _misconception_set(branch)
        if value is None or key is None:
            continue
        found[(value.text or "").strip()] = key
    return found


def _source(el: ET.Element, inline: bool) -> str:
    """The Markdown ClassLab wrote, or Markdown rebuilt from the element's XHTML and MathML."""
    source = el.get("data-cl-source")
    if source is not None:
        return source
    return _inline_markdown(el).strip() if inline else _block_markdown(el)


def _language(tag: str | None) -> str | None:
    """ClassLab's language for an xml:lang value ("he-IL" is he), or None for one the bank does not have."""
    base = (tag or "").strip().split("-", 1)[0].lower()
    return base if base in LANGUAGES else None


def _wrappers(el: ET.Element) -> list[tuple[str, ET.Element]]:
    found = []
    for child in el:
        lang = _language(child.get(XML_LANG))
        if lang and "cl-lang" in (child.get("class") or "").split():
            found.append((lang, child))
    return found


def _texts(el: ET.Element, inline: bool, lang: str) -> dict[str, str]:
    """The text of `el` in every language it is written in: one `cl-lang` wrapper each, or else the element's
    own text, in `lang` (the item's language), or in every language when it is only maths."""
    wrappers = _wrappers(el)
    if wrappers:
        found = {code: _source(child, inline) for code, child in wrappers}
        return {code: found[code] for code in LANGUAGES if code in found}
    text = _source(el, inline)
    return dict.fromkeys(LANGUAGES, text) if is_language_neutral(text) else {lang: text}


def _choice_misconception(element: str, el: ET.Element, key: str, correct: set[str],
                          rules: dict[str, str] | None) -> str | None:
    """A choice's misconception: its data-misconception or the response processing's branch (they must agree);
    a correct response reveals none."""
    marked, processed = el.get("data-misconception"), (rules or {}).get(key)
    if marked and processed and marked != processed:
        raise QtiError(f"{element} {key!r}: data-misconception says {marked!r} but the response processing sets "
                       f"MISCONCEPTION to {processed!r}")
    misconception = marked or processed
    if misconception and key in correct:
        raise QtiError(f"{element} {key!r} is a correct response and cannot reveal a misconception")
    return misconception


def _choices(
    interaction: ET.Element, correct: set[str], lang: str, rules: dict[str, str] | None = None
) -> tuple[Choice, ...]:
    elements = _local_children(interaction, "qti-simple-choice")
    if not elements:
        raise QtiError("qti-choice-interaction has no qti-simple-choice")
    seen: set[str] = set()
    choices = []
    for n, el in enumerate(elements, 1):
        key = (el.get("identifier") or "").strip()
        if not key:
            raise QtiError(f"qti-simple-choice number {n} has no identifier")
        if key in seen:
            raise QtiError(f"qti-simple-choice identifier {key!r} is used twice")
        seen.add(key)
        misconception = _choice_misconception("qti-simple-choice", el, key, correct, rules)
        text = _texts(el, True, lang)
        choices.append(Choice(key=key, text=text, correct=key in correct, misconception=misconception))
    stray = sorted(correct - seen)
    if stray:
        raise QtiError(f"qti-correct-response names {stray[0]!r}, which is not the identifier of a qti-simple-choice")
    if len(correct) == len(choices) > 1:
        raise QtiError("every qti-simple-choice is a correct response: the item needs at least one distractor")
    unknown = sorted(set(rules or {}) - seen)
    if unknown:
        raise QtiError(
            f"qti-response-processing sets MISCONCEPTION for {', '.join(map(repr, unknown))}, which is not the "
            "identifier of a qti-simple-choice"
        )
    return tuple(choices)


def _inline_choices(
    interaction: ET.Element, correct: set[str], lang: str, rules: dict[str, str] | None = None
) -> tuple[Choice, ...]:
    """The qti-inline-choice elements of a gap: ClassLab's Markdown in every language from its data-cl-source
    attributes, or another tool's text in the item's language."""
    elements = _local_children(interaction, "qti-inline-choice")
    if len(elements) < 2:
        raise QtiError("qti-inline-choice-interaction needs at least two qti-inline-choice")
    if len(list(interaction)) != len(elements):
        raise QtiError("qti-inline-choice-interaction holds something other than qti-inline-choice")
    choices = []
    for n, el in enumerate(elements, 1):
        key = (el.get("identifier") or "").strip()
        if not key:
            raise QtiError(f"qti-inline-choice number {n} has no identifier")
        if any(c.key == key for c in choices):
            raise QtiError(f"qti-inline-choice identifier {key!r} is used twice")
        if el.get("data-cl-source") is not None:
            text = dict.fromkeys(LANGUAGES, el.get("data-cl-source"))
        else:
            text = {code: el.get(f"data-cl-source-{code}") for code in LANGUAGES
                    if el.get(f"data-cl-source-{code}") is not None}
            if not text:
                words = _md_escape("".join(el.itertext())).strip()
                if not words:
                    raise QtiError(f"qti-inline-choice {key!r} has no text")
                text = dict.fromkeys(LANGUAGES, words) if is_language_neutral(words) else {lang: words}
        misconception = _choice_misconception("qti-inline-choice", el, key, correct, rules)
        choices.append(Choice(key=key, text=text, correct=key in correct, misconception=misconception))
    stray = sorted(correct - {c.key for c in choices})
    if stray:
        raise QtiError(f"qti-correct-response names {stray[0]!r}, which is not the identifier of a qti-inline-choice")
    return tuple(choices)


def _scoring_block(body: ET.Element) -> ET.Element | None:
    return next((b for b in body.iter(_q("qti-rubric-block")) if b.get("use", "scoring") == "scoring"), None)


def _rubric(body: ET.Element, lang: str) -> Rubric | None:
    block = _scoring_block(body)
    if block is None:
        return None
    levels, patterns = [], []
    for lst in block.iter():
        css = (lst.get("class") or "").split()
        if lst.tag == _q("ol") and "cl-rubric-levels" in css:
            for li in _local_children(lst, "li"):
                raw = li.get("data-score")
                if raw is None or not raw.strip().isdigit():
                    raise QtiError(f"qti-rubric-block: data-score {raw!r} on a level is not a whole number")
                levels.append(RubricLevel(score=int(raw), description=_texts(li, True, lang)))
        elif lst.tag == _q("ul") and "cl-rubric-patterns" in css:
            for li in _local_children(lst, "li"):
                misconception = li.get("data-misconception")
                if not misconception:
                    raise QtiError("qti-rubric-block: a pattern has no data-misconception")
                patterns.append(RubricPattern(pattern=_texts(li, True, lang), misconception=misconception))
    return Rubric(levels=tuple(levels), patterns=tuple(patterns))


_NOT_KEPT = {
    "img": "an image", "picture": "an image", "svg": "a drawing", "object": "an embedded object",
    "embed": "an embedded object", "iframe": "an embedded page", "video": "a video", "audio": "a sound",
    "table": "a table", "qti-printed-variable": "a value computed by template processing",
    "include": "an included file",
}
_NOT_KEPT_AT_ROOT = {
    "qti-template-declaration": "template variables (a cloned item)",
    "qti-template-processing": "template processing (a cloned item)",
}


def _refuse_what_cannot_be_kept(root: ET.Element) -> None:
    """An item is imported whole or refused with the reason: content ClassLab does not keep yet (images, media,
    tables, shared stimuli, cloned items) would leave students asked about something that is not there."""
    for child in root:
        local = _split(child.tag)[1]
        if local == "qti-assessment-stimulus-ref":
            raise QtiError(f"{local}: the shared stimulus {child.get('href')!r} (a passage or figures the item shows) "
                           "is not in the upload; import the package (.zip) that holds it")
        if local in _NOT_KEPT_AT_ROOT:
            ref = child.get("href")
            raise QtiError(f"{local}: the item uses {_NOT_KEPT_AT_ROOT[local]}" + (f" ({ref})" if ref else "")
                           + ", which ClassLab does not keep yet; students would answer without it")
    for el in root.iter():
        local = _split(el.tag)[1]
        if local == "img" and el.get("data-cl-media"):
            continue  # an image read from the package, kept with the item
        if local == "img" and el.get("src") and "://" not in el.get("src") and not el.get("src").startswith("data:"):
            raise QtiError(f"img {el.get('src')!r}: the image is not in the upload; import the package (.zip) "
                           "that holds the item and its images")
        if local in _NOT_KEPT:
            src = el.get("src") or el.get("data") or el.get("href")
            elsewhere = " from another site" if src and "://" in src else ""
            raise QtiError(f"{local}" + (f" {src!r}" if src else "") + f": the item shows {_NOT_KEPT[local]}"
                           f"{elsewhere}, which ClassLab does not keep yet; students would be asked about something "
                           "that is not there")


def _set_from_response(root: ET.Element, response_id: str) -> set[str]:
    """The outcomes the response processing sets to the response itself (FEEDBACK = RESPONSE)."""
    processing = root.find(_q("qti-response-processing"))
    if processing is None:
        return set()
    return {
        setter.get("identifier", "")
        for setter in processing.iter(_q("qti-set-outcome-value"))
        if any(v.tag == _q("qti-variable") and v.get("identifier") == response_id for v in setter)
    }


def _choice_feedback(root: ET.Element, body: ET.Element, kind: str, response_id: str, lang: str,
                     keys: set[str]) -> dict[str, dict[str, str]]:
    """Choice identifier -> the feedback a student who chose it sees after answering: modal feedback after the
    body, and inline or block feedback in it, whose identifier is a choice and whose outcome the response
    processing sets to the response (or that sits inside that very choice). Other feedback depends on processing
    ClassLab does not keep, and refuses the item."""
    found = [el for el in root if el.tag == _q("qti-modal-feedback")]
    found += [el for el in body.iter() if el.tag in (_q("qti-feedback-inline"), _q("qti-feedback-block"))]
    if not found:
        return {}
    if kind != "choice":
        raise QtiError(f"{_split(found[0].tag)[1]}: feedback on a {'number' if kind == 'numeric' else 'written'} "
                       "answer depends on response processing ClassLab does not keep yet")
    parents = {child: parent for parent in body.iter() for child in parent}
    from_response = _set_from_response(root, response_id)
    out: dict[str, dict[str, str]] = {}
    for el in found:
        local, ident, outcome = _split(el.tag)[1], (el.get("identifier") or "").strip(), el.get("outcome-identifier")
        if el.get("show-hide", "show") != "show":
            raise QtiError(f"{local} {ident!r}: feedback shown when an outcome does not match (show-hide 'hide') "
                           "is not kept")
        holder = parents.get(el)
        while holder is not None and holder.tag != _q("qti-simple-choice"):
            holder = parents.get(holder)
        inside = holder is not None and holder.get("identifier") == ident
        if ident not in keys or not (outcome in from_response or inside):
            raise QtiError(f"{local} {ident!r}: feedback shown by the outcome {outcome!r} depends on response "
                           "processing ClassLab does not keep; only feedback on the choice a student made is kept")
        target = next((d for d in el.iter(_q("div")) if "cl-feedback" in (d.get("class") or "").split()), None)
        if target is None:
            target = el.find(_q("qti-content-body"))
        texts = _texts(target if target is not None else el, local == "qti-feedback-inline", lang)
        merged = out.setdefault(ident, {})
        for code, text in texts.items():
            if text.strip():
                merged[code] = f"{merged[code]}\n\n{text}" if code in merged else text
    return {key: texts for key, texts in out.items() if texts}


def _element_to_item(root: ET.Element) -> Item:
    ns, local = _split(root.tag)
    if root.tag != _q("qti-assessment-item"):
        if local == "qti-assessment-item":
            raise QtiError(f"root element qti-assessment-item is in namespace {ns or '(none)'!s}, expected {QTI_NS}")
        hint = " (a QTI 2.x item: only QTI 3.0 is supported)" if local == "assessmentItem" else ""
        raise QtiError(f"root element is {local}, expected qti-assessment-item{hint}")
    identifier = (root.get("identifier") or "").strip()
    if not identifier:
        raise QtiError("qti-assessment-item has no identifier attribute")
    body = root.find(_q("qti-item-body"))
    if body is None:
        raise QtiError(f"qti-assessment-item {identifier!r} has no qti-item-body")

    found = [el for el in body.iter() if _split(el.tag)[1].endswith("-interaction")]
    unsupported = [el for el in found if _split(el.tag)[1] not in _INTERACTIONS or _split(el.tag)[0] != QTI_NS]
    if unsupported:
        name = _split(unsupported[0].tag)[1]
        raise QtiError(f"{name} is not supported: ClassLab reads {', '.join(_INTERACTIONS)}")
    if not found:
        raise QtiError(f"qti-item-body has no interaction (expected one of {', '.join(_INTERACTIONS)})")
    if len(found) > 1:
        raise QtiError(f"qti-item-body has {len(found)} interactions; a ClassLab item has exactly one")
    interaction = found[0]
    name = _split(interaction.tag)[1]
    _refuse_what_cannot_be_kept(root)
    kind, base_types = _INTERACTIONS[name]

    response_id = interaction.get("response-identifier")
    if not response_id:
        raise QtiError(f"{name} has no response-identifier")
    declaration = next(
        (d for d in _local_children(root, "qti-response-declaration") if d.get("identifier") == response_id), None
    )
    if declaration is None:
        raise QtiError(f"{name} response-identifier {response_id!r} has no qti-response-declaration")
    where = f"qti-response-declaration {response_id!r}"
    base_type = declaration.get("base-type")
    if not base_type:
        raise QtiError(f"{where} has no base-type attribute")
    if base_type not in BASE_TYPES:
        raise QtiError(f"{where}: unknown base-type {base_type!r}")
    if base_type not in base_types:
        raise QtiError(f"{name} needs base-type {' or '.join(sorted(base_types))}, {where} has {base_type!r}")
    cardinality = declaration.get("cardinality")
    if kind == "choice" and cardinality == "multiple":
        kind = "multiple"  # choose all that apply
    elif cardinality != "single":
        raise QtiError(f"{where}: cardinality {cardinality!r} is not supported here (ClassLab reads one response, "
                       "or several choices of a qti-choice-interaction)")
    if kind == "numeric" and base_type == "string":
        raise QtiError(f"{name} with base-type 'string' (a gap scored by matching words) is not kept yet: ClassLab "
                       "scores a gap as a number, or a written answer with a rubric")
    values = _values(declaration)
    if values is not None and kind != "multiple" and len(values) != 1:
        raise QtiError(f"{where}: qti-correct-response must hold exactly one qti-value, has {len(values)}")
    if values is not None and kind == "multiple" and not values:
        raise QtiError(f"{where}: qti-correct-response holds no qti-value")
    correct = values[0] if values else None

    lang = _language(root.get(XML_LANG)) or "en"
    stem_div = next((d for d in body.iter(_q("div")) if "cl-stem" in (d.get("class") or "").split()), None)
    if stem_div is not None:
        stem = _texts(stem_div, False, lang)
        for code in LANGUAGES:  # exported before the bank had languages: the stem's translations as attributes
            if stem_div.get(f"data-cl-source-{code}") is not None:
                stem.setdefault(code, stem_div.get(f"data-cl-source-{code}"))
        stem = {code: stem[code] for code in LANGUAGES if code in stem}
    else:
        text = _block_markdown(body)
        prompt = interaction.find(_q("qti-prompt"))
        if prompt is not None and _inline_markdown(prompt).strip():
            # another tool's question may sit in the prompt; ClassLab items have no prompt of their own
            text = "\n\n".join(part for part in (text, _inline_markdown(prompt).strip()) if part)
        stem = {lang: text}
    # the item's languages once every text is read (below); the item's own language meanwhile
    languages = (lang,)
    base = {
        "key": identifier,
        "topic": root.get("data-cl-topic", body.get("data-cl-topic", "")),
        "type": kind,
        "stem": stem,
        "languages": languages,
    }
    stimulus_div = next((d for d in body.iter(_q("div")) if "cl-stimulus" in (d.get("class") or "").split()), None)
    if stimulus_div is not None:
        base["stimulus"] = _texts(stimulus_div, False, lang) or None

    if kind in ("choice", "multiple", "inline"):
        if correct is None:
            raise QtiError(f"{where} has no qti-correct-response")
        read = _inline_choices if kind == "inline" else _choices
        choices = read(interaction, set(values), lang, _choice_rules(root, response_id))
        feedback = _choice_feedback(root, body, "choice", response_id, lang, {c.key for c in choices})
        if kind == "inline" and stem_div is None and GAP not in "".join(stem.values()):
            stem = {code: f"{text}\n\n{GAP}" for code, text in stem.items()}
            base["stem"] = stem
        choices = tuple(dataclasses.replace(c, feedback=feedback.get(c.key)) for c in choices)
        item = Item(**base, choices=choices)
    elif kind == "numeric":
        if correct is None:
            raise QtiError(f"{where} has no qti-correct-response")
        _choice_feedback(root, body, kind, response_id, lang, set())
        answer = _float(correct, f"{where} qti-correct-response")
        tolerance, wrong = _numeric_rules(root)
        item = Item(**base, answer=answer, tolerance=tolerance, wrong_answers=tuple(wrong))
    else:
        _choice_feedback(root, body, kind, response_id, lang, set())
        block = _scoring_block(body)
        model_div = (
            next((d for d in block.iter(_q("div")) if "cl-model-answer" in (d.get("class") or "").split()), None)
            if block is not None
            else None
        )
        if model_div is not None:
            model = _texts(model_div, False, lang)
        else:
            model = _texts(ET.Element("x", {"data-cl-source": correct}), False, lang) if correct else None
        item = Item(**base, model_answer=model or None, rubric=_rubric(body, lang))
    return _with_languages(item, root.get("data-cl-languages", body.get("data-cl-languages")))


def _text_maps(item: Item) -> list[tuple[str, Texts]]:
    texts: list[tuple[str, Texts]] = [("the stem", item.stem)]
    if item.stimulus:
        texts.append(("the stimulus", item.stimulus))
    element = "qti-inline-choice" if item.type == "inline" else "qti-simple-choice"
    texts += [(f"{element} {c.key!r}", c.text) for c in item.choices]
    texts += [(f"the feedback of qti-simple-choice {c.key!r}", c.feedback) for c in item.choices if c.feedback]
    if item.model_answer:
        texts.append(("the model answer", item.model_answer))
    if item.rubric:
        texts += [(f"the rubric level of score {lv.score}", lv.description) for lv in item.rubric.levels]
        texts += [(f"the rubric pattern of {p.misconception!r}", p.pattern) for p in item.rubric.patterns]
    return texts


def _with_languages(item: Item, declared: str | None) -> Item:
    """The item with its languages: those ClassLab declared (every text must then have each of them, or a page
    would have nothing to show), or else those every text of the item is written in."""
    texts = _text_maps(item)
    if declared is None:
        languages = tuple(code for code in LANGUAGES if all(code in text for _, text in texts))
        return dataclasses.replace(item, languages=languages or item.languages)
    codes = declared.split()
    if not codes or any(code not in LANGUAGES for code in codes):
        raise QtiError(f"qti-assessment-item: data-cl-languages {declared!r} must list languages from "
                       f"{', '.join(LANGUAGES)}")
    languages = tuple(code for code in LANGUAGES if code in codes)
    for where, text in texts:
        missing = [code for code in languages if code not in text]
        if missing:
            raise QtiError(f"{where} has no text in {', '.join(missing)} (the item is in {' '.join(languages)})")
    return dataclasses.replace(item, languages=languages)


def qti_to_item(xml: str | bytes) -> Item:
    """The item in a QTI 3.0 document; QtiError names the element when it cannot be read."""
    return _element_to_item(_parse(xml, "QTI item"))


# ------------------------------------------------------------------- XHTML + MathML to Markdown

_FEEDBACK_ELEMENTS = ("qti-feedback-inline", "qti-feedback-block", "qti-modal-feedback")
# Never part of the text a student reads: the scorer's rubric, the interactions, and feedback (which is shown after
# answering, never as the stem's or a choice's text).
_SKIP = {"qti-rubric-block", "qti-choice-interaction", "qti-extended-text-interaction", *_FEEDBACK_ELEMENTS}
GAP = "\\_\\_\\_\\_\\_"  # a text-entry gap in another tool's stem, where the student's answer goes


def _md_escape(text: str) -> str:
    text = re.sub(r"\s+", " ", text)
    return text.replace("\\", "\\\\").replace("$", "\\$").replace("*", "\\*")


def _inline_element(el: ET.Element) -> str:
    """Markdown for one inline element, without its tail."""
    ns, local = _split(el.tag)
    if local in _SKIP or "cl-score" in (el.get("class") or "").split():
        return ""
    if local in ("qti-text-entry-interaction", "qti-inline-choice-interaction"):
        return GAP
    if local == "img" and el.get("data-cl-media"):
        alt = re.sub(r"[\[\]\\]", "", re.sub(r"\s+", " ", el.get("alt") or "")).strip()
        return f"![{alt}](item-media:{el.get('data-cl-media')})"
    if ns == MATHML_NS and local == "math":
        tex = _tex(el).strip()
        return f"$${tex}$$" if el.get("display") == "block" else f"${tex}$"
    if local in ("strong", "b"):
        return f"**{_inline_markdown(el).strip()}**"
    if local in ("em", "i"):
        return f"*{_inline_markdown(el).strip()}*"
    if local == "br":
        return " "
    if local == "a" and el.get("href"):
        # <…> lets the address hold brackets and spaces; only < and > need encoding
        href = el.get("href", "").replace("<", "%3C").replace(">", "%3E")
        return f"[{_inline_markdown(el).strip()}](<{href}>)"
    return _inline_markdown(el)


def _inline_markdown(el: ET.Element) -> str:
    parts = [_md_escape(el.text or "")]
    for child in el:
        parts.append(_inline_element(child))
        parts.append(_md_escape(child.tail or ""))
    return "".join(parts)


def _block_markdown(container: ET.Element) -> str:
    blocks: list[str] = []
    run = [_md_escape(container.text or "")]  # inline content directly in the container

    def flush() -> None:
        text = "".join(run).strip()
        if text:
            blocks.append(text)
        run.clear()

    for child in container:
        ns, local = _split(child.tag)
        if local in _SKIP or "cl-stimulus" in (child.get("class") or "").split():
            pass
        elif ns == QTI_NS and local in ("p", "div", "blockquote", "qti-prompt"):
            flush()
            inner = _inline_markdown(child).strip() if local == "p" else _block_markdown(child)
            if inner:
                blocks.append(inner)
        elif ns == QTI_NS and local in ("ul", "ol"):
            flush()
            start = int(child.get("start", "1")) if (child.get("start") or "1").isdigit() else 1
            lines = []
            for n, li in enumerate(_local_children(child, "li")):
                marker = "-" if local == "ul" else f"{start + n}."
                lines.append(f"{marker} {_inline_markdown(li).strip()}")
            if lines:
                blocks.append("\n".join(lines))
        else:
            run.append(_inline_element(child))
        run.append(_md_escape(child.tail or ""))
    flush()
    return "\n\n".join(blocks)


_MO_TEX = {
    "\u2212": "-",
    "\u2217": "*",
    "\u2032": "'",
    "\u00d7": "\\times ",
    "\u00f7": "\\div ",
    "\u22c5": "\\cdot ",
    "\u00b7": "\\cdot ",
    "\u2264": "\\le ",
    "\u2265": "\\ge ",
    "\u2260": "\\ne ",
    "\u2248": "\\approx ",
    "\u00b1": "\\pm ",
    "\u2213": "\\mp ",
    "\u2192": "\\to ",
    "\u21d2": "\\Rightarrow ",
    "\u2026": "\\ldots ",
    "\u22ef": "\\cdots ",
    "\u2218": "\\circ ",
    "$": "\\$",
    "{": "\\{",
    "}": "\\}",
    "\u2016": "\\| ",
    "\u2220": "\\angle ",
    "\u221e": "\\infty ",
    "\u2225": "\\parallel ",
}
# Characters TeX reads as syntax; as a symbol in MathML they are written escaped.
_TEX_SPECIAL = {"%": "\\%", "#": "\\#", "&": "\\&", "_": "\\_", "$": "\\$", "{": "\\{", "}": "\\}"}
# Accents over (mover) and under (munder) a base, by the character latex2mathml and other tools write.
_OVER_TEX = {"\u2015": "\\overline", "\u00af": "\\overline", "\u203e": "\\overline", "\u2192": "\\vec",
             "^": "\\hat", "\u02c6": "\\hat", "~": "\\tilde", "\u02dc": "\\tilde", "\u02d9": "\\dot"}  # fmt: skip
_UNDER_TEX = {"\u2015": "\\underline", "_": "\\underline", "\u0332": "\\underline"}
# Any other symbol: the first TeX command in latex2mathml's own table (unicode-math's names) for it, so ∈ is \in.
_UNICODE_TEX: dict[str, str] = {}
for _command, _code in SYMBOLS.items():
    if re.fullmatch(r"\\[A-Za-z]+", _command) and len(_code) <= 6:
        _UNICODE_TEX.setdefault(chr(int(_code, 16)), _command + " ")
# Written upright as one identifier: MathML <mi>sin</mi> is TeX \sin.
_FUNCTIONS = frozenset({"sin", "cos", "tan", "log", "ln", "exp", "min", "max", "gcd", "lim", "det"})
_MI_TEX = {
    "\u25fb": "\\square ",
    "\u2032": "\\prime ",
    "\u2026": "\\ldots ",
    "\u27c2": "\\perp ",
    "\u25b3": "\\triangle ",
    "\u03c0": "\\pi ",
    "\u03b8": "\\theta ",
    "\u03b1": "\\alpha ",
    "\u03b2": "\\beta ",
    "\u221e": "\\infty ",
    "\u25a1": "\\square ",
}
_SPACE_TEX = {"0.167em": "\\,", "0.222em": "\\:", "0.278em": "\\;", "0.25em": "~", "1em": "\\quad ", "2em": "\\qquad "}


_MATRICES = {("(", ")"): "pmatrix", ("[", "]"): "bmatrix", ("|", "|"): "vmatrix", ("{", "}"): "Bmatrix"}


def _bracketed(children: list[ET.Element], i: int) -> str | None:
    """TeX for brackets around a table or a line-less fraction at children[i:i+3] (a matrix, a binomial), or None."""
    if i + 2 >= len(children):
        return None
    opening, middle, closing = children[i : i + 3]
    if _split(opening.tag)[1] != "mo" or _split(closing.tag)[1] != "mo":
        return None
    pair = ((opening.text or "").strip(), (closing.text or "").strip())
    local = _split(middle.tag)[1]
    if local == "mtable" and pair in _MATRICES and opening.get("stretchy") != "false":
        return _tex(middle).replace("{matrix}", "{" + _MATRICES[pair] + "}")
    line_less = middle.get("linethickness") in ("0", "0px", "0pt") and len(middle) == 2
    if local == "mfrac" and pair == ("(", ")") and line_less:
        return "\\binom{" + _tex(middle[0]) + "}{" + _tex(middle[1]) + "}"
    return None


def _tex_sequence(children: list[ET.Element]) -> str:
    out = []
    previous = None
    i = 0
    while i < len(children):
        child = children[i]
        local = _split(child.tag)[1]
        bracketed = _bracketed(children, i)
        if bracketed is not None:
            out.append(bracketed)
            previous, i = "mo", i + 3
            continue
        if local == "mn" and previous == "mn":
            out.append(" ")  # 3 and 4 side by side are two numbers, not 34
        out.append(_tex(child))
        previous = local
        i += 1
    return "".join(out)


def _tex(el: ET.Element) -> str:
    """TeX for the MathML latex2mathml writes, and a fair reading of other presentation MathML."""
    local = _split(el.tag)[1]
    children = list(el)
    text = (el.text or "").strip()
    if local == "mstyle" and el.get("displaystyle") == "true":
        return "\\displaystyle " + _tex_sequence(children)
    if local in ("math", "mstyle", "semantics", "mpadded", "mphantom"):
        return _tex_sequence([c for c in children if _split(c.tag)[1] not in ("annotation", "annotation-xml")])
    if local == "mrow":
        first = _split(children[0].tag)[1] if children else None
        first_text = (children[0].text or "").strip() if children else ""
        if first == "mo" and first_text in ("(", "\u2212", "+"):
            # a bracketed group or a signed number: TeX needs no braces to rebuild either
            return _tex_sequence(children)
        return "{" + _tex_sequence(children) + "}"
    if local == "mn":
        return text
    if local in ("mi", "mo"):
        return _token_tex(el, local, text)
    if local == "mtext":
        return "\\text{" + (el.text or "") + "}"
    if local == "mspace":
        return "\\\\" if el.get("linebreak") == "newline" else _SPACE_TEX.get(el.get("width", ""), "~")
    if local == "mtable":
        rows = [" & ".join(_tex_sequence(list(td)) for td in tr) for tr in children]
        return "\\begin{matrix}" + " \\\\ ".join(rows) + "\\end{matrix}"
    if local in ("mover", "munder") and len(children) == 2:
        accent = (children[1].text or "").strip()
        command = (_OVER_TEX if local == "mover" else _UNDER_TEX).get(accent)
        if command:
            return f"{command}{{{_tex(children[0])}}}"
        return f"\\{'overset' if local == 'mover' else 'underset'}{{{_tex(children[1])}}}{{{_tex(children[0])}}}"
    args = ["{" + _tex(c) + "}" for c in children]
    if local == "mfrac" and len(args) == 2:
        return "\\frac" + "".join(args)
    if local == "msqrt":
        return "\\sqrt{" + _tex_sequence(children) + "}"
    if local == "mroot" and len(args) == 2:
        return f"\\sqrt[{_tex(children[1])}]{args[0]}"
    if local == "msup" and len(args) == 2:
        return f"{args[0]}^{args[1]}"
    if local == "msub" and len(args) == 2:
        return f"{args[0]}_{args[1]}"
    if local == "msubsup" and len(args) == 3:
        return f"{args[0]}_{args[1]}^{args[2]}"
    return _tex_sequence(children)


def _token_tex(el: ET.Element, local: str, text: str) -> str:
    """TeX for an identifier or operator: a named symbol, an escaped special character, or the text itself."""
    if text in _MI_TEX or text in _MO_TEX:
        tex = _MI_TEX.get(text) or _MO_TEX[text]
    elif text in _FUNCTIONS:
        tex = f"\\{text} "
    elif len(text) == 1 and not text.isascii() and text in _UNICODE_TEX:
        tex = _UNICODE_TEX[text]
    elif len(text) == 1:
        tex = _TEX_SPECIAL.get(text, text)
    elif local == "mo" and text.isalpha():
        tex = f"\\operatorname{{{text}}}"  # lcm, mod: an operator written as a word
    else:
        tex = "".join(_TEX_SPECIAL.get(ch, ch) for ch in text)
    if local == "mo" and el.get("stretchy") == "true" and el.get("form") in ("prefix", "postfix"):
        return ("\\left" if el.get("form") == "prefix" else "\\right") + tex.rstrip()
    return tex


# ------------------------------------------------------------------------------------- packages


def _cp(local: str) -> str:
    return f"{{{CP_NS}}}{local}"


def _zip_info(name: str) -> zipfile.ZipInfo:
    # a fixed date: the same bank gives a byte-identical package
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def image_type(data: bytes) -> str | None:
    """The file type of an image by its first bytes (png, jpg, gif, webp), or None for anything else (SVG, which
    can carry script, included)."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return next((kind for magic, kind in IMAGE_TYPES.items() if data.startswith(magic)), None)


def item_media(item: Item) -> set[str]:
    """The item's own files (`<sha256>.<ext>`) that its texts show."""
    return {ref for _, texts in _text_maps(item) for text in texts.values() for ref in media_refs(text)}


def bank_to_qti_package(bank: Bank, out_zip: Path, media: Callable[[str], bytes] | None = None) -> Path:
    """An IMS Content Package (QTI 3.0 profile): imsmanifest.xml, items/<key>.xml for every item, and the images
    the items show in items/media/ (their bytes from `media`, by `<sha256>.<ext>`)."""
    manifest = ET.Element(
        _cp("manifest"),
        {"identifier": "classlab-bank", f"{{{XSI_NS}}}schemaLocation": CP_SCHEMA_LOCATION},
    )
    metadata = ET.SubElement(manifest, _cp("metadata"))
    ET.SubElement(metadata, _cp("schema")).text = "QTI Package"
    ET.SubElement(metadata, _cp("schemaversion")).text = "3.0.0"
    ET.SubElement(manifest, _cp("organizations"))
    resources = ET.SubElement(manifest, _cp("resources"))
    documents: dict[str, str | bytes] = {}
    files: dict[str, bytes] = {}
    for item in bank.items.values():
        href = f"items/{item.key}.xml"
        documents[href] = item_to_qti(item)
        resource = ET.SubElement(
            resources, _cp("resource"), {"identifier": item.key, "type": ITEM_RESOURCE_TYPE, "href": href}
        )
        ET.SubElement(resource, _cp("file"), {"href": href})
        for ref in sorted(item_media(item)):
            if media is None:
                raise QtiError(f"item {item.key!r} shows the image {ref}, and no images were given to the package")
            path = f"items/{MEDIA_FOLDER}/{ref}"
            if path not in files:
                files[path] = media(ref)
            ET.SubElement(resource, _cp("file"), {"href": path})
    out_zip = Path(out_zip)
    with zipfile.ZipFile(out_zip, "w") as zf:
        zf.writestr(_zip_info("imsmanifest.xml"), _document(manifest))
        for href, document in documents.items():
            zf.writestr(_zip_info(href), document)
        for path, data in sorted(files.items()):
            info = _zip_info(path)
            info.compress_type = zipfile.ZIP_STORED  # images are compressed already
            zf.writestr(info, data)
    return out_zip


def _read_member(zf: zipfile.ZipFile, name: str, budget: list[int] | None = None) -> bytes:
    """One member of the package, read with its size bounded whatever the zip's directory claims; `budget` (a
    one-element list) is what the whole package may still unpack to, and is charged for what is read."""
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise QtiError(f"{name} is not in the package") from None
    if info.file_size > MAX_MEMBER_BYTES:
        raise QtiError(f"{name} is {info.file_size} bytes; the limit for one file is {MAX_MEMBER_BYTES}")
    if info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
        raise QtiError(f"{name} is compressed {info.file_size // info.compress_size} times; "
                       "a file compressed this much is refused (a zip bomb)")
    limit = MAX_MEMBER_BYTES if budget is None else min(MAX_MEMBER_BYTES, budget[0])
    try:
        with zf.open(info) as fh:
            # the size in the directory can lie; never read more than the limit
            data = fh.read(limit + 1)
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError) as exc:
        raise QtiError(f"{name} cannot be unpacked ({exc})") from None
    if budget is not None:
        if len(data) > budget[0]:
            raise PackageTooLarge(f"the package unpacks to more than {MAX_PACKAGE_BYTES} bytes of items")
        budget[0] -= len(data)
    if len(data) > MAX_MEMBER_BYTES:
        raise QtiError(f"{name} is larger than {MAX_MEMBER_BYTES} bytes")
    return data


def _beside(item_path: str, href: str, what: str) -> str:
    """The package member a file's relative `href` names; outside the package is refused."""
    name = posixpath.normpath(posixpath.join(posixpath.dirname(item_path), href))
    if name.startswith("../"):
        raise QtiError(f"{what}: points outside the package")
    return name


def _attach_media(root: ET.Element, zf: zipfile.ZipFile, item_path: str, budget: list[int]) -> dict[str, bytes]:
    """Read every image the item shows from the package (a path relative to the item's file), check it is an
    image, and mark its element with the file's content name (`data-cl-media`: <sha256>.<ext>), which the text
    then shows. An image that is missing, too large, or not a PNG, JPEG, GIF or WebP refuses the item."""
    found: dict[str, bytes] = {}
    for img in root.iter(_q("img")):
        src = (img.get("src") or "").strip()
        if not src or "://" in src or src.startswith(("data:", "/")):
            continue  # refused with its reason below, as content from elsewhere
        name = _beside(item_path, src, f"img {src!r}")
        try:
            info = zf.getinfo(name)
        except KeyError:
            raise QtiError(f"img {src!r}: the image is not in the package ({name})") from None
        if info.file_size > MAX_IMAGE_BYTES:
            raise QtiError(f"img {src!r}: the image is {info.file_size:,} bytes; the limit is {MAX_IMAGE_BYTES:,}")
        with zf.open(info) as fh:
            data = fh.read(MAX_IMAGE_BYTES + 1)
        if len(data) > MAX_IMAGE_BYTES:
            raise QtiError(f"img {src!r}: the image is larger than {MAX_IMAGE_BYTES:,} bytes")
        if len(data) > budget[0]:
            raise PackageTooLarge(f"the package unpacks to more than {MAX_PACKAGE_BYTES} bytes")
        budget[0] -= len(data)
        kind = image_type(data)
        if kind is None:
            raise QtiError(f"img {src!r}: not a PNG, JPEG, GIF or WebP image (SVG is not accepted: it can run script)")
        ref = f"{hashlib.sha256(data).hexdigest()}.{kind}"
        img.set("data-cl-media", ref)
        found[ref] = data
    return found


def _attach_stimuli(root: ET.Element, zf: zipfile.ZipFile, item_path: str, budget: list[int]) -> dict[str, bytes]:
    """Another tool's shared stimuli (qti-assessment-stimulus-ref), read from the package with their images and
    put into the item's body as the ClassLab stimulus (a div.cl-stimulus with its Markdown), which the item then
    keeps; the images they show."""
    body = root.find(_q("qti-item-body"))
    media: dict[str, bytes] = {}
    parts: list[str] = []
    for ref in [c for c in root if c.tag == _q("qti-assessment-stimulus-ref")]:
        href = (ref.get("href") or "").strip()
        if not href or "://" in href or href.startswith("/"):
            raise QtiError(f"qti-assessment-stimulus-ref {ref.get('identifier')!r}: the stimulus must be a file in "
                           f"the package, not {href!r}")
        name = _beside(item_path, href, f"qti-assessment-stimulus-ref {href!r}")
        stimulus = _parse(_read_member(zf, name, budget), name)
        if stimulus.tag != _q("qti-assessment-stimulus"):
            raise QtiError(f"{name}: root element is {_split(stimulus.tag)[1]}, expected qti-assessment-stimulus")
        media.update(_attach_media(stimulus, zf, name, budget))
        _refuse_what_cannot_be_kept_in(stimulus, name)
        content = stimulus.find(_q("qti-stimulus-body"))
        text = _block_markdown(content) if content is not None else ""
        if not text.strip():
            raise QtiError(f"{name}: the stimulus has no qti-stimulus-body to show")
        parts.append(text)
        root.remove(ref)
    if parts and body is not None:
        div = ET.Element(_q("div"), {"class": "cl-stimulus", "data-cl-source": "\n\n".join(parts)})
        body.insert(0, div)
    return media


def _refuse_what_cannot_be_kept_in(el: ET.Element, where: str) -> None:
    try:
        _refuse_what_cannot_be_kept(el)
    except QtiError as exc:
        raise QtiError(f"{where}: {exc}") from None


class PackageTooLarge(QtiError):
    """The whole package, not one item, is refused."""


@dataclasses.dataclass(frozen=True)
class PackageEntry:
    """One item resource of a package: the item, or why it cannot be imported (never both)."""

    href: str
    identifier: str
    item: Item | None = None
    reason: str | None = None
    media: dict[str, bytes] = dataclasses.field(default_factory=dict)  # <sha256>.<ext> -> the image's bytes


def _href(resource: ET.Element) -> str | None:
    href = resource.get("href")
    if not href:
        file_el = next((f for f in resource if _split(f.tag)[1] == "file"), None)
        href = file_el.get("href") if file_el is not None else None
    return href


def _member_name(href: str) -> str:
    """The zip member a manifest href names (relative to the manifest, at the root); outside the package is
    refused."""
    if "://" in href or href.startswith(("/", "\\")):
        raise QtiError(f"{href}: an item must be a file in the package, not {href!r}")
    name = posixpath.normpath(href.replace("\\", "/"))
    if name.startswith("../") or name == "..":
        raise QtiError(f"{href}: points outside the package")
    return name


def read_package(zip_path: Path) -> list[PackageEntry]:
    """Every item resource of a QTI 3.0 content package, in manifest order, each read on its own: an item that
    cannot be read (a missing file, an unsupported interaction, an identifier used twice) is refused with its
    reason and the others are still read. A fault of the package itself (not a zip, no manifest, too many items,
    more than MAX_PACKAGE_BYTES to unpack) raises QtiError."""
    try:
        zf = zipfile.ZipFile(zip_path)
    except zipfile.BadZipFile as exc:
        raise QtiError(f"{Path(zip_path).name}: not a zip file ({exc})") from exc
    except OSError as exc:
        raise QtiError(f"{Path(zip_path).name}: cannot be opened ({exc.strerror or exc})") from exc
    budget = [MAX_PACKAGE_BYTES]
    with zf:
        if "imsmanifest.xml" not in zf.namelist():
            raise QtiError("the package has no imsmanifest.xml")
        manifest = _parse(_read_member(zf, "imsmanifest.xml", budget), "imsmanifest.xml")
        if _split(manifest.tag)[1] != "manifest":
            raise QtiError(f"imsmanifest.xml: root element is {_split(manifest.tag)[1]}, expected manifest")
        resources = [r for r in manifest.iter() if _split(r.tag)[1] == "resource"]
        items = [r for r in resources if r.get("type") == ITEM_RESOURCE_TYPE]
        if len(items) > MAX_PACKAGE_ITEMS:
            raise QtiError(f"imsmanifest.xml lists {len(items)} items; the limit is {MAX_PACKAGE_ITEMS}")
        if not items:
            others = sorted({r.get("type") or "(none)" for r in resources})
            raise QtiError(f"imsmanifest.xml lists no QTI 3.0 item (resource type {ITEM_RESOURCE_TYPE})"
                           + (f"; it lists {', '.join(others)}" if others else ""))
        out: list[PackageEntry] = []
        seen: dict[str, str] = {}
        for resource in items:
            identifier = (resource.get("identifier") or "").strip()
            href = _href(resource)
            if not href:
                out.append(PackageEntry(href="", identifier=identifier,
                                        reason=f"imsmanifest.xml: resource {identifier!r} has no href"))
                continue
            try:
                root = _parse(_read_member(zf, _member_name(href), budget), href)
                media = _attach_media(root, zf, _member_name(href), budget)
                media.update(_attach_stimuli(root, zf, _member_name(href), budget))
                item = _element_to_item(root)
                missing = sorted(item_media(item) - set(media))
                if missing:
                    raise QtiError(f"the item shows the image {missing[0]}, which is not in the package")
            except PackageTooLarge:
                raise
            except QtiError as exc:
                message = str(exc)
                out.append(PackageEntry(href=href, identifier=identifier,
                                        reason=message if message.startswith(href) else f"{href}: {message}"))
                continue
            if item.key in seen:
                reason = f"{href}: item identifier {item.key!r} is also used by {seen[item.key]}"
                out.append(PackageEntry(href=href, identifier=item.key, reason=reason))
                continue
            seen[item.key] = href
            out.append(PackageEntry(href=href, identifier=item.key, item=item, media=media))
        return out


def qti_package_to_items(zip_path: Path) -> list[Item]:
    """The items of a QTI 3.0 content package, in manifest order; the first item that cannot be read refuses
    the package (read_package reports each item instead)."""
    entries = read_package(zip_path)
    refused = next((e for e in entries if e.reason), None)
    if refused is not None:
        raise QtiError(refused.reason)
    return [e.item for e in entries]
