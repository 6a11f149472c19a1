"""Follow-up tasks (跟进任务): a high or medium flag of a job's run becomes a task for the flag's owner role.

What opens a task: a good run of a job, scheduled or `opsbook jobs run` (ad-hoc CLI runs, forms and reruns never
do), each of its high and medium flags. A flag **reappears** when a later run of the same job raises the same
*concern* — the flag's code (`concern_of`): a job's check raises one flag per code, and a code names its subject
where a playbook raises several (`rfm.coupon:<campaign>`). The rows and the message are not part of the concern:
they carry the day's numbers and lists (a replenishment list changes every morning while the problem is the same).
A reappearing flag links its run to the open task (title, severity and rows follow the newest run; the due time
stays); once the task is closed (已完成 or 不处理), the next appearance opens a new task that `follows` the old one.

The due time is the opening time plus the flag's follow-up hours, the first found of: the job file's
`follow_up: {<code>: hours}`, the playbook module's `FOLLOW_UP[<code>]` (the SOP's own: hours, or the run's parameter
that holds them, e.g. user_tiering's recall within `recall_within_days`), the job file's `follow_up: {high|medium: hours}`, `DEFAULT_HOURS`. The scheduler's tick alerts an open task
past its due time to its job's `notify:` targets through the alerts outbox (retried like every alert): once when it
becomes overdue, then once a day (`REMIND_EVERY`) while it stays open.

Who sees a task: 管理员 every one; others those of their roles (`roles_of` the flag's owner words) and, once the
project registers shops (`shops.yaml`), of a shop they may see. Every change is also written to the audit log.

Stored in the scheduler's state database (`state`): `tasks`, `task_runs` (the runs where its flag appeared) and
`task_changes` (who, when, old → new status, note) — the records the SOP-execution playbook measures.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sqlite3
from dataclasses import dataclass, field

from .. import sops
from ..data import shops
from ..engine import records
from ..errors import ParamError
from ..jsonsafe import json_dumps
from ..settings import TZ, Severity
from . import accounts, alerts, audit
from .state import STATE_FILE, State, existing

log = logging.getLogger("opsbook.tasks")

TODO, DOING, DONE, DROPPED = "待处理", "处理中", "已完成", "不处理"
STATUSES = (TODO, DOING, DONE, DROPPED)
OPEN = (TODO, DOING)
CLOSED = (DONE, DROPPED)
STATUS_ALIASES = {"todo": TODO, "doing": DOING, "done": DONE, "wontfix": DROPPED}  # for typing in a terminal
TRIGGERS = ("schedule", "job")  # runs whose flags open tasks: the scheduler's and `opsbook jobs run`
SEVERITIES = (Severity.HIGH, Severity.MEDIUM)  # low flags are information, not work
DEFAULT_HOURS = {Severity.HIGH: 24.0, Severity.MEDIUM: 72.0}  # the follow-up time when nothing more specific says
MAX_HOURS = 24 * 90  # a follow-up due later than a quarter is not a follow-up
REMIND_EVERY = dt.timedelta(days=1)  # an overdue task is alerted again after this while it stays open
ROW_CAP, COLUMN_CAP, VALUE_CAP = 20, 12, 200  # what a task keeps of its flag's rows
TITLE_CAP = 500  # characters of the flag's message kept as the task's title
# owner words of the playbooks that are not account roles (accounts.ROLES), and the roles that own them
ROLE_ALIASES = {"供应链": ("采购", "仓储"), "CRM": ("运营",), "运营经理": ("主管",)}
_CODE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)+(:[^\s]+)?")
_SQL_OPEN = "status IN ('待处理', '处理中')"


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(TZ).isoformat(timespec="seconds")


def _when(text: str | None) -> str:
    """A stored time as 2026-11-20 08:00 ('' for none)."""
    return (text or "")[:16].replace("T", " ")


# -- roles and follow-up hours ----------------------------------------------------------------------------------

def roles_of(owner: str) -> tuple[str, ...]:
    """The account roles that own a flag's owner words ("仓储/供应链" → 仓储, 采购), in `accounts.ROLES` order."""
    found = set()
    for part in re.split(r"[/、,，\s]+", owner or ""):
        found |= {r for r in accounts.ROLES if r in part} | set(ROLE_ALIASES.get(part, ()))
    return tuple(r for r in accounts.ROLES if r in found)


