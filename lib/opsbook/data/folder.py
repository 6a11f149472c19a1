"""A folder of canonical tables (`<table>.parquet` or `<table>.csv`): the folder source, and the commit journal that
makes several tables written by one import visible together, which the next reader or writer completes."""
from __future__ import annotations

import fcntl
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from .. import paths
from ..errors import DataError, write_problem
from . import tables
from . import verified
from .duck import Source, quote

JOURNAL = ".opsbook-commit"
LOCK = ".opsbook-lock"


@dataclass
class FolderSource(Source):
    """A folder with one `<table>.parquet` or `<table>.csv` file per canonical table."""

    _files: dict[str, Path] = field(default_factory=dict, repr=False)  # table → its file, found when connecting

    def _text_tables(self):
        return {name for name, path in self._files.items() if path.suffix == ".csv"}

    def _identity(self, name, key):
        return verified.fingerprint(self._files[name], name, key) if name in self._files else None

    def _relations(self, con):
        folder = paths.resolve(self.location)
        if not folder.is_dir():
            raise DataError(f"找不到数据目录 {self.location}，请检查 source 参数（应为包含 orders.parquet 等文件的文件夹）")
        try:
            finish_commit(folder)  # an import killed among its renames: its tables are made whole first
        except OSError as exc:
            raise DataError(f"数据目录 {self.location} 中有一次未完成的导入，无法补完：{write_problem(folder, exc)}") from exc
        found, self._files, problems = {}, {}, []
        for name in tables.SCHEMAS:
            parquet, csv = folder / f"{name}.parquet", folder / f"{name}.csv"
            if parquet.is_file():
                found[name], self._files[name] = f"read_parquet('{quote(parquet)}')", parquet
            elif csv.is_file():
                trouble = _unreadable_csv(csv)
                if trouble:
                    problems.append(f"{self.location} 的 {name} 表：{csv.name} {trouble}")
                # read as text: the source checks and casts every column by its canonical type, cell by cell
                found[name], self._files[name] = f"read_csv('{quote(csv)}', header = true, all_varchar = true)", csv
        if problems:
            raise DataError(problems, headline=f"{self.location} 数据校验未通过，请修正后重试")
        return found


def _unreadable_csv(path: Path) -> str:
    """Why a CSV file cannot be read as a table ('' when it can): empty, or not UTF-8."""
    if path.stat().st_size == 0:
        return "是空文件（0 字节），请重新导出"
    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not a character cut at the end of the sample
            return "不是 UTF-8 编码（可能是 GBK）：请另存为 UTF-8 的 CSV，或用 opsbook ingest 导入后台导出的文件"
    return ""


def aside(folder: Path, table: str) -> Path:
    """Where a table's new version is written before its commit makes it visible."""
    return folder / f".{table}.parquet.tmp"


@contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold the folder's writer lock (concurrent writers into one folder wait for each other)."""
    with open(folder / LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def fsync(path: Path) -> None:
    """Flush a file or a folder (its entries: created and renamed files) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def commit(folder: Path, written: list[str]) -> None:
    """Make the tables written aside visible together (the caller holds the lock): journal them, then rename."""
    for table in written:
        fsync(aside(folder, table))
    journal = folder / JOURNAL
    pending = journal.with_name(journal.name + ".tmp")
    pending.write_text(json.dumps(written), encoding="utf-8")
    fsync(pending)
    os.replace(pending, journal)  # from here on the commit happens, even if this process dies
    fsync(folder)  # the journal and the files it names are on disk before any rename
    complete(folder)


def complete(folder: Path) -> None:
    """Finish the renames a commit journal lists, then drop it; without one, drop files of uncommitted writes.

    The caller holds the lock.
    """
    journal = folder / JOURNAL
    if not journal.exists():
        discard(folder)
        return
    for table in json.loads(journal.read_text(encoding="utf-8")):
        if aside(folder, table).exists():
            os.replace(aside(folder, table), folder / f"{table}.parquet")
    fsync(folder)  # the renames are on disk before the journal goes
    journal.unlink()


def discard(folder: Path) -> None:
    """Remove the files of writes no commit names (whole or cut short by a full disk); the caller holds the lock."""
    for stale in folder.glob(".*.parquet.tmp"):
        stale.unlink(missing_ok=True)


def pending(folder: Path) -> bool:
    """Whether a commit journal waits to be completed (its files must not be removed)."""
    return (folder / JOURNAL).exists()


def finish_commit(folder: Path) -> None:
    """Complete a commit a killed writer left half-done (a no-op when there is none): what a reader calls first."""
    if pending(folder):
        with locked(folder):
            complete(folder)
