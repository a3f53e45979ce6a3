"""Video use cases: plain functions taking a session and the acting user (no Flask here)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Text, cast, func, select, text
from sqlalchemy.orm import Session, joinedload, selectinload

from app import authz, jobs, signals
from app.accounts.models import User
from app.db import utcnow
from app.errors import Conflict, InvalidInput, msg
from app.video import policy as _policy  # noqa: F401 - the rules this module's checks rely on
from app.video.models import NEXT_STEP, Asset, Segment, Transcript, Upload, Video, VideoStatus
from storage import Storage

TITLE_MAX = 300
_EXT = re.compile(r"^\.[a-z0-9]{1,5}$")


def clean_title(title: str | None, filename: str = "") -> str:
    title = unicodedata.normalize("NFC", (title or "").strip())
    if not title:
        title = Path(filename or "").stem.strip() or "Untitled lesson"
    if len(title) > TITLE_MAX:
        raise InvalidInput(msg("A title has at most %(most)d characters.", most=TITLE_MAX), field="title")
    if any(unicodedata.category(c) == "Cc" for c in title):
        raise InvalidInput(msg("A title cannot contain control characters."), field="title")
    return title


def safe_filename(filename: str | None) -> str:
    """The name as the teacher gave it, for display only: never part of a path or a command."""
    name = unicodedata.normalize("NFC", Path((filename or "").replace("\\", "/")).name)
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    return name[:TITLE_MAX]


def original_key(video: Video, filename: str = "") -> str:
    ext = Path(filename or "").suffix.lower()
    return f"videos/{video.public_id}/original/source{ext if _EXT.match(ext) else '.bin'}"


# The languages a lesson may be taught in: each picks its speech-recognition model (app.speechmodels).
LESSON_LANGUAGES = ("he", "ar", "en")


def lesson_language(value: str | None) -> str:
    """A teacher's locale as a lesson language: their own, else English."""
    return value if value in LESSON_LANGUAGES else "en"


def create_video(session: Session, owner: User, *, title: str | None, filename: str,
                 language: str | None = None) -> Video:
    """A lesson on its way in. Its language is the one chosen with the upload, else the teacher's own."""
    filename = safe_filename(filename)
    if language and language not in LESSON_LANGUAGES:
        raise InvalidInput(msg("Choose the lesson's language: Hebrew, Arabic or English."), field="language")
    video = Video(owner=owner, title=clean_title(title, filename), original_filename=filename)
    session.add(video)  # with its owner, so that the owner's row can be read even if it came from a finished unit
    video.language = language or lesson_language(owner.locale)
    session.flush()
    return video


def set_language(session: Session, actor: User, public_id: str, language: str) -> Video:
    """The lesson is taught in `language`. Once it has been transcribed, it is transcribed again with that
    language's model (the analytics follow the new transcript); a lesson still on its way just uses it."""
    video = get_video(session, actor, public_id, "edit")
    if language not in LESSON_LANGUAGES:
        raise InvalidInput(msg("Choose the lesson's language: Hebrew, Arabic or English."), field="language")
    if video.purpose != "lesson":
        raise Conflict(msg("Only a lesson has a language to choose; a rehearsal takes its scenario's."))
    if language == (video.language or "en"):
        return video
    video.language = language
    if video.status in (VideoStatus.transcribed, VideoStatus.ready) or (
            video.status == VideoStatus.failed and video.failed_step in ("transcribe", "finish")):
        video.status, video.step, video.failed_step, video.failure_reason = VideoStatus.transcoded, None, None, None
        video.attempts += 1
        start_processing(session, video)
    return video


def mark_uploaded(session: Session, video: Video, key: str, size: int) -> None:
    """The original is in storage, byte for byte: record it and hand the video to the workers."""
    put_asset(session, video, "original", key, size, "application/octet-stream")
    video.status = VideoStatus.uploaded
    video.size = size
    video.progress = 0.0


def ingest_file(session: Session, store: Storage, owner: User, path: Path, *, title: str | None = None,
                language: str | None = None) -> Video:
    """`classlab ingest`: the same path as an upload, from a local file."""
    if not path.is_file():
        raise InvalidInput(msg("%(path)s is not a file.", path=str(path)), field="path")
    video = create_video(session, owner, title=title, filename=path.name, language=language)
    key = original_key(video, path.name)
    with open(path, "rb") as fh:
        size = store.put(key, fh)
    mark_uploaded(session, video, key, size)
    return video