def follow_up_problems(name: str, value) -> list[str]:
    """Chinese problems with a job file's `follow_up:` mapping (severity or flag code → hours); [] if fine."""
    if value is None:
        return []
    if not isinstance(value, dict):
        return [f"{name}：follow_up 应为“提示级别或提示代码: 小时数”映射，如 {{high: 24, medium: 72, rfm.recall: 72}}"]
    problems = []
    for key, hours in value.items():
        if not isinstance(key, str) or not (key in {str(s) for s in SEVERITIES} or _CODE.fullmatch(key)):
            extra = "（低级别提示不开跟进任务）" if key == str(Severity.LOW) else ""
            problems.append(f"{name}：follow_up 的键 {key!r} 不对{extra}：应为 high、medium 或提示代码（如 rfm.recall）")
        if isinstance(hours, bool) or not isinstance(hours, (int, float)) or not 0 < hours <= MAX_HOURS:
            problems.append(f"{name}：follow_up 中 {key} 的小时数应为大于 0、不超过 {MAX_HOURS} 的数字，而不是 {hours!r}")
    return problems


def hours_for(follow_up: dict, playbook: str, code: str, severity: str, params: dict | None = None) -> float:
    """Follow-up hours of a flag: the job's for its code, the playbook's SOP for its code (`sop_hours`), the job's
    for its severity, else the default for its severity."""
    follow_up = follow_up or {}
    if code in follow_up:
        return float(follow_up[code])
    sop = sop_hours(playbook, code, params or {})
    if sop is not None:
        return sop
    return float(follow_up.get(str(severity), DEFAULT_HOURS[Severity(severity)]))


def sop_hours(playbook: str, code: str, params: dict) -> float | None:
    """The follow-up hours a playbook module's `FOLLOW_UP` gives a flag code: a number of hours, or the name of the
    run's parameter that holds them (`…_days` counts days, `…_hours` hours); None when it says nothing."""
    module = sops.module(playbook)
    value = (getattr(module, "FOLLOW_UP", {}) if module else {}).get(code)
    if isinstance(value, str):
        amount = params.get(value)
        if isinstance(amount, bool) or not isinstance(amount, (int, float)) or amount <= 0:
            return None
        return float(amount) * (24 if value.endswith("_days") else 1)
    return float(value) if value else None


# -- opening and linking tasks from runs ------------------------------------------------------------------------

def concern_of(flag) -> str:
    """What makes two flags of one job the same problem: the flag's code (see the module docstring)."""
    return flag.code


def _masked(value, cap: int = VALUE_CAP):
    """A value as a task keeps it: phones masked, text longer than `cap` cut."""
    if isinstance(value, str):
        from ..data import privacy  # pandas: only the scheduler and `jobs run` file flags
        text = privacy.mask_phone(value)
        return text if len(text) <= cap else text[:cap] + "…"
    return value


def _rows(sample: list[dict]) -> list[dict]:
    """The flag's rows as a task keeps them: masked, at most ROW_CAP rows of COLUMN_CAP columns."""
    return [{str(k): _masked(v) for k, v in list(row.items())[:COLUMN_CAP]} for row in (sample or [])[:ROW_CAP]]


def from_run(db: sqlite3.Connection, job, record, now: dt.datetime, link: str = "") -> list[int]:
    """Open or link the tasks of a job's run's high and medium flags inside the caller's transaction; returns the
    task ids. A failure here is logged and undone without undoing the caller's work (a savepoint)."""
    if not record.ok or record.trigger not in TRIGGERS or not record.run_id:
        return []
    order = {s: i for i, s in enumerate(Severity)}
    flags, seen = [], set()
    for flag in sorted(record.flags, key=lambda f: order[f.severity]):  # one task per concern, the gravest flag
        if flag.severity in SEVERITIES and concern_of(flag) not in seen:
            seen.add(concern_of(flag))
            flags.append(flag)
    if not flags:
        return []
    db.execute("SAVEPOINT tasks_from_run")
    try:
        ids = [_open_or_link(db, job, record, flag, now, link) for flag in flags]
    except Exception:  # noqa: BLE001 - a task that cannot be written must not lose the run's outcome
        db.execute("ROLLBACK TO tasks_from_run")
        log.exception("跟进任务未能记录（任务 %s，运行 %s）", job.name, record.run_id)
        ids = []
    db.execute("RELEASE tasks_from_run")
    return ids


