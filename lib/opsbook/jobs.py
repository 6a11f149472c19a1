"""Jobs: `params/<job>.yaml` files naming a playbook, its schedule and its parameters."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import paths, spec as spec_mod
from .errors import ParamError



class _Loader(yaml.SafeLoader):
    """SafeLoader that leaves dates as text, so the spec validates them (with a Chinese message)."""


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}

KEYS = {"playbook", "schedule", "parameters", "timeout", "notify", "description"}


@dataclass(frozen=True)
class Job:
    """One scheduled job as declared in params/."""

    name: str
    playbook: str
    parameters: dict = field(default_factory=dict)
    schedule: str | None = None
    timeout: float | None = None
    notify: tuple = ()
    description: str = ""


def read_yaml(path: Path) -> dict:
    """A YAML mapping, or ParamError in Chinese naming the file."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 - a SafeLoader
    except FileNotFoundError:
        raise ParamError(f"找不到参数文件 {path}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ParamError(f"参数文件 {path} 不是有效的 YAML（UTF-8）：{str(exc).splitlines()[0]}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ParamError(f"参数文件 {path} 的顶层应为“键: 值”映射")
    return data


def load(path: str | Path) -> Job:
    """Read and check one job file against its playbook's spec (every problem at once)."""
    path = Path(path)
    data = read_yaml(path)
    problems = [f"{path.name}：未知的键 {k}（可用：{', '.join(sorted(KEYS))}）" for k in data if k not in KEYS]
    if "playbook" not in data:
        problems.append(f"{path.name}：缺少 playbook（剧本名称，如 user_tiering）")
    params = data.get("parameters") or {}
    if not isinstance(params, dict):
        problems.append(f"{path.name}：parameters 应为“参数名: 值”映射")
        params = {}
    if "playbook" in data:
        try:
            spec_mod.load(str(data["playbook"])).validate(params)
        except ParamError as exc:
            problems += [f"{path.name}：{p}" for p in exc.problems]
    if problems:
        raise ParamError(problems, headline=f"任务文件 {path} 有误")
    notify = data.get("notify") or ()
    return Job(path.stem, str(data["playbook"]), params, data.get("schedule"), data.get("timeout"),
               tuple(notify) if isinstance(notify, list) else (notify,), data.get("description", ""))


def all_jobs(folder: Path | None = None) -> list[Job]:
    """Every job in params/, checked; ParamError lists the problems of all files together."""
    jobs, problems = [], []
    for path in sorted((folder or paths.root() / "params").glob("*.y*ml")):
        try:
            jobs.append(load(path))
        except ParamError as exc:
            problems += exc.problems
    if problems:
        raise ParamError(problems, headline="params/ 中的任务文件有误")
    return jobs


def parameters_from_file(path: str | Path) -> dict:
    """Parameters from a `--params-file`: a job file's `parameters`, or a plain mapping."""
    data = read_yaml(Path(path))
    if "playbook" in data or "parameters" in data:
        return dict(data.get("parameters") or {})
    return data
