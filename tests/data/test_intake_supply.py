"""Supply sheets (`opsbook ingest`): the shop's 供应商名录, an ERP's 采购单 and the 选品候选表 — detected by content, GBK,
`="…"` ids, ERP header spellings, bad rows refused by number; a warehouse filled with them runs 供应商分级 and 选品评估."""
import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from opsbook.data.intake import exports, ingest_file
from opsbook.engine import runner
from test_intake_goods import ingested, rows_of, values  # the goods intake's test helpers

FIXTURES = Path(__file__).parent / "fixtures" / "exports"
TABLE = {"supplier_list": "suppliers", "purchase_order_list": "purchase_orders", "candidate_list": "candidates"}
STANDARD = {  # what each standard layout reads as, exactly (rows sorted by the table's key)
    "supplier_list": {"supplier_id": ["S01", "S02", "S03"], "since": pd.to_datetime(
        ["2021-04-12", "2023-09-12", "2026-02-12"]).tolist(), "capacity_per_week": [200, 100, 50],
        "tier": ["核心", "核心", None]},
    "candidate_list": {"candidate_id": ["XP-21", "XP-22", "XP-23"], "search_growth": [0.12, 0.2, 0.08],
                       "monthly_search": [120000, 120000, 60000], "price": [129.0, 69.0, 79.0],
                       "supplier_id": ["S01", "S02", None], "has_qualification": [True, True, True]},
}
# (kind, variant file): GBK, a title line, ERP spellings, ="…" ids, times after dates, ¥, 12% and 8％, 有, a 合计 row
VARIANTS = [("supplier_list", "erp_gbk.csv"), ("purchase_order_list", "wangdiantong.csv"),
            ("candidate_list", "excel_gbk.csv")]
PERSONAL = ("张三", "李四", "王五", "赵六", "13812345678", "13987654321", "月结")


def write(path: Path, text: str, encoding: str = "utf-8-sig") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("kind", sorted(TABLE))
def test_standard_layouts_are_detected_and_ingest_to_known_values(tmp_path, kind):
    result = exports.read_export(FIXTURES / kind / "standard.csv", warehouse=tmp_path / "wh")
    assert (result.kind.name, result.kind.platform, result.encoding) == (kind, None, "utf-8-sig")
    ingested(FIXTURES / kind / "standard.csv", tmp_path / "wh")
    stored = rows_of(tmp_path / "wh", TABLE[kind])
    for column, wanted in STANDARD.get(kind, {}).items():
        assert values(stored, column) == wanted, column
    if kind == "purchase_order_list":
        po = pd.read_csv(FIXTURES / kind / "standard.csv", encoding="utf-8-sig", dtype=str)
        assert len(stored) == len(po) == 21 and stored["ordered_qty"].sum() == po["采购数量"].astype(int).sum() == 940
        # an order of two SKUs: one row per SKU, numbered 采购单号-商家编码; the others keep their number
        assert sorted(stored.loc[stored["po_id"].str.startswith("CG260405"), "po_id"]) == [
            "CG260405-TB-01-L-2604", "CG260405-TB-01-M-2604"]
        open_ = stored[stored["received_date"].isna()]
        assert open_["po_id"].tolist() == ["CG260408", "CG260603"] and (open_["received_qty"] == 0).all()


@pytest.mark.parametrize("kind, name", VARIANTS, ids=[f"{k}/{n}" for k, n in VARIANTS])
def test_each_variant_ingests_to_the_same_canonical_rows(tmp_path, kind, name):
    ingested(FIXTURES / kind / "standard.csv", tmp_path / "a")
    lines = ingested(FIXTURES / kind / name, tmp_path / "b")
    result = exports.read_export(FIXTURES / kind / name, warehouse=tmp_path / "b")
    assert (result.kind.name, result.encoding) == (kind, "gb18030")
    standard, variant = rows_of(tmp_path / "a", TABLE[kind]), rows_of(tmp_path / "b", TABLE[kind])
    pd.testing.assert_frame_equal(variant, standard, check_like=True)
    assert not any(word in variant.astype(str).to_string() for word in PERSONAL)  # contacts, buyers: never read
    if name != "erp_gbk.csv":
        assert "跳过：汇总行 1 行" in lines


