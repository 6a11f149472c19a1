"""Service quality (客服质量): first-response shares within 10 s and 30 s, sessions by category (售前/售中/售后), 1–2 star
ratings not followed up within 2 h, complex after-sales sessions open for more than 24 h, 催付 success (joined to the
orders), the bad-review rate and a DSR proxy trend (weekly mean review rating per platform) — all per agent,
computed in DuckDB over `cs_sessions`, `orders` and (when present) `reviews`."""
from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass

import pandas as pd

from .. import charts, report
from ..errors import ParamError
from ..flags import Flag, make
from ..settings import TZ_NAME
from ..sources import Source
from . import periods

# Chinese labels of the headline metrics in result.json (what delivered report cards show), with their number format
METRICS = {"first_day": "统计开始", "last_day": "统计截至", "sessions": "会话数", "agents": "客服人数",
           "fast_rate": ("10 秒响应率", "pct"), "target_rate": ("30 秒响应率", "pct"),
           "low_ratings": "1–2 星评价", "low_overdue": "未按时回访", "complex_open": "超 24 小时未解决的复杂售后",
           "urge_sessions": "催付会话", "urge_rate": ("催付成功率", "pct"), "reviews": "评价数",
           "bad_review_rate": ("差评率", "pct"), "mean_review_stars": "评价平均星级"}
# follow-up times of the tasks the flags open, from the SOP: the supervisor calls a low rating back within
# `follow_up_hours`; a complex after-sales case gets its solution within `complex_hours`
FOLLOW_UP = {"service.low_rating_overdue": "follow_up_hours", "service.complex_open": "complex_hours"}

LABELS = {
    "agent": "客服", "sessions": "会话数", "pre_sale": "售前", "in_sale": "售中", "after_sale": "售后",
    "unanswered": "未响应", "fast": "10 秒内响应", "fast_rate": "10 秒响应率", "within": "30 秒内响应",
    "within_rate": "30 秒响应率", "median_response_s": "首次响应中位数（秒）", "rated": "评价会话",
    "mean_stars": "会话平均评分", "low_ratings": "1–2 星", "low_overdue": "未按时回访", "complex": "复杂售后",
    "complex_late": "复杂售后超时", "urge": "催付会话", "urge_judged": "催付可判定", "urge_paid": "催付后付款",
    "urge_rate": "催付成功率", "reviews": "经手订单评价", "bad_reviews": "经手订单差评", "bad_review_rate": "经手订单差评率",
    "below_floor": "低于个人底线", "session_id": "会话ID", "topic": "问题类型", "order_id": "订单编号",
    "start_time": "会话开始时间", "first_response_s": "首次响应（秒）", "resolved_time": "解决时间", "rating": "会话评分",
    "follow_up_time": "回访时间", "due": "应回访时间", "state": "状态", "hours_open": "已持续（小时）", "text": "会话摘要",
    "share": "占比", "paid_time": "付款时间", "week_start": "周开始", "week": "周", "mean_review_stars": "评价平均星级",
    "bad_rate": "差评率", "categories": "咨询阶段", "category": "咨询阶段", "channel": "接待渠道", "unmatched": "未匹配到订单",
    "urge_pending": "待判定",
}
CATEGORIES = ("售前", "售中", "售后")
NO_REVIEWS = "无评价数据：数据源中没有 reviews 表（评价导出用 opsbook ingest 导入后再运行），差评率和 DSR 走势未计算"
DSR_NOTE = ("DSR（描述相符 / 服务态度 / 物流服务）是平台按最近 180 天动态评分算出的店铺分，导出中没有：这里用每周评价的平均星级"
            "作近似（每个平台一条线），只看走势，不等于平台显示的 DSR 分")
DEFINITIONS = ("10 秒 / 30 秒响应率 = 首次响应不超过该秒数的会话 ÷ 全部会话（客户先离开、未响应的会话算未达标）；"
               "复杂售后 = 售后会话中问题类型属于参数所列类型的；催付成功 = 催付会话的订单在会话开始后、参数给定小时数内付款"
               "（付款早于催付、订单表中找不到的不算成功；时限未到且尚未付款的暂不判定，到有结果的那一期再判定）；"
               "经手订单差评率 = 该客服接待过的订单收到的评价中评分不高于差评线的比例（评价不分摊到客服，按订单归属）")


