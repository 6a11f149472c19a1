"""Sources: a folder of parquet or csv files and a DuckDB file yield the same canonical tables."""
import datetime as dt

import pandas as pd
import pytest

from opsbook import sources
from opsbook.sops import user_tiering
from opsbook.errors import DataError


def test_folder_duckdb_and_csv_sources_agree(tmp_path, sample_duckdb):
    parquet = sources.open_source("data/sample")
    duck = sources.open_source(str(sample_duckdb))
    assert parquet.names() == duck.names() and "orders" in parquet.names()
    csv_dir = tmp_path / "csv"
    csv_dir.mkdir()
    parquet.table("orders").to_csv(csv_dir / "orders.csv", index=False)
    csv = sources.open_source(str(csv_dir))
    results = [user_tiering.compute(s, dt.date(2026, 6, 30), 365, "mean").sort_values("customer_id").reset_index(drop=True)
               for s in (parquet, duck, csv)]
    pd.testing.assert_frame_equal(results[0], results[1])
    pd.testing.assert_frame_equal(results[0], results[2], check_dtype=False)


def test_missing_optional_columns_are_filled(tmp_path):
    orders = sources.open_source("data/sample").table("orders").drop(columns=["is_fake", "refund_amount", "phone"])
    orders.to_parquet(tmp_path / "orders.parquet")
    src = sources.open_source(str(tmp_path))
    assert {"is_fake", "refund_amount", "phone"} <= set(src.sql("DESCRIBE orders")["column_name"])
    assert len(user_tiering.compute(src, dt.date(2026, 6, 30))) > 100


@pytest.mark.parametrize("location, message", [("/nope/dir", "找不到数据目录"), ("/nope/shop.duckdb", "找不到 DuckDB 数据文件")])
def test_missing_source_is_a_data_error(location, message):
    with pytest.raises(DataError, match=message):
        sources.open_source(location).names()


def test_missing_required_column_is_reported(tmp_path):
    orders = sources.open_source("data/sample").table("orders").drop(columns=["customer_id"])
    orders.to_parquet(tmp_path / "orders.parquet")
    with pytest.raises(DataError, match="缺少必需列 customer_id"):
        user_tiering.compute(sources.open_source(str(tmp_path)), dt.date(2026, 6, 30))


def test_corrupt_file_is_a_data_error(tmp_path):
    (tmp_path / "orders.parquet").write_bytes(b"not a parquet file")
    with pytest.raises(DataError, match="无法读取数据源 .* 的 orders 表"):
        sources.open_source(str(tmp_path)).table("orders")


def test_bad_values_in_big_tables_are_caught_before_analysis(shop):
    def spoil(df):
        df.loc[:99, "status"] = "交易成功"
        df.loc[100:104, "amount"] = -1.0
        return df
    src = sources.open_source(shop(edit=("orders", spoil)))
    with pytest.raises(DataError) as info:
        src.check("orders")
    text = "\n".join(info.value.problems)
    assert "status（订单状态）只能取 unpaid/paid/shipped/completed/closed/refunded：共 100 行，例如 第2行" in text
    assert "=“交易成功”" in text and "amount（实付金额）不能小于 0：共 5 行，例如 第102行（platform=JD、order_id=2407073031416008）=“-1.0”" in text


def test_a_registered_kind_of_source_is_chosen_before_the_folder_fallback(monkeypatch):
    class BucketSource(sources.Source):
        """A made-up kind, as an extension would add one."""

    monkeypatch.setattr(sources, "_KINDS", list(sources._KINDS))
    sources.register(lambda location: location.startswith("s3://"), BucketSource)
    assert type(sources.open_source("s3://shop/tables")) is BucketSource
    assert type(sources.open_source("data/sample")).__name__ == "FolderSource"
    assert type(sources.open_source("postgresql://ops@db/shop")).__name__ == "PostgresSource"


def test_opening_folder_sources_does_not_import_the_postgresql_driver():
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", "import sys, opsbook.sources as s; s.open_source('data/sample').names();"
                          "print('psycopg' in sys.modules)"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
