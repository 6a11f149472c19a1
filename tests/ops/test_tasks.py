"""Follow-up tasks from flags: opened by scheduled runs, linked when a flag reappears, reopened after closing,
due from the SOP, alerted when overdue, listed and updated from the CLI."""
from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
import textwrap

import pytest
import yaml

from opsbook.engine.records import RunRecord
from opsbook.errors import ParamError
from opsbook.flags import Flag
from opsbook.ops import audit, jobs, schedule, tasks
from opsbook.ops.state import State
from opsbook.ui import cli
from test_schedule import Clock, at, webhook  # noqa: F401 - `webhook` is a fixture: a local chat-service server

STOCK = {"code": "probe.stock", "severity": "high", "owner": "仓储/供应链", "message": "3 个 SKU 即将断货：请补货",
         "rows": [{"sku": f"TM-A-{i}", "stock": i} for i in range(3)]}
LATE = {"code": "probe.late", "severity": "medium", "owner": "运营", "message": "2 笔订单超时未发货"}
INFO = {"code": "probe.info", "severity": "low", "owner": "运营", "message": "仅供参考"}


def job_of(notebook: str, *flags, **options) -> jobs.Job:
    """The probe job raising `flags` every morning at 08:00."""
    return jobs.Job("probe_tasks", notebook, {"raised": json.dumps(list(flags), ensure_ascii=False)}, "0 8 * * *",
                    **options)


def run_at(job, state, when: dt.datetime, **kw) -> schedule.Scheduler:
    """Fire the job's slot due at `when` (registering it the minute before) and wait for it and its alerts."""
    clock = Clock(when - dt.timedelta(minutes=1))
    s = schedule.Scheduler([job], state=state, clock=clock, echo=print, **kw)
    s.tick()
    clock.now = when
    assert s.run_once() == 0
    return s


def hours(task: tasks.Task) -> float:
    return (dt.datetime.fromisoformat(task.due) - dt.datetime.fromisoformat(task.opened)).total_seconds() / 3600


@pytest.fixture
def state(runs_root):
    """The project's state database (where `opsbook tasks` and the pages read tasks)."""
    found = State()
    yield found
    found.close()


# -- opening, linking, reopening -------------------------------------------------------------------------------
def test_a_scheduled_runs_flags_open_tasks_link_on_reappearance_and_reopen_after_closing(flag_probe, state):
    job = job_of(flag_probe, STOCK, LATE, INFO, follow_up={"probe.late": 2})
    run_at(job, state, at(2, 8))
    found = tasks.select(state, job="probe_tasks", playbook="probe", status=None, now=at(2, 9))
    assert [t.code for t in found] == ["probe.late", "probe.stock"]  # by due time; the low flag opens nothing
    late, stock = found
    assert stock.status == late.status == "待处理" and stock.owner == "仓储/供应链" and stock.roles == ("仓储", "采购")
    assert late.roles == ("运营",) and stock.severity == "high" and late.severity == "medium"
    assert hours(stock) == 24 and hours(late) == 2  # high by default, probe.late from the job's follow_up
    assert stock.opened == "2026-11-02T08:00:30+08:00" and stock.title == STOCK["message"]
    assert stock.row_count == 3 and [r["sku"] for r in stock.rows] == ["TM-A-0", "TM-A-1", "TM-A-2"]
    first_run = tasks.get(stock.id, state).runs
    assert len(first_run) == 1 and stock.last_run == first_run[0] and stock.shop == ""

    moved = dict(STOCK, message="5 个 SKU 即将断货：请补货")
    run_at(job_of(flag_probe, moved, LATE, follow_up={"probe.late": 2}), state, at(3, 8))
    assert len(tasks.select(state, status=None)) == 2  # the same flags again: linked, not duplicated
    stock = tasks.get(stock.id, state)
    assert len(stock.runs) == 2 and stock.title == moved["message"] and stock.due == "2026-11-03T08:00:30+08:00"

    tasks.update(stock.id, who="王仓管", status="已完成", note="已下补货单", state=state, now=at(3, 10))
    run_at(job_of(flag_probe, STOCK, follow_up={"probe.late": 2}), state, at(4, 8))
    again = tasks.select(state, status=tasks.OPEN)
    assert [t.code for t in again] == ["probe.late", "probe.stock"]
    new = next(t for t in again if t.code == "probe.stock")
    assert new.id != stock.id and new.follows == stock.id and new.opened.startswith("2026-11-04T08:00")
    assert "上一任务 #%d 已关闭" % stock.id in tasks.get(new.id, state).changes[0]["note"]
    assert len(tasks.get(late.id, state).runs) == 2  # not raised on the 4th: the open task keeps its two runs
    assert tasks.get(stock.id, state).status == "已完成"


