"""What every form page shares: styles, the red error box, short messages, download links, reports in iframes.

Kept light (no pandas): a form page's kernel imports this before anyone runs anything.
"""
from __future__ import annotations

import html
from pathlib import Path

import ipywidgets as w

REPORT_HEIGHT = 900
INTERNAL_ERROR = "系统内部错误，详细信息已写入服务日志，请联系技术同事。"  # what staff read about an unexpected exception
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


def download_link(url: str, name: str, text: str) -> str:
    """An `<a download>` link to a file the forms server serves (see `serve.download_url`)."""
    return f'<a download="{html.escape(name)}" href="{html.escape(url)}" data-file="{html.escape(name)}">{html.escape(text)}</a>'


def report_html(path: Path) -> str:
    """The run's report.html shown in a sandboxed iframe (srcdoc, HTML-escaped)."""
    doc = html.escape(path.read_text(encoding="utf-8"), quote=True)
    return (f'<iframe class="ob-report-frame" title="报告" sandbox="allow-same-origin allow-popups" srcdoc="{doc}" '
            f'style="width:100%;height:{REPORT_HEIGHT}px;border:1px solid #ddd;border-radius:4px"></iframe>')


def flags_html(flags: list) -> str:
    """The flags section of a run."""
    from ... import flags as flags_mod, report  # pandas: only once a run is shown
    return report.CSS + flags_mod.to_html(flags)
