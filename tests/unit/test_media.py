"""workers.media against the real ffmpeg/ffprobe, on small generated clips."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import random
import re
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tests import media_files as mf
from workers import media, renditions
from workers.media import Limits, MediaFailed, MediaRejected

METADATA = {"location": "+31.7683+035.2137/", "make": "Apple"}


# ---------------------------------------------------------------------------------------------------------------
# helpers


def ffprobe_json(path: Path) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", f"file:{path}"],
        capture_output=True,
        timeout=60,
        check=True,
    ).stdout
    return json.loads(out)


def video_stream(path: Path) -> dict:
    return next(s for s in ffprobe_json(path)["streams"] if s["codec_type"] == "video")


def displayed(path: Path) -> tuple[int, int]:
    s = video_stream(path)
    if mf.displayed_rotation(path) in (90, 270):
        return s["height"], s["width"]
    return s["width"], s["height"]


def all_tags(path: Path) -> dict[str, str]:
    data = ffprobe_json(path)
    tags = dict(data["format"].get("tags") or {})
    for s in data["streams"]:
        tags.update(s.get("tags") or {})
    return {k.lower(): v for k, v in tags.items()}


def gray_frame(path: Path, width: int, height: int) -> np.ndarray:
    """First frame as displayed (ffmpeg applies rotation), scaled to width x height, as a float array."""
    raw = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", f"file:{path}", "-frames:v", "1"]
        + ["-vf", f"scale={width}:{height},format=gray", "-f", "rawvideo", "pipe:1"],
        capture_output=True,
        timeout=60,
        check=True,
    ).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(height, width).astype(float)


def packet_hash(path: Path) -> str:
    return subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", f"file:{path}", "-map", "0:v:0", "-c", "copy"]
        + ["-f", "streamhash", "-hash", "md5", "pipe:1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()


def packet_count(path: Path) -> int:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets"]
        + ["-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", f"file:{path}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return int(out.strip())


# ---------------------------------------------------------------------------------------------------------------
# fixtures: every clip is generated once per session, on first use


CLIPS: dict[str, tuple[str, dict]] = {
    "h264": ("h264.mp4", {}),
    "h264_5s": ("h264_5s.mp4", {"seconds": 5}),
    "hevc": ("hevc.mov", {"vcodec": "libx265"}),
    "vp9": ("vp9.webm", {"vcodec": "libvpx-vp9", "acodec": "libopus"}),
    "vp8": ("vp8.mkv", {"vcodec": "libvpx", "acodec": "libvorbis"}),
    "h264_opus_mkv": ("h264_opus.mkv", {"acodec": "libopus"}),
    "av1": ("av1.mp4", {"vcodec": "libsvtav1", "seconds": 1}),
    "mpeg4_flac": ("mpeg4_flac.mkv", {"vcodec": "mpeg4", "acodec": "flac", "seconds": 1}),
    "silent": ("silent.mp4", {"audio": False}),
    "rot90": ("rot90.mp4", {"rotate": 90}),
    "rot90_720p": ("rot90_720p.mp4", {"rotate": 90, "width": 1280, "height": 720, "seconds": 1}),
    "hd": ("hd.mp4", {"width": 1280, "height": 720, "seconds": 1}),
    "small": ("small.mp4", {"width": 320, "height": 180, "seconds": 1}),
    "h264_10bit": ("h264_10bit.mp4", {"pix_fmt": "yuv420p10le", "seconds": 1}),
    "metadata": ("metadata.mp4", {"extra_metadata": METADATA}),
    "mjpeg_mov": ("mjpeg.mov", {"vcodec": "mjpeg", "pix_fmt": "yuvj420p", "seconds": 1}),
    "ac3_mp4": ("ac3.mp4", {"acodec": "ac3", "seconds": 1}),
}
AUDIO: dict[str, tuple[str, dict]] = {
    "m4a": ("audio.m4a", {}),
    "mp3": ("audio.mp3", {}),
    "wav": ("audio.wav", {}),
    "ogg": ("audio.ogg", {}),
    "alac": ("alac.m4a", {"codec": "alac"}),
    "wav24": ("audio24.wav", {"codec": "pcm_s24le"}),
    "m4a_cover": ("cover.m4a", {"cover": True}),
    "mp3_cover": ("cover.mp3", {"cover": True}),
}


@pytest.fixture(scope="session")
def clip(tmp_path_factory):
    root = tmp_path_factory.mktemp("media")
    made: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in made:
            if name in CLIPS:
                filename, kwargs = CLIPS[name]
                made[name] = mf.make_video(root / filename, **kwargs)
            else:
                filename, kwargs = AUDIO[name]
                made[name] = mf.make_audio(root / filename, **kwargs)
        return made[name]

    return get


@pytest.fixture(scope="session")
def probed(clip):
    cache: dict[str, media.ProbeResult] = {}

    def get(name: str) -> media.ProbeResult:
        if name not in cache:
            cache[name] = media.probe(clip(name))
        return cache[name]

    return get


# ---------------------------------------------------------------------------------------------------------------
# probe


@pytest.mark.parametrize(
    "name, expected",
    [
        ("h264", dict(container="mp4", video_codec="h264", audio_codec="aac", browser_playable=True)),
        ("hevc", dict(container="mov", video_codec="hevc", audio_codec="aac", browser_playable=False)),
        ("vp9", dict(container="webm", video_codec="vp9", audio_codec="opus", browser_playable=False)),
        ("vp8", dict(container="matroska", video_codec="vp8", audio_codec="vorbis", browser_playable=False)),
        ("silent", dict(container="mp4", video_codec="h264", audio_codec=None, has_audio=False, browser_playable=True)),
        ("h264_10bit", dict(video_codec="h264", browser_playable=False)),
        ("av1", dict(container="mp4", video_codec="av1", audio_codec="aac", browser_playable=False)),
        ("mpeg4_flac", dict(container="matroska", video_codec="mpeg4", audio_codec="flac", browser_playable=False)),
    ],
)
def test_probe_video_fields(clip, probed, name, expected):
    info = probed(name)
    path = clip(name)
    for key, value in expected.items():
        assert getattr(info, key) == value, key
    assert info.has_video
    assert info.has_audio == (info.audio_codec is not None)
    assert info.rotation == 0
    assert info.fps == pytest.approx(25)
    assert info.size == path.stat().st_size
    assert info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest() == media.sha256_file(path)
    assert info.duration == pytest.approx(CLIPS[name][1].get("seconds", 3), abs=0.1)
    assert (info.width, info.height) == (640, 360)
    as_dict = info.as_dict()
    assert as_dict["video_codec"] == info.video_codec and json.dumps(as_dict)


@pytest.mark.parametrize(
    "name, container, codec",
    [
        ("m4a", "m4a", "aac"),
        ("mp3", "mp3", "mp3"),
        ("wav", "wav", "pcm_s16le"),
        ("ogg", "ogg", "vorbis"),
        ("alac", "m4a", "alac"),
        ("wav24", "wav", "pcm_s24le"),
        ("m4a_cover", "m4a", "aac"),
        ("mp3_cover", "mp3", "mp3"),
    ],
)
def test_probe_audio_only(probed, name, container, codec):
    info = probed(name)
    assert (info.container, info.audio_codec, info.has_audio) == (container, codec, True)
    # Cover art is a video stream to ffprobe, but not a video to us.
    assert (info.has_video, info.video_codec, info.width, info.height, info.fps) == (False, None, None, None, None)
    assert info.browser_playable is False
    assert info.duration == pytest.approx(3, abs=0.1)


def test_probe_trusts_content_not_extension(tmp_path, clip):
    disguised = tmp_path / "lesson.mp4"
    shutil.copy(clip("vp9"), disguised)
    assert media.probe(disguised).container == "webm"


def test_whitelists_supported_by_this_ffmpeg():
    assert media._supports("ffprobe", "format_whitelist")
    assert media._supports("ffmpeg", "format_whitelist")


def test_commands_are_locked_down(monkeypatch, tmp_path, clip, probed):
    seen: list[list[str]] = []
    real_popen = subprocess.Popen

    class Recorder(real_popen):  # type: ignore[misc, valid-type]
        def __init__(self, args, *a, **kw):
            assert not kw.get("shell")
            seen.append(list(args))
            super().__init__(args, *a, **kw)

    # warm the help cache and make the clip first, so only the runs under test are recorded
    media._help_text("ffprobe")
    media._help_text("ffmpeg")
    src, info = clip("h264"), probed("h264")
    monkeypatch.setattr(subprocess, "Popen", Recorder)
    media.probe(src)
    media.transcode_low(src, tmp_path / "low.mp4", info)
    assert len(seen) == 2
    for cmd in seen:
        i = cmd.index("-i")
        assert cmd[i + 1] == f"file:{src}"
        before = cmd[:i]
        assert before[before.index("-f") + 1] == "mov"
        assert before[before.index("-format_whitelist") + 1] == "mov"
        assert before[before.index("-protocol_whitelist") + 1] == "file"
        assert "-codec_whitelist" in before
    ffmpeg_cmd = seen[1]
    # ffmpeg-python writes the global options after the output, where ffmpeg reads them just the same.
    out = ffmpeg_cmd.index(f"file:{tmp_path / 'low.mp4'}")
    assert out > ffmpeg_cmd.index("-i") + 1
    assert set(ffmpeg_cmd[out + 1 :]) <= {"-nostdin", "-hide_banner", "-v", "error", "-progress", "pipe:1", "-nostats",
                                          "-stats_period", "0.2", "-y"}  # fmt: skip
    for flag in ("-nostdin", "-y", "-hide_banner"):
        assert flag in ffmpeg_cmd
    joined = " ".join(ffmpeg_cmd)
    assert "-map_metadata -1" in joined and "-map_chapters -1" in joined and "-v error" in joined


@pytest.mark.parametrize("name", [r.name for r in renditions.RENDITIONS])
@pytest.mark.parametrize(("source", "demuxer"), [("h264", "mov"), ("hevc", "mov"), ("vp9", "matroska")])
def test_every_rendition_command_keeps_the_whitelists_and_limits(tmp_path, clip, probed, name, source, demuxer):
    """Built by ffmpeg-python, each command still locks its one input down, caps it and strips the metadata."""
    src, dst = clip(source), tmp_path / "out"
    cmd = media.command(src, dst, probed(source), renditions.by_name(name), limits=Limits(max_duration=600))
    assert cmd[0] == "ffmpeg" and cmd.count("-i") == 1
    i = cmd.index("-i")
    assert cmd[i + 1] == f"file:{src}"
    before = cmd[1:i]  # input options, every one with a value
    options = dict(zip(before[::2], before[1::2], strict=True))
    assert options["-f"] == options["-format_whitelist"] == demuxer
    assert options["-protocol_whitelist"] == "file"
    assert options["-codec_whitelist"] == ",".join(media._DECODERS)
    assert options["-t"] == "600"  # nothing past the longest recording we accept is read
    out = cmd.index(f"file:{dst}")
    after = cmd[out + 1 :]
    for flag in ("-nostdin", "-y", "-hide_banner", "-nostats"):
        assert flag in after
    assert after[after.index("-v") + 1] == "error" and after[after.index("-progress") + 1] == "pipe:1"
    output = cmd[i + 2 : out]
    joined = " ".join(output)
    assert "-map_metadata -1" in joined and "-map_chapters -1" in joined
    # Every stream comes from the one input, directly or through the filter graph.
    maps = [output[k + 1] for k, arg in enumerate(output) if arg == "-map"]
    assert maps and all(m.startswith(("0:", "[s")) for m in maps)
    if "-filter_complex" in output:
        graph = output[output.index("-filter_complex") + 1]
        assert re.findall(r"\[(0:[^\]]*)\]", graph) == ["0:V:0"]
    assert not any("://" in arg for arg in cmd)


def test_video_commands_follow_their_row_of_the_table(tmp_path, clip, probed):
    info = probed("hevc")
    for name in ("web", "low"):
        row = renditions.by_name(name)
        cmd = media.command(clip("hevc"), tmp_path / "out.mp4", info, row)
        pairs = dict(zip(cmd, cmd[1:], strict=False))  # the last -f is the output's
        assert (pairs["-c:v"], pairs["-crf"], pairs["-preset"]) == (row.video_codec, str(row.crf), row.preset)
        audio = (pairs["-c:a"], pairs["-b:a"], pairs["-ar"])
        assert audio == (row.audio_codec, row.audio_bitrate, str(row.sample_rate))
        assert pairs["-f"] == row.container and f"scale=-2:{min(row.height, 360)}" in pairs["-filter_complex"]
        assert (f"flags={row.scale_flags}" in pairs["-filter_complex"]) == bool(row.scale_flags)
    # H.264 that a browser plays is copied into the web rendition, never into the small one.
    remux = media.command(clip("h264"), tmp_path / "out.mp4", probed("h264"), renditions.by_name("web"))
    assert dict(zip(remux, remux[1:], strict=False))["-c:v"] == "copy" and "-filter_complex" not in remux


# ---------------------------------------------------------------------------------------------------------------
# rotation and renditions


def test_rotation_detected_and_kept_by_remux(tmp_path, clip, probed):
    info = probed("rot90")
    assert (info.width, info.height, info.rotation) == (640, 360, 90)
    assert info.display_size == (360, 640)
    assert info.browser_playable  # displayed 360x640 is within 1080p

    web = tmp_path / "web.mp4"
    assert media.transcode_web(clip("rot90"), web, info) == "remux"
    assert displayed(web) == (360, 640)
    low = tmp_path / "low.mp4"
    media.transcode_low(clip("rot90"), low, info)
    assert mf.displayed_rotation(low) == 0  # the encoder turned the pixels upright
    assert displayed(low)[1] == 360 and displayed(low)[0] in (202, 204)
    jpg = tmp_path / "poster.jpg"
    media.poster(clip("rot90"), jpg, info)
    assert displayed(jpg) == (360, 640)

    # What the viewer sees must be the stored picture turned clockwise, in every output.
    stored = gray_frame(clip("h264"), 64, 36)  # same test pattern, unrotated
    want, wrong = np.rot90(stored, -1), np.rot90(stored, 1)
    for out in (web, low):
        seen = gray_frame(out, 36, 64)
        assert np.abs(seen - want).mean() < np.abs(seen - wrong).mean() / 2, out.name


def test_rotated_over_1080p_is_encoded_upright(tmp_path, clip, probed):
    info = probed("rot90_720p")
    assert info.display_size == (720, 1280)
    assert not info.browser_playable  # 1280 displayed lines is over 1080p
    out = tmp_path / "web.mp4"
    assert media.transcode_web(clip("rot90_720p"), out, info) == "encode"
    s = video_stream(out)
    assert (s["codec_name"], s["pix_fmt"]) == ("h264", "yuv420p")
    assert mf.displayed_rotation(out) == 0
    assert s["height"] == 1080 and s["width"] in (606, 608)


def test_remux_copies_the_video_bit_for_bit(tmp_path, clip, probed):
    out = tmp_path / "web.mp4"
    assert media.transcode_web(clip("h264"), out, probed("h264")) == "remux"
    assert packet_hash(out) == packet_hash(clip("h264"))
    assert packet_count(out) == packet_count(clip("h264"))
    data = ffprobe_json(out)
    assert [s["codec_name"] for s in data["streams"]] == ["h264", "aac"]
    assert float(data["format"]["duration"]) == pytest.approx(3, abs=0.1)


def test_remux_reencodes_only_non_aac_sound(tmp_path, clip, probed):
    info = probed("h264_opus_mkv")
    assert (info.container, info.video_codec, info.audio_codec, info.browser_playable) == (
        "matroska",
        "h264",
        "opus",
        True,
    )
    out = tmp_path / "web.mp4"
    assert media.transcode_web(clip("h264_opus_mkv"), out, info) == "remux"
    assert packet_hash(out) == packet_hash(clip("h264_opus_mkv"))
    audio = next(s for s in ffprobe_json(out)["streams"] if s["codec_type"] == "audio")
    assert (audio["codec_name"], audio["sample_rate"]) == ("aac", "48000")


@pytest.mark.parametrize("name", ["hevc", "vp9", "av1"])
def test_encode_path(tmp_path, clip, probed, name):
    out = tmp_path / "web.mp4"
    assert media.transcode_web(clip(name), out, probed(name)) == "encode"
    data = ffprobe_json(out)
    assert data["format"]["format_name"].startswith("mov,mp4")
    v = next(s for s in data["streams"] if s["codec_type"] == "video")
    a = next(s for s in data["streams"] if s["codec_type"] == "audio")
    assert (v["codec_name"], v["pix_fmt"], v["width"], v["height"]) == ("h264", "yuv420p", 640, 360)
    assert (a["codec_name"], a["sample_rate"], a["channels"]) == ("aac", "48000", 1)  # mono stays mono
    # faststart: the index comes before the media data
    head = out.read_bytes()[:100_000]
    assert 0 < head.find(b"moov") < head.find(b"mdat")


def test_transcode_web_respects_max_height(tmp_path, clip, probed):
    out = tmp_path / "web.mp4"
    assert media.transcode_web(clip("h264"), out, probed("h264"), max_height=180) == "encode"
    assert displayed(out) == (320, 180)


def test_low_rendition(tmp_path, clip, probed):
    out = tmp_path / "low.mp4"
    media.transcode_low(clip("hd"), out, probed("hd"))
    s = video_stream(out)
    assert (s["codec_name"], s["width"], s["height"]) == ("h264", 640, 360)
    small = tmp_path / "small_low.mp4"
    media.transcode_low(clip("small"), small, probed("small"))
    assert displayed(small) == (320, 180)  # never upscaled


def test_progress_is_reported(tmp_path, clip, probed):
    fractions: list[float] = []
    media.transcode_low(clip("h264_5s"), tmp_path / "low.mp4", probed("h264_5s"), progress=fractions.append)
    assert len(fractions) >= 2
    assert all(0 < f <= 1 for f in fractions)
    assert fractions == sorted(set(fractions))  # strictly increasing
    assert fractions[-1] == pytest.approx(1.0)


def test_metadata_is_stripped_from_every_output(tmp_path, clip, probed):
    src, info = clip("metadata"), probed("metadata")
    source_tags = all_tags(src)
    assert source_tags["location"] == METADATA["location"] and source_tags["make"] == "Apple"

    outputs = {
        "remux": tmp_path / "remux.mp4",
        "encode": tmp_path / "encode.mp4",
        "low": tmp_path / "low.mp4",
        "poster": tmp_path / "poster.jpg",
        "sprite": tmp_path / "sprite.jpg",
        "wav": tmp_path / "audio.wav",
    }
    assert media.transcode_web(src, outputs["remux"], info) == "remux"
    assert media.transcode_web(src, outputs["encode"], info, max_height=180) == "encode"
    media.transcode_low(src, outputs["low"], info)
    media.poster(src, outputs["poster"], info)
    media.storyboard(src, outputs["sprite"], info, sprite_url="s.jpg")
    media.extract_audio(src, outputs["wav"], info)
    for name, out in outputs.items():
        tags = all_tags(out)
        assert not {"location", "location-eng", "make"} & tags.keys(), name
        raw = out.read_bytes()
        assert b"+31.7683" not in raw and b"Apple" not in raw, name


# ---------------------------------------------------------------------------------------------------------------
# poster, storyboard, audio


def test_poster(tmp_path, clip, probed):
    out = tmp_path / "poster.jpg"
    media.poster(clip("hd"), out, probed("hd"), width=320)
    assert out.read_bytes()[:3] == b"\xff\xd8\xff"
    assert displayed(out) == (320, 180)
    big = tmp_path / "big.jpg"
    media.poster(clip("h264"), big, probed("h264"))
    assert displayed(big) == (640, 360)  # never upscaled to 1280


VTT_CUE = re.compile(
    r"(\d\d):(\d\d):(\d\d)\.(\d\d\d) --> (\d\d):(\d\d):(\d\d)\.(\d\d\d)\n(\S+)#xywh=(\d+),(\d+),(\d+),(\d+)"
)


def parse_vtt(text: str) -> list[tuple[float, float, str, tuple[int, int, int, int]]]:
    assert text.startswith("WEBVTT\n\n")
    cues = []
    for block in text[len("WEBVTT\n\n") :].strip().split("\n\n"):
        m = VTT_CUE.fullmatch(block)
        assert m, block
        g = [int(x) if x.isdigit() else x for x in m.groups()]
        start = g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000
        end = g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000
        cues.append((start, end, m.group(9), tuple(g[9:13])))
    return cues


def check_vtt(cues, duration: float, sprite: tuple[int, int], url: str) -> None:
    assert cues[0][0] == 0
    assert cues[-1][1] == pytest.approx(duration, abs=0.001)
    for (s1, e1, *_), (s2, _e2, *_) in zip(cues, cues[1:], strict=False):
        assert s1 < e1 == s2  # contiguous and increasing
    for _s, _e, u, (x, y, w, h) in cues:
        assert u == url
        assert x + w <= sprite[0] and y + h <= sprite[1]


def test_storyboard(tmp_path, clip, probed):
    info = probed("h264_5s")
    sprite = tmp_path / "sprite.jpg"
    vtt = media.storyboard(clip("h264_5s"), sprite, info, sprite_url="/media/abc/sprite.jpg")
    cues = parse_vtt(vtt)
    assert len(cues) == 5  # one per second
    assert {c[3][2:] for c in cues} == {(160, 90)}
    assert displayed(sprite) == (5 * 160, 90)
    check_vtt(cues, info.duration, (800, 90), "/media/abc/sprite.jpg")


def test_storyboard_grid_and_last_tile(tmp_path, clip, probed):
    info = probed("h264_5s")
    sprite = tmp_path / "sprite.jpg"
    cues = parse_vtt(media.storyboard(clip("h264_5s"), sprite, info, sprite_url="s.jpg", interval=2, columns=2))
    assert len(cues) == 3 and [c[3][:2] for c in cues] == [(0, 0), (160, 0), (0, 90)]
    assert displayed(sprite) == (320, 180)
    check_vtt(cues, info.duration, (320, 180), "s.jpg")
    pixels = gray_frame(sprite, 320, 180)
    assert pixels[90:, :160].std() > 10  # the last tile holds a picture, not padding
    # (the fourth cell is referenced by no cue; it may hold padding or a repeat of the last frame)


def test_storyboard_rotated_and_at_most_100_tiles(tmp_path, clip, probed):
    info = probed("rot90")
    sprite = tmp_path / "sprite.jpg"
    cues = parse_vtt(media.storyboard(clip("rot90"), sprite, info, sprite_url="s.jpg"))
    assert {c[3][2:] for c in cues} == {(160, 284)}  # portrait tiles
    assert displayed(sprite) == (3 * 160, 284)

    long_info = dataclasses.replace(probed("h264"), duration=3 * 3600 + 7)
    cues = parse_vtt(media.storyboard(clip("h264"), tmp_path / "long.jpg", long_info, sprite_url="s.jpg"))
    assert len(cues) <= 100
    assert cues[1][0] == 120  # a round interval
    check_vtt(cues, long_info.duration, (1600, 900), "s.jpg")
    assert displayed(tmp_path / "long.jpg") == (1600, 900)


def test_extract_audio(tmp_path, clip, probed):
    for name in ("h264", "mp3_cover"):
        out = tmp_path / f"{name}.wav"
        media.extract_audio(clip(name), out, probed(name))
        data = ffprobe_json(out)
        (s,) = data["streams"]
        assert (s["codec_name"], s["sample_rate"], s["channels"], s["sample_fmt"]) == ("pcm_s16le", "16000", 1, "s16")
        assert float(data["format"]["duration"]) == pytest.approx(3, abs=0.1)


def test_video_functions_refuse_audio_only(tmp_path, clip, probed):
    with pytest.raises(ValueError):
        media.transcode_web(clip("m4a"), tmp_path / "x.mp4", probed("m4a"))
    with pytest.raises(ValueError):
        media.poster(clip("m4a"), tmp_path / "x.jpg", probed("m4a"))
    with pytest.raises(ValueError):
        media.extract_audio(clip("silent"), tmp_path / "x.wav", probed("silent"))


# ---------------------------------------------------------------------------------------------------------------
# hostile and unacceptable input


def rejected(path: Path, **kw) -> str:
    with pytest.raises(MediaRejected) as exc:
        media.probe(path, **kw)
    return exc.value.reason


def test_empty_file(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    assert rejected(tmp_path / "empty.mp4") == "This file is empty."


def test_random_bytes(tmp_path):
    (tmp_path / "noise.mp4").write_bytes(random.Random(1234).randbytes(50_000))
    assert rejected(tmp_path / "noise.mp4") == "This is not a video or audio file we can read."


def test_text_file(tmp_path):
    (tmp_path / "notes.mp4").write_text("Lesson plan: anatomy of the hand\n" * 20, encoding="utf-8")
    assert rejected(tmp_path / "notes.mp4") == "This is not a video or audio file we can read (it looks like text)."


def test_image_file(tmp_path, clip, probed):
    jpg = tmp_path / "photo.jpg"
    media.poster(clip("h264"), jpg, probed("h264"))
    shutil.copy(jpg, tmp_path / "photo.mp4")
    assert "it looks like a JPEG image" in rejected(tmp_path / "photo.mp4")


def test_heic_photo(tmp_path):
    (tmp_path / "photo.mp4").write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 100)
    assert "HEIC or AVIF photo" in rejected(tmp_path / "photo.mp4")


def test_fifo_is_not_read(tmp_path):
    os.mkfifo(tmp_path / "pipe.mp4")
    assert rejected(tmp_path / "pipe.mp4") == "This is not a regular file."


def test_truncated_mp4(tmp_path, clip, probed):
    # ffmpeg writes the index (moov) last, so the first half of a file has none.
    cut = mf.truncate(clip("h264"), tmp_path / "cut.mp4")
    reason = rejected(cut)
    assert reason.startswith("The file is incomplete or damaged:")
    # A "faststart" file has its index first; cut in half, ffprobe alone would accept it at full length.
    web = tmp_path / "web.mp4"
    media.transcode_web(clip("h264"), web, probed("h264"))
    reason = rejected(mf.truncate(web, tmp_path / "cut_faststart.mp4"))
    assert reason.startswith("The file is incomplete or damaged:") and "cut off" in reason


def test_no_moov_box(tmp_path):
    # ftyp + an mdat running to the end of the file and nothing else: a recording that never finished.
    path = tmp_path / "unfinished.mp4"
    path.write_bytes(b"\x00\x00\x00\x14ftypisom\x00\x00\x02\x00isom" + b"\x00\x00\x00\x00mdat" + b"\x00" * 1000)
    assert "'moov' box" in rejected(path)


@pytest.fixture
def listener():
    """A TCP server on 127.0.0.1 that records every connection made to it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.settimeout(0.05)
    hits: list[tuple[str, int]] = []
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, addr = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            hits.append(addr)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    port = sock.getsockname()[1]
    # prove the listener sees a connection, so "no hits" below means something
    socket.create_connection(("127.0.0.1", port), timeout=2).close()
    for _ in range(100):
        if hits:
            break
        stop.wait(0.01)
    assert hits, "listener did not record the self-test connection"
    hits.clear()
    yield port, hits
    stop.set()
    thread.join(timeout=2)
    sock.close()


