"""Shared pytest fixtures."""
from __future__ import annotations

import os
import shutil

import pytest
from hypothesis import settings

# no per-example deadline: speed is measured by `make bench`, never asserted by a test (a busy CI machine is slow)
settings.register_profile("opsbook", deadline=None)
settings.load_profile("opsbook")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium driven by Playwright (one browser per test session); skips if either is missing."""
    if not shutil.which(CHROMIUM):
        if os.environ.get("OPSBOOK_REQUIRE_BROWSER") == "1":  # CI: a missing browser is a failure, not a skip
            pytest.fail(f"{CHROMIUM} is required (OPSBOOK_REQUIRE_BROWSER=1): apt-get install chromium")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    from playwright import sync_api
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


# --- the tests' own project home, runs and personal-data scan --------------------------------
import re  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).parents[1]
# The tests' project: the repository's playbooks, job files and reference data, everything they write kept out of the
# repository (data/sample.duckdb, .opsbook/ secrets and caches). Set before any kernel starts, so kernels see it too.
HOME = Path(tempfile.mkdtemp(prefix="opsbook-test-home-"))
for _name in ("playbooks", "params"):
    (HOME / _name).symlink_to(REPO / _name)
(HOME / "data").mkdir()
for _name in ("sample", "reference"):
    (HOME / "data" / _name).symlink_to(REPO / "data" / _name)
os.environ["OPSBOOK_HOME"] = str(HOME)
# Every run the tests make is filed under here (each test in its own folder), then scanned for phones.
ARTIFACTS = Path(tempfile.mkdtemp(prefix="opsbook-test-runs-"))
os.environ["OPSBOOK_RUNS"] = str(ARTIFACTS / "session")


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where every run made by the tests is filed (the phone scan reads all of it)."""
    return ARTIFACTS


@pytest.fixture(autouse=True)
def runs_root(request, monkeypatch) -> Path:
    """This test's own runs folder (OPSBOOK_RUNS, also for the processes it starts): no test reads another's runs."""
    folder = ARTIFACTS / re.sub(r"\W+", "_", request.node.nodeid)[-150:]
    monkeypatch.setenv("OPSBOOK_RUNS", str(folder))
    return folder


def pytest_sessionfinish(session, exitstatus):
    """Fail the session if any artifact the tests produced holds an unmasked phone number."""
    from opsbook.data import privacy
    from opsbook.data.scan import scan_tree
    leaks = scan_tree(ARTIFACTS) + scan_tree(REPO / "data" / "sample")
    if leaks:
        session.exitstatus = 1
        print("\n未脱敏的手机号出现在测试产物中：")
        for path, phones in leaks[:20]:
            print(f"  {path}: {', '.join(privacy.mask_phone(p) for p in phones[:3])}")
    elif session.exitstatus == 0:
        shutil.rmtree(ARTIFACTS, ignore_errors=True)  # kept when something failed, for a look
        shutil.rmtree(HOME, ignore_errors=True)


def read_lines(stream, count: int, timeout: float = 60) -> list[str]:
    """The next `count` lines of a child's output, failing (not hanging) if they do not come within `timeout` s."""
    import queue
    import threading
    found: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [found.put(stream.readline()) for _ in range(count)], daemon=True).start()
    lines = []
    for _ in range(count):
        try:
            lines.append(found.get(timeout=timeout))
        except queue.Empty:
            pytest.fail(f"no output within {timeout} s (got {lines})")
    return lines


@pytest.fixture(scope="session")
def lines_of():
    """`read_lines` for tests: read a child's output lines with a time limit."""
    return read_lines


@pytest.fixture
def shop(tmp_path):
    """Make a copy of the sample shop without some tables or columns, or with one table edited; returns its folder."""
    import pandas as pd
    from opsbook import paths

    made = []

    def make(drop_tables=(), drop_columns=None, edit=None) -> str:
        folder = tmp_path if not made else tmp_path / f"shop{len(made) + 1}"  # each call its own copy
        folder.mkdir(exist_ok=True)
        made.append(folder)
        for path in paths.resolve("data/sample").glob("*.parquet"):
            if path.stem not in drop_tables:
                shutil.copy(path, folder / path.name)
        for table, cols in (drop_columns or {}).items():
            pd.read_parquet(folder / f"{table}.parquet").drop(columns=cols).to_parquet(folder / f"{table}.parquet")
        if edit:
            table, fn = edit
            fn(pd.read_parquet(folder / f"{table}.parquet")).to_parquet(folder / f"{table}.parquet")
        return str(folder)
    return make


