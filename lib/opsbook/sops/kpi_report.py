"""Core KPI report: daily/weekly/monthly metrics (生意参谋 definitions), trends, funnel, targets, refunds, red lines."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import pandas as pd

from .. import report
from ..errors import ParamError
from ..flags import Flag, make
from ..sources import Source
from . import calendar, data_quality
from .periods import PERIODS, bucket_start, label, shift, year_before

TRAFFIC = ["uv", "pv", "bounce_uv", "cart_uv", "search_uv", "live_uv", "live_interactions"]

# Chinese labels of the headline metrics in result.json (what delivered report cards show), with their number
# format (`report.FORMATS`) where the name alone would not tell it
METRICS = {"gmv": "成交金额", "buyers": "支付买家数", "conversion": "支付转化率", "aov": "客单价",
           "refund": "退款金额", "refund_rate": "退款率", "repurchase_rate": "复购率"}

LABELS = {
    "bounce_rate": "跳出率", "cart_uv": "加购人数", "new_buyers": "新客数", "repeat_rate": "老客占比",
    "repurchase_rate": "复购率", "search_share": "搜索流量占比", "live_rate": "直播互动率", "order_buyers": "下单买家数",
    "last_year": "去年同期", "stage": "环节", "rate": "转化率", "current": "本期", "previous": "上期", "mom": "环比",
    "yoy": "同比", "refund": "退款金额", "refund_rate": "退款率",
}
COMPARE = {"gmv": "成交金额", "orders": "订单数", "buyers": "支付买家数", "aov": "客单价", "uv": "访客数",
           "pv": "浏览量", "conversion": "支付转化率", "bounce_rate": "跳出率", "new_buyers": "新客数",
           "repeat_rate": "老客占比", "repurchase_rate": "复购率", "refund": "退款金额", "refund_rate": "退款率",
           "search_share": "搜索流量占比", "live_rate": "直播互动率"}
MONEY, RATES = {"gmv", "aov", "refund"}, {"conversion", "bounce_rate", "repeat_rate", "repurchase_rate", "refund_rate",
                                          "search_share", "live_rate"}
DEFINITIONS = ("支付转化率 = 支付买家数 ÷ 访客数，按日计算后汇总（周、月为每日支付买家数之和 ÷ 每日访客数之和，与日报同一口径；"
               "生意参谋的周、月访客数按人去重，数值会略高）；客单价 = 成交金额 ÷ 支付买家数；成交金额为支付金额，不扣退款；"
               "退款率 = 本期付款订单的退款金额 ÷ 成交金额（近期订单的退款还会陆续发生，最近几期的退款率会随时间上升）；"
               "老客占比 = 本期买家中以前买过的占比；"
               "复购率 = 本期买家中在本期开始前 {days} 天内买过的占比")


def _platform_filter(platform: str) -> tuple[str, list]:
    return ("", []) if platform == "全部" else (" AND platform = ?", [platform])


def order_metrics(src: Source, period: str, first: dt.date, end: dt.date, platform: str, until: dt.date | None = None,
                  repurchase_days: int = 90, also: dt.date | None = None) -> pd.DataFrame:
    """Per bucket in [first, end] (and the bucket starting on `also`), days up to `until`: gmv, orders, buyers (per
    bucket, and summed per day), new and returning buyers (bought in the `repurchase_days` before the bucket), refunds,
    order buyers, brushed orders."""
    unit = PERIODS[period]
    where, args = _platform_filter(platform)
    sql = f"""
    WITH paid AS (
        SELECT order_id, customer_id, CAST(pay_time AS DATE) AS d, amount, coalesce(refund_amount, 0) AS refund,
               CAST(date_trunc('{unit}', CAST(pay_time AS DATE)) AS DATE) AS bucket
        FROM paid_orders WHERE true{where}
    ), first_buy AS (SELECT customer_id, min(d) AS first_d FROM paid GROUP BY customer_id),
    in_range AS (SELECT * FROM paid WHERE (bucket BETWEEN ? AND ? OR bucket = ?) AND d <= ?),
    buyer_bucket AS (SELECT DISTINCT customer_id, bucket FROM in_range),
    repeat_buyers AS (
        SELECT b.bucket, count(DISTINCT b.customer_id) AS returning_buyers FROM buyer_bucket b JOIN paid p
          ON p.customer_id = b.customer_id AND p.d < b.bucket AND p.d >= b.bucket - INTERVAL {int(repurchase_days)} DAY
        GROUP BY b.bucket
    ), placed AS (
        SELECT CAST(date_trunc('{unit}', CAST(order_time AS DATE)) AS DATE) AS bucket,
               count(DISTINCT customer_id) FILTER (WHERE NOT coalesce(is_fake, false)) AS order_buyers,
               count(DISTINCT order_id) FILTER (WHERE coalesce(is_fake, false)) AS fake_orders,
               coalesce(sum(amount) FILTER (WHERE coalesce(is_fake, false)), 0) AS fake_amount
        FROM orders WHERE (CAST(order_time AS DATE) BETWEEN ? AND ?
                           OR CAST(order_time AS DATE) BETWEEN ? AND ?){where} GROUP BY 1
    )
    SELECT r.bucket, round(sum(r.amount), 2) AS gmv, count(DISTINCT r.order_id) AS orders,
           count(DISTINCT r.customer_id) AS buyers, count(DISTINCT (r.customer_id, r.d)) AS day_buyers,
           count(DISTINCT r.customer_id) FILTER (WHERE f.first_d >= r.bucket) AS new_buyers,
           any_value(coalesce(k.returning_buyers, 0)) AS returning_buyers, round(sum(r.refund), 2) AS refund,
           any_value(pl.order_buyers) AS order_buyers, any_value(coalesce(pl.fake_orders, 0)) AS fake_orders,
           any_value(coalesce(pl.fake_amount, 0)) AS fake_amount
    FROM in_range r JOIN first_buy f USING (customer_id)
    LEFT JOIN repeat_buyers k USING (bucket) LEFT JOIN placed pl USING (bucket)
    GROUP BY r.bucket ORDER BY r.bucket
    """
    last = shift(end, period, 1) - dt.timedelta(days=1)
    until = min(last, until or last)
    also = also or first
    also_end = shift(also, period, 1) - dt.timedelta(days=1)
    df = src.sql(sql, args + [first, end, also, until, first, until, also, also_end] + args)
    df["bucket"] = pd.to_datetime(df["bucket"]).dt.date
    return df


def daily_traffic(src: Source, first: dt.date, last: dt.date, platform: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Daily traffic per platform in [first, last] with missing days interpolated; also the missing (platform, date)
    pairs: days between a platform's first and last day of traffic, and days after its last one that have paid
    orders (those cannot be interpolated and stay empty)."""
    where, args = _platform_filter(platform)
    raw = src.sql(f"SELECT date, platform, {', '.join(TRAFFIC)} FROM traffic_daily "
                  f"WHERE date BETWEEN ? AND ?{where}", [first, last] + args)
    sold = src.sql(f"SELECT DISTINCT platform, CAST(pay_time AS DATE) AS date FROM paid_orders "
                   f"WHERE CAST(pay_time AS DATE) BETWEEN ? AND ?{where}", [first, last] + args)
    sold = set(zip(sold["platform"], pd.to_datetime(sold["date"])))
    raw["date"] = pd.to_datetime(raw["date"])
    days = pd.date_range(first, last, freq="D")
    filled, gaps = [], []
    for name, part in raw.groupby("platform"):
        part = part.set_index("date").reindex(days)
        start, end = part["uv"].first_valid_index(), part["uv"].last_valid_index()
        missing = part.index[part["uv"].isna() & (((part.index >= start) & (part.index <= end))
                                                  | ((part.index > end) & [(name, d) in sold for d in part.index]))]
        gaps += [{"platform": name, "date": d.date()} for d in missing]
        part[TRAFFIC] = part[TRAFFIC].astype("float64").interpolate(limit_area="inside").round().astype("Int64")
        filled.append(part.assign(platform=name).rename_axis("date").reset_index())
    out = pd.concat(filled, ignore_index=True) if filled else raw
    return out, pd.DataFrame(gaps, columns=["platform", "date"])


