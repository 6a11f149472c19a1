"""Alerts that must reach someone: kept in the scheduler's state, sent beside its loop, retried until a horizon.

An alert is queued in the same transaction that files its run's outcome, then sent by a small pool of sender
threads, so a hanging webhook never holds up firing jobs. A failed try is retried with exponential backoff
(30 s, 1 min, 2 min … at most hourly), also by the next scheduler after a restart, until it is delivered or the
horizon has passed (24 h by default, `OPSBOOK_ALERT_HORIZON_HOURS`). Whatever has not been delivered is listed as
告警未送达 by `opsbook runs` and the history page: an outage of the chat service never silences a failure.
The report cards of good runs (`ops.deliver`) go through the same outbox and are listed as 报告未送达.
"""
from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import hashlib
import json
import logging
import os
from typing import Callable

from ..errors import ParamError
from ..jsonsafe import json_dumps
from ..settings import ALERT_HORIZON_ENV, NOTIFY_ENV, TZ
from . import notify
from .state import State, existing

log = logging.getLogger("opsbook.alerts")
FIRST_DELAY = dt.timedelta(seconds=30)
MAX_DELAY = dt.timedelta(hours=1)
DEFAULT_HORIZON_HOURS = 24.0
SEND_TIMEOUT = 5.0       # seconds per request to a chat service or mail server
SENDERS = 2              # sender threads: a hanging target holds one of them, never the scheduler
JOB_FILE_PLAYBOOK = "任务文件"  # the "playbook" of an alert about a job file that cannot be scheduled

Notifier = Callable[[list, notify.Event], list]


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(TZ).isoformat(timespec="seconds")


def horizon(env: dict | None = None) -> dt.timedelta:
    """How long an undelivered alert is retried: $OPSBOOK_ALERT_HORIZON_HOURS (a positive number), else 24 h."""
    text = (os.environ if env is None else env).get(ALERT_HORIZON_ENV, "").strip()
    if not text:
        return dt.timedelta(hours=DEFAULT_HORIZON_HOURS)
    try:
        hours = float(text)
    except ValueError:
        hours = 0.0
    if not 0 < hours <= 24 * 30:
        raise ParamError(f"{ALERT_HORIZON_ENV}={text!r} 不对：应为告警重试的小时数，大于 0、不超过 720（默认 24）")
    return dt.timedelta(hours=hours)


def delay(tries: int) -> dt.timedelta:
    """The wait after the `tries`-th failed try: 30 s doubling, at most an hour."""
    return min(FIRST_DELAY * 2 ** max(0, tries - 1), MAX_DELAY)


def queue(db, job: str, slot: str, targets, event: dict, now: dt.datetime) -> None:
    """Queue one alert per target inside the caller's transaction (the same alert is never queued twice)."""
    db.executemany("INSERT OR IGNORE INTO alerts (job, slot, target, event, created, next_try, updated) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)",
                   [(job, slot, target, json_dumps(event), _iso(now), _iso(now), _iso(now)) for target in targets])


def queue_job_file_problems(state: State, problems: list[str], now: dt.datetime, env: dict | None = None) -> int:
    """Queue an alert to $OPSBOOK_NOTIFY for each job-file problem not alerted before; returns how many."""
    targets = [t.strip() for t in (env if env is not None else notify.environment()).get(NOTIFY_ENV, "").split(",")
               if t.strip()]
    bad_targets = notify.problems(targets)
    if bad_targets:
        log.error("%s 有误，任务文件的问题无法告警：%s", NOTIFY_ENV, "；".join(bad_targets))
        return 0
    if not targets or not problems:
        return 0
    before = state.rows("SELECT COUNT(*) AS n FROM alerts")[0]["n"]
    with state.transaction() as db:
        for problem in problems:
            name = problem.split("：", 1)[0]
            event = {"job": name, "playbook": JOB_FILE_PLAYBOOK, "status": "failed", "run_id": "", "started": "",
                     "error": f"任务文件有误，未调度：{problem}"}
            digest = hashlib.sha1(problem.encode("utf-8")).hexdigest()[:12]
            queue(db, name, f"job-file:{digest}", targets, event, now)
    return state.rows("SELECT COUNT(*) AS n FROM alerts")[0]["n"] - before


def kind_of(event: str | dict) -> str:
    """What a queued message is: notify.ALERT, or notify.REPORT for a good run's report card (`ops.deliver`)."""
    data = json.loads(event) if isinstance(event, str) else event
    return data.get("kind") or notify.ALERT


def kind_label(kind: str) -> str:
    """The Chinese word for a kind of queued message: 告警 or 报告."""
    return "报告" if kind == notify.REPORT else "告警"


def undelivered_title(items: list[dict]) -> str:
    """告警未送达, 报告未送达 or 告警与报告未送达, after what is in `items` (rows of `undelivered`)."""
    kinds = {item.get("kind", notify.ALERT) for item in items}
    words = [kind_label(k) for k in (notify.ALERT, notify.REPORT) if k in kinds] or [kind_label(notify.ALERT)]
    return "与".join(words) + "未送达"


def _default_notifier(targets, event) -> list:
    return notify.send(targets, event, attempts=1, timeout=SEND_TIMEOUT)


