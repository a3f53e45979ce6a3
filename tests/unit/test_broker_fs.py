"""The embedded broker never hands a consumer a half-written message, and each message to one consumer."""

from __future__ import annotations

import os
import threading

from kombu import Connection

from app import broker_fs
from app.config import load_settings
from app.jobs import broker_options


def _connection(tmp_path):
    settings = load_settings({"CLASSLAB_INSTANCE": str(tmp_path / "instance")})
    return Connection("filesystem://", transport_options=broker_options(settings))


def test_filesystem_urls_use_the_atomic_transport(tmp_path):
    with _connection(tmp_path) as conn:
        assert isinstance(conn.default_channel, broker_fs.Channel)


def test_a_message_being_written_is_invisible_and_appears_whole(tmp_path, monkeypatch):
    with _connection(tmp_path) as conn:
        channel = conn.default_channel
        folder = channel.data_folder_out
        seen_during_write: list[list[str]] = []
        real_fsync = os.fsync

        def fsync_and_look(fd):  # the moment between writing the bytes and renaming the file
            seen_during_write.append(sorted(os.listdir(folder)))
            try:
                channel._get("jobs")
            except broker_fs.Empty:
                seen_during_write.append(["no message yet"])
            return real_fsync(fd)

        monkeypatch.setattr(broker_fs.os, "fsync", fsync_and_look)
        channel._put("jobs", {"body": "x" * 100_000})
        monkeypatch.undo()
        assert seen_during_write[1] == ["no message yet"]
        assert not any(name.endswith(".msg") for name in seen_during_write[0])
        assert channel._get("jobs") == {"body": "x" * 100_000}
        assert [n for n in os.listdir(folder)] == []


def test_many_consumers_take_each_message_exactly_once(tmp_path):
    with _connection(tmp_path) as conn:
        for n in range(200):
            conn.default_channel._put("jobs", {"n": n})
    taken: list[int] = []
    lock = threading.Lock()

    def consume():
        with _connection(tmp_path) as conn:
            channel = conn.default_channel
            while True:
                try:
                    message = channel._get("jobs")
                except broker_fs.Empty:
                    return
                with lock:
                    taken.append(message["n"])

    threads = [threading.Thread(target=consume) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(taken) == list(range(200))


def test_an_exchange_table_being_created_is_waited_for(tmp_path, monkeypatch):
    with _connection(tmp_path) as conn:
        channel = conn.default_channel
        table = channel._exchange_file("celery")
        table.parent.mkdir(parents=True, exist_ok=True)
        table.write_text("")  # opened by its creator, not written yet

        def finish():
            table.write_text('[["celery", "", "celery"]]')

        timer = threading.Timer(0.1, finish)
        timer.start()
        try:
            assert [q.queue for q in channel.get_table("celery")] == ["celery"]
        finally:
            timer.join()
