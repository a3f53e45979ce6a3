"""Statistics for diagnostic assignments whose wrong answers reveal misconceptions.

Pure Python (stdlib, and `app.charts` which is stdlib only too): plain frozen dataclasses in, plain
dataclasses out, so the web app, the bench and the tests all call the same code and none of them needs
Flask or a database.

    score_matrix(items, responses)            -> Matrix        students x items of 1/0/None
    item_statistics(matrix)                   -> [ItemStats]    difficulty, discrimination, distractors
    kr20(matrix)                              -> float | None   internal consistency
    student_profiles(items, responses)        -> [StudentProfile]  score and misconception evidence
    misconception_frequencies(profiles)       -> {misconception: students holding it}
    suggest_groups(profiles, max_group=6)     -> [Group]
    heatmap(matrix, items, responses)         -> Heatmap        one state per (student, item)
    change_over_time(before, after)           -> dict           resolved / persisted / new, score change
    render_heatmap_svg(heatmap, ...)          -> str            printable SVG (drawn by app.charts)
    render_bar_chart_svg(values, title=...)   -> str            printable SVG (app.charts.bar_chart_svg)

Conventions shared by every function:

* The missing-answer rule (one rule for score, p, point-biserial and KR-20; the README repeats it):
  only *submitted* work is counted, and the caller passes only that (a draft is not a response).
  In submitted work a skipped item is a wrong answer: the caller passes it as ``correct=False`` with
  ``value=None`` (shown as "skipped", scored 0). A short text that the teacher has not scored yet is
  *pending*: ``correct=None`` with its value. Pending answers are left out of the score's denominator,
  of p and of the point-biserial's students, count 0 in the "rest of the test" total, and keep their
  student out of KR-20 until scored; every statistic says how many are pending. A student with no
  response at all (nothing submitted) appears as "not submitted" and in no statistic.
* Duplicate (student, item) responses: the last one in iteration order wins, even when it is
  unanswered, so a teacher "un-scoring" an answer is honoured.
* Responses for items that are not in ``items`` are ignored: an item deleted from the assignment
  must not break the report.
* A misconception is revealed only by a *wrong* answer: the explicit ``Response.misconception``
  when given, else ``ItemSpec.misconception_of[value]``. A correct answer reveals nothing, because
  the heatmap cell must say "correct" and a correct answer is not evidence of a misconception.
* Students are ordered by plain string comparison of their codes; dict keys in outputs are sorted,
  so every output is deterministic for the same input whatever order the responses came in.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from app import charts

__all__ = [
    "CORRECT",
    "HELD_MIN_COUNT",
    "HELD_MIN_STRENGTH",
    "INCORRECT",
    "MISSING",
    "PENDING",
    "SKIPPED",
    "SMALL_SAMPLE",
    "Evidence",
    "Group",
    "Heatmap",
    "ItemSpec",
    "ItemStats",
    "Matrix",
    "Response",
    "StudentProfile",
    "analyse",
    "change_over_time",
    "heatmap",
    "item_statistics",
    "kr20",
    "kr20_counts",
    "misconception_frequencies",
    "render_bar_chart_svg",
    "render_heatmap_svg",
    "score_matrix",
    "student_profiles",
    "suggest_groups",
]

# A single wrong answer can be a slip; two that point the same way are a pattern. Requiring at least
# half of the chances to show it keeps a student who met the misconception's trap on ten items and
# fell for it twice from being labelled as holding it.
HELD_MIN_COUNT = 2
HELD_MIN_STRENGTH = 0.5

# Heatmap cell states other than a misconception's name.
CORRECT = "correct"
MISSING = "missing"  # nothing submitted
INCORRECT = "incorrect"
SKIPPED = "skipped"  # submitted without an answer to this item: scored as wrong
PENDING = "pending"  # a short text waiting for the teacher's score
_RESERVED_STATES = (CORRECT, INCORRECT, MISSING, SKIPPED, PENDING)

# Below this many scored answers an item's discrimination is shown with a caution. The point-biserial's
# 95% interval at n = 20 and r = 0.5 runs from about 0.07 to 0.77 (Fisher's z, standard error
# 1/sqrt(n - 3)): under 20 students a value cannot tell a weak item from a strong one, so the number is
# shown but the report says so; p is a plain proportion and is shown with its n.
SMALL_SAMPLE = 20


# --------------------------------------------------------------------------------------------- input


@dataclass(frozen=True)
class ItemSpec:
    key: str
    # For each possible response value (a choice key like "A", or a normalised numeric/text answer),
    # the misconception it reveals, if any.
    misconception_of: Mapping[str, str] = field(default_factory=dict)


class Response(NamedTuple):
    """One answer. A named tuple, not a frozen dataclass: a network's report makes hundreds of thousands, and a
    frozen dataclass's __init__ costs several times more."""

    student: str
    item: str
    correct: bool | None  # None = not answered / not yet scored
    value: str | None = None
    misconception: str | None = None  # explicit (teacher-scored short text); else looked up via the item


