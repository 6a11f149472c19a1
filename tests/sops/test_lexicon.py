"""Lexicons: shipped word lists plus the shop's own, matched with Aho–Corasick; bad files are Chinese errors."""
import re

import pytest

from opsbook.errors import DataError
from opsbook.sops import lexicon


def test_finds_every_distinct_word_in_order_with_its_group():
    words = lexicon.build({"极限词": ["最", "最佳", "第一"], "虚假宣传": ["根治", "100%"], "空": None})
    assert words.find("本品最佳，销量第一，最受欢迎，100%根治") == ["最", "最佳", "第一", "100%", "根治"]
    assert words.find("舒适透气") == [] and words.find("") == []
    assert words.find_all(["第一名", None, "无"]) == [["第一"], [], []]
    assert words.group("根治") == "虚假宣传" and words.group("最佳") == "极限词"


def test_agrees_with_a_regex_alternation_on_many_titles():
    words = [f"词{i}" for i in range(300)] + ["最", "顶级", "国家级"]
    found = lexicon.build({"g": words})
    pattern = re.compile("|".join(map(re.escape, sorted(words, key=len, reverse=True))))
    titles = [f"云栖{'顶级' if i % 7 == 0 else ''}商品{i} 词{i % 450} 国家级" for i in range(2000)]
    for title in titles:
        assert set(found.find(title)) >= set(pattern.findall(title))


def test_shop_additions_extend_the_shipped_list(tmp_path, monkeypatch):
    (tmp_path / "data" / "reference" / "shop").mkdir(parents=True)
    (tmp_path / "data" / "reference" / "words.yaml").write_text("极限词: [最, 第一]\n", encoding="utf-8")
    monkeypatch.setattr("opsbook.paths.root", lambda: tmp_path)
    assert lexicon.load("words").find("全网最低价 万能") == ["最"]
    (tmp_path / "data" / "reference" / "shop" / "words.yaml").write_text("极限词: [万能]\n品牌词: [某品牌]\n",
                                                                         encoding="utf-8")
    assert lexicon.load("words").find("全网最低价 万能 某品牌") == ["最", "万能", "某品牌"]


@pytest.mark.parametrize("text, message", [("- 最\n- 第一\n", "格式不对"), ("极限词: [最\n", "无法读取")])
def test_a_malformed_lexicon_is_a_chinese_error_naming_the_file(tmp_path, monkeypatch, text, message):
    (tmp_path / "data" / "reference").mkdir(parents=True)
    (tmp_path / "data" / "reference" / "bad.yaml").write_text(text, encoding="utf-8")
    monkeypatch.setattr("opsbook.paths.root", lambda: tmp_path)
    with pytest.raises(DataError) as info:
        lexicon.load("bad")
    assert message in info.value.message and "bad.yaml" in info.value.message
    with pytest.raises(DataError, match="找不到词库"):
        lexicon.load("absent")