def _open_or_link(db, job, record, flag, now: dt.datetime, link: str) -> int:
    """Link the run to the open task of the flag's concern, or open a new one (following a closed one)."""
    concern, title = concern_of(flag), _masked(flag.message, TITLE_CAP)
    rows = json_dumps(_rows(flag.sample))
    found = db.execute(f"SELECT id FROM tasks WHERE job = ? AND concern = ? AND {_SQL_OPEN}", (job.name, concern)).fetchone()
    if found:
        task_id = found["id"]
        db.execute("UPDATE tasks SET severity = ?, owner = ?, roles = ?, title = ?, rows = ?, row_count = ?, "
                   "link = ?, last_run = ?, last_seen = ?, updated = ? WHERE id = ?",
                   (str(flag.severity), flag.owner, _roles_text(flag.owner), title, rows, flag.rows, link,
                    record.run_id, _iso(now), _iso(now), task_id))
    else:
        before = db.execute("SELECT MAX(id) AS id FROM tasks WHERE job = ? AND concern = ?", (job.name, concern)).fetchone()
        due = now + dt.timedelta(hours=hours_for(getattr(job, "follow_up", {}), record.playbook, flag.code, flag.severity,
                                                 record.params))
        shop = str(record.params.get("shop") or record.params.get("source") or "")
        task_id = db.execute(
            "INSERT INTO tasks (job, playbook, shop, code, concern, severity, owner, roles, title, rows, row_count, "
            "link, opened, due, status, follows, last_run, last_seen, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "?, ?, ?, ?, ?, ?, ?)",
            (job.name, record.playbook, shop, flag.code, concern, str(flag.severity), flag.owner,
             _roles_text(flag.owner), title, rows, flag.rows, link, _iso(now), _iso(due), TODO, before["id"],
             record.run_id, _iso(now), _iso(now))).lastrowid
        note = f"运行 {record.run_id} 的提示" + (f"；上一任务 #{before['id']} 已关闭，问题再次出现" if before["id"] else "")
        db.execute("INSERT INTO task_changes (task, at, who, old, new, note) VALUES (?, ?, ?, NULL, ?, ?)",
                   (task_id, _iso(now), audit.job_user(job.name), TODO, note))
    db.execute("INSERT OR IGNORE INTO task_runs (task, run_id, seen, severity, title, row_count) VALUES (?, ?, ?, ?, ?, ?)",
               (task_id, record.run_id, _iso(now), str(flag.severity), title, flag.rows))
    return task_id


def _roles_text(owner: str) -> str:
    """The owner's roles as stored, `|运营|主管|`, so that one role is found with LIKE '%|运营|%'."""
    return "|" + "|".join(roles_of(owner)) + "|"


def record_run(job, record, link: str = "", state: State | None = None, now: dt.datetime | None = None) -> list[int]:
    """Open or link the tasks of a run made outside the scheduler (`opsbook jobs run`); returns the task ids."""
    if not record.ok or record.trigger not in TRIGGERS or not any(f.severity in SEVERITIES for f in record.flags):
        return []
    own = state is None
    state = state or State()
    try:
        with state.transaction() as db:
            return from_run(db, job, record, now or dt.datetime.now(TZ), link)
    finally:
        if own:
            state.close()


# -- overdue alerts ---------------------------------------------------------------------------------------------

def queue_overdue(state: State, jobs: dict, now: dt.datetime) -> int:
    """Queue an alert to its job's notify targets for each open task past its due time that was not alerted within
    REMIND_EVERY; returns how many were queued. Never raises (the scheduler's tick must go on)."""
    try:
        with state.transaction() as db:
            count = 0
            for row in db.execute(f"SELECT * FROM tasks WHERE {_SQL_OPEN} AND due <= ? AND (reminded IS NULL "
                                  "OR reminded <= ?) ORDER BY due", (_iso(now), _iso(now - REMIND_EVERY))).fetchall():
                job = jobs.get(row["job"])
                if job is None or not job.notify:  # another scheduler's job, or one without alerts
                    continue
                reminder = row["reminders"] + 1
                alerts.queue(db, job.name, f"task:{row['id']}:{reminder}", job.notify,
                             overdue_event(Task.from_row(row), reminder, now), now)
                db.execute("UPDATE tasks SET reminded = ?, reminders = ? WHERE id = ?", (_iso(now), reminder, row["id"]))
                count += 1
        return count
    except Exception:  # noqa: BLE001
        log.exception("逾期跟进任务的提醒未能排队")
        return 0