@dataclass(frozen=True)
class Lines:
    """The service lines (all parameters)."""

    fast_seconds: int
    target_seconds: int
    target_rate: float
    agent_floor: float
    min_agent_sessions: int
    low_rating_max: int
    follow_up_hours: float
    complex_topics: tuple[str, ...]
    complex_hours: float
    urge_topic: str
    urge_hours: float
    bad_rating_max: int
    bad_review_target: float
    min_reviews: int

    def check(self) -> None:
        """ParamError (in Chinese) for lines that contradict each other or name nothing."""
        problems = []
        if self.fast_seconds > self.target_seconds:
            problems.append(f"快速响应秒数（{self.fast_seconds}）不能大于响应目标秒数（{self.target_seconds}）")
        if self.agent_floor > self.target_rate:
            problems.append(f"个人响应率底线（{self.agent_floor:g}）不能高于店铺响应率目标（{self.target_rate:g}）")
        if not self.complex_topics:
            problems.append("复杂售后问题类型不能为空：用顿号或逗号分隔，如 退换货、质量问题、投诉")
        if not self.urge_topic.strip():
            problems.append("催付问题类型不能为空（如 催付）")
        if problems:
            raise ParamError(problems)

    @classmethod
    def of(cls, p) -> Lines:
        """The lines from the run's parameters."""
        topics = tuple(t.strip() for t in p.complex_topics.replace("，", "、").replace(",", "、").split("、") if t.strip())
        return cls(p.fast_seconds, p.target_seconds, p.target_rate, p.agent_floor, p.min_agent_sessions,
                   p.low_rating_max, p.follow_up_hours, topics, p.complex_hours, p.urge_topic.strip(), p.urge_hours,
                   p.bad_rating_max, p.bad_review_target, p.min_reviews)


@dataclass(frozen=True)
class Window:
    """The report's days (first … last, whole days in China time) and the platform it covers."""

    first: dt.date
    last: dt.date
    platform: str

    @property
    def start(self) -> pd.Timestamp:
        """Midnight starting the first day."""
        return pd.Timestamp(self.first, tz=TZ_NAME)

    @property
    def end(self) -> pd.Timestamp:
        """Midnight ending the last day: what happened later is not known at the report."""
        return pd.Timestamp(self.last + dt.timedelta(days=1), tz=TZ_NAME)

    def where(self, alias: str = "") -> str:
        """SQL condition of the platform (`$platform`), true for 全部."""
        col = f"{alias}.platform" if alias else "platform"
        return "true" if self.platform == "全部" else f"{col} = $platform"

    def args(self, **more) -> dict:
        """Query parameters: the window's bounds and platform, with `more`."""
        out = {"start": self.start.to_pydatetime(), "end": self.end.to_pydatetime()} | more
        return out | ({"platform": self.platform} if self.platform != "全部" else {})


def window(as_of: dt.date, period: str, platform: str = "全部") -> Window:
    """The day `as_of` (日) or the 7 days ending with it (周)."""
    days = 1 if periods.PERIODS[period] == "day" else 7
    return Window(as_of - dt.timedelta(days=days - 1), as_of, platform)


def _sql(src: Source, query: str, params: dict) -> pd.DataFrame:
    """`src.sql` with only the parameters the query names (DuckDB refuses the others)."""
    used = set(re.findall(r"\$([a-z_]+)", query))
    return src.sql(query, {k: v for k, v in params.items() if k in used})


def _orders_paid(src: Source) -> str:
    """A relation of (platform, order_id, pay_time): each order's first payment, or none when no orders table."""
    if not src.has("orders"):
        return "(SELECT NULL::VARCHAR AS platform, NULL::VARCHAR AS order_id, NULL::TIMESTAMPTZ AS pay_time WHERE false)"
    return "(SELECT platform, order_id, min(pay_time) AS pay_time FROM orders GROUP BY 1, 2)"


# when a low rating's follow-up is due: its resolution (else its start) plus the follow-up hours
_DUE = "(coalesce(resolved_time, start_time) + $follow)"


def _urge(w: Window, key: str) -> str:
    """Per `key`, 催付 sessions (a relation `paid` of each order's first payment must be in the query): `urge` started
    in the window; `urge_judged` decided in it — paid within the hours (success, decided when paid) or the hours ran
    out unpaid (decided then) — whenever the session started, so a daily report judges yesterday's evening sessions
    the next day instead of never (and does not count only the same-day successes); `urge_paid` the successes among
    them; `urge_pending` the window's sessions not decided at its end; `unmatched` the window's sessions whose order
    is not in the orders table (they count as unpaid)."""
    return f"""(SELECT {key}, count(*) FILTER (WHERE fresh) AS urge,
                       count(*) FILTER (WHERE (ok AND pay_time >= $start) OR (NOT ok AND due <= $end)) AS urge_judged,
                       count(*) FILTER (WHERE ok AND pay_time >= $start) AS urge_paid,
                       count(*) FILTER (WHERE fresh AND NOT ok AND due > $end) AS urge_pending,
                       count(*) FILTER (WHERE fresh AND NOT matched) AS unmatched
                FROM (SELECT s.{key}, s.start_time >= $start AS fresh, p.order_id IS NOT NULL AS matched, p.pay_time,
                             s.start_time + $urge AS due,
                             coalesce(p.pay_time >= s.start_time AND p.pay_time < s.start_time + $urge
                                      AND p.pay_time < $end, false) AS ok
                      FROM cs_sessions s LEFT JOIN paid p USING (platform, order_id)
                      WHERE s.topic = $urge_topic AND s.start_time < $end AND s.start_time + $urge > $start
                        AND {w.where('s')}) u
                GROUP BY 1)"""


