"""Promotion timeline (大促排期): the plan of one big promotion (`plan_tasks`) as of a day, drawn as a Gantt chart —
done, in progress, past its buffer's warning line (a 10 % buffer: a 30-day task warns on its day 27), overdue — with
each role's on-time record over every plan; for a promotion without a plan yet, the plan its milestone template
(`data/reference/milestones.yaml`) makes from the promotion's days in the calendar (`promotions.yaml`, read through
`calendar`), to fill in and import as 大促排期表.

Promotions are named by year and calendar name: 「2026年双11」, also written 2026双11 or 双11 2026 (one plan). A name
without a year means its occurrence running on the reference day or the next one."""
from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .. import charts
from ..data import tables
from ..errors import DataError, ParamError
from ..flags import Flag, make
from ..settings import ROLES
from ..sources import Source
from . import calendar, reference

TEMPLATE_FILE = Path("data") / "reference" / "milestones.yaml"
DEFAULT_TEMPLATE = "默认"
HORIZON_DAYS = 400  # an empty promotion parameter looks this far ahead in the calendar for the next big promotion

# a task's state on the reference day (a template's rows have the last two)
DONE, DONE_LATE, OVERDUE, AT_RISK, RUNNING, WAITING = "已完成", "逾期完成", "逾期未完成", "预警", "进行中", "未开始"
DRAFT, DRAFT_PAST = "模板（待导入）", "模板：开始日期已过"
COLOURS = {OVERDUE: "#c0392b", AT_RISK: "#f39c12", RUNNING: "#2980b9", WAITING: "#aed6f1", DONE: "#27ae60",
           DONE_LATE: "#95a5a6", DRAFT: "#aed6f1", DRAFT_PAST: "#f39c12"}
ORDER = {s: i for i, s in enumerate(COLOURS)}

METRICS = {"promotion": "大促", "promo_start": "大促开始", "promo_end": "大促结束", "days_to_start": "距大促开始（天）",
           "tasks": "任务数", "done": "已完成", "done_late": "其中逾期完成", "running": "进行中", "at_risk": "预警",
           "overdue": "逾期未完成", "waiting": "未开始", "from_template": "按模板生成（未导入）"}
LABELS = {
    "promotion": "大促名称", "task_id": "任务编号", "task": "任务", "owner_role": "负责角色", "start_date": "开始日期",
    "planned_end": "计划完成日期", "done_date": "实际完成日期", "milestone": "里程碑", "duration": "工期（天）",
    "warn_date": "预警日期", "status": "状态", "day": "进行到第几天", "days_left": "剩余天数", "days_overdue": "逾期天数",
    "days_late": "完成时超期天数", "role": "负责角色", "promotions": "大促数", "due": "已到期任务",
    "on_time": "按期完成", "late_done": "逾期完成", "overdue_open": "逾期未完成", "on_time_rate": "按期完成率",
    "mean_days_late": "平均超期天数",
}
PLAN_COLUMNS = list(tables.SCHEMAS["plan_tasks"])
NOTE = ("工期 = 计划完成日期 − 开始日期 + 1 天（两头都算）；预警日期 = 开始日期 + ⌈工期 × (1 − 缓冲比例)⌉ − 1 天，即已用工期"
        "达到 1 − 缓冲比例的那一天（缓冲 10%：30 天的任务第 27 天预警，10 天的第 9 天）；到了预警日期仍未完成为「预警」，"
        "过了计划完成日期仍未完成为「逾期未完成」，逾期天数算到参考日期；实际完成日期晚于参考日期的，按参考日期时未完成计。"
        "下载本表（Excel）填写实际完成日期后可直接导入（数据导入 → 大促排期表），状态等其余列导入时不读")


# -- promotions: names, the calendar, the plans -----------------------------------------------------------------

def parse(name: str) -> tuple[int | None, str]:
    """(year, calendar name) of a promotion's name: 「2026年双11」, 2026双11 and 双11 2026 are (2026, 双11)."""
    text = str(name).strip()
    found = re.search(r"(?<!\d)(20\d{2})\s*年?", text)
    if found is None:
        return None, re.sub(r"\s+", "", text)
    rest = text[:found.start()] + text[found.end():]
    return int(found.group(1)), re.sub(r"\s+", "", rest)


