"""Who may see and run a professional learning community."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import object_session

from app import signals
from app.accounts.models import Role, User
from app.authz import may, rule, scope
from app.communities.models import Community, CommunityMember

CREATOR_ROLES = {Role.facilitator, Role.school_leader, Role.admin}


def membership(actor: User, community: Community) -> str | None:
    session = object_session(community)
    if session is None:
        return None
    return session.scalar(select(CommunityMember.role).where(CommunityMember.community_id == community.id,
                                                             CommunityMember.user_id == actor.id))


def may_create(actor: User) -> bool:
    return actor.role in CREATOR_ROLES


@rule(Community)
def community_rule(actor: User, action: str, community: Community) -> bool:
    role = membership(actor, community)
    if action == "view":
        return role is not None or actor.role == Role.admin
    if action in {"share_into", "leave"}:
        return role is not None
    if action == "manage":
        return role == "facilitator" or actor.role == Role.admin
    return False


@scope(Community)
def community_scope(actor: User, query: Select) -> Select:
    if actor.role == Role.admin:
        return query
    mine = select(CommunityMember.community_id).where(CommunityMember.user_id == actor.id)
    return query.where(Community.id.in_(mine))


@signals.member_communities.connect
def member_community_ids(actor: User) -> Select:
    """The communities the actor belongs to: community shares reach their members."""
    return select(CommunityMember.community_id).where(CommunityMember.user_id == actor.id)


@signals.community_for_sharing.connect
def community_to_share_into(session, actor: User, public_id: str) -> Community | None:
    """The community with this public id, if the actor may share a lesson into it."""
    community = session.scalar(select(Community).where(Community.public_id == public_id))
    return community if community is not None and may(actor, "share_into", community) else None
