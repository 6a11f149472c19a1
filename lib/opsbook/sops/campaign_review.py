"""Campaign review (活动复盘): per campaign and channel results, ROI warning line, promo price check, comparison."""
from __future__ import annotations

import datetime as dt

import pandas as pd

from .. import report
from ..errors import DataError
from ..flags import Flag, make
from ..sources import Source

# Chinese labels of the headline metrics in result.json (what delivered report cards show), with their number
# format (`report.FORMATS`) where the name alone would not tell it
METRICS = {"campaign_id": "活动ID", "last_day": "统计截至", "gmv": "成交金额", "spend": "推广花费",
           "overall_roi": "整体 ROI", "ad_roi": "广告 ROI", "redemption": ("券核销率", "pct")}

LABELS = {
    "promo_price": "活动价", "min_price_before": "活动前最低价", "status": "检查结果", "min_stock": "活动期最低库存",
    "ad_gmv": "广告成交金额", "ad_roi": "广告 ROI", "overall_roi": "整体 ROI", "kind": "类型", "budget": "预算",
    "basis": "对比依据", "span": "统计区间", "units": "销量（件）", "cover_days": "可售天数",
}
CONVERSION_NOTE = "支付转化率 = 活动买家数 ÷ 活动期间该平台的访客数（平台全部访客，不只是活动页面）"
SAME_TIME_WINDOW = 45  # days: an earlier campaign of the same platform and type starting within this of a year before


def pick(src: Source, campaign_id: str, as_of: dt.date) -> pd.Series:
    """The campaign to review: the given id, else the one running on `as_of`, else the last ended before it."""
    src.check("campaigns")
    camps = src.table("campaigns")
    if campaign_id:
        found = camps[camps["campaign_id"] == campaign_id]
        if found.empty:
            known = "、".join(camps.sort_values("start_date")["campaign_id"].tail(8))
            raise DataError(f"找不到活动 {campaign_id}（最近的活动ID：{known}）")
        camp = found.iloc[0]
        if camp["start_date"].date() > as_of:
            raise DataError(f"活动 {campaign_id}（{camp['name']}）{camp['start_date']:%Y-%m-%d} 才开始，参考日期 {as_of} "
                            "时还没有数据：请把参考日期设为活动开始之后")
        return camp
    day = pd.Timestamp(as_of)
    running = camps[(camps["start_date"] <= day) & (camps["end_date"] >= day)]
    ended = camps[camps["end_date"] < day]
    if running.empty and ended.empty:
        raise DataError(f"{as_of} 之前没有已开始的活动：请检查参考日期或 campaigns 表")
    # ties (one festival on several platforms) go to the larger budget
    key = ["start_date", "budget"] if "budget" in camps else ["start_date"]
    return running.sort_values(key).iloc[-1] if len(running) else ended.sort_values(["end_date"] + key[1:]).iloc[-1]


def window(camp: pd.Series, as_of: dt.date) -> tuple[dt.date, dt.date, bool]:
    """(first day, last day counted, still running?) — a running campaign counts only up to the end of `as_of`."""
    start, end = camp["start_date"].date(), camp["end_date"].date()
    live = start <= as_of < end
    return start, (as_of if live else end), live


