"""`opsbook serve`: the playbook forms, served by voila on 127.0.0.1 with a token, or with accounts and roles for a team
(`check_mode`: any other host needs accounts and TLS or a local HTTPS proxy; logins are `ui/auth.py`).

voila serves one generated folder (`<root>/.opsbook/forms/`, ignored by git) that holds only a tiny
form notebook per playbook, so no file of lib/, data/ or runs/ is reachable through the server; the
tables and reports of filed runs are downloaded through `opsbook/runs/<playbook>/<run_id>/<file>`
(`voila_app.RunFileHandler`: names only, the files a run lists). Option names are those of voila 0.5
(`voila/app.py`, `voila/configuration.py`) and jupyter_server's `MappingKernelManager` (culling).

Kernels and memory. An open page holds one kernel: the page's own, light (ipywidgets and the spec; pandas,
papermill and the runner are imported at the first run). The papermill kernel a run needs is started when a
parameter changes or 运行 is clicked and shut down after `run_form.KERNEL_IDLE` quiet seconds. voila's
pre-heated kernels are off: a pool is one idle kernel per form page (17 with 15 playbooks), a pre-rendered page
goes stale, and a pooled 运行记录 page waiting for its request hit the cell timeout ("Cell execution timed
out") after two idle minutes; a light page starts in about as long as voila takes to send it.
A closed tab frees its kernel at once: voila's close-tab beacon posts the `_xsrf` cookie, which
`voila_app` makes every page set (voila 0.5 sets it on the list page only, so direct links never freed
theirs). A page left open and untouched for `CULL_IDLE` seconds is culled (its kernel shut down; the
page says to reload); a running form refreshes its status every `run_form.TICK` seconds, so a long run
is never culled.
"""
from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import webbrowser
from pathlib import Path
from urllib.parse import quote

from .. import paths, spec
from ..errors import ParamError
from ..settings import HOME_ENV

HOST = "127.0.0.1"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
CELL_TIMEOUT = 120       # seconds a form notebook cell may take while the page is rendered
CULL_IDLE = 600          # seconds without any message to or from a page's kernel before it is shut down
CULL_INTERVAL = 60       # how often voila looks for idle kernels: an idle page is freed within 10-11 minutes
READY_TIMEOUT = 60       # seconds to wait for voila to answer at start-up
IMPORT_FORM = "data_import"  # the 数据导入 page, served beside the playbook forms
HISTORY_FORM = "run_history"  # the 运行记录 page: runs, their flags and reports
TASKS_FORM = "my_tasks"  # the 我的待办 page: follow-up tasks of the user's roles
DOWNLOADS = "opsbook/runs"    # URL prefix of run files: <prefix>/<playbook>/<run_id>/<file name>
FORMS = "opsbook.ui.forms"
APP = "opsbook.ui.voila_app"  # the voila application that `command` starts
AUTH = "opsbook.ui.auth"      # accounts mode: its identity provider and authorizer
# page name: (module in opsbook.ui.forms, the function that displays it, title); playbook pages use run_form.form
PAGES = {IMPORT_FORM: ("import_form", "import_form", "数据导入"),
         HISTORY_FORM: ("history_form", "history_form", "运行记录")}
PAGES[TASKS_FORM] = ("tasks_form", "tasks_form", "我的待办")


def forms_dir() -> Path:
    """The generated folder voila serves (inside `.opsbook/`, which git ignores)."""
    return paths.private() / "forms"


