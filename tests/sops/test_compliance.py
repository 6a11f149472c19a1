"""The compliance reference lists: sensitive categories with their qualifications, and the Advertising Law's terms."""
import pytest

from opsbook.errors import DataError
from opsbook.sops import compliance


def categories(category: str, name: str = "") -> list[str]:
    return [s.category for s in compliance.requirements(category, name)]


def test_sensitive_categories_match_by_category_name_and_product_name():
    assert categories("食品") == ["食品"] and categories("零食/坚果/特产") == ["食品"]
    assert categories("保健食品") == ["保健食品"]  # the longer alias wins over 食品
    assert categories("美妆") == ["化妆品"] and categories("医疗器械", "电子体温计") == ["医疗器械"]
    assert categories("3C数码", "65W氮化镓充电器") == ["3C 强制性认证"]  # CCC: by product, whatever the category
    assert categories("个护电器", "负离子电吹风") == ["3C 强制性认证"]
    assert categories("彩妆/香水", "负离子电吹风") == ["化妆品", "3C 强制性认证"]  # both apply
    assert categories("3C数码", "硅胶手机壳") == [] and categories("家居", "收纳箱") == [] and categories("", "") == []
    listed = {s.category for s in compliance.sensitive_categories()}
    assert {"食品", "化妆品", "保健食品", "母婴", "医疗器械", "3C 强制性认证"} <= listed
    assert all(s.qualifications for s in compliance.sensitive_categories())


def test_absolute_terms_outside_accepted_phrases():
    assert [t.word for t in compliance.terms_in("云栖记忆棉枕头 全网最舒适")] == ["最", "最舒适"]
    assert {t.word for t in compliance.terms_in("国家级非遗 No.1 顶级")} == {"国家级", "NO.1", "顶级"}
    assert compliance.terms_in("第一步：最佳赏味期内食用，100%纯棉") == []
    assert [t.word for t in compliance.terms_in("100%有效")] == ["100%"]
    terms = compliance.ad_terms()
    assert len(terms) > 80 and len({t.word.lower() for t in terms}) == len(terms)
    assert {t.severity for t in terms} == set(compliance.SEVERITIES)
    by_word = {t.word: t for t in terms}
    for word in ("最", "最佳", "最好", "第一", "唯一", "首个", "国家级", "世界级", "顶级", "极品", "绝对", "首选", "万能",
                 "100%", "特效", "根治"):
        assert word in by_word, word
    assert by_word["国家级"].severity == "high" and by_word["独家"].severity == "low"


def test_a_shop_can_extend_the_lists(tmp_path, monkeypatch):
    reference = tmp_path / "data" / "reference"
    reference.mkdir(parents=True)
    (reference / "qualifications.yaml").write_text(
        "- category: 宠物食品\n  aliases: [宠物]\n  qualifications: [饲料生产许可证]\n", encoding="utf-8")
    (reference / "ad_words.yaml").write_text(
        "groups:\n  - {kind: 店规, severity: medium, words: [秒杀价]}\nallowed: []\n", encoding="utf-8")
    monkeypatch.setenv("OPSBOOK_HOME", str(tmp_path))
    assert categories("宠物用品") == ["宠物食品"] and categories("食品") == []
    assert [(t.word, t.kind) for t in compliance.terms_in("限时秒杀价")] == [("秒杀价", "店规")]


@pytest.mark.parametrize("file, text, message", [
    ("qualifications.yaml", "- category: 食品\n  aliases: [食品]\n", "需要 qualifications"),
    ("qualifications.yaml", "食品: 许可证\n", "应为列表"),
    ("qualifications.yaml", "- category: 食品\n  aliases: 食品\n  qualifications: [x]\n", "aliases 应为非空词语的列表"),
    ("ad_words.yaml", "groups:\n  - {kind: 最, severity: 严重, words: [最]}\n", "severity 只能取 high/medium/low"),
    ("ad_words.yaml", "[最, 第一]\n", "应有 groups 列表"),
    ("ad_words.yaml", "groups: [\n", "无法读取"),
])
def test_a_broken_list_is_bad_input(tmp_path, monkeypatch, file, text, message):
    reference = tmp_path / "data" / "reference"
    reference.mkdir(parents=True)
    (reference / file).write_text(text, encoding="utf-8")
    monkeypatch.setenv("OPSBOOK_HOME", str(tmp_path))
    load = compliance.sensitive_categories if file.startswith("qual") else compliance.ad_terms
    with pytest.raises(DataError, match=message):
        load()


def test_a_missing_list_is_bad_input_not_an_empty_one(tmp_path, monkeypatch):
    monkeypatch.setenv("OPSBOOK_HOME", str(tmp_path))
    with pytest.raises(DataError, match="找不到敏感类目资质表"):
        compliance.requirements("食品")
    with pytest.raises(DataError, match="找不到广告法极限词库"):
        compliance.terms_in("最好")
