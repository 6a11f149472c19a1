"""order_fulfilment on 1,000,000 shipments: its SLA counts per payment day (`order_fulfilment.sla_by_day`, through the
source's views) vs one hand-written DuckDB query of the same counts over the same parquet files (target ≤ 1.3×).

    python bench/bench_order_fulfilment.py          # or: python bench/run.py fulfil
    BENCH_FULFIL_ROWS=2000000 python bench/bench_order_fulfilment.py

A synthetic shop (seed 13): ~0.93M paid orders over 60 days (06-30 back to 05-02, 618 inside), 1M parcels (a few
orders in two parcels, the newest orders not shipped yet), written with numpy/pyarrow in seconds. Both sides run on a
connection with the same settings (China time, the source's memory limit); the source is opened (and its tables
checked) once before timing, as a notebook opens it once. Both must give the same counts.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

END = dt.datetime(2026, 7, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))  # midnight after the last day
DAYS = 60
HOUR_US = 3_600_000_000


def shop(folder: Path, parcels: int, seed: int = 13) -> tuple[int, int]:
    """Write orders.parquet and shipments.parquet of a synthetic shop with `parcels` parcels; (orders, parcels)."""
    rng = np.random.default_rng(seed)
    n = int(parcels / 1.0175)  # ~3 % of the shipped orders leave in two parcels; the newest ~1 % not shipped yet
    end_us = int(END.timestamp() * 1_000_000)
    pay = np.sort(end_us - (rng.random(n) * DAYS * 24 * HOUR_US).astype(np.int64))
    order = pay - (rng.uniform(0, 2, n) * HOUR_US).astype(np.int64)
    platform = np.array(["TB", "TM", "JD", "DY", "PDD"])[rng.choice(5, n, p=[0.22, 0.30, 0.20, 0.17, 0.11])]
    local_day = (pay + 8 * HOUR_US) // (24 * HOUR_US)
    promo_day = (local_day >= _day(2026, 5, 20)) & (local_day <= _day(2026, 6, 20))
    delay = np.where(promo_day, rng.uniform(2, 50, n), rng.uniform(1, 27, n))  # a few late on either side
    ship = pay + (delay * HOUR_US).astype(np.int64)
    shipped = ship < end_us - (rng.uniform(0, 6, n) * HOUR_US).astype(np.int64)
    status = np.where(~shipped, "paid", np.where(ship < end_us - 240 * HOUR_US, "completed", "shipped"))
    status = np.where(shipped & (rng.random(n) < 0.04), "refunded", status)
    ids = pa.array(np.arange(n, dtype=np.int64) + 2_606_000_000_000_000).cast(pa.string())
    ts = pa.timestamp("us", tz="Asia/Shanghai")
    pq.write_table(pa.table({
        "order_id": ids, "line_id": pc_join(ids, "-1"), "platform": pa.array(platform),
        "customer_id": pa.array(rng.integers(1, n // 3, n)).cast(pa.string()),
        "order_time": pa.array(order, ts), "pay_time": pa.array(pay, ts),
        "sku": pa.array(rng.integers(1, 300, n)).cast(pa.string()), "quantity": pa.array(rng.integers(1, 3, n)),
        "amount": pa.array(rng.uniform(10, 500, n).round(2)), "status": pa.array(status),
        "refund_amount": pa.array(np.where(status == "refunded", 10.0, 0.0)), "province": pa.array(np.full(n, "浙江")),
        "city": pa.array(np.full(n, "杭州")), "is_fake": pa.array(np.zeros(n, bool))}), folder / "orders.parquet")
    sent = np.flatnonzero(shipped)
    two = sent[rng.random(len(sent)) < 0.03]
    which = np.concatenate([sent, two])
    when = np.concatenate([ship[sent], ship[two] + (rng.uniform(0.2, 3, len(two)) * HOUR_US).astype(np.int64)])
    transit = (rng.uniform(20, 96, len(which)) * HOUR_US).astype(np.int64)
    arrived = when + transit
    delivered = arrived < end_us
    last = np.where(delivered, arrived, np.maximum(when, end_us - (rng.uniform(0.5, 60, len(which)) * HOUR_US)
                                                    .astype(np.int64)))
    base = rng.integers(73 * 10 ** 10, 79 * 10 ** 10, len(which))
    tracking = pa.array(base + np.arange(len(which))).cast(pa.string())
    exception = np.where(rng.random(len(which)) < 0.004, "错发", None)
    pq.write_table(pa.table({
        "order_id": ids.take(pa.array(which)), "platform": pa.array(platform[which]),
        "carrier": pa.array(np.array(["中通", "圆通", "韵达", "顺丰", "京东物流", "极兔"])[rng.integers(0, 6, len(which))]),
        "tracking_no": tracking, "ship_time": pa.array(when, ts), "last_event_time": pa.array(last, ts),
        "delivered_time": pa.array(arrived, ts, mask=~delivered), "exception": pa.array(exception, pa.string())}),
        folder / "shipments.parquet")
    return n, len(which)


def _day(y: int, m: int, d: int) -> int:
    return (dt.date(y, m, d) - dt.date(1970, 1, 1)).days


def pc_join(ids: pa.Array, suffix: str) -> pa.Array:
    import pyarrow.compute as pc
    return pc.binary_join_element_wise(ids, pa.scalar(suffix), "")


BASELINE = """
WITH o AS (SELECT platform, order_id, min(pay_time) AS pay_time, bool_and(status = 'refunded') AS refunded
           FROM read_parquet('{folder}/orders.parquet')
           WHERE status IN ('paid', 'shipped', 'completed', 'refunded') AND pay_time IS NOT NULL
             AND NOT coalesce(is_fake, false) AND pay_time >= $start AND pay_time < $at
           GROUP BY platform, order_id),
