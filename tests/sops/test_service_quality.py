"""service_quality: response shares, categories, low-rating follow-ups, open complex after-sales and 催付 success
recomputed from the parquet files; the planted faults; reviews (bad-review rate, DSR proxy) on a small source of
canonical tables, and their absence said as 无评价数据; odd periods, an empty window, hostile input."""
import datetime as dt

import pandas as pd
import pytest

from opsbook import sources
from opsbook.data import sample_ops
from opsbook.engine import records, runner
from opsbook.errors import ParamError
from opsbook.sops import service_quality

SAMPLE = sources.open_source("data/sample")
TZ = "Asia/Shanghai"
COMPLEX = ("退换货", "质量问题", "投诉")


def sessions() -> pd.DataFrame:
    return pd.read_parquet("data/sample/cs_sessions.parquet")


def in_window(df: pd.DataFrame, first: str, last: str) -> pd.DataFrame:
    start, end = pd.Timestamp(first, tz=TZ), pd.Timestamp(last, tz=TZ) + pd.Timedelta(days=1)
    return df[(df["start_time"] >= start) & (df["start_time"] < end)]


def lines(**changes) -> service_quality.Lines:
    base = dict(fast_seconds=10, target_seconds=30, target_rate=0.95, agent_floor=0.75, min_agent_sessions=10,
                low_rating_max=2, follow_up_hours=2.0, complex_topics=COMPLEX, complex_hours=24.0, urge_topic="催付",
                urge_hours=24.0, bad_rating_max=2, bad_review_target=0.007, min_reviews=30)
    return service_quality.Lines(**(base | changes))


def urge_by_hand(first: str, last: str, hours: float = 24) -> tuple[int, int, int]:
    """催付 successes and sessions judged in [first, last] (each session once, where its result came: paid in the
    window within the hours, or the hours ran out in it unpaid), and the sessions started in it — pandas."""
    start, end = pd.Timestamp(first, tz=TZ), pd.Timestamp(last, tz=TZ) + pd.Timedelta(days=1)
    orders = pd.read_parquet("data/sample/orders.parquet").groupby(["platform", "order_id"])["pay_time"].min()
    u = sessions()
    u = u[u["topic"] == "催付"].join(orders, on=["platform", "order_id"])
    due = u["start_time"] + pd.Timedelta(hours=hours)
    ok = u["pay_time"].notna() & (u["pay_time"] >= u["start_time"]) & (u["pay_time"] < due) & (u["pay_time"] < end)
    paid = ok & (u["pay_time"] >= start)
    failed = ~ok & (due > start) & (due <= end) & (u["start_time"] < end)
    fresh = (u["start_time"] >= start) & (u["start_time"] < end)
    return int(paid.sum()), int((paid | failed).sum()), int(fresh.sum())


def test_headline_numbers_recomputed_from_the_files():
    """The weekly default (2026-06-24 … 06-30): sessions, 10 s / 30 s shares (unanswered count as late), categories,
    the slow agent's share, 催付 success joined to the orders by hand."""
    result = runner.run("service_quality", {})
    assert result.ok, result.error
    week = in_window(sessions(), "2026-06-24", "2026-06-30")
    m = result.metrics
    assert (m["first_day"], m["last_day"], m["sessions"]) == ("2026-06-24", "2026-06-30", len(week))
    assert m["fast_rate"] == pytest.approx((week["first_response_s"] <= 10).mean(), abs=1e-6)
    assert m["target_rate"] == pytest.approx((week["first_response_s"] <= 30).mean(), abs=1e-6)
    assert 0.85 < m["target_rate"] < 0.95  # under the 95 % target, because of the slow agent
    assert m["categories"] == week["category"].value_counts().to_dict()
    table = pd.read_csv(result.folder / "客服明细.csv").set_index("客服")
    slow = week[week["agent"] == sample_ops.SLOW_AGENT]
    assert table.loc[sample_ops.SLOW_AGENT, "30 秒响应率"] == pytest.approx((slow["first_response_s"] <= 30).mean())
    assert table.loc[sample_ops.SLOW_AGENT, "会话数"] == len(slow) and table.index[0] == sample_ops.SLOW_AGENT
    others = week[week["agent"] != sample_ops.SLOW_AGENT]
    assert (others.groupby("agent")["first_response_s"].apply(lambda s: (s <= 30).mean()) > 0.9).all()
    assert table["会话数"].sum() == len(week)
    # 催付: the order paid after the session started, within 24 h (and before the week's end)
    orders = pd.read_parquet("data/sample/orders.parquet").groupby(["platform", "order_id"])["pay_time"].min()
    paid, judged, count = urge_by_hand("2026-06-24", "2026-06-30")
    assert (m["urge_sessions"], m["urge_paid"], m["urge_judged"]) == (count, paid, judged)
    assert m["urge_rate"] == pytest.approx(paid / judged)
    # the whole sample: a believable 催付 success rate (some paid, most not)
    every = sessions()
    every = every[every["topic"] == "催付"].join(orders, on=["platform", "order_id"])
    assert 0.3 < (every["pay_time"] >= every["start_time"]).mean() < 0.55 and len(every) > 100
    categories = pd.read_csv(result.folder / "咨询分类.csv").set_index("咨询阶段")
    assert categories["会话数"].to_dict() == week["category"].value_counts().reindex(["售前", "售中", "售后"]).to_dict()


