"""sop_execution: follow-up tasks per executor and role on a state database filled through ops/tasks.py's API; pilots
tested by hand (z-test, Wald interval, Welch, the minimum sample against statsmodels' own); no verdict for a small
pilot; versions of a playbook compared from filed runs; fresh clones, empty windows and hostile input."""
import datetime as dt
import math
from statistics import NormalDist

import pandas as pd
import pytest
from scipy import stats

from opsbook import sources
from opsbook.data import sample_ops
from opsbook.engine import records, runner
from opsbook.engine.records import RunRecord
from opsbook.errors import DataError, ParamError
from opsbook.flags import Flag
from opsbook.ops import jobs, tasks
from opsbook.ops.state import State
from opsbook.settings import TZ
from opsbook.sops import sop_execution as sx

SAMPLE = sources.open_source("data/sample")
PAY, REVISIT = sample_ops.PAYMENT_PILOT, sample_ops.REVISIT_PILOT
JOB = jobs.Job("probe_tasks", "probe")


def flags(*codes):
    owners = {"x.stock": ("high", "仓储"), "x.late": ("medium", "运营"), "x.ads": ("high", "运营/主管"),
              "x.refund": ("medium", "客服"), "x.price": ("high", "运营")}
    return [Flag(c, owners[c][0], owners[c][1], f"问题 {c}") for c in codes]


def opened(state, when, *codes) -> list[int]:
    """A job's run at `when` raising `codes`: its tasks (opened, or linked when still open)."""
    record = RunRecord(f"{when:%Y%m%d-%H%M%S}-aaaaaa", "probe", "ok", 0, trigger="schedule", job=JOB.name,
                       flags=flags(*codes))
    return tasks.record_run(JOB, record, state=state, now=when)


def fill(state, t0: dt.datetime) -> dict[str, int]:
    """Known tasks from day 0 (`t0`): what each executor did with them (see the test below)."""
    h = lambda hours: t0 + dt.timedelta(hours=hours)  # noqa: E731
    (price,) = opened(state, h(0), "x.price")
    tasks.update(price, who="李运营", status="已完成", state=state, now=h(5))  # on time, never came back
    stock, late, ads = opened(state, h(24), "x.stock", "x.ads", "x.late")[0:3]
    ids = {t.code: t.id for t in tasks.select(state, status=None)}
    tasks.update(ids["x.stock"], who="王仓管", status="已完成", note="已补货", state=state, now=h(30))  # on time
    tasks.update(ids["x.ads"], who="张主管", status="处理中", assignee="张主管", state=state, now=h(25))  # stays open
    tasks.update(ids["x.late"], who="李运营", status="已完成", state=state, now=h(24 + 72 + 26))  # 26 h late
    (refund,) = opened(state, h(48), "x.refund")
    tasks.update(refund, who="赵客服", status="不处理", reason="平台已处理", state=state, now=h(50))
    (again,) = opened(state, h(72), "x.stock")  # the stock problem is back: a new task follows the closed one
    return {**ids, "x.price": price, "x.refund": refund, "again": again}


@pytest.fixture
def state(runs_root):
    found = State()
    yield found
    found.close()


