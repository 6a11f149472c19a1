"""Cleaning rules for marketplace exports (issue 3, first slice): property tests and quirks."""
import csv
import datetime as dt
import io

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsbook.data import privacy
from opsbook.errors import IntakeError
from opsbook.data.intake import clean

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
from opsbook.data.intake import read  # noqa: E402

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


CELLS = st.lists(st.one_of(st.none(), st.text(max_size=15), digits.map(lambda d: f'="{d}"'),
                          digits.map(lambda d: f"'{d}.0"), digits.map(lambda d: f"'{d}"), digits.map(lambda d: f"{d}.0"),
                          st.sampled_from(["", "-", " 12 ", "`99", "\t0012", "1,234", "12%", "¥3.5", "2.5E+18", "1,2,3",
                                           "-5", "+5", "007", "12.50", "1,234,567.5", "\u3000 7", "７", "nan"])),
                max_size=30)
SHAPES = {"per cell": 1, "per distinct value": 3}  # repeated cells go the `_once_per_value` way


def repeated_cells(values, shape, monkeypatch):
    """The cells as a `str` series, repeated so that the per-distinct-value path runs when `shape` asks for it."""
    if SHAPES[shape] > 1:
        monkeypatch.setattr(clean, "REPEATS_FROM", 0)
    return pd.Series(values * SHAPES[shape], dtype="str")


def cell_list(series):
    return [None if pd.isna(v) else v for v in series]


@pytest.mark.parametrize("shape", SHAPES)
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=CELLS)
def test_vectorised_cleaning_matches_the_scalar_rules(values, shape, monkeypatch):
    series = repeated_cells(values, shape, monkeypatch)
    ids, _ = clean.clean_ids(series)
    assert cell_list(ids) == [clean.clean_id(v) for v in series]
    numbers, bad = clean.parse_numbers(series)
    for v, n, b in zip(series, numbers, bad):
        try:
            expected = clean.parse_number(None if pd.isna(v) else v)
        except ValueError:
            assert b
            continue
        assert not b and (pd.isna(n) if expected is None or expected != expected else n == expected)


LAYOUTS = ["%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y/%-m/%-d %-H:%M:%S", "%Y-%m-%d", "%Y/%m/%d", "%Y/%-m/%-d",
           "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%m/%d/%Y", "%Y%m%d", " %Y-%m-%d %H:%M:%S "]
TIMES = st.lists(st.one_of(
    st.builds(lambda t, layout: t.strftime(layout), st.datetimes(dt.datetime(1990, 1, 1), dt.datetime(2040, 1, 1)),
              st.sampled_from(LAYOUTS)),
    st.text(alphabet="0123456789-/: T.", max_size=20), st.none(),
    st.sampled_from(["", "-", "--", "2026/2/30", "2026-02-30 00:00:00", "2026/6/1 24:00:00", "'2026-06-01", "abc",
                     '="2026-06-01"', "2026-06-01 10:00:00.123456", "6/1/2026 10:00:00.500", "now", "today"])), max_size=20)


@pytest.mark.parametrize("shape", SHAPES)
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(values=TIMES)
def test_vectorised_times_match_the_scalar_rule(values, shape, monkeypatch):
    series = repeated_cells(values, shape, monkeypatch)
    stamps, bad = clean.parse_times(series)
    expected = [pd.NaT if v is None else clean.parse_time(v) for v in cell_list(series)]
    assert [None if pd.isna(t) else t for t in stamps] == [None if pd.isna(t) else t for t in expected]
    assert bad.tolist() == [pd.isna(t) and v is not None and clean.clean_id(v) is not None
                            for v, t in zip(cell_list(series), expected)]
    # and as the whole column was read before (one mixed-format pass over the stripped cells), but for words;
    # that pass could not read some columns at all (cells pandas takes for different offsets, like "0:0-0")
    try:
        before = pd.to_datetime(pd.Series([None if clean.clean_id(v) is None or not any(c.isdigit() for c in v)
                                           else v.strip() for v in cell_list(series)],
                                          dtype=object), format="mixed", errors="coerce")
    except ValueError:
        return
    assert [None if pd.isna(t) else t for t in stamps] == [None if pd.isna(t) else t for t in before]


