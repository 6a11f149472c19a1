"""The shops of a project (`shops.yaml` at its root): name, platform, where the tables are, and who may see them.

Staff pick a shop by name in the forms, never a path; job files and `-p shop=…` name shops too. A shop's source is a
folder, a DuckDB file or a `postgresql://` URL without password (the password comes from the environment variable its
`password_env` names). Once a project has a `shops.yaml`, PostgreSQL connections go only to the servers of its shops
(`server_problem`, checked by `data.postgres.connect` before any connection). Without the file the project has one
shop, 示例店铺 (`data/sample`), that everyone sees.

Cheap to import (YAML only: no pandas, no database driver). Accounts are not known here: who may see a shop is asked
with plain names and roles (`Shop.visible_to`), and role names are checked against the roles the caller passes.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

import yaml

from .. import paths
from ..errors import DataError, ParamError
from .locations import is_duckdb_file, is_postgres, masked
from .platforms import PLATFORMS

FILE = "shops.yaml"
MULTI = "多平台"  # a shop selling on several platforms (the sample shop)
KEYS = ("name", "platform", "source", "password_env", "users", "roles")
MAX_BYTES = 256 * 1024
NAME = re.compile(r"[^\s/\\:*?\"<>|'`$]{1,40}")  # a name is a name: nothing a path or a shell would bend
ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
DEFAULT_PORT = "5432"
HEADLINE = "店铺登记 shops.yaml 有误"


@dataclass(frozen=True)
class Shop:
    """One registered shop: its name, platform, source location and who may see it."""

    name: str
    platform: str
    source: str
    password_env: str = ""
    users: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    everyone: bool = False  # only the default sample shop of a project without shops.yaml

    @property
    def kind(self) -> str:
        """What the source is: folder, duckdb or postgres."""
        return "postgres" if is_postgres(self.source) else "duckdb" if is_duckdb_file(self.source) else "folder"

    @property
    def label(self) -> str:
        """How staff see the shop in a dropdown: its name and platform."""
        return f"{self.name}（{PLATFORMS.get(self.platform, self.platform)}）"

    def visible_to(self, user: str, roles: tuple[str, ...] | list[str], everything: bool = False) -> bool:
        """Whether a person (name, roles) may see the shop; `everything` for those who see all (管理员)."""
        return everything or self.everyone or user in self.users or bool(set(roles) & set(self.roles))


SAMPLE = Shop("示例店铺", MULTI, "data/sample", everyone=True)


def registry_path() -> Path:
    """Where the project's shop registry is: `shops.yaml` at the project root."""
    return paths.root() / FILE


def registered() -> bool:
    """Whether the project has its own shop registry (then connections go only to its shops' servers)."""
    return registry_path().is_file()


def load(known_roles: tuple[str, ...] | list[str] | None = None) -> list[Shop]:
    """The project's shops (the sample shop without shops.yaml); ParamError listing every problem of the file.

    Role names are checked against `known_roles` when given (the accounts' roles, which this layer does not know).
    """
    if not registered():
        return [SAMPLE]
    data = _read(registry_path())
    problems = [f"未知的顶层键 {k}（只能有 shops）" for k in data if k != "shops"]
    entries = data.get("shops")
    if not isinstance(entries, list) or not entries:
        problems.append("缺少 shops：应为店铺列表（每项含 name、platform、source，可选 users、roles、password_env）")
        entries = []
    shops, seen = [], {}
    for number, entry in enumerate(entries, 1):
        shop, found = _entry(number, entry, known_roles)
        problems += found
        if shop is not None:
            seen.setdefault(shop.name, []).append(number)
            shops.append(shop)
    problems += [f"店铺名称 {name} 重复（第 {'、'.join(map(str, where))} 个店铺）：每个店铺的名称必须唯一"
                 for name, where in seen.items() if len(where) > 1]
    if problems:
        raise ParamError(problems, headline=f"{HEADLINE}（{registry_path()}）")
    return shops


def _read(path: Path) -> dict:
    """The registry file as a mapping; ParamError naming the file if it cannot be read safely."""
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ParamError(f"店铺登记 {path} 太大（上限 {MAX_BYTES:,} 字节）", headline=HEADLINE)
        text = path.read_text(encoding="utf-8")
        if any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text, Loader=yaml.SafeLoader)):
            raise ParamError(f"店铺登记 {path} 使用了 YAML 别名（*名称）：请直接写出每个值", headline=HEADLINE)
        data = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ParamError(f"店铺登记 {path} 无法读取（应为 UTF-8 的 YAML）：{reason}", headline=HEADLINE) from None
    if not isinstance(data, dict):
        raise ParamError(f"店铺登记 {path} 的顶层应为“shops: 店铺列表”", headline=HEADLINE)
    return data


