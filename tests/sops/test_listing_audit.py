"""listing_audit: every check on the sample catalogue (values recomputed from the files), campaign registrations from
the source and from uploaded sheets, odd parameters, hostile input, a warehouse filled by `opsbook ingest`."""
import datetime as dt
import shutil
from pathlib import Path
from types import SimpleNamespace

import openpyxl
import pandas as pd
import pytest

from opsbook import paths, sources
from opsbook.data import sample
from opsbook.engine import runner
from opsbook.sops import campaign_review, listing_audit

PRODUCTS = pd.read_parquet("data/sample/products.parquet")
PAID = ("paid", "shipped", "completed", "refunded")


def sku_of(listing: tuple[str, str]) -> str:
    """The SKU of a planted (design, platform) listing."""
    design, platform = listing
    rows = PRODUCTS[(PRODUCTS["name"] == f"{sample.BRAND}{design}") & (PRODUCTS["platform"] == platform)]
    assert len(rows) == 1, listing
    return rows["sku"].iloc[0]


PLANTED = {sku_of(sample.FORBIDDEN_TITLE): "标题含广告法极限词“最”“最舒适”（“最”类，须修改）",
           sku_of(sample.LONG_TITLE): "标题 68 字节，超过拼多多上限 60 字节",
           sku_of(sample.FEW_IMAGES): "主图 3 张，少于 5 张",
           sku_of(sample.BAD_SKU_CODE): "年月 2460 中月份 60 无效",
           sku_of(sample.EXPIRED_QUALIFICATION): "化妆品资质（特殊化妆品注册证或普通化妆品备案凭证、化妆品生产许可证）已于 2026-06-12 到期，已过期 18 天",
           sku_of(sample.EXPIRING_QUALIFICATION): "食品资质（食品经营许可证、食品生产许可证）将于 2026-07-12 到期，只剩 12 天",
           sku_of(sample.PRICE_BELOW_COST): "日常价 ¥249.00 低于成本价 ¥258.00"}


def upload(name: str, text: str, encoding: str = "utf-8-sig") -> str:
    """A file written inside the test project (where file parameters may point), by its relative path."""
    folder = paths.root() / "uploads-test"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(text.encode(encoding))
    return f"uploads-test/{name}"


def table(result, stem: str) -> pd.DataFrame:
    return pd.read_csv(result.folder / f"{stem}.csv", dtype={"商家编码": str})


def test_the_daily_audit_finds_every_planted_listing_fault_and_nothing_else():
    result = runner.run("listing_audit", {})
    assert result.ok, result.error
    audit = table(result, "审核结果")
    assert list(audit.columns) == ["商家编码", "平台", "标题", "结果", "原因"]
    assert sorted(audit["商家编码"]) == sorted(PRODUCTS["sku"])  # one row per listing of the catalogue
    failed = audit[audit["结果"] == "不通过"]
    assert set(failed["商家编码"]) == set(PLANTED)
    for sku, reason in PLANTED.items():
        assert reason in failed.set_index("商家编码").at[sku, "原因"], sku
    assert (audit.loc[audit["结果"] == "通过", "原因"].isna()).all()
    # two headline numbers recomputed from the files: titles over 60 GBK bytes and listings with under 5 main images
    long = PRODUCTS[PRODUCTS["title"].map(lambda t: len(t.encode("gbk"))) > 60]
    few = PRODUCTS[PRODUCTS["main_images"] < 5]
    assert long["sku"].tolist() == [sku_of(sample.LONG_TITLE)] and len(long["title"].iloc[0].encode("gbk")) == 68
    assert few["sku"].tolist() == [sku_of(sample.FEW_IMAGES)]
    m = result.metrics
    assert m["listings"] == len(PRODUCTS) == 59 and m["failed"] == len(PLANTED) == 7
    assert m["pass_rate"] == pytest.approx((59 - 7) / 59)
    assert m["problems"] == {"ad_words": 1, "title_length": 1, "images": 1, "sku_code": 1, "below_cost": 1,
                             "qualification_expired": 1, "qualification_expiring": 1}
    checks = openpyxl.load_workbook(result.folder / "检查汇总.xlsx").active
    assert [c.value for c in checks[1]] == ["检查项", "负责角色", "不通过商品数"]
    counts = {row[0].value: row[2] for row in checks.iter_rows(min_row=2)}
    assert counts["主图不足"].value == 1 and counts["主图不足"].data_type == "n"  # a numeric cell
    assert "缺少核心关键词" not in counts and "活动价不低于活动前最低价" not in counts  # checks not run are not listed
    html = (result.folder / "report.html").read_text(encoding="utf-8")
    assert "通过率" in html and "88.1%" in html
    owners = {f.code: f.owner for f in result.flags}
    assert owners["audit.images"] == "设计" and owners["audit.ad_words"] == "法务/运营"
    assert owners["audit.qualification_expired"] == "采购/运营" and owners["audit.below_cost"] == "运营"


