"""Listing audit (商品信息审核 / 活动报名自查): listings against the listing rules, one row per listing, 通过 or 不通过 with
every reason — Advertising Law terms and the length of the title, core keywords, main images, the SKU code, the price
against cost and a band, the promo price against the 30-day low, the qualifications of sensitive categories.

What is audited: every listing of the catalogue (`products`, one platform or all) with the registrations of campaigns
running or not yet started; or only the SKUs registered for one campaign (`campaign_items`); or only the rows of an
uploaded registration sheet (活动报名表: 活动ID, 商家编码, 活动价, optionally 商品标题 and 日常价, which then stand for
the listing's own). A check whose data the source does not hold for any audited listing is not run, and said so; a
listing missing what the others have fails with the reason (nothing is passed unchecked in silence).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..data import sheets, tables
from ..errors import DataError, ParamError
from ..flags import Flag, make
from ..settings import Severity
from ..sources import Source
from . import compliance, data_quality

# Chinese labels of the headline metrics in result.json (what delivered report cards show), with their number
# format (`report.FORMATS`) where the name alone would not tell it
METRICS = {"listings": "审核商品数", "passed": "通过", "failed": "不通过", "pass_rate": "通过率",
           "registrations": "活动报名商品", "promo_noncompliant": "活动价不合规"}

LABELS = {
    "title": "标题", "result": "结果", "reasons": "原因", "check": "检查项", "listings": "不通过商品数",
    "owner": "负责角色", "promo_price": "活动价", "price": "日常价", "min_price_before": "活动前最低成交价",
    "window": "基准区间", "status": "核对结果", "severity": "级别", "campaign_platform": "活动平台",
}
PLATFORM_NAMES = tables.PLATFORMS
CODE_PLATFORMS = {**{p: p for p in tables.PLATFORMS}, "DD": "PDD"}  # SKU code prefixes (the seed writes DD for 拼多多)


@dataclass(frozen=True)
class Check:
    """One kind of check: its Chinese name, the role that fixes what it finds and the severity of a finding."""

    name: str
    owner: str
    severity: str
    action: str


CHECKS = {  # in the order reasons are listed
    "unknown_sku": Check("商品表中没有", "运营", "medium", "请核对商家编码，或先导入商品清单后再审核"),
    "missing_info": Check("信息未登记", "运营", "medium", "请在商品表中补全后再审核"),
    "ad_words": Check("广告法极限词", "法务/运营", "high", "请修改标题（法务确认后再上架或报名）"),
    "title_length": Check("标题超长", "运营", "medium", "请精简标题"),
    "keywords": Check("缺少核心关键词", "运营", "medium", "请在标题中加入核心关键词"),
    "images": Check("主图不足", "设计", "medium", "请设计补齐主图（白底、无水印）"),
    "sku_code": Check("商家编码格式", "运营", "medium", "请按“平台-类目-规格-年月”（如 TB-01-M-2504）修改编码"),
    "sku_duplicate": Check("商家编码重复", "运营", "high", "各平台的商家编码应唯一：请修改其中之一"),
    "below_cost": Check("价格低于成本", "运营", "high", "请核对成本价与售价（调价或停售）"),
    "price_band": Check("价格超出区间", "运营", "medium", "请核对价格是否填错"),
    "promo_price": Check("活动价不低于活动前最低价", "运营", "high", "请在报名前下调活动价，须低于活动前最低成交价"),
    "wrong_platform": Check("报名平台不符", "运营", "medium", "请核对报名的商家编码是否为该活动平台的商品"),
    "qualification_expired": Check("资质已过期", "采购/运营", "high", "请立即下架并补办资质"),
    "qualification_expiring": Check("资质即将过期", "采购/运营", "medium", "请尽快续办资质"),
    "qualification_missing": Check("资质有效期未登记", "采购/运营", "medium", "请登记资质有效期（products 表的 qualification_expiry）"),
}
SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2}
SKU_CODE = re.compile(r"^(?P<plat>[A-Z]+)-(?P<cat>\d{2})-(?P<spec>[A-Z0-9]+)-(?P<yy>\d{2})(?P<mm>\d{2})$")
_KEYWORD_SPLIT = re.compile(r"[,，、;；\s]+")
# the columns a registration sheet may carry besides campaign_items' own: what the listing is registered with
SHEET_COLUMNS = {"title": tables.Column("title", "str", "商品标题", required=False, nullable=True),
                 "price": tables.Column("price", "float", "日常价", required=False, nullable=True, min=0)}
LISTING_COLUMNS = ["sku", "platform", "title", "name", "category", "cost", "price", "main_images",
                   "qualification_expiry", "launch_date", "known"]
REGISTRATION_COLUMNS = ["campaign_id", "sku", "promo_price", "campaign_platform", "start_date", "campaign_known"]


# -- what is audited -------------------------------------------------------------------------------------------------
def scope(src: Source, platform: str, campaign_id: str, sheet: str, as_of: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(listings to audit, registrations whose promo prices to check).

    With a registration sheet or a campaign id only the registered SKUs are audited (the sheet's title and daily
    price, when it has them, standing for the listing's); otherwise every listing of `platform` (全部: every one),
    with the registrations of the campaigns running on `as_of` or starting after it.
    """
    campaign_id = campaign_id.strip()
    if not (sheet or campaign_id):
        src.check("products")  # the catalogue audit needs the catalogue; a registration can be audited without it
    registered = registrations(src, campaign_id, sheet, platform, as_of)
    products = _products(src)
    wanted = registered["sku"].drop_duplicates()
    if sheet or campaign_id:
        first = registered.drop_duplicates("sku").set_index("sku")
        items = pd.DataFrame({"sku": wanted}).merge(products, on="sku", how="left")
        for column in ("title", "price"):  # what is registered stands for the listing's own
            if column in first:
                given = items["sku"].map(first[column])
                items[column] = given.where(given.notna(), items[column])
    else:
        on = products["platform"].where(products["platform"].notna(), products["sku"].map(_code_platform))
        mine = products if platform == "全部" else products[(on == platform).fillna(False).astype(bool)]
        items = pd.concat([mine, products[products["sku"].isin(wanted) & ~products["sku"].isin(mine["sku"])],
                           pd.DataFrame({"sku": wanted[~wanted.isin(products["sku"])]})], ignore_index=True)
    items["known"] = items["known"].astype("boolean").fillna(False).astype(bool)
    by_campaign = registered.drop_duplicates("sku").set_index("sku")["campaign_platform"]
    for fallback in (items["sku"].map(by_campaign), items["sku"].map(_code_platform)):
        items["platform"] = items["platform"].where(items["platform"].notna(), fallback)
    if (sheet or campaign_id) and platform != "全部":  # a sheet of several platforms, audited one platform at a time
        items = items[(items["platform"] == platform).fillna(False).astype(bool)]
        registered = registered[registered["sku"].isin(items["sku"])].reset_index(drop=True)
    return items[LISTING_COLUMNS].reset_index(drop=True), registered


