"""Parcels (发货记录 / 物流导出) into `shipments`: the shop's template (data/templates/发货记录.csv) and the shipping
lists of ERPs and tracking tools read as its variants (data/reference/exports.yaml: `shipment_list`).

One row per parcel: an order shipped in two parcels, or reshipped, has two rows with different tracking numbers. The
platform is a column of the file (平台: TB/TM/JD/DY/PDD or 淘宝/天猫/京东/抖音/拼多多): a shipping list mixes the
shop's platforms, so a file without it is refused rather than filed under one. Tracking numbers are ids, never masked
(some look like numbers: Excel turns them into 7.6E+13, which is refused as unrecoverable). Exceptions are read from
the words carriers and tracking tools use (丢失 → 丢件, 损坏 → 破损, 收货地址不详细 → 地址异常 …); an unknown word
rejects its row, naming the words understood. A later export of the same parcels updates their times and exceptions.
"""
from __future__ import annotations

import pandas as pd

from ...errors import IntakeError
from ...settings import TZ_NAME
from .. import privacy, tables
from . import clean, exports, goods
from .read import RawTable

TABLE = "shipments"
EXCEPTION_WORDS = {  # what carriers, ERPs and tracking tools write → the canonical exception
    "丢件": "丢件", "丢失": "丢件", "遗失": "丢件", "快件丢失": "丢件",
    "破损": "破损", "损坏": "破损", "包裹破损": "破损",
    "拒收": "拒收", "拒收(退件)": "拒收", "拒签": "拒收",
    "退回": "退回", "退件": "退回", "退货签收": "退回", "退货未签收": "退回",
    "错发": "错发", "发错货": "错发", "漏发": "漏发", "少件": "漏发", "缺件": "漏发",
    "地址异常": "地址异常", "地址不详": "地址异常", "收货地址不详细": "地址异常", "超区件": "地址异常",
}
NO_EXCEPTION = {"", "无", "正常", "-", "—", "否"}
TIMES = ("ship_time", "last_event_time", "delivered_time")


def to_shipments(raw: RawTable, kind: exports.ExportKind, secret: bytes, name: str):
    """A shipping list's parcels: order, platform, carrier, tracking number, ship / last update / delivery times and
    exception; rows with an empty required cell, an unknown platform or exception word, an impossible time or times
    out of order (签收早于发货) are rejected by row number; a parcel listed twice rejects the file."""
    df = raw.frame
    required = ("order_id", "platform", "carrier", "tracking_no", "ship_time")
    cols = exports._columns(df, kind, required, name)
    out, reasons = pd.DataFrame(index=df.index), pd.Series("", index=df.index)
    for target in ("order_id", "carrier", "tracking_no"):
        ids, scientific = clean.clean_ids(df[cols[target]])
        if scientific.any():
            raise IntakeError(f"{name} 的 {cols[target]} 被改成了科学计数法（如 {df.loc[scientific, cols[target]].iloc[0]}），"
                              "原编号已无法恢复：请从后台重新导出，不要用 Excel 打开后另存",
                              headline=f"{name} 无法导入，未写入任何数据")
        out[target] = ids
        reasons = exports._reject(reasons, ids.isna(), f"{cols[target]} 为空")
    # no carrier numbers its parcels like a mobile (1[3-9] + 9 digits): such a 运单号 is the buyer's phone typed into
    # the wrong column — refused by row (shown masked), never stored where reports would mask it into a useless id
    # (the same whole-cell test as privacy.mask_frame's for this column: 138.1234.5678 and full-width digits too)
    phone_like = out["tracking_no"].map(lambda t: privacy.PHONE.fullmatch(t) is not None, na_action="ignore")
    phone_like = phone_like.fillna(False).astype(bool)
    reasons = exports._reject(reasons, phone_like, cols["tracking_no"] + " 为“" + out["tracking_no"].fillna("").map(
        privacy.mask_phone) + "”，像手机号而不是快递单号：请核对运单号后重新导入")
    written = clean.clean_id_column(df[cols["platform"]])
    out["platform"] = clean.platform_codes(df[cols["platform"]])
    reasons = exports._reject(reasons, out["platform"].isna(), cols["platform"] + " 为“" + written.fillna("") +
                              "”，应为 TB、TM、JD、DY、PDD（或 淘宝、天猫、京东、抖音、拼多多）")
    for target in TIMES:
        if cols.get(target):
            stamps, bad = clean.parse_times(df[cols[target]])
            out[target] = stamps.dt.tz_localize(TZ_NAME)
            reasons = exports._reject(reasons, bad, f"{cols[target]} 不是时间")
        else:
            out[target] = pd.Series(pd.NaT, index=df.index, dtype=f"datetime64[us, {TZ_NAME}]")
    reasons = exports._reject(reasons, out["ship_time"].isna(), f"{cols['ship_time']} 为空")
    out["exception"] = pd.Series(None, index=df.index, dtype="str")
    if cols.get("exception"):
        words = df[cols["exception"]].astype("str").str.strip()
        mapped = words.map(lambda w: None if w in NO_EXCEPTION else EXCEPTION_WORDS.get(w, "?"), na_action="ignore")
        out["exception"] = mapped.where(mapped != "?").astype("str")
        known = "、".join(dict.fromkeys(EXCEPTION_WORDS.values()))
        reasons = exports._reject(reasons, (mapped == "?").fillna(False).astype(bool),
                                  cols["exception"] + " 为“" + words.fillna("") + f"”，无法识别（可填：{known}，或留空）")
    reasons = goods._broken_rules(out, reasons, TABLE)
    goods._unique(out, reasons, raw, tables.KEYS[TABLE], cols, name, ("每个包裹（订单编号 + 运单号）", ""))
    return exports._split(out[list(tables.SCHEMAS[TABLE])], reasons, raw)


exports.MAPPERS[TABLE] = to_shipments
