"""数据导入: staff upload seller back-end exports into one of their shops; the same intake as `opsbook ingest`."""
from __future__ import annotations

import html
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import ipywidgets as w
from IPython.display import display

from ...errors import OpsbookError, ParamError
from .widgets import CSS, INTERNAL_ERROR, LABEL_STYLE, NO_SHOP, WIDE, error_box, user_shops

log = logging.getLogger(__name__)


@dataclass
class ImportForm:
    """数据导入: upload seller back-end exports and merge them into a registered shop's folder (same path as
    `opsbook ingest`); only the folder shops the user may see are offered, never a typed path."""

    upload: w.FileUpload = field(default_factory=lambda: w.FileUpload(
        accept=".csv,.xlsx,.xls", multiple=True, description="选择文件"))
    into: w.Dropdown = field(default_factory=lambda: w.Dropdown(description="导入到店铺", style=LABEL_STYLE,
                                                                layout=WIDE))
    platform: w.Dropdown = field(default_factory=lambda: w.Dropdown(
        options=[("自动识别", None), ("淘宝 TB", "TB"), ("天猫 TM", "TM"), ("京东 JD", "JD"), ("抖音 DY", "DY"),
                 ("拼多多 PDD", "PDD")], description="平台", style=LABEL_STYLE, layout=WIDE))
    button: w.Button = field(default_factory=lambda: w.Button(description="导入", button_style="primary", icon="upload"))
    result: w.HTML = field(default_factory=w.HTML)

    def __post_init__(self):
        for widget, hook in ((self.upload, "ob-upload"), (self.button, "ob-import"), (self.result, "ob-import-result"),
                             (self.into, "ob-param-into"), (self.platform, "ob-param-platform")):
            widget.add_class(hook)
        self.button.on_click(self.on_click)
        options = [(shop.label, shop.name) for shop in user_shops(("folder",))]
        self.into.options, self.into.disabled = options, not options
        self.into.value = options[0][1] if options else None
        if not options:
            self.result.value = error_box(f"{NO_SHOP}（数据导入只写入数据目录类型的店铺）")

    def warehouse(self) -> str:
        """The chosen shop's folder, checked again now (shops.yaml and the user's roles may have changed); only a
        registered folder shop the user may see, never a typed path."""
        name = self.into.value
        chosen = next((shop for shop in user_shops(("folder",)) if shop.name == name), None)
        if chosen is None:
            raise ParamError(f"你的账号不能向店铺 {name} 导入数据：请选择列表中的店铺" if name else NO_SHOP)
        return chosen.source

    def widget(self) -> w.VBox:
        """The whole form as one box."""
        head = w.HTML(f"{CSS}<h2>数据导入</h2><p>上传淘宝/天猫、京东、抖店、拼多多后台导出的订单、推广报表或售后单"
                      "（CSV 或 Excel，UTF-8 或 GBK），合并到所选店铺的数据；之后在各剧本中选择该店铺运行。</p>"
                      '<p class="ob-note">手机号自动脱敏，姓名与详细地址不会保存；同一文件重复导入不会产生重复数据。</p>')
        box = w.VBox([head, self.upload, self.into, self.platform, self.button, self.result])
        box.add_class("ob-form")
        return box

    def on_click(self, _button=None) -> None:
        """Save the uploads to a temporary folder and import each; a Chinese summary per file, never a traceback."""
        from ...data import intake  # pandas: only once someone imports
        from ...ops import audit
        from ...ops.accounts import DATA_ROLES
        from .. import session
        try:
            session.check(DATA_ROLES)  # still enabled, still 管理员, since the page opened
            into = self.warehouse()
        except OpsbookError as exc:
            self.result.value = error_box(exc.message if len(exc.problems) > 1 else exc.problems[0])
            return
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
                        report = intake.ingest_file(path, into, self.platform.value, name=name)
                    except Exception:  # noqa: BLE001 - staff get a short message; developers get the log
                        log.exception("import of %s failed", name)
                        parts.append(f"<h4>{html.escape(name)}</h4>"
                                     + error_box(f"导入失败：{INTERNAL_ERROR}"))
                        continue
                    try:
                        audit.record_import(report, into, session.who(), session.address())
                    except OSError:  # the data is in: say so, and that the trail is missing
                        log.exception("audit record of the import of %s failed", name)
                        parts.append(error_box("审计日志写入失败，请告知管理员"))
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
    from ...ops.accounts import DATA_ROLES
    from .. import session
    try:
        session.check(DATA_ROLES)  # the server answers others with its 403 page already
        display(ImportForm().widget())
    except OpsbookError as exc:  # shops.yaml is wrong: say so, offer nothing
        display(w.HTML(CSS + error_box(exc.message)))
