"""Caption cues, WebVTT/SRT/text writers, the WebVTT reader and WER: pure functions, no media needed."""

from __future__ import annotations

import random

import pytest

from app.video.captions import (
    Cue,
    cues_from_segments,
    format_timestamp,
    parse_webvtt,
    to_srt,
    to_text,
    to_webvtt,
    word_error_rate,
)


def _words(text: str, start: float, step: float) -> list[dict]:
    """Evenly timed words, with a small gap between words as real alignments have."""
    out = []
    for i, word in enumerate(text.split()):
        s = start + i * step
        out.append({"start": round(s, 3), "end": round(s + step * 0.8, 3), "text": word})
    return out


def _assert_well_formed(cues: list[Cue], max_chars: int = 84) -> None:
    for cue in cues:
        assert cue.end > cue.start, cue
        assert cue.text and len(cue.text) <= max_chars, cue
    for a, b in zip(cues, cues[1:], strict=False):
        assert b.start >= a.end, (a, b)


# ---------------------------------------------------------------------------------------------------- timestamps


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "00:00:00.000"),
        (1, "00:00:01.000"),
        (3.5, "00:00:03.500"),
        (59.9996, "00:01:00.000"),  # rounds up across the minute
        (59.9994, "00:00:59.999"),
        (0.0005, "00:00:00.001"),  # half a millisecond rounds up, not to even
        (1.0005, "00:00:01.001"),  # stored as 1.000499..., where round(x, 3) would give 1.000
        (3599.9999, "01:00:00.000"),
        (3723.456, "01:02:03.456"),
        (100 * 3600 + 1.25, "100:00:01.250"),  # hours keep growing past 99
        (-0.2, "00:00:00.000"),
    ],
)
def test_format_timestamp(seconds: float, expected: str) -> None:
    assert format_timestamp(seconds) == expected


def test_format_timestamp_srt_separator_and_bad_values() -> None:
    assert format_timestamp(61.042, sep=",") == "00:01:01,042"
    with pytest.raises(ValueError):
        format_timestamp(float("nan"))
    with pytest.raises(ValueError):
        format_timestamp(float("inf"))


# ---------------------------------------------------------------------------------------------------- writers


def test_webvtt_layout() -> None:
    vtt = to_webvtt([Cue(1, 3.5, "Hello class."), Cue(4, 5.25, "Sit down, please.")])
    assert vtt == (
        "WEBVTT\n\n"
        "00:00:01.000 --> 00:00:03.500\nHello class.\n\n"
        "00:00:04.000 --> 00:00:05.250\nSit down, please.\n"
    )
    assert to_webvtt([]) == "WEBVTT\n\n"


def test_webvtt_escapes_markup_arrows_and_ampersands() -> None:
    text = 'Type <script>alert("x")</script> then a --> b & c <b>'
    vtt = to_webvtt([Cue(0, 2, text)])
    body = vtt.split("\n", 3)[3]
    assert "<" not in body and ">" not in body
    assert "-->" not in body
    assert "&lt;script&gt;" in body and "a --&gt; b &amp; c" in body
    assert vtt.count("-->") == 1  # only the timing line
    assert parse_webvtt(vtt) == [Cue(0, 2, text)]


def test_blank_lines_inside_cue_text_are_removed() -> None:
    vtt = to_webvtt([Cue(0, 1, "first line\n\n  \nsecond line\r\n\r\nthird")])
    assert "first line\nsecond line\nthird\n" in vtt
    assert parse_webvtt(vtt)[0].text == "first line\nsecond line\nthird"
    srt = to_srt([Cue(0, 1, "one\n\ntwo")])
    assert srt == "1\n00:00:00,000 --> 00:00:01,000\none\ntwo\n"


def test_srt_numbering_and_format() -> None:
    cues = [Cue(0.5, 1.5, "one"), Cue(2, 3, "   "), Cue(3, 4.0004, "two"), Cue(3661.1, 3662, "a --> b")]
    srt = to_srt(cues)
    assert srt == (
        "1\n00:00:00,500 --> 00:00:01,500\none\n\n"
        "2\n00:00:03,000 --> 00:00:04,000\ntwo\n\n"  # the empty cue is skipped and does not use a number
        "3\n01:01:01,100 --> 01:01:02,000\na -> b\n"
    )


