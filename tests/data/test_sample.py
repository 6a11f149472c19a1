"""Tests for the deterministic demo-shop generator (opsbook.data.sample)."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from opsbook.data import sample, sample_ops, tables
from opsbook.settings import TZ_NAME

LINES = 20_000
NAMES = ("products", "orders", "traffic_daily", "campaigns", "campaign_items", "ad_spend", "inventory", "product_traffic",
         "candidates", "suppliers", "purchase_orders")
NAMES += sample_ops.OPS_TABLES  # the operations tables (shipments, cs_sessions, reviews, …)
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
                values = frame[col.name].dropna()
                assert values.dt.tz is None and (values == values.dt.normalize()).all(), (name, col.name)
            if col.kind == "float":
                assert (frame[col.name].dropna().round(2) == frame[col.name].dropna()).all(), (name, col.name)


def test_products(shop):
    p = shop[2]["products"]
    assert 40 <= len(p) <= 60 and p["sku"].is_unique
    codes = p["sku"].str.fullmatch(r"(TB|TM|JD|DY|PDD)-0[1-5]-[A-Z0-9]+-\d\d(0[1-9]|1[0-2])")
    assert p.loc[~codes, "sku"].tolist() == list(sample.SKU_CODES.values())  # the planted malformed code only
    assert (p["sku"].str.split("-").str[0] == p["platform"]).all()
    assert p.loc[p["cost"] >= p["price"], "sku"].tolist() == [listing(p, sample.PRICE_BELOW_COST)["sku"]]
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


# ---------------------------------------------------------------- the goods tables and their planted faults

def listing(products: pd.DataFrame, key: tuple[str, str]) -> pd.Series:
    """The products row of a listing named by (design name, platform), as the fault constants name them."""
    (i,) = products.index[(products["name"] == sample.BRAND + key[0]) & (products["platform"] == key[1])]
    return products.loc[i]


@pytest.fixture(scope="module")
def paid(orders):
    """Real paid order lines (what the generator counts as sold)."""
    return orders[~orders["is_fake"] & orders["status"].isin(tables.PAID_STATUSES)]


@pytest.fixture(scope="module")
def end(orders):
    """The last day of the shop."""
    return orders["day"].max()


def test_listing_faults(shop, end):
    from opsbook.sops import compliance
    p = shop[2]["products"]
    gbk = p["title"].map(lambda t: len(t.encode("gbk")))
    assert p.loc[gbk > 60, "sku"].tolist() == [listing(p, sample.LONG_TITLE)["sku"]] and gbk.max() == 68
    worded = p[p["title"].map(lambda t: bool(compliance.terms_in(t)))]
    assert worded["sku"].tolist() == [listing(p, sample.FORBIDDEN_TITLE)["sku"]] and "最" in worded["title"].iloc[0]
    assert p["title"].str.startswith(sample.BRAND).all()
    assert p.loc[p["main_images"] < 5, "sku"].tolist() == [listing(p, sample.FEW_IMAGES)["sku"]]
    assert listing(p, sample.FEW_IMAGES)["main_images"] == 3 and p["main_images"].max() <= 9
    assert listing(p, sample.BAD_SKU_CODE)["sku"] == "TB-05-3P-2460"
    assert p["product_id"].is_unique and p["product_id"].str.fullmatch(r"\d{12}|3\d{18}").all()
    assert (p["product_id"].str.len() == 19).eq(p["platform"] == "DY").all()


def test_qualifications_follow_the_reference_list_with_two_faults(shop, end):
    from opsbook.sops import compliance
    p = shop[2]["products"]
    needed = [bool(compliance.requirements(c, n)) for c, n in zip(p["category"], p["name"])]
    assert p["qualification_expiry"].notna().tolist() == needed and sum(needed) > 20
    expired = listing(p, sample.EXPIRED_QUALIFICATION)["qualification_expiry"]
    expiring = listing(p, sample.EXPIRING_QUALIFICATION)["qualification_expiry"]
    assert expired == end - pd.Timedelta(days=18) and expiring == end + pd.Timedelta(days=12)
    assert compliance.requirements(*listing(p, sample.EXPIRED_QUALIFICATION)[["category", "name"]])[0].category == "化妆品"
    assert compliance.requirements(*listing(p, sample.EXPIRING_QUALIFICATION)[["category", "name"]])[0].category == "食品"
    soon = p["qualification_expiry"] <= end + pd.Timedelta(days=30)
    assert sorted(p.loc[soon, "sku"]) == sorted(listing(p, k)["sku"] for k in (sample.EXPIRED_QUALIFICATION,
                                                                                 sample.EXPIRING_QUALIFICATION))


def test_price_and_margin_faults(shop, paid):
    p = shop[2]["products"].set_index("sku")
    below = listing(shop[2]["products"], sample.PRICE_BELOW_COST)
    assert below["cost"] == 258 and below["price"] == 249
    lines = paid.groupby("sku").agg(amount=("amount", "sum"), refund=("refund_amount", "sum"), units=("quantity", "sum"))
    profit = lines["amount"] - lines["refund"] - p["cost"].reindex(lines.index) * lines["units"]
    negative = listing(shop[2]["products"], sample.NEGATIVE_MARGIN)
    assert negative["price"] > negative["cost"]  # listed above cost; discounts and refunds make it a loss
    row = lines.loc[negative["sku"]]
    assert row["amount"] < negative["cost"] * row["units"] and profit[negative["sku"]] < 0
    assert sorted(profit[profit < 0].index) == sorted([negative["sku"], below["sku"]])


def test_high_refund_sku(shop, paid):
    sku = listing(shop[2]["products"], sample.HIGH_REFUND)["sku"]
    totals = paid.groupby("sku")[["refund_amount", "amount"]].sum()
    rate = totals["refund_amount"] / totals["amount"]
    assert rate[sku] > 0.25 and rate.drop(sku).max() < 0.15


def test_slow_mover_holds_stock_without_sales(shop, paid, end):
    sku = listing(shop[2]["products"], sample.SLOW_MOVER)["sku"]
    last_sale = paid.groupby("sku")["day"].max()
    assert last_sale[sku] <= end - pd.Timedelta(days=45)
    assert (last_sale.drop(sku) >= end - pd.Timedelta(days=30)).all(), "only the slow mover goes 30 days unsold"
    inv = shop[2]["inventory"]
    assert inv.loc[(inv["sku"] == sku) & (inv["date"] == end), "stock"].item() > 0


def test_product_traffic_matches_the_orders(shop, orders, paid):
    pt, p = shop[2]["product_traffic"], shop[2]["products"]
    pt = pt.merge(p[["platform", "product_id", "sku", "title"]], on=["platform", "product_id"], how="left")
    assert pt["sku"].notna().all() and (pt["name"] == pt["title"]).all()
    sold = paid.groupby(["sku", "day"]).agg(lines=("line_id", "size"), gmv=("amount", "sum"))
    joined = pt.set_index(["sku", "date"]).join(sold.rename_axis(["sku", "date"]), how="left").fillna({"lines": 0, "gmv": 0})
    assert (joined["pay_buyers"] == joined["lines"]).all()
    assert np.allclose(joined["pay_amount"], joined["gmv"].round(2), atol=0.006)
    assert set(sold.index) <= set(zip(pt["sku"], pt["date"])), "every paid line falls on a listed day"
    for small, big in (("pay_buyers", "uv"), ("pay_buyers", "order_buyers"), ("cart_uv", "uv"), ("search_uv", "uv"),
                       ("search_pay_buyers", "search_uv"), ("search_pay_buyers", "pay_buyers"), ("uv", "pv")):
        assert (pt[small] <= pt[big]).all(), (small, big)
    assert 0.02 < pt["pay_buyers"].sum() / pt["uv"].sum() < 0.08
    shop_uv = shop[2]["traffic_daily"].groupby(["date", "platform"])["uv"].sum()
    ratio = (pt.groupby(["date", "platform"])["uv"].sum() / shop_uv).dropna()
    assert 0.8 < ratio.median() < 1.3


def test_high_traffic_low_conversion_listing(shop, end):
    pt, p = shop[2]["product_traffic"], shop[2]["products"]
    recent = pt[pt["date"] > end - pd.Timedelta(days=30)].groupby(["platform", "product_id"])[["uv", "pay_buyers"]].sum()
    conversion = recent["pay_buyers"] / recent["uv"]
    odd = tuple(listing(p, sample.LOW_CONVERSION)[["platform", "product_id"]])
    assert recent["uv"].idxmax() == odd
    selling = conversion[recent["pay_buyers"] > 0].drop(odd)  # the slow mover has visitors and no buyers
    assert conversion[odd] < conversion.median() / 3 and selling.min() > 2 * conversion[odd]


def test_inventory_follows_sales_and_purchase_orders(shop, paid):
    inv, po = shop[2]["inventory"], shop[2]["purchase_orders"]
    sold = paid.groupby(["sku", "day"])["quantity"].sum()
    got = po.dropna(subset=["received_date"]).assign(good=lambda f: f["received_qty"] - f["defect_qty"])
    arrived = got.groupby(["sku", "received_date"])["good"].sum()
    inv = inv.sort_values(["sku", "date"]).reset_index(drop=True)
    key = list(zip(inv["sku"], inv["date"]))
    inv["sold"] = sold.reindex(key, fill_value=0).to_numpy()
    inv["arrived"] = arrived.reindex(key, fill_value=0).to_numpy()
    prev = inv.groupby("sku")["stock"].shift()
    expected = (prev + inv["arrived"] - inv["sold"]).clip(lower=0)
    assert (inv["stock"] == expected)[prev.notna()].all(), "stock = yesterday's + good units received − units sold"
    assert inv["arrived"].sum() > 0 and (inv["stock"] >= 0).all()
    start, stop = po["order_date"].to_numpy(), po["received_date"].fillna(pd.Timestamp("2100-01-01")).to_numpy()
    for sku, day, transit in inv[["sku", "date", "in_transit"]].sample(300, random_state=1).itertuples(index=False):
        mine = (po["sku"] == sku).to_numpy() & (start <= day) & (stop > day)
        assert transit == po.loc[mine, "ordered_qty"].sum(), (sku, day)


def test_oversold_listing_and_platform_stock(shop, end):
    inv, p = shop[2]["inventory"], shop[2]["products"]
    platform = inv["sku"].map(p.set_index("sku")["platform"])
    assert inv.loc[platform == "PDD", "platform_stock"].isna().all()  # not linked to the ERP
    assert inv.loc[platform != "PDD", "platform_stock"].notna().all()
    over = inv[inv["platform_stock"] > inv["stock"]]
    sku = listing(p, sample.OVERSOLD)["sku"]
    assert set(over["sku"]) == {sku} and len(over) == 5 and over["date"].max() == end


def test_purchase_orders_and_suppliers(shop, end):
    po, sup, p = shop[2]["purchase_orders"], shop[2]["suppliers"], shop[2]["products"]
    assert set(po["supplier_id"]) <= set(sup["supplier_id"]) and set(po["sku"]) <= set(p["sku"])
    assert po["order_date"].min() >= end - pd.Timedelta(days=365) and po["po_id"].str.fullmatch(r"PO\d{8}").all()
    done = po[po["received_date"].notna()]
    waiting = po[po["received_date"].isna()]
    assert (waiting["received_qty"] == 0).all() and (waiting["defect_qty"] == 0).all() and len(waiting) >= 1
    assert (done["received_qty"] > done["ordered_qty"]).any() and (done["received_qty"] < done["ordered_qty"]).any()
    on_time = (done["received_date"] <= done["due_date"]).groupby(done["supplier_id"]).mean()
    assert on_time[sample.LATE_SUPPLIER] < 0.3 and on_time.drop(sample.LATE_SUPPLIER).min() > 0.8
    totals = done.groupby("supplier_id")[["defect_qty", "received_qty"]].sum()
    defects = totals["defect_qty"] / totals["received_qty"]
    assert defects[sample.DEFECTIVE_SUPPLIER] > 0.05 and defects.drop(sample.DEFECTIVE_SUPPLIER).max() < 0.03
    sources = po.groupby("sku")["supplier_id"].nunique()
    single = set(p.loc[p["name"] == sample.BRAND + sample.SINGLE_SOURCED, "sku"])
    assert (sources[sorted(single)] == 1).all() and len(single) == 4
    assert (sources.drop(sorted(single))[po.groupby("sku").size() >= 3] == 2).all()
    rows = {sid: (months, tier) for sid, _, months, tier, *_ in sample.SUPPLIERS}
    for s in sup.itertuples():
        months = (end.year - s.since.year) * 12 + end.month - s.since.month - (end.day < s.since.day)
        assert months == rows[s.supplier_id][0] and s.capacity_per_week > 0
    assert sup["tier"].isna().sum() == 1 and sup.loc[sup["tier"].isna(), "supplier_id"].item() == "SUP10"


def _verdict(c, sensitive: bool) -> tuple[int, str]:
    """选品评估 with the default bands of SOP-CATALOG §1: total of 15 and recommendation."""
    demand = next((s for lo, s in ((100_000, 5), (50_000, 4), (20_000, 3), (5_000, 2)) if c.monthly_search >= lo), 1)
    margin = (c.price - c.cost) / c.price
    profit = next((s for lo, s in ((0.5, 5), (0.4, 4), (0.3, 3), (0.2, 2)) if margin >= lo), 1)
    supply = 5 if c.supplier_months >= 12 else 4 if c.supplier_months >= 6 else 3 if c.has_qualification else 1
    total = demand + profit + supply
    blocked = margin <= 0.30 or c.search_growth <= 0.05 or (sensitive and not c.has_qualification)
    return total, "放弃" if blocked or total < 10 else "引入" if total >= 13 else "小批量试销"


def test_candidates_cover_every_recommendation(shop):
    from opsbook.sops import compliance
    c, sup = shop[2]["candidates"], shop[2]["suppliers"]
    assert c["candidate_id"].tolist() == list(sample.CANDIDATE_CASES)
    months = {sid: m for sid, _, m, *_ in sample.SUPPLIERS}
    assert c["supplier_months"].tolist() == [months.get(s, 0) if isinstance(s, str) else 0 for s in c["supplier_id"]]
    assert set(c["supplier_id"].dropna()) <= set(sup["supplier_id"])
    verdicts = {}
    for row in c.itertuples():
        total, verdict = _verdict(row, bool(compliance.requirements(row.category, row.name)))
        case = sample.CANDIDATE_CASES[row.candidate_id]
        assert re.search(rf"= {total}\b", case) and f"→ {verdict}" in case, (row.candidate_id, total, verdict, case)
        verdicts[row.candidate_id] = verdict
    assert set(verdicts.values()) == {"引入", "小批量试销", "放弃"}
    assert verdicts["XP-01"] == "小批量试销" and "seed" in sample.CANDIDATE_CASES["XP-01"]


def test_the_cli_writes_every_table_and_convert_copies_them(tmp_path, capsys):
    from opsbook import sources
    from opsbook.ui import cli
    assert cli.main(["sample", "--orders", "3000", "--out", str(tmp_path / "shop")]) == 0
    written = {p.stem for p in (tmp_path / "shop").glob("*.parquet")}
    assert written == set(NAMES)
    assert cli.main(["convert", str(tmp_path / "shop"), str(tmp_path / "shop.duckdb")]) == 0
    out = capsys.readouterr().out
    duck = sources.open_source(str(tmp_path / "shop.duckdb"))
    assert set(duck.names()) == written
    for name in written:
        assert f"{name}: " in out
        assert len(duck.table(name)) == len(pd.read_parquet(tmp_path / "shop" / f"{name}.parquet")), name


def test_the_committed_duckdb_copy_holds_every_table(sample_duckdb):
    from opsbook import sources
    assert set(sources.open_source(str(sample_duckdb)).names()) == set(sources.open_source("data/sample").names()) >= set(NAMES)
