"""demand_forecast: weekly history and backtest recomputed from the files, category-level SKUs, replenishment, the
calendar's presale and shutdown windows, odd parameters and hostile input."""
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from opsbook import sources
from opsbook.engine import runner
from opsbook.errors import DataError, ParamError
from opsbook.sops import calendar, demand_forecast

SAMPLE = sources.open_source("data/sample")
SETTINGS = dict(season_weeks=52, sku_history_weeks=52, share_weeks=8)
ORDERS = pd.read_parquet("data/sample/orders.parquet")
PAID = ORDERS[ORDERS["status"].isin(["paid", "shipped", "completed", "refunded"]) & ORDERS["pay_time"].notna()
              & ~ORDERS["is_fake"]].assign(day=lambda o: o["pay_time"].dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
                                           .dt.normalize())


def weekly_by_hand(first: str, last: str) -> pd.DataFrame:
    """Units per SKU (rows) and week (columns, their Monday) of paid, non-brushed lines paid in [first, last]."""
    rows = PAID[(PAID["day"] >= first) & (PAID["day"] <= last)]
    week = rows["day"] - pd.to_timedelta(rows["day"].dt.day_of_week, unit="D")
    return rows.assign(week=week).pivot_table(index="sku", columns="week", values="quantity", aggfunc="sum",
                                              fill_value=0)


@pytest.fixture(scope="module")
def default_run():
    result = runner.run("demand_forecast", {})
    assert result.ok, result.error
    return result


def test_weekly_history_matches_the_orders_file():
    history = demand_forecast.sales(SAMPLE, dt.date(2026, 6, 30))  # a Tuesday: the week of 06-29 is not over
    assert history.last_day == dt.date(2026, 6, 28) and history.weeks[0] == pd.Timestamp("2024-07-01")
    by_hand = weekly_by_hand("2024-07-01", "2026-06-28")
    assert len(history.weeks) == 104 == by_hand.shape[1]
    mine = history.units.fillna(0).loc[by_hand.index, by_hand.columns]
    assert (mine.to_numpy() == by_hand.to_numpy()).all()
    assert history.units.notna().sum(axis=1)["DY-02-BK-2603"] == 17  # launched 2026-03-03: its weeks only


def test_backtest_numbers_recomputed_by_hand(default_run):
    """The held-out weeks 2026-05-04 … 06-28 and the seasonal-naive baseline 52 weeks earlier, from orders.parquet."""
    m = default_run.metrics
    actual = weekly_by_hand("2026-05-04", "2026-06-28")
    before = weekly_by_hand("2025-05-05", "2025-06-29")
    table = pd.read_csv(default_run.folder / "回测误差.csv").set_index("商家编码")
    yearly = table.index[table["基准方式"] == "去年同周"]
    last_week = weekly_by_hand("2026-04-27", "2026-05-03")
    abs_error = 0.0
    for sku in table.index:
        a = actual.loc[sku].to_numpy() if sku in actual.index else np.zeros(8)
        b = before.loc[sku].to_numpy() if sku in yearly else np.repeat(last_week.loc[sku].iloc[0], 8)
        abs_error += np.abs(a - b).sum()
        assert table.at[sku, "实际销量"] == a.sum() and table.at[sku, "基准预测销量"] == b.sum()
    sold = table["实际销量"].sum()
    assert sold == actual.to_numpy().sum() == 3163
    assert m["wape_baseline"] == pytest.approx(abs_error / sold, abs=1e-4)
    assert m["wape_model"] < m["wape_baseline"]  # the model beats seasonal naive on the sample (0.40 vs 0.52)
    assert m["wape_ratio"] == pytest.approx(m["wape_model"] / m["wape_baseline"], abs=1e-3)
    assert m["wape_model"] == pytest.approx(0.398, abs=0.01) and m["wape_baseline"] == pytest.approx(0.5163, abs=1e-4)


