"""Cleaning rules shared by every export (DATA-FORMATS.md): encodings, header rows, ids, numbers, times, noise rows.

Each rule is written once for one value (`clean_id`, `parse_number` …). The column versions run the shapes exports
are made of (`="2580…"`, `'138…`, `1,299.00`, ISO times) through Arrow and only the other cells through the rule
itself, once per distinct value, so both always agree (tests/data/test_intake_clean.py checks it with hypothesis).
"""
from __future__ import annotations

import codecs
import functools
import re
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ...errors import IntakeError
from ...settings import TZ_NAME
from ..platforms import PLATFORMS
from ..privacy import SPACE

ENCODINGS = ("utf-8-sig", "gb18030")  # gb18030 is a superset of GBK
HEADER_SCAN_ROWS = 30
SUMMARY_WORDS = ("合计", "总计", "汇总")
MISSING = {"", "-", "--", "—"}
REPEATS_FROM = 20_000  # columns this long are cleaned once per distinct value when the first cells repeat
_ID_WRAPPERS = re.compile(r'^\s*(?:="(.*)"|=(.*))\s*$')
_SCIENTIFIC = re.compile(r"^[-+]?\d+(?:\.\d+)?[eE][-+]?\d+$")
_NUMBER_NOISE = re.compile(r"[,，¥￥\s元]")
_PLAIN_ID = f"(?s)^[^{SPACE}'`=](.*[^{SPACE}])?$"  # nothing for `clean_id` to unwrap or strip
_PLAIN_NUMBER = r"^[-+]?(?:[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+)(?:\.[0-9]+)?$"
_MISSING = pa.array(sorted(MISSING), pa.large_string())
_ID_MARKS = pa.array(["'", "`", "\t"], pa.large_string())  # what exports put before a long number to keep it text
TIME_UNIT = "datetime64[us]"
_SLASH_LAYOUTS = ("%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d")  # Excel re-saves times as 2026/9/22 10:11:12


# what a 平台 cell may say for each platform code: the code (any case), its Chinese name, and the names of its
# shop back-ends and channels that sheets use (抖店, 淘宝联盟 …); one reading for every intake with a platform column
PLATFORM_WORDS = {**{code: code for code in PLATFORMS}, **{name: code for code, name in PLATFORMS.items()},
                  "淘宝网": "TB", "淘宝联盟": "TB", "天猫商城": "TM", "天猫超市": "TM", "京东商城": "JD", "京东自营": "JD",
                  "抖店": "DY", "抖音小店": "DY", "抖音电商": "DY"}


def platform_codes(series: pd.Series) -> pd.Series:
    """Each cell's platform code (`PLATFORM_WORDS`, codes in any case, surrounding spaces ignored); missing for an
    empty cell or a word that names no platform."""
    text = clean_id_column(series)
    return text.map(lambda v: PLATFORM_WORDS.get(v, PLATFORM_WORDS.get(v.upper())), na_action="ignore").astype("str")


def unknown_encoding(name: str) -> str:
    """The message for a file that is neither UTF-8 nor GBK/GB18030."""
    return f"{name} 的文字编码无法识别（既不是 UTF-8 也不是 GBK/GB18030）：请从后台重新导出 CSV 或 Excel"


def decode(raw: bytes, name: str = "文件") -> tuple[str, str]:
    """Text and encoding of an export: UTF-8 (with or without BOM), else GB18030; IntakeError if neither."""
    if not raw.strip():
        raise IntakeError(f"{name} 是空文件：请重新导出")
    for encoding in ENCODINGS:
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise IntakeError(unknown_encoding(name))


def sniff_encoding(head: bytes, whole: bool, name: str = "文件") -> str:
    """The encoding `decode` would pick, judged on a file's first bytes (`whole`: they are the whole file)."""
    if whole:
        return decode(head, name)[1]
    for encoding in ENCODINGS:
        try:
            codecs.getincrementaldecoder(encoding)().decode(head)
            return encoding
        except UnicodeDecodeError:
            continue
    raise IntakeError(unknown_encoding(name))


