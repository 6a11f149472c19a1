"""SOP execution and pilots (SOP 执行与试点验证, seed 002): how the follow-up tasks opened by flags were executed, per
executor and per role (closed on time, late, not done, overdue and open) and what they achieved (did the flag come back
after the task was closed); a new SOP version's pilot group against its control group on the metric declared before
the pilot, with an honest test; and the versions of a playbook compared by a metric of their runs.

The tasks and the runs live above this layer (`ops/tasks.py`, `engine/records.py`): the notebook reads them through
`tasks.history_rows` and `records.summaries` and hands the plain rows in.

Pilots (`sop_pilots`): one metric per pilot, declared in the table before it started. A metric whose outcomes are all 0
or 1 is a rate (two-proportion z-test, statsmodels' `proportions_ztest`, with a Wald interval of the difference,
`confint_proportions_2indep`); any other is a number (Welch's t-test, scipy). The minimum sample per group is the one
that detects the minimum effect (a parameter: percentage points over the control's rate for a rate, standard deviations
— Cohen's d — for a number) with the wanted power (statsmodels' `NormalIndPower` / `TTestIndPower`); the power the
pilot's own groups reach for that effect is stated too. A pilot with a group under the minimum gets no verdict.
Units without an outcome yet are counted apart, never as failures.
"""
from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

from ..errors import DataError
from ..flags import Flag, make
from ..settings import TZ_NAME
from ..sources import Source

METRICS = {"tasks": "跟进任务数", "closed_on_time": "按时完成", "closed_late": "逾期完成", "dropped": "不处理",
           "overdue_open": "逾期未完成", "on_time_rate": ("按时完成率", "pct"),
           "no_recurrence_rate": ("完成后未复发比例", "pct"), "pilots": "试点数", "pilots_judged": "已下结论的试点",
           "version_runs": "版本对比运行数"}

LABELS = {
    "executor": "执行人", "role": "角色", "roles": "所属角色", "tasks": "任务数", "closed_on_time": "按时完成", "closed_late": "逾期完成",
    "dropped": "不处理", "overdue_open": "逾期未完成", "open_in_time": "处理中（未到期）", "on_time_rate": "按时完成率",
    "recurred": "完成后复发", "not_recurred": "完成后未复发", "watching": "观察中", "no_recurrence_rate": "未复发比例",
    "id": "任务编号", "job": "任务", "playbook": "剧本", "code": "提示代码", "severity": "级别", "owner": "负责角色",
    "title": "问题", "opened": "开启时间", "due": "截止时间", "status": "状态", "closed": "关闭时间", "outcome": "执行结果",
    "effect": "效果", "hours_late": "逾期小时数",
    "pilot": "试点名称", "unit_kind": "对象类型", "metric": "预先声明的指标", "kind": "指标类型",
    "pilot_version": "试点版本", "control_version": "对照版本", "n_pilot": "试点样本", "n_control": "对照样本",
    "pending_pilot": "试点待出结果", "pending_control": "对照待出结果", "value_pilot": "试点结果", "value_control": "对照结果",
    "diff": "差值（试点 − 对照）", "ci_low": "置信区间下限", "ci_high": "置信区间上限", "p_value": "p 值", "test": "检验方法",
    "n_required": "每组最少样本", "power": "可检出最小效应的把握度", "verdict": "结论",
    "version": "版本（git 修订号）", "runs": "运行次数", "first_run": "首次运行", "last_run": "最近运行", "mean": "均值",
    "std": "标准差", "min": "最小值", "max": "最大值", "run_id": "运行编号", "started": "开始时间", "value": "指标值",
}

