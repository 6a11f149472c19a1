"""Run history: filter the filed runs, flags new or resolved since a job's previous run, the history page (with
undelivered alerts and job files that cannot be scheduled above the runs)."""
from __future__ import annotations

import datetime as dt
import os
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from ..engine import records
from ..engine.records import RunRecord, RunStore
from ..errors import ParamError
from ..flags import Flag
from ..settings import BASE_URL_ENV, TZ, RunStatus, Severity
from . import alerts, jobs

PAGE = "index.html"
PAGE_RUNS = 500
TEMPLATES = Path(__file__).parent / "templates" / "history"


@dataclass
class Entry:
    """A filed run in the history: its summary and the flag codes new or resolved since its job's previous good run."""

    record: RunRecord
    new: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    previous: str | None = None  # run id of that previous good run


def entries(store: RunStore | None = None) -> list[Entry]:
    """Every filed run, newest first, with the flags new and resolved since its job's previous good run."""
    found, previous = [], {}
    for record in (store or records.store()).index():  # in filing order: the previous good run of the same job
        key = record.job or record.playbook  # (or playbook, for manual runs)
        entry = Entry(record)
        if record.ok:
            before, now = previous.get(key, RunRecord(None, "", "ok")).flag_codes, record.flag_codes
            entry.new = sorted(set(now) - set(before))
            if key in previous:
                entry.resolved, entry.previous = sorted(set(before) - set(now)), previous[key].run_id
            if record.trigger != "rerun":  # a rerun of an old date must not become the baseline
                previous[key] = record
        found.append(entry)
    return found[::-1]


def select(found: list[Entry], job: str | None = None, playbook: str | None = None, status: str | None = None,
           since: dt.date | None = None, until: dt.date | None = None) -> list[Entry]:
    """The runs matching every given filter (dates compare with the run's start day)."""
    def keep(e: Entry) -> bool:
        r, day = e.record, started_day(e.record)
        return ((job is None or r.job == job) and (playbook is None or r.playbook == playbook)
                and (status is None or r.status == status) and (since is None or (day is not None and day >= since))
                and (until is None or (day is not None and day <= until)))
    return [e for e in found if keep(e)]


def started_day(record: RunRecord) -> dt.date | None:
    """The day a run started, None for a record without a start time (written by an older version)."""
    try:
        return dt.date.fromisoformat((record.started or "")[:10])
    except ValueError:
        return None


def find(run_id: str, store: RunStore | None = None) -> Entry:
    """A run by id (or a unique prefix); ParamError in Chinese otherwise."""
    matches = [e for e in entries(store) if e.record.run_id and e.record.run_id.startswith(run_id)]
    if len(matches) != 1:
        what = "找不到" if not matches else f"有 {len(matches)} 个运行匹配"
        raise ParamError(f"{what}运行编号 {run_id!r}：用 `opsbook runs` 查看运行编号")
    return matches[0]


def changes_for(run_id: str, store: RunStore | None = None) -> Entry | None:
    """The history entry of a run (its new and resolved flag codes), None if it is not filed."""
    return next((e for e in entries(store) if e.record.run_id == run_id), None)


def report_link(record: RunRecord, store: RunStore | None = None) -> str:
    """Where staff open a run's report: $OPSBOOK_BASE_URL + path under the runs folder, else a file:// URI."""
    if record.report is None:
        return ""
    base = os.environ.get(BASE_URL_ENV, "").rstrip("/")
    if base:
        return f"{base}/{(store or records.store()).relative(record.report)}"
    return record.report.resolve().as_uri()


TECHNICAL_ERROR = "剧本执行出错（技术信息已保存在这次运行的记录中，请把运行编号转给数据分析同事）"


def staff_error(record: RunRecord) -> str | None:
    """What staff read about a run that did not complete: bad input and timeouts in the runner's Chinese words,
    anything else (an exception inside the playbook) without its technical text (`opsbook runs show` has it)."""
    if record.ok or not record.error:
        return None
    return record.error if record.exit_code == 2 or record.status == RunStatus.TIMEOUT else TECHNICAL_ERROR


def _flags_behind(record: RunRecord, codes: list[str], full: RunRecord | None) -> list[Flag]:
    """The flags behind `codes`, taken from the run that has them (a bare code when its record is gone)."""
    by_code = {f.code: f for f in (full.flags if full else [])}
    return [by_code.get(c) or Flag(c, record.flag_codes.get(c, Severity.LOW), "", c) for c in codes]


def page_rows(store: RunStore | None = None, limit: int = PAGE_RUNS, found: list[Entry] | None = None) -> list[dict]:
    """The newest runs for the history page, with new and resolved flags spelled out."""
    store = store or records.store()
    found = entries(store) if found is None else found
    by_id = {e.record.run_id: e.record for e in found}
    rows = []
    for entry in found[:limit]:
        record = entry.record
        full = store.load(record) if entry.new else None
        previous = by_id.get(entry.previous)
        before = store.load(previous) if entry.resolved and previous else None
        rows.append({**record.to_json(), "status_text": record.status.label, "error": staff_error(record),
                     "report": store.relative(record.report) if record.report else "",
                     "new_flags": _flags_behind(record, entry.new, full),
                     "resolved_flags": _flags_behind(record, entry.resolved, before)})
    return rows


@lru_cache(maxsize=1)
def _templates() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))


def problems() -> tuple[list[dict], list[str]]:
    """What the page shows above the runs: undelivered alerts and report cards (告警/报告未送达) and job files that
    cannot be scheduled."""
    return alerts.undelivered(), jobs.load_all()[1]


def render(rows: list[dict], links: bool = True, undelivered: list[dict] = (), job_problems: list[str] = ()) -> str:
    """The history page as one self-contained HTML document (no scripts or fonts from the network)."""
    return _templates().get_template("page.html.j2").render(
        rows=rows, links=links, undelivered=undelivered, job_problems=job_problems,
        undelivered_title=alerts.undelivered_title(undelivered),
        generated=dt.datetime.now(TZ).strftime("%Y-%m-%d %H:%M"))


def write_page(store: RunStore | None = None) -> Path:
    """Write the history page beside the runs (atomically), linking each run's report by relative path."""
    store = store or records.store()
    target = store.aside(PAGE)
    tmp = target.with_name(f".{PAGE}.{os.getpid()}.{threading.get_ident()}")
    tmp.write_text(render(page_rows(store), True, *problems()), encoding="utf-8")
    os.replace(tmp, target)
    return target


def _refresh_page(store: RunStore, _record: RunRecord) -> None:
    write_page(store)


def follow() -> None:
    """Keep the history page of every store current: refresh it whenever this process files a run."""
    records.subscribe(_refresh_page)
