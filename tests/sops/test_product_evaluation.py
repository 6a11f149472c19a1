"""product_evaluation: the sample's candidates get the recommendations the sample plants (scores recomputed from the
file), uploaded candidate lists in Chinese, bad rows named, the scoring rules as parameters."""
import re
import shutil
from types import SimpleNamespace

import openpyxl
import pandas as pd
import pytest

from opsbook import paths
from opsbook.data import sample
from opsbook.engine import runner
from opsbook.errors import ParamError
from opsbook.sops import product_evaluation

CANDIDATES = pd.read_parquet("data/sample/candidates.parquet")
DEFAULTS = dict(demand_5=100000, demand_4=50000, demand_3=20000, demand_2=5000, margin_5=.5, margin_4=.4, margin_3=.3,
                margin_2=.2, supply_5_months=12, supply_4_months=6, weight_demand=1., weight_margin=1.,
                weight_supply=1., gate_margin=.3, gate_growth=.05, adopt_score=13., trial_score=10., growth_check=1.,
                supply_watch_cap=2)


def upload(name: str, text: str, encoding: str = "utf-8-sig") -> str:
    folder = paths.root() / "uploads-eval"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(text.encode(encoding))
    return f"uploads-eval/{name}"


def evaluation(result) -> pd.DataFrame:
    return pd.read_csv(result.folder / "选品评估.csv").set_index("候选ID")


def test_every_sample_candidate_gets_the_recommendation_the_sample_plants():
    result = runner.run("product_evaluation", {})
    assert result.ok, result.error
    table = evaluation(result)
    assert list(table.columns) == ["名称", "市场需求", "利润空间", "供货稳定性", "总分", "建议", "原因"]
    assert sorted(table.index) == sorted(sample.CANDIDATE_CASES)
    for cid, case in sample.CANDIDATE_CASES.items():
        a, b, c, total = map(int, re.match(r"(\d) .*?\+ (\d) \+ (\d) = (\d+)", case).groups())
        verdict = re.search(r"→ (引入|小批量试销|放弃)", case).group(1)
        row = table.loc[cid]
        assert (row["市场需求"], row["利润空间"], row["供货稳定性"], row["总分"], row["建议"]) == (a, b, c, total, verdict), cid
    # two headline numbers recomputed from the file: gross margins, and who clears both gates with a high total
    margin = (CANDIDATES["price"] - CANDIDATES["cost"]) / CANDIDATES["price"]
    assert margin[CANDIDATES["candidate_id"] == "XP-08"].iloc[0] == pytest.approx(0.2826, abs=1e-4)
    assert "毛利率 28.3% 未超过门槛 30%" in table.at["XP-08", "原因"]
    cleared = CANDIDATES[(margin > 0.3) & (CANDIDATES["search_growth"] > 0.05)]
    assert set(table.index[table["建议"] == "引入"]) <= set(cleared["candidate_id"])
    m = result.metrics
    assert (m["candidates"], m["adopt"], m["trial"], m["drop"]) == (13, 4, 4, 5)
    assert table["建议"].tolist() == sorted(table["建议"], key={"引入": 0, "小批量试销": 1, "放弃": 2}.get)
    # every reason: the three scores, the total, the gates failed, the verdict
    assert table.at["XP-01", "原因"] == ("月搜索量 65,000（≥ 50,000）→ 需求 4 分；毛利率 58.3%（≥ 50%）→ 利润 5 分；"
                                       "新供应商（合作 0 个月，不满 6 个月）资质齐全 → 供货 3 分；总分 12；"
                                       "建议小批量试销（总分 ≥ 10 且低于 13）")
    assert "新供应商（合作 4 个月，不满 6 个月）资质齐全 → 供货 3 分" in table.at["XP-13", "原因"]
    assert "搜索指数环比增长 -12.0% 未超过门槛 5%" in table.at["XP-12", "原因"]
    assert "属于敏感类目 食品（需 食品经营许可证、食品生产许可证），资质不全：不可上架" in table.at["XP-06", "原因"]
    assert "总分 8；建议放弃（总分低于 10）" in table.at["XP-11", "原因"]
    basis = openpyxl.load_workbook(result.folder / "评分依据.xlsx").active
    header = [c.value for c in basis[1]]
    assert header[:8] == ["候选ID", "名称", "类目", "月搜索量", "搜索指数环比增长", "成本价", "预计售价", "毛利率"]
    first = {h: c for h, c in zip(header, basis[2])}
    assert first["毛利率"].data_type == "n" and first["毛利率"].number_format == "0.0%"
    assert {(f.code, f.owner) for f in result.flags} == {("eval.not_listable", "采购"), ("eval.gate", "运营经理"),
                                                         ("eval.introduce", "运营经理"), ("eval.trial", "运营")}


