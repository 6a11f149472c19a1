"""Parcels (发货记录) through `opsbook ingest`: the shop's template and an ERP / tracking-tool list as its variant
(GBK, other spellings, Chinese platform names, carriers' exception words) ingest to the same rows; tracking numbers
kept as written; bad rows refused by number, a parcel listed twice or ids in E+ notation refuse the file."""
from pathlib import Path

import pandas as pd
import pytest

from opsbook.data.intake import exports, ingest_file

FIXTURES = Path(__file__).parent / "fixtures" / "exports" / "shipment_list"
TEMPLATES = Path(__file__).parents[2] / "data" / "templates"
HEADER = "平台,订单编号,快递公司,运单号,发货时间,最后物流更新时间,签收时间,物流异常"


def stored(file: Path, warehouse: Path) -> pd.DataFrame:
    report = ingest_file(file, warehouse)
    assert report.error is None, report.error
    return pd.read_parquet(warehouse / "shipments.parquet").sort_values(["order_id"], ignore_index=True)


def written(tmp_path: Path, *lines: str, name: str = "发货记录.csv", encoding: str = "utf-8-sig") -> Path:
    path = tmp_path / name
    path.write_bytes("\n".join([HEADER, *lines]).encode(encoding))
    return path


def test_the_template_ingests_to_known_values(tmp_path):
    rows = stored(FIXTURES / "standard.csv", tmp_path / "wh")
    assert rows["order_id"].tolist() == ["2606264031431978", "2606271031431990", "2606283031432003"]
    assert rows["platform"].tolist() == ["DY", "TB", "JD"]
    assert rows["tracking_no"].tolist() == ["JT3481267400102", "75312345678901", "JDVA02034552406"]  # never masked
    assert rows["exception"].isna().tolist() == [True, True, False] and rows["exception"][2] == "丢件"
    assert rows["ship_time"][1] == pd.Timestamp("2026-06-28 14:02:26", tz="Asia/Shanghai")
    assert rows["delivered_time"].isna().tolist() == [True, False, True]
    assert str(rows["ship_time"].dtype) == "datetime64[us, Asia/Shanghai]"


def test_an_erp_list_in_gbk_ingests_to_the_templates_rows(tmp_path):
    template = stored(FIXTURES / "standard.csv", tmp_path / "a")
    erp = stored(FIXTURES / "erp_gbk.csv", tmp_path / "b")
    assert exports.read_export(FIXTURES / "erp_gbk.csv", warehouse=tmp_path / "b").kind.name == "shipment_list"
    pd.testing.assert_frame_equal(erp, template)
    text = erp.astype(str).to_string()
    assert not any(word in text for word in ("张三", "13812345678", "138****5678"))  # names and phones never read


