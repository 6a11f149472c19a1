"""Marketplace export intake (issue 3): Douyin, Pinduoduo, JD and Taobao/Tmall exports into a warehouse folder."""
import subprocess
import sys

import pandas as pd
import pytest

from opsbook import sources
from opsbook.data import scan, tables
from opsbook.engine import runner
from opsbook.errors import DataError, IntakeError
from opsbook.data.folder import JOURNAL, LOCK
from opsbook.data.intake import exports, ingest_file, warehouse

DY_HEADER = ["主订单编号", "子订单编号", "支付方式", "选购商品", "商品ID", "商家编码", "商品规格", "商品数量", "商品单价",
             "商品金额", "订单应付金额", "运费", "优惠总金额", "订单提交时间", "支付完成时间", "发货时间", "订单完成时间",
             "订单状态", "售后状态", "收件人", "收件人手机号", "省", "市", "区", "街道", "详细地址"]


def dy_rows(status="已完成", n=3):
    rows = []
    for i in range(n):
        rows.append(["\t69213%07d" % i, "`69213%07d1" % i, "抖音支付", "运动手表", "'3712345%d" % i, "DY-02-M-2603",
                     "黑色", "1", "299.00", "299.00", "279.00", "0", "20.00", "2026/6/1 10:0%d:00" % i,
                     "2026/6/1 10:1%d:00" % i, "-", "-", status, "-", "张%d" % i, "1391234567%d" % i, "浙江省",
                     "杭州市", "西湖区", "文三路", "文三路 %d 号" % i])
    return rows


def write(path, header, rows, encoding="utf-8-sig"):
    if path.suffix == ".xlsx":
        pd.DataFrame(rows, columns=header).to_excel(path, index=False)
    else:
        text = "\n".join(",".join(f'"{c}"' if "," in c else c for c in row) for row in [header] + rows)
        path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def wh(tmp_path):
    return tmp_path / "warehouse"


@pytest.mark.parametrize("name, encoding", [("1719800000_orders.csv", "gbk"), ("orders.csv", "utf-8-sig"),
                                            ("orders.xlsx", None)])
def test_douyin_orders_are_read_cleaned_and_masked(tmp_path, wh, name, encoding):
    path = write(tmp_path / name, DY_HEADER, dy_rows(), encoding)
    result = exports.read_export(path, warehouse=wh)
    assert (result.platform, result.kind.kind) == ("DY", "抖店订单")
    orders = result.tables["orders"]
    assert orders["order_id"].tolist() == ["692130000000", "692130000001", "692130000002"]
    assert orders["line_id"].iloc[0] == "6921300000001"
    assert orders["status"].unique().tolist() == ["completed"]
    assert orders["amount"].tolist() == [279.0] * 3 and orders["quantity"].tolist() == [1] * 3
    assert orders["phone"].tolist()[0] == "139****5670" and orders["province"].iloc[0] == "浙江省"
    assert orders["customer_id"].str.fullmatch(r"C[0-9a-f]{16}").all() and orders["customer_id"].nunique() == 3
    assert not {"收件人", "详细地址", "街道"} & set(orders.columns)
    assert str(orders["order_time"].dt.tz) == "Asia/Shanghai"


def test_ingest_is_idempotent_updates_and_keeps_what_is_stored(tmp_path, wh):
    first = exports.read_export(write(tmp_path / "a.csv", DY_HEADER, dy_rows("已发货")), warehouse=wh)
    assert warehouse.merge(wh, "orders", first.tables["orders"]) == {"added": 3, "updated": 0, "total": 3}
    again = exports.read_export(write(tmp_path / "a.csv", DY_HEADER, dy_rows("已发货")), warehouse=wh)
    assert warehouse.merge(wh, "orders", again.tables["orders"]) == {"added": 0, "updated": 0, "total": 3}
    header = [c for c in DY_HEADER if c not in ("收件人手机号",)]
    later_rows = [[v for c, v in zip(DY_HEADER, row) if c != "收件人手机号"] for row in dy_rows("已完成", 4)]
    later = exports.read_export(write(tmp_path / "b.csv", header, later_rows), warehouse=wh)
    counts = warehouse.merge(wh, "orders", later.tables["orders"])
    stored = pd.read_parquet(wh / "orders.parquet")
    assert counts["added"] == 1 and counts["total"] == 4 and counts["updated"] >= 3
    assert set(stored["status"]) == {"completed"}
    assert stored.set_index("order_id").loc["692130000000", "phone"] == "139****5670"  # not lost


