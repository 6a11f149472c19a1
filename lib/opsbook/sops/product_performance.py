"""Product performance (商品经营分析): per SKU and platform over a month or week — GMV, units, gross profit and margin
after discounts and refunds, refund rate, visitors and conversion, allocated ad spend, ABC (Pareto) classes."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from .. import report
from ..errors import ParamError
from ..flags import Flag, make
from ..settings import TZ_NAME
from ..sources import Source
from . import catalogue
from .periods import bucket_start, label

# Chinese labels of the headline metrics in result.json (what delivered report cards show), with their number
# format (`report.FORMATS`) where the name alone would not tell it
METRICS = {"period_start": "统计开始", "period_end": "统计截至", "gmv": "成交金额", "revenue": ("净销售额（扣退款）", "money"),
           "gross_profit": ("毛利", "money"), "margin": "毛利率", "refund_rate": "退款率", "ad_spend": "推广花费",
           "skus": "SKU 数", "skus_sold": "有成交的 SKU", "a_skus": "A 类 SKU"}

LABELS = {
    "abc_class": "ABC 分类", "gmv_share": "成交占比", "cum_share": "累计成交占比", "orders": "订单数",
    "units": "销量（件）", "discount_rate": "优惠率", "refund": "退款金额", "refund_rate": "退款率（按金额）",
    "refund_order_rate": "退款率（按订单）",
    "revenue": "净销售额（扣退款）", "cost": "成本价", "price": "日常售价", "cost_of_sales": "销售成本",
    "gross_profit": "毛利", "margin": "毛利率", "ad_spend": "分摊推广花费", "ad_rate": "推广费比",
    "profit_after_ads": "扣推广后毛利", "uv": "商品访客数", "conversion": "支付转化率", "launch_date": "上架日期",
    "last_sale": "最近成交日期", "days_without_sale": "无成交天数", "stock": "可售库存", "skus": "SKU 数",
    "sku_share": "SKU 占比", "advice": "经营建议", "platform_conversion": "本平台商品平均转化率",
    "platform_uv_median": "本平台商品访客数中位数",
}
DETAIL_COLUMNS = ["abc_class", "sku", "name", "platform", "gmv", "gmv_share", "orders", "units", "discount_rate",
                  "refund_order_rate", "refund_rate", "cost", "gross_profit", "margin", "ad_spend", "ad_rate",
                  "profit_after_ads", "uv", "conversion", "last_sale", "stock", "advice"]
ABC_ADVICE = {  # a class as a whole (ABC 分类汇总); its loss-making SKUs are named beside it
    "A": "核心商品：优先保障库存与推广资源，重点维护评价、主图和详情页",
    "B": "潜力商品：找出可提升的环节（流量、转化、客单价），择优培养成 A 类",
    "C": "长尾商品：控制库存与推广投入，滞销的考虑清仓、下架或合并链接",
}
# a SKU's margin state (`margin_state`): 盈利, 低毛利 (under the margin line, not losing), 亏损, 毛利未知 (no cost price),
# 无成交 (no paid order in the period)
PROFITABLE, THIN, LOSING, UNKNOWN, UNSOLD = "盈利", "低毛利", "亏损", "毛利未知", "无成交"
ADVICE = {  # (ABC class, margin state) → the advice printed on the SKU's row of 商品经营明细
    ("A", PROFITABLE): ABC_ADVICE["A"],
    ("A", THIN): "销售额靠前但毛利率低于警戒线：先核对折扣、券叠加与退款，毛利改善前不要加大推广",
    ("A", LOSING): "销售额靠前但亏损：先查定价、折扣与退款，再决定是否继续投入推广",
    ("A", UNKNOWN): "销售额靠前但缺成本价、毛利未知：先在商品表补全成本价，再决定是否加大库存与推广投入",
    ("B", PROFITABLE): ABC_ADVICE["B"],
    ("B", THIN): "潜力商品但毛利率低于警戒线：先改善价格与折扣，再考虑培养成 A 类",
    ("B", LOSING): "有一定销量但亏损：先查定价、折扣与退款，止损前不要追加推广",
    ("B", UNKNOWN): "潜力商品但缺成本价、毛利未知：先在商品表补全成本价，再决定是否培养",
    ("C", PROFITABLE): ABC_ADVICE["C"],
    ("C", THIN): "长尾商品且毛利率低于警戒线：减少推广和备货，考虑调价或清仓",
    ("C", LOSING): "长尾商品且亏损：停止推广，考虑调价、清仓或下架",
    ("C", UNKNOWN): "长尾商品且缺成本价：先在商品表补全成本价，再评估去留",
}
NO_SALE_ADVICE = "本期无成交：确认链接是否仍在售；有库存的考虑清仓、下架或合并链接"
REFUND_BASIS = {"按订单": "refund_order_rate", "按金额": "refund_rate"}  # the refund_basis parameter → the rate it judges
DEFINITIONS = (
    "成交金额 = 本期付款（按付款时间）、非刷单订单行的实付金额（已扣优惠，不扣之后的退款）；优惠率 = 优惠金额 ÷（实付金额 + 优惠金额）\n"
    "退款率（按订单）= 本期付款订单中至今有退款（含部分退款）的订单数 ÷ 付款订单数，与生意参谋和各平台后台的退款率口径相同；"
    "退款率（按金额）= 这些订单至今的退款金额 ÷ 成交金额；期末付款的订单还可能退款，最近一期的两种退款率都会随时间上升；"
    "退款率警戒线按{basis}判断\n"
    "净销售额 = 成交金额 − 退款金额；销售成本 = 成本价 × 净销量，整行全额退款视为退货（商品退回，不计成本），部分退款视为仅退款"
    "（商品未退回，成本照计）；成本价取商品表当前记录的成本价（不是当时的采购价）\n"
    "毛利 = 净销售额 − 销售成本；毛利率 = 毛利 ÷ 净销售额；不含运费、平台佣金和推广花费\n"
    "分摊推广花费：推广花费按活动和渠道记录，不按 SKU；每个活动本期的花费按各 SKU 在该活动本期成交金额中的占比分摊到 SKU；"
    "推广费比 = 分摊推广花费 ÷ 成交金额；扣推广后毛利 = 毛利 − 分摊推广花费\n"
    "商品访客数、支付转化率来自生意参谋商品报表（product_traffic），按商品表的平台 + 商品ID 对应；同一商品ID 的多个 SKU 共用"
    "该商品的访客数和转化率；支付转化率 = 支付买家数 ÷ 访客数（按天相加）\n"
    "ABC 分类：按成交金额从高到低排序，累计占前 {a:.0%} 的为 A 类（跨过这条线的那个也算 A 类），其后 {b:.0%} 为 B 类，"
    "其余（含本期无成交）为 C 类；滞销（无成交天数）从{ref}往前数\n"
    "经营建议按 ABC 分类和毛利一起给出：亏损（毛利为负）或毛利率低于警戒线的商品，哪怕是 A 类也先止损、不加推广；"
    "缺成本价的先补成本价")
_SALES = ["orders", "units", "gmv", "refund", "refund_known", "refunded_orders", "status_refunded", "returned_units",
          "ad_spend"]


@dataclass
class Performance:
    """What the report computes from: one row per SKU and platform (`frame`), the period, the day slow movers are
    judged on, the period's whole ad spend (None without an ad_spend table) and notes for people."""

    frame: pd.DataFrame
    period: str
    first: dt.date
    last: dt.date
    ref_day: dt.date
    ad_total: float | None
    slow_judged: bool = True
    notes: list[str] = field(default_factory=list)
    orders: int = 0  # the period's paid orders, each once, and those with a refund (None: refunds unknown)
    refunded_orders: int | None = 0
    refunds_known: bool = True  # False: no order line says what was refunded (gross profit not net of refunds)

    @property
    def span(self) -> str:
        """The period as staff read it: 2026-06（06-01 至 06-30）, 2026-W25（06-15 至 06-17，截至参考日期）."""
        nxt = self.last + dt.timedelta(days=1)
        whole = bucket_start(nxt, self.period) == nxt
        name = label(self.first, self.period).split("（")[0]
        return f"{name}（{self.first:%m-%d} 至 {self.last:%m-%d}{'' if whole else '，截至参考日期'}）"


