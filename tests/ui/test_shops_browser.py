"""Shops in the browser: the 数据源 field offers the registered shops and a run uses the one chosen; 数据导入 writes
only into a registered folder shop. One voila server (as `opsbook serve` starts it, token mode: 本机 is 管理员) on a
project of its own with a shops.yaml."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO
from test_forms_browser import FIRST_RUN_MS, PAGE_MS, open_form, run_id_from, voila

from opsbook import paths
from opsbook.ui import serve

pytestmark = pytest.mark.browser

SHOPS = """shops:
  - {{name: 天猫旗舰店, platform: TM, source: data/sample, roles: [运营]}}
  - {{name: 京东店, platform: JD, source: "postgresql://ops@127.0.0.1:5999/jd", roles: [运营]}}
  - {{name: 抖店仓库, platform: DY, source: {warehouse}, users: [张三]}}
"""


@pytest.fixture(scope="module")
def shops_server(tmp_path_factory, artifacts):
    """voila serving the forms of a project that has three shops (a folder, a PostgreSQL server, a warehouse)."""
    if not (paths.root() / "data" / "sample" / "orders.parquet").is_file():
        pytest.skip("data/sample is missing: run `opsbook sample` first")
    home = tmp_path_factory.mktemp("shops-home")
    for name in ("playbooks", "params"):
        (home / name).symlink_to(REPO / name)
    (home / "data").mkdir()
    for name in ("sample", "reference"):
        (home / "data" / name).symlink_to(REPO / "data" / name)
    warehouse = tmp_path_factory.mktemp("shops-warehouse")
    (home / "shops.yaml").write_text(SHOPS.format(warehouse=warehouse), encoding="utf-8")
    with voila(tmp_path_factory.mktemp("shops-forms"), artifacts / "shops-forms",
               env={"OPSBOOK_HOME": str(home)}) as server:
        server.warehouse, server.home = warehouse, home
        yield server


@pytest.fixture
def page(chromium):
    """A fresh browser tab (its form kernel is shut down when the tab closes), as in test_forms_browser."""
    context = chromium.new_context(viewport={"width": 1280, "height": 1000})
    tab = context.new_page()
    yield tab
    tab.close(run_before_unload=True)
    context.close()


def test_a_run_uses_the_shop_chosen_in_the_dropdown(shops_server, page):
    name = "kpi_report"
    open_form(page, shops_server, name)
    select = page.locator(".ob-param-shop select")
    labels = [o.strip() for o in select.locator("option").all_inner_texts()]
    assert labels[:3] == ["天猫旗舰店（天猫）", "京东店（京东）", "抖店仓库（抖音）"] and "自定义数据源" in labels[3]
    assert page.locator(".ob-param-source input").is_visible()  # 管理员 (token mode) keeps the path field
    select.select_option(label="天猫旗舰店（天猫）")
    page.wait_for_selector(".ob-param-source input", state="hidden", timeout=30_000)
    page.click("button.ob-run")
    page.wait_for_selector(".ob-report iframe", state="visible", timeout=FIRST_RUN_MS)
    run_id = run_id_from(page)
    result = json.loads((shops_server.runs / name / run_id / "result.json").read_text(encoding="utf-8"))
    assert result["status"] == "ok" and result["trigger"] == "form"
    assert result["params"]["shop"] == "天猫旗舰店" and result["params"]["source"] == "data/sample"
    header = page.frame_locator(".ob-report iframe").locator(".ob-params").first.inner_text()
    assert "店铺" in header and "天猫旗舰店" in header  # the report says which shop


def test_a_postgresql_shop_elsewhere_is_never_reached_from_a_typed_url(shops_server, page):
    open_form(page, shops_server, "user_tiering")
    source = page.locator(".ob-param-source input")
    source.fill("postgresql://ops@127.0.0.1:1/other")
    source.press("Tab")
    page.click("button.ob-run")
    box = page.wait_for_selector(".ob-message .ob-error-box", state="visible", timeout=30_000).inner_text()
    assert "不属于任何已登记的店铺" in box and "未连接" in box


def test_import_form_writes_only_into_a_registered_folder_shop(shops_server, page, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).parents[1] / "data"))  # also when tests/data is not collected
    from test_intake import DY_HEADER, dy_rows, write
    good = write(tmp_path / "抖店订单.csv", DY_HEADER, dy_rows(n=3), "gbk")
    bad = write(tmp_path / "随便.csv", ["x"], [["1"]])
    page.goto(shops_server.page_url(serve.IMPORT_FORM))
    page.wait_for_selector("button.ob-import", state="visible", timeout=PAGE_MS)
    select = page.locator(".ob-param-into select")
    assert [o.strip() for o in select.locator("option").all_inner_texts()] == ["天猫旗舰店（天猫）", "抖店仓库（抖音）"]
    assert page.locator(".ob-form input[type='text']").count() == 0  # no typed path anywhere
    select.select_option(label="抖店仓库（抖音）")
    with page.expect_file_chooser(timeout=30_000) as chooser:  # FileUpload opens a chooser like a real click
        page.click(".ob-upload")
    chooser.value.set_files([str(good), str(bad)])
    page.wait_for_selector(".ob-upload:has-text('2')", timeout=30_000)  # the button counts the chosen files
    page.click("button.ob-import")
    page.wait_for_selector(".ob-import-result li:has-text('新增 3 行')", timeout=60_000)
    text = page.inner_text(".ob-import-result")
    assert "抖店订单（DY）" in text and "找不到表头" in text and "Traceback" not in page.content()
    stored = pd.read_parquet(shops_server.warehouse / "orders.parquet")
    assert len(stored) == 3 and stored["phone"].str.contains(r"\*\*\*\*").all()
    monkeypatch.setenv("OPSBOOK_HOME", str(shops_server.home))  # the server's project keeps the audit log
    from opsbook.ops import audit
    trail = {e["detail"]["file"]: e for e in audit.events(action="import")}
    assert trail["抖店订单.csv"]["detail"]["status"] == "ok" and trail["随便.csv"]["detail"]["status"] == "failed"
    assert trail["抖店订单.csv"]["who"] == "本机"
