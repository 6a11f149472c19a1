"""Stock watch (库存预警与滞销): days of cover, safety stock and reorder points, the replenish list, slow movers,
oversell risk (platform stock above the warehouse's) and the stockout rate, computed in DuckDB over the source."""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import pandas as pd

from ..data.tables import PLATFORMS
from ..errors import DataError
from ..flags import Flag, make
from ..sources import Source
from . import calendar, catalogue, lead_time

# Chinese labels of the headline metrics in result.json (what delivered report cards show), with their number
# format (`report.FORMATS`) where the name alone would not tell it
METRICS = {"day": "库存日期", "skus": "在售 SKU", "out_of_stock": "已断货 SKU", "replenish": "需补货 SKU",
           "order_units": "建议补货件数", "slow_movers": "滞销 SKU", "oversell": "超卖风险 SKU",
           "stockout_rate": ("断货率", "pct"), "stock_units": "库存件数", "in_transit_units": "在途件数"}

LABELS = {
    "stock": "仓库库存", "platform_stock": "平台库存", "in_transit": "在途数量", "avg_daily_sales": "日均销量",
    "sellable_days": "有货天数", "cover_days": "可售天数", "supplier_id": "供应商ID", "lead_time_days": "补货提前期（天）",
    "lead_basis": "提前期依据", "safety_stock": "安全库存", "reorder_point": "补货点", "order_qty": "建议补货量",
    "status": "状态", "stockout_days": "断货天数", "live_days": "在售天数", "last_sale": "最近成交日期",
    "days_without_sale": "无销量天数", "cost": "成本价", "stock_cost": "库存成本", "suggestion": "建议",
    "excess": "超出件数", "since": "超卖起始日期", "days": "持续天数", "skus": "在售 SKU 数",
    "out_skus": "断货 SKU 数", "stockout_rate": "断货率", "name": "商品名称",
}
# a SKU's states (it may be in several), the replenish list's urgencies first
OUT, BELOW_SAFETY, BELOW_ROP, COVERED, SLOW, OVERSELL, DORMANT, OK = (
    "已断货", "低于安全库存", "低于补货点", "在途可补足", "滞销", "超卖风险", "长期无货无销量", "正常")
URGENCY = {OUT: 0, BELOW_SAFETY: 1, BELOW_ROP: 2}
ORDER = {OUT: 0, BELOW_SAFETY: 1, BELOW_ROP: 2, OVERSELL: 3, SLOW: 4, COVERED: 5, DORMANT: 6, OK: 7}  # row order
MAX_LOOKBACK_DAYS = 366  # skipping big promotions never takes the sales window further back than this
SHOP = ""  # the sales window of SKUs without a platform: decided on the whole shop's sales
STOCKOUT_NOTE = ("断货率 = 统计天数内的断货 SKU·天数 ÷ 在售的 SKU·天数。某 SKU 某天有库存快照即算在售（长期无货无销量、多半已停售的"
                 "商品不计）；断货日 = 开盘（前一天收盘）和当天收盘库存都为 0 的在售日，整天无货可卖；当天卖空的日子开盘有货，"
                 "算有货日不算断货日（没有前一天快照时，收盘为 0 且当天没有成交才算断货）；"
                 "行业参考：智能补货可把断货率控制在 0.3% 以内")
PLAN_NOTE = ("日均销量 = 窗口内有货日的销量 ÷ 有货天数；有货日 = 不是断货日的日子（当天卖空的也算：它开盘有货），"
             "与断货率用同一个断货日定义，每个在售日要么是有货日、要么是断货日；断货日的成交（仓库无货时接的单，如预售、超卖）"
             "不计入日均，断货不会压低日均；"
             "可售天数 = 仓库库存 ÷ 日均销量；安全库存 = 日均销量 × 补货提前期 × 安全系数；"
             "补货点 = 日均销量 × 补货提前期 + 安全库存")
ORDER_NOTE = ("库存 + 在途 ≤ 补货点时建议补货，补到 补货点 + 日均销量 × 补货覆盖天数（建议补货量已扣除在途数量）；"
              "需求预测与补货（每周）用同一补货提前期，但按预测销量、补货周期和服务水平计算补货量，两者不同来自销量口径，"
              "不是提前期")


def snapshot_day(src: Source, as_of: dt.date) -> dt.date:
    """The latest inventory snapshot day on or before `as_of` (DataError in Chinese when there is none)."""
    src.check("inventory")
    src.check("orders")
    first, last = src.sql("SELECT min(date), max(date) FROM inventory").iloc[0]
    found = src.sql("SELECT max(date) FROM inventory WHERE date <= ?", [as_of]).iloc[0, 0]
    if pd.isna(found):
        span = f"现有库存快照从 {pd.Timestamp(first):%Y-%m-%d} 到 {pd.Timestamp(last):%Y-%m-%d}" if pd.notna(first) \
            else "inventory 表是空的"
        raise DataError(f"参考日期 {as_of} 当天及之前没有库存快照（{span}）：请检查参考日期或导入库存数据")
    return pd.Timestamp(found).date()


