"""The one execution path: validate parameters, execute the playbook with papermill, file an immutable run."""
from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import os
import secrets
import shutil
import subprocess
import threading
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

import nbformat
import papermill
import psutil
from papermill.exceptions import PapermillExecutionError

from . import flags as flags_mod
from . import kernels, paths, spec as spec_mod
from .errors import ParamError
from .playbook import KERNEL_RESULT, json_dumps

TZ = ZoneInfo("Asia/Shanghai")
INDEX = "index.jsonl"
PID_FILE = ".pid"
DEFAULT_TIMEOUT = 1800
ABANDONED_AFTER = 600  # seconds after which a half-made run folder (`.new-*`) is removed
_INPUT_ERRORS = ("DataError", "ParamError")
# papermill warns about every injected name its regex cannot see (Literal[...] lines, opsbook_run_dir);
# parameters are validated against the spec before execution, so those warnings are noise.
logging.getLogger("papermill").setLevel(logging.ERROR)


@dataclass
class RunResult:
    """What a run produced; `exit_code` is 0 ok, 1 playbook failed, 2 bad parameters or input."""

    run_id: str
    playbook: str
    status: str
    exit_code: int
    folder: Path
    params: dict
    trigger: str = "cli"
    job: str | None = None
    started: str = ""
    finished: str = ""
    seconds: dict = field(default_factory=dict)
    git: str = ""
    metrics: dict = field(default_factory=dict)
    flags: list = field(default_factory=list)
    tables: dict = field(default_factory=dict)
    error: str | None = None
    retryable: bool = False  # another try may pass: anything but bad parameters or data
    slot: str | None = None  # the scheduled fire time this run is for (scheduler runs only)
    attempt: int = 1

    @property
    def ok(self) -> bool:
        """True when the playbook completed."""
        return self.status == "ok"

    @property
    def report(self) -> Path:
        """Path of the HTML report."""
        return self.folder / "report.html"

    def to_json(self) -> dict:
        """The content of result.json."""
        data = asdict(self)
        data["folder"] = str(self.folder)
        data["flag_counts"] = flags_mod.counts([flags_mod.Flag(**f) for f in self.flags])
        return data


def new_run_id(now: dt.datetime) -> str:
    """Sortable, unique run id: 20250630-080000-1a2b3c."""
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


@lru_cache(maxsize=1)
def git_revision() -> str:
    """Short git revision of the checkout (with -dirty), or '' outside git."""
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=10"], cwd=paths.root(),
                             capture_output=True, text=True, timeout=5)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def run(playbook: str, params: dict | None = None, *, out: str | Path | None = None, timeout: float | None = None,
        trigger: str = "cli", job: str | None = None, slot: str | None = None, attempt: int = 1,
        on_progress: Callable[[int, int], None] | None = None) -> RunResult:
    """Validate, execute and file one run of `playbook`; raises ParamError before executing anything."""
    spec = spec_mod.load(playbook)
    values = spec.validate(params or {})
    refuse_passwords(values)
    t0 = time.perf_counter()
    now = dt.datetime.now(TZ)
    run_id = new_run_id(now)
    parent = Path(out).resolve() / spec.name if out else paths.runs() / spec.name
    result = RunResult(run_id, spec.name, "running", 1, parent / run_id, {k: spec_mod.to_json(v) for k, v in values.items()},
                       trigger=trigger, job=job, started=now.isoformat(timespec="seconds"), git=git_revision(),
                       slot=slot, attempt=attempt)
    tmp = _open_run_folder(parent, result)
    file_interrupted(parent)
    _execute(spec, result, tmp, timeout or DEFAULT_TIMEOUT, on_progress)
    t1 = time.perf_counter()
    try:
        _collect(result, tmp)
        executed = tmp / "executed.ipynb"
        if executed.is_file():
            nb = nbformat.read(executed, as_version=4)
            (tmp / "report.html").write_text(render_html(nb, spec.title, result), encoding="utf-8")
    except Exception as exc:  # noqa: BLE001 - a run whose outputs cannot be read or rendered still gets filed
        result.status, result.exit_code, result.retryable = "failed", 1, True
        result.error = f"报告生成失败：{type(exc).__name__}: {exc}"
    t2 = time.perf_counter()
    result.seconds = {"execute": round(t1 - t0, 3), "render": round(t2 - t1, 3), "total": round(t2 - t0, 3)}
    _file(result, tmp)
    return result


