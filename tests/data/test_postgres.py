"""PostgreSQL as a source and as an ingest target, against a real server (the `postgres_url` fixture)."""
import re
from pathlib import Path
import shutil
import subprocess
import sys

import pandas as pd
import psycopg
import pytest
from psycopg import sql

from opsbook import paths, sources
from opsbook.data import postgres, tables
from opsbook.engine import runner
from opsbook.errors import DataError
from opsbook.data.intake import exports, ingest_file, warehouse
from test_intake import DY_HEADER, dy_rows, write  # export fixtures shared with the folder tests

PASSWORD = "hunter2-secret"
PHONE = r"1[3-9][0-9]{9}"


def schema_url(server_url: str, schema: str) -> str:
    """A fresh, empty schema of the test server, as a source/target URL (`?schema=`)."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {0} CASCADE; CREATE SCHEMA {0}").format(sql.Identifier(schema)))
    return f"{server_url}?schema={schema}"


def load(url: str, folder: str = "data/sample") -> None:
    """Copy the canonical tables of a folder into PostgreSQL, as an operator's own tools would."""
    src, db = sources.open_source(folder), postgres.Database.parse(url)
    with postgres.connect(db) as conn:
        for name in src.names():
            frame = src.table(name)
            key = tables.KEYS.get(name, [])
            postgres.ensure_table(conn, db, name, key, list(frame.columns))
            postgres.store(conn, db.ident(name), frame)


def query(url: str, text: str) -> list[tuple]:
    """Rows of a query run in the URL's schema."""
    db = postgres.Database.parse(url)
    with postgres.connect(db) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(db.schema)))
        cursor = conn.execute(text)
        return cursor.fetchall() if cursor.description else []


def checksum(url: str) -> tuple:
    """Row count and a digest of every stored order line."""
    return query(url, "SELECT count(*), md5(string_agg(o::text, '|' ORDER BY order_id, line_id)) FROM orders o")[0]


