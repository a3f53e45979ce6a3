"""Coaching links, cycles and the coach's dashboard (no Flask here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app import authz
from app.accounts.models import User
from app.accounts.service import find_active_user
from app.coaching import policy
from app.coaching.models import CoachingCycle, CoachLink, CycleLesson
from app.db import utcnow
from app.errors import Conflict, Forbidden, InvalidInput, msg
from app.feedback.models import Comment
from app.notifications.service import notify
from app.sharing import service as sharing
from app.sharing.models import AuditEvent
from app.video import service as video_service
from app.video.models import Video

LIVE = ("pending", "active")


def assign_coach(session: Session, actor: User, coach_email: str, teacher_email: str) -> CoachLink:
    coach = find_active_user(session, coach_email)
    teacher = find_active_user(session, teacher_email)
    if not policy.manages(actor, teacher):
        raise Forbidden(msg("Only an administrator, or a school leader of the teacher's school, assigns a coach."))
    if coach.role not in policy.COACH_ROLES:
        raise InvalidInput(msg("%(name)s does not have the coach role.", name=coach.display_name), field="coach")
    if coach.id == teacher.id:
        raise InvalidInput(msg("A coach cannot coach themself."), field="teacher")
    existing = session.scalar(select(CoachLink).where(CoachLink.coach_id == coach.id,
                                                      CoachLink.teacher_id == teacher.id,
                                                      CoachLink.status.in_(LIVE)))
    if existing is not None:
        raise Conflict(msg("%(coach)s already coaches %(teacher)s (or waits for an answer).",
                           coach=coach.display_name, teacher=teacher.display_name))
    link = CoachLink(coach=coach, teacher=teacher, assigned_by=actor)
    session.add(link)
    session.flush()
    notify(session, teacher, "coach_request", {"coach": coach.display_name, "assigned_by": actor.display_name},
           "/coaching", actor=actor)
    return link


def get_link(session: Session, actor: User, link_id: int, action: str = "view") -> CoachLink:
    link = session.get(CoachLink, link_id)
    authz.require(actor, action, link)
    return link


def respond(session: Session, actor: User, link_id: int, accept: bool) -> CoachLink:
    """The teacher accepts or declines the coach they were assigned."""
    link = get_link(session, actor, link_id, "view")
    if link.status != "pending":
        raise Conflict(msg("This coaching request was already answered."))
    authz.require(actor, "respond", link, hide=False)
    link.status = "active" if accept else "declined"
    link.responded_at = utcnow()
    notify(session, link.coach, "coach_accepted" if accept else "coach_declined",
           {"teacher": link.teacher.display_name}, "/coaching", actor=actor)
    return link


def end_link(session: Session, actor: User, link_id: int) -> CoachLink:
    """Coaching ends: the coach keeps nothing the teacher shared through it."""
    link = get_link(session, actor, link_id, "end")
    link.status, link.ended_at = "ended", utcnow()
    session.flush()
    # Shares to the coach that only held because they were the coach end with the link.
    from app.sharing.models import Share
    from app.video.models import Consent

    for found in session.scalars(select(Share).join(Video, Share.video_id == Video.id).where(
            Share.user_id == link.coach_id, Video.owner_id == link.teacher_id, Share.revoked_at.is_(None),
            Video.consent != Consent.full.value)):
        found.revoked_at = utcnow()
        sharing.record(session, found.video, actor, "revoke", f"{link.coach.email} (coaching ended)")
    return link


def links_for(session: Session, actor: User) -> list[CoachLink]:
    query = authz.visible(actor, select(CoachLink)).order_by(CoachLink.created_at.desc())
    return list(session.scalars(query.options(selectinload(CoachLink.cycles))))


DATE_FORMATS = {"start": msg("Write the start date as YYYY-MM-DD."), "due": msg("Write the due date as YYYY-MM-DD.")}


def _date(value, name: str) -> date | None:
    """An optional date from a form (YYYY-MM-DD) or the API (a date)."""
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise InvalidInput(DATE_FORMATS[name], field=name) from None


def _check(focus_goal: str, starts_on: date, due_on: date | None) -> str:
    focus_goal = (focus_goal or "").strip()
    if not focus_goal or len(focus_goal) > 2000:
        raise InvalidInput(msg("A cycle needs a focus goal of 1 to 2000 characters."), field="focus_goal")
    if due_on is not None and due_on < starts_on:
        raise InvalidInput(msg("The cycle cannot be due before it starts."), field="due_on")
    return focus_goal


def start_cycle(session: Session, actor: User, link_id: int, focus_goal: str, starts_on=None,
                due_on=None) -> CoachingCycle:
    link = get_link(session, actor, link_id, "view")
    authz.require(actor, "plan", link, hide=False)
    starts = _date(starts_on, "start") or date.today()
    due = _date(due_on, "due")
    cycle = CoachingCycle(link=link, focus_goal=_check(focus_goal, starts, due), starts_on=starts, due_on=due)
    session.add(cycle)
    session.flush()
    other = link.teacher if actor.id == link.coach_id else link.coach
    notify(session, other, "cycle_started", {"coach": link.coach.display_name, "focus": cycle.focus_goal[:200]},
           f"/coaching/cycles/{cycle.public_id}", actor=actor)
    return cycle


def get_cycle(session: Session, actor: User, public_id: str, action: str = "view") -> CoachingCycle:
    return authz.load(session, actor, CoachingCycle, public_id, action)


def update_cycle(session: Session, actor: User, public_id: str, *, focus_goal: str | None = None,
                 starts_on=None, due_on=None, next_steps: str | None = None) -> CoachingCycle:
    cycle = get_cycle(session, actor, public_id, "view")
    authz.require(actor, "edit", cycle, hide=False)
    starts = _date(starts_on, "start") or cycle.starts_on
    due = _date(due_on, "due") if due_on is not None else cycle.due_on
    cycle.focus_goal = _check(focus_goal if focus_goal is not None else cycle.focus_goal, starts, due)
    cycle.starts_on, cycle.due_on = starts, due
    if next_steps is not None:
        steps = next_steps.strip()
        if len(steps) > 5000:
            raise InvalidInput(msg("Next steps are at most 5000 characters."), field="next_steps")
        if steps != cycle.next_steps:
            cycle.next_steps, cycle.next_steps_agreed_at = steps, None  # changed steps need agreeing again
            link = cycle.link
            other = link.teacher if actor.id == link.coach_id else link.coach
            notify(session, other, "next_steps", {"author": actor.display_name},
                   f"/coaching/cycles/{cycle.public_id}", actor=actor)
    return cycle


def agree_next_steps(session: Session, actor: User, public_id: str) -> CoachingCycle:
    cycle = get_cycle(session, actor, public_id, "view")
    authz.require(actor, "agree", cycle, hide=False)
    if not cycle.next_steps:
        raise InvalidInput(msg("There are no next steps to agree to yet."), field="next_steps")
    cycle.next_steps_agreed_at = utcnow()
    return cycle


def close_cycle(session: Session, actor: User, public_id: str) -> CoachingCycle:
    cycle = get_cycle(session, actor, public_id, "view")
    authz.require(actor, "close", cycle, hide=False)
    cycle.closed_at = utcnow()
    return cycle


def add_lesson(session: Session, actor: User, public_id: str, video_public_id: str) -> CycleLesson:
    """The teacher adds one of their lessons for the coach to observe: it is shared with the coach to
    comment (allowed whatever the class's consent: the coach is the one person besides the owner)."""
    cycle = get_cycle(session, actor, public_id, "view")
    authz.require(actor, "add_lesson", cycle, hide=False)
    video = video_service.get_video(session, actor, video_public_id, "share")
    if any(lesson.video_id == video.id for lesson in cycle.lessons):
        raise Conflict(msg("This lesson is already part of the cycle."))
    sharing.share(session, actor, video.public_id, cycle.link.coach.email, "comment", quiet=True)
    lesson = CycleLesson(cycle=cycle, video=video)
    session.add(lesson)
    session.flush()
    notify(session, cycle.link.coach, "cycle_lesson", {"teacher": actor.display_name, "video_title": video.title},
           f"/videos/{video.public_id}", actor=actor)
    return lesson


# ------------------------------------------------------------------------------------------- dashboard
@dataclass
class Dashboard:
    teachers: list[CoachLink] = field(default_factory=list)
    pending: list[CoachLink] = field(default_factory=list)
    new_videos: list[Video] = field(default_factory=list)
    unanswered: list[Comment] = field(default_factory=list)
    cycles_due: list[CoachingCycle] = field(default_factory=list)


def dashboard(session: Session, coach: User, *, today: date | None = None, new_days: int = 14) -> Dashboard:
    """What a coach attends to: their teachers, lessons shared lately and not yet watched, threads whose
    last word is the teacher's, and open cycles due within a week (or overdue)."""
    today = today or date.today()
    links = list(session.scalars(select(CoachLink).where(CoachLink.coach_id == coach.id,
                                                         CoachLink.status.in_(LIVE))))
    out = Dashboard(teachers=[lk for lk in links if lk.status == "active"],
                    pending=[lk for lk in links if lk.status == "pending"])
    teacher_ids = [lk.teacher_id for lk in out.teachers]
    if not teacher_ids:
        return out
    videos = list(session.scalars(authz.visible(coach, select(Video)).where(Video.owner_id.in_(teacher_ids),
                                                                                Video.purpose == "lesson")
                                  .order_by(Video.created_at.desc())))
    watched = set(session.scalars(select(AuditEvent.video_public_id).where(
        AuditEvent.actor_id == coach.id, AuditEvent.action == "view",
        AuditEvent.video_public_id.in_([v.public_id for v in videos]))))
    since = utcnow() - timedelta(days=new_days)
    out.new_videos = [v for v in videos if v.public_id not in watched and v.created_at >= since]
    if videos:
        threads = session.scalars(select(Comment).where(Comment.video_id.in_([v.id for v in videos]),
                                                        Comment.parent_id.is_(None))
                                  .options(selectinload(Comment.replies)).order_by(Comment.created_at))
        for thread in threads:
            said = [c for c in [thread, *thread.replies] if c.deleted_at is None]
            if said and said[-1].author_id != coach.id and said[-1].author_id == thread.video.owner_id:
                out.unanswered.append(thread)
    horizon = today + timedelta(days=7)
    out.cycles_due = [c for lk in out.teachers for c in lk.cycles
                      if c.closed_at is None and c.due_on is not None and c.due_on <= horizon]
    out.cycles_due.sort(key=lambda c: c.due_on)
    return out
