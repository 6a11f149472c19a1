"""Risk watch (风险与舆情): review texts and service-chat summaries scanned against the shop's risk lexicon
(`data/reference/risk_words.yaml`, one Aho–Corasick pass: `sops.lexicon`), counted per group in windows against the
SOP's thresholds (quality ≥ 3 in 24 h, competitor attack > 5 a platform a day, policy, professional claimants, media
exposure); crisis levels per complaint (L1 exposure, L2 a platform's bad-review rate or a complaint unanswered past
its deadline, L3 a single complaint); keyword-rank drops against the window before (a level-1 traffic warning)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from .. import charts
from ..data.tables import PLATFORMS
from ..errors import DataError
from ..flags import Flag, make
from ..settings import ROLES, TZ_NAME
from ..sources import Source
from . import catalogue, lexicon, reference

RISK_WORDS = Path("data") / "reference" / "risk_words.yaml"
SEVERITIES = ("high", "medium", "low")
QUALITY, COMPETITOR, POLICY, CLAIMANT, EXPOSURE = "quality", "competitor", "policy", "claimant", "exposure"
BUILT_IN = {QUALITY: "high", COMPETITOR: "medium", POLICY: "high", CLAIMANT: "high", EXPOSURE: "high"}
REVIEW, CHAT = "评价", "会话"
OVERDUE = "超时未响应（升为二级）"
L1, L2, L3 = "一级", "二级", "三级"  # seed 004 §五: 一级 is the most severe (national exposure), 三级 a single complaint

METRICS = {"scan_from": "扫描开始", "scan_until": "扫描截至", "reviews": "评价数", "chats": "会话数",
           "texts_hit": "命中风险词的评价与会话", "hits": "各组命中数", "bad_reviews": "差评数（1–2 星）",
           "bad_review_rate": ("差评率", "pct"), "alerts": "触发阈值的词组预警", "levels": "危机分级（一级/二级/三级）",
           "overdue": "超时未响应（升为二级）", "open": "待响应（未超时）", "rank_drops": "排名下降预警关键词"}
# the SOP's follow-up times (seed 004 §五): quality → 立刻 (taken as 2 h), exposure → 第一时间 (1 h), policy self-check
# within 24 h, a single complaint answered within 24 h (an overdue one is answered now: 2 h)
FOLLOW_UP = {"risk.quality": 2, "risk.exposure": 1, "risk.policy": 24, "risk.claimant": 24, "risk.overdue": 2,
             "risk.open": "reply_hours", "risk.platform_bad_rate": 24, "risk.rank_drop": 24}
LABELS = {
    "source": "来源", "record_id": "评价/会话ID", "time": "时间", "product": "商品", "rating": "评分", "groups": "命中分组",
    "words": "命中词", "text": "内容", "group": "分组", "scope": "范围", "window_start": "首条时间（自然日分组为当天零点）", "window_end": "末条时间（自然日分组为次日零点）",
    "count": "条数", "threshold": "阈值", "owner": "负责角色", "action": "处理要求", "level": "危机级别", "status": "状态",
    "answered_time": "响应时间", "deadline": "响应截止", "hours_to_answer": "响应用时（小时）", "reviews": "评价数",
    "bad_reviews": "差评数", "bad_review_rate": "差评率", "keyword": "关键词", "prev_rank": "上期平均排名",
    "cur_rank": "本期平均排名", "prev_days": "上期有排名天数", "cur_days": "本期有排名天数", "drop_rate": "排名下降幅度",
    "warning": "预警", "order_id": "订单编号", "sku": "商家编码", "date": "日期", "records": "涉及的评价/会话ID",
}
ANSWER_NOTE = ("响应时间：评价取商家回复时间（reviews.reply_time），以及同一平台同一订单在评价之后的客服回访时间"
               "（cs_sessions.follow_up_time）中较早者；会话取解决时间或回访时间中较早者。只认扫描截至时刻之前的记录。"
               "三级（单条投诉：1–2 星差评或命中任一风险词）超过响应时限仍未响应即升为二级；命中媒体曝光词为一级")


@dataclass(frozen=True)
class Group:
    """A lexicon group and its rule: `min_count` hits within `window_hours` (per platform when `per_platform`; a
    calendar day when `per_day`) raise its flag."""

    id: str
    label: str
    owner: str
    severity: str
    action: str
    words: tuple[str, ...]
    window_hours: float = 24
    min_count: int = 1
    per_platform: bool = False
    per_day: bool = False

    def threshold(self) -> str:
        """The rule in Chinese (24 小时内 ≥ 3 条 …)."""
        scope = "单平台" if self.per_platform else "全店"
        if self.per_day:
            return f"{scope}单个自然日超过 {self.min_count - 1} 条"
        return f"{scope} {self.window_hours:g} 小时内 ≥ {self.min_count} 条"


@dataclass(frozen=True)
class Rules:
    """The thresholds of the built-in groups (the playbook's parameters)."""

    quality_window_hours: int = 24
    quality_min: int = 3
    competitor_max_per_day: int = 5
    policy_min: int = 1
    claimant_min: int = 1

    @classmethod
    def of(cls, p) -> Rules:
        """The thresholds from the run's parameters."""
        return cls(p.quality_window_hours, p.quality_min, p.competitor_max_per_day, p.policy_min, p.claimant_min)


def _text_list(value, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, (str, int)) and str(v).strip() for v in value):
        raise DataError(f"{where} 应为非空词语的列表，如 [变质, 异物]")
    return tuple(str(v).strip() for v in value)


