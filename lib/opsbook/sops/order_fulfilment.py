"""Order fulfilment (订单履约): the audit batches of the day (09:00, 14:00, 18:00) and the daily summary — the action
list of paid orders waiting to ship (overdue against the ship SLA, incomplete address, remote area, SKU out of stock),
unpaid orders, parcels without movement, lost or damaged parcels not reshipped or refunded in time, and the
miss-shipment rate; SLA counts per payment day. Every count runs in DuckDB over the source (`sla_by_day` is the hot
path the benchmark measures); pandas only shapes the small lists.

The audit is replayed "as of" a moment: a parcel counts as shipped when its ship time is before the moment, an order as
paid when its payment is; a parcel whose last logistics update comes after the moment moved after it (a later export
cannot tell when it last moved before), so it is not called stalled.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..data.tables import PLATFORMS
from ..errors import DataError
from ..flags import Flag, make
from ..settings import TZ
from ..sources import Source
from . import calendar, reference

REMOTE_FILE = Path("data") / "reference" / "remote_areas.yaml"
BATCHES = {"09:00": dt.time(9), "14:00": dt.time(14), "18:00": dt.time(18)}
DAILY = "日汇总"  # the daily summary: the whole day, up to 24:00
LOST_DAMAGED = ("丢件", "破损")
MISSHIPPED = ("错发", "漏发")
OTHER_EXCEPTIONS = ("拒收", "退回", "地址异常")

METRICS = {"audit_time": "审核时刻", "paid_orders": "统计期付款订单", "on_time": "按时发货",
           "late": "超时发货", "overdue": "超时未发货", "waiting": "待发货（未超时）",
           "withdrawn": "未发货已退款", "on_time_rate": ("发货及时率", "pct"), "actions": "待处理异常订单", "stalled": "物流停滞包裹",
           "lost_damaged_open": "丢件破损超时未处理", "parcels": "统计期包裹", "misshipped": "错发漏发包裹",
           "miss_rate": ("错发漏发率", "pct")}
# the SOP's follow-up times of the tasks a scheduled run's flags open (hours, or the parameter holding them): lost or
# damaged parcels within `handle_hours` (24 h: 补发/退款); a stalled parcel is chased within the day (物流每日跟踪);
# overdue orders, stock shortages and unclear addresses by the next audit batch (the batches are 4–5 h apart)
FOLLOW_UP = {"fulfil.lost_damaged": "handle_hours", "fulfil.stalled": 24, "fulfil.overdue": 5,
             "fulfil.out_of_stock": 5, "fulfil.address": 5}

LABELS = {
    "order_id": "订单编号", "pay_day": "付款日期", "pay_time": "付款时间", "order_time": "下单时间",
    "paid_orders": "付款订单", "on_time": "按时发货", "late": "超时发货", "overdue": "超时未发货",
    "waiting": "待发货（未超时）", "withdrawn": "未发货已退款", "on_time_rate": "发货及时率", "sla_hours": "发货时限（小时）",
    "promotion": "大促", "issue": "异常类型", "detail": "说明", "owner": "负责角色", "action": "处理建议",
    "hours": "已过小时数", "deadline": "发货截止时间", "skus": "商家编码", "quantity": "件数",
    "carrier": "快递公司", "tracking_no": "运单号", "ship_time": "发货时间", "last_event_time": "最后物流更新时间",
    "idle_hours": "无物流更新（小时）", "exception": "物流异常", "exception_time": "异常时间",
    "handled": "处理情况", "reship_time": "补发时间", "refund_amount": "退款金额", "parcels": "包裹数",
    "misshipped": "错发漏发", "wrong": "错发", "missing": "漏发", "miss_rate": "错发漏发率", "stock": "可售库存",
    "snapshot": "库存快照日期", "ship_hours": "付款到发货（小时）",
}
ISSUES = {  # issue → (owner, action)
    "超时未发货": ("仓储", "立即拣货发货；无法发货的请客服联系客户说明并协商改期或退款"),
    "缺货": ("仓储/客服", "库存不足：通知客户并协商退款或改期，同时安排补货"),
    "地址不全": ("客服", "地址不详：主动联系客户确认收货地址后再发货"),
    "偏远地区": ("仓储", "偏远地区：确认可达快递与运费，必要时与客户沟通时效"),
    "未付款": ("客服", "催付：提醒客户付款，超时未付按平台规则关闭"),
}
ISSUE_ORDER = {k: i for i, k in enumerate(ISSUES)}


@dataclass(frozen=True)
class Rules:
    """The thresholds of one audit, all parameters."""

    sla_hours: int
    promo_sla_hours: int
    unpaid_hours: int
    stall_hours: int
    handle_hours: int
    stock_floor: int
    lookback_days: int
    miss_days: int
    max_miss_rate: float
    summary_days: int

    @classmethod
    def of(cls, p) -> Rules:
        """The thresholds from the run's parameters (`run.p`)."""
        return cls(p.ship_sla_hours, p.promo_sla_hours, p.unpaid_hours, p.stall_hours, p.handle_hours, p.stock_floor,
                   p.lookback_days, p.miss_days, p.max_miss_rate, p.summary_days)


