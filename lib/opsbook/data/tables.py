"""Canonical table schemas and their validation (every problem at once, in Chinese)."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..errors import DataError
from ..settings import ROLES, TZ_NAME
from . import privacy
from .platforms import PLATFORMS

ORDER_STATUSES = {
    "unpaid": "待付款",
    "paid": "待发货",
    "shipped": "已发货",
    "completed": "已完成",
    "closed": "已关闭",
    "refunded": "已退款",
}
PAID_STATUSES = ("paid", "shipped", "completed", "refunded")
SHIPMENT_EXCEPTIONS = ("丢件", "破损", "拒收", "退回", "错发", "漏发", "地址异常")


@dataclass(frozen=True)
class Column:
    """One canonical column: name, kind (str/int/float/bool/datetime/date), Chinese label."""

    name: str
    kind: str
    label: str
    required: bool = True
    nullable: bool = False
    min: float | None = None
    choices: tuple[str, ...] | None = None
    fraction: bool = False  # a share written as a fraction (0.12 = 12 %): above FRACTION_MAX it was typed as 12
    masked: bool = False  # text that may hold phone numbers (a phone column, a review or chat text): masked on reading

    def fraction_problem(self) -> str:
        """What is wrong with a fraction column's value above FRACTION_MAX, in Chinese."""
        return (f"应填小数（12% 填 0.12 或 12%），不能大于 {FRACTION_MAX:g}（即 {FRACTION_MAX * 100:,.0f}%），"
                "多半是把百分数填成了整数")


FRACTION_MAX = 10  # a fraction above this (1,000 %) is a percentage typed as a whole number


def _c(name, kind, label, required=True, nullable=False, min=None, choices=None, fraction=False, masked=False):
    return Column(name, kind, label, required, nullable, min, tuple(choices) if choices else None, fraction, masked)