def test_a_failed_merge_leaves_the_warehouse_as_it_was(tmp_path, wh, monkeypatch):
    result = exports.read_export(write(tmp_path / "a.csv", DY_HEADER, dy_rows()), warehouse=wh)
    warehouse.merge(wh, "orders", result.tables["orders"])
    before = (wh / "orders.parquet").read_bytes()
    more = exports.read_export(write(tmp_path / "b.csv", DY_HEADER, dy_rows("已完成", 5)), warehouse=wh)

    def crash(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(pd.DataFrame, "to_parquet", crash)
    with pytest.raises(DataError, match=f"无法写入 {wh}.*检查文件夹权限和磁盘空间"):
        warehouse.merge(wh, "orders", more.tables["orders"])
    assert (wh / "orders.parquet").read_bytes() == before


def test_pseudonyms_are_stable_per_warehouse_and_secret_stays_private(tmp_path, wh):
    a = exports.read_export(write(tmp_path / "a.csv", DY_HEADER, dy_rows()), warehouse=wh).tables["orders"]
    b = exports.read_export(write(tmp_path / "b.xlsx", DY_HEADER, dy_rows()), warehouse=wh).tables["orders"]
    other = exports.read_export(write(tmp_path / "c.csv", DY_HEADER, dy_rows()), warehouse=tmp_path / "w2")
    assert a["customer_id"].tolist() == b["customer_id"].tolist()
    assert a["customer_id"].tolist() != other.tables["orders"]["customer_id"].tolist()
    assert oct((wh / exports.SECRET_FILE).stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("mutate, message", [
    (lambda h, r: (h, [[("2.58E+11" if c == "主订单编号" else v) for c, v in zip(h, row)] for row in r]), "科学计数法"),
    (lambda h, r: ([c if c != "订单提交时间" else "x" for c in h], r), "无法识别的导出文件.*缺少列 订单提交时间"),
    (lambda h, r: (["随便", "什么"], [["1", "2"]]), "找不到表头"),
])
def test_unsafe_files_are_rejected_whole(tmp_path, wh, mutate, message):
    header, rows = mutate(DY_HEADER, dy_rows())
    with pytest.raises(IntakeError, match=message):
        exports.read_export(write(tmp_path / "bad.csv", header, rows), warehouse=wh)
    assert not (wh / "orders.parquet").exists()


def test_bad_rows_are_rejected_with_reasons(tmp_path, wh):
    rows = dy_rows(n=3)
    rows[1][DY_HEADER.index("订单应付金额")] = "abc"
    rows[2][DY_HEADER.index("订单状态")] = "火星状态"
    result = exports.read_export(write(tmp_path / "a.csv", DY_HEADER, rows), warehouse=wh)
    assert len(result.tables["orders"]) == 1
    assert result.rejected["row"].tolist() == [3, 4]
    assert "不是数字" in result.rejected["reason"].iloc[0] and "未知的订单状态" in result.rejected["reason"].iloc[1]


PDD_HEADER = ["订单成交时间", "商品", "订单号", "订单状态", "商品总价(元)", "邮费(元)", "店铺优惠折扣(元)", "平台优惠折扣(元)",
              "用户实付金额(元)", "商家实收金额(元)", "商品数量(件)", "发货时间", "确认收货时间", "商品id", "商品规格",
              "商家编码-规格维度", "售后状态", "快递单号", "收货人", "手机", "省", "市"]


def test_pinduoduo_orders_with_refunds_and_hidden_provinces(tmp_path, wh):
    rows = [["2026-06-01 09:00:00", "纸巾", "260601-1234567890", "已签收", "39.90", "0", "5", "2", "32.90", "30.00", "1",
             "2026-06-01 18:00:00", "2026-06-03 10:00:00", "44556677", "10包", "PDD-05-10P-2601", "无售后或售后取消",
             "YT123", "王五", "13700001111", "****", "****"],
            ["2026-06-02 09:00:00", "纸巾", "260602-1234567891", "已签收", "39.90", "0", "5", "2", "32.90", "30.00", "1",
             "-", "-", "44556677", "10包", "PDD-05-10P-2601", "退款成功", "-", "赵六", "13700002222", "广东省", "深圳市"]]
    result = exports.read_export(write(tmp_path / "pdd.csv", PDD_HEADER, rows, "gbk"), warehouse=wh)
    orders = result.tables["orders"]
    assert result.platform == "PDD" and orders["status"].tolist() == ["completed", "refunded"]
    assert orders["province"].isna().tolist() == [True, False]
    assert "收货人" not in orders.columns and orders["phone"].tolist() == ["137****1111", "137****2222"]


def test_cli_ingest_then_a_playbook_reads_the_warehouse(tmp_path, wh):
    dy = write(tmp_path / "dy.csv", DY_HEADER, dy_rows(n=3), "gbk")
    bad = write(tmp_path / "bad.csv", ["x"], [["1"]])
    cmd = [sys.executable, "-m", "opsbook.ui.cli", "ingest", str(dy), str(bad), "--into", str(wh)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert "抖店订单（DY）" in out.stdout and "新增 3 行" in out.stdout and "找不到表头" in out.stderr
    assert "Traceback" not in out.stderr
    explain = subprocess.run([sys.executable, "-m", "opsbook.ui.cli", "ingest", "--explain", str(dy)],
                             capture_output=True, text=True, timeout=120)
    assert "order_id（必需）← 主订单编号" in explain.stdout
    assert not scan.scan_tree(wh)
    result = runner.run("user_tiering", {"source": str(wh), "as_of": "2026-06-30"})
    assert result.ok, result.error
    assert result.metrics["customers"] == 3
    assert len(sources.open_source(str(wh)).table("orders")) == 3


JD_HEADER = ["订单号", "商品ID", "商品名称", "订购数量", "下单时间", "京东价", "订单金额", "结算金额", "应付金额", "订单状态",
             "下单帐号", "客户姓名", "客户地址", "联系电话", "付款确认时间", "货号"]


def test_jd_orders_with_several_lines_per_order(tmp_path, wh):
    rows = [["301234567890", "100012345678", "咖啡豆", "2", "2026-06-18 00:01:00", "59.00", "118.00", "110.00", "108.00",
             "完成", "jd_abc", "钱七", "广东省深圳市南山区科技园 1 号", "13600001111", "2026-06-18 00:02:00", "JD-04-500G-2601"],
            ["301234567890", "100012345679", "滤纸", "1", "2026-06-18 00:01:00", "9.90", "9.90", "9.90", "9.90",
             "完成", "jd_abc", "钱七", "广东省深圳市南山区科技园 1 号", "13600001111", "2026-06-18 00:02:00", "JD-04-100P-2601"]]
    orders = exports.read_export(write(tmp_path / "jd.csv", JD_HEADER, rows, "gbk"), warehouse=wh).tables["orders"]
    assert orders["line_id"].nunique() == 2 and orders["customer_id"].nunique() == 1
    assert orders[["province", "city"]].iloc[0].tolist() == ["广东省", "深圳市"]
    assert "客户姓名" not in orders.columns and "客户地址" not in orders.columns


TB_HEADER = ["订单编号", "买家会员名", "买家支付宝账号", "买家实际支付金额", "订单状态", "收货人姓名", "收货地址 ", "联系手机",
             "订单创建时间", "订单付款时间 ", "宝贝标题 ", "宝贝总数量", "商家编码", "店铺名称"]


@pytest.mark.parametrize("platform", [None, "TM"])
def test_taobao_order_list(tmp_path, wh, platform):
    rows = [['="2580123456789012345"', "tb_小明", "xm@example.com", "1,299.00", "交易成功", "孙八",
             "浙江省 杭州市 西湖区 文三路 1 号(310000)", "'13812345678", "2026-06-18 00:00:05", "2026-06-18 00:00:30",
             "连衣裙", "1", "TM-01-M-2403", "某某旗舰店"],
            ['="2580123456789012346"', "tb_小红", "xh@example.com", "99.00", "买家已付款，等待卖家发货", "周九",
             "北京 北京市 朝阳区 建国路 2 号(100000)", "'13912345678", "2026-06-18 00:01:05", "2026-06-18 00:01:30",
             "袜子", "2", "TM-01-F-2403", "某某旗舰店"]]
    result = exports.read_export(write(tmp_path / "ExportOrderList202606180100.csv", TB_HEADER, rows, "gbk"),
                                 platform=platform, warehouse=wh)
    orders = result.tables["orders"]
    assert result.platform == (platform or "TB") and orders["platform"].unique().tolist() == [platform or "TB"]
    assert orders["order_id"].tolist() == ["2580123456789012345", "2580123456789012346"]
    assert orders["status"].tolist() == ["completed", "paid"]
    assert orders["city"].tolist() == ["杭州市", "北京市"] and orders["phone"].tolist() == ["138****5678", "139****5678"]
    text = orders.astype(str).to_string()
    assert "孙八" not in text and "文三路" not in text and "xm@example.com" not in text and "tb_小明" not in text


def test_ad_reports_into_ad_spend_without_the_total_row(tmp_path, wh):
    header = ["日期", "计划ID", "主体ID", "花费", "展现量", "点击量", "总成交金额", "直接成交金额", "间接成交金额"]
    rows = [["2026-06-01", "5001", "1", "1,000.50", "20000", "400", "3,500.00", "3000", "500"],
            ["2026-06-02", "5001", "1", "800.00", "18000", "350", "2,400.00", "2000", "400"],
            ["合计", "", "", "1800.50", "38000", "750", "5900.00", "5000", "900"]]
    result = exports.read_export(write(tmp_path / "wxt.xlsx", header, rows), warehouse=wh)
    ads = result.tables["ad_spend"]
    assert result.kind.kind == "万相台推广报表" and len(ads) == 2 and result.skipped["汇总行"] == 1
    assert ads["spend"].sum() == pytest.approx(1800.5) and set(ads["channel"]) == {"万相台"}
    assert warehouse.merge(wh, "ad_spend", ads)["added"] == 2
    assert warehouse.merge(wh, "ad_spend", ads)["added"] == 0
    pdd = write(tmp_path / "pdd_ads.csv", ["日期", "推广计划", "花费(元)", "曝光量", "点击量", "交易额(元)"],
                [["2026-06-01", "搜索-纸巾", "50", "1000", "30", "120"], ["总计", "", "50", "1000", "30", "120"]], "gbk")
    pdd_ads = exports.read_export(pdd, warehouse=wh).tables["ad_spend"]
    assert len(pdd_ads) == 1 and pdd_ads["spend"].sum() == 50  # the 总计 row would double spend


def test_missing_required_column_names_the_aliases_tried(tmp_path, wh):
    header = [c for c in DY_HEADER if c not in ("商家编码", "商品ID")]
    rows = [[v for c, v in zip(DY_HEADER, row) if c not in ("商家编码", "商品ID")] for row in dy_rows()]
    with pytest.raises(IntakeError, match=r"缺少必需列：sku（尝试过：商家编码、商品ID）"):
        exports.read_export(write(tmp_path / "a.csv", header, rows), warehouse=wh)


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402



@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.binary(max_size=400),
                 st.lists(st.lists(st.text(max_size=12), max_size=8), max_size=6).map(
                     lambda rows: "\n".join(",".join(r) for r in [DY_HEADER[:8]] + rows).encode("utf-8"))),
       st.sampled_from(["x.csv", "x.xlsx", "x.txt"]))
def test_malformed_input_only_ever_raises_opsbook_errors(tmp_path_factory, content, name):
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / name).write_bytes(content)
    try:
        result = exports.read_export(folder / name, warehouse=folder / "wh")
    except DataError:
        return  # IntakeError is a DataError: a Chinese message, exit code 2
    assert result.rows_read >= len(result.rejected) and result.kind.kind
    for table, frame in result.tables.items():  # what it did read is canonical: typed, valid, phones masked
        assert tables.validate(table, frame).shape == frame.shape
        assert not frame.astype(str).apply(lambda c: c.str.contains(r"1[3-9]\d{9}", regex=True)).any().any()


