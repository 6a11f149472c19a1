"""Parameter spec read from a notebook's annotated `parameters` cell, and strict validation against it.

A parameter line looks like ``recall_days: int = 30  # 召回天数：说明 [7, 180]`` — the annotation is the
type (int, float, str, bool, date, Literal[...], or DataSource for where the tables come from), the value the default, the comment's text before
``：`` the Chinese label, after it the help, and a trailing ``[lo, hi]`` the inclusive bounds.
papermill's own inspection is regex-based and drops ``Literal[...]`` lines, so the cell is parsed
with ``ast`` here.
"""
from __future__ import annotations

import ast
import datetime as dt
import io
import json
import re
import tokenize
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any, Literal  # noqa: F401  (re-exported for the notebooks' annotations, like DataSource)

from . import paths
from .data import shops
from .data.locations import is_postgres, masked
from .errors import ParamError
from .settings import ROLES

date = dt.date
TYPES = ("int", "float", "str", "bool", "date", "choice", "source", "file")
UPLOAD_SUFFIXES = (".xlsx", ".xls", ".csv")


class DataSource(str):
    """Annotation of a data-source parameter: a data folder, a DuckDB file or a PostgreSQL URL (never a password)."""


class UploadFile(str):
    """Annotation of an uploaded-file parameter: a .xlsx/.xls/.csv file inside the project, by its path relative to the
    project ("" = none). On the CLI and in job files it is typed; the form uploads the file into `.opsbook/uploads/`
    and passes that path. Never a path outside the project (no `..`, no absolute path, no link leading out)."""

_BOUNDS = re.compile(r"\[\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*\]\s*$")
SHOP = "shop"  # names a registered shop instead of a source location; recorded with the run (so reports say which)
RESERVED = ("opsbook_run_dir", SHOP)


@dataclass(frozen=True)
class Param:
    """One declared parameter."""

    name: str
    type: str
    default: Any
    label: str
    help: str = ""
    choices: tuple = ()
    min: float | None = None
    max: float | None = None

    def describe(self) -> str:
        """A one-line Chinese description for `opsbook list`."""
        kind = {"int": "整数", "float": "数字", "str": "文本", "bool": "是/否", "date": "日期 YYYY-MM-DD",
                "choice": "可选 " + "/".join(map(str, self.choices)),
                "source": "数据源（数据目录、DuckDB 文件或 PostgreSQL 地址）",
                "file": "文件（项目目录内 .xlsx/.xls/.csv 文件的相对路径，表单中为上传；可留空）"}[self.type]
        bounds = f"，范围 {number(self.min)}–{number(self.max)}" if self.min is not None else ""
        return f"{self.name}（{self.label}）: {kind}{bounds}，默认 {to_json(self.default)}"