def ingest(*args: str) -> subprocess.CompletedProcess:
    """`opsbook ingest …` as staff run it."""
    return subprocess.run([sys.executable, "-m", "opsbook.ui.cli", "ingest", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def sample_pg(postgres_url):
    """The sample shop loaded into the schema `sample`."""
    url = schema_url(postgres_url, "sample")
    load(url)
    return url


@pytest.fixture
def pg(postgres_url, request):
    """An empty schema for one test; its pseudonym secret is removed afterwards."""
    url = schema_url(postgres_url, "t_" + re.sub(r"\W+", "_", request.node.name).lower()[:40])
    yield url
    shutil.rmtree(warehouse.PostgresTarget(url).secret_home, ignore_errors=True)


def test_every_view_reads_the_same_as_the_folder(sample_pg):
    folder, pg = sources.open_source("data/sample"), sources.open_source(sample_pg)
    assert pg.names() == folder.names()
    for name in folder.names() + ["real_orders", "paid_orders"]:
        expected, got = (s.sql(f"SELECT * FROM {name} ORDER BY ALL") for s in (folder, pg))
        pd.testing.assert_frame_equal(got, expected, check_dtype=False, obj=name)  # DATE vs TIMESTAMP resolution
    pg.check("orders")


@pytest.mark.slow
@pytest.mark.parametrize("playbook, params", [("user_tiering", {"as_of": "2026-06-30"}),
                                              ("kpi_report", {"period": "周", "report_date": "2026-06-28"}),
                                              ("demand_forecast", {"as_of": "2026-06-28"})])
def test_a_playbook_on_postgres_gives_the_folder_numbers(sample_pg, playbook, params):
    on_folder = runner.run(playbook, {"source": "data/sample", **params})
    on_pg = runner.run(playbook, {"source": sample_pg, **params})
    assert on_folder.ok and on_pg.ok, on_pg.error
    assert on_pg.metrics == on_folder.metrics and on_pg.metrics


def test_ingest_into_postgres_is_idempotent_updates_and_keeps_what_is_stored(tmp_path, pg):
    first = write(tmp_path / "a.csv", DY_HEADER, dy_rows("已发货"), "gbk")
    out = ingest(first, "--into", pg)
    assert out.returncode == 0, out.stderr
    assert "新增 3 行，更新 0 行（共 3 行）" in out.stdout
    again = ingest(first, "--into", pg)
    assert "新增 0 行，更新 0 行（共 3 行）" in again.stdout
    assert query(pg, "SELECT count(*), count(DISTINCT (order_id, line_id)) FROM orders") == [(3, 3)]
    header = [c for c in DY_HEADER if c != "收件人手机号"]
    later = [[v for c, v in zip(DY_HEADER, row) if c != "收件人手机号"] for row in dy_rows("已完成", 4)]
    out = ingest(write(tmp_path / "b.csv", header, later), "--into", pg)
    assert "新增 1 行" in out.stdout and "共 4 行" in out.stdout
    stored = sources.open_source(pg).table("orders").set_index("order_id")
    assert set(stored["status"]) == {"completed"} and len(stored) == 4
    assert stored.loc["692130000000", "phone"] == "139****5670"  # the later export had no phones: kept
    assert stored.loc["692130000000", "province"] == "浙江省"


def test_the_import_form_path_applies_refunds(tmp_path, pg):
    assert not ingest_file(write(tmp_path / "dy.csv", DY_HEADER, dy_rows()), pg).error
    refunds = write(tmp_path / "refunds.csv", ["订单编号", "退款状态", "退款申请时间", "退款总额"],
                    [["692130000001", "退款成功", "2026-06-05 10:00", "279.00"],
                     ["999", "退款成功", "2026-06-05 10:00", "10.00"]], "gbk")
    report = ingest_file(refunds, pg, platform="DY")
    assert not report.error and "更新订单退款：1 单；1 单在数据仓库中找不到" in report.lines[-1]
    assert query(pg, "SELECT order_id, status, refund_amount FROM orders ORDER BY order_id") == [
        ("692130000000", "completed", None), ("692130000001", "refunded", 279.0), ("692130000002", "completed", None)]


def test_a_failed_write_leaves_postgres_as_it_was(tmp_path, pg):
    assert ingest(write(tmp_path / "a.csv", DY_HEADER, dy_rows("已发货")), "--into", pg).returncode == 0
    before = checksum(pg)
    # stored rows pass; the update deletes them, then its insert violates the constraint midway
    query(pg, "ALTER TABLE orders ADD CONSTRAINT no_completed CHECK (status <> 'completed')")
    out = ingest(write(tmp_path / "b.csv", DY_HEADER, dy_rows("已完成", 5)), "--into", pg)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "数据库未做任何修改" in out.stderr and "no_completed" in out.stderr
    assert checksum(pg) == before


def test_the_tables_of_one_file_are_written_together_or_not_at_all(tmp_path, pg):
    orders = ingest_file(write(tmp_path / "a.csv", DY_HEADER, dy_rows()), pg)
    assert not orders.error
    before = checksum(pg)
    query(pg, "CREATE TABLE ad_spend (platform text, channel text, campaign_id text, date date, spend integer)")
    more = dy_rows("已完成", 5)
    new_orders = exports_orders(tmp_path, pg, more)
    ads = pd.DataFrame({"date": pd.to_datetime(["2026-06-01"]), "campaign_id": ["5001"], "platform": ["TM"],
                        "channel": ["万相台"], "spend": [1000.5], "impressions": [1], "clicks": [1], "gmv": [1.0]})
    with pytest.raises(DataError, match="数据库未做任何修改.*integer"):  # 1000.5 does not fit the integer column
        with warehouse.open_target(pg).transaction() as target:
            assert warehouse.merge(target, "orders", new_orders)["added"] == 2
            warehouse.merge(target, "ad_spend", ads)
    assert checksum(pg) == before
    assert query(pg, "SELECT count(*) FROM ad_spend") == [(0,)]


def exports_orders(tmp_path, url, rows) -> pd.DataFrame:
    """Canonical orders of a Douyin export, pseudonymised with the target's secret."""
    path = write(tmp_path / "more.csv", DY_HEADER, rows)
    return exports.read_export(path, warehouse=warehouse.open_target(url).secret_home).tables["orders"]


def test_phones_are_never_stored_or_shown_unmasked(tmp_path, pg):
    assert ingest(write(tmp_path / "a.csv", DY_HEADER, dy_rows()), "--into", pg).returncode == 0
    texts = query(pg, "SELECT table_name, column_name FROM information_schema.columns "
                      "WHERE table_schema = current_schema() AND data_type = 'text'")
    for table, column in texts:
        assert query(pg, f"SELECT count(*) FROM {table} WHERE {column} ~ '{PHONE}'") == [(0,)], (table, column)
    query(pg, "UPDATE orders SET phone = '13912345670'")  # rows written by other tools
    shown = sources.open_source(pg).sql("SELECT phone FROM orders")
    assert set(shown["phone"]) == {"139****5670"}


def test_review_and_chat_texts_are_masked_when_read_from_postgresql(pg):
    """Texts written into reviews / cs_sessions by other tools keep their phones: the PostgreSQL source masks every one
    of them, as it masks orders.phone (both through the view), also two numbers one character apart."""
    src, db = sources.open_source("data/sample"), postgres.Database.parse(pg)
    text = "联系 13812345678,13912345678 或 138　1234　5678"
    with postgres.connect(db) as conn:
        for name in ("reviews", "cs_sessions"):
            frame = src.table(name).head(3).assign(text=[text, None, "没有号码"])
            postgres.ensure_table(conn, db, name, tables.KEYS[name], list(frame.columns))
            postgres.store(conn, db.ident(name), frame)
    assert query(pg, "SELECT count(*) FROM reviews WHERE text LIKE '%13912345678%'") == [(1,)]  # stored raw
    shown = sources.open_source(pg)
    for name in ("reviews", "cs_sessions"):
        texts = shown.sql(f"SELECT text FROM {name} ORDER BY text NULLS LAST")["text"].tolist()
        assert texts[:2] == ["没有号码", "联系 138****5678,139****5678 或 138****5678"] and pd.isna(texts[2]), name


def test_pseudonym_secret_is_private_and_ignored_by_git(tmp_path, pg):
    ingest_file(write(tmp_path / "a.csv", DY_HEADER, dy_rows()), pg)
    secret = warehouse.PostgresTarget(pg).secret_home / ".opsbook-secret"
    assert oct(secret.stat().st_mode & 0o777) == "0o600"
    assert secret.is_relative_to(paths.private())  # the project's .opsbook/, which git ignores:
    in_repository = Path(__file__).parents[2] / secret.relative_to(paths.root())
    assert subprocess.run(["git", "check-ignore", "-q", str(in_repository)], cwd=in_repository.parents[3]).returncode == 0
    with_password = pg.replace("postgres@", f"postgres:{PASSWORD}@")
    assert warehouse.PostgresTarget(with_password).secret_home == secret.parent  # same warehouse, same pseudonyms


def test_missing_tables_name_the_database(pg):
    with pytest.raises(DataError, match=r"PostgreSQL 数据库 opsbook（服务器 127\.0\.0\.1:\d+，模式 t_.*没有任何标准表"):
        sources.open_source(pg).names()
    query(pg, "CREATE TABLE products (sku text, name text, category text, cost float8, price float8)")
    with pytest.raises(DataError, match="没有 orders 表（请用 opsbook ingest"):
        sources.open_source(pg).table("orders")


def test_connection_problems_exit_2_in_chinese_without_the_password(tmp_path, postgres_url):
    closed = re.sub(r"postgres@127\.0\.0\.1:\d+", f"opsbook:{PASSWORD}@127.0.0.1:1", postgres_url)
    export = write(tmp_path / "a.csv", DY_HEADER, dy_rows())
    malformed = f"postgresql://opsbook:{PASSWORD}@[::1/shop"
    for url, message in [(closed, "无法连接 PostgreSQL 数据库 opsbook（服务器 127.0.0.1:1"),
                         (malformed, "地址 postgresql://opsbook:***@[::1/shop 格式不对")]:
        out = ingest(export, "--into", url)
        assert out.returncode == 2 and message in out.stderr, out.stderr
        assert PASSWORD not in out.stdout + out.stderr and "Traceback" not in out.stderr
    with pytest.raises(DataError) as error:
        sources.open_source(closed).names()
    assert "无法连接" in str(error.value) and PASSWORD not in str(error.value)
    assert PASSWORD not in repr(sources.open_source(closed))
    shutil.rmtree(warehouse.PostgresTarget(closed).secret_home, ignore_errors=True)


@pytest.mark.slow
def test_a_playbook_on_an_unreachable_database_fails_with_a_data_error(postgres_url):
    closed = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:1", postgres_url)
    bad = runner.run("user_tiering", {"source": closed})
    assert bad.exit_code == 2 and "无法连接 PostgreSQL 数据库 opsbook" in bad.error


def test_duplicated_rows_in_postgresql_stop_the_run(pg):
    """A table kept by other tools, without a primary key, holding one day's lines twice."""
    db = postgres.Database.parse(pg)
    orders = sources.open_source("data/sample").table("orders")
    again = orders[orders["order_time"].dt.strftime("%Y-%m-%d") == "2026-06-24"]
    with postgres.connect(db) as conn:
        postgres.ensure_table(conn, db, "orders", [], list(orders.columns))
        postgres.store(conn, db.ident("orders"), pd.concat([orders, again]))
    result = runner.run("user_tiering", {"source": pg})
    assert result.exit_code == 2 and not result.retryable
    assert "orders 表有 31 组重复的 platform+order_id+line_id" in result.error and "order_id=2606244031431917" in result.error
