"""Tests for the deterministic demo-shop generator (opsbook.data.sample)."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from opsbook.data import sample, tables
from opsbook.settings import TZ_NAME

LINES = 20_000
NAMES = ("products", "orders", "traffic_daily", "campaigns", "campaign_items", "ad_spend", "inventory")
PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def read(folder) -> dict[str, pd.DataFrame]:
    """Every generated table as written."""
    return {name: pd.read_parquet(folder / f"{name}.parquet") for name in NAMES}


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """A 20k-line shop generated once for the module: (folder, returned row counts, frames)."""
    folder = tmp_path_factory.mktemp("gen") / "shop"
    rows = sample.generate(LINES, folder)
    return folder, rows, read(folder)


@pytest.fixture(scope="module")
def orders(shop):
    """Orders with a local calendar date column."""
    o = shop[2]["orders"].copy()
    o["day"] = o["order_time"].dt.tz_localize(None).dt.normalize()
    return o


def test_every_table_written_and_valid(shop):
    folder, rows, frames = shop
    assert set(rows) == set(NAMES)
    assert sorted(p.name for p in folder.parent.iterdir()) == ["shop"], "temp folder left behind"
    for name, frame in frames.items():
        assert list(frame.columns) == list(tables.SCHEMAS[name]), name
        assert rows[name] == len(frame) > 0, name
        tables.validate(name, frame)
    assert abs(rows["orders"] - LINES) / LINES < 0.05


def test_column_types(shop):
    frames = shop[2]
    o = frames["orders"]
    assert str(o["order_time"].dt.tz) == TZ_NAME and str(o["pay_time"].dt.tz) == TZ_NAME
    for name, frame in frames.items():
        for col in tables.SCHEMAS[name].values():
            if col.kind == "str":
                assert frame[col.name].dtype == "str", (name, col.name)
            if col.kind == "date":
                values = frame[col.name]
                assert values.dt.tz is None and (values == values.dt.normalize()).all(), (name, col.name)
            if col.kind == "float":
                assert (frame[col.name].dropna().round(2) == frame[col.name].dropna()).all(), (name, col.name)


def test_products(shop):
    p = shop[2]["products"]
    assert 40 <= len(p) <= 60 and p["sku"].is_unique
    assert p["sku"].str.fullmatch(r"(TB|TM|JD|DY|PDD)-0[1-5]-[A-Z0-9]+-\d{4}").all()
    assert (p["cost"] < p["price"]).all()
    margin = 1 - p["cost"] / p["price"]
    assert margin.min() < 0.3 and margin.max() > 0.7
    assert set(p["category"]) == {"服饰", "3C数码", "美妆", "食品", "家居"}


def test_orders_are_consistent(shop, orders):
    o = orders
    assert o["line_id"].is_unique
    lines = o.groupby("order_id").size()
    assert 0.1 < (lines > 1).mean() < 0.35 and lines.max() <= 3
    assert o.groupby("order_id")[["customer_id", "platform", "order_time"]].nunique().max().max() == 1
    assert np.allclose(o["amount"], (o["unit_price"] * o["quantity"] - o["discount"]).round(2))
    unpaid = o["status"].isin(["unpaid", "closed"])
    assert o.loc[unpaid, "pay_time"].isna().all() and o.loc[~unpaid, "pay_time"].notna().all()
    assert (o.loc[~unpaid, "pay_time"] >= o.loc[~unpaid, "order_time"]).all()
    assert (o.loc[o["status"] != "refunded", "refund_amount"] == 0).all()
    refunded = o[o["status"] == "refunded"]
    assert len(refunded) and (refunded["refund_amount"] > 0).all()
    assert (refunded["refund_amount"] <= refunded["amount"]).all()
    share = o["status"].value_counts(normalize=True)
    assert share["completed"] > 0.75 and 0.02 < share["closed"] < 0.1
    recent = o[o["day"] >= o["day"].max() - pd.Timedelta(days=3)]
    assert recent["status"].isin(["paid", "shipped"]).mean() > 0.5
    assert o["platform"].value_counts(normalize=True).between(0.05, 0.45).all()
    assert set(o["sku"]) <= set(shop[2]["products"]["sku"])
    assert (o["sku"].str.split("-").str[0] == o["platform"]).all()


def test_campaign_ids_match_windows(shop, orders):
    c = shop[2]["campaigns"]
    assert 12 <= len(c) <= 16
    for row in c.itertuples():
        inside = (orders["platform"] == row.platform) & orders["day"].between(row.start_date, row.end_date)
        assert (orders.loc[inside, "campaign_id"] == row.campaign_id).all()
        assert not (orders.loc[~inside, "campaign_id"] == row.campaign_id).any()
    assert orders["campaign_id"].notna().any() and orders["campaign_id"].isna().any()
    redemption = c["coupons_used"] / c["coupons_issued"].where(c["coupons_issued"] > 0)
    assert (redemption < 0.10).any() and (redemption > 0.15).any()


def test_deterministic(shop, tmp_path):
    again = read_after(tmp_path / "again", seed=7)
    for name, frame in shop[2].items():
        pd.testing.assert_frame_equal(frame, again[name], obj=name)
        assert (shop[0] / f"{name}.parquet").read_bytes() == (tmp_path / "again" / f"{name}.parquet").read_bytes()
    other = read_after(tmp_path / "other", seed=8)
    assert not other["orders"].equals(shop[2]["orders"])


def read_after(folder, seed):
    """Generate the module's shop again with a seed and read it back."""
    sample.generate(LINES, folder, seed=seed)
    return read(folder)


