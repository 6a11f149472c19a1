"""The shops' reference files in `data/reference/` (promotion calendar, qualifications, Advertising-Law terms):
read once per version of the file; a missing or unreadable file is bad input (DataError), never an empty list."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from .. import paths
from ..errors import DataError


def read(relative: Path, what: str):
    """The parsed YAML of a reference file (cached per version of the file); DataError when missing or unreadable."""
    path = paths.root() / relative
    if not path.is_file():
        raise DataError(f"找不到{what} {relative}：请从 opsbook 仓库恢复该文件（可以在其中增删条目，但不要删除文件）")
    return _parse(str(path), path.stat().st_mtime, f"{what} {relative}")


@lru_cache(maxsize=8)
def _parse(path: str, mtime: float, where: str):
    """The YAML of `path` as of `mtime` (the key that makes an edited file read again)."""
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DataError(f"{where} 无法读取：{str(exc).splitlines()[0]}") from None
