"""The staff form for a playbook (served by voila): widgets generated from its spec, a thin face over `runner.run`.

The form holds no analysis code. Every run goes through `runner.run(..., trigger="form")` on one
worker thread owned by this module: the kernel's own event loop stays free to carry progress
updates to the browser, and the pooled papermill kernels (which must stay on the thread that
started them) live on that one thread. Values from the browser are validated again with
`Spec.validate`; staff see Chinese messages, never a traceback.
"""
from __future__ import annotations

import atexit
import base64
import html
import logging
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ipywidgets as w
from IPython.display import display

from . import flags as flags_mod
from . import kernels, paths, report, runner, spec as spec_mod
from .errors import OpsbookError, ParamError

log = logging.getLogger(__name__)

REPORT_HEIGHT = 900
MAX_EMBED_BYTES = 25 * 1024 * 1024
MIME = {".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ".csv": "text/csv;charset=utf-8", ".html": "text/html;charset=utf-8"}
KIND = {".xlsx": "Excel", ".csv": "CSV"}
_LABEL_STYLE = {"description_width": "150px"}
_WIDE = w.Layout(width="34em")
CSS = """<style>
.ob-form{max-width:1100px;font-family:"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif}
.ob-help{color:#777;font-size:12px;margin:-2px 0 8px 158px;line-height:1.4}
.ob-error-box{background:#fdecea;border:1px solid #e74c3c;color:#a93226;border-radius:4px;padding:8px 12px;
  white-space:pre-wrap;margin:8px 0}
.ob-note{color:#555;font-size:12px}
.ob-links a{display:inline-block;margin:4px 14px 4px 0}
</style>"""

_WORKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="opsbook-form")


def _warm() -> None:
    """Pre-start a papermill kernel and the report exporter on the worker thread (failures only logged)."""
    try:
        kernels.POOL.warm(1)
        runner._exporter()  # the report exporter's templates, compiled once per process (~0.5 s)
    except Exception:  # noqa: BLE001 - warming is an optimisation
        log.exception("kernel warm-up failed")


@atexit.register
def _close_kernels() -> None:
    """Shut the pooled papermill kernels down with the form's kernel."""
    kernels.POOL.close()


def param_widget(p: spec_mod.Param) -> w.Widget:
    """The input widget for one parameter, labelled in Chinese with its help as tooltip."""
    common = {"description": p.label, "tooltip": p.help or p.label, "style": _LABEL_STYLE, "layout": _WIDE}
    if p.type == "choice":
        widget = w.Dropdown(options=[(str(c), c) for c in p.choices], value=p.default, **common)
    elif p.type == "date":
        widget = w.DatePicker(value=p.default, **common)
    elif p.type == "bool":
        widget = w.Checkbox(value=bool(p.default), indent=False, **common)
    elif p.type in ("int", "float"):
        widget = _number(p, common)
    else:
        widget = w.Text(value=str(p.default), **common)
    widget.add_class(f"ob-param-{p.name}")
    return widget


def _number(p: spec_mod.Param, common: dict) -> w.Widget:
    """Bounded int/float input when the spec gives bounds, plain otherwise."""
    if p.min is not None and p.max is not None:
        cls = w.BoundedIntText if p.type == "int" else w.BoundedFloatText
        lo, hi = (int(p.min), int(p.max)) if p.type == "int" else (p.min, p.max)
        return cls(value=p.default, min=lo, max=hi, **common)
    cls = w.IntText if p.type == "int" else w.FloatText
    return cls(value=p.default, **common)


def help_line(p: spec_mod.Param) -> w.HTML:
    """Small grey help text under a parameter (its help and bounds)."""
    bounds = f"（范围 {p.min:g}–{p.max:g}）" if p.min is not None else ""
    return w.HTML(f'<div class="ob-help">{html.escape(p.help)}{bounds}</div>')


def error_box(message: str) -> str:
    """A red box with a Chinese message (HTML-escaped)."""
    return f'<div class="ob-error-box">{html.escape(message)}</div>'


def data_link(path: Path, name: str, text: str) -> str:
    """An `<a download>` link carrying the file itself as a data: URL (no server file access)."""
    size = path.stat().st_size
    if size > MAX_EMBED_BYTES:
        return f'<span class="ob-note">{html.escape(text)}：文件过大（{size / 2**20:.0f} MB），请到运行目录获取 {html.escape(str(path))}</span>'
    mime = MIME.get(path.suffix.lower(), "application/octet-stream")
    payload = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<a download="{html.escape(name)}" href="data:{mime};base64,{payload}" '
            f'data-file="{html.escape(name)}">{html.escape(text)}</a>')