def _products(src: Source) -> pd.DataFrame:
    """Every listing of the products table, `known` true (none without the table)."""
    if not src.has("products"):
        return pd.DataFrame({c: pd.Series(dtype="bool" if c == "known" else "object") for c in LISTING_COLUMNS})
    return src.sql("SELECT sku, platform, title, name, category, cost, price, main_images, qualification_expiry, "
                   "launch_date, true AS known FROM products ORDER BY sku")


def _code_platform(sku) -> str | None:
    """The platform a SKU code names (TB-01-M-2504 → TB), None when it names none."""
    if not isinstance(sku, str):
        return None
    return CODE_PLATFORMS.get(sku.strip().split("-", 1)[0].upper())


def registrations(src: Source, campaign_id: str, sheet: str, platform: str, as_of: dt.date) -> pd.DataFrame:
    """The registrations to check: the uploaded sheet's rows (of `campaign_id` if given), else the campaign's items,
    else the items of the campaigns running on `as_of` or starting after it (of `platform`); with each campaign's
    platform and first day where `campaigns` knows it."""
    camps = src.table("campaigns") if src.has("campaigns") else \
        pd.DataFrame({"campaign_id": pd.Series(dtype="str"), "platform": pd.Series(dtype="str"),
                      "start_date": pd.Series(dtype="datetime64[us]"), "end_date": pd.Series(dtype="datetime64[us]")})
    if sheet:
        items = sheets.read_sheet(sheet, "campaign_items", SHEET_COLUMNS)
        if campaign_id:
            items = items[items["campaign_id"] == campaign_id]
            if items.empty:
                raise DataError(f"上传的报名表中没有活动 {campaign_id} 的行：请核对活动ID，或把“活动ID”留空审核整张表")
    elif campaign_id:
        if campaign_id not in set(camps["campaign_id"]):
            known = "、".join(camps.sort_values("start_date")["campaign_id"].tail(8)) or "（无）"
            raise DataError(f"找不到活动 {campaign_id}（最近的活动ID：{known}）：请核对活动ID，或上传活动报名表")
        items = src.table("campaign_items", "campaign_id = ?", [campaign_id]) if src.has("campaign_items") \
            else _no_items()
    else:
        current = camps[camps["end_date"] >= pd.Timestamp(as_of)]
        if platform != "全部":
            current = current[current["platform"] == platform]
        items = src.table("campaign_items") if src.has("campaign_items") and len(current) else _no_items()
        items = items[items["campaign_id"].isin(current["campaign_id"])]
    info = camps.drop_duplicates("campaign_id").set_index("campaign_id")
    out = items.assign(campaign_platform=info["platform"].reindex(items["campaign_id"]).to_numpy(),
                       start_date=info["start_date"].reindex(items["campaign_id"]).to_numpy(),
                       campaign_known=items["campaign_id"].isin(info.index))
    return out[REGISTRATION_COLUMNS + [c for c in SHEET_COLUMNS if c in out]].reset_index(drop=True)


