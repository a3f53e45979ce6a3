"""Certification's use cases: cohorts and their course meetings, a candidate's portfolio (evidence they may use,
commentary within the word limit, what is still missing, submission by the deadline, frozen once submitted),
assessors' training and scoring (a share double-scored, a third assessor where two disagree by more than one
level), agreement statistics, and certificates (issued as signed Open Badges 3.0 credentials, verified,
revoked) with the register of certified leaders.

Every function takes the session and the acting user and authorizes through app.authz; none commits (the
request's unit of work does). Nothing Flask: the pages, the API and the CLI call the same functions.
"""

from __future__ import annotations

import math
import os
import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app import authz
from app.accounts.models import User
from app.coaching.models import CoachingCycle, CoachLink
from app.communities.models import Community, CommunityMember
from app.db import utcnow
from app.errors import Conflict, InvalidInput, NotVisible, msg
from app.inputs import check_text
from app.meetings.models import Meeting
from app.notifications.service import notify
from app.rehearsals.models import Attempt, pick
from app.standards import credentials, standardsfile
from app.standards.models import (
    ATTENDANCE,
    AssessorTraining,
    Certificate,
    Cohort,
    CohortMember,
    CohortSession,
    CredentialKey,
    Portfolio,
    PortfolioEntry,
    Score,
    SessionAttendance,
)
from app.standards.policy import leads, runs_programme
from app.video.models import Clip, Consent, Video

MAX_NAME = 200
MAX_PLACE = 300
MAX_RATIONALE = 5_000
MAX_REASON = 2_000
MAX_MEMBERS_AT_ONCE = 200
_WORD = re.compile(r"\w+(?:[-'’]\w+)*")


def words(text: str) -> int:
    """Words as a reader counts them, in any script (Hebrew and Arabic letters are \\w)."""
    return len(_WORD.findall(text or ""))


def _now(now: datetime | None = None) -> datetime:
    return now or utcnow()


# ------------------------------------------------------------------------------------------------- frameworks


def framework_of(ref: str) -> standardsfile.Framework:
    found = standardsfile.framework(ref)
    if found is None:
        raise InvalidInput(msg("There is no version '%(ref)s' of the standards.", ref=ref[:60]), field="framework")
    return found


def role_of(ref: str, role_key: str) -> standardsfile.Role:
    role = framework_of(ref).role(role_key)
    if role is None:
        raise InvalidInput(msg("The standards have no role '%(role)s'.", role=role_key[:40]), field="role")
    return role


def standard_of(ref: str, role_key: str, standard_key: str) -> standardsfile.Standard:
    found = framework_of(ref).standard(role_key, standard_key)
    if found is None:
        raise InvalidInput(msg("The role has no standard '%(standard)s'.", standard=standard_key[:40]),
                           field="standard")
    return found


# ---------------------------------------------------------------------------------------------------- cohorts


_REQUIRED = {
    "name": msg("Give the cohort a name."),
    "title": msg("Give the course meeting a title."),
    "reason": msg("Write the reason for revoking the certificate."),
}


def _clean(value: str | None, field_name: str, most: int, *, required: bool = True) -> str:
    text = " ".join((value or "").split())
    check_text(field_name, text)
    if required and not text:
        raise InvalidInput(_REQUIRED[field_name], field=field_name)
    if len(text) > most:
        raise InvalidInput(msg("This text is too long (at most %(most)d characters).", most=most), field=field_name)
    return text


def _user_by_email(session: Session, email: str | None, field_name: str) -> User:
    address = (email or "").strip().lower()[:254]
    user = session.scalar(select(User).where(func.lower(User.email) == address)) if address else None
    if user is None or not user.active:
        raise InvalidInput(msg("No active account has the address '%(email)s'.", email=address or "—"),
                           field=field_name)
    return user


def create_cohort(session: Session, actor: User, *, name: str, role_key: str, deadline: datetime,
                  leader_email: str | None = None, blind: bool = True, double_share: float = 0.25,
                  framework_ref: str | None = None, now: datetime | None = None) -> Cohort:
    if not runs_programme(actor):
        raise authz.NotPermitted(msg("Only the institute's administrators open cohorts."))
    ref = framework_ref or standardsfile.current().ref
    role_of(ref, role_key)
    name = _clean(name, "name", MAX_NAME)
    if deadline.tzinfo is None or deadline <= _now(now):
        raise InvalidInput(msg("The portfolio deadline must be in the future."), field="deadline")
    if not (isinstance(double_share, int | float) and 0 <= double_share <= 1 and math.isfinite(double_share)):
        raise InvalidInput(msg("The share scored twice is a percentage from 0 to 100."), field="double_share")
    leader = _user_by_email(session, leader_email, "leader") if (leader_email or "").strip() else actor
    cohort = Cohort(name=name, role_key=role_key, framework_ref=ref, leader_id=leader.id, deadline=deadline,
                    blind=bool(blind), double_share=float(double_share), created_by_id=actor.id)
    session.add(cohort)
    session.flush()
    return cohort


def get_cohort(session: Session, actor: User, public_id: str, action: str = "view") -> Cohort:
    return authz.load(session, actor, Cohort, public_id, action)


def cohorts(session: Session, actor: User) -> list[Cohort]:
    return list(session.scalars(authz.visible(actor, select(Cohort)).order_by(Cohort.deadline.desc(),
                                                                                  Cohort.id.desc())))


def add_members(session: Session, actor: User, public_id: str, emails: str) -> list[User]:
    """Candidates by e-mail address, one per line or separated by commas; every address must be an active
    account, or nobody is added."""
    cohort = get_cohort(session, actor, public_id, "manage")
    addresses = [a.strip().lower() for a in re.split(r"[\s,;]+", emails or "") if a.strip()]
    if not addresses:
        raise InvalidInput(msg("Write at least one e-mail address."), field="emails")
    if len(addresses) > MAX_MEMBERS_AT_ONCE:
        raise InvalidInput(msg("Add at most %(most)d candidates at once.", most=MAX_MEMBERS_AT_ONCE), field="emails")
    found = {u.email.lower(): u for u in session.scalars(select(User).where(func.lower(User.email).in_(addresses)))}
    unknown = [a for a in addresses if a not in found or not found[a].active]
    if unknown:
        raise InvalidInput(msg("No active account has these addresses: %(emails)s. Nobody was added.",
                               emails=", ".join(unknown[:10])), field="emails")
    present = set(session.scalars(select(CohortMember.user_id).where(CohortMember.cohort_id == cohort.id)))
    added = []
    for address in dict.fromkeys(addresses):
        user = found[address]
        if user.id in present:
            continue
        session.add(CohortMember(cohort_id=cohort.id, user_id=user.id))
        session.add(Portfolio(cohort_id=cohort.id, candidate_id=user.id))
        present.add(user.id)
        added.append(user)
    session.flush()
    return added


