"""Tables for people: the report's HTML view, CSV with plain numbers, xlsx with real numbers and number formats."""
import datetime as dt

import openpyxl
import pandas as pd

from opsbook import report
from opsbook.playbook import Run
from opsbook.spec import Spec

FRAME = pd.DataFrame({
    "sku": ["=HYPERLINK(\"http://x\")", "-abc", "A-1"],
    "gmv": [1234.5, 0.0, None],
    "conversion": [0.0325, 0.1, 0.0],
    "orders": pd.array([3, 0, 12], dtype="int64"),
    "day": pd.to_datetime(["2026-06-01", "2026-06-02", "2026-06-03"]),
    "paid_at": pd.to_datetime(["2026-06-01 10:30", "2026-06-02 00:00", None]).tz_localize("Asia/Shanghai"),
    "is_new": [True, False, True],
    "phone": ["13812345678", None, "139 1234 5678"],
})


def test_xlsx_holds_numbers_dates_and_text_with_formats(tmp_path):
    assert report.export(FRAME, tmp_path, "t") == ["t.xlsx", "t.csv"]
    sheet = openpyxl.load_workbook(tmp_path / "t.xlsx").active
    assert [c.value for c in sheet[1]] == ["商家编码", "成交金额", "支付转化率", "订单数", "day", "paid_at", "is_new", "手机号（脱敏）"]
    assert sheet.freeze_panes == "A2" and sheet.column_dimensions["A"].width >= 10
    sku, gmv, conversion, orders, day, paid_at, is_new, phone = sheet[2]
    assert sku.value == '=HYPERLINK("http://x")' and sku.data_type == "s"  # a text cell, never a formula
    assert (gmv.value, gmv.data_type, gmv.number_format) == (1234.5, "n", "¥#,##0.00")
    assert (conversion.value, conversion.number_format) == (0.0325, "0.0%")
    assert (orders.value, orders.number_format) == (3, "#,##0")
    assert day.value == dt.datetime(2026, 6, 1) and day.number_format == "yyyy-mm-dd"
    assert paid_at.value == dt.datetime(2026, 6, 1, 10, 30) and paid_at.number_format == "yyyy-mm-dd hh:mm"
    assert is_new.value == "是" and phone.value == "138****5678"
    assert sheet["A3"].value == "-abc" and sheet["B4"].value is None and sheet["H4"].value == "139****5678"


def test_csv_has_plain_numbers_and_neutralised_formulas(tmp_path):
    report.export(FRAME, tmp_path, "t")
    csv = pd.read_csv(tmp_path / "t.csv", dtype=str, keep_default_na=False)
    assert csv["商家编码"].tolist() == ["'=HYPERLINK(\"http://x\")", "'-abc", "A-1"]
    assert csv["成交金额"].tolist() == ["1234.5", "0", ""] and csv["支付转化率"][0] == "0.0325"
    assert csv["day"][0] == "2026-06-01" and csv["paid_at"][0] == "2026-06-01 10:30:00"
    assert csv["手机号（脱敏）"].tolist() == ["138****5678", "", "139****5678"]
    assert (tmp_path / "t.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_a_row_format_column_formats_each_row(tmp_path):
    comparison = pd.DataFrame({"metric": ["成交金额", "转化率"], "current": [100.0, 0.05], "mom": [0.1, -0.2],
                               "format": ["money", "pct"]})
    report.export(comparison, tmp_path, "c", {"current": "本期", "mom": "环比"}, row_format="format")
    sheet = openpyxl.load_workbook(tmp_path / "c.xlsx").active
    assert [c.value for c in sheet[1]] == ["指标", "本期", "环比"]
    assert [(c.value, c.number_format) for c in sheet[2]][1:] == [(100.0, "¥#,##0.00"), (0.1, "+0.0%;-0.0%;0.0%")]
    assert [(c.value, c.number_format) for c in sheet[3]][1:] == [(0.05, "0.0%"), (-0.2, "+0.0%;-0.0%;0.0%")]
    html = report.table_html(comparison, labels={"current": "本期"}, row_format="format")
    assert "¥100.00" in html and "5.0%" in html and "-20.0%" in html and "money" not in html


def test_big_tables_are_csv_only_with_a_note(tmp_path, monkeypatch):
    monkeypatch.setenv("OPSBOOK_XLSX_MAX_ROWS", "2")
    run = Run(Spec("t", None, "测试", "", "", {}), {}, tmp_path)
    shown = run.table("大表", FRAME)
    assert run.tables["大表"] == ["大表.csv"] and not (tmp_path / "大表.xlsx").exists()
    assert "只提供 CSV 文件" in shown.data and "2 行" in shown.data
    assert run.table("小表", FRAME.head(2)) and run.tables["小表"] == ["小表.xlsx", "小表.csv"]


def test_cells_starting_with_tab_or_carriage_return_are_neutralised_too(tmp_path):
    """OWASP's list: = + - @ and also TAB and CR, which spreadsheets skip before reading a formula."""
    report.export(pd.DataFrame({"name": ["\t=1+1", "\r@SUM(A1)", "ok"]}), tmp_path, "t")
    csv = pd.read_csv(tmp_path / "t.csv", dtype=str, keep_default_na=False)
    assert csv["名称"].tolist() == ["'\t=1+1", "'\r@SUM(A1)", "ok"]


def test_a_ratio_against_nothing_is_an_empty_cell_not_a_crash(tmp_path):
    changes = pd.DataFrame({"metric": ["成交金额", "访客数"], "mom": [float("inf"), -0.25], "yoy": [float("-inf"), None]})
    assert report.export(changes, tmp_path, "c", {"mom": "环比", "yoy": "同比"}) == ["c.xlsx", "c.csv"]
    sheet = openpyxl.load_workbook(tmp_path / "c.xlsx").active
    assert [[c.value for c in row] for row in sheet.iter_rows(min_row=2)] == [["成交金额", None, None],
                                                                             ["访客数", -0.25, None]]
    csv = pd.read_csv(tmp_path / "c.csv", dtype=str, keep_default_na=False)
    assert csv["环比"].tolist() == ["", "-0.25"] and "inf" not in (tmp_path / "c.csv").read_text(encoding="utf-8-sig")