SCHEMAS: dict[str, dict[str, Column]] = {
    name: {c.name: c for c in cols}
    for name, cols in {
        "orders": [
            _c("order_id", "str", "订单编号"),
            _c("line_id", "str", "子订单编号", required=False),
            _c("platform", "str", "平台", choices=PLATFORMS),
            _c("customer_id", "str", "客户ID（匿名）"),
            _c("order_time", "datetime", "下单时间"),
            _c("pay_time", "datetime", "付款时间", nullable=True),
            _c("sku", "str", "商家编码"),
            _c("quantity", "int", "数量", min=0),
            _c("unit_price", "float", "成交单价", required=False, min=0),
            _c("amount", "float", "实付金额", min=0),
            _c("discount", "float", "优惠金额", required=False, nullable=True, min=0),
            _c("refund_amount", "float", "退款金额", required=False, nullable=True, min=0),
            _c("status", "str", "订单状态", choices=ORDER_STATUSES),
            _c("campaign_id", "str", "活动ID", required=False, nullable=True),
            _c("province", "str", "省份", required=False, nullable=True),
            _c("city", "str", "城市", required=False, nullable=True),
            _c("phone", "str", "手机号（脱敏）", required=False, nullable=True, masked=True),
            _c("is_fake", "bool", "刷单标记", required=False),
        ],
        # lines of item-level exports (淘宝/天猫订单明细) as imported; they enter `orders` with their order list's fields
        "order_lines": [
            _c("order_id", "str", "订单编号"),
            _c("line_id", "str", "子订单编号", required=False),
            _c("platform", "str", "平台", choices=PLATFORMS),
            _c("sku", "str", "商家编码"),
            _c("quantity", "int", "数量", min=0),
            _c("unit_price", "float", "成交单价", min=0),
            _c("amount", "float", "实付金额", required=False, min=0),  # price × quantity when the export has none
            _c("refund_amount", "float", "退款金额", required=False, nullable=True, min=0),
            _c("status", "str", "订单状态", required=False, nullable=True, choices=ORDER_STATUSES),
            _c("order_time", "datetime", "下单时间", required=False, nullable=True),
            _c("pay_time", "datetime", "付款时间", required=False, nullable=True),
        ],
        # one row per listing: a SKU (商家编码) on a platform (the same SKU on two platforms is two rows; a cost per
        # SKU: `sops.catalogue`); the listing columns are optional, so product tables made before they existed still
        # open (a missing optional column reads as empty, which the playbooks must handle anyway)
        "products": [
            _c("sku", "str", "商家编码"),
            _c("name", "str", "商品名称"),
            _c("category", "str", "类目"),
            _c("cost", "float", "成本价", min=0),
            _c("price", "float", "日常售价", min=0),
            _c("launch_date", "date", "上架日期", required=False, nullable=True),
            _c("platform", "str", "平台", required=False, nullable=True, choices=PLATFORMS),
            _c("product_id", "str", "商品ID", required=False, nullable=True),  # the platform's item id (product_traffic)
            _c("title", "str", "商品标题", required=False, nullable=True),
            _c("main_images", "int", "主图数量", required=False, nullable=True, min=0),
            _c("qualification_expiry", "date", "资质有效期至", required=False, nullable=True),
        ],
        # 选品候选: products considered for listing (选品评估)
        "candidates": [
            _c("candidate_id", "str", "候选ID"),
            _c("name", "str", "商品名称"),
            _c("category", "str", "类目"),
            _c("monthly_search", "int", "月搜索量", min=0),
            _c("search_growth", "float", "搜索指数环比增长", min=-1, fraction=True),  # 0.12 = +12 %, -0.05 = −5 %
            _c("cost", "float", "成本价", min=0),
            _c("price", "float", "预计售价", min=0),
            _c("supplier_id", "str", "供应商ID", required=False, nullable=True),
            _c("supplier_months", "int", "合作月数", min=0),  # 0 = a new supplier
            _c("has_qualification", "bool", "资质齐全"),
            _c("notes", "str", "备注", required=False, nullable=True),
        ],
        "traffic_daily": [
            _c("date", "date", "日期"),
            _c("platform", "str", "平台", choices=PLATFORMS),
            _c("uv", "int", "访客数", min=0),
            _c("pv", "int", "浏览量", min=0),
            _c("bounce_uv", "int", "跳出访客数", min=0),
            _c("cart_uv", "int", "加购人数", min=0),
            _c("new_uv", "int", "新访客数", required=False, min=0),
            _c("search_uv", "int", "搜索引导访客数", required=False, min=0),
            _c("live_uv", "int", "直播观看人数", required=False, min=0),
            _c("live_interactions", "int", "直播互动人数", required=False, min=0),
        ],
        "campaigns": [
            _c("campaign_id", "str", "活动ID"),
            _c("name", "str", "活动名称"),
            _c("platform", "str", "平台", choices=PLATFORMS),
            _c("start_date", "date", "开始日期"),
            _c("end_date", "date", "结束日期"),
            _c("kind", "str", "活动类型", required=False),
            _c("budget", "float", "预算", required=False, min=0),
            _c("coupon_threshold", "float", "满减门槛", required=False, nullable=True, min=0),
            _c("coupon_discount", "float", "满减金额", required=False, nullable=True, min=0),
            _c("coupons_issued", "int", "券发放量", required=False, min=0),
            _c("coupons_used", "int", "券核销量", required=False, min=0),
        ],
        "campaign_items": [
            _c("campaign_id", "str", "活动ID"),
            _c("sku", "str", "商家编码"),
            _c("promo_price", "float", "活动价", min=0),
        ],
        "ad_spend": [
            _c("date", "date", "日期"),
            _c("campaign_id", "str", "活动ID"),
            _c("platform", "str", "平台", choices=PLATFORMS),
            _c("channel", "str", "推广渠道"),
            _c("spend", "float", "花费", min=0),
            _c("impressions", "int", "展现量", min=0),
            _c("clicks", "int", "点击量", min=0),
            _c("gmv", "float", "成交金额", min=0),
        ],
        "product_traffic": [
            _c("date", "date", "统计日期"),
            _c("platform", "str", "平台", choices=PLATFORMS),
            _c("product_id", "str", "商品ID"),
            _c("name", "str", "商品名称", required=False, nullable=True),
            _c("uv", "int", "商品访客数", min=0),
            _c("pv", "int", "商品浏览量", required=False, min=0),
            _c("pay_buyers", "int", "支付买家数", min=0),
            _c("pay_amount", "float", "支付金额", min=0),
            _c("refund_amount", "float", "成功退款金额", required=False, min=0),
            _c("fav_uv", "int", "商品收藏人数", required=False, min=0),
            _c("cart_uv", "int", "商品加购人数", required=False, min=0),
            _c("order_buyers", "int", "下单买家数", required=False, min=0),
            _c("order_amount", "float", "下单金额", required=False, min=0),
            _c("search_uv", "int", "搜索引导访客数", required=False, min=0),
            _c("search_pay_buyers", "int", "搜索引导支付买家数", required=False, min=0),
        ],
        # daily snapshots: the warehouse's stock beside what the shop shows for sale and what is on its way
        "inventory": [
            _c("date", "date", "日期"),
            _c("sku", "str", "商家编码"),
            _c("stock", "int", "可售库存"),
            _c("platform_stock", "int", "平台库存", required=False, nullable=True, min=0),
            _c("in_transit", "int", "在途数量", required=False, nullable=True, min=0),
        ],
        "suppliers": [
            _c("supplier_id", "str", "供应商ID"),
            _c("name", "str", "供应商名称"),
            _c("since", "date", "合作开始日期"),
            _c("capacity_per_week", "int", "周产能", min=0),
            _c("tier", "str", "供应商等级", required=False, nullable=True),  # the shop's current tier, e.g. 核心 / 备选
        ],
        # one row per purchase order (one SKU each); received_qty above ordered_qty is possible (over-delivery)
        "purchase_orders": [
            _c("po_id", "str", "采购单号"),
            _c("supplier_id", "str", "供应商ID"),
            _c("sku", "str", "商家编码"),
            _c("ordered_qty", "int", "采购数量", min=0),
            _c("received_qty", "int", "实收数量", min=0),  # 0 until the goods arrive
            _c("order_date", "date", "下单日期"),
            _c("due_date", "date", "约定交期"),
            _c("received_date", "date", "到货日期", nullable=True),  # empty while in transit
            _c("defect_qty", "int", "次品数量", min=0),
        ],
        # one row per parcel (an order shipped in two parcels, or reshipped, has two); an order not yet shipped has none
        "shipments": [
            _c("order_id", "str", "订单编号"),
            _c("platform", "str", "平台", choices=PLATFORMS),
            _c("carrier", "str", "快递公司"),
            _c("tracking_no", "str", "运单号"),  # digits only, may look like a phone number: never masked
            _c("ship_time", "datetime", "发货时间"),
            _c("last_event_time", "datetime", "最后物流更新时间", nullable=True),
            _c("delivered_time", "datetime", "签收时间", nullable=True),
            _c("exception", "str", "物流异常", required=False, nullable=True, choices=SHIPMENT_EXCEPTIONS),
        ],
        # one row per customer-service session (千牛/咚咚/飞鸽 接待记录)
        "cs_sessions": [
            _c("session_id", "str", "会话ID"),
            _c("platform", "str", "平台", choices=PLATFORMS),
            # agent, channel and topic are what a console lets staff type: a phone in them is masked like the summary's
            _c("agent", "str", "客服", masked=True),
            _c("channel", "str", "接待渠道", required=False, nullable=True, masked=True),  # 千牛 / 咚咚 / 飞鸽 / 电话 …
            _c("category", "str", "咨询阶段", choices=("售前", "售中", "售后")),
            _c("topic", "str", "问题类型", required=False, nullable=True, masked=True),  # 催付 / 退换货 / 质量问题 / 物流 …
            _c("customer_id", "str", "客户ID（匿名）", required=False, nullable=True),
            _c("order_id", "str", "订单编号", required=False, nullable=True),
            _c("start_time", "datetime", "会话开始时间"),
            _c("first_response_s", "float", "首次响应时长（秒）", nullable=True, min=0),  # empty: never answered
            _c("resolved_time", "datetime", "解决时间", nullable=True),
            _c("rating", "int", "客户评分", required=False, nullable=True, min=1),  # 1–5
            _c("follow_up_time", "datetime", "回访时间", required=False, nullable=True),
            _c("text", "str", "会话摘要", required=False, nullable=True, masked=True),
        ],
        # product reviews (评价) as the platforms export them
        "reviews": [
            _c("review_id", "str", "评价ID"),
            _c("platform", "str", "平台", choices=PLATFORMS),
            _c("order_id", "str", "订单编号", required=False, nullable=True),
            _c("sku", "str", "商家编码", required=False, nullable=True),
            _c("rating", "int", "评分", min=1),  # 1–5 stars (淘宝 好评/中评/差评 = 5/3/1)
            _c("text", "str", "评价内容", nullable=True, masked=True),
            _c("review_time", "datetime", "评价时间"),
            _c("reply_time", "datetime", "商家回复时间", required=False, nullable=True),
        ],
        # search rank of the shop's keywords per day (生意参谋 / 京东商智 / 抖店 搜索词排名); empty: not in the ranking
        "keyword_ranks": [
            _c("date", "date", "日期"),
            _c("platform", "str", "平台", choices=PLATFORMS),
            _c("keyword", "str", "关键词"),
            _c("rank", "int", "排名", nullable=True, min=1),
            _c("sku", "str", "商家编码", required=False, nullable=True),
        ],
        # the tasks of a promotion's plan (大促排期)
        "plan_tasks": [
            _c("promotion", "str", "大促名称"),
            _c("task_id", "str", "任务编号"),
            _c("task", "str", "任务"),
            _c("owner_role", "str", "负责角色", choices=ROLES),
            _c("start_date", "date", "开始日期"),
            _c("planned_end", "date", "计划完成日期"),
            _c("done_date", "date", "实际完成日期", nullable=True),
            _c("milestone", "str", "里程碑", required=False, nullable=True),
        ],
        # one row per piece of creator content (达人/内容营销 exports: 星图、蒲公英、京东达人 …)
        "kol_content": [
            _c("content_id", "str", "内容ID"),
            _c("platform", "str", "平台", choices=PLATFORMS),
            _c("creator", "str", "达人昵称"),
            _c("followers", "int", "粉丝数", min=0),
            _c("publish_date", "date", "发布日期"),
            _c("cost", "float", "合作费用", min=0),
            _c("plays", "int", "播放量", min=0),
            _c("completions", "int", "完播量", min=0),
            _c("interactions", "int", "互动量", min=0),
            _c("link_clicks", "int", "商品链接点击", min=0),
            _c("carts", "int", "加购数", min=0),
            _c("orders", "int", "成交订单数", min=0),
            _c("gmv", "float", "成交金额", min=0),
            _c("repurchase_orders", "int", "复购订单数", required=False, nullable=True, min=0),
            _c("sku", "str", "商家编码", required=False, nullable=True),
        ],
        # units (customers or staff) assigned to the pilot or the control group of a new SOP version, with the outcome
        # of the metric declared before the pilot started (1/0 for a rate, a number for an amount)
        "sop_pilots": [
            _c("pilot", "str", "试点名称"),
            _c("playbook", "str", "剧本", required=False, nullable=True),
            _c("sop_version", "str", "SOP 版本"),
            _c("unit_id", "str", "对象ID", masked=True),  # a CRM may key its customers by their phone
            _c("unit_kind", "str", "对象类型", choices=("客户", "员工")),
            _c("pilot_group", "str", "分组", choices=("试点", "对照")),
            _c("assigned_at", "datetime", "分组时间"),
            _c("metric", "str", "预先声明的指标"),
            _c("outcome", "float", "结果值", nullable=True),  # empty while the outcome is not known yet
        ],
    }.items()
}
# The goods intake's two halves of a product (`opsbook ingest`): platform product lists have no cost, the shop's cost
# sheet (成本表) has nothing else. A listing enters `products` once its SKU has a cost; until then it waits here.
SCHEMAS["product_listings"] = {name: col for name, col in SCHEMAS["products"].items()
                               if name not in ("cost", "qualification_expiry")}