def test_a_campaign_registration_is_checked_against_the_30_day_low_recomputed_from_the_orders():
    result = runner.run("listing_audit", {"campaign_id": "CP-2605-TM"})
    assert result.ok, result.error
    orders = pd.read_parquet("data/sample/orders.parquet")
    paid = orders[orders["status"].isin(PAID) & orders["pay_time"].notna() & ~orders["is_fake"]
                  & (orders["platform"] == "TM")]
    day = paid["order_time"].dt.date
    window = paid[(day >= dt.date(2026, 4, 20)) & (day < dt.date(2026, 5, 20))]
    low = (window["amount"] / window["quantity"]).groupby(window["sku"]).min().round(2)
    prices = table(result, "活动价核对").set_index("商家编码")
    items = pd.read_parquet("data/sample/campaign_items.parquet").query("campaign_id == 'CP-2605-TM'")
    assert sorted(prices.index) == sorted(items["sku"])
    for sku, base in prices["活动前最低成交价"].items():
        assert base == pytest.approx(low[sku]), sku
    assert prices.at["TM-01-M-2403", "活动前最低成交价"] == pytest.approx(62.14)
    assert prices.at["TM-01-M-2403", "核对结果"] == "不合规" and (prices["核对结果"] == "合规").sum() == 6
    assert set(prices["基准区间"]) == {"2026-04-20 至 2026-05-19"}
    # the same baseline as the campaign review's
    camp = campaign_review.pick(sources.open_source("data/sample"), "CP-2605-TM", dt.date(2026, 6, 30))
    review = campaign_review.price_check(sources.open_source("data/sample"), camp, 30).set_index("sku")
    assert review["min_price_before"].to_dict() == pytest.approx(prices["活动前最低成交价"].to_dict())
    audit = table(result, "审核结果")
    assert sorted(audit["商家编码"]) == sorted(items["sku"])  # only the registered SKUs are audited
    assert audit.set_index("商家编码").at["TM-01-M-2403", "原因"].startswith(
        "活动 CP-2605-TM 的活动价 ¥71.10 不低于活动前最低成交价 ¥62.14（2026-04-20 至 2026-05-19）")
    assert result.metrics["promo_noncompliant"] == 1 and result.metrics["pass_rate"] == pytest.approx(6 / 7)
    assert {(f.code, f.owner) for f in result.flags} == {("audit.promo_price", "运营")}


def test_a_campaign_not_started_on_the_audit_day_takes_the_days_before_the_audit_day():
    result = runner.run("listing_audit", {"campaign_id": "CP-2605-TM", "as_of": "2026-05-10"})
    assert result.ok, result.error
    prices = table(result, "活动价核对")
    assert set(prices["基准区间"]) == {"2026-04-11 至 2026-05-10"}
    html = (result.folder / "report.html").read_text(encoding="utf-8")
    assert "1 场活动尚未开始：以审核日期 2026-05-10 前 30 天为基准" in html


def test_qualifications_are_judged_on_the_audit_day():
    result = runner.run("listing_audit", {"as_of": "2026-06-01"})
    assert result.ok, result.error
    reasons = table(result, "审核结果").set_index("商家编码")["原因"]
    assert "将于 2026-06-12 到期，只剩 11 天" in reasons[sku_of(sample.EXPIRED_QUALIFICATION)]
    # 41 days ahead: beyond the 30-day warning, inside the 90-day renewal notice — said, and the listing still passes
    audit = table(result, "审核结果").set_index("商家编码")
    assert reasons[sku_of(sample.EXPIRING_QUALIFICATION)] == \
        "提示：食品资质（食品经营许可证、食品生产许可证）41 天后（2026-07-12）到期，请准备续期材料"
    assert audit.at[sku_of(sample.EXPIRING_QUALIFICATION), "结果"] == "通过"
    codes = {(f.code, str(f.severity)) for f in result.flags}
    assert ("audit.qualification_expiring", "medium") in codes and not any(c == "audit.qualification_expired"
                                                                           for c, _ in codes)


def test_one_platform_audits_its_listings_only():
    result = runner.run("listing_audit", {"platform": "PDD"})
    assert result.ok, result.error
    audit = table(result, "审核结果")
    assert sorted(audit["商家编码"]) == sorted(PRODUCTS.loc[PRODUCTS["platform"] == "PDD", "sku"])
    assert set(audit.loc[audit["结果"] == "不通过", "商家编码"]) == {sku_of(sample.LONG_TITLE), sku_of(sample.FEW_IMAGES)}
    assert {f.code for f in result.flags} == {"audit.title_length", "audit.images"}


