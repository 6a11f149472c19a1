"""Merging canonical rows into a warehouse (folder or PostgreSQL): no duplicates, later exports update, atomic."""
from __future__ import annotations

import hashlib
import os
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from ... import paths
from ...errors import writing
from .. import folder as journal, tables, verified
from ..locations import is_postgres

ORDER = ["platform", "order_id"]
# what an order list (one row per order) gives each product line of an item-level export (订单明细)
ORDER_FIELDS = ["customer_id", "order_time", "pay_time", "status", "province", "city", "phone", "is_fake"]


class Target:
    """Where merged rows are kept: stored rows by key, rows replaced by key, one transaction per file.

    `secret_home` is the folder whose `.opsbook-secret` keys the pseudonyms (`exports.warehouse_secret`).
    """

    secret_home: Path

    def transaction(self) -> AbstractContextManager[Target]:
        """Make every `put` inside visible together at the end, or none if anything fails."""
        raise NotImplementedError

    def stored(self, table: str, on: list[str], keys: pd.DataFrame) -> pd.DataFrame | None:
        """Stored rows whose `on` columns equal those of a row of `keys` (None when the table does not exist)."""
        raise NotImplementedError

    def put(self, table: str, key: list[str], rows: pd.DataFrame) -> None:
        """Replace the stored rows with the keys of `rows` by `rows` (inserting those not stored yet)."""
        raise NotImplementedError

    def count(self, table: str) -> int:
        """Rows stored in a table."""
        raise NotImplementedError

    def keys(self, table: str, on: list[str]) -> pd.DataFrame | None:
        """The `on` columns of every stored row (None when the table does not exist)."""
        raise NotImplementedError


