"""Listing audit (商品信息审核 / 活动报名自查): listings against the listing rules, one row per listing, 通过 or 不通过 with
every reason — Advertising Law terms and the length of the title, core keywords, main images, the SKU code, the price
against cost and a band, the promo price against the 30-day low, the qualifications of sensitive categories.

What is audited: every listing of the catalogue (`products`, one platform or all) with the registrations of campaigns
running or not yet started; or only the SKUs registered for one campaign (`campaign_items`); or only the rows of an
uploaded registration sheet (活动报名表: 活动ID, 商家编码, 活动价, optionally 商品标题 and 日常价, which then stand for
the listing's own). A check whose data the source does not hold for any audited listing is not run, and said so —
beside the pass rate, in every row of the results and in a flag; a listing missing what the others have fails with the
reason (nothing is passed unchecked in silence).

A listing is a SKU on a platform: the same SKU listed on two platforms is two listings (and a duplicate code).
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
    notice: bool = False  # a notice only: said in the reasons, the listing still passes


CHECKS = {  # in the order reasons are listed
    "unknown_sku": Check("未登记的商家编码", "运营", "medium", "请核对商家编码，或先导入商品清单后再审核"),
    "missing_info": Check("商品信息缺项", "运营", "medium", "请在商品表中补全后再审核"),
    "ad_words": Check("广告法极限词", "法务/运营", "high", "请修改标题（法务确认后再上架或报名）"),
    "title_length": Check("标题超长", "运营", "medium", "请精简标题"),
    "keywords": Check("缺少核心关键词", "运营", "medium", "请在标题中加入核心关键词"),
    "images": Check("主图不足", "设计", "medium", "请设计补齐主图（白底、无水印）"),
    "sku_code": Check("商家编码格式不符", "运营", "medium", "请按“平台-类目-规格-年月”（如 TB-01-M-2504）修改编码"),
    "sku_duplicate": Check("商家编码重复", "运营", "high", "请修改其中之一，使每个商品的商家编码各不相同"),
    "below_cost": Check("价格低于成本", "运营", "high", "请核对成本价与售价（调价或停售）"),
    "price_band": Check("价格超出区间", "运营", "medium", "请核对价格是否填错"),
    "promo_price": Check("活动价不低于活动前最低价", "运营", "high", "请在报名前下调活动价，须低于活动前最低成交价"),
    "wrong_platform": Check("报名平台不符", "运营", "medium", "请核对报名的商家编码是否为该活动平台的商品"),
    "qualification_expired": Check("资质已过期", "采购/运营", "high", "请立即下架并补办资质"),
    "qualification_expiring": Check("资质即将到期", "采购/运营", "medium", "请尽快续办资质"),
    "qualification_renewal": Check("资质临近续期", "采购/运营", "low", "", notice=True),
    "qualification_missing": Check("资质有效期未登记", "采购/运营", "medium", "请登记资质有效期（products 表的 qualification_expiry）"),
}
SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2}
ADVICE = {"high": "须修改", "medium": "应修改", "low": "视语境，建议人工确认"}  # what a term's severity asks of staff
# checks the source's data may not allow (no listing has the column): the column, and the checks left undone
COVERAGE = {"title": ("title（商品标题）", ("ad_words", "title_length", "keywords")),
            "images": ("main_images（主图数量）", ("images",))}
SUBJECTS = {"ad_words": "广告法极限词", "title_length": "标题长度", "keywords": "核心关键词", "images": "主图数量"}
SKU_CODE = re.compile(r"^(?P<plat>[A-Z]+)-(?P<cat>\d{2})-(?P<spec>[A-Z0-9]+)-(?P<yy>\d{2})(?P<mm>\d{2})$")
_KEYWORD_SPLIT = re.compile(r"[,，、;；\s]+")
_CATEGORY_SPLIT = re.compile(r"[;；\n]+")
_WORD_SPLIT = re.compile(r"[,，、\s]+")
# the columns a registration sheet may carry besides campaign_items' own: what the listing is registered with
SHEET_COLUMNS = {"title": tables.Column("title", "str", "商品标题", required=False, nullable=True),
                 "price": tables.Column("price", "float", "日常价", required=False, nullable=True, min=0)}
LISTING_COLUMNS = ["sku", "platform", "title", "name", "category", "cost", "price", "main_images",
                   "qualification_expiry", "launch_date", "known"]
REGISTRATION_COLUMNS = ["campaign_id", "sku", "promo_price", "campaign_platform", "start_date", "campaign_known"]


# -- what is audited -------------------------------------------------------------------------------------------------
def scope(src: Source, platform: str, campaign_id: str, sheet: str, as_of: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(listings to audit, registrations whose promo prices to check).

    With a registration sheet or a campaign id only the registered listings are audited (a SKU's listing on the
    campaign's platform, else each of its listings; the sheet's title and daily price, when it has them, standing for
    the listing's); otherwise every listing of `platform` (全部: every one), with the registrations of the campaigns
    running on `as_of` or starting after it. DataError for an audit day before the source's data begins.
    """
    campaign_id = campaign_id.strip()
    if not (sheet or campaign_id):
        src.check("products")  # the catalogue audit needs the catalogue; a registration can be audited without it
    check_day(src, as_of)
    registered = registrations(src, campaign_id, sheet, platform, as_of)
    products = _products(src)
    wanted = registered["sku"].drop_duplicates()
    if sheet or campaign_id:
        items = _registered_listings(products, registered)
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


