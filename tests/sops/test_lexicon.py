"""Lexicons: many words matched at once with Aho–Corasick, case-insensitively, never inside accepted phrases."""
import re

from opsbook.sops import lexicon


def test_finds_every_distinct_word_in_order_with_its_group():
    words = lexicon.build({"极限词": ["最", "最佳", "第一"], "虚假宣传": ["根治", "100%"], "空": None, "重复": ["最"]})
    assert words.find("本品最佳，销量第一，最受欢迎，100%根治") == ["最", "最佳", "第一", "100%", "根治"]
    assert words.find("舒适透气") == [] and words.find("") == [] and words.find(None) == []
    assert words.find_all(["第一名", None, "无"]) == [["第一"], [], []]
    assert words.group("根治") == "虚假宣传" and words.group("最") == "极限词"
    assert lexicon.build({}).find("最") == []


def test_case_insensitive_and_accepted_phrases_are_no_match():
    words = lexicon.build({"g": ["NO.1", "第一", "100%"]}, allowed=["第一步", "100%纯棉"])
    assert words.find("销量no.1 第一步 100%纯棉") == ["NO.1"]
    assert words.find("第一步就是第一 100%有效") == ["第一", "100%"]


def test_agrees_with_a_regex_alternation_on_many_titles():
    words = [f"词{i}" for i in range(300)] + ["最", "顶级", "国家级"]
    found = lexicon.build({"g": words})
    pattern = re.compile("|".join(map(re.escape, sorted(words, key=len, reverse=True))))
    titles = [f"云栖{'顶级' if i % 7 == 0 else ''}商品{i} 词{i % 450} 国家级" for i in range(2000)]
    for title, hits in zip(titles, found.find_all(titles)):
        assert set(hits) >= set(pattern.findall(title))


def test_texts_lowered_at_once_keep_their_words_apart():
    """The texts are lowered joined; a text holding the separator or a letter that lowers to two (İ) falls back to
    lowering each, so no match spans two texts and every match is found in its own text."""
    words = lexicon.build({"g": ["AB", "第一"]})
    assert words.find_all(["xa", "b", "AB"]) == [[], [], ["AB"]]
    assert words.find_all(["İab", "第一"]) == [["AB"], ["第一"]]
    assert words.find_all(["a\x00b", "ab第一"]) == [[], ["AB", "第一"]]


def test_pairs_over_a_column_agree_with_find_all():
    """`pairs` (Arrow bytes, one scan of a column) finds what `find_all` finds, text by text, in order of appearance:
    accepted phrases, missing texts, a word that would run from one text into the next, upper case."""
    import pandas as pd
    words = lexicon.build({"g": ["AB", "第一", "变质", "最"], "h": ["质量差", "差"]}, allowed=["没有变质", "第一步"])
    texts = ["xa", "b", "AB", "没有变质，但变质了", "没有变质", None, "第一第一ab", "第一步", "质量差最", "", "最"] * 3
    rows, index = words.pairs(pd.Series(texts, dtype="str"))
    got = [[] for _ in texts]
    for r, i in zip(rows.tolist(), index.tolist()):
        got[r].append(words.words[i])
    assert got == words.find_all(texts)
    assert got[6] == ["第一", "AB"] and got[8] == ["质量差", "差", "最"] and got[0] == got[1] == []
    assert [len(a) for a in words.pairs([])] == [0, 0] and [len(a) for a in lexicon.build({}).pairs(["最"])] == [0, 0]


def test_full_width_text_matches_and_a_number_inside_a_longer_one_does_not():
    """Buyers type full-width digits and letters (打１２３１５, ３Ｃ认证): matched as their half-width words. A word that
    is a number (a hotline) is no match inside a longer number (12345 in an order number, 12315 in a tracking
    number), in `find_all` and `pairs` alike."""
    import pandas as pd
    words = lexicon.build({"claim": ["12315", "12345"], "policy": ["3C认证"], "q": ["假货"]})
    texts = ["打１２３１５投诉", "没有３Ｃ认证", "订单号 3123456789012 没发货", "快递单号 YT1231500001", "12315", "打12315!",
             "１２３４５６", "假货12345"]
    expected = [["12315"], ["3C认证"], [], [], ["12315"], ["12315"], [], ["假货", "12345"]]
    assert words.find_all(texts) == expected
    rows, index = words.pairs(pd.Series(texts, dtype="str"))
    got = [[] for _ in texts]
    for r, i in zip(rows.tolist(), index.tolist()):
        got[r].append(words.words[i])
    assert got == expected


def test_pairs_agree_with_find_all_on_any_column():
    """Property: for any texts (Chinese, 4-byte emoji, letters lowering to two, the separator itself, missing, empty),
    given as a list, a pandas column, a sliced Arrow array or a chunked one, `pairs` finds what `find_all` finds, in
    its order: Arrow's byte offsets are never taken for character offsets."""
    import pandas as pd
    import pyarrow as pa
    from hypothesis import given, settings
    from hypothesis import strategies as st
    words = lexicon.build({"g": ["AB", "第一", "变质", "最", "b", "abc", "😀差", "ß"], "h": ["质量差", "差", "i"]},
                          allowed=["没有变质", "第一步", "b最"])

    def listed(rows, index, n):
        got = [[] for _ in range(n)]
        for r, i in zip(rows.tolist(), index.tolist()):
            got[r].append(words.words[i])
        return got

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.one_of(st.none(), st.text(alphabet="abAB第一变质差最步没有İi̇ß😀\x00 ，", max_size=12)), max_size=12),
           st.integers(0, 12), st.integers(0, 12))
    def check(texts, at, size):
        expected = words.find_all(texts)
        assert listed(*words.pairs(texts), len(texts)) == expected
        assert listed(*words.pairs(pd.Series(texts, dtype="str")), len(texts)) == expected
        column = pa.array(texts, pa.string())
        assert listed(*words.pairs(pa.chunked_array([column[:at], column[at:]], pa.string())), len(texts)) == expected
        part = column.slice(at, size)
        assert listed(*words.pairs(part), len(part)) == words.find_all(part.to_pylist())

    check()
