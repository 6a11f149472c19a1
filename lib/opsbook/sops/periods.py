"""Report periods shared by playbooks: day, week (Monday to Sunday) and month buckets, their shifts and labels."""
from __future__ import annotations

import datetime as dt

PERIODS = {"日": "day", "周": "week", "月": "month"}


def bucket_start(day: dt.date, period: str) -> dt.date:
    """First day of the day/week (Monday)/month containing `day`."""
    unit = PERIODS[period]
    if unit == "week":
        return day - dt.timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day


def shift(start: dt.date, period: str, n: int) -> dt.date:
    """The bucket start `n` periods after (negative: before) `start`."""
    unit = PERIODS[period]
    if unit == "month":
        months = start.year * 12 + start.month - 1 + n
        return dt.date(months // 12, months % 12 + 1, 1)
    return start + dt.timedelta(days=n * (7 if unit == "week" else 1))


def year_before(day: dt.date) -> dt.date:
    """The same weekday 52 weeks earlier (a week-aligned 同比 baseline)."""
    return day - dt.timedelta(days=364)


def label(start: dt.date, period: str) -> str:
    """Display label of a bucket: 2025-06-18, 2025-W25（06-16起）, 2025-06."""
    unit = PERIODS[period]
    if unit == "week":
        return f"{start.isocalendar().year}-W{start.isocalendar().week:02d}（{start:%m-%d}起）"
    return f"{start:%Y-%m}" if unit == "month" else f"{start:%Y-%m-%d}"
