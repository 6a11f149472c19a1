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

def _kol_content(rng: np.random.Generator, shop: Shop) -> pd.DataFrame | None:
    """Creator content of the recent weeks."""
    return None


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