def window(period: str, as_of: dt.date) -> tuple[dt.date, dt.date]:
    """(first day, last day) counted: the month or week containing `as_of`, up to the end of `as_of`."""
    return bucket_start(as_of, period), as_of


def _platform(platform: str) -> tuple[str, list]:
    return ("", []) if platform == "全部" else (" AND platform = ?", [platform])


def sales(src: Source, first: dt.date, last: dt.date, platform: str, slow_days: int) -> pd.DataFrame:
    """Per SKU and platform, in one scan of the paid orders from `slow_days` before `last` (or `first`, if earlier):
    the period's orders, units, GMV, discounts, refunds, orders with a refund, fully refunded units, ad spend allocated
    by the SKU's share of each campaign's GMV in the period, and the last payment time."""
    src.check("orders")
    scan = min(first, last - dt.timedelta(days=slow_days - 1))
    where, args = _platform(platform)
    if src.has("ad_spend"):
        spend = f"SELECT campaign_id, sum(spend) AS spend FROM ad_spend WHERE date BETWEEN ? AND ?{where} GROUP BY 1"
        spend_args = [first, last, *args]
    else:
        spend, spend_args = "SELECT CAST(NULL AS VARCHAR) AS campaign_id, CAST(NULL AS DOUBLE) AS spend LIMIT 0", []
    inside = "pay_time >= CAST(? AS TIMESTAMPTZ)"
    return src.sql(f"""
        WITH g AS (
            SELECT sku, platform, campaign_id,
                   count(DISTINCT order_id) FILTER (WHERE {inside}) AS orders,
                   sum(quantity) FILTER (WHERE {inside}) AS units,
                   sum(amount) FILTER (WHERE {inside}) AS gmv,
                   sum(discount) FILTER (WHERE {inside}) AS discount,
                   sum(coalesce(refund_amount, 0)) FILTER (WHERE {inside}) AS refund,
                   count(refund_amount) FILTER (WHERE {inside}) AS refund_known,
                   count(DISTINCT order_id) FILTER (WHERE {inside} AND refund_amount > 0) AS refunded_orders,
                   count(DISTINCT order_id) FILTER (WHERE {inside} AND status = 'refunded') AS status_refunded,
                   sum(quantity) FILTER (WHERE {inside} AND refund_amount > 0
                                         AND refund_amount >= amount - 0.005) AS returned_units,
                   max(pay_time) AS last_paid
            FROM paid_orders
            WHERE pay_time >= CAST(? AS TIMESTAMPTZ) AND pay_time < CAST(? AS TIMESTAMPTZ){where}
            GROUP BY ALL
        ), spend AS ({spend}),
        camp AS (SELECT campaign_id, sum(gmv) AS camp_gmv FROM g WHERE campaign_id IS NOT NULL GROUP BY 1)
        SELECT g.sku, g.platform, CAST(coalesce(sum(g.orders), 0) AS BIGINT) AS orders,
               CAST(coalesce(sum(g.units), 0) AS BIGINT) AS units, coalesce(sum(g.gmv), 0) AS gmv,
               sum(g.discount) AS discount, coalesce(sum(g.refund), 0) AS refund,
               CAST(coalesce(sum(g.refund_known), 0) AS BIGINT) AS refund_known,
               CAST(coalesce(sum(g.refunded_orders), 0) AS BIGINT) AS refunded_orders,
               CAST(coalesce(sum(g.status_refunded), 0) AS BIGINT) AS status_refunded,
               CAST(coalesce(sum(g.returned_units), 0) AS BIGINT) AS returned_units,
               coalesce(sum(g.gmv / c.camp_gmv * s.spend) FILTER (WHERE c.camp_gmv > 0), 0) AS ad_spend,
               max(g.last_paid) AS last_paid
        FROM g LEFT JOIN camp c USING (campaign_id) LEFT JOIN spend s USING (campaign_id)
        GROUP BY g.sku, g.platform""",
                   [*[str(first)] * 9, str(scan), str(last + dt.timedelta(days=1)), *args, *spend_args])


