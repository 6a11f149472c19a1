"""promo_timeline: task states recomputed by hand from the plan file (the 10 % buffer: a 30-day task warns on its day
27), the milestone template's dates for a promotion without a plan and its round trip through the import, reference
days before and after a plan, unknown promotions, plans breaking the table's rules, the Gantt chart in the report."""
import datetime as dt

import pandas as pd
import pytest

from opsbook import sources
from opsbook.data import sample_ops
from opsbook.data.intake import ingest_file
from opsbook.engine import runner
from opsbook.errors import ParamError
from opsbook.sops import promo_timeline as pt

END = dt.date(2026, 6, 30)
PLAN = sample_ops.PLAN_PROMOTION


def plan_file() -> pd.DataFrame:
    return pd.read_parquet("data/sample/plan_tasks.parquet")


def tasks(*rows, promotion="2026年双12") -> pd.DataFrame:
    """A plan of (task, start, planned end, done or None) rows, owned by 运营."""
    return pd.DataFrame([{"promotion": promotion, "task_id": f"{i:02d}", "task": t, "owner_role": "运营",
                          "start_date": pd.Timestamp(s), "planned_end": pd.Timestamp(e),
                          "done_date": pd.Timestamp(d) if d else pd.NaT, "milestone": None}
                         for i, (t, s, e, d) in enumerate(rows, 1)])


def test_headline_numbers_recomputed_from_the_file():
    """The daily job (as of 06-30, the coming 双11): each task's state as pandas computes it from the plan file."""
    result = runner.run("promo_timeline", {})
    assert result.ok, result.error
    plan = plan_file()
    d11 = plan[plan["promotion"] == PLAN]
    day = pd.Timestamp(END)
    done = d11["done_date"].notna() & (d11["done_date"] <= day)
    overdue = ~done & (d11["planned_end"] < day)
    waiting = ~done & (d11["start_date"] > day)
    m = result.metrics
    assert (m["promotion"], m["promo_start"], m["promo_end"], m["days_to_start"]) == (
        "2026年双11", "2026-10-15", "2026-11-11", 107)
    assert m["tasks"] == len(d11) == 22 and m["done"] == done.sum() == 1 and m["overdue"] == overdue.sum() == 1
    assert m["waiting"] == waiting.sum() == 18 and m["at_risk"] == 1 and m["running"] == 1
    assert not m["from_template"]
    table = pd.read_csv(result.folder / "排期.csv").set_index("任务")
    late = table.loc[sample_ops.OVERDUE_TASK]
    assert (late["状态"], late["计划完成日期"], late["逾期天数"], late["负责角色"]) == ("逾期未完成", "2026-06-25", 5, "运营")
    warned = table.loc[sample_ops.WARNED_TASK]  # 06-03 … 07-02: 30 days, warned from day 27 (06-29), on day 28
    assert (warned["工期（天）"], warned["预警日期"], warned["进行到第几天"], warned["状态"], warned["剩余天数"]) == (
        30, "2026-06-29", 28, "预警", 2)
    running = table.loc["供应商产能与旺季排产确认"]  # 06-17 … 07-17: 31 days, warns on day 31 − 3 = 28 (07-14)
    assert (running["工期（天）"], running["预警日期"], running["进行到第几天"], running["状态"]) == (31, "2026-07-14", 14, "进行中")
    flags = {f.code: f for f in result.flags}
    assert set(flags) == {"promo.overdue", "promo.at_risk"}
    assert flags["promo.overdue"].severity == "high" and flags["promo.overdue"].owner == "运营、主管"
    assert [r["task"] for r in flags["promo.overdue"].sample] == [sample_ops.OVERDUE_TASK]
    assert "逾期 5 天" in flags["promo.overdue"].message
    assert flags["promo.at_risk"].severity == "medium" and flags["promo.at_risk"].owner == "采购、主管"
    assert "第 28/30 天" in flags["promo.at_risk"].message
    attention = pd.read_csv(result.folder / "逾期与预警任务.csv")
    assert attention["任务"].tolist() == [sample_ops.OVERDUE_TASK, sample_ops.WARNED_TASK]


