"""Review exports (评价导出) into `reviews` and keyword-rank sheets (关键词排名) into `keyword_ranks`: the shop's
templates (data/templates/评价导出.csv, 关键词排名.csv) and the platforms' own spellings of their headers, read as
variants (data/reference/exports.yaml: `review_list`, `keyword_rank_list`).

Rows of one file may come from several platforms: the platform is the file's 平台 column (a code, TB/TM/JD/DY/PDD, or
its Chinese name, 淘宝/天猫/京东/抖音/拼多多), else `--platform`; a row whose platform is neither is refused by its
number, never filed under a guessed one. A rating is 1–5 stars, or the Taobao 好评/中评/差评 (5/3/1). A review without
its own 评价ID is identified by its order and SKU (one review per order line), so a later export of the same reviews
(replies added) updates them. Review texts are masked for phones when checked (`tables.problems_in`).
"""
from __future__ import annotations

import hashlib

import pandas as pd

from .. import tables
from . import clean, exports, goods
from .read import RawTable

RATING_WORDS = {"好评": 5, "中评": 3, "差评": 1, "good": 5, "neutral": 3, "bad": 1}


def _platforms(df: pd.DataFrame, cols: dict, kind: exports.ExportKind) -> pd.Series:
    """Each row's platform code: the file's 平台 column, else the kind's (`--platform`), else missing."""
    given = pd.Series(kind.platform, index=df.index, dtype="str")
    if cols.get("platform"):
        written = clean.clean_id_column(df[cols["platform"]])
        given = clean.platform_codes(df[cols["platform"]]).where(written.notna(), given)
    return given


def _typed(df: pd.DataFrame, kind: exports.ExportKind, name: str) -> tuple[pd.DataFrame, pd.Series, dict]:
    """The kind's columns typed by the table's schema (times in China time), the platform, and each row's reason to
    be refused ('' for none)."""
    schema = tables.SCHEMAS[kind.table]
    required = tuple(t for t in kind.columns if t in schema and schema[t].required and t not in ("platform", "review_id"))
    cols = exports._columns(df, kind, required, name)
    out = pd.DataFrame(index=df.index)
    reasons = pd.Series("", index=df.index)
    for target, source in cols.items():
        if source is None or target == "platform" or target not in schema:
            continue
        col = schema[target]
        if target == "rating":
            text = df[source].astype("str").str.strip()
            words = text.map(RATING_WORDS.get)
            numbers, bad = clean.parse_numbers(df[source].where(words.isna()))
            out[target] = words.fillna(numbers)
            reasons = exports._reject(reasons, out[target].isna() & text.ne(""),
                                      f"{source} 应为 1–5 星或 好评/中评/差评")
        elif col.kind in ("date", "datetime", "int", "float"):  # read as every sheet's (a rank of 3.5 is no rank)
            out[target], problems = goods._values(df[source], col, target)
            for bad, why in problems:
                reasons = exports._reject(reasons, bad, f"{source} {why}")
        elif col.masked:
            out[target] = df[source].astype("str").where(df[source].notna())
        else:
            out[target] = clean.clean_id_column(df[source])
        if col.required and not col.nullable and target != "review_id":  # refused by its row, not the file (an id
            # left empty is made from the order below)
            reasons = exports._reject(reasons, out[target].isna(), f"{source} 为空")
    out["platform"] = _platforms(df, cols, kind)
    reasons = exports._reject(reasons, out["platform"].isna(),
                              "平台未知：请在文件中加 平台 列（TB/TM/JD/DY/PDD 或 淘宝/天猫/京东/抖音/拼多多），或导入时指定平台")
    return out, reasons, cols


def to_reviews(raw: RawTable, kind: exports.ExportKind, secret: bytes, name: str):
    """Canonical reviews of a review export, and the rejected rows (unknown platform, rating or time)."""
    out, reasons, cols = _typed(raw.frame, kind, name)
    given = out["review_id"] if "review_id" in out else pd.Series(None, index=out.index, dtype="object")
    missing = given.isna()
    if missing.any():  # one review per order line: the same id on every export of it
        sku = out["sku"] if "sku" in out else pd.Series(None, index=out.index, dtype="object")
        stamp = out["review_time"].dt.strftime("%Y%m%d%H%M%S").fillna("")
        key = out["order_id"].fillna("") + "-" + sku.fillna("").where(sku.notna(), stamp)
        made = "RV" + key.map(lambda k: hashlib.sha1(k.encode()).hexdigest()[:16])
        out["review_id"] = given.astype("object").where(~missing, made)
        reasons = exports._reject(reasons, missing & out["order_id"].isna(), "没有评价ID时需要订单编号")
    rating = out["rating"]
    reasons = exports._reject(reasons, rating.notna() & ~rating.isin([1, 2, 3, 4, 5]), "评分应为 1–5 的整数")
    out["rating"] = rating.astype("Int64")
    return exports._split(out, reasons, raw)


def to_keyword_ranks(raw: RawTable, kind: exports.ExportKind, secret: bytes, name: str):
    """Canonical keyword ranks of a rank sheet (an empty rank: not in the ranking that day), and the rejected rows."""
    out, reasons, _ = _typed(raw.frame, kind, name)
    return exports._split(out, reasons, raw)


exports.MAPPERS["reviews"] = to_reviews
exports.MAPPERS["keyword_ranks"] = to_keyword_ranks