SCHEMAS["product_costs"] = {"sku": _c("sku", "str", "商家编码"), "cost": _c("cost", "float", "成本价", min=0)}

_TRUTH = {"true": True, "false": False, "1": True, "0": False, "是": True, "否": False}
# an id Excel turned into a number, 2.58E+18 (its digits after the 15th are lost); \s spelled out: RE2 runs it too
SCIENTIFIC = rf"^[{privacy.SPACE}]*[-+]?\d+(\.\d+)?[eE][-+]?\d+[{privacy.SPACE}]*$"  # \s spelled out: Arrow runs it, DuckDB too


def _examples(df: pd.DataFrame, mask: pd.Series, column: str, limit: int = 3) -> str:
    rows = df.index[mask.to_numpy()][:limit]
    shown = ", ".join(f"第{int(i) + 2}行=“{_cell(df.at[i, column])}”" for i in rows)
    return f"共 {int(mask.sum())} 行，例如 {shown}"


def _cell(value) -> str:
    """A cell as the sheet showed it: （空） when empty, a whole number without `.0` (12, not 12.0)."""
    if pd.isna(value):
        return "（空）"
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def is_id(col: Column) -> bool:
    """Whether a column holds ids (whose digits must survive exactly)."""
    return col.name.endswith("_id") or col.name == "sku"


