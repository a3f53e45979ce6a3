"""Cutting a clip into its own file, against the same ffmpeg command run by hand.

    .venv/bin/python bench/clips.py [--lesson-minutes 10] [--clip-seconds 120]

The lesson is a generated 720p H.264/AAC recording (bench/pipeline.py's, cached). The pipeline side
runs `workers.pipeline.cut_clip` on local storage (fetch the rendition, cut, store, record); the raw
side runs the same ffmpeg command on the same file. Prints the ratio (goal ≤ 1.15) and the cut's
speed in × realtime.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pipeline import lesson  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lesson-minutes", type=float, default=10)
    parser.add_argument("--clip-seconds", type=float, default=120)
    args = parser.parse_args()
    video_path, _, seconds = lesson(args.lesson_minutes)
    start = seconds / 3
    end = min(seconds, start + args.clip_seconds)

    work = Path(tempfile.mkdtemp(prefix="classlab-bench-clips-"))
    os.environ.update({"CLASSLAB_INSTANCE": str(work), "DATABASE_URL": f"sqlite:///{work}/db.sqlite",
                       "STORAGE_URL": f"file://{work}/media"})
    from app import db, migrate
    from app.accounts import service as accounts
    from app.config import load_settings
    from app.video import clips
    from app.video.models import Asset, Video
    from storage import open_storage
    from workers import media, pipeline

    settings = load_settings()
    migrate.upgrade(settings.database_url)
    db.bind(settings.database_url)
    store = open_storage(settings)
    s = db.session()
    owner = accounts.create_user(s, email="bench@example.org", password="bench password 1", role="teacher")
    info = media.probe(video_path)
    video = Video(owner=owner, title="bench", status="ready", duration=info.duration, has_video=True)
    s.add(video)
    s.flush()
    key = f"videos/{video.public_id}/transcode/web.mp4"
    with open(video_path, "rb") as fh:
        size = store.put(key, fh, content_type="video/mp4")
    s.add(Asset(video=video, kind="web", key=key, size=size, content_type="video/mp4", info={}))
    s.commit()
    clip = clips.create_clip(s, owner, video.public_id, title="bench clip", start=start, end=end)
    s.commit()

    t0 = time.perf_counter()
    assert pipeline.cut_clip(clip.id, settings, store) == "ready"
    ours = time.perf_counter() - t0

    # The raw side: the same command media.cut builds, run directly.
    raw_out = work / "raw.mp4"
    t0 = time.perf_counter()
    media.cut(video_path, raw_out, start, end, ffmpeg=settings.ffmpeg_binary)
    raw_cut = time.perf_counter() - t0
    t0 = time.perf_counter()
    subprocess.run([settings.ffmpeg_binary, "-nostdin", "-v", "error", "-y", "-ss", f"{start:.3f}", "-i",
                    str(video_path), "-t", f"{end - start:.3f}", "-map", "0:V:0", "-map", "0:a:0?", "-c:v",
                    "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a",
                    "128k", "-movflags", "+faststart", "-map_metadata", "-1", str(work / "bare.mp4")], check=True)
    bare = time.perf_counter() - t0
    length = end - start
    print(f"clip of {length:.0f} s from a {seconds / 60:g}-minute 720p lesson")
    print(f"  cut_clip (fetch + cut + store): {ours:.2f} s   bare ffmpeg: {bare:.2f} s   "
          f"ratio {ours / bare:.2f} (goal ≤ 1.15)")
    print(f"  media.cut alone: {raw_cut:.2f} s; cut speed {length / ours:.1f}× realtime")
    s.close()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
