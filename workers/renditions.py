"""What the transcode and audio steps make of an accepted upload: one row per rendition, read by the pipeline.

Encoding profiles as data (MediaCMS's idea): to change a bitrate, a size or a preset, or to add a rendition,
edit this table; `workers.media.render` turns a row into an ffmpeg command and `workers.pipeline` loops over
the rows in order, storing each output under ``videos/<public id>/<step>/<filename>`` as soon as it exists.

No Celery, Flask or database here, so the table and the order it gives are testable on their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from workers.media import ProbeResult

__all__ = ["PLAYABLE", "RENDITIONS", "Rendition", "Sidecar", "by_name", "plan", "storage_key"]

Kind = Literal["video", "image", "sprite", "audio"]


@dataclass(frozen=True)
class Sidecar:
    """A second file written with a rendition (the storyboard's WebVTT track), stored as an asset of its own."""

    name: str  # asset kind
    filename: str
    content_type: str


@dataclass(frozen=True)
class Rendition:
    name: str  # the asset kind it is stored as ("web", "low", ...); the player and clips look assets up by it
    kind: Kind  # which maker in workers.media builds it
    step: str  # the pipeline step whose folder holds it: videos/<id>/<step>/<filename>
    filename: str
    content_type: str
    container: str  # ffmpeg muxer
    order: int  # position in the step; `plan` may move the first playable rendition to the front
    what: str  # what making it does, in a teacher's words: "ffmpeg could not <what>: ..."
    video_codec: str | None = None  # encoder; None for a rendition without picture
    audio_codec: str | None = None  # encoder; None for a rendition without sound
    height: int | None = None  # displayed height at most (never upscaled)
    width: int | None = None  # displayed width at most (stills and storyboard tiles)
    columns: int | None = None  # tiles across a storyboard sprite
    crf: int | None = None
    preset: str | None = None  # x264 preset
    tune: str | None = None  # x264 tune
    scale_flags: str | None = None  # swscale's filter when the picture is made smaller (ffmpeg's default: bicubic)
    quality: int | None = None  # -q:v for JPEG (2 best .. 31 worst)
    audio_bitrate: str | None = None
    sample_rate: int | None = None
    channels: int | None = None  # None: mono stays mono, anything wider becomes stereo
    # The browser can play the picture as uploaded (H.264 within `height`): copy it instead of encoding.
    copy_when_playable: bool = False
    what_copy: str | None = None  # `what` when the picture is copied
    # Played before anything else exists when the picture must be encoded; made first, so the lesson is
    # watchable as early as possible (a copied web rendition takes seconds and goes first anyway).
    first_playable: bool = False
    needs_video: bool = True
    needs_audio: bool = False
    sidecar: Sidecar | None = None
    # Made for a rehearsal's recording too. A rehearsal is a minute or two from a laptop's camera, watched and
    # transcribed right after "stop": the low rendition plays it, so the full-size copy and the storyboard are left
    # out and the transcript starts sooner.
    rehearsal: bool = True

    def key(self, public_id: str) -> str:
        return storage_key(public_id, self.step, self.filename)


RENDITIONS: tuple[Rendition, ...] = (
    Rendition(
        "web", "video", "transcode", "web.mp4", "video/mp4", container="mp4", order=1,
        what="convert the video for the web", what_copy="repackage the video for the web",
        video_codec="libx264", audio_codec="aac", height=1080, crf=23, preset="veryfast",
        audio_bitrate="128k", sample_rate=48000, copy_when_playable=True, rehearsal=False,
    ),
    Rendition(
        "low", "video", "transcode", "low.mp4", "video/mp4", container="mp4", order=2,
        what="make the low-bandwidth video",
        # superfast, not veryfast: this is what a teacher waits for after uploading a phone video. Decoding HEVC
        # at full size costs as much as this encode, so the preset is the part that can give: 360p from a 120 s
        # 720p HEVC file takes about 15% less CPU time, for a larger file at the same crf. Bilinear scaling, not
        # bicubic: at 360p its softer picture costs about 8% less CPU and makes a file 16% smaller (same file).
        video_codec="libx264", audio_codec="aac", height=360, crf=28, preset="superfast", scale_flags="bilinear",
        audio_bitrate="96k", sample_rate=48000, first_playable=True,
    ),
    Rendition(
        "poster", "image", "transcode", "poster.jpg", "image/jpeg", container="mjpeg", order=3,
        what="make the poster image",
        video_codec="mjpeg", width=1280, quality=3,
    ),
    Rendition(
        "storyboard", "sprite", "transcode", "storyboard.jpg", "image/jpeg", container="mjpeg", order=4,
        what="make the storyboard", video_codec="mjpeg", width=160, columns=10, quality=5,
        sidecar=Sidecar("storyboard_vtt", "storyboard.vtt", "text/vtt"), rehearsal=False,
    ),
    Rendition(
        "audio", "audio", "audio", "speech.wav", "audio/wav", container="wav", order=5, what="extract the sound",
        audio_codec="pcm_s16le", sample_rate=16000, channels=1, needs_video=False, needs_audio=True,
    ),
)  # fmt: skip

# Renditions a player (or a clip cut) can use, best first.
PLAYABLE: tuple[str, ...] = tuple(r.name for r in sorted(RENDITIONS, key=lambda r: r.order) if r.kind == "video")


def by_name(name: str) -> Rendition:
    return next(r for r in RENDITIONS if r.name == name)


def storage_key(public_id: str, step: str, filename: str) -> str:
    return f"videos/{public_id}/{step}/{filename}"


def plan(info: ProbeResult, renditions: tuple[Rendition, ...] = RENDITIONS, *,
         purpose: str = "lesson") -> list[Rendition]:
    """The renditions this upload gets, in the order to make them: whatever becomes playable first goes first. A
    rehearsal (`purpose`) gets only the rows marked for rehearsals."""
    rows = [
        r for r in sorted(renditions, key=lambda r: r.order)
        if (info.has_video or not r.needs_video) and (info.has_audio or not r.needs_audio)
        and (purpose != "rehearsal" or r.rehearsal or (r.copy_when_playable and _copyable(r, info)))
    ]  # fmt: skip
    first = next((r for r in rows if r.copy_when_playable and _copyable(r, info)), None)
    first = first or next((r for r in rows if r.first_playable), None)
    return [first, *(r for r in rows if r is not first)] if first else rows


def _copyable(rendition: Rendition, info: ProbeResult) -> bool:
    size = info.display_size
    return info.browser_playable and size is not None and (rendition.height is None or size[1] <= rendition.height)
