"""Stock snapshots (库存快照) through `opsbook ingest`: the shop's template and the 聚水潭 / 旺店通 stock lists as its
variants — detected by content, GBK and xlsx, the day from a 日期 column or the file name (never guessed), one row
per SKU and day, 实际库存 never read as sellable stock."""
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from opsbook.data.intake import exports, ingest_file, stock

FIXTURES = Path(__file__).parent / "fixtures" / "exports" / "inventory_snapshot"
TEMPLATES = Path(__file__).parents[2] / "data" / "templates"
STANDARD = {"date": [pd.Timestamp("2026-06-30")] * 3, "sku": ["DY-02-M-2603", "DY-05-S-2603", "TB-01-M-2604"],
            "stock": [12, 0, -2], "in_transit": [30, 0, 50], "platform_stock": [12, 3, None]}
# (variant file, what it is) — neither ERP list has 平台库存 (only the template does)
VARIANTS = [("jushuitan_20260630.csv", "聚水潭 商品库存: GBK, 商品编码/可用数/采购在途数, ids as =\"…\" and tab-prefixed, "
                                       "a 合计 row, no date column: the day from the file name"),
            ("wangdiantong_2026-06-30.xlsx", "旺店通 库存管理: xlsx with a title line, 可发库存/采购在途量, and 成本价 beside "
                                             "them (a stock list, not a cost sheet)")]


def stored(file: Path, warehouse: Path) -> pd.DataFrame:
    report = ingest_file(file, warehouse)
    assert report.error is None, report.error
    return pd.read_parquet(warehouse / "inventory.parquet").sort_values(["sku", "date"], ignore_index=True)


def copy_as(name: str, tmp_path: Path, source: str = "jushuitan_20260630.csv") -> Path:
    target = tmp_path / name
    shutil.copy(FIXTURES / source, target)
    return target


def test_the_template_ingests_to_known_values(tmp_path):
    rows = stored(FIXTURES / "standard.csv", tmp_path / "wh")
    for column, values in STANDARD.items():
        assert rows[column].astype(object).where(rows[column].notna(), None).tolist() == values, column
    report = ingest_file(FIXTURES / "standard.csv", tmp_path / "wh")
    assert "库存快照日期：2026-06-30" in report.lines and "写入 inventory：新增 0 行，更新 0 行（共 3 行）" in report.lines


@pytest.mark.parametrize("name, what", VARIANTS, ids=[n for n, _ in VARIANTS])
def test_erp_stock_lists_ingest_to_the_templates_rows(tmp_path, name, what):
    template = stored(FIXTURES / "standard.csv", tmp_path / "a")
    erp = stored(FIXTURES / name, tmp_path / "b")
    assert exports.read_export(FIXTURES / name, warehouse=tmp_path / "b").kind.name == "inventory_snapshot"
    keep = ["date", "sku", "stock", "in_transit"]
    pd.testing.assert_frame_equal(erp[keep], template[keep])
    assert "platform_stock" not in erp or erp["platform_stock"].isna().all()
    assert sorted(p.name for p in (tmp_path / "b").glob("*.parquet")) == ["inventory.parquet"]  # no product_costs


@pytest.mark.parametrize("name, day", [("库存查询_20260630153012.csv", "2026-06-30"), ("商品库存2026年7月2日.csv", "2026-07-02"),
                                       ("stock_2026-7-1.csv", "2026-07-01"), ("库存_2026.06.29_全仓.csv", "2026-06-29")])
def test_a_snapshot_without_a_date_column_takes_the_day_in_its_file_name(tmp_path, name, day):
    rows = stored(copy_as(name, tmp_path), tmp_path / "wh")
    assert set(rows["date"]) == {pd.Timestamp(day)} and len(rows) == 3


@pytest.mark.parametrize("name, message", [
    ("商品库存.csv", "没有 日期 列，文件名中也没有日期：不知道这是哪一天的库存"),
    ("1719800000_库存.csv", "没有 日期 列，文件名中也没有日期"),  # a Unix time is not a day written by staff
    ("库存_20260601-20260630.csv", "文件名中有多个日期（2026-06-01、2026-06-30）"),
    ("库存_20261331.csv", "没有 日期 列，文件名中也没有日期"),  # month 13: no day at all
])
def test_a_snapshot_whose_day_is_unknown_is_refused_in_chinese(tmp_path, name, message):
    report = ingest_file(copy_as(name, tmp_path), tmp_path / "wh")
    assert report.error is not None and report.error.exit_code == 2 and message in report.error.message
    assert "未写入任何数据" in report.error.message and not (tmp_path / "wh" / "inventory.parquet").exists()


