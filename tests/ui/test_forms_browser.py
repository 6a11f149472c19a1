"""The voila forms in a real browser: change a parameter, run, see flags, report and downloads; errors in Chinese.

One voila server (started exactly as `opsbook serve` starts it) serves the module, with runs filed
under a temporary OPSBOOK_RUNS.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest

from opsbook import paths, spec
from opsbook.engine import runner
from opsbook.ops import audit, history
from opsbook.settings import FORM_KERNEL_IDLE_ENV
from opsbook.ui import serve

pytestmark = pytest.mark.browser

FIRST_RUN_MS = 60_000
PAGE_MS = 60_000
CHANGES = {"user_tiering": ("method", "quintile")}  # the change each playbook's test makes (else derived)
CHANGES["product_performance"] = ("platform", "TM")
CHANGES["inventory_watch"] = ("slow_days", 20)
CHANGES["supplier_review"] = ("period_months", 6)
KERNEL_IDLE = 8  # seconds a form page of the test server keeps its run kernel when quiet
PAGE_BYTES = 1_500_000  # a form page after a run, its report included (downloads embedded made one 2.5 MB)
EXCEPTION_NAME = re.compile(r"\b[A-Z][A-Za-z]*(Error|Exception|Interrupt|Exit)\b")
CHANGES["demand_forecast"] = ("horizon_weeks", 4)
CHANGES["promo_timeline"] = ("buffer", 0.2)
CHANGES["sop_execution"] = ("min_effect_rate", 0.05)
CHANGES["service_quality"] = ("period", "日")
CHANGES["content_funnel"] = ("roi_line", 2.5)
CHANGES["risk_watch"] = ("days", 3)
CHANGES["order_fulfilment"] = ("batch", "09:00")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    """Wait until `url` answers 200 (fail early if the server exits)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"voila exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"voila did not answer {url} within {timeout} s")


@contextlib.contextmanager
def voila(folder: Path, runs: Path, argv=lambda a: a, env: dict | None = None):
    """voila started exactly as `opsbook serve` starts it (`argv` may edit its arguments), on a free port."""
    serve.write_forms(folder)
    token = secrets.token_urlsafe(16)
    log = open(folder.parent / f"voila-{folder.name}.log", "wb")  # noqa: SIM115 - closed below
    for attempt in range(5):  # a port free a moment ago may be taken by the time voila binds it
        port = free_port()
        proc = subprocess.Popen(argv(serve.command(port, token, folder)), cwd=folder, stdout=log,
                                stderr=subprocess.STDOUT, env={**os.environ, "OPSBOOK_RUNS": str(runs), **(env or {})})
        try:
            wait_http(serve.url(port, token), proc)
            break
        except RuntimeError:  # it exited: try another port
            if attempt == 4:
                raise
    try:
        yield SimpleNamespace(port=port, token=token, runs=runs, log=Path(log.name), proc=proc,
                              page_url=lambda name: serve.url(port, token, f"voila/render/{name}.ipynb"))
    finally:
        serve.stop(proc)
        log.close()


@pytest.fixture(scope="module")
def forms_server(tmp_path_factory, artifacts):
    """voila on a free port, serving freshly written forms; runs go to a temporary OPSBOOK_RUNS.

    A form page's run kernel stops after KERNEL_IDLE quiet seconds (180 when served; short here, to see it go).
    """
    if not (paths.root() / "data" / "sample" / "orders.parquet").is_file():
        pytest.skip("data/sample is missing: run `opsbook sample` first")
    runs = artifacts / "forms"  # under the session's artifacts, so the phone scan covers form runs too
    with voila(tmp_path_factory.mktemp("forms"), runs, env={FORM_KERNEL_IDLE_ENV: str(KERNEL_IDLE)}) as server:
        yield server


@pytest.fixture
def page(chromium):
    """A fresh browser page that accepts downloads (its kernel is shut down when the context closes)."""
    context = chromium.new_context(accept_downloads=True, viewport={"width": 1280, "height": 1000})
    tab = context.new_page()
    yield tab
    tab.close(run_before_unload=True)  # voila's close-tab beacon shuts the page's kernel down
    context.close()