def label(year: int, name: str) -> str:
    """The name a plan is filed under: 2026年双11."""
    return f"{year}年{name}"


def plans(src: Source) -> pd.DataFrame:
    """Every plan's tasks (plan_tasks, checked); none when the source has no plan_tasks table yet."""
    if not src.has("plan_tasks"):
        return tables.validate("plan_tasks", pd.DataFrame({c: pd.Series(dtype="object") for c in PLAN_COLUMNS}))
    return src.table("plan_tasks")


def occurrence(name: str, year: int | None, as_of: dt.date) -> calendar.Promotion | None:
    """The calendar's 大促 `name` starting in `year`, or without a year the one running on `as_of` or next after it."""
    if year is not None:
        found = [p for p in calendar.promotions(dt.date(year, 1, 1), dt.date(year, 12, 31))
                 if p.name == name and p.start.year == year]
    else:
        found = [p for p in calendar.promotions(as_of, as_of + dt.timedelta(days=HORIZON_DAYS))
                 if p.name == name and p.end >= as_of]
    return found[0] if found else None


def calendar_names(as_of: dt.date) -> list[str]:
    """The names of the calendar's 大促 in the year before `as_of` and the horizon after it."""
    return sorted({p.name for p in calendar.promotions(as_of - dt.timedelta(days=366),
                                                       as_of + dt.timedelta(days=HORIZON_DAYS))})


@dataclass
class Choice:
    """The promotion a run looks at: its name, its days in the calendar (None when the calendar lacks it), its tasks,
    and the template they were made from when the plan has none yet."""

    label: str
    promotion: calendar.Promotion | None
    tasks: pd.DataFrame
    template: str | None = None

    @property
    def from_template(self) -> bool:
        """Whether the tasks are the template's (no plan imported yet)."""
        return self.template is not None

    def describe(self) -> str:
        """「2026年双11」（2026-10-15 至 2026-11-11）, in Chinese."""
        days = (f"（{self.promotion.start} 至 {self.promotion.end}）" if self.promotion
                else f"（大促日历 {calendar.FILE} 中没有它的日期）")
        return f"「{self.label}」{days}"


def choose(all_tasks: pd.DataFrame, name: str, as_of: dt.date) -> Choice:
    """The promotion named `name` (empty: the calendar's next 大促 running on or after `as_of`), with its plan's tasks
    or, without any, the plan its milestone template makes; ParamError (Chinese) for a name neither the plans nor
    the calendar know."""
    name = (name or "").strip()
    if name:
        year, base = parse(name)
        if year and base not in calendar_names(as_of) and "年" + base in calendar_names(as_of):
            base = "年" + base  # 2027年货节: the 年 after the year was the name's own
        promo = occurrence(base, year, as_of)
    else:
        coming = [p for p in calendar.promotions(as_of, as_of + dt.timedelta(days=HORIZON_DAYS)) if p.end >= as_of]
        if not coming:
            raise ParamError(f"大促日历 {calendar.FILE} 中参考日期 {as_of} 之后 {HORIZON_DAYS} 天内没有大促："
                             "请在“大促”中填写排期表里的大促名称")
        promo = coming[0]
        year, base = promo.start.year, promo.name
    named = all_tasks["promotion"].astype("str")
    keys = named.map(parse)
    want = promo.start.year if promo else year
    # 「2027年货节」 reads as year 2027 and 货节: the year took the 年 of 年货节 (as the import files it)
    tasks = all_tasks[(named == name) | keys.map(lambda k: base in (k[1], "年" + k[1]) and k[0] == want)]
    if len(tasks):
        return Choice(str(tasks["promotion"].iloc[0]), promo, tasks.reset_index(drop=True))
    if promo is None:
        known = sorted(named.unique())
        raise ParamError([f"找不到大促「{name}」：排期表中没有这个大促，大促日历 {calendar.FILE} 中也没有"
                          + (f" {year} 年的「{base}」" if year else f"「{base}」"),
                          f"排期表中的大促：{'、'.join(known) or '（还没有导入排期）'}；日历中的大促："
                          f"{'、'.join(calendar_names(as_of)) or '（无）'}（可加年份，如 2026年双11）"])
    used, items = template(promo.name)
    return Choice(label(promo.start.year, promo.name), promo, expand(items, promo, label(promo.start.year, promo.name)),
                  used)