def audit_time(as_of: dt.date, batch: str) -> dt.datetime:
    """The moment of the audit: the batch's time on `as_of`, or midnight after it for the daily summary."""
    if batch == DAILY:
        return dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(0), TZ)
    if batch not in BATCHES:
        raise DataError(f"审核批次只能是 {' / '.join([*BATCHES, DAILY])}，收到 {batch!r}")
    return dt.datetime.combine(as_of, BATCHES[batch], TZ)


def describe_moment(at: dt.datetime, batch: str) -> str:
    """「2026-06-30 18:00 批次」 or 「2026-06-30 日汇总（截至 24:00）」."""
    if batch == DAILY:
        return f"{(at - dt.timedelta(days=1)):%Y-%m-%d} 日汇总（截至 24:00）"
    return f"{at:%Y-%m-%d %H:%M} 批次"


def promotions(first: dt.date, last: dt.date) -> list[calendar.Promotion]:
    """The big promotions (大促) of the shop's calendar touching [first, last]: the longer SLA applies inside them."""
    return calendar.promotions(first, last)


def _promo_case(promos: list[calendar.Promotion], column: str) -> str:
    """SQL true when the date `column` falls in one of `promos` (our own dates, written as literals)."""
    spans = [f"({column} BETWEEN DATE '{p.start.isoformat()}' AND DATE '{p.end.isoformat()}')" for p in promos]
    return " OR ".join(spans) or "false"


def _platform(platform: str, alias: str = "") -> tuple[str, list]:
    """A WHERE fragment and its parameter for one platform (nothing for 全部)."""
    if platform == "全部":
        return "", []
    if platform not in PLATFORMS:
        raise DataError(f"平台只能是 全部 或 {' / '.join(PLATFORMS)}，收到 {platform!r}")
    return f" AND {alias}platform = ?", [platform]


def coverage(src: Source, platform: str = "全部") -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """The first ship time and the latest logistics time (ship, update or delivery) of the source's parcels."""
    src.check("shipments")
    src.check("orders")
    where, args = _platform(platform)
    first, last = src.sql(f"""
        SELECT min(ship_time), max(greatest(ship_time, coalesce(last_event_time, ship_time),
                                            coalesce(delivered_time, ship_time)))
        FROM shipments WHERE true{where}""", args).iloc[0]
    return (pd.Timestamp(first) if pd.notna(first) else None, pd.Timestamp(last) if pd.notna(last) else None)


def window_start(at: dt.datetime, days: int, since: pd.Timestamp | None) -> dt.datetime:
    """Midnight `days` days before the audit's day (the audit's day included), not before the parcels' data begins:
    orders paid before the first parcel on file would all look unshipped."""
    day = (at - dt.timedelta(microseconds=1)).date()
    start = dt.datetime.combine(day - dt.timedelta(days=days - 1), dt.time(0), TZ)
    if since is not None and since.to_pydatetime() > start:
        start = since.to_pydatetime()
    return start


def _orders_sql(where: str) -> str:
    """Paid, real orders (one row per order) paid in [?, ?) and the first parcel of each shipped before ?."""
    return f"""
        o AS (SELECT platform, order_id, min(pay_time) AS pay_time, bool_and(status = 'refunded') AS refunded
              FROM paid_orders WHERE pay_time >= ? AND pay_time < ?{where} GROUP BY platform, order_id),
        s AS (SELECT platform, order_id, min(ship_time) AS shipped FROM shipments
              WHERE ship_time < ?{where} GROUP BY platform, order_id)"""


