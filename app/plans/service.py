"""Learning plans' use cases: the activity library, drafting a plan from a student's latest result (or one plan
for a small group sharing a misconception), the teacher's edits (each recorded), progress, re-assessment from a
newer result, sharing with the coach, and the week's schedule.

Every function takes the session and the acting user and authorizes through app.authz; none commits (the
request's unit of work does). Drafting reads results set-based (app.diagnostics.service.results_of), so a class
of 35 or a network's 200 classes costs a fixed number of queries.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, selectinload

from app import authz
from app.accounts.models import User
from app.db import new_public_id, utcnow
from app.diagnostics import analysis
from app.diagnostics import service as diagnostics
from app.diagnostics.models import (
    Answer,
    Assignment,
    AssignmentItem,
    ClassGroup,
    Item,
    Misconception,
    Student,
    Submission,
    Topic,
)
from app.errors import InvalidInput, NotVisible, msg
from app.feedback import service as feedback
from app.feedback.frameworks import Framework
from app.feedback.models import Comment, ObservationFramework
from app.inputs import check_text
from app.plans import activityfile
from app.plans.models import (
    CHECK_RESULTS,
    GOAL_STATES,
    Activity,
    GoalActivity,
    LearningPlan,
    PlanChange,
    PlanGoal,
    PlanMember,
    Prerequisite,
)
from app.video.models import Clip, Video

LIBRARY = Path(__file__).resolve().parent / "activities"
DEFAULT_WEEKS = 4
ACTIVITIES_PER_GOAL = 2
MAX_NOTE = 5_000
MAX_TITLE = 200
MAX_MOMENTS = 5


# ----------------------------------------------------------------------------------------- the activity library


@dataclass
class LibraryReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    prerequisites: int = 0
    framework: bool = False  # the misconceptions are a tagging framework for lesson moments


def _known_misconceptions(session: Session) -> set[str]:
    return set(diagnostics.misconceptions(session))


def activity_error(exc: activityfile.ActivityFileError) -> InvalidInput:
    return InvalidInput(msg("The activity file has problems:\n%(problems)s", problems="\n".join(exc.lines)),
                        field="file")


def import_library(session: Session, folder: Path | None = None) -> LibraryReport:
    """The library's activity files, validated whole (against the misconception bank when it is loaded), then
    stored: an activity whose text is unchanged is left as it is, so running it again changes nothing."""
    known = _known_misconceptions(session) or None
    libraries = [activityfile.read(path.name, path.read_bytes(), misconceptions=known)
                 for path in sorted((folder or LIBRARY).glob("*.yaml"))]
    report = LibraryReport()
    _upsert(session, [record for library in libraries for record in library.activities], report)
    # Added to those stored (an administrator's imports stay); a union that would go round in a circle is refused.
    stored = set(prerequisites(session))
    pairs = stored | {pair for library in libraries for pair in library.prerequisites}
    circle = activityfile.circle(sorted(pairs))
    if circle:
        raise activityfile.ActivityFileError(
            [f"prerequisites: with those stored they would go round in a circle: {' → '.join(circle)}"])
    session.add_all(Prerequisite(first=first, after=after) for first, after in sorted(pairs - stored))
    report.prerequisites = len(pairs)
    report.framework = misconception_framework(session) is not None
    return report


def _upsert(session: Session, records: list[activityfile.ActivityRecord], report: LibraryReport) -> None:
    stored = {a.key: a for a in session.scalars(select(Activity).where(Activity.key.in_([r.key for r in records])))}
    for record in records:
        values = dict(kind=record.kind, minutes=record.minutes, grouping=record.grouping,
                      misconceptions=record.misconceptions, languages=record.languages, spec=record.spec)
        row = stored.get(record.key)
        if row is None:
            stored[record.key] = Activity(key=record.key, **values)
            session.add(stored[record.key])
            report.added += 1
        elif any(getattr(row, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(row, name, value)
            report.updated += 1
        else:
            report.unchanged += 1


MAX_FILE = 2_000_000


def import_activities(session: Session, actor: User, filename: str, data: bytes) -> LibraryReport:
    """An administrator's activity file, validated whole against the misconception bank: its activities are
    added to the library (a key already there is updated) and its prerequisites added to those there."""
    authz.require(actor, "manage", Activity(key=""), hide=False)
    if not data:
        raise InvalidInput(msg("Choose an activity file (YAML) to import."), field="file")
    if len(data) > MAX_FILE:
        raise InvalidInput(msg("The activity file is larger than 2 MB; an activity file is a few hundred KB."),
                           field="file")
    try:
        library = activityfile.read(filename or "activities.yaml", data,
                                    misconceptions=_known_misconceptions(session) or None)
    except activityfile.ActivityFileError as exc:
        raise activity_error(exc) from None
    pairs = set(prerequisites(session)) | set(library.prerequisites)
    circle = activityfile.circle(sorted(pairs))
    if circle:
        raise InvalidInput(msg("With this file the prerequisites would go round in a circle: %(keys)s.",
                               keys=" → ".join(circle)), field="file")
    report = LibraryReport()
    _upsert(session, library.activities, report)
    new_pairs = sorted(set(library.prerequisites) - set(prerequisites(session)))
    session.add_all(Prerequisite(first=first, after=after) for first, after in new_pairs)
    report.prerequisites = len(pairs)
    return report


FRAMEWORK_KEY = "misconceptions"
_FRAMEWORK_TITLE = {"en": "Misconceptions (the diagnostics bank)", "he": "תפיסות שגויות (מאגר האבחון)",
                    "ar": "مفاهيم خاطئة (بنك التشخيص)"}
_FRAMEWORK_DESCRIPTION = ("Tag the lesson moment where a misconception of the diagnostics bank surfaced: learning "
                          "plans cite it as evidence beside the answers that revealed it.")


def misconception_framework(session: Session):
    """The misconception bank as an observation framework (a dimension per topic, an element per
    misconception), so that a teacher tags a lesson moment with the misconception it shows using the watch page's
    tag picker; a changed bank becomes a new version. None while no bank is loaded."""
    rows = list(session.scalars(select(Misconception).order_by(Misconception.topic, Misconception.key)))
    if not rows:
        return None
    topics = {t.key: t for t in session.scalars(select(Topic))}
    dimensions = []
    for topic in dict.fromkeys(m.topic for m in rows):
        titles = (topics[topic].texts or {}).get("title", {}) if topic in topics else {}
        dimensions.append({
            "key": topic.replace("_", "-")[:64],
            "title": titles.get("en") or (topics[topic].title if topic in topics else topic),
            "description": "", **{lang: titles[lang] for lang in ("he", "ar") if titles.get(lang)},
            "elements": [{"key": m.key, "title": m.title, "description": "", "look_fors": [],
                          **{lang: t for lang, t in ((m.texts or {}).get("title") or {}).items()
                             if lang in ("he", "ar") and t}}
                         for m in rows if m.topic == topic]})
    newest = session.scalar(select(ObservationFramework).where(ObservationFramework.key == FRAMEWORK_KEY)
                            .order_by(ObservationFramework.version.desc()).limit(1))
    shape = {"key": FRAMEWORK_KEY, "title": _FRAMEWORK_TITLE["en"], "description": _FRAMEWORK_DESCRIPTION,
             "inspired_by": [], "language": "en", "he": _FRAMEWORK_TITLE["he"], "ar": _FRAMEWORK_TITLE["ar"],
             "dimensions": dimensions}
    version = 1
    if newest is not None:
        same = {**newest.data, "version": 0} == {**Framework.from_dict({**shape, "version": 1}).as_dict(),
                                                   "version": 0}
        version = newest.version if same else newest.version + 1
    return feedback.import_framework(session, Framework.from_dict({**shape, "version": version}))


def activities(session: Session, misconception: str | None = None) -> list[Activity]:
    rows = list(session.scalars(select(Activity).order_by(Activity.key)))
    if misconception is None:
        return rows
    return [a for a in rows if misconception in (a.misconceptions or [])]


def activities_by_key(session: Session) -> dict[str, Activity]:
    return {a.key: a for a in session.scalars(select(Activity))}


def prerequisites(session: Session) -> list[tuple[str, str]]:
    return [(p.first, p.after) for p in session.scalars(select(Prerequisite).order_by(Prerequisite.id))]


# ------------------------------------------------------------------------------------------------ drafting


def prerequisite_closure(pairs: list[tuple[str, str]]) -> dict[str, frozenset[str]]:
    """misconception -> every misconception that comes after it, directly or through others."""
    later: dict[str, set[str]] = defaultdict(set)
    for first, after in pairs:
        later[first].add(after)
    closure = {}
    for start in later:
        seen: set[str] = set()
        todo = [start]
        while todo:
            for nxt in later.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        closure[start] = frozenset(seen)
    return closure


def order_goals(held: list[str], pairs: list[tuple[str, str]] | dict[str, frozenset[str]]) -> list[str]:
    """`held` (strongest evidence first) reordered so that every misconception comes after those that are its
    prerequisites, directly or through others; otherwise the evidence's order stays. `pairs` may be given as
    its `prerequisite_closure` already (drafting many plans computes it once)."""
    closure = pairs if isinstance(pairs, dict) else prerequisite_closure(pairs)
    nothing: frozenset[str] = frozenset()
    before = {key: {other for other in held if other != key and key in closure.get(other, nothing)} for key in held}
    ordered: list[str] = []
    waiting = list(held)
    while waiting:
        ready = next((k for k in waiting if before[k] <= set(ordered)), waiting[0])
        ordered.append(ready)
        waiting.remove(ready)
    return ordered


def _target(target_date: dt.date | str | None, today: dt.date) -> dt.date:
    if target_date in (None, ""):
        return today + dt.timedelta(weeks=DEFAULT_WEEKS)
    if isinstance(target_date, str):
        try:
            target_date = dt.date.fromisoformat(target_date.strip())
        except ValueError:
            raise InvalidInput(msg("The target date must be a date like 2027-01-31."), field="target_date") from None
    if target_date < today:
        raise InvalidInput(msg("The target date is in the past: choose today or a later day."), field="target_date")
    if target_date > today + dt.timedelta(days=366):
        raise InvalidInput(msg("The target date is more than a year away: choose a nearer day."),
                           field="target_date")
    return target_date


@dataclass
class _Evidence:
    """What the latest result says of one student."""

    student: Student
    assignment: Assignment
    profile: analysis.StudentProfile
    answers: dict[str, list[dict]]  # misconception -> the answers that revealed it


def _latest_assignments(session: Session, students: list[Student]) -> dict[int, int]:
    """student id -> the assignment of their latest submitted work."""
    if not students:
        return {}
    ids = [s.id for s in students]
    latest = (select(Submission.student_id, func.max(Submission.submitted_at).label("at"))
              .where(Submission.student_id.in_(ids), Submission.submitted_at.is_not(None))
              .group_by(Submission.student_id).subquery())
    rows = session.execute(
        select(Submission.student_id, Submission.assignment_id)
        .join(latest, (Submission.student_id == latest.c.student_id) & (Submission.submitted_at == latest.c.at)))
    return {student_id: assignment_id for student_id, assignment_id in rows}


def _evidence(session: Session, students: list[Student], rosters: dict[int, list[Student]] | None = None
              ) -> dict[int, _Evidence]:
    """Each student's latest result, read for all of them at once (one results_of call); `rosters` (class id ->
    its students, in code order), when the caller has them, spares reading them again."""
    latest = _latest_assignments(session, students)
    if not latest:
        return {}
    assignments = list(session.scalars(
        select(Assignment).where(Assignment.id.in_(set(latest.values())))
        .options(selectinload(Assignment.items).selectinload(AssignmentItem.item))))
    results = {r.assignment.id: r for r in diagnostics.results_of(session, assignments, statistics=False,
                                                                  rosters=rosters)}
    rows = {r.assignment.id: {code: n for n, code in enumerate(r.matrix.students)} for r in results.values()}
    found: dict[int, _Evidence] = {}
    for student in students:
        res = results.get(latest.get(student.id, -1))
        row = rows[res.assignment.id].get(student.code) if res is not None else None
        if row is None:
            continue
        profile = res.profiles[row]  # profiles and the matrix's rows are both in student-code order
        answers: dict[str, list[dict]] = {}
        if profile.held:
            held = set(profile.held)
            values = res.matrix.values[row]
            for j, state in enumerate(res.matrix.misconceptions[row]):
                if state in held:
                    answers.setdefault(state, []).append({
                        "assignment": res.assignment.public_id, "item": res.items[j].key, "question": j + 1,
                        "value": values[j]})
        found[student.id] = _Evidence(student, res.assignment, profile, answers)
    return found


class _Bank:
    """The current items by the misconceptions they probe, read once per draft."""

    def __init__(self, session: Session, actor: User) -> None:
        self.probing: dict[str, list[str]] = defaultdict(list)
        for item in diagnostics.current_items(session, actor=actor):  # the shared bank and the teacher's own
            for key in sorted(set(diagnostics.spec_item(item.spec).misconception_of().values())):
                self.probing[key].append(item.key)

    def check_item(self, misconception: str, seen: set[str]) -> str | None:
        return next((k for k in self.probing.get(misconception, ()) if k not in seen), None)


def lesson_moments(session: Session, teacher_id: int, misconceptions: set[str]) -> dict[str, list[dict]]:
    """misconception -> the teacher's lesson moments tagged with it (a feedback comment whose tag names the
    misconception, on one of their lessons), newest first."""
    if not misconceptions:
        return {}
    found: dict[str, list[dict]] = defaultdict(list)
    rows = session.execute(
        select(Comment.id, Comment.start, Comment.tags, Video.public_id, Video.title, Clip.public_id)
        .join(Video, Comment.video_id == Video.id).outerjoin(Clip, Comment.clip_id == Clip.id)
        .where(Video.owner_id == teacher_id, Video.purpose == "lesson", Comment.deleted_at.is_(None))
        .order_by(Comment.created_at.desc()))
    for comment_id, start, tags, video_id, title, clip_id in rows:
        for tag in tags or []:
            key = tag.get("element") if isinstance(tag, dict) and tag.get("framework") == FRAMEWORK_KEY else None
            if key in misconceptions and len(found[key]) < MAX_MOMENTS:
                found[key].append({"video": video_id, "title": title, "start": start, "comment": comment_id,
                                   "clip": clip_id})
    return dict(found)


def _text(value: str, field: str, most: int) -> str:
    value = (value or "").strip()
    check_text(field, value)
    if len(value) > most:
        raise InvalidInput(msg("The text is %(n)d characters long; at most %(most)d.", n=len(value), most=most),
                           field=field)
    return value


def _record(session: Session, plan: LearningPlan, actor: User | None, what: str, before="", after="") -> None:
    session.add(PlanChange(plan=plan, actor=actor, what=what, before=str(before or ""), after=str(after or "")))


@dataclass
class _Planned:
    """A plan about to be stored: what drafting decided, before it has ids."""

    group: ClassGroup
    students: list[Student]
    kind: str
    assignment: Assignment
    target: dt.date
    goals: list[tuple[str, dict, str | None, list[str]]]  # (misconception, evidence, check item, activity keys)
    public_id: str = field(default_factory=new_public_id)


def _new_plan(group: ClassGroup, students: list[Student], goals: list[str], evidence: dict[str, list[dict]],
              assignment: Assignment, target: dt.date, *, kind: str, bank: _Bank, seen: set[str],
              moments: dict[str, list[dict]], by_misconception: dict[str, list[Activity]]) -> _Planned:
    return _Planned(group, students, kind, assignment, target, [
        (key, {"answers": evidence.get(key, []), "moments": moments.get(key, [])}, bank.check_item(key, seen),
         [a.key for a in by_misconception.get(key, [])[:ACTIVITIES_PER_GOAL]]) for key in goals])


EAGER_PLANS = 200
_CHUNK = 5000  # ids per IN list, well under SQLite's and PostgreSQL's limits on parameters


def _chunks(values: list) -> list[list]:
    return [values[n:n + _CHUNK] for n in range(0, len(values), _CHUNK)]


def _store(session: Session, actor: User, planned: list[_Planned]) -> list[LearningPlan]:
    """Insert the drafted plans, their members, goals, activities and the "drafted" record with a few statements
    in all (executemany), however many plans: a whole network's drafts stay within twice the time of reading its
    results. Ids come back through the public ids and (plan, position), not one INSERT ... RETURNING per row."""
    if not planned:
        return []
    now = utcnow()
    session.execute(insert(LearningPlan.__table__), [{
        "public_id": p.public_id, "class_id": p.group.id, "teacher_id": p.group.teacher_id, "kind": p.kind,
        "title": (p.students[0].name or p.students[0].code) if p.kind == "student" else "",
        "assignment_id": p.assignment.id, "target_date": p.target, "shared_with_coach": False, "closed": False,
        "created_at": now, "updated_at": now} for p in planned])
    ids: dict[str, int] = {}
    for chunk in _chunks([p.public_id for p in planned]):
        ids.update(session.connection().execute(
            select(LearningPlan.public_id, LearningPlan.id).where(LearningPlan.public_id.in_(chunk))).cursor.fetchall())
    session.execute(insert(PlanMember.__table__), [{"plan_id": ids[p.public_id], "student_id": st.id}
                                         for p in planned for st in p.students])
    session.execute(insert(PlanChange.__table__), [{"plan_id": ids[p.public_id], "actor_id": actor.id, "at": now,
                                          "what": "drafted", "before": "", "after": p.assignment.title}
                                         for p in planned])
    goal_rows = [{"plan_id": ids[p.public_id], "position": n, "misconception": key, "status": "working",
                  "evidence": evidence, "check_item": check, "note": ""}
                 for p in planned for n, (key, evidence, check, _acts) in enumerate(p.goals, start=1)]
    if goal_rows:
        session.execute(insert(PlanGoal.__table__), goal_rows)
        goal_ids: dict[tuple[int, int], int] = {}
        for chunk in _chunks(list(ids.values())):
            rows = session.connection().execute(
                select(PlanGoal.id, PlanGoal.plan_id, PlanGoal.position).where(PlanGoal.plan_id.in_(chunk)))
            goal_ids.update(((plan_id, position), goal_id) for goal_id, plan_id, position in rows.cursor.fetchall())
        activity_rows = [{"goal_id": goal_ids[ids[p.public_id], n], "activity_key": key, "position": m}
                         for p in planned for n, (_k, _e, _c, acts) in enumerate(p.goals, start=1)
                         for m, key in enumerate(acts, start=1)]
        if activity_rows:
            session.execute(insert(GoalActivity.__table__), activity_rows)
    # A class's drafts are shown (members, goals and activities loaded with them); a network's thousands are
    # counted (DraftReport.drafted).
    if len(planned) > EAGER_PLANS:
        return []
    found = {plan.public_id: plan for plan in session.scalars(
        select(LearningPlan).where(LearningPlan.public_id.in_(list(ids)))
        .options(selectinload(LearningPlan.members).selectinload(PlanMember.student),
                 selectinload(LearningPlan.goals).selectinload(PlanGoal.activities),
                 selectinload(LearningPlan.changes)))}
    return [found[p.public_id] for p in planned]


def _library_by_misconception(session: Session) -> dict[str, list[Activity]]:
    by: dict[str, list[Activity]] = defaultdict(list)
    for activity in activities(session):
        for key in activity.misconceptions or []:
            by[key].append(activity)
    return by


@dataclass
class DraftReport:
    # The plans drafted, loaded with their members, goals and activities; a batch of more than EAGER_PLANS (a
    # network's) is counted in `drafted` and left unloaded.
    plans: list[LearningPlan] = field(default_factory=list)
    drafted: int = 0
    without_results: list[Student] = field(default_factory=list)  # no submitted work yet
    nothing_held: list[Student] = field(default_factory=list)  # a result with no misconception held
    kept: list[LearningPlan] = field(default_factory=list)  # already planned from that result


def _open_plans(session: Session, student_ids: list[int]) -> dict[tuple[int, int | None], LearningPlan]:
    """(student id, assignment id) -> that student's open plan of their own drafted from that result."""
    rows = session.execute(
        select(PlanMember.student_id, LearningPlan)
        .join(LearningPlan, PlanMember.plan_id == LearningPlan.id)
        .where(PlanMember.student_id.in_(student_ids), LearningPlan.kind == "student",
               LearningPlan.closed.is_(False)))
    return {(student_id, plan.assignment_id): plan for student_id, plan in rows}


