"""A rehearsal recorded in the browser: how soon after "stop" it plays and has its transcript.

    .venv/bin/python bench/rehearsal.py [--seconds 60]

Runs `classlab run --with-worker` on a fresh instance (SQLite, local files, the embedded broker), drives Debian's
Chromium with its fake camera and a fake microphone speaking espeak-ng's voice, records an attempt of `--seconds`
through the record page (streamed in chunks while recording), presses Stop, and watches the database for the
milestones. Then it runs the raw tools by hand on the very recording that was stored: the same ffmpeg commands the
pipeline ran (recorded from its media functions) and faster-whisper with the same model.

Prints seconds after "stop" (goals: playable <= 5 s, transcribed <= 15 s on 2 cores), and each as a ratio of the
raw tools' time on the same machine.
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent

from bench.pipeline import recorded_commands  # noqa: E402
from tests.processes import free_port, stop_group  # noqa: E402
from tests.speech import LESSON_SCRIPT, make_speech  # noqa: E402

PASSWORD = "bench password 1"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from app.config import load_settings

    work = Path(tempfile.mkdtemp(prefix="classlab-bench-rehearsal-"))
    env = {**os.environ, "CLASSLAB_INSTANCE": str(work / "instance"), "LOG_LEVEL": "WARNING"}
    run = lambda *a: subprocess.run([str(BIN / "classlab"), *a], env=env, check=True,  # noqa: E731
                                    capture_output=True, text=True)
    run("db", "upgrade")
    run("diagnostics", "import")
    run("rehearsals", "import", str(ROOT / "tests" / "scenarios"))
    run("user", "create", "--email", "bench@classlab.example", "--password", PASSWORD)
    speech = make_speech(work / "speech.wav", " ".join(LESSON_SCRIPT[:6]), wav16k=False)
    mic = work / "mic.wav"
    subprocess.run(["ffmpeg", "-y", "-v", "error", "-i", str(speech), "-ar", "48000", "-ac", "1", str(mic)], check=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(work / "server.log", "w")  # noqa: SIM115
    server = subprocess.Popen([str(BIN / "classlab"), "run", "--with-worker", "--port", str(port)], env=env,
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    db = work / "instance" / "classlab.sqlite"
    try:
        time.sleep(6)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=[
                "--no-sandbox", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                f"--use-file-for-fake-audio-capture={mic}"])
            page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
            page.goto(url + "/login")
            page.fill("#email", "bench@classlab.example")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit].primary")
            page.wait_for_url("**/dashboard")
            page.goto(url + "/rehearsals/")
            page.click("#library >> text=Launching the balance task")
            page.click("#start-attempt")
            page.wait_for_url(re.compile(r".*/rehearsals/attempts/\w+$"))
            page.click("#record-start")
            time.sleep(args.seconds)
            page.click("#record-stop")
            stopped = time.perf_counter()
            marks: dict[str, float] = {}
            deadline = stopped + 300
            while time.perf_counter() < deadline and "ready" not in marks and "failed" not in marks:
                with sqlite3.connect(db, timeout=1) as conn:
                    row = conn.execute("SELECT id, status FROM video WHERE purpose = 'rehearsal' "
                                       "ORDER BY id DESC LIMIT 1").fetchone()
                    kinds = {k for (k,) in conn.execute("SELECT kind FROM video_asset WHERE video_id = ?",
                                                        (row[0],))} if row else set()
                now = time.perf_counter() - stopped
                if row:
                    marks.setdefault(row[1], now)
                for kind in kinds:
                    marks.setdefault("asset:" + kind, now)
                time.sleep(0.05)
            browser.close()
        with sqlite3.connect(db) as conn:
            video_id, duration, key = conn.execute(
                "SELECT v.id, v.duration, a.key FROM video v JOIN video_asset a ON a.video_id = v.id "
                "WHERE v.purpose = 'rehearsal' AND a.kind = 'original' ORDER BY v.id DESC LIMIT 1").fetchone()
    finally:
        stop_group(server)
        log.close()
    settings = load_settings(env)
    original = Path(settings.storage_url.removeprefix("file://")) / key
    playable = min(v for k, v in marks.items() if k in ("asset:low", "asset:web"))
    transcribed = marks.get("transcribed", marks.get("ready"))

    # The raw tools on the same file: the commands the pipeline ran for a rehearsal, and faster-whisper.
    import workers.media as media
    from workers import renditions

    info = media.probe(original)
    plan = [r.name for r in renditions.plan(info, purpose="rehearsal")]
    commands, folder = recorded_commands(original, settings)
    outputs = {renditions.by_name(name).filename for name in plan}
    wanted = [c for c in commands if Path(c[0]).name == "ffprobe" or any(
        str(arg).endswith(tuple(outputs)) for arg in c[1:])]
    t0 = time.perf_counter()
    first_playable = None
    for cmd in wanted:
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if first_playable is None and any(str(arg).endswith(("low.mp4", "web.mp4")) for arg in cmd[1:]):
            first_playable = time.perf_counter() - t0
    raw_media = time.perf_counter() - t0
    from faster_whisper import WhisperModel

    from workers.asr import AsrSettings

    conf = AsrSettings(model=settings.whisper_model, compute_type=settings.whisper_compute_type)
    t0 = time.perf_counter()
    model = WhisperModel(conf.model, device="cpu", compute_type=conf.compute_type)
    segments, _ = model.transcribe(str(folder / "speech.wav"), beam_size=conf.beam_size, language="en")
    text = " ".join(s.text for s in segments)
    raw_asr = time.perf_counter() - t0
    print(f"attempt: {duration:.1f} s recorded in Chromium ({info.width}x{info.height} {info.video_codec} from the "
          "fake camera, espeak-ng microphone), "
          f"{os.cpu_count()} cores; renditions {plan}")
    print("milestones after stop (s): " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(marks.items(),
                                                                                     key=lambda kv: kv[1])))
    print(f"playable after stop:     {playable:6.2f} s  (goal <= 5)   raw first rendition {first_playable:.2f} s  "
          f"ratio {playable / first_playable:.2f}")
    print(f"transcribed after stop:  {transcribed:6.2f} s  (goal <= 15)  raw media {raw_media:.2f} s + raw whisper "
          f"{raw_asr:.2f} s = {raw_media + raw_asr:.2f} s  ratio {transcribed / (raw_media + raw_asr):.2f}")
    print(f"raw whisper heard {len(text.split())} words; video id {video_id}")


if __name__ == "__main__":
    main()