def sla_by_day(src: Source, at: dt.datetime, start: dt.datetime, rules: Rules, promos: list[calendar.Promotion],
               platform: str = "全部") -> pd.DataFrame:
    """Per payment day in [start, at): paid orders, shipped on time, shipped late, not shipped past the SLA
    (overdue), waiting within it, refunded before shipping; the SLA is `promo_sla_hours` for payments inside a big
    promotion, else `sla_hours`; all counted in DuckDB."""
    where, args = _platform(platform)
    frame = src.sql(f"""
        WITH {_orders_sql(where)},
        k AS (SELECT CAST(o.pay_time AS DATE) AS pay_day, o.refunded, s.shipped,
                     o.pay_time + to_hours(CASE WHEN {_promo_case(promos, 'CAST(o.pay_time AS DATE)')} THEN ? ELSE ? END)
                       AS deadline
              FROM o LEFT JOIN s USING (platform, order_id))
        SELECT pay_day, count(*) AS paid_orders,
               count(*) FILTER (shipped IS NOT NULL AND shipped <= deadline) AS on_time,
               count(*) FILTER (shipped > deadline) AS late,
               count(*) FILTER (shipped IS NULL AND NOT refunded AND deadline <= ?) AS overdue,
               count(*) FILTER (shipped IS NULL AND NOT refunded AND deadline > ?) AS waiting,
               count(*) FILTER (shipped IS NULL AND refunded) AS withdrawn
        FROM k GROUP BY pay_day ORDER BY pay_day""",
                    [start, at, *args, at, *args, rules.promo_sla_hours, rules.sla_hours, at, at])
    decided = frame["on_time"] + frame["late"] + frame["overdue"]
    frame["on_time_rate"] = (frame["on_time"] / decided).where(decided > 0)
    frame["pay_day"] = pd.to_datetime(frame["pay_day"])
    frame["promotion"] = frame["pay_day"].map(lambda d: _promo_name(promos, d.date())).astype("str")
    frame["sla_hours"] = (frame["promotion"] != "").map({True: rules.promo_sla_hours, False: rules.sla_hours}
                                                        ).astype("int64")
    return frame[["pay_day", "promotion", "sla_hours", "paid_orders", "on_time", "late", "overdue", "waiting",
                  "withdrawn", "on_time_rate"]]


def _promo_name(promos: list[calendar.Promotion], day: dt.date) -> str:
    return next((p.name for p in promos if p.start <= day <= p.end), "")


def late_shipments(src: Source, at: dt.datetime, start: dt.datetime, rules: Rules, promos: list[calendar.Promotion],
                   platform: str = "全部") -> pd.DataFrame:
    """Orders paid in [start, at) whose first parcel left after the SLA (before `at`), with the hours it took."""
    where, args = _platform(platform)
    return src.sql(f"""
        WITH {_orders_sql(where)},
        k AS (SELECT o.platform, o.order_id, o.pay_time, s.shipped AS ship_time,
                     CASE WHEN {_promo_case(promos, 'CAST(o.pay_time AS DATE)')} THEN ? ELSE ? END AS sla_hours
              FROM o JOIN s USING (platform, order_id))
        SELECT platform, order_id, pay_time, ship_time, sla_hours,
               round(epoch(ship_time - pay_time) / 3600, 1) AS ship_hours
        FROM k WHERE ship_time > pay_time + to_hours(sla_hours) ORDER BY pay_time""",
                   [start, at, *args, at, *args, rules.promo_sla_hours, rules.sla_hours])


def remote_provinces() -> list[str]:
    """The remote provinces of `data/reference/remote_areas.yaml` (short names; 新疆 matches 新疆维吾尔自治区)."""
    data = reference.read(REMOTE_FILE, "偏远地区清单")
    names = data.get("provinces") if isinstance(data, dict) else None
    if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
        raise DataError(f"偏远地区清单 {REMOTE_FILE} 应有 provinces: [省份, …]（如 新疆、西藏）")
    return [n.strip() for n in names]


def waiting_orders(src: Source, at: dt.datetime, start: dt.datetime, rules: Rules, promos: list[calendar.Promotion],
                   platform: str = "全部") -> pd.DataFrame:
    """Paid orders in [start, at) not shipped by `at` nor refunded: address, SKUs and quantity, hours since payment,
    the ship deadline and whether it has passed."""
    where, args = _platform(platform)
    frame = src.sql(f"""
        WITH o AS (SELECT platform, order_id, min(pay_time) AS pay_time, bool_and(status = 'refunded') AS refunded,
                          any_value(province) AS province, any_value(city) AS city,
                          string_agg(DISTINCT sku, '、' ORDER BY sku) AS skus, sum(quantity) AS quantity
                   FROM paid_orders WHERE pay_time >= ? AND pay_time < ?{where} GROUP BY platform, order_id),
        s AS (SELECT DISTINCT platform, order_id FROM shipments WHERE ship_time < ?{where})
        SELECT o.platform, o.order_id, o.pay_time, o.province, o.city, o.skus, o.quantity,
               o.pay_time + to_hours(CASE WHEN {_promo_case(promos, 'CAST(o.pay_time AS DATE)')} THEN ? ELSE ? END)
                 AS deadline
        FROM o ANTI JOIN s USING (platform, order_id) WHERE NOT o.refunded ORDER BY o.pay_time""",
                   [start, at, *args, at, *args, rules.promo_sla_hours, rules.sla_hours])
    at_ts = pd.Timestamp(at)
    frame["hours"] = ((at_ts - frame["pay_time"]).dt.total_seconds() / 3600).round(1)
    frame["overdue"] = frame["deadline"] <= at_ts
    return frame


