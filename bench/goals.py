"""A national roll-up of the goals' indicators against pandas on the exported CSV.

    .venv/bin/pip install -e '.[bench]' && .venv/bin/python bench/goals.py [--schools 2000] [--terms 8]

2,000 schools × 3 grades × 8 terms × 10 indicators (480,000 values) are written to a fresh SQLite database (or the
database DATABASE_URL names). Then ClassLab's national roll-up (app.goals.service.national_rollup: every
indicator, year, term and grade added up over every school, in one query) is timed, and the same aggregation by
pandas from the values exported as CSV: reading the file and grouping, and grouping alone. The answers are compared
cell by cell. Goal: ClassLab ≤ 2 × pandas. Each is timed 3 times; the fastest run counts.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--schools", type=int, default=2000)
    parser.add_argument("--terms", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    return parser.parse_args()


def build(args: argparse.Namespace):
    from sqlalchemy import insert

    from app import db, migrate
    from app.accounts.models import Organization, OrgKind
    from app.config import load_settings
    from app.goals import service
    from app.goals.models import Area, Value

    work = Path(tempfile.mkdtemp(prefix="classlab-bench-goals-"))
    settings = load_settings({**os.environ, "CLASSLAB_INSTANCE": str(work)})
    migrate.upgrade(settings.database_url)
    db.bind(settings.database_url)
    rng = random.Random(7)
    indicators = list(service.catalogue().indicators)[:10]
    periods = [(2024 + n // 2, 1 + n % 2) for n in range(args.terms)]
    with db.session_scope() as s:
        s.execute(insert(Organization), [{"name": f"school {n}", "kind": OrgKind.school} for n in range(args.schools)])
        orgs = [o.id for o in s.query(Organization).order_by(Organization.id)]
        s.execute(insert(Area), [{"organization_id": o, "code": str(100000 + n), "public_id": f"{n:032x}"}
                                 for n, o in enumerate(orgs)])
        areas = [a.id for a in s.query(Area).order_by(Area.id)]
        rows = []
        for area in areas:
            for ind in indicators:
                for year, term in periods:
                    for grade in (10, 11, 12):
                        students = rng.randint(5, 60)
                        if ind.measure == "share":
                            numerator = rng.randint(0, students)
                            value = 100 * numerator / students
                        elif ind.measure == "mean":
                            value = rng.uniform(55, 95)
                            numerator = value * students
                        else:
                            numerator = value = rng.randint(0, 12)
                            students = None
                        rows.append({"area_id": area, "indicator_key": ind.key, "part": "", "year": year,
                                     "term": term, "grade": grade, "numerator": numerator, "students": students,
                                     "value": value, "source": "imported"})
                if len(rows) >= 50_000:
                    s.execute(insert(Value), rows)
                    rows = []
        if rows:
            s.execute(insert(Value), rows)
    n = args.schools * len(indicators) * len(periods) * 3
    print(f"data: {args.schools:,} schools × 3 grades × {len(periods)} terms × {len(indicators)} indicators = {n:,} "
          f"values ({settings.database_url.split(':')[0]})")
    return settings, work


def best(fn, runs: int):
    times, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def main() -> None:
    args = arguments()
    import pandas as pd
    from sqlalchemy import select

    from app import db
    from app.goals import service
    from app.goals.models import Area, Value

    settings, work = build(args)
    export = work / "values.csv"
    with db.session_scope() as s:
        ours, cells = best(lambda: service.national_rollup(s), args.runs)
        # The export: every value with its school's code, as the values CSV would carry it.
        rows = s.execute(select(Area.code, Value.indicator_key, Value.year, Value.term, Value.grade, Value.numerator,
                                Value.students).join(Area, Area.id == Value.area_id))
        with open(export, "w", encoding="utf-8") as out:
            out.write("school,indicator,year,term,grade,numerator,students\n")
            for row in rows:
                out.write(",".join("" if v is None else str(v) for v in row) + "\n")

    def pandas_all():
        frame = pd.read_csv(export, dtype={"school": "string", "indicator": "string"})
        return frame.groupby(["indicator", "year", "term", "grade"], sort=False)[["numerator", "students"]].sum(
            min_count=1)

    frame = pd.read_csv(export, dtype={"school": "string", "indicator": "string"})
    theirs_with_read, table = best(pandas_all, args.runs)
    theirs, _ = best(lambda: frame.groupby(["indicator", "year", "term", "grade"], sort=False)[
        ["numerator", "students"]].sum(min_count=1), args.runs)
    wrong = 0
    for (key, year, term, grade), row in table.iterrows():
        cell = cells[(key, year, term, grade)]
        if abs(cell.numerator - row["numerator"]) > 1e-6 * max(1.0, abs(row["numerator"])):
            wrong += 1
        if cell.students is not None and cell.students != row["students"]:
            wrong += 1
    print(f"cells: {len(cells):,} (pandas {len(table):,}), {wrong} differ")
    print(f"ClassLab national_rollup (one query):   {ours:.3f} s")
    print(f"pandas read_csv + groupby:               {theirs_with_read:.3f} s  ratio {ours / theirs_with_read:.2f}")
    print(f"pandas groupby only (frame in memory):   {theirs:.3f} s  ratio {ours / theirs:.2f}")
    print("goal: ClassLab ≤ 2 × pandas on the exported CSV")


if __name__ == "__main__":
    main()
