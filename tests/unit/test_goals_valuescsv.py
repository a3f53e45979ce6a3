"""Reading a school system's CSV of indicator values (app.goals.valuescsv): encodings, delimiters, Hebrew headers and
grade letters, and every bad row named, all or nothing."""

from __future__ import annotations

import pytest

from app.goals.valuescsv import IndicatorSpec, ValuesCsvError, parse

SPECS = {
    "math5_share": IndicatorSpec("math5_share", "share", 0, 100, (10, 11, 12)),
    "math5_bagrut_mean": IndicatorSpec("math5_bagrut_mean", "mean", 0, 100, (12,)),
    "labs": IndicatorSpec("labs", "count", 0, 50, (10, 11, 12)),
}
SCHOOLS = {"480012": 1, "480013": 2}


def read(data: bytes, **kw):
    return parse(data, indicators=SPECS, schools=SCHOOLS.get, **kw)


def problems(data: bytes, **kw) -> list[str]:
    with pytest.raises(ValuesCsvError) as refused:
        read(data, **kw)
    return refused.value.problems


GOOD = ("school,year,term,grade,indicator,count,students,value\n"
        "480012,2027,1,10,math5_share,6,30,\n"
        "480012,2027,1,12,math5_bagrut_mean,,25,87.5\n"
        "480013,2027,1,11,labs,,,4\n")


def test_a_good_file_in_utf8():
    parsed = read(GOOD.encode())
    assert parsed.encoding == "utf-8" and parsed.delimiter == ","
    share, mean, count = parsed.rows
    assert (share.school_id, share.grade, share.numerator, share.students, share.line) == (1, 10, 6, 30, 2)
    assert share.value == pytest.approx(20.0)
    assert mean.numerator == pytest.approx(87.5 * 25) and mean.value == 87.5
    assert (count.value, count.students, count.school_id) == (4, None, 2)
    assert read(b"\xef\xbb\xbf" + GOOD.encode()).rows == parsed.rows  # a byte order mark


def test_windows_1255_with_hebrew_headers_grade_letters_and_semicolons():
    text = ("סמל מוסד;שנה;מחצית;שכבה;מדד;מספר;תלמידים;ערך\n"
            "480012;2027;2;י;math5_share;6;30;\n"
            "480012;2027;2;י\"א;math5_share;5;28;\n"
            "480012;2027;2;יב׳;math5_bagrut_mean;;25;87,5\n")
    parsed = read(text.encode("cp1255"))
    assert parsed.encoding == "windows-1255" and parsed.delimiter == ";"
    assert [r.grade for r in parsed.rows] == [10, 11, 12]
    assert parsed.rows[2].value == 87.5  # a decimal comma, where the delimiter is not a comma
    assert read(text.replace(";", "\t").encode("utf-8")).delimiter == "\t"


def test_encodings_that_are_refused():
    assert "UTF-16" in problems(GOOD.encode("utf-16"))[0]
    # Latin-1 accents are bytes Windows-1255 reads as Hebrew points, not letters: neither encoding fits.
    assert "neither UTF-8 nor Windows-1255" in problems("school,year\nÉcole Ã,2027\n".encode("latin-1"))[0]
    assert problems(("school,year\n480012,2027\n" + "שלום\n").encode("cp1255"), encoding="utf-8")[0] == (
        "The file is not UTF-8: line 3 has a byte that UTF-8 does not allow.")


def test_columns_missing_unknown_or_repeated():
    found = problems(b"school,year,grade\n480012,2027,10\n")
    assert found[0].startswith("Columns missing: term, indicator")
    assert "Unknown columns: colour" in problems(GOOD.replace("value", "value,colour").encode())[0]
    assert "Columns given twice: year" in problems(b"school,year,year,term,grade,indicator\n")[-1]
    assert problems(b"school,year,term,grade,indicator,count,students\n\n\n") == [
        "The file has no rows of values under its header."]


def test_every_bad_row_is_named_and_nothing_is_returned():
    text = ("school,year,term,grade,indicator,count,students,value\n"
            "999999,2027,1,10,math5_share,6,30,\n"          # row 1: unknown school
            "480012,1999,4,13,math5_share,6,30,\n"          # row 2: year, term, grade
            "480012,2027,1,10,math5_share,31,30,\n"         # row 3: more in the track than students
            "480012,2027,1,10,nope,1,2,\n"                  # row 4: unknown indicator
            "480012,2027,1,10,math5_bagrut_mean,,25,80\n"   # row 5: a grade the indicator is not given for
            "480012,2027,1,12,math5_bagrut_mean,,25,140\n"  # row 6: outside the range
            "480013,2027,1,11,labs,,,x\n"                   # row 7: not a number
            "480013,2027,1,11,labs,,,4\n"
            "480013,2027,1,11,labs,,,5\n"                   # row 9: the same cell as row 8
            "480013,2027,1\n")                              # row 10: too few cells
    found = problems(text.encode())
    assert found == [
        "row 1 (line 2): school: '999999' is not the code of a school taking part",
        "row 2 (line 3): year: '1999' is not a school year from 2015 to 2040",
        "row 2 (line 3): term: '4' is not 1, 2 or 3",
        "row 2 (line 3): grade: '13' is not a grade from 7 to 12",
        "row 3 (line 4): count, students: 31 of 30 students is not possible (students 1 to 2000, count at most the "
        "students)",
        "row 4 (line 5): indicator: 'nope' is not an indicator that is imported",
        "row 5 (line 6): grade: math5_bagrut_mean is not given for grade 10",
        "row 6 (line 7): value: 140 is outside math5_bagrut_mean's range, 0 to 100",
        "row 7 (line 8): value: 'x' is not a whole number",
        "row 9 (line 10): the same school, year, term, grade and indicator as row 8",
        "row 10 (line 11): 3 cells where the header has 8",
    ]


def test_limits():
    assert problems(b"x" * (5 * 1024 * 1024 + 1)) == ["The file is larger than 5 MB."]
    many = "school,year,term,grade,indicator,count,students\n" + "480012,2027,1,10,math5_share,1,2\n" * 20_001
    assert "import at most 20,000" in problems(many.encode())[0]
    bad = "school,year,term,grade,indicator,count,students\n" + "1,2027,1,10,math5_share,1,2\n" * 300
    listed = problems(bad.encode())
    assert len(listed) == 201 and listed[-1] == "…and 100 more problems"
