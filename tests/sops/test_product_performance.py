"""product_performance: per SKU and platform figures recomputed from the sample files, ABC classes, ad spend shares,
odd periods and platforms, missing and hostile data, thresholds as parameters."""
import datetime as dt
import sys
import subprocess

import duckdb
import pandas as pd
import pytest

from opsbook import sources
from opsbook.data import sample
from opsbook.engine import runner
from opsbook.errors import ParamError
from opsbook.sops import data_quality, product_performance as pp

SAMPLE = sources.open_source("data/sample")
JUNE = (dt.date(2026, 6, 1), dt.date(2026, 6, 30))
DEFAULTS = dict(min_margin=0.0, max_refund_rate=0.2, refund_basis="按订单", min_orders=10, traffic_multiple=2.0,
                conversion_ratio=0.5, min_uv=300, slow_days=30)


def sku_of(key):
    """The SKU code of a planted (design, platform) listing."""
    products = pd.read_parquet("data/sample/products.parquet")
    return products[(products["name"] == sample.BRAND + key[0]) & (products["platform"] == key[1])]["sku"].item()


def paid_lines(first, last, platform=None):
    """The sample's paid, non-brushed order lines paid between two days (China time), by pandas alone."""
    o = pd.read_parquet("data/sample/orders.parquet")
    o = o[o["status"].isin(["paid", "shipped", "completed", "refunded"]) & o["pay_time"].notna() & ~o["is_fake"]]
    day = o["pay_time"].dt.tz_convert("Asia/Shanghai").dt.date
    o = o[(day >= first) & (day <= last)]
    return o if platform is None else o[o["platform"] == platform]


def compute(as_of=JUNE[1], platform="全部", period="月", src=SAMPLE, slow_days=30, abc_a=0.8, abc_b=0.15):
    return pp.compute(src, period, as_of, platform, data_quality.data_until(src, platform), slow_days=slow_days,
                      abc_a=abc_a, abc_b=abc_b)


def codes(flags):
    return {f.code for f in flags}


def test_a_month_recomputed_from_the_sample_files():
    """June 2026 on the sample shop: GMV and gross profit of the whole shop and of the negative-margin listing,
    refund rate of the high-refund one, conversion of the low-conversion one — each recomputed here with pandas."""
    result = runner.run("product_performance", {})
    assert result.ok, result.error
    lines = paid_lines(*JUNE)
    cost = pd.read_parquet("data/sample/products.parquet").set_index("sku")["cost"]
    returned = (lines["refund_amount"] > 0) & (lines["refund_amount"] >= lines["amount"] - 0.005)
    profit = (lines["amount"] - lines["refund_amount"] - lines["sku"].map(cost) * lines["quantity"].where(~returned, 0))
    m = result.metrics
    assert m["gmv"] == pytest.approx(lines["amount"].sum()) == pytest.approx(259408.48)
    assert m["gross_profit"] == pytest.approx(profit.sum(), abs=0.01) == pytest.approx(128724.59)
    assert m["margin"] == pytest.approx(profit.sum() / (lines["amount"] - lines["refund_amount"]).sum(), abs=1e-4)
    assert (m["skus"], m["skus_sold"], m["period_start"], m["period_end"]) == (59, 58, "2026-06-01", "2026-06-30")

    detail = pd.read_csv(result.folder / "商品经营明细.csv").set_index("商家编码")
    assert len(detail) == 59 and detail.index.is_unique
    assert list(detail.columns[:6]) == ["ABC 分类", "名称", "平台", "成交金额", "成交占比", "订单数"]
    loss = sku_of(sample.NEGATIVE_MARGIN)
    mine = lines[lines["sku"] == loss]
    assert detail.loc[loss, "毛利"] == pytest.approx(profit[lines["sku"] == loss].sum(), abs=0.01) == pytest.approx(-270.28)
    assert detail.loc[loss, "毛利率"] == pytest.approx(-270.28 / (mine["amount"] - mine["refund_amount"]).sum(), abs=1e-4)
    # both refund rates of the high-refund listing, by hand: by amount (refunds ÷ GMV) and by orders (orders with a
    # refund ÷ paid orders, as 生意参谋 and the platforms count it)
    refunds = lines[lines["sku"] == sku_of(sample.HIGH_REFUND)]
    rate = refunds["refund_amount"].sum() / refunds["amount"].sum()
    by_orders = refunds.loc[refunds["refund_amount"] > 0, "order_id"].nunique() / refunds["order_id"].nunique()
    assert detail.loc[sku_of(sample.HIGH_REFUND), "退款率（按金额）"] == pytest.approx(rate, abs=5e-5)  # 4 decimals
    assert detail.loc[sku_of(sample.HIGH_REFUND), "退款率（按订单）"] == pytest.approx(by_orders, abs=5e-5)
    assert (rate, by_orders) == (pytest.approx(0.4737, abs=5e-5), pytest.approx(11 / 27))
    assert detail.loc[sku_of(sample.HIGH_REFUND), "订单数"] == refunds["order_id"].nunique() == 27
    orders = lines.drop_duplicates(["platform", "order_id"])
    refunded = lines[lines["refund_amount"] > 0].drop_duplicates(["platform", "order_id"])
    assert m["refund_rate_orders"] == pytest.approx(len(refunded) / len(orders), abs=1e-4) == pytest.approx(0.0752, abs=1e-4)
    assert m["refund_rate_amount"] == pytest.approx(lines["refund_amount"].sum() / lines["amount"].sum(), abs=1e-4)
    products = pd.read_parquet("data/sample/products.parquet").set_index("sku")
    busy = sku_of(sample.LOW_CONVERSION)
    traffic = pd.read_parquet("data/sample/product_traffic.parquet")
    seen = traffic[(traffic["product_id"] == products.loc[busy, "product_id"]) & (traffic["date"] >= "2026-06-01")
                   & (traffic["date"] <= "2026-06-30")]
    assert detail.loc[busy, "商品访客数"] == seen["uv"].sum() == 3588
    assert detail.loc[busy, "支付转化率"] == pytest.approx(seen["pay_buyers"].sum() / seen["uv"].sum(), abs=5e-5)
    assert detail.loc[sku_of(sample.SLOW_MOVER), "最近成交日期"] == "2026-04-17"
    assert detail.loc[sku_of(sample.SLOW_MOVER), "成交金额"] == 0 and detail.loc[sku_of(sample.SLOW_MOVER), "ABC 分类"] == "C"

    abc = pd.read_csv(result.folder / "ABC分类汇总.csv").set_index("ABC 分类")
    assert abc["SKU 数"].to_dict() == {"A": 30, "B": 15, "C": 14} and abc["成交金额"].sum() == pytest.approx(m["gmv"])
    assert abc.loc["A", "成交占比"] == pytest.approx(0.8114, abs=1e-4)
    html = (result.folder / "report.html").read_text(encoding="utf-8")
    assert "帕累托曲线" in html and "2026-06（06-01 至 06-30）" in html and "整行全额退款视为退货" in html
    assert "退款率警戒线按退款率（按订单）判断" in html and "退款率（按金额）" in html
    import openpyxl
    sheet = openpyxl.load_workbook(result.folder / "商品经营明细.xlsx", read_only=True).active
    first = next(sheet.iter_rows(min_row=2, max_row=2, values_only=True))
    assert isinstance(first[4], float) and first[4] == pytest.approx(21629.04)  # GMV as a number, not text