def _seen_by(session: Session, student_ids: list[int], latest: dict[int, _Evidence] | None = None
             ) -> dict[int, set[str]]:
    """student id -> the item keys they have seen: every item of their latest result (`latest`, already read),
    and those they answered in any other work, submitted or not (one query for many students)."""
    seen: dict[int, set[str]] = defaultdict(set)
    if not student_ids:
        return seen
    latest = latest or {}
    read = {found.assignment.id: found.assignment for found in latest.values()}
    keys_of = {aid: [ai.item.key for ai in assignment.items] for aid, assignment in read.items()}
    for student_id, found in latest.items():
        seen[student_id] = set(keys_of[found.assignment.id])
    key_of = {i: k for i, k in session.execute(select(Item.id, Item.key))}  # every version: a few hundred
    for chunk in _chunks(student_ids):
        # Work on an assignment already read is known item by item (another student's latest that this one also
        # did, rare, is added from it); everything else comes from the answers.
        if read:
            for student_id, assignment_id in session.connection().execute(
                    select(Submission.student_id, Submission.assignment_id)
                    .where(Submission.student_id.in_(chunk), Submission.assignment_id.in_(list(read)))
            ).cursor.fetchall():
                if student_id not in latest or latest[student_id].assignment.id != assignment_id:
                    seen[student_id].update(keys_of[assignment_id])
        query = (select(Submission.student_id, Answer.item_id).join(Answer, Answer.submission_id == Submission.id)
                 .where(Submission.student_id.in_(chunk)).distinct())
        if read:
            query = query.where(Submission.assignment_id.not_in(list(read)))
        for student_id, item_id in session.connection().execute(query).cursor.fetchall():
            seen[student_id].add(key_of[item_id])
    return seen