def _review_agents(src: Source, w: Window, lines: Lines) -> str:
    """Per agent, the reviews (in the window) of the orders the agent served in any session, and the bad ones."""
    if not src.has("reviews"):
        return "(SELECT NULL::VARCHAR AS agent, 0 AS reviews, 0 AS bad_reviews WHERE false)"
    return f"""(SELECT s.agent, count(DISTINCT r.review_id) AS reviews,
                       count(DISTINCT r.review_id) FILTER (WHERE r.rating <= {int(lines.bad_rating_max)}) AS bad_reviews
                FROM reviews r JOIN (SELECT DISTINCT platform, order_id, agent FROM cs_sessions
                                     WHERE order_id IS NOT NULL) s USING (platform, order_id)
                WHERE r.review_time >= $start AND r.review_time < $end AND {w.where('r')} GROUP BY 1)"""


def agents(src: Source, w: Window, lines: Lines) -> pd.DataFrame:
    """One row per agent who had sessions starting in the window: sessions per category, unanswered, answered within
    the fast and the target seconds (shares of all sessions), the median first response, rated sessions and their
    mean, 1–2 star ratings and those whose follow-up fell due in the window and was missed or late (`low_overdue`),
    complex after-sales sessions and those whose solution was due in the window and missed (`complex_late`, whenever
    they started: a daily window could never hold a whole 24 h), 催付 sessions, judged and paid (the success rate), and the
    reviews (in the window) of the orders the agent served; `below_floor` for agents with enough sessions whose
    target share is under the personal floor."""
    src.check("cs_sessions")
    topics = list(lines.complex_topics)
    df = _sql(src, f"""
        WITH s AS (SELECT * FROM cs_sessions WHERE start_time >= $start AND start_time < $end AND {w.where()}),
        paid AS {_orders_paid(src)},
        urge AS {_urge(w, "agent")},
        rv AS {_review_agents(src, w, lines)},
        lo AS (SELECT agent, count(*) AS low_overdue FROM cs_sessions
               WHERE {w.where()} AND rating <= $low AND start_time < $end
                 AND {_DUE} > $start AND {_DUE} <= $end AND (follow_up_time IS NULL OR follow_up_time > {_DUE})
               GROUP BY 1),
        cl AS (SELECT agent, count(*) AS complex_late FROM cs_sessions
               WHERE {w.where()} AND category = '售后' AND list_contains($topics, topic)
                 AND start_time + $complex > $start AND start_time + $complex <= $end
                 AND (resolved_time IS NULL OR resolved_time > start_time + $complex)
               GROUP BY 1),
        a AS (SELECT agent, count(*) AS sessions,
                     count(*) FILTER (WHERE category = '售前') AS pre_sale,
                     count(*) FILTER (WHERE category = '售中') AS in_sale,
                     count(*) FILTER (WHERE category = '售后') AS after_sale,
                     count(*) FILTER (WHERE first_response_s IS NULL) AS unanswered,
                     count(*) FILTER (WHERE first_response_s <= $fast) AS fast,
                     count(*) FILTER (WHERE first_response_s <= $target) AS within,
                     median(first_response_s) AS median_response_s,
                     count(rating) FILTER (WHERE coalesce(resolved_time, start_time) < $end) AS rated,
                     avg(rating) FILTER (WHERE coalesce(resolved_time, start_time) < $end) AS mean_stars,
                     count(*) FILTER (WHERE rating <= $low AND coalesce(resolved_time, start_time) < $end) AS low_ratings,
                     count(*) FILTER (WHERE category = '售后' AND list_contains($topics, topic)) AS complex
              FROM s GROUP BY 1)
        SELECT a.*, coalesce(urge.urge, 0) AS urge, coalesce(urge.urge_judged, 0) AS urge_judged,
               coalesce(urge.urge_paid, 0) AS urge_paid, coalesce(urge.unmatched, 0) AS unmatched,
               coalesce(rv.reviews, 0) AS reviews, coalesce(rv.bad_reviews, 0) AS bad_reviews,
               coalesce(lo.low_overdue, 0) AS low_overdue, coalesce(cl.complex_late, 0) AS complex_late
        FROM a LEFT JOIN urge USING (agent) LEFT JOIN rv USING (agent) LEFT JOIN lo USING (agent)
             LEFT JOIN cl USING (agent) ORDER BY a.agent""",
                 w.args(fast=lines.fast_seconds, target=lines.target_seconds, low=lines.low_rating_max,
                        follow=dt.timedelta(hours=lines.follow_up_hours), topics=topics,
                        complex=dt.timedelta(hours=lines.complex_hours), urge=dt.timedelta(hours=lines.urge_hours),
                        urge_topic=lines.urge_topic))
    for col in ("sessions", "pre_sale", "in_sale", "after_sale", "unanswered", "fast", "within", "rated", "low_ratings",
                "low_overdue", "complex", "complex_late", "urge", "urge_judged", "urge_paid", "unmatched", "reviews",
                "bad_reviews"):
        df[col] = df[col].astype("int64")
    df["fast_rate"] = df["fast"] / df["sessions"]
    df["within_rate"] = df["within"] / df["sessions"]
    if not src.has("orders"):  # no payments to look at: nothing is judged (no fake 0 %)
        df["urge_judged"] = 0
    df["urge_rate"] = df["urge_paid"] / df["urge_judged"].where(df["urge_judged"] > 0)
    df["bad_review_rate"] = df["bad_reviews"] / df["reviews"].where(df["reviews"] > 0)
    df["mean_stars"] = df["mean_stars"].round(2)
    df["below_floor"] = (df["sessions"] >= lines.min_agent_sessions) & (df["within_rate"] < lines.agent_floor)
    if not src.has("reviews"):
        df[["reviews", "bad_reviews"]] = pd.NA
    return df