def test_each_planted_fault_is_its_own_flag_naming_its_listing():
    found = {f.code: f for f in pp.findings(compute(), **DEFAULTS)}
    planted = {"perf.price_below_cost": (sample.PRICE_BELOW_COST, "high", "运营"),
               "perf.negative_margin": (sample.NEGATIVE_MARGIN, "high", "运营"),
               "perf.high_refund": (sample.HIGH_REFUND, "medium", "运营"),
               "perf.low_conversion": (sample.LOW_CONVERSION, "medium", "设计"),
               "perf.slow_mover": (sample.SLOW_MOVER, "medium", "运营")}
    assert set(found) == set(planted)
    for code, (key, severity, owner) in planted.items():
        flag = found[code]
        also = [sku_of(sample.PRICE_BELOW_COST)] if code == "perf.negative_margin" else []  # it loses money too
        assert [r["sku"] for r in flag.sample] == [*also, sku_of(key)] and sku_of(key) in flag.message, code
        assert (str(flag.severity), flag.owner) == (severity, owner)


def test_loss_making_skus_are_counted_once_the_same_everywhere():
    """One definition of 亏损 (gross profit below 0): the A row of ABC分类汇总, the negative-margin flag and the advice
    count the same SKUs; the listing sold below cost is among them, and both flags warn about the A-class SKUs."""
    perf = compute()
    loss, below = sku_of(sample.NEGATIVE_MARGIN), sku_of(sample.PRICE_BELOW_COST)
    detail = pp.shown(perf, min_margin=0.0)
    losing = set(detail.loc[detail["advice"].str.contains("亏损") & detail["gross_profit"].lt(0), "sku"])
    assert losing == {loss, below}
    summary = pp.abc_summary(perf, min_margin=0.0).set_index("abc_class")
    assert "其中 2 个亏损" in summary.loc["A", "advice"]
    found = {f.code: f for f in pp.findings(perf, **DEFAULTS)}
    negative = found["perf.negative_margin"]
    assert {r["sku"] for r in negative.sample} == losing and negative.message.count("A 类）") == 2
    assert "2 个商品扣除优惠和退款后亏损（毛利为负），其中 2 个是 A 类" in negative.message
    assert "其中 1 个日常售价低于成本价" in negative.message
    priced = found["perf.price_below_cost"]
    assert f"{below}（JD，A 类）" in priced.message and "其中 1 个是 A 类（销售额靠前的核心商品）" in priced.message