def test_thresholds_are_the_parameters():
    result = runner.run("listing_audit", {"title_bytes_pdd": 70, "min_images": 3, "expiry_warn_days": 10,
                                          "required_keywords": "云栖，旗舰", "price_max": 500})
    assert result.ok, result.error
    reasons = table(result, "审核结果").set_index("商家编码")["原因"].fillna("")
    assert "字节" not in reasons[sku_of(sample.LONG_TITLE)] and "主图" not in reasons[sku_of(sample.FEW_IMAGES)]
    assert "只剩" not in reasons[sku_of(sample.EXPIRING_QUALIFICATION)]  # 12 days: past the 10-day warning line,
    assert "提示：食品资质（食品经营许可证、食品生产许可证）12 天后" in reasons[sku_of(sample.EXPIRING_QUALIFICATION)]  # a notice
    assert all("标题缺少核心关键词：旗舰" in r for r in reasons)  # every title has the brand 云栖, none says 旗舰
    over = PRODUCTS.loc[PRODUCTS["price"] > 500, "sku"]
    assert len(over) == 2 and all("不在价格区间 ¥1.00–¥500.00 内" in reasons[s] for s in over)
    assert result.metrics["passed"] == 0


@pytest.mark.parametrize("params, message", [
    ({"min_images": 0}, "min_images（主图下限）应在 1 到 20 之间"),
    ({"title_bytes_tb": 5000}, "title_bytes_tb（淘宝标题上限）应在 10 到 200 之间"),
    ({"platform": "TAOBAO"}, "只能取 全部 / TB / TM / JD / DY / PDD"),
    ({"registration_file": "../secret.csv"}, "不能含有“..”"),
    ({"registration_file": "/etc/passwd.csv"}, "应为项目目录内文件的相对路径"),
    ({"registration_file": "报名表.txt"}, "只接受 .xlsx、.xls、.csv 文件"),
    ({"registration_file": "nowhere/报名表.csv"}, "找不到文件 nowhere/报名表.csv"),
])
def test_bad_parameters_are_refused_before_anything_runs(params, message):
    from opsbook.errors import ParamError
    with pytest.raises(ParamError) as info:
        runner.run("listing_audit", params)
    assert message in info.value.message


def test_a_price_band_upside_down_is_refused_in_chinese():
    result = runner.run("listing_audit", {"price_min": 100, "price_max": 50})
    assert result.exit_code == 2 and "price_min（价格下限）¥100.00 应小于 price_max（价格上限）¥50.00" in result.error


def test_an_unknown_campaign_names_the_recent_ones():
    result = runner.run("listing_audit", {"campaign_id": "CP-9999"})
    assert result.exit_code == 2 and "找不到活动 CP-9999" in result.error and "CP-2605-TM" in result.error


REGISTRATION = """2026年618活动报名表（导出时间 2026-06-01）
活动ID,商家编码,商品ID,商品标题,日常价,活动价,活动库存
CP-2606-TB,="TB-01-M-2403",699703670314,云栖纯棉圆领短袖T恤 全网最低价,￥74.90,￥59.90,100
CP-2606-TB,="TB-05-STD-2403",634670152707,云栖记忆棉枕头慢回弹单人枕芯成人家用,121.90,"1,299.00",50
CP-2606-TB,tb-09-x-2601,,云栖新品,99,89,
合计,,,,,,150
"""


def test_an_uploaded_registration_sheet_is_audited_row_by_row(tmp_path):
    """A GBK sheet with a title line above its header, ="…" ids, ¥ and thousands separators, a 合计 row; a campaign
    not in `campaigns` (its baseline: the 30 days before the audit day, on the listing's platform)."""
    sheet = upload("报名表.csv", REGISTRATION, "gbk")
    result = runner.run("listing_audit", {"registration_file": sheet, "as_of": "2026-06-10", "required_keywords": "云栖"})
    assert result.ok, result.error
    audit = table(result, "审核结果").set_index("商家编码")
    assert sorted(audit.index) == ["TB-01-M-2403", "TB-05-STD-2403", "tb-09-x-2601"]
    tee = audit.loc["TB-01-M-2403"]
    assert tee["标题"] == "云栖纯棉圆领短袖T恤 全网最低价"  # the registered title, not the catalogue's
    assert tee["结果"] == "不通过" and "全网最低" in tee["原因"] and "最低价" in tee["原因"]
    pillow = audit.loc["TB-05-STD-2403", "原因"]
    assert "活动价 ¥1,299.00 不低于活动前最低成交价" in pillow and "不在价格区间" not in pillow
    new = audit.loc["tb-09-x-2601", "原因"]
    assert "商品表中没有这个商家编码" in new and "商家编码应写作“TB-09-X-2601”" in new
    prices = table(result, "活动价核对").set_index("商家编码")
    assert set(prices["基准区间"]) == {"2026-05-12 至 2026-06-10"}
    orders = pd.read_parquet("data/sample/orders.parquet")
    paid = orders[orders["status"].isin(PAID) & orders["pay_time"].notna() & ~orders["is_fake"]
                  & (orders["sku"] == "TB-01-M-2403") & (orders["platform"] == "TB")]
    day = paid["order_time"].dt.date
    window = paid[(day >= dt.date(2026, 5, 12)) & (day <= dt.date(2026, 6, 10))]
    assert prices.at["TB-01-M-2403", "活动前最低成交价"] == pytest.approx((window["amount"] / window["quantity"]).min(),
                                                                       abs=0.005)
    assert prices.at["tb-09-x-2601", "核对结果"] == "无成交（按日常价）"
    codes = {f.code for f in result.flags}
    assert {"audit.unknown_sku", "audit.ad_words", "audit.promo_price", "audit.promo_no_baseline"} <= codes
    html = (result.folder / "report.html").read_text(encoding="utf-8")
    assert "不在 campaigns 表中" in html and "上传的活动报名表 报名表.csv" in html


