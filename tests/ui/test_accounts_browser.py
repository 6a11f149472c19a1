"""Accounts on the forms server, in a real browser: login, logout, wrong password, lockout, roles, disabled users.

One voila server started exactly as `opsbook serve --accounts` starts it, on its own project home (symlinks to the
repository's playbooks and data) so that its accounts file is the test's own.
"""
from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import re
import shutil
import ssl
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

from opsbook.engine import runner
from opsbook.ops import accounts
from opsbook.ui import serve

from test_forms_browser import PAGE_MS, FIRST_RUN_MS, free_port, wait_http  # noqa: F401 - same server helpers

pytestmark = pytest.mark.browser

REPO = Path(__file__).parents[2]
LOCKOUT_SECONDS = 6
PASSWORDS = {"李强": "yunying-123", "王芳": "kefu-4567", "赵敏": "zhuguan-89", "陈静": "tingyong-12"}
ROLES = {"李强": ["运营"], "王芳": ["客服"], "赵敏": ["主管"], "陈静": ["运营"]}


@contextlib.contextmanager
def project_home(tmp: Path):
    """A project home of its own (the repository's playbooks, job files and data), set as OPSBOOK_HOME."""
    for name in ("playbooks", "params"):
        (tmp / name).symlink_to(REPO / name)
    (tmp / "data").mkdir()
    for name in ("sample", "reference"):
        (tmp / "data" / name).symlink_to(REPO / "data" / name)
    with project_home_env(tmp):
        yield tmp


@pytest.fixture(scope="module")
def accounts_server(tmp_path_factory, artifacts):
    """`opsbook serve --accounts` on a free port, with four accounts (one of them later disabled)."""
    home = tmp_path_factory.mktemp("accounts-home")
    with project_home(home):
        for name, roles in ROLES.items():
            accounts.add(name, roles, PASSWORDS[name])
        folder = home / ".opsbook" / "forms"
        serve.write_forms(folder)
        runs = artifacts / "accounts"
        log = open(home / "voila.log", "wb")  # noqa: SIM115 - closed below
        port = free_port()
        proc = subprocess.Popen(serve.command(port, "", folder, with_accounts=True), cwd=folder, stdout=log,
                                stderr=subprocess.STDOUT,
                                env={**os.environ, "OPSBOOK_RUNS": str(runs), "OPSBOOK_HOME": str(home),
                                     "OPSBOOK_LOCKOUT_SECONDS": str(LOCKOUT_SECONDS)})
        try:
            wait_http(f"http://127.0.0.1:{port}/login", proc)
            yield SimpleNamespace(port=port, home=home, runs=runs, log=Path(log.name),
                                  url=lambda path="": f"http://127.0.0.1:{port}/{path}")
        finally:
            serve.stop(proc)
            log.close()


