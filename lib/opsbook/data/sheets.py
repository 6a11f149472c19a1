"""Sheets people upload for one run (a candidates list, a campaign registration sheet): read through the intake readers
(UTF-8 or GBK CSV, xlsx, the header found under title lines, `="…"` ids, `¥1,299`, `12%`) and checked like a canonical
table, every problem at once in Chinese, naming the file's row. Headers are the table's column names or their Chinese
labels (`tables.SCHEMAS`), so a sheet saved from a run's Excel file or typed by hand in Chinese both read.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .. import paths
from ..errors import DataError, IntakeError
from . import tables
from .intake import clean, read


def headers(table: str, extra: dict[str, tables.Column] | None = None) -> dict[str, str]:
    """Header as written (column name or Chinese label) → canonical column, for a table and its `extra` columns."""
    found = {}
    for col in {**tables.SCHEMAS[table], **(extra or {})}.values():
        found[col.name.lower()] = col.name
        found[col.label] = col.name
    return found


def read_sheet(location: str, table: str, extra: dict[str, tables.Column] | None = None) -> pd.DataFrame:
    """The rows of an uploaded sheet as the canonical `table` (plus `extra` columns), checked and coerced.

    `location` is relative to the project (a file parameter's value). DataError naming the file (never a server
    folder) for an unreadable file, a header that cannot be found, a missing column, a header given twice, and for
    every bad cell, empty required cell or repeated key, by the row number the file shows.
    """
    path = paths.resolve(location)
    name = Path(location).name
    known = headers(table, extra)
    try:
        raw = read.read_export_table(path, [list(known)])
    except IntakeError as exc:
        needed = "、".join(c.label for c in tables.SCHEMAS[table].values() if c.required)
        problems = [f"{name} 的前 {clean.HEADER_SCAN_ROWS} 行中找不到表头：表头应含 {needed}（中文名或英文列名均可）"
                    if "找不到表头" in p else p for p in exc.problems]
        raise DataError(problems, headline=f"文件 {name} 无法读取") from None
    columns: dict[str, str] = {}
    twice = []
    for header in raw.frame.columns:
        canonical = known.get(header) or known.get(str(header).lower())
        if canonical is None:
            continue
        if canonical in columns:
            twice.append(f"{name} 中“{columns[canonical]}”和“{header}”都表示 {canonical}：请删去其中一列")
        else:
            columns[canonical] = header
    if twice:
        raise DataError(twice, headline=f"文件 {name} 的表头有歧义")
    frame = raw.frame[list(columns.values())].set_axis(list(columns), axis=1)
    frame = frame.set_axis(raw.frame.index + raw.header_row, axis=0)  # index + 2: the row the file shows
    schema = {**tables.SCHEMAS[table], **(extra or {})}
    out = {}
    for column, series in frame.items():
        col = schema[column]
        text = series.astype("str").str.strip()
        blank = text.isin(clean.MISSING) | series.isna()
        if col.kind == "str" and tables.is_id(col):
            out[column] = clean.clean_id_column(series).where(~blank, None)
        elif col.kind in ("int", "float"):
            values, bad = clean.parse_numbers(series.where(~blank, None))
            out[column] = values.astype(object).where(~bad, text)  # unreadable cells stay text: named below
        elif col.kind == "bool":
            out[column] = text.str.lower().map(lambda v: clean.YES_NO.get(v, v)).where(~blank, None)
        else:
            out[column] = text.where(~blank, None)
    for col in schema.values():  # an optional column left out reads as empty, as in a source
        if col.name not in out and not col.required:
            out[col.name] = pd.Series(None, index=frame.index, dtype=object)
    frame = pd.DataFrame(out, index=frame.index)
    return tables.validate(table, frame, origin=name, keep_index=True, extra=extra).reset_index(drop=True)
