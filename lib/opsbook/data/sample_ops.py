"""The demo shop's operations tables: shipments, service sessions, reviews, keyword ranks, promotion plans, creator
content and SOP pilots — drawn after the orders, each from its own random stream (so that the other tables, and each
other, stay as they were when one of them changes).

Planted faults, each named by a constant below so that tests can find it (the playbook meant to find it in brackets):
- (each table's section lists its own)
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
