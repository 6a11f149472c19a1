"""user_tiering: RFM recomputed with plain pandas, the recall list (capped, an action per segment), parameters."""
import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from opsbook import sources
from opsbook.engine import runner
from opsbook.sops import user_tiering

AS_OF = dt.date(2026, 6, 30)


def rfm_by_hand(method: str, as_of=AS_OF, lookback=365, high=4, recent_days=0) -> pd.DataFrame:
    """RFM as DATA-FORMATS.md defines it, from the parquet file with pandas alone."""
    orders = pd.read_parquet("data/sample/orders.parquet")
    end = pd.Timestamp(as_of + dt.timedelta(days=1), tz="Asia/Shanghai")
    paid = orders[orders["status"].isin(["paid", "shipped", "completed", "refunded"]) & orders["pay_time"].notna()
                  & ~orders["is_fake"] & (orders["pay_time"] >= end - pd.Timedelta(days=lookback))
                  & (orders["pay_time"] < end)]
    per_order = paid.assign(net=paid["amount"] - paid["refund_amount"].fillna(0)).groupby(
        ["customer_id", "order_id"]).agg(paid_at=("pay_time", "max"), net=("net", "sum")).reset_index()
    c = per_order.groupby("customer_id").agg(last=("paid_at", "max"), frequency=("order_id", "size"),
                                             monetary=("net", "sum")).reset_index()
    c["recency"] = ((end - c["last"]).dt.total_seconds() // 86400).astype(int)
    c["monetary"] = c["monetary"].round(2)
    if method == "mean":
        r, f, m = c["recency"] <= c["recency"].mean(), c["frequency"] > c["frequency"].mean(), \
            c["monetary"] > c["monetary"].mean()
    else:
        def score(values):
            pct = (values.rank(method="min") - 1) / (len(values) - 1)
            return 1 + np.minimum(4, np.floor(pct * 5)).astype(int)
        r, f, m = score(-c["recency"]) >= high, score(c["frequency"]) >= high, score(c["monetary"]) >= high
    if recent_days:
        r = c["recency"] <= recent_days
    c["segment"] = [user_tiering.SEGMENTS[(a, b, d)] for a, b, d in zip(r, f, m)]
    return c.set_index("customer_id")


@pytest.mark.parametrize("method", ["mean", "quintile"])
def test_rfm_matches_a_computation_by_hand(method):
    ours = user_tiering.compute(sources.open_source("data/sample"), AS_OF, 365, method).set_index("customer_id")
    hand = rfm_by_hand(method)
    assert len(ours) == len(hand) > 5000
    joined = ours.join(hand, suffixes=("", "_hand"))
    assert (joined["recency"] == joined["recency_hand"]).all() and (joined["frequency"] == joined["frequency_hand"]).all()
    assert np.allclose(joined["monetary"], joined["monetary_hand"])
    assert (joined["segment"].astype(str) == joined["segment_hand"]).all()
    assert joined["segment"].value_counts().min() > 0 and joined["segment"].nunique() == 8  # every segment has people


def test_recent_days_split_recency_by_days():
    ours = user_tiering.compute(sources.open_source("data/sample"), AS_OF, 365, "mean", recent_days=30)
    recent = ours["segment"].astype(str).isin(["重要价值客户", "重要发展客户", "一般价值客户", "一般发展客户"])
    assert (ours.loc[recent, "recency"] <= 30).all() and (ours.loc[~recent, "recency"] > 30).all()
    hand = rfm_by_hand("mean", recent_days=30)
    segments = ours.set_index("customer_id")["segment"].astype(str)
    assert (segments == hand["segment"].reindex(segments.index)).all()


def test_recall_list_is_capped_with_an_action_for_each_segment():
    result = runner.run("user_tiering", {"as_of": "2026-06-30", "recall_limit": 40, "recall_within_days": 2,
                                         "recall_high_share": 0.9})
    recall = pd.read_csv(result.folder / "召回名单.csv", dtype={"客户ID": str})
    hand = rfm_by_hand("mean")
    due = hand[hand["segment"].str.startswith("重要") & (hand["recency"] > 30)]
    assert result.metrics["recall_due"] == len(due) > 1000 and result.metrics["recall"] == len(recall) == 40
    assert recall["消费金额"].tolist() == sorted(recall["消费金额"], reverse=True)
    assert recall["消费金额"].min() >= due["monetary"].nlargest(40).min() - 0.005
    assert (recall["运营动作"] == recall["客户分层"].map(user_tiering.RECALL_ACTIONS)).all()
    assert not recall["运营动作"].str.contains("保持高频互动").any()
    assert list(recall.columns) == ["客户ID", "手机号（脱敏）", "客户分层", "最近购买日期", "最近购买距今（天）", "购买次数",
                                    "消费金额", "运营动作"]
    assert recall["手机号（脱敏）"].dropna().str.fullmatch(r"1\d{2}\*{4}\d{4}").all()
    (flag,) = [f for f in result.flags if f.code == "rfm.recall"]
    assert flag.severity == "medium" and f"{len(due)} 位重要客户" in flag.message and "前 40 位" in flag.message
    assert "2 天内" in flag.message
    share = due["monetary"].sum() / hand["monetary"].sum()
    assert f"占消费额 {share * 100:.1f}%" in flag.message and not math.isclose(share, 0)


def test_user_tiering_without_coupon_counts(shop):
    result = runner.run("user_tiering", {"source": shop(drop_columns={"campaigns": ["coupons_used"]})})
    assert result.ok, result.error


def test_a_reference_day_after_the_data_is_flagged():
    result = runner.run("user_tiering", {"as_of": "2027-06-30", "lookback_days": 1095})
    (flag,) = [f for f in result.flags if f.code == "data.stale"]
    assert flag.severity == "high" and "数据只到 2026-06-30" in flag.message


def test_customers_who_all_bought_on_the_first_day_are_recent_not_churning():
    ours = user_tiering.compute(sources.open_source("data/sample"), dt.date(2024, 7, 1), 365, "mean")
    assert (ours["recency"] == 0).all()
    assert not ours["segment"].astype(str).isin(["重要挽留客户", "重要保持客户", "一般挽留客户", "一般保持客户"]).any()
