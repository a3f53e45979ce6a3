"""The SVG chart kit (app.charts): what any caller's labels do to the file, right-to-left mirroring, empty data,
and the geometry that keeps a chart readable on a phone (every text inside the picture, measured with the glyph
advances of DejaVu Sans itself)."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

import pytest

from app.charts import (
    FIT_WIDTH,
    MIN_TEXT_PX,
    PALETTE,
    PHONE_PX,
    SERIES_COLOURS,
    HeatState,
    axis_ticks,
    bar_chart_svg,
    heatmap_svg,
    stacked_columns_svg,
    text_width,
    wrap,
)

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert(1)</script> & "quoted" \x07'
FORBIDDEN_TAGS = ("script", "foreignObject", "image", "use", "a", "style")

STATES = {
    "ok": HeatState(fill="#009E73", name="Right", symbol="\u2713"),
    "no": HeatState(fill="#5A5A5A", name="Wrong", symbol="1", legend="1 Wrong"),
    "gap": HeatState(fill="#F2F2F2", name="Missing"),
}


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg.encode("utf-8"))
    assert root.tag == f"{SVG}svg"
    return root


def assert_safe(svg: str) -> ET.Element:
    """Well-formed, and nothing in it runs or fetches: the caller's text stayed text."""
    root = parse(svg)
    for el in root.iter():
        assert el.tag.removeprefix(SVG) not in FORBIDDEN_TAGS
        for name, value in el.attrib.items():
            assert "href" not in name and not name.startswith("on") and "url(" not in value
    assert "<script" not in svg
    return root


def texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def group(root: ET.Element, cls: str) -> ET.Element:
    return next(g for g in root.iter(f"{SVG}g") if g.get("class") == cls)


def heatmap(rtl: bool = False, **kw) -> str:
    rows = kw.pop("rows", ["S1", "S2"])
    columns = kw.pop("columns", ["Q1", "Q2", "Q3"])
    cells = kw.pop("cells", [["ok", "no", "gap"], ["no", "ok", "ok"]])
    return heatmap_svg(rows, columns, cells, kw.pop("states", STATES), title=kw.pop("title", "Grid"), rtl=rtl, **kw)


# --------------------------------------------------------------------------------------------- escaping


def test_bar_chart_labels_and_title_are_text_not_markup():
    svg = bar_chart_svg({HOSTILE: 2, "ok": 1}, title=HOSTILE)
    root = assert_safe(svg)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp;" in svg
    assert root.find(f"{SVG}title").text == '<script>alert(1)</script> & "quoted" \ufffd'
    keys = [g.get("data-key") for g in root.iter(f"{SVG}g") if g.get("data-key")]
    assert keys == ['<script>alert(1)</script> & "quoted" \ufffd', "ok"]


def test_heatmap_labels_states_and_attribute_values_are_escaped():
    states = {HOSTILE: HeatState(fill="teal", name=HOSTILE, symbol="<b>")}
    svg = heatmap(rows=[HOSTILE], columns=['x" onload="y'], cells=[[HOSTILE]], states=states, title=HOSTILE)
    root = assert_safe(svg)
    cell = next(g for g in root.iter(f"{SVG}g") if g.get("data-state"))
    assert cell.get("data-row") == cell.get("data-state") == '<script>alert(1)</script> & "quoted" \ufffd'
    assert cell.get("data-column") == 'x" onload="y'
    assert "<b>" in texts(root)


def test_heatmap_rejects_fills_that_could_reach_outside():
    for bad in ("url(http://evil.example/x)", 'red" onload="x', "var(--x)"):
        with pytest.raises(ValueError, match="unsupported colour"):
            heatmap(states={**STATES, "ok": HeatState(fill=bad, name="Right")})
    assert 'fill="rgb(0, 10, 20)"' in heatmap(states={**STATES, "ok": HeatState(fill=" rgb(0, 10, 20) ", name="R")})


