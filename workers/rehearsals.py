"""The `classlab.rehearsals.voice` task: the student turns of a scenario spoken aloud.

Each turn is synthesised offline with espeak-ng in the scenario's languages (an English, Hebrew or Arabic voice),
unless its author recorded it; either way ffmpeg makes a small M4A the scenario page plays. The files live under
scenarios/<public id>/v<version>/ and are served behind signed links, like a lesson's.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

from app import db, jobs
from app.rehearsals.models import Scenario
from storage import open_storage
from workers import media
from workers.celery_app import celery_app

log = logging.getLogger(__name__)
SETTINGS = celery_app.conf.classlab_settings
# espeak-ng's voice for each language, and a pace a listener can follow.
VOICES = {"en": "en-us", "he": "he", "ar": "ar"}
WORDS_PER_MINUTE = 150


@cache
def _store():
    return open_storage(SETTINGS)


def voice_key(scenario: Scenario, lang: str, turn: int) -> str:
    return f"scenarios/{scenario.public_id}/v{scenario.version}/{lang}-{turn + 1}.m4a"


def speak(text: str, lang: str, dst: Path, *, espeak: str | None = None) -> None:
    """`text` read aloud by espeak-ng into the WAV file `dst`."""
    binary = espeak or shutil.which("espeak-ng")
    if binary is None:
        raise RuntimeError("espeak-ng is not installed: the student turns cannot be voiced")
    subprocess.run([binary, "-v", VOICES.get(lang, "en-us"), "-s", str(WORDS_PER_MINUTE), "-w", str(dst), "--",
                    text], check=True, capture_output=True, timeout=120, stdin=subprocess.DEVNULL)


def voice_scenario(scenario_id: int, settings, store) -> int:
    """Make every missing voice of the scenario, and the author's own recordings playable; returns how many were
    made."""
    made_by_author = _author_voices(scenario_id, settings, store)
    with db.session_scope() as s:
        scenario = s.get(Scenario, scenario_id)
        if scenario is None:
            return 0
        wanted = [(lang, n, turn["text"].get(lang, "")) for lang in scenario.languages
                  for n, turn in enumerate(scenario.turns)
                  if turn["text"].get(lang) and not _have(scenario.voices, lang, n)]
        keys = {(lang, n): voice_key(scenario, lang, n) for lang, n, _ in wanted}
    made = {}
    with tempfile.TemporaryDirectory(prefix="voice-", dir=_work(settings)) as folder:
        for lang, n, text in wanted:
            wav, out = Path(folder) / f"{lang}-{n}.wav", Path(folder) / f"{lang}-{n}.m4a"
            speak(text, lang, wav)
            media.voice(wav, out, ffmpeg=settings.ffmpeg_binary)
            with open(out, "rb") as fh:
                store.put(keys[lang, n], fh, content_type="audio/mp4")
            made[lang, n] = keys[lang, n]
    if made:
        with db.session_scope() as s:
            scenario = s.get(Scenario, scenario_id)
            if scenario is None:
                return 0
            voices = {lang: list(v) for lang, v in (scenario.voices or {}).items()}
            for (lang, n), key in made.items():
                row = voices.setdefault(lang, [])
                row.extend([None] * (n + 1 - len(row)))
                if row[n] is None:
                    row[n] = {"key": key, "by": "espeak-ng"}
            scenario.voices = voices
    return len(made) + made_by_author


def _author_voices(scenario_id: int, settings, store) -> int:
    """The author's uploads waiting to be converted: each becomes an M4A, or is dropped (the synthesised voice
    stays) when it is not a sound file we accept."""
    with db.session_scope() as s:
        scenario = s.get(Scenario, scenario_id)
        if scenario is None:
            return 0
        waiting = [(lang, n, v["key"]) for lang, row in (scenario.voices or {}).items()
                   for n, v in enumerate(row) if v and v.get("pending")]
    done: dict[tuple[str, int], dict | None] = {}
    with tempfile.TemporaryDirectory(prefix="voice-", dir=_work(settings)) as folder:
        for lang, n, key in waiting:
            raw, out = Path(folder) / f"{lang}-{n}-raw", Path(folder) / f"{lang}-{n}.m4a"
            store.download_to(key, str(raw))
            try:
                info = media.probe(raw)
                if not info.has_audio:
                    raise media.MediaRejected("This file has no sound.")
                media.voice(raw, out, ffmpeg=settings.ffmpeg_binary)
            except media.MediaRejected as exc:
                log.warning("scenario %s: the author's voice for %s turn %d was refused: %s", scenario_id, lang,
                            n + 1, exc.reason)
                done[lang, n] = None
                continue
            finally:
                store.delete(key)
            final = key + ".m4a"
            with open(out, "rb") as fh:
                store.put(final, fh, content_type="audio/mp4")
            done[lang, n] = {"key": final, "by": "author"}
    if done:
        with db.session_scope() as s:
            scenario = s.get(Scenario, scenario_id)
            if scenario is None:
                return 0
            voices = {lang: list(v) for lang, v in (scenario.voices or {}).items()}
            for (lang, n), entry in done.items():
                if n < len(voices.get(lang, [])) and (voices[lang][n] or {}).get("pending"):
                    voices[lang][n] = entry
            scenario.voices = voices
    return sum(1 for entry in done.values() if entry)


def _have(voices: dict, lang: str, n: int) -> bool:
    row = (voices or {}).get(lang) or []
    return n < len(row) and row[n] is not None


def _work(settings) -> str:
    folder = Path(settings.work_folder) / "jobs"
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder)


@celery_app.task(name=jobs.REHEARSALS_VOICE, bind=True, max_retries=3)
def voice(self, scenario_id: int) -> int:
    try:
        return voice_scenario(scenario_id, SETTINGS, _store())
    except (subprocess.SubprocessError, media.MediaFailed, OSError) as exc:
        if self.request.retries < self.max_retries:
            raise self.retry(exc=exc, countdown=5 * 2 ** self.request.retries) from exc
        log.exception("could not voice scenario %s", scenario_id)
        return 0
