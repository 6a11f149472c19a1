"""campaign_review: figures up to the reference day, both ROIs, the campaigns compared, thresholds as parameters."""
import datetime as dt

import pandas as pd
import pytest

from opsbook import sources
from opsbook.engine import runner
from opsbook.sops import campaign_review

SAMPLE = sources.open_source("data/sample")


def test_price_check_uses_paid_price_without_unit_price(shop):
    src = sources.open_source(shop(drop_columns={"orders": ["unit_price"]}))
    camp = campaign_review.pick(src, "CP-2605-TM", dt.date(2026, 6, 30))
    prices = campaign_review.price_check(src, camp, 30)
    assert (prices["status"] == "不合规").sum() >= 1


def test_campaign_review_without_ad_spend(shop, read_strict_json):
    result = runner.run("campaign_review", {"source": shop(drop_tables=["ad_spend"])})
    assert result.ok, result.error
    assert result.metrics["ad_roi"] is None and result.metrics["overall_roi"] is None
    read_strict_json(result.folder / "result.json")


def test_campaign_review_without_campaigns_is_exit_2(shop):
    result = runner.run("campaign_review", {"source": shop(drop_tables=["campaigns"])})
    assert result.exit_code == 2 and "没有 campaigns 表" in result.error


def test_a_running_campaign_counts_only_up_to_the_reference_day():
    """2026天猫618 on 2026-06-01: the figures of 05-20 … 06-01, recomputed here from the source files."""
    result = runner.run("campaign_review", {"campaign_id": "CP-2605-TM", "as_of": "2026-06-01"})
    assert result.ok, result.error
    orders, ads = pd.read_parquet("data/sample/orders.parquet"), pd.read_parquet("data/sample/ad_spend.parquet")
    paid = orders[orders["status"].isin(["paid", "shipped", "completed", "refunded"]) & orders["pay_time"].notna()
                  & ~orders["is_fake"]]
    mine = paid[(paid["campaign_id"] == "CP-2605-TM") & (paid["pay_time"].dt.date <= dt.date(2026, 6, 1))]
    spent = ads[(ads["campaign_id"] == "CP-2605-TM") & (ads["date"] <= "2026-06-01")]
    m = result.metrics
    assert m["last_day"] == "2026-06-01" and m["gmv"] == pytest.approx(mine["amount"].sum()) == pytest.approx(25661.50)
    assert m["spend"] == pytest.approx(spent["spend"].sum()) == pytest.approx(4508.68)
    assert m["ad_roi"] == pytest.approx(spent["gmv"].sum() / spent["spend"].sum()) == pytest.approx(2.097, abs=1e-3)
    assert m["overall_roi"] == pytest.approx(25661.50 / 4508.68)
    assert m["redemption"] is None  # coupon counts are totals of the whole campaign
    channels = pd.read_csv(result.folder / "渠道明细.csv")
    assert list(channels.columns) == ["渠道", "花费", "展现量", "点击量", "点击率", "平均点击花费", "广告成交金额", "广告 ROI"]
    assert channels["花费"].sum() == pytest.approx(4508.68) and channels["广告成交金额"].sum() == pytest.approx(9454.29)
    html = (result.folder / "report.html").read_text(encoding="utf-8")
    assert "进行中，截至 2026-06-01" in html and "整体 ROI（活动 GMV ÷ 总花费）" in html and "5.69" in html
    assert "广告 ROI（广告成交 ÷ 广告花费）" in html and "2.10" in html
    stock = pd.read_csv(result.folder / "热销品库存.csv")
    units = mine.groupby("sku")["quantity"].sum()
    assert stock.set_index("商家编码")["销量（件）"].to_dict() == {s: units[s] for s in stock["商家编码"]}


