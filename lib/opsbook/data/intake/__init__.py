"""Marketplace export intake: read seller back-end exports (Taobao/Tmall, JD, Douyin, Pinduoduo …) safely."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ...errors import OpsbookError
from . import exports, goods, stock, warehouse
from . import content, logistics, pilots, plans, reviews, service  # noqa: F401  (each registers its export mappers)


@dataclass
class FileReport:
    """What importing one file did, as Chinese lines for staff; `error` set when it was rejected whole."""

    name: str
    lines: list[str] = field(default_factory=list)
    error: OpsbookError | None = None


def ingest_file(path: str | Path, into: str | Path, platform: str | None = None, kind: str | None = None,
                name: str | None = None) -> FileReport:
    """Read one export and merge it into the warehouse at `into` (a folder or a PostgreSQL URL).

    All the tables of the file are merged in one transaction: if the file is rejected or anything fails,
    nothing is written.
    """
    report = FileReport(name or Path(path).name)
    try:
        target = warehouse.open_target(into)
        result = exports.read_export(path, platform, kind, warehouse=target.secret_home)
        with target.transaction():
            if set(result.tables) <= set(goods.STAGED):  # a product list or cost sheet: it may complete products
                merged = goods.merge(target, result.tables)
            else:
                merged = [_merge(target, table, frame) for table, frame in result.tables.items()]
    except OpsbookError as exc:
        report.error = exc
        return report
    report.lines.append(f"{result.kind.label}，{result.format}/{result.encoding}，读取 {result.rows_read} 行")
    skipped = "，".join(f"{k} {v} 行" for k, v in result.skipped.items() if v)
    if skipped:
        report.lines.append(f"跳过：{skipped}")
    report.lines += merged
    if stock.TABLE in result.tables and len(result.tables[stock.TABLE]):
        report.lines.append(stock.days_line(result.tables[stock.TABLE]))
    if len(result.rejected):
        report.lines.append(f"拒绝 {len(result.rejected)} 行：" + "；".join(
            f"第 {r.row} 行 {r.reason}" for r in result.rejected.head(10).itertuples()))
    return report


def _merge(target: warehouse.Target, table: str, frame: pd.DataFrame) -> str:
    """Merge one table of an export (refunds update stored orders); the Chinese line saying what changed."""
    if table == "refunds":
        counts = warehouse.apply_refunds(target, frame)
        return f"更新订单退款：{counts['updated']} 单" + (
            f"；{counts['unmatched']} 单在数据仓库中找不到（请先导入订单，再导入退款单）" if counts["unmatched"] else "")
    counts = warehouse.merge(target, table, frame)
    line = f"写入 {table}：新增 {counts['added']} 行，更新 {counts['updated']} 行（共 {counts['total']} 行）"
    if counts.get("placed"):  # detail lines (order_lines) go into orders with the fields of their order list
        line += f"；其中 {counts['placed']} 行已按订单列表补全并写入 orders"
    if counts.get("waiting"):
        line += f"；{counts['waiting']} 行明细的订单还不在 orders 中，导入对应的订单列表后自动写入"
    return line
