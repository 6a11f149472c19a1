"""The shop's promotion plans (大促排期表, data/templates/大促排期表.csv) into `plan_tasks`: one row per task of a
promotion, typed by the table's schema, the promotion's name as plans are filed (2026双11 → 2026年双11). A row is
refused by its number for an empty or unreadable required cell, a promotion without a year (双11: which one?), an owner that is no role (the words staff use for a lead or a designer — 运营经理, 美工 … — read as their role), or a
planned end before its start; a task listed twice in one promotion refuses the file."""
from __future__ import annotations

import re


from ...settings import ROLES
from .. import tables
from . import exports, goods
from .read import RawTable

TABLE = "plan_tasks"
# owner words staff write for a role (the team's roles are settings.ROLES)
ROLE_WORDS = {"运营经理": "主管", "运营主管": "主管", "客服主管": "主管", "店长": "主管", "美工": "设计",
              "文案": "内容", "供应链": "采购"}


_YEAR = re.compile(r"(?<!\d)(20\d{2})\s*年?")  # the same reading as sops.promo_timeline.parse


def promotion_name(text):
    """A promotion's name as plans are filed: 2026双11 and 双11 2026 become 2026年双11 (a name without a year, or
    missing, stays as it is)."""
    if not isinstance(text, str) or (found := _YEAR.search(text)) is None:
        return text
    rest = re.sub(r"\s+", "", text[:found.start()] + text[found.end():])
    return f"{found.group(1)}年{rest}" if rest else text


def to_plan_tasks(raw: RawTable, kind: exports.ExportKind, secret: bytes, name: str):
    """A plan sheet's tasks (plan_tasks), owners read as roles; rows with another owner or ending before they start
    are rejected by their number."""
    out, reasons, cols = goods._typed(raw, kind, tables.SCHEMAS[TABLE], name)
    if "promotion" in out:
        out["promotion"] = out["promotion"].map(promotion_name, na_action="ignore")
        # without a year a plan is no promotion's: the daily run (the calendar's next 大促) never finds it, and next
        # year's plan of the same name would collide with this one's task ids
        yearless = out["promotion"].notna() & ~out["promotion"].astype("str").map(lambda t: isinstance(t, str) and _YEAR.search(t) is not None).astype(bool)
        reasons = exports._reject(reasons, yearless, f"{cols['promotion']} " + out["promotion"].astype("str")
                                  + " 没有年份：请写成 2026年双11 这样（年份 + 大促日历中的名称）")
    if "owner_role" in out:
        out["owner_role"] = out["owner_role"].map(lambda v: ROLE_WORDS.get(v, v), na_action="ignore")
        bad = out["owner_role"].notna() & ~out["owner_role"].isin(ROLES)
        reasons = exports._reject(reasons, bad, f"{cols['owner_role']} " + out["owner_role"].astype("str")
                                  + f" 不是团队角色（只能是 {'、'.join(ROLES[:-1])}）")
    reasons = goods._broken_rules(out, reasons, TABLE)
    goods._unique(out, reasons, raw, [k for k in tables.KEYS[TABLE] if k in cols], cols, name)
    return exports._split(out, reasons, raw)


exports.MAPPERS[TABLE] = to_plan_tasks
