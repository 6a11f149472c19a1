"""Customer-service sessions (`opsbook ingest`): the 客服接待记录 template (data/templates/客服接待记录.csv) and the
spellings of 千牛 / 咚咚 / 飞鸽 session lists as its variants, into `cs_sessions`.

One file may hold the sessions of several platforms (a 平台 column: TB/TM/JD/DY/PDD or 淘宝/天猫/京东/抖音/抖店/拼多多;
without it, the 接待渠道 says 咚咚 → JD, 飞鸽 → DY, 拼多多 → PDD; a 千牛 row without 平台 may be TB or TM and is refused
by its row). The buyer becomes a
keyed pseudonym of the platform (the orders' own), chat summaries have their phones masked (`Column.masked`), and
satisfaction words (非常满意 … 非常不满意) read as 5 … 1 stars."""
from __future__ import annotations

import pandas as pd

from ...settings import TZ_NAME
from . import clean, exports

TABLE = "cs_sessions"
CHANNEL_PLATFORM = {"咚咚": "JD", "京东咚咚": "JD", "飞鸽": "DY", "抖店飞鸽": "DY", "拼多多商家工作台": "PDD", "多多客服": "PDD"}
CATEGORY_NAMES = {"售前": "售前", "售前咨询": "售前", "售中": "售中", "售中咨询": "售中", "售后": "售后", "售后咨询": "售后"}
SATISFACTION = {"非常满意": 5, "满意": 4, "一般": 3, "不满意": 2, "非常不满意": 1}
TIMES = ("start_time", "resolved_time", "follow_up_time")


def _text(df: pd.DataFrame, column: str | None) -> pd.Series:
    """A text column stripped, empty and `-` as missing (a column the file lacks: all missing)."""
    if column is None:
        return pd.Series(None, index=df.index, dtype="str")
    text = df[column].astype("str").str.strip()
    return text.where(df[column].notna() & ~text.isin(["", "-", "—"]))


def to_cs_sessions(raw, kind: exports.ExportKind, secret: bytes, name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Canonical sessions of a session list, and the rejected rows with their reasons (unknown platform or stage,
    times and numbers that are not)."""
    df = raw.frame
    cols = exports._columns(df, kind, ("session_id", "agent", "category", "start_time"), name)
    out = pd.DataFrame(index=df.index)
    reasons = pd.Series("", index=df.index)
    platform = clean.platform_codes(df[cols["platform"]]) if cols.get("platform") else _text(df, None)
    by_channel = _text(df, cols.get("channel")).map(CHANNEL_PLATFORM.get).astype("str")
    platform = platform.fillna(by_channel).fillna(kind.platform) if kind.platform else platform.fillna(by_channel)
    out["platform"] = platform
    given = _text(df, cols.get("platform"))
    reasons = exports._reject(reasons, platform.isna(), "无法确定平台（平台列应为 TB/TM/JD/DY/PDD 或 淘宝/天猫/京东/抖音/拼多多）"
                              + given.fillna("").radd("：").where(given.notna(), ""))
    out["session_id"] = clean.clean_id_column(df[cols["session_id"]])
    out["order_id"] = clean.clean_id_column(df[cols["order_id"]]) if cols.get("order_id") else None
    for target in ("agent", "channel", "topic", "text"):
        out[target] = _text(df, cols.get(target))
    stage = _text(df, cols["category"])
    out["category"] = stage.map(CATEGORY_NAMES.get)
    reasons = exports._reject(reasons, out["category"].isna(), "咨询阶段应为 售前 / 售中 / 售后：" + stage.fillna("（空）"))
    for target in TIMES:
        source = cols.get(target)
        if source is None:
            out[target] = pd.Series(pd.NaT, index=df.index, dtype=f"datetime64[us, {TZ_NAME}]")
            continue
        stamps, bad = clean.parse_times(df[source])  # the shared reading: an offset converted, "today" no time
        reasons = exports._reject(reasons, bad, f"{source} 不是时间")
        out[target] = stamps.dt.tz_localize(TZ_NAME)
    for target in ("session_id", "agent", "start_time"):  # required: an empty cell refuses its row, not the file
        reasons = exports._reject(reasons, out[target].isna(), f"{cols[target]} 为空")
    response, bad = clean.parse_numbers(df[cols["first_response_s"]]) if cols.get("first_response_s") else (
        pd.Series(float("nan"), index=df.index), pd.Series(False, index=df.index))
    out["first_response_s"] = response
    reasons = exports._reject(reasons, bad, f"{cols.get('first_response_s')} 不是数字")
    rating_text = _text(df, cols.get("rating"))
    stars, bad = clean.parse_numbers(rating_text.map(lambda v: SATISFACTION.get(v, v), na_action="ignore"))
    bad |= stars.notna() & ~stars.isin([1, 2, 3, 4, 5])  # 4.5 is refused, never rounded to 4
    out["rating"] = stars.where(~bad).astype("Int64")
    reasons = exports._reject(reasons, bad, "客户评分应为 1–5 星或 非常满意/满意/一般/不满意/非常不满意")
    buyer = exports._pick(df, kind.customer)
    out["customer_id"] = None
    if buyer is not None:  # the buyer cell read as an order export's (exports._customers): the orders' pseudonym
        for code in platform.dropna().unique():
            rows = platform == code
            out.loc[rows, "customer_id"] = exports._customers(df.loc[rows, buyer], exports.pseudonymizer(secret, code))
    return exports._split(out, reasons, raw)


exports.MAPPERS[TABLE] = to_cs_sessions
