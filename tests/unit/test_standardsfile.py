"""The teacher-leader standards reader: the shipped framework reads whole in three languages, versions sit side by
side, and every problem of a file is named by file, line and field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.standards import standardsfile
from app.standards.standardsfile import StandardsFileError

SHIPPED = standardsfile.FOLDER / "leaders-2027.yaml"
HEBREW = re.compile(r"[\u05d0-\u05ea]")
ARABIC = re.compile(r"[\u0621-\u064a]")

GOOD = """\
key: leaders
version: "2030"
title: {en: Leaders, he: מובילים, ar: القادة}
levels:
  - {value: 1, label: {en: One, he: אחת, ar: واحد}, description: {en: Little., he: מעט., ar: قليل.}}
  - {value: 2, label: {en: Two, he: שתיים, ar: اثنان}, description: {en: Some., he: חלק., ar: بعض.}}
  - {value: 3, label: {en: Three, he: שלוש, ar: ثلاثة}, description: {en: Most., he: רוב., ar: معظم.}}
  - {value: 4, label: {en: Four, he: ארבע, ar: أربعة}, description: {en: All., he: הכול., ar: كلّ.}}
roles:
  - key: instructional_coach
    title: {en: Coach, he: מנחה, ar: مرشد}
    description: {en: Coaches., he: מנחה מורים., ar: يرشد المعلّمين.}
    pass_level: 3
    standards:
      - key: CO-1
        title: {en: Cycles, he: מחזורים, ar: دورات}
        description: {en: Cycles on evidence., he: מחזורים על עדויות., ar: دورات على الشواهد.}
        indicators:
          - {key: "1.1", text: {en: Goal., he: מטרה., ar: هدف.}}
          - {key: "1.2", text: {en: Evidence., he: עדויות., ar: شواهد.}}
        evidence: {kinds: [cycle, clip], least: 2, most: 5, words: 400}
        rubric:
          1: {en: Advice., he: עצות., ar: نصائح.}
          2: {en: Clips., he: קטעים., ar: مقاطع.}
          3: {en: Linked., he: קשורים., ar: مترابطة.}
          4: {en: Led by evidence., he: מובל בעדויות., ar: تقوده الشواهد.}
      - key: CO-2
        title: {en: Partnership, he: שותפות, ar: شراكة}
        description: {en: Trust., he: אמון., ar: ثقة.}
        indicators:
          - {key: "2.1", text: {en: Listens., he: מקשיב/ה., ar: يصغي.}}
          - {key: "2.2", text: {en: Asks., he: שואל/ת., ar: يسأل.}}
        evidence: {kinds: [cycle], least: 2, most: 4, words: 300}
        rubric:
          1: {en: Talks., he: מדבר/ת., ar: يتحدّث.}
          2: {en: Leads., he: מכוון/ת., ar: يوجّه.}
          3: {en: Follows., he: הולך/ת בעקבות., ar: يتبع.}
          4: {en: Hands over., he: מעביר/ה., ar: يسلّم.}
      - key: CO-3
        title: {en: Content, he: תוכן, ar: محتوى}
        description: {en: Thinking., he: חשיבה., ar: تفكير.}
        indicators:
          - {key: "3.1", text: {en: Plans., he: מתכנן/ת., ar: يخطّط.}}
          - {key: "3.2", text: {en: Notices., he: מבחין/ה., ar: يلاحظ.}}
        evidence: {kinds: [cycle, attempt], least: 1, most: 3, words: 350}
        rubric:
          1: {en: General., he: כללי., ar: عامّ.}
          2: {en: Answers., he: תשובות., ar: إجابات.}
          3: {en: Reasoning., he: חשיבה., ar: تفكير.}
          4: {en: Grows., he: צומח., ar: ينمو.}