def check_day(src: Source, as_of: dt.date) -> None:
    """DataError (Chinese) when the audit day is before the first day of the source's orders and traffic: on such a day
    nothing had sold, every campaign would count as not started and every promo price as unverifiable — a date typed
    wrong, not a question the data can answer."""
    if not src.has("orders"):
        return
    first = data_quality.data_from(src)
    if first is not None and as_of < first:
        raise DataError(f"审核日期 {as_of} 早于数据中最早的一天 {first}：那时还没有任何订单，活动价无从与活动前的成交价比较，"
                        f"所有活动都会被当作尚未开始。请检查审核日期是否填错（例如年份），审核日期不能早于 {first}",
                        headline="审核日期早于数据的开始，未执行")


def _products(src: Source) -> pd.DataFrame:
    """Every listing of the products table, `known` true (none without the table)."""
    if not src.has("products"):
        return pd.DataFrame({c: pd.Series(dtype="bool" if c == "known" else "object") for c in LISTING_COLUMNS})
    return src.sql("SELECT sku, platform, title, name, category, cost, price, main_images, qualification_expiry, "
                   "launch_date, true AS known FROM products ORDER BY sku, platform")


def _registered_listings(products: pd.DataFrame, registered: pd.DataFrame) -> pd.DataFrame:
    """The listings registered: per SKU and campaign platform, the SKU's listing on that platform, else every listing
    of the SKU (a row of the SKU alone when the catalogue has none); the registered title and daily price standing for
    the listing's own (the registration on the listing's platform first)."""
    pairs = registered[["sku", "campaign_platform"]].drop_duplicates()
    exact = pairs.merge(products, left_on=["sku", "campaign_platform"], right_on=["sku", "platform"])
    matched = set(zip(exact["sku"], exact["campaign_platform"]))
    rest = pairs[[pair not in matched for pair in zip(pairs["sku"], pairs["campaign_platform"])]]
    items = pd.concat([exact.drop(columns="campaign_platform"),
                       rest[["sku"]].merge(products, on="sku", how="left")], ignore_index=True)
    items = items.drop_duplicates(["sku", "platform"]).reset_index(drop=True)
    for column in ("title", "price"):  # what is registered stands for the listing's own
        if column in registered:
            given = _registered_value(registered, column, items)
            items[column] = given.where(given.notna(), items[column])
    return items


