"""The scheduler: fires due jobs through an executor, with persistent slot state, catch-up, retries and alerts.

Every (job, slot) pair is claimed in SQLite (`runs/scheduler.sqlite`, see `state`) before it runs, so a slot never runs twice
across restarts or concurrent schedulers; a slot whose scheduler died mid-run is filed as failed and retried.
The executor is the only part that runs playbooks: `LocalExecutor` runs them in this process; an engine for many
shops only has to implement `Executor.submit(Task) -> Future[RunRecord]` (shipping `RunRecord.to_json()` back and
rebuilding it with `RunRecord.from_json`).
"""
from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import logging
import signal
import sys
import threading
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Callable, Protocol

from .. import spec
from ..engine import records, runner
from ..engine.records import RunRecord
from ..errors import OpsbookError, ParamError
from ..settings import TZ, RunStatus, Severity
from . import alerts, audit, deliver, history, jobs as jobs_mod, tasks as follow_up
from .state import STATE_FILE, State  # noqa: F401 - STATE_FILE is part of this module's interface

log = logging.getLogger("opsbook.schedule")
GRACE = dt.timedelta(minutes=15)  # a slot found within this of its time is on time (a busy tick, cron --once every 15 min)
MAX_SLEEP = 30.0
ALERT_WAIT = 30.0  # seconds a scheduler about to exit waits for alerts in flight (the rest are retried later)


class SlotState(StrEnum):
    """Where a (job, slot) pair stands in the scheduler's state."""

    RUNNING = "running"
    OK = "ok"
    RETRY = "retry"
    FAILED = "failed"
    SKIPPED = "skipped"

    @property
    def label(self) -> str:
        """The Chinese words staff read."""
        return _SLOT_LABELS[self]


_SLOT_LABELS = {SlotState.RUNNING: RunStatus.RUNNING.label, SlotState.OK: RunStatus.OK.label,
                SlotState.FAILED: RunStatus.FAILED.label, SlotState.RETRY: "等待重试", SlotState.SKIPPED: "已跳过"}


def state_label(state: str) -> str:
    """The Chinese words for a slot state as stored (one this version does not know is shown as it is)."""
    return SlotState(state).label if state in set(SlotState) else state

@dataclass(frozen=True)
class Task:
    """One run to execute: plain JSON-able data, so a remote executor can ship it."""

    playbook: str
    params: dict
    timeout: float | None
    job: str
    slot: str
    attempt: int = 1
    trigger: str = "schedule"


class Executor(Protocol):
    """Runs tasks somewhere; the future's value is the run's record."""

    def submit(self, task: Task) -> cf.Future:
        """Start `task`; the future resolves to its RunRecord."""

    def shutdown(self, wait: bool = True) -> None:
        """Release the executor's workers."""


def execute(task: Task) -> RunRecord:
    """Run one task through the runner (the only execution path) and return its record."""
    try:
        notebook = Path(task.playbook) if task.playbook.endswith(".ipynb") else task.playbook  # as `Job.notebook`
        return runner.run(notebook, task.params, timeout=task.timeout, trigger=task.trigger, job=task.job,
                          slot=task.slot, attempt=task.attempt, user=audit.job_user(task.job))
    except OpsbookError as exc:  # bad parameters: nothing ran, and another try cannot help
        return failure(task, exc.message, retryable=False, exit_code=exc.exit_code)


def failure(task: Task, error: str, retryable: bool, exit_code: int = 1) -> RunRecord:
    """The record of an attempt that produced no run."""
    return RunRecord(None, task.playbook, RunStatus.FAILED, exit_code, params=task.params, trigger=task.trigger,
                     job=task.job, slot=task.slot, attempt=task.attempt, error=error, retryable=retryable,
                     user=audit.job_user(task.job))


class LocalExecutor:
    """Runs tasks on a pool of threads in this process; each thread keeps its own warm kernels."""

    def __init__(self, workers: int = 2):
        self.pool = cf.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="opsbook-run")

    def submit(self, task: Task) -> cf.Future:
        """Queue a task."""
        return self.pool.submit(execute, task)

    def shutdown(self, wait: bool = True) -> None:
        """Stop the pool (waiting for running tasks by default)."""
        self.pool.shutdown(wait=wait, cancel_futures=not wait)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(TZ).isoformat(timespec="seconds")


