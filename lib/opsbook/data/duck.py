"""DuckDB underneath every source: `Source` (one connection, one view per canonical table, every table checked
once per version of its file), the DuckDB-file kind, typed CSV reading, and copying a source into a DuckDB file."""
from __future__ import annotations

import os
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from .. import paths
from ..errors import NO_SPACE, NOT_WRITABLE, DataError, writing
from ..settings import DUCKDB_MEMORY_ENV, TZ_NAME
from . import privacy, tables, verified

DUCK_TYPES = {"str": "VARCHAR", "int": "BIGINT", "float": "DOUBLE", "bool": "BOOLEAN",
              "datetime": "TIMESTAMPTZ", "date": "DATE"}

# masks 13812345678, +86 138 1234 5678, 138 - 1234 - 5678, 138.1234.5678, full-width digits and spaces,
# 1 3 8 1 2 3 4 5 6 7 8 … as 138****5678 (the rules of privacy.mask_phone, in RE2: no look-ahead, so dots are not told
# from decimals, and a match takes the character after the number, which the next number may need before it:
# "13812345678,13912345678" is replaced twice)
_SEP = rf"(?:[{privacy.SPACE}\-－]{{0,3}}|[.])"
_PHONE_RE2 = (rf"(^|[^0-9.])(?:[+＋]?[8８][6６][{privacy.SPACE}-]?)?([1１][3-9３-９][0-9０-９]){_SEP}"
              rf"[0-9０-９]{{4}}{_SEP}([0-9０-９]{{4}})($|[^0-9０-９])")
_GAP = r"[ \t　]"
_SPACED_RE2 = (rf"(^|[^0-9.])([1１]){_GAP}([3-9３-９]){_GAP}([0-9０-９])(?:{_GAP}[0-9０-９]){{4}}{_GAP}([0-9０-９]){_GAP}"
               rf"([0-9０-９]){_GAP}([0-9０-９]){_GAP}([0-9０-９])($|[^0-9０-９])")
