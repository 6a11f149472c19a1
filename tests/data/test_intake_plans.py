"""大促排期表 (`opsbook ingest`): detected by content, GBK with a title line and the words staff use (运营经理, 美工,
供应链, 2026双12), rows breaking the table's rules refused by their number, a task listed twice refusing the file."""
from pathlib import Path

import pandas as pd

from opsbook.data.intake import exports
from opsbook.data.intake.plans import promotion_name
from opsbook.sops import promo_timeline
from test_intake_goods import ingested, rows_of

FIXTURES = Path(__file__).parent / "fixtures" / "exports" / "promotion_plan"
HEADER = "大促名称,任务编号,任务,负责角色,开始日期,计划完成日期,实际完成日期,里程碑\n"
PERSONAL = ("张三", "李四", "13812345678", "电话")


def test_the_standard_layout_ingests_to_known_values(tmp_path):
    result = exports.read_export(FIXTURES / "standard.csv", warehouse=tmp_path / "wh")
    assert (result.kind.name, result.kind.platform, result.kind.table) == ("promotion_plan", None, "plan_tasks")
    ingested(FIXTURES / "standard.csv", tmp_path / "wh")
    stored = rows_of(tmp_path / "wh", "plan_tasks")
    assert stored["task_id"].tolist() == ["01", "02", "03", "04", "05"]  # ids stay text: 01 is not 1
    assert set(stored["promotion"]) == {"2026年双12"}
    assert stored["owner_role"].tolist() == ["主管", "运营", "采购", "设计", "客服"]
    assert stored["done_date"].notna().tolist() == [True, False, False, False, False]
    assert stored.loc[0, "planned_end"] == pd.Timestamp("2026-10-21")


def test_the_gbk_variant_ingests_to_the_same_rows(tmp_path):
    ingested(FIXTURES / "standard.csv", tmp_path / "a")
    ingested(FIXTURES / "excel_gbk.csv", tmp_path / "b")
    assert exports.read_export(FIXTURES / "excel_gbk.csv", warehouse=tmp_path / "b").encoding == "gb18030"
    standard, variant = rows_of(tmp_path / "a", "plan_tasks"), rows_of(tmp_path / "b", "plan_tasks")
    pd.testing.assert_frame_equal(variant, standard, check_like=True)
    assert not any(word in variant.astype(str).to_string() for word in PERSONAL)  # names, phones, notes: never read


def test_bad_rows_are_refused_by_their_number(tmp_path):
    sheet = tmp_path / "排期.csv"
    sheet.write_text(HEADER + "2026年双12,01,选品,运营,2026-10-17,2026-10-21,,货品\n"
                              "2026年双12,02,素材,老板,2026-10-17,2026-10-21,,素材\n"
                              "2026年双12,03,报名,运营,2026-10-21,2026-10-17,,报名\n"
                              "2026年双12,04,备货,采购,2026-10-32,2026-11-01,,备货\n", encoding="utf-8")
    lines = "\n".join(ingested(sheet, tmp_path / "wh"))
    assert "新增 1 行" in lines and "拒绝 3 行" in lines
    assert "第 3 行 负责角色 老板 不是团队角色" in lines and "第 4 行 计划完成日期早于开始日期" in lines
    assert "第 5 行 开始日期 不是日期" in lines
    assert rows_of(tmp_path / "wh", "plan_tasks")["task"].tolist() == ["选品"]


def test_a_task_listed_twice_refuses_the_file(tmp_path):
    from opsbook.data.intake import ingest_file
    sheet = tmp_path / "排期.csv"
    sheet.write_text(HEADER + "2026年双12,01,选品,运营,2026-10-17,2026-10-21,,\n"
                              "2026双12,01,选品（改）,运营,2026-10-17,2026-10-22,,\n", encoding="utf-8")
    report = ingest_file(sheet, tmp_path / "wh")
    assert report.error is not None and "重复" in report.error.message and "第 2、3 行" in report.error.message
    assert not (tmp_path / "wh" / "plan_tasks.parquet").exists()


def test_promotion_names_are_read_as_the_playbook_reads_them():
    for text in ("2026双11", "双11 2026", "2026年双11", " 2026 年 双11 ", "2027年货节", "2027年年货节", "店庆", "618"):
        name = promotion_name(text)
        assert promo_timeline.parse(name)[0] == promo_timeline.parse(text)[0]
    assert promotion_name("双11 2026") == promotion_name("2026双11") == "2026年双11"
    assert promotion_name("店庆") == "店庆"


def test_a_promotion_without_a_year_is_refused_by_its_row(tmp_path):
    """「双11」 alone is no promotion's plan: the daily run (promotion left empty) would never show it and would offer
    the template as if nothing had been imported; next year's 双11 would collide with its task ids."""
    sheet = tmp_path / "排期.csv"
    sheet.write_text(HEADER + "2026双12,01,选品,运营,2026-10-17,2026-10-21,,货品\n"
                              "双12,02,素材,设计,2026-10-17,2026-10-21,,素材\n", encoding="utf-8")
    lines = "\n".join(ingested(sheet, tmp_path / "wh"))
    assert "新增 1 行" in lines and "拒绝 1 行" in lines
    assert "第 3 行 大促名称 双12 没有年份" in lines
    assert rows_of(tmp_path / "wh", "plan_tasks")["promotion"].tolist() == ["2026年双12"]
