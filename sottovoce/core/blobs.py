"""Blob stores for sealed (already encrypted) bytes: audio and rendered clips.

Stores only ever receive ciphertext; crypto.py seals before anything reaches them. ``BlobStore`` is
the interface; ``LocalBlobStore`` (a folder) is the embedded default and ``S3BlobStore`` speaks the
S3 API (AWS, SeaweedFS, MinIO, Ceph ...) for a fleet. ``blob_store_from_settings`` picks one from
``SOTTOVOCE_BLOB_URL``.

Why boto3 and not obstore: our callers are synchronous (worker threads, FastAPI sync routes), boto3's
client is thread-safe, has retries/time-outs we can bound, speaks every S3 dialect (path-style
addressing for SeaweedFS/MinIO) and is the most used S3 client there is; obstore is faster per call
but pre-1.0. boto3 is imported only when an ``s3://`` URL is configured, so the embedded default
does not pay for it.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol
from urllib.parse import urlparse

from sottovoce.core.errors import NotFound, SottovoceError

if TYPE_CHECKING:
    from sottovoce.core.settings import Settings

_HEX = frozenset("0123456789abcdef")


def new_blob_id() -> str:
    return secrets.token_hex(16)


def _check(blob_id: str) -> str:
    if len(blob_id) != 32 or not _HEX.issuperset(blob_id):
        raise NotFound("blob")  # also refuses path and key tricks such as "../"
    return blob_id


class BlobStoreUnavailable(SottovoceError):
    """The object store did not answer: the request fails (503) and nothing is acknowledged."""

    status = 503  # web/errors.py STATUS maps it so
    code = "blob_store_unavailable"
    retry_after_s = 2


class BlobInfo(NamedTuple):
    blob_id: str
    modified: float  # seconds since the epoch; the orphan sweep spares blobs younger than its grace


class BlobStore(Protocol):
    def put(self, data: bytes) -> str: ...
    def get(self, blob_id: str) -> bytes: ...
    def exists(self, blob_id: str) -> bool: ...
    def delete(self, blob_id: str) -> None: ...
    def delete_many(self, blob_ids: Iterable[str]) -> None: ...
    def ids(self) -> Iterator[str]: ...
    def listing(self) -> Iterator[BlobInfo]: ...
    def remove_partial_writes(self) -> int: ...


class LocalBlobStore:
    """One file per blob under a two-level fan-out folder; writes are atomic (temp, fsync, rename)."""

    def __init__(self, root: Path):
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _path(self, blob_id: str) -> Path:
        return self.root / _check(blob_id)[:2] / blob_id

    def put(self, data: bytes) -> str:
        blob_id = new_blob_id()
        path = self._path(blob_id)
        path.parent.mkdir(exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return blob_id

    def get(self, blob_id: str) -> bytes:
        try:
            return self._path(blob_id).read_bytes()
        except FileNotFoundError:
            raise NotFound("blob") from None

    def exists(self, blob_id: str) -> bool:
        try:
            return self._path(blob_id).exists()
        except NotFound:
            return False

    def delete(self, blob_id: str) -> None:
        self._path(blob_id).unlink(missing_ok=True)

    def delete_many(self, blob_ids: Iterable[str]) -> None:
        for blob_id in blob_ids:
            self.delete(blob_id)

    def ids(self) -> Iterator[str]:
        for info in self.listing():
            yield info.blob_id

    def listing(self) -> Iterator[BlobInfo]:
        for path in self.root.glob("??/*"):
            if path.name.startswith(".tmp-"):
                continue
            try:
                yield BlobInfo(path.name, path.stat().st_mtime)
            except FileNotFoundError:
                continue  # deleted while we listed

    def remove_partial_writes(self) -> int:
        """Delete temp files left by a process killed mid-write."""
        count = 0
        for path in self.root.glob("??/.tmp-*"):
            path.unlink(missing_ok=True)
            count += 1
        return count


class S3BlobStore:
    """Blobs as objects ``PREFIX/ab/abcd...`` in one bucket, over the S3 API.

    A PUT of one object is atomic on S3 (readers see all of it or nothing), so there are no partial
    writes to clean. Every call is bounded by time-outs; a store that does not answer raises
    ``BlobStoreUnavailable`` (HTTP 503) rather than hanging a request.
    """

    DELETE_BATCH = 1000  # the S3 limit for one DeleteObjects request
    DELETE_MIN_REQUEST = 50  # fewer keys per request than this are not worth a thread

    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None, region: str | None = None,
                 access_key_id: str | None = None, secret_access_key: str | None = None,
                 path_style: bool = True, connect_timeout_s: float = 3.0, read_timeout_s: float = 30.0,
                 max_attempts: int = 3, max_connections: int = 32, delete_parallel: int = 8):
        import boto3  # only a fleet configured for S3 imports boto3 (~0.3 s)
        from botocore.config import Config

        self.bucket = bucket
        self.delete_parallel = max(1, min(delete_parallel, max_connections))
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        config = Config(
            s3={"addressing_style": "path" if path_style else "auto"},
            connect_timeout=connect_timeout_s,
            read_timeout=read_timeout_s,
            retries={"max_attempts": max_attempts, "mode": "standard"},
            max_pool_connections=max_connections,
        )
        self.client = boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url or None, region_name=region or None,
            aws_access_key_id=access_key_id or None, aws_secret_access_key=secret_access_key or None, config=config,
        )

    def _key(self, blob_id: str) -> str:
        return f"{self.prefix}{_check(blob_id)[:2]}/{blob_id}"

    def _call(self, fn: Callable[..., Any], **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NotFound"):
                raise NotFound("blob") from None
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if status >= 500 or code in ("SlowDown", "ServiceUnavailable", "InternalError"):
                raise BlobStoreUnavailable("the object store is unavailable") from None
            raise
        except BotoCoreError:  # connection refused, time-outs, broken pipes
            raise BlobStoreUnavailable("the object store is unavailable") from None

    def put(self, data: bytes) -> str:
        blob_id = new_blob_id()
        self._call(self.client.put_object, Key=self._key(blob_id), Body=data, ContentType="application/octet-stream")
        return blob_id

    def get(self, blob_id: str) -> bytes:
        return self._call(self.client.get_object, Key=self._key(blob_id))["Body"].read()

    def exists(self, blob_id: str) -> bool:
        try:
            self._call(self.client.head_object, Key=self._key(blob_id))
            return True
        except NotFound:
            return False

    def delete(self, blob_id: str) -> None:
        self._call(self.client.delete_object, Key=self._key(blob_id))  # deleting a missing key succeeds

    def delete_many(self, blob_ids: Iterable[str]) -> None:
        """DeleteObjects in requests of at most 1,000 keys, up to ``delete_parallel`` at once (a
        server works through one request's keys one by one; several requests overlap)."""
        keys = [self._key(b) for b in blob_ids]
        if not keys:
            return
        per_request = min(self.DELETE_BATCH, max(self.DELETE_MIN_REQUEST, -(-len(keys) // self.delete_parallel)))
        batches = [keys[start : start + per_request] for start in range(0, len(keys), per_request)]
        if len(batches) == 1:
            self._delete_batch(batches[0])
            return
        with ThreadPoolExecutor(min(self.delete_parallel, len(batches)), thread_name_prefix="sottovoce-s3-delete") as pool:
            for _ in pool.map(self._delete_batch, batches):  # re-raises the first failure
                pass

    def _delete_batch(self, keys: list[str]) -> None:
        result = self._call(self.client.delete_objects, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True})
        if result.get("Errors"):  # a key we could not delete must not be reported as deleted
            raise BlobStoreUnavailable(f"the object store refused to delete {len(result['Errors'])} blobs")

    def ids(self) -> Iterator[str]:
        for info in self.listing():
            yield info.blob_id

    def listing(self) -> Iterator[BlobInfo]:
        token = None
        while True:
            kwargs = {"Prefix": self.prefix, **({"ContinuationToken": token} if token else {})}
            page = self._call(self.client.list_objects_v2, **kwargs)
            for obj in page.get("Contents", []):
                name = obj["Key"].rsplit("/", 1)[-1]
                if len(name) == 32 and _HEX.issuperset(name):  # anything else in the bucket is not ours
                    yield BlobInfo(name, obj["LastModified"].timestamp())
            if not page.get("IsTruncated"):
                return
            token = page["NextContinuationToken"]

    def remove_partial_writes(self) -> int:
        return 0  # an S3 PUT is all or nothing


def parse_blob_url(url: str) -> tuple[str, str, str]:
    """``s3://bucket/prefix`` -> ("s3", bucket, prefix); ``file:///path`` or a bare path -> ("file", path, "")."""
    parsed = urlparse(url)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise ValueError("an s3:// blob URL needs a bucket: s3://BUCKET/PREFIX")
        return "s3", parsed.netloc, parsed.path.strip("/")
    if parsed.scheme in ("", "file"):
        return "file", parsed.path if parsed.scheme else url, ""
    raise ValueError(f"unsupported blob URL scheme {parsed.scheme!r}; use s3:// or a folder")


def blob_store_from_settings(settings: Settings) -> LocalBlobStore | S3BlobStore:
    if not settings.blob_url:
        return LocalBlobStore(settings.resolved_blob_dir)
    scheme, where, prefix = parse_blob_url(settings.blob_url)
    if scheme == "file":
        return LocalBlobStore(Path(where).resolve())
    return S3BlobStore(
        where, prefix,
        endpoint_url=settings.s3_endpoint_url, region=settings.s3_region,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=settings.s3_secret_access_key.get_secret_value() if settings.s3_secret_access_key else None,
        path_style=settings.s3_path_style,
        connect_timeout_s=settings.s3_timeout_s, read_timeout_s=settings.s3_timeout_s,
    )