def test_a_low_margin_is_not_a_negative_margin():
    """Above 0 the margin line raises 低毛利 (medium), never the high negative-margin flag for SKUs earning money."""
    perf = compute()
    found = {f.code: f for f in pp.findings(perf, **{**DEFAULTS, "min_margin": 0.5})}
    state = pp.margin_state(perf.frame, 0.5)
    negative, thin = found["perf.negative_margin"], found["perf.low_margin"]
    assert negative.rows == int((state == "亏损").sum()) == 2 and str(negative.severity) == "high"
    assert thin.rows == int((state == "低毛利").sum()) > 10 and str(thin.severity) == "medium"
    assert all(r["gross_profit"] >= 0 and r["margin"] < 0.5 for r in thin.sample)
    assert "低毛利" in thin.message and "毛利率低于警戒线 50%（未亏损）" in thin.message
    assert "perf.low_margin" not in codes(pp.findings(perf, **DEFAULTS))


def test_advice_reads_class_and_margin_together():
    """Every ABC class × margin state gets its own advice: an A-class SKU losing money is told to stop the loss, not
    that it is a core product deserving stock and promotion; the loss-making A-class listing of the sample is one."""
    states = {"盈利": (100.0, 0.5), "低毛利": (5.0, 0.05), "亏损": (-10.0, -0.1), "毛利未知": (float("nan"), float("nan"))}
    rows = [dict(abc_class=c, orders=3, gross_profit=gp, margin=mg, cost=float("nan") if s == "毛利未知" else 10.0,
                 state=s) for c in "ABC" for s, (gp, mg) in states.items()]
    rows += [dict(abc_class="C", orders=0, gross_profit=0.0, margin=float("nan"), cost=10.0, state="无成交"),
             dict(abc_class=None, orders=0, gross_profit=0.0, margin=float("nan"), cost=10.0, state="无成交")]
    frame = pd.DataFrame(rows)
    assert pp.margin_state(frame, 0.1).tolist() == frame["state"].tolist()
    advice = pp.advice(frame, 0.1)
    assert advice.nunique() == 13  # 3 classes × 4 margin states, and one for no sale
    for (cls, state), text in zip(frame[["abc_class", "state"]].itertuples(index=False), advice):
        assert ("核心商品" in text or "潜力商品：" in text or "长尾商品：" in text) == (state == "盈利"), (cls, state)
        assert ("亏损" in text) == (state == "亏损"), (cls, state)
        assert ("警戒线" in text) == (state == "低毛利") and ("成本价" in text) == (state == "毛利未知"), (cls, state)
        assert ("优先保障库存与推广资源" in text) == (cls == "A" and state == "盈利"), (cls, state)
    assert advice[(frame["abc_class"] == "A") & (frame["state"] == "亏损")].item() == \
        "销售额靠前但亏损：先查定价、折扣与退款，再决定是否继续投入推广"
    assert pp.margin_state(frame, 0.0).tolist()[1] == "盈利"  # 5 % is fine when the line is 0

    perf = compute()
    detail = pp.shown(perf, min_margin=0.0).set_index("sku")
    loss = sku_of(sample.NEGATIVE_MARGIN)
    assert detail.loc[loss, "abc_class"] == "A" and detail.loc[loss, "gross_profit"] < 0
    assert detail.loc[loss, "advice"].startswith("销售额靠前但亏损")
    assert detail.loc[sku_of(sample.PRICE_BELOW_COST), "advice"].startswith("销售额靠前但亏损")  # A, sold below cost
    assert (detail.loc[detail["abc_class"].eq("A") & detail["gross_profit"].ge(0), "advice"] == pp.ABC_ADVICE["A"]).all()
    assert detail.loc[sku_of(sample.SLOW_MOVER), "advice"] == pp.NO_SALE_ADVICE
    summary = pp.abc_summary(perf, min_margin=0.0).set_index("abc_class")
    assert summary.loc["A", "advice"].startswith(pp.ABC_ADVICE["A"]) and "其中 2 个亏损" in summary.loc["A", "advice"]
    assert summary.loc["B", "advice"] == pp.ABC_ADVICE["B"]
    (flag,) = [f for f in pp.findings(perf, **DEFAULTS) if f.code == "perf.negative_margin"]
    assert f"{loss}（TM，A 类）" in flag.message and "其中 2 个是 A 类（销售额靠前的核心商品）" in flag.message
    assert flag.sample[0]["abc_class"] == "A"
    strict = {f.code: f for f in pp.findings(perf, **{**DEFAULTS, "min_margin": 0.3})}["perf.low_margin"]
    thin = pp.shown(perf, min_margin=0.3).set_index("sku")
    assert thin.loc["PDD-04-1KG-2401", "abc_class"] == "C" and "PDD-04-1KG-2401" in {r["sku"] for r in strict.sample}
    assert thin.loc["PDD-04-1KG-2401", "advice"] == pp.ADVICE[("C", "低毛利")]


