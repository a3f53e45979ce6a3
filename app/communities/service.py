"""Communities: create, members, and what has been shared with them (no Flask here)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import authz
from app.accounts.models import User
from app.accounts.service import find_active_user
from app.communities import policy
from app.communities.models import MEMBER_ROLES, Community, CommunityMember
from app.errors import Conflict, Forbidden, InvalidInput, NotFound, msg

LANGUAGES = ("he", "ar", "en")


def _language(language: str | None, default: str) -> str:
    if language is None:
        return default
    if language not in LANGUAGES:
        raise InvalidInput(msg("A community meets in Hebrew, Arabic or English."), field="language")
    return language


def create_community(session: Session, actor: User, name: str, description: str = "", *,
                     language: str | None = None) -> Community:
    if not policy.may_create(actor):
        raise Forbidden(msg("Only PLC facilitators, school leaders and administrators start communities."))
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise InvalidInput(msg("A community needs a name of 1 to 200 characters."), field="name")
    community = Community(name=name, description=(description or "").strip()[:5000], created_by=actor,
                          organization_id=actor.organization_id,
                          language=_language(language, (actor.locale or "en")[:2] if (actor.locale or "en")[:2]
                                             in LANGUAGES else "en"))
    community.members.append(CommunityMember(user=actor, role="facilitator"))
    session.add(community)
    session.flush()
    return community


def set_language(session: Session, actor: User, public_id: str, language: str) -> Community:
    """The language the community's meetings are held and recorded in (the record's PDF)."""
    community = get_community(session, actor, public_id, "manage")
    community.language = _language(language or "", community.language)
    return community


def get_community(session: Session, actor: User, public_id: str, action: str = "view") -> Community:
    return authz.load(session, actor, Community, public_id, action)


def list_communities(session: Session, actor: User) -> list[Community]:
    return list(session.scalars(authz.visible(actor, select(Community)).order_by(Community.name)))


def facilitated_by(session: Session, actor: User) -> list[Community]:
    """The communities the person facilitates (their dashboard lists these first)."""
    return list(session.scalars(
        authz.visible(actor, select(Community)).join(CommunityMember, CommunityMember.community_id == Community.id)
        .where(CommunityMember.user_id == actor.id, CommunityMember.role == "facilitator")
        .order_by(Community.name)))


def member_counts(session: Session, communities: list[Community]) -> dict[int, int]:
    ids = [c.id for c in communities]
    if not ids:
        return {}
    rows = session.execute(select(CommunityMember.community_id, func.count()).where(
        CommunityMember.community_id.in_(ids)).group_by(CommunityMember.community_id))
    return dict(rows.all())


def add_member(session: Session, actor: User, public_id: str, email: str, role: str = "member") -> CommunityMember:
    community = get_community(session, actor, public_id, "manage")
    if role not in MEMBER_ROLES:
        raise InvalidInput(msg("A member is a facilitator or a member, not '%(role)s'.", role=role), field="role")
    user = find_active_user(session, email)
    current = session.scalar(select(CommunityMember).where(CommunityMember.community_id == community.id,
                                                           CommunityMember.user_id == user.id))
    if current is not None:
        if current.role != role:
            _keep_a_facilitator(session, community, current, role)
            current.role = role
        return current
    member = CommunityMember(community=community, user=user, role=role)
    session.add(member)
    session.flush()
    from app.notifications.service import notify

    notify(session, user, "community_added", {"community": community.name, "by": actor.display_name},
           f"/communities/{community.public_id}", actor=actor)
    return member


def _keep_a_facilitator(session: Session, community: Community, leaving: CommunityMember, new_role: str | None):
    if leaving.role != "facilitator" or new_role == "facilitator":
        return
    others = session.scalar(select(func.count()).where(CommunityMember.community_id == community.id,
                                                      CommunityMember.role == "facilitator",
                                                      CommunityMember.id != leaving.id))
    if not others:
        raise Conflict(msg("A community keeps at least one facilitator: name another facilitator first."))


def remove_member(session: Session, actor: User, public_id: str, user_id: int) -> None:
    """A facilitator removes anyone; a member removes themself (leaves)."""
    community = get_community(session, actor, public_id, "view")
    if user_id != actor.id:
        authz.require(actor, "manage", community, hide=False)
    member = session.scalar(select(CommunityMember).where(CommunityMember.community_id == community.id,
                                                          CommunityMember.user_id == user_id))
    if member is None:
        raise NotFound(msg("This person is not a member of the community."))
    _keep_a_facilitator(session, community, member, None)
    session.delete(member)


def shared_with(session: Session, actor: User, community: Community) -> list:
    """Live shares into this community the actor may open (consent is checked by the video policy)."""
    from app.sharing.models import Share

    authz.require(actor, "view", community)
    found = session.scalars(select(Share).where(Share.community_id == community.id, Share.revoked_at.is_(None))
                            .order_by(Share.created_at.desc()))
    return [s for s in found if authz.may(actor, "view", s.clip if s.clip is not None else s.video)]
