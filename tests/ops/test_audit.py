"""Who ran each run, the append-only audit log, `opsbook audit`, and runs kept at least two years."""
from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

from opsbook import spec
from opsbook.data import privacy
from opsbook.engine import kernels, records
from opsbook.engine.records import RunRecord
from opsbook.errors import ParamError
from opsbook.ops import accounts, audit, history, jobs, schedule
from opsbook.settings import KEEP_DAYS_ENV, MIN_KEEP_DAYS, TZ, RunStatus
from opsbook.ui import cli, session

REPO = Path(__file__).parents[2]
PROBE = """
import pathlib
import opsbook.playbook
run = opsbook.playbook.begin(pathlib.Path(NOTEBOOK), globals())
run.metric("day", str(run.p.day))
run.finish()
"""


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A project of its own (accounts, audit log) with one tiny playbook, `probe`."""
    root = tmp_path / "home"
    (root / "playbooks").mkdir(parents=True)
    (root / "params").mkdir()
    (root / "data").mkdir()
    (root / "data" / "reference").symlink_to(REPO / "data" / "reference")  # the intake's export definitions
    monkeypatch.setenv("OPSBOOK_HOME", str(root))
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = root / "playbooks" / "probe.ipynb"
    nb.cells = [nbformat.v4.new_markdown_cell("# 探针 (probe)\n测试用剧本。\n\n- **适用角色**：运营"),
                nbformat.v4.new_code_cell("from opsbook.spec import date"),
                nbformat.v4.new_code_cell('day: date = "2026-01-01"  # 日期', metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(PROBE.replace("NOTEBOOK", repr(str(path))))]
    nbformat.write(nb, path)
    for name in ("_current", "_address", "_accounts_mode"):  # a begun session is undone after the test
        monkeypatch.setattr(session, name, getattr(session, name))
    yield root
    kernels.POOL.drain()  # a warm kernel keeps the project it was started in: none of ours serves later tests
    records.unsubscribe(audit._record_run)
    records.unsubscribe(history._refresh_page)


def audit_lines(root: Path) -> list[str]:
    """Every line of every audit file of the project at `root`."""
    return [line for path in sorted((root / ".opsbook" / "audit").glob("audit-*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines()]


def opsbook(*args, env: dict | None = None) -> subprocess.CompletedProcess:
    """The `opsbook` command in a child process."""
    return subprocess.run([sys.executable, "-m", "opsbook.ui.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


# -- who ran it ----------------------------------------------------------------------------------------------------
def test_a_form_run_records_its_user_everywhere(home, runs_root, capsys):
    from opsbook.ui.forms import run_form
    accounts.add("张三", ["运营"], "very-secret-1")
    session.begin("张三", "10.0.0.8")
    form = run_form.Form(spec.load("probe"))
    form.execute(form.spec.validate(form.values()))  # what 运行 does on the form's worker thread
    (summary,) = records.store().index()
    result = json.loads((summary.folder / records.RESULT).read_text(encoding="utf-8"))
    assert (summary.user, result["user"], result["address"], result["trigger"]) == ("张三", "张三", "10.0.0.8", "form")
    index_line = json.loads((runs_root / records.INDEX).read_text(encoding="utf-8").splitlines()[0])
    assert index_line["user"] == "张三"

    (event,) = audit.events(action="run")
    assert (event["who"], event["address"], event["target"]) == ("张三", "10.0.0.8", f"probe/{summary.run_id}")
    assert event["detail"] == {"status": "ok", "trigger": "form"}

    page = (runs_root / history.PAGE).read_text(encoding="utf-8")  # runs/index.html, also the 运行记录 page's table
    assert "<th>运行人</th>" in page and '<td class="ob-user">张三</td>' in page
    assert "运行人 张三" in summary.folder.joinpath(records.REPORT).read_text(encoding="utf-8")
    assert cli.main(["runs"]) == 0
    listed = capsys.readouterr().out
    assert "运行人" in listed and "张三" in listed
    assert cli.main(["runs", "show", summary.run_id]) == 0 and "运行人 张三" in capsys.readouterr().out


def test_a_token_mode_form_run_is_recorded_as_this_machine(home):
    from opsbook.ui.forms import run_form
    form = run_form.Form(spec.load("probe"))
    form.execute(form.spec.validate(form.values()))
    (summary,) = records.store().index()
    assert summary.user == accounts.LOCAL.name == "本机" and summary.address == ""


def test_a_scheduled_run_records_its_job(home):
    clock = SimpleNamespace(now=dt.datetime(2026, 11, 20, 7, 0, 30, tzinfo=TZ))
    job = jobs.Job("探针日报", "probe", {"day": "@yesterday"}, "0 8 * * *")
    s = schedule.Scheduler([job], state=schedule.State(home / "state.sqlite"), clock=lambda: clock.now,
                           echo=lambda _text: None)
    s.run_once()  # a new job starts from now
    clock.now = dt.datetime(2026, 11, 20, 8, 0, 30, tzinfo=TZ)
    assert s.run_once() == 0
    (summary,) = records.store().index()
    assert summary.user == "任务 探针日报" and summary.trigger == "schedule"
    (event,) = audit.events(action="run")
    assert event["who"] == "任务 探针日报" and event["detail"]["job"] == "探针日报" and event["address"] == ""
    failed = schedule.failure(schedule.Task("probe", {}, None, "探针日报", "2026-11-20T08:00:00+08:00"), "x", False)
    assert failed.user == "任务 探针日报"  # an attempt refused before running says whose it was too


def test_cli_runs_record_the_os_user_and_jobs_run_the_job(home, capsys):
    (home / "params" / "probe_daily.yaml").write_text("playbook: probe\nparameters:\n  day: '@yesterday'\n",
                                                      encoding="utf-8")
    assert cli.main(["run", "probe", "-p", "day=2026-06-30"]) == 0
    assert cli.main(["jobs", "run", "probe_daily"]) == 0
    by_hand, by_job = records.store().index()
    assert by_hand.user == f"命令行 {getpass.getuser()}" and by_job.user == "任务 probe_daily"
    assert [e["who"] for e in audit.events(action="run")] == [by_job.user, by_hand.user]  # newest first
    capsys.readouterr()
    assert cli.main(["rerun", by_job.run_id]) == 0  # someone at the terminal reran the job's run
    assert records.store().index()[-1].user == f"命令行 {getpass.getuser()}"


def test_an_interrupted_run_keeps_its_user(home, runs_root):
    store = records.store()
    record = RunRecord(records.new_run_id(dt.datetime.now(TZ)), "probe", RunStatus.RUNNING, user="张三",
                       address="10.0.0.8")
    running = store.open(record)
    (running / records.PID_FILE).write_text("999999999 1", encoding="utf-8")  # a process that is gone
    (filed,) = store.file_interrupted("probe")
    assert (filed.user, filed.address) == ("张三", "10.0.0.8")


# -- the audit log ---------------------------------------------------------------------------------------------
def test_events_are_one_json_line_each_never_rewritten_and_private(home):
    first = audit.record("login", "张三", address="10.0.0.8")
    path = audit.file_for(dt.datetime.fromisoformat(first["time"]))
    before = path.read_bytes()
    audit.record("logout", "张三", address="10.0.0.8")
    assert path.read_bytes().startswith(before)  # appended, the earlier line untouched
    assert path.name == f"audit-{dt.datetime.now(TZ):%Y-%m}.jsonl" and path.parent == home / ".opsbook" / "audit"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    lines = [json.loads(line) for line in audit_lines(home)]
    assert [e["action"] for e in lines] == ["login", "logout"]
    assert set(lines[0]) == {"time", "action", "who", "target", "address", "detail"}
    with pytest.raises(ValueError):
        audit.record("Drop Table", "张三")


def test_phones_and_passwords_are_masked_in_the_log(home):
    audit.record("login_failed", "13912345678", address="10.0.0.9", reason="密码错误")
    audit.record("import", "张三", "postgresql://ops:hunter2@db.example/shop", file="13812345678_订单.csv",
                 note=["客户 138 1234 5678"])
    text = "\n".join(audit_lines(home))
    assert privacy.find_phones(text) == [] and "hunter2" not in text
    assert "139****5678" in text and "138****5678_订单.csv" in text and "ops:***@db.example" in text
    assert [e["who"] for e in audit.events(user="13912345678")] == ["139****5678"]  # found by the name typed


def test_a_line_cut_by_a_crash_is_skipped_and_the_next_one_is_whole(home):
    audit.record("login", "张三")
    path = next((home / ".opsbook" / "audit").glob("audit-*.jsonl"))
    with open(path, "ab") as fh:
        fh.write(b'{"time": "2026-')  # a writer killed mid-line
    audit.record("logout", "张三")
    assert [e["action"] for e in audit.events()] == ["logout", "login"]


WRITER = """
import sys
from opsbook.ops import audit
for i in range(int(sys.argv[2])):
    audit.record("download", f"用户{sys.argv[1]}", f"probe/run/{i}", "10.0.0.1", seq=i, pad="长" * 300)
