"""content_funnel: tier ROI and funnel rates recomputed from the kol_content file, the planted head creator at half
its tier's ROI and the post without a link, the budget suggestion summing to the budget, a tier without content, a
cost of 0 (ROI 无, never inf), odd periods, one platform, an empty window, bad and hostile input."""
import datetime as dt
import json
import re

import numpy as np
import pandas as pd
import pytest

from opsbook.data import sample_ops
from opsbook.engine import records, runner
from opsbook.errors import ParamError
from opsbook.sops import content_funnel

TIER_ROI = "ROI（成交金额÷合作费用）"
LINES = content_funnel.Lines(2.0, 1.0, 10_000, 0.6)


def kol() -> pd.DataFrame:
    return pd.read_parquet("data/sample/kol_content.parquet")


def tier_of(followers: pd.Series, head=1_000_000, waist=(100_000, 500_000), amateur=10_000) -> pd.Series:
    """The tiers as the README states them, written again in pandas."""
    return pd.Series(np.select([followers >= head, followers.between(*waist),
                                (followers >= amateur) & (followers < waist[0])], ["头部", "腰部", "素人"], "其他"),
                     index=followers.index)


def week(first="2026-06-24", last="2026-06-30", platform=None) -> pd.DataFrame:
    df = kol()
    df = df[(df["publish_date"] >= first) & (df["publish_date"] <= last)]
    return (df if platform is None else df[df["platform"] == platform]).assign(tier=lambda d: tier_of(d["followers"]))


def test_tier_roi_and_funnel_rates_recomputed_from_the_file():
    """The default weekly run (2026-06-24 … 06-30): content, cost, GMV, ROI per tier and every funnel rate as pandas
    computes them over the parquet file."""
    result = runner.run("content_funnel", {})
    assert result.ok, result.error
    w = week()
    m = result.metrics
    assert (m["first_day"], m["last_day"], m["contents"]) == ("2026-06-24", "2026-06-30", len(w)) and len(w) == 17
    assert m["cost"] == pytest.approx(w["cost"].sum()) and m["gmv"] == pytest.approx(w["gmv"].sum())
    assert m["roi"] == pytest.approx(w["gmv"].sum() / w["cost"].sum(), abs=1e-6)
    sums = w.groupby("tier")[["cost", "gmv", "plays", "completions", "interactions", "link_clicks", "carts", "orders",
                              "repurchase_orders"]].sum()
    table = pd.read_csv(result.folder / "层级汇总.csv").set_index("达人层级")
    assert table.index.tolist() == ["头部", "腰部", "素人"]  # 其他 has no content this week
    for tier in ("头部", "腰部", "素人"):
        s = sums.loc[tier]
        assert table.at[tier, TIER_ROI] == pytest.approx(s["gmv"] / s["cost"]) == pytest.approx(m["tier_roi"][tier])
        assert table.at[tier, "完播率（÷播放）"] == pytest.approx(s["completions"] / s["plays"])
        assert table.at[tier, "互动率（÷播放）"] == pytest.approx(s["interactions"] / s["plays"])
        assert table.at[tier, "链接点击率（÷播放）"] == pytest.approx(s["link_clicks"] / s["plays"])
        assert table.at[tier, "加购率（÷点击）"] == pytest.approx(s["carts"] / s["link_clicks"])
        assert table.at[tier, "下单率（÷点击）"] == pytest.approx(s["orders"] / s["link_clicks"])
        assert table.at[tier, "复购率（÷订单）"] == pytest.approx(s["repurchase_orders"] / s["orders"])
        assert table.at[tier, "内容数"] == (w["tier"] == tier).sum()
    funnel = pd.read_csv(result.folder / "漏斗.csv").set_index("环节")
    assert funnel.at["商品链接点击", "数量"] == w["link_clicks"].sum()
    assert funnel.at["商品链接点击", "转化率"] == pytest.approx(w["link_clicks"].sum() / w["plays"].sum()) \
        == pytest.approx(m["click_rate"], abs=1e-6)
    assert funnel.at["成交订单数", "转化率"] == pytest.approx(w["orders"].sum() / w["link_clicks"].sum())
    assert funnel.at["复购订单数", "转化率"] == pytest.approx(w["repurchase_orders"].sum() / w["orders"].sum())
    detail = pd.read_csv(result.folder / "内容明细.csv", dtype={"内容ID": str}).set_index("内容ID")
    paid = w[w["cost"] > 0].set_index("content_id")
    assert detail.loc[paid.index, TIER_ROI].tolist() == pytest.approx((paid["gmv"] / paid["cost"]).tolist())
    assert detail["成交金额"].is_monotonic_decreasing
    assert {f.owner for f in result.flags} <= {"内容", "运营"}


