"""Roll-ups and small-cell suppression against hand-worked numbers, and an attacker who subtracts (app.goals.rollup).

The attacker knows every published number (a shown share's numerator is value × students / 100) and solves the
linear equations the table publishes: each row's parts add up to the row total, each column's to the column total,
the row totals and the column totals to the grand total. `_recoverable` does that exactly (Gaussian elimination
over fractions): an unknown is recoverable when the equations pin it to one value.
"""

from __future__ import annotations

import random
from fractions import Fraction

import pytest

from app.goals.rollup import MIN_STUDENTS, Cell, Shown, combine, on_track, protect_1d, protect_2d


def share(numerator, students):
    return Cell(numerator, students, "share")


def _recoverable(unknowns: list, equations: list[list]) -> set:
    """The unknowns that the equations (each a list of the unknowns it adds up; known terms do not matter for
    what can be solved) fix to a single value."""
    index = {u: i for i, u in enumerate(unknowns)}
    rows = []
    for equation in equations:
        row = [Fraction(0)] * len(unknowns)
        for u, coefficient in equation:
            if u in index:
                row[index[u]] += coefficient
        if any(row):
            rows.append(row)
    pivots, top = [], 0
    for col in range(len(unknowns)):
        at = next((i for i in range(top, len(rows)) if rows[i][col]), None)
        if at is None:
            continue
        rows[top], rows[at] = rows[at], rows[top]
        rows[top] = [x / rows[top][col] for x in rows[top]]
        for i in range(len(rows)):
            if i != top and rows[i][col]:
                factor = rows[i][col]
                rows[i] = [a - factor * b for a, b in zip(rows[i], rows[top], strict=True)]
        pivots.append(col)
        top += 1
    # e_k is in the row space exactly when the reduced row with pivot k has no other entry.
    return {unknowns[col] for i, col in enumerate(pivots) if sum(1 for x in rows[i] if x) == 1}


def _attack_2d(cells, parts, rows, cols, total) -> set:
    """What the attacker recovers among the hidden parts and totals of a published 2-D table."""
    row_keys = sorted({r for r, _c in cells})
    col_keys = sorted({c for _r, c in cells})
    unknowns = ([k for k in cells if parts[k].suppressed] + [("row", r) for r in row_keys if rows[r].suppressed]
                + [("col", c) for c in col_keys if cols[c].suppressed] + ([("all",)] if total.suppressed else []))
    equations = [[((r, c), 1) for c in col_keys if (r, c) in cells] + [(("row", r), -1)] for r in row_keys]
    equations += [[((r, c), 1) for r in row_keys if (r, c) in cells] + [(("col", c), -1)] for c in col_keys]
    equations.append([(("row", r), 1) for r in row_keys] + [(("all",), -1)])
    equations.append([(("col", c), 1) for c in col_keys] + [(("all",), -1)])
    return _recoverable(unknowns, equations)


def _groups_2d(cells, parts, rows, cols, total):
    """Every published sum as the suppressed flags of its members (parts and their total)."""
    row_keys = sorted({r for r, _c in cells})
    col_keys = sorted({c for _r, c in cells})
    for r in row_keys:
        yield [parts[(r, c)].suppressed for c in col_keys if (r, c) in cells] + [rows[r].suppressed]
    for c in col_keys:
        yield [parts[(r, c)].suppressed for r in row_keys if (r, c) in cells] + [cols[c].suppressed]
    yield [rows[r].suppressed for r in row_keys] + [total.suppressed]
    yield [cols[c].suppressed for c in col_keys] + [total.suppressed]


# ------------------------------------------------------------------------------------------------ cells, combine


@pytest.mark.parametrize(("cell", "value"), [
    (share(6, 30), 20.0),  # 6 of 30 = 20 %
    (Cell(1950, 30, "mean"), 65.0),  # scores adding up to 1950 over 30 students: 65
    (Cell(7, None, "count"), 7.0),
    (share(0, 0), None),  # about nobody: no share
    (share(None, 30), None),
    (Cell(100, None, "mean"), None),
])
def test_a_cells_value(cell, value):
    assert cell.value == (None if value is None else pytest.approx(value))


