"""The progress-indicators reader (app/goals/indicatorsfile.py): the shipped catalogue reads whole in three
languages, versions sit side by side, and every problem of a file is named by file, line and field."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from app.goals import indicatorsfile
from app.goals.indicatorsfile import IndicatorsFileError

SHIPPED = indicatorsfile.FOLDER / "indicators-2027.yaml"
HEBREW = re.compile(r"[\u05d0-\u05ea]")
ARABIC = re.compile(r"[\u0621-\u064a]")
KEYS = ["math5_share", "physics_share", "science_adv_share", "math5_dropout", "bagrut_eligibility",
        "math5_bagrut_pass", "math5_bagrut_mean", "diagnostic_mastery", "coaching_cycles_closed", "plc_meetings_held"]

# Six indicators, the fewest a file may hold: line 5 starts the first, and each is nine lines (ten when computed).
GOOD = """\
key: indicators
version: "2030"
title: {en: Indicators, he: מדדים, ar: مؤشّرات}
indicators:
  - key: math5_share
    title: {en: Five units, he: חמש יחידות, ar: خمس وحدات}
    definition: {en: Students in it., he: הלומדים בה., ar: طلابها.}
    unit: percent
    direction: up
    range: [0, 100]
    grades: [10, 11, 12]
    source: imported
    measure: share
  - key: math5_dropout
    title: {en: Drop-out, he: נשירה, ar: تسرّب}
    definition: {en: Who left., he: מי שעזבו., ar: من تركوا.}
    unit: percent
    direction: down
    range: [0, 50]
    grades: [10, 11]
    source: imported
    measure: share
  - key: math5_bagrut_mean
    title: {en: Mean grade, he: ציון ממוצע, ar: معدّل العلامات}
    definition: {en: The mean., he: הממוצע., ar: المعدّل.}
    unit: score
    direction: up
    range: [0, 100]
    grades: [12]
    source: imported
    measure: mean
  - key: diagnostic_mastery
    title: {en: Mastery, he: שליטה, ar: إتقان}
    definition: {en: No misconception., he: ללא תפיסה שגויה., ar: بلا مفهوم خاطئ.}
    unit: percent
    direction: up
    range: [0, 100]
    grades: [9, 7, 8]
    source: computed
    measure: share
    computed: diagnostic_mastery
  - key: coaching_cycles_closed
    title: {en: Cycles, he: מחזורים, ar: دورات}
    definition: {en: Cycles closed., he: מחזורים שנסגרו., ar: دورات أُغلقت.}
    unit: count
    direction: up
    range: [0, 500]
    grades: [7, 8, 9, 10, 11, 12]
    source: computed
    measure: count
    computed: coaching_cycles_closed
  - key: plc_meetings_held
    title: {en: Meetings, he: מפגשים, ar: لقاءات}
    definition: {en: Meetings held., he: מפגשים שהתקיימו., ar: لقاءات عُقدت.}
    unit: count
    direction: up
    range: [0, 300.5]
    grades: [9, 10]
    source: computed
    measure: count
    computed: plc_meetings_held
