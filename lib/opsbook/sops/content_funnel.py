"""Content and creators (内容与达人投放复盘, seed 004 §四): the period's creator content by tier of followers (头部 /
腰部 / 素人, the rest 其他), the content funnel plays → completions → interactions → link clicks and the commerce funnel
link clicks → carts → orders → repurchases, ROI = GMV ÷ cost per content, creator and tier, and a budget suggestion
across the tiers for the next period by a stated rule."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .. import charts, report
from ..errors import ParamError
from ..flags import Flag, make
from ..settings import TZ
from ..sources import Source

HEAD, WAIST, AMATEUR, OTHER = "头部", "腰部", "素人", "其他"
TIERS = (HEAD, WAIST, AMATEUR)  # the seed's three tiers: the budget is split across them
COUNTS = ("plays", "completions", "interactions", "link_clicks", "carts", "orders")

METRICS = {"first_day": "统计开始", "last_day": "统计截至", "contents": "内容数", "creators": "达人数",
           "cost": ("合作费用", "money"), "gmv": ("成交金额", "money"), "roi": ("整体 ROI", "number"),
           "click_rate": ("播放→链接点击率", "pct"), "order_rate": ("点击→下单率", "pct"),
           "low_roi_contents": "低于 ROI 警戒线的内容", "no_link_contents": "有播放无点击的内容",
           "budget": ("下期预算", "money")}

LABELS = {
    "tier": "达人层级", "content_id": "内容ID", "creator": "达人昵称", "followers": "粉丝数", "publish_date": "发布日期",
    "cost": "合作费用", "plays": "播放量", "completions": "完播量", "interactions": "互动量", "link_clicks": "商品链接点击",
    "carts": "加购数", "orders": "成交订单数", "gmv": "成交金额", "repurchase_orders": "复购订单数",
    "completion_rate": "完播率（÷播放）", "interaction_rate": "互动率（÷播放）", "click_rate": "链接点击率（÷播放）",
    "cart_rate": "加购率（÷点击）", "order_rate": "下单率（÷点击）", "repurchase_rate": "复购率（÷订单）",
    "roi": "ROI（成交金额÷合作费用）", "verdict": "判定", "contents": "内容数", "creators": "达人数",
    "followers_range": "粉丝数范围", "spend_share": "本期花费占比", "suggested_share": "建议占比",
    "suggested_budget": "建议预算", "change": "较本期占比变化", "basis": "依据", "tier_roi_others": "同层其他达人 ROI",
    "ratio": "为同层其他达人的", "stage": "环节", "value": "数量", "rate": "转化率", "rate_of": "转化率口径",
}


@dataclass(frozen=True)
class Tiers:
    """Creator tiers by followers (all parameters): 头部 ≥ head_min; 腰部 waist_min ≤ f ≤ waist_max; 素人 amateur_min ≤
    f < waist_min; 其他 everything else — between waist_max and head_min (the seed names no tier there) and under
    amateur_min."""

    head_min: int
    waist_min: int
    waist_max: int
    amateur_min: int

    def check(self) -> None:
        """ParamError (in Chinese) unless amateur_min < waist_min ≤ waist_max < head_min."""
        if not self.amateur_min < self.waist_min <= self.waist_max < self.head_min:
            raise ParamError(f"达人层级的粉丝数界限应满足 素人下限（{self.amateur_min:,}）< 腰部下限（{self.waist_min:,}）≤ "
                             f"腰部上限（{self.waist_max:,}）< 头部下限（{self.head_min:,}）")

    def sql(self, column: str = "followers") -> str:
        """A SQL CASE naming the tier of `column` (the bounds written as whole numbers: nothing else reaches the SQL)."""
        head, low, high, amateur = (int(v) for v in (self.head_min, self.waist_min, self.waist_max, self.amateur_min))
        return (f"CASE WHEN {column} >= {head} THEN '{HEAD}' "
                f"WHEN {column} BETWEEN {low} AND {high} THEN '{WAIST}' "
                f"WHEN {column} >= {amateur} AND {column} < {low} THEN '{AMATEUR}' "
                f"ELSE '{OTHER}' END")

    def ranges(self) -> dict[str, str]:
        """Each tier's followers range, in Chinese."""
        return {HEAD: f"≥ {_wan(self.head_min)}", WAIST: f"{_wan(self.waist_min)}–{_wan(self.waist_max)}",
                AMATEUR: f"{_wan(self.amateur_min)}–{_wan(self.waist_min)}（不含）",
                OTHER: f"{_wan(self.waist_max)}（不含）–{_wan(self.head_min)}（不含）或 < {_wan(self.amateur_min)}"}

    def note(self) -> str:
        """How followers map to tiers, said on the report (the gaps of the seed's tiers included)."""
        r = self.ranges()
        return (f"达人层级按粉丝数：头部 {r[HEAD]}，腰部 {r[WAIST]}，素人 {r[AMATEUR]}（种子文档：头部百万级、腰部 10w–50w、"
                f"素人 1w–10w）。种子文档没有给 {_wan(self.waist_max)}–{_wan(self.head_min)} 之间和 {_wan(self.amateur_min)} "
                f"以下的达人分层，这些达人归入「其他」：单独列出、计入整体，但不参与下期预算分配；要把他们算进某一层，请调整层级界限参数")

    @classmethod
    def of(cls, p) -> Tiers:
        """The tiers from parameters by name (`run.p`)."""
        return cls(p.head_min, p.waist_min, p.waist_max, p.amateur_min)


