"""House rules for playbooks and the repository, checked on every test run."""
import ast
import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parents[1]
PLAYBOOKS = sorted((ROOT / "playbooks").glob("*.ipynb"))


def cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def source(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def test_there_are_playbooks():
    assert {p.stem for p in PLAYBOOKS} >= {"kpi_report", "campaign_review", "user_tiering"}


@pytest.mark.parametrize("path", PLAYBOOKS, ids=lambda p: p.stem)
def test_playbook_anatomy(path):
    nb = cells(path)
    first = source(nb[0])
    assert nb[0]["cell_type"] == "markdown" and first.startswith("# ")
    assert re.match(rf"# .+ \({path.stem}\)$", first.splitlines()[0]), "H1 must be '# 中文标题 (file_name)'"
    for heading in ("适用角色", "运行时机", "输入", "输出"):
        assert heading in first
    tagged = [c for c in nb if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1
    code = [c for c in nb if c["cell_type"] == "code"]
    assert len(code) <= 15
    begin = code[code.index(tagged[0]) + 1]
    assert f'opsbook.playbook.begin("{path.stem}", globals())' in source(begin)
    assert "run.finish()" in source(code[-1])
    for c in code:
        tree = ast.parse(source(c))
        assert not any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda))
                       for n in ast.walk(tree)), "functions and classes belong in lib/opsbook"
        assert not c.get("outputs") and c.get("execution_count") is None, "strip outputs (nbstripout)"


def test_no_notebook_outputs_anywhere():
    for path in ROOT.rglob("*.ipynb"):
        if ".venv" in path.parts or ".opsbook" in path.parts or ".ipynb_checkpoints" in path.parts:
            continue
        assert not any(c.get("outputs") for c in cells(path) if c["cell_type"] == "code"), path


def test_gitignore_keeps_lib_and_ignores_runs():
    lines = (ROOT / ".gitignore").read_text().split()
    assert not any(re.fullmatch(r"/?lib/?", line) for line in lines)
    assert "runs/" in lines and ".env" in lines


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python="))
    assert python == "python=3.11" and ">=3.11" in project["requires-python"]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    extras = re.fullmatch(r"-e \.\[(.+)\]", pip[0]).group(1).split(",")
    assert set(extras) == set(project["optional-dependencies"])


def test_ci_runs_the_readme_test_command():
    readme, ci = (ROOT / "README.md").read_text(), (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and re.search(r"^make test$", ci, re.M)


def test_lib_functions_have_docstrings():
    missing = []
    for path in (ROOT / "lib" / "opsbook").rglob("*.py"):
        module = ast.parse(path.read_text(encoding="utf-8"))
        members = [n for c in module.body if isinstance(c, ast.ClassDef) for n in c.body]
        for node in module.body + members:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_") \
                    and not ast.get_docstring(node):
                missing.append(f"{path.name}:{node.name}")
    assert not missing, missing