def stock_day(src: Source, at: dt.datetime) -> dt.date | None:
    """The latest closing stock snapshot known at `at` (a day's snapshot is its stock at 24:00); None without one."""
    if not src.has("inventory"):
        return None
    day = src.sql("SELECT max(date) FROM inventory WHERE date <= ?",
                  [(at - dt.timedelta(days=1)).date()]).iloc[0, 0]
    return pd.Timestamp(day).date() if pd.notna(day) else None


def short_skus(src: Source, day: dt.date | None, floor: int) -> pd.DataFrame:
    """SKUs whose sellable stock in the snapshot of `day` is at most `floor` (sku, stock)."""
    if day is None:
        return pd.DataFrame({"sku": pd.Series(dtype="str"), "stock": pd.Series(dtype="int64")})
    return src.sql("SELECT sku, stock FROM inventory WHERE date = ? AND stock <= ? ORDER BY sku", [day, floor])


def unpaid_orders(src: Source, at: dt.datetime, start: dt.datetime, hours: int, platform: str = "全部") -> pd.DataFrame:
    """Orders placed in [start, at − hours] still unpaid at `at` (paid later, or still 未付款), with hours waited."""
    where, args = _platform(platform)
    frame = src.sql(f"""
        SELECT platform, order_id, min(order_time) AS order_time, string_agg(DISTINCT sku, '、' ORDER BY sku) AS skus,
               sum(quantity) AS quantity
        FROM real_orders
        WHERE order_time >= ? AND order_time <= ? - to_hours(?){where}
          AND ((status = 'unpaid' AND pay_time IS NULL) OR pay_time >= ?)
        GROUP BY platform, order_id ORDER BY order_time""", [start, at, hours, *args, at])
    frame["hours"] = ((pd.Timestamp(at) - frame["order_time"]).dt.total_seconds() / 3600).round(1)
    return frame


def _blank(values: pd.Series) -> pd.Series:
    return values.isna() | (values.astype("str").str.strip() == "")


def _pct(x: float | None) -> str:
    return "无数据" if x is None else f"{x:.1%}"


def actions(waiting: pd.DataFrame, unpaid: pd.DataFrame, short: pd.DataFrame, remote: list[str]) -> pd.DataFrame:
    """The action list: one row per order and issue (超时未发货, 缺货, 地址不全, 偏远地区, 未付款), owner and action."""
    rows = []
    address_gap = (_blank(waiting["province"]) | _blank(waiting["city"])).astype(bool)
    province = waiting["province"].fillna("").astype("str").str.strip()
    is_remote = province.map(lambda p: p != "" and any(p.startswith(r) for r in remote)).astype(bool)
    low = dict(zip(short["sku"], short["stock"]))
    lacking = waiting["skus"].fillna("").map(lambda s: [k for k in s.split("、") if k in low])
    checks = [("超时未发货", waiting["overdue"].astype(bool),
               lambda r: f"付款 {r.hours:g} 小时未发货（截止 {r.deadline:%m-%d %H:%M}）"),
              ("缺货", lacking.map(bool).astype(bool),
               lambda r: "可售库存不足：" + "、".join(f"{k}（{low[k]}）" for k in r.lacking)),
              ("地址不全", address_gap, lambda r: f"省份/城市缺失：{r.province or '—'} {r.city or '—'}"),
              ("偏远地区", is_remote, lambda r: f"收货省份：{r.province}")]
    shown = waiting.assign(lacking=lacking,
                           province=waiting["province"].astype(object).where(~_blank(waiting["province"]), None),
                           city=waiting["city"].astype(object).where(~_blank(waiting["city"]), None))
    for issue, mask, text in checks:
        for r in shown[mask.to_numpy()].itertuples():
            rows.append((r.platform, r.order_id, issue, text(r), r.hours, r.pay_time, r.skus))
    for r in unpaid.itertuples():
        rows.append((r.platform, r.order_id, "未付款", f"下单 {r.hours:g} 小时仍未付款", r.hours, pd.NaT, r.skus))
    out = pd.DataFrame(rows, columns=["platform", "order_id", "issue", "detail", "hours", "pay_time", "skus"])
    out["pay_time"] = pd.to_datetime(out["pay_time"]).dt.tz_convert(TZ) if len(out) else \
        pd.Series(dtype=f"datetime64[us, {TZ}]")
    out["owner"] = out["issue"].map(lambda i: ISSUES[i][0])
    out["action"] = out["issue"].map(lambda i: ISSUES[i][1])
    out = out.sort_values(["issue", "hours"], key=lambda c: c.map(ISSUE_ORDER) if c.name == "issue" else -c,
                          ignore_index=True)
    for column in ("platform", "order_id", "issue", "detail", "skus", "owner", "action"):
        out[column] = out[column].astype("str")
    return out[["issue", "platform", "order_id", "detail", "hours", "pay_time", "skus", "owner", "action"]]


