"""The forms offer the shops of the page's user (shops.yaml, `session.current()`), never a path — except to 管理员."""
from __future__ import annotations

import pytest
from conftest import REPO

from opsbook import spec
from opsbook.errors import OpsbookError, ParamError
from opsbook.ops import accounts
from opsbook.ui import session
from opsbook.ui.forms import import_form, run_form
from opsbook.ui.forms.widgets import NO_SHOP

SHOPS = """shops:
  - {name: 天猫旗舰店, platform: TM, source: data/sample, roles: [运营]}
  - {name: 京东店, platform: JD, source: "postgresql://ops@127.0.0.1:5999/jd", users: [李四]}
  - {name: 抖店, platform: DY, source: data/douyin.duckdb, roles: [运营]}
  - {name: 仓储店, platform: PDD, source: data/pdd, roles: [仓储]}
"""
PASSWORD = "correct-horse-9"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project of its own with shops.yaml and accounts; the page's session is restored afterwards."""
    monkeypatch.setenv("OPSBOOK_HOME", str(tmp_path))
    (tmp_path / "playbooks").symlink_to(REPO / "playbooks")
    (tmp_path / "shops.yaml").write_text(SHOPS, encoding="utf-8")
    for name in ("_current", "_address", "_accounts_mode"):
        monkeypatch.setattr(session, name, getattr(session, name))
    accounts.add("张三", ["运营"], PASSWORD)
    accounts.add("李四", ["客服"], PASSWORD)
    accounts.add("王五", ["主管"], PASSWORD)  # may open kpi_report, sees no shop
    accounts.add("老板", ["管理员"], PASSWORD)
    return tmp_path


def source_field(form: run_form.Form) -> run_form.SourceField:
    """The form's 数据源 field."""
    return form.sources["source"]


def test_staff_see_only_their_shops_and_no_path_field(project):
    session.begin("张三", "10.0.0.7")
    form = run_form.build("kpi_report")
    field = source_field(form)
    assert [name for _label, name in field.shop.options] == ["天猫旗舰店", "抖店"]  # by role 运营
    assert field.shop.value == "天猫旗舰店" and field.text is None and "source" not in form.inputs
    values = form.spec.validate(form.values())
    assert values["shop"] == "天猫旗舰店" and values["source"] == "data/sample"  # the shop is recorded with the run
    field.shop.value = "抖店"
    assert form.values()["shop"] == "抖店"

    session.begin("李四")
    assert [n for _l, n in source_field(run_form.build("kpi_report")).shop.options] == ["京东店"]  # by name


def test_a_shop_taken_away_since_the_page_opened_is_refused(project):
    session.begin("张三")
    form = run_form.build("user_tiering")
    (project / "shops.yaml").write_text(SHOPS.replace("roles: [运营]}", "roles: [主管]}", 1), encoding="utf-8")
    with pytest.raises(ParamError, match="你的账号不能使用店铺 天猫旗舰店"):
        form.values()
    form.on_click()
    assert "你的账号不能使用店铺 天猫旗舰店" in form.message.value and not form.running


def test_someone_without_shops_gets_a_chinese_note_and_no_run(project):
    session.begin("王五")
    form = run_form.build("kpi_report")
    field = source_field(form)
    assert field.shop.options == () and field.shop.disabled and NO_SHOP in field.note.value
    form.on_click()
    assert NO_SHOP in form.message.value and not form.running


def test_admins_keep_the_path_field_beside_every_shop(project):
    session.begin("老板")
    field = source_field(run_form.build("kpi_report"))
    assert [n for _l, n in field.shop.options] == ["天猫旗舰店", "京东店", "抖店", "仓储店", None]
    assert field.shop.value is None and field.text.value == "data/sample"  # today's field, shown
    assert field.text.layout.display is None
    field.text.value = "data/elsewhere"
    assert field.values() == {"source": "data/elsewhere"}
    field.shop.value = "仓储店"
    assert field.text.layout.display == "none" and field.values() == {"shop": "仓储店"}


def test_token_mode_is_the_local_admin(project):
    session._accounts_mode = False  # what a page of `opsbook serve` without accounts has
    field = source_field(run_form.build("kpi_report"))
    assert None in [n for _l, n in field.shop.options] and field.text is not None


def test_the_import_form_offers_only_folder_shops_of_the_user(project):
    session.begin("张三")
    form = import_form.ImportForm()
    assert [n for _l, n in form.into.options] == ["天猫旗舰店"]  # 抖店 is a DuckDB file; 仓储店 is not theirs
    assert form.warehouse() == "data/sample"
    session.begin("老板")
    form = import_form.ImportForm()
    assert [n for _l, n in form.into.options] == ["天猫旗舰店", "仓储店"]  # never a PostgreSQL or DuckDB shop
    form.into.value = "仓储店"
    (project / "shops.yaml").write_text(SHOPS.replace("仓储店", "仓库店"), encoding="utf-8")
    with pytest.raises(OpsbookError, match="不能向店铺 仓储店 导入数据"):
        form.warehouse()
    session.begin("王五")
    form = import_form.ImportForm()
    assert form.into.options == () and NO_SHOP in form.result.value
    form.on_click()  # and importing is for 管理员 in any case (the server answers others with its 403 page)
    assert "没有使用此页面的角色" in form.result.value


