"""Checks of the source data every playbook shares, raised as flags (possible but surprising values; what cannot
be right stops the run in `opsbook.data` instead)."""
from __future__ import annotations

import datetime as dt

from ..flags import Flag, make
from ..settings import TZ
from ..sources import Source


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