def order_counts(src: Source, first: dt.date, last: dt.date, platform: str,
                 by_status: bool = False) -> tuple[int, int]:
    """The period's paid orders and those of them with a refund (`by_status`: in status refunded), each order once (an
    order of several SKUs is one order of the shop, though it counts on each SKU's row)."""
    where, args = _platform(platform)
    refunded = "status = 'refunded'" if by_status else "refund_amount > 0"
    paid, refunded = src.sql(f"""
        SELECT count(DISTINCT (platform, order_id)),
               count(DISTINCT (platform, order_id)) FILTER (WHERE {refunded}) FROM paid_orders
        WHERE pay_time >= CAST(? AS TIMESTAMPTZ) AND pay_time < CAST(? AS TIMESTAMPTZ){where}""",
                             [str(first), str(last + dt.timedelta(days=1)), *args]).iloc[0]
    return int(paid), int(refunded)


def last_sales(src: Source, before: dt.date, skus: list[str]) -> pd.DataFrame:
    """The last payment time of `skus` per platform before `before` (for listings without a sale since then)."""
    if not skus:
        return pd.DataFrame({"sku": pd.Series(dtype="str"), "platform": pd.Series(dtype="str"),
                             "last_paid": pd.Series(dtype=f"datetime64[us, {TZ_NAME}]")})
    return src.sql("SELECT sku, platform, max(pay_time) AS last_paid FROM paid_orders "
                   "WHERE pay_time < CAST(? AS TIMESTAMPTZ) AND list_contains(?, sku) GROUP BY ALL",
                   [str(before), sorted(skus)])


def first_order(src: Source, platform: str) -> dt.date | None:
    """The first day the source has orders (of the platform): before it, no sale means no data, not no sales (without
    a filter DuckDB answers from the files' statistics)."""
    where, args = _platform(platform)
    value = src.sql(f"SELECT min(order_time) FROM orders WHERE true{where}", args).iloc[0, 0]
    return None if pd.isna(value) else pd.Timestamp(value).tz_convert(TZ_NAME).date()


def ad_spend_total(src: Source, first: dt.date, last: dt.date, platform: str) -> float | None:
    """All ad spend of the period (None without an ad_spend table)."""
    if not src.has("ad_spend"):
        return None
    where, args = _platform(platform)
    value = src.sql(f"SELECT sum(spend) FROM ad_spend WHERE date BETWEEN ? AND ?{where}", [first, last, *args]).iloc[0, 0]
    return 0.0 if pd.isna(value) else float(value)


def products(src: Source) -> pd.DataFrame:
    """Every SKU of the products table once, with its one cost (`catalogue.by_sku`; empty without the table)."""
    if not src.has("products"):
        return pd.DataFrame({"sku": pd.Series(dtype="str"), "name": pd.Series(dtype="str"),
                             "category": pd.Series(dtype="str"), "cost": pd.Series(dtype="float64"),
                             "price": pd.Series(dtype="float64"), "launch_date": pd.Series(dtype="datetime64[us]")})
    return src.sql("SELECT sku, name, category, cost, price, launch_date "
                   f"FROM {catalogue.by_sku(src)} ORDER BY sku")


def listings(src: Source) -> pd.DataFrame:
    """Every listing of the products table: its SKU, platform (may be empty), item id and launch date."""
    if not src.has("products"):
        return pd.DataFrame({"sku": pd.Series(dtype="str"), "listed_platform": pd.Series(dtype="str"),
                             "product_id": pd.Series(dtype="str"), "listed_on": pd.Series(dtype="datetime64[us]")})
    return src.sql("SELECT DISTINCT sku, platform AS listed_platform, product_id, launch_date AS listed_on FROM products "
                   "ORDER BY sku, listed_platform NULLS LAST")


def traffic(src: Source, first: dt.date, last: dt.date, platform: str) -> pd.DataFrame:
    """Per listing (platform + item id) over the period: visitors, paying buyers and conversion (生意参谋 商品), beside
    its platform's median listing visitors and the platform's conversion over all its listings."""
    columns = ["platform", "product_id", "uv", "pay_buyers", "conversion", "platform_uv_median", "platform_conversion"]
    if not src.has("product_traffic"):
        return pd.DataFrame(columns=columns)
    where, args = _platform(platform)
    return src.sql(f"""
        WITH items AS (
            SELECT platform, product_id, CAST(sum(uv) AS BIGINT) AS uv, CAST(sum(pay_buyers) AS BIGINT) AS pay_buyers
            FROM product_traffic WHERE date BETWEEN ? AND ?{where} GROUP BY ALL)
        SELECT *, pay_buyers / nullif(uv, 0) AS conversion,
               median(uv) FILTER (WHERE uv > 0) OVER (PARTITION BY platform) AS platform_uv_median,
               sum(pay_buyers) OVER (PARTITION BY platform) / nullif(sum(uv) OVER (PARTITION BY platform), 0)
                   AS platform_conversion
        FROM items""", [first, last, *args])[columns]