def test_the_refund_line_judges_the_rate_it_is_told_to():
    """退款率警戒线 by orders (the default, as 生意参谋 counts) or by amount: each flags the listings whose rate of
    that kind, recomputed here, is above the line."""
    lines = paid_lines(*JUNE)
    by_sku = lines.groupby("sku").apply(lambda x: pd.Series({
        "orders": x["order_id"].nunique(), "by_orders": x.loc[x["refund_amount"] > 0, "order_id"].nunique()
        / x["order_id"].nunique(), "by_amount": x["refund_amount"].sum() / x["amount"].sum()}))
    perf = compute()
    for basis, column in (("按订单", "by_orders"), ("按金额", "by_amount")):
        found = {f.code: f for f in pp.findings(perf, **{**DEFAULTS, "max_refund_rate": 0.13, "refund_basis": basis})}
        flag = found["perf.high_refund"]
        expected = by_sku[(by_sku["orders"] >= 10) & (by_sku[column] > 0.13)]
        assert {r["sku"] for r in flag.sample} == set(expected.index), basis
        assert f"退款率（{basis}）高于 13%" in flag.message
    flagged = {basis: {r["sku"] for f in pp.findings(perf, **{**DEFAULTS, "max_refund_rate": 0.13, "refund_basis": basis})
                       if f.code == "perf.high_refund" for r in f.sample} for basis in ("按订单", "按金额")}
    by_orders, by_amount = flagged["按订单"], flagged["按金额"]
    assert by_orders != by_amount  # the two rates are not the same number (PDD-05-3P-2406: 2 of 14 orders, 10 % of GMV)
    assert "PDD-05-3P-2406" in by_orders - by_amount


def test_abc_classes_on_cumulative_gmv():
    frame = pd.DataFrame({"sku": list("abcdefg"), "gmv": [50.0, 30, 10, 5, 3, 2, 0]})
    out = pp.classify(frame, 0.8, 0.15)
    # before a: 0 → A; b: 0.5 → A; c: 0.8 (not under 0.8) → B; d: 0.9 → B; e: 0.95 → C; f: 0.98 → C; g: no GMV → C
    assert out["abc_class"].tolist() == ["A", "A", "B", "B", "C", "C", "C"]
    assert out["cum_share"].tolist() == pytest.approx([0.5, 0.8, 0.9, 0.95, 0.98, 1.0, 1.0])
    assert pp.classify(frame.assign(gmv=0.0), 0.8, 0.15)["abc_class"].isna().all()  # nothing sold: no classes
    assert pp.classify(frame, 0.5, 0.45)["abc_class"].tolist() == ["A", "B", "B", "B", "C", "C", "C"]


def test_ad_spend_is_shared_by_each_campaigns_gmv():
    perf = compute()
    ads = pd.read_parquet("data/sample/ad_spend.parquet")
    june = ads[(ads["date"] >= "2026-06-01") & (ads["date"] <= "2026-06-30")]
    assert perf.ad_total == pytest.approx(june["spend"].sum()) == pytest.approx(12158.04)
    assert perf.frame["ad_spend"].sum() == pytest.approx(perf.ad_total)  # every campaign had tagged orders in June
    lines = paid_lines(*JUNE)
    camp = lines[lines["campaign_id"] == "CP-2605-TM"]
    share = camp.loc[camp["sku"] == sku_of(sample.NEGATIVE_MARGIN), "amount"].sum() / camp["amount"].sum()
    row = perf.frame.set_index("sku").loc[sku_of(sample.NEGATIVE_MARGIN)]
    assert row["ad_spend"] == pytest.approx(share * june.loc[june["campaign_id"] == "CP-2605-TM", "spend"].sum())
    assert row["ad_rate"] == pytest.approx(row["ad_spend"] / row["gmv"])
    assert (perf.frame.loc[perf.frame["platform"].isin(["TB", "DY", "PDD"]), "ad_spend"] == 0).all()


def test_spend_without_tagged_orders_stays_at_shop_level(shop):
    folder = shop(edit=("orders", lambda o: o.assign(campaign_id=None)))  # an import without campaign ids
    perf = compute(src=sources.open_source(folder))
    assert perf.frame["ad_spend"].sum() == 0 and perf.ad_total == pytest.approx(12158.04)
    assert any("¥12,158.04 所属活动本期没有带活动ID的成交订单" in n for n in perf.notes)


def test_mid_month_on_one_platform_counts_up_to_the_day():
    perf = compute(dt.date(2026, 6, 15), "TM")
    lines = paid_lines(dt.date(2026, 6, 1), dt.date(2026, 6, 15), "TM")
    assert perf.span == "2026-06（06-01 至 06-15，截至参考日期）"
    assert set(perf.frame["platform"]) == {"TM"} and len(perf.frame) == 15
    assert perf.frame["gmv"].sum() == pytest.approx(lines["amount"].sum())
    metrics, cards = pp.headline(perf)
    assert metrics["period_end"] == "2026-06-15" and "截至参考日期" in cards["统计区间"]
    flags = pp.findings(perf, **DEFAULTS)
    assert codes(flags) == {"perf.negative_margin", "perf.low_conversion"}  # the TM faults only
    week = compute(dt.date(2026, 6, 17), period="周")
    assert week.span == "2026-W25（06-15 至 06-17，截至参考日期）" and week.first == dt.date(2026, 6, 15)
    assert compute(dt.date(2026, 6, 21), period="周").span == "2026-W25（06-15 至 06-21）"


