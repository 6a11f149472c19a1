"""Stock snapshots (库存快照) into `inventory`: the shop's template (data/templates/库存快照.csv) and the stock lists of
the ERPs staff export them from (聚水潭 商品库存/库存查询, 旺店通 库存管理), read as variants of one kind
(data/reference/exports.yaml: `inventory_snapshot`).

A snapshot is a SKU's stock on a day. ERP stock lists are "now" and carry no date: the day is the file's 日期 column,
else the one date written in the file name (库存查询_20260630.xlsx, 商品库存_2026-06-30.csv, 库存2026年6月30日.csv),
else the file is refused — a snapshot filed under the wrong day would shift every stockout and average, so the day is
never guessed from the clock or the file's time. One row per SKU and day: a list split by warehouse (分仓) is refused
naming the SKUs listed twice, never summed silently.
"""
from __future__ import annotations

import datetime as dt
import re

import pandas as pd

from ...errors import IntakeError
from .. import tables
from . import exports, goods
from .read import RawTable

TABLE = "inventory"
DATE = "日期"  # the template's date header: the one every known spelling of it is renamed to
_COMPACT = re.compile(r"(?<!\d)(20\d{2})(\d{2})(\d{2})(?:\d{2}|\d{4}|\d{6})?(?!\d)")  # 20260630, 20260630153012
_SPELLED = re.compile(r"(?<!\d)(20\d{2})[-_.年/](\d{1,2})[-_.月/](\d{1,2})日?(?!\d)")  # 2026-06-30, 2026年6月30日


def day_in_name(name: str) -> dt.date | None:
    """The one calendar day written in a file name (None when there is none); IntakeError when it names several."""
    found = set()
    for pattern in (_COMPACT, _SPELLED):
        for y, m, d in pattern.findall(name):
            try:
                found.add(dt.date(int(y), int(m), int(d)))
            except ValueError:
                continue
    if len(found) > 1:
        days = "、".join(map(str, sorted(found)))
        raise IntakeError(f"{name} 的文件名中有多个日期（{days}），无法确定这是哪一天的库存：请在文件名中只写快照日期，"
                          f"或在表中加一列 {DATE}", headline=f"{name} 无法导入，未写入任何数据")
    return next(iter(found), None)


def to_inventory(raw: RawTable, kind: exports.ExportKind, secret: bytes, name: str):
    """A stock list's snapshots (inventory): SKU, sellable stock, platform stock and stock in transit on the day of its
    日期 column, else of its file name; rows with an empty or non-numeric required cell are rejected by row number."""
    if exports._pick(raw.frame, kind.columns["date"]) is None:
        day = day_in_name(name)
        if day is None:
            raise IntakeError(
                [f"{name} 没有 {DATE} 列，文件名中也没有日期：不知道这是哪一天的库存",
                 "请把文件名改成带快照日期的名字（如 库存查询_20260630.xlsx）后重新导入，"
                 f"或在表中加一列 {DATE}（模板见 data/templates/库存快照.csv）；日期是这份库存所属的那一天（当天收盘），"
                 "早上开工前导出的库存请写前一天的日期"],
                headline=f"{name} 无法导入，未写入任何数据")
        raw.frame = raw.frame.assign(**{DATE: day.isoformat()})
    frame, reasons, cols = goods._typed(raw, kind, tables.SCHEMAS[TABLE], name)
    _once(frame, reasons, raw, cols, name)
    return exports._split(frame, reasons, raw)


def _once(frame: pd.DataFrame, reasons: pd.Series, raw: RawTable, cols: dict, name: str) -> None:
    """IntakeError naming each SKU the file's good rows list twice for one day, with its rows: stock split by
    warehouse is not summed behind the staff's back, nor one of the rows picked."""
    good = frame[reasons == ""]
    twice = good[good.duplicated(subset=["sku", "date"], keep=False)]
    if twice.empty:
        return
    lines = [f"{cols['sku']} {sku}（{day:%Y-%m-%d}）出现在第 "
             + "、".join(str(int(i) + raw.header_row + 2) for i in rows.index) + " 行"
             for (sku, day), rows in twice.groupby(["sku", "date"], sort=True)]
    raise IntakeError(lines[:20] + ["每个 SKU 每天只能有一行库存：分仓导出的库存请在 ERP 中按商品汇总（不分仓）后重新导出，"
                                    "或只保留发货仓的行"],
                      headline=f"{name} 中有 {twice['sku'].nunique()} 个 SKU 重复，无法确定库存是哪一行，未写入任何数据")


def days_line(frame: pd.DataFrame) -> str:
    """The days a file's snapshots were filed under, for the import report: staff see the day taken."""
    days = pd.to_datetime(frame["date"]).dt.date
    first, last, n = days.min(), days.max(), days.nunique()
    return f"库存快照日期：{first}" if n == 1 else f"库存快照日期：{first} 至 {last}（{n} 天）"


exports.MAPPERS[TABLE] = to_inventory