def test_tasks_per_executor_and_role_on_a_state_with_known_tasks(state):
    t0 = dt.datetime(2026, 11, 1, 8, 0, tzinfo=TZ)
    ids = fill(state, t0)
    now = t0 + dt.timedelta(days=9)  # the late task closed 4 days ago (watching), the price task 9 days ago
    rows, changes = tasks.history_rows()
    assert len(rows) == 6 and tasks.get(ids["again"], state).follows == ids["x.stock"]
    done = sx.executions(rows, changes, now, days=28, settle_days=7).set_index("id")
    assert done.loc[ids["x.price"], ["executor", "outcome", "effect"]].tolist() == ["李运营", "按时完成", "完成后未复发"]
    assert done.loc[ids["x.stock"], ["executor", "outcome", "effect"]].tolist() == ["王仓管", "按时完成", "完成后复发"]
    assert done.loc[ids["x.late"], ["executor", "outcome", "effect", "hours_late"]].tolist() == [
        "李运营", "逾期完成", "观察中", 26.0]
    assert done.loc[ids["x.ads"], ["executor", "outcome"]].tolist() == ["张主管", "逾期未完成"]
    assert done.loc[ids["x.refund"], ["executor", "outcome"]].tolist() == ["赵客服", "不处理"]
    assert done.loc[ids["again"], ["executor", "outcome"]].tolist() == ["（未领取）", "逾期未完成"]
    people = sx.by_executor(done.reset_index()).set_index("executor")
    assert people.loc["李运营", ["tasks", "closed_on_time", "closed_late", "on_time_rate"]].tolist() == [2, 1, 1, 0.5]
    assert people.loc["王仓管", ["recurred", "no_recurrence_rate"]].tolist() == [1, 0.0]
    assert people.loc["张主管", "overdue_open"] == 1 and people.loc["赵客服", "dropped"] == 1
    assert set(people.index[:2]) == {"张主管", "（未领取）"}  # the most overdue first
    roles = sx.by_role(done.reset_index()).set_index("role")
    assert roles.loc["运营", "tasks"] == 3 and roles.loc["主管", "tasks"] == 1 and roles.loc["仓储", "tasks"] == 2
    assert roles.loc["仓储", ["closed_on_time", "overdue_open", "recurred"]].tolist() == [1, 1, 1]
    summary = sx.task_summary(done)
    assert summary | {} == {"tasks": 6, "closed_on_time": 2, "closed_late": 1, "dropped": 1, "overdue_open": 2,
                            "open_in_time": 0, "recurred": 1, "not_recurred": 1, "watching": 1,
                            "on_time_rate": round(2 / 3, 6), "no_recurrence_rate": 0.5}
    # the window: only the tasks opened in the last 7 days (the re-opened stock task)
    week = sx.executions(rows, changes, now, days=7, settle_days=7)
    assert week["id"].tolist() == [ids["again"]]
    flagged = {f.code: f for f in sx.findings(sx.by_executor(done.reset_index()), sx.pilot_results(None, .95, .1, .5, .8),
                                               summary, min_on_time_rate=0.8, min_closed=2, max_recurrence_rate=0.3,
                                               min_settled=2)}
    assert set(flagged) == {"sopexec.overdue", "sopexec.on_time", "sopexec.recurrence"}
    assert "李运营 50.0%" in flagged["sopexec.on_time"].message and flagged["sopexec.overdue"].rows == 2
    assert all(f.owner == "主管" for f in flagged.values())


def test_the_run_reads_the_tasks_of_its_own_store(state):
    """The notebook reads the state beside the runs it is filed with; tasks opened 10 days before now."""
    ids = fill(state, dt.datetime.now(TZ) - dt.timedelta(days=10))
    result = runner.run("sop_execution", {})
    assert result.ok, result.error
    people = pd.read_csv(result.folder / "按执行人.csv").set_index("执行人")
    assert people.loc["李运营", "按时完成"] == 1 and people.loc["李运营", "逾期完成"] == 1
    assert people.loc["王仓管", "完成后复发"] == 1 and people.loc["张主管", "逾期未完成"] == 1
    m = result.metrics
    assert (m["tasks"], m["closed_on_time"], m["overdue_open"], m["dropped"]) == (6, 2, 2, 1)
    detail = pd.read_csv(result.folder / "跟进任务明细.csv")
    assert sorted(detail["任务编号"]) == sorted(ids.values())
    assert result.flag_codes["sopexec.overdue"] == "medium"


def test_a_fresh_clone_has_no_tasks_and_says_so():
    result = runner.run("sop_execution", {})
    assert result.ok, result.error
    assert result.metrics["tasks"] == 0 and result.metrics["on_time_rate"] is None
    html = result.report.read_text(encoding="utf-8")
    assert "无待办记录：还没有任何跟进任务" in html and "无运行记录：剧本 kpi_report 还没有" in html
    assert len(pd.read_csv(result.folder / "按执行人.csv")) == 0
    assert not any(c.startswith(("sopexec.overdue", "sopexec.on_time", "sopexec.recurrence")) for c in result.flag_codes)


