"""我的待办: the follow-up tasks of the user's roles (管理员: all), overdue first; each with its rows, a status and a note.

保存 records the change under the page's user (`session.who()`), through the same `tasks.update` as
`opsbook tasks update`. A user may change only the tasks the page shows them.
"""
from __future__ import annotations

import html
import logging
from dataclasses import dataclass, field

import ipywidgets as w
from IPython.display import display

from ...errors import OpsbookError
from ...ops import tasks
from .. import session
from .widgets import CSS, INTERNAL_ERROR, LABEL_STYLE, WIDE, error_box

log = logging.getLogger(__name__)
SHOWN = 100  # tasks listed on the page at most (the CLI lists all)
SCOPES = {"open": ("未完成", tasks.OPEN, False), "overdue": ("已逾期", tasks.OPEN, True),
          "closed": ("已关闭", tasks.CLOSED, False), "all": ("全部", None, False)}
TASK_CSS = """<style>
.ob-task{border:1px solid #ddd;border-radius:6px;padding:8px 12px;margin:10px 0;max-width:1060px}
.ob-task-late{border-color:#c0392b;background:#fdf3f2}
.ob-task h4{margin:2px 0 6px}
.ob-task .ob-sev{color:#fff;border-radius:3px;padding:0 6px;margin-right:6px}
.ob-task-meta{color:#555;font-size:12px;line-height:1.7}
.ob-task-meta .ob-late{color:#c0392b;font-weight:bold}
.ob-task-rows{border-collapse:collapse;font-size:12px;margin:6px 0}
.ob-task-rows td,.ob-task-rows th{border:1px solid #e3e3e3;padding:2px 6px;text-align:left}
</style>"""
_SEVERITY_COLOURS = {"high": "#c0392b", "medium": "#e67e22"}


def task_html(task: tasks.Task) -> str:
    """The task's heading, facts and rows (HTML-escaped)."""
    e = html.escape
    late = task.overdue()
    facts = [f"任务 {e(task.job)}（{e(task.playbook)}）", f"负责角色 {e(task.owner)}",
             f"开启 {e(task.opened[:16].replace('T', ' '))}",
             f'应完成 <span class="{"ob-late" if late else ""}">{e(task.due_text())}</span>',
             f"状态 <b class=\"ob-task-status-text\">{e(task.status)}</b>", f"处理人 {e(task.assignee or '未指定')}"]
    if task.closed:
        facts.append(f"关闭 {e(task.closed[:16].replace('T', ' '))}（{e(task.closed_by or '')}）")
    if task.reason:
        facts.append(f"不处理原因：{e(task.reason)}")
    if task.follows:
        facts.append(f"上一任务 #{task.follows} 关闭后再次出现")
    colour = _SEVERITY_COLOURS.get(task.severity, "#2980b9")
    head = (f'<h4><span class="ob-sev" style="background:{colour}">{e(task.severity_label)}</span>'
            f"#{task.id} {e(task.title)}</h4>")
    return head + f'<div class="ob-task-meta">{" · ".join(facts)}</div>' + rows_html(task)


def rows_html(task: tasks.Task) -> str:
    """The rows the task concerns as a small table (what its flag listed, masked and capped)."""
    if not task.rows:
        return ""
    columns = list(dict.fromkeys(k for row in task.rows for k in row))
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape('' if row.get(c) is None else str(row.get(c)))}</td>"
                                    for c in columns) + "</tr>" for row in task.rows)
    more = (f'<div class="ob-note">共 {task.row_count} 行，这里列出前 {len(task.rows)} 行，完整清单见报告</div>'
            if task.row_count > len(task.rows) else "")
    return f'<table class="ob-task-rows"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}'