# -------------------------------------------------------------------------------------------- output


@dataclass(frozen=True)
class Matrix:
    """Students x items. ``scores[i][j]`` is 1, 0 or None (missing) for ``students[i]``, ``items[j]``.

    ``values`` and ``misconceptions`` are parallel grids (the value given, the misconception the
    answer revealed) so that item statistics need nothing but the matrix.
    """

    students: tuple[str, ...]
    items: tuple[str, ...]
    scores: tuple[tuple[int | None, ...], ...]
    values: tuple[tuple[str | None, ...], ...]
    misconceptions: tuple[tuple[str | None, ...], ...]
    specs: tuple[ItemSpec, ...] = ()

    def score(self, student: str, item: str) -> int | None:
        return self.scores[self.students.index(student)][self.items.index(item)]


@dataclass(frozen=True)
class ItemStats:
    item: str
    n: int  # students who answered
    difficulty: float | None  # proportion correct among those who answered
    discrimination: float | None  # corrected item-total point-biserial
    distractor_rates: dict[str, float]  # value -> share of answering students who gave it
    misconception_rates: dict[str, float]  # misconception -> share of answering students revealing it
    pending: int = 0  # short texts given but not scored yet: in no rate above

    @property
    def small_sample(self) -> bool:
        return self.n < SMALL_SAMPLE


class Evidence(NamedTuple):
    """A named tuple for the same reason as Response: one per student and misconception of a report."""

    count: int  # items where the student's answer revealed the misconception
    opportunities: int  # answered items on which it could have been revealed

    @property
    def strength(self) -> float:
        return self.count / self.opportunities if self.opportunities else 0.0

    @property
    def held(self) -> bool:
        return self.count >= HELD_MIN_COUNT and self.strength >= HELD_MIN_STRENGTH


@dataclass(frozen=True)
class StudentProfile:
    student: str
    score: float | None  # correct / answered; None when nothing was answered
    answered: int
    correct: int
    misconceptions: dict[str, Evidence]  # every misconception the student had at least one chance to show
    held: list[str]  # strongest first, then by name


@dataclass(frozen=True)
class Group:
    misconception: str
    students: tuple[str, ...]


@dataclass(frozen=True)
class Heatmap:
    """``cells[i][j]`` is CORRECT, MISSING, INCORRECT or the name of the misconception revealed."""

    students: tuple[str, ...]
    items: tuple[str, ...]
    cells: tuple[tuple[str, ...], ...]

    def state(self, student: str, item: str) -> str:
        return self.cells[self.students.index(student)][self.items.index(item)]

    @property
    def misconceptions(self) -> tuple[str, ...]:
        return tuple(sorted({c for row in self.cells for c in row if c not in _RESERVED_STATES}))


# ------------------------------------------------------------------------------------------ internals


def _index_items(items: Sequence[ItemSpec]) -> dict[str, int]:
    index: dict[str, int] = {}
    for j, spec in enumerate(items):
        if spec.key in index:
            raise ValueError(f"item {spec.key!r} appears twice in the assignment")
        index[spec.key] = j
    return index


def _latest(
    items: Sequence[ItemSpec], responses: Iterable[Response], students: Iterable[str] | None
) -> tuple[dict[str, int], dict[str, dict[str, Response]]]:
    """Item index and student -> item -> the last response; roster students get an empty row."""
    index = _index_items(items)
    latest: dict[str, dict[str, Response]] = {s: {} for s in students or ()}
    for r in responses:
        if r.item in index:
            latest.setdefault(r.student, {})[r.item] = r
        else:
            # Still a student of the class, even if this item was removed from the assignment.
            latest.setdefault(r.student, {})
    return index, latest


def _revealed(spec: ItemSpec, r: Response) -> str | None:
    if r.correct is None or r.correct:
        return None
    if r.misconception:
        return r.misconception
    if r.value is None:
        return None
    return spec.misconception_of.get(r.value)


