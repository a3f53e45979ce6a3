"""app.goals.valuescsv in detail: every encoding case, every header case, and every row-level message exactly as a
school administrator reads it. (tests/unit/test_goals_valuescsv.py is the shorter tour.)"""

from __future__ import annotations

import pytest

from app.goals.valuescsv import MAX_BYTES, IndicatorSpec, Parsed, ValueRow, ValuesCsvError, decode, parse

SPECS = {
    "math5_share": IndicatorSpec("math5_share", "share", 0, 100, (10, 11, 12)),
    "pass_share": IndicatorSpec("pass_share", "share", 50, 100, (7, 8, 9)),
    "bagrut_mean": IndicatorSpec("bagrut_mean", "mean", 0, 100, (12,)),
    "labs": IndicatorSpec("labs", "count", 0, 50, (10, 11, 12)),
}
SCHOOLS = {"480012": 1, "480013": 2}
HEADER = "school,year,term,grade,indicator,count,students,value\n"
GOOD = (HEADER
        + "480012,2027,1,10,math5_share,6,30,\n"
        + "480012,2027,1,12,bagrut_mean,,25,87.5\n"
        + "480013,2027,1,11,labs,,,4\n")
EXPECTED = [
    ValueRow(2, 1, 2027, 1, 10, "math5_share", 6.0, 30, 20.0),
    ValueRow(3, 1, 2027, 1, 12, "bagrut_mean", 87.5 * 25, 25, 87.5),
    ValueRow(4, 2, 2027, 1, 11, "labs", 4.0, None, 4.0),
]
HEBREW = ("סמל מוסד;שנת לימודים;מחצית;שכבה;מדד;מספר;תלמידים;ערך\r\n"
          "480012;2027;2;י;math5_share;6;30;\r\n"
          "480012;2027;2;י\"א;math5_share;5;25;\r\n"
          "480012;2027;2;יב׳;bagrut_mean;;25;87,5\r\n"
          "480012;2027;2;ז;pass_share;15;20;\r\n"
          "480012;2027;2;ח';pass_share;16;20;\r\n"
          "480012;2027;2;ט׳;pass_share;17;20;\r\n"
          "480013;2027;2;י״ב;labs;;;3\r\n")


def read(data: bytes, **kw) -> Parsed:
    return parse(data, indicators=SPECS, schools=SCHOOLS.get, **kw)


def problems(data: bytes | str, **kw) -> list[str]:
    with pytest.raises(ValuesCsvError) as refused:
        read(data.encode() if isinstance(data, str) else data, **kw)
    assert str(refused.value) == "; ".join(refused.value.problems)
    return refused.value.problems


def rows(*lines: str) -> str:
    return HEADER + "".join(line + "\n" for line in lines)


# ------------------------------------------------------------------------------------------------------ good files


def test_a_good_utf8_file():
    parsed = read(GOOD.encode())
    assert (parsed.encoding, parsed.delimiter) == ("utf-8", ",")
    assert parsed.rows == EXPECTED


def test_the_same_in_windows_1255_with_hebrew_headers_grade_letters_and_semicolons():
    parsed = read(HEBREW.encode("cp1255"))
    assert (parsed.encoding, parsed.delimiter) == ("windows-1255", ";")
    assert [r.grade for r in parsed.rows] == [10, 11, 12, 7, 8, 9, 12]
    assert [r.line for r in parsed.rows] == [2, 3, 4, 5, 6, 7, 8]
    assert parsed.rows[2].value == 87.5 and parsed.rows[2].numerator == pytest.approx(87.5 * 25)  # a decimal comma
    assert parsed.rows[1].value == 20.0 and parsed.rows[1].numerator == 5.0
    assert parsed.rows[-1] == ValueRow(8, 2, 2027, 2, 12, "labs", 3.0, None, 3.0)
    assert read(HEBREW.encode("cp1255"), encoding="windows-1255").rows == parsed.rows
    assert read(HEBREW.encode(), encoding="auto").encoding == "utf-8"


