"""The one execution path: validate parameters, execute the playbook with papermill, file an immutable run."""
from __future__ import annotations

import datetime as dt
import json
import logging
import subprocess
import threading
import time
from functools import lru_cache
from pathlib import Path
from typing import Callable

import nbformat
import papermill
from papermill.exceptions import PapermillExecutionError

from .. import paths, spec as spec_mod
from ..data import privacy
from ..errors import DataError, ParamError
from ..flags import Flag
from ..playbook import KERNEL_RESULT
from ..settings import TZ, RunStatus
from . import kernels, records
from .records import RunRecord
from .render import render_html

DEFAULT_TIMEOUT = 1800
_INPUT_ERRORS = (DataError.__name__, ParamError.__name__)  # raised in the kernel: bad input, exit 2, never retried
# papermill warns about every injected name its regex cannot see (Literal[...] lines, opsbook_run_dir);
# parameters are validated against the spec before execution, so those warnings are noise.
logging.getLogger("papermill").setLevel(logging.ERROR)


@lru_cache(maxsize=1)
def git_revision() -> str:
    """Short git revision of the checkout (with -dirty), or '' outside git."""
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=10"], cwd=paths.root(),
                             capture_output=True, text=True, timeout=5)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def run(playbook: str | Path, params: dict | None = None, *, out: str | Path | None = None, timeout: float | None = None,
        trigger: str = "cli", job: str | None = None, slot: str | None = None, attempt: int = 1,
        on_progress: Callable[[int, int], None] | None = None, user: str = "", address: str = "") -> RunRecord:
    """Validate, execute and file one run of `playbook` (in the store at `out`, else the default one).

    `user` is who runs it, recorded with the run (the form's account, `任务 <job>`, `命令行 <os user>`), `address`
    where a form run was asked from; callers pass them, the runner never guesses.

    Raises ParamError before executing anything; every run that started is filed, whatever happens to it.
    """
    spec = spec_mod.load(playbook)
    values = spec.validate(params or {})
    if timeout is not None and not timeout > 0:
        raise ParamError(f"超时时间应为大于 0 的秒数，收到 {timeout:g}")
    t0 = time.perf_counter()
    now = dt.datetime.now(TZ)
    store = records.store(out)
    record = RunRecord(records.new_run_id(now), spec.name, RunStatus.RUNNING, 1,
                       params={k: spec_mod.to_json(v) for k, v in values.items()}, trigger=trigger, job=job,
                       started=now.isoformat(timespec="seconds"), git=git_revision(), slot=slot, attempt=attempt,
                       user=user, address=address)
    running = store.open(record)
    store.file_interrupted(spec.name)
    _execute(spec, record, running, timeout or DEFAULT_TIMEOUT, on_progress)
    t1 = time.perf_counter()
    try:
        _mask_outputs(record, running)
        _collect(record, running)
        executed = running / "executed.ipynb"
        if executed.is_file():
            nb = nbformat.read(executed, as_version=4)
            (running / records.REPORT).write_text(render_html(nb, spec.title, record), encoding="utf-8")
    except Exception as exc:  # noqa: BLE001 - a run whose outputs cannot be read or rendered still gets filed
        record.status, record.exit_code, record.retryable = RunStatus.FAILED, 1, True
        record.error = f"报告生成失败：{type(exc).__name__}: {exc}"
    t2 = time.perf_counter()
    record.seconds = {"execute": round(t1 - t0, 3), "render": round(t2 - t1, 3), "total": round(t2 - t0, 3)}
    store.file(record, running)
    return record


def _execute(spec: spec_mod.Spec, record: RunRecord, running: Path, timeout: float, on_progress) -> None:
    """Run the notebook on a pooled kernel under a whole-run deadline; fill status/exit_code/error."""
    record.status = RunStatus.FAILED  # until the notebook completes
    timed_out = threading.Event()
    kernel, watchdog, healthy = None, None, False
    try:
        kernel = kernels.POOL.acquire()

        def expire():
            timed_out.set()
            kernel.interrupt()
            threading.Timer(5, kernel.kill).start()
        watchdog = threading.Timer(timeout, expire)
        watchdog.start()
        papermill.execute_notebook(
            str(spec.path), str(running / "executed.ipynb"),
            parameters={**record.params, "opsbook_run_dir": str(running)},
            engine_name=kernels.ENGINE, kernel=kernel, on_cell=on_progress, execution_timeout=timeout,
            progress_bar=False, log_output=False, cwd=str(spec.path.parent))
        record.status, record.exit_code, healthy = RunStatus.OK, 0, True
    except PapermillExecutionError as exc:
        bad_input = exc.ename in _INPUT_ERRORS
        record.error = exc.evalue if bad_input else f"{exc.ename}: {exc.evalue}"
        record.exit_code = 2 if bad_input else 1
        healthy = bad_input
        record.retryable = not bad_input  # bad parameters or data fail the same way every time
    except Exception as exc:  # noqa: BLE001 - a dead kernel or a kernel that never started must still be filed
        record.error, record.retryable = f"{type(exc).__name__}: {exc}", True
    finally:
        if watchdog is not None:
            watchdog.cancel()
        if timed_out.is_set():
            record.status, record.exit_code, healthy, record.retryable = RunStatus.TIMEOUT, 1, False, True
            record.error = f"运行超时（超过 {timeout:g} 秒），已终止"
        if kernel is not None:
            kernels.POOL.release(kernel, healthy)


def _mask_outputs(record: RunRecord, running: Path) -> None:
    """Phones quoted in an error (a bad value shown as an example) are masked in the record and the notebook."""
    if record.error:
        record.error = privacy.mask_phone(record.error)
    executed = running / "executed.ipynb"
    if record.status == RunStatus.OK or not executed.is_file():
        return
    nb = nbformat.read(executed, as_version=4)
    for cell in nb.cells:
        for out in cell.get("outputs", []):  # text only: images are base64, whose digits are no phone
            if out.get("output_type") == "error":
                out["evalue"] = privacy.mask_phone(out.get("evalue", ""))
                out["traceback"] = [privacy.mask_phone(line) for line in out.get("traceback", [])]
            elif out.get("output_type") == "stream":
                out["text"] = privacy.mask_phone("".join(out.get("text", "")))
            for kind in ("text/plain", "text/html"):
                if kind in out.get("data", {}):
                    out["data"][kind] = privacy.mask_phone("".join(out["data"][kind]))
    nbformat.write(nb, executed)


def _collect(record: RunRecord, running: Path) -> None:
    """Move what the kernel recorded (metrics, flags, tables) into the record."""
    path = running / KERNEL_RESULT
    if path.is_file():
        data = json.loads(path.read_text(encoding="utf-8"))
        record.metrics, record.tables = data["metrics"], data["tables"]
        record.set_flags([Flag(**f) for f in data["flags"]])
        path.unlink()