def stock(src: Source, day: dt.date) -> pd.DataFrame:
    """Each SKU's sellable stock in its latest snapshot up to `day` (empty without an inventory table)."""
    if not src.has("inventory"):
        return pd.DataFrame({"sku": pd.Series(dtype="str"), "stock": pd.Series(dtype="Int64")})
    return src.sql("SELECT sku, arg_max(stock, date) AS stock FROM inventory WHERE date <= ? GROUP BY sku", [day])


def _rows(sold: pd.DataFrame, lists: pd.DataFrame, last: dt.date, platform: str) -> pd.DataFrame:
    """SKU + platform rows: every listing launched by `last` (on its platform; a listing without a platform on each
    platform its SKU sold on, else once without one) and every SKU + platform with orders in the period."""
    listed = lists[lists["listed_on"].isna() | (lists["listed_on"] <= pd.Timestamp(last))]
    fixed = listed[listed["listed_platform"].notna()]
    if platform != "全部":
        fixed = fixed[fixed["listed_platform"] == platform]
    floating = listed.loc[listed["listed_platform"].isna(), ["sku"]].merge(sold[["sku", "platform"]], on="sku",
                                                                            how="left")
    if platform != "全部":
        floating = floating[floating["platform"].notna()]
    keys = pd.concat([pd.DataFrame({"sku": fixed["sku"], "platform": fixed["listed_platform"]}), floating])
    keys = keys.drop_duplicates().assign(listed=True)
    rows = sold.merge(keys, on=["sku", "platform"], how="outer")
    rows["listed"] = rows["listed"].fillna(False).astype(bool)
    return rows[rows["listed"] | (rows["orders"] > 0)].reset_index(drop=True)


def _on_listing(rows: pd.DataFrame, lists: pd.DataFrame) -> pd.DataFrame:
    """Each row with its own platform's listing: the item id (traffic is kept per platform + item id), the listing's
    launch date, and whether the SKU is listed on some other platform only (`elsewhere`: no traffic can match)."""
    own = (lists[lists["listed_platform"].notna()].drop_duplicates(["sku", "listed_platform"])
           .rename(columns={"listed_platform": "platform"}))
    out = rows.merge(own, on=["sku", "platform"], how="left", indicator="_own")
    here = out.pop("_own").eq("both")
    out["listed_platform"] = out["platform"].where(here)
    placed = set(own["sku"])
    out["elsewhere"] = ~here & out["platform"].notna() & out["sku"].isin(placed)
    return out


def compute(src: Source, period: str, as_of: dt.date, platform: str, until: dt.date | None, *, slow_days: int,
            abc_a: float, abc_b: float) -> Performance:
    """The 商品经营明细 of the period containing `as_of` (up to it): one row per SKU and platform with sales, margin,
    refunds, ad spend, traffic, last sale and ABC class; slow movers are judged on `as_of`, or on the last day the
    data reaches (`until`) when that is earlier."""
    if abc_a + abc_b > 1 + 1e-9:
        raise ParamError(f"A 类占比（{abc_a:.0%}）与 B 类占比（{abc_b:.0%}）之和不能超过 100%（现为 {abc_a + abc_b:.0%}）："
                         "请调小其中一个")
    first, last = window(period, as_of)
    ref_day = min(last, until) if until else last
    sold = sales(src, first, last, platform, slow_days)
    goods = products(src)
    lists = listings(src)
    rows = _rows(sold, lists, last, platform)
    for col in _SALES:
        rows[col] = rows[col].fillna(0)
    rows = rows.astype({c: "int64" for c in ("orders", "units", "refund_known", "refunded_orders", "status_refunded",
                                             "returned_units")})
    notes = []
    known = not (len(sold) and not sold["refund_known"].sum() and rows["orders"].sum())
    if not known:
        rows["refund"] = float("nan")  # no line says what was refunded: unknown, not zero
        rows["refunded_orders"] = rows["status_refunded"]  # orders refunded in full show in their status
        notes.append("订单数据中没有退款金额（refund_amount 为空）：退款金额、退款率（按金额）无法计算，净销售额和毛利未扣退款"
                     "（偏高）；退款率（按订单）只计订单状态为“已退款”的订单，部分退款的订单看不出来，实际退款率可能更高")
    scan = min(first, last - dt.timedelta(days=slow_days - 1))
    rows["last_sale"] = _china_day(rows.pop("last_paid"))
    missing = rows["last_sale"].isna()
    if missing.any():
        older = last_sales(src, scan, rows.loc[missing, "sku"].unique().tolist())
        older = older.assign(last_paid=_china_day(older["last_paid"]))
        anywhere = older.groupby("sku", as_index=False)["last_paid"].max()  # for a SKU listed without a platform
        rows = rows.merge(older.rename(columns={"last_paid": "older"}), on=["sku", "platform"], how="left")
        rows = rows.merge(anywhere.rename(columns={"last_paid": "anywhere"}), on="sku", how="left")
        rows.loc[rows["platform"].notna(), "anywhere"] = pd.NaT
        rows["last_sale"] = rows["last_sale"].fillna(_china_day(rows.pop("older"))).fillna(_china_day(rows.pop("anywhere")))
    rows = _on_listing(rows, lists).merge(goods, on="sku", how="left")
    rows["launch_date"] = rows.pop("listed_on").fillna(rows["launch_date"])  # the listing's own, else the SKU's first
    rows = rows.merge(traffic(src, first, last, platform).rename(columns={"platform": "listed_platform"}),
                      on=["listed_platform", "product_id"], how="left")
    on_listing = rows["platform"] == rows["listed_platform"]  # traffic belongs to the listing's own platform
    for col in ("uv", "pay_buyers", "conversion", "platform_uv_median", "platform_conversion"):
        rows[col] = rows[col].where(on_listing)
    rows = rows.merge(stock(src, last), on="sku", how="left")
    rows["days_without_sale"] = (pd.Timestamp(ref_day) - rows["last_sale"]).dt.days.astype("float64")
    frame = _measures(rows, src.has("ad_spend"))
    if not known:  # a lower bound by status, said so wherever it shows
        frame["refund_order_rate"] = frame["refunded_orders"] / frame["orders"].where(frame["orders"] > 0)
    frame = classify(frame, abc_a, abc_b)
    notes += _notes(frame, goods, src, sold, first, last, platform)
    since = first_order(src, platform)
    judged = since is not None and since <= ref_day - dt.timedelta(days=slow_days)
    if not judged:
        notes.append("没有订单数据：不判断滞销" if since is None else
                     f"订单数据从 {since} 才开始，{ref_day} 之前没有数据：不判断滞销" if since > ref_day else
                     f"订单数据从 {since} 开始，到 {ref_day} 不足 {slow_days} 天：不判断滞销")
    orders, refunded = order_counts(src, first, last, platform, by_status=not known)
    perf = Performance(frame, period, first, last, ref_day, ad_spend_total(src, first, last, platform), judged, notes,
                       orders, refunded, known)
    if perf.ad_total is not None:
        spread = float(frame["ad_spend"].sum())
        if perf.ad_total - spread > 0.005:
            perf.notes.append(f"本期推广花费 {report.money(perf.ad_total)}，其中 {report.money(perf.ad_total - spread)} "
                              "所属活动本期没有带活动ID的成交订单，无法分摊到 SKU，只计入全店")
    return perf


