"""Canonical tables: coercion and validation that reports every problem at once."""
import pandas as pd
import pytest

from opsbook.data import tables
from opsbook.errors import DataError


def good_orders():
    return pd.DataFrame({
        "order_id": ["1001", "1002"], "platform": ["TB", "JD"], "customer_id": ["C1", "C2"],
        "order_time": ["2025-06-18 10:00:00", "2025-06-18 11:30:00"], "pay_time": ["2025-06-18 10:01:00", None],
        "sku": ["TB-01-M-2504", "JD-02-L-2504"], "quantity": [1, 2], "amount": [99.0, 10.5], "status": ["completed", "unpaid"],
    })


def test_valid_orders_are_coerced():
    df = tables.validate("orders", good_orders())
    assert str(df["order_time"].dt.tz) == "Asia/Shanghai"
    assert df["pay_time"].isna().tolist() == [False, True]
    assert df["quantity"].dtype == "Int64"
    assert df["order_id"].tolist() == ["1001", "1002"]


def test_every_problem_is_reported_with_rows():
    bad = good_orders().drop(columns=["sku"])
    bad["amount"] = ["abc", 10.5]
    bad.loc[1, "platform"] = "AMAZON"
    bad.loc[1, "customer_id"] = None
    bad["quantity"] = [-1, 2]
    with pytest.raises(DataError) as info:
        tables.validate("orders", bad, origin="shop.csv")
    text = "\n".join(info.value.problems)
    assert "缺少必需列 sku（商家编码）" in text
    assert "amount（实付金额）有无法识别为数字的值" in text and "第2行=“abc”" in text
    assert "platform（平台）只能取" in text and "AMAZON" in text
    assert "customer_id（客户ID（匿名））不能为空" in text and "第3行" in text
    assert "quantity（数量）不能小于 0" in text
    assert "shop.csv" in info.value.message
    assert len(info.value.problems) == 5


def test_ids_stay_strings():
    df = good_orders()
    df["order_id"] = ["0012", "0013"]
    assert tables.validate("orders", df)["order_id"].tolist() == ["0012", "0013"]


def test_scientific_ids_are_rejected_and_float_ids_repaired():
    df = good_orders()
    df["order_id"] = ["2.58E+18", "1002"]
    with pytest.raises(DataError, match="科学计数法"):
        tables.validate("orders", df)
    df["order_id"] = [1001.0, 1002.0]
    assert tables.validate("orders", df)["order_id"].tolist() == ["1001", "1002"]


def test_phones_are_masked_on_load():
    df = good_orders().assign(phone=["13812345678", None])
    assert tables.validate("orders", df)["phone"].tolist()[0] == "138****5678"


def test_odd_datetime_columns_are_read_or_refused_never_guessed():
    df = good_orders().assign(pay_time=[float("nan"), float("nan")])
    assert tables.validate("orders", df)["pay_time"].isna().all()  # unpaid: a nullable time may be all empty
    with pytest.raises(DataError, match=r"pay_time（付款时间）有无法识别为时间的值：共 2 行，例如 第2行=“1.5”"):
        tables.validate("orders", good_orders().assign(pay_time=[1.5, 2.5]))
    mixed = good_orders().assign(order_time=["2025-06-18 10:00:00+08:00", "2025-06-18 10:00:00"],
                                 pay_time=["2025-06-18 02:01:00Z", "2025-06-18 10:01:00"])
    out = tables.validate("orders", mixed)  # a time without an offset is China time, not UTC
    assert out["order_time"].dt.strftime("%H:%M").tolist() == ["10:00", "10:00"]
    assert out["pay_time"].dt.strftime("%H:%M").tolist() == ["10:01", "10:01"]


def test_cross_field_rules_and_duplicates():
    df = pd.concat([good_orders(), good_orders().iloc[[0]]], ignore_index=True)
    df["pay_time"] = ["2025-06-18 09:00:00", None, "2025-06-18 10:01:00"]
    df["refund_amount"] = [0.0, 50.0, None]
    with pytest.raises(DataError) as info:
        tables.validate("orders", df)
    text = "\n".join(info.value.problems)
    assert "付款时间早于下单时间" in text and "退款金额大于实付金额" in text and "order_id" in text and "重复" in text