def _coerce_str(series: pd.Series, col: Column) -> tuple[pd.Series, pd.Series]:
    missing = series.isna()
    if pd.api.types.is_float_dtype(series):  # ids read as numbers: 1001.0 → "1001"
        series = series.map(lambda v: f"{v:.0f}" if float(v).is_integer() else str(v), na_action="ignore")
    out = series.astype("str").where(~missing, None).astype("str")
    if col.masked:
        out = privacy.mask_phones(out)
    bad = pd.Series(False, index=series.index)
    if is_id(col):
        out = out.str.strip()
        if out.str.endswith(".0").any():  # the regex pass is slow, and most id columns have no such id
            out = out.str.replace(r"\.0$", "", regex=True)
        maybe = out.str.contains("e", case=False, regex=False).fillna(False).astype(bool)  # cheap: no regex
        if maybe.any():
            bad = out[maybe].str.match(SCIENTIFIC).fillna(False).astype(bool).reindex(out.index, fill_value=False)
    return out, bad


def _coerce_datetime(series: pd.Series, missing: pd.Series) -> tuple[pd.Series, pd.Series]:
    if not pd.api.types.is_datetime64_any_dtype(series):
        if pd.api.types.is_numeric_dtype(series):
            return pd.Series(pd.NaT, index=series.index, dtype=f"datetime64[ns, {TZ_NAME}]"), ~missing
        text = series.astype("str").where(~missing, None)
        try:
            series = pd.to_datetime(text, errors="coerce", format="mixed")
        except (ValueError, TypeError):  # times with and without an offset mixed: a time without one is China time
            aware = text.str.contains(_OFFSET, regex=True, na=False)
            out = pd.Series(pd.NaT, index=text.index, dtype=f"datetime64[ns, {TZ_NAME}]")
            out[aware] = pd.to_datetime(text[aware], errors="coerce", format="mixed", utc=True).dt.tz_convert(TZ_NAME)
            out[~aware] = pd.to_datetime(text[~aware], errors="coerce", format="mixed").dt.tz_localize(TZ_NAME)
            return out, out.isna() & ~missing
    out = series.dt.tz_localize(TZ_NAME) if series.dt.tz is None else series.dt.tz_convert(TZ_NAME)
    return out, out.isna() & ~missing


