"""Observation frameworks as data: the starter YAML files, validation messages, storage round trip and tag labels."""

from __future__ import annotations

import json
import textwrap

import pytest

from app.feedback.frameworks import (
    Element,
    Framework,
    FrameworkError,
    load_framework_text,
    load_starter_frameworks,
    tag_label,
)

VALID = """\
key: demo
version: 2
title: Demo framework
description: A small framework for tests.
inspired_by: General research on classroom instruction
language: en
he: מסגרת הדגמה
ar: إطار تجريبي
dimensions:
  - key: goals
    title: Goals
    he: מטרות
    description: Goals are clear.
    elements:
      - key: goal-stated
        title: Goal stated
        he: המטרה מוצגת
        ar: الهدف معلن
        description: The goal is stated.
        look_fors:
          - The goal is on the board.
      - key: goal-revisited
        title: Goal revisited
        description: The goal comes back at the end.
  - key: talk
    title: Talk
    elements:
      - key: wait-time
        title: Wait time
        look_fors: [A pause after questions.]
"""


def _problems(text: str, name: str = "demo.yaml") -> list[str]:
    with pytest.raises(FrameworkError) as info:
        load_framework_text(name, textwrap.dedent(text))
    problems = info.value.problems
    assert problems, "a FrameworkError always lists at least one problem"
    assert all(p.startswith(name) for p in problems), problems
    return problems


def _one(problems: list[str], *needles: str) -> str:
    """The single problem mentioning every needle."""
    hits = [p for p in problems if all(n in p for n in needles)]
    assert len(hits) == 1, (needles, problems)
    return hits[0]


# --- starter frameworks -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def starters() -> dict[str, Framework]:
    return {f.key: f for f in load_starter_frameworks()}


def test_both_starter_frameworks_load(starters):
    assert set(starters) == {"math-discourse", "general-teaching"}
    for fw in starters.values():
        assert fw.version >= 1 and isinstance(fw.version, int)
        assert fw.language == "en"
        assert fw.title and fw.description and fw.inspired_by


@pytest.mark.parametrize("key", ["math-discourse", "general-teaching"])
def test_starter_shape(starters, key):
    fw = starters[key]
    assert 4 <= len(fw.dimensions) <= 5
    dim_keys = [d.key for d in fw.dimensions]
    assert len(set(dim_keys)) == len(dim_keys)
    element_keys = [e.key for e in fw.elements()]
    assert len(set(element_keys)) == len(element_keys)
    for dimension in fw.dimensions:
        assert 3 <= len(dimension.elements) <= 4, dimension.key
        assert dimension.title and dimension.description
        for element in dimension.elements:
            assert element.dimension == dimension.key
            assert element.title and element.description
            assert 1 <= len(element.look_fors) <= 2, element.key
            assert all(isinstance(text, str) and text for text in element.look_fors)
            assert fw.element(element.key) is element


@pytest.mark.parametrize("key", ["math-discourse", "general-teaching"])
def test_starter_round_trip_through_json(starters, key):
    fw = starters[key]
    stored = json.loads(json.dumps(fw.as_dict(), ensure_ascii=False))
    again = Framework.from_dict(stored)
    assert again == fw
    assert again.as_dict() == fw.as_dict()
    assert dict(again.translations) == dict(fw.translations)
    assert [dict(e.translations) for e in again.elements()] == [dict(e.translations) for e in fw.elements()]


def test_starter_frameworks_are_translated_into_hebrew(starters):
    for fw in starters.values():
        assert "he" in fw.translations
        assert all("he" in d.translations for d in fw.dimensions)


# --- loading a valid file -----------------------------------------------------------------------------------------


def test_valid_file_loads_with_every_field():
    fw = load_framework_text("demo.yaml", VALID)
    assert (fw.key, fw.version, fw.title, fw.language) == ("demo", 2, "Demo framework", "en")
    assert fw.inspired_by == ("General research on classroom instruction",)
    assert [d.key for d in fw.dimensions] == ["goals", "talk"]
    assert [e.key for e in fw.elements()] == ["goal-stated", "goal-revisited", "wait-time"]
    stated = fw.element("goal-stated")
    assert isinstance(stated, Element)
    assert stated.look_fors == ("The goal is on the board.",)
    assert stated.dimension == "goals"
    assert fw.element("wait-time").look_fors == ("A pause after questions.",)
    assert fw.element("goal-revisited").look_fors == ()
    assert fw.dimensions[1].description == ""
    assert fw.element("nope") is None


