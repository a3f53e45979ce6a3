"""The embedded (filesystem) broker keeps all its folders under the instance, none in the working directory."""

from __future__ import annotations

from app import jobs
from app.config import load_settings
from workers.celery_app import make_celery


def test_the_filesystem_broker_creates_no_control_folder_in_the_working_directory(tmp_path, monkeypatch):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    settings = load_settings({"CLASSLAB_INSTANCE": str(tmp_path / "instance")})
    celery = make_celery(settings)
    celery.send_task(jobs.HEALTH_PING, task_id="control-folder-test")  # declares the task exchange
    celery.control.broadcast("ping", reply=False)  # the worker's broadcast (pidbox) exchange
    assert list(cwd.iterdir()) == []  # kombu's default would be ./control
    control = tmp_path / "instance" / "broker" / "control"
    assert "celery.exchange" in {p.name for p in control.iterdir()}
