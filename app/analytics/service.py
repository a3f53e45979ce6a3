"""Lesson analytics use cases: ask for an analysis, store what the worker heard, compute the measures, and let the
teacher (and a coach the teacher shares with) correct the speakers and review the markers. No Flask here.

The worker does the listening (workers/speakers.py) and calls `store_turns` and `compute`; everything a person
does here — naming the teacher's voice, correcting the transcript — asks for the measures again (a task, sent
when the request commits), so the page and the API never run the measurement inside a request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, selectinload

from app import authz, jobs, signals
from app.accounts.models import User
from app.analytics import measures as measuring
from app.analytics import policy as _policy  # noqa: F401 - the rules this module's checks rely on
from app.analytics.models import MARKER_KINDS, LessonAnalysis, LessonMarker, SpeakerTurn
from app.db import MAX_ID, utcnow
from app.errors import Conflict, InvalidInput, NotFound, msg
from app.feedback import service as feedback
from app.video import service as lessons
from app.video.models import Video, VideoStatus

# A reviewed marker and a new machine one this close (seconds) and of the same family are the same moment.
SAME_MOMENT = 1.0
# The turns and markers a page shows at most (a four-hour lesson has thousands of turns; the band draws them all).
LISTED = 400


def analysis_of(session: Session, video: Video) -> LessonAnalysis | None:
    return session.scalar(select(LessonAnalysis).where(LessonAnalysis.video_id == video.id))


def wants_analysis(video: Video) -> bool:
    """Lessons are analysed; a rehearsal is one voice practising and has its own rubric feedback."""
    return video.purpose == "lesson"


def request(session: Session, video: Video, *, listen: bool = True) -> LessonAnalysis | None:
    """Ask for the lesson's analysis: the speaker turns and the measures (`listen`), or the measures alone from
    the turns already heard. Sent when the session commits."""
    if not wants_analysis(video):
        return None
    analysis = analysis_of(session, video)
    if analysis is None:
        analysis = LessonAnalysis(video=video, teacher_id=video.owner_id)
        session.add(analysis)
        session.flush()
        listen = True
    if listen or analysis.diarized_at is None:
        analysis.status, analysis.reason, analysis.requested_at = "waiting", "", utcnow()
        jobs.enqueue(session, jobs.ANALYTICS_ANALYSE, video.id)
    else:
        jobs.enqueue(session, jobs.ANALYTICS_MEASURE, video.id)
    return analysis


@signals.transcript_corrected.connect
def _transcript_corrected(session: Session, video: Video) -> None:
    """A corrected transcript changes what was asked and taken up: measure again (the turns stay)."""
    analysis = analysis_of(session, video)
    if analysis is not None and analysis.diarized_at is not None:
        jobs.enqueue(session, jobs.ANALYTICS_MEASURE, video.id)


# ------------------------------------------------------------------------------------------------------------------
# What the worker stores


def start(session: Session, video_id: int) -> LessonAnalysis | None:
    video = session.get(Video, video_id)
    if video is None or not wants_analysis(video):
        return None
    analysis = analysis_of(session, video) or LessonAnalysis(video=video, teacher_id=video.owner_id)
    session.add(analysis)
    analysis.status, analysis.reason = "running", ""
    return analysis


def claim(session: Session, analysis: LessonAnalysis) -> bool:
    """Hold the analysis for the rest of this transaction, if nobody changed it since it was read: a worker that
    measures takes it before writing, so a teacher's correction made meanwhile (which asks for a fresh measure) is
    never overwritten by measures of what she had just corrected. False when it changed: the worker leaves it to the
    measure that correction asked for."""
    table = LessonAnalysis.__table__
    held = session.execute(update(table).where(table.c.id == analysis.id, table.c.version == analysis.version)
                           .values(version=analysis.version))
    return held.rowcount == 1


def fail(session: Session, video_id: int, reason: str) -> None:
    video = session.get(Video, video_id)
    analysis = analysis_of(session, video) if video is not None else None
    if analysis is not None:
        analysis.status, analysis.reason = "failed", reason
        analysis.version += 1


def store_turns(session: Session, analysis: LessonAnalysis, heard: dict) -> None:
    """What the worker heard (workers.speakers.Diarization.as_dict()): replaces the turns; the teacher is the
    machine's guess again, since voices are numbered afresh by each listening."""
    session.execute(delete(SpeakerTurn).where(SpeakerTurn.analysis_id == analysis.id))
    session.expire(analysis, ["turns"])
    analysis.duration = float(heard.get("duration") or 0.0)
    analysis.voices = [dict(v) for v in heard.get("voices") or ()]
    analysis.speech = [list(r) for r in heard.get("speech") or ()]
    analysis.overlaps = [list(r) for r in heard.get("overlaps") or ()]
    analysis.teacher_voice, analysis.teacher_set_by = heard.get("teacher"), "machine"
    for i, t in enumerate(heard.get("turns") or ()):
        session.add(SpeakerTurn(analysis=analysis, position=i, start=float(t["start"]), end=float(t["end"]),
                                voice=int(t["voice"]), rising=t.get("rising")))
    analysis.diarized_at = utcnow()
    session.flush()


