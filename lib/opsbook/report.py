"""Report rendering: ¥ and % formatting, Chinese column labels, HTML tables, xlsx/csv export."""
from __future__ import annotations

import codecs
import datetime as dt
import html
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .data import privacy
from .settings import XLSX_MAX_ROWS_ENV

EXCEL_MAX_ROWS = 1_048_575  # rows below the header in one sheet
XLSX_MAX_ROWS = 50_000  # bigger tables are CSV only: writing xlsx costs about 50 µs a cell

CSS = """<style>
.ob-table{border-collapse:collapse;font-size:13px;margin:6px 0 14px}
.ob-table th,.ob-table td{border:1px solid #ddd;padding:4px 8px;text-align:right}
.ob-table th{background:#f4f6f8;text-align:center}
.ob-table td.ob-text{text-align:left}
.ob-params{background:#f8f9fb;border-left:4px solid #2c3e50;padding:6px 12px;margin:8px 0 16px}
.ob-params td{padding:2px 12px 2px 0;font-size:13px}
.ob-sev{color:#fff;border-radius:3px;padding:1px 8px;font-weight:bold}
.ob-flags h3{margin:8px 0}
.ob-kpi{display:inline-block;border:1px solid #ddd;border-radius:6px;padding:8px 14px;margin:4px;min-width:110px}
.ob-kpi b{display:block;font-size:20px}
</style>"""

# Chinese labels of columns every playbook may show (canonical columns, shared metrics); a playbook's own columns are
# labelled in its `sops/<name>.py` LABELS, which win over these.
LABELS = {
    "date": "日期", "week": "周", "month": "月", "period": "周期", "platform": "平台", "sku": "商家编码",
    "name": "名称", "category": "类目", "customer_id": "客户ID", "phone": "手机号（脱敏）",
    "province": "省份", "city": "城市", "campaign_id": "活动ID", "campaign": "活动", "channel": "渠道",
    "start_date": "开始日期", "end_date": "结束日期", "amount": "金额", "stock": "库存",
    "uv": "访客数", "pv": "浏览量", "gmv": "成交金额", "orders": "订单数", "buyers": "支付买家数",
    "aov": "客单价", "conversion": "支付转化率", "spend": "花费", "roi": "ROI", "impressions": "展现量",
    "clicks": "点击量", "ctr": "点击率", "cpc": "平均点击花费", "target": "目标", "attainment": "达成率",
    "redemption": "核销率", "coupons_issued": "发券量", "coupons_used": "核销量",
    "metric": "指标", "value": "数值", "change": "变化", "days": "天数", "count": "人数", "severity": "级别",
}
MONEY_HINTS = ("gmv", "amount", "aov", "spend", "monetary", "price", "budget", "target", "cost", "refund", "cpc",
               "profit", "revenue")
PCT_HINTS = ("rate", "share", "ctr", "conversion", "attainment", "redemption", "margin")


def money(x) -> str:
    """¥1,234.50 (— for missing)."""
    return "—" if _missing(x) else f"¥{x:,.2f}"


def pct(x, digits: int = 1) -> str:
    """12.3% from a fraction (— for missing)."""
    return "—" if _missing(x) else f"{x * 100:.{digits}f}%"


def count(x) -> str:
    """1,234 (— for missing)."""
    return "—" if _missing(x) else f"{x:,.0f}"


def change(x) -> str:
    """+12.3% / -4.5% from a ratio change (— for missing or infinite)."""
    return "—" if _missing(x) or x in (float("inf"), float("-inf")) else f"{x * 100:+.1f}%"


def _missing(x) -> bool:
    return x is None or x is pd.NA or x is pd.NaT or (isinstance(x, (float, np.floating)) and math.isnan(x))


# How numbers are shown: in reports (a function) and in Excel (a number format), by kind
FORMATS = {
    "money": (money, "¥#,##0.00"),
    "pct": (pct, "0.0%"),
    "change": (change, "+0.0%;-0.0%;0.0%"),
    "count": (count, "#,##0"),
    "number": (lambda x: "" if _missing(x) else f"{x:,.2f}", "#,##0.00"),
}
CHANGE_COLUMNS = ("mom", "yoy", "change")  # ratios of change (环比, 同比): signed percentages


def column_format(column, series: pd.Series) -> tuple[str | None, bool]:
    """The FORMATS kind of a column and whether its name decided it (rates, money, changes); (None, False) for
    anything but numbers. A kind taken from the dtype alone (count, number) gives way to a row's own format."""
    if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return None, False
    low = str(column).lower()
    if low in CHANGE_COLUMNS or low.endswith("_change"):
        return "change", True
    if any(h in low for h in PCT_HINTS):
        return "pct", True
    if any(h in low for h in MONEY_HINTS):
        return "money", True
    whole = pd.api.types.is_integer_dtype(series) or bool((series.dropna() % 1 == 0).all())
    return ("count" if whole else "number"), False  # one look per column: 6 and 14.1 are both 6.0 / 14.1