def open_form(page, server, name: str) -> None:
    """Open a playbook's form (the address `opsbook serve` prints for it); wait for 运行.

    One reload is allowed: voila's page JavaScript occasionally fails to start on a loaded machine. A form
    that is really broken fails both times.
    """
    page.goto(server.page_url(name))
    try:
        page.wait_for_selector("button.ob-run", state="visible", timeout=PAGE_MS // 2)
    except Exception:  # noqa: BLE001 - playwright's TimeoutError: reload once
        page.goto(server.page_url(name))
        page.wait_for_selector("button.ob-run", state="visible", timeout=PAGE_MS)


def test_home_page_lists_every_form_in_chinese(forms_server, page):
    page.goto(serve.url(forms_server.port, forms_server.token))
    page.wait_for_selector("main .card", timeout=PAGE_MS)
    body = page.inner_text("main")
    for name in spec.available():
        assert spec.load(name).title in body, name
    for _, _, title in serve.PAGES.values():
        assert title in body
    assert ".ipynb" not in body  # not voila's English file list
    links = {a.get_attribute("href") for a in page.locator("main a").all()}
    assert "/voila/render/user_tiering.ipynb" in links
    page.click("text=用户分层 RFM")
    page.wait_for_selector("button.ob-run", state="visible", timeout=PAGE_MS)


def change_for(name: str) -> tuple[str, object]:
    """The parameter the test changes and its new value: first choice → another option, else a number."""
    if name in CHANGES:
        return CHANGES[name]
    params = list(spec.load(name).params.values())
    for p in params:
        if p.type == "choice" and len(p.choices) > 1:
            return p.name, next(c for c in p.choices[1:] + p.choices[:1] if c != p.default)
    for p in params:
        if p.type == "int":
            return p.name, p.default + 1 if p.max is None or p.default + 1 <= p.max else p.default - 1
        if p.type == "float":
            value = round(p.default * 1.2 if p.default else 0.5, 6)
            return p.name, value if p.max is None or value <= p.max else round((p.default + p.min) / 2, 6)
    pytest.skip(f"{name} has no choice or number parameter to change")


def set_value(page, name: str, p, value) -> None:
    """Set one parameter in the browser the way staff would."""
    hook = f".ob-param-{name}"
    if p.type == "choice":
        page.select_option(f"{hook} select", label=str(value))
    else:
        field = page.locator(f"{hook} input")
        field.fill(str(value))
        field.press("Tab")


def run_id_from(page) -> str:
    """The run id the status line shows after a run."""
    match = re.search(r"运行编号 (\S+)", page.inner_text(".ob-status"))
    assert match, page.inner_text(".ob-status")
    return match.group(1)


@pytest.mark.parametrize("name", spec.available())
def test_form_run_shows_flags_report_and_downloads(forms_server, page, name, tmp_path):
    param, value = change_for(name)
    p = spec.load(name).params[param]
    open_form(page, forms_server, name)
    set_value(page, param, p, value)
    page.click("button.ob-run")
    page.wait_for_selector(".ob-report iframe", state="visible", timeout=FIRST_RUN_MS)
    page.wait_for_selector(".ob-flags .ob-sev", state="visible", timeout=10_000)
    assert page.locator(".ob-flags .ob-sev").count() >= 1
    assert "Traceback" not in page.content()
    assert page.locator("button.ob-run").is_enabled()

    run_id = run_id_from(page)
    assert page.locator(".ob-downloads a[href^='data:']").count() == 0
    assert len(page.content().encode()) < PAGE_BYTES, "downloads must be links to files, not embedded in the page"
    link = page.locator(".ob-downloads a[download$='.xlsx']").first
    with page.expect_download(timeout=30_000) as info:
        link.click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    assert saved.read_bytes() == (forms_server.runs / name / run_id / link.get_attribute("download")).read_bytes()
    import openpyxl
    sheet = openpyxl.load_workbook(saved, read_only=True).active
    assert sheet.max_row >= 2, f"{saved.name} has no data rows"

    result = json.loads((forms_server.runs / name / run_id / "result.json").read_text(encoding="utf-8"))
    assert result["status"] == "ok" and result["trigger"] == "form"
    assert result["user"] == "本机"  # token mode: the one person at this machine
    recorded = result["params"][param]
    assert recorded == pytest.approx(value) if isinstance(value, float) else recorded == value


def test_form_errors_are_chinese_and_never_tracebacks(forms_server, page):
    name = "user_tiering"
    if name not in spec.available():
        pytest.skip(f"{name} not present")
    open_form(page, forms_server, name)
    before = sorted((forms_server.runs / name).glob("2*")) if (forms_server.runs / name).is_dir() else []
    source = page.locator(".ob-param-source input")
    source.fill("")
    source.press("Tab")
    page.click("button.ob-run")
    box = page.wait_for_selector(".ob-message .ob-error-box", state="visible", timeout=30_000)
    assert "不能为空" in box.inner_text() and "数据源" in box.inner_text()
    after = sorted((forms_server.runs / name).glob("2*")) if (forms_server.runs / name).is_dir() else []
    assert after == before, "a run was filed although the parameters were invalid"

    source.fill("/nope")
    source.press("Tab")
    page.click("button.ob-run")
    page.wait_for_function("() => (document.querySelector('.ob-message .ob-error-box') || {}).innerText"
                           "?.includes('/nope')", timeout=FIRST_RUN_MS)
    text = page.inner_text(".ob-message")
    assert "运行失败" in text and "数据" in text and "运行记录" in text and "运行编号" in text
    assert str(forms_server.runs) not in text, "the box names a server folder"
    assert page.locator(".ob-report iframe").count() == 0
    page.wait_for_selector(".ob-downloads a[download$='.html']", state="attached", timeout=10_000)
    assert page.locator(".ob-downloads a[download$='.html']").count() == 1  # the failed run's report, as a link
    assert "Traceback" not in page.inner_text("body") and "Traceback" not in page.content()
    assert page.locator("button.ob-run").is_enabled()


def cli_problems(playbook: str, param: str, value: str) -> list[str]:
    """The problem lines `opsbook run` prints for one parameter value (exit 2, nothing run)."""
    out = subprocess.run([sys.executable, "-m", "opsbook.ui.cli", "run", playbook, "-p", f"{param}={value}"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stdout + out.stderr
    problems = [ln.strip().removeprefix("- ") for ln in out.stderr.splitlines() if ln.strip().startswith("- ")]
    assert problems, out.stderr
    return problems


@pytest.mark.parametrize(("name", "param", "value"), [("campaign_review", "min_roi", "9999"),
                                                      ("campaign_review", "min_roi", "-5"),
                                                      ("kpi_report", "history", "0")])
def test_out_of_range_numbers_are_refused_with_the_cli_message(forms_server, page, name, param, value):
    """A bounded number widget clamped these in the browser (9999 → 20 raised false 高 flags): refuse, never clamp."""
    open_form(page, forms_server, name)
    before = sorted((forms_server.runs / name).glob("2*")) if (forms_server.runs / name).is_dir() else []
    field = page.locator(f".ob-param-{param} input")
    field.fill(value)
    field.press("Tab")
    assert field.input_value() == value
    page.click("button.ob-run")
    box = page.wait_for_selector(".ob-message .ob-error-box", state="visible", timeout=30_000).inner_text()
    for problem in cli_problems(name, param, value):
        assert problem in box
    after = sorted((forms_server.runs / name).glob("2*")) if (forms_server.runs / name).is_dir() else []
    assert after == before, "a run was filed although the value is out of range"


def test_an_impossible_date_is_refused_as_not_a_valid_date(forms_server, page):
    name = "kpi_report"
    date_param = next(p for p in spec.load(name).params.values() if p.type == "date")
    open_form(page, forms_server, name)
    field = page.locator(f".ob-param-{date_param.name} input")
    # 02/30 in Chromium's mm/dd/yyyy field, day first: typed month first, Chromium knows February has no 30th and
    # takes the 3 as the day (02/03). An impossible date is kept as typed, and the field reports no value.
    for _attempt in range(3):  # key by key on a busy machine: a keystroke may land before the field has moved on
        field.evaluate("e => { e.value = ''; }")
        field.focus()  # the month
        page.keyboard.press("ArrowRight")
        page.keyboard.type("30", delay=80)  # the day, then on to the year
        page.keyboard.press("ArrowLeft")
        page.keyboard.press("ArrowLeft")
        page.keyboard.type("02", delay=80)
        if field.evaluate("e => e.validity.badInput"):
            break
    assert field.evaluate("e => e.validity.badInput"), "the browser did not keep the impossible date"
    page.keyboard.press("Tab")
    page.click("button.ob-run")
    box = page.wait_for_selector(".ob-message .ob-error-box", state="visible", timeout=30_000).inner_text()
    assert f"{date_param.name}（{date_param.label}）不是有效日期" in box and "None" not in box


def test_error_boxes_show_no_server_paths_or_exception_names(forms_server, page):
    """An unexpected failure (the runs folder of a playbook is a file) showed `NotADirectoryError: … /tmp/…`."""
    name = "campaign_review"
    folder = forms_server.runs / name
    aside = forms_server.runs / f".{name}-aside"
    if folder.exists():
        folder.rename(aside)
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.write_text("not a folder")
    try:
        open_form(page, forms_server, name)
        page.click("button.ob-run")
        box = page.wait_for_selector(".ob-message .ob-error-box", state="visible", timeout=FIRST_RUN_MS).inner_text()
    finally:
        folder.unlink()
        if aside.exists():
            aside.rename(folder)
    assert "运行失败" in box and "系统内部错误" in box
    assert not EXCEPTION_NAME.search(box), box
    assert "/" not in box and str(forms_server.runs) not in box, box
    assert "Traceback" not in page.content()


def page_kernel(server, page) -> psutil.Process:
    """The kernel process of an open form page (voila names its connection file after the kernel id)."""
    kernel_id = page.evaluate("JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId")
    for proc in psutil.Process(server.proc.pid).children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if any(kernel_id in part for part in proc.cmdline()):
                return proc
    raise AssertionError(f"no process for kernel {kernel_id}")


def kernels_under(proc: psutil.Process) -> list[psutil.Process]:
    """Kernel processes started by `proc` (a page's kernel starts the papermill kernel of its runs)."""
    found = []
    for child in proc.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if "ipykernel" in " ".join(child.cmdline()):
                found.append(child)
    return found


def wait_until(condition, timeout: float, what: str) -> float:
    """Seconds until `condition()` held; fails naming `what` after `timeout` seconds."""
    t0 = time.monotonic()
    while not condition():
        if time.monotonic() - t0 > timeout:
            pytest.fail(f"{what}: not within {timeout:g} s")
        time.sleep(0.5)
    return time.monotonic() - t0


def test_an_open_page_holds_one_kernel_and_a_run_kernel_only_while_used(forms_server, page):
    """The page used to pre-start a papermill kernel (270 MB) beside its own (240 MB) and keep it until culled."""
    name = "user_tiering"
    open_form(page, forms_server, name)
    kernel = page_kernel(forms_server, page)
    time.sleep(5)  # the old page started its run kernel right after it was shown
    assert kernels_under(kernel) == [], "an idle form page holds a second kernel"
    assert kernel.memory_info().rss < 150 * 2**20, "an idle form page imports what only a run needs"
    field = page.locator(".ob-param-recall_days input")
    field.fill("31")  # staff start filling in the form: the run kernel starts
    field.press("Tab")
    wait_until(lambda: len(kernels_under(kernel)) == 1, 60, "a changed parameter starts the run kernel")
    page.click("button.ob-run")
    page.wait_for_selector(".ob-report iframe", state="visible", timeout=FIRST_RUN_MS)
    wait_until(lambda: kernels_under(kernel) == [], KERNEL_IDLE + 30, "the run kernel stops once the page is quiet")
    assert kernel.is_running()


def test_a_closed_tab_frees_its_kernel(forms_server, chromium):
    """voila's close-tab beacon needs the _xsrf cookie, which direct links (what `opsbook serve` prints) never got."""
    context = chromium.new_context()  # no cookie: the page is opened from its direct link, not from the list
    try:
        tab = context.new_page()
        open_form(tab, forms_server, "user_tiering")
        kernel = page_kernel(forms_server, tab)
        tab.close(run_before_unload=True)
        seconds = wait_until(lambda: not kernel.is_running() or kernel.status() == psutil.STATUS_ZOMBIE, 60,
                             "the closed tab's kernel is shut down")
    finally:
        context.close()
    assert seconds < 60


def test_run_files_are_served_by_name_to_the_token_holder_only(forms_server, tmp_path):
    good = runner.run("kpi_report", {"period": "日", "report_date": "2026-06-29"}, out=forms_server.runs)
    assert good.ok
    name = next(n for names in good.tables.values() for n in names)
    base = f"{serve.DOWNLOADS}/kpi_report/{good.run_id}"

    def get(path: str, token: str | None = forms_server.token) -> tuple[int, bytes]:
        url = f"http://127.0.0.1:{forms_server.port}/{path}" + (f"?token={token}" if token is not None else "")
        try:
            with urllib.request.urlopen(url, timeout=30) as resp:
                return (resp.status if "/login" not in resp.url else 302), resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, b""
    status, body = get(f"{base}/{urllib.parse.quote(name)}")
    assert status == 200 and body == (good.folder / name).read_bytes()
    assert get(f"{base}/report.html")[1] == good.report.read_bytes()
    assert get(f"{base}/{urllib.parse.quote(name)}", token=None)[0] != 200  # no token, no cookie: the login page
    assert get(f"{base}/{urllib.parse.quote(name)}", token="wrong")[0] != 200
    secret = (good.folder / "executed.ipynb").read_bytes()
    for crafted in (f"{base}/executed.ipynb", f"{base}/result.json", f"{base}/..%2F..%2Findex.jsonl",
                    f"{base}/../../../playbooks/kpi_report.ipynb", f"{serve.DOWNLOADS}/..%2F..%2Flib/x/__init__.py",
                    f"{serve.DOWNLOADS}/kpi_report/..%2F{good.run_id}/{urllib.parse.quote(name)}",
                    f"{serve.DOWNLOADS}/kpi_report/{good.run_id}%2F..%2F{good.run_id}/{urllib.parse.quote(name)}",
                    f"{base}/%2Fetc%2Fpasswd"):
        status, body = get(crafted)
        assert status == 404 and body != secret, f"{crafted} answered {status}"
    trail = [e for e in audit.events(action="download") if good.run_id in e["target"]]
    assert [e["target"] for e in trail] == [f"kpi_report/{good.run_id}/report.html", f"kpi_report/{good.run_id}/{name}"]
    assert all(e["who"] == "本机" and e["address"] == "127.0.0.1" for e in trail)  # refused requests are not downloads


def test_history_page_opens_after_the_server_was_idle_past_the_cell_timeout(tmp_path, chromium):
    """A pre-heated 运行记录 page waited for its request inside a cell and failed with "Cell execution timed out"."""
    def short_cells(argv: list[str]) -> list[str]:
        return [a if not a.startswith("--VoilaExecutor.timeout=") else "--VoilaExecutor.timeout=4" for a in argv]
    runner.run("kpi_report", {"period": "日", "report_date": "2026-06-29"}, out=tmp_path / "runs", job="kpi_daily")
    with voila(tmp_path / "forms", tmp_path / "runs", argv=short_cells) as server:
        time.sleep(8)  # idle past the (shortened) cell timeout
        context = chromium.new_context()
        try:
            tab = context.new_page()
            tab.goto(server.page_url(serve.HISTORY_FORM))
            tab.wait_for_selector("iframe.ob-history-frame, .jp-OutputArea-output pre", state="attached",
                                  timeout=PAGE_MS)
            assert tab.locator("iframe.ob-history-frame").count() == 1, tab.inner_text("body")
            assert "timed out" not in tab.inner_text("body")
            tab.close(run_before_unload=True)
        finally:
            context.close()


@pytest.mark.parametrize("path", ["voila/files/../lib/opsbook/__init__.py", "files/lib/opsbook/__init__.py",
                                  "voila/files/user_tiering.ipynb", "voila/render/../../playbooks/user_tiering.ipynb",
                                  "api/contents", "tree", "voila/files/../data/sample/orders.parquet"])
def test_server_exposes_forms_only(forms_server, path):
    try:
        with urllib.request.urlopen(serve.url(forms_server.port, forms_server.token, path), timeout=10) as resp:
            body = resp.read()
            status = resp.status
    except urllib.error.HTTPError as exc:
        status, body = exc.code, b""
    assert status != 200 or (b"opsbook" not in body and b"PAR1" not in body), f"{path} answered {status}"


def test_server_needs_its_token(forms_server):
    for token in ("", "?token=wrong"):
        url = f"http://127.0.0.1:{forms_server.port}/voila/render/user_tiering.ipynb{token}"
        with urllib.request.urlopen(url, timeout=30) as resp:
            assert "/login" in resp.url and b"ob-run" not in resp.read()


def test_history_page_lists_runs_and_opens_a_report(forms_server, page):
    good = runner.run("kpi_report", {"period": "日", "report_date": "2026-06-29"}, out=forms_server.runs, job="kpi_daily")
    bad = runner.run("kpi_report", {"source": "/nonexistent/shop"}, out=forms_server.runs, job="kpi_daily")
    assert good.ok and bad.exit_code == 2
    page.goto(forms_server.page_url(serve.HISTORY_FORM))
    page.wait_for_selector("iframe.ob-history-frame", state="attached", timeout=PAGE_MS)
    frame = page.frame_locator("iframe.ob-history-frame")
    assert frame.locator(f"tr[data-run='{good.run_id}'] .st-ok").inner_text() == "成功"
    assert "找不到数据目录" in frame.locator(f"tr[data-run='{bad.run_id}']").inner_text()
    page.locator(".ob-param-status select").select_option(label="成功")
    page.wait_for_function("() => !document.querySelector('.ob-history-frame').srcdoc.includes('data-status=\"failed\"')",
                           timeout=30_000)
    page.locator(".ob-param-run select").select_option(index=0)  # newest first: the good run made above
    page.click("button.ob-open")
    page.wait_for_selector(".ob-detail iframe.ob-report-frame", state="attached", timeout=30_000)
    assert "核心数据" in page.frame_locator(".ob-detail iframe.ob-report-frame").locator("h1").first.inner_text()
    assert "Traceback" not in page.content()


def test_static_history_page_renders_and_filters(chromium, tmp_path):
    out = tmp_path / "runs"
    history.follow()  # what the CLI, the scheduler and the forms do: the page follows every filed run
    good = runner.run("kpi_report", {"period": "日", "report_date": "2026-06-29"}, out=out, job="kpi_daily")
    runner.run("kpi_report", {"source": "/nonexistent/shop"}, out=out, job="kpi_daily")
    page = chromium.new_page()
    try:
        page.goto((out / "index.html").as_uri())
        assert page.locator("tr.ob-run").count() == 2 and page.locator("h1").inner_text() == "运行记录"
        assert page.locator("tr.ob-run[data-status='failed'] .st-failed").inner_text().startswith("失败")
        page.fill("#ob-filter", "成功")
        assert page.locator("tr.ob-run:visible").count() == 1
        page.fill("#ob-filter", "")
        page.click(f"tr[data-run='{good.run_id}'] a")
        page.wait_for_load_state()
        assert page.url.endswith(f"{good.run_id}/report.html") and "核心数据" in page.locator("h1").first.inner_text()
    finally:
        page.close()


UPLOADED_CANDIDATES = ("候选ID,商品名称,类目,月搜索量,搜索指数环比增长,成本价,预计售价,合作月数,资质齐全\n"
                       "XP-88,上传测试保温杯,家居,120000,12%,20,69,24,是\n")


def choose_file(page, param: str, path: Path) -> None:
    """Pick a file in a form's upload field the way staff do (the field opens a file chooser)."""
    with page.expect_file_chooser(timeout=30_000) as chooser:
        page.click(f".ob-param-{param}")
    chooser.value.set_files(str(path))
    page.wait_for_selector(f".ob-file-{param}:has-text('{path.name}')", timeout=30_000)


def test_a_candidates_list_uploaded_in_the_form_is_evaluated(forms_server, page, tmp_path):
    name = "product_evaluation"
    sheet = tmp_path / "候选清单.csv"
    sheet.write_text(UPLOADED_CANDIDATES, encoding="utf-8-sig")
    open_form(page, forms_server, name)
    choose_file(page, "candidates_file", sheet)
    page.click("button.ob-run")
    page.wait_for_selector(".ob-report iframe", state="visible", timeout=FIRST_RUN_MS)
    evaluated = page.frame_locator(".ob-report iframe").locator("table.ob-table").first.inner_text()
    assert "XP-88" in evaluated and "上传测试保温杯" in evaluated and "引入" in evaluated
    assert "XP-01" not in evaluated  # the uploaded list, not the source's candidates
    result = json.loads((forms_server.runs / name / run_id_from(page) / "result.json").read_text(encoding="utf-8"))
    assert result["status"] == "ok" and result["params"]["candidates_file"].startswith(".opsbook/uploads/")
    assert result["params"]["candidates_file"].endswith("/候选清单.csv")
    assert result["metrics"]["recommendations"] == {"XP-88": "引入"}


def test_a_file_over_the_upload_limit_is_refused_in_chinese(forms_server, page, tmp_path):
    """A file above tornado's 10 MiB websocket default reaches the kernel (which refuses it), not a dead page."""
    from opsbook.ui.forms.widgets import UPLOAD_LIMIT_MB
    name = "listing_audit"
    big = tmp_path / "报名表.csv"
    big.write_bytes(b"x" * ((UPLOAD_LIMIT_MB << 20) + (1 << 20)))
    before = sorted((forms_server.runs / name).glob("2*")) if (forms_server.runs / name).is_dir() else []
    open_form(page, forms_server, name)
    choose_file(page, "registration_file", big)
    page.click("button.ob-run")
    box = page.wait_for_selector(".ob-message .ob-error-box", state="visible", timeout=60_000).inner_text()
    assert f"超过 {UPLOAD_LIMIT_MB} MB 上限" in box and "报名表.csv" in box
    after = sorted((forms_server.runs / name).glob("2*")) if (forms_server.runs / name).is_dir() else []
    assert after == before, "a run was filed although the file was refused"