def decode_head(head: bytes, encoding: str, name: str = "文件") -> str:
    """The text of a file's first bytes (a character cut off at the end is left out)."""
    try:
        return codecs.getincrementaldecoder(encoding)().decode(head)
    except UnicodeDecodeError:
        raise IntakeError(unknown_encoding(name)) from None


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


def arrow_text(series: pd.Series) -> pa.Array:
    """A text column as one Arrow string array."""
    array = pa.array(series.astype("str"), pa.large_string())
    if isinstance(array, pa.ChunkedArray):  # a single chunk is used as it is, several are copied into one
        return array.chunk(0) if array.num_chunks == 1 else array.combine_chunks()
    return array


def _text(series: pd.Series) -> pa.Array:
    """A column as one Arrow string array (cells that are numbers become their id text first)."""
    if pd.api.types.is_float_dtype(series) or pd.api.types.is_object_dtype(series):
        series = series.map(lambda v: v if isinstance(v, str) else clean_id(v), na_action="ignore")
    return arrow_text(series)


def _once_per_value(fn: Callable, text: pa.Array):
    """`fn(text)` for an elementwise Arrow function (an array or a tuple of arrays out), computed on the distinct
    values when cells repeat, as statuses, skus, quantities and buyers do."""
    sample = text.slice(0, 2_000)
    if len(text) < REPEATS_FROM or 2 * pc.count_distinct(sample).as_py() > len(sample):
        return fn(text)
    encoded = pc.dictionary_encode(text)
    result = fn(encoded.dictionary)
    if isinstance(result, tuple):
        return tuple(pc.take(r, encoded.indices) for r in result)
    return pc.take(result, encoded.indices)


def _fast_or_scalar(text: pa.Array, fast: pa.Array, values: pa.Array, scalar: Callable) -> pa.Array:
    """`values` where `fast` holds, `scalar` of the cell elsewhere (called once per distinct value)."""
    slow = pc.invert(fast)
    if not pc.any(slow).as_py():
        return values
    encoded = pc.dictionary_encode(pc.filter(text, slow))
    rest = pa.array([scalar(v) for v in encoded.dictionary.to_pylist()], values.type)
    return pc.replace_with_mask(values, slow, pc.take(rest, encoded.indices))


def _clean_id_text(text: pa.Array) -> pa.Array:
    """`clean_id` of every cell: plain ids kept, `="2580…"` and `'138…` unwrapped in Arrow, the rest in Python.

    A column is usually all one shape, so each shape is tried in turn and the first that fits every cell wins.
    """
    inner = pc.utf8_slice_codeunits(text, 2, -1)
    wrapped = pc.and_(pc.and_(pc.starts_with(text, '="'), pc.ends_with(text, '"')), pc.ascii_is_decimal(inner))
    if _every(wrapped):
        return inner
    plain = pc.and_not(pc.match_substring_regex(text, _PLAIN_ID),
                       pc.or_(pc.ends_with(text, ".0"), pc.is_in(text, value_set=_MISSING)))
    if _every(plain):
        return text
    tail = pc.utf8_slice_codeunits(text, 1)
    marked = pc.and_(pc.is_in(pc.utf8_slice_codeunits(text, 0, 1), value_set=_ID_MARKS), pc.ascii_is_decimal(tail))
    values = pc.if_else(wrapped, inner, pc.if_else(marked, tail, text))
    fast = pc.fill_null(pc.or_(plain, pc.or_(wrapped, marked)), True)  # a missing cell stays missing
    return _fast_or_scalar(text, fast, values, clean_id)


def _every(mask: pa.Array) -> bool:
    """Whether the mask holds for every cell that is not missing."""
    return pc.all(pc.fill_null(mask, True)).as_py() is not False


def _to_series(array: pa.Array, index: pd.Index) -> pd.Series:
    return pd.Series(pd.array(array, dtype="str"), index=index)


def _to_mask(array: pa.Array, index: pd.Index) -> pd.Series:
    return pd.Series(pc.fill_null(array, False).to_numpy(zero_copy_only=False), index=index)


