"""The shops' promotion calendar (`data/reference/promotions.yaml`): which big promotions touch a span of days, and
the day-by-day calendar of events (promotions, presales, the Spring Festival logistics shutdown, public holidays) that
demand forecasts adjust for.

Each entry has a `name`, a `kind` — 大促 (the default), 预售 (a presale window) or 物流停运 (couriers at reduced capacity:
a demand dip and longer deliveries) — and its days: `every_year` (月-日), `dates` (年-月-日, per year) or
`around_spring_festival` (days before/after 春节, 正月初一, taken from the `holidays` package, so every year is covered).
`promotions()` returns the 大促 only unless asked for other kinds (kpi_report reads it for the falls after a big
promotion); `events()` gives every day its event, China's public holidays (`holidays.China`) filling days no entry
covers.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from .. import paths
from ..errors import DataError
from . import reference

FILE = Path("data") / "reference" / "promotions.yaml"


KINDS = ("大促", "预售", "物流停运")


@dataclass(frozen=True)
class Promotion:
    """One calendar entry in one year: its name, first and last day, and kind (大促, 预售 or 物流停运)."""

    name: str
    start: dt.date
    end: dt.date
    kind: str = "大促"

    def describe(self) -> str:
        """「618」（05-20 至 06-20）."""
        return f"「{self.name}」大促（{self.start:%m-%d} 至 {self.end:%m-%d}）"


def _day(text, year: int | None, where: str) -> dt.date:
    try:
        return dt.date.fromisoformat(f"{year}-{text}" if year else str(text))
    except ValueError:
        raise DataError(f"{where} 的日期 {text!r} 不对：every_year 写“月-日”（如 05-20），dates 写“年-月-日”") from None


def _entries() -> tuple:
    """The calendar's entries (name, every_year, dates, around_spring_festival, kind), checked."""
    where = f"大促日历 {FILE}"
    data = reference.read(FILE, "大促日历") or []
    if not isinstance(data, list) or not all(isinstance(e, dict) and e.get("name") for e in data):
        raise DataError(f"{where} 应为列表，每项有 name 以及 every_year、dates 或 around_spring_festival")
    bad = [str(e["name"]) for e in data if e.get("kind", "大促") not in KINDS]
    if bad:
        raise DataError(f"{where} 中「{'、'.join(bad)}」的 kind 只能是 {' / '.join(KINDS)}")
    return tuple((str(e["name"]), e.get("every_year"), tuple(e.get("dates") or ()), e.get("around_spring_festival"),
                  str(e.get("kind", "大促"))) for e in data)


def _relative(span, spring: dt.date, name: str) -> tuple[dt.date, dt.date]:
    """First and last day of a span given in days around 春节 (e.g. {start: -7, end: 7})."""
    try:
        return (spring + dt.timedelta(days=int(span["start"])), spring + dt.timedelta(days=int(span["end"])))
    except (TypeError, ValueError, KeyError):
        raise DataError(f"大促日历 {FILE} 中「{name}」的 around_spring_festival 应写成 {{start: 天数, end: 天数}}"
                        "（相对春节正月初一，之前为负数，如 {start: -7, end: 7}）") from None


def spring_festival(year: int) -> dt.date:
    """正月初一 of `year` (from the `holidays` package's calendar of China)."""
    return min(d for d, name in _holidays(year).items() if name == "春节")


@lru_cache(maxsize=64)
def _holidays(year: int) -> dict[dt.date, str]:
    import holidays  # imported when a calendar needs it: ~0.2 s
    return dict(holidays.China(years=year, language="zh_CN"))


def promotions(first: dt.date, last: dt.date, kinds: tuple[str, ...] = ("大促",)) -> list[Promotion]:
    """The calendar entries of `kinds` with at least one day in [first, last] (none when the calendar file is
    absent)."""
    path = paths.root() / FILE
    if not path.is_file():
        return []
    found = []
    for name, every_year, dates, around, kind in _entries():
        if kind not in kinds:
            continue
        spans = [(year, every_year) for year in range(first.year - 1, last.year + 1)] if every_year else []
        spans += [(None, d) for d in dates]
        for year, span in spans:
            if not isinstance(span, dict) or "start" not in span or "end" not in span:
                raise DataError(f"大促日历 {FILE} 中「{name}」的日期应写成 {{start: …, end: …}}")
            start, end = _day(span["start"], year, f"大促日历 {FILE}"), _day(span["end"], year, f"大促日历 {FILE}")
            if start <= last and end >= first:
                found.append(Promotion(name, start, end, kind))
        if around is not None:
            for year in range(first.year - 1, last.year + 2):
                start, end = _relative(around, spring_festival(year), name)
                if start <= last and end >= first:
                    found.append(Promotion(name, start, end, kind))
    return sorted(found, key=lambda p: p.start)


def public_holidays(first: dt.date, last: dt.date) -> list[Promotion]:
    """China's public holidays in [first, last] as blocks of consecutive days off (调休 days and a weekend between
    two holidays included), each named by its festival (国庆节, 劳动节 …)."""
    days = sorted((d, name) for year in range(first.year, last.year + 1) for d, name in _holidays(year).items()
                  if first <= d <= last)
    blocks: list[list] = []
    for day, name in days:
        festival = name.split("（")[0]
        if blocks and (day - blocks[-1][1]).days <= 3:  # Friday off, the weekend, Monday off: one block
            blocks[-1][1] = day
            blocks[-1][2].append(festival)
        else:
            blocks.append([day, day, [festival]])
    named = [(a, b, [f for f in fs if f not in ("休息日", "农历除夕")] or fs) for a, b, fs in blocks]
    return [Promotion(max(set(fs), key=fs.count), a, b, "法定节假日") for a, b, fs in named]


def events(first: dt.date, last: dt.date) -> pd.DataFrame:
    """Every day of [first, last] with the calendar event covering it: `event` (its name), `kind`, `offset` (days since
    that year's occurrence began) — the shortest entry of promotions.yaml covering the day, else a public holiday,
    else none (empty)."""
    days = pd.date_range(first, last, freq="D")
    n = len(days)
    event, kind = np.full(n, None, dtype=object), np.full(n, None, dtype=object)
    offset, best = np.full(n, -1), np.full(n, np.inf)
    spans = [(p, 0) for p in promotions(first, last, KINDS)] + [(p, 1) for p in public_holidays(first, last)]
    for p, rank in spans:
        start = (p.start - first).days
        lo, hi = max(0, start), min(n - 1, (p.end - first).days)
        if lo > hi:
            continue
        length = (p.end - p.start).days + 1 + rank * 10 ** 5  # a holiday never wins over the shop's own calendar
        idx = np.arange(lo, hi + 1)
        idx = idx[best[idx] > length]
        event[idx], kind[idx], offset[idx], best[idx] = p.name, p.kind, idx - start, length
    return pd.DataFrame({"date": days, "event": pd.array(event, dtype="str"), "kind": pd.array(kind, dtype="str"),
                         "offset": offset})


def shipping_days(start: dt.date, days: int) -> int:
    """Calendar days after `start` until `days` days outside 物流停运 windows have passed: what a delivery of `days`
    days ordered on `start` takes when couriers stop for 春节."""
    horizon = start + dt.timedelta(days=days + 366)
    stops = {p.start + dt.timedelta(days=i) for p in promotions(start, horizon, ("物流停运",))
             for i in range((p.end - p.start).days + 1)}
    elapsed = counted = 0
    while counted < days:
        elapsed += 1
        counted += (start + dt.timedelta(days=elapsed)) not in stops
    return elapsed
