"""Files a run refers to: written under a temporary name and renamed, identified by SHA-256."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_file_atomic(path: os.PathLike, data: bytes) -> str:
    """Write `data` to `path` through a temporary name in the same folder, fsync, rename.

    A reader (or a resumed run) sees either the old file or the whole new one, never a part.
    Returns the SHA-256 of `data`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    try:  # make the rename itself durable
        fd = os.open(path.parent, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return sha256_bytes(data)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return sha256_bytes(data)