def _registered_value(registered: pd.DataFrame, column: str, items: pd.DataFrame) -> pd.Series:
    """Per listing, `column` of its registration on the listing's platform, else of the SKU's first registration."""
    by_pair, by_sku = {}, {}
    for sku, plat, value in zip(registered["sku"], registered["campaign_platform"], registered[column]):
        by_pair.setdefault((sku, plat), value)
        by_sku.setdefault(sku, value)
    return pd.Series([by_pair.get((s, p), by_sku.get(s)) for s, p in zip(items["sku"], items["platform"])],
                     index=items.index)


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
    """ParamError (Chinese, every problem at once) for parameters fine one by one but not together: the price band
    upside down, the renewal notice shorter than the expiry warning, per-category keywords not in their format."""
    problems = []
    if p.price_min >= p.price_max:
        problems.append(f"参数 price_min（价格下限）¥{p.price_min:,.2f} 应小于 price_max（价格上限）¥{p.price_max:,.2f}")
    if p.expiry_notice_days < p.expiry_warn_days:
        problems.append(f"参数 expiry_notice_days（资质续期提醒天数）{p.expiry_notice_days} 天不能少于 expiry_warn_days"
                        f"（资质预警天数）{p.expiry_warn_days} 天：续期提醒应早于到期预警")
    try:
        category_keywords(p.category_keywords)
    except ParamError as exc:
        problems += exc.problems
    if problems:
        raise ParamError(problems, headline="商品信息审核的参数有误，未执行")


def scope_cards(items: pd.DataFrame, registered: pd.DataFrame, platform: str, campaign_id: str,
                sheet: str) -> dict[str, str]:
    """The cards saying what is audited."""
    cards = {"审核范围": scope_text(platform, campaign_id, sheet), "商品数": f"{len(items):,}"}
    if len(registered):
        cards["活动报名"] = f"{registered['campaign_id'].nunique()} 场活动 {len(registered):,} 行"
    unknown = int((~items["known"]).sum())
    if unknown:
        cards["不在商品表中"] = f"{unknown:,} 个商家编码"
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
    at = listing_of(items, registered["sku"], registered["campaign_platform"])  # -1: none, the sentinel appended
    listed = pd.Series(np.append(items["platform"].to_numpy(dtype=object), None)[at], index=registered.index)
    price = np.append(pd.to_numeric(items["price"]).to_numpy(dtype="float64", na_value=np.nan), np.nan)[at]
    reg = registered.assign(platform=registered["campaign_platform"].where(registered["campaign_platform"].notna(),
                                                                            listed),
                            price=price)
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


def listing_of(items: pd.DataFrame, skus, platforms) -> np.ndarray:
    """Per registration (SKU, campaign platform): the position in `items` of the SKU's listing on that platform, else
    of its first listing; -1 when `items` has none."""
    exact, first = {}, {}
    for i, (sku, plat) in enumerate(zip(items["sku"], items["platform"])):
        exact.setdefault((sku, plat), i)
        first.setdefault(sku, i)
    return np.array([exact.get((s, p), first.get(s, -1)) for s, p in zip(skus, platforms)], dtype=np.int64)


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


def keywords(text: str) -> list[tuple[str, ...]]:
    """Core keywords from a parameter: separated by commas, 、, semicolons or spaces; each a word, or words separated
    by `/` of which the title needs one (克/g)."""
    return [tuple(w for w in k.split("/") if w) for k in _KEYWORD_SPLIT.split((text or "").replace("／", "/"))
            if k.strip("/")]


