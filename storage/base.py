"""The storage interface. Streams in and out: no method holds a whole object in memory."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from datetime import datetime
from typing import BinaryIO

CHUNK = 1024 * 1024
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*(/[A-Za-z0-9][A-Za-z0-9._\-]*)*$")


class StorageError(Exception):
    pass


class ObjectNotFound(StorageError):
    pass


class LinkExpired(StorageError):
    """A signed link that was good but is past its expiry (the page that gave it can give a fresh one)."""


def check_key(key: str) -> str:
    """Keys are ours (videos/<id>/<step>/name), never user input: reject anything path-like."""
    if not isinstance(key, str) or not _KEY.match(key) or ".." in key.split("/") or len(key) > 512:
        raise StorageError(f"invalid storage key {key!r}")
    return key


def parse_range(start: int | None, end: int | None, size: int) -> tuple[int, int]:
    """Inclusive byte range clamped to the object; raises for an unsatisfiable range."""
    first = 0 if start is None else start
    last = size - 1 if end is None else min(end, size - 1)
    if first < 0 or first >= size or last < first:
        raise StorageError(f"range {start}-{end} not satisfiable for {size} bytes")
    return first, last


class Storage(ABC):
    @abstractmethod
    def put(self, key: str, stream: BinaryIO, *, content_type: str | None = None) -> int:
        """Write `stream` to `key` (replacing it atomically); returns the number of bytes."""

    @abstractmethod
    def stream(self, key: str, start: int | None = None, end: int | None = None) -> Iterator[bytes]:
        """Yield the object's bytes, or the inclusive range start..end, in chunks."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove `key`; removing a missing key is not an error."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def size(self, key: str) -> int: ...

    @abstractmethod
    def list(self, prefix: str = "") -> list[str]:
        """All keys under `prefix`, sorted."""

    @abstractmethod
    def modified(self, key: str) -> datetime:
        """When the object was last written (aware, UTC); ObjectNotFound if it is not there."""

    def listed(self, prefix: str = "") -> list[tuple[str, datetime]]:
        """The keys under `prefix` with when each was last written, sorted by key (an object deleted meanwhile
        is left out); backends may list both at once."""
        out = []
        for key in self.list(prefix):
            try:
                out.append((key, self.modified(key)))
            except ObjectNotFound:
                continue
        return out

    @abstractmethod
    def signed_url(self, key: str, expires_in: int, *, filename: str | None = None, audience: int | None = None) -> str:
        """A URL that serves the object until it expires (seconds). `audience` names who it was issued to,
        where the backend can check it again when the URL is used (local files; S3 only expires)."""

    # Appending, for resumable uploads: each call adds one verified chunk (a local file, already on
    # disk) to an object that appears at `key` only when the last chunk is in.
    @abstractmethod
    def begin_append(self, key: str) -> dict:
        """Start an object built from chunks; returns the backend's state (JSON-serialisable)."""

    @abstractmethod
    def append(self, key: str, state: dict, chunk_path: str, *, final: bool) -> dict:
        """Add the file at `chunk_path` (consumed: moved or deleted) to the object; returns the new state."""

    @abstractmethod
    def abort_append(self, key: str, state: dict) -> None:
        """Discard a partly built object."""

    def delete_prefix(self, prefix: str) -> int:
        keys = self.list(prefix)
        for key in keys:
            self.delete(key)
        return len(keys)

    def put_file(self, key: str, path: str, *, content_type: str | None = None) -> int:
        """Store a finished file from a job folder (the worker's renditions); backends may do better than a copy.
        The job may delete `path` afterwards."""
        with open(path, "rb") as fh:
            return self.put(key, fh, content_type=content_type)

    def download_to(self, key: str, path: str) -> None:
        """Put a private copy of the object at `path` (a job folder); backends may do better than a copy."""
        with open(path, "wb") as fh:
            self.download(key, fh)

    def read(self, key: str) -> bytes:
        """A small object's bytes (an item's image, a caption file, a staged upload); ObjectNotFound if absent."""
        return b"".join(self.stream(key))

    def download(self, key: str, fh: BinaryIO) -> int:
        n = 0
        for chunk in self.stream(key):
            fh.write(chunk)
            n += len(chunk)
        return n


def open_storage(settings) -> Storage:
    url = settings.storage_url
    if url.startswith("file://"):
        from storage.local import LocalStorage

        return LocalStorage(url[len("file://"):], secret=settings.secret_key)
    if url.startswith("s3://"):
        from storage.s3 import S3Storage

        bucket, _, prefix = url[len("s3://"):].partition("/")
        return S3Storage(
            bucket,
            prefix=prefix,
            endpoint_url=settings.s3_endpoint_url or None,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id or None,
            secret_access_key=settings.s3_secret_access_key or None,
        )
    raise StorageError(f"unsupported STORAGE_URL {url!r}")
