"""Campaign review (活动复盘): per campaign and channel results, ROI warning line, promo price check, comparison."""
from __future__ import annotations

import datetime as dt

import pandas as pd

from .. import report
from ..errors import DataError
from ..flags import Flag, make
from ..sources import Source

LABELS = {
    "promo_price": "活动价", "min_price_before": "活动前最低价", "status": "检查结果", "min_stock": "活动期最低库存",
    "ad_gmv": "推广成交金额", "kind": "类型", "budget": "预算",
}


def pick(src: Source, campaign_id: str, as_of: dt.date) -> pd.Series:
    """The campaign to review: the given id, else the one running on `as_of`, else the last ended before it."""
    src.check("campaigns")
    camps = src.table("campaigns")
    if campaign_id:
        found = camps[camps["campaign_id"] == campaign_id]
        if found.empty:
            known = "、".join(camps.sort_values("start_date")["campaign_id"].tail(8))
            raise DataError(f"找不到活动 {campaign_id}（最近的活动ID：{known}）")
        return found.iloc[0]
    day = pd.Timestamp(as_of)
    running = camps[(camps["start_date"] <= day) & (camps["end_date"] >= day)]
    ended = camps[camps["end_date"] < day]
    if running.empty and ended.empty:
        raise DataError(f"{as_of} 之前没有已开始的活动：请检查参考日期或 campaigns 表")
    # ties (one festival on several platforms) go to the larger budget
    key = ["start_date", "budget"] if "budget" in camps else ["start_date"]
    return running.sort_values(key).iloc[-1] if len(running) else ended.sort_values(["end_date"] + key[1:]).iloc[-1]


def window(camp: pd.Series, as_of: dt.date) -> tuple[dt.date, dt.date, bool]:
    """(first day, last day counted, still running?) — a running campaign is monitored up to `as_of`."""
    start, end = camp["start_date"].date(), camp["end_date"].date()
    live = start <= as_of <= end
    return start, (as_of if live else end), live


def results(src: Source, camps: pd.DataFrame) -> pd.DataFrame:
    """Per campaign: GMV, orders, buyers, AOV, spend, ad GMV, ROI, UV, PV, conversion, coupon redemption."""
    con = src.connect()
    con.register("_camps", camps[["campaign_id", "platform", "start_date", "end_date"]])
    try:
        sales = src.sql("""
            SELECT o.campaign_id, round(sum(o.amount), 2) AS gmv, count(DISTINCT o.order_id) AS orders,
                   count(DISTINCT o.customer_id) AS buyers
            FROM paid_orders o JOIN _camps c USING (campaign_id)
            GROUP BY 1""")
        ads = src.sql("""
            SELECT a.campaign_id, sum(a.spend) AS spend, sum(a.gmv) AS ad_gmv,
                   CAST(sum(a.impressions) AS BIGINT) AS impressions, CAST(sum(a.clicks) AS BIGINT) AS clicks
            FROM ad_spend a JOIN _camps c USING (campaign_id) GROUP BY 1""") if src.has("ad_spend") else None
        traffic = src.sql("""
            SELECT c.campaign_id, CAST(sum(t.uv) AS BIGINT) AS uv, CAST(sum(t.pv) AS BIGINT) AS pv
            FROM traffic_daily t JOIN _camps c ON t.platform = c.platform
             AND t.date BETWEEN CAST(c.start_date AS DATE) AND CAST(c.end_date AS DATE)
            GROUP BY 1""") if src.has("traffic_daily") else None
    finally:
        con.unregister("_camps")
    out = camps.merge(sales, on="campaign_id", how="left")
    for extra in (ads, traffic):
        if extra is not None:
            out = out.merge(extra, on="campaign_id", how="left")
    for col in ("spend", "ad_gmv", "impressions", "clicks", "uv", "pv"):  # absent tables leave them empty
        if col not in out:
            out[col] = float("nan")
    out["aov"] = out["gmv"] / out["buyers"]
    out["roi"] = out["ad_gmv"] / out["spend"].where(out["spend"] > 0)
    out["conversion"] = out["buyers"] / out["uv"].where(out["uv"] > 0)
    out["redemption"] = (out["coupons_used"] / out["coupons_issued"].where(out["coupons_issued"] > 0)
                         if "coupons_issued" in out else float("nan"))
    return out


