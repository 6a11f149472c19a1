"""The voila application `opsbook serve` starts (`python -m opsbook.ui.voila_app`): voila 0.5 plus two handlers.

- Every form page sets the `_xsrf` cookie. voila's close-tab beacon posts that cookie's value to
  `voila/api/shutdown/<kernel>`; voila sets it on its list page only, so a page opened from a direct link
  (what `opsbook serve` prints) kept its kernel until the culler came.
- A file chosen in a form's upload field reaches the page's kernel as one websocket message; tornado drops messages
  above 10 MiB by closing the connection (the page then looks dead). `MESSAGE_BYTES` lets files well above the forms'
  limit (`widgets.UPLOAD_LIMIT_MB`) through, so that a file too big is refused with a Chinese message.
- `opsbook/runs/<playbook>/<run_id>/<file>` (`serve.DOWNLOADS`) serves the tables and report of a filed run
  as downloads, behind the same token and login cookie as the pages: a file is named, never given as a path,
  and only files the run lists (its tables and report.html) are served; each download goes to the audit log
  (who, which file, from which address).
"""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import tornado.web
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from voila.app import Voila
from traitlets import default
from voila.tornado.handler import TornadoVoilaHandler

from .. import spec
from ..ops import accounts, audit
from ..settings import RunStatus
from .serve import DOWNLOADS

RUN_ID = re.compile(r"\d{8}-\d{6}-[0-9a-f]+")  # `records.new_run_id`
CHUNK = 1 << 20
MESSAGE_BYTES = 64 << 20  # largest websocket message from a page (an uploaded file travels in one)
MIME = {".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ".csv": "text/csv; charset=utf-8", ".html": "text/html; charset=utf-8"}


def run_file(playbook: str, run_id: str, name: str) -> Path | None:
    """The file `name` of a filed run if the run offers it for download (a table or the report), else None."""
    if not (spec.NAME.fullmatch(playbook) and RUN_ID.fullmatch(run_id)):
        return None
    from ..engine import records  # pandas: only when someone downloads
    store = records.store()
    folder = store.playbook_folder(playbook) / run_id
    if not (folder / records.RESULT).is_file():
        return None
    record = store.load(records.RunRecord(run_id, playbook, RunStatus.FAILED, folder=folder))
    offered = {n for names in record.tables.values() for n in names} | {records.REPORT}
    path = folder / name
    if name not in offered or not path.is_file() or path.resolve().parent != folder.resolve():
        return None
    return path


def downloader(user) -> str:
    """Who downloads: the account logged in, or 本机 in token mode (jupyter_server's anonymous token user)."""
    name = getattr(user, "username", "") or ""
    return name if name and accounts.get(name) else accounts.LOCAL.name


class RunFileHandler(JupyterHandler):
    """A table or the report of a filed run, sent as a download."""

    @tornado.web.authenticated
    async def get(self, playbook: str, run_id: str, name: str) -> None:
        """Stream the file, or 404 for anything a run does not offer."""
        path = run_file(playbook, run_id, name)
        if path is None:
            raise tornado.web.HTTPError(404)
        try:
            audit.record("download", downloader(self.current_user), f"{playbook}/{run_id}/{name}",
                         self.request.remote_ip or "")
        except OSError:  # no download without its trail
            self.log.exception("audit record of a download failed")
            raise tornado.web.HTTPError(503, reason="audit log not writable") from None
        self.set_header("Content-Type", MIME.get(path.suffix.lower(), "application/octet-stream"))
        self.set_header("Content-Disposition", f"attachment; filename*=UTF-8''{quote(name)}")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Cache-Control", "no-store")
        with path.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                self.write(chunk)
                await self.flush()


class PageHandler(TornadoVoilaHandler):
    """voila's page handler, also setting the `_xsrf` cookie its close-tab beacon sends back."""

    async def prepare(self) -> None:
        """Authenticate as voila does, then set the cookie (reading `xsrf_token` sets it)."""
        await super().prepare()
        if self.current_user:  # else voila has redirected to its login page
            self.xsrf_token  # noqa: B018


class FormsApp(Voila):
    """voila with `PageHandler` for its pages, `RunFileHandler` for run downloads and room for uploaded files."""

    @default("tornado_settings")
    def _tornado_settings(self) -> dict:
        return {"websocket_max_message_size": MESSAGE_BYTES}

    def init_handlers(self) -> list:
        """voila's handlers, its page handler swapped, the downloads first."""
        handlers = [(route[0], PageHandler, *route[2:]) if route[1] is TornadoVoilaHandler else route
                    for route in super().init_handlers()]
        downloads = url_path_join(self.server_url, rf"/{DOWNLOADS}/([^/]+)/([^/]+)/([^/]+)")
        return [(downloads, RunFileHandler), *handlers]


main = FormsApp.launch_instance

if __name__ == "__main__":
    main()
