"""What every form page shares: styles, the red error box, short messages, downloads as data: links, reports in iframes."""
from __future__ import annotations

import base64
import html
from pathlib import Path

import ipywidgets as w

from ... import flags as flags_mod
from ... import report
from ...flags import Flag

REPORT_HEIGHT = 900
MAX_EMBED_BYTES = 25 * 1024 * 1024
MIME = {".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ".csv": "text/csv;charset=utf-8", ".html": "text/html;charset=utf-8"}
KIND = {".xlsx": "Excel", ".csv": "CSV"}
LABEL_STYLE = {"description_width": "150px"}
WIDE = w.Layout(width="34em")
CSS = """<style>
.ob-form{max-width:1100px;font-family:"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif}
.ob-help{color:#777;font-size:12px;margin:-2px 0 8px 158px;line-height:1.4}
.ob-error-box{background:#fdecea;border:1px solid #e74c3c;color:#a93226;border-radius:4px;padding:8px 12px;
  white-space:pre-wrap;margin:8px 0}
.ob-note{color:#555;font-size:12px}
.ob-links a{display:inline-block;margin:4px 14px 4px 0}
</style>"""


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


def report_html(path: Path) -> str:
    """The run's report.html shown in a sandboxed iframe (srcdoc, HTML-escaped)."""
    doc = html.escape(path.read_text(encoding="utf-8"), quote=True)
    return (f'<iframe class="ob-report-frame" title="报告" sandbox="allow-same-origin allow-popups" srcdoc="{doc}" '
            f'style="width:100%;height:{REPORT_HEIGHT}px;border:1px solid #ddd;border-radius:4px"></iframe>')


def flags_html(flags: list[Flag]) -> str:
    """The flags section of a run."""
    return report.CSS + flags_mod.to_html(flags)


def short(text: str, limit: int = 400) -> str:
    """First line of an error, cut to `limit` characters (no tracebacks reach staff)."""
    lines = [ln for ln in str(text).splitlines() if ln.strip()]
    first = "\n".join(lines[:6]) if lines else str(text)
    return first if len(first) <= limit else first[: limit - 1] + "…"