KILL_MID_WRITE = """
import os, signal, sys, pandas as pd
from pathlib import Path
from opsbook.data.intake import warehouse
real = pd.DataFrame.to_parquet

def write_half_then_die(self, path, *args, **kwargs):
    real(self, path, *args, **kwargs)
    with open(path, "r+b") as fh:  # only half of the new version reached the disk …
        fh.truncate(os.path.getsize(path) // 2)
    os.kill(os.getpid(), signal.SIGKILL)  # … when the process died: mid-write, before any rename

pd.DataFrame.to_parquet = write_half_then_die
frame = pd.read_parquet(sys.argv[1])
warehouse.merge(Path(sys.argv[2]), "orders", frame.assign(order_id=frame["order_id"] + "-new"))
"""


def test_killed_merge_leaves_the_old_file_whole(tmp_path, wh):
    result = exports.read_export(write(tmp_path / "a.csv", DY_HEADER, dy_rows()), warehouse=wh)
    warehouse.merge(wh, "orders", result.tables["orders"])
    before = (wh / "orders.parquet").read_bytes()
    proc = subprocess.run([sys.executable, "-c", KILL_MID_WRITE, str(wh / "orders.parquet"), str(wh)], timeout=120)
    assert proc.returncode == -9
    assert list(wh.glob(".orders.parquet.tmp"))  # the torn new version is aside, never in place
    assert (wh / "orders.parquet").read_bytes() == before  # untouched, never torn
    assert len(sources.open_source(str(wh)).table("orders")) == 3  # the next reader sees the old table …
    warehouse.merge(wh, "orders", result.tables["orders"])
    assert not list(wh.glob(".*.tmp"))  # … and the next writer clears the torn file away


