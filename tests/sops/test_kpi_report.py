"""kpi_report: periods without data, missing traffic, gap interpolation, unfinished periods."""
import datetime as dt
import json

import openpyxl
import pandas as pd
import pytest

from opsbook import sources
from opsbook.engine import records, runner
from opsbook.errors import DataError
from opsbook.sops import kpi_report

SAMPLE = sources.open_source("data/sample")


def test_kpi_period_without_orders_is_flagged_not_crashed(read_strict_json):
    result = runner.run("kpi_report", {"period": "日", "report_date": "2027-03-01"})
    assert result.ok, result.error
    assert [f.code for f in result.flags] == ["data.stale", "kpi.no_data"]
    assert "数据只到 2026-06-30，报告日期是 2027-03-01" in result.flags[0].message
    assert result.metrics["gmv"] is None
    read_strict_json(result.folder / "result.json")


def test_kpi_without_traffic_table_writes_strict_json(shop, read_strict_json):
    result = runner.run("kpi_report", {"source": shop(drop_tables=["traffic_daily"])})
    assert result.ok, result.error
    assert result.metrics["conversion"] is None and result.metrics["gmv"] > 0
    read_strict_json(result.folder / "result.json")
    for line in (records.store().root / "index.jsonl").read_text(encoding="utf-8").splitlines():
        json.loads(line, parse_constant=lambda c: pytest.fail(f"{c} in index.jsonl"))


def test_traffic_is_interpolated_inside_the_data_only():
    kpis = kpi_report.series(SAMPLE, "月", dt.date(2026, 6, 15), 26)  # from 2024-05: two months before the data
    assert len(kpis.gaps) == 3  # the planted PDD gaps, not the days before the data starts
    before = kpis.table[kpis.table["bucket"] < dt.date(2024, 7, 1)]
    assert len(before) == 2 and before["uv"].isna().all() and before["gmv"].isna().all()


def test_unfinished_period_counts_only_days_up_to_the_report_date():
    wednesday = dt.date(2026, 6, 24)
    kpis = kpi_report.series(SAMPLE, "周", wednesday, 4)
    current = kpis.table.set_index("bucket").loc[dt.date(2026, 6, 22)]
    assert current["days"] == 3 and current["period_share"] == pytest.approx(3 / 7)
    daily = sum(kpi_report.series(SAMPLE, "日", dt.date(2026, 6, d), 1).table.set_index("bucket").loc[dt.date(2026, 6, d), "gmv"]
                for d in (22, 23, 24))
    assert current["gmv"] == pytest.approx(daily)
    _, cards = kpi_report.headline(kpis, kpi_report.comparison(kpis, "周", wednesday), "周", wednesday)
    assert cards["统计区间"] == "06-22 至 06-24（本期未结束）"


def test_tables_carry_the_playbooks_own_labels():
    """Columns only this playbook shows are labelled by its module, shared ones by the report."""
    result = runner.run("kpi_report", {})
    header = list(pd.read_csv(result.folder / "趋势明细.csv", nrows=0).columns)
    assert header[:4] == ["周期", "成交金额", "目标", "达成率"]
    assert {"新客数", "老客占比", "复购率", "退款金额", "退款率", "搜索流量占比", "直播互动率"} <= set(header)
    assert "上期买家留存率" not in header


# -- headline numbers recomputed by hand from the source files ---------------------------------------------------
ORDERS = pd.read_parquet("data/sample/orders.parquet")
TRAFFIC = pd.read_parquet("data/sample/traffic_daily.parquet")
PAID = ORDERS[ORDERS["status"].isin(["paid", "shipped", "completed", "refunded"]) & ORDERS["pay_time"].notna()
              & ~ORDERS["is_fake"]].assign(day=lambda o: o["pay_time"].dt.date)


def by_hand(first: dt.date, last: dt.date, platform: str | None = None) -> dict:
    """GMV, buyers, AOV, conversion (daily buyers summed ÷ daily UV summed) and refunds of the days [first, last]."""
    paid = PAID[(PAID["day"] >= first) & (PAID["day"] <= last)]
    traffic = TRAFFIC[(TRAFFIC["date"].dt.date >= first) & (TRAFFIC["date"].dt.date <= last)]
    if platform:
        paid, traffic = paid[paid["platform"] == platform], traffic[traffic["platform"] == platform]
    gmv, buyers = paid["amount"].sum(), paid["customer_id"].nunique()
    day_buyers = paid.groupby("day")["customer_id"].nunique().sum()
    return {"gmv": gmv, "buyers": buyers, "aov": gmv / buyers, "conversion": day_buyers / traffic["uv"].sum(),
            "refund": paid["refund_amount"].fillna(0).sum()}