_MASK_PHONE = (f"regexp_replace(regexp_replace(regexp_replace(CAST(phone AS VARCHAR), '{_PHONE_RE2}', '\\1\\2****\\3\\4', 'g'), "
               f"'{_PHONE_RE2}', '\\1\\2****\\3\\4', 'g'), '{_SPACED_RE2}', '\\1\\2\\3\\4****\\5\\6\\7\\8\\9', 'g')")


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
        """A DuckDB connection (Asia/Shanghai) with one view per available table, every table checked first.

        Everything that would make a number wrong stops here, all problems at once (DataError, in Chinese, with
        example rows): an unreadable file, a missing required column, values not of their column's type (text in
        a number column, 1.5 in an integer column, ids Excel turned into 2.58E+18), empty required cells, values
        outside their choices or minimums, rows breaking a rule across columns (`tables.RULES`), and rows sharing
        a key (`tables.KEYS`: a file imported twice would count every order twice). Columns stored with another
        type that reads exactly (ids as integers, times without a zone, which are China time) are cast in the
        view. A table found clean is remembered by the identity of its file (`verified`), so unchanged data is
        not scanned again.
        """
        if self._con is None:
            con = connect(os.environ.get(DUCKDB_MEMORY_ENV, "512MB"))
            relations = self._relations(con)
            types, problems = {}, []
            for name, relation in relations.items():
                try:
                    types[name] = {c: t for c, t, *_ in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()}
                except duckdb.Error as exc:
                    problems.append(f"无法读取数据源 {self.location} 的 {name} 表：{first_line(exc)}"
                                    "（文件可能已损坏或格式不对，请重新导出）")
                    continue
                problems += [f"{self.location} 的 {name} 表缺少必需列 {c.name}（{c.label}）"
                             for c in tables.SCHEMAS[name].values() if c.required and c.name not in types[name]]
            if problems:
                raise DataError(problems, headline=f"{self.location} 数据校验未通过，请修正后重试")
            for name, relation in relations.items():
                schema, casts, unread = tables.SCHEMAS[name], {}, []
                for column, stored in types[name].items():
                    if column in schema:
                        casts[column], bad = _cast(column, stored, schema[column])
                        if bad:
                            unread.append((column, bad, f"有无法识别为{tables.KIND_ZH[schema[column].kind]}的值"))
                if unread and not verified.known(self._identity(name, tables.KEYS.get(name, []))):
                    problems += self._failed(con, f"(SELECT * FROM {relation})", name, unread)
                # phones are masked in the view itself, whatever their type: no query can read them unmasked
                for column in [c for c in casts if schema[c].masked]:
                    casts[column] = _MASK_PHONE.replace("phone", casts[column], 1)
                replace = ", ".join(f"{expr} AS {c}" for c, expr in casts.items() if expr != c)
                fill = "".join(f", CAST(NULL AS {DUCK_TYPES[c.kind]}) AS {c.name}"
                               for c in tables.SCHEMAS[name].values() if not c.required and c.name not in types[name])
                con.execute(f"CREATE VIEW {name} AS SELECT *{f' REPLACE ({replace})' if replace else ''}{fill} "
                            f"FROM {relation}")
            if problems:
                raise DataError(problems, headline=f"{self.location} 数据校验未通过，请修正后重试")
            if "orders" in relations:
                statuses = ", ".join(f"'{s}'" for s in tables.PAID_STATUSES)
                con.execute("CREATE VIEW real_orders AS SELECT * FROM orders WHERE NOT coalesce(is_fake, false)")
                con.execute(f"CREATE VIEW paid_orders AS SELECT * FROM real_orders "
                            f"WHERE status IN ({statuses}) AND pay_time IS NOT NULL")
            problems = [p for name in sorted(relations) for p in self._check_values(con, name)]
            if problems:
                raise DataError(problems, headline=f"{self.location} 数据校验未通过，请修正后重试")
            self._con, self._names = con, sorted(relations)
        return self._con

    def _check_values(self, con: duckdb.DuckDBPyConnection, name: str) -> list[str]:
        """Empty required cells, unknown choices, values under their minimum, ids in scientific notation, broken
        row rules and shared keys, in one scan of the table (remembered per version of its file when clean)."""
        key = tables.KEYS.get(name, [])
        identity = self._identity(name, key)
        if verified.known(identity):
            return []
        schema = tables.SCHEMAS[name]
        tests = [(c.name, f"{c.name} IS NULL", "不能为空") for c in schema.values() if c.required and not c.nullable]
        tests += [(c.name, f"{c.name} NOT IN ({', '.join(repr(v) for v in c.choices)})", f"只能取 {'/'.join(c.choices)}")
                  for c in schema.values() if c.choices]
        tests += [(c.name, f"{c.name} < {c.min}", f"不能小于 {c.min:g}") for c in schema.values() if c.min is not None]
        tests += [(c.name, f"{c.name} > {tables.FRACTION_MAX}", c.fraction_problem()) for c in schema.values() if c.fraction]
        if name in self._text_tables():  # Excel turns long ids into 2.58E+18 when it saves text files
            tests += [(c.name, f"(contains({c.name}, 'e') OR contains({c.name}, 'E')) "  # cheap before the regex
                               f"AND regexp_matches({c.name}, '{tables.SCIENTIFIC}')",
                       "疑似被 Excel 改成了科学计数法（后几位已丢失）：请重新导出，不要用 Excel 另存")
                      for c in schema.values() if c.kind == "str" and tables.is_id(c)]
        tests += [(None, condition, f"有{text}的行") for table, text, condition, _ in tables.RULES if table == name]
        shared = f"count(*) - count(DISTINCT hash({', '.join(key)}))" if key else "0"
        problems = self._failed(con, name, name, tests, extra=shared)
        if problems and problems[-1] is None:  # rows share a hash: confirm on the keys themselves
            problems = problems[:-1] + self._duplicates(con, name, key)
        problems = [p for p in problems if p is not None]
        if not problems:
            verified.remember(identity)
        return problems

    def _failed(self, con: duckdb.DuckDBPyConnection, relation: str, name: str,
                tests: list[tuple[str | None, str, str]], extra: str | None = None) -> list[str | None]:
        """Every test (column, condition true for a bad row, what is wrong) that some rows of `relation` fail, counted in
        one scan, each with its first three rows as examples (the row number a spreadsheet shows, the row's key, the
        value). `extra` is one more count taken in the same scan; a None at the end says it was not zero."""
        counts = con.execute("SELECT " + ", ".join([f"count(*) FILTER (WHERE {cond})" for _, cond, _ in tests]
                                                   + ([extra] if extra else [])) + f" FROM {relation}").fetchall()[0]
        found: list[str | None] = []
        for (column, condition, text), count in zip(tests, counts):
            if not count:
                continue
            key = [k for k in tables.KEYS.get(name, []) if k != column][:2]
            shown = [f'"{column}"'] if column else []
            rows = con.execute(f"SELECT row_ + 1, {', '.join(key + shown) or 'NULL'} FROM "
                               f"(SELECT row_number() OVER () AS row_, * FROM {relation}) WHERE {condition} "
                               f"ORDER BY row_ LIMIT 3").fetchall()
            examples = []
            for row in rows:
                ids = "、".join(f"{k}={_shown(v)}" for k, v in zip(key, row[1:]) if v is not None)
                examples.append(f"第{row[0]}行{f'（{ids}）' if ids else ''}" + (f"=“{row[-1]}”" if column else ""))
            where = f"{self.location} 的 {name} 表" + (f"的列 {column}（{tables.SCHEMAS[name][column].label}）" if column else "")
            found.append(f"{where}{text}：共 {count} 行，例如 {'，'.join(examples)}")
        if extra and counts[-1]:
            found.append(None)
        return found

    def _duplicates(self, con: duckdb.DuckDBPyConnection, name: str, key: list[str]) -> list[str]:
        """Keys shared by several rows (two keys that only share a hash are not reported)."""
        columns = ", ".join(key)
        found = con.execute(f"""
            SELECT {columns}, count(*) AS n FROM {name}
            WHERE hash({columns}) IN (SELECT hash({columns}) FROM {name} GROUP BY 1 HAVING count(*) > 1)
            GROUP BY ALL HAVING count(*) > 1 ORDER BY n DESC, {columns}""").fetchall()
        if not found:
            return []
        examples = "；".join("、".join(f"{c}={_shown(v)}" for c, v in zip(key, row) if v is not None) + f"（{row[-1]} 行）"
                            for row in found[:3])
        extra = sum(row[-1] - 1 for row in found)
        return [f"{self.location} 的 {name} 表有 {len(found)} 组重复的 {'+'.join(key)}（多出 {extra} 行，同一批数据可能"
                f"导入了两次），例如 {examples}：请删除重复行后重试（用 opsbook ingest 导入不会产生重复）"]

    def _identity(self, name: str, key: list[str]) -> str | None:
        """What identifies the stored version of a table (`verified.fingerprint`); None when it cannot be known."""
        return None

    def _text_tables(self) -> set[str]:
        """Tables stored as text files (CSV), which a spreadsheet may have saved."""
        return set()

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
        """DataError unless the table is present (every table's values were checked when the source opened)."""
        self._require(name)


