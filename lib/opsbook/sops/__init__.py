"""Playbook modules: one per notebook, with the notebook's name (`playbooks/user_tiering.ipynb` →
`sops/user_tiering.py`), beside shared domain helpers (`periods`: day/week/month windows).

The interface of a playbook module — what its notebook and opsbook read:
- small functions the notebook calls, one idea each: they take a `Source` (`opsbook.sources`) and plain values,
  and return DataFrames with English snake_case columns, or headline numbers;
- `LABELS`: the Chinese labels of the columns its tables show that `opsbook.report.LABELS` does not label (or
  labels differently for this playbook); `run.table(...)` uses them for the report and the Excel/CSV files;
- `METRICS`: the Chinese labels of its headline metrics (`run.metrics` in result.json), a label or (label, format)
  with a `report.FORMATS` kind; what the report cards delivered to the group show (a metric not named is left out);
- `findings(...) -> list[Flag]`: the run's flags (`opsbook.flags.make`), every threshold a parameter;
- optionally `FOLLOW_UP`: flag code → the SOP's follow-up time of the task it opens (`ops/tasks.py`), in hours or
  as the name of the parameter holding it (`recall_within_days`).
A playbook module imports only the notebook API (sources, report, flags, charts), `opsbook.data` and the leaves.

This package is the registry: the kernels' warm-up imports `import_all()` and the run context takes a playbook's
labels from `labels(name)`. A new playbook touches only `playbooks/<name>.ipynb`, `sops/<name>.py`, its tests and
`params/`; nothing else names it.
"""
from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def module_names() -> list[str]:
    """Every module of this package (playbook modules and shared helpers)."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__))


def module(name: str) -> ModuleType | None:
    """The module named `name` in this package, or None when there is none (e.g. a notebook outside playbooks/)."""
    return importlib.import_module(f"{__name__}.{name}") if name in module_names() else None


def labels(name: str) -> dict[str, str]:
    """The Chinese column labels a playbook module declares (empty without a module or LABELS)."""
    found = module(name)
    return dict(getattr(found, "LABELS", {})) if found else {}


def metric_labels(name: str) -> dict[str, str | tuple[str, str]]:
    """The Chinese labels (and formats) of a playbook's headline metrics (empty without a module or METRICS)."""
    found = module(name)
    return dict(getattr(found, "METRICS", {})) if found else {}


def import_all() -> None:
    """Import every module of the package (what a warm kernel does before its first run)."""
    for name in module_names():
        module(name)
