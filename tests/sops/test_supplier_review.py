"""supplier_review: on-time, defect and fill rates recomputed from the purchase-order file, tiers with every reason,
single-sourced SKUs (with a minimum of orders), mid-period dates, empty periods, bad and hostile input."""
import datetime as dt

import pandas as pd
import pytest

from opsbook import sources
from opsbook.data import sample
from opsbook.engine import runner
from opsbook.errors import ParamError
from opsbook.sops import supplier_review

SAMPLE = sources.open_source("data/sample")
END = dt.date(2026, 6, 30)
LINES = supplier_review.Lines(3, 0.95, 0.02, 0.95, 12, 1.5, 0.85, 0.05, 0.85)
Q2 = dt.date(2026, 4, 1)
ON_TIME, OTIF = "准时交货率（分级依据）", "准时足量率 OTIF（参考，不用于分级）"


def card(first: dt.date = Q2, last: dt.date = END, src=SAMPLE) -> pd.DataFrame:
    """The scorecard of a period, lateness judged as far as the purchase orders are known."""
    return supplier_review.scorecard(src, first, last, supplier_review.coverage(src, first, last, 14))


def po_file() -> pd.DataFrame:
    return pd.read_parquet("data/sample/purchase_orders.parquet")


def test_headline_numbers_recomputed_from_the_files():
    """The default quarterly run (2026-04-01 … 06-30): one row per supplier, on-time and defect rates as pandas
    computes them over the purchase-order file."""
    result = runner.run("supplier_review", {})
    assert result.ok, result.error
    po = po_file()
    due = po[(po["due_date"] >= "2026-04-01") & (po["due_date"] <= "2026-06-30")]
    arrived = due["received_date"].notna() & (due["received_date"] <= "2026-06-30")
    on_time = (arrived & (due["received_date"] <= due["due_date"])).groupby(due["supplier_id"]).mean()
    got = due[arrived].groupby("supplier_id")[["defect_qty", "received_qty"]].sum()
    defects = got["defect_qty"] / got["received_qty"]
    m = result.metrics
    assert m["first_day"] == "2026-04-01" and m["last_day"] == "2026-06-30" and m["due_orders"] == len(due) == 217
    assert m["on_time_rate"] == pytest.approx((arrived & (due["received_date"] <= due["due_date"])).mean(), abs=1e-6)
    assert m["defect_rate"] == pytest.approx(got["defect_qty"].sum() / got["received_qty"].sum(), abs=1e-6)
    table = pd.read_csv(result.folder / "供应商分级.csv").set_index("供应商ID")
    suppliers = pd.read_parquet("data/sample/suppliers.parquet")
    assert sorted(table.index) == sorted(suppliers["supplier_id"]) and len(table) == 11
    assert table.loc[sample.LATE_SUPPLIER, ON_TIME] == pytest.approx(on_time[sample.LATE_SUPPLIER]) \
        == pytest.approx(3 / 22)
    assert table.loc[sample.DEFECTIVE_SUPPLIER, "次品率"] == pytest.approx(defects[sample.DEFECTIVE_SUPPLIER]) \
        == pytest.approx(32 / 462)
    assert m["tiers"] == {"核心": 4, "备选": 5, "淘汰观察": 2, "待评估": 0}
    assert table.loc[sample.LATE_SUPPLIER, "建议等级"] == table.loc[sample.DEFECTIVE_SUPPLIER, "建议等级"] == "淘汰观察"
    assert table.loc[sample.LATE_SUPPLIER, "变化"] == "降级" and table.loc["SUP10", "变化"] == "新评级"
    # months of cooperation at the reference day, as the sample declares them
    months = {sid: m for sid, _, m, *_ in sample.SUPPLIERS}
    assert table["合作月数"].to_dict() == months
    flags = {f.code: f for f in result.flags}
    assert [r["supplier_id"] for r in flags["supplier.on_time"].sample] == [sample.LATE_SUPPLIER]
    assert [r["supplier_id"] for r in flags["supplier.defects"].sample] == [sample.DEFECTIVE_SUPPLIER]
    products = pd.read_parquet("data/sample/products.parquet")
    masks = set(products.loc[products["name"] == sample.BRAND + sample.SINGLE_SOURCED, "sku"])
    assert {r["sku"] for r in flags["supplier.single_source"].sample} == masks
    assert all(f.owner == "采购" for f in result.flags)


