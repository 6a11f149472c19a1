"""Goods intake (issue 11): 淘宝/天猫 and 抖店 product lists, the shop's 成本表 and 活动报名表 — detected by content,
GBK and xlsx, `="…"` and tab-prefixed ids, header variants; products take their cost by SKU, never a silent 0."""
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from opsbook import sources
from opsbook.data import tables
from opsbook.data.intake import exports, goods, ingest_file

FIXTURES = Path(__file__).parent / "fixtures" / "exports"
TB_SKUS = ["TB-01-M-2604", "TB-02-F-2604", "TB-03-S-2605"]
DY_SKUS = ["DY-02-M-2603", "DY-05-S-2603", "DY-07-L-2604"]
TB_TITLES = ["夏季纯棉连衣裙女中长款", "加厚保暖羊毛袜 3双装", "婴儿配方奶粉1段 800g"]
STANDARD = {  # what each standard layout reads as, exactly (rows sorted by the table's key)
    "taobao_products": ("product_listings", {
        "sku": TB_SKUS, "product_id": ["652301234567", "652301234568", "652301234569"], "title": TB_TITLES,
        "name": TB_TITLES, "category": ["女装/连衣裙", "袜子", "奶粉"], "price": [1299.0, 49.9, 328.0],
        "launch_date": pd.to_datetime(["2026-04-02", "2026-04-15", "2026-05-01"]).tolist(),
        "main_images": [5, 3, 5], "platform": ["TB"] * 3}),
    "douyin_products": ("product_listings", {
        "sku": DY_SKUS, "product_id": ["3712345678901234561", "3712345678901234562", "3712345678901234563"],
        "title": ["运动手表 智能心率血氧监测", "速干运动T恤男", "瑜伽垫 加厚防滑"],
        "category": ["智能设备/智能手表", "运动服/休闲服装", "瑜伽垫"], "price": [299.0, 59.9, 89.0],
        "launch_date": pd.to_datetime(["2026-03-10", "2026-03-12", "2026-04-20"]).tolist(),
        "main_images": [5, None, 4], "platform": ["DY"] * 3}),
    "cost_sheet": ("product_costs", {"sku": sorted(TB_SKUS + DY_SKUS),
                                     "cost": [150.0, 21.3, 35.0, 520.0, 12.5, 1080.0]}),
    "campaign_registration": ("campaign_items", {
        "campaign_id": ["CP-2606-TB"] * 3, "sku": TB_SKUS,
        "product_id": ["652301234567", "652301234568", "652301234569"],
        "title": TB_TITLES, "price": [1299.0, 49.9, 328.0], "promo_price": [999.0, 39.9, 299.0],
        "promo_stock": [100, 500, None]}),
}
ENCODING = {"taobao_products": "gb18030", "douyin_products": "gb18030", "cost_sheet": "utf-8-sig",
            "campaign_registration": "utf-8-sig"}
# (kind, variant file, canonical columns that differ from the standard layout's by design)
VARIANTS = [
    ("taobao_products", "qianniu_newer.csv", ()),  # 商品ID, 商品标题, 一口价, 上架时间; plain ids; UTF-8; a trailing ;
    ("taobao_products", "assistant.csv", ("category",)),  # 淘宝助理: header on line 3, 类目 as numbers, spec pictures
    ("douyin_products", "product_code.xlsx", ()),  # xlsx: 商品编码, 价格, ids with a leading ', &#32; in titles
    ("cost_sheet", "excel_gbk.csv", ()),  # saved by Excel: GBK, ￥ and thousands separators, a 合计 row, columns moved
    ("campaign_registration", "product_id_only.csv", ("sku",)),  # no 商家编码: rows by 商品ID (GBK, ="…")
]


def rows_of(warehouse: Path, table: str) -> pd.DataFrame:
    """A warehouse table sorted by its key."""
    return pd.read_parquet(warehouse / f"{table}.parquet").sort_values(tables.KEYS[table]).reset_index(drop=True)


def ingested(file: Path, warehouse: Path) -> list[str]:
    """Ingest one file (it must be accepted); its summary lines."""
    report = ingest_file(file, warehouse)
    assert report.error is None, report.error.message
    return report.lines


