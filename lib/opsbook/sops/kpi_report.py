"""Core KPI report: daily/weekly/monthly metrics (生意参谋 definitions), trends, funnel, targets, red lines."""
from __future__ import annotations

import datetime as dt

import pandas as pd

from .. import report
from ..flags import Flag, make
from ..sources import Source
from .periods import PERIODS, bucket_start, label, shift, year_before

TRAFFIC = ["uv", "pv", "bounce_uv", "cart_uv", "search_uv", "live_uv", "live_interactions"]
LABELS = {
    "bounce_rate": "跳出率", "cart_uv": "加购人数", "new_buyers": "新客数", "repeat_rate": "老客占比",
    "retention": "上期买家留存率", "search_share": "搜索流量占比", "live_rate": "直播互动率", "order_buyers": "下单买家数",
    "last_year": "去年同期", "stage": "环节", "rate": "转化率", "current": "本期", "previous": "上期", "mom": "环比",
    "yoy": "同比",
}
COMPARE = {"gmv": "成交金额", "orders": "订单数", "buyers": "支付买家数", "aov": "客单价", "uv": "访客数",
           "pv": "浏览量", "conversion": "支付转化率", "bounce_rate": "跳出率", "new_buyers": "新客数",
           "repeat_rate": "老客占比", "retention": "上期买家留存率", "search_share": "搜索流量占比",
           "live_rate": "直播互动率"}


def _platform_filter(platform: str) -> tuple[str, list]:
    return ("", []) if platform == "全部" else (" AND platform = ?", [platform])


def order_metrics(src: Source, period: str, first: dt.date, end: dt.date, platform: str,
                  until: dt.date | None = None) -> pd.DataFrame:
    """Per bucket in [first, end], days up to `until`: gmv, orders, buyers, new buyers, retention, order buyers, fakes."""
    unit = PERIODS[period]
    where, args = _platform_filter(platform)
    sql = f"""
    WITH paid AS (
        SELECT order_id, customer_id, CAST(pay_time AS DATE) AS d, amount,
               CAST(date_trunc('{unit}', CAST(pay_time AS DATE)) AS DATE) AS bucket
        FROM paid_orders WHERE true{where}
    ), first_buy AS (SELECT customer_id, min(d) AS first_d FROM paid GROUP BY customer_id),
    in_range AS (SELECT * FROM paid WHERE bucket BETWEEN ? AND ? AND d <= ?),
    buyer_bucket AS (SELECT DISTINCT customer_id, bucket FROM paid WHERE bucket BETWEEN ? AND ? AND d <= ?),
    retained AS (
        SELECT cur.bucket, count(*) AS kept FROM buyer_bucket cur JOIN buyer_bucket prev
          ON cur.customer_id = prev.customer_id AND prev.bucket = CAST(cur.bucket - INTERVAL 1 {unit} AS DATE)
        GROUP BY cur.bucket
    ), prev_size AS (
        SELECT CAST(bucket + INTERVAL 1 {unit} AS DATE) AS bucket, count(*) AS prev_buyers FROM buyer_bucket GROUP BY bucket
    ), placed AS (
        SELECT CAST(date_trunc('{unit}', CAST(order_time AS DATE)) AS DATE) AS bucket,
               count(DISTINCT customer_id) FILTER (WHERE NOT coalesce(is_fake, false)) AS order_buyers,
               count(DISTINCT order_id) FILTER (WHERE coalesce(is_fake, false)) AS fake_orders,
               coalesce(sum(amount) FILTER (WHERE coalesce(is_fake, false)), 0) AS fake_amount
        FROM orders WHERE CAST(order_time AS DATE) BETWEEN ? AND ?{where} GROUP BY 1
    )
    SELECT r.bucket, round(sum(r.amount), 2) AS gmv, count(DISTINCT r.order_id) AS orders,
           count(DISTINCT r.customer_id) AS buyers,
           count(DISTINCT r.customer_id) FILTER (WHERE f.first_d >= r.bucket) AS new_buyers,
           any_value(coalesce(k.kept, 0)) / nullif(any_value(p.prev_buyers), 0) AS retention,
           any_value(pl.order_buyers) AS order_buyers, any_value(coalesce(pl.fake_orders, 0)) AS fake_orders,
           any_value(coalesce(pl.fake_amount, 0)) AS fake_amount
    FROM in_range r JOIN first_buy f USING (customer_id)
    LEFT JOIN retained k USING (bucket) LEFT JOIN prev_size p USING (bucket) LEFT JOIN placed pl USING (bucket)
    GROUP BY r.bucket ORDER BY r.bucket
    """
    last = shift(end, period, 1) - dt.timedelta(days=1)
    until = min(last, until or last)
    df = src.sql(sql, args + [first, end, until, shift(first, period, -1), end, until, first, until] + args)
    df["bucket"] = pd.to_datetime(df["bucket"]).dt.date
    return df


