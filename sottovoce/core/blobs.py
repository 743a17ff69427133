"""Blob stores for sealed (already encrypted) bytes: audio and rendered clips.

Stores only ever receive ciphertext; crypto.py seals before anything reaches them. ``BlobStore`` is
the interface an S3-compatible store would implement; ``LocalBlobStore`` is the embedded default.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from sottovoce.core.errors import NotFound


def new_blob_id() -> str:
    return secrets.token_hex(16)


class BlobStore(Protocol):
    def put(self, data: bytes) -> str: ...
    def get(self, blob_id: str) -> bytes: ...
    def delete(self, blob_id: str) -> None: ...
    def ids(self) -> Iterator[str]: ...


class LocalBlobStore:
    """One file per blob under a two-level fan-out folder; writes are atomic (temp, fsync, rename)."""

    def __init__(self, root: Path):
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _path(self, blob_id: str) -> Path:
        if len(blob_id) != 32 or not all(c in "0123456789abcdef" for c in blob_id):
            raise NotFound("blob")  # also refuses path tricks such as "../"
        return self.root / blob_id[:2] / blob_id

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

    def delete(self, blob_id: str) -> None:
        self._path(blob_id).unlink(missing_ok=True)

    def ids(self) -> Iterator[str]:
        for path in self.root.glob("??/*"):
            if not path.name.startswith(".tmp-"):
                yield path.name

    def remove_partial_writes(self) -> int:
        """Delete temp files left by a process killed mid-write."""
        count = 0
        for path in self.root.glob("??/.tmp-*"):
            path.unlink(missing_ok=True)
            count += 1
        return count