def values(frame: pd.DataFrame, column: str) -> list:
    """A column as plain Python values (missing as None, dates as Timestamps)."""
    return [None if pd.isna(v) else v for v in frame[column].astype(object)]


@pytest.mark.parametrize("kind", sorted(STANDARD))
def test_standard_layouts_ingest_to_known_canonical_values(tmp_path, kind):
    table, expected = STANDARD[kind]
    result = exports.read_export(FIXTURES / kind / "standard.csv", warehouse=tmp_path / "wh")
    assert (result.kind.name, result.encoding) == (kind, ENCODING[kind])
    ingested(FIXTURES / kind / "standard.csv", tmp_path / "wh")
    stored = rows_of(tmp_path / "wh", table)
    for column, wanted in expected.items():
        assert values(stored, column) == wanted, column


@pytest.mark.parametrize("kind, name, differs", VARIANTS, ids=[f"{k}/{n}" for k, n, _ in VARIANTS])
def test_each_header_variant_ingests_to_the_same_canonical_rows(tmp_path, kind, name, differs):
    table = STANDARD[kind][0]
    ingested(FIXTURES / kind / "standard.csv", tmp_path / "a")
    lines = ingested(FIXTURES / kind / name, tmp_path / "b")
    assert exports.read_export(FIXTURES / kind / name, warehouse=tmp_path / "b").kind.name == kind
    standard, variant = rows_of(tmp_path / "a", table), rows_of(tmp_path / "b", table)
    keep = [c for c in standard.columns if c not in differs]
    pd.testing.assert_frame_equal(variant[keep], standard[keep], check_like=True)
    if name == "excel_gbk.csv":
        assert "跳过：汇总行 1 行" in lines


def test_the_variants_that_differ_differ_as_documented(tmp_path):
    ingested(FIXTURES / "taobao_products" / "assistant.csv", tmp_path / "a")
    assert values(rows_of(tmp_path / "a", "product_listings"), "category") == ["50010850", "50006846", "50018813"]
    ingested(FIXTURES / "campaign_registration" / "product_id_only.csv", tmp_path / "b")
    assert values(rows_of(tmp_path / "b", "campaign_items"), "sku") == ["652301234567", "652301234568", "652301234569"]


@pytest.mark.parametrize("cell, count", [
    ("https://a/1.jpg;https://a/2.jpg;https://a/3.jpg", 3), ("https://a/1.jpg；https://a/2.jpg;", 2), ("6", 6),
    ("6.0", 6), ("x:1:0:|https://a/1.jpg;y:1:1:|https://a/2.jpg;z:2:0:1627207:28320|https://a/s.jpg;", 2),
    (":1:0:|https://a/1.jpg", 1), ("", None), ("-", None), (None, None)])
def test_main_images_are_counted_from_a_number_or_the_images_listed(cell, count):
    assert goods.image_count(cell) == count


def test_a_product_list_alone_waits_for_its_costs_and_names_the_skus(tmp_path):
    wh = tmp_path / "wh"
    lines = ingested(FIXTURES / "taobao_products" / "standard.csv", wh)
    assert "写入 product_listings：新增 3 行，更新 0 行（共 3 行）" in lines
    assert any(line.startswith("3 个 SKU 还没有成本价，暂不写入 products：" + "、".join(TB_SKUS)) and "成本表" in line
               for line in lines)
    assert not (wh / "products.parquet").exists()