def groups(rules: Rules = Rules()) -> list[Group]:
    """The groups of `risk_words.yaml`, checked, with the built-in groups' rules from `rules`; DataError (Chinese)
    for a malformed file: unknown owner role, a new group without its window and count, no words."""
    where = f"风险词库 {RISK_WORDS}"
    data = reference.read(RISK_WORDS, "风险词库")
    listed = data.get("groups") if isinstance(data, dict) else None
    if not isinstance(listed, list) or not listed or not all(isinstance(g, dict) and g.get("id") for g in listed):
        raise DataError(f"{where} 应有 groups 列表，每组有 id、label、owner、words")
    built = {QUALITY: dict(window_hours=rules.quality_window_hours, min_count=rules.quality_min),
             COMPETITOR: dict(window_hours=24, min_count=rules.competitor_max_per_day + 1, per_platform=True,
                              per_day=True),
             POLICY: dict(window_hours=24, min_count=rules.policy_min),
             CLAIMANT: dict(window_hours=24, min_count=rules.claimant_min),
             EXPOSURE: dict(window_hours=24, min_count=1)}
    found, problems = [], []
    for g in listed:
        gid, label = str(g["id"]), str(g.get("label") or g["id"])
        here = f"{where} 中「{label}」"
        owner = str(g.get("owner") or "")
        bad_roles = [r for r in owner.replace("，", "、").split("、") if r.strip() not in ROLES]
        if not owner or bad_roles:
            problems.append(f"{here}的 owner「{owner}」应为系统角色（{'、'.join(ROLES)}），多个用、分隔")
        words = _text_list(g.get("words"), f"{here}的 words")
        if not words:
            problems.append(f"{here}没有监控词")
        if gid in built:
            rule, severity = built[gid], BUILT_IN[gid]
        else:
            severity = str(g.get("severity") or "medium")
            try:
                rule = dict(window_hours=float(g["window_hours"]), min_count=int(g["min_count"]),
                            per_platform=bool(g.get("per_platform", False)))
                if rule["window_hours"] <= 0 or rule["min_count"] < 1:
                    raise ValueError
            except (KeyError, TypeError, ValueError):
                problems.append(f"{here}是新增分组，需要写 window_hours（小时，> 0）和 min_count（条数，≥ 1）")
                continue
            if severity not in SEVERITIES:
                problems.append(f"{here}的 severity 只能取 {'/'.join(SEVERITIES)}")
        found.append(Group(gid, label, owner, severity, str(g.get("action") or f"请核查{label}相关评价与会话"),
                           words, **rule))
    ids = [g.id for g in found]
    problems += [f"{where} 中分组 id「{i}」重复" for i in sorted({i for i in ids if ids.count(i) > 1})]
    if problems:
        raise DataError(problems, headline=f"{where} 有误，请修正后重试")
    return found


def allowed() -> tuple[str, ...]:
    """The accepted phrases of `risk_words.yaml` (不是假货 …): a word inside one is no hit."""
    data = reference.read(RISK_WORDS, "风险词库")
    return _text_list(data.get("allowed") if isinstance(data, dict) else None, f"风险词库 {RISK_WORDS} 的 allowed")


@lru_cache(maxsize=4)
def _lexicon(words: tuple[tuple[str, tuple[str, ...]], ...], accepted: tuple[str, ...]) -> lexicon.Lexicon:
    return lexicon.build(dict(words), accepted)


def build_lexicon(found: list[Group], accepted: tuple[str, ...] = ()) -> lexicon.Lexicon:
    """One automaton of every group's words (a word listed in two groups belongs to its first)."""
    return _lexicon(tuple((g.id, g.words) for g in found), tuple(accepted))


# ---------------------------------------------------------------- period and texts