_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
            "FLOAT", "DOUBLE", "DECIMAL")
_TRUTH = "CASE lower(trim({c})) WHEN '是' THEN true WHEN '否' THEN false WHEN 'yes' THEN true WHEN 'no' THEN false " \
         "ELSE TRY_CAST(trim({c}) AS BOOLEAN) END"


def _cast(column: str, stored: str, col: tables.Column) -> tuple[str, str | None]:
    """How the view reads a column stored as DuckDB type `stored`: (expression, condition true where a value cannot
    be read as the column's kind, or None when every value reads exactly)."""
    c, kind, stored = f'"{column}"', col.kind, stored.upper()
    number = stored.startswith(_NUMERIC)
    if kind == "str":
        if stored == "VARCHAR":
            return column, None
        if stored.startswith(("FLOAT", "DOUBLE", "DECIMAL")) and tables.is_id(col):  # 2.58e18 is not an id
            return f"CAST({c} AS VARCHAR)", f"{c} IS NOT NULL"
        return f"CAST({c} AS VARCHAR)", None  # ids stored as integers read exactly as text
    if kind in ("int", "float"):
        target = DUCK_TYPES[kind]
        if number:
            integral = kind == "int" and not stored.startswith(("FLOAT", "DOUBLE", "DECIMAL"))
            cast = column if stored == target else f"CAST({c} AS {target})"
            return cast, None if kind == "float" or integral else f"{c} IS NOT NULL AND {c} % 1 <> 0"
        text = f"TRY_CAST(trim(CAST({c} AS VARCHAR)) AS DOUBLE)"
        bad = f"{c} IS NOT NULL AND ({text} IS NULL" + (f" OR {text} % 1 <> 0)" if kind == "int" else ")")
        return f"CAST({text} AS {target})", bad  # DuckDB alone would round 1.5 to 2
    if kind == "bool":
        if stored == "BOOLEAN":
            return column, None
        truth = f"({c} <> 0)" if number else _TRUTH.format(c=f"CAST({c} AS VARCHAR)")
        return truth, f"{c} IS NOT NULL AND {truth} IS NULL"
    if kind == "datetime":
        if stored == "TIMESTAMP WITH TIME ZONE":
            return column, None
        if stored.startswith(("TIMESTAMP", "DATE")):  # a time without a zone is China time (the session's)
            return f"CAST({c} AS TIMESTAMPTZ)", None
        text = f"TRY_CAST(trim(CAST({c} AS VARCHAR)) AS TIMESTAMPTZ)"
        return text, f"{c} IS NOT NULL AND {text} IS NULL"
    if stored == "DATE":  # kind date
        return column, None
    if stored.startswith("TIMESTAMP"):
        return f"CAST({c} AS DATE)", None
    text = f"coalesce(TRY_CAST(trim(CAST({c} AS VARCHAR)) AS DATE), CAST(TRY_CAST(trim(CAST({c} AS VARCHAR)) AS TIMESTAMP) AS DATE))"
    return text, f"{c} IS NOT NULL AND {text} IS NULL"


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


