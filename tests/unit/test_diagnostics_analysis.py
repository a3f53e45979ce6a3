"""Diagnostic statistics checked against figures worked out by hand (and, separately, against numpy).

The fixed data set: six students, five fraction items, correct answer "A" everywhere, and two
misconceptions:
    ADD  "add across": 1/2 + 1/3 = 2/5
    BIG  "bigger denominator, bigger fraction": 1/8 > 1/6

    item  value -> misconception
    Q1    B -> ADD, C -> BIG
    Q2    B -> ADD
    Q3    C -> BIG, D -> ADD
    Q4    B -> BIG                 (D is wrong but reveals nothing known)
    Q5    B -> ADD, C -> BIG

    answers            scores (1 = "A")      total
    S1  A A A A A       1 1 1 1 1            5
    S2  A A A B A       1 1 1 0 1            4
    S3  A B A A B       1 0 1 1 0            3
    S4  A A C B C       1 1 0 0 0            2
    S5  B A D D B       0 1 0 0 0            1
    S6  C B D A C       0 0 0 1 0            1
"""

from __future__ import annotations

import math
import random
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from app.diagnostics.analysis import (
    CORRECT,
    HELD_MIN_COUNT,
    HELD_MIN_STRENGTH,
    INCORRECT,
    MISSING,
    PENDING,
    SKIPPED,
    SMALL_SAMPLE,
    Evidence,
    Group,
    ItemSpec,
    Matrix,
    Response,
    StudentProfile,
    change_over_time,
    heatmap,
    item_statistics,
    kr20,
    kr20_counts,
    misconception_frequencies,
    render_bar_chart_svg,
    render_heatmap_svg,
    score_matrix,
    student_profiles,
    suggest_groups,
)

ADD = "ADD_ACROSS"
BIG = "BIG_DENOM"
SVG_NS = "{http://www.w3.org/2000/svg}"

ITEMS = [
    ItemSpec("Q1", {"B": ADD, "C": BIG}),
    ItemSpec("Q2", {"B": ADD}),
    ItemSpec("Q3", {"C": BIG, "D": ADD}),
    ItemSpec("Q4", {"B": BIG}),
    ItemSpec("Q5", {"B": ADD, "C": BIG}),
]
ANSWERS = {
    "S1": "AAAAA",
    "S2": "AAABA",
    "S3": "ABAAB",
    "S4": "AACBC",
    "S5": "BADDB",
    "S6": "CBDAC",
}


def responses_for(answers: dict[str, str], items: list[ItemSpec] = ITEMS) -> list[Response]:
    out = [
        Response(student, items[j].key, value == "A", value)
        for student, values in answers.items()
        for j, value in enumerate(values)
        if value != "-"
    ]
    # Reversed, so row and column order must come from the function, not from the input.
    return out[::-1]


RESPONSES = responses_for(ANSWERS)


def approx(x: float) -> object:
    return pytest.approx(x, abs=1e-12)


# ----------------------------------------------------------------------------------- matrix and items


def test_score_matrix_rows_sorted_columns_in_item_order():
    m = score_matrix(ITEMS, RESPONSES)
    assert m.students == ("S1", "S2", "S3", "S4", "S5", "S6")
    assert m.items == ("Q1", "Q2", "Q3", "Q4", "Q5")
    assert m.scores == (
        (1, 1, 1, 1, 1),
        (1, 1, 1, 0, 1),
        (1, 0, 1, 1, 0),
        (1, 1, 0, 0, 0),
        (0, 1, 0, 0, 0),
        (0, 0, 0, 1, 0),
    )
    assert m.values[4] == ("B", "A", "D", "D", "B")
    assert m.misconceptions[4] == (ADD, None, ADD, None, ADD)
    assert m.score("S3", "Q2") == 0


