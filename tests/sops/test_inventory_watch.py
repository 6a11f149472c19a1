"""inventory_watch: days of cover, reorder points and quantities, slow movers, oversell risk and the stockout rate —
recomputed here from the sample's files; odd dates, one platform, missing or hostile data."""
import datetime as dt
import math
import subprocess
import sys

import pandas as pd
import pytest

from opsbook import sources
from opsbook.data import sample, tables
from opsbook.engine import runner
from opsbook.errors import DataError, ParamError
from opsbook.sops import inventory_watch

SAMPLE = sources.open_source("data/sample")
END = dt.date(2026, 6, 30)


def listing_sku(key: tuple[str, str]) -> str:
    products = pd.read_parquet("data/sample/products.parquet")
    return products.loc[(products["name"] == sample.BRAND + key[0]) & (products["platform"] == key[1]), "sku"].item()


def paid_units() -> pd.Series:
    """Units of paid, non-brushed order lines per (sku, day of payment), straight from the orders file."""
    o = pd.read_parquet("data/sample/orders.parquet")
    paid = o[o["status"].isin(tables.PAID_STATUSES) & o["pay_time"].notna() & ~o["is_fake"].fillna(False)]
    day = paid["pay_time"].dt.tz_convert("Asia/Shanghai").dt.tz_localize(None).dt.normalize()
    return paid.groupby([paid["sku"], day])["quantity"].sum()


def day_states() -> pd.DataFrame:
    """Every snapshot of the sample with the day before's closing stock, the units paid that day and whether it is a
    stockout day: started (the day before's closing) and ended at zero, or, without the day before's snapshot, ended
    at zero without a sale. Every other day the SKU had stock to sell — by pandas alone."""
    inv = pd.read_parquet("data/sample/inventory.parquet").sort_values(["sku", "date"], ignore_index=True)
    inv = inv.join(paid_units().rename("units"), on=["sku", "date"]).fillna({"units": 0})
    before = inv.groupby("sku")["date"].shift() == inv["date"] - pd.Timedelta(days=1)
    inv["prev"] = inv.groupby("sku")["stock"].shift().where(before)
    inv["out"] = (inv["stock"] <= 0) & ((inv["prev"] <= 0) | (inv["prev"].isna() & (inv["units"] == 0)))
    return inv


def view(src=SAMPLE, day=END, **kw):
    """The overview with the notebook's default parameters (overridable)."""
    args = dict(sales_days=28, skip=True, uplift=1.3, lead=7, history=365, po_orders=3, safety_factor=0.5,
                order_cover_days=14, stockout_days=30, slow_days=30, oversell_tolerance=0, platform="全部") | kw
    windows = inventory_watch.sales_windows(src, day, args["sales_days"], args["skip"], args["uplift"])
    leads = inventory_watch.lead_times(src, day, default_days=args["lead"], min_orders=args["po_orders"],
                                       history_days=args["history"])
    return inventory_watch.overview(src, day, windows, leads, platform=args["platform"], default_lead_days=args["lead"],
                                    safety_factor=args["safety_factor"], order_cover_days=args["order_cover_days"],
                                    stockout_days=args["stockout_days"], slow_days=args["slow_days"],
                                    oversell_tolerance=args["oversell_tolerance"])