def _china_day(values: pd.Series) -> pd.Series:
    """Instants (or empty cells of any dtype) as the China calendar day, naive."""
    return pd.to_datetime(values, utc=True).dt.tz_convert(TZ_NAME).dt.tz_localize(None).dt.normalize()


def _measures(rows: pd.DataFrame, has_ads: bool) -> pd.DataFrame:
    """Revenue, cost of sales, gross profit, margin and the rates, from the summed sales columns."""
    out = rows.copy()
    gmv = out["gmv"].where(out["gmv"] > 0)
    out["revenue"] = out["gmv"] - out["refund"].fillna(0)
    out["cost_of_sales"] = out["cost"] * (out["units"] - out["returned_units"])
    out["gross_profit"] = out["revenue"] - out["cost_of_sales"]
    out["margin"] = out["gross_profit"] / out["revenue"].where(out["revenue"] > 0)
    listed_value = (out["gmv"] + out["discount"]).where(lambda v: v > 0)
    out["discount_rate"] = out["discount"] / listed_value
    out["refund_rate"] = out["refund"] / gmv
    out["refund_order_rate"] = (out["refunded_orders"] / out["orders"].where(out["orders"] > 0)).where(
        out["refund"].notna())
    if not has_ads:
        out["ad_spend"] = float("nan")
    out["ad_rate"] = out["ad_spend"] / gmv
    out["profit_after_ads"] = out["gross_profit"] - out["ad_spend"]
    return out.sort_values(["gmv", "sku", "platform"], ascending=[False, True, True], ignore_index=True)


def classify(frame: pd.DataFrame, abc_a: float, abc_b: float) -> pd.DataFrame:
    """ABC classes on GMV (rows sorted by GMV, largest first): A while the GMV before a row is under `abc_a` of the
    total, B while under `abc_a + abc_b`, else C; rows without GMV are C; no classes when nothing sold."""
    total = frame["gmv"].sum()
    out = frame.copy()
    if total <= 0:
        out["gmv_share"] = out["cum_share"] = float("nan")
        out["abc_class"] = pd.Series(pd.NA, index=out.index, dtype="str")
        return out
    out["gmv_share"] = out["gmv"] / total
    out["cum_share"] = out["gmv_share"].cumsum()
    before = out["cum_share"] - out["gmv_share"]
    cls = pd.Series("C", index=out.index, dtype="str")
    cls[before < abc_a + abc_b - 1e-12] = "B"
    cls[before < abc_a - 1e-12] = "A"
    out["abc_class"] = cls.where(out["gmv"] > 0, "C")
    return out