def test_a_period_without_orders_says_so_and_judges_no_slow_movers():
    perf = compute(dt.date(2024, 5, 31))  # the sample's orders start on 2024-07-01
    assert perf.frame["gmv"].sum() == 0 and perf.frame["abc_class"].isna().all()
    assert pp.abc_summary(perf, min_margin=0.0).empty and len(pp.pareto_points(perf)) == 1
    assert any("没有付款订单" in n for n in perf.notes) and any("不判断滞销" in n for n in perf.notes)
    metrics, cards = pp.headline(perf)
    assert metrics["margin"] is None and cards["毛利率"] == "—"
    assert metrics["refund_rate_orders"] is None and metrics["refund_rate_amount"] is None
    # only the empty period itself (JD-02-87-2406, priced below cost, is listed only from 2024-06-02)
    assert [(f.code, f.owner) for f in pp.findings(perf, **DEFAULTS)] == [("perf.no_sales", "数据分析")]


def test_a_date_after_the_data_judges_slow_movers_on_the_last_day_with_data(read_strict_json):
    result = runner.run("product_performance", {"as_of": "2026-09-30"})
    assert result.ok, result.error
    found = {f.code: f for f in result.flags}
    assert set(found) == {"perf.price_below_cost", "perf.slow_mover", "data.stale", "perf.no_sales"}
    assert "截至数据最后一天 2026-06-30" in found["perf.slow_mover"].message and found["perf.slow_mover"].rows == 1
    assert result.metrics["gmv"] == 0 and result.metrics["margin"] is None
    read_strict_json(result.folder / "result.json")


def test_thresholds_are_the_parameters():
    perf = compute()
    strict = pp.findings(perf, **{**DEFAULTS, "min_margin": 0.2, "max_refund_rate": 0.1, "min_orders": 5,
                                  "slow_days": 20})
    found = {f.code: f for f in strict}
    thin = {r["sku"] for r in found["perf.low_margin"].sample}
    assert {"PDD-04-1KG-2401", "TB-04-1KG-2401"} <= thin
    assert sku_of(sample.NEGATIVE_MARGIN) in {r["sku"] for r in found["perf.negative_margin"].sample}
    assert "毛利率低于警戒线 20%" in found["perf.low_margin"].message
    assert found["perf.high_refund"].rows > 1 and "高于 10%" in found["perf.high_refund"].message
    assert found["perf.slow_mover"].rows == 2  # DY-05-WH-2310 last sold 19 days before as well
    loose = pp.findings(perf, **{**DEFAULTS, "traffic_multiple": 10, "min_uv": 5000})
    assert "perf.low_conversion" not in codes(loose)
    assert "perf.high_refund" not in codes(pp.findings(perf, **{**DEFAULTS, "min_orders": 100}))


