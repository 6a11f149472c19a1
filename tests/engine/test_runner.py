"""The runner: run folders, result.json, the index, failures that keep the last good report, timeouts."""
import json
import os
import time

import nbformat
import pandas as pd
import pytest

from opsbook import paths
from opsbook.data import scan
from opsbook.engine import records, runner
from opsbook.ops import jobs
from opsbook.errors import ParamError


def test_good_run_files_and_result(runs_root):
    result = runner.run("user_tiering", {"as_of": "2025-06-30", "method": "quintile"}, job="tiering_daily")
    assert result.ok and result.exit_code == 0
    folder = result.folder
    assert folder.parent == runs_root / "user_tiering" and folder.name == result.run_id
    names = {p.name for p in folder.iterdir()}
    assert {"report.html", "result.json", "executed.ipynb", "召回名单.xlsx", "召回名单.csv", "分层汇总.xlsx"} <= names
    data = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    assert data["status"] == "ok" and data["params"]["method"] == "quintile" and data["params"]["as_of"] == "2025-06-30"
    customers = pd.read_csv(folder / "客户分层明细.csv")
    assert data["metrics"]["customers"] == len(customers) > 100
    assert data["metrics"]["segments"] == customers["客户分层"].value_counts().to_dict()
    assert [(f["code"], f["severity"]) for f in data["flags"]] == [(f.code, f.severity) for f in result.flags]
    assert data["flag_counts"] == {"high": sum(f.severity == "high" for f in result.flags),
                                   "medium": sum(f.severity == "medium" for f in result.flags),
                                   "low": sum(f.severity == "low" for f in result.flags)} and result.flags
    assert set(data["seconds"]) == {"execute", "render", "total"} and data["started"].endswith("+08:00")
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "用户分层 RFM" in html and "运行参数" in html and "quintile" in html
    assert "opsbook.playbook.begin" not in html and "import " not in html  # no code in the report
    assert "<script src=" not in html  # opens offline
    assert records.store().latest("user_tiering") == folder
    index = records.store().index()
    assert index[-1].run_id == result.run_id and index[-1].flag_counts == data["flag_counts"]
    assert index[-1].flag_codes == {f.code: f.severity for f in result.flags}
    assert not scan.scan_tree(folder)


def test_bad_parameters_execute_nothing(runs_root):
    before = set((runs_root / "kpi_report").glob("*")) if (runs_root / "kpi_report").exists() else set()
    with pytest.raises(ParamError) as info:
        runner.run("kpi_report", {"period": "年", "history": 999, "nope": 1})
    assert len(info.value.problems) == 3
    after = set((runs_root / "kpi_report").glob("*")) if (runs_root / "kpi_report").exists() else set()
    assert after == before


def test_failure_keeps_last_good_report(runs_root):
    good = runner.run("campaign_review", {}, job="campaign_daily")
    assert good.ok
    good_html = good.report.read_bytes()
    bad = runner.run("campaign_review", {"source": "/nonexistent/shop"}, job="campaign_daily")
    assert bad.status == "failed" and bad.exit_code == 2
    assert "找不到数据目录" in bad.error
    result = json.loads((bad.folder / "result.json").read_text(encoding="utf-8"))
    assert result["status"] == "failed" and result["error"] == bad.error
    assert (bad.folder / "executed.ipynb").is_file()
    assert records.store().latest("campaign_review") == good.folder
    assert good.report.read_bytes() == good_html
    assert not list((runs_root / "campaign_review").glob(".tmp-*"))


def _notebook(path, code):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# 测试剧本 (probe)\n用于测试。\n\n- **适用角色**：运营"),
                nbformat.v4.new_code_cell("seconds: float = 0.0  # 等待秒数", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(code)]
    nbformat.write(nb, path)
    return path


def test_playbook_error_is_exit_1_with_error(tmp_path):
    result = runner.run(_notebook(tmp_path / "probe.ipynb", "raise RuntimeError('boom')"), {})
    assert result.status == "failed" and result.exit_code == 1 and "boom" in result.error
    html = (result.folder / "report.html").read_text(encoding="utf-8")
    assert "运行失败" in html and "boom" in html
    assert "Traceback" not in html and "Cell In[" not in html and "site-packages" not in html


def test_whole_run_timeout_is_recorded(tmp_path):
    path = _notebook(tmp_path / "probe.ipynb", "import time\nfor i in range(100):\n    print(i, flush=True)\n"
                                               "    time.sleep(seconds)")
    result = runner.run(path, {"seconds": 0.2}, timeout=2)
    assert result.status == "timeout" and result.exit_code == 1 and "超时（超过 2 秒）" in result.error
    data = json.loads((result.folder / "result.json").read_text(encoding="utf-8"))
    assert data["status"] == "timeout" and result.retryable
    # stopped where it was: the loop never reached its end
    last = nbformat.read(result.folder / "executed.ipynb", 4).cells[-1]
    printed = "".join(o.get("text", "") for o in last.outputs).split()
    assert printed and printed[-1] != "99"