def _entry(number: int, entry, known_roles) -> tuple[Shop | None, list[str]]:
    """One entry of the file as a Shop, or None, and its problems (each naming the shop, else its position)."""
    if not isinstance(entry, dict):
        return None, [f"第 {number} 个店铺应为“键: 值”映射（name、platform、source …）"]
    name = entry.get("name")
    problems = []
    if not isinstance(name, str) or not NAME.fullmatch(name):
        problems.append(f"第 {number} 个店铺：name {'缺失' if name is None else repr(name) + ' 不可用'}"
                        "（1–40 个字符，不含空格、引号和 / \\ : * ? < > | $ 等符号）")
    who = f"店铺 {name}" if isinstance(name, str) and name else f"第 {number} 个店铺"
    problems += [f"{who}：未知的键 {k}（可用：{', '.join(KEYS)}）" for k in entry if k not in KEYS]
    platform = entry.get("platform")
    if platform not in (*PLATFORMS, MULTI):
        choices = "、".join(f"{code}（{label}）" for code, label in PLATFORMS.items())
        problems.append(f"{who}：platform {'缺失' if platform is None else repr(platform) + ' 不是有效平台'}"
                        f"（可用：{choices}、{MULTI}）")
    source = entry.get("source")
    password_env = entry.get("password_env") or ""
    problems += [f"{who}：{p}" for p in _source_problems(source, password_env)]
    lists = {}
    for key in ("users", "roles"):
        value = entry.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            problems.append(f"{who}：{key} 应为名称列表，如 {key}: [{'张三, 李四' if key == 'users' else '运营, 主管'}]")
            value = []
        lists[key] = tuple(value)
    if known_roles is not None:
        unknown = [r for r in lists["roles"] if r not in known_roles]
        if unknown:
            problems.append(f"{who}：角色 {'、'.join(unknown)} 不存在（可用：{'、'.join(known_roles)}）")
    if problems:
        return None, problems
    return Shop(name, platform, source.strip(), password_env, lists["users"], lists["roles"]), []


def _source_problems(source, password_env) -> list[str]:
    """What is wrong with a shop's source and password variable (Chinese)."""
    if not isinstance(source, str) or not source.strip():
        return ["缺少 source（数据目录、DuckDB 文件或 postgresql://用户名@服务器:端口/数据库 地址）"]
    problems = []
    if masked(source) != source:
        problems.append(f"source 地址 {masked(source)} 中含有密码：shops.yaml 不保存密码，请去掉密码，"
                        "在 password_env 中写存放密码的环境变量名（如 password_env: OPSBOOK_PG_TMALL）")
    elif re.match(r"^[a-zA-Z][\w+.-]*://", source.strip()) and not is_postgres(source):
        problems.append(f"source {source!r} 不是支持的地址：只能是数据目录、DuckDB 文件或 postgresql:// 地址")
    elif is_postgres(source):
        try:
            servers(url_settings(source))
        except ValueError as exc:
            problems.append(f"source 地址 {source} 格式不对：{exc}")
    if password_env and (not isinstance(password_env, str) or not ENV_NAME.fullmatch(password_env)):
        problems.append(f"password_env {password_env!r} 不是有效的环境变量名（大写字母、数字和下划线，如 OPSBOOK_PG_TMALL）")
    elif password_env and not is_postgres(source):
        problems.append("password_env 只用于 postgresql:// 数据源")
    return problems


def visible(user: str, roles: tuple[str, ...] | list[str], everything: bool = False,
            known_roles: tuple[str, ...] | list[str] | None = None) -> list[Shop]:
    """The shops a person (name, roles) may see, in the registry's order; `everything` for 管理员."""
    return [s for s in load(known_roles) if s.visible_to(user, roles, everything)]


def _same_place(a: str, b: str) -> bool:
    """Whether two source locations name the same place (folders and files compared resolved)."""
    if is_postgres(a) or is_postgres(b):
        return masked(a) == masked(b)
    return paths.resolve(a) == paths.resolve(b)


def may_see_run(params: dict, user: str, roles: tuple[str, ...] | list[str], everything: bool = False,
                known_roles: tuple[str, ...] | list[str] | None = None) -> bool:
    """Whether a person may see a run made with `params`: on a shop they see (named, or its `source` is that shop's);
    a run on a source no shop of theirs has is for those who see everything. Always without a registry."""
    if everything or not registered():
        return True
    shop, source = params.get("shop"), params.get("source")
    if not shop and not source:
        return True  # a playbook without a data source
    mine = visible(user, roles, known_roles=known_roles)
    if shop:
        return any(s.name == shop for s in mine)
    return any(_same_place(s.source, str(source)) for s in mine)


