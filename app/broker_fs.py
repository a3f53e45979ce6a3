"""kombu's filesystem transport (the embedded broker of `make run`), with messages written atomically.

kombu 5's filesystem channel writes a message by opening its final ``*.msg`` name, then locking and
writing it; a consumer lists the folder, moves the file away and reads it *without* the lock. When the
consumer's poll falls between the sender's open() and write(), it reads an empty file and the worker
dies on the JSON ("Unrecoverable error: JSONDecodeError") — seen in a fresh-clone test run. The same
window exists for the exchange tables under the control folder (created with "wb", then locked).

Here a message is written under a temporary name that no consumer matches, flushed, and renamed to its
``*.msg`` name: a rename inside one folder is atomic, so a consumer sees a whole message or nothing.
Reading an exchange table that is being created (empty, or cut short) is retried for a moment instead
of failing. Everything else is kombu's.

`app.jobs` registers this class for ``filesystem://`` URLs, so BROKER_URL stays as documented.
"""

from __future__ import annotations

import os
import time
import uuid
from queue import Empty
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

# How long a reader waits for an exchange table that another process is writing.
TABLE_WAIT_SECONDS = 2.0


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        final = os.path.join(
            self.data_folder_out, f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        )
        # No '.' after the prefix's first part means `_get` (which matches "<stamp>.<queue>.msg") never
        # picks a half-written file up.
        partial = os.path.join(self.data_folder_out, f"writing-{uuid.uuid4().hex}")
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
                f.flush()
                os.fsync(f.fileno())
            os.replace(partial, final)
        except OSError as exc:
            try:
                os.unlink(partial)
            except OSError:
                pass
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc

    def _get(self, queue):
        # kombu moves a message to tempfile.gettempdir() before reading it; when /tmp is another file system
        # that move is a copy, and two consumers can both copy the same message. Moving it into the
        # broker's own processed folder (same folder tree, so a rename) gives it to exactly one consumer.
        wanted = f"{queue}.msg"
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.partition(".")[2] != wanted:
                continue
            taken = os.path.join(self.processed_folder, name)
            try:
                os.rename(os.path.join(self.data_folder_in, name), taken)
            except OSError:  # another consumer took it first
                continue
            try:
                with open(taken, "rb") as f:
                    payload = f.read()
                if not self.store_processed:
                    os.remove(taken)
            except OSError as exc:
                raise ChannelError(f"Cannot read file {taken!r} from queue.") from exc
            return loads(bytes_to_str(payload))
        raise Empty()

    def get_table(self, exchange):
        deadline = time.monotonic() + TABLE_WAIT_SECONDS
        while True:
            try:
                return super().get_table(exchange)
            except ValueError:  # empty or cut short: another process is creating the table right now
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.02)


class Transport(filesystem.Transport):
    Channel = Channel
