"""Source locations as text, without opening anything: which kind a location names, and passwords masked.

Cheap to import (no pandas, DuckDB or database driver): the parameter spec checks locations with it.
"""
from __future__ import annotations

import re

_PASSWORD_IN_URL = re.compile(r'(\w+://[^:/?#@\s"]*):[^\s"]*@')  # greedy: a password may hold an unescaped @
_PASSWORD_PARAM = re.compile(r'(\bpassword=)[^&\s"]*')


def is_postgres(location: str) -> bool:
    """Whether a location is a PostgreSQL URL (postgresql://… or postgres://…)."""
    return str(location).strip().startswith(("postgresql://", "postgres://"))


def is_duckdb_file(location: str) -> bool:
    """Whether a location names a DuckDB database file (`.duckdb` or `.db`)."""
    return str(location).strip().endswith((".duckdb", ".db"))


def masked(text: str) -> str:
    """A URL, or a message quoting one, with every password (user part or `password=` parameter) as ***."""
    return _PASSWORD_PARAM.sub(r"\1***", _PASSWORD_IN_URL.sub(r"\1:***@", text))
