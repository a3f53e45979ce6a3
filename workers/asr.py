"""Speech recognition with faster-whisper (CTranslate2), as plain functions.

No Celery, Flask or database here: the transcription task wraps these, and tests and benchmarks call them directly.

Nothing in this module may reach the network. faster-whisper downloads from the Hugging Face Hub whenever it is
given a name it cannot find on disk, or a model folder without tokenizer.json; `load_model` checks the folder first
and always passes local_files_only, so a wrong setting fails fast with a readable AsrError instead of hanging on a
download in an offline worker.

Measured with bench/asr.py on 2 busy cores, tiny.en int8, 131 s of espeak-ng speech: batched (batch_size=8) and
sequential decoding both run at ~36-40x realtime with beam 1 (WER 0.073 / 0.076); beam 5 costs ~40 % of the speed
(~21x) and halves WER batched (0.038). Speed does not decide it, so batched is the default for robustness: each
30 s window is decoded without the previous window's text, so a long lesson cannot fall into Whisper's repetition
loops. threads=0 (CTranslate2's default), 1 and 2 were within noise of each other on 2 cores.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.speechmodels import ModelError, check_model_folder

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
# A batched window is one 30 s segment; we re-split it into sentences at these marks or at pauses this long.
_SENTENCE_END = (".", "?", "!", "…", "。", "？", "！", "؟", "۔")
_PAUSE_SPLIT_SECONDS = 1.0
_MAX_SEGMENT_SECONDS = 20.0


@dataclass(frozen=True)
class AsrSettings:
    model: str  # path to a CTranslate2 Whisper model folder (a Hub name only works if already in the local cache)
    device: str = "cpu"  # "cpu" | "cuda" | "auto"
    compute_type: str = "int8"
    language: str | None = None  # None = auto-detect (an .en model is always "en")
    beam_size: int = 1
    vad: bool = True
    batch_size: int = 8  # >1 uses faster_whisper.BatchedInferencePipeline (which always needs VAD chunking)
    threads: int = 0  # cpu_threads; 0 = CTranslate2 default
    word_timestamps: bool = True


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str
    probability: float


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str
    words: tuple[Word, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class TranscriptResult:
    language: str
    language_probability: float
    duration: float
    segments: tuple[Segment, ...]

    def text(self) -> str:
        """The whole transcript, segments joined by single spaces."""
        return " ".join(s.text for s in self.segments if s.text)

    def as_dict(self) -> dict:
        return {
            "language": self.language,
            "language_probability": self.language_probability,
            "duration": self.duration,
            "segments": [
                {
                    "start": s.start,
                    "end": s.end,
                    "text": s.text,
                    "words": [
                        {"start": w.start, "end": w.end, "text": w.text, "probability": w.probability} for w in s.words
                    ],
                }
                for s in self.segments
            ],
        }

    @classmethod
    def from_dict(cls, d: dict) -> TranscriptResult:
        segments = tuple(
            Segment(
                start=float(s["start"]),
                end=float(s["end"]),
                text=str(s.get("text", "")),
                words=tuple(
                    Word(
                        start=float(w["start"]),
                        end=float(w["end"]),
                        text=str(w.get("text", w.get("word", ""))),
                        probability=float(w.get("probability", 0.0)),
                    )
                    for w in (s.get("words") or ())
                ),
            )
            for s in d.get("segments") or ()
        )
        return cls(
            language=str(d.get("language") or ""),
            language_probability=float(d.get("language_probability") or 0.0),
            duration=float(d.get("duration") or 0.0),
            segments=segments,
        )


class AsrError(Exception):
    """Transcription cannot run; `reason` is a sentence fit for a log line or a teacher-facing status."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# --------------------------------------------------------------------------------------------------------------
# Model loading

_models: dict[tuple[str, str, str, int], Any] = {}
_models_lock = threading.Lock()


def _looks_like_path(model: str) -> bool:
    # "tiny.en" and "Systran/faster-whisper-tiny" are Hub names; anything else with a separator is a folder.
    if os.path.isabs(model) or model.startswith((".", "~")) or "\\" in model:
        return True
    return model.count("/") > 1


