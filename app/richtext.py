"""Authored rich text — Markdown with $TeX$ maths — to safe HTML with MathML, rendered on the server.

    render_block(markdown)  -> Markup   paragraphs and lists, **bold**, *italic*, links, $maths$ and $$display maths$$
    render_inline(markdown) -> Markup   the same without blocks (a choice, a rubric line)
    tex_to_mathml(tex)      -> str      one <math> element
    check(markdown)         -> [str]    what an author should fix: unclosed $, TeX the converter refuses,
                                        control characters
    with_digits(html, digits) -> Markup the rendering with Arabic-Indic digits, for a class that reads them
    sanitize(html)          -> str      the allow-list every rendering passes through

Every bank's texts go through here (items, choices, rubrics, misconception notes, and the banks to come), so
the rules are in one place. Markdown is parsed by markdown-it-py with raw HTML off (a `<script>` in a stem is
text) and only the rules a question needs; `$…$` and `$$…$$` by mdit-py-plugins' dollarmath; TeX becomes
MathML by latex2mathml. The finished HTML then goes through nh3 (the Ammonia sanitizer) with an allow-list of
HTML and presentation-MathML elements and attributes: whatever the three libraries let through, nothing
executable reaches a page (no script, event handler, style, `javascript:` URL, MathML `href`, `<maction>`).

Rendering is total: stems come from teachers' uploads, so nothing in the input raises. A formula the
converter refuses, or that uses a command it does not know, is shown as its TeX source in
`<mtext class="tex-error">`, and `check` says why, so the bank loader reports it by file, line and field.

The output is XHTML as well as HTML (the QTI export embeds it in XML): void elements are closed and the only
named entity the serializer writes, `&nbsp;`, is written as the character.
"""

from __future__ import annotations

import functools
import re
from html import escape
from xml.etree import ElementTree as ET

import latex2mathml.converter
import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markupsafe import Markup
from mdit_py_plugins.dollarmath import dollarmath_plugin

__all__ = ["DIGITS", "MATHML_NS", "MEDIA_REF", "check", "media_refs", "render_block", "render_inline", "sanitize",
           "tex_to_mathml", "with_digits"]

MATHML_NS = "http://www.w3.org/1998/Math/MathML"

# The usual cause is "\frac" in a double-quoted YAML string, where \f is a form feed.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# A formula longer or deeper than this is not one a teacher wrote; refusing it bounds the converter's time and
# recursion (latex2mathml recurses once per group).
MAX_TEX_CHARS = 2000
MAX_TEX_DEPTH = 40

# Commands that are not maths but links, styles or macro definitions: refused, whatever the converter does.
_REFUSED = frozenset(
    {"href", "url", "style", "class", "cssId", "html", "newcommand", "renewcommand", "def", "let", "require"}
)
_COMMAND = re.compile(r"\\([A-Za-z]+|.)", re.DOTALL)
# Elements that hold a fixed number of parts, and how an author knows them.
_ARITY = {
    "mfrac": (2, "\\frac"),
    "mroot": (2, "\\sqrt[n]"),
    "msup": (2, "^"),
    "msub": (2, "_"),
    "msubsup": (3, "_ and ^"),
    "mover": (2, "an accent or \\overset"),
    "munder": (2, "\\underset"),
    "munderover": (3, "a limit"),
}
_ROWS = ("math", "mrow", "msqrt", "mstyle", "mtd", "mpadded", "mphantom", "menclose")  # hold an inferred mrow
_TOKENS = ("mi", "mn", "mo")  # where latex2mathml leaves an unknown command, as its own name
# latex2mathml writes symbols as character references in element text, and its own convert() then unescapes the
# whole document, author's text included ("\\text{&lt;b&gt;}" comes out as a tag). We take its element tree and
# decode only these references, so the text stays text.
_CHAR_REF = re.compile(r"&#x([0-9A-Fa-f]{1,6});")

# ---------------------------------------------------------------------------------------- sanitizer