ON_TIME, LATE, DROPPED, OVERDUE, OPEN = "按时完成", "逾期完成", "不处理", "逾期未完成", "处理中（未到期）"
RECURRED, NOT_RECURRED, WATCHING = "完成后复发", "完成后未复发", "观察中"
UNCLAIMED = "（未领取）"
DONE = "已完成"  # the task statuses of ops/tasks.py (DROPPED 不处理 is the same word)
JOB_USER = "任务 "  # who opens a task (`audit.job_user`): a job, not an executor
RATE, NUMBER = "比例", "数值"
PILOT, CONTROL = "试点", "对照"
SMALL = "样本量不足，暂不下结论"
DEFINITIONS = ("按时完成 = 状态为已完成且关闭时间不晚于截止时间；逾期完成 = 已完成但晚于截止时间；不处理 = 标记为不处理（写明原因）；"
               "逾期未完成 = 仍未关闭且已过截止时间。执行人 = 任务的处理人（别人代为关闭也算处理人的）；没有处理人时，已关闭的算关闭任务的人，未关闭的算最后一个改动它状态的人（只写备注不算领取），"
               "都没有则为（未领取）。按时完成率 = 按时完成 ÷（按时完成 + 逾期完成）。完成后复发 = 任务完成后同一任务的同一提示再次出现"
               "（开了接续的新任务）；完成不满观察天数的算观察中，不计入未复发比例")


# -- follow-up tasks ------------------------------------------------------------------------------------------

def _times(values) -> pd.Series:
    """Stored ISO times as timezone-aware China times (missing stays missing)."""
    return pd.to_datetime(pd.Series(values, dtype="object"), utc=True, format="ISO8601").dt.tz_convert(TZ_NAME)


def executions(task_rows: list[dict], change_rows: list[dict], now: dt.datetime, days: int,
               settle_days: int) -> pd.DataFrame:
    """One row per task opened in the `days` days up to `now`: its executor (see DEFINITIONS), roles, how it was
    executed (按时完成 / 逾期完成 / 不处理 / 逾期未完成 / 处理中) and, once done, its effect: 完成后复发 when a later task
    follows it (its flag came back), 观察中 while closed fewer than `settle_days` days ago, else 完成后未复发."""
    columns = ["id", "executor", "roles", "job", "playbook", "code", "severity", "owner", "title", "opened", "due",
               "status", "closed", "outcome", "effect", "hours_late"]
    if not task_rows:
        return pd.DataFrame(columns=columns)
    t = pd.DataFrame(task_rows)
    for col in ("opened", "due", "closed"):
        t[col] = _times(t[col])
    now = pd.Timestamp(now).tz_convert(TZ_NAME)
    followed = set(t["follows"].dropna().astype(int))
    t = t[(t["opened"] > now - pd.Timedelta(days=days)) & (t["opened"] <= now)].copy()
    changes = pd.DataFrame(change_rows, columns=["task", "at", "who", "old", "new"])
    # who moved the task (a status change): a note alone (a 主管's reminder) does not take the task on
    people = changes[~changes["who"].astype(str).str.startswith(JOB_USER) & (changes["old"] != changes["new"])]
    last_changer = people.groupby("task")["who"].last()
    closed = t["status"].isin([DONE, DROPPED]) & t["closed"].notna()
    done = t["status"].eq(DONE) & t["closed"].notna()
    # the task's 处理人 answers for it, also when someone else (a 主管 confirming) closed it; else who closed it
    executor = t["assignee"].where(t["assignee"].fillna("").str.strip() != "")
    executor = executor.fillna(t["closed_by"].where(closed))
    executor = executor.fillna(t["id"].map(last_changer)).fillna(UNCLAIMED)
    late = t["closed"] > t["due"]
    outcome = np.select([done & ~late, done & late, t["status"].eq(DROPPED), t["due"] <= now],
                        [ON_TIME, LATE, DROPPED, OVERDUE], OPEN)
    effect = np.select([done & t["id"].isin(followed), done & (t["closed"] > now - pd.Timedelta(days=settle_days)),
                        done], [RECURRED, WATCHING, NOT_RECURRED], "")
    hours = ((t["closed"].where(closed, now) - t["due"]).dt.total_seconds() / 3600).round(1)
    t = t.assign(executor=executor, outcome=outcome, effect=effect,
                 hours_late=hours.where(hours > 0).where(np.isin(outcome, [LATE, OVERDUE])),
                 roles=t["roles"].fillna("").str.strip("|").str.replace("|", "、", regex=False))
    return t[columns].sort_values(["opened", "id"], ignore_index=True)