def test_a_byte_order_mark_tabs_and_semicolons():
    assert read(b"\xef\xbb\xbf" + GOOD.encode()).rows == EXPECTED
    assert read(b"\xef\xbb\xbf" + GOOD.encode(), encoding="utf-8").rows == EXPECTED
    tabbed = read(GOOD.replace(",", "\t").encode())
    assert tabbed.delimiter == "\t" and tabbed.rows == EXPECTED
    semi = read(GOOD.replace(",", ";").encode())
    assert semi.delimiter == ";" and semi.rows == EXPECTED


def test_headers_in_any_case_spaced_quoted_or_with_direction_marks_and_columns_in_any_order():
    text = (' School , "YEAR",Term,\u200fשכבה\u200f,Indicator,Students,Count\n'
            "480012,2027,1,10,math5_share,30,6\n")
    assert read(text.encode()).rows == [EXPECTED[0]]


def test_the_measure_decides_the_columns_needed():
    only_counts = "school,year,term,grade,indicator,count\n480013,2027,1,11,labs,4\n"
    assert read(only_counts.encode()).rows == [ValueRow(2, 2, 2027, 1, 11, "labs", 4.0, None, 4.0)]
    only_share = "school,year,term,grade,indicator,count,students\n480012,2027,1,10,math5_share,6,30\n"
    assert read(only_share.encode()).rows == [EXPECTED[0]]


def test_empty_rows_and_rows_of_empty_cells_are_skipped_and_rows_are_counted_without_them():
    text = HEADER + "\n,,,,,,,\n" + "480012,2027,1,10,math5_share,6,30,\n" + "\n" + "480012,2027,1,10,labs,,,x\n"
    assert problems(text) == ["row 2 (line 6): value: 'x' is not a whole number"]
    assert [r.line for r in read((HEADER + "\n480012,2027,1,10,math5_share,6,30,\n\n").encode()).rows] == [3]


def test_numbers_spreadsheets_write():
    parsed = read(rows("480012,2027,1,10,math5_share,6.0,30,", "480012,2027,1,12,bagrut_mean,,25.0,90").encode())
    assert [(r.numerator, r.students, r.value) for r in parsed.rows] == [(6.0, 30, 20.0), (2250.0, 25, 90.0)]
    assert read(rows("480012,2027,1,10,math5_share,0,30,").encode()).rows[0].value == 0.0
    assert read(rows("480013,2027,1,11,labs,4,,4").encode()).rows[0].value == 4.0  # value and count agree


# ------------------------------------------------------------------------------------------------------ encodings


def test_auto_detection():
    assert decode(GOOD.encode()) == (GOOD, "utf-8")
    assert decode(HEBREW.encode("cp1255")) == (HEBREW, "windows-1255")
    assert decode(b"\xef\xbb\xbfabc") == ("abc", "utf-8")
    assert decode("שלום".encode("cp1255"), "WINDOWS-1255") == ("שלום", "windows-1255")
    assert decode(b"abc", "utf8") == ("abc", "utf-8")


def test_utf16_is_refused_naming_utf16():
    message = ("The file is UTF-16 text; save it from the spreadsheet as 'CSV UTF-8' and import it again.")
    assert problems(GOOD.encode("utf-16")) == [message]  # with its byte order mark
    assert problems(GOOD.encode("utf-16-be")) == [message]  # without one: half the bytes are 0
    assert problems(HEBREW.encode("utf-16-le")) == [message]
    assert problems(GOOD.encode("utf-16"), encoding="utf-8") == [message]


def test_bytes_that_are_neither_utf8_nor_hebrew_windows_1255_are_refused_in_auto_mode():
    neither = ["The file is neither UTF-8 nor Windows-1255 text; save it from the spreadsheet as 'CSV UTF-8' and "
               "import it again."]
    # 0xFF (ÿ in Latin-1) is not a character in Windows-1255 at all.
    assert problems("school,year\nNaïve ÿ,2027\n".encode("latin-1")) == neither
    # É and Ã are Hebrew points in Windows-1255, not letters: it decodes, but is not Hebrew text.
    assert problems("school,year\nÉcole Ã,2027\n".encode("latin-1")) == neither