def scan_period(as_of: dt.date, until_hour: int, days: int, src: Source | None = None) -> tuple[pd.Timestamp, pd.Timestamp]:
    """[start, until) of the scan: `days` days ending at `as_of`'s hour `until_hour` (24 = the day's end; -1 = the time
    of the latest review or chat of that day in the data, for hourly runs; the day's start when there is none yet — an
    08:05 run before the day's first review scans the 24 h before midnight, not the empty day ahead, and counts no
    deadline as passed that has not)."""
    day = pd.Timestamp(as_of, tz=TZ_NAME)
    if until_hour >= 0:
        until = day + pd.Timedelta(hours=until_hour)
    else:
        latest = None
        if src is not None:
            parts = [f"SELECT max({col}) AS t FROM {table} WHERE {col} < $end" for table, col in
                     (("reviews", "review_time"), ("cs_sessions", "start_time")) if src.has(table)]
            if parts:
                got = src.sql(f"SELECT max(t) AS t FROM ({' UNION ALL '.join(parts)}) WHERE t >= $start",
                              {"start": day.to_pydatetime(), "end": (day + pd.Timedelta(days=1)).to_pydatetime()})
                latest = got["t"].iloc[0]
        until = (pd.Timestamp(latest).tz_convert(TZ_NAME).floor("s") + pd.Timedelta(seconds=1)) if pd.notna(latest) \
            else day
    return until - pd.Timedelta(days=days), until


def context_hours(found: list[Group]) -> float:
    """How far before the scan period texts are read: the longest window of a group (a window ending inside the
    period counts the hits before it)."""
    return max([g.window_hours for g in found] + [24])


def texts(src: Source, start: pd.Timestamp, until: pd.Timestamp, found: list[Group]) -> pd.DataFrame:
    """The reviews and chats written in [start − the longest window, until) (phones masked by the source), ordered by
    time, one row each: source, platform, record_id, order_id, sku, time, rating (reviews), answered_time (the
    earliest answer known by `until`), text, and `in_period` (written in [start, until): the rows before only fill the
    windows). Chats are read when the source has `cs_sessions` (a shop without the table scans its reviews only)."""
    if not src.has("reviews") and not src.has("cs_sessions"):
        raise DataError(f"数据源 {src.location} 中没有 reviews 表和 cs_sessions 表：请先导入评价导出（评价管理 → 导出）"
                        "或客服接待记录")
    p = {"start": (start - pd.Timedelta(hours=context_hours(found))).to_pydatetime(), "until": until.to_pydatetime()}
    parts = []
    if src.has("reviews"):
        follow = ("SELECT platform, order_id, follow_up_time FROM cs_sessions WHERE follow_up_time < $until "
                  "AND order_id IS NOT NULL") if src.has("cs_sessions") else \
            "SELECT NULL::VARCHAR AS platform, NULL::VARCHAR AS order_id, NULL::TIMESTAMPTZ AS follow_up_time WHERE false"
        parts.append(f"""
            SELECT '{REVIEW}' AS source, r.platform, r.review_id AS record_id, r.order_id, r.sku, r.review_time AS time,
                   r.rating, least(CASE WHEN r.reply_time < $until THEN r.reply_time END,
                                   (SELECT min(f.follow_up_time) FROM ({follow}) f
                                    WHERE f.platform = r.platform AND f.order_id = r.order_id
                                      AND f.follow_up_time >= r.review_time)) AS answered_time, r.text
            FROM reviews r WHERE r.review_time >= $start AND r.review_time < $until""")
    if src.has("cs_sessions"):
        parts.append(f"""
            SELECT '{CHAT}' AS source, platform, session_id AS record_id, order_id, NULL::VARCHAR AS sku,
                   start_time AS time, NULL::BIGINT AS rating,
                   least(CASE WHEN resolved_time < $until THEN resolved_time END,
                         CASE WHEN follow_up_time < $until THEN follow_up_time END) AS answered_time, text
            FROM cs_sessions WHERE start_time >= $start AND start_time < $until""")
    df = src.sql(" UNION ALL ".join(parts) + " ORDER BY time, source, record_id", p)
    df["rating"] = df["rating"].astype("Int64")
    df["in_period"] = (df["time"] >= start).to_numpy()
    return df


def product_names(src: Source) -> pd.Series:
    """SKU → product name (empty without a products table); a SKU listed on several platforms named by
    `catalogue.by_sku`'s rule, as the other playbooks name it."""
    if not src.has("products"):
        return pd.Series(dtype="str")
    names = src.sql(f"SELECT sku, name FROM {catalogue.by_sku(src, 'name')}")
    return names.set_index("sku")["name"]


# ---------------------------------------------------------------- scan and windows