def clean_id_column(series: pd.Series) -> pd.Series:
    """Ids as text: `clean_id` on every cell."""
    return _to_series(_once_per_value(_clean_id_text, _text(series)), series.index)


def clean_ids(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Ids as text (`clean_id` on every cell), and a mask of ids in scientific notation."""
    ids = clean_id_column(series)
    return ids, _to_mask(pc.match_substring_regex(arrow_text(ids), _SCIENTIFIC.pattern), series.index)


# how staff write yes and no in a 是/否 column, beyond what `tables` reads (true/false, 1/0, 是/否)
YES_NO = {"有": "是", "无": "否", "齐全": "是", "不全": "否", "不齐全": "否", "齐": "是", "√": "是", "×": "否",
          "y": "是", "n": "否", "对": "是", "错": "否"}


def parse_number(value: object) -> float | None:
    """A number from export text: strips , ¥ ￥ 元 and spaces, `12%` (or `12％`) → 0.12; None for empty or -; ValueError if
    not a number."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    text = _NUMBER_NOISE.sub("", clean_id(value) or "")
    if text in MISSING:
        return None
    if text.endswith(("%", "％")):  # a Chinese input method types the full-width sign
        return float(text[:-1]) / 100
    return float(text)


def _is_not_number(value: object) -> bool:
    try:
        parse_number(value)
    except ValueError:
        return True
    return False


def _numbers(text: pa.Array) -> tuple[pa.Array, pa.Array]:
    """`parse_number` of every cell and whether it failed: `1,299.00`, `-5`, empty in Arrow, the rest in Python."""
    ids = _clean_id_text(text)
    fast = pc.fill_null(pc.match_substring_regex(ids, _PLAIN_NUMBER), True)
    digits = pc.if_else(fast, pc.replace_substring(ids, ",", ""), pa.scalar("0", ids.type))
    values = _fast_or_scalar(text, fast, pc.cast(digits, pa.float64()),
                             lambda v: None if _is_not_number(v) else parse_number(v))
    return values, _fast_or_scalar(text, fast, pa.repeat(False, len(text)), _is_not_number)


def parse_numbers(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Numbers as floats (`parse_number` on every cell), and a mask of cells that are not numbers."""
    if pd.api.types.is_numeric_dtype(series):
        return series.astype("float64"), pd.Series(False, index=series.index)
    values, bad = _once_per_value(_numbers, _text(series))
    return (pd.Series(pc.fill_null(values, np.nan).to_numpy(zero_copy_only=False), index=series.index),
            _to_mask(bad, series.index))


def parse_time(value: object) -> pd.Timestamp:
    """A time as exports write it (`pd.to_datetime(…, format="mixed")` of the stripped text), in China time without
    a zone (a time with an offset is converted); NaT if empty or not a time."""
    text = clean_id(value)
    if text is None or not any(c.isdigit() for c in text):  # words like "now" or "today" are no export's time
        return pd.NaT
    try:
        stamp = pd.to_datetime(str(value).strip(), format="mixed")
    except (ValueError, TypeError, OverflowError):
        return pd.NaT
    return stamp.tz_convert(TZ_NAME).tz_localize(None) if stamp.tzinfo is not None else stamp


def parse_times(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """`parse_time` of every cell, and a mask of cells that are not empty but not times either.

    ISO layouts (what exports write) are read in one vectorised pass, then `Y/M/D` layouts; only the cells left go
    through `parse_time`, once per distinct value.
    """
    text = series.astype("str")
    stamps = _iso_times(text)
    rest = stamps.isna() & text.notna()
    if not rest.any():
        return stamps, rest
    distinct = pd.Series(text[rest].unique())
    present = distinct.map(clean_id).notna()
    timelike = present & distinct.str.contains(r"\d", regex=True, na=False)  # pandas reads "now" as a time
    cells = distinct.where(timelike).map(str.strip, na_action="ignore")
    found = pd.Series(pd.NaT, index=distinct.index, dtype=TIME_UNIT)
    for layout in _SLASH_LAYOUTS:
        todo = found.isna() & timelike
        found = found.where(~todo, pd.to_datetime(cells.where(todo), format=layout, errors="coerce").astype(TIME_UNIT))
    todo = found.isna() & timelike
    if todo.any():
        found[todo] = pd.Series([parse_time(v) for v in cells[todo]], index=cells[todo].index, dtype=TIME_UNIT)
    by_value = pd.Series(found.to_numpy(), index=distinct)
    stamps = stamps.where(~rest, text[rest].map(by_value))
    not_time = pd.Series(distinct[present & found.isna()])
    return stamps, rest & text.isin(not_time)


def _iso_times(text: pd.Series) -> pd.Series:
    """Times in ISO layouts without an offset, NaT for other cells: Arrow's strict ISO parser when it reads every
    cell, else pandas'; cells with an offset are left to `parse_time`."""
    cells = arrow_text(text)
    try:
        stamps = pc.cast(pc.if_else(pc.equal(cells, ""), pa.scalar(None, cells.type), cells), pa.timestamp("us"))
        return pd.Series(stamps.to_numpy(zero_copy_only=False), index=text.index).astype(TIME_UNIT)
    except pa.ArrowInvalid:
        pass
    offset = text.str.contains(r"(?:[+-]\d\d:?\d\d|Z)$", regex=True, na=False)
    naive = text.where(~offset & text.str.contains(r"\d", regex=True, na=False))  # pandas reads "now" as a time
    try:
        return pd.to_datetime(naive, format="ISO8601", errors="coerce").astype(TIME_UNIT)
    except (ValueError, TypeError):  # a layout ISO8601 parsing chokes on: every cell goes to parse_time
        return pd.Series(pd.NaT, index=text.index, dtype=TIME_UNIT)


def map_unique(series: pd.Series, fn: Callable, columns: list[str] | None = None) -> pd.Series | pd.DataFrame:
    """`series.map(fn)` computed once per distinct value (exports repeat buyers, addresses, statuses).

    With `columns`, `fn` returns a tuple per value and the result is a frame of those columns.
    """
    encoded = pc.dictionary_encode(arrow_text(series))
    results = [fn(v) for v in encoded.dictionary.to_pylist()]
    codes = pc.fill_null(encoded.indices, len(results)).to_numpy()  # a missing cell takes the empty result below
    if columns:
        table = pd.DataFrame(results + [(None,) * len(columns)], columns=columns)
        return table.take(codes).set_axis(series.index)
    return pd.Series(results + [None]).take(codes).set_axis(series.index)


def noise_rows(df: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Masks of summary rows (合计/总计/汇总 in the first cells) and of repeated header rows."""
    width = min(3, df.shape[1])
    headers = [clean_header(c) for c in df.columns[:width]]
    summary, repeated = pd.Series(False, index=df.index), pd.Series(False, index=df.index)
    maybe = _maybe_noise(df, width, headers)
    if maybe.any():
        rows = df[maybe]
        first = [rows.iloc[:, i].astype("str").str.replace("\ufeff", "").str.strip().str.strip('"')
                 for i in range(width)]
        said_total = pd.concat([col.str.startswith(SUMMARY_WORDS) for col in first], axis=1).any(axis=1)
        is_header = pd.concat([col == h for col, h in zip(first, headers)], axis=1).all(axis=1)
        summary[maybe], repeated[maybe] = said_total & ~is_header, is_header
    return summary, repeated


def _maybe_noise(df: pd.DataFrame, width: int, headers: list[str]) -> pd.Series:
    """A quick superset of the noise rows: summary words and BOMs are not ASCII, nor is a Chinese header repeated."""
    if not any(h and not h.isascii() for h in headers):
        return pd.Series(True, index=df.index)
    cells = (arrow_text(df.iloc[:, i]) for i in range(width))
    return _to_mask(functools.reduce(pc.or_kleene, (pc.invert(pc.string_is_ascii(c)) for c in cells)), df.index)
