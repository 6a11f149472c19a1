"""Cleaning rules shared by every export (DATA-FORMATS.md): encodings, header rows, ids, numbers, noise rows."""
from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import IntakeError

ENCODINGS = ("utf-8-sig", "gb18030")  # gb18030 is a superset of GBK
HEADER_SCAN_ROWS = 30
SUMMARY_WORDS = ("合计", "总计", "汇总")
MISSING = {"", "-", "--", "—"}
_ID_WRAPPERS = re.compile(r'^\s*(?:="(.*)"|=(.*))\s*$')
_SCIENTIFIC = re.compile(r"^[-+]?\d+(?:\.\d+)?[eE][-+]?\d+$")
_NUMBER_NOISE = re.compile(r"[,，¥￥\s元]")


def decode(raw: bytes, name: str = "文件") -> tuple[str, str]:
    """Text and encoding of an export: UTF-8 (with or without BOM), else GB18030; IntakeError if neither."""
    if not raw.strip():
        raise IntakeError(f"{name} 是空文件：请重新导出")
    for encoding in ENCODINGS:
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise IntakeError(f"{name} 的文字编码无法识别（既不是 UTF-8 也不是 GBK/GB18030）：请从后台重新导出 CSV 或 Excel")


def clean_header(name: object) -> str:
    """A header cell without BOM, surrounding spaces or wrapping quotes."""
    return str(name).replace("\ufeff", "").strip().strip('"').strip()


def find_header(rows: Iterable[Iterable[object]], wanted: Iterable[str], limit: int = HEADER_SCAN_ROWS) -> int | None:
    """Index of the row among the first `limit` that holds the most of the `wanted` column names (None if none)."""
    wanted = set(wanted)
    best, best_hits = None, 0
    for i, row in enumerate(rows):
        if i >= limit:
            break
        hits = len(wanted & {clean_header(c) for c in row})
        if hits > best_hits:
            best, best_hits = i, hits
    return best


def clean_id(value: object) -> str | None:
    """One id as text: strips =\"…\", a leading ' ` or tab, a trailing .0; None when empty."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, float) and value.is_integer():
        return f"{value:.0f}"
    text = str(value)
    if m := _ID_WRAPPERS.match(text):
        text = m.group(1) if m.group(1) is not None else m.group(2)
    text = text.strip().lstrip("'`\t").strip()
    if text in MISSING:
        return None
    return text[:-2] if text.endswith(".0") and text[:-2].isdigit() else text


def clean_ids(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Ids as text (`clean_id` on every cell, in Arrow), and a mask of ids in scientific notation."""
    if pd.api.types.is_float_dtype(series) or pd.api.types.is_object_dtype(series):
        series = series.map(lambda v: v if isinstance(v, str) else clean_id(v), na_action="ignore")
    text = pa.array(series.astype("str"))
    text = pc.replace_substring_regex(text, r'^\s*="(.*)"\s*$', r"\1")
    text = pc.replace_substring_regex(text, r"^\s*=(.*)$", r"\1")
    text = pc.utf8_trim_whitespace(pc.utf8_ltrim(pc.utf8_trim_whitespace(text), characters="'`\t"))
    text = pc.replace_substring_regex(text, r"^(\d+)\.0$", r"\1")
    text = pc.if_else(pc.is_in(text, value_set=pa.array(sorted(MISSING))), pa.scalar(None, pa.string()), text)
    out = pd.Series(pd.array(text, dtype="str"), index=series.index)
    bad = pd.Series(pc.fill_null(pc.match_substring_regex(text, _SCIENTIFIC.pattern), False).to_numpy(zero_copy_only=False),
                    index=series.index)
    return out, bad


def parse_number(value: object) -> float | None:
    """A number from export text: strips , ¥ ￥ 元 and spaces, `12%` → 0.12; None for empty or -; ValueError if not a number."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    text = _NUMBER_NOISE.sub("", clean_id(value) or "")
    if text in MISSING:
        return None
    if text.endswith("%"):
        return float(text[:-1]) / 100
    return float(text)


def parse_numbers(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Numbers as floats (`parse_number` on every cell, in Arrow), and a mask of cells that are not numbers."""
    if pd.api.types.is_numeric_dtype(series):
        return series.astype("float64"), pd.Series(False, index=series.index)
    text, _ = clean_ids(series)
    arrow = pc.replace_substring_regex(pa.array(text), r"[,，¥￥\s元]", "")
    missing = pc.or_kleene(pc.is_null(arrow), pc.is_in(arrow, value_set=pa.array(sorted(MISSING))))
    percent = pc.fill_null(pc.ends_with(arrow, "%"), False)
    digits = pd.Series(pd.array(pc.utf8_rtrim(arrow, characters="%"), dtype="str"), index=series.index)
    missing, percent = (pd.Series(m.to_numpy(zero_copy_only=False), index=series.index) for m in (missing, percent))
    values = pd.to_numeric(digits.mask(missing), errors="coerce").astype("float64")
    bad = values.isna() & ~missing
    return values.where(~percent, values / 100), bad


def map_unique(series: pd.Series, fn) -> pd.Series:
    """`series.map(fn)` computed once per distinct value (exports repeat buyers, addresses, statuses)."""
    values = series.dropna().unique()
    return series.map(dict(zip(values, map(fn, values))))


def noise_rows(df: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Masks of summary rows (合计/总计/汇总 in the first cells) and of repeated header rows."""
    width = min(3, df.shape[1])
    first = [df.iloc[:, i].astype("str").str.replace("\ufeff", "").str.strip().str.strip('"') for i in range(width)]
    summary = pd.concat([col.str.startswith(SUMMARY_WORDS) for col in first], axis=1).any(axis=1)
    headers = [clean_header(c) for c in df.columns[:width]]
    repeated = pd.concat([col == h for col, h in zip(first, headers)], axis=1).all(axis=1)
    return summary & ~repeated, repeated