def stalled(src: Source, at: dt.datetime, hours: int, platform: str = "全部") -> pd.DataFrame:
    """Parcels shipped before `at`, not delivered by then and without an exception (those are listed apart), whose
    last logistics update is at least `hours` before `at` (an update after `at` counts as movement)."""
    where, args = _platform(platform)
    frame = src.sql(f"""
        SELECT platform, order_id, carrier, tracking_no, ship_time, last_event_time,
               round(epoch(? - coalesce(last_event_time, ship_time)) / 3600, 1) AS idle_hours
        FROM shipments
        WHERE ship_time < ? AND (delivered_time IS NULL OR delivered_time >= ?){where}
          AND coalesce(exception, '') = ''
          AND coalesce(last_event_time, ship_time) <= ? - to_hours(?)
        ORDER BY idle_hours DESC, order_id""", [at, at, at, *args, at, hours])
    return frame


def lost_damaged(src: Source, at: dt.datetime, start: dt.datetime, handle_hours: int,
                 platform: str = "全部") -> pd.DataFrame:
    """Parcels reported lost or damaged (丢件/破损: the exception time is their last logistics update) in
    [start, at), and what was done: reshipped (another parcel of the order sent after it), refunded (a refund on the
    order; orders carry no refund time), waiting within `handle_hours`, or overdue (超时未处理); a reship later than
    `handle_hours` is 补发超时."""
    where, args = _platform(platform, "p.")
    frame = src.sql(f"""
        WITH p AS (SELECT * FROM shipments p WHERE exception IN ('丢件', '破损')
                   AND coalesce(last_event_time, ship_time) >= ? AND coalesce(last_event_time, ship_time) < ?{where}),
        r AS (SELECT p.platform, p.order_id, p.tracking_no, min(n.ship_time) AS reship_time
              FROM p JOIN shipments n ON n.platform = p.platform AND n.order_id = p.order_id
                   AND n.tracking_no <> p.tracking_no AND n.ship_time > coalesce(p.last_event_time, p.ship_time)
                   AND n.ship_time < ?
              GROUP BY ALL),
        f AS (SELECT platform, order_id, sum(coalesce(refund_amount, 0)) AS refund_amount, sum(amount) AS paid_amount
              FROM orders GROUP BY platform, order_id)
        SELECT p.platform, p.order_id, p.carrier, p.tracking_no, p.exception,
               coalesce(p.last_event_time, p.ship_time) AS exception_time, r.reship_time,
               coalesce(f.refund_amount, 0) AS refund_amount, f.paid_amount
        FROM p LEFT JOIN r USING (platform, order_id, tracking_no) LEFT JOIN f USING (platform, order_id)
        ORDER BY exception_time""", [start, at, *args, at])
    at_ts = pd.Timestamp(at)
    waited = (frame["reship_time"].fillna(at_ts) - frame["exception_time"]).dt.total_seconds() / 3600
    frame["hours"] = waited.round(1)
    done_late = frame["reship_time"].notna() & (waited > handle_hours)
    frame["handled"] = "待处理"
    frame.loc[frame["hours"] >= handle_hours, "handled"] = "超时未处理"
    # a refund smaller than what the order paid may be a 价保 or a small compensation, not the lost goods' money
    partial = (frame["refund_amount"] > 0) & (frame["refund_amount"] < frame["paid_amount"].fillna(0) - 0.005)
    frame.loc[partial, "handled"] = "部分退款"
    frame.loc[(frame["refund_amount"] > 0) & ~partial, "handled"] = "已退款"
    frame.loc[frame["reship_time"].notna(), "handled"] = "已补发"
    frame.loc[done_late, "handled"] = "补发超时"
    frame["handled"] = frame["handled"].astype("str")
    return frame.drop(columns="paid_amount")


