"""PostgreSQL warehouses given by URL: connections (Chinese errors, password never shown), canonical DDL, COPY.

`postgresql://user:password@host:5432/shop?schema=ops` — libpq's URL, plus opsbook's own `schema` parameter
(default `public`). The password may also come from PGPASSWORD or ~/.pgpass, which keeps it out of run records.
Rows travel as CSV through COPY in both directions and are typed by DuckDB with the canonical schema: much
faster than adapting rows one by one, and the same typing rule as for a folder of CSV files.
"""
from __future__ import annotations

import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import duckdb
import pandas as pd
import psycopg
from psycopg import sql

from ..errors import DataError
from . import duck, shops, tables
from .locations import masked

PG_TYPES = {"str": "text", "int": "bigint", "float": "double precision", "bool": "boolean",
            "datetime": "timestamptz", "date": "date"}
_SETTINGS = {"TimeZone": "UTC", "DateStyle": "ISO, YMD", "extra_float_digits": "1"}  # what DuckDB reads back exactly
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Database:
    """One PostgreSQL schema: the libpq URL, the schema name and a form that is safe to show."""

    url: str = field(repr=False)
    schema: str
    shown: str

    @classmethod
    def parse(cls, location: str) -> Database:
        """Split opsbook's `schema` parameter off a URL; DataError (password masked) if libpq cannot read it."""
        location = location.strip()
        try:
            parts = urlsplit(location)
            query = parse_qsl(parts.query, keep_blank_values=True)
            rest = urlencode([(k, v) for k, v in query if k != "schema"], quote_via=quote)  # libpq reads + as +
            url = urlunsplit(parts._replace(query=rest))
            psycopg.conninfo.conninfo_to_dict(url)
        except (ValueError, psycopg.Error) as exc:
            raise DataError(f"PostgreSQL 地址 {masked(location)} 格式不对：{_reason(exc, location)}。"
                            "应形如 postgresql://用户名@服务器:5432/数据库名?schema=模式名") from exc
        return cls(url, dict(query).get("schema") or "public", masked(location))

    @property
    def where(self) -> str:
        """Chinese description for messages: database, server and schema (never the password)."""
        parts = urlsplit(self.url)
        server = parts.netloc.rpartition("@")[2] or "本机"
        return f"PostgreSQL 数据库 {parts.path.lstrip('/') or '（默认）'}（服务器 {server}，模式 {self.schema}）"

    @property
    def identity(self) -> str:
        """Server, port, database and schema: the same warehouse whatever user or password reaches it."""
        info = psycopg.conninfo.conninfo_to_dict(self.url)
        return f"{info.get('host', '')}:{info.get('port', '5432')}/{info.get('dbname', '')}/{self.schema}"

    def ident(self, table: str) -> sql.Identifier:
        """The schema-qualified name of a table."""
        return sql.Identifier(self.schema, table)


def _reason(exc: Exception, url: str) -> str:
    """First line of an error, any password masked (also one the library quoted without its URL)."""
    text = masked((str(exc).strip().splitlines() or [type(exc).__name__])[0])
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    return text.replace(password, "***") if password else text


@contextmanager
def connect(db: Database) -> Iterator[psycopg.Connection]:
    """An open connection in one transaction (committed at the end, rolled back on any error); DataError in Chinese.

    The one place opsbook connects to PostgreSQL: with a shops.yaml, a server no registered shop uses is refused
    before any connection, and a registered shop's password comes from its environment variable.
    """
    settings = psycopg.conninfo.conninfo_to_dict(db.url)
    refused = shops.server_problem(settings)
    if refused:
        raise DataError(refused)
    secret = None if settings.get("password") else shops.password(settings)
    try:
        conn = psycopg.connect(db.url, connect_timeout=10, application_name="opsbook",
                               **({"password": secret} if secret else {}))
    except psycopg.Error as exc:
        raise DataError(f"无法连接 {db.where}：{_reason(exc, db.url)}。请确认服务器已启动、地址端口与数据库名正确；"
                        "用户名和密码可写在地址中，或用环境变量 PGUSER / PGPASSWORD 提供") from exc
    try:
        with conn:
            for name, value in _SETTINGS.items():
                conn.execute(sql.SQL("SET {} = {}").format(sql.Identifier(name), sql.Literal(value)))
            yield conn
    except psycopg.Error as exc:
        raise DataError(f"{db.where}出错（数据库未做任何修改）：{_reason(exc, db.url)}") from exc


def table_names(conn: psycopg.Connection, db: Database) -> list[str]:
    """Canonical tables (or views) present in the schema."""
    rows = conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [db.schema])
    return sorted(name for (name,) in rows if name in tables.SCHEMAS)


def columns(conn: psycopg.Connection, db: Database, table: str) -> list[str]:
    """Columns of a table, in order (empty when it does not exist)."""
    rows = conn.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = %s "
                        "AND table_name = %s ORDER BY ordinal_position", [db.schema, table])
    return [name for (name,) in rows]


def select(db: Database, table: str) -> sql.Composable:
    """Every row of a table."""
    return sql.SQL("SELECT * FROM {}").format(db.ident(table))


def fetch(conn: psycopg.Connection, db: Database, query: sql.Composable, table: str,
          into: duckdb.DuckDBPyConnection, relation: str) -> None:
    """Store the rows of a query as DuckDB table `relation`, typed by the canonical schema of `table`."""
    with tempfile.TemporaryDirectory(prefix="opsbook-pg-") as tmp:
        path = Path(tmp) / f"{table}.csv"
        with open(path, "wb") as fh, conn.cursor().copy(
                sql.SQL("COPY ({}) TO STDOUT (FORMAT csv, HEADER)").format(query)) as copy:
            for chunk in copy:
                fh.write(chunk)
        try:
            into.execute(f"CREATE TABLE {relation} AS SELECT * FROM {duck.csv_relation(path, table, quoted_nulls=False)}")
        except duckdb.Error as exc:
            raise DataError(f"{db.where}的 {table} 表无法按标准表读取：{_reason(exc, db.url)}"
                            "（请检查该表各列的类型）") from exc