# -- pilots ---------------------------------------------------------------------------------------------------

def test_the_payment_pilot_recomputed_by_hand():
    """z-test and Wald interval by their formulas over the parquet file; the minimum sample by the normal formula and
    by statsmodels' own NormalIndPower; the planted 60.8 % vs 49.3 % is a significant improvement."""
    result = runner.run("sop_execution", {})
    assert result.ok, result.error
    p = pd.read_parquet("data/sample/sop_pilots.parquet")
    pay = p[p["pilot"] == PAY]
    known = pay.dropna(subset=["outcome"])
    n1, n2 = (int((known["pilot_group"] == g).sum()) for g in ("试点", "对照"))
    c1, c2 = (int(known.loc[known["pilot_group"] == g, "outcome"].sum()) for g in ("试点", "对照"))
    assert (n1, n2, c1, c2) == (400, 400, 243, 197)
    p1, p2, pooled = c1 / n1, c2 / n2, (c1 + c2) / (n1 + n2)
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    p_value = math.erfc(abs(z) / math.sqrt(2))
    half = NormalDist().inv_cdf(0.975) * math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    got = result.metrics["pilot_results"][PAY]
    assert got["p_value"] == pytest.approx(p_value, rel=1e-9) and p_value < 0.01
    assert (got["ci_low"], got["ci_high"]) == (pytest.approx(p1 - p2 - half), pytest.approx(p1 - p2 + half))
    assert got["diff"] == pytest.approx(0.115) and got["value_pilot"] == 0.6075 and got["value_control"] == 0.4925
    assert (got["pending_pilot"], got["pending_control"]) == (12, 9)  # no outcome yet: apart, not failures
    # minimum sample for +10 points over the control's 49.25 % at 80 % power: the normal formula and statsmodels
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize
    h = 2 * math.asin(math.sqrt(p2 + 0.1)) - 2 * math.asin(math.sqrt(p2))
    by_hand = 2 * ((NormalDist().inv_cdf(0.975) + NormalDist().inv_cdf(0.8)) / h) ** 2
    own = NormalIndPower().solve_power(effect_size=proportion_effectsize(p2 + 0.1, p2), alpha=0.05, power=0.8)
    assert got["n_required"] == math.ceil(own) == math.ceil(by_hand) == 389
    assert got["power"] == pytest.approx(NormalIndPower().power(h, 400, 0.05, ratio=1.0)) and got["power"] > 0.8
    assert got["verdict"].startswith("付款率显著提高：试点 60.8% vs 对照 49.3%，差 +11.5 个百分点")
    table = pd.read_csv(result.folder / "试点对比.csv").set_index("试点名称")
    assert table.loc[PAY, "每组最少样本"] == 389 and table.loc[PAY, "指标类型"] == "比例"
    assert result.flag_codes[f"sopexec.pilot_result:{PAY.replace(' ', '_')}"] == "medium"