def test_the_backtest_headline_is_rebuilt_from_the_absolute_errors_of_the_table(default_run):
    """SKUs without sales in the backtest weeks have no WAPE but their errors count: the table shows 绝对误差."""
    table = pd.read_csv(default_run.folder / "回测误差.csv")
    m = default_run.metrics
    assert m["wape_model"] == pytest.approx(table["模型绝对误差"].sum() / table["实际销量"].sum(), abs=1e-4)
    assert m["wape_baseline"] == pytest.approx(table["基准绝对误差"].sum() / table["实际销量"].sum(), abs=1e-4)
    sold = table[table["实际销量"] > 0]
    assert np.allclose(sold["预测误差（WAPE）"], sold["模型绝对误差"] / sold["实际销量"], atol=1e-4)
    unsold = table[table["实际销量"] == 0]
    assert len(unsold) and unsold["预测误差（WAPE）"].isna().all() and (unsold["模型绝对误差"] > 0).any()
    html = (default_run.folder / "report.html").read_text(encoding="utf-8")
    assert "回测期无销量的 SKU 没有单独的 WAPE，但其绝对误差计入整体 WAPE" in html


def test_new_skus_are_forecast_at_category_level_with_their_recent_share(default_run):
    table = pd.read_csv(default_run.folder / "需求预测.csv").set_index("商家编码")
    category_level = table.index[table["预测方式"].str.startswith("类目预测")]
    assert sorted(category_level) == ["DY-01-S-2508", "DY-02-BK-2603", "JD-02-BK-2603", "TM-01-S-2508"]
    assert default_run.metrics["category_level_skus"] == 4
    products = pd.read_parquet("data/sample/products.parquet").set_index("sku")
    last8 = weekly_by_hand("2026-05-04", "2026-06-28")
    for sku in category_level:
        members = products.index[products["category"] == products.at[sku, "category"]]
        share = last8.loc[sku].sum() / last8.loc[last8.index.intersection(members)].to_numpy().sum()
        assert f"份额 {share * 100:.1f}%" in table.at[sku, "预测方式"]
    assert "历史仅 17 周" in table.at["DY-02-BK-2603", "预测方式"]
    weeks = [c for c in table.columns if "-W" in c]
    assert len(weeks) == 8 and weeks[0] == "2026-W27（06-29起）"
    assert default_run.metrics["forecast_units"] == pytest.approx(table[weeks[0]].sum(), abs=0.05 * len(table))


def test_replenishment_from_the_latest_snapshot_and_purchase_orders(default_run):
    plan = pd.read_csv(default_run.folder / "补货建议.csv").set_index("商家编码")
    inventory = pd.read_parquet("data/sample/inventory.parquet")
    snapshot = inventory[inventory["date"] == "2026-06-28"].set_index("sku")
    assert (plan["库存"] == snapshot["stock"].reindex(plan.index)).all()
    assert (plan["在途数量"] == snapshot["in_transit"].reindex(plan.index)).all()
    need = np.ceil(np.maximum(0, plan["目标库存"] - plan["库存"] - plan["在途数量"]))
    assert (plan["建议补货量"] == need).all()
    pos = pd.read_parquet("data/sample/purchase_orders.parquet")
    got = pos[pos["received_date"].notna() & (pos["received_date"] <= "2026-06-28") & (pos["order_date"] >= "2025-06-28")]
    lead = (got["received_date"] - got["order_date"]).dt.days.groupby(got["sku"]).agg(["median", "count"])
    lead = lead[lead["count"] >= 3]
    assert (plan.loc[lead.index, "补货提前期（天）"] == np.ceil(lead["median"]).astype(int)).all()
    # TM-02-BK-2311: nothing in stock, its 26 units in transit were due 06-23: a stockout before they can come
    risky = plan.loc["TM-02-BK-2311"]
    assert risky["库存"] == 0 and risky["在途数量"] == 26 and risky["在途约定到货"] == "2026-06-23"
    assert risky["建议"].startswith("断货风险") and "已逾期" in risky["建议"]
    (flag,) = [f for f in default_run.flags if f.code == "forecast.stockout"]
    assert flag.severity == "high" and flag.owner == "供应链" and "TM-02-BK-2311" in flag.message
    assert list(plan.index[:2]) == ["TM-02-BK-2311", "JD-04-500G-2402"]  # the most urgent first


