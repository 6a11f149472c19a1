"""The staff form for a playbook (served by voila): widgets generated from its spec, a thin face over `runner.run`.

The form holds no analysis code. Every run goes through `runner.run(..., trigger="form")` on one
worker thread owned by this module: the kernel's own event loop stays free to carry progress
updates to the browser, and the pooled papermill kernels (which must stay on the thread that
started them) live on that one thread. Values from the browser are validated again with
`Spec.validate`; staff see Chinese messages, never a traceback.
"""
from __future__ import annotations

import atexit
import html
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as w
from IPython.display import display

from ... import report, spec as spec_mod
from ...engine import kernels, records, runner
from ...engine.records import RunRecord
from ...engine.render import warm_renderer
from ...errors import OpsbookError, ParamError
from ...ops import history
from .widgets import CSS, KIND, LABEL_STYLE, WIDE, data_link, error_box, flags_html, report_html, short

log = logging.getLogger(__name__)

_WORKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="opsbook-form")


def _warm() -> None:
    """Pre-start a papermill kernel and the report exporter on the worker thread (failures only logged)."""
    try:
        kernels.POOL.warm(1)
        warm_renderer()
    except Exception:  # noqa: BLE001 - warming is an optimisation
        log.exception("kernel warm-up failed")


@atexit.register
def _close_kernels() -> None:
    """Shut the pooled papermill kernels down with the form's kernel."""
    kernels.POOL.close()


def param_widget(p: spec_mod.Param) -> w.Widget:
    """The input widget for one parameter, labelled in Chinese with its help as tooltip."""
    common = {"description": p.label, "tooltip": p.help or p.label, "style": LABEL_STYLE, "layout": WIDE}
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


def downloads_html(result: RunRecord) -> str:
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
            self.fail(f"{exc.message}\n运行记录目录：{records.store().playbook_folder(self.spec.name)}")
        except Exception as exc:  # noqa: BLE001 - staff get a short message; developers get the log
            log.exception("form run of %s failed", self.spec.name)
            self.fail(f"运行失败：{short(f'{type(exc).__name__}: {exc}')}\n运行记录目录：{records.store().playbook_folder(self.spec.name)}")
        finally:
            self.running, self.run_button.disabled = False, False

    def show(self, result: RunRecord, seconds: float) -> None:
        """Fill the flags, downloads and report areas from a run (a failed run: its error and a report link)."""
        if result.ok:
            self.progress.value, self.progress.bar_style = self.progress.max, "success"
            self.set_status(f"完成（{seconds:.1f} 秒）· 运行编号 {result.run_id}")
            self.flags.value = flags_html(result.flags)
            if result.report.is_file():
                self.report.value = report_html(result.report)
        else:
            self.fail(f"运行{result.status.label}：{short(result.error or '未知错误')}\n运行记录：{result.folder}")
        self.downloads.value = downloads_html(result) if result.folder.is_dir() else ""

    def fail(self, message: str) -> None:
        """Show a Chinese error in the red box and mark the run as failed."""
        self.progress.bar_style = "danger"
        self.set_status("未完成")
        self.message.value = error_box(message)


def build(playbook: str) -> Form:
    """The Form for a playbook (not displayed), with a papermill kernel warming on the worker thread."""
    history.follow()  # runs from the form show on the history page like any other
    built = Form(spec_mod.load(playbook))
    _WORKER.submit(_warm).add_done_callback(lambda _: built.ready())
    return built


def form(playbook: str) -> None:
    """Build and display the form of `playbook` (what each voila page calls)."""
    try:
        display(build(playbook).widget())
    except OpsbookError as exc:
        display(w.HTML(CSS + error_box(exc.message)))


