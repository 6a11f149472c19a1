"""risk_watch: hits, windowed counts, crisis levels and rank drops recomputed from the parquet files with pandas; the
planted faults; chats from a small cs_sessions table; an extended lexicon; odd parameters; bad and hostile input."""
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from opsbook import paths, sources
from opsbook.data import sample_ops
from opsbook.engine import runner
from opsbook.errors import DataError, ParamError
from opsbook.sops import risk_watch

TZ = "Asia/Shanghai"
WEEK = (pd.Timestamp("2026-06-24", tz=TZ), pd.Timestamp("2026-07-01", tz=TZ))  # the default run: 7 days to 06-30


def reviews() -> pd.DataFrame:
    return pd.read_parquet("data/sample/reviews.parquet")


def words(group: str) -> list[str]:
    data = yaml.safe_load(paths.resolve("data/reference/risk_words.yaml").read_text(encoding="utf-8"))
    return next(g["words"] for g in data["groups"] if g["id"] == group)


def has_any(texts: pd.Series, group: str) -> pd.Series:
    """Whether each text holds a word of `group`, outside the accepted phrases (plain str.contains per word)."""
    data = yaml.safe_load(paths.resolve("data/reference/risk_words.yaml").read_text(encoding="utf-8"))
    cleaned = texts.fillna("").str.lower()
    for phrase in data["allowed"]:
        cleaned = cleaned.str.replace(phrase.lower(), "\x01", regex=False)
    return cleaned.apply(lambda t: any(str(w).lower() in t for w in words(group)))


@pytest.fixture(scope="module")
def default():
    result = runner.run("risk_watch", {})
    assert result.ok, result.error
    return result


def test_headline_numbers_recomputed_from_the_files(default):
    """The default daily run (7 days to 2026-06-30): reviews, chats, bad reviews, hits per group and crisis levels as
    pandas computes them from reviews.parquet and cs_sessions.parquet."""
    r = reviews()
    week = r[(r["review_time"] >= WEEK[0]) & (r["review_time"] < WEEK[1])]
    s = pd.read_parquet(paths.resolve("data/sample/cs_sessions.parquet"))
    chats = s[(s["start_time"] >= WEEK[0]) & (s["start_time"] < WEEK[1])]
    m = default.metrics
    assert m["reviews"] == len(week) and m["chats"] == len(chats) > 0
    bad = week["rating"] <= 2
    assert m["bad_reviews"] == int(bad.sum()) and m["bad_review_rate"] == pytest.approx(bad.mean(), abs=1e-6)
    for group, label in (("quality", "质量问题"), ("competitor", "竞品攻击"), ("policy", "政策合规"),
                         ("claimant", "职业打假"), ("exposure", "媒体曝光")):
        assert m["hits"][label] == int(has_any(week["text"], group).sum() + has_any(chats["text"], group).sum()), label
    assert m["hits"] == {"质量问题": 5, "竞品攻击": 8, "政策合规": 1, "职业打假": 4, "媒体曝光": 0}
    groups = ("quality", "competitor", "policy", "claimant", "exposure")
    hit = pd.concat([has_any(week["text"], g) for g in groups], axis=1).any(axis=1)
    chat_hit = pd.concat([has_any(chats["text"], g) for g in groups], axis=1).any(axis=1)
    complaints = week[bad | hit]
    chat_complaints = chats[chat_hit]
    # answered = the shop's reply, or a service follow-up of the same order after the review (none in the sample);
    # a chat is answered when resolved or followed up; overdue = no answer and 24 h passed before 07-01 00:00
    follow = s[s["follow_up_time"].notna() & s["order_id"].notna()]
    assert not complaints.merge(follow, on=["platform", "order_id"]).query("follow_up_time >= review_time").size
    overdue = complaints["reply_time"].isna() & (complaints["review_time"] + pd.Timedelta(hours=24) <= WEEK[1])
    answered = chat_complaints[["resolved_time", "follow_up_time"]].min(axis=1)
    chat_overdue = (answered.isna() | (answered >= WEEK[1])) & \
        (chat_complaints["start_time"] + pd.Timedelta(hours=24) <= WEEK[1])
    total, late = len(complaints) + len(chat_complaints), int(overdue.sum() + chat_overdue.sum())
    assert m["levels"] == {"一级": 0, "二级": late, "三级": total - late}
    assert m["overdue"] == late > 0
    table = pd.read_csv(default.folder / "危机分级.csv", dtype={"评价/会话ID": str})
    assert sorted(table["评价/会话ID"]) == sorted([*complaints["review_id"], *chat_complaints["session_id"]])
    late = table[table["状态"] == "超时后已响应"]
    both = complaints.set_index("review_id").loc[late["评价/会话ID"][late["评价/会话ID"].str.startswith("RV")]]
    assert (both["reply_time"] - both["review_time"] > pd.Timedelta(hours=24)).all()
    per = week.groupby("platform")["rating"].apply(lambda s: (s <= 2).mean())
    rates = pd.read_csv(default.folder / "平台差评率.csv").set_index("平台")
    assert rates["差评率"].to_dict() == pytest.approx(per.to_dict())
    assert rates.loc["PDD", "危机级别"] == "二级" and rates["危机级别"].fillna("").eq("二级").sum() == 1