def _no_items() -> pd.DataFrame:
    return pd.DataFrame({"campaign_id": pd.Series(dtype="str"), "sku": pd.Series(dtype="str"),
                         "promo_price": pd.Series(dtype="float64")})


def check_params(p) -> None:
    """ParamError (Chinese) for parameters fine one by one but not together: the price band upside down."""
    if p.price_min >= p.price_max:
        raise ParamError(f"参数 price_min（价格下限）¥{p.price_min:,.2f} 应小于 price_max（价格上限）¥{p.price_max:,.2f}",
                         headline="商品信息审核的参数有误，未执行")


def scope_cards(items: pd.DataFrame, registered: pd.DataFrame, platform: str, campaign_id: str,
                sheet: str) -> dict[str, str]:
    """The cards saying what is audited."""
    cards = {"审核范围": scope_text(platform, campaign_id, sheet), "商品数": f"{len(items):,}"}
    if len(registered):
        cards["活动报名"] = f"{registered['campaign_id'].nunique()} 场活动 {len(registered):,} 行"
    unknown = int((~items["known"]).sum())
    if unknown:
        cards["商品表中没有"] = f"{unknown:,} 个"
    return cards


def scope_text(platform: str, campaign_id: str, sheet: str) -> str:
    """What this run audits, in Chinese."""
    campaign_id = campaign_id.strip()
    where = "" if platform == "全部" else f"{PLATFORM_NAMES[platform]}（{platform}）"
    if sheet:
        name = sheet.rsplit("/", 1)[-1]
        return f"上传的活动报名表 {name} 中" + (f"活动 {campaign_id} 的" if campaign_id else "的") + f"{where}商品"
    if campaign_id:
        return f"活动 {campaign_id} 的{where}报名商品"
    return f"{where or '全部平台'}的在售商品，及进行中和未开始活动的报名商品"


