"""The staff form for a playbook (served by voila): widgets generated from its spec, a thin face over `runner.run`.

The form holds no analysis code. Every run goes through `runner.run(..., trigger="form")` on one
worker thread owned by this module: the kernel's own event loop stays free to carry progress
updates to the browser, and the pooled papermill kernel (which must stay on the thread that
started it) lives on that one thread. That kernel is started when a parameter changes or 运行 is
clicked and shut down after `KERNEL_IDLE` quiet seconds, so an open page holds only its own kernel,
which imports neither pandas nor the runner before the first run. Values from the browser are validated
again with `Spec.validate` — numbers arrive as the text typed, so an out-of-range value is refused with
the CLI's message, never clamped; staff see Chinese messages, never a traceback, an exception name or a
server path.
"""
from __future__ import annotations

import html
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as w
from IPython.display import display

from ... import spec as spec_mod
from ...errors import OpsbookError, ParamError
from ...settings import FORM_KERNEL_IDLE_ENV
from .. import serve, session
from .widgets import (CSS, INTERNAL_ERROR, KIND, LABEL_STYLE, NO_SHOP, UPLOAD_LIMIT_MB, WIDE, download_link, error_box,
                      flags_html, may_type_sources, report_html, save_upload, user_shops)

log = logging.getLogger(__name__)

KERNEL_IDLE = float(os.environ.get(FORM_KERNEL_IDLE_ENV, "180"))  # quiet seconds before the papermill kernel stops
TICK = 20  # seconds between status refreshes during a run (elapsed time; the activity keeps voila from culling)
_WORKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="opsbook-form")


class RunKernel:
    """The papermill kernel of this page's runs: warmed on demand on the worker thread, stopped when quiet."""

    def __init__(self, idle: float):
        self.idle, self.last, self.started = idle, 0.0, False
        self._timer: threading.Timer | None = None

    def want(self) -> None:
        """Someone is about to run (a parameter changed): start the kernel now unless it is warm or warming."""
        if not self.started:
            self.started = True
            _WORKER.submit(self._start)
        self.touch()

    def touch(self) -> None:
        """Note use; the kernel stops `idle` seconds after the last use."""
        self.last = time.monotonic()
        if self._timer is not None:
            self._timer.cancel()
        self._timer = threading.Timer(self.idle, lambda: _WORKER.submit(self._stop_if_quiet))
        self._timer.daemon = True
        self._timer.start()

    def _start(self) -> None:
        """Start a kernel (worker thread) while another thread imports the runner and its report exporter."""
        preload = threading.Thread(target=_preload, daemon=True, name="opsbook-form-preload")
        preload.start()
        try:
            from ...engine import kernels
            kernels.POOL.warm(1)
        except Exception:  # noqa: BLE001 - warming is an optimisation
            log.exception("kernel warm-up failed")
        preload.join()

    def _stop_if_quiet(self) -> None:
        """Shut the worker thread's idle kernel down if nothing used it for `idle` seconds (worker thread)."""
        if time.monotonic() - self.last < self.idle - 0.5:
            return
        from ...engine import kernels
        kernels.POOL.drain()
        self.started = False


def _preload() -> None:
    """Import what a run needs in this page's kernel (runner, papermill, report exporter; failures only logged)."""
    try:
        from ...engine import runner  # noqa: F401
        from ...engine.render import warm_renderer
        warm_renderer()
    except Exception:  # noqa: BLE001 - preloading is an optimisation
        log.exception("preloading the runner failed")


KERNEL = RunKernel(KERNEL_IDLE)


