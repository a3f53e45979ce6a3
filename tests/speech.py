"""Spoken-audio fixtures generated on the spot with espeak-ng, so ASR tests need no recorded media.

espeak-ng is robotic but deterministic: the same text and voice give the same samples on every machine with the
same espeak-ng build, which keeps word error rates reproducible enough to assert a bound on.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

# A maths teacher on equivalent fractions, with a student's misconception. Numbers are written as words because
# the WER helper does not normalise "2" against "two" and Whisper prefers words for small spoken numbers.
LESSON_SCRIPT: tuple[str, ...] = (
    "Good morning everyone, today we are going to talk about equivalent fractions.",
    "Look at the first pizza on the board, it is cut into two equal pieces.",
    "If I eat one of those pieces, I have eaten one half of the pizza.",
    "Now look at the second pizza, which is cut into four equal pieces.",
    "If I eat two of those four pieces, how much of the pizza have I eaten?",
    "Sarah says that two quarters is bigger than one half because two is bigger than one.",
    "Put the two pizzas side by side: the shaded parts are exactly the same size, so the fractions are equal.",
    "When we multiply the top and the bottom by the same number, the value does not change.",
    "One times two is two, and two times two is four, so one half equals two quarters.",
    "The pieces got smaller, but we have more of them, so the amount stays the same.",
    "Try this one on your own: what fraction with a bottom number of six equals one third?",
    "For homework, find three fractions that are equivalent to three quarters.",
)


def _ffmpeg() -> str:
    found = shutil.which("ffmpeg")
    if found:
        return found
    import imageio_ffmpeg  # the project's fallback binary when Debian's ffmpeg is absent

    return imageio_ffmpeg.get_ffmpeg_exe()


def make_speech(path: Path, text: str, *, voice: str = "en-us", rate: int = 150, wav16k: bool = True) -> Path:
    """Speak `text` into the WAV file `path`; with `wav16k` it is resampled to 16 kHz mono PCM (Whisper's input)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    raw = path.with_name(path.stem + ".espeak.wav") if wav16k else path
    # Text goes on stdin so a sentence starting with "-" is never taken for an option.
    subprocess.run(
        [espeak, "-v", voice, "-s", str(rate), "-w", str(raw), "--stdin"],
        input=text.encode("utf-8"),
        check=True,
        capture_output=True,
    )
    if wav16k:
        subprocess.run(
            [_ffmpeg(), "-nostdin", "-loglevel", "error", "-y", "-i", str(raw),
             "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le", str(path)],
            check=True,
            capture_output=True,
        )
        raw.unlink(missing_ok=True)
    return path


def make_silence(path: Path, seconds: float = 3.0) -> Path:
    """Digital silence as 16 kHz mono PCM WAV."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [_ffmpeg(), "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono",
         "-t", str(seconds), "-c:a", "pcm_s16le", str(path)],
        check=True,
        capture_output=True,
    )
    return path
