"""Real ClassLab processes for tests: the `classlab` console script, a Celery worker, and their clean-up."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def classlab(env: dict[str, str], *args: str, timeout: float = 120, check: bool = True,
             **kw) -> subprocess.CompletedProcess:
    """Run the real `classlab` console script in a subprocess with the given stack."""
    exe = Path(sys.executable).with_name("classlab")
    return subprocess.run(
        [str(exe), *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout,
        check=check, **kw,
    )


class Worker:
    """A real Celery worker process (`classlab worker`) on a stack's broker."""

    def __init__(self, env: dict[str, str], log: Path, *args: str):
        self.log = log
        self.fh = open(log, "w")  # noqa: SIM115 - closed in stop()
        exe = Path(sys.executable).with_name("classlab")
        self.proc = subprocess.Popen(
            [str(exe), "worker", "--concurrency=1", "--loglevel=INFO", *args], env={**os.environ, **env},
            stdout=self.fh, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited {self.proc.returncode}:\n{self.log.read_text()}")
            if "ready." in self.log.read_text():
                return
            time.sleep(0.2)
        raise RuntimeError(f"worker not ready after {timeout}s:\n{self.log.read_text()}")

    def stop(self) -> None:
        stop_group(self.proc)
        self.fh.close()


class WebServer:
    """The app under gunicorn, the production web server (several worker processes, threads in each), on a free
    loopback port, in a process group of its own."""

    def __init__(self, env: dict[str, str], log: Path, workers: int = 3, threads: int = 4):
        self.log = log
        self.fh = open(log, "w")  # noqa: SIM115 - closed in stop()
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        exe = Path(sys.executable).with_name("gunicorn")
        self.proc = subprocess.Popen(
            [str(exe), "-w", str(workers), "--threads", str(threads), "-b", f"127.0.0.1:{port}", "--timeout", "60",
             # Keep idle connections open longer than a test pauses between requests: a pooled keep-alive
             # connection closed by gunicorn (2 s by default) just as the client reuses it is a reset POST.
             "--keep-alive", "75",
             "app:create_app()"],
            cwd=Path(__file__).resolve().parents[1], env={**os.environ, **env}, stdout=self.fh,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            wait_http(self.url + "/api/v1/health", self.proc, log)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        stop_group(self.proc)
        self.fh.close()


def stop_group(proc: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM a process group we started (a worker and its pool), SIGKILL it if it lingers."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, session id) of a live process, None if it is gone or a zombie."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()  # the command name may hold spaces and parentheses
    if fields[0] == "Z":
        return None
    return int(fields[1]), int(fields[3])


def process_tree(root: int) -> set[int]:
    """Every live process descended from `root` or in its session (a child may start its own group)."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            table[int(entry.name)] = stat
    found = {pid for pid, (_ppid, sid) in table.items() if sid == root or pid == root}
    grew = True
    while grew:
        more = {pid for pid, (ppid, _sid) in table.items() if ppid in found} - found
        grew = bool(more)
        found |= more
    return found


def alive(pids: set[int]) -> set[int]:
    return {pid for pid in pids if _stat(pid) is not None}


def wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(log.read_text())
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer:\n{log.read_text()}")
