"""Customer-service sessions (客服接待记录) through `opsbook ingest`: the template and a console list (GBK, a title line,
console spellings, ="…" ids, satisfaction words, `-` as empty, a 合计 row) ingest to the same rows; buyers become
pseudonyms, phones never leave the file, bad rows are refused by number; the result runs 客服质量."""
from pathlib import Path

import pandas as pd
import pytest

from opsbook.data.intake import exports, ingest_file
from opsbook.engine import runner
from test_intake_goods import ingested, rows_of, values  # the goods intake's test helpers

FIXTURES = Path(__file__).parent / "fixtures" / "exports" / "cs_session_list"
HEADER = "会话ID,平台,客服,接待渠道,咨询阶段,问题类型,买家昵称,订单编号,会话开始时间,首次响应时长（秒）,解决时间,客户评分,回访时间,会话摘要\n"


def write(path: Path, text: str, encoding: str = "utf-8-sig") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_the_template_ingests_to_known_values(tmp_path):
    result = exports.read_export(FIXTURES / "standard.csv", warehouse=tmp_path / "wh")
    assert (result.kind.name, result.kind.table) == ("cs_session_list", "cs_sessions")
    lines = ingested(FIXTURES / "standard.csv", tmp_path / "wh")
    assert "写入 cs_sessions：新增 3 行，更新 0 行（共 3 行）" in lines
    rows = rows_of(tmp_path / "wh", "cs_sessions")
    assert values(rows, "platform") == ["DY", "JD", "TM"]  # sorted by platform + session_id
    assert values(rows, "category") == ["售前", "售中", "售后"]
    assert values(rows, "first_response_s") == [41.0, 12.0, 6.0] and values(rows, "rating") == [None, 5, 1]
    assert rows["start_time"].dt.tz is not None and str(rows["start_time"].dt.tz) == "Asia/Shanghai"
    assert values(rows, "order_id") == [None, "2606253031431957", "2606272031431994"]
    assert rows["customer_id"].str.match(r"^C[0-9a-f]{16}$").all()  # keyed pseudonyms, never the nickname
    assert not rows.astype(str).apply(lambda c: c.str.contains("小鱼儿|王先生|7788")).any().any()


def test_a_console_list_in_gbk_ingests_to_the_same_rows(tmp_path):
    ingested(FIXTURES / "standard.csv", tmp_path / "a")
    lines = ingested(FIXTURES / "console_gbk.csv", tmp_path / "b")
    result = exports.read_export(FIXTURES / "console_gbk.csv", warehouse=tmp_path / "b")
    assert (result.kind.name, result.encoding) == ("cs_session_list", "gb18030")
    assert "跳过：汇总行 1 行" in lines
    a, b = rows_of(tmp_path / "a", "cs_sessions"), rows_of(tmp_path / "b", "cs_sessions")
    same = [c for c in a.columns if c != "customer_id"]  # each warehouse keys its own pseudonyms
    pd.testing.assert_frame_equal(b[same], a[same], check_like=True)
    assert not b.astype(str).apply(lambda c: c.str.contains("13812345678|13987654321")).any().any()