def test_item_statistics_by_hand():
    stats = {s.item: s for s in item_statistics(score_matrix(ITEMS, RESPONSES))}

    # Q1, corrected point-biserial step by step.
    #   x (Q1 score)            = 1, 1, 1, 1, 0, 0
    #   y (total on Q2..Q5)     = 5-1, 4-1, 3-1, 2-1, 1-0, 1-0 = 4, 3, 2, 1, 1, 1
    #   mean x = 4/6 = 2/3      mean y = 12/6 = 2
    #   dx = 1/3, 1/3, 1/3, 1/3, -2/3, -2/3
    #   dy = 2, 1, 0, -1, -1, -1
    #   sum dx*dy = 1/3*(2+1+0-1) + (-2/3)*(-1-1) = 2/3 + 4/3 = 2
    #   sum dx^2  = 4*(1/9) + 2*(4/9) = 12/9 = 4/3
    #   sum dy^2  = 4+1+0+1+1+1 = 8
    #   r = 2 / sqrt(4/3 * 8) = 2 / sqrt(32/3) = sqrt(3/8) = 0.6123724356957945
    q1 = stats["Q1"]
    assert q1.n == 6
    assert q1.difficulty == approx(4 / 6)
    assert q1.discrimination == approx(0.6123724356957945)
    assert math.sqrt(3 / 8) == approx(0.6123724356957945)
    # Values: A by S1-S4, B by S5, C by S6.
    assert q1.distractor_rates == {"A": approx(4 / 6), "B": approx(1 / 6), "C": approx(1 / 6)}
    assert q1.misconception_rates == {ADD: approx(1 / 6), BIG: approx(1 / 6)}

    # The others with the same recipe, as r = (n*Sxy - Sx*Sy) / sqrt((n*Sxx - Sx^2)(n*Syy - Sy^2)), n = 6:
    # Q2: x = 1,1,0,1,1,0   y = 4,3,3,1,0,1   Sx=4 Sy=12 Sxy=8          -> numerator 48-48 = 0 -> r = 0
    assert stats["Q2"].discrimination == 0.0
    assert stats["Q2"].difficulty == approx(4 / 6)
    # Q3: x = 1,1,1,0,0,0   y = 4,3,2,2,1,1   Sx=3 Sy=13 Sxy=9 Syy=35   -> 15 / sqrt(9*41) = 0.7808688094430304
    assert stats["Q3"].discrimination == approx(0.7808688094430304)
    assert stats["Q3"].difficulty == 0.5
    # Q4: x = 1,0,1,0,0,1   y = 4,4,2,2,1,0   Sx=3 Sy=13 Sxy=6 Syy=41   -> -3 / sqrt(9*77) = -1/sqrt(77)
    #     = -0.11396057645963795: the strongest students get it wrong, so the item needs a look.
    assert stats["Q4"].discrimination == approx(-0.11396057645963795)
    assert stats["Q4"].distractor_rates == {"A": 0.5, "B": approx(2 / 6), "D": approx(1 / 6)}
    assert stats["Q4"].misconception_rates == {BIG: approx(2 / 6)}
    # Q5: x = 1,1,0,0,0,0   y = 4,3,3,2,1,1   Sx=2 Sy=14 Sxy=7 Syy=40   -> 14 / sqrt(8*44) = 7/sqrt(88)
    #     = 0.7462025072446364
    assert stats["Q5"].discrimination == approx(0.7462025072446364)
    assert stats["Q5"].difficulty == approx(2 / 6)


def test_kr20_by_hand():
    # k = 5 items, N = 6 students, all complete.
    #   p = 4/6, 4/6, 3/6, 3/6, 2/6
    #   p*q = 2/9, 2/9, 1/4, 1/4, 2/9        sum p*q = 6/9 + 1/2 = 7/6
    #   totals 5, 4, 3, 2, 1, 1: mean 16/6 = 8/3, mean of squares 56/6 = 28/3
    #   population variance = 28/3 - 64/9 = 20/9
    #   KR-20 = 5/4 * (1 - (7/6) / (20/9)) = 5/4 * (1 - 63/120) = 5/4 * 57/120 = 19/32 = 0.59375
    assert kr20(score_matrix(ITEMS, RESPONSES)) == approx(0.59375)


def rest_scores(scores: np.ndarray, j: int) -> np.ndarray:
    return np.nansum(np.delete(scores, j, axis=1), axis=1)


def check_against_numpy(items: list[ItemSpec], responses: list[Response]) -> None:
    m = score_matrix(items, responses)
    scores = np.array([[np.nan if s is None else s for s in row] for row in m.scores], dtype=float)
    for j, st in enumerate(item_statistics(m)):
        answered = ~np.isnan(scores[:, j])
        x = scores[answered, j]
        y = rest_scores(scores, j)[answered]
        if len(x) < 3 or np.var(x) == 0 or np.var(y) == 0:
            assert st.discrimination is None
        else:
            assert st.discrimination == pytest.approx(np.corrcoef(x, y)[0, 1], abs=1e-12)
    complete = scores[~np.isnan(scores).any(axis=1)]
    k = scores.shape[1]
    p = complete.mean(axis=0)
    expected = k / (k - 1) * (1 - np.sum(p * (1 - p)) / np.var(complete.sum(axis=1)))
    assert kr20(m) == pytest.approx(expected, abs=1e-12)


