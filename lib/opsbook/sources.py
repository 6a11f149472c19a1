"""Where canonical tables come from, for notebooks: `open_source(location)` picks the kind of source by the location
(a PostgreSQL URL, a DuckDB file, else a folder of parquet/csv files); every kind is a `Source` with the same views."""
from __future__ import annotations

from typing import Callable

from .data.duck import DuckDBFileSource, Source, to_duckdb
from .data.folder import FolderSource
from .data.locations import is_duckdb_file, is_postgres
from .data.postgres import PostgresSource
from .errors import DataError

__all__ = ["Source", "open_source", "register", "to_duckdb"]

_KINDS: list[tuple[Callable[[str], bool], type[Source]]] = []


def register(matches: Callable[[str], bool], kind: type[Source]) -> None:
    """Add a kind of source for the locations `matches` accepts (kinds registered first are asked first)."""
    _KINDS.append((matches, kind))


register(is_postgres, PostgresSource)
register(is_duckdb_file, DuckDBFileSource)
register(lambda location: True, FolderSource)


def open_source(location: str) -> Source:
    """The Source for a location string, chosen by the first registered kind that accepts it."""
    location = str(location).strip()
    for matches, kind in _KINDS:
        if matches(location):
            return kind(location)
    raise DataError(f"无法识别的数据源 {location}")