def test_an_unknown_measure_is_refused():
    with pytest.raises(ValueError):
        Cell(1, 10, "median")


def test_combine_adds_students_not_percentages():
    # 6/30 (20 %) and 5/25 (20 %): 11/55 = 20 %.
    both = combine([share(6, 30), share(5, 25)])
    assert (both.numerator, both.students, both.measure) == (11, 55, "share") and both.value == pytest.approx(20.0)
    # 3/8 (37.5 %) and 6/30 (20 %): 9/38 = 23.68 %, not the mean of the percentages, 28.75 %.
    both = combine([share(3, 8), share(6, 30)])
    assert (both.numerator, both.students) == (9, 38) and both.value == pytest.approx(23.684, abs=1e-3)


def test_combine_weighs_means_by_students_and_sums_counts():
    # A mean of 80 over 10 students (800) and of 60 over 30 (1800): 2600 / 40 = 65, not (80 + 60) / 2 = 70.
    assert combine([Cell(800, 10, "mean"), Cell(1800, 30, "mean")]) == Cell(2600, 40, "mean")
    assert combine([Cell(800, 10, "mean"), Cell(1800, 30, "mean")]).value == pytest.approx(65.0)
    # Counts add up and have no students: 3 + 4 = 7.
    assert combine([Cell(3, None, "count"), Cell(4, None, "count")]) == Cell(7, None, "count")


def test_combine_of_nothing_of_unknowns_and_of_mixed_measures():
    assert combine([]) == Cell(None, None, "count")
    assert combine([], "share") == Cell(None, None, "share")
    # A cell without a numerator adds neither numerator nor students: 5/25 stays 5/25 (20 %), not 5/55.
    assert combine([share(None, 30), share(5, 25)]) == share(5, 25)
    assert combine([share(None, 30)]) == share(None, None)
    with pytest.raises(ValueError):
        combine([share(1, 10), Cell(1, None, "count")])
    with pytest.raises(ValueError):
        combine([share(1, 10)], "mean")


# ---------------------------------------------------------------------------------------------------------- 1-D


GRADES = {10: share(6, 30), 11: share(3, 8), 12: share(7, 25)}  # total 16 of 63


def test_one_small_grade_and_its_complement():
    # Grade 11 is about 8 students (< 10): hidden, "small". With the total 63 shown, 63 - 30 - 25 = 8 and
    # 16 - 6 - 7 = 3 would give it back, so the smallest other grade goes too: 12 (25 students, fewer than 30).
    shown, total = protect_1d(GRADES, combine(GRADES.values()))
    assert shown[10] == Shown(pytest.approx(20.0), 30, False, None)
    assert shown[11] == Shown(None, None, True, "small")
    assert shown[12] == Shown(None, None, True, "complementary")
    # The total is published: 16 of 63 = 25.40 %.
    assert (total.students, total.suppressed) == (63, False) and total.value == pytest.approx(100 * 16 / 63)


def test_the_attacker_is_left_with_two_unknowns_and_one_equation():
    shown, total = protect_1d(GRADES, combine(GRADES.values()))
    published = {g: s for g, s in shown.items() if not s.suppressed}
    # What can be subtracted: 63 - 30 = 33 students and 16 - 6 = 10 in the track, over grades 11 and 12 together.
    rest_students = total.students - sum(s.students for s in published.values())
    rest_numerator = round(total.value * total.students / 100) - round(sum(s.value * s.students / 100
                                                                           for s in published.values()))
    assert (rest_students, rest_numerator) == (33, 10)
    hidden = [g for g, s in shown.items() if s.suppressed]
    assert hidden == [11, 12]
    # Grade 11 could be any of 1..32 students (e.g. 8 and 25 as it is, or 13 and 20): the equation does not say.
    assert _recoverable(hidden, [[(11, 1), (12, 1)]]) == set()
    # Had only grade 11 been hidden, it would be: 63 - 30 - 25 = 8.
    assert _recoverable([11], [[(11, 1)]]) == {11}


