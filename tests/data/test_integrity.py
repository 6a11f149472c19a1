"""Data that would make numbers wrong stops the run (exit 2, Chinese, never retried); surprising data is flagged."""
import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from opsbook import sources
from opsbook.data import verified
from opsbook.engine import runner
from opsbook.errors import DataError
from opsbook.settings import TZ
from opsbook.sops import data_quality


def twice(day: str):
    """An edit that appends one day's order lines a second time, as a hand-made append would."""
    def edit(orders: pd.DataFrame) -> pd.DataFrame:
        again = orders[orders["order_time"].dt.strftime("%Y-%m-%d") == day]
        assert len(again) > 10
        return pd.concat([orders, again], ignore_index=True)
    return edit


@pytest.mark.parametrize("playbook", ["kpi_report", "user_tiering", "campaign_review"])
def test_a_day_imported_twice_stops_every_playbook(shop, playbook):
    result = runner.run(playbook, {"source": shop(edit=("orders", twice("2026-06-24")))})
    assert result.exit_code == 2 and not result.retryable and not result.ok
    assert "orders 表有 31 组重复的 platform+order_id+line_id（多出 31 行" in result.error
    assert "order_id=2606244031431917" in result.error and "line_id=2606244031431917-1" in result.error


def test_duplicates_in_a_duckdb_file_are_refused(tmp_path, shop):
    folder = shop(edit=("orders", twice("2026-06-24")))
    path = tmp_path / "shop.duckdb"
    with duckdb.connect(str(path)) as con:
        for name in ("orders", "campaigns"):
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_parquet('{folder}/{name}.parquet')")
    with pytest.raises(DataError, match="orders 表有 31 组重复"):
        sources.open_source(str(path)).names()


def test_a_clean_table_is_scanned_once_per_version_of_its_file(shop):
    folder = shop()
    sources.open_source(folder).names()
    orders = f"{folder}/orders.parquet"
    identity = verified.fingerprint(Path(orders), "orders", ["platform", "order_id", "line_id"])
    assert verified.known(identity)
    twice("2026-06-24")(pd.read_parquet(orders)).to_parquet(orders)  # rewritten: a new version, checked again
    with pytest.raises(DataError, match="重复"):
        sources.open_source(folder).names()


@pytest.mark.parametrize("column, label", [("status", "订单状态"), ("pay_time", "付款时间")])
def test_a_missing_required_column_is_bad_input_not_a_crash(shop, column, label):
    result = runner.run("user_tiering", {"source": shop(drop_columns={"orders": [column]})})
    assert result.exit_code == 2 and not result.retryable
    assert f"orders 表缺少必需列 {column}（{label}）" in result.error and "Exception" not in result.error


def test_an_empty_csv_is_bad_input(shop):
    folder = shop(drop_tables=["orders"])
    (Path(folder) / "orders.csv").write_bytes(b"")
    result = runner.run("kpi_report", {"source": folder})
    assert result.exit_code == 2 and not result.retryable and "orders.csv 是空文件" in result.error


def test_every_bad_column_of_a_csv_is_reported_with_rows(tmp_path):
    orders = pd.read_parquet("data/sample/orders.parquet").astype({"quantity": "object", "amount": "object",
                                                                  "pay_time": "object"})
    orders.loc[5, "quantity"], orders.loc[12, "quantity"] = "两件", "1.5"  # DuckDB alone would round 1.5 to 2
    orders.loc[9, "amount"], orders.loc[11, "pay_time"] = "12,3", "昨天"
    orders.to_csv(tmp_path / "orders.csv", index=False)
    with pytest.raises(DataError) as info:
        sources.open_source(str(tmp_path)).names()
    text = "\n".join(info.value.problems)
    assert len(info.value.problems) == 3
    assert ("quantity（数量）有无法识别为整数的值：共 2 行，例如 第7行（platform=JD、order_id=2407013031415930）=“两件”，"
            "第14行（platform=TB、order_id=2407011031415936）=“1.5”") in text
    assert "amount（实付金额）有无法识别为数字的值：共 1 行，例如 第11行（platform=TM、order_id=2407012031415934）=“12,3”" in text
    assert "pay_time（付款时间）有无法识别为时间的值：共 1 行，例如 第13行（platform=TB、order_id=2407011031415936）=“昨天”" in text


def test_order_times_in_the_future_are_flagged(shop):
    def ahead(orders):
        orders.loc[:2, "order_time"] = pd.Timestamp("2031-01-02 10:00", tz=TZ)
        orders.loc[:2, "pay_time"] = pd.Timestamp("2031-01-02 10:05", tz=TZ)
        return orders
    src = sources.open_source(shop(edit=("orders", ahead)))
    (flag,) = data_quality.future_times(src, now=dt.datetime(2026, 12, 2, tzinfo=TZ))
    assert flag.code == "data.future_times" and flag.rows == 3 and "2031-01-02 10:05" in flag.message
    assert data_quality.future_times(sources.open_source("data/sample"), now=dt.datetime(2026, 12, 2, tzinfo=TZ)) == []