def test_the_planted_faults_are_found_with_their_owners():
    result = runner.run("service_quality", {})
    flags = {f.code: f for f in result.flags}
    assert [r["agent"] for r in flags["service.slow_agent"].sample] == [sample_ops.SLOW_AGENT]
    assert [r["session_id"] for r in flags["service.low_rating_overdue"].sample] == [sample_ops.UNFOLLOWED_SESSION]
    assert [r["session_id"] for r in flags["service.complex_open"].sample] == [sample_ops.OPEN_COMPLEX_SESSION]
    assert flags["service.response_rate"].severity == "medium"
    assert {f.owner for f in result.flags} <= {"客服主管", "客服、客服主管"}
    low = pd.read_csv(result.folder / "低分评价回访.csv")
    row = low.set_index("会话ID").loc[sample_ops.UNFOLLOWED_SESSION]
    assert row["状态"] == "未回访" and row["会话评分"] == 1 and low.iloc[0]["会话ID"] == sample_ops.UNFOLLOWED_SESSION
    every = sessions()
    rated = every[every["rating"] <= 2]
    due = rated["resolved_time"].fillna(rated["start_time"]) + pd.Timedelta(hours=2)
    late = rated[rated["follow_up_time"].isna() | (rated["follow_up_time"] > due)]
    assert late["session_id"].tolist() == [sample_ops.UNFOLLOWED_SESSION]  # every other low rating was called back
    complex_ = every[(every["category"] == "售后") & every["topic"].isin(COMPLEX)]
    open_ = complex_[complex_["resolved_time"].isna()
                     & (complex_["start_time"] <= pd.Timestamp("2026-06-30", tz=TZ))]
    assert open_["session_id"].tolist() == [sample_ops.OPEN_COMPLEX_SESSION]


def test_without_reviews_the_report_says_so_and_computes_no_rate(shop):
    result = runner.run("service_quality", {"period": "日", "source": shop(drop_tables=("reviews",))})
    assert result.ok, result.error
    assert result.metrics["reviews"] is None and result.metrics["bad_review_rate"] is None
    assert "service.bad_review_rate" not in result.flag_codes
    html = (result.folder / "report.html").read_text(encoding="utf-8")
    assert "无评价数据" in html and pd.read_csv(result.folder / "评价.csv").empty
    assert result.metrics["first_day"] == result.metrics["last_day"] == "2026-06-30"
    day = in_window(sessions(), "2026-06-30", "2026-06-30")
    assert result.metrics["sessions"] == len(day)


