"""The SVG chart kit: self-contained, printable charts for every module (stdlib only, no Flask).

    bar_chart_svg(values, title=..., rtl=...)                        -> str  horizontal bars, signed values
    heatmap_svg(rows, columns, cells, states, title=..., rtl=...)    -> str  a grid of coloured states + legend
    stacked_columns_svg(columns, series, title=..., rtl=...)         -> str  counts per column, stacked by series
    axis_ticks(top)                                                  -> [int]  whole-number gridlines
    PALETTE, SERIES_COLOURS                                          colour-blind-safe fills

What every chart shares, so a teacher reads them all the same way:

* Everything the caller passes (titles, labels, keys) is text, never markup: it is escaped for XML and
  characters XML forbids are replaced, so a student called ``<script>`` prints as that name.
* No scripts, styles or external references; each bar or cell carries a ``<title>`` tooltip and
  ``data-`` attributes so tests and screen readers can find it.
* ``rtl=True`` mirrors the layout for Hebrew and Arabic pages: the first column is the rightmost, labels
  sit right of the plot and are right-aligned, legends run from the right.
* Empty data still renders a well-formed chart (a dash where the bars would be).

A new kind of chart belongs here, beside these, so every module's charts keep one look.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "PALETTE",
    "SERIES_COLOURS",
    "HeatState",
    "axis_ticks",
    "bar_chart_svg",
    "heatmap_svg",
    "stacked_columns_svg",
]

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#E69F00", "#56B4E9", "#F0E442", "#0072B2", "#D55E00", "#CC79A7")
# The palette, then Okabe-Ito's two remaining colours and a grey: nine series before one repeats.
SERIES_COLOURS = (*PALETTE, "#009E73", "#000000", "#999999")

# Only plain colour notations: anything else (url(...), var(...)) could reference outside content.
_COLOUR_RE = re.compile(r"#[0-9a-fA-F]{3}(?:[0-9a-fA-F]{3})?|[a-zA-Z]{1,30}|rgba?\(\s*[0-9.%,\s]{1,40}\)")
# Characters XML 1.0 forbids even as references; a pasted name carrying one would break the file.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")

_FONT_SIZE = 12
_CHAR_W = 7.0  # rough advance of one character at 12px, for layout without font metrics
_MARGIN = 10
_MAX_LABEL_CHARS = 28
_FONT = "DejaVu Sans, Arial, Noto Sans Hebrew, Noto Sans Arabic, sans-serif"


# ------------------------------------------------------------------------------------------ primitives


def _clean(text: object) -> str:
    return _XML_INVALID.sub("\ufffd", str(text))


def _text(text: object) -> str:
    return _clean(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attr(text: object) -> str:
    s = _text(text).replace('"', "&quot;")
    return s.replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


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


def _svg_open(width: float, height: float, title: str) -> list[str]:
    return [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{_num(width)}" height="{_num(height)}" '
        f'viewBox="0 0 {_num(width)} {_num(height)}" role="img" font-family="{_FONT}" font-size="{_FONT_SIZE}">',
        f"<title>{_text(title)}</title>",
        f'<rect x="0" y="0" width="{_num(width)}" height="{_num(height)}" fill="#FFFFFF"/>',
    ]


def _label(x: float, y: float, text: str, anchor: str, extra: str = "") -> str:
    # Anchors are physical (start = left) and no `direction` attribute is set: renderers disagree on
    # whether direction flips text-anchor (svgwg#628, librsvg), whereas "end at the right edge" is
    # read the same everywhere. Hebrew and Arabic runs are still shaped right-to-left by the bidi
    # algorithm inside the label.
    return f'<text x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}"{extra}>{_text(text)}</text>'


def _heading(x: float, text: str, anchor: str) -> str:
    return _label(x, _MARGIN + 14, text, anchor, ' font-weight="bold" font-size="14"')


def _reading_edge(width: float, rtl: bool) -> tuple[float, str]:
    """Where a line of text starts: at the right margin, anchored at its end, for right-to-left."""
    return (width - _MARGIN, "end") if rtl else (_MARGIN, "start")


def _slot_x(origin: float, i: int, count: int, size: float, rtl: bool) -> float:
    """The left edge of slot i of `count` equal slots from `origin`: slot 0 is the rightmost for right-to-left."""
    return origin + ((count - 1 - i) if rtl else i) * size


# ---------------------------------------------------------------------------------------------- bars


def bar_chart_svg(values: Mapping[str, float], *, title: str, rtl: bool = False) -> str:
    """Horizontal bars in the mapping's order (misconception frequencies, item difficulty, ...).

    When every value lies in [0, 1] the axis runs 0..1, so a difficulty of 0.3 does not look like a
    full bar; otherwise it spans the data and 0. Negative values (a discrimination) extend the other
    way from the zero line. With ``rtl`` labels are on the right, right-aligned, and bars grow
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
    bar_area = 300.0
    row_h = 22
    labels = [_truncate(k, _MAX_LABEL_CHARS) for k, _ in data]
    label_w = max((len(s) for s in labels), default=0) * _CHAR_W + 10
    value_w = 50.0
    # Room for the number beyond each end that has bars: the positive end always, the negative one
    # only when some value is negative.
    outer = value_w * (2 if lo < 0 else 1)
    width = max(2 * _MARGIN + label_w + bar_area + outer, 2 * _MARGIN + len(title) * _CHAR_W)
    top = _MARGIN + 26
    height = top + max(len(data), 1) * row_h + _MARGIN
    inner_pad = value_w if lo < 0 else 0.0  # between the labels and the bar area

    label_x, label_anchor = _reading_edge(width, rtl)
    area_x = width - _MARGIN - label_w - inner_pad - bar_area if rtl else _MARGIN + label_w + inner_pad

    def position(v: float) -> float:
        frac = (v - lo) / span
        return area_x + (bar_area * (1 - frac) if rtl else bar_area * frac)

    zero = position(0.0)
    out = _svg_open(width, height, title)
    out.append(_heading(label_x, title, label_anchor))
    if not data:
        out.append(_label(label_x, top + 15, "\u2014", label_anchor))
    for n, ((key, _), v) in enumerate(zip(data, nums, strict=True)):
        y = top + n * row_h
        end = position(v)
        x0, x1 = min(zero, end), max(zero, end)
        out.append(f'<g data-key="{_attr(key)}" data-value="{_attr(repr(v))}">')
        out.append(f"<title>{_text(key)}: {_text(_num(v))}</title>")
        out.append(_label(label_x, y + 15, labels[n], label_anchor))
        out.append(
            f'<rect x="{_num(x0)}" y="{_num(y + 3)}" width="{_num(x1 - x0)}" height="{row_h - 6}" fill="#0072B2"/>'
        )
        # The number sits just past the bar's outer end, on the side the bar grows towards.
        outward_right = (v >= 0) != rtl
        vx = x1 + 4 if outward_right else x0 - 4
        out.append(_label(vx, y + 15, _num(v), "start" if outward_right else "end"))
        out.append("</g>")
    out.append(
        f'<line x1="{_num(zero)}" y1="{_num(top)}" x2="{_num(zero)}" y2="{_num(top + max(len(data), 1) * row_h)}" '
        'stroke="#333333" stroke-width="1"/>'
    )
    out.append("</svg>")
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------------------- heatmap