def remove_member(session: Session, actor: User, public_id: str, user_id: int) -> None:
    cohort = get_cohort(session, actor, public_id, "manage")
    member = session.scalar(select(CohortMember).where(CohortMember.cohort_id == cohort.id,
                                                       CohortMember.user_id == user_id))
    if member is None:
        raise InvalidInput(msg("That person is not a candidate of this cohort."), field="user")
    portfolio = session.scalar(select(Portfolio).where(Portfolio.cohort_id == cohort.id,
                                                       Portfolio.candidate_id == user_id))
    if portfolio is not None and portfolio.status != "draft":
        raise Conflict(msg("This candidate has submitted a portfolio; it stays with the cohort."))
    if portfolio is not None:
        session.delete(portfolio)
    session.delete(member)
    session.flush()


def members(session: Session, cohort: Cohort) -> list[User]:
    return list(session.scalars(select(User).join(CohortMember, CohortMember.user_id == User.id)
                                .where(CohortMember.cohort_id == cohort.id).order_by(User.display_name)))


def add_session(session: Session, actor: User, public_id: str, *, title: str, held_at: datetime,
                place: str = "") -> CohortSession:
    cohort = get_cohort(session, actor, public_id, "manage")
    meeting = CohortSession(cohort_id=cohort.id, title=_clean(title, "title", MAX_NAME), held_at=held_at,
                            place=_clean(place, "place", MAX_PLACE, required=False))
    session.add(meeting)
    session.flush()
    return meeting


def _course_session(session: Session, cohort: Cohort, session_id: int) -> CohortSession:
    found = session.get(CohortSession, session_id)
    if found is None or found.cohort_id != cohort.id:
        raise NotVisible(msg("No such meeting in this cohort."))
    return found


def set_attendance(session: Session, actor: User, public_id: str, session_id: int,
                   marks: dict[int, str]) -> int:
    """Each candidate's attendance at one course meeting: present, absent or excused."""
    cohort = get_cohort(session, actor, public_id, "manage")
    meeting = _course_session(session, cohort, session_id)
    candidates = {u.id for u in members(session, cohort)}
    for user_id, status in marks.items():
        if user_id not in candidates:
            raise InvalidInput(msg("That person is not a candidate of this cohort."), field="attendance")
        if status not in ATTENDANCE:
            raise InvalidInput(msg("Attendance is present, absent or excused."), field="attendance")
    existing = {a.user_id: a for a in meeting.attendance}
    for user_id, status in marks.items():
        row = existing.get(user_id)
        if row is None:
            session.add(SessionAttendance(session_id=meeting.id, user_id=user_id, status=status))
        else:
            row.status = status
    session.flush()
    return len(marks)


def attendance_table(session: Session, cohort: Cohort) -> dict[tuple[int, int], str]:
    """(course meeting id, candidate id) → status, for the cohort's whole course."""
    rows = session.execute(select(SessionAttendance.session_id, SessionAttendance.user_id, SessionAttendance.status)
                           .join(CohortSession, CohortSession.id == SessionAttendance.session_id)
                           .where(CohortSession.cohort_id == cohort.id))
    return {(sid, uid): status for sid, uid, status in rows}


# ------------------------------------------------------------------------------------------ evidence one may use


@dataclass
class EvidenceOption:
    kind: str
    ref_id: int
    public_id: str
    title: str
    when: datetime | date | None
    detail: str = ""


def _clips_of(session: Session, user: User) -> list[Clip]:
    """The candidate's own clips of their own lessons with the class's full consent: what may be shown to
    assessors outside the school."""
    return list(session.scalars(select(Clip).join(Video, Video.id == Clip.video_id)
                                .where(Clip.creator_id == user.id, Video.owner_id == user.id,
                                       Video.consent == Consent.full.value, Video.purpose == "lesson")
                                .order_by(Clip.created_at.desc())))


def _cycles_of(session: Session, user: User) -> list[CoachingCycle]:
    return list(session.scalars(select(CoachingCycle).join(CoachLink, CoachLink.id == CoachingCycle.link_id)
                                .where(CoachLink.coach_id == user.id).order_by(CoachingCycle.starts_on.desc())))


def _meetings_of(session: Session, user: User) -> list[Meeting]:
    """Meetings held (closed) in communities the candidate facilitates."""
    facilitated = select(CommunityMember.community_id).where(CommunityMember.user_id == user.id,
                                                             CommunityMember.role == "facilitator")
    return list(session.scalars(select(Meeting).where(Meeting.community_id.in_(facilitated),
                                                      Meeting.status == "closed")
                                .order_by(Meeting.starts_at.desc())))


def _attempts_of(session: Session, user: User) -> list[Attempt]:
    return list(session.scalars(select(Attempt).where(Attempt.owner_id == user.id)
                                .order_by(Attempt.created_at.desc())))


def evidence_options(session: Session, candidate: User, lang: str) -> dict[str, list[EvidenceOption]]:
    """Everything the candidate may put in a portfolio, by kind."""
    options: dict[str, list[EvidenceOption]] = {k: [] for k in standardsfile.EVIDENCE_KINDS}
    for clip in _clips_of(session, candidate):
        options["clip"].append(EvidenceOption("clip", clip.id, clip.public_id, clip.title, clip.created_at,
                                              clip.video.title))
    for cycle in _cycles_of(session, candidate):
        options["cycle"].append(EvidenceOption("cycle", cycle.id, cycle.public_id, cycle.focus_goal[:200],
                                               cycle.starts_on))
    for meeting in _meetings_of(session, candidate):
        community = session.get(Community, meeting.community_id)
        options["meeting"].append(EvidenceOption("meeting", meeting.id, meeting.public_id, meeting.title,
                                                 meeting.starts_at, community.name if community else ""))
    for attempt in _attempts_of(session, candidate):
        name = pick((attempt.scenario.spec or {}).get("title"), lang) or attempt.scenario.key
        options["attempt"].append(EvidenceOption("attempt", attempt.id, attempt.public_id, name,
                                                 attempt.created_at, f"#{attempt.number}"))
    return options


