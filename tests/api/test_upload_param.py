"""UploadFile parameters: a file inside the project by its relative path, never anything outside it."""
import os

import pytest

from opsbook import paths, spec
from opsbook.errors import ParamError

CELL = 'sheet: UploadFile = ""  # 报名表：上传的文件\n'


@pytest.fixture
def demo():
    return spec.Spec("demo", None, "演示", "", "", spec.parse_parameters(CELL))


@pytest.fixture
def inside():
    folder = paths.root() / "uploads-spec"
    folder.mkdir(exist_ok=True)
    (folder / "报名表.csv").write_text("a,b\n", encoding="utf-8")
    yield folder
    for p in folder.iterdir():
        p.unlink()
    folder.rmdir()


def test_an_upload_parameter_is_a_file_type_that_may_be_empty(demo):
    p = demo.params["sheet"]
    assert p.type == "file" and p.default == "" and p.label == "报名表" and ".xlsx/.xls/.csv" in p.describe()
    assert demo.validate({})["sheet"] == "" and demo.validate({"sheet": "  "})["sheet"] == ""


def test_a_file_inside_the_project_is_taken_by_its_relative_path(demo, inside):
    assert demo.validate({"sheet": "uploads-spec/报名表.csv"})["sheet"] == "uploads-spec/报名表.csv"
    assert demo.validate({"sheet": "./uploads-spec//报名表.csv"})["sheet"] == "uploads-spec/报名表.csv"
    assert demo.validate({"sheet": "uploads-spec\\报名表.csv"})["sheet"] == "uploads-spec/报名表.csv"


@pytest.mark.parametrize("value, message", [
    ("../x.csv", "不能含有“..”"), ("uploads-spec/../../x.csv", "不能含有“..”"),
    ("/etc/passwd.csv", "应为项目目录内文件的相对路径"), ("C:/data/x.csv", "应为项目目录内文件的相对路径"),
    ("~/x.csv", "应为项目目录内文件的相对路径"), ("uploads-spec/报名表.txt", "只接受 .xlsx、.xls、.csv 文件"),
    ("uploads-spec/nope.csv", "找不到文件 uploads-spec/nope.csv"), (12, "应为文件路径"),
])
def test_anything_else_is_refused_in_chinese(demo, inside, value, message):
    with pytest.raises(ParamError) as info:
        demo.validate({"sheet": value})
    assert message in info.value.message and "sheet（报名表）" in info.value.message


def test_a_link_leading_out_of_the_project_is_refused(demo, inside, tmp_path):
    outside = tmp_path / "secret.csv"
    outside.write_text("x\n", encoding="utf-8")
    os.symlink(outside, inside / "link.csv")
    with pytest.raises(ParamError, match="指向项目目录之外"):
        demo.validate({"sheet": "uploads-spec/link.csv"})