def test_two_small_grades_cover_each_other():
    # Grades 11 (8) and 12 (5) are both small: two unknowns already, nothing more to hide.
    parts = {10: share(6, 30), 11: share(3, 8), 12: share(2, 5)}
    shown, total = protect_1d(parts, combine(parts.values()))
    assert [s.reason for s in shown.values()] == [None, "small", "small"] and not total.suppressed


@pytest.mark.parametrize(("parts", "complement"), [
    # Ties on students go to the smaller key: grades 10 and 12 both have 20 students -> 10.
    ({10: share(4, 20), 11: share(1, 5), 12: share(4, 20)}, 10),
    # Keys in their own order, not as text: 9 before 10 ("10" < "9" as strings).
    ({9: share(4, 20), 10: share(4, 20), 11: share(1, 5)}, 9),
    # A grade about nobody covers nothing (its 0 would be known): the 25 goes, not the 0.
    ({10: share(0, 0), 11: share(3, 8), 12: share(7, 25)}, 12),
])
def test_which_part_is_the_complement(parts, complement):
    shown, _total = protect_1d(parts, combine(parts.values()))
    assert {k for k, s in shown.items() if s.reason == "complementary"} == {complement}


def test_no_total_no_complement_and_a_zero_size_cell_is_not_small():
    shown, total = protect_1d(GRADES)
    assert total is None and [s.reason for s in shown.values()] == [None, "small", None]
    shown, _ = protect_1d({10: share(0, 0), 11: share(6, 30)}, share(6, 30))
    assert shown[10] == Shown(None, 0, False, None)


def test_a_small_total_hides_everything():
    # 1/4 + 2/5 + 0/0 = 3/9: the total is about 9 students (< 10), so it and all its parts are hidden.
    parts = {10: share(1, 4), 11: share(2, 5), 12: share(0, 0)}
    shown, total = protect_1d(parts, combine(parts.values()))
    assert total == Shown(None, None, True, "small")
    assert [s.reason for s in shown.values()] == ["small", "small", "complementary"]


def test_a_total_with_no_part_left_to_hide_is_hidden():
    # A total of 40 over grades not all shown: grade 11's 8 is hidden and grade 12 (nobody) covers nothing.
    shown, total = protect_1d({11: share(3, 8), 12: share(0, 0)}, share(20, 40))
    assert total == Shown(None, None, True, "complementary") and shown[11].reason == "small"


def test_counts_are_never_suppressed():
    parts = {10: Cell(3, None, "count"), 11: Cell(1, None, "count")}
    shown, total = protect_1d(parts, combine(parts.values()))
    assert not any(s.suppressed for s in shown.values()) and total == Shown(4.0, None, False, None)


# ---------------------------------------------------------------------------------------------------------- 2-D


# Schools × grades, students (numerators): B11 is about 6 students.
#          10        11        12     | school
#   A    8/40      7/35      4/20     | 19/95
#   B    6/30      3/6 *     5/25     | 14/61
#   C   11/22      7/28      9/45     | 27/95
#  ---------------------------------------------
#  grade 25/92    17/69     18/90     | 60/251
TABLE = {("A", 10): share(8, 40), ("A", 11): share(7, 35), ("A", 12): share(4, 20),
         ("B", 10): share(6, 30), ("B", 11): share(3, 6), ("B", 12): share(5, 25),
         ("C", 10): share(11, 22), ("C", 11): share(7, 28), ("C", 12): share(9, 45)}


