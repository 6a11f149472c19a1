"""Header variants of marketplace exports (issue 10): every known spelling ingests to the same canonical rows, and a
file holding two columns for one header, or an ambiguous exports.yaml, is refused by name."""
import shutil
from pathlib import Path

import pandas as pd
import pytest

from opsbook.data.intake import exports, ingest_file
from opsbook.errors import DataError, IntakeError

FIXTURES = Path(__file__).parent / "fixtures" / "exports"
TABLE = {"douyin_orders": "orders", "taobao_orders": "orders", "taobao_order_details": "order_lines"}
# (kind, variant file, canonical columns that differ from the standard layout's by design)
VARIANTS = [
    ("douyin_orders", "product_name.csv", ()),  # 商品名称 for 选购商品 (a 商品维度 custom report), an extra column
    ("taobao_orders", "qianniu_newer.csv", ()),  # 买家实付金额, 商品标题
    ("taobao_orders", "erp.csv", ()),  # 支付金额, 收货人, ids written plainly, 分阶段订单信息 / 修改后的sku / 异常信息
    ("taobao_order_details", "newer_spellings.csv", ()),  # 商品标题, 商品价格, 买家实付金额
    ("taobao_order_details", "older.csv", ("line_id",)),  # 订单编号 for 主订单编号, no sub-order ids
]
STANDARD = {  # what the standard layouts ingest to: numbers exact, phones masked, names and streets dropped
    "douyin_orders": {"order_id": ["6921300000001", "6921300000002"], "amount": [279.0, 109.8],
                      "unit_price": [299.0, 59.9], "quantity": [1, 2], "status": ["completed", "shipped"],
                      "sku": ["DY-02-M-2603", "DY-05-S-2603"], "phone": ["139****5670", "137****5671"],
                      "city": ["杭州市", "深圳市"]},
    "taobao_orders": {"order_id": ["2580123456789012345", "2580123456789012346"], "amount": [1299.0, 99.0],
                      "unit_price": [433.0, 49.5], "quantity": [3, 2], "status": ["completed", "paid"],
                      "sku": ["连衣裙", "袜子"], "phone": ["138****5678", "139****5678"], "city": ["杭州市", "北京市"]},
    "taobao_order_details": {"order_id": ["2580123456789012345"] * 2 + ["2580123456789012346"],
                             "amount": [1200.0, 99.0, 99.0], "unit_price": [1200.0, 49.5, 49.5], "quantity": [1, 2, 2],
                             "sku": ["TM-01-M-RED", "TM-02-F-WHT", "TM-02-F-BLK"]},
}
PERSONAL = ("孙八", "周九", "张三", "李四", "文三路", "建国路", "科技园", "xm@example.com", "tb_小明", "13812345678")


def stored(kind: str, file: Path, warehouse: Path, key_from: Path | None = None) -> pd.DataFrame:
    """Ingest one fixture into a warehouse (with another warehouse's key, so pseudonyms compare) and read it back."""
    if key_from is not None:
        warehouse.mkdir(parents=True)
        shutil.copy(key_from / exports.SECRET_FILE, warehouse / exports.SECRET_FILE)
    report = ingest_file(file, warehouse)
    assert report.error is None, report.error
    frame = pd.read_parquet(warehouse / f"{TABLE[kind]}.parquet")
    return frame.sort_values(["order_id", "sku"]).reset_index(drop=True)


@pytest.mark.parametrize("kind", sorted(STANDARD))
def test_standard_layouts_ingest_to_known_canonical_values(tmp_path, kind):
    rows = stored(kind, FIXTURES / kind / "standard.csv", tmp_path / "wh")
    for column, values in STANDARD[kind].items():
        assert rows[column].tolist() == values, column
    assert not any(word in rows.astype(str).to_string() for word in PERSONAL)