def sales_window(day: dt.date, days: int, skip_promotions: bool, only: list[calendar.Promotion] | None = None,
                 ) -> tuple[list[dt.date], list[calendar.Promotion]]:
    """The days whose sales give the average daily sales: the `days` days ending with `day`; with `skip_promotions`,
    days of big promotions that ended before `day` (those of `only`, when given) are left out and the window reaches
    further back to keep `days` days (at most a year back). A promotion still running on `day` counts: its pace is
    what the stock must meet."""
    if not skip_promotions:
        return [day - dt.timedelta(days=i) for i in range(days)][::-1], []
    promos = [p for p in calendar.promotions(day - dt.timedelta(days=MAX_LOOKBACK_DAYS), day) if p.end < day]
    if only is not None:
        promos = [p for p in promos if p in only]
    chosen, skipped, d = [], set(), day
    while len(chosen) < days and (day - d).days < MAX_LOOKBACK_DAYS:
        hit = next((p for p in promos if p.start <= d <= p.end), None)
        if hit is None:
            chosen.append(d)
        else:
            skipped.add(hit)
        d -= dt.timedelta(days=1)
    return chosen[::-1], sorted(skipped, key=lambda p: p.start)


@dataclass
class SalesWindows:
    """The days whose sales give the average daily sales, per platform (`SHOP` for SKUs without one), and for each
    ended big promotion in reach how each platform's daily units in it compare with its ordinary days (`uplift`:
    platform, promotion, ratio, skipped)."""

    days: dict[str, list[dt.date]]
    uplift: pd.DataFrame
    min_uplift: float
    skip_promotions: bool = True

    @property
    def first(self) -> dt.date:
        """The earliest day of any platform's window."""
        return min(d[0] for d in self.days.values())

    def frame(self) -> pd.DataFrame:
        """(platform, d) for every day of every platform's window, as the overview's SQL joins it."""
        return pd.DataFrame([(p, pd.Timestamp(d)) for p, days in self.days.items() for d in days],
                            columns=["platform", "d"])


def sales_windows(src: Source, day: dt.date, days: int, skip_promotions: bool, min_uplift: float) -> SalesWindows:
    """Each platform's sales window (`sales_window`): an ended big promotion is left out only for the platforms whose
    sales show it — their average daily units during it at least `min_uplift` times those of their ordinary days (the
    `days` days the window holds when every promotion is left out). A platform that did not take part (no uplift)
    keeps those days: they are ordinary days for it. SKUs without a platform follow the whole shop's sales."""
    plain, promos = sales_window(day, days, skip_promotions)
    columns = ["platform", "promotion", "ratio", "skipped"]
    if not promos:
        return SalesWindows({p: plain for p in [*PLATFORMS, SHOP]}, pd.DataFrame(columns=columns), min_uplift,
                            skip_promotions)
    start = min(promos[0].start, plain[0])
    units = src.sql("""
        SELECT platform, CAST(pay_time AS DATE) AS d, sum(quantity) AS units FROM paid_orders
        WHERE pay_time >= CAST(?::DATE AS TIMESTAMPTZ) AND pay_time < CAST(?::DATE + 1 AS TIMESTAMPTZ) GROUP BY ALL""",
                    [start, day])
    units["d"] = pd.to_datetime(units["d"]).dt.date
    by_day = units.pivot_table(index="d", columns="platform", values="units", aggfunc="sum", fill_value=0)
    by_day = by_day.reindex(columns=list(PLATFORMS), fill_value=0)
    by_day[SHOP] = by_day.sum(axis=1)
    base = by_day.reindex(plain, fill_value=0).mean()
    rows, chosen = [], {}
    for platform in by_day.columns:
        ran = []
        for promo in promos:
            span = [promo.start + dt.timedelta(days=i) for i in range((promo.end - promo.start).days + 1)]
            during = by_day[platform].reindex(span, fill_value=0).mean()
            ratio = during / base[platform] if base[platform] > 0 else (float("inf") if during > 0 else float("nan"))
            rows.append((platform, promo, ratio, bool(ratio >= min_uplift)))
            if ratio >= min_uplift:
                ran.append(promo)
        chosen[platform] = sales_window(day, days, True, only=ran)[0]
    return SalesWindows(chosen, pd.DataFrame(rows, columns=columns), min_uplift, skip_promotions)