def agent_table(table: pd.DataFrame) -> pd.DataFrame:
    """The per-agent table as shown: the slowest first."""
    cols = ["agent", "sessions", "pre_sale", "in_sale", "after_sale", "unanswered", "fast_rate", "within_rate",
            "median_response_s", "rated", "mean_stars", "low_ratings", "low_overdue", "complex", "complex_late", "urge",
            "urge_paid", "urge_rate", "reviews", "bad_reviews", "bad_review_rate"]
    return table.sort_values(["within_rate", "agent"])[cols].reset_index(drop=True)


def agent_note(table: pd.DataFrame, lines: Lines, w: Window) -> str:
    """What the agent table holds (or 无数据), with the definitions."""
    if table.empty:
        return f"{w.first} 至 {w.last} 没有客服会话（无数据）：请检查参考日期、平台，或导入接待记录"
    few = table[table["sessions"] < lines.min_agent_sessions]["agent"].tolist()
    extra = (f"\n{'、'.join(few)} 会话少于 {lines.min_agent_sessions} 个，响应率只作参考，不判断是否低于个人底线"
             if few else "")
    return (f"统计 {w.first} 至 {w.last} 开始的会话（每个客服一行，30 秒响应率低的在前）；回访和解决情况判断到 {w.last} 结束。"
            f"{extra}\n{DEFINITIONS}")