def test_an_explicit_encoding_names_the_line_of_the_first_bad_byte():
    assert problems(HEBREW.encode("cp1255"), encoding="utf-8") == [
        "The file is not UTF-8: line 1 has a byte that UTF-8 does not allow."]
    later = (GOOD + "480013,2027,1,10,labs,,,5\n").encode() + "# שלום\n".encode("cp1255")
    assert problems(later, encoding="utf-8") == ["The file is not UTF-8: line 6 has a byte that UTF-8 does not allow."]
    assert problems(GOOD.encode() + b"\x81\n", encoding="windows-1255") == [
        "The file is not Windows-1255: line 5 has a byte that Windows-1255 does not allow."]
    assert problems(b"\xef\xbb\xbf" + GOOD.encode(), encoding="windows-1255") == [
        "The file is marked as UTF-8 (it starts with a byte order mark), not Windows-1255: choose UTF-8 or automatic "
        "and import it again."]
    assert problems(GOOD.encode(), encoding="latin-1") == [
        "Unknown encoding 'latin-1': choose automatic, UTF-8 or Windows-1255."]


def test_windows_1255_chosen_reads_a_file_without_hebrew_letters():
    assert read(GOOD.encode(), encoding="windows-1255").rows == EXPECTED


# ------------------------------------------------------------------------------------------------------ columns


def test_missing_columns_are_listed_together_with_the_columns_found():
    assert problems(b"school,year,grade\n480012,2027,10\n") == [
        "Columns missing: term, indicator (the file has: school, year, grade)."]
    assert problems("school,year,term,grade,indicator\n480012,2027,1,10,math5_share\n480012,2027,1,12,bagrut_mean\n"
                    "480013,2027,1,11,labs\n") == [
        "Columns missing: count, students, value (the file has: school, year, term, grade, indicator). A share "
        "(math5_share) needs count and students. A mean (bagrut_mean) needs value and students. A count (labs) needs "
        "value (or count)."]
    assert problems("school,year,grade,indicator,value\n480012,2027,10,math5_share,5\n") == [
        "Columns missing: term, count, students (the file has: school, year, grade, indicator, value). A share "
        "(math5_share) needs count and students."]


def test_unknown_and_repeated_columns_are_named_with_the_missing_ones():
    typo = "school,year,term,grade,indicator,count,studnets,value\n480012,2027,1,10,math5_share,6,30,\n"
    assert problems(typo) == [
        "Columns missing: students (the file has: school, year, term, grade, indicator, count, studnets, value). A "
        "share (math5_share) needs count and students.",
        "Unknown columns: studnets (known: school, year, term, grade, indicator, count, students, value, or their "
        "Hebrew names)"]
    assert problems(GOOD.replace("value", "value,colour,notes").replace("\n4", "\n4,,").replace(",\n", ",,,\n")) == [
        "Unknown columns: colour, notes (known: school, year, term, grade, indicator, count, students, value, or their "
        "Hebrew names)"]
    assert problems("school,year,שנה,term,grade,indicator\n") == ["Columns given twice: year"]


def test_a_value_under_a_column_with_no_name_is_not_ignored():
    assert read((HEADER.replace("\n", ",\n") + "480012,2027,1,10,math5_share,6,30,,\n").encode()).rows == [EXPECTED[0]]
    assert problems(HEADER.replace("\n", ",\n") + "480012,2027,1,10,math5_share,6,30,,note\n") == [
        "row 1 (line 2): column 9 ('note') has a value but no column name"]


def test_files_without_rows():
    assert problems(b"") == ["The file is empty."]
    assert problems(b"\n \r\n\t\n") == ["The file is empty."]
    assert problems(HEADER + "\n,,,,,,,\n") == ["The file has no rows of values under its header."]


# ------------------------------------------------------------------------------------------------------ rows