COUNTS = ["tasks", "closed_on_time", "closed_late", "dropped", "overdue_open", "open_in_time", "recurred",
          "not_recurred", "watching", "on_time_rate", "no_recurrence_rate"]


def _counts(groups) -> pd.DataFrame:
    """Outcome and effect counts of grouped executions, with the on-time and no-recurrence rates."""
    out = pd.DataFrame({
        "tasks": groups.size(),
        "closed_on_time": groups["outcome"].apply(lambda s: int((s == ON_TIME).sum())),
        "closed_late": groups["outcome"].apply(lambda s: int((s == LATE).sum())),
        "dropped": groups["outcome"].apply(lambda s: int((s == DROPPED).sum())),
        "overdue_open": groups["outcome"].apply(lambda s: int((s == OVERDUE).sum())),
        "open_in_time": groups["outcome"].apply(lambda s: int((s == OPEN).sum())),
        "recurred": groups["effect"].apply(lambda s: int((s == RECURRED).sum())),
        "not_recurred": groups["effect"].apply(lambda s: int((s == NOT_RECURRED).sum())),
        "watching": groups["effect"].apply(lambda s: int((s == WATCHING).sum())),
    })
    done = out["closed_on_time"] + out["closed_late"]
    out["on_time_rate"] = out["closed_on_time"] / done.where(done > 0)
    settled = out["recurred"] + out["not_recurred"]
    out["no_recurrence_rate"] = out["not_recurred"] / settled.where(settled > 0)
    return out.reset_index()


def by_executor(ex: pd.DataFrame) -> pd.DataFrame:
    """Per executor: tasks, closed on time and late, not done, overdue and open, effects, rates (most overdue first)."""
    if ex.empty:
        return pd.DataFrame(columns=["executor", *COUNTS])
    return _counts(ex.groupby("executor")).sort_values(["overdue_open", "closed_late", "executor"],
                                                       ascending=[False, False, True], ignore_index=True)


def by_role(ex: pd.DataFrame) -> pd.DataFrame:
    """Per owning role (a task of two roles counts for each): the same counts as `by_executor`."""
    roles = ex.assign(role=ex["roles"].replace("", "（无角色）").str.split("、")).explode("role")
    if roles.empty:
        return pd.DataFrame(columns=["role", *COUNTS])
    return _counts(roles.groupby("role")).sort_values(["overdue_open", "role"], ascending=[False, True],
                                                      ignore_index=True)


def task_summary(ex: pd.DataFrame) -> dict:
    """Headline numbers of the tasks: counts per outcome, the on-time rate, the share of done tasks whose flag did not
    come back (None when nothing can be said yet)."""
    n = lambda what, col="outcome": int((ex[col] == what).sum())  # noqa: E731
    done, settled = n(ON_TIME) + n(LATE), n(RECURRED, "effect") + n(NOT_RECURRED, "effect")
    return {"tasks": int(len(ex)), "closed_on_time": n(ON_TIME), "closed_late": n(LATE), "dropped": n(DROPPED),
            "overdue_open": n(OVERDUE), "open_in_time": n(OPEN), "recurred": n(RECURRED, "effect"),
            "not_recurred": n(NOT_RECURRED, "effect"), "watching": n(WATCHING, "effect"),
            "on_time_rate": round(n(ON_TIME) / done, 6) if done else None,
            "no_recurrence_rate": round(n(NOT_RECURRED, "effect") / settled, 6) if settled else None}


