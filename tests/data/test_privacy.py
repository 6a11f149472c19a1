"""Phone masking."""
import pandas as pd
import pytest

from opsbook.data import privacy


def test_mask_phone_is_idempotent_and_keeps_seven_digits_at_most():
    text = "联系 13812345678 或 +86 15900001111，订单 20250618123456789"
    masked = privacy.mask_phone(text)
    assert "138****5678" in masked and "159****1111" in masked
    assert privacy.mask_phone(masked) == masked
    assert privacy.find_phones(masked) == []
    assert "20250618123456789" in masked  # long ids are not phones


def test_mask_frame_masks_text_columns_only():
    df = pd.DataFrame({"phone": ["13812345678", None], "n": [13812345678, 1]})
    out = privacy.mask_frame(df)
    assert out["phone"].tolist()[0] == "138****5678"
    assert out["n"].tolist()[0] == 13812345678


def test_flag_samples_and_exports_are_masked(tmp_path):
    from opsbook import flags, report
    rows = pd.DataFrame({"customer_id": ["C1"], "note": ["请回电 13812345678"], "formula": ["=HYPERLINK(1)"]})
    flag = flags.make("x", "high", "客服", "测试", rows)
    assert flag.sample[0]["note"] == "请回电 138****5678"
    names = report.export(rows, tmp_path, "名单")
    assert sorted(names) == ["名单.csv", "名单.xlsx"]
    text = (tmp_path / "名单.csv").read_text(encoding="utf-8-sig")
    assert "138****5678" in text and "13812345678" not in text and "'=HYPERLINK(1)" in text


def test_scan_finds_phones_in_every_kind_of_artifact(tmp_path):
    from opsbook.data import scan
    pd.DataFrame({"a": ["客户 13912345678"]}).to_excel(tmp_path / "t.xlsx", index=False)
    pd.DataFrame({"a": ["x"], "p": ["15011112222"]}).to_parquet(tmp_path / "t.parquet")
    (tmp_path / "r.html").write_text("<td>18600001111</td>", encoding="utf-8")
    (tmp_path / "ok.json").write_text('{"phone": "186****1111", "ratio": 0.13912345678}', encoding="utf-8")
    found = {p.name: phones for p, phones in scan.scan_tree(tmp_path)}
    assert found == {"t.xlsx": ["13912345678"], "t.parquet": ["15011112222"], "r.html": ["18600001111"]}


@pytest.mark.parametrize("raw", ["+8613812345678", "8613812345678", "138 1234 5678", "138-1234-5678", "+86 138-1234-5678",
                                 "138.1234.5678", "138 - 1234 - 5678", "138--1234--5678", "1 3 8 1 2 3 4 5 6 7 8"])


def test_written_forms_of_a_phone_are_masked(raw):
    assert privacy.mask_phone(f"电话 {raw}。") == "电话 138****5678。"
    assert privacy.find_phones(raw)


def test_numeric_phones_are_masked_in_sources_and_exports(tmp_path):
    from opsbook import report, sources
    orders = sources.open_source("data/sample").table("orders").head(50)
    orders["phone"] = 13812345678
    orders.to_parquet(tmp_path / "orders.parquet")
    src = sources.open_source(str(tmp_path))
    assert set(src.sql("SELECT DISTINCT phone FROM orders")["phone"]) == {"138****5678"}
    out = report.for_people(pd.DataFrame({"buyer_phone": [13812345678]}))
    assert out.iloc[0, 0] == "138****5678"


def test_full_width_phones_are_masked_and_decimals_are_not():
    assert privacy.mask_phone("电话 １３８１２３４５６７８") == "电话 １３８****５６７８"
    assert privacy.find_phones("１３８ １２３４ ５６７８")
    assert privacy.mask_phone("单价 1381234.5678 元，比例 1.13812345678") == "单价 1381234.5678 元，比例 1.13812345678"