def window_note(windows: SalesWindows, view: pd.DataFrame | None = None) -> str:
    """Which days the average daily sales come from, per platform (of the SKUs of `view`, when given), and which big
    promotions each platform's window leaves out and why, in Chinese."""
    if view is None:
        shown = list(PLATFORMS)
    else:
        shown = [p for p in PLATFORMS if p in set(view["platform"].dropna())] + ([SHOP] if view["platform"].isna().any()
                                                                                 else [])
    named = {p: p or "平台未知的商品（按全店销量）" for p in shown}
    groups: dict[tuple, list[str]] = {}
    for p in shown:
        days = windows.days[p]
        groups.setdefault((days[0], days[-1], len(days)), []).append(named[p])
    spans = [(f"{'、'.join(ps)}：", f"{a} 至 {b} 中的 {n} 天") for (a, b, n), ps in groups.items()]
    if not spans:
        return ""
    text = ("日均销量按各平台的销量窗口计算（" + "；".join(a + b for a, b in spans) + "）") if len(spans) > 1 else \
        f"日均销量按 {spans[0][1]}计算"
    if not windows.skip_promotions or windows.uplift.empty:
        return text
    lines = [text]
    for promo, rows in windows.uplift.groupby("promotion", sort=False):
        rows = rows[rows["platform"].isin(shown)]
        ran, left = rows[rows["skipped"]], rows[~rows["skipped"]]

        def times(r) -> str:
            return "无成交" if pd.isna(r.ratio) else "只有大促期间有成交" if r.ratio == float("inf") else f"{r.ratio:.1f} 倍"
        if len(ran):
            lines.append(f"{promo.describe()}期间 " + "、".join(f"{named[r.platform]} 的日均销量是日常的 {times(r)}"
                                                             for r in ran.itertuples())
                         + f"（≥ {windows.min_uplift:g} 倍，算参加了大促）：剔除大促期间，大促销量不代表日常销售速度")
        if len(left):
            lines.append("、".join(f"{named[r.platform]}（{times(r)}）" for r in left.itertuples())
                         + f" 在{promo.describe()}期间的日均销量不到日常的 {windows.min_uplift:g} 倍，视为没有参加该大促："
                         "大促期间的日子照常计入日均销量")
    return "\n".join(lines)


def plan_note(windows: SalesWindows, view: pd.DataFrame, history_days: int, min_orders: int) -> str:
    """The overview's definitions: the sales windows (`window_note`), days of cover, safety stock, reorder point and
    the lead time (`sops.lead_time`), in Chinese."""
    return "\n".join(filter(None, [window_note(windows, view), coverage_note(windows, view), PLAN_NOTE,
                                   lead_time.NOTE.format(history=history_days, orders=min_orders)]))


def coverage_note(windows: SalesWindows, view: pd.DataFrame) -> str:
    """When the sales windows of the platforms of `view` reach before the first inventory snapshot: how many days
    have no snapshot and are left out of the days in stock and the average, in Chinese ('' otherwise)."""
    first = view.attrs.get("first_snapshot")
    if first is None:
        return ""
    shown = [p for p in PLATFORMS if p in set(view["platform"].dropna())] + ([SHOP] if view["platform"].isna().any()
                                                                             else [])
    before = {p: sum(d < first for d in windows.days[p]) for p in shown}
    if not any(before.values()):
        return ""
    counts = sorted(set(before.values()))
    days = f"{counts[0]}" if len(counts) == 1 else "、".join(f"{p or '平台未知'} {n}" for p, n in before.items())
    return (f"库存快照从 {first} 开始：销量窗口中之前的 {days} 天没有快照，不知道是否有货，不计入有货天数，其销量也不计入日均销量"
            f"（日均销量按 {first} 起有快照的日子计算）")


def lead_times(src: Source, day: dt.date, *, default_days: int, min_orders: int, history_days: int) -> pd.DataFrame:
    """Per SKU listed on `day`: its latest supplier and its replenishment lead time in whole days, as demand_forecast
    takes it (`sops.lead_time`: the median of its received purchase orders, else its supplier's, else `default_days`;
    longer across the 春节 shutdown); `lead_basis` says which."""
    listed = src.sql("SELECT DISTINCT sku FROM inventory WHERE date = ? ORDER BY sku", [day])["sku"]
    found = lead_time.lead_times(src, listed, day, default_days=default_days, min_orders=min_orders,
                                 history_days=history_days)
    return found.reset_index()[["sku", "supplier_id", "lead_time_days", "lead_basis"]]


