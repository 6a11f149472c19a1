"""Cleaning rules for marketplace exports (issue 3, first slice): property tests and quirks."""
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsbook import privacy
from opsbook.errors import IntakeError
from opsbook.intake import clean

digits = st.text(alphabet="0123456789", min_size=1, max_size=20).filter(lambda d: not d.startswith("0") or d == "0")


@given(digits, st.sampled_from(['="{}"', "'{}", "`{}", "\t{}", "{}.0", " {} ", "={}"]))
def test_ids_stay_strings_and_round_trip(d, wrapper):
    assert clean.clean_id(wrapper.format(d)) == d
    assert clean.clean_id(clean.clean_id(wrapper.format(d))) == d


def test_leading_zeros_survive():
    assert clean.clean_id('="000123"') == "000123"


@pytest.mark.parametrize("value", ["2.58E+18", "2.58e18", "1E+15"])
def test_scientific_ids_are_flagged(value):
    ids, bad = clean.clean_ids(pd.Series([value, "2580000000000000001"]))
    assert bad.tolist() == [True, False]


@given(st.decimals(min_value=-10**9, max_value=10**9, places=2, allow_nan=False))
def test_numbers_with_separators_and_currency_parse(x):
    for text in (f"{x:,.2f}", f"¥{x:,.2f}", f"￥{x}", f"{x}元"):
        assert clean.parse_number(text) == pytest.approx(float(x))


@given(st.decimals(min_value=0, max_value=1000, places=1))
def test_percent_becomes_a_fraction(x):
    assert clean.parse_number(f"{x}%") == pytest.approx(float(x) / 100)


@pytest.mark.parametrize("value", ["", "-", "--", None, float("nan")])
def test_dash_and_empty_are_missing(value):
    assert clean.parse_number(value) is None


def test_bad_numbers_are_masked_not_raised():
    values, bad = clean.parse_numbers(pd.Series(["12.5", "abc", "-", "1,234"]))
    assert bad.tolist() == [False, True, False, False]
    assert values.tolist()[3] == 1234.0


@given(st.sampled_from("3456789"), st.text(alphabet="0123456789", min_size=9, max_size=9),
       st.sampled_from(["{}", "+86{}", "86 {}", "{} 备注", "手机:{}"]))
def test_masking_never_shows_more_than_seven_digits_and_is_idempotent(second, rest, template):
    phone = f"1{second}{rest}"
    masked = privacy.mask_phone(template.format(phone))
    assert sum(ch.isdigit() for ch in masked) <= 7
    assert privacy.mask_phone(masked) == masked
    assert not privacy.find_phones(masked)


def test_decode_utf8_bom_and_gbk():
    text = "订单编号,买家会员名\n1,张三\n"
    assert clean.decode(("\ufeff" + text).encode("utf-8")) == (text, "utf-8-sig")
    assert clean.decode(text.encode("gbk")) == (text, "gb18030")


@pytest.mark.parametrize("raw, message", [(b"", "空文件"), (b"   \n", "空文件"), (b"\xff\xfe\x00\xd8\x00\xdc" * 3, "编码无法识别")])
def test_decode_rejects_empty_and_undecodable(raw, message):
    with pytest.raises(IntakeError, match=message):
        clean.decode(raw, "x.csv")


def test_find_header_below_metadata_lines():
    rows = [["【生意参谋平台】商品_全部"], ["统计日期：2026-06-01 ~ 2026-06-30"], [],
            ["统计日期", "商品ID", "商品名称", "商品访客数 "], ["2026-06-01", "1", "a", "3"]]
    assert clean.find_header(rows, {"商品ID", "商品名称", "商品访客数"}) == 3
    assert clean.find_header([["x"]], {"商品ID"}) is None


def test_summary_and_repeated_header_rows():
    df = pd.DataFrame({"订单编号": ["1", "订单编号", "合计", "2"], "金额": ["3", "金额", "5", "6"]})
    summary, repeated = clean.noise_rows(df)
    assert summary.tolist() == [False, False, True, False]
    assert repeated.tolist() == [False, True, False, False]