def task_note(ex: pd.DataFrame, days: int, settle_days: int, now: dt.datetime, any_tasks: bool) -> str:
    """What the per-executor table covers, or why it is empty (no task at all, or none in the window)."""
    window = f"统计 {(pd.Timestamp(now) - pd.Timedelta(days=days)):%Y-%m-%d %H:%M} 至 {pd.Timestamp(now):%Y-%m-%d %H:%M} 开启的跟进任务"
    if not any_tasks:
        return ("无待办记录：还没有任何跟进任务。跟进任务由定时任务（或 opsbook jobs run）运行时的高、中级提示自动开启；"
                "启用定时任务（opsbook schedule）后，本节按执行人统计按时完成、逾期和复发情况")
    if ex.empty:
        return f"无待办记录：最近 {days} 天内没有开启的跟进任务（{window}）"
    return f"{window}。{DEFINITIONS.replace('观察天数', f'观察天数（{settle_days} 天）')}"


# -- pilots ---------------------------------------------------------------------------------------------------

def pilots(src: Source) -> pd.DataFrame | None:
    """The units of every pilot (None when the source has no sop_pilots table); DataError in Chinese naming every
    pilot whose rows declare more than one metric or that lacks its pilot or its control group."""
    if not src.has("sop_pilots"):
        return None
    df = src.sql("SELECT * FROM sop_pilots ORDER BY pilot, pilot_group, unit_id")
    problems = []
    for name, rows in df.groupby("pilot", sort=True):
        metrics = sorted(rows["metric"].dropna().unique())
        if len(metrics) > 1:
            problems.append(f"试点“{name}”的行声明了 {len(metrics)} 个指标（{'、'.join(metrics)}）：一个试点只能预先声明一个"
                            "指标，请拆成多个试点或改正指标列")
        missing = [g for g in (PILOT, CONTROL) if g not in set(rows["pilot_group"])]
        if missing:
            problems.append(f"试点“{name}”缺少{'和'.join(missing)}组（共 {len(rows)} 行，分组只有 "
                            f"{'、'.join(sorted(set(rows['pilot_group'].dropna()))) or '空'}）：试点必须同时有试点组和对照组，"
                            "分组列只能填“试点”或“对照”")
    if problems:
        raise DataError(problems, headline="sop_pilots 表有误，无法比较试点与对照")
    return df


PILOT_COLUMNS = ["pilot", "unit_kind", "metric", "kind", "pilot_version", "control_version", "n_pilot", "n_control",
                 "pending_pilot", "pending_control", "value_pilot", "value_control", "diff", "ci_low", "ci_high",
                 "p_value", "test", "n_required", "power", "verdict"]


def _kind(values: pd.Series) -> str:
    """比例 when every known outcome is 0 or 1, else 数值."""
    return RATE if values.dropna().isin([0, 1]).all() else NUMBER


def _pct(x: float) -> str:
    """A share as 60.8% (halves rounded up, as people round: 0.4925 → 49.3%)."""
    return f"{math.floor(x * 1000 + 0.5 + 1e-9) / 10:.1f}%"


def test_pilot(rows: pd.DataFrame, level: float, min_effect_rate: float, min_effect_sd: float,
               power: float) -> dict:
    """One pilot's comparison: sizes (with and without an outcome), each group's rate or mean, the difference with its
    `level` confidence interval and p-value, the minimum sample per group and the power reached for the minimum
    effect, and a verdict in Chinese — none when a group is below the minimum sample."""
    alpha = 1 - level
    pilot, control = (rows[rows["pilot_group"] == g] for g in (PILOT, CONTROL))
    a, b = pilot["outcome"].dropna().to_numpy(float), control["outcome"].dropna().to_numpy(float)
    kind = _kind(rows["outcome"])
    versions = {g: "、".join(sorted(r["sop_version"].dropna().unique())) for g, r in ((PILOT, pilot), (CONTROL, control))}
    out = {"pilot": rows["pilot"].iloc[0], "unit_kind": "、".join(sorted(rows["unit_kind"].dropna().unique())),
           "metric": rows["metric"].iloc[0], "kind": kind, "pilot_version": versions[PILOT],
           "control_version": versions[CONTROL], "n_pilot": len(a), "n_control": len(b),
           "pending_pilot": int(pilot["outcome"].isna().sum()), "pending_control": int(control["outcome"].isna().sum()),
           "value_pilot": float(a.mean()) if len(a) else None, "value_control": float(b.mean()) if len(b) else None,
           "diff": None, "ci_low": None, "ci_high": None, "p_value": None, "test": None, "n_required": None,
           "power": None, "verdict": ""}
    if not len(a) or not len(b):
        out["verdict"] = f"尚无结果：试点组 {len(a)} 个、对照组 {len(b)} 个对象已有结果值，暂不下结论"
        return out
    out["diff"] = out["value_pilot"] - out["value_control"]
    if kind == RATE:
        _rate_test(out, a, b, alpha, min_effect_rate, power)
    else:
        _mean_test(out, a, b, alpha, min_effect_sd, power)
    out["verdict"] = verdict(out, level)
    return out


