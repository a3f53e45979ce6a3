"""The lesson's pages and API under load, against the health endpoint on the same server in one run.

    .venv/bin/python bench/web.py [--seconds 10] [--clients 32] [--database-url postgresql://…/test]

A fresh instance (SQLite by default; with --database-url, a database of its own is created on that
PostgreSQL server and dropped at the end) holds one 45-minute lesson with a transcript (word timings
included) and 500 comments: threads and replies, framework tags, several authors, some given on clips.
gunicorn serves it with 2 workers on a free loopback port; 32 client threads then hit each endpoint for
--seconds, one endpoint after the other, logged in as the lesson's owner (session cookie).

Printed per endpoint: req/s, p50/p95 latency, the ratio of its req/s to the health endpoint's (goal ≥ 0.5),
the SQL queries one request makes in the steady state and the first time after a change (when the web process
has kept nothing of the lesson, app.cache), the CPU time it takes (both in-process with the same app and data,
through a test client and a `before_cursor_execute` listener), and the answer's size. The endpoints take turns
(--rounds) so that a change of load on a shared machine falls on all of them; the load average is printed with
the figures, which are only comparable between runs at a similar load (the CPU column much less depends on it).
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "bench password 1"
WORDS = ("so what do you notice about this number line could someone explain why the answer is bigger when we "
         "multiply by a fraction less than one think about it with your partner and then we will share").split()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def create_postgres(base: str) -> str:
    import psycopg

    name = f"classlab_bench_web_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlsplit(base)._replace(path=f"/{name}").geturl()


def drop_postgres(base: str, url: str) -> None:
    import psycopg

    from app import db

    db.dispose_all()
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed(comments: int, minutes: float) -> tuple[str, str]:
    """The lesson, its transcript and its feedback. Returns (owner's e-mail, the video's public id)."""
    from sqlalchemy import insert

    from app import db
    from app.accounts import service as accounts
    from app.db import utcnow
    from app.feedback import service as feedback
    from app.feedback.frameworks import load_starter_frameworks
    from app.feedback.models import Comment
    from app.sharing import service as sharing
    from app.video.models import Asset, Clip, Segment, Transcript, Video

    rng = random.Random(9)
    with db.session_scope() as s:
        owner = accounts.create_user(s, email="owner@bench.example", password=PASSWORD, display_name="Noa Levi")
        names = ["Dana Cohen", "Samir Haddad", "Yael Mizrahi", "רונית אברהם"]
        colleagues = [accounts.create_user(s, email=f"c{i}@bench.example", password=PASSWORD, display_name=n)
                      for i, n in enumerate(names)]
        frameworks = [feedback.import_framework(s, f) for f in load_starter_frameworks()]
        elements = [(f.key, f.version, e["key"]) for f in frameworks for d in f.data["dimensions"]
                    for e in d["elements"]]
        seconds = minutes * 60
        video = Video(owner=owner, title="Fractions on the number line", status="ready", duration=seconds,
                      has_video=True, has_audio=True, width=1280, height=720, video_codec="h264", web_mode="remux",
                      consent="full", original_filename="lesson.mp4", ready_at=utcnow())
        s.add(video)
        s.flush()
        for kind, ctype in (("original", "video/mp4"), ("web", "video/mp4"), ("low", "video/mp4"),
                            ("poster", "image/jpeg"), ("audio", "audio/mp4")):
            s.add(Asset(video=video, kind=kind, key=f"videos/{video.public_id}/x/{kind}", size=1000,
                        content_type=ctype, info={}))
        transcript = Transcript(video=video, language="en", model="small")
        s.add(transcript)
        s.flush()
        # Whisper's segments run 2–8 s; about 13 words each, every one with its timing.
        rows, t, position = [], 0.0, 0
        while t < seconds - 1:
            length = min(rng.uniform(2, 8), seconds - t)
            n = max(3, int(length * 2.6))
            step = length / n
            words = [{"start": round(t + k * step, 3), "end": round(t + (k + 1) * step, 3),
                      "text": " " + rng.choice(WORDS), "p": round(rng.uniform(0.6, 1), 3)}
                     for k in range(n)]
            rows.append({"transcript_id": transcript.id, "position": position, "start": round(t, 3),
                         "end": round(t + length, 3), "text": "".join(w["text"] for w in words).strip(),
                         "corrected": None, "words": words})
            position += 1
            t += length
        s.execute(insert(Segment), rows)
        for c in colleagues:
            sharing.share(s, owner, video.public_id, c.email, "comment")
        clips = [Clip(video=video, creator=owner, title=f"Moment {i}", start=i * 300.0, end=i * 300.0 + 60,
                      cut_status="ready") for i in range(1, 4)]
        s.add_all(clips)
        s.flush()
        authors = [owner, *colleagues]
        tops = []
        base = utcnow() - timedelta(days=3)
        for i in range(comments):
            when = base + timedelta(minutes=i)
            author = rng.choice(authors)
            if tops and rng.random() < 0.3:
                parent = rng.choice(tops)
                s.add(Comment(video=video, author=author, parent_id=parent.id, start=parent.start, end=parent.end,
                              body=f"Reply {i}: " + " ".join(rng.choices(WORDS, k=12)), tags=[], clip=parent.clip,
                              created_at=when))
                continue
            start = round(rng.uniform(0, seconds - 30), 3)
            clip = rng.choice(clips) if rng.random() < 0.05 else None
            tags = [{"framework": k, "version": v, "element": e}
                    for k, v, e in rng.sample(elements, rng.choice((0, 0, 1, 1, 2)))]
            comment = Comment(video=video, author=author, start=start, end=start + 20 if rng.random() < 0.3 else None,
                              body=f"Comment {i}: " + " ".join(rng.choices(WORDS, k=25)), tags=tags, clip=clip,
                              quote="could someone explain why" if rng.random() < 0.1 else None, created_at=when)
            s.add(comment)
            s.flush()
            tops.append(comment)
        return owner.email, video.public_id


def log_in(client_get, client_post) -> None:
    page = client_get("/login")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client_post("/login", {"email": "owner@bench.example", "password": PASSWORD, "csrf_token": token})


def count_queries(env: dict[str, str], paths: dict[str, str], repeat: int = 5) -> dict[str, tuple[int, int, float]]:
    """SQL statements one request to each path makes, through a test client of the same app and data: when the
    process has kept nothing of the lesson (its first read, or the first after a change: app.cache) and when it
    has; and the CPU time (ms) one request takes in this process: unlike req/s, barely moved by other load on
    the machine."""
    from sqlalchemy import event

    from app import create_app, db
    from app.config import load_settings

    app = create_app(load_settings({**os.environ, **env}))
    client = app.test_client()
    log_in(lambda p: client.get(p).get_data(as_text=True), lambda p, d: client.post(p, data=d))
    engine = db.get_engine(app.extensions["classlab.settings"].database_url)
    counted: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        counted.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    out = {}
    try:
        for name, path in paths.items():
            client.get(path)  # the first request records the view, as the steady state has it recorded
            app.extensions["classlab.cache"].clear()
            counted.clear()
            status = client.get(path).status_code
            assert status == 200, (name, status)
            first = len(counted)
            counted.clear()
            client.get(path)
            queries = len(counted)
            cpu = time.process_time()
            for _ in range(repeat):
                client.get(path)
            out[name] = (first, queries, (time.process_time() - cpu) / repeat * 1000)
    finally:
        event.remove(engine, "before_cursor_execute", count)
        db.dispose_all()
    return out


class Server:
    """gunicorn -w 2 on loopback, in a process group of its own."""

    def __init__(self, env: dict[str, str], workers: int, log: Path):
        self.port = free_port()
        self.log = open(log, "w")  # noqa: SIM115 - closed in stop()
        exe = Path(sys.executable).with_name("gunicorn")
        self.proc = subprocess.Popen(
            [str(exe), "-w", str(workers), "-b", f"127.0.0.1:{self.port}", "--timeout", "60", "app:create_app()"],
            cwd=ROOT, env={**os.environ, **env, "PYTHONPATH": str(ROOT)}, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {log.read_text()}")
            try:
                if self.request("GET", "/api/v1/health")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer: {log.read_text()}")

    def request(self, method: str, path: str, body: str | None = None, headers: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.read(), resp.getheader("Set-Cookie")
        finally:
            conn.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def session_cookie(server: Server) -> str:
    """Log in as the owner over HTTP, as a browser would; return the Cookie header."""
    jar: dict[str, str] = {}

    def keep(set_cookie: str | None) -> None:
        for part in re.findall(r"(?:^|, )([A-Za-z_]+)=([^;]*)", set_cookie or ""):
            jar[part[0]] = part[1]

    def cookie() -> dict:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())}

    def get(path: str) -> str:
        status, body, set_cookie = server.request("GET", path, headers=cookie())
        keep(set_cookie)
        return body.decode()

    def post(path: str, data: dict) -> None:
        status, _, set_cookie = server.request(
            "POST", path, urlencode(data), {**cookie(), "Content-Type": "application/x-www-form-urlencoded"})
        assert status == 302, f"login answered {status}"
        keep(set_cookie)

    log_in(get, post)
    return cookie()["Cookie"]


def hammer(port: int, path: str, cookie: str, clients: int, seconds: float) -> tuple[int, int, list[float], float]:
    """`clients` threads sending GET `path` back to back for `seconds`. Returns (ok, errors, latencies, elapsed):
    requests under way at the deadline are finished and counted, over the time they took."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    stop = time.monotonic() + seconds

    def run(k: int) -> None:
        conn = None
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("GET", path, headers={"Cookie": cookie})
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    errors[k] += 1
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException):
                errors[k] += 1
                if conn is not None:
                    conn.close()
                conn = None
                continue
            latencies[k].append(time.perf_counter() - t0)
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=run, args=(k,), daemon=True) for k in range(clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 60)
    flat = [x for lat in latencies for x in lat]
    return len(flat) - sum(errors), sum(errors), flat, time.monotonic() - t0


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(p * len(sorted_values)))]


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10, help="per endpoint")
    parser.add_argument("--rounds", type=int, default=2,
                        help="the endpoints take turns this many times, so that a change in the machine's load "
                             "falls on all of them rather than on the one measured at that moment")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--comments", type=int, default=500)
    parser.add_argument("--minutes", type=float, default=45)
    parser.add_argument("--database-url", default="", help="a PostgreSQL server URL: a database of its own is made")
    args = parser.parse_args()
    if args.clients > 256 or args.seconds > 120 or not 1 <= args.rounds <= 10:
        parser.error("at most 256 clients, 120 seconds per endpoint and 10 turns")

    work = Path(tempfile.mkdtemp(prefix="classlab-bench-web-"))
    database = create_postgres(args.database_url) if args.database_url else f"sqlite:///{work}/db.sqlite"
    env = {"CLASSLAB_INSTANCE": str(work / "instance"), "DATABASE_URL": database,
           "STORAGE_URL": f"file://{work}/media", "SECRET_KEY": "bench-" + uuid.uuid4().hex, "LOG_LEVEL": "WARNING",
           "LOGIN_RATE_LIMIT": "1000 per minute"}
    os.environ.update(env)
    server = None
    try:
        from app import db, migrate

        migrate.upgrade(database)
        db.bind(database)
        t0 = time.perf_counter()
        _, public_id = seed(args.comments, args.minutes)
        print(f"seeded {args.comments} comments and a {args.minutes:g}-minute transcript in "
              f"{time.perf_counter() - t0:.1f} s on {database.split(':')[0]}")
        paths = {
            "health": "/api/v1/health",
            "watch page": f"/videos/{public_id}",
            "comments API": f"/api/v1/videos/{public_id}/comments",
            "transcript API": f"/api/v1/videos/{public_id}/transcript",
            "transcript.vtt": f"/videos/{public_id}/transcript.vtt",
        }
        queries = count_queries(env, paths)
        server = Server(env, args.workers, work / "gunicorn.log")
        cookie = session_cookie(server)
        sizes = {}
        for name, path in paths.items():  # each worker imports templates and warms caches once
            for _ in range(2 * args.workers):
                sizes[name] = len(server.request("GET", path, headers={"Cookie": cookie})[1])
        print(f"gunicorn -w {args.workers}, {args.clients} clients, {args.seconds:g} s per endpoint in {args.rounds} "
              f"turns; {load()}")
        done = {name: (0, 0, [], 0.0) for name in paths}
        for _ in range(args.rounds):
            for name, path in paths.items():
                ok, errors, lat, took = hammer(server.port, path, cookie, args.clients, args.seconds / args.rounds)
                done[name] = (done[name][0] + ok, done[name][1] + errors, done[name][2] + lat, done[name][3] + took)
        print(f"{'endpoint':<16} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'× health':>9} {'queries':>8} "
              f"{'first':>6} {'cpu ms':>7} {'bytes':>8} {'errors':>7}")
        health = done["health"][0] / done["health"][3]
        for name, (ok, errors, lat, took) in done.items():
            rate, lat = ok / took, sorted(lat)
            first, kept, cpu = queries[name]
            print(f"{name:<16} {rate:8.1f} {percentile(lat, 0.5) * 1000:8.1f} {percentile(lat, 0.95) * 1000:8.1f} "
                  f"{rate / health:9.2f} {kept:8d} {first:6d} {cpu:7.1f} {sizes[name]:8d} {errors:7d}")
        print("queries: per request in the steady state; first: the first request after a change (nothing kept)")
        print(f"goal: every endpoint ≥ 0.50 × health; {load()}")
    finally:
        if server is not None:
            server.stop()
        if args.database_url:
            drop_postgres(args.database_url, database)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