CHINESE = """选品候选清单（2026 年 7 月）
候选ID,商品名称,类目,月搜索量,搜索指数环比增长,成本价,预计售价,供应商ID,合作月数,资质齐全,备注
="XP-77",测试上传候选折叠水杯,家居,"120,000",18%,￥20.00,￥69.00,,0,是,新供应商
XP-78,儿童营养米粉,母婴,30000,0.2,30,99,SUP05,24,否,
XP-79,硅胶冰格,家居,8000,10%,5,19,SUP09,5,无,
合计,,,,,,,,,,
"""


def test_an_uploaded_candidates_list_with_chinese_headers():
    """GBK, a title line above the header, ="…" ids, ¥, thousands separators, percentages, 是/否/无, a 合计 row. The
    source cannot be read: the suppliers the list names are not checked against their records, and that is said."""
    result = runner.run("product_evaluation", {"candidates_file": upload("候选.csv", CHINESE, "gbk"),
                                               "source": "/nonexistent/shop"})
    assert result.ok, result.error
    table = evaluation(result)
    assert sorted(table.index) == ["XP-77", "XP-78", "XP-79"]
    assert table.loc["XP-77", ["市场需求", "利润空间", "供货稳定性", "总分", "建议"]].tolist() == [5, 5, 3, 13, "引入"]
    assert "母婴" in table.at["XP-78", "原因"] and table.at["XP-78", "建议"] == "放弃"
    # a 5-month supplier without qualifications is a new one without: 1 point
    assert table.at["XP-79", "供货稳定性"] == 1 and "新供应商（合作 5 个月，不满 6 个月）资质不全 → 供货 1 分" in table.at["XP-79", "原因"]
    assert "上传的候选清单 候选.csv" in (result.folder / "report.html").read_text(encoding="utf-8")
    (flag,) = [f for f in result.flags if f.code == "eval.supplier_unchecked"]
    assert flag.severity == "low" and flag.owner == "采购" and "找不到数据目录 /nonexistent/shop" in flag.message


def test_an_xlsx_with_english_headers_reads_too():
    folder = paths.root() / "uploads-eval"
    folder.mkdir(exist_ok=True)
    CANDIDATES.head(3).to_excel(folder / "candidates.xlsx", index=False)
    result = runner.run("product_evaluation", {"candidates_file": "uploads-eval/candidates.xlsx"})
    assert result.ok, result.error
    assert sorted(evaluation(result).index) == ["XP-01", "XP-02", "XP-03"]


@pytest.mark.parametrize("text, message", [
    ("候选ID,商品名称,类目,月搜索量,成本价,预计售价,合作月数,资质齐全\nX1,a,家居,1,1,2,0,是\n",
     "候选.csv 的 candidates 表缺少必需列 search_growth（搜索指数环比增长）"),
    ("候选ID,商品名称,类目,月搜索量,搜索指数环比增长,成本价,预计售价,合作月数,资质齐全\nX1,a,家居,很多,0.1,1,2,0,是\n",
     "月搜索量）有无法识别为整数的值：共 1 行，例如 第2行=“很多”"),
    ("候选ID,商品名称,类目,月搜索量,搜索指数环比增长,成本价,预计售价,合作月数,资质齐全\nX1,a,家居,1,0.1,1,2,0,是\n"
     "X1,b,家居,1,0.1,1,2,0,是\n", "candidate_id 有重复：共 1 行，例如第 3 行"),
    ("候选ID,商品名称,类目,月搜索量,搜索指数环比增长,成本价,预计售价,合作月数,资质齐全\nX1,a,家居,1,0.1,1,2,,也许\n",
     "资质齐全）有无法识别为是/否的值：共 1 行，例如 第2行=“也许”"),
    ("候选ID,商品名称,类目,月搜索量,搜索指数环比增长,成本价,预计售价,合作月数,资质齐全\nX1,a,家居,1,-150%,1,2,0,是\n",
     "搜索指数环比增长）不能小于 -1"),
])
def test_bad_rows_of_an_uploaded_list_are_named_by_row_and_column(text, message):
    result = runner.run("product_evaluation", {"candidates_file": upload("候选.csv", text)})
    assert result.exit_code == 2 and message in result.error, result.error