def _rate_test(out: dict, a: np.ndarray, b: np.ndarray, alpha: float, effect: float, power: float) -> None:
    """Two-proportion z-test (pooled), Wald interval of the difference, sample size and power for `effect` points."""
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import confint_proportions_2indep, proportion_effectsize, proportions_ztest
    ca, cb, na, nb = int(a.sum()), int(b.sum()), len(a), len(b)
    out["test"] = "两比例 z 检验（双侧，合并方差）；差值置信区间：Wald"
    base = out["value_control"]
    target = base + effect if base + effect <= 1 else base - effect
    h = abs(proportion_effectsize(target, base)) if 0 <= target <= 1 else float("nan")
    _size(out, NormalIndPower(), h, na, nb, alpha, power)
    if ca in (0, na) and cb in (0, nb) and ca / na == cb / nb:
        return  # every unit of both groups alike: nothing varies to test
    out["p_value"] = float(proportions_ztest([ca, cb], [na, nb])[1])
    low, high = confint_proportions_2indep(ca, na, cb, nb, method="wald", compare="diff", alpha=alpha)
    out["ci_low"], out["ci_high"] = float(low), float(high)


def _mean_test(out: dict, a: np.ndarray, b: np.ndarray, alpha: float, effect: float, power: float) -> None:
    """Welch's t-test with its interval of the difference of means, sample size and power for `effect` SDs."""
    from scipy import stats
    from statsmodels.stats.power import TTestIndPower
    out["test"] = "Welch t 检验（双侧，不假设方差相等）"
    _size(out, TTestIndPower(), effect, len(a), len(b), alpha, power)
    if len(a) < 2 or len(b) < 2 or (np.ptp(a) == 0 and np.ptp(b) == 0):
        return
    result = stats.ttest_ind(a, b, equal_var=False)
    ci = result.confidence_interval(1 - alpha)
    out["p_value"], out["ci_low"], out["ci_high"] = float(result.pvalue), float(ci.low), float(ci.high)


def _size(out: dict, analysis, effect: float, na: int, nb: int, alpha: float, power: float) -> None:
    """The minimum sample per group (equal groups) to detect `effect` with `power`, and the power of these groups."""
    if not effect > 0 or not math.isfinite(effect):
        return
    out["n_required"] = int(math.ceil(analysis.solve_power(effect_size=effect, alpha=alpha, power=power, ratio=1.0)))
    if min(na, nb) >= 2:
        out["power"] = float(analysis.power(effect_size=effect, nobs1=na, alpha=alpha, ratio=nb / na))


def _shown(value: float, kind: str) -> str:
    return _pct(value) if kind == RATE else f"{value:,.4g}"


