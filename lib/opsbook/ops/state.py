"""The scheduler's state database (`runs/scheduler.sqlite`): a cursor per job, one row per (job, slot), the alerts,
the follow-up tasks opened by flags (`tasks`: their runs and every change of their status).

SQLite in WAL mode; writers take `BEGIN IMMEDIATE`, so two schedulers on one project exclude each other for the
length of a claim. Tables gain columns in place when a newer version opens an older file.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

from ..engine import records

STATE_FILE = "scheduler.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cursor (job TEXT PRIMARY KEY, seen TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS slots (
    job TEXT NOT NULL, slot TEXT NOT NULL, state TEXT NOT NULL, attempt INTEGER NOT NULL DEFAULT 0,
    next_try TEXT, owner TEXT, run_id TEXT, error TEXT, updated TEXT NOT NULL, PRIMARY KEY (job, slot));
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY, job TEXT NOT NULL, slot TEXT NOT NULL, target TEXT NOT NULL, event TEXT NOT NULL,
    ok INTEGER NOT NULL DEFAULT 0, tries INTEGER NOT NULL DEFAULT 0, error TEXT, updated TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS one_alert ON alerts (job, slot, target, event);
CREATE TABLE IF NOT EXISTS tasks (
    id INTEGER PRIMARY KEY, job TEXT NOT NULL, playbook TEXT NOT NULL, shop TEXT NOT NULL DEFAULT '',
    code TEXT NOT NULL, concern TEXT NOT NULL, severity TEXT NOT NULL, owner TEXT NOT NULL, roles TEXT NOT NULL,
    title TEXT NOT NULL, rows TEXT NOT NULL DEFAULT '[]', row_count INTEGER NOT NULL DEFAULT 0, link TEXT,
    opened TEXT NOT NULL, due TEXT NOT NULL, status TEXT NOT NULL, assignee TEXT, reason TEXT, closed TEXT,
    closed_by TEXT, follows INTEGER, last_run TEXT NOT NULL, last_seen TEXT NOT NULL, reminded TEXT,
    reminders INTEGER NOT NULL DEFAULT 0, updated TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS one_open_task ON tasks (job, concern) WHERE status IN ('待处理', '处理中');
CREATE INDEX IF NOT EXISTS tasks_by_due ON tasks (status, due);
CREATE TABLE IF NOT EXISTS task_runs (
    task INTEGER NOT NULL, run_id TEXT NOT NULL, seen TEXT NOT NULL, severity TEXT NOT NULL, title TEXT NOT NULL,
    row_count INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (task, run_id));
CREATE TABLE IF NOT EXISTS task_changes (
    id INTEGER PRIMARY KEY, task INTEGER NOT NULL, at TEXT NOT NULL, who TEXT NOT NULL, old TEXT, new TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '');
"""
# columns added after the first release: (table, column, declaration)
_ADDED = (("alerts", "created", "TEXT"), ("alerts", "next_try", "TEXT"),
          ("alerts", "gave_up", "INTEGER NOT NULL DEFAULT 0"))


def path() -> Path:
    """Where the state of the current run store lives."""
    return records.store().aside(STATE_FILE)


class State:
    """The scheduler's persistent state, shared by every scheduler of the project."""

    def __init__(self, file: Path | None = None):
        file = file or path()
        file.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(file, timeout=30, isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(_SCHEMA)
        self._add_columns()

    def _add_columns(self) -> None:
        """Bring a file written by an older version up to date (new columns only, nothing rewritten)."""
        with self.transaction() as db:
            for table, column, declaration in _ADDED:
                if column not in {r["name"] for r in db.execute(f"PRAGMA table_info({table})")}:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
            db.execute("UPDATE alerts SET created = updated WHERE created IS NULL")  # an older alert's age

    def transaction(self):
        """A write transaction that excludes other schedulers until it ends."""
        return _Transaction(self.db)

    def rows(self, query: str, *args) -> list[sqlite3.Row]:
        """Rows of a query."""
        return self.db.execute(query, args).fetchall()

    def close(self) -> None:
        """Close the connection."""
        self.db.close()


class _Transaction:
    def __init__(self, db):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind, *_):
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")


def existing() -> State | None:
    """The project's state if a scheduler has ever written one (reading pages must not create it)."""
    file = records.store().root / STATE_FILE
    return State(file) if file.is_file() else None
