"""我的待办 without a browser: each user sees the tasks of their roles (管理员 all), overdue first, and saves changes
under their own name; refusals are Chinese messages on the page."""
from __future__ import annotations

import datetime as dt

import pytest

from opsbook.engine.records import RunRecord
from opsbook.flags import Flag
from opsbook.ops import accounts, jobs, tasks
from opsbook.ops.state import State
from opsbook.settings import TZ
from opsbook.ui import session
from opsbook.ui.forms import tasks_form

NOW = dt.datetime.now(TZ)


@pytest.fixture
def people(tmp_path, monkeypatch):
    """Accounts of a fresh project: 小仓 (仓储), 小运 (运营), 小设 (设计), 老板 (管理员); the page's session reset after."""
    monkeypatch.setenv("OPSBOOK_HOME", str(tmp_path))
    for name, roles in (("小仓", ["仓储"]), ("小运", ["运营"]), ("小设", ["设计"]), ("老板", ["管理员"])):
        accounts.add(name, roles, "password-123")
    monkeypatch.setattr(session, "_accounts_mode", False)
    monkeypatch.setattr(session, "_current", None)
    return tmp_path


@pytest.fixture
def made(runs_root):
    """An overdue 仓储 task and a 运营 task due tomorrow; their ids by owner."""
    state, ids = State(), {}
    for job, flag, opened in (("inv_daily", Flag("inventory.replenish", "medium", "仓储/供应链", "3 个 SKU 需补货", 3,
                                                 [{"sku": "TM-A-1", "补货量": 5}]), NOW - dt.timedelta(days=4)),
                              ("kpi_daily", Flag("kpi.search_share", "medium", "运营", "搜索占比低"), NOW)):
        record = RunRecord(f"{opened:%Y%m%d-%H%M%S}-{job[:3]}", "probe", "ok", 0, trigger="schedule", job=job,
                           flags=[flag])
        (ids[flag.owner],) = tasks.record_run(jobs.Job(job, "probe"), record, state=state, now=opened)
    state.close()
    return ids


def shown(page) -> list[int]:
    return [int(next(c for c in box._dom_classes if c.startswith("ob-task-") and c[8:].isdigit())[8:])
            for box in page.cards.children]


def test_each_user_sees_the_tasks_of_their_roles(people, made):
    session.begin("小仓", "10.0.0.8")
    page = tasks_form.TasksPage()
    assert shown(page) == [made["仓储/供应链"]] and "ob-task-late" in page.cards.children[0]._dom_classes
    assert "TM-A-1" in page.cards.children[0].children[0].value and "（已逾期 24 小时）" in page.cards.children[0].children[0].value
    session.begin("小运")
    assert shown(tasks_form.TasksPage()) == [made["运营"]]
    session.begin("小设")
    page = tasks_form.TasksPage()
    assert shown(page) == [] and "没有符合条件的跟进任务" in page.summary.value
    session.begin("老板")
    page = tasks_form.TasksPage()
    assert shown(page) == [made["仓储/供应链"], made["运营"]]  # overdue first
    page.scope.value = "overdue"
    assert shown(page) == [made["仓储/供应链"]]
    session.begin("不存在的人")
    assert "请刷新页面重新登录" in tasks_form.TasksPage().summary.value


def test_saving_records_the_users_name_and_refuses_in_chinese(people, made):
    session.begin("小仓", "10.0.0.8")
    task_card = tasks_form.TaskCard(tasks.get(made["仓储/供应链"]))
    task_card.on_save()
    assert "没有要记录的内容" in task_card.result.value
    task_card.status.value = "不处理"
    task_card.on_save()
    assert "必须写明原因" in task_card.result.value
    task_card.status.value, task_card.note.value = "处理中", "已联系供应商"
    task_card.on_save()
    assert "已保存" in task_card.result.value and task_card.note.value == ""
    task = tasks.get(made["仓储/供应链"])
    assert (task.status, task.assignee) == ("处理中", "小仓")  # taking it on makes the user its assignee
    task_card.status.value, task_card.note.value = "已完成", "补货单已下"
    task_card.on_save()
    task = tasks.get(made["仓储/供应链"])
    assert (task.status, task.closed_by) == ("已完成", "小仓") and task_card.controls.layout.display == "none"
    assert [(c["who"], c["old"], c["new"], c["note"]) for c in task.changes[1:]] == [
        ("小仓", "待处理", "处理中", "已联系供应商；处理人：小仓"), ("小仓", "处理中", "已完成", "补货单已下")]

    other = tasks_form.TaskCard(tasks.get(made["运营"]))  # not one of 小仓's tasks
    other.status.value = "已完成"
    other.on_save()
    assert "没有处理这个任务的权限" in other.result.value and tasks.get(made["运营"]).status == "待处理"
    accounts.disable("小仓")  # someone who left: the page they left open saves nothing
    task_card = tasks_form.TaskCard(tasks.get(made["仓储/供应链"]))
    task_card.note.value = "还想改"
    task_card.on_save()
    assert "已停用" in task_card.result.value and len(tasks.get(made["仓储/供应链"]).changes) == 3


def test_token_mode_is_the_local_administrator(made, monkeypatch):
    monkeypatch.setattr(session, "_accounts_mode", False)
    page = tasks_form.TasksPage()
    assert len(shown(page)) == 2 and "本机（管理员）" in page.widget().children[0].value
    card = tasks_form.TaskCard(tasks.get(made["运营"]))
    card.status.value, card.note.value = "不处理", "活动已结束"
    card.on_save()
    task = tasks.get(made["运营"])
    assert (task.status, task.reason, task.closed_by) == ("不处理", "活动已结束", "本机")


def test_with_registered_shops_a_user_sees_the_tasks_of_their_shops_only(people, runs_root):
    (people / "shops.yaml").write_text(
        "shops:\n"
        "  - {name: 天猫旗舰店, platform: TM, source: data/tmall, roles: [运营]}\n"
        "  - {name: 京东自营店, platform: JD, source: data/jd, users: [老板]}\n", encoding="utf-8")
    state = State()
    for job, params in (("kpi_tm", {"shop": "天猫旗舰店", "source": "data/tmall"}), ("kpi_jd", {"source": "data/jd"})):
        record = RunRecord(f"20261201-080000-{job}", "kpi_report", "ok", 0, trigger="schedule", job=job, params=params,
                           flags=[Flag("kpi.search_share", "medium", "运营", f"{job} 搜索占比低")])
        tasks.record_run(jobs.Job(job, "kpi_report"), record, state=state)
    state.close()
    session.begin("小运")
    (mine,) = tasks.for_user(session.current())
    assert mine.job == "kpi_tm" and mine.shop == "天猫旗舰店"
    jd = next(t for t in tasks.select() if t.job == "kpi_jd")
    assert jd.shop == "data/jd" and not tasks.visible_to(session.current(), jd)
    card = tasks_form.TaskCard(jd)  # a page cannot save a task of a shop its user may not see
    card.status.value = "处理中"
    card.on_save()
    assert "没有处理这个任务的权限" in card.result.value
    session.begin("老板")
    assert len(shown(tasks_form.TasksPage())) == 2