s AS (SELECT platform, order_id, min(ship_time) AS shipped FROM read_parquet('{folder}/shipments.parquet')
      WHERE ship_time < $at GROUP BY platform, order_id),
k AS (SELECT CAST(o.pay_time AS DATE) AS pay_day, o.refunded, s.shipped,
             o.pay_time + to_hours(CASE WHEN CAST(o.pay_time AS DATE) BETWEEN DATE '2026-05-20' AND DATE '2026-06-20'
                                        THEN 48 ELSE 24 END) AS deadline
      FROM o LEFT JOIN s USING (platform, order_id))
SELECT pay_day, count(*) AS paid_orders, count(*) FILTER (shipped <= deadline) AS on_time,
       count(*) FILTER (shipped > deadline) AS late,
       count(*) FILTER (shipped IS NULL AND NOT refunded AND deadline <= $at) AS overdue,
       count(*) FILTER (shipped IS NULL AND NOT refunded AND deadline > $at) AS waiting
FROM k GROUP BY pay_day ORDER BY pay_day
"""


def bench(parcels: int = int(os.environ.get("BENCH_FULFIL_ROWS", "1000000")),
          repeat: int = int(os.environ.get("BENCH_REPEAT", "7"))) -> None:
    """Print the median times of both sides and their ratio (target ≤ 1.3×)."""
    from opsbook import sources
    from opsbook.data import duck
    from opsbook.sops import order_fulfilment
    folder = Path(tempfile.mkdtemp(prefix="opsbook-fulfil-"))
    try:
        t0 = time.perf_counter()
        orders, written = shop(folder, parcels)
        made = time.perf_counter() - t0
        at = END
        start = at - dt.timedelta(days=DAYS)
        rules = order_fulfilment.Rules()
        promos = order_fulfilment.promotions(start.date(), at.date())
        assert [(p.start, p.end) for p in promos] == [(dt.date(2026, 5, 20), dt.date(2026, 6, 20))]
        t0 = time.perf_counter()
        src = sources.open_source(str(folder))
        src.connect()  # the source's checks, once, as a notebook opens its source once
        opened = time.perf_counter() - t0
        con = duck.connect(os.environ.get(duck.DUCKDB_MEMORY_ENV, "512MB"))
        query = BASELINE.format(folder=folder)

        def ours():
            return order_fulfilment.sla_by_day(src, at, start, rules, promos)

        def baseline():
            return con.execute(query, {"start": start, "at": at}).df()

        a, b = ours(), baseline()
        keep = ["paid_orders", "on_time", "late", "overdue", "waiting"]
        assert a[keep].to_numpy().tolist() == b[keep].to_numpy().tolist(), "the two sides disagree"
        mine, theirs = [], []
        for _ in range(repeat):  # interleaved, so a noisy moment hits both
            t0 = time.perf_counter()
            ours()
            mine.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            baseline()
            theirs.append(time.perf_counter() - t0)
        ratios = [m / t for m, t in zip(mine, theirs)]
        print(f"fulfil: {written:,} parcels of {orders:,} orders (written in {made:.1f} s; source opened and checked "
              f"in {opened:.1f} s): sla_by_day median {statistics.median(mine):.3f} s vs hand-written DuckDB "
              f"{statistics.median(theirs):.3f} s → {statistics.median(mine) / statistics.median(theirs):.2f}× "
              f"(median of per-repeat ratios {statistics.median(ratios):.2f}×, {repeat} repeats; target ≤ 1.3×); "
              f"{int(a['late'].sum()):,} late, {int(a['overdue'].sum()):,} overdue")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    bench()