def test_stacked_columns_series_names_and_column_labels_are_escaped():
    svg = stacked_columns_svg([HOSTILE, "b"], {HOSTILE: [1, 2]}, title=HOSTILE, totals_label=HOSTILE)
    root = assert_safe(svg)
    rects = [r for r in root.iter(f"{SVG}rect") if r.get("data-key")]
    assert {r.get("data-key") for r in rects} == {'<script>alert(1)</script> & "quoted" \ufffd'}


# ------------------------------------------------------------------------------------------- mirroring


def bar_rects(root: ET.Element) -> dict[str, ET.Element]:
    return {g.get("data-key"): g.find(f"{SVG}rect") for g in root.iter(f"{SVG}g") if g.get("data-key")}


def test_bar_chart_rtl_puts_labels_right_and_grows_bars_leftwards():
    values = {"א": 0.25, "ב": 1.0}
    ltr, rtl = parse(bar_chart_svg(values, title="t")), parse(bar_chart_svg(values, title="t", rtl=True))
    width = float(rtl.get("width"))
    for key in values:
        a, b = bar_rects(ltr)[key], bar_rects(rtl)[key]
        assert float(a.get("width")) == float(b.get("width"))
        # The same bar, reflected in the chart's vertical midline.
        assert float(b.get("x")) + float(b.get("width")) == pytest.approx(width - float(a.get("x")), abs=0.01)
    labels = [g.find(f"{SVG}text") for g in rtl.iter(f"{SVG}g") if g.get("data-key")]
    assert {t.get("text-anchor") for t in labels} == {"end"}
    assert all(float(t.get("x")) > float(bar_rects(rtl)["ב"].get("x")) for t in labels)


def test_bar_chart_negative_values_extend_the_other_way_from_zero():
    root = parse(bar_chart_svg({"neg": -0.5, "pos": 0.5}, title="t"))
    neg, pos = bar_rects(root)["neg"], bar_rects(root)["pos"]
    assert float(neg.get("x")) + float(neg.get("width")) == pytest.approx(float(pos.get("x")))


def cell_x(root: ET.Element, column: str) -> float:
    (x,) = {float(g.find(f"{SVG}rect").get("x")) for g in root.iter(f"{SVG}g") if g.get("data-column") == column}
    return x


def test_heatmap_rtl_mirrors_columns_row_labels_and_legend():
    ltr, rtl = parse(heatmap()), parse(heatmap(rtl=True))
    width = float(rtl.get("width"))
    assert cell_x(ltr, "Q1") < cell_x(ltr, "Q3") and cell_x(rtl, "Q1") > cell_x(rtl, "Q3")
    cell_w = float(next(g for g in rtl.iter(f"{SVG}g") if g.get("data-column")).find(f"{SVG}rect").get("width"))
    assert cell_x(rtl, "Q1") == pytest.approx(width - cell_x(ltr, "Q1") - cell_w, abs=0.01)
    assert {t.get("text-anchor") for t in group(rtl, "students")} == {"end"}
    assert {t.get("text-anchor") for t in group(ltr, "students")} == {"start"}
    legend_l, legend_r = group(ltr, "legend"), group(rtl, "legend")
    assert float(legend_l.find(f"{SVG}rect").get("x")) == 10
    assert float(legend_r.find(f"{SVG}rect").get("x")) == width - 10 - 14


def test_heatmap_names_its_data_attributes_and_legend_as_asked():
    root = parse(heatmap(row_attr="student", column_attr="item"))
    cells = [g for g in root.iter(f"{SVG}g") if g.get("data-state")]
    assert len(cells) == 6 and {(g.get("data-student"), g.get("data-item")) for g in cells} >= {("S1", "Q1")}
    legend = [t.text for t in group(root, "legend").iter(f"{SVG}text")]
    assert legend == ["\u2713", "Right", "1", "1 Wrong", "Missing"]  # swatch symbol, then its line


def column_x(root: ET.Element, i: int) -> float:
    g = next(g for g in root.iter(f"{SVG}g") if g.get("data-column") == str(i))
    return float(g.find(f"{SVG}rect").get("x"))