def test_the_planted_faults_are_found():
    """The head creator at about half the ROI of the other head creators, and the post with plays and no link."""
    result = runner.run("content_funnel", {})
    flags = {f.code: f for f in result.flags}
    assert [r["content_id"] for r in flags["kol.no_link"].sample] == [sample_ops.NO_LINK_CONTENT]
    assert flags["kol.no_link"].severity == "high" and "没挂商品链接" in flags["kol.no_link"].message
    w = week()
    head = w[w["tier"] == "头部"]
    mine = head[head["creator"] == sample_ops.HEAD_LAGGARD]
    others = head[head["creator"] != sample_ops.HEAD_LAGGARD]
    ratio = (mine["gmv"].sum() / mine["cost"].sum()) / (others["gmv"].sum() / others["cost"].sum())
    assert 0.35 < ratio < 0.6  # about half
    lag = {r["creator"]: r for r in flags["kol.creator_lag"].sample}
    assert lag[sample_ops.HEAD_LAGGARD]["ratio"] == pytest.approx(ratio)
    assert lag[sample_ops.HEAD_LAGGARD]["tier"] == "头部"
    # the post without a link is said once, as what it is, not again as a low ROI
    assert sample_ops.NO_LINK_CONTENT not in {r["content_id"] for r in flags["kol.low_roi"].sample}
    detail = pd.read_csv(result.folder / "内容明细.csv", dtype={"内容ID": str}).set_index("内容ID")
    assert detail.at[sample_ops.NO_LINK_CONTENT, "判定"].startswith("有播放无链接点击")


def test_the_budget_suggestion_sums_to_the_budget_and_follows_its_rule():
    result = runner.run("content_funnel", {"next_budget": 123456.78, "roi_line": 2.5, "max_shift": 0.1})
    assert result.ok, result.error
    plan = pd.read_csv(result.folder / "下期预算建议.csv").set_index("达人层级")
    assert round(plan["建议预算"].sum() * 100) == 12345678 and result.metrics["budget"] == 123456.78
    assert sum(result.metrics["budget_split"].values()) == pytest.approx(123456.78)
    w = week()
    spend = w.groupby("tier")["cost"].sum().reindex(["头部", "腰部", "素人"])
    assert plan["本期花费占比"].tolist() == pytest.approx((spend / spend.sum()).tolist())
    # by hand: 素人 is under the line 2.5 and gives up share × (1 − ROI ÷ 2.5); 头部 and 腰部 take it by share × (ROI − 2.5)
    roi = w.groupby("tier").apply(lambda d: d["gmv"].sum() / d["cost"].sum()).reindex(spend.index)
    share = spend / spend.sum()
    assert roi["素人"] < 2.5 < roi["腰部"] < roi["头部"]
    cut = min(share["素人"] * (1 - roi["素人"] / 2.5), 0.1)
    weight = share[["头部", "腰部"]] * (roi[["头部", "腰部"]] - 2.5)
    expected = share.copy()
    expected["素人"] -= cut
    expected[["头部", "腰部"]] += cut * weight / weight.sum()
    assert plan["建议占比"].tolist() == pytest.approx(expected.tolist())
    assert (plan["较本期占比变化"].abs() <= 0.1 + 1e-9).all()
    page = (result.folder / "report.html").read_text(encoding="utf-8")
    assert "调出比例 = 1 − ROI ÷ 警戒线" in page and "合计正好等于下期预算" in page
    # parameter 0: this period's spend of the three tiers
    default = runner.run("content_funnel", {})
    assert default.metrics["budget"] == pytest.approx(spend.sum())