def test_the_planted_faults_are_found(default):
    """Each planted review and the rank drop, with its owner; the quality window is the three 坚果 reviews."""
    flags = {f.code: f for f in default.flags}
    q = flags["risk.quality"]
    assert (q.owner, q.rows, str(q.severity)) == ("品控", 3, "high")
    assert {s["product"] for s in q.sample} == {sample_ops.QUALITY_FAULT["product"]}
    assert {s["platform"] for s in q.sample} == set(sample_ops.QUALITY_FAULT["platforms"])
    assert "06-28 09:12 至 06-28 18:36 3 条" in q.message
    c = flags["risk.competitor"]
    assert c.rows == len(sample_ops.COMPETITOR_FAULT["texts"]) == 7 and c.message.startswith("PDD 疑似竞品攻击：06-26")
    assert "运营" in c.owner
    assert flags["risk.policy"].owner == "法务" and flags["risk.policy"].sample[0]["platform"] == "JD"
    cl = flags["risk.claimant"]  # the window with most claims: the three chats of service_quality's sample
    assert cl.owner == "法务、客服" and cl.rows == 3 and not any(r["record_id"].startswith("RV") for r in cl.sample)
    table = pd.read_csv(default.folder / "危机分级.csv", dtype={"评价/会话ID": str}).set_index("评价/会话ID")
    planted = reviews().query("text.str.contains('假一赔十')", engine="python")["review_id"].item()
    assert table.loc[planted, "状态"] == risk_watch.OVERDUE and "139****5678" in table.loc[planted, "内容"]
    rank = flags["risk.rank_drop"]
    assert rank.owner == "运营" and rank.rows == 1 and "DY「防晒衣女」" in rank.message


def test_rank_drop_recomputed_from_the_file(default):
    k = pd.read_parquet("data/sample/keyword_ranks.parquet")
    k = k[(k["keyword"] == "防晒衣女") & (k["platform"] == "DY")]
    cur = k[(k["date"] >= "2026-06-24") & (k["date"] <= "2026-06-30")]["rank"].mean()
    prev = k[(k["date"] >= "2026-06-17") & (k["date"] <= "2026-06-23")]["rank"].mean()
    table = pd.read_csv(default.folder / "关键词排名.csv")
    row = table[(table["关键词"] == "防晒衣女") & (table["平台"] == "DY")].iloc[0]
    assert row["排名下降幅度"] == pytest.approx((cur - prev) / prev, abs=1e-4) and 0.5 < row["排名下降幅度"] < 0.7
    assert row["预警"] == "一级流量预警：排名下降"
    assert table["预警"].notna().sum() == 1  # no other keyword moved by more than 20 %


def test_phones_in_review_texts_are_masked_in_every_artifact(shop):
    """The sample stores phones masked (as intake leaves them); a source holding a raw one is masked when read."""
    assert reviews()["text"].str.contains(r"1[3-9]\d\*{4}\d{4}", regex=True).sum() >= 4
    raw = "假货！退款不处理就打12315，电话 13912345678"
    src = shop(edit=("reviews", lambda r: r.assign(text=r["text"].mask(r.index == r.index[-1], raw))))
    result = runner.run("risk_watch", {"source": src})
    assert result.ok, result.error
    hits = pd.read_csv(result.folder / "命中明细.csv")
    assert hits["内容"].str.contains("139****5678", regex=False).any()
    for path in result.folder.iterdir():
        if path.suffix in (".csv", ".json", ".html", ".ipynb"):
            assert "13912345678" not in path.read_text(encoding="utf-8"), path.name


