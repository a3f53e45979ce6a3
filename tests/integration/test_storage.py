"""Both storage backends, through the same interface: local files and S3 (moto's server on loopback)."""

import hashlib
import io
import time
import urllib.request
import uuid

import pytest

from storage.base import ObjectNotFound, StorageError
from storage.local import LocalStorage
from storage.s3 import S3Storage


class Pattern(io.RawIOBase):
    """A readable stream of `size` deterministic bytes, produced on demand (never all in memory)."""

    def __init__(self, size: int):
        self.size, self.pos = size, 0
        self.sha = hashlib.sha256()

    def readable(self):
        return True

    def readinto(self, b):
        n = min(len(b), self.size - self.pos)
        if n <= 0:
            return 0
        chunk = bytes((self.pos + i) % 251 for i in range(min(n, 4096)))
        n = len(chunk)
        b[:n] = chunk
        self.sha.update(chunk)
        self.pos += n
        return n


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalStorage(str(tmp_path / "media"), secret="k")
    endpoint = request.getfixturevalue("s3_endpoint")
    s = S3Storage(f"b-{uuid.uuid4().hex[:10]}", prefix="env1", endpoint_url=endpoint,
                  access_key_id="x", secret_access_key="y")
    s.ensure_bucket()
    return s


def test_put_stream_size_exists_list_delete(store):
    assert store.put("videos/1/original/lesson.mp4", io.BytesIO(b"0123456789")) == 10
    store.put("videos/1/transcode/web.mp4", io.BytesIO(b"abc"))
    store.put("videos/2/original/x.mp4", io.BytesIO(b"z"))
    assert store.exists("videos/1/original/lesson.mp4")
    assert not store.exists("videos/9/none")
    assert store.size("videos/1/original/lesson.mp4") == 10
    assert b"".join(store.stream("videos/1/original/lesson.mp4")) == b"0123456789"
    assert b"".join(store.stream("videos/1/original/lesson.mp4", 2, 5)) == b"2345"
    assert b"".join(store.stream("videos/1/original/lesson.mp4", 7, None)) == b"789"
    assert store.list("videos/1/") == ["videos/1/original/lesson.mp4", "videos/1/transcode/web.mp4"]
    assert store.delete_prefix("videos/1/") == 2
    assert store.list("videos/") == ["videos/2/original/x.mp4"]
    store.delete("videos/1/original/lesson.mp4")  # already gone: not an error


def test_when_each_object_was_last_written(store):
    from datetime import UTC, datetime, timedelta

    before = datetime.now(UTC) - timedelta(seconds=5)  # S3 keeps whole seconds
    store.put("qti-imports/1/a.zip", io.BytesIO(b"a"))
    store.put("qti-imports/1/b.images", io.BytesIO(b"[]"))
    store.put("item-media/c.png", io.BytesIO(b"c"))
    first = store.modified("qti-imports/1/a.zip")
    assert first.tzinfo is not None and before <= first <= datetime.now(UTC) + timedelta(seconds=5)
    listed = store.listed("qti-imports/")
    assert [k for k, _ in listed] == ["qti-imports/1/a.zip", "qti-imports/1/b.images"]
    assert dict(listed)["qti-imports/1/a.zip"] == first
    time.sleep(1.1)
    store.put("qti-imports/1/a.zip", io.BytesIO(b"again"))  # written again: later
    assert store.modified("qti-imports/1/a.zip") > first
    with pytest.raises(ObjectNotFound):
        store.modified("qti-imports/1/none.zip")
    assert store.listed("nothing/") == []


def test_a_small_object_read_whole(store):
    store.put("item-media/d.png", io.BytesIO(b"\x89PNG" + bytes(range(256)) * 5000))
    assert store.read("item-media/d.png") == b"\x89PNG" + bytes(range(256)) * 5000  # over a megabyte: chunks joined
    with pytest.raises(ObjectNotFound):
        store.read("item-media/none.png")


def test_overwrite_replaces_instead_of_duplicating(store):
    store.put("videos/3/poster/poster.jpg", io.BytesIO(b"first"))
    store.put("videos/3/poster/poster.jpg", io.BytesIO(b"second!"))
    assert store.list("videos/3/") == ["videos/3/poster/poster.jpg"]
    assert b"".join(store.stream("videos/3/poster/poster.jpg")) == b"second!"