def late_text(late: dt.timedelta) -> str:
    """How late an overdue task is, for people: 已逾期 / 已逾期 5 小时 / 已逾期 3 天."""
    hours = late.total_seconds() / 3600
    return "已逾期" if hours < 1 else f"已逾期 {hours:.0f} 小时" if hours < 48 else f"已逾期 {hours / 24:.0f} 天"


def overdue_event(task: Task, reminder: int, now: dt.datetime) -> dict:
    """The alert (a `notify.Event` as JSON) about an overdue task."""
    late = now - dt.datetime.fromisoformat(task.due)
    return {"job": task.job, "playbook": task.playbook, "status": "overdue", "run_id": task.last_run,
            "started": task.opened, "link": task.link or "",
            "task": {"id": task.id, "title": task.title, "severity": task.severity, "owner": task.owner,
                     "status": task.status, "assignee": task.assignee or "", "opened": task.opened, "due": task.due,
                     "late": late_text(late), "rows": task.row_count, "reminder": reminder}}


# -- reading ----------------------------------------------------------------------------------------------------

@dataclass
class Task:
    """One follow-up task as stored, with the runs where its flag appeared and its changes (when read by `get`)."""

    id: int
    job: str
    playbook: str
    shop: str
    code: str
    severity: str
    owner: str
    roles: tuple[str, ...]
    title: str
    rows: list[dict]
    row_count: int
    opened: str
    due: str
    status: str
    assignee: str | None = None
    reason: str | None = None
    closed: str | None = None
    closed_by: str | None = None
    follows: int | None = None
    link: str | None = None
    last_run: str = ""
    last_seen: str = ""
    reminders: int = 0
    runs: list[str] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Task:
        """A task from its `tasks` row (without runs and changes)."""
        return cls(row["id"], row["job"], row["playbook"], row["shop"], row["code"], row["severity"], row["owner"],
                   tuple(r for r in row["roles"].split("|") if r), row["title"], json.loads(row["rows"] or "[]"),
                   row["row_count"], row["opened"], row["due"], row["status"], row["assignee"], row["reason"],
                   row["closed"], row["closed_by"], row["follows"], row["link"], row["last_run"], row["last_seen"],
                   row["reminders"])

    @property
    def is_open(self) -> bool:
        """Whether the task still waits for someone (待处理 or 处理中)."""
        return self.status in OPEN

    def overdue(self, now: dt.datetime | None = None) -> bool:
        """Whether the task is open past its due time."""
        return self.is_open and dt.datetime.fromisoformat(self.due) <= (now or dt.datetime.now(TZ))

    @property
    def severity_label(self) -> str:
        """高 / 中."""
        return Severity(self.severity).label if self.severity in set(Severity) else self.severity

    def due_text(self, now: dt.datetime | None = None) -> str:
        """The due time for people: `2026-11-21 08:00`, with how late when overdue."""
        if not self.overdue(now):
            return _when(self.due)
        return f"{_when(self.due)}（{late_text((now or dt.datetime.now(TZ)) - dt.datetime.fromisoformat(self.due))}）"