def test_a_schools_by_grades_table():
    parts, rows, cols, total = protect_2d(TABLE)
    hidden = {k: s.reason for k, s in parts.items() if s.suppressed}
    # Rows first, then columns, over and over, each group with exactly one hidden part losing its smallest other:
    #  pass 1: row B (B11) -> B12 (25 < B10's 30); column 11 (B11) -> C11 (28 < A11's 35);
    #          column 12 (B12) -> A12 (20 < C12's 45).
    #  pass 2: row A (A12) -> A11 (35 < A10's 40); row C (C11) -> C10 (22 < C12's 45);
    #          column 10 (C10) -> B10 (30 < A10's 40).
    #  pass 3: every row and column has 0, 2 or 3 hidden parts: done.
    assert hidden == {("B", 11): "small", ("B", 12): "complementary", ("C", 11): "complementary",
                      ("A", 12): "complementary", ("A", 11): "complementary", ("C", 10): "complementary",
                      ("B", 10): "complementary"}
    # Row B and column 11, the small cell's, each lose more than it.
    assert sum(k[0] == "B" for k in hidden) == 3 and sum(k[1] == 11 for k in hidden) == 3
    # The totals are all published: A 95, B 61, C 95; grades 92, 69, 90; 60 of 251 (23.90 %).
    assert [rows[r].students for r in "ABC"] == [95, 61, 95]
    assert [cols[g].students for g in (10, 11, 12)] == [92, 69, 90]
    assert not any(s.suppressed for s in [*rows.values(), *cols.values(), total])
    assert total.students == 251 and total.value == pytest.approx(100 * 60 / 251)
    assert parts[("A", 10)] == Shown(pytest.approx(20.0), 40, False, None)


def test_the_attacker_gets_nothing_back_from_the_table():
    published = protect_2d(TABLE)
    parts = published[0]
    # No published sum has exactly one hidden member: none can be subtracted out directly.
    for group in _groups_2d(TABLE, *published):
        assert sum(group) != 1
    # Nor by combining equations: nothing hidden is pinned down.
    assert _attack_2d(TABLE, *published) == set()
    # Concretely: move one student (and one in the track) round the hidden cycle A11 +1, B11 -1, B12 +1, A12 -1.
    # Every row and column sum stays, and so does the whole publication, while B11 is 2/5 instead of 3/6.
    other = dict(TABLE)
    other.update({("A", 11): share(8, 36), ("B", 11): share(2, 5), ("B", 12): share(6, 26), ("A", 12): share(3, 19)})
    assert protect_2d(other) == published
    assert parts[("B", 11)].suppressed


# A 4 × 4 table with one small cell, B12 (4 students), where "no row or column with exactly one hidden part" is
# not enough:
#          9    10    11    12  | school
#   A     34    41    12    50  | 137
#   B     31    46    32     4* | 113
#   C     50    22    44    42  | 158
#   D     57    39    42    39  | 177
#   grade 172  148   130   135  | 592
BRIDGED = {(school, grade): share(0, n)
           for school, line in zip("ABCD", [(34, 41, 12, 50), (31, 46, 32, 4), (50, 22, 44, 42), (57, 39, 42, 39)],
                                   strict=True)
           for grade, n in zip((9, 10, 11, 12), line, strict=True)}


def test_a_small_cell_is_not_left_recoverable_by_combining_rows_and_columns():
    # The groups alone (rows first, then columns, repeated):
    #  row B (B12) -> B9 (31); column 9 (B9) -> A9 (34); column 12 (B12) -> D12 (39);
    #  row A (A9) -> A11 (12); row D (D12) -> D10 (39, before D11's 42); column 10 (D10) -> C10 (22);
    #  column 11 (A11) -> B11 (32); row C (C10) -> C12 (42, before C11's 44).
    # That hides {A, B} × {9, 11} and {C, D} × {10, 12} plus B12 joining them, and every group has 0, 2 or 3 hidden
    # parts, yet B12 is given away:
    #   A9 + A11 = 137 - 41 - 50 = 46;  A9 + B9 = 172 - 50 - 57 = 65;  A11 + B11 = 130 - 44 - 42 = 44
    #   so B9 + B11 = 65 + 44 - 46 = 63, and B12 = 113 - 46 - 63 = 4.
    groups_only = {("A", 9), ("A", 11), ("B", 9), ("B", 11), ("B", 12), ("C", 10), ("C", 12), ("D", 10), ("D", 12)}
    out, hid = Shown(0.0, 1, False, None), Shown(None, None, True, "complementary")
    flags = {k: hid if k in groups_only else out for k in BRIDGED}
    recovered = _attack_2d(BRIDGED, flags, dict.fromkeys("ABCD", out), dict.fromkeys((9, 10, 11, 12), out), out)
    assert recovered == {("B", 12)}
    # So one more cell closes a cycle through B12: the cheapest part joining rows A, B to grades 10, 12 or rows
    # C, D to grades 9, 11 — A10 (41; then D11 42, C11 44, B10 46, A12 50, C9 50, D9 57).
    parts, rows, cols, total = protect_2d(BRIDGED)
    hidden = {k for k, s in parts.items() if s.suppressed}
    assert hidden == groups_only | {("A", 10)} and parts[("A", 10)].reason == "complementary"
    assert _attack_2d(BRIDGED, parts, rows, cols, total) == set()
    assert not any(s.suppressed for s in [*rows.values(), *cols.values(), total])