def test_headline_numbers_recomputed_from_the_files():
    """The default run on the sample: stockout rate, average daily sales and days of cover of a SKU, the oversold
    and the slow-moving listing — each recomputed with pandas over the parquet files."""
    result = runner.run("inventory_watch", {})
    assert result.ok, result.error
    inv = day_states()
    last30 = inv[(inv["date"] > pd.Timestamp(END) - pd.Timedelta(days=30)) & (inv["date"] <= pd.Timestamp(END))]
    rate = last30["out"].sum() / len(last30)  # stockout SKU-days (nothing to sell all day) ÷ SKU-days listed
    assert result.metrics["stockout_rate"] == pytest.approx(rate, abs=1e-6) == pytest.approx(20 / 1770, abs=1e-6)
    assert result.metrics["skus"] == inv.loc[inv["date"] == pd.Timestamp(END), "sku"].nunique() == 59

    # average daily sales of TM-01-M-2403 over the 28 days outside 618 (05-20 … 06-20) ending 06-30 — every platform
    # took part in it —, counting only days it had stock: not its stockout days after it sold out, whose orders (taken
    # with an empty warehouse) are left out too
    days = [d for d in pd.date_range("2026-05-02", END) if not pd.Timestamp("2026-05-20") <= d <= pd.Timestamp("2026-06-20")]
    assert len(days) == 28
    sku = "TM-01-M-2403"
    mine = inv[inv["sku"] == sku].set_index("date").reindex(days)
    avg = mine.loc[~mine["out"], "units"].sum() / (~mine["out"]).sum()
    assert mine["out"].sum() == 5 and mine.loc[mine["out"], "units"].sum() == 18  # 06-21 … 06-25: sold, no stock
    table = pd.read_csv(result.folder / "库存总览.csv").set_index("商家编码")
    assert table.loc[sku, "日均销量"] == pytest.approx(round(avg, 2))
    assert table.loc[sku, "有货天数"] == 23
    assert table.loc[sku, "可售天数"] == pytest.approx(round(mine["stock"].iloc[-1] / avg, 1))
    assert table.loc[sku, "断货天数"] == last30.loc[last30["sku"] == sku, "out"].sum() == 9

    oversold = pd.read_csv(result.folder / "超卖风险.csv")
    odd = listing_sku(sample.OVERSOLD)
    now = inv[(inv["date"] == pd.Timestamp(END)) & (inv["sku"] == odd)].iloc[0]
    assert oversold[["商家编码", "超出件数", "超卖起始日期", "持续天数"]].values.tolist() == \
        [[odd, now["platform_stock"] - now["stock"], "2026-06-26", 5]]
    slow = pd.read_csv(result.folder / "滞销清单.csv")
    quiet = listing_sku(sample.SLOW_MOVER)
    last_sale = paid_units().xs(quiet, level="sku").index.max()
    assert slow["商家编码"].tolist() == [quiet]
    assert slow.loc[0, "最近成交日期"] == f"{last_sale:%Y-%m-%d}" and slow.loc[0, "无销量天数"] == (pd.Timestamp(END) - last_sale).days
    flags = {f.code: f for f in result.flags}
    assert flags["inventory.oversell"].owner == "仓储/运营" and flags["inventory.oversell"].severity == "high"
    assert [r["sku"] for r in flags["inventory.slow_mover"].sample] == [quiet]
    assert {r["sku"] for r in flags["inventory.stockout_rate"].sample[:2]} == {"TM-01-L-2404", "TM-01-M-2403"}
    assert (result.folder / "补货清单.xlsx").is_file() and "今天没有需要补货的商品" in \
        (result.folder / "report.html").read_text(encoding="utf-8")


def hot_skus() -> list[str]:
    """The two best sellers (units) of Tmall during its 618 (05-20 … 06-20), from the orders file."""
    o = pd.read_parquet("data/sample/orders.parquet")
    paid = o[o["status"].isin(tables.PAID_STATUSES) & ~o["is_fake"].fillna(False) & (o["platform"] == "TM")]
    day = paid["pay_time"].dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
    during = paid[(day >= "2026-05-20") & (day < "2026-06-21")]
    return sorted(during.groupby("sku")["quantity"].sum().nlargest(2).index)


def test_hot_skus_sold_out_during_618_are_out_of_stock_and_on_the_replenish_list():
    day = dt.date(2026, 6, 17)
    v = view(day=day)
    restock = inventory_watch.replenish(v)
    assert sorted(restock["sku"]) == hot_skus() == ["TM-01-L-2404", "TM-01-M-2403"]
    assert set(restock["status"]) == {inventory_watch.OUT}
    assert (restock["order_qty"] >= restock["reorder_point"]).all() and (restock["in_transit"] == 0).all()
    found = inventory_watch.findings(v, restock, inventory_watch.slow_movers(v, 30), inventory_watch.oversell(
        SAMPLE, v, day, 0), inventory_watch.stockout_rate(v), max_stockout_rate=0.003, stockout_days=30, slow_days=30)
    (out,) = [f for f in found if f.code == "inventory.out_of_stock"]
    assert out.severity == "high" and sorted(r["sku"] for r in out.sample) == hot_skus() and "无在途" in out.message
    assert "inventory.replenish" not in {f.code for f in found}  # out-of-stock SKUs are flagged once, as such