@pytest.fixture
def tab(chromium):
    """A fresh browser context (no cookies) and page."""
    context = chromium.new_context(accept_downloads=True, viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    yield page
    page.close(run_before_unload=True)
    context.close()


def login(page, server, name: str, password: str | None = None, then: str = "") -> None:
    """Fill the login page (reached by opening `then`) and submit it."""
    page.goto(server.url(then))
    page.wait_for_selector("#username", timeout=PAGE_MS)
    page.fill("#username", name)
    page.fill("#password", PASSWORDS.get(name, "") if password is None else password)
    page.click("#login")
    page.wait_for_load_state("domcontentloaded")


def test_login_shows_the_users_forms_grouped_by_role_and_logout_ends_the_session(accounts_server, tab):
    tab.goto(accounts_server.url())
    assert "/login" in tab.url and "登录" in tab.inner_text("h2")
    login(tab, accounts_server, "李强")
    assert tab.url.rstrip("/") == accounts_server.url().rstrip("/"), tab.url
    body = tab.inner_text("main")
    assert "运营" in tab.inner_text("h3") and "用户分层 RFM" in body and "运行记录" in body
    assert "供应商分级" not in body and "数据导入" not in body  # 采购's form, 管理员's page
    assert ".ipynb" not in body  # not voila's English file list
    cookie = next(c for c in tab.context.cookies() if c["name"].startswith("username-"))
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    tab.click("#logout")
    tab.wait_for_selector("#message", timeout=PAGE_MS)
    assert "已退出登录" in tab.inner_text("#message")
    tab.goto(accounts_server.url())
    assert "/login" in tab.url


def test_a_wrong_password_is_refused_in_chinese(accounts_server, tab):
    login(tab, accounts_server, "王芳", "not-her-password")
    assert "账号或密码不正确" in tab.inner_text("#message")
    login(tab, accounts_server, "无此人", "whatever-123")
    assert "账号或密码不正确" in tab.inner_text("#message")
    assert not any(c["name"].startswith("username-") for c in tab.context.cookies())


def test_repeated_failures_lock_the_name_for_a_while(accounts_server, tab):
    for _ in range(5):
        login(tab, accounts_server, "赵敏", "guess-guess")
    login(tab, accounts_server, "赵敏")  # the right password, but locked now
    assert "已暂时锁定" in tab.inner_text("#message")
    time.sleep(LOCKOUT_SECONDS + 1)
    login(tab, accounts_server, "赵敏")
    assert "/login" not in tab.url and "赵敏" in tab.inner_text("header")


def test_a_role_may_not_open_another_roles_form_nor_its_files(accounts_server, tab):
    good = runner.run("kpi_report", {"period": "日", "report_date": "2026-06-29"}, out=accounts_server.runs)
    login(tab, accounts_server, "王芳", then="voila/render/user_tiering.ipynb")
    response = tab.goto(accounts_server.url("voila/render/user_tiering.ipynb"))
    assert response.status == 403
    assert "不能打开「用户分层 RFM」" in tab.inner_text("#message") and "运营" in tab.inner_text("#message")
    response = tab.goto(accounts_server.url(f"{serve.DOWNLOADS}/kpi_report/{good.run_id}/report.html"))
    assert response.status == 404 and "不存在" in tab.inner_text("#message")
    response = tab.goto(accounts_server.url(f"voila/render/{serve.IMPORT_FORM}.ipynb"))
    assert response.status == 403


def test_a_disabled_users_session_ends(accounts_server, tab):
    login(tab, accounts_server, "陈静")
    assert "陈静" in tab.inner_text("header")
    with project_home_env(accounts_server.home):
        accounts.disable("陈静")
    tab.goto(accounts_server.url())
    assert "/login" in tab.url
    login(tab, accounts_server, "陈静")
    assert "账号或密码不正确" in tab.inner_text("#message")


def test_a_form_page_knows_its_user_and_runs_for_them(accounts_server, tab):
    login(tab, accounts_server, "李强", then="voila/render/kpi_report.ipynb")
    tab.wait_for_selector("button.ob-run", state="visible", timeout=PAGE_MS)
    assert tab.inner_text(".ob-user") == "李强"
    tab.click("button.ob-run")
    tab.wait_for_selector(".ob-report iframe", state="visible", timeout=FIRST_RUN_MS)
    run_id = re.search(r"运行编号 (\S+)", tab.inner_text(".ob-status")).group(1)
    result = json.loads(next(accounts_server.runs.rglob(f"{run_id}/result.json")).read_text(encoding="utf-8"))
    assert result["status"] == "ok" and result["user"] == "李强" and result["address"] == "127.0.0.1"


def test_logins_failures_lockouts_and_logouts_are_in_the_audit_log(accounts_server, tab):
    login(tab, accounts_server, "李强", "wrong-password")
    login(tab, accounts_server, "李强")
    tab.click("#logout")
    tab.wait_for_selector("#message", timeout=PAGE_MS)
    from opsbook.ops import audit
    with project_home_env(accounts_server.home):
        seen = [(e["action"], e["who"], e["address"]) for e in audit.events(user="李强")]
    assert ("login_failed", "李强", "127.0.0.1") in seen and ("login", "李强", "127.0.0.1") in seen
    assert ("logout", "李强", "127.0.0.1") in seen
    assert [a for a, _, _ in seen].index("logout") < [a for a, _, _ in seen].index("login")  # newest first


@contextlib.contextmanager
def project_home_env(home: Path):
    """OPSBOOK_HOME set to `home` for a moment (the server's project: its accounts and audit log)."""
    before = os.environ.get("OPSBOOK_HOME")
    os.environ["OPSBOOK_HOME"] = str(home)
    try:
        yield
    finally:
        os.environ["OPSBOOK_HOME"] = before or ""


def test_the_browser_cannot_execute_code_in_a_page_kernel(accounts_server, tab, tmp_path):
    login(tab, accounts_server, "李强", then="voila/render/kpi_report.ipynb")
    tab.wait_for_selector("button.ob-run", state="visible", timeout=PAGE_MS)
    kernel = re.search(r'"kernelId":\s*"([0-9a-f-]{36})"', tab.content()) or \
        re.search(r"kernels/([0-9a-f-]{36})", tab.content())
    assert kernel, "the page names its kernel"
    target = tmp_path / "pwned"
    sent = tab.evaluate("""([kernel, code]) => new Promise(resolve => {
        const ws = new WebSocket(`ws://${location.host}/api/kernels/${kernel}/channels`);
        ws.onopen = () => {
            const id = Math.random().toString(16).slice(2);
            ws.send(JSON.stringify({channel: 'shell', header: {msg_id: id, msg_type: 'execute_request',
                session: id, username: '', version: '5.3', date: new Date().toISOString()},
                parent_header: {}, metadata: {}, buffers: [],
                content: {code, silent: false, store_history: false, user_expressions: {}, allow_stdin: false}}));
            setTimeout(() => { ws.close(); resolve(true); }, 3000);
        };
        ws.onerror = () => resolve(false);
    })""", [kernel.group(1), f"open({str(target)!r}, 'w').write('x')"])
    assert sent, "the page's own kernel websocket opens"
    time.sleep(2)
    assert not target.exists(), "an execute request from the browser ran in the kernel"


def test_the_login_form_needs_its_xsrf_token(accounts_server):
    data = urllib.parse.urlencode({"username": "李强", "password": PASSWORDS["李强"]}).encode()
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(accounts_server.url("login"), data=data, timeout=30)
    assert refused.value.code == 403


def test_https_serves_the_login_page_and_a_secure_cookie(tmp_path):
    """`--certfile/--keyfile`: voila 0.5 has no TLS of its own; `FormsApp.listen` adds it."""
    if not shutil.which("openssl"):
        pytest.skip("openssl not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    home = tmp_path / "home"
    home.mkdir()
    with project_home(home):
        accounts.add("admin", ["管理员"], "admin-pass-1")
    folder = home / ".opsbook" / "forms"
    serve.write_forms(folder)
    port = free_port()
    proc = subprocess.Popen(serve.command(port, "", folder, with_accounts=True, certfile=str(cert), keyfile=str(key)),
                            cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "OPSBOOK_HOME": str(home)})
    try:
        context = ssl.create_default_context(cafile=str(cert))
        context.check_hostname = False
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context),
                                             urllib.request.HTTPCookieProcessor(jar))
        start = time.monotonic()
        while True:
            try:
                page = opener.open(f"https://127.0.0.1:{port}/login", timeout=10).read().decode()
                break
            except OSError:
                if time.monotonic() - start > 60 or proc.poll() is not None:
                    raise
                time.sleep(0.5)
        assert "登录" in page
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page).group(1)
        data = urllib.parse.urlencode({"_xsrf": xsrf, "username": "admin", "password": "admin-pass-1"}).encode()
        home_page = opener.open(f"https://127.0.0.1:{port}/login", data=data, timeout=30).read().decode()
        assert "admin" in home_page and "供应商分级" in home_page  # 管理员 sees every form
        login_cookie = next(c for c in jar if c.name.startswith("username-"))
        assert login_cookie.secure and login_cookie.has_nonstandard_attr("HttpOnly")
        with pytest.raises(OSError):  # plain http on the https port gets nothing
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=10).read()
    finally:
        serve.stop(proc)