def test_kernel_is_reused_and_reset(tmp_path):
    path = _notebook(tmp_path / "probe.ipynb", "import os\nprint(os.getpid(), 'leak' in globals())\nleak = 1")
    first = runner.run(path, {})
    second = runner.run(path, {})
    out1 = nbformat.read(first.folder / "executed.ipynb", 4).cells[-1].outputs[0]["text"].split()
    out2 = nbformat.read(second.folder / "executed.ipynb", 4).cells[-1].outputs[0]["text"].split()
    assert out1[0] == out2[0]  # same kernel process
    assert out2[1] == "False"  # namespace was reset between runs


@pytest.mark.parametrize("job_file", sorted((paths.root() / "params").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_job_file_runs(job_file):
    job = jobs.load(job_file)
    result = runner.run(job.playbook, job.parameters, trigger="job", job=job.name)
    assert result.ok, result.error
    assert result.job == job.name


def test_interrupted_run_is_filed_as_failed_by_the_next_run(runs_root):
    import subprocess
    good = runner.run("campaign_review", {}, job="campaign_daily")
    dead = subprocess.Popen(["true"])
    dead.wait()
    tmp = runs_root / "campaign_review" / ".tmp-20250101-000000-dead00"
    tmp.mkdir()
    (tmp / "result.json").write_text(json.dumps({"run_id": "20250101-000000-dead00", "playbook": "campaign_review",
                                                 "status": "running", "params": {"min_roi": 2.0}}), encoding="utf-8")
    (tmp / records.PID_FILE).write_text(f"{dead.pid} 12345", encoding="utf-8")
    runner.run("campaign_review", {})
    filed = runs_root / "campaign_review" / "20250101-000000-dead00" / "result.json"
    data = json.loads(filed.read_text(encoding="utf-8"))
    assert data["status"] == "failed" and "中断" in data["error"] and data["params"] == {"min_roi": 2.0}
    assert data["started"] == "2025-01-01T00:00:00+08:00"  # its record had none: taken from the run id
    assert any(e.run_id == "20250101-000000-dead00" and e.status == "failed" for e in records.store().index())
    assert not tmp.exists()
    assert records.store().latest("campaign_review") == good.folder
    assert good.ok


def test_passwords_in_addresses_are_refused_before_anything_is_recorded(runs_root):
    before = records.store().index()
    with pytest.raises(ParamError, match="source（数据源）的地址中含有密码.*PGPASSWORD"):
        runner.run("kpi_report", {"source": "postgresql://ops:hunter2@127.0.0.1:5432/shop"})
    assert records.store().index() == before
    assert "hunter2" not in "".join(p.read_text(encoding="utf-8", errors="ignore")
                                    for p in runs_root.rglob("*.json*"))


def test_half_made_run_folders_are_removed_once_abandoned(runs_root):
    """A run killed while its folder was being made leaves `.new-*`: never filed as a run, removed after a while."""
    parent = runs_root / "campaign_review"
    parent.mkdir(parents=True, exist_ok=True)
    old, fresh = parent / ".new-20250101-000000-aaaaaa", parent / ".new-20250101-000000-bbbbbb"
    old.mkdir(), fresh.mkdir()
    os.utime(old, (time.time() - records.ABANDONED_AFTER - 5,) * 2)
    before = len(records.store().index())
    assert records.store().file_interrupted("campaign_review") == []
    assert not old.exists() and fresh.is_dir() and len(records.store().index()) == before
    fresh.rmdir()


def test_a_phone_quoted_in_an_error_is_masked_everywhere(tmp_path, runs_root):
    """A bad value shown as an example in a validation error is a phone number: no artifact shows it whole."""
    orders = pd.read_parquet("data/sample/orders.parquet").astype({"status": "object"})
    orders.loc[3, "status"] = "13912345678"
    orders.to_parquet(tmp_path / "orders.parquet")
    result = runner.run("user_tiering", {"source": str(tmp_path)})
    assert result.exit_code == 2 and "139****5678" in result.error and "13912345678" not in result.error
    assert not scan.scan_tree(runs_root), scan.scan_tree(runs_root)


def test_without_a_chinese_font_charts_warn_instead_of_failing(monkeypatch):
    import opsbook.playbook
    from opsbook import charts
    monkeypatch.setattr(charts, "FONT_FILES", ("/nonexistent/font.ttc",))
    charts.setup.cache_clear()
    shown = []
    monkeypatch.setattr(opsbook.playbook, "display", shown.append)
    try:
        assert charts.setup() is None
        charts.bar(pd.DataFrame({"x": ["甲"], "y": [1]}), "x", "y", "标题")  # still draws
        opsbook.playbook.begin("user_tiering", {})
        assert any(charts.NO_FONT in item.data for item in shown)
    finally:
        charts.setup.cache_clear()
