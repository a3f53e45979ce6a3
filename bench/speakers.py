"""Benchmark: speaker turns (workers.speakers.diarize) against transcription of the same generated lesson.

    .venv/bin/python bench/speakers.py [--minutes 10] [--language en] [--students 4] [--runs 2] [--no-asr]

Generates (or reads from tests.lessongen's cache) a scripted espeak-ng lesson of about `--minutes`, then prints:
diarization speed (x realtime), DER without a collar and with the usual 0.25 s collar, teacher/student/silence
shares against the truth, wait-time errors, the extra memory the diarizer allocated (tracemalloc peak, measured
in a separate run because tracing slows numpy), and faster-whisper transcription of the same audio with the
repository's model and default settings (workers.asr.transcribe), so the ratio diarize_seconds / transcribe_seconds
says what the analytics step adds to the pipeline (the budget is 10 %). Each path is timed `--runs` times after a
warm-up and the fastest run is kept (other processes on a small machine make single runs noisy).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.lessongen import diarization_error_rate, heard_wait, make_lesson  # noqa: E402 - needs the path set above
from workers import speakers  # noqa: E402


def _union(spans: list[tuple[float, float]]) -> float:
    total, reach = 0.0, float("-inf")
    for a, b in sorted(spans):
        if b > reach:
            total += b - max(a, reach)
            reach = b
    return total


def _best(fn, runs: int):
    best, out = float("inf"), None
    for _ in range(runs):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--language", default="en", choices=("en", "he", "ar"))
    parser.add_argument("--students", type=int, default=4)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--no-asr", action="store_true", help="skip the transcription comparison")
    args = parser.parse_args()

    lesson = make_lesson(args.language, students=args.students, min_seconds=args.minutes * 60)
    warm = make_lesson(args.language, students=args.students)
    speakers.diarize(warm.path)  # loads the VAD model once, as a worker does

    seconds, result = _best(lambda: speakers.diarize(lesson.path), args.runs)
    tracemalloc.start()
    speakers.diarize(lesson.path)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    hyp = [(t.start, t.end, t.voice) for t in result.turns]
    der = diarization_error_rate(lesson.reference(), hyp)
    der_collar = diarization_error_rate(lesson.reference(), hyp, collar=0.25)
    dur = result.duration
    teacher = _union([(t.start, t.end) for t in result.turns if t.voice == result.teacher]) / dur
    student = _union([(t.start, t.end) for t in result.turns if t.voice != result.teacher]) / dur
    silence = 1 - _union([(t.start, t.end) for t in result.turns]) / dur
    errors = []
    for w in lesson.wait_times:
        heard = heard_wait(w, lesson, hyp, result.teacher)
        errors.append(float("inf") if heard is None else abs(heard - w.seconds))

    print(f"lesson: {args.language}, {args.students} students, {lesson.duration:.1f} s, {len(lesson.turns)} turns "
          f"({lesson.path})")
    print(f"diarize:            {seconds:6.2f} s wall  realtime x{lesson.duration / seconds:6.1f}")
    print(f"extra memory:       {peak / 2**20:6.1f} MiB traced peak (process max RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB)")
    print(f"DER:                {der.der:.3f} no collar (missed {der.missed:.1f} s, false alarm "
          f"{der.false_alarm:.1f} s, confusion {der.confusion:.1f} s of {der.reference:.1f} s); "
          f"{der_collar.der:.3f} with a 0.25 s collar")
    print(f"voices:             {len(result.voices)} heard, {len(lesson.speakers)} scripted; teacher voice "
          f"{result.teacher} -> {der.mapping.get(result.teacher)} (truth {lesson.teacher})")
    print(f"shares (heard/true): teacher {teacher:.3f}/{lesson.share('teacher'):.3f}  student "
          f"{student:.3f}/{lesson.share('student'):.3f}  silence {silence:.3f}/{lesson.share('silence'):.3f}")
    finite = [e for e in errors if e != float("inf")]
    print(f"wait-time errors:   {len(errors)} waits, median {statistics.median(finite):.2f} s, max "
          f"{max(errors):.2f} s, over 0.3 s: {sum(e > 0.3 for e in errors)}")

    if args.no_asr:
        return
    from app.config import _default_whisper_model
    from workers.asr import AsrSettings, load_model, transcribe

    conf = AsrSettings(model=_default_whisper_model())
    load_model(conf)
    transcribe(warm.path, conf)
    asr_seconds, _ = _best(lambda: transcribe(lesson.path, conf), args.runs)
    print(f"transcribe:         {asr_seconds:6.2f} s wall  realtime x{lesson.duration / asr_seconds:6.1f} "
          f"(model {Path(conf.model).name}, beam {conf.beam_size}, batch {conf.batch_size})")
    print(f"diarize / transcribe: {seconds / asr_seconds:.3f}")


if __name__ == "__main__":
    main()