_NOT_USABLE = {
    "clip": msg("You may use only your own clips of your own lessons, and only where the class gave full consent."),
    "cycle": msg("You may use only coaching cycles you led as the coach."),
    "meeting": msg("You may use only community meetings you facilitated, once they are closed."),
    "attempt": msg("You may use only your own rehearsal attempts."),
}


def _usable(session: Session, candidate: User, kind: str, public_id: str) -> Any:
    """The evidence object the candidate may use, or a specific refusal."""
    model = {"clip": Clip, "cycle": CoachingCycle, "meeting": Meeting, "attempt": Attempt}.get(kind)
    if model is None:
        raise InvalidInput(msg("Evidence is a clip, a coaching cycle, a meeting or a rehearsal attempt."),
                           field="kind")
    obj = session.scalar(select(model).where(model.public_id == str(public_id)[:32]))
    allowed = {"clip": _clips_of, "cycle": _cycles_of, "meeting": _meetings_of, "attempt": _attempts_of}[kind]
    if obj is None or obj.id not in {o.id for o in allowed(session, candidate)}:
        raise InvalidInput(_NOT_USABLE[kind], field="evidence")
    return obj


# ------------------------------------------------------------------------------------------------- portfolios


def get_portfolio(session: Session, actor: User, public_id: str, action: str = "view") -> Portfolio:
    return authz.load(session, actor, Portfolio, public_id, action,
                      options=(selectinload(Portfolio.entries), selectinload(Portfolio.scores)))


def portfolios_of(session: Session, actor: User) -> list[Portfolio]:
    """The actor's own portfolios (as a candidate)."""
    return list(session.scalars(select(Portfolio).where(Portfolio.candidate_id == actor.id)
                                .options(selectinload(Portfolio.cohort)).order_by(Portfolio.id.desc())))


def cohort_portfolios(session: Session, actor: User, cohort: Cohort) -> list[Portfolio]:
    authz.require(actor, "manage", cohort)
    return list(session.scalars(select(Portfolio).where(Portfolio.cohort_id == cohort.id)
                                .options(selectinload(Portfolio.candidate), selectinload(Portfolio.scores),
                                         selectinload(Portfolio.entries))
                                .order_by(Portfolio.id)))


def role_for(portfolio: Portfolio) -> standardsfile.Role:
    return role_of(portfolio.cohort.framework_ref, portfolio.cohort.role_key)


def _open_for_edits(portfolio: Portfolio, now: datetime | None) -> None:
    if portfolio.status != "draft":
        raise Conflict(msg("This portfolio was submitted; it can no longer be changed."))
    if _now(now) > portfolio.cohort.deadline:
        raise Conflict(msg("The cohort's deadline has passed; the portfolio can no longer be changed."))


def _commentary(text: str | None, standard: standardsfile.Standard) -> str:
    value = (text or "").strip()
    check_text("commentary", value)
    count = words(value)
    if count > standard.evidence.words:
        raise InvalidInput(msg("The commentary has %(count)d words; this standard allows at most %(most)d.",
                               count=count, most=standard.evidence.words), field="commentary")
    return value


def add_entry(session: Session, actor: User, public_id: str, *, standard_key: str, kind: str, evidence: str,
              commentary: str = "", now: datetime | None = None) -> PortfolioEntry:
    portfolio = get_portfolio(session, actor, public_id, "edit")
    _open_for_edits(portfolio, now)
    standard = standard_of(portfolio.cohort.framework_ref, portfolio.cohort.role_key, standard_key)
    if kind not in standard.evidence.kinds:
        raise InvalidInput(msg("This standard does not take that kind of evidence."), field="kind")
    obj = _usable(session, portfolio.candidate, kind, evidence)
    held = [e for e in portfolio.entries if e.standard_key == standard.key]
    if any(e.kind == kind and e.ref_id == obj.id for e in held):
        raise Conflict(msg("This evidence is already in this standard."))
    if len(held) >= standard.evidence.most:
        raise Conflict(msg("This standard takes at most %(most)d pieces of evidence.", most=standard.evidence.most))
    entry = PortfolioEntry(portfolio_id=portfolio.id, standard_key=standard.key, kind=kind, ref_id=obj.id,
                           commentary=_commentary(commentary, standard),
                           position=max((e.position for e in held), default=0) + 1)
    session.add(entry)
    portfolio.entries.append(entry)
    session.flush()
    return entry


def _entry(portfolio: Portfolio, entry_id: int) -> PortfolioEntry:
    for entry in portfolio.entries:
        if entry.id == entry_id:
            return entry
    raise NotVisible(msg("No such piece of evidence in this portfolio."))


def set_commentary(session: Session, actor: User, public_id: str, entry_id: int, commentary: str,
                   now: datetime | None = None) -> PortfolioEntry:
    portfolio = get_portfolio(session, actor, public_id, "edit")
    _open_for_edits(portfolio, now)
    entry = _entry(portfolio, entry_id)
    entry.commentary = _commentary(commentary, standard_of(portfolio.cohort.framework_ref,
                                                           portfolio.cohort.role_key, entry.standard_key))
    session.flush()
    return entry


def remove_entry(session: Session, actor: User, public_id: str, entry_id: int, now: datetime | None = None) -> None:
    portfolio = get_portfolio(session, actor, public_id, "edit")
    _open_for_edits(portfolio, now)
    entry = _entry(portfolio, entry_id)
    portfolio.entries.remove(entry)
    session.delete(entry)
    session.flush()


@dataclass
class Gap:
    standard_key: str
    have: int
    least: int
    without_commentary: int