def test_refund_export_updates_stored_orders(tmp_path, wh):
    orders = exports.read_export(write(tmp_path / "dy.csv", DY_HEADER, dy_rows()), warehouse=wh).tables["orders"]
    warehouse.merge(wh, "orders", orders)
    refunds = write(tmp_path / "refunds.csv", ["订单编号", "退款状态", "退款申请时间", "退款完结时间", "买家退款原因", "售后类型", "退款总额"],
                    [["692130000001", "退款成功", "2026-06-05 10:00", "2026-06-06 10:00", "不想要了", "仅退款", "279.00"],
                     ["999", "退款成功", "2026-06-05 10:00", "2026-06-06 10:00", "质量问题", "退货退款", "10.00"]], "gbk")
    result = exports.read_export(refunds, platform="DY", warehouse=wh)
    assert result.kind.kind == "售后/退款单"
    assert warehouse.apply_refunds(wh, result.tables["refunds"]) == {"updated": 1, "unmatched": 1}
    stored = pd.read_parquet(wh / "orders.parquet").set_index("order_id")
    assert stored.loc["692130000001", "status"] == "refunded" and stored.loc["692130000001", "refund_amount"] == 279.0
    assert stored.loc["692130000000", "status"] == "completed"


def test_cli_refunds_before_orders_say_what_to_do(tmp_path, wh):
    refunds = write(tmp_path / "refunds.csv", ["订单编号", "退款状态", "退款申请时间", "退款总额"],
                    [["692130000001", "退款成功", "2026-06-05 10:00", "279.00"]], "gbk")
    out = subprocess.run([sys.executable, "-m", "opsbook.ui.cli", "ingest", str(refunds), "--platform", "DY",
                          "--into", str(wh)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "1 单在数据仓库中找不到（请先导入订单，再导入退款单）" in out.stdout


def test_sycm_product_report_below_metadata_lines(tmp_path, wh):
    header = ["统计日期", "商品ID", "商品名称", "商品访客数", "商品浏览量", "支付买家数", "支付金额", "成功退款金额",
              "商品收藏人数", "商品加购人数", "下单买家数", "下单金额", "搜索引导访客数", "搜索引导支付买家数"]
    rows = [["【生意参谋平台】商品_全部_2026-06-01_2026-06-02"] + [""] * 13, ["统计周期：2026-06-01~2026-06-02"] + [""] * 13,
            header,
            ["2026-06-01", "612345678901", "针织开衫", "1,024", "3,001", "31", "2,899.00", "0", "12", "88", "35", "3,200.00",
             "412", "15"],
            ["2026-06-02", "612345678901", "针织开衫", "980", "2,870", "-", "2,100.50", "99.00", "9", "80", "30", "2,300.00",
             "400", "12"]]
    path = tmp_path / "【生意参谋平台】商品_全部_2026-06-01_2026-06-02.xlsx"
    pd.DataFrame(rows).to_excel(path, header=False, index=False)
    result = exports.read_export(path, platform="TM", warehouse=wh)
    traffic = result.tables["product_traffic"]
    assert result.kind.kind == "生意参谋商品报表" and set(traffic["platform"]) == {"TM"}
    assert traffic["uv"].tolist() == [1024, 980] and traffic["pay_buyers"].tolist() == [31, 0]
    assert traffic["product_id"].tolist() == ["612345678901"] * 2
    assert warehouse.merge(wh, "product_traffic", traffic)["added"] == 2
    assert sources.open_source(str(wh)).has("product_traffic")


def test_rejected_rows_keep_their_file_row_numbers_after_noise_rows(tmp_path, wh):
    rows = dy_rows(n=3)
    rows[2][DY_HEADER.index("订单应付金额")] = "abc"
    rows.insert(1, list(DY_HEADER))  # a repeated header row (exports pasted together) on file line 3
    result = exports.read_export(write(tmp_path / "a.csv", DY_HEADER, rows), warehouse=wh)
    assert result.skipped["重复表头"] == 1 and result.rejected["row"].tolist() == [5]


# --- Taobao/Tmall order detail (订单明细): product lines that take their order fields from the order list ---------
TB_LIST_ROWS = [['="2580123456789012345"', "tb_小明", "xm@example.com", "1,299.00", "交易成功", "孙八",
                 "浙江省 杭州市 西湖区 文三路 1 号(310000)", "'13812345678", "2026-06-18 00:00:05", "2026-06-18 00:00:30",
                 "连衣裙", "3", "TM-01-M-2403", "某某旗舰店"],
                ['="2580123456789012346"', "tb_小红", "xh@example.com", "99.00", "卖家已发货，等待买家确认", "周九",
                 "北京 北京市 朝阳区 建国路 2 号(100000)", "'13912345678", "2026-06-18 00:01:05", "2026-06-18 00:01:30",
                 "袜子", "2", "TM-02-F-2403", "某某旗舰店"]]
DETAIL_LAYOUTS = {  # the older export, and the newer one with sub-order ids, amounts and refunds
    "旧版": (["订单编号", "标题", "价格", "购买数量", "外部系统编号", "商品属性", "套餐信息", "备注", "订单状态", "商家编码"],
           [['="2580123456789012345"', "连衣裙", "1,200.00", "1", "612345678901", "颜色:红;尺码:M", "", "", "交易成功",
             "TM-01-M-RED"],
            ['="2580123456789012345"', "袜子", "49.50", "2", "612345678902", "颜色:白", "", "", "交易成功", "TM-02-F-WHT"],
            ['="2580123456789012346"', "袜子", "49.50", "2", "612345678902", "颜色:黑", "", "", "卖家已发货，等待买家确认",
             "TM-02-F-BLK"]]),
    "新版": (["子订单编号", "主订单编号", "标题", "价格", "购买数量", "外部系统编号", "商品属性", "订单状态", "商家编码",
            "买家实际支付金额", "退款状态", "退款金额", "订单创建时间", "订单付款时间"],
           [['="2580123456789012345001"', '="2580123456789012345"', "连衣裙", "1,200.00", "1", "612345678901", "颜色:红",
             "交易成功", "TM-01-M-RED", "1,200.00", "没有申请退款", "0", "2026-06-18 00:00:05", "2026-06-18 00:00:30"],
            ['="2580123456789012345002"', '="2580123456789012345"', "袜子", "49.50", "2", "612345678902", "颜色:白",
             "交易成功", "TM-02-F-WHT", "99.00", "没有申请退款", "0", "2026-06-18 00:00:05", "2026-06-18 00:00:30"],
            ['="2580123456789012346001"', '="2580123456789012346"', "袜子", "49.50", "2", "612345678902", "颜色:黑",
             "卖家已发货，等待买家确认", "TM-02-F-BLK", "99.00", "没有申请退款", "0", "2026-06-18 00:01:05",
             "2026-06-18 00:01:30"]]),
}


def tb_files(tmp_path, suffix=".csv", layout="旧版"):
    """The order list and the order detail of the same two orders (three product lines), GBK csv or xlsx."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    header, rows = DETAIL_LAYOUTS[layout]
    if suffix == ".xlsx":  # ="…" guards ids in csv only; in a workbook it would be a formula
        unwrap = (lambda rows: [[c[2:-1] if c.startswith('="') else c for c in row] for row in rows])
    else:
        unwrap = (lambda rows: rows)
    return (write(tmp_path / f"ExportOrderList202606180100{suffix}", TB_HEADER, unwrap(TB_LIST_ROWS), "gbk"),
            write(tmp_path / f"ExportOrderDetailList202606180100{suffix}", header, unwrap(rows), "gbk"))


def stored_orders(wh):
    return pd.read_parquet(wh / "orders.parquet").sort_values("line_id").reset_index(drop=True)


@pytest.mark.parametrize("layout", DETAIL_LAYOUTS)
def test_taobao_order_detail_alone_waits_for_its_order_list(tmp_path, wh, layout):
    _, detail = tb_files(tmp_path, layout=layout)
    result = exports.read_export(detail, warehouse=wh)
    lines = result.tables["order_lines"]
    assert (result.kind.kind, result.platform) == ("淘宝/天猫订单明细", "TB")
    assert lines["order_id"].tolist() == ["2580123456789012345"] * 2 + ["2580123456789012346"]
    assert lines["sku"].tolist() == ["TM-01-M-RED", "TM-02-F-WHT", "TM-02-F-BLK"]
    assert lines["quantity"].tolist() == [1, 2, 2] and lines["unit_price"].tolist() == [1200.0, 49.5, 49.5]
    assert lines["amount"].tolist() == [1200.0, 99.0, 99.0] and lines["line_id"].nunique() == 3
    report = ingest_file(detail, wh)
    assert report.error is None and "3 行明细的订单还不在 orders 中" in "\n".join(report.lines)
    assert len(pd.read_parquet(wh / "order_lines.parquet")) == 3 and not (wh / "orders.parquet").exists()


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
@pytest.mark.parametrize("order", [("list", "detail"), ("detail", "list")], ids=["list first", "detail first"])
def test_order_list_and_detail_give_product_lines_with_order_fields(tmp_path, wh, suffix, order):
    files = dict(zip(("list", "detail"), tb_files(tmp_path, suffix)))
    for name in order:
        report = ingest_file(files[name], wh)
        assert report.error is None, report.error
    lines = stored_orders(wh)
    listed = exports.read_export(files["list"], warehouse=wh).tables["orders"].set_index("order_id")
    assert lines["sku"].tolist() == ["TM-01-M-RED", "TM-02-F-WHT", "TM-02-F-BLK"]  # no order-level row left
    assert lines[["quantity", "unit_price", "amount"]].values.tolist() == [[1, 1200.0, 1200.0], [2, 49.5, 99.0],
                                                                          [2, 49.5, 99.0]]
    for field in ("customer_id", "status", "province", "city", "phone", "pay_time", "order_time"):
        assert lines[field].tolist() == listed.loc[lines["order_id"], field].tolist(), field
    assert lines["status"].tolist() == ["completed", "completed", "shipped"] and lines["phone"].iloc[0] == "138****5678"
    assert not {"收货人姓名", "买家会员名"} & set(lines.columns) and "tb_小明" not in lines.astype(str).to_string()
    assert tables.validate("orders", lines) is not None


def test_reingesting_list_or_detail_duplicates_nothing(tmp_path, wh):
    order_list, detail = tb_files(tmp_path)
    ingest_file(order_list, wh), ingest_file(detail, wh)
    once = stored_orders(wh)
    again = [ingest_file(order_list, wh), ingest_file(detail, wh), ingest_file(order_list, wh)]
    assert [r.error for r in again] == [None] * 3
    assert "写入 orders：新增 0 行，更新 0 行（共 3 行）" in again[0].lines
    assert "写入 order_lines：新增 0 行，更新 0 行（共 3 行）；其中 3 行已按订单列表补全并写入 orders" in again[1].lines
    pd.testing.assert_frame_equal(stored_orders(wh), once)
    assert len(pd.read_parquet(wh / "order_lines.parquet")) == 3


def test_a_detail_export_replaces_the_lines_of_its_orders(tmp_path, wh):
    order_list, older = tb_files(tmp_path / "a", layout="旧版")
    _, newer = tb_files(tmp_path / "b", layout="新版")  # the same lines under sub-order ids
    for path in (order_list, older, newer):
        assert ingest_file(path, wh).error is None
    lines = stored_orders(wh)
    assert lines["line_id"].tolist() == ["2580123456789012345001", "2580123456789012345002", "2580123456789012346001"]
    assert len(pd.read_parquet(wh / "order_lines.parquet")) == 3


@pytest.mark.parametrize("column, message", [("购买数量", "quantity（尝试过：购买数量）"),
                                             ("订单编号", "order_id（尝试过：主订单编号、订单编号）")])
def test_detail_missing_a_required_column_is_rejected_whole(tmp_path, wh, column, message):
    header, rows = DETAIL_LAYOUTS["旧版"]
    keep = [i for i, c in enumerate(header) if c != column]
    path = write(tmp_path / "ExportOrderDetailList.csv", [header[i] for i in keep],
                 [[row[i] for i in keep] for row in rows], "gbk")
    report = ingest_file(path, wh)
    assert report.error is not None and report.error.exit_code == 2
    assert f"缺少必需列：{message}" in report.error.message
    assert not wh.exists() or not any(wh.glob("*.parquet"))


KILL_AMONG_RENAMES = """
import os, signal, sys
from pathlib import Path
from opsbook.data.intake import ingest_file
real_replace, renamed = os.replace, []

def replace_then_die(src, dst):
    real_replace(src, dst)
    if str(dst).endswith(".parquet"):
        renamed.append(dst)
        if len(renamed) == 1:  # one table renamed, the other not yet: the worst moment to die
            os.kill(os.getpid(), signal.SIGKILL)
os.replace = replace_then_die
ingest_file(Path(sys.argv[1]), Path(sys.argv[2]))
"""


def test_an_ingest_killed_among_its_renames_is_completed_before_anyone_reads(tmp_path, wh):
    """Detail lines change order_lines and orders: a kill between the two renames never leaves them half-new."""
    order_list, detail = tb_files(tmp_path)
    assert ingest_file(order_list, wh).error is None
    before = stored_orders(wh)
    proc = subprocess.run([sys.executable, "-c", KILL_AMONG_RENAMES, str(detail), str(wh)])
    assert proc.returncode == -9
    assert (wh / JOURNAL).exists()
    # on disk, half-done: the new lines renamed, orders still the order-level rows
    assert len(pd.read_parquet(wh / "order_lines.parquet")) == 3
    pd.testing.assert_frame_equal(stored_orders(wh), before)
    skus = sources.open_source(str(wh)).sql("SELECT sku FROM orders")["sku"]  # reading completes the commit first
    assert sorted(skus) == ["TM-01-M-RED", "TM-02-F-BLK", "TM-02-F-WHT"] and not (wh / JOURNAL).exists()
    assert len(pd.read_parquet(wh / "order_lines.parquet")) == 3


def test_a_failure_writing_the_second_table_leaves_both_as_they_were(tmp_path, wh, monkeypatch):
    order_list, detail = tb_files(tmp_path)
    assert ingest_file(order_list, wh).error is None
    before = (wh / "orders.parquet").read_bytes()
    real, calls = pd.DataFrame.to_parquet, []

    def second_fails(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        return real(self, *args, **kwargs)
    monkeypatch.setattr(pd.DataFrame, "to_parquet", second_fails)
    with pytest.raises(DataError):
        warehouse.merge(wh, "order_lines", exports.read_export(detail, warehouse=wh).tables["order_lines"])
    assert (wh / "orders.parquet").read_bytes() == before and not (wh / "order_lines.parquet").exists()
    assert not list(wh.glob(".*.tmp")) and not (wh / JOURNAL).exists()


def test_refunds_survive_a_later_order_list_or_detail_export(tmp_path, wh):
    """A refund once stored stays when an overlapping list (no refund column) or detail (没有申请退款) comes again."""
    order_list, detail = tb_files(tmp_path / "f", layout="新版")
    refunds = write(tmp_path / "refunds.csv", ["订单编号", "退款状态", "退款申请时间", "退款总额"],
                    [['="2580123456789012346"', "退款成功", "2026-06-20", "99.00"]], "gbk")
    for path in (detail, order_list, refunds):
        assert ingest_file(path, wh).error is None
    refunded = stored_orders(wh).set_index("order_id").loc["2580123456789012346"]
    assert (refunded["status"], refunded["refund_amount"]) == ("refunded", 99.0)
    for path in (order_list, detail):
        report = ingest_file(path, wh)
        assert report.error is None and "新增 0 行，更新 0 行" in "\n".join(report.lines)
        again = stored_orders(wh).set_index("order_id").loc["2580123456789012346"]
        assert (again["status"], again["refund_amount"]) == ("refunded", 99.0), path.name


def test_one_warehouse_holds_several_platforms(tmp_path, wh):
    """Douyin lines carry a unit price, a Taobao order list does not: it gets amount ÷ quantity."""
    assert ingest_file(write(tmp_path / "dy.csv", DY_HEADER, dy_rows(), "gbk"), wh).error is None
    report = ingest_file(write(tmp_path / "tb.csv", TB_HEADER, TB_LIST_ROWS, "gbk"), wh)
    assert report.error is None, report.error
    stored = pd.read_parquet(wh / "orders.parquet")
    assert sorted(stored["platform"].unique()) == ["DY", "TB"] and stored["unit_price"].notna().all()
    assert stored.set_index("order_id").loc["2580123456789012345", "unit_price"] == 433.0  # 1,299.00 ÷ 3


def test_ragged_file_with_a_multiline_note_above_the_header(tmp_path, wh):
    """Rows of unequal length send the file to pandas, which must start at the same header line as Arrow."""
    path = tmp_path / "ExportOrderList.csv"
    lines = ['"导出说明：\n仅含近三个月订单"', ",".join(TB_HEADER)]
    lines += [",".join(r) if i else ",".join(r[:-1]) for i, r in
              enumerate([[c.replace(",", "") for c in row] for row in TB_LIST_ROWS])]  # the first row one cell short
    path.write_bytes(("\n".join(lines) + "\n").encode("gbk"))
    result = exports.read_export(path, warehouse=wh)
    assert result.kind.kind == "淘宝/天猫订单列表" and len(result.tables["orders"]) == 2
    assert result.tables["orders"]["order_id"].tolist() == ["2580123456789012345", "2580123456789012346"]


def test_two_imports_into_one_folder_wait_for_each_other(tmp_path, wh):
    import fcntl
    import threading
    wh.mkdir()
    path = write(tmp_path / "dy.csv", DY_HEADER, dy_rows(), "gbk")
    reports = []
    with open(wh / LOCK, "a") as held:  # another import is writing
        fcntl.flock(held, fcntl.LOCK_EX)
        worker = threading.Thread(target=lambda: reports.append(ingest_file(path, wh)))
        worker.start()
        worker.join(1.0)
        assert worker.is_alive() and not (wh / "orders.parquet").exists()
        fcntl.flock(held, fcntl.LOCK_UN)
    worker.join(30)
    assert reports[0].error is None and len(pd.read_parquet(wh / "orders.parquet")) == 3


def test_an_unfinished_commit_that_cannot_be_completed_is_a_chinese_error(tmp_path, wh, monkeypatch):
    assert ingest_file(write(tmp_path / "dy.csv", DY_HEADER, dy_rows(), "gbk"), wh).error is None
    (wh / JOURNAL).write_text('["orders"]', encoding="utf-8")
    (wh / ".orders.parquet.tmp").write_bytes((wh / "orders.parquet").read_bytes())

    def refused(*args):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(warehouse.os, "replace", refused)
    with pytest.raises(DataError, match="未完成的导入.*写入权限"):
        sources.open_source(str(wh)).sql("SELECT count(*) AS n FROM orders")
    monkeypatch.undo()
    assert sources.open_source(str(wh)).sql("SELECT count(*) AS n FROM orders")["n"].iloc[0] == 3
    assert not (wh / JOURNAL).exists()


def test_an_imported_table_is_known_clean_so_its_first_reader_does_not_scan_it(tmp_path, wh):
    from opsbook.data import verified
    order_list, detail = tb_files(tmp_path)
    assert ingest_file(order_list, wh).error is None
    assert verified.known(verified.fingerprint(wh / "orders.parquet", "orders", tables.KEYS["orders"]))


def test_order_export_with_a_trailing_comma_on_every_row_imports(tmp_path, wh):
    """Excel ends every row with a comma: the empty extra cell is dropped, the columns stay where they are."""
    path = tmp_path / "ExportOrderList.csv"
    lines = [",".join(TB_HEADER)] + [",".join(c.replace(",", "") for c in row) + "," for row in TB_LIST_ROWS]
    path.write_bytes(("\n".join(lines) + "\n").encode("gbk"))
    report = ingest_file(path, wh)
    assert report.error is None, report.error
    stored = pd.read_parquet(wh / "orders.parquet").set_index("order_id")
    assert sorted(stored.index) == ["2580123456789012345", "2580123456789012346"]
    assert stored.loc["2580123456789012346", "status"] == "shipped"
