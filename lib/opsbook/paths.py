"""Where the project lives: playbooks, job files, data.

The project is $OPSBOOK_HOME, else the current folder or its nearest parent that holds `playbooks/`, else the checkout
that holds this package: `opsbook` run inside another project folder works on that project.
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from .settings import HOME_ENV


def root() -> Path:
    """The project root: $OPSBOOK_HOME, else the current folder or its nearest parent with `playbooks/`, else the
    checkout that holds this package."""
    env = os.environ.get(HOME_ENV)
    return Path(env).resolve() if env else _found(os.getcwd())


@lru_cache(maxsize=8)
def _found(cwd: str) -> Path:
    here = Path(cwd).resolve()
    for folder in (here, *here.parents):
        if (folder / "playbooks").is_dir():
            return folder
    return Path(__file__).resolve().parents[2]


def playbooks() -> Path:
    """Folder of playbook notebooks."""
    return root() / "playbooks"


def params() -> Path:
    """Folder of job files."""
    return root() / "params"


def private() -> Path:
    """`.opsbook/` at the project root: generated and secret files, ignored by git."""
    return root() / ".opsbook"


def resolve(location: str | os.PathLike) -> Path:
    """A user-given path: absolute as is, relative to the project root otherwise."""
    path = Path(location).expanduser()
    return path if path.is_absolute() else root() / path
