"""Upload throughput and web-process memory: a 1 GB tus upload against `curl -T` to a bare sink.

Both servers run under the same gunicorn settings on loopback; the figures are printed as ratios.
    .venv/bin/python bench/upload.py [--size-mb 1024]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, app: str, env: dict, cwd: Path):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [str(BIN / "gunicorn"), "-w", "1", "--threads", "4", "-b", f"127.0.0.1:{self.port}", "--timeout", "600",
             app], env={**os.environ, **env}, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=1)
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                time.sleep(0.2)
        self.worker_pid = self._worker_pid()

    def _worker_pid(self) -> int:
        for _ in range(50):
            out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout.split()
            if out:
                return int(out[0])
            time.sleep(0.1)
        raise RuntimeError("no gunicorn worker")

    def stop(self):
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=30)


class RssPeak:
    """Samples a process's resident memory every 20 ms."""

    def __init__(self, pid: int):
        self.pid, self.base, self.peak, self.running = pid, self.rss(pid), 0, True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @staticmethod
    def rss(pid: int) -> int:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    def _run(self):
        while self.running:
            self.peak = max(self.peak, self.rss(self.pid))
            time.sleep(0.02)

    def stop(self) -> int:
        self.running = False
        self.thread.join()
        return max(0, self.peak - self.base)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--chunk-mb", type=int, default=0, help="tus chunk size (0: the whole file in one PATCH)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="classlab-bench-upload-"))
    try:
        src = work / "lesson.bin"
        with open(src, "wb") as fh:
            for _ in range(args.size_mb):
                fh.write(os.urandom(1024 * 1024))
        size = src.stat().st_size
        env = {"CLASSLAB_INSTANCE": str(work / "instance"), "LOG_LEVEL": "WARNING", "SINK_DIR": str(work),
               "MAX_UPLOAD_BYTES": str(size * 2)}
        subprocess.run([str(BIN / "classlab"), "db", "upgrade"], env={**os.environ, **env}, check=True,
                       capture_output=True)
        subprocess.run([str(BIN / "classlab"), "user", "create", "--email", "bench@classlab.example", "--password",
                        "bench password 1"], env={**os.environ, **env}, check=True, capture_output=True)

        sink = Server("bench.sink:app", env, ROOT)
        try:
            t0 = time.perf_counter()
            subprocess.run(["curl", "-sS", "-o", "/dev/null", "-T", str(src), f"http://127.0.0.1:{sink.port}/"],
                           check=True)
            curl_s = time.perf_counter() - t0
        finally:
            sink.stop()

        app = Server("app:create_app()", env, ROOT)
        try:
            req = urllib.request.Request(
                f"http://127.0.0.1:{app.port}/api/v1/accounts/tokens", method="POST",
                data=json.dumps({"email": "bench@classlab.example", "password": "bench password 1",
                                 "name": "bench"}).encode(), headers={"Content-Type": "application/json"})
            token = json.load(urllib.request.urlopen(req))["token"]
            from tusclient import client as tus_client

            client = tus_client.TusClient(f"http://127.0.0.1:{app.port}/api/v1/uploads/",
                                          headers={"Authorization": f"Bearer {token}"})
            chunk = args.chunk_mb * 1024 * 1024 if args.chunk_mb else size
            # tuspy reads each chunk into its own memory; the server's memory is what we measure.
            rss = RssPeak(app.worker_pid)
            t0 = time.perf_counter()
            if args.chunk_mb:
                client.uploader(str(src), chunk_size=chunk, metadata={"filename": "lesson.mp4"}).upload()
            else:
                # One PATCH streamed from the file (what tus-js-client does by default): curl, like the baseline.
                loc = client.uploader(str(src), chunk_size=chunk, metadata={"filename": "lesson.mp4"}).create_url()
                subprocess.run(
                    ["curl", "-sS", "-o", "/dev/null", "-X", "PATCH", "-T", str(src), "-H", "Tus-Resumable: 1.0.0",
                     "-H", "Upload-Offset: 0", "-H", "Content-Type: application/offset+octet-stream",
                     "-H", f"Authorization: Bearer {token}", loc], check=True)
            tus_s = time.perf_counter() - t0
            growth = rss.stop()
        finally:
            app.stop()
        stored = list((work / "instance" / "media" / "videos").rglob("source.mp4"))
        assert stored and stored[0].stat().st_size == size, "upload incomplete"
        mb = size / 1e6
        print(f"file: {mb:.0f} MB on loopback, gunicorn -w 1 --threads 4, "
              f"tus chunk {'whole file' if not args.chunk_mb else f'{args.chunk_mb} MiB'}")
        print(f"curl -T to a streaming sink: {mb / curl_s:8.1f} MB/s ({curl_s:.2f} s)")
        print(f"ClassLab tus upload:         {mb / tus_s:8.1f} MB/s ({tus_s:.2f} s)")
        print(f"throughput ratio (tus / curl): {curl_s / tus_s:.2f}   (goal >= 0.7)")
        print(f"web process peak RSS growth: {growth / 1e6:.1f} MB   (goal < 64 MB)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