# -- promo prices ----------------------------------------------------------------------------------------------------
def promo_prices(src: Source, registered: pd.DataFrame, items: pd.DataFrame, window_days: int,
                 as_of: dt.date) -> pd.DataFrame:
    """Each registration's promo price against the lowest price paid per unit on its platform in the `window_days`
    days before the campaign starts (up to `as_of` for a campaign not started yet, or not in `campaigns`).

    `status`: 合规 (below that low), 不合规, 无成交（按日常价） when nothing sold in the window (then the promo price must
    be below the daily price), 无法核对 when there is neither.
    """
    columns = ["campaign_id", "campaign_platform", "sku", "promo_price", "price", "min_price_before", "window", "status"]
    if registered.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64" if c in ("promo_price", "price", "min_price_before")
                                          else "str") for c in columns})
    listing = items.drop_duplicates("sku").set_index("sku")
    reg = registered.assign(platform=registered["campaign_platform"].where(registered["campaign_platform"].notna(),
                                                                            registered["sku"].map(listing["platform"])),
                            price=registered["sku"].map(listing["price"]).astype("float64"))
    start = pd.to_datetime(reg["start_date"])
    tomorrow = as_of + dt.timedelta(days=1)
    reg["end_day"] = [min(s.date(), tomorrow) if pd.notna(s) else tomorrow for s in start]  # exclusive
    reg["first_day"] = [d - dt.timedelta(days=window_days) for d in reg["end_day"]]
    reg["key"] = range(len(reg))
    low = pd.Series(np.nan, index=reg["key"])
    if src.has("orders"):
        con = src.connect()
        con.register("_reg", reg[["key", "sku", "platform", "first_day", "end_day"]])
        try:
            found = src.sql("""
                SELECT r.key, round(min(coalesce(o.amount / nullif(o.quantity, 0), o.unit_price)), 2) AS low
                FROM _reg r JOIN paid_orders o ON o.sku = r.sku AND o.platform = r.platform
                 AND CAST(o.order_time AS DATE) >= r.first_day AND CAST(o.order_time AS DATE) < r.end_day
                GROUP BY r.key""")
        finally:
            con.unregister("_reg")
        low.loc[found["key"].to_numpy()] = found["low"].to_numpy()
    reg["min_price_before"] = low.to_numpy()
    reg["window"] = [f"{a:%Y-%m-%d} 至 {b - dt.timedelta(days=1):%Y-%m-%d}" for a, b in zip(reg["first_day"], reg["end_day"])]
    reg["status"] = [("合规" if promo < base else "不合规") if pd.notna(base) else
                     ("无法核对" if pd.isna(daily) else "无成交（按日常价）")
                     for promo, base, daily in zip(reg["promo_price"], reg["min_price_before"], reg["price"])]
    return reg[columns]


def window_note(registered: pd.DataFrame, as_of: dt.date, window_days: int) -> str:
    """How the baseline of each promo price was taken, in Chinese (campaigns not started or not known)."""
    if registered.empty:
        return "没有需要核对活动价的报名商品（进行中或未开始的活动中没有报名商品）"
    notes = [f"基准：活动开始前 {window_days} 天内该平台每件商品的最低实付单价（已付款、剔除刷单）"]
    later = registered["start_date"].notna() & (pd.to_datetime(registered["start_date"]) > pd.Timestamp(as_of))
    if later.any():
        notes.append(f"{registered.loc[later, 'campaign_id'].nunique()} 场活动尚未开始：以审核日期 {as_of} 前 {window_days} 天"
                     "为基准，开始前请再核对一次")
    unknown = ~registered["campaign_known"].astype(bool)
    if unknown.any():
        names = "、".join(registered.loc[unknown, "campaign_id"].drop_duplicates().head(5))
        notes.append(f"活动 {names} 不在 campaigns 表中：以审核日期前 {window_days} 天为基准，平台按商品所在平台")
    return "；".join(notes)


# -- the checks ------------------------------------------------------------------------------------------------------
def title_limits(p) -> dict[str, int]:
    """Title limits in GBK bytes per platform from the parameters (`title_bytes_tb` …)."""
    return {code: int(getattr(p, f"title_bytes_{code.lower()}")) for code in tables.PLATFORMS}


def keywords(text: str) -> list[str]:
    """Core keywords from a parameter: separated by commas, 、, semicolons or spaces."""
    return [k for k in _KEYWORD_SPLIT.split(text or "") if k]


class _Found:
    """Problems as they are found: rows of (sku, check, severity, reason)."""

    def __init__(self, items: pd.DataFrame):
        self.skus = items["sku"].to_numpy(dtype=object)
        self.parts: list[pd.DataFrame] = []

    def mask(self, mask, code: str, reason: str, context: pd.DataFrame | None = None, severity=None) -> None:
        """The listings where `mask` holds fail `code`; `reason` is formatted with each one's `context` row."""
        at = np.flatnonzero(np.asarray(mask, dtype=bool))
        if len(at) == 0:
            return
        if context is None:
            reasons = [reason] * len(at)
        else:
            names = list(context.columns)
            columns = [context[c].to_numpy()[at] for c in names]
            reasons = [reason.format(**dict(zip(names, values))) for values in zip(*columns)]
        sev = np.asarray(severity, dtype=object)[at] if severity is not None and not isinstance(severity, str) \
            else severity or CHECKS[code].severity
        self.rows(self.skus[at], code, reasons, sev)

    def rows(self, skus, code: str, reasons, severity=None) -> None:
        """Listings `skus` fail `code` for `reasons` (one each)."""
        if len(skus):
            self.parts.append(pd.DataFrame({"sku": skus, "check": code, "severity": severity or CHECKS[code].severity,
                                            "reason": reasons}))

    def frame(self) -> pd.DataFrame:
        """Every problem, ordered by listing then by kind of check."""
        if not self.parts:
            return pd.DataFrame({c: pd.Series(dtype="str") for c in ("sku", "check", "severity", "reason")})
        out = pd.concat(self.parts, ignore_index=True)
        order = {code: i for i, code in enumerate(CHECKS)}
        out["_order"] = out["check"].map(order)
        return out.sort_values(["sku", "_order"], kind="stable").drop(columns="_order").reset_index(drop=True)


