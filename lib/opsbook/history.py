"""Run history: filter the runs index, flags new or resolved since a job's previous run, the history page."""
from __future__ import annotations

import datetime as dt
import json
import os
import threading
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from . import flags as flags_mod, paths, runner
from .errors import ParamError

PAGE = "index.html"
PAGE_RUNS = 500
STATUS = {"ok": "成功", "failed": "失败", "timeout": "超时", "running": "运行中"}


def entries(root: Path | None = None) -> list[dict]:
    """Every filed run, newest first, each with `new` and `resolved` flag codes since its job's previous good run."""
    found = runner.read_index(root)
    previous: dict[str, dict] = {}
    for entry in found:  # in filing order: the previous good run of the same job (or playbook, for manual runs)
        key = entry.get("job") or entry["playbook"]
        before, now = previous.get(key, {}).get("flag_codes", {}), entry.get("flag_codes", {})
        ok = entry["status"] == "ok"
        entry["new"] = sorted(set(now) - set(before)) if ok else []
        entry["resolved"] = sorted(set(before) - set(now)) if ok and key in previous else []
        entry["previous"] = previous[key]["run_id"] if ok and key in previous else None
        if ok and entry.get("trigger") != "rerun":  # a rerun of an old date must not become the baseline
            previous[key] = entry
    return found[::-1]


def select(found: list[dict], job: str | None = None, playbook: str | None = None, status: str | None = None,
           since: dt.date | None = None, until: dt.date | None = None) -> list[dict]:
    """The runs matching every given filter (dates compare with the run's start day)."""
    def keep(e: dict) -> bool:
        day = started_day(e)
        return ((job is None or e.get("job") == job) and (playbook is None or e["playbook"] == playbook)
                and (status is None or e["status"] == status) and (since is None or (day is not None and day >= since))
                and (until is None or (day is not None and day <= until)))
    return [e for e in found if keep(e)]


def started_day(entry: dict) -> dt.date | None:
    """The day a run started, None for a record without a start time (written by an older version)."""
    try:
        return dt.date.fromisoformat((entry.get("started") or "")[:10])
    except ValueError:
        return None


def find(run_id: str, root: Path | None = None) -> dict:
    """The index entry of a run by id (or a unique prefix); ParamError in Chinese otherwise."""
    matches = [e for e in entries(root) if e["run_id"].startswith(run_id)]
    if len(matches) != 1:
        what = "找不到" if not matches else f"有 {len(matches)} 个运行匹配"
        raise ParamError(f"{what}运行编号 {run_id!r}：用 `opsbook runs` 查看运行编号")
    return matches[0]


def result_of(entry: dict, root: Path | None = None) -> dict:
    """The full result.json of an indexed run (flags, tables, metrics)."""
    path = (root or paths.runs()) / entry["folder"] / "result.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else dict(entry, flags=[], tables={})


def changes_for(run_id: str, root: Path | None = None) -> dict:
    """Flag codes new and resolved in a run since its job's previous good run."""
    entry = next((e for e in entries(root) if e["run_id"] == run_id), {})
    return {"new": entry.get("new", []), "resolved": entry.get("resolved", [])}


def report_link(result: dict, root: Path | None = None) -> str:
    """Where staff open a run's report: $OPSBOOK_BASE_URL + path under runs/, else a file:// URI."""
    folder = result.get("folder")
    if not folder:
        return ""
    report = Path(folder) / "report.html"
    base = os.environ.get("OPSBOOK_BASE_URL", "").rstrip("/")
    if base:
        return f"{base}/{os.path.relpath(report, root or paths.runs())}"
    return report.resolve().as_uri()


def _flag_messages(entry: dict, codes: list[str], source: dict) -> list[dict]:
    """The flags (severity, message) behind `codes`, taken from the run that has them."""
    by_code = {f["code"]: f for f in source.get("flags", [])}
    return [by_code.get(c, {"code": c, "severity": entry.get("flag_codes", {}).get(c, "low"), "message": c}) for c in codes]


def page_rows(root: Path | None = None, limit: int = PAGE_RUNS, found: list[dict] | None = None) -> list[dict]:
    """The newest runs for the history page, with new and resolved flags spelled out."""
    root = root or paths.runs()
    found = entries(root) if found is None else found
    by_id = {e["run_id"]: e for e in found}
    rows = []
    for entry in found[:limit]:
        result = result_of(entry, root) if entry["new"] else {}
        previous = by_id.get(entry.get("previous") or "")
        before = result_of(previous, root) if entry["resolved"] and previous else {}
        rows.append(dict({"seconds": {}, "flag_counts": {}}, **entry, status_text=STATUS.get(entry["status"], entry["status"]),
                         report=f"{entry['folder']}/report.html",
                         new_flags=_flag_messages(entry, entry["new"], result),
                         resolved_flags=_flag_messages(entry, entry["resolved"], before)))
    return rows


@lru_cache(maxsize=1)
def _templates() -> Environment:
    return Environment(loader=FileSystemLoader(Path(__file__).parent / "templates" / "history"),
                       autoescape=select_autoescape(["html", "j2"]))


def render(rows: list[dict], links: bool = True) -> str:
    """The history page as one self-contained HTML document (no scripts or fonts from the network)."""
    return _templates().get_template("page.html.j2").render(
        rows=rows, links=links, severity=flags_mod.SEVERITY,
        generated=dt.datetime.now(runner.TZ).strftime("%Y-%m-%d %H:%M"))


def write_page(root: Path | None = None) -> Path:
    """Write runs/index.html (atomically), linking each run's report by relative path."""
    root = root or paths.runs()
    target = root / PAGE
    tmp = target.with_name(f".{PAGE}.{os.getpid()}.{threading.get_ident()}")
    tmp.write_text(render(page_rows(root)), encoding="utf-8")
    os.replace(tmp, target)
    return target