def test_only_runs_of_jobs_open_tasks_and_one_task_per_concern(state):
    flag = Flag("x.stock", "high", "运营", "断货")
    job = jobs.Job("cli_probe", "probe")
    for trigger, expected in (("cli", 0), ("form", 0), ("rerun", 0), ("job", 1)):
        record = RunRecord(f"20261101-080000-{trigger}", "probe", "ok", 0, trigger=trigger, job="cli_probe",
                           flags=[flag, Flag("x.stock", "medium", "运营", "又一条")])
        assert len(tasks.record_run(job, record, state=state)) == expected, trigger
    failed = RunRecord("20261101-090000-failed", "probe", "failed", 1, trigger="schedule", flags=[flag])
    assert tasks.record_run(job, failed, state=state) == []
    (task,) = tasks.select(state)
    assert task.severity == "high" and task.title == "断货"  # the gravest flag of the concern
    with pytest.raises(sqlite3.IntegrityError):  # the database itself refuses a second open task of one concern
        with state.transaction() as db:
            db.execute("INSERT INTO tasks (job, playbook, code, concern, severity, owner, roles, title, opened, due, "
                       "status, last_run, last_seen, updated) SELECT job, playbook, code, concern, severity, owner, "
                       "roles, title, opened, due, '处理中', last_run, last_seen, updated FROM tasks")


def test_a_task_keeps_masked_and_capped_rows(state):
    phone = "1381234" + "5678"
    rows = [{"customer_id": f"C{i}", "phone": phone, "note": "x" * 500} for i in range(30)]
    flag = Flag("rfm.recall", "high", "运营/CRM", f"请联系 {phone}", rows=30, sample=rows)
    record = RunRecord("20261101-080000-aaaaaa", "user_tiering", "ok", 0, trigger="schedule", job="rfm_weekly",
                       params={"recall_within_days": 5, "source": "data/sample"}, flags=[flag])
    (task_id,) = tasks.record_run(jobs.Job("rfm_weekly", "user_tiering"), record, state=state,
                                  now=at(1, 8))
    task = tasks.get(task_id, state)
    assert phone not in json.dumps(task.rows) + task.title and "138****5678" in task.title
    assert len(task.rows) == tasks.ROW_CAP and task.row_count == 30 and len(task.rows[0]["note"]) == tasks.VALUE_CAP + 1
    assert task.roles == ("运营",) and task.shop == "data/sample"
    assert hours(task) == 5 * 24  # user_tiering's SOP: recall within recall_within_days


# -- due times --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("follow_up, code, severity, params, expected", [
    ({}, "x.a", "high", {}, 24), ({}, "x.a", "medium", {}, 72),
    ({"high": 12}, "x.a", "high", {}, 12), ({"high": 12, "x.a": 2}, "x.a", "high", {}, 2),
    ({}, "rfm.recall", "high", {"recall_within_days": 3}, 72),  # the SOP's parameter beats the job's severity hours
    ({"high": 12}, "rfm.recall", "high", {"recall_within_days": 1}, 24),
    ({"rfm.recall": 4}, "rfm.recall", "high", {"recall_within_days": 3}, 4),  # the job's word for the code wins
    ({"medium": 48}, "rfm.recall", "medium", {}, 48),  # the SOP's parameter missing: the job's severity hours
])
def test_due_hours_come_from_the_job_the_sop_or_the_defaults(follow_up, code, severity, params, expected):
    playbook = "user_tiering" if code.startswith("rfm") else "probe"
    assert tasks.hours_for(follow_up, playbook, code, severity, params) == expected