@pytest.mark.parametrize(("line", "message"), [
    ("999999,2027,1,10,math5_share,6,30,", "school: '999999' is not the code of a school taking part"),
    (",2027,1,10,math5_share,6,30,", "school: the cell is empty; give the school's code (סמל מוסד)"),
    ("480012,2041,1,10,math5_share,6,30,", "year: '2041' is not a school year from 2015 to 2040"),
    ("480012,2026-27,1,10,math5_share,6,30,", "year: '2026-27' is not a school year from 2015 to 2040"),
    ("480012,,1,10,math5_share,6,30,",
     "year: the cell is empty; give the year the school year ends, from 2015 to 2040"),
    ("480012,2027,0,10,math5_share,6,30,", "term: '0' is not 1, 2 or 3"),
    ("480012,2027,א,10,math5_share,6,30,", "term: 'א' is not 1, 2 or 3"),
    ("480012,2027,,10,math5_share,6,30,", "term: the cell is empty; give 1, 2 or 3"),
    ("480012,2027,1,יג,math5_share,6,30,", "grade: 'יג' is not a grade from 7 to 12"),
    ("480012,2027,1,6,math5_share,6,30,", "grade: '6' is not a grade from 7 to 12"),
    ("480012,2027,1,,math5_share,6,30,", "grade: the cell is empty; give a grade from 7 to 12"),
    ("480012,2027,1,ט,math5_share,6,30,", "grade: math5_share is not given for grade 9"),
    ("480012,2027,1,10,math_share,6,30,", "indicator: 'math_share' is not an indicator that is imported"),
    ("480012,2027,1,10,,6,30,", "indicator: the cell is empty; give the indicator's key"),
    ("480012,2027,1,10,math5_share,6,0,",
     "count, students: 6 of 0 students is not possible (students 1 to 2000, count at most the students)"),
    ("480012,2027,1,10,math5_share,6,2001,",
     "count, students: 6 of 2001 students is not possible (students 1 to 2000, count at most the students)"),
    ("480012,2027,1,10,math5_share,six,30,", "count: 'six' is not a whole number"),
    ("480012,2027,1,10,math5_share,-1,30,", "count: '-1' is not a whole number"),
    ("480012,2027,1,10,math5_share,\"1,234\",2000,", "count: '1,234' is not a whole number"),
    ("480012,2027,1,10,math5_share,6,,",
     "students: the cell is empty; math5_share is a share: give the count of students it counts and the students it "
     "is out of"),
    ("480012,2027,1,7,pass_share,1,3,",
     "count, students: 1 of 3 is 33.33%, which is outside pass_share's range, 50 to 100"),
    ("480012,2027,1,12,bagrut_mean,,25,",
     "value: the cell is empty; bagrut_mean is a mean: give the mean and the students it is over"),
    ("480012,2027,1,12,bagrut_mean,,25,abc", "value: 'abc' is not a number"),
    ("480012,2027,1,12,bagrut_mean,,25,\"87,5\"", "value: '87,5' is not a number (write a decimal with a point: 87.5)"),
    ("480012,2027,1,12,bagrut_mean,,25,100.5", "value: 100.5 is outside bagrut_mean's range, 0 to 100"),
    ("480012,2027,1,12,bagrut_mean,,25,-3", "value: -3 is outside bagrut_mean's range, 0 to 100"),
    ("480012,2027,1,12,bagrut_mean,,,80",
     "students: the cell is empty; bagrut_mean is a mean: give the number of students it is the mean of"),
    ("480012,2027,1,12,bagrut_mean,,0,80", "students: 0 is not a number of students from 1 to 2000"),
    ("480013,2027,1,11,labs,,,", "value: the cell is empty; labs is a count: give a whole number of 0 or more"),
    ("480013,2027,1,11,labs,,,4.5", "value: '4.5' is not a whole number"),
    ("480013,2027,1,11,labs,,,-2", "value: -2 is below 0: a count is 0 or more"),
    ("480013,2027,1,11,labs,,,51", "value: 51 is outside labs's range, 0 to 50"),
    ("480013,2027,1,11,labs,5,,4", "value, count: 4 and 5 differ; give the number once, as value"),
    ("480013,2027,1,11,labs,,", "7 cells where the header has 8"),
    ("480013,2027,1,11,labs,,,4,", "9 cells where the header has 8"),
])
def test_each_row_level_problem_is_named_exactly(line, message):
    assert problems(rows("480012,2027,1,10,math5_share,6,30,", line)) == [f"row 2 (line 3): {message}"]