def missing(portfolio: Portfolio) -> list[Gap]:
    """What the portfolio still lacks, per standard: pieces below the least count, pieces with no commentary."""
    gaps = []
    by_standard = defaultdict(list)
    for entry in portfolio.entries:
        by_standard[entry.standard_key].append(entry)
    for standard in role_for(portfolio).standards:
        held = by_standard.get(standard.key, [])
        bare = sum(1 for e in held if not e.commentary.strip())
        if len(held) < standard.evidence.least or bare:
            gaps.append(Gap(standard.key, len(held), standard.evidence.least, bare))
    return gaps


def _snapshot_entry(session: Session, entry: PortfolioEntry) -> dict[str, Any]:
    """What assessors will read of one piece, copied now: later edits to the source do not reach it."""
    base: dict[str, Any] = {"id": entry.id, "kind": entry.kind, "ref_id": entry.ref_id,
                            "commentary": entry.commentary, "words": words(entry.commentary)}
    if entry.kind == "clip":
        clip = session.get(Clip, entry.ref_id)
        base.update(ref=clip.public_id, title=clip.title, note=clip.note, start=clip.start, end=clip.end,
                    lesson=clip.video.title, video=clip.video.public_id, when=clip.video.created_at.isoformat())
    elif entry.kind == "cycle":
        cycle = session.get(CoachingCycle, entry.ref_id)
        base.update(ref=cycle.public_id, title=cycle.focus_goal, next_steps=cycle.next_steps,
                    when=cycle.starts_on.isoformat(), closed=bool(cycle.closed_at), lessons=len(cycle.lessons))
    elif entry.kind == "meeting":
        meeting = session.get(Meeting, entry.ref_id)
        base.update(ref=meeting.public_id, title=meeting.title, summary=meeting.summary,
                    when=meeting.starts_at.isoformat(),
                    steps=[(s.texts or {}).get("title", {}) for s in meeting.steps],
                    next_steps=[n.text for n in meeting.next_steps])
    else:
        attempt = session.get(Attempt, entry.ref_id)
        base.update(ref=attempt.public_id, title=(attempt.scenario.spec or {}).get("title", {}),
                    number=attempt.number, reflection=attempt.reflection, when=attempt.created_at.isoformat(),
                    scenario=attempt.scenario.public_id,
                    video=attempt.video.public_id if attempt.video is not None else "")
    return base


def submit(session: Session, actor: User, public_id: str, now: datetime | None = None) -> Portfolio:
    portfolio = get_portfolio(session, actor, public_id, "submit")
    _open_for_edits(portfolio, now)
    gaps = missing(portfolio)
    if gaps:
        raise Conflict(msg("The portfolio is not complete yet: %(standards)s. Nothing was submitted.",
                           standards=", ".join(g.standard_key for g in gaps)))
    for entry in portfolio.entries:  # the sources may be gone or no longer usable since they were added
        _usable(session, portfolio.candidate, entry.kind, _ref_public_id(session, entry))
    frozen: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in portfolio.entries:
        frozen[entry.standard_key].append(_snapshot_entry(session, entry))
    portfolio.frozen = dict(frozen)
    portfolio.status = "submitted"
    portfolio.submitted_at = _now(now)
    session.flush()
    return portfolio


def _ref_public_id(session: Session, entry: PortfolioEntry) -> str:
    model = {"clip": Clip, "cycle": CoachingCycle, "meeting": Meeting, "attempt": Attempt}[entry.kind]
    obj = session.get(model, entry.ref_id)
    return obj.public_id if obj is not None else ""


def entry_sources(session: Session, portfolio: Portfolio) -> dict[int, Any]:
    """Each draft entry's source object (None when it was deleted since)."""
    models = {"clip": Clip, "cycle": CoachingCycle, "meeting": Meeting, "attempt": Attempt}
    return {e.id: session.get(models[e.kind], e.ref_id) for e in portfolio.entries}


def evidence_for_assessor(portfolio: Portfolio, actor: User) -> dict[str, list[dict[str, Any]]]:
    """The frozen evidence the actor may read: every standard for the candidate and the cohort's leaders, the
    assigned standards for an assessor."""
    frozen = portfolio.frozen or {}
    if portfolio.candidate_id == actor.id or leads(actor, portfolio.cohort):
        return frozen
    from app.standards.policy import assigned_standards

    mine = assigned_standards(actor, portfolio)
    return {k: v for k, v in frozen.items() if k in mine}


def candidate_label(portfolio: Portfolio, actor: User) -> str:
    """The candidate's name, or in a blind cohort, to an assessor, a code."""
    if portfolio.cohort.blind and portfolio.candidate_id != actor.id and not leads(actor, portfolio.cohort):
        return f"#{portfolio.public_id[:6].upper()}"
    return portfolio.candidate.display_name


# ---------------------------------------------------------------------------------------------------- assessors


def record_training(session: Session, actor: User, *, email: str, framework_ref: str | None, role_key: str,
                    standard_keys: list[str], trained_on: date) -> list[AssessorTraining]:
    if not runs_programme(actor):
        raise authz.NotPermitted(msg("Only the institute's administrators record assessors' training."))
    ref = framework_ref or standardsfile.current().ref
    role = role_of(ref, role_key)
    known = {s.key for s in role.standards}
    if not standard_keys:
        raise InvalidInput(msg("Choose at least one standard."), field="standards")
    unknown = [k for k in standard_keys if k not in known]
    if unknown:
        raise InvalidInput(msg("The role has no standard '%(standard)s'.", standard=unknown[0][:40]),
                           field="standards")
    user = _user_by_email(session, email, "email")
    made = []
    for key in dict.fromkeys(standard_keys):
        row = session.scalar(select(AssessorTraining).where(
            AssessorTraining.user_id == user.id, AssessorTraining.framework_ref == ref,
            AssessorTraining.role_key == role_key, AssessorTraining.standard_key == key))
        if row is None:
            row = AssessorTraining(user_id=user.id, framework_ref=ref, role_key=role_key, standard_key=key,
                                   trained_on=trained_on, recorded_by_id=actor.id)
            session.add(row)
        else:
            row.trained_on = trained_on
        made.append(row)
    session.flush()
    return made


