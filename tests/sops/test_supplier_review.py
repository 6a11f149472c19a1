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
    assert table.loc[sample.LATE_SUPPLIER, "准时交货率"] == pytest.approx(on_time[sample.LATE_SUPPLIER]) \
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
    graded = supplier_review.grade(supplier_review.scorecard(SAMPLE, dt.date(2026, 4, 1), END), LINES).set_index("supplier_id")
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
    late = supplier_review.overdue(SAMPLE, last)
    assert sorted(late["po_id"]) == sorted(open_then["po_id"]) and len(late) == 2
    assert late.set_index("po_id")["days_overdue"].to_dict() == {
        r.po_id: (pd.Timestamp("2026-05-15") - r.due_date).days for r in open_then.itertuples()}
    card = supplier_review.scorecard(SAMPLE, first, last).set_index("supplier_id")
    assert card["overdue_orders"].sum() == 2 and card.loc["SUP06", "overdue_orders"] == 1
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
    graded = supplier_review.grade(supplier_review.scorecard(SAMPLE, dt.date(2026, 4, 1), END), strict)
    assert set(graded.loc[graded["tier"] == "淘汰观察", "supplier_id"]) == {"SUP02", "SUP04", "SUP05", "SUP06", "SUP09",
                                                                         "SUP10", "SUP11"}
    few = supplier_review.Lines(20, 0.95, 0.02, 0.95, 12, 1.5, 0.85, 0.05, 0.85)
    pending = supplier_review.grade(supplier_review.scorecard(SAMPLE, dt.date(2026, 4, 1), END), few)
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


def test_on_a_warehouse_folder_with_erp_exports(tmp_path):
    """No marketplace export carries purchase orders: the ERP's supplier and purchase-order lists are dropped into the
    warehouse folder as CSV (Chinese-free canonical headers), and the playbook reads them like any source."""
    wh = tmp_path / "warehouse"
    wh.mkdir()
    pd.DataFrame({"supplier_id": ["S1", "S2"], "name": ["甲厂", "乙厂"], "since": ["2024-01-05", "2026-03-01"],
                  "capacity_per_week": [100, 30], "tier": ["核心", ""]}).to_csv(wh / "suppliers.csv", index=False)
    rows = [("P1", "S1", "A-1", 10, 10, "2026-04-01", "2026-04-08", "2026-04-08", 0),
            ("P2", "S1", "A-1", 10, 9, "2026-05-01", "2026-05-08", "2026-05-07", 1),
            ("P3", "S1", "A-1", 10, 10, "2026-06-01", "2026-06-08", "2026-06-12", 0),
            ("P4", "S2", "B-1", 20, 0, "2026-06-20", "2026-06-27", "", 0)]
    pd.DataFrame(rows, columns=["po_id", "supplier_id", "sku", "ordered_qty", "received_qty", "order_date", "due_date",
                                "received_date", "defect_qty"]).to_csv(wh / "purchase_orders.csv", index=False)
    result = runner.run("supplier_review", {"source": str(wh)})
    assert result.ok, result.error
    table = pd.read_csv(result.folder / "供应商分级.csv").set_index("供应商ID")
    assert table.loc["S1", "准时交货率"] == pytest.approx(2 / 3) and table.loc["S1", "次品率"] == pytest.approx(1 / 29)
    assert table.loc["S1", "建议等级"] == "淘汰观察" and table.loc["S2", "建议等级"] == "待评估"
    assert result.flag_codes == {"supplier.on_time": "high", "supplier.overdue": "medium",
                                 "supplier.single_source": "medium"}