def load_model(settings: AsrSettings):
    """The faster_whisper.WhisperModel for these settings, loaded once per process and shared afterwards."""
    if not settings.model:
        raise AsrError("No Whisper model is configured (set WHISPER_MODEL to a CTranslate2 model folder).")
    model_ref = settings.model
    if os.path.isdir(os.path.expanduser(model_ref)) or _looks_like_path(model_ref):
        folder = Path(model_ref).expanduser().resolve()
        try:
            check_model_folder(folder)
        except ModelError as exc:
            raise AsrError(exc.reason) from None
        model_ref = str(folder)
    key = (model_ref, settings.device, settings.compute_type, int(settings.threads))
    with _models_lock:
        cached = _models.get(key)
        if cached is not None:
            return cached
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:  # pragma: no cover - faster-whisper is a dependency of the worker
            raise AsrError(f"faster-whisper is not installed: {exc}") from None
        try:
            model = WhisperModel(
                model_ref,
                device=settings.device,
                compute_type=settings.compute_type,
                cpu_threads=max(0, int(settings.threads)),
                local_files_only=True,
            )
        except Exception as exc:  # noqa: BLE001 - CTranslate2 and huggingface_hub raise many types; all mean "no model"
            where = ""
            if not os.path.isdir(model_ref):
                where = " (not a folder, and downloads are disabled: only the local Hugging Face cache is searched)"
            raise AsrError(
                f"The Whisper model {model_ref!r} could not be loaded on {settings.device} "
                f"({settings.compute_type}){where}: {type(exc).__name__}: {exc}"
            ) from exc
        _models[key] = model
        log.info("Loaded Whisper model %s on %s (%s)", model_ref, settings.device, settings.compute_type)
        return model


def clear_model_cache() -> None:
    """Forget loaded models (tests, or a worker told to reload its configuration)."""
    with _models_lock:
        _models.clear()


# --------------------------------------------------------------------------------------------------------------
# Transcription


_LIBRARIES = {"av", "ctranslate2", "faster_whisper", "numpy", "onnxruntime", "tokenizers"}


def _is_library_error(exc: Exception) -> bool:
    """A failure of the speech stack, as opposed to something raised into this thread while it ran.

    Celery's soft time limit and a cancelling progress callback must reach the caller unchanged, so only the
    libraries' own errors (PyAV, CTranslate2, ONNX Runtime... and the builtin types they use) become AsrError.
    """
    if isinstance(exc, RuntimeError | ValueError | OSError | IndexError):
        return True
    return type(exc).__module__.split(".", 1)[0] in _LIBRARIES


def _decode(wav: Path):
    from faster_whisper import decode_audio

    if not Path(wav).is_file():
        raise AsrError(f"The audio file {wav} does not exist.")
    try:
        return decode_audio(str(wav), sampling_rate=SAMPLE_RATE)
    except Exception as exc:
        if not _is_library_error(exc):
            raise
        raise AsrError(f"The audio file {wav} cannot be decoded: {type(exc).__name__}: {exc}") from exc


def _clean_words(raw_words: Iterable[Any] | None, lo: float, hi: float) -> list[Word]:
    """Whisper words carry their leading space and occasionally step backwards in time; keep them ordered."""
    words: list[Word] = []
    previous_end = lo
    for w in raw_words or ():
        text = (w.word or "").strip()
        if not text:
            continue
        start = min(max(float(w.start), previous_end, lo), hi)
        end = min(max(float(w.end), start), hi)
        words.append(Word(round(start, 3), round(end, 3), text, round(float(w.probability), 4)))
        previous_end = end
    return words


def _join_words(raw: list[Any]) -> str:
    # Whisper's word strings carry their own leading spaces (none for Chinese or Japanese), so concatenation
    # reproduces the segment's spacing in every script.
    return "".join(w.word for w in raw).strip()


def _split_window(segment: Any) -> list[tuple[float, float, str, list[Any]]]:
    """Cut one batched 30 s window into sentence-sized pieces using its word timings.

    Batched decoding is run without timestamp tokens because faster-whisper 1.2.1 drops the unfinished last sentence
    of every window when they are on (it never re-seeks in batched mode); words give us the boundaries instead.
    """
    raw = [w for w in (segment.words or ()) if (w.word or "").strip()]
    if not raw:
        return [(float(segment.start), float(segment.end), segment.text, [])]
    pieces: list[list[Any]] = [[]]
    for i, w in enumerate(raw):
        current = pieces[-1]
        if current:
            gap = float(w.start) - float(current[-1].end)
            too_long = float(w.end) - float(current[0].start) > _MAX_SEGMENT_SECONDS
            if gap >= _PAUSE_SPLIT_SECONDS or too_long:
                pieces.append([])
                current = pieces[-1]
        current.append(w)
        if w.word.strip().endswith(_SENTENCE_END) and i + 1 < len(raw):
            pieces.append([])
    return [(float(p[0].start), float(p[-1].end), _join_words(p), p) for p in pieces if p]