_OFFSET = r"(?:[+-]\d{2}:?\d{2}|Z)\s*$"  # a time that says its own offset: …+08:00, …+0000, …Z


def _coerce(series: pd.Series, col: Column) -> tuple[pd.Series, pd.Series]:
    """Convert to the canonical kind; return the converted series and a mask of unconvertible cells."""
    missing = series.isna()
    if col.kind == "str":
        return _coerce_str(series, col)
    if col.kind in ("int", "float"):
        out = pd.to_numeric(series, errors="coerce")
        bad = out.isna() & ~missing
        if col.kind == "int":
            bad |= (out.notna() & (out % 1 != 0))
            out = out.where(~bad).round().astype("Int64")
        return out, bad
    if col.kind == "bool":
        if pd.api.types.is_bool_dtype(series):
            return series.astype("boolean"), pd.Series(False, index=series.index)
        out = series.astype("str").str.strip().str.lower().map(_TRUTH).astype("boolean")
        return out, out.isna() & ~missing
    if col.kind == "datetime":
        return _coerce_datetime(series, missing)
    if col.kind == "date":
        out, bad = _coerce_datetime(series, missing)
        return out.dt.tz_localize(None).dt.normalize(), bad
    raise ValueError(f"unknown column kind {col.kind}")


# Row rules across columns: (table, Chinese description, SQL condition true for a bad row, columns it needs). Written
# once in SQL: a source checks them in DuckDB over its files, `validate` runs the same SQL over a DataFrame.
RULES = [
    ("orders", "付款时间早于下单时间", "pay_time < order_time", ("pay_time", "order_time")),
    ("orders", "退款金额大于实付金额", "refund_amount > amount + 0.005", ("refund_amount", "amount")),
    ("campaigns", "结束日期早于开始日期", "end_date < start_date", ("end_date", "start_date")),
    ("campaigns", "券核销量大于发放量", "coupons_used > coupons_issued", ("coupons_used", "coupons_issued")),
    ("traffic_daily", "跳出、加购或搜索访客数大于访客数", "bounce_uv > uv OR cart_uv > uv OR search_uv > uv",
     ("bounce_uv", "cart_uv", "search_uv", "uv")),
    ("traffic_daily", "直播互动人数大于观看人数", "live_interactions > live_uv", ("live_interactions", "live_uv")),
    ("ad_spend", "点击量大于展现量", "clicks > impressions", ("clicks", "impressions")),
    ("product_traffic", "支付买家数大于商品访客数", "pay_buyers > uv", ("pay_buyers", "uv")),
    ("purchase_orders", "次品数量大于实收数量", "defect_qty > received_qty", ("defect_qty", "received_qty")),
    ("purchase_orders", "约定交期早于下单日期", "due_date < order_date", ("due_date", "order_date")),
    ("purchase_orders", "到货日期早于下单日期", "received_date < order_date", ("received_date", "order_date")),
    ("shipments", "签收时间早于发货时间", "delivered_time < ship_time", ("delivered_time", "ship_time")),
    ("shipments", "最后物流更新早于发货时间", "last_event_time < ship_time", ("last_event_time", "ship_time")),
    ("cs_sessions", "解决时间早于会话开始", "resolved_time < start_time", ("resolved_time", "start_time")),
    ("cs_sessions", "回访时间早于会话开始", "follow_up_time < start_time", ("follow_up_time", "start_time")),
    ("cs_sessions", "客户评分大于 5", "rating > 5", ("rating",)),
    ("reviews", "评分大于 5", "rating > 5", ("rating",)),
    ("reviews", "商家回复早于评价时间", "reply_time < review_time", ("reply_time", "review_time")),
    ("plan_tasks", "计划完成日期早于开始日期", "planned_end < start_date", ("planned_end", "start_date")),
    ("kol_content", "完播量大于播放量", "completions > plays", ("completions", "plays")),
    ("kol_content", "加购数大于商品链接点击", "carts > link_clicks", ("carts", "link_clicks")),
]
# what identifies a row: no two rows of a table share these values (a missing optional key column counts as empty)
KEYS = {"orders": ["platform", "order_id", "line_id"], "order_lines": ["platform", "order_id", "line_id"],
        "products": ["platform", "sku"], "campaigns": ["campaign_id"], "campaign_items": ["campaign_id", "sku"],
        "traffic_daily": ["platform", "date"], "ad_spend": ["platform", "channel", "campaign_id", "date"],
        "product_traffic": ["platform", "product_id", "date"], "inventory": ["sku", "date"],
        "candidates": ["candidate_id"], "suppliers": ["supplier_id"], "purchase_orders": ["po_id"],
        "shipments": ["platform", "order_id", "tracking_no"], "cs_sessions": ["platform", "session_id"],
        "reviews": ["platform", "review_id"], "keyword_ranks": ["platform", "keyword", "date"],
        "plan_tasks": ["promotion", "task_id"], "kol_content": ["platform", "content_id"],
        "sop_pilots": ["pilot", "unit_id"]}