def summary(table: pd.DataFrame, open_complex: pd.DataFrame, reviews: pd.DataFrame | None, w: Window
            ) -> tuple[dict, dict[str, str]]:
    """Headline metrics (result.json) and cards; None (—) where there is nothing to divide by."""
    n = int(table["sessions"].sum())
    judged = int(table["urge_judged"].sum())

    def rate(num, den):
        return round(float(num / den), 6) if den else None

    total_reviews = int(reviews["reviews"].sum()) if reviews is not None else None
    bad = int(reviews["bad_reviews"].sum()) if reviews is not None else None
    stars = (round(float((reviews["mean_review_stars"] * reviews["reviews"]).sum() / total_reviews), 4)
             if total_reviews else None)
    metrics = {"first_day": w.first.isoformat(), "last_day": w.last.isoformat(), "sessions": n,
               "agents": int(len(table)), "categories": {c: int(table[k].sum()) for c, k in
                                                         zip(CATEGORIES, ("pre_sale", "in_sale", "after_sale"))},
               "fast_rate": rate(table["fast"].sum(), n), "target_rate": rate(table["within"].sum(), n),
               "low_ratings": int(table["low_ratings"].sum()), "low_overdue": int(table["low_overdue"].sum()),
               "complex_open": int(len(open_complex)), "urge_sessions": int(table["urge"].sum()),
               "urge_judged": judged, "urge_paid": int(table["urge_paid"].sum()),
               "urge_rate": rate(table["urge_paid"].sum(), judged), "reviews": total_reviews, "bad_reviews": bad,
               "bad_review_rate": rate(bad, total_reviews), "mean_review_stars": stars}

    cards = {"统计期": f"{w.first} 至 {w.last}" if w.first != w.last else f"{w.last}",
             "会话 / 客服": f"{n:,} / {len(table)}" if n else "无数据",
             "10 秒响应率": report.pct(metrics["fast_rate"]), "30 秒响应率": report.pct(metrics["target_rate"]),
             "1–2 星 / 未按时回访": f"{metrics['low_ratings']} / {metrics['low_overdue']}",
             "超 24 小时未解决复杂售后": f"{len(open_complex)}",
             "催付成功率": f"{report.pct(metrics['urge_rate'])}（{metrics['urge_paid']}/{judged}）" if judged else "—",
             "差评率": ("无评价数据" if reviews is None else
                     f"{report.pct(metrics['bad_review_rate'])}（{bad}/{total_reviews}）" if total_reviews else "无数据")}
    return metrics, cards


def categories(src: Source, w: Window) -> pd.DataFrame:
    """Sessions per category (售前/售中/售后) and platform in the window, with each category's share and its top topics."""
    src.check("cs_sessions")
    df = _sql(src, f"""
        SELECT category, platform, count(*) AS sessions FROM cs_sessions
        WHERE start_time >= $start AND start_time < $end AND {w.where()} GROUP BY 1, 2""", w.args())
    if df.empty:
        return pd.DataFrame(columns=["categories", "sessions", "share", "topic"])
    wide = df.pivot_table(index="category", columns="platform", values="sessions", aggfunc="sum", fill_value=0)
    wide = wide.reindex([c for c in CATEGORIES if c in wide.index])
    out = pd.DataFrame({"categories": wide.index, "sessions": wide.sum(axis=1).astype("int64").to_numpy()})
    out["share"] = out["sessions"] / out["sessions"].sum()
    topics = _sql(src, f"""
        SELECT category, topic, count(*) AS n FROM cs_sessions
        WHERE start_time >= $start AND start_time < $end AND {w.where()} AND topic IS NOT NULL
        GROUP BY 1, 2 ORDER BY 1, n DESC, 2""", w.args())
    top = topics.groupby("category").apply(lambda t: "、".join(f"{r.topic} {r.n}" for r in t.head(4).itertuples()),
                                           include_groups=False)
    out["topic"] = out["categories"].map(top).fillna("")
    for p in wide.columns:
        out[p] = wide[p].astype("int64").to_numpy()
    return out


def low_ratings(src: Source, w: Window, lines: Lines) -> pd.DataFrame:
    """Sessions of the window rated `low_rating_max` stars or less, each with the time its follow-up is due
    (resolution, else start, plus the follow-up hours) and its state at the window's end: 已按时回访, 超时回访, 未回访
    (overdue), 待回访 (not due yet); overdue ones first. A follow-up after the window's end is not known then.
    Sessions of an earlier window whose follow-up fell due after its end (a 1-star at 23:00, judged by the next day's
    report) are listed too: each low rating is judged in the window where its follow-up falls due."""
    src.check("cs_sessions")
    df = _sql(src, f"""
        SELECT session_id, platform, agent, category, topic, order_id, start_time, rating,
               coalesce(resolved_time, start_time) + $follow AS due,
               CASE WHEN follow_up_time < $end THEN follow_up_time END AS follow_up_time, text
        FROM cs_sessions WHERE start_time < $end AND {w.where()} AND rating <= $low
          AND coalesce(resolved_time, start_time) < $end AND (start_time >= $start OR {_DUE} > $start)
        ORDER BY start_time, session_id""",
                 w.args(follow=dt.timedelta(hours=lines.follow_up_hours), low=lines.low_rating_max))
    end = w.end
    state = pd.Series("待回访", index=df.index, dtype="str")
    state[df["follow_up_time"].notna() & (df["follow_up_time"] <= df["due"])] = "已按时回访"
    state[df["follow_up_time"].notna() & (df["follow_up_time"] > df["due"])] = "超时回访"
    state[df["follow_up_time"].isna() & (df["due"] <= end)] = "未回访"
    df["state"] = state
    order = {"未回访": 0, "超时回访": 1, "待回访": 2, "已按时回访": 3}
    df = df.sort_values(["state", "start_time"], key=lambda s: s.map(order) if s.name == "state" else s)
    return df.reset_index(drop=True)