@pytest.mark.parametrize("period, report_date, first, last, platform", [
    ("日", "2026-06-29", dt.date(2026, 6, 29), dt.date(2026, 6, 29), "全部"),
    ("周", "2026-06-14", dt.date(2026, 6, 8), dt.date(2026, 6, 14), "全部"),
    ("月", "2026-05-31", dt.date(2026, 5, 1), dt.date(2026, 5, 31), "全部"),
    ("月", "2026-05-31", dt.date(2026, 5, 1), dt.date(2026, 5, 31), "TM"),
])
def test_headline_numbers_match_a_computation_by_hand(period, report_date, first, last, platform):
    """Traffic gaps (interpolated by the report) lie outside these periods, so raw UV sums must agree."""
    result = runner.run("kpi_report", {"period": period, "report_date": report_date, "platform": platform})
    hand = by_hand(first, last, None if platform == "全部" else platform)
    for key in ("gmv", "buyers", "aov", "conversion", "refund"):
        assert result.metrics[key] == pytest.approx(hand[key], rel=1e-9), key


def test_june_refunds_by_platform():
    result = runner.run("kpi_report", {"period": "月", "report_date": "2026-06-30", "max_refund_rate": 0.05})
    # 15,848.89 since the sample's high-refund SKU (sample.HIGH_REFUND) added 1,599.00 of June refunds to 14,249.89
    assert result.metrics["refund"] == pytest.approx(15848.89) and result.metrics["refund_rate"] == pytest.approx(0.0611, abs=1e-4)
    table = pd.read_csv(result.folder / "各平台退款.csv")
    june = PAID[PAID["pay_time"].dt.strftime("%Y-%m") == "2026-06"]
    per_platform = june.groupby("platform")["refund_amount"].sum()
    shown = table.set_index("平台")
    assert shown.loc["合计", "退款金额"] == pytest.approx(15848.89)
    for platform, refund in per_platform.items():
        assert shown.loc[platform, "退款金额"] == pytest.approx(refund)
    (flag,) = [f for f in result.flags if f.code == "kpi.refund_rate"]
    assert "退款率 6.1%" in flag.message and "高于 5%" in flag.message


def test_repurchase_rate_replaces_retention():
    result = runner.run("kpi_report", {"period": "周", "report_date": "2026-06-14", "repurchase_days": 60})
    week = PAID[(PAID["day"] >= dt.date(2026, 6, 8)) & (PAID["day"] <= dt.date(2026, 6, 14))]
    before = PAID[(PAID["day"] >= dt.date(2026, 6, 8) - dt.timedelta(days=60)) & (PAID["day"] < dt.date(2026, 6, 8))]
    buyers = set(week["customer_id"])
    assert result.metrics["repurchase_rate"] == pytest.approx(len(buyers & set(before["customer_id"])) / len(buyers))
    sheet = openpyxl.load_workbook(result.folder / "环比同比.xlsx").active
    rows = {r[0].value: r for r in sheet.iter_rows(min_row=2)}
    assert "上期买家留存率" not in rows and rows["复购率"][1].number_format == "0.0%"
    assert rows["老客占比"][1].number_format == "0.0%" and rows["退款金额"][1].number_format == "¥#,##0.00"


def test_the_week_after_618_is_not_an_alarm():
    result = runner.run("kpi_report", {"period": "周", "report_date": "2026-06-28"})
    (drop,) = [f for f in result.flags if f.code == "kpi.gmv_drop"]
    assert drop.severity == "low" and "环比下滑 60.7%" in drop.message and "上期含「618」大促" in drop.message
    assert "同比 +35.6%" in drop.message and "不作预警" in drop.message


def test_a_real_drop_stays_an_alarm(shop):
    def thin(orders):  # most orders of 2026-04-13 … 04-19 lost: no promotion, down on last year too
        day = orders["pay_time"].dt.strftime("%Y-%m-%d")
        return orders[~(day.between("2026-04-13", "2026-04-19") & (orders.index % 4 != 0))]
    result = runner.run("kpi_report", {"source": shop(edit=("orders", thin)), "period": "周", "report_date": "2026-04-19"})
    (drop,) = [f for f in result.flags if f.code == "kpi.gmv_drop"]
    assert drop.severity == "high" and "请排查" in drop.message