def test_each_roles_record_over_the_plans():
    """Tasks due by 06-30 over both plans: 618's two late tasks (设计 2 days, 客服 1 day) and 双11's open one (运营)."""
    roles = pt.history(plan_file(), END).set_index("role")
    plan = plan_file()
    due = plan[plan["planned_end"] <= "2026-06-30"]
    assert roles["due"].sum() == len(due) == 16
    on_time = (due["done_date"] <= due["planned_end"]).groupby(due["owner_role"]).sum()
    assert roles["on_time"].to_dict() == on_time.to_dict()
    assert (roles.loc["设计", "late_done"], roles.loc["设计", "mean_days_late"]) == (1, 2.0)
    assert (roles.loc["客服", "late_done"], roles.loc["客服", "on_time_rate"]) == (1, 0.0)
    assert (roles.loc["运营", "overdue_open"], roles.loc["运营", "on_time_rate"]) == (1, 0.75)


def test_the_warning_day_of_a_task_by_hand():
    days = pd.Series([30, 10, 25, 7, 1, 20, 31])
    assert pt.warning_day(days, 0.1).tolist() == [27, 9, 23, 7, 1, 18, 28]
    assert pt.warning_day(days, 0.0).tolist() == days.tolist()  # no buffer: warns on its last day
    assert pt.warning_day(pd.Series([30]), 0.5).tolist() == [15]
    plan = tasks(("三十天", "2026-06-01", "2026-06-30", None), ("提前完成", "2026-06-01", "2026-06-10", "2026-06-08"),
                 ("晚了完成", "2026-06-01", "2026-06-10", "2026-06-12"), ("还没开始", "2026-07-01", "2026-07-05", None))
    on = {day: pt.status(plan, dt.date(2026, 6, day), 0.1).set_index("task") for day in (26, 27, 30)}
    assert (on[26].loc["三十天", "status"], on[26].loc["三十天", "day"]) == (pt.RUNNING, 26)
    assert (on[27].loc["三十天", "status"], on[27].loc["三十天", "day"], on[27].loc["三十天", "warn_date"]) == (
        pt.AT_RISK, 27, pd.Timestamp("2026-06-27"))
    assert on[30].loc["三十天", "status"] == pt.AT_RISK  # its last day: not overdue yet
    july = pt.status(plan, dt.date(2026, 7, 2), 0.1).set_index("task")
    assert (july.loc["三十天", "status"], july.loc["三十天", "days_overdue"]) == (pt.OVERDUE, 2)
    assert pt.COLOURS[pt.OVERDUE] == "#c0392b"  # red
    assert july.loc["提前完成", "status"] == pt.DONE and july.loc["晚了完成", "status"] == pt.DONE_LATE
    assert july.loc["晚了完成", "days_late"] == 2 and july.loc["还没开始", "status"] == pt.RUNNING
    # a completion recorded after the reference day is not known on it
    eleventh = pt.status(plan, dt.date(2026, 6, 11), 0.1).set_index("task")
    assert (eleventh.loc["晚了完成", "status"], eleventh.loc["晚了完成", "days_overdue"]) == (pt.OVERDUE, 1)
    assert on[26].loc["晚了完成", "status"] == pt.DONE_LATE and on[26].loc["还没开始", "status"] == pt.WAITING


def test_the_template_makes_a_plan_from_the_calendar():
    """双12 2026 (12-01 … 12-12) has no plan: the 默认 template's offsets become dates, T from 12-01, E from 12-12."""
    choice = pt.choose(plan_file(), "双12", END)
    assert (choice.label, choice.template, choice.promotion.start, choice.promotion.end) == (
        "2026年双12", "默认", dt.date(2026, 12, 1), dt.date(2026, 12, 12))
    plan = choice.tasks.set_index("task")
    assert len(plan) == 16 and plan["done_date"].isna().all()
    assert plan.loc["大促目标与预算确定", ["start_date", "planned_end"]].tolist() == [  # T-45, T-41
        pd.Timestamp("2026-10-17"), pd.Timestamp("2026-10-21")]
    assert plan.loc["活动素材准备（主图、详情页、海报）", ["start_date", "planned_end", "owner_role"]].tolist() == [
        pd.Timestamp("2026-11-16"), pd.Timestamp("2026-11-25"), "设计"]  # T-15 … T-6
    assert plan.loc["大促期间数据监控与值守", ["start_date", "planned_end"]].tolist() == [  # T+0 … E+0
        pd.Timestamp("2026-12-01"), pd.Timestamp("2026-12-12")]
    assert plan.loc["库存清理与返场", "planned_end"] == pd.Timestamp("2027-01-01")  # E+20
    # the sample's 双11 plan was made from the 双11 template: the same days
    d11 = pt.choose(plan_file(), "2026年双11", END).tasks.set_index("task")[["start_date", "planned_end", "owner_role"]]
    promo = pt.occurrence("双11", 2026, END)
    _, items = pt.template("双11")
    made = pt.expand(items, promo, "2026年双11").set_index("task")[["start_date", "planned_end", "owner_role"]]
    pd.testing.assert_frame_equal(made.sort_index(), d11.sort_index(), check_dtype=False)


