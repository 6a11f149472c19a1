"""Replenishment lead time (补货提前期): the days from placing a purchase order to having its goods to sell — one
definition for every playbook that plans stock (inventory_watch's reorder point, demand_forecast's order quantity),
so the two give the same lead time for a SKU on a day and their 补货 quantities can be put side by side.

A SKU's lead time on a day: the median days from order to arrival of its purchase orders received in the
`history_days` days up to that day, when it has at least `min_orders` of them; else the median of its latest
supplier's orders received then (every SKU of theirs), when that supplier has as many; else the parameter
(`default_days`). The median, rounded up to whole days (at least 1): one very late order does not make every order
look late, and half the orders took at least that long. `min_orders` 0 uses the parameter for every SKU. Days of a
物流停运 window (春节) between the day and the arrival do not count as delivery days (`calendar.shipping_days`).
"""
from __future__ import annotations

import datetime as dt
import math

import pandas as pd

from ..sources import Source
from . import calendar

HISTORY_DAYS = 365  # received purchase orders of the last year give the lead times, unless a playbook says otherwise
DEFAULT = "参数"  # the basis of a lead time taken from the parameter
NOTE = ("补货提前期 = 下单到到货可售的天数：取该商品近 {history} 天到货的采购单（不少于 {orders} 张）实际天数的中位数，"
        "不够时取其最近一家供应商所有商品的采购单的中位数，再没有则取参数（默认补货提前期）；向上取整到天；"
        "到货前遇到春节物流停运的，停运天数顺延。库存预警与需求预测按同一口径计算")


def lead_times(src: Source, skus, day: dt.date, *, default_days: int, min_orders: int,
               history_days: int = HISTORY_DAYS) -> pd.DataFrame:
    """Per SKU of `skus` (index `sku`): its latest supplier (by order date up to `day`; empty without purchase orders),
    its lead time in whole days (`lead_time_days`) and what it was taken from (`lead_basis`, Chinese)."""
    index = pd.Index(pd.unique(pd.Series(list(skus), dtype="str")), name="sku")
    out = pd.DataFrame({"supplier_id": pd.Series(pd.NA, index=index, dtype="str"),
                        "lead_time_days": pd.Series(int(default_days), index=index, dtype="int64"),
                        "lead_basis": pd.Series(DEFAULT, index=index, dtype="str")})
    if src.has("purchase_orders") and len(index):
        found = src.sql("""
            WITH done AS (SELECT sku, supplier_id, datediff('day', order_date, received_date) AS lead FROM purchase_orders
                          WHERE received_date IS NOT NULL AND order_date <= $day::DATE AND received_date <= $day::DATE
                            AND received_date > $day::DATE - $history::INTEGER),
            latest AS (SELECT sku, first(supplier_id ORDER BY order_date DESC, po_id DESC) AS supplier_id
                       FROM purchase_orders WHERE order_date <= $day::DATE GROUP BY sku),
            mine AS (SELECT sku, median(lead) AS sku_lead, count(*) AS sku_n FROM done GROUP BY sku),
            theirs AS (SELECT supplier_id, median(lead) AS supplier_lead, count(*) AS supplier_n FROM done GROUP BY 1)
            SELECT * FROM latest LEFT JOIN mine USING (sku) LEFT JOIN theirs USING (supplier_id)""",
                        {"day": day, "history": int(history_days)}).set_index("sku").reindex(index)
        out["supplier_id"] = found["supplier_id"].astype("str")
        if min_orders > 0:
            own = (found["sku_n"] >= min_orders).fillna(False).astype(bool)
            theirs = ~own & (found["supplier_n"] >= min_orders).fillna(False).astype(bool)
            median = found["sku_lead"].where(own, found["supplier_lead"].where(theirs))
            measured = median.notna()
            out["lead_time_days"] = out["lead_time_days"].mask(
                measured, median.map(lambda d: d if pd.isna(d) else max(1, math.ceil(round(float(d), 6))))).astype("int64")
            out["lead_basis"] = out["lead_basis"].mask(own, "采购单实际（" + found["sku_n"].astype("Int64").astype("str") + " 单）")
            out["lead_basis"] = out["lead_basis"].mask(theirs, "供应商 " + found["supplier_id"].astype("str") + " 的采购单实际（"
                                                       + found["supplier_n"].astype("Int64").astype("str") + " 单）")
    days = {d: calendar.shipping_days(day, d) for d in set(out["lead_time_days"].tolist())}
    stretch = out["lead_time_days"].map(lambda d: days[d] - d)
    if stretch.any():
        out["lead_time_days"] = out["lead_time_days"] + stretch
        out["lead_basis"] = out["lead_basis"].mask(stretch > 0, out["lead_basis"] + "＋春节物流停运 "
                                                   + stretch.astype("str") + " 天")
    return out
