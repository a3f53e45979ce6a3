"""The live channel of PLC meetings under load: 20 meetings at once, 30 members' screens polling each.

    .venv/bin/python bench/meetings.py [--seconds 60] [--every 3] [--poll-ms 1000] [--workers 3]
                                       [--database-url postgresql://…/test] [--burst 0]

A fresh instance (SQLite by default; with --database-url, a database of its own is created on that PostgreSQL
server and dropped at the end) holds 20 communities, each with a facilitator and 30 members, and a live meeting
in each with one step. gunicorn serves it with 3 sync workers (as on each web machine of the README's
several-machine layout) on a free loopback port. The 600 members log in over HTTP, each with a cookie jar of its
own, and open their meeting's page (which marks them present and gives the CSRF token a response is sent with).

Then each member's screen polls GET /meetings/<id>/live every --poll-ms with the ETag it has, as
app/static/js/meeting-live.js does (the next poll --poll-ms after the answer; the first at a random moment of the
first interval), from a fixed pool of client threads serving a schedule. For --seconds, a random member of each
meeting posts a response every --every seconds (the meetings staggered); with --burst N, at the end, N members of
every meeting also respond at the same moment, after which nothing changes: a response whose change a screen missed
stays missed, and counts as lost. Polls go on 3 s after the last response.

Printed:
- the headline: the server's CPU per 1000 polls against the same poll load on a minimal WSGI app under the same
  gunicorn (304 to a matching If-None-Match, else a tiny JSON), measured for --raw-seconds right after;
- for every (response, member of its meeting other than its author): the delay from the moment its POST was sent
  to the answer of that member's first poll that held it: count, p50, p95, p99, max (goal: p95 <= 2 s);
- pairs never seen (lost), polls whose body held one response twice (duplicated), polls missing a response the
  member had already seen (vanished): the goal is 0 for each;
- polls per second, the share of 304 answers, poll latency p50/p95, how late the client sent polls after they were
  due (large when all its --threads wait for answers: what a screen waits is then split between the client's queue
  and the server's), errors; the POSTs' latency;
- the server's CPU in cores: gunicorn's master and workers (from psutil, else /proc), plus on PostgreSQL the
  database server's processes working for this database; this process's; the whole machine's busy, idle and stolen
  (steal: a virtual machine's host lent the cores elsewhere) time; the load average at the start and the end; and
  the lines of gunicorn's log that tell of an error.

The 2-core goal of the issue: 20 sessions x 30 members, a response on every member's screen within p95 <= 2 s,
nothing lost or duplicated, and the server's CPU at that load reported. The client runs on the same machine and
takes its share of the cores: its CPU is printed beside the server's.
"""

from __future__ import annotations

import argparse
import heapq
import http.client
import json
import os
import queue
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from unittest import mock
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.processes import free_port, process_tree, stop_group  # noqa: E402

PASSWORD = "bench password 1"
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
WORDS = ("she counts the pieces instead of comparing sizes so the half looks smaller than the third why did he "
         "draw equal parts here what would happen with eighths").split()

RAW_APP = '''"""The raw tools' poll: gunicorn and a WSGI callable, nothing else (bench/meetings.py)."""
import json

BODY = json.dumps({"version": 1, "status": "live", "current": 0, "steps": [], "responses": []}).encode()
ETAG = '"raw-1"'


def app(environ, start_response):
    if environ.get("HTTP_IF_NONE_MATCH") == ETAG:
        start_response("304 Not Modified", [("ETag", ETAG), ("Cache-Control", "private, no-cache")])
        return []
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY))),
                              ("ETag", ETAG), ("Cache-Control", "private, no-cache")])
    return [BODY]
'''


# ------------------------------------------------------------------------------------ the instance


def create_postgres(base: str) -> str:
    import psycopg

    name = f"classlab_bench_meetings_{uuid.uuid4().hex[:8]}"
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


