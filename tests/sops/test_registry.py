"""The sops package as the registry of playbook modules: labels and warm-up come from it, not from names in code."""
import sys

from opsbook import sops
from opsbook.spec import available


def test_every_playbook_has_a_module_and_its_labels():
    assert set(available()) <= set(sops.module_names())
    assert sops.labels("user_tiering")["segment"] == "客户分层"
    assert sops.labels("kpi_report")["repurchase_rate"] == "复购率"


def test_a_notebook_without_a_module_has_no_labels():
    assert sops.module("probe") is None and sops.labels("probe") == {}
    assert sops.labels("periods") == {}  # a shared helper declares none


def test_import_all_imports_every_module():
    sops.import_all()
    assert all(f"opsbook.sops.{name}" in sys.modules for name in sops.module_names())