@dataclass
class Outcome:
    """What the scheduler decided for a finished attempt."""

    job: str
    slot: str
    attempt: int
    state: SlotState  # ok | retry | failed
    result: RunRecord


class Scheduler:
    """Fires the jobs' due slots through an executor and files each outcome (retry, alert) in the state."""

    def __init__(self, jobs: list[jobs_mod.Job], *, executor: Executor | None = None, state: State | None = None,
                 clock: Callable[[], dt.datetime] | None = None, notifier: alerts.Notifier | None = None,
                 echo: Callable[[str], None] | None = None):
        self.jobs = {j.name: j for j in jobs}
        self.executor = executor or LocalExecutor()
        self.state = state or State()
        self.clock = clock or (lambda: dt.datetime.now(TZ))
        self.outbox = alerts.Outbox(self.state, self.clock, notifier)
        self.echo = echo or (lambda text: print(text, flush=True))  # a log file or journal sees each line at once
        self.owner = records.process_id()
        history.follow()  # the history page shows every run this scheduler files
        audit.follow()  # and the audit log records them
        self.running: dict[cf.Future, Task] = {}
        self.outcomes: list[Outcome] = []

    # -- firing ---------------------------------------------------------------------------------------------
    def tick(self) -> list[Task]:
        """Recover slots of dead schedulers, then fire due slots and due retries; returns the tasks submitted."""
        now = self.clock()
        self.recover(now)
        tasks = [t for job in self.jobs.values() for t in self._claim_due(job, now)] + self._claim_retries(now)
        for task in tasks:
            self.echo(f"[{now:%Y-%m-%d %H:%M:%S}] 开始 {task.job}（{task.slot[:16].replace('T', ' ')} 档，第 {task.attempt} 次）")
            try:
                self.running[self.executor.submit(task)] = task
            except Exception as exc:  # noqa: BLE001 - an executor that refuses work is a failed attempt, not a stuck slot
                self._file(task, failure(task, f"执行器出错：{type(exc).__name__}: {exc}", retryable=True), now)
        follow_up.queue_overdue(self.state, self.jobs, now)  # overdue follow-up tasks: alert their jobs
        self.outbox.send_due()
        return tasks

    def _claim_due(self, job: jobs_mod.Job, now: dt.datetime) -> list[Task]:
        """Claim the slot of `job` due now (and record missed ones per its catch-up policy)."""
        if not job.schedule:
            return []
        with self.state.transaction() as db:
            row = db.execute("SELECT seen FROM cursor WHERE job = ?", (job.name,)).fetchone()
            if row is None:  # a new job starts from now; it has no past to catch up
                db.execute("INSERT INTO cursor VALUES (?, ?)", (job.name, _iso(now)))
                return []
            slots = job.slots(dt.datetime.fromisoformat(row["seen"]), now)
            if not slots:
                return []
            db.execute("UPDATE cursor SET seen = ? WHERE job = ?", (_iso(slots[-1]), job.name))
            due = slots[-1] if job.catch_up == "latest" or now - slots[-1] <= GRACE else None
            for slot in slots:
                if slot is not due:
                    db.execute("INSERT OR IGNORE INTO slots (job, slot, state, error, updated) VALUES (?, ?, 'skipped', ?, ?)",
                               (job.name, _iso(slot), f"错过的时间点，按 catch_up: {job.catch_up} 未补跑", _iso(now)))
            if due is None:
                return []
            claimed = db.execute("INSERT OR IGNORE INTO slots (job, slot, state, attempt, owner, updated) "
                                 "VALUES (?, ?, 'running', 1, ?, ?)", (job.name, _iso(due), self.owner, _iso(now)))
            if not claimed.rowcount:
                return []
        return [self._task(job, _iso(due), 1)]

    def _claim_retries(self, now: dt.datetime) -> list[Task]:
        """Claim the slots whose retry time has come."""
        tasks = []
        for row in self.state.rows("SELECT job, slot, attempt FROM slots WHERE state = 'retry' AND next_try <= ?", _iso(now)):
            if row["job"] not in self.jobs:  # another scheduler's job, or one removed from params/
                continue
            with self.state.transaction() as db:
                claimed = db.execute("UPDATE slots SET state = 'running', attempt = attempt + 1, owner = ?, updated = ? "
                                     "WHERE job = ? AND slot = ? AND state = 'retry'",
                                     (self.owner, _iso(now), row["job"], row["slot"]))
            if claimed.rowcount:
                tasks.append(self._task(self.jobs[row["job"]], row["slot"], row["attempt"] + 1))
        return tasks

    def _task(self, job: jobs_mod.Job, slot: str, attempt: int) -> Task:
        day = dt.datetime.fromisoformat(slot).astimezone(TZ).date()
        return Task(job.playbook, job.parameters_on(day), job.timeout, job.name, slot, attempt)

    def recover(self, now: dt.datetime) -> int:
        """File as failed the slots left running by a scheduler that died; retry them if the job allows."""
        count = 0
        for row in self.state.rows("SELECT job, slot, attempt, owner FROM slots WHERE state = 'running'"):
            job = self.jobs.get(row["job"])
            if job is None or row["owner"] == self.owner or records.alive(row["owner"]):
                continue
            store = records.store()
            store.file_interrupted(spec.load(job.notebook).name)
            task = Task(job.playbook, {}, None, row["job"], row["slot"], row["attempt"])
            filed = store.find(task.job, task.slot, task.attempt)  # it may have finished just before its scheduler died
            self._file(task, filed or failure(task, "运行中断：调度器在运行期间退出（被终止或机器重启）", retryable=True),
                       now, expect_owner=row["owner"])
            count += 1
        return count

    # -- outcomes -------------------------------------------------------------------------------------------
    def collect(self, timeout: float | None = 0) -> list[Outcome]:
        """File the tasks that have finished (waiting up to `timeout` seconds for the first one)."""
        if not self.running:
            return []
        done, _ = cf.wait(list(self.running), timeout=timeout, return_when=cf.FIRST_COMPLETED)
        filed = []
        for future in done:
            task = self.running.pop(future)
            try:
                result = future.result()
            except Exception as exc:  # noqa: BLE001 - an executor failure is a failed attempt, never a lost slot
                result = failure(task, f"执行器出错：{type(exc).__name__}: {exc}", retryable=True)
            filed.append(self._file(task, result, self.clock()))
        return [o for o in filed if o]

    def _file(self, task: Task, result: RunRecord, now: dt.datetime, expect_owner: str | None = None) -> Outcome | None:
        """Record one finished attempt: ok, retry later (transient failure with tries left) or failed; then alert."""
        job = self.jobs.get(task.job)
        retries = job.retries if job else 0
        if result.ok:
            state, next_try = SlotState.OK, None
        elif result.retryable and task.attempt <= retries:
            state = SlotState.RETRY
            next_try = _iso(now + dt.timedelta(seconds=(job.retry_delay if job else 60) * 2 ** (task.attempt - 1)))
        else:
            state, next_try = SlotState.FAILED, None
        event = self._alert_event(job, task, state, result) if job is not None and job.notify else None
        card = deliver.card(job.name, job.notebook, result) if job and job.deliver and state == SlotState.OK else None
        with self.state.transaction() as db:  # the outcome, its alerts and report cards: together, or not at all
            updated = db.execute("UPDATE slots SET state = ?, next_try = ?, run_id = ?, error = ?, owner = NULL, updated = ? "
                                 "WHERE job = ? AND slot = ? AND state = 'running' AND owner = ?",
                                 (str(state), next_try, result.run_id, result.error, _iso(now), task.job,
                                  task.slot, expect_owner or self.owner))
            if updated.rowcount and event:
                alerts.queue(db, job.name, task.slot, job.notify, event, now)
            if updated.rowcount and card and result.run_id:
                alerts.queue(db, job.name, task.slot, list(job.deliver), card, now)
            if updated.rowcount and state == SlotState.OK and job is not None:  # its flags' follow-up tasks
                follow_up.from_run(db, job, result, now, history.report_link(result))
        if not updated.rowcount:
            return None
        label = state.label + (f"，{next_try[11:16]} 重试" if next_try else "")
        self.echo(f"[{now:%Y-%m-%d %H:%M:%S}] {label} {task.job}（第 {task.attempt} 次）"
                  + (f"：{result.error}" if result.error else ""))
        outcome = Outcome(task.job, task.slot, task.attempt, state, result)
        self.outcomes.append(outcome)
        return outcome

    @staticmethod
    def _alert_event(job: jobs_mod.Job, task: Task, state: SlotState, result: RunRecord) -> dict | None:
        """The alert for a final failure, or for high-severity flags new since the job's previous run; else None."""
        new_high = []
        if state == SlotState.OK and result.run_id:
            entry = history.changes_for(result.run_id)
            new = entry.new if entry else []
            new_high = [f.to_dict() for f in result.flags if f.severity == Severity.HIGH and f.code in new]
        if state != SlotState.FAILED and not new_high:
            return None
        return {"job": job.name, "playbook": job.playbook, "status": str(result.status), "run_id": result.run_id or "",
                "started": result.started or task.slot, "seconds": result.seconds.get("total"),
                "error": result.error, "flags": new_high, "flag_counts": result.flag_counts,
                "link": history.report_link(result), "attempt": task.attempt}

    # -- loops ----------------------------------------------------------------------------------------------
    def run_once(self) -> int:
        """Fire what is due now, wait for it, and return 1 if any slot failed (0 otherwise)."""
        self.tick()
        while self.running:
            self.collect(timeout=None)
        self.outbox.drain(ALERT_WAIT)
        return int(any(o.state == SlotState.FAILED for o in self.outcomes))

    def seconds_to_next(self) -> float:
        """Seconds until the next slot or retry is due (at most MAX_SLEEP)."""
        now = self.clock()
        times = [j.next_slot(now) for j in self.jobs.values() if j.schedule]
        times += [dt.datetime.fromisoformat(r["next_try"]) for r in self.state.rows(
            "SELECT job, next_try FROM slots WHERE state = 'retry'") if r["job"] in self.jobs]
        times.append(self.outbox.next_due())
        soonest = min([(t - now).total_seconds() for t in times if t] + [MAX_SLEEP])
        return max(0.2, soonest)

    def serve_forever(self, stop: threading.Event) -> None:
        """Fire due jobs until `stop` is set, then wait for the runs in progress to finish."""
        while not stop.is_set():
            self.tick()
            if self.running:
                self.collect(timeout=min(self.seconds_to_next(), 1.0))
            else:  # alerts in flight are filed by the next tick: look back within a second
                stop.wait(min(self.seconds_to_next(), 1.0) if self.outbox.in_flight else self.seconds_to_next())
        if self.running:
            self.echo(f"正在等待 {len(self.running)} 个运行结束后退出…")
        while self.running:
            self.collect(timeout=None)
        self.outbox.drain(ALERT_WAIT)


