"""S3 backend through boto3: any S3 endpoint (AWS, MinIO, Ceph, moto in tests)."""

from __future__ import annotations

from collections.abc import Iterator
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
        keys = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            keys.extend(obj["Key"][len(self.prefix):] for obj in page.get("Contents", []))
        return sorted(keys)

    def signed_url(self, key: str, expires_in: int, *, filename: str | None = None) -> str:
        params = {"Bucket": self.bucket, "Key": self._k(key)}
        if filename:
            params["ResponseContentDisposition"] = f"attachment; filename*=UTF-8''{_quote(filename)}"
        return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=int(expires_in))


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
