"""RFM user tiering: scores and the 8 Chinese segments, computed in DuckDB over the orders table."""
from __future__ import annotations

import datetime as dt
import math

import pandas as pd

from ..flags import Flag, make
from ..settings import TZ_NAME
from ..sources import Source

# (R high = recent, F high, M high) → segment; R is better when smaller, so "high" R means recent.
# The order matters: segment_code = (not R) + 2·(not F) + 4·(not M) indexes this list.
SEGMENTS = {
    (True, True, True): "重要价值客户",
    (False, True, True): "重要保持客户",
    (True, False, True): "重要发展客户",
    (False, False, True): "重要挽留客户",
    (True, True, False): "一般价值客户",
    (False, True, False): "一般保持客户",
    (True, False, False): "一般发展客户",
    (False, False, False): "一般挽留客户",
}
ACTIONS = {
    "重要价值客户": "VIP 专属客服与新品优先体验，保持高频互动",
    "重要保持客户": "消费高但久未购买：专人回访，发放专属召回券",
    "重要发展客户": "近期消费高但频次低：会员权益与复购券，提升购买频次",
    "重要挽留客户": "高价值流失风险：短信/电话挽回，了解流失原因",
    "一般价值客户": "频次高客单低：搭配套餐与满减，提升客单价",
    "一般保持客户": "定期推送活动信息，低成本唤醒",
    "一般发展客户": "新客培育：首购后关怀与第二单优惠",
    "一般挽留客户": "低成本触达或暂缓投入",
}
# what to do with an important customer who has stopped buying, by segment (the recall list's action)
RECALL_ACTIONS = {
    "重要价值客户": "VIP 专属回访：问候近况，赠送新品试用或专属礼遇，邀请回店",
    "重要保持客户": "专人回访，发放专属召回券",
    "重要发展客户": "发放复购券并推荐关联商品，培养购买习惯",
    "重要挽留客户": "电话或短信挽回：了解流失原因，给出大额召回券",
}
SEGMENT_ORDER = list(SEGMENTS.values())

# Chinese labels of the headline metrics in result.json (what delivered report cards show), with their number
# format (`report.FORMATS`) where the name alone would not tell it
METRICS = {"customers": "客户数", "monetary": "消费金额（扣退款）", "segments": "客户分层",
           "recall_due": "超 30 天未购的重要客户", "recall": "召回名单人数"}
# the SOP's follow-up time of a flag (ops/tasks.py): the recall list is worked through within recall_within_days
FOLLOW_UP = {"rfm.recall": "recall_within_days"}

LABELS = {
    "recency": "最近购买距今（天）", "frequency": "购买次数", "monetary": "消费金额", "segment": "客户分层",
    "action": "运营动作", "customers": "客户数", "share": "占比", "last_order": "最近购买日期", "r_score": "R",
    "f_score": "F", "m_score": "M", "monetary_share": "消费额占比", "offer": "满减券", "suggestion": "建议调整为",
}


def _window(as_of: dt.date, lookback_days: int) -> tuple[str, str]:
    """[start, end) instants: the `lookback_days` days ending with the whole as-of day."""
    end = as_of + dt.timedelta(days=1)
    return str(end - dt.timedelta(days=lookback_days)), str(end)