def test_stacked_columns_rtl_runs_time_right_to_left_with_the_axis_on_the_right():
    series = {"a": [1, 2, 3], "b": [0, 1, 0]}
    ltr = parse(stacked_columns_svg(["1", "2", "3"], series, title="t"))
    rtl = parse(stacked_columns_svg(["1", "2", "3"], series, title="t", rtl=True))
    assert column_x(ltr, 0) < column_x(ltr, 2) and column_x(rtl, 0) > column_x(rtl, 2)
    axis_l = [float(t.get("x")) for t in group(ltr, "axis").iter(f"{SVG}text")]
    axis_r = [float(t.get("x")) for t in group(rtl, "axis").iter(f"{SVG}text")]
    assert max(axis_l) < column_x(ltr, 0) and min(axis_r) > column_x(rtl, 0)


# ------------------------------------------------------------------------------------------ empty data


def test_empty_data_still_renders_a_well_formed_chart_with_a_dash():
    for svg in (bar_chart_svg({}, title="Nothing yet"), stacked_columns_svg([], {}, title="Nothing yet"),
                stacked_columns_svg(["0:00"], {}, title="Nothing yet", rtl=True)):
        assert "\u2014" in texts(assert_safe(svg))
    root = assert_safe(heatmap_svg([], [], [], {}, title="Nothing yet"))
    assert not [g for g in root.iter(f"{SVG}g") if g.get("data-state")]
    root = assert_safe(heatmap(rows=[], cells=[]))
    assert len(list(group(root, "items"))) == 3


def test_bad_data_is_refused_with_the_offending_key():
    with pytest.raises(ValueError, match="'x' must be a finite number"):
        bar_chart_svg({"x": float("inf")}, title="t")
    with pytest.raises(ValueError, match="finite number"):
        bar_chart_svg({"x": True}, title="t")
    with pytest.raises(ValueError, match="'s' needs 2 counts"):
        stacked_columns_svg(["a", "b"], {"s": [1]}, title="t")
    with pytest.raises(ValueError, match="zero or more"):
        stacked_columns_svg(["a"], {"s": [-1]}, title="t")


# ---------------------------------------------------------------------------------------------- axes


@pytest.mark.parametrize(("top", "ticks"), [(0, [0, 1]), (1, [0, 1]), (4, [0, 1, 2, 3, 4]), (5, [0, 2, 4, 6]),
                                             (97, [0, 25, 50, 75, 100])])
def test_axis_ticks_are_whole_numbers_reaching_the_top(top, ticks):
    assert axis_ticks(top) == ticks


def test_series_colours_start_with_the_palette_and_cycle_after_nine():
    assert SERIES_COLOURS[: len(PALETTE)] == PALETTE and len(set(SERIES_COLOURS)) == 9
    root = parse(stacked_columns_svg(["a"], {f"s{i}": [1] for i in range(10)}, title="t"))
    fills = [r.get("fill") for r in root.iter(f"{SVG}rect") if r.get("data-key")]
    assert fills[9] == fills[0] == PALETTE[0]


# --------------------------------------------------------------------------------------- phone geometry

# The first font the charts name, and the widest of them; Debian's fonts-dejavu-core, which Chromium's fontconfig
# needs, so it is on every machine that runs the browser tests.
FONTS = Path("/usr/share/fonts/truetype/dejavu")
EMBEDDING = "\u202b\u202c"


@cache
def advances(bold: bool) -> tuple[dict[int, float], float]:
    """Each character's advance in em, read from the font's cmap (format 4) and hmtx tables; and the fallback's."""
    path = FONTS / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")
    assert path.exists(), f"{path} is missing: install fonts-dejavu-core"
    data = path.read_bytes()

    def u16(at: int) -> int:
        return struct.unpack_from(">H", data, at)[0]

    tables = {data[12 + 16 * i: 16 + 16 * i].decode(): struct.unpack_from(">I", data, 20 + 16 * i)[0]
              for i in range(u16(4))}
    units, count = u16(tables["head"] + 18), u16(tables["hhea"] + 34)
    widths = [u16(tables["hmtx"] + 4 * i) / units for i in range(count)]
    cmap = tables["cmap"]
    at = next(a for a in (cmap + struct.unpack_from(">I", data, cmap + 8 + 8 * i)[0] for i in range(u16(cmap + 2)))
              if u16(a) == 4)
    n = u16(at + 6) // 2
    ends, starts, deltas, offsets = at + 14, at + 16 + 2 * n, at + 16 + 4 * n, at + 16 + 6 * n
    chars = {}
    for k in range(n):
        first, offset = u16(starts + 2 * k), u16(offsets + 2 * k)
        delta = struct.unpack_from(">h", data, deltas + 2 * k)[0]
        for c in range(first, min(u16(ends + 2 * k), 0xFFFE) + 1):
            glyph = u16(offsets + 2 * k + offset + 2 * (c - first)) if offset else c
            chars[c] = widths[min((glyph + delta) & 0xFFFF if glyph else 0, count - 1)]
    return chars, widths[0]


