"""products is keyed by platform + sku: a SKU listed on two platforms is two rows. The playbooks that join products to
what is kept per SKU (sales, stock, purchase orders) read it one row per SKU (`catalogue.by_sku`), so such a SKU counts
once — and a SKU whose listings disagree on its cost is refused, naming it."""
import datetime as dt

import pandas as pd
import pytest

from opsbook import sources
from opsbook.engine import runner
from opsbook.errors import DataError
from opsbook.sops import catalogue, inventory_watch, listing_audit, product_performance, supplier_review

TWIN = "TB-05-STD-2403"  # listed on 淘宝 in the sample; sells in June and has stock
SOURCED = "TB-03-10P-2312"  # listed on 淘宝; bought from one supplier only (a single-sourced SKU)
END = dt.date(2026, 6, 30)


def listed_twice(cost_delta: float = 0.0):
    """The sample's products with TWIN and SOURCED listed on 京东 too (another item id, a lower price, another title;
    TWIN's cost + `cost_delta`)."""
    def edit(df):
        twins = df[df["sku"].isin([TWIN, SOURCED])].assign(platform="JD", product_id="100099887766", price=99.0,
                                                            title="云栖 京东款")
        twins.loc[twins["sku"] == TWIN, "cost"] += cost_delta
        return pd.concat([df, twins], ignore_index=True)
    return edit


def performance(location: str) -> pd.DataFrame:
    src = sources.open_source(location)
    return product_performance.compute(src, "月", END, "全部", None, slow_days=30, abc_a=0.8, abc_b=0.15).frame


def stock(location: str) -> pd.DataFrame:
    src = sources.open_source(location)
    windows = inventory_watch.sales_windows(src, END, 28, True, 1.3)
    return inventory_watch.overview(src, END, windows, inventory_watch.lead_times(src, END, default_days=7, min_orders=3,
                                                                              history_days=365),
                                    default_lead_days=7, safety_factor=0.5, order_cover_days=14, stockout_days=30,
                                    slow_days=30, oversell_tolerance=0)


def test_a_sku_listed_on_two_platforms_counts_once_in_sales_stock_and_purchasing(shop):
    twice = shop(edit=("products", listed_twice()))
    assert len(pd.read_parquet(f"{twice}/products.parquet").query("sku in [@TWIN, @SOURCED]")) == 4
    once, both = performance("data/sample"), performance(twice)
    assert both[both["sku"] == TWIN]["gmv"].sum() > 0  # the SKU sells in the period: the comparison means something
    money = ["gmv", "orders", "units", "refund", "revenue", "cost_of_sales", "gross_profit", "ad_spend", "stock"]
    added = both["platform"].eq("JD") & both["sku"].isin([TWIN, SOURCED])  # each listing its row, without sales
    assert added.sum() == 2 and (both.loc[added, "orders"] == 0).all() and (both.loc[added, "gmv"] == 0).all()
    pd.testing.assert_frame_equal(both.loc[~added, ["sku", "platform", *money]].reset_index(drop=True),
                                  once[["sku", "platform", *money]])
    assert both["gmv"].sum() == pytest.approx(once["gmv"].sum()) and len(both) == len(once) + 2  # no row doubled
    a, b = stock("data/sample"), stock(twice)
    assert a.loc[a["sku"] == TWIN, "stock"].item() > 0
    pd.testing.assert_frame_equal(b, a)  # stock, daily sales, reorder point, cost: all as listed once
    single_once, _ = supplier_review.single_sourced(sources.open_source("data/sample"), END, 12, 3)
    single_twice, _ = supplier_review.single_sourced(sources.open_source(twice), END, 12, 3)
    assert SOURCED in set(single_once["sku"])
    pd.testing.assert_frame_equal(single_twice.drop(columns="platform"), single_once.drop(columns="platform"))
    # the platform of a SKU listed on two is none of them (orders and purchase orders are per SKU)
    assert pd.isna(single_twice.set_index("sku").at[SOURCED, "platform"])


def test_the_audit_flags_the_same_code_on_two_platforms_as_a_duplicate(shop):
    result = runner.run("listing_audit", {"source": shop(edit=("products", listed_twice()))})
    assert result.ok, result.error  # the load no longer stops: the audit's own check is reached
    audit = pd.read_csv(result.folder / "审核结果.csv", dtype=str)
    twins = audit[audit["商家编码"] == TWIN].set_index("平台")
    assert sorted(twins.index) == ["JD", "TB"] and (twins["结果"] == "不通过").all()
    assert "商家编码同时用于京东（JD）的商品（各平台的商家编码应唯一）" in twins.at["TB", "原因"]
    assert "商家编码同时用于淘宝（TB）的商品（各平台的商家编码应唯一）" in twins.at["JD", "原因"]
    assert "平台代码 TB 与商品所在平台 京东（JD）不一致" in twins.at["JD", "原因"]
    assert "标题含广告法极限词" not in twins.at["JD", "原因"]  # each listing with its own title
    (flag,) = [f for f in result.flags if f.code == "audit.sku_duplicate"]
    assert str(flag.severity) == "high" and flag.message.startswith("商家编码重复（4 个商品）：TB-03-10P-2312（JD） 商家编码同时用于淘宝（TB）的商品")
    assert result.metrics["listings"] == 61 and result.metrics["problems"]["sku_duplicate"] == 4


def test_a_sku_whose_listings_disagree_on_cost_is_refused_naming_it(shop):
    location = shop(edit=("products", listed_twice(cost_delta=3.0)))
    with pytest.raises(DataError) as info:
        catalogue.by_sku(sources.open_source(location))
    assert f"{TWIN}（JD ¥45.00、TB ¥42.00）" in info.value.message and "成本价不一致" in info.value.message
    assert catalogue.by_sku(sources.open_source(location), "name, platform")  # the cost not asked: not refused
    result = runner.run("product_performance", {"source": location})
    assert result.exit_code == 2 and f"{TWIN}（JD ¥45.00、TB ¥42.00）" in result.error


def test_one_row_per_sku_takes_each_column_by_its_rule(shop):
    src = sources.open_source(shop(edit=("products", listed_twice())))
    rows = src.sql(f"SELECT * FROM {catalogue.by_sku(src)} ORDER BY sku")
    assert rows["sku"].is_unique and len(rows) == 59
    twin = rows.set_index("sku").loc[TWIN]
    assert pd.isna(twin["platform"]) and pd.isna(twin["product_id"])  # listed on two platforms: neither
    assert twin["price"] == 99.0 and twin["cost"] == 42.0  # the lowest daily price; the one cost
    assert twin["title"] == "云栖 京东款"  # the first listing by platform code (JD before TB)
    other = rows.set_index("sku").loc["JD-05-STD-2403"]
    assert other["platform"] == "JD" and other["product_id"]  # listed once: its own platform and item id


def test_a_products_table_without_the_platform_column_is_keyed_by_sku(shop):
    """An older warehouse without platforms: a missing optional key column counts as empty, so two rows of one SKU
    are still duplicates that stop the run, and one row per SKU reads as before."""
    def edit(df):
        return pd.concat([df, df[df["sku"] == TWIN]], ignore_index=True).drop(columns=["platform"])
    result = runner.run("listing_audit", {"source": shop(edit=("products", edit))})
    assert result.exit_code == 2 and "products 表有 1 组重复的 platform+sku" in result.error
    plain = shop(drop_columns={"products": ["platform"]})
    audit = listing_audit.scope(sources.open_source(plain), "全部", "", "", END)[0]
    assert len(audit) == 59 and audit["sku"].is_unique
