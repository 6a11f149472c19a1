"""Jobs: `params/<job>.yaml` files naming a playbook, its schedule, parameters, retries, alerts and deliveries."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from croniter import CroniterBadDateError, croniter

from .. import paths, spec as spec_mod
from ..errors import ParamError
from ..settings import TZ
from . import notify as notify_mod, tasks as tasks_mod
CATCH_UP = {"latest": "补跑最近错过的一次", "skip": "跳过错过的时间点"}


class _Loader(yaml.SafeLoader):
    """SafeLoader that leaves dates as text, so the spec validates them (with a Chinese message)."""


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}

MAX_BYTES = 64 * 1024  # a job file is a few lines; anything near this size is not one
KEYS = {"playbook", "schedule", "parameters", "timeout", "retries", "retry_delay", "catch_up", "notify", "description",
        "deliver", "follow_up", "shop"}  # shop: a shop of shops.yaml instead of parameters.source (recorded with each run)

# relative dates, resolved against the date of the scheduled slot (Asia/Shanghai) and recorded as literal dates
RELATIVE_DATES = {
    "today": lambda d: d,
    "yesterday": lambda d: d - dt.timedelta(days=1),
    "this_week_start": lambda d: d - dt.timedelta(days=d.weekday()),
    "last_week_start": lambda d: d - dt.timedelta(days=d.weekday() + 7),
    "last_week_end": lambda d: d - dt.timedelta(days=d.weekday() + 1),
    "this_month_start": lambda d: d.replace(day=1),
    "last_month_start": lambda d: (d.replace(day=1) - dt.timedelta(days=1)).replace(day=1),
    "last_month_end": lambda d: d.replace(day=1) - dt.timedelta(days=1),
}
ALIASES = {"今天": "today", "昨天": "yesterday", "本周一": "this_week_start", "上周一": "last_week_start",
           "上周日": "last_week_end", "本月初": "this_month_start", "上月初": "last_month_start",
           "上月末": "last_month_end"}
_RELATIVE = re.compile(r"^@(?P<name>[a-z_]+|[\u4e00-\u9fff]+)(?:(?P<sign>[+-])(?P<days>\d+)d)?$")


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
    retries: int = 2
    retry_delay: float = 60.0
    catch_up: str = "latest"
    deliver: tuple = ()  # where each good run's report card goes (same targets as `notify`)
    follow_up: dict = field(default_factory=dict)  # flag code or severity → hours to follow up (see ops/tasks.py)

    @property
    def notebook(self) -> str | Path:
        """What the runner runs: the playbook's name (job files name playbooks only), or a notebook path that a
        Python caller (a test) gave as `….ipynb`."""
        return Path(self.playbook) if self.playbook.endswith(".ipynb") else self.playbook

    def parameters_on(self, day: dt.date) -> dict:
        """The parameters with relative dates (`@yesterday`, `@last_month_end-3d` …) resolved for `day`."""
        return {k: resolve_date(v, day) for k, v in self.parameters.items()}

    def slots(self, after: dt.datetime, until: dt.datetime) -> list[dt.datetime]:
        """Scheduled fire times in (after, until], Asia/Shanghai."""
        found, slot = [], after
        while self.schedule and (slot := next_fire(self.schedule, slot)) is not None and slot <= until:
            found.append(slot)
        return found

    def next_slot(self, now: dt.datetime) -> dt.datetime | None:
        """The next fire time after `now`, or None for a manual job (or one whose cron never fires)."""
        return next_fire(self.schedule, now) if self.schedule else None


def resolve_date(value, day: dt.date):
    """A relative date such as `@yesterday`, `@昨天` or `@today-7d` as an ISO date for `day`; other values unchanged."""
    if not isinstance(value, str) or not value.startswith("@"):
        return value
    m = _RELATIVE.match(value.strip())
    name = m and ALIASES.get(m["name"], m["name"])
    if not m or name not in RELATIVE_DATES:
        choices = "、".join(f"@{n}" for n in RELATIVE_DATES) + "（或 " + "、".join(f"@{a}" for a in ALIASES) + "）"
        raise ParamError(f"无法识别的相对日期 {value!r}：可用 {choices}，可加 -7d / +1d 这样的天数偏移")
    offset = int(m["days"] or 0) * (-1 if m["sign"] == "-" else 1)
    return (RELATIVE_DATES[name](day) + dt.timedelta(days=offset)).isoformat()


def _schedule_problems(name: str, data: dict) -> list[str]:
    """Chinese problems with the schedule, timeout, retries, catch-up and notify keys of a job file."""
    problems = []
    schedule = data.get("schedule")
    if schedule is not None and (not isinstance(schedule, str) or len(schedule.split()) != 5
                                 or not croniter.is_valid(schedule)):
        problems.append(f"{name}：schedule {schedule!r} 不是有效的 5 段 cron 表达式（分 时 日 月 周，如 \"0 8 * * *\" 表示每天 8:00，北京时间）")
    elif schedule is not None and next_fire(schedule, dt.datetime.now(TZ)) is None:
        problems.append(f"{name}：schedule {schedule!r} 永远不会触发（例如 2 月 31 日）：请检查日期和月份")
    for key, low in (("timeout", 1), ("retries", 0), ("retry_delay", 0)):
        value = data.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < low):
            problems.append(f"{name}：{key} 应为不小于 {low} 的数字（秒/次数），而不是 {value!r}")
    if data.get("retries") is not None and isinstance(data["retries"], float):
        problems.append(f"{name}：retries 应为整数")
    if not isinstance(data.get("catch_up", "latest"), str) or data.get("catch_up", "latest") not in CATCH_UP:
        problems.append(f"{name}：catch_up 应为 " + " 或 ".join(f"{k}（{v}）" for k, v in CATCH_UP.items()))
    notify = data.get("notify") or []
    if not isinstance(notify, list) or not all(isinstance(t, str) for t in notify):
        problems.append(f"{name}：notify 应为列表，如 [dingtalk, email:ops@example.com]")
    else:
        problems += [f"{name}：{p}" for p in notify_mod.problems(notify)]
    return problems + _deliver_problems(name, data.get("deliver"))


def _deliver_problems(name: str, deliver) -> list[str]:
    """Chinese problems with the `deliver:` list of a job file (the same targets as `notify:`)."""
    if deliver is None:
        return []
    if not isinstance(deliver, list) or not all(isinstance(t, str) for t in deliver):
        return [f"{name}：deliver（报告送达）应为列表，如 [dingtalk, feishu, wecom, \"email:ops@example.com\"]，"
                f"而不是 {deliver!r}"]
    return [f"{name}：deliver（报告送达）：{p}" for p in notify_mod.problems(deliver)]


def next_fire(schedule: str, after: dt.datetime) -> dt.datetime | None:
    """The next time a 5-field cron fires after `after` (Asia/Shanghai), None if it never does (e.g. 31 February)."""
    try:
        return croniter(schedule, after.astimezone(TZ)).get_next(dt.datetime)
    except (CroniterBadDateError, ValueError, KeyError):
        return None


def read_yaml(path: Path) -> dict:
    """A YAML mapping, or ParamError in Chinese naming the file (also when it is too big or uses aliases, which
    a job file never needs and a hostile one uses to expand a few bytes into gigabytes)."""
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ParamError(f"参数文件 {path} 太大（{path.stat().st_size:,} 字节，上限 {MAX_BYTES:,}）：任务文件只需几行")
        text = path.read_text(encoding="utf-8")
        if any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text, Loader=_Loader)):
            raise ParamError(f"参数文件 {path} 使用了 YAML 别名（*名称）：任务文件中请直接写出每个值")
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader
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
    problems += _schedule_problems(path.name, data)
    problems += tasks_mod.follow_up_problems(path.name, data.get("follow_up"))
    if "shop" in data:  # the job's shop, as if given among its parameters (the spec resolves and checks it)
        if spec_mod.SHOP in params and params[spec_mod.SHOP] != data["shop"]:
            problems.append(f"{path.name}：shop 与 parameters.shop 不一致，只写一处")
        params = {**params, spec_mod.SHOP: data["shop"]}
    if "playbook" in data:  # a name (never a path), then the parameters against its spec
        try:
            today = dt.datetime.now(TZ).date()
            spec_mod.load(data["playbook"]).validate({k: resolve_date(v, today) for k, v in params.items()})
        except ParamError as exc:
            problems += [f"{path.name}：{p}" for p in exc.problems]
    if problems:
        raise ParamError(problems, headline=f"任务文件 {path} 有误")
    return Job(path.stem, str(data["playbook"]), params, data.get("schedule"), data.get("timeout"),
               tuple(data.get("notify") or ()), data.get("description", ""), int(data.get("retries", 2)),
               float(data.get("retry_delay", 60)), data.get("catch_up", "latest"), tuple(data.get("deliver") or ()),
               dict(data.get("follow_up") or {}))


def load_all(folder: Path | None = None) -> tuple[list[Job], list[str]]:
    """The good jobs in params/ and the problems of the bad files: one bad file never stops the others."""
    jobs, problems = [], []
    for path in sorted((folder or paths.params()).glob("*.y*ml")):
        try:
            jobs.append(load(path))
        except ParamError as exc:
            problems += exc.problems
    return jobs, problems


def all_jobs(folder: Path | None = None) -> list[Job]:
    """Every job in params/, checked; ParamError lists the problems of all files together."""
    jobs, problems = load_all(folder)
    if problems:
        raise ParamError(problems, headline="params/ 中的任务文件有误")
    return jobs


def parameters_from_file(path: str | Path) -> dict:
    """Parameters from a `--params-file`: a job file's `parameters`, or a plain mapping."""
    data = read_yaml(Path(path))
    if "playbook" in data or "parameters" in data:
        return dict(data.get("parameters") or {})
    return data