def review_shop(folder, reviews: list[tuple], extra_sessions: list[dict] = ()) -> str:
    """A small source: two agents' sessions about four orders, the orders, and the given reviews."""
    folder.mkdir()
    t = lambda s: pd.Timestamp(s, tz=TZ)  # noqa: E731
    rows = [dict(session_id=f"S{i}", platform="TB", agent=agent, channel="千牛", category=cat, topic=topic,
                 customer_id=f"C{i}", order_id=order, start_time=t(start), first_response_s=resp,
                 resolved_time=t(start) + pd.Timedelta(minutes=20), rating=None, follow_up_time=pd.NaT,
                 text=text)
            for i, (agent, cat, topic, order, start, resp, text) in enumerate([
                ("小美", "售后", "退换货", "O1", "2026-06-10 10:00", 5, "客户要求换货，留了电话13812345678请回电"),
                ("小美", "售前", "催付", "O2", "2026-06-10 11:00", 8, "下单未付款，已发送催付话术"),
                ("阿杰", "售中", "物流查询", "O3", "2026-06-11 09:00", 40, "客户查询物流"),
                ("阿杰", "售前", "催付", "O4", "2026-06-11 12:00", 20, "客户犹豫价格，已提醒付款")])]
    frame = pd.DataFrame(rows + list(extra_sessions))
    frame["rating"] = frame["rating"].astype("Int64")
    frame.to_parquet(folder / "cs_sessions.parquet")
    orders = pd.DataFrame({"order_id": ["O1", "O2", "O3", "O4"], "line_id": ["1", "1", "1", "1"], "platform": "TB",
                           "customer_id": ["C0", "C1", "C2", "C3"],
                           "order_time": [t("2026-06-05 10:00"), t("2026-06-10 10:50"), t("2026-06-09 10:00"),
                                          t("2026-06-11 11:50")],
                           "pay_time": [t("2026-06-05 10:01"), t("2026-06-10 11:30"), t("2026-06-09 10:01"), pd.NaT],
                           "sku": "A-1", "quantity": 1, "amount": 99.0,
                           "status": ["completed", "completed", "completed", "closed"]})
    orders.to_parquet(folder / "orders.parquet")
    pd.DataFrame(reviews, columns=["review_id", "platform", "order_id", "rating", "text", "review_time"]).assign(
        review_time=lambda r: pd.to_datetime(r["review_time"]).dt.tz_localize(TZ)).to_parquet(folder / "reviews.parquet")
    return str(folder)


REVIEWS = [("R1", "TB", "O1", 1, "质量太差，联系13987654321", "2026-06-12 09:00"),
           ("R2", "TB", "O3", 5, "很好", "2026-06-12 10:00"),
           ("R3", "TB", "O2", 5, "不错", "2026-06-13 10:00"),
           ("R4", "JD", None, 2, "一般般", "2026-06-13 11:00"),
           ("R5", "TB", None, 5, "好评", "2026-06-01 11:00")]  # before the week: only in the trend


def test_bad_review_rate_and_dsr_proxy_on_a_small_source(tmp_path):
    folder = review_shop(tmp_path / "shop", REVIEWS)
    result = runner.run("service_quality", {"source": folder, "as_of": "2026-06-14", "min_reviews": 1})
    assert result.ok, result.error
    m = result.metrics
    assert (m["reviews"], m["bad_reviews"], m["bad_review_rate"]) == (4, 2, 0.5)
    assert m["mean_review_stars"] == pytest.approx((1 + 5 + 5 + 2) / 4)
    assert result.flag_codes["service.bad_review_rate"] == "medium"
    table = pd.read_csv(result.folder / "客服明细.csv").set_index("客服")
    assert table.loc["小美", "经手订单评价"] == 2 and table.loc["小美", "经手订单差评率"] == 0.5  # R1 (O1), R3 (O2)
    assert table.loc["阿杰", "经手订单差评"] == 0
    # 催付: O2 paid 30 minutes after the session, O4 never
    assert (m["urge_sessions"], m["urge_paid"], m["urge_rate"]) == (2, 1, 0.5)
    assert table.loc["小美", "催付成功率"] == 1 and table.loc["阿杰", "催付成功率"] == 0
    trend = pd.read_csv(result.folder / "DSR 走势.csv")
    assert set(trend["平台"]) == {"TB", "JD"} and len(trend) == 3  # TB in the weeks of 06-01 and 06-08, JD of 06-08
    assert "近似" in (result.folder / "report.html").read_text(encoding="utf-8")
    # phones in chat and review texts never reach an artifact
    for path in result.folder.glob("*.csv"):
        text = path.read_text(encoding="utf-8-sig")
        assert "13812345678" not in text and "13987654321" not in text
    # the bad-review line and the minimum are parameters
    few = runner.run("service_quality", {"source": folder, "as_of": "2026-06-14", "min_reviews": 5})
    assert "service.bad_review_rate" not in few.flag_codes
    strict = runner.run("service_quality", {"source": folder, "as_of": "2026-06-14", "min_reviews": 1,
                                            "bad_rating_max": 1})
    assert strict.metrics["bad_reviews"] == 1