def test_hebrew_and_arabic_pass_through_intact():
    fw = load_framework_text("demo.yaml", VALID)
    assert fw.translations == {"he": "מסגרת הדגמה", "ar": "إطار تجريبي"}
    assert fw.element("goal-stated").translations == {"he": "המטרה מוצגת", "ar": "الهدف معلن"}
    # Right-to-left marks, combining vowel points and Arabic diacritics are kept byte for byte.
    tricky_he = "\u200fשָׁלוֹם (עם ניקוד)"
    tricky_ar = "مَرْحَبًا ١٢٣"
    text = VALID.replace("title: Goal stated", f'title: "{tricky_he}"').replace("ar: الهدف معلن", f"ar: {tricky_ar}")
    fw = load_framework_text("demo.yaml", text)
    assert fw.element("goal-stated").title == tricky_he
    assert fw.element("goal-stated").translations["ar"] == tricky_ar
    assert Framework.from_dict(fw.as_dict()) == fw


def test_bytes_with_bom_are_accepted():
    fw = load_framework_text("demo.yaml", "\ufeff".encode() + VALID.encode("utf-8"))
    assert fw.title_in("he") == "מסגרת הדגמה"


def test_framework_objects_are_immutable_and_hashable():
    fw = load_framework_text("demo.yaml", VALID)
    with pytest.raises(AttributeError):
        fw.title = "changed"  # type: ignore[misc]
    with pytest.raises(TypeError):
        fw.translations["he"] = "x"  # type: ignore[index]
    assert hash(fw) == hash(load_framework_text("demo.yaml", VALID))


# --- validation ---------------------------------------------------------------------------------------------------


def test_malformed_yaml_reports_the_line():
    problems = _problems(
        """\
        key: demo
        version: 1
        title: Demo
        dimensions:
          - key: goals
            title: [unclosed
        """
    )
    assert len(problems) == 1
    assert "malformed YAML" in problems[0]
    assert "line 7" in problems[0] and "began on line 6" in problems[0], problems[0]


def test_bad_indentation_reports_the_line():
    problems = _problems("key: demo\nversion: 1\n title: Demo\n")
    assert "malformed YAML" in problems[0] and "line 3" in problems[0], problems


def test_empty_and_non_mapping_files():
    assert "empty" in _problems("")[0]
    assert "mapping" in _problems("- just\n- a list\n")[0]
    assert "UTF-8" in _problems_bytes(b"key: \xff\n")[0]


def _problems_bytes(data: bytes) -> list[str]:
    with pytest.raises(FrameworkError) as info:
        load_framework_text("demo.yaml", data)
    return info.value.problems


def test_missing_and_empty_key_and_title():
    problems = _problems(
        """\
        version: 1
        title: ""
        dimensions:
          - title: Goals
            elements:
              - key: goal-stated
                title:
          - key: talk
            title: Talk
            elements:
              - title: Wait time
        """
    )
    assert "line 1" in _one(problems, "framework:", "field 'key' is missing")
    assert "line 2" in _one(problems, "framework:", "field 'title' is empty")
    assert "line 4" in _one(problems, "dimension #1:", "field 'key' is missing")
    assert "line 7" in _one(problems, "dimension #1 › element 'goal-stated'", "field 'title' is empty")
    assert "line 11" in _one(problems, "dimension 'talk' › element #1", "field 'key' is missing")
    assert len(problems) == 5, problems


def test_bad_slugs():
    problems = _problems(
        """\
        key: Demo Framework
        version: 1
        title: Demo
        dimensions:
          - key: goals_
            title: Goals
            elements:
              - key: Goal-Stated
                title: Goal stated
              - key: 12
                title: Numbered
        """
    )
    assert "line 1" in _one(problems, "framework:", "lower-case slug", "'Demo Framework'")
    assert "line 5" in _one(problems, "dimension #1:", "lower-case slug", "'goals_'")
    assert "line 8" in _one(problems, "element #1", "lower-case slug", "'Goal-Stated'")
    assert "line 10" in _one(problems, "element #2", "field 'key' must be text, got the number 12")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", "the number 0"),
        ("-3", "the number -3"),
        ("1.5", "the number 1.5"),
        ('"1"', "the text '1'"),
        ("yes", "yes/no"),
        ("", "nothing"),
    ],
)
def test_version_must_be_a_positive_integer(value, expected):
    problems = _problems(VALID.replace("version: 2", f"version: {value}"))
    problem = _one(problems, "framework 'demo'", "field 'version' must be a positive whole number")
    assert expected in problem and "line 2" in problem


