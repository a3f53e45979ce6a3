"""Reading indicator values from a school system's CSV file, all or nothing (stdlib only, no database).

    school,year,term,grade,indicator,count,students
    480012,2027,1,10,math5_share,6,30
    480012,2027,1,12,math5_bagrut_mean,,25          <- a mean gives `value` (and its students) instead

The bytes are UTF-8 (with or without a byte order mark) or Windows-1255 (Hebrew Excel's "CSV"), recognised or chosen;
the delimiter a comma, a semicolon or a tab, read from the header. Headers are English or Hebrew (סמל מוסד, שנה,
מחצית, שכבה, מדד, מספר, תלמידים, ערך); a grade is a number from 7 to 12 or its Hebrew letters (ז … י"ב, with or
without geresh and gershayim). Every problem is collected and named by its data row and its line in the file; if
there is any, nothing is returned (`ValuesCsvError.problems`).
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

HEADERS = {
    "school": ("school", "school code", "code", "סמל מוסד", "סמל", "סמל בית ספר"),
    "year": ("year", "school year", "שנה", "שנת לימודים"),
    "term": ("term", "מחצית", "תקופה"),
    "grade": ("grade", "שכבה", "כיתה"),
    "indicator": ("indicator", "מדד"),
    "count": ("count", "numerator", "מספר", "מונה"),
    "students": ("students", "תלמידים", "מספר תלמידים"),
    "value": ("value", "ערך"),
}
REQUIRED = ("school", "year", "term", "grade", "indicator")
GRADE_LETTERS = {"ז": 7, "ח": 8, "ט": 9, "י": 10, "יא": 11, "יב": 12}


@dataclass(frozen=True)
class IndicatorSpec:
    key: str
    measure: str  # share | count | mean
    least: float
    most: float
    grades: tuple[int, ...]


@dataclass(frozen=True)
class ValueRow:
    line: int
    school_id: int
    year: int
    term: int
    grade: int
    indicator: str
    numerator: float | None
    students: int | None
    value: float


@dataclass(frozen=True)
class Parsed:
    rows: list[ValueRow]
    encoding: str
    delimiter: str


class ValuesCsvError(ValueError):
    def __init__(self, problems: list[str]):
        listed = problems[:MAX_LISTED]
        if len(problems) > MAX_LISTED:
            listed.append(f"…and {len(problems) - MAX_LISTED} more problems")
        super().__init__("; ".join(listed))
        self.problems = listed


def _hebrew(text: str) -> bool:
    return re.search("[\u05d0-\u05ea]", text) is not None


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def decode(data: bytes, encoding: str = "auto") -> tuple[str, str]:
    if encoding not in ENCODINGS:
        raise ValuesCsvError([f"Unknown encoding {encoding!r}: choose automatic, UTF-8 or Windows-1255."])
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or data[:200].count(b"\x00") > 10:
        raise ValuesCsvError(["The file is UTF-16 text; save it from the spreadsheet as 'CSV UTF-8' and import it "
                              "again."])
    if encoding in ("auto", "utf-8"):
        try:
            return data.decode("utf-8-sig"), "utf-8"
        except UnicodeDecodeError as exc:
            if encoding == "utf-8":
                raise ValuesCsvError([f"The file is not UTF-8: line {_line_of(data, exc.start)} has a byte that "
                                      "UTF-8 does not allow."]) from None
    try:
        text = data.decode("cp1255")
    except UnicodeDecodeError as exc:
        if encoding == "windows-1255":
            raise ValuesCsvError([f"The file is not Windows-1255: line {_line_of(data, exc.start)} has a byte that "
                                  "Windows-1255 does not allow."]) from None
        text = None
    if text is not None and (encoding == "windows-1255" or _hebrew(text) or text.isascii()):
        return text, "windows-1255"
    raise ValuesCsvError(["The file is neither UTF-8 nor Windows-1255 text; save it from the spreadsheet as "
                          "'CSV UTF-8' and import it again."])


def _delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def _name(cell: str) -> str | None:
    text = cell.strip().strip('"').strip().lower()
    for field, names in HEADERS.items():
        if text in names:
            return field
    return None


def _grade(text: str) -> int | None:
    t = text.strip()
    if t.isascii() and t.isdigit():
        return int(t) if len(t) <= 2 else None
    letters = re.sub("[\"'\u05f3\u05f4]", "", t)
    return GRADE_LETTERS.get(letters)


def _integer(text: str) -> int | None:
    t = text.strip()
    return int(t) if t.isascii() and t.isdigit() and len(t) <= 9 else None


def _number(text: str, comma_decimal: bool) -> float | None:
    t = text.strip()
    if comma_decimal:
        t = t.replace(",", ".")
    if not re.fullmatch(r"-?\d{1,9}(\.\d{1,6})?", t):
        return None
    value = float(t)
    return value if math.isfinite(value) else None


def parse(data: bytes, *, indicators: Mapping[str, IndicatorSpec], schools: Callable[[str], int | None],
          encoding: str = "auto", year_range: tuple[int, int] = (2015, 2040)) -> Parsed:
    if len(data) > MAX_BYTES:
        raise ValuesCsvError([f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB."])
    text, used = decode(data, encoding)
    lines = text.splitlines()
    first = next((n for n, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise ValuesCsvError(["The file is empty."])
    delimiter = _delimiter(lines[first])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records = [(reader.line_num, r) for r in reader]
    header_line, header = next((ln, r) for ln, r in records if any(c.strip() for c in r))
    names = [_name(c) for c in header]
    unknown = [c.strip() for c, n in zip(header, names, strict=True) if n is None and c.strip()]
    problems: list[str] = []
    missing = [f for f in REQUIRED if f not in names]
    if missing:
        problems.append(f"Columns missing: {', '.join(missing)} (the file has: {', '.join(c.strip() for c in header)})")
    if unknown:
        problems.append(f"Unknown columns: {', '.join(unknown)} (known: {', '.join(HEADERS)})")
    repeated = sorted({n for n in names if n is not None and names.count(n) > 1})
    if repeated:
        problems.append(f"Columns given twice: {', '.join(repeated)}")
    if problems:
        raise ValuesCsvError(problems)
    at = {n: i for i, n in enumerate(names) if n is not None}
    body = [(ln, r) for ln, r in records if ln > header_line and any(c.strip() for c in r)]
    if not body:
        raise ValuesCsvError(["The file has no rows of values under its header."])
    if len(body) > MAX_ROWS:
        raise ValuesCsvError([f"The file has {len(body):,} rows; import at most {MAX_ROWS:,} at a time."])
    rows: list[ValueRow] = []
    seen: dict[tuple, int] = {}
    least_year, most_year = year_range
    for n, (line, record) in enumerate(body, start=1):
        where = f"row {n} (line {line})"
        if len(record) != len(header):
            problems.append(f"{where}: {len(record)} cells where the header has {len(header)}")
            continue

        def cell(field: str, record=record) -> str:
            return record[at[field]].strip() if field in at else ""

        wrong = len(problems)
        code = cell("school")
        school = schools(code) if code else None
        if school is None:
            problems.append(f"{where}: school: '{code}' is not the code of a school taking part")
        year = _integer(cell("year"))
        if year is None or not least_year <= year <= most_year:
            problems.append(f"{where}: year: '{cell('year')}' is not a school year from {least_year} to {most_year}")
        term = _integer(cell("term"))
        if term not in (1, 2, 3):
            problems.append(f"{where}: term: '{cell('term')}' is not 1, 2 or 3")
        key = cell("indicator")
        spec = indicators.get(key)
        if spec is None:
            problems.append(f"{where}: indicator: '{key}' is not an indicator that is imported")
        grade = _grade(cell("grade"))
        if grade is None or not 7 <= grade <= 12:
            problems.append(f"{where}: grade: '{cell('grade')}' is not a grade from 7 to 12")
        elif spec is not None and grade not in spec.grades:
            problems.append(f"{where}: grade: {key} is not given for grade {grade}")
        numerator = students = value = None
        if spec is not None:
            if spec.measure == "share":
                count, students = _integer(cell("count")), _integer(cell("students"))
                if count is None or students is None:
                    problems.append(f"{where}: count, students: a share needs both as whole numbers")
                elif not 0 < students <= MAX_STUDENTS or count > students:
                    problems.append(f"{where}: count, students: {count} of {students} students is not possible "
                                    f"(students 1 to {MAX_STUDENTS}, count at most the students)")
                else:
                    numerator, value = float(count), 100 * count / students
            elif spec.measure == "mean":
                value = _number(cell("value"), delimiter != ",")
                students = _integer(cell("students"))
                if value is None:
                    problems.append(f"{where}: value: '{cell('value')}' is not a number")
                if students is None or not 0 < students <= MAX_STUDENTS:
                    problems.append(f"{where}: students: a mean needs the students it is over (1 to {MAX_STUDENTS})")
                if value is not None and students:
                    numerator = value * students
            else:
                raw = cell("value") or cell("count")
                number = _integer(raw)
                if number is None:
                    problems.append(f"{where}: value: '{raw}' is not a whole number")
                else:
                    numerator = value = float(number)
                    students = None
            if value is not None and not spec.least <= value <= spec.most:
                problems.append(f"{where}: value: {value:g} is outside {key}'s range, {spec.least:g} to "
                                f"{spec.most:g}")
        if len(problems) > wrong:
            continue
        cell_key = (school, year, term, grade, key)
        if cell_key in seen:
            problems.append(f"{where}: the same school, year, term, grade and indicator as row {seen[cell_key]}")
            continue
        seen[cell_key] = n
        rows.append(ValueRow(line, school, year, term, grade, key, numerator, students, value))
    if problems:
        raise ValuesCsvError(problems)
    return Parsed(rows, used, delimiter)