_HTML_TAGS = {"p", "br", "em", "strong", "code", "a", "ul", "ol", "li", "img"}
# An image is a file of the item, kept in storage by its content: `item-media:<sha256>.<ext>`. Pages turn the
# reference into a signed link (never a guessable one); an image from anywhere else (another site would learn who
# reads the item) loses its address here.
MEDIA_SCHEME = "item-media"
MEDIA_REF = re.compile(r"item-media:([0-9a-f]{64}\.(?:png|jpg|gif|webp))")
_IMG_TAG = re.compile(r"<img([^>]*?)\s*/?>")
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*(<[^>]*>|[^)\s]+)")
_MATHML_TAGS = {
    "math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "mfrac", "msqrt", "mroot", "msup", "msub",
    "msubsup", "mover", "munder", "munderover", "mtable", "mtr", "mtd", "mstyle", "mpadded", "mphantom",
    "menclose",
}  # fmt: skip
# Presentation only: sizes, spacing, variants, table layout. Deliberately absent: href, xlink:href, actiontype,
# style, class (except our one), id, src, and every on* attribute. <maction>, <semantics>/<annotation-xml> (an
# HTML integration point) and <mglyph> are not allowed elements at all.
_MO = {"stretchy", "fence", "form", "separator", "lspace", "rspace", "minsize", "maxsize", "largeop",
       "movablelimits", "accent", "symmetric"}  # fmt: skip
_COMMON_MATH = {"mathvariant", "mathsize", "displaystyle", "scriptlevel"}
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt"},
    "ol": {"start"},
    "math": {"display"},
    "mo": _MO,
    "mspace": {"width", "height", "depth", "linebreak"},
    "mfrac": {"linethickness"},
    "mover": {"accent"},
    "munder": {"accentunder"},
    "munderover": {"accent", "accentunder"},
    "mpadded": {"width", "height", "depth", "lspace", "voffset"},
    "menclose": {"notation"},
    "mtable": {"columnalign", "rowalign", "columnspacing", "rowspacing", "columnlines", "rowlines", "frame"},
    "mtr": {"columnalign", "rowalign"},
    "mtd": {"columnalign", "rowalign", "columnspan", "rowspan"},
}
for _tag in _MATHML_TAGS:
    _ATTRIBUTES[_tag] = _ATTRIBUTES.get(_tag, set()) | _COMMON_MATH


def sanitize(html: str) -> str:
    """Only the allowed HTML and MathML, as XHTML. Every rendering ends here; the tests feed it hostile markup."""
    clean = nh3.clean(
        html,
        tags=_HTML_TAGS | _MATHML_TAGS,
        attributes=_ATTRIBUTES,
        allowed_classes={"mtext": {"tex-error"}},
        url_schemes={"http", "https", "mailto", MEDIA_SCHEME},
        attribute_filter=_only_item_media,
        link_rel="noopener noreferrer nofollow",
        # HTML parsers put <math> in the MathML namespace by themselves; XML readers (the QTI export) need it said
        set_tag_attribute_values={"math": {"xmlns": MATHML_NS}},
        strip_comments=True,
    )
    # XHTML, as <br /> (the QTI export reads it); an image whose address was not an item's file is dropped
    clean = _IMG_TAG.sub(lambda m: f"<img{m.group(1)} />" if ' src="' in m.group(1) else "", clean)
    return clean.replace("<br>", "<br />").replace("&nbsp;", "\u00a0")