def test_missing_version():
    problem = _one(_problems(VALID.replace("version: 2\n", "")), "framework 'demo'", "field 'version' is missing")
    assert "line 1" in problem


def test_duplicate_dimension_and_element_keys():
    problems = _problems(
        """\
        key: demo
        version: 1
        title: Demo
        dimensions:
          - key: goals
            title: Goals
            elements:
              - key: goal-stated
                title: Goal stated
              - key: goal-stated
                title: Goal stated again
          - key: goals
            title: Goals again
            elements:
              - key: goal-stated
                title: Goal stated in another dimension
        """
    )
    dim = _one(problems, "dimension 'goals':", "duplicate dimension key")
    assert "line 12" in dim and "first used on line 5" in dim
    same_dim = [p for p in problems if "duplicate element key" in p]
    assert len(same_dim) == 2, problems
    assert "line 10" in same_dim[0] and "element 'goal-stated'" in same_dim[0] and "line 8" in same_dim[0]
    assert "line 15" in same_dim[1] and "first used in dimension 'goals' on line 8" in same_dim[1]


def test_repeated_field_in_one_block_is_reported():
    problems = _problems(VALID.replace("title: Goal stated\n", "title: Goal stated\n        title: Again\n"))
    assert "line 17" in _one(problems, "field 'title' appears twice", "first on line 16")


def test_aliases_and_oversized_files_are_refused():
    # the bank's guards, which this loader once lacked: a few lines of aliases can expand into a huge structure
    problems = _problems(VALID.replace("title: Goals\n", "title: &t Goals\n").replace("title: Talk", "title: *t"))
    assert len(problems) == 1 and "demo.yaml, line 11: malformed YAML: anchors" in problems[0], problems
    assert "too large" in _problems("key: demo\n" + "#" * 1_000_000)[0]


def test_dimension_without_elements():
    problems = _problems(
        """\
        key: demo
        version: 1
        title: Demo
        dimensions:
          - key: goals
            title: Goals
          - key: talk
            title: Talk
            elements: []
          - key: pace
            title: Pace
            elements: just text
        """
    )
    assert "line 5" in _one(problems, "dimension 'goals':", "has no elements")
    assert "line 9" in _one(problems, "dimension 'talk':", "has no elements")
    assert "line 12" in _one(problems, "dimension 'pace':", "field 'elements' must be a list")


def test_missing_or_empty_dimensions():
    assert "field 'dimensions' is missing" in _problems("key: demo\nversion: 1\ntitle: Demo\n")[0]
    problem = _problems("key: demo\nversion: 1\ntitle: Demo\ndimensions: []\n")[0]
    assert "non-empty list" in problem and "line 4" in problem


def test_unknown_fields_are_reported_with_a_suggestion():
    text = (
        VALID.replace("description: A small", "descripton: A small")
        .replace("    title: Talk\n", "    title: Talk\n    colour: red\n")
        .replace("look_fors:\n", "look_for:\n")
        .replace("ar: الهدف معلن", "fr: Objectif annoncé")
    )
    problems = _problems(text)
    assert "line 4" in _one(problems, "framework 'demo'", "unknown field 'descripton'", "did you mean 'description'")
    assert "line 27" in _one(problems, "dimension 'talk':", "unknown field 'colour'", "expected one of")
    assert "line 20" in _one(problems, "element 'goal-stated'", "unknown field 'look_for'", "did you mean 'look_fors'")
    assert "line 18" in _one(problems, "element 'goal-stated'", "unknown field 'fr'", "translations are supported")
    assert len(problems) == 4, problems


