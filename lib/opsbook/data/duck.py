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
from . import tables, verified

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
        """A DuckDB connection (Asia/Shanghai) with one view per available table.

        Every table is checked first, all problems reported at once (DataError): it must be readable, have its
        required columns, and no two rows may share a key (`tables.KEYS`) — a file imported twice would
        otherwise count every order twice.
        """
        if self._con is None:
            con = connect(os.environ.get(DUCKDB_MEMORY_ENV, "512MB"))
            relations = self._relations(con)
            present, problems = {}, []
            for name, relation in relations.items():
                try:
                    present[name] = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()}
                except duckdb.Error as exc:
                    problems.append(f"无法读取数据源 {self.location} 的 {name} 表：{first_line(exc)}"
                                    "（文件可能已损坏或格式不对，请重新导出）")
                    continue
                problems += [f"{self.location} 的 {name} 表缺少必需列 {c.name}（{c.label}）"
                             for c in tables.SCHEMAS[name].values() if c.required and c.name not in present[name]]
            if problems:
                raise DataError(problems, headline=f"{self.location} 数据校验未通过，请修正后重试")
            for name, relation in relations.items():
                fill = "".join(f", CAST(NULL AS {DUCK_TYPES[c.kind]}) AS {c.name}"
                               for c in tables.SCHEMAS[name].values() if not c.required and c.name not in present[name])
                # phones are masked in the view itself, whatever their type: no query can read them unmasked
                replace = f" REPLACE ({_MASK_PHONE} AS phone)" if "phone" in present[name] else ""
                con.execute(f"CREATE VIEW {name} AS SELECT *{replace}{fill} FROM {relation}")
            if "orders" in relations:
                statuses = ", ".join(f"'{s}'" for s in tables.PAID_STATUSES)
                con.execute("CREATE VIEW real_orders AS SELECT * FROM orders WHERE NOT coalesce(is_fake, false)")
                con.execute(f"CREATE VIEW paid_orders AS SELECT * FROM real_orders "
                            f"WHERE status IN ({statuses}) AND pay_time IS NOT NULL")
            problems = [p for name in sorted(relations) for p in self._duplicates(con, name)]
            if problems:
                raise DataError(problems, headline=f"{self.location} 数据校验未通过，请修正后重试")
            self._con, self._names = con, sorted(relations)
        return self._con

    def _duplicates(self, con: duckdb.DuckDBPyConnection, name: str) -> list[str]:
        """The table's rows that share a key, in one scan (hashes of the keys; a match is confirmed on the keys)."""
        key = tables.KEYS.get(name)
        identity = self._identity(name, key) if key else None
        if not key or verified.known(identity):
            return []
        columns = ", ".join(key)
        rows, distinct = con.execute(f"SELECT count(*), count(DISTINCT hash({columns})) FROM {name}").fetchall()[0]
        found = [] if rows == distinct else con.execute(f"""
            SELECT {columns}, count(*) AS n FROM {name}
            WHERE hash({columns}) IN (SELECT hash({columns}) FROM {name} GROUP BY 1 HAVING count(*) > 1)
            GROUP BY ALL HAVING count(*) > 1 ORDER BY n DESC, {columns}""").fetchall()
        if not found:  # a clean table (or two keys that only share a hash)
            verified.remember(identity)
            return []
        examples = "；".join("、".join(f"{c}={_shown(v)}" for c, v in zip(key, row) if v is not None) + f"（{row[-1]} 行）"
                            for row in found[:3])
        extra = sum(row[-1] - 1 for row in found)
        return [f"{self.location} 的 {name} 表有 {len(found)} 组重复的 {'+'.join(key)}（多出 {extra} 行，同一批数据可能"
                f"导入了两次），例如 {examples}：请删除重复行后重试（用 opsbook ingest 导入不会产生重复）"]

    def _identity(self, name: str, key: list[str]) -> str | None:
        """What identifies the stored version of a table (`verified.fingerprint`); None when it cannot be known."""
        return None

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
        except duckdb.ParserException:
            raise  # a mistake in opsbook's own query, not in the data: a failed run (exit 1), not bad input
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


def _shown(value) -> str:
    return value.isoformat()[:10] if hasattr(value, "isoformat") else str(value)


def first_line(exc: Exception) -> str:
    """The first line of an error's text (DuckDB adds hints and context below it)."""
    return str(exc).strip().splitlines()[0]


def quote(path: Path) -> str:
    """A path inside a single-quoted SQL string."""
    return str(path).replace("'", "''")


class DuckDBFileSource(Source):
    """A DuckDB database file with canonical tables, attached read-only."""

    def _identity(self, name, key):
        return verified.fingerprint(paths.resolve(self.location), name, key)

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


def csv_problems(con: duckdb.DuckDBPyConnection, path: Path, table: str, where: str) -> list[str]:
    """Every column of a CSV file with values that are not of its canonical type, each with example rows (one scan).

    A typed read would stop at the first bad cell; staff need to see every column to fix in one go.
    """
    if path.stat().st_size == 0:
        return [f"{where}：{path.name} 是空文件（0 字节），请重新导出"]
    schema = tables.SCHEMAS[table]
    columns = [c for c in _csv_header(path) if c in schema]
    raw = f"read_csv('{quote(path)}', header = true, all_varchar = true)"
    bad = {c: f'"{c}" IS NOT NULL AND ' + (f'coalesce(TRY_CAST("{c}" AS DOUBLE) % 1 <> 0, true)'  # DuckDB rounds 1.5 to 2
                                          if schema[c].kind == "int" else
                                          f'TRY_CAST("{c}" AS {DUCK_TYPES[schema[c].kind]}) IS NULL') for c in columns}
    if not bad:
        return []
    counts = con.execute("SELECT " + ", ".join(f"count(*) FILTER (WHERE {test})" for test in bad.values())
                         + f" FROM {raw}").fetchall()[0]
    problems = []
    for (column, test), n in zip(bad.items(), counts):
        if n:
            rows = con.execute(f'SELECT line, "{column}" FROM (SELECT row_number() OVER () + 1 AS line, * FROM {raw}) '
                               f"WHERE {test} ORDER BY line LIMIT 3").fetchall()
            shown = ", ".join(f"第{line}行=“{value}”" for line, value in rows)
            col = schema[column]
            problems.append(f"{where}的列 {column}（{col.label}）有无法识别为{tables.KIND_ZH[col.kind]}的值："
                            f"共 {n} 行，例如 {shown}")
    return problems


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
            counts[name] = con.execute(f"SELECT count(*) FROM dest.{name}").fetchall()[0][0]
    finally:
        con.execute("DETACH dest")
    os.replace(tmp, target)
    return counts
