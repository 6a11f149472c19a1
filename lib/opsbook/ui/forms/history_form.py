"""运行记录: every filed run with its status, flag counts and flags new or resolved; pick one to read its report."""
from __future__ import annotations

import html
import logging
from dataclasses import dataclass, field

import ipywidgets as w
from IPython.display import display

from ...engine import records
from ...errors import OpsbookError
from ...ops import history
from ...settings import RunStatus
from .. import session
from .widgets import CSS, INTERNAL_ERROR, LABEL_STYLE, WIDE, error_box, flags_html, report_html

log = logging.getLogger(__name__)


@dataclass
class HistoryPage:
    """运行记录: every run with status, flag counts and new/resolved flags; pick one to read its report."""

    job: w.Dropdown = field(default_factory=lambda: w.Dropdown(description="任务", style=LABEL_STYLE, layout=WIDE))
    status: w.Dropdown = field(default_factory=lambda: w.Dropdown(
        options=[("全部", None)] + [(s.label, str(s)) for s in (RunStatus.OK, RunStatus.FAILED, RunStatus.TIMEOUT)],
        description="状态",
        style=LABEL_STYLE, layout=WIDE))
    run: w.Dropdown = field(default_factory=lambda: w.Dropdown(description="运行", style=LABEL_STYLE, layout=WIDE))
    refresh: w.Button = field(default_factory=lambda: w.Button(description="刷新", icon="refresh"))
    open: w.Button = field(default_factory=lambda: w.Button(description="查看报告", button_style="primary"))
    table: w.HTML = field(default_factory=w.HTML)
    detail: w.HTML = field(default_factory=w.HTML)

    def __post_init__(self):
        for widget, hook in ((self.job, "ob-param-job"), (self.status, "ob-param-status"), (self.run, "ob-param-run"),
                             (self.refresh, "ob-refresh"), (self.open, "ob-open"), (self.table, "ob-history"),
                             (self.detail, "ob-detail")):
            widget.add_class(hook)
        self.refresh.on_click(lambda _b: self.load())
        self.open.on_click(lambda _b: self.show())
        self.job.observe(lambda _c: self.load(), "value")
        self.status.observe(lambda _c: self.load(), "value")
        self.load()

    def widget(self) -> w.VBox:
        """The whole page as one box."""
        head = w.HTML(f"{CSS}<h2>运行记录</h2><p>定时任务和表单的每次运行：运行人、状态、耗时、提示数，以及与同一任务上次运行相比"
                      "新增或消除的提示。选择一次运行查看报告。</p>")
        box = w.VBox([head, w.HBox([self.job, self.status, self.refresh]), self.table, w.HBox([self.run, self.open]),
                      self.detail])
        box.add_class("ob-form")
        return box

    def load(self) -> None:
        """Re-read the runs index and show the runs that match the filters."""
        try:
            session.check()
            found = [e for e in history.entries() if may_see(e.record.playbook) and may_see_run(e.record.params)]
        except OpsbookError as exc:
            self.table.value, self.run.options = error_box(exc.message), []
            return
        except Exception:  # noqa: BLE001 - staff see a short message, never a traceback
            log.exception("history page failed")
            self.table.value = error_box(f"运行记录读取失败：{INTERNAL_ERROR}")
            return
        jobs_seen = sorted({e.record.job or "" for e in found} - {""})
        options = [("全部", None)] + [(j, j) for j in jobs_seen]
        if self.job.options != tuple(options):
            current = self.job.value
            self.job.options = options
            self.job.value = current if current in jobs_seen else None
        rows = history.select(found, job=self.job.value, status=self.status.value)[:200]
        self.run.options = [(f"{e.record.started[:16].replace('T', ' ')} {e.record.job or e.record.playbook} "
                             f"{e.record.status.label}" + (f" · {e.record.user}" if e.record.user else ""), e.record.run_id)
                            for e in rows]
        undelivered, job_problems = history.problems()
        if not rows and not undelivered and not job_problems:
            self.table.value = '<p class="ob-note">没有符合条件的运行。</p>'
            return
        page = history.render(history.page_rows(found=rows), False, undelivered, job_problems)
        self.table.value = (f'<iframe class="ob-history-frame" title="运行记录" sandbox="allow-scripts" srcdoc="{html.escape(page, quote=True)}" '
                            'style="width:100%;height:420px;border:1px solid #ddd;border-radius:4px"></iframe>')

    def show(self) -> None:
        """The chosen run's flags and report."""
        try:
            session.check()
        except OpsbookError as exc:
            self.detail.value = error_box(exc.message)
            return
        if not self.run.value:
            self.detail.value = error_box("请先选择一次运行")
            return
        record = records.store().load(history.find(self.run.value).record)
        parts = [flags_html(record.flags)] if record.flags else []
        if record.error:
            parts.append(error_box(history.staff_error(record) or record.error))
        report = record.report
        parts.append(report_html(report) if report and report.is_file() else error_box("这次运行没有生成报告"))
        self.detail.value = "".join(parts)


def may_see(playbook: str) -> bool:
    """Whether the page's user may see the runs of `playbook` (its roles; a playbook gone: 管理员 only)."""
    from ... import spec
    user = session.current()
    if user is None:
        return False
    try:
        return user.may(spec.load(playbook).roles)
    except OpsbookError:
        return user.is_admin


def may_see_run(params: dict) -> bool:
    """Whether the page's user may see a run made with `params` (the shop or source it ran on)."""
    from ...data import shops
    from ...ops import accounts
    user = session.current()
    return user is not None and shops.may_see_run(params, user.name, user.roles, everything=user.is_admin,
                                                   known_roles=accounts.ROLES)


def history_form() -> None:
    """Build and display the 运行记录 page (what its voila page calls)."""
    try:  # the page's kernel starts with the request (no pre-heated kernels), so the runs are read now
        display(HistoryPage().widget())
    except OpsbookError as exc:
        display(w.HTML(CSS + error_box(exc.message)))