def test_reorder_point_and_order_up_to_can_be_rebuilt_from_their_own_columns(default_run):
    """再订货点 = 提前期需求 + 提前期安全库存, 目标库存 = 提前期+补货周期需求 + its safety stock, both rounded up, each
    from the columns shown beside it; order quantities follow 目标库存 and the note says so."""
    plan = pd.read_csv(default_run.folder / "补货建议.csv").set_index("商家编码")
    lead_safety, cover_safety = plan["安全库存（提前期）"], plan["安全库存（提前期+补货周期）"]
    assert (plan["再订货点"] == np.ceil(plan["提前期需求"] + lead_safety - 1e-9)).all()
    assert (plan["目标库存"] == np.ceil(plan["提前期+补货周期需求"] + cover_safety - 1e-9)).all()
    assert (lead_safety <= plan["再订货点"]).all() and (lead_safety <= cover_safety).all()
    assert "安全库存" not in plan.columns  # one unlabelled safety stock read as 再订货点's was the confusion
    row = plan.loc["JD-04-500G-2402"]  # was shown as 安全库存 7 beside 再订货点 6 (1.2 + 4.x unrounded)
    assert (row["提前期需求"], row["安全库存（提前期）"], row["再订货点"]) == (1.2, 5, 7)
    assert (row["提前期+补货周期需求"], row["安全库存（提前期+补货周期）"], row["目标库存"]) == (2.2, 7, 10)
    columns = list(plan.columns)
    assert columns.index("安全库存（提前期）") == columns.index("提前期需求") + 1 == columns.index("再订货点") - 1
    html = (default_run.folder / "report.html").read_text(encoding="utf-8")
    assert "建议补货量按目标库存计算，不看再订货点" in html


def test_the_hot_skus_of_618_run_out_before_stock_can_arrive():
    result = runner.run("demand_forecast", {"as_of": "2026-06-14"})
    (flag,) = [f for f in result.flags if f.code == "forecast.stockout"]
    risky = {row["sku"] for row in flag.sample}
    assert {"TM-01-M-2403", "TM-01-L-2404"} <= risky  # the two best sellers of 2026天猫618 (sample._hot_skus)
    plan = pd.read_csv(result.folder / "补货建议.csv").set_index("商家编码")
    assert plan.at["TM-01-M-2403", "建议补货量"] > 0 and plan.at["TM-01-M-2403", "预计断货日期"] == "2026-06-16"


def test_a_delisted_sku_is_flagged_not_silently_ordered(default_run):
    (flag,) = [f for f in default_run.flags if f.code == "forecast.no_recent_sales"]
    assert flag.owner == "运营" and [r["sku"] for r in flag.sample] == ["JD-04-500G-2402"]  # sample.SLOW_MOVER
    history = demand_forecast.sales(SAMPLE, dt.date(2026, 6, 27))  # a Saturday: weeks to 06-21
    info = demand_forecast.forecast(history, 4, **SETTINGS).info
    assert info.index[info["quiet_weeks"] > 0].tolist() == ["JD-04-500G-2402"]  # not the humidifiers out of season
    assert info.at["JD-04-500G-2402", "quiet_weeks"] == 9 and "近 9 周无销量" in info.at["JD-04-500G-2402", "method"]


def test_platform_shows_that_platforms_skus_with_the_same_numbers(default_run):
    tm = runner.run("demand_forecast", {"platform": "TM"})
    assert tm.ok, tm.error
    mine = pd.read_csv(tm.folder / "需求预测.csv").set_index("商家编码")
    everything = pd.read_csv(default_run.folder / "需求预测.csv").set_index("商家编码")
    assert (mine["平台"] == "TM").all() and len(mine) == (everything["平台"] == "TM").sum() == 15
    pd.testing.assert_frame_equal(mine, everything.loc[mine.index])
    checked = pd.read_csv(tm.folder / "回测误差.csv")
    assert tm.metrics["wape_baseline"] == pytest.approx(
        ((checked["基准误差（WAPE）"] * checked["实际销量"]).sum()) / checked["实际销量"].sum(), abs=1e-4)


def test_a_reference_day_inside_a_week_uses_complete_weeks_and_says_so(default_run):
    tuesday = runner.run("demand_forecast", {"as_of": "2026-06-30"})
    assert tuesday.ok, tuesday.error
    a = pd.read_csv(tuesday.folder / "需求预测.csv")
    b = pd.read_csv(default_run.folder / "需求预测.csv")
    pd.testing.assert_frame_equal(a, b)  # the same complete weeks, the same forecast
    html = (tuesday.folder / "report.html").read_text(encoding="utf-8")
    assert "参考日期 2026-06-30 所在的周还没过完" in html and "补货按 2026-07-01 起的需求计算" in html
    plan = pd.read_csv(tuesday.folder / "补货建议.csv")
    assert (plan["库存日期"] == "2026-06-30").all()


