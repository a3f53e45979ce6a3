"""Analysis of a network-sized data set against pandas on the exported CSV.

    .venv/bin/pip install -e '.[bench]' && .venv/bin/python bench/diagnostics.py [--classes 200]

200 classes × 35 students × 30 items are written to a fresh SQLite database; then, in one process
(one request's worth of work), ClassLab's results for every class are computed from the database
(difficulty, corrected point-biserial, KR-20, profiles, groups, heatmap), counting SQL queries; and
the same item statistics are computed by pandas from the exported CSV. Printed as a ratio.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--classes", type=int, default=200)
    parser.add_argument("--students", type=int, default=35)
    parser.add_argument("--items", type=int, default=30)
    return parser.parse_args()


def build(args: argparse.Namespace):
    """A fresh SQLite database with the starter bank and `classes` classes of `students`, each of whom submitted
    one assignment of `items` items, answered at random by ability; (settings, work folder, assignment public
    ids, the teacher's id, the items). bench/plans.py drafts plans from the same data."""
    from sqlalchemy import insert

    from app import db, migrate
    from app.accounts import service as accounts
    from app.config import load_settings
    from app.db import utcnow
    from app.diagnostics import bankfile, service
    from app.diagnostics.models import Answer, Student, Submission

    work = Path(tempfile.mkdtemp(prefix="classlab-bench-diag-"))
    settings = load_settings({**os.environ, "CLASSLAB_INSTANCE": str(work)})
    migrate.upgrade(settings.database_url)
    db.bind(settings.database_url)
    rng = random.Random(7)
    with db.session_scope() as s:
        service.import_bank(s, None, bankfile.load_bank())
        teacher = accounts.create_user(s, email="bench@x.example", password="bench password")
        items = [i for i in service.current_items(s) if i.type != "text"][: args.items]
        assignments = []
        for c in range(args.classes):
            group = service.create_class(s, teacher, f"class {c}")
            s.execute(insert(Student), [{"class_id": group.id, "code": f"C{c}S{k}"} for k in range(args.students)])
            a = service.create_assignment(s, teacher, group.id, title=f"diag {c}", item_keys=[i.key for i in items],
                                          opens_at=utcnow() - timedelta(days=1), closes_at=utcnow() + timedelta(days=1))
            assignments.append(a.public_id)
            s.flush()
            students = [st.id for st in s.query(Student).filter_by(class_id=group.id)]
            s.execute(insert(Submission), [{"assignment_id": a.id, "student_id": sid, "submitted_at": utcnow(),
                                            "started_at": utcnow(), "source": "csv"} for sid in students])
            subs = [x.id for x in s.query(Submission).filter_by(assignment_id=a.id)]
            rows = []
            for sub in subs:
                ability = rng.random()
                for item in items:
                    right = rng.random() < 0.3 + 0.6 * ability
                    if item.type == "choice":
                        options = ([c for c in item.spec["choices"] if bool(c.get("correct")) == right]
                                   or item.spec["choices"])
                        choice = rng.choice(options)
                        rows.append({"submission_id": sub, "item_id": item.id, "value": choice["key"],
                                     "correct": bool(choice.get("correct")),
                                     "misconception": choice.get("misconception"),
                                     "scored_by": "auto", "updated_at": utcnow()})
                    else:
                        wrong = item.spec.get("wrong_answers") or [{"value": -1, "misconception": None}]
                        w = rng.choice(wrong)
                        rows.append({"submission_id": sub, "item_id": item.id,
                                     "value": str(item.spec["answer"] if right else w["value"]), "correct": right,
                                     "misconception": None if right else w["misconception"], "scored_by": "auto",
                                     "updated_at": utcnow()})
            s.execute(insert(Answer), rows)
        actor_id = teacher.id
    n_answers = args.classes * args.students * args.items
    print(f"data: {args.classes} classes × {args.students} students × {len(items)} items = {n_answers:,} answers")
    return settings, work, assignments, actor_id, items


def main() -> None:
    args = arguments()
    import pandas as pd
    from sqlalchemy import event

    from app import db
    from app.diagnostics import service

    settings, work, assignments, actor_id, items = build(args)

    engine = db.get_engine(settings.database_url)
    queries = 0

    def count(*_a, **_k):
        nonlocal queries
        queries += 1

    event.listen(engine, "before_cursor_execute", count)
    export = work / "answers.csv"
    with db.session_scope() as s:
        from app.accounts.models import User

        actor = s.get(User, actor_id)
        t0 = time.perf_counter()
        reports = service.results_of(s, service.visible_assignments(s, actor, assignments))
        ours = time.perf_counter() - t0
        set_queries = queries
    with db.session_scope() as s:
        actor = s.get(User, actor_id)
        t0 = time.perf_counter()
        for pid in assignments:  # what a page of one class does, 200 times: for comparison
            service.results(s, actor, pid)
        one_by_one = time.perf_counter() - t0
        one_by_one_queries = queries - set_queries
    with db.session_scope() as s:
        # The export pandas starts from: one row per student, a 0/1 column per item.
        with open(export, "w") as fh:
            fh.write("class,student," + ",".join(i.key for i in items) + "\n")
            for r in reports:
                for st in r.matrix.students:
                    cells = [r.matrix.score(st, i.key) for i in items]
                    row = ",".join("" if c is None else str(c) for c in cells)
                    fh.write(f"{r.assignment.title},{st},{row}\n")
    event.remove(engine, "before_cursor_execute", count)

    t0 = time.perf_counter()
    df = pd.read_csv(export)
    keys = [i.key for i in items]
    out = []
    for _cls, g in df.groupby("class"):
        x = g[keys].astype(float)
        total = x.sum(axis=1)
        difficulty = x.mean()
        disc = {k: x[k].corr(total - x[k]) for k in keys}
        var = total.var(ddof=0)
        k = len(keys)
        kr20 = k / (k - 1) * (1 - (difficulty * (1 - difficulty)).sum() / var) if var else None
        out.append((difficulty, disc, kr20))
    theirs = time.perf_counter() - t0

    # The two agree (same statistics), checked on the first class in pandas' (sorted) order.
    d, disc, kr = out[0]
    first_title = sorted(df["class"].unique())[0]
    ref = next(r for r in reports if r.assignment.title == first_title)
    for st in ref.item_stats:
        assert abs(st.difficulty - d[st.item]) < 1e-9
        assert st.discrimination is None or abs(st.discrimination - disc[st.item]) < 1e-9
    assert ref.kr20 is None or abs(ref.kr20 - kr) < 1e-9
    print(f"ClassLab: results of every class from the database, set-based (results_of): {ours:.2f} s, "
          f"{set_queries} SQL queries")
    print(f"  (one class at a time, as 200 pages would: {one_by_one:.2f} s, {one_by_one_queries} SQL queries)")
    print(f"pandas on the exported CSV (difficulty, point-biserial, KR-20): {theirs:.2f} s")
    print(f"ratio ClassLab / pandas: {ours / theirs:.2f}   (goal <= 1.5)")


if __name__ == "__main__":
    main()