@pytest.mark.parametrize("order", ["list first", "costs first"])
def test_products_take_their_cost_by_sku_whichever_file_comes_first(tmp_path, order):
    files = [FIXTURES / "taobao_products" / "standard.csv", FIXTURES / "cost_sheet" / "standard.csv"]
    lines = [ingested(f, tmp_path / "wh") for f in (files if order == "list first" else files[::-1])]
    assert "写入 products：新增 3 个 SKU，更新 0 个（共 3 个）" in lines[1]
    if order == "costs first":
        assert any(line.startswith("6 个 SKU 还没有商品资料，成本价已保存") for line in lines[0])
    products = rows_of(tmp_path / "wh", "products")
    assert values(products, "sku") == TB_SKUS and values(products, "cost") == [520.0, 12.5, 1080.0]
    assert values(products, "price") == [1299.0, 49.9, 328.0] and values(products, "name") == TB_TITLES
    assert values(products, "main_images") == [5, 3, 5]
    tables.validate("products", products)
    read = sources.open_source(str(tmp_path / "wh")).table("products")  # the source fills the optional columns
    assert set(read["sku"]) == set(TB_SKUS) and read["qualification_expiry"].isna().all()


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8-sig") -> Path:
    """A small CSV file (cells holding a comma quoted)."""
    text = "\r\n".join(",".join(f'"{c}"' if "," in c else c for c in row) for row in rows)
    path.write_bytes(text.encode(encoding))
    return path


def test_a_sku_missing_from_the_cost_sheet_waits_until_a_later_sheet_has_it(tmp_path):
    wh = tmp_path / "wh"
    ingested(FIXTURES / "taobao_products" / "standard.csv", wh)
    lines = ingested(write_csv(tmp_path / "成本表.csv", [["商家编码", "成本价"], ["TB-01-M-2604", "520"],
                                                         ["TB-02-F-2604", "12.5"]]), wh)
    assert "写入 products：新增 2 个 SKU，更新 0 个（共 2 个）" in lines
    assert any(line.startswith("1 个 SKU 还没有成本价，暂不写入 products：TB-03-S-2605") for line in lines)
    assert values(rows_of(wh, "products"), "sku") == TB_SKUS[:2]
    ingested(write_csv(tmp_path / "补充成本.csv", [["商家编码", "成本价"], ["TB-03-S-2605", "1080"]]), wh)
    assert values(rows_of(wh, "products"), "cost") == [520.0, 12.5, 1080.0]


def test_a_later_list_replaces_its_skus_listing_and_keeps_their_cost_a_later_sheet_their_cost(tmp_path):
    wh = tmp_path / "wh"
    for kind in ("taobao_products", "douyin_products", "cost_sheet"):
        ingested(FIXTURES / kind / "standard.csv", wh)
    text = (FIXTURES / "taobao_products" / "standard.csv").read_bytes().decode("gb18030")
    later = text.replace('"1,299.00"', "1199.00").replace("加厚保暖羊毛袜 3双装", "加厚保暖羊毛袜 5双装")
    (tmp_path / "出售中的宝贝.csv").write_bytes(later.encode("gb18030"))
    lines = ingested(tmp_path / "出售中的宝贝.csv", wh)
    assert "写入 product_listings：新增 0 行，更新 2 行（共 6 行）" in lines
    assert "写入 products：新增 0 个 SKU，更新 2 个（共 6 个）" in lines  # a price and a title
    products = rows_of(wh, "products").set_index("sku")
    assert products.loc["TB-01-M-2604", "price"] == 1199.0 and products.loc["TB-01-M-2604", "cost"] == 520.0
    assert products.loc["TB-02-F-2604", "title"] == "加厚保暖羊毛袜 5双装"
    assert products.loc["TB-02-F-2604", "name"] == "加厚保暖羊毛袜 3双装"
    assert len(products) == 6 and products.loc["DY-02-M-2603", "price"] == 299.0
    lines = ingested(write_csv(tmp_path / "成本表.csv", [["商家编码", "成本价"], ["TB-01-M-2604", "530"]]), wh)
    assert "写入 products：新增 0 个 SKU，更新 1 个（共 6 个）" in lines
    assert rows_of(wh, "products").set_index("sku").loc["TB-01-M-2604", "cost"] == 530.0