# Each snapshot day of the SKUs of `{skus}` from $from: a stockout day (`out`) when the SKU started it (the day before's
# closing snapshot) and ended it at zero — nothing to sell all day; without the day before's snapshot, when it ended at
# zero without a sale. Every other day it had stock to sell (a day it sold out included): one definition for the
# stockout rate and for the days the average daily sales are taken over. A day without a snapshot (before the first
# one, say) is neither: its stock is not known, so neither it nor its sales count in the average.
_STATES = """
    snaps AS (SELECT sku, date AS d, stock FROM inventory
              WHERE date BETWEEN $from::DATE - 1 AND $day::DATE AND sku IN ({skus})),
    sold AS (SELECT sku, CAST(pay_time AS DATE) AS d, sum(quantity) AS units FROM paid_orders
             WHERE pay_time >= CAST($from::DATE AS TIMESTAMPTZ) AND pay_time < CAST($day::DATE + 1 AS TIMESTAMPTZ)
               AND sku IN ({skus}) GROUP BY 1, 2),
    states AS (SELECT s.sku, s.d, s.stock <= 0 AND (b.stock <= 0 OR (b.stock IS NULL AND coalesce(y.units, 0) = 0)) AS out
               FROM snaps s LEFT JOIN snaps b ON b.sku = s.sku AND b.d = s.d - 1
               LEFT JOIN sold y ON y.sku = s.sku AND y.d = s.d WHERE s.d >= $from::DATE)"""
_OVERVIEW = """
    WITH live AS (SELECT sku, stock, platform_stock, in_transit FROM inventory WHERE date = $day::DATE),
    sales AS (SELECT sku, CAST(min(pay_time) AS DATE) AS first_sale, CAST(max(pay_time) AS DATE) AS last_sale,
                     mode(platform) AS platform
              FROM paid_orders WHERE pay_time < CAST($day::DATE + 1 AS TIMESTAMPTZ) AND sku IN (SELECT sku FROM live)
              GROUP BY sku),
    plat AS (SELECT l.sku, coalesce(p.platform, a.platform) AS platform
             FROM live l LEFT JOIN sales a USING (sku) LEFT JOIN {products} p USING (sku)),""" + _STATES.format(
    skus="SELECT sku FROM live") + """,
    since AS (SELECT l.sku, least(any_value(p.launch_date), min(s.d), any_value(a.first_sale)) AS since
              FROM live l LEFT JOIN (SELECT sku, min(date) AS d FROM inventory WHERE date <= $day::DATE GROUP BY sku) s
                   USING (sku) LEFT JOIN sales a USING (sku) LEFT JOIN {products} p USING (sku)
              GROUP BY l.sku),
    grid AS (SELECT pl.sku, CAST(w.d AS DATE) AS d FROM plat pl JOIN _window_days w ON w.platform = coalesce(pl.platform, '')),
    rate AS (SELECT g.sku, CAST(coalesce(sum(y.units) FILTER (WHERE NOT st.out), 0) AS BIGINT) AS units,
                    count(*) FILTER (WHERE g.d >= coalesce(si.since, g.d) AND NOT st.out) AS sellable_days
             FROM grid g LEFT JOIN since si USING (sku) LEFT JOIN states st ON st.sku = g.sku AND st.d = g.d
             LEFT JOIN sold y ON y.sku = g.sku AND y.d = g.d GROUP BY g.sku),
    outs AS (SELECT sku, count(*) FILTER (WHERE out) AS stockout_days, count(*) AS live_days
             FROM states WHERE d >= $out_first::DATE GROUP BY sku)
    SELECT l.sku, p.name, pl.platform, l.stock, l.platform_stock,
           CAST(coalesce(l.in_transit, t.po_transit, 0) AS BIGINT) AS in_transit,
           r.units, r.sellable_days, o.stockout_days, o.live_days, a.last_sale, si.since, p.cost
    FROM live l LEFT JOIN plat pl USING (sku) LEFT JOIN rate r USING (sku) LEFT JOIN outs o USING (sku)
    LEFT JOIN sales a USING (sku) LEFT JOIN since si USING (sku) LEFT JOIN {transit} t USING (sku)
    LEFT JOIN {products} p USING (sku)
    ORDER BY l.sku"""
_NO_PRODUCTS = ("(SELECT NULL::VARCHAR AS sku, NULL::VARCHAR AS name, NULL::VARCHAR AS platform, NULL::DOUBLE AS cost, "
                "NULL::DATE AS launch_date WHERE false)")
_PO_TRANSIT = """(SELECT sku, sum(ordered_qty) AS po_transit FROM purchase_orders
                  WHERE order_date <= $day::DATE AND (received_date IS NULL OR received_date > $day::DATE) GROUP BY sku)"""
_NO_TRANSIT = "(SELECT NULL::VARCHAR AS sku, NULL::BIGINT AS po_transit WHERE false)"


