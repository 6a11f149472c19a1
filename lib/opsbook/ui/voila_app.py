"""The voila application `opsbook serve` starts (`python -m opsbook.ui.voila_app`): voila 0.5 plus two handlers.

- Every form page sets the `_xsrf` cookie. voila's close-tab beacon posts that cookie's value to
  `voila/api/shutdown/<kernel>`; voila sets it on its list page only, so a page opened from a direct link
  (what `opsbook serve` prints) kept its kernel until the culler came.
- A file chosen in a form's upload field reaches the page's kernel as one websocket message; tornado drops messages
  above 10 MiB by closing the connection (the page then looks dead). `MESSAGE_BYTES` lets files well above the forms'
  limit (`widgets.UPLOAD_LIMIT_MB`) through, so that a file too big is refused with a Chinese message.
- `opsbook/runs/<playbook>/<run_id>/<file>` (`serve.DOWNLOADS`) serves the tables and report of a filed run
  as downloads, behind the same token and login cookie as the pages: a file is named, never given as a path,
  and only files the run lists (its tables and report.html) are served, to those who may open the playbook;
  each download goes to the audit log (who, which file, from which address).
- The landing page is opsbook's own (`HomeHandler`: the user's forms grouped by role, in Chinese), not voila's
  English file list.
- With accounts (`auth.AccountIdentityProvider`), a page opens only for the roles of its playbook (a Chinese
  403 page otherwise), and the server writes `session.begin(<account>, <address>)` into the form notebook
  before its kernel runs it (`prelaunch`): the page's code knows who uses it, from the login cookie.
- Browsers may only send widget messages to a page's kernel: voila's kernel manager drops execute requests
  (`allowed_message_types`; tested, since with accounts a page must never run code a user typed).
"""
from __future__ import annotations

import functools
import json
import os
import re
import ssl
from pathlib import Path
from urllib.parse import quote

import tornado.web
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from voila.app import Voila
from traitlets import Bool, Unicode, default
from voila.tornado.handler import TornadoVoilaHandler
from voila.tornado.contentshandler import VoilaContentsHandler
from voila.tornado.treehandler import TornadoVoilaTreeHandler

from .. import paths, spec
from ..ops import accounts, audit
from ..settings import ROLES, RunStatus
from . import auth
from .serve import DOWNLOADS, IMPORT_FORM, PAGES

