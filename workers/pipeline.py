"""The video pipeline's steps as plain functions: uploaded → probed → transcoded → transcribed → ready.

Each step: claim the video in the database (skipping if another run already moved it on), copy what
it needs from storage into a private job folder, call the media functions, write every output to its
deterministic key (videos/<id>/<step>/<name>, so a second run overwrites instead of duplicating),
record the assets and the new status in one commit. ffmpeg and Whisper only ever see files in the
job folder, never a URL or a name the teacher chose.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, select

from app import db
from app.config import Settings
from app.db import utcnow
from app.video import service
from app.video.models import NEXT_STEP, Segment, Transcript, Video, VideoStatus
from storage import Storage

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 2.0
# The beat of a running step between its progress reports (storing a large file, loading the Whisper model):
# it says only that the process is alive, which is all the sweeper needs to leave the step alone.
PULSE_SECONDS = 10.0


class Skip(Exception):
    """This step has nothing to do (already done, or the video is gone)."""


def ffprobe_binary(settings: Settings) -> str:
    sibling = Path(settings.ffmpeg_binary).with_name("ffprobe")
    if sibling.exists():
        return str(sibling)
    return shutil.which("ffprobe") or "ffprobe"


def limits(settings: Settings):
    from workers.media import Limits

    return Limits(max_duration=float(settings.max_duration_seconds), run_seconds=float(settings.step_time_limit))


def asr_settings(settings: Settings):
    from workers.asr import AsrSettings

    return AsrSettings(
        model=settings.whisper_model, device=settings.whisper_device, compute_type=settings.whisper_compute_type,
        language=settings.whisper_language or None, beam_size=settings.whisper_beam_size, vad=settings.whisper_vad,
        batch_size=settings.whisper_batch_size, threads=settings.whisper_threads,
    )


def claim(video_id: int, step: str) -> None:
    """Mark the step as running, or raise Skip when the video is not waiting for it."""
    with db.session_scope() as s:
        query = select(Video).where(Video.id == video_id)
        if s.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        video = s.scalar(query)
        if video is None:
            raise Skip(f"video {video_id} no longer exists")
        if NEXT_STEP.get(video.status) != step:
            raise Skip(f"video {video_id} is {video.status.value}; nothing to do for {step}")
        now = utcnow()
        video.step, video.step_started_at, video.heartbeat_at, video.progress = step, now, now, 0.0


@contextmanager
def beating(video_id: int, step: str, every: float = PULSE_SECONDS):
    """Keep the step's heartbeat fresh while this process runs it, whatever the step is doing.

    A SIGKILLed worker stops beating at once, and the sweeper hands the step to another worker after
    SILENT_AFTER_SECONDS; a worker that merely hangs is stopped by the step's time limit instead.
    """
    stop = threading.Event()

    def pulse() -> None:
        while not stop.wait(every):
            try:
                with db.session_scope() as s:
                    video = s.get(Video, video_id)
                    if video is None or video.step != step:
                        return
                    video.heartbeat_at = utcnow()
            except Exception:  # noqa: BLE001 - a missed beat is retried; the step itself must not fail for it
                log.warning("heartbeat of video %s (%s) not written", video_id, step, exc_info=True)

    thread = threading.Thread(target=pulse, name=f"heartbeat-{video_id}-{step}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=every + 5)


# The failed step of a file that was refused (not a video, too long, an unsupported codec): not retried.
REFUSED = service.REFUSED


def fail(video_id: int, step: str, reason: str) -> None:
    with db.session_scope() as s:
        video = s.get(Video, video_id)
        if video is not None:
            video.status, video.failed_step, video.failure_reason = VideoStatus.failed, step, reason
            video.step = None


class Progress:
    """Throttled progress + heartbeat writes, so a 45-minute encode costs a few hundred UPDATEs."""

    def __init__(self, video_id: int, start: float = 0.0, span: float = 1.0):
        self.video_id, self.start, self.span, self.last = video_id, start, span, 0.0

    def part(self, start: float, span: float) -> Progress:
        return Progress(self.video_id, self.start + start * self.span, span * self.span)

    def __call__(self, fraction: float) -> None:
        now = time.monotonic()
        if now - self.last < HEARTBEAT_SECONDS and fraction < 1.0:
            return
        self.last = now
        with db.session_scope() as s:
            video = s.get(Video, self.video_id)
            if video is not None:
                video.progress = round(min(1.0, self.start + max(0.0, min(1.0, fraction)) * self.span), 4)
                video.heartbeat_at = utcnow()


@contextmanager
def job_folder(settings: Settings, video_id: int, step: str):
    root = Path(settings.work_folder) / "jobs"
    root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f"{video_id}-{step}-", dir=root))
    folder.chmod(0o700)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def fetch(store: Storage, key: str, dst: Path) -> Path:
    store.download_to(key, str(dst))
    return dst


def store_file(store: Storage, video: Video, kind: str, step: str, path: Path, name: str, content_type: str,
               info: dict | None = None, session=None) -> None:
    from workers.renditions import storage_key

    key = storage_key(video.public_id, step, name)
    size = store.put_file(key, str(path), content_type=content_type)
    service.put_asset(session, video, kind, key, size, content_type, info)


def _load(s, video_id: int) -> Video:
    video = s.get(Video, video_id)
    if video is None:
        raise Skip(f"video {video_id} was deleted while it was processed")
    return video


def probe_step(video_id: int, settings: Settings, store: Storage) -> None:
    from workers import media

    with db.session_scope() as s:
        video = _load(s, video_id)
        original = video.asset("original").key
        purpose, most = video.purpose, video.max_seconds
    lim = limits(settings)
    if most:  # a rehearsal's length limit, with a second's grace for the recorder's last chunk
        lim = dataclasses.replace(lim, max_duration=min(lim.max_duration, most + 1.0))
    with job_folder(settings, video_id, "probe") as job:
        info = media.probe(fetch(store, original, job / "original"), ffprobe=ffprobe_binary(settings), limits=lim)
    if purpose == "rehearsal" and not info.has_audio:
        raise media.MediaRejected("This recording has no sound: a rehearsal is listened to and transcribed. Check "
                                  "that the browser may use the microphone, then record again.")
    with db.session_scope() as s:
        video = _load(s, video_id)
        for name in ("sha256", "size", "duration", "container", "video_codec", "audio_codec", "width", "height",
                     "rotation", "fps", "has_video", "has_audio"):
            setattr(video, name, getattr(info, name))
        video.asset("original").info = info.as_dict()
        video.status, video.step, video.progress = VideoStatus.probed, None, 1.0


def transcode_step(video_id: int, settings: Settings, store: Storage) -> None:
    """Make every rendition of workers.renditions this upload gets, storing (and committing) each as it is done."""
    from workers import media, renditions

    ffmpeg, lim = settings.ffmpeg_binary, limits(settings)
    with db.session_scope() as s:
        video = _load(s, video_id)
        original, info_dict = video.asset("original").key, dict(video.asset("original").info)
        purpose = video.purpose
    info = media.ProbeResult(**info_dict)
    progress = Progress(video_id)
    plan = renditions.plan(info, purpose=purpose)
    # The videos carry the progress bar: the stills and the sound take seconds.
    videos = [r for r in plan if r.kind == "video"]
    share = 0.9 / max(1, len(videos))
    with job_folder(settings, video_id, "transcode") as job:
        src = fetch(store, original, job / "original")
        for rendition in plan:
            part = progress.part(share * videos.index(rendition), share) if rendition in videos else None
            out = job / rendition.filename
            done = media.render(src, out, info, rendition, ffmpeg=ffmpeg, progress=part, limits=lim)
            with db.session_scope() as s:
                video = _load(s, video_id)
                store_file(store, video, rendition.name, rendition.step, out, rendition.filename,
                           rendition.content_type, done.info, session=s)
                if rendition.sidecar is not None and done.sidecar is not None:
                    extra = rendition.sidecar
                    (job / extra.filename).write_text(done.sidecar, encoding="utf-8")
                    store_file(store, video, extra.name, rendition.step, job / extra.filename, extra.filename,
                               extra.content_type, session=s)
                if "mode" in done.info:
                    video.web_mode = done.info["mode"]
        with db.session_scope() as s:
            video = _load(s, video_id)
            video.status, video.step, video.progress = VideoStatus.transcoded, None, 1.0


def model_for(language: str, settings: Settings) -> str | None:
    """The speech-recognition model folder for a lesson taught in `language` ("" for a recording made before
    lessons had one, or a rehearsal: the configured default), or None when none is installed for it."""
    from app import speechmodels

    if not language:
        return settings.whisper_model
    return speechmodels.resolve(language, dict(settings.whisper_models), settings.instance_path,
                                default_english=settings.whisper_model)


def transcribe_step(video_id: int, settings: Settings, store: Storage) -> None:
    from workers import asr

    conf = asr_settings(settings)
    with db.session_scope() as s:
        video = _load(s, video_id)
        audio = video.asset("audio")
        audio_key = audio.key if audio is not None else None
        language = video.language or ""
    result, missing = None, ""
    if language:
        folder = model_for(language, settings)
        if folder is None:  # no model for this language: no transcript, rather than English words for Hebrew speech
            missing, audio_key = language, None
        else:
            conf = dataclasses.replace(conf, model=folder, language=language)
    if audio_key is not None:
        with job_folder(settings, video_id, "transcribe") as job:
            result = asr.transcribe(fetch(store, audio_key, job / "speech.wav"), conf, progress=Progress(video_id))
    with db.session_scope() as s:
        video = _load(s, video_id)
        transcript = s.scalar(select(Transcript).where(Transcript.video_id == video.id))
        if transcript is None:
            transcript = Transcript(video=video)
            s.add(transcript)
            s.flush()
        else:  # a re-run replaces the machine transcript
            service.unindex_video(s, video)
            s.execute(delete(Segment).where(Segment.transcript_id == transcript.id))
            s.expire(transcript, ["segments"])
        transcript.language = result.language if result else missing
        transcript.model = "" if missing else Path(conf.model).name if "/" in conf.model else conf.model
        transcript.settings = {"device": conf.device, "compute_type": conf.compute_type, "beam_size": conf.beam_size,
                               "batch_size": conf.batch_size, "vad": conf.vad, "language": conf.language}
        if missing:
            transcript.settings["missing_model"] = missing
        transcript.corrected_at = None
        for i, seg in enumerate(result.segments if result else ()):
            segment = Segment(transcript=transcript, position=i, start=seg.start, end=seg.end, text=seg.text,
                              words=[{"start": w.start, "end": w.end, "text": w.text, "p": round(w.probability, 3)}
                                     for w in seg.words])
            s.add(segment)
            service.index_segment(s, segment)
        video.status, video.step, video.progress = VideoStatus.transcribed, None, 1.0


def finish_step(video_id: int, settings: Settings, store: Storage) -> None:
    from app.analytics import service as analytics

    with db.session_scope() as s:
        video = _load(s, video_id)
        video.status, video.step, video.progress, video.ready_at = VideoStatus.ready, None, 1.0, utcnow()
        analytics.request(s, video)  # who speaks when, questions, waits: sent when this scope commits


def analyse(video_id: int, settings, store, *, listen: bool = True) -> str:
    """Listen (unless `listen` is False and turns were heard before) and measure. Returns the state reached."""
    from app.analytics import service
    from workers import speakers

    with db.session_scope() as s:
        analysis = service.start(s, video_id)
        if analysis is None:
            return "gone"
        video = analysis.video
        audio = video.asset("audio")
        audio_key = audio.key if audio is not None else None
        listen = listen or analysis.diarized_at is None
    heard = None
    if listen:
        if audio_key is None:
            with db.session_scope() as s:
                service.fail(s, video_id, "This lesson has no sound to analyse.")
            return "failed"
        began = time.monotonic()
        with job_folder(settings, video_id, "analytics") as job:
            wav = fetch(store, audio_key, job / "speech.wav")
            try:
                heard = speakers.diarize(Path(wav)).as_dict()
            except speakers.SpeakersError as exc:
                with db.session_scope() as s:
                    service.fail(s, video_id, exc.reason)
                return "failed"
        log.info("video %s: voices told apart in %.1f s", video_id, time.monotonic() - began)
    with db.session_scope() as s:
        video = s.get(Video, video_id)
        analysis = service.analysis_of(s, video) if video is not None else None
        if analysis is None:
            return "gone"
        while not service.claim(s, analysis):
            if heard is None:  # a correction came in meanwhile: the measure it asked for reads it
                log.info("video %s: the analysis changed while it was read; the newer request measures it", video_id)
                return "superseded"
            s.refresh(analysis)  # what was heard is kept: measured with the analysis as it reads now
        if heard is not None:
            service.store_turns(s, analysis, heard)
        service.compute(s, analysis)
    return "done"


STEP_FUNCTIONS: dict[str, Callable[[int, Settings, Storage], None]] = {
    "probe": probe_step, "transcode": transcode_step, "transcribe": transcribe_step, "finish": finish_step,
}


def cut_clip(clip_id: int, settings: Settings, store: Storage) -> str:
    """Cut a clip into its own file under the lesson's storage folder (deleted with the lesson)."""
    from app.video.models import Clip
    from workers import media
    from workers.renditions import PLAYABLE

    with db.session_scope() as s:
        clip = s.get(Clip, clip_id)
        if clip is None:
            return "gone"
        video = clip.video
        source = next((a for a in map(video.asset, PLAYABLE) if a is not None), None) or video.asset("original")
        if source is None:
            return "waiting"  # the lesson is not playable yet; the sweeper comes back
        has_video = bool(video.has_video)
        key, start, end, public_id = source.key, clip.start, clip.end, clip.public_id
        folder = f"videos/{video.public_id}/clips"
    ext = "mp4" if has_video else "m4a"
    with job_folder(settings, clip_id, "clip") as job:
        src = fetch(store, key, job / "source")
        out = job / f"clip.{ext}"
        try:
            media.cut(src, out, start, end, has_video=has_video, ffmpeg=settings.ffmpeg_binary,
                      limits=limits(settings))
        except media.MediaRejected:
            clip_failed(clip_id)
            raise
        cut_key = f"{folder}/{public_id}.{ext}"
        store.put_file(cut_key, str(out), content_type="video/mp4" if has_video else "audio/mp4")
    with db.session_scope() as s:
        clip = s.get(Clip, clip_id)
        if clip is None or clip.start != start or clip.end != end:
            store.delete(cut_key)  # deleted, or changed, while it was being cut
            return "gone"
        clip.cut_key, clip.cut_status = cut_key, "ready"
    return "ready"


