"""Who may see, record, score and share rehearsals.

A rehearsal is private like a lesson: only its owner sees an attempt until they share it with a named colleague
(their coach, a peer), who may then watch it, comment on it and score it on the rubric; or, in a group rehearsal,
until they agree to show it to the group, whose members may watch and comment and whose facilitator may score it
and choose it to watch together. The attempt's recording is a Video: this module answers the lesson policy's
`lesson_rights` and `reachable_lessons` signals for rehearsal videos, so the player, the media links, the
transcript and the timestamped comments follow the attempt's rules with no rule of their own.

Scenarios of the library are seen by everyone signed in; a teacher's own scenario by its author, and by whoever
reaches one of its attempts or a group rehearsal of it (a reviewer needs the rubric).
"""

from __future__ import annotations

from sqlalchemy import Select, exists, or_, select
from sqlalchemy.orm import object_session

from app import signals
from app.accounts.models import User
from app.authz import may, rule, scope
from app.communities.models import CommunityMember
from app.rehearsals.models import Attempt, AttemptShare, RehearsalGroup, Scenario
from app.video.models import Video

OWNER_ACTIONS = {"view", "edit", "delete", "share", "reflect", "comment", "record"}


def _member_role(actor: User, community_id: int) -> str | None:
    session = object_session(actor)
    if session is None:
        return None
    return session.scalar(select(CommunityMember.role).where(CommunityMember.community_id == community_id,
                                                             CommunityMember.user_id == actor.id))


def _shared_with(actor: User, attempt: Attempt) -> bool:
    return any(share.user_id == actor.id for share in attempt.shares)


def _facilitates(actor: User, group: RehearsalGroup) -> bool:
    return group.facilitator_id == actor.id or _member_role(actor, group.community_id) == "facilitator"


@rule(Attempt)
def attempt_rule(actor: User, action: str, attempt: Attempt) -> bool:
    if attempt.owner_id == actor.id:
        return action in OWNER_ACTIONS
    shared = _shared_with(actor, attempt)
    group = attempt.group if attempt.shown_to_group else None
    in_group = group is not None and _member_role(actor, group.community_id) is not None
    if action in ("view", "comment"):
        return shared or in_group
    if action == "score":
        return shared or (group is not None and _facilitates(actor, group))
    if action == "choose":  # put on the group's screen
        return group is not None and _facilitates(actor, group)
    return False


def _shared_attempt_ids(actor: User) -> Select:
    return select(AttemptShare.attempt_id).where(AttemptShare.user_id == actor.id)


def _group_attempt_ids(actor: User) -> Select:
    communities = select(CommunityMember.community_id).where(CommunityMember.user_id == actor.id)
    groups = select(RehearsalGroup.id).where(RehearsalGroup.community_id.in_(communities))
    return select(Attempt.id).where(Attempt.shown_to_group.is_(True), Attempt.group_id.in_(groups))


@scope(Attempt)
def attempt_scope(actor: User, query: Select) -> Select:
    return query.where(or_(Attempt.owner_id == actor.id, Attempt.id.in_(_shared_attempt_ids(actor)),
                           Attempt.id.in_(_group_attempt_ids(actor))))


@rule(Scenario)
def scenario_rule(actor: User, action: str, scenario: Scenario) -> bool:
    mine = scenario.owner_id == actor.id
    if action in ("edit", "delete"):
        return mine
    if action not in ("view", "rehearse"):
        return False
    if scenario.owner_id is None or mine:
        return True
    session = object_session(scenario)
    if session is None:
        return False
    reached = select(Attempt.id).where(Attempt.scenario_id == scenario.id).where(
        Attempt.id.in_(_shared_attempt_ids(actor)) | Attempt.id.in_(_group_attempt_ids(actor)))
    communities = select(CommunityMember.community_id).where(CommunityMember.user_id == actor.id)
    grouped = select(RehearsalGroup.id).where(RehearsalGroup.scenario_id == scenario.id,
                                              RehearsalGroup.community_id.in_(communities))
    if action == "rehearse":  # a reviewer reads another's scenario; a group's member records it
        return bool(session.scalar(select(exists(grouped))))
    return bool(session.scalar(select(exists(reached) | exists(grouped))))


@scope(Scenario)
def scenario_scope(actor: User, query: Select) -> Select:
    return query.where(Scenario.owner_id.is_(None) | (Scenario.owner_id == actor.id))


@rule(RehearsalGroup)
def group_rule(actor: User, action: str, group: RehearsalGroup) -> bool:
    role = _member_role(actor, group.community_id)
    if action == "view":
        return role is not None
    if action in ("manage", "close"):
        return group.facilitator_id == actor.id or role == "facilitator"
    return False


@scope(RehearsalGroup)
def group_scope(actor: User, query: Select) -> Select:
    communities = select(CommunityMember.community_id).where(CommunityMember.user_id == actor.id)
    return query.where(RehearsalGroup.community_id.in_(communities))


# ------------------------------------------------------------------ the attempt's recording, for the lesson policy


@signals.lesson_rights.connect
def attempt_video_rights(actor: User, video: Video, clip=None) -> set[str] | None:
    if video.purpose != "rehearsal" or clip is not None:
        return None
    session = object_session(video)
    attempt = session.scalar(select(Attempt).where(Attempt.video_id == video.id)) if session is not None else None
    if attempt is None or attempt.owner_id == actor.id:
        return None
    return {right for right in ("view", "comment") if may(actor, right, attempt)}


@signals.reachable_lessons.connect
def attempt_videos(actor: User, clips: bool) -> Select | None:
    if clips:
        return None
    reached = select(Attempt.video_id).where(
        Attempt.video_id.is_not(None),
        Attempt.id.in_(_shared_attempt_ids(actor)) | Attempt.id.in_(_group_attempt_ids(actor)))
    return reached
