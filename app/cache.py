"""What a web process keeps of the answers it has made, keyed by what they were made from (no Flask here).

    cache = AnswerCache(max_bytes)
    cache.get_or_make(key, make)  -> the value kept under `key`, made by `make()` -> (value, size) on a miss
    Body.of(data, content_type)   -> bytes with their strong ETag and their gzipped form, made once

Each process keeps its own, least recently used first out once `max_bytes` is reached. What keeps them right
across processes is the key, never a timeout: it names a version counter stored with the rows in the database
(`Video.feedback_version`, `Transcript.version`), bumped in the same transaction as any change to what the
answer shows. The caller reads that counter (with the row it authorizes, before anything else) and asks for
the key it makes, so a change committed by any process makes a new key everywhere, and nothing is ever
invalidated by hand. An entry under an old key is simply not asked for again and ages out.

Authorization is never cached: the caller checks who is asking on every request, before it asks for a key.
Keys hold the object's random public id besides its row id, so that two databases (tests, a restore) cannot
meet under one key.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

# Smaller answers are not worth compressing (one packet either way).
GZIP_FROM_BYTES = 1400


@dataclass(frozen=True, slots=True)
class Body:
    """A serialized answer and its strong ETag (a digest of the bytes: equal bytes in any process, equal tags),
    and the same bytes gzipped once, for the clients that accept it (a 45-minute transcript's 500 kB are 60)."""

    data: bytes
    content_type: str
    etag: str
    gzipped: bytes | None = None

    @classmethod
    def of(cls, data: bytes | str, content_type: str) -> Body:
        if isinstance(data, str):
            data = data.encode("utf-8")
        # mtime=0: the same bytes in every process, so the gzipped answer's tag holds everywhere too.
        gzipped = gzip.compress(data, compresslevel=6, mtime=0) if len(data) >= GZIP_FROM_BYTES else None
        return cls(data, content_type, hashlib.blake2b(data, digest_size=16).hexdigest(), gzipped)

    def __len__(self) -> int:
        return len(self.data) + len(self.gzipped or b"")


class AnswerCache:
    """A byte-bounded LRU map, safe to share between a process's threads."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max(0, int(max_bytes))
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return found[0]

    def put(self, key: Hashable, value: Any, size: int) -> None:
        """Keep `value` (about `size` bytes); something larger than the whole cache is not kept."""
        size = max(1, int(size))
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._items[key] = (value, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, (_, dropped) = self._items.popitem(last=False)
                self._bytes -= dropped

    def get_or_make(self, key: Hashable, make: Callable[[], tuple[Any, int]]) -> Any:
        """The value under `key`, or `make()`'s (value, size), kept. Two threads missing at once both make it:
        the same inputs give the same value, and a lock held while reading the database would serialize them."""
        found = self.get(key)
        if found is not None:
            return found
        value, size = make()
        self.put(key, value, size)
        return value

    def __len__(self) -> int:
        return len(self._items)

    @property
    def size(self) -> int:
        return self._bytes

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0