def test_every_reason_is_written():
    graded = supplier_review.grade(card(), LINES).set_index("supplier_id")
    core = graded.loc["SUP01", "reasons"].split("；")
    assert graded.loc["SUP01", "tier"] == "核心" and len(core) == 5
    assert core[0] == "准时交货率 97.4% ≥ 核心线 95.0%" and core[3] == "合作 62 个月"
    backup = graded.loc["SUP02", "reasons"]
    assert graded.loc["SUP02", "tier"] == "备选"
    assert "准时交货率 89.5% < 核心线 95.0%" in backup and "合作 8 个月，核心需满 12 个月" in backup \
        and "核心需 1.5 倍" in backup
    assert graded.loc["SUP06", "reasons"] == "准时交货率 13.6% 低于 85.0%（22 单中迟到 19 单、逾期未到 0 单）"
    assert graded.loc["SUP04", "reasons"] == "次品率 6.9% 高于 5.0%"


def test_single_sourcing_needs_a_minimum_of_orders():
    single, few = supplier_review.single_sourced(SAMPLE, END, 12, 3)
    products = pd.read_parquet("data/sample/products.parquet")
    masks = set(products.loc[products["name"] == sample.BRAND + sample.SINGLE_SOURCED, "sku"])
    assert set(single["sku"]) == masks and len(masks) == 4 and set(single["supplier_id"]) == {"SUP05"}
    assert few["sku"].tolist() == ["DY-02-BK-2603"]  # one purchase order says nothing about its sourcing
    assert "DY-02-BK-2603" in supplier_review.single_note(single, few, 12, 3)
    loose, _ = supplier_review.single_sourced(SAMPLE, END, 12, 1)
    assert set(loose["sku"]) == masks | {"DY-02-BK-2603"}


