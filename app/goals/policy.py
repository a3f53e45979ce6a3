"""Who sees and does what with goals, indicators and the principal coaching log.

- The institute's administrators run the programme: every area, every value, the national view; they enrol
  schools (code, network, city), pair coaches with principals, and plan the coaches' group meetings.
- A school's principal (a school leader of that school) sees and leads their school: values (imported, entered),
  targets and roadmap. A network's or a city's leader sees and leads their network or city and sees its schools;
  they may import values for those schools and follow their targets, but set targets only for what they lead.
- A coach sees the schools of the principals they coach this year, and plans and records the sessions with them;
  the principal sees those sessions and prepares them too. Coaches see the group meetings of their rounds.
- Everyone else: "not found". Only aggregates leave a school: who is not of the school sees its small cells
  suppressed (app.goals.rollup), whatever else they may see.
"""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import object_session

from app.accounts.models import Role, User
from app.authz import rule, scope
from app.goals.models import Area, CoachRound, PrincipalPair, PrincipalSession, SessionAction, Step, Target


def runs_programme(actor: User) -> bool:
    return actor.role == Role.admin


def _leader_of(actor: User, area: Area) -> bool:
    return actor.role == Role.school_leader and actor.organization_id == area.organization_id


def inside(actor: User, area: Area) -> bool:
    """Whether the actor belongs to the school itself (and may see its small cells)."""
    return area.code is not None and actor.organization_id == area.organization_id


def leads(actor: User, area: Area) -> bool:
    """Sets targets, the roadmap and values of this area."""
    return runs_programme(actor) or _leader_of(actor, area)


def oversees(actor: User, area: Area) -> bool:
    """Leads the area, or the network or city it belongs to: may import its values and read it."""
    if leads(actor, area):
        return True
    return any(group is not None and _leader_of(actor, group) for group in (area.network, area.city))


def coaches(actor: User, area: Area) -> bool:
    session = object_session(area)
    if session is None or actor.role not in (Role.coach, Role.admin):
        return False
    return session.scalar(select(PrincipalPair.id).where(PrincipalPair.area_id == area.id,
                                                         PrincipalPair.coach_id == actor.id,
                                                         PrincipalPair.ended_at.is_(None)).limit(1)) is not None


@rule(Area)
def area_rule(actor: User, action: str, area: Area) -> bool:
    if action == "view":
        return oversees(actor, area) or coaches(actor, area)
    if action == "lead":
        return leads(actor, area)
    if action == "import":
        return oversees(actor, area)
    return False


def _areas_led(actor: User) -> Select:
    return select(Area.id).where(Area.organization_id == actor.organization_id)


@scope(Area)
def area_scope(actor: User, query: Select) -> Select:
    if runs_programme(actor):
        return query
    coached = select(PrincipalPair.area_id).where(PrincipalPair.coach_id == actor.id, PrincipalPair.ended_at.is_(None))
    if actor.role == Role.school_leader and actor.organization_id is not None:
        led = _areas_led(actor)
        return query.where(Area.id.in_(led) | Area.network_id.in_(led) | Area.city_id.in_(led) | Area.id.in_(coached))
    return query.where(Area.id.in_(coached))


@rule(Target)
def target_rule(actor: User, action: str, target: Target) -> bool:
    return area_rule(actor, "lead" if action in {"edit", "delete"} else "view", target.area)


@rule(Step)
def step_rule(actor: User, action: str, step: Step) -> bool:
    return area_rule(actor, "lead" if action in {"edit", "delete"} else "view", step.area)


@rule(PrincipalPair)
def pair_rule(actor: User, action: str, pair: PrincipalPair) -> bool:
    if runs_programme(actor):
        return True
    if action == "view":
        return actor.id in (pair.coach_id, pair.principal_id)
    if action == "plan":  # plan a session with the principal
        return pair.ended_at is None and actor.id in (pair.coach_id, pair.principal_id)
    return False


@scope(PrincipalPair)
def pair_scope(actor: User, query: Select) -> Select:
    if runs_programme(actor):
        return query
    return query.where((PrincipalPair.coach_id == actor.id) | (PrincipalPair.principal_id == actor.id))


@rule(PrincipalSession)
def session_rule(actor: User, action: str, meeting: PrincipalSession) -> bool:
    pair = meeting.pair
    if action == "view":
        return pair_rule(actor, "view", pair)
    if action == "prepare":  # the agenda and the data to look at, while planned
        return meeting.status == "planned" and pair_rule(actor, "plan", pair)
    if action == "record":  # what was said and agreed: the coach's log
        return runs_programme(actor) or (pair.ended_at is None and actor.id == pair.coach_id)
    return False


@rule(SessionAction)
def action_rule(actor: User, action: str, item: SessionAction) -> bool:
    return session_rule(actor, "view" if action == "view" else "record", item.session)


@rule(CoachRound)
def round_rule(actor: User, action: str, meeting: CoachRound) -> bool:
    if runs_programme(actor) or (meeting.led_by_id is not None and meeting.led_by_id == actor.id):
        return action in {"view", "record"}
    if action != "view":
        return False
    session = object_session(meeting)
    return session is not None and session.scalar(
        select(PrincipalPair.id).where(PrincipalPair.coach_id == actor.id, PrincipalPair.year == meeting.year)
        .limit(1)) is not None


@scope(CoachRound)
def round_scope(actor: User, query: Select) -> Select:
    if runs_programme(actor):
        return query
    years = select(PrincipalPair.year).where(PrincipalPair.coach_id == actor.id)
    return query.where(CoachRound.year.in_(years) | (CoachRound.led_by_id == actor.id))