def seed(communities: int, members: int) -> list[tuple[str, list[str]]]:
    """The communities and their live meetings, in one session committed at the end. Returns, per meeting, its
    public id and its members' e-mails (the facilitator not among them)."""
    from app import db
    from app.accounts import service as accounts
    from app.communities import service as community_service
    from app.db import utcnow
    from app.meetings import service as meetings

    # Every account gets the same password: argon2 (~0.15 s a hash) runs once, not 620 times; create_user makes
    # each account as usual otherwise.
    hashed = accounts.hash_password(PASSWORD)
    out = []
    with mock.patch.object(accounts, "hash_password", lambda _password: hashed), db.session_scope() as s:
        for c in range(communities):
            facilitator = accounts.create_user(s, email=f"f{c:02d}@bench.example", password=PASSWORD,
                                               role="facilitator", display_name=f"Facilitator {c}")
            people = [accounts.create_user(s, email=f"m{c:02d}-{m:02d}@bench.example", password=PASSWORD,
                                           display_name=f"Member {c}-{m}") for m in range(members)]
            community = community_service.create_community(s, facilitator, f"Mathematics PLC {c}", language="en")
            for person in people:
                community_service.add_member(s, facilitator, community.public_id, person.email)
            meeting = meetings.schedule(s, facilitator, community.public_id, title=f"Fractions, week {c}",
                                        starts_at=utcnow())
            meetings.add_step(s, facilitator, meeting.public_id, lang="en", title="Notice",
                              prompt="What do you notice in the students' work?", minutes=10)
            meetings.start(s, facilitator, meeting.public_id)
            out.append((meeting.public_id, [p.email for p in people]))
    return out