def test_a_shop_can_extend_the_promotion_calendar(tmp_path, monkeypatch):
    from opsbook.sops import calendar
    (tmp_path / "data" / "reference").mkdir(parents=True)
    (tmp_path / "data" / "reference" / "promotions.yaml").write_text(
        '- name: 店庆\n  dates: [{start: "2026-04-06", end: "2026-04-12"}]\n', encoding="utf-8")
    monkeypatch.setenv("OPSBOOK_HOME", str(tmp_path))
    assert [p.name for p in calendar.promotions(dt.date(2026, 4, 1), dt.date(2026, 4, 30))] == ["店庆"]
    (tmp_path / "data" / "reference" / "promotions.yaml").write_text('- name: 店庆\n  dates: [{start: "4月6日", end: x}]\n',
                                                                    encoding="utf-8")
    with pytest.raises(DataError, match="大促日历 .* 的日期 '4月6日' 不对"):
        calendar.promotions(dt.date(2026, 4, 1), dt.date(2026, 4, 30))


def test_targets_follow_last_years_days_and_platforms():
    kpis = kpi_report.series(SAMPLE, "月", dt.date(2026, 6, 30), 6, "全部", 2_000_000.0)
    assert kpis.notes[0] == "2026 年目标按 2025 年每日成交占比拆分"
    year_2025 = PAID[PAID["pay_time"].dt.year == 2025]
    share = year_2025[year_2025["pay_time"].dt.month == 6]["amount"].sum() / year_2025["amount"].sum()
    june = kpis.table.set_index("bucket").loc[dt.date(2026, 6, 1)]
    assert june["target"] == pytest.approx(2_000_000 * share, rel=1e-6)
    jd = kpi_report.series(SAMPLE, "月", dt.date(2026, 6, 30), 6, "JD", 2_000_000.0, "JD=600000, TM=900000").table
    jd_2025 = year_2025[year_2025["platform"] == "JD"]
    jd_share = jd_2025[jd_2025["pay_time"].dt.month == 6]["amount"].sum() / jd_2025["amount"].sum()
    assert jd.set_index("bucket").loc[dt.date(2026, 6, 1), "target"] == pytest.approx(600_000 * jd_share, rel=1e-6)
    none = kpi_report.series(SAMPLE, "月", dt.date(2026, 6, 30), 6, "PDD", 2_000_000.0, "JD=600000")
    assert none.table["target"].isna().all() and "未设置平台 PDD 的年度目标" in none.notes[0]
    flat = kpi_report.series(SAMPLE, "月", dt.date(2025, 6, 30), 6, "全部", 2_000_000.0)
    assert "2025 年目标按天数平均拆分（数据中没有完整的 2024 年）" in flat.notes[0]
    assert flat.table.set_index("bucket").loc[dt.date(2025, 6, 1), "target"] == pytest.approx(2_000_000 * 30 / 365)


def test_malformed_platform_targets_are_bad_parameters():
    result = runner.run("kpi_report", {"platform": "JD", "platform_targets": "京东=abc"})
    assert result.exit_code == 2 and "TM=800000, JD=500000" in result.error and not result.retryable


def test_daily_year_on_year_names_the_date_it_compares_with():
    day = kpi_report.series(SAMPLE, "日", dt.date(2026, 6, 29), 3)
    assert kpi_report.comparison_note(day, "日", dt.date(2026, 6, 29)) == \
        "环比对比 2026-06-28，同比对比 2025-06-30（去年同一个星期一）"
    result = runner.run("kpi_report", {"period": "日", "report_date": "2026-06-29"})
    assert "同比对比 2025-06-30（去年同一个星期一）" in (result.folder / "report.html").read_text(encoding="utf-8")


