"""The goods tables (issue 11): every rule, key, minimum and choice of the new schemas refuses a bad row with its
Chinese message, from a DataFrame and from a folder of parquet or CSV files — the sources read `tables` for them."""
import re

import pandas as pd
import pytest

from opsbook import sources
from opsbook.data import tables
from opsbook.errors import DataError

SAMPLE = "data/sample"
GOODS = ("products", "candidates", "product_traffic", "inventory", "suppliers", "purchase_orders")


def sample(table: str) -> pd.DataFrame:
    """A table of the committed sample shop, as stored."""
    return pd.read_parquet(f"{SAMPLE}/{table}.parquet")


def refused(tmp_path, table: str, frame: pd.DataFrame, kind: str) -> str:
    """The problems a folder holding only `frame` (as `<table>.parquet` or `.csv`) is refused with."""
    folder = tmp_path / kind
    folder.mkdir()
    if kind == "parquet":
        frame.to_parquet(folder / f"{table}.parquet", index=False)
    else:
        frame.to_csv(folder / f"{table}.csv", index=False)
    with pytest.raises(DataError) as info:
        sources.open_source(str(folder)).names()
    return "\n".join(info.value.problems)


def _days(column: str, days: int, of: str):
    """An edit moving `column` of the first row to `days` days after column `of`."""
    def edit(frame):
        frame.loc[0, column] = frame.loc[0, of] + pd.Timedelta(days=days)
        return frame
    return edit


def _set(column: str, value):
    """An edit setting `column` of the first row to `value`."""
    def edit(frame):
        if isinstance(value, str) and frame[column].dtype != "str":  # the column as text, as a spreadsheet keeps it
            frame[column] = frame[column].map(str, na_action="ignore").astype("str")
        elif isinstance(value, float) and pd.api.types.is_integer_dtype(frame[column]):
            frame[column] = frame[column].astype("float64")
        frame.loc[0, column] = value
        return frame
    return edit


def _more_defects(frame):
    frame.loc[0, "defect_qty"] = frame.loc[0, "received_qty"] + 5
    return frame


CASES = [  # table, edit of the first row, the message (after "<table> 表")
    ("purchase_orders", _more_defects, "有次品数量大于实收数量的行：共 1 行"),
    ("purchase_orders", _days("due_date", -3, "order_date"), "有约定交期早于下单日期的行：共 1 行"),
    ("purchase_orders", _days("received_date", -1, "order_date"), "有到货日期早于下单日期的行：共 1 行"),
    ("purchase_orders", _set("ordered_qty", -10), "的列 ordered_qty（采购数量）不能小于 0"),
    ("purchase_orders", _set("defect_qty", 1.5), "的列 defect_qty（次品数量）有无法识别为整数的值"),
    ("purchase_orders", _set("supplier_id", None), "的列 supplier_id（供应商ID）不能为空"),
    ("products", _set("platform", "AMAZON"), "的列 platform（平台）只能取 TB/TM/JD/DY/PDD"),
    ("products", _set("main_images", -1), "的列 main_images（主图数量）不能小于 0"),
    ("products", _set("qualification_expiry", "明年"), "的列 qualification_expiry（资质有效期至）有无法识别为日期的值"),
    ("candidates", _set("monthly_search", -5), "的列 monthly_search（月搜索量）不能小于 0"),
    ("candidates", _set("search_growth", -1.5), "的列 search_growth（搜索指数环比增长）不能小于 -1"),
    ("candidates", _set("has_qualification", "也许"), "的列 has_qualification（资质齐全）有无法识别为是/否的值"),
    ("candidates", _set("supplier_months", -1), "的列 supplier_months（合作月数）不能小于 0"),
    ("inventory", _set("platform_stock", -3), "的列 platform_stock（平台库存）不能小于 0"),
    ("inventory", _set("in_transit", -1), "的列 in_transit（在途数量）不能小于 0"),
    ("suppliers", _set("capacity_per_week", -100), "的列 capacity_per_week（周产能）不能小于 0"),
    ("suppliers", _set("since", None), "的列 since（合作开始日期）不能为空"),
]


@pytest.mark.parametrize("table, edit, message", CASES)
def test_a_bad_row_is_refused_from_a_dataframe(table, edit, message):
    with pytest.raises(DataError) as info:
        tables.validate(table, edit(sample(table)))
    assert any(p.startswith(f"{table} 表{message}") for p in info.value.problems), info.value.problems


