"""Local-file backend: objects are files under a root folder."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from itsdangerous import BadSignature, URLSafeSerializer

from storage.base import CHUNK, LinkExpired, ObjectNotFound, Storage, StorageError, check_key, parse_range

SIGNED_PATH = "/media/"


class LocalStorage(Storage):
    def __init__(self, root: str, *, secret: str):
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._signer = URLSafeSerializer(secret, salt="classlab.media")

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, stream: BinaryIO, *, content_type: str | None = None) -> int:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        n = 0
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    out.write(chunk)
                    n += len(chunk)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return n

    def put_file(self, key: str, path: str, *, content_type: str | None = None) -> int:
        """A hard link when on the same filesystem (the job folder is in the instance, like the store): a rendition
        of a 45-minute lesson is not copied byte by byte. The name is replaced atomically, as put() does."""
        dst = self._path(key)
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = dst.with_name(f".incoming-{os.getpid()}-{dst.name}")
        try:
            tmp.unlink(missing_ok=True)
            os.link(path, tmp)
        except OSError:
            return super().put_file(key, path, content_type=content_type)
        os.replace(tmp, dst)
        return dst.stat().st_size

    def stream(self, key: str, start: int | None = None, end: int | None = None) -> Iterator[bytes]:
        path = self._path(key)
        try:
            fh = open(path, "rb")  # noqa: SIM115 - closed by the generator below
        except FileNotFoundError:
            raise ObjectNotFound(key) from None
        size = os.fstat(fh.fileno()).st_size
        if start is None and end is None:
            first, last = 0, size - 1
        else:
            first, last = parse_range(start, end, size)

        def chunks() -> Iterator[bytes]:
            with fh:
                fh.seek(first)
                left = last - first + 1
                while left > 0:
                    chunk = fh.read(min(CHUNK, left))
                    if not chunk:
                        break
                    left -= len(chunk)
                    yield chunk

        return chunks()

    def download_to(self, key: str, path: str) -> None:
        """A hard link when on the same filesystem: objects are never rewritten in place (put() replaces
        the name with a new file), so the job's link keeps the bytes it started with."""
        src = self._path(key)
        if not src.is_file():
            raise ObjectNotFound(key)
        try:
            os.link(src, path)
        except OSError:
            super().download_to(key, path)

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        # Tidy empty folders up to the root so that a deleted video leaves nothing behind.
        parent = path.parent
        while parent != self.root and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            raise ObjectNotFound(key) from None

    def modified(self, key: str) -> datetime:
        try:
            return datetime.fromtimestamp(self._path(key).stat().st_mtime, UTC)
        except FileNotFoundError:
            raise ObjectNotFound(key) from None

    def _part(self, key: str) -> Path:
        return self.root / ".parts" / check_key(key).replace("/", "__")

    def begin_append(self, key: str) -> dict:
        part = self._part(key)
        part.parent.mkdir(parents=True, exist_ok=True)
        part.touch()
        return {"part": part.name}

    def append(self, key: str, state: dict, chunk_path: str, *, final: bool) -> dict:
        part = self._part(key)
        if not part.exists():
            raise StorageError(f"no upload in progress for {key}")
        if part.stat().st_size == 0:
            # The first (often the only) chunk: a rename instead of a copy when on the same filesystem.
            try:
                os.replace(chunk_path, part)
            except OSError:
                self._copy_into(part, chunk_path)
        else:
            self._copy_into(part, chunk_path)
        if final:
            path = self._path(key)
            path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(part, path)
        return state

    @staticmethod
    def _copy_into(part: Path, chunk_path: str) -> None:
        with open(part, "r+b") as out, open(chunk_path, "rb") as src:
            out.seek(0, os.SEEK_END)  # not "ab": copy_file_range refuses O_APPEND files
            # copy_file_range: the kernel copies, no bytes pass through this process's memory.
            left = os.fstat(src.fileno()).st_size
            while left > 0:
                n = os.copy_file_range(src.fileno(), out.fileno(), min(left, 1 << 30))
                if n == 0:
                    break
                left -= n
        os.unlink(chunk_path)

    def abort_append(self, key: str, state: dict) -> None:
        self._part(key).unlink(missing_ok=True)

    def list(self, prefix: str = "") -> list[str]:
        keys = []
        folder, _, _ = prefix.rpartition("/")  # walk only the folder the prefix names, not every object
        try:
            base = self.root / check_key(folder) if folder else self.root
        except StorageError:
            base = self.root
        if not base.is_dir():
            return []
        for path in base.rglob("*"):
            if path.is_file() and not path.name.startswith(".incoming-") and ".parts" not in path.parts:
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)

    def signed_url(self, key: str, expires_in: int, *, filename: str | None = None, audience: int | None = None) -> str:
        """A path served by the app's media view; the token carries the key, its age and who it was for."""
        token = self._signer.dumps({"k": check_key(key), "f": filename, "x": int(time.time()) + int(expires_in),
                                    "a": audience})
        return SIGNED_PATH + token

    def resolve_signed(self, token: str) -> tuple[str, str | None]:
        key, filename, _audience = self.resolve_signed_for(token)
        return key, filename

    def resolve_signed_for(self, token: str) -> tuple[str, str | None, int | None]:
        """The key and filename behind a token from signed_url(), or StorageError if bad or expired."""
        try:
            data = self._signer.loads(token)
            key, expires = check_key(data["k"]), int(data["x"])
        except (BadSignature, StorageError, KeyError, TypeError, ValueError):
            raise StorageError("This media link is not valid.") from None
        if time.time() > expires:
            raise LinkExpired("This media link has expired; reload the page for a new one.")
        return key, data.get("f"), data.get("a")
