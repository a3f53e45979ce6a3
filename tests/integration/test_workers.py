"""A task runs in a real worker process, on the embedded broker, on Redis and on RabbitMQ."""

import json
import os
import time

import pytest

from tests.processes import Worker, classlab
from tests.stacks import require_service

# One pytest-xdist worker runs these one after another: the RabbitMQ broker is shared by every worker process.
pytestmark = pytest.mark.xdist_group("rabbitmq")


@pytest.fixture(params=["filesystem", "redis", "amqp"])
def broker_env(request, tmp_path):
    env = {"CLASSLAB_INSTANCE": str(tmp_path / "instance"), "SECRET_KEY": "worker-test", "LOG_LEVEL": "WARNING"}
    if request.param == "redis":
        env["BROKER_URL"] = require_service("redis")
    elif request.param == "amqp":
        env["BROKER_URL"] = require_service("amqp")  # results come back by the default rpc:// backend
    classlab(env, "db", "upgrade")
    return env


def test_health_task_round_trip_through_a_real_worker(broker_env, tmp_path):
    worker = Worker(broker_env, tmp_path / "worker.log")
    try:
        worker.wait_ready()
        out = classlab(broker_env, "health", "--timeout", "30")
        answer = json.loads(out.stdout)
        assert answer["database"] == "ok"
        assert answer["pid"] != os.getpid()
        # The answering process is the worker's child (prefork pool) or the worker itself.
        assert answer["pid"] in {worker.proc.pid, *_children(worker.proc.pid)}
    finally:
        worker.stop()


def test_health_without_a_worker_fails_clearly(tmp_path):
    env = {"CLASSLAB_INSTANCE": str(tmp_path / "instance"), "SECRET_KEY": "x"}
    out = classlab(env, "health", "--timeout", "2", check=False)
    assert out.returncode == 1
    assert "No worker answered within 2 s" in out.stderr
    assert "Traceback" not in out.stderr


def _children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    if int(fh.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.add(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return found


def test_beat_on_a_machine_without_the_instance_folder(broker_env, tmp_path):
    """A worker machine has its settings in the environment and no instance folder yet."""
    instance = tmp_path / "fresh" / "instance"
    env = {**broker_env, "CLASSLAB_INSTANCE": str(instance), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    classlab(env, "db", "upgrade")
    worker = Worker(env, tmp_path / "beat.log", "--beat")
    try:
        worker.wait_ready()
        deadline = time.monotonic() + 30
        while not list(instance.glob("celerybeat-schedule*")):
            assert time.monotonic() < deadline, worker.log.read_text()
            time.sleep(0.2)
        time.sleep(1)  # the beat's first tick, where it would fail to open its schedule
        assert worker.proc.poll() is None
        log = worker.log.read_text()
        assert "Traceback" not in log and "ERROR" not in log, log
    finally:
        worker.stop()
