"""Typed errors whose messages are written for staff, in Chinese."""
from __future__ import annotations

import errno
from contextlib import contextmanager
from typing import Iterator


class OpsbookError(Exception):
    """Base class: an error opsbook explains itself; `problems` lists every finding."""

    exit_code = 2
    headline = "出错了"

    def __init__(self, problems: list[str] | str, headline: str | None = None):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        if headline:
            self.headline = headline
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """The headline plus one bullet per problem."""
        lines = [self.headline + "："] + [f"  - {p}" for p in self.problems]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.message


class ParamError(OpsbookError):
    """Bad parameters: nothing was executed."""

    headline = "参数有误，未执行"


class DataError(OpsbookError):
    """Input data that cannot be used safely: nothing was written."""

    headline = "数据有误，未执行"


class IntakeError(DataError):
    """A marketplace export that cannot be read safely: rejected whole, nothing written."""

    headline = "文件无法导入，未写入任何数据"


NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
NOT_WRITABLE = (errno.EROFS, errno.EACCES, errno.EPERM)


def write_problem(folder, exc: OSError) -> str:
    """Why writing into `folder` failed and what to do about it, for staff (full disk, read-only, other)."""
    if exc.errno in NO_SPACE:
        return f"{folder} 所在磁盘空间已满：请清理磁盘空间后重试"
    if exc.errno in NOT_WRITABLE:
        return f"{folder} 不可写入（只读或没有写入权限）：请检查文件夹权限后重试"
    return f"无法写入 {folder}（{exc.strerror or exc}）：请检查文件夹权限和磁盘空间后重试"


@contextmanager
def writing(folder) -> Iterator[None]:
    """Raise a failed write into `folder` (read-only, no permission, full disk …) as a DataError saying what to do."""
    try:
        yield
    except OSError as exc:
        raise DataError(write_problem(folder, exc), headline="无法写入文件夹，已有的数据未受影响") from exc