KEYS |= {"product_listings": ["platform", "sku"], "product_costs": ["sku"]}  # the goods intake's staging tables


def _row_problems(name: str, frame: pd.DataFrame, where: str) -> list[str]:
    problems = []
    rules = [(text, condition) for table, text, condition, needs in RULES if table == name and set(needs) <= set(frame)]
    if rules:
        import duckdb  # the rules are SQL: the same text a source runs over its files
        con = duckdb.connect()
        needed = sorted({c for table, _, _, needs in RULES if table == name for c in needs} & set(frame))
        con.register("frame", frame[needed].reset_index(drop=True).assign(row_=range(len(frame))))
        for text, condition in rules:
            rows = [r for (r,) in con.execute(f"SELECT row_ FROM frame WHERE {condition} ORDER BY row_").fetchall()]
            if rows:
                problems.append(f"{where}有{text}的行：共 {len(rows)} 行，例如第 "
                                f"{'、'.join(str(int(frame.index[i]) + 2) for i in rows[:3])} 行")
    key = [k for k in KEYS.get(name, []) if k in frame.columns]
    if key and len(key) == len([k for k in KEYS[name] if SCHEMAS[name][k].required or k in frame.columns]):
        dup = frame.duplicated(subset=key, keep="first")
        if dup.any():
            problems.append(f"{where}的 {'+'.join(key)} 有重复：共 {int(dup.sum())} 行，例如第 "
                            f"{'、'.join(str(int(i) + 2) for i in frame.index[dup.to_numpy()][:3])} 行")
    return problems