def test_follow_up_states_at_the_window_end(tmp_path):
    """A 1-star session resolved at 23:00 is not overdue at the end of its day (due 01:00), and is the next day;
    one followed up after 3 h is 超时回访; the follow-up hours are a parameter."""
    t = lambda s: pd.Timestamp(s, tz=TZ)  # noqa: E731
    extra = [dict(session_id="L1", platform="TB", agent="小美", channel="千牛", category="售后", topic="质量问题",
                  order_id="O1", start_time=t("2026-06-14 22:30"), first_response_s=5.0,
                  resolved_time=t("2026-06-14 23:00"), rating=1, follow_up_time=pd.NaT, text="差评"),
             dict(session_id="L2", platform="TB", agent="阿杰", channel="千牛", category="售前", topic="商品咨询",
                  order_id=None, start_time=t("2026-06-14 09:00"), first_response_s=5.0,
                  resolved_time=t("2026-06-14 09:10"), rating=2, follow_up_time=t("2026-06-14 12:10"), text="不满意")]
    folder = review_shop(tmp_path / "shop", REVIEWS, extra)
    src = sources.open_source(folder)
    low = service_quality.low_ratings(src, service_quality.window(dt.date(2026, 6, 14), "日"), lines())
    assert low.set_index("session_id")["state"].to_dict() == {"L2": "超时回访", "L1": "待回访"}
    later = service_quality.low_ratings(src, service_quality.window(dt.date(2026, 6, 15), "周"), lines())
    assert later.set_index("session_id")["state"].to_dict() == {"L1": "未回访", "L2": "超时回访"}
    loose = service_quality.low_ratings(src, service_quality.window(dt.date(2026, 6, 15), "周"),
                                        lines(follow_up_hours=4.0))
    assert loose.set_index("session_id")["state"].to_dict() == {"L1": "未回访", "L2": "已按时回访"}


def test_a_late_evening_low_rating_is_judged_by_the_next_daily_report(tmp_path):
    """The daily job looks at one day: a 1-star resolved at 23:00 (due 01:00) is 待回访 in its day's report and must be
    judged in the next day's, or nobody is ever told; one resolved after midnight belongs to the next day as well.
    The agent table, the headline and the flag agree."""
    t = lambda s: pd.Timestamp(s, tz=TZ)  # noqa: E731
    base = dict(platform="TB", channel="千牛", category="售后", topic="质量问题", order_id=None, first_response_s=5.0,
                text="差评")
    extra = [dict(base, session_id="L1", agent="小美", start_time=t("2026-06-14 22:30"),
                  resolved_time=t("2026-06-14 23:00"), rating=1, follow_up_time=pd.NaT),
             dict(base, session_id="L3", agent="阿杰", start_time=t("2026-06-14 23:50"),
                  resolved_time=t("2026-06-15 00:20"), rating=2, follow_up_time=t("2026-06-15 01:00")),
             dict(base, session_id="N1", agent="小美", start_time=t("2026-06-15 10:00"),
                  resolved_time=t("2026-06-15 10:20"), rating=5, follow_up_time=pd.NaT),
             dict(base, session_id="N2", agent="阿杰", start_time=t("2026-06-15 11:00"),
                  resolved_time=t("2026-06-15 11:20"), rating=None, follow_up_time=pd.NaT)]
    folder = review_shop(tmp_path / "shop", REVIEWS, extra)
    src = sources.open_source(folder)
    day = service_quality.low_ratings(src, service_quality.window(dt.date(2026, 6, 14), "日"), lines())
    assert day.set_index("session_id")["state"].to_dict() == {"L1": "待回访"}
    nxt = service_quality.low_ratings(src, service_quality.window(dt.date(2026, 6, 15), "日"), lines())
    assert nxt.set_index("session_id")["state"].to_dict() == {"L1": "未回访", "L3": "已按时回访"}
    first = runner.run("service_quality", {"source": folder, "as_of": "2026-06-14", "period": "日"})
    assert first.ok, first.error
    assert first.metrics["low_overdue"] == 0 and "service.low_rating_overdue" not in first.flag_codes
    result = runner.run("service_quality", {"source": folder, "as_of": "2026-06-15", "period": "日"})
    assert result.ok, result.error
    assert result.metrics["low_overdue"] == 1
    assert pd.read_csv(result.folder / "客服明细.csv").set_index("客服")["未按时回访"].to_dict() == {"小美": 1, "阿杰": 0}
    flag = next(f for f in result.flags if f.code == "service.low_rating_overdue")
    assert flag.rows == 1 and "L1 小美 1 星 未回访" in flag.message