@dataclass(frozen=True)
class Spec:
    """A playbook's identity and parameters, as declared in its notebook."""

    name: str
    path: Path
    title: str
    purpose: str
    roles: tuple[str, ...]  # who may run it (settings.ROLES; 管理员 always may)
    params: dict[str, Param] = field(default_factory=dict)

    def validate(self, values: dict[str, Any]) -> dict[str, Any]:
        """Defaults overlaid with `values`, each coerced and checked; raise ParamError listing every problem."""
        problems = [f"未知参数 {k}（{self.name} 的参数有：{', '.join(self.params)}）"
                    for k in values if k not in self.params and k not in RESERVED]
        values, shop_problems = self.with_shop(values)
        problems += shop_problems
        out = {}
        for p in self.params.values():
            raw = values.get(p.name, p.default)
            try:
                out[p.name] = coerce(p, raw)
            except ValueError as exc:
                problems.append(f"参数 {p.name}（{p.label}）{exc}")
        if problems:
            raise ParamError(problems, headline=f"{self.title} 的参数有误，未执行")
        if values.get(SHOP):
            out[SHOP] = values[SHOP]
        return out

    def with_shop(self, values: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """`values` with a named shop (`shop`) standing for its source in the source parameter, and the problems
        (unknown shop, no source parameter, a different source given too)."""
        if SHOP not in values:
            return values, []
        name = values[SHOP]
        source = next((p for p in self.params.values() if p.type == "source"), None)
        if source is None:
            return values, [f"{self.title} 没有数据源参数，不能指定店铺（shop）"]
        if not isinstance(name, str) or not name.strip():
            return values, ["店铺（shop）不能为空：请填写 shops.yaml 中登记的店铺名称"]
        try:
            shop = shops.find(name.strip())
        except ParamError as exc:  # not registered, or shops.yaml itself is wrong (then its headline says so)
            own = exc.headline == ParamError.headline
            return values, exc.problems if own else [f"{exc.headline}：{p}" for p in exc.problems]
        given = values.get(source.name)
        if given not in (None, "") and str(given).strip() != shop.source:
            return values, [f"同时指定了店铺 {shop.name} 和数据源 {masked(str(given))}：二者只能选一个"]
        return {**values, SHOP: shop.name, source.name: shop.source}, []


def coerce(p: Param, raw: Any) -> Any:
    """Convert one value (from YAML, CLI text, JSON or a widget) to the parameter's type, or raise ValueError."""
    if p.type == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("true", "1", "yes", "是"):
            return True
        if text in ("false", "0", "no", "否"):
            return False
        raise ValueError(f"应为 true 或 false，收到 {raw!r}")
    if p.type == "int":
        if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
            raise ValueError(f"应为整数，收到 {raw!r}")
        try:
            value = int(str(raw).strip()) if not isinstance(raw, (int, float)) else int(raw)
        except ValueError:
            raise ValueError(f"应为整数，收到 {raw!r}") from None
        return _bounded(p, value)
    if p.type == "float":
        if isinstance(raw, bool):
            raise ValueError(f"应为数字，收到 {raw!r}")
        try:
            value = float(str(raw).strip()) if not isinstance(raw, (int, float)) else float(raw)
        except ValueError:
            raise ValueError(f"应为数字，收到 {raw!r}") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"应为有限的数字，收到 {raw!r}")
        return _bounded(p, value)
    if p.type == "date":
        if isinstance(raw, dt.datetime):
            return raw.date()
        if isinstance(raw, dt.date):
            return raw
        try:
            return dt.date.fromisoformat(str(raw).strip())
        except ValueError:  # 2025-02-30, or None from a form's date picker holding an impossible date
            got = "" if raw is None else f"，收到 {raw!r}"
            raise ValueError(f"不是有效日期（格式 YYYY-MM-DD，如 2025-06-30）{got}") from None
    if p.type == "choice":
        if raw in p.choices:
            return raw
        for choice in p.choices:
            if str(choice) == str(raw).strip():
                return choice
        raise ValueError(f"只能取 {' / '.join(map(str, p.choices))}，收到 {raw!r}")
    if p.type == "file":
        return upload_path(raw)
    if not isinstance(raw, str):
        raise ValueError(f"应为文本，收到 {raw!r}")
    if masked(raw) != raw:  # parameters are recorded in every run: a password there would be kept with them
        raise ValueError("的地址中含有密码：运行记录会保存参数，所以不接受密码；请去掉密码，改用环境变量 PGPASSWORD 或 ~/.pgpass")
    if p.type == "source" and not raw.strip():
        raise ValueError("不能为空：请填写数据目录、DuckDB 文件或 PostgreSQL 地址")
    if p.type == "source" and is_postgres(raw):  # checked again where connections are made (data.postgres.connect)
        try:
            refused = shops.server_problem(shops.url_settings(raw))
        except ParamError as exc:  # shops.yaml itself is wrong: refuse rather than connect anywhere
            refused = f"{exc.headline}：{'；'.join(exc.problems)}"
        if refused:
            raise ValueError(f"不可用：{refused}")
    return raw


def upload_path(raw: Any) -> str:
    """An uploaded-file value checked: "" (none), or the path of an existing .xlsx/.xls/.csv file inside the project,
    relative to it (as given, with `/`); ValueError in Chinese otherwise. A name is a name: nothing outside the
    project is ever read through a file parameter."""
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise ValueError(f"应为文件路径，收到 {raw!r}")
    text = raw.strip().replace("\\", "/")
    if not text:
        return ""
    relative = PurePosixPath(text)
    if relative.is_absolute() or re.match(r"^[A-Za-z]:", text) or text.startswith("~"):
        raise ValueError(f"应为项目目录内文件的相对路径（如 data/uploads/候选清单.xlsx），收到 {raw!r}")
    if ".." in relative.parts:
        raise ValueError(f"不能含有“..”（只能读取项目目录内的文件），收到 {raw!r}")
    if relative.suffix.lower() not in UPLOAD_SUFFIXES:
        raise ValueError(f"只接受 {'、'.join(UPLOAD_SUFFIXES)} 文件，收到 {raw!r}")
    root = paths.root().resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        raise ValueError(f"指向项目目录之外（链接），不能读取：{raw!r}")
    if not path.is_file():
        raise ValueError(f"找不到文件 {relative.as_posix()}（相对于项目目录；表单中请重新上传）")
    return relative.as_posix()


def _bounded(p: Param, value):
    if p.min is not None and not (p.min <= value <= p.max):
        raise ValueError(f"应在 {number(p.min)} 到 {number(p.max)} 之间，收到 {number(value)}")
    return value


def number(x: float) -> str:
    """A bound or value as staff read it: 100000000, not 1e+08; 1.5 as 1.5."""
    return f"{x:.0f}" if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


def to_json(value: Any) -> Any:
    """A JSON-safe form of a parameter value (dates as ISO text)."""
    return value.isoformat() if isinstance(value, dt.date) else value


def parameters_cell(nb: dict) -> str:
    """Source of the single cell tagged `parameters`."""
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1:
        raise ValueError(f"expected exactly one cell tagged 'parameters', found {len(tagged)}")
    src = tagged[0]["source"]
    return "".join(src) if isinstance(src, list) else src