@pytest.mark.parametrize("share, roi, cap, expected", [
    ((0.5, 0.3, 0.2), (4, 1, 3), 0.2, (0.625, 0.15, 0.225)),
    ((0.5, 0.3, 0.2), (4, 1, 3), 0.1, (0.5 + 0.1 / 1.2, 0.2, 0.2 + 0.02 / 1.2)),
    ((0.2, 0.4, 0.4), (6, 1, 1), 0.1, (0.3, 0.35, 0.35)),  # the one taker is full: the rest stays where it was
    ((0.3, 0.3, 0.4), (1, 1.5, 1.9), 0.2, (0.3, 0.3, 0.4)),  # nobody above the line: nothing moves
    ((0.3, 0.3, 0.4), (3, 2.5, 4), 0.2, (0.3, 0.3, 0.4)),  # nobody under it: nothing moves
], ids=["free", "capped giver", "capped taker", "all under", "all over"])


def test_the_shift_rule_by_hand(share, roi, cap, expected):
    index = ["头部", "腰部", "素人"]
    moved = content_funnel.shift(pd.Series(share, index=index), pd.Series(roi, index=index, dtype=float), 2.0, cap)
    assert moved.tolist() == pytest.approx(expected) and moved.sum() == pytest.approx(1.0)


def test_a_tier_without_content():
    """JD alone: one 腰部 creator this week. 头部 and 素人 have no content: ROI 无 (empty, never 0), 5 % trial each."""
    result = runner.run("content_funnel", {"platform": "JD", "next_budget": 10000})
    assert result.ok, result.error
    w = week(platform="JD")
    assert set(w["tier"]) == {"腰部"}
    table = pd.read_csv(result.folder / "层级汇总.csv").set_index("达人层级")
    assert table.loc[["头部", "素人"], "内容数"].tolist() == [0, 0]
    assert table.loc[["头部", "素人"], TIER_ROI].isna().all()
    assert (table.loc[["头部", "素人"], "判定"] == "本期无内容，ROI 无").all()
    assert result.metrics["tier_roi"]["头部"] is None and result.metrics["tier_roi"]["腰部"] == pytest.approx(
        w["gmv"].sum() / w["cost"].sum())
    plan = pd.read_csv(result.folder / "下期预算建议.csv").set_index("达人层级")
    assert plan["建议预算"].to_dict() == {"头部": 500.0, "腰部": 9000.0, "素人": 500.0}
    assert plan.at["头部", "依据"] == "本期无内容：留 5% 试投"


def test_a_cost_of_zero_gives_roi_无_never_inf(shop):
    """A 寄样/置换 post (cost 0) in the sample's week, and a shop whose head creators all worked for free: ROI is empty
    in the files and 无 on the report, in result.json null; never inf anywhere."""
    result = runner.run("content_funnel", {})
    detail = pd.read_csv(result.folder / "内容明细.csv", dtype={"内容ID": str})
    free = detail[detail["合作费用"] == 0]
    assert len(free) == 1 and free[TIER_ROI].isna().all() and free["判定"].str.startswith("ROI 无").all()
    src = shop(edit=("kol_content", lambda k: k.assign(cost=k["cost"].where(k["followers"] < 1_000_000, 0.0))))
    result = runner.run("content_funnel", {"source": src})
    assert result.ok, result.error
    table = pd.read_csv(result.folder / "层级汇总.csv").set_index("达人层级")
    assert pd.isna(table.at["头部", TIER_ROI]) and table.at["头部", "判定"] == "合作费用为 0，ROI 无"
    assert result.metrics["tier_roi"]["头部"] is None
    page = (result.folder / "report.html").read_text(encoding="utf-8")
    assert "<b>无 / " in page and not re.search(r">\s*-?(inf|∞|nan)\s*<", page, re.IGNORECASE)
    for csv in result.folder.glob("*.csv"):
        assert "inf" not in csv.read_text(encoding="utf-8-sig").lower(), csv.name
    assert "Infinity" not in (result.folder / "result.json").read_text(encoding="utf-8")
    plan = pd.read_csv(result.folder / "下期预算建议.csv").set_index("达人层级")
    assert plan.at["头部", "依据"] == "本期无花费（寄样/置换）：留 5% 试投"
    all_free = shop(edit=("kol_content", lambda k: k.assign(cost=0.0)))
    result = runner.run("content_funnel", {"source": all_free})
    assert result.ok and result.metrics["roi"] is None and result.metrics["budget"] is None  # nothing to split


