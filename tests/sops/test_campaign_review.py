"""campaign_review: the paid price as baseline, missing ad spend, missing campaigns."""
import datetime as dt

import pandas as pd

from opsbook import sources
from opsbook.engine import runner
from opsbook.sops import campaign_review


def test_price_check_uses_paid_price_without_unit_price(shop):
    src = sources.open_source(shop(drop_columns={"orders": ["unit_price"]}))
    camp = campaign_review.pick(src, "CP-2605-TM", dt.date(2026, 6, 30))
    prices = campaign_review.price_check(src, camp, 30)
    assert (prices["status"] == "不合规").sum() >= 1


def test_campaign_review_without_ad_spend(shop, read_strict_json):
    result = runner.run("campaign_review", {"source": shop(drop_tables=["ad_spend"])})
    assert result.ok, result.error
    assert result.metrics["roi"] is None
    read_strict_json(result.folder / "result.json")


def test_campaign_review_without_campaigns_is_exit_2(shop):
    result = runner.run("campaign_review", {"source": shop(drop_tables=["campaigns"])})
    assert result.exit_code == 2 and "没有 campaigns 表" in result.error


def test_price_check_table_is_labelled_by_the_playbook():
    result = runner.run("campaign_review", {})
    header = list(pd.read_csv(result.folder / "活动价检查.csv", nrows=0).columns)
    assert header == ["商家编码", "活动价", "活动前最低价", "检查结果"]