def check(items: pd.DataFrame, prices: pd.DataFrame, *, as_of: dt.date, limits: dict[str, int], required: str,
          min_images: int, price_min: float, price_max: float, expiry_warn_days: int,
          terms=compliance.terms_in_all) -> tuple[pd.DataFrame, dict[str, str]]:
    """Every problem of every listing: (rows of sku, check, severity, reason; checks not run → why).

    `terms(titles)` gives the Advertising Law terms in each title (default: `compliance`'s lists).
    """
    items = items.assign(**{c: None for c in LISTING_COLUMNS if c not in items})  # e.g. no launch dates
    found, skipped = _Found(items), {}
    if items.empty:
        return found.frame(), skipped
    known = items["known"].astype(bool).to_numpy()
    found.mask(~known, "unknown_sku", "商品表中没有该商家编码：无法核对成本、主图和资质")
    _title_checks(items, found, skipped, limits, keywords(required), terms)
    _image_checks(items, found, skipped, known, min_images)
    _code_checks(items, found, as_of)
    _price_checks(items, prices, found, price_min, price_max)
    _qualification_checks(items, found, known, as_of, expiry_warn_days)
    return found.frame(), skipped


def _title_checks(items, found, skipped, limits, required, terms) -> None:
    title = items["title"]
    present = (title.notna() & (title.astype("str").str.strip() != "")).to_numpy()
    if not present.any():
        skipped["title"] = "审核的商品都没有标题（products 表的 title 列为空或没有该列）：极限词、标题长度和核心关键词未检查"
        return
    found.mask(~present, "missing_info", "标题为空")
    texts = title.where(present, "").astype("str").tolist()
    at, reasons, worst = [], [], []
    for i, hits in enumerate(terms(texts)):
        if hits:
            groups: dict[tuple[str, str], list[str]] = {}
            for t in hits:
                groups.setdefault((t.kind, t.severity), []).append(t.word)
            at.append(i)
            reasons.append("标题含广告法极限词：" + "；".join(f"{'、'.join(words)}（{kind}，{Severity(sev).label}）"
                                                    for (kind, sev), words in groups.items()))
            worst.append(min((t.severity for t in hits), key=SEVERITY_RANK.__getitem__))
    if at:
        found.parts.append(pd.DataFrame({"sku": found.skus[at], "check": "ad_words", "severity": worst,
                                         "reason": reasons}))
    # as the platforms count a title: GBK bytes (a Chinese character 2, a letter or digit 1; GB18030 for the rest)
    size = np.fromiter((len(t.encode("gb18030")) for t in texts), dtype=np.int64, count=len(texts))
    limit = items["platform"].map(limits).fillna(min(limits.values())).astype(np.int64).to_numpy()
    where = items["platform"].map({p: f"{PLATFORM_NAMES[p]}上限" for p in limits}).fillna("最严上限")
    context = pd.DataFrame({"size": size, "limit": limit, "where": where.to_numpy(), "cut": size - limit})
    found.mask(present & (size > limit), "title_length",
               "标题 {size} 字节，超过{where} {limit} 字节（GBK 计，汉字 2 字节），需删去 {cut} 字节", context)
    if required:
        low = pd.Series(texts).str.lower()
        lacking = pd.DataFrame({k: ~low.str.contains(k.lower(), regex=False) for k in required})
        miss = present & lacking.any(axis=1).to_numpy()
        words = [("、".join(k for k, lack in zip(required, row) if lack),) for row in lacking[miss].itertuples(index=False)]
        found.rows(found.skus[miss], "keywords", [f"标题缺少核心关键词：{w}" for (w,) in words])