def test_the_same_sku_listed_on_two_platforms_is_two_listings_with_the_skus_one_cost(tmp_path):
    """products is keyed by platform + sku: an 抖店 list holding a 淘宝 SKU adds a listing (which listing_audit reports
    as a duplicate code), never overwrites the 淘宝 one; both carry the SKU's cost and its product name."""
    wh = tmp_path / "wh"
    for kind in ("taobao_products", "cost_sheet"):
        ingested(FIXTURES / kind / "standard.csv", wh)
    path = write_csv(tmp_path / "抖店商品.csv", [["商品ID", "商品名称", "商家编码", "售价", "库存", "类目", "商品状态", "创建时间"],
                                               ["3712345678901234569", "抖音款连衣裙", "TB-01-M-2604", "1199.00", "5",
                                                "女装/连衣裙", "在线", "2026-05-01 08:00:00"]], "gb18030")
    lines = ingested(path, wh)
    assert "写入 product_listings：新增 1 行，更新 0 行（共 4 行）" in lines
    products = rows_of(wh, "products")
    twin = products[products["sku"] == "TB-01-M-2604"].set_index("platform")
    assert sorted(twin.index) == ["DY", "TB"] and len(products) == 4
    assert twin.loc["DY", "cost"] == twin.loc["TB", "cost"] == 520.0  # the SKU's cost, with no new cost sheet
    assert (twin.loc["DY", "price"], twin.loc["TB", "price"]) == (1199.0, 1299.0)
    assert twin.loc["DY", "name"] == twin.loc["TB", "name"] == TB_TITLES[0]  # the product's name, not the DY title
    assert twin.loc["DY", "title"] == "抖音款连衣裙"
    lines = ingested(write_csv(tmp_path / "成本表.csv", [["商家编码", "成本价"], ["TB-01-M-2604", "530"]]), wh)
    assert "写入 products：新增 0 个 SKU，更新 2 个（共 4 个）" in lines  # a cost is the SKU's, on every platform
    assert rows_of(wh, "products").query("sku == 'TB-01-M-2604'")["cost"].tolist() == [530.0, 530.0]
    source = sources.open_source(str(wh))  # opens: no duplicate key
    assert len(source.table("products")) == 4


def test_a_stored_product_keeps_its_cost_name_and_qualification_when_a_list_updates_it(tmp_path):
    """A warehouse whose products came from elsewhere: a product list without costs updates them all the same."""
    wh = tmp_path / "wh"
    wh.mkdir()
    shutil.copy(Path(tables.__file__).parents[3] / "data" / "sample" / "products.parquet", wh / "products.parquet")
    before = rows_of(wh, "products").set_index("sku").loc["TB-02-WH-2402"]
    path = write_csv(tmp_path / "list.csv", [["宝贝ID", "宝贝标题", "商家编码", "价格", "类目", "主图"],
                                             ['="630356990874"', "新标题 充电宝", "TB-02-WH-2402", "119.00", "3C数码",
                                              "https://a/1.jpg;https://a/2.jpg"]], "gbk")
    lines = ingested(path, wh)
    assert "写入 products：新增 0 个 SKU，更新 1 个（共 %d 个）" % len(rows_of(wh, "products")) in lines
    after = rows_of(wh, "products").set_index("sku").loc["TB-02-WH-2402"]
    assert (after["price"], after["title"], after["main_images"]) == (119.0, "新标题 充电宝", 2)
    assert (after["cost"], after["name"], after["qualification_expiry"]) == (
        before["cost"], before["name"], before["qualification_expiry"])


def test_a_product_list_with_its_own_cost_column_needs_no_cost_sheet(tmp_path):
    path = write_csv(tmp_path / "erp.csv", [["商品ID", "商品标题", "商家编码", "一口价", "类目", "成本价"],
                                            ["652301234567", "连衣裙", "TB-01-M-2604", "1299", "女装", "520"],
                                            ["652301234568", "袜子", "TB-02-F-2604", "49.9", "袜子", ""]])
    assert exports.read_export(path, warehouse=tmp_path / "wh").kind.name == "taobao_products"  # not a cost sheet
    lines = ingested(path, tmp_path / "wh")
    assert "写入 products：新增 1 个 SKU，更新 0 个（共 1 个）" in lines
    assert any(line.startswith("1 个 SKU 还没有成本价，暂不写入 products：TB-02-F-2604") for line in lines)
    assert values(rows_of(tmp_path / "wh", "product_costs"), "cost") == [520.0]


