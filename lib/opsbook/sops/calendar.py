"""The shops' promotion calendar (`data/reference/promotions.yaml`): which big promotions touch a span of days."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from .. import paths
from ..errors import DataError

FILE = Path("data") / "reference" / "promotions.yaml"


@dataclass(frozen=True)
class Promotion:
    """One big promotion in one year: its name and first and last day."""

    name: str
    start: dt.date
    end: dt.date

    def describe(self) -> str:
        """「618」（05-20 至 06-20）."""
        return f"「{self.name}」大促（{self.start:%m-%d} 至 {self.end:%m-%d}）"


def _day(text, year: int | None, where: str) -> dt.date:
    try:
        return dt.date.fromisoformat(f"{year}-{text}" if year else str(text))
    except ValueError:
        raise DataError(f"{where} 的日期 {text!r} 不对：every_year 写“月-日”（如 05-20），dates 写“年-月-日”") from None


@lru_cache(maxsize=8)
def _entries(path: str, mtime: float) -> tuple:
    where = f"大促日历 {FILE}"
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    except (OSError, yaml.YAMLError) as exc:
        raise DataError(f"{where} 无法读取：{str(exc).splitlines()[0]}") from None
    if not isinstance(data, list) or not all(isinstance(e, dict) and e.get("name") for e in data):
        raise DataError(f"{where} 应为列表，每项有 name 以及 every_year 或 dates")
    return tuple((str(e["name"]), e.get("every_year"), tuple(e.get("dates") or ())) for e in data)


def promotions(first: dt.date, last: dt.date) -> list[Promotion]:
    """The promotions with at least one day in [first, last] (none when the calendar file is absent)."""
    path = paths.root() / FILE
    if not path.is_file():
        return []
    found = []
    for name, every_year, dates in _entries(str(path), path.stat().st_mtime):
        spans = [(year, every_year) for year in range(first.year - 1, last.year + 1)] if every_year else []
        spans += [(None, d) for d in dates]
        for year, span in spans:
            if not isinstance(span, dict) or "start" not in span or "end" not in span:
                raise DataError(f"大促日历 {FILE} 中「{name}」的日期应写成 {{start: …, end: …}}")
            start, end = _day(span["start"], year, f"大促日历 {FILE}"), _day(span["end"], year, f"大促日历 {FILE}")
            if start <= last and end >= first:
                found.append(Promotion(name, start, end))
    return sorted(found, key=lambda p: p.start)