def overview(src: Source, day: dt.date, windows: SalesWindows, leads: pd.DataFrame, *, platform: str = "全部",
             default_lead_days: int, safety_factor: float, order_cover_days: int, stockout_days: int, slow_days: int,
             oversell_tolerance: int) -> pd.DataFrame:
    """One row per SKU with a snapshot on `day` (listed that day; of `platform` unless 全部): stock, platform stock,
    in transit (the snapshot's, else open purchase orders), average daily sales over the days of its platform's sales
    window (`windows`) it had stock, days of cover, lead time, safety stock, reorder point, suggested order, stockout
    days in the last `stockout_days` days, last sale, days without a sale, and its states (`status`, most urgent
    first). A stockout day is one that started and ended at zero (`_STATES`); every other snapshot day is a day in
    stock; days without a snapshot do not count. attrs["first_snapshot"]: the day of the first snapshot."""
    query = _OVERVIEW.format(products=catalogue.by_sku(src, "name, platform, cost, launch_date")
                             if src.has("products") else _NO_PRODUCTS,
                             transit=_PO_TRANSIT if src.has("purchase_orders") else _NO_TRANSIT)
    out_first = day - dt.timedelta(days=stockout_days - 1)
    con = src.connect()
    con.register("_window_days", windows.frame())
    try:
        df = src.sql(query, {"day": day, "from": min(windows.first, out_first), "out_first": out_first})
    finally:
        con.unregister("_window_days")
    if platform != "全部":
        known = "、".join(sorted(df["platform"].dropna().unique())) or "无"
        df = df[df["platform"] == platform].reset_index(drop=True)
        if df.empty:
            raise DataError(f"{day} 的库存快照中没有平台 {platform} 的商品（有库存快照的平台：{known}）：请换一个平台或选“全部”")
    df = df.merge(leads, on="sku", how="left")
    df["lead_time_days"] = df["lead_time_days"].astype("float64").fillna(float(default_lead_days))
    df["lead_basis"] = df["lead_basis"].fillna(lead_time.DEFAULT)
    avg = df["units"] / df["sellable_days"].where(df["sellable_days"] > 0)
    df["avg_daily_sales"] = avg.round(2)
    df["cover_days"] = (df["stock"].clip(lower=0) / avg.where(avg > 0)).round(1)
    lead_sales = avg * df["lead_time_days"]
    df["safety_stock"] = _ceil(lead_sales * safety_factor)
    df["reorder_point"] = _ceil(lead_sales) + df["safety_stock"]
    position = df["stock"] + df["in_transit"]
    needs = (position <= df["reorder_point"]) & (avg > 0)
    wanted = df["reorder_point"] + avg * order_cover_days - position
    df["order_qty"] = _ceil(wanted.where(needs, 0.0).where(avg.notna())).astype("Int64")
    for col in ("stockout_days", "live_days"):
        df[col] = df[col].fillna(0).astype("int64")
    for col in ("last_sale", "since"):
        df[col] = pd.to_datetime(df[col])
    df["days_without_sale"] = (pd.Timestamp(day) - df["last_sale"].fillna(df["since"])).dt.days.astype("Int64")
    quiet = (df["days_without_sale"] >= slow_days).fillna(False)
    slow, dormant = quiet & (df["stock"] > 0), quiet & (df["stock"] <= 0)  # dormant: no stock, no sale — discontinued?
    df["order_qty"] = df["order_qty"].mask(dormant)  # restock or delist is for people to decide
    oversold = df["platform_stock"].notna() & (df["platform_stock"] - df["stock"] > oversell_tolerance)
    df["status"] = [_states(*row) for row in zip(df["stock"], df["safety_stock"], df["reorder_point"], position,
                                                 needs, slow, dormant, oversold.fillna(False))]
    rank = df["status"].map(lambda s: min(ORDER[x] for x in s.split("、")))
    df = df.assign(_rank=rank).sort_values(["_rank", "cover_days", "sku"], na_position="last", kind="stable")
    first = src.sql("SELECT min(date) FROM inventory").iloc[0, 0]
    df = df[["sku", "name", "platform", "stock", "platform_stock", "in_transit", "avg_daily_sales", "sellable_days",
               "cover_days", "supplier_id", "lead_time_days", "lead_basis", "safety_stock", "reorder_point",
               "order_qty", "stockout_days", "live_days", "last_sale", "days_without_sale", "cost",
               "status"]].reset_index(drop=True)
    df.attrs["first_snapshot"] = pd.Timestamp(first).date()
    return df


def _ceil(series: pd.Series) -> pd.Series:
    """Whole units, rounded up (missing stays missing; 2.0000001 from float noise is 2)."""
    return series.map(lambda v: v if pd.isna(v) else float(math.ceil(round(v, 6))))


def _states(stock, safety, rop, position, needs, slow, dormant, oversold) -> str:
    """The SKU's states, the most urgent stock state first, joined with 、."""
    found = []
    if dormant:
        found.append(DORMANT)
    elif stock <= 0:
        found.append(OUT)
    elif needs and pd.notna(safety) and stock < safety:
        found.append(BELOW_SAFETY)
    elif needs:
        found.append(BELOW_ROP)
    elif pd.notna(rop) and rop > 0 and stock <= rop < position:
        found.append(COVERED)
    if slow:
        found.append(SLOW)
    if oversold:
        found.append(OVERSELL)
    return "、".join(found) or OK