def test_an_empty_cell_is_named_by_its_row():
    text = "候选ID,商品名称,类目,月搜索量,搜索指数环比增长,成本价,预计售价,合作月数,资质齐全\n" \
           "X1,a,家居,1,0.1,1,2,3,是\nX2,b,家居,1,0.1,1,2,,是\n"
    result = runner.run("product_evaluation", {"candidates_file": upload("候选.csv", text)})
    assert result.exit_code == 2 and "合作月数）不能为空：共 1 行，例如 第3行=“（空）”" in result.error


def test_a_list_with_a_header_only_says_there_is_nothing_to_evaluate():
    result = runner.run("product_evaluation", {"candidates_file": upload(
        "候选.csv", "候选ID,商品名称,类目,月搜索量,搜索指数环比增长,成本价,预计售价,合作月数,资质齐全\n")})
    assert result.ok, result.error
    assert [f.code for f in result.flags] == ["eval.empty"] and result.metrics["candidates"] == 0


def test_a_source_without_candidates_says_to_upload_a_list(shop):
    result = runner.run("product_evaluation", {"source": shop(drop_tables=["candidates"])})
    assert result.exit_code == 2 and "没有 candidates（选品候选）表" in result.error and "上传候选清单" in result.error


def test_a_missing_column_of_the_table_is_named(shop):
    result = runner.run("product_evaluation", {"source": shop(drop_columns={"candidates": ["supplier_months"]})})
    assert result.exit_code == 2 and "candidates 表缺少必需列 supplier_months（合作月数）" in result.error


def test_weights_and_bands_are_parameters():
    result = runner.run("product_evaluation", {"weight_demand": 2, "supply_4_months": 3, "gate_growth": 0.03})
    assert result.ok, result.error
    table = evaluation(result)
    # XP-01: (2×4 + 5 + 3) of 20 → 12 of 15; XP-13's 4-month supplier now scores 4; XP-07's 4 % growth now passes
    assert table.at["XP-01", "总分"] == 12 and "按权重 需求 2、利润 1、供货 1 折算为 15 分制" in table.at["XP-01", "原因"]
    assert table.at["XP-13", "供货稳定性"] == 4
    assert table.at["XP-07", "建议"] == "引入"


@pytest.mark.parametrize("params, message", [
    ({"margin_5": 2}, "margin_5（利润 5 分线）应在 0 到 1 之间"),
    ({"demand_2": 0}, "demand_2（需求 2 分线）应在 1 到 1000000000 之间"),
    ({"candidates_file": "../../etc/passwd.csv"}, "不能含有“..”"),
])
def test_out_of_bounds_parameters_are_refused(params, message):
    with pytest.raises(ParamError) as info:
        runner.run("product_evaluation", params)
    assert message in info.value.message


@pytest.mark.parametrize("params, message", [
    ({"demand_4": 200000}, "需求分档（月搜索量）应从高分到低分依次变小"),
    ({"weight_demand": 0, "weight_margin": 0, "weight_supply": 0}, "三个权重"),
    ({"trial_score": 14}, "试销分数线 trial_score（14）不能高于引入分数线 adopt_score（13）"),
])
def test_rules_that_contradict_each_other_are_refused(params, message):
    result = runner.run("product_evaluation", params)
    assert result.exit_code == 2 and message in result.error


def test_the_supply_rule_and_prices_of_zero():
    cands = pd.DataFrame({"candidate_id": ["A", "B", "C", "D", "E"], "name": "杯子", "category": "家居",
                          "monthly_search": 60000, "search_growth": 0.1, "cost": [10.0, 10, 10, 10, 10],
                          "price": [50.0, 50, 50, 50, 0], "supplier_months": [0, 5, 6, 12, 12],
                          "has_qualification": [False, True, False, False, True]})
    scored = product_evaluation.score(cands, product_evaluation.rules(SimpleNamespace(**DEFAULTS))).set_index(
        "candidate_id")
    assert scored["supply_score"].to_dict() == {"A": 1, "B": 3, "C": 4, "D": 5, "E": 5}
    assert scored.at["E", "recommendation"] == "放弃" and "预计售价为 0，无法计算毛利率" in scored.at["E", "reasons"]
    assert "毛利率 未知 未超过门槛 30%" in scored.at["E", "reasons"]


