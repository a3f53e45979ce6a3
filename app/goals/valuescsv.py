"""Reading indicator values from a school system's CSV file, all or nothing (stdlib only, no database).

    school,year,term,grade,indicator,count,students,value
    480012,2027,1,10,math5_share,6,30,
    480012,2027,1,12,math5_bagrut_mean,,25,87.5
    480012,2027,1,11,labs,,,4

Which of `count`, `students` and `value` a row needs follows its indicator's measure: a share gives `count` and
`students` (whole numbers, count at most the students; its value is the percent), a mean gives `value` and the
`students` it is over, a count gives `value` (or `count`), a whole number of 0 or more. A column one of the file's
indicators needs is required; a column that is not known is refused, so a misspelt header is never ignored.

The bytes are UTF-8 (with or without a byte order mark) or Windows-1255 (Hebrew Excel's "CSV"), recognised or chosen;
the delimiter a comma, a semicolon or a tab, read from the header. Headers are English or Hebrew (סמל מוסד, שנה,
מחצית, שכבה, מדד, מספר, תלמידים, ערך), any case; a year is the year the school year ends (2027 for 2026-27); a grade
is a number from 7 to 12 or its Hebrew letters (ז … י"ב, with or without geresh and gershayim). Every problem is
collected and named by its data row (counting from 1, empty rows skipped) and its line in the file:

    row 7 (line 8): grade: 'יג' is not a grade from 7 to 12

If there is any, nothing is returned: `ValuesCsvError.problems` lists them (at most 200, then how many more).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
MAX_LISTED = 200
MAX_STUDENTS = 2000
ENCODINGS = ("auto", "utf-8", "windows-1255")
_ENCODING_NAMES = {"auto": "auto", "automatic": "auto", "utf-8": "utf-8", "utf8": "utf-8", "utf-8-sig": "utf-8",
                   "windows-1255": "windows-1255", "cp1255": "windows-1255", "windows1255": "windows-1255"}
DELIMITERS = (",", ";", "\t")

HEADERS = {
    "school": ("school", "school code", "code", "סמל מוסד", "סמל", "סמל בית ספר", "סמל בית הספר"),
    "year": ("year", "school year", "שנה", "שנת לימודים"),
    "term": ("term", "מחצית", "תקופה"),
    "grade": ("grade", "שכבה", "כיתה"),
    "indicator": ("indicator", "מדד"),
    "count": ("count", "numerator", "מספר", "מונה"),
    "students": ("students", "תלמידים", "מספר תלמידים"),
    "value": ("value", "ערך"),
}
REQUIRED = ("school", "year", "term", "grade", "indicator")
#: The columns a row of each measure needs (a count may give its number as `count` instead of `value`).
NEEDS = {"share": ("count", "students"), "mean": ("value", "students"), "count": ("value",)}
GRADE_LETTERS = {"ז": 7, "ח": 8, "ט": 9, "י": 10, "יא": 11, "יב": 12}
GRADES = range(7, 13)

_HEBREW_LETTER = re.compile("[\u05d0-\u05ea]")
#: Direction marks and the byte order mark, which spreadsheets leave around Hebrew cells; invisible, never meant.
_INVISIBLE = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_GERESH = re.compile("[\"'\u05f3\u05f4\u2019\u201d]")
_WHOLE = re.compile(r"\d{1,9}(?:\.0+)?")
_NUMBER = re.compile(r"-?\d{1,9}(?:\.\d{1,6})?")


@dataclass(frozen=True)
class IndicatorSpec:
    """What the reader needs to know of an indicator (app.goals.indicatorsfile.Indicator has more)."""

    key: str
    measure: str  # share | count | mean
    least: float  # the least and the most a value may be, both allowed
    most: float
    grades: tuple[int, ...]  # the grades a value is given for


@dataclass(frozen=True)
class ValueRow:
    line: int  # the line of the file the row starts on
    school_id: int
    year: int  # the year the school year ends
    term: int  # 1, 2 or 3
    grade: int  # 7 to 12
    indicator: str
    numerator: float | None  # share: the count; mean: value × students; count: the value
    students: int | None  # share and mean; None for a count
    value: float  # share: the percent; mean and count: the value


@dataclass(frozen=True)
class Parsed:
    rows: list[ValueRow]
    encoding: str  # utf-8 | windows-1255
    delimiter: str  # , ; or a tab


class ValuesCsvError(ValueError):
    """The file was refused; `problems` says why, each a sentence for the person who imported it."""

    def __init__(self, problems: list[str]):
        listed = problems[:MAX_LISTED]
        if len(problems) > MAX_LISTED:
            listed.append(f"…and {len(problems) - MAX_LISTED} more problems")
        super().__init__("; ".join(listed))
        self.problems = listed


# ------------------------------------------------------------------------------------------------------- bytes


def _line_of(data: bytes, offset: int) -> int:
    before = data[:offset]
    return before.count(b"\n") + 1 if b"\n" in before else before.count(b"\r") + 1


def _utf16(data: bytes) -> bool:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    sample = data[:4096]
    return len(sample) >= 2 and sample.count(0) * 4 >= len(sample)


def decode(data: bytes, encoding: str = "auto") -> tuple[str, str]:
    """The text of `data` and the encoding it was read in ("utf-8" or "windows-1255")."""
    chosen = _ENCODING_NAMES.get(str(encoding).strip().lower())
    if chosen is None:
        raise ValuesCsvError([f"Unknown encoding {encoding!r}: choose automatic, UTF-8 or Windows-1255."])
    if _utf16(data):
        raise ValuesCsvError(["The file is UTF-16 text; save it from the spreadsheet as 'CSV UTF-8' and import it "
                              "again."])
    if chosen in ("auto", "utf-8"):
        try:
            return data.decode("utf-8-sig"), "utf-8"
        except UnicodeDecodeError as exc:
            if chosen == "utf-8":
                raise ValuesCsvError([f"The file is not UTF-8: line {_line_of(data, exc.start)} has a byte that "
                                      "UTF-8 does not allow."]) from None
    elif data.startswith(b"\xef\xbb\xbf"):
        raise ValuesCsvError(["The file is marked as UTF-8 (it starts with a byte order mark), not Windows-1255: "
                              "choose UTF-8 or automatic and import it again."])
    try:
        text = data.decode("cp1255")
    except UnicodeDecodeError as exc:
        if chosen == "windows-1255":
            raise ValuesCsvError([f"The file is not Windows-1255: line {_line_of(data, exc.start)} has a byte that "
                                  "Windows-1255 does not allow."]) from None
        text = None
    # Any bytes that are not UTF-8 read as *something* in most 8-bit encodings: without a Hebrew letter, the file is
    # more likely Latin-1 or another code page than Hebrew, and guessing would import nonsense.
    if text is not None and (chosen == "windows-1255" or _HEBREW_LETTER.search(text) or text.isascii()):
        return text, "windows-1255"
    raise ValuesCsvError(["The file is neither UTF-8 nor Windows-1255 text; save it from the spreadsheet as "
                          "'CSV UTF-8' and import it again."])


# ------------------------------------------------------------------------------------------------------- cells


def _clean(cell: str) -> str:
    return _INVISIBLE.sub("", cell).strip()


def _delimiter(header: str) -> str:
    unquoted = re.sub(r'"[^"]*"', "", header)
    counts = {d: unquoted.count(d) for d in DELIMITERS}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def _name(cell: str) -> str | None:
    text = " ".join(_clean(cell).strip('"').replace("_", " ").split()).lower()
    for field, names in HEADERS.items():
        if text in names:
            return field
    return None


def _grade(text: str) -> int | None:
    if text.isascii() and text.isdigit():
        return int(text) if len(text) <= 2 else None
    return GRADE_LETTERS.get(_GERESH.sub("", text).replace(" ", ""))


def _integer(text: str) -> int | None:
    """A whole number of 0 or more ("12", or "12.0" as spreadsheets sometimes write it), else None."""
    return int(float(text)) if text.isascii() and _WHOLE.fullmatch(text) else None


def _number(text: str, comma_decimal: bool) -> float | None:
    t = text.replace(",", ".") if comma_decimal else text
    return float(t) if t.isascii() and _NUMBER.fullmatch(t) else None


def _show(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if math.isfinite(value) else str(value)


def _listed(keys: list[str], most: int = 5) -> str:
    return ", ".join(keys[:most]) + (f" and {len(keys) - most} more" if len(keys) > most else "")


# ------------------------------------------------------------------------------------------------------- file


def _records(text: str, delimiter: str) -> list[tuple[int, int, list[str]]]:
    """(first line, last line, cells) of every record, empty ones too; a record runs over lines only inside quotes."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[tuple[int, int, list[str]]] = []
    last = 0
    try:
        for record in reader:
            records.append((last + 1, reader.line_num, record))
            last = reader.line_num
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise ValuesCsvError([f"line {last + 1}: a quotation mark (\") opens a cell that is never closed, so the "
                                  "rest of the file reads as one cell."]) from None
        raise ValuesCsvError([f"line {last + 1}: the file cannot be read as CSV ({exc})."]) from None
    return records