def transcript_words(session: Session, video: Video) -> list[measuring.Word] | None:
    """The transcript as timed words, or None when the lesson has none to read (not transcribed, or no model for
    its language). A corrected line keeps its time, its words spread evenly over it."""
    transcript = video.transcript
    if transcript is None or (transcript.settings or {}).get("missing_model"):
        return None
    lines = lessons.transcript_lines(session, video, words=True)
    if not lines:
        return None
    words: list[measuring.Word] = []
    for line in lines:
        timed = json.loads(line.words_json) if line.corrected is None and line.words_json else []
        if timed:
            words.extend(measuring.Word(float(w["start"]), float(w["end"]), str(w["text"])) for w in timed)
            continue
        tokens = line.shown.split()
        step = (line.end - line.start) / max(1, len(tokens))
        words.extend(measuring.Word(line.start + i * step, line.start + (i + 1) * step, token)
                     for i, token in enumerate(tokens))
    return words


def _turns(analysis: LessonAnalysis) -> list[measuring.Turn]:
    return [measuring.Turn(t.start, t.end, analysis.role(t.voice), t.voice, t.rising) for t in analysis.turns]


def compute(session: Session, analysis: LessonAnalysis) -> None:
    """The measures and markers from the stored turns and the transcript as it reads now."""
    video = analysis.video
    words = transcript_words(session, video)
    has_text = words is not None
    turns = _turns(analysis)
    if has_text:
        turns = measuring.assign_words(turns, words)
    language = video.language or "en"
    result = measuring.measure(turns, duration=analysis.duration or (video.duration or 0.0), language=language,
                               overlaps=[tuple(o) for o in analysis.overlaps or ()], has_text=has_text)
    analysis.language, analysis.has_text = language, has_text
    analysis.measures = result.as_dict()
    _replace_markers(session, analysis, result.markers)
    analysis.status, analysis.reason, analysis.measured_at = "done", "", utcnow()
    analysis.version += 1


def _family(kind: str) -> str:
    return "question" if kind.startswith("question") else "wait" if kind.startswith("wait") else kind


def _replace_markers(session: Session, analysis: LessonAnalysis, found) -> None:
    kept = [m for m in analysis.markers if m.state != "machine"]
    session.execute(delete(LessonMarker).where(LessonMarker.analysis_id == analysis.id,
                                               LessonMarker.state == "machine"))
    session.expire(analysis, ["markers"])
    for marker in found:
        data = marker.as_dict() if hasattr(marker, "as_dict") else dict(marker)
        kind = data.pop("kind")
        if kind not in MARKER_KINDS:
            continue
        start, end = float(data.pop("start")), float(data.pop("end"))
        if any(_family(k.kind) == _family(kind) and abs(k.start - start) < SAME_MOMENT for k in kept):
            continue
        session.add(LessonMarker(analysis=analysis, kind=kind, start=start, end=end, detail=data))
    session.flush()


# ------------------------------------------------------------------------------------------------------------------
# What people do