def trainings(session: Session, actor: User) -> list[AssessorTraining]:
    return list(session.scalars(authz.visible(actor, select(AssessorTraining))
                                .options(selectinload(AssessorTraining.user))
                                .order_by(AssessorTraining.role_key, AssessorTraining.standard_key)))


def _trained(session: Session, cohort: Cohort, standard_key: str) -> list[int]:
    return list(session.scalars(select(AssessorTraining.user_id).join(User, User.id == AssessorTraining.user_id)
                                .where(AssessorTraining.framework_ref == cohort.framework_ref,
                                       AssessorTraining.role_key == cohort.role_key,
                                       AssessorTraining.standard_key == standard_key, User.active.is_(True))
                                .order_by(AssessorTraining.user_id)))


def _load(session: Session) -> Counter:
    """Open assignments per assessor: a new one goes to the least loaded."""
    return Counter(dict(session.execute(select(Score.assessor_id, func.count()).where(
        Score.level.is_(None), Score.assessor_id.is_not(None)).group_by(Score.assessor_id)).all()))


def _pick(candidates: list[int], excluded: set[int], load: Counter) -> int | None:
    free = [c for c in candidates if c not in excluded]
    if not free:
        return None
    chosen = min(free, key=lambda c: (load[c], c))
    load[chosen] += 1
    return chosen


@dataclass
class AssignReport:
    assigned: int = 0
    double: int = 0
    third: int = 0
    waiting: list[str] = field(default_factory=list)  # standards with no (further) trained assessor


def assign(session: Session, actor: User, public_id: str, *, seed: int | None = None) -> AssignReport:
    """Assign assessors to every submitted portfolio not yet assigned: one per standard, a second on the cohort's
    share of portfolios (chosen at random, to keep that share over all portfolios assigned so far), and a third
    wherever two scores differ by more than one level. All or nothing: if any standard lacks a trained assessor
    (other than the candidate and the cohort's own candidates), nobody is assigned and the standards are named."""
    cohort = get_cohort(session, actor, public_id, "manage")
    role = role_of(cohort.framework_ref, cohort.role_key)
    portfolios = cohort_portfolios(session, actor, cohort)
    candidates = {p.candidate_id for p in portfolios}
    fresh = [p for p in portfolios if p.status == "submitted" and not p.scores]
    report = AssignReport()
    trained = {s.key: _trained(session, cohort, s.key) for s in role.standards}
    lacking = [key for key, people in trained.items() if fresh and not set(people) - candidates]
    if fresh and cohort.double_share > 0:
        lacking += [key for key, people in trained.items() if key not in lacking and len(set(people) - candidates) < 2]
    if lacking:
        raise Conflict(msg("No trained assessor (or, for double scoring, not two) for these standards: "
                           "%(standards)s. Record assessors' training first; nobody was assigned.",
                           standards=", ".join(lacking)))
    load = _load(session)
    assigned_before = [p for p in portfolios if p.scores]
    want_double = math.ceil(cohort.double_share * (len(assigned_before) + len(fresh)) - 1e-9)
    have_double = sum(1 for p in assigned_before if p.double_scored)
    order = list(fresh)
    random.Random(cohort.id if seed is None else seed).shuffle(order)
    doubled = {p.id for p in order[:max(0, want_double - have_double)]}
    for portfolio in fresh:
        portfolio.double_scored = portfolio.id in doubled
        for standard in role.standards:
            first = _pick(trained[standard.key], candidates, load)
            portfolio.scores.append(Score(standard_key=standard.key, round=1, assessor_id=first))
            report.assigned += 1
            if portfolio.double_scored:
                second = _pick(trained[standard.key], candidates | {first}, load)
                portfolio.scores.append(Score(standard_key=standard.key, round=2, assessor_id=second))
                report.double += 1
        _tell_assessors(session, actor, portfolio)
    session.flush()
    for portfolio in portfolios:
        if portfolio.status == "submitted":
            report.third += _third_where_needed(session, actor, portfolio, load, report.waiting)
    session.flush()
    return report


def _tell_assessors(session: Session, actor: User, portfolio: Portfolio) -> None:
    session.flush()
    people = set(session.scalars(select(Score.assessor_id).where(Score.portfolio_id == portfolio.id,
                                                                 Score.level.is_(None))))
    for assessor_id in people - {None}:
        notify(session, session.get(User, assessor_id), "portfolio_to_score",
               {"cohort": portfolio.cohort.name}, f"/standards/portfolios/{portfolio.public_id}", actor=actor)


def _rounds(portfolio: Portfolio) -> dict[str, dict[int, Score]]:
    found: dict[str, dict[int, Score]] = defaultdict(dict)
    for score in portfolio.scores:
        found[score.standard_key][score.round] = score
    return found


def _third_where_needed(session: Session, actor: User, portfolio: Portfolio, load: Counter,
                        waiting: list[str]) -> int:
    added = 0
    cohort = portfolio.cohort
    candidates = set(session.scalars(select(CohortMember.user_id).where(CohortMember.cohort_id == cohort.id)))
    for key, rounds in _rounds(portfolio).items():
        one, two = rounds.get(1), rounds.get(2)
        if 3 in rounds or one is None or two is None or one.level is None or two.level is None:
            continue
        if abs(one.level - two.level) <= 1:
            continue
        third = _pick(_trained(session, cohort, key), candidates | {one.assessor_id, two.assessor_id}, load)
        if third is None:
            if key not in waiting:
                waiting.append(key)
            continue
        portfolio.scores.append(Score(standard_key=key, round=3, assessor_id=third))
        added += 1
        notify(session, session.get(User, third), "portfolio_to_score", {"cohort": cohort.name},
               f"/standards/portfolios/{portfolio.public_id}", actor=actor)
    return added


def my_assignments(session: Session, actor: User) -> list[Score]:
    """The actor's scoring, open first."""
    return list(session.scalars(select(Score).where(Score.assessor_id == actor.id)
                                .options(selectinload(Score.portfolio).selectinload(Portfolio.cohort))
                                .order_by(Score.scored_at.is_not(None), Score.assigned_at)))


