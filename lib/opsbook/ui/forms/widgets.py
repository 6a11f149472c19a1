"""What every form page shares: styles, the red error box, short messages, download links, reports in iframes.

Kept light (no pandas): a form page's kernel imports this before anyone runs anything.
"""
from __future__ import annotations

import html
import re
import secrets
import shutil
import time
from pathlib import Path

import ipywidgets as w

from ... import paths
from ...data import shops
from ...errors import ParamError
from ...ops import accounts
from ...spec import UPLOAD_SUFFIXES
from .. import session

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


UPLOAD_LIMIT_MB = 20     # largest file a form accepts (voila_app lets bigger websocket messages through, to refuse it)
UPLOAD_KEEP_DAYS = 30    # uploads older than this are removed when a new one is saved (reruns need the file)
_UNSAFE = re.compile(r"[^\w.\-（）()]+")


def uploads_dir() -> Path:
    """Where forms keep uploaded files: `.opsbook/uploads/` at the project root (ignored by git)."""
    return paths.private() / "uploads"


def safe_name(name: str) -> str:
    """A browser's file name as a plain file name: no folders, no `..`, nothing but letters, digits, `._-()`."""
    base = _UNSAFE.sub("_", str(name).replace("\\", "/").rsplit("/", 1)[-1]).lstrip(".") or "上传文件"
    stem, dot, suffix = base.rpartition(".")
    return (stem[:80] + dot + suffix[:8]) if dot else base[:90]


def save_upload(name: str, content: bytes) -> str:
    """Save an uploaded file as `.opsbook/uploads/<random>/<safe name>`; its path relative to the project (what a
    file parameter holds). ParamError in Chinese for a file too big, empty or of another kind."""
    shown = safe_name(name)
    if not shown.lower().endswith(UPLOAD_SUFFIXES):
        raise ParamError(f"文件 {shown} 不是 {'、'.join(UPLOAD_SUFFIXES)} 文件：请上传 Excel（.xlsx）或 CSV 文件")
    if len(content) > UPLOAD_LIMIT_MB * 2**20:
        raise ParamError(f"文件 {shown} 有 {len(content) / 2**20:.1f} MB，超过 {UPLOAD_LIMIT_MB} MB 上限："
                         "请删去不需要的列或行，或分成几个文件")
    if not content:
        raise ParamError(f"文件 {shown} 是空文件：请重新选择")
    root = uploads_dir()
    _prune(root)
    folder = root / secrets.token_hex(8)
    folder.mkdir(parents=True)
    (folder / shown).write_bytes(content)
    return (folder / shown).relative_to(paths.root()).as_posix()


def _prune(root: Path) -> None:
    """Remove upload folders older than UPLOAD_KEEP_DAYS (best effort)."""
    if not root.is_dir():
        return
    cutoff = time.time() - UPLOAD_KEEP_DAYS * 86400
    for folder in root.iterdir():
        try:
            if folder.is_dir() and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            pass


NO_SHOP = "你的账号还没有可用的店铺：请联系管理员在 shops.yaml 中为你登记店铺"


def user_shops(kinds: tuple[str, ...] | None = None) -> list[shops.Shop]:
    """The registered shops the page's user may see (of the source `kinds` given: folder, duckdb, postgres), read
    afresh from shops.yaml; none for a page without a user. ParamError if shops.yaml is wrong."""
    if session.current() is None:
        return []
    user = session.check()  # an account disabled or changed since the page opened sees no shop
    found = shops.visible(user.name, user.roles, everything=user.is_admin, known_roles=accounts.ROLES)
    return [s for s in found if kinds is None or s.kind in kinds]


def may_type_sources() -> bool:
    """Whether the page's user may name a data source by path or URL (the roles that own data, 管理员)."""
    if session.current() is None:
        return False
    return session.check().may(accounts.DATA_ROLES)
