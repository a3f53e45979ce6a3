"""How often observation-framework elements were tagged: across one lesson's timeline, and per month over a
teacher's lessons; with a printable SVG chart of either (no Flask here).

    video_tag_timeline(session, actor, public_id, bucket_seconds=300) -> Timeline
    teacher_tag_summary(session, actor, teacher, months=12)           -> TeacherSummary
    tag_labels(session, keys, lang)                                   -> {"framework:element": label}
    render_stacked_columns_svg(columns, series, title=..., rtl=...)   -> str (app.charts.stacked_columns_svg)

A tag is counted once per top-level comment that carries it (replies carry no tags); deleted comments
count for nothing. Keys are "framework:element" across framework versions, as in `feedback.tag_summary`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import authz, charts, signals
from app.accounts.models import User
from app.db import utcnow
from app.errors import InvalidInput, NotAuthenticated, NotFound, msg
from app.feedback import service as feedback
from app.feedback.frameworks import Framework, tag_label
from app.feedback.models import Comment, ObservationFramework
from app.video.models import Video

DEFAULT_TIMEZONE = "Asia/Jerusalem"
MAX_MONTHS = 60
MIN_BUCKET_SECONDS = 30
NO_SUCH_TEACHER = msg("No such teacher, or you may not see their summary.")


def _key(tag: Mapping) -> str:
    return f"{tag['framework']}:{tag['element']}"


def _ranked(totals: Mapping[str, int]) -> list[str]:
    return sorted(totals, key=lambda k: (-totals[k], k))


# ------------------------------------------------------------------------------------------- per video


@dataclass(frozen=True)
class Timeline:
    """Tag counts per stretch of one lesson. `counts[key][i]` is for bucket i, [starts[i], starts[i] + bucket)."""

    public_id: str
    bucket_seconds: int
    starts: tuple[int, ...]
    keys: tuple[str, ...]  # most tagged first, then by key
    counts: Mapping[str, tuple[int, ...]]
    totals: Mapping[str, int]

    @property
    def total(self) -> int:
        return sum(self.totals.values())


def timeline_of(threads: Iterable[Comment], duration: float | None, bucket_seconds: int = 300,
                public_id: str = "") -> Timeline:
    """The counting itself, over comments already read through authz (see `video_tag_timeline`)."""
    if isinstance(bucket_seconds, bool) or not isinstance(bucket_seconds, int) or bucket_seconds < MIN_BUCKET_SECONDS:
        raise InvalidInput(msg("A bucket is a whole number of seconds, at least %(least)d.", least=MIN_BUCKET_SECONDS),
                           field="bucket_seconds")
    tagged = [(c.start or 0.0, _key(t)) for c in threads if c.deleted_at is None for t in (c.tags or [])]
    end = max([duration or 0.0, *(start for start, _ in tagged)])
    n = max(1, math.ceil(end / bucket_seconds))
    grid: dict[str, list[int]] = {}
    for start, key in tagged:
        # A comment at the very last second belongs to the last bucket, not to an empty one after it.
        i = min(int(start // bucket_seconds), n - 1)
        grid.setdefault(key, [0] * n)[i] += 1
    totals = {k: sum(v) for k, v in grid.items()}
    keys = tuple(_ranked(totals))
    return Timeline(public_id=public_id, bucket_seconds=bucket_seconds,
                    starts=tuple(i * bucket_seconds for i in range(n)), keys=keys,
                    counts={k: tuple(grid[k]) for k in keys}, totals={k: totals[k] for k in keys})


def video_tag_timeline(session: Session, actor: User, public_id: str, bucket_seconds: int = 300) -> Timeline:
    """Tag counts per `bucket_seconds` of the lesson, by each comment's start; only feedback `actor` may see."""
    threads = feedback.threads(session, actor, public_id)  # authz: raises NotFound unless actor may view
    video = session.scalar(select(Video).where(Video.public_id == public_id))
    return timeline_of(threads, video.duration if video else None, bucket_seconds, public_id)


def clock(seconds: float) -> str:
    seconds = int(seconds)
    h, m, s = seconds // 3600, seconds // 60 % 60, seconds % 60
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


# ------------------------------------------------------------------------------------------ per teacher


@dataclass(frozen=True)
class TeacherSummary:
    """Tag counts per calendar month (in `timezone`) over the lessons of `teacher` that the actor may see."""

    teacher: User
    timezone: str
    months: tuple[tuple[int, int], ...]  # (year, month), oldest first, the current month last
    keys: tuple[str, ...]
    counts: Mapping[str, tuple[int, ...]]
    totals: Mapping[str, int]
    videos: int  # lessons counted (visible to the actor, with a tagged comment in the window)

    @property
    def total(self) -> int:
        return sum(self.totals.values())