def test_a_decimal_comma_is_a_thousands_separator_nowhere():
    text = GOOD.replace(",", ";")
    assert read(text.replace("87.5", "87,5").encode()).rows[1].value == 87.5
    assert problems(text.replace(";6;30;", ";1,234;2000;")) == ["row 1 (line 2): count: '1,234' is not a whole number"]


def test_an_unclosed_quotation_mark_is_named():
    assert problems(rows('480012,2027,1,10,"math5_share,6,30,', "480013,2027,1,11,labs,,,4")) == [
        "row 1 (line 2): a quotation mark (\") opens a cell that runs on to line 3; close it or remove it"]
    assert problems(HEADER + '480012,"' + "x" * 200_000 + "\n") == [
        "line 2: a quotation mark (\") opens a cell that is never closed, so the rest of the file reads as one cell."]


def test_duplicates_name_both_rows():
    text = rows("480012,2027,1,10,math5_share,6,30,", "480013,2027,1,11,labs,,,4",
                "480012,2027,1,י,math5_share,7,30,", "480012,2027,2,10,math5_share,7,30,")
    assert problems(text) == ["row 3 (line 4): the same school, year, term, grade and indicator as row 1"]


def test_many_problems_are_all_listed_in_order_and_nothing_is_returned():
    text = rows("999999,1999,4,13,nope,,,",
                "480012,2027,1,10,math5_share,6,30,",
                "480012,2027,1,12,bagrut_mean,,0,140",
                "480013,2027,1,10,labs,,,x",
                "480013,2027,1")
    assert problems(text) == [
        "row 1 (line 2): school: '999999' is not the code of a school taking part",
        "row 1 (line 2): year: '1999' is not a school year from 2015 to 2040",
        "row 1 (line 2): term: '4' is not 1, 2 or 3",
        "row 1 (line 2): indicator: 'nope' is not an indicator that is imported",
        "row 1 (line 2): grade: '13' is not a grade from 7 to 12",
        "row 3 (line 4): students: 0 is not a number of students from 1 to 2000",
        "row 3 (line 4): value: 140 is outside bagrut_mean's range, 0 to 100",
        "row 4 (line 5): value: 'x' is not a whole number",
        "row 5 (line 6): 3 cells where the header has 8",
    ]


def test_the_year_range_is_the_callers():
    assert read(rows("480012,2014,1,10,math5_share,6,30,").encode(), year_range=(2010, 2030)).rows[0].year == 2014
    assert problems(rows("480012,2031,1,10,math5_share,6,30,"), year_range=(2010, 2030)) == [
        "row 1 (line 2): year: '2031' is not a school year from 2010 to 2030"]


# ------------------------------------------------------------------------------------------------------ caps


def test_a_file_over_5_mb_is_refused_before_it_is_read():
    assert problems(b"\xff" * (MAX_BYTES + 1)) == ["The file is larger than 5 MB."]
    assert MAX_BYTES == 5 * 1024 * 1024


def test_at_most_20000_rows():
    row = "480012,2027,1,10,math5_share,1,2,\n"
    assert len(read((HEADER + row + "\n" * 5).encode()).rows) == 1
    assert problems(HEADER + row * 20_001) == ["The file has 20,001 rows; import at most 20,000 at a time."]
    many = problems(HEADER + row * 20_000)  # not refused for its size: for the duplicates
    assert len(many) == 201 and many[0] == "row 2 (line 3): the same school, year, term, grade and indicator as row 1"


def test_at_most_200_problems_are_listed_then_how_many_more():
    listed = problems(HEADER + "1,2027,1,10,math5_share,1,2,\n" * 300)
    assert len(listed) == 201
    assert listed[199] == "row 200 (line 201): school: '1' is not the code of a school taking part"
    assert listed[-1] == "…and 100 more problems"
    with pytest.raises(ValuesCsvError) as refused:
        read((HEADER + "1,2027,1,10,math5_share,1,2,\n" * 300).encode())
    assert isinstance(refused.value, ValueError)
