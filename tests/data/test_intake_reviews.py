"""Review exports (评价导出) and keyword-rank sheets (关键词排名) through `opsbook ingest`: the templates and a GBK file
with the Taobao API's spellings, platforms from a column or --platform, 好评/中评/差评, phones masked, rows refused by
number, a later export updating replies; the warehouse then runs 风险与舆情."""
from pathlib import Path

import pandas as pd

from opsbook.data.intake import exports, ingest_file
from opsbook.engine import runner
from test_intake_goods import ingested, rows_of, values  # the goods intake's test helpers

FIXTURES = Path(__file__).parent / "fixtures" / "exports"


def test_the_review_template_ingests_to_known_values(tmp_path):
    result = exports.read_export(FIXTURES / "review_list" / "standard.csv", warehouse=tmp_path / "wh")
    assert (result.kind.name, result.encoding) == ("review_list", "utf-8-sig")
    lines = ingested(FIXTURES / "review_list" / "standard.csv", tmp_path / "wh")
    assert "写入 reviews：新增 4 行，更新 0 行（共 4 行）" in lines
    stored = rows_of(tmp_path / "wh", "reviews").sort_values("review_time").reset_index(drop=True)
    assert values(stored, "platform") == ["PDD", "DY", "TM", "JD"]
    assert values(stored, "rating") == [1, 4, 5, 1]
    assert stored["review_id"].str.match(r"^RV[0-9a-f]{16}$").all() and stored["review_id"].is_unique
    assert str(stored["review_time"].dt.tz) == "Asia/Shanghai"
    assert stored.loc[3, "text"] == "吃到一半吃出了异物，请联系我139****5678"  # masked before it is stored
    assert values(stored, "reply_time")[1] is None


def test_a_gbk_file_with_api_spellings_takes_the_platform_given(tmp_path):
    name = FIXTURES / "review_list" / "taobao_gbk.csv"
    refused = ingest_file(name, tmp_path / "a")  # no 平台 column and no --platform: every row refused, none guessed
    assert refused.error is None and refused.lines[-1].startswith("拒绝 3 行：第 3 行 平台未知")
    assert refused.lines[-1].count("平台未知") == 3 and rows_of(tmp_path / "a", "reviews").empty
    report = ingest_file(name, tmp_path / "b", platform="TB")
    assert report.error is None, report.error and report.error.message
    stored = rows_of(tmp_path / "b", "reviews").sort_values("review_time").reset_index(drop=True)
    assert values(stored, "rating") == [5, 1, 3] and set(stored["platform"]) == {"TB"}
    assert "138****5678" in stored.loc[1, "text"] and "张三" not in stored.to_string()  # nicknames never read
    result = exports.read_export(name, platform="TB", warehouse=tmp_path / "b")
    assert result.encoding == "gb18030"


def test_a_later_export_adds_the_reply_and_bad_rows_are_refused(tmp_path):
    wh = tmp_path / "wh"
    ingested(FIXTURES / "review_list" / "standard.csv", wh)
    later = tmp_path / "评价0630.csv"
    later.write_text("平台,订单编号,商家编码,评分,评价内容,评价时间,商家回复时间\n"
                     "JD,2606163098765432,JD-04-750G-2310,1,吃到一半吃出了异物,2026-06-28 13:48:00,2026-06-28 15:00:00\n"
                     "京东,2606163098765499,JD-04-750G-2310,六星,好,2026-06-29 10:00:00,\n"
                     "火星,2606163098765498,JD-04-750G-2310,5,好,2026-06-29 10:00:00,\n", encoding="utf-8")
    lines = ingested(later, wh)
    assert "写入 reviews：新增 0 行，更新 1 行（共 4 行）" in lines
    assert any("拒绝 2 行" in line and "第 3 行" in line and "平台未知" in line for line in lines)
    stored = rows_of(wh, "reviews")
    row = stored[stored["order_id"] == "2606163098765432"].iloc[0]
    assert row["reply_time"] == pd.Timestamp("2026-06-28 15:00", tz="Asia/Shanghai")


