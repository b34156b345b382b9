"""Content storage behind a small interface; the local filesystem implementation.

Contents are named by the SHA-256 of the untouched original, so the same bytes are stored once
and a stored file can always be checked against its name. A file is complete on disk (written
to a temporary name, flushed, fsynced, renamed, directory fsynced) before the row that points
to it commits.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path
from typing import Protocol

ALGORITHM = "sha256"


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ContentStore(Protocol):
    def put(self, digest: str, data: bytes) -> bool:
        """Store the bytes under their digest; True when this call wrote them, False when present."""

    def path(self, digest: str) -> Path:
        """Where the stored bytes can be read (the content is streamed from this file)."""

    def exists(self, digest: str) -> bool: ...

    def delete(self, digest: str) -> None: ...


class LocalFileStore:
    """`root/sha256/ab/abcdef…`: one directory level of 256 fan-out keeps directories small."""

    def __init__(self, root: Path, fsync: bool = True) -> None:
        self.root = Path(root)
        self.fsync = fsync

    def path(self, digest: str) -> Path:
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError("not a SHA-256 hex digest")  # the only name ever used as a path
        return self.root / ALGORITHM / digest[:2] / digest

    def exists(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def put(self, digest: str, data: bytes) -> bool:
        final = self.path(digest)
        if final.is_file() and final.stat().st_size == len(data):
            return False
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.parent / f".tmp-{secrets.token_hex(8)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o440)
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            if self.fsync:
                os.fsync(fd)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
        os.replace(tmp, final)
        if self.fsync:
            _fsync_dir(final.parent)
        return True

    def delete(self, digest: str) -> None:
        path = self.path(digest)
        if path.exists():
            path.unlink()
            if self.fsync:
                _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_store: list[ContentStore] = []


def configure(store: ContentStore) -> None:
    """The app and the CLI set the store once at start-up, from the settings."""
    _store[:] = [store]


def current() -> ContentStore:
    if not _store:
        raise RuntimeError("no content store configured")
    return _store[0]