def _pearson(xs: Sequence[int], ys: Sequence[int]) -> float | None:
    """Pearson r from integer sums, so zero variance is detected exactly rather than as 1e-17."""
    n = len(xs)
    if n < 3:
        return None
    sx = sum(xs)
    sy = sum(ys)
    sxy = sum(x * y for x, y in zip(xs, ys, strict=True))
    sxx = sum(x * x for x in xs)
    syy = sum(y * y for y in ys)
    vx = n * sxx - sx * sx
    vy = n * syy - sy * sy
    if vx == 0 or vy == 0:
        return None
    r = (n * sxy - sx * sy) / math.sqrt(vx * vy)
    return max(-1.0, min(1.0, r))


# ------------------------------------------------------------------------------------------- scoring


def score_matrix(
    items: Sequence[ItemSpec], responses: Iterable[Response], *, students: Iterable[str] | None = None
) -> Matrix:
    """Students x items of 1/0/None; rows sorted by student code, columns in item order.

    ``students`` (optional roster) adds rows for students with no response at all, so the report
    shows who has not started instead of silently leaving them out.
    """
    return _matrix(items, *_latest(items, responses, students))


def analyse(
    items: Sequence[ItemSpec], responses: Iterable[Response], *, students: Iterable[str] | None = None,
    heat: bool = True,
) -> tuple[Matrix, list[StudentProfile], Heatmap | None]:
    """score_matrix, student_profiles and heatmap of the same responses, reading them once (a report of many
    classes calls this for each); `heat=False` leaves the heatmap out (None)."""
    index, latest = _latest(items, responses, students)
    matrix = _matrix(items, index, latest)
    return matrix, _profiles(items, index, latest), _heatmap(matrix, items, index, latest) if heat else None


def _matrix(items: Sequence[ItemSpec], index: dict[str, int], latest: dict[str, dict[str, Response]]) -> Matrix:
    codes = tuple(sorted(latest))
    k = len(items)
    scores: list[tuple[int | None, ...]] = []
    values: list[tuple[str | None, ...]] = []
    revealed: list[tuple[str | None, ...]] = []
    for code in codes:
        s_row: list[int | None] = [None] * k
        v_row: list[str | None] = [None] * k
        m_row: list[str | None] = [None] * k
        for key, r in latest[code].items():
            j = index[key]
            s_row[j] = None if r.correct is None else int(bool(r.correct))
            v_row[j] = r.value
            m_row[j] = _revealed(items[j], r)
        scores.append(tuple(s_row))
        values.append(tuple(v_row))
        revealed.append(tuple(m_row))
    return Matrix(
        students=codes,
        items=tuple(spec.key for spec in items),
        scores=tuple(scores),
        values=tuple(values),
        misconceptions=tuple(revealed),
        specs=tuple(items),
    )


def item_statistics(matrix: Matrix) -> list[ItemStats]:
    """Per item: n, difficulty, corrected point-biserial discrimination, distractor and misconception rates.

    The "total on the OTHER items" is the number right with a missing answer counted as 0 (classical
    number-right scoring): a student who skipped the rest of the test did not show mastery of it.
    Correlation is over the students who answered the item; None below 3 students or when either
    variable has zero variance, since r is then undefined or meaningless.
    """
    totals = [sum(s for s in row if s) for row in matrix.scores]
    specs = {spec.key: spec for spec in matrix.specs}
    stats: list[ItemStats] = []
    for j, key in enumerate(matrix.items):
        xs: list[int] = []
        rests: list[int] = []
        value_counts: dict[str, int] = {}
        misconception_counts: dict[str, int] = {}
        for i, row in enumerate(matrix.scores):
            x = row[j]
            if x is None:
                continue
            xs.append(x)
            rests.append(totals[i] - x)
            value = matrix.values[i][j]
            if value is not None:
                value_counts[value] = value_counts.get(value, 0) + 1
            m = matrix.misconceptions[i][j]
            if m is not None:
                misconception_counts[m] = misconception_counts.get(m, 0) + 1
        n = len(xs)
        pending = sum(1 for i, row in enumerate(matrix.scores) if row[j] is None and matrix.values[i][j] is not None)
        if n == 0:
            # No denominator: rates are left empty rather than reported as 0.0.
            stats.append(ItemStats(key, 0, None, None, {}, {}, pending))
            continue
        spec = specs.get(key)
        if spec is not None:
            # Values and misconceptions nobody showed are reported as 0.0: "nobody fell for B" is news.
            for value, m in spec.misconception_of.items():
                value_counts.setdefault(value, 0)
                misconception_counts.setdefault(m, 0)
        stats.append(
            ItemStats(
                item=key,
                n=n,
                difficulty=sum(xs) / n,
                discrimination=_pearson(xs, rests),
                distractor_rates={v: value_counts[v] / n for v in sorted(value_counts)},
                misconception_rates={m: misconception_counts[m] / n for m in sorted(misconception_counts)},
                pending=pending,
            )
        )
    return stats