def channels(src: Source, campaign_id: str, min_roi: float) -> pd.DataFrame:
    """Per paid channel: spend, impressions, clicks, CTR, CPC, GMV, ROI and whether ROI is under the line."""
    if not src.has("ad_spend"):
        return pd.DataFrame(columns=["channel", "spend", "impressions", "clicks", "ctr", "cpc", "gmv", "roi", "below_line"])
    df = src.sql("SELECT channel, sum(spend) AS spend, CAST(sum(impressions) AS BIGINT) AS impressions, "
                 "CAST(sum(clicks) AS BIGINT) AS clicks, "
                 "sum(gmv) AS gmv FROM ad_spend WHERE campaign_id = ? GROUP BY channel ORDER BY spend DESC",
                 [campaign_id])
    df["ctr"] = df["clicks"] / df["impressions"]
    df["cpc"] = df["spend"] / df["clicks"]
    df["roi"] = df["gmv"] / df["spend"]
    df["below_line"] = df["roi"] < min_roi
    return df[["channel", "spend", "impressions", "clicks", "ctr", "cpc", "gmv", "roi", "below_line"]]


def daily(src: Source, camp: pd.Series, first: dt.date, last: dt.date) -> pd.DataFrame:
    """Per day of the campaign: GMV of its orders and ad spend."""
    df = src.sql("""
        SELECT CAST(pay_time AS DATE) AS date, round(sum(amount), 2) AS gmv, count(DISTINCT order_id) AS orders
        FROM paid_orders WHERE campaign_id = ? AND CAST(pay_time AS DATE) BETWEEN ? AND ?
        GROUP BY 1 ORDER BY 1""", [camp["campaign_id"], first, last])
    if src.has("ad_spend"):
        spend = src.sql("SELECT date, sum(spend) AS spend FROM ad_spend WHERE campaign_id = ? GROUP BY 1",
                        [camp["campaign_id"]])
        df = df.merge(spend, on="date", how="left")
    else:
        df["spend"] = float("nan")
    df["date"] = pd.to_datetime(df["date"])
    return df


def price_check(src: Source, camp: pd.Series, window_days: int) -> pd.DataFrame:
    """Promo prices vs the lowest price actually paid per unit in the `window_days` days before the start.

    `status` is 合规 (below the baseline), 不合规, or 无基准 (no sale on that platform in the window).
    """
    if not src.has("campaign_items"):
        return pd.DataFrame(columns=["sku", "promo_price", "min_price_before", "status"])
    start = camp["start_date"].date()
    df = src.sql("""
        SELECT i.sku, i.promo_price,
               round(min(coalesce(o.amount / nullif(o.quantity, 0), o.unit_price)), 2) AS min_price_before
        FROM campaign_items i LEFT JOIN paid_orders o
          ON o.sku = i.sku AND o.platform = ? AND CAST(o.order_time AS DATE) >= ? AND CAST(o.order_time AS DATE) < ?
        WHERE i.campaign_id = ? GROUP BY i.sku, i.promo_price ORDER BY i.sku""",
                 [camp["platform"], start - dt.timedelta(days=window_days), start, camp["campaign_id"]])
    df["status"] = ["无基准" if pd.isna(base) else "合规" if promo < base else "不合规"
                    for promo, base in zip(df["promo_price"], df["min_price_before"])]
    return df


def hot_stock(src: Source, camp: pd.Series, first: dt.date, last: dt.date, top: int = 5) -> pd.DataFrame:
    """The campaign's best-selling SKUs with their lowest stock during it (empty without an inventory table)."""
    if not src.has("inventory"):
        return pd.DataFrame(columns=["sku", "gmv", "min_stock"])
    return src.sql(f"""
        WITH hot AS (
            SELECT sku, round(sum(amount), 2) AS gmv FROM paid_orders
            WHERE campaign_id = ? GROUP BY sku ORDER BY gmv DESC LIMIT {int(top)})
        SELECT h.sku, h.gmv, min(i.stock) AS min_stock
        FROM hot h LEFT JOIN inventory i ON i.sku = h.sku AND i.date BETWEEN ? AND ?
        GROUP BY h.sku, h.gmv ORDER BY h.gmv DESC""", [camp["campaign_id"], first, last])


def past_campaigns(src: Source, camp: pd.Series, n: int) -> pd.DataFrame:
    """This campaign and the `n` campaigns that ended before it started, with their results."""
    camps = src.table("campaigns")
    earlier = camps[camps["end_date"] < camp["start_date"]].sort_values("end_date").tail(n)
    chosen = pd.concat([earlier, camps[camps["campaign_id"] == camp["campaign_id"]]], ignore_index=True)
    out = results(src, chosen)
    cols = ["campaign_id", "name", "platform", "start_date", "end_date", "gmv", "orders", "buyers", "aov",
            "spend", "roi", "uv", "conversion", "redemption"]
    return out[[c for c in cols if c in out]]