def test_discrimination_and_kr20_agree_with_numpy_on_the_fixed_data():
    check_against_numpy(ITEMS, RESPONSES)


@pytest.mark.parametrize("seed", range(5))
def test_discrimination_and_kr20_agree_with_numpy_on_random_data_with_gaps(seed):
    rng = random.Random(seed)
    items = [ItemSpec(f"I{j}", {"B": "M1", "C": "M2"}) for j in range(8)]
    responses = []
    for s in range(40):
        ability = rng.random()
        for item in items:
            if rng.random() < 0.04:
                continue
            right = rng.random() < 0.25 + 0.6 * ability
            responses.append(Response(f"P{s:02d}", item.key, right, "A" if right else rng.choice("BCD")))
    check_against_numpy(items, responses)


# -------------------------------------------------------------------------------------- edge cases


def test_duplicates_last_one_wins_even_when_it_unscores():
    responses = [
        *RESPONSES,
        Response("S1", "Q1", False, "B"),  # S1 changes their mind ...
        Response("S1", "Q1", True, "A"),  # ... and back: last wins, S1 is unchanged
        Response("S5", "Q2", False, "B"),  # S5's only correct answer is replaced by ADD
        Response("S2", "Q4", None, "B"),  # the teacher withdraws S2's score on Q4
    ]
    m = score_matrix(ITEMS, responses)
    assert m.scores[0] == (1, 1, 1, 1, 1)
    assert m.scores[4] == (0, 0, 0, 0, 0)
    assert m.scores[1] == (1, 1, 1, None, 1)
    profiles = {p.student: p for p in student_profiles(ITEMS, responses)}
    assert profiles["S5"].misconceptions[ADD] == Evidence(4, 4)
    assert profiles["S2"].answered == 4
    assert profiles["S2"].score == 1.0
    assert profiles["S2"].misconceptions[BIG] == Evidence(0, 3)  # Q4 is no longer an opportunity


ITEMS_WITH_Q6 = [*ITEMS, ItemSpec("Q6", {"B": BIG})]


def extended_responses() -> list[Response]:
    """The fixed data plus S7 (answered two items, one short text waiting), S8 (nothing) and Q6 (nobody)."""
    return [
        *RESPONSES,
        Response("S7", "Q1", True, "A"),
        Response("S7", "Q2", False, "B"),
        Response("S7", "Q3", None, "one half"),  # awaiting the teacher: missing
        Response("S8", "Q1", None),
        Response("S8", "Q4", None),
    ]


def test_missing_answers_a_silent_student_and_an_item_nobody_answered():
    m = score_matrix(ITEMS_WITH_Q6, extended_responses(), students=["S9"])
    assert m.students == ("S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8", "S9")
    assert m.scores[6] == (1, 0, None, None, None, None)
    assert m.scores[7] == (None,) * 6
    assert m.scores[8] == (None,) * 6
    stats = {s.item: s for s in item_statistics(m)}

    # Q1 now over 7 students; S7's total on the other items is 0 (Q2 wrong, the rest missing).
    #   x = 1,1,1,1,0,0,1   y = 4,3,2,1,1,1,0
    #   Sx=5 Sy=12 Sxy=10 Sxx=5 Syy=32, n=7
    #   r = (7*10 - 5*12) / sqrt((7*5 - 25)(7*32 - 144)) = 10 / sqrt(10*80) = 1/(2*sqrt(2)) = 0.3535533905932738
    assert stats["Q1"].n == 7
    assert stats["Q1"].difficulty == approx(5 / 7)
    assert stats["Q1"].discrimination == approx(0.3535533905932738)
    assert stats["Q3"].n == 6  # the unscored short text does not count
    assert "one half" not in stats["Q3"].distractor_rates

    q6 = stats["Q6"]
    assert (q6.n, q6.difficulty, q6.discrimination) == (0, None, None)
    assert q6.distractor_rates == {} and q6.misconception_rates == {}

    # Nobody answered Q6, so nobody answered every item: KR-20 is undefined.
    assert kr20(m) is None
    # Without Q6, S7 and S8 are incomplete and left out: the figure is the hand-computed 19/32.
    assert kr20(score_matrix(ITEMS, extended_responses())) == approx(0.59375)

    profiles = {p.student: p for p in student_profiles(ITEMS_WITH_Q6, extended_responses(), students=["S9"])}
    s7 = profiles["S7"]
    assert (s7.answered, s7.correct, s7.score) == (2, 1, 0.5)
    # ADD could show on Q1 and Q2 (both answered) and showed on Q2; BIG could show on Q1 only.
    assert s7.misconceptions == {ADD: Evidence(1, 2), BIG: Evidence(0, 1)}
    assert s7.held == []  # 1/2 is strong enough, but one answer is not a pattern
    for silent in ("S8", "S9"):
        p = profiles[silent]
        assert (p.answered, p.correct, p.score, p.misconceptions, p.held) == (0, 0, None, {}, [])
    # Q6 was answered by nobody, so it is no opportunity for BIG: S4 still has 3 of 4.
    assert profiles["S4"].misconceptions[BIG] == Evidence(3, 4)


