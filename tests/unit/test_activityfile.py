"""The activity library's reader: the starter file reads whole, and each problem is named by file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.plans import activityfile

STARTER = Path(activityfile.__file__).with_name("activities") / "starter.yaml"
KNOWN = {"add-numerators-denominators", "larger-denominator-larger", "no-number-between"}
GOOD = """\
activities:
  - key: strips
    misconceptions: [larger-denominator-larger]
    kind: manipulative
    minutes: 20
    grouping: pair
    title: {en: Strips, he: רצועות, ar: شرائط}
    materials: {en: Paper strips, he: רצועות נייר, ar: شرائط ورقية}
    steps:
      - {en: 'Fold $\\\\frac{1}{2}$.', he: 'קפלו $\\\\frac{1}{2}$.', ar: 'اطووا $\\\\frac{1}{2}$.'}
      - {en: Compare., he: השוו., ar: قارنوا.}
    look_for: {en: Reasons., he: נימוקים., ar: تعليلات.}
"""


def test_the_starter_library_reads_whole_with_prerequisites():
    library = activityfile.read("starter.yaml", STARTER.read_bytes())
    assert len(library.activities) == 48 and len({a.key for a in library.activities}) == 48
    assert ("larger-denominator-larger", "add-numerators-denominators") in library.prerequisites
    for activity in library.activities:
        assert activity.kind in activityfile.KINDS and 5 <= activity.minutes <= 90
        assert 2 <= len(activity.spec["steps"]) <= 6


def test_a_good_file_and_a_file_in_one_language():
    [activity] = activityfile.read("mine.yaml", GOOD, misconceptions=KNOWN).activities
    assert activity.key == "strips" and activity.spec["title"] == {"en": "Strips", "he": "רצועות", "ar": "شرائط"}
    hebrew = ("languages: [he]\nactivities:\n  - key: x\n    misconceptions: [no-number-between]\n"
              "    kind: discussion\n    minutes: 10\n    grouping: whole-class\n    title: דיון\n"
              "    materials: אין צורך\n"
              "    steps: [שאלו., הקשיבו.]\n    look_for: נימוקים.\n")
    [only] = activityfile.read("he.yaml", hebrew, misconceptions=KNOWN).activities
    assert only.languages == ["he"] and only.spec["steps"] == [{"he": "שאלו."}, {"he": "הקשיבו."}]


@pytest.mark.parametrize("change, problem", [
    (("[larger-denominator-larger]", "[larger-denominators]"),
     "mine.yaml:3: activity 'strips': misconceptions[1]: unknown misconception 'larger-denominators'"),
    (("kind: manipulative", "kind: worksheet"), "mine.yaml:4: activity 'strips': kind: 'worksheet' is not one of: "
     "worked-example, manipulative, small-group, practice-set, discussion"),
    (("minutes: 20", "minutes: 200"), "mine.yaml:5: activity 'strips': minutes: 200 is out of range: from 5 to 90"),
    (("grouping: pair", "grouping: couples"), "mine.yaml:6: activity 'strips': grouping: 'couples' is not one of: "
     "individual, pair, small-group, whole-class"),
    (("materials: {en: Paper strips, he: רצועות נייר, ar: شرائط ورقية}", "materials: {en: Paper strips}"),
     "mine.yaml:8: activity 'strips': materials: missing he, ar"),
    (("      - {en: Compare., he: השוו., ar: قارنوا.}\n", ""),
     "mine.yaml:9: activity 'strips': steps: has 1 steps; write 2 to 6"),
    (("    look_for:", "    look_at:"), "mine.yaml:12: activity 'strips': look_at: unknown field (expected one of: "
     "key, misconceptions, kind, minutes, grouping, title, materials, steps, look_for)"),
])
def test_each_problem_names_file_line_and_field(change, problem):
    with pytest.raises(activityfile.ActivityFileError) as caught:
        activityfile.read("mine.yaml", GOOD.replace(*change), misconceptions=KNOWN)
    assert problem in caught.value.lines, caught.value.lines


def test_prerequisites_that_go_round_in_a_circle_are_refused():
    text = GOOD + ("prerequisites:\n  - first: no-number-between\n    after: [larger-denominator-larger]\n"
                   "  - first: larger-denominator-larger\n    after: [no-number-between, nope]\n")
    with pytest.raises(activityfile.ActivityFileError) as caught:
        activityfile.read("mine.yaml", text, misconceptions=KNOWN)
    assert caught.value.lines == [
        "mine.yaml:17: prerequisite #2: after[2]: unknown misconception 'nope'",
        "mine.yaml:13: prerequisites: go round in a circle: larger-denominator-larger → no-number-between → "
        "larger-denominator-larger (no order of goals can satisfy them)"]


def test_unreadable_files_say_why():
    for text, says in (("activities: [", "malformed YAML"), ("", "the file is empty"),
                       ("activities: []", "activities: is required")):
        with pytest.raises(activityfile.ActivityFileError) as caught:
            activityfile.read("mine.yaml", text)
        assert says in caught.value.lines[0] and caught.value.lines[0].startswith("mine.yaml")