def miss_rate(src: Source, at: dt.datetime, days: int, platform: str = "全部") -> pd.DataFrame:
    """One row: parcels shipped in the `days` days up to `at` (brushed orders' left out), those found 错发 and 漏发
    by `at`, and their rate (empty when no parcel was shipped)."""
    where, args = _platform(platform, "s.")
    start = at - dt.timedelta(days=days)
    frame = src.sql(f"""
        SELECT count(*) AS parcels,
               count(*) FILTER (exception = '错发' AND coalesce(last_event_time, ship_time) < ?) AS wrong,
               count(*) FILTER (exception = '漏发' AND coalesce(last_event_time, ship_time) < ?) AS missing
        FROM shipments s
        WHERE ship_time >= ? AND ship_time < ?{where}
          AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.platform = s.platform AND o.order_id = s.order_id
                          AND coalesce(o.is_fake, false))""", [at, at, start, at, *args])
    frame["misshipped"] = frame["wrong"] + frame["missing"]
    frame["miss_rate"] = (frame["misshipped"] / frame["parcels"]).where(frame["parcels"] > 0)
    return frame


def other_exceptions(src: Source, at: dt.datetime, start: dt.datetime, platform: str = "全部") -> pd.DataFrame:
    """Parcels refused, returned or with an address problem (拒收/退回/地址异常) reported in [start, at)."""
    where, args = _platform(platform)
    return src.sql(f"""
        SELECT platform, order_id, carrier, tracking_no, exception,
               coalesce(last_event_time, ship_time) AS exception_time
        FROM shipments WHERE exception IN ('拒收', '退回', '地址异常')
          AND coalesce(last_event_time, ship_time) >= ? AND coalesce(last_event_time, ship_time) < ?{where}
        ORDER BY exception_time""", [start, at, *args])


def totals(days: pd.DataFrame) -> dict:
    """The summary window's SLA counts and on-time rate (None when nothing was decided: 无数据, not 0 %)."""
    sums = {k: int(days[k].sum()) for k in ("paid_orders", "on_time", "late", "overdue", "waiting", "withdrawn")}
    decided = sums["on_time"] + sums["late"] + sums["overdue"]
    sums["on_time_rate"] = sums["on_time"] / decided if decided else None
    return sums


def summary(at: dt.datetime, batch: str, sla: dict, act: pd.DataFrame, stuck: pd.DataFrame, lost: pd.DataFrame,
            miss: pd.DataFrame, summary_days: int, miss_days: int) -> tuple[dict, dict[str, str]]:
    """Headline metrics for result.json and the cards shown on top of the report."""
    m = miss.iloc[0]
    open_lost = int((lost["handled"] == "超时未处理").sum())
    metrics = {"audit_time": f"{at:%Y-%m-%d %H:%M}", **sla, "actions": int(act["order_id"].nunique()),
               "stalled": len(stuck), "lost_damaged_open": open_lost, "parcels": int(m["parcels"]),
               "misshipped": int(m["misshipped"]),
               "miss_rate": None if pd.isna(m["miss_rate"]) else float(m["miss_rate"])}
    cards = {"审核": describe_moment(at, batch), f"近 {summary_days} 天付款订单": f"{sla['paid_orders']:,}",
             f"近 {summary_days} 天发货及时率": _pct(sla["on_time_rate"]), "超时未发货": f"{sla['overdue']:,}",
             "异常订单": f"{metrics['actions']:,}", "物流停滞": f"{len(stuck):,}", "丢件破损超时未处理": f"{open_lost:,}",
             f"近 {miss_days} 天错发漏发率": _pct(metrics["miss_rate"])}
    return metrics, cards


def sla_note(start: dt.datetime, at: dt.datetime, rules: Rules, promos: list[calendar.Promotion],
             since: pd.Timestamp | None) -> str:
    """How the SLA table counts, in Chinese."""
    if before_data(at, since):
        return (f"物流数据从 {since:%Y-%m-%d %H:%M} 才开始，审核时刻 {at:%Y-%m-%d %H:%M} 之前没有发货数据："
                "无法统计发货时效（无数据）")
    promo = "、".join(p.describe() for p in promos) or "无"
    cut = f"；发货数据从 {since:%Y-%m-%d %H:%M} 开始，之前付款的订单不计" if since is not None and \
        since.to_pydatetime() >= start else ""
    return (f"统计 {start:%Y-%m-%d %H:%M} 至 {at:%Y-%m-%d %H:%M} 付款的订单（剔除刷单）。发货时限：付款后 {rules.sla_hours} 小时；"
            f"付款日在大促期间为 {rules.promo_sla_hours} 小时（大促日历 data/reference/promotions.yaml，本期涉及：{promo}）。"
            "以订单第一个包裹的发货时间为准；发货及时率 = 按时发货 ÷（按时发货 + 超时发货 + 超时未发货），"
            f"未到截止时间的待发订单不计入{cut}")