def low_note(low: pd.DataFrame, lines: Lines) -> str:
    """What the low-rating list holds."""
    if low.empty:
        return f"统计期内没有 {lines.low_rating_max} 星及以下的会话评价"
    counts = low["state"].value_counts()
    shown = "，".join(f"{k} {int(counts.get(k, 0))}" for k in ("未回访", "超时回访", "待回访", "已按时回访"))
    return (f"{lines.low_rating_max} 星及以下的会话评价 {len(low)} 个：{shown}。客服主管应在会话解决（未解决的从会话开始）后 "
            f"{lines.follow_up_hours:g} 小时内联系客户致歉并跟进，记入《客户满意度改进表》。上期结束时还没到回访时限的低分会话"
            "（如前一天深夜的差评）在本期列出并判断")


def open_complex(src: Source, w: Window, lines: Lines) -> pd.DataFrame:
    """Complex after-sales sessions (any start, up to the window's end) still unresolved at the window's end and
    started more than `complex_hours` before it, the longest open first (the platform filter applies)."""
    src.check("cs_sessions")
    df = _sql(src, f"""
        SELECT session_id, platform, agent, topic, order_id, start_time, first_response_s,
               round(date_diff('minute', start_time, $end::TIMESTAMPTZ) / 60.0, 1) AS hours_open, text
        FROM cs_sessions
        WHERE category = '售后' AND list_contains($topics, topic) AND start_time + $complex <= $end AND {w.where()}
          AND (resolved_time IS NULL OR resolved_time >= $end)
        ORDER BY start_time, session_id""",
                 w.args(topics=list(lines.complex_topics), complex=dt.timedelta(hours=lines.complex_hours)))
    return df


def complex_note(rows: pd.DataFrame, lines: Lines, w: Window) -> str:
    """What the open complex after-sales list holds."""
    kinds = "、".join(lines.complex_topics)
    if rows.empty:
        return f"截至 {w.last} 结束，没有超过 {lines.complex_hours:g} 小时仍未解决的复杂售后（{kinds}）"
    return (f"截至 {w.last} 结束仍未解决、已超过 {lines.complex_hours:g} 小时的复杂售后（{kinds}）：复杂问题须在 "
            f"{lines.complex_hours:g} 小时内给出解决方案，请立即处理并告知客户进度")


def urge_by_platform(src: Source, w: Window, lines: Lines) -> pd.DataFrame:
    """催付 sessions per platform: the window's sessions, those judged in the window (see `_urge`), paid within the
    hours, the success rate, the window's sessions still pending and those whose order is not in the orders table."""
    src.check("cs_sessions")
    df = _sql(src, f"""
        WITH paid AS {_orders_paid(src)}
        SELECT * FROM {_urge(w, "platform")} ORDER BY 1""",
                 w.args(urge=dt.timedelta(hours=lines.urge_hours), urge_topic=lines.urge_topic))
    for col in ("urge", "urge_judged", "urge_paid", "unmatched", "urge_pending"):
        df[col] = df[col].astype("int64")
    if not src.has("orders"):  # no payments to look at: nothing is judged (no fake 0 %)
        df["urge_judged"] = 0
    df["urge_rate"] = df["urge_paid"] / df["urge_judged"].where(df["urge_judged"] > 0)
    return df


def urge_note(urge: pd.DataFrame, lines: Lines, has_orders: bool) -> str:
    """What the 催付 table holds."""
    if not has_orders:
        return "数据源中没有 orders 表：无法判断催付后是否付款（催付成功率未计算）"
    if urge.empty:
        return f"统计期内没有问题类型为“{lines.urge_topic}”的会话（无数据）"
    pending = int(urge["urge_pending"].sum())
    unmatched = int(urge["unmatched"].sum())
    return (f"催付成功 = 订单在催付会话开始后 {lines.urge_hours:g} 小时内付款；每个催付会话在有结果的一期判定一次（付款的在付款当期，"
            f"未付款的在满 {lines.urge_hours:g} 小时的当期，所以本期判定的会话可以包括上期末开始的）"
            + (f"；{pending} 个催付会话尚未满 {lines.urge_hours:g} 小时且订单还没付款，暂不判定" if pending else "")
            + (f"；{unmatched} 个催付会话的订单在订单表中找不到，算未成功" if unmatched else ""))