def test_times_with_fractions_offsets_or_no_digits():
    """Fractions in other layouts, offsets (converted to China time) and words like "now" (not a time)."""
    cells = ["6/1/2026 10:00:00.500", "2026-06-01T10:00:00+08:00", "2026-06-01T02:00:00Z", "now", "2026-06-01 10:00:00",
             "", None]
    for values in (cells, cells[1:4]):  # with and without cells Arrow's ISO pass reads
        stamps, bad = clean.parse_times(pd.Series(values, dtype="str"))
        expected = {"6/1/2026 10:00:00.500": pd.Timestamp("2026-06-01 10:00:00.5"), "now": None, "": None, None: None}
        assert [None if pd.isna(t) else t for t in stamps] == [expected.get(v, pd.Timestamp("2026-06-01 10:00"))
                                                               for v in values]
        assert bad.tolist() == [v == "now" for v in values]


@pytest.mark.parametrize("address, place", [
    ("浙江省 杭州市 西湖区 文三路 1 号(310000)", ("浙江省", "杭州市")),
    ("北京 北京市 朝阳区 建国路 2 号", ("北京市", "北京市")),
    ("广西壮族自治区南宁市青秀区民族大道", ("广西壮族自治区", "南宁市")),
    ("新疆乌鲁木齐市天山区", ("新疆维吾尔自治区", "乌鲁木齐市")),
    ("湖北省恩施土家族苗族自治州恩施市", ("湖北省", "恩施土家族苗族自治州")),
    ("广东广州市天河区天河路省人民医院", ("广东省", "广州市")),
    ("浙江省西湖区文三路超市", ("浙江省", None)),  # no city before the street: none, never the street
    ("张三 13812345678 浙江省杭州市西湖区", (None, None)),  # name and phone first: nothing is taken
    ("火星基地 1 号", (None, None))])
def test_province_and_city_only_from_known_places(address, place):
    from opsbook.data.intake.exports import province_city
    assert province_city(address) == place


PHONES = st.lists(st.one_of(
    st.none(), st.text(max_size=20),
    st.builds(lambda second, rest, template: template.format(f"1{second}{rest}"), st.sampled_from("3456789"),
              st.text(alphabet="0123456789", min_size=9, max_size=9),
              st.sampled_from(["{}", "+86{}", "86 {}", "{} 备注", "手机:{}", "{}5", "1.{}", "{}\n", "138****{}"])),
    st.sampled_from(["138****5678", "13812345678", "１３８１２３４５６７８", "138 1234 5678", "138\u30001234\u30005678"])),
    max_size=20)


@given(PHONES)
def test_masking_a_column_matches_mask_phone(values):
    masked = privacy.mask_phones(pd.Series(values, dtype="str"))
    assert cell_list(masked) == [None if v is None else privacy.mask_phone(v) for v in values]


@given(st.binary(min_size=1, max_size=64), st.sampled_from(["TB", "JD"]), st.lists(st.text(max_size=12), max_size=10))
def test_pseudonyms_of_a_column_match_the_scalar_rule(secret, platform, buyers):
    from opsbook.data.intake import exports
    pseudonym_of = exports.pseudonymizer(secret, platform)
    assert [pseudonym_of(b) for b in buyers] == [exports.pseudonym(secret, platform, b) for b in buyers]


@given(st.lists(st.one_of(st.none(), st.sampled_from(["浙江省 杭州市 西湖区", "北京 北京市", "x", ""])), max_size=20))
def test_map_unique_is_map(values):
    from opsbook.data.intake.exports import province_city
    series = pd.Series(values, dtype="str")
    assert cell_list(clean.map_unique(series, len)) == [None if v is None else len(v) for v in values]
    places = clean.map_unique(series, province_city, ["province", "city"])
    assert [tuple(cell_list(r)) for _, r in places.iterrows()] == [
        (None, None) if v is None else province_city(v) for v in values]


# --- reading csv files: Arrow reads what pandas read -----------------------------------------------
CSV_TEXT = st.text(alphabet='ab1 ,"\n\r\'=-.订单号中文，。\t', max_size=8)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(rows=st.lists(st.lists(CSV_TEXT, min_size=3, max_size=3), max_size=15),
       encoding=st.sampled_from(["gbk", "utf-8-sig", "utf-8"]),
       style=st.sampled_from([("\r\n", csv.QUOTE_MINIMAL), ("\n", csv.QUOTE_ALL)]))  # line breaks in cells quoted
