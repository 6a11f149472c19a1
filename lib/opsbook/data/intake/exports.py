"""Known exports (data/reference/exports.yaml): detection by content, mapping to canonical tables, pseudonyms."""
from __future__ import annotations

import dataclasses
import hashlib
import re
import hmac
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd
import pyarrow as pa
import yaml

from ... import paths
from ...errors import DataError, IntakeError, writing
from ...settings import TZ_NAME
from .. import folder as journal, privacy, tables
from . import clean
from .read import RawTable, read_export_table

SECRET_FILE = ".opsbook-secret"
SECRET_BYTES = 32  # random bytes of a key, written as twice as many hexadecimal characters


@dataclass(frozen=True)
class ExportKind:
    """One kind of export: its platform, Chinese name, target table, signature, column aliases and header variants."""

    name: str
    platform: str | None  # None: the shop's own sheets (成本表, 活动报名表), whose rows belong to no platform
    kind: str
    table: str
    signature: tuple[str, ...]
    columns: dict
    customer: tuple[str, ...] = ()
    statuses: dict = field(default_factory=dict)
    refunded_when: dict = field(default_factory=dict)
    platforms: tuple[str, ...] = ()
    constants: dict = field(default_factory=dict)
    defaults: dict = field(default_factory=dict)
    variants: dict = field(default_factory=dict)  # another spelling of a header → the header as the export names it
    same_as: dict = field(default_factory=dict)  # canonical column → the canonical column whose values it takes

    @property
    def label(self) -> str:
        """The kind as staff see it: its Chinese name, and its platform if it has one (抖店订单（DY）)."""
        return f"{self.kind}（{self.platform}）" if self.platform else self.kind

    def spelled_out(self, header: str) -> str:
        """A header with its known other spellings, for a message: 价格（或 一口价、宝贝价格）."""
        others = [v for v, h in self.variants.items() if h == header]
        return f"{header}（或 {'、'.join(others)}）" if others else header

    def reads(self) -> set[str]:
        """The headers the kind reads or recognises the export by, as the export names them."""
        return set(self.signature).union(self.customer, *self.columns.values())

    def spellings(self, target: str) -> list[str]:
        """Every header that can fill a canonical column: its aliases, each followed by its known variants."""
        return [name for alias in self.columns.get(target, [])
                for name in [alias, *(v for v, header in self.variants.items() if header == alias)]]

    def spelled(self, columns) -> dict[str, list[str]]:
        """The file's columns grouped by the header they stand for (known variants and repeats `列.1` resolved)."""
        present, groups = set(columns), {}
        for column in columns:
            repeat = re.fullmatch(r"(.+)\.\d+", str(column))
            base = repeat.group(1) if repeat and repeat.group(1) in present else column
            groups.setdefault(self.variants.get(base, base), []).append(column)
        return groups


REFERENCE = "data/reference/exports.yaml"


class _UniqueKeys(yaml.SafeLoader):
    """SafeLoader refusing a key given twice in one mapping (plain YAML silently keeps the last)."""

    def construct_mapping(self, node, deep=False):
        """The mapping, or a ConstructorError naming the repeated key."""
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"{key} 出现了两次", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


@lru_cache(maxsize=1)
def kinds() -> dict[str, ExportKind]:
    """Every known export kind, by name; DataError naming the entry if the file is ambiguous (see its header)."""
    try:
        data = yaml.load((paths.root() / REFERENCE).read_text(encoding="utf-8"), Loader=_UniqueKeys)
    except yaml.YAMLError as exc:
        raise DataError(f"{REFERENCE} 格式有误：{exc}") from exc
    found = {name: ExportKind(name, d["platform"], d["kind"], d["table"], tuple(d["signature"]), d["columns"],
                              tuple(d.get("customer", ())), d.get("statuses", {}), d.get("refunded_when", {}),
                              tuple(d.get("platforms", [d["platform"]] if d["platform"] else tables.PLATFORMS)),
                              d.get("constants", {}), d.get("defaults", {}), d.get("variants") or {},
                              d.get("same_as", {})) for name, d in data.items()}
    problems = [p for kind in found.values() for p in _ambiguities(kind)]
    if problems:
        raise DataError(problems, headline=f"{REFERENCE} 中的列对应关系有歧义，请修正")
    return found