def category_keywords(text: str) -> dict[str, list[tuple[str, ...]]]:
    """Per-category core keywords from a parameter: `类目:词,词;类目:词` (full-width ：，；、 too; `/` between words of
    which one is enough); ParamError (Chinese) naming every malformed part."""
    found, problems = {}, []
    for n, part in enumerate((p.strip() for p in _CATEGORY_SPLIT.split(text or "")), start=1):
        if not part:
            continue
        category, colon, words = part.replace("：", ":").replace("／", "/").partition(":")
        category = category.strip()
        terms = [tuple(w for w in k.split("/") if w) for k in _WORD_SPLIT.split(words) if k.strip("/")]
        if not colon:
            problems.append(f"第 {n} 段“{part}”缺少冒号")
        elif not category:
            problems.append(f"第 {n} 段“{part}”没有类目名称")
        elif not terms:
            problems.append(f"第 {n} 段“{part}”没有关键词")
        elif category in found:
            problems.append(f"类目“{category}”写了两次")
        else:
            found[category] = terms
    if problems:
        raise ParamError([f"参数 category_keywords（类目核心关键词）{p}" for p in problems]
                         + ["格式应为“类目:关键词,关键词;类目:关键词”，如“食品:净含量,克/g;美妆:ml/毫升”"],
                         headline="商品信息审核的参数有误，未执行")
    return found


def _said(terms: list[tuple[str, ...]]) -> str:
    """Keywords as staff read them: 净含量、克或 g."""
    return "、".join("或".join(t) for t in terms)


class _Found:
    """Problems as they are found: rows of (listing: its position in the audited items, sku, platform, check,
    severity, reason)."""

    def __init__(self, items: pd.DataFrame):
        self.skus = items["sku"].to_numpy(dtype=object)
        self.platforms = items["platform"].to_numpy(dtype=object)
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
        self.rows(at, code, reasons, sev)

    def rows(self, at, code: str, reasons, severity=None) -> None:
        """The listings at positions `at` fail `code` for `reasons` (one each)."""
        at = np.asarray(at, dtype=np.int64)
        if len(at):
            self.parts.append(pd.DataFrame({"listing": at, "sku": self.skus[at], "platform": self.platforms[at],
                                            "check": code, "severity": severity or CHECKS[code].severity,
                                            "reason": reasons}))

    def frame(self) -> pd.DataFrame:
        """Every problem, ordered by listing then by kind of check."""
        if not self.parts:
            return pd.DataFrame({"listing": pd.Series(dtype="int64"),
                                 **{c: pd.Series(dtype="str") for c in ("sku", "platform", "check", "severity", "reason")}})
        out = pd.concat(self.parts, ignore_index=True)
        order = {code: i for i, code in enumerate(CHECKS)}
        out["_order"] = out["check"].map(order)
        return out.sort_values(["sku", "listing", "_order"], kind="stable").drop(columns="_order").reset_index(drop=True)


def check(items: pd.DataFrame, prices: pd.DataFrame, *, as_of: dt.date, limits: dict[str, int], required: str,
          min_images: int, price_min: float, price_max: float, expiry_warn_days: int, expiry_notice_days: int = 90,
          by_category: str = "", terms=compliance.terms_in_all) -> tuple[pd.DataFrame, dict[str, str]]:
    """Every problem of every listing: (rows of listing, sku, platform, check, severity, reason; checks not run →
    why, and per-category keywords naming no audited category → which).

    `required` keywords apply to every title, `by_category` ones (`category_keywords`) to the titles of listings whose
    category contains the category named (the longest such name). `terms(titles)` gives the Advertising Law terms in
    each title (default: `compliance`'s lists).
    """
    items = items.assign(**{c: None for c in LISTING_COLUMNS if c not in items})  # e.g. no launch dates
    found, skipped = _Found(items), {}
    if items.empty:
        return found.frame(), skipped
    known = items["known"].astype(bool).to_numpy()
    found.mask(~known, "unknown_sku", "商品表中没有这个商家编码，成本、主图和资质都无法核对")
    _title_checks(items, found, skipped, limits, keywords(required), category_keywords(by_category), terms)
    _image_checks(items, found, skipped, known, min_images)
    _code_checks(items, found, as_of)
    _price_checks(items, prices, found, price_min, price_max)
    _qualification_checks(items, found, known, as_of, expiry_warn_days, expiry_notice_days)
    return found.frame(), skipped