def test_to_text_one_paragraph_per_segment() -> None:
    segments = [
        {"start": 0, "end": 2, "text": " Good morning,   everyone. "},
        {"start": 2, "end": 4, "text": ""},
        {"start": 4, "end": 6, "text": "Today: fractions."},
    ]
    assert to_text(segments) == "Good morning, everyone.\n\nToday: fractions.\n"
    assert to_text([Cue(0, 1, "a"), Cue(1, 2, "b")]) == "a\n\nb\n"
    assert to_text([]) == ""


# ---------------------------------------------------------------------------------------------------- cues


def test_short_segments_become_one_cue_each() -> None:
    segments = [
        {"start": 0.0, "end": 2.0, "text": " Hello. "},
        {"start": 2.5, "end": 4.0, "text": "Open your books.", "words": []},
    ]
    assert cues_from_segments(segments) == [Cue(0.0, 2.0, "Hello."), Cue(2.5, 4.0, "Open your books.")]


def test_long_segment_is_split_at_word_timings() -> None:
    text = (
        "Sarah says that two quarters is bigger than one half, because two is bigger than one, "
        "and that is a very common idea that we should look at carefully together today."
    )
    words = _words(text, start=10.0, step=0.4)
    segment = {"start": 10.0, "end": words[-1]["end"], "text": text, "words": words}
    cues = cues_from_segments([segment], max_chars=42, max_seconds=7.0)

    assert len(cues) >= 4
    _assert_well_formed(cues, 42)
    assert " ".join(c.text for c in cues) == text  # nothing lost, nothing reordered
    starts = {w["start"] for w in words}
    ends = {w["end"] for w in words}
    for cue in cues:
        assert cue.start in starts and cue.end in ends  # cue edges sit on word edges
        assert cue.end - cue.start <= 7.0
    # A clause boundary is preferred to cutting mid-phrase when one is available.
    assert any(c.text.endswith(",") for c in cues[:-1])
    # No orphan: the even split never leaves a one-word tail.
    assert all(len(c.text.split()) >= 3 for c in cues)


def test_long_segment_respects_max_seconds_even_when_short_in_text() -> None:
    text = "so . . . we . . . wait . . . for . . . everyone"
    words = _words(text, start=0.0, step=1.5)
    cues = cues_from_segments([{"start": 0, "end": words[-1]["end"], "text": text, "words": words}], max_seconds=7)
    assert len(cues) >= 3
    _assert_well_formed(cues)
    assert all(c.end - c.start <= 7.0 for c in cues)


def test_long_segment_without_words_is_split_by_length() -> None:
    text = " ".join(["word"] * 60)  # 299 characters
    cues = cues_from_segments([{"start": 5, "end": 25, "text": text}])
    assert len(cues) == 4
    _assert_well_formed(cues)
    assert cues[0].start == 5 and cues[-1].end == 25
    assert " ".join(c.text for c in cues) == text


def test_corrected_text_does_not_take_stale_word_timings() -> None:
    words = _words("the old machine words " * 10, start=0, step=0.3)
    text = "A teacher rewrote this sentence completely, so the machine words no longer match it at all, not one bit."
    cues = cues_from_segments([{"start": 0, "end": 12, "text": text, "words": words}])
    assert " ".join(c.text for c in cues) == text
    _assert_well_formed(cues)


@pytest.mark.parametrize("max_chars", [84, 42, 20])
def test_text_between_matched_words_is_kept(max_chars: int) -> None:
    text = (
        "Hello there (pause) my dear students, today we will talk about the fractions "
        "[inaudible: a long stretch of noise] and the pizzas again."
    )
    kept = [w for w in text.split() if not w.startswith(("(", "[")) and w not in ("a", "long", "stretch", "of")]
    kept = [w for w in kept if not w.endswith(("]", ")"))]
    words = [{"start": i * 0.5, "end": i * 0.5 + 0.4, "text": w} for i, w in enumerate(kept)]
    cues = cues_from_segments([{"start": 0, "end": 12, "text": text, "words": words}], max_chars=max_chars)
    assert " ".join(c.text for c in cues) == text
    _assert_well_formed(cues, max_chars)


