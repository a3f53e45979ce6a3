"""Transcript formatting and parsing: caption cues, WebVTT, SRT, plain text, and word error rate.

Pure functions on plain data (no Flask), so the web views, the workers and the tests share one implementation.
Segments may be dicts ({"start", "end", "text", "words": [{"start", "end", "text"}]}) or objects with the same
attributes (workers.asr.Segment, faster-whisper's Segment whose words say `word` instead of `text`).

Cue text is not hard-wrapped: browsers and subtitle players wrap cue lines to the video width themselves, and a
newline baked in at 42 characters would look wrong on a phone. `max_chars` (84 = two lines of 42) keeps a cue
short enough to wrap into at most two lines on a typical player.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from webvtt import Caption, WebVTT
from webvtt.errors import MalformedFileError
from webvtt.models import Timestamp

__all__ = [
    "Cue",
    "cues_from_segments",
    "format_timestamp",
    "parse_webvtt",
    "to_srt",
    "to_text",
    "to_webvtt",
    "video_cues",
    "word_error_rate",
]

# Break a long segment after these when the cue is already reasonably full, rather than mid-clause.
_CLAUSE_END = (",", ";", ":", ".", "?", "!", "…", "،", "؛", "؟", "。", "，", "？", "！")
_SENTENCE_END = (".", "?", "!", "…", "؟", "。", "？", "！")


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


# --------------------------------------------------------------------------------------------------------------
# Timestamps


def _to_ms(seconds: float) -> int:
    if seconds is None or not math.isfinite(float(seconds)):
        raise ValueError(f"not a finite time: {seconds!r}")
    # Half-up on milliseconds; round() would do banker's rounding and float error would still leak through.
    return max(0, math.floor(float(seconds) * 1000 + 0.5))


def format_timestamp(seconds: float, *, sep: str = ".") -> str:
    """HH:MM:SS.mmm (sep="," for SRT). Negative times clamp to zero; hours keep growing past 99."""
    return str(Timestamp.from_seconds(_to_ms(seconds) / 1000)).replace(".", sep)


# --------------------------------------------------------------------------------------------------------------
# Segments to cues


def _field(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def _words_of(segment: Any) -> list[tuple[float, float, str]]:
    words = []
    for w in _field(segment, "words") or ():
        text = _field(w, "text")
        if text is None:
            text = _field(w, "word")  # faster-whisper's own Word
        text = _clean(text)
        start, end = _field(w, "start"), _field(w, "end")
        if not text or start is None or end is None:
            continue
        words.append((float(start), float(end), text))
    return words


def _word_spans(text: str, words: list[tuple[float, float, str]]) -> list[tuple[int, int]] | None:
    """Where each word sits in the segment text, so cue text keeps the segment's own spacing and punctuation.

    None when the words do not match the text in order (e.g. text corrected by a teacher while the words are still
    the machine's): such words would put the wrong times on the real text.
    """
    spans, pos = [], 0
    for _, _, word in words:
        found = len(text) - len(text[pos:].lstrip())  # normally the word starts right after the spaces
        if not text.startswith(word, found):
            found = text.find(word, pos)
        if found < 0:
            return None
        spans.append((found, found + len(word)))
        pos = found + len(word)
    return spans


# A token is one word (or a slice of an over-long one): (start_ms, end_ms, text_start, text_end).
_Token = tuple[int, int, int, int]


def _tokens_from_words(
    words: list[tuple[float, float, str]], spans: list[tuple[int, int]], max_chars: int
) -> list[_Token]:
    tokens: list[_Token] = []
    for (start, end, _), (a, b) in zip(words, spans, strict=True):
        tokens.extend(_cut((_to_ms(start), max(_to_ms(start), _to_ms(end)), a, b), max_chars))
    return tokens


def _tokens_from_text(text: str, start_ms: int, end_ms: int, max_chars: int) -> list[_Token]:
    """No usable word timings: give each word a share of the segment's time in proportion to its position."""
    duration, size = max(0, end_ms - start_ms), max(1, len(text))
    spans = [m.span() for m in re.finditer(r"\S+", text)]
    tokens: list[_Token] = []
    for k, (a, b) in enumerate(spans):
        # A word's time runs to the next word's start, so the cues cut from one segment follow without gaps.
        until = spans[k + 1][0] if k + 1 < len(spans) else size
        token = (start_ms + duration * a // size, start_ms + duration * until // size, a, b)
        tokens.extend(_cut(token, max_chars))
    return tokens


def _cut(token: _Token, max_chars: int) -> list[_Token]:
    """Slice a word longer than a whole cue (a URL, a run of CJK text without spaces), sharing its time."""
    start, end, a, b = token
    if b - a <= max_chars:
        return [token]
    out = []
    for s in range(a, b, max_chars):
        e = min(b, s + max_chars)
        out.append((start + (end - start) * (s - a) // (b - a), start + (end - start) * (e - a) // (b - a), s, e))
    return out


def _split(text: str, tokens: list[_Token], max_chars: int, max_ms: int) -> list[tuple[int, int, str]]:
    """Fewest cues within the limits, then the most even lengths, preferring breaks after punctuation.

    A small dynamic programme over break points, like paragraph line-breaking: greedy filling leaves orphans such as
    a last cue holding only "one.".
    """
    n = len(tokens)
    inf = float("inf")
    best: list[float] = [0.0] + [inf] * n
    back = [0] * (n + 1)
    for i in range(1, n + 1):
        end_char, end_ms = tokens[i - 1][3], tokens[i - 1][1]
        last_word = text[tokens[i - 1][2] : end_char]
        if i == n or last_word.endswith(_SENTENCE_END):
            boundary = 0.0
        elif last_word.endswith(_CLAUSE_END):
            boundary = 10.0
        else:
            boundary = 40.0
        for j in range(i - 1, -1, -1):
            # Measured as it will be cut (from the previous cue's end), which matters only around unmatched text.
            length = len(text[tokens[j - 1][3] if j else 0 : len(text) if i == n else end_char].strip())
            if j < i - 1 and (length > max_chars or end_ms - tokens[j][0] > max_ms):
                break  # growing the cue further back only makes it longer
            slack = (max_chars - min(length, max_chars)) / max_chars
            cost = best[j] + 1000.0 + 100.0 * slack * slack + boundary
            if cost < best[i]:
                best[i], back[i] = cost, j
    cuts = []
    i = n
    while i > 0:
        cuts.append((back[i], i))
        i = back[i]
    cuts.reverse()
    out = []
    char = 0
    for j, i in cuts:
        # Each cue's text runs from where the previous one stopped, so text between matched words is never lost.
        until = len(text) if i == n else tokens[i - 1][3]
        out.append((tokens[j][0], tokens[i - 1][1], text[char:until]))
        char = until
    return out


def cues_from_segments(
    segments: Iterable[Any], *, max_chars: int = 84, max_seconds: float = 7.0
) -> list[Cue]:
    """Readable caption cues: at most `max_chars` characters and, where timings allow, `max_seconds` long.

    Long segments are split at word timings when the segment has words that match its text, else by sharing the
    segment's time in proportion to text length. A single word longer than `max_seconds` keeps its own duration.
    Cues come out sorted, never overlap and never have zero length (times are whole milliseconds).
    """
    if max_chars < 1:
        raise ValueError("max_chars must be at least 1")
    max_ms = max(1, _to_ms(max_seconds))
    pieces: list[tuple[int, int, str]] = []
    for seg in segments:
        text = _clean(_field(seg, "text"))
        if not text:
            continue
        start_ms = _to_ms(_field(seg, "start", 0.0) or 0.0)
        end_ms = max(start_ms, _to_ms(_field(seg, "end", 0.0) or 0.0))
        if len(text) <= max_chars and end_ms - start_ms <= max_ms:
            pieces.append((start_ms, end_ms, text))
            continue
        words = _words_of(seg)
        spans = _word_spans(text, words) if words else None
        split = None
        if words and spans:
            split = _split(text, _tokens_from_words(words, spans, max_chars), max_chars, max_ms)
            if any(len(p[2].strip()) > max_chars for p in split):
                split = None  # long stretches of text no word matches: the timings are not worth the overflow
        if split is None:
            split = _split(text, _tokens_from_text(text, start_ms, end_ms, max_chars), max_chars, max_ms)
        pieces.extend(split)

    pieces.sort(key=lambda p: p[0])  # stable: pieces of one segment keep their order
    cues: list[Cue] = []
    previous_end = 0
    for start, end, text in pieces:
        text = _clean(text)
        if not text:
            continue
        start = max(start, previous_end)
        end = max(end, start + 1)  # a zero-length cue is never shown; one millisecond at least keeps the text
        cues.append(Cue(start / 1000, end / 1000, text))
        previous_end = end
    return cues


def video_cues(video: Any) -> list[Cue]:
    """The cues of a lesson's transcript as shown: the owner's corrections win, and a corrected line's word timings
    (which belong to the old text) are dropped. Captions, downloads and the data export all use this."""
    segments = video.transcript.segments if video.transcript else []
    return cues_from_segments(
        {"start": s.start, "end": s.end, "text": s.shown, "words": [] if s.corrected is not None else s.words}
        for s in segments
    )


# --------------------------------------------------------------------------------------------------------------
# Writers


def _payload_lines(text: str) -> list[str]:
    # A blank line ends a cue in both formats, so it can never appear inside cue text.
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "\ufffd")
    return [line.strip() for line in text.split("\n") if line.strip()]


def _vtt_escape(line: str) -> str:
    # The WebVTT spec's cue-text escapes; escaping ">" also removes every "-->" from the payload.
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_webvtt(cues: Iterable[Cue]) -> str:
    """A WebVTT file: "WEBVTT", a blank line, then one block per cue (cues with no text are skipped).

    webvtt-py writes the file and refuses any text that would break it; escaping the cue text is the caller's job.
    """
    captions = []
    for cue in cues:
        lines = [_vtt_escape(line) for line in _payload_lines(cue.text)]
        if lines:
            captions.append(Caption(format_timestamp(cue.start), format_timestamp(cue.end), lines))
    # webvtt-py ends an empty file right after the header; ours always had the blank line, so players see no change
    return WebVTT(captions=captions).content if captions else "WEBVTT\n\n"


def to_srt(cues: Iterable[Cue]) -> str:
    """SubRip: numbered from 1. SRT has no escaping, so only "-->" (which would break parsers) is rewritten."""
    blocks = []
    for cue in cues:
        lines = [line.replace("-->", "->") for line in _payload_lines(cue.text)]
        if not lines:
            continue
        timing = f"{format_timestamp(cue.start, sep=',')} --> {format_timestamp(cue.end, sep=',')}"
        blocks.append(f"{len(blocks) + 1}\n{timing}\n" + "\n".join(lines) + "\n")
    return "\n".join(blocks)


def to_text(cues_or_segments: Iterable[Any]) -> str:
    """Plain text, one paragraph per item (segment or cue), paragraphs separated by a blank line."""
    paragraphs = [_clean(_field(item, "text")) for item in cues_or_segments]
    paragraphs = [p for p in paragraphs if p]
    return "\n\n".join(paragraphs) + "\n" if paragraphs else ""


# --------------------------------------------------------------------------------------------------------------
# Reader

# An SRT habit in hand-made files, "00:00:05,000": WebVTT (and a browser) would drop the cue, we read it.
_SRT_TIMINGS = re.compile(r"^[^\S\n]*[\d:]+[.,]\d{1,3}[^\S\n]*-->[^\S\n]*[\d:]+[.,]\d{1,3}", re.MULTILINE)


def parse_webvtt(text: str) -> list[Cue]:
    """Cues of a WebVTT file, read by webvtt-py: optional hours, cue identifiers, cue settings, header metadata,
    NOTE/STYLE/REGION blocks, CRLF or CR line ends, a BOM; and "," as the decimal mark. Tags such as <v Teacher> or <b>
    are dropped and entities unescaped; a cue's lines are joined with "\n". Raises ValueError without the WEBVTT line.
    """
    text = _SRT_TIMINGS.sub(lambda m: m.group(0).replace(",", "."), text)
    try:
        captions = WebVTT.from_string(text).captions
    except MalformedFileError:
        raise ValueError("not a WebVTT file: it must start with WEBVTT") from None
    return [
        Cue(c.start_time.in_milliseconds() / 1000, c.end_time.in_milliseconds() / 1000, html.unescape(c.text).strip())
        for c in captions
    ]


# --------------------------------------------------------------------------------------------------------------
# Word error rate


def _normalise_for_wer(text: str) -> str:
    # Apostrophes join ("don't" -> "dont") so contractions stay one word; other punctuation becomes a space, so
    # "one-half" and "one half" compare equal. Numbers are NOT normalised: "2" against "two" counts as an error,
    # because doing it right needs a language-aware number speller and a wrong one would hide real mistakes.
    text = unicodedata.normalize("NFKC", text or "").lower()
    out = []
    for ch in text:
        if ch in "'’ʼ`":
            continue
        cat = unicodedata.category(ch)
        out.append(" " if cat.startswith("P") else ch)
    return " ".join("".join(out).split())


def word_error_rate(reference: str, hypothesis: str) -> float:
    """WER of `hypothesis` against `reference` (jiwer), after lowercasing, dropping punctuation and collapsing
    whitespace. Digits and number words are not reconciled (see _normalise_for_wer). An empty reference gives 0.0
    when the hypothesis is empty too, else 1.0.
    """
    import jiwer  # only tests, benchmarks and quality reports need it

    ref, hyp = _normalise_for_wer(reference), _normalise_for_wer(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    if not hyp:
        return 1.0
    return float(jiwer.wer(ref, hyp))