def notes(hist: pd.DataFrame, chans: pd.DataFrame, prices: pd.DataFrame, found: list[Flag]) -> dict[str, list[str]]:
    """The 复盘 summary: highlights, problems and improvements, in Chinese."""
    cur, past = hist.iloc[-1], hist.iloc[:-1]
    good, bad, todo = [], [], []
    if len(past) and past["gmv"].mean() > 0:
        change = cur["gmv"] / past["gmv"].mean() - 1
        (good if change >= 0 else bad).append(f"成交金额 ¥{cur['gmv']:,.0f}，较前 {len(past)} 场活动均值{'高' if change >= 0 else '低'} {abs(change) * 100:.1f}%")
    if len(chans):
        best = chans.sort_values("roi").iloc[-1]
        good.append(f"投产最好的渠道：{best['channel']}（ROI {best['roi']:.2f}）")
    bad += [f.message for f in found if f.severity in ("high", "medium")]
    if chans["below_line"].any() if len(chans) else False:
        todo.append("把 ROI 低于警戒线的渠道预算转移到高 ROI 渠道，并复查人群与出价")
    if (prices["status"] == "不合规").any():
        todo.append("活动报名前核对活动价，须低于活动前最低成交价")
    if pd.notna(cur.get("redemption")) and cur.get("redemption", 1) < 0.1:
        todo.append("降低满减门槛或改为无门槛券，提升核销率")
    return {"亮点": good or ["（无）"], "问题": bad or ["（无）"], "改进": todo or ["保持当前节奏"]}


def findings(camp: pd.Series, chans: pd.DataFrame, prices: pd.DataFrame, stock: pd.DataFrame, hist: pd.DataFrame,
             *, min_roi: float, min_redemption: float) -> list[Flag]:
    """Flags: channels under the ROI line, non-compliant promo prices, hot items out of stock, low redemption."""
    name, out = camp["name"], []
    low = chans[chans["below_line"]]
    if len(low):
        out.append(make("campaign.roi", "high", "运营",
                        f"「{name}」{len(low)} 个推广渠道 ROI 低于警戒线 {min_roi:g}（"
                        + "、".join(f"{r.channel} {r.roi:.2f}" for r in low.itertuples()) + "）：请调整预算分配", low))
    bad_price = prices[prices["status"] == "不合规"]
    if len(bad_price):
        out.append(make("campaign.price", "high", "运营",
                        f"「{name}」{len(bad_price)} 个商品活动价不低于活动前最低成交价，存在价格违规风险", bad_price))
    no_base = prices[prices["status"] == "无基准"]
    if len(no_base):
        out.append(make("campaign.price_unknown", "low", "运营",
                        f"「{name}」{len(no_base)} 个活动商品活动前没有成交记录，无法核对活动价", no_base))
    empty = stock[stock["min_stock"].notna() & (stock["min_stock"] <= 0)]
    if len(empty):
        out.append(make("campaign.stockout", "medium", "仓储/供应链",
                        f"「{name}」{len(empty)} 个热销商品活动期间断货：请复盘备货计划", empty))
    cur = hist.iloc[-1]
    if pd.notna(cur.get("redemption")) and cur["redemption"] < min_redemption:
        out.append(make("campaign.coupon", "medium", "运营",
                        f"「{name}」优惠券核销率 {cur['redemption'] * 100:.1f}%，低于 {min_redemption * 100:.0f}%：建议降低门槛"))
    return out


def headline(camp: pd.Series, this: pd.Series, live: bool) -> tuple[dict, dict[str, str]]:
    """The campaign's headline metrics (None where missing) and their formatted cards."""
    def num(v):
        return None if v is None or pd.isna(v) else float(v)
    metrics = {"campaign_id": camp["campaign_id"], "gmv": num(this["gmv"]), "spend": num(this["spend"]),
               "roi": num(this["roi"]), "redemption": num(this.get("redemption"))}
    roi = "—" if metrics["roi"] is None else f"{metrics['roi']:.2f}"
    cards = {"活动": f"{camp['name']}（{'进行中' if live else '已结束'}）", "成交金额": report.money(metrics["gmv"]),
             "推广花费": report.money(metrics["spend"]), "整体 ROI": roi,
             "支付转化率": report.pct(num(this["conversion"])), "券核销率": report.pct(metrics["redemption"])}
    return metrics, cards