def test_order_quantity_is_net_of_in_transit(shop):
    """The same day with 20 units of TM-01-L-2404 on their way: the suggestion is 20 units smaller; with 50 on their
    way stock and transit are above the reorder point: nothing to order."""
    day, sku = dt.date(2026, 6, 17), "TM-01-L-2404"

    def transit(units):
        def edit(inv):
            hit = (inv["sku"] == sku) & (inv["date"] == pd.Timestamp(day))
            return inv.assign(in_transit=inv["in_transit"].mask(hit, units))
        return edit
    before = view(day=day).set_index("sku").loc[sku]
    after = view(src=sources.open_source(shop(edit=("inventory", transit(20)))), day=day).set_index("sku").loc[sku]
    assert after["in_transit"] == 20 and after["order_qty"] == before["order_qty"] - 20
    assert after["status"] == inventory_watch.OUT
    window, _ = inventory_watch.sales_window(day, 28, True)  # 618 still running: the last 28 days
    mine = day_states().query("sku == @sku").set_index("date").reindex(pd.to_datetime(window))
    avg = mine.loc[~mine["out"], "units"].mean()  # the days it had stock, its sell-out day 06-15 included
    rop = math.ceil(round(avg * before["lead_time_days"], 6)) + math.ceil(round(avg * before["lead_time_days"] * 0.5, 6))
    assert before["reorder_point"] == rop
    assert before["order_qty"] == math.ceil(round(rop + avg * 14 - 0 - 0, 6))


def test_lead_time_from_purchase_orders_else_the_supplier_else_the_parameter(shop):
    po = pd.read_parquet("data/sample/purchase_orders.parquet")
    leads = inventory_watch.lead_times(SAMPLE, END, default_days=7, min_orders=3, history_days=365).set_index("sku")
    assert len(leads) == 59  # every SKU listed on the day, each with a lead time
    sku = "TM-03-10P-2312"
    mine = po[(po["sku"] == sku) & po["received_date"].notna()
              & (po["received_date"] > pd.Timestamp(END) - pd.Timedelta(days=365))]
    assert leads.loc[sku, "lead_time_days"] == math.ceil((mine["received_date"] - mine["order_date"]).dt.days.median())
    assert leads.loc[sku, "lead_basis"] == f"采购单实际（{len(mine)} 单）"
    # SUP06 promises 5 days and is late three times in four: its SKUs wait longer than SUP03's
    assert leads[leads["supplier_id"] == "SUP06"]["lead_time_days"].mean() > \
        leads[leads["supplier_id"] == "SUP03"]["lead_time_days"].mean() + 1
    # a SKU with too few orders of its own takes its latest supplier's median
    few = inventory_watch.lead_times(SAMPLE, END, default_days=7, min_orders=40, history_days=365).set_index("sku")
    theirs = po[(po["supplier_id"] == few.loc[sku, "supplier_id"]) & po["received_date"].notna()
                & (po["received_date"] > pd.Timestamp(END) - pd.Timedelta(days=365))]
    assert len(mine) < 40 <= len(theirs)
    assert few.loc[sku, "lead_time_days"] == math.ceil((theirs["received_date"] - theirs["order_date"]).dt.days.median())
    assert few.loc[sku, "lead_basis"] == f"供应商 {few.loc[sku, 'supplier_id']} 的采购单实际（{len(theirs)} 单）"
    # without purchase orders: every SKU takes the parameter, in transit comes from the snapshots
    bare = view(src=sources.open_source(shop(drop_tables=["purchase_orders"])), lead=9)
    assert (bare["lead_time_days"] == 9).all() and set(bare["lead_basis"]) == {"参数"}
    assert bare["in_transit"].sum() == view()["in_transit"].sum()