def test_bad_rows_are_refused_by_their_row_number_and_the_others_imported(tmp_path):
    text = (FIXTURES / "taobao_products" / "assistant.csv").read_bytes().decode("gb18030").splitlines()
    rows = text[:3] + [text[3].replace("TB-01-M-2604", ""), text[4].replace(",49.90,", ",49-59,"), text[5]]
    path = tmp_path / "淘宝助理.csv"
    path.write_bytes("\r\n".join(rows).encode("gb18030"))
    report = ingest_file(path, tmp_path / "wh")
    assert report.error is None
    assert "拒绝 2 行：第 4 行 商家编码 为空；第 5 行 宝贝价格 不是数字" in report.lines
    assert values(rows_of(tmp_path / "wh", "product_listings"), "sku") == ["TB-03-S-2605"]
    costs = write_csv(tmp_path / "成本表.csv", [["商家编码", "成本价"], ["TB-03-S-2605", ""], ["TB-02-F-2604", "-5"]])
    report = ingest_file(costs, tmp_path / "wh")
    assert "拒绝 2 行：第 2 行 成本价 为空；第 3 行 成本价 不能小于 0" in report.lines
    assert not (tmp_path / "wh" / "products.parquet").exists()


def duplicated(path: Path) -> Path:
    """The taobao fixture with its first listing repeated at the end, at another price."""
    text = (FIXTURES / "taobao_products" / "standard.csv").read_bytes().decode("gb18030").splitlines()
    path.write_bytes("\r\n".join(text + [text[1].replace('"1,299.00"', "999.00")]).encode("gb18030"))
    return path


def without_price(path: Path) -> Path:
    """The taobao fixture without its 价格 column."""
    frame = pd.read_csv(FIXTURES / "taobao_products" / "standard.csv", encoding="gb18030", dtype=str)
    frame.drop(columns="价格").to_csv(path, index=False, encoding="gb18030")
    return path


BAD = {  # a bad file: how to make it, and what the refusal says
    "missing column": (without_price, "最接近的是淘宝/天猫商品列表（TB），缺少列 价格（或 一口价、宝贝价格）"),
    "duplicate SKU": (duplicated, "商家编码 TB-01-M-2604 出现在第 2、5 行"),
    "duplicate SKU in a cost sheet": (
        lambda p: write_csv(p, [["商家编码", "成本价"], ["TB-01-M-2604", "520"], ["TB-01-M-2604", "530"]]),
        "商家编码 TB-01-M-2604 出现在第 2、3 行"),
    "duplicate SKU in a registration sheet": (
        lambda p: write_csv(p, [["活动ID", "商家编码", "活动价"], ["CP-1", "A", "9"], ["CP-2", "A", "9"], ["CP-1", "A", "8"]]),
        "活动ID CP-1，商家编码 A 出现在第 2、4 行"),
    "wrong encoding": (lambda p: p.write_bytes(b"\xff\xfe" + "宝贝ID,宝贝标题,商家编码,价格,类目\r\n".encode("utf-16-le")) and p,
                       "文字编码无法识别（既不是 UTF-8 也不是 GBK/GB18030）"),
    "ids turned into numbers by Excel": (
        lambda p: write_csv(p, [["商品ID", "商品名称", "商家编码", "售价", "类目"], ["3.71235E+18", "手表", "DY-1", "9", "手表"]]),
        "疑似在 Excel 中打开后保存成了科学计数法"),
}


@pytest.mark.parametrize("make, message", BAD.values(), ids=list(BAD))
def test_bad_files_are_refused_in_chinese_and_nothing_is_written(tmp_path, make, message):
    wh = tmp_path / "wh"
    for kind in ("taobao_products", "cost_sheet", "campaign_registration"):  # a warehouse already holding goods
        ingested(FIXTURES / kind / "standard.csv", wh)
    before = {p.name: p.read_bytes() for p in wh.glob("*.parquet")}
    path = make(tmp_path / "bad.csv")
    report = ingest_file(path, wh)
    assert report.error is not None and report.error.exit_code == 2
    assert message in report.error.message and "bad.csv" in report.error.message, report.error.message
    assert {p.name: p.read_bytes() for p in wh.glob("*.parquet")} == before