def start_processing(session: Session, video: Video) -> None:
    """Ask for the step that moves the video on; it is sent when this unit of work commits."""
    step = NEXT_STEP.get(video.status)
    if step:
        jobs.enqueue_step(session, video.id, step, video.attempts)


def put_asset(session: Session, video: Video, kind: str, key: str, size: int, content_type: str,
              info: dict | None = None) -> Asset:
    """One asset per kind: running a step twice replaces its row instead of adding one."""
    asset = session.scalar(select(Asset).where(Asset.video_id == video.id, Asset.kind == kind))
    if asset is None:
        asset = Asset(video=video, kind=kind)
        session.add(asset)
    asset.key, asset.size, asset.content_type, asset.info = key, size, content_type, info or {}
    asset.created_at = utcnow()
    return asset


def summary(video: Video) -> dict:
    """What `classlab ingest` prints and the API returns about a video."""
    transcript = video.transcript
    return {
        "id": video.public_id,
        "title": video.title,
        "status": video.status.value,
        "step": video.step,
        "progress": video.progress,
        "failed_step": video.failed_step,
        "failure_reason": video.failure_reason,
        "duration": video.duration,
        "size": video.size,
        "sha256": video.sha256,
        "container": video.container,
        "video_codec": video.video_codec,
        "audio_codec": video.audio_codec,
        "width": video.display_width,
        "height": video.display_height,
        "rotation": video.rotation,
        "web_mode": video.web_mode,
        "assets": {a.kind: {"key": a.key, "size": a.size, "content_type": a.content_type} for a in video.assets},
        "transcript": "\n".join(s.shown for s in transcript.segments) if transcript else "",
        "language": transcript.language if transcript else None,
    }


@dataclass(frozen=True, slots=True)
class Line:
    """A transcript line as read for showing it: the page, the API and captions need no ORM object per line
    (540 of them in a 45-minute lesson), and `words` stays the stored JSON text unless a caller parses it."""

    position: int
    start: float
    end: float
    text: str
    corrected: str | None
    words_json: str | None = None

    @property
    def shown(self) -> str:
        return self.corrected if self.corrected is not None else self.text


def transcript_lines(session: Session, video: Video, *, words: bool = False) -> list[Line]:
    """The lines of `video`'s transcript in order, in one query; with `words`, each line's word timings as the
    JSON text stored (the caller has checked who may read them)."""
    columns = [Segment.position, Segment.start, Segment.end, Segment.text, Segment.corrected]
    if words:
        columns.append(cast(Segment.words, Text))
    query = (select(*columns).join(Transcript, Segment.transcript_id == Transcript.id)
             .where(Transcript.video_id == video.id).order_by(Segment.position))
    return [Line(*row) for row in session.execute(query)]


def get_video(session: Session, actor: User, public_id: str, action: str = "view", *, assets: bool = True,
              transcript: bool = False) -> Video:
    """The lesson, once `actor` may do `action` on it; with its files loaded in the same go unless `assets` is
    False (an answer that shows none of them saves the query), and with its transcript's row when asked
    (app.video.transcripts keys what it keeps by that row's version): in one statement when both are asked."""
    options = []
    if transcript:
        options.append(joinedload(Video.transcript))
    if assets:
        options.append(joinedload(Video.assets) if transcript else selectinload(Video.assets))
    return authz.load(session, actor, Video, public_id, action, options=tuple(options))


def list_videos(session: Session, actor: User) -> list[Video]:
    # Lessons only: a rehearsal's recording is listed with its scenario (app.rehearsals).
    query = authz.visible(actor, select(Video).where(Video.status != VideoStatus.uploading, Video.purpose == "lesson"))
    return list(session.scalars(query.order_by(Video.created_at.desc())))


def posters(session: Session, videos: list[Video]) -> dict[int, Asset]:
    """The poster frame of each listed video that has one, by video id, in one query however many there are.

    `videos` must come from `list_videos` (already through `authz.visible`): this reads no rights of its own."""
    if not videos:
        return {}
    query = select(Asset).where(Asset.video_id.in_([v.id for v in videos]), Asset.kind == "poster")
    return {a.video_id: a for a in session.scalars(query)}