def test_in_transit_from_purchase_orders_when_the_snapshot_has_none(shop):
    src = sources.open_source(shop(drop_columns={"inventory": ["in_transit", "platform_stock"]}))
    v = view(src=src)
    assert v.set_index("sku")["in_transit"].to_dict() == view().set_index("sku")["in_transit"].to_dict()
    assert v["platform_stock"].isna().all() and inventory_watch.oversell(src, v, END, 0).empty
    assert "59 个商品没有平台库存数据" in inventory_watch.oversell_note(v, inventory_watch.oversell(src, v, END, 0))


def test_big_promotions_are_left_out_of_the_sales_window_unless_running():
    window, skipped = inventory_watch.sales_window(END, 28, True)
    assert window[0] == dt.date(2026, 5, 2) and window[-1] == END and len(window) == 28
    assert not any(dt.date(2026, 5, 20) <= d <= dt.date(2026, 6, 20) for d in window)
    assert [p.name for p in skipped] == ["618"]
    windows = inventory_watch.sales_windows(SAMPLE, END, 28, True, 1.3)
    assert all(days == window for days in windows.days.values())  # every platform of the sample sold more in 618
    note = inventory_watch.window_note(windows)
    assert "日均销量按 2026-05-02 至 2026-06-30 中的 28 天计算" in note
    assert "「618」大促（05-20 至 06-20）期间 TB 的日均销量是日常的" in note and "剔除大促期间" in note
    during, skipped = inventory_watch.sales_window(dt.date(2026, 6, 10), 28, True)  # 618 still running: it counts
    assert during[0] == dt.date(2026, 5, 14) and skipped == []
    plain, _ = inventory_watch.sales_window(END, 28, False)
    assert plain[0] == dt.date(2026, 6, 3)


def test_thresholds_are_the_parameters():
    more = view(safety_factor=3.0)
    assert len(inventory_watch.replenish(more)) > 0 and len(inventory_watch.replenish(view())) == 0
    row = more[more["order_qty"] > 0].iloc[0]
    assert row["stock"] + row["in_transit"] <= row["reorder_point"]
    assert inventory_watch.slow_movers(view(slow_days=7), 7)["sku"].nunique() > 1
    assert inventory_watch.oversell(SAMPLE, view(oversell_tolerance=35), END, 35).empty
    result = runner.run("inventory_watch", {"max_stockout_rate": 0.05, "safety_factor": 3.0})
    assert "inventory.stockout_rate" not in result.flag_codes and result.flag_codes["inventory.replenish"] == "medium"
    assert result.metrics["order_units"] == pd.read_csv(result.folder / "补货清单.csv")["建议补货量"].sum() > 0


def test_one_platform_and_a_platform_without_stock(shop):
    tm = view(platform="TM")
    products = pd.read_parquet("data/sample/products.parquet")
    assert set(tm["platform"]) == {"TM"} and len(tm) == (products["platform"] == "TM").sum() == 15
    pdd = view(platform="PDD")
    assert pdd["platform_stock"].isna().all() and "PDD，平台未与 ERP 对接" in inventory_watch.oversell_note(pdd, pdd.iloc[0:0])
    only_tm = shop(edit=("inventory", lambda inv: inv[inv["sku"].str.startswith("TM-")]))
    with pytest.raises(DataError, match="没有平台 JD 的商品（有库存快照的平台：TM）"):
        view(src=sources.open_source(only_tm), platform="JD")


def test_a_late_snapshot_is_used_and_said(shop):
    result = runner.run("inventory_watch", {"as_of": "2026-07-05"})
    assert result.ok and result.metrics["day"] == "2026-06-30"
    (flag,) = [f for f in result.flags if f.code == "inventory.stale"]
    assert flag.severity == "high" and "库存快照只到 2026-06-30" in flag.message
    before = runner.run("inventory_watch", {"as_of": "2025-06-30"})
    assert before.exit_code == 2 and "2025-06-30 当天及之前没有库存快照（现有库存快照从 2026-03-03 到 2026-06-30）" in before.error


