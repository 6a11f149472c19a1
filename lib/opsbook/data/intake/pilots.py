"""SOP pilot groups (试点分组表, data/templates/试点分组表.csv) into `sop_pilots`: the customers or staff of a pilot and
of its control group, with the outcome of the metric declared before the pilot. No platform or ERP exports pilots: the
shop keeps this sheet itself ([OWN] in data/reference/exports.yaml, `sop_pilot_groups`).

A row with an unknown group or kind (only 试点/对照, 客户/员工), an unreadable time or a non-numeric outcome is refused
by its row number; an empty 结果值 is kept as "no outcome yet". A unit listed twice in one pilot refuses the file (which
row is right is not guessed).
"""
from __future__ import annotations

from .. import tables
from . import exports, goods
from .read import RawTable

TABLE = "sop_pilots"


def to_sop_pilots(raw: RawTable, kind: exports.ExportKind, secret: bytes, name: str):
    """A pilot-group sheet's units (sop_pilots) typed by the schema, and the rejected rows with their reasons."""
    spec = tables.SCHEMAS[TABLE]
    out, reasons, shown = goods._typed(raw, kind, spec, name)
    for column in ("pilot_group", "unit_kind"):
        if column in out:
            allowed = spec[column].choices
            wrong = out[column].notna() & ~out[column].isin(allowed)
            reasons = exports._reject(reasons, wrong, f"{shown[column]} 只能填 {'或'.join(allowed)}")
    goods._unique(out, reasons, raw, tables.KEYS[TABLE], shown, name,
                  ("同一试点中每个对象（一个对象只能在试点组或对照组之一）", ""))
    return exports._split(out, reasons, raw)


exports.MAPPERS[TABLE] = to_sop_pilots