def refuse_passwords(values: dict) -> None:
    """Parameters are recorded in every run; a password in a database address would be stored with them."""
    from .postgres import masked
    found = [name for name, value in values.items() if isinstance(value, str) and masked(value) != value]
    if found:
        raise ParamError([f"{name}：地址中含有密码，运行记录会保存参数，所以不接受密码；请去掉密码，改用环境变量 "
                          "PGPASSWORD 或 ~/.pgpass" for name in found])


def _open_run_folder(parent: Path, result: RunResult) -> Path:
    """Create `.tmp-<id>` holding result.json and the owner's pid, all at once: it is made aside and renamed, so a
    process killed at any moment leaves either nothing visible or a folder `file_interrupted` can file."""
    parent.mkdir(parents=True, exist_ok=True)
    making = parent / f".new-{result.run_id}"
    making.mkdir()
    _write_result(making, result)
    (making / PID_FILE).write_text(_process_id(os.getpid()), encoding="utf-8")
    tmp = parent / f".tmp-{result.run_id}"
    os.rename(making, tmp)
    return tmp


def _write_result(folder: Path, result: RunResult) -> None:
    (folder / "result.json").write_text(json_dumps(result.to_json(), indent=1), encoding="utf-8")


def _file(result: RunResult, tmp: Path) -> None:
    """Finish a run: final result.json, rename into place, move `latest` if good, append to the index."""
    result.finished = dt.datetime.now(TZ).isoformat(timespec="seconds")
    _write_result(tmp, result)
    (tmp / PID_FILE).unlink(missing_ok=True)
    os.replace(tmp, result.folder)
    if result.ok:
        _point_latest(result.folder.parent, result.run_id)
    _append_index(result.folder.parent.parent, result)
    _write_history(result.folder.parent.parent)


def _write_history(root: Path) -> None:
    """Refresh runs/index.html; a page that cannot be written never fails the run it describes."""
    from . import history
    try:
        history.write_page(root)
    except Exception:  # noqa: BLE001
        logging.getLogger("opsbook.history").exception("运行记录页面 runs/index.html 未能更新")


def _process_id(pid: int) -> str:
    """`pid start-time`: survives pid reuse after a reboot (a new process has another start time)."""
    try:
        return f"{pid} {psutil.Process(pid).create_time():.0f}"
    except psutil.Error:
        return f"{pid} 0"