def test_a_reference_day_after_the_data_is_flagged_and_uses_the_last_weeks_with_data():
    result = runner.run("demand_forecast", {"as_of": "2026-07-20"})
    assert result.ok, result.error
    assert {"data.stale", "forecast.stock_date"} <= set(result.flag_codes)
    table = pd.read_csv(result.folder / "需求预测.csv")
    assert [c for c in table.columns if "-W" in c][0] == "2026-W27（06-29起）"  # not weeks of zeros after the data


@pytest.mark.parametrize("as_of, text", [("2024-07-03", "没有一整周"), ("2020-01-01", "没有一整周")])
def test_an_empty_window_is_a_chinese_message(as_of, text):
    result = runner.run("demand_forecast", {"as_of": as_of})
    assert result.exit_code == 2 and text in result.error and "Traceback" not in result.error


def test_before_the_first_snapshot_says_so_not_that_the_table_is_missing():
    result = runner.run("demand_forecast", {"as_of": "2026-02-08"})  # inventory snapshots start 2026-03-03
    (flag,) = [f for f in result.flags if f.code == "forecast.no_stock"]
    assert "库存快照从 2026-03-03 开始" in flag.message and "没有 inventory" not in flag.message
    plan = pd.read_csv(result.folder / "补货建议.csv")
    assert plan["建议补货量"].isna().all()
    assert plan["提前期依据"].str.contains("＋春节物流停运").all()  # 02-09 … 03-0x: the shutdown is crossed


def test_a_short_history_forecasts_by_category_and_skips_the_backtest():
    result = runner.run("demand_forecast", {"as_of": "2024-08-04"})  # five complete weeks
    assert result.ok, result.error
    table = pd.read_csv(result.folder / "需求预测.csv")
    assert table["预测方式"].str.startswith("类目预测").sum() == len(table) - 1
    assert (table["预测方式"] == "无销量记录：按 0 预测").sum() == 1  # listed, not sold in those five weeks
    assert result.metrics["wape_model"] is None and "未回测" in (result.folder / "report.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("params, text", [({"horizon_weeks": 27}, "应在 1 到 26 之间"),
                                          ({"service_level": 1.0}, "应在 0.5 到 0.999 之间"),
                                          ({"season_weeks": 26}, "应在 52 到 260 之间"),
                                          ({"backtest_weeks": 2}, "应在 4 到 26 之间")])
def test_out_of_bounds_parameters_are_refused(params, text):
    with pytest.raises(ParamError) as info:
        runner.run("demand_forecast", params)
    assert text in str(info.value) and "需求预测与补货 的参数有误，未执行" in str(info.value)


@pytest.mark.parametrize("table, column, label", [("inventory", "stock", "可售库存"), ("products", "category", "类目"),
                                                  ("orders", "quantity", "数量")])
def test_a_missing_column_names_table_and_column(shop, table, column, label):
    result = runner.run("demand_forecast", {"source": shop(drop_columns={table: [column]})})
    assert result.exit_code == 2 and f"{table} 表缺少必需列 {column}（{label}）" in result.error


def test_without_inventory_the_forecast_stands_and_no_order_is_made_up(shop):
    result = runner.run("demand_forecast", {"source": shop(drop_tables=["inventory"])})
    assert result.ok, result.error
    plan = pd.read_csv(result.folder / "补货建议.csv")
    assert plan["建议补货量"].isna().all() and plan["建议"].str.startswith("无库存数据").all()
    assert "forecast.no_stock" in result.flag_codes and "forecast.stockout" not in result.flag_codes
    assert result.metrics["order_skus"] == 0


def test_without_purchase_orders_the_lead_time_is_the_parameter(shop):
    result = runner.run("demand_forecast", {"source": shop(drop_tables=["purchase_orders"]), "lead_time_days": 10})
    assert result.ok, result.error
    plan = pd.read_csv(result.folder / "补货建议.csv")
    assert (plan["补货提前期（天）"] == 10).all() and (plan["提前期依据"] == "参数").all()