def scan(df: pd.DataFrame, lex: lexicon.Lexicon) -> pd.DataFrame:
    """One row per (text, group) hit: the text's position in `df` (`row`), the group and its words (、-joined, in
    order of appearance), from one Aho–Corasick pass over all the texts (`Lexicon.pairs`)."""
    rows, index = lex.pairs(df["text"])
    names = sorted(set(lex.groups.values()))
    gid = np.array([names.index(lex.group(w)) for w in lex.words], dtype=np.int64)[index]
    words = np.array(lex.words, dtype=object)[index]
    key = rows * len(names) + gid
    first, inverse = np.unique(key, return_index=True, return_inverse=True)[1:]
    if len(first) < len(key):  # a text with two words of one group: its words joined, in order of appearance
        joined = words[first].copy()
        for k in np.flatnonzero(np.bincount(inverse) > 1).tolist():
            joined[k] = "、".join(words[inverse == k])
        words = joined
    else:
        words = words[first]
    first_pos = np.argsort(first, kind="stable")
    return pd.DataFrame({"row": rows[first][first_pos], "group": pd.array(np.array(names, dtype=object)[gid[first][first_pos]],
                                                                           dtype="str"),
                         "words": pd.array(words[first_pos], dtype="str")})


def window_counts(hits: pd.DataFrame, times: pd.Series, platforms: pd.Series, found: list[Group]) -> pd.DataFrame:
    """`hits` with the time and platform of each, and `count`: the hits of its group in the window ending at it, from
    `window_start` (exclusive) — per platform for per-platform groups; the calendar day so far (from midnight,
    inclusive) for per-day groups."""
    pos = hits["row"].to_numpy()
    time = times.iloc[pos].reset_index(drop=True)
    t = pd.DatetimeIndex(time).as_unit("ns").asi8
    plat = platforms.iloc[pos].to_numpy()
    count = np.zeros(len(hits), dtype=np.int64)
    start = np.zeros(len(hits), dtype=np.int64)
    g_arr = hits["group"].to_numpy()
    day_ns, shift = 86_400 * 10 ** 9, 8 * 3600 * 10 ** 9  # China time's midnight is 16:00 UTC
    for g in found:
        here = np.flatnonzero(g_arr == g.id)
        if not len(here):
            continue
        keys = plat[here] if g.per_platform else np.zeros(len(here), dtype=np.int64)
        for key in pd.unique(keys):
            idx = here[keys == key]
            idx = idx[np.argsort(t[idx], kind="stable")]
            ts = t[idx]
            lo = ((ts + shift) // day_ns) * day_ns - shift if g.per_day else ts - int(g.window_hours * 3600 * 10 ** 9)
            first = np.searchsorted(ts, lo, side="left" if g.per_day else "right")
            count[idx] = np.arange(len(idx)) - first + 1
            start[idx] = lo
    out = hits.assign(time=time.set_axis(hits.index), platform=plat, count=count)
    out["window_start"] = pd.to_datetime(start, utc=True).tz_convert(TZ_NAME)
    return out


def find_hits(df: pd.DataFrame, lex: lexicon.Lexicon, found: list[Group]) -> pd.DataFrame:
    """`scan` then `window_counts`, with `in_period` (the text was written in the scan period)."""
    hits = window_counts(scan(df, lex), df["time"], df["platform"], found)
    return hits.assign(in_period=df["in_period"].to_numpy()[hits["row"].to_numpy()])


def _product(skus: pd.Series, names: pd.Series) -> pd.Series:
    """The product name of each SKU, else the SKU (a chat has neither)."""
    found = skus.map(dict(names.items()))
    return pd.Series(np.where(found.notna(), found.astype(object), skus.astype(object)), index=skus.index,
                     dtype="str")


def _per_text(hits: pd.DataFrame, found: list[Group]) -> pd.DataFrame:
    """Per text position: the labels of its groups, its words, and its group ids."""
    label = {g.id: g.label for g in found}
    return hits.assign(label=hits["group"].map(label)).groupby("row", sort=True).agg(
        groups=("label", "、".join), words=("words", "、".join), ids=("group", list))


def hit_table(df: pd.DataFrame, hits: pd.DataFrame, names: pd.Series, found: list[Group]) -> pd.DataFrame:
    """The texts of the scan period with a hit, one row each: source, platform, id, time, product, rating, the
    groups and words, the text."""
    cols = ["source", "platform", "record_id", "order_id", "time", "product", "rating", "groups", "words", "text"]
    per = _per_text(hits[hits["in_period"]], found)
    rows = df.iloc[per.index].reset_index(drop=True)
    out = rows.assign(product=_product(rows["sku"], names), groups=per["groups"].to_numpy(),
                      words=per["words"].to_numpy())
    return out[cols]


def hit_note(df: pd.DataFrame, start: pd.Timestamp, until: pd.Timestamp) -> str:
    """What the hit table covers, or 无数据 when the scan period holds no text."""
    now = df[df["in_period"]]
    if now.empty:
        return (f"无数据：{start:%Y-%m-%d %H:%M} 至 {until:%Y-%m-%d %H:%M} 没有评价或会话（请确认评价导出是否已导入）")
    return (f"{start:%Y-%m-%d %H:%M} 至 {until:%Y-%m-%d %H:%M} 共 {int((now['source'] == REVIEW).sum()):,} 条评价、"
            f"{int((now['source'] == CHAT).sum()):,} 条会话；同一条命中多组时每组各计一次")


def alerts(df: pd.DataFrame, hits: pd.DataFrame, found: list[Group]) -> pd.DataFrame:
    """The groups whose count reached their threshold in a window ending inside the scan period, one row per group
    and scope (a platform, or 全店) at its fullest window (the earliest of equals): group, scope, window, count,
    threshold, owner, action and the ids of the texts in that window."""
    cols = ["group_id", "group", "scope", "window_start", "window_end", "count", "threshold", "owner", "action",
            "records"]
    rows = []
    ids = df["record_id"].to_numpy()
    for g in found:
        mine = hits[hits["group"] == g.id]
        top = mine[mine["in_period"] & (mine["count"] >= g.min_count)]
        scopes = top.groupby("platform", sort=True) if g.per_platform else ([("全店", top)] if len(top) else [])
        for scope, part in scopes:
            best = part.sort_values(["count", "time"], ascending=[False, True]).iloc[0]
            same = mine[mine["platform"] == scope] if g.per_platform else mine
            after = same["time"] >= best["window_start"] if g.per_day else same["time"] > best["window_start"]
            inside = same[after & (same["time"] <= best["time"])]
            first = best["window_start"] if g.per_day else inside["time"].min()
            end = best["window_start"] + pd.Timedelta(days=1) if g.per_day else best["time"]
            rows.append([g.id, g.label, scope, first, end, int(best["count"]), g.threshold(), g.owner,
                         g.action, "、".join(ids[inside["row"].to_numpy()])])
    return pd.DataFrame(rows, columns=cols)


def alert_note(warned: pd.DataFrame, found: list[Group]) -> str:
    """The groups and their rules under the alert table."""
    rules = "；".join(f"{g.label}：{g.threshold()}（{g.owner}）" for g in found)
    head = "扫描期内没有分组达到阈值" if warned.empty else f"{len(warned)} 个分组达到阈值（每组每个范围取计数最多的时间窗）"
    return f"{head}。阈值：{rules}"


# ---------------------------------------------------------------- crisis levels

def incidents(df: pd.DataFrame, hits: pd.DataFrame, names: pd.Series, found: list[Group], until: pd.Timestamp,
              bad_rating: int, reply_hours: int) -> pd.DataFrame:
    """Every complaint of the scan period with its crisis level and status: a review of ≤ `bad_rating` stars or a
    text with any risk word (三级); a media-exposure word makes it 一级; a complaint not answered within
    `reply_hours` by `until` is 超时未响应 and rises to 二级 (answered late: 超时后已响应, stays 三级)."""
    cols = ["level", "status", "source", "platform", "record_id", "order_id", "time", "product", "rating", "groups",
            "words", "deadline", "answered_time", "hours_to_answer", "text"]
    per = _per_text(hits[hits["in_period"]], found)
    bad = (df["rating"].le(bad_rating).fillna(False) & df["in_period"]).to_numpy()
    rows = sorted(set(np.flatnonzero(bad).tolist()) | set(per.index.tolist()))
    out = df.iloc[rows].reset_index(drop=True)
    info = per.reindex(rows)
    out["groups"] = info["groups"].fillna("差评").to_numpy()
    out["words"] = info["words"].fillna("").to_numpy()
    exposure = np.array([isinstance(v, list) and EXPOSURE in v for v in info["ids"]], dtype=bool)
    out["product"] = _product(out["sku"], names)
    out["deadline"] = out["time"] + pd.Timedelta(hours=reply_hours)
    answered = out["answered_time"].notna()
    on_time = answered & (out["answered_time"] <= out["deadline"])
    overdue = ~answered & (out["deadline"] <= until)
    out["hours_to_answer"] = ((out["answered_time"] - out["time"]).dt.total_seconds() / 3600).round(1)
    out["status"] = np.select([on_time.to_numpy(), answered.to_numpy(), overdue.to_numpy()],
                              ["已响应", "超时后已响应", OVERDUE], "待响应")
    out["level"] = np.select([exposure, overdue.to_numpy()], [L1, L2], L3)
    rank = out["level"].map({L1: 0, L2: 1, L3: 2})
    out = out.assign(rank_=rank).sort_values(["rank_", "time", "record_id"])
    return out[cols].reset_index(drop=True)


def platform_rates(df: pd.DataFrame, bad_rating: int, l2_bad_rate: float, min_reviews: int) -> pd.DataFrame:
    """Reviews, bad reviews (≤ `bad_rating` stars) and the bad-review rate per platform over the scan period; a
    platform above `l2_bad_rate` with at least `min_reviews` reviews is a 二级 crisis (单平台差评率过高)."""
    r = df[df["in_period"] & (df["source"] == REVIEW)]
    g = (r.assign(bad=r["rating"].le(bad_rating).astype("int64")).groupby("platform")
         .agg(reviews=("record_id", "size"), bad_reviews=("bad", "sum")))
    g = g.reindex([p for p in PLATFORMS if p in g.index]).reset_index()
    g["bad_review_rate"] = g["bad_reviews"] / g["reviews"]
    g["level"] = np.where((g["bad_review_rate"] > l2_bad_rate) & (g["reviews"] >= min_reviews), L2, "")
    return g


def rate_note(rates: pd.DataFrame, bad_rating: int, l2_bad_rate: float, min_reviews: int) -> str:
    """The definition under the platform table, or 无数据."""
    if rates.empty:
        return "无数据：扫描期内没有评价，无法计算差评率"
    few = rates.loc[rates["reviews"] < min_reviews, "platform"].tolist()
    extra = f"；{'、'.join(few)} 评价少于 {min_reviews} 条，不判断" if few else ""
    return (f"差评率 = 评分 ≤ {bad_rating} 星的评价 ÷ 扫描期内评价数；高于 {l2_bad_rate * 100:.0f}% 为二级危机"
            f"（单平台差评率过高）{extra}")


# ---------------------------------------------------------------- keyword ranks

NO_RANKS = pd.DataFrame(columns=["platform", "keyword", "prev_rank", "prev_days", "cur_rank", "cur_days", "drop_rate",
                                 "warning"])


def rank_windows(as_of: dt.date, days: int) -> tuple[dt.date, dt.date, dt.date]:
    """(previous window's first day, current window's first day, last day): two windows of `days` days ending with
    `as_of`."""
    first_cur = as_of - dt.timedelta(days=days - 1)
    return first_cur - dt.timedelta(days=days), first_cur, as_of


def rank_table(changes: pd.DataFrame | None) -> pd.DataFrame:
    """The ranking table as shown: the changes, or an empty table with their columns when the source has no ranks."""
    return NO_RANKS if changes is None else changes


def rank_changes(src: Source, as_of: dt.date, days: int, max_drop: float) -> pd.DataFrame | None:
    """Per platform and keyword: the mean rank over the last `days` days and over the `days` before (days with a
    rank), the drop = (current − previous) ÷ previous (a higher number is a lower place), and the warning: a drop
    above `max_drop`; out of the ranking all the current window after being in it; or out of it on more of its days
    (the share of days in the ranking fell by more than `max_drop`: 7 of 7 days → 3 of 7 — the mean of the 3 days
    alone would hide the fall). None without keyword_ranks."""
    if not src.has("keyword_ranks"):
        return None
    first_prev, first_cur, last = rank_windows(as_of, days)
    df = src.sql("""
        SELECT platform, keyword,
               avg(rank) FILTER (WHERE date < $cur) AS prev_rank, count(rank) FILTER (WHERE date < $cur) AS prev_days,
               avg(rank) FILTER (WHERE date >= $cur) AS cur_rank, count(rank) FILTER (WHERE date >= $cur) AS cur_days,
               count(*) FILTER (WHERE date >= $cur) AS cur_rows, count(*) FILTER (WHERE date < $cur) AS prev_rows
        FROM keyword_ranks WHERE date BETWEEN $first AND $last GROUP BY ALL ORDER BY platform, keyword""",
                 {"first": first_prev, "cur": first_cur, "last": last})
    df["drop_rate"] = ((df["cur_rank"] - df["prev_rank"]) / df["prev_rank"]).round(4)
    out_of = (df["cur_days"] == 0) & (df["cur_rows"] > 0) & (df["prev_days"] > 0)
    prev_share = df["prev_days"] / df["prev_rows"].where(df["prev_rows"] > 0)
    cur_share = df["cur_days"] / df["cur_rows"].where(df["cur_rows"] > 0)
    fewer = ((prev_share - cur_share) / prev_share > max_drop).fillna(False)
    df["warning"] = np.select([(df["drop_rate"] > max_drop).fillna(False).to_numpy(), out_of.to_numpy(),
                               fewer.to_numpy()],
                              ["一级流量预警：排名下降", "一级流量预警：跌出排名", "一级流量预警：多日跌出排名"], "")
    df["prev_rank"] = df["prev_rank"].round(1)
    df["cur_rank"] = df["cur_rank"].round(1)
    df = df.assign(w_=df["warning"] == "").sort_values(["w_", "drop_rate", "platform", "keyword"],
                                                       ascending=[True, False, True, True])
    return df[list(NO_RANKS.columns)].reset_index(drop=True)


def rank_note(changes: pd.DataFrame | None, as_of: dt.date, days: int) -> str:
    """The windows compared, or why there is nothing to compare (无数据)."""
    first_prev, first_cur, last = rank_windows(as_of, days)
    if changes is None:
        return "无数据：数据源中没有 keyword_ranks 表（关键词每日排名，可用模板 data/templates/关键词排名.csv 导入）"
    if changes.empty:
        return f"无数据：{first_prev} 至 {last} 没有关键词排名记录"
    return (f"本期 {first_cur} 至 {last}，上期 {first_prev} 至 {first_cur - dt.timedelta(days=1)}；平均排名只计有排名的"
            "日子，排名下降幅度 = (本期平均排名 − 上期平均排名) ÷ 上期平均排名；本期在榜天数占比比上期少了超过阈值"
            "（如上期 7/7 天在榜、本期只有 3/7 天）也预警「多日跌出排名」；上期没有排名的关键词不比较")


def rank_chart(src: Source, changes: pd.DataFrame | None, as_of: dt.date, days: int):
    """Daily ranks of the keywords with a warning over both windows (a higher number is a lower place), or None."""
    if changes is None:
        return None
    warned = changes[changes["warning"] != ""].head(5)
    if warned.empty:
        return None
    first, _, last = rank_windows(as_of, days)
    daily = src.sql("SELECT date, platform, keyword, rank FROM keyword_ranks WHERE date BETWEEN $first AND $last "
                    "ORDER BY date", {"first": first, "last": last})
    daily["name"] = daily["platform"] + " " + daily["keyword"]
    names = (warned["platform"] + " " + warned["keyword"]).tolist()
    wide = daily[daily["name"].isin(names)].pivot_table(index="date", columns="name", values="rank").reset_index()
    return charts.line(wide, "date", {n: n for n in names if n in wide}, "排名下降的关键词（每日排名，数字越大越靠后）")


# ---------------------------------------------------------------- summary and flags

def summary(df: pd.DataFrame, hits: pd.DataFrame, found: list[Group], inc: pd.DataFrame, warned: pd.DataFrame,
            changes: pd.DataFrame | None, start: pd.Timestamp, until: pd.Timestamp,
            bad_rating: int) -> tuple[dict, dict[str, str]]:
    """Headline metrics (result.json) and the report's cards, over the scan period."""
    now = df[df["in_period"]]
    reviews = now[now["source"] == REVIEW]
    hits = hits[hits["in_period"]]
    bad = int(reviews["rating"].le(bad_rating).sum())
    levels = {lv: int((inc["level"] == lv).sum()) for lv in (L1, L2, L3)}
    per_group = {g.label: int((hits["group"] == g.id).sum()) for g in found}
    drops = int((changes["warning"] != "").sum()) if changes is not None else None
    metrics = {"scan_from": start.isoformat(), "scan_until": until.isoformat(), "reviews": int(len(reviews)),
               "chats": int((now["source"] == CHAT).sum()), "texts_hit": int(hits["row"].nunique()),
               "hits": per_group, "bad_reviews": bad,
               "bad_review_rate": round(bad / len(reviews), 6) if len(reviews) else None,
               "alerts": int(len(warned)), "levels": levels, "overdue": int((inc["status"] == OVERDUE).sum()),
               "open": int((inc["status"] == "待响应").sum()), "rank_drops": drops}
    rate = "—（无评价）" if metrics["bad_review_rate"] is None else f"{metrics['bad_review_rate'] * 100:.1f}%"
    cards = {"扫描时段": f"{start:%Y-%m-%d %H:%M} 至 {until:%Y-%m-%d %H:%M}",
             "评价 / 会话": f"{metrics['reviews']:,} / {metrics['chats']:,}",
             "命中风险词": f"{metrics['texts_hit']:,} 条", "差评率（1–2 星）": rate, "词组预警": f"{len(warned)}",
             "一级 / 二级 / 三级": " / ".join(str(v) for v in levels.values()),
             "超时未响应": f"{metrics['overdue']}", "排名下降预警": "—（无排名数据）" if drops is None else f"{drops} 个"}
    return metrics, cards


def _span(r, g: Group) -> str:
    if g.per_day:
        return f"{r.window_start:%m-%d} 当天"
    if r.window_start == r.window_end:
        return f"{r.window_start:%m-%d %H:%M}"
    return f"{r.window_start:%m-%d %H:%M} 至 {r.window_end:%m-%d %H:%M}"


def _records(rows: pd.DataFrame, n: int = 3) -> str:
    return "；".join(f"{r.platform} {r.record_id}「{str(r.text)[:30]}」" for r in rows.head(n).itertuples())


GROUP_WHAT = {QUALITY: "质量问题集中出现", COMPETITOR: "疑似竞品攻击", POLICY: "出现政策合规风险词", CLAIMANT: "疑似职业打假",
              EXPOSURE: "一级危机：出现媒体曝光相关内容"}


def findings(warned: pd.DataFrame, inc: pd.DataFrame, rates: pd.DataFrame, changes: pd.DataFrame | None,
             found: list[Group], *, reply_hours: int, l2_bad_rate: float, rank_drop: float, rank_days: int) -> list[Flag]:
    """Flags: each group over its threshold (quality → 品控 urgent QC, competitor → 运营/客服, policy → 法务 self-check,
    claimant → 法务/客服, exposure → 一级 crisis, added groups with their own owner); complaints unanswered past their
    deadline (二级), complaints still open (三级); platforms with a bad-review rate above the 二级 line; keywords whose
    rank fell more than `rank_drop` (一级流量预警, 运营)."""
    out = []
    by_id = {g.id: g for g in found}
    shown = ["level", "status", "platform", "record_id", "order_id", "time", "product", "rating", "groups", "words",
             "text"]
    for r in warned.itertuples():
        g = by_id[r.group_id]
        code = f"risk.{g.id}" if g.id in BUILT_IN else f"risk.group.{g.id}"
        scope = f"{r.scope} " if r.scope != "全店" else ""
        rows = inc[inc["record_id"].isin(r.records.split("、"))]
        out.append(make(code, g.severity, g.owner,
                        f"{scope}{GROUP_WHAT.get(g.id, f'「{g.label}」达到阈值')}：{_span(r, g)} "
                        f"{r.count} 条（阈值：{r.threshold}）——{_records(rows)}。{g.action}", rows[shown]))
    late = inc[inc["status"] == OVERDUE]
    if len(late):
        out.append(make("risk.overdue", "high", "客服",
                        f"{len(late)} 条投诉（差评或命中风险词）超过 {reply_hours} 小时未响应，已升为二级危机——"
                        f"{_records(late)}：请立即回复并联系买家跟进解决（道歉 → 补偿 → 升级）", late[shown]))
    waiting = inc[inc["status"] == "待响应"]
    if len(waiting):
        out.append(make("risk.open", "medium", "客服",
                        f"{len(waiting)} 条投诉待响应（三级），最早的响应截止 {waiting['deadline'].min():%m-%d %H:%M}——"
                        f"{_records(waiting)}：请在 {reply_hours} 小时内回复并跟进，超时将升为二级", waiting[shown]))
    high = rates[rates["level"] == L2]
    if len(high):
        out.append(make("risk.platform_bad_rate", "high", "客服、运营",
                        "二级危机：单平台差评率过高 " + "、".join(
                            f"{r.platform} {r.bad_review_rate * 100:.1f}%（{r.bad_reviews}/{r.reviews}）"
                            for r in high.itertuples()) + f"，高于 {l2_bad_rate * 100:.0f}%：请逐条联系差评买家、"
                        "提供补偿方案，并排查差评集中的商品", high))
    if changes is not None:
        warned_kw = changes[changes["warning"] != ""]
        if len(warned_kw):
            out.append(make("risk.rank_drop", "high", "运营",
                            f"一级流量预警：{len(warned_kw)} 个关键词最近 {rank_days} 天的排名（平均排名或在榜天数）比之前 {rank_days} 天"
                            f"下降超过 {rank_drop * 100:.0f}%（" + "、".join(
                                f"{r.platform}「{r.keyword}」{r.prev_rank:g} → "
                                + (f"{r.cur_rank:g}（下降 {r.drop_rate * 100:.0f}%）" if r.warning.endswith("排名下降")
                                   else "跌出排名" if pd.isna(r.cur_rank) else
                                   f"{r.cur_rank:g}（本期只有 {r.cur_days} 天在榜，上期 {r.prev_days} 天）")
                                for r in warned_kw.head(5).itertuples())
                            + "）：请检查标题、主图、价格与推广计划，排查是否违规降权", warned_kw))
    return out