RUN_ID = re.compile(r"\d{8}-\d{6}-[0-9a-f]+")  # `records.new_run_id`
CHUNK = 1 << 20
MESSAGE_BYTES = 64 << 20  # largest websocket message from a page (an uploaded file travels in one)
COOKIE_SECRET = "cookie_secret"  # in paths.private(): logins survive a restart of the server
MIME = {".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ".csv": "text/csv; charset=utf-8", ".html": "text/html; charset=utf-8"}


def run_file(playbook: str, run_id: str, name: str, may_see=lambda params: True) -> Path | None:
    """The file `name` of a filed run if the run offers it for download (a table or the report) and its parameters
    (the shop or source it ran on) pass `may_see`, else None."""
    if not (spec.NAME.fullmatch(playbook) and RUN_ID.fullmatch(run_id)):
        return None
    from ..engine import records  # pandas: only when someone downloads
    store = records.store()
    folder = store.playbook_folder(playbook) / run_id
    if not (folder / records.RESULT).is_file():
        return None
    record = store.load(records.RunRecord(run_id, playbook, RunStatus.FAILED, folder=folder))
    offered = {n for names in record.tables.values() for n in names} | {records.REPORT}
    if not may_see(record.params):
        return None
    path = folder / name
    if name not in offered or not path.is_file() or path.resolve().parent != folder.resolve():
        return None
    return path


def downloader(user) -> str:
    """Who downloads: the account logged in, or 本机 in token mode (jupyter_server's anonymous token user)."""
    name = getattr(user, "username", "") or ""
    return name if name and accounts.get(name) else accounts.LOCAL.name


class RunFileHandler(auth.ChineseErrors, JupyterHandler):
    """A table or the report of a filed run, sent as a download."""

    @tornado.web.authenticated
    async def get(self, playbook: str, run_id: str, name: str) -> None:
        """Stream the file, or 404 for anything a run does not offer."""
        path = run_file(playbook, run_id, name, lambda params: run_visible(self, params))
        if path is None or not allowed(self, playbook):
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


def accounts_mode(handler: tornado.web.RequestHandler) -> bool:
    """Whether the server runs with accounts (else: one person with a token)."""
    return isinstance(handler.identity_provider, auth.AccountIdentityProvider)


def allowed(handler: JupyterHandler, form: str) -> bool:
    """Whether the request's user may open the page `form` (always in token mode)."""
    return not accounts_mode(handler) or handler.authorizer.is_authorized(
        handler, handler.current_user, "read", f"opsbook:form:{form}")


def run_visible(handler: JupyterHandler, params: dict) -> bool:
    """Whether the request's user may see a run made with `params` (its shop; always in token mode)."""
    if not accounts_mode(handler):
        return True
    from ..data import shops
    account = auth.account_of(handler.current_user)
    if account is None:
        return False
    try:
        return shops.may_see_run(params, account.name, account.roles, everything=account.is_admin,
                                 known_roles=accounts.ROLES)
    except Exception:  # noqa: BLE001 - a broken shops.yaml shows the runs of no shop
        return account.is_admin


def title_of(form: str) -> str:
    """The Chinese title of a page."""
    if form in PAGES:
        return PAGES[form][2]
    try:
        return spec.load(form).title
    except Exception:  # noqa: BLE001 - a broken notebook still gets a page that says no
        return form


def forbidden(handler: JupyterHandler, form: str) -> None:
    """Answer with the Chinese 403 page for `form`."""
    account = auth.account_of(handler.current_user)
    roles = "、".join(account.roles) if account else ""
    try:
        allowed_roles = "、".join(accounts.DATA_ROLES if form == IMPORT_FORM else spec.load(form).roles)
    except Exception:  # noqa: BLE001
        allowed_roles = ""
    handler.set_status(403)
    handler.finish(auth.page("forbidden", user=account.name if account else "", roles=roles, title=title_of(form),
                             allowed=allowed_roles, base=handler.base_url))


def prelaunch(req_handler, notebook, cwd) -> None:
    """Write who uses the page into its form notebook before the kernel runs it (accounts mode only)."""
    if not accounts_mode(req_handler):
        return
    name = req_handler.current_user.username
    begin = f"from opsbook.ui import session\nsession.begin({json.dumps(name)}, {json.dumps(req_handler.request.remote_ip)})\n"
    cell = notebook.cells[0]
    cell.source = begin + cell.source


class PageHandler(TornadoVoilaHandler):
    """voila's page handler, checking the user's roles and setting the `_xsrf` cookie its close-tab beacon sends."""

    async def prepare(self) -> None:
        """Authenticate as voila does, refuse a page the user's roles may not open, then set the cookie."""
        await super().prepare()
        if not self.current_user:  # voila has redirected to the login page
            return
        page = self.path_args[0] if self.path_args else ""  # decoded: `user_tiering.ipyn%62` is the same page
        form = Path(page).stem
        if page and (Path(page).suffix.lower() != ".ipynb" or "/" in page or not allowed(self, form)):
            forbidden(self, form)
            return
        self.xsrf_token  # noqa: B018 - reading it sets the cookie


class ContentsHandler(VoilaContentsHandler):
    """voila's listing of the forms folder: for 管理员 only with accounts (the home page lists each user's forms)."""

    async def prepare(self) -> None:
        """Authenticate as voila does, then refuse anyone but 管理员 when accounts are on."""
        await super().prepare()
        if accounts_mode(self) and not self.authorizer.is_authorized(self, self.current_user, "read", "contents"):
            raise tornado.web.HTTPError(403)


class HomeHandler(auth.ChineseErrors, JupyterHandler):
    """The landing page: the user's forms grouped by role, with Chinese titles."""

    @tornado.web.authenticated
    def get(self, _path: str = "") -> None:
        """Render the forms this user may open."""
        account = auth.account_of(self.current_user) if accounts_mode(self) else accounts.LOCAL
        render = f"{self.base_url}voila/render/"
        common = [(PAGES[p][2], f"{render}{p}.ipynb") for p in PAGES if allowed(self, p)]
        groups = []
        for role in (ROLES if account.is_admin else account.roles):
            forms = []
            for name in spec.available():
                try:
                    s = spec.load(name)
                except Exception:  # noqa: BLE001 - listed by `opsbook jobs check`, not here
                    continue
                if role in s.roles and allowed(self, name):
                    forms.append((s.title, s.purpose, f"{render}{name}.ipynb"))
            if forms:
                groups.append((role, forms))
        self.set_header("Cache-Control", "no-store")
        self.xsrf_token  # noqa: B018
        self.finish(auth.page("home", user=account.name, roles="、".join(account.roles), common=common,
                              groups=groups, base=self.base_url, accounts=accounts_mode(self)))


class FormsApp(Voila):
    """voila with `PageHandler` for its pages, `RunFileHandler` for run downloads and room for uploaded files."""

    certfile = Unicode("", config=True, help="TLS certificate (PEM): serve https")
    keyfile = Unicode("", config=True, help="TLS private key (PEM)")
    behind_proxy = Bool(False, config=True, help="trust X-Forwarded-For/-Proto from the reverse proxy in front")

    def listen(self) -> None:
        """Listen as voila does, with TLS or the proxy's headers when configured (voila 0.5 has neither)."""
        options: dict = {}
        if self.certfile:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.certfile, self.keyfile or None)
            options["ssl_options"] = context
        if self.behind_proxy:
            options["xheaders"] = True
        if options:
            self.app.listen = functools.partial(self.app.listen, **options)
        super().listen()

    @default("tornado_settings")
    def _tornado_settings(self) -> dict:
        return {"websocket_max_message_size": MESSAGE_BYTES, "xsrf_cookies": True}

    @default("cookie_secret")
    def _cookie_secret(self) -> bytes:
        """With accounts, the project's cookie secret (created once, mode 600): a restart does not log everyone out.
        In token mode a fresh one per start, as voila does: a new token ends the old sessions."""
        if not issubclass(self.identity_provider_class, auth.AccountIdentityProvider):
            return os.urandom(32)
        path = paths.private() / COOKIE_SECRET
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            pending = path.with_name(f".{COOKIE_SECRET}.tmp")
            fd = os.open(pending, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(os.urandom(32).hex().encode())
            os.replace(pending, path)
        return path.read_bytes().strip()

    def initialize(self, argv=None) -> None:
        """voila's start-up, then the hook that tells each page who uses it."""
        super().initialize(argv)
        self.voila_configuration.prelaunch_hook = prelaunch

    def init_handlers(self) -> list:
        """voila's handlers, its page handler swapped, its file list replaced by the home page, downloads first."""
        swapped = {TornadoVoilaHandler: PageHandler, VoilaContentsHandler: ContentsHandler}
        handlers = [(route[0], swapped.get(route[1], route[1]), *route[2:])
                    for route in super().init_handlers() if route[1] is not TornadoVoilaTreeHandler]
        downloads = url_path_join(self.server_url, rf"/{DOWNLOADS}/([^/]+)/([^/]+)/([^/]+)")
        home = [(self.server_url, HomeHandler), (url_path_join(self.server_url, r"/voila/tree(.*)"), HomeHandler)]
        return [(downloads, RunFileHandler), *home, *handlers]


main = FormsApp.launch_instance

if __name__ == "__main__":
    main()