def score(session: Session, actor: User, public_id: str, *, standard_key: str, level: int | None, rationale: str,
          settings: Any = None, now: datetime | None = None) -> Score:
    """The actor's score of one standard they were assigned; final once given. When it completes a
    disagreement a third assessor is assigned; when it completes the portfolio, the portfolio is decided."""
    portfolio = get_portfolio(session, actor, public_id, "score")
    framework = framework_of(portfolio.cohort.framework_ref)
    mine = [s for s in portfolio.scores if s.assessor_id == actor.id and s.standard_key == standard_key]
    if not mine:
        raise InvalidInput(msg("You are not assigned to score that standard of this portfolio."), field="standard")
    row = next((s for s in mine if s.level is None), None)
    if row is None:
        raise Conflict(msg("You have already scored this standard; a score is final once given."))
    values = [lv.value for lv in framework.levels]
    if not isinstance(level, int) or isinstance(level, bool) or level not in values:
        raise InvalidInput(msg("A score is one of the rubric's levels, %(least)d to %(most)d.", least=min(values),
                               most=max(values)), field="level")
    text = (rationale or "").strip()
    check_text("rationale", text)
    if not text:
        raise InvalidInput(msg("Write the evidence for your score: which indicators the portfolio shows."),
                           field="rationale")
    if len(text) > MAX_RATIONALE:
        raise InvalidInput(msg("The rationale is too long (at most %(most)d characters).", most=MAX_RATIONALE),
                           field="rationale")
    row.level, row.rationale, row.scored_at = level, text, _now(now)
    session.flush()
    _third_where_needed(session, actor, portfolio, _load(session), [])
    session.flush()
    decide(session, portfolio, actor=actor, settings=settings, now=now)
    return row


@dataclass
class StandardResult:
    key: str
    scores: list[Score]
    final: float | None  # None while scoring goes on
    met: bool | None
    disagreement: bool = False


def results(portfolio: Portfolio) -> list[StandardResult]:
    """Each standard's final level: one assessor's score; with a second scoring, the mean of the two when they are
    within one level; else the third assessor's score."""
    role = role_for(portfolio)
    rounds = _rounds(portfolio)
    out = []
    for standard in role.standards:
        got = rounds.get(standard.key, {})
        one, two, three = got.get(1), got.get(2), got.get(3)
        final: float | None = None
        apart = bool(one and two and one.level is not None and two.level is not None
                     and abs(one.level - two.level) > 1)
        if three is not None:
            final = three.level
        elif one is not None and one.level is not None:
            if two is None:
                final = one.level
            elif two.level is not None and not apart:
                final = (one.level + two.level) / 2
        met = None if final is None else final >= role.pass_level
        out.append(StandardResult(standard.key, [got[r] for r in sorted(got)], final, met, apart))
    return out


def decide(session: Session, portfolio: Portfolio, *, actor: User | None = None, settings: Any = None,
           now: datetime | None = None) -> Certificate | None:
    """Once every standard has its final level: certified (every standard at the role's pass level or above, and a
    certificate issued) or not certified."""
    if portfolio.status != "submitted":
        return None
    found = results(portfolio)
    if not found or any(r.final is None for r in found):
        return None
    portfolio.decided_at = _now(now)
    if all(r.met for r in found):
        portfolio.status = "certified"
        certificate = issue(session, portfolio, settings=settings, now=now)
        notify(session, portfolio.candidate, "certified", {"cohort": portfolio.cohort.name},
               f"/standards/certificates/{certificate.public_id}", actor=actor)
        return certificate
    portfolio.status = "not_certified"
    notify(session, portfolio.candidate, "portfolio_decided", {"cohort": portfolio.cohort.name},
           f"/standards/portfolios/{portfolio.public_id}", actor=actor)
    session.flush()
    return None


# ------------------------------------------------------------------------------------------------------ agreement


@dataclass
class Agreement:
    pairs: int
    exact: float | None
    adjacent: float | None
    kappa: float | None  # Cohen's kappa with linear weights; None when it is undefined (no pairs, one level only)


def weighted_kappa(first: list[int], second: list[int], levels: list[int]) -> float | None:
    """Cohen's kappa, linearly weighted (scikit-learn's), or None where it is undefined."""
    if not first:
        return None
    if len(set(first) | set(second)) < 2:
        return None  # every score the same level: chance agreement is 1, kappa 0/0
    import warnings

    from sklearn.metrics import cohen_kappa_score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = cohen_kappa_score(first, second, labels=levels, weights="linear")
    return None if value is None or not math.isfinite(value) else float(value)


def agreement(pairs: list[tuple[int, int]], levels: list[int]) -> Agreement:
    if not pairs:
        return Agreement(0, None, None, None)
    first, second = [a for a, _ in pairs], [b for _, b in pairs]
    exact = sum(1 for a, b in pairs if a == b) / len(pairs)
    adjacent = sum(1 for a, b in pairs if abs(a - b) <= 1) / len(pairs)
    return Agreement(len(pairs), exact, adjacent, weighted_kappa(first, second, levels))


@dataclass
class AssessorCalibration:
    user: User
    scored: int
    mean: float | None
    agreement: Agreement  # against the other assessor of the same double-scored standard
    drift: float | None  # mean of (their score − the final level), where a final exists: + lenient, − severe
    exact_final: float | None


@dataclass
class AgreementReport:
    levels: list[int]
    by_standard: dict[str, Agreement]
    matrices: dict[str, list[list[int]]]  # first scorer's level (row) × second's (column), per standard
    overall: Agreement
    assessors: list[AssessorCalibration]
    resolved: int  # disagreements a third assessor settled
    open_third: int