"""


def problems(text: str | bytes, name: str = "mine.yaml") -> list[str]:
    with pytest.raises(StandardsFileError) as caught:
        standardsfile.read(name, text)
    return caught.value.lines


def changed(*changes: tuple[str, str]) -> str:
    text = GOOD
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def all_texts(framework: standardsfile.Framework):
    """(where, language map) of every text in the framework."""
    yield "title", framework.title
    for level in framework.levels:
        yield f"level {level.value} label", level.label
        yield f"level {level.value} description", level.description
    for role in framework.roles:
        yield f"{role.key} title", role.title
        yield f"{role.key} description", role.description
        for standard in role.standards:
            yield f"{standard.key} title", standard.title
            yield f"{standard.key} description", standard.description
            for indicator in standard.indicators:
                yield f"{standard.key} indicator {indicator.key}", indicator.text
            for value, texts in standard.rubric.items():
                yield f"{standard.key} rubric {value}", texts


@pytest.fixture
def shipped_from(monkeypatch):
    """Point the shipped folder somewhere else for one test; the cache is emptied before and after."""

    def use(folder: Path) -> None:
        monkeypatch.setattr(standardsfile, "FOLDER", folder)
        standardsfile._shipped.cache_clear()

    yield use
    monkeypatch.undo()
    standardsfile._shipped.cache_clear()


# ------------------------------------------------------------------------------------------- the shipped standards


def test_the_shipped_framework_has_four_roles_of_four_standards():
    framework = standardsfile.load_framework(SHIPPED)
    assert framework.ref == "leaders@2027" and framework.key == "leaders" and framework.version == "2027"
    assert [lv.value for lv in framework.levels] == [1, 2, 3, 4]
    assert [lv.label["en"] for lv in framework.levels] == ["Beginning", "Developing", "Proficient", "Accomplished"]
    assert [r.key for r in framework.roles] == list(standardsfile.ROLE_KEYS)
    keys = [s.key for r in framework.roles for s in r.standards]
    assert len(keys) == len(set(keys)) == 16
    for role in framework.roles:
        assert role.pass_level == 3 and len(role.standards) == 4
        for standard in role.standards:
            assert 3 <= len(standard.indicators) <= 4
            assert set(standard.rubric) == {1, 2, 3, 4}
            rule = standard.evidence
            assert rule.kinds and set(rule.kinds) <= set(standardsfile.EVIDENCE_KINDS)
            assert 1 <= rule.least <= rule.most <= 8 and 50 <= rule.words <= 800
            for lang in ("en", "he", "ar"):  # four levels that say four different things
                assert len({standard.rubric[v][lang] for v in (1, 2, 3, 4)}) == 4, (standard.key, lang)


def test_every_shipped_text_is_in_three_languages_each_in_its_own_script():
    count = 0
    for where, texts in all_texts(standardsfile.current()):
        assert set(texts) == {"en", "he", "ar"}, where
        assert all(t.strip() for t in texts.values()), where
        assert HEBREW.search(texts["he"]) and not ARABIC.search(texts["he"]), where
        assert ARABIC.search(texts["ar"]) and not HEBREW.search(texts["ar"]), where
        assert not HEBREW.search(texts["en"]) and not ARABIC.search(texts["en"]), where
        assert texts["he"] != texts["en"] != texts["ar"], where
        count += 1
    assert count == 1 + 4 * 2 + 4 * 2 + 16 * (2 + 4) + sum(
        len(s.indicators) for r in standardsfile.current().roles for s in r.standards)


def test_the_roles_bear_the_names_israeli_teachers_use():
    framework = standardsfile.current()
    titles = {r.key: (r.title["he"], r.title["ar"]) for r in framework.roles}
    assert titles == {"department_head": ("רכז/ת מקצוע", "مركّز/ة الموضوع"),
                      "instructional_coach": ("מנחה פדגוגי/ת", "مرشد/ة تربوي/ة"),
                      "community_facilitator": ("מנחה קהילה מקצועית", "ميسّر/ة المجتمع المهني"),
                      "new_teacher_mentor": ("חונך/ת מורים חדשים", "مرشد/ة المعلّمين الجدد")}
    assert [lv.label["he"] for lv in framework.levels] == ["בראשית הדרך", "מתפתח/ת", "מיומן/ת", "מצטיין/ת"]
    assert [lv.label["ar"] for lv in framework.levels] == ["في البداية", "في طور التطوّر", "متمكّن", "متميّز"]


def test_evidence_rules_fit_each_role():
    framework = standardsfile.current()
    assert framework.standard("instructional_coach", "CO-1").evidence.kinds == ("cycle", "clip")
    assert all("meeting" in s.evidence.kinds for s in framework.role("community_facilitator").standards)
    mentor = {k for s in framework.role("new_teacher_mentor").standards for k in s.evidence.kinds}
    assert {"cycle", "attempt"} <= mentor


def test_lookups_by_ref_role_and_standard():
    framework = standardsfile.framework("leaders@2027")
    assert framework is standardsfile.current() is standardsfile.current("leaders")
    assert "leaders@2027" in standardsfile.frameworks()
    assert standardsfile.framework("leaders@1999") is None and standardsfile.framework("nonsense") is None
    assert framework.role("department_head").key == "department_head" and framework.role("principal") is None
    assert framework.standard("department_head", "DH-2").key == "DH-2"
    assert framework.standard("department_head", "CO-1") is None  # a standard of another role
    assert framework.standard("principal", "DH-1") is None
    with pytest.raises(LookupError):
        standardsfile.current("teachers")


def test_text_falls_back_to_english():
    texts = {"en": "Coach", "he": "מנחה"}
    assert standardsfile.text(texts, "he") == "מנחה"
    assert standardsfile.text(texts, "ar") == "Coach"
    assert standardsfile.text({}, "he") == "" and standardsfile.text(None, "en") == ""
    assert standardsfile.text(standardsfile.current().title, "ar").startswith("معايير")


def test_the_shipped_folder_is_read_once():
    assert standardsfile._shipped() is standardsfile._shipped()
    first = standardsfile.frameworks()
    first.clear()  # a caller's copy: the cache is not touched
    assert "leaders@2027" in standardsfile.frameworks()


# ---------------------------------------------------------------------------------------------------- versions


def test_a_second_version_loads_alongside_the_first(tmp_path):
    (tmp_path / "leaders-2027.yaml").write_bytes(SHIPPED.read_bytes())
    (tmp_path / "leaders-2030.yaml").write_text(GOOD, encoding="utf-8")
    found = standardsfile.frameworks(tmp_path)
    assert sorted(found) == ["leaders@2027", "leaders@2030"]
    assert len(found["leaders@2027"].roles) == 4 and len(found["leaders@2030"].roles) == 1
    assert standardsfile.frameworks(str(tmp_path)).keys() == found.keys()
    assert standardsfile.frameworks().keys() == {"leaders@2027"}  # the shipped ones are unchanged


def test_current_is_the_highest_version(tmp_path, shipped_from):
    for version in ("9", "10", "2027", "2027.1", "2028"):
        (tmp_path / f"v{version}.yaml").write_text(changed(('version: "2030"', f'version: "{version}"')),
                                                  encoding="utf-8")
    (tmp_path / "other.yaml").write_text(changed(("key: leaders", "key: mentors")), encoding="utf-8")
    shipped_from(tmp_path)
    assert standardsfile.current().ref == "leaders@2028"
    assert standardsfile.current("mentors").ref == "mentors@2030"
    assert standardsfile.framework("leaders@9").version == "9"  # old versions stay loadable


def test_one_ref_in_two_files_is_refused(tmp_path):
    (tmp_path / "a.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "b.yaml").write_text("# a copy\n" + GOOD, encoding="utf-8")
    with pytest.raises(StandardsFileError) as caught:
        standardsfile.frameworks(tmp_path)
    assert caught.value.lines == ["b.yaml:3: version: leaders@2030 is already the version in a.yaml "
                                  "(a new version needs a new version number)"]


def test_a_folder_reports_the_problems_of_every_file(tmp_path):
    (tmp_path / "a.yaml").write_text(changed(("pass_level: 3", "pass_level: 9")), encoding="utf-8")
    (tmp_path / "b.yaml").write_text("roles: [", encoding="utf-8")
    with pytest.raises(StandardsFileError) as caught:
        standardsfile.frameworks(tmp_path)
    assert [line.split(":")[0] for line in caught.value.lines] == ["a.yaml", "b.yaml"]


def test_load_framework_names_the_file(tmp_path):
    path = tmp_path / "leaders-2030.yaml"
    path.write_text(changed(("least: 2, most: 5", "least: 0, most: 5")), encoding="utf-8")
    with pytest.raises(StandardsFileError) as caught:
        standardsfile.load_framework(path)
    assert caught.value.lines == [
        "leaders-2030.yaml:21: role 'instructional_coach': standards[1].evidence.least: 0 is out of range: from 1 to 6"]
    with pytest.raises(StandardsFileError, match="missing.yaml: cannot be read"):
        standardsfile.load_framework(tmp_path / "missing.yaml")


# -------------------------------------------------------------------------------------------------- validation


def test_a_good_file_reads_whole():
    framework = standardsfile.read("mine.yaml", GOOD)
    assert framework.ref == "leaders@2030" and framework.title["he"] == "מובילים"
    [role] = framework.roles
    assert role.key == "instructional_coach" and role.pass_level == 3
    assert [s.key for s in role.standards] == ["CO-1", "CO-2", "CO-3"]
    first = role.standards[0]
    assert first.evidence == standardsfile.EvidenceRule(("cycle", "clip"), 2, 5, 400)
    assert [i.key for i in first.indicators] == ["1.1", "1.2"]
    assert first.rubric[4] == {"en": "Led by evidence.", "he": "מובל בעדויות.", "ar": "تقوده الشواهد."}
    assert framework.levels[1] == standardsfile.Level(2, {"en": "Two", "he": "שתיים", "ar": "اثنان"},
                                                      {"en": "Some.", "he": "חלק.", "ar": "بعض."})


CO = "role 'instructional_coach': "


@pytest.mark.parametrize(("change", "problem"), [
    # unknown fields, at every depth
    (("roles:", "colour: red\nroles:"),
     "mine.yaml:9: colour: unknown field (expected one of: key, version, title, levels, roles)"),
    (("  - {value: 2,", "  - {colour: red, value: 2,"), "mine.yaml:6: levels[2].colour: unknown field"),
    (("    pass_level: 3", "    pass_level: 3\n    colour: red"), f"mine.yaml:14: {CO}colour: unknown field"),
    (("        rubric:\n", "        colour: red\n        rubric:\n"),
     f"mine.yaml:22: {CO}standards[1].colour: unknown field (expected one of: key, title, description, "
     "indicators, evidence, rubric)"),
    (('{key: "1.2", text:', '{key: "1.2", note: x, text:'), f"mine.yaml:20: {CO}standards[1].indicators[2].note: "
     "unknown field (expected one of: key, text)"),
    (("least: 2, most: 5,", "least: 2, most: 5, minutes: 3,"),
     f"mine.yaml:21: {CO}standards[1].evidence.minutes: unknown field (expected one of: kinds, least, most, words)"),
    # missing fields
    (("    description: {en: Coaches., he: מנחה מורים., ar: يرشد المعلّمين.}\n", ""),
     f"mine.yaml:10: {CO}description: is required"),
    (("        evidence: {kinds: [cycle], least: 2, most: 4, words: 300}\n", ""),
     f"mine.yaml:27: {CO}standards[2].evidence: is required: a mapping (kinds, least, most, words)"),
    (("version: \"2030\"\n", ""), "mine.yaml:1: version: is required"),
    (("    pass_level: 3\n", ""), f"mine.yaml:10: {CO}pass_level: is required"),
    (("least: 2, most: 5, words: 400", "least: 2, most: 5"),
     f"mine.yaml:21: {CO}standards[1].evidence.words: is required: a whole number from 50 to 800"),
    (("kinds: [cycle, clip], ", ""), f"mine.yaml:21: {CO}standards[1].evidence.kinds: is required"),
    # languages and texts
    (("title: {en: Leaders, he: מובילים, ar: القادة}", "title: {en: Leaders, he: מובילים}"),
     "mine.yaml:3: title: missing ar"),
    (("title: {en: Coach, he: מנחה, ar: مرشد}", "title: Coach"), f"mine.yaml:11: {CO}title: missing he, ar"),
    (("{en: Goal., he: מטרה., ar: هدف.}", "{en: Goal., he: '', ar: هدف.}"),
     f"mine.yaml:19: {CO}standards[1].indicators[1].text.he: must be non-empty text, not ''"),
    (("{en: Goal., he: מטרה., ar: هدف.}", "{en: Goal., he: מטרה., ar: هدف., fr: But.}"),
     f"mine.yaml:19: {CO}standards[1].indicators[1].text.fr: unknown language 'fr'"),
    (("3: {en: Linked.,", "3: {en: yes,"), f"mine.yaml:25: {CO}standards[1].rubric.3.en: must be non-empty text, "
     "not True"),
    # the scale
    (("{value: 3,", "{value: 4,"),
     "mine.yaml:7: levels[3].value: is 4; the levels are numbered 1, 2, 3… in order, so this one is 3"),
    (("{value: 1,", "{value: 0,"), "mine.yaml:5: levels[1].value: is 0; the levels are numbered 1, 2, 3…"),
    (("{value: 2,", "{value: '2',"), "mine.yaml:6: levels[2].value: is '2'"),
    (("{value: 2, label: {en: Two, he: שתיים, ar: اثنان}, ", "{value: 2, "),
     "mine.yaml:6: levels[2].label: is required"),
    # rubrics
    (("          4: {en: Led by evidence., he: מובל בעדויות., ar: تقوده الشواهد.}\n", ""),
     f"mine.yaml:22: {CO}standards[1].rubric: missing level 4"),
    (("          4: {en: Led by evidence.,", "          5: {en: Led by evidence.,"),
     f"mine.yaml:26: {CO}standards[1].rubric.5: 5 is not a level of the scale (1, 2, 3, 4)"),
    (("          4: {en: Led by evidence.,", "          '4': {en: Led by evidence.,"),
     f"mine.yaml:26: {CO}standards[1].rubric.4: '4' is not a level of the scale (1, 2, 3, 4) (write the level as "
     "a number, unquoted)"),
    # evidence rules
    (("kinds: [cycle, clip]", "kinds: [cycle, video]"),
     f"mine.yaml:21: {CO}standards[1].evidence.kinds[2]: 'video' is not one of: clip, cycle, meeting, attempt"),
    (("kinds: [cycle, clip]", "kinds: [cycle, cycle]"), f"mine.yaml:21: {CO}standards[1].evidence.kinds[2]: "
     "'cycle' is listed twice"),
    (("least: 2, most: 5", "least: 5, most: 3"),
     f"mine.yaml:21: {CO}standards[1].evidence.most: is 3, fewer than least (5)"),
    (("least: 2, most: 5", "least: 7, most: 8"),
     f"mine.yaml:21: {CO}standards[1].evidence.least: 7 is out of range: from 1 to 6"),
    (("least: 2, most: 5", "least: 2, most: 9"),
     f"mine.yaml:21: {CO}standards[1].evidence.most: 9 is out of range: from 1 to 8"),
    (("words: 400", "words: 20"), f"mine.yaml:21: {CO}standards[1].evidence.words: 20 is out of range: from 50 to 800"),
    (("words: 400", "words: 900"), f"mine.yaml:21: {CO}standards[1].evidence.words: 900 is out of range"),
    (("words: 400", "words: many"), f"mine.yaml:21: {CO}standards[1].evidence.words: must be a whole number from 50 "
     "to 800, not 'many'"),
    # roles
    (("pass_level: 3", "pass_level: 5"), f"mine.yaml:13: {CO}pass_level: 5 is not a level of the scale (1, 2, 3, 4)"),
    (("pass_level: 3", "pass_level: high"), f"mine.yaml:13: {CO}pass_level: must be a level of the scale"),
    (("key: instructional_coach", "key: principal"), "mine.yaml:10: role #1: key: 'principal' is not one of: "
     "department_head, instructional_coach, community_facilitator, new_teacher_mentor"),
    # keys
    (("key: CO-2", "key: CO-1"), f"mine.yaml:27: {CO}standards[2].key: 'CO-1' is already the key of the standard "
     "on line 15"),
    (('{key: "1.2",', '{key: "1.1",'), f"mine.yaml:20: {CO}standards[1].indicators[2].key: '1.1' is already the key "
     "of the indicator on line 19"),
    (('{key: "1.2",', "{key: 1.2,"), f"mine.yaml:20: {CO}standards[1].indicators[2].key: write it in quotes, \"1.2\""),
    (("key: CO-3", "key: co-3"), f"mine.yaml:39: {CO}standards[3].key: must be like CO-1"),
    (("key: leaders", "key: Leaders!"), "mine.yaml:1: key: must be lowercase letters, digits and hyphens"),
    (('version: "2030"', "version: 2030.5"), "mine.yaml:2: version: must be text such as \"2027\""),
    # counts
    (("          - {key: \"2.2\", text: {en: Asks., he: שואל/ת., ar: يسأل.}}\n", ""),
     f"mine.yaml:30: {CO}standards[2].indicators: has 1 indicators; write 2 to 6"),
    (("    standards:\n", "    standards: []\n    old:\n"),
     f"mine.yaml:14: {CO}standards: has 0 standards; write 3 to 6"),
    (("title: {en: Leaders", "title: {en: Leaders, en: Again"), "mine.yaml:3: malformed YAML: duplicate key 'en' "
     "(first on line 3)"),
])
def test_each_problem_names_file_line_and_field(change, problem):
    lines = problems(changed(change))
    assert any(line.startswith(problem) for line in lines), lines


def test_too_many_standards_and_indicators():
    standard = GOOD[GOOD.index("      - key: CO-3"):]
    many = GOOD + "".join(standard.replace("CO-3", f"CO-{n}") for n in range(4, 8))
    assert f"mine.yaml:14: {CO}standards: has 7 standards; write 3 to 6" in problems(many)
    indicator = '          - {key: "1.2", text: {en: Evidence., he: עדויות., ar: شواهد.}}\n'
    more = "".join(indicator.replace("1.2", f"1.{n}") for n in range(3, 8))
    assert f"mine.yaml:18: {CO}standards[1].indicators: has 7 indicators; write 2 to 6" in problems(
        changed((indicator, indicator + more)))


def test_two_roles_with_one_key_and_a_standard_key_used_by_two_roles():
    role = GOOD[GOOD.index("  - key: instructional_coach"):]
    lines = problems(GOOD + role)
    assert "mine.yaml:51: role 'instructional_coach': key: 'instructional_coach' is already the key of the role on " \
           "line 10" in lines
    assert f"mine.yaml:56: {CO}standards[1].key: 'CO-1' is already the key of the standard on line 15" in lines
    assert "mine.yaml:56: role 'department_head': standards[1].key: 'CO-1' is already the key of the standard on " \
           "line 15" in problems(GOOD + role.replace("instructional_coach", "department_head"))
    two = standardsfile.read("mine.yaml", GOOD + role.replace("instructional_coach", "department_head")
                             .replace("CO-", "DH-"))
    assert [r.key for r in two.roles] == ["instructional_coach", "department_head"]
    assert two.standard("department_head", "DH-3").evidence.least == 1


def test_every_problem_is_reported_at_once():
    lines = problems(changed(("words: 400", "words: 20"), ("pass_level: 3", "pass_level: 7"),
                             ("he: מובילים, ", ""), ("kinds: [cycle]", "kinds: [lesson]")))
    assert lines == [
        "mine.yaml:3: title: missing he",
        f"mine.yaml:13: {CO}pass_level: 7 is not a level of the scale (1, 2, 3, 4)",
        f"mine.yaml:21: {CO}standards[1].evidence.words: 20 is out of range: from 50 to 800",
        f"mine.yaml:33: {CO}standards[2].evidence.kinds[1]: 'lesson' is not one of: clip, cycle, meeting, attempt",
    ]


# ------------------------------------------------------------------------------------------------------ garbage


@pytest.mark.parametrize(("text", "says"), [
    ("", "mine.yaml: the file is empty"),
    ("# only a comment\n", "mine.yaml: the file is empty"),
    ("- a\n- b\n", "mine.yaml:1: the file must be a mapping (key, version, title, levels, roles), not ['a', 'b']"),
    ("just some text\n", "mine.yaml: the file must be a mapping"),
    ("42\n", "mine.yaml: the file must be a mapping"),
    ("roles: [\n", "mine.yaml:2: malformed YAML"),
    ("key: leaders\n  version: 1\n", "mine.yaml:2: malformed YAML"),
    ("key: &a leaders\nversion: *a\n", "mine.yaml:1: malformed YAML: anchors (&name) and aliases (*name) are not"),
    ("key: !!python/object:os.system x\n", "mine.yaml:1: malformed YAML: the tag '!!python/object:os.system'"),
    (b"key: \xff\xfe\n", "mine.yaml: not UTF-8 text"),
    ("key: leaders\nroles: {a: 1}\n", "mine.yaml:2: roles: must be a list of 1 to 4 roles, not {'a': 1}"),
    ("key: leaders\nlevels: {1: one}\n", "mine.yaml:2: levels: must be a list of 3 to 6 levels"),
    ("key: leaders\nlevels: [one, two, three]\n", "mine.yaml:2: levels[1]: must be a mapping (value, label, "
     "description)"),
    ("key: leaders\nroles: [[1, 2]]\n", "mine.yaml:2: role #1: must be a mapping (key, title, description, "
     "pass_level, standards)"),
    ("key: leaders\nroles:\n  - key: department_head\n    standards: [1, x, ~]\n",
     "mine.yaml:4: role 'department_head': standards[1]: must be a mapping (key, title, description, indicators, "
     "evidence, rubric)"),
    ("key: leaders\nroles:\n  - key: department_head\n    standards: {a: 1}\n",
     "mine.yaml:4: role 'department_head': standards: must be a list of 3 to 6 standards"),
    ("key: leaders\ntitle: [a, b]\n", "mine.yaml:2: title: must be text or a language map"),
    ("key: [leaders]\n", "mine.yaml:1: key: must be lowercase letters"),
])
def test_garbage_gets_a_clear_error_not_a_crash(text, says):
    lines = problems(text)
    assert any(line.startswith(says) for line in lines), lines


@pytest.mark.parametrize(("old", "new", "says"), [
    ("evidence: {kinds: [cycle, clip], least: 2, most: 5, words: 400}", "evidence: [cycle, clip]",
     f"mine.yaml:21: {CO}standards[1].evidence: must be a mapping (kinds, least, most, words), not ['cycle', 'clip']"),
    ("        rubric:\n", "        rubric: [a, b, c, d]\n        old:\n",
     f"mine.yaml:22: {CO}standards[1].rubric: must be a mapping of what each level (1, 2, 3, 4) looks like"),
    ("        indicators:\n", "        indicators: 3\n        old:\n",
     f"mine.yaml:18: {CO}standards[1].indicators: must be a list of 2 to 6 indicators, not 3"),
    ('          - {key: "1.1", text: {en: Goal., he: מטרה., ar: هدف.}}', "          - Goal",
     f"mine.yaml:19: {CO}standards[1].indicators[1]: must be a mapping (key, text)"),
    ("kinds: [cycle, clip]", "kinds: cycle", f"mine.yaml:21: {CO}standards[1].evidence.kinds: is required: a list"),
    ("kinds: [cycle, clip]", "kinds: [[cycle], {a: b}]", f"mine.yaml:21: {CO}standards[1].evidence.kinds[1]: "
     "['cycle'] is not one of"),
    ("          1: {en: Advice., he: עצות., ar: نصائح.}", "          1: [Advice]",
     f"mine.yaml:23: {CO}standards[1].rubric.1: must be text or a language map"),
])
def test_a_list_where_a_mapping_belongs_and_the_like(old, new, says):
    lines = problems(changed((old, new)))
    assert any(line.startswith(says) for line in lines), lines


def test_no_damage_to_a_file_crashes_the_reader():
    """Every line of the head of the file (the scale, the role and its first standard; the other standards are of
    the same shape) removed, and every value replaced by a list, a mapping, nothing or a boolean: the file reads or is
    refused with StandardsFileError, each line of it naming the file."""
    lines = GOOD.splitlines(keepends=True)
    variants = []
    for n, line in enumerate(lines[:GOOD[:GOOD.index("- key: CO-2")].count("\n")]):
        variants.append("".join(lines[:n] + lines[n + 1:]))
        head, colon, _ = line.partition(": ")
        if colon:
            for value in ("[1, 2]", "{a: 1}", "~", "yes"):
                variants.append("".join(lines[:n] + [f"{head}: {value}\n"] + lines[n + 1:]))
    for text in variants:
        try:
            standardsfile.read("mine.yaml", text)
        except StandardsFileError as exc:
            assert exc.lines and all(line.startswith("mine.yaml") for line in exc.lines), exc.lines