def draft(session: Session, actor: User, group: ClassGroup, students: list[Student], *,
          target_date: dt.date | str | None = None, today: dt.date | None = None) -> DraftReport:
    """A plan for each of these students (of one class the actor teaches) from their latest result."""
    return draft_many(session, actor, [(group, students)], target_date=target_date, today=today)


def draft_many(session: Session, actor: User, classes: list[tuple[ClassGroup, list[Student]]], *,
               target_date: dt.date | str | None = None, today: dt.date | None = None) -> DraftReport:
    """A plan for each of these students of classes the actor teaches, from each one's latest result, in a fixed
    number of queries however many classes there are (results are read set-based, once)."""
    for group, _students in classes:
        authz.require(actor, "edit", group)
    target = _target(target_date, today or dt.date.today())
    report = DraftReport()
    everyone = [st for _group, students in classes for st in students]
    rosters = {g.id: sorted(g.students, key=lambda st: st.code) for g, _students in classes}
    evidence = _evidence(session, everyone, rosters)
    existing = _open_plans(session, [st.id for st in everyone])
    seen = _seen_by(session, [st.id for st in everyone if st.id in evidence], evidence)
    bank = _Bank(session, actor)
    closure = prerequisite_closure(prerequisites(session))
    by_misconception = _library_by_misconception(session)
    held_by_teacher: dict[int, set[str]] = defaultdict(set)
    for group, students in classes:
        held_by_teacher[group.teacher_id].update(k for st in students if st.id in evidence
                                                 for k in evidence[st.id].profile.held)
    moments = {teacher: lesson_moments(session, teacher, held) for teacher, held in held_by_teacher.items()}
    planned: list[_Planned] = []
    for group, students in classes:
        for student in students:
            found = evidence.get(student.id)
            if found is None:
                report.without_results.append(student)
                continue
            if not found.profile.held:
                report.nothing_held.append(student)
                continue
            plan = existing.get((student.id, found.assignment.id))
            if plan is not None:
                report.kept.append(plan)
                continue
            planned.append(_new_plan(
                group, [student], order_goals(found.profile.held, closure), found.answers, found.assignment, target,
                kind="student", bank=bank, seen=seen.get(student.id, set()), moments=moments[group.teacher_id],
                by_misconception=by_misconception))
    session.flush()
    report.plans = _store(session, actor, planned)
    report.drafted = len(planned)
    return report