def same_shop(recorded: str | None, params) -> bool:
    """Whether what a task or a run was recorded under (its run's shop name, else its source: `tasks.shop`, a run's
    params) is the shop of a run made with `params` (its `shop` and `source`): the same name, or the same place once
    a registered shop's name is read as its source. A record of neither (a playbook without a data source) is no
    shop's data and belongs to every one."""
    if not recorded:
        return True
    sources = {s.name: s.source for s in load()}
    here = params.get("shop") or params.get("source")
    if not here:
        return False
    if recorded == here:
        return True
    there = str(sources.get(str(here), params.get("source") or here))
    return _same_place(str(sources.get(recorded, recorded)), there)


def find(name: str) -> Shop:
    """The registered shop called `name`; ParamError in Chinese naming the registered ones otherwise."""
    shops = load()
    for shop in shops:
        if shop.name == name:
            return shop
    where = "shops.yaml" if registered() else "店铺登记（尚无 shops.yaml，只有示例店铺）"
    raise ParamError(f"店铺 {name!r} 不在{where}中（已登记：{'、'.join(s.name for s in shops)}）")


# --- PostgreSQL servers: which the registry allows, and the passwords of its shops --------------------------

def url_settings(url: str) -> dict:
    """libpq's connection settings of a PostgreSQL URL (host, hostaddr, port, user, dbname, service), read without
    the driver: the netloc's hosts and ports, overridden by query parameters as libpq does."""
    parts = urlsplit(url.strip())
    netloc = parts.netloc.rpartition("@")
    user = unquote(netloc[0].partition(":")[0]) if netloc[1] else ""
    hosts, ports = [], []
    for spec in filter(None, netloc[2].split(",")):
        if spec.startswith("["):
            host, _, rest = spec[1:].partition("]")
            port = rest[1:] if rest.startswith(":") else ""
        else:
            host, _, port = spec.partition(":")
        hosts.append(unquote(host))
        ports.append(port)
    info = {"host": ",".join(hosts), "port": ",".join(ports), "user": user, "dbname": unquote(parts.path.lstrip("/"))}
    info = {k: v for k, v in info.items() if v.strip(",")}
    return info | {k: v for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "schema"}


def servers(info: dict) -> tuple[str, ...]:
    """The `host:port` servers libpq would try for connection settings (`hostaddr` wins over `host`; PGHOST,
    PGHOSTADDR and PGPORT fill what is unset; '' is the local socket); ValueError for what cannot be told."""
    if info.get("service") or os.environ.get("PGSERVICE"):
        raise ValueError("不支持 service（pg_service.conf）：请直接写出服务器和端口")
    hosts = (info.get("hostaddr") or info.get("host") or os.environ.get("PGHOSTADDR")
             or os.environ.get("PGHOST") or "").split(",")
    ports = (info.get("port") or os.environ.get("PGPORT") or "").split(",")
    if len(ports) == 1:
        ports = ports * len(hosts)
    if len(ports) != len(hosts):
        raise ValueError(f"{len(hosts)} 个服务器却有 {len(ports)} 个端口")
    for port in ports:
        if port and not port.isdigit():
            raise ValueError(f"端口 {port!r} 不是数字")
    return tuple(f"{h.strip().lower()}:{p.strip() or DEFAULT_PORT}" for h, p in zip(hosts, ports))


def server_problem(info: dict) -> str | None:
    """Why connecting with these settings is refused (a server no registered shop uses), or None when allowed or
    when the project has no shops.yaml. Never connects to anything."""
    if not registered():
        return None
    try:
        wanted = servers(info)
    except ValueError as exc:
        return f"PostgreSQL 地址无法核对：{exc}"
    allowed = {srv for shop in load() if shop.kind == "postgres" for srv in servers(url_settings(shop.source))}
    outside = [srv for srv in wanted if srv not in allowed]
    if not outside:
        return None
    shown = "、".join(s if not s.startswith(":") else f"本机套接字{s}" for s in outside)
    return (f"PostgreSQL 服务器 {shown} 不属于任何已登记的店铺（shops.yaml），未连接：只能连接已登记店铺的服务器，"
            "如需使用请管理员在 shops.yaml 中登记该店铺")


def password(info: dict) -> str | None:
    """The password for these settings from the environment variable named by the registered shop with the same
    servers, user and database (None when no such shop names one); DataError if that variable is unset."""
    if not registered():
        return None
    for shop in load():
        if shop.kind != "postgres" or not shop.password_env:
            continue
        theirs = url_settings(shop.source)
        if (servers(theirs) == servers(info) and theirs.get("user", "") == info.get("user", "")
                and theirs.get("dbname", "") == info.get("dbname", "")):
            value = os.environ.get(shop.password_env)
            if not value:
                raise DataError(f"店铺 {shop.name} 的数据库密码应在环境变量 {shop.password_env} 中，但它没有设置："
                                 "请在服务器的环境（或启动服务的脚本）中设置")
            return value
    return None


__all__ = ["may_see_run", "Shop", "SAMPLE", "MULTI", "registry_path", "registered", "load", "visible", "find", "url_settings",
           "servers", "server_problem", "password"]