def test_without_products_the_table_is_asked_for(shop):
    result = runner.run("demand_forecast", {"source": shop(drop_tables=["products"])})
    assert result.exit_code == 2 and "没有 products 表" in result.error


@pytest.mark.parametrize("table", ["orders", "inventory"])
def test_duplicated_rows_stop_the_run(shop, table):
    result = runner.run("demand_forecast", {"source": shop(edit=(table, lambda t: pd.concat([t, t.tail(2)])))})
    assert result.exit_code == 2 and "重复" in result.error


def test_a_source_outside_the_project_is_a_chinese_error():
    result = runner.run("demand_forecast", {"source": "../../nope"})
    assert result.exit_code == 2 and "Traceback" not in result.error


def test_sold_skus_missing_from_products_are_still_forecast(shop):
    result = runner.run("demand_forecast", {"source": shop(edit=("products", lambda p: p[p["sku"] != "TB-01-M-2403"]))})
    assert result.ok, result.error
    table = pd.read_csv(result.folder / "需求预测.csv").set_index("商家编码")
    assert table.at["TB-01-M-2403", "类目"] == "（未知类目）" and table.at["TB-01-M-2403", "平台"] == "TB"


def test_the_pool_gives_the_same_forecasts_as_one_process():
    history = demand_forecast.sales(SAMPLE, dt.date(2026, 6, 28))
    one = demand_forecast.forecast(history, 4, workers=1, **SETTINGS)
    two = demand_forecast.forecast(history, 4, workers=2, **SETTINGS)
    pd.testing.assert_frame_equal(one.units, two.units)
    assert (one.sigma == two.sigma).all()


def test_calendar_kinds_presales_and_the_spring_festival_shutdown():
    big = [p.name for p in calendar.promotions(dt.date(2026, 1, 1), dt.date(2026, 12, 31))]
    assert big == ["年货节", "618", "双11", "双12"]  # what kpi_report reads: unchanged
    every = calendar.promotions(dt.date(2026, 1, 1), dt.date(2026, 12, 31), calendar.KINDS)
    shutdown = next(p for p in every if p.kind == "物流停运")
    assert calendar.spring_festival(2026) == dt.date(2026, 2, 17)
    assert (shutdown.start, shutdown.end) == (dt.date(2026, 2, 10), dt.date(2026, 2, 24))
    days = calendar.events(dt.date(2026, 5, 18), dt.date(2026, 6, 21)).set_index("date")
    assert days.loc["2026-05-25", "event"] == "618预售" and days.loc["2026-06-18", "event"] == "618"
    assert days.loc["2026-06-18", "offset"] == 29 and pd.isna(days.loc["2026-05-18", "event"])
    assert days.loc["2026-06-19", "event"] == "618"  # 端午节 inside 618: the shop's calendar wins
    october = calendar.events(dt.date(2026, 10, 1), dt.date(2026, 10, 7))
    assert set(october["event"]) == {"国庆节"} and set(october["kind"]) == {"法定节假日"}
    assert calendar.shipping_days(dt.date(2026, 2, 8), 7) == 22  # 02-10 … 02-24 do not count
    assert calendar.shipping_days(dt.date(2026, 6, 1), 7) == 7


def test_lead_times_cross_the_spring_festival_shutdown():
    lead = demand_forecast.lead_times(SAMPLE, pd.Index(["TB-01-M-2403"]), dt.date(2026, 2, 8), 7, 0)
    assert lead.at["TB-01-M-2403", "lead_time_days"] == 22
    assert lead.at["TB-01-M-2403", "lead_basis"] == "参数＋春节物流停运 15 天"


@pytest.mark.parametrize("text, error", [
    ('- name: 停运\n  kind: 停运\n  every_year: {start: "02-01", end: "02-02"}\n', "kind 只能是"),
    ('- name: 停运\n  kind: 物流停运\n  around_spring_festival: {start: 前七天, end: 7}\n', "相对春节正月初一")])