def downloads_html(result: runner.RunResult) -> str:
    """Download links for every table file of a run, plus the report itself."""
    links = []
    for stem, names in result.tables.items():
        for name in names:
            path = result.folder / name
            if path.is_file():
                links.append(data_link(path, name, f"{stem}（{KIND.get(path.suffix.lower(), path.suffix)}）"))
    if result.report.is_file():
        links.append(data_link(result.report, f"{result.playbook}-{result.run_id}.html", "下载报告（HTML）"))
    if not links:
        return ""
    return f'<div class="ob-links"><b>下载</b><br>{"".join(links)}</div>'


def report_html(path: Path) -> str:
    """The run's report.html shown in a sandboxed iframe (srcdoc, HTML-escaped)."""
    doc = html.escape(path.read_text(encoding="utf-8"), quote=True)
    return (f'<iframe class="ob-report-frame" title="报告" sandbox="allow-same-origin allow-popups" srcdoc="{doc}" '
            f'style="width:100%;height:{REPORT_HEIGHT}px;border:1px solid #ddd;border-radius:4px"></iframe>')


def flags_html(flags: list[dict]) -> str:
    """The flags section for a run's flags (dicts from result.json)."""
    return report.CSS + flags_mod.to_html([flags_mod.Flag(**f) for f in flags])


def short(text: str, limit: int = 400) -> str:
    """First line of an error, cut to `limit` characters (no tracebacks reach staff)."""
    lines = [ln for ln in str(text).splitlines() if ln.strip()]
    first = "\n".join(lines[:6]) if lines else str(text)
    return first if len(first) <= limit else first[: limit - 1] + "…"


@dataclass
class Form:
    """One playbook's form: its spec, parameter inputs and output areas."""

    spec: spec_mod.Spec
    inputs: dict[str, w.Widget] = field(default_factory=dict)
    run_button: w.Button = field(default_factory=lambda: w.Button(description="运行", button_style="primary",
                                                                  icon="play", tooltip="用以上参数运行"))
    progress: w.IntProgress = field(default_factory=lambda: w.IntProgress(value=0, min=0, max=1,
                                                                        layout=w.Layout(width="34em",
                                                                                        visibility="hidden")))
    status: w.HTML = field(default_factory=w.HTML)
    message: w.HTML = field(default_factory=w.HTML)
    flags: w.HTML = field(default_factory=w.HTML)
    downloads: w.HTML = field(default_factory=w.HTML)
    report: w.HTML = field(default_factory=w.HTML)
    running: bool = False

    def __post_init__(self):
        self.inputs = {p.name: param_widget(p) for p in self.spec.params.values()}
        for widget, hook in ((self.run_button, "ob-run"), (self.progress, "ob-progress"), (self.status, "ob-status"),
                             (self.message, "ob-message"), (self.flags, "ob-flags"),
                             (self.downloads, "ob-downloads"), (self.report, "ob-report")):
            widget.add_class(hook)
        self.run_button.on_click(self.on_click)

    def widget(self) -> w.VBox:
        """The whole form as one box."""
        s = self.spec
        head = w.HTML(f"{CSS}{report.CSS}<h2>{html.escape(s.title)}</h2><p>{html.escape(s.purpose)}</p>"
                      + (f'<p class="ob-note">适用角色：{html.escape(s.roles)}</p>' if s.roles else ""))
        rows = []
        for p in s.params.values():
            rows.append(self.inputs[p.name])
            if p.help or p.min is not None:
                rows.append(help_line(p))
        box = w.VBox([head, *rows, w.HBox([self.run_button, self.progress]), self.status, self.message,
                      self.flags, self.downloads, self.report])
        box.add_class("ob-form")
        return box

    def values(self) -> dict[str, Any]:
        """Current widget values by parameter name."""
        return {name: widget.value for name, widget in self.inputs.items()}

    def reset(self) -> None:
        """Clear the output areas before a new run."""
        self.message.value = self.flags.value = self.downloads.value = self.report.value = ""
        self.progress.value, self.progress.bar_style = 0, ""

    def set_status(self, text: str) -> None:
        """Update the one-line status under the button."""
        self.status.value = f"<span>{html.escape(text)}</span>"

    def ready(self) -> None:
        """Say the run environment is warm (unless a run has already started)."""
        if not self.running and not self.status.value:
            self.set_status("就绪：设置参数后点击“运行”")

    def on_click(self, _button=None) -> None:
        """Validate in Python, then hand the run to the worker thread (button disabled until it ends)."""
        if self.running:
            return
        self.reset()
        try:
            values = self.spec.validate(self.values())
        except ParamError as exc:
            self.fail(exc.message)
            return
        self.running, self.run_button.disabled = True, True
        self.progress.layout.visibility = "visible"
        self.set_status("运行中…")
        _WORKER.submit(self.execute, values)

    def on_progress(self, done: int, total: int) -> None:
        """Progress callback from the runner (worker thread)."""
        self.progress.max = max(total, 1)
        self.progress.value = min(done, total)
        self.set_status(f"运行中… 第 {done}/{total} 步")

    def execute(self, values: dict) -> None:
        """Run the playbook (worker thread) and show what came out; never lets an exception reach the page."""
        t0 = time.perf_counter()
        try:
            result = runner.run(self.spec.name, values, trigger="form", on_progress=self.on_progress)
            self.show(result, time.perf_counter() - t0)
        except ParamError as exc:
            self.fail(exc.message)
        except OpsbookError as exc:
            self.fail(f"{exc.message}\n运行记录目录：{paths.runs() / self.spec.name}")
        except Exception as exc:  # noqa: BLE001 - staff get a short message; developers get the log
            log.exception("form run of %s failed", self.spec.name)
            self.fail(f"运行失败：{short(f'{type(exc).__name__}: {exc}')}\n运行记录目录：{paths.runs() / self.spec.name}")
        finally:
            self.running, self.run_button.disabled = False, False

    def show(self, result: runner.RunResult, seconds: float) -> None:
        """Fill the flags, downloads and report areas from a run (a failed run: its error and a report link)."""
        if result.ok:
            self.progress.value, self.progress.bar_style = self.progress.max, "success"
            self.set_status(f"完成（{seconds:.1f} 秒）· 运行编号 {result.run_id}")
            self.flags.value = flags_html(result.flags)
            if result.report.is_file():
                self.report.value = report_html(result.report)
        else:
            word = {"timeout": "超时"}.get(result.status, "失败")
            self.fail(f"运行{word}：{short(result.error or '未知错误')}\n运行记录：{result.folder}")
        self.downloads.value = downloads_html(result) if result.folder.is_dir() else ""

    def fail(self, message: str) -> None:
        """Show a Chinese error in the red box and mark the run as failed."""
        self.progress.bar_style = "danger"
        self.set_status("未完成")
        self.message.value = error_box(message)