def results(src: Source, camps: pd.DataFrame) -> pd.DataFrame:
    """Per campaign, counting its days up to `last_day`: GMV, orders, buyers, AOV, spend, ad GMV, both ROIs, UV, PV,
    conversion, and coupon redemption (only for campaigns whose counted days reach their end)."""
    cut = camps.assign(last_day=camps.get("last_day", camps["end_date"]))
    con = src.connect()
    con.register("_camps", cut[["campaign_id", "platform", "start_date", "end_date", "last_day"]])
    try:
        sales = src.sql("""
            SELECT o.campaign_id, round(sum(o.amount), 2) AS gmv, count(DISTINCT o.order_id) AS orders,
                   count(DISTINCT o.customer_id) AS buyers
            FROM paid_orders o JOIN _camps c USING (campaign_id)
            WHERE CAST(o.pay_time AS DATE) <= CAST(c.last_day AS DATE)
            GROUP BY 1""")
        ads = src.sql("""
            SELECT a.campaign_id, round(sum(a.spend), 2) AS spend, round(sum(a.gmv), 2) AS ad_gmv,
                   CAST(sum(a.impressions) AS BIGINT) AS impressions, CAST(sum(a.clicks) AS BIGINT) AS clicks
            FROM ad_spend a JOIN _camps c USING (campaign_id)
            WHERE a.date <= CAST(c.last_day AS DATE) GROUP BY 1""") if src.has("ad_spend") else None
        traffic = src.sql("""
            SELECT c.campaign_id, CAST(sum(t.uv) AS BIGINT) AS uv, CAST(sum(t.pv) AS BIGINT) AS pv
            FROM traffic_daily t JOIN _camps c ON t.platform = c.platform
             AND t.date BETWEEN CAST(c.start_date AS DATE) AND CAST(c.last_day AS DATE)
            GROUP BY 1""") if src.has("traffic_daily") else None
    finally:
        con.unregister("_camps")
    out = cut.merge(sales, on="campaign_id", how="left").fillna({"gmv": 0.0, "orders": 0, "buyers": 0})
    for extra in (ads, traffic):
        if extra is not None:
            out = out.merge(extra, on="campaign_id", how="left")
    if ads is not None:  # the table is there: a campaign without rows in it spent nothing
        out = out.fillna({"spend": 0.0, "ad_gmv": 0.0, "impressions": 0, "clicks": 0})
    for col in ("spend", "ad_gmv", "impressions", "clicks", "uv", "pv"):  # absent tables leave them empty
        if col not in out:
            out[col] = float("nan")
    spend = out["spend"].where(out["spend"] > 0)
    out["aov"] = out["gmv"] / out["buyers"].where(out["buyers"] > 0)
    out["overall_roi"] = out["gmv"] / spend
    out["ad_roi"] = out["ad_gmv"] / spend
    out["conversion"] = out["buyers"] / out["uv"].where(out["uv"] > 0)
    whole = out["last_day"] >= out["end_date"]  # coupon counts are campaign totals: no figure for part of one
    out["redemption"] = (out["coupons_used"] / out["coupons_issued"].where(out["coupons_issued"] > 0)).where(whole) \
        if "coupons_issued" in out else float("nan")
    return out


def channels(src: Source, campaign_id: str, last_day: dt.date, min_roi: float) -> pd.DataFrame:
    """Per paid channel up to `last_day`: spend, impressions, clicks, CTR, CPC, ad GMV, ad ROI, under the line?"""
    columns = ["channel", "spend", "impressions", "clicks", "ctr", "cpc", "ad_gmv", "ad_roi", "below_line"]
    if not src.has("ad_spend"):
        return pd.DataFrame(columns=columns)
    df = src.sql("SELECT channel, round(sum(spend), 2) AS spend, CAST(sum(impressions) AS BIGINT) AS impressions, "
                 "CAST(sum(clicks) AS BIGINT) AS clicks, round(sum(gmv), 2) AS ad_gmv FROM ad_spend "
                 "WHERE campaign_id = ? AND date <= ? GROUP BY channel ORDER BY spend DESC", [campaign_id, last_day])
    df["ctr"] = df["clicks"] / df["impressions"]
    df["cpc"] = df["spend"] / df["clicks"]
    df["ad_roi"] = df["ad_gmv"] / df["spend"]
    df["below_line"] = df["ad_roi"] < min_roi
    return df[columns]