@pytest.mark.parametrize("raw", ["１３８１２３４５６７８", "138.1234.5678", "+86 138 1234 5678", "138 - 1234 - 5678",
                                 "138\u30001234\u30005678", "1 3 8 1 2 3 4 5 6 7 8"])


def test_source_views_mask_the_same_forms(tmp_path, raw):
    from opsbook import sources
    orders = sources.open_source("data/sample").table("orders").head(3)
    orders["phone"] = raw
    orders.to_parquet(tmp_path / "orders.parquet")
    phones = set(sources.open_source(str(tmp_path)).sql("SELECT DISTINCT phone FROM orders")["phone"])
    assert phones == {privacy.mask_phone(raw).strip()} and not privacy.find_phones(" ".join(phones))


def test_spaced_digits_longer_than_a_phone_are_left_alone():
    assert privacy.mask_phone("编号 1 3 8 1 2 3 4 5 6 7 8 9") == "编号 1 3 8 1 2 3 4 5 6 7 8 9"
    assert privacy.find_phones("1 3 8 1 2 3 4 5 6 7 8 9") == []


@pytest.mark.parametrize("raw", ["139 - 1234 - 5678", "1 3 9 1 2 3 4 5 6 7 8", "139\u30001234\u30005678"])


def test_review_and_chat_texts_are_masked_by_the_source_view(tmp_path, raw):
    """Free texts (reviews.text, cs_sessions.text) are read with phones masked, as a phone column is."""
    from opsbook import sources
    reviews = sources.open_source("data/sample").table("reviews").head(3)
    reviews["text"] = f"有问题打我电话{raw}，谢谢"
    reviews.to_parquet(tmp_path / "reviews.parquet")
    texts = set(sources.open_source(str(tmp_path)).sql("SELECT DISTINCT text FROM reviews")["text"])
    assert texts == {"有问题打我电话139****5678，谢谢"}


@pytest.mark.parametrize("text", ["13812345678,13912345678", "电话13812345678 13912345678 或 13712345678/13612345678",
                                  "退货请打 138　1234　5678（周末 139\t1234 5678）", "＋86　１３８１２３４５６７８，１３９１２３４５６７８"])


def test_source_views_mask_every_phone_of_a_text_column(tmp_path, text):
    """reviews.text / cs_sessions.text hold several numbers, side by side, with full-width spaces: the view masks each
    one, as mask_phone does (it used to leave every second one of two numbers one character apart)."""
    from opsbook import sources
    for table in ("reviews", "cs_sessions"):
        rows = sources.open_source("data/sample").table(table).head(2)
        rows["text"] = [text, None]
        rows.to_parquet(tmp_path / f"{table}.parquet")
    src = sources.open_source(str(tmp_path))
    for table in ("reviews", "cs_sessions"):
        shown = src.sql(f"SELECT text FROM {table}")["text"].tolist()
        assert shown[0] == privacy.mask_phone(text) and not privacy.find_phones(shown[0]), table
        assert pd.isna(shown[1])


def test_tracking_numbers_are_never_masked_in_exports(tmp_path):
    """A 圆通 number YT86 138… reads as +86 138…: the exported action list keeps it whole (staff track the parcel with
    it), while a phone beside it is masked."""
    from opsbook import report
    df = pd.DataFrame({"tracking_no": ["YT8613812345678", "JT8613912345678"], "note": ["买家 13812345678", "无"]})
    names = report.export(df, tmp_path, "跟踪", {"tracking_no": "运单号", "note": "备注"})
    assert "跟踪.xlsx" in names and "跟踪.csv" in names
    csv = pd.read_csv(tmp_path / "跟踪.csv", dtype=str)
    assert csv["运单号"].tolist() == ["YT8613812345678", "JT8613912345678"] and csv["备注"][0] == "买家 138****5678"
    assert pd.read_excel(tmp_path / "跟踪.xlsx", dtype=str)["运单号"].tolist() == ["YT8613812345678", "JT8613912345678"]
    assert "YT8613812345678" in report.table_html(df)
