"""Who may see and manage accounts, organizations, API tokens and data exports."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import object_session

from app.accounts.models import ApiToken, DataExport, Organization, Role, User
from app.authz import rule, scope


def ancestors(org: Organization | None) -> list[int]:
    """The ids of an organization and every organization above it."""
    chain: list[int] = []
    while org is not None and org.id not in chain:
        chain.append(org.id)
        org = org.parent
    return chain


def subtree_ids(user: User) -> list[int]:
    """The ids of the user's organization and everything below it."""
    if user.organization_id is None:
        return []
    session = object_session(user)
    found = [user.organization_id]
    frontier = [user.organization_id]
    while frontier:
        frontier = list(session.scalars(select(Organization.id).where(Organization.parent_id.in_(frontier))))
        frontier = [i for i in frontier if i not in found]
        found.extend(frontier)
    return found


def leads(user: User, org_id: int | None) -> bool:
    return user.role == Role.school_leader and org_id is not None and org_id in subtree_ids(user)


@rule(User)
def user_rule(actor: User, action: str, target: User) -> bool:
    if actor.role == Role.admin or actor.id == target.id:
        return action in {"view", "edit", "manage"} if actor.role == Role.admin else action in {"view", "edit"}
    if action == "view":
        # Colleagues in one organization see each other's name (needed to share with them by name).
        return (
            target.organization_id is not None and target.organization_id == actor.organization_id
        ) or leads(actor, target.organization_id)
    if action == "manage":
        return leads(actor, target.organization_id) and target.role != Role.admin
    return False


@scope(User)
def user_scope(actor: User, query: Select) -> Select:
    if actor.role == Role.admin:
        return query
    orgs = set(subtree_ids(actor)) if actor.role == Role.school_leader else set()
    if actor.organization_id is not None:
        orgs.add(actor.organization_id)
    return query.where((User.id == actor.id) | User.organization_id.in_(orgs))


@rule(Organization)
def organization_rule(actor: User, action: str, org: Organization) -> bool:
    if actor.role == Role.admin:
        return True
    if action == "view":
        return org.id in ancestors(actor.organization) or leads(actor, org.id)
    return False


@scope(Organization)
def organization_scope(actor: User, query: Select) -> Select:
    if actor.role == Role.admin:
        return query
    ids = set(ancestors(actor.organization))
    if actor.role == Role.school_leader:
        ids.update(subtree_ids(actor))
    return query.where(Organization.id.in_(ids))


@rule(ApiToken)
def token_rule(actor: User, action: str, token: ApiToken) -> bool:
    return action in {"view", "revoke"} and (token.user_id == actor.id or actor.role == Role.admin)


@scope(ApiToken)
def token_scope(actor: User, query: Select) -> Select:
    return query.where(ApiToken.user_id == actor.id)


@rule(DataExport)
def export_rule(actor: User, action: str, export: DataExport) -> bool:
    """An archive of someone's data is theirs alone: not even an administrator opens it."""
    return export.user_id == actor.id and action in {"view", "download"}


@scope(DataExport)
def export_scope(actor: User, query: Select) -> Select:
    return query.where(DataExport.user_id == actor.id)