@pytest.fixture(autouse=True, scope="module")
def _clean_uploads():
    yield
    shutil.rmtree(paths.root() / "uploads-eval", ignore_errors=True)


HEADER = "候选ID,商品名称,类目,月搜索量,搜索指数环比增长,成本价,预计售价,供应商ID,合作月数,资质齐全\n"


def test_a_growth_typed_as_a_percentage_number_is_refused_naming_row_and_column():
    """12 meant as 12 % would read as +1,200 % and be recommended 引入: above 10 (1,000 %) a fraction is refused, with
    the file's row and the column; 12% and 12％ (a Chinese input method's sign) read as 0.12."""
    text = HEADER + "X1,折叠杯,家居,60000,0.12,20,69,,24,是\nX2,收纳盒,家居,60000,12,20,69,,24,是\n"
    result = runner.run("product_evaluation", {"candidates_file": upload("候选.csv", text)})
    assert result.exit_code == 2 and "Traceback" not in result.error
    assert ("候选.csv 的 candidates 表的列 search_growth（搜索指数环比增长）应填小数（12% 填 0.12 或 12%），不能大于 10"
            "（即 1,000%），多半是把百分数填成了整数：共 1 行，例如 第3行=“12”") in result.error
    text = HEADER + "X1,折叠杯,家居,60000,12%,20,69,,24,是\nX2,收纳盒,家居,60000,12％,20,69,,24,是\n"
    result = runner.run("product_evaluation", {"candidates_file": upload("候选.csv", text)})
    assert result.ok, result.error
    basis = pd.read_csv(result.folder / "评分依据.csv").set_index("候选ID")
    assert basis["搜索指数环比增长"].tolist() == [0.12, 0.12] and "eval.growth_check" not in result.flag_codes


def test_a_growth_typed_as_a_percentage_in_the_candidates_table_stops_the_run(shop):
    src = shop(edit=("candidates", lambda c: c.assign(search_growth=c["search_growth"].mask(c.index == 2, 18.0))))
    result = runner.run("product_evaluation", {"source": src})
    assert result.exit_code == 2
    assert "candidates 表的列 search_growth（搜索指数环比增长）应填小数（12% 填 0.12 或 12%）" in result.error
    assert "第4行（candidate_id=XP-03）=“18.0”" in result.error


def test_a_growth_up_to_ten_is_questioned_and_totals_are_not_rounded_up():
    text = HEADER + "X1,折叠杯,家居,60000,5,20,69,,24,是\nX2,收纳盒,家居,60000,5%,20,69,,24,是\n"
    result = runner.run("product_evaluation", {"candidates_file": upload("候选.csv", text)})
    assert result.ok, result.error
    (flag,) = [f for f in result.flags if f.code == "eval.growth_check"]
    assert "X1 折叠杯（500%）" in flag.message and "X2" not in flag.message and "把 5% 填成了 5" in flag.message
    assert "搜索增长 500% 异常高，请核对" in evaluation(result).at["X1", "原因"]
    # weights 1, 1, 1.1: 4 + 5 + 5 × 1.1 = 14.5 of 15.5 → 14.03; 2 + 2 + 5 × 1.1 → 9.19, under the trial line of 9.2
    cands = pd.DataFrame({"candidate_id": ["A"], "name": "杯子", "category": "家居", "monthly_search": 8000,
                          "search_growth": 0.1, "cost": [40.0], "price": [50.0], "supplier_months": [24],
                          "has_qualification": [True]})
    rules = product_evaluation.rules(SimpleNamespace(**{**DEFAULTS, "weight_supply": 1.1, "trial_score": 9.2,
                                                        "growth_check": 1.0}))
    scored = product_evaluation.score(cands, rules)
    assert scored.loc[0, "total"] == 9.19 and scored.loc[0, "recommendation"] == "放弃"


RECORDED = HEADER + ("X1,坚果分装罐,家居,120000,0.2,20,69,SUP06,33,是\n"  # the sample's late supplier
                     "X2,桌面风扇,家居,120000,0.2,20,69,SUP10,24,是\n"  # 24 typed, 4 months on record
                     "X3,懒人沙发,家居,120000,0.2,20,69,SUP99,24,是\n"  # not in the supplier list
                     "X4,面膜收纳盒,家居,120000,0.2,20,69,SUP05,24,是\n")  # 24 typed, 52 on record: 5 points either way