def verdict(r: dict, level: float) -> str:
    """The pilot's conclusion in Chinese: 样本量不足 (with the numbers), 显著提高/降低, or 差异不显著."""
    kind = r["kind"]
    groups = f"试点组 {r['n_pilot']} 个、对照组 {r['n_control']} 个"
    if r["n_required"] is None:
        return "无法计算最少样本量（对照组结果已到极端值），暂不下结论"
    if min(r["n_pilot"], r["n_control"]) < r["n_required"]:
        reach = f"，当前样本检出最小效应的把握度只有 {_pct(r['power'])}" if r["power"] is not None else ""
        return f"{SMALL}：{groups}对象有结果，每组至少需要 {r['n_required']:,} 个{reach}"
    if r["p_value"] is None:
        return f"两组结果没有差异可检验（{groups}），暂不下结论"
    unit = " 个百分点" if kind == RATE else ""
    diff = r["diff"] * 100 if kind == RATE else r["diff"]
    ci = (f"{r['ci_low'] * 100:+.1f} 至 {r['ci_high'] * 100:+.1f}{unit}" if kind == RATE
          else f"{r['ci_low']:+,.4g} 至 {r['ci_high']:+,.4g}")
    text = (f"试点 {_shown(r['value_pilot'], kind)} vs 对照 {_shown(r['value_control'], kind)}，差 {diff:+.1f}{unit}"
            if kind == RATE else f"试点均值 {r['value_pilot']:,.4g} vs 对照 {r['value_control']:,.4g}，差 {diff:+,.4g}")
    text += f"（{level * 100:g}% 置信区间 {ci}，p = {r['p_value']:.3g}）"
    if r["p_value"] < 1 - level:
        return f"{r['metric']}显著{'提高' if r['diff'] > 0 else '降低'}：{text}"
    return f"差异不显著：{text}；不能认为新版本与对照不同"


def pilot_results(df: pd.DataFrame | None, level: float, min_effect_rate: float, min_effect_sd: float,
                  power: float) -> pd.DataFrame:
    """One row per pilot (see `test_pilot`), in the table's order of pilot names."""
    if df is None or df.empty:
        return pd.DataFrame(columns=PILOT_COLUMNS)
    rows = [test_pilot(rows, level, min_effect_rate, min_effect_sd, power) for _, rows in df.groupby("pilot", sort=True)]
    return pd.DataFrame(rows)[PILOT_COLUMNS]


def pilot_note(df: pd.DataFrame | None, level: float, min_effect_rate: float, min_effect_sd: float,
               power: float) -> str:
    """How the pilots are tested, or why there is nothing to test."""
    if df is None:
        return "无试点数据：数据源中没有 sop_pilots 表（用 data/templates/试点分组表.csv 填写后 opsbook ingest 导入）"
    if df.empty:
        return "无试点数据：sop_pilots 表是空的"
    k = int(df["pilot"].nunique())
    many = (f"本表有 {k} 个试点，每个单独按显著性水平 {_pct(1 - level)} 检验：即使各试点都没有真实差异，至少一个被判为显著的概率也约有"
            f" {_pct(1 - level ** k)}，判为显著的试点推广前请再确认（延长试点或复核）。" if k > 1 else "")
    return (f"每个试点只比较分组前声明的一个指标。结果值全为 0/1 的指标按比例比较（两比例 z 检验），其余按数值比较（Welch t 检验）；"
            f"均为双侧检验（试点比对照高或低都算差异），置信水平 {level * 100:g}%。{many}每组最少样本 = 以 {power * 100:g}% 把握检出最小效应所需的每组对象数（比例指标：比对照组高"
            f" {min_effect_rate * 100:g} 个百分点；数值指标：{min_effect_sd:g} 个标准差），把握度一列是本试点各组样本量检出该最小效应的"
            "概率；任一组不足最少样本时不下结论。还没有结果值的对象单独计为“待出结果”，不算失败")


# -- versions of a playbook -----------------------------------------------------------------------------------