def get(session: Session, actor: User, public_id: str, action: str = "view") -> LessonAnalysis:
    """The lesson's analysis, once `actor` may watch the lesson and do `action` on its analysis."""
    video = lessons.get_video(session, actor, public_id, "view", assets=False, transcript=True)
    analysis = analysis_of(session, video)
    if analysis is None:
        authz.require(actor, "edit", video)  # the owner learns there is none yet; anyone else, nothing
        raise NotFound(msg("This lesson has not been analysed yet."))
    authz.require(actor, action, analysis)
    return analysis


def readable(session: Session, actor: User, video: Video) -> LessonAnalysis | None:
    """The analysis the watch page shows this reader, if any."""
    analysis = analysis_of(session, video)
    return analysis if analysis is not None and authz.may(actor, "view", analysis) else None


def set_teacher(session: Session, actor: User, public_id: str, voice) -> LessonAnalysis:
    """This voice is the teacher: every turn heard in it is the teacher's, every other voice a student's."""
    analysis = get(session, actor, public_id, "relabel")
    if analysis.diarized_at is None:
        raise Conflict(msg("The voices of this lesson have not been told apart yet."))
    if not isinstance(voice, int) or isinstance(voice, bool) or not 0 <= voice < len(analysis.voices):
        raise InvalidInput(msg("Choose one of the voices heard in this lesson."), field="voice")
    if analysis.teacher_voice != voice or analysis.teacher_set_by != "person":
        analysis.teacher_voice, analysis.teacher_set_by = voice, "person"
        analysis.status = "waiting"
        analysis.version += 1
        jobs.enqueue(session, jobs.ANALYTICS_MEASURE, analysis.video_id)
    return analysis


def set_shared(session: Session, actor: User, public_id: str, shared: bool) -> LessonAnalysis:
    analysis = get(session, actor, public_id, "share")
    analysis.shared_with_coach = bool(shared)
    analysis.version += 1
    return analysis


def rerun(session: Session, actor: User, public_id: str) -> LessonAnalysis:
    """Listen again (after a failure, or a re-encoded sound)."""
    analysis = get(session, actor, public_id, "rerun")
    if analysis.video.status != VideoStatus.ready:
        raise Conflict(msg("The lesson is still being processed; it is analysed when it is ready."))
    request(session, analysis.video, listen=True)
    return analysis


def get_marker(session: Session, actor: User, public_id: str, action: str = "review") -> LessonMarker:
    return authz.load(session, actor, LessonMarker, public_id, action)


def review_marker(session: Session, actor: User, public_id: str, verdict: str, kind: str | None = None
                  ) -> LessonMarker:
    """Confirm a marker, dismiss it, or correct its kind (a question that was open, a wait that was not long)."""
    marker = get_marker(session, actor, public_id)
    if verdict not in ("confirm", "dismiss", "correct"):
        raise InvalidInput(msg("Confirm, correct or dismiss the marker."), field="verdict")
    if verdict == "correct":
        if kind not in MARKER_KINDS:
            raise InvalidInput(msg("Choose what this moment is."), field="kind")
        if kind == marker.kind:
            verdict = "confirm"
    marker.state = {"confirm": "confirmed", "dismiss": "dismissed", "correct": "corrected"}[verdict]
    marker.corrected_kind = kind if verdict == "correct" else None
    marker.reviewed_by_id, marker.reviewed_at = actor.id, utcnow()
    marker.analysis.version += 1
    return marker


def marker_to_comment(session: Session, actor: User, public_id: str, *, body: str, tags: list[str] | None):
    """The marker becomes a timestamped comment on the lesson (with a framework tag if chosen), and is confirmed."""
    marker = get_marker(session, actor, public_id)
    if marker.comment_id is not None:
        raise Conflict(msg("This moment is already a comment."))
    video = marker.analysis.video
    end = marker.end if marker.end > marker.start + 0.5 else None
    comment = feedback.add_comment(session, actor, video.public_id, body=body, start=marker.start, end=end,
                                   tags=tags)
    marker.comment_id = comment.id
    if marker.state == "machine":
        marker.state, marker.reviewed_by_id, marker.reviewed_at = "confirmed", actor.id, utcnow()
    marker.analysis.version += 1
    return comment


# ------------------------------------------------------------------------------------------------------------------
# Reading


