"""Creator content (达人投放表) into `kol_content`: one row per piece of content with its creator, followers, the
platform its product link sells on, cost and funnel counts (data/templates/达人投放表.csv; data/reference/exports.yaml:
`kol_content_sheet`).

No public description of a 巨量星图, 小红书蒲公英 or 淘宝联盟 export file was found: the template is the shop's own, and
the headers those back-ends and third-party tools are known to use for the same things (视频ID, 笔记ID, 阅读量 …) are
read as its variants. Counts may be written the way those back-ends show them — 21.2万, 3.5w, 1.2亿 — and are read
exactly (21.2万 = 212,000). The platform column takes codes (TB, TM, JD, DY, PDD) or names (淘宝, 天猫, 京东, 抖音/抖店,
拼多多); a row with another platform, a count below 0, more completions than plays or more carts than link clicks is
refused by its row number; a content id listed twice for one platform refuses the file, naming its rows.
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from ...errors import IntakeError
from .. import tables
from . import clean, exports, goods
from .read import RawTable

TABLE = "kol_content"
_UNITS = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?)\s*(万|w|W|亿)\s*$")
_FACTOR = {"万": Decimal(10_000), "w": Decimal(10_000), "W": Decimal(10_000), "亿": Decimal(100_000_000)}
COUNTS = ("followers", "plays", "completions", "interactions", "link_clicks", "carts", "orders", "repurchase_orders")


def spelled_number(cell: object) -> object:
    """A count written with a unit (21.2万, 3.5w, 1.2亿) as its exact digits; any other cell as it is."""
    if not isinstance(cell, str) or (m := _UNITS.match(cell)) is None:
        return cell
    try:
        value = Decimal(m.group(1)) * _FACTOR[m.group(2)]
    except InvalidOperation:
        return cell
    return format(value.normalize(), "f")  # 12345.6 (not an integer: refused by the count column)


def to_kol_content(raw: RawTable, kind: exports.ExportKind, secret: bytes, name: str):
    """A content sheet's rows (kol_content), typed by the table's schema; bad rows rejected by their row number."""
    df = raw.frame
    for target in COUNTS:
        source = exports._pick(df, kind.columns.get(target, []))
        if source is not None:
            df[source] = clean.map_unique(df[source], spelled_number)
    spec = {k: v for k, v in tables.SCHEMAS[TABLE].items() if k != "platform"}
    frame, reasons, cols = goods._typed(raw, kind, spec, name)
    source = exports._pick(df, kind.columns["platform"])
    if source is None:
        raise IntakeError([f"{name} 没有 平台 列：不知道每条内容挂的是哪个平台的商品",
                           ("请加一列 平台（淘宝、天猫、京东、抖音、拼多多，或 TB、TM、JD、DY、PDD；模板见 "
                            "data/templates/达人投放表.csv）后重新导入")], headline=f"{name} 无法导入，未写入任何数据")
    text = clean.clean_id_column(df[source])
    frame["platform"] = clean.platform_codes(df[source])
    shown = df.attrs.get("spelled", {}).get(source, source)
    unknown = frame["platform"].isna()
    reasons = exports._reject(reasons, unknown & text.isna(), f"{shown} 为空")
    reasons = exports._reject(reasons, unknown, shown + " “" + text.fillna("").astype("str") +
                              "” 不是平台（淘宝、天猫、京东、抖音、拼多多 或 TB、TM、JD、DY、PDD）")
    cols["platform"] = shown
    reasons = goods._broken_rules(frame, reasons, TABLE)
    # which row holds the right numbers is not guessed (a content exported again later is a later file: it updates)
    goods._unique(frame, reasons, raw, tables.KEYS[TABLE], cols, name,
                  ("同一平台的每条内容", "（同一条内容后来再导出的数据，单独导入即可更新）"))
    return exports._split(frame[[c for c in tables.SCHEMAS[TABLE] if c in frame]], reasons, raw)


exports.MAPPERS[TABLE] = to_kol_content