def test_a_registration_sheet_is_replaced_by_its_later_version(tmp_path):
    wh = tmp_path / "wh"
    ingested(FIXTURES / "campaign_registration" / "standard.csv", wh)
    sheet = [["活动ID", "商家编码", "商品标题", "日常价", "活动价", "活动库存"],
             ["CP-2606-TB", "TB-01-M-2604", "连衣裙 新标题", "1299", "959", "80"]]
    lines = ingested(write_csv(tmp_path / "报名表.csv", sheet), wh)
    assert "写入 campaign_items：新增 0 行，更新 1 行（共 3 行）" in lines
    items = sources.open_source(str(wh)).table("campaign_items").set_index("sku")
    assert items.loc["TB-01-M-2604", ["title", "promo_price", "promo_stock"]].tolist() == ["连衣裙 新标题", 959.0, 80]
    assert items.loc["TB-01-M-2604", "product_id"] == "652301234567"  # kept: the later sheet has no 商品ID


def test_explain_shows_how_a_product_list_maps():
    kind = exports.kinds()["douyin_products"]
    lines = exports.explain(["商品ID", "商品名称", "商品编码", "价格", "类目"], kind)
    assert "sku（必需）← 商品编码（即 商家编码）" in lines and "name（必需）← 同 title" in lines
    assert "cost（可选）← 未找到（尝试过：成本价）" in lines
    sheet = exports.explain(["活动ID", "商品ID", "活动价"], exports.kinds()["campaign_registration"])
    assert "sku（必需）← 同 product_id" in sheet and not any(line.startswith("sku（必需）← 未找到") for line in sheet)
    listed = exports.explain(["活动ID", "商家编码", "商品ID", "活动价"], exports.kinds()["campaign_registration"])
    assert "sku（必需）← 商家编码" in listed and "sku（必需）← 同 product_id" not in listed


def cli(*args: str) -> subprocess.CompletedProcess:
    """`opsbook …` as staff run it."""
    return subprocess.run([sys.executable, "-m", "opsbook.ui.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def test_cli_ingest_of_a_product_list_and_a_cost_sheet_then_a_playbook_runs_on_the_warehouse(tmp_path):
    wh = tmp_path / "wh"
    out = cli("ingest", FIXTURES / "douyin_orders" / "standard.csv", FIXTURES / "douyin_products" / "standard.csv",
              FIXTURES / "taobao_products" / "standard.csv", FIXTURES / "cost_sheet" / "excel_gbk.csv",
              FIXTURES / "campaign_registration" / "standard.csv", "--into", wh)
    assert out.returncode == 0, out.stderr
    assert "抖店商品列表（DY），csv/gb18030" in out.stdout and "成本表，csv/gb18030" in out.stdout
    assert "写入 products：新增 6 个 SKU" in out.stdout and "活动报名表，csv/utf-8-sig" in out.stdout
    explain = cli("ingest", "--explain", FIXTURES / "taobao_products" / "assistant.csv")
    assert "淘宝/天猫商品列表（TB），表头在第 3 行" in explain.stdout and "sku（必需）← 商家编码" in explain.stdout
    run = cli("run", "user_tiering", "-p", f"source={wh}", "-p", "as_of=2026-06-30", "--out", tmp_path / "runs")
    assert run.returncode == 0, run.stdout + run.stderr
    source = sources.open_source(str(wh))
    assert {"products", "product_costs", "product_listings", "campaign_items", "orders"} <= set(source.names())
    assert source.table("products")["cost"].notna().all() and len(source.table("products")) == 6


@pytest.fixture
def pg(postgres_url):
    from test_postgres import schema_url
    return schema_url(postgres_url, "goods_intake")


def test_goods_ingest_into_postgres(tmp_path, pg):
    """The staging tables and the products they complete live in PostgreSQL as they do in a folder."""
    for kind in ("taobao_products", "cost_sheet"):
        report = ingest_file(FIXTURES / kind / "standard.csv", pg)
        assert report.error is None, report.error.message
    assert "写入 products：新增 3 个 SKU，更新 0 个（共 3 个）" in report.lines
    products = sources.open_source(pg).table("products").sort_values("sku")
    assert values(products, "sku") == TB_SKUS and values(products, "cost") == [520.0, 12.5, 1080.0]
    assert values(products, "main_images") == [5, 3, 5]
