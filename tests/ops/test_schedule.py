"""The scheduler: cron and catch-up under a controllable clock, no double runs across restarts, retries, alerts."""
from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import nbformat
import pytest

from opsbook import paths
from opsbook.engine import records
from opsbook.engine.records import RunStore
from opsbook.ops import history, jobs, notify, schedule
from opsbook.errors import ParamError
from opsbook.settings import TZ

PROBE_CODE = """
import pathlib, time
import opsbook.playbook
from opsbook import flags
run = opsbook.playbook.begin(pathlib.Path(NOTEBOOK), globals())
marker = pathlib.Path(run.p.fail_until_gone)
if run.p.fail_until_gone and marker.exists():
    marker.unlink()
    raise RuntimeError("探针失败一次")
time.sleep(run.p.seconds)
run.metric("day", str(run.p.day))
run.add([flags.make(c, "high", "运营", f"探针提示 {c}") for c in run.p.codes.split(",") if c])
run.finish()
"""


def probe(folder) -> str:
    """A tiny playbook: waits, optionally fails once, raises the high flags it is given."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# 探针 (probe)\n测试用剧本。\n\n- **适用角色**：运营"),
                nbformat.v4.new_code_cell("from opsbook.spec import date"),
                nbformat.v4.new_code_cell(
                    'day: date = "2026-01-01"  # 日期\nseconds: float = 0.0  # 等待秒数\n'
                    'codes: str = ""  # 提示代码，逗号分隔\nfail_until_gone: str = ""  # 存在则失败一次的文件',
                    metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(PROBE_CODE.replace("NOTEBOOK", repr(str(folder / "probe.ipynb"))))]
    path = folder / "probe.ipynb"
    nbformat.write(nb, path)
    return str(path)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: dt.datetime):
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now


def at(day: int, hour: int, minute: int = 0, second: int = 30) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, second, tzinfo=TZ)


@pytest.fixture
def state(tmp_path):
    return schedule.State(tmp_path / "state.sqlite")


def scheduler(job_list, state, clock, **kw) -> schedule.Scheduler:
    return schedule.Scheduler(job_list, state=state, clock=clock, echo=print, **kw)


def runs_of(job: str) -> list[records.RunRecord]:
    return [r for r in records.store().index() if r.job == job]


# -- relative dates and job files ------------------------------------------------------------------------
@pytest.mark.parametrize("value, day, expected", [
    ("@yesterday", dt.date(2026, 3, 1), "2026-02-28"),
    ("@today", dt.date(2026, 3, 1), "2026-03-01"),
    ("@today-7d", dt.date(2026, 3, 1), "2026-02-22"),
    ("@yesterday+1d", dt.date(2026, 3, 1), "2026-03-01"),
    ("@last_week_start", dt.date(2026, 11, 23), "2026-11-16"),  # a Monday
    ("@last_week_end", dt.date(2026, 11, 23), "2026-11-22"),
    ("@last_week_end", dt.date(2026, 11, 22), "2026-11-15"),  # on Sunday, last week is the one before
    ("@this_week_start", dt.date(2026, 11, 22), "2026-11-16"),
    ("@last_month_start", dt.date(2026, 1, 15), "2025-12-01"),
    ("@last_month_end", dt.date(2026, 3, 1), "2026-02-28"),
    ("@this_month_start", dt.date(2026, 3, 31), "2026-03-01"),
    ("@昨天", dt.date(2026, 1, 1), "2025-12-31"),
    ("@上月末", dt.date(2026, 1, 1), "2025-12-31"),
    ("2026-06-30", dt.date(2026, 1, 1), "2026-06-30"),
    (7, dt.date(2026, 1, 1), 7),
])
def test_relative_dates(value, day, expected):
    assert jobs.resolve_date(value, day) == expected


def test_unknown_relative_date_is_a_chinese_error():
    with pytest.raises(ParamError, match="无法识别的相对日期 '@tomorrowish'.*@yesterday"):
        jobs.resolve_date("@tomorrowish", dt.date(2026, 1, 1))


def test_job_file_problems_are_listed_together(tmp_path):
    (tmp_path / "bad.yaml").write_text(textwrap.dedent("""
        playbook: kpi_report
        schedule: "61 8 * * *"
        retries: -1
        timeout: 0
        catch_up: sometimes
        notify: [slack, "email:not-an-address"]
        parameters:
          report_date: "@nextyear"
    """), encoding="utf-8")
    (tmp_path / "worse.yaml").write_text(textwrap.dedent("""
        playbook: kpi_report
        schedule: "0 0 8 * * *"
        catch_up: [latest]
        parameters:
          source: "postgresql://ops@db.example/shop?password=hunter2"
    """), encoding="utf-8")
    with pytest.raises(ParamError) as info:
        jobs.all_jobs(tmp_path)
    text = "\n".join(info.value.problems)
    for needle in ("bad.yaml：schedule", "retries", "timeout", "catch_up", "slack", "not-an-address", "@nextyear",
                   "worse.yaml：schedule '0 0 8 * * *' 不是有效的 5 段 cron", "worse.yaml：catch_up", "source（数据源）的地址中含有密码"):
        assert needle in text, needle
    assert "hunter2" not in text


def test_job_with_relative_dates_and_policies_loads(tmp_path):
    (tmp_path / "daily.yaml").write_text(textwrap.dedent("""
        playbook: kpi_report
        schedule: "0 8 * * *"
        retries: 3
        retry_delay: 30
        catch_up: skip
        notify: [dingtalk, feishu:warehouse, "email:ops@example.com"]
        parameters:
          report_date: "@yesterday"
    """), encoding="utf-8")
    job = jobs.load(tmp_path / "daily.yaml")
    assert (job.retries, job.retry_delay, job.catch_up) == (3, 30.0, "skip")
    assert job.parameters_on(dt.date(2026, 11, 22)) == {"report_date": "2026-11-21"}
    assert job.next_slot(at(22, 8, 0, 0)) == dt.datetime(2026, 11, 23, 8, tzinfo=TZ)
    assert job.slots(at(20, 9), at(22, 9)) == [dt.datetime(2026, 11, d, 8, tzinfo=TZ) for d in (21, 22)]


def test_jobs_check_cli_exits_2_with_problems(tmp_path):
    home = tmp_path / "home"
    (home / "params").mkdir(parents=True)
    (home / "playbooks").symlink_to(paths.playbooks())
    (home / "params" / "bad.yaml").write_text('playbook: kpi_report\nschedule: "bad cron"\n', encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "opsbook.ui.cli", "jobs", "check"], capture_output=True, text=True,
                         env={**os.environ, "OPSBOOK_HOME": str(home)})
    assert out.returncode == 2 and "bad.yaml" in out.stderr and "cron" in out.stderr and "Traceback" not in out.stderr


# -- firing, catch-up, restarts -----------------------------------------------------------------------------
def test_fires_once_per_slot_with_dates_for_the_slot(tmp_path, state):
    clock = Clock(at(20, 7))
    job = jobs.Job("probe_daily", probe(tmp_path), {"day": "@yesterday"}, "0 8 * * *")
    s = scheduler([job], state, clock)
    assert s.run_once() == 0 and s.outcomes == []  # a new job starts from now
    clock.now = at(20, 8)
    assert s.run_once() == 0 and [o.state for o in s.outcomes] == ["ok"]
    assert s.tick() == []  # the same slot again: nothing
    again = scheduler([job], state, clock)  # a restart with the same state
    assert again.tick() == []
    (entry,) = runs_of("probe_daily")
    assert entry.params["day"] == "2026-11-19" and entry.slot == "2026-11-20T08:00:00+08:00"
    assert entry.trigger == "schedule" and entry.metrics["day"] == "2026-11-19"


@pytest.mark.parametrize("policy, expected_runs", [("latest", 1), ("skip", 0)])
def test_catch_up_after_downtime(tmp_path, state, policy, expected_runs):
    clock = Clock(at(10, 9))
    job = jobs.Job(f"probe_catch_{policy}", probe(tmp_path), {"day": "@yesterday"}, "0 8 * * *", catch_up=policy)
    scheduler([job], state, clock).tick()
    clock.now = at(13, 9, 30)  # down for three slots (11th, 12th, 13th at 08:00)
    s = scheduler([job], state, clock)
    assert s.run_once() == 0
    rows = {r["slot"][:10]: r["state"] for r in schedule.state_rows(state)}
    if policy == "latest":
        assert rows == {"2026-11-11": "skipped", "2026-11-12": "skipped", "2026-11-13": "ok"}
        assert [e.params["day"] for e in runs_of(job.name)] == ["2026-11-12"]
    else:
        assert rows == {"2026-11-11": "skipped", "2026-11-12": "skipped", "2026-11-13": "skipped"}
    assert len(runs_of(job.name)) == expected_runs
    clock.now = at(13, 9, 31)
    assert scheduler([job], state, clock).tick() == []  # missed slots are never run later


def test_skip_policy_still_runs_slots_that_are_on_time(tmp_path, state):
    clock = Clock(at(10, 7))
    job = jobs.Job("probe_on_time", probe(tmp_path), {}, "0 8 * * *", catch_up="skip")
    s = scheduler([job], state, clock)
    s.tick()
    clock.now = at(10, 8, 14)  # a tick held up by slow work (or cron running --once every 15 minutes)
    assert s.run_once() == 0 and [o.state for o in s.outcomes] == ["ok"]


def test_two_schedulers_never_run_a_slot_twice(tmp_path):
    clock = Clock(at(5, 7))
    job = jobs.Job("probe_pair", probe(tmp_path), {"seconds": 0.5}, "0 8 * * *")
    first = scheduler([job], schedule.State(tmp_path / "s.sqlite"), clock)
    second = scheduler([job], schedule.State(tmp_path / "s.sqlite"), clock)
    first.tick()
    clock.now = at(5, 8)
    fired = []
    threads = [threading.Thread(target=lambda s=s: fired.append(len(s.tick()))) for s in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(fired) == [0, 1]
    for s in (first, second):
        while s.running:
            s.collect(timeout=None)
    assert len(runs_of("probe_pair")) == 1


# -- retries and timeouts ---------------------------------------------------------------------------------
def test_timeout_is_retried_with_backoff_then_fails(tmp_path, state):
    clock = Clock(at(6, 7))
    job = jobs.Job("probe_timeout", probe(tmp_path), {"seconds": 30}, "0 8 * * *", timeout=1, retries=1,
                   retry_delay=60)
    s = scheduler([job], state, clock)
    s.tick()
    clock.now = at(6, 8)
    assert s.run_once() == 0
    (row,) = schedule.state_rows(state)
    assert row["state"] == "retry" and row["next_try"] == "2026-11-06T08:01:30+08:00"
    clock.now = at(6, 8, 1, 0)
    assert s.tick() == []  # backoff not over yet
    clock.now = at(6, 8, 1, 31)
    assert s.run_once() == 1  # second timeout, no retries left: failed
    (row,) = schedule.state_rows(state)
    assert row["state"] == "failed" and row["attempt"] == 2 and "超时" in row["error"]
    statuses = [(e.status, e.attempt) for e in runs_of("probe_timeout")]
    assert statuses == [("timeout", 1), ("timeout", 2)]


def test_playbook_error_retried_and_passes(tmp_path, state):
    marker = tmp_path / "fail-once"
    marker.touch()
    clock = Clock(at(7, 7))
    job = jobs.Job("probe_flaky", probe(tmp_path), {"fail_until_gone": str(marker)}, "0 8 * * *", retries=2,
                   retry_delay=10)
    s = scheduler([job], state, clock)
    s.tick()
    clock.now = at(7, 8)
    s.run_once()
    clock.now = at(7, 8, 1)
    assert s.run_once() == 0
    assert [e.status for e in runs_of("probe_flaky")] == ["failed", "ok"]
    assert schedule.state_rows(state)[0]["state"] == "ok"


def test_bad_parameters_are_never_retried(tmp_path, state):
    clock = Clock(at(8, 7))
    job = jobs.Job("probe_badparam", probe(tmp_path), {"seconds": "lots"}, "0 8 * * *", retries=3)
    s = scheduler([job], state, clock)
    s.tick()
    clock.now = at(8, 8)
    assert s.run_once() == 1
    (row,) = schedule.state_rows(state)
    assert row["state"] == "failed" and row["attempt"] == 1 and "seconds" in row["error"]


def test_scheduler_killed_mid_run_is_filed_failed_and_retried(tmp_path, runs_root):
    """Kill a real scheduler process during a run; a new one files the run as failed and retries the slot."""
    notebook = probe(tmp_path)
    state_path = tmp_path / "state.sqlite"
    script = textwrap.dedent(f"""
        import datetime as dt
        from opsbook.ops import jobs, schedule
        from opsbook.settings import TZ
        job = jobs.Job("probe_killed", {notebook!r}, {{"seconds": 60}}, "0 8 * * *", retry_delay=0)
        state = schedule.State(__import__("pathlib").Path({str(state_path)!r}))
        with state.transaction() as db:
            db.execute("INSERT OR IGNORE INTO cursor VALUES ('probe_killed', '2026-11-09T07:00:00+08:00')")
        s = schedule.Scheduler([job], state=state, clock=lambda: dt.datetime(2026, 11, 9, 8, 0, 30, tzinfo=TZ))
        s.run_once()
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], env=os.environ.copy(), start_new_session=True)
    state = schedule.State(state_path)
    deadline = time.monotonic() + 60
    while not list((runs_root / "probe").glob(".tmp-*")):  # the run has started (its folder appears with its owner)
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)  # mid-run for sure: the run sleeps 60 s
    proc.wait()
    assert schedule.state_rows(state)[0]["state"] == "running"
    job = jobs.Job("probe_killed", notebook, {"seconds": 0}, "0 8 * * *", retry_delay=0)
    s = scheduler([job], state, Clock(at(9, 8, 1)))
    assert s.run_once() == 0
    (row,) = schedule.state_rows(state)
    assert row["state"] == "ok" and row["attempt"] == 2
    statuses = sorted((e.status, e.error or "") for e in runs_of("probe_killed"))
    assert [s for s, _ in statuses] == ["failed", "ok"] and "中断" in statuses[0][1]
    assert not list((runs_root / "probe").glob(".tmp-*"))