def test_the_template_file_is_the_kinds_layout():
    header = (TEMPLATES / "发货记录.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert header == HEADER


def test_a_later_export_updates_a_parcel_and_a_reship_is_a_second_parcel(tmp_path):
    wh = tmp_path / "wh"
    stored(FIXTURES / "standard.csv", wh)
    later = written(tmp_path, "DY,2606264031431978,极兔,JT3481267400102,2026-06-27 14:02:26,2026-07-01 09:00:00,"
                              "2026-07-01 09:00:00,",
                    "JD,2606283031432003,顺丰,SF1401234567890,2026-06-29 20:00:00,,,")
    report = ingest_file(later, wh)
    assert report.error is None, report.error
    assert "写入 shipments：新增 1 行，更新 1 行（共 4 行）" in report.lines
    rows = pd.read_parquet(wh / "shipments.parquet").set_index("tracking_no")
    assert rows.loc["JT3481267400102", "delivered_time"] == pd.Timestamp("2026-07-01 09:00", tz="Asia/Shanghai")
    assert rows.loc["JDVA02034552406", "exception"] == "丢件"  # the lost parcel kept, the reship beside it


def test_bad_rows_are_refused_by_number_and_the_others_imported(tmp_path):
    path = written(tmp_path,
                   "TB,2606271031431990,中通,75312345678901,2026-06-28 14:02,2026-06-29 20:10,2026-06-29 20:10,",
                   "闲鱼,2606271031431991,中通,75312345678902,2026-06-28 14:02,,,",
                   "TB,2606271031431992,中通,75312345678903,2026-06-28 14:02,,,飞了",
                   "TB,2606271031431993,中通,75312345678904,2026-06-28 14:02,2026-06-28 10:00,2026-06-28 10:00,",
                   "TB,2606271031431994,中通,,2026-06-28 14:02,,,",
                   "TB,2606271031431995,中通,75312345678905,昨天,,,")
    report = ingest_file(path, tmp_path / "wh")
    assert report.error is None, report.error
    line = next(x for x in report.lines if x.startswith("拒绝 5 行"))
    assert "第 3 行 平台 为“闲鱼”，应为 TB、TM、JD、DY、PDD" in line
    assert "第 4 行 物流异常 为“飞了”，无法识别（可填：丢件、破损、拒收、退回、错发、漏发、地址异常，或留空）" in line
    assert "第 5 行 签收时间早于发货时间" in line and "第 6 行 运单号 为空" in line and "第 7 行 发货时间 不是时间" in line
    assert pd.read_parquet(tmp_path / "wh" / "shipments.parquet")["order_id"].tolist() == ["2606271031431990"]


def test_a_parcel_listed_twice_refuses_the_file(tmp_path):
    row = "TB,2606271031431990,中通,75312345678901,2026-06-28 14:02,,,"
    report = ingest_file(written(tmp_path, row, row), tmp_path / "wh")
    assert report.error is not None and report.error.exit_code == 2
    assert "订单编号 2606271031431990，运单号 75312345678901（TB）出现在第 2、3 行" in report.error.message
    assert not (tmp_path / "wh" / "shipments.parquet").exists()


def test_a_tracking_number_that_is_a_mobile_number_refuses_its_row_masked(tmp_path):
    path = written(tmp_path, "TB,2606271031431990,中通,75312345678901,2026-06-28 14:02,,,",
                   "DY,2606264031431978,极兔,13812345678,2026-06-27 14:02,,,",
                   "TB,2606271031431991,中通,138 1234 5679,2026-06-27 14:02,,,",
                   "TB,2606271031431992,中通,138.1234.5670,2026-06-27 14:02,,,",
                   "TB,2606271031431993,中通,１３８１２３４５６７１,2026-06-27 14:02,,,",
                   "TB,2606271031431994,圆通,YT8613812345678,2026-06-27 14:02,,,", encoding="gb18030")
    report = ingest_file(path, tmp_path / "wh")
    assert report.error is None, report.error
    line = next(x for x in report.lines if x.startswith("拒绝 4 行"))
    assert "第 3 行 运单号 为“138****5678”，像手机号而不是快递单号" in line and "13812345678" not in line
    assert "138 1234 5679" not in line and "第 5 行" in line and "第 6 行" in line  # the same test as mask_frame's
    assert "1234.5670" not in line and "１２３４５６７１" not in line
    stored_ = pd.read_parquet(tmp_path / "wh" / "shipments.parquet")
    assert stored_["tracking_no"].tolist() == ["75312345678901", "YT8613812345678"]  # a carrier's number stays whole


def test_tracking_numbers_excel_turned_into_e_notation_refuse_the_file(tmp_path):
    report = ingest_file(written(tmp_path, "TB,2606271031431990,中通,7.53123E+13,2026-06-28 14:02,,,"), tmp_path / "wh")
    assert report.error is not None and "运单号 被改成了科学计数法（如 7.53123E+13）" in report.error.message
    assert not (tmp_path / "wh" / "shipments.parquet").exists()


@pytest.mark.parametrize("drop", ["平台", "运单号"])
def test_a_list_without_a_required_column_is_refused(tmp_path, drop):
    columns = HEADER.split(",")
    keep = [i for i, c in enumerate(columns) if c != drop]
    line = "TB,2606271031431990,中通,75312345678901,2026-06-28 14:02,,,".split(",")
    path = tmp_path / "发货记录.csv"
    path.write_text("\n".join([",".join(columns[i] for i in keep), ",".join(line[i] for i in keep)]), encoding="utf-8")
    report = ingest_file(path, tmp_path / "wh")
    assert report.error is not None and report.error.exit_code == 2 and drop in report.error.message
    assert not (tmp_path / "wh" / "shipments.parquet").exists()
