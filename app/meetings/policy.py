"""Who sees and runs a PLC meeting.

A meeting is its community's: every member sees it, pre-watches its evidence, joins it and responds while it is
not closed; the community's facilitators prepare, run and record it. Membership is read on every request, so a
member who leaves (or is removed) loses the meeting, its responses and its evidence at once, mid-meeting included.
Nobody outside the community sees a meeting; an administrator sees only the counts of the institute's report. The
protocol library is read by everyone signed in and imported by administrators.
"""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import object_session

from app.accounts.models import Role, User
from app.authz import rule, scope
from app.communities.models import CommunityMember
from app.meetings.models import Meeting, Protocol

MEMBER_ACTIONS = {"view"}
FACILITATOR_ACTIONS = {"view", "run", "delete"}


def role_in(actor: User, community_id: int, session=None) -> str | None:
    if session is None:
        return None
    return session.scalar(select(CommunityMember.role).where(CommunityMember.community_id == community_id,
                                                             CommunityMember.user_id == actor.id))


@rule(Meeting)
def meeting_rule(actor: User, action: str, meeting: Meeting) -> bool:
    role = role_in(actor, meeting.community_id, object_session(meeting))
    if role is None:
        return False
    if action == "respond":
        return meeting.status != "closed"
    return action in (FACILITATOR_ACTIONS if role == "facilitator" else MEMBER_ACTIONS)


@scope(Meeting)
def meeting_scope(actor: User, query: Select) -> Select:
    mine = select(CommunityMember.community_id).where(CommunityMember.user_id == actor.id)
    return query.where(Meeting.community_id.in_(mine))


@rule(Protocol)
def protocol_rule(actor: User, action: str, _protocol: Protocol) -> bool:
    return action == "view" or (action == "manage" and actor.role == Role.admin)


@scope(Protocol)
def protocol_scope(actor: User, query: Select) -> Select:
    return query


def may_report(actor: User) -> bool:
    """The institute's report of communities and meetings (counts only, never what was said)."""
    return actor.role in (Role.admin, Role.school_leader)
