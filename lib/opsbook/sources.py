"""Where canonical tables come from: a folder of parquet/csv files, a DuckDB file, a PostgreSQL URL (a registry)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import duckdb
import pandas as pd

from . import paths, tables
from .errors import DataError

_DUCK_TYPES = {"str": "VARCHAR", "int": "BIGINT", "float": "DOUBLE", "bool": "BOOLEAN",
               "datetime": "TIMESTAMPTZ", "date": "DATE"}

# masks 13812345678, +86 138 1234 5678, 138-1234-5678, 138.1234.5678, full-width digits … as 138****5678 (the rule
# of privacy.mask_phone, in RE2: a phone column holds no decimals, so dots need no look-ahead here)
_MASK_PHONE = (r"regexp_replace(CAST(phone AS VARCHAR), "
               r"'(^|[^0-9.])(?:[+＋]?[8８][6６][ -]?)?([1１][3-9３-９][0-9０-９])[ .\-－]?[0-9０-９]{4}[ .\-－]?"
               r"([0-9０-９]{4})($|[^0-9])', '\1\2****\3\4', 'g')")

_KINDS: list[tuple[Callable[[str], bool], Callable[[str], "Source"]]] = []


def register(matches: Callable[[str], bool]):
    """Register a Source class for the source strings `matches` accepts (first match wins)."""
    def wrap(cls):
        _KINDS.append((matches, cls))
        return cls
    return wrap


@dataclass
class Source:
    """A set of canonical tables reachable through one DuckDB connection with a view per table."""

    location: str
    _con: duckdb.DuckDBPyConnection | None = field(default=None, repr=False)
    _names: list[str] = field(default_factory=list, repr=False)

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection (Asia/Shanghai) with one view per available table."""
        if self._con is None:
            con = duckdb.connect(config={"memory_limit": os.environ.get("OPSBOOK_DUCKDB_MEMORY", "512MB")})
            con.execute(f"SET TimeZone = '{tables.TZ}'")
            con.execute("SET enable_progress_bar = false")  # it would print into reports
            relations = self._relations(con)
            for name, relation in relations.items():
                try:
                    present = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()}
                except duckdb.Error as exc:
                    raise DataError(f"无法读取数据源 {self.location} 的 {name} 表：{_first_line(exc)}"
                                    "（文件可能已损坏或格式不对，请重新导出）") from exc
                fill = "".join(f", CAST(NULL AS {_DUCK_TYPES[c.kind]}) AS {c.name}"
                               for c in tables.SCHEMAS[name].values() if not c.required and c.name not in present)
                # phones are masked in the view itself, whatever their type: no query can read them unmasked
                replace = f" REPLACE ({_MASK_PHONE} AS phone)" if "phone" in present else ""
                con.execute(f"CREATE VIEW {name} AS SELECT *{replace}{fill} FROM {relation}")
            if "orders" in relations:
                statuses = ", ".join(f"'{s}'" for s in tables.PAID_STATUSES)
                con.execute("CREATE VIEW real_orders AS SELECT * FROM orders WHERE NOT coalesce(is_fake, false)")
                con.execute(f"CREATE VIEW paid_orders AS SELECT * FROM real_orders "
                            f"WHERE status IN ({statuses}) AND pay_time IS NOT NULL")
            self._con, self._names = con, sorted(relations)
        return self._con

    def _relations(self, con: duckdb.DuckDBPyConnection) -> dict[str, str]:
        """Canonical table name → a DuckDB relation expression for it (optional columns may be absent)."""
        raise NotImplementedError

    def _require(self, name: str) -> None:
        """DataError unless the table is present, saying how to provide it."""
        if not self.has(name):
            raise DataError(f"数据源 {self.location} 中没有 {name} 表（{self._how_to_add(name)}）")

    def _how_to_add(self, name: str) -> str:
        return f"需要 {name}.parquet 或 {name}.csv"

    def names(self) -> list[str]:
        """Canonical tables this source holds."""
        self.connect()
        return list(self._names)

    def has(self, name: str) -> bool:
        """Whether the table is present."""
        return name in self.names()

    def sql(self, query: str, params: list | None = None) -> pd.DataFrame:
        """Run a query over the views and return a DataFrame (errors name the source).

        Rows travel through Arrow, converting column by column and freeing as they go: on millions of
        rows this is faster than `.df()` and peaks at about half the memory.
        """
        try:
            table = self.connect().sql(query, params=params or None).to_arrow_table()
        except duckdb.Error as exc:
            raise DataError(f"读取数据源 {self.location} 时出错：{_first_line(exc)}") from exc
        return table.to_pandas(self_destruct=True, split_blocks=True, date_as_object=False)

    def table(self, name: str, where: str = "", params: list | None = None) -> pd.DataFrame:
        """Load one canonical table (optionally filtered), validated and coerced."""
        self._require(name)
        frame = self.sql(f"SELECT * FROM {name} {('WHERE ' + where) if where else ''}", params)
        return tables.validate(name, frame, origin=self.location)

    def check(self, name: str) -> None:
        """Whole-table check in one DuckDB scan: required columns, empty values, choices, minimums."""
        self._require(name)
        schema = tables.SCHEMAS[name]
        cols = set(self.sql(f"DESCRIBE {name}")["column_name"])
        problems = [f"{self.location} 的 {name} 表缺少必需列 {c.name}（{c.label}）"
                    for c in schema.values() if c.required and c.name not in cols]
        if not problems:
            tests = [(f"{c.name} IS NULL", f"列 {c.name}（{c.label}）有 {{n}} 个空值")
                     for c in schema.values() if c.required and not c.nullable]
            tests += [(f"{c.name} NOT IN ({', '.join(repr(v) for v in c.choices)})",
                       f"列 {c.name}（{c.label}）有 {{n}} 行不在 {'/'.join(c.choices)} 之中")
                      for c in schema.values() if c.choices and c.name in cols]
            tests += [(f"{c.name} < {c.min}", f"列 {c.name}（{c.label}）有 {{n}} 行小于 {c.min:g}")
                      for c in schema.values() if c.min is not None and c.name in cols]
            counts = self.sql("SELECT " + ", ".join(f"count(*) FILTER (WHERE {cond})" for cond, _ in tests)
                              + f" FROM {name}").iloc[0].tolist()
            problems = [f"{self.location} 的 {name} 表" + text.format(n=int(n))
                        for (_, text), n in zip(tests, counts) if n]
        if problems:
            raise DataError(problems, headline=f"{self.location} 数据校验未通过，请修正后重试")


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]