def _wan(n: int) -> str:
    """Followers the way staff write them: 100万, 50万, 1万, 8,000."""
    return f"{n / 10_000:g}万" if n >= 10_000 and n % 1_000 == 0 else f"{n:,}"


def window(as_of: dt.date, days: int) -> tuple[dt.date, dt.date]:
    """The `days` days ending with `as_of` (first day, last day)."""
    return as_of - dt.timedelta(days=days - 1), as_of


def has_repurchase(src: Source) -> bool:
    """Whether the source's kol_content has repurchase data: the optional repurchase_orders column, filled in on at
    least one row (a source without the column shows it empty)."""
    src.check("kol_content")
    if "repurchase_orders" not in src.sql("SELECT * FROM kol_content LIMIT 0").columns:
        return False
    return bool(src.sql("SELECT count(repurchase_orders) AS n FROM kol_content")["n"].iloc[0])


def contents(src: Source, first: dt.date, last: dt.date, tiers: Tiers, platform: str = "全部") -> pd.DataFrame:
    """The content published in [first, last] (on one platform unless 全部), one row each with its tier, funnel
    counts, stage rates and ROI (None when its cost is 0: nothing to divide by), most GMV first."""
    repurchase = "repurchase_orders" if has_repurchase(src) else "CAST(NULL AS BIGINT) AS repurchase_orders"
    df = src.sql(f"""
        SELECT {tiers.sql()} AS tier, content_id, platform, creator, followers, publish_date, cost, plays,
               completions, interactions, link_clicks, carts, orders, gmv, {repurchase}
        FROM kol_content
        WHERE publish_date BETWEEN $1::DATE AND $2::DATE AND ($3 = '全部' OR platform = $3)
        ORDER BY gmv DESC, publish_date, platform, content_id""", [first, last, platform])
    return rates(df)


def _ratio(top: pd.Series, bottom: pd.Series) -> pd.Series:
    """top ÷ bottom as floats, missing where bottom is 0 (never inf)."""
    bottom = bottom.astype("float64")
    return (top.astype("float64") / bottom.where(bottom > 0)).astype("float64")


def rates(df: pd.DataFrame) -> pd.DataFrame:
    """The stage rates and ROI of rows holding the funnel counts: completions, interactions and link clicks per play;
    carts and orders per link click; repurchases per order; ROI = GMV ÷ cost (missing where the base is 0)."""
    return df.assign(completion_rate=_ratio(df["completions"], df["plays"]),
                     interaction_rate=_ratio(df["interactions"], df["plays"]),
                     click_rate=_ratio(df["link_clicks"], df["plays"]),
                     cart_rate=_ratio(df["carts"], df["link_clicks"]), order_rate=_ratio(df["orders"], df["link_clicks"]),
                     repurchase_rate=_ratio(df["repurchase_orders"], df["orders"]), roi=_ratio(df["gmv"], df["cost"]))