def test_the_small_staff_pilot_gets_no_verdict():
    p = pd.read_parquet("data/sample/sop_pilots.parquet")
    results = sx.pilot_results(sx.pilots(SAMPLE), 0.95, 0.1, 0.5, 0.8).set_index("pilot")
    r = results.loc[REVISIT]
    a = p.loc[(p["pilot"] == REVISIT) & (p["pilot_group"] == "试点"), "outcome"].to_numpy()
    b = p.loc[(p["pilot"] == REVISIT) & (p["pilot_group"] == "对照"), "outcome"].to_numpy()
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    t = (a.mean() - b.mean()) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))  # Welch–Satterthwaite
    assert r["kind"] == "数值" and r["p_value"] == pytest.approx(2 * stats.t.sf(abs(t), df))
    half = stats.t.ppf(0.975, df) * math.sqrt(va + vb)
    assert r["ci_low"] == pytest.approx(a.mean() - b.mean() - half) and r["n_pilot"] == r["n_control"] == 4
    from statsmodels.stats.power import TTestIndPower
    assert r["n_required"] == math.ceil(TTestIndPower().solve_power(0.5, alpha=0.05, power=0.8)) == 64
    assert r["verdict"].startswith("样本量不足，暂不下结论：试点组 4 个、对照组 4 个对象有结果，每组至少需要 64 个")
    assert "显著" not in r["verdict"]
    found = sx.findings(sx.by_executor(sx.executions([], [], dt.datetime.now(TZ), 28, 7)), results.reset_index(),
                        sx.task_summary(sx.executions([], [], dt.datetime.now(TZ), 28, 7)), min_on_time_rate=.8,
                        min_closed=5, max_recurrence_rate=.3, min_settled=5)
    small = [f for f in found if f.code.startswith("sopexec.pilot_small")]
    assert len(small) == 1 and small[0].severity == "low" and REVISIT in small[0].message
    # a smaller minimum effect asks for more units: the payment pilot's 400 no longer suffice
    strict = sx.pilot_results(sx.pilots(SAMPLE), 0.95, 0.05, 0.5, 0.8).set_index("pilot")
    assert strict.loc[PAY, "n_required"] == 1567 and strict.loc[PAY, "verdict"].startswith("样本量不足")


def pilot_rows(**change) -> pd.DataFrame:
    rows = pd.DataFrame({"pilot": "P", "playbook": None, "sop_version": ["v2", "v2", "v1", "v1"],
                         "unit_id": ["u1", "u2", "u3", "u4"], "unit_kind": "客户",
                         "pilot_group": ["试点", "试点", "对照", "对照"],
                         "assigned_at": pd.Timestamp("2026-06-01 10:00", tz="Asia/Shanghai"), "metric": "付款率",
                         "outcome": [1.0, 0.0, None, 1.0]})
    return rows.assign(**change)


def folder_with(tmp_path, rows: pd.DataFrame) -> str:
    rows.to_parquet(tmp_path / "sop_pilots.parquet")
    return str(tmp_path)


@pytest.mark.parametrize("change, message", [
    ({"metric": ["付款率", "付款率", "客单价", "付款率"]}, "试点“P”的行声明了 2 个指标（付款率、客单价）"),
    ({"pilot_group": ["试点"] * 4}, "试点“P”缺少对照组"),
])


def test_a_pilot_with_two_metrics_or_one_group_is_refused(tmp_path, change, message):
    with pytest.raises(DataError, match=message):
        sx.pilots(sources.open_source(folder_with(tmp_path, pilot_rows(**change))))
    result = runner.run("sop_execution", {"source": folder_with(tmp_path, pilot_rows(**change))})
    assert result.exit_code == 2 and message in result.error and "Traceback" not in result.error


def test_wrong_group_names_and_duplicated_units_stop_the_run(tmp_path):
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    result = runner.run("sop_execution", {"source": folder_with(wrong, pilot_rows(pilot_group=["实验组", "实验组",
                                                                                           "控制组", "控制组"]))})
    assert result.exit_code == 2 and "pilot_group" in result.error and "试点" in result.error
    twice = tmp_path / "twice"
    twice.mkdir()
    rows = pilot_rows()
    result = runner.run("sop_execution", {"source": folder_with(twice, pd.concat([rows, rows.head(1)]))})
    assert result.exit_code == 2 and "sop_pilots" in result.error and "重复" in result.error


