"""Who is using a form page: set in the page's kernel when voila starts it, read by the forms.

With accounts (`opsbook serve --host …`), `voila_app` injects `session.begin(<name>, <address>)` into the
form notebook before the kernel runs it, from the login cookie jupyter_server checked; the page's code never
comes from the browser. In token mode (one person on 127.0.0.1) nobody is injected: the user is
`accounts.LOCAL` (本机, 管理员).
"""
from __future__ import annotations

from ..errors import ParamError
from ..ops import accounts

_current: accounts.Account | None = None
_address: str = ""
_accounts_mode = False


def begin(name: str, address: str = "") -> None:
    """Set the page's user (from the server); an account disabled since its login gets no page."""
    global _current, _address, _accounts_mode
    _accounts_mode, _address = True, address
    account = accounts.get(name)
    _current = account if account and not account.disabled else None


def current() -> accounts.Account | None:
    """The page's user: the logged-in account, `accounts.LOCAL` in token mode, None if the account is gone."""
    return _current if _accounts_mode else accounts.LOCAL


def who() -> str:
    """The user's name as recorded with runs and in the audit log."""
    user = current()
    return user.name if user else ""


def with_accounts() -> bool:
    """Whether the page was opened by a logged-in account (else: token mode)."""
    return _accounts_mode


def check(roles: tuple[str, ...] = ()) -> accounts.Account:
    """The page's user, still enabled and unchanged since the page opened, holding one of `roles` if given;
    ParamError (Chinese) otherwise."""
    user = current()
    if _accounts_mode and user is not None:
        now = accounts.get(user.name)
        user = now if now and not now.disabled and now.epoch == user.epoch else None
    if user is None:
        raise ParamError("您的账号已停用或已修改（密码、角色），请刷新页面重新登录")
    if roles and not user.may(roles):
        raise ParamError(f"您的账号（{user.name}）没有使用此页面的角色，请联系管理员")
    return user


def address() -> str:
    """The address the page was requested from ('' in token mode)."""
    return _address


__all__ = ["begin", "current", "who", "address", "check", "with_accounts"]