def agreement_report(session: Session, actor: User, public_id: str) -> AgreementReport:
    cohort = get_cohort(session, actor, public_id, "manage")
    framework = framework_of(cohort.framework_ref)
    levels = [lv.value for lv in framework.levels]
    portfolios = cohort_portfolios(session, actor, cohort)
    role = role_of(cohort.framework_ref, cohort.role_key)
    pairs: dict[str, list[tuple[int, int]]] = {s.key: [] for s in role.standards}
    per_assessor: dict[int, list[tuple[int, int]]] = defaultdict(list)
    scored: dict[int, list[int]] = defaultdict(list)
    drift: dict[int, list[float]] = defaultdict(list)
    resolved = open_third = 0
    for portfolio in portfolios:
        finals = {r.key: r.final for r in results(portfolio)} if portfolio.status != "draft" else {}
        for key, rounds in _rounds(portfolio).items():
            for s in rounds.values():
                if s.level is not None and s.assessor_id is not None:
                    scored[s.assessor_id].append(s.level)
                    if finals.get(key) is not None:
                        drift[s.assessor_id].append(s.level - finals[key])
            one, two, three = rounds.get(1), rounds.get(2), rounds.get(3)
            if three is not None:
                resolved += three.level is not None
                open_third += three.level is None
            if one and two and one.level is not None and two.level is not None and key in pairs:
                pairs[key].append((one.level, two.level))
                if one.assessor_id:
                    per_assessor[one.assessor_id].append((one.level, two.level))
                if two.assessor_id:
                    per_assessor[two.assessor_id].append((two.level, one.level))
    matrices = {}
    for key, found in pairs.items():
        grid = [[0] * len(levels) for _ in levels]
        for a, b in found:
            grid[levels.index(a)][levels.index(b)] += 1
        matrices[key] = grid
    everyone = [p for found in pairs.values() for p in found]
    people = {u.id: u for u in session.scalars(select(User).where(User.id.in_(set(scored))))} if scored else {}
    assessors = []
    for user_id, levels_given in sorted(scored.items(), key=lambda kv: people[kv[0]].display_name):
        d = drift.get(user_id, [])
        assessors.append(AssessorCalibration(
            people[user_id], len(levels_given), sum(levels_given) / len(levels_given),
            agreement(per_assessor.get(user_id, []), levels), sum(d) / len(d) if d else None,
            sum(1 for x in d if x == 0) / len(d) if d else None))
    return AgreementReport(levels, {k: agreement(v, levels) for k, v in pairs.items()}, matrices,
                           agreement(everyone, levels), assessors, resolved, open_third)


# ------------------------------------------------------------------------------------------------ signing keys


def key_folder(instance_path: str) -> Path:
    return Path(instance_path) / "keys"


def _key_file(instance_path: str, public_multibase: str) -> Path:
    return key_folder(instance_path) / f"{public_multibase}.pem"


def _write_key(instance_path: str, key: credentials.KeyPair) -> Path:
    folder = key_folder(instance_path)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = _key_file(instance_path, key.public_multibase)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key.private_pem())
    return path


def rotate_key(session: Session, instance_path: str, now: datetime | None = None) -> CredentialKey:
    """A new signing key (the private half written to the instance's keys/ folder, readable by its owner only);
    the key in use until now is retired: it signs nothing new, and what it signed stays valid."""
    key = credentials.new_key()
    _write_key(instance_path, key)
    for old in session.scalars(select(CredentialKey).where(CredentialKey.retired_at.is_(None))):
        old.retired_at = _now(now)
    row = CredentialKey(public_multibase=key.public_multibase, created_at=_now(now))
    session.add(row)
    session.flush()
    return row


def keys(session: Session) -> list[CredentialKey]:
    return list(session.scalars(select(CredentialKey).order_by(CredentialKey.created_at.desc(),
                                                                CredentialKey.id.desc())))


def signing_key(session: Session, instance_path: str) -> credentials.KeyPair:
    """The key in use; the first issue on a new installation makes one."""
    row = session.scalar(select(CredentialKey).where(CredentialKey.retired_at.is_(None))
                         .order_by(CredentialKey.id.desc()))
    if row is None:
        row = rotate_key(session, instance_path)
    path = _key_file(instance_path, row.public_multibase)
    if not path.exists():
        raise Conflict(msg("This machine does not hold the institute's signing key %(key)s. Copy the instance's "
                           "keys/ folder from the machine where `classlab keys rotate` made it.",
                           key=row.public_multibase[:16] + "…"))
    return credentials.load_key(path.read_bytes())


def verify_url(public_url: str, public_id: str) -> str:
    return f"{public_url.rstrip('/')}/verify/{public_id}"


def issue(session: Session, portfolio: Portfolio, *, settings: Any, now: datetime | None = None) -> Certificate:
    """Issue the certificate of a certified portfolio: an Open Badges 3.0 credential signed with the institute's
    key (a Data Integrity proof, eddsa-rdfc-2022), stored exactly as signed."""
    from app.db import new_public_id

    when = _now(now).replace(microsecond=0)
    cohort = portfolio.cohort
    role = role_of(cohort.framework_ref, cohort.role_key)
    framework = framework_of(cohort.framework_ref)
    holder = portfolio.candidate
    public_id = new_public_id()
    base = settings.public_url.rstrip("/")
    key = signing_key(session, settings.instance_path)
    organization = holder.organization
    achievement = {
        "id": f"{base}/standards/{framework.ref}/{role.key}",
        "type": ["Achievement"],
        "achievementType": "Certificate",
        "name": standardsfile.text(role.title, "en"),
        "description": standardsfile.text(role.description, "en"),
        "criteria": {"narrative": "Every standard of the role met at the level '"
                                  + standardsfile.text(framework.levels[role.pass_level - 1].label, "en")
                                  + "' or above, scored by trained assessors from an evidence portfolio: "
                                  + "; ".join(f"{s.key} {standardsfile.text(s.title, 'en')}"
                                              for s in role.standards)},
        "inLanguage": "en",
        "version": framework.version,
    }
    document = credentials.achievement_credential(
        credential_id=verify_url(base, public_id),
        issuer={"id": f"{base}/standards/issuer", "type": ["Profile"], "name": settings.institute_name,
                "url": base},
        subject_id=None, subject_name=holder.display_name, achievement=achievement, valid_from=when,
        name=f"{standardsfile.text(role.title, 'en')} — {settings.institute_name}")
    signed = credentials.sign(document, key, created=when)
    certificate = Certificate(public_id=public_id, portfolio_id=portfolio.id, holder_id=holder.id,
                              holder_name=holder.display_name, role_key=role.key, framework_ref=framework.ref,
                              organization_id=organization.id if organization else None,
                              organization_name=organization.name if organization else "", issued_at=when,
                              key_multibase=key.public_multibase, document=signed)
    session.add(certificate)
    session.flush()
    return certificate