# -- the milestone template -----------------------------------------------------------------------------------------

_OFFSET = re.compile(r"^\s*([TtEe])\s*(?:([+-])\s*(\d+))?\s*$")


def offset(text, promo: calendar.Promotion) -> dt.date:
    """The day an offset names: T-15 is 15 days before the promotion's first day, E+3 3 days after its last; a plain
    number counts from the first day. ValueError for anything else."""
    if isinstance(text, int) and not isinstance(text, bool):
        return promo.start + dt.timedelta(days=text)
    found = _OFFSET.match(str(text))
    if found is None:
        raise ValueError(text)
    anchor, sign, days = found.groups()
    shift = int(days or 0) * (-1 if sign == "-" else 1)
    return (promo.start if anchor in "Tt" else promo.end) + dt.timedelta(days=shift)


def template(name: str) -> tuple[str, list[dict]]:
    """The milestone template of the calendar's promotion `name` (else 默认) and its items, checked (DataError in
    Chinese naming every problem)."""
    where = f"大促里程碑模板 {TEMPLATE_FILE}"
    data = reference.read(TEMPLATE_FILE, "大促里程碑模板")
    if not isinstance(data, dict):
        raise DataError(f"{where} 应为“大促名称: 任务列表”映射（见文件开头的说明）")
    used = name if name in data else DEFAULT_TEMPLATE
    items = data.get(used)
    if not isinstance(items, list) or not items:
        raise DataError(f"{where} 中没有「{name}」的模板，也没有「{DEFAULT_TEMPLATE}」模板：请在其中添加")
    problems, seen = [], set()
    probe = calendar.Promotion("probe", dt.date(2000, 1, 1), dt.date(2000, 1, 1))
    for i, item in enumerate(items, 1):
        what = f"{where} 中「{used}」第 {i} 项"
        if not isinstance(item, dict) or not str(item.get("task") or "").strip():
            problems.append(f"{what} 应写成 {{task: 任务, owner: 角色, start: T-15, end: T-6, milestone: 里程碑}}")
            continue
        what += f"（{item['task']}）"
        if item["task"] in seen:
            problems.append(f"{what} 与前面的任务重名")
        seen.add(item["task"])
        if item.get("owner") not in ROLES:
            problems.append(f"{what} 的负责角色 {item.get('owner')!r} 不对：只能是 {'、'.join(ROLES)}")
        for side in ("start", "end"):
            try:
                offset(item.get(side), probe)
            except ValueError:
                problems.append(f"{what} 的 {side} {item.get(side)!r} 不对：写成 T-15（大促第一天前 15 天）、T+0、"
                                "E+3（大促最后一天后 3 天）")
    if problems:
        raise DataError(problems)
    return used, items


def expand(items: list[dict], promo: calendar.Promotion, name: str) -> pd.DataFrame:
    """A plan (plan_tasks rows, none done) from template items and the promotion's days: task ids 01, 02 …; DataError
    when an item would end before it starts (the table's own rule)."""
    rows = [{"promotion": name, "task_id": f"{i:02d}", "task": str(item["task"]).strip(), "owner_role": item["owner"],
             "start_date": offset(item["start"], promo), "planned_end": offset(item["end"], promo),
             "done_date": None, "milestone": item.get("milestone")} for i, item in enumerate(items, 1)]
    frame = pd.DataFrame(rows, columns=PLAN_COLUMNS)
    backwards = frame[frame["planned_end"] < frame["start_date"]]
    if len(backwards):
        raise DataError([f"大促里程碑模板 {TEMPLATE_FILE} 中「{r.task}」的计划完成日（{r.planned_end}）早于开始日"
                         f"（{r.start_date}）：请改正它的 start / end" for r in backwards.itertuples()])
    return tables.validate("plan_tasks", frame)