def parse_parameters(source: str) -> dict[str, Param]:
    """Declared parameters of a parameters-cell source (annotated literal assignments with comments)."""
    comments = {tok.start[0]: tok.string.lstrip("#").strip()
                for tok in tokenize.generate_tokens(io.StringIO(source).readline) if tok.type == tokenize.COMMENT}
    params = {}
    for node in ast.parse(source).body:
        if not isinstance(node, ast.AnnAssign) or not isinstance(node.target, ast.Name) or node.value is None:
            raise ValueError(f"parameters cell line {node.lineno}: only `name: type = literal  # 标签：说明` is allowed")
        name, default = node.target.id, ast.literal_eval(node.value)
        kind, choices = _annotation(node.annotation)
        label, help_text, lo, hi = _comment(comments.get(node.lineno, ""))
        param = Param(name, kind, default, label or name, help_text, choices, lo, hi)
        param = Param(**{**param.__dict__, "default": coerce(param, default)})
        params[name] = param
    return params


def _annotation(node: ast.expr) -> tuple[str, tuple]:
    if isinstance(node, ast.Name) and node.id in ("int", "float", "str", "bool", "date"):
        return node.id, ()
    if isinstance(node, ast.Name) and node.id == DataSource.__name__:
        return "source", ()
    if isinstance(node, ast.Name) and node.id == UploadFile.__name__:
        return "file", ()
    if isinstance(node, ast.Subscript) and getattr(node.value, "id", None) == "Literal":
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        return "choice", tuple(ast.literal_eval(i) for i in items)
    raise ValueError(f"unsupported parameter type {ast.unparse(node)!r}")


def _comment(text: str) -> tuple[str, str, float | None, float | None]:
    lo = hi = None
    if m := _BOUNDS.search(text):
        lo, hi, text = float(m.group(1)), float(m.group(2)), text[: m.start()].strip()
    label, _, help_text = text.replace(":", "：", 1).partition("：")
    return label.strip(), help_text.strip(), lo, hi


def _read_header(nb: dict) -> tuple[str, str, str]:
    """Title, one-line purpose and the 适用角色 text from the first markdown cell."""
    first = nb["cells"][0]
    text = "".join(first["source"]) if isinstance(first["source"], list) else first["source"]
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    title = re.sub(r"\s*\([a-z_]+\)\s*$", "", lines[0].lstrip("# ").strip()) if lines else ""
    purpose = lines[1] if len(lines) > 1 else ""
    roles = next((ln.split("：", 1)[-1].strip() for ln in lines if "适用角色" in ln), "")
    return title, purpose, roles.strip("* ")


@lru_cache(maxsize=64)
def _load_cached(path: str, mtime: float) -> Spec:
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    title, purpose, roles = _read_header(nb)
    return Spec(Path(path).stem, Path(path), title, purpose, parse_roles(Path(path).stem, roles),
                parse_parameters(parameters_cell(nb)))


def parse_roles(playbook: str, text: str) -> tuple[str, ...]:
    """The role ids of a 适用角色 line (「运营、主管」); ParamError naming any that is not a role."""
    names = [n for n in re.split(r"[、/，,;；\s]+", text) if n]
    unknown = [n for n in names if n not in ROLES]
    if unknown or not names:
        raise ParamError(f"剧本 {playbook} 的适用角色 {'、'.join(unknown) or '（未填写）'} 不是系统角色："
                         f"第一格写「- **适用角色**：运营、主管」，可选 {'、'.join(ROLES)}")
    return tuple(names)


NAME = re.compile(r"[a-z][a-z0-9_]*")


def playbook_name(text: str) -> str:
    """A playbook name as people give it (CLI, job files, forms, reruns): a name of a notebook in playbooks/, never
    a path; ParamError in Chinese otherwise."""
    if not isinstance(text, str) or not NAME.fullmatch(text):
        known = ", ".join(available()) or "（无）"
        raise ParamError(f"剧本名称 {text!r} 不对：应是 playbooks/ 中某个剧本的名字（小写字母开头，只含小写字母、数字和下划线），"
                         f"可用：{known}")
    return text


def load(playbook: str | Path) -> Spec:
    """The spec of a playbook by name, or of a notebook given as a Path (Python callers: tests, benchmarks);
    ParamError if there is no such playbook."""
    path = playbook if isinstance(playbook, Path) else paths.playbooks() / f"{playbook_name(playbook)}.ipynb"
    if not path.is_file():
        known = ", ".join(available()) or "（无）"
        raise ParamError(f"没有名为 {playbook} 的剧本（可用：{known}）")
    return _load_cached(str(path.resolve()), path.stat().st_mtime)


def available() -> list[str]:
    """Names of all playbooks."""
    return sorted(p.stem for p in paths.playbooks().glob("*.ipynb") if not p.name.startswith("."))