def test_phones_in_summaries_are_masked_and_bad_rows_refused_by_number(tmp_path):
    sheet = write(tmp_path / "接待记录.csv", HEADER
                  + "S1,淘宝,小美,千牛,售后,退换货,买家A,O1,2026-06-30 10:00:00,8,2026-06-30 10:20:00,4,,客户留电话13812345678要求回电\n"
                  + "S2,千牛,小美,千牛,售后,退换货,买家B,O2,2026-06-30 11:00:00,8,,,,平台写错\n"
                  + "S3,TB,小美,千牛,投诉,投诉,买家C,O3,2026-06-30 12:00:00,8,,,,阶段写错\n"
                  + "S4,TB,小美,千牛,售前,商品咨询,买家D,,昨天下午,8,,,,时间写错\n"
                  + "S5,,阿杰,咚咚,售前,商品咨询,买家E,,2026-06-30 13:00:00,十二,,,,秒数写错\n"
                  + "S6,,阿杰,飞鸽,售前,商品咨询,买家F,,2026-06-30 14:00:00,5,,满意,,渠道定平台\n")
    report = ingest_file(sheet, tmp_path / "wh")
    assert report.error is None, report.error
    rejected = next(line for line in report.lines if line.startswith("拒绝"))
    assert "拒绝 4 行" in rejected and "第 3 行 无法确定平台" in rejected and "第 4 行 咨询阶段应为" in rejected
    assert "第 5 行 会话开始时间 不是时间" in rejected and "第 6 行 首次响应时长（秒） 不是数字" in rejected
    rows = rows_of(tmp_path / "wh", "cs_sessions").set_index("session_id")
    assert sorted(rows.index) == ["S1", "S6"]
    assert rows.loc["S1", "text"] == "客户留电话138****5678要求回电" and rows.loc["S1", "platform"] == "TB"
    assert rows.loc["S6", "platform"] == "DY" and rows.loc["S6", "rating"] == 4


def test_phones_typed_into_agent_channel_or_topic_are_masked_too(tmp_path):
    sheet = write(tmp_path / "接待记录.csv", HEADER
                  + "S1,TB,小美13812345678,千牛 13912345678,售后,回电 137-1234-5678,买家A,O1,2026-06-30 10:00:00,8,,,,无\n",
                  encoding="gbk")
    report = ingest_file(sheet, tmp_path / "wh")
    assert report.error is None, report.error
    row = rows_of(tmp_path / "wh", "cs_sessions").iloc[0]
    assert (row["agent"], row["channel"], row["topic"]) == ("小美138****5678", "千牛 139****5678", "回电 137****5678")


def test_an_imported_warehouse_runs_service_quality(tmp_path):
    wh = tmp_path / "wh"
    ingested(FIXTURES / "standard.csv", wh)
    result = runner.run("service_quality", {"source": str(wh), "period": "日"})
    assert result.ok, result.error
    assert result.metrics["sessions"] == 3 and result.metrics["target_rate"] == pytest.approx(2 / 3)
    assert "无评价数据" in (result.folder / "report.html").read_text(encoding="utf-8")
    assert "催付" in (result.folder / "report.html").read_text(encoding="utf-8")


def test_an_empty_required_cell_refuses_its_row_not_the_file(tmp_path):
    sheet = write(tmp_path / "接待记录.csv", HEADER
                  + "S1,TB,小美,千牛,售前,商品咨询,买家A,,2026-06-30 10:00:00,8,,,,好\n"
                  + ",TB,小美,千牛,售前,商品咨询,买家B,,2026-06-30 10:05:00,8,,,,没有会话ID\n"
                  + "S3,TB,,千牛,售前,商品咨询,买家C,,2026-06-30 10:06:00,8,,,,没有客服\n"
                  + "S4,TB,小美,千牛,售前,商品咨询,买家D,,,8,,,,没有开始时间\n")
    report = ingest_file(sheet, tmp_path / "wh")
    assert report.error is None, report.error and report.error.message
    rejected = next(line for line in report.lines if line.startswith("拒绝"))
    assert rejected == "拒绝 3 行：第 3 行 会话ID 为空；第 4 行 客服 为空；第 5 行 会话开始时间 为空"
    assert rows_of(tmp_path / "wh", "cs_sessions")["session_id"].tolist() == ["S1"]