def test_red_line_measures_each_get_their_own_panel():
    from opsbook import charts
    recent = kpi_report.trend(kpi_report.series(SAMPLE, "周", dt.date(2026, 6, 28), 8), "周", dt.date(2026, 6, 28), 8)
    fig = charts.panels(recent, "period", [("conversion", "支付转化率", None), ("search_share", "搜索流量占比", 0.25),
                                           ("live_rate", "直播互动率", 0.15)], "转化率与红线指标")
    conversion, search, live = fig.axes
    assert conversion.get_title(loc="left") == "支付转化率" and len(conversion.lines) == 1
    assert search.lines[-1].get_ydata()[0] == 0.25 and live.lines[-1].get_ydata()[0] == 0.15
    assert conversion.get_ylim()[1] < 0.1 < live.get_ylim()[0]  # its own scale


def test_a_report_date_after_the_data_is_said_and_not_alarmed():
    """A weekly report for 06-29 … 07-05 when the data ends on 06-30: two days of data, compared as two days."""
    result = runner.run("kpi_report", {"period": "周", "report_date": "2026-07-05"})
    codes = {f.code: f for f in result.flags}
    assert codes["data.stale"].severity == "high" and "数据只到 2026-06-30" in codes["data.stale"].message
    assert "kpi.gmv_drop" not in codes or codes["kpi.gmv_drop"].severity == "low"
    assert result.metrics["gmv"] == pytest.approx(by_hand(dt.date(2026, 6, 29), dt.date(2026, 6, 30))["gmv"])
    assert "06-29 至 06-30（之后没有数据）" in (result.folder / "report.html").read_text(encoding="utf-8")


def test_an_unfinished_period_is_compared_with_as_many_days_in_the_table_and_the_flag():
    result = runner.run("kpi_report", {"period": "周", "report_date": "2026-06-24"})
    table = pd.read_csv(result.folder / "环比同比.csv").set_index("指标")
    previous = by_hand(dt.date(2026, 6, 15), dt.date(2026, 6, 17))
    last_year = by_hand(dt.date(2025, 6, 23), dt.date(2025, 6, 25))  # week-aligned: 52 weeks before
    assert table.loc["成交金额", "上期"] == pytest.approx(previous["gmv"])
    assert table.loc["成交金额", "去年同期"] == pytest.approx(last_year["gmv"])
    yoy = table.loc["成交金额", "同比"]
    (drop,) = [f for f in result.flags if f.code == "kpi.gmv_drop"]
    assert f"同比 {yoy * 100:+.1f}%" in drop.message and "与上期前 3 天对比" in drop.message  # one figure, two places
    assert "上期和去年同期也只取前 3 天" in (result.folder / "report.html").read_text(encoding="utf-8")


def test_a_day_without_sales_is_zero_not_missing():
    result = runner.run("kpi_report", {"period": "日", "report_date": "2026-04-15", "platform": "PDD"})
    assert result.metrics["gmv"] == 0 and result.metrics["buyers"] == 0 and result.metrics["conversion"] == 0
    assert "kpi.no_data" not in result.flag_codes
    sheet = openpyxl.load_workbook(result.folder / "环比同比.xlsx").active
    assert all(cell.data_type == "n" for row in sheet.iter_rows(min_row=2, min_col=2) for cell in row if cell.value is not None)


def test_traffic_missing_on_the_report_day_is_a_gap():
    result = runner.run("kpi_report", {"period": "日", "report_date": "2026-04-17", "platform": "PDD"})
    (gaps,) = [f for f in result.flags if f.code == "kpi.traffic_gaps"]
    assert {"platform": "PDD", "date": "2026-04-17"} in gaps.sample and result.metrics["conversion"] is None


@pytest.mark.parametrize("period, report_date", [("日", "2024-06-30"), ("周", "2028-06-07"), ("月", "2024-05-31")])
def test_dates_outside_the_data_are_said_not_crashed(period, report_date):
    result = runner.run("kpi_report", {"period": period, "report_date": report_date})
    assert result.ok, result.error
    assert "kpi.no_data" in result.flag_codes


def test_a_change_against_nothing_is_no_change_and_the_excel_is_written(runs_root):
    kpis = kpi_report.series(SAMPLE, "日", dt.date(2026, 2, 3), 30)
    table = kpi_report.comparison(kpis, "日", dt.date(2026, 2, 3)).set_index("key")
    assert table.loc["refund", "last_year"] == 0 and pd.isna(table.loc["refund", "yoy"])  # not +inf
    from opsbook.engine import runner
    result = runner.run("kpi_report", {"report_date": "2026-02-03", "period": "日"})
    assert result.ok, result.error
    assert (result.folder / "环比同比.xlsx").is_file()