def _ambiguities(kind: ExportKind) -> list[str]:
    """Where one header of a kind would stand for two columns: never a silent choice."""
    problems, owner = [], {}
    for target, aliases in kind.columns.items():
        for alias in aliases:
            if alias in owner:
                problems.append(f"{kind.name}：列 {alias} 同时对应 {owner[alias]} 和 {target}（同一列的值可用 same_as 复用）")
            owner.setdefault(alias, target)
    for variant, header in kind.variants.items():
        if variant in kind.reads():
            problems.append(f"{kind.name}：{variant} 本身就是读取的列，不能再写作 {header} 的另一种写法")
        if header in kind.variants:
            problems.append(f"{kind.name}：{variant} 写作 {header}，而 {header} 又是 {kind.variants[header]} 的另一种写法")
    return problems


def signatures() -> list[tuple[str, ...]]:
    """Each kind's signature under every known spelling: what finds the header row of a file."""
    return [k.signature + tuple(v for v, header in k.variants.items() if header in k.signature)
            for k in kinds().values()]


def detect(columns, platform: str | None = None, kind: str | None = None, name: str = "") -> ExportKind:
    """The export kind whose signature the columns hold best (all signature columns must be present, under any
    known spelling).

    `platform` and `kind` narrow the choice (`--platform TM` also sets the platform of a TB/TM export); `name`, the
    file's, starts the message when nothing fits.
    """
    candidates = [k for k in kinds().values()
                  if (platform is None or platform in k.platforms) and (kind is None or kind in (k.name, k.kind))]
    present = {k.name: set(k.spelled(columns)) for k in candidates}
    # of two kinds whose signatures the file holds whole, the one recognised by more columns is the more specific:
    # a product list with a 成本价 column is a product list, not a cost sheet
    # (then, of two signatures as long, the kind that reads more of the file's columns: a stock list with 成本价 is a
    # stock list, not a cost sheet)
    scored = sorted(((len(present[k.name] & set(k.signature)) / len(k.signature), k) for k in candidates),
                    key=lambda t: (t[0], len(t[1].signature), len(present[t[1].name] & t[1].reads())), reverse=True)
    if scored and scored[0][0] >= 1 and platform and platform != scored[0][1].platform and (
            scored[0][1].platform or "platform" in scored[0][1].columns):  # a sheet of rows with a 平台 column: the
        return dataclasses.replace(scored[0][1], platform=platform)  # platform of rows that leave it empty
    if not scored or scored[0][0] < 1:
        known = "、".join(k.label for k in kinds().values())
        near = [k for score, k in scored if scored[0][0] > 0 and score == scored[0][0]][:3]  # every kind as near
        hint = "；最接近的是" + "；或".join(
            f"{k.label}，缺少列 {'、'.join(map(k.spelled_out, sorted(set(k.signature) - present[k.name])))}"
            for k in near) if near else ""
        raise IntakeError(f"{name + ' 是' if name else ''}无法识别的导出文件（支持：{known}）{hint}")
    return scored[0][1]


def clashes(columns, kind: ExportKind) -> list[str]:
    """Chinese lines for each header the kind reads that the file holds twice (two spellings, or a repeat)."""
    lines = []
    for header, found in kind.spelled(columns).items():
        if len(found) > 1 and header in kind.reads():
            target = next((f"（{t}）" for t, aliases in kind.columns.items() if header in aliases), "")
            lines.append(f"列 {'、'.join(map(str, found))} 都表示 {header}{target}，无法确定该用哪一列："
                         "请删除或改名多余的列后重新导入")
    return lines


def standard_headers(frame: pd.DataFrame, kind: ExportKind, name: str) -> pd.DataFrame:
    """The frame with each known variant header renamed to the export's own; IntakeError if two columns of the
    file stand for one header the kind reads (extra columns are left alone)."""
    problems = clashes(frame.columns, kind)
    if problems:
        raise IntakeError([f"{name} 的{p}" for p in problems], headline=f"{name} 无法导入，未写入任何数据")
    renamed = {c: kind.variants[c] for c in frame.columns if c in kind.variants}
    if not renamed:
        return frame
    frame = frame.rename(columns=renamed)
    frame.attrs["spelled"] = {header: column for column, header in renamed.items()}  # as the file names them
    return frame