@pytest.mark.parametrize(
    ("value", "expected", "line"),
    [
        ("A single look-for", "must be a list of texts", "line 20"),
        ("{see: board}", "must be a list of texts", "line 20"),
        ("[fine, 3]", "item 2 must be non-empty text, got the number 3", "line 20"),
        ('\n          - ok\n          - ""', "item 2 must be non-empty text, got empty text", "line 22"),
        ("\n          - ok\n          - [nested]", "item 2 must be non-empty text, got a list", "line 22"),
    ],
)
def test_look_fors_must_be_a_list_of_strings(value, expected, line):
    text = VALID.replace("look_fors:\n          - The goal is on the board.", f"look_fors: {value}")
    problem = _one(_problems(text), "element 'goal-stated'", "field 'look_fors'")
    assert expected in problem and line in problem, problem


def test_translations_must_be_text_and_not_the_own_language():
    problems = _problems(VALID.replace("he: מטרות", "he: {title: מטרות}"))
    assert "line 12" in _one(problems, "dimension 'goals':", "field 'he' must be text, got a mapping")
    problems = _problems(VALID.replace("language: en", "language: he"))
    assert "line 7" in _one(problems, "framework 'demo'", "field 'he' translates into the framework's own language")
    assert len(problems) == 3, problems  # the framework's, the dimension's and the element's 'he' fields


def test_unsupported_language():
    problem = _one(_problems(VALID.replace("language: en", "language: fr")), "field 'language' must be one of")
    assert "line 6" in problem and "'fr'" in problem


def test_every_problem_is_collected_in_one_pass():
    problems = _problems(
        """\
        key: Bad Key
        version: 0
        title: Demo
        dimensions:
          - key: goals
            titel: Goals
            elements:
              - key: a
                title: A
                look_fors: nope
              - key: a
                title: A again
          - key: goals
            title: Goals
        """
    )
    assert len(problems) == 8, problems
    message = str(FrameworkError(problems))
    assert message.startswith("8 problems in framework:")


def test_from_dict_validates_too():
    data = load_framework_text("demo.yaml", VALID).as_dict()
    data["version"] = "two"
    data["dimensions"][0]["elements"][0]["look_fors"] = "not a list"
    with pytest.raises(FrameworkError) as info:
        Framework.from_dict(data)
    problems = info.value.problems
    assert any("<framework 'demo'>" in p and "field 'version'" in p for p in problems), problems
    assert any("element 'goal-stated'" in p and "field 'look_fors'" in p for p in problems), problems
    with pytest.raises(FrameworkError):
        Framework.from_dict(["not", "a", "dict"])  # type: ignore[arg-type]


def test_as_dict_is_json_serialisable_and_round_trips():
    fw = load_framework_text("demo.yaml", VALID)
    data = fw.as_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["dimensions"][0]["elements"][0] == {
        "key": "goal-stated",
        "title": "Goal stated",
        "description": "The goal is stated.",
        "look_fors": ["The goal is on the board."],
        "he": "המטרה מוצגת",
        "ar": "الهدف معلن",
    }
    assert Framework.from_dict(data) == fw


# --- tag labels ---------------------------------------------------------------------------------------------------


def test_tag_label_in_english_and_hebrew():
    fw = load_framework_text("demo.yaml", VALID)
    assert tag_label(fw, "goal-stated") == "Goals › Goal stated"
    assert tag_label(fw, "goal-stated", "he") == "מטרות › המטרה מוצגת"
    assert tag_label(fw, "goal-stated", "he_IL") == "מטרות › המטרה מוצגת"
    # Untranslated parts fall back to English, one part at a time.
    assert tag_label(fw, "goal-stated", "ar") == "Goals › الهدف معلن"
    assert tag_label(fw, "goal-revisited", "he") == "מטרות › Goal revisited"
    assert tag_label(fw, "wait-time", "de") == "Talk › Wait time"
    with pytest.raises(KeyError):
        tag_label(fw, "no-such-element")


def test_tag_label_on_starter_frameworks(starters):
    math = starters["math-discourse"]
    assert tag_label(math, "wait-time") == "Who does the thinking › Time to think"
    assert tag_label(math, "wait-time", "he") == "מי עושה את החשיבה › זמן המתנה"
    general = starters["general-teaching"]
    assert tag_label(general, "specific-feedback", "en") == "Feedback › Specific feedback"
    assert tag_label(general, "specific-feedback", "he") == "משוב › משוב ממוקד"
    for fw in starters.values():
        for element in fw.elements():
            assert " › " in tag_label(fw, element.key, "he")