def test_units_without_an_outcome_are_apart_and_a_source_without_pilots_says_so(tmp_path):
    r = sx.pilot_results(pilot_rows(), 0.95, 0.1, 0.5, 0.8).iloc[0]
    assert (r["n_pilot"], r["n_control"], r["pending_control"], r["value_control"]) == (2, 1, 1, 1.0)
    assert r["verdict"].startswith("样本量不足")
    none = sx.pilot_results(pilot_rows(outcome=[None] * 4), 0.95, 0.1, 0.5, 0.8).iloc[0]
    assert none["verdict"].startswith("尚无结果") and none["pending_pilot"] == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    pd.read_parquet("data/sample/orders.parquet").head(5).to_parquet(empty / "orders.parquet")
    assert sx.pilots(sources.open_source(str(empty))) is None
    assert sx.pilot_note(None, .95, .1, .5, .8).startswith("无试点数据")


# -- versions -------------------------------------------------------------------------------------------------

def file_runs(store: records.RunStore, runs):
    for i, (git, gmv, job, status) in enumerate(runs):
        when = dt.datetime(2026, 11, 1 + i, 8, tzinfo=TZ)
        record = RunRecord(records.new_run_id(when), "kpi_report", "running", 1, job=job, trigger="schedule",
                           started=when.isoformat(), git=git)
        running = store.open(record)
        record.status, record.exit_code, record.metrics = status, 0 if status == "ok" else 1, {"gmv": gmv}
        store.file(record, running)


def test_versions_compared_by_their_runs_metric(tmp_path):
    store = records.RunStore(tmp_path / "runs")
    history = [("aaa111", 100.0, "kpi_daily", "ok"), ("aaa111", 110.0, "kpi_daily", "ok"),
               ("aaa111", 105.0, "kpi_daily", "ok"), ("bbb222", 130.0, "kpi_daily", "ok"),
               ("bbb222", 140.0, None, "ok"), ("bbb222", 999.0, "kpi_daily", "failed"),
               ("bbb222", 135.0, "kpi_daily", "ok")]
    file_runs(store, history)
    runs, lacking = sx.version_runs(records.summaries(store, "kpi_report"), "gmv", jobs_only=True)
    assert runs["value"].tolist() == [100.0, 110.0, 105.0, 130.0, 135.0] and lacking == 0
    table = sx.versions(runs).set_index("version")
    assert table.index.tolist() == ["aaa111", "bbb222"] and table.loc["bbb222", "mean"] == 132.5
    text = sx.compare_versions(runs, table.reset_index(), "kpi_report", "gmv", 0.95, True, lacking)
    p = stats.ttest_ind([130.0, 135.0], [100.0, 110.0, 105.0], equal_var=False).pvalue
    assert f"p = {p:.3g}" in text and "最新版本 bbb222（2 次运行）对比上一版本 aaa111（3 次）" in text
    loose, _ = sx.version_runs(records.summaries(store, "kpi_report"), "gmv", jobs_only=False)
    assert len(loose) == 6  # the form's run counts too; the failed one never
    result = runner.run("sop_execution", {}, out=store.root)
    assert result.ok, result.error
    assert result.metrics["version_runs"] == 5
    shown = pd.read_csv(result.folder / "版本对比.csv")
    assert shown["运行次数"].tolist() == [3, 2]


def test_version_edge_cases_and_a_hostile_playbook_name(tmp_path):
    empty = pd.DataFrame(columns=["run_id", "started", "version", "value"])
    assert sx.compare_versions(empty, sx.versions(empty), "kpi_report", "gmv", .95, True, 2).startswith(
        "无运行记录：剧本 kpi_report 还没有带数值指标 gmv 的定时任务的成功运行（另有 2 次")
    result = runner.run("sop_execution", {"compare_playbook": "../../passwd"})
    assert result.exit_code == 2 and "剧本名称 '../../passwd' 不对" in result.error
    result = runner.run("sop_execution", {"compare_playbook": "no_such_playbook"})
    assert result.exit_code == 2 and "没有名为 no_such_playbook 的剧本" in result.error


def test_out_of_range_parameters_are_refused():
    with pytest.raises(ParamError, match="置信水平"):
        runner.run("sop_execution", {"confidence": 1.5})
    with pytest.raises(ParamError, match="统计天数"):
        runner.run("sop_execution", {"task_days": 0})