def _notes(frame: pd.DataFrame, goods: pd.DataFrame, src: Source, sold: pd.DataFrame, first: dt.date, last: dt.date,
           platform: str) -> list[str]:
    """What the table cannot show and why, in Chinese."""
    notes = []
    where = "" if platform == "全部" else f"平台 {platform} "
    if not frame["orders"].sum():
        notes.append(f"{where}{first} 至 {last} 没有付款订单：成交、毛利和 ABC 分类均为空（请检查日期、平台，以及订单是否已导入）")
    if not src.has("products"):
        notes.append("数据源中没有 products（商品）表：成本价、毛利、上架日期和商品流量都无法计算，滞销只能按订单判断")
    if not src.has("product_traffic"):
        notes.append("数据源中没有 product_traffic（生意参谋商品报表）：商品访客数和支付转化率为空")
    else:
        no_id = frame["listed"] & frame["product_id"].isna() & frame["platform"].notna()
        if no_id.any():
            notes.append(f"{int(no_id.sum())} 个 SKU 在商品表中没有商品ID（或平台），对应不到生意参谋的商品流量，访客数和转化率为空")
        elsewhere = frame["elsewhere"]
        if elsewhere.any():
            notes.append(f"{int(elsewhere.sum())} 行是 SKU 在其商品表平台以外的平台成交的，没有对应的商品流量")
    if src.has("ad_spend") is False:
        notes.append("数据源中没有 ad_spend（推广花费）表：分摊推广花费、推广费比为空")
    return notes


def margin_state(frame: pd.DataFrame, min_margin: float) -> pd.Series:
    """Each row's margin state: 无成交 (no paid order), 毛利未知 (no cost price), 亏损 (gross profit below 0), 低毛利
    (margin under `min_margin`), else 盈利 — the same lines the negative-margin flag draws."""
    sold = frame["orders"] > 0
    unknown = frame["gross_profit"].isna() | frame["cost"].isna() | (frame["cost"] <= 0)
    losing = frame["gross_profit"] < 0
    thin = frame["margin"].fillna(0) < min_margin
    state = pd.Series(PROFITABLE, index=frame.index, dtype="str")
    state[thin] = THIN
    state[losing] = LOSING
    state[unknown] = UNKNOWN
    state[~sold] = UNSOLD
    return state


def advice(frame: pd.DataFrame, min_margin: float) -> pd.Series:
    """The advice on each SKU's row, from its ABC class and its margin state together: an A-class SKU losing money is
    told to stop the loss, not to get more stock and promotion."""
    state = margin_state(frame, min_margin)
    found = [NO_SALE_ADVICE if s == UNSOLD else ADVICE.get((c, s), NO_SALE_ADVICE)
             for c, s in zip(frame["abc_class"], state)]
    return pd.Series(found, index=frame.index, dtype="str")


def shown(perf: Performance, *, min_margin: float) -> pd.DataFrame:
    """The 商品经营明细 table as exported: one row per SKU and platform, largest GMV first, with its advice (class and
    margin, `min_margin` the margin line); money to the fen, rates to 4 decimals (totals taken before rounding)."""
    out = perf.frame.assign(advice=advice(perf.frame, min_margin))[DETAIL_COLUMNS]
    money = ["gmv", "cost", "gross_profit", "ad_spend", "profit_after_ads"]
    rates = ["gmv_share", "discount_rate", "refund_order_rate", "refund_rate", "margin", "ad_rate", "conversion"]
    return out.assign(**{c: out[c].round(2) for c in money}, **{c: out[c].round(4) for c in rates})


def note(perf: Performance, abc_a: float, abc_b: float, refund_basis: str) -> str:
    """The definitions and notes printed under the detail table."""
    ref = f"参考日期 {perf.ref_day}" if perf.ref_day == perf.last else f"数据最后一天 {perf.ref_day}"
    return "\n".join([DEFINITIONS.format(a=abc_a, b=abc_b, ref=ref, basis=f"退款率（{refund_basis}）"), *perf.notes])


def abc_summary(perf: Performance, *, min_margin: float) -> pd.DataFrame:
    """One row per ABC class: SKUs and their share, GMV and its share, gross profit, margin, units, and the class's
    advice, which names its SKUs losing money or under the margin line `min_margin` (they are told to stop the loss)."""
    f = perf.frame
    columns = ["abc_class", "skus", "sku_share", "gmv", "gmv_share", "gross_profit", "margin", "units", "advice"]
    if f["abc_class"].isna().all():
        return pd.DataFrame(columns=columns)
    costed = f.assign(revenue=f["revenue"].where(f["gross_profit"].notna()))  # margins over SKUs with a cost price
    out = (costed.groupby("abc_class").agg(skus=("sku", "size"), gmv=("gmv", "sum"), units=("units", "sum"),
                                           revenue=("revenue", "sum"),
                                           gross_profit=("gross_profit", lambda s: s.sum(min_count=1)))
           .reindex(list(ABC_ADVICE)).fillna({"skus": 0, "gmv": 0.0, "units": 0, "revenue": 0.0}).reset_index())
    out["skus"] = out["skus"].astype("int64")
    out["units"] = out["units"].astype("int64")
    out["sku_share"] = out["skus"] / max(len(f), 1)
    out["gmv_share"] = out["gmv"] / f["gmv"].sum()
    out["margin"] = out["gross_profit"] / out["revenue"].where(out["revenue"] > 0)
    state = margin_state(f, min_margin)
    out["advice"] = [_class_advice(c, gp, int(((f["abc_class"] == c) & (state == LOSING)).sum()),
                                   int(((f["abc_class"] == c) & (state == THIN)).sum()))
                     for c, gp in zip(out["abc_class"], out["gross_profit"])]
    return out[columns]


def _class_advice(cls: str, profit: float, losing: int, thin: int) -> str:
    """A class's advice: the class's own, or a loss warning when the class as a whole loses money; then how many of its
    SKUs lose money or earn under the margin line."""
    text = ABC_ADVICE[cls] if not profit < 0 else (
        f"本类整体亏损（毛利 {report.money(profit)}）：先查定价、折扣与退款，止损前不要追加推广")
    worse = [f"{n} 个{what}" for n, what in ((losing, "亏损"), (thin, "毛利率低于警戒线")) if n]
    return text + (f"；其中 {'、'.join(worse)}，这些商品先止损、不加推广（见商品经营明细的经营建议）" if worse else "")