def test_zero_variance_and_too_few_students_give_none():
    items = [ItemSpec("A"), ItemSpec("B"), ItemSpec("C")]
    everyone_right_on_a = [
        Response("s1", "A", True),
        Response("s1", "B", True),
        Response("s1", "C", False),
        Response("s2", "A", True),
        Response("s2", "B", False),
        Response("s2", "C", True),
        Response("s3", "A", True),
        Response("s3", "B", False),
        Response("s3", "C", False),
    ]
    stats = item_statistics(score_matrix(items, everyone_right_on_a))
    assert stats[0].difficulty == 1.0
    assert stats[0].discrimination is None  # item variance 0
    # B: x = 1,0,0; rest (A + C) = 1+0, 1+1, 1+0 = 1, 2, 1 -> n*Sxy - Sx*Sy = 3*1 - 1*4 = -1,
    #    (3*1 - 1)(3*6 - 16) = 2*2 -> r = -1/2
    assert stats[1].discrimination == approx(-0.5)

    # Every student has the same total (1): population variance 0.
    same_total = [
        Response("s1", "A", True),
        Response("s1", "B", False),
        Response("s2", "A", False),
        Response("s2", "B", True),
        Response("s3", "A", True),
        Response("s3", "B", False),
    ]
    m = score_matrix(items[:2], same_total)
    assert kr20(m) is None
    # Zero total variance is not zero item variance: A = 1,0,1 against its rest (B) = 0,1,0 gives
    # r = -1 exactly, a defined value.
    assert item_statistics(m)[0].discrimination == approx(-1.0)

    # The rest score has zero variance: A = 1,0,1 against B = 1,1,1.
    flat_rest = [Response(s, "A", a) for s, a in (("s1", True), ("s2", False), ("s3", True))]
    flat_rest += [Response(s, "B", True) for s in ("s1", "s2", "s3")]
    assert item_statistics(score_matrix(items[:2], flat_rest))[0].discrimination is None

    two_students = score_matrix(items, [Response("s1", "A", True), Response("s2", "A", False)])
    assert item_statistics(two_students)[0].discrimination is None  # fewer than 3 students
    one_item = score_matrix(items[:1], [Response(f"s{i}", "A", i % 2 == 0) for i in range(4)])
    assert kr20(one_item) is None  # k < 2
    one_complete = score_matrix(items[:2], [Response("s1", "A", True), Response("s1", "B", False)])
    assert kr20(one_complete) is None  # fewer than 2 complete students
    assert kr20(Matrix((), (), (), (), ())) is None


def test_unknown_items_are_ignored_and_duplicate_item_keys_refused():
    m = score_matrix(ITEMS[:1], [Response("s1", "Q1", True), Response("s2", "gone", False)])
    assert m.students == ("s1", "s2")
    assert m.scores == ((1,), (None,))
    with pytest.raises(ValueError, match="twice"):
        score_matrix([ItemSpec("Q1"), ItemSpec("Q1")], [])


# ---------------------------------------------------------------------------------------- students


