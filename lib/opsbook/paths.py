"""Where the project lives: playbooks, data, runs (OPSBOOK_HOME overrides the checkout root)."""
from __future__ import annotations

import os
from pathlib import Path


def root() -> Path:
    """The project root: $OPSBOOK_HOME, else the checkout that holds this package."""
    env = os.environ.get("OPSBOOK_HOME")
    return Path(env).resolve() if env else Path(__file__).resolve().parents[2]


def playbooks() -> Path:
    """Folder of playbook notebooks."""
    return root() / "playbooks"


def runs() -> Path:
    """Folder of run records ($OPSBOOK_RUNS overrides)."""
    env = os.environ.get("OPSBOOK_RUNS")
    return Path(env).resolve() if env else root() / "runs"


def resolve(location: str | os.PathLike) -> Path:
    """A user-given path: absolute as is, relative to the project root otherwise."""
    path = Path(location).expanduser()
    return path if path.is_absolute() else root() / path