def test_hls_playlist_pointing_at_local_file(tmp_path):
    path = mf.hls_playlist(tmp_path / "lesson.mp4", "/etc/passwd")
    assert rejected(path) == "This file is a playlist, not a video: playlists are not accepted."


def test_hls_playlist_pointing_at_network(tmp_path, listener, clip, probed):
    port, hits = listener
    path = mf.hls_playlist(tmp_path / "lesson.mp4", f"http://127.0.0.1:{port}/x")
    assert rejected(path) == "This file is a playlist, not a video: playlists are not accepted."
    # A conversion re-checks the file, so swapping in a playlist after a good probe gains nothing.
    with pytest.raises(MediaRejected):
        media.transcode_web(path, tmp_path / "out.mp4", probed("hevc"))
    with pytest.raises(MediaRejected):
        media.poster(path, tmp_path / "out.jpg", probed("hevc"))
    time.sleep(0.2)  # give a stray connection time to arrive
    assert hits == []
    assert not (tmp_path / "out.mp4").exists()


def test_ffconcat_list(tmp_path):
    path = mf.ffconcat_list(tmp_path / "lesson.mp4", "/etc/passwd")
    assert rejected(path) == "This file is a playlist (an ffconcat list), not a video: playlists are not accepted."


def test_hostile_file_name(tmp_path, monkeypatch, clip):
    monkeypatch.chdir(tmp_path)
    name = "-rf; $(touch PWNED) 'שיעור'.mp4"
    src = tmp_path / name
    shutil.copy(clip("h264"), src)
    info = media.probe(src)
    assert info.video_codec == "h264"
    out = tmp_path / "-out; `touch PWNED` 'פלט'.mp4"
    assert media.transcode_web(src, out, info) == "remux"
    assert media.transcode_web(src, tmp_path / "-enc $(touch PWNED).mp4", info, max_height=180) == "encode"
    media.poster(src, tmp_path / "-poster %d $(touch PWNED).jpg", info)
    assert (tmp_path / "-poster %d $(touch PWNED).jpg").stat().st_size > 0
    assert media.probe(out).video_codec == "h264"
    assert not list(tmp_path.rglob("PWNED")) and not Path("PWNED").exists()