def replenish(view: pd.DataFrame) -> pd.DataFrame:
    """The SKUs to reorder — stock and in transit at or under the reorder point, and SKUs out of stock without a
    recent day in stock to estimate from — most urgent first (out of stock, under safety stock, under the reorder
    point), then the fewest days of cover."""
    unknown = (view["stock"] <= 0) & view["avg_daily_sales"].isna() & ~dormant(view)
    out = view[(view["order_qty"].fillna(0) > 0) | unknown]
    first = out["status"].str.split("、").str[0]
    out = out.assign(status=first.where(first.isin(list(URGENCY)), OUT),
                     _rank=first.map(URGENCY).fillna(0))
    out = out.sort_values(["_rank", "cover_days", "sku"], na_position="first", kind="stable")
    return out[["sku", "name", "platform", "supplier_id", "stock", "in_transit", "avg_daily_sales", "cover_days",
                "lead_time_days", "safety_stock", "reorder_point", "order_qty", "status"]].reset_index(drop=True)


def replenish_note(restock: pd.DataFrame) -> str:
    """The replenish list's definitions, or what an empty list means."""
    empty = "" if len(restock) else "今天没有需要补货的商品：所有在售商品的库存加在途都高于补货点。\n"
    unknown = restock["order_qty"].isna().sum() if len(restock) else 0
    guess = (f"\n{unknown} 个已断货商品在销量窗口内没有一天有货，无法估算日均销量和补货量：请按历史销量或活动计划人工确定"
             if unknown else "")
    return empty + ORDER_NOTE + guess


def slow_movers(view: pd.DataFrame, slow_days: int) -> pd.DataFrame:
    """SKUs holding stock without a sale for `slow_days` days or more (since launch for those never sold), the most
    money tied up first: candidates to delist or clear (下架/清仓)."""
    out = view[(view["days_without_sale"] >= slow_days).fillna(False) & (view["stock"] > 0)]
    out = out.assign(stock_cost=(out["stock"] * out["cost"]).round(2),
                     suggestion=["从未成交：先检查主图、价格和流量，仍无起色则下架" if pd.isna(last) else "清仓促销或下架"
                                 for last in out["last_sale"]])
    out = out.sort_values(["stock_cost", "days_without_sale"], ascending=False, na_position="last", kind="stable")
    return out[["sku", "name", "platform", "stock", "cost", "stock_cost", "last_sale", "days_without_sale",
                "suggestion"]].reset_index(drop=True)


def slow_note(slow: pd.DataFrame, slow_days: int) -> str:
    """What the slow-mover list holds, or that it is empty."""
    rule = f"有库存且连续 {slow_days} 天以上没有成交（从未成交的商品从上架或首次有库存记录起算）"
    return rule if len(slow) else f"没有滞销商品（{rule}）"


def oversell(src: Source, view: pd.DataFrame, day: dt.date, tolerance: int) -> pd.DataFrame:
    """SKUs whose platform stock exceeds the warehouse's by more than `tolerance` on `day`: by how much, and since
    which day it has been so (the first day of the current run of such snapshots)."""
    now = view[view["platform_stock"].notna() & (view["platform_stock"] - view["stock"] > tolerance)]
    columns = ["sku", "name", "platform", "stock", "platform_stock", "excess", "since", "days"]
    if now.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    con = src.connect()
    con.register("_oversold", now[["sku"]])
    try:
        runs = src.sql("""
            SELECT sku, max(date) FILTER (WHERE platform_stock IS NULL OR platform_stock - stock <= $tol) AS fine,
                   min(date) AS first FROM inventory WHERE date <= $day::DATE AND sku IN (SELECT sku FROM _oversold)
            GROUP BY sku""", {"tol": int(tolerance), "day": day})
    finally:
        con.unregister("_oversold")
    runs["since"] = (pd.to_datetime(runs["fine"]) + pd.Timedelta(days=1)).fillna(pd.to_datetime(runs["first"]))
    out = now.merge(runs[["sku", "since"]], on="sku", how="left")
    out["platform_stock"] = out["platform_stock"].astype("int64")
    out["excess"] = out["platform_stock"] - out["stock"]
    out["days"] = (pd.Timestamp(day) - out["since"]).dt.days + 1
    return out.sort_values(["excess", "sku"], ascending=[False, True])[columns].reset_index(drop=True)


def oversell_note(view: pd.DataFrame, over: pd.DataFrame) -> str:
    """What the oversell table checks and which SKUs it cannot check (no platform stock: not linked to the ERP)."""
    unlinked = view[view["platform_stock"].isna()]
    text = "平台库存（店铺后台显示可售）高于仓库可售库存时，买家可能拍下无货可发的订单" if len(over) else \
        "没有平台库存高于仓库库存的商品"
    if len(unlinked):
        plats = "、".join(sorted(unlinked["platform"].dropna().unique()))
        text += f"\n{len(unlinked)} 个商品没有平台库存数据（{plats or '平台未知'}，平台未与 ERP 对接），无法核对，请人工抽查"
    return text


