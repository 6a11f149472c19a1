"""Where canonical tables come from, for notebooks: `open_source(location)` picks the kind of source by the location
(a PostgreSQL URL, a DuckDB file, else a folder of parquet/csv files); every kind is a `Source` with the same views."""
from __future__ import annotations

from typing import Callable

from .data.duck import DuckDBFileSource, Source, to_duckdb
from .data.folder import FolderSource
from .data.locations import is_duckdb_file, is_postgres

__all__ = ["Source", "open_source", "register", "to_duckdb"]

_KINDS: list[tuple[Callable[[str], bool], Callable[[str], Source]]] = []


def register(matches: Callable[[str], bool], kind: Callable[[str], Source]) -> None:
    """Add a kind of source (a Source class, or a function of the location that makes one) for the locations
    `matches` accepts; kinds registered first are asked first, and a location no kind accepts is a folder."""
    _KINDS.append((matches, kind))


def _postgres(location: str) -> Source:
    from .data.postgres import PostgresSource  # psycopg is imported only when a PostgreSQL source is opened
    return PostgresSource(location)


register(is_postgres, _postgres)
register(is_duckdb_file, DuckDBFileSource)


def open_source(location: str) -> Source:
    """The Source for a location string: the first registered kind that accepts it, else a folder."""
    location = str(location).strip()
    for matches, kind in _KINDS:
        if matches(location):
            return kind(location)
    return FolderSource(location)