def findings(act: pd.DataFrame, late: pd.DataFrame, stuck: pd.DataFrame, lost: pd.DataFrame, miss: pd.DataFrame,
             others: pd.DataFrame, *, rules: Rules) -> list[Flag]:
    """Flags with their owners: overdue orders (仓储), SKUs out of stock (仓储/客服), incomplete addresses (客服),
    remote areas (仓储), unpaid orders (客服), late shipments (仓储), stalled parcels (运营/客服), lost or damaged
    parcels past the handling time (客服; only partly refunded: medium, to check), the miss-shipment rate above target (仓储), other exceptions (客服)."""
    out = []
    cols = ["platform", "order_id", "detail", "hours", "skus"]
    plan = [("超时未发货", "fulfil.overdue", "high", "已过发货时限仍未发货：请仓储立即发货，无法发货的由客服联系客户"),
            ("缺货", "fulfil.out_of_stock", "high", "待发订单的商品可售库存不足：请通知客户协商退款或改期，并安排补货"),
            ("地址不全", "fulfil.address", "medium", "收货地址不全：请客服联系客户确认地址后再发货"),
            ("偏远地区", "fulfil.remote", "low", "收货地在偏远地区：请确认可达快递、运费和时效"),
            ("未付款", "fulfil.unpaid", "low", f"下单超过 {rules.unpaid_hours} 小时仍未付款：请客服催付")]
    for issue, code, severity, text in plan:
        rows = act[act["issue"] == issue]
        if len(rows):
            example = "、".join(rows["order_id"].head(3))
            out.append(make(code, severity, ISSUES[issue][0], f"{len(rows)} 单{text}（如 {example}）", rows[cols]))
    if len(late):
        worst = late.sort_values("ship_hours", ascending=False).iloc[0]
        out.append(make("fulfil.late", "medium", "仓储",
                        f"最近 {rules.summary_days} 天付款的订单中 {len(late)} 单超时发货（最长 {worst.ship_hours:g} 小时，"
                        f"订单 {worst.order_id}，时限 {worst.sla_hours} 小时）：请复盘拣货排班与截单时间", late))
    if len(stuck):
        out.append(make("fulfil.stalled", "medium", "运营/客服",
                        f"{len(stuck)} 个包裹超过 {rules.stall_hours} 小时没有物流更新（最长 {stuck['idle_hours'].max():g} 小时，"
                        f"运单 {stuck.iloc[0]['carrier']} {stuck.iloc[0]['tracking_no']}）：请运营联系快递公司查询，"
                        "客服同步告知客户预计送达时间", stuck))
    overdue = lost[lost["handled"] == "超时未处理"]
    if len(overdue):
        out.append(make("fulfil.lost_damaged", "high", "客服",
                        f"{len(overdue)} 个丢件/破损包裹超过 {rules.handle_hours} 小时仍未补发或退款（"
                        + "、".join(f"{r.order_id} {r.exception} {r.hours:g} 小时" for r in overdue.head(3).itertuples())
                        + "）：请立即为客户补发或退款", overdue))
    partial = lost[(lost["handled"] == "部分退款") & (lost["hours"] >= rules.handle_hours)]
    if len(partial):
        out.append(make("fulfil.lost_partial_refund", "medium", "客服",
                        f"{len(partial)} 个丢件/破损包裹超过 {rules.handle_hours} 小时未补发，订单只有部分退款（"
                        + "、".join(f"{r.order_id} {r.exception} 退款 ¥{r.refund_amount:,.2f}" for r in partial.head(3).itertuples())
                        + "）：请核对退款是否覆盖丢失或破损的商品，不够的补发或补退", partial))
    slow = lost[lost["handled"] == "补发超时"]
    if len(slow):
        out.append(make("fulfil.reship_late", "low", "客服",
                        f"{len(slow)} 个丢件/破损包裹的补发晚于 {rules.handle_hours} 小时：请复盘售后处理时效", slow))
    m = miss.iloc[0]
    if pd.notna(m["miss_rate"]) and m["miss_rate"] > rules.max_miss_rate:
        out.append(make("fulfil.miss_rate", "medium", "仓储",
                        f"最近 {rules.miss_days} 天错发漏发率 {m['miss_rate']:.2%}（{int(m['misshipped'])} / "
                        f"{int(m['parcels']):,} 个包裹：错发 {int(m['wrong'])}，漏发 {int(m['missing'])}），"
                        f"高于目标 {rules.max_miss_rate:.1%}：请加强拣货复核（扫码核对 SKU 与数量）"))
    if len(others):
        out.append(make("fulfil.exceptions", "low", "客服",
                        f"{len(others)} 个包裹拒收、退回或地址异常：请联系客户确认并跟进退款或重新发货", others))
    return out


