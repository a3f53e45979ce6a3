"""A moment or a range on a lesson's timeline, as teachers write it (no Flask here)."""

from __future__ import annotations

import math

from app.errors import InvalidInput, msg


def parse_clock(value) -> float | None:
    """Seconds, or a clock as teachers write it: 42, 0:42, 1:02:03 (also with a decimal comma)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | float):
        seconds = float(value)  # OverflowError for a whole number past a double's range
    else:
        parts = str(value).strip().replace(",", ".").split(":")
        if len(parts) > 3 or not all(p.replace(".", "", 1).isdigit() for p in parts):
            raise ValueError(value)
        seconds = 0.0
        for part in parts:
            seconds = seconds * 60 + float(part)
    if not math.isfinite(seconds):  # "1e400", or four hundred digits: no lesson is that long
        raise ValueError(value)
    return seconds


def clock(seconds: float) -> str:
    """Seconds as a teacher reads a time in a lesson: 0:42, 12:05, 1:02:09."""
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def check_times(video, start, end) -> tuple[float, float | None]:
    times = []
    for name, value in (("start", start), ("end", end)):
        try:
            times.append(parse_clock(value))
        except (TypeError, ValueError, OverflowError):
            raise InvalidInput(msg("Write times as seconds or minutes:seconds, like 0:42."), field=name) from None
    start, end = times
    if start is None:
        raise InvalidInput(msg("Say when in the video the comment is about."), field="start")
    duration = video.duration or 0.0
    if not (0 <= start <= duration) or start != start:
        shown = clock(start) if math.isfinite(start) and start >= 0 else format(start, "g")
        raise InvalidInput(msg("The time %(time)s is outside the lesson, which runs from 0:00 to %(end)s.",
                               time=shown, end=clock(duration)), field="start")
    if end is not None:
        if end != end or end > duration:
            raise InvalidInput(msg("The end %(end)s is after the end of the lesson (%(duration)s).",
                                   end=clock(end) if end == end else format(end, "g"), duration=clock(duration)),
                               field="end")
        if end <= start:
            raise InvalidInput(msg("A range must end after it starts."), field="end")
    return round(start, 3), None if end is None else round(end, 3)