def unchecked(view: pd.DataFrame) -> bool:
    """Whether no listed SKU has a platform stock to compare with (the oversell check could not run at all)."""
    return len(view) > 0 and view["platform_stock"].isna().all()


def dormant(view: pd.DataFrame) -> pd.Series:
    """SKUs with neither stock nor a sale for the slow-mover days: most likely discontinued, not out of stock."""
    return view["status"].str.startswith(DORMANT)


def stockout_rate(view: pd.DataFrame) -> float | None:
    """Stockout SKU-days (started and ended at zero) ÷ SKU-days listed over the stockout window, dormant SKUs left out
    (None without any listed day)."""
    active = view[~dormant(view)]
    live = int(active["live_days"].sum())
    return None if live == 0 else int(active["stockout_days"].sum()) / live


def daily_stockouts(src: Source, view: pd.DataFrame, day: dt.date, days: int) -> pd.DataFrame:
    """Per day of the `days` days ending with `day`: the SKUs of `view` (dormant ones left out) listed, those out of
    stock all day (a stockout day, `_STATES`), and the day's stockout rate."""
    con = src.connect()
    con.register("_skus", pd.DataFrame({"sku": view.loc[~dormant(view), "sku"].astype("str")}))
    try:
        df = src.sql("WITH " + _STATES.format(skus="SELECT sku FROM _skus") + """
            SELECT d AS date, count(*) AS skus, count(*) FILTER (WHERE out) AS out_skus FROM states
            GROUP BY d ORDER BY d""", {"from": day - dt.timedelta(days=days - 1), "day": day})
    finally:
        con.unregister("_skus")
    df["date"] = pd.to_datetime(df["date"])
    df["stockout_rate"] = df["out_skus"] / df["skus"]
    return df


def stockouts(view: pd.DataFrame) -> pd.DataFrame:
    """The SKUs that were out of stock on some day of the stockout window, the most days first, each with its own
    stockout rate (days at zero ÷ days listed)."""
    out = view[(view["stockout_days"] > 0) & ~dormant(view)]
    out = out.assign(stockout_rate=out["stockout_days"] / out["live_days"])
    out = out.sort_values(["stockout_days", "sku"], ascending=[False, True], kind="stable")
    return out[["sku", "name", "platform", "stockout_days", "live_days", "stockout_rate", "stock", "in_transit",
                "status"]].reset_index(drop=True)


def stockout_note(outs: pd.DataFrame, day: dt.date, days: int) -> str:
    """The stockout rate's definition, and how many of the `days` days the snapshots cover when they start later."""
    first = day - dt.timedelta(days=days - 1)
    covered = len(outs)
    if covered >= days:
        return STOCKOUT_NOTE
    since = f"库存快照从 {outs['date'].min():%Y-%m-%d} 开始" if covered else "统计天数内没有库存快照"
    return STOCKOUT_NOTE + f"\n{since}，断货率只统计了 {first} 至 {day} 中有快照的 {covered} 天"


def summary(view: pd.DataFrame, rate: float | None, day: dt.date, stockout_days: int) -> tuple[dict, dict[str, str]]:
    """The headline metrics (for result.json) and their cards."""
    metrics = {"day": day.isoformat(), "skus": int(len(view)),
               "out_of_stock": int(((view["stock"] <= 0) & ~dormant(view)).sum()),
               "dormant": int(dormant(view).sum()),
               "replenish": int((view["order_qty"].fillna(0) > 0).sum()),
               "order_units": int(view["order_qty"].fillna(0).sum()),
               "slow_movers": int(view["status"].str.contains(SLOW).sum()),
               "oversell": None if unchecked(view) else int(view["status"].str.contains(OVERSELL).sum()),
               "stockout_rate": None if rate is None else round(rate, 6),
               "stock_units": int(view["stock"].clip(lower=0).sum()), "in_transit_units": int(view["in_transit"].sum())}
    covered = min(stockout_days, int(view["live_days"].max()) if len(view) else 0)  # snapshots may start later
    cards = {"库存日期": f"{day}", "在售 SKU": f"{metrics['skus']:,}", "已断货": f"{metrics['out_of_stock']:,}",
             "需补货 SKU": f"{metrics['replenish']:,}（建议补 {metrics['order_units']:,} 件）",
             "滞销 SKU": f"{metrics['slow_movers']:,}",
             "超卖风险": "未核对" if metrics["oversell"] is None else f"{metrics['oversell']:,}",
             f"近 {covered} 天断货率": "—" if rate is None else f"{rate * 100:.2f}%"}
    return metrics, cards


def stale(day: dt.date, as_of: dt.date) -> list[Flag]:
    """A flag when the latest inventory snapshot is older than the reference day: the report is for that older day."""
    if day >= as_of:
        return []
    return [make("inventory.stale", "high", "数据分析",
                 f"库存快照只到 {day}，参考日期是 {as_of}：本报告按 {day} 的库存计算；请先导入最新的库存数据再安排补货")]


