"""The SVG chart kit (app.charts): what any caller's labels do to the file, right-to-left mirroring, empty data."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from app.charts import (
    PALETTE,
    SERIES_COLOURS,
    HeatState,
    axis_ticks,
    bar_chart_svg,
    heatmap_svg,
    stacked_columns_svg,
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
    assert cell_x(rtl, "Q1") == pytest.approx(width - cell_x(ltr, "Q1") - 22, abs=0.01)
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
