"""How often observation-framework elements were tagged: across one lesson's timeline, and per month over a
teacher's lessons; with a printable SVG chart of either (no Flask here).

    video_tag_timeline(session, actor, public_id, bucket_seconds=300) -> Timeline
    teacher_tag_summary(session, actor, teacher, months=12)           -> TeacherSummary
    tag_labels(session, keys, lang)                                   -> {"framework:element": label}
    render_stacked_columns_svg(columns, series, title=..., rtl=...)   -> str

A tag is counted once per top-level comment that carries it (replies carry no tags); deleted comments
count for nothing. Keys are "framework:element" across framework versions, as in `feedback.tag_summary`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import authz, signals
from app.accounts.models import User
from app.db import utcnow
from app.diagnostics.analysis import _CHAR_W, _MARGIN, _PALETTE, _attr, _label, _num, _svg_open, _text, _truncate
from app.errors import InvalidInput, NotAuthenticated, NotFound
from app.feedback import service as feedback
from app.feedback.frameworks import Framework, tag_label
from app.feedback.models import Comment, ObservationFramework
from app.video.models import Video

DEFAULT_TIMEZONE = "Asia/Jerusalem"
MAX_MONTHS = 60
MIN_BUCKET_SECONDS = 30
# The SVG primitives (escaping, layout constants) come from the diagnostics charts, so both look alike.
# Okabe-Ito, as in the diagnostics charts, then its two remaining colours: nine series before one repeats.
COLOURS = (*_PALETTE, "#009E73", "#000000", "#999999")


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
        raise InvalidInput(f"A bucket is a whole number of seconds, at least {MIN_BUCKET_SECONDS}.",
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
        raise NotAuthenticated("Log in to continue.")
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= MAX_MONTHS:
        raise InvalidInput(f"Choose between 1 and {MAX_MONTHS} months.", field="months")
    if teacher is None or not may_see_teacher_summary(actor, teacher):
        raise NotFound("No such teacher, or you may not see their summary.")
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

_PLOT_H = 160
_LINE = 14  # one line of a column label
_AXIS_W = 34
_SWATCH = 14
_LEGEND_ROW = 18
_MIN_COL = 26
_MAX_LEGEND_CHARS = 48


def _ticks(top: int) -> list[int]:
    """Whole-number gridlines from 0 to at least `top`, at most five of them."""
    step = max(1, math.ceil(top / 4))
    return list(range(0, step * math.ceil(max(top, 1) / step) + 1, step))


def render_stacked_columns_svg(columns: Sequence[str], series: Mapping[str, Sequence[int]], *, title: str,
                               rtl: bool = False, totals_label: str = "Total") -> str:
    """A column per time bucket (labels may have a second line after a newline), each a stack of one colour per
    series in the mapping's order, with the column's total above it and a legend with each series' total.

    With `rtl` time runs right to left (the first column is the rightmost), the axis and the legend sit on the
    right. Like the diagnostics charts: self-contained, no scripts, no styles, a <title> on every bar.
    """
    data = [(name, [int(v) for v in values]) for name, values in series.items()]
    n = len(columns)
    for name, values in data:
        if len(values) != n or any(v < 0 for v in values):
            raise ValueError(f"series {name!r} needs {n} counts of zero or more")
    lines = [str(c).split("\n") for c in columns]
    depth = max((len(x) for x in lines), default=1)
    col_w = max([_MIN_COL] + [len(part) * _CHAR_W + 6 for x in lines for part in x])
    stacks = [sum(values[i] for _, values in data) for i in range(n)]
    ticks = _ticks(max(stacks, default=0))
    scale = _PLOT_H / ticks[-1]
    names = [_truncate(f"{name} ({sum(values)})", _MAX_LEGEND_CHARS) for name, values in data]
    legend_w = _SWATCH + 6 + max((len(s) for s in names), default=0) * _CHAR_W
    plot_w = max(n, 1) * col_w
    width = max(2 * _MARGIN + _AXIS_W + plot_w, 2 * _MARGIN + legend_w, 2 * _MARGIN + len(title) * _CHAR_W)
    plot_top = _MARGIN + 26 + _LINE  # title, then room for the totals above the tallest column
    base = plot_top + _PLOT_H
    legend_top = base + 8 + depth * _LINE + 10
    height = legend_top + max(len(data), 1) * _LEGEND_ROW + _MARGIN

    # Axis numbers sit just outside the plot, on the side where reading starts.
    if rtl:
        plot_x = width - _MARGIN - _AXIS_W - plot_w
        axis_x, axis_anchor = plot_x + plot_w + 6, "start"
        title_x, title_anchor = width - _MARGIN, "end"
    else:
        plot_x = _MARGIN + _AXIS_W
        axis_x, axis_anchor = plot_x - 6, "end"
        title_x, title_anchor = _MARGIN, "start"

    def column_x(i: int) -> float:
        return plot_x + ((n - 1 - i) if rtl else i) * col_w

    out = _svg_open(width, height, title)
    out.append(_label(title_x, _MARGIN + 14, title, title_anchor, ' font-weight="bold" font-size="14"'))
    out.append('<g class="axis" fill="#333333">')
    for t in ticks:
        y = base - t * scale
        out.append(f'<line x1="{_num(plot_x)}" y1="{_num(y)}" x2="{_num(plot_x + plot_w)}" y2="{_num(y)}" '
                   f'stroke="{"#333333" if t == 0 else "#DDDDDD"}" stroke-width="1"/>')
        out.append(_label(axis_x, y + 4, str(t), axis_anchor))
    out.append("</g>")
    out.append('<g class="columns">')
    for i in range(n):
        x = column_x(i)
        heading = " ".join(lines[i])
        out.append(f'<g data-column="{i}" data-total="{stacks[i]}">')
        y = base
        for s, (name, values) in enumerate(data):
            v = values[i]
            if not v:
                continue
            h = v * scale
            y -= h
            out.append(
                f'<rect x="{_num(x + 3)}" y="{_num(y)}" width="{_num(col_w - 6)}" height="{_num(h)}" '
                f'fill="{COLOURS[s % len(COLOURS)]}" stroke="#FFFFFF" stroke-width="1" data-key="{_attr(name)}" '
                f'data-value="{v}"><title>{_text(heading)} \u00b7 {_text(name)}: {v}</title></rect>'
            )
        if stacks[i]:
            out.append(f'<text x="{_num(x + col_w / 2)}" y="{_num(y - 4)}" text-anchor="middle">'
                       f"<title>{_text(heading)} \u00b7 {_text(totals_label)}: {stacks[i]}</title>{stacks[i]}</text>")
        for k, part in enumerate(lines[i]):
            out.append(f'<text x="{_num(x + col_w / 2)}" y="{_num(base + 8 + (k + 1) * _LINE - 3)}" '
                       f'text-anchor="middle" fill="#333333">{_text(part)}</text>')
        out.append("</g>")
    out.append("</g>")
    out.append('<g class="legend">')
    for s in range(len(data)):
        y = legend_top + s * _LEGEND_ROW
        sx = width - _MARGIN - _SWATCH if rtl else _MARGIN
        out.append(f'<rect x="{_num(sx)}" y="{_num(y)}" width="{_SWATCH}" height="{_SWATCH}" '
                   f'fill="{COLOURS[s % len(COLOURS)]}" stroke="#999999"/>')
        out.append(_label(sx - 6 if rtl else sx + _SWATCH + 6, y + 11, names[s], "end" if rtl else "start"))
    if not data:
        out.append(_label(width - _MARGIN if rtl else _MARGIN, legend_top + 11, "\u2014", "end" if rtl else "start"))
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"
