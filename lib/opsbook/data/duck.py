"""DuckDB underneath every source: `Source` (one connection, one view per canonical table, checks in one scan),
the DuckDB-file kind, CSV typing by the canonical schema, and copying a source into a DuckDB file."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from .. import paths
from ..errors import DataError
from ..settings import DUCKDB_MEMORY_ENV, TZ_NAME
from . import tables

DUCK_TYPES = {"str": "VARCHAR", "int": "BIGINT", "float": "DOUBLE", "bool": "BOOLEAN",
              "datetime": "TIMESTAMPTZ", "date": "DATE"}

# masks 13812345678, +86 138 1234 5678, 138-1234-5678, 138.1234.5678, full-width digits … as 138****5678 (the rule
# of privacy.mask_phone, in RE2: a phone column holds no decimals, so dots need no look-ahead here)
_MASK_PHONE = (r"regexp_replace(CAST(phone AS VARCHAR), "
               r"'(^|[^0-9.])(?:[+＋]?[8８][6６][ -]?)?([1１][3-9３-９][0-9０-９])[ .\-－]?[0-9０-９]{4}[ .\-－]?"
               r"([0-9０-９]{4})($|[^0-9])', '\1\2****\3\4', 'g')")


def connect(memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection in China time, without the progress bar (it would print into reports)."""
    config = {"memory_limit": memory_limit} if memory_limit else {}
    con = duckdb.connect(config=config)
    con.execute(f"SET TimeZone = '{TZ_NAME}'")
    con.execute("SET enable_progress_bar = false")
    return con


@dataclass
class Source:
    """A set of canonical tables reachable through one DuckDB connection with a view per table.

    A kind of source (folder, DuckDB file, PostgreSQL) implements `_relations`; `opsbook.sources` picks the kind.
    """

    location: str
    _con: duckdb.DuckDBPyConnection | None = field(default=None, repr=False)
    _names: list[str] = field(default_factory=list, repr=False)

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection (Asia/Shanghai) with one view per available table."""
        if self._con is None:
            con = connect(os.environ.get(DUCKDB_MEMORY_ENV, "512MB"))
            relations = self._relations(con)
            for name, relation in relations.items():
                try:
                    present = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()}
                except duckdb.Error as exc:
                    raise DataError(f"无法读取数据源 {self.location} 的 {name} 表：{first_line(exc)}"
                                    "（文件可能已损坏或格式不对，请重新导出）") from exc
                fill = "".join(f", CAST(NULL AS {DUCK_TYPES[c.kind]}) AS {c.name}"
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
            raise DataError(f"读取数据源 {self.location} 时出错：{first_line(exc)}") from exc
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


def first_line(exc: Exception) -> str:
    """The first line of an error's text (DuckDB adds hints and context below it)."""
    return str(exc).strip().splitlines()[0]


def quote(path: Path) -> str:
    """A path inside a single-quoted SQL string."""
    return str(path).replace("'", "''")


class DuckDBFileSource(Source):
    """A DuckDB database file with canonical tables, attached read-only."""

    def _relations(self, con):
        path = paths.resolve(self.location)
        if not path.is_file():
            raise DataError(f"找不到 DuckDB 数据文件 {self.location}，请检查 source 参数")
        try:
            con.execute(f"ATTACH '{quote(path)}' AS src (READ_ONLY)")
        except duckdb.Error as exc:
            raise DataError(f"无法打开 DuckDB 数据文件 {self.location}：{first_line(exc)}") from exc
        names = con.execute("SELECT table_name FROM information_schema.tables WHERE table_catalog = 'src'").fetchall()
        return {name: f"src.main.{name}" for (name,) in names if name in tables.SCHEMAS}


def csv_relation(path: Path, table: str, quoted_nulls: bool = True) -> str:
    """A DuckDB `read_csv` of a file with a header, canonical columns typed by the schema of `table`.

    `quoted_nulls=False` keeps a quoted empty field as an empty string (COPY writes NULL unquoted).
    """
    schema = tables.SCHEMAS[table]
    types = ", ".join(f"'{c}': '{DUCK_TYPES[schema[c].kind]}'" for c in _csv_header(path) if c in schema)
    return (f"read_csv('{quote(path)}', header = true, types = {{{types}}}"
            f"{'' if quoted_nulls else ', allow_quoted_nulls = false'})")


def _csv_header(path: Path) -> list[str]:
    with open(path, encoding="utf-8-sig") as fh:
        return [c.strip() for c in fh.readline().rstrip("\r\n").split(",")]


def to_duckdb(src: Source, path: str | os.PathLike) -> dict[str, int]:
    """Copy every canonical table of `src` into a new DuckDB file at `path` (written aside, then renamed)."""
    target = paths.resolve(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.unlink(missing_ok=True)
    con = src.connect()
    con.execute(f"ATTACH '{quote(tmp)}' AS dest")
    try:
        counts = {}
        for name in src.names():
            con.execute(f"CREATE TABLE dest.{name} AS SELECT * FROM {name}")
            counts[name] = con.execute(f"SELECT count(*) FROM dest.{name}").fetchone()[0]
    finally:
        con.execute("DETACH dest")
    os.replace(tmp, target)
    return counts