def _title_checks(items, found, skipped, limits, required, by_category, terms) -> None:
    title = items["title"]
    present = (title.notna() & (title.astype("str").str.strip() != "")).to_numpy()
    if not present.any():
        skipped["title"] = ("审核的商品都没有商品标题（products 表缺少 title 列或该列全为空，多见于旧版数据）："
                            "广告法极限词、标题长度和核心关键词都没有检查")
        return
    found.mask(~present, "missing_info", "标题为空")
    texts = title.where(present, "").astype("str").tolist()
    at, reasons, worst = [], [], []
    for i, hits in enumerate(terms(texts)):
        if hits:
            groups: dict[tuple[str, str], list[str]] = {}
            for t in sorted(hits, key=lambda t: SEVERITY_RANK[t.severity]):
                groups.setdefault((t.kind, t.severity), []).append(t.word)
            at.append(i)
            reasons.append("标题含广告法极限词" + "，".join(f"{''.join(f'“{w}”' for w in words)}（“{kind}”类，{ADVICE[sev]}）"
                                                     for (kind, sev), words in groups.items()))
            worst.append(min((t.severity for t in hits), key=SEVERITY_RANK.__getitem__))
    if at:
        found.rows(at, "ad_words", reasons, worst)
    # as the platforms count a title: GBK bytes (a Chinese character 2, a letter or digit 1; GB18030 for the rest)
    size = np.fromiter((len(t.encode("gb18030")) for t in texts), dtype=np.int64, count=len(texts))
    limit = items["platform"].map(limits).fillna(min(limits.values())).astype(np.int64).to_numpy()
    where = items["platform"].map({p: f"{PLATFORM_NAMES[p]}上限" for p in limits}).fillna("最严上限")
    context = pd.DataFrame({"size": size, "limit": limit, "where": where.to_numpy(), "cut": size - limit})
    found.mask(present & (size > limit), "title_length",
               "标题 {size} 字节，超过{where} {limit} 字节（GBK 计，汉字 2 字节），需删去 {cut} 字节", context)
    _keyword_checks(items, found, skipped, texts, present, required, by_category)


def _keyword_checks(items, found, skipped, texts, present, required, by_category) -> None:
    """Titles lacking a core keyword: of the whole catalogue (`required`), or of their category (`by_category`)."""
    if not (required or by_category):
        return
    low = pd.Series(texts).str.lower()
    has = {}  # keyword → which titles hold it (a keyword shared by several categories is looked for once)
    for term in {w for t in required + [t for terms in by_category.values() for t in terms] for w in t}:
        has[term] = low.str.contains(term.lower(), regex=False).to_numpy()
    categories = items["category"].where(items["category"].notna(), "").astype("str").str.lower()
    names = sorted(by_category, key=len, reverse=True)  # the longest category name contained wins: 保健食品 before 食品
    own = {c: next((n for n in names if n.lower() in c), None) for c in categories.unique()}
    category = categories.map(own).to_numpy(dtype=object)
    unmatched = [n for n in by_category if n not in set(own.values())]
    if unmatched:
        seen = "、".join(sorted({c for c in items["category"].dropna().astype("str")})[:12]) or "（无）"
        skipped["category_keywords"] = (f"类目核心关键词中的类目“{'”“'.join(unmatched)}”在审核的商品中没有（商品的类目有：{seen}），"
                                        "这些关键词没有检查：请核对类目名称（商品类目包含该名称即可）")
    global_, own_ = np.full(len(texts), "", dtype=object), np.full(len(texts), "", dtype=object)
    for said, terms, rows, text in [(global_, required, present, "标题缺少核心关键词：{}")] + [
            (own_, terms, present & (category == name), f"缺少{name}类目要求的关键词：{{}}")
            for name, terms in by_category.items()]:
        if not terms or not rows.any():
            continue
        lack = np.column_stack([~np.logical_or.reduce([has[w] for w in t]) for t in terms])
        at = np.flatnonzero(rows & lack.any(axis=1))
        said[at] = [text.format(_said([t for t, missing in zip(terms, lack[i]) if missing])) for i in at]
    reasons = [("；".join(filter(None, pair))) for pair in zip(global_, own_)]
    at = np.flatnonzero(np.array([bool(r) for r in reasons], dtype=bool))
    found.rows(at, "keywords", [reasons[i] for i in at])


