"""Who is using a form page: set in the page's kernel when voila starts it, read by the forms.

With accounts (`opsbook serve --host …`), `voila_app` injects `session.begin(<name>, <address>)` into the
form notebook before the kernel runs it, from the login cookie jupyter_server checked; the page's code never
comes from the browser. In token mode (one person on 127.0.0.1) nobody is injected: the user is
`accounts.LOCAL` (本机, 管理员).
"""
from __future__ import annotations

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


def address() -> str:
    """The address the page was requested from ('' in token mode)."""
    return _address


__all__ = ["begin", "current", "who", "address"]
