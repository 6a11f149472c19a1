"""`opsbook serve`: the playbook forms, served by voila on 127.0.0.1 with a token.

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
from ..settings import HOME_ENV

HOST = "127.0.0.1"
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


def command(port: int, token: str, folder: str | Path | None = None) -> list[str]:
    """The argv that starts voila on the forms folder (127.0.0.1, token, kernels started per page and culled)."""
    folder = Path(folder) if folder else forms_dir()
    return [
        sys.executable, "-m", APP, str(folder),
        f"--port={port}",
        f"--Voila.ip={HOST}",
        "--Voila.port_retries=0",
        "--no-browser",
        f"--token={token}",
        "--show_tracebacks=False",
        "--strip_sources=True",
        f"--VoilaExecutor.timeout={CELL_TIMEOUT}",
        "--KernelManager.transport=ipc",
        f"--MappingKernelManager.cull_idle_timeout={CULL_IDLE}",
        f"--MappingKernelManager.cull_interval={CULL_INTERVAL}",
        "--MappingKernelManager.cull_connected=True",
        "--MappingKernelManager.cull_busy=False",
    ]


def url(port: int, token: str, page: str = "") -> str:
    """Address of the form list (or of one form page, e.g. `voila/render/user_tiering.ipynb`) with its token."""
    return f"http://{HOST}:{port}/{page}?token={token}"


def download_url(playbook: str, run_id: str, name: str) -> str:
    """Address of a file of a filed run on the forms server, as a page links to it (its kernel knows the server's
    URL prefix from voila's VOILA_SERVER_URL)."""
    prefix = os.environ.get("VOILA_SERVER_URL", "/").rstrip("/")
    return f"{prefix}/{DOWNLOADS}/{playbook}/{run_id}/{quote(name)}"


def wait_ready(proc: subprocess.Popen, port: int, timeout: float = READY_TIMEOUT) -> bool:
    """True once something accepts connections on the port; False if voila exits or the time is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def main(port: int = 8866, open_browser: bool = False) -> int:
    """Write the forms, run voila until interrupted; 0 on a clean stop, 1 if it could not start."""
    folder = forms_dir()
    forms = write_forms(folder)
    if not forms:
        print(f"没有可提供的剧本（{paths.playbooks()} 中没有 .ipynb）", file=sys.stderr)
        return 1
    token = secrets.token_urlsafe(24)
    previous = signal.signal(signal.SIGTERM, _stop_requested)  # `kill`, systemd: stop voila and its kernels too
    proc = subprocess.Popen(command(port, token, folder), cwd=folder,
                            env={**os.environ, HOME_ENV: str(paths.root())})  # its kernels work on this project
    try:
        if not wait_ready(proc, port):
            print(f"表单服务启动失败（端口 {port} 可能已被占用，可用 --port 换一个端口）", file=sys.stderr)
            stop(proc)
            return 1
        address = url(port, token)
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