def may_see_teacher_summary(actor: User, teacher: User) -> bool:
    """A teacher sees their own summary; others when a higher module answers `teacher_summary_readers`
    (coaching: the teacher's active coach). Either way only lessons the actor may see are counted."""
    if actor is None or teacher is None:
        return False
    if actor.id == teacher.id:
        return True
    return any(signals.answers(signals.teacher_summary_readers, actor, teacher=teacher))


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def _month_window(now: datetime, zone: ZoneInfo, months: int) -> list[tuple[int, int]]:
    local = now.astimezone(zone)
    index = local.year * 12 + local.month - 1
    return [divmod(i, 12) for i in range(index - months + 1, index + 1)]


def teacher_tag_summary(session: Session, actor: User, teacher: User | None, months: int = 12, *,
                        now: datetime | None = None) -> TeacherSummary:
    """Counts per framework element per month of the comment's creation, in the actor's time zone (the person
    reading the page), over the last `months` calendar months including the current one."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated(msg("Log in to continue."))
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= MAX_MONTHS:
        raise InvalidInput(msg("Choose between 1 and %(most)d months.", most=MAX_MONTHS), field="months")
    if teacher is None or not may_see_teacher_summary(actor, teacher):
        raise NotFound(NO_SUCH_TEACHER)
    zone = _zone(getattr(actor, "timezone", None))
    window = [(y, m + 1) for y, m in _month_window(now or utcnow(), zone, months)]
    since = datetime(*window[0], 1, tzinfo=zone).astimezone(UTC)
    videos = authz.visible(actor, select(Video).where(Video.owner_id == teacher.id)).with_only_columns(Video.id)
    rows = session.execute(
        select(Comment.video_id, Comment.created_at, Comment.tags)
        .where(Comment.video_id.in_(videos), Comment.parent_id.is_(None), Comment.deleted_at.is_(None),
               Comment.created_at >= since)
    )
    position = {ym: i for i, ym in enumerate(window)}
    grid: dict[str, list[int]] = {}
    seen: set[int] = set()
    for video_id, created_at, tags in rows:
        if created_at.tzinfo is None:  # SQLite hands back naive values; they were stored as UTC
            created_at = created_at.replace(tzinfo=UTC)
        local = created_at.astimezone(zone)
        i = position.get((local.year, local.month))
        if i is None or not tags:
            continue
        seen.add(video_id)
        for tag in tags:
            grid.setdefault(_key(tag), [0] * len(window))[i] += 1
    totals = {k: sum(v) for k, v in grid.items()}
    keys = tuple(_ranked(totals))
    return TeacherSummary(teacher=teacher, timezone=zone.key, months=tuple(window), keys=keys,
                          counts={k: tuple(grid[k]) for k in keys}, totals={k: totals[k] for k in keys},
                          videos=len(seen))


# --------------------------------------------------------------------------------------------- labels


def tag_labels(session: Session, keys: Iterable[str], lang: str = "en") -> dict[str, str]:
    """'Dimension › Element' in `lang` for each key: from the current version of its framework, else the newest
    version that still has the element, else the bare key. Two frameworks with the same label are told apart by
    the framework's title."""
    keys = list(dict.fromkeys(keys))
    wanted = {k.partition(":")[0] for k in keys}
    rows = session.scalars(select(ObservationFramework).where(ObservationFramework.key.in_(wanted))
                           .order_by(ObservationFramework.current.desc(), ObservationFramework.version.desc()))
    versions: dict[str, list[Framework]] = {}
    for row in rows:
        try:
            versions.setdefault(row.key, []).append(Framework.from_dict(row.data))
        except ValueError:
            continue  # a stored version that no longer validates still leaves the key readable
    labels: dict[str, tuple[str, str]] = {}
    for key in keys:
        framework_key, _, element = key.partition(":")
        found = next((f for f in versions.get(framework_key, []) if f.element(element) is not None), None)
        labels[key] = (tag_label(found, element, lang), found.title_in(lang)) if found else (key, "")
    plain = [label for label, _ in labels.values()]
    return {k: f"{title}: {label}" if title and plain.count(label) > 1 else label
            for k, (label, title) in labels.items()}


# ------------------------------------------------------------------------------------------------ SVG

# The pages' and tests' name for the kit's chart; the chart itself lives in app.charts.
render_stacked_columns_svg = charts.stacked_columns_svg