"""
ALLOWED = "key, title, definition, unit, direction, range, grades, source, measure, computed"
COMPUTED = "diagnostic_mastery, coaching_cycles_closed, plc_meetings_held"
GRADES = "must be a list of some of the grades 7 to 12, such as [10, 11, 12]"
RANGE = "[least, most], two numbers, such as [0, 100]"
KEY_RULE = "lowercase letters, digits and underscores, 2 to 40, starting with a letter (such as math5_share)"


def problems(text: str | bytes, name: str = "mine.yaml") -> list[str]:
    with pytest.raises(IndicatorsFileError) as caught:
        indicatorsfile.read(name, text)
    return caught.value.lines


def changed(*changes: tuple[str, str]) -> str:
    text = GOOD
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def one_indicator(key: str) -> str:
    """The first indicator of GOOD under another key (an imported share)."""
    first = GOOD[GOOD.index("  - key: math5_share"):GOOD.index("  - key: math5_dropout")]
    return first.replace("math5_share", key)


@pytest.fixture
def shipped_from(monkeypatch):
    """Point the shipped folder somewhere else for one test; the cache is emptied before and after."""

    def use(folder: Path) -> None:
        monkeypatch.setattr(indicatorsfile, "FOLDER", folder)
        indicatorsfile._shipped.cache_clear()

    yield use
    monkeypatch.undo()
    indicatorsfile._shipped.cache_clear()


# ------------------------------------------------------------------------------------------ the shipped indicators


def test_the_shipped_file_has_the_ten_indicators():
    catalogue = indicatorsfile.load(SHIPPED)
    assert catalogue.ref == "indicators@2027" and catalogue.key == "indicators" and catalogue.version == "2027"
    assert [i.key for i in catalogue.indicators] == KEYS
    shape = {i.key: (i.unit, i.direction, i.least, i.most, i.source, i.measure, i.computed)
             for i in catalogue.indicators}
    share = ("percent", "up", 0, 100, "imported", "share", None)
    assert shape == {
        "math5_share": share, "physics_share": share, "science_adv_share": share,
        "math5_dropout": ("percent", "down", 0, 100, "imported", "share", None),
        "bagrut_eligibility": share, "math5_bagrut_pass": share,
        "math5_bagrut_mean": ("score", "up", 0, 100, "imported", "mean", None),
        "diagnostic_mastery": ("percent", "up", 0, 100, "computed", "share", "diagnostic_mastery"),
        "coaching_cycles_closed": ("count", "up", 0, 500, "computed", "count", "coaching_cycles_closed"),
        "plc_meetings_held": ("count", "up", 0, 300, "computed", "count", "plc_meetings_held"),
    }
    grades = {i.key: i.grades for i in catalogue.indicators}
    for key in ("math5_share", "physics_share", "science_adv_share", "math5_dropout"):
        assert grades[key] == (10, 11, 12), key
    for key in ("bagrut_eligibility", "math5_bagrut_pass", "math5_bagrut_mean"):
        assert grades[key] == (12,), key
    for key in ("diagnostic_mastery", "coaching_cycles_closed", "plc_meetings_held"):
        assert grades[key] == (7, 8, 9, 10, 11, 12), key
    assert {i.computed for i in catalogue.indicators if i.source == "computed"} == set(indicatorsfile.COMPUTED)


def test_every_shipped_text_is_in_three_languages_each_in_its_own_script():
    catalogue = indicatorsfile.current()
    texts = [("title", catalogue.title)] + [(f"{i.key} {part}", getattr(i, part)) for i in catalogue.indicators
                                            for part in ("title", "definition")]
    assert len(texts) == 1 + 2 * 10
    for where, value in texts:
        assert set(value) == {"en", "he", "ar"}, where
        assert all(t.strip() for t in value.values()), where
        assert HEBREW.search(value["he"]) and not ARABIC.search(value["he"]), where
        assert ARABIC.search(value["ar"]) and not HEBREW.search(value["ar"]), where
        assert not HEBREW.search(value["en"]) and not ARABIC.search(value["en"]), where
        assert value["he"] != value["en"] != value["ar"], where
    for lang in ("en", "he", "ar"):  # ten indicators that say ten different things
        assert len({i.title[lang] for i in catalogue.indicators}) == 10, lang
        assert len({i.definition[lang] for i in catalogue.indicators}) == 10, lang


def test_the_shipped_texts_use_the_terms_israeli_schools_use():
    catalogue = indicatorsfile.current()
    math5 = catalogue.get("math5_share")
    assert "5 יחידות לימוד" in math5.title["he"] and "5 وحدات" in math5.title["ar"]
    assert "5 وحدات" in catalogue.get("math5_bagrut_pass").title["ar"]
    assert "بجروت" in catalogue.get("math5_bagrut_pass").title["ar"]
    for key in ("bagrut_eligibility", "math5_bagrut_pass", "math5_bagrut_mean"):
        ind = catalogue.get(key)
        assert "בגרות" in ind.title["he"] and "בגרות" in ind.definition["he"], key
        assert "بجروت" in ind.title["ar"] and "البجروت" in ind.definition["ar"], key
        assert 'שכבת י"ב' in ind.definition["he"] and "الصفّ الثاني عشر" in ind.definition["ar"], key
    assert "מחזורי הנחיה" in catalogue.get("coaching_cycles_closed").title["he"]
    assert "دورات الإرشاد" in catalogue.get("coaching_cycles_closed").title["ar"]
    assert "קהילה מקצועית" in catalogue.get("plc_meetings_held").title["he"]
    assert "لقاءات" in catalogue.get("plc_meetings_held").title["ar"]
    assert "תפיסות שגויות" in catalogue.get("diagnostic_mastery").title["he"]
    assert "مفاهيم خاطئة" in catalogue.get("diagnostic_mastery").title["ar"]


def test_lookups_and_the_cache():
    catalogue = indicatorsfile.current()
    assert catalogue is indicatorsfile.current()  # read once
    assert catalogue is indicatorsfile.catalogue("indicators@2027")
    assert indicatorsfile.catalogue("indicators@1999") is None
    assert catalogue.get("math5_share").key == "math5_share" and catalogue.get("nonsense") is None
    assert catalogue.get("") is None
    first = indicatorsfile.catalogues()
    first.clear()  # a caller's copy: the cache is not touched
    assert indicatorsfile.catalogues().keys() == {"indicators@2027"}


def test_text_falls_back_to_english():
    texts = {"en": "Drop-out", "he": "נשירה"}
    assert indicatorsfile.text(texts, "he") == "נשירה"
    assert indicatorsfile.text(texts, "ar") == "Drop-out"
    assert indicatorsfile.text({}, "he") == "" and indicatorsfile.text(None, "en") == ""
    assert indicatorsfile.text(indicatorsfile.current().title, "ar").startswith("مؤشّرات")


# ---------------------------------------------------------------------------------------------------- within


def test_within_is_the_range_bounds_included():
    math5 = indicatorsfile.current().get("math5_share")
    assert math5.within(0) and math5.within(100) and math5.within(0.0) and math5.within(100.0)
    assert math5.within(37.5)
    assert not math5.within(-0.001) and not math5.within(100.001) and not math5.within(-1) and not math5.within(101)
    assert not math5.within(math.nan) and not math5.within(math.inf) and not math5.within(-math.inf)
    meetings = indicatorsfile.read("mine.yaml", GOOD).get("plc_meetings_held")
    assert (meetings.least, meetings.most) == (0, 300.5)
    assert meetings.within(0) and meetings.within(300) and meetings.within(300.5)
    assert not meetings.within(300.6) and not meetings.within(-1)


# ---------------------------------------------------------------------------------------------------- versions


def test_a_second_version_loads_alongside_the_first(tmp_path):
    (tmp_path / "indicators-2027.yaml").write_bytes(SHIPPED.read_bytes())
    (tmp_path / "indicators-2030.yaml").write_text(GOOD, encoding="utf-8")
    found = indicatorsfile.catalogues(tmp_path)
    assert sorted(found) == ["indicators@2027", "indicators@2030"]
    assert len(found["indicators@2027"].indicators) == 10 and len(found["indicators@2030"].indicators) == 6
    assert indicatorsfile.catalogues(str(tmp_path)).keys() == found.keys()
    assert indicatorsfile.catalogues().keys() == {"indicators@2027"}  # the shipped ones are unchanged


def test_current_is_the_highest_version(tmp_path, shipped_from):
    for version in ("9", "10", "2027", "2027.1", "2028"):
        (tmp_path / f"v{version}.yaml").write_text(changed(('version: "2030"', f'version: "{version}"')),
                                                  encoding="utf-8")
    shipped_from(tmp_path)
    assert indicatorsfile.current().ref == "indicators@2028"
    assert indicatorsfile.catalogue("indicators@9").version == "9"  # old versions stay loadable


def test_no_shipped_file_is_a_lookup_error(tmp_path, shipped_from):
    shipped_from(tmp_path)
    with pytest.raises(LookupError):
        indicatorsfile.current()


def test_one_ref_in_two_files_is_refused(tmp_path):
    (tmp_path / "a.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "b.yaml").write_text("# a copy\n" + GOOD, encoding="utf-8")
    with pytest.raises(IndicatorsFileError) as caught:
        indicatorsfile.catalogues(tmp_path)
    assert caught.value.lines == ["b.yaml:3: version: indicators@2030 is already the version in a.yaml "
                                  "(a new version needs a new version number)"]


def test_a_folder_reports_the_problems_of_every_file(tmp_path):
    (tmp_path / "a.yaml").write_text(changed(("unit: percent", "unit: percentage")), encoding="utf-8")
    (tmp_path / "b.yaml").write_text("indicators: [", encoding="utf-8")
    with pytest.raises(IndicatorsFileError) as caught:
        indicatorsfile.catalogues(tmp_path)
    assert [line.split(":")[0] for line in caught.value.lines] == ["a.yaml", "b.yaml"]


def test_load_names_the_file(tmp_path):
    path = tmp_path / "indicators-2030.yaml"
    path.write_text(changed(("range: [0, 50]", "range: [0, 120]")), encoding="utf-8")
    with pytest.raises(IndicatorsFileError) as caught:
        indicatorsfile.load(path)
    assert caught.value.lines == [
        "indicators-2030.yaml:19: indicators[2].range: [0, 120] is not within 0 to 100 (a percent)"]
    assert isinstance(caught.value, ValueError) and str(caught.value) == caught.value.lines[0]
    with pytest.raises(IndicatorsFileError, match="missing.yaml: cannot be read"):
        indicatorsfile.load(tmp_path / "missing.yaml")


# -------------------------------------------------------------------------------------------------- validation


def test_a_good_file_reads_whole():
    catalogue = indicatorsfile.read("mine.yaml", GOOD)
    assert catalogue.ref == "indicators@2030" and catalogue.title["he"] == "מדדים"
    assert [i.key for i in catalogue.indicators] == ["math5_share", "math5_dropout", "math5_bagrut_mean",
                                                    "diagnostic_mastery", "coaching_cycles_closed",
                                                    "plc_meetings_held"]
    assert catalogue.get("math5_share") == indicatorsfile.Indicator(
        "math5_share", {"en": "Five units", "he": "חמש יחידות", "ar": "خمس وحدات"},
        {"en": "Students in it.", "he": "הלומדים בה.", "ar": "طلابها."}, "percent", "up", 0.0, 100.0, (10, 11, 12),
        "imported", "share", None)
    assert catalogue.get("diagnostic_mastery").grades == (7, 8, 9)  # in order, however written
    assert catalogue.get("diagnostic_mastery").computed == "diagnostic_mastery"
    assert isinstance(catalogue.get("math5_dropout").least, float)


@pytest.mark.parametrize("change", [
    ("    measure: share\n  - key: math5_dropout", "    measure: share\n    computed: null\n  - key: math5_dropout"),
    ("    unit: score\n", "    unit: percent\n"),  # a mean from 0 to 100 may be a percent
    ("range: [0, 100]\n    grades: [12]", "range: [0, 120]\n    grades: [12]"),  # a score is any range
    ('version: "2030"', "version: 2030"),
    ("range: [0, 500]", "range: [0.5, 499.5]"),
])
def test_what_is_allowed(change):
    assert len(indicatorsfile.read("mine.yaml", changed(change)).indicators) == 6


I1, I2, I3, I4, I5, I6 = (f"indicators[{n}]" for n in range(1, 7))


@pytest.mark.parametrize(("change", "problem"), [
    # unknown fields
    (("indicators:\n", "colour: red\nindicators:\n"),
     "mine.yaml:4: colour: unknown field (expected one of: key, version, title, indicators)"),
    (("    measure: share\n  - key: math5_dropout", "    measure: share\n    target: 20\n  - key: math5_dropout"),
     f"mine.yaml:14: {I1}.target: unknown field (expected one of: {ALLOWED})"),
    # the file
    (("key: indicators", "key: goals"), "mine.yaml:1: key: must be indicators, not 'goals'"),
    (("key: indicators\n", ""), "mine.yaml:1: key: is required: indicators"),
    (('version: "2030"\n', ""), 'mine.yaml:1: version: is required: text such as "2027"'),
    (('version: "2030"', "version: 2030.5"), 'mine.yaml:2: version: must be text such as "2027" (letters, digits, '
     "dots, hyphens; in quotes), not 2030.5"),
    (("title: {en: Indicators, he: מדדים, ar: مؤشّرات}\n", ""), "mine.yaml:1: title: is required"),
    # keys
    (("key: math5_share", "key: Math5"), f"mine.yaml:5: {I1}.key: must be {KEY_RULE}, not 'Math5'"),
    (("key: math5_share", "key: 5math"), f"mine.yaml:5: {I1}.key: must be {KEY_RULE}, not '5math'"),
    (("key: math5_share", "key: m"), f"mine.yaml:5: {I1}.key: must be {KEY_RULE}, not 'm'"),
    (("key: math5_share", "key: math5-share"), f"mine.yaml:5: {I1}.key: must be {KEY_RULE}, not 'math5-share'"),
    (("key: math5_share", "key: " + "m" * 41), f"mine.yaml:5: {I1}.key: must be {KEY_RULE}, not '{'m' * 36}..."),
    (("key: math5_share", "key: 12"), f"mine.yaml:5: {I1}.key: must be {KEY_RULE}, not 12"),
    (("  - key: math5_dropout\n    title:", "  - title:"), f"mine.yaml:14: {I2}.key: is required: {KEY_RULE}"),
    (("key: math5_dropout", "key: math5_share"),
     f"mine.yaml:14: {I2}.key: 'math5_share' is already the key of the indicator on line 5"),
    # texts
    (("{en: Five units, he: חמש יחידות, ar: خمس وحدات}", "{en: Five units, ar: خمس وحدات}"),
     f"mine.yaml:6: {I1}.title: missing he"),
    (("definition: {en: Students in it., he: הלומדים בה., ar: طلابها.}", "definition: Students in it."),
     f"mine.yaml:7: {I1}.definition: missing he, ar: write {{en: …, he: …, ar: …}} (a file in one language says "
     "`languages: [he]` at its top)"),
    (("    definition: {en: Who left., he: מי שעזבו., ar: من تركوا.}\n", ""), f"mine.yaml:14: {I2}.definition: "
     "is required"),
    (("ar: خمس وحدات}", "ar: ''}"), f"mine.yaml:6: {I1}.title.ar: must be non-empty text, not ''"),
    (("{en: Drop-out,", "{en: yes,"), f"mine.yaml:15: {I2}.title.en: must be non-empty text, not True"),
    (("ar: تسرّب}", "ar: تسرّب, fr: Abandon}"), f"mine.yaml:15: {I2}.title.fr: unknown language 'fr' (expected en, "
     "he or ar)"),
    # unit, direction, source, measure
    (("unit: percent", "unit: percentage"), f"mine.yaml:8: {I1}.unit: 'percentage' is not one of: percent, count, "
     "score"),
    (("    unit: percent\n", ""), f"mine.yaml:5: {I1}.unit: is required: one of: percent, count, score"),
    (("direction: down", "direction: lower"), f"mine.yaml:18: {I2}.direction: 'lower' is not one of: up, down"),
    (("    direction: down\n", ""), f"mine.yaml:14: {I2}.direction: is required: one of: up, down"),
    (("source: imported", "source: csv"), f"mine.yaml:12: {I1}.source: 'csv' is not one of: imported, computed"),
    (("measure: mean", "measure: median"), f"mine.yaml:31: {I3}.measure: 'median' is not one of: share, count, mean"),
    (("    measure: mean\n", ""), f"mine.yaml:23: {I3}.measure: is required: one of: share, count, mean"),
    # range
    (("range: [0, 100]", "range: 100"), f"mine.yaml:10: {I1}.range: must be {RANGE}, not 100"),
    (("range: [0, 100]", "range: [0, 50, 100]"), f"mine.yaml:10: {I1}.range: must be {RANGE}, not [0, 50, 100]"),
    (("range: [0, 100]", "range: {least: 0, most: 100}"),
     f"mine.yaml:10: {I1}.range: must be {RANGE}, not {{'least': 0, 'most': 100}}"),
    (("    range: [0, 100]\n", ""), f"mine.yaml:5: {I1}.range: is required: {RANGE}"),
    (("range: [0, 100]", "range: [0, lots]"), f"mine.yaml:10: {I1}.range[2]: must be a number, not 'lots'"),
    (("range: [0, 100]", "range: [no, 100]"), f"mine.yaml:10: {I1}.range[1]: must be a number, not False"),
    (("range: [0, 100]", "range: [0, .inf]"), f"mine.yaml:10: {I1}.range[2]: must be a number, not inf"),
    (("range: [0, 100]", "range: ['0', 100]"), f"mine.yaml:10: {I1}.range[1]: must be a number, not '0'"),
    (("range: [0, 50]", "range: [50, 50]"), f"mine.yaml:19: {I2}.range: the least (50) must be less than the most "
     "(50)"),
    (("range: [0, 50]", "range: [60, 50.5]"), f"mine.yaml:19: {I2}.range: the least (60) must be less than the most "
     "(50.5)"),
    # a percent is a share or a mean from 0 to 100
    (("range: [0, 50]", "range: [0, 120]"), f"mine.yaml:19: {I2}.range: [0, 120] is not within 0 to 100 (a percent)"),
    (("range: [0, 50]", "range: [-10, 50]"), f"mine.yaml:19: {I2}.range: [-10, 50] is not within 0 to 100 "
     "(a percent)"),
    (("range: [0, 50]", "range: [0, 100.5]"), f"mine.yaml:19: {I2}.range: [0, 100.5] is not within 0 to 100"),
    (("    unit: score\n    direction: up\n    range: [0, 100]", "    unit: percent\n    direction: up\n    range: "
      "[0, 120]"), f"mine.yaml:28: {I3}.range: [0, 120] is not within 0 to 100 (a percent)"),
    (("measure: share", "measure: count"), f"mine.yaml:13: {I1}.measure: a percent is a share or a mean, not a count "
     "(write measure: share, or unit: count)"),
    # a share is a percent
    (("unit: percent", "unit: score"), f"mine.yaml:8: {I1}.unit: a share is shown as a percent, not a score (write "
     "unit: percent)"),
    (("unit: percent", "unit: count"), f"mine.yaml:8: {I1}.unit: a share is shown as a percent, not a count"),
    # a count is a count of at least 0
    (("    unit: count\n    direction: up\n    range: [0, 500]", "    unit: score\n    direction: up\n    range: "
      "[0, 500]"), f"mine.yaml:45: {I5}.unit: a count is in unit count, not score (write unit: count)"),
    (("range: [0, 500]", "range: [-5, 500]"), f"mine.yaml:47: {I5}.range: [-5, 500] starts below 0 (a count is 0 or "
     "more)"),
    # grades
    (("grades: [10, 11]", "grades: []"), f"mine.yaml:20: {I2}.grades: {GRADES}, not []"),
    (("grades: [10, 11]", "grades: 10"), f"mine.yaml:20: {I2}.grades: {GRADES}, not 10"),
    (("    grades: [10, 11]\n", ""), f"mine.yaml:14: {I2}.grades: is required: a list of some of the grades 7 to 12"),
    (("grades: [10, 11]", "grades: [10, 13]"), f"mine.yaml:20: {I2}.grades[2]: 13 is not a grade from 7 to 12"),
    (("grades: [10, 11]", "grades: [6, 11]"), f"mine.yaml:20: {I2}.grades[1]: 6 is not a grade from 7 to 12"),
    (("grades: [10, 11]", "grades: ['10', 11]"), f"mine.yaml:20: {I2}.grades[1]: '10' is not a grade from 7 to 12"),
    (("grades: [10, 11]", "grades: [10, yes]"), f"mine.yaml:20: {I2}.grades[2]: True is not a grade from 7 to 12"),
    (("grades: [10, 11]", "grades: [10, 10.5]"), f"mine.yaml:20: {I2}.grades[2]: 10.5 is not a grade from 7 to 12"),
    (("grades: [10, 11]", "grades: [11, 10, 11]"), f"mine.yaml:20: {I2}.grades[3]: 11 is listed twice"),
    (("grades: [10, 11]", "grades:\n      - 10\n      - 11\n      - 14"),
     f"mine.yaml:23: {I2}.grades[3]: 14 is not a grade from 7 to 12"),
    # computed
    (("    computed: coaching_cycles_closed\n", ""),
     f"mine.yaml:42: {I5}.computed: is required for source: computed: one of: {COMPUTED}"),
    (("computed: plc_meetings_held", "computed: attendance"),
     f"mine.yaml:61: {I6}.computed: 'attendance' is not one of: {COMPUTED}"),
    (("    measure: share\n  - key: math5_dropout",
      "    measure: share\n    computed: diagnostic_mastery\n  - key: math5_dropout"),
     f"mine.yaml:14: {I1}.computed: is only for source: computed (leave it out of an imported indicator)"),
    (("computed: plc_meetings_held", "computed: coaching_cycles_closed"),
     f"mine.yaml:61: {I6}.computed: 'coaching_cycles_closed' is already computed by the indicator on line 51"),
    (("    measure: share\n    computed: diagnostic_mastery", "    measure: mean\n    computed: diagnostic_mastery"),
     f"mine.yaml:40: {I4}.measure: diagnostic_mastery is computed as a share, not a mean"),
    # YAML
    (("title: {en: Indicators", "title: {en: Indicators, en: Again"),
     "mine.yaml:3: malformed YAML: duplicate key 'en' (first on line 3)"),
])
def test_each_problem_names_file_line_and_field(change, problem):
    lines = problems(changed(change))
    assert lines == [problem] or (len(lines) == 1 and lines[0].startswith(problem)), lines


def test_the_number_of_indicators():
    last = GOOD.index("  - key: plc_meetings_held")
    assert problems(GOOD[:last]) == ["mine.yaml:4: indicators: has 5 indicators; write 6 to 40"]
    forty = GOOD + "".join(one_indicator(f"extra{n}_share") for n in range(34))
    assert len(indicatorsfile.read("mine.yaml", forty).indicators) == 40
    assert problems(forty + one_indicator("more_share")) == [
        "mine.yaml:4: indicators: has 41 indicators; write 6 to 40"]
    assert problems(changed(("indicators:\n", "indicators: []\nold:\n"))) == [
        "mine.yaml:5: old: unknown field (expected one of: key, version, title, indicators)",
        "mine.yaml:4: indicators: has 0 indicators; write 6 to 40"]


def test_every_problem_is_reported_at_once():
    lines = problems(changed(("he: מדדים, ", ""), ("unit: percent", "unit: percentage"),
                             ("range: [0, 50]", "range: [0, 120]"), ("grades: [12]", "grades: [12, 13]"),
                             ("computed: plc_meetings_held", "computed: ~")))
    assert lines == [
        "mine.yaml:3: title: missing he",
        f"mine.yaml:8: {I1}.unit: 'percentage' is not one of: percent, count, score",
        f"mine.yaml:19: {I2}.range: [0, 120] is not within 0 to 100 (a percent)",
        f"mine.yaml:29: {I3}.grades[2]: 13 is not a grade from 7 to 12",
        f"mine.yaml:61: {I6}.computed: is required for source: computed: one of: {COMPUTED}",
    ]


# ------------------------------------------------------------------------------------------- YAML hazards, garbage


@pytest.mark.parametrize(("text", "says"), [
    ("key: &a indicators\nversion: *a\n", "mine.yaml:1: malformed YAML: anchors (&name) and aliases (*name) are not "
     "allowed (column 6)"),
    (GOOD.replace("    grades: [10, 11, 12]", "    grades: &g [10, 11, 12]", 1)
     .replace("    grades: [10, 11]", "    grades: *g", 1), "mine.yaml:11: malformed YAML: anchors (&name) and "
     "aliases (*name) are not allowed"),
    ("key: !!python/object/apply:os.system [ls]\n", "mine.yaml:1: malformed YAML: the tag "
     "'!!python/object/apply:os.system' is not allowed (a bank holds only text, numbers, lists and mappings)"),
    (GOOD.replace("range: [0, 100]", "range: !!python/tuple [0, 100]", 1), "mine.yaml:10: malformed YAML: the tag "
     "'!!python/tuple' is not allowed"),
    ("key: !custom x\n", "mine.yaml:1: malformed YAML: the tag '!custom' is not allowed"),
    (GOOD + "---\nkey: indicators\n", "mine.yaml:62: malformed YAML"),
    ("", "mine.yaml: the file is empty"),
    ("# only a comment\n", "mine.yaml: the file is empty"),
    (b"key: \xff\xfe\n", "mine.yaml: not UTF-8 text"),
    ("indicators: [\n", "mine.yaml:2: malformed YAML"),
    ("key: indicators\n  version: 1\n", "mine.yaml:2: malformed YAML"),
    ("- a\n- b\n", "mine.yaml:1: the file must be a mapping (key, version, title, indicators), not ['a', 'b']"),
    ("42\n", "mine.yaml: the file must be a mapping"),
    ("key: indicators\nindicators: {a: 1}\n", "mine.yaml:2: indicators: must be a list of 6 to 40 indicators, "
     "not {'a': 1}"),
    ("key: indicators\nindicators: [a_share]\n", f"mine.yaml:2: indicators[1]: must be a mapping ({ALLOWED})"),
    ("key: indicators\nindicators: [[1], ~]\n", "mine.yaml:2: indicators[2]: must be a mapping"),
    ("key: indicators\ntitle: [a, b]\n", "mine.yaml:2: title: must be text or a language map"),
    ("key: [indicators]\n", "mine.yaml:1: key: must be indicators, not ['indicators']"),
    ("{[a]: 1}\n", "mine.yaml:1: malformed YAML"),
])
def test_hazards_and_garbage_get_a_clear_error_not_a_crash(text, says):
    lines = problems(text)
    assert any(line.startswith(says) for line in lines), lines


def test_no_damage_to_a_file_crashes_the_reader():
    """Every line removed, and every value replaced by a list, a mapping, nothing, a boolean or a string: the file
    reads or is refused with IndicatorsFileError, each line of it naming the file."""
    lines = GOOD.splitlines(keepends=True)
    variants = []
    for n, line in enumerate(lines):
        variants.append("".join(lines[:n] + lines[n + 1:]))
        head, colon, _ = line.partition(": ")
        if colon:
            for value in ("[1, 2]", "{a: 1}", "~", "yes", "text", "[]", "-1"):
                variants.append("".join(lines[:n] + [f"{head}: {value}\n"] + lines[n + 1:]))
    for text in variants:
        try:
            indicatorsfile.read("mine.yaml", text)
        except IndicatorsFileError as exc:
            assert exc.lines and all(line.startswith("mine.yaml") for line in exc.lines), exc.lines
