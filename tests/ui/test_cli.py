"""The `opsbook` command: exit codes and Chinese messages, as a user sees them."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


def opsbook(*args, **kw):
    return subprocess.run([sys.executable, "-m", "opsbook.ui.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, **kw.pop("env", {})}, timeout=300, **kw)


def test_list_shows_titles_roles_and_parameters():
    out = opsbook("list")
    assert out.returncode == 0
    for text in ("user_tiering — 用户分层 RFM", "kpi_report", "campaign_review — 活动复盘（运营、主管）",
                 "method（分层方法）: 可选 mean/quintile", "recall_days（召回天数）: 整数，范围 7–180"):
        assert text in out.stdout


def test_run_with_params_and_out(tmp_path):
    out = opsbook("run", "user_tiering", "-p", "as_of=2025-06-30", "-p", "method=mean", "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "user_tiering 完成" in out.stdout and "报告：" in out.stdout
    (folder,) = [p for p in (tmp_path / "user_tiering").iterdir() if p.name != "latest"]
    result = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    assert result["params"]["as_of"] == "2025-06-30" and result["status"] == "ok"
    assert (tmp_path / "index.jsonl").is_file()


def test_run_with_params_file(tmp_path):
    out = opsbook("run", "kpi_report", "--params-file", "params/kpi_weekly.yaml", "-p", "history=8", "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    (folder,) = [p for p in (tmp_path / "kpi_report").iterdir() if p.name != "latest"]
    params = json.loads((folder / "result.json").read_text(encoding="utf-8"))["params"]
    assert params["period"] == "周" and params["history"] == 8


def test_bad_parameters_exit_2_listing_every_problem(tmp_path):
    out = opsbook("run", "user_tiering", "-p", "method=median", "-p", "as_of=2025-13-01", "-p", "bogus=1",
                  "-p", "recall_days=3", "--out", str(tmp_path))
    assert out.returncode == 2
    for text in ("参数有误，未执行", "只能取 mean / quintile", "2025-13-01", "未知参数 bogus", "应在 7 到 180 之间"):
        assert text in out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    assert not (tmp_path / "user_tiering").exists()  # nothing executed


@pytest.mark.parametrize("args, message", [
    (["run", "nope"], "没有名为 nope 的剧本"),
    (["run", "user_tiering", "-p", "method"], "格式应为 名称=值"),
    (["run", "user_tiering", "--params-file", "missing.yaml"], "找不到参数文件"),
])
def test_usage_errors_exit_2_in_chinese(args, message):
    out = opsbook(*args)
    assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr


def test_bad_source_is_exit_2_and_kept_as_failed_run(tmp_path):
    out = opsbook("run", "kpi_report", "-p", "source=/nope", "--out", str(tmp_path))
    assert out.returncode == 2
    assert "找不到数据目录 /nope" in out.stderr and "Traceback" not in out.stderr
    (folder,) = [p for p in (tmp_path / "kpi_report").iterdir()]
    assert json.loads((folder / "result.json").read_text(encoding="utf-8"))["status"] == "failed"


def test_jobs_check():
    out = opsbook("jobs", "check")
    assert out.returncode == 0 and "个任务均有效" in out.stdout


def test_serve_stops_voila_and_its_kernels_on_sigterm(tmp_path, lines_of):
    """`kill` or systemd stop the forms server: nothing of it keeps serving the forms."""
    import signal
    import socket

    import psutil
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "opsbook.ui.cli", "serve", "--port", str(port)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OPSBOOK_RUNS": str(tmp_path)})
    children = []
    try:
        (first,) = lines_of(proc.stdout, 1)
        assert "表单已启动" in first
        children = psutil.Process(proc.pid).children(recursive=True)
        assert children  # voila (and its pre-heated kernels)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        _, alive = psutil.wait_procs(children, timeout=15)
        assert not alive, [p.cmdline()[:3] for p in alive]
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
    finally:
        for process in [proc, *children]:  # orphans of a failed stop would keep serving
            try:
                psutil.Process(process.pid).kill()
            except psutil.Error:
                pass


@pytest.mark.parametrize("name", ["../../evil", "/etc/passwd", "kpi_report.ipynb", "KPI"])
def test_a_playbook_is_a_name_never_a_path(tmp_path, name):
    (tmp_path / "evil.ipynb").write_text("{}", encoding="utf-8")
    out = opsbook("run", name, "--out", str(tmp_path / "runs"))
    assert out.returncode == 2 and "应是 playbooks/ 中某个剧本的名字" in out.stderr
    assert not (tmp_path / "runs").exists()


def test_a_non_positive_timeout_is_refused_before_running(tmp_path):
    out = opsbook("run", "user_tiering", "--timeout", "-5", "--out", str(tmp_path))
    assert out.returncode == 2 and "超时时间应为大于 0 的秒数" in out.stderr and not (tmp_path / "user_tiering").exists()


def test_the_project_is_the_folder_opsbook_runs_in(tmp_path):
    """Another project's folder (its own playbooks/, params/, data/): runs land there, not in the install."""
    project = tmp_path / "shop"
    (project / "playbooks").mkdir(parents=True)
    (project / "params").mkdir()
    shutil.copy(ROOT / "playbooks" / "user_tiering.ipynb", project / "playbooks")
    shutil.copytree(ROOT / "data" / "sample", project / "data" / "sample")
    env = {k: v for k, v in os.environ.items() if k not in ("OPSBOOK_HOME", "OPSBOOK_RUNS")}
    inside = project / "playbooks"  # any folder inside the project
    listed = subprocess.run([sys.executable, "-m", "opsbook.ui.cli", "list"], capture_output=True, text=True,
                            cwd=inside, env=env, timeout=120)
    assert listed.returncode == 0 and f"项目目录：{project}" in listed.stdout
    assert "user_tiering" in listed.stdout and "kpi_report" not in listed.stdout
    ran = subprocess.run([sys.executable, "-m", "opsbook.ui.cli", "run", "user_tiering"], capture_output=True,
                         text=True, cwd=project, env=env, timeout=300)
    assert ran.returncode == 0, ran.stderr
    assert list((project / "runs" / "user_tiering").glob("2*/result.json"))