def param_widget(p: spec_mod.Param) -> w.Widget:
    """The input widget for one parameter, labelled in Chinese with its help as tooltip.

    Numbers are text fields: what staff type reaches `Spec.validate` as typed (a bounded number widget would
    clamp 9999 to its maximum in the browser, silently).
    """
    common = {"description": p.label, "tooltip": p.help or p.label, "style": LABEL_STYLE, "layout": WIDE}
    if p.type == "file":  # the file is saved on 运行 and its path passed (`Form.values`)
        widget = w.FileUpload(accept=",".join(spec_mod.UPLOAD_SUFFIXES), multiple=False, description="选择文件",
                              tooltip=p.help or p.label)
    elif p.type == "choice":
        widget = w.Dropdown(options=[(str(c), c) for c in p.choices], value=p.default, **common)
    elif p.type == "date":
        widget = w.DatePicker(value=p.default, **common)
    elif p.type == "bool":
        widget = w.Checkbox(value=bool(p.default), indent=False, **common)
    else:
        widget = w.Text(value=str(p.default), **common)
    widget.add_class(f"ob-param-{p.name}")
    return widget


class SourceField:
    """The 数据源 parameter: a dropdown of the user's shops (shops.yaml); for the roles that own data (管理员) also
    the free-text path or URL, used when 自定义数据源 is chosen (their default: today's text field)."""

    CUSTOM = "（自定义数据源：在下方填写路径或地址）"

    def __init__(self, p: spec_mod.Param):
        self.param, self.typed = p, may_type_sources()
        options = [(shop.label, shop.name) for shop in user_shops()]
        if self.typed:
            options.append((self.CUSTOM, None))
        self.shop = w.Dropdown(options=options, value=None if self.typed else (options[0][1] if options else None),
                               description="店铺", tooltip="运行所用的店铺数据（shops.yaml 中登记、你可以查看的店铺）",
                               disabled=not options, style=LABEL_STYLE, layout=WIDE)
        self.shop.add_class("ob-param-shop")
        self.text = param_widget(p) if self.typed else None
        self.note = w.HTML("" if options else f'<div class="ob-help">{html.escape(NO_SHOP)}</div>')
        if self.text is not None:
            self.shop.observe(lambda _change: self.show_text(), "value")
            self.show_text()

    def show_text(self) -> None:
        """The free-text field is shown only while 自定义数据源 is chosen."""
        self.text.layout.display = None if self.shop.value is None else "none"

    def widgets(self) -> list[w.Widget]:
        """The widgets whose changes mean someone is about to run."""
        return [self.shop] + ([self.text] if self.text is not None else [])

    def row(self) -> w.VBox:
        """The field as the form shows it."""
        return w.VBox([self.shop, *([self.text] if self.text is not None else []), self.note])

    def values(self) -> dict[str, Any]:
        """`{"shop": name}` for a shop the user may see now, `{source: text}` for 管理员's own path; ParamError else."""
        name = self.shop.value
        if name is None and self.text is not None and may_type_sources():
            return {self.param.name: self.text.value}
        if name is None or name not in {shop.name for shop in user_shops()}:
            raise ParamError(NO_SHOP if name is None else f"你的账号不能使用店铺 {name}：请选择列表中的店铺")
        return {spec_mod.SHOP: name}


def file_row(p: spec_mod.Param, upload: w.FileUpload) -> w.HBox:
    """An upload parameter's row: its label, the 选择文件 button and the name of the file chosen."""
    chosen = w.HTML('<span class="ob-note">未选择文件</span>')
    chosen.add_class(f"ob-file-{p.name}")
    label = w.HTML(f'<div style="width:142px;text-align:right;padding-right:8px">{html.escape(p.label)}</div>')

    def show(change) -> None:
        files = change["new"]
        chosen.value = (f'<span class="ob-note">已选择：{html.escape(files[0]["name"])}</span>' if files
                        else '<span class="ob-note">未选择文件</span>')
    upload.observe(show, "value")
    return w.HBox([label, upload, chosen])


def help_line(p: spec_mod.Param) -> w.HTML:
    """Small grey help text under a parameter (its help and bounds)."""
    bounds = f"（范围 {spec_mod.number(p.min)}–{spec_mod.number(p.max)}）" if p.min is not None else ""
    if p.type == "file":
        bounds = f"（{'、'.join(spec_mod.UPLOAD_SUFFIXES)}，不超过 {UPLOAD_LIMIT_MB} MB）"
    return w.HTML(f'<div class="ob-help">{html.escape(p.help)}{bounds}</div>')