class FolderTarget(Target):
    """A folder with `<table>.parquet` per table: files are written aside and renamed once the whole file merged.

    A file that changes several tables (a detail export writes order_lines and orders) commits them through the
    folder's journal (`data.folder`): a process killed among the renames leaves the journal, and the next
    transaction (or source) on the folder finishes them, so the tables are seen all old or all new.
    One writer at a time: the transaction holds the folder's lock.
    """

    def __init__(self, folder: Path):
        self.folder = self.secret_home = folder
        self._written: dict[str, pd.DataFrame] = {}

    @contextmanager
    def transaction(self) -> Iterator[FolderTarget]:
        """Rename the files written aside once the block succeeds; remove them otherwise.

        A folder that cannot be written (read-only, no permission, full disk) is a DataError naming it.
        """
        with writing(self.folder):
            self.folder.mkdir(parents=True, exist_ok=True)
            with journal.locked(self.folder):
                journal.complete(self.folder)
                self._written = {}
                try:
                    yield self
                    if self._written:
                        journal.commit(self.folder, list(self._written))
                        for table, rows in self._written.items():  # found unique here: its first reader need not scan
                            key = tables.KEYS[table]
                            if not rows.duplicated(subset=[k for k in key if k in rows]).any():
                                verified.remember(verified.fingerprint(self.folder / f"{table}.parquet", table, key))
                finally:
                    if not journal.pending(self.folder):  # a journal's files are kept for the next one to finish
                        journal.discard(self.folder)  # also a file cut short by a full disk
                    self._written = {}

    def _whole(self, table: str) -> pd.DataFrame | None:
        if table in self._written:
            return self._written[table]
        path = self.folder / f"{table}.parquet"
        return pd.read_parquet(path) if path.is_file() else None

    def stored(self, table, on, keys):
        """Rows of the parquet file (or of this transaction's pending version) with those keys."""
        whole = self._whole(table)
        return None if whole is None else whole[_index(whole, on).isin(_index(keys, on))]

    def put(self, table, key, rows):
        """Write the whole table, these rows replacing the stored ones with their keys, aside until commit."""
        whole = self._whole(table)
        if whole is not None:
            rows = pd.concat([whole[~_index(whole, key).isin(_index(rows, key))], rows], ignore_index=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        rows.to_parquet(journal.aside(self.folder, table), index=False)
        self._written[table] = rows

    def count(self, table):
        """Rows in the table as this transaction will leave it."""
        whole = self._whole(table)
        return 0 if whole is None else len(whole)

    def keys(self, table, on):
        """The key columns of the parquet file (or of this transaction's pending version)."""
        if table in self._written:
            return self._written[table][on]
        path = self.folder / f"{table}.parquet"
        return pd.read_parquet(path, columns=on) if path.is_file() else None


class PostgresTarget(Target):
    """A PostgreSQL schema given by URL (see `opsbook.data.postgres`); a file's tables merge in one database transaction.

    The pseudonym secret stays off the database, where everyone who may read reports could read it: it is kept
    on this machine in `.opsbook/secrets/<hash of server, port, database and schema>/.opsbook-secret` (mode 600,
    ignored by git). Copy that file to ingest into the same database from another machine.
    """

    def __init__(self, url: str):
        from .. import postgres  # psycopg is imported only for a PostgreSQL warehouse
        self.db = postgres.Database.parse(url)
        digest = hashlib.sha256(self.db.identity.encode()).hexdigest()[:16]
        self.secret_home = paths.private() / "secrets" / digest
        self._conn = None

    @contextmanager
    def transaction(self) -> Iterator[PostgresTarget]:
        """One database transaction: committed when the block succeeds, rolled back otherwise."""
        from .. import postgres
        with postgres.connect(self.db) as conn:
            self._conn = conn
            try:
                yield self
            finally:
                self._conn = None

    def stored(self, table, on, keys):
        """Matching rows, the table locked against other writers until commit."""
        from .. import postgres
        if not postgres.columns(self._conn, self.db, table):
            return None
        postgres.lock(self._conn, self.db, table)
        postgres.stage(self._conn, self.db, table, "opsbook_keys", keys[on].drop_duplicates())
        return postgres.fetch_frame(self._conn, self.db, postgres.matching(self.db, table, on, "opsbook_keys"), table)

    def put(self, table, key, rows):
        """Create the table or its missing columns, then delete the rows with these keys and insert these."""
        from .. import postgres
        postgres.ensure_table(self._conn, self.db, table, key, list(rows.columns))
        postgres.stage(self._conn, self.db, table, "opsbook_rows", rows)
        postgres.replace(self._conn, self.db, table, key, "opsbook_rows", list(rows.columns))

    def count(self, table):
        """Rows in the table as this transaction sees it."""
        from .. import postgres
        return postgres.count(self._conn, self.db, table)

    def keys(self, table, on):
        """The key columns of every row as this transaction sees them."""
        from psycopg import sql

        from .. import postgres
        if not postgres.columns(self._conn, self.db, table):
            return None
        query = sql.SQL("SELECT {} FROM {}").format(sql.SQL(", ").join(map(sql.Identifier, on)), self.db.ident(table))
        return postgres.fetch_frame(self._conn, self.db, query, table)[on]


def open_target(location: str | os.PathLike) -> Target:
    """The warehouse at a location: a PostgreSQL URL, else a folder (relative to the project root)."""
    return PostgresTarget(str(location)) if is_postgres(str(location)) else FolderTarget(paths.resolve(location))


@contextmanager
def _within(into: Target | str | os.PathLike) -> Iterator[Target]:
    """The caller's target (inside its transaction), or a location's target in a transaction of its own."""
    if isinstance(into, Target):
        yield into
    else:
        with open_target(into).transaction() as target:
            yield target


def _index(frame: pd.DataFrame, columns: list[str]) -> pd.MultiIndex:
    return pd.MultiIndex.from_frame(frame[columns])


def combine(new: pd.DataFrame, old: pd.DataFrame, key: list[str]) -> tuple[pd.DataFrame, dict[str, int]]:
    """New rows with stored values kept where they have none, and the counts of added and updated rows."""
    new, old = new.set_index(key), old.set_index(key)
    merged = new.combine_first(old)
    added = int((~new.index.isin(old.index)).sum())
    before = old.reindex(new.index.intersection(old.index))
    after = merged.reindex(before.index)[before.columns]
    updated = int((~(before.eq(after) | (before.isna() & after.isna()))).any(axis=1).sum())
    columns = list(dict.fromkeys(key + list(new.columns) + list(old.columns)))
    return merged.reset_index()[columns], {"added": added, "updated": updated}


def keep_refunds(new: pd.DataFrame, old: pd.DataFrame | None) -> pd.DataFrame:
    """New order rows that keep the refunds already stored: a later export showing none (an order list, a detail
    line with 没有申请退款) leaves the stored refund amount and 已退款 status as they are."""
    if old is None or old.empty or "refund_amount" not in old:
        return new
    key = tables.KEYS["orders"]
    stored = old.set_index(key).reindex(pd.MultiIndex.from_frame(new[key]))
    amount, refunded = stored["refund_amount"].to_numpy(dtype=float), (stored["status"] == "refunded").to_numpy()
    had = np.nan_to_num(amount) > 0
    if not had.any() and not refunded.any():
        return new
    incoming = new["refund_amount"].to_numpy(dtype=float) if "refund_amount" in new else np.full(len(new), np.nan)
    new = new.assign(refund_amount=np.where(had & ~(incoming >= amount), amount, incoming))
    new.loc[refunded, "status"] = "refunded"
    return new


def merge(into: Target | str | os.PathLike, table: str, new: pd.DataFrame) -> dict[str, int]:
    """Merge rows into a warehouse table; return counts of added, updated and stored rows.

    A later export wins where it has a value and keeps the stored value where it has none, so nothing
    already stored is lost. Given a location rather than a target, the merge is a transaction of its own:
    a failure leaves the warehouse as it was.
    """
    key = tables.KEYS[table]
    new = new.drop_duplicates(subset=key, keep="last")
    with _within(into) as target:
        has_lines = _has_staged_lines(target, new) if table == "orders" else pd.Series(False, index=new.index)
        listed, new = new[has_lines], new[~has_lines]
        old = target.stored(table, key, new)
        if table == "orders":
            new = keep_refunds(new, old)
        merged, counts = combine(new, new.iloc[0:0] if old is None else old, key)
        # a detail export holds every line of its orders: staged lines it no longer has go (a table is made by key)
        replaced = ORDER if table == "order_lines" and old is not None else key
        target.put(table, replaced, tables.validate(table, merged))
        if table == "orders" and len(listed):
            placed = _place_lines(target, listed, listed)
            counts = {k: counts[k] + placed[k] for k in ("added", "updated")}
        elif table == "order_lines":
            counts |= {k: v for k, v in _place_lines(target, new, None).items() if k in ("placed", "waiting")}
        return counts | {"total": target.count(table)}


def _has_staged_lines(target: Target, orders: pd.DataFrame) -> pd.Series:
    """Which rows of `orders` belong to an order with detail lines in `order_lines`."""
    lines = target.stored("order_lines", ORDER, orders)
    staged = lines is not None and len(lines) > 0
    return pd.Series(_index(orders, ORDER).isin(_index(lines, ORDER)) if staged else False, index=orders.index)


def _place_lines(target: Target, orders: pd.DataFrame, headers: pd.DataFrame | None) -> dict[str, int]:
    """Write the staged detail lines of these orders into `orders`, each with the order fields of its order row
    (`headers`, else the order's stored rows); they replace every stored row of the order, the order-list row too.

    Returns counts of added and updated order lines, lines placed, and lines waiting for their order row.
    """
    lines = target.stored("order_lines", ORDER, orders)
    headers = target.stored("orders", ORDER, orders) if headers is None else headers
    if lines is None or headers is None or headers.empty:
        return {"added": 0, "updated": 0, "placed": 0, "waiting": 0 if lines is None else len(lines)}
    fields = [f for f in ORDER_FIELDS if f in headers]
    header = headers.drop_duplicates(ORDER, keep="last")[ORDER + fields]
    placed = lines.drop(columns=[f for f in fields if f in lines]).merge(header, on=ORDER)
    before = target.stored("orders", tables.KEYS["orders"], placed)
    placed = keep_refunds(placed, before)
    merged, counts = combine(placed, placed.iloc[0:0] if before is None else before, tables.KEYS["orders"])
    target.put("orders", ORDER, tables.validate("orders", merged))
    return counts | {"placed": len(placed), "waiting": len(lines) - len(placed)}


def apply_refunds(into: Target | str | os.PathLike, refunds: pd.DataFrame) -> dict[str, int]:
    """Set refund amounts (spread over an order's lines by amount) and 已退款 status on stored orders.

    Returns counts of updated orders and of refunds whose order is not in the warehouse yet (import
    the order export first, then the refunds again).
    """
    per_order = refunds.groupby(["platform", "order_id"], as_index=False).agg(
        refund_amount=("refund_amount", "sum"), refunded=("refunded", "any"))
    with _within(into) as target:
        orders = target.stored("orders", ["platform", "order_id"], per_order)
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
        target.put("orders", tables.KEYS["orders"], updated)
    return {"updated": len(hits), "unmatched": int((~matched).sum())}