_CELL = 22
_MAX_COLUMN_CHARS = 10


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
) -> str:
    """A row per ``rows`` label, a column per ``columns`` label, and a legend of every state in order.

    ``cells[i][j]`` is a key of ``states`` for row i, column j. Each cell is a ``<g>`` carrying
    ``data-<row_attr>``, ``data-<column_attr>`` and ``data-state``. Long row labels are cut at 28
    characters and column labels at 10, the full text staying in a tooltip. With ``rtl`` the first
    column is the rightmost, row labels sit right of the grid and are right-aligned, and the legend
    runs from the right. Raises ValueError for a fill that is not a plain colour notation. Column
    headings sit in ``<g class="items">`` and row labels in ``<g class="students">``, the names of the
    chart's first use (the diagnostics heatmap), kept so its pages and tests still find them.
    """
    fills = {key: _colour(state.fill) for key, state in states.items()}
    legend_rows = [state.legend if state.legend is not None else state.name for state in states.values()]
    row_labels = [_truncate(s, _MAX_LABEL_CHARS) for s in rows]
    # ``column_names`` (e.g. "Q1") are what a reader sees; ``columns`` stay the data keys and the tooltip.
    column_labels = [_truncate(c, _MAX_COLUMN_CHARS) for c in (column_names or columns)]
    label_w = max((len(s) for s in row_labels), default=0) * _CHAR_W + 10
    col_w = max([_CELL] + [len(c) * _CHAR_W + 6 for c in column_labels])
    n_rows, n_cols = len(rows), len(columns)
    grid_w = n_cols * col_w
    top = _MARGIN + 20  # title line
    grid_top = top + 20  # column header line
    grid_bottom = grid_top + n_rows * _CELL
    legend_w = 22 + max((len(t) for t in legend_rows), default=0) * _CHAR_W
    width = max(2 * _MARGIN + label_w + grid_w, 2 * _MARGIN + legend_w, 2 * _MARGIN + len(title) * _CHAR_W)
    legend_top = grid_bottom + 16
    height = legend_top + len(states) * 18 + _MARGIN

    label_x, label_anchor = _reading_edge(width, rtl)
    grid_x = width - _MARGIN - label_w - grid_w if rtl else _MARGIN + label_w

    def column_x(j: int) -> float:
        return _slot_x(grid_x, j, n_cols, col_w, rtl)

    out = _svg_open(width, height, title)
    out.append(_heading(label_x, title, label_anchor))
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
            f"<title>{_text(code)}</title>{_text(row_labels[i])}</text>"
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
            out.append("</g>")
    out.append("</g>")
    out.append('<g class="legend">')
    for n, (key, state) in enumerate(states.items()):
        y = legend_top + n * 18
        fill = fills[key]
        sx = width - _MARGIN - 14 if rtl else _MARGIN
        out.append(f'<rect x="{_num(sx)}" y="{_num(y)}" width="14" height="14" fill="{_attr(fill)}" stroke="#999999"/>')
        if state.symbol:
            out.append(
                f'<text x="{_num(sx + 7)}" y="{_num(y + 11)}" text-anchor="middle" font-size="10" '
                f'fill="{_ink_for(fill)}">{_text(state.symbol)}</text>'
            )
        tx = sx - 6 if rtl else sx + 20
        out.append(_label(tx, y + 11, legend_rows[n], "end" if rtl else "start"))
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------------- stacked columns