def draft_for_classes(session: Session, actor: User, class_ids: list[int], *, target_date=None,
                      today: dt.date | None = None) -> DraftReport:
    """Plans for every student of many classes of the actor's at once (a teacher's whole timetable, or a
    network's bench)."""
    groups = list(session.scalars(authz.visible(actor, select(ClassGroup)).where(ClassGroup.id.in_(class_ids))
                                  .options(selectinload(ClassGroup.students))))
    return draft_many(session, actor, [(g, list(g.students)) for g in groups], target_date=target_date, today=today)


def draft_for_student(session: Session, actor: User, student_id: int, *, target_date=None,
                      today: dt.date | None = None) -> LearningPlan:
    student = _student(session, actor, student_id)
    report = draft(session, actor, student.class_group, [student], target_date=target_date, today=today)
    if report.without_results:
        raise InvalidInput(msg("%(student)s has no submitted diagnostic yet: a plan is drafted from a result. "
                               "Enter their answers on the grid, or wait for them to submit.",
                               student=student.name or student.code), field="student")
    if report.nothing_held:
        raise InvalidInput(msg("%(student)s's latest result shows no misconception held: there is nothing to "
                               "plan for yet.", student=student.name or student.code), field="student")
    return (report.plans or report.kept)[0]


def draft_for_class(session: Session, actor: User, class_id: int, *, target_date=None,
                    today: dt.date | None = None) -> DraftReport:
    group = diagnostics.get_class(session, actor, class_id, "edit")
    return draft(session, actor, group, list(group.students), target_date=target_date, today=today)


