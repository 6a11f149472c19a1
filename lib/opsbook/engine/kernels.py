"""Warm, reusable kernels for papermill: a per-thread pool and the papermill engine that uses it.

Reuse is safe here because a kernel goes back to the pool only after a run that completed, with
its namespace reset (`%reset -f`), figures closed and working directory restored; a kernel that
failed, timed out, served too many runs or predates a change to lib/opsbook is shut down instead.
What reuse saves is kernel start-up and the imports of pandas, DuckDB and matplotlib.
"""
from __future__ import annotations

import atexit
import os
import secrets
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.paths import jupyter_runtime_dir
from jupyter_core.utils import run_sync
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines

from .. import paths
from ..settings import HOME_ENV, KERNEL_REUSE_ENV

ENGINE = "opsbook"  # the papermill engine name of `PooledEngine`
# what every playbook imports, so the first run does not pay for it: the notebook API and every `sops` module
WARMUP = ("import pandas, duckdb, opsbook.playbook, opsbook.sources, opsbook.charts, opsbook.sops\n"
          "opsbook.sops.import_all()\nopsbook.charts.setup()")
# sys.last_* would keep the frames (and data) of the last error alive across runs
RESET = ("%reset -f\nimport os as _os, sys as _sys, matplotlib.pyplot as _plt\n_plt.close('all')\n"
         "_sys.last_type = _sys.last_value = _sys.last_traceback = None\n"
         "_os.chdir({cwd!r})\ndel _os, _sys, _plt")
MAX_USES = 50


def _lib_stamp() -> float:
    """Newest change to the package's code: a kernel that imported an older version is not reused."""
    return max(p.stat().st_mtime for p in Path(__file__).parents[1].rglob("*.py"))


@dataclass
class Kernel:
    """A started kernel with its client; `uses` counts the runs it served."""

    km: AsyncKernelManager
    kc: object
    stamp: float
    uses: int = 0
    started: float = field(default_factory=time.monotonic)

    @classmethod
    def start(cls, name: str = "python3", cwd: Path | None = None) -> "Kernel":
        """Start a kernel in `cwd`, wait until it answers and pre-import what playbooks use."""
        # IPC sockets (absolute path prefix) instead of unencrypted TCP ports on localhost.
        runtime = Path(jupyter_runtime_dir())
        runtime.mkdir(parents=True, exist_ok=True)
        km = AsyncKernelManager(kernel_name=name, transport="ipc", ip=str(runtime / f"opsbook-{secrets.token_hex(6)}"))
        env = {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1", "MPLBACKEND": "module://matplotlib_inline.backend_inline",
               HOME_ENV: str(paths.root())}  # the kernel works on the same project, whatever its folder
        run_sync(km.start_kernel)(cwd=str(cwd or paths.playbooks()), env=env)
        kc = km.client()
        kc.start_channels()
        run_sync(kc.wait_for_ready)(timeout=60)
        kernel = cls(km, kc, _lib_stamp())
        kernel.execute(WARMUP)
        return kernel

    def execute(self, code: str, timeout: float = 60) -> None:
        """Run housekeeping code silently; raise RuntimeError if it fails."""
        reply = run_sync(self.kc.execute_interactive)(code, silent=True, store_history=False, timeout=timeout)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"kernel housekeeping failed: {reply['content'].get('evalue')}")

    def interrupt(self) -> None:
        """Send SIGINT to the kernel process (a running cell raises KeyboardInterrupt)."""
        proc = getattr(self.km.provisioner, "process", None)
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)

    def kill(self) -> None:
        """Kill the kernel process at once."""
        proc = getattr(self.km.provisioner, "process", None)
        if proc is not None and proc.poll() is None:
            proc.kill()

    def shutdown(self) -> None:
        """Stop the client and the kernel, and remove its connection files."""
        try:
            self.kc.stop_channels()
            run_sync(self.km.shutdown_kernel)(now=True)
        except Exception:  # noqa: BLE001 - a dying kernel must not break the caller
            self.kill()
            self.km.cleanup_resources()


class Pool:
    """Idle kernels of the current thread (kernels and their event loop must stay on one thread)."""

    def __init__(self):
        self._local = threading.local()
        self._all: list[Kernel] = []
        self._lock = threading.Lock()

    def _idle(self) -> list[Kernel]:
        if not hasattr(self._local, "idle"):
            self._local.idle = []
        return self._local.idle

    def acquire(self, name: str = "python3") -> Kernel:
        """A warm kernel for this thread: an idle one still valid, else a new one."""
        idle = self._idle()
        stamp = _lib_stamp()
        while idle:
            kernel = idle.pop()
            if kernel.stamp == stamp and run_sync(kernel.km.is_alive)():
                return kernel
            self.discard(kernel)
        kernel = Kernel.start(name)
        with self._lock:
            self._all.append(kernel)
        return kernel

    def release(self, kernel: Kernel, healthy: bool) -> None:
        """Return a kernel after a run: reset and keep it if the run was healthy, else shut it down."""
        kernel.uses += 1
        if healthy and reuse_enabled() and kernel.uses < MAX_USES:
            try:
                kernel.execute(RESET.format(cwd=str(paths.playbooks())))
                self._idle().append(kernel)
                return
            except Exception:  # noqa: BLE001
                pass
        self.discard(kernel)

    def discard(self, kernel: Kernel) -> None:
        """Shut a kernel down and forget it."""
        kernel.shutdown()
        with self._lock:
            if kernel in self._all:
                self._all.remove(kernel)

    def warm(self, n: int = 1) -> None:
        """Pre-start `n` kernels for this thread (used by forms and the scheduler)."""
        for _ in range(n - len(self._idle())):
            kernel = Kernel.start()
            with self._lock:
                self._all.append(kernel)
            self._idle().append(kernel)

    def drain(self) -> None:
        """Shut down this thread's idle kernels (a form page that went quiet gives their memory back)."""
        idle = self._idle()
        while idle:
            self.discard(idle.pop())

    def close(self) -> None:
        """Shut down every kernel of every thread."""
        with self._lock:
            kernels, self._all = list(self._all), []
        for kernel in kernels:
            kernel.shutdown()


def reuse_enabled() -> bool:
    """Kernel reuse is on unless OPSBOOK_KERNEL_REUSE=0."""
    return os.environ.get(KERNEL_REUSE_ENV, "1") != "0"


POOL = Pool()
atexit.register(POOL.close)


class PooledEngine(NBClientEngine):
    """papermill engine that executes on a kernel handed in by the runner instead of starting one."""

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None, stderr_file=None,
                                 start_timeout=60, execution_timeout=None, kernel: Kernel | None = None,
                                 on_cell=None, **kwargs):
        """Execute `nb_man.nb` on `kernel`, calling `on_cell(done, total)` after each cell."""
        if on_cell is not None:
            total = len(nb_man.nb.cells)
            complete = nb_man.cell_complete

            def cell_complete(cell, cell_index=None, **kw):
                complete(cell, cell_index=cell_index, **kw)
                on_cell((cell_index or 0) + 1, total)
            nb_man.cell_complete = cell_complete
        client = PapermillNotebookClient(nb_man, km=kernel.km, timeout=execution_timeout,
                                         startup_timeout=start_timeout, kernel_name=kernel_name,
                                         log_output=log_output, stdout_file=stdout_file, stderr_file=stderr_file)
        client.kc = kernel.kc
        return client.execute()


papermill_engines.register(ENGINE, PooledEngine)