def test_a_promotion_without_a_plan_offers_the_template_to_import(tmp_path):
    """The 排期 table of a template plan is the import's layout: downloaded, imported, and the next run reads it."""
    result = runner.run("promo_timeline", {"promotion": "2026双12"})
    assert result.ok, result.error
    assert result.metrics["from_template"] and result.metrics["tasks"] == 16
    assert result.flag_codes == {"promo.no_plan": "low"}  # its first task starts 10-17, more than 14 days ahead
    near = runner.run("promo_timeline", {"promotion": "2026双12", "as_of": "2026-10-10"})
    assert near.flag_codes == {"promo.no_plan": "medium"}
    report = ingest_file(result.folder / "排期.xlsx", tmp_path / "wh")
    assert report.error is None, report.error
    assert "写入 plan_tasks：新增 16 行" in "\n".join(report.lines)
    stored = pd.read_parquet(tmp_path / "wh" / "plan_tasks.parquet")
    assert set(stored["promotion"]) == {"2026年双12"} and stored["planned_end"].max() == pd.Timestamp("2027-01-01")
    again = runner.run("promo_timeline", {"source": str(tmp_path / "wh"), "promotion": "双12", "as_of": "2026-10-20"})
    assert again.ok, again.error
    assert not again.metrics["from_template"] and again.metrics["tasks"] == 16
    assert again.metrics["overdue"] == 0 and again.metrics["running"] == 2  # 10-17 … 10-21 and 10-20 … 10-27


def test_reference_days_before_and_after_the_plan():
    before = runner.run("promo_timeline", {"promotion": PLAN, "as_of": "2026-05-01"})
    assert before.ok, before.error
    assert before.metrics["waiting"] == 22 and before.metrics["done"] == 0 and before.flags == []
    after = runner.run("promo_timeline", {"promotion": "双11 2026", "as_of": "2026-12-31"})
    assert after.ok, after.error
    assert after.metrics["overdue"] == 21 and after.metrics["done"] == 1 and after.metrics["waiting"] == 0
    (flag,) = after.flags
    assert flag.code == "promo.overdue" and flag.rows == 21 and flag.severity == "high"
    assert "已结束 50 天" in (after.folder / "report.html").read_text(encoding="utf-8")


def test_an_unknown_promotion_is_refused_in_chinese():
    result = runner.run("promo_timeline", {"promotion": "双十一"})
    assert result.exit_code == 2 and "找不到大促「双十一」" in result.error and "2026年双11" in result.error
    result = runner.run("promo_timeline", {"promotion": "../../etc/passwd"})
    assert result.exit_code == 2 and "找不到大促" in result.error
    for name in ("2028年年货节", "2028年货节"):  # the calendar lists 年货节 up to 2027
        with pytest.raises(ParamError, match="2028 年的「年货节」"):
            pt.choose(plan_file(), name, END)
    assert pt.choose(plan_file(), "2027年货节", END).promotion.start == dt.date(2027, 1, 4)


def test_parameters_out_of_range_are_refused():
    with pytest.raises(ParamError, match="buffer（缓冲比例）应在 0 到 0.5 之间"):
        runner.run("promo_timeline", {"buffer": 0.8})


def test_a_task_ending_before_it_starts_stops_the_run(shop):
    bad = shop(edit=("plan_tasks", lambda p: p.assign(
        planned_end=p["planned_end"].mask(p["task"] == sample_ops.OVERDUE_TASK, pd.Timestamp("2026-05-01")))))
    result = runner.run("promo_timeline", {"source": bad})
    assert result.exit_code == 2 and "计划完成日期早于开始日期" in result.error