def test_an_hourly_run_scans_to_the_latest_text_of_the_day():
    result = runner.run("risk_watch", {"until_hour": -1, "days": 1})
    assert result.ok, result.error
    latest = reviews()["review_time"].max()
    assert result.metrics["scan_until"] == (latest.floor("s") + pd.Timedelta(seconds=1)).isoformat()
    r = reviews()
    assert result.metrics["reviews"] == int((r["review_time"] > latest - pd.Timedelta(days=1)).sum())


def test_mid_period_and_one_window(tmp_path):
    """As of 06-28 at 14:00: only two of the three 坚果 reviews are written (below the threshold of 3), and the
    claimant's review (06-27 20:05) is not yet 24 h old: 待响应, not overdue."""
    result = runner.run("risk_watch", {"as_of": "2026-06-28", "until_hour": 14, "days": 2})
    assert result.ok, result.error
    assert "risk.quality" not in result.flag_codes and result.flag_codes["risk.claimant"] == "high"
    table = pd.read_csv(result.folder / "危机分级.csv")
    claimant = table[table["命中分组"].str.contains("职业打假")].iloc[0]
    assert claimant["状态"] == "待响应" and claimant["危机级别"] == "三级"
    lower = runner.run("risk_watch", {"as_of": "2026-06-28", "until_hour": 14, "days": 2, "quality_min": 2})
    assert lower.flag_codes["risk.quality"] == "high"  # the threshold is the parameter


def test_an_empty_window_says_no_data():
    result = runner.run("risk_watch", {"as_of": "2026-03-01"})
    assert result.ok, result.error
    m = result.metrics
    assert m["reviews"] == 0 and m["bad_review_rate"] is None and m["levels"] == {"一级": 0, "二级": 0, "三级": 0}
    html = (result.folder / "report.html").read_text(encoding="utf-8")
    assert "无数据" in html and "NaN" not in html and "nan%" not in html
    assert set(result.flag_codes) <= {"risk.rank_drop"} and m["rank_drops"] == 0


@pytest.mark.parametrize("params, label", [({"until_hour": 25}, "截至时刻"), ({"rank_drop": -0.1}, "排名下降阈值"),
                                           ({"days": 0}, "扫描天数"), ({"l2_bad_rate": 2}, "二级差评率")])
def test_out_of_range_parameters_are_refused(params, label):
    with pytest.raises(ParamError, match=label):
        runner.run("risk_watch", params)


CHATS = [  # a small cs_sessions table: a claimant in a chat, resolved late; a quality complaint followed up in time
    ("S1", "TM", "小雨", "售后", "2026-06-29 10:00", 12.0, None, None, "买家说要打12315投诉，要求退一赔三", "O1"),
    ("S2", "JD", "阿杰", "售后", "2026-06-30 09:00", 8.0, "2026-06-30 11:00", None, "反映坚果有异物", "O2"),
    ("S3", "DY", "小雨", "售前", "2026-06-30 09:30", 5.0, "2026-06-30 09:35", None, "问有没有现货，电话13800001111", None),
]


def with_chats(tmp_path: Path, follow_up_order: str | None = None) -> str:
    folder = tmp_path / "shop"
    shutil.copytree(paths.resolve("data/sample"), folder)
    frame = pd.DataFrame(CHATS, columns=["session_id", "platform", "agent", "category", "start_time",
                                         "first_response_s", "resolved_time", "follow_up_time", "text", "order_id"])
    for col in ("start_time", "resolved_time", "follow_up_time"):
        frame[col] = pd.to_datetime(frame[col]).dt.tz_localize(TZ)
    if follow_up_order:  # a 回访 on the order of the unanswered claimant review, after it
        r = reviews()
        row = r[r["text"].str.contains("12315", na=False)].iloc[0]
        frame.loc[len(frame)] = ["S4", row["platform"], "阿杰", "售后", row["review_time"] + pd.Timedelta(hours=1),
                                 3.0, pd.NaT, row["review_time"] + pd.Timedelta(hours=5), "回访差评买家", row["order_id"]]
    frame.to_parquet(folder / "cs_sessions.parquet", index=False)
    return str(folder)


