"""Product evaluation (选品评估): each candidate scored 1–5 on market demand, margin and supply stability (weighted, out
of 15), checked against the gates of seed 003 (gross margin above 30 %, search growth above 5 %) and the qualifications a
sensitive category needs, and given a recommendation — 引入, 小批量试销 or 放弃 — with every reason.

Supply stability, as a documented rule: a supplier of at least `supply_5_months` months of cooperation scores 5, of at
least `supply_4_months` 4. A supplier of fewer months (0: not in the supplier list yet; 1–5 months by default) has no
track record to judge its supply by, so it counts as new: 3 with its qualifications complete (quality reports, and the
licences a sensitive category needs), 1 without. This follows the seed's 商品评估表 (新供应商 → 3) and leaves no months
unscored; the sample's XP-13 (a supplier of 4 months) is such a case.

A candidate naming a supplier of the source's `suppliers` table is scored by the record, not by what was typed: its
months of cooperation run from the supplier's `since` to the evaluation day (a typed number that disagrees is said and
set aside), and a supplier the supplier review (`sops.supplier_review`, by its own default criteria) would put on
淘汰观察 — late deliveries, defects, short deliveries in its purchase orders — caps the supply score, with its reasons.

Candidates come from the source's `candidates` table, or from a sheet uploaded for the run (the same columns, headers in
English or as the table's Chinese labels), checked row by row like the table.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import report, sources
from ..data import sheets
from ..errors import DataError, ParamError
from ..flags import Flag, make
from . import compliance, supplier_review

# Chinese labels of the headline metrics in result.json (what delivered report cards show), with their number
# format (`report.FORMATS`) where the name alone would not tell it
METRICS = {"candidates": "候选数", "adopt": "建议引入", "trial": "小批量试销", "drop": "放弃"}

LABELS = {
    "candidate_id": "候选ID", "demand_score": "市场需求", "profit_score": "利润空间", "supply_score": "供货稳定性",
    "total": "总分", "recommendation": "建议", "reasons": "原因", "monthly_search": "月搜索量",
    "growth_rate": "搜索指数环比增长", "gross_margin": "毛利率", "cost": "成本价", "price": "预计售价",
    "supplier_id": "供应商ID", "supplier_months": "填写的合作月数", "record_months": "名录合作月数",
    "supplier_tier": "供应商分级建议", "recorded_tier": "当前登记分级", "qualified": "资质齐全", "sensitive": "敏感类目", "candidates": "候选数",
}
ADOPT, TRIAL, DROP = "引入", "小批量试销", "放弃"
ORDER = {ADOPT: 0, TRIAL: 1, DROP: 2}
TABLE_COLUMNS = ["candidate_id", "name", "demand_score", "profit_score", "supply_score", "total", "recommendation",
                 "reasons"]


@dataclass(frozen=True)
class Rules:
    """The scoring bands, weights, gates and recommendation lines (all parameters)."""

    demand: tuple[int, int, int, int]      # monthly searches for 5, 4, 3, 2 points
    margin: tuple[float, float, float, float]  # gross margins for 5, 4, 3, 2 points
    supply_months: tuple[int, int]         # months of cooperation for 5, 4 points
    weights: tuple[float, float, float]    # demand, margin, supply
    gate_margin: float
    gate_growth: float
    adopt: float
    trial: float
    growth_check: float = 1.0  # a growth above this is asked about (5 typed for 5 % reads as +500 %; above 10 refused)
    watch_cap: int = 2  # the most a supplier on 淘汰观察 (by the supplier review's criteria) scores for supply


def rules(p) -> Rules:
    """The rules from the parameters; ParamError (Chinese) for bands out of order, all weights 0, or the trial line
    above the one to introduce."""
    r = Rules((p.demand_5, p.demand_4, p.demand_3, p.demand_2), (p.margin_5, p.margin_4, p.margin_3, p.margin_2),
              (p.supply_5_months, p.supply_4_months), (p.weight_demand, p.weight_margin, p.weight_supply),
              p.gate_margin, p.gate_growth, p.adopt_score, p.trial_score, p.growth_check, p.supply_watch_cap)
    problems = []
    for name, label, bands in (("demand", "需求分档（月搜索量）", r.demand), ("margin", "利润分档（毛利率）", r.margin),
                               ("supply", "供货分档（合作月数）", r.supply_months)):
        if any(a <= b for a, b in zip(bands, bands[1:])):
            shown = " > ".join(f"{v:g}" for v in bands)
            problems.append(f"{label}应从高分到低分依次变小（{name}_5 > {name}_4 …），收到 {shown}")
    if not sum(r.weights) > 0:
        problems.append("三个权重（weight_demand、weight_margin、weight_supply）不能都为 0")
    if r.trial > r.adopt:
        problems.append(f"试销分数线 trial_score（{r.trial:g}）不能高于引入分数线 adopt_score（{r.adopt:g}）")
    if problems:
        raise ParamError(problems, headline="选品评估的参数有误，未执行")
    return r


def candidates(source: str, upload: str) -> tuple[pd.DataFrame, str]:
    """(the candidates, where they come from): the uploaded sheet if there is one (the source is then not opened),
    else the source's `candidates` table."""
    if upload:
        return sheets.read_sheet(upload, "candidates"), f"上传的候选清单 {upload.rsplit('/', 1)[-1]}"
    src = sources.open_source(source)
    if not src.has("candidates"):
        raise DataError(f"数据源 {source} 中没有 candidates（选品候选）表：请在“候选清单文件”中上传候选清单"
                        "（xlsx/csv，列为 候选ID、商品名称、类目、月搜索量、搜索指数环比增长、成本价、预计售价、合作月数、资质齐全），"
                        "或把 candidates.parquet / candidates.csv 放进数据目录")
    return src.table("candidates"), f"数据源 {source} 的 candidates 表"


