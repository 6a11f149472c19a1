"""我的待办 in Chromium: a task opened by a scheduled run's flag is shown with its rows and closed from the page; the
CLI then shows it closed by the page's user (token mode: 本机, the local administrator)."""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pytest

from opsbook.ops import jobs, schedule, tasks
from opsbook.ops.state import State
from opsbook.settings import TZ
from opsbook.ui import serve
from test_forms_browser import PAGE_MS, voila

pytestmark = pytest.mark.browser

FLAG = {"code": "probe.replenish", "severity": "medium", "owner": "仓储/供应链", "message": "2 个 SKU 需要补货",
        "rows": [{"sku": "TM-SHOE-42", "补货量": 12}, {"sku": "TM-SHOE-43", "补货量": 8}]}


def test_a_task_opened_by_a_scheduled_run_is_closed_from_my_tasks(flag_probe, chromium, tmp_path, runs_root):
    state = State()
    slot = dt.datetime.now(TZ).replace(second=0, microsecond=0)
    job = jobs.Job("probe_daily", flag_probe, {"raised": json.dumps([FLAG], ensure_ascii=False)},
                   f"{slot.minute} {slot.hour} * * *")
    clock = lambda: slot - dt.timedelta(minutes=1)  # noqa: E731
    schedule.Scheduler([job], state=state, clock=clock, echo=print).tick()  # the job is registered before its slot
    assert schedule.Scheduler([job], state=state, clock=lambda: slot, echo=print).run_once() == 0
    (task,) = tasks.select(state)
    assert task.job == "probe_daily" and task.roles == ("仓储", "采购")

    with voila(tmp_path / "forms", runs_root) as server:
        context = chromium.new_context(viewport={"width": 1280, "height": 1000})
        page = context.new_page()
        card = page.locator(f".ob-task-{task.id}")
        for attempt in range(2):  # voila's page JavaScript occasionally fails to start on a loaded machine: reload once
            page.goto(server.page_url(serve.TASKS_FORM))
            try:
                card.wait_for(timeout=PAGE_MS // (2 - attempt))
                break
            except Exception:  # noqa: BLE001 - playwright's TimeoutError
                if attempt:
                    raise
        assert "我的待办" in page.inner_text("body") and "2 个 SKU 需要补货" in card.inner_text()
        assert "TM-SHOE-42" in card.inner_text() and "本机（管理员）" in page.inner_text("body")
        card.locator(".ob-task-status select").select_option(label="已完成")
        card.locator(".ob-task-note input").fill("两个尺码都已下补货单")
        card.locator("button.ob-task-save").click()
        page.wait_for_selector(".ob-task-saved", timeout=PAGE_MS)
        assert "已保存" in card.inner_text() and card.locator(".ob-task-status-text").inner_text() == "已完成"
        assert not card.locator("button.ob-task-save").is_visible()
        page.close(run_before_unload=True)
        context.close()

    out = subprocess.run([sys.executable, "-m", "opsbook.ui.cli", "tasks", "show", str(task.id)], capture_output=True,
                         text=True, env={**os.environ, "OPSBOOK_RUNS": str(runs_root)}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert f"#{task.id}  已完成" in out.stdout and "（本机）" in out.stdout
    assert "本机  待处理 → 已完成  两个尺码都已下补货单" in out.stdout
    listed = subprocess.run([sys.executable, "-m", "opsbook.ui.cli", "tasks", "--status", "已完成"], capture_output=True,
                            text=True, env={**os.environ, "OPSBOOK_RUNS": str(runs_root)}, timeout=120)
    assert "2 个 SKU 需要补货" in listed.stdout