def daily_traffic(src: Source, first: dt.date, last: dt.date, platform: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Daily traffic per platform in [first, last] with missing days interpolated; also the missing (platform, date) pairs."""
    where, args = _platform_filter(platform)
    raw = src.sql(f"SELECT date, platform, {', '.join(TRAFFIC)} FROM traffic_daily "
                  f"WHERE date BETWEEN ? AND ?{where}", [first, last] + args)
    raw["date"] = pd.to_datetime(raw["date"])
    days = pd.date_range(first, last, freq="D")
    filled, gaps = [], []
    for name, part in raw.groupby("platform"):
        part = part.set_index("date").reindex(days)
        inside = (part.index >= part["uv"].first_valid_index()) & (part.index <= part["uv"].last_valid_index())
        missing = part.index[part["uv"].isna() & inside]  # only gaps between a platform's first and last day
        gaps += [{"platform": name, "date": d.date()} for d in missing]
        part[TRAFFIC] = part[TRAFFIC].astype("float64").interpolate(limit_area="inside").round().astype("Int64")
        filled.append(part.assign(platform=name).rename_axis("date").reset_index())
    out = pd.concat(filled, ignore_index=True) if filled else raw
    return out, pd.DataFrame(gaps, columns=["platform", "date"])


def series(src: Source, period: str, report_date: dt.date, history: int, platform: str = "全部",
           annual_target: float = 0.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """KPI table: one row per bucket for `history` buckets ending with the report's, plus last year's buckets.

    Returns (kpis, traffic gaps). Rates follow 生意参谋: conversion = 支付买家数 / 访客数, AOV = 支付金额 / 支付买家数.
    """
    src.check("orders")
    current = bucket_start(report_date, period)
    first = shift(current, period, -(history - 1))
    first_ly = bucket_start(year_before(first), period)
    end_day = min(shift(current, period, 1) - dt.timedelta(days=1), report_date)  # nothing after the report date
    orders = order_metrics(src, period, first_ly, current, platform, until=end_day)
    if src.has("traffic_daily"):
        traffic, gaps = daily_traffic(src, first_ly, end_day, platform)
        traffic["bucket"] = traffic["date"].dt.date.map(lambda d: bucket_start(d, period))
        per_bucket = traffic.groupby("bucket")[TRAFFIC].sum(min_count=1).reset_index()  # no data stays empty
    else:
        per_bucket, gaps = pd.DataFrame(columns=["bucket"] + TRAFFIC), pd.DataFrame(columns=["platform", "date"])
    df = orders.merge(per_bucket, on="bucket", how="outer").sort_values("bucket").reset_index(drop=True)
    df["aov"] = df["gmv"] / df["buyers"]
    df["conversion"] = df["buyers"] / df["uv"]
    df["bounce_rate"] = df["bounce_uv"] / df["uv"]
    df["repeat_rate"] = 1 - df["new_buyers"] / df["buyers"]
    df["search_share"] = df["search_uv"] / df["uv"]
    df["live_rate"] = df["live_interactions"] / df["live_uv"]
    days = df["bucket"].map(lambda b: (min(shift(b, period, 1) - dt.timedelta(days=1), end_day) - b).days + 1)
    df["days"] = days  # days counted: fewer than the period's in a period that has not ended
    df["period_share"] = days / df["bucket"].map(lambda b: (shift(b, period, 1) - b).days)
    df["target"] = annual_target * days / 365 if annual_target else float("nan")
    df["attainment"] = df["gmv"] / df["target"]
    df["period"] = df["bucket"].map(lambda b: label(b, period))
    return df, gaps[gaps["date"].between(first_ly, end_day)] if len(gaps) else gaps


def trend(kpis: pd.DataFrame, period: str, report_date: dt.date, history: int) -> pd.DataFrame:
    """The last `history` buckets up to the report's (for charts and the trend table)."""
    current = bucket_start(report_date, period)
    first = shift(current, period, -(history - 1))
    return kpis[(kpis["bucket"] >= first) & (kpis["bucket"] <= current)].reset_index(drop=True)


def comparison(kpis: pd.DataFrame, period: str, report_date: dt.date) -> pd.DataFrame:
    """Current bucket vs previous (环比) and same bucket last year (同比), one row per metric."""
    current = bucket_start(report_date, period)
    previous = shift(current, period, -1)
    last_year = shift(current, period, -12) if PERIODS[period] == "month" else bucket_start(year_before(current), period)
    rows = kpis.set_index("bucket")

    def pick(b):
        return rows.loc[b] if b in rows.index else pd.Series(dtype="float64")
    cur, prev, ly = pick(current), pick(previous), pick(last_year)
    out = pd.DataFrame({"metric": list(COMPARE.values()),
                        "current": [cur.get(k) for k in COMPARE], "previous": [prev.get(k) for k in COMPARE],
                        "last_year": [ly.get(k) for k in COMPARE]})
    out["mom"] = out["current"] / out["previous"] - 1
    out["yoy"] = out["current"] / out["last_year"] - 1
    out["key"] = list(COMPARE)
    return out


def comparison_table(comp: pd.DataFrame) -> pd.DataFrame:
    """The comparison for people: numbers (each row in its own format: money, rate or count) and signed changes."""
    money_keys, pct_keys = {"gmv", "aov"}, {"conversion", "bounce_rate", "repeat_rate", "retention", "search_share", "live_rate"}
    formats = ["money" if k in money_keys else "pct" if k in pct_keys else "count" for k in comp["key"]]
    return comp[["metric", "current", "previous", "mom", "last_year", "yoy"]].assign(format=formats)


def funnel_stages(kpis: pd.DataFrame, period: str, report_date: dt.date) -> tuple[list[str], list[float]]:
    """Browse → add-to-cart → order → pay for the report's bucket (zeros where there is no data)."""
    rows = kpis.set_index("bucket")
    key = bucket_start(report_date, period)
    row = rows.loc[key] if key in rows.index else pd.Series(dtype="float64")
    return ["访客", "加购", "下单买家", "支付买家"], [_number(row.get(k)) or 0.0 for k in ("uv", "cart_uv", "order_buyers", "buyers")]


def _number(v) -> float | None:
    """A plain float, or None for missing values (NaN, NA, None)."""
    return None if v is None or pd.isna(v) else float(v)


def headline(comp: pd.DataFrame, period: str, report_date: dt.date) -> tuple[dict, dict[str, str]]:
    """The current bucket's headline metrics (None where missing) and their formatted cards."""
    cur = {k: _number(v) for k, v in zip(comp["key"], comp["current"])}
    metrics = {"gmv": cur["gmv"], "buyers": cur["buyers"], "conversion": cur["conversion"], "aov": cur["aov"]}
    start = bucket_start(report_date, period)
    end = shift(start, period, 1) - dt.timedelta(days=1)
    span = f"{start:%m-%d} 至 {min(end, report_date):%m-%d}" + ("（本期未结束）" if report_date < end else "")
    cards = {"统计区间": span if PERIODS[period] != "day" else f"{report_date:%Y-%m-%d}", "成交金额": report.money(cur["gmv"]), "支付买家数": report.count(cur["buyers"]),
             "客单价": report.money(cur["aov"]), "支付转化率": report.pct(cur["conversion"]),
             "访客数": report.count(cur["uv"]), "新客数": report.count(cur["new_buyers"])}
    return metrics, cards


def findings(kpis: pd.DataFrame, gaps: pd.DataFrame, period: str, report_date: dt.date, *, max_gmv_drop: float,
             min_search_share: float, min_live_rate: float, min_attainment: float) -> list[Flag]:
    """Red lines and warnings for the report's bucket."""
    current = bucket_start(report_date, period)
    rows = kpis.set_index("bucket")
    if current not in rows.index or pd.isna(rows.loc[current].get("gmv")):
        return [make("kpi.no_data", "high", "数据分析", f"{label(current, period)} 没有已付款订单：请检查数据源是否已更新")]
    cur = rows.loc[current]
    prev_key = shift(current, period, -1)
    prev = rows.loc[prev_key] if prev_key in rows.index else None
    name = label(current, period)
    out = []
    # a period that has not ended is compared with the same share of the previous one
    baseline = (_number(prev["gmv"]) or 0) * cur["period_share"] if prev is not None else 0
    if baseline > 0 and cur["gmv"] / baseline - 1 < -max_gmv_drop:
        partial = f"（本期前 {cur['days']} 天，按比例对比）" if cur["period_share"] < 1 else ""
        out.append(make("kpi.gmv_drop", "high", "运营主管",
                        f"{name} 成交金额 ¥{cur['gmv']:,.0f}，环比下滑 {(1 - cur['gmv'] / baseline) * 100:.1f}%{partial}"
                        f"（预警线 {max_gmv_drop * 100:.0f}%）：请排查流量、转化与活动节奏"))
    if pd.notna(cur.get("attainment")) and cur["attainment"] < min_attainment:
        out.append(make("kpi.target", "medium", "运营主管",
                        f"{name} GMV 目标达成率 {cur['attainment'] * 100:.1f}%（目标 ¥{cur['target']:,.0f}），低于 {min_attainment * 100:.0f}%"))
    if pd.notna(cur.get("search_share")) and cur["search_share"] < min_search_share:
        out.append(make("kpi.search_share", "medium", "运营",
                        f"{name} 搜索流量占比 {cur['search_share'] * 100:.1f}%，低于红线 {min_search_share * 100:.0f}%："
                        "检查关键词排名与标题"))
    if pd.notna(cur.get("live_rate")) and cur["live_rate"] < min_live_rate:
        out.append(make("kpi.live_rate", "medium", "内容运营",
                        f"{name} 直播互动率 {cur['live_rate'] * 100:.1f}%，低于红线 {min_live_rate * 100:.0f}%：调整直播话术与福利节奏"))
    if len(gaps):
        out.append(make("kpi.traffic_gaps", "low", "数据分析",
                        f"流量数据缺少 {len(gaps)} 个平台日（已按前后日期插值补齐）：请补导生意参谋数据", gaps))
    fake = _number(cur.get("fake_orders")) or 0
    if fake:
        out.append(make("kpi.fake_orders", "low", "数据分析",
                        f"{name} 已剔除 {fake:.0f} 笔刷单订单（¥{_number(cur.get('fake_amount')) or 0:,.2f}），未计入成交"))
    return out