@pytest.mark.parametrize("text, message", [
    ("活动ID,商品标题,活动价\nCP-1,云栖,9\n", "报名表.csv 的 campaign_items 表缺少必需列 sku（商家编码）"),
    ("活动ID,商家编码,活动价\nCP-1,TB-01-M-2504,9\nCP-1,TB-01-M-2504,8\n", "campaign_id+sku 有重复：共 1 行，例如第 3 行"),
    ("活动ID,商家编码,活动价\nCP-1,TB-01-M-2504,九块九\n", "活动价）有无法识别为数字的值：共 1 行，例如 第2行=“九块九”"),
    ("活动ID,商家编码,活动价\nCP-1,2.58E+18,9\n", "疑似在 Excel 中打开后保存成了科学计数法"),
    ("名称,数量\n一,二\n", "找不到表头：表头应含 活动ID、商家编码、活动价"),
    ("活动ID,商家编码,sku,活动价\nCP-1,A,B,9\n", "“商家编码”和“sku”都表示 sku"),
])
def test_a_bad_registration_sheet_is_refused_naming_the_file_row_and_column(text, message):
    result = runner.run("listing_audit", {"registration_file": upload("报名表.csv", text)})
    assert result.exit_code == 2 and message in result.error, result.error
    assert str(paths.root()) not in result.error  # the file by its name, never a server folder


def test_an_old_xls_sheet_says_how_to_save_it():
    path = upload("报名表.xls", "not really excel")
    result = runner.run("listing_audit", {"registration_file": path})
    assert result.exit_code == 2 and "旧版 .xls 文件" in result.error


def test_an_xlsx_sheet_reads_like_a_csv(tmp_path):
    folder = paths.root() / "uploads-test"
    folder.mkdir(exist_ok=True)
    pd.DataFrame({"活动ID": ["CP-2605-TM"], "商家编码": ["TM-01-M-2403"], "活动价": [61.0]}).to_excel(
        folder / "报名表.xlsx", index=False)
    result = runner.run("listing_audit", {"registration_file": "uploads-test/报名表.xlsx"})
    assert result.ok, result.error
    prices = table(result, "活动价核对")
    assert prices["核对结果"].tolist() == ["合规"] and prices["活动前最低成交价"].tolist() == [62.14]


def test_hostile_catalogue_codes_twins_and_missing_data(shop):
    def edit(df):
        twin = df[df["sku"] == "TB-05-STD-2403"].assign(sku="tb-05-std-2403 ", platform="TB")
        df = pd.concat([df, twin], ignore_index=True)
        df.loc[df["sku"] == "TM-04-750G-2310", "qualification_expiry"] = pd.NaT  # 食品 without its date
        df.loc[df["sku"] == "TM-01-M-2403", "main_images"] = None
        df.loc[df["sku"] == "TM-01-M-2309", "title"] = None
        df.loc[df["sku"] == "JD-02-BK-2311", "sku"] = "PDD-02-BK-2311"  # listed on JD with a PDD code
        return df
    result = runner.run("listing_audit", {"source": shop(edit=("products", edit))})
    assert result.ok, result.error
    reasons = table(result, "审核结果").set_index("商家编码")["原因"]
    assert "商家编码与淘宝（TB）的“tb-05-std-2403 ”只差大小写或空格" in reasons["TB-05-STD-2403"]
    assert "商家编码与淘宝（TB）的“TB-05-STD-2403”只差大小写或空格" in reasons["tb-05-std-2403 "]
    assert "商家编码应写作“TB-05-STD-2403”（大写字母，前后不留空格）" in reasons["tb-05-std-2403 "]
    assert "属于敏感类目食品（需食品经营许可证、食品生产许可证），未登记资质有效期" in reasons["TM-04-750G-2310"]
    assert reasons["TM-01-M-2403"] == "主图数量未登记" and reasons["TM-01-M-2309"] == "标题为空"
    assert "平台代码 PDD 与商品所在平台 京东（JD）不一致" in reasons["PDD-02-BK-2311"]
    flags = {f.code: str(f.severity) for f in result.flags}
    assert flags["audit.sku_duplicate"] == "high" and flags["audit.qualification_missing"] == "medium"