# the 34 provincial-level divisions, by the short name addresses start with (the full name follows it, or not)
PROVINCES = {**{short: f"{short}省" for short in (
    "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽", "福建", "江西", "山东", "河南", "湖北", "湖南", "广东",
    "海南", "四川", "贵州", "云南", "陕西", "甘肃", "青海", "台湾")},
    **{short: f"{short}市" for short in ("北京", "上海", "天津", "重庆")},
    "内蒙古": "内蒙古自治区", "广西": "广西壮族自治区", "西藏": "西藏自治区", "宁夏": "宁夏回族自治区",
    "新疆": "新疆维吾尔自治区", "香港": "香港特别行政区", "澳门": "澳门特别行政区"}
_PROVINCE = re.compile("^(" + "|".join(sorted(PROVINCES, key=len, reverse=True)) + ")"
                       r"(省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)?")
_CITY = re.compile(r"^([^区县旗路街道巷弄号栋楼室\d]{1,8}?(?:市|自治州|地区|盟))")


def province_city(address: object) -> tuple[str | None, str | None]:
    """Province and city from a Chinese address (street, house number and name are dropped).

    Only a known province at the very start counts, so a name or phone written before the address never passes.
    """
    text = re.sub(r"\s+", "", str(address or ""))  # Taobao writes 省 市 区 详细地址(邮编)
    m = _PROVINCE.match(text)
    if not m:
        return None, None
    province = PROVINCES[m.group(1)]
    if province.endswith("市"):  # 直辖市: the city is the province
        return province, province
    city = _CITY.match(text[m.end():])
    return province, city.group(1) if city else None


def warehouse_secret(folder: Path) -> bytes:
    """The per-warehouse key for pseudonyms (kept in the warehouse, never in git), created on first use.

    One process creates it, under the folder's lock (not to be held by the caller), and the file appears whole or
    not at all. A key of the wrong form is refused, never replaced: a new key would change every pseudonym.
    """
    path = folder / SECRET_FILE
    if not path.exists():
        with writing(folder):
            folder.mkdir(parents=True, exist_ok=True)
            with journal.locked(folder):
                if not path.exists():  # another process may have created it while this one waited
                    _create_secret(path)
    return _read_secret(path)


def _create_secret(path: Path) -> None:
    """Write a new key beside `path`, flush it to disk, then rename it into place (mode 600)."""
    aside = path.with_name(path.name + ".tmp")
    try:
        fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fd, 0o600)  # also when a stale aside file had another mode
            fh.write(secrets.token_hex(SECRET_BYTES).encode())
            fh.flush()
            os.fsync(fd)
        os.replace(aside, path)
    finally:
        aside.unlink(missing_ok=True)
    journal.fsync(path.parent)


def _read_secret(path: Path) -> bytes:
    """The key in `path`; DataError unless it is what `_create_secret` writes (64 hexadecimal characters)."""
    try:
        key = path.read_bytes().strip()
    except OSError as exc:
        raise DataError(f"无法读取密钥文件 {path}（{exc.strerror}）：请检查该文件的权限后重试") from exc
    if not re.fullmatch(rb"[0-9a-f]{%d}" % (2 * SECRET_BYTES), key):
        raise DataError(
            f"密钥文件 {path} 已损坏（应为 {2 * SECRET_BYTES} 个十六进制字符，实际为 {len(key)} 个字符）：请从备份恢复该文件后重试。"
            "不要删除或重新生成它：新密钥会改变所有已导入买家的编号（customer_id），老客会被当作新客。"
            "只有当这个数据仓库里还没有任何导入的数据时（例如首次导入失败留下的空文件），才可以删除它后重新导入",
            headline="数据仓库的密钥文件有误，未导入任何数据")
    return key


def pseudonym(secret: bytes, platform: str, value: str) -> str:
    """A stable customer id that cannot be turned back into the buyer without the key."""
    return "C" + hmac.new(secret, f"{platform}:{value}".encode(), hashlib.sha256).hexdigest()[:16]


def pseudonymizer(secret: bytes, platform: str):
    """`pseudonym` of one platform's values, the keyed hash set up once (HMAC reads `platform:` then the value)."""
    keyed = hmac.new(secret, f"{platform}:".encode(), hashlib.sha256)

    def pseudonym_of(value: str) -> str:
        digest = keyed.copy()
        digest.update(value.encode())
        return "C" + digest.hexdigest()[:16]
    return pseudonym_of