def delete_video(session: Session, store: Storage, actor: User, public_id: str) -> int:
    """Remove the video, every stored file of it, and its rows. Returns the number of files removed."""
    video = get_video(session, actor, public_id, "delete")
    upload = session.scalar(select(Upload).where(Upload.video_id == video.id))
    if upload is not None and upload.completed_at is None:
        store.abort_append(original_key(video, upload.meta.get("filename", "")), upload.state)
    removed = store.delete_prefix(f"videos/{video.public_id}/")
    session.delete(video)
    return removed


# The failed step of a file the pipeline refused (not a video, over a limit, a codec it does not take): the
# page offers no "Try again", which would fail the same way; an operator who raised a limit may still retry.
REFUSED = "refused"


def retry(session: Session, actor: User, public_id: str) -> Video:
    video = get_video(session, actor, public_id, "retry")
    if video.status != VideoStatus.failed:
        raise Conflict(msg("Only a video whose processing failed can be retried."))
    back = {REFUSED: VideoStatus.uploaded, "probe": VideoStatus.uploaded, "transcode": VideoStatus.probed,
            "transcribe": VideoStatus.transcoded,
            "finish": VideoStatus.transcribed}
    video.status = back.get(video.failed_step or "probe", VideoStatus.uploaded)
    video.failed_step = video.failure_reason = None
    video.step = None
    video.attempts += 1
    start_processing(session, video)
    return video


def correct_segment(session: Session, actor: User, public_id: str, position: int, text_: str) -> Segment:
    video = get_video(session, actor, public_id, "edit")
    if video.transcript is None:
        raise Conflict(msg("This video has no transcript yet."))
    segment = next((s for s in video.transcript.segments if s.position == position), None)
    if segment is None:
        raise InvalidInput(msg("There is no transcript line %(n)s.", n=position), field="position")
    text_ = unicodedata.normalize("NFC", (text_ or "").strip())
    if len(text_) > 2000:
        raise InvalidInput(msg("A transcript line has at most 2000 characters."), field="text")
    segment.corrected = None if text_ == segment.text else text_
    video.transcript.corrected_at = utcnow()
    index_segment(session, segment)
    signals.transcript_corrected.send(session, video=video)
    return segment


# Full-text search: SQLite FTS5 or PostgreSQL's text search over what each line shows (corrections
# included). The 'simple' configuration does not stem, so Hebrew and Arabic match as typed.
def index_segment(session: Session, segment: Segment) -> None:
    if session.get_bind().dialect.name == "sqlite":
        session.flush()
        session.execute(text("DELETE FROM transcript_fts WHERE rowid = :id"), {"id": segment.id})
        session.execute(text("INSERT INTO transcript_fts(rowid, body) VALUES (:id, :body)"),
                        {"id": segment.id, "body": segment.shown})


def unindex_video(session: Session, video: Video) -> None:
    if session.get_bind().dialect.name == "sqlite" and video.transcript is not None:
        for segment in video.transcript.segments:
            session.execute(text("DELETE FROM transcript_fts WHERE rowid = :id"), {"id": segment.id})


@dataclass
class Hit:
    video: Video
    segment: Segment


def search(session: Session, actor: User, q: str, limit: int = 50) -> list[Hit]:
    words = re.findall(r"\w+", unicodedata.normalize("NFC", q or ""))
    if not words:
        raise InvalidInput(msg("Type a word to search for."), field="q")
    query = (
        select(Segment, Video)
        .join(Transcript, Segment.transcript_id == Transcript.id)
        .join(Video, Transcript.video_id == Video.id)
        .where(Video.id.in_(authz.visible(actor, select(Video.id))))
    )
    if session.get_bind().dialect.name == "sqlite":
        match = " ".join('"' + w.replace('"', "") + '"*' for w in words[:10])
        ids = select(text("rowid")).select_from(text("transcript_fts")).where(text("transcript_fts MATCH :m"))
        query = query.where(Segment.id.in_(ids)).params(m=match)
    else:
        shown = func.coalesce(Segment.corrected, Segment.text)
        tsq = func.to_tsquery("simple", " & ".join(w + ":*" for w in words[:10]))
        query = query.where(func.to_tsvector("simple", shown).op("@@")(tsq))
    rows = session.execute(query.order_by(Video.created_at.desc(), Segment.position).limit(limit)).all()
    return [Hit(video=v, segment=s) for s, v in rows]
