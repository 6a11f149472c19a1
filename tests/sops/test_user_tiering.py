"""user_tiering: the eight segments, the masked recall list, campaigns without coupon counts."""
import pandas as pd

from opsbook.engine import runner


def test_all_eight_segments_and_masked_recall_list():
    result = runner.run("user_tiering", {"as_of": "2026-06-30"})
    assert len(result.metrics["segments"]) == 8
    recall = pd.read_csv(result.folder / "召回名单.csv", dtype=str)
    assert len(recall) == result.metrics["recall"] > 0
    assert list(recall.columns) == ["客户ID", "手机号（脱敏）", "客户分层", "最近购买日期", "最近购买距今（天）", "购买次数",
                                    "消费金额", "运营动作"]
    assert recall["手机号（脱敏）"].dropna().str.fullmatch(r"1\d{2}\*{4}\d{4}").all()
    assert (recall["最近购买距今（天）"].astype(int) > 30).all()


def test_user_tiering_without_coupon_counts(shop):
    result = runner.run("user_tiering", {"source": shop(drop_columns={"campaigns": ["coupons_used"]})})
    assert result.ok, result.error
