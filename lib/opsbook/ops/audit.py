"""The audit log: who did what, to what, when and from where — logins, runs, imports, downloads, task changes.

One JSON object per line in monthly files `.opsbook/audit/audit-YYYY-MM.jsonl` (outside git, mode 600), each line
appended with O_APPEND and fsync under a lock, never rewritten or deleted by opsbook (kept at least two years, see
`settings.MIN_KEEP_DAYS`). A line:

    {"time": "2026-12-01T09:30:00+08:00", "action": "download", "who": "张三", "target": "kpi_report/…/报告.xlsx",
     "address": "10.0.0.8", "detail": {…}}

`record(action, who, target, address, **detail)` is the one writer; phone numbers and passwords in URLs are masked
in everything written. Runs are recorded by `follow()`, which subscribes to the run store (the engine knows nothing
of this log); `events(...)` reads the log back for `opsbook audit`.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import getpass
import json
import logging
import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from typing import TYPE_CHECKING

from .. import paths
from ..errors import ParamError
from ..settings import TZ

if TYPE_CHECKING:
    from ..engine.records import RunRecord

log = logging.getLogger("opsbook.audit")
FOLDER = "audit"
LOCK = ".audit.lock"
_FILE = re.compile(r"audit-(\d{4})-(\d{2})\.jsonl")
_ACTION = re.compile(r"[a-z][a-z_]{0,31}")
# the actions opsbook records, with the words staff read; other engineers' new actions are recorded as they are
ACTIONS = {
    "login": "登录", "login_failed": "登录失败", "logout": "退出登录", "lockout": "账号锁定",
    "run": "运行", "import": "导入数据", "download": "下载", "task_update": "任务变更", "prune": "清理运行记录",
}
DETAIL_LABELS = {"status": "状态", "job": "任务", "trigger": "触发", "file": "文件", "error": "错误", "rows": "行数",
                 "count": "数量", "keep_days": "保留天数", "reason": "原因", "note": "备注", "run_id": "运行编号"}


def folder() -> Path:
    """Where the audit files of this project are."""
    return paths.private() / FOLDER


def file_for(moment: dt.datetime) -> Path:
    """The monthly file an event at `moment` goes to."""
    return folder() / f"audit-{moment.astimezone(TZ):%Y-%m}.jsonl"


def cli_user() -> str:
    """Who runs a command: `命令行 <the operating-system user>`."""
    try:
        name = getpass.getuser()
    except (OSError, KeyError):  # no login name in the environment nor in the password database (containers)
        name = f"uid{os.getuid()}"
    return f"命令行 {name}"


def job_user(job: str) -> str:
    """Who runs a job's run (scheduled or `opsbook jobs run`): `任务 <job name>`."""
    return f"任务 {job}"


def label(action: str) -> str:
    """The Chinese words for an action (an action this version does not know is shown as it is)."""
    return ACTIONS.get(action, action)


def _clean(value):
    """`value` with phone numbers and passwords in URLs masked, in every text it holds."""
    from ..data import locations, privacy  # privacy pulls in pandas: only once something is recorded
    if isinstance(value, str):
        return privacy.mask_phone(locations.masked(value))
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