def supplier_records(source: str, cands: pd.DataFrame, as_of: dt.date) -> tuple[pd.DataFrame | None, str]:
    """The record of every supplier of the source's `suppliers` table, for the candidates naming one: months of
    cooperation at `as_of` and the tier the supplier review suggests by its own criteria (with its reasons, period and
    the day its purchase orders are known to); and a note for the report. (None, why) when no candidate names a
    supplier (the source is then not opened), or the source or its suppliers table cannot be read."""
    named = cands.get("supplier_id", pd.Series(dtype="str")).dropna().astype("str").str.strip()
    if not (named != "").any():
        return None, ""
    try:
        src = sources.open_source(source)
        listed = src.has("suppliers")
    except DataError as exc:
        return None, f"数据源 {source} 无法读取（{exc.problems[0] if exc.problems else exc.message}），候选的供应商记录未核对"
    if not listed:
        return None, f"数据源 {source} 中没有 suppliers（供应商名录）表，候选的供应商记录未核对"
    if not src.has("purchase_orders"):
        records = src.table("suppliers")
        records = records.assign(current_tier=records["tier"], tier=None, reasons=None)
        records["months"] = supplier_review.months_between(records["since"], as_of)
        return records.assign(review=""), (f"数据源 {source} 中没有 purchase_orders（采购单）表：合作月数按供应商名录计，"
                                           "交货表现未评")
    graded, known = supplier_review.review(src, as_of)
    review = f"供应商分级（{known.first} 至 {known.last}，数据截至 {known.known or '无记录'}）"
    records = graded[graded["listed"]].assign(review=review)
    return records, f"候选的供应商按数据源 {source} 的供应商名录和采购单核对：合作月数算到 {as_of}，交货表现按{review}的标准"


def _band(values: np.ndarray, bands) -> np.ndarray:
    """5 at or above the first band, 4 at or above the second … 1 below the last (NaN: 1)."""
    return np.select([values >= b for b in bands], [5, 4, 3, 2], default=1)