def kr20(matrix: Matrix) -> float | None:
    """Kuder-Richardson 20: (k/(k-1)) * (1 - sum(p*q) / var(total)), population variance.

    Only students with every item scored are used (listwise deletion): under the missing-answer rule a
    skipped item is already a 0, so what keeps a submitted student out is a pending short text, until
    the teacher scores it (``kr20_counts`` says how many are in and how many wait). A student who
    submitted nothing has no row values and is not counted. None when k < 2, with fewer than 2 complete
    students, or when every complete student has the same total. The value can be negative for items that do not
    hang together.
    """
    k = len(matrix.items)
    if k < 2:
        return None
    complete = [[s for s in row if s is not None] for row in matrix.scores if None not in row]
    n = len(complete)
    if n < 2:
        return None
    # Integer arithmetic: sum(p*q) = sum(c*(n-c))/n^2 and var = (n*sum(t^2) - sum(t)^2)/n^2, so the
    # n^2 cancels and zero variance is detected exactly.
    correct_per_item = [sum(row[j] for row in complete) for j in range(k)]
    totals = [sum(row) for row in complete]
    sum_pq = sum(c * (n - c) for c in correct_per_item)
    variance = n * sum(t * t for t in totals) - sum(totals) ** 2
    if variance == 0:
        return None
    return (k / (k - 1)) * (1 - sum_pq / variance)


def kr20_counts(matrix: Matrix) -> tuple[int, int]:
    """(students KR-20 used, submitted students it waits for because a short text is still pending)."""
    used = sum(1 for row in matrix.scores if None not in row)
    waiting = sum(1 for i, row in enumerate(matrix.scores)
                  if None in row and any(s is not None or v is not None
                                         for s, v in zip(row, matrix.values[i], strict=True)))
    return used, waiting


# ------------------------------------------------------------------------------------------ students


def student_profiles(
    items: Sequence[ItemSpec], responses: Iterable[Response], *, students: Iterable[str] | None = None
) -> list[StudentProfile]:
    """Score and misconception evidence per student, sorted by student code.

    An answered item is an opportunity for misconception M when the item maps some value to M, or
    when the student's answer on it revealed M (a teacher may tag a short text with a misconception
    the item's table does not list); so count <= opportunities always holds.
    """
    return _profiles(items, *_latest(items, responses, students))


def _profiles(items: Sequence[ItemSpec], index: dict[str, int],
              latest: dict[str, dict[str, Response]]) -> list[StudentProfile]:
    can_reveal = [frozenset(spec.misconception_of.values()) for spec in items]
    profiles: list[StudentProfile] = []
    for code in sorted(latest):
        answered = correct = 0
        counts: dict[str, int] = {}
        chances: dict[str, int] = {}
        for key, r in latest[code].items():
            if r.correct is None:
                continue
            j = index[key]
            answered += 1
            correct += bool(r.correct)
            shown = _revealed(items[j], r)
            possible = can_reveal[j] if shown is None or shown in can_reveal[j] else can_reveal[j] | {shown}
            for m in possible:
                chances[m] = chances.get(m, 0) + 1
            if shown is not None:
                counts[shown] = counts.get(shown, 0) + 1
        evidence = {m: Evidence(counts.get(m, 0), chances[m]) for m in sorted(chances)}
        # Evidence.held, inline: a class of 35 has a few hundred of these, a network's report a million.
        held = sorted((m for m, n in counts.items() if n >= HELD_MIN_COUNT and n >= HELD_MIN_STRENGTH * chances[m]),
                      key=lambda m: (-counts[m] / chances[m], m))
        profiles.append(
            StudentProfile(
                student=code,
                score=correct / answered if answered else None,
                answered=answered,
                correct=correct,
                misconceptions=evidence,
                held=held,
            )
        )
    return profiles