def parse_targets(text: str) -> dict[str, float]:
    """Per-platform annual targets written as `TM=800000, JD=500000` (ParamError in Chinese otherwise)."""
    found, problems = {}, []
    for part in filter(None, (p.strip() for p in re.split(r"[,，;；\s]+", text or ""))):
        name, sep, value = part.partition("=")
        try:
            amount = float(value.replace("元", "")) if sep else -1.0
        except ValueError:
            amount = -1.0
        if name.strip().upper() not in ("TB", "TM", "JD", "DY", "PDD") or amount < 0:
            problems.append(f"各平台年度目标 platform_targets 中的「{part}」不对：应写成 平台=金额，如 TM=800000, JD=500000")
        else:
            found[name.strip().upper()] = amount
    if problems:
        raise ParamError(problems)
    return found


def daily_targets(src: Source, platform: str, annual_target: float, years: list[int]) -> tuple[pd.Series, str]:
    """Each day's share of the annual target, for every day of `years`: split by the day's share of the previous
    year's GMV when that year is in the data from its first to its last day, flat by days otherwise; and how."""
    where, args = _platform_filter(platform)
    span = src.sql(f"SELECT min(CAST(pay_time AS DATE)) AS first, max(CAST(pay_time AS DATE)) AS last FROM paid_orders "
                   f"WHERE true{where}", args).iloc[0]
    parts, ways = [], []
    for year in years:
        days = pd.date_range(f"{year}-01-01", f"{year}-12-31", freq="D")
        whole = pd.notna(span["first"]) and span["first"] <= pd.Timestamp(f"{year - 1}-01-01") \
            and span["last"] >= pd.Timestamp(f"{year - 1}-12-31")
        if whole:
            before = src.sql(f"SELECT strftime(CAST(pay_time AS DATE), '%m-%d') AS md, sum(amount) AS gmv "
                             f"FROM paid_orders WHERE year(CAST(pay_time AS DATE)) = ?{where} GROUP BY 1", [year - 1] + args)
            shares = before.set_index("md")["gmv"]
            day = [d.strftime("%m-%d") if d.strftime("%m-%d") != "02-29" else "02-28" for d in days]  # leap day: as 28th
            weights = pd.Series([shares.get(md, 0.0) for md in day], index=days)
            weights = weights / weights.sum()
            ways.append(f"{year} 年目标按 {year - 1} 年每日成交占比拆分")
        else:
            weights = pd.Series(1 / len(days), index=days)
            ways.append(f"{year} 年目标按天数平均拆分（数据中没有完整的 {year - 1} 年）")
        parts.append(weights * annual_target)
    return pd.concat(parts), "；".join(ways)