def test_duplicated_tasks_and_a_missing_column_stop_the_run(shop):
    twice = shop(edit=("plan_tasks", lambda p: pd.concat([p, p.head(1)], ignore_index=True)))
    result = runner.run("promo_timeline", {"source": twice})
    assert result.exit_code == 2 and "plan_tasks" in result.error and "重复" in result.error
    result = runner.run("promo_timeline", {"source": shop(drop_columns={"plan_tasks": ["planned_end"]})})
    assert result.exit_code == 2 and "plan_tasks 表缺少必需列 planned_end（计划完成日期）" in result.error


def test_a_shop_without_any_plan_gets_the_template(shop):
    result = runner.run("promo_timeline", {"source": shop(drop_tables=("plan_tasks",))})
    assert result.ok, result.error
    assert result.metrics["promotion"] == "2026年双11" and result.metrics["from_template"]
    assert result.metrics["tasks"] == 22 and set(result.flag_codes) == {"promo.no_plan"}
    # the 双11 template starts 05-23: by 06-30 its first tasks have begun, the plan is late to be made
    assert result.flag_codes["promo.no_plan"] == "medium"
    table = pd.read_csv(result.folder / "排期.csv")
    assert (table["状态"] == pt.DRAFT_PAST).sum() == 4


def test_the_gantt_chart_is_in_the_report_without_missing_glyphs():
    result = runner.run("promo_timeline", {})
    assert result.ok, result.error
    page = (result.folder / "report.html").read_text(encoding="utf-8")
    section = page[page.index("2 甘特图"):page.index("3 排期表")]
    assert section.count("data:image/png") == 1  # the chart, drawn in its section
    executed = (result.folder / "executed.ipynb").read_text(encoding="utf-8")
    assert "image/png" in executed and "Glyph" not in executed and "missing from font" not in executed
    import io
    import warnings
    choice = pt.choose(plan_file(), "", END)
    st = pt.status(choice.tasks, END, 0.1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = pt.gantt(st, choice, END, 0.1)
        fig.savefig(io.BytesIO(), format="png")
    assert not [w for w in caught if "Glyph" in str(w.message)]
    ax = fig.axes[0]
    assert ax.get_title(loc="left") == "2026年双11 排期甘特图"
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[1] == "秋冬新品选品（运营）" and len(labels) == 22
    bars = ax.patches[:22]
    assert bars[1].get_facecolor()[:3] == pytest.approx((0xc0 / 255, 0x39 / 255, 0x2b / 255))  # overdue: red
    assert bars[2].get_facecolor()[:3] == pytest.approx((0xf3 / 255, 0x9c / 255, 0x12 / 255))  # warned: amber
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"逾期未完成", "预警", "已完成", "大促期", "参考日期 2026-06-30"} <= set(legend)


def test_the_source_reads_the_sample_plans():
    src = sources.open_source("data/sample")
    assert set(pt.plans(src)["promotion"]) == {sample_ops.PLAN_PROMOTION, sample_ops.HISTORY_PROMOTION}


def test_an_imported_nian_huo_jie_plan_is_found_by_its_calendar_name():
    """A sheet's 「2027年货节」 (filed as it is written) is the calendar's 年货节 of 2027: the run shows the imported
    plan, not the template as if nothing had been imported."""
    from opsbook.data.intake.plans import promotion_name
    filed = promotion_name("2027年货节")
    rows = pd.DataFrame({"promotion": [filed], "task_id": ["N-01"], "task": ["年货节选品"], "owner_role": ["运营"],
                         "start_date": [dt.date(2026, 12, 1)], "planned_end": [dt.date(2026, 12, 20)],
                         "done_date": [None], "milestone": ["货品"]})
    for name in ("", "年货节", "2027年货节", "2027年年货节", "年货节 2027"):
        choice = pt.choose(rows, name, dt.date(2026, 12, 25))
        assert not choice.from_template and choice.tasks["task_id"].tolist() == ["N-01"], name
        assert choice.promotion.name == "年货节" and choice.promotion.start == dt.date(2027, 1, 4)
        assert pt.status(choice.tasks, dt.date(2026, 12, 25), 0.1)["status"].tolist() == [pt.OVERDUE]