def _only_item_media(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        return value if MEDIA_REF.fullmatch(value) else None
    if tag != "img" and value.startswith(f"{MEDIA_SCHEME}:"):
        return None  # a link to an item's file is not a page
    return value


def media_refs(text: str) -> set[str]:
    """The item files (`<sha256>.<ext>`) a Markdown text shows."""
    return set(MEDIA_REF.findall(text or ""))


# ---------------------------------------------------------------------------------------------- TeX


def _depth(tex: str) -> tuple[int, int]:
    """(deepest brace nesting, final balance) ignoring escaped braces."""
    deepest = level = 0
    i = 0
    while i < len(tex):
        ch = tex[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "{":
            level += 1
            deepest = max(deepest, level)
        elif ch == "}":
            level -= 1
            if level < 0:
                return deepest, level
        i += 1
    return deepest, level


def _show(tex: str) -> str:
    """The formula as an author finds it in the bank file, shortened to fit a message."""
    return f"${tex}$" if len(tex) <= 40 else f"${tex[:37]}…$"


def _refusal(tex: str) -> str | None:
    """Why the source alone is refused, before the converter sees it."""
    if len(tex) > MAX_TEX_CHARS:
        return f"a formula is longer than {MAX_TEX_CHARS} characters"
    deepest, balance = _depth(tex)
    if deepest > MAX_TEX_DEPTH:
        return "a formula is nested too deeply"
    if balance:
        return f"unbalanced braces in {_show(tex)}: {'a } has no {' if balance < 0 else 'a { is not closed'}"
    for m in _COMMAND.finditer(tex):
        if m.group(1) in _REFUSED:
            return f"\\{m.group(1)} is not allowed in a formula"
    return None


def _tree_problem(root: ET.Element, tex: str) -> str | None:
    """Why the converter's MathML is not the formula the author meant, or None."""
    stack = [(root, 1)]
    while stack:
        el, level = stack.pop()
        if level > 3 * MAX_TEX_DEPTH:
            return "a formula is nested too deeply"
        if el.tag in _TOKENS and (el.text or "").startswith("\\"):
            return f"unknown TeX command {el.text}"
        if el.tag in _ARITY and len(el) != _ARITY[el.tag][0]:
            return f"{_ARITY[el.tag][1]} is missing a part in {_show(tex)}"
        stack.extend((child, level + 1) for child in el)
    return None


def _words(exc: Exception) -> str:
    """latex2mathml's errors are named, not explained: DenominatorNotFoundError -> 'denominator not found'."""
    name = type(exc).__name__.removesuffix("Error")
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", name).lower()
    detail = str(exc).strip()
    return f"{words} ({detail})" if detail else words


def _convert(tex: str, display: bool) -> tuple[str, str | None]:
    """(one <math> element, what is wrong with the TeX or None)."""
    tex = _CONTROL.sub("", tex)
    problem = _refusal(tex)
    root = None
    if problem is None:
        try:
            root = latex2mathml.converter.convert_to_element(tex, display="block" if display else "inline")
        except RecursionError:
            problem = "a formula is nested too deeply"
        except Exception as exc:  # noqa: BLE001 - any refusal by the converter is the author's to fix, not a crash
            problem = f"cannot convert {_show(tex)}: {_words(exc)}"
        else:
            problem = _tree_problem(root, tex)
    attrs = ' display="block"' if display else ""
    if problem is not None or root is None:
        return f'<math{attrs}><mtext class="tex-error">{escape(tex, quote=False)}</mtext></math>', problem
    root.attrib.pop("xmlns", None)
    if root.get("display") == "inline":
        del root.attrib["display"]  # the default
    for el in root.iter():
        if el.text:
            el.text = _CHAR_REF.sub(_char, el.text)
        if el.tag == "mi" and el.text == ":":
            el.tag = "mo"  # the ratio colon: latex2mathml makes it an identifier, which loses TeX's relation spacing
    _drop_redundant_rows(root)
    return ET.tostring(root, encoding="unicode", short_empty_elements=False), None


def _char(m: re.Match[str]) -> str:
    code = int(m.group(1), 16)
    return chr(code) if code in range(0x20, 0x110000) and not 0xD800 <= code <= 0xDFFF else "\ufffd"


def _drop_redundant_rows(el: ET.Element) -> None:
    """latex2mathml wraps every group in <mrow>. An mrow with one child shows as that child, and an mrow that is the
    only content of a row shows as its children (MathML 3 §3.1.3.1, inferred mrows), so both go and the markup is as
    small as a hand-written one. Other rows stay: they bound how far a \\left( \\right) fence stretches."""
    for child in el:
        _drop_redundant_rows(child)
    i = 0
    while i < len(el):
        child = el[i]
        only_child_of_row = len(el) == 1 and el.tag in _ROWS
        if child.tag == "mrow" and not child.attrib and len(child) and (len(child) == 1 or only_child_of_row):
            el[i : i + 1] = list(child)
        else:
            i += 1


def tex_to_mathml(tex: str, display: bool = False) -> str:
    """One sanitized `<math>` element in the MathML namespace; TeX it cannot convert is shown as its source."""
    return sanitize(_convert(tex, display)[0])


# ----------------------------------------------------------------------------------------- Markdown


def _math_rule(self, tokens, idx, options, env) -> str:  # noqa: ANN001 - markdown-it's renderer signature
    token = tokens[idx]
    html, problem = _convert(token.content, display=token.type != "math_inline")
    if problem is not None:
        env.setdefault("problems", []).append(problem)
    return f"<p>{html}</p>\n" if token.type == "math_block" else html


def _unclosed_dollars(state: StateCore) -> None:
    """A `$` left in text opened no formula (escaped ones are separate tokens until text_join)."""
    problems = state.env.setdefault("problems", [])
    for token in state.tokens:
        for child in token.children or ():
            if child.type == "text" and "$" in child.content:
                sign = "$$" if "$$" in child.content else "$"
                snippet = child.content.strip()
                snippet = snippet if len(snippet) <= 40 else snippet[:37] + "…"
                problems.append(f'unclosed {sign} in "{snippet}": write \\$ for a dollar sign')


def _markdown() -> MarkdownIt:
    # "zero" plus the rules a question needs, and images (which the sanitizer keeps only as an item's own files).
    # Not enabled on purpose: raw HTML, headings and rules (a line of dashes under a line of text is not a heading
    # in a stem), and indented code blocks (a YAML block string indented further would turn into code).
    md = MarkdownIt("zero", {"html": False, "linkify": False, "typographer": False})
    md.enable(["list", "emphasis", "escape", "newline", "backticks", "link", "autolink", "entity", "image"])
    md.use(dollarmath_plugin, allow_labels=False, allow_space=True, allow_digits=True, double_inline=True)
    for rule in ("math_inline", "math_inline_double", "math_block"):
        md.add_render_rule(rule, _math_rule)
    md.core.ruler.before("text_join", "unclosed_dollars", _unclosed_dollars)
    return md


_MD = _markdown()


def _render(markdown: str, inline: bool) -> tuple[str, tuple[str, ...]]:
    # Pure, about a millisecond a text, and a bank page shows hundreds of the same texts on every visit. Only short
    # texts are kept (MathML is up to ~20 times its TeX), so the cache stays under ~10 MB whatever is uploaded.
    return (_render_cached if len(markdown or "") <= _CACHED_CHARS else _render_uncached)(markdown, inline)


_CACHED_CHARS = 1000


def _render_uncached(markdown: str, inline: bool) -> tuple[str, tuple[str, ...]]:
    env: dict = {"problems": []}
    text = _CONTROL.sub("", markdown or "")
    try:
        html = _MD.renderInline(text, env) if inline else _MD.render(text, env)
    except RecursionError:
        # markdown-it nests as deep as the input does; such a text is not a question
        env["problems"].append("the text is nested too deeply")
        html = escape(text, quote=False)
    return sanitize(html.strip()), tuple(env["problems"])


_render_cached = functools.lru_cache(maxsize=512)(_render_uncached)


def render_block(markdown: str) -> Markup:
    """Block Markdown to HTML: paragraphs (blank-line separated), `- ` and `1. ` lists, inline markup, maths."""
    return Markup(_render(markdown, inline=False)[0])


def render_inline(markdown: str) -> Markup:
    """Inline Markdown only (a choice, a rubric line): no <p>, list markers stay text."""
    return Markup(_render(markdown, inline=True)[0])


def check(markdown: str) -> list[str]:
    """Problems an author should fix; rendering still works without fixing them."""
    problems = []
    bad = sorted({f"U+{ord(c):04X}" for c in _CONTROL.findall(markdown)})
    if bad:
        problems.append(
            f"contains control character(s) {', '.join(bad)}; write TeX in single-quoted or block YAML strings"
        )
    problems.extend(_render(markdown, inline=False)[1])
    for src in _MD_IMAGE.findall(markdown):
        if not MEDIA_REF.fullmatch(src.strip("<>")):
            problems.append(f"image {src!r}: an image must be one of the item's own files (item-media:<sha256>.png); "
                            "images from other sites are not shown")
    return problems


# ------------------------------------------------------------------------------------------- digits

#: How numbers are written for a reader: 0-9, or ٠-٩ (Arabic-Indic, as many classes taught in Arabic read them).
DIGITS = ("western", "arabic-indic")
_ARABIC_INDIC = str.maketrans("0123456789", "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669")
_ARABIC_DECIMAL_SEPARATOR = "\u066b"  # ٫
_DECIMAL_POINT = re.compile(r"(?<=\d)\.(?=\d)")
_TAG_OR_REFERENCE = re.compile(r"(<[^>]*>|&#?\w+;)")


def with_digits(html: str, digits: str) -> Markup:
    """Rendered (safe) HTML with its numbers written in `digits`: for "arabic-indic", every digit of the text and of
    the maths (MathML <mn>) becomes ٠-٩ and a decimal point between digits the Arabic decimal separator (3.2 is
    ٣٫٢). Tags, attributes and character references are left alone. The bank keeps Western digits; a student's
    answer in either is read by the same parser."""
    if digits not in DIGITS:
        raise ValueError(f"unknown digits {digits!r} (expected one of {', '.join(DIGITS)})")
    if digits == "western":
        return Markup(html)
    parts = _TAG_OR_REFERENCE.split(str(html))
    for i in range(0, len(parts), 2):  # text between the tags: split() puts the captured tags at odd places
        parts[i] = _DECIMAL_POINT.sub(_ARABIC_DECIMAL_SEPARATOR, parts[i]).translate(_ARABIC_INDIC)
    return Markup("".join(parts))
