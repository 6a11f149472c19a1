"""The run context a playbook notebook opens after its parameters cell: typed params, flags, metrics, tables."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType, SimpleNamespace
from typing import Any

import pandas as pd
from IPython.display import HTML, display

from . import flags as flags_mod
from . import charts, report, sops, spec as spec_mod
from .jsonsafe import json_dumps

KERNEL_RESULT = "kernel_result.json"  # what `finish()` leaves for the runner in the run folder


@dataclass
class Run:
    """What one execution of a playbook has found so far; `finish()` hands it to the runner."""

    spec: spec_mod.Spec
    values: MappingProxyType
    out_dir: Path | None = None
    labels: dict[str, str] = field(default_factory=dict)
    flags: list[flags_mod.Flag] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, list[str]] = field(default_factory=dict)

    @property
    def p(self) -> SimpleNamespace:
        """Validated parameters by attribute (`run.p.as_of` is a `datetime.date`)."""
        return SimpleNamespace(**self.values)

    def add(self, found: list[flags_mod.Flag]) -> None:
        """Add flags computed by a domain module."""
        self.flags.extend(found)

    def metric(self, name: str, value) -> None:
        """Record a headline number for result.json."""
        self.metrics[name] = value

    def table(self, stem: str, df: pd.DataFrame, max_rows: int = 30, row_format: str | None = None,
              note: str = "") -> HTML:
        """Register a result table for download (xlsx + csv) and return its on-page view, `note` under it.

        `row_format` names a column giving each row's number format (`report.FORMATS`: money, pct, count …) for
        tables whose rows measure different things; it is not shown.
        """
        names = report.export(df, self.out_dir, stem, self.labels, row_format) if self.out_dir is not None else []
        self.tables[stem] = names
        if names and f"{stem}.xlsx" not in names:
            note = "\n".join(filter(None, [note, f"该表共 {len(df):,} 行，超过自动生成 Excel 文件的上限"
                                               f"（{report.xlsx_max_rows():,} 行），只提供 CSV 文件（可用 Excel 打开）"]))
        return HTML(report.table_html(df, max_rows, self.labels, row_format, note))

    def finish(self) -> HTML:
        """Write what the runner reads (flags, metrics, tables) and return the flags section."""
        if self.out_dir is not None:
            payload = {"metrics": self.metrics, "flags": [f.to_dict() for f in self.flags], "tables": self.tables}
            (self.out_dir / KERNEL_RESULT).write_text(json_dumps(payload), encoding="utf-8")
        return HTML(report.CSS + flags_mod.to_html(self.flags))


def begin(name: str | Path, namespace: dict) -> Run:
    """Validate this notebook's parameter values, show the parameter header and open the Run."""
    spec = spec_mod.load(name)
    values = spec.validate({k: namespace[k] for k in spec.params if k in namespace})
    if isinstance(namespace.get(spec_mod.SHOP), str):  # the shop the runner resolved the source from: for the header
        values = {spec_mod.SHOP: namespace[spec_mod.SHOP], **values}
    out_dir = namespace.get("opsbook_run_dir")
    run = Run(spec, MappingProxyType(values), Path(out_dir) if out_dir else None, sops.labels(spec.name))
    labels = {p.name: p.label for p in spec.params.values()} | {spec_mod.SHOP: "店铺"}
    display(HTML(report.params_html(spec.title, labels, {k: spec_mod.to_json(v) for k, v in values.items()})))
    if charts.setup() is None:  # staff read the report (CLI, form, alert link): say it where they look
        display(HTML(f'<div class="ob-params" style="border-left-color:#c0392b">⚠ {charts.NO_FONT}</div>'))
    return run