def query(as_of: dt.date, lookback_days: int, method: str, high_score: int = 4,
          recent_days: int = 0) -> tuple[str, list]:
    """The RFM SQL (one scan of orders) and its parameters; segment_code indexes SEGMENT_ORDER.

    `recent_days` > 0 splits R by days instead (a last purchase at most that many days ago is recent).
    """
    start, end = _window(as_of, lookback_days)
    if method == "mean":
        # recent = at most the mean recency: customers who all bought on one day are all recent, not all churning
        scores, split = "", """recency <= avg(recency) OVER () AS r_high, frequency > avg(frequency) OVER () AS f_high,
                               monetary > avg(monetary) OVER () AS m_high"""
    else:
        # percent_rank puts ties together (most customers buy once: they all get F = 1); recency inverted
        scores = """, 1 + least(4, CAST(floor(percent_rank() OVER (ORDER BY recency DESC) * 5) AS INTEGER)) AS r_score,
                    1 + least(4, CAST(floor(percent_rank() OVER (ORDER BY frequency) * 5) AS INTEGER)) AS f_score,
                    1 + least(4, CAST(floor(percent_rank() OVER (ORDER BY monetary) * 5) AS INTEGER)) AS m_score"""
        h = int(high_score)
        split = f"r_score >= {h} AS r_high, f_score >= {h} AS f_high, m_score >= {h} AS m_high"
    if recent_days:
        split = f"recency <= {int(recent_days)} AS r_high, " + split.split(",", 1)[1]
    sql = f"""
    WITH per_order AS (
        SELECT customer_id, order_id, max(pay_time) AS paid_at,
               sum(amount - coalesce(refund_amount, 0)) AS net
        FROM paid_orders
        WHERE pay_time >= CAST(? AS TIMESTAMPTZ) AND pay_time < CAST(? AS TIMESTAMPTZ)
        GROUP BY customer_id, order_id
    ), per_customer AS (
        SELECT customer_id,
               CAST(floor(epoch(CAST(? AS TIMESTAMPTZ) - max(paid_at)) / 86400) AS INTEGER) AS recency,
               count(*) AS frequency, round(sum(net), 2) AS monetary, max(paid_at) AS last_order
        FROM per_order GROUP BY customer_id
    ), scored AS (SELECT *{scores} FROM per_customer),
    split AS (SELECT *, {split} FROM scored)
    SELECT * EXCLUDE (r_high, f_high, m_high),
           CAST((CASE WHEN r_high THEN 0 ELSE 1 END) + (CASE WHEN f_high THEN 0 ELSE 2 END)
                + (CASE WHEN m_high THEN 0 ELSE 4 END) AS TINYINT) AS segment_code
    FROM split
    """
    return sql, [start, end, end]


def compute(src: Source, as_of: dt.date, lookback_days: int = 365, method: str = "mean",
            high_score: int = 4, recent_days: int = 0) -> pd.DataFrame:
    """Per customer: recency (whole days since the last paid order), frequency, monetary, (scores,) segment."""
    src.check("orders")
    sql, params = query(as_of, lookback_days, method, high_score, recent_days)
    df = src.sql(sql, params)
    codes = df.pop("segment_code").to_numpy()
    return df.assign(segment=pd.Categorical.from_codes(codes, categories=SEGMENT_ORDER))


def summary(rfm: pd.DataFrame) -> pd.DataFrame:
    """One row per segment: customers, share, averages, share of spend and the action."""
    total_m = rfm["monetary"].sum() or 1.0
    out = (rfm.groupby("segment", observed=False)
           .agg(customers=("customer_id", "size"), recency=("recency", "mean"),
                frequency=("frequency", "mean"), monetary=("monetary", "sum"))
           .reset_index())
    out["share"] = out["customers"] / max(len(rfm), 1)
    out["monetary_share"] = out["monetary"] / total_m
    out["recency"] = out["recency"].round(1)
    out["frequency"] = out["frequency"].round(2)
    out["action"] = out["segment"].map(ACTIONS).astype("str")
    out["segment"] = out["segment"].astype("str")
    return out[["segment", "customers", "share", "recency", "frequency", "monetary", "monetary_share", "action"]]


def due_for_recall(rfm: pd.DataFrame, recall_days: int) -> pd.DataFrame:
    """Important customers (重要*) without a purchase for more than `recall_days`, the biggest spenders first."""
    important = rfm["segment"].cat.codes < 4  # the first four of SEGMENT_ORDER are 重要*
    return rfm[important & (rfm["recency"] > recall_days)].sort_values("monetary", ascending=False)


def recall_list(due: pd.DataFrame, src: Source, limit: int) -> pd.DataFrame:
    """The `limit` biggest spenders of `due`, each with the masked phone of their latest order and the recall action
    of their segment."""
    top = due.head(limit)
    con = src.connect()
    con.register("_recall_ids", top[["customer_id"]])
    try:
        phones = src.sql("SELECT o.customer_id, arg_max(o.phone, o.order_time) AS phone FROM orders o "
                         "JOIN _recall_ids r USING (customer_id) GROUP BY o.customer_id")
    finally:
        con.unregister("_recall_ids")
    top = top.merge(phones, on="customer_id", how="left")
    segment = top["segment"].astype("str")
    top = top.assign(last_order=top["last_order"].dt.tz_convert(TZ_NAME).dt.normalize().dt.tz_localize(None),
                     segment=segment, action=segment.map(RECALL_ACTIONS))
    return top[_RECALL_COLUMNS].reset_index(drop=True)


