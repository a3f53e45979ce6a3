"""A lesson's transcript as served: immutable per transcript version, so each of its forms is made once per
version by each web process and kept (app.cache). No Flask here.

    lines(cache, session, video)            -> the lines as shown (the watch page)
    as_json(cache, session, video)          -> Body: TranscriptOut (the API), word timings included
    cues(cache, session, video)             -> caption cues, the owner's corrections winning
    as_file(cache, session, video, fmt)     -> Body: WebVTT (captions and download), SRT or text

`video` comes from `service.get_video(..., transcript=True)`: the caller has authorized the reader on this
request, and the transcript's id and version were read with the lesson's row, before any line is. A version is
bumped in the same transaction as any change to the lines (app.video.models), so the key (public id, transcript
id, version) names one content in every process. A lesson without a transcript has nothing kept.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from app.cache import AnswerCache, Body
from app.video import captions
from app.video.models import Video
from app.video.service import Line, transcript_lines

FORMATS: dict[str, tuple[Callable[[Any], str], str]] = {
    "vtt": (captions.to_webvtt, "text/vtt; charset=utf-8"),
    "srt": (captions.to_srt, "application/x-subrip; charset=utf-8"),
    "txt": (captions.to_text, "text/plain; charset=utf-8"),
}


def _kept(cache: AnswerCache, video: Video, form: str, make: Callable[[], tuple[Any, int]]) -> Any:
    transcript = video.transcript
    if transcript is None:
        return make()[0]
    return cache.get_or_make(("transcript", video.public_id, transcript.id, transcript.version, form), make)


def _size_of_lines(found: tuple[Line, ...]) -> int:
    return sum(len(x.text) + len(x.corrected or "") + len(x.words_json or "") + 120 for x in found) + 100


def lines(cache: AnswerCache, session: Session, video: Video) -> tuple[Line, ...]:
    def read() -> tuple[tuple[Line, ...], int]:
        found = tuple(transcript_lines(session, video))
        return found, _size_of_lines(found)

    return _kept(cache, video, "lines", read)


def _compact(words_json: str | None) -> str:
    """A line's word timings as stored, written again without the spaces the database's JSON serializer adds
    (a tenth of a long transcript's answer)."""
    return json.dumps(json.loads(words_json), separators=(",", ":")) if words_json else "[]"


def as_json(cache: AnswerCache, session: Session, video: Video) -> Body:
    """TranscriptOut, written directly: a 45-minute lesson has ~7000 timed words, and walking them through
    marshmallow cost more than everything else in the request."""
    def write() -> tuple[Body, int]:
        transcript = video.transcript
        if transcript is None:
            return Body.of('{"language":"","model":"","segments":[]}\n', "application/json"), 100
        head = json.dumps({"language": transcript.language, "model": transcript.model}, separators=(",", ":"))
        parts = []
        for line in transcript_lines(session, video, words=True):
            item = json.dumps({"position": line.position, "start": line.start, "end": line.end, "text": line.shown,
                               "original": line.text, "corrected": line.corrected is not None},
                              separators=(",", ":"))
            parts.append(f'{item[:-1]},"words":{_compact(line.words_json)}}}')
        body = Body.of(f'{head[:-1]},"segments":[{",".join(parts)}]}}\n', "application/json")
        return body, len(body) + 100

    return _kept(cache, video, "json", write)


def cues(cache: AnswerCache, session: Session, video: Video) -> tuple[captions.Cue, ...]:
    """captions.video_cues, from the lines read in one query: a corrected line's word timings belong to the old
    text and are dropped."""
    def make() -> tuple[tuple[captions.Cue, ...], int]:
        found = tuple(captions.cues_from_segments(
            {"start": x.start, "end": x.end, "text": x.shown,
             "words": [] if x.corrected is not None or not x.words_json else json.loads(x.words_json)}
            for x in transcript_lines(session, video, words=True)))
        return found, sum(len(c.text) + 100 for c in found) + 100

    return _kept(cache, video, "cues", make)


def as_file(cache: AnswerCache, session: Session, video: Video, fmt: str) -> Body:
    render, content_type = FORMATS[fmt]

    def write() -> tuple[Body, int]:
        body = Body.of(render(cues(cache, session, video)), content_type)
        return body, len(body) + 100

    return _kept(cache, video, fmt, write)
