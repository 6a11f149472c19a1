"""Reports delivered to the group: after a job's good run, a short Chinese card to the targets of its `deliver:` list.

The card names the playbook, the shop or source and the period, shows the headline metrics (labelled by the
playbook module's `METRICS`), the flag counts by severity and the top flags, and links the report (at
$OPSBOOK_BASE_URL, else it says where the report is on the server); email carries `report.html` attached. It is
composed when the run is filed and queued in the alerts outbox (`ops.alerts`) in the same transaction as the run's
outcome, so it is sent beside the scheduler, retried with backoff and listed as 报告未送达 like an alert.
"""
from __future__ import annotations

import datetime as dt
from typing import Callable

from .. import report, sops, spec as spec_mod
from ..engine.records import RunRecord
from ..settings import TZ, Severity
from . import alerts, history, notify
from .state import State

MAX_METRICS = 10  # headline metrics on a card; the report has the rest
SEND_WAIT = 30.0  # seconds `opsbook jobs run` waits for its cards (what is not sent by then is retried later)
FLAG_FIELDS = ("code", "severity", "owner", "message", "rows")  # a flag on a card: never its sample rows


def value_text(name: str, value, kind: str | None = None) -> str:
    """A headline metric as staff read it: ¥ for money, % for rates (by `kind` or by its name, as table columns)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dict):
        return "、".join(f"{k} {value_text(str(k), v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "、".join(value_text(name, v) for v in value)
    if isinstance(value, (int, float)):
        import pandas as pd  # the scheduler has it loaded already; `jobs check` never comes here

        kind = kind or report.column_format(name, pd.Series([value]))[0] or "number"
        return report.FORMATS[kind][0](value)
    return str(value)


def metric_lines(playbook: str, metrics: dict) -> list[list[str]]:
    """[label, value] of the headline metrics the playbook module labels (all metrics, with the shared labels, for
    a playbook that declares none), at most MAX_METRICS."""
    declared = sops.metric_labels(playbook)
    lines = []
    for name, value in metrics.items():
        label = declared.get(name) if declared else report.label(name)
        if label is None:
            continue
        label, kind = label if isinstance(label, tuple) else (label, None)
        lines.append([label, value_text(name, value, kind)])
    return lines[:MAX_METRICS]


def top_flags(record: RunRecord) -> list[dict]:
    """The run's most severe flags (high first, in the playbook's order within a severity), at most notify.TOP_FLAGS."""
    rank = {s: i for i, s in enumerate(Severity)}
    ordered = sorted(record.flags, key=lambda f: rank.get(f.severity, len(rank)))
    return [{k: v for k, v in f.to_dict().items() if k in FLAG_FIELDS} for f in ordered[:notify.TOP_FLAGS]]


def _scope(spec: spec_mod.Spec | None, params: dict) -> tuple[str, str]:
    """(shop or source and platform, period) of a run in words, from its parameters as its spec declares them."""
    declared = spec.params.values() if spec else []
    shop = params.get("shop") or "、".join(str(params[p.name]) for p in declared if p.type == "source" and p.name in params)
    if params.get("platform"):
        shop += f"（平台 {params['platform']}）"
    period = "，".join(f"{p.label} {params[p.name]}" for p in declared
                      if (p.type == "date" or p.name.startswith("period")) and params.get(p.name) not in (None, ""))
    return shop, period


def card(job_name: str, notebook, record: RunRecord) -> dict:
    """The report card of a good run as the fields of a `notify.Event` (plain JSON, kept with the queued delivery)."""
    try:
        spec = spec_mod.load(notebook)
    except Exception:  # noqa: BLE001 - a card without the title is better than no card
        spec = None
    shop, period = _scope(spec, record.params)
    link = history.report_link(record)
    return {"job": job_name, "playbook": record.playbook, "status": str(record.status), "run_id": record.run_id or "",
            "started": record.started, "seconds": record.seconds.get("total"), "flags": top_flags(record),
            "flag_counts": dict(record.flag_counts), "link": link if link.startswith(("http://", "https://")) else "",
            "kind": notify.REPORT, "title": spec.title if spec else record.playbook, "shop": shop, "period": period,
            "metrics": metric_lines(record.playbook, record.metrics),
            "report_file": str(record.report) if record.report else ""}


def after_run(job, record: RunRecord, state: State | None = None,
              clock: Callable[[], dt.datetime] | None = None, wait: float = SEND_WAIT) -> list[dict]:
    """Queue and send the report cards of a good run made outside the scheduler (`opsbook jobs run`); returns each
    target's row (`ok`, `tries`, `error`). What is not delivered is retried by the next scheduler."""
    if not (job.deliver and record.ok and record.run_id):
        return []
    state, clock = state or State(), clock or (lambda: dt.datetime.now(TZ))
    slot = record.started or clock().isoformat(timespec="seconds")
    event = card(job.name, job.notebook, record)
    with state.transaction() as db:
        alerts.queue(db, job.name, slot, list(job.deliver), event, clock())
    outbox = alerts.Outbox(state, clock)
    try:
        outbox.drain(wait)
    finally:
        outbox.close()
    rows = state.rows("SELECT target, ok, tries, error, event FROM alerts WHERE job = ? AND slot = ? ORDER BY id",
                      job.name, slot)
    return [{k: r[k] for k in ("target", "ok", "tries", "error")} for r in rows if alerts.kind_of(r["event"]) == "report"]
