"""Adding up indicator values and protecting small groups of students (pure Python, no database).

A `Cell` keeps what adds up: a share keeps its numerator (students in the track) and its students, a mean the sum
of its scores and its students, a count the count. `combine` adds cells, so a network's share is the students in the
track over the students, never an average of percentages.

Only aggregates leave a school. Suppression (statistical disclosure control):

* Primary ("small"): a cell about 1 to MIN_STUDENTS - 1 students is hidden. A cell about no students is not: an
  empty group tells nothing about anyone. Count measures have no students (students is None) and are never hidden.
* A total about too few students is hidden ("small") and so is every part of it ("complementary").
* Complementary: where a total is shown with its parts, a single hidden part (or a single hidden total beside its
  shown parts) would be given away by subtraction. So wherever such a group (the parts of a row plus its total, of a
  column plus its total, the row totals plus the grand total, the column totals plus the grand total) has exactly
  one hidden member, its smallest other part (fewest students, ties by key; a part about nobody is no cover) is
  hidden too, again and again until no group has exactly one hidden member. A total is hidden as a complement only
  when its group has no part left to hide; the grand total never is (only when it is small).
* In a 2-D table "no group with exactly one hidden member" is not enough: a hidden cell can still be worked out by
  combining several rows and columns (two blocks of hidden cells joined by a single hidden cell). Writing the table
  with its totals as one (rows + 1) × (columns + 1) table whose rows and columns all balance, the hidden cells are
  the edges of a bipartite graph on rows and columns, and a hidden cell is exactly recoverable from what is
  published if and only if it lies on no cycle of that graph (it is a bridge). So, as long as a small cell is a
  bridge, the cheapest path of further cells closing a cycle through it is hidden too (fewest totals first, then
  fewest students). A hidden cell then always has other values consistent with everything published.

Not covered: bounds from non-negativity (an attacker may narrow a hidden cell to an interval, never to its value),
and the same table published again with other groupings or in other periods.

A cell that is left out of sums (no numerator; for a share or a mean, no students) is only ever hidden as small; it
takes no part in the totals, so nothing can be subtracted to find it.
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

MIN_STUDENTS = 10
MEASURES = ("share", "count", "mean")
DIRECTIONS = ("up", "down")
SMALL = "small"
COMPLEMENTARY = "complementary"

K = TypeVar("K", bound=Hashable)
R = TypeVar("R", bound=Hashable)
C = TypeVar("C", bound=Hashable)


@dataclass(frozen=True)
class Cell:
    numerator: float | None  # share: students in the track; mean: sum of scores (value × students); count: the count
    students: int | None  # the students the cell is about; None for counts
    measure: str  # share | count | mean

    def __post_init__(self) -> None:
        if self.measure not in MEASURES:
            raise ValueError(f"unknown measure {self.measure!r}: one of {', '.join(MEASURES)}")

    @property
    def value(self) -> float | None:
        """A share in percent, a mean, a count; None without a numerator, or about no (or unknown) students."""
        if self.numerator is None:
            return None
        if self.measure == "count":
            return float(self.numerator)
        if not self.students:
            return None
        return 100 * self.numerator / self.students if self.measure == "share" else self.numerator / self.students


def _in_sums(cell: Cell) -> bool:
    return cell.numerator is not None and (cell.measure == "count" or cell.students is not None)


def combine(cells: Iterable[Cell], measure: str | None = None) -> Cell:
    """The cells added up: numerators and students summed, so every student weighs the same.

    A cell without a numerator (or a share or a mean without students) adds nothing, neither to the numerator nor to
    the students. No cells: Cell(None, None, measure) ("count" when no measure is given). Cells of different measures
    (or of another measure than `measure`) raise ValueError."""
    cells = list(cells)
    kinds = {c.measure for c in cells} | ({measure} if measure is not None else set())
    if len(kinds) > 1:
        raise ValueError(f"cells of different measures cannot be added: {', '.join(sorted(kinds))}")
    kind = kinds.pop() if kinds else "count"
    used = [c for c in cells if _in_sums(c)]
    if not used:
        return Cell(None, None, kind)
    numerator = sum(c.numerator for c in used)
    students = None if kind == "count" else int(sum(c.students for c in used))
    return Cell(numerator, students, kind)


@dataclass(frozen=True)
class Shown:
    value: float | None
    students: int | None
    suppressed: bool
    reason: str | None  # "small" | "complementary" | None


def _small(cell: Cell) -> bool:
    return cell.students is not None and 0 < cell.students < MIN_STUDENTS


def _cover(cell: Cell) -> bool:
    """Whether hiding the cell hides something: it is in the sums and about at least one student."""
    return _in_sums(cell) and cell.students is not None and cell.students > 0


def _show(cell: Cell, reason: str | None) -> Shown:
    if reason is not None:
        return Shown(None, None, True, reason)
    return Shown(cell.value, cell.students, False, None)


def _ordered(keys: Iterable[Any]) -> list[Any]:
    """Keys in their own order when they have one (grade 9 before 10), else by repr: deterministic either way."""
    keys = list(keys)
    try:
        return sorted(keys)
    except TypeError:
        return sorted(keys, key=repr)


def protect_1d(parts: Mapping[K, Cell], total: Cell | None = None) -> tuple[dict[K, Shown], Shown | None]:
    """Parts published beside their total (e.g. grades and all grades), or alone when `total` is None (then only
    small cells are hidden: there is nothing to subtract from)."""
    hidden: dict[Any, str] = {k: SMALL for k, c in parts.items() if _small(c)}
    total_reason = None
    if total is not None and _small(total):
        total_reason = SMALL
        hidden.update({k: COMPLEMENTARY for k in parts if k not in hidden})
    elif total is not None:
        rank = {k: i for i, k in enumerate(_ordered(parts))}
        summed = [k for k in parts if _in_sums(parts[k])]
        if sum(k in hidden for k in summed) == 1:
            others = [k for k in summed if k not in hidden and _cover(parts[k])]
            if others:
                hidden[min(others, key=lambda k: (parts[k].students, rank[k]))] = COMPLEMENTARY
            else:  # nothing else to hide among the parts (inconsistent total): the total goes
                total_reason = COMPLEMENTARY
    shown = {k: _show(c, hidden.get(k)) for k, c in parts.items()}
    return shown, (None if total is None else _show(total, total_reason))


class _Table:
    """A table with its totals as one (n + 1) × (m + 1) table: row n holds the column totals, column m the row
    totals, (n, m) the grand total. Items are (i, j) pairs; graph vertices are ("r", i) and ("c", j)."""

    def __init__(self, parts: Mapping[tuple[Any, Any], Cell], measure: str) -> None:
        self.rows = _ordered({r for r, _c in parts})
        self.cols = _ordered({c for _r, c in parts})
        n, m = self.n, self.m = len(self.rows), len(self.cols)
        row_at = {r: i for i, r in enumerate(self.rows)}
        col_at = {c: j for j, c in enumerate(self.cols)}
        self.cells: dict[tuple[int, int], Cell] = {(row_at[r], col_at[c]): cell for (r, c), cell in parts.items()}
        for i in range(n):
            self.cells[(i, m)] = combine([self.cells[(i, j)] for j in range(m) if (i, j) in self.cells], measure)
        for j in range(m):
            self.cells[(n, j)] = combine([self.cells[(i, j)] for i in range(n) if (i, j) in self.cells], measure)
        self.cells[(n, m)] = combine([c for (i, j), c in self.cells.items() if i < n and j < m], measure)
        self.grand = (n, m)
        # The items in the sums: the edges of the graph. A part left out of the sums is no edge.
        self.edges = sorted(e for e, c in self.cells.items() if e[0] == n or e[1] == m or _in_sums(c))
        self.around: dict[tuple[str, int], list[tuple[int, int]]] = {}
        for e in self.edges:
            self.around.setdefault(("r", e[0]), []).append(e)
            self.around.setdefault(("c", e[1]), []).append(e)
        self.hidden: dict[tuple[int, int], str] = {}

    def is_total(self, e: tuple[int, int]) -> bool:
        return e[0] == self.n or e[1] == self.m

    def hide(self, e: tuple[int, int], reason: str) -> None:
        self.hidden.setdefault(e, reason)

    def primary(self) -> None:
        n, m = self.n, self.m
        for e, cell in self.cells.items():
            if _small(cell):
                self.hide(e, SMALL)
        if self.grand in self.hidden:
            for e in self.cells:
                self.hide(e, COMPLEMENTARY)
            return
        for (i, j) in list(self.hidden):
            if j == m:  # a small row total: every part of the row
                for k in range(m):
                    if (i, k) in self.cells:
                        self.hide((i, k), COMPLEMENTARY)
            elif i == n:  # a small column total: every part of the column
                for k in range(n):
                    if (k, j) in self.cells:
                        self.hide((k, j), COMPLEMENTARY)

    def complete_groups(self) -> None:
        """Until no group (a vertex's edges: the parts of a row with its total, ...) has exactly one hidden item."""
        changed = True
        while changed:
            changed = False
            for vertex in sorted(self.around, key=lambda v: (v[0] != "r", v[1])):  # rows, then columns
                group = self.around[vertex]
                if sum(e in self.hidden for e in group) != 1:
                    continue
                others = [e for e in group if e not in self.hidden and e != self.grand and _cover(self.cells[e])]
                if others:
                    self.hide(min(others, key=lambda e: (self.is_total(e), self.cells[e].students, e)), COMPLEMENTARY)
                else:  # nothing that hides anything is left: hide what there is (only with odd data)
                    for e in group:
                        self.hide(e, COMPLEMENTARY)
                changed = True

    def bridges(self) -> list[tuple[int, int]]:
        """Hidden items on no cycle of hidden items (Tarjan, iterative): each is exactly recoverable."""
        graph: dict[tuple[str, int], list[tuple[tuple[str, int], tuple[int, int]]]] = {}
        for e in sorted(self.hidden):
            if e not in self.around.get(("r", e[0]), ()):
                continue  # not in the sums: no equation holds it
            u, v = ("r", e[0]), ("c", e[1])
            graph.setdefault(u, []).append((v, e))
            graph.setdefault(v, []).append((u, e))
        order: dict[tuple[str, int], int] = {}
        low: dict[tuple[str, int], int] = {}
        found = []
        for root in sorted(graph):
            if root in order:
                continue
            order[root] = low[root] = len(order)
            stack = [(root, None, iter(graph[root]))]
            while stack:
                vertex, via, edges = stack[-1]
                for nxt, e in edges:
                    if e == via:
                        continue
                    if nxt in order:
                        low[vertex] = min(low[vertex], order[nxt])
                    else:
                        order[nxt] = low[nxt] = len(order)
                        stack.append((nxt, e, iter(graph[nxt])))
                        break
                else:
                    stack.pop()
                    if stack:
                        parent = stack[-1][0]
                        low[parent] = min(low[parent], low[vertex])
                        if low[vertex] > order[parent]:
                            found.append(via)
        return sorted(found)

    def close_cycle(self, bridge: tuple[int, int], *, anything: bool = False) -> bool:
        """Hide the cheapest path of items from one end of `bridge` to the other (Dijkstra; hidden items are free,
        then fewest totals, fewest students, fewest items). False when there is none."""
        start, goal = ("r", bridge[0]), ("c", bridge[1])
        best = {start: (0, 0, 0)}
        back: dict[tuple[str, int], tuple[tuple[str, int], tuple[int, int]]] = {}
        queue = [((0, 0, 0), start)]
        while queue:
            cost, vertex = heapq.heappop(queue)
            if vertex == goal:
                break
            if cost > best[vertex]:
                continue
            for e in self.around.get(vertex, []):
                if e == bridge:
                    continue
                nxt = ("c", e[1]) if vertex[0] == "r" else ("r", e[0])
                if e in self.hidden:
                    step = (0, 0, 0)
                elif anything or (e != self.grand and _cover(self.cells[e])):
                    step = (int(self.is_total(e)), self.cells[e].students or 0, 1)
                else:
                    continue
                new = (cost[0] + step[0], cost[1] + step[1], cost[2] + step[2])
                if nxt not in best or new < best[nxt]:
                    best[nxt] = new
                    back[nxt] = (vertex, e)
                    heapq.heappush(queue, (new, nxt))
        if goal not in back:
            return False
        vertex = goal
        while vertex != start:
            vertex, e = back[vertex]
            self.hide(e, COMPLEMENTARY)
        return True

    def protect(self) -> None:
        self.primary()
        while True:
            self.complete_groups()
            exposed = [e for e in self.bridges() if _small(self.cells[e])]
            if not exposed:
                return
            if not (self.close_cycle(exposed[0]) or self.close_cycle(exposed[0], anything=True)):
                for e in self.cells:  # no way round it at all (cannot happen: the totals close a cycle)
                    self.hide(e, COMPLEMENTARY)
                return

    def shown(self, e: tuple[int, int]) -> Shown:
        return _show(self.cells[e], self.hidden.get(e))


def protect_2d(parts: Mapping[tuple[R, C], Cell]
               ) -> tuple[dict[tuple[R, C], Shown], dict[R, Shown], dict[C, Shown], Shown]:
    """Rows × columns (e.g. schools × grades) with a total per row and per column (each the parts combined) and a
    grand total: (parts, row totals, column totals, grand total), suppressed as the module says. A (row, column)
    missing from `parts` is taken as known to be empty. Cells of different measures raise ValueError."""
    measures = {c.measure for c in parts.values()}
    if len(measures) > 1:
        raise ValueError(f"cells of different measures cannot be added: {', '.join(sorted(measures))}")
    table = _Table(parts, measures.pop() if measures else "count")
    table.protect()
    n, m = table.n, table.m
    return ({(table.rows[i], table.cols[j]): table.shown((i, j)) for i in range(n) for j in range(m)
             if (i, j) in table.cells},
            {r: table.shown((i, m)) for i, r in enumerate(table.rows)},
            {c: table.shown((n, j)) for j, c in enumerate(table.cols)},
            table.shown((n, m)))


_EPSILON = 1e-9  # float noise in the straight path: a value exactly on it is on track


def on_track(direction: str, baseline: float | None, target: float, start_year: int, target_year: int, year: int,
             latest: float | None, *, tolerance: float = 0.0) -> str | None:
    """"met", "on", "off", or None without a value (`latest` None).

    "met" when `latest` reaches the target (at least it for direction "up", at most for "down"). Otherwise "on" when
    it is on the good side of the straight path from `baseline` at `start_year` to `target` at `target_year`, where
    the path is at `year` (the baseline before start_year, the target from target_year on), or short of it by at
    most `tolerance` (in the indicator's unit, 0 by default); "off" otherwise. Without a baseline there is no path:
    "met" or "off"."""
    if direction not in DIRECTIONS:
        raise ValueError(f"unknown direction {direction!r}: up or down")
    if tolerance < 0:
        raise ValueError("tolerance is not negative")
    if latest is None:
        return None
    sign = 1 if direction == "up" else -1
    if sign * (latest - target) >= -_EPSILON:
        return "met"
    if baseline is None:
        return "off"
    if year >= target_year or target_year <= start_year:
        expected = target
    elif year <= start_year:
        expected = baseline
    else:
        expected = baseline + (target - baseline) * (year - start_year) / (target_year - start_year)
    return "on" if sign * (latest - expected) >= -tolerance - _EPSILON else "off"