def reviews(src: Source, w: Window, lines: Lines) -> pd.DataFrame | None:
    """Reviews of the window per platform: count, bad ones (rating ≤ the bad-review line), the bad-review rate and the
    mean stars; None when the source has no reviews table (无评价数据)."""
    if not src.has("reviews"):
        return None
    df = _sql(src, f"""
        SELECT platform, count(*) AS reviews, count(*) FILTER (WHERE rating <= $bad) AS bad_reviews,
               avg(rating) AS mean_review_stars
        FROM reviews WHERE review_time >= $start AND review_time < $end AND {w.where()} GROUP BY 1 ORDER BY 1""",
                 w.args(bad=lines.bad_rating_max))
    df["reviews"] = df["reviews"].astype("int64")
    df["bad_reviews"] = df["bad_reviews"].astype("int64")
    df["bad_review_rate"] = df["bad_reviews"] / df["reviews"]
    return df


def review_note(rv: pd.DataFrame | None, lines: Lines, w: Window) -> str:
    """What the review table holds (or why there is none)."""
    if rv is None:
        return NO_REVIEWS
    if rv.empty:
        return f"{w.first} 至 {w.last} 没有评价（无数据）：差评率未计算"
    return (f"差评 = 评分不高于 {lines.bad_rating_max} 星的评价；差评率 = 差评 ÷ 评价数（目标 ≤ "
            f"{lines.bad_review_target * 100:.1f}%，种子案例 2.3% → 0.7%）")


def review_table(rv: pd.DataFrame | None) -> pd.DataFrame:
    """The review table as shown: an empty one with its columns when there are no review data."""
    return rv if rv is not None else pd.DataFrame(columns=["platform", "reviews", "bad_reviews", "bad_review_rate",
                                                           "mean_review_stars"])


def trend_table(trend: pd.DataFrame | None) -> pd.DataFrame:
    """The DSR proxy table as shown: an empty one with its columns when there are no review data."""
    return trend if trend is not None else pd.DataFrame(columns=["week", "platform", "reviews", "mean_review_stars"])


def dsr_trend(src: Source, w: Window, weeks: int) -> pd.DataFrame | None:
    """The DSR proxy: each platform's mean review stars per week (Monday to Sunday) over the `weeks` weeks ending with
    the window's last day (a last week cut at that day); None without a reviews table."""
    if not src.has("reviews"):
        return None
    last_week = periods.bucket_start(w.last, "周")
    first = periods.shift(last_week, "周", -(weeks - 1))
    df = _sql(src, f"""
        SELECT CAST(date_trunc('week', review_time) AS DATE) AS week_start, platform, count(*) AS reviews,
               avg(rating) AS mean_review_stars
        FROM reviews WHERE review_time >= $first AND review_time < $end AND {w.where()}
        GROUP BY 1, 2 ORDER BY 1, 2""",
                 w.args(first=pd.Timestamp(first, tz=TZ_NAME).to_pydatetime()))
    df["reviews"] = df["reviews"].astype("int64")
    df["mean_review_stars"] = df["mean_review_stars"].round(3)
    df["week"] = [periods.label(pd.Timestamp(d).date(), "周") for d in df["week_start"]]
    return df[["week", "platform", "reviews", "mean_review_stars"]]


def dsr_chart(trend: pd.DataFrame | None):
    """Line chart of the weekly mean review stars per platform (the DSR proxy); a note when there is nothing to draw."""
    if trend is None or trend.empty:
        from IPython.display import HTML
        return HTML(f'<div class="ob-params">{html.escape(dsr_note(trend))}</div>')
    wide = trend.pivot_table(index="week", columns="platform", values="mean_review_stars").reset_index()
    return charts.line(wide, "week", {p: p for p in wide.columns if p != "week"},
                       "每周评价平均星级（DSR 近似，按平台）")


def dsr_note(trend: pd.DataFrame | None) -> str:
    """Under the DSR chart: what it approximates, or why it is missing."""
    if trend is None:
        return NO_REVIEWS
    if trend.empty:
        return "所选周内没有评价（无数据）"
    return DSR_NOTE


def response_chart(table: pd.DataFrame, lines: Lines):
    """Bar chart of each agent's target-second share against the shop's target, agents under the floor in red."""
    if table.empty:
        return None
    shown = table.sort_values("within_rate", ascending=False)
    return charts.bar(shown, "agent", "within_rate",
                      f"各客服 {lines.target_seconds} 秒响应率（红色：低于个人底线 {lines.agent_floor * 100:.0f}%）",
                      pct=True, hline=(lines.target_rate, f"目标 {lines.target_rate * 100:.0f}%"),
                      highlight="below_floor")


