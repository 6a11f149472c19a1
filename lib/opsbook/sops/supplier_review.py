"""Supplier review (供应商分级): per supplier over a period — on-time delivery, defect and fill rates, months of
cooperation, capacity against what is ordered — graded 核心 / 备选 / 淘汰观察 with every reason; SKUs bought from
a single supplier; purchase orders past their due date."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from types import SimpleNamespace

import pandas as pd

from .. import charts, spec
from ..errors import ParamError
from ..flags import Flag, make
from ..sources import Source
from . import catalogue

# Chinese labels of the headline metrics in result.json (what delivered report cards show), with their number
# format (`report.FORMATS`) where the name alone would not tell it
METRICS = {"first_day": "统计开始", "last_day": "统计截至", "suppliers": "供应商数", "tiers": "分级",
           "due_orders": "到期采购单", "on_time_rate": "准时交货率", "defect_rate": "次品率", "fill_rate": "满足率",
           "single_sourced": "单一来源商品（按商品名，多平台算一个）", "single_sourced_skus": "单一来源 SKU"}

LABELS = {
    "supplier_id": "供应商ID", "name": "供应商名称", "current_tier": "当前等级", "tier": "建议等级", "change": "变化",
    "move": "当前等级 → 建议等级", "reasons": "原因", "months": "合作月数", "capacity_per_week": "周产能",
    "due_orders": "到期采购单", "on_time_orders": "准时到货", "late_orders": "迟到到货", "overdue_orders": "逾期未到",
    "on_time_rate": "准时交货率（分级依据）", "otif_orders": "准时足量到货", "otif_rate": "准时足量率 OTIF（参考，不用于分级）",
    "received_qty": "实收数量", "defect_qty": "次品数量", "defect_rate": "次品率",
    "fill_rate": "满足率", "ordered_qty": "下单数量", "ordered_per_week": "周均下单", "peak_week_qty": "单周最高下单",
    "capacity_ratio": "产能倍数", "skus": "采购 SKU 数", "sku": "商家编码", "product": "商品名称",
    "supplier_name": "供应商名称", "orders": "采购单数", "first_order": "首次下单", "last_order": "最近下单",
    "po_id": "采购单号", "order_date": "下单日期", "due_date": "约定交期", "days_overdue": "逾期天数",
    "tier_count": "供应商数",
}
CORE, BACKUP, WATCH, PENDING = "核心", "备选", "淘汰观察", "待评估"
TIER_RANK = {CORE: 0, BACKUP: 1, WATCH: 2}
DEFINITIONS = ("准时交货率（分级依据，即种子文档的准时交付率）= 统计期内到期的采购单中按约定交期（含当天）到货的比例，过了交期仍未到货的算迟到；"
               "准时足量率 OTIF = 其中既按期到货、实收数量又不少于采购数量的比例（只作参考：是否交足由满足率单独分级）；"
               "次品率 = 次品数量 ÷ 实收数量；满足率 = Σ min(实收, 采购) ÷ Σ 采购（只计已到货的单，超量交货按 100% 计）；"
               "周均下单 = 统计期内下单的采购数量 ÷ 统计期周数；产能倍数 = 周产能 ÷ 周均下单；合作月数算到参考日期；"
               "只评约定交期不晚于数据截至日的采购单（数据截至日之后到期的，数据里还看不出是否按期到货）")


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

    @classmethod
    def of(cls, p) -> Lines:
        """The lines from parameters by name (`run.p`, or `criteria()`)."""
        return cls(p.min_orders, p.core_on_time, p.core_defect_rate, p.core_fill_rate, p.core_months,
                   p.core_capacity_ratio, p.drop_on_time, p.drop_defect_rate, p.drop_fill_rate)


def criteria() -> SimpleNamespace:
    """This playbook's parameters as its notebook declares them (the defaults, validated): the criteria other
    playbooks grade a supplier by (period, lines, staleness line), written down in one place."""
    return SimpleNamespace(**spec.load("supplier_review").validate({}))


def period(as_of: dt.date, months: int) -> tuple[dt.date, dt.date]:
    """The `months` months ending with `as_of` (first day, last day): a quarter-end gives that whole quarter."""
    first = (pd.Timestamp(as_of) + pd.Timedelta(days=1) - pd.DateOffset(months=months)).date()
    return first, as_of


def months_between(since: pd.Series, day: dt.date) -> pd.Series:
    """Whole months from each `since` to `day` (0 for a start after `day`; missing stays missing)."""
    s = pd.to_datetime(since)
    months = (day.year - s.dt.year) * 12 + (day.month - s.dt.month) - (s.dt.day > day.day).astype("Int64")
    return months.clip(lower=0).astype("Int64")


@dataclass(frozen=True)
class Coverage:
    """How far the purchase orders are known on the reference day `last`.

    An order is late only if the data shows it had not arrived by its due date, and the data shows that only for the
    days it covers. The purchase-order list has a rhythm of its own (orders placed, goods received): `last_record`
    is its latest day with an order placed or received by `last`, `longest_gap` the longest silence between two such
    days in the period (from the record day before it). A silence up to `last` shorter than that gap, and shorter
    than `quiet_days` (the staleness line), is a quiet spell: the data is known to `last`. A longer one means the
    list was not exported since: the data is known only to `last_record`, and orders due after it are not judged."""

    first: dt.date
    last: dt.date
    last_record: dt.date | None
    longest_gap: int | None
    quiet_days: int

    @property
    def silence(self) -> int | None:
        """Days from the last record to the reference day (None without any record)."""
        return None if self.last_record is None else (self.last - self.last_record).days

    @property
    def known(self) -> dt.date | None:
        """The last day the purchase orders are known to: lateness is judged up to it (None: no record at all)."""
        if self.last_record is None:
            return None
        quiet = self.silence < self.quiet_days and self.longest_gap is not None and self.silence < self.longest_gap
        return self.last if self.silence == 0 or quiet else self.last_record

    @property
    def judged_until(self) -> dt.date:
        """The last due date judged: `known` (a day before any order when nothing is known)."""
        return self.known or dt.date.min

    @property
    def weeks(self) -> float | None:
        """Weeks of the period the orders are known for (None when none of it is)."""
        days = (self.judged_until - self.first).days + 1 if self.known else 0
        return days / 7 if days > 0 else None

    def note(self) -> str:
        """Where the evaluation is known to, in Chinese (数据截至 …) with why, for the report."""
        if self.known is None:
            return f"数据截至：参考日期 {self.last} 前没有任何下单或到货记录，无法评价交货"
        if self.known == self.last:
            return (f"数据截至 {self.last}：最后一条下单或到货记录在 {self.last_record}"
                    + (f"，此前记录最长间隔 {self.longest_gap} 天，之后的 {self.silence} 天属于正常间隔"
                       if self.silence else ""))
        rhythm = (f"此前下单或到货记录最长间隔 {self.longest_gap} 天" if self.longest_gap is not None
                  else "此前记录太少、看不出节奏")
        return (f"数据截至 {self.known}：采购单的最后一条下单或到货记录在 {self.known}，{rhythm}，到参考日期 {self.last} "
                f"已 {self.silence} 天没有记录，多半是之后的采购单还没导入；交货只评到 {self.known}，"
                f"约定交期在 {self.known} 之后的采购单不算迟到、不计入准时率")


def coverage(src: Source, first: dt.date, last: dt.date, quiet_days: int) -> Coverage:
    """The coverage of the purchase orders on `last` (see `Coverage`): record days are the days an order was placed
    or received, up to `last` (a later one is not known then)."""
    src.check("purchase_orders")
    days = src.sql("""
        WITH d AS (SELECT order_date AS day FROM purchase_orders WHERE order_date <= $last::DATE
                   UNION SELECT received_date FROM purchase_orders WHERE received_date <= $last::DATE)
        SELECT day FROM d WHERE day >= coalesce((SELECT max(day) FROM d WHERE day < $first::DATE), $first::DATE)
        ORDER BY day""", {"first": first, "last": last})["day"]
    days = pd.to_datetime(days)
    if days.empty:
        before = src.sql("SELECT max(greatest(order_date, coalesce(received_date, order_date))) AS d "
                         "FROM purchase_orders WHERE order_date <= $last::DATE", {"last": last})["d"]
        record = pd.Timestamp(before.iloc[0]).date() if before.notna().iloc[0] else None
        return Coverage(first, last, record, None, quiet_days)
    gaps = days.diff().dt.days.dropna()
    return Coverage(first, last, days.iloc[-1].date(), int(gaps.max()) if len(gaps) else None, quiet_days)


def scorecard(src: Source, first: dt.date, last: dt.date, known: Coverage) -> pd.DataFrame:
    """One row per supplier (of the suppliers table, and any other a purchase order names): its recorded tier,
    months of cooperation at `last`, capacity; of the purchase orders due in [first, last] and on a day the data
    covers (`known`): on time (arrived by the due date), late, overdue (not arrived by the last known day), the
    on-time rate, on time and in full (OTIF), received and defective units, the defect and fill rates; of those
    ordered in the period: units, units per week over the weeks known, the biggest week, the capacity ratio and SKUs;
    the orders due after the last known day, or on it and not in yet (not judged: not late by a day yet). An arrival recorded after `last` is not known at `last`."""
    src.check("suppliers")
    src.check("purchase_orders")
    until = min(last, known.judged_until)
    df = src.sql("""
        WITH po AS (SELECT *, coalesce(received_date <= $until::DATE, false) AS arrived FROM purchase_orders),
        due AS (SELECT supplier_id, count(*) AS due_orders,
                       count(*) FILTER (WHERE arrived AND received_date <= due_date) AS on_time_orders,
                       count(*) FILTER (WHERE arrived AND received_date <= due_date AND received_qty >= ordered_qty)
                           AS otif_orders,
                       count(*) FILTER (WHERE arrived AND received_date > due_date) AS late_orders,
                       count(*) FILTER (WHERE NOT arrived) AS overdue_orders,
                       CAST(sum(received_qty) FILTER (WHERE arrived) AS BIGINT) AS received_qty,
                       CAST(sum(defect_qty) FILTER (WHERE arrived) AS BIGINT) AS defect_qty,
                       CAST(sum(least(received_qty, ordered_qty)) FILTER (WHERE arrived) AS BIGINT) AS filled_qty,
                       CAST(sum(ordered_qty) FILTER (WHERE arrived) AS BIGINT) AS arrived_ordered_qty
                FROM po WHERE due_date BETWEEN $first::DATE AND $until::DATE AND (arrived OR due_date < $until::DATE)
                GROUP BY 1),
        unjudged AS (SELECT supplier_id, count(*) AS unjudged_orders FROM po
                     WHERE (due_date > $until::DATE OR (due_date = $until::DATE AND NOT arrived))
                       AND due_date BETWEEN $first::DATE AND $last::DATE
                       AND order_date <= $last::DATE GROUP BY 1),
        placed AS (SELECT supplier_id, CAST(sum(ordered_qty) AS BIGINT) AS ordered_qty, count(DISTINCT sku) AS skus
                   FROM po WHERE order_date BETWEEN $first::DATE AND $until::DATE GROUP BY 1),
        weekly AS (SELECT supplier_id, max(q) AS peak_week_qty FROM (
                       SELECT supplier_id, date_trunc('week', order_date) AS w, CAST(sum(ordered_qty) AS BIGINT) AS q FROM po
                       WHERE order_date BETWEEN $first::DATE AND $until::DATE GROUP BY 1, 2) GROUP BY 1),
        ids AS (SELECT supplier_id FROM suppliers UNION SELECT DISTINCT supplier_id FROM purchase_orders)
        SELECT ids.supplier_id, s.name, s.tier AS current_tier, s.since, s.capacity_per_week,
               coalesce(due.due_orders, 0) AS due_orders, coalesce(due.on_time_orders, 0) AS on_time_orders,
               coalesce(due.otif_orders, 0) AS otif_orders,
               coalesce(due.late_orders, 0) AS late_orders, coalesce(due.overdue_orders, 0) AS overdue_orders,
               due.received_qty, due.defect_qty, due.filled_qty, due.arrived_ordered_qty,
               coalesce(placed.ordered_qty, 0) AS ordered_qty, weekly.peak_week_qty, coalesce(placed.skus, 0) AS skus,
               coalesce(unjudged.unjudged_orders, 0) AS unjudged_orders, s.supplier_id IS NOT NULL AS listed
        FROM ids LEFT JOIN suppliers s USING (supplier_id) LEFT JOIN due USING (supplier_id)
        LEFT JOIN placed USING (supplier_id) LEFT JOIN weekly USING (supplier_id) LEFT JOIN unjudged USING (supplier_id)
        ORDER BY ids.supplier_id""", {"first": first, "last": last, "until": until})
    weeks = known.weeks
    df["months"] = months_between(df["since"], last)
    df["on_time_rate"] = df["on_time_orders"] / df["due_orders"].where(df["due_orders"] > 0)
    df["otif_rate"] = df["otif_orders"] / df["due_orders"].where(df["due_orders"] > 0)
    df["defect_rate"] = df["defect_qty"] / df["received_qty"].where(df["received_qty"] > 0)
    df["fill_rate"] = df["filled_qty"] / df["arrived_ordered_qty"].where(df["arrived_ordered_qty"] > 0)
    df["ordered_per_week"] = (df["ordered_qty"] / (weeks or float("nan"))).round(1)
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
            later = f"（另有 {r.unjudged_orders} 张在数据截至日当天或之后到期、还看不出是否按期，未评）" if r.unjudged_orders else ""
            reasons.append(f"统计期内到期采购单 {r.due_orders} 张{later}，少于 {lines.min_orders} 张，暂不评级")
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
    out["move"] = [f"{_recorded(cur)} → {new}" for cur, new in zip(out["current_tier"], out["tier"])]
    return out


def _recorded(current) -> str:
    """The recorded tier as shown: 未评级 when there is none."""
    return "未评级" if current is None or pd.isna(current) or not str(current).strip() else str(current)


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


def review(src: Source, as_of: dt.date) -> tuple[pd.DataFrame, Coverage]:
    """Every supplier graded at `as_of` by this playbook's own criteria (`criteria()`: its default period, lines
    and staleness line), and how far the purchase orders are known: what another playbook asks of a supplier."""
    p = criteria()
    first, last = period(as_of, p.period_months)
    known = coverage(src, first, last, p.quiet_days)
    return grade(scorecard(src, first, last, known), Lines.of(p)), known


def table(graded: pd.DataFrame) -> pd.DataFrame:
    """The 供应商分级 table: one row per supplier, 核心 first, then 备选, 淘汰观察 and 待评估."""
    order = {CORE: 0, BACKUP: 1, WATCH: 2, PENDING: 3}
    out = graded.assign(_o=graded["tier"].map(order)).sort_values(["_o", "supplier_id"], kind="stable")
    return out[["supplier_id", "name", "tier", "move", "change", "on_time_rate", "otif_rate", "defect_rate",
                "fill_rate", "months", "capacity_per_week", "ordered_per_week", "capacity_ratio", "due_orders",
                "late_orders", "overdue_orders", "received_qty", "defect_qty", "reasons"]].reset_index(drop=True)


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


def single_products(single: pd.DataFrame) -> pd.DataFrame:
    """The single-sourced SKUs as products (by name, else the SKU) with their supplier and platforms: one product
    listed on four platforms is one product to find a second supplier for."""
    product = single["product"].fillna(single["sku"])
    return (single.assign(product=product).groupby(["product", "supplier_id"], sort=False)
            .agg(platforms=("platform", lambda p: "、".join(sorted(p.dropna().unique())) or "平台未知"),
                 skus=("sku", "size")).reset_index())


def single_note(single: pd.DataFrame, few: pd.DataFrame, months: int, min_orders: int) -> str:
    """What the single-source table holds and which SKUs had too few orders to judge."""
    text = (f"最近 {months} 个月的采购单（至少 {min_orders} 张）全部来自同一家供应商的商品：该供应商一旦断供即断货，"
            "建议开发备选供应商" if len(single) else f"没有单一来源商品（最近 {months} 个月至少 {min_orders} 张采购单且都来自同一家供应商）")
    if len(few):
        shown = "、".join(few["sku"].head(5)) + ("等" if len(few) > 5 else "")
        text += f"\n{len(few)} 个商品采购单不足 {min_orders} 张（{shown}），暂不判断是否单一来源"
    return text


def overdue(src: Source, known: Coverage) -> pd.DataFrame:
    """Purchase orders due on or before the last day the data covers (`known`: the reference day, unless the data
    stops earlier) and not arrived by its end (an arrival recorded later is not known then), the longest overdue
    first; days overdue are counted to that day, at least 1 (an order due on that day is not late yet)."""
    src.check("purchase_orders")
    names = "(SELECT supplier_id, name FROM suppliers)" if src.has("suppliers") else \
        "(SELECT NULL::VARCHAR AS supplier_id, NULL::VARCHAR AS name WHERE false)"
    until = min(known.last, known.judged_until)
    return src.sql(f"""
        SELECT po.po_id, po.supplier_id, s.name, po.sku, po.ordered_qty, po.order_date, po.due_date,
               datediff('day', po.due_date, $until::DATE) AS days_overdue
        FROM purchase_orders po LEFT JOIN {names} s USING (supplier_id)
        WHERE po.due_date < $until::DATE AND po.order_date <= $until::DATE
          AND (po.received_date IS NULL OR po.received_date > $until::DATE)
        ORDER BY days_overdue DESC, po.po_id""", {"until": until})


def overdue_note(late: pd.DataFrame, known: Coverage) -> str:
    """What the overdue table holds, and to which day (数据截至) it is known."""
    until = "参考日期" if known.known == known.last else f"数据截至日 {known.known}"
    if known.known is None:
        return "参考日期前没有任何采购单记录"
    return (f"截至{until}已过约定交期仍未到货的采购单，逾期天数算到 {known.known}" if len(late)
            else f"截至{until}没有逾期未到货的采购单")


def summary(graded: pd.DataFrame, single: pd.DataFrame, known: Coverage) -> tuple[dict, dict[str, str]]:
    """Headline metrics (result.json) and cards: the period and the day the data is known to (数据截至), suppliers
    per tier, overall on-time, OTIF, defect and fill rates."""
    due = graded["due_orders"].sum()
    received = graded["received_qty"].fillna(0).sum()
    ordered = graded["arrived_ordered_qty"].fillna(0).sum()
    tiers = {t: int((graded["tier"] == t).sum()) for t in (CORE, BACKUP, WATCH, PENDING)}
    metrics = {"first_day": known.first.isoformat(), "last_day": known.last.isoformat(),
               "known_until": known.known.isoformat() if known.known else None, "suppliers": int(len(graded)),
               "tiers": tiers, "due_orders": int(due), "unjudged_orders": int(graded["unjudged_orders"].sum()),
               "on_time_rate": round(float(graded["on_time_orders"].sum() / due), 6) if due else None,
               "otif_rate": round(float(graded["otif_orders"].sum() / due), 6) if due else None,
               "defect_rate": round(float(graded["defect_qty"].fillna(0).sum() / received), 6) if received else None,
               "fill_rate": round(float(graded["filled_qty"].fillna(0).sum() / ordered), 6) if ordered else None,
               "single_sourced": int(len(single_products(single))) if len(single) else 0,
               "single_sourced_skus": int(len(single))}
    show = {k: "—" if metrics[k] is None else _pct(metrics[k])
            for k in ("on_time_rate", "otif_rate", "defect_rate", "fill_rate")}
    cards = {"统计期": f"{known.first} 至 {known.last}", "数据截至": f"{known.known or '无记录'}",
             "供应商": f"{len(graded)}", "核心 / 备选 / 淘汰观察 / 待评估": " / ".join(str(v) for v in tiers.values()),
             "整体准时交货率（分级依据）": show["on_time_rate"], "整体准时足量率 OTIF": show["otif_rate"],
             "整体次品率": show["defect_rate"], "整体满足率": show["fill_rate"], "单一来源商品": f"{len(single_products(single)) if len(single) else 0}（{len(single)} 个 SKU）"}
    return metrics, cards


def table_note(known: Coverage, graded: pd.DataFrame) -> str:
    """The definitions under the 供应商分级 table, with the day the data is known to and the orders not judged."""
    later = int(graded["unjudged_orders"].sum())
    skipped = (f"\n{later} 张采购单的约定交期在 {known.known} 当天或之后（参考日期 {known.last} 之前）且当天未见到货，"
               "数据还看不出是否按期到货，未评" if later and known.known else "")
    return f"{known.note()}{skipped}\n{DEFINITIONS}"


def tier_changes(graded: pd.DataFrame) -> list[Flag]:
    """Flags for 采购 where the suggested tier differs from the one recorded in the suppliers table: medium for a
    核心 supplier suggested lower, low for any other step up or down (each with the supplier and both tiers)."""
    moved = graded[graded["change"].isin(["升级", "降级"])]
    cols = ["supplier_id", "name", "current_tier", "tier", "move", "reasons"]
    down = moved["change"].eq("降级") & moved["current_tier"].eq(CORE)
    out = []
    for rows, code, severity, what in ((moved[down], "supplier.core_downgrade", "medium", "核心供应商建议降级"),
                                       (moved[~down], "supplier.tier_change", "low", "供应商建议调整等级")):
        if len(rows):
            out.append(make(code, severity, "采购", f"{len(rows)} 家{what}：" + "、".join(
                f"{r.supplier_id}（{r.name}）{r.current_tier} → {r.tier}" for r in rows.itertuples())
                + "；请复核原因后在供应商名录中更新等级" + ("，并为其核心品类安排备选供应商" if code == "supplier.core_downgrade" else ""),
                rows[cols]))
    return out


def _names(rows: pd.DataFrame) -> str:
    return "、".join(f"{r.supplier_id}{'（' + r.name + '）' if isinstance(r.name, str) else ''}"
                    for r in rows.head(5).itertuples())


def findings(graded: pd.DataFrame, single: pd.DataFrame, late: pd.DataFrame, lines: Lines, *,
             sourcing_months: int) -> list[Flag]:
    """Flags for 采购: suppliers under a 淘汰 line (on time, defects, fill), ordered beyond capacity, SKUs with one
    supplier, orders past due, suggested tiers other than the recorded ones, suppliers missing from the suppliers
    table."""
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
        goods = single_products(single)
        platforms = "、".join(sorted(single["platform"].dropna().unique()))
        out.append(make("supplier.single_source", "medium", "采购",
                        f"{len(goods)} 个商品（{len(single)} 个 SKU：{platforms}）最近 {sourcing_months} 个月只从一家供应商采购（"
                        + "、".join(f"{r.product} ← {r.supplier_id}（{r.platforms}）" for r in goods.head(5).itertuples())
                        + "）：断供即断货，请开发备选供应商", single))
    if len(late):
        out.append(make("supplier.overdue", "medium", "采购",
                        f"{len(late)} 张采购单已过约定交期仍未到货（" + "、".join(
                            f"{r.po_id} {r.supplier_id} 逾期 {r.days_overdue} 天" for r in late.head(5).itertuples())
                        + "）：请催货并评估是否影响库存", late))
    out += tier_changes(graded)
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


def stale(known: Coverage) -> list[Flag]:
    """A flag when no purchase order was placed or received in the `quiet_days` days up to the reference day (high:
    the orders were probably not exported since), or when the silence is shorter but longer than the data's own
    rhythm (low): either way lateness is judged only to the last record, and the report says so."""
    if known.known == known.last:
        return []
    reach = f"采购单数据只到 {known.last_record}" if known.last_record else "参考日期前没有任何采购单"
    later = "之后到期的采购单不算逾期、不计入准时率，之后的周没有下单"
    if known.silence is None or known.silence >= known.quiet_days:
        return [make("supplier.stale", "high", "数据分析",
                     f"{reach}，参考日期是 {known.last}（{known.quiet_days} 天以上没有下单或到货记录）：交货只评到 "
                     f"{known.known or '—'}，{later}；请先导入最新的采购单再看分级")]
    return [make("supplier.data_end", "low", "数据分析",
                 f"{reach}，参考日期是 {known.last}：此前下单或到货记录最长间隔 {known.longest_gap or '—'} 天，"
                 f"已 {known.silence} 天没有记录，可能还没导入最新的采购单；交货只评到 {known.known}，{later}。"
                 "导入最新的采购单后重新运行即可评到参考日期")]
