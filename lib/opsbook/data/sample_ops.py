"""The demo shop's operations tables: shipments, service sessions, reviews, keyword ranks, promotion plans, creator
content and SOP pilots — drawn after the orders, each from its own random stream (so that the other tables, and each
other, stay as they were when one of them changes).

Planted faults, each named by a constant below so that tests can find it (the playbook meant to find it in brackets):
- (each table's section lists its own)
- plan_tasks: `PLAN_PROMOTION` (the coming 双11, planned from its milestone template) with `OVERDUE_TASK` past its
  planned end and not done, and `WARNED_TASK`, a 30-day task on its day 28 past its 10 % buffer; `HISTORY_PROMOTION`
  (618, just over) done with `HISTORY_LATE` finished late (promo_timeline)
- sop_pilots (sop_execution): 催付话术 v2 on 400 + 400 customers, 60.8 % vs 49.3 % paid, a significant improvement
  (`PAYMENT_*`); 差评回访 v1.1 on 4 + 4 agents, too few for a verdict (`REVISIT_*`)
- cs_sessions (service_quality): `SLOW_AGENT` 客服07 answers far slower than the others (below the 30 s target share),
  `UNFOLLOWED_SESSION` a 1-star session nobody followed up within 2 h, `OPEN_COMPLEX_SESSION` a complex after-sales
  session open for more than 24 h, 催付 sessions paid afterwards or not; `CLAIM_SESSIONS` chats with 假货 / 打假 / 投诉
  claims (risk_watch);
- kol_content (content_funnel): HEAD_LAGGARD, a head creator at about half the ROI of the tier's other creators;
  NO_LINK_CONTENT, a post with 862,000 plays and no link clicks (no link, or a broken one)
- reviews: QUALITY_FAULT (3 reviews of 每日坚果礼盒 with 变质/异物 within 10 h), COMPETITOR_FAULT (7 competitor-attack
  reviews on PDD on one day), POLICY_FAULT (禁售, 3C认证), CLAIMANT_FAULT (a professional claimant) [risk_watch]
- keyword_ranks: RANK_FAULT (防晒衣女 on DY about 59 % lower in the last week) [risk_watch]
- shipments (order_fulfilment): `LATE_SHIPMENT_HOURS` (31 h after payment, outside 618), `STALLED_HOURS` (no
  movement for 60 h at the 18:00 batch of 06-30), `LOST_PARCEL_HOURS` (丢件 34 h before it, neither reshipped nor
  refunded), `MISSHIPPED` (错发/漏发 above the 0.2 % target); `HANDLED`: lost or damaged parcels reshipped in time
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.dataset as ds

from ..settings import TZ_NAME
from .tables import SCHEMAS

OPS_TABLES = ("shipments", "cs_sessions", "reviews", "keyword_ranks", "plan_tasks", "kol_content", "sop_pilots")
RECENT_DAYS = 60  # the operations tables cover the sample's last 60 days (staff look at days and weeks, not years)


@dataclass
class Shop:
    """What the operations tables are drawn from: the shop's recent orders and its small tables."""

    orders: pd.DataFrame  # order lines placed in the last RECENT_DAYS days (all statuses, brushed orders included)
    tables: dict[str, pd.DataFrame]  # products, campaigns, inventory … as written
    first: pd.Timestamp  # first day of the recent window (midnight, Asia/Shanghai)
    end: pd.Timestamp  # the sample's last day (midnight, Asia/Shanghai)


def tables(orders_file: Path, small: dict[str, pd.DataFrame], seed: int, end: str) -> dict[str, pd.DataFrame]:
    """Every operations table of the demo shop that has a generator, in schema column order."""
    last = pd.Timestamp(end, tz=TZ_NAME)
    first = last - pd.Timedelta(days=RECENT_DAYS - 1)
    data = ds.dataset(orders_file)
    recent = data.to_table(filter=ds.field("order_time") >= first.to_pydatetime()).to_pandas()
    shop = Shop(recent, small, first, last)
    streams = dict(zip(OPS_TABLES, np.random.default_rng([seed, 13]).spawn(len(OPS_TABLES))))
    out = {}
    for name in OPS_TABLES:
        frame = GENERATORS[name](streams[name], shop)
        if frame is not None:
            out[name] = frame[list(SCHEMAS[name])].reset_index(drop=True)
    return out


# ---------------------------------------------------------------- shipments (order_fulfilment)
# Every order the order generator marked shipped, completed or refunded has a parcel; a paid one has none yet (so the
# paid orders of the last ~55 hours are the real backlog of the sample). Dispatch within the SLA: 1–22 h after
# payment on ordinary days, 2–44 h inside 618 (data/reference/promotions.yaml: 05-20 … 06-20); 1–4 days in transit.
CARRIERS = ("中通", "圆通", "韵达", "顺丰", "京东物流", "极兔")
CARRIER_SHARE = {  # per platform (TB TM JD DY PDD), in CARRIERS order
    "TB": (0.30, 0.22, 0.20, 0.12, 0.00, 0.16), "TM": (0.28, 0.22, 0.16, 0.22, 0.02, 0.10),
    "JD": (0.04, 0.02, 0.02, 0.07, 0.85, 0.00), "DY": (0.30, 0.20, 0.18, 0.08, 0.00, 0.24),
    "PDD": (0.28, 0.18, 0.22, 0.02, 0.00, 0.30)}
# tracking numbers as each carrier prints them — never 11 digits starting 1[3-9] (a mobile number), nor YT86… (+86 …)
TRACKING = {  # carrier → ((prefix, one of these letters after it), leading digits, total digits)
    "中通": (("", ""), (73, 75, 76, 77, 78), (12, 13, 14)), "圆通": (("YT", ""), (2, 3, 4, 6, 7, 9), (13,)),
    "韵达": (("", ""), (43, 46), (13,)), "顺丰": (("SF", ""), (1,), (13,)),
    "京东物流": (("JDV", "ABCE"), (0,), (11,)), "极兔": (("JT", ""), (3,), (13,))}
SHIP_HOURS, PROMO_SHIP_HOURS, TRANSIT_HOURS = (1.0, 22.0), (2.0, 44.0), (20.0, 96.0)
PROMO_DAYS = (520, 620)  # 618 as promotions.yaml has it: the 48 h SLA (data cannot import the calendar)
SPLIT_SHARE = 0.04  # multi-line orders shipped in two parcels
AUDIT = "2026-06-30 18:00"  # the sample's last audit batch: the planted faults are timed against it
LATE_SHIPMENT_HOURS = 31.0  # one order paid on ordinary days (06-25 … 06-27) dispatched 31 h after payment (SLA 24 h)
STALLED_HOURS = 60.0  # one parcel in transit whose last movement was 60 h before the audit (chase after 48 h)
LOST_PARCEL_HOURS = 34.0  # one parcel reported lost (丢件) 34 h before the audit: no reship, no refund (24 h)
HANDLED = (("破损", 3), ("丢件", 2))  # lost or damaged parcels reshipped within 2–20 h (as the SOP wants)
MISSHIPPED = (("错发", 8), ("漏发", 2))  # in the last 30 days: a miss-shipment rate near 1 % (target 0.2 %)
HOUR_US = 3_600_000_000