def build(playbook: str) -> Form:
    """The Form for a playbook (not displayed), with a papermill kernel warming on the worker thread."""
    built = Form(spec_mod.load(playbook))
    _WORKER.submit(_warm).add_done_callback(lambda _: built.ready())
    return built


def form(playbook: str) -> None:
    """Build and display the form of `playbook` (what each voila page calls)."""
    try:
        display(build(playbook).widget())
    except OpsbookError as exc:
        display(w.HTML(CSS + error_box(exc.message)))


@dataclass
class ImportForm:
    """数据导入: upload seller back-end exports and merge them into a warehouse folder (same path as `opsbook ingest`)."""

    upload: w.FileUpload = field(default_factory=lambda: w.FileUpload(
        accept=".csv,.xlsx,.xls", multiple=True, description="选择文件"))
    into: w.Text = field(default_factory=lambda: w.Text(value="data/warehouse", description="数据仓库目录",
                                                        style=_LABEL_STYLE, layout=_WIDE))
    platform: w.Dropdown = field(default_factory=lambda: w.Dropdown(
        options=[("自动识别", None), ("淘宝 TB", "TB"), ("天猫 TM", "TM"), ("京东 JD", "JD"), ("抖音 DY", "DY"),
                 ("拼多多 PDD", "PDD")], description="平台", style=_LABEL_STYLE, layout=_WIDE))
    button: w.Button = field(default_factory=lambda: w.Button(description="导入", button_style="primary", icon="upload"))
    result: w.HTML = field(default_factory=w.HTML)

    def __post_init__(self):
        for widget, hook in ((self.upload, "ob-upload"), (self.button, "ob-import"), (self.result, "ob-import-result"),
                             (self.into, "ob-param-into"), (self.platform, "ob-param-platform")):
            widget.add_class(hook)
        self.button.on_click(self.on_click)

    def widget(self) -> w.VBox:
        """The whole form as one box."""
        head = w.HTML(f"{CSS}<h2>数据导入</h2><p>上传淘宝/天猫、京东、抖店、拼多多后台导出的订单、推广报表或售后单"
                      "（CSV 或 Excel，UTF-8 或 GBK），合并到数据仓库目录；之后在各剧本的“数据源”中填写该目录。</p>"
                      '<p class="ob-note">手机号自动脱敏，姓名与详细地址不会保存；同一文件重复导入不会产生重复数据。</p>')
        box = w.VBox([head, self.upload, self.into, self.platform, self.button, self.result])
        box.add_class("ob-form")
        return box

    def on_click(self, _button=None) -> None:
        """Save the uploads to a temporary folder and import each; a Chinese summary per file, never a traceback."""
        from . import intake
        files = list(self.upload.value)
        if not files:
            self.result.value = error_box("请先选择要导入的文件")
            return
        self.button.disabled = True
        parts = []
        try:
            with tempfile.TemporaryDirectory(prefix="opsbook-upload-") as tmp:
                for item in files:
                    name = Path(item["name"]).name
                    path = Path(tmp) / name
                    path.write_bytes(bytes(item["content"]))
                    try:
                        report = intake.ingest_file(path, self.into.value.strip() or "data/warehouse",
                                                    self.platform.value, name=name)
                    except Exception as exc:  # noqa: BLE001 - staff get a short message; developers get the log
                        log.exception("import of %s failed", name)
                        parts.append(f"<h4>{html.escape(name)}</h4>" + error_box(f"导入失败：{short(str(exc))}"))
                        continue
                    if report.error:
                        parts.append(f"<h4>{html.escape(name)}</h4>" + error_box(report.error.message))
                    else:
                        parts.append(f"<h4>{html.escape(name)}</h4><ul>"
                                     + "".join(f"<li>{html.escape(line)}</li>" for line in report.lines) + "</ul>")
        finally:
            self.button.disabled = False
        self.result.value = "".join(parts)


