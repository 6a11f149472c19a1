"""Typed errors whose messages are written for staff, in Chinese."""
from __future__ import annotations


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