def _shipments(rng: np.random.Generator, shop: Shop) -> pd.DataFrame | None:
    """Parcels of the recent orders that left the warehouse (`LATE_SHIPMENT_HOURS`, `STALLED_HOURS`,
    `LOST_PARCEL_HOURS`, `HANDLED`, `MISSHIPPED`)."""
    o = shop.orders
    if o.empty:
        return None
    status = o["status"].to_numpy(str)
    sent = np.isin(status, ("shipped", "completed", "refunded"))
    lines = o.loc[sent & o["pay_time"].notna().to_numpy()]
    if lines.empty:
        return None
    order = lines.groupby(["platform", "order_id"], sort=True).agg(
        pay=("pay_time", "first"), lines=("line_id", "size"), status=("status", "min"),
        refunded=("refund_amount", "sum")).reset_index()  # "completed" < "refunded" < "shipped": any shipped line wins
    n = len(order)
    end = int((shop.end + pd.Timedelta(days=1)).value // 1000)  # µs, midnight after the last day
    audit = int(pd.Timestamp(AUDIT, tz=shop.end.tz).value // 1000)
    pay = order["pay"].to_numpy("datetime64[us]").astype(np.int64)
    delivered_status = order["status"].to_numpy(str) != "shipped"
    local = pd.DatetimeIndex(pd.to_datetime(pay, unit="us", utc=True).tz_convert(shop.end.tz))
    md = local.month.to_numpy() * 100 + local.day.to_numpy()
    promo = (md >= PROMO_DAYS[0]) & (md <= PROMO_DAYS[1])
    lo, hi = np.where(promo, PROMO_SHIP_HOURS[0], SHIP_HOURS[0]), np.where(promo, PROMO_SHIP_HOURS[1], SHIP_HOURS[1])
    room = (end - pay) / HOUR_US  # hours left before the data ends
    delay = np.minimum(rng.uniform(lo, hi), room * np.where(delivered_status, 0.3, 0.9))
    ship = pay + (delay * HOUR_US).astype(np.int64)
    transit = rng.uniform(*TRANSIT_HOURS, n)
    arrives = ship + (transit * HOUR_US).astype(np.int64)
    # completed and refunded orders were received before the data ends; shipped ones when transit allows it
    arrives = np.where(delivered_status, np.minimum(arrives, ship + ((end - ship) * 0.9).astype(np.int64)), arrives)
    delivered = delivered_status | (arrives <= end - 2 * HOUR_US)
    moving = end - (rng.uniform(0.5, 20.0, n) * HOUR_US).astype(np.int64)
    last = np.where(delivered, arrives, np.maximum(ship, moving))
    exception = np.full(n, None, object)

    def day(text: str) -> int:
        """A China-time moment in µs since the epoch."""
        return int(pd.Timestamp(text, tz=shop.end.tz).value // 1000)

    def pick(mask: np.ndarray, k: int = 1) -> np.ndarray:
        """k orders drawn among those of `mask` not picked yet."""
        free = np.flatnonzero(mask & (exception == None))  # noqa: E711
        return rng.choice(free, size=min(k, len(free)), replace=False) if len(free) else free

    # planted: a late dispatch outside the promotion
    late = pick(delivered_status & (pay >= day("2026-06-25")) & (pay < day("2026-06-28")) & ~promo)
    ship[late] = pay[late] + int(LATE_SHIPMENT_HOURS * HOUR_US)
    last[late] = arrives[late] = ship[late] + int(30 * HOUR_US)
    exception[late] = ""  # taken (empty: no exception)
    # planted: a parcel stuck in transit, and one lost with nothing done
    for hours, kind in ((STALLED_HOURS, None), (LOST_PARCEL_HOURS, "丢件")):
        when = audit - int(hours * HOUR_US)
        chosen = pick(~delivered_status & (pay < when - 26 * HOUR_US) & (pay > when - 72 * HOUR_US)
                      & (order["refunded"].to_numpy() == 0))
        ship[chosen] = np.minimum(ship[chosen], when - 6 * HOUR_US)
        last[chosen], delivered[chosen] = when, False
        exception[chosen] = kind or ""
    # lost or damaged parcels handled by a reship (a second parcel of the order) within 2–20 h
    old = delivered_status & (ship < end - 12 * 24 * HOUR_US)
    reships = []
    for kind, k in HANDLED:
        chosen = pick(old & (order["refunded"].to_numpy() == 0), k)
        exception[chosen] = kind
        last[chosen] = ship[chosen] + (rng.uniform(20, 60, len(chosen)) * HOUR_US).astype(np.int64)
        delivered[chosen] = kind == "破损"  # a damaged parcel is delivered (and refused or photographed), a lost one not
        arrives[chosen] = last[chosen]
        again = last[chosen] + (rng.uniform(2, 20, len(chosen)) * HOUR_US).astype(np.int64)
        reships.append((chosen, again))
    recent = delivered_status & (ship >= end - 30 * 24 * HOUR_US) & (ship < end - 4 * 24 * HOUR_US)
    for kind, k in MISSHIPPED:
        exception[pick(recent, k)] = kind
    exception[exception == ""] = None
    frame = pd.DataFrame({"platform": order["platform"], "order_id": order["order_id"], "ship": ship, "last": last,
                          "arrived": np.where(delivered, arrives, -1), "exception": exception})
    # a few multi-line orders leave in two parcels (the second within 3 h), and the reships
    split = (order["lines"].to_numpy() > 1) & (rng.random(n) < SPLIT_SHARE) & pd.isna(exception)
    second = frame[split].assign(ship=lambda f: f["ship"] + (rng.uniform(0.2, 3, int(split.sum())) * HOUR_US).astype(
        np.int64))
    second["last"] = np.maximum(second["last"], second["ship"])
    second["arrived"] = np.where(second["arrived"] >= 0, np.maximum(second["arrived"], second["last"]), -1)
    extra = [second]
    for chosen, again in reships:
        extra.append(pd.DataFrame({"platform": order["platform"].to_numpy()[chosen],
                                   "order_id": order["order_id"].to_numpy()[chosen], "ship": again,
                                   "last": again + int(40 * HOUR_US), "arrived": again + int(40 * HOUR_US),
                                   "exception": None}))
    frame = pd.concat([frame, *extra], ignore_index=True)
    carrier_of = _carriers(rng, frame["platform"].to_numpy(str))
    first = frame.groupby(["platform", "order_id"], sort=False)["ship"].transform("min")
    same = frame["ship"].to_numpy() - first.to_numpy() < 4 * HOUR_US  # split parcels share a carrier with the first
    carrier = np.where(same, pd.Series(carrier_of).groupby([frame["platform"], frame["order_id"]]).transform("first"),
                       carrier_of)

    def stamp(us: np.ndarray) -> pd.Series:
        """µs since the epoch as China time."""
        return pd.Series(pd.to_datetime(us, unit="us", utc=True).tz_convert(shop.end.tz))
    out = pd.DataFrame({"order_id": frame["order_id"], "platform": frame["platform"], "carrier": carrier,
                        "tracking_no": _tracking_numbers(rng, carrier), "ship_time": stamp(frame["ship"].to_numpy()),
                        "last_event_time": stamp(frame["last"].to_numpy()),
                        "delivered_time": stamp(frame["arrived"].to_numpy()).where(frame["arrived"].to_numpy() >= 0),
                        "exception": pd.array(frame["exception"], dtype="str")})
    for column in ("ship_time", "last_event_time", "delivered_time"):
        out[column] = out[column].dt.floor("s").astype(f"datetime64[us, {TZ_NAME}]")
    return out.sort_values(["ship_time", "order_id"], ignore_index=True)


def _carriers(rng: np.random.Generator, platform: np.ndarray) -> np.ndarray:
    """A carrier per parcel, by the platform's usual mix."""
    out = np.empty(len(platform), object)
    u = rng.random(len(platform))
    for plat, share in CARRIER_SHARE.items():
        sel = platform == plat
        cum = np.cumsum(share) / np.sum(share)
        out[sel] = np.array(CARRIERS, object)[np.minimum(np.searchsorted(cum, u[sel], side="right"), len(CARRIERS) - 1)]
    return out


def _tracking_numbers(rng: np.random.Generator, carrier: np.ndarray) -> np.ndarray:
    """Tracking numbers in each carrier's format (`TRACKING`)."""
    out = pd.Series("", index=range(len(carrier)), dtype="str")
    for name, (prefix, heads, widths) in TRACKING.items():
        sel = np.flatnonzero(carrier == name)
        if not len(sel):
            continue
        head = np.array(heads, np.int64)[rng.integers(0, len(heads), len(sel))]
        width = np.array(widths, np.int64)[rng.integers(0, len(widths), len(sel))]
        rest = 10 ** (width - np.where(head >= 10, 2, 1))
        number = pd.Series(head * rest + rng.integers(0, rest), dtype="int64").astype("str").str.zfill(int(min(widths)))
        if prefix[1]:  # 京东: JDVA, JDVB …
            number = np.array(list(prefix[1]), object)[rng.integers(0, len(prefix[1]), len(sel))] + number
        out.iloc[sel] = (prefix[0] + number).to_numpy()
    return out.to_numpy(object)


# ---------------------------------------------------------------- service sessions (service_quality)
# 接待渠道 per platform, and the agents (子账号 nicknames) of each: 千牛 serves TB and TM, 咚咚 JD, 飞鸽 DY, PDD's 商家工作台
CS_CHANNELS = {"TB": "千牛", "TM": "千牛", "JD": "咚咚", "DY": "飞鸽", "PDD": "拼多多商家工作台"}
CS_ID_PREFIX = {"TB": "QN", "TM": "QN", "JD": "DD", "DY": "FG", "PDD": "PD"}
CS_AGENTS = {"TB": ("客服01", "客服02", "客服03"), "TM": ("客服03", "客服04", "客服05"), "JD": ("客服06", "客服09"),
             "DY": ("客服07", "客服08"), "PDD": ("客服10",)}
SESSIONS_PER_ORDER = 1.05  # sessions (besides 催付) per recent order: about 40 a day in the sample shop
SLOW_AGENT = "客服07"  # a new DY agent: first response median 38 s (the others 7 s), far below the 30 s target share
CS_CATEGORIES = {"售前": 0.50, "售中": 0.20, "售后": 0.30}
CS_TOPICS = {  # category → topic → share (催付 sessions are drawn from the unpaid orders, not here)
    "售前": {"商品咨询": 0.45, "尺码推荐": 0.15, "优惠活动": 0.25, "发货时间": 0.15},
    "售中": {"物流查询": 0.55, "修改地址": 0.2, "催发货": 0.25},
    "售后": {"退款进度": 0.3, "使用咨询": 0.15, "退换货": 0.3, "质量问题": 0.18, "投诉": 0.07},
}
COMPLEX_TOPICS = ("退换货", "质量问题", "投诉")  # complex after-sales: a solution within 24 h (seed 001 §客户服务)
CS_TEXTS = {  # the chat summary (会话摘要) agents write, per topic; phones already masked as the exports mask them
    "商品咨询": ("客户咨询面料成分和是否起球，已发送详情页参数截图", "客户问充电宝能否带上飞机，已说明20000mAh符合民航规定",
             "客户问面膜适不适合敏感肌，已建议先在耳后试用", "客户咨询坚果礼盒保质期，已告知生产日期在3个月内"),
    "尺码推荐": ("客户身高165体重52kg，推荐M码，已发尺码表", "客户平时穿L，询问是否偏小，建议拍大一码",
             "客户咨询腰围72选哪个码，推荐M码并说明支持7天无理由"),
    "优惠活动": ("客户问满减能否和店铺券叠加，已说明可以叠加", "客户问618价格是否保价，已说明保价规则至6月20日",
             "客户领不到优惠券，指导其在商品页重新领取"),
    "发货时间": ("客户问今天下单何时发货，已告知16点前付款当天发", "客户急用，问能否发顺丰，已说明可补运费差价改顺丰"),
    "物流查询": ("客户反映物流两天没更新，已联系快递核实，预计明天派送", "客户查询包裹到哪了，已发送物流轨迹截图",
             "快递显示已签收但客户未收到，已联系快递员核实放在驿站"),
    "修改地址": ("客户要求修改收货地址，订单未发货，已在后台修改", "客户留了新号码138****5621要求改收件电话，已备注仓库"),
    "催发货": ("客户催发货，已加急并告知今天18点前发出", "客户下单三天未发货，已道歉并安排优先发出"),
    "退款进度": ("客户询问退款何时到账，已告知原路退回1-3个工作日", "客户退货已寄回，催退款，已联系仓库加快验收"),
    "使用咨询": ("客户不会连接蓝牙耳机，已发送配对视频教程", "客户问加湿器能否加精油，已说明需使用专用香薰口"),
    "退换货": ("客户反映尺码偏小要求换大一码，已提交换货申请", "客户收到商品颜色与图片不符，申请退货退款，已同意",
            "客户要求七天无理由退货，吊牌完好，已发送退货地址"),
    "质量问题": ("客户反映充电宝充不进电，已安排换新并承担运费", "客户称T恤洗一次就掉色，已补偿10元无门槛券并同意退货",
             "客户收到的面膜外包装压坏了一盒，已补发"),
    "投诉": ("客户投诉快递员态度差，已登记并向快递公司反馈", "客户投诉客服回复慢，已道歉并赠送优惠券"),
    "催付": ("下单未付款，已发送催付话术并提醒库存紧张", "客户犹豫价格，已说明活动今晚结束，提醒尽快付款",
           "客户拍下未付款，询问是否有疑问，已解答发货时间"),
}
CS_HOURS = np.array([2, 1, 0.5, 0.3, 0.3, 0.5, 1, 2, 4, 7, 8, 8, 6, 7, 8, 8, 7, 6, 6, 8, 10, 11, 9, 5], float)
URGE_MIN_DELAY_S = 360  # an order still unpaid 6 minutes after it was placed gets a 催付 message
URGE_UNPAID_SHARE = 0.9  # share of the never-paid orders the agents chased (the others were closed by the buyer)
# planted: a 1-star session on the sample's last day that no one followed up (due within 2 h), a complex after-sales
# session open since 06-28 15:40 (no solution after more than 48 h), and chats with claims risk_watch should see
UNFOLLOWED_SESSION = "QN2606309001"
OPEN_COMPLEX_SESSION = "DD2606289001"
CLAIM_SESSIONS = {  # session → (platform, agent, day offset from the end, time, text)
    "FG2606299001": ("DY", "客服08", -1, "14:05:31", "客户称收到的面膜是假货，包装和专柜不一样，要求退一赔三，否则向平台投诉"),
    "QN2606299002": ("TB", "客服02", -1, "20:47:12", "买家自称专业打假，称详情页写“纯棉”实际含涤纶，要求十倍赔偿，否则向市场监管局举报"),
    "PD2606309003": ("PDD", "客服10", 0, "09:18:40", "客户说牛肉干有异味怀疑变质，已拍照，扬言打12315投诉并给差评"),
}


def _cs_sessions(rng: np.random.Generator, shop: Shop) -> pd.DataFrame | None:
    """Customer-service sessions of the recent days: sessions per platform in proportion to its orders, answered by
    that platform's agents (`SLOW_AGENT` slow), 售中/售后 sessions about real orders, 催付 sessions for the orders left
    unpaid a while (paid afterwards or not), ratings with the supervisor's follow-up of 1–2 stars within 2 h, and the
    planted sessions (`UNFOLLOWED_SESSION`, `OPEN_COMPLEX_SESSION`, `CLAIM_SESSIONS`)."""
    orders = shop.orders
    if "is_fake" in orders:
        orders = orders[~orders["is_fake"].fillna(False).astype(bool)]
    orders = orders.drop_duplicates(["platform", "order_id"])[["platform", "order_id", "customer_id", "order_time",
                                                               "pay_time", "status"]].reset_index(drop=True)
    if orders.empty:
        return None
    end = shop.end + pd.Timedelta(days=1)  # the end of the sample's last day
    days = (end - shop.first).days
    n = int(round(len(orders) * SESSIONS_PER_ORDER))
    category = rng.choice(list(CS_CATEGORIES), n, p=list(CS_CATEGORIES.values()))
    # 售中/售后 sessions are about an order: a paid one, some hours (售中) or days (售后) after it was placed
    paid = orders[orders["pay_time"].notna()].reset_index(drop=True)
    pick = rng.integers(0, len(paid), n)
    about = paid.iloc[pick].reset_index(drop=True)
    after_h = np.where(category == "售中", rng.uniform(2, 72, n), rng.uniform(48, 240, n))
    start = about["order_time"] + pd.to_timedelta(after_h * 3600, unit="s")
    late = start >= end
    start = start.where(~late, about["order_time"] + (end - about["order_time"]) * rng.uniform(0.2, 0.9, n)).dt.floor("s")
    # 售前 sessions: any day of the window, by the hour profile, from the platforms in proportion to their orders
    pre = category == "售前"
    share = orders["platform"].value_counts(normalize=True)
    pre_platform = rng.choice(share.index.to_numpy(), n, p=share.to_numpy())
    hour = rng.choice(24, n, p=CS_HOURS / CS_HOURS.sum())
    pre_start = shop.first + pd.to_timedelta(rng.integers(0, days, n) * 86400 + hour * 3600
                                             + rng.integers(0, 3600, n), unit="s")
    platform = np.where(pre, pre_platform, about["platform"].to_numpy())
    frame = pd.DataFrame({
        "platform": platform, "category": category,
        "start_time": pd.Series(pre_start).where(pre, start),
        "order_id": about["order_id"].where(~pre, None),
        "customer_id": about["customer_id"].where(~pre, None)})
    # some 售前 visitors are known customers (those who bought recently)
    known = pre & (rng.random(n) < 0.4)
    frame.loc[known, "customer_id"] = orders["customer_id"].to_numpy()[rng.integers(0, len(orders), int(known.sum()))]
    frame["topic"] = _cs_topics(rng, frame["category"].to_numpy())
    frame = pd.concat([frame, _cs_urges(rng, orders, end)], ignore_index=True)
    frame = _cs_serve(rng, frame, end)
    frame = pd.concat([frame, _cs_planted(shop, orders)], ignore_index=True)
    frame = frame.sort_values(["start_time", "platform"], kind="stable").reset_index(drop=True)
    local = frame["start_time"].dt.tz_convert(TZ_NAME)
    code = (local.dt.year % 100) * 10000 + local.dt.month * 100 + local.dt.day
    day = code.map({c: f"{c:06d}" for c in code.unique()})  # yymmdd, formatted once per day (strftime is slow)
    prefix = frame["platform"].map(CS_ID_PREFIX)
    seq = frame.groupby([prefix, day]).cumcount() + 1
    seq = seq + 100 * (seq >= 9001)  # 9001–9100 of a day are the planted sessions' numbers
    generated = frame["session_id"].isna()
    frame.loc[generated, "session_id"] = (prefix + day + seq.astype(str).str.zfill(4))[generated]
    frame["session_id"] = frame["session_id"].astype("str")
    return frame


def _cs_topics(rng: np.random.Generator, category: np.ndarray) -> np.ndarray:
    """A topic per session, drawn from its category's topics."""
    topic = np.empty(len(category), dtype=object)
    for name, topics in CS_TOPICS.items():
        rows = category == name
        topic[rows] = rng.choice(list(topics), int(rows.sum()), p=list(topics.values()))
    return topic


def _cs_urges(rng: np.random.Generator, orders: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """催付 sessions (售前): orders paid only minutes after they were placed got one before the payment; most of the
    orders never paid got one 5–40 minutes after they were placed."""
    delay = (orders["pay_time"] - orders["order_time"]).dt.total_seconds()
    slow = orders[delay >= URGE_MIN_DELAY_S]
    unpaid = orders[orders["pay_time"].isna()]
    unpaid = unpaid[rng.random(len(unpaid)) < URGE_UNPAID_SHARE]
    chased = pd.concat([slow, unpaid], ignore_index=True)
    wait = (chased["pay_time"] - chased["order_time"]).dt.total_seconds()
    offset = np.where(wait.notna(), wait.fillna(0) * rng.uniform(0.3, 0.8, len(chased)),
                      rng.uniform(300, 2400, len(chased)))
    start = chased["order_time"] + pd.to_timedelta(offset.round(), unit="s")
    keep = start < end
    return pd.DataFrame({"platform": chased["platform"], "category": "售前", "topic": "催付", "start_time": start,
                         "order_id": chased["order_id"], "customer_id": chased["customer_id"]})[keep.to_numpy()]


def _cs_serve(rng: np.random.Generator, frame: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """Agent, channel, first response, resolution, rating, follow-up and summary of each session; what happens after
    the sample's end is not known yet (empty)."""
    n = len(frame)
    frame = frame.assign(session_id=None)
    agent = np.empty(n, dtype=object)
    for platform, names in CS_AGENTS.items():
        rows = (frame["platform"] == platform).to_numpy()
        agent[rows] = np.array(names, dtype=object)[rng.integers(0, len(names), int(rows.sum()))]
    frame["agent"] = agent
    frame["channel"] = frame["platform"].map(CS_CHANNELS)
    slow = agent == SLOW_AGENT
    median = np.where(slow, 38.0, 7.0)
    response = np.maximum(1, np.round(median * np.exp(rng.normal(0, np.where(slow, 0.7, 0.8), n))))
    frame["first_response_s"] = np.where(rng.random(n) < 0.003, np.nan, response)  # the customer left first
    topic = frame["topic"].to_numpy()
    minutes = np.select([frame["category"].eq("售前").to_numpy(), frame["category"].eq("售中").to_numpy(),
                         np.isin(topic, COMPLEX_TOPICS)],
                        [rng.uniform(3, 25, n), rng.uniform(5, 60, n), rng.uniform(60, 20 * 60, n)],
                        rng.uniform(10, 180, n))
    resolved = frame["start_time"] + pd.to_timedelta(np.round(minutes * 60), unit="s")
    frame["resolved_time"] = resolved.where(resolved < end)
    stars = rng.choice([5, 4, 3, 2, 1], n, p=[0.78, 0.12, 0.05, 0.03, 0.02])
    stars = np.where(slow & (rng.random(n) < 0.15), rng.choice([1, 2], n), stars)  # the slow agent's customers
    rated = (rng.random(n) < 0.4) & frame["resolved_time"].notna().to_numpy()
    frame["rating"] = pd.Series(stars, index=frame.index).astype("Int64").where(rated)
    low = rated & (stars <= 2)
    follow = frame["resolved_time"] + pd.to_timedelta(np.round(rng.uniform(0.2, 1.8, n) * 3600), unit="s")
    frame["follow_up_time"] = follow.where(low & (follow < end).to_numpy())
    texts = np.empty(n, dtype=object)
    for name, options in CS_TEXTS.items():
        rows = topic == name
        texts[rows] = np.array(options, dtype=object)[rng.integers(0, len(options), int(rows.sum()))]
    frame["text"] = texts
    return frame


def _cs_planted(shop: Shop, orders: pd.DataFrame) -> pd.DataFrame:
    """The planted sessions (`UNFOLLOWED_SESSION`, `OPEN_COMPLEX_SESSION`, `CLAIM_SESSIONS`), each about the latest
    paid order of its platform placed two days or more before it."""
    def at(offset: int, clock: str) -> pd.Timestamp:
        return shop.end + pd.Timedelta(days=offset) + pd.Timedelta(clock)

    def order_of(platform: str, start: pd.Timestamp) -> tuple:
        mine = orders[(orders["platform"] == platform) & orders["pay_time"].notna()
                      & (orders["order_time"] <= start - pd.Timedelta(days=2))]
        if mine.empty:
            return None, None
        last = mine.loc[mine["order_time"].idxmax()]
        return last["order_id"], last["customer_id"]

    rows = []
    start = at(0, "10:12:05")
    rows.append(dict(session_id=UNFOLLOWED_SESSION, platform="TM", agent="客服03", category="售后", topic="质量问题",
                     start_time=start, first_response_s=6.0, resolved_time=start + pd.Timedelta(minutes=28), rating=1,
                     follow_up_time=pd.NaT, text="客户反映衬衫洗后严重缩水，情绪激动给了1星，已登记待主管回访"))
    start = at(-2, "15:40:00")
    rows.append(dict(session_id=OPEN_COMPLEX_SESSION, platform="JD", agent="客服06", category="售后", topic="退换货",
                     start_time=start, first_response_s=12.0, resolved_time=pd.NaT, rating=None, follow_up_time=pd.NaT,
                     text="客户收到的充电宝无法充电申请换货，仓库未确认收到退件，解决方案还没给出"))
    for sid, (platform, agent, offset, clock, text) in CLAIM_SESSIONS.items():
        start = at(offset, clock)
        rows.append(dict(session_id=sid, platform=platform, agent=agent, category="售后", topic="投诉",
                         start_time=start, first_response_s=9.0, resolved_time=start + pd.Timedelta(hours=3),
                         rating=None, follow_up_time=pd.NaT, text=text))
    frame = pd.DataFrame(rows)
    ids = [order_of(r.platform, r.start_time) for r in frame.itertuples()]
    frame["order_id"] = [i for i, _ in ids]
    frame["customer_id"] = [c for _, c in ids]
    frame["channel"] = frame["platform"].map(CS_CHANNELS)
    frame["rating"] = frame["rating"].astype("Int64")
    for column in ("resolved_time", "follow_up_time"):
        frame[column] = pd.to_datetime(frame[column]).dt.tz_localize(TZ_NAME) if frame[column].isna().all() \
            else frame[column]
    return frame


# ---------------------------------------------------------------- reviews (service_quality, risk_watch)

# reviews of 云栖每日坚果礼盒 on three platforms within 10 hours, two of them never answered (≥ 3 quality words in 24 h)
QUALITY_FAULT = {"product": "云栖每日坚果礼盒", "start": "2026-06-28 09:12", "platforms": ("TM", "JD", "TB"),
                 "hours": (0.0, 4.6, 9.4), "ratings": (1, 1, 2), "replied_hours": (1.5, None, None),
                 "texts": ("坚果有一股哈喇味，好几颗核桃已经变质了，发苦", "吃到一半吃出了异物，像是一小块塑料，太恶心了",
                           "开袋就闻到味道不对，腰果软了，感觉是变质了")}
# competitor-attack reviews on one platform on one day (> 5 a platform a day); they also lift that platform's
# bad-review rate over the scan week
COMPETITOR_FAULT = {"platform": "PDD", "day": "2026-06-26", "texts": (
    "抄袭大牌的设计，做工也粗糙，质量差", "质量差，还不如隔壁那家，别买", "价格贵，同样的东西别家便宜一半", "明显是抄袭的款，质量差得离谱",
    "价格贵得离谱，质量差，不推荐", "质量差，用两天就坏，价格贵", "抄袭别人家的，质量差，大家避雷")}
# a review asking whether the power bank is certified: policy words (禁售, 3C认证)
POLICY_FAULT = {"platform": "JD", "product": "云栖20000mAh充电宝", "time": "2026-06-29 15:40", "rating": 2,
                "text": "充电宝上找不到3C认证的标志，没有3C认证的充电宝不是禁售的吗？上飞机都被收了"}
# a professional claimant's review (虚假宣传, 12315, 假一赔十), never answered
CLAIMANT_FAULT = {"platform": "TM", "product": "云栖烟酰胺精华液30ml", "time": "2026-06-27 20:05", "rating": 1,
                  "text": "页面写美白淡斑，普通化妆品宣传功效属于虚假宣传，已保留证据向12315投诉，要求假一赔十，"
                          "请尽快联系我139****5678"}
REVIEW_RATE = {"completed": 0.8, "refunded": 0.5}  # share of order lines reviewed
RATING_P = {"completed": (0.007, 0.006, 0.03, 0.107, 0.85), "refunded": (0.07, 0.05, 0.13, 0.15, 0.60)}  # 1…5 stars
DEFAULT_TEXT = "此用户没有填写评价。"
PRAISE = {  # per category: what a happy buyer writes about the product, then a general remark
    "服饰": ("面料很舒服，穿着透气", "版型好看，尺码标准", "做工精细，没有线头", "颜色和图片一样，很显瘦", "穿上很有型，上身效果好"),
    "3C数码": ("音质不错，降噪效果明显", "充电很快，做工扎实", "手感很好，按键清脆", "续航给力，连接稳定", "包装严实，东西是正品"),
    "美妆": ("用着很温和，不刺激", "补水效果不错，吸收快", "味道淡淡的很好闻", "质地清爽不油腻", "用了一周皮肤状态变好了"),
    "食品": ("很新鲜，味道很好", "分量足，独立包装很方便", "口感香脆，家里人都爱吃", "日期很新，包装完好", "香味很浓，会回购"),
    "家居": ("质量很好，摸起来很舒服", "尺寸合适，做工不错", "睡着很舒服，支撑性好", "收纳空间大，很实用", "安静不吵，出雾很细"),
}
REMARK = ("物流很快，第二天就到了", "客服态度很好，有问必答", "性价比高，推荐购买", "已经回购好几次了", "包装很用心",
          "整体满意", "送人也很体面", "比实体店划算", "好评！", "")
NEUTRAL = ("还行吧，一般般", "东西收到了，还没怎么用", "和描述差不多，中规中矩", "物流有点慢，东西还可以", "包装简单了点")
COMPLAINT = {  # 1–2 stars: everyday complaints (a few name a quality problem the risk lexicon watches)
    "服饰": ("尺码偏小，穿不上，退换还麻烦", "洗了一次就起球了", "色差很大，和图片完全不一样", "线头很多，做工粗糙"),
    "3C数码": ("用了三天就连不上了", "充电很慢，和宣传的不一样", "有杂音，体验很差", "收到就有划痕"),
    "美妆": ("用了脸上发红，不适合我", "包装漏了，洒了一半", "味道很刺鼻", "效果一般，没有宣传的好"),
    "食品": ("太咸了，不好吃", "好多碎的，包装压坏了", "口感一般，有点受潮", "分量比以前少了"),
    "家居": ("有很大的味道，散了好几天", "尺寸和描述不符", "用了几天就坏了", "面料起球，质量差"),
}
PHONE_TEXT = "东西不错，有售后问题可以打我电话{}"  # a few buyers leave a phone number (stored masked, as intake leaves it)
PHONE_REVIEWS = 4


def _pick(rng: np.random.Generator, options: tuple[str, ...], n: int) -> np.ndarray:
    return np.array(options, dtype=object)[rng.integers(0, len(options), n)]


def _review_texts(rng: np.random.Generator, category: np.ndarray, rating: np.ndarray) -> np.ndarray:
    """Believable texts per category and rating (vectorised: one draw per template list and category)."""
    n = len(rating)
    text = np.full(n, DEFAULT_TEXT, dtype=object)
    remark = _pick(rng, REMARK, n)
    for cat in PRAISE:
        here = category == cat
        good = here & (rating >= 4)
        text[good] = _pick(rng, PRAISE[cat], int(good.sum())) + np.where(remark[good] == "", "", "，") + remark[good]
        bad = here & (rating <= 2)
        text[bad] = _pick(rng, COMPLAINT[cat], int(bad.sum()))
    mid = rating == 3
    text[mid] = _pick(rng, NEUTRAL, int(mid.sum()))
    silent = (rng.random(n) < 0.12) & (rating >= 4)  # default praise: the buyer wrote nothing
    text[silent] = DEFAULT_TEXT
    return text


def _reviews(rng: np.random.Generator, shop: Shop) -> pd.DataFrame | None:
    """Reviews of the recent completed (and some refunded) order lines: most 5 stars, 1–2 stars near 2–3 %, many
    with the shop's reply; with the planted quality, competitor, policy and claimant reviews."""
    o = shop.orders
    o = o[o["status"].isin(list(REVIEW_RATE)) & ~o["is_fake"].fillna(False).astype(bool)].reset_index(drop=True)
    if o.empty:
        return None
    status = o["status"].to_numpy()
    keep = rng.random(len(o)) < np.where(status == "completed", REVIEW_RATE["completed"], REVIEW_RATE["refunded"])
    end = shop.end + pd.Timedelta(days=1)  # the data ends at midnight after the last day
    after = pd.to_timedelta(rng.uniform(3.5, 15.0, len(o)), unit="D")
    when = (o["order_time"] + after).dt.floor("s")
    keep &= (when < end).to_numpy()
    o, status, when = o[keep].reset_index(drop=True), status[keep], when[keep].reset_index(drop=True)
    n = len(o)
    rating = np.empty(n, dtype=np.int64)
    for s, p in RATING_P.items():
        here = status == s
        rating[here] = rng.choice(np.arange(1, 6), size=int(here.sum()), p=p)
    names = shop.tables["products"].drop_duplicates("sku").set_index("sku")
    category = o["sku"].map(names["category"]).fillna("家居").to_numpy()
    text = _review_texts(rng, category, rating)
    phones = rng.choice(np.flatnonzero(rating >= 4), size=min(PHONE_REVIEWS, int((rating >= 4).sum())), replace=False)
    text[phones] = [PHONE_TEXT.format(f"1{rng.integers(3, 10)}{rng.integers(0, 10):d}****{rng.integers(0, 10 ** 4):04d}")
                    for _ in phones]
    p_reply = np.where(rating <= 3, 0.75, 0.15)
    replied = rng.random(n) < p_reply
    late = rng.random(n) < 0.12  # some answers come after the 24 h the SOP gives
    hours = np.where(late, rng.uniform(26, 72, n), rng.uniform(0.3, 20, n))
    reply = when + pd.to_timedelta(hours, unit="h").floor("s")
    reply = reply.where(replied & (reply < end).to_numpy())
    df = pd.DataFrame({"review_id": "RV" + o["line_id"].astype(str).str.replace("-", "", regex=False),
                       "platform": o["platform"], "order_id": o["order_id"], "sku": o["sku"], "rating": rating,
                       "text": text, "review_time": when, "reply_time": reply})
    _plant_reviews(df, names, o["order_time"])
    return df.sort_values(["review_time", "review_id"]).reset_index(drop=True)


def _plant(df: pd.DataFrame, names: pd.DataFrame, order_time: pd.Series, used: set, platform: str, at: pd.Timestamp,
           text: str, rating: int, reply_hours: float | None, product: str | None = None) -> None:
    """Turn one review of `platform` (of `product`), of an order placed ≥ 3 days before `at`, into a planted one."""
    ok = (df["platform"] == platform) & (order_time <= at - pd.Timedelta(days=3)) & ~df.index.isin(list(used))
    if product is not None:
        ok &= df["sku"].map(names["name"]).eq(product)
    if not ok.any():
        return  # a tiny shop without such an order: the fault is left out
    i = ok[ok].index[-1]  # the most recent such order
    used.add(i)
    df.loc[i, ["text", "rating", "review_time"]] = [text, rating, at]
    df.loc[i, "reply_time"] = at + pd.Timedelta(hours=reply_hours) if reply_hours is not None else pd.NaT


def _plant_reviews(df: pd.DataFrame, names: pd.DataFrame, order_time: pd.Series) -> None:
    """The planted faults (module constants), written over existing reviews so that their orders are real."""
    tz, used = df["review_time"].dt.tz, set()
    q = QUALITY_FAULT
    for platform, hours, rating, reply, text in zip(q["platforms"], q["hours"], q["ratings"], q["replied_hours"],
                                                    q["texts"]):
        at = pd.Timestamp(q["start"], tz=tz) + pd.Timedelta(hours=hours)
        _plant(df, names, order_time, used, platform, at, text, rating, reply, q["product"])
    c = COMPETITOR_FAULT
    for k, text in enumerate(c["texts"]):
        at = pd.Timestamp(c["day"], tz=tz) + pd.Timedelta(hours=9 + 1.7 * k, minutes=7 * k)
        _plant(df, names, order_time, used, c["platform"], at, text, 1, 3.0 if k % 2 else None)
    for f, reply in ((POLICY_FAULT, 5.0), (CLAIMANT_FAULT, None)):
        _plant(df, names, order_time, used, f["platform"], pd.Timestamp(f["time"], tz=tz), f["text"], f["rating"],
               reply, f["product"])


# ---------------------------------------------------------------- keyword ranks (risk_watch)

# the keyword whose search rank falls on one platform: about 17th in the week before the last one, about 27th in the
# last week (a drop of ~59 %, > 20 %: a level-1 traffic warning)
RANK_FAULT = {"keyword": "防晒衣女", "platform": "DY", "before": 17, "after": 27, "days": 7}
KEYWORDS = {  # keyword → the product it leads to (its platforms are that product's)
    "纯棉T恤": "云栖纯棉圆领短袖T恤", "短袖T恤男": "云栖纯棉圆领短袖T恤", "防晒衣女": "云栖冰丝防晒衣",
    "冰丝防晒衣": "云栖冰丝防晒衣", "阔腿牛仔裤": "云栖高腰阔腿牛仔裤", "轻薄羽绒服": "云栖轻薄羽绒服",
    "降噪耳机": "云栖蓝牙降噪耳机", "充电宝20000毫安": "云栖20000mAh充电宝", "氮化镓充电器": "云栖65W氮化镓充电器",
    "机械键盘": "云栖87键机械键盘", "补水面膜": "云栖玻尿酸补水面膜10片", "烟酰胺精华": "云栖烟酰胺精华液30ml",
    "氨基酸洗面奶": "云栖氨基酸洗面奶", "持妆粉底液": "云栖持妆粉底液", "每日坚果": "云栖每日坚果礼盒",
    "咖啡豆": "云栖云南小粒咖啡豆", "低糖燕麦片": "云栖低糖燕麦片", "纯棉四件套": "云栖纯棉四件套",
    "记忆棉枕头": "云栖记忆棉枕头", "香薰加湿器": "云栖香薰加湿器",
}


def _keyword_ranks(rng: np.random.Generator, shop: Shop) -> pd.DataFrame | None:
    """Daily search ranks of the shop's keywords on the platforms their product sells on, over the recent days:
    each around a level of its own with day-to-day noise, a few days out of the ranking; one planted drop."""
    products = shop.tables["products"]
    pairs = [(kw, r.platform, r.sku) for kw, name in KEYWORDS.items()
             for r in products[products["name"] == name].itertuples()]
    if not pairs:
        return None
    days = pd.date_range(shop.first.tz_localize(None), shop.end.tz_localize(None), freq="D")
    k, d = len(pairs), len(days)
    level = np.exp(rng.uniform(np.log(3), np.log(80), k))
    rank = np.rint(level[:, None] * np.exp(rng.normal(0, 0.08, (k, d)))).clip(1)
    missing = rng.random((k, d)) < 0.01  # a day outside the ranking list (top 200)
    f = RANK_FAULT
    for i, (kw, platform, _) in enumerate(pairs):
        if (kw, platform) == (f["keyword"], f["platform"]):
            base = np.full(d, float(f["before"]))
            base[-f["days"]:] = f["after"]
            rank[i] = np.rint(base * np.exp(rng.normal(0, 0.03, d))).clip(1)
            missing[i] = False
    frame = pd.DataFrame({"date": np.tile(days.to_numpy(), k), "platform": np.repeat([p for _, p, _ in pairs], d),
                          "keyword": np.repeat([kw for kw, _, _ in pairs], d),
                          "rank": pd.array(np.where(missing, 0, rank).ravel().astype(np.int64), dtype="Int64"),
                          "sku": np.repeat([s for _, _, s in pairs], d)})
    frame.loc[missing.ravel(), "rank"] = pd.NA
    return frame


# ---------------------------------------------------------------- promotion plans (promo_timeline)

PLAN_PROMOTION, HISTORY_PROMOTION = "2026年双11", "2026年618"
OVERDUE_TASK = "秋冬新品选品"  # planned 06-01 … 06-25, not done on 06-30: 5 days overdue
WARNED_TASK = "秋冬新品打样与首批生产"  # planned 06-03 … 07-02 (30 days): day 28 on 06-30, warned from day 27
HISTORY_LATE = ("活动素材准备（主图、详情页、海报）", "客服 FAQ 与话术上传")  # 618's tasks done 2 and 1 days late
PLAN_END = "2026-06-30"  # the sample's end the dates below are written for (shifted with another end)
# (task, owner role, start, planned end, done or None, milestone): the plans as staff keep them, made from
# data/reference/milestones.yaml (双11 and 默认) with the promotions' calendar days (双11 10-15 … 11-11, 618 05-20 … 06-20)
PLANS = {
    PLAN_PROMOTION: [
        ("大促目标与预算确定", "主管", "2026-05-23", "2026-06-02", "2026-06-01", "策划"),
        (OVERDUE_TASK, "运营", "2026-06-01", "2026-06-25", None, "货品"),
        (WARNED_TASK, "采购", "2026-06-03", "2026-07-02", None, "货品"),
        ("供应商产能与旺季排产确认", "采购", "2026-06-17", "2026-07-17", None, "备货"),
        ("双11 货盘与价格带规划", "运营", "2026-07-02", "2026-07-22", None, "策划"),
        ("新品拍摄与详情页制作", "设计", "2026-07-07", "2026-08-06", None, "素材"),
        ("新品上架与基础销量", "运营", "2026-08-01", "2026-08-30", None, "货品"),
        ("达人与内容种草排期", "内容", "2026-08-01", "2026-09-14", None, "预热"),
        ("备货计划与采购下单", "采购", "2026-08-16", "2026-09-14", None, "备货"),
        ("平台活动报名", "运营", "2026-08-31", "2026-09-14", None, "报名"),
        ("活动商品资质与合规自查", "法务", "2026-09-05", "2026-09-14", None, "报名"),
        ("活动素材准备（主图、详情页、海报）", "设计", "2026-09-30", "2026-10-09", None, "素材"),
        ("客服 FAQ 与话术上传", "客服", "2026-09-30", "2026-10-10", None, "客服"),
        ("活动备货量更新与入仓", "仓储", "2026-09-30", "2026-10-12", None, "备货"),
        ("价格核对（近 30 天最低价）", "运营", "2026-10-05", "2026-10-11", None, "价格"),
        ("预热与加购蓄水", "运营", "2026-10-08", "2026-10-14", None, "预热"),
        ("上线前价格与库存终检", "主管", "2026-10-13", "2026-10-14", None, "价格"),
        ("大促期间数据监控与值守", "数据分析", "2026-10-15", "2026-11-11", None, "执行"),
        ("发货与物流跟进", "仓储", "2026-10-15", "2026-11-16", None, "执行"),
        ("售后与差评处理", "客服", "2026-10-15", "2026-11-26", None, "售后"),
        ("大促复盘", "数据分析", "2026-11-14", "2026-11-21", None, "复盘"),
        ("库存清理与返场", "运营", "2026-11-16", "2026-12-01", None, "复盘"),
    ],
    HISTORY_PROMOTION: [
        ("大促目标与预算确定", "主管", "2026-04-05", "2026-04-09", "2026-04-09", "策划"),
        ("活动选品与货盘确定", "运营", "2026-04-08", "2026-04-15", "2026-04-14", "货品"),
        ("备货计划与采购下单", "采购", "2026-04-15", "2026-05-04", "2026-05-02", "备货"),
        ("平台活动报名", "运营", "2026-04-20", "2026-04-29", "2026-04-27", "报名"),
        ("活动商品资质与合规自查", "法务", "2026-04-22", "2026-04-29", "2026-04-28", "报名"),
        ("达人与内容种草排期", "内容", "2026-04-25", "2026-05-12", "2026-05-12", "预热"),
        (HISTORY_LATE[0], "设计", "2026-05-05", "2026-05-14", "2026-05-16", "素材"),
        (HISTORY_LATE[1], "客服", "2026-05-05", "2026-05-15", "2026-05-16", "客服"),
        ("活动备货量更新与入仓", "仓储", "2026-05-05", "2026-05-17", "2026-05-17", "备货"),
        ("价格核对（近 30 天最低价）", "运营", "2026-05-13", "2026-05-17", "2026-05-16", "价格"),
        ("上线前价格与库存终检", "主管", "2026-05-18", "2026-05-19", "2026-05-19", "价格"),
        ("大促期间数据监控与值守", "数据分析", "2026-05-20", "2026-06-20", "2026-06-20", "执行"),
        ("发货与物流跟进", "仓储", "2026-05-20", "2026-06-25", "2026-06-24", "执行"),
        ("售后与差评处理", "客服", "2026-05-20", "2026-07-05", None, "售后"),
        ("大促复盘", "数据分析", "2026-06-23", "2026-06-30", "2026-06-29", "复盘"),
        ("库存清理与返场", "运营", "2026-06-25", "2026-07-10", None, "复盘"),
    ],
}


def _plan_tasks(rng: np.random.Generator, shop: Shop) -> pd.DataFrame | None:
    """The plans of the coming 双11 and of the 618 just over (`PLANS`), their days moved with the sample's end."""
    shift = shop.end.tz_localize(None).normalize() - pd.Timestamp(PLAN_END)
    prefix = {PLAN_PROMOTION: "D11", HISTORY_PROMOTION: "618"}
    rows = [(promotion, f"{prefix[promotion]}-{i:02d}", *task)
            for promotion, tasks in PLANS.items() for i, task in enumerate(tasks, 1)]
    frame = pd.DataFrame(rows, columns=["promotion", "task_id", "task", "owner_role", "start_date", "planned_end",
                                        "done_date", "milestone"])
    for column in ("start_date", "planned_end", "done_date"):
        frame[column] = pd.to_datetime(frame[column]).astype("datetime64[us]") + shift
    return frame


# ---------------------------------------------------------------- creator content (content_funnel)

# (nickname, platform the content's link sells on, followers): head ≥ 1,000,000, waist 100k–500k, amateur 10k–100k,
# one between waist and head (500k–1M) and one under 10k — the content_funnel playbook's 其他, outside the three tiers
CREATORS = (
    ("小鹿爱种草", "DY", 3_260_000), ("穿搭阿May", "DY", 1_850_000), ("美妆课代表Lynn", "DY", 2_410_000),
    ("好物研究所", "TB", 1_320_000),
    ("橙子的日常", "DY", 680_000),
    ("数码小宇", "DY", 356_000), ("通勤穿搭日记", "DY", 212_000), ("护肤实验室阿哲", "TM", 148_000),
    ("宝妈省钱记", "TB", 420_000), ("健身少女Coco", "DY", 275_000), ("厨房里的阿婆", "DY", 133_000),
    ("极客老周", "JD", 187_000),
    ("一颗柠檬酱", "DY", 46_000), ("桃桃不吃桃", "DY", 23_500), ("小王爱测评", "TB", 68_000), ("林间晚风", "DY", 15_200),
    ("奶茶续命中", "TB", 31_800), ("阿鱼的衣橱", "DY", 87_000), ("学生党小七", "PDD", 12_600), ("周末去露营", "TM", 54_000),
    ("素颜日记本", "DY", 8_400),
)
HEAD_LAGGARD = "美妆课代表Lynn"  # a head creator whose content returns about half the ROI of the other head creators
NO_LINK_CREATOR = "通勤穿搭日记"  # … whose post of NO_LINK_DAYS_BEFORE_END days before the end went out without a link
NO_LINK_CONTENT = "7386204417935608251"  # that post: 862,000 plays, no link clicks, no sales
NO_LINK_DAYS_BEFORE_END = 4
# per followers band: (weekly posts, cost range in yuan, ROI median, ROI spread (log), share of free 寄样/置换 posts)
_BANDS = ((1_000_000, 1.0, (30_000, 80_000), 3.2, 0.12, 0.0), (500_000, 0.6, (12_000, 20_000), 2.6, 0.25, 0.0),
          (100_000, 0.8, (3_000, 12_000), 3.6, 0.35, 0.0), (10_000, 0.9, (300, 2_500), 2.8, 0.6, 0.1),
          (0, 0.5, (100, 500), 2.0, 0.5, 0.3))


def _kol_content(rng: np.random.Generator, shop: Shop) -> pd.DataFrame | None:
    """Creator content of the recent weeks: each creator posts at its band's weekly rate (head creators exactly once a
    week, so every week has each of them), cost, ROI and a believable funnel per post — plays → completions →
    interactions → link clicks → carts → orders (GMV at the linked SKU's price) → repurchases — drawn backwards from
    the post's GMV; HEAD_LAGGARD at half its tier's ROI and NO_LINK_CONTENT with plays and no link planted."""
    days = (shop.end - shop.first).days + 1
    products = shop.tables["products"]
    rows = []
    for i, (name, platform, followers) in enumerate(CREATORS):
        band = next(b for b in _BANDS if followers >= b[0])
        weekly, (lo, hi), roi_mid, spread, free = band[1:]
        if band[0] >= 1_000_000:  # weekly, on the creator's own weekday
            back = np.arange(rng.integers(0, 7), days, 7)
        else:
            back = np.sort(rng.choice(days, size=min(days, rng.poisson(weekly * days / 7) + 1), replace=False))
        n = len(back)
        listed = products[products["platform"] == platform]
        pick = listed.iloc[rng.integers(0, len(listed), n)]
        cost = np.round(rng.uniform(lo, hi, n), -2 if lo >= 1_000 else -1)
        cost[rng.random(n) < free] = 0.0
        roi = roi_mid * (0.5 if name == HEAD_LAGGARD else 1.0) * np.exp(rng.normal(0, spread, n))
        price = pick["price"].to_numpy(float)
        orders = np.where(cost > 0, np.round(cost * roi / price), rng.integers(2, 15, n)).astype(np.int64)
        gmv = np.round(orders * price * rng.uniform(0.88, 1.0, n), 2)
        clicks = np.ceil(np.maximum(orders, 1) / rng.uniform(0.03, 0.08, n)).astype(np.int64)
        carts = np.minimum(clicks, np.round(orders * rng.uniform(1.6, 3.0, n))).astype(np.int64)
        plays = np.round(clicks / rng.uniform(0.004, 0.02, n)).astype(np.int64)
        ids = ("73" + pd.Series(rng.integers(10 ** 16, 10 ** 17, n)).astype(str) if platform == "DY"  # 抖音: 19 digits
               else pd.Series(rng.integers(5 * 10 ** 11, 10 ** 12, n)).astype(str)).to_numpy()
        rows.append(pd.DataFrame({
            "content_id": ids, "platform": platform, "creator": name, "followers": followers,
            "publish_date": (shop.end - pd.to_timedelta(back, unit="D")).tz_localize(None),
            "cost": cost, "plays": plays,
            "completions": np.round(plays * rng.uniform(0.12, 0.4, n)).astype(np.int64),
            "interactions": np.round(plays * rng.uniform(0.02, 0.09, n)).astype(np.int64),
            "link_clicks": clicks, "carts": carts, "orders": orders, "gmv": gmv,
            "repurchase_orders": rng.binomial(orders, rng.uniform(0.03, 0.12, n)), "sku": pick["sku"].to_numpy()}))
    df = pd.concat(rows, ignore_index=True)
    no_link = (df["creator"] == NO_LINK_CREATOR) & (df["publish_date"] == (shop.end - pd.Timedelta(
        days=NO_LINK_DAYS_BEFORE_END)).tz_localize(None))
    planted = {"content_id": NO_LINK_CONTENT, "platform": "DY", "creator": NO_LINK_CREATOR, "followers": 212_000,
               "publish_date": (shop.end - pd.Timedelta(days=NO_LINK_DAYS_BEFORE_END)).tz_localize(None),
               "cost": 8_800.0, "plays": 862_000, "completions": 301_700, "interactions": 58_600, "link_clicks": 0,
               "carts": 0, "orders": 0, "gmv": 0.0, "repurchase_orders": 0, "sku": "DY-01-S-2508"}
    df = pd.concat([df[~no_link], pd.DataFrame([planted])], ignore_index=True)
    df = df.sort_values(["publish_date", "platform", "content_id"], ignore_index=True)
    return df.astype({"followers": "int64", "plays": "int64", "completions": "int64", "interactions": "int64",
                      "link_clicks": "int64", "carts": "int64", "orders": "int64", "repurchase_orders": "int64"})


# ---------------------------------------------------------------- SOP pilots (sop_execution)

# 催付话术 v2 on customers with unpaid orders: 400 + 400 with an outcome, paid 243 (60.8 %) vs 197 (49.3 %), a
# significant improvement; a few customers assigned on the last day have no outcome yet (counted apart, not failures)
PAYMENT_PILOT, PAYMENT_VERSIONS, PAYMENT_METRIC = "催付话术 v2", ("v2", "v1"), "付款率"
PAYMENT_UNITS, PAYMENT_PAID, PAYMENT_PENDING = (400, 400), (243, 197), (12, 9)
# 差评回访 v1.1 on four agents against four: the share of 1–2 star reviews turned round per agent — too few to judge
REVISIT_PILOT, REVISIT_VERSIONS, REVISIT_METRIC = "差评回访 v1.1", ("v1.1", "v1.0"), "差评挽回率"
REVISIT_AGENTS = (("小美", "阿杰", "晓晴", "大宝"), ("木木", "安琪", "小鹿", "阿凯"))
REVISIT_OUTCOMES = ((0.42, 0.55, 0.48, 0.61), (0.38, 0.45, 0.40, 0.36))


def _assigned(rng: np.random.Generator, start: pd.Timestamp, days: int, n: int) -> pd.Series:
    """`n` assignment times on the `days` days from `start`, in working hours (09:00–22:00)."""
    seconds = rng.integers(0, days, n) * 86400 + rng.integers(9 * 3600, 22 * 3600, n)
    return pd.Series(start + pd.to_timedelta(np.sort(seconds), unit="s"))


def _sop_pilots(rng: np.random.Generator, shop: Shop) -> pd.DataFrame | None:
    """Units assigned to the pilot and control groups of new SOP versions: the 催付 customers (from the recent unpaid
    orders, padded with made-up ids on a tiny shop) and the 差评回访 agents (module constants above)."""
    groups = ("试点", "对照")
    pending = np.array(PAYMENT_PENDING)
    sizes = np.array(PAYMENT_UNITS) + pending
    unpaid = shop.orders.loc[shop.orders["status"].isin(["unpaid", "closed"]), "customer_id"].astype(str).unique()
    pool = unpaid if len(unpaid) >= sizes.sum() else shop.orders["customer_id"].astype(str).unique()
    if len(pool) >= sizes.sum():
        ids = pool[rng.choice(len(pool), sizes.sum(), replace=False)]  # unique(): first-seen order, reproducible
    else:
        ids = np.array([f"C-P{i:05d}" for i in range(sizes.sum())])
    frames = []
    start = 0
    for group, size, paid, waiting, version in zip(groups, sizes, PAYMENT_PAID, pending, PAYMENT_VERSIONS):
        known = size - waiting
        outcome = np.r_[rng.permutation(np.r_[np.ones(paid), np.zeros(known - paid)]), np.full(waiting, np.nan)]
        when = pd.concat([_assigned(rng, shop.end - pd.Timedelta(days=15), 14, known),
                          _assigned(rng, shop.end, 1, waiting)], ignore_index=True)
        frames.append(pd.DataFrame({"pilot": PAYMENT_PILOT, "playbook": "service_quality", "sop_version": version,
                                    "unit_id": ids[start:start + size], "unit_kind": "客户", "pilot_group": group,
                                    "assigned_at": when, "metric": PAYMENT_METRIC, "outcome": outcome}))
        start += size
    for group, agents, outcomes, version in zip(groups, REVISIT_AGENTS, REVISIT_OUTCOMES, REVISIT_VERSIONS):
        frames.append(pd.DataFrame({"pilot": REVISIT_PILOT, "playbook": "service_quality", "sop_version": version,
                                    "unit_id": list(agents), "unit_kind": "员工", "pilot_group": group,
                                    "assigned_at": shop.end - pd.Timedelta(days=28) + pd.Timedelta(hours=10),
                                    "metric": REVISIT_METRIC, "outcome": list(outcomes)}))
    return pd.concat(frames, ignore_index=True)


GENERATORS = {"shipments": _shipments, "cs_sessions": _cs_sessions, "reviews": _reviews,
              "keyword_ranks": _keyword_ranks, "plan_tasks": _plan_tasks, "kol_content": _kol_content,
              "sop_pilots": _sop_pilots}
