"""The scenario file reader: every problem named by file, line and field; nothing returned unless all is valid."""

from __future__ import annotations

import pytest

from app.rehearsals import scenariofile
from app.rehearsals.scenariofile import ScenarioFileError, read
from tests.builders import SCENARIOS

SAMPLE = (SCENARIOS / "sample.yaml").read_text()

ONE = """\
languages: [he]
scenarios:
  - key: my-moment
    topic: fractions
    move: press-for-reasoning
    title: רגע אחד
    context: הכיתה עובדת בזוגות.
    goal: לבקש נימוק.
    anticipate: מה הם יגידו?
    turns:
      - text: זה פשוט יוצא ככה.
    reflect: מה למדתי?
    rubric:
      title: נימוק
      criteria:
        - key: asks-why
          title: שואל למה
          levels:
            - {score: 1, text: לא שואל.}
            - {score: 4, text: שואל ומקשיב.}
"""


def problems(text: str, **kw) -> list[str]:
    with pytest.raises(ScenarioFileError) as caught:
        read("mine.yaml", text, **kw)
    return caught.value.lines


def test_the_sample_reads_whole_and_round_trips_through_the_editor():
    found = read("sample.yaml", SAMPLE, topics={"fractions", "linear_equations"},
                 misconceptions={"larger-denominator-larger"})
    assert [r.key for r in found] == ["sample-eighths", "sample-launch"]
    eighths = found[0]
    assert eighths.max_seconds == 60 and eighths.grade == 7 and eighths.languages == ["en", "he", "ar"]
    assert eighths.spec["rubric"]["key"] == "respond"
    again = read("edited.yaml", eighths.yaml_text)[0]
    assert again.spec == eighths.spec and again.key == eighths.key
    assert found[1].max_seconds == scenariofile.DEFAULT_SECONDS and found[1].spec["turns"][0]["student"] == {}


def test_a_file_in_one_language_takes_plain_text():
    found = read("mine.yaml", ONE)
    assert found[0].languages == ["he"] and found[0].spec["title"] == {"he": "רגע אחד"}
    assert found[0].yaml_text.startswith("languages: [he]\n")
    assert read("again.yaml", found[0].yaml_text)[0].spec == found[0].spec


@pytest.mark.parametrize("change,expected", [
    (lambda t: t.replace("    anticipate: מה הם יגידו?\n", ""),
     "mine.yaml:3: scenario 'my-moment': anticipate: is required"),
    (lambda t: t.replace("{score: 4,", "{score: 5,"),
     "mine.yaml:20: scenario 'my-moment': rubric.criteria[1].levels[2].score: 5 is out of range: levels are scored 1 "
     "to 4"),
    (lambda t: t.replace("{score: 4,", "{score: 1,"), "rubric.criteria[1].levels[2].score: 1 is given to two levels"),
    (lambda t: t.replace("move: press-for-reasoning", "move: lecture"), "move: must be one of"),
    (lambda t: t.replace("key: my-moment", "key: My Moment"), "key: must be lowercase letters"),
    (lambda t: t.replace("    turns:\n      - text: זה פשוט יוצא ככה.\n", ""), "turns: is required"),
    (lambda t: t.replace("languages: [he]\n", ""), "title: missing he, ar"),
    (lambda t: t.replace("topic: fractions", "topic: fractions\n    max_seconds: 5"), "max_seconds: 5 is out of range"),
    (lambda t: t.replace("scenarios:", "scenarios: &a"), "anchors"),
    (lambda t: "", "empty"),
])
def test_each_problem_names_file_line_and_field(change, expected):
    found = problems(change(ONE))
    assert any(expected in line for line in found), found


def test_every_problem_of_a_file_is_reported_at_once():
    text = ONE.replace("    anticipate: מה הם יגידו?\n", "").replace("{score: 4,", "{score: 9,")
    assert len(problems(text)) == 2


def test_names_are_checked_against_the_bank_when_it_is_given():
    found = problems(SAMPLE, topics={"ratio"}, misconceptions=set())
    assert any("unknown topic 'fractions'" in line for line in found)
    assert any("no misconception 'larger-denominator-larger' in the bank" in line for line in found)
    assert any("no rubric" in line for line in problems(SAMPLE.replace("rubric: respond\n", "rubric: other\n", 1)))