def test_a_date_column_wins_over_the_file_name(tmp_path):
    target = tmp_path / "库存快照_20260101.csv"
    shutil.copy(FIXTURES / "standard.csv", target)
    assert set(stored(target, tmp_path / "wh")["date"]) == {pd.Timestamp("2026-06-30")}


def test_a_list_split_by_warehouse_is_refused_naming_the_skus(tmp_path):
    text = (FIXTURES / "standard.csv").read_text(encoding="utf-8-sig").splitlines()
    path = tmp_path / "分仓库存.csv"
    path.write_text("\n".join(text + ["2026-06-30,DY-02-M-2603,5,0,5,运动手表,华南仓"]), encoding="utf-8-sig")
    report = ingest_file(path, tmp_path / "wh")
    assert report.error is not None
    assert "商家编码 DY-02-M-2603（2026-06-30）出现在第 2、5 行" in report.error.message
    assert "按商品汇总（不分仓）后重新导出" in report.error.message and not (tmp_path / "wh" / "inventory.parquet").exists()


def test_a_bad_row_is_refused_by_its_number_and_the_others_imported(tmp_path):
    text = (FIXTURES / "standard.csv").read_text(encoding="utf-8-sig").splitlines()
    text[2] = text[2].replace(",0,0,3,", ",约20,0,3,")
    text[3] = text[3].replace(",-2,50,", ",-2,5.5,")
    path = tmp_path / "库存快照.csv"
    path.write_text("\n".join(text), encoding="gbk")
    report = ingest_file(path, tmp_path / "wh")
    assert report.error is None, report.error
    assert "拒绝 2 行：第 3 行 可售库存 不是数字；第 4 行 在途数量 不是整数" in report.lines
    assert pd.read_parquet(tmp_path / "wh" / "inventory.parquet")["sku"].tolist() == ["DY-02-M-2603"]


def test_physical_stock_is_never_read_as_sellable_stock(tmp_path):
    """A 聚水潭 list exported without 可用数 has 主仓实际库存 only, which still holds paid orders not shipped yet:
    refused, naming what it needs, rather than overstating the stock."""
    lines = (FIXTURES / "jushuitan_20260630.csv").read_bytes().decode("gbk").splitlines()
    cut = [",".join(c for i, c in enumerate(line.split(",")) if i != 7) for line in lines]  # drop 可用数
    path = tmp_path / "商品库存_20260630.csv"
    path.write_bytes("\n".join(cut).encode("gbk"))
    report = ingest_file(path, tmp_path / "wh")
    assert report.error is not None and "库存快照，缺少列 可售库存（或 可用数、可发库存）" in report.error.message
    assert not (tmp_path / "wh" / "inventory.parquet").exists()


def test_a_later_export_of_the_day_updates_the_stock_and_keeps_the_platform_stock(tmp_path):
    wh = tmp_path / "wh"
    stored(FIXTURES / "standard.csv", wh)
    lines = (FIXTURES / "jushuitan_20260630.csv").read_bytes().decode("gbk").splitlines()
    lines[1] = lines[1].replace(",12,30,", ",9,30,")  # three more sold since the template was filled
    path = tmp_path / "商品库存_20260630.csv"
    path.write_bytes("\n".join(lines).encode("gbk"))
    rows = stored(path, wh).set_index("sku")
    assert rows.loc["DY-02-M-2603", "stock"] == 9 and rows.loc["DY-02-M-2603", "platform_stock"] == 12
    assert len(rows) == 3


def test_the_template_is_what_the_kind_reads_and_is_documented():
    kind = exports.kinds()["inventory_snapshot"]
    template = TEMPLATES / "库存快照.csv"
    raw = template.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel opens UTF-8 with a BOM as Chinese
    header = raw.decode("utf-8-sig").splitlines()[0].split(",")
    assert set(header) - kind.reads() == {"商品名称", "备注"}  # for the shop's own reference
    readme = (TEMPLATES / "README.md").read_text(encoding="utf-8")
    assert "库存快照.csv" in readme and all(h in readme for h in header)
    assert stock.day_in_name("库存查询_20260630.xlsx").isoformat() == "2026-06-30"


def test_explain_and_cli_ingest(tmp_path):
    out = subprocess.run([sys.executable, "-m", "opsbook.ui.cli", "ingest", "--explain",
                          str(FIXTURES / "jushuitan_20260630.csv")], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "库存快照" in out.stdout and "sku（必需）← 商品编码（即 商家编码）" in out.stdout
    assert "stock（必需）← 可用数（即 可售库存）" in out.stdout
    out = subprocess.run([sys.executable, "-m", "opsbook.ui.cli", "ingest", str(FIXTURES / "wangdiantong_2026-06-30.xlsx"),
                          "--into", str(tmp_path / "wh")], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "库存快照，xlsx/xlsx，读取 3 行" in out.stdout and "库存快照日期：2026-06-30" in out.stdout