def test_orders_ending_before_the_snapshot_are_flagged_not_read_as_no_sales(shop):
    """JD's orders imported only up to 06-20 (traffic data is complete): its SKUs would look unsold for ten days."""
    late = pd.Timestamp("2026-06-21", tz="Asia/Shanghai")
    cut = shop(edit=("orders", lambda o: o[(o["platform"] != "JD") | o["pay_time"].isna() | (o["pay_time"] < late)]))
    result = runner.run("inventory_watch", {"source": cut})
    assert result.ok, result.error
    (flag,) = [f for f in result.flags if f.code == "data.stale"]
    assert flag.severity == "high" and "JD 的订单只到 2026-06-20" in flag.message and "TM" not in flag.message


def test_bad_parameters_are_refused_in_chinese():
    with pytest.raises(ParamError, match="安全系数.*应在 0 到 3 之间"):
        runner.run("inventory_watch", {"safety_factor": 5})
    with pytest.raises(ParamError, match="平台.*只能取"):
        runner.run("inventory_watch", {"platform": "淘宝"})


def test_a_missing_column_names_table_and_column_in_chinese(shop):
    result = runner.run("inventory_watch", {"source": shop(drop_columns={"inventory": ["stock"]})})
    assert result.exit_code == 2 and "inventory 表缺少必需列 stock（可售库存）" in result.error


def test_a_missing_table_is_named(shop):
    result = runner.run("inventory_watch", {"source": shop(drop_tables=["inventory"])})
    assert result.exit_code == 2 and "没有 inventory 表" in result.error


def test_duplicated_snapshots_stop_the_run(shop):
    twice = shop(edit=("inventory", lambda inv: pd.concat([inv, inv.tail(1)], ignore_index=True)))
    result = runner.run("inventory_watch", {"source": twice})
    assert result.exit_code == 2 and "inventory" in result.error and "重复" in result.error


def test_hostile_sku_codes_stay_text(shop):
    evil = "=HYPERLINK(\"http://x\",\"../../etc\")"
    odd = listing_sku(sample.OVERSOLD)
    src = shop(edit=("inventory", lambda inv: inv.assign(sku=inv["sku"].replace(odd, evil))))
    result = runner.run("inventory_watch", {"source": src})
    assert result.ok, result.error
    over = pd.read_csv(result.folder / "超卖风险.csv")
    assert over["商家编码"].tolist() == ["'" + evil]
    assert not any(p.name.startswith(".") or "etc" in p.name for p in result.folder.iterdir())


def test_negative_stock_counts_as_out_of_stock(shop):
    """An ERP's negative stock (orders beyond what it holds) is none: out of stock now, and a stockout day once a day
    starts and ends below zero."""
    sku, last2 = "TB-05-STD-2403", [pd.Timestamp(END) - pd.Timedelta(days=1), pd.Timestamp(END)]
    src = sources.open_source(shop(edit=("inventory", lambda inv: inv.assign(
        stock=inv["stock"].mask((inv["sku"] == sku) & inv["date"].isin(last2), -3)))))
    row = view(src=src).set_index("sku").loc[sku]
    assert row["status"].startswith(inventory_watch.OUT) and row["stockout_days"] == 1 and row["cover_days"] == 0


def test_the_duckdb_file_gives_the_folder_numbers(sample_duckdb):
    on_file = runner.run("inventory_watch", {"source": str(sample_duckdb)})
    assert on_file.ok, on_file.error
    on_folder = runner.run("inventory_watch", {})
    assert on_file.metrics == on_folder.metrics and on_file.flag_codes == on_folder.flag_codes


DY_HEADER = ["主订单编号", "子订单编号", "支付方式", "选购商品", "商品ID", "商家编码", "商品规格", "商品数量", "商品单价",
             "商品金额", "订单应付金额", "运费", "优惠总金额", "订单提交时间", "支付完成时间", "发货时间", "订单完成时间",
             "订单状态", "售后状态", "收件人", "收件人手机号", "省", "市", "区", "街道", "详细地址"]