def test_fake_orders_present(orders):
    fake = orders[orders["is_fake"]]
    assert 0.001 < len(fake) / len(orders) < 0.01
    per_customer = fake.groupby("customer_id").agg(n=("order_id", "nunique"), skus=("sku", "nunique"),
                                                   span=("order_time", lambda t: t.max() - t.min()))
    assert ((per_customer["n"] >= 8) & (per_customer["skus"] == 1)
            & (per_customer["span"] <= pd.Timedelta(hours=1))).any()


def test_low_roi_channel(shop):
    ads = shop[2]["ad_spend"]
    totals = ads.groupby(["campaign_id", "channel"])[["gmv", "spend"]].sum()
    roi = totals["gmv"] / totals["spend"]
    assert (roi < 1.5).sum() >= 1 and (roi > 1.5).mean() > 0.8
    assert set(ads["channel"]) == {"直通车", "万相台", "引力魔方", "京东快车", "巨量千川", "多多搜索"}


def test_promo_price_compliance_fault(shop, orders):
    items = shop[2]["campaign_items"].merge(shop[2]["campaigns"], on="campaign_id")
    assert items.groupby("campaign_id").size().between(5, 10).all()
    verdicts = []
    for row in items.itertuples():
        before = orders[(orders["sku"] == row.sku) & (orders["day"] < row.start_date)
                        & (orders["day"] >= row.start_date - pd.Timedelta(days=30))]
        if len(before):
            verdicts.append(row.promo_price < before["unit_price"].min())
    assert not all(verdicts) and np.mean(verdicts) > 0.8


def test_traffic(shop, orders):
    t = shop[2]["traffic_daily"]
    days = t.groupby("platform")["date"].nunique()
    assert days.min() < days.max(), "expected a gap in one platform's dates"
    paid = orders[orders["pay_time"].notna() & ~orders["is_fake"]]
    buyers = paid.groupby(["day", "platform"])["order_id"].nunique().rename("buyers")
    joined = t.set_index(["date", "platform"]).join(buyers.rename_axis(["date", "platform"]), how="inner")
    assert (joined["buyers"] <= joined["uv"]).all()
    conversion = joined["buyers"].sum() / t["uv"].sum()
    assert 0.02 < conversion < 0.05
    t = t.assign(search=t["search_uv"] / t["uv"], live=t["live_interactions"] / t["live_uv"])
    recent = t[t["date"] > t["date"].max() - pd.Timedelta(days=30)]
    assert t["search"].median() > 0.3 and (recent.groupby("platform")["search"].min() < 0.25).any()
    assert (t["bounce_uv"] <= t["uv"]).all() and (t["pv"] >= t["uv"]).all() and (t["new_uv"] <= t["uv"]).all()
    assert t["live"].median() > 0.15 and (t.loc[t["platform"] == "DY", "live"] < 0.15).any()


def test_repeat_buyers(orders):
    real = orders[~orders["is_fake"]]
    per_customer = real.groupby("customer_id")["order_id"].nunique()
    assert 0.15 <= (per_customer >= 2).mean() <= 0.60
    assert per_customer.max() >= 8
    assert real["customer_id"].str.fullmatch(r"C\d{6,}").all()


def test_festival_months_beat_their_neighbours(orders):
    real = orders[~orders["is_fake"] & orders["pay_time"].notna()]
    gmv = real.groupby(real["day"].dt.to_period("M"))["amount"].sum()
    for peak in ("2024-11", "2025-06", "2025-11", "2026-06"):
        month = pd.Period(peak, "M")
        for neighbour in (month - 1, month + 1):
            if neighbour in gmv.index:
                assert gmv[month] > gmv[neighbour] * 1.1, (peak, str(neighbour))


def test_spring_festival_dip(orders):
    daily = orders.groupby("day").size()
    around = daily["2025-01-27":"2025-02-04"].mean()
    before = daily["2024-12-01":"2024-12-31"].mean()
    assert around < 0.75 * before


def test_inventory(shop, orders):
    inv = shop[2]["inventory"]
    assert inv["date"].nunique() == 120 and inv["date"].max() == orders["day"].max()
    c = shop[2]["campaigns"]
    last = c[c["kind"] == "大促"].sort_values("start_date").iloc[-1]
    during = inv[inv["date"].between(last.start_date, last.end_date)]
    assert (during.groupby("sku")["stock"].min() <= 2).sum() >= 2
    assert (inv["stock"] == 0).mean() < 0.02, "stock-outs should be the exception"
    assert (inv["stock"] >= 0).all()


def test_no_plain_phone_numbers(shop):
    for name, frame in shop[2].items():
        for col in frame.columns:
            if frame[col].dtype == "str":
                hits = [v for v in frame[col].dropna().unique() if PHONE.search(v)]
                assert not hits, (name, col, hits[:3])
    phones = shop[2]["orders"]["phone"].dropna()
    assert phones.str.fullmatch(r"1[3-9]\d\*{4}\d{4}").all()


def test_committed_sample_is_what_the_generator_makes(tmp_path):
    """data/sample is `opsbook sample --orders 20000` (seed 7): regenerate it when the generator changes."""
    import pandas as pd
    from opsbook import paths
    sample.generate(20_000, tmp_path / "fresh")
    committed = paths.root() / "data" / "sample"
    for table in NAMES:
        pd.testing.assert_frame_equal(pd.read_parquet(committed / f"{table}.parquet"),
                                      pd.read_parquet(tmp_path / "fresh" / f"{table}.parquet"), obj=table)