def test_every_intake_reads_a_platform_cell_the_same_way(tmp_path):
    """One reading of 平台 for sessions, reviews, parcels and content (clean.platform_codes): a session list saying
    抖音小店 or tm is read like a review export or a content sheet saying so (each module used to keep its own list)."""
    from opsbook.data.intake import clean
    words = pd.Series(["抖音小店", " tm ", "淘宝网", "京东自营", "拼多多", "PDD", "抖店", "微店", "", None], dtype="str")
    assert clean.platform_codes(words).tolist()[:7] == ["DY", "TM", "TB", "JD", "PDD", "PDD", "DY"]
    assert clean.platform_codes(words)[7:].isna().all()
    sheet = write(tmp_path / "接待记录.csv", HEADER
                  + "S1,抖音小店,小美,飞鸽,售前,商品咨询,买家A,,2026-06-30 10:00:00,8,,,,好\n"
                  + "S2,tm,小美,千牛,售前,商品咨询,买家B,,2026-06-30 10:05:00,8,,,,好\n")
    report = ingest_file(sheet, tmp_path / "wh")
    assert report.error is None and not any(line.startswith("拒绝") for line in report.lines), report.lines
    assert rows_of(tmp_path / "wh", "cs_sessions").set_index("session_id")["platform"].to_dict() == {"S1": "DY",
                                                                                                    "S2": "TM"}


def test_times_are_read_as_every_intake_reads_them_and_a_half_star_is_refused(tmp_path):
    """clean.parse_times, not pandas' own: "today" is no time (pandas read it as the clock's), a time with its offset
    is converted (it crashed the import); a rating of 4.5 is refused by its row (it was rounded to 4)."""
    sheet = write(tmp_path / "接待记录.csv", HEADER
                  + "S1,TB,小美,千牛,售前,商品咨询,买家A,,today,8,,,,好\n"
                  + "S2,TB,小美,千牛,售前,商品咨询,买家B,,2026-06-30 10:00:00,8,2026-06-30T02:05:00+00:00,,,好\n"
                  + "S3,TB,小美,千牛,售前,商品咨询,买家C,,2026-06-30 10:00:00,8,,4.5,,好\n"
                  + "S4,TB,小美,千牛,售前,商品咨询,买家D,,2026/6/30 10:00,8,,,-,好\n")
    report = ingest_file(sheet, tmp_path / "wh")
    assert report.error is None, report.error and report.error.message
    rejected = next(line for line in report.lines if line.startswith("拒绝"))
    assert rejected == "拒绝 2 行：第 2 行 会话开始时间 不是时间；第 4 行 客户评分应为 1–5 星或 非常满意/满意/一般/不满意/非常不满意"
    rows = rows_of(tmp_path / "wh", "cs_sessions").set_index("session_id")
    assert rows.loc["S2", "resolved_time"] == pd.Timestamp("2026-06-30 10:05", tz="Asia/Shanghai")
    assert rows.loc["S4", "start_time"] == pd.Timestamp("2026-06-30 10:00", tz="Asia/Shanghai")
    assert pd.isna(rows.loc["S4", "follow_up_time"])


def test_a_buyer_is_the_same_pseudonym_as_in_the_orders(tmp_path):
    """The buyer cell is read as an order export reads it (exports._customers: '…, ="…", a tab unwrapped), so a
    session's customer_id is the one the buyer's orders carry; `-` is no buyer."""
    sheet = write(tmp_path / "接待记录.csv", HEADER
                  + "S1,TB,小美,千牛,售前,商品咨询,'889123,,2026-06-30 10:00:00,8,,,,好\n"
                  + "S2,JD,阿杰,咚咚,售前,商品咨询,\"=\"\"889123\"\"\",,2026-06-30 10:00:00,8,,,,好\n"
                  + "S3,TB,小美,千牛,售前,商品咨询,-,,2026-06-30 10:00:00,8,,,,好\n")
    ingested(sheet, tmp_path / "wh")
    secret = exports.warehouse_secret(tmp_path / "wh")
    rows = rows_of(tmp_path / "wh", "cs_sessions").set_index("session_id")["customer_id"]
    assert rows["S1"] == exports.pseudonym(secret, "TB", "889123")
    assert rows["S2"] == exports.pseudonym(secret, "JD", "889123") and pd.isna(rows["S3"])
