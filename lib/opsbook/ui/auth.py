"""Logins for the forms server, on jupyter_server's identity and authorization API (voila runs on it).

- `AccountIdentityProvider` (voila's `identity_provider_class`): a Chinese login page and logout; the login
  cookie (signed, HttpOnly, SameSite=Lax, Secure over TLS, at most `SESSION_DAYS` old) carries the account's
  name and epoch, and is checked against the accounts file on every request, so a disabled account or a
  changed password ends every session at once.
- `RoleAuthorizer` (voila's `authorizer_class`): a page is opened only by the roles its playbook declares
  (适用角色 in its first cell, `spec.Spec.roles`); 数据导入 only by the roles that own data.
- Repeated failed logins: every failure waits `FAIL_DELAY` seconds before answering; `MAX_FAILURES` failures for
  one name (or `MAX_ADDRESS_FAILURES` from one address) within `WINDOW` seconds lock it for `LOCKOUT` seconds.
"""
from __future__ import annotations

import asyncio
import json
import os
import time
from urllib.parse import urlsplit
from collections import defaultdict, deque
from pathlib import Path

import tornado.web
from jinja2 import Environment, FileSystemLoader, select_autoescape
from jupyter_server.auth.authorizer import Authorizer
from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.auth.identity import IdentityProvider, User
from jupyter_server.base.handlers import JupyterHandler
from traitlets import default

from ..ops import accounts

SESSION_DAYS = 1          # a login lasts a working day at most
FAIL_DELAY = 1.0          # seconds every failed login waits before the answer
MAX_FAILURES = 5          # failures for one name from one address within WINDOW lock that pair
MAX_ADDRESS_FAILURES = 20  # failures from one address (any names) within WINDOW lock the address
MAX_NAME_FAILURES = 50    # failures for one name from anywhere (a spread-out guess) lock the name
WINDOW = 15 * 60
LOCKOUT = 15 * 60
LOCKOUT_ENV = "OPSBOOK_LOCKOUT_SECONDS"  # tests and small teams may shorten the lockout

_templates = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                         autoescape=select_autoescape(["html"]))


def page(name: str, **values) -> str:
    """Render one of the server's own Chinese pages (ui/templates/<name>.html)."""
    return _templates.get_template(f"{name}.html").render(**values)


class Lockout:
    """Failed logins per name and per address, and whether either is locked now."""

    def __init__(self) -> None:
        self.failures: dict[str, deque] = defaultdict(deque)

    def _recent(self, key: str, now: float) -> deque:
        """The failure times of `key` still inside the window (a key with none left is forgotten)."""
        times = self.failures.get(key, deque())
        while times and now - times[0] > max(WINDOW, self.lockout()):
            times.popleft()
        if not times:
            self.failures.pop(key, None)
        return times

    @staticmethod
    def _keys(name: str, address: str) -> tuple[tuple[str, int], ...]:
        """The counters a login attempt counts against, with their limits."""
        return ((f"pair:{name}|{address}", MAX_FAILURES), (f"addr:{address}", MAX_ADDRESS_FAILURES),
                (f"name:{name}", MAX_NAME_FAILURES))

    @staticmethod
    def lockout() -> float:
        """Seconds a name or address stays locked."""
        return float(os.environ.get(LOCKOUT_ENV, LOCKOUT))

    def locked_for(self, name: str, address: str, now: float | None = None) -> float:
        """Seconds until `name` from `address` may try again (0 when it may now)."""
        now = time.monotonic() if now is None else now
        waits = [0.0]
        for key, limit in self._keys(name, address):
            times = self._recent(key, now)
            if len(times) >= limit:
                waits.append(times[-1] + self.lockout() - now)
        return max(waits)

    def failed(self, name: str, address: str) -> None:
        """Count one attempt as failed (before checking the password: parallel guesses are counted as they come)."""
        now = time.monotonic()
        for key, _limit in self._keys(name, address):
            self.failures[key].append(now)

    def succeeded(self, name: str, address: str) -> None:
        """A good login: take back its attempt and forget the failures of this name from this address."""
        self.failures.pop(f"pair:{name}|{address}", None)
        for key in (f"addr:{address}", f"name:{name}"):
            if self.failures.get(key):
                self.failures[key].pop()


LOCKOUTS = Lockout()


def audit(action: str, who: str, handler: tornado.web.RequestHandler, **detail) -> None:
    """Record a login event in the audit log, with the request's address."""
    from ..ops import audit as log
    log.record(action, who, address=handler.request.remote_ip, **detail)


def account_of(user) -> accounts.Account | None:
    """The account behind a jupyter_server user (None for a token user or nobody)."""
    name = getattr(user, "username", None)
    account = accounts.get(name) if name else None
    return account if account and not account.disabled else None


def may_open(user, form: str) -> bool:
    """Whether `user` may open the page `form` (a playbook, 数据导入, 运行记录, …)."""
    from . import serve  # the page names
    from .. import spec
    account = account_of(user)
    if account is None:
        return False
    if form == serve.IMPORT_FORM:
        return account.may(accounts.DATA_ROLES)
    if form in serve.PAGES:
        return True
    try:
        return account.may(spec.load(form).roles)
    except Exception:  # noqa: BLE001 - an unknown or broken playbook is opened by nobody
        return False


class ChineseErrors:
    """Error answers as a short Chinese page (jupyter_server's English error page needs files voila lacks)."""

    def write_error(self, status_code: int, **kwargs) -> None:
        """A plain page saying what went wrong, never a traceback."""
        text = {403: "无权访问", 404: "页面或文件不存在（可能已被删除，或链接有误）", 429: "请求过于频繁，请稍后再试"}
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(page("error", status=status_code, message=text.get(status_code, "服务器出错，请稍后重试或联系管理员"),
                         base=getattr(self, "base_url", "/")))