def test_chats_are_scanned_and_answered_by_their_resolution(tmp_path):
    result = runner.run("risk_watch", {"source": with_chats(tmp_path)})
    assert result.ok, result.error
    assert result.metrics["chats"] == 3 and result.metrics["hits"]["职业打假"] == 2
    table = pd.read_csv(result.folder / "危机分级.csv").set_index("评价/会话ID")
    assert table.loc["S1", "状态"] == risk_watch.OVERDUE and table.loc["S1", "来源"] == "会话"
    assert table.loc["S2", "状态"] == "已响应" and table.loc["S2", "响应用时（小时）"] == 2.0
    assert "S3" not in table.index  # no risk word, no rating: not a complaint
    hits = pd.read_csv(result.folder / "命中明细.csv")
    assert not hits["内容"].str.contains("13800001111").any()


def test_a_follow_up_call_answers_a_review(tmp_path):
    result = runner.run("risk_watch", {"source": with_chats(tmp_path, follow_up_order="claimant")})
    table = pd.read_csv(result.folder / "危机分级.csv")
    row = table[table["内容"].str.contains("12315") & (table["来源"] == "评价")].iloc[0]
    assert row["状态"] == "已响应" and row["响应用时（小时）"] == 5.0


def test_an_added_group_and_accepted_phrases(tmp_path, monkeypatch):
    """A shop adds a 物流投诉 group with its own window and count; 不是假货 is no hit; a group without its window or with
    an unknown owner role is refused in Chinese."""
    (tmp_path / "data" / "reference").mkdir(parents=True)
    data = yaml.safe_load(paths.resolve("data/reference/risk_words.yaml").read_text(encoding="utf-8"))
    data["groups"].append({"id": "logistics", "label": "物流投诉", "owner": "客服", "severity": "low",
                           "window_hours": 48, "min_count": 1, "words": ["物流有点慢"]})
    target = tmp_path / "data" / "reference" / "risk_words.yaml"
    target.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    src = sources.open_source(str(paths.resolve("data/sample")))
    monkeypatch.setenv("OPSBOOK_HOME", str(tmp_path))
    found = risk_watch.groups()
    lex = risk_watch.build_lexicon(found, risk_watch.allowed())
    assert lex.find_all(["绝对不是假货", "是假货", "物流有点慢"]) == [[], ["假货"], ["物流有点慢"]]
    df = risk_watch.texts(src, *WEEK, found)
    hits = risk_watch.find_hits(df, lex, found)
    warned = risk_watch.alerts(df, hits, found)
    inc = risk_watch.incidents(df, hits, pd.Series(dtype="str"), found, WEEK[1], 2, 24)
    r = reviews()
    week = r[(r["review_time"] >= WEEK[0]) & (r["review_time"] < WEEK[1])]
    row = warned.set_index("group_id").loc["logistics"]
    assert row["count"] >= 1 and set(row["records"].split("、")) <= set(
        week.loc[week["text"].str.contains("物流有点慢", na=False), "review_id"])
    flags = risk_watch.findings(warned, inc, risk_watch.platform_rates(df, 2, 0.1, 20).iloc[0:0], None, found, reply_hours=24,
                                l2_bad_rate=0.1, rank_drop=0.2, rank_days=7)
    assert {(f.code, f.owner, str(f.severity)) for f in flags} >= {("risk.group.logistics", "客服", "low")}
    data["groups"].append({"id": "x", "label": "无阈值", "owner": "客服", "words": ["某词"]})
    data["groups"][0]["owner"] = "老板"
    target.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(DataError, match="window_hours") as info:
        risk_watch.groups()
    assert "老板" in str(info.value.problems)


def test_missing_column_and_duplicated_reviews_stop_the_run_in_chinese(shop, default):
    before = (default.folder / "report.html").read_bytes()
    result = runner.run("risk_watch", {"source": shop(drop_columns={"reviews": ["rating"]})})
    assert result.exit_code == 2 and "reviews 表缺少必需列 rating（评分）" in result.error
    twice = runner.run("risk_watch", {"source": shop(edit=("reviews", lambda r: pd.concat([r, r.head(2)])))})
    assert twice.exit_code == 2 and "重复" in twice.error
    assert (default.folder / "report.html").read_bytes() == before  # the good report is untouched