def _image_checks(items, found, skipped, known, min_images) -> None:
    images = pd.to_numeric(items["main_images"], errors="coerce").to_numpy(dtype="float64")
    if not np.isfinite(images[known]).any():
        if known.any():
            skipped["images"] = ("商品表没有主图数量（products 表缺少 main_images 列或该列全为空，多见于旧版数据）："
                                 "主图数量没有检查")
        return
    found.mask(known & np.isnan(images), "missing_info", "主图数量未登记")
    found.mask(known & (images < min_images), "images", f"主图 {{n:g}} 张，少于 {min_images} 张",
               pd.DataFrame({"n": images}))


def _code_checks(items, found, as_of) -> None:
    codes = items["sku"].astype("str")
    parts = _extract(codes)
    matched = parts["plat"].notna().to_numpy()
    norm = codes.str.strip().str.upper()
    context = parts.assign(code=codes, fixed=norm, listed=items["platform"].fillna(""),
                           listed_name=items["platform"].map(PLATFORM_NAMES).fillna(""))
    fixable = ~matched & _extract(norm)["plat"].notna().to_numpy()  # lower case or spaces around it
    found.mask(fixable, "sku_code", "商家编码应写作“{fixed}”（大写字母，前后不留空格）", context)
    found.mask(~matched & ~fixable, "sku_code", "商家编码不符合“平台-类目-规格-年月”格式（如 TB-01-M-2504）", context)
    plat = parts["plat"].map(CODE_PLATFORMS)
    found.mask(matched & plat.isna().to_numpy(), "sku_code",
               f"商家编码的平台代码 {{plat}} 无法识别（应为 {'/'.join(CODE_PLATFORMS)}）", context)
    month, year = pd.to_numeric(parts["mm"]), pd.to_numeric(parts["yy"])
    bad_month = matched & ~month.between(1, 12).to_numpy()
    found.mask(bad_month, "sku_code", "商家编码的年月 {yy}{mm} 中月份 {mm} 无效", context)
    # a month after both the audit day and the listing's launch (a listing scheduled for next month may carry it)
    launch = pd.to_datetime(items["launch_date"])
    latest = np.maximum(((launch.dt.year % 100) * 100 + launch.dt.month).fillna(0).to_numpy(),
                        (as_of.year % 100) * 100 + as_of.month)
    later = matched & ~bad_month & ((year * 100 + month).fillna(0).to_numpy() > latest)
    found.mask(later, "sku_code", "商家编码的年月 {yy}{mm} 晚于审核日期和上架日期", context)
    listed = items["platform"]
    other = matched & plat.notna().to_numpy() & listed.notna().to_numpy() & (plat != listed).fillna(False).to_numpy()
    found.mask(other, "sku_code", "商家编码的平台代码 {plat} 与商品所在平台 {listed_name}（{listed}）不一致", context)
    twins = np.flatnonzero(norm.duplicated(keep=False).to_numpy())
    if len(twins):
        raw, plats = codes.to_numpy()[twins], listed.to_numpy(dtype=object)[twins]
        groups: dict[str, list[int]] = {}
        for k, n in enumerate(norm.to_numpy()[twins]):
            groups.setdefault(n, []).append(k)
        found.rows(twins, "sku_duplicate", [_twin_reason(k, groups[n], raw, plats)
                                            for k, n in enumerate(norm.to_numpy()[twins])])


