"""Parameter spec: parsing the parameters cell and strict validation."""
import datetime as dt
import re

import pytest

from opsbook import spec
from opsbook.errors import ParamError

CELL = '''
source: str = "data/sample"  # 数据源：目录或文件
as_of: date = "2025-06-30"  # 参考日期：基准日
method: Literal["mean", "quintile"] = "mean"  # 分层方法：说明
recall_days: int = 30  # 召回天数：说明 [7, 180]
min_roi: float = 1.5  # ROI 警戒线 [0.1, 20]
dry: bool = False  # 试运行
'''


def make_spec():
    return spec.Spec("demo", None, "演示", "", "", spec.parse_parameters(CELL))


def test_parse_types_labels_bounds():
    params = spec.parse_parameters(CELL)
    assert [p.type for p in params.values()] == ["str", "date", "choice", "int", "float", "bool"]
    assert params["as_of"].default == dt.date(2025, 6, 30)
    assert params["method"].choices == ("mean", "quintile")
    assert params["recall_days"].label == "召回天数" and params["recall_days"].help == "说明"
    assert (params["recall_days"].min, params["recall_days"].max) == (7, 180)
    assert params["min_roi"].label == "ROI 警戒线" and params["min_roi"].max == 20
    assert params["dry"].default is False


def test_validate_coerces_text_values():
    values = make_spec().validate({"as_of": "2025-01-31", "recall_days": "45", "min_roi": "2", "dry": "true"})
    assert values["as_of"] == dt.date(2025, 1, 31)
    assert values["recall_days"] == 45 and values["min_roi"] == 2.0 and values["dry"] is True
    assert values["method"] == "mean"


def test_validate_reports_every_problem_in_chinese():
    with pytest.raises(ParamError) as info:
        make_spec().validate({"as_of": "2025-02-30", "method": "median", "recall_days": "500", "min_roi": "abc",
                              "colour": "red", "dry": "maybe"})
    problems = "\n".join(info.value.problems)
    assert len(info.value.problems) == 6
    assert "未知参数 colour" in problems
    assert "YYYY-MM-DD" in problems and "2025-02-30" in problems
    assert "只能取 mean / quintile" in problems
    assert "应在 7 到 180 之间" in problems
    assert "应为数字" in problems and "应为 true 或 false" in problems
    assert info.value.exit_code == 2


@pytest.mark.parametrize("raw", [True, 1.5, "1.5", "", "3e"])
def test_int_rejects_non_integers(raw):
    with pytest.raises(ParamError):
        make_spec().validate({"recall_days": raw})


def test_float_rejects_nan_and_bool():
    for raw in ("nan", True):
        with pytest.raises(ParamError):
            make_spec().validate({"min_roi": raw})


@pytest.mark.parametrize("line, reason", [
    ("x = 1", "only `name: type = literal"), ("x: list = []", "unsupported parameter type 'list'"),
    ("x: int = compute()", "malformed node"), ("print('hi')", "only `name: type = literal"),
])
def test_parameters_cell_must_be_annotated_literals(line, reason):
    with pytest.raises(ValueError, match=re.escape(reason)):
        spec.parse_parameters(line)


def test_data_source_parameters_are_never_empty_and_never_hold_a_password():
    source = spec.parse_parameters('source: DataSource = "data/sample"  # 数据源：目录或文件')["source"]
    assert source.type == "source" and "PostgreSQL" in source.describe()
    demo = spec.Spec("demo", None, "演示", "", "", {"source": source})
    assert demo.validate({"source": "postgresql://ops@db/shop?schema=ops"})["source"] == "postgresql://ops@db/shop?schema=ops"
    for bad, reason in (("  ", "不能为空"), ("postgresql://ops:hunter2@db/shop", "含有密码"),
                        ("postgresql://ops@db/shop?password=hunter2", "含有密码")):
        with pytest.raises(ParamError, match=reason) as info:
            demo.validate({"source": bad})
        assert "hunter2" not in info.value.message
    assert make_spec().validate({"source": ""})["source"] == ""  # a plain text parameter may be empty


def test_every_playbook_has_a_valid_spec():
    names = spec.available()
    assert {"kpi_report", "campaign_review", "user_tiering"} <= set(names)
    for name in names:
        s = spec.load(name)
        assert s.title and s.roles, name
        assert s.params["source"].type == "source" and s.params["source"].default == "data/sample"
        assert all(p.label for p in s.params.values())
        s.validate({})


def test_unknown_playbook_is_a_param_error():
    with pytest.raises(ParamError, match="没有名为 nope 的剧本"):
        spec.load("nope")
