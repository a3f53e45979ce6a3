"""The SVG chart kit: self-contained, printable charts for every module (stdlib only, no Flask).

    bar_chart_svg(values, title=..., rtl=...)                        -> str  horizontal bars, signed values
    heatmap_svg(rows, columns, cells, states, title=..., rtl=...)    -> str  a grid of coloured states + legend
    stacked_columns_svg(columns, series, title=..., rtl=...)         -> str  counts per column, stacked by series
    line_chart_svg(columns, series, title=..., lo=, hi=, rtl=...)    -> str  a level per column for each series
    axis_ticks(top)                                                  -> [int]  whole-number gridlines
    text_width(text, size), wrap(text, width, size)                  how wide text is drawn; lines that fit
    PALETTE, SERIES_COLOURS                                          colour-blind-safe fills
    FIT_WIDTH, PHONE_PX, MIN_TEXT_PX                                 the phone a chart is drawn for

What every chart shares, so a teacher reads them all the same way:

* Everything the caller passes (titles, labels, keys) is text, never markup: it is escaped for XML and
  characters XML forbids are replaced, so a student called ``<script>`` prints as that name.
* No scripts, styles or external references; each bar or cell carries a ``<title>`` tooltip and
  ``data-`` attributes so tests and screen readers can find it.
* ``rtl=True`` mirrors the layout for Hebrew and Arabic pages: the first column is the rightmost, labels
  sit right of the plot and are right-aligned, legends run from the right.
* Empty data still renders a well-formed chart (a dash where the bars would be).
* Drawn for a phone first. A page shows a chart at its own size or narrower (``max-width: 100%``), so a
  chart no wider than ``FIT_WIDTH`` keeps its text at ``MIN_TEXT_PX`` or more even in the ``PHONE_PX``
  a 390 px phone leaves inside a card. Bars put their labels above the bar when the labels are long;
  titles, legends and long labels wrap to the width instead of widening the chart, measured with
  ``text_width`` (an overestimate of DejaVu Sans, the widest of the fonts named). A heatmap or a column
  chart whose grid cannot fit keeps its size and is marked ``class="chart-wide"`` for the page to scroll
  it; its title and legend still wrap within ``FIT_WIDTH`` from the reading edge, so they are read
  without scrolling.
* A label whose first letter is right-to-left (HTML's dir="auto") is held in an embedding (RLE ...
  PDF), so a Hebrew title ending in a parenthesis or a Latin word keeps its order inside the
  left-to-right SVG, in either chart direction.

A new kind of chart belongs here, beside these, so every module's charts keep one look.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "FIT_WIDTH",
    "MIN_TEXT_PX",
    "PALETTE",
    "PHONE_PX",
    "SERIES_COLOURS",
    "HeatState",
    "axis_ticks",
    "bar_chart_svg",
    "heatmap_svg",
    "line_chart_svg",
    "stacked_columns_svg",
    "text_width",
    "wrap",
]

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#E69F00", "#56B4E9", "#F0E442", "#0072B2", "#D55E00", "#CC79A7")
# The palette, then Okabe-Ito's two remaining colours and a grey: nine series before one repeats.
SERIES_COLOURS = (*PALETTE, "#009E73", "#000000", "#999999")

# Only plain colour notations: anything else (url(...), var(...)) could reference outside content.
_COLOUR_RE = re.compile(r"#[0-9a-fA-F]{3}(?:[0-9a-fA-F]{3})?|[a-zA-Z]{1,30}|rgba?\(\s*[0-9.%,\s]{1,40}\)")
# Characters XML 1.0 forbids even as references; a pasted name carrying one would break the file.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")

_FONT_SIZE = 13
_TITLE_SIZE = 15
_TITLE_LINE = 19  # one line of the title
_TEXT_LINE = 16  # one line of a label or a legend row
_MARGIN = 10
_FONT = "DejaVu Sans, Arial, Noto Sans Hebrew, Noto Sans Arabic, sans-serif"

# The width a chart gets on a 390 px phone: the page's and the card's padding taken off (12 + 20 + 1 a side).
PHONE_PX = 324
MIN_TEXT_PX = 12
# The widest a chart may be and still show its text at MIN_TEXT_PX or more when scaled down to PHONE_PX.
FIT_WIDTH = PHONE_PX * _FONT_SIZE // MIN_TEXT_PX  # 351

_RLE, _PDF = "\u202b", "\u202c"


# ------------------------------------------------------------------------------------------ measuring

_NARROW = frozenset(" .,:;'!|()[]{}ijlItfr-\u05f3\u05f4\u060c")
_WIDE = frozenset("mwMW@%\u2014")


def _advance(ch: str) -> float:
    """One character's advance in em: at least DejaVu Sans's for its class (Arabic by its isolated forms, wider
    than the joined ones drawn)."""
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0.0
    if ch in _NARROW:
        return 0.42
    if ch in _WIDE or unicodedata.east_asian_width(ch) in ("W", "F"):
        return 1.0
    if "A" <= ch <= "Z" or "\u0600" <= ch <= "\u06ff" or "\u0750" <= ch <= "\u077f":
        return 0.8
    if "\u0590" <= ch <= "\u05ff":
        return 0.62
    return 0.64


def text_width(text: str, size: float = _FONT_SIZE, *, bold: bool = False) -> float:
    """How wide `text` is drawn at `size`, estimated on the generous side (no font metrics at hand)."""
    return sum(_advance(ch) for ch in text) * size * (1.15 if bold else 1.0)


def wrap(text: str, width: float, size: float = _FONT_SIZE, *, bold: bool = False, max_lines: int = 0) -> list[str]:
    """`text` in lines no wider than `width`, broken between words (inside a word only when it alone is too wide);
    with `max_lines`, the last line kept ends in an ellipsis."""

    def fits(line: str) -> bool:
        return text_width(line, size, bold=bold) <= width

    lines: list[str] = []
    line = ""
    for word in _clean(text).split():
        if fits(f"{line} {word}" if line else word):
            line = f"{line} {word}" if line else word
            continue
        if line:
            lines.append(line)
        while not fits(word) and len(word) > 1:
            cut = len(word) - 1
            while cut > 1 and not fits(word[:cut]):
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        line = word
    if line or not lines:
        lines.append(line)
    if max_lines and len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and not fits(last + "\u2026"):
            last = last[:-1]
        lines = [*lines[: max_lines - 1], last.rstrip() + "\u2026"]
    return lines


def _fit(text: str, width: float, size: float = _FONT_SIZE) -> str:
    """`text` on one line no wider than `width`, cut with an ellipsis when it is not."""
    return wrap(text, width, size, max_lines=1)[0] if text_width(text, size) > width else text


# ------------------------------------------------------------------------------------------ primitives


def _clean(text: object) -> str:
    return _XML_INVALID.sub("\ufffd", str(text))


def _text(text: object) -> str:
    return _clean(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attr(text: object) -> str:
    s = _text(text).replace('"', "&quot;")
    return s.replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")


def _colour(value: str) -> str:
    value = value.strip()
    if not _COLOUR_RE.fullmatch(value):
        raise ValueError(f"unsupported colour {value!r}: use #rgb, #rrggbb, rgb(...) or a colour name")
    return value


def _ink_for(fill: str) -> str:
    """Black or white text, whichever reads better on the fill (hex fills only; else black)."""
    h = fill.lstrip("#")
    if not fill.startswith("#"):
        return "#000000"
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    r, g, b = (int(h[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return "#FFFFFF" if 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.45 else "#000000"


def _num(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".") if not float(x).is_integer() else str(int(x))


def _svg_open(width: float, height: float, title: str, *, wide: bool = False) -> list[str]:
    css_class = ' class="chart-wide"' if wide else ""
    return [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{_num(width)}" height="{_num(height)}" '
        f'viewBox="0 0 {_num(width)} {_num(height)}"{css_class} role="img" font-family="{_FONT}" '
        f'font-size="{_FONT_SIZE}">',
        f"<title>{_text(title)}</title>",
        f'<rect x="0" y="0" width="{_num(width)}" height="{_num(height)}" fill="#FFFFFF"/>',
    ]


def _rtl_first(text: str) -> bool:
    """Whether the first letter with a direction is right-to-left (what HTML's dir="auto" looks at)."""
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind in ("R", "AL"):
            return True
        if kind == "L":
            return False
    return False


def _words(text: str) -> str:
    """Text for a label, escaped; a right-to-left one held in a right-to-left embedding, so that the left-to-right
    SVG does not move a closing parenthesis or a Latin word to the wrong end of it."""
    return _text(f"{_RLE}{text}{_PDF}" if _rtl_first(text) else text)


def _label(x: float, y: float, text: str, anchor: str, extra: str = "") -> str:
    # Anchors are physical (start = left) and no `direction` attribute is set: renderers disagree on
    # whether direction flips text-anchor (svgwg#628, librsvg), whereas "end at the right edge" is
    # read the same everywhere. A right-to-left label sits in an embedding instead (_words), which
    # orders it as a right-to-left paragraph would without touching the anchor.
    return f'<text x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}"{extra}>{_words(text)}</text>'


def _title_lines(title: str, width: float) -> list[str]:
    """The title wrapped to a chart `width` (at most FIT_WIDTH, so a wide chart's title is read unscrolled)."""
    return wrap(title, min(width, FIT_WIDTH) - 2 * _MARGIN, _TITLE_SIZE, bold=True)


def _heading(x: float, lines: Sequence[str], anchor: str, rtl: bool) -> str:
    out = [f'<g class="heading" font-weight="bold" font-size="{_TITLE_SIZE}">']
    out += [_label(x, _MARGIN + 14 + n * _TITLE_LINE, line, anchor) for n, line in enumerate(lines)]
    out.append("</g>")
    return "".join(out)


def _below_heading(lines: Sequence[str]) -> float:
    """The y where a chart's body starts under its title."""
    return _MARGIN + len(lines) * _TITLE_LINE + 8


def _reading_edge(width: float, rtl: bool) -> tuple[float, str]:
    """Where a line of text starts: at the right margin, anchored at its end, for right-to-left."""
    return (width - _MARGIN, "end") if rtl else (_MARGIN, "start")


def _slot_x(origin: float, i: int, count: int, size: float, rtl: bool) -> float:
    """The left edge of slot i of `count` equal slots from `origin`: slot 0 is the rightmost for right-to-left."""
    return origin + ((count - 1 - i) if rtl else i) * size


def _legend(top: float, width: float, rows: Sequence[tuple[str, str, str]], rtl: bool) -> tuple[list[str], float]:
    """Swatches with their names (fill, symbol, text), a row each, names wrapped to the readable width; the
    elements and the y below the last row."""
    out: list[str] = []
    room = min(width, FIT_WIDTH) - 2 * _MARGIN - 20
    y = top
    for fill, symbol, name in rows:
        sx = width - _MARGIN - 14 if rtl else _MARGIN
        out.append(f'<rect x="{_num(sx)}" y="{_num(y)}" width="14" height="14" fill="{_attr(fill)}" stroke="#999999"/>')
        if symbol:
            out.append(
                f'<text x="{_num(sx + 7)}" y="{_num(y + 11)}" text-anchor="middle" font-size="10" '
                f'fill="{_ink_for(fill)}">{_text(symbol)}</text>'
            )
        lines = wrap(name, room, max_lines=2)
        for k, line in enumerate(lines):
            out.append(_label(sx - 6 if rtl else sx + 20, y + 11 + k * _TEXT_LINE, line, "end" if rtl else "start"))
        y += max(18, len(lines) * _TEXT_LINE + 2)
    return out, y


# ---------------------------------------------------------------------------------------------- bars

_BAR_H = 14
_ROW_H = 22  # a row with its label beside the bar
_ROW_GAP = 8  # between rows when labels sit above their bars
_LABEL_LINES = 2  # a label above its bar wraps to at most this many lines


def bar_chart_svg(values: Mapping[str, float], *, title: str, rtl: bool = False) -> str:
    """Horizontal bars in the mapping's order (misconception frequencies, item difficulty, ...).

    When every value lies in [0, 1] the axis runs 0..1, so a difficulty of 0.3 does not look like a
    full bar; otherwise it spans the data and 0. Negative values (a discrimination) extend the other
    way from the zero line. Short labels ("Q3") sit beside their bars; longer ones (a misconception's
    name) go on a line of their own above the bar, wrapped to two lines, so the chart stays FIT_WIDTH
    wide and readable on a phone. With ``rtl`` labels are at the right, right-aligned, and bars grow
    leftwards. Raises ValueError for a value that is not a finite number.
    """
    data = list(values.items())
    for key, v in data:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise ValueError(f"value for {key!r} must be a finite number, not {v!r}")
    nums = [float(v) for _, v in data]
    lo = min([0.0, *nums])
    hi = max([0.0, *nums])
    if lo >= 0 and hi <= 1:
        hi = 1.0
    span = (hi - lo) or 1.0
    width = float(FIT_WIDTH)
    inner = width - 2 * _MARGIN
    keys = [_clean(k) for k, _ in data]
    value_w = max((text_width(_num(v)) for v in nums), default=0.0) + 8
    # Beside the bars when the longest label takes under a third of the width; else above each bar.
    label_w = max((text_width(k) for k in keys), default=0.0) + 8
    beside = label_w <= inner / 3
    labels = [[k] if beside else wrap(k, inner, max_lines=_LABEL_LINES) for k in keys]
    # Room for the number beyond each end that has bars: the positive end always, the negative one
    # only when some value is negative.
    inner_pad = value_w if lo < 0 else 0.0  # between the labels (or the reading edge) and the bar area
    bar_area = inner - value_w - inner_pad - (label_w if beside else 0.0)
    title_lines = _title_lines(title, width)
    top = _below_heading(title_lines)
    heights = [_ROW_H if beside else len(lines) * _TEXT_LINE + _BAR_H + _ROW_GAP for lines in labels]
    height = top + (sum(heights) if data else _ROW_H) + _MARGIN

    label_x, label_anchor = _reading_edge(width, rtl)
    before = (label_w if beside else 0.0) + inner_pad
    area_x = width - _MARGIN - before - bar_area if rtl else _MARGIN + before

    def position(v: float) -> float:
        frac = (v - lo) / span
        return area_x + (bar_area * (1 - frac) if rtl else bar_area * frac)

    zero = position(0.0)
    out = _svg_open(width, height, title)
    out.append(_heading(label_x, title_lines, label_anchor, rtl))
    if not data:
        out.append(_label(label_x, top + 15, "\u2014", label_anchor))
    y = top
    for n, ((key, _), v) in enumerate(zip(data, nums, strict=True)):
        bar_y = y + (_ROW_H - _BAR_H) / 2 if beside else y + len(labels[n]) * _TEXT_LINE
        end = position(v)
        x0, x1 = min(zero, end), max(zero, end)
        out.append(f'<g data-key="{_attr(key)}" data-value="{_attr(repr(v))}">')
        out.append(f"<title>{_text(key)}: {_text(_num(v))}</title>")
        for k, line in enumerate(labels[n]):
            ly = bar_y + _BAR_H - 3 if beside else y + (k + 1) * _TEXT_LINE - 4
            out.append(_label(label_x, ly, line, label_anchor))
        out.append(
            f'<rect x="{_num(x0)}" y="{_num(bar_y)}" width="{_num(x1 - x0)}" height="{_BAR_H}" fill="#0072B2"/>'
        )
        # The number sits just past the bar's outer end, on the side the bar grows towards.
        outward_right = (v >= 0) != rtl
        vx = x1 + 4 if outward_right else x0 - 4
        out.append(_label(vx, bar_y + _BAR_H - 3, _num(v), "start" if outward_right else "end"))
        # The zero line, through this row's bar only (a label above the bar may start where it stands).
        out.append(f'<line x1="{_num(zero)}" y1="{_num(bar_y - 2)}" x2="{_num(zero)}" y2="{_num(bar_y + _BAR_H + 2)}" '
                   'stroke="#333333" stroke-width="1"/>')
        out.append("</g>")
        y += heights[n]
    out.append("</svg>")
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------------------- heatmap

_CELL = 22
_ROW_LABEL_W = 140  # a student's label is cut to this width (the whole name stays in its tooltip)
_COLUMN_LABEL_W = 80


@dataclass(frozen=True)
class HeatState:
    """How one state of a heatmap cell looks: its fill, a symbol drawn on it so a black-and-white print
    still reads (a tick, a cross, a legend number; may be empty), the name its tooltip shows, and its
    line in the legend (the name when not given)."""

    fill: str
    name: str
    symbol: str = ""
    legend: str | None = None


def heatmap_svg(
    rows: Sequence[str],
    columns: Sequence[str],
    cells: Sequence[Sequence[str]],
    states: Mapping[str, HeatState],
    *,
    title: str,
    rtl: bool = False,
    row_attr: str = "row",
    column_attr: str = "column",
    column_names: Sequence[str] | None = None,
    link: Callable[[str, str, str], str | None] | None = None,
) -> str:
    """A row per ``rows`` label, a column per ``columns`` label, and a legend of every state in order.

    ``link(row, column, state)``, when given, is the address a cell leads to (or None): the cell is then an SVG
    ``<a>`` (a heatmap cell opens the student's plan for that misconception).

    ``cells[i][j]`` is a key of ``states`` for row i, column j. Each cell is a ``<g>`` carrying
    ``data-<row_attr>``, ``data-<column_attr>`` and ``data-state``. Long row and column labels are cut
    with an ellipsis, the full text staying in a tooltip; legend names wrap. A grid wider than
    FIT_WIDTH is marked ``chart-wide`` (the page scrolls it). With ``rtl`` the first
    column is the rightmost, row labels sit right of the grid and are right-aligned, and the legend
    runs from the right. Raises ValueError for a fill that is not a plain colour notation. Column
    headings sit in ``<g class="items">`` and row labels in ``<g class="students">``, the names of the
    chart's first use (the diagnostics heatmap), kept so its pages and tests still find them.
    """
    fills = {key: _colour(state.fill) for key, state in states.items()}
    legend_rows = [state.legend if state.legend is not None else state.name for state in states.values()]
    row_labels = [_fit(_clean(s), _ROW_LABEL_W) for s in rows]
    # ``column_names`` (e.g. "Q1") are what a reader sees; ``columns`` stay the data keys and the tooltip.
    column_labels = [_fit(_clean(c), _COLUMN_LABEL_W) for c in (column_names or columns)]
    label_w = max((text_width(s) for s in row_labels), default=0) + 10
    col_w = max([_CELL] + [text_width(c) + 4 for c in column_labels])
    n_rows, n_cols = len(rows), len(columns)
    grid_w = n_cols * col_w
    need = 2 * _MARGIN + label_w + grid_w
    width = max(need, FIT_WIDTH)
    title_lines = _title_lines(title, width)
    grid_top = _below_heading(title_lines) + 18  # the column header line
    grid_bottom = grid_top + n_rows * _CELL
    legend, legend_bottom = _legend(grid_bottom + 16, width, [
        (fills[key], state.symbol, legend_rows[n]) for n, (key, state) in enumerate(states.items())], rtl)
    height = legend_bottom + _MARGIN

    label_x, label_anchor = _reading_edge(width, rtl)
    grid_x = width - _MARGIN - label_w - grid_w if rtl else _MARGIN + label_w

    def column_x(j: int) -> float:
        return _slot_x(grid_x, j, n_cols, col_w, rtl)

    out = _svg_open(width, height, title, wide=need > FIT_WIDTH)
    out.append(_heading(label_x, title_lines, label_anchor, rtl))
    out.append('<g class="items">')
    for j, key in enumerate(columns):
        out.append(
            f'<text x="{_num(column_x(j) + col_w / 2)}" y="{_num(grid_top - 6)}" text-anchor="middle">'
            f"<title>{_text(key)}</title>{_text(column_labels[j])}</text>"
        )
    out.append("</g>")
    out.append('<g class="students">')
    for i, code in enumerate(rows):
        y = grid_top + i * _CELL + _CELL / 2 + 4
        out.append(
            f'<text x="{_num(label_x)}" y="{_num(y)}" text-anchor="{label_anchor}">'
            f"<title>{_text(code)}</title>{_words(row_labels[i])}</text>"
        )
    out.append("</g>")
    out.append('<g class="cells" stroke="#FFFFFF" stroke-width="1">')
    for i, code in enumerate(rows):
        y = grid_top + i * _CELL
        for j, key in enumerate(columns):
            state = cells[i][j]
            x = column_x(j)
            fill = fills[state]
            symbol = states[state].symbol
            tip = f"{code} \u00b7 {key}: {states[state].name}"
            href = link(code, key, state) if link is not None else None
            if href:
                out.append(f'<a href="{_attr(href)}">')
            out.append(
                f'<g data-{row_attr}="{_attr(code)}" data-{column_attr}="{_attr(key)}" data-state="{_attr(state)}">'
                f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(col_w)}" height="{_CELL}" fill="{_attr(fill)}"/>'
                f"<title>{_text(tip)}</title>"
            )
            if symbol:
                out.append(
                    f'<text x="{_num(x + col_w / 2)}" y="{_num(y + _CELL / 2 + 4)}" text-anchor="middle" '
                    f'stroke="none" fill="{_ink_for(fill)}">{_text(symbol)}</text>'
                )
            out.append("</g></a>" if href else "</g>")
    out.append("</g>")
    out.append('<g class="legend">')
    out += legend
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------------- stacked columns