def form_notebook(name: str) -> dict:
    """The nbformat-4 JSON of the one-cell form notebook of a playbook (or of the 数据导入 form)."""
    if name in PAGES:
        module, function, _ = PAGES[name]
        source = f"from {FORMS}.{module} import {function}\n{function}()"
    else:
        source = f"from {FORMS}.run_form import form\nform({name!r})"
    return {
        "cells": [{"cell_type": "code", "execution_count": None, "id": "form", "metadata": {}, "outputs": [],
                   "source": source}],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                     "language_info": {"name": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }


def write_forms(folder: str | Path | None = None) -> list[Path]:
    """Write one form notebook per playbook, plus 数据导入 and 运行记录, into `folder` (removing stale ones)."""
    folder = Path(folder) if folder else forms_dir()
    folder.mkdir(parents=True, exist_ok=True)
    names = spec.available() + list(PAGES)
    for old in folder.glob("*.ipynb"):
        if old.stem not in names:
            old.unlink()
    written = []
    for name in names:
        path = folder / f"{name}.ipynb"
        text = json.dumps(form_notebook(name), ensure_ascii=False, indent=1) + "\n"
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def command(port: int, token: str, folder: str | Path | None = None, host: str = HOST, with_accounts: bool = False,
            certfile: str = "", keyfile: str = "", behind_proxy: bool = False) -> list[str]:
    """The argv that starts voila on the forms folder (a token, or accounts; kernels started per page and culled)."""
    folder = Path(folder) if folder else forms_dir()
    login = ([f"--Voila.identity_provider_class={AUTH}.AccountIdentityProvider",
              f"--Voila.authorizer_class={AUTH}.RoleAuthorizer"] if with_accounts else [f"--token={token}"])
    tls = [f"--FormsApp.certfile={certfile}", f"--FormsApp.keyfile={keyfile}"] if certfile else []
    return [
        sys.executable, "-m", APP, str(folder),
        f"--port={port}",
        f"--Voila.ip={host}",
        "--Voila.port_retries=0",
        "--no-browser",
        *login, *tls, *(["--FormsApp.behind_proxy=True"] if behind_proxy else []),
        "--show_tracebacks=False",
        "--strip_sources=True",
        f"--VoilaExecutor.timeout={CELL_TIMEOUT}",
        "--KernelManager.transport=ipc",
        f"--MappingKernelManager.cull_idle_timeout={CULL_IDLE}",
        f"--MappingKernelManager.cull_interval={CULL_INTERVAL}",
        "--MappingKernelManager.cull_connected=True",
        "--MappingKernelManager.cull_busy=False",
    ]


def url(port: int, token: str, page: str = "", host: str = HOST, scheme: str = "http") -> str:
    """Address of the home page (or of one form page, e.g. `voila/render/user_tiering.ipynb`), with its token."""
    name = f"[{host}]" if ":" in host else host
    return f"{scheme}://{name}:{port}/{page}" + (f"?token={token}" if token else "")


def check_mode(host: str, with_accounts: bool, certfile: str, keyfile: str, behind_proxy: bool) -> bool:
    """Whether accounts are used; ParamError when a shared server would be unsafe (no accounts, no TLS)."""
    from ..ops import accounts
    shared = host not in LOCAL_HOSTS
    if not (shared or with_accounts):
        return False
    if not accounts.any_accounts():
        raise ParamError("多人使用的表单服务需要账号：先用 opsbook users add 姓名 --role 管理员 创建账号（每人一个，勿共用）")
    if shared and not (certfile or behind_proxy):
        raise ParamError(f"在 {host} 上提供表单需要加密：用 --certfile/--keyfile 指定证书，"
                         "或放在 HTTPS 反向代理之后并加 --behind-proxy（见 README「多人使用」）")
    if behind_proxy and shared:
        raise ParamError(f"--behind-proxy 时只在本机地址上监听（代理在同一台机器上转发到 127.0.0.1），不能用 {host}：否则绕过代理的"
                         "请求可以伪造来源地址")
    if bool(certfile) != bool(keyfile):
        raise ParamError("--certfile 与 --keyfile 需同时指定")
    for path in (certfile, keyfile):
        if path and not Path(path).is_file():
            raise ParamError(f"证书文件 {path} 不存在")
    return True


def download_url(playbook: str, run_id: str, name: str) -> str:
    """Address of a file of a filed run on the forms server, as a page links to it (its kernel knows the server's
    URL prefix from voila's VOILA_SERVER_URL)."""
    prefix = os.environ.get("VOILA_SERVER_URL", "/").rstrip("/")
    return f"{prefix}/{DOWNLOADS}/{playbook}/{run_id}/{quote(name)}"


def wait_ready(proc: subprocess.Popen, port: int, timeout: float = READY_TIMEOUT, host: str = HOST) -> bool:
    """True once something accepts connections on the port; False if voila exits or the time is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection((HOST if host in ("0.0.0.0", "::") else host, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def main(port: int = 8866, open_browser: bool = False, host: str = HOST, with_accounts: bool = False,
         certfile: str = "", keyfile: str = "", behind_proxy: bool = False) -> int:
    """Write the forms, run voila until interrupted; 0 on a clean stop, 1 if it could not start, 2 if unsafe."""
    try:
        with_accounts = check_mode(host, with_accounts, certfile, keyfile, behind_proxy)
    except ParamError as exc:
        print(exc.message, file=sys.stderr)
        return 2
    folder = forms_dir()
    forms = write_forms(folder)
    if not forms:
        print(f"没有可提供的剧本（{paths.playbooks()} 中没有 .ipynb）", file=sys.stderr)
        return 1
    token = "" if with_accounts else secrets.token_urlsafe(24)
    previous = signal.signal(signal.SIGTERM, _stop_requested)  # `kill`, systemd: stop voila and its kernels too
    argv = command(port, token, folder, host, with_accounts, certfile, keyfile, behind_proxy)
    proc = subprocess.Popen(argv, cwd=folder,
                            env={**os.environ, HOME_ENV: str(paths.root())})  # its kernels work on this project
    try:
        if not wait_ready(proc, port, host=host):
            print(f"表单服务启动失败（端口 {port} 可能已被占用，可用 --port 换一个端口）", file=sys.stderr)
            stop(proc)
            return 1
        scheme = "https" if certfile else "http"
        address = url(port, token, "", host, scheme)
        if with_accounts:
            print(f"表单已启动（账号登录）：{address}\n  按 Ctrl+C 停止", flush=True)
        else:
            titles = {f.stem: PAGES[f.stem][2] if f.stem in PAGES else spec.load(f.stem).title for f in forms}
            pages = "\n".join(f"  {titles[f.stem]}：{url(port, token, f'voila/render/{f.name}')}" for f in forms)
            print(f"表单已启动：{address}\n{pages}\n  按 Ctrl+C 停止", flush=True)
        if open_browser:
            webbrowser.open(address)
        code = proc.wait()
        return 0 if code in (0, -2, 130) else 1
    except KeyboardInterrupt:
        print("表单服务已停止", file=sys.stderr)
        return 0
    finally:
        stop(proc)
        signal.signal(signal.SIGTERM, previous)


def _stop_requested(_signum, _frame) -> None:
    """SIGTERM: leave like Ctrl-C does, through the clean-up that stops voila."""
    raise KeyboardInterrupt


def stop(proc: subprocess.Popen) -> None:
    """Stop voila (SIGTERM, then kill after 10 s) and any kernel of its that outlived it."""
    import psutil
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        children = []
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    _, alive = psutil.wait_procs(children, timeout=10)
    for child in alive:
        child.kill()


__all__ = ["main", "command", "write_forms", "forms_dir", "url", "download_url", "stop", "wait_ready"]