def draft_groups(session: Session, actor: User, class_id: int, *, target_date=None, today: dt.date | None = None,
                 max_group: int = 6) -> list[LearningPlan]:
    """One small-group plan per misconception that students of the class share (the results page's groups),
    each with that one goal; a group already planned from the same result is kept."""
    group = diagnostics.get_class(session, actor, class_id, "edit")
    target = _target(target_date, today or dt.date.today())
    evidence = _evidence(session, list(group.students))
    profiles = [e.profile for e in evidence.values()]
    by_code = {e.student.code: e for e in evidence.values()}
    pairs = prerequisites(session)
    suggested = analysis.suggest_groups(profiles, max_group=max_group)
    order = order_goals([g.misconception for g in suggested], pairs)
    suggested.sort(key=lambda g: order.index(g.misconception))
    existing = {(p.goals[0].misconception if p.goals else "", frozenset(m.student_id for m in p.members)): p
                for p in session.scalars(select(LearningPlan).where(
                    LearningPlan.class_id == group.id, LearningPlan.kind == "group", LearningPlan.closed.is_(False))
                    .options(selectinload(LearningPlan.goals), selectinload(LearningPlan.members)))}
    bank = _Bank(session, actor)
    moments = lesson_moments(session, group.teacher_id, {g.misconception for g in suggested})
    by_misconception = _library_by_misconception(session)
    plans: list[LearningPlan | _Planned] = []
    for suggestion in suggested:
        members = [by_code[code] for code in suggestion.students if code in by_code]
        if len(members) < 2:
            continue
        ids = frozenset(e.student.id for e in members)
        if (suggestion.misconception, ids) in existing:
            plans.append(existing[suggestion.misconception, ids])
            continue
        answers = [dict(a, student=e.student.code) for e in members
                   for a in e.answers.get(suggestion.misconception, [])]
        seen = _seen_by(session, list(ids), {e.student.id: e for e in members})
        plans.append(_new_plan(group, [e.student for e in members], [suggestion.misconception],
                               {suggestion.misconception: answers}, members[0].assignment, target, kind="group",
                               bank=bank, moments=moments, seen=set().union(*seen.values()),
                               by_misconception=by_misconception))
    session.flush()
    stored = iter(_store(session, actor, [p for p in plans if isinstance(p, _Planned)]))
    return [next(stored) if isinstance(p, _Planned) else p for p in plans]