def test_duration_limit(clip):
    reason = rejected(clip("h264"), limits=Limits(max_duration=1))
    assert reason == "The recording is 3 seconds long; the longest we accept is 1 second."


def test_fps_limit(clip):
    reason = rejected(clip("h264"), limits=Limits(max_fps=10))
    assert reason == "The video has 25 frames per second; the most we accept is 10."


def test_pixel_limit(clip):
    reason = rejected(clip("h264"), limits=Limits(max_pixels=320 * 180))
    assert reason == (
        "The picture is 640×360 (230,400 pixels); the most we accept is 57,600 pixels (for example 320×180)."
    )


def test_video_codec_not_accepted(clip):
    reason = rejected(clip("mjpeg_mov"))
    assert reason.startswith("The video in this file is encoded as") and "(mjpeg)" in reason


def test_audio_codec_not_accepted(clip):
    # ac3 has no place in our decoder whitelist, so ffprobe itself refuses to open it.
    reason = rejected(clip("ac3_mp4"))
    assert "encoded as ac3, which we do not accept" in reason


def test_no_streams(tmp_path):
    srt = tmp_path / "s.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:01,000\nhello\n", encoding="utf-8")
    out = tmp_path / "subs.mp4"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(srt), "-c:s", "mov_text", str(out)], check=True, timeout=60
    )
    assert rejected(out) == "This file has neither picture nor sound."


