"""Report rendering: ¥ and % formatting, Chinese column labels, HTML tables, xlsx/csv export."""
from __future__ import annotations

import html
import math
from pathlib import Path

import numpy as np
import pandas as pd

from .data import privacy

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
MONEY_HINTS = ("gmv", "amount", "aov", "spend", "monetary", "price", "budget", "target", "cost")
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


def _formatter(col: str):
    low = col.lower()
    if any(h in low for h in PCT_HINTS):
        return pct
    if any(h in low for h in MONEY_HINTS):
        return money
    return None


def label(column, labels: dict[str, str] | None = None) -> str:
    """The Chinese label of a column: the playbook's own (`labels`), else a shared one, else its name."""
    return (labels or {}).get(column) or LABELS.get(column, str(column))


def labelled(df: pd.DataFrame, labels: dict[str, str] | None = None) -> pd.DataFrame:
    """Columns renamed to their Chinese labels."""
    return df.rename(columns={c: label(c, labels) for c in df.columns})


def table_html(df: pd.DataFrame, max_rows: int = 30, labels: dict[str, str] | None = None) -> str:
    """An HTML table with ¥/% formatting by column name and Chinese headers."""
    shown = privacy.mask_frame(df.head(max_rows))
    cells = []
    for col in shown.columns:
        numeric = pd.api.types.is_numeric_dtype(shown[col]) and not pd.api.types.is_bool_dtype(shown[col])
        fmt = _formatter(str(col)) if numeric else None
        values = shown[col].map(fmt) if fmt else shown[col].map(_plain)
        cells.append(values.tolist())
    head = "".join(f"<th>{html.escape(label(c, labels))}</th>" for c in shown.columns)
    align = ["" if pd.api.types.is_numeric_dtype(shown[c]) else ' class="ob-text"' for c in shown.columns]
    body = "".join("<tr>" + "".join(f"<td{a}>{html.escape(str(v))}</td>" for a, v in zip(align, row)) + "</tr>"
                   for row in zip(*cells)) if cells else ""
    more = f"<p>（共 {len(df)} 行，显示前 {max_rows} 行；完整数据见下载文件）</p>" if len(df) > max_rows else ""
    return f'<table class="ob-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}'


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
    """Neutralise spreadsheet formulas (cells starting with = + - @)."""
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@"):
        return "'" + v
    return v


def for_people(df: pd.DataFrame, labels: dict[str, str] | None = None) -> pd.DataFrame:
    """A copy safe to hand to people: Chinese headers, masked phones, no formula injection, naive times."""
    out = privacy.mask_frame(df)
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = out[col].dt.tz_localize(None)
        elif out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(_safe_cell)
    return labelled(out, labels)


EXCEL_MAX_ROWS = 1_048_575


def export(df: pd.DataFrame, folder: Path, stem: str, labels: dict[str, str] | None = None) -> list[str]:
    """Write `<stem>.csv` (UTF-8 with BOM) and, within Excel's row limit, `<stem>.xlsx`; return their names."""
    folder.mkdir(parents=True, exist_ok=True)
    safe = for_people(df, labels)
    safe.to_csv(folder / f"{stem}.csv", index=False, encoding="utf-8-sig")
    if len(safe) > EXCEL_MAX_ROWS:
        return [f"{stem}.csv"]
    safe.to_excel(folder / f"{stem}.xlsx", index=False, engine="openpyxl")
    return [f"{stem}.xlsx", f"{stem}.csv"]


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