_PLOT_H = 160
_LINE = 15  # one line of a column label
_SWATCH = 14
_MIN_COL = 22
_MAX_COL = 64


def _plot_frame(width: float, axis_w: float, plot_w: float, rtl: bool) -> tuple[float, float, str]:
    """Where a plot with a vertical axis starts, and where its axis numbers go: just outside the plot, on the side
    where reading starts (plot x, axis x, the numbers' anchor)."""
    if rtl:
        plot_x = width - _MARGIN - axis_w - plot_w
        return plot_x, plot_x + plot_w + 6, "start"
    plot_x = _MARGIN + axis_w
    return plot_x, plot_x - 6, "end"


def axis_ticks(top: int) -> list[int]:
    """Whole-number gridlines from 0 to at least `top`, at most five of them."""
    step = max(1, math.ceil(top / 4))
    return list(range(0, step * math.ceil(max(top, 1) / step) + 1, step))


def stacked_columns_svg(columns: Sequence[str], series: Mapping[str, Sequence[int]], *, title: str,
                        rtl: bool = False, totals_label: str = "Total") -> str:
    """A column per time bucket (labels may have a second line after a newline), each a stack of one colour per
    series in the mapping's order, with the column's total above it and a legend with each series' total.

    The columns share FIT_WIDTH when they can: narrower than their labels, only every second (third, ...)
    column is labelled, the rest keep theirs in the tooltip. Only when even bare columns cannot fit does the
    chart grow, marked ``chart-wide``. Every series needs one count of zero or more per column (else
    ValueError). With `rtl` time runs right to left (the first column is the rightmost), the axis and the
    legend sit on the right.
    """
    data = [(name, [int(v) for v in values]) for name, values in series.items()]
    n = len(columns)
    for name, values in data:
        if len(values) != n or any(v < 0 for v in values):
            raise ValueError(f"series {name!r} needs {n} counts of zero or more")
    lines = [_clean(c).split("\n") for c in columns]
    depth = max((len(x) for x in lines), default=1)
    stacks = [sum(values[i] for _, values in data) for i in range(n)]
    ticks = axis_ticks(max(stacks, default=0))
    scale = _PLOT_H / ticks[-1]
    axis_w = text_width(str(ticks[-1])) + 10
    label_need = max([text_width(part) + 6 for x in lines for part in x], default=0.0)
    bare = max([_MIN_COL] + [text_width(str(t)) + 4 for t in stacks])  # the total above a column must fit
    room = FIT_WIDTH - 2 * _MARGIN - axis_w
    # Share the room (no wider than a label needs, or _MAX_COL); a column is never narrower than its total.
    col_w = max(bare, min(max(_MAX_COL, label_need), room / max(n, 1)))
    every = max(1, math.ceil(label_need / col_w))  # label every column, or every second, third, ...
    plot_w = max(n, 1) * col_w
    need = 2 * _MARGIN + axis_w + plot_w
    width = max(need, FIT_WIDTH)
    title_lines = _title_lines(title, width)
    plot_top = _below_heading(title_lines) + _LINE  # room for the totals above the tallest column
    base = plot_top + _PLOT_H
    legend_rows = [(SERIES_COLOURS[s % len(SERIES_COLOURS)], "", f"{name} ({sum(values)})")
                   for s, (name, values) in enumerate(data)]
    legend, legend_bottom = _legend(base + 8 + depth * _LINE + 10, width, legend_rows, rtl)
    height = (legend_bottom if data else legend_bottom + 18) + _MARGIN

    # Axis numbers sit just outside the plot, on the side where reading starts.
    title_x, title_anchor = _reading_edge(width, rtl)
    plot_x, axis_x, axis_anchor = _plot_frame(width, axis_w, plot_w, rtl)

    def column_x(i: int) -> float:
        return _slot_x(plot_x, i, n, col_w, rtl)

    out = _svg_open(width, height, title, wide=need > FIT_WIDTH)
    out.append(_heading(title_x, title_lines, title_anchor, rtl))
    out.append('<g class="axis" fill="#333333">')
    for t in ticks:
        y = base - t * scale
        out.append(f'<line x1="{_num(plot_x)}" y1="{_num(y)}" x2="{_num(plot_x + plot_w)}" y2="{_num(y)}" '
                   f'stroke="{"#333333" if t == 0 else "#DDDDDD"}" stroke-width="1"/>')
        out.append(_label(axis_x, y + 4, str(t), axis_anchor))
    out.append("</g>")
    out.append('<g class="columns">')
    for i in range(n):
        x = column_x(i)
        heading = " ".join(lines[i])
        out.append(f'<g data-column="{i}" data-total="{stacks[i]}">')
        y = base
        for s, (name, values) in enumerate(data):
            v = values[i]
            if not v:
                continue
            h = v * scale
            y -= h
            out.append(
                f'<rect x="{_num(x + 2)}" y="{_num(y)}" width="{_num(col_w - 4)}" height="{_num(h)}" '
                f'fill="{SERIES_COLOURS[s % len(SERIES_COLOURS)]}" stroke="#FFFFFF" stroke-width="1" '
                f'data-key="{_attr(name)}" data-value="{v}">'
                f"<title>{_text(heading)} \u00b7 {_text(name)}: {v}</title></rect>"
            )
        if stacks[i]:
            out.append(f'<text x="{_num(x + col_w / 2)}" y="{_num(y - 4)}" text-anchor="middle">'
                       f"<title>{_text(heading)} \u00b7 {_text(totals_label)}: {stacks[i]}</title>{stacks[i]}</text>")
        if i % every == 0:
            for k, part in enumerate(lines[i]):
                out.append(f'<text x="{_num(x + col_w / 2)}" y="{_num(base + 8 + (k + 1) * _LINE - 3)}" '
                           f'text-anchor="middle" fill="#333333">{_words(part)}</text>')
        out.append("</g>")
    out.append("</g>")
    out.append('<g class="legend">')
    out += legend
    if not data:
        out.append(_label(title_x, legend_bottom + 11, "\u2014", title_anchor))
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------- lines

