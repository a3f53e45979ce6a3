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

    def __init__(self, env: dict[str, str], log: Path):
        self.log = log
        self.fh = open(log, "w")  # noqa: SIM115 - closed in stop()
        exe = Path(sys.executable).with_name("classlab")
        self.proc = subprocess.Popen(
            [str(exe), "worker", "--concurrency=1", "--loglevel=INFO"], env={**os.environ, **env},
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


def stop_group(proc: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM a process group we started (a worker and its pool), SIGKILL it if it lingers."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