def _image_checks(items, found, skipped, known, min_images) -> None:
    images = pd.to_numeric(items["main_images"], errors="coerce").to_numpy(dtype="float64")
    if not np.isfinite(images[known]).any():
        if known.any():
            skipped["images"] = "商品表没有主图数量（main_images 列为空或没有该列）：主图数量未检查"
        return
    found.mask(known & np.isnan(images), "missing_info", "主图数量未登记")
    found.mask(known & (images < min_images), "images", f"主图 {{n:g}} 张，少于 {min_images} 张",
               pd.DataFrame({"n": images}))


def _code_checks(items, found, as_of) -> None:
    codes = items["sku"].astype("str")
    parts = _extract(codes)
    matched = parts["plat"].notna().to_numpy()
    context = parts.assign(code=codes, listed=items["platform"].fillna(""),
                           listed_name=items["platform"].map(PLATFORM_NAMES).fillna(""))
    upper = ~matched & _extract(codes.str.upper())["plat"].notna().to_numpy()
    found.mask(~matched & upper, "sku_code", "商家编码 {code} 应使用大写字母", context)
    found.mask(~matched & ~upper, "sku_code", "商家编码 {code} 不符合“平台-类目-规格-年月”格式（如 TB-01-M-2504）", context)
    plat = parts["plat"].map(CODE_PLATFORMS)
    found.mask(matched & plat.isna().to_numpy(), "sku_code",
               f"商家编码 {{code}} 的平台代码 {{plat}} 不认识（应为 {'/'.join(CODE_PLATFORMS)}）", context)
    month, year = pd.to_numeric(parts["mm"]), pd.to_numeric(parts["yy"])
    bad_month = matched & ~month.between(1, 12).to_numpy()
    found.mask(bad_month, "sku_code", "商家编码 {code} 的年月 {yy}{mm} 中月份 {mm} 无效", context)
    # a month after both the audit day and the listing's launch (a listing scheduled for next month may carry it)
    launch = pd.to_datetime(items["launch_date"])
    latest = np.maximum(((launch.dt.year % 100) * 100 + launch.dt.month).fillna(0).to_numpy(),
                        (as_of.year % 100) * 100 + as_of.month)
    later = matched & ~bad_month & ((year * 100 + month).fillna(0).to_numpy() > latest)
    found.mask(later, "sku_code", "商家编码 {code} 的年月 {yy}{mm} 晚于审核日期和上架日期", context)
    listed = items["platform"]
    other = matched & plat.notna().to_numpy() & listed.notna().to_numpy() & (plat != listed).fillna(False).to_numpy()
    found.mask(other, "sku_code", "商家编码 {code} 的平台代码 {plat} 与商品所在平台 {listed_name}（{listed}）不一致", context)
    norm = codes.str.strip().str.upper()
    twins = norm.duplicated(keep=False).to_numpy()
    if twins.any():
        groups = pd.Series(codes.to_numpy()[twins]).groupby(norm.to_numpy()[twins]).agg(list)
        found.rows(found.skus[twins], "sku_duplicate",
                   [f"商家编码与 {'、'.join(x for x in groups[n] if x != c) or c} 重复（不区分大小写和空格）"
                    for c, n in zip(codes.to_numpy()[twins], norm.to_numpy()[twins])])


def _extract(codes: pd.Series) -> pd.DataFrame:
    """The parts of SKU codes (`SKU_CODE`'s groups; all missing where a code does not match), in one RE2 pass."""
    text = pa.array(codes.to_numpy(dtype=object), type=pa.string())
    found = pc.extract_regex(text, SKU_CODE.pattern)
    valid = pc.is_valid(found).to_numpy(zero_copy_only=False)
    out = pd.DataFrame({name: found.field(name).to_numpy(zero_copy_only=False) for name in SKU_CODE.groupindex},
                       index=codes.index, dtype=object)
    return out.where(pd.Series(valid, index=codes.index), None, axis=0)


