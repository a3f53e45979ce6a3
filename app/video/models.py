from __future__ import annotations

import enum
from datetime import datetime
from itertools import chain

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Enum,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from app.accounts.models import User
from app.db import Base, PublicId, UTCDateTime, utcnow


class VideoStatus(enum.StrEnum):
    uploading = "uploading"
    uploaded = "uploaded"
    probed = "probed"
    transcoded = "transcoded"
    transcribed = "transcribed"
    ready = "ready"
    failed = "failed"


# The step that moves a video out of each status, in pipeline order.
STEPS = ("probe", "transcode", "transcribe", "finish")
NEXT_STEP = {
    VideoStatus.uploaded: "probe",
    VideoStatus.probed: "transcode",
    VideoStatus.transcoded: "transcribe",
    VideoStatus.transcribed: "finish",
}


class Video(PublicId, Base):
    __tablename__ = "video"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    original_filename: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[VideoStatus] = mapped_column(
        Enum(VideoStatus, native_enum=False, length=20), default=VideoStatus.uploading, index=True
    )
    # Job state lives here, not only in the broker: which step runs, since when, how far along.
    step: Mapped[str | None] = mapped_column(String(20))
    step_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    failed_step: Mapped[str | None] = mapped_column(String(20))
    failure_reason: Mapped[str | None] = mapped_column(Text)

    sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(BigInteger)
    duration: Mapped[float | None] = mapped_column(Float)
    container: Mapped[str | None] = mapped_column(String(40))
    video_codec: Mapped[str | None] = mapped_column(String(40))
    audio_codec: Mapped[str | None] = mapped_column(String(40))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    rotation: Mapped[int] = mapped_column(Integer, default=0)
    fps: Mapped[float | None] = mapped_column(Float)
    has_video: Mapped[bool] = mapped_column(Boolean, default=False)
    has_audio: Mapped[bool] = mapped_column(Boolean, default=False)
    web_mode: Mapped[str | None] = mapped_column(String(10))  # "remux" or "encode"
    # The class's consent to the recording: without full consent it is not shared beyond its owner.
    consent: Mapped[str] = mapped_column(String(10), default="none", server_default="none")
    consent_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    consent_date: Mapped[datetime | None] = mapped_column(UTCDateTime())

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Bumped in the same transaction as any change to the lesson's feedback (app.feedback.versions): the key
    # under which each web process keeps the lesson's serialized comments (app.answers). It sits on the lesson's
    # row because every read of the comments loads that row first, for its authorization check.
    feedback_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # What the recording is: a lesson from class, or a teacher's rehearsal of a moment (app.rehearsals), which
    # lists of lessons leave out. A rehearsal must have sound and may be at most `max_seconds` long (the probe
    # refuses it otherwise); a lesson has no limit of its own beyond MAX_DURATION.
    purpose: Mapped[str] = mapped_column(String(12), default="lesson", server_default="lesson", index=True)
    # The language the lesson is taught in (en, he, ar): it picks the speech-recognition model, and the analytics
    # read questions and uptake in it. "" only for rows made before lessons had one (read as English).
    language: Mapped[str] = mapped_column(String(8), default="", server_default="")
    max_seconds: Mapped[int | None] = mapped_column(Integer)

    owner: Mapped[User] = relationship()
    assets: Mapped[list[Asset]] = relationship(back_populates="video", cascade="all, delete-orphan",
                                               passive_deletes=True)
    transcript: Mapped[Transcript | None] = relationship(back_populates="video", cascade="all, delete-orphan",
                                                         passive_deletes=True, uselist=False)

    @property
    def display_width(self) -> int | None:
        return self.height if self.rotation in (90, 270) else self.width

    @property
    def display_height(self) -> int | None:
        return self.width if self.rotation in (90, 270) else self.height

    def asset(self, kind: str) -> Asset | None:
        return next((a for a in self.assets if a.kind == kind), None)