@pytest.mark.parametrize("as_of, days, first", [("2026-06-17", 10, "2026-06-08"), ("2026-06-30", 1, "2026-06-30"),
                                                ("2026-05-20", 30, "2026-04-21")],
                         ids=["mid-week, 10 days", "one day", "before the data starts"])


def test_odd_periods(as_of, days, first):
    result = runner.run("content_funnel", {"as_of": as_of, "days": days})
    assert result.ok, result.error
    w = week(first, as_of)
    assert (result.metrics["first_day"], result.metrics["contents"]) == (first, len(w))
    assert result.metrics["gmv"] == pytest.approx(w["gmv"].sum())
    assert content_funnel.window(dt.date.fromisoformat(as_of), days) == (dt.date.fromisoformat(first),
                                                                          dt.date.fromisoformat(as_of))


def test_an_empty_window_says_no_data():
    result = runner.run("content_funnel", {"as_of": "2025-01-31"})
    assert result.ok, result.error
    m = result.metrics
    assert m["contents"] == 0 and m["roi"] is None and m["click_rate"] is None and m["budget"] is None
    assert result.flags == []
    page = (result.folder / "report.html").read_text(encoding="utf-8")
    assert "无数据：统计期内没有发布的达人内容" in page and "不给预算建议" in page
    assert "无数据：2025-01-25 至 2025-01-31 没有发布的达人内容" in page  # under the per-content table


def test_tier_bounds_are_parameters():
    narrow = content_funnel.Tiers(2_000_000, 100_000, 500_000, 5_000)
    df = content_funnel.contents(content_funnel_source(), dt.date(2026, 5, 2), dt.date(2026, 6, 30), narrow)
    tiers = df.groupby("creator")["tier"].first()
    assert tiers["穿搭阿May"] == "其他" and tiers["小鹿爱种草"] == "头部" and tiers["素颜日记本"] == "素人"
    default = content_funnel.contents(content_funnel_source(), dt.date(2026, 5, 2), dt.date(2026, 6, 30),
                                      content_funnel.Tiers(1_000_000, 100_000, 500_000, 10_000))
    tiers = default.groupby("creator")["tier"].first()
    assert tiers["橙子的日常"] == tiers["素颜日记本"] == "其他" and tiers["穿搭阿May"] == "头部"
    assert "50万–100万 之间和 1万 以下" in content_funnel.Tiers(1_000_000, 100_000, 500_000, 10_000).note().replace(
        "（不含）", "")


def content_funnel_source():
    from opsbook import sources
    return sources.open_source("data/sample")


def test_contradictory_or_out_of_bounds_parameters_are_refused_in_chinese():
    result = runner.run("content_funnel", {"waist_max": 2_000_000})
    assert result.exit_code == 2 and "腰部上限（2,000,000）< 头部下限（1,000,000）" in result.error
    result = runner.run("content_funnel", {"breakeven_roi": 3.0})
    assert result.exit_code == 2 and "保本 ROI（3）不能高于 ROI 警戒线（2）" in result.error
    with pytest.raises(ParamError, match="达人落后比例.*0 到 1"):
        runner.run("content_funnel", {"creator_ratio": 1.5})
    with pytest.raises(ParamError, match="统计天数"):
        runner.run("content_funnel", {"days": 0})


