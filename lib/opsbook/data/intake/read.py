"""Reading export files (csv in UTF-8/GBK, xlsx) into text-only frames, the header found by content."""
from __future__ import annotations

import csv
import re
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ...errors import IntakeError
from . import clean

HEAD_BYTES = 1 << 20  # the header sits in the first 30 lines: a MiB holds them, the rest is read by Arrow
_LINE_END = re.compile(r"\r\n|\r|\n")  # what Arrow and pandas take for a line end (str.splitlines takes more)
_TEXT = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' `str` dtype


@dataclass
class RawTable:
    """An export as read: every cell text, headers cleaned, plus how it was read.

    The frame's index is the row's position below the header (rows dropped as noise keep the others' positions),
    so `index + header_row + 2` is the row number staff see in the file.
    """

    frame: pd.DataFrame
    encoding: str
    format: str
    header_row: int
    skipped: dict[str, int]


def read_export_table(path: str | Path, signatures: Iterable[Iterable[str]],
                      keep: Callable[[list[str]], Iterable[str]] | None = None) -> RawTable:
    """Read a csv/xlsx export as text; the header is the row (of the first 30) best matching any signature.

    `keep(header)` names the columns worth reading (all by default); the first three always are, for noise rows.
    """
    path = Path(path)
    if not path.is_file():
        raise IntakeError(f"找不到文件 {path}")
    suffix = path.suffix.lower()
    wanted = set().union(*map(set, signatures))
    keep = keep or (lambda header: header)
    if suffix in (".xlsx", ".xlsm"):
        frame, encoding, fmt = _read_xlsx(path, wanted, keep)
    elif suffix == ".xls":
        raise IntakeError(f"{path.name} 是旧版 .xls 文件：请在 Excel/WPS 中另存为 .xlsx，或从后台导出 CSV 后再导入")
    else:
        frame, encoding, fmt = _read_csv(path, wanted, keep)
    header_row = frame.attrs.pop("header_row")
    summary, repeated = clean.noise_rows(frame) if len(frame) else (pd.Series(dtype=bool), pd.Series(dtype=bool))
    skipped = {"汇总行": int(summary.sum()), "重复表头": int(repeated.sum())}
    return RawTable(_without(frame, summary | repeated), encoding, fmt, header_row, skipped)


def _without(frame: pd.DataFrame, drop: pd.Series) -> pd.DataFrame:
    """The frame without the `drop` rows; a few are cut out as zero-copy slices (a boolean take copies every cell)."""
    cuts = np.flatnonzero(drop.to_numpy())
    if len(cuts) == 0:
        return frame
    if len(cuts) > 100:
        return frame[~drop]
    pieces = [frame.iloc[start:stop] for start, stop in zip([0, *(cuts + 1)], [*cuts, len(frame)]) if stop > start]
    return frame.iloc[0:0] if not pieces else pieces[0] if len(pieces) == 1 else pd.concat(pieces)


def _kept(names: list[str], keep: Callable) -> list[bool]:
    """Which of the header's columns to read."""
    chosen = set(keep(names)) | set(names[:3])
    return [name in chosen for name in names]


def _read_csv(path: Path, wanted: set[str], keep: Callable) -> tuple[pd.DataFrame, str, str]:
    with open(path, "rb") as fh:
        head = fh.read(HEAD_BYTES + 1)
    encoding = clean.sniff_encoding(head, whole=len(head) <= HEAD_BYTES, name=path.name)
    try:
        return _read_csv_as(path, wanted, keep, head, encoding)
    except pa.ArrowInvalid:  # only invalid UTF-8 gets here
        if encoding == "gb18030":
            raise IntakeError(clean.unknown_encoding(path.name)) from None
    # the first MiB was UTF-8, a later cell is not: the whole file is GBK (as `clean.decode` would say)
    return _read_csv_as(path, wanted, keep, head, "gb18030")