def test_overlapping_and_zero_length_segments_are_repaired() -> None:
    segments = [
        {"start": 0.0, "end": 3.0, "text": "first"},
        {"start": 2.0, "end": 4.0, "text": "overlaps the first"},
        {"start": 4.0, "end": 4.0, "text": "zero length"},
        {"start": 6.0, "end": 5.0, "text": "ends before it starts"},
        {"start": 7.0, "end": 8.0, "text": "   "},
    ]
    cues = cues_from_segments(segments)
    assert [c.text for c in cues] == ["first", "overlaps the first", "zero length", "ends before it starts"]
    _assert_well_formed(cues)


def test_words_with_equal_times_and_an_overlong_word() -> None:
    url = "https://example.org/" + "x" * 150
    text = f"See {url} for the worksheet."
    words = [
        {"start": 1.0, "end": 1.0, "text": "See"},
        {"start": 1.0, "end": 3.0, "text": url},
        {"start": 3.0, "end": 3.0, "text": "for"},
        {"start": 3.0, "end": 3.2, "text": "the"},
        {"start": 3.2, "end": 3.6, "text": "worksheet."},
    ]
    cues = cues_from_segments([{"start": 1, "end": 3.6, "text": text, "words": words}])
    _assert_well_formed(cues)
    assert "".join(c.text.replace(" ", "") for c in cues) == text.replace(" ", "")


def test_accepts_objects_with_attributes() -> None:
    from workers.asr import Segment, Word

    text = "One times two is two, and two times two is four, so one half equals two quarters, as we saw."
    words = tuple(Word(w["start"], w["end"], w["text"], 0.9) for w in _words(text, 0, 0.35))
    cues = cues_from_segments([Segment(0, words[-1].end, text, words)], max_chars=42)
    assert len(cues) >= 3
    _assert_well_formed(cues, 42)


# ---------------------------------------------------------------------------------------------------- reader


def test_parse_webvtt_round_trip() -> None:
    text = (
        "Good morning everyone, today we are going to talk about equivalent fractions. Sarah says two quarters "
        "is bigger than one half. <Really?> Fish & chips --> lunch."
    )
    segments = [
        {"start": 0.0, "end": 14.0, "text": text, "words": _words(text, 0.0, 0.5)},
        {"start": 3700.25, "end": 3702.5, "text": "An hour later."},
    ]
    cues = cues_from_segments(segments, max_chars=42)
    assert len(cues) > 3
    assert parse_webvtt(to_webvtt(cues)) == cues


def test_parse_webvtt_is_tolerant() -> None:
    vtt = (
        "\ufeffWEBVTT - lesson captions\r\nKind: captions\r\n\r\n"
        "NOTE written by hand\r\nspanning two lines\r\n\r\n"
        "STYLE\r\n::cue { color: yellow }\r\n\r\n"
        "intro\r\n00:01.500 --> 00:03.000 align:start position:10%\r\n<v Teacher>Hello &amp; welcome</v>\r\n\r\n"
        "2\r\n01:00:00.000 --> 01:00:02.5\r\nline one\r\nline two\r\n\r\n"
        "00:00:05,000 --> 00:00:06,000\r\ncomma decimal\r\n\r\n\r\n"
    )
    assert parse_webvtt(vtt) == [
        Cue(1.5, 3.0, "Hello & welcome"),
        Cue(3600.0, 3602.5, "line one\nline two"),
        Cue(5.0, 6.0, "comma decimal"),
    ]


def test_hebrew_and_arabic_pass_through_intact() -> None:
    hebrew = "שלום כיתה! היום נלמד על שברים שקולים: חצי שווה לשני רבעים, וזה נכון תמיד."
    arabic = "مرحبا يا طلاب، اليوم سنتعلم الكسور المتكافئة: النصف يساوي ربعين، وهذا صحيح دائما."
    segments = [
        {"start": 0, "end": 4, "text": hebrew},
        {"start": 4, "end": 8, "text": arabic, "words": _words(arabic, 4, 0.35)},
    ]
    cues = cues_from_segments(segments, max_chars=42)
    _assert_well_formed(cues, 42)
    assert " ".join(c.text for c in cues) == f"{hebrew} {arabic}"
    vtt = to_webvtt(cues)
    assert parse_webvtt(vtt) == cues
    encoded = vtt.encode("utf-8")
    assert hebrew.split()[0].encode("utf-8") in encoded and arabic.split()[0].encode("utf-8") in encoded
    assert "שברים" in to_srt(cues) and "الكسور" in to_text(segments)
    # The Arabic comma counts as a clause boundary.
    assert any(c.text.endswith("،") for c in cues)