def drawn_width(text: str, size: float, bold: bool = False) -> float:
    """How wide DejaVu Sans sets `text` (isolated forms: Arabic joined is narrower), embedding marks taking none."""
    chars, missing = advances(bold)
    return sum(0.0 if c in EMBEDDING else chars.get(ord(c), missing) for c in text) * size


def texts_with_style(root: ET.Element):
    """Each <text> with its x, anchor, font size and weight (inherited from its groups), and its words."""
    def walk(el, size, bold):
        size = float(el.get("font-size", size))
        bold = el.get("font-weight", "bold" if bold else "") == "bold"
        if el.tag == f"{SVG}text":
            words = (el.text or "") + "".join(child.tail or "" for child in el)
            yield float(el.get("x")), el.get("text-anchor", "start"), size, bold, words
        for child in el:
            yield from walk(child, size, bold)
    yield from walk(root, 12.0, False)


def assert_inside(root: ET.Element, width_limit: float | None = None) -> None:
    """Every text lies inside the view box (and, for a title or legend, within `width_limit` of the reading edge)."""
    _x, _y, width, _h = (float(v) for v in root.get("viewBox").split())
    for x, anchor, size, bold, words in texts_with_style(root):
        w = drawn_width(words, size, bold)
        left = {"start": x, "end": x - w, "middle": x - w / 2}[anchor]
        assert -0.5 <= left and left + w <= width + 0.5, (words, left, left + w, width)


HEBREW_TITLE = ("התלמידים המחזיקים בכל תפיסה שגויה במטלה האבחונית של כיתה ח'3 — שברים על ציר המספרים "
                "(לפני ההוראה המחודשת)")
ARABIC_TITLE = ("الطلاب الذين يحملون كل تصور خاطئ في المهمة التشخيصية للصف الثامن — الكسور على خط الأعداد "
                "(قبل إعادة التدريس)")
LONG_WORD = "Misconceptions" * 6
LONG_NAMES = {
    "מוסיפים מונה למונה ומכנה למכנה כשמחברים שברים": 7,
    "חושבים שמכנה גדול יותר פירושו שבר גדול יותר": 5,
    "يظنون أن الكسر ذا المقام الأكبر هو الكسر الأكبر دائمًا": 3,
    "Treat the decimal point as a separator between two whole numbers": 2,
}


def charts(title: str, rtl: bool) -> dict[str, str]:
    return {
        "bars": bar_chart_svg(LONG_NAMES, title=title, rtl=rtl),
        "short bars": bar_chart_svg({f"Q{i}": i / 10 for i in range(1, 11)}, title=title, rtl=rtl),
        "heatmap": heatmap(rtl, title=title),
        "wide heatmap": heatmap(rtl, title=title, columns=[f"Q{i}" for i in range(1, 41)],
                                cells=[["ok"] * 40, ["no"] * 40]),
        "columns": stacked_columns_svg([f"{5 * i}:00" for i in range(9)], {"הנמקה › התלמידים מנמקים": [1] * 9},
                                       title=title, rtl=rtl),
    }


def heading_lines(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()).strip(EMBEDDING) for t in group(root, "heading").iter(f"{SVG}text")]