def _read_csv_as(path: Path, wanted: set[str], keep: Callable, head: bytes,
                 encoding: str) -> tuple[pd.DataFrame, str, str]:
    text = clean.decode_head(head, encoding, path.name)
    lines = _LINE_END.split(text)[:clean.HEADER_SCAN_ROWS + 1]
    try:
        rows = [next(csv.reader([line]), []) for line in lines]
    except csv.Error:
        raise IntakeError(f"{path.name} 不是有效的 CSV：表头附近有无法解析的字符") from None
    header = clean.find_header(rows, wanted)
    if header is None:
        raise IntakeError(f"{path.name} 的前 {clean.HEADER_SCAN_ROWS} 行中找不到表头：这不是可识别的后台导出文件")
    names = _column_names(rows[header])
    kept = _kept(names, keep)
    try:
        frame = _arrow_csv(path, encoding, header, kept)
        frame.columns = [name for name, k in zip(names, kept) if k]
    except UnicodeDecodeError:
        raise IntakeError(clean.unknown_encoding(path.name)) from None
    except pa.ArrowInvalid as exc:
        if "UTF8" in str(exc):
            raise
        frame = _pandas_csv(path, encoding, header, names)  # ragged rows and other oddities
        frame = frame.loc[:, kept]
    frame.attrs["header_row"] = header
    return frame, encoding, "csv"


def _arrow_csv(path: Path, encoding: str, header: int, kept: list[bool]) -> pd.DataFrame:
    """The `kept` columns of the rows below the header line as text, parsed by Arrow on all cores.

    GBK files are parsed as bytes (no GB18030 byte is a comma, quote or line end) and decoded cell by cell after:
    ASCII cells as they are, the others once per distinct value, so ids, times and amounts cost no decoding.
    """
    names = [f"f{i}" for i in range(len(kept))]
    cells = pa.large_binary() if encoding == "gb18030" else pa.large_string()
    table = pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(skip_rows=header + 1, column_names=names, block_size=4 << 20),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),  # 买家留言 and 备注 may hold line breaks
        convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, cells), strings_can_be_null=False,
                                             include_columns=[n for n, k in zip(names, kept) if k]))
    for i, name in enumerate(table.column_names):  # one column at a time: each raw column is freed once it is text
        table = table.set_column(i, name, _as_text(table.column(i), encoding))
    pa.default_memory_pool().release_unused()  # the parser's buffers: a 1M-row file would keep ~100 MB more
    return table.to_pandas(types_mapper={pa.large_string(): _TEXT}.get)  # large_string: what `str` holds, no copy


def _as_text(cells: pa.ChunkedArray, encoding: str) -> pa.Array:
    """One column of cells as one text array (later steps then work on it without copying)."""
    cells = cells.combine_chunks()
    return _gb18030_text(cells) if encoding == "gb18030" else cells


def _gb18030_text(cells: pa.Array) -> pa.Array:
    """GB18030 cells as text: ASCII cells are the same bytes in UTF-8, others are decoded once per distinct value."""
    text = cells.view(pa.large_string())
    other = pc.invert(pc.string_is_ascii(text))
    if not pc.any(other).as_py():
        return text
    if pc.all(other).as_py():
        encoded = pc.dictionary_encode(cells)
        return pc.take(_decoded(encoded.dictionary), encoded.indices)
    encoded = pc.dictionary_encode(pc.filter(cells, other))
    return pc.replace_with_mask(text, other, pc.take(_decoded(encoded.dictionary), encoded.indices))


def _decoded(values: pa.Array) -> pa.Array:
    return pa.array([value.decode("gb18030") for value in values.to_pylist()], pa.large_string())


def _line_start(path: Path, line: int) -> int:
    """The byte offset where a line starts (line ends as Arrow counts them; no GBK or UTF-8 trail byte is one)."""
    with open(path, "rb") as fh:
        head = fh.read(HEAD_BYTES)
    ends = list(re.finditer(rb"\r\n|\r|\n", head))
    return ends[line - 1].end() if line else 0