def test_without_reviews_or_ranks(shop):
    src = shop(drop_tables=("reviews", "cs_sessions", "keyword_ranks"))
    result = runner.run("risk_watch", {"source": src})
    assert result.exit_code == 2 and "没有 reviews 表和 cs_sessions 表" in result.error
    only_chats = runner.run("risk_watch", {"source": shop(drop_tables=("reviews",))})
    assert only_chats.ok, only_chats.error
    assert only_chats.metrics["reviews"] == 0 and only_chats.metrics["chats"] > 0 and only_chats.metrics["hits"]["职业打假"] == 3
    only_reviews = runner.run("risk_watch", {"source": shop(drop_tables=("keyword_ranks",))})
    assert only_reviews.ok and only_reviews.metrics["rank_drops"] is None
    assert "没有 keyword_ranks 表" in (only_reviews.folder / "report.html").read_text(encoding="utf-8")


def test_hostile_texts_stay_text(shop):
    evil = "=cmd|' /C calc'!A0 假货 ../../etc/passwd"
    src = shop(edit=("reviews", lambda r: r.assign(text=r["text"].mask(r.index == r.index[-1], evil))))
    result = runner.run("risk_watch", {"source": src})
    assert result.ok, result.error
    hits = pd.read_csv(result.folder / "命中明细.csv")
    assert ("'" + evil) in hits["内容"].tolist()
    assert runner.run("risk_watch", {"source": "../outside"}).exit_code == 2


def test_a_keyword_out_of_the_ranking_on_most_days_is_warned(shop):
    """TB 防晒衣女 ranks 3 every day before; this week it is in the ranking on 2 of 7 days (still 3 on those): the mean
    of the 2 days alone shows no drop, but falling out on 5 days is a level-1 traffic warning, said as such."""
    def unrank(k):
        k = k.copy()
        days = pd.to_datetime(["2026-06-24", "2026-06-25", "2026-06-26", "2026-06-27", "2026-06-28"])
        hit = (k["platform"] == "TB") & (k["keyword"] == "防晒衣女") & k["date"].isin(days)
        k["rank"] = k["rank"].mask(hit)
        return k
    result = runner.run("risk_watch", {"source": shop(edit=("keyword_ranks", unrank))})
    assert result.ok, result.error
    table = pd.read_csv(result.folder / "关键词排名.csv")
    row = table[(table["关键词"] == "防晒衣女") & (table["平台"] == "TB")].iloc[0]
    assert row["本期有排名天数"] == 2 and row["上期有排名天数"] == 7 and row["排名下降幅度"] <= 0
    assert row["预警"] == "一级流量预警：多日跌出排名"
    assert result.metrics["rank_drops"] == 2
    flag = next(f for f in result.flags if f.code == "risk.rank_drop")
    assert flag.rows == 2 and "TB「防晒衣女」" in flag.message and "本期只有 2 天在榜，上期 7 天" in flag.message


def test_an_hourly_run_before_the_days_first_text_scans_the_24_hours_before_midnight():
    """as_of 07-01 (the sample has no text that day yet, like an 08:05 run before the first review): the hourly job
    scans 06-30 00:00 to 07-01 00:00 — the complaints of the evening before — not the empty day ahead."""
    result = runner.run("risk_watch", {"as_of": "2026-07-01", "until_hour": -1, "days": 1})
    assert result.ok, result.error
    m = result.metrics
    assert m["scan_from"] == "2026-06-30T00:00:00+08:00" and m["scan_until"] == "2026-07-01T00:00:00+08:00"
    r = reviews()
    assert m["reviews"] == int(((r["review_time"] >= WEEK[1] - pd.Timedelta(days=1)) & (r["review_time"] < WEEK[1])).sum()) > 0


def test_a_sku_listed_on_two_platforms_is_named_by_the_catalogue_rule(shop):
    """A SKU with listings on two platforms takes the name of its first listing by platform code (`catalogue.by_sku`,
    as every other playbook names it), not whichever row the scan meets first."""
    def second_listing(p: pd.DataFrame) -> pd.DataFrame:
        tb = p[p["platform"] == "TB"].iloc[[0]]
        return pd.concat([p, tb.assign(platform="DY", name="抖音版名称", product_id="DY-extra")], ignore_index=True)
    src = sources.open_source(shop(edit=("products", second_listing)))
    sku = pd.read_parquet(paths.resolve("data/sample/products.parquet")).query("platform == 'TB'")["sku"].iloc[0]
    names = risk_watch.product_names(src)
    assert names[sku] == "抖音版名称"
    assert names.index.is_unique and len(names) == src.sql("SELECT count(DISTINCT sku) AS n FROM products")["n"].iloc[0]