def test_probe_timeout(clip):
    reason = rejected(clip("h264"), limits=Limits(probe_seconds=0.001))
    assert reason.startswith("Reading this file took longer than")


def test_run_timeout(tmp_path, clip, probed):
    out = tmp_path / "web.mp4"
    with pytest.raises(MediaFailed) as exc:
        media.transcode_web(clip("hevc"), out, probed("hevc"), limits=Limits(run_seconds=0.01))
    assert "took longer than the limit of 0.01 seconds and was stopped" in exc.value.reason
    assert "convert the video for the web" in exc.value.reason
    assert not out.exists()


def test_progress_callback_can_cancel(tmp_path, clip, probed):
    class Cancelled(Exception):
        pass

    def cancel(_fraction: float) -> None:
        raise Cancelled

    out = tmp_path / "low.mp4"
    with pytest.raises(Cancelled):
        media.transcode_low(clip("h264_5s"), out, probed("h264_5s"), progress=cancel)
    assert not out.exists()


@pytest.mark.parametrize("kind", ["h264", "rotated", "audio", "hls"])
def test_probe_without_ffprobe_falls_back_to_pyav_with_the_same_answers(tmp_path, kind):
    """`make run` on a machine with no ffmpeg package: PyAV describes the file as ffprobe would."""
    if kind == "h264":
        path = mf.make_video(tmp_path / "a.mp4", seconds=1)
    elif kind == "rotated":
        path = mf.make_video(tmp_path / "r.mov", seconds=1, vcodec="libx265", rotate=90)
    elif kind == "audio":
        path = mf.make_audio(tmp_path / "a.m4a", seconds=1)
    else:
        path = mf.hls_playlist(tmp_path / "p.mp4", "/etc/passwd")
    if kind == "hls":
        with pytest.raises(media.MediaRejected, match="playlist"):
            media.probe(path, ffprobe="/nonexistent/ffprobe")
        return
    with_ffprobe = media.probe(path)
    with_pyav = media.probe(path, ffprobe="/nonexistent/ffprobe")
    assert with_pyav.as_dict() | {"duration": 0} == with_ffprobe.as_dict() | {"duration": 0}
    assert with_pyav.duration == pytest.approx(with_ffprobe.duration, abs=0.05)