def with_records(cands: pd.DataFrame, records: pd.DataFrame | None) -> pd.DataFrame:
    """The candidates with their supplier's record beside what was typed: `record_months`, `since`, `supplier_tier`
    (the supplier review's suggestion), `recorded_tier` (the suppliers table's, 未评级 when blank), `tier_reasons`, `review` (its period) and `unlisted` (a supplier id the
    supplier table does not have; False where no record was read)."""
    out = cands.copy()
    given = out.get("supplier_id", pd.Series(None, index=out.index, dtype="str"))
    ids = given.astype("str").str.strip().where(given.notna())
    if records is None:
        return out.assign(record_months=pd.array([pd.NA] * len(out), dtype="Int64"), since=pd.NaT, supplier_tier=None,
                          recorded_tier=None, tier_reasons=None, review="", unlisted=False)
    rec = records.set_index("supplier_id")
    out["record_months"] = ids.map(rec["months"]).astype("Int64")
    out["since"] = ids.map(rec["since"])
    out["supplier_tier"] = ids.map(rec["tier"])
    out["recorded_tier"] = ids.map(rec["current_tier"].map(supplier_review._recorded)).where(ids.isin(rec.index))
    out["tier_reasons"] = ids.map(rec["reasons"])
    out["review"] = ids.map(rec["review"]).fillna("")
    out["unlisted"] = (ids.notna() & (ids != "") & ~ids.isin(rec.index)).to_numpy(dtype=bool)
    return out