def test_a_missing_column_stops_the_run_and_an_empty_window_says_so(shop, state):
    result = runner.run("sop_execution", {"source": shop(drop_columns={"sop_pilots": ["metric"]})})
    assert result.exit_code == 2 and "sop_pilots 表缺少必需列 metric（预先声明的指标）" in result.error
    fill(state, dt.datetime.now(TZ) - dt.timedelta(days=10))
    result = runner.run("sop_execution", {"task_days": 3})
    assert result.ok, result.error
    assert result.metrics["tasks"] == 0 and result.metrics["on_time_rate"] is None
    assert "无待办记录：最近 3 天内没有开启的跟进任务" in result.report.read_text(encoding="utf-8")


# -- shops ----------------------------------------------------------------------------------------------------

SHOPS = ("shops:\n  - {name: 天猫旗舰店, platform: TM, source: data/sample, roles: [主管]}\n"
         "  - {name: 抖店, platform: DY, source: data/other, users: [抖店主管]}\n")


def test_a_shops_run_sees_only_that_shops_tasks_and_runs(tmp_path, monkeypatch, runs_root):
    """With shops.yaml a 主管 of one shop runs the report on it: the other shop's tasks, executors and kpi runs stay
    out (they were all counted before)."""
    from conftest import REPO

    from opsbook.engine import kernels
    kernels.POOL.drain()  # a warm kernel keeps the project it was started in
    (tmp_path / "playbooks").symlink_to(REPO / "playbooks")
    (tmp_path / "data" / "other").mkdir(parents=True)
    for name in ("sample", "reference"):
        (tmp_path / "data" / name).symlink_to(REPO / "data" / name)
    (tmp_path / "shops.yaml").write_text(SHOPS, encoding="utf-8")
    monkeypatch.setenv("OPSBOOK_HOME", str(tmp_path))
    state = State()
    t0 = dt.datetime.now(TZ) - dt.timedelta(days=3)
    for shop, codes, who in (("天猫旗舰店", ("x.price",), "李运营"), ("抖店", ("x.stock", "x.refund"), "抖店仓管")):
        record = RunRecord(f"{t0:%Y%m%d-%H%M%S}-{len(shop)}aaaaa", "probe", "ok", 0, trigger="schedule", job=JOB.name,
                           params={"shop": shop, "source": "data/sample" if shop == "天猫旗舰店" else "data/other"},
                           flags=flags(*codes))
        for task in tasks.record_run(JOB, record, state=state, now=t0):
            tasks.update(task, who=who, status="已完成", state=state, now=t0 + dt.timedelta(hours=1))
    state.close()
    store = records.store()
    for i, (shop, source, gmv) in enumerate((("天猫旗舰店", "data/sample", 100.0), ("抖店", "data/other", 5000.0),
                                            ("抖店", "data/other", 6000.0))):
        when = dt.datetime(2026, 11, 1 + i, 8, tzinfo=TZ)
        record = RunRecord(records.new_run_id(when), "kpi_report", "running", 1, job="kpi_daily", trigger="schedule",
                           started=when.isoformat(), git="aaa111", params={"shop": shop, "source": source})
        running = store.open(record)
        record.status, record.exit_code, record.metrics = "ok", 0, {"gmv": gmv}
        store.file(record, running)
    result = runner.run("sop_execution", {"shop": "天猫旗舰店"})
    kernels.POOL.drain()
    assert result.ok, result.error
    assert result.metrics["tasks"] == 1 and result.metrics["version_runs"] == 1
    people = pd.read_csv(result.folder / "按执行人.csv")
    assert people["执行人"].tolist() == ["李运营"]
    html = result.report.read_text(encoding="utf-8")
    assert "抖店仓管" not in html and "5,000" not in html and "5500" not in html