# --- reading files --------------------------------------------------------------------------------
from opsbook.intake import read  # noqa: E402

TB_SIGNATURE = [["订单编号", "买家会员名", "订单状态", "买家实际支付金额"]]


def tb_csv(tmp_path, encoding="gbk", lines_above=0):
    rows = ["导出时间：2026-06-30 10:00", ""][:lines_above] + [
        "订单编号 ,买家会员名,订单状态,买家实际支付金额,联系手机",
        '="2580123456789012345",tb_张三,交易成功,"1,299.00",\'13812345678',
        '="2580123456789012346",tb_李四,"买家已付款，等待卖家发货",￥99.5,',
        "订单编号,买家会员名,订单状态,买家实际支付金额,联系手机",
        "合计,,,1398.50,"]
    path = tmp_path / "ExportOrderList202606301000.csv"
    path.write_bytes("\n".join(rows).encode(encoding))
    return path


@pytest.mark.parametrize("encoding, lines_above", [("gbk", 0), ("utf-8-sig", 2), ("utf-8", 0)])
def test_csv_export_is_read_as_text_with_noise_removed(tmp_path, encoding, lines_above):
    table = read.read_export_table(tb_csv(tmp_path, encoding, lines_above), TB_SIGNATURE)
    assert table.header_row == lines_above and table.format == "csv"
    assert table.encoding == ("gb18030" if encoding == "gbk" else "utf-8-sig")
    assert list(table.frame.columns)[:2] == ["订单编号", "买家会员名"]  # trailing space stripped
    assert len(table.frame) == 2 and table.skipped == {"汇总行": 1, "重复表头": 1}
    ids, bad = clean.clean_ids(table.frame["订单编号"])
    assert ids.tolist() == ["2580123456789012345", "2580123456789012346"] and not bad.any()
    assert clean.parse_numbers(table.frame["买家实际支付金额"])[0].tolist() == [1299.0, 99.5]


def test_xlsx_export_with_metadata_rows(tmp_path):
    path = tmp_path / "【生意参谋平台】商品_全部_2026-06-01_2026-06-30.xlsx"
    rows = [["【生意参谋平台】商品_全部", "", "", ""], ["统计日期：2026-06-01 ~ 2026-06-30", "", "", ""], [""] * 4,
            ["统计日期", "商品ID", "商品名称", "商品访客数"], ["2026-06-01", "612345678901", "连衣裙", "1,024"]]
    pd.DataFrame(rows).to_excel(path, header=False, index=False)
    table = read.read_export_table(path, [["商品ID", "商品名称", "商品访客数"]])
    assert table.header_row == 3 and table.frame["商品ID"].tolist() == ["612345678901"]


@pytest.mark.parametrize("name, content, message", [
    ("a.csv", b"", "空文件"),
    ("a.csv", "随便写点什么\n没有表头".encode("gbk"), "找不到表头"),
    ("a.xls", b"\xd0\xcf\x11\xe0", "另存为 .xlsx"),
    ("a.xlsx", b"not a zip", "无法作为 Excel 文件打开"),
])
def test_unreadable_exports_are_rejected_in_chinese(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(IntakeError, match=message):
        read.read_export_table(path, TB_SIGNATURE)


@given(st.lists(st.one_of(st.text(max_size=15), digits.map(lambda d: f'="{d}"'), digits.map(lambda d: f"'{d}.0"),
                          st.sampled_from(["", "-", " 12 ", "`99", "\t0012", "1,234", "12%", "¥3.5", "2.5E+18"])),
                max_size=30))
def test_vectorised_cleaning_matches_the_scalar_rules(values):
    series = pd.Series(values, dtype="str")
    ids, _ = clean.clean_ids(series)
    assert [None if pd.isna(v) else v for v in ids] == [clean.clean_id(v) for v in values]
    numbers, bad = clean.parse_numbers(series)
    for v, n, b in zip(values, numbers, bad):
        try:
            expected = clean.parse_number(v)
        except ValueError:
            assert b
            continue
        assert not b and (pd.isna(n) if expected is None else n == pytest.approx(expected))