# -- where each task stands ---------------------------------------------------------------------------------------

def warning_day(duration: pd.Series, buffer: float) -> pd.Series:
    """The day of a task (1 = its start) from which it warns unless done: ⌈duration × (1 − buffer)⌉, computed as
    duration − ⌊duration × buffer⌋ in whole days (30 days, 10 % → day 27), never before day 1."""
    kept = (duration * buffer).round(9).map(math.floor)
    return (duration - kept).clip(lower=1).astype("int64")


def status(tasks: pd.DataFrame, as_of: dt.date, buffer: float, draft: bool = False) -> pd.DataFrame:
    """Each task as of the end of `as_of`: its duration (days, both ends counted), warning day and date, state
    (已完成 / 逾期完成 / 逾期未完成 / 预警 / 进行中 / 未开始; a template's rows are 模板 rows), day of the task, days left,
    days overdue, days finished late; a completion recorded after `as_of` is not known on it."""
    day0 = pd.Timestamp(as_of)
    out = tasks.copy()
    start, end = pd.to_datetime(out["start_date"]), pd.to_datetime(out["planned_end"])
    done = pd.to_datetime(out["done_date"])
    done = done.where(done <= day0)
    out["duration"] = (end - start).dt.days.astype("int64") + 1
    warn = warning_day(out["duration"], buffer)
    out["warn_date"] = start + pd.to_timedelta(warn - 1, unit="D")
    if draft:
        state = pd.Series(DRAFT, index=out.index).mask(start <= day0, DRAFT_PAST)
    else:
        state = pd.Series(RUNNING, index=out.index)
        state = state.mask(day0 >= out["warn_date"], AT_RISK).mask(day0 > end, OVERDUE).mask(day0 < start, WAITING)
        state = state.mask(done.notna(), DONE).mask(done.notna() & (done > end), DONE_LATE)
    out["status"] = state
    running = state.isin([RUNNING, AT_RISK])
    out["day"] = ((day0 - start).dt.days + 1).where(running).astype("Int64")
    out["days_left"] = (end - day0).dt.days.where(running | state.eq(WAITING)).astype("Int64")
    out["days_overdue"] = (day0 - end).dt.days.where(state.eq(OVERDUE)).astype("Int64")
    out["days_late"] = (done - end).dt.days.where(state.eq(DONE_LATE)).astype("Int64")
    return out.sort_values(["start_date", "planned_end", "task_id"], kind="stable").reset_index(drop=True)


def table(st: pd.DataFrame) -> pd.DataFrame:
    """The plan as staff read and re-import it: the plan_tasks columns first (the import's headers), then where each
    task stands."""
    return st[PLAN_COLUMNS + ["duration", "warn_date", "status", "day", "days_left", "days_overdue", "days_late"]]


def attention(st: pd.DataFrame) -> pd.DataFrame:
    """The overdue tasks, then those past their warning day, most urgent first."""
    rows = st[st["status"].isin([OVERDUE, AT_RISK])]
    rows = rows.assign(order_=rows["status"].map(ORDER)).sort_values(["order_", "planned_end", "task_id"])
    return rows[["task_id", "task", "owner_role", "start_date", "planned_end", "duration", "warn_date", "status", "day",
                 "days_left", "days_overdue"]].reset_index(drop=True)


def note(st: pd.DataFrame, choice: Choice, as_of: dt.date) -> str:
    """What the plan table shows, with the template's instructions when the plan is the template's."""
    if choice.from_template:
        past = int(st["status"].eq(DRAFT_PAST).sum())
        return (f"{choice.describe()} 还没有导入排期：上表由里程碑模板「{choice.template}」（{TEMPLATE_FILE}）按大促日期生成，"
                "请下载 Excel，核对任务和负责角色、调整日期后导入（数据导入 → 大促排期表）"
                + (f"；其中 {past} 项的开始日期已不晚于参考日期 {as_of}，请压缩工期或改期" if past else "") + "\n" + NOTE)
    later = int((pd.to_datetime(choice.tasks["done_date"]) > pd.Timestamp(as_of)).sum())
    return ((f"{later} 项任务的实际完成日期晚于参考日期 {as_of}，按参考日期时未完成计。\n" if later else "")
            + ("" if choice.promotion else f"大促日历 {calendar.FILE} 中没有「{choice.label}」的日期，图中不标大促期。\n")
            + NOTE)


