"""Who may see and change coaching links and cycles.

A school leader (for teachers in their organization) or an administrator assigns a coach; the teacher
accepts. Only the two of them see and shape their cycles; leaders see that a link exists, not what is
said in it. A coach sees none of the teacher's lessons until the teacher shares them (adding a lesson to
a cycle shares it)."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import object_session

from app import signals
from app.accounts.models import Role, User
from app.accounts.policy import leads, subtree_ids
from app.authz import rule, scope
from app.coaching.models import CoachingCycle, CoachLink

COACH_ROLES = {Role.coach}


def manages(actor: User, teacher: User) -> bool:
    return actor.role == Role.admin or leads(actor, teacher.organization_id)


@signals.active_coaches.connect
def active_coach_ids(session, teacher_id: int) -> set[int]:
    """Whom this teacher has accepted as coach, and not ended: the one audience beyond full consent."""
    return set(session.scalars(select(CoachLink.coach_id).where(CoachLink.teacher_id == teacher_id,
                                                                CoachLink.status == "active")))


def is_active_coach(actor: User, teacher: User) -> bool:
    session = object_session(teacher) or object_session(actor)
    return session is not None and actor.id in active_coach_ids(session, teacher.id)


@signals.coached_teachers.connect
def coached_teacher_ids(actor: User) -> Select:
    """The teachers whose active coach the actor is: they reach those lessons even without full consent."""
    return select(CoachLink.teacher_id).where(CoachLink.coach_id == actor.id, CoachLink.status == "active")


@signals.teacher_summary_readers.connect
def may_see_teacher_summary(actor: User, teacher: User) -> bool:
    """A teacher's per-month tag summary: their active coach sees it (counting only shared lessons)."""
    return actor.id == teacher.id or is_active_coach(actor, teacher)


@rule(CoachLink)
def link_rule(actor: User, action: str, link: CoachLink) -> bool:
    party = actor.id in (link.coach_id, link.teacher_id)
    if action == "view":
        return party or manages(actor, link.teacher)
    if action == "respond":
        return actor.id == link.teacher_id and link.status == "pending"
    if action == "end":
        return (party or manages(actor, link.teacher)) and link.status in ("pending", "active")
    if action == "plan":
        return party and link.status == "active"
    return False


@scope(CoachLink)
def link_scope(actor: User, query: Select) -> Select:
    mine = (CoachLink.coach_id == actor.id) | (CoachLink.teacher_id == actor.id)
    if actor.role == Role.admin:
        return query
    if actor.role == Role.school_leader:
        led = select(User.id).where(User.organization_id.in_(subtree_ids(actor)))
        return query.where(mine | CoachLink.teacher_id.in_(led))
    return query.where(mine)


@rule(CoachingCycle)
def cycle_rule(actor: User, action: str, cycle: CoachingCycle) -> bool:
    link = cycle.link
    party = actor.id in (link.coach_id, link.teacher_id)
    open_ = cycle.closed_at is None and link.status == "active"
    if action == "view":
        return party
    if action == "edit":
        return party and open_
    if action in {"add_lesson", "agree"}:
        return actor.id == link.teacher_id and open_
    if action == "close":
        return party and cycle.closed_at is None
    return False


@scope(CoachingCycle)
def cycle_scope(actor: User, query: Select) -> Select:
    links = select(CoachLink.id).where((CoachLink.coach_id == actor.id) | (CoachLink.teacher_id == actor.id))
    return query.where(CoachingCycle.link_id.in_(links))
