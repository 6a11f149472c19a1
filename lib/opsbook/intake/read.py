"""Reading export files (csv in UTF-8/GBK, xlsx) into text-only frames, the header found by content."""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import pandas as pd

from ..errors import IntakeError
from . import clean


@dataclass
class RawTable:
    """An export as read: every cell text, headers cleaned, plus how it was read."""

    frame: pd.DataFrame
    encoding: str
    format: str
    header_row: int
    skipped: dict[str, int]


def _csv_rows(text: str, limit: int) -> list[list[str]]:
    head = "\n".join(text.splitlines()[:limit])
    if not head.strip():
        return []
    # metadata lines above the header have fewer fields: read with as many columns as the widest line
    width = max(len(line.split(",")) for line in head.splitlines())
    return pd.read_csv(io.StringIO(head), header=None, dtype=str, keep_default_na=False, names=range(width),
                       engine="python", on_bad_lines="skip", skip_blank_lines=False).values.tolist()


def read_export_table(path: str | Path, signatures: Iterable[Iterable[str]]) -> RawTable:
    """Read a csv/xlsx export as text; the header is the row (of the first 30) best matching any signature."""
    path = Path(path)
    if not path.is_file():
        raise IntakeError(f"找不到文件 {path}")
    suffix = path.suffix.lower()
    wanted = set().union(*map(set, signatures))
    if suffix in (".xlsx", ".xlsm"):
        frame, encoding, fmt = _read_xlsx(path, wanted)
    elif suffix == ".xls":
        raise IntakeError(f"{path.name} 是旧版 .xls 文件：请在 Excel/WPS 中另存为 .xlsx，或从后台导出 CSV 后再导入")
    else:
        frame, encoding, fmt = _read_csv(path, wanted)
    header_row = frame.attrs.pop("header_row")
    summary, repeated = clean.noise_rows(frame) if len(frame) else (pd.Series(dtype=bool), pd.Series(dtype=bool))
    skipped = {"汇总行": int(summary.sum()), "重复表头": int(repeated.sum())}
    frame = frame[~(summary | repeated)].reset_index(drop=True) if len(frame) else frame
    return RawTable(frame, encoding, fmt, header_row, skipped)


def _read_csv(path: Path, wanted: set[str]) -> tuple[pd.DataFrame, str, str]:
    text, encoding = clean.decode(path.read_bytes(), path.name)
    header = clean.find_header(_csv_rows(text, clean.HEADER_SCAN_ROWS), wanted)
    if header is None:
        raise IntakeError(f"{path.name} 的前 {clean.HEADER_SCAN_ROWS} 行中找不到表头：这不是可识别的后台导出文件")
    try:
        frame = pd.read_csv(io.StringIO(text), skiprows=header, header=0, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, ValueError) as exc:
        raise IntakeError(f"{path.name} 不是有效的 CSV：{str(exc).splitlines()[0]}") from None
    frame.columns = [clean.clean_header(c) for c in frame.columns]
    frame.attrs["header_row"] = header
    return frame, encoding, "csv"


def _read_xlsx(path: Path, wanted: set[str]) -> tuple[pd.DataFrame, str, str]:
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
    frame = frame[(frame != "").any(axis=1)].reset_index(drop=True)
    frame.attrs["header_row"] = header
    return frame, "xlsx", "xlsx"