def select(state: State | None = None, *, status: str | tuple | None = OPEN, role: str | None = None,
           roles: tuple[str, ...] | None = None, playbook: str | None = None, job: str | None = None,
           overdue: bool = False, now: dt.datetime | None = None) -> list[Task]:
    """Tasks matching every filter, overdue first, then by due time. `status` is one status, several, or None for
    all; `role` one account role; `roles` the roles of a user (any of them; None = everyone's tasks)."""
    opened = state is None and existing()
    state = state or opened
    if not state:
        return []
    try:
        where, args = ["1 = 1"], []
        if status is not None:
            wanted = (status,) if isinstance(status, str) else tuple(status)
            where.append(f"status IN ({', '.join('?' * len(wanted))})")
            args += wanted
        if role is not None:
            where.append("roles LIKE ?")
            args.append(f"%|{role}|%")
        if roles is not None:
            where.append("(" + " OR ".join(["roles LIKE ?"] * len(roles) or ["0"]) + ")")
            args += [f"%|{r}|%" for r in roles]
        for column, value in (("playbook", playbook), ("job", job)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        found = [Task.from_row(r) for r in state.rows(f"SELECT * FROM tasks WHERE {' AND '.join(where)}", *args)]
    finally:
        if opened:
            opened.close()
    now = now or dt.datetime.now(TZ)
    if overdue:
        found = [t for t in found if t.overdue(now)]
    return sorted(found, key=lambda t: (not t.overdue(now), not t.is_open, t.due, t.id))


def visible_to(account: accounts.Account | None, task: Task) -> bool:
    """Whether a user sees (and may update) a task: 管理员 all; others a task of one of their roles and of a shop
    they may see."""
    if account is None:
        return False
    allowed = _shops_of(account)
    return account.is_admin or (bool(set(account.roles) & set(task.roles)) and (allowed is None or task.shop in allowed))


def for_user(account: accounts.Account | None, state: State | None = None, **filters) -> list[Task]:
    """The tasks a user sees on 我的待办 (see `visible_to`); none without an account."""
    if account is None:
        return []
    found = select(state, roles=None if account.is_admin else account.roles, **filters)
    allowed = None if account.is_admin else _shops_of(account)
    return found if allowed is None else [t for t in found if t.shop in allowed]


def _shops_of(account: accounts.Account) -> set[str] | None:
    """The names and sources of the shops a user may see (a task records its run's shop, else its source); None
    when the project registers no shops (one shop, everyone's)."""
    if account.is_admin or not shops.registered():
        return None
    mine = shops.visible(account.name, account.roles, known_roles=accounts.ROLES)
    return {s.name for s in mine} | {s.source for s in mine}


def parse_id(text) -> int:
    """A task id from `12` or `#12`; ParamError in Chinese otherwise."""
    value = str(text or "").strip().lstrip("#＃")
    if not value.isdigit():
        raise ParamError(f"任务编号 {text!r} 不对：应为数字，如 12（opsbook tasks 列出编号）")
    return int(value)


def get(task_id, state: State | None = None) -> Task:
    """One task with its runs and changes; ParamError in Chinese if there is none."""
    task_id = parse_id(task_id)
    opened = state is None and existing()
    state = state or opened
    try:
        rows = state.rows("SELECT * FROM tasks WHERE id = ?", task_id) if state else []
        if not rows:
            raise ParamError(f"没有编号为 {task_id} 的跟进任务（opsbook tasks 列出全部）")
        task = Task.from_row(rows[0])
        task.runs = [r["run_id"] for r in state.rows("SELECT run_id FROM task_runs WHERE task = ? ORDER BY seen, run_id",
                                                     task_id)]
        task.changes = [dict(r) for r in state.rows("SELECT at, who, old, new, note FROM task_changes WHERE task = ? "
                                                    "ORDER BY id", task_id)]
        return task
    finally:
        if opened:
            opened.close()


def history_rows(run_store=None, params=None) -> tuple[list[dict], list[dict]]:
    """Every task (without its rows) and every change of the state kept beside the runs of `run_store` (default: the
    project's), as plain rows for the SOP-execution playbook; with `params` (those of the run asking), only the tasks
    of its shop (`shops.same_shop`) and their changes. ([], []) when no scheduler has written one. The file is read
    only (never created, migrated or locked for writing, so a scheduler writing meanwhile is neither blocked nor
    blocks), both tables in one snapshot."""
    file = (run_store or records.store()).root / STATE_FILE
    if not file.is_file():
        return [], []
    db = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True, timeout=30, isolation_level=None)
    db.row_factory = sqlite3.Row
    try:
        db.execute("BEGIN")  # one read transaction: the changes of the tasks read, none of a task not read
        found = [dict(r) for r in db.execute(
            "SELECT id, job, playbook, shop, code, severity, owner, roles, title, row_count, opened, due, status, "
            "assignee, reason, closed, closed_by, follows FROM tasks ORDER BY id")]
        changes = [dict(r) for r in db.execute("SELECT task, at, who, old, new FROM task_changes ORDER BY id")]
        db.execute("COMMIT")
    finally:
        db.close()
    if params is not None:
        found = [t for t in found if shops.same_shop(t["shop"], params)]
        kept = {t["id"] for t in found}
        changes = [c for c in changes if c["task"] in kept]
    return found, changes