def test_the_pilot_note_says_two_sided_and_warns_of_several_pilots():
    """A manager reads how sure a verdict is: both tests are two-sided (said in the note and the test column), and with
    several pilots the chance that one of them is 'significant' by luck is stated (1 − 0.95² = 9.75 %)."""
    units = sx.pilots(SAMPLE)
    assert units["pilot"].nunique() == 2
    note = sx.pilot_note(units, 0.95, 0.1, 0.5, 0.8)
    assert "均为双侧检验" in note and "本表有 2 个试点" in note and "约有 9.8%" in note
    assert "本表有" not in sx.pilot_note(units[units["pilot"] == PAY], 0.95, 0.1, 0.5, 0.8)
    tests_ = sx.pilot_results(units, 0.95, 0.1, 0.5, 0.8)["test"].tolist()
    assert all("双侧" in t for t in tests_)


def test_a_note_on_an_unclaimed_task_does_not_make_its_writer_the_executor(state):
    """A 主管 reminding on an unclaimed overdue task (a note, no status change) is not charged with it: it stays
    （未领取）; whoever moves it (处理中 without naming anyone, as on the command line) takes it on."""
    t0 = dt.datetime(2026, 11, 1, 8, 0, tzinfo=TZ)
    first, second = opened(state, t0, "x.stock", "x.late")
    tasks.update(first, who="张主管", note="请尽快补货", state=state, now=t0 + dt.timedelta(hours=30))
    tasks.update(second, who="李运营", status="处理中", state=state, now=t0 + dt.timedelta(hours=2))
    tasks.update(second, who="张主管", note="进度？", state=state, now=t0 + dt.timedelta(hours=80))
    rows, changes = tasks.history_rows()
    done = sx.executions(rows, changes, t0 + dt.timedelta(days=5), days=28, settle_days=7).set_index("id")
    assert done.loc[first, ["executor", "outcome"]].tolist() == ["（未领取）", "逾期未完成"]
    assert done.loc[second, ["executor", "outcome"]].tolist() == ["李运营", "逾期未完成"]
    people = sx.by_executor(done.reset_index())
    assert "张主管" not in people["executor"].tolist()


def test_a_task_closed_by_the_lead_counts_for_its_handler(state):
    """李运营 took the task (处理人) and did it; 张主管 closed it after checking: the on-time record is 李运营's, not
    the 主管's. A task nobody took counts for whoever closed it."""
    t0 = dt.datetime(2026, 11, 1, 8, 0, tzinfo=TZ)
    taken, loose = opened(state, t0, "x.late", "x.refund")
    tasks.update(taken, who="李运营", status="处理中", assignee="李运营", state=state, now=t0 + dt.timedelta(hours=1))
    tasks.update(taken, who="张主管", status="已完成", note="已核对", state=state, now=t0 + dt.timedelta(hours=10))
    tasks.update(loose, who="赵客服", status="已完成", state=state, now=t0 + dt.timedelta(hours=3))
    rows, changes = tasks.history_rows()
    done = sx.executions(rows, changes, t0 + dt.timedelta(days=2), days=28, settle_days=7).set_index("id")
    assert done.loc[taken, ["executor", "outcome"]].tolist() == ["李运营", "按时完成"]
    assert done.loc[loose, ["executor", "outcome"]].tolist() == ["赵客服", "按时完成"]
    assert "张主管" not in sx.by_executor(done.reset_index())["executor"].tolist()


@pytest.fixture
def own_kernels():
    """Kernels started for this test only: a warm kernel keeps the project (OPSBOOK_HOME) it was started in."""
    from opsbook.engine import kernels
    kernels.POOL.drain()
    yield
    kernels.POOL.drain()


