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


def tracked(pattern: str) -> list[Path]:
    """Files git tracks (runs/, .venv/ and other ignored output are not the repository's)."""
    import subprocess
    out = subprocess.run(["git", "ls-files", "-z", pattern], cwd=ROOT, capture_output=True, text=True, check=True)
    return [ROOT / name for name in out.stdout.split("\0") if name]


def test_no_notebook_outputs_anywhere():
    notebooks = tracked("*.ipynb")
    assert {p.name for p in PLAYBOOKS} <= {p.name for p in notebooks}
    for path in notebooks:
        assert not any(c.get("outputs") for c in cells(path) if c["cell_type"] == "code"), path


def test_notebooks_are_committed_as_nbstripout_writes_them(tmp_path):
    """A fresh clone with the filter installed (make setup) shows no notebook as modified."""
    import subprocess
    import sys
    for path in PLAYBOOKS:
        cleaned = subprocess.run([sys.executable, "-m", "nbstripout", "-t"], input=path.read_bytes(),
                                 capture_output=True, check=True).stdout
        assert cleaned == path.read_bytes(), f"{path.name}: run `nbstripout {path}` and commit it"


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


# -- the package's layers ------------------------------------------------------------------------------------------
PACKAGE = ROOT / "lib" / "opsbook"
# bottom to top: a module imports only modules of its own layer and of the layers below it (inside functions too)
LAYERS = [
    ("leaves", ("opsbook", "opsbook.errors", "opsbook.paths", "opsbook.settings", "opsbook.jsonsafe")),
    ("data", ("opsbook.data",)),
    ("notebook API", ("opsbook.spec", "opsbook.sources", "opsbook.report", "opsbook.charts", "opsbook.flags")),
    ("sops", ("opsbook.sops",)),
    ("run context", ("opsbook.playbook",)),
    ("engine", ("opsbook.engine",)),
    ("ops", ("opsbook.ops",)),
    ("ui", ("opsbook.ui",)),
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports(name: str, code: str, known, package: bool = False) -> set[str]:
    """opsbook modules that module `name` imports anywhere in `code`, functions included.

    `from pkg import sub` is an edge to the submodule `pkg.sub`; `from pkg import name` one to `pkg` (its __init__),
    also when `pkg` is the importing module's own package: that is a cycle Python cannot import.
    """
    home = name if package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = home.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([node.module] if node.module else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> tuple[dict[str, Path], dict[str, set[str]]]:
    known = modules()
    return known, {name: imports(name, path.read_text(encoding="utf-8"), known, path.name == "__init__.py")
                   for name, path in known.items()}


def layer_of(name: str) -> int:
    ranks = [(len(prefix), rank) for rank, (_, prefixes) in enumerate(LAYERS) for prefix in prefixes
             if name == prefix or (prefix != "opsbook" and name.startswith(prefix + "."))]
    assert ranks, f"{name} belongs to no layer: add it to LAYERS in tests/test_conventions.py and to the README"
    return max(ranks)[1]


def test_every_module_imports_only_its_layer_and_those_below():
    known, graph = import_graph()
    problems = [f"{known[name].relative_to(ROOT)} ({LAYERS[layer_of(name)][0]}) imports "
                f"{known[target].relative_to(ROOT)} ({LAYERS[layer_of(target)][0]})"
                for name in sorted(graph) for target in sorted(graph[name]) if layer_of(target) > layer_of(name)]
    assert not problems, "layer violations:\n" + "\n".join(problems)


def cycles_in(graph: dict[str, set[str]]) -> list[list[str]]:
    """Import cycles of a graph, each as the modules around it (the first repeated at the end)."""
    found, state = [], {}

    def visit(name, trail):
        state[name] = "open"
        for target in sorted(graph.get(name, ())):
            if state.get(target) == "open":
                found.append(trail[trail.index(target):] + [target])
            elif target not in state:
                visit(target, trail + [target])
        state[name] = "done"
    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    return found


def test_no_import_cycles():
    known, graph = import_graph()
    cycles = cycles_in(graph)
    assert not cycles, "import cycles:\n" + "\n".join(
        " → ".join(str(known[m].relative_to(ROOT)) for m in cycle) for cycle in cycles)


def test_the_checks_see_imports_inside_functions_and_cycles():
    """What the two checks would catch: an upward import hidden in a function, and a cycle through it."""
    known = {"opsbook", "opsbook.data", "opsbook.data.tables", "opsbook.engine", "opsbook.engine.runner",
             "opsbook.sources"}
    hidden = "import pandas\n\ndef f():\n    from ..engine import runner\n    from .. import sources\n"
    edges = imports("opsbook.data.tables", hidden, known)
    assert edges == {"opsbook.engine.runner", "opsbook.sources"}
    assert all(layer_of(target) > layer_of("opsbook.data.tables") for target in edges)
    back = imports("opsbook.engine.runner", "from ..data.tables import SCHEMAS", known)
    assert cycles_in({"opsbook.data.tables": edges, "opsbook.engine.runner": back}) == [
        ["opsbook.data.tables", "opsbook.engine.runner", "opsbook.data.tables"]]
    # a package __init__ importing a submodule that takes a name back from the package
    package = imports("opsbook.data", "from . import tables", known, package=True)
    name_back = imports("opsbook.data.tables", "from . import Report", known)
    assert package == {"opsbook.data.tables"} and name_back == {"opsbook.data"}
    assert cycles_in({"opsbook.data": package, "opsbook.data.tables": name_back})
    with pytest.raises(AssertionError, match="belongs to no layer"):
        layer_of("opsbook.newthing")


# -- playbook modules ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", PLAYBOOKS, ids=lambda p: p.stem)
def test_each_playbook_has_its_module_with_the_interface(path):
    module = PACKAGE / "sops" / f"{path.stem}.py"
    assert module.is_file(), f"playbooks/{path.name} needs lib/opsbook/sops/{path.stem}.py"
    body = ast.parse(module.read_text(encoding="utf-8")).body
    top = {n.name for n in body if isinstance(n, ast.FunctionDef)}
    assigned = {t.id for n in body if isinstance(n, (ast.Assign, ast.AnnAssign))
                for t in (n.targets if isinstance(n, ast.Assign) else [n.target]) if isinstance(t, ast.Name)}
    assert "findings" in top and "LABELS" in assigned, "a playbook module defines LABELS and findings(...)"
    imported = {a.name for c in cells(path) if c["cell_type"] == "code" for n in ast.walk(ast.parse(source(c)))
                if isinstance(n, ast.ImportFrom) and n.module == "opsbook.sops" for a in n.names}
    assert path.stem in imported, f"the notebook imports its module: from opsbook.sops import {path.stem}"


def test_nothing_outside_sops_names_a_playbook():
    """Registries are derived from sops/: a new playbook touches only its notebook, its module, tests and params/."""
    names = {p.stem for p in PLAYBOOKS}
    found = []
    for name, path in modules().items():
        if name.startswith("opsbook.sops") or name == "opsbook.data.sample_ops":  # the demo shop's data may name one
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            text = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else \
                node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None
            if text in names:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {text}")
    assert not found, found


def test_ci_makes_browser_and_postgres_tests_fail_instead_of_skip():
    """Without these, a CI machine missing Chromium or PostgreSQL would skip those tests and pass."""
    ci = (ROOT / ".ci" / "run").read_text()
    exported = {name for line in re.findall(r"^export (.+)$", ci[:ci.index("\nmake test")], re.M) for name in line.split()}
    assert {"OPSBOOK_REQUIRE_BROWSER=1", "OPSBOOK_REQUIRE_POSTGRES=1"} <= exported