def test_an_agent_who_answered_nothing_is_named_without_nan(tmp_path):
    t = lambda s: pd.Timestamp(s, tz=TZ)  # noqa: E731
    silent = [dict(session_id=f"Q{i}", platform="TB", agent="小刘", channel="千牛", category="售前", topic="商品咨询",
                   order_id=None, start_time=t("2026-06-15 09:00") + pd.Timedelta(minutes=i), first_response_s=None,
                   resolved_time=pd.NaT, rating=None, follow_up_time=pd.NaT, text="客户离开") for i in range(10)]
    result = runner.run("service_quality", {"source": review_shop(tmp_path / "shop", REVIEWS, silent),
                                            "as_of": "2026-06-15", "period": "日"})
    assert result.ok, result.error
    flag = next(f for f in result.flags if f.code == "service.slow_agent")
    assert "小刘 0.0%（10 个会话，全部未响应）" in flag.message and "nan" not in flag.message


def test_without_orders_the_urge_success_is_not_a_fake_zero(shop):
    result = runner.run("service_quality", {"source": shop(drop_tables=("orders",))})
    assert result.ok, result.error
    m = result.metrics
    assert m["urge_sessions"] == 8 and m["urge_judged"] == 0 and m["urge_rate"] is None
    assert pd.read_csv(result.folder / "催付.csv")["催付成功率"].isna().all()
    assert pd.read_csv(result.folder / "客服明细.csv")["催付成功率"].isna().all()
    html = (result.folder / "report.html").read_text(encoding="utf-8")
    assert "0.0%（0/8）" not in html and "无法判断催付后是否付款" in html


def test_a_late_follow_up_is_not_sent_back_to_call_the_customer_again(tmp_path):
    """未回访 asks the supervisor to call now (high); 超时回访 was called, late: a low flag to review the timing."""
    t = lambda s: pd.Timestamp(s, tz=TZ)  # noqa: E731
    base = dict(platform="TB", channel="千牛", category="售后", topic="质量问题", order_id=None, first_response_s=5.0,
                text="差评", agent="小美")
    extra = [dict(base, session_id="L1", start_time=t("2026-06-14 09:00"), resolved_time=t("2026-06-14 09:10"),
                  rating=1, follow_up_time=pd.NaT),
             dict(base, session_id="L2", start_time=t("2026-06-14 10:00"), resolved_time=t("2026-06-14 10:10"),
                  rating=2, follow_up_time=t("2026-06-14 13:10"))]
    result = runner.run("service_quality", {"source": review_shop(tmp_path / "shop", REVIEWS, extra),
                                            "as_of": "2026-06-14", "period": "日"})
    assert result.ok, result.error
    flags = {f.code: f for f in result.flags}
    now, late = flags["service.low_rating_overdue"], flags["service.low_rating_late"]
    assert (now.severity, now.rows, late.severity, late.rows) == ("high", 1, "low", 1)
    assert "L1" in now.message and "L2" not in now.message and "请立即联系客户" in now.message
    assert "L2 小美 回访 06-14 13:10，应在 06-14 12:10 前" in late.message and "复盘" in late.message
    assert result.metrics["low_overdue"] == 2  # both missed the 2 h