def downloads_html(result) -> str:
    """Download links (served by the forms server) for every table file of a run, plus the report itself."""
    links = []
    for stem, names in result.tables.items():
        for name in names:
            path = result.folder / name
            if path.is_file():
                links.append(download_link(serve.download_url(result.playbook, result.run_id, name), name,
                                           f"{stem}（{KIND.get(path.suffix.lower(), path.suffix)}）"))
    if result.report.is_file():
        links.append(download_link(serve.download_url(result.playbook, result.run_id, result.report.name),
                                   f"{result.playbook}-{result.run_id}.html", "下载报告（HTML）"))
    if not links:
        return ""
    return f'<div class="ob-links"><b>下载</b><br>{"".join(links)}</div>'


def failure_message(result) -> str:
    """What staff read about a run that did not complete (see `history.staff_error`), with its run id."""
    from ...ops import history  # only once a run has ended: an idle page imports nothing a run needs
    return f"运行{result.status.label}：{history.staff_error(result) or '未知错误'}\n运行编号：{result.run_id}（可在“运行记录”页查看）"


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
    step: str = ""
    saved: dict = field(default_factory=dict)  # parameter → (the upload's identity, where it was saved)
    sources: dict[str, SourceField] = field(default_factory=dict)  # the 数据源 parameter: shops, or 管理员's path

    def __post_init__(self):
        self.sources = {p.name: SourceField(p) for p in self.spec.params.values() if p.type == "source"}
        self.inputs = {p.name: param_widget(p) for p in self.spec.params.values() if p.name not in self.sources}
        for widget, hook in ((self.run_button, "ob-run"), (self.progress, "ob-progress"), (self.status, "ob-status"),
                             (self.message, "ob-message"), (self.flags, "ob-flags"),
                             (self.downloads, "ob-downloads"), (self.report, "ob-report")):
            widget.add_class(hook)
        for widget in [*self.inputs.values(), *(x for f in self.sources.values() for x in f.widgets())]:
            widget.observe(lambda _change: KERNEL.want(), "value")
        self.run_button.on_click(self.on_click)
        self.set_status("就绪：设置参数后点击“运行”")

    def widget(self) -> w.VBox:
        """The whole form as one box."""
        s = self.spec
        head = w.HTML(f"{CSS}<h2>{html.escape(s.title)}</h2><p>{html.escape(s.purpose)}</p>"
                      + f'<p class="ob-note">适用角色：{html.escape("、".join(s.roles))}'
                      + (f' · 当前用户：<span class="ob-user">{html.escape(session.who())}</span>'
                         if session.with_accounts() else "") + "</p>")
        rows = []
        for p in s.params.values():
            if p.name in self.sources:
                rows.append(self.sources[p.name].row())
            else:
                rows.append(file_row(p, self.inputs[p.name]) if p.type == "file" else self.inputs[p.name])
            if p.help or p.min is not None:
                rows.append(help_line(p))
        idle = w.HTML(f'<p class="ob-note">页面闲置 {serve.CULL_IDLE // 60} 分钟后自动释放，之后请刷新页面再用。</p>')
        box = w.VBox([head, *rows, w.HBox([self.run_button, self.progress]), self.status, self.message,
                      self.flags, self.downloads, self.report, idle])
        box.add_class("ob-form")
        return box

    def values(self) -> dict[str, Any]:
        """Current widget values by parameter name; an uploaded file is saved (once) and stands as its path; the
        chosen shop stands as `shop` (ParamError for a shop the user may not use)."""
        values = {name: self.uploaded(name, widget) if isinstance(widget, w.FileUpload) else widget.value
                  for name, widget in self.inputs.items()}
        for source in self.sources.values():
            values |= source.values()
        return values

    def uploaded(self, name: str, widget: w.FileUpload) -> str:
        """The path of the file chosen for `name` ("" for none), saved under `.opsbook/uploads/` the first time it is
        asked for (ParamError in Chinese for a file too big or of another kind)."""
        if not widget.value:
            return ""
        item = widget.value[0]
        key = (item["name"], item["size"], str(item.get("last_modified")))
        if self.saved.get(name, (None, ""))[0] != key:
            self.saved[name] = (key, save_upload(item["name"], bytes(item["content"])))
        return self.saved[name][1]

    def reset(self) -> None:
        """Clear the output areas before a new run."""
        self.message.value = self.flags.value = self.downloads.value = self.report.value = ""
        self.progress.value, self.progress.bar_style = 0, ""

    def set_status(self, text: str) -> None:
        """Update the one-line status under the button."""
        self.status.value = f"<span>{html.escape(text)}</span>"

    def on_click(self, _button=None) -> None:
        """Validate in Python, then hand the run to the worker thread (button disabled until it ends)."""
        if self.running:
            return
        self.reset()
        try:
            session.check(self.spec.roles)
            values = self.spec.validate(self.values())
        except ParamError as exc:
            self.fail(exc.message)
            return
        self.running, self.run_button.disabled = True, True
        self.progress.layout.visibility = "visible"
        self.step = "运行中…"
        self.set_status(self.step)
        KERNEL.want()  # the kernel starts now if no parameter change started it
        done = threading.Event()
        threading.Thread(target=self.tick, args=(done,), daemon=True, name="opsbook-form-tick").start()
        _WORKER.submit(self.execute, values, done)

    def tick(self, done: threading.Event) -> None:
        """Every TICK seconds of a run, show the time it has taken (thread; ends with the run)."""
        started = time.monotonic()
        while not done.wait(TICK):
            self.set_status(f"{self.step}（已用 {time.monotonic() - started:.0f} 秒）")

    def on_progress(self, done: int, total: int) -> None:
        """Progress callback from the runner (worker thread)."""
        self.progress.max = max(total, 1)
        self.progress.value = min(done, total)
        self.step = f"运行中… 第 {done}/{total} 步"
        self.set_status(self.step)

    def execute(self, values: dict, done: threading.Event | None = None) -> None:
        """Run the playbook (worker thread) and show what came out; never lets an exception reach the page."""
        t0 = time.perf_counter()
        try:
            from ...engine import runner
            from ...ops import audit, history
            from .. import session
            history.follow()  # runs from the form show on the history page like any other
            audit.follow()  # and in the audit log, with the page's user and address
            result = runner.run(self.spec.name, values, trigger="form", on_progress=self.on_progress,
                                user=session.who(), address=session.address())
            self.show(result, time.perf_counter() - t0)
        except OpsbookError as exc:
            self.fail(exc.message)
        except Exception:  # noqa: BLE001 - staff get a short message; developers get the log
            log.exception("form run of %s failed", self.spec.name)
            self.fail(f"运行失败：{INTERNAL_ERROR}")
        finally:
            if done is not None:
                done.set()
            self.running, self.run_button.disabled = False, False
            KERNEL.touch()

    def show(self, result, seconds: float) -> None:
        """Fill the flags, downloads and report areas from a run (a failed run: its error and a report link)."""
        if result.ok:
            self.progress.value, self.progress.bar_style = self.progress.max, "success"
            self.set_status(f"完成（{seconds:.1f} 秒）· 运行编号 {result.run_id}")
            self.flags.value = flags_html(result.flags)
            if result.report.is_file():
                self.report.value = report_html(result.report)
        else:
            self.fail(failure_message(result))
        self.downloads.value = downloads_html(result) if result.folder.is_dir() else ""

    def fail(self, message: str) -> None:
        """Show a Chinese error in the red box and mark the run as failed."""
        self.progress.bar_style = "danger"
        self.set_status("未完成")
        self.message.value = error_box(message)


def build(playbook: str) -> Form:
    """The Form for a playbook (not displayed)."""
    return Form(spec_mod.load(playbook))


def form(playbook: str) -> None:
    """Build and display the form of `playbook` (what each voila page calls)."""
    try:
        built = build(playbook)
        session.check(built.spec.roles)
        display(built.widget())
    except OpsbookError as exc:
        display(w.HTML(CSS + error_box(exc.message)))