def test_a_catalogue_without_titles_or_images_says_what_was_not_checked(shop):
    result = runner.run("listing_audit", {"source": shop(drop_columns={"products": ["title", "main_images"]})})
    assert result.ok, result.error
    (flag,) = [f for f in result.flags if f.code == "audit.not_checked"]
    assert str(flag.severity) == "medium" and flag.owner == "数据分析"
    assert "广告法极限词、标题长度和核心关键词都没有检查" in flag.message and "主图数量没有检查" in flag.message
    assert "title（商品标题）、main_images（主图数量）" in flag.message and "通过率 93.2% 不含这些检查" in flag.message
    names = table(result, "检查汇总")["检查项"].tolist()
    assert "广告法极限词" not in names and "主图不足" not in names and "价格低于成本" in names
    assert result.metrics["checks_skipped"] == ["广告法极限词", "标题长度", "核心关键词", "主图数量"]


def test_a_pass_rate_never_hides_the_checks_an_old_warehouse_did_not_allow(shop):
    """A products table without titles (an older warehouse): the pass rate is published, but its card, every row of
    the results and a medium flag for 数据分析 say which checks it leaves out and which column is missing."""
    full = runner.run("listing_audit", {})
    result = runner.run("listing_audit", {"source": shop(drop_columns={"products": ["title"]})})
    assert result.ok, result.error
    m = result.metrics
    assert m["checks_skipped"] == ["广告法极限词", "标题长度", "核心关键词"] and full.metrics["checks_skipped"] == []
    # the planted forbidden word and long title are not found: the listings pass what was checked, and say so
    assert m["failed"] == full.metrics["failed"] - 2 and m["pass_rate"] == pytest.approx((59 - 5) / 59)
    html = (result.folder / "report.html").read_text(encoding="utf-8")
    assert "91.5%（部分检查未做）" in html and "广告法极限词、标题长度、核心关键词（商品表缺少 title（商品标题））" in html
    assert "88.1%（部分检查未做）" not in (full.folder / "report.html").read_text(encoding="utf-8")
    audit = table(result, "审核结果").set_index("商家编码")
    assert audit.at[sku_of(sample.FORBIDDEN_TITLE), "结果"] == "通过"
    assert (audit["原因"].str.endswith("未检查广告法极限词、标题长度、核心关键词（商品表缺少这些数据）")).all()
    flags = {f.code: f for f in result.flags}
    assert (str(flags["audit.not_checked"].severity), flags["audit.not_checked"].owner) == ("medium", "数据分析")
    assert "products 表缺少 title 列" in flags["audit.not_checked"].message
    assert "主图" not in flags["audit.not_checked"].message  # main_images is there: images were checked
    assert "audit.not_checked" not in {f.code for f in full.flags}


def test_a_missing_required_column_is_a_chinese_error_naming_table_and_column(shop):
    result = runner.run("listing_audit", {"source": shop(drop_columns={"products": ["cost"]})})
    assert result.exit_code == 2 and "products 表缺少必需列 cost（成本价）" in result.error


def test_duplicated_catalogue_rows_stop_the_run(shop):
    result = runner.run("listing_audit", {"source": shop(edit=("products", lambda df: pd.concat([df, df.head(2)])))})
    assert result.exit_code == 2 and "products 表有 2 组重复的 platform+sku" in result.error


def test_nothing_to_audit_is_said_not_a_traceback(shop):
    result = runner.run("listing_audit", {"source": shop(edit=("products", lambda df: df[df["platform"] != "JD"])),
                                          "platform": "JD"})
    assert result.ok, result.error
    assert result.metrics["listings"] == 0 and result.metrics["pass_rate"] is None
    assert [f.code for f in result.flags] == ["audit.nothing"]
    assert "没有可审核的商品" in (result.folder / "report.html").read_text(encoding="utf-8")