def test_a_tiny_school_hides_its_row_and_a_cover_for_its_total():
    # School C has 3 + 4 = 7 students: its total and its cells are small. Columns: grade 9 (C9) -> A9 (30 < 40);
    # grade 10 (C10) -> A10 (25 < 35); the school totals (C's 7) -> A's 55 (< B's 75), or 137 - 55 - 75 = 7.
    cells = {("A", 9): share(6, 30), ("A", 10): share(5, 25), ("B", 9): share(8, 40), ("B", 10): share(7, 35),
             ("C", 9): share(1, 3), ("C", 10): share(2, 4)}
    parts, rows, cols, total = protect_2d(cells)
    assert {k for k, s in parts.items() if s.suppressed} == {("A", 9), ("A", 10), ("C", 9), ("C", 10)}
    assert (rows["A"].reason, rows["B"].reason, rows["C"].reason) == ("complementary", None, "small")
    assert not cols[9].suppressed and not cols[10].suppressed and total.students == 137
    assert _attack_2d(cells, parts, rows, cols, total) == set()


def test_a_missing_cell_is_a_known_zero():
    # School A has no grade 10, so A9 is A's total and grade 10's total is B10. B9 (2) is small:
    # row B -> B10 (15); grade 9 -> A9 (47); grade 10 has no other part -> its total (15); row A -> its total (47);
    # the grade totals (grade 10's) -> grade 9's (49); the school totals (A's) -> B's (17). Only 64 is left.
    cells = {("A", 9): share(10, 47), ("B", 9): share(1, 2), ("B", 10): share(3, 15)}
    parts, rows, cols, total = protect_2d(cells)
    assert all(s.suppressed for s in [*parts.values(), *rows.values(), *cols.values()])
    assert ("A", 10) not in parts and total == Shown(pytest.approx(100 * 14 / 64), 64, False, None)


def test_a_table_under_ten_students_hides_everything():
    # 2 + 3 + 1 + 3 = 9 students.
    cells = {("A", 9): share(1, 2), ("A", 10): share(1, 3), ("B", 9): share(0, 1), ("B", 10): share(2, 3)}
    parts, rows, cols, total = protect_2d(cells)
    assert total == Shown(None, None, True, "small")
    assert all(s.suppressed for s in [*parts.values(), *rows.values(), *cols.values()])


def test_the_2d_edges():
    assert protect_2d({}) == ({}, {}, {}, Shown(None, None, False, None))
    with pytest.raises(ValueError):
        protect_2d({("A", 9): share(1, 20), ("A", 10): Cell(1, None, "mean")})