def import_form() -> None:
    """Build and display the 数据导入 form (what its voila page calls)."""
    display(ImportForm().widget())


@dataclass
class HistoryPage:
    """运行记录: every run with status, flag counts and new/resolved flags; pick one to read its report."""

    job: w.Dropdown = field(default_factory=lambda: w.Dropdown(description="任务", style=_LABEL_STYLE, layout=_WIDE))
    status: w.Dropdown = field(default_factory=lambda: w.Dropdown(
        options=[("全部", None), ("成功", "ok"), ("失败", "failed"), ("超时", "timeout")], description="状态",
        style=_LABEL_STYLE, layout=_WIDE))
    run: w.Dropdown = field(default_factory=lambda: w.Dropdown(description="运行", style=_LABEL_STYLE, layout=_WIDE))
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
        head = w.HTML(f"{CSS}<h2>运行记录</h2><p>定时任务和表单的每次运行：状态、耗时、提示数，以及与同一任务上次运行相比"
                      "新增或消除的提示。选择一次运行查看报告。</p>")
        box = w.VBox([head, w.HBox([self.job, self.status, self.refresh]), self.table, w.HBox([self.run, self.open]),
                      self.detail])
        box.add_class("ob-form")
        return box

    def load(self) -> None:
        """Re-read the runs index and show the runs that match the filters."""
        from . import history
        try:
            found = history.entries()
        except Exception as exc:  # noqa: BLE001 - staff see a short message, never a traceback
            log.exception("history page failed")
            self.table.value = error_box(f"运行记录读取失败：{short(str(exc))}")
            return
        jobs_seen = sorted({e.get("job") or "" for e in found} - {""})
        options = [("全部", None)] + [(j, j) for j in jobs_seen]
        if self.job.options != tuple(options):
            current = self.job.value
            self.job.options = options
            self.job.value = current if current in jobs_seen else None
        rows = history.select(found, job=self.job.value, status=self.status.value)[:200]
        self.run.options = [(f"{e['started'][:16].replace('T', ' ')} {e.get('job') or e['playbook']} "
                             f"{history.STATUS.get(e['status'], e['status'])}", e["run_id"]) for e in rows]
        if not rows:
            self.table.value = '<p class="ob-note">没有符合条件的运行。</p>'
            return
        self.table.value = (f'<iframe class="ob-history-frame" title="运行记录" sandbox="allow-scripts" srcdoc="{html.escape(history.render(history.page_rows(found=rows), links=False), quote=True)}" '
                            'style="width:100%;height:420px;border:1px solid #ddd;border-radius:4px"></iframe>')

    def show(self) -> None:
        """The chosen run's flags and report."""
        from . import history
        if not self.run.value:
            self.detail.value = error_box("请先选择一次运行")
            return
        entry = history.find(self.run.value)
        result = history.result_of(entry)
        path = paths.runs() / entry["folder"] / "report.html"
        parts = [flags_html(result.get("flags", []))] if result.get("flags") else []
        if entry.get("error"):
            parts.append(error_box(entry["error"]))
        parts.append(report_html(path) if path.is_file() else error_box("这次运行没有生成报告"))
        self.detail.value = "".join(parts)




def history_form() -> None:
    """Build and display the 运行记录 page (what its voila page calls)."""
    from voila.utils import wait_for_request
    wait_for_request()  # a pre-heated kernel must read the runs when the page is opened, not when voila started
    try:
        display(HistoryPage().widget())
    except OpsbookError as exc:
        display(w.HTML(CSS + error_box(exc.message)))
