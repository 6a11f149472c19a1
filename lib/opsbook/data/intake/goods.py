"""Goods sheets: platform product lists (淘宝/天猫, 抖店) into `product_listings`, the shop's cost sheet (成本表) into
`product_costs`, campaign registration sheets (活动报名表) into `campaign_items`; and the products they complete.
The shop's supply sheets go into their tables the same way, typed by their schema: the supplier list (供应商名录) into
`suppliers`, an ERP's purchase orders (采购单) into `purchase_orders`, the candidate list (选品候选表) into `candidates`.

Platform exports carry no cost, and `products` needs one for every SKU (every margin is computed from it). A listing
enters `products` once its SKU has a cost — from a cost sheet, from a product list's own 成本价 column, or the cost
already stored in `products` — in whichever order the files come; until then it waits in `product_listings` and the
import names the SKUs. A missing cost is never read as 0.

Listings are kept per platform and SKU: the same 商家编码 in a 淘宝 list and an 抖店 list is two listings (which the
listing audit reports as a duplicate code), never one overwriting the other; a cost is the SKU's, on every platform.
"""
from __future__ import annotations

import html
import re

import pandas as pd

from ...errors import IntakeError
from ...settings import TZ_NAME
from .. import tables
from . import clean, exports
from .read import RawTable
from .warehouse import Target, combine

LISTINGS, COSTS, PRODUCTS = "product_listings", "product_costs", "products"
STAGED = (LISTINGS, COSTS)  # the tables whose rows complete products (merged by `merge`)
SKU = ["sku"]
LISTING = tables.KEYS[PRODUCTS]  # platform + sku: a listing (products and product_listings alike)
SHOWN = 20  # SKUs named in a summary line
COST = tables.Column("cost", "float", "成本价", required=False, nullable=True, min=0)  # a product list's own, if any
# what a registration sheet keeps in campaign_items beside its own columns, for listing_audit (typed like products)
EXTRA = {"product_id": tables.SCHEMAS["products"]["product_id"], "title": tables.SCHEMAS["products"]["title"],
         "price": tables.Column("price", "float", "日常价", required=False, nullable=True, min=0),
         "promo_stock": tables.Column("promo_stock", "int", "活动库存", required=False, nullable=True, min=0)}