# ---------------------------------------------------------------------------------------------------- WER


def test_word_error_rate_normalisation() -> None:
    assert word_error_rate("Hello, World!", "hello world") == 0.0
    assert word_error_rate("It's one-half.", "its one half") == 0.0
    assert word_error_rate("a  b\n c", " A B C ") == 0.0
    assert word_error_rate("the cat sat", "the cat sat down") == pytest.approx(1 / 3)
    assert word_error_rate("the cat sat", "a dog") == 1.0
    # Digits and number words are deliberately not reconciled.
    assert word_error_rate("two apples", "2 apples") == 0.5
    assert word_error_rate("", "") == 0.0
    assert word_error_rate("...", "something") == 1.0
    assert word_error_rate("something", "") == 1.0


# ------------------------------------------------------------------------------------------- WebVTT on webvtt-py


def test_parse_webvtt_follows_the_webvtt_block_rules() -> None:
    vtt = (
        "WEBVTT\rKind: captions\rLanguage: he\r\r"  # old Mac line ends, header metadata
        "REGION\rid:left width:40%\r\r"
        "STYLE\r::cue(.teacher) { color: lime }\r\r"
        "NOTE one line\r\r"
        "a\r00:00:01.000 --> 00:00:02.000 region:left line:0 align:start\r<c.teacher>Sit</c> <00:00:01.500>down\r\r"
        "00:00:61.000 --> 00:00:62.000\rseconds past 59: the cue is not valid and is skipped\r\r"
        "00:00:03.000 --> 00:00:04.000\rtwo &lt;b&gt; &amp;lrm; &lt; 3\r"
        "00:00:05.000 --> 00:00:06.000\ra timing line starts a new cue even without a blank line\r"
    )
    assert parse_webvtt(vtt) == [
        Cue(1.0, 2.0, "Sit down"),
        Cue(3.0, 4.0, "two <b> &lrm; < 3"),  # entities are unescaped once, after the tags are dropped
        Cue(5.0, 6.0, "a timing line starts a new cue even without a blank line"),
    ]


def test_parse_webvtt_needs_the_header() -> None:
    with pytest.raises(ValueError, match="WEBVTT"):
        parse_webvtt("00:00:01.000 --> 00:00:02.000\nno header\n")
    assert parse_webvtt("\ufeffWEBVTT\n") == []
    assert parse_webvtt(to_webvtt([])) == []


def test_any_text_survives_a_webvtt_round_trip() -> None:
    # What a teacher may type into a corrected transcript line: markup, arrows, entities, blank lines, bidi marks.
    pieces = ["-->", "->", "--", ">", "<", "&", "&amp;", "&lt;", "<b>", "</v>", "<00:01.000>", "\n", "\r\n", "\n\n",
              " ", "a", "7", ":", "NOTE", "WEBVTT", "\u200f", "שלום", "مرحبا", "\t"]
    rng = random.Random(19)
    for _ in range(500):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        expected = "\n".join(line.strip() for line in text.replace("\r", "\n").split("\n") if line.strip())
        if not expected:
            continue
        vtt = to_webvtt([Cue(1, 2, text)])
        assert vtt.count("-->") == 1, vtt
        assert parse_webvtt(vtt) == [Cue(1, 2, expected)], vtt


def test_srt_keeps_angle_brackets_that_webvtt_py_would_read_as_tags() -> None:
    # webvtt-py's own SRT writer drops "<...>" as cue tags ("3  2" here), which is why to_srt stays ours.
    assert to_srt([Cue(0, 1, "3 < 5 and 7 > 2")]) == "1\n00:00:00,000 --> 00:00:01,000\n3 < 5 and 7 > 2\n"
