"""Generators for small media fixtures, made with the real ffmpeg from lavfi test sources.

Everything here is test-only: files are tiny (a few seconds, at most 640x360 unless a test asks for more) so a
whole suite of them is generated in seconds. Encoders are run at their fastest settings because the fixtures only
have to be valid, not pretty.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

# The muxer each file suffix means; ".m4a" uses "ipod" because that is what writes the M4A brand players expect.
_MUXERS = {
    ".mp4": "mp4",
    ".m4v": "mp4",
    ".mov": "mov",
    ".m4a": "ipod",
    ".webm": "webm",
    ".mkv": "matroska",
    ".mp3": "mp3",
    ".wav": "wav",
    ".ogg": "ogg",
    ".opus": "ogg",
}
_AUDIO_DEFAULTS = {".m4a": "aac", ".mp3": "libmp3lame", ".wav": "pcm_s16le", ".ogg": "libvorbis", ".opus": "libopus"}

# Fastest settings per encoder: fixtures must be valid, not good looking.
_VIDEO_OPTS = {
    "libx264": ["-preset", "ultrafast"],
    "libx265": ["-preset", "ultrafast", "-x265-params", "log-level=error"],
    "libvpx": ["-deadline", "realtime", "-cpu-used", "8", "-b:v", "400k"],
    "libvpx-vp9": ["-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1", "-b:v", "400k"],
    "libsvtav1": ["-preset", "12"],
    "mjpeg": ["-q:v", "5"],
}
_AUDIO_OPTS = {
    "aac": ["-b:a", "96k"],
    "libopus": ["-b:a", "48k"],
    "libvorbis": ["-q:a", "1"],
    "libmp3lame": ["-b:a", "64k"],
}

# The rotation options that worked, per ffmpeg binary (see _rotation_candidates).
_rotation_style: dict[str, int] = {}


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise RuntimeError(f"fixture ffmpeg failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-3000:]}")


def _url(path: Path) -> str:
    # "file:" keeps names that start with "-" or contain ":" from being read as options or protocols.
    return "file:" + str(Path(path).resolve())


def _ffprobe_for(ffmpeg: str) -> str:
    if "/" in ffmpeg:
        sibling = Path(ffmpeg).with_name(Path(ffmpeg).name.replace("ffmpeg", "ffprobe"))
        if sibling.exists():
            return str(sibling)
    return shutil.which("ffprobe") or "ffprobe"


def displayed_rotation(path: Path, *, ffprobe: str = "ffprobe") -> int:
    """Clockwise degrees a player turns the first video stream for display (the legacy "rotate" tag meaning)."""
    out = subprocess.run(
        [ffprobe, "-v", "error", "-print_format", "json", "-show_streams", "-select_streams", "v:0", _url(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    streams = json.loads(out).get("streams") or [{}]
    stream = streams[0]
    for side in stream.get("side_data_list") or []:
        if "rotation" in side:
            # ffprobe prints the display matrix angle counter-clockwise; players turn by its negation.
            return int(-round(float(side["rotation"]))) % 360
    tag = (stream.get("tags") or {}).get("rotate")
    return int(tag) % 360 if tag else 0


def _rotation_candidates(rotate: int) -> list[list[str]]:
    """Ways to set a clockwise display rotation on a remux, newest ffmpeg first.

    ffmpeg >= 6 has the -display_rotation input option (counter-clockwise degrees). Older versions take the
    "rotate" stream tag, whose sign ffmpeg 5.x flipped relative to 4.x, so both signs are tried and the result is
    checked with ffprobe rather than trusting the version number.
    """
    return [
        ["-display_rotation:v:0", str(-rotate)],
        ["-metadata:s:v:0", f"rotate={(360 - rotate) % 360}"],
        ["-metadata:s:v:0", f"rotate={rotate}"],
    ]


def _apply_rotation(src: Path, dst: Path, rotate: int, ffmpeg: str, muxer: str) -> None:
    ffprobe = _ffprobe_for(ffmpeg)
    candidates = _rotation_candidates(rotate)
    order = list(range(len(candidates)))
    if ffmpeg in _rotation_style:
        order.insert(0, order.pop(_rotation_style[ffmpeg]))
    errors = []
    for i in order:
        opts = candidates[i]
        input_opts, output_opts = (opts, []) if opts[0].startswith("-display_rotation") else ([], opts)
        cmd = [ffmpeg, "-nostdin", "-hide_banner", "-v", "error", "-y", *input_opts, "-i", _url(src)]
        cmd += ["-map", "0", "-c", "copy", *output_opts, "-f", muxer, _url(dst)]
        try:
            _run(cmd)
        except RuntimeError as exc:
            errors.append(str(exc).splitlines()[-1])
            continue
        if displayed_rotation(dst, ffprobe=ffprobe) == rotate:
            _rotation_style[ffmpeg] = i
            return
        errors.append(f"{opts} gave rotation {displayed_rotation(dst, ffprobe=ffprobe)}")
    raise RuntimeError(f"could not write a {rotate} degree rotation with {ffmpeg}: {errors}")


def make_video(
    path: Path,
    *,
    seconds: float = 3,
    width: int = 640,
    height: int = 360,
    fps: float = 25,
    vcodec: str = "libx264",
    acodec: str = "aac",
    container: str | None = None,
    rotate: int = 0,
    audio: bool = True,
    video: bool = True,
    speech_wav: Path | None = None,
    ffmpeg: str = "ffmpeg",
    pix_fmt: str = "yuv420p",
    extra_metadata: dict[str, str] | None = None,
) -> Path:
    """Write a test clip to `path` and return it.

    `container` is an ffmpeg muxer name; by default it follows the suffix. `rotate` is the clockwise display
    rotation a player applies (as a phone held upright records it). `speech_wav` replaces the sine tone and is
    padded or cut to `seconds`. `extra_metadata` goes into the container tags (for stripping tests).
    """
    path = Path(path)
    if not (audio or video):
        raise ValueError("a clip needs audio or video")
    if rotate % 90 or (rotate and not video):
        raise ValueError("rotate must be a multiple of 90 and needs video")
    rotate %= 360
    muxer = container or _MUXERS.get(path.suffix.lower())
    if muxer is None:
        raise ValueError(f"no default container for {path.name!r}; pass container=")

    cmd = [ffmpeg, "-nostdin", "-hide_banner", "-v", "error", "-y"]
    maps = []
    if video:
        cmd += ["-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={fps}:duration={seconds}"]
        maps += ["-map", f"{len(maps) // 2}:v"]
    if audio:
        if speech_wav is not None:
            cmd += ["-i", _url(speech_wav)]
        else:
            cmd += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]
        maps += ["-map", f"{len(maps) // 2}:a"]
    cmd += maps
    if video:
        cmd += ["-c:v", vcodec, *_VIDEO_OPTS.get(vcodec, []), "-pix_fmt", pix_fmt]
        if vcodec == "libx265" and muxer in ("mp4", "mov"):
            # Apple players and browsers only accept HEVC in MP4/MOV under the hvc1 tag.
            cmd += ["-tag:v", "hvc1"]
    if audio:
        cmd += ["-c:a", acodec, *_AUDIO_OPTS.get(acodec, [])]
        if speech_wav is not None:
            cmd += ["-af", "apad"]
    cmd += ["-t", str(seconds)]
    for key, value in (extra_metadata or {}).items():
        cmd += ["-metadata", f"{key}={value}"]
    if extra_metadata and muxer in ("mp4", "mov", "ipod"):
        # Without this the MP4 muxer silently drops keys it has no atom for (e.g. "make").
        cmd += ["-movflags", "use_metadata_tags"]

    if not rotate:
        _run([*cmd, "-f", muxer, _url(path)])
        return path
    tmp = path.with_name(path.name + ".unrotated")
    try:
        _run([*cmd, "-f", muxer, _url(tmp)])
        _apply_rotation(tmp, path, rotate, ffmpeg, muxer)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def make_audio(
    path: Path, seconds: float = 3, codec: str | None = None, *, cover: bool = False, ffmpeg: str = "ffmpeg"
) -> Path:
    """An audio-only file (m4a/mp3/wav/ogg by suffix); `cover` adds an attached-picture JPEG like music players do."""
    path = Path(path)
    suffix = path.suffix.lower()
    codec = codec or _AUDIO_DEFAULTS.get(suffix)
    if codec is None:
        raise ValueError(f"no default audio codec for {path.name!r}")
    if not cover:
        return make_video(path, seconds=seconds, acodec=codec, video=False, ffmpeg=ffmpeg)
    muxer = _MUXERS[suffix]
    cmd = [ffmpeg, "-nostdin", "-hide_banner", "-v", "error", "-y"]
    cmd += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]
    cmd += ["-f", "lavfi", "-i", "color=c=blue:size=64x64:duration=0.1"]
    cmd += ["-map", "0:a", "-map", "1:v", "-frames:v", "1", "-c:a", codec, *_AUDIO_OPTS.get(codec, [])]
    cmd += ["-c:v", "mjpeg", "-disposition:v:0", "attached_pic"]
    if muxer == "mp3":
        cmd += ["-id3v2_version", "3"]
    _run([*cmd, "-f", muxer, _url(path)])
    return path


def truncate(path: Path, out: Path, fraction: float = 0.5) -> Path:
    """Copy the first `fraction` of `path` to `out`, like an upload that was cut off."""
    data = Path(path).read_bytes()
    Path(out).write_bytes(data[: int(len(data) * fraction)])
    return Path(out)


def hls_playlist(path: Path, target: str) -> Path:
    """An HLS playlist whose only segment is `target` (a local path or a URL): the classic ffmpeg SSRF/LFI trick."""
    Path(path).write_text(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXT-X-MEDIA-SEQUENCE:0\n"
        f"#EXTINF:10.0,\n{target}\n#EXT-X-ENDLIST\n",
        encoding="utf-8",
    )
    return Path(path)


def ffconcat_list(path: Path, target: str) -> Path:
    """An ffconcat script naming `target`: the concat demuxer would read any file it is pointed at."""
    Path(path).write_text(f"ffconcat version 1.0\nfile '{target}'\nduration 1\n", encoding="utf-8")
    return Path(path)