def summary(st: pd.DataFrame, choice: Choice, as_of: dt.date) -> tuple[dict, dict[str, str]]:
    """Headline metrics (result.json) and cards: the promotion and its days, tasks by state."""
    count = st["status"].value_counts()
    n = {s: int(count.get(s, 0)) for s in COLOURS}
    promo = choice.promotion
    metrics = {"promotion": choice.label, "promo_start": promo.start.isoformat() if promo else None,
               "promo_end": promo.end.isoformat() if promo else None,
               "days_to_start": (promo.start - as_of).days if promo else None, "tasks": int(len(st)),
               "done": n[DONE] + n[DONE_LATE], "done_late": n[DONE_LATE], "running": n[RUNNING], "at_risk": n[AT_RISK],
               "overdue": n[OVERDUE], "waiting": n[WAITING], "from_template": choice.from_template}
    if promo is None:
        when = "日历中无日期"
    elif as_of < promo.start:
        when = f"还有 {(promo.start - as_of).days} 天开始"
    elif as_of <= promo.end:
        when = f"进行中（第 {(as_of - promo.start).days + 1} 天）"
    else:
        when = f"已结束 {(as_of - promo.end).days} 天"
    cards = {"大促": choice.label, "大促日期": f"{promo.start} 至 {promo.end}" if promo else "—", "距大促": when}
    if choice.from_template:
        cards |= {"排期": f"未导入：模板生成 {len(st)} 项任务"}
    else:
        cards |= {"任务": f"{len(st)}", "已完成": f"{metrics['done']}（逾期完成 {n[DONE_LATE]}）",
                  "进行中": f"{n[RUNNING]}", "预警": f"{n[AT_RISK]}", "逾期未完成": f"{n[OVERDUE]}", "未开始": f"{n[WAITING]}"}
    return metrics, cards


def gantt(st: pd.DataFrame, choice: Choice, as_of: dt.date, buffer: float):
    """The Gantt chart of the plan: bars coloured by state, the promotion's days shaded, each unfinished bar's warning
    day ticked, the reference day as a red dashed line."""
    rows = st.assign(name=st["task"] + "（" + st["owner_role"] + "）", colour=st["status"].map(COLOURS),
                     mark=st["warn_date"].where(~st["status"].isin([DONE, DONE_LATE])))
    present = [s for s in COLOURS if s in set(rows["status"])]
    legend = {COLOURS[s]: s for s in present}
    spans = [(choice.promotion.start, choice.promotion.end, "大促期")] if choice.promotion else []
    title = f"{choice.label} 排期甘特图" + ("（模板生成，尚未导入）" if choice.from_template else "")
    return charts.gantt(rows, "name", "start_date", "planned_end", "colour", title, today=as_of, spans=spans,
                        marks="mark", legend=legend, mark_label=f"预警线（缓冲 {buffer * 100:g}%）")