def test_the_catalogue_audit_needs_products_but_a_registration_sheet_does_not(tmp_path, monkeypatch):
    """A warehouse filled by `opsbook ingest` holds orders (no product lists in this branch): the daily audit says what
    is missing; a registration sheet is audited against the imported orders."""
    from opsbook.data.intake import ingest_file
    monkeypatch.syspath_prepend(str(Path(__file__).parents[1] / "data"))  # also when tests/data is not collected
    from test_intake import DY_HEADER, dy_rows, write
    wh = tmp_path / "warehouse"
    report = ingest_file(write(tmp_path / "1719800000_orders.csv", DY_HEADER, dy_rows(n=3), "gbk"), wh)
    assert report.error is None, report.error
    daily = runner.run("listing_audit", {"source": str(wh)})
    assert daily.exit_code == 2 and "没有 products 表" in daily.error
    sheet = upload("抖音报名.csv", "活动ID,商家编码,商品标题,日常价,活动价\nCP-2606-DY,DY-02-M-2603,云栖智能运动手表,299,289\n")
    result = runner.run("listing_audit", {"source": str(wh), "registration_file": sheet, "as_of": "2026-06-10"})
    assert result.ok, result.error
    prices = table(result, "活动价核对")
    assert prices["活动前最低成交价"].tolist() == [279.0] and prices["核对结果"].tolist() == ["不合规"]
    assert {f.code for f in result.flags} >= {"audit.promo_price", "audit.unknown_sku"}


def test_checks_on_many_listings_with_a_big_lexicon_agree_with_a_regex():
    """The audit's word scan (one automaton pass) finds what a regex alternation finds, on made-up listings."""
    import re
    from opsbook.sops import lexicon
    words = ["最", "第一", "顶级", "云栖特供"]
    scan = lexicon.build({"词": words})
    term = {w: SimpleNamespace(word=w, kind="测试", severity="high") for w in words}
    titles = ["云栖顶级第一", "普通标题", "最好的云栖特供", ""]
    items = pd.DataFrame({"sku": [f"TB-01-M-250{i}" for i in range(1, 5)], "platform": "TB", "title": titles,
                          "name": "x", "category": "家居", "cost": 1.0, "price": 2.0, "main_images": 5,
                          "qualification_expiry": pd.NaT, "known": True})
    problems, _ = listing_audit.check(items, listing_audit.promo_prices(None, items.iloc[0:0], items, 30, dt.date(2026, 6, 30)),
                                      as_of=dt.date(2026, 6, 30), limits=dict.fromkeys("TB TM JD DY PDD".split(), 60),
                                      required="", min_images=5, price_min=1, price_max=100,
                                      expiry_warn_days=30,
                                      terms=lambda ts: [[term[w] for w in f] for f in scan.find_all(ts)])
    pattern = re.compile("|".join(map(re.escape, sorted(words, key=len, reverse=True))))
    found = problems[problems["check"] == "ad_words"].set_index("sku")["reason"]
    for sku, title in zip(items["sku"], titles):
        expected = set(pattern.findall(title))
        assert (sku in found.index) == bool(expected)
        assert all(w in found.get(sku, "") for w in expected)
    assert problems.loc[problems["sku"] == "TB-01-M-2504", "check"].tolist() == ["missing_info"]  # the empty title


@pytest.fixture(autouse=True, scope="module")
def _clean_uploads():
    yield
    shutil.rmtree(paths.root() / "uploads-test", ignore_errors=True)


def test_the_daily_audit_during_a_campaign_checks_its_registrations_too():
    """On 2026-06-10 the 618 campaigns of TM and JD are running: the catalogue audit checks their promo prices."""
    result = runner.run("listing_audit", {"as_of": "2026-06-10"})
    assert result.ok, result.error
    prices = table(result, "活动价核对")
    items = pd.read_parquet("data/sample/campaign_items.parquet")
    assert sorted(prices["商家编码"]) == sorted(items.loc[items["campaign_id"].isin(["CP-2605-TM", "CP-2605-JD"]), "sku"])
    assert len(table(result, "审核结果")) == len(PRODUCTS)  # still the whole catalogue, one row per listing
    assert ("audit.promo_price", "high") in {(f.code, str(f.severity)) for f in result.flags}
    one = runner.run("listing_audit", {"as_of": "2026-06-10", "platform": "JD"})
    assert set(table(one, "活动价核对")["活动ID"]) == {"CP-2605-JD"}