@dataclass
class Kpis:
    """What the report computes from: one row per bucket, the traffic gaps, notes for people, how far the data
    reaches, and — when the report's bucket is cut short — the previous and last year's buckets cut to as many days."""

    table: pd.DataFrame
    gaps: pd.DataFrame
    notes: list[str]
    data_until: dt.date | None
    same_days: dict[str, pd.Series] = field(default_factory=dict)


def _buckets(src: Source, period: str, first: dt.date, last_bucket: dt.date, until: dt.date, platform: str,
             repurchase_days: int, also: dt.date | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Order and traffic measures and their rates per bucket in [first, last_bucket] (and the bucket starting on
    `also`), counting days up to `until`."""
    orders = order_metrics(src, period, first, last_bucket, platform, until=until, repurchase_days=repurchase_days,
                           also=also)
    if src.has("traffic_daily"):
        traffic, gaps = daily_traffic(src, min(first, also or first), until, platform)
        traffic["bucket"] = traffic["date"].dt.date.map(lambda d: bucket_start(d, period))
        per_bucket = traffic.groupby("bucket")[TRAFFIC].sum(min_count=1).reset_index()  # no data stays empty
        wanted = per_bucket["bucket"].between(first, last_bucket) | (per_bucket["bucket"] == also)
        per_bucket = per_bucket[wanted]
    else:
        per_bucket, gaps = pd.DataFrame(columns=["bucket"] + TRAFFIC), pd.DataFrame(columns=["platform", "date"])
    df = orders.merge(per_bucket, on="bucket", how="outer").sort_values("bucket").reset_index(drop=True)
    sold_nothing = df["gmv"].isna() & df["uv"].notna()  # visitors but no paid order: zero sales, not missing data
    for column in ("gmv", "orders", "buyers", "day_buyers", "new_buyers", "returning_buyers", "refund",
                   "fake_orders", "fake_amount"):
        df.loc[sold_nothing, column] = 0
    df["aov"] = df["gmv"] / df["buyers"].where(df["buyers"] > 0)
    df["conversion"] = df["day_buyers"] / df["uv"]
    df["bounce_rate"] = df["bounce_uv"] / df["uv"]
    df["repeat_rate"] = 1 - df["new_buyers"] / df["buyers"].where(df["buyers"] > 0)
    df["repurchase_rate"] = df["returning_buyers"] / df["buyers"].where(df["buyers"] > 0)
    df["refund_rate"] = df["refund"] / df["gmv"].where(df["gmv"] > 0)
    df["search_share"] = df["search_uv"] / df["uv"]
    df["live_rate"] = df["live_interactions"] / df["live_uv"]
    return df, gaps


def series(src: Source, period: str, report_date: dt.date, history: int, platform: str = "全部",
           annual_target: float = 0.0, platform_targets: str = "", repurchase_days: int = 90) -> Kpis:
    """KPI table: one row per bucket for `history` buckets ending with the report's, plus last year's buckets.

    Days after the report date, or after the last day the data reaches, are not counted; a bucket cut short is
    compared with the same number of days of the previous bucket and of last year's. Definitions: `DEFINITIONS`.
    """
    src.check("orders")
    current, previous, last_year = compared_buckets(period, report_date)
    first = shift(current, period, -(history - 1))
    first_ly = bucket_start(year_before(first), period)
    until = data_quality.data_until(src, platform)
    end_day = min(shift(current, period, 1) - dt.timedelta(days=1), report_date, until or report_date)
    # the trend's buckets and the one a year before the report's (other buckets of last year are never shown)
    df, gaps = _buckets(src, period, first, current, end_day, platform, repurchase_days, also=last_year)
    last_days = df["bucket"].map(lambda b: min(shift(b, period, 1) - dt.timedelta(days=1), end_day))
    df["days"] = [(e - b).days + 1 for b, e in zip(df["bucket"], last_days)]  # fewer in a bucket cut short
    df["period_share"] = df["days"] / df["bucket"].map(lambda b: (shift(b, period, 1) - b).days)
    target = annual_target if platform == "全部" else parse_targets(platform_targets).get(platform)
    shown = df["bucket"] >= first  # last year's buckets are only compared, their targets are not shown
    if target and shown.any():
        years = sorted({d.year for b, e in zip(df["bucket"][shown], last_days[shown]) for d in (b, e)})
        per_day, split = daily_targets(src, platform, target, sorted(set(years) | {b.year for b in df["bucket"]}))
        split = "；".join(part for part in split.split("；") if int(part[:4]) in years)
        split += "（每年用同一个年度目标）" if len(years) > 1 else ""
        df["target"] = [per_day[pd.Timestamp(b):pd.Timestamp(e)].sum() for b, e in zip(df["bucket"], last_days)]
    else:
        df["target"], split = float("nan"), ("未设置年度目标" if platform == "全部" else
                                             f"未设置平台 {platform} 的年度目标（platform_targets），不计算达成率")
    df["attainment"] = df["gmv"] / df["target"]
    df["period"] = df["bucket"].map(lambda b: label(b, period))
    days = (end_day - current).days + 1
    same_days = {}
    if 0 < days < (shift(current, period, 1) - current).days:  # cut short: compare as many days of the others
        for name, start in (("previous", previous), ("last_year", last_year)):
            rows, _ = _buckets(src, period, start, start, start + dt.timedelta(days=days - 1), platform, repurchase_days)
            if len(rows):
                same_days[name] = rows.iloc[0]
    notes = [split]
    if until and until < report_date:
        notes.append(f"数据只到 {until}，之后的日子不计入")
    where, args = _platform_filter(platform)
    since = src.sql(f"SELECT min(CAST(pay_time AS DATE)) FROM paid_orders WHERE true{where}", args).iloc[0, 0]
    if pd.notna(since) and pd.Timestamp(since).date() > first - dt.timedelta(days=repurchase_days):
        notes.append(f"订单数据从 {pd.Timestamp(since).date()} 开始：更早的购买看不到，最初几期的老客占比和复购率偏低")
    return Kpis(df, gaps[gaps["date"].between(first_ly, end_day)] if len(gaps) else gaps, notes, until, same_days)


def trend(kpis: Kpis, period: str, report_date: dt.date, history: int) -> pd.DataFrame:
    """The last `history` buckets up to the report's (for charts and the trend table)."""
    current = bucket_start(report_date, period)
    first = shift(current, period, -(history - 1))
    table = kpis.table
    return table[(table["bucket"] >= first) & (table["bucket"] <= current)].reset_index(drop=True)


def compared_buckets(period: str, report_date: dt.date) -> tuple[dt.date, dt.date, dt.date]:
    """The report's bucket, the previous one (环比) and the one a year before (同比: same weekday for days and weeks)."""
    current = bucket_start(report_date, period)
    last_year = shift(current, period, -12) if PERIODS[period] == "month" else bucket_start(year_before(current), period)
    return current, shift(current, period, -1), last_year


def comparison(kpis: Kpis, period: str, report_date: dt.date) -> pd.DataFrame:
    """Current bucket vs previous (环比) and same bucket last year (同比), one row per metric; a current bucket cut
    short is compared with as many days of the other two."""
    current, previous, last_year = compared_buckets(period, report_date)
    rows = kpis.table.set_index("bucket")

    def pick(b, name):
        if name in kpis.same_days:
            return kpis.same_days[name]
        return rows.loc[b] if b in rows.index else pd.Series(dtype="float64")
    cur, prev, ly = pick(current, ""), pick(previous, "previous"), pick(last_year, "last_year")

    def values(row):
        return pd.to_numeric(pd.Series([row.get(k) for k in COMPARE], dtype="object"), errors="coerce")
    out = pd.DataFrame({"metric": list(COMPARE.values()), "current": values(cur), "previous": values(prev),
                        "last_year": values(ly)})
    out["mom"] = out["current"] / out["previous"].where(out["previous"] != 0) - 1  # no change against nothing
    out["yoy"] = out["current"] / out["last_year"].where(out["last_year"] != 0) - 1
    out["key"] = list(COMPARE)
    return out


def comparison_table(comp: pd.DataFrame) -> pd.DataFrame:
    """The comparison for people: numbers (each row in its own format: money, rate or count) and signed changes."""
    formats = ["money" if k in MONEY else "pct" if k in RATES else "count" for k in comp["key"]]
    return comp[["metric", "current", "previous", "mom", "last_year", "yoy"]].assign(format=formats)


def comparison_note(kpis: Kpis, period: str, report_date: dt.date) -> str:
    """Which buckets 环比 and 同比 compare with, named (and how many of their days, when the current one is cut short)."""
    current, previous, last_year = compared_buckets(period, report_date)
    weekday = "一二三四五六日"[last_year.weekday()]
    same = f"（去年同一个星期{weekday}）" if PERIODS[period] == "day" else ""
    note = f"环比对比 {label(previous, period)}，同比对比 {label(last_year, period)}{same}"
    if kpis.same_days:
        days = int(kpis.table.set_index("bucket").loc[current, "days"])
        note += f"；本期只有前 {days} 天，上期和去年同期也只取前 {days} 天"
    return note


def funnel_stages(kpis: Kpis, period: str, report_date: dt.date) -> tuple[list[str], list[float]]:
    """Browse → add-to-cart → order → pay for the report's bucket (zeros where there is no data)."""
    rows = kpis.table.set_index("bucket")
    key = bucket_start(report_date, period)
    row = rows.loc[key] if key in rows.index else pd.Series(dtype="float64")
    return ["访客", "加购", "下单买家", "支付买家"], [_number(row.get(k)) or 0.0 for k in ("uv", "cart_uv", "order_buyers", "buyers")]


def refunds_by_platform(src: Source, period: str, report_date: dt.date, platform: str = "全部") -> pd.DataFrame:
    """For the report's bucket (days up to the report date): GMV, refunds and refund rate per platform, and in total."""
    start = bucket_start(report_date, period)
    end = min(shift(start, period, 1) - dt.timedelta(days=1), report_date)
    where, args = _platform_filter(platform)
    df = src.sql(f"""
        SELECT platform, round(sum(amount), 2) AS gmv, round(sum(coalesce(refund_amount, 0)), 2) AS refund
        FROM paid_orders WHERE CAST(pay_time AS DATE) BETWEEN ? AND ?{where} GROUP BY platform ORDER BY gmv DESC""",
                 [start, end] + args)
    if len(df) > 1:
        df = pd.concat([df, pd.DataFrame([{"platform": "合计", "gmv": df["gmv"].sum(), "refund": df["refund"].sum()}])],
                       ignore_index=True)
    return df.assign(refund_rate=df["refund"] / df["gmv"].where(df["gmv"] > 0))


def _number(v) -> float | None:
    """A plain float, or None for missing values (NaN, NA, None)."""
    return None if v is None or pd.isna(v) else float(v)


def headline(kpis: Kpis, comp: pd.DataFrame, period: str, report_date: dt.date) -> tuple[dict, dict[str, str]]:
    """The current bucket's headline metrics (None where missing) and their formatted cards."""
    cur = {k: _number(v) for k, v in zip(comp["key"], comp["current"])}
    metrics = {k: cur[k] for k in ("gmv", "buyers", "conversion", "aov", "refund", "refund_rate", "repurchase_rate")}
    start = bucket_start(report_date, period)
    end = shift(start, period, 1) - dt.timedelta(days=1)
    counted = min(end, report_date, kpis.data_until or report_date)
    span = f"{start:%m-%d} 至 {counted:%m-%d}" + ("（本期未结束）" if report_date < end else "") + \
        ("（之后没有数据）" if counted < min(end, report_date) else "")
    cards = {"统计区间": span if PERIODS[period] != "day" else f"{report_date:%Y-%m-%d}", "成交金额": report.money(cur["gmv"]),
             "支付买家数": report.count(cur["buyers"]), "客单价": report.money(cur["aov"]),
             "支付转化率": report.pct(cur["conversion"]), "访客数": report.count(cur["uv"]),
             "新客数": report.count(cur["new_buyers"]), "复购率": report.pct(cur["repurchase_rate"]),
             "退款率": report.pct(cur["refund_rate"])}
    return metrics, cards


def _drop_excuse(period: str, previous: dt.date, current: dt.date, end_day: dt.date, yoy: float | None,
                 healthy_yoy: float) -> str:
    """Why a fall against the previous bucket is not an alarm: the previous one held a big promotion that the
    current one does not, or the year-on-year change is healthy; '' when neither."""
    reasons = []
    before = calendar.promotions(previous, shift(previous, period, 1) - dt.timedelta(days=1))
    now = {p.name for p in calendar.promotions(current, end_day)}
    over = [p for p in before if p.name not in now or p.end < current]
    if over:
        reasons.append("上期含" + "、".join(p.describe() for p in over) + "，本期是大促后的回落")
    if yoy is not None and yoy >= healthy_yoy:
        reasons.append(f"同比 {yoy * 100:+.1f}%（不低于同比健康线 {healthy_yoy * 100:+.0f}%）")
    return "；".join(reasons)


def findings(kpis: Kpis, period: str, report_date: dt.date, *, max_gmv_drop: float, healthy_yoy: float,
             min_search_share: float, min_live_rate: float, min_attainment: float, max_refund_rate: float) -> list[Flag]:
    """Red lines and warnings for the report's bucket."""
    current, prev_key, last_year = compared_buckets(period, report_date)
    rows = kpis.table.set_index("bucket")
    out = data_quality.stale_data(kpis.data_until, report_date)
    if current not in rows.index or pd.isna(rows.loc[current].get("gmv")):
        return out + [make("kpi.no_data", "high", "数据分析",
                           f"{label(current, period)} 没有已付款订单，也没有流量数据：请检查数据源是否已更新")]
    cur = rows.loc[current]
    name = label(current, period)
    # a bucket cut short is compared with as many days of the previous one (and of last year's)
    prev = kpis.same_days.get("previous", rows.loc[prev_key] if prev_key in rows.index else None)
    ly = kpis.same_days.get("last_year", rows.loc[last_year] if last_year in rows.index else None)
    baseline = (_number(prev["gmv"]) or 0) if prev is not None else 0
    if baseline > 0 and cur["gmv"] / baseline - 1 < -max_gmv_drop:
        partial = f"（本期前 {cur['days']} 天，与上期前 {cur['days']} 天对比）" if kpis.same_days else ""
        drop = f"{name} 成交金额 ¥{cur['gmv']:,.0f}，环比下滑 {(1 - cur['gmv'] / baseline) * 100:.1f}%{partial}（预警线 {max_gmv_drop * 100:.0f}%）"
        ly_gmv = _number(ly["gmv"]) if ly is not None else None
        yoy = cur["gmv"] / ly_gmv - 1 if ly_gmv else None
        end_day = current + dt.timedelta(days=int(cur["days"]) - 1)
        excuse = _drop_excuse(period, prev_key, current, end_day, yoy, healthy_yoy)
        out.append(make("kpi.gmv_drop", "low", "运营主管", f"{drop}，但{excuse}：不作预警") if excuse else
                   make("kpi.gmv_drop", "high", "运营主管", f"{drop}：请排查流量、转化与活动节奏"))
    if pd.notna(cur.get("attainment")) and cur["attainment"] < min_attainment:
        out.append(make("kpi.target", "medium", "运营主管",
                        f"{name} GMV 目标达成率 {cur['attainment'] * 100:.1f}%（目标 ¥{cur['target']:,.0f}），低于 {min_attainment * 100:.0f}%"))
    if pd.notna(cur.get("refund_rate")) and cur["refund_rate"] > max_refund_rate:
        out.append(make("kpi.refund_rate", "medium", "客服/运营",
                        f"{name} 退款率 {cur['refund_rate'] * 100:.1f}%（退款 ¥{cur['refund']:,.2f}），高于 {max_refund_rate * 100:.0f}%："
                        "按退款原因排查商品质量、描述与物流"))
    if pd.notna(cur.get("search_share")) and cur["search_share"] < min_search_share:
        out.append(make("kpi.search_share", "medium", "运营",
                        f"{name} 搜索流量占比 {cur['search_share'] * 100:.1f}%，低于红线 {min_search_share * 100:.0f}%："
                        "检查关键词排名与标题"))
    if pd.notna(cur.get("live_rate")) and cur["live_rate"] < min_live_rate:
        out.append(make("kpi.live_rate", "medium", "内容运营",
                        f"{name} 直播互动率 {cur['live_rate'] * 100:.1f}%，低于红线 {min_live_rate * 100:.0f}%：调整直播话术与福利节奏"))
    gaps = kpis.gaps
    if len(gaps):
        out.append(make("kpi.traffic_gaps", "low", "数据分析",
                        f"流量数据缺少 {len(gaps)} 个平台日（前后都有数据的已插值补齐，其余留空）：请补导生意参谋数据", gaps))
    fake = _number(cur.get("fake_orders")) or 0
    if fake:
        out.append(make("kpi.fake_orders", "low", "数据分析",
                        f"{name} 已剔除 {fake:.0f} 笔刷单订单（¥{_number(cur.get('fake_amount')) or 0:,.2f}），未计入成交"))
    return out