class Asset(Base):
    """One stored file of a video, at a deterministic key: videos/<public id>/<step>/<name>."""

    __tablename__ = "video_asset"

    id: Mapped[int] = mapped_column(primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("video.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))  # original, web, low, poster, storyboard, audio
    key: Mapped[str] = mapped_column(String(512))
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    content_type: Mapped[str] = mapped_column(String(100))
    info: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    video: Mapped[Video] = relationship(back_populates="assets")

    __table_args__ = (UniqueConstraint("video_id", "kind", name="uq_video_asset_video_kind"),)


class Transcript(Base):
    __tablename__ = "transcript"

    id: Mapped[int] = mapped_column(primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("video.id", ondelete="CASCADE"), unique=True)
    language: Mapped[str] = mapped_column(String(16), default="")
    model: Mapped[str] = mapped_column(String(300), default="")
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    corrected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Bumped in the same transaction as any change to its lines (a correction, a new transcription): a
    # transcript is immutable per version, so its serialized forms are kept under (id, version).
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    video: Mapped[Video] = relationship(back_populates="transcript")
    segments: Mapped[list[Segment]] = relationship(
        back_populates="transcript", order_by="Segment.position", cascade="all, delete-orphan", passive_deletes=True
    )


class Segment(Base):
    """A stretch of speech. `text` is what Whisper heard; `corrected` is the owner's fix, used when set."""

    __tablename__ = "transcript_segment"

    id: Mapped[int] = mapped_column(primary_key=True)
    transcript_id: Mapped[int] = mapped_column(ForeignKey("transcript.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    corrected: Mapped[str | None] = mapped_column(Text)
    words: Mapped[list] = mapped_column(JSON, default=list)

    transcript: Mapped[Transcript] = relationship(back_populates="segments")

    @property
    def shown(self) -> str:
        return self.corrected if self.corrected is not None else self.text

    __table_args__ = (UniqueConstraint("transcript_id", "position", name="uq_transcript_segment_position"),)


@event.listens_for(Session, "before_flush")
def _bump_transcript_versions(session: Session, _context, _instances) -> None:
    """A transcript whose row or lines change gets a new version in the same transaction, whoever changes it
    (a correction, a worker transcribing again): what was kept under the old version is never asked for again.
    A transcript still being created has no id yet, and nothing was kept for it."""
    changed = set()
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, Segment):
            changed.add(obj.transcript_id if obj.transcript_id is not None else
                        obj.transcript.id if obj.transcript is not None else None)
        elif isinstance(obj, Transcript) and obj not in session.new:
            changed.add(obj.id)
    changed.discard(None)
    if changed:
        table = Transcript.__table__
        session.execute(table.update().where(table.c.id.in_(sorted(changed)))
                        .values(version=table.c.version + 1))
        for obj in list(session.identity_map.values()):
            if isinstance(obj, Transcript) and obj.id in changed:
                session.expire(obj, ["version"])


class Upload(Base):
    """A tus upload in progress. Its bytes go straight to the video's original key in storage."""

    __tablename__ = "upload"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("video.id", ondelete="CASCADE"), unique=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    # None while the length is deferred (tus creation-defer-length: a recording uploaded as it is made).
    length: Mapped[int | None] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    meta: Mapped[dict] = mapped_column(JSON, default=dict)
    # The storage backend's multipart state (S3 upload id and parts, or the local part file).
    state: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    video: Mapped[Video] = relationship()




class Consent(enum.StrEnum):
    none = "none"
    partial = "partial"
    full = "full"




class Clip(PublicId, Base):
    """A named segment of a lesson (start..end).

    Whoever may see the lesson plays the clip from the lesson's own rendition (no wait). A worker also
    cuts the range into a file of its own, which is all that someone who was shared only the clip
    ever receives: a media fragment on the whole lesson would hand them the whole lesson."""

    __tablename__ = "video_clip"

    id: Mapped[int] = mapped_column(primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("video.id", ondelete="CASCADE"), index=True)
    creator_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    note: Mapped[str] = mapped_column(Text, default="")
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    cut_status: Mapped[str] = mapped_column(String(10), default="pending")  # pending | ready | failed
    cut_key: Mapped[str | None] = mapped_column(String(300))

    video: Mapped[Video] = relationship()
    creator: Mapped[User] = relationship()