def state_rows(state: State | None = None) -> list[dict]:
    """Every slot the scheduler has recorded, newest first."""
    state = state or State()
    return [dict(r) for r in state.rows("SELECT * FROM slots ORDER BY slot DESC, job")]


def main(once: bool = False, workers: int = 2, names: list[str] | None = None) -> int:
    """`opsbook schedule`: run the scheduler (or one pass with `once`)."""
    good, bad = jobs_mod.load_all()
    for problem in bad:  # one bad job file never stops the others
        log.error("任务文件有误，未调度：%s", problem)
        print(f"任务文件有误，未调度：{problem}", file=sys.stderr, flush=True)
    found = [j for j in good if not names or j.name in names]
    unknown = sorted(set(names or ()) - {j.name for j in found})
    if unknown or workers < 1:
        raise ParamError([f"没有名为 {n} 的任务（用 opsbook jobs 查看）" for n in unknown]
                         + (["--workers 至少为 1"] if workers < 1 else []))
    alerts.horizon()  # a wrong setting stops the scheduler at start, not its first failed alert
    scheduler = Scheduler(found, executor=LocalExecutor(workers))
    alerts.queue_job_file_problems(scheduler.state, bad, scheduler.clock())
    history.write_page()  # the page shows the job files that cannot be scheduled from now on
    try:
        if once:
            return scheduler.run_once()
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        now = scheduler.clock()
        print(f"调度器已启动（{workers} 个并行），{len(found)} 个任务：", flush=True)
        for job in found:
            nxt = job.next_slot(now)
            print(f"  {job.name}: {job.schedule or '手动'}  下次 {nxt:%Y-%m-%d %H:%M}" if nxt else f"  {job.name}: 手动",
                  flush=True)
        scheduler.serve_forever(stop)
        return 0
    finally:
        while scheduler.running:  # runs still going when something failed above: file them before leaving
            scheduler.collect(timeout=None)
        scheduler.executor.shutdown(wait=True)
        scheduler.outbox.close()

