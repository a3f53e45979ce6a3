"""Media inspection and conversion with ffprobe/ffmpeg: plain functions, no Celery, Flask or database.

Uploaded files are hostile until proven otherwise. ffmpeg will happily follow an HLS playlist or an ffconcat list
to any local file or URL, and guesses formats from content, so every run here:

* is preceded by a magic-byte check (`probe` and every conversion re-check the file itself, not a stored label);
* forces the demuxer that magic check chose (``-f`` plus ``-format_whitelist``), allows only the ``file`` protocol
  and only the decoders we accept (``-codec_whitelist``), so a playlist or a rare decoder is never reached;
* names input and output as ``file:/absolute/path`` so a name starting with "-" or containing ":" stays a name;
* runs from an argument list (never a shell) with a time limit, killing the whole process group on expiry;
* strips container metadata and chapters from outputs (GPS position, phone model, owner names).

`MediaRejected` is permanent (the file is not acceptable; its reason is shown to the teacher). `MediaFailed` means
a run failed on an accepted file (worth logging, maybe retrying).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import ffmpeg as ffmpeg_python  # ffmpeg-python; plain `ffmpeg` names the binary in the signatures below
from ffmpeg.nodes import FilterableStream, Stream

from workers import renditions
from workers.renditions import Rendition

__all__ = [
    "ALLOWED_AUDIO_CODECS",
    "ALLOWED_VIDEO_CODECS",
    "Limits",
    "MediaFailed",
    "MediaRejected",
    "ProbeResult",
    "Rendered",
    "command",
    "cut",
    "extract_audio",
    "poster",
    "probe",
    "render",
    "sha256_file",
    "storyboard",
    "transcode_low",
    "transcode_web",
]

ALLOWED_VIDEO_CODECS = frozenset({"h264", "hevc", "vp8", "vp9", "av1", "mpeg4"})
ALLOWED_AUDIO_CODECS = frozenset(
    {"aac", "mp3", "opus", "vorbis", "pcm_s16le", "pcm_s24le", "pcm_f32le", "flac", "alac"}
)

# Decoder (not codec) names ffmpeg may open, passed as -codec_whitelist. Besides the accepted codecs this allows
# cover art (mjpeg, png) and subtitle decoders, because ffprobe opens a decoder for *every* stream and fails the
# whole file when one is refused; a lesson with a subtitle track must still be accepted.
_DECODERS = (
    "h264", "hevc", "vp8", "vp9", "libvpx", "libvpx-vp9", "libdav1d", "libaom-av1", "av1", "mpeg4",
    "aac", "aac_fixed", "mp3float", "mp3", "opus", "libopus", "vorbis", "libvorbis",
    "pcm_s16le", "pcm_s24le", "pcm_f32le", "flac", "alac",
    "mjpeg", "png",
    "mov_text", "subrip", "srt", "webvtt", "ass", "ssa", "text", "dvdsub", "pgssub", "dvbsub",
)  # fmt: skip

_CHUNK = 1024 * 1024
_HEAD = 4096
_STDERR_TAIL = 4000


class MediaRejected(Exception):
    """Permanent: the file is not acceptable. .reason is a specific, human sentence shown to a teacher."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class MediaFailed(Exception):
    """An ffmpeg run failed or timed out on an accepted file (.reason human, .stderr_tail for logs)."""

    def __init__(self, reason: str, stderr_tail: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.stderr_tail = stderr_tail


class _NoOutput(MediaFailed):
    """ffmpeg exited cleanly but wrote nothing (e.g. a seek past the last frame)."""


@dataclass(frozen=True)
class Limits:
    max_duration: float = 4 * 3600  # seconds
    max_pixels: int = 4096 * 2304  # width*height
    max_fps: float = 120.0
    probe_seconds: float = 60  # time limit of an ffprobe run
    run_seconds: float = 4 * 3600  # time limit of any ffmpeg run


@dataclass(frozen=True)
class ProbeResult:
    container: str  # "mp4", "mov", "m4a", "webm", "matroska", "mp3", "wav", "ogg"
    duration: float
    size: int
    sha256: str
    has_video: bool
    has_audio: bool
    video_codec: str | None
    audio_codec: str | None
    width: int | None  # as stored (before rotation)
    height: int | None
    rotation: int  # clockwise degrees a player turns the picture: 0, 90, 180, 270
    fps: float | None
    # True when the web MP4 can be made without re-encoding the picture: H.264, 8-bit yuv420p, displayed height
    # <= 1080. The sound does not matter here: transcode_web copies AAC and re-encodes anything else to AAC.
    browser_playable: bool

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    @property
    def display_size(self) -> tuple[int, int] | None:
        """(width, height) as shown to the viewer, i.e. after rotation."""
        if self.width is None or self.height is None:
            return None
        if self.rotation in (90, 270):
            return self.height, self.width
        return self.width, self.height


# --------------------------------------------------------------------------------------------------------------
# Magic-byte check


# Signatures of things people upload by mistake, so the refusal can say what the file looks like.
_OTHER_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (0, b"\xff\xd8\xff", "a JPEG image"),
    (0, b"GIF8", "a GIF image"),
    (0, b"%PDF", "a PDF document"),
    (0, b"PK\x03\x04", "a ZIP archive or an Office document"),
    (0, b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", "a Windows Media (WMV/WMA) file"),
    (0, b"FLV", "a Flash video (FLV)"),
    (0, b"fLaC", "a bare FLAC file"),
    (0, b"\x00\x00\x01\xba", "an MPEG program stream (VOB/MPG)"),
)


# ISO BMFF brands of still images (phone photos): same box structure as MP4, but not a video.
_IMAGE_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"})


def _sniff(path: Path) -> str:
    """The one demuxer ffmpeg may use for this file, chosen from its first bytes, or MediaRejected."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise MediaRejected("The file could not be found.") from None
    if not stat.S_ISREG(st.st_mode):
        # A FIFO or device would block or stream forever; only regular files are media.
        raise MediaRejected("This is not a regular file.")
    if st.st_size == 0:
        raise MediaRejected("This file is empty.")
    with open(path, "rb") as f:
        head = f.read(_HEAD)

    if head[4:8] == b"ftyp" and head[8:12] in _IMAGE_BRANDS:
        raise MediaRejected("This is not a video or audio file we can read (it looks like a HEIC or AVIF photo).")
    if head[4:8] == b"ftyp" or head[4:8] in (b"moov", b"mdat", b"free", b"wide", b"skip"):
        _check_bmff_boxes(path, st.st_size)
        return "mov"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "matroska"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        raise MediaRejected("AVI files are not accepted. Please export the video as MP4 (H.264).")
    if head[:4] == b"OggS":
        return "ogg"
    if head[:3] == b"ID3" or _is_mpeg_audio_frame(head):
        return "mp3"

    text = _as_text(head)
    if text is not None:
        stripped = text.lstrip("\ufeff \t\r\n")
        if stripped.startswith("#EXTM3U") or stripped.startswith("#EXTINF"):
            raise MediaRejected("This file is a playlist, not a video: playlists are not accepted.")
        if stripped.startswith("ffconcat version"):
            raise MediaRejected("This file is a playlist (an ffconcat list), not a video: playlists are not accepted.")
        raise MediaRejected("This is not a video or audio file we can read (it looks like text).")
    if len(head) >= 189 and head[0] == 0x47 and head[188] == 0x47:
        raise MediaRejected("MPEG transport streams (.ts) are not accepted. Please export the video as MP4 (H.264).")
    for offset, magic, what in _OTHER_SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            raise MediaRejected(f"This is not a video or audio file we can read (it looks like {what}).")
    raise MediaRejected("This is not a video or audio file we can read.")


def _is_mpeg_audio_frame(head: bytes) -> bool:
    """An MPEG audio frame header at offset 0 (an MP3 without an ID3 tag)."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version = (head[1] >> 3) & 0b11
    layer = (head[1] >> 1) & 0b11
    bitrate = head[2] >> 4
    sample_rate = (head[2] >> 2) & 0b11
    # Reserved values: rules out ADTS AAC (layer 0) and random 0xFF runs.
    return version != 0b01 and layer != 0b00 and bitrate not in (0b0000, 0b1111) and sample_rate != 0b11


def _as_text(head: bytes) -> str | None:
    """The head decoded as text when it plausibly is text (UTF-8, no NULs, hardly any control characters)."""
    if b"\x00" in head:
        return None
    text = head.decode("utf-8", errors="replace")
    if text.count("\ufffd") > 3:  # allow a multi-byte character cut at the buffer end
        return None
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\r\n\f")
    return text if controls <= len(text) // 100 else None


def _check_bmff_boxes(path: Path, size: int) -> None:
    """Walk the top-level ISO BMFF boxes: a box reaching past the end means the upload was cut off.

    ffprobe reads a half file with a front index without complaint and reports the full duration; the box sizes
    are the cheap way to know. A walk that meets garbage stops without a verdict and leaves the file to ffprobe.
    """
    pos = 0
    seen: set[bytes] = set()
    with open(path, "rb") as f:
        for _ in range(100_000):
            if pos + 8 > size:
                break
            f.seek(pos)
            header = f.read(16)
            box_size = int.from_bytes(header[:4], "big")
            kind = header[4:8]
            if box_size == 1 and len(header) == 16:
                box_size = int.from_bytes(header[8:16], "big")
            elif box_size == 0:
                box_size = size - pos
            if box_size < 8 or not all(32 <= b < 127 for b in kind):
                return
            if pos + box_size > size:
                raise MediaRejected(
                    "The file is incomplete or damaged: it ends after "
                    f"{_bytes_text(size)} but its contents say it should be at least {_bytes_text(pos + box_size)}. "
                    "The upload or the recording was probably cut off; please upload the complete file."
                )
            seen.add(kind)
            pos += box_size
        else:
            return
    if b"moov" not in seen:
        raise _missing_index()


def _missing_index() -> MediaRejected:
    return MediaRejected(
        "The file is incomplete or damaged: its index (the 'moov' box) is missing, which happens when a recording "
        "is interrupted or an upload is cut off. Please upload the complete file."
    )


# --------------------------------------------------------------------------------------------------------------
# Command-line building blocks


@lru_cache(maxsize=16)
def _help_text(binary: str) -> str:
    try:
        proc = subprocess.run(
            [binary, "-hide_banner", "-h", "full"], capture_output=True, timeout=30, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return proc.stdout.decode("utf-8", errors="replace")


def _supports(binary: str, option: str) -> bool:
    """Whether this ffmpeg/ffprobe build knows an AVOption (the whitelists arrived in different versions)."""
    return re.search(rf"^\s*-{re.escape(option)}\s", _help_text(binary), re.MULTILINE) is not None


def _url(path: Path) -> str:
    return "file:" + os.path.abspath(path)


def _have(binary: str) -> bool:
    return bool(shutil.which(binary)) or Path(binary).is_file()


def _input_options(binary: str, demuxer: str) -> dict[str, str]:
    """The options that lock an input down: the one demuxer the magic check chose, our decoders, local files only."""
    options = {"format": demuxer}  # -f
    if _supports(binary, "format_whitelist"):
        options["format_whitelist"] = demuxer
    if _supports(binary, "codec_whitelist"):
        options["codec_whitelist"] = ",".join(_DECODERS)
    options["protocol_whitelist"] = "file"
    return options


def _probe_command(ffprobe: str, demuxer: str, path: Path) -> list[str]:
    # ffmpeg-python describes ffmpeg graphs (inputs to outputs); ffprobe has no output, so its list is spelled
    # here, from the same input options as every ffmpeg run.
    options = _input_options(ffprobe, demuxer)
    args = [ffprobe, "-v", "error", "-print_format", "json", "-show_format", "-show_streams"]
    args += ["-f", options.pop("format")]
    for name, value in options.items():
        args += [f"-{name}", value]
    return [*args, "-i", _url(path)]


def _duration_from_packets(ffprobe: str, demuxer: str, path: Path, limits: Limits) -> float | None:
    """The end of the last packet, in seconds (a file whose header does not say how long it is)."""
    args = _probe_command(ffprobe, demuxer, path)
    args = [args[0], "-v", "error", "-show_entries", "packet=pts_time,duration_time", "-of", "csv=p=0",
            *args[args.index("-show_streams") + 1:]]
    try:
        proc = subprocess.run(args, capture_output=True, timeout=limits.probe_seconds, stdin=subprocess.DEVNULL,
                              start_new_session=True)
    except subprocess.TimeoutExpired:
        return None
    end = 0.0
    for line in proc.stdout.decode("ascii", errors="replace").splitlines():
        parts = [_float(p) for p in line.split(",")[:2]]
        if parts and parts[0] is not None:
            end = max(end, parts[0] + (parts[1] or 0.0 if len(parts) > 1 else 0.0))
    return end or None


def _tail(data: bytes | str) -> str:
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    return text[-_STDERR_TAIL:]


def _last_line(text: str, path: Path | None = None) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    line = lines[-1] if lines else "no error message"
    line = re.sub(r"^\[[^\]]* @ 0x[0-9a-f]+\]\s*", "", line)  # "[mov,mp4,... @ 0x55d1...]" means nothing to a reader
    if path is not None:
        # Server paths mean nothing to a teacher and should not leak into messages.
        line = line.replace(_url(path) + ": ", "").replace(_url(path), "the file")
    return line


def _seconds_text(seconds: float) -> str:
    if seconds < 60:
        value = float(f"{seconds:.3g}")
        return f"{value:g} second" + ("" if value == 1 else "s")
    total = round(seconds)
    parts = []
    for unit, size in (("hour", 3600), ("minute", 60), ("second", 1)):
        count, total = divmod(total, size)
        if count:
            parts.append(f"{count} {unit}" + ("" if count == 1 else "s"))
    return " ".join(parts)


def _widescreen_example(pixels: int) -> str:
    """ " (for example 4096×2304)" when the pixel budget is exactly a 16:9 size, else nothing."""
    width = math.isqrt(pixels * 16 // 9)
    height = width * 9 // 16
    return f" (for example {width}×{height})" if width * height == pixels and width % 16 == 0 else ""


def _bytes_text(n: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


def _codec_refusal(kind: str, name: str, long_name: str | None = None) -> MediaRejected:
    label = f"{long_name} ({name})" if long_name and long_name != name else name
    return MediaRejected(
        f"The {kind} in this file is encoded as {label}, which we do not accept. "
        "Please export it as MP4 with H.264 video and AAC sound."
    )


# --------------------------------------------------------------------------------------------------------------
# probe


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _fraction(value: str | None) -> float | None:
    if not value or "/" not in value:
        return None
    num, _, den = value.partition("/")
    try:
        n, d = float(num), float(den)
    except ValueError:
        return None
    return n / d if d and n > 0 else None


def _float(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _rotation(stream: dict) -> int:
    for side in stream.get("side_data_list") or []:
        angle = _float(side.get("rotation"))
        if angle is not None:
            # ffprobe prints the display matrix angle counter-clockwise; a player turns the picture by its negation
            # (phones write -90 for an upright recording, the legacy "rotate" tag said 90).
            return int(round(-angle / 90) * 90) % 360
    tag = _float((stream.get("tags") or {}).get("rotate"))
    return int(round(tag / 90) * 90) % 360 if tag is not None else 0


def _container(demuxer: str, head: bytes, has_video: bool) -> str:
    if demuxer == "mov":
        brand = head[8:12] if head[4:8] == b"ftyp" else b"qt  "
        if brand == b"qt  ":
            return "mov"
        if brand in (b"M4A ", b"M4B ", b"M4P ") or not has_video:
            return "m4a"
        return "mp4"
    if demuxer == "matroska":
        return "webm" if b"webm" in head[:64] else "matroska"
    return demuxer


def probe(path: Path, *, ffprobe: str = "ffprobe", limits: Limits = Limits()) -> ProbeResult:
    """Check that `path` is a video or audio file we accept and describe it; MediaRejected says why not."""
    path = Path(path)
    demuxer = _sniff(path)
    if _have(ffprobe):
        cmd = _probe_command(ffprobe, demuxer, path)
    else:
        # No ffprobe binary (imageio-ffmpeg ships only ffmpeg): PyAV in a child process, same whitelists.
        cmd = [sys.executable, "-m", "workers.probe_av", demuxer, str(path.resolve()), ",".join(_DECODERS)]
    try:
        proc = subprocess.run(
            cmd, capture_output=True, timeout=limits.probe_seconds, stdin=subprocess.DEVNULL, start_new_session=True
        )
    except subprocess.TimeoutExpired:
        raise MediaRejected(
            f"Reading this file took longer than {_seconds_text(limits.probe_seconds)}, so we stopped. "
            "The file may be damaged."
        ) from None
    stderr = proc.stderr.decode("utf-8", errors="replace")
    if proc.returncode != 0:
        refused = re.search(r"Codec \((\S+)\) not on whitelist", stderr)
        if refused:
            raise _codec_refusal("stream", refused.group(1))
        if "moov atom not found" in stderr:
            raise _missing_index()
        raise MediaRejected(f"The file is incomplete or damaged: {_last_line(stderr, path)}.")
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        raise MediaRejected("The file is incomplete or damaged: its description could not be read.") from None

    streams = data.get("streams") or []
    fmt = data.get("format") or {}
    video = next(
        (s for s in streams if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")),
        None,
    )
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    if video is None and audio is None:
        raise MediaRejected("This file has neither picture nor sound.")
    if video is not None and video.get("codec_name") not in ALLOWED_VIDEO_CODECS:
        raise _codec_refusal("video", str(video.get("codec_name")), video.get("codec_long_name"))
    if audio is not None and audio.get("codec_name") not in ALLOWED_AUDIO_CODECS:
        raise _codec_refusal("sound", str(audio.get("codec_name")), audio.get("codec_long_name"))

    duration = _float(fmt.get("duration"))
    if not duration:
        durations = [_float(s.get("duration")) for s in (video, audio) if s]
        duration = max((d for d in durations if d), default=None)
    if not duration and demuxer == "matroska" and _have(ffprobe):
        # A browser's MediaRecorder writes WebM as it records and never goes back to note the duration: read it
        # off the last packet's timestamp instead.
        duration = _duration_from_packets(ffprobe, demuxer, path, limits)
    if not duration or duration <= 0:
        raise MediaRejected("The file is incomplete or damaged: we could not tell how long the recording is.")
    if duration > limits.max_duration:
        length, longest = _seconds_text(duration), _seconds_text(limits.max_duration)
        if length == longest:  # just over the limit: "4 hours long; the longest is 4 hours" would read as a bug
            length, longest = f"{duration:,.1f} seconds", f"{limits.max_duration:,.0f} seconds"
        raise MediaRejected(f"The recording is {length} long; the longest we accept is {longest}.")

    width = height = fps = None
    rotation = 0
    if video is not None:
        width, height = int(video.get("width") or 0), int(video.get("height") or 0)
        if width <= 0 or height <= 0:
            raise MediaRejected("The file is incomplete or damaged: the size of the picture could not be read.")
        if width * height > limits.max_pixels:
            raise MediaRejected(
                f"The picture is {width}×{height} ({width * height:,} pixels); the most we accept is "
                f"{limits.max_pixels:,} pixels{_widescreen_example(limits.max_pixels)}."
            )
        fps = _fraction(video.get("avg_frame_rate")) or _fraction(video.get("r_frame_rate"))
        if fps is not None and fps > limits.max_fps:
            raise MediaRejected(
                f"The video has {round(fps, 2):g} frames per second; the most we accept is {limits.max_fps:g}."
            )
        rotation = _rotation(video)

    displayed_height = (width if rotation in (90, 270) else height) if video is not None else None
    bit_depth = video.get("bits_per_raw_sample") if video is not None else None
    browser_playable = bool(
        video is not None
        and video.get("codec_name") == "h264"
        and video.get("pix_fmt") == "yuv420p"
        and bit_depth in (None, "8", 8)
        and displayed_height is not None
        and displayed_height <= 1080
    )
    with open(path, "rb") as f:
        head = f.read(64)
    return ProbeResult(
        container=_container(demuxer, head, video is not None),
        duration=duration,
        size=path.stat().st_size,
        sha256=sha256_file(path),
        has_video=video is not None,
        has_audio=audio is not None,
        video_codec=video.get("codec_name") if video is not None else None,
        audio_codec=audio.get("codec_name") if audio is not None else None,
        width=width,
        height=height,
        rotation=rotation,
        fps=fps,
        browser_playable=browser_playable,
    )


# --------------------------------------------------------------------------------------------------------------
# Building ffmpeg commands (ffmpeg-python) and running them (our own code)
#
# ffmpeg-python builds each argument list from a graph: the locked-down input, the streams and filters taken from
# it, one output. It never runs anything here: `_run_ffmpeg` does, with our time limit, process group and progress
# parsing. Every command gets the same global flags, input options and metadata stripping from `_command`, so a
# rendition cannot leave one out (ffmpeg-python refuses a second value for an option that is already set).

Options = dict[str, object]


@dataclass(frozen=True)
class _Job:
    """One ffmpeg run: what it does (in a teacher's words), extra input options, and the output it makes."""

    what: str
    # From the locked-down input stream: the streams to write, in order, and the output's options.
    build: Callable[[FilterableStream], tuple[Sequence[Stream], Options]]
    input_options: Options = dataclasses.field(default_factory=dict)


def _global_args(binary: str, *, progress: bool) -> list[str]:
    args = ["-nostdin", "-hide_banner", "-v", "error", "-progress", "pipe:1", "-nostats"]
    if progress and _supports(binary, "stats_period"):
        # The default half-second period gives a short clip only one or two updates.
        args += ["-stats_period", "0.2"]
    return args


def _command(
    binary: str, demuxer: str, src: Path, dst: Path, job: _Job, *, limits: Limits, progress: bool = False
) -> list[str]:
    """The argument list of one run: global flags, the locked-down input, the job's output, no metadata."""
    # -t on the input: a file whose streams outlast what its container claimed stops at the longest we accept.
    cap = {"t": f"{limits.max_duration:.3f}".rstrip("0").rstrip(".")}
    source = ffmpeg_python.input(_url(src), **_input_options(binary, demuxer), **cap, **job.input_options)
    streams, options = job.build(source)
    output = ffmpeg_python.output(*streams, _url(dst), **options, map_metadata=-1, map_chapters=-1)
    return output.global_args(*_global_args(binary, progress=progress)).compile(cmd=binary, overwrite_output=True)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _run_ffmpeg(
    binary: str,
    src: Path,
    dst: Path,
    job: _Job,
    *,
    duration: float,
    limits: Limits,
    progress: Callable[[float], None] | None = None,
) -> None:
    """Run one ffmpeg conversion src -> dst under the safety rules of this module.

    An exception raised by `progress` stops ffmpeg and propagates, so a caller can cancel a long run from there.
    A failed run leaves no partial `dst` behind.
    """
    src, dst = Path(src), Path(dst)
    cmd = _command(binary, _sniff(src), src, dst, job, limits=limits, progress=progress is not None)
    what = job.what

    timed_out = threading.Event()
    # stderr goes to a file, not a pipe: nobody reads it while stdout is being parsed, and a full pipe would block.
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, start_new_session=True
        )

        def expire() -> None:
            if proc.poll() is None:  # an exited, reaped pid may already belong to someone else
                timed_out.set()
                _kill_group(proc)

        timer = threading.Timer(limits.run_seconds, expire)
        timer.daemon = True
        timer.start()
        try:
            reported = 0.0
            assert proc.stdout is not None
            for raw in proc.stdout:
                key, _, value = raw.decode("ascii", errors="replace").strip().partition("=")
                if progress is None:
                    continue
                fraction = None
                if key in ("out_time_us", "out_time_ms"):  # both are microseconds (out_time_ms is misnamed)
                    micros = _float(value)
                    if micros is not None and duration > 0:
                        fraction = min(max(micros / 1e6 / duration, 0.0), 1.0)
                elif key == "progress" and value == "end":
                    fraction = 1.0
                if fraction is not None and fraction > reported:
                    reported = fraction
                    progress(fraction)
            returncode = proc.wait()
        except BaseException:
            _kill_group(proc)
            proc.wait()
            dst.unlink(missing_ok=True)
            raise
        finally:
            timer.cancel()
        err.seek(0, os.SEEK_END)
        err.seek(max(0, err.tell() - 64 * 1024))
        stderr = _tail(err.read())

    if timed_out.is_set() and returncode != 0:
        dst.unlink(missing_ok=True)
        raise MediaFailed(
            f"Processing ({what}) took longer than the limit of {_seconds_text(limits.run_seconds)} and was stopped.",
            stderr,
        )
    if returncode != 0:
        dst.unlink(missing_ok=True)
        raise MediaFailed(f"ffmpeg could not {what}: {_last_line(stderr, src)}", stderr)
    if not dst.exists() or dst.stat().st_size == 0:
        dst.unlink(missing_ok=True)
        raise _NoOutput(f"ffmpeg could not {what}: it produced no output.", stderr)
    if progress is not None and reported < 1.0:
        progress(1.0)


def _require_video(info: ProbeResult, what: str) -> tuple[int, int]:
    size = info.display_size
    if not info.has_video or size is None:
        raise ValueError(f"cannot make {what} of a file without video")
    return size


def _even(n: float) -> int:
    return max(2, int(n) // 2 * 2)


# --------------------------------------------------------------------------------------------------------------
# Renditions: one maker per kind of row in workers.renditions


@dataclass(frozen=True)
class Rendered:
    info: dict  # recorded on the asset: {"mode": "remux" | "encode"} for a rendition that may copy the picture
    sidecar: str | None = None  # the text of the rendition's sidecar file (the storyboard's WebVTT track)


def _audio_encode(r: Rendition) -> Options:
    # The sound is mapped as optional ("a:0?"), which a filter graph input cannot be, so the layout is an -af:
    # mono stays mono, anything with more channels is mixed down to stereo (ffmpeg picks the closest layout).
    layout = "aformat=channel_layouts=mono|stereo"
    return {"c:a": r.audio_codec, "b:a": r.audio_bitrate, "ar": r.sample_rate, "af": layout}


def _copies_picture(r: Rendition, info: ProbeResult) -> bool:
    _, displayed_height = _require_video(info, f"the {r.name} video")
    return r.copy_when_playable and info.browser_playable and (r.height is None or displayed_height <= r.height)


def _video_job(r: Rendition, info: ProbeResult) -> _Job:
    """An MP4: the picture copied when the browser can play it as it is (H.264 within the height), else encoded.

    A copy keeps the display matrix, so a rotated phone video stays upright; AAC sound is copied with it, other
    sound re-encoded, which is cheap and still counts as a copy because the expensive part, the picture, was not
    touched."""
    _, displayed_height = _require_video(info, f"the {r.name} video")
    copy = _copies_picture(r, info)

    def build(source: FilterableStream) -> tuple[list, Options]:
        video = source["V:0"]
        options: Options = {"sn": None, "dn": None, "movflags": "+faststart", "format": r.container}
        if copy:
            options["c:v"] = "copy"
        else:
            # ffmpeg turns the picture upright before filters run (autorotate), so the scale works on displayed size.
            height = _even(min(displayed_height, r.height or displayed_height))
            video = video.filter("scale", -2, height, **({"flags": r.scale_flags} if r.scale_flags else {}))
            options |= {"c:v": r.video_codec, "preset": r.preset, "crf": r.crf, "pix_fmt": "yuv420p"}
            if r.tune:
                options["tune"] = r.tune
        options |= {"c:a": "copy"} if copy and info.audio_codec == "aac" else _audio_encode(r)
        return [video, source["a:0?"]], options

    return _Job(r.what_copy if copy and r.what_copy else r.what, build)


def _poster_job(r: Rendition, info: ProbeResult, *, seek: bool = True) -> _Job:
    """A JPEG still from about 10% into the video (the opening frames are often black or a title card)."""
    displayed_width, _ = _require_video(info, "a poster")
    target = _even(min(displayed_width, r.width or displayed_width))
    # Very short clips have nothing better than frame 0.
    at = info.duration * 0.1 if info.duration >= 2 else 0.0

    def build(source: FilterableStream) -> tuple[list, Options]:
        # The raw mjpeg muxer writes the one frame as a plain JPEG; the image2 muxer would read "%d" in names.
        options: Options = {"an": None, "sn": None, "dn": None, "frames:v": 1, "c:v": r.video_codec, "q:v": r.quality,
                            "format": r.container}  # fmt: skip
        return [source["V:0"].filter("scale", target, -2)], options

    return _Job(r.what, build, {"ss": f"{at:.3f}"} if seek else {})


_NICE_INTERVALS = (1, 2, 5, 10, 15, 20, 30, 60, 120, 180, 300, 600, 900, 1200, 1800, 3600)
_MAX_TILES = 100


@dataclass(frozen=True)
class _Grid:
    interval: float
    count: int
    cols: int
    rows: int
    tile_w: int
    tile_h: int


def _grid(r: Rendition, info: ProbeResult, interval: float | None) -> _Grid:
    displayed_width, displayed_height = _require_video(info, "a storyboard")
    duration = info.duration
    if interval is None:
        interval = next((i for i in _NICE_INTERVALS if math.ceil(duration / i) <= _MAX_TILES), duration / _MAX_TILES)
    if interval <= 0:
        raise ValueError("interval must be positive")
    # A tail shorter than 5% of an interval is not worth its own tile; the last cue simply runs to the end.
    count = max(1, math.ceil(duration / interval - 0.05))
    cols = max(1, min(r.columns or 10, count))
    rows = math.ceil(count / cols)
    tile_w = _even(r.width or 160)
    tile_h = _even(round(tile_w * displayed_height / displayed_width))
    if rows * tile_h > 65_000 or cols * tile_w > 65_000:
        raise ValueError(f"a storyboard of {count} tiles would exceed the JPEG size limit; use a longer interval")
    return _Grid(interval, count, cols, rows, tile_w, tile_h)


def _storyboard_job(r: Rendition, info: ProbeResult, grid: _Grid) -> _Job:
    def build(source: FilterableStream) -> tuple[list, Options]:
        # tpad repeats the last frame for one more interval so the fps filter always has a frame for the last tile
        # (it rounds at the end of the stream and could otherwise leave that tile black).
        tiles = (
            source["V:0"]
            .filter("tpad", stop_mode="clone", stop_duration=f"{grid.interval:.3f}")
            .filter("fps", f"1/{grid.interval:.6f}")
            .filter("scale", grid.tile_w, grid.tile_h)
            .filter("setsar", 1)
            .filter("tile", f"{grid.cols}x{grid.rows}")
        )
        options: Options = {"an": None, "sn": None, "dn": None, "frames:v": 1, "c:v": r.video_codec, "q:v": r.quality,
                            "format": r.container}  # fmt: skip
        return [tiles], options

    # With tiles minutes apart, decoding only keyframes is many times faster and the picture is near enough.
    return _Job(r.what, build, {"skip_frame": "nokey"} if grid.interval >= 30 else {})


def _vtt_time(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def _thumbnails_track(grid: _Grid, duration: float, sprite_url: str) -> str:
    cues = ["WEBVTT", ""]
    for i in range(grid.count):
        start = i * grid.interval
        end = duration if i == grid.count - 1 else min((i + 1) * grid.interval, duration)
        x, y = (i % grid.cols) * grid.tile_w, (i // grid.cols) * grid.tile_h
        tile = f"{sprite_url}#xywh={x},{y},{grid.tile_w},{grid.tile_h}"
        cues += [f"{_vtt_time(start)} --> {_vtt_time(end)}", tile, ""]
    return "\n".join(cues)


def _audio_job(r: Rendition, info: ProbeResult) -> _Job:
    if not info.has_audio:
        raise ValueError("cannot extract audio from a file without sound")

    def build(source: FilterableStream) -> tuple[list, Options]:
        return [source["a:0"]], {"vn": None, "sn": None, "dn": None, "ac": r.channels, "ar": r.sample_rate,
                                 "c:a": r.audio_codec, "format": r.container}  # fmt: skip

    return _Job(r.what, build)


def _job(r: Rendition, info: ProbeResult) -> _Job:
    if r.kind == "video":
        return _video_job(r, info)
    if r.kind == "image":
        return _poster_job(r, info)
    if r.kind == "sprite":
        return _storyboard_job(r, info, _grid(r, info, None))
    if r.kind == "audio":
        return _audio_job(r, info)
    raise ValueError(f"no maker for renditions of kind {r.kind!r}")


def command(
    src: Path, dst: Path, info: ProbeResult, rendition: Rendition, *, ffmpeg: str = "ffmpeg", limits: Limits = Limits()
) -> list[str]:
    """The argument list `render` runs for this rendition (the first try, for the poster), without running it."""
    return _command(ffmpeg, _sniff(Path(src)), Path(src), Path(dst), _job(rendition, info), limits=limits)


def render(
    src: Path,
    dst: Path,
    info: ProbeResult,
    rendition: Rendition,
    *,
    ffmpeg: str = "ffmpeg",
    progress: Callable[[float], None] | None = None,
    limits: Limits = Limits(),
    sprite_url: str | None = None,
    interval: float | None = None,
) -> Rendered:
    """Make one rendition (a row of workers.renditions) of `src` at `dst`.

    `sprite_url` is how the storyboard's WebVTT track names the sprite (its file name by default); `interval`
    overrides the storyboard's automatic one (the smallest round interval giving at most 100 tiles)."""
    run = functools.partial(_run_ffmpeg, ffmpeg, src, dst, duration=info.duration, limits=limits, progress=progress)
    if rendition.kind == "video":
        run(_video_job(rendition, info))
        mode = "remux" if _copies_picture(rendition, info) else "encode"
        return Rendered({"mode": mode} if rendition.copy_when_playable else {})
    if rendition.kind == "image":
        try:
            run(_poster_job(rendition, info))
        except _NoOutput:
            if info.duration < 2:
                raise
            # The container duration can outlast the picture (longer sound track): fall back to the first frame.
            run(_poster_job(rendition, info, seek=False))
        return Rendered({})
    if rendition.kind == "sprite":
        grid = _grid(rendition, info, interval)
        run(_storyboard_job(rendition, info, grid))
        return Rendered({}, _thumbnails_track(grid, info.duration, sprite_url or rendition.filename))
    run(_job(rendition, info))
    return Rendered({})


# --------------------------------------------------------------------------------------------------------------
# The renditions by name, with their sizes adjustable (tests, and callers outside the pipeline)


def transcode_web(
    src: Path,
    dst: Path,
    info: ProbeResult,
    *,
    ffmpeg: str = "ffmpeg",
    max_height: int = 1080,
    progress: Callable[[float], None] | None = None,
    limits: Limits = Limits(),
) -> str:
    """Write the MP4 a browser plays to `dst`; returns "remux" when the picture was copied, else "encode"."""
    rendition = dataclasses.replace(renditions.by_name("web"), height=max_height)
    return render(src, dst, info, rendition, ffmpeg=ffmpeg, progress=progress, limits=limits).info["mode"]


def transcode_low(
    src: Path,
    dst: Path,
    info: ProbeResult,
    *,
    ffmpeg: str = "ffmpeg",
    height: int = 360,
    progress: Callable[[float], None] | None = None,
    limits: Limits = Limits(),
) -> None:
    """Write a small MP4 (displayed height `height`, never upscaled) for slow connections."""
    rendition = dataclasses.replace(renditions.by_name("low"), height=height)
    render(src, dst, info, rendition, ffmpeg=ffmpeg, progress=progress, limits=limits)


def cut(
    src: Path,
    dst: Path,
    start: float,
    end: float,
    *,
    has_video: bool = True,
    ffmpeg: str = "ffmpeg",
    limits: Limits = Limits(),
) -> None:
    """Cut start..end of a rendition into a file of its own (an MP4, or M4A for audio-only lessons).

    Re-encoded rather than stream-copied so that the clip starts exactly at `start`, not at the keyframe
    before it: a copied cut would show seconds of the lesson its recipient was not given."""
    length = max(0.0, end - start)

    def build(source: FilterableStream) -> tuple[list, Options]:
        options: Options = {"t": f"{length:.3f}", "sn": None, "dn": None}
        if has_video:
            options |= {"c:v": "libx264", "preset": "veryfast", "crf": 23, "pix_fmt": "yuv420p"}
        options |= {"c:a": "aac", "b:a": "128k", "movflags": "+faststart", "format": "mp4" if has_video else "ipod"}
        return [source["V:0"], source["a:0?"]] if has_video else [source["a:0?"]], options

    job = _Job("cut the clip", build, {"ss": f"{start:.3f}"})
    _run_ffmpeg(ffmpeg, src, dst, job, duration=length, limits=limits)


def voice(src: Path, dst: Path, *, ffmpeg: str = "ffmpeg", limits: Limits = Limits()) -> None:
    """A student's turn in a rehearsal scenario (espeak-ng's WAV, or the author's own recording) as a small mono
    M4A that every browser plays."""

    def build(source: FilterableStream) -> tuple[list, Options]:
        return [source["a:0"]], {"c:a": "aac", "b:a": "64k", "ac": 1, "ar": 44100, "vn": None, "sn": None,
                                 "dn": None, "movflags": "+faststart", "format": "ipod"}

    _run_ffmpeg(ffmpeg, src, dst, _Job("convert the student's voice", build), duration=0.0, limits=limits)


def poster(
    src: Path, dst: Path, info: ProbeResult, *, ffmpeg: str = "ffmpeg", width: int = 1280, limits: Limits = Limits()
) -> None:
    """Write a JPEG still from about 10% into the video, at most `width` pixels wide."""
    rendition = dataclasses.replace(renditions.by_name("poster"), width=width)
    render(src, dst, info, rendition, ffmpeg=ffmpeg, limits=limits)


def storyboard(
    src: Path,
    sprite_dst: Path,
    info: ProbeResult,
    *,
    sprite_url: str,
    ffmpeg: str = "ffmpeg",
    interval: float | None = None,
    tile_width: int = 160,
    columns: int = 10,
    limits: Limits = Limits(),
) -> str:
    """Write one JPEG sprite of thumbnails every `interval` seconds; return the WebVTT thumbnails track for it.

    Without `interval`, the smallest round interval (1 s, 2 s, 5 s, ... 1 h) giving at most 100 tiles is used.
    """
    rendition = dataclasses.replace(renditions.by_name("storyboard"), width=tile_width, columns=columns)
    done = render(src, sprite_dst, info, rendition, ffmpeg=ffmpeg, limits=limits, sprite_url=sprite_url,
                  interval=interval)  # fmt: skip
    assert done.sidecar is not None
    return done.sidecar


def extract_audio(
    src: Path, dst: Path, info: ProbeResult, *, ffmpeg: str = "ffmpeg", limits: Limits = Limits()
) -> None:
    """Write the sound as 16 kHz mono 16-bit PCM WAV (what speech recognition wants)."""
    render(src, dst, info, renditions.by_name("audio"), ffmpeg=ffmpeg, limits=limits)