def version_runs(summaries: list[dict], metric: str, jobs_only: bool) -> tuple[pd.DataFrame, int]:
    """The good runs (of jobs only, if `jobs_only`) with a numeric value of `metric`: run id, start, version (the git
    revision it ran at, 未知 when not recorded), value; and how many good runs lacked a numeric value."""
    rows, lacking = [], 0
    for s in summaries:
        if s.get("status") != "ok" or (jobs_only and not s.get("job")):
            continue
        value = (s.get("metrics") or {}).get(metric)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            lacking += 1
            continue
        rows.append({"run_id": s.get("run_id"), "started": s.get("started") or None,
                     "version": s.get("git") or "未知", "value": float(value)})
    out = pd.DataFrame(rows, columns=["run_id", "started", "version", "value"])
    out["started"] = _times(out["started"]) if len(out) else out["started"]
    return out, lacking


def versions(runs: pd.DataFrame) -> pd.DataFrame:
    """Per version, in the order they first ran: runs, first and last run, mean, standard deviation, min, max."""
    columns = ["version", "runs", "first_run", "last_run", "mean", "std", "min", "max"]
    if runs.empty:
        return pd.DataFrame(columns=columns)
    g = runs.groupby("version")
    out = pd.DataFrame({"runs": g.size(), "first_run": g["started"].min(), "last_run": g["started"].max(),
                        "mean": g["value"].mean(), "std": g["value"].std(), "min": g["value"].min(),
                        "max": g["value"].max()}).reset_index()
    return out.sort_values(["first_run", "version"], ignore_index=True)[columns]


def compare_versions(runs: pd.DataFrame, table: pd.DataFrame, playbook: str, metric: str, level: float,
                     jobs_only: bool, lacking: int) -> str:
    """The newest version against the one before, in Chinese: Welch's t-test of the metric's run values when each
    has at least two runs; otherwise why nothing is compared (no history, one version, too few runs)."""
    which = "定时任务的成功运行" if jobs_only else "成功运行"
    skipped = f"（另有 {lacking} 次{which}没有数值指标 {metric}）" if lacking else ""
    if runs.empty:
        return f"无运行记录：剧本 {playbook} 还没有带数值指标 {metric} 的{which}{skipped}，无法比较版本"
    if len(table) < 2:
        return f"剧本 {playbook} 的 {len(runs)} 次{which}都是同一版本（{table['version'].iloc[0]}），暂无可比较的版本{skipped}"
    new, old = table.iloc[-1], table.iloc[-2]
    head = f"最新版本 {new['version']}（{new['runs']} 次运行）对比上一版本 {old['version']}（{old['runs']} 次）"
    if min(new["runs"], old["runs"]) < 2:
        return f"{head}：每个版本至少要有 2 次运行才能比较，暂不下结论{skipped}"
    from scipy import stats
    a, b = (runs.loc[runs["version"] == v, "value"].to_numpy(float) for v in (new["version"], old["version"]))
    if np.ptp(a) == 0 and np.ptp(b) == 0:
        return f"{head}：{metric} 均值 {a.mean():,.4g} vs {b.mean():,.4g}，各次运行的值没有波动，无法检验{skipped}"
    result = stats.ttest_ind(a, b, equal_var=False)
    ci = result.confidence_interval(level)
    sig = "差异显著" if result.pvalue < 1 - level else "差异不显著"
    return (f"{head}：{metric} 均值 {a.mean():,.4g} vs {b.mean():,.4g}，差 {a.mean() - b.mean():+,.4g}（{level * 100:g}% 置信区间 "
            f"{ci.low:+,.4g} 至 {ci.high:+,.4g}，Welch t 检验 p = {result.pvalue:.3g}），{sig}。注意：各次运行的数据和参数"
            f"不同，版本之间的差异也可能来自数据本身{skipped}")


# -- headline -------------------------------------------------------------------------------------------------