def test_the_daily_urge_success_is_not_only_the_same_day_payments():
    """The daily report used to judge only the sessions paid the same day (06-05: 2 of 2, 06-08: 4 of 4 — 100 %): a
    session unpaid at midnight was pending, and outside the next day's window — never judged. Now each session is
    judged in the day its result came (06-05: 2 of 6, 06-08: 4 of 6, with the unpaid ones of the day before)."""
    for day in ("2026-06-05", "2026-06-08"):
        result = runner.run("service_quality", {"as_of": day, "period": "日"})
        assert result.ok, result.error
        paid, judged, count = urge_by_hand(day, day)
        m = result.metrics
        assert (m["urge_sessions"], m["urge_paid"], m["urge_judged"]) == (count, paid, judged)
        assert judged > paid > 0 and m["urge_rate"] == pytest.approx(paid / judged) and m["urge_rate"] < 1
        table = pd.read_csv(result.folder / "催付.csv")
        assert table["催付可判定"].sum() == judged and table["催付后付款"].sum() == paid


def test_a_complex_case_past_its_24_hours_counts_for_its_agent_in_the_daily_table():
    """The planted session (06-28 15:40) is due 06-29 15:40: the daily table of 06-29 counts it as 复杂售后超时 for its
    agent (a one-day window held no whole 24 h, so the column was always 0 in daily reports)."""
    result = runner.run("service_quality", {"as_of": "2026-06-29", "period": "日"})
    assert result.ok, result.error
    table = pd.read_csv(result.folder / "客服明细.csv").set_index("客服")
    s = sessions().set_index("session_id").loc[sample_ops.OPEN_COMPLEX_SESSION]
    assert table.loc[s["agent"], "复杂售后超时"] >= 1
    start, end = pd.Timestamp("2026-06-29", tz=TZ), pd.Timestamp("2026-06-30", tz=TZ)
    every = sessions()
    due = every["start_time"] + pd.Timedelta(hours=24)
    late = every[(every["category"] == "售后") & every["topic"].isin(COMPLEX) & (due > start) & (due <= end)
                 & (every["resolved_time"].isna() | (every["resolved_time"] > due))]
    assert table["复杂售后超时"].sum() == len(late)


def test_complex_after_sales_open_is_judged_at_the_reference_day():
    """The planted session started 06-28 15:40: at the end of 06-28 it is 8.3 h old (not late), at the end of 06-29
    32.3 h; with 48 h allowed it is late only at the end of 06-30."""
    at = {d: service_quality.open_complex(SAMPLE, service_quality.window(dt.date(2026, 6, d), "日"), lines())
          for d in (28, 29)}
    assert at[28].empty and at[29]["session_id"].tolist() == [sample_ops.OPEN_COMPLEX_SESSION]
    assert at[29]["hours_open"].iloc[0] == pytest.approx(32.3)
    slack = service_quality.open_complex(SAMPLE, service_quality.window(dt.date(2026, 6, 29), "日"),
                                         lines(complex_hours=48.0))
    assert slack.empty
    other = service_quality.open_complex(SAMPLE, service_quality.window(dt.date(2026, 6, 30), "日"),
                                         lines(complex_topics=("质量问题",)))
    assert other.empty  # 退换货 is no longer complex


def test_one_platform_and_a_mid_period_day():
    result = runner.run("service_quality", {"platform": "JD", "as_of": "2026-06-15"})
    assert result.ok, result.error
    jd = in_window(sessions(), "2026-06-09", "2026-06-15")
    jd = jd[jd["platform"] == "JD"]
    table = pd.read_csv(result.folder / "客服明细.csv")
    assert set(table["客服"]) == set(jd["agent"]) == {"客服06", "客服09"}
    assert result.metrics["sessions"] == len(jd) and result.metrics["first_day"] == "2026-06-09"
    assert "service.slow_agent" not in result.flag_codes and "service.complex_open" not in result.flag_codes