def get_certificate(session: Session, actor: User, public_id: str, action: str = "view") -> Certificate:
    return authz.load(session, actor, Certificate, public_id, action)


def certificates_of(session: Session, actor: User) -> list[Certificate]:
    return list(session.scalars(select(Certificate).where(Certificate.holder_id == actor.id)
                                .order_by(Certificate.issued_at.desc())))


def revoke(session: Session, actor: User, public_id: str, reason: str, now: datetime | None = None) -> Certificate:
    certificate = get_certificate(session, actor, public_id, "revoke")
    if certificate.revoked_at is not None:
        raise Conflict(msg("This certificate was already revoked."))
    text = _clean(reason, "reason", MAX_REASON)
    certificate.revoked_at, certificate.revoked_reason = _now(now), text
    session.flush()
    return certificate


@dataclass
class VerifyOutcome:
    valid: bool
    state: str  # valid | revoked | tampered | unknown-key | unknown | malformed
    certificate: Certificate | None = None
    claims: dict[str, str] = field(default_factory=dict)


def _claims(document: dict) -> dict[str, str]:
    subject = document.get("credentialSubject") if isinstance(document, dict) else None
    subject = subject if isinstance(subject, dict) else {}
    achievement = subject.get("achievement") if isinstance(subject.get("achievement"), dict) else {}
    issuer = document.get("issuer") if isinstance(document.get("issuer"), dict) else {}
    return {"holder": str(subject.get("name", ""))[:200], "achievement": str(achievement.get("name", ""))[:200],
            "issuer": str(issuer.get("name", ""))[:200], "valid_from": str(document.get("validFrom", ""))[:40],
            "id": str(document.get("id", ""))[:300]}


def verify(session: Session, document: Any) -> VerifyOutcome:
    """Whether a credential is one of ours, intact and not revoked. Never raises on any input."""
    if not isinstance(document, dict):
        return VerifyOutcome(False, "malformed")
    checked = credentials.verify(document)
    claims = _claims(document)
    if not checked.ok:
        state = "malformed" if checked.reason in ("no-proof", "unsupported-proof", "malformed", "context") else \
            "tampered"
        return VerifyOutcome(False, state, claims=claims)
    if session.scalar(select(CredentialKey.id).where(CredentialKey.public_multibase == checked.public_multibase)) \
            is None:
        return VerifyOutcome(False, "unknown-key", claims=claims)
    public_id = claims["id"].rstrip("/").rsplit("/", 1)[-1][:32]
    certificate = session.scalar(select(Certificate).where(Certificate.public_id == public_id))
    if certificate is None or certificate.document.get("proof") != document.get("proof"):
        return VerifyOutcome(False, "unknown", claims=claims)
    if certificate.revoked_at is not None:
        return VerifyOutcome(False, "revoked", certificate, claims)
    return VerifyOutcome(True, "valid", certificate, claims)


def verify_issued(session: Session, public_id: str) -> VerifyOutcome:
    """The verification page of a certificate's own address: its stored credential, checked again."""
    certificate = session.scalar(select(Certificate).where(Certificate.public_id == str(public_id)[:32]))
    if certificate is None:
        return VerifyOutcome(False, "unknown")
    return verify(session, certificate.document)


# ------------------------------------------------------------------------------------------------------ register


@dataclass
class Register:
    rows: list[Certificate]
    by_year: dict[int, int]
    by_role: dict[str, int]
    by_organization: dict[str, int]
    target: int
    years: list[int]
    cumulative: list[int]
    target_line: list[float]


def register(session: Session, actor: User, *, settings: Any, role_key: str | None = None,
             year: int | None = None, organization: str | None = None) -> Register:
    from app.standards.policy import may_read_register

    if not may_read_register(actor):
        raise authz.NotPermitted(msg("The register is read by the institute and school leaders."))
    rows = list(session.scalars(select(Certificate).where(Certificate.revoked_at.is_(None))
                                .order_by(Certificate.issued_at.desc())))
    shown = [c for c in rows if (role_key is None or c.role_key == role_key)
             and (year is None or c.issued_at.year == year)
             and (organization is None or c.organization_name == organization)]
    by_year = Counter(c.issued_at.year for c in rows)
    start, span = settings.certification_start_year, max(1, settings.certification_years)
    years = list(range(start, start + span))
    running, cumulative = sum(n for y, n in by_year.items() if y < start), []
    for y in years:
        running += by_year.get(y, 0)
        cumulative.append(running)
    target = settings.certification_target
    return Register(shown, dict(sorted(by_year.items())), dict(Counter(c.role_key for c in rows).most_common()),
                    dict(Counter(c.organization_name or "—" for c in rows).most_common()), target, years,
                    cumulative, [round(target * (i + 1) / span, 1) for i in range(span)])


def year_of(value: datetime) -> int:
    return value.astimezone(UTC).year


def export_for(session: Session, user: User) -> dict[str, Any]:
    """The person's certification records for "download all my data": portfolios with their commentary,
    scores they gave (with the rationale), their training and certificates as signed."""
    portfolios = [{"id": p.public_id, "cohort": p.cohort.name, "role": p.cohort.role_key,
                   "standards": p.cohort.framework_ref, "status": p.status,
                   "submitted_at": p.submitted_at.isoformat() if p.submitted_at else None,
                   "entries": [{"standard": e.standard_key, "kind": e.kind, "commentary": e.commentary}
                               for e in p.entries]}
                  for p in session.scalars(select(Portfolio).where(Portfolio.candidate_id == user.id))]
    given = [{"portfolio": s.portfolio.public_id, "standard": s.standard_key, "round": s.round, "level": s.level,
              "rationale": s.rationale, "scored_at": s.scored_at.isoformat() if s.scored_at else None}
             for s in session.scalars(select(Score).where(Score.assessor_id == user.id))]
    trained = [{"standards": t.framework_ref, "role": t.role_key, "standard": t.standard_key,
                "trained_on": t.trained_on.isoformat()}
               for t in session.scalars(select(AssessorTraining).where(AssessorTraining.user_id == user.id))]
    held = [c.document for c in session.scalars(select(Certificate).where(Certificate.holder_id == user.id))]
    return {"portfolios": portfolios, "scores_given": given, "assessor_training": trained, "certificates": held}