_PLOT_H = 160
_LINE = 14  # one line of a column label
_AXIS_W = 34
_SWATCH = 14
_LEGEND_ROW = 18
_MIN_COL = 26
_MAX_LEGEND_CHARS = 48


def axis_ticks(top: int) -> list[int]:
    """Whole-number gridlines from 0 to at least `top`, at most five of them."""
    step = max(1, math.ceil(top / 4))
    return list(range(0, step * math.ceil(max(top, 1) / step) + 1, step))


def stacked_columns_svg(columns: Sequence[str], series: Mapping[str, Sequence[int]], *, title: str,
                        rtl: bool = False, totals_label: str = "Total") -> str:
    """A column per time bucket (labels may have a second line after a newline), each a stack of one colour per
    series in the mapping's order, with the column's total above it and a legend with each series' total.

    Every series needs one count of zero or more per column (else ValueError). With `rtl` time runs right to
    left (the first column is the rightmost), the axis and the legend sit on the right.
    """
    data = [(name, [int(v) for v in values]) for name, values in series.items()]
    n = len(columns)
    for name, values in data:
        if len(values) != n or any(v < 0 for v in values):
            raise ValueError(f"series {name!r} needs {n} counts of zero or more")
    lines = [str(c).split("\n") for c in columns]
    depth = max((len(x) for x in lines), default=1)
    col_w = max([_MIN_COL] + [len(part) * _CHAR_W + 6 for x in lines for part in x])
    stacks = [sum(values[i] for _, values in data) for i in range(n)]
    ticks = axis_ticks(max(stacks, default=0))
    scale = _PLOT_H / ticks[-1]
    names = [_truncate(f"{name} ({sum(values)})", _MAX_LEGEND_CHARS) for name, values in data]
    legend_w = _SWATCH + 6 + max((len(s) for s in names), default=0) * _CHAR_W
    plot_w = max(n, 1) * col_w
    width = max(2 * _MARGIN + _AXIS_W + plot_w, 2 * _MARGIN + legend_w, 2 * _MARGIN + len(title) * _CHAR_W)
    plot_top = _MARGIN + 26 + _LINE  # title, then room for the totals above the tallest column
    base = plot_top + _PLOT_H
    legend_top = base + 8 + depth * _LINE + 10
    height = legend_top + max(len(data), 1) * _LEGEND_ROW + _MARGIN

    # Axis numbers sit just outside the plot, on the side where reading starts.
    title_x, title_anchor = _reading_edge(width, rtl)
    if rtl:
        plot_x = width - _MARGIN - _AXIS_W - plot_w
        axis_x, axis_anchor = plot_x + plot_w + 6, "start"
    else:
        plot_x = _MARGIN + _AXIS_W
        axis_x, axis_anchor = plot_x - 6, "end"

    def column_x(i: int) -> float:
        return _slot_x(plot_x, i, n, col_w, rtl)

    out = _svg_open(width, height, title)
    out.append(_heading(title_x, title, title_anchor))
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
                f'<rect x="{_num(x + 3)}" y="{_num(y)}" width="{_num(col_w - 6)}" height="{_num(h)}" '
                f'fill="{SERIES_COLOURS[s % len(SERIES_COLOURS)]}" stroke="#FFFFFF" stroke-width="1" '
                f'data-key="{_attr(name)}" data-value="{v}">'
                f"<title>{_text(heading)} \u00b7 {_text(name)}: {v}</title></rect>"
            )
        if stacks[i]:
            out.append(f'<text x="{_num(x + col_w / 2)}" y="{_num(y - 4)}" text-anchor="middle">'
                       f"<title>{_text(heading)} \u00b7 {_text(totals_label)}: {stacks[i]}</title>{stacks[i]}</text>")
        for k, part in enumerate(lines[i]):
            out.append(f'<text x="{_num(x + col_w / 2)}" y="{_num(base + 8 + (k + 1) * _LINE - 3)}" '
                       f'text-anchor="middle" fill="#333333">{_text(part)}</text>')
        out.append("</g>")
    out.append("</g>")
    out.append('<g class="legend">')
    for s in range(len(data)):
        y = legend_top + s * _LEGEND_ROW
        sx = width - _MARGIN - _SWATCH if rtl else _MARGIN
        out.append(f'<rect x="{_num(sx)}" y="{_num(y)}" width="{_SWATCH}" height="{_SWATCH}" '
                   f'fill="{SERIES_COLOURS[s % len(SERIES_COLOURS)]}" stroke="#999999"/>')
        out.append(_label(sx - 6 if rtl else sx + _SWATCH + 6, y + 11, names[s], "end" if rtl else "start"))
    if not data:
        out.append(_label(title_x, legend_top + 11, "\u2014", title_anchor))
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"