@dataclass(frozen=True)
class ShownTurn:
    start: float
    end: float
    voice: int
    role: str
    student: int  # 1, 2, … for a student's voice, 0 for the teacher's
    text: str


def turns_shown(session: Session, analysis: LessonAnalysis, *, text: bool = True) -> list[ShownTurn]:
    """The turns as a page shows them; with `text`, each with the words said in it (the band needs none)."""
    turns = _turns(analysis)
    words = transcript_words(session, analysis.video) if text else None
    if words is not None:
        turns = measuring.assign_words(turns, words)
    return [ShownTurn(t.start, t.end, t.voice, t.role, analysis.student_number(t.voice), t.text) for t in turns]


def speaker_at(analysis: LessonAnalysis, moments: list[float]) -> list[ShownTurn | None]:
    """For each moment (sorted), the turn heard then, or None in a silence: labels for the transcript's lines."""
    out: list[ShownTurn | None] = []
    turns, i = analysis.turns, 0
    for moment in moments:
        while i < len(turns) and turns[i].end < moment:
            i += 1
        if i < len(turns) and turns[i].start <= moment + 0.5:
            t = turns[i]
            out.append(ShownTurn(t.start, t.end, t.voice, analysis.role(t.voice), analysis.student_number(t.voice),
                                 ""))
        else:
            out.append(None)
    return out


def visible_analyses(session: Session, actor: User, teacher: User | None = None) -> list[LessonAnalysis]:
    query = authz.visible(actor, select(LessonAnalysis).where(LessonAnalysis.measured_at.is_not(None)))
    if teacher is not None:
        query = query.where(LessonAnalysis.teacher_id == teacher.id)
    query = query.join(Video, LessonAnalysis.video_id == Video.id).options(selectinload(LessonAnalysis.video))
    return list(session.scalars(query.order_by(Video.created_at)))


@dataclass(frozen=True)
class TrendPoint:
    video: Video
    measures: dict


def trends(session: Session, actor: User, teacher: User) -> list[TrendPoint]:
    """The teacher's analysed lessons in the order they were taught, as far as `actor` may read them."""
    return [TrendPoint(a.video, a.measures or {}) for a in visible_analyses(session, actor, teacher)]


def shared_trends(session: Session, actor: User, user_id: int) -> list[TrendPoint]:
    """The lessons teacher `user_id` shares with `actor`, their coach; NotFound when there are none (or no such
    person), so a page or the API says nothing of a teacher who shares nothing."""
    person = session.get(User, user_id) if 0 < user_id <= MAX_ID else None
    points = trends(session, actor, person) if person is not None else []
    if not points:
        raise NotFound(msg("No lesson analytics are shared with you by this teacher."))
    return points


def teachers_shared(session: Session, actor: User) -> list[tuple[User, int]]:
    """The teachers whose analyses this coach may read, with how many lessons each."""
    counts: dict[int, int] = {}
    people: dict[int, User] = {}
    for analysis in visible_analyses(session, actor):
        if analysis.teacher_id != actor.id:
            counts[analysis.teacher_id] = counts.get(analysis.teacher_id, 0) + 1
            people[analysis.teacher_id] = analysis.teacher
    return sorted(((people[k], n) for k, n in counts.items()), key=lambda p: p[0].display_name.casefold())


def export_for(session: Session, user: User) -> list[dict]:
    """The teacher's own analyses, for their data export."""
    rows = []
    for analysis in session.scalars(select(LessonAnalysis).where(LessonAnalysis.teacher_id == user.id)):
        rows.append({
            "lesson": analysis.video.public_id, "title": analysis.video.title, "status": analysis.status,
            "language": analysis.language, "shared_with_coach": analysis.shared_with_coach,
            "teacher_voice": analysis.teacher_voice, "voices": analysis.voices, "measures": analysis.measures,
            "turns": [{"start": t.start, "end": t.end, "voice": t.voice, "role": analysis.role(t.voice)}
                      for t in analysis.turns],
            "markers": [{"kind": m.shown_kind, "start": m.start, "end": m.end, "state": m.state,
                         "detail": m.detail} for m in analysis.markers],
        })
    return rows