def problems_in(name: str, df: pd.DataFrame, origin: str = "", *, keep_index: bool = False,
                extra: dict[str, Column] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Check and coerce one table; return the canonical frame and every problem found (Chinese).

    Rows are named by their position (the second row of a file with its header on the first): `keep_index` names
    them by `index + 2` instead, for a file whose rows the caller has numbered. `extra` columns (beyond the table's
    schema, e.g. a registration sheet's title) are checked and coerced like the schema's own."""
    schema = {**SCHEMAS[name], **(extra or {})}
    where = f"{origin} 的 {name} 表" if origin else f"{name} 表"
    problems: list[str] = []
    missing_cols = [c for c in schema.values() if c.required and c.name not in df.columns]
    for c in missing_cols:
        problems.append(f"{where}缺少必需列 {c.name}（{c.label}）")
    df = df if keep_index else df.reset_index(drop=True)
    out = {}
    for col in schema.values():
        if col.name not in df.columns:
            continue
        series, bad = _coerce(df[col.name], col)
        if bad.any():
            hint = "（疑似在 Excel 中打开后保存成了科学计数法：请重新导出，不要用 Excel 另存）" if col.kind == "str" else ""
            problems.append(f"{where}的列 {col.name}（{col.label}）有无法识别为{KIND_ZH[col.kind]}的值{hint}："
                            f"{_examples(df, bad, col.name)}")
        empty = series.isna() & ~bad
        if not col.nullable and empty.any():
            problems.append(f"{where}的列 {col.name}（{col.label}）不能为空：{_examples(df, empty, col.name)}")
        if col.min is not None:
            below = (series < col.min).fillna(False).astype(bool)
            if below.any():
                problems.append(f"{where}的列 {col.name}（{col.label}）不能小于 {col.min:g}：{_examples(df, below, col.name)}")
        if col.fraction:
            above = (series > FRACTION_MAX).fillna(False).astype(bool)
            if above.any():
                problems.append(f"{where}的列 {col.name}（{col.label}）{col.fraction_problem()}：{_examples(df, above, col.name)}")
        if col.choices:
            unknown = ~series.isin(col.choices) & series.notna()
            if unknown.any():
                problems.append(f"{where}的列 {col.name}（{col.label}）只能取 {'/'.join(col.choices)}：{_examples(df, unknown, col.name)}")
        out[col.name] = series
    extra = [c for c in df.columns if c not in schema]
    frame = pd.DataFrame(out, index=df.index)
    for c in extra:
        frame[c] = df[c]
    if not missing_cols:
        problems += _row_problems(name, frame, where)
    return frame, problems


KIND_ZH = {"str": "文本", "int": "整数", "float": "数字", "bool": "是/否", "datetime": "时间", "date": "日期"}


def validate(name: str, df: pd.DataFrame, origin: str = "", *, keep_index: bool = False,
             extra: dict[str, Column] | None = None) -> pd.DataFrame:
    """Return the canonical frame or raise DataError listing every problem (`problems_in` for the keywords)."""
    frame, problems = problems_in(name, df, origin, keep_index=keep_index, extra=extra)
    if problems:
        raise DataError(problems, headline=f"{origin or name} 数据校验未通过，请修正后重试")
    return frame
