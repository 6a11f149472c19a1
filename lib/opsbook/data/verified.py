"""Stored tables already found free of duplicate keys, remembered by the identity of their files.

Scheduled reports read the same warehouse file again and again; scanning 10M order lines for duplicates each
time would double the cost of a fast report. A table is checked once per version of its file: the identity is
the file's path, size, modification time and inode plus a hash of its first and last 64 KiB (a parquet
file's footer holds its row-group statistics), so any rewrite makes it new. Only clean results are kept,
as empty files in `.opsbook/verified/`; losing them costs one scan, never a wrong answer.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from .. import paths

VERSION = "1"  # change when the check itself changes: everything is checked again
EDGE = 64 * 1024


def fingerprint(path: Path, table: str, key: list[str]) -> str | None:
    """The identity of one table stored in `path` (a parquet, csv or DuckDB file); None if it cannot be read."""
    try:
        stat = path.stat()
        with open(path, "rb") as fh:
            head = fh.read(EDGE)
            fh.seek(max(stat.st_size - EDGE, 0))
            tail = fh.read(EDGE)
    except OSError:
        return None
    digest = hashlib.sha256()
    for part in (VERSION, str(path.resolve()), table, ",".join(key), str(stat.st_size), str(stat.st_mtime_ns),
                 str(stat.st_ino)):
        digest.update(part.encode() + b"\0")
    digest.update(head)
    digest.update(tail)
    return digest.hexdigest()[:32]


def _folder() -> Path:
    return paths.private() / "verified"


def known(identity: str | None) -> bool:
    """Whether this version of the table was already found clean."""
    return identity is not None and (_folder() / identity).exists()


def remember(identity: str | None) -> None:
    """Keep that this version of the table is clean (best effort: a read-only project just checks again)."""
    if identity is None:
        return
    try:
        _folder().mkdir(parents=True, exist_ok=True)
        (_folder() / identity).touch()
    except OSError:
        pass