# -- changes ----------------------------------------------------------------------------------------------------

def parse_status(text: str | None) -> str | None:
    """A status from its Chinese word (or todo/doing/done/wontfix); None for none; ParamError otherwise."""
    if text is None or not str(text).strip():
        return None
    value = STATUS_ALIASES.get(str(text).strip().lower(), str(text).strip())
    if value not in STATUSES:
        raise ParamError(f"状态 {text!r} 不存在：可选 {'、'.join(STATUSES)}")
    return value


def update(task_id, *, who: str, status: str | None = None, note: str = "", reason: str = "",
           assignee: str | None = None, address: str = "", state: State | None = None,
           now: dt.datetime | None = None) -> Task:
    """Change a task's status (and/or assignee, or add a note), recording who did it and when, also in the audit
    log (`task_update`); ParamError in Chinese when refused: an unknown task or status, 不处理 without a reason, a
    closed task, nothing to record."""
    status = parse_status(status)
    note, reason = _masked((note or "").strip(), 10_000), _masked((reason or "").strip(), 10_000)
    assignee = assignee.strip() if isinstance(assignee, str) else None
    if not (who or "").strip():
        raise ParamError("请注明是谁在更新任务")
    if status == DROPPED and not reason:
        raise ParamError("选择“不处理”时必须写明原因")
    if status is None and not note and not assignee:
        raise ParamError("没有要记录的内容：请给出新状态、备注或处理人")
    opened = None if state else existing()
    state = state or opened
    if not state:
        raise ParamError(f"没有编号为 {parse_id(task_id)} 的跟进任务（还没有任何跟进任务）")
    now = now or dt.datetime.now(TZ)
    try:
        task = get(task_id, state)
        if not task.is_open:
            raise ParamError(f"任务 #{task.id} {_closed_text(task)}，不能再修改：若问题仍在，下次运行会开新的任务")
        new = status or task.status
        text = "；".join(p for p in (note, f"原因：{reason}" if reason and new == DROPPED else "",
                                     f"处理人：{assignee}" if assignee and assignee != task.assignee else "") if p)
        with state.transaction() as db:
            changed = db.execute(
                "UPDATE tasks SET status = ?, assignee = ?, reason = ?, closed = ?, closed_by = ?, updated = ? "
                "WHERE id = ? AND status = ?",
                (new, assignee or task.assignee, reason if new == DROPPED else task.reason,
                 _iso(now) if new in CLOSED else None, who if new in CLOSED else None, _iso(now), task.id, task.status))
            if not changed.rowcount:
                raise ParamError(f"任务 #{task.id} 刚被别人修改过：请刷新后再试")
            db.execute("INSERT INTO task_changes (task, at, who, old, new, note) VALUES (?, ?, ?, ?, ?, ?)",
                       (task.id, _iso(now), who, task.status, new, text))
            # in the transaction: a change the audit log cannot record is not made (OSError, rolled back)
            audit.record("task_update", who, target=f"#{task.id} {task.job}/{task.code}", address=address,
                         status=new if new == task.status else f"{task.status} → {new}", note=text)
        return get(task.id, state)
    finally:
        if opened:
            opened.close()


def _closed_text(task: Task) -> str:
    """How a closed task was closed, for people: 已完成（2026-11-03 10:00，王仓管）."""
    how = "已完成" if task.status == DONE else "已标记为不处理"
    return f"{how}（{_when(task.closed)}，{task.closed_by or '未知'}）"


__all__ = ["Task", "STATUSES", "OPEN", "CLOSED", "DEFAULT_HOURS", "roles_of", "follow_up_problems", "hours_for",
           "concern_of", "from_run", "record_run", "queue_overdue", "select", "for_user", "visible_to", "get", "update",
           "parse_status", "parse_id", "history_rows"]
