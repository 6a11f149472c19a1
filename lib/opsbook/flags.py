"""Flags: one actionable finding with severity, owner role and the rows it concerns."""
from __future__ import annotations

import html
from dataclasses import asdict, dataclass, field

import pandas as pd

from .data import privacy
from .settings import Severity

_COLOURS = {Severity.HIGH: "#c0392b", Severity.MEDIUM: "#e67e22", Severity.LOW: "#2980b9"}


@dataclass
class Flag:
    """A finding for staff: `code` identifies it across runs, `message` is Chinese."""

    code: str
    severity: Severity
    owner: str
    message: str
    rows: int = 0
    sample: list[dict] = field(default_factory=list)

    def __post_init__(self):
        if self.severity not in set(Severity):
            raise ValueError(f"severity must be one of {[str(s) for s in Severity]}, not {self.severity!r}")
        self.severity = Severity(self.severity)

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return asdict(self)


def make(code: str, severity: str, owner: str, message: str, rows: pd.DataFrame | None = None,
         sample_size: int = 10) -> Flag:
    """A Flag, keeping the count and a JSON-safe sample of the affected rows; phones quoted in the message (a value
    copied from the data, e.g. a tracking number that is a mobile number) are masked like the rows."""
    sample = [] if rows is None else _json_rows(rows.head(sample_size))
    return Flag(code, severity, owner, privacy.mask_phone(message), 0 if rows is None else len(rows), sample)


def _json_value(v):
    if pd.isna(v):
        return None
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if hasattr(v, "item"):
        return v.item()
    return privacy.mask_phone(v) if isinstance(v, str) else v


def _json_rows(df: pd.DataFrame) -> list[dict]:
    return [{str(k): _json_value(v) for k, v in row.items()} for row in df.to_dict("records")]


def counts(flags: list[Flag]) -> dict[str, int]:
    """Number of flags per severity."""
    return {str(s): sum(f.severity == s for f in flags) for s in Severity}


def to_html(flags: list[Flag]) -> str:
    """The flags section of a report."""
    if not flags:
        return '<div class="ob-flags ob-ok"><h3>提示 (0)</h3><p>✅ 没有发现需要处理的问题。</p></div>'
    order = {s: i for i, s in enumerate(Severity)}
    rows = "".join(
        f'<tr><td><span class="ob-sev" style="background:{_COLOURS[f.severity]}">{f.severity.label}</span></td>'
        f'<td class="ob-text">{html.escape(f.owner)}</td><td class="ob-text">{html.escape(f.message)}</td>'
        f"<td>{f.rows}</td></tr>"
        for f in sorted(flags, key=lambda f: order[f.severity]))
    c = counts(flags)
    summary = " · ".join(f"{Severity(s).label} {n}" for s, n in c.items() if n)
    return (f'<div class="ob-flags"><h3>提示 ({len(flags)}：{summary})</h3>'
            '<table class="ob-table"><thead><tr><th>级别</th><th>负责角色</th><th>问题与建议</th><th>涉及行数</th></tr>'
            f"</thead><tbody>{rows}</tbody></table></div>")