@pytest.mark.parametrize("kind", ["parquet", "csv"])
@pytest.mark.parametrize("table, edit, message", CASES)
def test_a_bad_row_is_refused_by_a_folder_source(tmp_path, table, edit, message, kind):
    text = refused(tmp_path, table, edit(sample(table)), kind)
    assert f"的 {table} 表{message}" in text and "例如 第2行" in text, text


@pytest.mark.parametrize("table", GOODS)
@pytest.mark.parametrize("kind", ["dataframe", "parquet", "csv"])
def test_a_duplicate_key_is_refused(tmp_path, table, kind):
    frame = sample(table)
    twice = pd.concat([frame, frame.iloc[[3]]], ignore_index=True)
    key = "+".join(tables.KEYS[table])
    if kind == "dataframe":
        with pytest.raises(DataError, match=re.escape(f"{table} 表的 {key} 有重复：共 1 行")):
            tables.validate(table, twice)
    else:
        assert f"{table} 表有 1 组重复的 {key}（多出 1 行" in refused(tmp_path, table, twice, kind)


def test_every_rule_is_checked_by_the_sources_as_written_in_tables():
    """The sources take their rules, keys, minimums and choices from `tables`: nothing to add elsewhere per table."""
    new_rules = {text for table, text, _, _ in tables.RULES if table == "purchase_orders"}
    assert new_rules == {"次品数量大于实收数量", "约定交期早于下单日期", "到货日期早于下单日期"}
    checked = {(table, message.split("：")[0]) for table, _, message in CASES}
    assert {("purchase_orders", f"有{text}的行") for text in new_rules} <= checked
    assert {"candidates", "suppliers", "purchase_orders"} <= set(tables.KEYS)


def test_over_delivery_is_no_error():
    orders = sample("purchase_orders")
    over = orders.assign(received_qty=orders["ordered_qty"] + 3).where(orders["received_date"].notna(), orders)
    assert len(tables.validate("purchase_orders", over)) == len(orders)


def test_older_tables_without_the_new_columns_still_open(tmp_path):
    """A products or inventory table made before the listing and stock columns existed opens; they read as empty."""
    sample("products")[["sku", "name", "category", "cost", "price", "launch_date"]].to_parquet(tmp_path / "products.parquet")
    sample("inventory")[["date", "sku", "stock"]].to_parquet(tmp_path / "inventory.parquet")
    src = sources.open_source(str(tmp_path))
    products, inventory = src.table("products"), src.table("inventory")
    assert products[["platform", "product_id", "title", "main_images", "qualification_expiry"]].isna().all().all()
    assert inventory[["platform_stock", "in_transit"]].isna().all().all()


def test_the_sample_reads_the_same_from_parquet_and_csv(tmp_path):
    parquet = sources.open_source(SAMPLE)
    for table in GOODS:
        parquet.table(table).to_csv(tmp_path / f"{table}.csv", index=False)
    csv = sources.open_source(str(tmp_path))
    for table in GOODS:
        left, right = parquet.table(table), csv.table(table)
        pd.testing.assert_frame_equal(left, right, check_dtype=False, obj=table)
    candidates = csv.table("candidates").set_index("candidate_id")
    assert candidates.loc["XP-06", "has_qualification"] == False  # noqa: E712 (a boolean read back from text)
    assert csv.table("purchase_orders")["received_date"].isna().any()
    assert csv.sql("SELECT max(date) AS d FROM inventory")["d"][0] == pd.Timestamp("2026-06-30")


def test_the_readme_lists_every_table_and_column():
    """The README's table of canonical tables is the schema's: a new column or table shows up there too."""
    from pathlib import Path
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    for name, columns in tables.SCHEMAS.items():
        (line,) = [line for line in readme.splitlines() if line.startswith(f"| `{name}` |")]
        assert " + ".join(tables.KEYS.get(name, [])) in line, name
        for c in columns.values():
            shown = f"{c.name}（{c.label}）"
            assert (shown if c.required else f"*{c.name}*（{c.label}）") in line, (name, c.name)
    for _, text, _, _ in tables.RULES:
        assert text in readme, text