def test_missing_object_and_bad_ranges(store):
    with pytest.raises(ObjectNotFound):
        store.size("videos/404/x")
    with pytest.raises(ObjectNotFound):
        b"".join(store.stream("videos/404/x"))
    store.put("a/b", io.BytesIO(b"12345"))
    with pytest.raises(StorageError, match="not satisfiable"):
        store.stream("a/b", 10, 20)


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs/path", "a/../../b", "a//b", "", "a/b\x00c", "a b/c"])
def test_path_like_keys_are_refused(store, key):
    with pytest.raises(StorageError, match="invalid storage key"):
        store.put(key, io.BytesIO(b"x"))


def test_large_object_streams_in_and_out_in_chunks(store):
    """40 MiB goes up as a multipart upload on S3 and never sits in memory whole."""
    size = 40 * 1024 * 1024 + 123
    src = Pattern(size)
    assert store.put("videos/5/original/big.bin", src) == size
    assert store.size("videos/5/original/big.bin") == size
    out = hashlib.sha256()
    biggest = 0
    for chunk in store.stream("videos/5/original/big.bin"):
        biggest = max(biggest, len(chunk))
        out.update(chunk)
    assert out.hexdigest() == src.sha.hexdigest()
    assert biggest <= 1024 * 1024
    if isinstance(store, S3Storage):
        head = store.client.head_object(Bucket=store.bucket, Key=store._k("videos/5/original/big.bin"))
        assert "-" in head["ETag"], "expected a multipart upload"


def test_s3_signed_url_serves_and_expires(request, s3_endpoint):
    s = S3Storage(f"b-{uuid.uuid4().hex[:10]}", endpoint_url=s3_endpoint, access_key_id="x", secret_access_key="y")
    s.ensure_bucket()
    s.put("clips/1/clip.mp4", io.BytesIO(b"media bytes"))
    url = s.signed_url("clips/1/clip.mp4", 60, filename="שיעור.mp4")
    assert "X-Amz-Expires=60" in url and "X-Amz-Signature=" in url
    with urllib.request.urlopen(url) as resp:
        assert resp.read() == b"media bytes"
    unsigned = url.split("?")[0]
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(unsigned)
    assert err.value.code == 403


def test_local_signed_tokens_expire_and_cannot_be_forged(tmp_path):
    s = LocalStorage(str(tmp_path), secret="k1")
    s.put("videos/1/web/web.mp4", io.BytesIO(b"x"))
    url = s.signed_url("videos/1/web/web.mp4", 60)
    token = url.rsplit("/", 1)[1]
    assert s.resolve_signed(token) == ("videos/1/web/web.mp4", None)
    with pytest.raises(StorageError, match="not valid"):
        LocalStorage(str(tmp_path), secret="other").resolve_signed(token)
    with pytest.raises(StorageError, match="not valid"):
        s.resolve_signed(token[:-2] + "xx")
    expired = s.signed_url("videos/1/web/web.mp4", -1).rsplit("/", 1)[1]
    time.sleep(0.01)
    with pytest.raises(StorageError, match="expired"):
        s.resolve_signed(expired)


def test_put_file_stores_a_finished_file_that_outlives_its_job_folder(store, tmp_path):
    job = tmp_path / "job"
    job.mkdir()
    (job / "web.mp4").write_bytes(b"rendition bytes")
    assert store.put_file("videos/9/web/web.mp4", str(job / "web.mp4"), content_type="video/mp4") == 15
    (job / "web.mp4").unlink()
    job.rmdir()
    assert b"".join(store.stream("videos/9/web/web.mp4")) == b"rendition bytes"
    (tmp_path / "again.mp4").write_bytes(b"second")
    store.put_file("videos/9/web/web.mp4", str(tmp_path / "again.mp4"))
    assert b"".join(store.stream("videos/9/web/web.mp4")) == b"second"
    assert store.list("videos/9/") == ["videos/9/web/web.mp4"]


def test_download_to_makes_a_private_copy_that_outlives_a_replacement(store, tmp_path):
    store.put("videos/8/original/source.mp4", io.BytesIO(b"first version"))
    job = tmp_path / "job-original"
    store.download_to("videos/8/original/source.mp4", str(job))
    store.put("videos/8/original/source.mp4", io.BytesIO(b"second"))
    assert job.read_bytes() == b"first version"
    with pytest.raises(ObjectNotFound):
        store.download_to("videos/8/none", str(tmp_path / "x"))