@dataclass
class ExportResult:
    """What one file yielded: its platform and kind, canonical tables, rejected rows with reasons."""

    path: Path
    kind: ExportKind
    encoding: str
    format: str
    rows_read: int
    skipped: dict[str, int]
    tables: dict[str, pd.DataFrame]
    rejected: pd.DataFrame

    @property
    def platform(self) -> str | None:
        """Platform code (TB, JD, DY, PDD …); None for the shop's own sheets."""
        return self.kind.platform


def _pick(raw: pd.DataFrame, aliases) -> str | None:
    return next((a for a in aliases if a in raw.columns), None)


def explain(raw_columns, kind: ExportKind) -> list[str]:
    """For each canonical column, which source column feeds it (or the aliases tried), and any ambiguous column."""
    lines = []
    schema = tables.SCHEMAS[kind.table]
    spelled = kind.spelled(raw_columns)
    need = {t: "必需" if t in schema and schema[t].required else "可选" for t in [*kind.columns, *kind.same_as]}
    found = {t: next((a for a in aliases if a in spelled), None) for t, aliases in kind.columns.items()}
    for target, source in found.items():
        as_written = source and spelled[source][0]
        named = f"{as_written}（即 {source}）" if as_written != source else source
        if source:
            lines.append(f"{target}（{need[target]}）← {named}")
        elif not found.get(kind.same_as.get(target)):  # else it takes the other column's values, said below
            lines.append(f"{target}（{need[target]}）← 未找到（尝试过：{'、'.join(kind.spellings(target))}）")
    lines += [f"{target}（{need[target]}）← 同 {other}" for target, other in kind.same_as.items() if not found.get(target)]
    return lines + [f"有歧义：{line}" for line in clashes(raw_columns, kind)]


def _columns(df: pd.DataFrame, kind: ExportKind, required: tuple[str, ...], name: str) -> dict[str, str | None]:
    """Canonical column → source column; IntakeError naming each required one missing and the aliases tried."""
    cols = {target: _pick(df, aliases) for target, aliases in kind.columns.items()}
    for target, other in kind.same_as.items():  # one column feeding two canonical ones, as the kind declares
        cols[target] = cols.get(target) or cols.get(other)
    missing = [t for t in required if cols.get(t) is None]
    if missing:
        tried = "；".join(f"{t}（尝试过：{'、'.join(kind.spellings(t))}）" for t in missing)
        raise IntakeError(f"{name} 缺少必需列：{tried}")
    return cols


def _split(out: pd.DataFrame, reasons: pd.Series, raw: RawTable) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Good rows, and rejected rows as (file row number, reason)."""
    bad = reasons != ""
    rejected = pd.DataFrame({"row": raw.frame.index[bad] + raw.header_row + 2, "reason": reasons[bad]})
    good = out[~bad] if bad.any() else out
    return good.reset_index(drop=True), rejected.reset_index(drop=True)


def _reject(reasons: pd.Series, bad: pd.Series, reason: str | pd.Series) -> pd.Series:
    """`reasons` with `reason` given to the `bad` rows that have none yet."""
    return reasons.mask(bad & (reasons == ""), reason) if bad.any() else reasons


def _order_keys(df: pd.DataFrame, cols: dict, kind: ExportKind, name: str) -> pd.DataFrame:
    """order_id, platform, sku and line_id of every row; IntakeError if Excel turned the order ids into 2.58E+18."""
    out = pd.DataFrame(index=df.index)
    ids, sci = clean.clean_ids(df[cols["order_id"]])
    if sci.any():
        raise IntakeError(f"{name} 的订单编号被改成了科学计数法（如 {df.loc[sci, cols['order_id']].iloc[0]}），"
                          "原编号已无法恢复：请从后台重新导出，不要用 Excel 打开后另存")
    out["order_id"] = ids
    out["platform"] = kind.platform
    out["sku"] = clean.clean_id_column(df[cols["sku"]])
    # exports without a line id have one row per order and product
    out["line_id"] = clean.clean_id_column(df[cols["line_id"]]) if cols.get("line_id") else ids + "-" + out["sku"]
    return out


def _add_numbers(out: pd.DataFrame, reasons: pd.Series, df: pd.DataFrame, cols: dict, targets) -> pd.Series:
    """Parse the numeric columns into `out`; the reasons with rows holding a non-number rejected."""
    for target in targets:
        if cols.get(target):
            out[target], bad = clean.parse_numbers(df[cols[target]])
            reasons = _reject(reasons, bad, f"{cols[target]} 不是数字")
    return reasons


def _add_times(out: pd.DataFrame, reasons: pd.Series, df: pd.DataFrame, cols: dict) -> pd.Series:
    """Parse order and pay times into `out` (China time); the reasons with rows holding a non-time rejected."""
    for target in ("order_time", "pay_time"):
        if cols.get(target):
            stamp, bad = clean.parse_times(df[cols[target]])
            out[target] = stamp.dt.tz_localize(TZ_NAME)
            reasons = _reject(reasons, bad, f"{cols[target]} 不是时间")
    return reasons


def _add_status(out: pd.DataFrame, reasons: pd.Series, df: pd.DataFrame, cols: dict, kind: ExportKind) -> pd.Series:
    """Map the platform's status words (and refund columns) into `out`; the reasons with unknown statuses rejected."""
    status_text = df[cols["status"]].str.strip()
    out["status"] = clean.map_unique(status_text, kind.statuses.get)
    reasons = _reject(reasons, out["status"].isna(), "未知的订单状态 " + status_text)
    for target, words in kind.refunded_when.items():
        if cols.get(target):
            out.loc[df[cols[target]].str.strip().isin(words), "status"] = "refunded"
    if "pay_time" in out:
        out.loc[out["status"].eq("unpaid"), "pay_time"] = pd.NaT
    return reasons