_MARKS = ("\u25cf", "\u25a0", "\u25b2", "\u25c6", "\u25bc", "\u2605")  # a shape per series, not only a colour


def line_chart_svg(columns: Sequence[str], series: Mapping[str, Sequence[float | None]], *, title: str,
                   lo: int, hi: int, rtl: bool = False, step: int = 1) -> str:
    """A level per column for each series, joined by lines (a rubric criterion's level over attempts): the axis
    runs from `lo` to `hi` in whole steps (a gridline every `step`); a missing value (None) leaves a gap. Each
    series has its colour and its mark, so it reads without colour too. With `rtl` the first column is the
    rightmost. Raises ValueError for a value outside lo..hi or a series of the wrong length."""
    n = len(columns)
    data = [(name, list(values)) for name, values in series.items()]
    for name, values in data:
        if len(values) != n or any(v is not None and not (lo <= v <= hi) for v in values):
            raise ValueError(f"series {name!r} needs {n} values from {lo} to {hi} (or None)")
    labels = [_clean(c) for c in columns]
    axis_w = text_width(str(hi)) + 10
    room = FIT_WIDTH - 2 * _MARGIN - axis_w
    col_w = max(_MIN_COL, min(_MAX_COL * 2, room / max(n, 1)))
    plot_w = max(n, 1) * col_w
    need = 2 * _MARGIN + axis_w + plot_w
    width = max(need, FIT_WIDTH)
    title_lines = _title_lines(title, width)
    plot_top = _below_heading(title_lines) + 8
    base = plot_top + _PLOT_H
    scale = _PLOT_H / max(1, hi - lo)
    legend_rows = [(SERIES_COLOURS[s % len(SERIES_COLOURS)], _MARKS[s % len(_MARKS)], name)
                   for s, (name, _values) in enumerate(data)]
    legend, legend_bottom = _legend(base + 8 + _LINE + 10, width, legend_rows, rtl)
    height = (legend_bottom if data else legend_bottom + 18) + _MARGIN
    title_x, title_anchor = _reading_edge(width, rtl)
    plot_x, axis_x, axis_anchor = _plot_frame(width, axis_w, plot_w, rtl)

    def cx(i: int) -> float:
        return _slot_x(plot_x, i, n, col_w, rtl) + col_w / 2

    def cy(v: float) -> float:
        return base - (v - lo) * scale

    out = _svg_open(width, height, title, wide=need > FIT_WIDTH)
    out.append(_heading(title_x, title_lines, title_anchor, rtl))
    out.append('<g class="axis" fill="#333333">')
    for t in range(lo, hi + 1, max(1, step)):  # a gridline every `step` (percentages: every 10)
        y = cy(t)
        out.append(f'<line x1="{_num(plot_x)}" y1="{_num(y)}" x2="{_num(plot_x + plot_w)}" y2="{_num(y)}" '
                   f'stroke="{"#333333" if t == lo else "#DDDDDD"}" stroke-width="1"/>')
        out.append(_label(axis_x, y + 4, str(t), axis_anchor))
    for i, label in enumerate(labels):
        out.append(f'<text x="{_num(cx(i))}" y="{_num(base + _LINE + 2)}" text-anchor="middle" '
                   f'fill="#333333">{_words(label)}</text>')
    out.append("</g>")
    out.append('<g class="lines">')
    for s, (name, values) in enumerate(data):
        colour = SERIES_COLOURS[s % len(SERIES_COLOURS)]
        out.append(f'<g data-key="{_attr(name)}">')
        run: list[str] = []
        for i, v in enumerate([*values, None]):
            if v is not None:
                run.append(f"{_num(cx(i))},{_num(cy(v))}")
            elif run:
                if len(run) > 1:
                    out.append(f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" '
                               'stroke-width="2.5"/>')
                run = []
        for i, v in enumerate(values):
            if v is None:
                continue
            out.append(f'<text x="{_num(cx(i))}" y="{_num(cy(v) + 5)}" text-anchor="middle" font-size="14" '
                       f'fill="{colour}" stroke="#333333" stroke-width="0.4" data-column="{i}" '
                       f'data-value="{_num(v)}"><title>{_text(labels[i])} \u00b7 {_text(name)}: '
                       f'{_num(v)}</title>{_MARKS[s % len(_MARKS)]}</text>')
        out.append("</g>")
    out.append("</g>")
    out.append('<g class="legend">')
    out += legend
    if not data:
        out.append(_label(title_x, legend_bottom + 11, "\u2014", title_anchor))
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"
