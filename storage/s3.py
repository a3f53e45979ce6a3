"""S3 backend through boto3: any S3 endpoint (AWS, MinIO, Ceph, moto in tests)."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import BinaryIO

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from storage.base import CHUNK, ObjectNotFound, Storage, StorageError, check_key, parse_range

# Objects above 16 MiB go up as multipart uploads of 16 MiB parts, streamed from the source.
TRANSFER = TransferConfig(multipart_threshold=16 * CHUNK, multipart_chunksize=16 * CHUNK, max_concurrency=2)


class S3Storage(Storage):
    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
    ):
        if not bucket:
            raise StorageError("STORAGE_URL s3:// needs a bucket name")
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"mode": "standard"}),
        )

    def _k(self, key: str) -> str:
        return self.prefix + check_key(key)

    def ensure_bucket(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            self.client.create_bucket(Bucket=self.bucket)

    def put(self, key: str, stream: BinaryIO, *, content_type: str | None = None) -> int:
        counter = _Counting(stream)
        extra = {"ContentType": content_type} if content_type else None
        self.client.upload_fileobj(counter, self.bucket, self._k(key), ExtraArgs=extra, Config=TRANSFER)
        return counter.n

    def stream(self, key: str, start: int | None = None, end: int | None = None) -> Iterator[bytes]:
        kwargs = {"Bucket": self.bucket, "Key": self._k(key)}
        if start is not None or end is not None:
            first, last = parse_range(start, end, self.size(key))
            kwargs["Range"] = f"bytes={first}-{last}"
        try:
            body = self.client.get_object(**kwargs)["Body"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] in {"NoSuchKey", "404"}:
                raise ObjectNotFound(key) from None
            raise StorageError(str(exc)) from exc
        return body.iter_chunks(CHUNK)

    def begin_append(self, key: str) -> dict:
        upload = self.client.create_multipart_upload(Bucket=self.bucket, Key=self._k(key))
        return {"upload_id": upload["UploadId"], "parts": [], "tail": 0}

    def _tail_key(self, key: str) -> str:
        return self._k(key) + ".tail"

    def append(self, key: str, state: dict, chunk_path: str, *, final: bool) -> dict:
        """Upload the chunk as parts of 5 MiB or more; a smaller remainder waits in a tail object, so
        that the next chunk may arrive at any web machine."""
        state = {**state, "parts": list(state["parts"])}
        work = chunk_path
        if state["tail"]:
            # Prepend the waiting tail: one local file holds tail + chunk.
            joined = chunk_path + ".joined"
            with open(joined, "wb") as out:
                body = self.client.get_object(Bucket=self.bucket, Key=self._tail_key(key))["Body"]
                for piece in body.iter_chunks(CHUNK):
                    out.write(piece)
                with open(chunk_path, "rb") as src:
                    while piece := src.read(CHUNK * 8):
                        out.write(piece)
            os.unlink(chunk_path)
            work = joined
        try:
            total = os.path.getsize(work)
            pos = 0
            with open(work, "rb") as fh:
                while (final and pos < total) or (not final and total - pos >= MIN_PART):
                    size = min(MAX_PART, total - pos)
                    if not final and 0 < total - pos - size < MIN_PART:
                        size = total - pos  # a remainder too small to stand alone rides with this part
                    number = len(state["parts"]) + 1
                    resp = self.client.upload_part(
                        Bucket=self.bucket, Key=self._k(key), UploadId=state["upload_id"], PartNumber=number,
                        Body=_Slice(fh, pos, size), ContentLength=size,
                    )
                    state["parts"].append({"PartNumber": number, "ETag": resp["ETag"]})
                    pos += size
                state["tail"] = total - pos
                if state["tail"]:
                    self.client.upload_fileobj(_Slice(fh, pos, state["tail"]), self.bucket, self._tail_key(key))
            if final:
                self.client.complete_multipart_upload(
                    Bucket=self.bucket, Key=self._k(key), UploadId=state["upload_id"],
                    MultipartUpload={"Parts": state["parts"]},
                )
                self.client.delete_object(Bucket=self.bucket, Key=self._tail_key(key))
        finally:
            if os.path.exists(work):
                os.unlink(work)
        return state

    def abort_append(self, key: str, state: dict) -> None:
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=self._k(key), UploadId=state["upload_id"])
        except ClientError:
            pass  # already completed or aborted
        self.client.delete_object(Bucket=self.bucket, Key=self._tail_key(key))

    def download_to(self, key: str, path: str) -> None:
        try:
            self.client.download_file(self.bucket, self._k(key), path, Config=TRANSFER)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in {"404", "NoSuchKey", "NotFound"}:
                raise ObjectNotFound(key) from None
            raise StorageError(str(exc)) from exc

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._k(key))

    def _head(self, key: str) -> dict | None:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=self._k(key))
        except ClientError as exc:
            if exc.response["Error"]["Code"] in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise StorageError(str(exc)) from exc

    def exists(self, key: str) -> bool:
        return self._head(key) is not None

    def size(self, key: str) -> int:
        head = self._head(key)
        if head is None:
            raise ObjectNotFound(key)
        return int(head["ContentLength"])

    def list(self, prefix: str = "") -> list[str]:
        return [key for key, _ in self.listed(prefix)]

    def modified(self, key: str) -> datetime:
        head = self._head(key)
        if head is None:
            raise ObjectNotFound(key)
        return head["LastModified"].astimezone(UTC)

    def listed(self, prefix: str = "") -> list[tuple[str, datetime]]:
        out = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            out.extend((obj["Key"][len(self.prefix):], obj["LastModified"].astimezone(UTC))
                       for obj in page.get("Contents", []))
        return sorted(out)

    def signed_url(self, key: str, expires_in: int, *, filename: str | None = None, audience: int | None = None) -> str:
        params = {"Bucket": self.bucket, "Key": self._k(key)}
        if filename:
            params["ResponseContentDisposition"] = f"attachment; filename*=UTF-8''{_quote(filename)}"
        return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=int(expires_in))


MIN_PART = 5 * 1024 * 1024  # S3's smallest part but the last
MAX_PART = 512 * 1024 * 1024


class _Slice(io.RawIOBase):
    """A seekable window onto part of a file, so boto3 can hash and resend one part without a copy."""

    def __init__(self, fh, start: int, length: int):
        self.fh, self.start, self.length, self.pos = fh, start, length, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self.pos, 2: self.length}[whence]
        self.pos = max(0, min(self.length, base + offset))
        return self.pos

    def read(self, size: int = -1) -> bytes:
        left = self.length - self.pos
        if size is None or size < 0 or size > left:
            size = left
        self.fh.seek(self.start + self.pos)
        data = self.fh.read(size)
        self.pos += len(data)
        return data

    def __len__(self) -> int:
        return self.length


class _Counting:
    """Counts bytes as boto3 streams them, and fills each read: boto3 takes a short read for the
    end of the stream, so a socket or pipe that returns less than asked would end the upload early."""

    def __init__(self, raw: BinaryIO):
        self.raw = raw
        self.n = 0

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            data = self.raw.read()
        else:
            parts, want = [], size
            while want > 0:
                part = self.raw.read(want)
                if not part:
                    break
                parts.append(part)
                want -= len(part)
            data = b"".join(parts)
        self.n += len(data)
        return data


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")