def test_bad_parameters_are_refused_in_chinese(tmp_path):
    with pytest.raises(ParamError, match=r"A 类占比）应在 0.5 到 0.95 之间"):
        runner.run("product_performance", {"abc_a": 0.99})
    with pytest.raises(ParamError, match="平台"):
        runner.run("product_performance", {"platform": "AMAZON"})
    out = subprocess.run([sys.executable, "-m", "opsbook.ui.cli", "run", "product_performance", "-p", "slow_days=0",
                          "-p", "period=年", "--out", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "滞销天数" in out.stderr and "统计周期" in out.stderr and "Traceback" not in out.stderr
    assert not list(tmp_path.glob("product_performance/*"))  # nothing executed


def test_a_missing_column_is_a_chinese_error_naming_table_and_column(shop):
    result = runner.run("product_performance", {"source": shop(drop_columns={"products": ["cost"]})})
    assert result.exit_code == 2 and "products 表缺少必需列 cost（成本价）" in result.error
    result = runner.run("product_performance", {"source": shop(drop_columns={"orders": ["pay_time"]})})
    assert result.exit_code == 2 and "orders 表缺少必需列 pay_time（付款时间）" in result.error


def test_duplicated_order_rows_stop_the_run(shop):
    result = runner.run("product_performance",
                        {"source": shop(edit=("orders", lambda o: pd.concat([o, o.head(3)], ignore_index=True)))})
    assert result.exit_code == 2 and "重复" in result.error and "orders" in result.error


def test_without_traffic_ads_stock_or_item_ids_the_rest_still_counts(shop):
    folder = shop(drop_tables=["product_traffic", "ad_spend", "inventory"])
    perf = compute(src=sources.open_source(folder))
    assert perf.frame["uv"].isna().all() and perf.frame["ad_spend"].isna().all() and perf.frame["stock"].isna().all()
    assert perf.ad_total is None and perf.frame["gmv"].sum() == pytest.approx(259408.48)
    assert any("没有 product_traffic" in n for n in perf.notes) and any("没有 ad_spend" in n for n in perf.notes)
    assert codes(pp.findings(perf, **DEFAULTS)) == {"perf.price_below_cost", "perf.negative_margin",
                                                    "perf.high_refund", "perf.slow_mover"}
    no_ids = compute(src=sources.open_source(shop(drop_columns={"products": ["product_id"]})))
    assert no_ids.frame["uv"].isna().all() and any("59 个 SKU 在商品表中没有商品ID" in n for n in no_ids.notes)


def test_without_products_margins_are_unknown_and_flagged(shop):
    result = runner.run("product_performance", {"source": shop(drop_tables=["products"])})
    assert result.ok, result.error
    assert result.metrics["gmv"] == pytest.approx(259408.48)
    assert result.metrics["gross_profit"] is None and result.metrics["margin"] is None
    (blind,) = [f for f in result.flags if f.code == "perf.no_cost"]
    assert blind.rows == 58 and blind.owner == "数据分析"
    assert "没有 products（商品）表" in (result.folder / "report.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("how", ["empty", "no column"])
def test_unknown_refunds_are_not_zero(shop, how):
    """Without refund amounts nothing claims refunds were deducted; the refund rate by orders counts the orders in
    status refunded (a lower bound, said so) and the rate by amount stays unknown."""
    folder = (shop(edit=("orders", lambda o: o.assign(refund_amount=None))) if how == "empty"
              else shop(drop_columns={"orders": ["refund_amount"]}))
    perf = compute(src=sources.open_source(folder))
    assert perf.frame["refund_rate"].isna().all() and not perf.refunds_known
    metrics, cards = pp.headline(perf)
    assert metrics["refund_rate_amount"] is None and metrics["revenue"] is None
    lines = paid_lines(*JUNE)
    refunded = lines.loc[lines["status"] == "refunded", "order_id"].nunique()
    assert refunded > 0 and metrics["refund_rate_orders"] == pytest.approx(refunded / lines["order_id"].nunique(),
                                                                           abs=1e-4)
    assert cards["净销售额（扣退款）"] == "退款未知，无法计算" and "毛利（未扣退款）" in cards
    assert "退款率（按订单，仅计已退款状态）" in cards
    assert any("没有退款金额" in n and "部分退款的订单看不出来" in n for n in perf.notes)
    assert perf.frame["revenue"].sum() == pytest.approx(perf.frame["gmv"].sum())
    messages = " ".join(f.message for f in pp.findings(perf, **{**DEFAULTS, "min_margin": 0.3}))
    assert "扣除优惠后（退款未知，未扣除）亏损" in messages and "退款后" not in messages
    sold = perf.frame[perf.frame["orders"] > 0]
    assert sold["refund_order_rate"].notna().all() and sold["refund_order_rate"].max() > 0


def test_a_sku_without_a_listed_platform_and_one_missing_from_products(shop):
    loss, slow = sku_of(sample.NEGATIVE_MARGIN), sku_of(sample.SLOW_MOVER)
    gone = sku_of(sample.HIGH_REFUND)

    def edit(p):
        p = p[p["sku"] != gone].copy()
        p.loc[p["sku"].isin([loss, slow]), "platform"] = None
        return p
    perf = compute(src=sources.open_source(shop(edit=("products", edit))))
    rows = perf.frame.set_index("sku")
    assert rows.loc[loss, "platform"] == "TM" and rows.loc[loss, "cost"] == 125  # matched to where it sold
    assert pd.isna(rows.loc[loss, "uv"])  # no platform on the listing: no traffic can be matched
    assert pd.isna(rows.loc[slow, "platform"]) and rows.loc[slow, "last_sale"] == pd.Timestamp("2026-04-17")
    assert pd.isna(rows.loc[gone, "cost"]) and pd.isna(rows.loc[gone, "margin"])
    metrics, cards = pp.headline(perf)
    assert cards["毛利（不含 1 个缺成本价的商品）"] == pp.report.money(metrics["gross_profit"])
    found = {f.code: f for f in pp.findings(perf, **DEFAULTS)}
    assert [r["sku"] for r in found["perf.no_cost"].sample] == [gone]
    assert [r["sku"] for r in found["perf.slow_mover"].sample] == [slow] and slow in found["perf.slow_mover"].message


def test_skus_of_one_item_share_its_visitors(shop):
    """Two specs (SKUs) of one Tmall item: each row shows the item's visitors and conversion, no row is doubled."""
    a, b = "TM-01-M-2403", "TM-01-M-2309"

    def edit(p):
        p = p.copy()
        p.loc[p["sku"] == b, "product_id"] = p.loc[p["sku"] == a, "product_id"].item()
        return p
    perf = compute(src=sources.open_source(shop(edit=("products", edit))))
    rows = perf.frame.set_index("sku")
    assert len(perf.frame) == 59 and rows.loc[a, "uv"] == rows.loc[b, "uv"] == 2179
    assert rows.loc[a, "conversion"] == rows.loc[b, "conversion"]


def test_hostile_names_stay_text_and_inside_the_run_folder(shop):
    def edit(p):
        p = p.copy()
        p.loc[p.index[:2], "name"] = ["=HYPERLINK(\"http://evil\",\"x\")", "../../../../tmp/逃逸"]
        return p
    result = runner.run("product_performance", {"source": shop(edit=("products", edit))})
    assert result.ok, result.error
    detail = pd.read_csv(result.folder / "商品经营明细.csv")
    assert "'=HYPERLINK(\"http://evil\",\"x\")" in detail["名称"].tolist()
    assert "../../../../tmp/逃逸" in detail["名称"].tolist()
    assert sorted(p.name for p in result.folder.iterdir() if p.suffix in (".csv", ".xlsx")) == [
        "ABC分类汇总.csv", "ABC分类汇总.xlsx", "商品经营明细.csv", "商品经营明细.xlsx"]


def test_a_warehouse_filled_by_ingest(tmp_path):
    """Douyin orders and a Tmall 生意参谋 product report imported with `opsbook ingest`; the products table (no export
    of it can be imported yet) copied in as a CSV beside them."""
    wh = tmp_path / "warehouse"
    dy_header = ["主订单编号", "子订单编号", "支付方式", "选购商品", "商品ID", "商家编码", "商品规格", "商品数量", "商品单价",
                 "商品金额", "订单应付金额", "运费", "优惠总金额", "订单提交时间", "支付完成时间", "发货时间", "订单完成时间",
                 "订单状态", "售后状态", "收件人", "收件人手机号", "省", "市", "区", "街道", "详细地址"]
    dy_rows = [["\t69213%07d" % i, "`69213%07d1" % i, "抖音支付", "运动手表", "'3712345678", "DY-02-M-2603", "黑色", "1",
                "299.00", "299.00", "279.00", "0", "20.00", f"2026/6/1 10:0{i}:00", f"2026/6/1 10:1{i}:00", "-", "-",
                "已完成", "-", f"张{i}", f"1391234567{i}", "浙江省", "杭州市", "西湖区", "文三路", f"文三路 {i} 号"]
               for i in range(3)]
    orders = tmp_path / "1719800000_orders.csv"
    orders.write_bytes("\n".join(",".join(row) for row in [dy_header, *dy_rows]).encode("gbk"))
    header = ["统计日期", "商品ID", "商品名称", "商品访客数", "商品浏览量", "支付买家数", "支付金额", "成功退款金额",
              "商品收藏人数", "商品加购人数", "下单买家数", "下单金额", "搜索引导访客数", "搜索引导支付买家数"]
    report_rows = [header, ["2026-06-01", "612345678901", "针织开衫", "1,024", "3,001", "0", "0", "0", "12", "88", "0",
                            "0", "412", "0"]]
    traffic = tmp_path / "【生意参谋平台】商品_全部_2026-06-01_2026-06-01.xlsx"
    pd.DataFrame(report_rows).to_excel(traffic, header=False, index=False)
    for path, extra in ((orders, []), (traffic, ["--platform", "TM"])):
        out = subprocess.run([sys.executable, "-m", "opsbook.ui.cli", "ingest", str(path), *extra, "--into", str(wh)],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
    pd.DataFrame([{"sku": "DY-02-M-2603", "name": "运动手表", "category": "3C数码", "cost": 180.0, "price": 299.0,
                   "platform": "DY", "product_id": "3712345678"},
                  {"sku": "TM-01-S-2508", "name": "针织开衫", "category": "服饰", "cost": 55.0, "price": 139.0,
                   "platform": "TM", "product_id": "612345678901"}]).to_csv(wh / "products.csv", index=False)
    result = runner.run("product_performance", {"source": str(wh), "as_of": "2026-06-30"})
    assert result.ok, result.error
    assert result.metrics["gmv"] == pytest.approx(837.0) and result.metrics["gross_profit"] == pytest.approx(837 - 540)
    detail = pd.read_csv(result.folder / "商品经营明细.csv")
    assert detail[["商家编码", "订单数", "商品访客数"]].fillna(-1).values.tolist() == [["DY-02-M-2603", 3, -1],
                                                                                 ["TM-01-S-2508", 0, 1024]]
    assert "perf.slow_mover" not in {f.code for f in result.flags}  # a month of data only: slow movers not judged
    assert "不足 30 天：不判断滞销" in (result.folder / "report.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_postgres_gives_the_folder_numbers(postgres_url):
    import psycopg
    from psycopg import sql
    from opsbook.data import postgres, tables
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS perf CASCADE; CREATE SCHEMA perf"))
    url, db = f"{postgres_url}?schema=perf", postgres.Database.parse(f"{postgres_url}?schema=perf")
    with postgres.connect(db) as conn:  # the sample's tables copied in, as an operator's own tools would
        for name in SAMPLE.names():
            frame = SAMPLE.table(name)
            postgres.ensure_table(conn, db, name, tables.KEYS.get(name, []), list(frame.columns))
            postgres.store(conn, db.ident(name), frame)
    on_pg = runner.run("product_performance", {"source": url, "platform": "TM"})
    on_folder = runner.run("product_performance", {"platform": "TM"})
    assert on_pg.ok and on_folder.ok, on_pg.error
    assert on_pg.metrics == on_folder.metrics and on_pg.metrics["gmv"] > 0
    assert {f.code for f in on_pg.flags} == {f.code for f in on_folder.flags}


def test_duckdb_gives_the_folder_numbers(sample_duckdb):
    on_db = compute(src=sources.open_source(str(sample_duckdb)), platform="JD")
    on_folder = compute(platform="JD")
    pd.testing.assert_frame_equal(pp.shown(on_db, min_margin=0.0), pp.shown(on_folder, min_margin=0.0),
                                  check_dtype=False)


def test_sql_aggregates_match_duckdb_on_the_raw_file():
    """The one scan of orders against a plain DuckDB query of the parquet file (no views)."""
    perf = compute()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    raw = con.sql("""
        SELECT sku, platform, sum(quantity) AS units, count(DISTINCT order_id) AS orders FROM 'data/sample/orders.parquet'
        WHERE NOT is_fake AND status IN ('paid', 'shipped', 'completed', 'refunded') AND pay_time IS NOT NULL
          AND pay_time >= TIMESTAMPTZ '2026-06-01' AND pay_time < TIMESTAMPTZ '2026-07-01' GROUP BY ALL""").df()
    got = perf.frame[perf.frame["orders"] > 0].set_index(["sku", "platform"])[["units", "orders"]].sort_index()
    assert got.to_dict() == raw.set_index(["sku", "platform"]).sort_index().astype("int64").to_dict()


def test_pareto_curve_draws_chinese_without_missing_glyphs():
    import io
    import warnings
    from opsbook import charts
    points = pp.pareto_points(compute())
    assert points.iloc[0].tolist() == [0.0, 0.0] and points.iloc[-1].tolist() == pytest.approx([1.0, 1.0])
    assert points["cum_share"].is_monotonic_increasing and len(points) == 60
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = charts.pareto(points, "sku_share", "cum_share", "帕累托曲线", lines=[(0.8, "A 类线 80%"), (0.95, "A+B 类线 95%")],
                            xlabel="商品累计占比", ylabel="成交金额累计占比")
        fig.savefig(io.BytesIO(), format="png")
    assert not [w for w in caught if "Glyph" in str(w.message)]
    ax = fig.axes[0]
    assert ax.get_title(loc="left") == "帕累托曲线" and [t.get_text() for t in ax.get_legend().get_texts()] == [
        "A 类线 80%", "A+B 类线 95%"]


def test_abc_shares_adding_up_to_more_than_the_whole_are_refused():
    from opsbook.engine import runner
    result = runner.run("product_performance", {"abc_a": 0.95, "abc_b": 0.45})
    assert result.exit_code == 2 and "之和不能超过 100%（现为 140%）" in result.error


def test_a_period_without_orders_is_said_not_reported_as_fine():
    from opsbook.engine import runner
    result = runner.run("product_performance", {"as_of": "2024-01-15"})  # orders begin 2024-07-01
    assert result.ok, result.error
    assert result.flag_codes.get("perf.no_sales") == "medium"
    assert "没有发现需要处理的问题" not in result.report.read_text(encoding="utf-8")


def test_a_sku_listed_on_two_platforms_keeps_each_listings_traffic(shop):
    """TB-01-M-2403 listed on TB and on TM (one cost, own item ids): the TB row keeps the traffic it has on the plain
    sample, the TM listing without sales gets its own row, and no note claims a missing item id."""
    sku = "TB-01-M-2403"

    def edit(p):
        twin = p[p["sku"] == sku].assign(platform="TM", product_id="699999999999")
        return pd.concat([p, twin], ignore_index=True)
    plain = compute().frame.set_index(["sku", "platform"])
    perf = compute(src=sources.open_source(shop(edit=("products", edit))))
    rows = perf.frame.set_index(["sku", "platform"])
    assert len(perf.frame) == len(plain) + 1
    assert rows.loc[(sku, "TB"), "uv"] == plain.loc[(sku, "TB"), "uv"] > 0
    assert rows.loc[(sku, "TB"), "conversion"] == pytest.approx(plain.loc[(sku, "TB"), "conversion"])
    assert rows.loc[(sku, "TB"), "cost"] == rows.loc[(sku, "TM"), "cost"] == plain.loc[(sku, "TB"), "cost"]
    assert rows.loc[(sku, "TM"), "orders"] == 0 and rows.loc[(sku, "TM"), "listed"]
    assert not any("没有商品ID" in n for n in perf.notes), perf.notes
    detail = pp.shown(perf, min_margin=0.0)
    assert len(detail[(detail["sku"] == sku) & (detail["platform"] == "TM")]) == 1
    (slow,) = [f for f in pp.findings(perf, **DEFAULTS) if f.code == "perf.slow_mover"]
    assert {(r["sku"], r["platform"]) for r in slow.sample} == {(sku_of(sample.SLOW_MOVER), sample.SLOW_MOVER[1]),
                                                                (sku, "TM")}  # never sold on TM, stock left