def test_a_malformed_calendar_entry_is_a_chinese_error(tmp_path, monkeypatch, text, error):
    (tmp_path / "data" / "reference").mkdir(parents=True)
    (tmp_path / "data" / "reference" / "promotions.yaml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("OPSBOOK_HOME", str(tmp_path))
    with pytest.raises(DataError, match=error):
        calendar.promotions(dt.date(2026, 1, 1), dt.date(2026, 12, 31), calendar.KINDS)


def test_an_event_the_history_never_saw_is_not_adjusted_and_said(tmp_path, monkeypatch):
    import shutil
    (tmp_path / "data" / "reference").mkdir(parents=True)
    shutil.copy("data/reference/promotions.yaml", tmp_path / "data" / "reference")
    with open(tmp_path / "data" / "reference" / "promotions.yaml", "a", encoding="utf-8") as fh:
        fh.write('- name: 店庆\n  dates: [{start: "2026-07-06", end: "2026-07-08"}]\n')
    monkeypatch.setenv("OPSBOOK_HOME", str(tmp_path))
    history = demand_forecast.sales(SAMPLE, dt.date(2026, 6, 28))
    fc = demand_forecast.forecast(history, 4, **SETTINGS)
    assert fc.unseen == ["店庆"]
    assert fc.days.set_index("date").loc["2026-07-07", "factor"] == 1.0
    assert "店庆" in demand_forecast.forecast_note(history, fc, dt.date(2026, 6, 28))


def test_day_factors_measure_618_on_the_shops_days():
    history = demand_forecast.sales(SAMPLE, dt.date(2026, 6, 28))
    days = demand_forecast.day_factors(history.daily, dt.date(2026, 8, 31)).set_index("date")
    assert days.loc["2026-06-18", "factor"] > 3  # the sample's 618 day sells about 5.5× an ordinary one
    assert 1.5 < days.loc["2026-06-05", "factor"] < 3
    assert days.loc["2026-07-15", "factor"] == 1.0 and days["seen"].all()


def test_runs_on_a_warehouse_filled_by_opsbook_ingest(tmp_path):
    """The sample's completed Douyin orders exported the way 抖店 exports them and imported by `opsbook ingest`; the
    goods tables (products, inventory, purchase orders), which no marketplace export fills yet, copied beside them."""
    import shutil
    import subprocess
    import sys
    header = ["主订单编号", "子订单编号", "支付方式", "选购商品", "商品ID", "商家编码", "商品规格", "商品数量", "商品单价",
              "商品金额", "订单应付金额", "运费", "优惠总金额", "订单提交时间", "支付完成时间", "发货时间", "订单完成时间",
              "订单状态", "售后状态", "收件人", "收件人手机号", "省", "市", "区", "街道", "详细地址"]
    dy = ORDERS[(ORDERS["platform"] == "DY") & (ORDERS["status"] == "completed") & ~ORDERS["is_fake"]]

    def when(t):
        t = t.tz_convert("Asia/Shanghai")
        return f"{t.year}/{t.month}/{t.day} {t:%H:%M:%S}"
    lines = [",".join(header)] + [",".join([
        f"\t{r.order_id}", f"`{r.line_id}", "抖音支付", "商品", "'3712345", r.sku, "-", str(r.quantity),
        f"{r.amount / r.quantity:.2f}", f"{r.amount:.2f}", f"{r.amount:.2f}", "0", "0", when(r.order_time),
        when(r.pay_time), "-", "-", "已完成", "-", "张三", r.phone, r.province or "-", r.city or "-", "-", "-", "-"])
        for r in dy.itertuples()]
    export = tmp_path / "1719800000_dy_orders.csv"
    export.write_bytes("\n".join(lines).encode("gb18030"))
    wh = tmp_path / "warehouse"
    out = subprocess.run([sys.executable, "-m", "opsbook.ui.cli", "ingest", str(export), "--into", str(wh)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    for table in ("products", "inventory", "purchase_orders"):
        shutil.copy(f"data/sample/{table}.parquet", wh / f"{table}.parquet")
    result = runner.run("demand_forecast", {"source": str(wh), "platform": "DY"})
    assert result.ok, result.error
    table = pd.read_csv(result.folder / "需求预测.csv")
    assert len(table) == 12 and (table["平台"] == "DY").all()
    assert result.metrics["wape_model"] is not None
    everything = runner.run("demand_forecast", {"source": str(wh)})
    listed = pd.read_csv(everything.folder / "需求预测.csv").set_index("商家编码")
    assert (listed.loc[listed["平台"] != "DY", "预测方式"] == "无销量记录：按 0 预测").all()  # sold elsewhere: no data here


def test_a_bulk_order_is_capped_and_said_not_turned_into_safety_stock(shop):
    def bulk(orders):  # one line of 300 units on 2026-04-10 (a 团购), where the SKU sells a few a week
        i = orders.index[(orders["sku"] == "TB-02-WH-2402") & (orders["pay_time"] >= "2026-04-10")
                         & (orders["status"] == "completed")][0]
        orders.loc[i, ["quantity", "amount"]] = [300, 300 * 120.0]
        return orders
    result = runner.run("demand_forecast", {"source": shop(edit=("orders", bulk))})
    assert result.ok, result.error
    normal = runner.run("demand_forecast", {})
    mine = pd.read_csv(result.folder / "补货建议.csv").set_index("商家编码").loc["TB-02-WH-2402"]
    usual = pd.read_csv(normal.folder / "补货建议.csv").set_index("商家编码").loc["TB-02-WH-2402"]
    assert mine["安全库存（提前期+补货周期）"] <= usual["安全库存（提前期+补货周期）"] + 2 and mine["提前期需求"] <= usual["提前期需求"] * 1.2
    table = pd.read_csv(result.folder / "需求预测.csv").set_index("商家编码")
    assert "1 周销量异常高（超过平时 10 倍，疑似团购、批发），按前后 13 周的中位数计入" in table.at["TB-02-WH-2402", "预测方式"]
    assert not table.drop(index="TB-02-WH-2402")["预测方式"].str.contains("异常高").any()


def test_a_platform_without_skus_is_a_chinese_message(shop):
    def no_pdd(orders):
        return orders[orders["platform"] != "PDD"]
    source = shop(edit=("orders", no_pdd))
    products = pd.read_parquet(f"{source}/products.parquet")
    products[products["platform"] != "PDD"].to_parquet(f"{source}/products.parquet")
    result = runner.run("demand_forecast", {"source": source, "platform": "PDD"})
    assert result.exit_code == 2 and "平台 PDD" in result.error and "请选择其他平台" in result.error


def test_a_duckdb_file_gives_the_folder_numbers(default_run, sample_duckdb):
    result = runner.run("demand_forecast", {"source": str(sample_duckdb)})
    assert result.ok, result.error
    assert result.metrics == default_run.metrics
    pd.testing.assert_frame_equal(pd.read_csv(result.folder / "补货建议.csv"),
                                  pd.read_csv(default_run.folder / "补货建议.csv"))


def test_a_forecast_worse_than_seasonal_naive_overall_is_a_medium_flag():
    plan = pd.DataFrame({"sku": pd.Series(dtype="str"), "status": pd.Series(dtype="str"),
                         "stock": pd.Series(dtype=float), "stock_date": pd.Series(dtype="datetime64[us]")})
    checked = pd.DataFrame({"sku": ["A"], "name": ["甲"], "verdict": ["不如基准"], "actual_units": [5.0],
                            "model_error_rate": [0.9], "baseline_error_rate": [0.5]})
    stock = plan[["sku", "stock", "stock_date"]].assign(in_transit=0)
    stock.attrs["first_snapshot"] = dt.date(2026, 1, 1)
    found = demand_forecast.findings(plan, checked, {"model": 0.9, "baseline": 0.5, "ratio": 1.8}, stock,
                                     dt.date(2026, 6, 28), min_weekly_units=10)
    assert [(f.code, str(f.severity), f.owner) for f in found] == [("forecast.worse_overall", "medium", "数据分析")]
    assert "90.0% 高于季节性朴素基准 50.0%" in found[0].message


def test_a_sku_already_out_of_stock_is_said_to_be_out_not_to_sell_out():
    """TM-02-BK-2311 has stock 0 on 06-28 and 26 units in transit, overdue: the flag says 已断货 and 已逾期."""
    from opsbook.engine import runner
    result = runner.run("demand_forecast", {})
    assert result.ok, result.error
    (flag,) = [f for f in result.flags if f.code == "forecast.stockout"]
    assert "TM-02-BK-2311（库存 0，已断货" in flag.message and "已逾期" in flag.message and "0，预计" not in flag.message