def is_postgres(location: str) -> bool:
    """Whether a location is a PostgreSQL URL (postgresql://… or postgres://…)."""
    return str(location).strip().startswith(("postgresql://", "postgres://"))


@register(is_postgres)
@dataclass
class PostgresSource(Source):
    """The canonical tables of a PostgreSQL schema, copied into DuckDB on connect (see `opsbook.postgres`).

    `location` is the URL with its password masked, so messages and reprs never show it.
    """

    _url: str = field(default="", repr=False)

    def __post_init__(self):
        from .postgres import masked
        self._url, self.location = self.location, masked(self.location)

    def _relations(self, con):
        from . import postgres
        db = postgres.Database.parse(self._url)
        with postgres.connect(db) as pg:
            names = postgres.table_names(pg, db)
            if not names:
                raise DataError(f"{db.where}中没有任何标准表（{'、'.join(tables.SCHEMAS)}）：请检查数据库名和 "
                                "?schema= 参数，或先用 opsbook ingest 导出文件 --into 该地址 导入数据")
            con.execute("CREATE SCHEMA pg")
            for name in names:
                postgres.fetch(pg, db, postgres.select(db, name), name, con, f"pg.{name}")
        return {name: f"pg.{name}" for name in names}

    def _how_to_add(self, name: str) -> str:
        return f"请用 opsbook ingest 导出文件 --into 该地址 导入，或在数据库中建立 {name} 表"