def _pandas_csv(path: Path, encoding: str, header: int, names: list[str]) -> pd.DataFrame:
    """The rows below the header as pandas reads ragged rows: short rows padded, empty trailing cells dropped.

    A row with more cells than the header never shifts the columns (pandas would make its first column the index):
    the spare cells are read into spare columns, dropped when empty (Excel ends rows with a comma), else refused.
    """
    spare = [f"\0spare{i}" for i in range(max(16, len(names)))]
    try:
        with open(path, "rb") as fh, warnings.catch_warnings():
            fh.seek(_line_start(path, header))  # from the header line: pandas counts a quoted multi-line cell as one row
            warnings.simplefilter("error", pd.errors.ParserWarning)  # a first row longer still: cells would be lost
            frame = pd.read_csv(fh, encoding=encoding, header=None, skiprows=1, names=[*names, *spare],
                                index_col=False, dtype=str, keep_default_na=False)
    except pd.errors.ParserWarning:
        raise IntakeError(_too_many_cells(path.name, [header + 2])) from None
    except pd.errors.ParserError as exc:
        too_many = re.search(r"Expected \d+ fields in line (\d+)", str(exc))
        if too_many:
            raise IntakeError(_too_many_cells(path.name, [header + int(too_many.group(1))])) from None
        raise IntakeError(f"{path.name} 不是有效的 CSV：{str(exc).splitlines()[0]}") from None
    except ValueError as exc:
        raise IntakeError(f"{path.name} 不是有效的 CSV：{str(exc).splitlines()[0]}") from None
    filled = frame[spare].fillna("").ne("").any(axis=1)
    if filled.any():
        raise IntakeError(_too_many_cells(path.name, (np.flatnonzero(filled.to_numpy()) + header + 2).tolist()))
    return frame.drop(columns=spare)


def _too_many_cells(name: str, rows: list[int]) -> str:
    """Rows holding more filled cells than the header has columns, named as the file numbers them."""
    shown = "、".join(map(str, rows[:10])) + (f" 等 {len(rows)} 行" if len(rows) > 10 else "")
    return (f"{name} 第 {shown} 行的单元格比表头多（多出的单元格有内容）：无法确定各列的对应关系，"
            f"请删去多出的内容或补上表头后重新上传")


def _column_names(cells: list[str]) -> list[str]:
    """Cleaned header cells, unique as pandas makes them (`Unnamed: 3` for a blank one, `列.1` for a repeat)."""
    seen: Counter[str] = Counter()
    names = []
    for i, cell in enumerate(cells):
        name = clean.clean_header(cell) or f"Unnamed: {i}"
        names.append(f"{name}.{seen[name]}" if seen[name] else name)
        seen[name] += 1
    return names


def _read_xlsx(path: Path, wanted: set[str], keep: Callable) -> tuple[pd.DataFrame, str, str]:
    try:
        raw = pd.read_excel(path, header=None, dtype=str, keep_default_na=False, engine="openpyxl")
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a broken file
        raise IntakeError(f"{path.name} 无法作为 Excel 文件打开（{type(exc).__name__}）：请重新导出") from None
    if raw.empty:
        raise IntakeError(f"{path.name} 是空表格：请重新导出")
    header = clean.find_header(raw.head(clean.HEADER_SCAN_ROWS).values.tolist(), wanted)
    if header is None:
        raise IntakeError(f"{path.name} 的前 {clean.HEADER_SCAN_ROWS} 行中找不到表头：这不是可识别的后台导出文件")
    frame = raw.iloc[header + 1:].reset_index(drop=True)
    frame.columns = [clean.clean_header(c) for c in raw.iloc[header]]
    frame = frame.loc[:, [c != "" for c in frame.columns]]
    frame = frame[(frame != "").any(axis=1)].loc[:, _kept(list(frame.columns), keep)]
    frame.attrs["header_row"] = header
    return frame, "xlsx", "xlsx"