def pareto_points(perf: Performance) -> pd.DataFrame:
    """The Pareto curve: cumulative share of SKUs (largest GMV first) against the cumulative share of GMV."""
    f = perf.frame
    if f["cum_share"].isna().all():
        return pd.DataFrame({"sku_share": [0.0], "cum_share": [0.0]})
    return pd.DataFrame({"sku_share": [0.0, *((f.index + 1) / len(f))], "cum_share": [0.0, *f["cum_share"]]})


def headline(perf: Performance) -> tuple[dict, dict[str, str]]:
    """The period's headline metrics (None where unknown) and their cards."""
    f = perf.frame

    def num(v, digits=4):
        return None if v is None or pd.isna(v) else round(float(v), digits)
    gmv, revenue = float(f["gmv"].sum()), float(f["revenue"].sum())
    profit = f["gross_profit"].sum(min_count=1)
    costed = float(f.loc[f["gross_profit"].notna(), "revenue"].sum())  # the margin of the SKUs with a cost price
    refund = f["refund"].sum(min_count=1)
    metrics = {
        "period_start": perf.first.isoformat(), "period_end": perf.last.isoformat(), "gmv": round(gmv, 2),
        "revenue": round(revenue, 2), "gross_profit": num(profit, 2), "margin": num(profit / costed) if costed > 0 else None,
        "refund_rate_orders": num(perf.refunded_orders / perf.orders)
        if perf.orders and perf.refunded_orders is not None else None,
        "refund_rate_amount": num(refund / gmv) if gmv > 0 else None, "ad_spend": num(perf.ad_total, 2),
        "skus": int(len(f)), "skus_sold": int((f["orders"] > 0).sum()), "a_skus": int((f["abc_class"] == "A").sum()),
    }
    uncosted = int(((f["orders"] > 0) & f["gross_profit"].isna()).sum())
    partial = f"（不含 {uncosted} 个缺成本价的商品）" if uncosted and metrics["gross_profit"] is not None else ""
    if not perf.refunds_known:  # revenue would be GMV and the profit before refunds: say so on the cards
        metrics["revenue"] = None
        partial = "（未扣退款" + (f"，不含 {uncosted} 个缺成本价的商品）" if partial else "）")
    cards = {"统计区间": perf.span, "成交金额": report.money(gmv),
             "净销售额（扣退款）": report.money(revenue) if perf.refunds_known else "退款未知，无法计算",
             f"毛利{partial}": report.money(metrics["gross_profit"]), f"毛利率{partial}": report.pct(metrics["margin"]),
             "退款率（按订单）" if perf.refunds_known else "退款率（按订单，仅计已退款状态）":
                 report.pct(metrics["refund_rate_orders"]),
             "退款率（按金额）": report.pct(metrics["refund_rate_amount"]), "推广花费": report.money(metrics["ad_spend"]),
             "有成交 SKU / 全部": f"{metrics['skus_sold']:,} / {metrics['skus']:,}",
             "A 类 SKU": f"{metrics['a_skus']:,}（{report.pct(metrics['a_skus'] / len(f)) if len(f) else '—'}）"}
    return metrics, cards


def _listing(r) -> str:
    """`SKU（平台）` for a flag message."""
    return f"{r.sku}（{r.platform}）" if isinstance(r.platform, str) else str(r.sku)


def _classed(r) -> str:
    """`SKU（平台，A 类）` for a flag message: the class says how much of the shop's sales is at stake."""
    cls = f"{r.abc_class} 类" if isinstance(r.abc_class, str) else ""
    inside = "，".join(x for x in (r.platform if isinstance(r.platform, str) else "", cls) if x)
    return f"{r.sku}（{inside}）" if inside else str(r.sku)


def _core(rows: pd.DataFrame) -> str:
    """「，其中 N 个是 A 类（销售额靠前的核心商品）」 when some of `rows` are A-class, else empty."""
    core = int((rows["abc_class"] == "A").sum())
    return f"，其中 {core} 个是 A 类（销售额靠前的核心商品），不要再按核心商品加大库存与推广" if core else ""


def _some(rows: pd.DataFrame, describe, limit: int = 5) -> str:
    """The first `limit` rows described for a flag message, then how many more (the flag's rows list them all)."""
    shown = "、".join(describe(r) for r in rows.head(limit).itertuples())
    return shown + (f" 等 {len(rows)} 个" if len(rows) > limit else "")