def test_a_later_export_updates_the_orders_it_lists(tmp_path):
    """The 采购单 exported again a week later: the open order arrived — its received quantity and day fill in."""
    wh = tmp_path / "wh"
    ingested(FIXTURES / "purchase_order_list" / "standard.csv", wh)
    later = write(tmp_path / "采购单0707.csv", "采购单号,供应商ID,商家编码,采购数量,实收数量,下单日期,约定交期,到货日期,次品数量\n"
                                              "CG260603,S03,DY-06-S-2604,20,20,2026-06-20,2026-06-27,2026-07-02,1\n")
    lines = ingested(later, wh)
    assert "写入 purchase_orders：新增 0 行，更新 1 行（共 21 行）" in lines
    row = rows_of(wh, "purchase_orders").set_index("po_id").loc["CG260603"]
    assert (row["received_qty"], row["received_date"], row["defect_qty"]) == (20, pd.Timestamp("2026-07-02"), 1)


HEADER = "采购单号,供应商ID,商家编码,采购数量,实收数量,下单日期,约定交期,到货日期,次品数量\n"


def test_bad_rows_are_refused_by_their_number(tmp_path):
    """Row rules of purchase_orders, a fraction typed as a percentage number, a yes/no that is neither: each row is
    refused with its row number and reason, the others are imported."""
    orders = write(tmp_path / "采购单.csv", HEADER + "P1,S1,A,10,10,2026-04-01,2026-04-08,2026-03-28,0\n"
                                                    "P2,S1,A,10,10,2026-04-01,2026-04-08,2026-04-08,11\n"
                                                    "P3,S1,A,10,10,2026-04-01,2026-03-30,2026-04-08,0\n"
                                                    "P4,S1,A,10,10,2026-04-01,2026-04-08,2026-04-08,1\n"
                                                    "P5,S1,A,十,10,2026-04-01,2026-04-08,2026-04-08,1\n")
    report = ingest_file(orders, tmp_path / "wh")
    assert report.error is None
    assert ("拒绝 4 行：第 2 行 到货日期早于下单日期；第 3 行 次品数量大于实收数量；第 4 行 约定交期早于下单日期；"
            "第 6 行 采购数量 不是数字") in report.lines
    assert rows_of(tmp_path / "wh", "purchase_orders")["po_id"].tolist() == ["P4"]
    candidates = write(tmp_path / "候选.csv", "候选ID,商品名称,类目,月搜索量,搜索指数环比增长,成本价,预计售价,合作月数,资质齐全\n"
                                            "X1,折叠杯,家居,1000,0.1,1,2,0,是\nX2,收纳盒,家居,1000,12,1,2,0,是\n"
                                            "X3,冰格,家居,1000,-150%,1,2,0,是\nX4,杯垫,家居,1000,12%,1,2,0,也许\n", "gbk")
    report = ingest_file(candidates, tmp_path / "wh")
    assert report.error is None
    assert ("拒绝 3 行：第 3 行 搜索指数环比增长 为 12，应填小数（12% 填 0.12 或 12%），不能大于 10（即 1,000%），多半是把百分数填成了整数；"
            "第 4 行 搜索指数环比增长 不能小于 -1；第 5 行 资质齐全 不是 是/否") in report.lines
    assert rows_of(tmp_path / "wh", "candidates")["candidate_id"].tolist() == ["X1"]