def numbers(df: pd.DataFrame) -> pd.DataFrame:
    """Columns holding only numbers (and blanks) as numbers, whatever their dtype: Excel gets numeric cells."""
    numeric = [c for c in df.columns if df[c].dtype == object and len(df[c].dropna())
               and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in df[c].dropna())]
    return df.assign(**{c: pd.to_numeric(df[c]) for c in numeric}) if numeric else df


def cell_formats(df: pd.DataFrame, row_format: str | None = None, limit: int | None = None) -> list[list[str | None]]:
    """The FORMATS kind of every cell (of the first `limit` rows): by column, judged on the whole column, a row's
    `row_format` value overriding kinds taken from dtypes."""
    kinds = {c: column_format(c, df[c]) for c in df.columns if c != row_format}
    rows = df[row_format].head(limit).tolist() if row_format else [None] * len(df.head(limit))
    return [[(row if row and not named and kind else kind) for c, (kind, named) in kinds.items()] for row in rows]


def label(column, labels: dict[str, str] | None = None) -> str:
    """The Chinese label of a column: the playbook's own (`labels`), else a shared one, else its name."""
    return (labels or {}).get(column) or LABELS.get(column, str(column))


def labelled(df: pd.DataFrame, labels: dict[str, str] | None = None) -> pd.DataFrame:
    """Columns renamed to their Chinese labels."""
    return df.rename(columns={c: label(c, labels) for c in df.columns})


def table_html(df: pd.DataFrame, max_rows: int = 30, labels: dict[str, str] | None = None,
               row_format: str | None = None, note: str = "") -> str:
    """An HTML table with Chinese headers and ¥/% formatting by column (or by the row's `row_format` column)."""
    shown = numbers(privacy.mask_frame(df.head(max_rows)))
    columns = [c for c in shown.columns if c != row_format]
    kinds = cell_formats(numbers(df), row_format, max_rows)
    body = "".join(
        "<tr>" + "".join(_cell(value, kind) for value, kind in zip(row, row_kinds)) + "</tr>"
        for row, row_kinds in zip(shown[columns].itertuples(index=False, name=None), kinds))
    head = "".join(f"<th>{html.escape(label(c, labels))}</th>" for c in columns)
    more = f"（共 {len(df):,} 行，显示前 {max_rows} 行；完整数据见下载文件）" if len(df) > max_rows else ""
    notes = "".join(f'<p class="ob-note">{html.escape(text)}</p>' for text in [more, *note.splitlines()] if text)
    return f'<table class="ob-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{notes}'


def _cell(value, kind: str | None) -> str:
    if kind is None:
        return f'<td class="ob-text">{html.escape(_plain(value))}</td>'
    return f"<td>{html.escape(FORMATS[kind][0](value))}</td>"


def _plain(v) -> str:
    if _missing(v):
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "是" if v else "否"
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return f"{v:,.0f}"
    if isinstance(v, float):
        return f"{v:,.2f}"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d") if v == v.normalize() else v.strftime("%Y-%m-%d %H:%M")
    return str(v)


def kpi_cards(items: dict[str, str]) -> str:
    """A row of headline numbers (label → formatted value)."""
    return "".join(f'<div class="ob-kpi">{html.escape(k)}<b>{html.escape(v)}</b></div>' for k, v in items.items())


def params_html(title: str, labels: dict[str, str], values: dict) -> str:
    """The parameter header shown at the top of every report."""
    rows = "".join(f"<tr><td>{html.escape(labels.get(k, k))}</td><td><code>{html.escape(str(v))}</code></td></tr>"
                   for k, v in values.items())
    return f'{CSS}<div class="ob-params"><b>{html.escape(title)} · 运行参数</b><table>{rows}</table></div>'


def _safe_cell(v):
    """Neutralise spreadsheet formulas (cells starting with = + - @, TAB or CR: OWASP's list)."""
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + v
    return v


def for_people(df: pd.DataFrame, labels: dict[str, str] | None = None) -> pd.DataFrame:
    """A copy safe to hand to people as CSV: Chinese headers, masked phones, no formula injection, naive times,
    dates without a time, 是/否 for booleans."""
    out = _plain_values(privacy.mask_frame(df))
    for col in out.columns:
        if isinstance(out[col].dtype, pd.StringDtype):  # vectorised: big tables have hundreds of thousands of rows
            risky = out[col].str.match(r"[=+\-@\t\r]").fillna(False).astype(bool)
            if risky.any():
                out[col] = out[col].where(~risky, "'" + out[col])
        elif out[col].dtype == object:
            out[col] = out[col].map(_safe_cell)
    return labelled(out, labels)


def _plain_values(df: pd.DataFrame) -> pd.DataFrame:
    """Times as China time without a zone (Excel has none), date-only times as dates, booleans as 是/否."""
    out = df.copy()
    for col in out.columns:
        series = out[col]
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            series = series.dt.tz_localize(None)
        if pd.api.types.is_datetime64_dtype(series) and (series.dropna() == series.dropna().dt.normalize()).all():
            series = series.dt.date
        elif pd.api.types.is_bool_dtype(series):
            series = series.map({True: "是", False: "否"})
        out[col] = series
    return out