def test_a_named_supplier_is_scored_by_its_record():
    """The supplier's own record wins over what was typed: months from its 合作开始日期 to the evaluation day, and the
    supplier review's criteria on its purchase orders — the late SUP06 is on 淘汰观察, which caps its supply score."""
    result = runner.run("product_evaluation", {"candidates_file": upload("候选.csv", RECORDED)})
    assert result.ok, result.error
    table = evaluation(result)
    suppliers = pd.read_parquet("data/sample/suppliers.parquet").set_index("supplier_id")
    assert suppliers.loc["SUP06", "since"] == pd.Timestamp("2023-09-12")
    assert table.loc["X1", ["供货稳定性", "总分", "建议"]].tolist() == [2, 12, "小批量试销"]  # 5 + 5 + 5 = 15 typed
    reasons = table.at["X1", "原因"]
    assert "合作月数按供应商名录（SUP06 自 2023-09-12 起）" in reasons and "供应商合作 33 个月（≥ 12）→ 供货 5 分" in reasons
    assert ("该供应商按供应商分级（2026-04-01 至 2026-06-30，数据截至 2026-06-30）的标准列入淘汰观察（准时交货率 13.6% "
            "低于 85.0%（22 单中迟到 19 单、逾期未到 0 单））→ 供货分封顶 2 分，计 2 分") in reasons
    assert table.loc["X2", ["供货稳定性", "总分", "建议"]].tolist() == [3, 13, "引入"]
    assert "合作月数按供应商名录（SUP10 自 2026-02-12 起，4 个月；填写的 24 个月与名录不符，以名录为准）" in table.at["X2", "原因"]
    assert "新供应商（合作 4 个月，不满 6 个月）资质齐全 → 供货 3 分" in table.at["X2", "原因"]
    assert table.at["X3", "供货稳定性"] == 5 and "供应商 SUP99 不在供应商名录（suppliers 表）中，按填写的合作月数计" in \
        table.at["X3", "原因"]
    assert "52 个月；填写的 24 个月与名录不符" in table.at["X4", "原因"]  # SUP05: 核心 on record, 备选 suggested and "供应商分级：备选" in table.at["X4", "原因"]
    basis = pd.read_csv(result.folder / "评分依据.csv").set_index("候选ID")
    assert basis.loc["X2", ["填写的合作月数", "名录合作月数", "供应商分级建议", "当前登记分级"]].tolist() == [24, 4, "备选", "未评级"]
    # SUP05: 核心 on record, 备选 suggested by supplier_review — said as a suggestion beside the recorded tier
    assert "供应商分级建议：备选（当前登记：核心）" in table.at["X4", "原因"] and "供应商分级：" not in table.at["X4", "原因"]
    assert basis.loc["X4", ["供应商分级建议", "当前登记分级"]].tolist() == ["备选", "核心"]
    (flag,) = [f for f in result.flags if f.code == "eval.supplier_watch"]
    assert (flag.severity, flag.owner) == ("medium", "采购") and "X1 坚果分装罐（SUP06）" in flag.message
    assert [r["candidate_id"] for r in flag.sample] == ["X1"]


def test_the_record_counts_to_the_evaluation_day_and_the_cap_is_a_parameter():
    result = runner.run("product_evaluation", {"candidates_file": upload("候选.csv", RECORDED), "as_of": "2026-08-31",
                                               "supply_watch_cap": 1})
    table = evaluation(result)
    assert "合作月数按供应商名录（SUP10 自 2026-02-12 起，6 个月" in table.at["X2", "原因"]
    assert table.at["X2", "供货稳定性"] == 4
    assert table.at["X1", "供货稳定性"] == 1 and "封顶 1 分" in table.at["X1", "原因"]
    assert "数据截至 2026-06-30" in table.at["X1", "原因"]  # the purchase orders end there: judged that far


def test_the_sample_candidates_keep_their_scores_with_their_records():
    """The sample's typed months are the records' at its end, and none of its suppliers is on 淘汰观察."""
    result = runner.run("product_evaluation", {})
    table = evaluation(result)
    assert "合作月数按供应商名录（SUP09 自 2024-09-12 起）" in table.at["XP-02", "原因"]
    assert "填写的" not in "".join(table["原因"]) and "eval.supplier_watch" not in result.flag_codes