def test_student_profiles_by_hand():
    profiles = student_profiles(ITEMS, RESPONSES)
    assert [p.student for p in profiles] == ["S1", "S2", "S3", "S4", "S5", "S6"]
    by = {p.student: p for p in profiles}
    assert [by[s].score for s in ANSWERS] == [approx(x) for x in (1.0, 0.8, 0.6, 0.4, 0.2, 0.2)]
    # ADD can show on Q1, Q2, Q3, Q5 and BIG on Q1, Q3, Q4, Q5: 4 opportunities each for everyone.
    assert by["S1"].misconceptions == {ADD: Evidence(0, 4), BIG: Evidence(0, 4)}
    # S2: BIG once (Q4=B): 1/4, and one answer is not held.
    assert by["S2"].misconceptions[BIG] == Evidence(1, 4)
    assert by["S2"].held == []
    # S3: ADD on Q2=B and Q5=B: 2/4 = 0.5 sits exactly on the threshold, so it is held.
    assert by["S3"].misconceptions[ADD].strength == 0.5
    assert by["S3"].held == [ADD]
    # S4: BIG on Q3=C, Q4=B, Q5=C: 3/4.
    assert by["S4"].misconceptions[BIG] == Evidence(3, 4)
    assert by["S4"].held == [BIG]
    # S5: ADD on Q1=B, Q3=D, Q5=B: 3/4; Q4=D is wrong but reveals nothing.
    assert by["S5"].misconceptions == {ADD: Evidence(3, 4), BIG: Evidence(0, 4)}
    assert by["S5"].held == [ADD]
    # S6: BIG on Q1=C, Q5=C and ADD on Q2=B, Q3=D: 2/4 each, tie broken by name.
    assert by["S6"].held == [ADD, BIG]
    assert (HELD_MIN_COUNT, HELD_MIN_STRENGTH) == (2, 0.5)


def test_held_is_sorted_by_strength_then_name_and_explicit_tags_count():
    items = [ItemSpec(f"T{j}", {"x": "ZETA", "y": "ALPHA"}) for j in range(3)] + [ItemSpec("open")]
    responses = [
        Response("s", "T0", False, "x"),
        Response("s", "T1", False, "x"),
        Response("s", "T2", False, "y"),
        # A teacher-scored short text tagged with ALPHA: the item's table does not list ALPHA, yet
        # it is both a revelation and an opportunity, so strength stays <= 1.
        Response("s", "open", False, "half of it", misconception="ALPHA"),
        # A correct answer reveals nothing, whatever it is tagged with.
        Response("t", "T0", True, "A", misconception="ZETA"),
    ]
    profiles = {p.student: p for p in student_profiles(items, responses)}
    assert profiles["s"].misconceptions == {"ALPHA": Evidence(2, 4), "ZETA": Evidence(2, 3)}
    assert profiles["s"].held == ["ZETA", "ALPHA"]  # 2/3 before 2/4
    assert profiles["t"].misconceptions == {"ALPHA": Evidence(0, 1), "ZETA": Evidence(0, 1)}


def test_misconception_frequencies():
    assert misconception_frequencies(student_profiles(ITEMS, RESPONSES)) == {ADD: 3, BIG: 2}
    # A misconception someone could show but nobody holds is listed with 0, after the others.
    only_s1 = [p for p in student_profiles(ITEMS, RESPONSES) if p.student in ("S1", "S4")]
    assert list(misconception_frequencies(only_s1).items()) == [(BIG, 1), (ADD, 0)]
    assert misconception_frequencies([]) == {}


def profile(code: str, *held: str) -> StudentProfile:
    return StudentProfile(code, None, 0, 0, {m: Evidence(2, 2) for m in held}, list(held))


def test_suggest_groups_by_hand():
    profiles = student_profiles(ITEMS, RESPONSES)
    # S3, S5 and S6 (strongest = ADD by name) share ADD; S4 has BIG; S1 and S2 hold nothing.
    assert suggest_groups(profiles) == [Group(ADD, ("S3", "S5", "S6")), Group(BIG, ("S4",))]
    # Three students with max 2: two groups of 2 and 1.
    assert suggest_groups(profiles, max_group=2) == [
        Group(ADD, ("S3", "S5")),
        Group(ADD, ("S6",)),
        Group(BIG, ("S4",)),
    ]