def test_duplicated_content_ids_are_refused_and_the_last_good_report_kept(shop):
    good = runner.run("content_funnel", {}, job="content_weekly")
    assert good.ok
    twice = shop(edit=("kol_content", lambda k: pd.concat([k, k.tail(1)], ignore_index=True)))
    bad = runner.run("content_funnel", {"source": twice}, job="content_weekly")
    assert bad.exit_code == 2 and "kol_content" in bad.error and "重复" in bad.error and "Traceback" not in bad.error
    assert records.store().latest("content_funnel") == good.folder


def test_a_missing_column_stops_the_run_in_chinese(shop):
    result = runner.run("content_funnel", {"source": shop(drop_columns={"kol_content": ["link_clicks"]})})
    assert result.exit_code == 2 and "kol_content 表缺少必需列 link_clicks（商品链接点击）" in result.error


def test_impossible_values_stop_the_run(shop):
    result = runner.run("content_funnel", {"source": shop(edit=("kol_content", lambda k: k.assign(
        carts=k["carts"].mask(k.index == 3, k["link_clicks"] + 5))))})
    assert result.exit_code == 2 and "加购数大于商品链接点击" in result.error


def test_without_repurchase_data_the_rate_is_not_shown(shop):
    result = runner.run("content_funnel", {"source": shop(drop_columns={"kol_content": ["repurchase_orders"]})})
    assert result.ok, result.error
    for name in ("层级汇总", "内容明细", "漏斗"):
        text = (result.folder / f"{name}.csv").read_text(encoding="utf-8-sig")
        assert "复购" not in text, name
    assert "数据中没有复购订单数" in (result.folder / "report.html").read_text(encoding="utf-8")


def test_hostile_names_stay_text_and_outside_sources_are_refused(shop):
    evil = "=HYPERLINK(\"http://x\",\"../../etc\")"
    src = shop(edit=("kol_content", lambda k: k.assign(creator=k["creator"].mask(
        k["content_id"] == sample_ops.NO_LINK_CONTENT, evil))))
    result = runner.run("content_funnel", {"source": src})
    assert result.ok, result.error
    detail = pd.read_csv(result.folder / "内容明细.csv", dtype={"内容ID": str}).set_index("内容ID")
    assert detail.at[sample_ops.NO_LINK_CONTENT, "达人昵称"] == "'" + evil
    outside = runner.run("content_funnel", {"source": "../../nope"})
    assert outside.exit_code == 2 and "Traceback" not in outside.error


def test_result_json_is_strict():
    """JD's week holds one 腰部 content (cost ¥6,900, GMV ¥12,480.32): the tiers without content have no ROI (null,
    never NaN), and the budget keeps 5 % trial shares for them (the 腰部 ROI 1.81 is under the line, but no tier above
    it can take budget: 90 % stays)."""
    result = runner.run("content_funnel", {"platform": "JD"})
    assert result.ok, result.error
    saved = json.loads((result.folder / "result.json").read_text(encoding="utf-8"),
                       parse_constant=lambda c: pytest.fail(c))
    assert saved["metrics"]["tier_roi"] == {"头部": None, "腰部": pytest.approx(12480.32 / 6900, abs=1e-6), "素人": None}
    assert saved["metrics"]["budget_split"] == {"头部": 345.0, "腰部": 6210.0, "素人": 345.0}