@pytest.mark.parametrize("rtl", [True, False])
@pytest.mark.parametrize("title", [HEBREW_TITLE, ARABIC_TITLE, LONG_WORD], ids=["hebrew", "arabic", "one-word"])
def test_long_titles_wrap_inside_the_view_box_of_every_chart(title, rtl):
    for name, svg in charts(title, rtl).items():
        root = assert_safe(svg)
        width = float(root.get("width"))
        lines = heading_lines(root)
        assert len(lines) > 1, name
        assert "".join(lines).replace(" ", "") == title.replace(" ", ""), name  # nothing cut, nothing added
        readable = min(width, FIT_WIDTH) - 20
        for line in lines:
            assert drawn_width(line, 15, bold=True) <= readable, (name, line)
        edge = [float(t.get("x")) for t in group(root, "heading").iter(f"{SVG}text")]
        assert set(edge) == {width - 10 if rtl else 10.0}, name  # from the reading edge, so a wide chart shows it
        assert root.find(f"{SVG}title").text == title  # the whole title stays the picture's name
        assert_inside(root)
        # The body starts below the title's last line.
        last = max(float(t.get("y")) for t in group(root, "heading").iter(f"{SVG}text"))
        body = [float(r.get("y")) for r in root.iter(f"{SVG}rect")][1:]  # after the background
        assert min(body) > last, name


def test_a_misconception_chart_with_long_names_stays_phone_wide_with_its_labels_above_the_bars():
    for rtl in (False, True):
        root = assert_safe(bar_chart_svg(LONG_NAMES, title="Students holding each misconception", rtl=rtl))
        assert float(root.get("width")) == FIT_WIDTH and root.get("class") is None
        # Shown at a phone's card width, its smallest text is still MIN_TEXT_PX.
        smallest = min(size for *_, size, _bold, _words in texts_with_style(root))
        assert smallest * PHONE_PX / FIT_WIDTH >= MIN_TEXT_PX
        assert_inside(root)
        for key in LONG_NAMES:
            g = next(g for g in root.iter(f"{SVG}g") if g.get("data-key") == key)
            label_ys = [float(t.get("y")) for t in g.iter(f"{SVG}text")][:-1]  # the last text is the number
            assert max(label_ys) < float(g.find(f"{SVG}rect").get("y")), key  # above the bar
            assert "".join("".join(t.itertext()) for t in g.iter(f"{SVG}text")).count("\u2026") == 0, key
    # Short labels sit beside the bars instead: one line per row.
    short = parse(bar_chart_svg({"Q1": 0.5, "Q2": 1.0}, title="t"))
    g = next(g for g in short.iter(f"{SVG}g") if g.get("data-key") == "Q1")
    label, bar = g.find(f"{SVG}text"), g.find(f"{SVG}rect")
    assert float(bar.get("y")) < float(label.get("y")) < float(bar.get("y")) + float(bar.get("height"))
    assert float(label.get("x")) < float(bar.get("x"))


def test_a_label_longer_than_two_lines_is_cut_with_an_ellipsis_and_kept_whole_in_its_tooltip():
    name = "תפיסה שגויה " * 20
    root = parse(bar_chart_svg({name: 1}, title="t", rtl=True))
    g = next(g for g in root.iter(f"{SVG}g") if g.get("data-key"))
    lines = ["".join(t.itertext()).strip(EMBEDDING) for t in g.iter(f"{SVG}text")][:-1]
    assert len(lines) == 2 and lines[1].endswith("\u2026")
    assert g.find(f"{SVG}title").text == f"{name}: 1"
    assert_inside(root)