def strict_json(path: Path):
    """A JSON file parsed strictly: NaN or Infinity in it fails the test."""
    import json
    return json.loads(path.read_text(encoding="utf-8"), parse_constant=lambda c: pytest.fail(f"{c} in {path}"))


@pytest.fixture(scope="session")
def read_strict_json():
    """`strict_json` for tests: parse a JSON file, failing on NaN or Infinity."""
    return strict_json


@pytest.fixture(scope="session", autouse=True)
def sample_duckdb():
    """data/sample.duckdb (the sample shop as a DuckDB file, used by a job) exists and is current."""
    from opsbook import paths, sources
    target, folder = paths.root() / "data" / "sample.duckdb", paths.root() / "data" / "sample"
    newest = max(p.stat().st_mtime for p in folder.glob("*.parquet"))
    if not target.is_file() or target.stat().st_mtime < newest:
        sources.to_duckdb(sources.open_source(str(folder)), target)
    return target


# --- a throwaway PostgreSQL server -----------------------------------------------------------
import glob  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402


def _postgres_bindir() -> Path | None:
    """Folder holding initdb and pg_ctl: `pg_config --bindir`, else the newest /usr/lib/postgresql/<n>/bin."""
    found = [subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip()] \
        if shutil.which("pg_config") else []
    found += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True,
                    key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0)
    return next((Path(d) for d in found if d and (Path(d) / "initdb").is_file()), None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url():
    """URL of a throwaway PostgreSQL server on 127.0.0.1 (own data folder, random port), stopped after the session.

    Trust authentication: the URL holds no password, so none ends up in the run records of playbook runs.
    PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user.
    """
    bindir = _postgres_bindir()
    if bindir is None:
        if os.environ.get("OPSBOOK_REQUIRE_POSTGRES") == "1":  # CI: a missing server is a failure, not a skip
            pytest.fail("PostgreSQL is required (OPSBOOK_REQUIRE_POSTGRES=1): apt-get install postgresql")
        pytest.skip("PostgreSQL not installed (apt-get install postgresql)")
    started = time.perf_counter()
    home = Path(tempfile.mkdtemp(prefix="opsbook-pg-"))
    as_server = []
    if os.geteuid() == 0:
        shutil.chown(home, "postgres")
        as_server = ["runuser", "-u", "postgres", "--"]
    port, data = _free_port(), home / "data"

    def pg(*args):
        subprocess.run(as_server + [str(bindir / args[0]), *args[1:]], cwd=home, check=True, capture_output=True)

    pg("initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync",
       "--no-instructions")
    for attempt in range(5):  # a port free a moment ago may be taken by the time the server binds it
        try:
            pg("pg_ctl", "-D", data, "-l", home / "server.log", "-w", "-o",
               f"-k {home} -h 127.0.0.1 -p {port} -c fsync=off -c full_page_writes=off", "start")
            break
        except subprocess.CalledProcessError:
            if attempt == 4:
                raise
            port = _free_port()
    try:
        pg("createdb", "-h", home, "-p", str(port), "-U", "postgres", "opsbook")
        url = f"postgresql://postgres@127.0.0.1:{port}/opsbook"
        print(f"\nPostgreSQL test server ready in {time.perf_counter() - started:.1f} s: {url}")
        yield url
    finally:
        pg("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(home, ignore_errors=True)


# --- a playbook that raises the flags it is given (follow-up tasks) --------------------------
FLAG_PROBE_CODE = """
import json, pathlib
import pandas as pd
import opsbook.playbook
from opsbook import flags
run = opsbook.playbook.begin(pathlib.Path(NOTEBOOK), globals())
raised = json.loads(run.p.raised)
run.add([flags.make(f["code"], f["severity"], f["owner"], f["message"], pd.DataFrame(f["rows"]) if f.get("rows") else None)
         for f in raised])
run.finish()
"""


@pytest.fixture
def flag_probe(tmp_path):
    """A tiny playbook `probe` (a notebook path) whose parameter `raised` is a JSON list of the flags it raises:
    {code, severity, owner, message, rows}; returns the notebook's path."""
    import nbformat
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "probe.ipynb"
    nb.cells = [nbformat.v4.new_markdown_cell("# 探针 (probe)\n测试用剧本。\n\n- **适用角色**：运营"),
                nbformat.v4.new_code_cell('raised: str = "[]"  # 提示（JSON 列表）', metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(FLAG_PROBE_CODE.replace("NOTEBOOK", repr(str(path))))]
    nbformat.write(nb, path)
    return str(path)
