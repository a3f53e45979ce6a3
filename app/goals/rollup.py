"""Adding up indicator values and protecting small groups of students (pure Python, no database).

A `Cell` keeps what adds up: a share keeps its numerator (students in the track) and its students, a mean the sum
of its scores and its students, a count the count. `combine` adds cells, so a network's share is the students in the
track over the students, never an average of percentages.

Only aggregates leave a school. A published cell about fewer than MIN_STUDENTS students (but more than none: an
empty group tells nothing about anyone) is hidden ("small"). A table that shows a total beside its parts would then
give the hidden part away by subtraction, so wherever a row or a column (a group of parts that add up to a shown
total) has exactly one hidden part, its smallest other part is hidden too ("complementary"), again and again until
no group has exactly one hidden part. A total about fewer than MIN_STUDENTS students is hidden, and so are all its
parts.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

MIN_STUDENTS = 10
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Cell:
    numerator: float | None
    students: int | None
    measure: str  # share | count | mean

    @property
    def value(self) -> float | None:
        if self.numerator is None:
            return None
        if self.measure == "count":
            return float(self.numerator)
        if not self.students:
            return None
        return 100 * self.numerator / self.students if self.measure == "share" else self.numerator / self.students


def combine(cells: Iterable[Cell], measure: str | None = None) -> Cell:
    cells = list(cells)
    if not cells:
        return Cell(None, None, measure or "count")
    kinds = {c.measure for c in cells}
    if len(kinds) != 1:
        raise ValueError(f"cells of different measures cannot be added: {sorted(kinds)}")
    kind = kinds.pop()
    numerators = [c.numerator for c in cells if c.numerator is not None]
    students = [c.students for c in cells if c.students is not None]
    return Cell(sum(numerators) if numerators else None,
                None if kind == "count" or not students else int(sum(students)), kind)


@dataclass(frozen=True)
class Shown:
    value: float | None
    students: int | None
    suppressed: bool
    reason: str | None  # "small" | "complementary" | None


def _small(cell: Cell | None) -> bool:
    return cell is not None and cell.students is not None and 0 < cell.students < MIN_STUDENTS


def _show(cell: Cell, reason: str | None) -> Shown:
    if reason is not None:
        return Shown(None, None, True, reason)
    return Shown(cell.value, cell.students, False, None)


def _size(cell: Cell) -> float:
    return cell.students if cell.students is not None else float("inf")


def _complete(groups: list[list], cells: Mapping, hidden: dict) -> None:
    """Hide the smallest other part of every group with exactly one hidden part, until none has."""
    changed = True
    while changed:
        changed = False
        for group in groups:
            inside = [k for k in group if k in hidden]
            if len(inside) != 1:
                continue
            others = sorted((k for k in group if k not in hidden and cells[k].students is not None),
                            key=lambda k: (_size(cells[k]), repr(k)))
            if not others:
                continue
            hidden[others[0]] = "complementary"
            changed = True


def protect_1d(parts: Mapping[K, Cell], total: Cell | None = None) -> tuple[dict[K, Shown], Shown | None]:
    """Parts published beside their total (or alone, when `total` is None)."""
    hidden: dict = {k: "small" for k, c in parts.items() if _small(c)}
    if total is not None and _small(total):
        return {k: _show(c, hidden.get(k, "complementary")) for k, c in parts.items()}, _show(total, "small")
    if total is not None:
        _complete([list(parts)], parts, hidden)
    shown = {k: _show(c, hidden.get(k)) for k, c in parts.items()}
    return shown, (None if total is None else _show(total, None))


def protect_2d(parts: Mapping[tuple, Cell]):
    """Rows × columns with a total per row, per column and overall: (parts, row totals, column totals, total)."""
    rows = sorted({r for r, _c in parts}, key=repr)
    cols = sorted({c for _r, c in parts}, key=repr)
    measure = next(iter(parts.values())).measure if parts else "count"
    row_cells = {r: combine([parts[(r, c)] for c in cols if (r, c) in parts], measure) for r in rows}
    col_cells = {c: combine([parts[(r, c)] for r in rows if (r, c) in parts], measure) for c in cols}
    grand = combine(list(parts.values()), measure)
    hidden: dict = {k: "small" for k, c in parts.items() if _small(c)}
    if _small(grand):
        return ({k: _show(c, hidden.get(k, "complementary")) for k, c in parts.items()},
                {r: _show(c, "complementary") for r, c in row_cells.items()},
                {c: _show(v, "complementary") for c, v in col_cells.items()}, _show(grand, "small"))
    # A small row or column total is hidden with every part of it; its complement is then found among the totals.
    row_hidden = {r: "small" for r, c in row_cells.items() if _small(c)}
    col_hidden = {c: "small" for c, v in col_cells.items() if _small(v)}
    for r in row_hidden:
        for c in cols:
            if (r, c) in parts:
                hidden.setdefault((r, c), "complementary")
    for c in col_hidden:
        for r in rows:
            if (r, c) in parts:
                hidden.setdefault((r, c), "complementary")
    _complete([list(row_cells)], row_cells, row_hidden)
    _complete([list(col_cells)], col_cells, col_hidden)
    groups = [[(r, c) for c in cols if (r, c) in parts] for r in rows]
    groups += [[(r, c) for r in rows if (r, c) in parts] for c in cols]
    while True:
        before = len(hidden)
        _complete(groups, parts, hidden)
        for r in row_hidden:  # a hidden row total: its parts stay hidden (they would give it away)
            for c in cols:
                if (r, c) in parts:
                    hidden.setdefault((r, c), "complementary")
        if len(hidden) == before:
            break
    return ({k: _show(c, hidden.get(k)) for k, c in parts.items()},
            {r: _show(c, row_hidden.get(r)) for r, c in row_cells.items()},
            {c: _show(v, col_hidden.get(c)) for c, v in col_cells.items()}, _show(grand, None))


def on_track(direction: str, baseline: float | None, target: float, start_year: int, target_year: int, year: int,
             latest: float | None, *, tolerance: float = 0.0) -> str | None:
    """"met" when the latest value reaches the target; "on" when it is on or past the straight path from the
    baseline (at start_year) to the target (at target_year) at `year`, within `tolerance`; "off" otherwise; None
    without a value. Without a baseline, a value short of the target is "off"."""
    if latest is None:
        return None
    up = direction != "down"
    if (latest >= target) if up else (latest <= target):
        return "met"
    if baseline is None:
        return "off"
    span = max(1, target_year - start_year)
    at = min(max(year - start_year, 0), span)
    expected = baseline + (target - baseline) * at / span
    return "on" if ((latest >= expected - tolerance) if up else (latest <= expected + tolerance)) else "off"