def stale_orders(src: Source, view: pd.DataFrame, day: dt.date) -> list[Flag]:
    """A flag naming each platform of the listed SKUs whose paid orders end before `day` (an export not imported
    yet): its SKUs' later days would count as days without sales, lowering their average and calling them slow.
    A platform with orders after `day` is not behind, even without an order on `day` itself (a quiet day)."""
    until = src.sql("SELECT platform, CAST(max(pay_time) AS DATE) AS until FROM paid_orders GROUP BY platform")
    until = dict(zip(until["platform"], pd.to_datetime(until["until"]).dt.date))
    behind = [(p, until.get(p)) for p in sorted(view["platform"].dropna().unique()) if until.get(p, dt.date.min) < day]
    if not behind:
        return []
    reach = "、".join(f"{p} 的订单只到 {d}" if d else f"{p} 没有订单" for p, d in behind)
    rows = view[view["platform"].isin([p for p, _ in behind])][["sku", "platform"]]
    return [make("data.stale", "high", "数据分析",
                 f"{reach}，库存日期是 {day}：之后的日子会被当作没有销量，日均销量偏低、可能误判滞销；"
                 "请先导入最新的订单再看补货和滞销", rows)]


def findings(view: pd.DataFrame, restock: pd.DataFrame, slow: pd.DataFrame, over: pd.DataFrame, rate: float | None,
             *, max_stockout_rate: float, stockout_days: int, slow_days: int) -> list[Flag]:
    """Flags: oversell risk, SKUs out of stock, SKUs to reorder, slow movers, dormant SKUs (no stock, no sale), a
    stockout rate above the target; oversell that could not be checked at all (no platform stock) is said."""
    out = []
    if unchecked(view):
        out.append(make("inventory.oversell_unchecked", "medium", "仓储/运营",
                        f"{len(view)} 个商品都没有平台库存数据（platform_stock），超卖风险未核对（不是没有超卖）："
                        "请导入含平台库存的库存表，或人工抽查店铺后台库存"))
    if len(over):
        out.append(make("inventory.oversell", "high", "仓储/运营",
                        f"{len(over)} 个商品平台库存高于仓库库存（" + "、".join(
                            f"{r.sku} 多 {r.excess} 件，已 {r.days} 天" for r in over.head(5).itertuples())
                        + "）：有超卖风险，请立即核对并把平台库存同步为仓库可售库存", over))
    empty = view[(view["stock"] <= 0) & ~dormant(view)]
    if len(empty):
        out.append(make("inventory.out_of_stock", "high", "仓储/供应链",
                        f"{len(empty)} 个商品已断货（" + "、".join(
                            f"{r.sku} {'在途 ' + format(r.in_transit, ',') + ' 件' if r.in_transit > 0 else '无在途'}"
                            for r in empty.head(5).itertuples())
                        + "）：请催促在途到货或紧急补货，到货前考虑设置预售或暂停推广", empty))
    due = restock[(restock["order_qty"].fillna(0) > 0) & (restock["stock"] > 0)]  # out of stock: the flag above
    if len(due):
        out.append(make("inventory.replenish", "medium", "仓储/供应链",
                        f"{len(due)} 个商品库存加在途已低于补货点，建议补货共 {int(due['order_qty'].sum()):,} 件"
                        "（见补货清单）", due))
    if len(slow):
        cost = slow["stock_cost"].sum()
        tied = f"，占用库存成本 ¥{cost:,.2f}" if pd.notna(cost) and cost > 0 else ""
        out.append(make("inventory.slow_mover", "medium", "运营",
                        f"{len(slow)} 个商品 {slow_days} 天以上无销量仍有库存{tied}：请启动下架或清仓流程", slow))
    gone = view[dormant(view)]
    if len(gone):
        out.append(make("inventory.dormant", "low", "运营",
                        f"{len(gone)} 个商品 {slow_days} 天以上既无库存也无成交（" + "、".join(gone["sku"].head(5))
                        + "）：已停售的请在 ERP 中停用并下架，仍要卖的请补货；这些商品不计入断货率", gone))
    if rate is not None and rate > max_stockout_rate:
        worst = view[(view["stockout_days"] > 0) & ~dormant(view)].sort_values(["stockout_days", "sku"], ascending=[False, True])
        out.append(make("inventory.stockout_rate", "medium", "仓储/供应链",
                        f"近 {stockout_days} 天断货率 {rate * 100:.2f}%，高于目标 {max_stockout_rate * 100:.2f}%（"
                        + "、".join(f"{r.sku} 断货 {r.stockout_days} 天" for r in worst.head(5).itertuples())
                        + "）：请复盘安全库存与补货节奏", worst))
    return out
