"""SOP pilot groups (试点分组表) through `opsbook ingest`: the shop's template and a CRM list in GBK with its own header
spellings read to the same rows; bad rows refused by number, a unit listed twice refuses the file; the warehouse runs
SOP 执行与试点验证."""
from pathlib import Path

import pandas as pd
import pytest

from opsbook.data.intake import exports, ingest_file
from opsbook.engine import runner
from test_intake_goods import ingested, rows_of, values  # the goods intake's test helpers

FIXTURES = Path(__file__).parent / "fixtures" / "exports" / "sop_pilot_groups"
TEMPLATE = Path(__file__).parents[2] / "data" / "templates" / "试点分组表.csv"
HEADER = "试点名称,SOP版本,对象ID,对象类型,分组,分组时间,预先声明的指标,结果值\n"


def write(path: Path, text: str, encoding: str = "utf-8-sig") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_the_template_and_its_fixture_ingest_to_known_values(tmp_path):
    result = exports.read_export(FIXTURES / "standard.csv", warehouse=tmp_path / "wh")
    assert (result.kind.name, result.kind.platform) == ("sop_pilot_groups", None)
    ingested(FIXTURES / "standard.csv", tmp_path / "wh")
    rows = rows_of(tmp_path / "wh", "sop_pilots")
    assert values(rows, "unit_id") == ["C-10231", "C-10877", "C-11302", "C-12015", "小美", "木木"]
    assert values(rows, "pilot_group") == ["试点", "试点", "对照", "对照", "试点", "对照"]
    assert values(rows, "outcome") == [1.0, 0.0, 1.0, None, 0.42, 0.38]  # empty: no outcome yet, not 0
    assert rows["assigned_at"].iloc[0] == pd.Timestamp("2026-06-16 10:05", tz="Asia/Shanghai")
    assert "13812345678" not in rows.astype(str).to_string() and "备注" not in rows.columns
    ingested(TEMPLATE, tmp_path / "template")
    assert len(rows_of(tmp_path / "template", "sop_pilots")) == 4


def test_a_crm_list_in_gbk_reads_to_the_same_rows(tmp_path):
    ingested(FIXTURES / "standard.csv", tmp_path / "a")
    lines = ingested(FIXTURES / "crm_gbk.csv", tmp_path / "b")
    assert exports.read_export(FIXTURES / "crm_gbk.csv", warehouse=tmp_path / "b").encoding == "gb18030"
    assert "跳过：汇总行 1 行" in lines
    pd.testing.assert_frame_equal(rows_of(tmp_path / "b", "sop_pilots"), rows_of(tmp_path / "a", "sop_pilots"),
                                  check_like=True)


def test_bad_rows_are_refused_by_their_number(tmp_path):
    sheet = write(tmp_path / "试点.csv", HEADER + "P,v2,u1,客户,试点,2026-06-01 10:00,付款率,1\n"
                                                "P,v2,u2,客户,实验组,2026-06-01 10:00,付款率,1\n"
                                                "P,v1,u3,顾客,对照,2026-06-01 10:00,付款率,0\n"
                                                "P,v1,u4,客户,对照,昨天,付款率,0\n"
                                                "P,v1,u5,客户,对照,2026-06-01 10:00,付款率,是\n"
                                                "P,v1,u6,客户,对照,2026-06-01 10:00,付款率,\n")
    report = ingest_file(sheet, tmp_path / "wh")
    assert report.error is None, report.error
    assert ("拒绝 4 行：第 3 行 分组 只能填 试点或对照；第 4 行 对象类型 只能填 客户或员工；第 5 行 分组时间 不是时间；"
            "第 6 行 结果值 不是数字") in report.lines
    assert rows_of(tmp_path / "wh", "sop_pilots")["unit_id"].tolist() == ["u1", "u6"]


@pytest.mark.parametrize("text, message", [
    (HEADER + "P,v2,u1,客户,试点,2026-06-01,付款率,1\nP,v1,u1,客户,对照,2026-06-01,付款率,0\n",
     "试点名称 P，对象ID u1 出现在第 2、3 行"),
    ("试点名称,SOP版本,对象ID,对象类型,分组,预先声明的指标,结果值\nP,v2,u1,客户,试点,付款率,1\n", "分组时间"),
])
def test_a_sheet_that_cannot_be_read_safely_is_refused_whole(tmp_path, text, message):
    report = ingest_file(write(tmp_path / "试点.csv", text), tmp_path / "wh")
    assert report.error is not None and report.error.exit_code == 2 and message in report.error.message, \
        report.error and report.error.message
    assert not list((tmp_path / "wh").glob("*.parquet"))


def test_sop_execution_on_an_ingested_warehouse(tmp_path):
    ingested(FIXTURES / "crm_gbk.csv", tmp_path / "wh")
    result = runner.run("sop_execution", {"source": str(tmp_path / "wh")})
    assert result.ok, result.error
    table = pd.read_csv(result.folder / "试点对比.csv").set_index("试点名称")
    assert table.loc["催付话术 v2", ["试点样本", "对照样本", "对照待出结果"]].tolist() == [2, 1, 1]
    assert table["结论"].str.startswith("样本量不足，暂不下结论").all()


def test_a_customer_keyed_by_phone_is_stored_and_shown_masked(tmp_path):
    """A CRM list keying its customers by their phone: 对象ID is masked on intake and in the source view alike."""
    from opsbook import sources
    sheet = write(tmp_path / "试点.csv", HEADER + "P,v2,13812345678,客户,试点,2026-06-01 10:00,付款率,1\n"
                                                "P,v1,13912345678,客户,对照,2026-06-01 10:00,付款率,0\n")
    ingested(sheet, tmp_path / "wh")
    assert rows_of(tmp_path / "wh", "sop_pilots")["unit_id"].tolist() == ["138****5678", "139****5678"]
    raw = rows_of(tmp_path / "wh", "sop_pilots").assign(unit_id=["13812345678", "13912345678"])
    (tmp_path / "other").mkdir()
    raw.to_parquet(tmp_path / "other" / "sop_pilots.parquet")  # written by another tool: phones as they are
    shown = sources.open_source(str(tmp_path / "other")).sql("SELECT unit_id FROM sop_pilots ORDER BY 1")
    assert shown["unit_id"].tolist() == ["138****5678", "139****5678"]