def test_follow_up_of_a_job_file_is_checked_with_chinese_messages(tmp_path):
    (tmp_path / "bad.yaml").write_text(textwrap.dedent("""
        playbook: kpi_report
        follow_up: {high: 0, low: 5, "不是代码": 3, rfm.recall: "三天", medium: 9999}
    """), encoding="utf-8")
    (tmp_path / "worse.yaml").write_text("playbook: kpi_report\nfollow_up: [24, 72]\n", encoding="utf-8")
    (tmp_path / "good.yaml").write_text("playbook: kpi_report\nfollow_up: {high: 4, kpi.gmv_drop: 2.5}\n",
                                        encoding="utf-8")
    good, problems = jobs.load_all(tmp_path)
    text = "\n".join(problems)
    for needle in ("bad.yaml：follow_up 中 high 的小时数应为大于 0", "低级别提示不开跟进任务", "'不是代码' 不对",
                   "rfm.recall 的小时数", "medium 的小时数", "worse.yaml：follow_up 应为“提示级别或提示代码: 小时数”映射"):
        assert needle in text, needle
    assert [(j.name, j.follow_up) for j in good] == [("good", {"high": 4, "kpi.gmv_drop": 2.5})]


@pytest.mark.parametrize("owner, roles", [("仓储/供应链", ("仓储", "采购")), ("运营主管", ("运营", "主管")),
                                          ("内容运营", ("运营", "内容")), ("运营/CRM", ("运营",)),
                                          ("运营经理", ("运营", "主管")), ("客服/运营", ("运营", "客服")), ("外包", ())])
def test_owner_words_map_to_account_roles(owner, roles):
    assert tasks.roles_of(owner) == roles


# -- overdue alerts ---------------------------------------------------------------------------------------------
def test_an_overdue_task_is_alerted_once_then_daily_until_closed(flag_probe, state, webhook):  # noqa: F811
    job = job_of(flag_probe, LATE, notify=("wecom",), follow_up={"medium": 2}, catch_up="skip")
    run_at(job, state, at(2, 8))
    assert webhook.received == []  # a medium flag sends no run alert
    (task,) = tasks.select(state)

    def tick(when):
        s = schedule.Scheduler([job], state=state, clock=Clock(when), echo=print)
        s.run_once()
        return [m["markdown"]["content"] for m in webhook.received]

    assert tick(at(2, 9, 59)) == []  # not yet due (08:00:30 + 2 h)
    (text,) = tick(at(2, 10, 1))
    assert f"跟进任务 #{task.id} 已逾期" in text and LATE["message"] in text and "负责角色：运营" in text
    assert "应完成：2026-11-02 10:00:30（已逾期）" in text and f"tasks update {task.id}" in text and task.last_run in text
    assert len(tick(at(2, 11))) == 1 and len(tick(at(3, 10))) == 1  # once, then not again within a day
    assert "第 2 次提醒" in tick(at(3, 10, 2))[-1] and "（已逾期 24 小时）" in webhook.received[-1]["markdown"]["content"]
    tasks.update(task.id, who="小李", status="处理中", note="已催仓库", state=state)
    assert len(tick(at(4, 10, 3))) == 3 and "状态：**处理中**" in webhook.received[-1]["markdown"]["content"]
    tasks.update(task.id, who="小李", status="已完成", state=state)
    assert len(tick(at(6, 10))) == 3  # a closed task is never alerted
    rows = state.rows("SELECT slot, ok FROM alerts ORDER BY id")
    assert [(r["slot"], r["ok"]) for r in rows] == [(f"task:{task.id}:{n}", 1) for n in (1, 2, 3)]


def test_an_overdue_task_of_a_job_without_notify_targets_is_listed_not_alerted(state):
    flag = Flag("x.late", "medium", "运营", "超时")
    job = jobs.Job("quiet", "probe")
    tasks.record_run(job, RunRecord("20261101-080000-q", "probe", "ok", 0, trigger="job", flags=[flag]),
                     state=state, now=at(1, 8))
    assert tasks.queue_overdue(state, {"quiet": job}, at(9, 8)) == 0
    assert [t.code for t in tasks.select(state, overdue=True, now=at(9, 8))] == ["x.late"]