def headline(summary: dict, results: pd.DataFrame, runs: pd.DataFrame) -> tuple[dict, dict[str, str]]:
    """Metrics for result.json (the task counts and rates, each pilot's numbers and verdict, the runs compared) and
    the cards shown on top."""
    per_pilot = {r["pilot"]: {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()
                              if k in ("n_pilot", "n_control", "pending_pilot", "pending_control", "value_pilot",
                                       "value_control", "diff", "ci_low", "ci_high", "p_value", "n_required", "power",
                                       "verdict")}
                 for r in results.astype(object).where(results.notna(), None).to_dict("records")}
    judged = sum(1 for r in per_pilot.values() if not r["verdict"].startswith((SMALL, "尚无结果", "无法", "两组")))
    metrics = {**summary, "pilots": len(per_pilot), "pilots_judged": judged, "pilot_results": per_pilot,
               "version_runs": int(len(runs))}
    rate = lambda x: "—" if x is None else _pct(x)  # noqa: E731
    cards = {"跟进任务": f"{summary['tasks']}", "按时完成 / 逾期完成": f"{summary['closed_on_time']} / {summary['closed_late']}",
             "逾期未完成": f"{summary['overdue_open']}", "不处理": f"{summary['dropped']}",
             "按时完成率": rate(summary["on_time_rate"]), "完成后未复发": rate(summary["no_recurrence_rate"]),
             "试点（已下结论）": f"{len(per_pilot)}（{judged}）"}
    return metrics, cards


# -- findings -------------------------------------------------------------------------------------------------

def findings(people: pd.DataFrame, results: pd.DataFrame, summary: dict, *, min_on_time_rate: float,
             min_closed: int, max_recurrence_rate: float, min_settled: int) -> list[Flag]:
    """Flags for 主管: executors with overdue open tasks, executors under the on-time line (with at least `min_closed`
    tasks closed), flags coming back after too many of the tasks done (with at least `min_settled` settled), a pilot
    with a significant difference (decide on the new version), a pilot too small for a verdict."""
    out = []
    late = people[people["overdue_open"] > 0]
    if len(late):
        out.append(make("sopexec.overdue", "medium", "主管",
                        f"{int(late['overdue_open'].sum())} 个跟进任务已过截止时间仍未完成（" + "、".join(
                            f"{r.executor} {r.overdue_open} 个" for r in late.head(8).itertuples())
                        + "）：请在周会上逐个确认原因并督促完成", late))
    closed = people["closed_on_time"] + people["closed_late"]
    slow = people[(closed >= min_closed) & (people["on_time_rate"] < min_on_time_rate)]
    if len(slow):
        out.append(make("sopexec.on_time", "medium", "主管",
                        f"{len(slow)} 位执行人按时完成率低于 {_pct(min_on_time_rate)}（" + "、".join(
                            f"{r.executor} {_pct(r.on_time_rate)}" for r in slow.itertuples())
                        + "）：请了解执行中的困难，必要时重新培训 SOP 或调整截止时间", slow))
    settled = summary["recurred"] + summary["not_recurred"]
    if settled >= min_settled and summary["recurred"] / settled > max_recurrence_rate:
        out.append(make("sopexec.recurrence", "medium", "主管",
                        f"已完成的跟进任务中 {_pct(summary['recurred'] / settled)}（{summary['recurred']}/{settled}）"
                        f"完成后同一问题再次出现，高于 {_pct(max_recurrence_rate)}：处理方法可能没有解决根本问题，请复盘 SOP"))
    for r in results.itertuples():
        if r.verdict.startswith(SMALL):
            out.append(make(f"sopexec.pilot_small:{r.pilot.replace(' ', '_')}", "low", "主管",
                            f"试点“{r.pilot}”（{r.metric}）{r.verdict}：请继续试点、扩大样本后再判断是否推广"))
        elif "显著" in r.verdict and not r.verdict.startswith("差异不显著"):
            out.append(make(f"sopexec.pilot_result:{r.pilot.replace(' ', '_')}", "medium", "主管",
                            f"试点“{r.pilot}”（{r.pilot_version} 对比 {r.control_version}）{r.verdict}：请决定是否推广新版本"
                            "（全面使用后继续监控整体效果和各执行人的数据）"))
    return out
