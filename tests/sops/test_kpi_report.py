"""kpi_report: periods without data, missing traffic, gap interpolation, unfinished periods."""
import datetime as dt
import json

import pandas as pd
import pytest

from opsbook import sources
from opsbook.engine import records, runner
from opsbook.sops import kpi_report

SAMPLE = sources.open_source("data/sample")


def test_kpi_period_without_orders_is_flagged_not_crashed(read_strict_json):
    result = runner.run("kpi_report", {"period": "日", "report_date": "2027-03-01"})
    assert result.ok, result.error
    assert [f.code for f in result.flags] == ["kpi.no_data"]
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
    kpis, gaps = kpi_report.series(SAMPLE, "月", dt.date(2026, 6, 15), 14)  # with last year: from 2024-05
    assert len(gaps) == 3  # the planted PDD gaps, not the days before the data starts
    before = kpis[kpis["bucket"] < dt.date(2024, 7, 1)]
    assert before["uv"].isna().all()


def test_unfinished_period_counts_only_days_up_to_the_report_date():
    wednesday = dt.date(2026, 6, 24)
    kpis, _ = kpi_report.series(SAMPLE, "周", wednesday, 4)
    current = kpis.set_index("bucket").loc[dt.date(2026, 6, 22)]
    assert current["days"] == 3 and current["period_share"] == pytest.approx(3 / 7)
    daily = sum(kpi_report.series(SAMPLE, "日", dt.date(2026, 6, d), 1)[0].set_index("bucket").loc[dt.date(2026, 6, d), "gmv"]
                for d in (22, 23, 24))
    assert current["gmv"] == pytest.approx(daily)
    _, cards = kpi_report.headline(kpi_report.comparison(kpis, "周", wednesday), "周", wednesday)
    assert cards["统计区间"] == "06-22 至 06-24（本期未结束）"


def test_tables_carry_the_playbooks_own_labels():
    """Columns only this playbook shows are labelled by its module, shared ones by the report."""
    result = runner.run("kpi_report", {})
    header = list(pd.read_csv(result.folder / "趋势明细.csv", nrows=0).columns)
    assert header[:4] == ["周期", "成交金额", "目标", "达成率"]
    assert {"新客数", "老客占比", "上期买家留存率", "搜索流量占比", "直播互动率"} <= set(header)
