"""The run store: the one place that knows where runs live and how a run is filed.

A run is one `RunRecord` everywhere — returned by the runner, passed through the scheduler, read back by the
history and the forms; `result.json` is its JSON form, and each line of `index.jsonl` its summary (without flags
and tables). `RunStore` keeps runs in a folder:

    <root>/<playbook>/.new-<id>/   being made: result.json and the owner's pid, then renamed at once to
    <root>/<playbook>/.tmp-<id>/   running (a process killed meanwhile leaves it for `file_interrupted`)
    <root>/<playbook>/<id>/        filed: report.html, result.json, tables, executed.ipynb — never changed again
    <root>/<playbook>/latest       → the newest good run of a job (what the jobs last published; a failed run or an
                                   ad-hoc run from the CLI or a form never replaces it)
    <root>/index.jsonl             one summary line per filed run, appended under a lock

Filed runs are kept at least two years (`settings.MIN_KEEP_DAYS`): `RunStore.prune` is the one thing that deletes
filed run folders, and it refuses a shorter retention. A shared store for runs across machines implements the same
methods. Code above the engine reacts to filed runs
through `subscribe` (the history page does), so filing a run knows nothing about pages or alerts.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import fcntl
import json
import logging
import os
import secrets
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import psutil

from .. import paths
from ..errors import ParamError
from ..flags import Flag, counts
from ..jsonsafe import json_dumps
from ..settings import KEEP_DAYS_ENV, MIN_KEEP_DAYS, RUNS_ENV, TZ, RunStatus

log = logging.getLogger("opsbook.records")
INDEX = "index.jsonl"
RESULT = "result.json"
REPORT = "report.html"
PID_FILE = ".pid"
LATEST = "latest"
ABANDONED_AFTER = 600  # seconds after which a half-made run folder (`.new-*`) is removed


@dataclass
class RunRecord:
    """One run: `exit_code` is 0 ok, 1 playbook failed, 2 bad parameters or input.

    `run_id` and `folder` are None for an attempt that made no run (a scheduled slot refused before executing).
    A record read from the index is a summary: `flags` and `tables` are empty, `flag_counts` and `flag_codes` are
    kept (`RunStore.load` reads the whole record).
    """

    run_id: str | None
    playbook: str
    status: RunStatus
    exit_code: int = 1
    folder: Path | None = None
    params: dict = field(default_factory=dict)
    trigger: str = "cli"
    job: str | None = None
    started: str = ""
    finished: str = ""
    seconds: dict = field(default_factory=dict)
    git: str = ""
    metrics: dict = field(default_factory=dict)
    flags: list[Flag] = field(default_factory=list)
    tables: dict = field(default_factory=dict)
    error: str | None = None
    retryable: bool = False  # another try may pass: anything but bad parameters or data
    slot: str | None = None  # the scheduled fire time this run is for (scheduler runs only)
    attempt: int = 1
    user: str = ""  # who ran it: an account (form), `任务 <job>` (scheduled, `jobs run`), `命令行 <os user>` (CLI)
    address: str = ""  # where a form run was asked from ('' for the CLI and the scheduler)
    flag_counts: dict[str, int] = field(default_factory=lambda: counts([]))
    flag_codes: dict[str, str] = field(default_factory=dict)  # code → severity, to compare runs from the index

    def __post_init__(self):
        self.status = RunStatus(self.status)
        if self.flags:
            self.set_flags(self.flags)

    @property
    def ok(self) -> bool:
        """True when the playbook completed."""
        return self.status == RunStatus.OK

    @property
    def report(self) -> Path | None:
        """Path of the HTML report (None for an attempt that made no run)."""
        return self.folder / REPORT if self.folder else None

    def set_flags(self, flags: list[Flag]) -> None:
        """The run's flags, with their counts per severity and codes."""
        self.flags = list(flags)
        self.flag_counts = counts(self.flags)
        self.flag_codes = {f.code: str(f.severity) for f in self.flags}

    def to_json(self) -> dict:
        """The content of result.json."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["status"] = str(self.status)
        data["folder"] = str(self.folder) if self.folder else None
        data["flags"] = [f.to_dict() for f in self.flags]
        return data

    @classmethod
    def from_json(cls, data: dict, root: Path | None = None) -> RunRecord:
        """A record from result.json or an index line (older ones may lack fields; a relative folder is under `root`)."""
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known and v is not None}  # a missing value takes the default
        values.setdefault("run_id", None)
        values.setdefault("playbook", "")
        values.setdefault("status", RunStatus.FAILED)
        values.setdefault("exit_code", 0 if values["status"] == RunStatus.OK else 1)
        values["attempt"] = int(values.get("attempt", 1))
        folder = Path(values.pop("folder")) if values.get("folder") else None
        values["folder"] = Path(root) / folder if folder and root is not None and not folder.is_absolute() else folder
        flag_fields = {f.name for f in dataclasses.fields(Flag)}
        values["flags"] = [Flag(**{k: v for k, v in f.items() if k in flag_fields}) for f in values.get("flags", [])]
        return cls(**values)


def process_id(pid: int | None = None) -> str:
    """`pid start-time` of a process (default: this one): survives pid reuse after a reboot."""
    pid = os.getpid() if pid is None else pid
    try:
        return f"{pid} {psutil.Process(pid).create_time():.0f}"
    except psutil.Error:
        return f"{pid} 0"


def alive(owner: str | None) -> bool:
    """Whether the process a `process_id` names is still running."""
    return bool(owner) and owner == process_id(int(owner.split()[0]))


def new_run_id(now: dt.datetime) -> str:
    """Sortable, unique run id: 20250630-080000-1a2b3c."""
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def _started_from_id(run_id: str) -> str:
    """The start time a run id carries (`20250630-080000-…`), for records that lack it; '' if it carries none."""
    try:
        return dt.datetime.strptime(run_id[:15], "%Y%m%d-%H%M%S").replace(tzinfo=TZ).isoformat(timespec="seconds")
    except ValueError:
        return ""


Listener = Callable[["RunStore", RunRecord], None]
_LISTENERS: list[Listener] = []
_LISTENERS_LOCK = threading.Lock()


def subscribe(listener: Listener) -> None:
    """Call `listener(store, record)` after every run this process files (once per listener)."""
    with _LISTENERS_LOCK:
        if listener not in _LISTENERS:
            _LISTENERS.append(listener)


def unsubscribe(listener: Listener) -> None:
    """Stop calling `listener` (a no-op if it was not subscribed)."""
    with _LISTENERS_LOCK:
        if listener in _LISTENERS:
            _LISTENERS.remove(listener)


class RunStore:
    """Runs kept in a folder (see the module docstring); `root` is also where files about runs are kept."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(os.path.abspath(root))

    def __repr__(self) -> str:
        return f"RunStore({str(self.root)!r})"

    # -- filing -----------------------------------------------------------------------------------------
    def open(self, record: RunRecord) -> Path:
        """Create the running folder `.tmp-<id>` holding result.json and the owner's pid, all at once: it is made
        aside and renamed, so a process killed at any moment leaves nothing visible or a folder `file_interrupted`
        can file. Sets `record.folder` to where the run will be filed; returns the running folder."""
        parent = self.playbook_folder(record.playbook)
        parent.mkdir(parents=True, exist_ok=True)
        record.folder = parent / record.run_id
        making = parent / f".new-{record.run_id}"
        making.mkdir()
        self._write_result(making, record)
        (making / PID_FILE).write_text(process_id(), encoding="utf-8")
        running = parent / f".tmp-{record.run_id}"
        os.rename(making, running)
        return running

    def file(self, record: RunRecord, running: Path) -> None:
        """Finish a run: final result.json, rename into place, move `latest` if a job's good run, append to the index."""
        record.finished = dt.datetime.now(TZ).isoformat(timespec="seconds")
        self._write_result(running, record)
        (running / PID_FILE).unlink(missing_ok=True)
        os.replace(running, record.folder)
        if record.ok and record.job:  # staff open `latest` next morning: a form run with a test date must not be it
            self._point_latest(record.folder.parent, record.run_id)
        self._append_index(record)
        with _LISTENERS_LOCK:
            listeners = list(_LISTENERS)
        for listener in listeners:
            try:
                listener(self, record)
            except Exception:  # noqa: BLE001 - what others do with a filed run never fails the run
                log.exception("运行 %s 已归档，但后续处理（%s）失败", record.run_id, getattr(listener, "__name__", listener))

    def file_interrupted(self, playbook: str) -> list[RunRecord]:
        """File as failed the runs of `playbook` whose process died before finishing (crash, kill, reboot)."""
        parent, filed = self.playbook_folder(playbook), []
        for making in parent.glob(".new-*"):  # a run killed while its folder was being made: nothing ran yet
            try:
                abandoned = time.time() - making.stat().st_mtime > ABANDONED_AFTER
            except OSError:
                continue  # renamed into place meanwhile
            if abandoned:
                shutil.rmtree(making, ignore_errors=True)
        for running in sorted(parent.glob(".tmp-*")):
            try:
                owner = (running / PID_FILE).read_text(encoding="utf-8").strip()
                data = json.loads((running / RESULT).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue  # still being created, or not ours
            if alive(owner):
                continue
            claimed = running.with_name(running.name.replace(".tmp-", ".filing-", 1))
            try:
                os.rename(running, claimed)  # only one concurrent run gets to file it
            except OSError:
                continue
            kept = {k: data[k] for k in ("run_id", "playbook", "params", "trigger", "job", "started", "git", "slot",
                                         "attempt", "user", "address") if k in data}
            kept.setdefault("started", _started_from_id(data["run_id"]))
            record = RunRecord(**kept, status=RunStatus.FAILED, exit_code=1, folder=parent / data["run_id"],
                               retryable=True, error="运行中断：执行这次运行的进程已退出（被终止或机器重启），没有生成报告")
            self.file(record, claimed)
            filed.append(record)
        return filed

    def _write_result(self, folder: Path, record: RunRecord) -> None:
        (folder / RESULT).write_text(json_dumps(record.to_json(), indent=1), encoding="utf-8")

    @staticmethod
    def _point_latest(parent: Path, run_id: str) -> None:
        """Atomically point `<playbook>/latest` at the newest good run of a job."""
        link = parent / f".latest-{run_id}"
        link.symlink_to(run_id)
        os.replace(link, parent / LATEST)

    def _append_index(self, record: RunRecord) -> None:
        """Append the run's summary to the index (one JSON object per line, locked for concurrent writers)."""
        entry = {k: v for k, v in record.to_json().items() if k not in ("flags", "tables")}
        entry["folder"] = self.relative(record.folder)
        with open(self.root / INDEX, "a", encoding="utf-8") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            fh.write(json_dumps(entry) + "\n")

    # -- retention --------------------------------------------------------------------------------------
    def prune(self, keep_days: int | None = None, now: dt.datetime | None = None,
              dry_run: bool = False) -> list[Path]:
        """Remove filed run folders older than `keep_days` (never under MIN_KEEP_DAYS, never `latest`'s run);
        the removed (or, with `dry_run`, removable) folders. The index keeps their summaries."""
        days = keep_days_setting() if keep_days is None else check_keep_days(keep_days)
        cutoff = (now or dt.datetime.now(TZ)) - dt.timedelta(days=days)
        removed = []
        for parent in sorted(p for p in self.root.iterdir() if p.is_dir()) if self.root.is_dir() else []:
            kept = self.latest(parent.name)
            for folder in sorted(parent.iterdir()):
                if folder.is_symlink() or not folder.is_dir() or folder == kept or not _older_than(folder, cutoff):
                    continue
                if not dry_run:
                    shutil.rmtree(folder)
                removed.append(folder)
        return removed

    # -- reading ----------------------------------------------------------------------------------------
    def index(self) -> list[RunRecord]:
        """Every filed run as a summary, oldest first; a line cut by a crash mid-write is skipped."""
        path = self.root / INDEX
        if not path.is_file():
            return []
        found = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                found.append(RunRecord.from_json(json.loads(line), self.root))
            except (ValueError, TypeError, AttributeError):
                log.warning("%s 第 %d 行不是完整的运行记录，已跳过", path, number)
        return found

    def load(self, record: RunRecord) -> RunRecord:
        """The whole record (flags, tables, metrics) of a run from its result.json; the summary if that is gone."""
        path = record.folder / RESULT if record.folder else None
        if path is None or not path.is_file():
            return record
        try:
            whole = RunRecord.from_json(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError) as exc:  # damaged by hand or by a crash: the summary still stands
            log.warning("%s 无法读取（%s），只显示索引中的摘要", path, exc)
            return record
        return dataclasses.replace(whole, folder=record.folder)

    def find(self, job: str, slot: str, attempt: int) -> RunRecord | None:
        """The whole record of the run filed for a job's scheduled slot and attempt, if any."""
        found = next((r for r in reversed(self.index()) if r.job == job and r.slot == slot and r.attempt == attempt),
                     None)
        return self.load(found) if found else None

    def playbook_folder(self, playbook: str) -> Path:
        """Where the runs of a playbook are filed."""
        return self.root / playbook

    def latest(self, playbook: str) -> Path | None:
        """Folder of the last good run a job of this playbook published, if any."""
        link = self.playbook_folder(playbook) / LATEST
        return link.resolve() if link.exists() else None

    def relative(self, path: Path) -> str:
        """A path inside the store as seen from its root (how pages beside the runs link to them)."""
        return os.path.relpath(path, self.root)

    def aside(self, name: str) -> Path:
        """A file kept beside the runs, such as the scheduler's state or the history page."""
        self.root.mkdir(parents=True, exist_ok=True)
        return self.root / name


def store_of_run(run_dir: str | os.PathLike | None) -> RunStore:
    """The store a running run is filed in, from its running folder (`<root>/<playbook>/.tmp-<id>`, what a notebook
    gets as `opsbook_run_dir`); the default store when there is none (a notebook opened by hand)."""
    return RunStore(Path(os.path.abspath(run_dir)).parents[1]) if run_dir else store()


def summaries(run_store: RunStore, playbook: str, params=None) -> list[dict]:
    """The filed runs of a playbook as their index lines (result.json's fields without flags and tables: status,
    trigger, job, started, git revision, metrics …), oldest first; [] when it has none. With `params` (those of the
    run asking), only the runs on its shop (`shops.same_shop`): another shop's numbers are neither shown nor mixed in."""
    from ..data import shops
    return [r.to_json() for r in run_store.index() if r.playbook == playbook and (
        params is None or shops.same_shop(r.params.get("shop") or r.params.get("source") or "", params))]


def check_keep_days(days) -> int:
    """`days` as a whole number of days to keep runs, or ParamError in Chinese if under the two-year floor."""
    try:
        value = int(str(days).strip())
    except ValueError:
        raise ParamError(f"保留天数应为整数（天），收到 {days!r}") from None
    if value < MIN_KEEP_DAYS:
        raise ParamError(f"运行记录和审计日志至少保留 {MIN_KEEP_DAYS} 天（两年，见运营手册“文件保存”），"
                         f"不能设为 {value} 天")
    return value


def keep_days_setting() -> int:
    """Days runs are kept: $OPSBOOK_KEEP_DAYS (refused under the floor), else MIN_KEEP_DAYS."""
    value = os.environ.get(KEEP_DAYS_ENV, "").strip()
    return check_keep_days(value) if value else MIN_KEEP_DAYS


def _older_than(folder: Path, cutoff: dt.datetime) -> bool:
    """Whether a filed run started before `cutoff` by its id and was last changed before it too (a folder whose id
    carries no time, or restored from a backup with a new time, counts as young)."""
    started = _started_from_id(folder.name)
    if not started or dt.datetime.fromisoformat(started) >= cutoff or not (folder / RESULT).is_file():
        return False
    try:
        return folder.stat().st_mtime < cutoff.timestamp()
    except OSError:
        return False


def default_root() -> Path:
    """Where runs are filed: $OPSBOOK_RUNS, else `runs/` in the project."""
    env = os.environ.get(RUNS_ENV)
    return Path(env).resolve() if env else paths.root() / "runs"


def store(root: str | os.PathLike | None = None) -> RunStore:
    """The run store at `root` (a folder given with --out), else the default one."""
    return RunStore(root if root is not None else default_root())