# ------------------------------------------------------------------------------------------------ reading


def _student(session: Session, actor: User, student_id: int) -> Student:
    student = session.get(Student, student_id) if 0 < int(student_id) < 2**31 else None
    if student is None or not authz.may(actor, "view", student):
        raise NotVisible(authz.NO_SUCH_OBJECT)
    authz.require(actor, "edit", student)
    return student


def get_student(session: Session, actor: User, student_id: int) -> Student:
    return _student(session, actor, student_id)


def get_plan(session: Session, actor: User, public_id: str, action: str = "view") -> LearningPlan:
    return authz.load(session, actor, LearningPlan, public_id, action)


def plans_of_class(session: Session, actor: User, class_id: int) -> list[LearningPlan]:
    group = diagnostics.get_class(session, actor, class_id)
    return list(session.scalars(
        authz.visible(actor, select(LearningPlan)).where(LearningPlan.class_id == group.id)
        .options(selectinload(LearningPlan.members).selectinload(PlanMember.student),
                 selectinload(LearningPlan.goals).selectinload(PlanGoal.activities))
        .order_by(LearningPlan.closed, LearningPlan.kind.desc(), LearningPlan.created_at.desc(), LearningPlan.id)))


def plans_shared_with(session: Session, actor: User) -> list[LearningPlan]:
    """Plans other teachers share with this coach."""
    return list(session.scalars(
        authz.visible(actor, select(LearningPlan)).where(LearningPlan.teacher_id != actor.id)
        .options(selectinload(LearningPlan.members).selectinload(PlanMember.student))
        .order_by(LearningPlan.updated_at.desc())))


def plans_working_on(session: Session, actor: User, misconception: str, limit: int = 10) -> list[LearningPlan]:
    """The open plans the actor reaches with a goal on this misconception (a rehearsal of the response links to
    them), newest first."""
    return list(session.scalars(
        authz.visible(actor, select(LearningPlan)).join(PlanGoal, PlanGoal.plan_id == LearningPlan.id)
        .where(PlanGoal.misconception == misconception, LearningPlan.closed.is_(False))
        .options(selectinload(LearningPlan.class_group))
        .order_by(LearningPlan.created_at.desc(), LearningPlan.id.desc()).limit(limit)))


def plans_due(session: Session, actor: User, *, today: dt.date | None = None, days: int = 14,
              limit: int = 5) -> list[LearningPlan]:
    """The teacher's open plans whose target date is within `days` (or past), soonest first: the dashboard's
    reminder to check and re-assess."""
    today = today or dt.date.today()
    return list(session.scalars(
        select(LearningPlan).where(LearningPlan.teacher_id == actor.id, LearningPlan.closed.is_(False),
                                   LearningPlan.target_date <= today + dt.timedelta(days=days))
        .options(selectinload(LearningPlan.goals), selectinload(LearningPlan.class_group))
        .order_by(LearningPlan.target_date, LearningPlan.id).limit(limit)))


def plans_of_student(session: Session, actor: User, student_id: int) -> list[LearningPlan]:
    student = _student(session, actor, student_id)
    return list(session.scalars(
        authz.visible(actor, select(LearningPlan)).join(PlanMember, PlanMember.plan_id == LearningPlan.id)
        .where(PlanMember.student_id == student.id).order_by(LearningPlan.created_at.desc())))


def plan_for_student_and_misconception(session: Session, actor: User, student_id: int,
                                       misconception: str) -> LearningPlan | None:
    """The newest open plan of the student with a goal on that misconception (a heatmap cell's link)."""
    return session.scalar(
        authz.visible(actor, select(LearningPlan)).join(PlanMember, PlanMember.plan_id == LearningPlan.id)
        .join(PlanGoal, PlanGoal.plan_id == LearningPlan.id)
        .where(PlanMember.student_id == student_id, PlanGoal.misconception == misconception,
               LearningPlan.closed.is_(False))
        .order_by(LearningPlan.created_at.desc()).limit(1))


# ------------------------------------------------------------------------------------------------ editing


def _goal(plan: LearningPlan, goal_id: int) -> PlanGoal:
    found = next((g for g in plan.goals if g.id == goal_id), None)
    if found is None:
        raise NotVisible(authz.NO_SUCH_OBJECT)
    return found


def _goal_activity(plan: LearningPlan, activity_id: int) -> GoalActivity:
    found = next((a for g in plan.goals for a in g.activities if a.id == activity_id), None)
    if found is None:
        raise NotVisible(authz.NO_SUCH_OBJECT)
    return found


def edit_plan(session: Session, actor: User, public_id: str, *, title: str | None = None,
              target_date: dt.date | str | None = None, today: dt.date | None = None) -> LearningPlan:
    plan = get_plan(session, actor, public_id, "edit")
    if title is not None:
        title = _text(title, "title", MAX_TITLE)
        if not title:
            raise InvalidInput(msg("Give the plan a title."), field="title")
        if title != plan.title:
            _record(session, plan, actor, "title", plan.title, title)
            plan.title = title
    if target_date not in (None, ""):
        target = _target(target_date, today or dt.date.today())
        if target != plan.target_date:
            _record(session, plan, actor, "target_date", plan.target_date.isoformat(), target.isoformat())
            plan.target_date = target
    plan.updated_at = utcnow()
    return plan