def test_compared_with_the_same_campaign_a_year_before_then_the_same_platform_and_type():
    camp = campaign_review.pick(SAMPLE, "CP-2605-TM", dt.date(2026, 6, 30))
    hist = campaign_review.past_campaigns(SAMPLE, camp, 3, dt.date(2026, 6, 18))
    assert hist["name"].tolist() == ["2026天猫618", "2025天猫618", "2025天猫双11", "2024天猫双11"]
    assert hist["basis"].tolist() == ["本次", "去年同期", "同平台同类型（TM 大促）", "同平台同类型（TM 大促）"]
    live = campaign_review.past_campaigns(SAMPLE, camp, 1, dt.date(2026, 6, 1))
    assert live["span"].tolist() == ["2026-05-20 至 2026-06-01", "2025-05-20 至 2025-06-01"]  # the same 13 days
    notes = campaign_review.notes(live, pd.DataFrame(columns=["channel", "ad_roi", "below_line"]),
                                  pd.DataFrame(columns=["status"]), pd.DataFrame(columns=["status"]), [],
                                  min_redemption=0.1, live=True)
    assert notes["对比"][0].startswith("2025天猫618（去年同期）") and "去年同期（2025天猫618）" in " ".join(notes["亮点"])


def test_thresholds_are_the_parameters():
    result = runner.run("campaign_review", {"campaign_id": "CP-2605-TM", "as_of": "2026-06-30", "min_redemption": 0.5,
                                            "hot_items": 3})
    assert any(f.code == "campaign.coupon" and "低于 50%" in f.message for f in result.flags)
    html = (result.folder / "report.html").read_text(encoding="utf-8")
    assert "券核销率低于 50%" in html and "保持当前节奏" not in html
    assert len(pd.read_csv(result.folder / "热销品库存.csv")) == 3
    live = runner.run("campaign_review", {"campaign_id": "CP-2605-TM", "as_of": "2026-06-10", "min_cover_days": 20})
    (low,) = [f for f in live.flags if f.code == "campaign.low_cover"]
    assert "不到 20 天" in low.message and low.rows >= 1


def test_hot_items_without_inventory_data_say_so(shop):
    for source, as_of in ((shop(drop_tables=["inventory"]), "2026-06-30"), ("data/sample", "2025-11-11")):
        result = runner.run("campaign_review", {"source": source, "as_of": as_of})
        stock = pd.read_csv(result.folder / "热销品库存.csv")
        assert (stock["检查结果"] == "无库存数据").all() and len(stock) == 5
        assert "campaign.no_stock_data" in result.flag_codes and "campaign.stockout" not in result.flag_codes


def test_a_reference_day_before_the_campaign_is_refused():
    result = runner.run("campaign_review", {"campaign_id": "CP-2605-TM", "as_of": "2026-05-01"})
    assert result.exit_code == 2 and "2026-05-20 才开始" in result.error


def test_price_check_table_is_labelled_by_the_playbook():
    result = runner.run("campaign_review", {})
    header = list(pd.read_csv(result.folder / "活动价检查.csv", nrows=0).columns)
    assert header == ["商家编码", "活动价", "活动前最低价", "检查结果"]


def test_a_campaign_without_sales_is_flagged_not_reported_as_fine(shop):
    result = runner.run("campaign_review", {"source": shop(drop_columns={"orders": ["campaign_id"]}),
                                            "campaign_id": "CP-2605-TM", "as_of": "2026-06-30"})
    assert result.ok and result.metrics["gmv"] == 0
    (flag,) = [f for f in result.flags if f.code == "campaign.no_sales"]
    assert flag.severity == "high" and "campaign_id" in flag.message and "CP-2605-TM" in flag.message


def test_a_campaign_without_ad_rows_spent_nothing_and_says_so(shop):
    result = runner.run("campaign_review", {"source": shop(edit=("ad_spend", lambda a: a[a["campaign_id"] != "CP-2605-JD"])),
                                            "campaign_id": "CP-2605-JD", "as_of": "2026-06-30"})
    assert result.metrics["spend"] == 0 and result.metrics["ad_roi"] is None and result.metrics["overall_roi"] is None
    assert "该活动在统计期内没有推广花费记录" in (result.folder / "report.html").read_text(encoding="utf-8")


def test_no_roi_alarm_on_a_campaigns_first_days():
    first_day = runner.run("campaign_review", {"campaign_id": "CP-2605-TM", "as_of": "2026-05-20"})
    assert "campaign.roi" not in first_day.flag_codes
    later = runner.run("campaign_review", {"campaign_id": "CP-2605-TM", "as_of": "2026-05-20", "roi_min_days": 1,
                                           "min_roi": 5})
    assert "campaign.roi" in later.flag_codes