def _price_checks(items, prices, found, price_min, price_max) -> None:
    price, cost = items["price"].astype("float64"), items["cost"].astype("float64")
    band = f"¥{price_min:,.2f}–¥{price_max:,.2f}"
    context = pd.DataFrame({"price": price, "cost": cost})
    found.mask((price < cost).to_numpy(), "below_cost", "日常价 ¥{price:,.2f} 低于成本价 ¥{cost:,.2f}", context)
    found.mask((price.notna() & ~price.between(price_min, price_max)).to_numpy(), "price_band",
               f"日常价 ¥{{price:,.2f}} 不在价格区间 {band} 内", context)
    found.mask((price.isna() & items["known"].astype(bool)).to_numpy(), "missing_info", "日常价未填写")
    if prices.empty:
        return
    listed = dict(zip(items["sku"], items["platform"]))
    rows = prices.assign(cost=prices["sku"].map(dict(zip(items["sku"], cost))), listed=prices["sku"].map(listed),
                         listed_name=prices["sku"].map(listed).map(PLATFORM_NAMES),
                         camp_name=prices["campaign_platform"].map(PLATFORM_NAMES))
    for code, mask, reason in (
            ("promo_price", rows["status"] == "不合规",
             "活动 {campaign_id} 的活动价 ¥{promo_price:,.2f} 不低于活动前最低成交价 ¥{min_price_before:,.2f}（{window}）"),
            ("promo_price", rows["status"].eq("无成交（按日常价）") & (rows["promo_price"] >= rows["price"]),
             "活动 {campaign_id} 的活动价 ¥{promo_price:,.2f} 不低于日常价 ¥{price:,.2f}（{window} 没有成交）"),
            ("below_cost", rows["promo_price"] < rows["cost"],
             "活动 {campaign_id} 的活动价 ¥{promo_price:,.2f} 低于成本价 ¥{cost:,.2f}"),
            ("price_band", ~rows["promo_price"].between(price_min, price_max),
             f"活动 {{campaign_id}} 的活动价 ¥{{promo_price:,.2f}} 不在价格区间 {band} 内"),
            ("wrong_platform", rows["campaign_platform"].notna() & rows["listed"].notna()
             & (rows["campaign_platform"] != rows["listed"]),
             "商品在{listed_name}（{listed}），活动 {campaign_id} 在{camp_name}（{campaign_platform}）")):
        picked = rows[np.asarray(mask.fillna(False), dtype=bool)]
        found.rows(picked["sku"].to_numpy(dtype=object), code, [reason.format(**r) for r in picked.to_dict("records")])


def _qualification_checks(items, found, known, as_of, warn_days) -> None:
    names = items["name"].where(items["name"].notna(), items["title"])
    needs = compliance.requirements_all(items["category"].tolist(), names.tolist())
    sensitive = known & np.fromiter((bool(n) for n in needs), dtype=bool, count=len(needs))
    if not sensitive.any():
        return
    expiry = pd.to_datetime(items["qualification_expiry"])
    left = ((expiry - pd.Timestamp(as_of)).dt.days).to_numpy(dtype="float64")
    said: dict[tuple, tuple[str, str]] = {}  # a catalogue has few distinct sets of requirements
    for n in needs:
        key = tuple(map(id, n))
        if key not in said:
            said[key] = ("、".join(s.category for s in n),
                         "、".join(q.split("（")[0] for s in n for q in s.qualifications))
    cats, need = zip(*(said[tuple(map(id, n))] for n in needs))
    day = np.datetime_as_string(expiry.to_numpy().astype("datetime64[D]"))  # 2026-06-12 (NaT where none)
    context = pd.DataFrame({"cat": cats, "need": need, "day": day, "left": left, "ago": -left})
    has = ~np.isnan(left)
    found.mask(sensitive & ~has, "qualification_missing", "属于敏感类目 {cat}（需 {need}），未登记资质有效期", context)
    found.mask(sensitive & has & (left < 0), "qualification_expired",
               "{cat}资质（{need}）已于 {day} 到期，过期 {ago:.0f} 天", context)
    found.mask(sensitive & has & (left >= 0) & (left <= warn_days), "qualification_expiring",
               "{cat}资质（{need}）将于 {day} 到期，还有 {left:.0f} 天", context)


# -- results ---------------------------------------------------------------------------------------------------------
def results(items: pd.DataFrame, problems: pd.DataFrame) -> pd.DataFrame:
    """审核结果: one row per listing — sku, platform, title, 通过/不通过, every reason joined (不通过 first)."""
    reasons = problems.groupby("sku", sort=False)["reason"].agg("；".join)
    out = items[["sku", "platform", "title"]].drop_duplicates("sku").copy()
    out["reasons"] = out["sku"].map(reasons).fillna("")
    out["result"] = np.where(out["reasons"] != "", "不通过", "通过")
    out["title"] = out["title"].fillna("")
    out = out.sort_values(["result", "sku"], key=lambda s: s.map({"不通过": 0, "通过": 1}) if s.name == "result" else s)
    return out[["sku", "platform", "title", "result", "reasons"]].reset_index(drop=True)


