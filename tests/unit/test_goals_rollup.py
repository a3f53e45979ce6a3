"""Adding up indicator values and hiding small groups, against hand-worked numbers (app.goals.rollup)."""

from __future__ import annotations

import itertools

import pytest

from app.goals.rollup import Cell, combine, on_track, protect_1d, protect_2d


def share(k, n):
    return Cell(k, n, "share")


def test_combine_adds_students_not_percentages():
    # 6 of 30 (20 %) and 5 of 25 (20 %) -> 11 of 55 = 20 %; 3 of 8 (37.5 %) with 6 of 30 -> 9 of 38 = 23.68 %, not
    # the mean of the percentages (28.75 %).
    assert combine([share(6, 30), share(5, 25)]).value == pytest.approx(20.0)
    both = combine([share(3, 8), share(6, 30)])
    assert (both.numerator, both.students) == (9, 38) and both.value == pytest.approx(100 * 9 / 38)
    # Means weighted by their students: 80 over 10 and 60 over 30 -> (800 + 1800) / 40 = 65.
    assert combine([Cell(800, 10, "mean"), Cell(1800, 30, "mean")]).value == pytest.approx(65.0)
    assert combine([Cell(3, None, "count"), Cell(4, None, "count")]).value == 7
    assert combine([]).value is None and share(0, 0).value is None
    with pytest.raises(ValueError):
        combine([share(1, 10), Cell(1, None, "count")])


def test_one_small_grade_hides_the_smallest_other_so_the_total_gives_nothing_away():
    # Grades 10 (6 of 30), 11 (3 of 8: under 10) and 12 (7 of 25), total 16 of 63. With only grade 11 hidden, 63 -
    # 30 - 25 = 8 students and 16 - 6 - 7 = 3 would give it away; so grade 12 (the smaller other) is hidden too.
    parts = {10: share(6, 30), 11: share(3, 8), 12: share(7, 25)}
    shown, total = protect_1d(parts, combine(parts.values()))
    assert shown[10].value == pytest.approx(20.0) and not shown[10].suppressed
    assert (shown[11].suppressed, shown[11].reason, shown[11].value) == (True, "small", None)
    assert (shown[12].suppressed, shown[12].reason) == (True, "complementary")
    assert total.students == 63 and total.value == pytest.approx(100 * 16 / 63)
    # The attacker: total less what is published leaves 33 students and 10 in the track over two grades.
    hidden = [g for g, s in shown.items() if s.suppressed]
    assert len(hidden) == 2
    assert total.students - sum(s.students for s in shown.values() if not s.suppressed) == 8 + 25


def test_no_total_no_complement_and_a_small_total_hides_everything():
    shown, total = protect_1d({10: share(3, 8), 11: share(6, 30)})
    assert shown[10].suppressed and not shown[11].suppressed and total is None
    parts = {10: share(1, 4), 11: share(2, 5)}
    shown, total = protect_1d(parts, combine(parts.values()))
    assert total.suppressed and all(s.suppressed for s in shown.values())
    # An empty group tells nothing about anyone: not hidden.
    shown, _ = protect_1d({10: share(0, 0), 11: share(6, 30)}, share(6, 30))
    assert not shown[10].suppressed


def test_a_schools_by_grades_table_leaves_no_row_or_column_with_one_hidden_cell():
    # School A: 6/30, 3/8 (small), 7/25; school B: 6/40, 9/35, 6/20; school C: 5/22, 4/18, 8/31.
    cells = {("A", 10): share(6, 30), ("A", 11): share(3, 8), ("A", 12): share(7, 25),
             ("B", 10): share(6, 40), ("B", 11): share(9, 35), ("B", 12): share(6, 20),
             ("C", 10): share(5, 22), ("C", 11): share(4, 18), ("C", 12): share(8, 31)}
    parts, rows, cols, total = protect_2d(cells)
    hidden = {k for k, s in parts.items() if s.suppressed}
    # A11 is small. Then, each time a row or a column has exactly one hidden cell, its smallest other goes: row A ->
    # A12 (25); column 11 -> C11 (18); column 12 -> B12 (20); row B -> B11 (35, not B10's 40); row C -> C10 (22);
    # column 10 -> A10 (30, not B10's 40). More is hidden than a cleverer search would hide, never less.
    assert hidden == {("A", 10), ("A", 11), ("A", 12), ("B", 11), ("B", 12), ("C", 10), ("C", 11)}
    assert ("A", 11) in hidden and parts[("A", 11)].reason == "small"
    for r in "ABC":
        assert sum((r, g) in hidden for g in (10, 11, 12)) != 1
    for g in (10, 11, 12):
        assert sum((r, g) in hidden for r in "ABC") != 1
    assert not total.suppressed and total.students == sum(c.students for c in cells.values())
    assert rows["A"].students == 63 and cols[10].students == 92
    # Exhaustively: no hidden cell is the only unknown of any published row or column sum.
    for r, g in hidden:
        row_unknowns = [k for k in itertools.product([r], (10, 11, 12)) if k in hidden]
        col_unknowns = [k for k in itertools.product("ABC", [g]) if k in hidden]
        assert len(row_unknowns) >= 2 and len(col_unknowns) >= 2


@pytest.mark.parametrize(("direction", "latest", "expected"), [
    ("up", 16.5, "met"), ("up", 15.0, "on"), ("up", 13.5, "off"), ("up", None, None),
    ("down", 4.0, "met"), ("down", 6.0, "on"), ("down", 7.5, "off"),
])
def test_on_track_against_the_straight_path(direction, latest, expected):
    # Up: 12 in 2025 to 16 in 2029; in 2027 the path is at 14. Down: 9 in 2025 to 5 in 2029; in 2027 at 7.
    baseline, target = (12.0, 16.0) if direction == "up" else (9.0, 5.0)
    assert on_track(direction, baseline, target, 2025, 2029, 2027, latest) == expected


def test_on_track_without_a_baseline_only_knows_met_or_not():
    assert on_track("up", None, 16.0, 2027, 2029, 2027, 15.9) == "off"
    assert on_track("up", None, 16.0, 2027, 2029, 2027, 16.0) == "met"