class Server:
    """gunicorn -w N (sync workers) on loopback serving `target`, in a process group of its own."""

    def __init__(self, target: str, env: dict[str, str], workers: int, log: Path, cwd: Path, health: str):
        self.port = free_port()
        self.log_path = log
        self.log = open(log, "w")  # noqa: SIM115 - closed in stop()
        exe = Path(sys.executable).with_name("gunicorn")
        self.proc = subprocess.Popen(
            [str(exe), "-w", str(workers), "-b", f"127.0.0.1:{self.port}", "--timeout", "60", target],
            cwd=cwd, env={**os.environ, **env, "PYTHONPATH": f"{cwd}{os.pathsep}{ROOT}"}, stdout=self.log,
            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {log.read_text()}")
            try:
                if request(self.port, "GET", health)[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer: {log.read_text()}")

    def cpu(self) -> float:
        return tree_cpu(self.proc.pid)

    def stop(self) -> None:
        stop_group(self.proc)
        self.log.close()


def tree_cpu(root: int) -> float:
    """CPU seconds (user + system) of a process and its descendants, and of the children it has reaped."""
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        try:
            top = psutil.Process(root)
            procs = [top, *top.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0.0
        total = 0.0
        for p in procs:
            try:
                t = p.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += t.user + t.system + (t.children_user + t.children_system if p is top else 0)
        return total
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in process_tree(root):
        try:
            text = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()  # fields from the state (the 3rd) on
        total += int(fields[11]) + int(fields[12])  # utime, stime
        if pid == root:
            total += int(fields[13]) + int(fields[14])  # cutime, cstime: workers that ended
    return total / tick


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of one process so far; 0 once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = text[text.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_pids(database: str) -> list[int]:
    """The PostgreSQL server's processes that work for this database: its backends (their title names the
    database) and the server's own (postmaster, WAL writer, checkpointer, background writer, autovacuum), which
    other databases share."""
    name = urlsplit(database).path.lstrip("/")
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        # a backend's title: "postgres: [cluster: ]user database host(port)|[local] what it does"
        words = title.split()
        at = next((j for j, w in enumerate(words) if j >= 3 and re.fullmatch(r"\S+\(\d+\)|\[local\]", w)), None)
        if at is None or words[at - 1] == name:
            found.append(int(entry.name))
    return found


def database_cpu(database: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL process working for the database; nothing on SQLite (it runs inside
    gunicorn's workers)."""
    return {pid: proc_cpu(pid) for pid in postgres_pids(database)} if database.startswith("postgres") else {}


def database_cpu_since(before: dict[int, float], database: str) -> float:
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in database_cpu(database).items())


def machine_times() -> tuple[float, float, float]:
    """(busy, idle, stolen) seconds of all the machine's cores so far (/proc/stat): a virtual machine's host may
    give its cores to others for a while (steal), which makes every figure slower."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = fields
    tick = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / tick, (idle + iowait) / tick, steal / tick


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# ------------------------------------------------------------------------------------ the members


class Member:
    """One member's browser: a cookie jar, the CSRF token of the meeting's page."""

    __slots__ = ("email", "meeting", "pid", "jar", "cookie", "csrf")

    def __init__(self, email: str, meeting: int, pid: str):
        self.email, self.meeting, self.pid = email, meeting, pid
        self.jar: dict[str, str] = {}
        self.cookie = ""
        self.csrf = ""

    def keep(self, resp: http.client.HTTPResponse) -> None:
        set_cookies = resp.msg.get_all("Set-Cookie") or []
        for header in set_cookies:
            name, _, value = header.split(";", 1)[0].partition("=")
            self.jar[name.strip()] = value.strip()
        if set_cookies:
            self.cookie = "; ".join(f"{k}={v}" for k, v in self.jar.items())


def request(port: int, method: str, path: str, body: str | None = None, headers: dict | None = None,
            member: Member | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        headers = dict(headers or {})
        if member is not None and member.cookie:
            headers["Cookie"] = member.cookie
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        if member is not None:
            member.keep(resp)
        return resp.status, data
    finally:
        conn.close()


def sign_in(port: int, member: Member) -> None:
    """Log in as a browser does, then open the meeting's page (present; the token its forms carry)."""
    status, page = request(port, "GET", "/login", member=member)
    token = CSRF.search(page.decode()).group(1)
    status, _ = request(port, "POST", "/login", urlencode({"email": member.email, "password": PASSWORD,
                                                           "csrf_token": token}),
                        {"Content-Type": "application/x-www-form-urlencoded"}, member)
    assert status == 302, f"login of {member.email} answered {status}"
    status, page = request(port, "GET", f"/meetings/{member.pid}", member=member)
    assert status == 200, f"the meeting's page answered {status} to {member.email}"
    member.csrf = CSRF.search(page.decode()).group(1)


class Pollers:
    """Every member's screen polling its meeting's live state: a dispatcher thread hands each member to the pool
    of `threads` when its poll is due; the next one is due `poll_ms` after the answer."""

    def __init__(self, port: int, members: list[Member], poll_ms: float, threads: int, seed: int = 1):
        self.port, self.members, self.every = port, members, poll_ms / 1000
        self.threads = threads
        n = len(members)
        self.paths = [f"/meetings/{m.pid}/live" for m in members]
        self.conns: list[http.client.HTTPConnection | None] = [None] * n
        self.etags: list[str | None] = [None] * n
        self.seen: list[dict[int, float]] = [{} for _ in range(n)]
        # (sent, answered, status, how late the client sent it) of every poll
        self.polls: list[tuple[float, float, int, float]] = []
        self.duplicated: list[tuple[str, list[int]]] = []
        self.vanished: list[tuple[str, list[int]]] = []
        self.errors: Counter = Counter()
        self.bodies = 0
        self._heap: list[tuple[float, int]] = []
        self._lock = threading.Lock()
        self._due: queue.SimpleQueue = queue.SimpleQueue()
        self._stop = threading.Event()
        self._rng = random.Random(seed)
        self._workers: list[threading.Thread] = []

    def start(self) -> None:
        now = time.monotonic()
        self._heap = [(now + self._rng.uniform(0, self.every), i) for i in range(len(self.members))]
        heapq.heapify(self._heap)
        self._workers = [threading.Thread(target=self._work, daemon=True) for _ in range(self.threads)]
        self._workers.append(threading.Thread(target=self._dispatch, daemon=True))
        for t in self._workers:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        for _ in range(self.threads):
            self._due.put(None)
        for t in self._workers:
            t.join(150)
        for conn in self.conns:
            if conn is not None:
                conn.close()

    def _dispatch(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            with self._lock:
                while self._heap and self._heap[0][0] <= now:
                    self._due.put(heapq.heappop(self._heap))
                wait = self._heap[0][0] - now if self._heap else 0.01
            time.sleep(min(max(wait, 0.0005), 0.01))

    def _work(self) -> None:
        while True:
            item = self._due.get()
            if item is None:
                return
            due, i = item
            self._poll(i, due)
            if not self._stop.is_set():
                with self._lock:
                    heapq.heappush(self._heap, (time.monotonic() + self.every, i))

    def _poll(self, i: int, due: float) -> None:
        member = self.members[i]
        headers = {"Accept": "application/json", "Cookie": member.cookie}
        if self.etags[i]:
            headers["If-None-Match"] = self.etags[i]
        sent = time.monotonic()
        try:
            conn = self.conns[i]
            if conn is None:
                conn = self.conns[i] = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            conn.request("GET", self.paths[i], headers=headers)
            resp = conn.getresponse()
            body = resp.read()  # gunicorn's sync workers close after each answer: the next request reconnects
        except (OSError, http.client.HTTPException) as exc:
            self.errors[type(exc).__name__] += 1
            if self.conns[i] is not None:
                self.conns[i].close()
                self.conns[i] = None
            return
        answered = time.monotonic()
        member.keep(resp)
        self.polls.append((sent, answered, resp.status, sent - due))
        if resp.status == 200:
            self.etags[i] = resp.getheader("ETag")
            ids = [r["id"] for r in json.loads(body)["responses"]]
            self.bodies += 1
            listed = set(ids)
            if len(listed) != len(ids):
                self.duplicated.append((member.email, ids))
            seen = self.seen[i]
            if len(seen) > len(listed) or not listed.issuperset(seen):
                self.vanished.append((member.email, sorted(set(seen) - listed)))
            for rid in ids:
                if rid not in seen:
                    seen[rid] = answered
        elif resp.status != 304:
            self.errors[f"HTTP {resp.status}"] += 1

    def window(self, start: float, end: float) -> list[tuple[float, float, int, float]]:
        return [p for p in self.polls if start <= p[1] < end]


class Writers:
    """In each meeting a random member responds every `every` seconds from `start` until `end`, the meetings
    staggered over the interval; with `burst`, `burst` members of every meeting respond at once at `at`."""

    def __init__(self, port: int, meetings: list[list[Member]], every: float, start: float, end: float,
                 burst: int = 0, at: float = 0.0):
        self.port, self.meetings, self.every, self.start, self.end = port, meetings, every, start, end
        # (response id, meeting, author's e-mail, POST sent, answered, kind)
        self.sent: list[tuple[int, int, str, float, float, str]] = []
        self.errors: list[str] = []
        self._threads = [threading.Thread(target=self._steady, args=(k,), daemon=True) for k in range(len(meetings))]
        if burst:
            go = threading.Barrier(burst * len(meetings))
            rng = random.Random(7)
            for k, people in enumerate(meetings):
                for member in rng.sample(people, min(burst, len(people))):
                    self._threads.append(threading.Thread(target=self._burst, args=(k, member, at, go), daemon=True))

    def run(self) -> None:
        for t in self._threads:
            t.start()

    def join(self) -> None:
        for t in self._threads:
            t.join(300)

    def _post(self, k: int, member: Member, kind: str, rng: random.Random) -> None:
        text = " ".join(rng.choices(WORDS, k=rng.randint(6, 20))).capitalize() + "."
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            body = urlencode({"csrf_token": member.csrf, "text": text})
            headers = {"Cookie": member.cookie, "Accept": "application/json",
                       "Content-Type": "application/x-www-form-urlencoded"}
            sent = time.monotonic()
            conn.request("POST", f"/meetings/{member.pid}/responses", body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            answered = time.monotonic()
            member.keep(resp)
            if resp.status == 201:
                self.sent.append((json.loads(data)["id"], k, member.email, sent, answered, kind))
            else:
                self.errors.append(f"{member.email}: HTTP {resp.status} {data[:200]!r}")
        except (OSError, http.client.HTTPException) as exc:
            self.errors.append(f"{member.email}: {exc!r}")
        finally:
            conn.close()

    def _steady(self, k: int) -> None:
        rng = random.Random(100 + k)
        at = self.start + self.every * k / len(self.meetings)
        while at < self.end:
            time.sleep(max(0.0, at - time.monotonic()))
            self._post(k, rng.choice(self.meetings[k]), "steady", rng)
            at += self.every

    def _burst(self, k: int, member: Member, at: float, go: threading.Barrier) -> None:
        time.sleep(max(0.0, at - time.monotonic()))
        go.wait(60)
        self._post(k, member, "burst", random.Random(member.email))


# ------------------------------------------------------------------------------------ figures


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(p * len(sorted_values)))]


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def measure_polls(pollers: Pollers, start: float, end: float) -> dict:
    polls = pollers.window(start, end)
    latency = sorted(p[1] - p[0] for p in polls)
    late = sorted(p[3] for p in polls)
    return {"count": len(polls), "rate": len(polls) / (end - start),
            "not_modified": sum(1 for p in polls if p[2] == 304) / max(1, len(polls)),
            "p50": percentile(latency, 0.5), "p95": percentile(latency, 0.95), "late95": percentile(late, 0.95),
            "late_max": late[-1] if late else float("nan")}


def delays(pollers: Pollers, writers: Writers, meetings: list[list[Member]], kind: str | None = None):
    """(delays of every (response, member other than its author) seen, pairs never seen)."""
    index = {m.email: i for i, m in enumerate(pollers.members)}
    found, lost = [], []
    for rid, k, author, sent, _answered, what in writers.sent:
        if kind is not None and what != kind:
            continue
        for member in meetings[k]:
            if member.email == author:
                continue
            at = pollers.seen[index[member.email]].get(rid)
            if at is None:
                lost.append((rid, member.email))
            else:
                found.append(at - sent)
    return sorted(found), lost


def gunicorn_problems(log: Path) -> list[str]:
    text = log.read_text(errors="replace")
    return [line for line in text.splitlines()
            if re.search(r"Traceback|\[ERROR\]|\[CRITICAL\]|WORKER TIMEOUT|Error|Exception", line)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60, help="how long responses are written")
    parser.add_argument("--every", type=float, default=3.0, help="a response per meeting every this many seconds")
    parser.add_argument("--poll-ms", type=float, default=1000, help="each screen's pause between polls")
    parser.add_argument("--communities", type=int, default=20)
    parser.add_argument("--members", type=int, default=30, help="per community, besides its facilitator")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn's sync workers")
    parser.add_argument("--threads", type=int, default=96,
                        help="the client's polling threads; most wait for an answer, and a slow server must not find "
                             "them all busy (polls held back by the client rather than queued at the server)")
    parser.add_argument("--raw-seconds", type=float, default=15, help="the raw gunicorn app's measurement")
    parser.add_argument("--burst", type=int, default=0,
                        help="at the end, this many members of every meeting respond at the same moment")
    parser.add_argument("--database-url", default="", help="a PostgreSQL server URL: a database of its own is made")
    args = parser.parse_args()
    if not (1 <= args.communities <= 100 and 1 <= args.members <= 100 and 1 <= args.seconds <= 600
            and 100 <= args.poll_ms <= 10000 and 0.2 <= args.every <= 60 and 1 <= args.threads <= 256
            and 1 <= args.workers <= 16 and 0 <= args.burst <= args.members and 1 <= args.raw_seconds <= 120):
        parser.error("at most 100 communities of 100 members, 600 s, 256 threads and 16 workers; polls every "
                     "100 ms to 10 s; a response every 0.2 to 60 s; a burst of at most --members")

    work = Path(tempfile.mkdtemp(prefix="classlab-bench-meetings-"))
    database = create_postgres(args.database_url) if args.database_url else f"sqlite:///{work}/db.sqlite"
    env = {"CLASSLAB_INSTANCE": str(work / "instance"), "DATABASE_URL": database,
           "STORAGE_URL": f"file://{work}/media", "SECRET_KEY": "bench-" + uuid.uuid4().hex, "LOG_LEVEL": "WARNING",
           "LOGIN_RATE_LIMIT": "100000 per minute"}
    os.environ.update(env)
    server = raw = None
    cores = os.cpu_count() or 1
    try:
        from app import db, migrate

        print(f"{load()} at the start; {cores} cores")
        migrate.upgrade(database)
        db.bind(database)
        t0 = time.perf_counter()
        made = seed(args.communities, args.members)
        db.dispose_all()
        print(f"seeded {args.communities} live meetings x {args.members} members in {time.perf_counter() - t0:.1f} s "
              f"on {database.split(':')[0]}")

        server = Server("app:create_app()", env, args.workers, work / "gunicorn.log", ROOT, "/api/v1/health")
        meetings = [[Member(email, k, pid) for email in emails] for k, (pid, emails) in enumerate(made)]
        members = [m for people in meetings for m in people]
        t0 = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda m: sign_in(server.port, m), members))
        print(f"{len(members)} members logged in and opened their meeting's page in {time.perf_counter() - t0:.1f} s "
              f"(argon2 on the server)")

        # ClassLab: every screen polls; after a first round (each screen's first answer is the whole state), the
        # responses for --seconds, then 3 s more for the last ones to arrive.
        pollers = Pollers(server.port, members, args.poll_ms, args.threads)
        pollers.start()
        time.sleep(args.poll_ms / 1000 * 2 + 1)
        start = time.monotonic()
        end = start + args.seconds
        writers = Writers(server.port, meetings, args.every, start, end, args.burst, end)
        cpu0, own0, load0, dbcpu0 = server.cpu(), own_cpu(), os.getloadavg()[0], database_cpu(database)
        machine0 = machine_times()
        writers.run()
        time.sleep(max(0.0, end - time.monotonic()))
        cpu1, own1, dbcpu = server.cpu(), own_cpu(), database_cpu_since(dbcpu0, database)
        busy, idle, stolen = (b - a for a, b in zip(machine0, machine_times(), strict=True))
        took = time.monotonic() - start
        writers.join()
        time.sleep(3)
        pollers.stop()
        server.stop()
        server_cores, client_cores, db_cores = (cpu1 - cpu0) / took, (own1 - own0) / took, dbcpu / took
        lab = measure_polls(pollers, start, start + took)
        lab_cpu_ms = (cpu1 - cpu0 + dbcpu) / max(1, lab["count"]) * 1000
        problems = gunicorn_problems(server.log_path)

        # The raw tools: the same screens polling a WSGI app that does nothing else.
        (work / "bench_raw_app.py").write_text(RAW_APP)
        raw = Server("bench_raw_app:app", env, args.workers, work / "gunicorn-raw.log", work, "/")
        raw_pollers = Pollers(raw.port, members, args.poll_ms, args.threads, seed=2)
        raw_pollers.start()
        time.sleep(args.poll_ms / 1000 * 2 + 1)
        rstart = time.monotonic()
        rcpu0, rown0 = raw.cpu(), own_cpu()
        time.sleep(args.raw_seconds)
        rcpu1, rown1 = raw.cpu(), own_cpu()
        rtook = time.monotonic() - rstart
        raw_pollers.stop()
        raw.stop()
        base = measure_polls(raw_pollers, rstart, rstart + rtook)
        raw_cpu_ms = (rcpu1 - rcpu0) / max(1, base["count"]) * 1000

        found, lost = delays(pollers, writers, meetings)
        posts = sorted(w[4] - w[3] for w in writers.sent)
        pairs = sum(len(meetings[w[1]]) - 1 for w in writers.sent)
        print()
        print(f"ClassLab CPU per poll / raw gunicorn CPU per poll = {lab_cpu_ms / raw_cpu_ms:.1f}   "
              f"({lab_cpu_ms:.2f} vs {raw_cpu_ms:.2f} CPU ms per poll, i.e. CPU s per 1000 polls; ClassLab's: "
              f"{'gunicorn + PostgreSQL' if database.startswith('postgres') else 'gunicorn'}, responses included)")
        print(f"{len(meetings)} live meetings x {args.members} members, gunicorn -w {args.workers} (sync), polls every "
              f"{args.poll_ms:g} ms, a response per meeting every {args.every:g} s for {took:.0f} s on "
              f"{database.split(':')[0]}")
        print(f"response -> every other member's screen: {len(found)} of {pairs} pairs, "
              f"p50 {percentile(found, .5):.2f} s, p95 {percentile(found, .95):.2f} s, "
              f"p99 {percentile(found, .99):.2f} s, max {found[-1] if found else float('nan'):.2f} s "
              f"(goal: p95 <= 2 s)")
        if args.burst:
            burst, burst_lost = delays(pollers, writers, meetings, "burst")
            print(f"  of which the burst ({args.burst} members of every meeting at once): {len(burst)} pairs, p95 "
                  f"{percentile(burst, .95):.2f} s, max {burst[-1] if burst else float('nan'):.2f} s, "
                  f"lost {len(burst_lost)}")
        print(f"lost {len(lost)}, duplicated {len(pollers.duplicated)}, vanished {len(pollers.vanished)} "
              f"(goal: 0 each)")
        for rid, email in lost[:5]:
            print(f"  lost: response {rid} never reached {email}")
        for email, ids in (pollers.duplicated + pollers.vanished)[:5]:
            print(f"  {email}: {ids[:20]}")
        print(f"responses posted {len(writers.sent)}, POST p50 {percentile(posts, .5) * 1000:.0f} ms p95 "
              f"{percentile(posts, .95) * 1000:.0f} ms, refused or failed {len(writers.errors)}")
        for error in writers.errors[:5]:
            print(f"  {error}")
        for name, figures, errors in (("ClassLab", lab, pollers.errors), ("raw", base, raw_pollers.errors)):
            print(f"{name:<8} polls {figures['rate']:.1f}/s (at most {len(members) / (args.poll_ms / 1000):.0f}/s), "
                  f"304 {figures['not_modified'] * 100:.1f} %, latency p50 {figures['p50'] * 1000:.1f} ms p95 "
                  f"{figures['p95'] * 1000:.1f} ms, client late p95 {figures['late95'] * 1000:.1f} ms max "
                  f"{figures['late_max'] * 1000:.0f} ms, errors {sum(errors.values())} {dict(errors) or ''}")
        with_db = (f" + PostgreSQL {db_cores:.2f} = {server_cores + db_cores:.2f}"
                   if database.startswith("postgres") else "")
        print(f"ClassLab server CPU {server_cores:.2f} cores of {cores} (gunicorn{with_db}; client "
              f"{client_cores:.2f}); raw gunicorn server CPU {(rcpu1 - rcpu0) / rtook:.2f} cores (client "
              f"{(rown1 - rown0) / rtook:.2f})")
        print(f"the machine during the measurement: busy {busy / took:.2f} cores, idle {idle / took:.2f}, stolen "
              f"{stolen / took:.2f} (steal); load average {load0:.2f} when it began; {load()} at the end")
        print(f"gunicorn's log: {len(problems)} lines with an error" + (":" if problems else ""))
        for line in problems[:10]:
            print(f"  {line[:200]}")
    finally:
        for s in (server, raw):
            if s is not None:
                s.stop()
        if args.database_url:
            drop_postgres(args.database_url, database)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