def _twin_reason(k: int, group: list[int], codes, platforms) -> str:
    """Why listing `k` of a group sharing a code (ignoring case and spaces) fails: the listings it shares it with."""
    def where(j):
        return f"{PLATFORM_NAMES[platforms[j]]}（{platforms[j]}）" if platforms[j] in PLATFORM_NAMES else "未填平台"
    same = [where(j) for j in group if j != k and codes[j] == codes[k]]
    near = [f"{where(j)}的“{codes[j]}”" for j in group if j != k and codes[j] != codes[k]]
    said = ([f"同时用于{'、'.join(same)}的商品"] if same else []) + ([f"与{'、'.join(near)}只差大小写或空格"] if near else [])
    return f"商家编码{'，'.join(said)}（各平台的商家编码应唯一）"


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
    at = listing_of(items, prices["sku"], prices["campaign_platform"])  # -1: none, the sentinel appended
    listed = np.append(items["platform"].to_numpy(dtype=object), None)[at]
    rows = prices.assign(cost=np.append(cost.to_numpy(), np.nan)[at], listed=listed, at=at,
                         listed_name=pd.Series(listed, index=prices.index).map(PLATFORM_NAMES),
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
        picked = rows[np.asarray(mask.fillna(False), dtype=bool) & (rows["at"] >= 0).to_numpy()]
        found.rows(picked["at"].to_numpy(), code, [reason.format(**r) for r in picked.to_dict("records")])


def _qualification_checks(items, found, known, as_of, warn_days, notice_days) -> None:
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
    found.mask(sensitive & ~has, "qualification_missing", "属于敏感类目{cat}（需{need}），未登记资质有效期", context)
    found.mask(sensitive & has & (left < 0), "qualification_expired",
               "{cat}资质（{need}）已于 {day} 到期，已过期 {ago:.0f} 天", context)
    found.mask(sensitive & has & (left >= 0) & (left <= warn_days), "qualification_expiring",
               "{cat}资质（{need}）将于 {day} 到期，只剩 {left:.0f} 天", context)
    found.mask(sensitive & has & (left > warn_days) & (left <= notice_days), "qualification_renewal",
               "提示：{cat}资质（{need}）{left:.0f} 天后（{day}）到期，请准备续期材料", context)


# -- results ---------------------------------------------------------------------------------------------------------
def results(items: pd.DataFrame, problems: pd.DataFrame, skipped: dict[str, str] | None = None) -> pd.DataFrame:
    """审核结果: one row per listing — sku, platform, title, 通过/不通过, every reason joined (不通过 first). A listing
    with notices only passes; checks not run are said in every row's reasons."""
    failing = problems.loc[~problems["check"].map(lambda c: CHECKS[c].notice).astype(bool), "listing"]
    reasons = problems.groupby("listing", sort=False)["reason"].agg("；".join)
    out = items[["sku", "platform", "title"]].reset_index(drop=True)
    position = pd.Series(range(len(out)), index=out.index)
    out["reasons"] = position.map(reasons).fillna("")
    out["result"] = np.where(position.isin(set(failing)), "不通过", "通过")
    undone = not_run(skipped or {})
    if undone:
        note = f"未检查{'、'.join(undone)}（商品表缺少这些数据）"
        out["reasons"] = [f"{r}；{note}" if r else note for r in out["reasons"]]
    out["title"] = out["title"].fillna("")
    out = out.sort_values(["result", "sku", "platform"], key=lambda s: s.map({"不通过": 0, "通过": 1})
                          if s.name == "result" else s, kind="stable")
    return out[["sku", "platform", "title", "result", "reasons"]].reset_index(drop=True)


def not_run(skipped: dict[str, str]) -> list[str]:
    """What the checks the source's data did not allow look at (no listing has their column), in Chinese."""
    return [SUBJECTS[code] for key, (_, codes) in COVERAGE.items() if key in skipped for code in codes]


def headline(table: pd.DataFrame, problems: pd.DataFrame, prices: pd.DataFrame,
             skipped: dict[str, str] | None = None) -> tuple[dict, dict[str, str]]:
    """Metrics (pass rate None without listings; `checks_skipped`: the checks it does not include) and the headline
    cards (the pass rate naming what it leaves out)."""
    n, passed = len(table), int((table["result"] == "通过").sum())
    rate = passed / n if n else None
    undone = not_run(skipped or {})
    metrics = {"listings": n, "passed": passed, "failed": n - passed, "pass_rate": rate, "checks_skipped": undone,
               "registrations": len(prices), "promo_noncompliant": int((prices["status"] == "不合规").sum()),
               "problems": {code: int(k) for code, k in problems.drop_duplicates(["listing", "check"])["check"]
                            .value_counts().items()}}
    shown = "—（没有可审核的商品）" if rate is None else f"{rate * 100:.1f}%"
    cards = {"审核商品数": f"{n:,}", "通过": f"{passed:,}", "不通过": f"{n - passed:,}",
             "通过率": f"{shown}（部分检查未做）" if undone and rate is not None else shown}
    if undone and rate is not None:
        columns = "、".join(COVERAGE[key][0] for key in COVERAGE if key in skipped)
        cards["未做的检查"] = f"{'、'.join(undone)}（商品表缺少 {columns}）"
    if len(prices):
        cards["活动价不合规"] = f"{metrics['promo_noncompliant']} / {len(prices)}"
    return metrics, cards


def summary(problems: pd.DataFrame, items: pd.DataFrame, prices: pd.DataFrame, skipped: dict[str, str],
            required: str, by_category: str = "") -> pd.DataFrame:
    """检查汇总: per kind of check run, its owner and the listings failing it (0 when it found nothing)."""
    counts = problems.drop_duplicates(["listing", "check"])["check"].value_counts()
    not_done = {"unknown_sku"} if items["known"].all() else set()
    if not (keywords(required) or category_keywords(by_category)):
        not_done.add("keywords")
    for key, (_, codes) in COVERAGE.items():
        if key in skipped:
            not_done |= set(codes)
    if prices.empty:
        not_done.add("promo_price")
    run = [code for code in CHECKS if code not in not_done]
    return pd.DataFrame({"check": [CHECKS[c].name for c in run], "owner": [CHECKS[c].owner for c in run],
                         "listings": [int(counts.get(c, 0)) for c in run]})


# -- flags -----------------------------------------------------------------------------------------------------------
SHOWN = 5  # listings a flag names


def findings(problems: pd.DataFrame, table: pd.DataFrame, prices: pd.DataFrame, skipped: dict[str, str],
             scope: str) -> list[Flag]:
    """One flag per kind of problem found (severity: the worst of its rows; owner: the role that fixes it), plus
    nothing to audit, checks not run (medium: the pass rate leaves them out), category keywords naming no audited
    category, and promo prices that could only be checked against the daily price."""
    out = []
    if table.empty:
        out.append(make("audit.nothing", "low", "运营", f"{scope}：没有可审核的商品（请核对平台、活动ID或上传的报名表）"))
    counted = table["sku"].value_counts()
    shared = set(counted.index[counted > 1])  # a SKU listed on several platforms: its listings named with theirs
    for code, rows in problems.groupby("check", sort=False):
        check = CHECKS[code]
        worst = min(rows["severity"], key=SEVERITY_RANK.__getitem__)
        listings = rows["listing"].nunique()
        shown = "；".join(f"{r.sku}{f'（{r.platform}）' if r.sku in shared else ''} {r.reason}"
                         for r in rows.head(SHOWN).itertuples())
        more = f"；另有 {len(rows) - SHOWN} 条见审核结果表" if len(rows) > SHOWN else ""
        action = f"。{check.action}" if check.action else ""
        out.append(make(f"audit.{code}", worst, check.owner, f"{check.name}（{listings} 个商品）：{shown}{more}{action}",
                        rows[["sku", "platform", "reason"]]))
    undone = [key for key in COVERAGE if key in skipped]
    if undone and not table.empty:
        rate = (table["result"] == "通过").mean()
        out.append(make("audit.not_checked", "medium", "数据分析",
                        "；".join(skipped[key] for key in undone) + f"。通过率 {rate * 100:.1f}% 不含这些检查，不代表商品全部合格："
                        f"请导入含{'、'.join(COVERAGE[key][0] for key in undone)}的商品列表（出售中的宝贝、抖店商品列表）后重新审核"))
    if "category_keywords" in skipped:
        out.append(make("audit.keywords_unmatched", "low", "运营", skipped["category_keywords"]))
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