def clip_failed(clip_id: int) -> None:
    from app.video.models import Clip

    with db.session_scope() as s:
        clip = s.get(Clip, clip_id)
        if clip is not None:
            clip.cut_status = "failed"


def clips_to_cut(older_than: timedelta) -> list[int]:
    from app.video.models import Clip

    with db.session_scope() as s:
        cutoff = utcnow() - older_than
        return list(s.scalars(select(Clip.id).where(Clip.cut_status == "pending", Clip.created_at < cutoff)))


def run_inline(video_id: int, settings: Settings, store: Storage, *, analyse: bool = False) -> None:
    """Every remaining step in this process (tests and `classlab ingest --inline`), with the same rules; with
    `analyse`, the lesson's analytics too (else a worker takes the task the finish step sent)."""
    from workers.media import MediaFailed, MediaRejected

    for step in ("probe", "transcode", "transcribe", "finish"):
        try:
            claim(video_id, step)
        except Skip:
            continue
        try:
            STEP_FUNCTIONS[step](video_id, settings, store)
        except MediaRejected as exc:
            fail(video_id, REFUSED, exc.reason)
            return
        except MediaFailed as exc:
            fail(video_id, step, exc.reason)
            return
    if analyse:
        analyse(video_id, settings, store)


def stuck_videos(stuck_after: timedelta, silent_after: timedelta | None = None) -> list[tuple[int, str]]:
    """Videos waiting for a step that nobody is running: asked for but not started after `stuck_after` (the
    queue may just be busy), or started and silent for `silent_after` (its worker died)."""
    now = utcnow()
    cutoff, silent = now - stuck_after, now - (silent_after if silent_after is not None else stuck_after)
    with db.session_scope() as s:
        rows = s.execute(select(Video.id, Video.status, Video.step, Video.heartbeat_at, Video.updated_at).where(
            Video.status.in_(list(NEXT_STEP))
        )).all()
    found = []
    for video_id, status, step, heartbeat, updated in rows:
        last = heartbeat if step else updated
        if last is None or last <= (silent if step else cutoff):
            found.append((video_id, NEXT_STEP[status]))
    return found
