"""Who sees and does what in certification.

- The institute's administrators run the programme: they open cohorts, record assessors' training, revoke
  certificates and read every cohort. A cohort's leader runs that cohort (candidates, meetings, attendance,
  assigning assessors, deciding); its candidates see the cohort and their own portfolio only.
- A portfolio is its candidate's: they edit it while it is a draft and the deadline has not passed, and submit
  it. An assessor sees a submitted portfolio only while assigned a standard of it, and scores only that standard;
  when the cohort is blind, an assessor never learns the candidate's name and a candidate never learns the
  assessors' names. Everyone else gets "not found".
- A certificate is its holder's to read and download; anyone may verify one on the public page, which shows what
  the signed credential itself says.
"""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import object_session

from app import signals
from app.accounts.models import Role, User
from app.authz import rule, scope
from app.rehearsals.models import Attempt
from app.standards.models import (
    AssessorTraining,
    Certificate,
    Cohort,
    CohortMember,
    Portfolio,
    PortfolioEntry,
    Score,
)
from app.video.models import Clip, Video


def runs_programme(actor: User) -> bool:
    return actor.role == Role.admin


def _member(actor: User, cohort: Cohort) -> bool:
    session = object_session(cohort)
    if session is None:
        return False
    return session.scalar(select(CohortMember.id).where(CohortMember.cohort_id == cohort.id,
                                                        CohortMember.user_id == actor.id)) is not None


def leads(actor: User, cohort: Cohort) -> bool:
    return runs_programme(actor) or (cohort.leader_id is not None and cohort.leader_id == actor.id)


@rule(Cohort)
def cohort_rule(actor: User, action: str, cohort: Cohort) -> bool:
    if leads(actor, cohort):
        return action in {"view", "manage"}
    return action == "view" and _member(actor, cohort)


@scope(Cohort)
def cohort_scope(actor: User, query: Select) -> Select:
    if runs_programme(actor):
        return query
    mine = select(CohortMember.cohort_id).where(CohortMember.user_id == actor.id)
    return query.where((Cohort.leader_id == actor.id) | Cohort.id.in_(mine))


def assigned_standards(actor: User, portfolio: Portfolio) -> set[str]:
    """The standards of this portfolio the actor is assigned to score (any round)."""
    session = object_session(portfolio)
    if session is None or portfolio.status == "draft":
        return set()
    return set(session.scalars(select(Score.standard_key).where(Score.portfolio_id == portfolio.id,
                                                                Score.assessor_id == actor.id)))


@rule(Portfolio)
def portfolio_rule(actor: User, action: str, portfolio: Portfolio) -> bool:
    if portfolio.candidate_id == actor.id:
        if action == "view":
            return True
        return action in {"edit", "submit"} and portfolio.status == "draft"
    if leads(actor, portfolio.cohort):
        return action in {"view", "manage"}
    if action in {"view", "score"}:
        return bool(assigned_standards(actor, portfolio))
    return False


@scope(Portfolio)
def portfolio_scope(actor: User, query: Select) -> Select:
    if runs_programme(actor):
        return query
    led = select(Cohort.id).where(Cohort.leader_id == actor.id)
    assessing = select(Score.portfolio_id).where(Score.assessor_id == actor.id)
    return query.where((Portfolio.candidate_id == actor.id) | Portfolio.cohort_id.in_(led)
                       | (Portfolio.id.in_(assessing) & (Portfolio.status != "draft")))


@rule(Certificate)
def certificate_rule(actor: User, action: str, certificate: Certificate) -> bool:
    if runs_programme(actor):
        return action in {"view", "download", "revoke"}
    return certificate.holder_id == actor.id and action in {"view", "download"}


@scope(Certificate)
def certificate_scope(actor: User, query: Select) -> Select:
    if runs_programme(actor):
        return query
    return query.where(Certificate.holder_id == actor.id)


@rule(AssessorTraining)
def training_rule(actor: User, action: str, training: AssessorTraining) -> bool:
    if runs_programme(actor):
        return action in {"view", "manage"}
    return action == "view" and training.user_id == actor.id


@scope(AssessorTraining)
def training_scope(actor: User, query: Select) -> Select:
    return query if runs_programme(actor) else query.where(AssessorTraining.user_id == actor.id)


def may_read_register(actor: User) -> bool:
    """The register of certified leaders (names, roles, organizations, years) and its charts."""
    return actor.role in (Role.admin, Role.school_leader)


# ------------------------------------------------- a portfolio's clips and rehearsal recordings, for the lesson policy


@signals.lesson_rights.connect
def portfolio_evidence_rights(actor: User, video: Video, clip: Clip | None = None) -> set[str] | None:
    """An assessor watches the clips and rehearsal recordings of the standards they are assigned to score in a
    submitted portfolio: nothing more of the lesson, and nothing once the portfolio is no longer theirs to read."""
    session = object_session(video)
    if session is None:
        return None
    if clip is not None:
        kind, ref = "clip", clip.id
    elif video.purpose == "rehearsal":
        ref = session.scalar(select(Attempt.id).where(Attempt.video_id == video.id))
        kind = "attempt"
        if ref is None:
            return None
    else:
        return None
    found = session.scalar(
        select(PortfolioEntry.id).join(Portfolio, Portfolio.id == PortfolioEntry.portfolio_id)
        .join(Score, (Score.portfolio_id == Portfolio.id) & (Score.standard_key == PortfolioEntry.standard_key))
        .where(PortfolioEntry.kind == kind, PortfolioEntry.ref_id == ref, Portfolio.status != "draft",
               Score.assessor_id == actor.id).limit(1))
    return {"view"} if found is not None else None