class TaskCard:
    """One task on the page: its facts and rows, and for an open task a status dropdown, a note and 保存."""

    def __init__(self, task: tasks.Task):
        self.task = task
        self.facts = w.HTML()
        self.status = w.Dropdown(options=list(tasks.STATUSES), description="状态", style=LABEL_STYLE, layout=WIDE)
        self.note = w.Text(description="备注", placeholder="处理进展；选择“不处理”时写明原因", style=LABEL_STYLE,
                           layout=w.Layout(width="50em"))
        self.save = w.Button(description="保存", button_style="primary", icon="save")
        self.result = w.HTML()
        for widget, hook in ((self.status, "ob-task-status"), (self.note, "ob-task-note"), (self.save, "ob-task-save"),
                             (self.result, "ob-task-result")):
            widget.add_class(hook)
        self.controls = w.VBox([self.status, self.note, self.save])
        self.box = w.VBox([self.facts, self.controls, self.result])
        self.box.add_class("ob-task")
        self.box.add_class(f"ob-task-{task.id}")
        self.save.on_click(lambda _b: self.on_save())
        self.show(task)

    def show(self, task: tasks.Task) -> None:
        """Show the task as it now stands (a closed task without controls)."""
        self.task = task
        self.facts.value = task_html(task)
        self.status.value = task.status
        self.controls.layout.display = None if task.is_open else "none"
        if task.overdue():
            self.box.add_class("ob-task-late")
        else:
            self.box.remove_class("ob-task-late")

    def on_save(self) -> None:
        """Record the chosen status and note under the page's user; a Chinese message either way."""
        try:
            user = session.check()  # still enabled, roles unchanged since the page opened
        except OpsbookError as exc:
            self.result.value = error_box(exc.message)
            return
        if not tasks.visible_to(user, self.task):
            self.result.value = error_box("你没有处理这个任务的权限（或登录已失效，请重新登录）")
            return
        status = self.status.value if self.status.value != self.task.status else None
        note = self.note.value.strip()
        try:
            task = tasks.update(self.task.id, who=session.who(), status=status, note="" if status == tasks.DROPPED
                                else note, reason=note if status == tasks.DROPPED else "",
                                assignee=session.who() if status == tasks.DOING and not self.task.assignee else None,
                                address=session.address())
        except OpsbookError as exc:
            self.result.value = error_box(exc.message)
            return
        except Exception:  # noqa: BLE001 - staff see a short message, developers the log
            log.exception("task update failed")
            self.result.value = error_box(f"保存失败：{INTERNAL_ERROR}")
            return
        self.note.value = ""
        self.show(task)
        self.result.value = f'<p class="ob-task-saved">已保存：#{task.id} {html.escape(task.status)}</p>'


@dataclass
class TasksPage:
    """我的待办: the tasks of the user's roles, filtered by scope, overdue first."""

    scope: w.Dropdown = field(default_factory=lambda: w.Dropdown(
        options=[(label, key) for key, (label, _, _) in SCOPES.items()], value="open", description="范围",
        style=LABEL_STYLE, layout=WIDE))
    refresh: w.Button = field(default_factory=lambda: w.Button(description="刷新", icon="refresh"))
    summary: w.HTML = field(default_factory=w.HTML)
    cards: w.VBox = field(default_factory=w.VBox)

    def __post_init__(self):
        for widget, hook in ((self.scope, "ob-param-scope"), (self.refresh, "ob-refresh"),
                             (self.summary, "ob-tasks-summary"), (self.cards, "ob-tasks")):
            widget.add_class(hook)
        self.refresh.on_click(lambda _b: self.load())
        self.scope.observe(lambda _c: self.load(), "value")
        self.load()

    def widget(self) -> w.VBox:
        """The whole page as one box."""
        user = session.current()
        who = f"{html.escape(user.name)}（{html.escape('、'.join(user.roles))}）" if user else "未登录"
        head = w.HTML(f"{CSS}{TASK_CSS}<h2>我的待办</h2><p>定时任务的高、中级别提示开启的跟进任务：按负责角色分到各人，"
                      f"已逾期的排在最前。处理后选择状态、写上备注并保存。</p><p class=\"ob-note\">当前用户：{who}</p>")
        box = w.VBox([head, w.HBox([self.scope, self.refresh]), self.summary, self.cards])
        box.add_class("ob-form")
        return box

    def load(self) -> None:
        """Read the user's tasks again and show them."""
        try:
            user = session.check()
        except OpsbookError as exc:
            self.summary.value, self.cards.children = error_box(exc.message), ()
            return
        _, status, overdue = SCOPES[self.scope.value]
        try:
            found = tasks.for_user(user, status=status, overdue=overdue)
        except Exception:  # noqa: BLE001 - staff see a short message, never a traceback
            log.exception("tasks page failed")
            self.summary.value, self.cards.children = error_box(f"跟进任务读取失败：{INTERNAL_ERROR}"), ()
            return
        late = sum(t.overdue() for t in found)
        if not found:
            self.summary.value = '<p class="ob-note">没有符合条件的跟进任务。</p>'
        else:
            self.summary.value = (f"<p>共 {len(found)} 个" + (f"，其中 <b>{late} 个已逾期</b>" if late else "")
                                  + (f"；这里列出前 {SHOWN} 个" if len(found) > SHOWN else "") + "</p>")
        self.cards.children = tuple(TaskCard(t).box for t in found[:SHOWN])


def tasks_form() -> None:
    """Build and display the 我的待办 page (what its voila page calls)."""
    try:
        display(TasksPage().widget())
    except OpsbookError as exc:
        display(w.HTML(CSS + error_box(exc.message)))