def test_keyword_ranks_and_a_warehouse_that_runs_risk_watch(tmp_path):
    wh = tmp_path / "wh"
    ingested(FIXTURES / "keyword_rank_list" / "standard.csv", wh)
    ranks = rows_of(wh, "keyword_ranks")
    assert values(ranks, "platform") == ["DY", "DY", "JD", "TM"] and values(ranks, "rank") == [17, 27, None, 8]
    gbk = ingest_file(FIXTURES / "keyword_rank_list" / "gbk.csv", tmp_path / "other")
    assert gbk.error is None, gbk.error and gbk.error.message
    pd.testing.assert_frame_equal(rows_of(tmp_path / "other", "keyword_ranks")[["date", "platform", "keyword", "rank"]],
                                  ranks[ranks["platform"] == "DY"][["date", "platform", "keyword", "rank"]].reset_index(
                                      drop=True))
    ingested(FIXTURES / "review_list" / "standard.csv", wh)
    result = runner.run("risk_watch", {"source": str(wh), "rank_days": 1})
    assert result.ok, result.error
    assert result.metrics["reviews"] == 4 and result.metrics["hits"]["质量问题"] == 1
    assert result.flag_codes["risk.rank_drop"] == "high" and result.flag_codes["risk.overdue"] == "high"


def test_an_empty_rating_or_time_refuses_its_row_not_the_file(tmp_path):
    sheet = tmp_path / "评价.csv"
    sheet.write_text("平台,订单编号,评分,评价内容,评价时间\nTB,1001,,好,2026-06-01 10:00\nTB,1002,5,,\n"
                     "TB,1003,4,不错,2026-06-01 11:00\n", encoding="utf-8-sig")
    report = ingest_file(sheet, tmp_path / "wh")
    assert report.error is None, report.error and report.error.message
    assert "拒绝 2 行：第 2 行 评分 为空；第 3 行 评价时间 为空" in report.lines
    assert pd.read_parquet(tmp_path / "wh" / "reviews.parquet")["order_id"].tolist() == ["1003"]


def test_times_and_ranks_are_read_as_every_sheets(tmp_path):
    """Dates, times and counts go through the shared reading (goods._values): "today" is no review time (pandas read
    it as the clock's), a time with its offset is converted (it crashed the import), a rank of 3.5 is refused by its
    row (it was rounded to 4)."""
    reviews = tmp_path / "评价.csv"
    reviews.write_text("平台,订单编号,评分,评价内容,评价时间\nTB,1001,5,好,today\nTB,1002,4,好,2026-06-30T02:05:00Z\n"
                       "TB,1003,4,好,2026/6/30 10:06\n", encoding="utf-8-sig")
    report = ingest_file(reviews, tmp_path / "wh")
    assert report.error is None, report.error and report.error.message
    assert "拒绝 1 行：第 2 行 评价时间 不是时间" in report.lines
    stored = rows_of(tmp_path / "wh", "reviews").set_index("order_id")["review_time"]
    assert stored.to_dict() == {"1002": pd.Timestamp("2026-06-30 10:05", tz="Asia/Shanghai"),
                                "1003": pd.Timestamp("2026-06-30 10:06", tz="Asia/Shanghai")}
    ranks = tmp_path / "排名.csv"
    ranks.write_text("日期,平台,关键词,排名\n2026-06-30,TB,牛奶,3.5\n2026-06-30,TB,酸奶,\ntoday,TB,奶粉,2\n"
                     "2026/6/30,TB,羊奶,7\n", encoding="utf-8-sig")
    report = ingest_file(ranks, tmp_path / "wh")
    assert report.error is None, report.error and report.error.message
    assert "拒绝 2 行：第 2 行 排名 不是整数；第 4 行 日期 不是日期" in report.lines
    stored = rows_of(tmp_path / "wh", "keyword_ranks").set_index("keyword")
    assert values(stored, "rank") == [7, None] and list(stored.index) == ["羊奶", "酸奶"]
    assert (stored["date"] == pd.Timestamp("2026-06-30")).all()
