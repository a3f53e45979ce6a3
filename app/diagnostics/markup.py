"""Item stems to safe HTML with MathML, rendered on the server.

    render_stem(markdown)   -> Markup   paragraphs and lists, **bold**, *italic*, $maths$ and $$display maths$$
    render_inline(markdown) -> Markup   the same without the paragraph wrapper (choice texts, rubric lines)
    tex_to_mathml(tex)      -> str      one <math> element
    check(markdown)         -> [str]    what an author should fix: unclosed $, unknown TeX commands, control characters

Every character of the input is escaped: no raw HTML passes through, so a `<script>` in a stem is text.
The TeX converter covers the subset the bank uses (numbers, letters, operators, parentheses, \\frac,
^, _, \\sqrt, \\text and a few symbols). It is total: an unknown command becomes escaped text inside
the formula and nothing in the input raises, because stems come from teachers' uploads as well as
from us. Neither `markdown` nor `latex2mathml` is installed in the project, hence this small module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import escape

from markupsafe import Markup

__all__ = ["check", "render_inline", "render_stem", "tex_to_mathml"]

# ------------------------------------------------------------------------------------------ TeX

# Operators as MathML wants them: the true minus sign, not the hyphen.
_CHAR_OPERATORS = {"-": "\u2212", "*": "\u2217", "'": "\u2032"}

_SYMBOLS = {
    "times": "\u00d7",
    "div": "\u00f7",
    "cdot": "\u22c5",
    "le": "\u2264",
    "leq": "\u2264",
    "ge": "\u2265",
    "geq": "\u2265",
    "ne": "\u2260",
    "neq": "\u2260",
    "approx": "\u2248",
    "pm": "\u00b1",
    "mp": "\u2213",
    "lt": "<",
    "gt": ">",
    "to": "\u2192",
    "rightarrow": "\u2192",
    "Rightarrow": "\u21d2",
    "ldots": "\u2026",
    "dots": "\u2026",
    "cdots": "\u22ef",
    "circ": "\u2218",
    "%": "%",
    "$": "$",
    "{": "{",
    "}": "}",
    "|": "\u2016",
}
_IDENTIFIERS = {
    "pi": "\u03c0",
    "theta": "\u03b8",
    "alpha": "\u03b1",
    "beta": "\u03b2",
    "infty": "\u221e",
    "square": "\u25a1",
}
FUNCTIONS = frozenset({"sin", "cos", "tan", "log", "ln"})  # written upright, as one identifier
_SPACES = {",": "0.167em", ":": "0.222em", ";": "0.278em", " ": "0.25em", "quad": "1em", "qquad": "2em"}
_IGNORED = {"left", "right", "!", "displaystyle"}
_FRACTIONS = {"frac", "dfrac", "tfrac"}
_TEXTS = {"text", "mbox", "mathrm", "textrm"}
KNOWN_COMMANDS = frozenset(
    set(_SYMBOLS) | set(_IDENTIFIERS) | FUNCTIONS | set(_SPACES) | _IGNORED | _FRACTIONS | _TEXTS | {"sqrt"}
)

# An operator after which + and - are signs, not operations (so -3 is a negative number).
_NOT_PREFIX_AFTER = {")", "]", "!", "%", "\u2032", "\u2026", "}"}
# Nesting beyond this is not a formula a teacher wrote; the rest is shown as text instead of recursing.
_MAX_DEPTH = 40


@dataclass
class _Node:
    tag: str
    text: str | None = None
    children: list[_Node] = field(default_factory=list)
    attrs: dict[str, str] = field(default_factory=dict)

    def html(self) -> str:
        attrs = "".join(f' {k}="{escape(v)}"' for k, v in self.attrs.items())
        inner = escape(self.text, quote=False) if self.text is not None else "".join(c.html() for c in self.children)
        return f"<{self.tag}{attrs}>{inner}</{self.tag}>"


def _empty(node: _Node) -> bool:
    return node.tag == "mrow" and not node.children


def _row(children: list[_Node]) -> _Node:
    return children[0] if len(children) == 1 else _Node("mrow", children=children)


class _TexParser:
    def __init__(self, src: str) -> None:
        self.src = src
        self.i = 0
        self.unknown: list[str] = []

    # -- helpers
    def _peek(self) -> str:
        return self.src[self.i] if self.i < len(self.src) else ""

    def _skip_spaces(self) -> None:
        while self.i < len(self.src) and self.src[self.i].isspace():
            self.i += 1

    def _rest_as_text(self) -> _Node:
        rest, self.i = self.src[self.i :], len(self.src)
        self.unknown.append("(too deep)")
        return _Node("mtext", rest)

    # -- grammar
    def parse(self) -> list[_Node]:
        return self._sequence(frozenset(), 0)

    def _sequence(self, stops: frozenset[str], depth: int) -> list[_Node]:
        items: list[_Node] = []
        while True:
            self._skip_spaces()
            ch = self._peek()
            if not ch or ch in stops:
                return items
            if ch in "^_":
                base = items.pop() if items else _Node("mrow")
                items.append(self._scripts(base, depth))
                continue
            if ch in "+-\u2212" and self._prefix_position(items):
                self.i += 1
                sign = _Node("mo", "\u2212" if ch != "+" else "+")
                self._skip_spaces()
                nxt = self._peek()
                if nxt and nxt not in stops and nxt not in "+-\u2212=<>":
                    operand = self._scripts(self._atom(stops, depth), depth)
                    items.append(_Node("mrow", children=[sign, operand]) if not _empty(operand) else sign)
                else:
                    items.append(sign)
                continue
            node = self._scripts(self._atom(stops, depth), depth)
            if not _empty(node):  # \left, \right and {} leave nothing to show
                items.append(node)

    @staticmethod
    def _prefix_position(items: list[_Node]) -> bool:
        if not items:
            return True
        last = items[-1]
        return last.tag == "mo" and last.text not in _NOT_PREFIX_AFTER

    def _scripts(self, base: _Node, depth: int) -> _Node:
        while True:
            save = self.i
            self._skip_spaces()
            ch = self._peek()
            if ch not in ("^", "_"):
                self.i = save
                return base
            self.i += 1
            arg = self._argument(depth)
            if ch == "^" and base.tag == "msub":
                base = _Node("msubsup", children=[*base.children, arg])
            else:
                base = _Node("msup" if ch == "^" else "msub", children=[base, arg])

    def _group(self, close: str, depth: int) -> list[_Node]:
        """Contents up to `close` (consumed when present; an unclosed group ends with the input)."""
        items = self._sequence(frozenset({close}), depth + 1)
        if self._peek() == close:
            self.i += 1
        return items

    def _argument(self, depth: int) -> _Node:
        """One argument of \\frac, ^ or \\sqrt: a {group}, or a single character as in TeX's x^2 or \\frac12."""
        self._skip_spaces()
        ch = self._peek()
        if not ch or ch == "}":
            return _Node("mrow")
        if depth > _MAX_DEPTH:
            return self._rest_as_text()
        if ch == "{":
            self.i += 1
            return _row(self._group("}", depth))
        if ch.isdigit():
            self.i += 1
            return _Node("mn", ch)
        return self._atom(frozenset({"}"}), depth)

    def _atom(self, stops: frozenset[str], depth: int) -> _Node:
        if depth > _MAX_DEPTH:
            return self._rest_as_text()
        ch = self.src[self.i]
        number = re.compile(r"\d+(?:\.\d+)?|\.\d+").match(self.src, self.i)
        if number:
            self.i = number.end()
            return _Node("mn", number.group())
        self.i += 1
        if ch == "\\":
            return self._command(depth)
        if ch == "{":
            return _row(self._group("}", depth))
        if ch == "(":
            inner = self._sequence(stops | {")"}, depth + 1)
            children = [_Node("mo", "("), *inner]
            if self._peek() == ")":
                self.i += 1
                children.append(_Node("mo", ")"))
            return _Node("mrow", children=children)
        if ch.isalpha():
            return _Node("mi", ch)
        if ch == "~":
            return _Node("mspace", attrs={"width": _SPACES[" "]})
        return _Node("mo", _CHAR_OPERATORS.get(ch, ch))

    def _command(self, depth: int) -> _Node:
        m = re.compile(r"[A-Za-z]+").match(self.src, self.i)
        if m:
            name = m.group()
            self.i = m.end()
        elif self.i < len(self.src):
            name = self.src[self.i]
            self.i += 1
        else:
            self.unknown.append("\\")
            return _Node("mtext", "\\")
        if name in _FRACTIONS:
            return _Node("mfrac", children=[self._argument(depth + 1), self._argument(depth + 1)])
        if name == "sqrt":
            self._skip_spaces()
            if self._peek() == "[":
                self.i += 1
                index = _row(self._group("]", depth))
                return _Node("mroot", children=[self._argument(depth + 1), index])
            return _Node("msqrt", children=[self._argument(depth + 1)])
        if name in _TEXTS:
            return _Node("mtext", self._raw_group())
        if name in _SYMBOLS:
            return _Node("mo", _SYMBOLS[name])
        if name in _IDENTIFIERS:
            return _Node("mi", _IDENTIFIERS[name])
        if name in FUNCTIONS:
            return _Node("mi", name)
        if name in _SPACES:
            return _Node("mspace", attrs={"width": _SPACES[name]})
        if name in _IGNORED:
            # \left. and \right. are invisible delimiters
            if name in ("left", "right") and self._peek() == ".":
                self.i += 1
            return _Node("mrow")
        self.unknown.append("\\" + name)
        return _Node("mtext", "\\" + name)

    def _raw_group(self) -> str:
        """The literal text of a {group} (for \\text), braces balanced; no group -> the next character."""
        self._skip_spaces()
        if self._peek() != "{":
            ch = self._peek()
            self.i += len(ch)
            return ch
        level, start = 0, self.i + 1
        while self.i < len(self.src):
            ch = self.src[self.i]
            if ch == "\\":
                self.i += 2
                continue
            if ch == "{":
                level += 1
            elif ch == "}":
                level -= 1
                if level == 0:
                    self.i += 1
                    return self.src[start : self.i - 1]
            self.i += 1
        return self.src[start:]