def findings(perf: Performance, *, min_margin: float, max_refund_rate: float, refund_basis: str, min_orders: int,
             traffic_multiple: float, conversion_ratio: float, min_uv: int, slow_days: int) -> list[Flag]:
    """Flags: list price below cost, margin under the line (naming the A-class SKUs among them), refund rate above the
    line (by orders or by amount, `refund_basis`; at least `min_orders` orders), high traffic (at least `min_uv`
    visitors) converting far below its platform (owner 设计), no sale for `slow_days` with stock left, and SKUs sold
    without a cost price; a period without any paid order is said, never "no problem"."""
    f, out = perf.frame, []
    if not (f["orders"] > 0).any():
        out.append(make("perf.no_sales", "medium", "数据分析",
                        f"{perf.span} 没有任何已付款订单，本期没有可分析的经营数据：请确认参考日期是否正确、订单是否已导入"))
    below = f[f["listed"] & (f["price"] < f["cost"])]
    if len(below):
        out.append(make("perf.price_below_cost", "high", "运营",
                        f"{len(below)} 个商品日常售价低于成本价，每卖一件都亏损{_core(below)}（"
                        + _some(below, lambda r: f"{_classed(r)} 售价 ¥{r.price:,.2f} < 成本 ¥{r.cost:,.2f}")
                        + "）：请核对成本价，或调整售价",
                        below[["sku", "platform", "abc_class", "price", "cost", "gmv", "margin"]]))
    state = margin_state(f, min_margin)  # the one definition of 亏损 and 低毛利, as in the advice and ABC 分类汇总
    after = "扣除优惠和退款后" if perf.refunds_known else "扣除优惠后（退款未知，未扣除）"
    margin_columns = ["sku", "platform", "abc_class", "gmv", "discount_rate", "refund_order_rate", "refund_rate",
                      "gross_profit", "margin"]

    def margin_of(r) -> str:
        return (f"{_classed(r)} 毛利 {report.money(r.gross_profit)}，毛利率 {report.pct(r.margin)}，优惠率 "
                f"{report.pct(r.discount_rate)}，退款率（按订单）{report.pct(r.refund_order_rate)}")
    losing = f[state == LOSING].sort_values("gross_profit")
    if len(losing):
        priced = int(losing.index.isin(below.index).sum())
        also = f"；其中 {priced} 个日常售价低于成本价（见“售价低于成本价”提示）" if priced else ""
        out.append(make("perf.negative_margin", "high", "运营",
                        f"{perf.span} {len(losing)} 个商品{after}亏损（毛利为负）{_core(losing)}{also}（"
                        + _some(losing, margin_of) + "）：请检查定价、折扣、券叠加与退款原因，必要时调价或停止推广",
                        losing[margin_columns]))
    thin = f[state == THIN].sort_values("margin")
    if len(thin):
        out.append(make("perf.low_margin", "medium", "运营",
                        f"{perf.span} {len(thin)} 个商品低毛利：{after}毛利率低于警戒线 {min_margin * 100:g}%（未亏损）"
                        f"{_core(thin)}（" + _some(thin, margin_of) + "）：请检查定价、折扣与券叠加，毛利改善前不要加大推广",
                        thin[margin_columns]))
    rate = REFUND_BASIS[refund_basis]
    refunds = f[(f["orders"] >= min_orders) & (f[rate] > max_refund_rate)].sort_values(rate, ascending=False)
    if len(refunds):
        out.append(make("perf.high_refund", "medium", "运营",
                        f"{perf.span} {len(refunds)} 个商品退款率（{refund_basis}）高于 {max_refund_rate * 100:g}%（"
                        + _some(refunds, lambda r: f"{_listing(r)} {r.refunded_orders:,}/{r.orders:,} 单有退款，"
                                                   f"按订单 {report.pct(r.refund_order_rate)}，"
                                                   f"按金额 {report.pct(r.refund_rate)}")
                        + "）：请客服汇总退款原因，核对尺码说明、详情描述与品质",
                        refunds[["sku", "platform", "orders", "gmv", "refund", "refund_order_rate", "refund_rate"]]))
    busy = f[(f["uv"] >= traffic_multiple * f["platform_uv_median"]) & (f["uv"] >= max(min_uv, 1))
             & (f["conversion"] < conversion_ratio * f["platform_conversion"])].sort_values("uv", ascending=False)
    if len(busy):
        out.append(make("perf.low_conversion", "medium", "设计",
                        f"{perf.span} {len(busy)} 个商品流量高、转化低（"
                        + _some(busy, lambda r: f"{_listing(r)} 访客 {r.uv:,.0f}（本平台商品中位数的 "
                                                f"{r.uv / r.platform_uv_median:.1f} 倍），转化率 {report.pct(r.conversion, 2)}，"
                                                f"本平台平均 {report.pct(r.platform_conversion, 2)}")
                        + "）：请优化主图、详情页和价格展示，核对流量来源是否精准",
                        busy[["sku", "platform", "uv", "conversion", "platform_uv_median", "platform_conversion"]]))
    launched = f["launch_date"].isna() | (f["launch_date"] <= pd.Timestamp(perf.ref_day - dt.timedelta(days=slow_days)))
    idle = f[perf.slow_judged & f["listed"] & launched
             & (f["days_without_sale"].isna() | (f["days_without_sale"] >= slow_days))
             & ~(f["stock"] <= 0).fillna(False).astype(bool)].sort_values("stock", ascending=False)
    if len(idle):
        when = "" if perf.ref_day == perf.last else f"（截至数据最后一天 {perf.ref_day}）"
        out.append(make("perf.slow_mover", "medium", "运营",
                        f"{len(idle)} 个商品 {slow_days} 天以上没有成交{when}（"
                        + _some(idle, lambda r: f"{_listing(r)} "
                                                + (f"最近成交 {r.last_sale:%Y-%m-%d}" if pd.notna(r.last_sale) else "从未成交")
                                                + (f"，库存 {r.stock:,.0f}" if pd.notna(r.stock) else "，库存未知"))
                        + "）：请评估下架、清仓或合并链接", idle[["sku", "platform", "last_sale", "days_without_sale", "stock"]]))
    blind = f[(f["orders"] > 0) & (f["cost"].isna() | (f["cost"] <= 0))]
    if len(blind):
        out.append(make("perf.no_cost", "medium", "数据分析",
                        f"{len(blind)} 个有成交的商品在商品表中没有成本价（或成本价为 0），毛利无法计算或偏高（"
                        + _some(blind, _listing, 10) + "）：请在商品表 products 中补全成本价",
                        blind[["sku", "platform", "gmv", "cost"]]))
    return out
