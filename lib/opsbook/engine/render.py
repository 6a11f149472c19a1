"""The report of a run: the executed notebook's outputs as one offline HTML page, without code or tracebacks."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import nbformat

from .records import RunRecord

TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def warm_renderer():
    """The report exporter, its templates compiled (~0.5 s, once per process; forms warm it before the first run)."""
    from nbconvert import HTMLExporter
    return HTMLExporter(template_name="report", extra_template_basedirs=[str(TEMPLATES)],
                        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)


def render_html(nb: nbformat.NotebookNode, title: str, record: RunRecord) -> str:
    """The report: outputs only (no code, no stderr), titled, with a footer naming the run."""
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            # no warnings and no tracebacks for staff: the error is summarised in Chinese below the title
            cell.outputs = [o for o in cell.outputs if o.get("output_type") != "error"
                            and not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
    if record.error:
        nb.cells.insert(1, nbformat.v4.new_markdown_cell(f"> **运行失败**：{record.error}"))
    footer = f"{record.playbook} · {record.run_id} · {record.started} · {record.git}"
    if record.user:
        footer += f" · 运行人 {record.user}"
    body, _ = warm_renderer().from_notebook_node(nb, resources={"metadata": {"name": f"{title} · {record.run_id}"},
                                                               "opsbook_footer": footer})
    return body