def score(cands: pd.DataFrame, r: Rules, records: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every candidate with its inputs, three scores, weighted total (of 15), gates, listability, recommendation and
    reasons (one row per candidate, 引入 first, then 小批量试销, then 放弃; higher totals first). A candidate whose
    supplier has a record (`supplier_records`) is scored by it: the record's months, and a supply score capped at
    `watch_cap` for a supplier on 淘汰观察."""
    out = with_records(cands.reset_index(drop=True), records)
    search = out["monthly_search"].astype("float64").to_numpy()
    price, cost = out["price"].astype("float64").to_numpy(), out["cost"].astype("float64").to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        margin = np.where(price > 0, np.round((price - cost) / price, 6), np.nan)
    growth = out["search_growth"].astype("float64").to_numpy()
    months = out["record_months"].astype("float64").fillna(out["supplier_months"].astype("float64")).to_numpy()
    qualified = out["has_qualification"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    out["monthly_search"] = search
    out["gross_margin"], out["growth_rate"], out["qualified"] = margin, growth, qualified
    out["demand_score"] = _band(search, r.demand)
    out["profit_score"] = _band(np.nan_to_num(margin, nan=-np.inf), r.margin)
    supply = np.select([months >= r.supply_months[0], months >= r.supply_months[1], qualified], [5, 4, 3], default=1)
    out["on_watch"] = (out["supplier_tier"] == supplier_review.WATCH).fillna(False).to_numpy(dtype=bool)
    out["supply_uncapped"] = supply
    out["supply_score"] = np.where(out["on_watch"], np.minimum(supply, r.watch_cap), supply)
    w = np.array(r.weights, dtype="float64")
    points = out[["demand_score", "profit_score", "supply_score"]].to_numpy(dtype="float64")
    exact = 15 * (points @ w) / (5 * w.sum())  # compared unrounded: 12.996 is not 13
    out["total"] = np.round(exact, 2)
    needs = compliance.requirements_all(out["category"].tolist(), out["name"].tolist())
    out["sensitive"] = ["、".join(s.category for s in n) for n in needs]
    margin_ok = margin > r.gate_margin  # NaN (no price) fails
    growth_ok = growth > r.gate_growth
    listable = np.array([not n or q for n, q in zip(needs, qualified)], dtype=bool)
    gated = ~margin_ok | ~growth_ok | ~listable
    out["recommendation"] = np.where(gated, DROP, np.where(exact >= r.adopt - 1e-9, ADOPT,
                                                           np.where(exact >= r.trial - 1e-9, TRIAL, DROP)))
    out["gate_failed"], out["listable"] = ~margin_ok | ~growth_ok, listable
    out["reasons"] = [_reasons(row, need, r) for row, need in zip(out.to_dict("records"), needs)]
    out["_order"] = out["recommendation"].map(ORDER)
    out = out.sort_values(["_order", "total", "candidate_id"], ascending=[True, False, True], kind="stable")
    return out.drop(columns="_order").reset_index(drop=True)


def _num(x: float) -> str:
    return f"{x:,.0f}"


def _supply_reasons(row: dict, needs: list, r: Rules) -> list[str]:
    """Why a candidate got its supply score: the months of cooperation (the supplier's record where there is one,
    and a typed number it contradicts), a new supplier's qualifications, a supplier on 淘汰观察 capping the score."""
    s, typed, record = row["supply_score"], row["supplier_months"], row["record_months"]
    has_record = record is not None and not pd.isna(record)
    months = int(record) if has_record else typed
    parts = []
    if has_record:
        since = pd.Timestamp(row["since"]).date()
        differs = f"，{months} 个月；填写的 {typed:.0f} 个月与名录不符，以名录为准" if int(typed) != months else ""
        parts.append(f"合作月数按供应商名录（{row['supplier_id']} 自 {since} 起{differs}）")
    elif row["unlisted"]:
        parts.append(f"供应商 {row['supplier_id']} 不在供应商名录（suppliers 表）中，按填写的合作月数计")
    uncapped = row["supply_uncapped"]
    if uncapped >= 4:
        parts.append(f"供应商合作 {months:.0f} 个月（≥ {r.supply_months[5 - uncapped]}）→ 供货 {uncapped} 分"
                     + ("；供应商资质不全（质检报告等），引入前请补齐" if not row["qualified"] and not needs else ""))
    else:
        qual = "资质齐全" if row["qualified"] else "资质不全"
        parts.append(f"新供应商（合作 {months:.0f} 个月，不满 {r.supply_months[1]} 个月）{qual} → 供货 {uncapped} 分")
    if row["on_watch"]:
        parts.append(f"该供应商按{row['review']}的标准列入淘汰观察（{row['tier_reasons']}）"
                     + (f"→ 供货分封顶 {r.watch_cap} 分，计 {s} 分" if s < uncapped else f"，供货分上限 {r.watch_cap} 分"))
    elif has_record and isinstance(row["supplier_tier"], str):
        parts.append(f"供应商分级建议：{row['supplier_tier']}（当前登记：{row['recorded_tier']}）")
    return parts


def _reasons(row: dict, needs: list, r: Rules) -> str:
    """Every reason of one candidate's recommendation, in Chinese."""
    parts = []
    d = row["demand_score"]
    parts.append(f"月搜索量 {_num(row['monthly_search'])}" + (f"（≥ {_num(r.demand[5 - d])}）" if d > 1 else
                                                           f"（低于 {_num(r.demand[-1])}）") + f"→ 需求 {d} 分")
    m, gm = row["profit_score"], row["gross_margin"]
    if np.isnan(gm):
        parts.append("预计售价为 0，无法计算毛利率 → 利润 1 分")
    else:
        parts.append(f"毛利率 {gm * 100:.1f}%" + (f"（≥ {r.margin[5 - m] * 100:g}%）" if m > 1 else
                                               f"（低于 {r.margin[-1] * 100:g}%）") + f"→ 利润 {m} 分")
    parts += _supply_reasons(row, needs, r)
    weighted = "" if len(set(r.weights)) == 1 else \
        f"（按权重 需求 {r.weights[0]:g}、利润 {r.weights[1]:g}、供货 {r.weights[2]:g} 折算为 15 分制）"
    total = row["total"]
    parts.append(f"总分 {total:g}{weighted}")
    failed = []
    if not (gm > r.gate_margin):
        failed.append(f"毛利率 {'未知' if np.isnan(gm) else f'{gm * 100:.1f}%'} 未超过门槛 {r.gate_margin * 100:g}%")
    if not row["growth_rate"] > r.gate_growth:
        failed.append(f"搜索指数环比增长 {row['growth_rate'] * 100:.1f}% 未超过门槛 {r.gate_growth * 100:g}%")
    if needs and not row["qualified"]:
        wanted = "、".join(q.split("（")[0] for s in needs for q in s.qualifications)
        failed.append(f"属于敏感类目 {row['sensitive']}（需 {wanted}），资质不全：不可上架")
    parts += failed
    if row["growth_rate"] > r.growth_check:
        parts.append(f"搜索增长 {row['growth_rate'] * 100:,.0f}% 异常高，请核对（0.05 或 5% 表示增长 5%）")
    if needs and row["qualified"]:
        parts.append(f"敏感类目 {row['sensitive']}，资质齐全")
    if failed:
        parts.append(f"建议{DROP}（未过门槛或不可上架）")
    elif row["recommendation"] == ADOPT:
        parts.append(f"建议{ADOPT}（总分 ≥ {r.adopt:g}）")
    elif row["recommendation"] == TRIAL:
        parts.append(f"建议{TRIAL}（总分 ≥ {r.trial:g} 且低于 {r.adopt:g}）")
    else:
        parts.append(f"建议{DROP}（总分低于 {r.trial:g}）")
    return "；".join(parts)


def table(scored: pd.DataFrame) -> pd.DataFrame:
    """选品评估: one row per candidate — id, name, the three scores, total, recommendation, reasons."""
    return scored[TABLE_COLUMNS].copy()


def chart_frame(scored: pd.DataFrame, top: int = 30) -> pd.DataFrame:
    """The candidates to chart (the `top` highest totals), 放弃 marked to be drawn red."""
    shown = scored.sort_values("total", ascending=False, kind="stable").head(top)
    return shown.assign(dropped=shown["recommendation"] == DROP)


def basis(scored: pd.DataFrame) -> pd.DataFrame:
    """评分依据: what each score was taken from (searches, growth, cost, price, margin, supplier, qualifications)."""
    out = scored[["candidate_id", "name", "category", "monthly_search", "growth_rate", "cost", "price", "gross_margin",
                  "supplier_id", "supplier_months", "record_months", "supplier_tier", "recorded_tier", "qualified", "sensitive"]].copy()
    out["qualified"] = np.where(out["qualified"], "是", "否")
    out["sensitive"] = out["sensitive"].replace("", "—")
    return out


def headline(scored: pd.DataFrame, origin: str) -> tuple[dict, dict[str, str]]:
    """Metrics (candidates per recommendation) and the headline cards."""
    counts = {k: int((scored["recommendation"] == k).sum()) for k in ORDER}
    metrics = {"candidates": len(scored), "adopt": counts[ADOPT], "trial": counts[TRIAL], "drop": counts[DROP],
               "recommendations": dict(zip(scored["candidate_id"], scored["recommendation"]))}
    cards = {"候选来源": origin, "候选数": f"{len(scored):,}", ADOPT: f"{counts[ADOPT]}", TRIAL: f"{counts[TRIAL]}",
             DROP: f"{counts[DROP]}"}
    if len(scored):
        cards["最高总分"] = f"{scored['total'].max():g} / 15"
    return metrics, cards


def _listed(rows: pd.DataFrame, what) -> str:
    shown = "；".join(f"{r['candidate_id']} {r['name']}{what(r)}" for r in rows.head(8).to_dict("records"))
    return shown + (f" 等 {len(rows)} 个" if len(rows) > 8 else "")


def _sensitive(row: dict) -> str:
    return f"（{row['sensitive']}）"


def _growth(row: dict) -> str:
    return f"（{row['growth_rate'] * 100:,.0f}%）"


def _supplier(row: dict) -> str:
    return f"（{row['supplier_id']}）"


def _points(row: dict) -> str:
    return f"（{row['total']:g} 分）"


def findings(scored: pd.DataFrame, r: Rules) -> list[Flag]:
    """Flags: sensitive candidates not listable (采购), suppliers on 淘汰观察 (采购), candidates failing a gate, those
    to introduce and to trial."""
    if scored.empty:
        return [make("eval.empty", "low", "运营经理", "没有候选商品：请在 candidates 表中添加候选，或上传候选清单文件")]
    out = []
    cols = ["candidate_id", "name", "total", "recommendation"]
    blocked = scored[~scored["listable"]]
    if len(blocked):
        out.append(make("eval.not_listable", "high", "采购",
                        f"{len(blocked)} 个候选属于敏感类目但资质不全，不可上架：{_listed(blocked, _sensitive)}。"
                        "请向供应商索取所需资质，补齐后再评估", blocked[cols]))
    gated = scored[scored["gate_failed"]]
    if len(gated):
        def below(row: dict) -> str:
            low = []
            if not row["gross_margin"] > r.gate_margin:
                low.append(f"毛利率 {report.pct(row['gross_margin'])}")
            if not row["growth_rate"] > r.gate_growth:
                low.append(f"搜索增长 {report.pct(row['growth_rate'])}")
            return f"（{'，'.join(low)}）"
        out.append(make("eval.gate", "medium", "运营经理",
                        f"{len(gated)} 个候选未过选品门槛（毛利率 > {r.gate_margin * 100:g}%、搜索指数环比增长 > "
                        f"{r.gate_growth * 100:g}%），建议放弃：{_listed(gated, below)}。如要保留，请重新议价或等搜索回升后再评估",
                        gated[cols]))
    watched = scored[scored["on_watch"]]
    if len(watched):
        out.append(make("eval.supplier_watch", "medium", "采购",
                        f"{len(watched)} 个候选的供应商按供应商分级的标准列入淘汰观察（交货、次品或满足率越过淘汰线），供货分最多 "
                        f"{r.watch_cap} 分：{_listed(watched, _supplier)}。请换用其他供应商，或待其整改后再评估", watched[cols]))
    adopt = scored[scored["recommendation"] == ADOPT]
    if len(adopt):
        out.append(make("eval.introduce", "low", "运营经理",
                        f"建议引入 {len(adopt)} 个候选：{_listed(adopt, _points)}。请安排采购下单与上新排期", adopt[cols]))
    odd = scored[scored["growth_rate"] > r.growth_check]
    if len(odd):
        out.append(make("eval.growth_check", "low", "运营经理",
                        f"{len(odd)} 个候选的搜索指数环比增长超过 {r.growth_check * 100:g}%："
                        f"{_listed(odd, _growth)}。请核对是否把 5% 填成了 5（应填 0.05 或 5%）", odd[cols]))
    trial = scored[scored["recommendation"] == TRIAL]
    if len(trial):
        out.append(make("eval.trial", "low", "运营",
                        f"建议小批量试销 {len(trial)} 个候选：{_listed(trial, _points)}。"
                        "请少量备货试销，按试销的转化与退款再评估是否引入", trial[cols]))
    return out


def records_flag(records: pd.DataFrame | None, note: str) -> list[Flag]:
    """A flag for 采购 when candidates name suppliers whose records could not be read: their typed months count."""
    if records is not None or not note:
        return []
    return [make("eval.supplier_unchecked", "low", "采购",
                 f"{note}：合作月数按候选清单中填写的计，供应商的交货表现未核对。请检查数据源（source）后重新评估")]