@contextmanager
def _locked() -> Iterator[None]:
    """Hold the audit log's lock: writers in every process append one at a time."""
    where = folder()
    where.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(where / LOCK, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _append(path: Path, line: bytes) -> None:
    """Append one line to `path` (created mode 600) and fsync it; a line left cut by a crash is ended first."""
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            line = b"\n" + line
        view = memoryview(line)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def record(action: str, who: str, target: str = "", address: str = "", **detail) -> dict:
    """Append one event to the audit log and return it (as written); OSError if it cannot be written.

    `action` is one of ACTIONS (or a new lower-case word), `who` an account name, `本机`, `任务 <job>` or
    `命令行 <user>`, `target` what was acted on, `address` the client's IP; `detail` short JSON-able facts.
    """
    if not _ACTION.fullmatch(action or ""):
        raise ValueError(f"audit action must be a lower-case word, not {action!r}")
    now = dt.datetime.now(TZ)
    event = _clean({"time": now.isoformat(timespec="seconds"), "action": action, "who": str(who or ""),
                    "target": str(target or ""), "address": str(address or ""), "detail": detail})
    line = (json.dumps(event, ensure_ascii=False, default=str) + "\n").encode("utf-8")
    with _locked():
        _append(file_for(now), line)
    return event


def record_import(report, into: str, who: str, address: str = "") -> dict:
    """Record one imported file (an `intake.FileReport`): what it added, or why it was rejected."""
    detail = {"file": report.name, "status": "failed" if report.error else "ok"}
    if report.error:
        detail["error"] = "；".join(report.error.problems)[:300]
    else:
        detail["note"] = "；".join(report.lines)[:300]
    return record("import", who, str(into), address, **detail)


def _record_run(_store, run: RunRecord) -> None:
    """Record a filed run (a run-store listener)."""
    detail = {"status": str(run.status), "trigger": run.trigger}
    if run.job:
        detail["job"] = run.job
    record("run", run.user, f"{run.playbook}/{run.run_id}", run.address, **detail)


def follow() -> None:
    """Record every run this process files in the audit log."""
    from ..engine import records  # the engine reports filed runs; it does not know this log
    records.subscribe(_record_run)


# -- reading ---------------------------------------------------------------------------------------------------
def _files(since: dt.date | None, until: dt.date | None) -> list[Path]:
    """The monthly files that may hold events between `since` and `until`, oldest first."""
    found = []
    for path in sorted(folder().glob("audit-*.jsonl")) if folder().is_dir() else []:
        m = _FILE.fullmatch(path.name)
        if not m:
            continue
        month = (int(m[1]), int(m[2]))
        if (since and month < (since.year, since.month)) or (until and month > (until.year, until.month)):
            continue
        found.append(path)
    return found


def _read(path: Path) -> Iterator[dict]:
    """The events of one file; a line cut by a crash is skipped (and logged)."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except ValueError:
                event = None
            if isinstance(event, dict) and "time" in event:
                yield event
            else:
                log.warning("%s 第 %d 行不是完整的审计记录，已跳过", path, number)


def events(user: str | None = None, action: str | None = None, since: dt.date | None = None,
           until: dt.date | None = None, limit: int | None = None) -> list[dict]:
    """The events matching every given filter (days inclusive, China time), newest first, at most `limit`."""
    user = _clean(user) if user else user  # a name that is a phone number is stored masked
    found = []
    for path in _files(since, until):
        for event in _read(path):
            day = event["time"][:10]
            if ((user is None or event.get("who") == user) and (action is None or event.get("action") == action)
                    and (since is None or day >= since.isoformat()) and (until is None or day <= until.isoformat())):
                found.append(event)
    found.reverse()  # the later of two events in the same second comes first too
    found.sort(key=lambda e: e["time"], reverse=True)
    return found[:limit] if limit is not None else found


def known_actions() -> list[str]:
    """The actions opsbook knows plus any other found in the log."""
    seen = {e.get("action") for path in _files(None, None) for e in _read(path)}
    return list(ACTIONS) + sorted(a for a in seen - set(ACTIONS) if isinstance(a, str))


def filters(user: str | None, action: str | None, since: str | None, until: str | None,
            limit: str | int | None) -> dict:
    """`events` keyword arguments from text filters (`opsbook audit`); ParamError in Chinese naming every bad one.

    An action may be given by its name (`download`) or its Chinese words (`下载`)."""
    problems, values = [], {"user": (user or "").strip() or None, "action": None, "since": None, "until": None,
                            "limit": None}
    if action:
        by_label = {v: k for k, v in ACTIONS.items()}
        chosen = by_label.get(action.strip(), action.strip())
        known = list(ACTIONS) if chosen in ACTIONS else known_actions()  # the whole log is read only when needed
        if chosen in known:
            values["action"] = chosen
        else:
            problems.append(f"没有“{action}”这种操作：可选 " + "、".join(f"{a}（{label(a)}）" for a in known))
    for key, text in (("since", since), ("until", until)):
        if text:
            try:
                values[key] = dt.date.fromisoformat(text.strip())
            except ValueError:
                problems.append(f"--{key} 应为日期，如 2026-12-01，而不是 {text!r}")
    if values["since"] and values["until"] and values["since"] > values["until"]:
        problems.append(f"--since {values['since']} 晚于 --until {values['until']}：开始日期应不晚于结束日期")
    if limit is not None:
        try:
            values["limit"] = int(str(limit).strip())
        except ValueError:
            values["limit"] = 0
        if values["limit"] < 1:
            problems.append(f"--limit 应为正整数（最多显示多少条），而不是 {limit!r}")
    if problems:
        raise ParamError(problems, headline="筛选条件有误")
    return values


def describe(detail: dict) -> str:
    """An event's detail as one short Chinese line (`状态 ok，文件 orders.csv`)."""
    return "，".join(f"{DETAIL_LABELS.get(k, k)} {v}" for k, v in (detail or {}).items() if v not in (None, ""))


__all__ = ["ACTIONS", "record", "record_import", "follow", "events", "filters", "describe", "label", "cli_user", "job_user",
           "folder", "file_for"]