def test_the_spec_resolves_a_shop_and_refuses_what_does_not_fit(project):
    kpi = spec.load("kpi_report")
    assert kpi.validate({"shop": "抖店"})["source"] == "data/douyin.duckdb"
    assert kpi.validate({"shop": "抖店", "source": "data/douyin.duckdb"})["shop"] == "抖店"  # a rerun's parameters
    for values, message in (({"shop": "拼多多店"}, "店铺 '拼多多店' 不在shops.yaml中"),
                            ({"shop": "抖店", "source": "data/sample"}, "同时指定了店铺 抖店 和数据源 data/sample"),
                            ({"shop": ""}, "店铺（shop）不能为空")):
        with pytest.raises(ParamError, match=message):
            kpi.validate(values)


def test_the_history_page_lists_only_the_runs_of_the_users_playbooks(project, monkeypatch, tmp_path):
    from opsbook.engine import runner
    from opsbook.ui.forms import history_form
    monkeypatch.setenv("OPSBOOK_RUNS", str(tmp_path / "runs"))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "sample").symlink_to(REPO / "data" / "sample")
    (tmp_path / "data" / "reference").symlink_to(REPO / "data" / "reference")
    assert runner.run("kpi_report", {"period": "日", "report_date": "2026-06-29"}).ok
    assert runner.run("supplier_review", {}).ok
    on_shop = runner.run("kpi_report", {"period": "日", "report_date": "2026-06-29", "shop": "天猫旗舰店"})
    assert on_shop.ok
    accounts.add("采购员", ["采购"], PASSWORD)
    for name, expected in (("张三", {"kpi_report"}), ("采购员", set()),  # data/sample is 天猫旗舰店's, not 采购's
                           ("老板", {"kpi_report", "supplier_review"})):
        session.begin(name)
        page = history_form.HistoryPage()
        shown = {history_form.history.find(run_id).record.playbook for _label, run_id in page.run.options}
        assert shown == expected, name
    session.begin("王五")  # 主管: may open both playbooks, sees no shop: every run here was on 天猫旗舰店's data
    assert history_form.HistoryPage().run.options == ()
    session.begin("张三")  # 运营 of 天猫旗舰店
    assert on_shop.run_id in {run_id for _label, run_id in history_form.HistoryPage().run.options}


def test_a_runs_files_are_served_only_to_those_who_see_its_shop(project, monkeypatch, tmp_path):
    from opsbook.engine import runner
    from opsbook.ui import voila_app
    monkeypatch.setenv("OPSBOOK_RUNS", str(tmp_path / "runs"))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "sample").symlink_to(REPO / "data" / "sample")
    (tmp_path / "data" / "reference").symlink_to(REPO / "data" / "reference")
    run = runner.run("kpi_report", {"period": "日", "report_date": "2026-06-29", "shop": "天猫旗舰店"})
    assert run.ok
    assert voila_app.run_file("kpi_report", run.run_id, "report.html") == run.report
    assert voila_app.run_file("kpi_report", run.run_id, "report.html", lambda params: params.get("shop") == "天猫旗舰店") == run.report
    assert voila_app.run_file("kpi_report", run.run_id, "report.html", lambda params: False) is None


def test_a_run_on_a_shops_source_is_seen_only_by_those_who_see_the_shop(project, monkeypatch, tmp_path):
    from opsbook.engine import runner
    from opsbook.ui import voila_app
    from opsbook.ui.forms import history_form
    monkeypatch.setenv("OPSBOOK_RUNS", str(tmp_path / "runs"))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "sample").symlink_to(REPO / "data" / "sample")
    (tmp_path / "data" / "reference").symlink_to(REPO / "data" / "reference")
    run = runner.run("kpi_report", {"period": "日", "report_date": "2026-06-29", "source": "data/sample"})  # no shop named
    assert run.ok and "shop" not in run.params
    for name, sees in (("张三", True), ("王五", False), ("老板", True)):
        session.begin(name)
        assert (run.run_id in {r for _l, r in history_form.HistoryPage().run.options}) is sees, name
        assert history_form.may_see_run(run.params) is sees, name
    assert voila_app.run_file("kpi_report", run.run_id, "report.html", lambda params: False) is None


def test_a_disabled_account_sees_no_more_runs_on_an_open_page(project, monkeypatch, tmp_path):
    from opsbook.ui.forms import history_form
    monkeypatch.setenv("OPSBOOK_RUNS", str(tmp_path / "runs"))
    session.begin("张三")
    page = history_form.HistoryPage()
    accounts.disable("张三")
    page.load()
    assert "已停用" in page.table.value and page.run.options == ()
    page.show()
    assert "已停用" in page.detail.value