@pytest.mark.parametrize("seed", range(4))
def test_random_tables_give_nothing_small_away(seed):
    rng = random.Random(seed)
    for _ in range(60):
        cells = {(r, c): share(rng.randint(0, n), n)
                 for r in range(rng.randint(1, 6)) for c in range(rng.randint(1, 6)) if rng.random() < 0.85
                 for n in [rng.choice([rng.randint(1, MIN_STUDENTS - 1), rng.randint(0, 60), rng.randint(10, 60)])]}
        if not cells:
            continue
        parts, rows, cols, total = protect_2d(cells)
        assert protect_2d(cells) == (parts, rows, cols, total)  # deterministic
        small = {k for k, c in cells.items() if 0 < c.students < MIN_STUDENTS}
        row_sizes = {r: sum(c.students for (rr, _g), c in cells.items() if rr == r) for r, _g in cells}
        col_sizes = {g: sum(c.students for (_r, gg), c in cells.items() if gg == g) for _r, g in cells}
        assert all(parts[k].suppressed for k in small)
        assert all(rows[r].suppressed for r, n in row_sizes.items() if 0 < n < MIN_STUDENTS)
        assert all(cols[g].suppressed for g, n in col_sizes.items() if 0 < n < MIN_STUDENTS)
        for group in _groups_2d(cells, parts, rows, cols, total):
            assert sum(group) != 1
        exposed = _attack_2d(cells, parts, rows, cols, total)
        sizes = {**{k: c.students for k, c in cells.items()}, **{("row", r): n for r, n in row_sizes.items()},
                 **{("col", g): n for g, n in col_sizes.items()}}
        assert not {u for u in exposed if 0 < sizes.get(u, 0) < MIN_STUDENTS}
        grand = sum(c.students for c in cells.values())
        assert total.suppressed == (0 < grand < MIN_STUDENTS)


# ------------------------------------------------------------------------------------------------------ on track


# Up: 12 in 2025 to 16 in 2029, so the path is at 14 in 2027 (12 + 4 × 2/4), 12 until 2025, 16 from 2029.
# Down: 9 in 2025 to 5 in 2029, at 7 in 2027.
@pytest.mark.parametrize(("direction", "year", "latest", "tolerance", "expected"), [
    ("up", 2027, 16.5, 0, "met"), ("up", 2027, 16.0, 0, "met"), ("up", 2027, 15.0, 0, "on"),
    ("up", 2027, 14.0, 0, "on"),  # exactly on the path
    ("up", 2027, 13.9, 0, "off"), ("up", 2027, 13.6, 0.5, "on"), ("up", 2027, 13.4, 0.5, "off"),
    ("up", 2024, 12.0, 0, "on"), ("up", 2024, 11.9, 0, "off"),  # before the start the path is the baseline
    ("up", 2030, 15.9, 0, "off"),  # past the target year only the target will do
    ("up", 2027, None, 0, None),
    ("down", 2027, 4.0, 0, "met"), ("down", 2027, 5.0, 0, "met"), ("down", 2027, 6.0, 0, "on"),
    ("down", 2027, 7.0, 0, "on"), ("down", 2027, 7.5, 0, "off"), ("down", 2027, 7.5, 0.5, "on"),
    ("down", 2027, None, 0, None),
])
def test_on_track_against_the_straight_path(direction, year, latest, tolerance, expected):
    baseline, target = (12.0, 16.0) if direction == "up" else (9.0, 5.0)
    assert on_track(direction, baseline, target, 2025, 2029, year, latest, tolerance=tolerance) == expected


def test_on_track_edges():
    # Without a baseline there is no path: met or off.
    assert on_track("up", None, 16.0, 2027, 2029, 2027, 15.9) == "off"
    assert on_track("up", None, 16.0, 2027, 2029, 2027, 16.0) == "met"
    assert on_track("down", None, 5.0, 2027, 2029, 2027, 5.1) == "off"
    # The target's year is its start: the target at once.
    assert on_track("up", 12.0, 16.0, 2027, 2027, 2027, 15.0) == "off"
    # 10.1 to 10.7 over six years is at 10.4 after three; float noise does not push 10.4 off the path.
    assert on_track("up", 10.1, 10.7, 2020, 2026, 2023, 10.4) == "on"
    assert on_track("down", 10.7, 10.1, 2020, 2026, 2023, 10.4) == "on"
    with pytest.raises(ValueError):
        on_track("sideways", 1.0, 2.0, 2025, 2029, 2027, 1.5)
    with pytest.raises(ValueError):
        on_track("up", 1.0, 2.0, 2025, 2029, 2027, 1.5, tolerance=-1)
