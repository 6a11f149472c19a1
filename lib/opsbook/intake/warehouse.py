"""Merging canonical rows into a warehouse folder: no duplicates, later exports update, atomic per file."""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from .. import tables

KEYS = {"orders": ["platform", "order_id", "line_id"], "ad_spend": ["platform", "channel", "campaign_id", "date"],
        "product_traffic": ["platform", "product_id", "date"]}


def merge(folder: Path, table: str, new: pd.DataFrame) -> dict[str, int]:
    """Merge rows into `<folder>/<table>.parquet`; return counts of added and updated rows.

    A later export wins where it has a value and keeps the stored value where it has none, so nothing
    already stored is lost. The file is written aside and renamed: a failure leaves the old file as it was.
    """
    key = KEYS[table]
    target = folder / f"{table}.parquet"
    old = pd.read_parquet(target) if target.is_file() else new.iloc[0:0]
    new = new.drop_duplicates(subset=key, keep="last").set_index(key)
    old = old.set_index(key)
    merged = new.combine_first(old)
    added = int((~new.index.isin(old.index)).sum())
    before = old.reindex(new.index.intersection(old.index))
    after = merged.reindex(before.index)[before.columns]
    updated = int((~(before.eq(after) | (before.isna() & after.isna()))).any(axis=1).sum())
    columns = list(dict.fromkeys(key + list(new.columns) + list(old.columns)))
    merged = tables.validate(table, merged.reset_index()[columns])
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{table}.parquet.tmp"
    merged.to_parquet(tmp, index=False)
    os.replace(tmp, target)
    return {"added": added, "updated": updated, "total": len(merged)}


def apply_refunds(folder: Path, refunds: pd.DataFrame) -> dict[str, int]:
    """Set refund amounts (spread over an order's lines by amount) and 已退款 status on stored orders.

    Returns counts of updated orders and of refunds whose order is not in the warehouse yet (import
    the order export first, then the refunds again).
    """
    target = folder / "orders.parquet"
    orders = pd.read_parquet(target) if target.is_file() else None
    per_order = refunds.groupby(["platform", "order_id"], as_index=False).agg(
        refund_amount=("refund_amount", "sum"), refunded=("refunded", "any"))
    if orders is None:
        return {"updated": 0, "unmatched": len(per_order)}
    if "refund_amount" not in orders:
        orders["refund_amount"] = float("nan")
    keys = orders.set_index(["platform", "order_id"]).index
    matched = per_order.set_index(["platform", "order_id"]).index.isin(keys)
    hits = per_order[matched]
    merged = orders.merge(hits, on=["platform", "order_id"], how="left", suffixes=("", "_new"))
    has = merged["refund_amount_new"].notna()
    share = merged["amount"] / merged.groupby(["platform", "order_id"])["amount"].transform("sum").replace(0, 1)
    merged.loc[has, "refund_amount"] = (merged.loc[has, "refund_amount_new"] * share[has]).round(2)
    merged.loc[has & merged["refunded"].fillna(False).astype(bool), "status"] = "refunded"
    updated = tables.validate("orders", merged.drop(columns=["refund_amount_new", "refunded"]))
    tmp = folder / ".orders.parquet.tmp"
    updated.to_parquet(tmp, index=False)
    os.replace(tmp, target)
    return {"updated": len(hits), "unmatched": int((~matched).sum())}