def daily(src: Source, camp: pd.Series, first: dt.date, last: dt.date) -> pd.DataFrame:
    """Every day of the campaign up to `last`: GMV and orders of its paid orders, and its ad spend."""
    days = pd.DataFrame({"date": pd.date_range(first, last, freq="D")})
    sales = src.sql("""
        SELECT CAST(pay_time AS DATE) AS date, round(sum(amount), 2) AS gmv, count(DISTINCT order_id) AS orders
        FROM paid_orders WHERE campaign_id = ? AND CAST(pay_time AS DATE) BETWEEN ? AND ?
        GROUP BY 1""", [camp["campaign_id"], first, last])
    spend = src.sql("SELECT date, sum(spend) AS spend FROM ad_spend WHERE campaign_id = ? AND date BETWEEN ? AND ? "
                    "GROUP BY 1", [camp["campaign_id"], first, last]) if src.has("ad_spend") else \
        pd.DataFrame({"date": pd.Series(dtype="datetime64[us]"), "spend": pd.Series(dtype="float64")})
    for part in (sales, spend):
        part["date"] = pd.to_datetime(part["date"])
    return days.merge(sales, on="date", how="left").merge(spend, on="date", how="left")


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


def hot_stock(src: Source, camp: pd.Series, first: dt.date, last: dt.date, top: int,
              min_cover_days: float) -> pd.DataFrame:
    """The campaign's `top` best-selling SKUs up to `last`: units sold, lowest and latest stock, days of cover at the
    campaign's pace, and a status: 已断货, 库存不足 (while it runs: cover under `min_cover_days`), 充足, or 无库存数据
    when the inventory table does not cover them."""
    columns = ["sku", "gmv", "units", "min_stock", "stock", "cover_days", "status"]
    hot = src.sql(f"""
        SELECT sku, round(sum(amount), 2) AS gmv, CAST(sum(quantity) AS BIGINT) AS units FROM paid_orders
        WHERE campaign_id = ? AND CAST(pay_time AS DATE) <= ? GROUP BY sku ORDER BY gmv DESC, sku LIMIT {int(top)}""",
                  [camp["campaign_id"], last])
    if src.has("inventory"):
        stock = src.sql("""
            SELECT sku, min(stock) AS min_stock, arg_max(stock, date) AS stock FROM inventory
            WHERE date BETWEEN ? AND ? GROUP BY sku""", [first, last])
        hot = hot.merge(stock, on="sku", how="left")
    else:
        hot = hot.assign(min_stock=float("nan"), stock=float("nan"))
    pace = hot["units"] / ((last - first).days + 1)
    hot["cover_days"] = (hot["stock"] / pace.where(pace > 0)).round(1)
    live = last < camp["end_date"].date()
    hot["status"] = ["无库存数据" if pd.isna(now) else "已断货" if low <= 0 else
                     "库存不足" if live and pd.notna(cover) and cover < min_cover_days else "充足"
                     for low, now, cover in zip(hot["min_stock"], hot["stock"], hot["cover_days"])]
    return hot[columns]


def past_campaigns(src: Source, camp: pd.Series, n: int, last_day: dt.date) -> pd.DataFrame:
    """This campaign (up to `last_day`) and up to `n` earlier ones to compare with: the same campaign a year before
    (去年同期) first, then earlier campaigns of the same platform and type; while this one runs, each earlier one
    counts its first days only (as many as this one has had). `basis` says why each was chosen."""
    camps = src.table("campaigns")
    earlier = camps[(camps["end_date"] < camp["start_date"]) & (camps["platform"] == camp["platform"])]
    if "kind" in camps and pd.notna(camp.get("kind")):
        earlier = earlier[earlier["kind"] == camp["kind"]]
    year_before = camp["start_date"] - pd.DateOffset(years=1)
    same_time = (earlier["start_date"] - year_before).abs() <= pd.Timedelta(days=SAME_TIME_WINDOW)
    chosen = pd.concat([earlier[same_time].sort_values("start_date", ascending=False).head(1),
                        earlier[~same_time].sort_values("start_date", ascending=False)]).head(n)
    kind = f"{camp['kind']}" if pd.notna(camp.get("kind")) else ""
    chosen = chosen.assign(basis=["去年同期" if s else f"同平台同类型（{camp['platform']} {kind}）".replace(" ）", "）")
                                  for s in same_time.reindex(chosen.index)])
    elapsed = (last_day - camp["start_date"].date()).days
    live = last_day < camp["end_date"].date()
    chosen["last_day"] = [min(end, start + pd.Timedelta(days=elapsed)) if live else end
                          for start, end in zip(chosen["start_date"], chosen["end_date"])]
    this = camps[camps["campaign_id"] == camp["campaign_id"]].assign(basis="本次", last_day=pd.Timestamp(last_day))
    out = results(src, pd.concat([this, chosen], ignore_index=True))
    out["span"] = [f"{s:%Y-%m-%d} 至 {e:%Y-%m-%d}" for s, e in zip(out["start_date"], out["last_day"])]
    cols = ["campaign_id", "name", "platform", "basis", "span", "gmv", "orders", "buyers", "aov", "spend",
            "overall_roi", "ad_roi", "uv", "conversion", "redemption"]
    return out[[c for c in cols if c in out]]