def test_csv_cells_are_read_as_pandas_reads_them(tmp_path, rows, encoding, style):
    path = tmp_path / "ExportOrderList.csv"
    text = io.StringIO()
    csv.writer(text, lineterminator=style[0], quoting=style[1]).writerows([["订单编号 ", "买家会员名", "订单状态"], *rows])
    path.write_bytes(text.getvalue().encode(encoding))
    table = read.read_export_table(path, TB_SIGNATURE)
    expected = pd.read_csv(path, encoding="gb18030" if encoding == "gbk" else "utf-8-sig", dtype=str,
                           keep_default_na=False)
    expected.columns = [clean.clean_header(c) for c in expected.columns]
    summary, repeated = clean.noise_rows(expected)
    expected = expected[~(summary | repeated)]
    pd.testing.assert_frame_equal(table.frame, expected)


def test_a_file_ascii_at_first_and_gbk_later_is_gbk(tmp_path):
    path = tmp_path / "big.csv"
    body = "".join(f'="25800000000{i:08d}",tb_{i},paid\n' for i in range(50_000))
    path.write_bytes(("id,buyer,status\n" + body).encode("ascii") + "9,张三,交易关闭\n".encode("gbk"))
    assert path.stat().st_size > read.HEAD_BYTES
    table = read.read_export_table(path, [["id", "buyer", "status"]])
    assert table.encoding == "gb18030"  # as decoding the whole file says (its first MiB alone looks like UTF-8)
    assert table.frame["buyer"].iloc[-1] == "张三" and len(table.frame) == 50_001


def test_a_cell_that_is_not_gbk_rejects_the_file(tmp_path):
    path = tmp_path / "big.csv"
    body = "".join(f'="25800000000{i:08d}",买家{i},交易成功\n' for i in range(40_000)).encode("gbk")
    path.write_bytes("订单编号,买家会员名,订单状态\n".encode("gbk") + body + b"1,\xff\xfe,x\n")
    with pytest.raises(IntakeError, match="编码无法识别"):
        read.read_export_table(path, TB_SIGNATURE)


def test_ragged_rows_are_read_as_pandas_reads_them(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes("订单编号,买家会员名,订单状态\n1,tb_a,交易成功\n2,tb_b\n".encode("gbk"))
    frame = read.read_export_table(path, TB_SIGNATURE).frame
    pd.testing.assert_frame_equal(frame, pd.read_csv(path, encoding="gb18030", dtype=str, keep_default_na=False))


def test_a_trailing_comma_on_every_row_keeps_the_columns(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes("订单编号,买家会员名,订单状态\n1,tb_a,交易成功,\n2,tb_b,交易关闭,\n".encode("gbk"))
    frame = read.read_export_table(path, TB_SIGNATURE).frame
    assert frame.index.tolist() == [0, 1] and frame["订单编号"].tolist() == ["1", "2"]
    assert frame["订单状态"].tolist() == ["交易成功", "交易关闭"]


def test_cells_beyond_the_header_are_refused_by_row(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes("订单编号,买家会员名,订单状态\n1,tb_a,交易成功,备注\n2,tb_b,交易关闭\n3,tb_c,交易成功,,x\n".encode("gbk"))
    with pytest.raises(IntakeError, match="a.csv 第 2、4 行的单元格比表头多"):
        read.read_export_table(path, TB_SIGNATURE)
    path.write_bytes(("订单编号,买家会员名,订单状态\n1,tb_a,交易成功\n2,tb_b,交易关闭\n3,tb_c,交易成功"
                      + ",x" * 40 + "\n").encode("gbk"))  # more cells than pandas is given columns for
    with pytest.raises(IntakeError, match="a.csv 第 4 行的单元格比表头多"):
        read.read_export_table(path, TB_SIGNATURE)
    path.write_bytes("订单编号,买家会员名,订单状态\n1,tb_a,交易成功\n2,tb_b,交易关闭,,x\n".encode("gbk"))
    with pytest.raises(IntakeError, match="a.csv 第 3 行的单元格比表头多"):
        read.read_export_table(path, TB_SIGNATURE)