def xlsx_max_rows() -> int:
    """Largest table written as xlsx while the run goes on ($OPSBOOK_XLSX_MAX_ROWS, at most Excel's limit)."""
    try:
        wanted = int(os.environ.get(XLSX_MAX_ROWS_ENV, XLSX_MAX_ROWS))
    except ValueError:
        wanted = XLSX_MAX_ROWS
    return max(0, min(wanted, EXCEL_MAX_ROWS))


def export(df: pd.DataFrame, folder: Path, stem: str, labels: dict[str, str] | None = None,
           row_format: str | None = None) -> list[str]:
    """Write `<stem>.csv` (UTF-8 with BOM, plain numbers) and, up to `xlsx_max_rows()` rows, `<stem>.xlsx` (numeric
    cells with number formats, dates as dates, frozen header); return the names written."""
    folder.mkdir(parents=True, exist_ok=True)
    df = _undefined_as_missing(df)
    columns = [c for c in df.columns if c != row_format]
    _write_csv(for_people(df[columns], labels), folder / f"{stem}.csv")
    if len(df) > xlsx_max_rows():
        return [f"{stem}.csv"]
    _write_xlsx(df, folder / f"{stem}.xlsx", labels, row_format)
    return [f"{stem}.xlsx", f"{stem}.csv"]


def _undefined_as_missing(df: pd.DataFrame) -> pd.DataFrame:
    """±inf (a ratio against nothing) as an empty cell, as the report shows both: Excel cannot hold infinity."""
    floats = [c for c in df.columns if pd.api.types.is_float_dtype(df[c]) and np.isinf(df[c].to_numpy(float)).any()]
    return df.assign(**{c: df[c].replace([np.inf, -np.inf], np.nan) for c in floats}) if floats else df


def _write_csv(people: pd.DataFrame, path: Path) -> None:
    """Through Arrow (fast on big tables); a BOM first, so Excel reads the UTF-8."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
    table = pa.Table.from_pandas(people, preserve_index=False)
    for i, field in enumerate(table.schema):  # 2026-06-01 10:30:00, not Arrow's 2026-06-01 10:30:00.000000
        if pa.types.is_timestamp(field.type):
            seconds = pc.cast(table.column(i), pa.timestamp("s"), safe=False)
            table = table.set_column(i, field.name, pc.strftime(seconds, format="%Y-%m-%d %H:%M:%S"))
    with open(path, "wb") as fh:
        fh.write(codecs.BOM_UTF8)
        pacsv.write_csv(table, fh)


def _write_xlsx(df: pd.DataFrame, path: Path, labels: dict[str, str] | None, row_format: str | None) -> None:
    """Streamed row by row (xlsxwriter, constant memory): numbers stay numbers, each with its number format."""
    import xlsxwriter
    df = numbers(df)
    columns = [c for c in df.columns if c != row_format]
    kinds = cell_formats(df, row_format)
    values = _plain_values(privacy.mask_frame(df[columns]))
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                           "strings_to_urls": False, "strings_to_numbers": False})
    try:
        sheet = book.add_worksheet("数据")
        number = {kind: book.add_format({"num_format": fmt}) for kind, (_, fmt) in FORMATS.items()}
        day, moment = book.add_format({"num_format": "yyyy-mm-dd"}), book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        sheet.write_row(0, 0, [label(c, labels) for c in columns], book.add_format({"bold": True, "bg_color": "#F4F6F8"}))
        sheet.freeze_panes(1, 0)
        for r, (row, row_kinds) in enumerate(zip(values.itertuples(index=False, name=None), kinds), 1):
            for c, (value, kind) in enumerate(zip(row, row_kinds)):
                if _missing(value):
                    continue
                if kind is not None:
                    sheet.write_number(r, c, float(value), number[kind])
                elif isinstance(value, pd.Timestamp):
                    sheet.write_datetime(r, c, value.to_pydatetime(), moment)
                elif isinstance(value, dt.date):
                    sheet.write_datetime(r, c, dt.datetime.combine(value, dt.time()), day)
                else:
                    sheet.write_string(r, c, str(value))  # a string cell is never a formula: no apostrophe needed
        for c, column in enumerate(columns):
            sample = [_plain(v) for v in values[column].head(200)]
            sheet.set_column(c, c, min(40, max(8, _width(label(column, labels)) + 2, *(_width(t) + 2 for t in sample))))
    finally:
        book.close()


def _width(text: str) -> int:
    """Display width in Excel columns: Chinese characters count twice."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def show_kpis(items: dict[str, str]):
    """Display a row of headline numbers."""
    from IPython.display import HTML
    return HTML(CSS + kpi_cards(items))


def show_notes(sections: dict[str, list[str]]):
    """Display titled bullet lists (e.g. 亮点 / 问题 / 改进)."""
    from IPython.display import HTML
    parts = "".join(f"<h4>{html.escape(title)}</h4><ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ul>"
                    for title, items in sections.items())
    return HTML(parts)