def test_a_grid_too_wide_for_a_phone_scrolls_with_its_title_and_legend_in_the_first_screen():
    states = {**STATES, "no": HeatState(fill="#5A5A5A", name="Wrong", symbol="1",
                                        legend="1 " + "מחברים מונים ומכנים בנפרד כשמחברים שברים " * 2)}
    for rtl in (False, True):
        root = assert_safe(heatmap(rtl, title=HEBREW_TITLE, states=states, columns=[f"Q{i}" for i in range(1, 41)],
                                   cells=[["ok"] * 40, ["no"] * 40]))
        width = float(root.get("width"))
        assert root.get("class") == "chart-wide" and width > FIT_WIDTH
        assert_inside(root)
        # The title and the legend lie within FIT_WIDTH of the reading edge: seen before any scrolling.
        first_screen = (width - FIT_WIDTH, width) if rtl else (0.0, FIT_WIDTH)
        for cls in ("heading", "legend"):
            for x, anchor, size, bold, words in texts_with_style(group(root, cls)):
                w = drawn_width(words, size if cls == "legend" else 15, bold or cls == "heading")
                left = {"start": x, "end": x - w, "middle": x - w / 2}[anchor]
                assert first_screen[0] - 0.5 <= left and left + w <= first_screen[1] + 0.5, (cls, words)


def test_a_lessons_columns_share_a_phone_width_and_label_every_other_column_when_crowded():
    starts = [f"{5 * i}:00" for i in range(9)]  # a 45-minute lesson
    root = assert_safe(stacked_columns_svg(starts, {"a": [3] * 9, "b": [12] * 9}, title="Tags", rtl=True))
    assert float(root.get("width")) == FIT_WIDTH and root.get("class") is None
    assert_inside(root)
    labelled = [g.get("data-column") for g in group(root, "columns") if len(g.findall(f"{SVG}text")) > 1]
    assert labelled == ["0", "2", "4", "6", "8"]
    # A long video's columns no longer fit: the chart grows, says so, and labels what room allows.
    long = parse(stacked_columns_svg([str(i) for i in range(60)], {"a": [1] * 60}, title="Tags"))
    assert long.get("class") == "chart-wide" and float(long.get("width")) > FIT_WIDTH
    assert_inside(long)


def test_right_to_left_words_are_held_in_an_embedding_and_left_to_right_ones_are_not():
    root = parse(bar_chart_svg({"הנמקה (2)": 1, "Q1 (2)": 2}, title="תגיות (לכל 5 דקות)"))
    raw = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert "\u202bתגיות (לכל 5 דקות)\u202c" in raw and "\u202bהנמקה (2)\u202c" in raw
    assert "Q1 (2)" in raw and "2" in raw


def test_the_width_estimate_never_falls_short_of_dejavu_sans():
    samples = [HEBREW_TITLE, ARABIC_TITLE, LONG_WORD, "WWWW MMMM mmmm", "0123456789 — (3) · 12:30",
               "ALL CAPITALS IN A TITLE", *LONG_NAMES]
    for text in samples:
        for bold in (False, True):
            assert text_width(text, 15, bold=bold) >= drawn_width(text, 15, bold), (text, bold)
    assert wrap("", 100) == [""] and wrap("a b", 1000) == ["a b"]
    assert all(text_width(line) <= 60 for line in wrap(LONG_WORD, 60))


def test_a_line_chart_of_levels_over_attempts():
    from app.charts import line_chart_svg

    svg = line_chart_svg(["#1", "#2", "#3"], {"Elicits reasoning": [1, 3, None], "שואל למה": [2, None, 4]},
                         title="Rubric levels over your attempts", lo=1, hi=4)
    root = ET.fromstring(svg.split("?>", 1)[1])
    marks = [el for el in root.iter() if el.get("data-value")]
    assert [(m.get("data-column"), m.get("data-value")) for m in marks] == [("0", "1"), ("1", "3"), ("0", "2"),
                                                                           ("2", "4")]
    # A missing level leaves a gap: one line for the first series, none across the gap of the second.
    assert len([el for el in root.iter() if el.tag.endswith("polyline")]) == 1
    assert float(root.get("width")) <= FIT_WIDTH
    rtl = line_chart_svg(["#1", "#2"], {"A": [1, 2]}, title="t", lo=1, hi=4, rtl=True)
    first, second = [float(el.get("x")) for el in ET.fromstring(rtl.split("?>", 1)[1]).iter() if el.get("data-value")]
    assert first > second  # the first attempt is the rightmost
    with pytest.raises(ValueError):
        line_chart_svg(["#1"], {"A": [5]}, title="t", lo=1, hi=4)
