"""The demo shop's operations tables: shipments, service sessions, reviews, keyword ranks, promotion plans, creator
content and SOP pilots — drawn after the orders, each from its own random stream (so that the other tables, and each
other, stay as they were when one of them changes).

Planted faults, each named by a constant below so that tests can find it (the playbook meant to find it in brackets):
- (each table's section lists its own)
- kol_content (content_funnel): HEAD_LAGGARD, a head creator at about half the ROI of the tier's other creators;
  NO_LINK_CONTENT, a post with 862,000 plays and no link clicks (no link, or a broken one)
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

def _shipments(rng: np.random.Generator, shop: Shop) -> pd.DataFrame | None:
    """Parcels of the recent paid orders."""
    return None


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

def _sop_pilots(rng: np.random.Generator, shop: Shop) -> pd.DataFrame | None:
    """Units assigned to the pilot and control groups of new SOP versions."""
    return None


GENERATORS = {"shipments": _shipments, "cs_sessions": _cs_sessions, "reviews": _reviews,
              "keyword_ranks": _keyword_ranks, "plan_tasks": _plan_tasks, "kol_content": _kol_content,
              "sop_pilots": _sop_pilots}
