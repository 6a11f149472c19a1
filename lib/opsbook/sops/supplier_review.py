"""Supplier review (供应商分级): per supplier over a period — on-time delivery, defect and fill rates, months of
cooperation, capacity against what is ordered — graded 核心 / 备选 / 淘汰观察 with every reason; SKUs bought from
a single supplier; purchase orders past their due date."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from .. import charts
from ..errors import ParamError
from ..flags import Flag, make
from ..sources import Source
from . import catalogue

LABELS = {
    "supplier_id": "供应商ID", "name": "供应商名称", "current_tier": "原等级", "tier": "建议等级", "change": "变化",
    "reasons": "原因", "months": "合作月数", "capacity_per_week": "周产能", "due_orders": "到期采购单",
    "on_time_orders": "准时到货", "late_orders": "迟到到货", "overdue_orders": "逾期未到",
    "on_time_rate": "准时交货率", "received_qty": "实收数量", "defect_qty": "次品数量", "defect_rate": "次品率",
    "fill_rate": "满足率", "ordered_qty": "下单数量", "ordered_per_week": "周均下单", "peak_week_qty": "单周最高下单",
    "capacity_ratio": "产能倍数", "skus": "采购 SKU 数", "sku": "商家编码", "product": "商品名称",
    "supplier_name": "供应商名称", "orders": "采购单数", "first_order": "首次下单", "last_order": "最近下单",
    "po_id": "采购单号", "order_date": "下单日期", "due_date": "约定交期", "days_overdue": "逾期天数",
    "tier_count": "供应商数",
}
CORE, BACKUP, WATCH, PENDING = "核心", "备选", "淘汰观察", "待评估"
TIER_RANK = {CORE: 0, BACKUP: 1, WATCH: 2}
DEFINITIONS = ("准时交货率 = 统计期内到期的采购单中按约定交期（含当天）到货的比例，过了交期仍未到货的算迟到；"
               "次品率 = 次品数量 ÷ 实收数量；满足率 = Σ min(实收, 采购) ÷ Σ 采购（只计已到货的单，超量交货按 100% 计）；"
               "周均下单 = 统计期内下单的采购数量 ÷ 统计期周数；产能倍数 = 周产能 ÷ 周均下单；合作月数算到参考日期")


@dataclass(frozen=True)
class Lines:
    """The grading thresholds (all parameters): what a 核心 supplier must reach and what puts one on 淘汰观察."""

    min_orders: int
    core_on_time: float
    core_defect_rate: float
    core_fill_rate: float
    core_months: int
    core_capacity_ratio: float
    drop_on_time: float
    drop_defect_rate: float
    drop_fill_rate: float

    def check(self) -> None:
        """ParamError (in Chinese) when a 淘汰观察 line is stricter than the 核心 line it should sit under."""
        problems = []
        if self.drop_on_time > self.core_on_time:
            problems.append(f"淘汰观察准时率（{self.drop_on_time:g}）不能高于核心准时率（{self.core_on_time:g}）")
        if self.drop_defect_rate < self.core_defect_rate:
            problems.append(f"淘汰观察次品率（{self.drop_defect_rate:g}）不能低于核心次品率上限（{self.core_defect_rate:g}）")
        if self.drop_fill_rate > self.core_fill_rate:
            problems.append(f"淘汰观察满足率（{self.drop_fill_rate:g}）不能高于核心满足率（{self.core_fill_rate:g}）")
        if problems:
            raise ParamError(problems)


def period(as_of: dt.date, months: int) -> tuple[dt.date, dt.date]:
    """The `months` months ending with `as_of` (first day, last day): a quarter-end gives that whole quarter."""
    first = (pd.Timestamp(as_of) + pd.Timedelta(days=1) - pd.DateOffset(months=months)).date()
    return first, as_of


def months_between(since: pd.Series, day: dt.date) -> pd.Series:
    """Whole months from each `since` to `day` (0 for a start after `day`; missing stays missing)."""
    s = pd.to_datetime(since)
    months = (day.year - s.dt.year) * 12 + (day.month - s.dt.month) - (s.dt.day > day.day).astype("Int64")
    return months.clip(lower=0).astype("Int64")


def scorecard(src: Source, first: dt.date, last: dt.date) -> pd.DataFrame:
    """One row per supplier (of the suppliers table, and any other a purchase order names): its recorded tier,
    months of cooperation at `last`, capacity; of the purchase orders due in [first, last]: on time (arrived by the
    due date), late, overdue (not arrived by the end of `last`), the on-time rate, received and defective units, the
    defect and fill rates; of those ordered in [first, last]: units, units per week, the biggest week, the capacity
    ratio and SKUs. An arrival recorded after `last` is not known at `last`."""
    src.check("suppliers")
    src.check("purchase_orders")
    weeks = ((last - first).days + 1) / 7
    df = src.sql("""
        WITH po AS (SELECT *, coalesce(received_date <= $last::DATE, false) AS arrived FROM purchase_orders),
        due AS (SELECT supplier_id, count(*) AS due_orders,
                       count(*) FILTER (WHERE arrived AND received_date <= due_date) AS on_time_orders,
                       count(*) FILTER (WHERE arrived AND received_date > due_date) AS late_orders,
                       count(*) FILTER (WHERE NOT arrived) AS overdue_orders,
                       CAST(sum(received_qty) FILTER (WHERE arrived) AS BIGINT) AS received_qty,
                       CAST(sum(defect_qty) FILTER (WHERE arrived) AS BIGINT) AS defect_qty,
                       CAST(sum(least(received_qty, ordered_qty)) FILTER (WHERE arrived) AS BIGINT) AS filled_qty,
                       CAST(sum(ordered_qty) FILTER (WHERE arrived) AS BIGINT) AS arrived_ordered_qty
                FROM po WHERE due_date BETWEEN $first::DATE AND $last::DATE GROUP BY 1),
        placed AS (SELECT supplier_id, CAST(sum(ordered_qty) AS BIGINT) AS ordered_qty, count(DISTINCT sku) AS skus
                   FROM po WHERE order_date BETWEEN $first::DATE AND $last::DATE GROUP BY 1),
        weekly AS (SELECT supplier_id, max(q) AS peak_week_qty FROM (
                       SELECT supplier_id, date_trunc('week', order_date) AS w, CAST(sum(ordered_qty) AS BIGINT) AS q FROM po
                       WHERE order_date BETWEEN $first::DATE AND $last::DATE GROUP BY 1, 2) GROUP BY 1),
        ids AS (SELECT supplier_id FROM suppliers UNION SELECT DISTINCT supplier_id FROM purchase_orders)
        SELECT ids.supplier_id, s.name, s.tier AS current_tier, s.since, s.capacity_per_week,
               coalesce(due.due_orders, 0) AS due_orders, coalesce(due.on_time_orders, 0) AS on_time_orders,
               coalesce(due.late_orders, 0) AS late_orders, coalesce(due.overdue_orders, 0) AS overdue_orders,
               due.received_qty, due.defect_qty, due.filled_qty, due.arrived_ordered_qty,
               coalesce(placed.ordered_qty, 0) AS ordered_qty, weekly.peak_week_qty, coalesce(placed.skus, 0) AS skus,
               s.supplier_id IS NOT NULL AS listed
        FROM ids LEFT JOIN suppliers s USING (supplier_id) LEFT JOIN due USING (supplier_id)
        LEFT JOIN placed USING (supplier_id) LEFT JOIN weekly USING (supplier_id)
        ORDER BY ids.supplier_id""", {"first": first, "last": last})
    df["months"] = months_between(df["since"], last)
    df["on_time_rate"] = df["on_time_orders"] / df["due_orders"].where(df["due_orders"] > 0)
    df["defect_rate"] = df["defect_qty"] / df["received_qty"].where(df["received_qty"] > 0)
    df["fill_rate"] = df["filled_qty"] / df["arrived_ordered_qty"].where(df["arrived_ordered_qty"] > 0)
    df["ordered_per_week"] = (df["ordered_qty"] / weeks).round(1)
    df["capacity_ratio"] = (df["capacity_per_week"] / df["ordered_per_week"].where(df["ordered_per_week"] > 0)).round(2)
    for col in ("received_qty", "defect_qty", "peak_week_qty"):
        df[col] = df[col].astype("Int64")
    return df


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def grade(card: pd.DataFrame, lines: Lines) -> pd.DataFrame:
    """Each supplier's suggested tier and every reason for it: 待评估 with fewer than `min_orders` orders due;
    淘汰观察 under any 淘汰 line (each named); 核心 when every 核心 line is met (each listed); else 备选 with the
    核心 lines it misses; and how that compares with its recorded tier."""
    tiers, reasons = [], []
    for r in card.itertuples():
        if r.due_orders < lines.min_orders:
            tiers.append(PENDING)
            reasons.append(f"统计期内到期采购单 {r.due_orders} 张，少于 {lines.min_orders} 张，暂不评级")
            continue
        bad = []
        if pd.notna(r.on_time_rate) and r.on_time_rate < lines.drop_on_time:
            bad.append(f"准时交货率 {_pct(r.on_time_rate)} 低于 {_pct(lines.drop_on_time)}（{r.due_orders} 单中迟到 "
                       f"{r.late_orders} 单、逾期未到 {r.overdue_orders} 单）")
        if pd.notna(r.defect_rate) and r.defect_rate > lines.drop_defect_rate:
            bad.append(f"次品率 {_pct(r.defect_rate)} 高于 {_pct(lines.drop_defect_rate)}")
        if pd.notna(r.fill_rate) and r.fill_rate < lines.drop_fill_rate:
            bad.append(f"满足率 {_pct(r.fill_rate)} 低于 {_pct(lines.drop_fill_rate)}")
        if bad:
            tiers.append(WATCH)
            reasons.append("；".join(bad))
            continue
        checks = _core_checks(r, lines)
        missed = [text for ok, text in checks if not ok]
        tiers.append(BACKUP if missed else CORE)
        reasons.append("；".join(missed if missed else [text for _, text in checks]))
    out = card.assign(tier=tiers, reasons=reasons)
    out["change"] = [_change(cur, new) for cur, new in zip(out["current_tier"], out["tier"])]
    return out


def _core_checks(r, lines: Lines) -> list[tuple[bool, str]]:
    """(met?, reason) for each 核心 line."""
    def rate(value, line, higher_better, what):
        if pd.isna(value):
            return True, f"{what}：统计期内没有已到货的采购单，未评"
        ok = value >= line if higher_better else value <= line
        sign = ("≥" if ok else "<") if higher_better else ("≤" if ok else ">")
        return ok, f"{what} {_pct(value)} {sign} 核心线 {_pct(line)}"
    checks = [rate(r.on_time_rate, lines.core_on_time, True, "准时交货率"),
              rate(r.defect_rate, lines.core_defect_rate, False, "次品率"),
              rate(r.fill_rate, lines.core_fill_rate, True, "满足率")]
    if not r.listed or pd.isna(r.months):
        checks.append((False, "suppliers 表中没有该供应商：合作月数和周产能未知"))
        return checks
    ok = r.months >= lines.core_months
    checks.append((ok, f"合作 {r.months} 个月{'' if ok else f'，核心需满 {lines.core_months} 个月'}"))
    if pd.isna(r.capacity_ratio):
        checks.append((True, "统计期内没有新下单，产能未比较"))
    else:
        ok = r.capacity_ratio >= lines.core_capacity_ratio
        checks.append((ok, f"周产能 {r.capacity_per_week:,} 件为周均下单 {r.ordered_per_week:g} 件的 {r.capacity_ratio:g} 倍"
                           + ("" if ok else f"，核心需 {lines.core_capacity_ratio:g} 倍")))
    return checks


def _change(current, new: str) -> str:
    """升级 / 降级 / 不变 against the recorded tier; 新评级 without one; — when either is not a tier."""
    if new == PENDING:
        return "—"
    if current is None or pd.isna(current) or not str(current).strip():
        return "新评级"
    if current not in TIER_RANK:
        return "—"
    step = TIER_RANK[new] - TIER_RANK[current]
    return "不变" if step == 0 else "升级" if step < 0 else "降级"


def table(graded: pd.DataFrame) -> pd.DataFrame:
    """The 供应商分级 table: one row per supplier, 核心 first, then 备选, 淘汰观察 and 待评估."""
    order = {CORE: 0, BACKUP: 1, WATCH: 2, PENDING: 3}
    out = graded.assign(_o=graded["tier"].map(order)).sort_values(["_o", "supplier_id"], kind="stable")
    return out[["supplier_id", "name", "current_tier", "tier", "change", "on_time_rate", "defect_rate", "fill_rate",
                "months", "capacity_per_week", "ordered_per_week", "capacity_ratio", "due_orders", "late_orders",
                "overdue_orders", "received_qty", "defect_qty", "reasons"]].reset_index(drop=True)


def single_sourced(src: Source, last: dt.date, months: int, min_orders: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """SKUs whose purchase orders placed in the `months` months up to `last` all went to one supplier, with at least
    `min_orders` of them (one order says nothing about sourcing); and the SKUs with too few orders to tell."""
    src.check("purchase_orders")
    first = period(last, months)[0]
    products = catalogue.by_sku(src, "name, platform") if src.has("products") else \
        "(SELECT NULL::VARCHAR AS sku, NULL::VARCHAR AS name, NULL::VARCHAR AS platform WHERE false)"
    df = src.sql(f"""
        SELECT po.sku, any_value(p.name) AS product, any_value(p.platform) AS platform, count(*) AS orders,
               count(DISTINCT po.supplier_id) AS suppliers, min(po.supplier_id) AS supplier_id,
               CAST(sum(po.ordered_qty) AS BIGINT) AS ordered_qty, min(po.order_date) AS first_order,
               max(po.order_date) AS last_order
        FROM purchase_orders po LEFT JOIN {products} p USING (sku)
        WHERE po.order_date BETWEEN $first::DATE AND $last::DATE GROUP BY po.sku ORDER BY po.sku""",
                 {"first": first, "last": last})
    names = src.sql("SELECT supplier_id, name AS supplier_name FROM suppliers") if src.has("suppliers") else None
    one = df[df["suppliers"] == 1]
    single = one[one["orders"] >= min_orders]
    if names is not None:
        single = single.merge(names, on="supplier_id", how="left")
    else:
        single = single.assign(supplier_name=None)
    columns = ["sku", "product", "platform", "supplier_id", "supplier_name", "orders", "ordered_qty", "first_order",
               "last_order"]
    return single[columns].reset_index(drop=True), one[one["orders"] < min_orders][["sku", "product", "orders"]]


def single_note(single: pd.DataFrame, few: pd.DataFrame, months: int, min_orders: int) -> str:
    """What the single-source table holds and which SKUs had too few orders to judge."""
    text = (f"最近 {months} 个月的采购单（至少 {min_orders} 张）全部来自同一家供应商的商品：该供应商一旦断供即断货，"
            "建议开发备选供应商" if len(single) else f"没有单一来源商品（最近 {months} 个月至少 {min_orders} 张采购单且都来自同一家供应商）")
    if len(few):
        shown = "、".join(few["sku"].head(5)) + ("等" if len(few) > 5 else "")
        text += f"\n{len(few)} 个商品采购单不足 {min_orders} 张（{shown}），暂不判断是否单一来源"
    return text


def overdue(src: Source, last: dt.date) -> pd.DataFrame:
    """Purchase orders due on or before `last` and not arrived by its end (an arrival recorded later is not known at
    `last`), the longest overdue first."""
    src.check("purchase_orders")
    names = "(SELECT supplier_id, name FROM suppliers)" if src.has("suppliers") else \
        "(SELECT NULL::VARCHAR AS supplier_id, NULL::VARCHAR AS name WHERE false)"
    return src.sql(f"""
        SELECT po.po_id, po.supplier_id, s.name, po.sku, po.ordered_qty, po.order_date, po.due_date,
               datediff('day', po.due_date, $last::DATE) AS days_overdue
        FROM purchase_orders po LEFT JOIN {names} s USING (supplier_id)
        WHERE po.due_date <= $last::DATE AND po.order_date <= $last::DATE
          AND (po.received_date IS NULL OR po.received_date > $last::DATE)
        ORDER BY days_overdue DESC, po.po_id""", {"last": last})


def summary(graded: pd.DataFrame, single: pd.DataFrame, first: dt.date, last: dt.date) -> tuple[dict, dict[str, str]]:
    """Headline metrics (result.json) and cards: suppliers per tier, overall on-time, defect and fill rates."""
    due = graded["due_orders"].sum()
    received = graded["received_qty"].fillna(0).sum()
    ordered = graded["arrived_ordered_qty"].fillna(0).sum()
    tiers = {t: int((graded["tier"] == t).sum()) for t in (CORE, BACKUP, WATCH, PENDING)}
    metrics = {"first_day": first.isoformat(), "last_day": last.isoformat(), "suppliers": int(len(graded)),
               "tiers": tiers, "due_orders": int(due),
               "on_time_rate": round(float(graded["on_time_orders"].sum() / due), 6) if due else None,
               "defect_rate": round(float(graded["defect_qty"].fillna(0).sum() / received), 6) if received else None,
               "fill_rate": round(float(graded["filled_qty"].fillna(0).sum() / ordered), 6) if ordered else None,
               "single_sourced": int(len(single))}
    show = {k: "—" if metrics[k] is None else _pct(metrics[k]) for k in ("on_time_rate", "defect_rate", "fill_rate")}
    cards = {"统计期": f"{first} 至 {last}", "供应商": f"{len(graded)}",
             "核心 / 备选 / 淘汰观察 / 待评估": " / ".join(str(v) for v in tiers.values()),
             "整体准时交货率": show["on_time_rate"], "整体次品率": show["defect_rate"], "整体满足率": show["fill_rate"],
             "单一来源商品": f"{len(single)}"}
    return metrics, cards


def _names(rows: pd.DataFrame) -> str:
    return "、".join(f"{r.supplier_id}{'（' + r.name + '）' if isinstance(r.name, str) else ''}"
                    for r in rows.head(5).itertuples())


def findings(graded: pd.DataFrame, single: pd.DataFrame, late: pd.DataFrame, lines: Lines, *,
             sourcing_months: int) -> list[Flag]:
    """Flags for 采购: suppliers under a 淘汰 line (on time, defects, fill), ordered beyond capacity, SKUs with one
    supplier, orders past due, suppliers missing from the suppliers table."""
    rated = graded[graded["tier"] != PENDING]
    cols = ["supplier_id", "name", "current_tier", "tier", "on_time_rate", "defect_rate", "fill_rate", "reasons"]
    out = []
    slow = rated[rated["on_time_rate"] < lines.drop_on_time]
    if len(slow):
        out.append(make("supplier.on_time", "high", "采购",
                        f"{len(slow)} 家供应商准时交货率低于 {_pct(lines.drop_on_time)}：" + "、".join(
                            f"{r.supplier_id}（{r.name}）{_pct(r.on_time_rate)}" for r in slow.itertuples())
                        + "；请约谈并要求整改，同时把订单转向备选供应商", slow[cols]))
    poor = rated[rated["defect_rate"] > lines.drop_defect_rate]
    if len(poor):
        out.append(make("supplier.defects", "high", "采购",
                        f"{len(poor)} 家供应商次品率高于 {_pct(lines.drop_defect_rate)}：" + "、".join(
                            f"{r.supplier_id}（{r.name}）{_pct(r.defect_rate)}" for r in poor.itertuples())
                        + "；请加强来料检验、索赔并要求质量整改", poor[cols]))
    short = rated[rated["fill_rate"] < lines.drop_fill_rate]
    if len(short):
        out.append(make("supplier.fill", "medium", "采购",
                        f"{len(short)} 家供应商满足率低于 {_pct(lines.drop_fill_rate)}：" + "、".join(
                            f"{r.supplier_id} {_pct(r.fill_rate)}" for r in short.itertuples())
                        + "；请核实欠交原因并补足", short[cols]))
    over = graded[graded["capacity_ratio"] < 1]
    if len(over):
        out.append(make("supplier.capacity", "medium", "采购",
                        f"{len(over)} 家供应商统计期内周均下单超过周产能：" + "、".join(
                            f"{r.supplier_id} 周均 {r.ordered_per_week:g} 件 / 产能 {r.capacity_per_week:,} 件"
                            for r in over.itertuples()) + "；请分流到其他供应商或确认其扩产", over[cols + ["capacity_ratio"]]))
    if len(single):
        out.append(make("supplier.single_source", "medium", "采购",
                        f"{len(single)} 个商品最近 {sourcing_months} 个月只从一家供应商采购（" + "、".join(
                            f"{r.sku} ← {r.supplier_id}" for r in single.head(5).itertuples())
                        + "）：断供即断货，请开发备选供应商", single))
    if len(late):
        out.append(make("supplier.overdue", "medium", "采购",
                        f"{len(late)} 张采购单已过约定交期仍未到货（" + "、".join(
                            f"{r.po_id} {r.supplier_id} 逾期 {r.days_overdue} 天" for r in late.head(5).itertuples())
                        + "）：请催货并评估是否影响库存", late))
    unknown = graded[~graded["listed"]]
    if len(unknown):
        out.append(make("supplier.unlisted", "low", "采购",
                        f"{len(unknown)} 个供应商ID 出现在采购单中但不在 suppliers 表（{_names(unknown)}）："
                        "请补充供应商资料（合作日期、周产能）", unknown[["supplier_id", "due_orders", "ordered_qty"]]))
    return out


def on_time_chart(graded: pd.DataFrame, lines: Lines):
    """Bar chart of each rated supplier's on-time rate against the 核心 line, suppliers under the 淘汰 line in red."""
    rated = graded[graded["tier"] != PENDING].sort_values("on_time_rate", ascending=False)
    rated = rated.assign(under=rated["on_time_rate"] < lines.drop_on_time)
    return charts.bar(rated, "supplier_id", "on_time_rate", "各供应商准时交货率（红色：低于淘汰观察线）", pct=True,
                      hline=(lines.core_on_time, "核心线"), highlight="under")


def stale(src: Source, last: dt.date, quiet_days: int) -> list[Flag]:
    """A flag when no purchase order was placed or received in the `quiet_days` days up to `last`: the orders were
    probably not exported since, so orders open then would count as overdue and the weeks after hold no orders."""
    until = src.sql("SELECT max(greatest(order_date, coalesce(received_date, order_date))) FROM purchase_orders "
                    "WHERE order_date <= $last::DATE", {"last": last}).iloc[0, 0]
    if pd.notna(until) and (last - pd.Timestamp(until).date()).days < quiet_days:
        return []
    reach = f"采购单数据只到 {pd.Timestamp(until):%Y-%m-%d}" if pd.notna(until) else "参考日期前没有任何采购单"
    return [make("supplier.stale", "high", "数据分析",
                 f"{reach}，参考日期是 {last}（{quiet_days} 天以上没有下单或到货记录）：之后到期的采购单会被当作逾期未到、"
                 "之后的周没有下单；请先导入最新的采购单再看分级")]
