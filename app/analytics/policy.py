"""Who reads a lesson's analytics.

The measures of a lesson are the teacher's own, like a reflection journal: private by default. The teacher sees,
corrects and shares them. Their coach (an accepted, unended coaching link) reads them, and reviews their markers,
only while the teacher shares them — and only for a lesson the coach may watch. Nobody else sees them: not a
community the lesson is shared with, not a school leader, not an administrator. They are never a score.
"""

from __future__ import annotations

from sqlalchemy import Select, exists, or_, select
from sqlalchemy.orm import object_session

from app import authz
from app.accounts.models import User
from app.analytics.models import LessonAnalysis, LessonMarker
from app.authz import rule, scope
from app.coaching.models import CoachLink
from app.coaching.policy import coached_teacher_ids

OWNER_ACTIONS = {"view", "relabel", "share", "review", "rerun"}
COACH_ACTIONS = {"view", "review"}


def _is_coach(actor: User, analysis: LessonAnalysis) -> bool:
    session = object_session(analysis)
    if session is None:
        return False
    coached = coached_teacher_ids(actor).where(CoachLink.teacher_id == analysis.teacher_id)
    return bool(session.scalar(select(exists(coached))))


@rule(LessonAnalysis)
def analysis_rule(actor: User, action: str, analysis: LessonAnalysis) -> bool:
    if analysis.teacher_id == actor.id:
        return action in OWNER_ACTIONS
    if action not in COACH_ACTIONS or not analysis.shared_with_coach:
        return False
    return _is_coach(actor, analysis) and authz.may(actor, "view", analysis.video)


@scope(LessonAnalysis)
def analysis_scope(actor: User, query: Select) -> Select:
    return query.where(or_(
        LessonAnalysis.teacher_id == actor.id,
        LessonAnalysis.shared_with_coach.is_(True) & LessonAnalysis.teacher_id.in_(coached_teacher_ids(actor))))


@rule(LessonMarker)
def marker_rule(actor: User, action: str, marker: LessonMarker) -> bool:
    return authz.may(actor, action, marker.analysis)