@dataclass(frozen=True)
class Lines:
    """The judging lines (all parameters)."""

    roi_line: float  # content (and tiers) under it are flagged
    breakeven_roi: float  # a tier under it loses money
    no_click_plays: int  # plays from which a content without a single link click is flagged
    creator_ratio: float  # a creator whose ROI is under this share of the tier's other creators' is flagged

    def check(self) -> None:
        """ParamError unless the break-even ROI is not above the ROI line."""
        if self.breakeven_roi > self.roi_line:
            raise ParamError(f"保本 ROI（{self.breakeven_roi:g}）不能高于 ROI 警戒线（{self.roi_line:g}）")

    @classmethod
    def of(cls, p) -> Lines:
        """The lines from parameters by name (`run.p`)."""
        return cls(p.roi_line, p.breakeven_roi, p.no_click_plays, p.creator_ratio)


def judge(df: pd.DataFrame, lines: Lines) -> pd.DataFrame:
    """Each content's verdict: 有播放无点击 (plays ≥ the line, no link click), ROI 无 (cost 0), 亏损 (ROI under
    break-even), 低于 ROI 警戒线, else empty."""
    no_link = (df["plays"] >= lines.no_click_plays) & (df["link_clicks"] == 0)
    verdict = np.select(
        [no_link, df["cost"] == 0, df["roi"] < lines.breakeven_roi, df["roi"] < lines.roi_line],
        [f"有播放无链接点击（播放 ≥ {lines.no_click_plays:,}）：未挂链接或链接失效",
         "ROI 无：合作费用为 0（寄样/置换）", f"亏损：ROI 低于保本 {lines.breakeven_roi:g}",
         f"低于 ROI 警戒线 {lines.roi_line:g}"], "")
    return df.assign(verdict=pd.Series(verdict, index=df.index, dtype="str"))


def content_table(df: pd.DataFrame, repurchase: bool) -> pd.DataFrame:
    """The per-content table as shown (repurchase columns left out when the source has none)."""
    cols = ["tier", "content_id", "platform", "creator", "followers", "publish_date", "cost", "gmv", "roi", "verdict",
            "plays", "completion_rate", "interaction_rate", "click_rate", "link_clicks", "carts", "cart_rate", "orders",
            "order_rate", "repurchase_orders", "repurchase_rate"]
    return df[[c for c in cols if repurchase or not c.startswith("repurchase")]].reset_index(drop=True)