@register(lambda loc: loc.endswith((".duckdb", ".db")))
class DuckDBFileSource(Source):
    """A DuckDB database file with canonical tables, attached read-only."""

    def _relations(self, con):
        path = paths.resolve(self.location)
        if not path.is_file():
            raise DataError(f"找不到 DuckDB 数据文件 {self.location}，请检查 source 参数")
        try:
            con.execute(f"ATTACH '{_quote(path)}' AS src (READ_ONLY)")
        except duckdb.Error as exc:
            raise DataError(f"无法打开 DuckDB 数据文件 {self.location}：{_first_line(exc)}") from exc
        names = con.execute("SELECT table_name FROM information_schema.tables WHERE table_catalog = 'src'").fetchall()
        return {name: f"src.main.{name}" for (name,) in names if name in tables.SCHEMAS}


@register(lambda loc: True)
class FolderSource(Source):
    """A folder with one `<table>.parquet` or `<table>.csv` file per canonical table."""

    def _relations(self, con):
        folder = paths.resolve(self.location)
        if not folder.is_dir():
            raise DataError(f"找不到数据目录 {self.location}，请检查 source 参数（应为包含 orders.parquet 等文件的文件夹）")
        from .intake import warehouse
        try:
            warehouse.finish_commit(folder)  # an import killed among its renames: its tables are made whole first
        except OSError as exc:
            raise DataError(f"数据目录 {self.location} 中有一次未完成的导入，无法补完（{exc.strerror}）："
                            "请检查目录的写入权限后重新运行 opsbook ingest") from exc
        found = {}
        for name in tables.SCHEMAS:
            parquet, csv = folder / f"{name}.parquet", folder / f"{name}.csv"
            if parquet.is_file():
                found[name] = f"read_parquet('{_quote(parquet)}')"
            elif csv.is_file():
                found[name] = csv_relation(csv, name)
        return found


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")


def csv_relation(path: Path, table: str, quoted_nulls: bool = True) -> str:
    """A DuckDB `read_csv` of a file with a header, canonical columns typed by the schema of `table`.

    `quoted_nulls=False` keeps a quoted empty field as an empty string (COPY writes NULL unquoted).
    """
    schema = tables.SCHEMAS[table]
    types = ", ".join(f"'{c}': '{_DUCK_TYPES[schema[c].kind]}'" for c in _csv_header(path) if c in schema)
    return (f"read_csv('{_quote(path)}', header = true, types = {{{types}}}"
            f"{'' if quoted_nulls else ', allow_quoted_nulls = false'})")


def _csv_header(path: Path) -> list[str]:
    with open(path, encoding="utf-8-sig") as fh:
        return [c.strip() for c in fh.readline().rstrip("\r\n").split(",")]


def open_source(location: str) -> Source:
    """The Source for a location string, chosen by the first registered kind that accepts it."""
    location = str(location).strip()
    for matches, cls in _KINDS:
        if matches(location):
            return cls(location)
    raise DataError(f"无法识别的数据源 {location}")


def to_duckdb(src: Source, path: str | os.PathLike) -> dict[str, int]:
    """Copy every canonical table of `src` into a new DuckDB file at `path` (written aside, then renamed)."""
    target = paths.resolve(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.unlink(missing_ok=True)
    con = src.connect()
    con.execute(f"ATTACH '{_quote(tmp)}' AS dest")
    try:
        counts = {}
        for name in src.names():
            con.execute(f"CREATE TABLE dest.{name} AS SELECT * FROM {name}")
            counts[name] = con.execute(f"SELECT count(*) FROM dest.{name}").fetchone()[0]
    finally:
        con.execute("DETACH dest")
    os.replace(tmp, target)
    return counts