def history(all_tasks: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Each owner role's record over every plan's tasks due by `as_of` (planned end on or before it): done on time,
    done late, still open (overdue), the on-time rate and the mean days late (an open task counted to `as_of`)."""
    day0 = pd.Timestamp(as_of)
    due = all_tasks[pd.to_datetime(all_tasks["planned_end"]) <= day0]
    cols = ["role", "promotions", "due", "on_time", "late_done", "overdue_open", "on_time_rate", "mean_days_late"]
    if due.empty:
        return pd.DataFrame(columns=cols)
    end, done = pd.to_datetime(due["planned_end"]), pd.to_datetime(due["done_date"])
    done = done.where(done <= day0)
    late_by = (done.fillna(day0) - end).dt.days
    frame = pd.DataFrame({"role": due["owner_role"], "promotion": due["promotion"],
                          "on_time": done.notna() & (done <= end), "late_done": done.notna() & (done > end),
                          "overdue_open": done.isna(), "late_by": late_by.where(late_by > 0)})
    out = frame.groupby("role").agg(promotions=("promotion", "nunique"), due=("promotion", "size"),
                                    on_time=("on_time", "sum"), late_done=("late_done", "sum"),
                                    overdue_open=("overdue_open", "sum"), mean_days_late=("late_by", "mean"))
    out = out.astype({c: "int64" for c in ("promotions", "due", "on_time", "late_done", "overdue_open")})
    out["on_time_rate"] = out["on_time"] / out["due"]
    out["mean_days_late"] = out["mean_days_late"].round(1)
    out = out.reset_index()
    out = out.assign(order_=out["role"].map({r: i for i, r in enumerate(ROLES)})).sort_values("order_")
    return out[cols].reset_index(drop=True)


def history_note(all_tasks: pd.DataFrame, as_of: dt.date) -> str:
    """What the role table counts."""
    if all_tasks.empty:
        return "还没有导入任何大促排期"
    return (f"所有已导入排期中计划完成日期不晚于参考日期 {as_of} 的任务（{all_tasks['promotion'].nunique()} 个大促）："
            "按期完成 = 实际完成日期不晚于计划完成日期；平均超期天数只算超期的任务（未完成的算到参考日期）")


# -- flags --------------------------------------------------------------------------------------------------------

def _owners(rows: pd.DataFrame) -> str:
    """主管 and the tasks' owner roles, in the order of the roles."""
    roles = set(rows["owner_role"]) | {"主管"}
    return "、".join(r for r in ROLES if r in roles)


def findings(st: pd.DataFrame, choice: Choice, as_of: dt.date, buffer: float, plan_ahead_days: int) -> list[Flag]:
    """Flags for 主管 and the tasks' owners: tasks past their planned end and not done (high), tasks past their warning
    day (medium); for a promotion without a plan, the template's plan to import (运营、主管: medium once its first
    task starts within `plan_ahead_days`, low before)."""
    out = []
    if choice.from_template:
        first = pd.Timestamp(st["start_date"].min()).date()
        soon = (first - as_of).days <= plan_ahead_days
        out.append(make("promo.no_plan", "medium" if soon else "low", "运营、主管",
                        f"{choice.describe()} 还没有排期：已按里程碑模板「{choice.template}」生成 {len(st)} 项任务，"
                        f"第一项 {first} 开始" + ("" if first > as_of else "（已过）")
                        + "；请下载“排期”表，核对任务、负责角色和日期后导入（数据导入 → 大促排期表）",
                        table(st)[PLAN_COLUMNS]))
        return out
    late = st[st["status"] == OVERDUE].sort_values(["days_overdue", "task_id"], ascending=[False, True])
    cols = ["task_id", "task", "owner_role", "start_date", "planned_end", "days_overdue"]
    if len(late):
        out.append(make("promo.overdue", "high", _owners(late),
                        f"「{choice.label}」{len(late)} 项任务已过计划完成日期仍未完成：" + "、".join(
                            f"{r.task}（{r.owner_role}，计划 {r.planned_end:%m-%d} 完成，逾期 {r.days_overdue} 天）"
                            for r in late.head(8).itertuples())
                        + "；请负责人今天给出完成时间，主管评估对后续节点和大促的影响", late[cols]))
    risk = st[st["status"] == AT_RISK].sort_values(["planned_end", "task_id"])
    if len(risk):
        out.append(make("promo.at_risk", "medium", _owners(risk),
                        f"「{choice.label}」{len(risk)} 项任务已用去 {(1 - buffer) * 100:g}% 以上的工期仍未完成（缓冲 "
                        f"{buffer * 100:g}%）：" + "、".join(
                            f"{r.task}（{r.owner_role}，第 {r.day}/{r.duration} 天，计划 {r.planned_end:%m-%d} 完成）"
                            for r in risk.head(8).itertuples())
                        + "；请确认进度，必要时调配人手或调整后续节点",
                        risk[["task_id", "task", "owner_role", "start_date", "planned_end", "duration", "warn_date",
                              "day"]]))
    return out
