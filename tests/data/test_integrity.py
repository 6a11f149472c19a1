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


def _set(table_rows, column, value):
    """An edit setting `column` to `value` in the given rows."""
    def edit(frame):
        frame = frame.astype({column: "object"}) if isinstance(value, str) and frame[column].dtype != "str" else frame
        frame.loc[table_rows, column] = value
        return frame
    return edit


@pytest.mark.parametrize("table, edit, message", [
    ("orders", _set([7], "amount", -20000.0), "orders 表的列 amount（实付金额）不能小于 0：共 1 行，例如 第9行"),
    ("orders", _set([3, 4], "amount", float("nan")), "orders 表的列 amount（实付金额）不能为空：共 2 行"),
    ("orders", _set([1], "status", "交易成功"), "orders 表的列 status（订单状态）只能取 unpaid/paid/shipped/completed/closed/refunded"),
    ("orders", _set([2], "refund_amount", 99999.0), "orders 表有退款金额大于实付金额的行：共 1 行，例如 第4行"),
    ("ad_spend", _set([0], "spend", -5.0), "ad_spend 表的列 spend（花费）不能小于 0"),
    ("ad_spend", _set([0], "spend", float("nan")), "ad_spend 表的列 spend（花费）不能为空"),
    ("ad_spend", _set([0], "gmv", -1.0), "ad_spend 表的列 gmv（成交金额）不能小于 0"),
    ("ad_spend", _set([0], "clicks", 10**9), "ad_spend 表有点击量大于展现量的行"),
    ("ad_spend", _set([0], "platform", "JDD"), "ad_spend 表的列 platform（平台）只能取 TB/TM/JD/DY/PDD：共 1 行，例如 第2行"),
    ("traffic_daily", _set([5], "uv", -3), "traffic_daily 表的列 uv（访客数）不能小于 0"),
    ("traffic_daily", _set([5], "bounce_uv", 10**7), "traffic_daily 表有跳出、加购或搜索访客数大于访客数的行"),
    ("campaigns", _set([0], "coupons_used", 10**6), "campaigns 表有券核销量大于发放量的行"),
    ("campaign_items", _set([0], "promo_price", -1.0), "campaign_items 表的列 promo_price（活动价）不能小于 0"),
])
@pytest.mark.parametrize("playbook", ["campaign_review", "kpi_report"])
def test_impossible_values_in_any_table_stop_every_playbook(shop, table, edit, message, playbook):
    """Values that would make a number wrong (a −20,000 payment, a 200 % click rate, a negative visitor count)."""
    result = runner.run(playbook, {"source": shop(edit=(table, edit))})
    assert result.exit_code == 2 and not result.retryable and message in result.error


def test_ids_excel_turned_into_numbers_are_refused(tmp_path):
    orders = pd.read_parquet("data/sample/orders.parquet")
    orders.loc[:2, "order_id"] = "2.40701E+15"  # three lines of three orders, merged into one by Excel
    orders.to_csv(tmp_path / "orders.csv", index=False)
    with pytest.raises(DataError, match=r"order_id（订单编号）疑似被 Excel 改成了科学计数法.*共 3 行"):
        sources.open_source(str(tmp_path)).names()


def test_a_gbk_csv_is_a_clear_error(tmp_path):
    orders = pd.read_parquet("data/sample/orders.parquet").head(50).assign(city="杭州")
    orders.to_csv(tmp_path / "orders.csv", index=False, encoding="gbk")
    result = runner.run("user_tiering", {"source": str(tmp_path)})
    assert result.exit_code == 2 and "orders.csv 不是 UTF-8 编码（可能是 GBK）" in result.error


def test_stored_types_that_read_exactly_are_accepted(tmp_path):
    """Times without a zone (China time), amounts written as text, 是/否 flags: the same numbers as the sample."""
    orders = pd.read_parquet("data/sample/orders.parquet")
    naive = orders.assign(order_time=orders["order_time"].dt.tz_localize(None),
                          pay_time=orders["pay_time"].dt.tz_localize(None),
                          amount=orders["amount"].map(lambda v: f"{v:.2f}"),
                          is_fake=orders["is_fake"].map({True: "是", False: "否"}))
    (tmp_path / "a").mkdir()
    naive.to_parquet(tmp_path / "a" / "orders.parquet")
    (tmp_path / "b").mkdir()
    naive.to_csv(tmp_path / "b" / "orders.csv", index=False)
    expected = runner.run("user_tiering", {"as_of": "2026-06-30"}).metrics
    for folder in ("a", "b"):
        result = runner.run("user_tiering", {"source": str(tmp_path / folder), "as_of": "2026-06-30"})
        assert result.ok, result.error
        assert result.metrics["segments"] == expected["segments"] and result.metrics["monetary"] == expected["monetary"]
    naive.loc[3, "amount"] = "一百"
    naive.to_parquet(tmp_path / "a" / "orders.parquet")
    result = runner.run("user_tiering", {"source": str(tmp_path / "a")})
    assert result.exit_code == 2 and "amount（实付金额）有无法识别为数字的值：共 1 行，例如 第5行" in result.error
