"""The replenishment lead time (sops.lead_time): one definition that inventory_watch and demand_forecast share, so
both report the same lead time for a SKU on a day — recomputed here from the purchase orders."""
import datetime as dt
import math

import pandas as pd
import pytest

from opsbook import sources
from opsbook.engine import runner
from opsbook.sops import demand_forecast, inventory_watch, lead_time

SAMPLE = sources.open_source("data/sample")


def test_both_playbooks_give_a_sku_the_same_lead_time():
    """On the same day with their default parameters, inventory_watch's 库存总览 and demand_forecast's 补货建议 show the
    same lead time and basis for every SKU — the median of its purchase orders received in the year before."""
    day = "2026-06-28"
    watch = runner.run("inventory_watch", {"as_of": day})
    plan = runner.run("demand_forecast", {"as_of": day})
    assert watch.ok and plan.ok, (watch.error, plan.error)
    a = pd.read_csv(watch.folder / "库存总览.csv").set_index("商家编码")[["补货提前期（天）", "提前期依据"]]
    b = pd.read_csv(plan.folder / "补货建议.csv").set_index("商家编码")[["补货提前期（天）", "提前期依据"]]
    both = a.join(b, suffixes=("_watch", "_plan"), how="inner")
    assert len(both) == 59
    assert (both["补货提前期（天）_watch"] == both["补货提前期（天）_plan"]).all()
    assert (both["提前期依据_watch"] == both["提前期依据_plan"]).all()
    po = pd.read_parquet("data/sample/purchase_orders.parquet")
    sku = "TM-01-L-2404"
    got = po[(po["sku"] == sku) & po["received_date"].notna() & (po["received_date"] <= day)
             & (po["received_date"] > pd.Timestamp(day) - pd.Timedelta(days=365))]
    days = (got["received_date"] - got["order_date"]).dt.days
    assert both.loc[sku, "补货提前期（天）_watch"] == math.ceil(days.median())
    assert both.loc[sku, "提前期依据_watch"] == f"采购单实际（{len(got)} 单）"
    html = (watch.folder / "report.html").read_text(encoding="utf-8")
    assert "库存预警与需求预测按同一口径计算" in html


def test_the_same_function_answers_for_both_and_stretches_over_the_spring_festival():
    skus = pd.Index(["TB-01-M-2403", "TM-01-L-2404", "NO-SUCH-SKU"])
    day = dt.date(2026, 6, 28)
    shared = lead_time.lead_times(SAMPLE, skus, day, default_days=7, min_orders=3)
    assert demand_forecast.lead_times(SAMPLE, skus, day, 7, 3).equals(shared[["lead_time_days", "lead_basis"]])
    watched = inventory_watch.lead_times(SAMPLE, day, default_days=7, min_orders=3, history_days=365).set_index("sku")
    assert watched.loc[skus[:2], "lead_time_days"].tolist() == shared.loc[skus[:2], "lead_time_days"].tolist()
    assert shared.loc["NO-SUCH-SKU", "lead_basis"] == "参数" and shared.loc["NO-SUCH-SKU", "lead_time_days"] == 7
    # ordered on 2026-02-08, a week's delivery waits for couriers back from 春节: the same stretch in both
    before = lead_time.lead_times(SAMPLE, skus, dt.date(2026, 2, 8), default_days=7, min_orders=0)
    assert before.loc["NO-SUCH-SKU", "lead_time_days"] == 22
    assert before.loc["NO-SUCH-SKU", "lead_basis"] == "参数＋春节物流停运 15 天"
    # 0 orders needed: the parameter for every SKU; a platform-wide history of a few days: too few orders
    assert set(lead_time.lead_times(SAMPLE, skus, day, default_days=9, min_orders=0)["lead_time_days"]) == {9}
    short = lead_time.lead_times(SAMPLE, skus, day, default_days=9, min_orders=3, history_days=1)
    assert set(short["lead_basis"]) == {"参数"}


@pytest.mark.parametrize("median, days", [(6.0, 6), (6.5, 7), (0.0, 1)])
def test_lead_times_are_whole_days_rounded_up(shop, median, days):
    """A SKU whose two purchase orders give a median of 6, 6.5 or 0 days gets 6, 7 and 1 days: whole days rounded up,
    never 0 (goods received the day they were ordered are on sale the day after at the earliest)."""
    def edit(po):
        po = po[po["sku"] == "TB-01-M-2403"].head(2).copy()
        po["order_date"] = pd.Timestamp("2026-06-01")
        low, high = (median - 0.5, median + 0.5) if median % 1 else (median, median)
        po["received_date"] = [pd.Timestamp("2026-06-01") + pd.Timedelta(days=math.floor(low)),
                               pd.Timestamp("2026-06-01") + pd.Timedelta(days=math.ceil(high))]
        po["due_date"] = po["received_date"]
        return po
    src = sources.open_source(shop(edit=("purchase_orders", edit)))
    got = lead_time.lead_times(src, ["TB-01-M-2403"], dt.date(2026, 6, 28), default_days=7, min_orders=2)
    assert got.loc["TB-01-M-2403", "lead_time_days"] == days and got.loc["TB-01-M-2403", "lead_basis"] == "采购单实际（2 单）"
