"""The form pages' Python side, without a browser: what an open page costs before anyone runs anything."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from opsbook import spec
from opsbook.ui import serve

HEAVY = ("pandas", "numpy", "papermill", "nbconvert", "duckdb", "matplotlib", "opsbook.engine.runner")
PAGE = """
import json, sys
from opsbook.ui.forms import {module}
page = {call}
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


@pytest.mark.parametrize("name", spec.available() + [serve.IMPORT_FORM])
def test_an_open_form_page_imports_nothing_a_run_needs(name):
    """An open page's kernel stays small (it held pandas, papermill and a warm run kernel: 240 + 270 MB)."""
    module, call = ("import_form", "import_form.ImportForm().widget()") if name in serve.PAGES else \
        ("run_form", f"run_form.build({name!r}).widget()")
    out = subprocess.run([sys.executable, "-c", PAGE.format(module=module, call=call, heavy=HEAVY)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.splitlines()[-1]) == []
