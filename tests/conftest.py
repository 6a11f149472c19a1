"""Shared pytest fixtures."""
from __future__ import annotations

import os
import shutil

import pytest

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


# --- runs and personal-data scan -------------------------------------------------------------
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

# Every run the tests make is filed here (set before any kernel starts), then scanned for phones.
ARTIFACTS = Path(tempfile.mkdtemp(prefix="opsbook-test-runs-"))
os.environ["OPSBOOK_RUNS"] = str(ARTIFACTS)


@pytest.fixture(scope="session")
def runs_root() -> Path:
    """Where runs made by the tests are filed (OPSBOOK_RUNS)."""
    return ARTIFACTS


def pytest_sessionfinish(session, exitstatus):
    """Fail the session if any artifact the tests produced holds an unmasked phone number."""
    from opsbook import privacy
    from opsbook.scan import scan_tree
    leaks = scan_tree(ARTIFACTS) + scan_tree(Path(__file__).parents[1] / "data" / "sample")
    if leaks:
        session.exitstatus = 1
        print("\n未脱敏的手机号出现在测试产物中：")
        for path, phones in leaks[:20]:
            print(f"  {path}: {', '.join(privacy.mask_phone(p) for p in phones[:3])}")
    elif session.exitstatus == 0:
        shutil.rmtree(ARTIFACTS, ignore_errors=True)  # kept when something failed, for a look


@pytest.fixture(scope="session", autouse=True)
def sample_duckdb():
    """data/sample.duckdb (the sample shop as a DuckDB file, used by a job) exists and is current."""
    from opsbook import paths, sources
    target, folder = paths.root() / "data" / "sample.duckdb", paths.root() / "data" / "sample"
    newest = max(p.stat().st_mtime for p in folder.glob("*.parquet"))
    if not target.is_file() or target.stat().st_mtime < newest:
        sources.to_duckdb(sources.open_source(str(folder)), target)
    return target
