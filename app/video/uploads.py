"""Resumable uploads (the tus 1.0 protocol's state, without HTTP). Each chunk is spooled to a private
file while its checksum is computed, then appended to storage only once verified; the web process
never holds more than a small buffer of it in memory."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
import tempfile
from datetime import timedelta
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import authz
from app.accounts.models import User
from app.db import utcnow
from app.errors import ChecksumMismatch, ClassLabError, Conflict, Gone, NotFound, TooLarge, msg
from app.inputs import check_text
from app.video import service
from app.video.models import Upload

CHECKSUM_ALGORITHMS = ("sha256", "sha1", "md5")
BUFFER = 1024 * 1024


def parse_metadata(header: str | None) -> dict[str, str]:
    """Upload-Metadata: comma-separated 'key base64value' pairs."""
    meta: dict[str, str] = {}
    for pair in (header or "").split(","):
        pair = pair.strip()
        if not pair:
            continue
        key, _, value = pair.partition(" ")
        if not key or not key.isascii() or " " in key:
            raise ClassLabError(msg("Upload-Metadata has a bad key '%(key)s'.", key=key), field="Upload-Metadata")
        try:
            meta[key] = base64.b64decode(value.strip(), validate=True).decode("utf-8") if value else ""
        except (binascii.Error, UnicodeDecodeError):
            raise ClassLabError(msg("Upload-Metadata value of '%(key)s' is not base64 of UTF-8 text.", key=key),
                                field="Upload-Metadata") from None
        check_text(key, meta[key])  # the title becomes the lesson's: the text rule of every field
    return meta


def parse_checksum(header: str | None) -> tuple[str, bytes] | None:
    if not header:
        return None
    algorithm, _, digest = header.strip().partition(" ")
    algorithm = algorithm.lower()
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise ClassLabError(msg("Checksum algorithm '%(name)s' is not supported; use sha256.", name=algorithm),
                            field="Upload-Checksum")
    try:
        return algorithm, base64.b64decode(digest.strip(), validate=True)
    except binascii.Error:
        raise ClassLabError(msg("Upload-Checksum's digest is not base64."), field="Upload-Checksum") from None


def create_upload(session: Session, store, owner: User, *, length: int | None, metadata: dict[str, str],
                  max_bytes: int, expiry_hours: int) -> Upload:
    """`length` None: the length is deferred (tus creation-defer-length), sent with a later chunk. A recording
    in the browser is uploaded while it is made, so its size is known only once it stops."""
    if length is not None:
        _check_length(length, max_bytes)
    filename = metadata.get("filename") or metadata.get("name") or ""
    video = service.create_video(session, owner, title=metadata.get("title"), filename=filename,
                                 language=metadata.get("language") or None)
    key = service.original_key(video, filename)
    upload = Upload(
        id=secrets.token_hex(16), video=video, owner_id=owner.id, length=length, offset=0,
        meta={"filename": service.safe_filename(filename), "key": key}, state=store.begin_append(key),
        expires_at=utcnow() + timedelta(hours=expiry_hours),
    )
    session.add(upload)
    session.flush()
    return upload


def _check_length(length: int, max_bytes: int) -> None:
    if length <= 0:
        raise ClassLabError(msg("The file is empty: there is nothing to upload."), field="Upload-Length")
    if length > max_bytes:
        raise TooLarge(msg("The file is %(size)s; the largest accepted is %(most)s.", size=_gb(length),
                           most=_gb(max_bytes)))


def _declare_length(upload: Upload, length: int, max_bytes: int) -> None:
    """A PATCH's Upload-Length: the length of a deferred upload, given once. Sent again (a client resending the
    chunk whose answer it never got), it must be the same; the chunk's own bytes are checked against it as they
    arrive, so nothing stored is touched by a wrong one."""
    if upload.length is not None:
        if length != upload.length:
            raise Conflict(msg("This upload's length is already %(length)d bytes; it cannot change to %(new)d.",
                               length=upload.length, new=length))
        return
    _check_length(length, max_bytes)
    if length < upload.offset:
        raise ClassLabError(msg("Upload-Length %(length)d is less than the %(offset)d bytes already received.",
                                length=length, offset=upload.offset), field="Upload-Length")
    upload.length = length


def get_upload(session: Session, actor: User, upload_id: str, *, lock: bool = False) -> Upload:
    query = select(Upload).where(Upload.id == str(upload_id)[:40])
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    upload = session.scalar(query)
    if upload is None:
        raise NotFound(msg("There is no such upload (it may have expired or been cancelled)."))
    authz.require(actor, "view", upload)
    if upload.completed_at is None and upload.expires_at <= utcnow():
        raise Gone(msg("This upload expired before it was finished; start it again."))
    return upload


def append_chunk(session: Session, store, actor: User, upload_id: str, *, offset: int, stream: BinaryIO,
                 checksum: tuple[str, bytes] | None, spool_dir: str, expiry_hours: int, max_bytes: int,
                 length: int | None = None) -> Upload:
    """Append one chunk. `length`: the PATCH's Upload-Length, which a deferred upload's client sends once it
    knows it (usually with the last chunk, or alone in an empty last PATCH)."""
    upload = get_upload(session, actor, upload_id, lock=True)
    if upload.completed_at is not None:
        raise Conflict(msg("This upload is already complete."))
    if offset != upload.offset:
        raise Conflict(msg("The upload is at byte %(at)d, not at %(offset)d: resume from %(at)d.", at=upload.offset,
                           offset=offset))
    if length is not None:
        _declare_length(upload, length, max_bytes)
    hasher = hashlib.new(checksum[0]) if checksum else None
    # A deferred upload may grow up to the largest accepted upload.
    room = (upload.length if upload.length is not None else max_bytes) - upload.offset
    os.makedirs(spool_dir, exist_ok=True)
    fd, spool = tempfile.mkstemp(dir=spool_dir, prefix=f"{upload.id}-")
    received, interrupted = 0, False
    try:
        with os.fdopen(fd, "wb") as out:
            while True:
                try:
                    block = stream.read(BUFFER)
                except OSError:
                    interrupted = True  # the connection dropped: keep what arrived (tus resumes from it)
                    break
                if not block:
                    break
                received += len(block)
                if received > room:
                    if upload.length is None:
                        raise TooLarge(msg("The upload goes past the largest accepted size of %(most)s; nothing of "
                                           "this chunk was kept.", most=_gb(max_bytes)))
                    raise ClassLabError(
                        msg("The chunk goes past the declared Upload-Length of %(n)d bytes.", n=upload.length),
                        field="Upload-Length",
                    )
                if hasher:
                    hasher.update(block)
                out.write(block)
        if checksum and (interrupted or hasher.digest() != checksum[1]):
            raise ChecksumMismatch(msg("The chunk's %(name)s does not match; nothing of it was kept. Send it again.",
                                       name=checksum[0]))
        # The last chunk completes the upload; so does an empty PATCH whose Upload-Length is the offset reached
        # (a recording stopped after its last bytes were sent): storage then finishes with an empty chunk.
        final = upload.length is not None and upload.offset + received == upload.length
        if received == 0 and not final:
            os.unlink(spool)
            return upload
        upload.state = store.append(upload.meta["key"], upload.state, spool, final=final)
    except BaseException:
        if os.path.exists(spool):
            os.unlink(spool)
        raise
    upload.offset += received
    upload.expires_at = utcnow() + timedelta(hours=expiry_hours)
    if final:
        upload.completed_at = utcnow()
        service.mark_uploaded(session, upload.video, upload.meta["key"], upload.length)
        service.start_processing(session, upload.video)
    return upload


def terminate(session: Session, store, actor: User, upload_id: str) -> None:
    upload = get_upload(session, actor, upload_id)
    authz.require(actor, "delete", upload)
    if upload.completed_at is not None:
        raise Conflict(msg("This upload is complete; delete the video instead."))
    store.abort_append(upload.meta["key"], upload.state)
    session.delete(upload.video)


def expire_uploads(session: Session, store) -> int:
    """Abandoned uploads: free their storage and forget them."""
    stale = session.scalars(select(Upload).where(Upload.completed_at.is_(None), Upload.expires_at <= utcnow()))
    n = 0
    for upload in list(stale):
        store.abort_append(upload.meta["key"], upload.state)
        session.delete(upload.video)
        n += 1
    return n


def _gb(n: int) -> str:
    return f"{n / 1024**3:.1f} GB" if n >= 1024**3 else f"{n / 1024**2:.1f} MB"