def test_groups_split_evenly_each_student_once_and_order_is_deterministic():
    profiles = [profile(f"k{n:02d}", "M") for n in range(13)] + [
        profile("a", "N", "M"),  # strongest is N: only in N's group
        profile("b", "N"),
        profile("z"),  # holds nothing: not grouped
    ]
    groups = suggest_groups(profiles, max_group=6)
    # 13 students of M, at most 6 a group -> ceil(13/6) = 3 groups of 5, 4, 4.
    assert [(g.misconception, len(g.students)) for g in groups] == [("M", 5), ("M", 4), ("M", 4), ("N", 2)]
    assert groups[0].students == ("k00", "k01", "k02", "k03", "k04")
    assert groups[3].students == ("a", "b")
    grouped = [s for g in groups for s in g.students]
    assert len(grouped) == len(set(grouped)) == 15
    assert "z" not in grouped
    assert suggest_groups(list(reversed(profiles)), max_group=6) == groups
    assert suggest_groups(profiles, max_group=13)[0].students == tuple(f"k{n:02d}" for n in range(13))
    with pytest.raises(ValueError):
        suggest_groups(profiles, max_group=0)


# ----------------------------------------------------------------------------------------- heatmap


def test_heatmap_states():
    responses = extended_responses()
    m = score_matrix(ITEMS, responses)
    h = heatmap(m, ITEMS, responses)
    assert h.students == m.students and h.items == m.items
    C, X, _ = CORRECT, INCORRECT, MISSING
    assert h.cells == (
        (C, C, C, C, C),
        (C, C, C, BIG, C),
        (C, ADD, C, C, ADD),
        (C, C, BIG, BIG, BIG),
        (ADD, C, ADD, X, ADD),
        (BIG, ADD, ADD, C, BIG),
        (C, ADD, PENDING, _, _),
        (_, _, _, _, _),
    )
    assert h.state("S5", "Q4") == INCORRECT
    assert h.misconceptions == (ADD, BIG)


def test_heatmap_refuses_a_misconception_named_like_a_state():
    items = [ItemSpec("Q", {"B": "missing"})]
    responses = [Response("s", "Q", False, "B")]
    with pytest.raises(ValueError, match="clashes"):
        heatmap(score_matrix(items, responses), items, responses)


# ------------------------------------------------------------------------------------------ change


def test_change_over_time():
    before = student_profiles(ITEMS, RESPONSES)
    later = dict(ANSWERS)
    later["S2"] = "AACBC"  # newly BIG (Q3=C, Q4=B, Q5=C): 3/4
    later["S3"] = "AAAAB"  # ADD only once now: resolved
    later["S4"] = "AACAC"  # BIG on Q3 and Q5: 2/4, persisted
    later["T1"] = "AAAAA"  # joined the class
    after = [p for p in student_profiles(ITEMS, responses_for(later)) if p.student != "S6"]
    result = change_over_time(before, after)

    assert result["only_before"] == ["S6"]
    assert result["only_after"] == ["T1"]
    s = result["students"]
    assert list(s) == ["S1", "S2", "S3", "S4", "S5"]
    assert s["S2"] == {
        "resolved": [],
        "persisted": [],
        "new": [BIG],
        "score_before": approx(0.8),
        "score_after": approx(0.4),
        "score_change": approx(-0.4),
    }
    assert s["S3"]["resolved"] == [ADD] and s["S3"]["score_change"] == approx(0.2)
    assert s["S4"]["persisted"] == [BIG] and s["S4"]["score_change"] == approx(0.2)
    assert s["S5"]["persisted"] == [ADD] and s["S5"]["score_change"] == 0.0
    c = result["class"]
    assert c["students_compared"] == 5
    assert c["resolved"] == {ADD: 1}
    assert c["persisted"] == {ADD: 1, BIG: 1}
    assert c["new"] == {BIG: 1}
    assert c["held_before"] == {ADD: 2, BIG: 1}
    assert c["held_after"] == {ADD: 1, BIG: 2}
    # Before (S1..S5): 1 + .8 + .6 + .4 + .2 = 3.0 -> 0.6; after: 1 + .4 + .8 + .6 + .2 = 3.0 -> 0.6.
    assert c["mean_score_before"] == approx(0.6)
    assert c["mean_score_after"] == approx(0.6)
    assert c["mean_score_change"] == approx(0.0)


def test_change_over_time_with_nobody_in_common():
    result = change_over_time([profile("a", "M")], [profile("b")])
    assert result["students"] == {}
    assert result["class"]["mean_score_change"] is None
    assert (result["only_before"], result["only_after"]) == (["a"], ["b"])