def before_data(at: dt.datetime, since: pd.Timestamp | None) -> bool:
    """Whether the audit's moment comes before the first parcel on file: nothing before it can be judged."""
    return since is not None and since.to_pydatetime() >= at


def stale(at: dt.datetime, last: pd.Timestamp | None, hours: int, since: pd.Timestamp | None = None) -> list[Flag]:
    """A flag when the parcels' data ends long before the audit (every order since would look unshipped), or begins
    after it (nothing can be judged: the windows are empty, and 0 orders is not the shop's truth)."""
    if before_data(at, since):
        return [make("fulfil.no_coverage", "medium", "数据分析",
                     f"物流数据从 {since:%Y-%m-%d %H:%M} 才开始，审核时刻 {at:%Y-%m-%d %H:%M} 在此之前：无法判断这段时间的发货，"
                     "发货时效、异常订单、物流跟踪和错发漏发率均无数据（不是 0 单）；请选择之后的审核日期，或导入更早的物流（发货）导出")]
    if last is not None and last.to_pydatetime() >= at - dt.timedelta(hours=hours):
        return []
    reach = f"物流数据只到 {last:%Y-%m-%d %H:%M}" if last is not None else "shipments 表没有包裹"
    return [make("fulfil.stale", "high", "数据分析",
                 f"{reach}，审核时刻是 {at:%Y-%m-%d %H:%M}：之后发出的包裹不在数据中，超时未发货和物流停滞可能被高估；"
                 "请先导入最新的物流（发货）导出再看结果")]


def actions_note(start: dt.datetime, at: dt.datetime, day: dt.date | None, floor: int, remote: list[str],
                 unpaid_hours: int) -> str:
    """How the action list is made, in Chinese."""
    if start >= at:
        return (f"物流数据从 {start:%Y-%m-%d %H:%M} 才开始，审核时刻 {at:%Y-%m-%d %H:%M} 之前没有发货数据："
                "无法核对待发订单（无数据）")
    stock = f"{day} 收盘的库存快照（可售库存 ≤ {floor} 视为缺货）" if day else "没有可用的库存快照，未检查缺货"
    return (f"{start:%Y-%m-%d %H:%M} 以来付款、到 {at:%Y-%m-%d %H:%M} 仍未发货（也未退款）的订单逐一核对：是否超过发货时限、"
            f"商品库存（{stock}）、收货地址是否完整、是否偏远地区（{'、'.join(remote)}；清单见 "
            f"data/reference/remote_areas.yaml，可增删）；另列下单超过 {unpaid_hours} 小时仍未付款的订单（催付）。"
            "一单可有多个问题，各占一行")


def tracking_note(at: dt.datetime, hours: int) -> str:
    """How stalled parcels are found, in Chinese."""
    return (f"{at:%Y-%m-%d %H:%M} 前发出、尚未签收、没有物流异常的包裹，最后一次物流更新距审核时刻超过 {hours} 小时即列出"
            "（运营联系快递公司查询，客服告知客户预计送达时间）；回看过去的时刻时，审核时刻之后才有更新的包裹视为在途正常")


def lost_note(handle_hours: int) -> str:
    """How lost and damaged parcels are judged, in Chinese."""
    return ("丢件/破损的异常时间取该包裹的最后物流更新时间；之后同一订单又发出的包裹算补发，订单全额退款算已退款，"
            "退款少于订单实付（可能只是价保或小额补偿）为部分退款、超时的单独提示核对"
            f"（订单表没有退款时间，无法判断退款是否在 {handle_hours} 小时内）；超过 {handle_hours} 小时既未补发也未退款为超时未处理")


def miss_note(at: dt.datetime, days: int, target: float) -> str:
    """How the miss-shipment rate is counted, in Chinese."""
    return (f"错发漏发率 = 最近 {days} 天（至 {at:%Y-%m-%d %H:%M}）发出的包裹中，到审核时刻为止标记为错发或漏发的包裹数 ÷ 包裹数"
            f"（刷单订单的包裹不计；补发、分包各算一个包裹）；目标 ≤ {target:.1%}（行业参考：从 1.8% 降到 0.2%）")
