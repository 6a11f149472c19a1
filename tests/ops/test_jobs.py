"""Job files in params/: checked against the playbook's spec, every problem at once."""
import pytest

from opsbook import paths
from opsbook.ops import jobs
from opsbook.errors import ParamError


def test_all_job_files_are_valid():
    found = jobs.all_jobs()
    assert {j.playbook for j in found} == {"kpi_report", "campaign_review", "user_tiering"}
    assert all(j.schedule for j in found)


def test_bad_job_file_lists_every_problem(tmp_path):
    (tmp_path / "bad.yaml").write_text("playbook: user_tiering\ncolour: red\nparameters:\n  method: median\n"
                                       "  as_of: 2025-02-30\n  bogus: 1\n", encoding="utf-8")
    with pytest.raises(ParamError) as info:
        jobs.all_jobs(tmp_path)
    text = "\n".join(info.value.problems)
    assert "未知的键 colour" in text and "只能取 mean / quintile" in text and "未知参数 bogus" in text
    assert "2025-02-30" in text


@pytest.mark.parametrize("content, message", [
    ("playbook: [unclosed", "不是有效的 YAML"),
    ("- a\n- b\n", "顶层应为"),
    ("parameters: {}\n", "缺少 playbook"),
    ("playbook: nope\n", "没有名为 nope 的剧本"),
])
def test_malformed_job_files(tmp_path, content, message):
    path = tmp_path / "x.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ParamError, match=message):
        jobs.load(path)


def test_params_file_accepts_job_or_mapping(tmp_path):
    assert jobs.parameters_from_file(paths.root() / "params" / "kpi_weekly.yaml")["period"] == "周"
    (tmp_path / "p.yaml").write_text("method: quintile\n", encoding="utf-8")
    assert jobs.parameters_from_file(tmp_path / "p.yaml") == {"method": "quintile"}
