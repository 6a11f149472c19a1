"""Playbooks on awkward but legal inputs: periods without data, missing optional tables and columns."""
import datetime as dt
import json
import shutil

import pandas as pd
import pytest

from opsbook import campaign, kpi, paths, runner, sources
from opsbook.errors import DataError

SAMPLE = sources.open_source("data/sample")


def shop(tmp_path, drop_tables=(), drop_columns=None, edit=None):
    """A copy of the sample shop without some tables/columns, or with one table edited."""
    for path in paths.resolve("data/sample").glob("*.parquet"):
        if path.stem not in drop_tables:
            shutil.copy(path, tmp_path / path.name)
    for table, cols in (drop_columns or {}).items():
        pd.read_parquet(tmp_path / f"{table}.parquet").drop(columns=cols).to_parquet(tmp_path / f"{table}.parquet")
    if edit:
        table, fn = edit
        fn(pd.read_parquet(tmp_path / f"{table}.parquet")).to_parquet(tmp_path / f"{table}.parquet")
    return str(tmp_path)


def strict_json(path):
    return json.loads(path.read_text(encoding="utf-8"), parse_constant=lambda c: pytest.fail(f"{c} in {path}"))


def test_kpi_period_without_orders_is_flagged_not_crashed():
    result = runner.run("kpi_report", {"period": "日", "report_date": "2027-03-01"})
    assert result.ok, result.error
    assert [f["code"] for f in result.flags] == ["kpi.no_data"]
    assert result.metrics["gmv"] is None
    strict_json(result.folder / "result.json")


def test_kpi_without_traffic_table_writes_strict_json(tmp_path):
    result = runner.run("kpi_report", {"source": shop(tmp_path, drop_tables=["traffic_daily"])})
    assert result.ok, result.error
    assert result.metrics["conversion"] is None and result.metrics["gmv"] > 0
    strict_json(result.folder / "result.json")
    for line in (paths.runs() / "index.jsonl").read_text(encoding="utf-8").splitlines():
        json.loads(line, parse_constant=lambda c: pytest.fail(f"{c} in index.jsonl"))


def test_traffic_is_interpolated_inside_the_data_only():
    kpis, gaps = kpi.series(SAMPLE, "月", dt.date(2026, 6, 15), 14)  # with last year: from 2024-05
    assert len(gaps) == 3  # the planted PDD gaps, not the days before the data starts
    before = kpis[kpis["bucket"] < dt.date(2024, 7, 1)]
    assert before["uv"].isna().all()


def test_price_check_uses_paid_price_without_unit_price(tmp_path):
    src = sources.open_source(shop(tmp_path, drop_columns={"orders": ["unit_price"]}))
    camp = campaign.pick(src, "CP-2605-TM", dt.date(2026, 6, 30))
    prices = campaign.price_check(src, camp, 30)
    assert (prices["status"] == "不合规").sum() >= 1


def test_campaign_review_without_ad_spend(tmp_path):
    result = runner.run("campaign_review", {"source": shop(tmp_path, drop_tables=["ad_spend"])})
    assert result.ok, result.error
    assert result.metrics["roi"] is None
    strict_json(result.folder / "result.json")


def test_campaign_review_without_campaigns_is_exit_2(tmp_path):
    result = runner.run("campaign_review", {"source": shop(tmp_path, drop_tables=["campaigns"])})
    assert result.exit_code == 2 and "没有 campaigns 表" in result.error


def test_user_tiering_without_coupon_counts(tmp_path):
    result = runner.run("user_tiering", {"source": shop(tmp_path, drop_columns={"campaigns": ["coupons_used"]})})
    assert result.ok, result.error


def test_bad_values_in_big_tables_are_caught_before_analysis(tmp_path):
    def spoil(df):
        df.loc[:99, "status"] = "交易成功"
        df.loc[100:104, "amount"] = -1.0
        return df
    src = sources.open_source(shop(tmp_path, edit=("orders", spoil)))
    with pytest.raises(DataError) as info:
        src.check("orders")
    text = "\n".join(info.value.problems)
    assert "status（订单状态）有 100 行不在" in text and "amount（实付金额）有 5 行小于 0" in text


def test_unfinished_period_counts_only_days_up_to_the_report_date():
    wednesday = dt.date(2026, 6, 24)
    kpis, _ = kpi.series(SAMPLE, "周", wednesday, 4)
    current = kpis.set_index("bucket").loc[dt.date(2026, 6, 22)]
    assert current["days"] == 3 and current["period_share"] == pytest.approx(3 / 7)
    daily = sum(kpi.series(SAMPLE, "日", dt.date(2026, 6, d), 1)[0].set_index("bucket").loc[dt.date(2026, 6, d), "gmv"]
                for d in (22, 23, 24))
    assert current["gmv"] == pytest.approx(daily)
    _, cards = kpi.headline(kpi.comparison(kpis, "周", wednesday), "周", wednesday)
    assert cards["统计区间"] == "06-22 至 06-24（本期未结束）"
