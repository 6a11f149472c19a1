"""The demo shop's operations tables: shipments, service sessions, reviews, keyword ranks, promotion plans, creator
content and SOP pilots — drawn after the orders, each from its own random stream (so that the other tables, and each
other, stay as they were when one of them changes).

Planted faults, each named by a constant below so that tests can find it (the playbook meant to find it in brackets):
- (each table's section lists its own)
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

def _cs_sessions(rng: np.random.Generator, shop: Shop) -> pd.DataFrame | None:
    """Customer-service sessions of the recent days."""
    return None


# ---------------------------------------------------------------- reviews (service_quality, risk_watch)

def _reviews(rng: np.random.Generator, shop: Shop) -> pd.DataFrame | None:
    """Reviews of the recent completed orders."""
    return None


# ---------------------------------------------------------------- keyword ranks (risk_watch)

def _keyword_ranks(rng: np.random.Generator, shop: Shop) -> pd.DataFrame | None:
    """Daily search ranks of the shop's keywords."""
    return None


# ---------------------------------------------------------------- promotion plans (promo_timeline)

def _plan_tasks(rng: np.random.Generator, shop: Shop) -> pd.DataFrame | None:
    """The plan of the next big promotion."""
    return None


# ---------------------------------------------------------------- creator content (content_funnel)

def _kol_content(rng: np.random.Generator, shop: Shop) -> pd.DataFrame | None:
    """Creator content of the recent weeks."""
    return None


# ---------------------------------------------------------------- SOP pilots (sop_execution)

def _sop_pilots(rng: np.random.Generator, shop: Shop) -> pd.DataFrame | None:
    """Units assigned to the pilot and control groups of new SOP versions."""
    return None


GENERATORS = {"shipments": _shipments, "cs_sessions": _cs_sessions, "reviews": _reviews,
              "keyword_ranks": _keyword_ranks, "plan_tasks": _plan_tasks, "kol_content": _kol_content,
              "sop_pilots": _sop_pilots}