def test_a_task_is_shown_to_its_owner_role_only_and_closed_under_the_account(accounts_server, chromium, flag_probe):
    import datetime as dt
    from opsbook.ops import jobs, schedule, tasks
    from opsbook.ops.state import State
    from opsbook.settings import TZ
    flag = {"code": "probe.recall", "severity": "high", "owner": "运营", "message": "3 位高价值客户待召回",
            "rows": [{"customer": "C001"}]}
    before = os.environ.get("OPSBOOK_RUNS")
    os.environ["OPSBOOK_RUNS"] = str(accounts_server.runs)  # the server's runs: its scheduler state and tasks
    try:
        state = State()
        slot = dt.datetime.now(TZ).replace(second=0, microsecond=0)
        job = jobs.Job("probe_daily", flag_probe, {"raised": json.dumps([flag], ensure_ascii=False)},
                       f"{slot.minute} {slot.hour} * * *")
        schedule.Scheduler([job], state=state, clock=lambda: slot - dt.timedelta(minutes=1), echo=print).tick()
        assert schedule.Scheduler([job], state=state, clock=lambda: slot, echo=print).run_once() == 0
        (task,) = tasks.select(state)
        pages = chromium.new_context(viewport={"width": 1280, "height": 1000})
        try:
            page = pages.new_page()
            login(page, accounts_server, "王芳", then=f"voila/render/{serve.TASKS_FORM}.ipynb")  # 客服
            page.wait_for_selector("text=我的待办", timeout=PAGE_MS)
            page.wait_for_timeout(3000)
            assert page.locator(f".ob-task-{task.id}").count() == 0
            page.goto(accounts_server.url("logout"))
            login(page, accounts_server, "李强", then=f"voila/render/{serve.TASKS_FORM}.ipynb")  # 运营
            card = page.locator(f".ob-task-{task.id}")
            card.wait_for(timeout=PAGE_MS)
            card.locator(".ob-task-status select").select_option(label="已完成")
            card.locator(".ob-task-note input").fill("已电话回访三位客户")
            card.locator("button.ob-task-save").click()
            page.wait_for_selector(".ob-task-saved", timeout=PAGE_MS)
        finally:
            pages.close()
        closed = tasks.get(task.id, state)
        assert closed.status == "已完成" and closed.closed_by == "李强"
    finally:
        os.environ["OPSBOOK_RUNS"] = before or ""


