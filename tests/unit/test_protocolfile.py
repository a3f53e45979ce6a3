"""The PLC protocol and agenda reader: every problem named by file, line and field; a valid file read whole."""

from __future__ import annotations

import pytest

from app.meetings import protocolfile

GOOD = """languages: [he]
protocols:
  - key: quick-look
    title: מבט מהיר
    purpose: לפני שמפרשים, מתארים.
    suits: [clip, attempt]
    steps:
      - title: מבחינים
        prompt: במה אתם מבחינים בקטע?
        minutes: 5
        responses: held
      - title: שואלים
        prompt: מה הייתם רוצים לשאול את המורה?
        minutes: 7
"""


def test_a_protocol_in_one_language_is_read_with_its_steps():
    [record] = protocolfile.read("mine.yaml", GOOD)
    assert record.key == "quick-look" and record.languages == ["he"] and record.suits == ["clip", "attempt"]
    assert [(s.minutes, s.responses) for s in record.steps] == [(5, "held"), (7, "open")]
    assert record.spec()["steps"][1]["prompt"] == {"he": "מה הייתם רוצים לשאול את המורה?"}


@pytest.mark.parametrize(("change", "problem"), [
    (("minutes: 7", "minutes: 0"),
     "mine.yaml:14: protocol 'quick-look': steps[2]: minutes: 0 is out of range: from 1 to 60"),
    (("responses: held", "responses: later"),
     "mine.yaml:11: protocol 'quick-look': steps[1].responses: 'later' is not one of: open, held"),
    (("suits: [clip, attempt]", "suits: []"), "mine.yaml:6: protocol 'quick-look': suits: is required"),
    (("key: quick-look", "key: Quick Look"), "mine.yaml:3: protocol #1: key: must be lowercase letters"),
    (("        minutes: 7\n", "        minutes: 7\n        colour: red\n"),
     "mine.yaml:15: protocol 'quick-look': steps[2].colour: unknown field"),
    (("languages: [he]", "languages: [he, fr]"), "mine.yaml:1: languages: must list some of en, he, ar"),
])
def test_each_problem_names_file_line_and_field(change, problem):
    with pytest.raises(protocolfile.ProtocolFileError) as caught:
        protocolfile.read("mine.yaml", GOOD.replace(*change))
    assert any(line.startswith(problem) for line in caught.value.lines), caught.value.lines


def test_a_protocol_with_one_step_or_a_key_twice_is_refused():
    one_step = GOOD.split("      - title: שואלים")[0]
    with pytest.raises(protocolfile.ProtocolFileError) as caught:
        protocolfile.read("mine.yaml", one_step)
    assert "mine.yaml:7: protocol 'quick-look': steps: has 1 steps; write 2 to 8" in caught.value.lines
    twice = GOOD + GOOD.split("protocols:\n")[1]
    with pytest.raises(protocolfile.ProtocolFileError) as caught:
        protocolfile.read("mine.yaml", twice)
    assert any("'quick-look' is already the key of the protocol on line 3" in line for line in caught.value.lines)


KNOWN = {"notice-and-wonder": 4, "tuning": 6}


def test_an_agenda_reads_protocol_steps_own_steps_and_evidence():
    entries = protocolfile.read_agenda("agenda.yaml", """steps:
  - protocol: notice-and-wonder
    evidence: {clip: abc123}
  - protocol: tuning
    step: 2
    minutes: 12
  - title: השבוע
    prompt: מה ננסה?
    minutes: 10
    responses: held
    evidence: {item: {assignment: def456, number: 3}}
""", language="he", protocols=KNOWN)
    assert [(e.protocol, e.step, e.minutes) for e in entries] == [("notice-and-wonder", None, None),
                                                                 ("tuning", 2, 12), (None, None, 10)]
    assert entries[0].evidence == ("clip", "abc123", None) and entries[2].evidence == ("item", "def456", 3)
    assert entries[2].title == {"he": "השבוע"} and entries[2].responses == "held" and entries[2].line == 7


@pytest.mark.parametrize(("text", "problem"), [
    ("steps: []\n", "agenda.yaml:1: steps: is required"),
    ("steps:\n  - protocol: nope\n", "agenda.yaml:2: step #1: protocol: unknown protocol 'nope'"),
    ("steps:\n  - protocol: tuning\n    step: 9\n", "agenda.yaml:3: step #1: step: 9 is out of range: from 1 to 6"),
    ("steps:\n  - title: a\n    prompt: b\n", "agenda.yaml:2: step #1: minutes: is required"),
    ("steps:\n  - title: a\n    prompt: b\n    minutes: 5\n    step: 2\n",
     "agenda.yaml:5: step #1: step: names a step of a protocol"),
    ("steps:\n  - protocol: tuning\n    evidence: {video: x}\n",
     "agenda.yaml:3: step #1: evidence.video: unknown evidence"),
    ("steps:\n  - protocol: tuning\n    evidence: {item: {assignment: x}}\n",
     "agenda.yaml:3: step #1: evidence.item.number: is required"),
    ("steps:\n  - protocol: tuning\n    evidence: {clip: x, result: y}\n", "agenda.yaml:3: step #1: evidence: must be"),
    ("steps:\n  - protocol: tuning\n    colour: red\n", "agenda.yaml:3: step #1: colour: unknown field"),
    ("steps: [1\n", "agenda.yaml:2: malformed YAML"),
    ("title: x\nsteps:\n  - protocol: tuning\n", "agenda.yaml:1: title: unknown field (expected steps)"),
])
def test_an_agenda_with_problems_names_each_by_line(text, problem):
    with pytest.raises(protocolfile.ProtocolFileError) as caught:
        protocolfile.read_agenda("agenda.yaml", text, language="en", protocols=KNOWN)
    assert any(line.startswith(problem) for line in caught.value.lines), caught.value.lines