def test_a_tier_losing_money_is_flagged_for_operations_and_loses_budget(shop):
    """素人 content returning a third of its cost: the tier loses money (运营, high) and gives up budget by the rule."""
    src = shop(edit=("kol_content", lambda k: k.assign(gmv=k["gmv"].where(
        ~k["followers"].between(10_000, 99_999), (k["cost"] / 3).round(2)))))
    result = runner.run("content_funnel", {"source": src})
    assert result.ok, result.error
    flags = {f.code: f for f in result.flags}
    assert flags["kol.tier_loss"].severity == "high" and flags["kol.tier_loss"].owner == "运营"
    assert [r["tier"] for r in flags["kol.tier_loss"].sample] == ["素人"]
    assert result.metrics["tier_roi"]["素人"] == pytest.approx(1 / 3, abs=0.01)
    plan = pd.read_csv(result.folder / "下期预算建议.csv").set_index("达人层级")
    share, roi = plan.at["素人", "本期花费占比"], plan.at["素人", TIER_ROI]
    assert plan.at["素人", "建议占比"] == pytest.approx(share - min(share * (1 - roi / 2), 0.2))
    assert plan.at["素人", "依据"].startswith("ROI 0.33 低于警戒线 2：减")


def test_the_weekly_job_runs_the_week_before_its_monday():
    result = runner.run("content_funnel", {"as_of": "2026-06-28", "days": 7}, job="content_funnel")
    assert result.ok, result.error
    assert (result.metrics["first_day"], result.metrics["last_day"]) == ("2026-06-22", "2026-06-28")
    assert result.metrics["contents"] == len(week("2026-06-22", "2026-06-28"))


def test_a_period_after_the_data_says_the_sheet_is_missing_not_a_quiet_week():
    result = runner.run("content_funnel", {"as_of": "2026-07-12"})
    assert result.ok, result.error
    assert result.metrics["contents"] == 0 and result.flag_codes == {"kol.stale": "medium"}
    (flag,) = result.flags
    assert "只到 2026-06-30" in flag.message and flag.owner == "内容"
    # within the data, a quiet stretch is no such flag (the empty window before the data starts: nothing to say)
    assert runner.run("content_funnel", {"as_of": "2026-04-30"}).flags == []


def test_content_dated_in_the_future_is_said(shop):
    src = shop(edit=("kol_content", lambda k: k.assign(publish_date=k["publish_date"].mask(
        k.index < 2, pd.Timestamp("2031-01-01")))))
    from opsbook import sources
    flags = content_funnel.data_reach(sources.open_source(src), dt.date(2026, 6, 24), dt.date(2026, 6, 30),
                                      today=dt.date(2026, 7, 1))
    assert [(f.code, str(f.severity), f.owner) for f in flags] == [("kol.future_date", "low", "数据分析")]
    assert flags[0].message.startswith("2 条内容的发布日期晚于今天（2026-07-01）")


def test_every_tier_losing_money_is_not_said_to_be_cut(shop):
    """All content returns a third of its cost: no tier is above the ROI line to take budget, so the suggestion keeps
    the shares; the flag must not claim the budget was cut, and says to lower the total instead."""
    src = shop(edit=("kol_content", lambda k: k.assign(gmv=(k["cost"] / 3).round(2))))
    result = runner.run("content_funnel", {"source": src})
    assert result.ok, result.error
    flag = next(f for f in result.flags if f.code == "kol.tier_loss")
    plan = pd.read_csv(result.folder / "下期预算建议.csv").set_index("达人层级")
    assert plan["较本期占比变化"].abs().max() < 1e-9  # nothing moved
    assert "已按规则下调" not in flag.message and "减少下期总预算" in flag.message
    one = runner.run("content_funnel", {"source": shop(edit=("kol_content", lambda k: k.assign(gmv=k["gmv"].where(
        ~k["followers"].between(10_000, 99_999), (k["cost"] / 3).round(2)))))})
    assert "下期预算建议已按规则下调素人" in next(f for f in one.flags if f.code == "kol.tier_loss").message


def test_tier_bounds_reach_the_sql_only_as_whole_numbers():
    """The tiers' CASE is the one SQL text built from parameters: a bound that is no whole number never reaches it."""
    hostile = content_funnel.Tiers("1 THEN '头部' END, (SELECT 1) --", "100000", "500000", "10000")
    with pytest.raises(ValueError):
        hostile.sql()
    assert content_funnel.Tiers(1_000_000, 100_000, 500_000, 10_000).sql().startswith(
        "CASE WHEN followers >= 1000000 THEN")