def _sums(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Counts, cost and GMV summed per `by` (repurchases missing when no row has them), with rates and ROI."""
    agg = df.groupby(by, sort=False).agg(
        contents=("content_id", "size"), creators=("creator", "nunique"), cost=("cost", "sum"), gmv=("gmv", "sum"),
        **{c: (c, "sum") for c in COUNTS}, repurchase_orders=("repurchase_orders", lambda s: s.sum(min_count=1)))
    return rates(agg.reset_index())


def tier_table(df: pd.DataFrame, tiers: Tiers, lines: Lines, repurchase: bool) -> pd.DataFrame:
    """One row per tier (the three always, 其他 when it has content): contents, creators, cost, GMV, ROI, funnel rates
    and a verdict; a tier without content says so (its ROI 无, never 0)."""
    sums = _sums(df, ["tier"]).set_index("tier") if len(df) else pd.DataFrame()
    order = list(TIERS) + ([OTHER] if len(df) and (df["tier"] == OTHER).any() else [])
    out = sums.reindex(order) if len(sums) else pd.DataFrame(index=pd.Index(order, name="tier"),
                                                             columns=["contents"], dtype="float64")
    out = out.rename_axis("tier").reset_index()
    for c in ("contents", "creators", *COUNTS):
        out[c] = out[c].fillna(0).astype("int64") if c in out else 0
    for c in ("cost", "gmv"):
        out[c] = out[c].fillna(0.0).astype("float64") if c in out else 0.0
    if "repurchase_orders" not in out:
        out["repurchase_orders"] = np.nan
    out = rates(out)
    out["followers_range"] = out["tier"].map(tiers.ranges())
    out["verdict"] = np.select(
        [out["contents"] == 0, out["cost"] == 0, out["roi"] < lines.breakeven_roi, out["roi"] < lines.roi_line],
        ["本期无内容，ROI 无", "合作费用为 0，ROI 无", f"亏损：ROI 低于保本 {lines.breakeven_roi:g}",
         f"低于 ROI 警戒线 {lines.roi_line:g}"], "")
    cols = ["tier", "followers_range", "contents", "creators", "cost", "gmv", "roi", "verdict", "plays",
            "completion_rate", "interaction_rate", "click_rate", "link_clicks", "cart_rate", "order_rate", "orders",
            "repurchase_orders", "repurchase_rate"]
    return out[[c for c in cols if repurchase or not c.startswith("repurchase")]]


def creators(df: pd.DataFrame) -> pd.DataFrame:
    """One row per creator (tier, platform, followers): contents, cost, GMV, ROI and the ROI of the other creators of
    the same tier together (sum of their GMV ÷ sum of their cost), with the ratio of the two."""
    if df.empty:
        return pd.DataFrame(columns=["tier", "creator", "platform", "followers", "contents", "cost", "gmv", "roi",
                                     "tier_roi_others", "ratio"])
    per = _sums(df, ["tier", "creator", "platform", "followers"])
    tier = per.groupby("tier")[["cost", "gmv"]].transform("sum")
    per["tier_roi_others"] = _ratio(tier["gmv"] - per["gmv"], tier["cost"] - per["cost"])
    per["ratio"] = _ratio(per["roi"], per["tier_roi_others"])
    cols = ["tier", "creator", "platform", "followers", "contents", "cost", "gmv", "roi", "tier_roi_others", "ratio"]
    return per[cols].sort_values(["tier", "roi"], key=lambda s: s.map({t: i for i, t in enumerate(TIERS + (OTHER,))})
                                 if s.name == "tier" else s, ignore_index=True)


def funnel(df: pd.DataFrame, repurchase: bool) -> pd.DataFrame:
    """The period's two funnels as rows: each stage's count and its rate over the stage it is measured against."""
    total = {c: int(df[c].sum()) for c in COUNTS}
    rep = int(df["repurchase_orders"].sum()) if repurchase and df["repurchase_orders"].notna().any() else None
    rows = [("内容", "播放量", total["plays"], None, ""),
            ("内容", "完播量", total["completions"], total["plays"], "完播率 = 完播量 ÷ 播放量"),
            ("内容", "互动量", total["interactions"], total["plays"], "互动率 = 互动量 ÷ 播放量"),
            ("内容", "商品链接点击", total["link_clicks"], total["plays"], "链接点击率 = 点击 ÷ 播放量"),
            ("转化", "加购数", total["carts"], total["link_clicks"], "加购率 = 加购 ÷ 链接点击"),
            ("转化", "成交订单数", total["orders"], total["link_clicks"], "下单率 = 订单 ÷ 链接点击"),
            ("转化", "复购订单数", rep, total["orders"], "复购率 = 复购订单 ÷ 成交订单")]
    if not repurchase:
        rows = rows[:-1]
    out = pd.DataFrame(rows, columns=["funnel", "stage", "value", "base", "rate_of"])
    out["rate"] = [None if v is None or not b else v / b for v, b in zip(out["value"], out["base"])]
    out["rate"] = out["rate"].astype("float64")
    out["value"] = out["value"].astype("Int64")
    return out.rename(columns={"funnel": "漏斗"})[["漏斗", "stage", "value", "rate", "rate_of"]]


def funnel_note(repurchase: bool, rep_known: bool) -> str:
    """How the funnel rates are measured, and what happens without repurchase data."""
    text = ("内容漏斗各环节都按播放量计算（完播率、互动率、链接点击率），转化漏斗按商品链接点击计算（加购率、下单率；直接下单不经过"
            "购物车，所以不按加购数计算下单率），复购率按成交订单计算。内容的指标是导出时的累计数：刚发布几天的内容还在增长")
    if not repurchase:
        text += "\n数据中没有复购订单数（repurchase_orders，选填列）：复购率不计算、不显示；导入含「复购订单数」列的达人投放表后即可看到"
    elif not rep_known:
        text += "\n本期内容的复购订单数都为空：复购率无法计算"
    return text


def budget(tier_rows: pd.DataFrame, total: float, lines: Lines, max_shift: float, trial_share: float) -> pd.DataFrame:
    """The next period's budget across the three tiers by `budget_rule`: amounts in yuan summing to `total` exactly
    (whole cents, odd cents by largest remainder). Empty when no tier has content or the budget is 0."""
    rows = tier_rows.set_index("tier").reindex(list(TIERS))
    contents = rows["contents"].fillna(0).astype("int64")
    spend = rows["cost"].fillna(0.0)
    cols = ["tier", "contents", "cost", "spend_share", "roi", "suggested_share", "suggested_budget", "change", "basis"]
    if contents.sum() == 0 or total <= 0:
        return pd.DataFrame(columns=cols)
    spent = spend > 0
    share = spend / spend.sum() if spent.any() else pd.Series(0.0, index=spend.index)
    moved = shift(share[spent], rows["roi"][spent], lines.roi_line, max_shift)
    trial = int((~spent).sum())
    suggested = pd.Series(trial_share, index=spend.index)
    suggested[spent] = moved * (1 - trial_share * trial)
    if not spent.any():  # content but no spend anywhere (all 寄样/置换): nothing to go by, an even split
        suggested[:] = 1 / len(suggested)
    basis = []
    for t in TIERS:
        step = (moved.get(t, 0.0) - share[t]) * 100
        if not spent[t]:
            basis.append(f"本期{'无内容' if not contents[t] else '无花费（寄样/置换）'}：" +
                         (f"留 {trial_share:.0%} 试投" if spent.any() else "各层均分"))
        elif step < -1e-9:
            capped = "（已到单层最大调整）" if step <= -max_shift * 100 + 1e-9 else ""
            basis.append(f"ROI {rows.at[t, 'roi']:.2f} 低于警戒线 {lines.roi_line:g}：减 {-step:.1f} 个百分点{capped}")
        elif step > 1e-9:
            capped = "（已到单层最大调整）" if step >= max_shift * 100 - 1e-9 else ""
            basis.append(f"ROI {rows.at[t, 'roi']:.2f} 高于警戒线 {lines.roi_line:g}：加 {step:.1f} 个百分点{capped}")
        elif rows.at[t, "roi"] > lines.roi_line:
            basis.append(f"ROI {rows.at[t, 'roi']:.2f} 高于警戒线，但没有低于警戒线的层可调出预算：维持")
        else:
            basis.append(f"ROI {rows.at[t, 'roi']:.2f}：" + ("没有高于警戒线的层可接收预算，维持"
                                                           if rows.at[t, "roi"] < lines.roi_line else "在警戒线上，维持"))
    out = pd.DataFrame({"tier": list(TIERS), "contents": contents.to_numpy(), "cost": spend.to_numpy(),
                        "spend_share": share.to_numpy(), "roi": rows["roi"].to_numpy(dtype="float64"),
                        "suggested_share": suggested.to_numpy(), "suggested_budget": _cents(suggested, total).to_numpy(),
                        "basis": basis})
    out["change"] = out["suggested_share"] - out["spend_share"]
    return out[cols]


def shift(share: pd.Series, roi: pd.Series, line: float, max_shift: float) -> pd.Series:
    """Shares moved from tiers under the ROI line to tiers above it (see `budget_rule`); the result sums as `share`.

    A tier under the line gives up share × (1 − ROI ÷ line), at most `max_shift`; the pool goes to the tiers above the
    line in proportion to share × (ROI − line), each taking at most `max_shift` (what one cannot take goes to the
    others); what no tier can take stays with the tiers it came from, in proportion to what they gave."""
    cut = (share * (1 - roi / line)).clip(lower=0.0, upper=max_shift).where(roi < line, 0.0)
    weight = (share * (roi - line)).where(roi > line, 0.0)
    add = pd.Series(0.0, index=share.index)
    pool = float(cut.sum())
    while pool > 1e-12 and weight.sum() > 0:
        room = (max_shift - add).clip(lower=0.0)
        open_ = (weight > 0) & (room > 1e-12)
        if not open_.any():
            break
        give = (pool * weight[open_] / weight[open_].sum()).clip(upper=room[open_])
        add[open_] += give
        pool -= float(give.sum())
    placed = float(add.sum())
    cut = cut * (placed / cut.sum()) if cut.sum() > 0 else cut
    return share - cut + add


def _cents(share: pd.Series, total: float) -> pd.Series:
    """`total` split by `share` in whole cents (largest remainders get the odd cents), as yuan."""
    cents = round(total * 100)
    raw = share / share.sum() * cents
    whole = np.floor(raw)
    rest = int(cents - whole.sum())
    order = (raw - whole).sort_values(ascending=False, kind="stable").index[:rest]
    whole[order] += 1
    return whole / 100


def budget_total(tier_rows: pd.DataFrame, asked: float) -> float:
    """Next period's budget: the one asked for, else this period's spend on the three budgeted tiers (asked = 0)."""
    return asked or float(tier_rows.loc[tier_rows["tier"].isin(TIERS), "cost"].sum())


def budget_note(plan: pd.DataFrame, total: float, lines: Lines, max_shift: float, trial_share: float,
                asked: float) -> str:
    """The note under the budget table: its rule, or why there is no suggestion."""
    if not len(plan):
        return "无数据：本期头部、腰部、素人都没有内容（或下期预算为 0），不给预算建议"
    return budget_rule(total, lines, max_shift, trial_share, asked)


def content_note(df: pd.DataFrame, first: dt.date, last: dt.date) -> str:
    """The note under the per-content table: 无数据 when the period has no content."""
    return "" if len(df) else f"无数据：{first} 至 {last} 没有发布的达人内容"


def budget_rule(total: float, lines: Lines, max_shift: float, trial_share: float, asked: float) -> str:
    """The budget rule in Chinese, for the report."""
    where = f"下期预算 {report.money(total)}" + ("（参数为 0：沿用本期头部、腰部、素人花费合计）" if not asked else "")
    pp = f"{max_shift * 100:g} 个百分点"
    return (f"{where}在头部、腰部、素人三层之间分配，规则：① 从本期各层花费占比出发；② ROI 低于警戒线 {lines.roi_line:g} 的层"
            f"调出预算，调出比例 = 1 − ROI ÷ 警戒线（ROI 1.5、警戒线 2 即调出该层占比的 25%），每层最多调出 {pp}；"
            f"③ 调出的预算按「本期占比 × (ROI − 警戒线)」的比例加给 ROI 高于警戒线的层，每层最多加 {pp}，加不下的留在原层；"
            f"没有高于警戒线的层时各层维持本期占比；④ 本期没有花费（无内容或全是寄样置换）的层各留 {trial_share:.0%} 试投，"
            f"其余按上面的占比分；⑤ 金额按分取整，合计正好等于下期预算。「其他」层的达人不参与分配。"
            f"这是按 ROI 的机械建议，投放前请结合达人档期、内容质量和商品库存复核")


def roi_text(value: float | None) -> str:
    """A ROI as the report shows it: 2.98, or 无 when there is none (cost 0, no content) — never 0 or inf."""
    return "无" if value is None else f"{value:.2f}"


def summary(df: pd.DataFrame, tier_rows: pd.DataFrame, first: dt.date, last: dt.date, suggestion: pd.DataFrame,
            total: float) -> tuple[dict, dict[str, str]]:
    """Headline metrics (result.json) and cards; an empty period gives 无数据 cards and None rates, never 0 %."""
    cost, gmv = float(df["cost"].sum()), float(df["gmv"].sum())
    plays, clicks = int(df["plays"].sum()), int(df["link_clicks"].sum())
    roi = round(gmv / cost, 6) if cost > 0 else None
    tier_roi = {r.tier: (None if pd.isna(r.roi) else round(float(r.roi), 6)) for r in tier_rows.itertuples()}
    metrics = {"first_day": first.isoformat(), "last_day": last.isoformat(), "contents": len(df),
               "creators": int(df["creator"].nunique()), "cost": round(cost, 2), "gmv": round(gmv, 2), "roi": roi,
               "plays": plays, "link_clicks": clicks, "orders": int(df["orders"].sum()),
               "click_rate": round(clicks / plays, 6) if plays else None,
               "order_rate": round(int(df["orders"].sum()) / clicks, 6) if clicks else None,
               "tier_roi": tier_roi, "budget": round(total, 2) if len(suggestion) else None,
               "budget_split": {r.tier: float(r.suggested_budget) for r in suggestion.itertuples()}}
    if df.empty:
        return metrics, {"统计期": f"{first} 至 {last}", "内容": "无数据：统计期内没有发布的达人内容"}
    cards = {"统计期": f"{first} 至 {last}", "内容 / 达人": f"{len(df)} / {metrics['creators']}",
             "合作费用": report.money(cost), "成交金额": report.money(gmv), "整体 ROI": roi_text(roi),
             "头部 / 腰部 / 素人 ROI": " / ".join(roi_text(tier_roi.get(t)) for t in TIERS),
             "播放→链接点击率": report.pct(metrics["click_rate"], 2), "点击→下单率": report.pct(metrics["order_rate"])}
    return metrics, cards


def findings(df: pd.DataFrame, tier_rows: pd.DataFrame, per_creator: pd.DataFrame, lines: Lines,
             plan: pd.DataFrame | None = None) -> list[Flag]:
    """Flags: content with plays and no link click (内容, high), content under the ROI line (内容, medium), creators far
    under their tier's other creators (内容, medium), tiers losing money (运营, high; whether `plan`, the budget
    suggestion, cut them: with no tier above the ROI line to take the budget it does not)."""
    out = []
    cols = ["tier", "content_id", "platform", "creator", "publish_date", "cost", "gmv", "roi", "plays", "link_clicks"]
    no_link = df[(df["plays"] >= lines.no_click_plays) & (df["link_clicks"] == 0)]
    if len(no_link):
        out.append(make("kol.no_link", "high", "内容",
                        f"{len(no_link)} 条内容有播放（≥ {lines.no_click_plays:,}）却没有一次商品链接点击（" + "、".join(
                            f"{r.creator} {r.content_id} 播放 {r.plays:,}" for r in no_link.head(5).itertuples())
                        + "）：多半没挂商品链接或链接已失效，请当天联系达人补挂/更换链接", no_link[cols]))
    low = df[(df["cost"] > 0) & (df["roi"] < lines.roi_line) & ~df.index.isin(no_link.index)]
    if len(low):
        out.append(make("kol.low_roi", "medium", "内容",
                        f"{len(low)} 条内容 ROI 低于警戒线 {lines.roi_line:g}（" + "、".join(
                            f"{r.creator} {r.roi:.2f}" for r in low.sort_values("roi").head(5).itertuples())
                        + "）：请复盘选题、挂车商品和价格，效果差的达人下期减少合作", low.sort_values("roi")[cols]))
    lag = per_creator[per_creator["ratio"] < lines.creator_ratio] if len(per_creator) else per_creator
    lag = lag[lag["tier"] != OTHER] if len(lag) else lag
    if len(lag):
        out.append(make("kol.creator_lag", "medium", "内容",
                        f"{len(lag)} 位达人的 ROI 不到同层其他达人的 {lines.creator_ratio:.0%}（" + "、".join(
                            f"{r.tier}达人 {r.creator} {r.roi:.2f}，同层其他 {r.tier_roi_others:.2f}"
                            for r in lag.head(5).itertuples())
                        + "）：请核对其粉丝画像与商品是否匹配、报价是否偏高，考虑换人或压价", lag))
    losing = tier_rows[(tier_rows["contents"] > 0) & (tier_rows["roi"] < lines.breakeven_roi)]
    if len(losing):
        change = plan.set_index("tier")["change"] if plan is not None and len(plan) else pd.Series(dtype="float64")
        cut = [t for t in losing["tier"] if change.get(t, 0.0) < -1e-9]
        kept = [t for t in losing["tier"] if t not in cut]
        said = ("下期预算建议已按规则下调" + "、".join(cut) if cut else "")
        if kept:
            said += ("；" if said else "") + (f"{'、'.join(kept)}的下期预算建议没有下调（没有 ROI 高于警戒线的层可接收预算，"
                                             "或该层不在头部/腰部/素人之内）：请考虑减少下期总预算（参数「下期预算」）或暂停该层投放")
        out.append(make("kol.tier_loss", "high", "运营",
                        f"{len(losing)} 个达人层级亏损（ROI 低于保本 {lines.breakeven_roi:g}：" + "、".join(
                            f"{r.tier} {r.roi:.2f}" for r in losing.itertuples())
                        + f"）：{said}。请内容运营复盘该层的达人选择", losing[["tier", "contents", "cost", "gmv", "roi"]]))
    return out


def data_reach(src: Source, first: dt.date, last: dt.date, platform: str = "全部",
               today: dt.date | None = None) -> list[Flag]:
    """Flags about the data, not the content: a period after the last content imported (medium, 内容: the sheet was
    probably not imported yet — a quiet week is not shown as one) and content published after today (low, 数据分析:
    usually a date typed or exported wrongly)."""
    today = today or dt.datetime.now(TZ).date()
    found = src.sql("""SELECT max(publish_date) AS latest, count(*) FILTER (WHERE publish_date > $1::DATE) AS future
                       FROM kol_content WHERE $2 = '全部' OR platform = $2""", [today, platform])
    latest, future = found["latest"].iloc[0], int(found["future"].iloc[0])
    out = []
    where = "" if platform == "全部" else f"（{platform}）"
    if pd.isna(latest):
        out.append(make("kol.no_data", "medium", "内容", f"数据中没有任何达人内容{where}：请先用 opsbook ingest 导入达人投放表"
                                                         "（模板 data/templates/达人投放表.csv）"))
    elif pd.Timestamp(latest).date() < first:
        out.append(make("kol.stale", "medium", "内容",
                        f"达人内容数据{where}只到 {pd.Timestamp(latest).date()}，统计期是 {first} 至 {last}：统计期内没有内容多半是"
                        "还没导入最新的达人投放表，不是这周没有投放；请导入后重新运行"))
    if future:
        out.append(make("kol.future_date", "low", "数据分析",
                        f"{future} 条内容的发布日期晚于今天（{today}）：多为导出或填表时日期有误，请核对后重新导入"))
    return out


def roi_chart(tier_rows: pd.DataFrame, lines: Lines):
    """Bar chart of each tier's ROI against the ROI line; tiers under the line in red (a tier without content: no
    bar)."""
    shown = tier_rows.assign(roi=tier_rows["roi"].fillna(0.0), under=tier_rows["roi"] < lines.roi_line)
    return charts.bar(shown, "tier", "roi", "各层级 ROI（成交金额 ÷ 合作费用；红色：低于警戒线）",
                      hline=(lines.roi_line, "ROI 警戒线"), highlight="under")


def funnel_chart(stages: pd.DataFrame, title: str):
    """Horizontal bars of the funnel's stages, each labelled with its count and its rate as measured in the table."""
    charts.setup()
    fig, ax = plt.subplots(figsize=(9, 0.6 + 0.5 * len(stages)))
    values = stages["value"].fillna(0).astype(float).to_numpy()
    names = stages["stage"].tolist()
    ax.barh(names[::-1], values[::-1], color=charts.PALETTE[0])
    for i, (value, rate, of) in enumerate(zip(values, stages["rate"], stages["rate_of"])):
        label = f"  {value:,.0f}" + ("" if pd.isna(rate) else f"（{of.split(' =')[0]} {rate * 100:.2f}%）")
        ax.text(value, len(values) - 1 - i, label, va="center", fontsize=9)
    ax.set_xscale("symlog")
    ax.set_xticks([])
    ax.set_title(f"{title}（条长为对数刻度）", loc="left", fontsize=12, fontweight="bold")
    fig.tight_layout()
    plt.close(fig)
    return fig
