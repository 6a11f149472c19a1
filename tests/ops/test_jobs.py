"""Job files in params/: checked against the playbook's spec, every problem at once."""
import datetime as dt
import time

import pytest

from opsbook import paths
from opsbook.ops import jobs
from opsbook.errors import ParamError
from opsbook.settings import TZ


def test_all_job_files_are_valid():
    found = jobs.all_jobs()
    assert {j.playbook for j in found} >= {"kpi_report", "campaign_review", "user_tiering", "demand_forecast"}
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


def test_a_job_file_names_a_playbook_never_a_path(tmp_path):
    (tmp_path / "evil.yaml").write_text("playbook: ../../evil\n", encoding="utf-8")
    with pytest.raises(ParamError, match="evil.yaml：剧本名称 '../../evil' 不对：应是 playbooks/ 中某个剧本的名字"):
        jobs.all_jobs(tmp_path)


def test_a_cron_that_never_fires_is_refused_and_never_crashes_the_others(tmp_path):
    (tmp_path / "never.yaml").write_text('playbook: kpi_report\nschedule: "0 0 31 2 *"\n', encoding="utf-8")
    (tmp_path / "daily.yaml").write_text('playbook: kpi_report\nschedule: "0 8 * * *"\n', encoding="utf-8")
    with pytest.raises(ParamError, match=r"schedule '0 0 31 2 \*' 永远不会触发"):
        jobs.all_jobs(tmp_path)
    good, bad = jobs.load_all(tmp_path)
    assert [j.name for j in good] == ["daily"] and len(bad) == 1
    never = jobs.Job("never", "kpi_report", schedule="0 0 31 2 *")  # as a Python caller might still build one
    assert never.next_slot(dt.datetime(2026, 1, 1, tzinfo=TZ)) is None and never.slots(
        dt.datetime(2026, 1, 1, tzinfo=TZ), dt.datetime(2027, 1, 1, tzinfo=TZ)) == []


def test_alias_bombs_and_huge_files_are_refused_at_once(tmp_path):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(9))
    (tmp_path / "bomb.yaml").write_text(bomb, encoding="utf-8")
    (tmp_path / "huge.yaml").write_text("playbook: kpi_report\ndescription: " + "x" * 30_000_000 + "\n", encoding="utf-8")
    started = time.process_time()
    with pytest.raises(ParamError) as info:
        jobs.all_jobs(tmp_path)
    text = "\n".join(info.value.problems)
    assert "bomb.yaml 使用了 YAML 别名" in text and "huge.yaml 太大" in text
    assert time.process_time() - started < 5  # nothing was expanded or read whole (9^10 items would take hours)