def test_a_shop_sees_only_its_own_tasks_and_runs(tmp_path, monkeypatch, runs_root, own_kernels):
    """Two registered shops file their tasks and runs in one store: a shop's sop_execution run counts its own tasks
    and compares its own runs' versions, never the other shop's (their titles, executors and GMV stay theirs)."""
    from conftest import REPO
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    (project / "playbooks").symlink_to(REPO / "playbooks")
    for name in ("sample", "reference"):
        (project / "data" / name).symlink_to(REPO / "data" / name)
    (project / "data" / "douyin").symlink_to(REPO / "data" / "sample")  # another place: another shop
    (project / "shops.yaml").write_text("shops:\n  - {name: 天猫店, platform: TM, source: data/sample}\n"
                                        "  - {name: 抖店, platform: DY, source: data/douyin}\n", encoding="utf-8")
    monkeypatch.setenv("OPSBOOK_HOME", str(project))
    own, other = {"shop": "天猫店", "source": "data/sample"}, {"shop": "抖店", "source": "data/douyin"}
    now = dt.datetime.now(TZ) - dt.timedelta(days=2)
    state = State()
    try:
        for params, code, when in ((own, "x.price", now), (other, "x.stock", now), ({"source": "data/douyin"}, "x.late",
                                                                                     now + dt.timedelta(hours=1))):
            record = RunRecord(f"{when:%Y%m%d-%H%M%S}-{code[2:]:a<6}", "probe", "ok", 0, trigger="schedule",
                               job=JOB.name, params=params, flags=flags(code))
            tasks.record_run(JOB, record, state=state, now=when)
        for t in tasks.select(state, status=None):
            tasks.update(t.id, who="抖店客服" if t.code != "x.price" else "李运营", status="已完成", state=state,
                         now=now + dt.timedelta(hours=2))
    finally:
        state.close()
    store = records.store()
    for i, (params, git, gmv) in enumerate([(own, "aaa111", 100.0), (own, "aaa111", 110.0), (other, "bbb222", 9e6),
                                            (other, "bbb222", 8e6), (own, "ccc333", 120.0)]):
        when = dt.datetime(2026, 11, 1 + i, 8, tzinfo=TZ)
        record = RunRecord(records.new_run_id(when), "kpi_report", "running", 1, job="kpi_daily", trigger="schedule",
                           started=when.isoformat(), git=git, params=params)
        running = store.open(record)
        record.status, record.exit_code, record.metrics = "ok", 0, {"gmv": gmv}
        store.file(record, running)
    rows, changes = tasks.history_rows(store, own)
    assert [r["code"] for r in rows] == ["x.price"] and {c["task"] for c in changes} == {rows[0]["id"]}
    assert "李运营" in {c["who"] for c in changes}
    assert sorted(r["code"] for r in tasks.history_rows(store, {"source": str(project / "data" / "douyin")})[0]) == [
        "x.late", "x.stock"]  # the same place, named or written as a path
    assert len(tasks.history_rows(store)[0]) == 3  # without a run's parameters: every task (the scheduler's view)
    assert [s["git"] for s in records.summaries(store, "kpi_report", own)] == ["aaa111", "aaa111", "ccc333"]
    result = runner.run("sop_execution", {"shop": "天猫店"})
    assert result.ok, result.error
    assert result.metrics["tasks"] == 1 and result.metrics["version_runs"] == 3
    shown = pd.read_csv(result.folder / "按执行人.csv")
    assert shown["执行人"].tolist() == ["李运营"]
    assert "bbb222" not in pd.read_csv(result.folder / "版本对比.csv").to_string()


def test_reading_the_tasks_never_waits_for_nor_blocks_a_writing_scheduler(state):
    """A scheduler in the middle of a write transaction: the notebook reads the last committed tasks at once (it used
    to open the state for writing, waiting up to 30 s for the scheduler and then failing); it leaves no lock behind."""
    import time
    fill(state, dt.datetime.now(TZ) - dt.timedelta(days=3))
    with state.transaction() as db:  # the scheduler writes a change not yet committed
        db.execute("UPDATE tasks SET status = '已完成' WHERE status <> '已完成'")
        started = time.monotonic()
        rows, _ = tasks.history_rows()
        assert time.monotonic() - started < 5
        assert len(rows) == 6 and sum(r["status"] == "已完成" for r in rows) == 3  # as committed
    with state.transaction():  # the reader holds nothing
        pass