# -- alerts and history ----------------------------------------------------------------------------------
class Hook(BaseHTTPRequestHandler):
    received: list = []
    reply = {"errcode": 0}
    status = 200
    hang: threading.Event | None = None  # when set by a test, each request waits for it (a hanging chat service)
    arrived = threading.Event()

    def do_POST(self):
        Hook.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        Hook.arrived.set()
        if Hook.hang is not None:
            Hook.hang.wait(60)
        body = json.dumps(Hook.reply).encode()
        self.send_response(Hook.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook(monkeypatch):
    Hook.received, Hook.reply, Hook.status, Hook.hang = [], {"errcode": 0}, 200, None
    Hook.arrived = threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("OPSBOOK_WECOM_WEBHOOK", f"http://127.0.0.1:{server.server_port}/cgi-bin/webhook/send?key=k")
    yield Hook
    if Hook.hang is not None:
        Hook.hang.set()
    server.shutdown()


def run_alerts(webhook) -> list[str]:
    """The texts of the alerts about runs received so far (not those about overdue follow-up tasks)."""
    return [m["markdown"]["content"] for m in webhook.received if "跟进任务" not in m["markdown"]["content"]]


def test_alerts_on_new_high_flags_and_final_failure_only(tmp_path, state, webhook):
    clock = Clock(at(3, 7))
    path = probe(tmp_path)
    job = jobs.Job("probe_alerts", path, {"codes": "stockout"}, "0 8 * * *", notify=("wecom",), retries=0)
    scheduler([job], state, clock).tick()
    for day, codes in ((3, "stockout"), (4, "stockout"), (5, "stockout,roi_low"), (6, "roi_low")):
        clock.now = at(day, 8)
        job = jobs.Job("probe_alerts", path, {"codes": codes}, "0 8 * * *", notify=("wecom",), retries=0)
        scheduler([job], state, clock).run_once()
    texts = run_alerts(webhook)  # (the follow-up tasks of the flags, overdue a day later, are alerted too)
    assert len(texts) == 2  # day 3 (first run: stockout is new) and day 5 (roi_low new); day 4 and 6 add nothing
    assert "探针提示 stockout" in texts[0] and "探针提示 roi_low" in texts[1] and "stockout" not in texts[1]
    assert all("probe_alerts" in t for t in texts)
    last = history.entries()[0]
    assert last.record.job == "probe_alerts" and last.new == [] and last.resolved == ["stockout"]
    clock.now = at(7, 8)
    job = jobs.Job("probe_alerts", path, {"seconds": "x"}, "0 8 * * *", notify=("wecom",), retries=0)
    assert scheduler([job], state, clock).run_once() == 1
    assert len(run_alerts(webhook)) == 3 and "失败" in run_alerts(webhook)[-1]


def alert_rows(state) -> list[dict]:
    return [dict(r) for r in state.rows("SELECT ok, tries, gave_up, next_try, error FROM alerts ORDER BY id")]


def test_undelivered_alerts_are_retried_with_backoff_across_restarts(tmp_path, state, webhook):
    webhook.status, webhook.reply = 500, {"errcode": -1, "errmsg": "service unavailable"}
    clock = Clock(at(2, 7))
    job = jobs.Job("probe_bad_hook", probe(tmp_path), {"codes": "x1"}, "0 8 * * *", notify=("wecom",))
    scheduler([job], state, clock).tick()
    clock.now = at(2, 8)
    assert scheduler([job], state, clock).run_once() == 0  # the run is ok although its alert is not delivered
    (alert,) = alert_rows(state)
    assert (alert["ok"], alert["tries"], alert["gave_up"]) == (0, 1, 0) and "HTTP 500" in alert["error"]
    assert dt.datetime.fromisoformat(alert["next_try"]) == at(2, 8, 0, 30) + dt.timedelta(seconds=30)
    for seconds, tries in ((20, 1), (31, 2), (60, 2), (95, 3)):  # each "restart" is a new scheduler on the same state
        clock.now = at(2, 8, 0, 30) + dt.timedelta(seconds=seconds)
        scheduler([job], state, clock).outbox.drain(10)
        assert alert_rows(state)[0]["tries"] == tries, seconds
    webhook.status, webhook.reply = 200, {"errcode": 0}
    clock.now += dt.timedelta(minutes=5)
    scheduler([job], state, clock).outbox.drain(10)
    assert [(a["ok"], a["tries"], a["error"]) for a in alert_rows(state)] == [(1, 4, None)]
    clock.now += dt.timedelta(hours=2)
    scheduler([job], state, clock).outbox.drain(10)
    assert len(webhook.received) == 4  # a delivered alert is not sent again


def test_alerts_stop_at_the_horizon_and_stay_listed_as_undelivered(tmp_path, webhook, monkeypatch, capsys):
    from opsbook.ui import cli
    monkeypatch.setenv("OPSBOOK_ALERT_HORIZON_HOURS", "1")
    webhook.status = 502
    state = schedule.State()  # the project's own state: what `opsbook runs` and the history page read
    clock = Clock(at(9, 7))
    job = jobs.Job("probe_outage", probe(tmp_path), {"seconds": "x"}, "0 8 * * *", notify=("wecom",), retries=0)
    scheduler([job], state, clock).tick()
    clock.now = at(9, 8)
    assert scheduler([job], state, clock).run_once() == 1
    while (due := scheduler([job], state, clock).outbox.next_due()) is not None:
        clock.now = due
        scheduler([job], state, clock).outbox.drain(10)
    (alert,) = alert_rows(state)
    # tries at 0 s, 30 s, 1.5, 3.5, 7.5, 15.5 and 31.5 min; the next (63.5 min) would be past the 1 h horizon
    assert (alert["ok"], alert["tries"], alert["gave_up"]) == (0, 7, 1) and len(webhook.received) == 7
    assert cli.main(["runs"]) == 0
    out = capsys.readouterr().out
    assert "告警未送达（1 条" in out and "probe_outage" in out and "wecom" in out and "已停止重试" in out
    page = history.write_page().read_text(encoding="utf-8")
    assert "告警未送达（1 条）" in page and "HTTP 502" in page


def test_a_hanging_webhook_never_blocks_firing_jobs(tmp_path, state, webhook):
    webhook.hang = threading.Event()
    clock = Clock(at(4, 7))
    job = jobs.Job("probe_fires", probe(tmp_path), {}, "0 8 * * *")
    s = scheduler([job], state, clock, notifier=lambda targets, event: notify.send(targets, event, attempts=1,
                                                                                    timeout=60))
    s.tick()
    with state.transaction() as db:
        schedule.alerts.queue(db, "other_job", "2026-11-04T07:00:00+08:00", ["wecom"],
                              {"job": "other_job", "playbook": "kpi_report", "status": "failed", "run_id": "",
                               "started": ""}, clock.now)
    clock.now = at(4, 8)
    ticking = threading.Thread(target=s.tick)
    ticking.start()
    ticking.join(20)  # a blocking send would hold the loop for the whole 60 s timeout of the hanging request
    assert not ticking.is_alive() and webhook.arrived.wait(10) and not webhook.hang.is_set()
    assert [t.job for t in s.running.values()] == ["probe_fires"]  # the due job was fired meanwhile
    webhook.hang.set()
    s.outbox.file_finished(timeout=30)
    while s.running:
        s.collect(timeout=None)
    assert [a["ok"] for a in alert_rows(state)] == [1] and s.outcomes[0].state == "ok"


def test_a_wrong_alert_horizon_stops_the_scheduler_at_start():
    env = {**os.environ, "OPSBOOK_ALERT_HORIZON_HOURS": "-3"}
    out = subprocess.run([sys.executable, "-m", "opsbook.ui.cli", "schedule", "--once"], capture_output=True,
                         text=True, env=env, timeout=120)
    assert out.returncode == 2 and "OPSBOOK_ALERT_HORIZON_HOURS" in out.stderr and "Traceback" not in out.stderr


def test_history_page_lists_runs_with_changes(tmp_path, state, runs_root):
    clock = Clock(at(1, 7))
    path = probe(tmp_path)
    scheduler([jobs.Job("probe_page", path, {}, "0 8 * * *")], state, clock).tick()
    for day, codes in ((1, "a_flag"), (2, "b_flag")):
        clock.now = at(day, 8)
        scheduler([jobs.Job("probe_page", path, {"codes": codes}, "0 8 * * *")], state, clock).run_once()
    page = (runs_root / "index.html").read_text(encoding="utf-8")
    assert "运行记录" in page and "probe_page" in page and "探针提示 b_flag" in page
    assert page.index("探针提示 b_flag") < page.index("探针提示 a_flag")  # newest first
    assert "<script src=" not in page and "http" not in page.split("<script>")[0].split("</style>")[1]


def test_runs_cli_filters_shows_and_reruns_with_same_values(state):
    """A real playbook on the sample shop: the scheduled run and its rerun give the same values."""
    clock = Clock(dt.datetime(2026, 6, 29, 7, tzinfo=TZ))
    job = jobs.Job("kpi_daily_test", "kpi_report", {"period": "日", "report_date": "@yesterday", "history": 14},
                   "0 8 * * *")
    s = scheduler([job], state, clock)
    s.tick()
    clock.now = dt.datetime(2026, 6, 30, 8, 0, 5, tzinfo=TZ)
    assert s.run_once() == 0
    (first,) = runs_of("kpi_daily_test")
    assert first.params["report_date"] == "2026-06-29" and first.metrics

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "opsbook.ui.cli", *args], capture_output=True, text=True)

    listed = cli("runs", "--job", "kpi_daily_test")
    assert listed.returncode == 0 and first.run_id in listed.stdout and "成功" in listed.stdout
    assert "没有符合条件" in cli("runs", "--job", "kpi_daily_test", "--status", "failed").stdout
    shown = cli("runs", "show", first.run_id[:18])
    assert shown.returncode == 0 and "2026-06-29" in shown.stdout and "report.html" in shown.stdout
    rerun = cli("rerun", first.run_id)
    assert rerun.returncode == 0, rerun.stderr
    first, second = runs_of("kpi_daily_test")
    assert second.trigger == "rerun" and second.params == first.params
    assert second.metrics == first.metrics and second.flag_codes == first.flag_codes
    missing = cli("runs", "show", "nope")
    assert missing.returncode == 2 and "找不到运行编号" in missing.stderr
    assert cli("runs", "--since", "yesterday").returncode == 2


