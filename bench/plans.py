"""Drafting learning plans against reading results alone, on the data of bench/diagnostics.py.

    .venv/bin/python bench/plans.py [--classes 200]

200 classes × 35 students × 30 items (answered at random by ability) in a fresh SQLite database, the starter
activity library loaded. Measured, each in a fresh session (one request's worth of work):
- reading the results of every class, set-based (app.diagnostics.service.results_of): the reference;
- drafting plans for one class of 35 from its latest result (goal: at most 1 s);
- drafting plans for every student of every class at once (app.plans.service.draft_for_classes), flushed to the
  database (goal: at most 2x the time of reading the results alone).
Printed as seconds, SQL queries and the ratio.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.diagnostics import arguments, build  # noqa: E402


def main() -> None:
    args = arguments()
    from sqlalchemy import event, func, select

    import app.models  # noqa: F401 - every module's rules (lists go through authz.visible)
    from app import db
    from app.accounts.models import User
    from app.diagnostics import service as diagnostics
    from app.diagnostics.models import ClassGroup
    from app.plans import service as plans
    from app.plans.models import GoalActivity, LearningPlan, PlanGoal

    settings, _work, assignments, actor_id, _items = build(args)
    with db.session_scope() as s:
        plans.import_library(s)
    engine = db.get_engine(settings.database_url)
    queries = 0

    def count(*_a, **_k):
        nonlocal queries
        queries += 1

    event.listen(engine, "before_cursor_execute", count)

    def measured(work) -> tuple[float, int, object]:
        nonlocal queries
        with db.session_scope() as s:
            actor = s.get(User, actor_id)
            before = queries
            t0 = time.perf_counter()
            out = work(s, actor)
            s.flush()
            return time.perf_counter() - t0, queries - before, out

    reading, reading_q, _ = measured(lambda s, actor: diagnostics.results_of(
        s, diagnostics.visible_assignments(s, actor, assignments)))
    with db.session_scope() as s:
        class_ids = list(s.scalars(select(ClassGroup.id).order_by(ClassGroup.id)))
    one, one_q, report = measured(lambda s, actor: plans.draft_for_class(s, actor, class_ids[0]).drafted)
    every, every_q, drafted = measured(lambda s, actor: plans.draft_for_classes(s, actor, class_ids[1:]).drafted)
    event.remove(engine, "before_cursor_execute", count)
    with db.session_scope() as s:
        made = s.scalar(select(func.count()).select_from(LearningPlan))
        goals = s.scalar(select(func.count()).select_from(PlanGoal))
        activities = s.scalar(select(func.count()).select_from(GoalActivity))
    assert made == report + drafted, (made, report, drafted)
    print(f"reading the results of {len(assignments)} classes (results_of): {reading:.2f} s, {reading_q} SQL queries")
    print(f"drafting plans for one class of {args.students}: {one:.2f} s, {one_q} SQL queries, {report} plans "
          f"(goal <= 1 s)")
    print(f"drafting plans for the other {len(class_ids) - 1} classes at once: {every:.2f} s, {every_q} SQL "
          f"queries, {drafted} plans ({made} plans, {goals} goals, {activities} activities stored in all)")
    per_class_reading = reading * (len(class_ids) - 1) / len(class_ids)
    print(f"ratio drafting / reading the same results: {every / per_class_reading:.2f}   (goal <= 2)")


if __name__ == "__main__":
    main()
