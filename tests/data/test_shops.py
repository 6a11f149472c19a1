"""The shop registry (shops.yaml): strict validation in Chinese, who sees which shop, and PostgreSQL connections
only to the servers of registered shops — refused before any connection is attempted."""
from __future__ import annotations

import socket
import textwrap
import threading

import pytest
from conftest import REPO

from opsbook import sources, spec
from opsbook.data import postgres, shops
from opsbook.errors import DataError, ParamError

GOOD = """
shops:
  - name: 天猫旗舰店
    platform: TM
    source: data/sample
    users: [张三]
    roles: [运营, 主管]
  - name: 京东自营店
    platform: JD
    source: postgresql://ops@127.0.0.1:{port}/jd?schema=ops
    password_env: OPSBOOK_PG_JD
    roles: [运营]
  - name: 抖店
    platform: DY
    source: data/douyin.duckdb
    users: [李四]
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project home of its own; `write(text)` puts its shops.yaml there."""
    monkeypatch.setenv("OPSBOOK_HOME", str(tmp_path))
    (tmp_path / "playbooks").symlink_to(REPO / "playbooks")
    for name in ("PGHOST", "PGHOSTADDR", "PGPORT", "PGSERVICE"):
        monkeypatch.delenv(name, raising=False)

    def write(text: str) -> None:
        (tmp_path / "shops.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return write


@pytest.fixture
def listener():
    """A TCP socket listening on 127.0.0.1 that tells whether anything connected to it (nothing ever answers)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)

    def connected() -> bool:
        try:
            conn, _ = server.accept()  # a connect() completes the handshake even before accept(): it waits here
        except BlockingIOError:
            return False
        conn.close()
        return True
    yield server.getsockname()[1], connected
    server.close()


def test_without_shops_yaml_the_sample_shop_is_everyones(project):
    assert not shops.registered()
    assert shops.load() == [shops.SAMPLE]
    assert shops.SAMPLE.source == "data/sample" and shops.SAMPLE.kind == "folder"
    assert [s.name for s in shops.visible("谁都行", ("客服",))] == ["示例店铺"]
    assert shops.server_problem(shops.url_settings("postgresql://u@10.9.9.9:5432/x")) is None  # no registry: no guard


def test_registry_says_who_sees_which_shop(project):
    project(GOOD.format(port=5433))
    found = {s.name: s for s in shops.load(known_roles=("运营", "主管", "客服", "管理员"))}
    assert list(found) == ["天猫旗舰店", "京东自营店", "抖店"]
    assert [found[n].kind for n in found] == ["folder", "postgres", "duckdb"]
    assert found["天猫旗舰店"].label == "天猫旗舰店（天猫）"
    assert [s.name for s in shops.visible("张三", ("客服",))] == ["天猫旗舰店"]  # by name
    assert [s.name for s in shops.visible("王五", ("运营",))] == ["天猫旗舰店", "京东自营店"]  # by role
    assert [s.name for s in shops.visible("李四", ())] == ["抖店"]
    assert shops.visible("赵六", ("客服",)) == []
    assert len(shops.visible("管理员甲", (), everything=True)) == 3  # 管理员 sees all
    assert shops.find("抖店").source == "data/douyin.duckdb"
    with pytest.raises(ParamError, match="店铺 '拼多多店' 不在shops.yaml中（已登记：天猫旗舰店、京东自营店、抖店）"):
        shops.find("拼多多店")


@pytest.mark.parametrize(("text", "expected"), [
    ("shops:\n  - name: 天猫店\n    platform: TM\n    source: data/a\n    sorce: data/b\n",
     "店铺 天猫店：未知的键 sorce（可用：name, platform, source, password_env, users, roles）"),
    ("shops:\n  - {name: 天猫店, platform: TM, source: data/a}\n  - {name: 京东店, platform: JD, source: data/b}\n"
     "  - {name: 天猫店, platform: TB, source: data/c}\n",
     "店铺名称 天猫店 重复（第 1、3 个店铺）"),
    ("shops:\n  - {name: 天猫店, platform: TMALL, source: data/a}\n", "店铺 天猫店：platform 'TMALL' 不是有效平台"),
    ("shops:\n  - {name: 天猫店, source: data/a}\n", "店铺 天猫店：platform 缺失"),
    ("shops:\n  - {name: 天猫店, platform: TM}\n", "店铺 天猫店：缺少 source"),
    ("shops:\n  - {name: 天猫店, platform: TM, source: '  '}\n", "店铺 天猫店：缺少 source"),
    ("shops:\n  - {name: 天猫店, platform: TM, source: 'postgresql://ops:hunter2@db:5432/tm'}\n",
     "店铺 天猫店：source 地址 postgresql://ops:***@db:5432/tm 中含有密码"),
    ("shops:\n  - {name: 天猫店, platform: TM, source: 'mysql://ops@db/tm'}\n", "店铺 天猫店：source 'mysql://ops@db/tm' 不是支持的地址"),
    ("shops:\n  - {name: 天猫店, platform: TM, source: 'postgresql://ops@db:54x/tm'}\n", "店铺 天猫店：source 地址 postgresql://ops@db:54x/tm 格式不对：端口 '54x' 不是数字"),
    ("shops:\n  - {name: 天猫店, platform: TM, source: data/a, password_env: PG_TM}\n",
     "店铺 天猫店：password_env 只用于 postgresql:// 数据源"),
    ("shops:\n  - {name: 天猫店, platform: TM, source: 'postgresql://ops@db/tm', password_env: 'my password'}\n",
     "店铺 天猫店：password_env 'my password' 不是有效的环境变量名"),
    ("shops:\n  - {name: 天猫店, platform: TM, source: data/a, roles: [运营, 老板]}\n", "店铺 天猫店：角色 老板 不存在"),
    ("shops:\n  - {name: 天猫店, platform: TM, source: data/a, users: 张三}\n", "店铺 天猫店：users 应为名称列表"),
    ("shops:\n  - {name: ../etc, platform: TM, source: data/a}\n", "第 1 个店铺：name '../etc' 不可用"),
    ("shops:\n  - {platform: TM, source: data/a}\n", "第 1 个店铺：name 缺失"),
    ("shops:\n  - 天猫店\n", "第 1 个店铺应为“键: 值”映射"),
    ("shops: []\n", "缺少 shops"),
    ("shop:\n  - {name: 天猫店, platform: TM, source: data/a}\n", "未知的顶层键 shop"),
    ("shops: [unclosed\n", "无法读取（应为 UTF-8 的 YAML）"),
    ("- a\n", "顶层应为“shops: 店铺列表”"),
    ("x: &a [1]\nshops: *a\n", "使用了 YAML 别名"),
])
def test_every_mistake_in_shops_yaml_is_named(project, text, expected):
    project(text)
    with pytest.raises(ParamError) as info:
        shops.load(known_roles=("运营", "主管"))
    assert any(expected in p for p in info.value.problems), info.value.problems
    assert "shops.yaml" in info.value.message


def test_all_mistakes_are_listed_at_once(project):
    project("shops:\n  - {name: 甲店, platform: XX, source: data/a, colour: red}\n  - {name: 乙店, platform: TM}\n")
    with pytest.raises(ParamError) as info:
        shops.load()
    text = "\n".join(info.value.problems)
    assert "店铺 甲店：未知的键 colour" in text and "店铺 甲店：platform 'XX'" in text and "店铺 乙店：缺少 source" in text


def test_a_server_outside_the_registry_is_refused_before_any_connection(project, listener):
    port, connected = listener
    project(GOOD.format(port=port + 1 if port < 65535 else port - 1))  # the registry names another port
    url = f"postgresql://ops@127.0.0.1:{port}/jd?schema=ops"
    with pytest.raises(DataError, match=rf"PostgreSQL 服务器 127.0.0.1:{port} 不属于任何已登记的店铺（shops.yaml），未连接"):
        sources.open_source(url).connect()  # how every playbook opens its source
    with pytest.raises(DataError, match="不属于任何已登记的店铺"):
        with postgres.connect(postgres.Database.parse(url)):  # how ingest and convert write into one
            pass
    with pytest.raises(ParamError, match=r"参数 source（数据源）不可用：PostgreSQL 服务器 .* 不属于任何已登记的店铺"):
        spec.load("kpi_report").validate({"source": url})  # `jobs check`, the CLI and the forms refuse it early
    assert not connected(), "opsbook connected to a server no shop is registered on"


@pytest.mark.parametrize("trick", ["?host=127.0.0.1&port={port}", "?hostaddr=127.0.0.1&port={port}",
                                   "?port={port}", "?service=elsewhere"])
def test_query_parameters_cannot_lead_elsewhere(project, listener, trick):
    port, connected = listener
    project(GOOD.format(port=port + 1 if port < 65535 else port - 1))
    registered = port + 1 if port < 65535 else port - 1
    url = f"postgresql://ops@127.0.0.1:{registered}/jd" + trick.format(port=port)
    with pytest.raises(DataError, match="未连接|无法核对"):
        sources.open_source(url).connect()
    assert not connected()


def test_a_registered_server_is_connected_to(project, listener, monkeypatch):
    """The guard lets a registered shop's server through: the listening socket sees the connection (it speaks no
    PostgreSQL and hangs up, so the connection then fails with the usual Chinese message)."""
    port, connected = listener
    project(GOOD.format(port=port))
    monkeypatch.setenv("OPSBOOK_PG_JD", "s3cret-pw")
    seen, stop = [], threading.Event()

    def hang_up():  # answer nothing and close: libpq gives up at once instead of waiting for its timeout
        while not stop.is_set():
            if connected():
                seen.append(True)
            stop.wait(0.02)
    thread = threading.Thread(target=hang_up, daemon=True)
    thread.start()
    try:
        with pytest.raises(DataError, match=rf"无法连接 PostgreSQL 数据库 jd（服务器 127.0.0.1:{port}") as info:
            sources.open_source(f"postgresql://ops@127.0.0.1:{port}/jd?schema=ops").connect()
    finally:
        stop.set()
        thread.join(5)
    assert seen
    assert "s3cret-pw" not in str(info.value)


def test_a_shops_password_comes_from_its_environment_variable(project, monkeypatch):
    project(GOOD.format(port=5433))
    settings = shops.url_settings("postgresql://ops@127.0.0.1:5433/jd")
    monkeypatch.delenv("OPSBOOK_PG_JD", raising=False)
    with pytest.raises(DataError, match="店铺 京东自营店 的数据库密码应在环境变量 OPSBOOK_PG_JD 中，但它没有设置"):
        shops.password(settings)
    monkeypatch.setenv("OPSBOOK_PG_JD", "s3cret-pw")
    assert shops.password(settings) == "s3cret-pw"
    assert shops.password(shops.url_settings("postgresql://other@127.0.0.1:5433/jd")) is None  # another user: not its
    assert shops.password(shops.url_settings("postgresql://ops@127.0.0.1:5433/tm")) is None    # another database


def test_a_malformed_registry_refuses_every_postgresql_source(project):
    project("shops:\n  - {name: 甲店, platform: XX, source: data/a}\n")
    with pytest.raises(ParamError, match="店铺登记 shops.yaml 有误.*platform 'XX'"):
        spec.load("kpi_report").validate({"source": "postgresql://ops@127.0.0.1:5432/x"})


def test_the_example_registry_is_valid(project, tmp_path):
    from opsbook.ops import accounts
    (tmp_path / "shops.yaml").write_text((REPO / "shops.example.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    found = shops.load(known_roles=accounts.ROLES)
    assert [s.name for s in found] == ["天猫旗舰店", "京东自营店", "示例店铺"]
    assert found[1].password_env == "OPSBOOK_PG_JD" and found[1].kind == "postgres"


def test_a_registered_postgresql_shop_connects_and_another_database_server_does_not(project, postgres_url):
    """Against the real test server: its registered address connects; the same server by another name does not."""
    project(f"shops:\n  - {{name: 仓库, platform: 多平台, source: '{postgres_url}?schema=public'}}\n")
    with postgres.connect(postgres.Database.parse(postgres_url)) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    elsewhere = postgres_url.replace("127.0.0.1", "localhost")
    with pytest.raises(DataError, match="PostgreSQL 服务器 localhost:.* 不属于任何已登记的店铺"):
        postgres.connect(postgres.Database.parse(elsewhere)).__enter__()