def test_schedule_command_starts_lists_jobs_and_stops_cleanly_on_sigterm(lines_of):
    """Its lines reach a pipe (a log file, the journal) as they are printed, without PYTHONUNBUFFERED."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    proc = subprocess.Popen([sys.executable, "-m", "opsbook.ui.cli", "schedule", "--workers", "1"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        first, *listed = lines_of(proc.stdout, 1 + len(jobs.all_jobs()))
        assert "调度器已启动" in first
        assert any("kpi_daily" in line and "0 8 * * *" in line for line in listed)
        proc.send_signal(signal.SIGTERM)  # its handlers are installed before it prints
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()


def test_jobs_check_warns_about_missing_alert_secrets(tmp_path):
    home = tmp_path / "home"
    (home / "params").mkdir(parents=True)
    (home / "playbooks").symlink_to(paths.playbooks())
    (home / "params" / "daily.yaml").write_text('playbook: kpi_report\nnotify: ["dingtalk:ops"]\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSBOOK_DINGTALK")}
    out = subprocess.run([sys.executable, "-m", "opsbook.ui.cli", "jobs", "check"], capture_output=True, text=True,
                         env={**env, "OPSBOOK_HOME": str(home)})
    assert out.returncode == 0 and "OPSBOOK_DINGTALK_WEBHOOK_OPS" in out.stderr


def test_a_run_filed_just_before_its_scheduler_died_is_not_run_again(tmp_path, state):
    job = jobs.Job("probe_filed", probe(tmp_path), {}, "0 8 * * *", retries=0, notify=())
    slot = "2026-11-14T08:00:00+08:00"
    with state.transaction() as db:  # claimed by a scheduler process that no longer exists
        db.execute("INSERT INTO slots (job, slot, state, attempt, owner, updated) VALUES (?, ?, 'running', 1, ?, ?)",
                   (job.name, slot, "999999999 1", slot))
    schedule.execute(schedule.Task(job.playbook, {}, None, job.name, slot, 1))  # the run it had finished
    s = scheduler([job], state, Clock(at(14, 8, 5)))
    assert s.tick() == []
    (row,) = schedule.state_rows(state)
    assert row["state"] == "ok" and row["run_id"] == runs_of("probe_filed")[0].run_id
    assert len(runs_of("probe_filed")) == 1


def test_history_survives_overlapping_runs_and_reruns(tmp_path):
    def entry(run_id, started, codes, trigger="schedule"):
        return {"run_id": run_id, "playbook": "p", "job": "j", "status": "ok", "started": started, "trigger": trigger,
                "folder": f"p/{run_id}", "flag_codes": dict.fromkeys(codes, "high"), "seconds": {"total": 1},
                "flag_counts": {}}
    lines = [entry("a", "2026-01-01T10:00:00", ["x"]), entry("c", "2026-01-02T10:01:00", ["x", "y"]),
             entry("b", "2026-01-02T10:00:00", []),  # started before c, filed after it
             entry("old", "2025-10-01T10:00:00", ["z"], trigger="rerun"), entry("d", "2026-01-03T10:00:00", [])]
    (tmp_path / "index.jsonl").write_text("\n".join(json.dumps(e) for e in lines) + "\n{torn", encoding="utf-8")
    found = {e.record.run_id: e for e in history.entries(RunStore(tmp_path))}
    assert found["c"].new == ["y"] and found["b"].resolved == ["x", "y"] and found["b"].previous == "c"
    assert found["old"].new == ["z"] and found["d"].previous == "b" and found["d"].new == []
    assert len(history.page_rows(RunStore(tmp_path))) == 5
    assert "opsbook" in history.write_page(RunStore(tmp_path)).read_text(encoding="utf-8")


def test_history_reads_records_without_a_start_time(tmp_path):
    """Records filed by older versions may lack `started`: listed, left out only by date filters."""
    lines = [{"run_id": "x", "playbook": "p", "job": "j", "status": "failed", "folder": "p/x"},
             {"run_id": "y", "playbook": "p", "job": "j", "status": "ok", "started": "2026-01-02T10:00:00",
              "folder": "p/y"}]
    (tmp_path / "index.jsonl").write_text("\n".join(json.dumps(e) for e in lines) + "\n", encoding="utf-8")
    found = history.entries(RunStore(tmp_path))
    assert [e.record.run_id for e in history.select(found, job="j")] == ["y", "x"]
    assert [e.record.run_id for e in history.select(found, since=dt.date(2026, 1, 1))] == ["y"]
    assert "p/x/report.html" in history.write_page(RunStore(tmp_path)).read_text(encoding="utf-8")


def test_jobs_list_shows_next_fire_time_and_the_last_slot_even_without_a_run():
    state = schedule.State(records.store().aside(schedule.STATE_FILE))
    with state.transaction() as db:
        db.execute("INSERT OR REPLACE INTO slots (job, slot, state, error, updated) VALUES "
                   "('kpi_weekly', '2030-01-07T08:30:00+08:00', 'skipped', '错过的时间点，按 catch_up: skip 未补跑', 'x')")
    out = subprocess.run([sys.executable, "-m", "opsbook.ui.cli", "jobs"], capture_output=True, text=True)
    assert out.returncode == 0 and "下次 20" in out.stdout
    assert "上次 2030-01-07 08:30 已跳过：错过的时间点" in out.stdout


def test_one_bad_job_file_never_stops_the_others(tmp_path):
    home = tmp_path / "home"
    (home / "params").mkdir(parents=True)
    (home / "playbooks").symlink_to(paths.playbooks())
    (home / "data").symlink_to(paths.root() / "data")
    (home / "params" / "never.yaml").write_text('playbook: kpi_report\nschedule: "0 0 31 2 *"\n', encoding="utf-8")
    (home / "params" / "broken.yaml").write_text("playbook: [unclosed\n", encoding="utf-8")
    (home / "params" / "daily.yaml").write_text('playbook: kpi_report\nschedule: "0 8 * * *"\n', encoding="utf-8")
    env = {**os.environ, "OPSBOOK_HOME": str(home)}

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "opsbook.ui.cli", *args], capture_output=True, text=True, env=env,
                              timeout=300)
    listed = cli("jobs")
    assert listed.returncode == 2 and "daily: kpi_report" in listed.stdout and "Traceback" not in listed.stderr
    assert "never.yaml：schedule '0 0 31 2 *' 永远不会触发" in listed.stderr and "broken.yaml" in listed.stderr
    once = cli("schedule", "--once")
    assert once.returncode == 0 and "Traceback" not in once.stderr and "任务文件有误，未调度" in once.stderr
    assert "任务文件有误，未调度（2 个）" in (records.store().root / "index.html").read_text(encoding="utf-8")


def test_job_files_that_cannot_be_scheduled_are_alerted_once(tmp_path, webhook):
    home = tmp_path / "home"
    (home / "params").mkdir(parents=True)
    (home / "playbooks").symlink_to(paths.playbooks())
    (home / "params" / "broken.yaml").write_text("playbook: [unclosed\n", encoding="utf-8")
    env = {**os.environ, "OPSBOOK_HOME": str(home), "OPSBOOK_NOTIFY": "wecom"}
    for _ in range(2):
        out = subprocess.run([sys.executable, "-m", "opsbook.ui.cli", "schedule", "--once"], capture_output=True,
                             text=True, env=env, timeout=120)
        assert out.returncode == 0, out.stderr
    (card,) = webhook.received  # the second start finds it already delivered
    assert "broken.yaml" in card["markdown"]["content"] and "任务文件有误，未调度" in card["markdown"]["content"]


def test_bad_data_is_never_retried(tmp_path, state, shop):
    job = jobs.Job("bad_data", "user_tiering", {"source": shop(drop_columns={"orders": ["status"]})}, "0 8 * * *",
                   retries=3, retry_delay=0)
    clock = Clock(at(20, 7))
    scheduler([job], state, clock).tick()
    clock.now = at(20, 8)
    assert scheduler([job], state, clock).run_once() == 1
    (row,) = schedule.state_rows(state)
    assert row["state"] == "failed" and row["attempt"] == 1 and "缺少必需列 status" in row["error"]


def test_a_state_file_of_the_previous_version_is_brought_up_to_date(tmp_path, webhook):
    import sqlite3
    old = sqlite3.connect(tmp_path / "old.sqlite")
    old.executescript("""
        CREATE TABLE alerts (id INTEGER PRIMARY KEY, job TEXT NOT NULL, slot TEXT NOT NULL, target TEXT NOT NULL,
            event TEXT NOT NULL, ok INTEGER NOT NULL DEFAULT 0, tries INTEGER NOT NULL DEFAULT 0, error TEXT,
            updated TEXT NOT NULL);
        INSERT INTO alerts (job, slot, target, event, ok, tries, error, updated) VALUES
            ('kpi_daily', '2026-11-01T08:00:00+08:00', 'wecom', '{"job": "kpi_daily", "playbook": "kpi_report",
             "status": "failed", "run_id": "", "started": ""}', 0, 5, 'HTTP 500', '2026-11-01T08:01:00+08:00');""")
    old.commit()
    old.close()
    state = schedule.State(tmp_path / "old.sqlite")
    (row,) = alert_rows(state)
    assert (row["ok"], row["tries"], row["gave_up"]) == (0, 5, 0)  # dropped by the old version: retried now
    outbox = schedule.alerts.Outbox(state, Clock(at(1, 9)))
    outbox.drain(10)
    assert [(a["ok"], a["tries"]) for a in alert_rows(state)] == [(1, 6)] and len(webhook.received) == 1
    (created,) = state.rows("SELECT created FROM alerts")
    assert created["created"] == "2026-11-01T08:01:00+08:00"


def test_the_history_page_shows_staff_no_exception_text(tmp_path, state):
    marker = tmp_path / "fail-once"
    marker.write_text("x")
    job = jobs.Job("probe_crash", probe(tmp_path), {"fail_until_gone": str(marker)}, "0 8 * * *", retries=0)
    clock = Clock(at(12, 7))
    scheduler([job], state, clock).tick()
    clock.now = at(12, 8)
    scheduler([job], state, clock).run_once()
    (entry,) = history.entries()
    assert "Error" in entry.record.error  # the record keeps the technical text for analysts (opsbook runs show)
    page = history.write_page().read_text(encoding="utf-8")
    assert history.TECHNICAL_ERROR in page and "Error" not in page.split("<body>")[1]