def _convert(tex: str, display: bool = False) -> tuple[str, list[str]]:
    parser = _TexParser(tex)
    nodes = parser.parse()
    attrs = {"display": "block"} if display else {}
    root = _Node("math", children=nodes, attrs=attrs)
    if _depth(root) > 2 * _MAX_DEPTH:
        # x^x^x^... nests without nesting braces; a tree this deep is not a formula, so show the source
        return _Node("math", children=[_Node("mtext", tex)], attrs=attrs).html(), [*parser.unknown, "(too deep)"]
    return root.html(), parser.unknown


def _depth(root: _Node) -> int:
    deepest, stack = 0, [(root, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in node.children)
    return deepest


def tex_to_mathml(tex: str, display: bool = False) -> str:
    """One `<math>` element (no namespace attribute: HTML knows MathML; the QTI writer adds it)."""
    return _convert(tex, display)[0]


# ------------------------------------------------------------------------------------- Markdown

_PLACEHOLDER = "\x00{}\x00"
_HELD = re.compile("\x00(\\d+)\x00")
_STARS = re.compile(r"(\*+)")
_BULLET = re.compile(r"^ {0,3}[-*+]\s+(.*)$")
_ORDERED = re.compile(r"^ {0,3}(\d{1,9})[.)]\s+(.*)$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass
class _Inline:
    pieces: list[str] = field(default_factory=list)  # finished HTML held out of the emphasis pass
    problems: list[str] = field(default_factory=list)


def _inline(text: str, state: _Inline) -> str:
    """Escaped text with maths and literal stars replaced by placeholders, then emphasis, then the pieces."""
    out: list[str] = []
    i, n = 0, len(text)

    def hold(html: str) -> None:
        out.append(_PLACEHOLDER.format(len(state.pieces)))
        state.pieces.append(html)

    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n and text[i + 1] in "$*\\":
            hold(escape(text[i + 1], quote=False))
            i += 2
            continue
        if ch == "$":
            display = text.startswith("$$", i)
            opener = 2 if display else 1
            end = _closing_dollar(text, i + opener, display)
            if end is None:
                state.problems.append(f"unclosed {'$$' if display else '$'} at character {i + 1}")
                out.append(escape(text[i : i + opener], quote=False))
                i += opener
                continue
            html, unknown = _convert(text[i + opener : end], display)
            state.problems.extend(
                "a formula is nested too deeply" if cmd == "(too deep)" else f"unknown TeX command {cmd}"
                for cmd in unknown
            )
            hold(html)
            i = end + opener
            continue
        out.append(escape(ch, quote=False))
        i += 1
    return _resolve(_emphasis("".join(out)), state)


def _resolve(html: str, state: _Inline) -> str:
    return _HELD.sub(lambda m: state.pieces[int(m.group(1))], html)


def _emphasis(html: str) -> str:
    """**strong** and *em* in one linear pass; unmatched stars stay as they are.

    A run of stars opens when a non-space follows it and closes when a non-space precedes it, and
    closing pops back to the matching opener, so tags always nest. Runs of three or more are text.
    """
    parts = _STARS.split(html)
    out: list[str] = []
    stack: list[tuple[int, int]] = []  # (index in out, run length) of openers not yet closed
    open_count = {1: 0, 2: 0}
    for i, part in enumerate(parts):
        if i % 2 == 0 or len(part) > 2:
            out.append(part)
            continue
        n = len(part)
        before = parts[i - 1][-1:]
        after = parts[i + 1][:1] if i + 1 < len(parts) else ""
        if before and not before.isspace() and open_count[n]:
            while True:
                slot, length = stack.pop()
                open_count[length] -= 1
                if length == n:
                    break
            tag = "strong" if n == 2 else "em"
            out[slot] = f"<{tag}>"
            out.append(f"</{tag}>")
        elif after and not after.isspace():
            stack.append((len(out), n))
            open_count[n] += 1
            out.append(part)
        else:
            out.append(part)
    return "".join(out)


def _closing_dollar(text: str, start: int, display: bool) -> int | None:
    j = start
    while j < len(text):
        if text[j] == "\\":
            j += 2
            continue
        if text[j] == "$":
            if not display:
                return j if j > start else None
            if text.startswith("$$", j):
                return j
        j += 1
    return None


def _blocks(markdown: str) -> list[tuple[str, list[str], int]]:
    """(kind, lines, start) with kind "p", "ul" or "ol"; a list's lines are its items."""
    blocks: list[tuple[str, list[str], int]] = []
    kind: str | None = None
    lines: list[str] = []
    start = 1

    def flush() -> None:
        nonlocal kind, lines
        if kind is not None:
            blocks.append((kind, lines, start))
        kind, lines = None, []

    for raw in markdown.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not raw.strip():
            flush()
            continue
        bullet, ordered = _BULLET.match(raw), _ORDERED.match(raw)
        if bullet or ordered:
            new_kind = "ul" if bullet else "ol"
            if kind != new_kind:
                flush()
                kind = new_kind
                start = int(ordered.group(1)) if ordered else 1
            lines.append((bullet or ordered).groups()[-1].strip())
        elif kind in ("ul", "ol") and raw[:2] == "  ":
            lines[-1] += " " + raw.strip()
        else:
            if kind != "p":
                flush()
                kind = "p"
            lines.append(raw.strip())
    flush()
    return blocks


def _render(markdown: str) -> tuple[str, list[str]]:
    state = _Inline()
    parts = []
    for kind, lines, start in _blocks(_CONTROL.sub("", markdown)):
        if kind == "p":
            parts.append(f"<p>{_inline(' '.join(lines), state)}</p>")
        else:
            attr = f' start="{start}"' if kind == "ol" and start != 1 else ""
            items = "".join(f"<li>{_inline(line, state)}</li>" for line in lines)
            parts.append(f"<{kind}{attr}>{items}</{kind}>")
    return "".join(parts), state.problems


def render_stem(markdown: str) -> Markup:
    """Block Markdown to HTML: paragraphs (blank-line separated), `- ` and `1. ` lists, inline markup, maths."""
    return Markup(_render(markdown)[0])


def render_inline(markdown: str) -> Markup:
    """Inline Markdown only (a choice, a rubric line): lines are joined by spaces, no <p>."""
    text = " ".join(line.strip() for line in _CONTROL.sub("", markdown).splitlines() if line.strip())
    return Markup(_inline(text, _Inline()))


def check(markdown: str) -> list[str]:
    """Problems an author should fix; rendering still works without fixing them."""
    problems = []
    bad = sorted({f"U+{ord(c):04X}" for c in _CONTROL.findall(markdown)})
    if bad:
        # The usual cause is "\frac" in a double-quoted YAML string, where \f is a form feed.
        problems.append(
            f"contains control character(s) {', '.join(bad)}; write TeX in single-quoted or block YAML strings"
        )
    problems.extend(_render(markdown)[1])
    return problems