def test_a_mid_period_reference_day_knows_nothing_of_later_arrivals():
    """As of 2026-05-15 (the three months since 02-16): orders due by then but delivered later are overdue, not on
    time, and listed to chase."""
    first, last = supplier_review.period(dt.date(2026, 5, 15), 3)
    assert (first, last) == (dt.date(2026, 2, 16), dt.date(2026, 5, 15))
    po = po_file()
    open_then = po[(po["due_date"] <= "2026-05-15") & (po["order_date"] <= "2026-05-15")
                   & (po["received_date"].isna() | (po["received_date"] > "2026-05-15"))]
    late = supplier_review.overdue(SAMPLE, supplier_review.coverage(SAMPLE, first, last, 14))
    assert sorted(late["po_id"]) == sorted(open_then["po_id"]) and len(late) == 2
    assert late.set_index("po_id")["days_overdue"].to_dict() == {
        r.po_id: (pd.Timestamp("2026-05-15") - r.due_date).days for r in open_then.itertuples()}
    mid = card(first, last).set_index("supplier_id")
    assert mid["overdue_orders"].sum() == 2 and mid.loc["SUP06", "overdue_orders"] == 1
    assert supplier_review.period(dt.date(2026, 3, 31), 1) == (dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    assert supplier_review.period(dt.date(2026, 12, 31), 3)[0] == dt.date(2026, 10, 1)


def test_a_period_after_the_data_is_honest():
    result = runner.run("supplier_review", {"as_of": "2027-06-30"})
    assert result.ok, result.error
    assert result.metrics["tiers"]["待评估"] == 11 and result.metrics["on_time_rate"] is None
    (flag,) = [f for f in result.flags if f.code == "supplier.stale"]
    assert flag.severity == "high" and "采购单数据只到 2026-06-30" in flag.message
    table = pd.read_csv(result.folder / "供应商分级.csv")
    assert (table["建议等级"] == "待评估").all() and table["原因"].str.contains("暂不评级").all()


def test_thresholds_are_the_parameters():
    strict = supplier_review.Lines(3, 0.99, 0.02, 0.95, 12, 1.5, 0.95, 0.05, 0.85)
    graded = supplier_review.grade(card(), strict)
    assert set(graded.loc[graded["tier"] == "淘汰观察", "supplier_id"]) == {"SUP02", "SUP04", "SUP05", "SUP06", "SUP09",
                                                                         "SUP10", "SUP11"}
    few = supplier_review.Lines(20, 0.95, 0.02, 0.95, 12, 1.5, 0.85, 0.05, 0.85)
    pending = supplier_review.grade(card(), few)
    po = po_file()
    due = po[(po["due_date"] >= "2026-04-01") & (po["due_date"] <= "2026-06-30")].groupby("supplier_id").size()
    assert set(pending.loc[pending["tier"] == "待评估", "supplier_id"]) == set(due[due < 20].index)
    assert set(due[due >= 20].index) == {"SUP01", "SUP05", "SUP06"}
    result = runner.run("supplier_review", {"period_months": 12, "core_months": 24})
    table = pd.read_csv(result.folder / "供应商分级.csv").set_index("供应商ID")
    assert result.metrics["first_day"] == "2025-07-01" and "核心需满 24 个月" in table.loc["SUP07", "原因"]


def test_contradictory_or_out_of_bounds_thresholds_are_refused_in_chinese():
    with pytest.raises(ParamError, match="核心准时交货率.*应在 0 到 1 之间"):
        runner.run("supplier_review", {"core_on_time": 1.5})
    result = runner.run("supplier_review", {"drop_on_time": 0.9, "core_on_time": 0.8})
    assert result.exit_code == 2 and "淘汰观察准时率（0.9）不能高于核心准时率（0.8）" in result.error
    assert "Traceback" not in result.error


def test_a_supplier_missing_from_the_supplier_table(shop):
    src = shop(edit=("suppliers", lambda s: s[s["supplier_id"] != "SUP03"]))
    result = runner.run("supplier_review", {"source": src})
    assert result.ok, result.error
    table = pd.read_csv(result.folder / "供应商分级.csv").set_index("供应商ID")
    assert table.loc["SUP03", "建议等级"] == "备选" and "suppliers 表中没有该供应商" in table.loc["SUP03", "原因"]
    assert result.flag_codes["supplier.unlisted"] == "low"


def test_missing_column_and_duplicate_orders_stop_the_run_in_chinese(shop):
    result = runner.run("supplier_review", {"source": shop(drop_columns={"purchase_orders": ["due_date"]})})
    assert result.exit_code == 2 and "purchase_orders 表缺少必需列 due_date（约定交期）" in result.error


def test_duplicated_purchase_orders_stop_the_run(shop):
    twice = shop(edit=("purchase_orders", lambda p: pd.concat([p, p.head(1)], ignore_index=True)))
    result = runner.run("supplier_review", {"source": twice})
    assert result.exit_code == 2 and "purchase_orders" in result.error and "重复" in result.error


def test_hostile_supplier_names_stay_text(shop):
    evil = "=cmd|' /C calc'!A0"
    src = shop(edit=("suppliers", lambda s: s.assign(name=s["name"].mask(s["supplier_id"] == "SUP06", evil))))
    result = runner.run("supplier_review", {"source": src})
    table = pd.read_csv(result.folder / "供应商分级.csv").set_index("供应商ID")
    assert table.loc["SUP06", "供应商名称"] == "'" + evil


PO_COLUMNS = ["po_id", "supplier_id", "sku", "ordered_qty", "received_qty", "order_date", "due_date", "received_date",
              "defect_qty"]
ERP_ORDERS = [("P1", "S1", "A-1", 10, 10, "2026-04-01", "2026-04-08", "2026-04-08", 0),
              ("P2", "S1", "A-1", 10, 9, "2026-05-01", "2026-05-08", "2026-05-07", 1),
              ("P3", "S1", "A-1", 10, 10, "2026-06-01", "2026-06-08", "2026-06-12", 0),
              ("P4", "S2", "B-1", 20, 0, "2026-06-20", "2026-06-27", "", 0)]


def erp_folder(folder, orders=ERP_ORDERS):
    """A warehouse folder with the ERP's supplier list and purchase orders dropped in as canonical CSV."""
    folder.mkdir()
    pd.DataFrame({"supplier_id": ["S1", "S2"], "name": ["甲厂", "乙厂"], "since": ["2024-01-05", "2026-03-01"],
                  "capacity_per_week": [100, 30], "tier": ["核心", ""]}).to_csv(folder / "suppliers.csv", index=False)
    pd.DataFrame(orders, columns=PO_COLUMNS).to_csv(folder / "purchase_orders.csv", index=False)
    return str(folder)


def test_on_a_warehouse_folder_with_erp_exports(tmp_path):
    """No marketplace export carries purchase orders: the ERP's supplier and purchase-order lists are dropped into the
    warehouse folder as CSV (Chinese-free canonical headers), and the playbook reads them like any source.

    Its last record is 06-20, ten days before the reference day, yet P4 (due 06-27, not received) is overdue: this
    list has an order or a receipt only every week or three (gaps up to 25 days), so ten quiet days are its usual
    rhythm, not a missing export — the data is known to 06-30 and says P4 had not arrived."""
    result = runner.run("supplier_review", {"source": erp_folder(tmp_path / "warehouse"), "min_orders": 3})
    assert result.ok, result.error
    table = pd.read_csv(result.folder / "供应商分级.csv").set_index("供应商ID")
    assert table.loc["S1", ON_TIME] == pytest.approx(2 / 3) and table.loc["S1", "次品率"] == pytest.approx(1 / 29)
    assert table.loc["S1", "建议等级"] == "淘汰观察" and table.loc["S2", "建议等级"] == "待评估"
    assert result.metrics["known_until"] == "2026-06-30" and result.metrics["unjudged_orders"] == 0
    late = pd.read_csv(result.folder / "逾期采购单.csv")
    assert late["采购单号"].tolist() == ["P4"] and late["逾期天数"].tolist() == [3]
    assert result.flag_codes == {"supplier.on_time": "high", "supplier.overdue": "medium",
                                 "supplier.single_source": "medium", "supplier.core_downgrade": "medium"}
    assert "数据截至 2026-06-30：最后一条下单或到货记录在 2026-06-20，此前记录最长间隔 25 天" in \
        (result.folder / "report.html").read_text(encoding="utf-8")


def test_orders_due_after_the_data_ends_are_not_late():
    """As of 2026-07-10 the sample's purchase orders stop at 06-30 (the end of the shop), with a record every day
    before: ten silent days are not its rhythm. The five orders due 07-01 … 07-06 are not judged — not late, not
    overdue —, so the core suppliers SUP03 and SUP08 (one of them each) stay 核心, and the report says 数据截至."""
    result = runner.run("supplier_review", {"as_of": "2026-07-10"})
    assert result.ok, result.error
    po = po_file()
    after = po[(po["due_date"] > "2026-06-30") & (po["due_date"] <= "2026-07-10")]
    assert set(after["supplier_id"]) >= {"SUP03", "SUP08"} and after["received_date"].isna().all()
    m = result.metrics
    assert (m["first_day"], m["last_day"], m["known_until"]) == ("2026-04-11", "2026-07-10", "2026-06-30")
    assert m["unjudged_orders"] == len(after) == 5
    due = po[(po["due_date"] >= "2026-04-11") & (po["due_date"] <= "2026-06-30")]
    assert m["due_orders"] == len(due)
    on_time = (due["received_date"].notna() & (due["received_date"] <= due["due_date"])).groupby(due["supplier_id"]).mean()
    table = pd.read_csv(result.folder / "供应商分级.csv").set_index("供应商ID")
    assert table.loc[["SUP03", "SUP08"], "建议等级"].tolist() == ["核心", "核心"]
    assert table.loc[["SUP03", "SUP08"], ON_TIME].tolist() == [1.0, 1.0] == on_time[["SUP03", "SUP08"]].tolist()
    assert not (result.folder / "逾期采购单.csv").exists() or pd.read_csv(result.folder / "逾期采购单.csv").empty
    (flag,) = [f for f in result.flags if f.code == "supplier.data_end"]
    assert flag.severity == "low" and "最长间隔 1 天，已 10 天没有记录" in flag.message and "只评到 2026-06-30" in flag.message
    page = (result.folder / "report.html").read_text(encoding="utf-8")
    assert "数据截至 2026-06-30" in page and "5 张采购单的约定交期在 2026-06-30 当天或之后" in page


@pytest.mark.parametrize("every, known", [(1, "2026-06-20"), (7, "2026-06-20"), (14, "2026-06-30")],
                         ids=["daily list", "weekly list", "fortnightly list"])
def test_how_far_the_data_is_known_follows_its_own_rhythm(tmp_path, every, known):
    """Ten quiet days after the last record: for a list with a record every day or week they mean a missing export
    (known to the last record, the order due 06-27 is not judged), for a fortnightly one they are its rhythm (known to
    06-30, the order is overdue)."""
    days = pd.date_range(end="2026-06-20", periods=80 // every + 1, freq=f"{every}D")
    orders = [(f"Q{i}", "S1", "A-1", 10, 10, d.date().isoformat(), d.date().isoformat(), d.date().isoformat(), 0)
              for i, d in enumerate(days)] + [("P4", "S2", "B-1", 20, 0, "2026-06-20", "2026-06-27", "", 0)]
    src = sources.open_source(erp_folder(tmp_path / "wh", orders))
    cover = supplier_review.coverage(src, dt.date(2026, 4, 1), END, 14)
    assert (cover.last_record, cover.longest_gap, cover.silence) == (dt.date(2026, 6, 20), every, 10)
    assert cover.known == dt.date.fromisoformat(known)
    late = supplier_review.overdue(src, cover)
    assert late["po_id"].tolist() == ([] if every < 14 else ["P4"])
    scored = supplier_review.scorecard(src, dt.date(2026, 4, 1), END, cover).set_index("supplier_id")
    assert scored.loc["S2", ["due_orders", "unjudged_orders"]].tolist() == ([0, 1] if every < 14 else [1, 0])
    # past the staleness line nothing is a quiet spell, whatever the rhythm
    assert supplier_review.coverage(src, dt.date(2026, 4, 1), END, 10).known == dt.date(2026, 6, 20)


def test_on_time_and_otif_are_both_reported_and_the_tier_follows_on_time():
    """OTIF (on time and in full) recomputed from the file beside the on-time rate; the catalog and seed 003 grade on
    the on-time rate (准时交付率), fill being a line of its own: SUP01 is 核心 with an OTIF under the core line."""
    result = runner.run("supplier_review", {})
    po = po_file()
    due = po[(po["due_date"] >= "2026-04-01") & (po["due_date"] <= "2026-06-30")]
    on_time = due["received_date"].notna() & (due["received_date"] <= due["due_date"])
    otif = (on_time & (due["received_qty"] >= due["ordered_qty"])).groupby(due["supplier_id"]).mean()
    table = pd.read_csv(result.folder / "供应商分级.csv").set_index("供应商ID")
    assert table[OTIF].to_dict() == pytest.approx(otif.to_dict())
    assert table.loc["SUP01", OTIF] == pytest.approx(34 / 38) and table.loc["SUP01", ON_TIME] == pytest.approx(37 / 38)
    assert table.loc["SUP01", "建议等级"] == "核心"
    assert result.metrics["otif_rate"] == pytest.approx((on_time & (due["received_qty"] >= due["ordered_qty"])).mean(),
                                                         abs=1e-6)
    assert "准时足量率 OTIF = 其中既按期到货、实收数量又不少于采购数量的比例（只作参考" in \
        (result.folder / "report.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("orders, tier", [(6, "待评估"), (7, "备选")])
def test_one_late_order_alone_never_puts_a_supplier_on_watch(tmp_path, orders, tier):
    """The default minimum of 7 due orders: below it a supplier is not graded, and from it one late order leaves
    6/7 = 85.7 % on time, above the 淘汰观察 line of 85 % (with the old minimum of 3, one late order of 3 was 66.7 %)."""
    rows = [(f"P{i}", "S1", "A-1", 10, 10, f"2026-04-{i + 1:02d}", f"2026-04-{i + 8:02d}",
             f"2026-04-{i + 8 + (i == 0):02d}", 0) for i in range(orders)]
    result = runner.run("supplier_review", {"source": erp_folder(tmp_path / "wh", rows), "as_of": "2026-04-30"})
    assert result.ok, result.error
    table = pd.read_csv(result.folder / "供应商分级.csv").set_index("供应商ID")
    assert table.loc["S1", "建议等级"] == tier and table.loc["S1", "到期采购单"] == orders
    if orders == 6:
        assert table.loc["S1", "原因"] == "统计期内到期采购单 6 张，少于 7 张，暂不评级"
    else:
        assert table.loc["S1", ON_TIME] == pytest.approx(6 / 7) and "supplier.on_time" not in result.flag_codes


def test_a_suggested_tier_other_than_the_recorded_one_is_flagged():
    """核心 suppliers suggested lower: one medium flag for 采购 naming both tiers; any other step: low."""
    result = runner.run("supplier_review", {})
    table = pd.read_csv(result.folder / "供应商分级.csv").set_index("供应商ID")
    assert table.loc["SUP06", "当前等级 → 建议等级"] == "核心 → 淘汰观察" and table.loc["SUP07", "当前等级 → 建议等级"] == "备选 → 核心"
    assert table.loc["SUP10", "当前等级 → 建议等级"] == "未评级 → 备选" and table.loc["SUP01", "当前等级 → 建议等级"] == "核心 → 核心"
    flags = {f.code: f for f in result.flags}
    down, other = flags["supplier.core_downgrade"], flags["supplier.tier_change"]
    assert (down.severity, down.owner, other.severity, other.owner) == ("medium", "采购", "low", "采购")
    assert [(r["supplier_id"], r["current_tier"], r["tier"]) for r in down.sample] == [
        ("SUP04", "核心", "淘汰观察"), ("SUP05", "核心", "备选"), ("SUP06", "核心", "淘汰观察")]
    assert "SUP05（广州美研生物科技有限公司）核心 → 备选" in down.message
    assert [(r["supplier_id"], r["current_tier"], r["tier"]) for r in other.sample] == [("SUP07", "备选", "核心")]
    suppliers = pd.read_parquet("data/sample/suppliers.parquet").set_index("supplier_id")
    moved = table[table["变化"].isin(["升级", "降级"])].index
    assert sorted(moved) == ["SUP04", "SUP05", "SUP06", "SUP07"]
    assert all(suppliers.loc[s, "tier"] != table.loc[s, "建议等级"] for s in moved)


def test_an_order_due_on_the_last_covered_day_is_not_late_yet():
    """2025-07-10, one month: the data stops 07-06; PO25070102 is due 07-06 and not in — not 「逾期 0 天」."""
    result = runner.run("supplier_review", {"as_of": "2025-07-10", "period_months": 1})
    assert result.ok, result.error
    assert result.metrics["known_until"] == "2025-07-06"
    assert "supplier.overdue" not in result.flag_codes
    late = pd.read_csv(result.folder / "逾期采购单.csv")
    assert late.empty or (late["逾期天数"] >= 1).all()
    assert "PO25070102" not in set(late["采购单号"])
    assert result.metrics["due_orders"] == 0 and result.metrics["unjudged_orders"] == 2


def test_single_source_counts_products_and_names_their_platforms():
    result = runner.run("supplier_review", {})
    (flag,) = [f for f in result.flags if f.code == "supplier.single_source"]
    assert flag.message.startswith("1 个商品（4 个 SKU：DY、PDD、TB、TM）最近 12 个月只从一家供应商采购")
    assert "云栖玻尿酸补水面膜10片 ← SUP05" in flag.message
    assert result.metrics["single_sourced"] == 1 and result.metrics["single_sourced_skus"] == 4
