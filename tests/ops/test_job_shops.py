"""Job files naming a shop of shops.yaml instead of a source: checked, resolved, and recorded with each run."""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pytest
from conftest import REPO

from opsbook.engine import runner
from opsbook.errors import ParamError
from opsbook.ops import jobs

SHOPS = "shops:\n  - {name: 天猫旗舰店, platform: TM, source: data/sample, roles: [运营]}\n"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project with the repository's playbooks and sample shop, its own shops.yaml and params/."""
    (tmp_path / "playbooks").symlink_to(REPO / "playbooks")
    (tmp_path / "data").mkdir()
    for name in ("sample", "reference"):
        (tmp_path / "data" / name).symlink_to(REPO / "data" / name)
    (tmp_path / "params").mkdir()
    (tmp_path / "shops.yaml").write_text(SHOPS, encoding="utf-8")
    monkeypatch.setenv("OPSBOOK_HOME", str(tmp_path))
    return tmp_path


def job(project, name: str, text: str) -> None:
    """Write params/<name>.yaml."""
    (project / "params" / f"{name}.yaml").write_text(text, encoding="utf-8")


def test_a_job_names_its_shop_and_each_run_records_it(project):
    job(project, "tmall_daily", "playbook: kpi_report\nshop: 天猫旗舰店\nschedule: '0 8 * * *'\n"
                                "parameters:\n  period: 日\n  report_date: '2026-06-29'\n")
    (found,) = jobs.all_jobs()
    assert found.parameters["shop"] == "天猫旗舰店"
    record = runner.run(found.notebook, found.parameters_on(dt.date.today()),
                        trigger="job", job=found.name)
    assert record.ok, record.error
    assert record.params["shop"] == "天猫旗舰店" and record.params["source"] == "data/sample"
    stored = json.loads((record.folder / "result.json").read_text(encoding="utf-8"))
    assert stored["params"]["shop"] == "天猫旗舰店"
    report = (record.folder / "report.html").read_text(encoding="utf-8")
    assert "店铺" in report and "天猫旗舰店" in report  # the report says which shop
    rerun = runner.run(record.playbook, record.params, trigger="rerun")  # a rerun's parameters hold both: fine
    assert rerun.ok and rerun.params["shop"] == "天猫旗舰店"


def test_a_shop_in_parameters_works_too_and_conflicts_are_named(project):
    job(project, "a", "playbook: user_tiering\nparameters:\n  shop: 天猫旗舰店\n")
    assert jobs.load(project / "params" / "a.yaml").parameters["shop"] == "天猫旗舰店"
    job(project, "b", "playbook: user_tiering\nshop: 天猫旗舰店\nparameters:\n  source: data/other\n")
    with pytest.raises(ParamError, match="同时指定了店铺 天猫旗舰店 和数据源 data/other"):
        jobs.load(project / "params" / "b.yaml")


def test_an_unknown_shop_is_refused_and_never_stops_the_other_jobs(project):
    job(project, "good", "playbook: user_tiering\nshop: 天猫旗舰店\n")
    job(project, "typo", "playbook: user_tiering\nshop: 天猫旗舰\n")
    found, problems = jobs.load_all()
    assert [j.name for j in found] == ["good"]
    assert problems == ["typo.yaml：店铺 '天猫旗舰' 不在shops.yaml中（已登记：天猫旗舰店）"]
    out = subprocess.run([sys.executable, "-m", "opsbook.ui.cli", "jobs", "check"], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "OPSBOOK_HOME": str(project)})
    assert out.returncode == 2 and "typo.yaml：店铺 '天猫旗舰' 不在shops.yaml中" in out.stderr, out.stderr
    assert "good.yaml" not in out.stderr


def test_a_job_whose_shops_yaml_is_wrong_says_so(project):
    (project / "shops.yaml").write_text("shops:\n  - {name: 天猫旗舰店, platform: TMALL, source: data/sample}\n",
                                        encoding="utf-8")
    job(project, "good", "playbook: user_tiering\nshop: 天猫旗舰店\n")
    with pytest.raises(ParamError, match=r"good.yaml：店铺登记 shops.yaml 有误.*platform 'TMALL' 不是有效平台"):
        jobs.all_jobs()