class LoginHandler(ChineseErrors, JupyterHandler):
    """The Chinese login page: name and password, XSRF-checked, with delays and lockout on failures."""

    def _render(self, message: str = "", status: int = 200) -> None:
        """Send the login form (with a message after a failure)."""
        self.set_status(status)
        self.set_header("Cache-Control", "no-store")
        self.finish(page("login", message=message, xsrf=self.xsrf_form_html(),
                         next=self.get_argument("next", default=""), action=self.request.path))

    def _next(self) -> str:
        """Where to go after logging in: a path on this server, else the home page (never another site: browsers
        drop tabs and newlines, so `/\t/evil` would become `//evil`)."""
        target = self.get_argument("next", default="")
        base = self.base_url
        parts = urlsplit(target)
        if (any(ord(c) <= 0x20 or c == "\\" for c in target) or parts.scheme or parts.netloc
                or not target.startswith(base) or target.startswith("//")):
            return base
        return target

    @allow_unauthenticated
    def get(self) -> None:
        """The form, or straight on when already logged in."""
        if self.current_user:
            self.redirect(self._next())
        else:
            self._render(message="已退出登录" if self.get_argument("out", "") else "")

    @allow_unauthenticated
    async def post(self) -> None:
        """Check the name and password; set the login cookie or answer with a delay."""
        self.check_xsrf_cookie()
        name = self.get_argument("username", default="").strip()
        password = self.get_argument("password", default="")
        address = self.request.remote_ip
        if not accounts.NAME.fullmatch(name):  # nothing to look up; never written to the log in full
            await asyncio.sleep(FAIL_DELAY)
            self._render("账号或密码不正确（账号停用时也无法登录，请联系管理员）", 401)
            return
        wait = LOCKOUTS.locked_for(name, address)
        if wait > 0:
            audit("lockout", name, self, minutes=round(wait / 60, 1))
            self._render(f"登录失败次数过多，已暂时锁定，请 {max(1, round(wait / 60))} 分钟后再试", 429)
            return
        LOCKOUTS.failed(name, address)  # counted before the check: parallel guesses cannot slip past the limit
        account = await asyncio.get_running_loop().run_in_executor(None, accounts.verify, name, password)
        if account is None:
            audit("login_failed", name, self)
            await asyncio.sleep(FAIL_DELAY)
            self._render("账号或密码不正确（账号停用时也无法登录，请联系管理员）", 401)
            return
        LOCKOUTS.succeeded(name, address)
        self.identity_provider.set_login_cookie(self, _user(account))
        audit("login", account.name, self)
        self.redirect(self._next())


class LogoutHandler(ChineseErrors, JupyterHandler):
    """Log out: clear the login cookie and go back to the login page."""

    @allow_unauthenticated
    def get(self) -> None:
        """Clear the cookie (recording who left) and show the login page."""
        user = self.current_user
        if user:
            audit("logout", user.username, self)
        self.identity_provider.clear_login_cookie(self)
        self.redirect(self.base_url + "login?out=1")


def _user(account: accounts.Account) -> User:
    """The jupyter_server user of an account."""
    return User(username=account.name, name=account.name, display_name=account.name, initials=account.name[:1])


class AccountIdentityProvider(IdentityProvider):
    """Users are the project's accounts (`opsbook users`); no token is accepted."""

    @default("token")
    def _token_default(self) -> str:
        return ""

    @default("cookie_options")
    def _cookie_options_default(self) -> dict:
        return {"httponly": True, "samesite": "Lax", "expires_days": SESSION_DAYS}  # Secure over https (base class)

    @default("get_secure_cookie_kwargs")
    def _get_secure_cookie_kwargs_default(self) -> dict:
        return {"max_age_days": SESSION_DAYS}

    @property
    def auth_enabled(self) -> bool:
        """Always: every page needs a login."""
        return True

    @property
    def login_available(self) -> bool:
        """Always: the Chinese login page."""
        return True

    def get_handlers(self) -> list:
        """Our Chinese login and logout pages (voila would pass its English login handler)."""
        return [(r"/login", LoginHandler), (r"/logout", LogoutHandler)]

    def get_user_token(self, handler):
        """Nobody: with accounts, a URL token never logs anyone in."""
        return None

    def user_to_cookie(self, user: User) -> str:
        """The account's name and epoch: a later epoch (disabled, new password, new roles) ends the session."""
        account = accounts.get(user.username)
        return json.dumps({"name": user.username, "epoch": account.epoch if account else -1})

    def user_from_cookie(self, cookie_value: str) -> User | None:
        """The user of a login cookie, if its account is still enabled and unchanged since."""
        try:
            data = json.loads(cookie_value)
            account = accounts.get(str(data["name"]))
        except (ValueError, KeyError, TypeError):
            return None
        if account is None or account.disabled or account.epoch != data.get("epoch"):
            return None
        return _user(account)


class RoleAuthorizer(Authorizer):
    """Pages by role (`opsbook:form:<page>` resources); everything else for any logged-in account."""

    def is_authorized(self, handler, user, action: str, resource: str) -> bool:
        """Whether `user` may do `action` on `resource`."""
        if resource.startswith("opsbook:form:"):
            return may_open(user, resource.removeprefix("opsbook:form:"))
        account = account_of(user)
        if resource == "contents":  # voila's file listing: the home page lists each user's forms instead
            return account is not None and account.is_admin
        return account is not None


__all__ = ["AccountIdentityProvider", "RoleAuthorizer", "LoginHandler", "LogoutHandler", "may_open", "page",
           "LOCKOUTS", "account_of", "ChineseErrors"]