def findings(table: pd.DataFrame, low: pd.DataFrame, open_rows: pd.DataFrame, rv: pd.DataFrame | None,
             lines: Lines, w: Window) -> list[Flag]:
    """Flags for 客服 and 客服主管: the shop's target-second share under target, agents under the personal floor, low
    ratings not followed up (high: call now) or followed up late (low: review the timing), complex after-sales open too long, the bad-review rate over target, no
    sessions at all."""
    out = []
    n = int(table["sessions"].sum())
    if n == 0:
        return [make("service.no_sessions", "low", "客服主管",
                     f"{w.first} 至 {w.last} 没有客服会话（无数据）：请确认接待记录已导入、参考日期和平台是否正确")]
    rate = table["within"].sum() / n
    if rate < lines.target_rate:
        out.append(make("service.response_rate", "medium", "客服主管",
                        f"{lines.target_seconds} 秒响应率 {report.pct(rate)}，低于目标 {report.pct(lines.target_rate)}"
                        f"（{n:,} 个会话中 {n - int(table['within'].sum()):,} 个超时或未响应）：请检查排班、快捷短语和分流设置",
                        agent_table(table)[["agent", "sessions", "within_rate", "median_response_s"]]))
    slow = table[table["below_floor"]]
    if len(slow):
        out.append(make("service.slow_agent", "high", "客服、客服主管",
                        f"{len(slow)} 名客服 {lines.target_seconds} 秒响应率低于个人底线 {report.pct(lines.agent_floor)}：" + "、".join(
                            f"{r.agent} {report.pct(r.within_rate)}（{r.sessions} 个会话，" + (
                                f"首次响应中位数 {r.median_response_s:g} 秒）" if pd.notna(r.median_response_s)
                                else "全部未响应）")
                            for r in slow.itertuples()) + "；客服主管请当天辅导（话术库、快捷回复），必要时调整接待分流",
                        slow[["agent", "sessions", "within_rate", "fast_rate", "median_response_s"]]))
    # not followed up at all: call the customer now; followed up, but late: the call was made, review the timing
    overdue = low[low["state"].eq("未回访")]
    if len(overdue):
        out.append(make("service.low_rating_overdue", "high", "客服主管",
                        f"{len(overdue)} 个 {lines.low_rating_max} 星及以下的会话超过 {lines.follow_up_hours:g} 小时仍未回访（"
                        + "、".join(f"{r.session_id} {r.agent} {r.rating} 星 {r.state}" for r in overdue.head(5).itertuples())
                        + "）：请立即联系客户致歉并跟进，记入《客户满意度改进表》",
                        overdue[["session_id", "platform", "agent", "rating", "start_time", "due", "state"]]))
    tardy = low[low["state"].eq("超时回访")]
    if len(tardy):
        out.append(make("service.low_rating_late", "low", "客服主管",
                        f"{len(tardy)} 个 {lines.low_rating_max} 星及以下的会话已回访，但晚于 {lines.follow_up_hours:g} 小时（"
                        + "、".join(f"{r.session_id} {r.agent} 回访 {r.follow_up_time:%m-%d %H:%M}，应在 {r.due:%m-%d %H:%M} 前"
                                   for r in tardy.head(5).itertuples())
                        + "）：请复盘低分回访的排班与提醒",
                        tardy[["session_id", "platform", "agent", "rating", "start_time", "due", "follow_up_time",
                               "state"]]))
    if len(open_rows):
        out.append(make("service.complex_open", "high", "客服、客服主管",
                        f"{len(open_rows)} 个复杂售后超过 {lines.complex_hours:g} 小时仍未解决（" + "、".join(
                            f"{r.session_id} {r.agent} {r.topic} 已 {r.hours_open:g} 小时" for r in open_rows.head(5).itertuples())
                        + "）：请当天给出解决方案（补发、换货或退款）并告知客户",
                        open_rows[["session_id", "platform", "agent", "topic", "start_time", "hours_open"]]))
    if rv is not None and len(rv):
        total, bad = int(rv["reviews"].sum()), int(rv["bad_reviews"].sum())
        if total >= lines.min_reviews and bad / total > lines.bad_review_target:
            out.append(make("service.bad_review_rate", "medium", "客服主管",
                            f"差评率 {report.pct(bad / total)}（{bad}/{total}），高于目标 {report.pct(lines.bad_review_target)}：" + "、".join(
                                f"{r.platform} {report.pct(r.bad_review_rate)}" for r in rv.itertuples() if r.bad_reviews)
                            + "；请逐条回复差评、用差评安抚话术联系客户，并把问题反馈给品控",
                            rv[["platform", "reviews", "bad_reviews", "bad_review_rate"]]))
    return out