def _add_contact(out: pd.DataFrame, df: pd.DataFrame, cols: dict) -> None:
    """The masked phone and the province and city into `out` (street, house number and name are dropped)."""
    if cols.get("phone"):
        out["phone"] = privacy.mask_phones(clean.clean_id_column(df[cols["phone"]]))
    for target in ("province", "city"):
        if cols.get(target):
            place = clean.clean_id_column(df[cols[target]])
            out[target] = df[cols[target]].str.strip().where(place.notna() & (place != "****"))
    if cols.get("address") and not cols.get("province"):  # keep only province and city of a full address
        out[["province", "city"]] = clean.map_unique(df[cols["address"]], province_city, ["province", "city"])


def _customers(who: pd.Series, pseudonym_of) -> pd.Series:
    """Pseudonyms of the buyer cells (cleaned as ids), once per distinct buyer; missing where there is no buyer."""
    return clean.map_unique(clean.clean_id_column(who), pseudonym_of)


def to_orders(raw: RawTable, kind: ExportKind, secret: bytes, name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Canonical order lines from a raw export, and the rejected rows with their reasons."""
    df = raw.frame
    cols = _columns(df, kind, ("order_id", "sku", "quantity", "amount", "order_time", "status"), name)
    key = _pick(df, kind.customer)
    with ThreadPoolExecutor(max_workers=1) as pool:  # hashing buyers holds the GIL, Arrow below mostly does not
        customers = pool.submit(_customers, df[key if key else cols["order_id"]], pseudonymizer(secret, kind.platform))
        out = _order_keys(df, cols, kind, name)
        reasons = _add_numbers(out, pd.Series("", index=df.index), df, cols,
                               ("quantity", "unit_price", "amount", "discount"))
        if "unit_price" not in out:  # order-level exports: what the order paid per piece (other shops' rows have one)
            out["unit_price"] = (out["amount"] / out["quantity"].where(out["quantity"] > 0)).fillna(out["amount"]).round(2)
        reasons = _add_times(out, reasons, df, cols)
        reasons = _add_status(out, reasons, df, cols, kind)
        _add_contact(out, df, cols)
        out["customer_id"] = customers.result()
    reasons = _reject(reasons, out["customer_id"].isna(), "缺少买家标识")
    out["is_fake"] = False
    return _split(out, reasons, raw)


def to_order_lines(raw: RawTable, kind: ExportKind, secret: bytes, name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Product lines of an item-level export (淘宝/天猫订单明细), and the rejected rows.

    The lines carry no buyer, address or phone: the warehouse gives them the order fields of the order list
    (`warehouse.merge`), and keeps them aside until that list is imported.
    """
    df = raw.frame
    cols = _columns(df, kind, ("order_id", "sku", "quantity", "unit_price"), name)
    out = _order_keys(df, cols, kind, name)
    reasons = _add_numbers(out, pd.Series("", index=df.index), df, cols,
                           ("quantity", "unit_price", "amount", "refund_amount"))
    if not cols.get("amount"):  # older exports: price and quantity only
        out["amount"] = (out["unit_price"] * out["quantity"]).round(2)
    reasons = _add_times(out, reasons, df, cols)
    if cols.get("status"):
        reasons = _add_status(out, reasons, df, cols, kind)
    return _split(out, reasons, raw)


def to_report(raw: RawTable, kind: ExportKind, secret: bytes, name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Canonical rows of a report (ad spend, product traffic …) typed by the table's schema, and the rejected rows."""
    df = raw.frame
    schema = tables.SCHEMAS[kind.table]
    cols = _columns(df, kind, tuple(t for t in kind.columns if schema[t].required and t not in kind.defaults), name)
    out = pd.DataFrame(index=df.index)
    reasons = pd.Series("", index=df.index)
    for target, source in cols.items():
        col = schema[target]
        if source is None:
            if target in kind.defaults:
                out[target] = kind.defaults[target]
            continue
        if col.kind in ("date", "datetime"):
            stamp = pd.to_datetime(df[source].str.strip(), errors="coerce", format="mixed")
            reasons = reasons.mask(stamp.isna() & (reasons == ""), f"{source} 不是日期")
            out[target] = stamp.dt.normalize() if col.kind == "date" else stamp.dt.tz_localize(TZ_NAME)
        elif col.kind in ("int", "float"):
            values, bad = clean.parse_numbers(df[source])
            out[target] = values.fillna(0) if col.required else values
            reasons = reasons.mask(bad & (reasons == ""), f"{source} 不是数字")
        else:
            out[target] = clean.clean_id_column(df[source])
    out["platform"] = kind.platform
    for target, value in kind.constants.items():
        out[target] = value
    return _split(out, reasons, raw)


def to_refunds(raw: RawTable, kind: ExportKind, secret: bytes, name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Refunds per order (amount, and whether completed) from an after-sales export, and the rejected rows."""
    df = raw.frame
    cols = _columns(df, kind, ("order_id", "refund_amount", "refund_status"), name)
    out = pd.DataFrame(index=df.index)
    out["platform"] = kind.platform
    out["order_id"] = clean.clean_id_column(df[cols["order_id"]])
    amount, bad = clean.parse_numbers(df[cols["refund_amount"]])
    out["refund_amount"] = amount.fillna(0)
    out["refunded"] = df[cols["refund_status"]].str.strip().isin(kind.refunded_when.get("refund_status", []))
    reasons = pd.Series("", index=df.index).mask(bad, f"{cols['refund_amount']} 不是数字")
    reasons = reasons.mask(out["order_id"].isna() & (reasons == ""), "缺少订单编号")
    return _split(out, reasons, raw)


# other tables: to_report, typed by their schema. A mapper returns (frame or {table: frame}, rejected rows); the goods
# mappers (product lists, cost sheets, registration sheets) register themselves from `intake.goods`.
MAPPERS = {"orders": to_orders, "order_lines": to_order_lines, "refunds": to_refunds}


def read_export(path: str | Path, platform: str | None = None, kind: str | None = None,
                warehouse: str | Path | None = None) -> ExportResult:
    """Read one export: detect its kind, clean it, map it to canonical tables; IntakeError if unsafe."""
    path = Path(path)
    folder = paths.resolve(warehouse or "data/warehouse")
    # only the columns the export's kind reads are read: names, notes, accounts never leave the file
    raw = read_export_table(path, signatures(),
                            keep=lambda header: _sources(detect(header, platform, kind, path.name), header))
    found = detect(raw.frame.columns, platform, kind, path.name)
    raw.frame = standard_headers(raw.frame, found, path.name)
    mapped, rejected = MAPPERS.get(found.table, to_report)(raw, found, warehouse_secret(folder), path.name)
    read_as = (raw.encoding, raw.format, len(raw.frame), raw.skipped)
    del raw
    pa.default_memory_pool().release_unused()  # give the raw cells back before checking makes a copy of the rows
    frames = mapped if isinstance(mapped, dict) else {found.table: mapped}  # a mapper may fill several tables
    for table, frame in frames.items():
        if table in tables.SCHEMAS:
            frames[table], problems = tables.problems_in(table, frame, origin=path.name)
            if problems:
                raise IntakeError(problems, headline=f"{path.name} 无法导入，未写入任何数据")
    return ExportResult(path, found, *read_as, frames, rejected)


def _sources(kind: ExportKind, header: list[str]) -> set[str]:
    """The header's columns the kind reads or recognises the export by: any known spelling, repeats included."""
    reads = kind.reads()
    return {column for name, found in kind.spelled(header).items() if name in reads for column in found}