def http_session(server, name: str):
    """A urllib opener logged in as `name` (cookies kept), and the login page's XSRF value."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    page = opener.open(server.url("login"), timeout=30).read().decode()
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"_xsrf": xsrf, "username": name, "password": PASSWORDS.get(name, "x" * 9)}).encode()
    try:
        opener.open(server.url("login"), data=data, timeout=30)
    except urllib.error.HTTPError as exc:
        assert exc.code in (302, 401), exc.code
    return opener, xsrf


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Keep redirects as answers (their Location is what the test looks at)."""

    def redirect_request(self, *args, **kwargs):
        return None


def status_of(opener, url: str) -> tuple[int, str]:
    """(status, Location) of a GET."""
    try:
        with opener.open(url, timeout=60) as resp:
            return resp.status, resp.headers.get("Location", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Location", "")


@pytest.mark.parametrize("target", ["/%09/evil.example", "//evil.example", "/%0a/evil.example", "https://evil.example/",
                                    "/\\evil.example", "javascript:alert(1)"])
def test_after_login_only_paths_on_this_server_are_followed(accounts_server, target):
    opener, _ = http_session(accounts_server, "李强")
    status, location = status_of(opener, accounts_server.url(f"login?next={target}"))
    assert status == 302 and location == "/", (target, location)
    status, location = status_of(opener, accounts_server.url("login?next=/voila/render/kpi_report.ipynb"))
    assert location == "/voila/render/kpi_report.ipynb"


def test_a_form_of_another_role_stays_closed_under_any_spelling_and_the_file_list_too(accounts_server):
    opener, _ = http_session(accounts_server, "王芳")
    for path in ("voila/render/user_tiering.ipyn%62", "voila/render/user_tiering.IPYNB", "voila/render/%75ser_tiering.ipynb",
                 f"voila/render/{serve.IMPORT_FORM}.ipyn%62"):
        assert status_of(opener, accounts_server.url(path))[0] == 403, path
    assert status_of(opener, accounts_server.url("voila/api/contents"))[0] == 403


def test_a_name_that_cannot_be_an_account_is_refused_without_a_trace(accounts_server):
    from opsbook.ops import audit
    http_session(accounts_server, "x" * 5000)
    with project_home_env(accounts_server.home):
        assert not [e for e in audit.events(action="login_failed") if len(e["who"]) > 100]