@pytest.mark.parametrize("kind, name, differs", VARIANTS, ids=[f"{k}/{n}" for k, n, _ in VARIANTS])
def test_each_header_variant_ingests_to_the_same_canonical_rows(tmp_path, kind, name, differs):
    standard = stored(kind, FIXTURES / kind / "standard.csv", tmp_path / "a")
    variant = stored(kind, FIXTURES / kind / name, tmp_path / "b", key_from=tmp_path / "a")
    assert exports.read_export(FIXTURES / kind / name, warehouse=tmp_path / "b").kind.name == kind
    keep = [c for c in standard.columns if c not in differs]
    pd.testing.assert_frame_equal(variant[keep], standard[keep])
    assert not any(word in variant.astype(str).to_string() for word in PERSONAL)


@pytest.mark.parametrize("extra", ["买家实际支付金额", "支付金额"], ids=["both spellings", "the same header twice"])
def test_two_columns_for_one_header_are_refused_naming_both(tmp_path, extra):
    """An ERP list with 支付金额 and 买家实际支付金额 (or 支付金额 twice): which one is the payment? Never guessed."""
    text = (FIXTURES / "taobao_orders" / "erp.csv").read_text(encoding="utf-8-sig").splitlines()
    rows = [text[0] + f",{extra}"] + [line + ",1.00" for line in text[1:]]
    path = tmp_path / "ERP订单.csv"
    path.write_text("\n".join(rows), encoding="utf-8-sig")
    report = ingest_file(path, tmp_path / "wh")
    assert report.error is not None and report.error.exit_code == 2
    assert "都表示 买家实际支付金额（amount），无法确定该用哪一列" in report.error.message
    assert ("支付金额、买家实际支付金额" if extra == "买家实际支付金额" else "支付金额、支付金额.1") in report.error.message
    assert not list((tmp_path / "wh").glob("*.parquet"))


def test_explain_shows_the_spelling_found_and_any_ambiguity():
    kind = exports.kinds()["taobao_orders"]
    lines = exports.explain(["订单编号", "支付金额", "买家实付金额", "宝贝标题"], kind)
    assert "amount（必需）← 支付金额（即 买家实际支付金额）" in lines
    assert any(line.startswith("有歧义：列 支付金额、买家实付金额 都表示 买家实际支付金额") for line in lines)
    pdd = exports.explain(["订单成交时间"], exports.kinds()["pdd_orders"])
    assert "order_time（必需）← 订单成交时间" in pdd and "pay_time（必需）← 同 order_time" in pdd


AMBIGUOUS = {
    "a header under two canonical columns": ("    amount: [实付]\n    discount: [实付]\n", "列 实付 同时对应 amount 和 discount"),
    "a spelling of a header it reads itself": ("    amount: [实付]\n  variants: {实付: 应付}\n", "实付 本身就是读取的列"),
    "a spelling of a spelling": ("    amount: [实付]\n  variants: {付款: 支付, 支付: 实付}\n", "而 支付 又是 实付 的另一种写法"),
    "a key given twice": ("    amount: [实付]\n  variants:\n    付款: 实付\n    付款: 应付\n", "付款 出现了两次"),
}


@pytest.mark.parametrize("entry, message", AMBIGUOUS.values(), ids=list(AMBIGUOUS))
def test_an_ambiguous_exports_yaml_is_refused_naming_the_entry(tmp_path, monkeypatch, entry, message):
    (tmp_path / "data" / "reference").mkdir(parents=True)
    (tmp_path / exports.REFERENCE).write_text(
        "shop_orders:\n  platform: TB\n  kind: 测试\n  table: orders\n  signature: [订单号]\n  columns:\n" + entry,
        encoding="utf-8")
    monkeypatch.setenv("OPSBOOK_HOME", str(tmp_path))
    exports.kinds.cache_clear()
    try:
        with pytest.raises(DataError, match=message) as found:
            exports.kinds()
        assert exports.REFERENCE in found.value.message
    finally:
        monkeypatch.undo()
        exports.kinds.cache_clear()


def test_a_missing_column_names_every_spelling_tried(tmp_path):
    text = (FIXTURES / "taobao_orders" / "erp.csv").read_text(encoding="utf-8-sig").replace("支付金额", "付款额")
    path = tmp_path / "erp.csv"
    path.write_text(text, encoding="utf-8-sig")
    with pytest.raises(IntakeError, match="amount（尝试过：买家实际支付金额、买家实付金额、支付金额）"):
        exports.read_export(path, warehouse=tmp_path / "wh")