def misconception_frequencies(profiles: Iterable[StudentProfile]) -> dict[str, int]:
    """Misconception -> number of students holding it, most frequent first, then by name.

    Misconceptions some student could have shown but nobody holds are listed with 0, so a chart
    shows them as absent rather than forgetting them.
    """
    counts: dict[str, int] = {}
    for p in profiles:
        for m in p.misconceptions:
            counts.setdefault(m, 0)
        for m in p.held:
            counts[m] = counts.get(m, 0) + 1
    return {m: counts[m] for m in sorted(counts, key=lambda m: (-counts[m], m))}


def suggest_groups(profiles: Iterable[StudentProfile], max_group: int = 6) -> list[Group]:
    """Small groups of students sharing a held misconception.

    Each student joins the group of their strongest held misconception (``held[0]``: ties go to
    the name), so nobody is in two groups. A misconception with more than ``max_group`` students
    is split into ceil(n / max_group) groups whose sizes differ by at most one, filled in student
    code order. Groups come largest misconception first, then by name, then split order. A student
    alone with a misconception still gets a group of one: the teacher needs to see them.
    """
    if max_group < 1:
        raise ValueError("max_group must be at least 1")
    members: dict[str, list[str]] = {}
    for p in profiles:
        if p.held:
            members.setdefault(p.held[0], []).append(p.student)
    groups: list[Group] = []
    for m in sorted(members, key=lambda m: (-len(members[m]), m)):
        codes = sorted(members[m])
        parts = -(-len(codes) // max_group)
        size, extra = divmod(len(codes), parts)
        start = 0
        for part in range(parts):
            end = start + size + (1 if part < extra else 0)
            groups.append(Group(m, tuple(codes[start:end])))
            start = end
    return groups


def heatmap(matrix: Matrix, items: Sequence[ItemSpec], responses: Iterable[Response]) -> Heatmap:
    """One state per (student, item) of ``matrix``: CORRECT, the misconception, INCORRECT, SKIPPED (submitted
    without an answer), PENDING (a short text not scored yet) or MISSING (nothing submitted).

    Rows and columns follow the matrix; the states come from ``items`` and ``responses`` with the
    same rules as ``score_matrix``. A misconception named like a reserved state would be ambiguous
    in the picture, so it is refused.
    """
    return _heatmap(matrix, items, *_latest(items, responses, None))


def _heatmap(matrix: Matrix, items: Sequence[ItemSpec], index: dict[str, int],
             latest: dict[str, dict[str, Response]]) -> Heatmap:
    rows: list[tuple[str, ...]] = []
    for code in matrix.students:
        given = latest.get(code, {})
        row: list[str] = []
        for key in matrix.items:
            r = given.get(key)
            if r is None:
                row.append(MISSING)
            elif r.correct is None:
                row.append(PENDING if r.value is not None else MISSING)
            elif r.correct:
                row.append(CORRECT)
            elif r.value is None and r.misconception is None:
                row.append(SKIPPED)
            else:
                m = _revealed(items[index[key]], r)
                if m in _RESERVED_STATES:
                    raise ValueError(f"misconception {m!r} clashes with a heatmap state name")
                row.append(m or INCORRECT)
        rows.append(tuple(row))
    return Heatmap(students=matrix.students, items=matrix.items, cells=tuple(rows))


def _mean(xs: Sequence[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def change_over_time(
    before_profiles: Iterable[StudentProfile], after_profiles: Iterable[StudentProfile]
) -> dict[str, Any]:
    """Compare two diagnostics of the same class: what was resolved, what persisted, what is new.

    Only students present in both are compared (someone who missed the first test did not "newly"
    acquire everything); the others are listed in ``only_before`` / ``only_after``. The result is
    plain JSON-ready data::

        {"students": {code: {"resolved": [...], "persisted": [...], "new": [...],
                             "score_before": f|None, "score_after": f|None, "score_change": f|None}},
         "class": {"students_compared": n, "resolved": {m: n}, "persisted": {m: n}, "new": {m: n},
                   "held_before": {m: n}, "held_after": {m: n},
                   "mean_score_before": f|None, "mean_score_after": f|None, "mean_score_change": f|None},
         "only_before": [...], "only_after": [...]}

    Class mean scores are over the students with a score on both occasions, so the change is not
    an artefact of who was absent.
    """
    before = {p.student: p for p in before_profiles}
    after = {p.student: p for p in after_profiles}
    both = sorted(before.keys() & after.keys())
    per_student: dict[str, dict[str, Any]] = {}
    tallies: dict[str, dict[str, int]] = {k: {} for k in ("resolved", "persisted", "new", "held_before", "held_after")}
    paired: list[tuple[float, float]] = []
    for code in both:
        b, a = before[code], after[code]
        held_b, held_a = set(b.held), set(a.held)
        sets = {
            "resolved": held_b - held_a,
            "persisted": held_b & held_a,
            "new": held_a - held_b,
            "held_before": held_b,
            "held_after": held_a,
        }
        for name, ms in sets.items():
            for m in ms:
                tallies[name][m] = tallies[name].get(m, 0) + 1
        change = None
        if b.score is not None and a.score is not None:
            change = a.score - b.score
            paired.append((b.score, a.score))
        per_student[code] = {
            "resolved": sorted(sets["resolved"]),
            "persisted": sorted(sets["persisted"]),
            "new": sorted(sets["new"]),
            "score_before": b.score,
            "score_after": a.score,
            "score_change": change,
        }
    mean_before = _mean([p[0] for p in paired])
    mean_after = _mean([p[1] for p in paired])
    summary: dict[str, Any] = {"students_compared": len(both)}
    for name, counts in tallies.items():
        summary[name] = {m: counts[m] for m in sorted(counts)}
    summary["mean_score_before"] = mean_before
    summary["mean_score_after"] = mean_after
    summary["mean_score_change"] = _mean([p[1] - p[0] for p in paired])
    return {
        "students": per_student,
        "class": summary,
        "only_before": sorted(before.keys() - after.keys()),
        "only_after": sorted(after.keys() - before.keys()),
    }


# ----------------------------------------------------------------------------------------------- SVG

# Okabe-Ito colours (see app.charts). Cells also carry a symbol (a tick, a cross, the misconception's
# legend number) so a black-and-white print still reads.
_DEFAULT_COLOURS = {CORRECT: "#009E73", INCORRECT: "#5A5A5A", MISSING: "#F2F2F2", SKIPPED: "#BDBDBD",
                    PENDING: "#FFFFFF"}
_DEFAULT_LABELS = {CORRECT: "Correct", INCORRECT: "Incorrect (no known misconception)", MISSING: "Not submitted",
                   SKIPPED: "Skipped (counts as wrong)", PENDING: "Waiting to be scored"}
_SYMBOLS = {CORRECT: "\u2713", INCORRECT: "\u2717", MISSING: "", SKIPPED: "\u2013", PENDING: "?"}


def render_heatmap_svg(
    heatmap: Heatmap,
    *,
    colours: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    rtl: bool = False,
    title: str | None = None,
    item_names: Sequence[str] | None = None,
    link: Callable[[str, str, str], str | None] | None = None,
) -> str:
    """A self-contained, printable SVG: a row per student, a column per item, and a legend.

    ``colours`` and ``labels`` are keyed by state (CORRECT, INCORRECT, MISSING or a misconception
    name) and override the defaults; labels appear in the legend and in each cell's tooltip. With
    ``rtl`` the first item is the rightmost column, student labels sit right of the grid and are
    right-aligned, and the legend runs from the right. No scripts, styles or external references.
    """
    colours = dict(colours or {})
    labels = dict(labels or {})
    states: dict[str, charts.HeatState] = {}
    for state in _RESERVED_STATES:
        states[state] = charts.HeatState(
            fill=colours.get(state, _DEFAULT_COLOURS[state]),
            name=labels.get(state, _DEFAULT_LABELS[state]),
            symbol=_SYMBOLS[state],
        )
    for n, m in enumerate(heatmap.misconceptions):
        name = labels.get(m, m)
        symbol = str(n + 1)
        states[m] = charts.HeatState(
            fill=colours.get(m, charts.PALETTE[n % len(charts.PALETTE)]),
            name=name,
            symbol=symbol,
            legend=f"{symbol} {name}".strip(),
        )
    return charts.heatmap_svg(
        heatmap.students,
        heatmap.items,
        heatmap.cells,
        states,
        title=title if title is not None else "Diagnostic heatmap",
        rtl=rtl,
        row_attr="student",
        column_attr="item",
        column_names=item_names,
        link=link,
    )


# The diagnostics pages' name for the kit's bar chart.
render_bar_chart_svg = charts.bar_chart_svg