def set_goal(session: Session, actor: User, public_id: str, goal_id: int, *, status: str | None = None,
             note: str | None = None) -> PlanGoal:
    plan = get_plan(session, actor, public_id, "edit")
    goal = _goal(plan, goal_id)
    if status is not None:
        if status not in GOAL_STATES:
            raise InvalidInput(msg("Unknown goal status: choose working, met, partly or not yet."), field="status")
        if status != goal.status:
            _record(session, plan, actor, "goal_status", f"{goal.misconception}: {goal.status}",
                    f"{goal.misconception}: {status}")
            goal.status = status
    if note is not None:
        note = _text(note, "note", MAX_NOTE)
        if note != goal.note:
            _record(session, plan, actor, "goal_note", goal.note, note)
            goal.note = note
    plan.updated_at = utcnow()
    return goal


def add_activity(session: Session, actor: User, public_id: str, goal_id: int, activity_key: str,
                 day: dt.date | str | None = None) -> GoalActivity:
    plan = get_plan(session, actor, public_id, "edit")
    goal = _goal(plan, goal_id)
    key = (activity_key or "").strip()
    if session.scalar(select(Activity.id).where(Activity.key == key)) is None:
        raise InvalidInput(msg("There is no activity %(key)s in the library: choose one from the list.",
                               key=repr(key[:80])), field="activity")
    if any(a.activity_key == key for a in goal.activities):
        raise InvalidInput(msg("This activity is already part of the goal."), field="activity")
    added = GoalActivity(activity_key=key, position=max((a.position for a in goal.activities), default=0) + 1,
                         day=_day(day, plan))
    goal.activities.append(added)
    _record(session, plan, actor, "activity_added", "", f"{goal.misconception}: {key}")
    plan.updated_at = utcnow()
    session.flush()
    return added


def _day(day: dt.date | str | None, plan: LearningPlan) -> dt.date | None:
    if day in (None, ""):
        return None
    if isinstance(day, str):
        try:
            day = dt.date.fromisoformat(day.strip())
        except ValueError:
            raise InvalidInput(msg("The day must be a date like 2027-01-31."), field="day") from None
    if day > plan.target_date:
        raise InvalidInput(msg("That day is after the plan's target date (%(date)s).",
                               date=plan.target_date.isoformat()), field="day")
    return day


def remove_activity(session: Session, actor: User, public_id: str, activity_id: int) -> None:
    plan = get_plan(session, actor, public_id, "edit")
    found = _goal_activity(plan, activity_id)
    _record(session, plan, actor, "activity_removed", f"{found.goal.misconception}: {found.activity_key}", "")
    found.goal.activities.remove(found)
    plan.updated_at = utcnow()


def update_activity(session: Session, actor: User, public_id: str, activity_id: int, *, done: bool | None = None,
                    day: dt.date | str | None = None, clear_day: bool = False) -> GoalActivity:
    plan = get_plan(session, actor, public_id, "edit")
    found = _goal_activity(plan, activity_id)
    if done is not None and done != (found.done_at is not None):
        _record(session, plan, actor, "activity_done" if done else "activity_not_done", "", found.activity_key)
        found.done_at = utcnow() if done else None
    if clear_day or day not in (None, ""):
        new_day = None if clear_day else _day(day, plan)
        if new_day != found.day:
            _record(session, plan, actor, "activity_day", found.day.isoformat() if found.day else "",
                    f"{found.activity_key}: {new_day.isoformat() if new_day else ''}")
            found.day = new_day
    plan.updated_at = utcnow()
    return found


def record_check(session: Session, actor: User, public_id: str, goal_id: int, result: str | None) -> PlanGoal:
    """The check item's result, as the teacher saw it: correct / incorrect, or cleared."""
    plan = get_plan(session, actor, public_id, "edit")
    goal = _goal(plan, goal_id)
    result = result or None
    if result is not None and result not in CHECK_RESULTS:
        raise InvalidInput(msg("A check result is correct or incorrect."), field="result")
    if goal.check_item is None:
        raise InvalidInput(msg("This goal has no check item: the bank has none left that the student has not seen."),
                           field="result")
    if result != goal.check_result:
        _record(session, plan, actor, "check_result", goal.check_result or "", f"{goal.misconception}: {result or ''}")
        goal.check_result = result
    plan.updated_at = utcnow()
    return goal


def share_with_coach(session: Session, actor: User, public_id: str, shared: bool) -> LearningPlan:
    plan = get_plan(session, actor, public_id, "share")
    if plan.shared_with_coach != shared:
        _record(session, plan, actor, "shared" if shared else "unshared")
        plan.shared_with_coach = shared
    return plan


def close_plan(session: Session, actor: User, public_id: str, closed: bool = True) -> LearningPlan:
    plan = get_plan(session, actor, public_id, "edit")
    if plan.closed != closed:
        _record(session, plan, actor, "closed" if closed else "reopened")
        plan.closed = closed
    return plan


def delete_plan(session: Session, actor: User, public_id: str) -> None:
    session.delete(get_plan(session, actor, public_id, "delete"))


# ------------------------------------------------------------------------------------------------ progress


def goal_state(evidence: analysis.Evidence | None, before: analysis.Evidence | None) -> str | None:
    """met / partly / not_yet from the misconception's evidence in a newer result, or None when that result
    gave no chance to show it. Met: no answer revealed it. Not yet: still held. Partly: revealed, but no longer
    held, or held on fewer answers than before."""
    if evidence is None or not evidence.opportunities:
        return None
    if evidence.count == 0:
        return "met"
    if not evidence.held:
        return "partly"
    if before is not None and before.opportunities and evidence.strength < before.strength:
        return "partly"
    return "not_yet"


