"""Accounts of the forms server: one per person, never shared, disabled when someone leaves (seed 001 §四).

Stored in `.opsbook/users.json` (outside git, mode 600), passwords hashed with argon2 (argon2-cffi, the
hasher jupyter_server itself uses). A disabled account or a changed password bumps the account's `epoch`:
login cookies carry the epoch they were issued under, so every earlier session of that person ends.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import fcntl
import functools
import json
import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .. import paths
from ..errors import ParamError
from ..settings import ROLES

ADMIN = "管理员"
DATA_ROLES = (ADMIN,)  # roles that own data: 数据导入 and free-text sources (paths, postgresql://)
NAME = re.compile(r"[^\s/\\:*?\"<>|'`$]{1,32}")  # Chinese names welcome; nothing a path or a shell would bend
MIN_PASSWORD = 8
FILE = "users.json"


@dataclasses.dataclass(frozen=True)
class Account:
    """One person: name, roles, whether disabled, and the epoch their login cookies must carry."""

    name: str
    roles: tuple[str, ...]
    disabled: bool = False
    epoch: int = 0

    @property
    def is_admin(self) -> bool:
        """Whether the account may do everything (管理员)."""
        return ADMIN in self.roles

    def may(self, roles: tuple[str, ...] | list[str]) -> bool:
        """Whether the account holds one of `roles` (管理员 holds them all)."""
        return self.is_admin or bool(set(self.roles) & set(roles))


LOCAL = Account("本机", (ADMIN,))  # token mode: the one person at this machine's 127.0.0.1


def store_path() -> Path:
    """The accounts file of this project."""
    return paths.private() / FILE


@contextmanager
def _locked() -> Iterator[None]:
    """Hold the accounts lock: concurrent `opsbook users` commands and logins wait for each other."""
    folder = paths.private()
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{FILE}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read() -> dict:
    """The accounts file's content ({} when there is none yet)."""
    path = store_path()
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ParamError(f"账号文件 {path} 无法读取（{exc}）：请从备份恢复，不要删除后重建") from exc
    return data.get("users", {}) if isinstance(data, dict) else {}


def _write(users: dict) -> None:
    """Replace the accounts file atomically, readable by the server's user only."""
    path = store_path()
    pending = path.with_name(f".{FILE}.tmp")
    fd = os.open(pending, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"users": users}, fh, ensure_ascii=False, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(pending, 0o600)
    os.replace(pending, path)


def _account(name: str, entry: dict) -> Account:
    """An Account from its stored entry."""
    return Account(name, tuple(entry.get("roles", [])), bool(entry.get("disabled")), int(entry.get("epoch", 0)))


def _hasher():
    """The argon2 password hasher (default, memory-hard parameters)."""
    from argon2 import PasswordHasher
    return PasswordHasher()


def check_name(name: str) -> str:
    """The account name, or ParamError naming what is wrong with it."""
    if not NAME.fullmatch(name or ""):
        raise ParamError(f"账号名 {name!r} 不可用：1–32 个字符，不含空格、引号和 / \\ : * ? < > | $ 等符号")
    return name


def check_roles(roles: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The roles in their canonical order, or ParamError naming an unknown one."""
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        raise ParamError(f"角色 {'、'.join(unknown) or '（空）'} 不存在：可选 {'、'.join(ROLES)}")
    return tuple(r for r in ROLES if r in roles)


def check_password(password: str) -> str:
    """The password, or ParamError if it is too weak to protect customer lists."""
    if len(password or "") < MIN_PASSWORD or password.strip() != password:
        raise ParamError(f"密码至少 {MIN_PASSWORD} 个字符，且首尾不能是空格")
    return password


def _now() -> str:
    """The current time as stored (ISO, seconds)."""
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


def add(name: str, roles: list[str] | tuple[str, ...], password: str) -> Account:
    """Create an account; ParamError if the name is taken or a value is refused."""
    name, roles, password = check_name(name), check_roles(roles), check_password(password)
    with _locked():
        users = _read()
        if name in users:
            raise ParamError(f"账号 {name} 已存在：改角色用 opsbook users roles，改密码用 opsbook users passwd")
        users[name] = {"roles": list(roles), "hash": _hasher().hash(password), "disabled": False, "epoch": 0,
                       "created": _now()}
        _write(users)
    return Account(name, roles)


def _change(name: str, **changes) -> Account:
    """Apply `changes` to an existing account's entry (bumping its epoch: its sessions end)."""
    with _locked():
        users = _read()
        if name not in users:
            raise ParamError(f"账号 {name} 不存在（opsbook users list 列出全部账号）")
        entry = users[name] | changes | {"epoch": int(users[name].get("epoch", 0)) + 1, "changed": _now()}
        users[name] = entry
        _write(users)
    return _account(name, entry)


def set_password(name: str, password: str) -> Account:
    """Give an account a new password; its open sessions end."""
    return _change(name, hash=_hasher().hash(check_password(password)))


def set_roles(name: str, roles: list[str] | tuple[str, ...]) -> Account:
    """Give an account new roles; its open sessions end (pages opened under the old roles)."""
    return _change(name, roles=list(check_roles(roles)))


def disable(name: str) -> Account:
    """Close an account (someone left): no login, and its open sessions end at their next request."""
    return _change(name, disabled=True)


def enable(name: str) -> Account:
    """Open a closed account again."""
    return _change(name, disabled=False)


def get(name: str) -> Account | None:
    """The account called `name`, or None."""
    entry = _read().get(name)
    return _account(name, entry) if entry else None


def listing() -> list[dict]:
    """Every account (name, roles, state, created) for `opsbook users list`; never the hashes."""
    return [{"name": n, "roles": list(e.get("roles", [])), "disabled": bool(e.get("disabled")),
             "created": e.get("created", ""), "changed": e.get("changed", "")}
            for n, e in sorted(_read().items())]


def any_accounts() -> bool:
    """Whether this project has at least one enabled account."""
    return any(not e.get("disabled") for e in _read().values())


def verify(name: str, password: str) -> Account | None:
    """The account if `password` is its password and it is enabled, else None (same time either way)."""
    from argon2.exceptions import Argon2Error
    entry = _read().get(name or "")
    hasher = _hasher()
    stored = entry.get("hash") if entry else None
    try:
        hasher.verify(stored or _dummy_hash(), password or "")
        good = stored is not None
    except Argon2Error:
        good = False
    if not good or entry.get("disabled"):
        return None
    return _account(name, entry)


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash to verify against for unknown names, so that they cost as long as known ones."""
    return _hasher().hash(os.urandom(16).hex())


__all__ = ["Account", "ROLES", "ADMIN", "DATA_ROLES", "LOCAL", "add", "set_password", "set_roles", "disable",
           "enable", "get", "listing", "verify", "any_accounts", "check_roles", "store_path"]
