"""The 达人投放表 (creator content) through `opsbook ingest`: the template and a GBK export with the spellings of the
creator back-ends (视频ID, 发布时间, 阅读量, counts as 21.2万 / 132w, ￥, ="…" ids, a title line, a 合计 row, a phone
column never read) ingest to the same rows; bad rows refused by number, a content listed twice refuses the file; a
warehouse filled this way runs 内容与达人."""
from pathlib import Path

import pandas as pd
import pytest

from opsbook.data.intake import content, exports, ingest_file
from opsbook.engine import runner
from test_intake_goods import ingested, rows_of  # the goods intake's test helpers

FIXTURES = Path(__file__).parent / "fixtures" / "exports" / "kol_content_sheet"
TEMPLATE = Path(__file__).parents[2] / "data" / "templates" / "达人投放表.csv"
HEADER = "内容ID,平台,达人昵称,粉丝数,发布日期,合作费用,播放量,完播量,互动量,商品链接点击,加购数,成交订单数,成交金额\n"


def test_the_template_ingests_to_known_values(tmp_path):
    assert TEMPLATE.read_bytes() == (FIXTURES / "standard.csv").read_bytes()
    result = exports.read_export(FIXTURES / "standard.csv", warehouse=tmp_path / "wh")
    assert (result.kind.name, result.kind.platform, result.encoding) == ("kol_content_sheet", None, "utf-8-sig")
    ingested(FIXTURES / "standard.csv", tmp_path / "wh")
    rows = rows_of(tmp_path / "wh", "kol_content")
    assert rows["content_id"].tolist() == ["7341993549553562306", "7386204417935608251", "893824323214"]
    assert rows["platform"].tolist() == ["DY", "DY", "TB"] and rows["followers"].tolist() == [23500, 212000, 1320000]
    assert rows["plays"].tolist() == [209416, 862000, 1587431] and rows["gmv"].tolist() == [8144.54, 0.0, 206513.25]
    assert rows["repurchase_orders"].isna().tolist() == [True, False, False]  # empty: unknown, not 0


def test_a_creator_back_end_export_ingests_to_the_templates_rows(tmp_path):
    ingested(FIXTURES / "standard.csv", tmp_path / "a")
    lines = ingested(FIXTURES / "xingtu_gbk.csv", tmp_path / "b")
    assert exports.read_export(FIXTURES / "xingtu_gbk.csv", warehouse=tmp_path / "b").encoding == "gb18030"
    assert "跳过：汇总行 1 行" in lines
    a, b = rows_of(tmp_path / "a", "kol_content"), rows_of(tmp_path / "b", "kol_content")
    pd.testing.assert_frame_equal(b, a, check_like=True)
    stored = b.astype(str).to_string()
    assert "13812345678" not in stored and "138****5678" not in stored  # the phone column is never read


@pytest.mark.parametrize("cell, digits", [("21.2万", "212000"), ("132w", "1320000"), ("1.235万", "12350"),
                                          ("1.2亿", "120000000"), ("0.5万", "5000"), ("1.23456万", "12345.6"),
                                          ("862000", "862000"), ("万", "万")])
def test_counts_written_with_units_read_exactly(cell, digits):
    assert content.spelled_number(cell) == digits


def test_bad_rows_are_refused_by_their_number(tmp_path):
    sheet = tmp_path / "达人投放表.csv"
    sheet.write_text(HEADER
                     + "C1,抖音,甲,50000,2026-06-28,500,1000,1200,50,10,2,1,99\n"  # more completions than plays
                     + "C2,小红书,乙,50000,2026-06-28,500,1000,300,50,10,2,1,99\n"  # not a selling platform
                     + "C3,DY,丙,50000,2026-06-28,500,1000,300,50,10,12,1,99\n"  # more carts than clicks
                     + "C4,TB,丁,-5,2026-06-28,500,1000,300,50,10,2,1,99\n"  # followers below 0
                     + "C5,TM,戊,1.5万,2026-06-28,500,1000,300,50,10,2,1.5,99\n"  # half an order
                     + "C6,TM,己,1.5万,2026-06-28,500,1000,300,50,10,2,1,99\n", encoding="utf-8")
    report = ingest_file(sheet, tmp_path / "wh")
    assert report.error is None, report.error
    text = "\n".join(report.lines)
    assert "拒绝 5 行" in text
    for row, why in ((2, "完播量大于播放量"), (3, "平台 “小红书” 不是平台"), (4, "加购数大于商品链接点击"),
                     (5, "粉丝数 不能小于 0"), (6, "成交订单数 不是整数")):
        assert f"第 {row} 行 {why}" in text, why
    assert rows_of(tmp_path / "wh", "kol_content")["content_id"].tolist() == ["C6"]


def test_a_content_listed_twice_refuses_the_file(tmp_path):
    sheet = tmp_path / "达人投放表.csv"
    sheet.write_text(HEADER + "C1,抖音,甲,50000,2026-06-28,500,1000,300,50,10,2,1,99\n"
                     + "C1,DY,甲,50000,2026-06-28,800,2000,300,50,10,2,1,99\n"
                     + "C1,TB,甲,50000,2026-06-28,800,2000,300,50,10,2,1,99\n", encoding="utf-8")  # another platform: fine
    report = ingest_file(sheet, tmp_path / "wh")
    assert report.error is not None and "内容ID C1（DY）出现在第 2、3 行" in report.error.message
    assert not (tmp_path / "wh" / "kol_content.parquet").exists()


def test_a_sheet_without_a_platform_is_refused(tmp_path):
    sheet = tmp_path / "达人投放表.csv"
    sheet.write_text(HEADER.replace("平台,", "") + "C1,甲,50000,2026-06-28,500,1000,300,50,10,2,1,99\n", encoding="utf-8")
    report = ingest_file(sheet, tmp_path / "wh")
    assert report.error is not None and "没有 平台 列" in report.error.message


def test_a_later_export_updates_the_content(tmp_path):
    ingested(FIXTURES / "standard.csv", tmp_path / "wh")
    later = tmp_path / "达人投放表0707.csv"
    later.write_text(HEADER + "7386204417935608251,抖音,通勤穿搭日记,213000,2026-06-26,8800,990000,340000,61000,420,60,"
                     "25,3975.00\n", encoding="utf-8")
    assert "写入 kol_content：新增 0 行，更新 1 行（共 3 行）" in ingested(later, tmp_path / "wh")
    row = rows_of(tmp_path / "wh", "kol_content").set_index("content_id").loc["7386204417935608251"]
    assert (row["plays"], row["link_clicks"], row["gmv"]) == (990000, 420, 3975.0)


def test_an_ingested_warehouse_runs_content_funnel(tmp_path):
    ingested(FIXTURES / "xingtu_gbk.csv", tmp_path / "wh")
    result = runner.run("content_funnel", {"source": str(tmp_path / "wh")})
    assert result.ok, result.error
    assert result.metrics["contents"] == 3 and result.metrics["roi"] == pytest.approx(214657.79 / 60060)
    assert {f.code for f in result.flags} >= {"kol.no_link"}
    table = pd.read_csv(result.folder / "层级汇总.csv").set_index("达人层级")
    assert table["内容数"].to_dict() == {"头部": 1, "腰部": 1, "素人": 1}