# --------------------------------------------------------------------------------------------- SVG


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg.encode("utf-8"))
    assert root.tag == f"{SVG_NS}svg"
    return root


def assert_self_contained(svg: str, root: ET.Element) -> None:
    for el in root.iter():
        assert el.tag.removeprefix(SVG_NS) not in ("script", "foreignObject", "image", "use", "a", "style")
        for name, value in el.attrib.items():
            assert "href" not in name
            assert not name.startswith("on")
            assert "url(" not in value
    assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")


def cell_x(root: ET.Element, item: str) -> float:
    xs = {
        float(g.find(f"{SVG_NS}rect").get("x"))
        for g in root.iter(f"{SVG_NS}g")
        if g.get("data-item") == item and g.get("data-state")
    }
    assert len(xs) == 1
    return xs.pop()


def student_labels(root: ET.Element) -> list[ET.Element]:
    group = next(g for g in root.iter(f"{SVG_NS}g") if g.get("class") == "students")
    return list(group)


NAMES = {"S1": "<script>alert(1)</script>", "S2": "דנה & co", "S3": "سارة"}


def named_heatmap():
    responses = [
        Response(NAMES.get(r.student, r.student), r.item, r.correct, r.value, r.misconception) for r in RESPONSES
    ]
    m = score_matrix(ITEMS, responses)
    return heatmap(m, ITEMS, responses)


def test_heatmap_svg_is_well_formed_self_contained_and_escaped():
    h = named_heatmap()
    svg = render_heatmap_svg(h, labels={ADD: "Adds across", "correct": "נכון"}, title="Fractions <1>")
    root = parse(svg)
    assert_self_contained(svg, root)
    assert "<script" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG_NS}text")]
    assert any("<script>alert(1)</script>" in t for t in texts)  # shown as text, not run
    assert any("דנה & co" in t for t in texts)
    assert any("سارة" in t for t in texts)
    assert "Fractions <1>" in root.find(f"{SVG_NS}title").text
    # One cell per (student, item), carrying its state.
    cells = [g for g in root.iter(f"{SVG_NS}g") if g.get("data-state")]
    assert len(cells) == 30
    assert {g.get("data-state") for g in cells} == {CORRECT, INCORRECT, ADD, BIG}
    legend = "".join(
        "".join(t.itertext()) for t in next(g for g in root.iter(f"{SVG_NS}g") if g.get("class") == "legend")
    )
    assert "1 Adds across" in legend and "2 BIG_DENOM" in legend and "נכון" in legend
    # Rows in student order (plain code order: "<" sorts before the letters and the scripts).
    assert [lbl.find(f"{SVG_NS}title").text for lbl in student_labels(root)] == list(h.students)


def test_heatmap_svg_rtl_mirrors_columns_and_right_aligns_labels():
    h = named_heatmap()
    ltr, rtl = parse(render_heatmap_svg(h)), parse(render_heatmap_svg(h, rtl=True))
    assert cell_x(ltr, "Q1") < cell_x(ltr, "Q5")
    assert cell_x(rtl, "Q1") > cell_x(rtl, "Q5")
    width = float(rtl.get("width"))
    cell_w = float(next(g for g in rtl.iter(f"{SVG_NS}g") if g.get("data-state")).find(f"{SVG_NS}rect").get("width"))
    assert cell_x(rtl, "Q1") == pytest.approx(width - cell_x(ltr, "Q1") - cell_w, abs=0.01)
    for label in student_labels(rtl):
        assert label.get("text-anchor") == "end"
        assert float(label.get("x")) > cell_x(rtl, "Q1")
    for label in student_labels(ltr):
        assert label.get("text-anchor") == "start"
        assert float(label.get("x")) < cell_x(ltr, "Q1")


def test_heatmap_svg_colours_are_validated_and_control_characters_dropped():
    h = heatmap(score_matrix(ITEMS, RESPONSES), ITEMS, RESPONSES)
    svg = render_heatmap_svg(h, colours={ADD: "#123456", CORRECT: "teal"})
    assert 'fill="#123456"' in svg and 'fill="teal"' in svg
    for bad in ("url(http://evil.example/x)", 'red" onload="x', "var(--x)"):
        with pytest.raises(ValueError):
            render_heatmap_svg(h, colours={ADD: bad})
    odd = [Response("bell\x07", "Q1", True)]
    parse(render_heatmap_svg(heatmap(score_matrix(ITEMS, odd), ITEMS, odd)))