def test_a_registration_on_the_wrong_platform_and_codes_of_later_months(shop):
    def edit(df):
        df.loc[df["sku"] == "TM-02-BK-2311", "sku"] = "TM-02-BK-2612"  # a month after the audit day and the launch
        future = df["sku"] == "DY-02-BK-2603"
        df.loc[future, "launch_date"] = pd.Timestamp("2026-08-01")  # scheduled: its code may say 2608
        df.loc[future, "sku"] = "DY-02-BK-2608"
        return df
    sheet = upload("错平台.csv", "活动ID,商家编码,活动价\nCP-2605-TM,JD-05-STD-2403,99\n")
    result = runner.run("listing_audit", {"source": shop(edit=("products", edit))})
    reasons = table(result, "审核结果").set_index("商家编码")["原因"]
    assert "年月 2612 晚于审核日期和上架日期" in reasons["TM-02-BK-2612"] and pd.isna(reasons["DY-02-BK-2608"])
    wrong = runner.run("listing_audit", {"registration_file": sheet})
    reason = table(wrong, "审核结果").set_index("商家编码").at["JD-05-STD-2403", "原因"]
    assert "商品在京东（JD），活动 CP-2605-TM 在天猫（TM）" in reason
    assert ("audit.wrong_platform", "medium") in {(f.code, str(f.severity)) for f in wrong.flags}


@pytest.mark.parametrize("kind", ["duckdb", "postgres"])
def test_a_duckdb_file_and_postgresql_give_the_folder_numbers(kind, request, monkeypatch, sample_duckdb):
    if kind == "duckdb":
        location = str(sample_duckdb)
    else:
        monkeypatch.syspath_prepend(str(Path(__file__).parents[1] / "data"))
        from test_postgres import load, schema_url
        location = schema_url(request.getfixturevalue("postgres_url"), "audit_sample")
        load(location)
    for params in ({}, {"campaign_id": "CP-2605-TM"}):
        on_folder, elsewhere = (runner.run("listing_audit", {**params, "source": s}) for s in ("data/sample", location))
        assert on_folder.ok and elsewhere.ok, elsewhere.error
        assert elsewhere.metrics == on_folder.metrics and elsewhere.metrics["listings"]
        assert table(elsewhere, "审核结果").equals(table(on_folder, "审核结果"))


def test_one_platform_of_a_sheet_of_several():
    sheet = upload("多平台.csv", "活动ID,商家编码,活动价\nCP-2605-TM,TM-01-M-2403,61\nCP-2605-JD,JD-05-STD-2403,94.9\n")
    result = runner.run("listing_audit", {"registration_file": sheet, "platform": "JD"})
    assert result.ok, result.error
    assert table(result, "审核结果")["商家编码"].tolist() == ["JD-05-STD-2403"]
    assert table(result, "活动价核对")["活动ID"].tolist() == ["CP-2605-JD"]
    assert "上传的活动报名表 多平台.csv 中的京东（JD）商品" in (result.folder / "report.html").read_text(encoding="utf-8")


def test_core_keywords_per_category_beside_the_global_list():
    """`category_keywords` asks each category's titles for its own words (“/”: one of them is enough), on top of the
    words every title needs; a category named there that no audited listing has is said, not silently ignored."""
    result = runner.run("listing_audit", {"required_keywords": "云栖", "category_keywords":
                                          "食品：g/kg/克，零食；美妆:ml/g/片;食物:净含量"})
    assert result.ok, result.error
    audit = table(result, "审核结果").set_index("商家编码")
    lacking = {"JD-04-500G-2402", "TB-04-500G-2402", "TB-04-1KG-2401", "JD-04-1KG-2401", "PDD-04-1KG-2401"}
    food = PRODUCTS[PRODUCTS["category"] == "食品"]
    assert lacking == set(food.loc[~food["title"].str.contains("零食"), "sku"])  # recomputed from the titles
    for sku in lacking:
        assert "缺少食品类目要求的关键词：零食" in audit.at[sku, "原因"], sku
    assert set(audit.index[audit["结果"] == "不通过"]) == set(PLANTED) | lacking  # 美妆 titles all say ml, g or 片
    assert result.metrics["problems"]["keywords"] == len(lacking)
    (flag,) = [f for f in result.flags if f.code == "audit.keywords_unmatched"]
    assert str(flag.severity) == "low" and "“食物”在审核的商品中没有" in flag.message
    assert "缺少核心关键词" in table(result, "检查汇总")["检查项"].tolist()


def test_keywords_of_the_longest_category_name_and_alternatives():
    items = pd.DataFrame({"sku": ["TB-04-A-2501", "TB-04-B-2501", "TB-04-C-2501"], "platform": "TB",
                          "title": ["云栖鱼油 蓝帽认证", "云栖鱼油", "云栖坚果 500克"], "name": "x",
                          "category": ["保健食品", "保健食品", "休闲食品/坚果"], "cost": 1.0, "price": 2.0,
                          "main_images": 5, "qualification_expiry": pd.Timestamp("2027-01-01"), "known": True})
    problems, skipped = listing_audit.check(
        items, listing_audit.promo_prices(None, items.iloc[0:0], items, 30, dt.date(2026, 6, 30)),
        as_of=dt.date(2026, 6, 30), limits=dict.fromkeys("TB TM JD DY PDD".split(), 60), required="云栖/YUNQI",
        by_category="食品:g/克;保健食品:蓝帽", min_images=5, price_min=1, price_max=100, expiry_warn_days=30)
    found = problems[problems["check"] == "keywords"].set_index("sku")["reason"].to_dict()
    assert found == {"TB-04-B-2501": "缺少保健食品类目要求的关键词：蓝帽"}  # 保健食品 wins over 食品; 500克 is a 克
    assert skipped == {}