class Outbox:
    """Sends the queued alerts of a state database on sender threads and files each try's outcome."""

    def __init__(self, state: State, clock: Callable[[], dt.datetime], notifier: Notifier | None = None,
                 retry_for: dt.timedelta | None = None):
        self.state, self.clock = state, clock
        self.notifier = notifier or _default_notifier
        self.retry_for = retry_for or horizon()
        self.pool = cf.ThreadPoolExecutor(max_workers=SENDERS, thread_name_prefix="opsbook-alert")
        self.in_flight: dict[cf.Future, int] = {}

    def send_due(self) -> int:
        """File finished tries, then start every alert whose time has come; returns how many were started."""
        self.file_finished()
        now, started = self.clock(), 0
        busy = set(self.in_flight.values())
        for row in self.state.rows("SELECT id, target, event, tries, created, updated FROM alerts "
                                   "WHERE ok = 0 AND gave_up = 0 AND (next_try IS NULL OR next_try <= ?)", _iso(now)):
            if row["id"] in busy:
                continue
            with self.state.transaction() as db:  # claim it; the next try's time doubles as a lease
                claimed = db.execute("UPDATE alerts SET tries = tries + 1, next_try = ?, updated = ? "
                                     "WHERE id = ? AND ok = 0 AND gave_up = 0 AND tries = ?",
                                     (_iso(now + delay(row["tries"] + 1)), _iso(now), row["id"], row["tries"]))
            if claimed.rowcount:
                event = notify.Event(**json.loads(row["event"]))
                self.in_flight[self.pool.submit(self._send, row["target"], event)] = row["id"]
                started += 1
        return started

    def _send(self, target: str, event: notify.Event) -> tuple[bool, str | None]:
        """One try at one target (on a sender thread); never raises."""
        try:
            delivery = self.notifier([target], event)[0]
            return delivery.ok, delivery.error
        except Exception as exc:  # noqa: BLE001 - alerts must never stop the scheduler
            return False, f"发送出错（{type(exc).__name__}）"

    def file_finished(self, timeout: float | None = 0) -> int:
        """Record the outcome of the tries that have finished (waiting up to `timeout` for them); returns how many."""
        if not self.in_flight:
            return 0
        done, _ = cf.wait(list(self.in_flight), timeout=timeout)
        for future in done:
            alert_id = self.in_flight.pop(future)
            ok, error = future.result()
            (row,) = self.state.rows("SELECT job, target, tries, created, next_try, event FROM alerts WHERE id = ?",
                                     alert_id)
            word = kind_label(kind_of(row["event"]))
            created = dt.datetime.fromisoformat(row["created"])
            give_up = not ok and dt.datetime.fromisoformat(row["next_try"]) > created + self.retry_for
            with self.state.transaction() as db:
                db.execute("UPDATE alerts SET ok = ?, gave_up = ?, error = ?, updated = ? WHERE id = ?",
                           (int(ok), int(give_up), None if ok else error, _iso(self.clock()), alert_id))
            if give_up:
                log.error("%s未送达，已停止重试（%s，%s，共 %d 次）：%s", word, row["job"], row["target"], row["tries"],
                          error)
            elif not ok:
                log.warning("%s发送失败（%s，%s，第 %d 次），%s 重试：%s", word, row["job"], row["target"], row["tries"],
                            row["next_try"][11:16], error)
        return len(done)

    def next_due(self) -> dt.datetime | None:
        """When the next queued alert is due (None if none waits)."""
        row = self.state.rows("SELECT MIN(next_try) AS t FROM alerts WHERE ok = 0 AND gave_up = 0")[0]
        return dt.datetime.fromisoformat(row["t"]) if row["t"] else None

    def drain(self, timeout: float) -> None:
        """Send what is due and wait up to `timeout` seconds for the tries in flight (before the scheduler exits)."""
        self.send_due()
        self.file_finished(timeout=timeout)

    def close(self) -> None:
        """Stop the senders; a try still hanging is abandoned and retried by the next scheduler."""
        self.pool.shutdown(wait=False, cancel_futures=True)


def undelivered(state: State | None = None) -> list[dict]:
    """Alerts and report cards with a failed try that are not delivered, newest first, each with a Chinese
    `status_text` and `kind_text` (告警 / 报告)."""
    opened = state is None and existing()
    state = state or opened
    if not state:
        return []
    try:
        return _undelivered(state)
    finally:
        if opened:  # the history page reads this on every filed run: do not leave a connection per run behind
            opened.close()


def _undelivered(state: State) -> list[dict]:
    """The rows of `undelivered` from an open state."""
    found = []
    for row in state.rows("SELECT job, slot, target, tries, error, next_try, gave_up, created, event FROM alerts "
                          "WHERE ok = 0 AND (error IS NOT NULL OR gave_up = 1) ORDER BY created DESC, id DESC"):
        item = dict(row)
        event = json.loads(item.pop("event"))
        item["playbook"], item["run_id"] = event.get("playbook", ""), event.get("run_id", "")
        item["kind"] = kind_of(event)
        item["kind_text"] = kind_label(item["kind"])
        item["status_text"] = ("已停止重试" if row["gave_up"]
                               else f"{row['next_try'][5:16].replace('T', ' ')} 重试" if row["next_try"] else "等待重试")
        found.append(item)
    return found