def test_empty_heatmap_still_renders():
    parse(render_heatmap_svg(heatmap(score_matrix(ITEMS, []), ITEMS, [])))


def test_bar_charts_for_frequencies_and_difficulty():
    freq = misconception_frequencies(student_profiles(ITEMS, RESPONSES))
    root = parse(render_bar_chart_svg(freq, title="Misconceptions"))
    bars = {g.get("data-key"): g.find(f"{SVG_NS}rect") for g in root.iter(f"{SVG_NS}g") if g.get("data-key")}
    # Counts are scaled to the largest: ADD (3) full length, BIG (2) two thirds.
    assert float(bars[BIG].get("width")) / float(bars[ADD].get("width")) == pytest.approx(2 / 3, abs=0.01)

    difficulty = {s.item: s.difficulty for s in item_statistics(score_matrix(ITEMS, RESPONSES))}
    svg = render_bar_chart_svg(difficulty, title="Difficulty <&>", rtl=True)
    root = parse(svg)
    assert_self_contained(svg, root)
    bars = {g.get("data-key"): g.find(f"{SVG_NS}rect") for g in root.iter(f"{SVG_NS}g") if g.get("data-key")}
    # Proportions use a 0..1 axis: 0.5 is half the bar of a 1.0 in the same chart, not scaled to the largest (0.67).
    full = parse(render_bar_chart_svg({**difficulty, "Q9": 1.0}, title="Difficulty <&>", rtl=True))
    whole = next(g for g in full.iter(f"{SVG_NS}g") if g.get("data-key") == "Q9").find(f"{SVG_NS}rect")
    assert float(bars["Q3"].get("width")) == pytest.approx(float(whole.get("width")) / 2, abs=0.01)
    # Right to left: every bar starts at the same zero edge on the right and grows leftwards; the
    # item labels are right-aligned beyond that edge.
    rights = {round(float(r.get("x")) + float(r.get("width")), 2) for r in bars.values()}
    assert len(rights) == 1
    zero_edge = rights.pop()
    labels = [g.find(f"{SVG_NS}text") for g in root.iter(f"{SVG_NS}g") if g.get("data-key")]
    assert [t.text for t in labels] == ["Q1", "Q2", "Q3", "Q4", "Q5"]
    assert all(t.get("text-anchor") == "end" and float(t.get("x")) > zero_edge for t in labels)
    assert "Difficulty &lt;&amp;&gt;" in svg

    parse(render_bar_chart_svg({"neg": -0.25, "pos": 0.5}, title="Discrimination"))
    parse(render_bar_chart_svg({}, title="Nothing yet"))
    with pytest.raises(ValueError):
        render_bar_chart_svg({"x": float("nan")}, title="t")


def test_a_skipped_item_is_wrong_and_shown_as_skipped_and_a_pending_text_is_counted_apart():
    items = [ItemSpec("Q1", {"B": "M"}), ItemSpec("Q2", {}), ItemSpec("Q3", {})]
    responses = [
        Response("S1", "Q1", True, "A"), Response("S1", "Q2", False, None), Response("S1", "Q3", None, "half"),
        Response("S2", "Q1", False, "B"), Response("S2", "Q2", True, "7"), Response("S2", "Q3", True, "whole"),
    ]
    m = score_matrix(items, responses, students=["S1", "S2", "S3"])
    assert m.scores == ((1, 0, None), (0, 1, 1), (None, None, None))
    assert heatmap(m, items, responses).cells == (
        (CORRECT, SKIPPED, PENDING), ("M", CORRECT, CORRECT), (MISSING, MISSING, MISSING))
    stats = {st.item: st for st in item_statistics(m)}
    assert (stats["Q2"].n, stats["Q2"].difficulty, stats["Q2"].pending) == (2, 0.5, 0)  # the skip counts as wrong
    assert (stats["Q3"].n, stats["Q3"].difficulty, stats["Q3"].pending) == (1, 1.0, 1)  # the pending text does not
    assert stats["Q3"].small_sample and SMALL_SAMPLE == 20
    assert kr20_counts(m) == (1, 1)  # S2 complete; S1 waits for Q3's score; S3 submitted nothing
    profiles = {p.student: p for p in student_profiles(items, responses, students=["S1", "S2", "S3"])}
    assert profiles["S1"].score == 0.5  # 1 right of 2 scored (the skip is one of them)