def reassess(session: Session, actor: User, class_id: int) -> list[LearningPlan]:
    """Every open plan of the class against each member's latest result, when it is newer than the plan's
    draft: each goal becomes met, partly or not yet (a group goal: the least any member reached)."""
    diagnostics.get_class(session, actor, class_id, "edit")  # only the class's teacher re-assesses
    plans = [p for p in plans_of_class(session, actor, class_id) if not p.closed and p.teacher_id == actor.id]
    students = list({m.student_id: m.student for p in plans for m in p.members}.values())
    latest = _evidence(session, students)
    drafted_from = {p.assignment_id for p in plans if p.assignment_id}
    earlier = {r.assignment.id: r for r in diagnostics.results_of(session, list(session.scalars(
        select(Assignment).where(Assignment.id.in_(drafted_from))
        .options(selectinload(Assignment.items).selectinload(AssignmentItem.item)))))} if drafted_from else {}
    rank = {"not_yet": 0, "partly": 1, "met": 2}
    changed = []
    for plan in plans:
        newer = [latest[m.student_id] for m in plan.members if m.student_id in latest
                 and latest[m.student_id].assignment.id != plan.assignment_id
                 and _after(latest[m.student_id].assignment, plan)]
        if not newer:
            continue
        before_res = earlier.get(plan.assignment_id)
        for goal in plan.goals:
            states = []
            for found in newer:
                old = None
                if before_res is not None:
                    old_profile = next((p for p in before_res.profiles if p.student == found.student.code), None)
                    old = old_profile.misconceptions.get(goal.misconception) if old_profile else None
                state = goal_state(found.profile.misconceptions.get(goal.misconception), old)
                if state:
                    states.append(state)
            if states:
                state = min(states, key=rank.__getitem__)
                if state != goal.status:
                    _record(session, plan, actor, "reassessed", f"{goal.misconception}: {goal.status}",
                            f"{goal.misconception}: {state}")
                    goal.status = state
        plan.reassessed_with = newer[0].assignment
        plan.updated_at = utcnow()
        changed.append(plan)
    return changed


def _after(assignment: Assignment, plan: LearningPlan) -> bool:
    drafted = plan.assignment
    return drafted is None or (assignment.closes_at, assignment.id) > (drafted.closes_at, drafted.id)


# ------------------------------------------------------------------------------------------------ the week


@dataclass
class WeekRow:
    day: dt.date
    entries: list[tuple[LearningPlan, PlanGoal, GoalActivity]]


def week(session: Session, actor: User, class_id: int, monday: dt.date) -> tuple[list[WeekRow], list]:
    """The school week from `monday` (Sunday to Thursday in Israel, so the seven days are shown with what
    falls on them), and the open plans' activities not yet on any day."""
    monday = monday - dt.timedelta(days=monday.weekday())
    days = [monday - dt.timedelta(days=1) + dt.timedelta(days=n) for n in range(7)]
    rows = {d: WeekRow(d, []) for d in days}
    unscheduled = []
    for plan in plans_of_class(session, actor, class_id):
        if plan.closed:
            continue
        for goal in plan.goals:
            for activity in goal.activities:
                if activity.day in rows:
                    rows[activity.day].entries.append((plan, goal, activity))
                elif activity.day is None and activity.done_at is None:
                    unscheduled.append((plan, goal, activity))
    return [rows[d] for d in days], unscheduled


# ------------------------------------------------------------------------------------------------ the class view


def goals_met(plans: list[LearningPlan]) -> dict[str, int]:
    counts = {state: 0 for state in GOAL_STATES}
    for plan in plans:
        if plan.kind == "student":
            for goal in plan.goals:
                counts[goal.status] += 1
    return counts


def check_items(session: Session, plan: LearningPlan, lang: str) -> dict[int, object]:
    """goal id -> the check item's text in `lang` (stem and choices), for the goals that have one."""
    keys = [g.check_item for g in plan.goals if g.check_item]
    if not keys:
        return {}
    items = {i.key: i for i in session.scalars(select(Item).where(Item.key.in_(keys), Item.current.is_(True)))}
    return {g.id: diagnostics.item_text(items[g.check_item], lang) for g in plan.goals if g.check_item in items}


def answer_labels(session: Session, plan: LearningPlan, lang: str) -> dict[str, dict[str, str]]:
    """item key -> {choice key: the label a reader in `lang` sees} for the items a plan's evidence cites, so an
    answer reads "ב" in Hebrew where the data says "B"."""
    keys = {a["item"] for g in plan.goals for a in (g.evidence or {}).get("answers", [])}
    if not keys:
        return {}
    return {item.key: diagnostics.item_text(item, lang).choice_labels
            for item in session.scalars(select(Item).where(Item.key.in_(keys), Item.current.is_(True)))}


LEVELS = {"not_yet": 1, "working": 1, "partly": 2, "met": 3}


def timeline(plan: LearningPlan) -> tuple[list[dt.date], dict[str, list[int | None]]]:
    """Each goal's level (1 not yet, 2 partly, 3 met) on each day something changed it, from the plan's record:
    the draft, the teacher's status changes and re-assessments."""
    status = {g.misconception: "working" for g in plan.goals}
    days: list[dt.date] = []
    rows: list[dict[str, str]] = []
    for change in plan.changes:
        if change.what in ("goal_status", "reassessed"):
            key, _sep, state = change.after.partition(": ")
            if key in status and state in LEVELS:
                status[key] = state
        elif change.what != "drafted":
            continue
        day = change.at.date()
        if days and days[-1] == day:
            rows[-1] = dict(status)
        else:
            days.append(day)
            rows.append(dict(status))
    return days, {key: [LEVELS[row[key]] for row in rows] for key in status}