def _normalise(
    pieces: Iterable[tuple[float, float, str, list[Any] | None]], duration: float, keep_words: bool
) -> list[Segment]:
    """Clamp to the audio, make times non-decreasing, and drop empty text: what callers and captions rely on."""
    segments: list[Segment] = []
    previous_end = 0.0
    for start, end, text, raw_words in pieces:
        text = " ".join((text or "").split())
        if not text:
            continue
        start = min(max(float(start), previous_end, 0.0), duration)
        end = min(max(float(end), start), duration)
        words = _clean_words(raw_words, previous_end, duration) if keep_words else []
        if words:
            # Alignment can put a word a little outside Whisper's 20 ms segment tokens; widening the segment keeps
            # the word's real timing, where clamping the word would squash it to nothing.
            start, end = min(start, words[0].start), max(end, words[-1].end)
        segments.append(Segment(round(start, 3), round(end, 3), text, tuple(words)))
        previous_end = end
    return segments


def transcribe(
    wav: Path, settings: AsrSettings, *, progress: Callable[[float], None] | None = None
) -> TranscriptResult:
    """Transcribe an audio file (anything FFmpeg decodes; 16 kHz mono WAV avoids resampling).

    `progress` receives fractions in [0, 1], non-decreasing, ending with exactly 1.0. Silence gives no segments.
    """
    model = load_model(settings)
    audio = _decode(Path(wav))
    duration = round(len(audio) / SAMPLE_RATE, 3)

    def report(fraction: float) -> None:
        if progress is not None:
            progress(fraction)

    is_english_only = not model.model.is_multilingual
    if duration <= 0:
        report(1.0)
        language = "en" if is_english_only else (settings.language or "")
        return TranscriptResult(language, 1.0 if language else 0.0, 0.0, ())

    batched = settings.batch_size > 1 and settings.vad
    if settings.batch_size > 1 and not settings.vad:
        # The batched pipeline refuses audio over 30 s without VAD; sequential decoding is the honest fallback.
        log.info("batch_size=%s ignored because vad is off; decoding sequentially", settings.batch_size)
    common: dict[str, Any] = {
        "language": settings.language,
        "beam_size": max(1, int(settings.beam_size)),
    }
    def failed(exc: Exception) -> AsrError:
        return AsrError(f"Transcription of {Path(wav).name} failed: {type(exc).__name__}: {exc}")

    try:
        if batched:
            from faster_whisper import BatchedInferencePipeline

            # A fresh pipeline per call: it keeps per-run state (last_speech_timestamp) that must not leak between
            # transcriptions. Word timings are always computed because they are how windows become sentences.
            generator, info = BatchedInferencePipeline(model).transcribe(
                audio, batch_size=int(settings.batch_size), word_timestamps=True, without_timestamps=True, **common
            )
        else:
            generator, info = model.transcribe(
                audio, vad_filter=settings.vad, word_timestamps=settings.word_timestamps, **common
            )
    except Exception as exc:
        if not _is_library_error(exc):
            raise
        raise failed(exc) from exc

    pieces: list[tuple[float, float, str, list[Any] | None]] = []
    done = 0.0
    segments_iter = iter(generator)
    while True:
        # Only the decoding step is guarded; the progress callback runs outside so its exceptions pass untouched.
        try:
            seg = next(segments_iter)
        except StopIteration:
            break
        except Exception as exc:
            if not _is_library_error(exc):
                raise
            raise failed(exc) from exc
        if batched:
            pieces.extend(_split_window(seg))
        else:
            pieces.append((seg.start, seg.end, seg.text, list(seg.words or ())))
        fraction = min(1.0, max(done, float(seg.end) / duration))
        if fraction > done:
            done = fraction
            report(done)

    segments = _normalise(pieces, duration, settings.word_timestamps)
    report(1.0)
    language_probability = float(info.language_probability)
    if math.isnan(language_probability):
        language_probability = 0.0
    return TranscriptResult(
        language=str(info.language),
        language_probability=round(language_probability, 4),
        duration=duration,
        segments=tuple(segments),
    )