def fetch_frame(conn: psycopg.Connection, db: Database, query: sql.Composable, table: str) -> pd.DataFrame:
    """The rows of a query as a canonical DataFrame."""
    scratch = duck.connect()
    fetch(conn, db, query, table, scratch, "rows")
    frame = scratch.sql("SELECT * FROM rows").to_arrow_table().to_pandas(date_as_object=False)
    return tables.problems_in(table, frame)[0]  # coerced only: stored rows were validated when written


def store(conn: psycopg.Connection, target: sql.Composable, frame: pd.DataFrame) -> None:
    """COPY a DataFrame into a table, column by name."""
    scratch = duck.connect()
    scratch.register("frame", frame)
    with tempfile.TemporaryDirectory(prefix="opsbook-pg-") as tmp:
        path = Path(tmp) / "rows.csv"
        scratch.sql("SELECT * FROM frame").write_csv(str(path), header=True)
        names = sql.SQL(", ").join(map(sql.Identifier, frame.columns))
        with open(path, "rb") as fh, conn.cursor().copy(
                sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv, HEADER)").format(target, names)) as copy:
            while data := fh.read(_CHUNK):
                copy.write(data)


def ensure_table(conn: psycopg.Connection, db: Database, table: str, key: list[str], wanted: list[str]) -> None:
    """Create the table from its canonical schema (key, if any, as primary key), or add wanted columns it lacks."""
    schema = tables.SCHEMAS[table]
    present = columns(conn, db, table)
    if not present:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(db.schema)))
    missing = [c for c in dict.fromkeys([*schema, *wanted]) if c not in present]
    typed = [sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(PG_TYPES[schema[c].kind] if c in schema else "text"))
             for c in missing]
    if present:
        for column in typed:
            conn.execute(sql.SQL("ALTER TABLE {} ADD COLUMN {}").format(db.ident(table), column))
    else:
        if key:
            typed.append(sql.SQL("PRIMARY KEY ({})").format(sql.SQL(", ").join(map(sql.Identifier, key))))
        conn.execute(sql.SQL("CREATE TABLE {} ({})").format(db.ident(table), sql.SQL(", ").join(typed)))


def matching(db: Database, table: str, on: list[str], staged: str) -> sql.Composable:
    """Rows of `table` whose `on` columns equal those of a row of the staged temporary table."""
    return sql.SQL("SELECT * FROM {} t WHERE EXISTS (SELECT 1 FROM {} s WHERE {})").format(
        db.ident(table), sql.Identifier(staged), _same(on))


def stage(conn: psycopg.Connection, db: Database, table: str, name: str, frame: pd.DataFrame) -> None:
    """A temporary table `name` (dropped at commit) typed like `table`'s columns, holding the frame's rows."""
    conn.execute(sql.SQL("DROP TABLE IF EXISTS pg_temp.{}").format(sql.Identifier(name)))
    conn.execute(sql.SQL("CREATE TEMPORARY TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA").format(
        sql.Identifier(name), sql.SQL(", ").join(map(sql.Identifier, frame.columns)), db.ident(table)))
    store(conn, sql.Identifier(name), frame)


def replace(conn: psycopg.Connection, db: Database, table: str, key: list[str], staged: str,
            names: list[str]) -> None:
    """Delete the rows of `table` that share a key with a staged row, then insert the staged rows."""
    conn.execute(sql.SQL("DELETE FROM {} t USING {} s WHERE {}").format(db.ident(table), sql.Identifier(staged),
                                                                       _same(key)))
    cols = sql.SQL(", ").join(map(sql.Identifier, names))
    conn.execute(sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {}").format(db.ident(table), cols, cols,
                                                                        sql.Identifier(staged)))


def lock(conn: psycopg.Connection, db: Database, table: str) -> None:
    """Keep other writers (not readers) off a table until the transaction ends: merges never interleave."""
    conn.execute(sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(db.ident(table)))


def count(conn: psycopg.Connection, db: Database, table: str) -> int:
    """Rows in a table."""
    return conn.execute(sql.SQL("SELECT count(*) FROM {}").format(db.ident(table))).fetchone()[0]


def _same(columns: list[str]) -> sql.Composable:
    return sql.SQL(" AND ").join(sql.SQL("t.{0} = s.{0}").format(sql.Identifier(c)) for c in columns)


@dataclass
class PostgresSource(duck.Source):
    """The canonical tables of a PostgreSQL schema, copied into DuckDB on connect.

    `location` is the URL with its password masked, so messages and reprs never show it.
    """

    _url: str = field(default="", repr=False)

    def __post_init__(self):
        self._url, self.location = self.location, masked(self.location)

    def _relations(self, con):
        db = Database.parse(self._url)
        with connect(db) as pg:
            names = table_names(pg, db)
            if not names:
                raise DataError(f"{db.where}中没有任何标准表（{'、'.join(tables.SCHEMAS)}）：请检查数据库名和 "
                                "?schema= 参数，或先用 opsbook ingest 导出文件 --into 该地址 导入数据")
            con.execute("CREATE SCHEMA pg")
            for name in names:
                fetch(pg, db, select(db, name), name, con, f"pg.{name}")
        return {name: f"pg.{name}" for name in names}

    def _how_to_add(self, name: str) -> str:
        return f"请用 opsbook ingest 导出文件 --into 该地址 导入，或在数据库中建立 {name} 表"
