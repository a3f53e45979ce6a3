"""Who reads and changes learning plans.

A plan is the teacher's, like the class and the student records it is drawn from: the class's teacher sees,
edits, prints and shares it. Their coach (an accepted, unended coaching link) reads it only while the teacher
shares it, and may not change it. Nobody else sees a plan; students have no account here, and a student's phone
page never shows a plan. The activity library is read by everyone signed in.
"""

from __future__ import annotations

from sqlalchemy import Select, exists, or_, select
from sqlalchemy.orm import object_session

from app.accounts.models import Role, User
from app.authz import rule, scope
from app.coaching.models import CoachLink
from app.coaching.policy import coached_teacher_ids
from app.plans.models import Activity, LearningPlan

OWNER_ACTIONS = {"view", "edit", "delete", "share", "print"}
COACH_ACTIONS = {"view", "print"}


def _coaches(actor: User) -> Select:
    """The teachers this person coaches now."""
    return coached_teacher_ids(actor)


@rule(LearningPlan)
def plan_rule(actor: User, action: str, plan: LearningPlan) -> bool:
    if plan.teacher_id == actor.id:
        return action in OWNER_ACTIONS
    if action not in COACH_ACTIONS or not plan.shared_with_coach:
        return False
    session = object_session(plan)
    if session is None:
        return False
    return bool(session.scalar(select(exists(_coaches(actor).where(CoachLink.teacher_id == plan.teacher_id)))))


@scope(LearningPlan)
def plan_scope(actor: User, query: Select) -> Select:
    return query.where(or_(
        LearningPlan.teacher_id == actor.id,
        LearningPlan.shared_with_coach.is_(True) & LearningPlan.teacher_id.in_(_coaches(actor))))


@rule(Activity)
def activity_rule(actor: User, action: str, _activity: Activity) -> bool:
    return action == "view" or (action == "manage" and actor.role == Role.admin)


@scope(Activity)
def activity_scope(actor: User, query: Select) -> Select:
    return query
