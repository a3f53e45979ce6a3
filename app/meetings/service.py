"""PLC meetings: the protocol library, scheduling a community's meeting and building its agenda, running it live,
and its record (summary, next steps, attendance), the community's history and the institute's report. No Flask.

Evidence is shown in a meeting only to the community and only while it is shared:
- a clip, while a live share of it (or of its whole lesson) with the community stands;
- a class's result or one item's answers, anonymised (no student's name or code), while the class's teacher, who
  put it on the agenda, is a member of the community;
- a rehearsal attempt, while its author shows it to a rehearsal group of the community (their consent).
A step whose evidence is no longer shared stays on the agenda with its prompt, its evidence marked withdrawn.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session

from app import authz
from app.accounts.models import Organization, Role, User
from app.communities.models import Community, CommunityMember
from app.db import utcnow
from app.diagnostics import service as diagnostics
from app.diagnostics.models import Assignment, ClassGroup
from app.errors import Conflict, Forbidden, InvalidInput, NotFound, msg
from app.feedback.models import Comment
from app.inputs import check_text
from app.meetings import policy, protocolfile
from app.meetings.models import (
    MODES,
    Attendance,
    Meeting,
    MeetingResponse,
    MeetingStep,
    NextStep,
    Protocol,
)
from app.notifications.service import notify
from app.rehearsals.models import Attempt, RehearsalGroup
from app.sharing.models import Share
from app.video.models import Clip

LIBRARY = Path(__file__).resolve().parent / "protocols"
MAX_FILE = 2 * 1024 * 1024
MAX_RESPONSE = 4000
MAX_SUMMARY = 20000
MAX_TITLE = 200
MAX_STEPS = protocolfile.MOST_AGENDA_STEPS
LANGUAGES = ("en", "he", "ar")


# ------------------------------------------------------------------------------------ the protocol library


@dataclass
class LibraryReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0


def protocol_error(exc: protocolfile.ProtocolFileError, what: str = "protocol") -> InvalidInput:
    if what == "agenda":
        return InvalidInput(msg("The agenda file has problems:\n%(problems)s", problems="\n".join(exc.lines)),
                            field="file")
    return InvalidInput(msg("The protocol file has problems:\n%(problems)s", problems="\n".join(exc.lines)),
                        field="file")


def _upsert(session: Session, records: list[protocolfile.ProtocolRecord]) -> LibraryReport:
    report = LibraryReport()
    stored = {p.key: p for p in session.scalars(select(Protocol).where(Protocol.key.in_([r.key for r in records])))}
    for record in records:
        values = dict(suits=record.suits, languages=record.languages, spec=record.spec())
        row = stored.get(record.key)
        if row is None:
            stored[record.key] = Protocol(key=record.key, **values)
            session.add(stored[record.key])
            report.added += 1
        elif any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            report.updated += 1
        else:
            report.unchanged += 1
    session.flush()
    return report


def import_library(session: Session, folder: Path | None = None) -> LibraryReport:
    """The shipped protocol files (or a folder's), every file validated before anything is stored."""
    records = [r for path in sorted((folder or LIBRARY).glob("*.yaml"))
               for r in protocolfile.read(path.name, path.read_bytes())]
    return _upsert(session, records)


def import_protocols(session: Session, actor: User, filename: str, data: bytes) -> LibraryReport:
    authz.require(actor, "manage", Protocol(key=""), hide=False)
    if not data:
        raise InvalidInput(msg("Choose a protocol file (YAML) to import."), field="file")
    if len(data) > MAX_FILE:
        raise InvalidInput(msg("The protocol file is larger than 2 MB; a protocol file is a few dozen KB."),
                           field="file")
    try:
        records = protocolfile.read(filename or "protocols.yaml", data)
    except protocolfile.ProtocolFileError as exc:
        raise protocol_error(exc) from None
    return _upsert(session, records)


def protocols(session: Session) -> list[Protocol]:
    return list(session.scalars(select(Protocol).order_by(Protocol.key)))


def text_in(texts: dict[str, str] | None, lang: str, fallback: str = "en") -> str:
    """A language map's text in `lang`, else the fallback language's, else any."""
    texts = texts or {}
    return texts.get(lang) or texts.get(fallback) or next(iter(texts.values()), "")


# ------------------------------------------------------------------------------------ meetings


def _community(session: Session, actor: User, public_id: str) -> Community:
    return authz.load(session, actor, Community, public_id, "view")


def _require_facilitator(actor: User, community: Community) -> None:
    if policy.role_in(actor, community.id, object_session(community)) != "facilitator":
        raise Forbidden(msg("Only the community's facilitators prepare and run its meetings."))


def _clean_title(title: str | None) -> str:
    title = (title or "").strip()
    if not title or len(title) > MAX_TITLE:
        raise InvalidInput(msg("A meeting needs a title of 1 to 200 characters."), field="title")
    check_text("title", title)
    return title


def _clean_mode(mode: str | None) -> str:
    if mode not in MODES:
        raise InvalidInput(msg("A meeting is in person, online or hybrid."), field="mode")
    return mode


def _clean_place(place: str | None) -> str:
    place = (place or "").strip()
    if len(place) > 300:
        raise InvalidInput(msg("Write the place or the meeting's link in at most 300 characters."), field="place")
    check_text("place", place)
    return place


def schedule(session: Session, actor: User, community_id: str, *, title: str, starts_at: datetime | None,
             mode: str = "in_person", place: str = "", protocol: str | None = None) -> Meeting:
    """A facilitator schedules a meeting (its agenda from a protocol's steps, if one is chosen); every other
    member is told."""
    community = _community(session, actor, community_id)
    _require_facilitator(actor, community)
    title, mode, place = _clean_title(title), _clean_mode(mode), _clean_place(place)
    if starts_at is None:
        raise InvalidInput(msg("Choose the date and time the meeting starts."), field="starts_at")
    chosen = None
    if protocol:
        chosen = session.scalar(select(Protocol).where(Protocol.key == protocol))
        if chosen is None:
            raise InvalidInput(msg("There is no protocol '%(key)s' in the library.", key=protocol), field="protocol")
    meeting = Meeting(community=community, created_by=actor, title=title, starts_at=starts_at, mode=mode,
                      place=place)
    session.add(meeting)
    session.flush()
    if chosen is not None:
        for n, spec in enumerate(chosen.spec["steps"]):
            session.add(MeetingStep(meeting_id=meeting.id, position=n, texts={"title": spec["title"],
                                                                               "prompt": spec["prompt"]},
                                    minutes=spec["minutes"], responses=spec.get("responses", "open"),
                                    protocol_key=chosen.key))
    members = session.scalars(select(User).join(CommunityMember, CommunityMember.user_id == User.id)
                              .where(CommunityMember.community_id == community.id))
    for member in members:
        notify(session, member, "meeting_scheduled", {"facilitator": actor.display_name, "title": title,
                                                      "community": community.name},
               f"/meetings/{meeting.public_id}", actor=actor)
    session.flush()
    return meeting


def get_meeting(session: Session, actor: User, public_id: str, action: str = "view") -> Meeting:
    return authz.load(session, actor, Meeting, public_id, action)


def _bump(meeting: Meeting) -> None:
    """What members' screens show has changed: every poll from now on gets the new state. Incremented by the
    database (UPDATE ... SET version = version + 1), never from the value this request read: two members
    responding at the same moment make two versions, so a poll between their commits cannot keep the first
    one's state under the second one's version."""
    meeting.version = Meeting.version + 1
    object_session(meeting).flush([meeting])


def _planned_or_live(meeting: Meeting) -> None:
    if meeting.status == "closed":
        raise Conflict(msg("This meeting is closed: its record can no longer change, except the summary and next "
                           "steps."))


def edit_meeting(session: Session, actor: User, public_id: str, *, title: str, starts_at: datetime | None,
                 mode: str, place: str) -> Meeting:
    meeting = get_meeting(session, actor, public_id, "run")
    meeting.title, meeting.mode, meeting.place = _clean_title(title), _clean_mode(mode), _clean_place(place)
    if starts_at is None:
        raise InvalidInput(msg("Choose the date and time the meeting starts."), field="starts_at")
    meeting.starts_at = starts_at
    _bump(meeting)
    return meeting


def delete_meeting(session: Session, actor: User, public_id: str) -> Community:
    meeting = get_meeting(session, actor, public_id, "delete")
    community = meeting.community
    session.delete(meeting)
    session.flush()
    return community


def meetings_of(session: Session, actor: User, community: Community) -> list[Meeting]:
    authz.require(actor, "view", community)
    return list(session.scalars(authz.visible(actor, select(Meeting)).where(Meeting.community_id == community.id)
                                .order_by(Meeting.starts_at.desc())))


def my_meetings(session: Session, actor: User) -> list[Meeting]:
    return list(session.scalars(authz.visible(actor, select(Meeting)).order_by(Meeting.starts_at.desc())))


def meetings_with(session: Session, actor: User, *, clip_id: int | None = None, assignment_id: int | None = None,
                  attempt_id: int | None = None) -> list[Meeting]:
    """The meetings the actor reaches that looked at this clip, class result or rehearsal attempt (the evidence's
    own page links back to them)."""
    column, value = next((c, v) for c, v in ((MeetingStep.clip_id, clip_id), (MeetingStep.assignment_id,
                                                                              assignment_id),
                                             (MeetingStep.attempt_id, attempt_id)) if v is not None)
    used = select(MeetingStep.meeting_id).where(column == value)
    return list(session.scalars(authz.visible(actor, select(Meeting)).where(Meeting.id.in_(used))
                                .order_by(Meeting.starts_at.desc())))


def upcoming(session: Session, actor: User, now: datetime | None = None) -> list[Meeting]:
    """Meetings not closed yet of the actor's communities, soonest first (the dashboard)."""
    since = (now or utcnow()) - timedelta(hours=12)
    return list(session.scalars(authz.visible(actor, select(Meeting)).where(
        Meeting.status != "closed", Meeting.starts_at >= since).order_by(Meeting.starts_at).limit(5)))


# ------------------------------------------------------------------------------------ evidence


@dataclass
class EvidenceOption:
    kind: str
    ref: str  # a public id (item: "<assignment public id>:<number>")
    label: str


def evidence_options(session: Session, actor: User, meeting: Meeting, lang: str) -> list[EvidenceOption]:
    """What this facilitator may put on the meeting's agenda: clips shared with the community, the results of their
    own classes and each of their items, rehearsal attempts shown to one of the community's rehearsal groups."""
    options: list[EvidenceOption] = []
    for clip in session.scalars(select(Clip).join(Share, Share.clip_id == Clip.id).where(
            Share.community_id == meeting.community_id, Share.revoked_at.is_(None)).order_by(Clip.title).distinct()):
        options.append(EvidenceOption("clip", clip.public_id, clip.title))
    for assignment in session.scalars(select(Assignment).join(ClassGroup, ClassGroup.id == Assignment.class_id).where(
            ClassGroup.teacher_id == actor.id).order_by(Assignment.created_at.desc()).limit(50)):
        name = f"{assignment.class_group.name}: {assignment.title}"
        options.append(EvidenceOption("result", assignment.public_id, name))
        for n in range(1, len(assignment.items) + 1):
            options.append(EvidenceOption("item", f"{assignment.public_id}:{n}", f"{name} · Q{n}"))
    for attempt in session.scalars(_shown_attempts(meeting.community_id).order_by(Attempt.created_at.desc())
                                   .limit(50)):
        title = text_in(attempt.scenario.spec.get("title"), lang)
        options.append(EvidenceOption("attempt", attempt.public_id,
                                      f"{attempt.owner.display_name}: {title} #{attempt.number}"))
    return options


def _shown_attempts(community_id: int):
    return (select(Attempt).join(RehearsalGroup, RehearsalGroup.id == Attempt.group_id)
            .where(RehearsalGroup.community_id == community_id, Attempt.shown_to_group.is_(True),
                   Attempt.video_id.is_not(None)))


def _resolve_evidence(session: Session, actor: User, meeting: Meeting, kind: str, ref: str,
                      number: int | None) -> dict[str, Any]:
    """The step's evidence columns, once the facilitator may share it into this meeting; else a message saying
    why, and nothing is stored."""
    ref = (ref or "").strip()[:40]
    if kind == "clip":
        clip = session.scalar(select(Clip).where(Clip.public_id == ref))
        if clip is None or not _clip_shared(session, meeting.community_id, clip):
            raise InvalidInput(msg("This clip is not shared with the community: share it with the community from "
                                   "the clip's page first."), field="evidence")
        return {"evidence": "clip", "clip_id": clip.id}
    if kind in ("result", "item"):
        if kind == "item" and number is None and ":" in ref:
            ref, _, raw = ref.partition(":")
            number = int(raw) if raw.isdigit() else 0
        assignment = session.scalar(select(Assignment).where(Assignment.public_id == ref))
        if assignment is None or assignment.class_group.teacher_id != actor.id:
            raise InvalidInput(msg("Only a class's own teacher brings its results to a meeting: this is not one of "
                                   "your assignments."), field="evidence")
        if kind == "result":
            return {"evidence": "result", "assignment_id": assignment.id}
        if not number or not 1 <= number <= len(assignment.items):
            raise InvalidInput(msg("The assignment has no question %(number)s.", number=number or "?"),
                               field="evidence")
        return {"evidence": "item", "assignment_id": assignment.id, "item_key": assignment.items[number - 1].item.key}
    if kind == "attempt":
        attempt = session.scalar(_shown_attempts(meeting.community_id).where(Attempt.public_id == ref))
        if attempt is None:
            raise InvalidInput(msg("This rehearsal attempt is not shown to a rehearsal group of this community: only "
                                   "its author can show it there."), field="evidence")
        return {"evidence": "attempt", "attempt_id": attempt.id}
    raise InvalidInput(msg("Evidence is a clip, a class's result, one item's answers or a rehearsal attempt."),
                       field="evidence")


def _clip_shared(session: Session, community_id: int, clip: Clip) -> bool:
    return session.scalar(select(func.count()).select_from(Share).where(
        Share.community_id == community_id, Share.revoked_at.is_(None), Share.video_id == clip.video_id,
        or_(Share.clip_id == clip.id, Share.clip_id.is_(None)))) > 0


def evidence_shared(session: Session, step: MeetingStep) -> bool:
    """Whether the step's evidence may be shown in the meeting now (see the module's doc)."""
    meeting = step.meeting
    if step.evidence == "none":
        return False
    if step.evidence == "clip":
        return step.clip is not None and _clip_shared(session, meeting.community_id, step.clip)
    if step.evidence in ("result", "item"):
        if step.assignment is None:
            return False
        return policy.role_in(step.assignment.class_group.teacher, meeting.community_id, session) is not None
    if step.evidence == "attempt":
        return step.attempt_id is not None and session.scalar(
            select(func.count()).select_from(_shown_attempts(meeting.community_id)
                                             .where(Attempt.id == step.attempt_id).subquery())) > 0
    return False


@dataclass
class ResultView:
    """A class's result with no student in it: how many took part, each question's proportion correct and each
    misconception's count; for one item, the share of each answer."""

    students: int
    difficulty: dict[str, float] = field(default_factory=dict)  # "Q3" -> proportion correct
    misconceptions: dict[str, int] = field(default_factory=dict)  # key -> students holding it
    item_number: int | None = None
    item_stem: str = ""
    answers: dict[str, float] = field(default_factory=dict)  # reader's choice label -> share
    answer_misconceptions: dict[str, str] = field(default_factory=dict)  # label -> misconception key
    correct_label: str | None = None


def result_view(session: Session, step: MeetingStep, lang: str) -> ResultView | None:
    if step.evidence not in ("result", "item") or step.assignment is None:
        return None
    res = diagnostics.results_of(session, [step.assignment])[0]
    numbers = {item.key: n for n, item in enumerate(res.items, start=1)}
    view = ResultView(students=res.submitted,
                      difficulty={f"Q{numbers[st.item]}": st.difficulty or 0.0 for st in res.item_stats},
                      misconceptions=dict(res.frequencies))
    if step.evidence == "item":
        item = next((i for i in res.items if i.key == step.item_key), None)
        stats = next((st for st in res.item_stats if st.item == step.item_key), None)
        if item is None:
            return view
        text = diagnostics.item_text(item, lang)
        labels = text.choice_labels
        view.item_number, view.item_stem = numbers[item.key], text.stem
        view.answers = {labels.get(k, k): v for k, v in sorted((stats.distractor_rates if stats else {}).items())}
        view.answer_misconceptions = {c.label: c.misconception for c in text.choices if c.misconception}
        view.correct_label = next((c.label for c in text.choices if c.correct), None)
    return view


# ------------------------------------------------------------------------------------ the agenda


def _texts(title: str, prompt: str, lang: str) -> dict[str, dict[str, str]]:
    title, prompt = (title or "").strip(), (prompt or "").strip()
    if not title or len(title) > MAX_TITLE:
        raise InvalidInput(msg("A step needs a title of 1 to 200 characters."), field="title")
    if not prompt or len(prompt) > 2000:
        raise InvalidInput(msg("A step needs a prompt for the group of 1 to 2000 characters."), field="prompt")
    check_text("title", title)
    check_text("prompt", prompt)
    return {"title": {lang: title}, "prompt": {lang: prompt}}


def _minutes(value: int | None) -> int:
    if value is None or not protocolfile.LEAST_MINUTES <= value <= protocolfile.MOST_MINUTES:
        raise InvalidInput(msg("A step takes 1 to 60 minutes."), field="minutes")
    return value


def add_step(session: Session, actor: User, public_id: str, *, lang: str, protocol: str | None = None,
             protocol_step: int | None = None, title: str = "", prompt: str = "", minutes: int | None = None,
             responses: str | None = None, evidence: str = "none", ref: str = "",
             number: int | None = None) -> MeetingStep:
    """One step at the end of the agenda: a protocol's step (its texts in every language it has), or one written
    here in the facilitator's language; with at most one piece of evidence the facilitator may share."""
    meeting = get_meeting(session, actor, public_id, "run")
    _planned_or_live(meeting)
    if len(meeting.steps) >= MAX_STEPS:
        raise Conflict(msg("A meeting's agenda has at most %(count)d steps.", count=MAX_STEPS))
    values: dict[str, Any] = {}
    if protocol:
        chosen = session.scalar(select(Protocol).where(Protocol.key == protocol))
        if chosen is None:
            raise InvalidInput(msg("There is no protocol '%(key)s' in the library.", key=protocol), field="protocol")
        steps = chosen.spec["steps"]
        if protocol_step is None or not 1 <= protocol_step <= len(steps):
            raise InvalidInput(msg("Choose one of the protocol's %(count)d steps.", count=len(steps)), field="step")
        spec = steps[protocol_step - 1]
        values = {"texts": {"title": spec["title"], "prompt": spec["prompt"]},
                  "minutes": spec["minutes"] if minutes is None else _minutes(minutes),
                  "responses": responses or spec.get("responses", "open"), "protocol_key": chosen.key}
    else:
        values = {"texts": _texts(title, prompt, lang), "minutes": _minutes(minutes),
                  "responses": responses or "open"}
    if values["responses"] not in ("open", "held"):
        raise InvalidInput(msg("Responses are seen by all at once, or by the facilitator first."), field="responses")
    if evidence and evidence != "none":
        values.update(_resolve_evidence(session, actor, meeting, evidence, ref, number))
    step = MeetingStep(meeting=meeting, position=len(meeting.steps), **values)
    session.add(step)
    _bump(meeting)
    session.flush()
    return step


def _step_of(meeting: Meeting, step_id: int) -> MeetingStep:
    step = next((s for s in meeting.steps if s.id == step_id), None)
    if step is None:
        raise NotFound(msg("This step is not on the meeting's agenda."))
    return step


def remove_step(session: Session, actor: User, public_id: str, step_id: int) -> None:
    meeting = get_meeting(session, actor, public_id, "run")
    _planned_or_live(meeting)
    step = _step_of(meeting, step_id)
    if session.scalar(select(func.count()).where(MeetingResponse.step_id == step.id)):
        raise Conflict(msg("Members have responded to this step: it stays on the agenda, with what they wrote."))
    meeting.steps.remove(step)
    session.delete(step)
    for n, other in enumerate(meeting.steps):
        other.position = n
    meeting.current_step = min(meeting.current_step, max(0, len(meeting.steps) - 1))
    _bump(meeting)


def move_step(session: Session, actor: User, public_id: str, step_id: int, by: int) -> None:
    meeting = get_meeting(session, actor, public_id, "run")
    _planned_or_live(meeting)
    step = _step_of(meeting, step_id)
    steps = list(meeting.steps)
    i = steps.index(step)
    j = min(max(i + (1 if by > 0 else -1), 0), len(steps) - 1)
    steps[i], steps[j] = steps[j], steps[i]
    for n, other in enumerate(steps):
        other.position = n
    _bump(meeting)


def import_agenda(session: Session, actor: User, public_id: str, filename: str, data: bytes,
                  lang: str) -> list[MeetingStep]:
    """An agenda written as YAML (protocolfile.read_agenda), added at the end of the agenda: every line is checked,
    the evidence too, before any step is added; a problem names the file and line."""
    meeting = get_meeting(session, actor, public_id, "run")
    _planned_or_live(meeting)
    if not data:
        raise InvalidInput(msg("Choose an agenda file (YAML) to import."), field="file")
    if len(data) > MAX_FILE:
        raise InvalidInput(msg("The agenda file is larger than 2 MB; an agenda is a few KB."), field="file")
    known = {p.key: p for p in protocols(session)}
    name = filename or "agenda.yaml"
    try:
        entries = protocolfile.read_agenda(name, data, language=lang,
                                           protocols={k: len(p.spec["steps"]) for k, p in known.items()})
    except protocolfile.ProtocolFileError as exc:
        raise protocol_error(exc, "agenda") from None
    planned: list[dict[str, Any]] = []
    problems: list[str] = []
    for entry in entries:
        evidence: dict[str, Any] = {}
        if entry.evidence is not None:
            try:
                evidence = _resolve_evidence(session, actor, meeting, *entry.evidence)
            except InvalidInput as exc:
                problems.append(f"{name}:{entry.line}: evidence: {exc.detail}")
                continue
        if entry.protocol:
            specs = known[entry.protocol].spec["steps"]
            chosen = [specs[entry.step - 1]] if entry.step else specs
            for spec in chosen:
                planned.append({"texts": {"title": entry.title or spec["title"], "prompt": entry.prompt
                                          or spec["prompt"]}, "minutes": entry.minutes or spec["minutes"],
                                "responses": entry.responses or spec.get("responses", "open"),
                                "protocol_key": entry.protocol, **evidence})
        else:
            planned.append({"texts": {"title": entry.title, "prompt": entry.prompt}, "minutes": entry.minutes,
                            "responses": entry.responses or "open", **evidence})
    if problems:
        raise InvalidInput(msg("The agenda file has problems:\n%(problems)s", problems="\n".join(problems)),
                           field="file")
    if len(meeting.steps) + len(planned) > MAX_STEPS:
        raise InvalidInput(msg("With this file the agenda would have %(count)d steps; a meeting has at most "
                               "%(most)d.", count=len(meeting.steps) + len(planned), most=MAX_STEPS), field="file")
    added = []
    for values in planned:
        step = MeetingStep(meeting=meeting, position=len(meeting.steps), **values)
        session.add(step)
        added.append(step)
    _bump(meeting)
    session.flush()
    return added


# ------------------------------------------------------------------------------------ before and during


def _attendance(session: Session, meeting: Meeting, user: User) -> Attendance:
    """The member's attendance row, made on first need; two requests of one member at once (two tabs) make it
    once: the second's insert fails inside its savepoint and it reads the first's."""
    query = select(Attendance).where(Attendance.meeting_id == meeting.id, Attendance.user_id == user.id)
    row = session.scalar(query)
    if row is None:
        try:
            with session.begin_nested():
                row = Attendance(meeting_id=meeting.id, user_id=user.id)
                session.add(row)
        except IntegrityError:
            row = session.scalar(query)
    return row


def prewatch(session: Session, actor: User, public_id: str, step_id: int) -> MeetingStep:
    """A member opens a step's evidence from the meeting (before it, or during): the facilitator sees who has."""
    meeting = get_meeting(session, actor, public_id)
    step = _step_of(meeting, step_id)
    if not evidence_shared(session, step):
        raise NotFound(msg("This evidence is no longer shared with the community."))
    row = _attendance(session, meeting, actor)
    if row.prewatched_at is None and meeting.status == "planned":
        row.prewatched_at = utcnow()
    return step


def join(session: Session, actor: User, meeting: Meeting) -> None:
    """Opening a live meeting's page counts the member as present (the facilitator can correct it)."""
    if meeting.status != "live" or not authz.may(actor, "respond", meeting):
        return
    row = _attendance(session, meeting, actor)
    if not row.present:
        row.present, row.joined_at = True, utcnow()
        _bump(meeting)


def start(session: Session, actor: User, public_id: str) -> Meeting:
    meeting = get_meeting(session, actor, public_id, "run")
    if meeting.status != "planned":
        raise Conflict(msg("This meeting has already started."))
    if not meeting.steps:
        raise Conflict(msg("Add at least one step to the agenda before starting the meeting."))
    meeting.status, meeting.started_at, meeting.current_step = "live", utcnow(), 0
    _attendance(session, meeting, actor).present = True
    _bump(meeting)
    return meeting


def go_to(session: Session, actor: User, public_id: str, position: int) -> Meeting:
    """The facilitator moves the group to a step; every member's screen follows."""
    meeting = get_meeting(session, actor, public_id, "run")
    if meeting.status != "live":
        raise Conflict(msg("Start the meeting first: the group moves through the steps while it is live."))
    if not 0 <= position < len(meeting.steps):
        raise InvalidInput(msg("The agenda has no such step."), field="position")
    meeting.current_step = position
    _bump(meeting)
    return meeting


def respond(session: Session, actor: User, public_id: str, *, step_id: int | None, text: str,
            seconds: float | None = None) -> MeetingResponse:
    """A member's response to a step (the current one by default), optionally pointing at a moment of the step's
    clip; a response to a closed meeting, or by someone no longer in the community, is refused."""
    meeting = get_meeting(session, actor, public_id)
    if not authz.may(actor, "respond", meeting):
        raise Conflict(msg("This meeting is closed: responses can no longer be added."))
    if not meeting.steps:
        raise Conflict(msg("The meeting has no steps to respond to yet."))
    step = _step_of(meeting, step_id) if step_id is not None else meeting.steps[meeting.current_step]
    text = (text or "").strip()
    if not text:
        raise InvalidInput(msg("Write your response first."), field="text")
    if len(text) > MAX_RESPONSE:
        raise InvalidInput(msg("A response is at most %(count)d characters.", count=MAX_RESPONSE), field="text")
    check_text("text", text)
    if seconds is not None:
        if step.evidence not in ("clip", "attempt"):
            raise InvalidInput(msg("A moment can be pointed at only in a step with a clip or a rehearsal."),
                               field="seconds")
        if not 0 <= seconds <= 24 * 3600:
            raise InvalidInput(msg("The moment is a time within the clip."), field="seconds")
    response = MeetingResponse(meeting_id=meeting.id, step_id=step.id, author_id=actor.id, text=text,
                               seconds=seconds)
    session.add(response)
    if meeting.status == "live":
        row = _attendance(session, meeting, actor)
        if not row.present:
            row.present, row.joined_at = True, utcnow()
    _bump(meeting)
    session.flush()
    return response


def reveal(session: Session, actor: User, public_id: str, step_id: int) -> None:
    meeting = get_meeting(session, actor, public_id, "run")
    step = _step_of(meeting, step_id)
    if step.responses != "held":
        raise Conflict(msg("Responses to this step are seen by everyone already."))
    step.revealed = True
    _bump(meeting)


def highlight(session: Session, actor: User, public_id: str, response_id: int, on: bool = True) -> None:
    meeting = get_meeting(session, actor, public_id, "run")
    response = session.scalar(select(MeetingResponse).where(MeetingResponse.id == response_id,
                                                            MeetingResponse.meeting_id == meeting.id))
    if response is None:
        raise NotFound(msg("This response is not part of the meeting."))
    response.highlighted = on
    _bump(meeting)


def close(session: Session, actor: User, public_id: str) -> Meeting:
    meeting = get_meeting(session, actor, public_id, "run")
    if meeting.status == "closed":
        raise Conflict(msg("This meeting is closed already."))
    meeting.status, meeting.closed_at = "closed", utcnow()
    if meeting.started_at is None:
        meeting.started_at = meeting.closed_at
    _bump(meeting)
    return meeting


def set_summary(session: Session, actor: User, public_id: str, summary: str) -> Meeting:
    meeting = get_meeting(session, actor, public_id, "run")
    summary = (summary or "").strip()
    if len(summary) > MAX_SUMMARY:
        raise InvalidInput(msg("The summary is at most %(count)d characters.", count=MAX_SUMMARY), field="summary")
    check_text("summary", summary)
    meeting.summary = summary
    _bump(meeting)
    return meeting


def set_attendance(session: Session, actor: User, public_id: str, present: set[int]) -> int:
    """The facilitator's list of who came (members only); returns how many."""
    meeting = get_meeting(session, actor, public_id, "run")
    members = set(session.scalars(select(CommunityMember.user_id).where(
        CommunityMember.community_id == meeting.community_id)))
    strangers = present - members
    if strangers:
        raise InvalidInput(msg("Only the community's members can be marked present."), field="present")
    rows = {r.user_id: r for r in session.scalars(select(Attendance).where(Attendance.meeting_id == meeting.id))}
    for user_id in members:
        row = rows.get(user_id)
        if row is None and user_id in present:
            row = Attendance(meeting_id=meeting.id, user_id=user_id)
            session.add(row)
        if row is not None:
            row.present = user_id in present
    _bump(meeting)
    return len(present)


def add_next_step(session: Session, actor: User, public_id: str, *, text: str, assignee_id: int | None,
                  due: date | None) -> NextStep:
    meeting = get_meeting(session, actor, public_id, "run")
    text = (text or "").strip()
    if not text or len(text) > 1000:
        raise InvalidInput(msg("A next step needs a text of 1 to 1000 characters."), field="text")
    check_text("text", text)
    assignee = None
    if assignee_id is not None:
        if policy.role_in(User(id=assignee_id), meeting.community_id, session) is None:
            raise InvalidInput(msg("A next step is assigned to a member of the community."), field="assignee")
        assignee = session.get(User, assignee_id)
    if due is not None and assignee is None:
        raise InvalidInput(msg("A date goes with a member who will do it: choose the member too."), field="due")
    step = NextStep(meeting=meeting, position=len(meeting.next_steps), text=text, assignee=assignee, due=due)
    session.add(step)
    if assignee is not None:
        notify(session, assignee, "meeting_next_step", {"facilitator": actor.display_name, "title": meeting.title},
               f"/meetings/{meeting.public_id}#next-steps", actor=actor)
    _bump(meeting)
    session.flush()
    return step


def _next_step(session: Session, meeting: Meeting, next_step_id: int) -> NextStep:
    found = next((n for n in meeting.next_steps if n.id == next_step_id), None)
    if found is None:
        raise NotFound(msg("This next step is not part of the meeting."))
    return found


def remove_next_step(session: Session, actor: User, public_id: str, next_step_id: int) -> None:
    meeting = get_meeting(session, actor, public_id, "run")
    found = _next_step(session, meeting, next_step_id)
    meeting.next_steps.remove(found)
    session.delete(found)
    _bump(meeting)


def mark_done(session: Session, actor: User, public_id: str, next_step_id: int, done: bool = True) -> NextStep:
    """The member a next step is assigned to (or a facilitator) marks it done."""
    meeting = get_meeting(session, actor, public_id)
    found = _next_step(session, meeting, next_step_id)
    if found.assignee_id != actor.id and not authz.may(actor, "run", meeting):
        raise Forbidden(msg("Only the member it is assigned to marks a next step done."))
    found.done_at = utcnow() if done else None
    _bump(meeting)
    return found


def next_steps_for(session: Session, actor: User) -> list[NextStep]:
    """The next steps assigned to the actor, not done, of meetings they still reach (the dashboard)."""
    return list(session.scalars(select(NextStep).join(Meeting, Meeting.id == NextStep.meeting_id).where(
        NextStep.assignee_id == actor.id, NextStep.done_at.is_(None),
        Meeting.id.in_(authz.visible(actor, select(Meeting.id)))).order_by(NextStep.due.is_(None), NextStep.due)))


# ------------------------------------------------------------------------------------ what a member sees


def members(session: Session, meeting: Meeting) -> list[tuple[User, str]]:
    return [(u, role) for u, role in session.execute(
        select(User, CommunityMember.role).join(CommunityMember, CommunityMember.user_id == User.id)
        .where(CommunityMember.community_id == meeting.community_id).order_by(User.display_name))]


def attendance(session: Session, meeting: Meeting) -> dict[int, Attendance]:
    return {a.user_id: a for a in session.scalars(select(Attendance).where(Attendance.meeting_id == meeting.id))}


def poll_head(session: Session, actor: User, public_id: str) -> tuple[int, int, str]:
    """(meeting id, version, role) in one query, for the live poll: most polls end here with 304 Not Modified.
    Membership is read every time, so a member removed mid-meeting gets 404 on their next poll."""
    row = session.execute(select(Meeting.id, Meeting.version, CommunityMember.role).join(
        CommunityMember, and_(CommunityMember.community_id == Meeting.community_id,
                              CommunityMember.user_id == actor.id)).where(
        Meeting.public_id == str(public_id)[:32])).first()
    if row is None:
        raise NotFound(authz.NO_SUCH_OBJECT)
    return row[0], row[1], row[2]


def state(session: Session, meeting_id: int) -> dict[str, Any]:
    """Everything a live screen shows, for every viewer (`for_viewer` takes out what one may not see)."""
    meeting = session.get(Meeting, meeting_id)
    responses = session.execute(
        select(MeetingResponse.id, MeetingResponse.step_id, MeetingResponse.author_id, User.display_name,
               MeetingResponse.text, MeetingResponse.seconds, MeetingResponse.highlighted, MeetingResponse.created_at)
        .join(User, User.id == MeetingResponse.author_id).where(MeetingResponse.meeting_id == meeting_id)
        .order_by(MeetingResponse.id)).all()
    held = {s.id for s in meeting.steps if s.responses == "held" and not s.revealed}
    present = session.execute(select(User.id, User.display_name).join(Attendance, Attendance.user_id == User.id)
                              .where(Attendance.meeting_id == meeting_id, Attendance.present.is_(True))
                              .order_by(User.display_name)).all()
    return {
        "version": meeting.version, "status": meeting.status, "current": meeting.current_step,
        "steps": [{"id": s.id, "position": s.position, "held": s.id in held} for s in meeting.steps],
        "responses": [{"id": r[0], "step": r[1], "author_id": r[2], "author": r[3], "text": r[4], "seconds": r[5],
                       "highlighted": bool(r[6]), "at": r[7].isoformat(), "held": r[1] in held} for r in responses],
        "present": [{"id": p[0], "name": p[1]} for p in present],
    }


def for_viewer(full: dict[str, Any], viewer_id: int, facilitator: bool) -> dict[str, Any]:
    """The state as one viewer sees it: a facilitator everything; a member the responses not held, and their
    own, and of held responses only how many are waiting."""
    if facilitator:
        return {**full, "facilitator": True}
    shown, waiting = [], Counter()
    for r in full["responses"]:
        if r["held"] and r["author_id"] != viewer_id:
            waiting[r["step"]] += 1
        else:
            shown.append(r)
    return {**full, "responses": shown, "waiting": {str(k): v for k, v in waiting.items()},
            "present": [{"id": 0, "name": ""}] * len(full["present"]), "facilitator": False}


def responses_of(session: Session, actor: User, meeting: Meeting) -> dict[int, list[MeetingResponse]]:
    """The responses the actor may read, by step id (a page's first render; the live poll keeps it current)."""
    authz.require(actor, "view", meeting)
    facilitator = authz.may(actor, "run", meeting)
    held = {s.id for s in meeting.steps if s.responses == "held" and not s.revealed}
    by_step: dict[int, list[MeetingResponse]] = defaultdict(list)
    for r in session.scalars(select(MeetingResponse).where(MeetingResponse.meeting_id == meeting.id)
                             .order_by(MeetingResponse.id)):
        if facilitator or r.step_id not in held or r.author_id == actor.id:
            by_step[r.step_id].append(r)
    return by_step


# ------------------------------------------------------------------------------------ the record


def markdown(session: Session, actor: User, meeting: Meeting, lang: str, labels: dict[str, str]) -> str:
    """The read-only record as the actor may read it, as Markdown: agenda with its responses (highlighted ones
    marked), summary, next steps, attendance. `labels` are the headings in the reader's language."""
    by_step = responses_of(session, actor, meeting)
    out = [f"# {meeting.title}", "", f"{labels['community']}: {meeting.community.name}  ",
           f"{labels['when']}: {labels['starts_at']}", "", f"## {labels['agenda']}"]
    for n, step in enumerate(meeting.steps, start=1):
        out += ["", f"### {n}. {text_in(step.texts.get('title'), lang)} ({step.minutes}′)", "",
                "> " + text_in(step.texts.get("prompt"), lang).replace("\n", "\n> "), ""]
        for r in by_step.get(step.id, []):
            moment = f" [{clock(r.seconds)}]" if r.seconds is not None else ""
            star = "★ " if r.highlighted else ""
            out.append(f"- {star}**{r.author.display_name}**{moment}: " + r.text.replace("\n", " "))
    if meeting.summary:
        out += ["", f"## {labels['summary']}", "", meeting.summary]
    if meeting.next_steps:
        out += ["", f"## {labels['next_steps']}", ""]
        for ns in meeting.next_steps:
            who = f" — {ns.assignee.display_name}" if ns.assignee else ""
            due = f" ({ns.due.isoformat()})" if ns.due else ""
            out.append(f"- [{'x' if ns.done_at else ' '}] {ns.text}{who}{due}")
    rows = attendance(session, meeting)
    present = [u.display_name for u, _ in members(session, meeting) if u.id in rows and rows[u.id].present]
    out += ["", f"## {labels['attendance']}", "", ", ".join(present) or "—", ""]
    return "\n".join(out)


def clock(seconds: float | None) -> str:
    if seconds is None:
        return ""
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


# ------------------------------------------------------------------------------------ history and the report


def discussed(session: Session, actor: User, community: Community) -> tuple[Counter, Counter]:
    """What the community's meetings looked at most: the framework tags of the comments on the clips discussed (in
    each clip's range), and the misconceptions their diagnostic evidence revealed (each counted once per step)."""
    authz.require(actor, "view", community)
    steps = list(session.scalars(select(MeetingStep).join(Meeting, Meeting.id == MeetingStep.meeting_id).where(
        Meeting.community_id == community.id, MeetingStep.evidence != "none")))
    tags: Counter = Counter()
    mis: Counter = Counter()
    for step in steps:
        if step.evidence == "clip" and step.clip is not None:
            clip = step.clip
            for tag_list in session.scalars(select(Comment.tags).where(
                    Comment.video_id == clip.video_id, Comment.parent_id.is_(None), Comment.deleted_at.is_(None),
                    Comment.start >= clip.start, Comment.start <= clip.end)):
                for tag in tag_list or []:
                    if not isinstance(tag, dict) or not tag.get("element"):
                        continue
                    if tag.get("framework") == "misconceptions":
                        mis[tag["element"]] += 1
                    else:
                        tags[f"{tag.get('framework')}:{tag['element']}"] += 1
        elif step.evidence in ("result", "item") and step.assignment is not None:
            res = diagnostics.results_of(session, [step.assignment], statistics=step.evidence == "item")[0]
            if step.evidence == "item":
                stats = next((st for st in res.item_stats if st.item == step.item_key), None)
                for key in (stats.misconception_rates if stats else {}):
                    mis[key] += 1
            else:
                for key, count in res.frequencies.items():
                    if count:
                        mis[key] += 1
        elif step.evidence == "attempt" and step.attempt is not None and step.attempt.scenario.misconception_key:
            mis[step.attempt.scenario.misconception_key] += 1
    return tags, mis


def _months(since: date, until: date) -> list[str]:
    months, y, m = [], since.year, since.month
    while (y, m) <= (until.year, until.month):
        months.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return months


@dataclass
class Report:
    months: list[str]
    rows: list[dict[str, Any]]  # one per organization: name, communities, meetings, members, by month
    meetings_by_month: dict[str, list[int]]  # organization -> meetings held per month
    active_by_month: dict[str, list[int]]  # organization -> active members per month


def report(session: Session, actor: User, *, since: date, until: date) -> Report:
    """Communities, meetings held and active members (came to a meeting, or responded) per month, by organization:
    counts only, never what was said. An administrator sees every organization, a school leader their own."""
    if not policy.may_report(actor):
        raise Forbidden(msg("The communities report is for the institute's administrators and school leaders."))
    if since > until:
        raise InvalidInput(msg("The report's first month comes before its last."), field="since")
    if (until.year - since.year) * 12 + until.month - since.month > 36:
        raise InvalidInput(msg("A report covers at most three years."), field="since")
    months = _months(since, until)
    start = datetime(since.year, since.month, 1, tzinfo=utcnow().tzinfo)
    end_y, end_m = (until.year + 1, 1) if until.month == 12 else (until.year, until.month + 1)
    end = datetime(end_y, end_m, 1, tzinfo=start.tzinfo)
    orgs = select(Organization.id, Organization.name)
    if actor.role != Role.admin:
        orgs = orgs.where(Organization.id == actor.organization_id)
    names = {oid: name for oid, name in session.execute(orgs)}
    no_org = msg("No organization") if actor.role == Role.admin else None
    keep = set(names) | ({None} if no_org is not None else set())
    communities = Counter()
    for oid, count in session.execute(select(Community.organization_id, func.count()).group_by(
            Community.organization_id)):
        if oid in keep:
            communities[oid] = count
    held = session.execute(select(Community.organization_id, Meeting.id, Meeting.started_at).join(
        Community, Community.id == Meeting.community_id).where(
        Meeting.status == "closed", Meeting.started_at >= start, Meeting.started_at < end)).all()
    meeting_month = {mid: at.strftime("%Y-%m") for oid, mid, at in held if oid in keep}
    meeting_org = {mid: oid for oid, mid, _ in held if oid in keep}
    per_month: dict[Any, Counter] = defaultdict(Counter)
    for mid, month in meeting_month.items():
        per_month[meeting_org[mid]][month] += 1
    active: dict[Any, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    ids = list(meeting_month)
    if ids:
        for mid, uid in session.execute(select(Attendance.meeting_id, Attendance.user_id).where(
                Attendance.meeting_id.in_(ids), Attendance.present.is_(True))):
            active[meeting_org[mid]][meeting_month[mid]].add(uid)
        for mid, uid in session.execute(select(MeetingResponse.meeting_id, MeetingResponse.author_id).where(
                MeetingResponse.meeting_id.in_(ids)).distinct()):
            active[meeting_org[mid]][meeting_month[mid]].add(uid)
    rows, meetings_by_month, active_by_month = [], {}, {}
    for oid in sorted(keep, key=lambda o: (o is None, names.get(o, ""))):
        name = names.get(oid) if oid is not None else str(no_org)
        if oid is None and not communities.get(None):
            continue
        meetings = [per_month[oid][m] for m in months]
        actives = [len(active[oid][m]) for m in months]
        everyone = set().union(*active[oid].values()) if active[oid] else set()
        rows.append({"organization": name, "communities": communities.get(oid, 0), "meetings": sum(meetings),
                     "members": len(everyone), "by_month": list(zip(months, meetings, actives, strict=True))})
        meetings_by_month[name], active_by_month[name] = meetings, actives
    return Report(months, rows, meetings_by_month, active_by_month)


def report_csv(rep: Report, headings: list[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headings)
    for row in rep.rows:
        for month, meetings, actives in row["by_month"]:
            writer.writerow([row["organization"], month, row["communities"], meetings, actives])
    return out.getvalue()


# ------------------------------------------------------------------------------------ the data export


def export_for(session: Session, user: User) -> dict[str, Any]:
    """What one person wrote and was given in meetings: their responses, the meetings they ran, their next steps."""
    responses = [{"meeting": r.step.meeting.public_id, "meeting_title": r.step.meeting.title,
                  "step": text_in(r.step.texts.get("title"), user.locale or "en"), "text": r.text,
                  "seconds": r.seconds, "highlighted": r.highlighted, "at": r.created_at.isoformat()}
                 for r in session.scalars(select(MeetingResponse).where(MeetingResponse.author_id == user.id)
                                          .order_by(MeetingResponse.id))]
    ran = [{"meeting": m.public_id, "title": m.title, "community": m.community.name, "status": m.status,
            "starts_at": m.starts_at.isoformat(), "summary": m.summary}
           for m in session.scalars(select(Meeting).where(Meeting.created_by_id == user.id).order_by(Meeting.id))]
    steps = [{"meeting": n.meeting.public_id, "text": n.text, "due": n.due.isoformat() if n.due else None,
              "done": n.done_at is not None}
             for n in session.scalars(select(NextStep).where(NextStep.assignee_id == user.id).order_by(NextStep.id))]
    return {"responses": responses, "meetings_facilitated": ran, "next_steps": steps}