_IMAGE_SEPARATORS = re.compile(r"[;；\s]+")
_TRUTH = {"是": True, "否": False, "true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}
_ASSISTANT_IMAGE = re.compile(r"^[0-9A-Za-z]*:(\d+):\d+:[^|]*\|")  # 淘宝助理's 新图片 entry: md5:kind:position:…|url


def image_count(cell: object) -> int | None:
    """Main images in a cell: a number as it is, else the images listed (separated by `;`); None when empty.

    淘宝助理 writes each picture as `md5:1:0:|url;` where the 1 marks a main image: its other entries (2, a spec's
    picture) are not counted.
    """
    text = clean.clean_id(cell)
    if text is None:
        return None
    if text.isdigit():
        return int(text)
    entries = [entry for entry in _IMAGE_SEPARATORS.split(text) if entry]
    return sum(1 for entry in entries if (m := _ASSISTANT_IMAGE.match(entry)) is None or m.group(1) == "1")


def _values(series: pd.Series, col: tables.Column, target: str) -> tuple[pd.Series, list[tuple[pd.Series, str]]]:
    """One export column as the canonical column's values, and the cells that are not of its kind, with why."""
    if target == "main_images":
        return pd.to_numeric(clean.map_unique(series, image_count)).astype("Int64"), []
    if col.kind == "bool":
        text = clean.clean_id_column(series).str.lower()
        values = text.map(lambda v: _TRUTH.get(clean.YES_NO.get(v, v)), na_action="ignore").astype("boolean")
        return values, [(values.isna() & text.notna(), "不是 是/否")]
    if col.kind in ("int", "float"):
        values, bad = clean.parse_numbers(series)
        if col.kind == "float":
            return values, [(bad, "不是数字")]
        fraction = values.notna() & (values % 1 != 0)
        return values.where(~fraction).astype("Int64"), [(bad, "不是数字"), (fraction, "不是整数")]
    if col.kind == "date":
        stamps, bad = clean.parse_times(series)
        return stamps.dt.normalize(), [(bad, "不是日期")]
    if col.kind == "datetime":
        stamps, bad = clean.parse_times(series)
        return stamps.dt.tz_localize(TZ_NAME), [(bad, "不是时间")]
    text = clean.clean_id_column(series)
    return (text if tables.is_id(col) else _unescaped(text)), []


def _unescaped(text: pd.Series) -> pd.Series:
    """Text with its HTML entities decoded (`&#32;`, `&amp;`): some xlsx exports write titles so."""
    marked = text.str.contains("&", regex=False).fillna(False).astype(bool)
    return text.where(~marked, text[marked].map(html.unescape)) if marked.any() else text


def _typed(raw: RawTable, kind: exports.ExportKind, spec: dict[str, tables.Column], name: str,
           ) -> tuple[pd.DataFrame, pd.Series, dict[str, str | None]]:
    """The kind's columns typed by `spec`, the reason each bad row is rejected ('' for good rows), and the header
    feeding each column. A row is rejected for a required cell left empty, a value not of its kind or below its
    minimum; a required column missing from the file rejects the file (IntakeError naming every spelling tried)."""
    df = raw.frame
    cols = exports._columns(df, kind, tuple(t for t, c in spec.items() if c.required), name)
    cols = {target: source for target, source in cols.items() if target in spec}
    out, reasons = pd.DataFrame(index=df.index), pd.Series("", index=df.index)
    for target, source in cols.items():
        if source is None:
            continue
        col, shown = spec[target], df.attrs.get("spelled", {}).get(source, source)  # the header as the file has it
        values, problems = _values(df[source], col, target)
        for bad, why in problems:
            reasons = exports._reject(reasons, bad, f"{shown} {why}")
        if col.min is not None:
            reasons = exports._reject(reasons, (values < col.min).fillna(False).astype(bool),
                                      f"{shown} 不能小于 {col.min:g}")
        if col.fraction:
            reasons = exports._reject(reasons, (values > tables.FRACTION_MAX).fillna(False).astype(bool),
                                      shown + " 为 " + df[source].astype("str").str.strip() + "，" + col.fraction_problem())
        if col.required and not col.nullable:
            reasons = exports._reject(reasons, values.isna(), f"{shown} 为空")
        out[target] = values
    return out, reasons, {t: df.attrs.get("spelled", {}).get(s, s) for t, s in cols.items()}


def _unique(out: pd.DataFrame, reasons: pd.Series, raw: RawTable, key: list[str], cols: dict, name: str,
            one_row: tuple[str, str] | None = None) -> None:
    """IntakeError naming each key the file's good rows hold twice, with its rows (the first 20 keys; a platform in
    brackets after the others): which one is right is not guessed. `one_row` is (who may have one row only, how to
    tell rows apart), else `_ONE_ROW`'s by the key."""
    good = out[reasons == ""]
    repeated = good[good.duplicated(subset=key, keep=False)]
    if repeated.empty:
        return
    groups: dict[tuple, list] = {}
    for row, values in zip(repeated.index, repeated[key].itertuples(index=False, name=None)):
        groups.setdefault(values, []).append(row)
    lines = []
    for values, rows in sorted(groups.items()):
        named = dict(zip(key, values))
        platform = named.pop("platform", None)
        shown = "，".join(f"{cols[k]} {v}" for k, v in named.items()) + (f"（{platform}）" if platform else " ")
        lines.append(f"{shown}出现在第 {'、'.join(str(int(i) + raw.header_row + 2) for i in rows)} 行")
    scope, hint = one_row or next(v for k, v in _ONE_ROW.items() if k in key)
    raise IntakeError(lines[:20] + [f"{scope}只能有一行：请删除重复的行{hint}后重新导入"],
                      headline=f"{name} 的 {'+'.join(cols[k] for k in key)} 有重复，无法确定该用哪一行，未写入任何数据")


# who may have one row only (by the first key column found), and how to tell rows apart
_ONE_ROW = {"campaign_id": ("同一活动中每个 SKU", "（多规格商品请给每个规格填写不同的商家编码）"),
            "sku": ("每个 SKU", "（多规格商品请给每个规格填写不同的商家编码）"),
            "po_id": ("每张采购单的每个商家编码", ""), "supplier_id": ("每个供应商", ""), "candidate_id": ("每个候选", "")}
_ONE_ROW["task_id"] = ("同一大促的每个任务编号", "（同一大促中每项任务填写不同的任务编号）")  # plan_tasks (intake.plans)


def _mapped(raw: RawTable, kind: exports.ExportKind, spec: dict[str, tables.Column], table: str,
            name: str, rekey=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows of `table` (good ones, unique by its key, none breaking a row rule of the table) and the rejected
    rows with their reasons; `rekey(out)` may set the key first (a purchase order's lines)."""
    out, reasons, cols = _typed(raw, kind, spec, name)
    if kind.platform and "platform" in spec:
        out["platform"] = kind.platform
    if rekey is not None:
        out = rekey(out)
    reasons = _broken_rules(out, reasons, table)
    _unique(out, reasons, raw, [k for k in tables.KEYS[table] if k in cols], cols, name)  # a file's platform is one
    return exports._split(out, reasons, raw)


def _broken_rules(out: pd.DataFrame, reasons: pd.Series, table: str) -> pd.Series:
    """The reasons with each row breaking a row rule of the table (`tables.RULES`: 到货日期早于下单日期 …) rejected."""
    rules = [(text, condition) for t, text, condition, needs in tables.RULES if t == table and set(needs) <= set(out)]
    if not rules:
        return reasons
    import duckdb  # the rules are SQL, the same text a source runs over its files
    con = duckdb.connect()
    con.register("frame", out.reset_index(drop=True).assign(row_=range(len(out))))
    for text, condition in rules:
        rows = [r for (r,) in con.execute(f"SELECT row_ FROM frame WHERE {condition}").fetchall()]
        bad = pd.Series(False, index=out.index)
        bad.iloc[rows] = True
        reasons = exports._reject(reasons, bad, text)
    return reasons


def to_listings(raw: RawTable, kind: exports.ExportKind, secret: bytes, name: str):
    """A product list's listings (product_listings), and their costs (product_costs) if the list has a cost column."""
    frame, rejected = _mapped(raw, kind, {**tables.SCHEMAS[LISTINGS], "cost": COST}, LISTINGS, name)
    if "cost" not in frame:
        return {LISTINGS: frame}, rejected
    costs = frame.loc[frame["cost"].notna(), ["sku", "cost"]].reset_index(drop=True)
    return {COSTS: costs, LISTINGS: frame.drop(columns="cost")}, rejected


def to_costs(raw: RawTable, kind: exports.ExportKind, secret: bytes, name: str):
    """A cost sheet's costs by SKU (product_costs); a row without a cost is rejected, never read as 0."""
    return _mapped(raw, kind, tables.SCHEMAS[COSTS], COSTS, name)


def to_campaign_items(raw: RawTable, kind: exports.ExportKind, secret: bytes, name: str):
    """A registration sheet's SKUs with their promo prices (campaign_items), and their titles, daily prices and promo
    stock beside them."""
    return _mapped(raw, kind, {**tables.SCHEMAS["campaign_items"], **EXTRA}, "campaign_items", name)


def to_suppliers(raw: RawTable, kind: exports.ExportKind, secret: bytes, name: str):
    """A supplier list's suppliers (suppliers): id, name, cooperation start, weekly capacity, the shop's tier."""
    return _mapped(raw, kind, tables.SCHEMAS["suppliers"], "suppliers", name)


def _line_ids(out: pd.DataFrame) -> pd.DataFrame:
    """Purchase orders with one id per SKU: an ERP's 采购单 of several SKUs has a row per SKU under one 采购单号, and
    each becomes `采购单号-商家编码` (an order of one SKU keeps its number), the same on every import of it."""
    if "po_id" not in out or "sku" not in out:
        return out
    several = out.groupby("po_id")["sku"].transform("nunique") > 1
    return out.assign(po_id=out["po_id"].where(~several, out["po_id"] + "-" + out["sku"]))


def to_purchase_orders(raw: RawTable, kind: exports.ExportKind, secret: bytes, name: str):
    """An ERP's purchase orders (purchase_orders), one row per order and SKU; a row breaking a rule (到货日期早于下单日期,
    次品数量大于实收数量 …) is rejected by its row number."""
    return _mapped(raw, kind, tables.SCHEMAS["purchase_orders"], "purchase_orders", name, rekey=_line_ids)


def to_candidates(raw: RawTable, kind: exports.ExportKind, secret: bytes, name: str):
    """A candidate list (candidates) for 选品评估: a growth typed as 12 for 12 % is rejected by its row."""
    return _mapped(raw, kind, tables.SCHEMAS["candidates"], "candidates", name)


exports.MAPPERS.update({LISTINGS: to_listings, COSTS: to_costs, "campaign_items": to_campaign_items,
                        "suppliers": to_suppliers, "purchase_orders": to_purchase_orders, "candidates": to_candidates})


def place(target: Target, skus: pd.DataFrame) -> dict:
    """Write into products every SKU among `skus` that now has both halves: a listing (or a stored product) and a cost.

    A listing replaces its product's listing columns and keeps what it lacks (the cost, a qualification expiry, and
    the name: a listing's name is its title, which names a new product only); a cost replaces the product's cost.
    Returns counts of SKUs written to products (added, and updated: changed), the SKUs among `skus` whose listing
    waits for a cost, and those whose cost waits for a listing.
    """
    listings = target.stored(LISTINGS, SKU, skus)  # every platform's listing of these SKUs
    costs = target.stored(COSTS, SKU, skus)
    stored = target.stored(PRODUCTS, SKU, skus)
    cost = pd.Series(dtype="float64") if costs is None else costs.set_index("sku")["cost"]
    listed = set() if listings is None else set(listings["sku"])
    known = set() if stored is None else set(stored["sku"])
    found = {"written": 0, "added": 0, "updated": 0, "waiting": [],
             "unlisted": sorted(set(cost.index) - listed - known)}
    recosted = pd.DataFrame(columns=LISTING) if stored is None else \
        stored.loc[stored["sku"].isin(cost.index) & ~stored["sku"].isin(listed), LISTING]  # stored products, new cost
    rows = pd.concat(([] if listings is None else [listings]) + [recosted], ignore_index=True)
    if rows.empty:
        return found
    first = pd.DataFrame(columns=["cost", "name"]) if stored is None else stored.drop_duplicates("sku").set_index("sku")
    # a listing new on a platform takes its SKU's stored cost when the cost sheet has none (a cost is the SKU's)
    rows["cost"] = rows["sku"].map(cost).astype("float64").fillna(rows["sku"].map(first["cost"]).astype("float64"))
    waiting = rows["cost"].isna()
    found["waiting"] = sorted(set(rows.loc[waiting, "sku"]))
    ready = rows[~waiting]
    if "name" in ready:  # a stored product keeps its name (perhaps shorter than the title it was listed with), and
        stored_keys = set() if stored is None else set(zip(stored["platform"], stored["sku"]))  # names its new listings
        kept = pd.Series([k in stored_keys for k in zip(ready["platform"], ready["sku"])], index=ready.index)
        named = ready["sku"].map(first["name"]).where(ready["sku"].isin(known), ready["name"])
        ready = ready.assign(name=named.where(~kept))
    if len(ready):
        merged, counts = combine(ready, ready.iloc[0:0] if stored is None else stored, LISTING)
        target.put(PRODUCTS, LISTING, tables.validate(PRODUCTS, merged))
        found |= counts | {"written": len(ready)}
    return found


def merge(target: Target, frames: dict[str, pd.DataFrame]) -> list[str]:
    """Merge a file's listings and costs into their tables, then place the products they complete; Chinese lines."""
    lines = []
    for table, frame in frames.items():
        key = tables.KEYS[table]
        old = target.stored(table, key, frame)
        merged, counts = combine(frame, frame.iloc[0:0] if old is None else old, key)
        target.put(table, key, tables.validate(table, merged))
        lines.append(f"写入 {table}：新增 {counts['added']} 行，更新 {counts['updated']} 行（共 {target.count(table)} 行）")
    placed = place(target, pd.concat([frame[SKU] for frame in frames.values()]).drop_duplicates())
    return lines + placed_lines(placed | {"total": target.count(PRODUCTS) if placed["written"] else 0,
                                          "waiting": waiting(target)})


def waiting(target: Target) -> list[str]:
    """Every SKU whose listing waits for a cost, in the whole warehouse (not only the file's)."""
    listed, stored = target.keys(LISTINGS, SKU), target.keys(PRODUCTS, SKU)
    if listed is None:
        return []
    return sorted(set(listed["sku"]) - (set() if stored is None else set(stored["sku"])))


def _some(skus: list[str]) -> str:
    """The first SKUs of a list, joined."""
    return "、".join(skus[:SHOWN]) + (f" 等 {len(skus)} 个" if len(skus) > SHOWN else "")


def placed_lines(placed: dict) -> list[str]:
    """What placing did, in Chinese: products written, and the SKUs still waiting for their other half (every
    listing without a cost; the file's costs without a listing)."""
    lines = [f"写入 products：新增 {placed['added']} 个 SKU，更新 {placed['updated']} 个（共 {placed['total']} 个）"] \
        if placed["written"] else []
    if placed["waiting"]:
        lines.append(f"{len(placed['waiting'])} 个 SKU 还没有成本价，暂不写入 products：{_some(placed['waiting'])}。"
                     "请在成本表（商家编码、成本价，模板见 data/templates/成本表.csv）中填上它们的成本价后导入，即自动写入")
    if placed["unlisted"]:
        lines.append(f"{len(placed['unlisted'])} 个 SKU 还没有商品资料，成本价已保存：{_some(placed['unlisted'])}。"
                     "导入含这些 SKU 的商品列表后自动写入 products")
    return lines