@pytest.mark.parametrize("text, message", [
    ("采购单号,供应商ID,商家编码,采购数量,实收数量,下单日期,约定交期,到货日期\nP1,S1,A,1,1,2026-04-01,2026-04-08,2026-04-08\n",
     "缺少必需列：defect_qty（尝试过：次品数量）"),
    (HEADER + "P1,S1,A,1,1,2026-04-01,2026-04-08,2026-04-08,0\nP1,S1,A,1,1,2026-04-01,2026-04-08,2026-04-09,0\n",
     "采购单号 P1 出现在第 2、3 行"),
    ("供应商编号,供应商名称,联系人,联系电话\nS01,杭州织里服饰有限公司,张三,13812345678\n",
     "最接近的是供应商名录，缺少列 合作开始日期、周产能"),
    ("供应商ID,供应商名称,合作开始日期,周产能,供应商等级\nS01,甲厂,2021-04-12,200,核心\nS01,甲厂,2022-01-01,100,备选\n",
     "每个供应商只能有一行"),
])
def test_a_file_that_cannot_be_read_safely_is_refused_whole(tmp_path, text, message):
    report = ingest_file(write(tmp_path / "供应.csv", text), tmp_path / "wh")
    assert report.error is not None and report.error.exit_code == 2 and message in report.error.message, \
        report.error and report.error.message
    assert not list((tmp_path / "wh").glob("*.parquet"))


@pytest.fixture
def supply_warehouse(tmp_path) -> str:
    """A warehouse filled by `opsbook ingest` from the ERP's and the shop's own sheets (variants and standard)."""
    wh = tmp_path / "warehouse"
    for kind, name in [("supplier_list", "erp_gbk.csv"), ("purchase_order_list", "wangdiantong.csv"),
                       ("candidate_list", "excel_gbk.csv")]:
        ingested(FIXTURES / kind / name, wh)
    return str(wh)


def test_supplier_review_on_an_ingested_warehouse(supply_warehouse):
    """S01 (8 of 9 due lines on time, on record as 核心) is suggested 备选, S02 (3 of 8) 淘汰观察, S03 (3 orders) is
    not graded; its order due 06-27 is overdue: the list has a record every few days up to 06-28."""
    result = runner.run("supplier_review", {"source": supply_warehouse})
    assert result.ok, result.error
    table = pd.read_csv(result.folder / "供应商分级.csv").set_index("供应商ID")
    assert table["建议等级"].to_dict() == {"S01": "备选", "S02": "淘汰观察", "S03": "待评估"}
    assert table.loc["S01", "准时交货率（分级依据）"] == pytest.approx(8 / 9)
    assert table.loc["S01", "准时足量率 OTIF（参考，不用于分级）"] == pytest.approx(7 / 9)  # CG260406: 55 of 60
    assert table.loc["S02", "准时交货率（分级依据）"] == pytest.approx(3 / 8)
    assert table.loc["S01", "当前等级 → 建议等级"] == "核心 → 备选" and table.loc["S01", "合作月数"] == 62
    assert result.metrics["known_until"] == "2026-06-30" and result.metrics["due_orders"] == 20
    late = pd.read_csv(result.folder / "逾期采购单.csv")
    assert late["采购单号"].tolist() == ["CG260603"] and late["逾期天数"].tolist() == [3]
    assert result.flag_codes == {"supplier.on_time": "high", "supplier.single_source": "medium",
                                 "supplier.overdue": "medium", "supplier.core_downgrade": "medium"}


def test_product_evaluation_on_an_ingested_warehouse(supply_warehouse):
    """The candidates read from the warehouse with their suppliers' records: XP-21's 24 typed months are S01's 62 on
    record; XP-22's supplier S02 is on 淘汰观察 and its supply score is capped (15 → 12, 小批量试销)."""
    result = runner.run("product_evaluation", {"source": supply_warehouse, "as_of": dt.date(2026, 6, 30)})
    assert result.ok, result.error
    table = pd.read_csv(result.folder / "选品评估.csv").set_index("候选ID")
    assert table.loc["XP-21", ["供货稳定性", "总分", "建议"]].tolist() == [5, 15, "引入"]
    assert "填写的 24 个月与名录不符，以名录为准" in table.at["XP-21", "原因"]
    assert table.loc["XP-22", ["供货稳定性", "总分", "建议"]].tolist() == [2, 12, "小批量试销"]
    assert "准时交货率 37.5% 低于 85.0%" in table.at["XP-22", "原因"]
    assert table.loc["XP-23", ["供货稳定性", "总分", "建议"]].tolist() == [3, 12, "小批量试销"]
    assert result.metrics["recommendations"] == {"XP-21": "引入", "XP-22": "小批量试销", "XP-23": "小批量试销"}
    assert result.flag_codes["eval.supplier_watch"] == "medium"