def test_on_a_warehouse_filled_by_ingest(tmp_path):
    """Orders from an 抖店 export, stock from the shop's 库存快照 sheet (ten days, saved by Excel in GBK) and a 聚水潭
    商品库存 list of the last day (no date column: the day from its file name), all through `opsbook ingest`."""
    rows = [["\t69213%07d" % i, "`69213%07d1" % i, "抖音支付", "运动手表", "'3712345%d" % i, "DY-02-M-2603", "黑色", "2",
             "299.00", "598.00", "578.00", "0", "20.00", f"2026/6/{d} 10:00:00", f"2026/6/{d} 10:10:00", "-", "-",
             "已完成", "-", "张%d" % i, "1391234567%d" % i, "浙江省", "杭州市", "西湖区", "文三路", "文三路 %d 号" % i]
            for i, d in enumerate((1, 3, 5))]
    export = tmp_path / "dy.csv"
    export.write_bytes("\n".join(",".join(r) for r in [DY_HEADER] + rows).encode("gbk"))
    days = pd.date_range("2026-05-27", "2026-06-05")
    stock = [10, 10, 10, 10, 10, 8, 8, 6, 6, 0]  # two sold on 06-01, 06-03 and 06-05; the last pair emptied it
    sheet = tmp_path / "库存快照.csv"
    sheet.write_bytes(("日期,商家编码,可售库存,在途数量,平台库存,商品名称\r\n" + "".join(
        f"{d:%Y/%m/%d},DY-02-M-2603,{n},0,12,运动手表\r\n" for d, n in zip(days, stock))).encode("gbk"))
    erp = tmp_path / "商品库存_20260606.csv"  # the next morning's 聚水潭 list, named with the day it shows
    erp.write_bytes("款式编码,商品编码,商品名称,主仓实际库存,订单占有数,可用数,采购在途数\r\n"
                    "DY-02,DY-02-M-2603,运动手表,0,0,0,0\r\n".encode("gbk"))
    wh = tmp_path / "warehouse"
    out = subprocess.run([sys.executable, "-m", "opsbook.ui.cli", "ingest", str(export), str(sheet), str(erp),
                          "--into", str(wh)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "库存快照日期：2026-05-27 至 2026-06-05（10 天）" in out.stdout and "库存快照日期：2026-06-06" in out.stdout
    result = runner.run("inventory_watch", {"source": str(wh), "as_of": "2026-06-06"})
    assert result.ok, result.error
    row = pd.read_csv(result.folder / "库存总览.csv").iloc[0]
    # listed since 05-27: 11 days; 06-05 it sold out (it had stock that morning: a day in stock), 06-06 it had none
    assert row["日均销量"] == pytest.approx(round(6 / 10, 2)) and row["有货天数"] == 10 and row["断货天数"] == 1
    assert pd.isna(row["平台库存"])  # the ERP list has no platform stock, and the sheet had none for 06-06
    assert row["状态"] == "已断货" and result.flag_codes["inventory.out_of_stock"] == "high"
    assert result.metrics["stockout_rate"] == pytest.approx(1 / 11)
    restock = pd.read_csv(result.folder / "补货清单.csv")
    # no purchase orders: the default lead time of 7 days; reorder point 5 + safety stock 3, plus 14 days of sales
    assert restock["建议补货量"].tolist() == [math.ceil(5 + 3 + 0.6 * 14)]


def test_a_sku_without_stock_or_sales_for_long_is_dormant_not_a_stockout(shop):
    """An ERP keeps discontinued SKUs at zero: the slow mover emptied for its whole history is not called out of stock
    every day, not put on the replenish list and not counted in the stockout rate."""
    quiet = listing_sku(sample.SLOW_MOVER)
    src = sources.open_source(shop(edit=("inventory", lambda inv: inv.assign(
        stock=inv["stock"].mask(inv["sku"] == quiet, 0), platform_stock=inv["platform_stock"].mask(inv["sku"] == quiet, 0)))))
    v = view(src=src)
    row = v.set_index("sku").loc[quiet]
    assert row["status"] == inventory_watch.DORMANT and pd.isna(row["order_qty"])
    assert quiet not in set(inventory_watch.replenish(v)["sku"]) and inventory_watch.slow_movers(v, 30).empty
    before = view()
    assert inventory_watch.stockout_rate(v) == pytest.approx(before["stockout_days"].sum() / (before["live_days"].sum() - 30))
    found = {f.code: f for f in inventory_watch.findings(v, inventory_watch.replenish(v), inventory_watch.slow_movers(
        v, 30), inventory_watch.oversell(src, v, END, 0), inventory_watch.stockout_rate(v), max_stockout_rate=0.003,
        stockout_days=30, slow_days=30)}
    assert "inventory.out_of_stock" not in found and found["inventory.dormant"].severity == "low"
    assert found["inventory.dormant"].owner == "运营" and quiet in found["inventory.dormant"].message


def test_a_quiet_day_of_a_platform_is_not_stale_data():
    """PDD had no paid order on 2026-04-15 but its orders go on to June: nothing to import, no flag."""
    import duckdb
    from opsbook import paths
    orders = paths.root() / "data" / "sample" / "orders.parquet"
    paid = duckdb.sql(f"SELECT count(*) FROM '{orders}' WHERE platform = 'PDD' AND pay_time IS NOT NULL "
                      "AND CAST(timezone('Asia/Shanghai', pay_time) AS DATE) = DATE '2026-04-15'").fetchall()[0][0]
    assert paid == 0  # the premise: a real quiet day in the sample
    result = runner.run("inventory_watch", {"as_of": "2026-04-15"})
    assert result.ok, result.error
    assert "data.stale" not in {f.code for f in result.flags}


def test_oversell_that_could_not_be_checked_is_said_not_shown_as_none(shop):
    no_platform_stock = shop(drop_columns={"inventory": ["platform_stock"]})
    result = runner.run("inventory_watch", {"source": no_platform_stock})
    assert result.ok, result.error
    assert result.metrics["oversell"] is None and result.flag_codes.get("inventory.oversell_unchecked") == "medium"
    assert "inventory.oversell" not in result.flag_codes
    assert "未核对" in result.report.read_text(encoding="utf-8")


def test_each_listed_day_is_in_stock_or_out_of_stock_never_both():
    """One definition for the stockout rate and the average daily sales: over the same 30 days every listed day of
    every SKU is either a day it had stock to sell (its sales count) or a stockout day (started and ended at zero;
    its orders — taken with an empty warehouse — are left out of the average), never both."""
    v = view(skip=False, sales_days=30, stockout_days=30).set_index("sku")
    assert (v["live_days"] == 30).all() and (v["sellable_days"] + v["stockout_days"] == v["live_days"]).all()
    states = day_states()
    june = states[states["date"] >= "2026-06-01"]
    for sku in hot_skus():
        mine = june[june["sku"] == sku]
        assert v.loc[sku, "stockout_days"] == mine["out"].sum() >= 8
        assert v.loc[sku, "avg_daily_sales"] == pytest.approx(round(mine.loc[~mine["out"], "units"].mean(), 2))
        # the day it sold out is a day in stock: it started with stock
        sold_out = mine[(mine["stock"] <= 0) & (mine["prev"] > 0)]
        assert len(sold_out) == 1 and not sold_out["out"].any() and sold_out["units"].item() > 0


def test_the_sample_sells_only_from_stock_except_its_planted_sell_out():
    """The sample's orders are drawn before its stock; every unit sold comes out of stock all the same (a day that
    starts and ends at zero sells nothing) — except the planted fault: Tmall's two 618 hot SKUs taking orders with an
    empty warehouse from the day after they sold out until stock came back."""
    states = day_states()
    empty = states[(states["stock"] <= 0) & (states["prev"] <= 0) & (states["units"] > 0)]
    assert sorted(empty["sku"].unique()) == hot_skus()
    assert empty["date"].between("2026-06-16", "2026-06-25").all() and len(empty) == 15


def test_a_platform_that_did_not_run_618_keeps_those_days(shop):
    """PDD's sales thinned during 618 to its ordinary pace (it did not take part): its SKUs' average daily sales come
    from the last 28 days, 618 days included; Tmall's still leave 618 out. The uplift line is a parameter."""
    first, last = pd.Timestamp("2026-05-20", tz="Asia/Shanghai"), pd.Timestamp("2026-06-21", tz="Asia/Shanghai")

    def calm(orders):
        during = (orders["platform"] == "PDD") & (orders["pay_time"] >= first) & (orders["pay_time"] < last)
        return orders[~(during & (orders["order_id"].astype("int64") % 8 < 3))]  # 5 in 8 kept: 1.6× becomes ~1×
    src = sources.open_source(shop(edit=("orders", calm)))
    windows = inventory_watch.sales_windows(src, END, 28, True, 1.3)
    uplift = windows.uplift.set_index("platform")
    assert uplift.loc["PDD", "ratio"] < 1.3 and not uplift.loc["PDD", "skipped"]
    assert uplift.loc["TM", "ratio"] > 2 and uplift.loc["TM", "skipped"]
    assert windows.days["PDD"] == [END - dt.timedelta(days=27 - i) for i in range(28)]  # 06-03 … 06-30
    assert windows.days["TM"][0] == dt.date(2026, 5, 2) and len(windows.days["TM"]) == 28
    note = inventory_watch.window_note(windows)
    assert "PDD：2026-06-03 至 2026-06-30 中的 28 天" in note and "视为没有参加该大促" in note
    assert f"PDD（{uplift.loc['PDD', 'ratio']:.1f} 倍）" in note

    v = view(src=src).set_index("sku")
    o = calm(pd.read_parquet("data/sample/orders.parquet"))
    paid = o[o["status"].isin(tables.PAID_STATUSES) & o["pay_time"].notna() & ~o["is_fake"].fillna(False)]
    paid = paid.assign(date=paid["pay_time"].dt.tz_convert("Asia/Shanghai").dt.tz_localize(None).dt.normalize())
    sku = "PDD-01-M-2403"
    units = paid[paid["sku"] == sku].groupby("date")["quantity"].sum().reindex(pd.to_datetime(windows.days["PDD"]),
                                                                                 fill_value=0)
    states = day_states().query("sku == @sku").set_index("date").reindex(units.index)
    assert not states["out"].any()
    assert v.loc[sku, "avg_daily_sales"] == pytest.approx(round(units.mean(), 2))
    plain = view().set_index("sku")  # with its 618 sales, PDD took part: the window skips 618 as for every platform
    assert plain.loc[sku, "avg_daily_sales"] != v.loc[sku, "avg_daily_sales"]
    strict = inventory_watch.sales_windows(src, END, 28, True, 3.0)  # nobody sold three times its usual pace
    assert not strict.uplift["skipped"].any() and strict.days["TM"] == windows.days["PDD"]


def test_a_sales_window_reaching_before_the_first_snapshot_counts_only_the_days_with_one():
    """Snapshots start 2026-03-03: of a 120-day window ending 06-18, the days before are not known in stock — neither
    they nor their sales count, and the note says how many days the window really covers."""
    result = runner.run("inventory_watch", {"as_of": "2026-06-18", "platform": "PDD", "sales_days": 120})
    assert result.ok, result.error
    table = pd.read_csv(result.folder / "库存总览.csv").set_index("商家编码")
    windows = inventory_watch.sales_windows(SAMPLE, dt.date(2026, 6, 18), 120, True, 1.3)
    days = [pd.Timestamp(d) for d in windows.days["PDD"]]
    assert days[0] < pd.Timestamp("2026-03-03") and len(days) == 120
    inv = day_states()
    for sku in table.index:
        mine = inv[(inv["sku"] == sku) & inv["date"].isin(days)]
        sellable = mine[~mine["out"]]
        assert table.at[sku, "有货天数"] == len(sellable) <= 108
        assert table.at[sku, "日均销量"] == pytest.approx(round(sellable["units"].sum() / len(sellable), 2))
    covered = sum(d >= pd.Timestamp("2026-03-03") for d in days)
    html = (result.folder / "report.html").read_text(encoding="utf-8")
    assert f"库存快照从 2026-03-03 开始：销量窗口中之前的 {120 - covered} 天没有快照" in html
    default = runner.run("inventory_watch", {})
    assert "没有快照" not in (default.folder / "report.html").read_text(encoding="utf-8")
