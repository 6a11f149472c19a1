"""Checks of the source data every playbook shares, raised as flags (possible but surprising values; what cannot
be right stops the run in `opsbook.data` instead)."""
from __future__ import annotations

import datetime as dt

import pandas as pd

from ..flags import Flag, make
from ..settings import TZ
from ..sources import Source


def _data_edge(src: Source, platform: str, edge: str) -> dt.date | None:
    """The first (`edge` = min) or last (max) day the source has paid orders or traffic for."""
    where, args = ("", []) if platform == "全部" else (" AND platform = ?", [platform])
    days = [src.sql(f"SELECT {edge}(CAST(pay_time AS DATE)) FROM paid_orders WHERE true{where}", args).iloc[0, 0]]
    if src.has("traffic_daily"):
        days.append(src.sql(f"SELECT {edge}(date) FROM traffic_daily WHERE true{where}", args).iloc[0, 0])
    found = [pd.Timestamp(d).date() for d in days if pd.notna(d)]
    return (min if edge == "min" else max)(found) if found else None


def data_until(src: Source, platform: str = "全部") -> dt.date | None:
    """The last day the source has paid orders or traffic for (the platform's, or any platform's)."""
    return _data_edge(src, platform, "max")


def data_from(src: Source, platform: str = "全部") -> dt.date | None:
    """The first day the source has paid orders or traffic for (the platform's, or any platform's)."""
    return _data_edge(src, platform, "min")


def stale_data(until: dt.date | None, as_of: dt.date) -> list[Flag]:
    """A flag when the data ends before the day the report is for: its latest days would count as days without sales."""
    if until is not None and until >= as_of:
        return []
    reach = f"数据只到 {until}" if until else "数据源中没有订单和流量数据"
    return [make("data.stale", "high", "数据分析",
                 f"{reach}，报告日期是 {as_of}：之后的日子没有订单和流量数据，报告只统计到有数据的那天；"
                 "请先导入最新的订单和生意参谋数据再看报告")]


def future_times(src: Source, now: dt.datetime | None = None) -> list[Flag]:
    """Order lines placed or paid after `now` (default: this moment): usually an export's time zone or date format."""
    now = now or dt.datetime.now(TZ)
    rows = src.sql("""
        SELECT order_id, line_id, platform, order_time, pay_time FROM orders
        WHERE order_time > CAST(? AS TIMESTAMPTZ) OR pay_time > CAST(? AS TIMESTAMPTZ)
        ORDER BY greatest(order_time, coalesce(pay_time, order_time))""", [now, now])
    if rows.empty:
        return []
    latest = rows[["order_time", "pay_time"]].max(axis=1)
    span = f"{latest.min():%Y-%m-%d %H:%M} 至 {latest.max():%Y-%m-%d %H:%M}"
    return [make("data.future_times", "medium", "数据分析",
                 f"orders 表有 {len(rows)} 行的下单或付款时间晚于现在（{span}）：多为导出文件的时区或日期格式有误，"
                 "请核对后重新导出导入", rows)]