def _measure_columns(names: list[str | None], at: Mapping[str, int], body, indicators) -> tuple[list[str], list[str]]:
    """The columns the file's indicators need and it does not have, and why (one sentence per measure)."""
    if "indicator" not in at:
        return [], []
    used: dict[str, list[str]] = {}
    for _first, _last, record in body:
        if at["indicator"] < len(record):
            spec = indicators.get(_clean(record[at["indicator"]]))
            if spec is not None and spec.measure in NEEDS and spec.key not in used.setdefault(spec.measure, []):
                used[spec.measure].append(spec.key)
    missing: list[str] = []
    why: list[str] = []
    for measure, keys in used.items():
        needs = [c for c in NEEDS[measure] if c not in at and not (measure == "count" and "count" in at)]
        if needs:
            missing += [c for c in needs if c not in missing]
            also = " (or count)" if measure == "count" else ""
            why.append(f"a {measure} ({_listed(keys)}) needs {' and '.join(NEEDS[measure])}{also}")
    order = list(HEADERS)
    return sorted(missing, key=order.index), why


def parse(data: bytes, *, indicators: Mapping[str, IndicatorSpec], schools: Callable[[str], int | None],
          encoding: str = "auto", year_range: tuple[int, int] = (2015, 2040)) -> Parsed:
    """The rows of a values CSV, every one checked, or ValuesCsvError naming every problem.

    `indicators` are the ones that may be imported, by key; `schools` gives the id of the school with a code (None
    for a code that is not one); `encoding` is "auto", "utf-8" or "windows-1255"; `year_range` the years allowed.
    """
    if len(data) > MAX_BYTES:
        raise ValuesCsvError([f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB."])
    text, used = decode(data, encoding)
    header_text = next((line for line in text.splitlines() if _clean(line)), None)
    if header_text is None:
        raise ValuesCsvError(["The file is empty."])
    delimiter = _delimiter(header_text)
    records = _records(text, delimiter)
    found = next((r for r in records if any(_clean(c) for c in r[2])), None)
    if found is None:
        raise ValuesCsvError(["The file is empty."])
    header_line, header_last, header = found
    if header_last != header_line:
        raise ValuesCsvError([f"line {header_line}: a quotation mark (\") in the header opens a cell that is never "
                              "closed."])
    body = [r for r in records if r[0] > header_last and any(_clean(c) for c in r[2])]
    names = [_name(c) for c in header]
    at = {n: i for i, n in enumerate(names) if n is not None}

    problems: list[str] = []
    measure_missing, why = _measure_columns(names, at, body, indicators)
    missing = [f for f in REQUIRED if f not in at] + measure_missing
    if missing:
        has = ", ".join(_clean(c) for c in header if _clean(c)) or "no column names"
        because = "".join(f" {w[0].upper()}{w[1:]}." for w in why)
        problems.append(f"Columns missing: {', '.join(missing)} (the file has: {has}).{because}")
    unknown = [_clean(c) for c, n in zip(header, names, strict=True) if n is None and _clean(c)]
    if unknown:
        problems.append(f"Unknown columns: {', '.join(unknown)} (known: {', '.join(HEADERS)}, or their Hebrew "
                        "names)")
    repeated = sorted({n for n in names if n is not None and names.count(n) > 1}, key=list(HEADERS).index)
    if repeated:
        problems.append(f"Columns given twice: {', '.join(repeated)}")
    if problems:
        raise ValuesCsvError(problems)
    if not body:
        raise ValuesCsvError(["The file has no rows of values under its header."])
    if len(body) > MAX_ROWS:
        raise ValuesCsvError([f"The file has {len(body):,} rows; import at most {MAX_ROWS:,} at a time."])

    unnamed = [i for i, c in enumerate(header) if not _clean(c)]
    rows: list[ValueRow] = []
    seen: dict[tuple, int] = {}
    least_year, most_year = year_range
    comma_decimal = delimiter != ","
    for n, (line, last, record) in enumerate(body, start=1):
        where = f"row {n} (line {line})"
        if last != line and any("\n" in c or "\r" in c for c in record):
            problems.append(f"{where}: a quotation mark (\") opens a cell that runs on to line {last}; close it or "
                            "remove it")
            continue
        if len(record) != len(header):
            problems.append(f"{where}: {len(record)} cells where the header has {len(header)}")
            continue
        wrong = len(problems)
        cells = [_clean(c) for c in record]
        stray = [f"column {i + 1} ('{cells[i]}')" for i in unnamed if cells[i]]
        if stray:
            problems.append(f"{where}: {', '.join(stray)} has a value but no column name")

        def cell(field: str, cells=cells) -> str:
            return cells[at[field]] if field in at else ""

        def empty(field: str, give: str, where=where) -> None:
            problems.append(f"{where}: {field}: the cell is empty; give {give}")

        code = cell("school")
        school = schools(code) if code else None
        if not code:
            empty("school", "the school's code (סמל מוסד)")
        elif school is None:
            problems.append(f"{where}: school: '{code}' is not the code of a school taking part")
        year = _integer(cell("year"))
        if not cell("year"):
            empty("year", f"the year the school year ends, from {least_year} to {most_year}")
        elif year is None or not least_year <= year <= most_year:
            problems.append(f"{where}: year: '{cell('year')}' is not a school year from {least_year} to {most_year}")
        term = _integer(cell("term"))
        if not cell("term"):
            empty("term", "1, 2 or 3")
        elif term not in (1, 2, 3):
            problems.append(f"{where}: term: '{cell('term')}' is not 1, 2 or 3")
        key = cell("indicator")
        spec = indicators.get(key)
        if not key:
            empty("indicator", "the indicator's key")
        elif spec is None:
            problems.append(f"{where}: indicator: '{key}' is not an indicator that is imported")
        grade = _grade(cell("grade"))
        if not cell("grade"):
            empty("grade", "a grade from 7 to 12")
        elif grade not in GRADES:
            problems.append(f"{where}: grade: '{cell('grade')}' is not a grade from 7 to 12")
        elif spec is not None and grade not in spec.grades:
            problems.append(f"{where}: grade: {key} is not given for grade {grade}")

        numerator: float | None = None
        students: int | None = None
        value: float | None = None
        if spec is not None:
            measured = _measured(spec, cell, comma_decimal)
            if isinstance(measured, list):
                problems.extend(f"{where}: {p}" for p in measured)
            else:
                numerator, students, value = measured
        if len(problems) > wrong:
            continue
        assert school is not None and year is not None and term is not None and grade is not None
        assert value is not None
        same = (school, year, term, grade, key)
        if same in seen:
            problems.append(f"{where}: the same school, year, term, grade and indicator as row {seen[same]}")
            continue
        seen[same] = n
        rows.append(ValueRow(line, school, year, term, grade, key, numerator, students, value))
    if problems:
        raise ValuesCsvError(problems)
    return Parsed(rows, used, delimiter)


def _measured(spec: IndicatorSpec, cell: Callable[[str], str], comma_decimal: bool):
    """(numerator, students, value) of a row of this indicator, or the problems with it."""
    key = spec.key
    problems: list[str] = []

    def whole(field: str, why: str) -> int | None:
        raw = cell(field)
        number = _integer(raw)
        if not raw:
            problems.append(f"{field}: the cell is empty; {why}")
        elif number is None:
            problems.append(f"{field}: '{raw}' is not a whole number")
        return number

    def within(value: float, shown: str) -> None:
        if not spec.least <= value <= spec.most:
            problems.append(f"{shown} is outside {key}'s range, {spec.least:g} to {spec.most:g}")

    if spec.measure == "share":
        need = f"{key} is a share: give the count of students it counts and the students it is out of"
        count, students = whole("count", need), whole("students", need)
        if count is None or students is None:
            return problems
        if not 0 < students <= MAX_STUDENTS or count > students:
            return [f"count, students: {count} of {students} students is not possible (students 1 to {MAX_STUDENTS}, "
                    "count at most the students)"]
        value = 100 * count / students
        within(value, f"count, students: {count} of {students} is {_show(value)}%, which")
        return problems or (float(count), students, value)
    if spec.measure == "mean":
        raw = cell("value")
        value = _number(raw, comma_decimal)
        if not raw:
            problems.append(f"value: the cell is empty; {key} is a mean: give the mean and the students it is over")
        elif value is None:
            hint = f" (write a decimal with a point: {raw.replace(',', '.')})" if re.fullmatch(r"\d+,\d+", raw) else ""
            problems.append(f"value: '{raw}' is not a number{hint}")
        students = whole("students", f"{key} is a mean: give the number of students it is the mean of")
        if students is not None and not 0 < students <= MAX_STUDENTS:
            problems.append(f"students: {students} is not a number of students from 1 to {MAX_STUDENTS}")
        if value is not None:
            within(value, f"value: {_show(value)}")
        return problems or (value * students, students, value)
    if spec.measure == "count":
        given = {f: cell(f) for f in ("value", "count") if cell(f)}
        if not given:
            return [f"value: the cell is empty; {key} is a count: give a whole number of 0 or more"]
        numbers = {f: _integer(raw) for f, raw in given.items()}
        for f, raw in given.items():
            if numbers[f] is None:
                below = re.fullmatch(r"-\d+(?:\.0+)?", raw)
                problems.append(f"{f}: {raw} is below 0: a count is 0 or more" if below
                                else f"{f}: '{raw}' is not a whole number")
        if problems:
            return problems
        if len(set(numbers.values())) > 1:
            return [f"value, count: {given['value']} and {given['count']} differ; give the number once, as value"]
        number = next(iter(numbers.values()))
        assert number is not None
        within(number, f"value: {number}")
        return problems or (float(number), None, float(number))
    return [f"indicator: {key} is measured as '{spec.measure}', which cannot be imported"]