def _csv_header(path: Path) -> list[str]:
    with open(path, encoding="utf-8-sig") as fh:
        return [c.strip() for c in fh.readline().rstrip("\r\n").split(",")]


def to_duckdb(src: Source, path: str | os.PathLike) -> dict[str, int]:
    """Copy every canonical table of `src` into a new DuckDB file at `path` (written aside, then renamed).

    A folder that cannot be written (read-only, full disk) is a DataError naming it; nothing is left behind.
    """
    target = paths.resolve(path)
    tmp = target.with_name(f".{target.name}.tmp")
    con = src.connect()
    try:
        with writing(target.parent):
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp.unlink(missing_ok=True)
            counts = _copy_tables(con, src.names(), tmp)
            os.replace(tmp, target)
    except DataError:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            with suppress(OSError):
                leftover.unlink(missing_ok=True)
        raise
    return counts


def _copy_tables(con: duckdb.DuckDBPyConnection, names: list[str], tmp: Path) -> dict[str, int]:
    """Copy the tables into a new DuckDB file at `tmp` (rows per table); a full disk or read-only folder is an
    OSError, as from any other write."""
    try:
        con.execute(f"ATTACH '{quote(tmp)}' AS dest")
        try:
            counts = {}
            for name in names:
                con.execute(f"CREATE TABLE dest.{name} AS SELECT * FROM {name}")
                counts[name] = con.execute(f"SELECT count(*) FROM dest.{name}").fetchall()[0][0]
        finally:
            con.execute("DETACH dest")
    except duckdb.IOException as exc:
        code = next((c for c in (*NO_SPACE, *NOT_WRITABLE) if os.strerror(c) in str(exc)), None)
        if code is None:  # not a write the folder refused: the error as DuckDB gave it
            raise
        raise OSError(code, str(exc).splitlines()[0]) from exc
    return counts