# -- updates and the CLI ----------------------------------------------------------------------------------------
def fill(state) -> dict[str, int]:
    """Three tasks of two jobs and playbooks: 仓储 high (overdue at 11-03), 运营 medium, 采购 medium."""
    made = {}
    for job, playbook, flag, when in (
            ("inv_daily", "inventory_watch", Flag("inventory.oversell", "high", "仓储/运营", "超卖风险 2 个 SKU"), at(1, 8)),
            ("kpi_daily", "kpi_report", Flag("kpi.search_share", "medium", "运营", "搜索占比低"), at(2, 8)),
            ("sup_q", "supplier_review", Flag("supplier.fill", "medium", "采购", "满足率低"), at(2, 9))):
        record = RunRecord(f"{when:%Y%m%d-%H%M%S}-{job}", playbook, "ok", 0, trigger="schedule", job=job, flags=[flag])
        (made[job],) = tasks.record_run(jobs.Job(job, playbook), record, state=state, now=when)
    return made


def test_tasks_cli_filters_shows_and_updates(state, capsys):
    made = fill(state)

    def cli_out(*args) -> tuple[int, str, str]:
        code = cli.main(["tasks", *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    code, out, _ = cli_out()
    assert code == 0 and out.index("超卖风险") < out.index("搜索占比低")  # overdue first
    assert "已逾期" in out and "共 3 个，其中 3 个已逾期" in out
    assert "满足率低" not in cli_out("--role", "运营")[1] and "超卖风险" in cli_out("--role", "运营")[1]
    assert "搜索占比低" in cli_out("--playbook", "kpi_report")[1] and "超卖" not in cli_out("--job", "kpi_daily")[1]
    assert cli_out("--role", "设计")[1].startswith("没有符合条件的跟进任务")
    code, out, _ = cli_out("update", str(made["kpi_daily"]), "--status", "处理中", "--note", "已调整关键词",
                           "--assignee", "小王", "--by", "小王")
    assert code == 0 and "处理中" in out and "小王  待处理 → 处理中  已调整关键词；处理人：小王" in out
    assert "搜索占比低" in cli_out("--status", "处理中")[1] and "超卖" not in cli_out("--status", "处理中")[1]

    code, _, err = cli_out("update", f"#{made['sup_q']}", "--status", "不处理")
    assert code == 2 and "必须写明原因" in err
    code, out, _ = cli_out("update", f"#{made['sup_q']}", "--status", "不处理", "--reason", "供应商已淘汰", "--by", "采购老赵")
    assert code == 0 and "不处理原因：供应商已淘汰" in out and "采购老赵" in out
    code, _, err = cli_out("update", str(made["sup_q"]), "--status", "处理中", "--by", "x")
    assert code == 2 and "已标记为不处理" in err and "采购老赵" in err and "不能再修改" in err
    assert "满足率低" not in cli_out()[1] and "满足率低" in cli_out("--status", "不处理")[1]
    assert "满足率低" in cli_out("--status", "全部")[1]

    code, out, _ = cli_out("show", str(made["inv_daily"]))
    assert code == 0 and "负责角色 仓储/运营（账号角色 运营、仓储）" in out and "出现于运行：20261101-080030-inv_daily" in out
    assert "任务 inv_daily  待处理  运行 20261101-080030-inv_daily 的提示" in out
    for args, needle in ((("show", "99"), "没有编号为 99 的跟进任务"), (("show",), "请给出任务编号"),
                         (("show", "abc"), "任务编号 'abc' 不对"), (("update", "1", "--status", "完成"), "状态 '完成' 不存在"),
                         (("update", "1"), "没有要记录的内容"), (("--role", "老板"), "角色 老板 不存在"),
                         (("--status", "closed"), "状态 'closed' 不存在"), (("delete", "1"), "未知的操作 'delete'")):
        code, _, err = cli_out(*args)
        assert code == 2 and needle in err, (args, err)
    assert [c["new"] for c in tasks.get(made["kpi_daily"], state).changes] == ["待处理", "处理中"]
    logged = [e for e in audit.events(action="task_update") if e["target"].startswith(f"#{made['kpi_daily']} kpi_daily/")]
    assert [(e["who"], e["detail"]["status"], e["detail"]["note"]) for e in logged] == [
        ("小王", "待处理 → 处理中", "已调整关键词；处理人：小王")]


def test_a_change_the_audit_log_cannot_record_is_not_made(state, monkeypatch):
    made = fill(state)

    def full_disk(*_args, **_kw):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(audit, "record", full_disk)
    with pytest.raises(OSError):
        tasks.update(made["sup_q"], who="小赵", status="已完成", state=state)
    task = tasks.get(made["sup_q"], state)
    assert task.status == "待处理" and len(task.changes) == 1


def test_tasks_cli_without_any_state_says_so(capsys, runs_root):
    assert cli.main(["tasks", "--overdue"]) == 0 and "没有符合条件的跟进任务" in capsys.readouterr().out
    assert cli.main(["tasks", "update", "3", "--status", "已完成"]) == 2
    assert "没有编号为 3 的跟进任务" in capsys.readouterr().err
    assert not (runs_root / "scheduler.sqlite").exists()  # reading never creates the state


def test_a_task_closed_elsewhere_is_not_changed_again(state):
    made = fill(state)
    task = tasks.update(made["kpi_daily"], who="甲", status="已完成", note="已处理", state=state, now=at(5, 9))
    assert (task.status, task.closed, task.closed_by) == ("已完成", "2026-11-05T09:00:30+08:00", "甲")
    with pytest.raises(ParamError, match=r"已完成（2026-11-05 09:00，甲），不能再修改"):
        tasks.update(task.id, who="乙", status="不处理", reason="重复", state=state)
    assert len(tasks.get(task.id, state).changes) == 2


def test_a_state_file_without_tasks_gains_them(tmp_path):
    path = tmp_path / "old.sqlite"
    old = sqlite3.connect(path)
    old.executescript("CREATE TABLE cursor (job TEXT PRIMARY KEY, seen TEXT NOT NULL);"
                      "CREATE TABLE alerts (id INTEGER PRIMARY KEY, job TEXT NOT NULL, slot TEXT NOT NULL, target TEXT "
                      "NOT NULL, event TEXT NOT NULL, ok INTEGER NOT NULL DEFAULT 0, tries INTEGER NOT NULL DEFAULT 0, "
                      "error TEXT, updated TEXT NOT NULL);")
    old.close()
    state = State(path)
    assert tasks.select(state) == [] and state.rows("SELECT COUNT(*) AS n FROM task_changes")[0]["n"] == 0


def test_jobs_run_opens_tasks_like_the_scheduler_and_ad_hoc_runs_do_not(flag_probe, tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    (home / "playbooks").mkdir(parents=True)
    (home / "params").mkdir()
    shutil.copy(flag_probe, home / "playbooks" / "probe.ipynb")
    raised = json.dumps([LATE], ensure_ascii=False)
    (home / "params" / "probe_daily.yaml").write_text(yaml.safe_dump(
        {"playbook": "probe", "parameters": {"raised": raised}, "follow_up": {"medium": 6}}, allow_unicode=True),
        encoding="utf-8")
    monkeypatch.setenv("OPSBOOK_HOME", str(home))
    assert cli.main(["jobs", "run", "probe_daily"]) == 0
    (task,) = tasks.select()
    assert f"跟进任务：#{task.id}" in capsys.readouterr().out and hours(task) == 6 and task.job == "probe_daily"
    assert cli.main(["run", "probe", "-p", f"raised={raised}"]) == 0  # ad hoc: recorded, no task
    assert cli.main(["jobs", "run", "probe_daily"]) == 0
    (again,) = tasks.select()
    assert again.id == task.id and len(tasks.get(task.id).runs) == 2


def test_phones_typed_into_a_note_or_reason_are_masked(flag_probe, tmp_path):
    from opsbook.ops import jobs, schedule, tasks
    from opsbook.ops.state import State
    import datetime as dt
    import json as js
    from opsbook.settings import TZ
    state = State(tmp_path / "state.sqlite")
    slot = dt.datetime.now(TZ).replace(second=0, microsecond=0)
    flag = {"code": "probe.x", "severity": "high", "owner": "运营", "message": "待处理", "rows": []}
    job = jobs.Job("probe_mask", flag_probe, {"raised": js.dumps([flag], ensure_ascii=False)},
                   f"{slot.minute} {slot.hour} * * *")
    schedule.Scheduler([job], state=state, clock=lambda: slot - dt.timedelta(minutes=1), echo=print).tick()
    schedule.Scheduler([job], state=state, clock=lambda: slot, echo=print).run_once()
    (task,) = tasks.select(state)
    tasks.update(task.id, who="李强", status="处理中", note="已联系客户 13812345678", state=state)
    tasks.update(task.id, who="李强", status="不处理", reason="客户 13912345678 已退货", state=state)
    text = str(tasks.get(task.id, state))
    assert "13812345678" not in text and "13912345678" not in text and "138****5678" in text