def headline(table: pd.DataFrame, problems: pd.DataFrame, prices: pd.DataFrame) -> tuple[dict, dict[str, str]]:
    """Metrics (pass rate None without listings) and the headline cards."""
    n, passed = len(table), int((table["result"] == "通过").sum())
    rate = passed / n if n else None
    metrics = {"listings": n, "passed": passed, "failed": n - passed, "pass_rate": rate,
               "registrations": len(prices), "promo_noncompliant": int((prices["status"] == "不合规").sum()),
               "problems": {code: int(k) for code, k in problems.drop_duplicates(["sku", "check"])["check"]
                            .value_counts().items()}}
    cards = {"审核商品数": f"{n:,}", "通过": f"{passed:,}", "不通过": f"{n - passed:,}",
             "通过率": "—（没有可审核的商品）" if rate is None else f"{rate * 100:.1f}%"}
    if len(prices):
        cards["活动价不合规"] = f"{metrics['promo_noncompliant']} / {len(prices)}"
    return metrics, cards


def summary(problems: pd.DataFrame, items: pd.DataFrame, prices: pd.DataFrame, skipped: dict[str, str],
            required: str) -> pd.DataFrame:
    """检查汇总: per kind of check run, its owner and the listings failing it (0 when it found nothing)."""
    counts = problems.drop_duplicates(["sku", "check"])["check"].value_counts()
    not_run = {"unknown_sku"} if items["known"].all() else set()
    if not keywords(required):
        not_run.add("keywords")
    if "title" in skipped:
        not_run |= {"ad_words", "title_length", "keywords"}
    if "images" in skipped:
        not_run.add("images")
    if prices.empty:
        not_run.add("promo_price")
    run = [code for code in CHECKS if code not in not_run]
    return pd.DataFrame({"check": [CHECKS[c].name for c in run], "owner": [CHECKS[c].owner for c in run],
                         "listings": [int(counts.get(c, 0)) for c in run]})


# -- flags -----------------------------------------------------------------------------------------------------------
def findings(problems: pd.DataFrame, table: pd.DataFrame, prices: pd.DataFrame, skipped: dict[str, str],
             scope: str) -> list[Flag]:
    """One flag per kind of problem found (severity: the worst of its rows; owner: the role that fixes it), plus
    nothing to audit, checks not run, and promo prices that could only be checked against the daily price."""
    out = []
    if table.empty:
        out.append(make("audit.nothing", "low", "运营", f"{scope}：没有可审核的商品（请核对平台、活动ID或上传的报名表）"))
    for code, rows in problems.groupby("check", sort=False):
        check = CHECKS[code]
        worst = min(rows["severity"], key=SEVERITY_RANK.__getitem__)
        listed = rows.drop_duplicates("sku")
        shown = "；".join(f"{r.sku} {r.reason}" for r in rows.head(5).itertuples())
        more = f" 等 {len(listed)} 个商品" if len(listed) > 5 else ""
        out.append(make(f"audit.{code}", worst, check.owner,
                        f"{len(listed)} 个商品{check.name}：{shown}{more}。{check.action}", rows[["sku", "reason"]]))
    if skipped:
        out.append(make("audit.not_checked", "low", "数据分析", "；".join(skipped.values())))
    base = prices[prices["status"].isin(["无成交（按日常价）", "无法核对"])]
    if len(base):
        out.append(make("audit.promo_no_baseline", "low", "运营",
                        f"{len(base)} 个报名商品在基准区间内没有成交，活动价只能与日常价核对"
                        f"（{'、'.join(base['sku'].head(5))}）：平台可能按更早的成交价核定，报名前请人工确认", base))
    order = {code: i for i, code in enumerate(CHECKS)}
    return sorted(out, key=lambda f: (SEVERITY_RANK[str(f.severity)], order.get(f.code.split(".", 1)[-1], 99)))


def stale(src: Source, prices: pd.DataFrame, platform: str, as_of: dt.date) -> list[Flag]:
    """The data's staleness flag, only when promo prices were checked (the catalogue itself has no dates)."""
    if prices.empty or not src.has("orders"):
        return []
    return data_quality.stale_data(data_quality.data_until(src, platform), as_of)
