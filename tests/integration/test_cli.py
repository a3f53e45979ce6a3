"""The `classlab` console script, run as a user would."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.processes import alive, classlab, free_port, process_tree, wait_http


def test_help_lists_the_operational_commands(tmp_path):
    out = classlab({"CLASSLAB_INSTANCE": str(tmp_path)}, "--help").stdout
    for command in ("run", "worker", "db", "user", "config", "health"):
        assert f"  {command} " in out
    assert "upgrade" in classlab({"CLASSLAB_INSTANCE": str(tmp_path)}, "db", "--help").stdout
    assert "create" in classlab({"CLASSLAB_INSTANCE": str(tmp_path)}, "user", "--help").stdout


def test_config_prints_effective_settings_with_secrets_masked(tmp_path):
    env = {"CLASSLAB_INSTANCE": str(tmp_path), "SECRET_KEY": "do-not-print-me",
           "DATABASE_URL": "postgresql://app:hunter2hunter2@db.internal/classlab", "BROKER_URL": "redis://mq:6379/1"}
    out = classlab(env, "config").stdout
    assert "do-not-print-me" not in out and "hunter2hunter2" not in out
    assert "postgresql://app:********@db.internal/classlab" in out
    values = json.loads(classlab(env, "config", "--json").stdout)
    assert values["BROKER_URL"] == "redis://mq:6379/1"
    assert values["RESULT_BACKEND"] == "redis://mq:6379/1"
    assert values["SECRET_KEY"] == "********"


def test_user_create_and_its_errors(stack):
    classlab(stack, "db", "upgrade")
    ok = classlab(stack, "user", "create", "--email", "Maya@School.example", "--role", "coach",
                  "--organization", "Tichon Bet", "--password", "long enough password")
    assert "Created coach maya@school.example" in ok.stdout
    dup = classlab(stack, "user", "create", "--email", "maya@school.example", "--password", "long enough password",
                   check=False)
    assert dup.returncode == 1 and "already exists" in dup.stderr and "Traceback" not in dup.stderr
    short = classlab(stack, "user", "create", "--email", "x@y.example", "--password", "short", check=False)
    assert short.returncode == 1 and "at least 10 characters" in short.stderr
    bad_role = classlab(stack, "user", "create", "--email", "x@y.example", "--role", "wizard",
                        "--password", "long enough password", check=False)
    assert bad_role.returncode == 2 and "wizard" in bad_role.stderr


def _start_embedded(tmp_path, log):
    env = {"CLASSLAB_INSTANCE": str(tmp_path / "instance"), "PYTHONUNBUFFERED": "1"}
    classlab(env, "db", "upgrade")
    port = free_port()
    fh = open(log, "w")  # noqa: SIM115 - closed by the caller's with
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("classlab")), "run", "--with-worker", "--port", str(port)],
        env={**os.environ, **env}, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True,
    )
    return proc, fh, port


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_run_with_worker_stops_its_worker_and_leaves_no_process(tmp_path, signum):
    log = tmp_path / "run.log"
    proc, fh, port = _start_embedded(tmp_path, log)
    with fh:
        try:
            wait_http(f"http://127.0.0.1:{port}/api/v1/health", proc, log)
            deadline = time.monotonic() + 60
            while "ready." not in log.read_text():  # the worker is idle, its pool started
                assert time.monotonic() < deadline and proc.poll() is None, log.read_text()
                time.sleep(0.2)
            tree = process_tree(proc.pid)
            assert len(tree) >= 2, tree  # the web process and its worker
            started = time.monotonic()
            os.kill(proc.pid, signum)  # only the web process, as a service manager, a terminal or the OOM killer would
            proc.wait(timeout=20)
            left = alive(tree | process_tree(proc.pid))
            while left and time.monotonic() - started < 15:
                time.sleep(0.2)
                left = alive(left)
            assert not left, f"still running after {time.monotonic() - started:.1f}s: {left}\n{log.read_text()}"
            assert time.monotonic() - started < 15
        finally:
            for pid in alive(process_tree(proc.pid)):
                os.kill(pid, signal.SIGKILL)
