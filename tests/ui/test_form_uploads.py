"""File parameters in a form, without a browser: the upload is saved inside the project under a safe name and its
path passed to the run; too big, empty or other kinds of files are refused in Chinese."""
from __future__ import annotations

import datetime as dt

import ipywidgets as w
import pytest

from opsbook import paths
from opsbook.errors import ParamError
from opsbook.ui.forms import run_form, widgets


@pytest.fixture(autouse=True)
def no_run_kernel(monkeypatch):
    """A changed field starts the page's run kernel: not in these tests, which run nothing."""
    monkeypatch.setattr(run_form.KERNEL, "want", lambda: None)
    monkeypatch.setattr(run_form.KERNEL, "touch", lambda: None)


def chosen(form, name: str, file_name: str, content: bytes) -> None:
    """What the browser does when staff pick a file in an upload field."""
    form.inputs[name].value = ({"name": file_name, "type": "text/csv", "size": len(content), "content": content,
                                "last_modified": dt.datetime(2026, 6, 1)},)


@pytest.mark.parametrize("name", ["product_evaluation", "listing_audit"])
def test_the_form_shows_an_upload_field_for_the_file_parameter(name):
    form = run_form.build(name)
    uploads = [p for p in form.spec.params.values() if p.type == "file"]
    assert len(uploads) == 1
    field = form.inputs[uploads[0].name]
    assert isinstance(field, w.FileUpload) and field.accept == ".xlsx,.xls,.csv" and not field.multiple
    form.widget()
    assert form.values()[uploads[0].name] == ""  # nothing chosen: no file


def test_a_chosen_file_is_saved_once_inside_the_project_and_its_path_validated():
    form = run_form.build("product_evaluation")
    chosen(form, "candidates_file", "../../etc/候选 清单.csv", b"a,b\n1,2\n")
    path = form.values()["candidates_file"]
    assert path.startswith(".opsbook/uploads/") and path.endswith("/候选_清单.csv") and ".." not in path
    assert (paths.root() / path).read_bytes() == b"a,b\n1,2\n"
    assert form.values()["candidates_file"] == path  # asked again: the same file, not a second copy
    assert form.spec.validate(form.values())["candidates_file"] == path


@pytest.mark.parametrize("file_name, content, message", [
    ("候选.exe", b"MZ", "不是 .xlsx、.xls、.csv 文件"),
    ("候选.csv", b"", "是空文件"),
])
def test_other_kinds_and_empty_files_are_refused(file_name, content, message):
    form = run_form.build("product_evaluation")
    chosen(form, "candidates_file", file_name, content)
    with pytest.raises(ParamError, match=message):
        form.values()


def test_a_file_over_the_limit_is_refused_with_its_size(monkeypatch):
    monkeypatch.setattr(widgets, "UPLOAD_LIMIT_MB", 1)
    with pytest.raises(ParamError, match=r"有 1\.5 MB，超过 1 MB 上限"):
        widgets.save_upload("候选.csv", b"x" * (3 << 19))


def test_the_click_shows_the_refusal_in_the_red_box_and_runs_nothing(monkeypatch):
    form = run_form.build("product_evaluation")
    chosen(form, "candidates_file", "候选.txt", b"x")
    ran = []
    monkeypatch.setattr(run_form._WORKER, "submit", lambda *a, **k: ran.append(a))
    form.on_click()
    assert "不是 .xlsx、.xls、.csv 文件" in form.message.value and not ran


@pytest.mark.parametrize("raw, safe", [("a/b/报名表.xlsx", "报名表.xlsx"), ("..", "上传文件"), ("..csv", "csv"),
                                       ("C:\\Users\\x\\表 (1).csv", "表_(1).csv"), ("<script>.csv", "_script_.csv")])
def test_safe_names(raw, safe):
    assert widgets.safe_name(raw) == safe