def channel_note(chans: pd.DataFrame, src: Source) -> str:
    """What an empty channel table means."""
    if len(chans):
        return ""
    return "数据源中没有 ad_spend（推广花费）表" if not src.has("ad_spend") else "该活动在统计期内没有推广花费记录"


def notes(hist: pd.DataFrame, chans: pd.DataFrame, prices: pd.DataFrame, stock: pd.DataFrame, found: list[Flag],
          *, min_redemption: float, live: bool) -> dict[str, list[str]]:
    """The 复盘 summary: highlights, problems and improvements, in Chinese (every threshold a parameter)."""
    cur, past = hist.iloc[0], hist.iloc[1:]
    good, bad, todo = [], [], []
    compared = "、".join(f"{r.name}（{r.basis}）" for r in past.itertuples()) if len(past) else \
        "没有去年同期或同平台同类型的往期活动可对比"
    base = past[past["basis"] == "去年同期"] if (past["basis"] == "去年同期").any() else past
    if len(base) and base["gmv"].mean() > 0:
        change = cur["gmv"] / base["gmv"].mean() - 1
        what = f"去年同期（{base.iloc[0]['name']}）" if base.iloc[0]["basis"] == "去年同期" else f"前 {len(base)} 场同类活动均值"
        (good if change >= 0 else bad).append(f"成交金额 ¥{cur['gmv']:,.0f}，较{what}{'高' if change >= 0 else '低'} "
                                             f"{abs(change) * 100:.1f}%")
    if len(chans) and chans["ad_roi"].notna().any():
        best = chans.sort_values("ad_roi").iloc[-1]
        good.append(f"投产最好的渠道：{best['channel']}（广告 ROI {best['ad_roi']:.2f}）")
    bad += [f.message for f in found if f.severity in ("high", "medium")]
    if len(chans) and chans["below_line"].any():
        todo.append("把广告 ROI 低于警戒线的渠道预算转移到高 ROI 渠道，并复查人群与出价")
    if (prices["status"] == "不合规").any():
        todo.append("活动报名前核对活动价，须低于活动前最低成交价")
    if stock["status"].isin(["已断货", "库存不足"]).any():
        todo.append("热销品按当前销售速度补货，或调整活动资源位")
    if pd.notna(cur.get("redemption")) and cur["redemption"] < min_redemption:
        todo.append(f"券核销率低于 {min_redemption * 100:.0f}%：降低满减门槛或改为无门槛券")
    return {"对比": [compared + ("；进行中的活动与往期活动都按相同天数统计" if live and len(past) else "")],
            "亮点": good or ["（无）"], "问题": bad or ["（无）"], "改进": todo or ["保持当前节奏"]}


