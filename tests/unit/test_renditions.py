"""The renditions table and the order the pipeline makes them in (no ffmpeg needed)."""

from __future__ import annotations

import dataclasses

import pytest

from workers import renditions
from workers.media import ProbeResult


def upload(**changes) -> ProbeResult:
    info = ProbeResult(
        container="mov", duration=120.0, size=1, sha256="0" * 64, has_video=True, has_audio=True,
        video_codec="hevc", audio_codec="aac", width=1280, height=720, rotation=0, fps=30.0, browser_playable=False,
    )  # fmt: skip
    return dataclasses.replace(info, **changes)


def names(info: ProbeResult) -> list[str]:
    return [r.name for r in renditions.plan(info)]


def test_one_row_per_asset_kind_each_in_its_place():
    rows = renditions.RENDITIONS
    assert len({r.name for r in rows}) == len(rows) and len({r.order for r in rows}) == len(rows)
    assert [r.name for r in sorted(rows, key=lambda r: r.order)] == ["web", "low", "poster", "storyboard", "audio"]
    assert renditions.PLAYABLE == ("web", "low")
    # The storage keys the player, the clips and a second run rely on.
    keys = {r.name: r.key("AbC") for r in rows}
    assert keys == {
        "web": "videos/AbC/transcode/web.mp4",
        "low": "videos/AbC/transcode/low.mp4",
        "poster": "videos/AbC/transcode/poster.jpg",
        "storyboard": "videos/AbC/transcode/storyboard.jpg",
        "audio": "videos/AbC/audio/speech.wav",
    }
    vtt = renditions.Sidecar("storyboard_vtt", "storyboard.vtt", "text/vtt")
    assert renditions.by_name("storyboard").sidecar == vtt
    assert renditions.by_name("audio").sample_rate == 16000 and renditions.by_name("audio").channels == 1
    assert [r.name for r in rows if r.first_playable] == ["low"]


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        # H.264 a browser plays: the web copy takes seconds, so it is playable first.
        (upload(video_codec="h264", browser_playable=True), ["web", "low", "poster", "storyboard", "audio"]),
        # HEVC from a phone must be encoded: the small rendition is quicker to make than the full one.
        (upload(), ["low", "web", "poster", "storyboard", "audio"]),
        (upload(has_audio=False, audio_codec=None), ["low", "web", "poster", "storyboard"]),
        (upload(has_video=False, video_codec=None, width=None, height=None), ["audio"]),
    ],
)
def test_plan_puts_the_first_playable_rendition_first(info, expected):
    assert names(info) == expected


def test_a_copy_too_tall_for_the_web_row_is_not_first():
    tall = upload(video_codec="h264", browser_playable=True, width=1080, height=1920, rotation=0)
    short_web = dataclasses.replace(renditions.by_name("web"), height=720)
    table = tuple(short_web if r.name == "web" else r for r in renditions.RENDITIONS)
    assert [r.name for r in renditions.plan(tall, table)][:2] == ["low", "web"]


def test_a_rehearsal_gets_what_plays_and_what_is_transcribed():
    webm = upload(container="webm", video_codec="vp8", audio_codec="opus", width=640, height=480, duration=60.0)
    assert [r.name for r in renditions.plan(webm, purpose="rehearsal")] == ["low", "poster", "audio"]
    # H.264 from the browser is copied (seconds), then the low rendition is made as for a lesson.
    mp4 = upload(container="mp4", video_codec="h264", browser_playable=True, width=640, height=480)
    assert [r.name for r in renditions.plan(mp4, purpose="rehearsal")] == ["web", "low", "poster", "audio"]
    mic = upload(container="webm", has_video=False, video_codec=None, width=None, height=None, audio_codec="opus")
    assert [r.name for r in renditions.plan(mic, purpose="rehearsal")] == ["audio"]