@pytest.mark.parametrize("params, messages", [
    ({"category_keywords": "食品 零食;美妆:"}, ["第 1 段“食品 零食”缺少冒号", "第 2 段“美妆:”没有关键词",
                                                "格式应为“类目:关键词,关键词;类目:关键词”"]),
    ({"category_keywords": "食品:零食;食品:坚果"}, ["类目“食品”写了两次"]),
    ({"expiry_notice_days": 20}, ["expiry_notice_days（资质续期提醒天数）20 天不能少于 expiry_warn_days（资质预警天数）30 天"]),
])
def test_parameters_that_do_not_fit_together_are_refused_in_chinese(params, messages):
    result = runner.run("listing_audit", params)
    assert result.exit_code == 2 and all(m in result.error for m in messages), result.error


def test_a_qualification_expiring_within_the_notice_line_is_a_low_notice_and_passes():
    """Expired → high; within `expiry_warn_days` → medium (不通过); within `expiry_notice_days` (default 90) → a low
    notice to prepare the renewal, the listing passing."""
    result = runner.run("listing_audit", {"as_of": "2026-08-01"})
    assert result.ok, result.error
    audit = table(result, "审核结果").set_index("商家编码")
    expiry = PRODUCTS.set_index("sku")["qualification_expiry"].dropna()
    left = (expiry - pd.Timestamp("2026-08-01")).dt.days
    assert sorted(left[(left > 30) & (left <= 90)].index) == ["PDD-03-10P-2312"]  # 82 days, recomputed from the file
    assert audit.at["PDD-03-10P-2312", "结果"] == "通过"
    assert audit.at["PDD-03-10P-2312", "原因"] == \
        "提示：化妆品资质（特殊化妆品注册证或普通化妆品备案凭证、化妆品生产许可证）82 天后（2026-10-22）到期，请准备续期材料"
    assert "已过期 20 天" in audit.at[sku_of(sample.EXPIRING_QUALIFICATION), "原因"]
    flags = {f.code: f for f in result.flags}
    renewal = flags["audit.qualification_renewal"]
    assert (str(renewal.severity), renewal.owner) == ("low", "采购/运营") and "82 天后" in renewal.message
    assert str(flags["audit.qualification_expired"].severity) == "high"
    assert result.metrics["problems"]["qualification_renewal"] == 1
    longer = runner.run("listing_audit", {"as_of": "2026-08-01", "expiry_notice_days": 180, "expiry_warn_days": 90})
    reasons = table(longer, "审核结果").set_index("商家编码")["原因"]
    assert "只剩 82 天" in reasons["PDD-03-10P-2312"]  # inside the warning line now: medium, 不通过
    assert sorted(r for r in reasons.index if "请准备续期材料" in str(reasons[r])) == \
        sorted(left[(left > 90) & (left <= 180)].index)


def test_an_audit_day_before_the_data_begins_is_refused_not_read_as_campaigns_not_started():
    """On a day before the first order every campaign looks not started and every promo price unverifiable (the run
    used to pass with a low flag): a date typed wrong, refused with exit 2 — from the CLI too."""
    orders = pd.read_parquet("data/sample/orders.parquet")
    paid = orders[orders["status"].isin(PAID) & orders["pay_time"].notna() & ~orders["is_fake"]]
    traffic = pd.read_parquet("data/sample/traffic_daily.parquet")
    first = min(paid["pay_time"].dt.tz_convert("Asia/Shanghai").dt.date.min(), pd.Timestamp(traffic["date"].min()).date())
    result = runner.run("listing_audit", {"as_of": "2024-01-01"})
    assert result.exit_code == 2, result.error
    assert f"审核日期 2024-01-01 早于数据中最早的一天 {first}" in result.error
    assert runner.run("listing_audit", {"as_of": first.isoformat()}).ok  # the first day itself is fine
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "opsbook.ui.cli", "run", "listing_audit", "-p", "as_of=2024-01-01",
                          "-p", "campaign_id=CP-2605-TM"], capture_output=True, text=True, cwd=paths.root(), timeout=300)
    assert out.returncode == 2 and "早于数据中最早的一天" in out.stdout + out.stderr