def file_interrupted(parent: Path) -> list[RunResult]:
    """File as failed the runs under `parent` whose process died before finishing (crash, kill, reboot)."""
    filed = []
    for making in parent.glob(".new-*"):  # a run killed while its folder was being made: nothing ran yet
        try:
            abandoned = time.time() - making.stat().st_mtime > ABANDONED_AFTER
        except OSError:
            continue  # renamed into place meanwhile
        if abandoned:
            shutil.rmtree(making, ignore_errors=True)
    for tmp in sorted(parent.glob(".tmp-*")):
        try:
            owner = (tmp / PID_FILE).read_text(encoding="utf-8").strip()
            data = json.loads((tmp / "result.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # still being created, or not ours
        if owner == _process_id(int(owner.split()[0])):
            continue  # its process is still running
        claimed = tmp.with_name(tmp.name.replace(".tmp-", ".filing-", 1))
        try:
            os.rename(tmp, claimed)  # only one concurrent run gets to file it
        except OSError:
            continue
        fields = {k: data[k] for k in ("run_id", "playbook", "params", "trigger", "job", "started", "git", "slot", "attempt")
                  if k in data}
        fields.setdefault("started", _started_from_id(data["run_id"]))
        result = RunResult(status="failed", exit_code=1, folder=parent / data["run_id"], **fields, retryable=True,
                           error="运行中断：执行这次运行的进程已退出（被终止或机器重启），没有生成报告")
        _file(result, claimed)
        filed.append(result)
    return filed


def _started_from_id(run_id: str) -> str:
    """The start time a run id carries (`20250630-080000-…`), for records that lack it; '' if it carries none."""
    try:
        return dt.datetime.strptime(run_id[:15], "%Y%m%d-%H%M%S").replace(tzinfo=TZ).isoformat(timespec="seconds")
    except ValueError:
        return ""


def _execute(spec, result: RunResult, tmp: Path, timeout: float, on_progress) -> None:
    """Run the notebook on a pooled kernel under a whole-run deadline; fill status/exit_code/error."""
    result.status = "failed"  # until the notebook completes
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
            str(spec.path), str(tmp / "executed.ipynb"),
            parameters={**result.params, "opsbook_run_dir": str(tmp)},
            engine_name="opsbook", kernel=kernel, on_cell=on_progress, execution_timeout=timeout,
            progress_bar=False, log_output=False, cwd=str(spec.path.parent))
        result.status, result.exit_code, healthy = "ok", 0, True
    except PapermillExecutionError as exc:
        result.error = exc.evalue if exc.ename in _INPUT_ERRORS else f"{exc.ename}: {exc.evalue}"
        result.exit_code = 2 if exc.ename in _INPUT_ERRORS else 1
        healthy = exc.ename in _INPUT_ERRORS
        result.retryable = not healthy  # bad parameters or data fail the same way every time
    except Exception as exc:  # noqa: BLE001 - a dead kernel or a kernel that never started must still be filed
        result.error, result.retryable = f"{type(exc).__name__}: {exc}", True
    finally:
        if watchdog is not None:
            watchdog.cancel()
        if timed_out.is_set():
            result.status, result.exit_code, healthy, result.retryable = "timeout", 1, False, True
            result.error = f"运行超时（超过 {timeout:g} 秒），已终止"
        if kernel is not None:
            kernels.POOL.release(kernel, healthy)


def _collect(result: RunResult, tmp: Path) -> None:
    """Move what the kernel recorded (metrics, flags, tables) into the result."""
    path = tmp / KERNEL_RESULT
    if path.is_file():
        data = json.loads(path.read_text(encoding="utf-8"))
        result.metrics, result.flags, result.tables = data["metrics"], data["flags"], data["tables"]
        path.unlink()


@lru_cache(maxsize=1)
def _exporter():
    from nbconvert import HTMLExporter
    return HTMLExporter(template_name="report", extra_template_basedirs=[str(Path(__file__).parent / "templates")],
                        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)


def render_html(nb: nbformat.NotebookNode, title: str, result: RunResult) -> str:
    """The report: outputs only (no code, no stderr), titled, with a footer naming the run."""
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            # no warnings and no tracebacks for staff: the error is summarised in Chinese below the title
            cell.outputs = [o for o in cell.outputs if o.get("output_type") != "error"
                            and not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
    if result.error:
        nb.cells.insert(1, nbformat.v4.new_markdown_cell(f"> **运行失败**：{result.error}"))
    footer = f"{result.playbook} · {result.run_id} · {result.started} · {result.git}"
    body, _ = _exporter().from_notebook_node(nb, resources={"metadata": {"name": f"{title} · {result.run_id}"},
                                                            "opsbook_footer": footer})
    return body


def _point_latest(parent: Path, run_id: str) -> None:
    """Atomically point `<playbook>/latest` at the newest good run."""
    link = parent / f".latest-{run_id}"
    link.symlink_to(run_id)
    os.replace(link, parent / "latest")


def _append_index(root: Path, result: RunResult) -> None:
    """Append the run to `runs/index.jsonl` (one JSON object per line, locked for concurrent writers)."""
    entry = {k: v for k, v in result.to_json().items() if k not in ("flags", "tables")}
    entry["folder"] = os.path.relpath(result.folder, root)
    entry["flag_codes"] = {f["code"]: f["severity"] for f in result.flags}  # for new/resolved flags between runs
    with open(root / INDEX, "a", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        fh.write(json_dumps(entry) + "\n")


def read_index(root: Path | None = None) -> list[dict]:
    """All runs recorded in the index, oldest first."""
    path = (root or paths.runs()) / INDEX
    if not path.is_file():
        return []
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            entry["started"] = entry.get("started") or ""  # records filed by older versions may lack it
            found.append(entry)
        except (ValueError, TypeError, AttributeError):  # a line cut by a crash mid-write: skip it, keep the history readable
            logging.getLogger("opsbook.runner").warning("%s 第 %d 行不是完整的 JSON，已跳过", path, number)
    return found


def latest(playbook: str, root: Path | None = None) -> Path | None:
    """Folder of the last good run of a playbook, if any."""
    link = (root or paths.runs()) / playbook / "latest"
    return link.resolve() if link.exists() else None