def findings(camp: pd.Series, chans: pd.DataFrame, prices: pd.DataFrame, stock: pd.DataFrame, hist: pd.DataFrame,
             last_day: dt.date, *, min_roi: float, min_redemption: float, min_cover_days: float,
             roi_min_days: int) -> list[Flag]:
    """Flags: no sales at all, channels under the ROI line (once the campaign has run `roi_min_days`), non-compliant
    promo prices, hot items out of or low on stock, low redemption."""
    name, out = camp["name"], []
    if not hist.iloc[0]["gmv"]:
        out.append(make("campaign.no_sales", "high", "数据分析",
                        f"「{name}」截至 {last_day} 没有一笔成交订单：请检查订单是否已导入，以及订单的活动ID（campaign_id）"
                        f"是否填写为 {camp['campaign_id']}"))
    low = chans[chans["below_line"]]
    days = (last_day - camp["start_date"].date()).days + 1
    if len(low) and days < roi_min_days:
        low = low.iloc[0:0]  # a day or two of attributed sales says little about a channel
    if len(low):
        out.append(make("campaign.roi", "high", "运营",
                        f"「{name}」{len(low)} 个推广渠道广告 ROI 低于警戒线 {min_roi:g}（"
                        + "、".join(f"{r.channel} {r.ad_roi:.2f}" for r in low.itertuples()) + "）：请调整预算分配", low))
    bad_price = prices[prices["status"] == "不合规"]
    if len(bad_price):
        out.append(make("campaign.price", "high", "运营",
                        f"「{name}」{len(bad_price)} 个商品活动价不低于活动前最低成交价，存在价格违规风险", bad_price))
    no_base = prices[prices["status"] == "无基准"]
    if len(no_base):
        out.append(make("campaign.price_unknown", "low", "运营",
                        f"「{name}」{len(no_base)} 个活动商品活动前没有成交记录，无法核对活动价", no_base))
    empty = stock[stock["status"] == "已断货"]
    if len(empty):
        out.append(make("campaign.stockout", "medium", "仓储/供应链",
                        f"「{name}」{len(empty)} 个热销商品活动期间断货：请复盘备货计划", empty))
    short = stock[stock["status"] == "库存不足"]
    if len(short):
        out.append(make("campaign.low_cover", "medium", "仓储/供应链",
                        f"「{name}」{len(short)} 个热销商品按活动期销售速度只够卖不到 {min_cover_days:g} 天（"
                        + "、".join(f"{r.sku} {r.cover_days:g} 天" for r in short.itertuples()) + "）：请尽快补货", short))
    unknown = stock[stock["status"] == "无库存数据"]
    if len(unknown):
        out.append(make("campaign.no_stock_data", "low", "仓储/供应链",
                        f"「{name}」{len(unknown)} 个热销商品在活动期间没有库存数据，无法判断是否断货：请导入库存快照", unknown))
    cur = hist.iloc[0]
    if pd.notna(cur.get("redemption")) and cur["redemption"] < min_redemption:
        out.append(make("campaign.coupon", "medium", "运营",
                        f"「{name}」优惠券核销率 {cur['redemption'] * 100:.1f}%，低于 {min_redemption * 100:.0f}%：建议降低门槛"))
    return out


def headline(camp: pd.Series, this: pd.Series, live: bool, last_day: dt.date) -> tuple[dict, dict[str, str]]:
    """The campaign's headline metrics (None where missing) and their cards; a running one says 截至 which day."""
    def num(v):
        return None if v is None or pd.isna(v) else float(v)
    metrics = {"campaign_id": camp["campaign_id"], "last_day": last_day.isoformat(), "gmv": num(this["gmv"]),
               "spend": num(this["spend"]), "overall_roi": num(this["overall_roi"]), "ad_roi": num(this["ad_roi"]),
               "redemption": num(this.get("redemption"))}
    state = f"进行中，截至 {last_day:%Y-%m-%d}" if live else "已结束"
    ratio = {k: "—" if metrics[k] is None else f"{metrics[k]:.2f}" for k in ("overall_roi", "ad_roi")}
    cards = {"活动": f"{camp['name']}（{state}）", "成交金额": report.money(metrics["gmv"]),
             "推广花费": report.money(metrics["spend"]), "整体 ROI（活动 GMV ÷ 总花费）": ratio["overall_roi"],
             "广告 ROI（广告成交 ÷ 广告花费）": ratio["ad_roi"], "支付转化率": report.pct(num(this["conversion"])),
             "券核销率": report.pct(metrics["redemption"]) if not live else "活动结束后统计"}
    return metrics, cards