def test_an_empty_window_says_no_data():
    result = runner.run("service_quality", {"as_of": "2027-03-01", "period": "日"})
    assert result.ok, result.error
    m = result.metrics
    assert m["sessions"] == 0 and m["target_rate"] is None and m["urge_rate"] is None
    assert set(result.flag_codes) == {"service.no_sessions"}
    assert "无数据" in (result.folder / "report.html").read_text(encoding="utf-8")


def test_contradictory_or_out_of_range_parameters_are_refused():
    with pytest.raises(ParamError, match="响应率目标.*应在 0 到 1 之间"):
        runner.run("service_quality", {"target_rate": 1.5})
    result = runner.run("service_quality", {"fast_seconds": 60})
    assert result.exit_code == 2 and "快速响应秒数（60）不能大于响应目标秒数（30）" in result.error
    result = runner.run("service_quality", {"complex_topics": " 、 "})
    assert result.exit_code == 2 and "复杂售后问题类型不能为空" in result.error
    with pytest.raises(ParamError):
        runner.run("../service_quality", {})


def test_hostile_input_stops_the_run_and_keeps_the_last_good_report(shop, runs_root, tmp_path_factory):
    good = runner.run("service_quality", {}, job="service_quality_weekly")
    assert good.ok
    before = good.report.read_bytes()
    twice = shop(edit=("cs_sessions", lambda s: pd.concat([s, s.head(1)], ignore_index=True)))
    bad = runner.run("service_quality", {"source": twice}, job="service_quality_weekly")
    assert bad.exit_code == 2 and "cs_sessions" in bad.error and "重复" in bad.error
    assert records.store().latest("service_quality") == good.folder and good.report.read_bytes() == before
    missing = runner.run("service_quality", {"source": shop(drop_columns={"cs_sessions": ["first_response_s"]})})
    assert missing.exit_code == 2 and "缺少必需列 first_response_s（首次响应时长（秒））" in missing.error
    bare = tmp_path_factory.mktemp("bare")
    pd.read_parquet("data/sample/orders.parquet").to_parquet(bare / "orders.parquet")
    absent = runner.run("service_quality", {"source": str(bare)})
    assert absent.exit_code == 2 and "没有 cs_sessions 表" in absent.error
    wrong = shop(edit=("cs_sessions", lambda s: s.assign(rating=s["rating"].mask(s.index == 3, 7))))
    result = runner.run("service_quality", {"source": wrong})
    assert result.exit_code == 2 and "客户评分大于 5" in result.error
    assert "Traceback" not in bad.error + missing.error + absent.error + result.error


def test_follow_up_tasks_take_the_sops_hours():
    """A low rating's task is due within the run's follow-up hours, a complex case's within its solution hours."""
    from opsbook.ops import tasks
    assert tasks.sop_hours("service_quality", "service.low_rating_overdue", {"follow_up_hours": 2.0}) == 2.0
    assert tasks.sop_hours("service_quality", "service.complex_open", {"complex_hours": 36.0}) == 36.0
    assert "主管" in tasks.roles_of("客服主管") and tasks.roles_of("客服、客服主管") == ("客服", "主管")


def test_bad_review_rate_of_the_sample_recomputed_from_the_reviews_file():
    """The default week (06-24 … 06-30): reviews rated 1–2 over all reviews, as pandas counts them in reviews.parquet."""
    result = runner.run("service_quality", {})
    assert result.ok, result.error
    r = pd.read_parquet("data/sample/reviews.parquet")
    week = r[(r["review_time"] >= pd.Timestamp("2026-06-24", tz=TZ)) & (r["review_time"] < pd.Timestamp("2026-07-01", tz=TZ))]
    assert result.metrics["reviews"] == len(week) > 0
    assert result.metrics["bad_review_rate"] == pytest.approx((week["rating"] <= 2).mean(), abs=1e-6)
    assert "service.bad_review_rate" in result.flag_codes  # 7.0 % against the 0.7 % target