"""


def test_concurrent_appends_from_many_processes_keep_every_line_whole(home):
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(n), "200"], env=dict(os.environ))
               for n in range(8)]
    assert [w.wait(timeout=300) for w in writers] == [0] * 8
    lines = audit_lines(home)
    events = [json.loads(line) for line in lines]  # every line parses
    assert len(events) == 1600
    for n in range(8):
        assert sorted(e["detail"]["seq"] for e in events if e["who"] == f"用户{n}") == list(range(200))


def test_imports_are_recorded_from_the_cli_and_the_import_form(home, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).parents[1] / "data"))
    from test_intake import DY_HEADER, dy_rows, write
    good = write(tmp_path / "13812345678_抖店订单.csv", DY_HEADER, dy_rows(n=3), "gbk")
    bad = write(tmp_path / "随便.csv", ["x"], [["1"]])
    warehouse = tmp_path / "warehouse"
    assert cli.main(["ingest", str(good), str(bad), "--into", str(warehouse)]) == 2
    rejected, imported = audit.events(action="import")
    assert imported["who"] == rejected["who"] == f"命令行 {getpass.getuser()}"
    assert imported["target"] == str(warehouse) and imported["detail"]["status"] == "ok"
    assert imported["detail"]["file"].endswith("138****5678_抖店订单.csv") and "新增 3 行" in imported["detail"]["note"]
    assert rejected["detail"]["status"] == "failed" and "表头" in rejected["detail"]["error"]

    from opsbook.ui.forms import import_form
    accounts.add("李四", ["管理员"], "very-secret-2")
    (home / "shops.yaml").write_text(f"shops:\n  - {{name: 抖店仓库, platform: DY, source: '{warehouse}'}}\n",
                                     encoding="utf-8")  # the form imports into registered shops only
    session.begin("李四", "10.0.0.7")
    form = import_form.ImportForm()
    form.into.value = "抖店仓库"
    form.upload.value = ({"name": "抖店订单.csv", "type": "text/csv", "size": good.stat().st_size,
                          "content": memoryview(good.read_bytes()),
                          "last_modified": dt.datetime.now(dt.timezone.utc)},)
    form.on_click()
    assert "新增" in form.result.value or "更新" in form.result.value
    latest = audit.events(action="import", limit=1)[0]
    assert (latest["who"], latest["address"], latest["target"]) == ("李四", "10.0.0.7", str(warehouse))
    assert latest["detail"]["file"] == "抖店订单.csv" and latest["detail"]["status"] == "ok"


def test_downloads_name_the_account_or_this_machine(home):
    from opsbook.ui import voila_app
    accounts.add("王五", ["仓储"], "very-secret-3")
    assert voila_app.downloader(SimpleNamespace(username="王五")) == "王五"
    assert voila_app.downloader(SimpleNamespace(username="a3f9c2e1b4d5")) == "本机"  # jupyter's anonymous token user
    assert voila_app.downloader(None) == "本机"


# -- opsbook audit ---------------------------------------------------------------------------------------------
def seed(root: Path) -> None:
    """Events over three months, written as the log holds them."""
    rows = [("2026-10-30T09:00:00+08:00", "login", "张三", "", "10.0.0.8", {}),
            ("2026-11-02T10:00:00+08:00", "run", "张三", "kpi_report/20261102-100000-aaaaaa", "10.0.0.8",
             {"status": "ok", "trigger": "form"}),
            ("2026-11-15T23:59:59+08:00", "download", "李四", "kpi_report/20261102-100000-aaaaaa/报告.xlsx",
             "10.0.0.9", {}),
            ("2026-11-16T00:00:00+08:00", "run", "任务 kpi_daily", "kpi_report/20261116-000000-bbbbbb", "",
             {"status": "failed", "trigger": "schedule", "job": "kpi_daily"}),
            ("2026-12-01T08:00:00+08:00", "login_failed", "王五", "", "10.0.0.10", {"reason": "密码错误"})]
    folder = root / ".opsbook" / "audit"
    folder.mkdir(parents=True, exist_ok=True)
    for time, action, who, target, address, detail in rows:
        with open(folder / f"audit-{time[:7]}.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"time": time, "action": action, "who": who, "target": target, "address": address,
                                 "detail": detail}, ensure_ascii=False) + "\n")


def listed(*args) -> list[str]:
    """The times of the events `opsbook audit --format json …` lists."""
    out = opsbook("audit", "--format", "json", *args)
    assert out.returncode == 0, out.stderr
    return [e["time"][:10] for e in json.loads(out.stdout)]


def test_audit_lists_newest_first_as_a_chinese_table(home):
    seed(home)
    out = opsbook("audit")
    assert out.returncode == 0, out.stderr
    head, *rows = out.stdout.splitlines()
    for column in ("时间", "操作", "用户", "地址", "对象", "说明"):
        assert column in head
    assert rows[0].startswith("2026-12-01 08:00:00") and "登录失败" in rows[0] and "原因 密码错误" in rows[0]
    assert "共 5 条" in out.stdout and "任务 kpi_daily" in out.stdout and "状态 failed，触发 schedule" in out.stdout


@pytest.mark.parametrize("args, expected", [
    ((), ["2026-12-01", "2026-11-16", "2026-11-15", "2026-11-02", "2026-10-30"]),
    (("--user", "张三"), ["2026-11-02", "2026-10-30"]),
    (("--user", "任务 kpi_daily"), ["2026-11-16"]),
    (("--user", "nobody"), []),
    (("--action", "run"), ["2026-11-16", "2026-11-02"]),
    (("--action", "下载"), ["2026-11-15"]),
    (("--since", "2026-11-15"), ["2026-12-01", "2026-11-16", "2026-11-15"]),
    (("--until", "2026-11-15"), ["2026-11-15", "2026-11-02", "2026-10-30"]),
    (("--since", "2026-11-01", "--until", "2026-11-30", "--action", "run", "--user", "张三"), ["2026-11-02"]),
    (("--limit", "2"), ["2026-12-01", "2026-11-16"]),
])
def test_audit_filters(home, args, expected):
    seed(home)
    assert listed(*args) == expected


@pytest.mark.parametrize("args, message", [
    (("--since", "yesterday"), "--since 应为日期"),
    (("--until", "2026-13-01"), "--until 应为日期"),
    (("--since", "2026-12-01", "--until", "2026-11-01"), "开始日期应不晚于结束日期"),
    (("--limit", "0"), "--limit 应为正整数"),
    (("--limit", "many"), "--limit 应为正整数"),
    (("--action", "hack"), "没有“hack”这种操作"),
    (("--format", "xml"), "--format 应为 table"),
])
def test_bad_audit_filters_exit_2_in_chinese(home, args, message):
    seed(home)
    out = opsbook("audit", *args)
    assert out.returncode == 2 and message in out.stderr and "筛选条件有误" in out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""


def test_every_bad_filter_is_named_at_once(home):
    with pytest.raises(ParamError) as info:
        audit.filters(None, "nope", "x", "y", "-1")
    assert len(info.value.problems) == 4


def test_an_action_another_engineer_added_can_be_filtered(home):
    audit.record("task_close", "张三", "task/7")
    assert [e["action"] for e in audit.events(**audit.filters(None, "task_close", None, None, None))] == ["task_close"]


# -- retention -------------------------------------------------------------------------------------------------
def filed(store: records.RunStore, days_ago: int, job: str | None = None) -> Path:
    """A filed run of `probe` started (and last changed) `days_ago` days ago."""
    when = dt.datetime.now(TZ) - dt.timedelta(days=days_ago)
    record = RunRecord(records.new_run_id(when), "probe", RunStatus.RUNNING, job=job)
    running = store.open(record)
    record.status, record.exit_code = RunStatus.OK, 0
    store.file(record, running)
    os.utime(record.folder, (when.timestamp(), when.timestamp()))
    return record.folder


def test_nothing_younger_than_two_years_is_ever_pruned(home, runs_root, monkeypatch):
    store = records.store()
    young = [filed(store, days) for days in (0, 100, 400, MIN_KEEP_DAYS - 1)]
    old = filed(store, MIN_KEEP_DAYS + 30)
    published = filed(store, MIN_KEEP_DAYS + 60, job="probe_daily")  # what `latest` points to: kept
    audit.record("login", "张三")
    audit_files = sorted((home / ".opsbook" / "audit").iterdir())

    for days in (0, 30, 365, MIN_KEEP_DAYS - 1):  # an attempt to keep less is refused before anything is deleted
        with pytest.raises(ParamError, match="至少保留 730 天"):
            store.prune(days)
    out = opsbook("runs", "prune", "--keep-days", "100")
    assert out.returncode == 2 and "至少保留 730 天" in out.stderr
    out = opsbook("runs", "prune", env={KEEP_DAYS_ENV: "30"})
    assert out.returncode == 2 and "至少保留 730 天" in out.stderr
    assert all(f.is_dir() for f in young + [old, published])

    out = opsbook("runs", "prune", "--dry-run")
    assert out.returncode == 0 and f"可清理：probe/{old.name}" in out.stdout and old.is_dir()
    out = opsbook("runs", "prune")
    assert out.returncode == 0, out.stderr
    assert not old.exists() and published.is_dir() and all(f.is_dir() for f in young)
    assert "1 次运行早于 730 天" in out.stdout
    assert sorted((home / ".opsbook" / "audit").iterdir()) == audit_files  # the audit log is never pruned
    (event,) = audit.events(action="prune")
    assert event["detail"] == {"count": 1, "keep_days": 730} and event["who"].startswith("命令行 ")
    assert len(store.index()) == 6  # the index keeps every run's summary


def test_a_restored_old_run_counts_from_its_newer_file_time(home):
    store = records.store()
    folder = filed(store, MIN_KEEP_DAYS + 30)
    os.utime(folder)  # copied back from a backup today
    assert store.prune() == [] and folder.is_dir()


def test_retention_is_documented():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "opsbook runs prune" in readme and "730" in readme and "opsbook audit" in readme
