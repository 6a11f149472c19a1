"""Uploaded sheets read like canonical tables: Chinese or English headers, intake's cleaning, rows named as the file
numbers them (title lines above the header and dropped summary rows included)."""
import pandas as pd
import pytest

from opsbook import paths
from opsbook.data import sheets, tables
from opsbook.errors import DataError


def write(name: str, text: str, encoding: str = "utf-8-sig") -> str:
    folder = paths.root() / "uploads-sheets"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(text.encode(encoding))
    return f"uploads-sheets/{name}"


def test_headers_are_names_or_labels():
    known = sheets.headers("campaign_items", {"title": tables.Column("title", "str", "商品标题", required=False)})
    assert known["活动价"] == known["promo_price"] == "promo_price" and known["商品标题"] == "title"


def test_rows_are_named_as_the_file_numbers_them():
    text = "报名表\n导出时间 2026-06-01\n活动ID,商家编码,活动价\n合计,,\nCP-1,A,9\nCP-1,B,九\n"
    with pytest.raises(DataError) as info:
        sheets.read_sheet(write("s.csv", text, "gbk"), "campaign_items")
    assert "第6行=“九”" in info.value.message  # line 6 of the file, under two title lines and a summary row


def test_clean_values_and_optional_columns():
    text = "活动ID,商家编码,活动价,商品标题\nCP-1,=\"00123\",\"￥1,299.50\",-\n"
    frame = sheets.read_sheet(write("s.csv", text), "campaign_items",
                              {"title": tables.Column("title", "str", "商品标题", required=False, nullable=True)})
    assert frame.loc[0, "sku"] == "00123" and frame.loc[0, "promo_price"] == 1299.5 and pd.isna(frame.loc[0, "title"])


@pytest.fixture(autouse=True, scope="module")
def _clean():
    yield
    import shutil
    shutil.rmtree(paths.root() / "uploads-sheets", ignore_errors=True)


def test_trailing_empty_cells_are_ignored():
    text = "活动ID,商家编码,活动价\nCP-1,A,9,\nCP-1,B,19,\n"
    frame = sheets.read_sheet(write("t.csv", text), "campaign_items")
    assert frame["sku"].tolist() == ["A", "B"] and frame["promo_price"].tolist() == [9, 19]


@pytest.mark.parametrize("rows", ["CP-1,A,9,多一列\nCP-1,B,19\n", "CP-1,A,9\nCP-1,B,19,,多一列\n"])
def test_a_row_with_more_filled_cells_than_the_header_is_refused(rows):
    """Never read with the first column as the index (which shifted every column): the row is named instead."""
    with pytest.raises(DataError) as info:
        sheets.read_sheet(write("x.csv", "活动ID,商家编码,活动价\n" + rows), "campaign_items")
    row = 2 if rows.startswith("CP-1,A,9,") else 3
    assert f"x.csv 第 {row} 行的单元格比表头多" in info.value.message