_RECALL_COLUMNS = ["customer_id", "phone", "segment", "last_order", "recency", "frequency", "monetary", "action"]


def coupon_suggestion(threshold: float, discount: float, typical_order: float) -> tuple[float, float]:
    """A lower 满X减Y when redemption is low: threshold under the typical order, same rate less 5%.

    Seed example: 满100减20 with low redemption → 满80减15.
    """
    new_threshold = math.floor(min(typical_order, threshold * 0.8) / 10) * 10 or 10
    new_discount = max(5, round(new_threshold * discount / threshold * 0.95 / 5) * 5)
    return float(new_threshold), float(new_discount)


def coupon_review(src: Source, as_of: dt.date, lookback_days: int, min_redemption: float) -> pd.DataFrame:
    """Coupons of campaigns ended in the window: redemption and a suggested offer where it is low."""
    columns = ["campaign", "offer", "coupons_issued", "coupons_used", "redemption", "suggestion"]
    if not src.has("campaigns"):
        return pd.DataFrame(columns=columns)
    start, end = _window(as_of, lookback_days)
    camps = src.sql(
        "SELECT name, coupon_threshold, coupon_discount, coupons_issued, coupons_used FROM campaigns "
        "WHERE coupon_threshold > 0 AND coupon_discount > 0 AND coupons_issued > 0 AND coupons_used IS NOT NULL "
        "AND end_date >= CAST(? AS DATE) AND end_date < CAST(? AS DATE) ORDER BY end_date", [start[:10], end[:10]])
    typical = src.sql("SELECT median(s) FROM (SELECT order_id, sum(amount) s FROM paid_orders "
                      "WHERE pay_time >= CAST(? AS TIMESTAMPTZ) AND pay_time < CAST(? AS TIMESTAMPTZ) "
                      "GROUP BY order_id)", [start, end]).iloc[0, 0]
    out = camps.rename(columns={"name": "campaign"})
    out["offer"] = [f"满{t:g}减{d:g}" for t, d in zip(out["coupon_threshold"], out["coupon_discount"])]
    out["redemption"] = out["coupons_used"] / out["coupons_issued"]
    out["suggestion"] = [
        "满{:g}减{:g}".format(*coupon_suggestion(t, d, typical if pd.notna(typical) else t)) if r < min_redemption else ""
        for t, d, r in zip(out["coupon_threshold"], out["coupon_discount"], out["redemption"])]
    return out[columns].astype({"coupons_issued": "int64", "coupons_used": "int64"})


def findings(rfm: pd.DataFrame, due: pd.DataFrame, recall: pd.DataFrame, coupons: pd.DataFrame, *,
             recall_days: int, recall_within_days: int, recall_high_share: float, min_redemption: float) -> list[Flag]:
    """Flags for staff: empty window, important customers to recall, coupons redeemed too little."""
    out = []
    if rfm.empty:
        out.append(make("rfm.no_orders", "high", "数据分析", "统计窗口内没有已付款订单：请检查数据源和参考日期"))
        return out
    if len(due):
        at_stake = due["monetary"].sum() / max(rfm["monetary"].sum(), 1e-9)
        listed = f"召回名单按消费金额列出前 {len(recall)} 位" if len(recall) < len(due) else "召回名单列出全部"
        out.append(make("rfm.recall", "high" if at_stake >= recall_high_share else "medium", "运营/CRM",
                        f"{len(due)} 位重要客户超过 {recall_days} 天未购买（占消费额 {at_stake * 100:.1f}%）；{listed}，"
                        f"请在 {recall_within_days} 天内按名单中各自的运营动作完成触达", recall))
    low = coupons[coupons["redemption"] < min_redemption]
    for c in low.itertuples():
        out.append(make(f"rfm.coupon:{c.campaign}", "medium", "运营",
                        f"活动「{c.campaign}」{c.offer} 核销率仅 {c.redemption * 100:.1f}%（低于 {min_redemption * 100:.0f}%），"
                        f"建议调整为 {c.suggestion}", low[low["campaign"] == c.campaign]))
    return out
