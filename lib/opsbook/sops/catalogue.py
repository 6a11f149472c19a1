"""The products table read one row per SKU, for the playbooks that join it to what is kept per SKU (orders, stock,
purchase orders): `products` holds a listing per platform and SKU (商家编码), so the same SKU sold on two platforms
has two rows, and joining on the SKU alone would count its sales or its stock twice.

A SKU's cost is one number whatever the platform: a SKU whose listings carry different costs is refused (DataError,
naming it), never averaged or picked. The listing's own columns are taken so: name, category and title from its
first listing (by platform code) that has one, the earliest launch date, the lowest daily price (a price below cost
on any platform shows), and platform and item id only for a SKU listed once (empty for a SKU listed on several:
callers fall back as for a listing without a platform).
"""
from __future__ import annotations

from ..errors import DataError
from ..sources import Source

_FIRST = "first({c} ORDER BY platform NULLS LAST) FILTER (WHERE {c} IS NOT NULL)"
PER_SKU = {  # column → how a SKU's listings give it
    "name": _FIRST.format(c="name"), "category": _FIRST.format(c="category"), "title": _FIRST.format(c="title"),
    "cost": "min(cost)",  # one value: `by_sku` refuses SKUs whose listings differ
    "price": "min(price)", "launch_date": "min(launch_date)",
    "platform": "CASE WHEN count(*) = 1 THEN any_value(platform) END",
    "product_id": "CASE WHEN count(*) = 1 THEN any_value(product_id) END",
}
SHOWN = 5  # SKUs named in the error


def by_sku(src: Source, columns: str = ", ".join(PER_SKU)) -> str:
    """A relation (SQL text for a FROM clause) of the products table with one row per SKU: `sku` and `columns`
    (comma-separated names of `PER_SKU`, default all); DataError when a SKU's listings differ in cost and `cost` is
    asked."""
    names = [c.strip() for c in columns.split(",") if c.strip()]
    unknown = [c for c in names if c not in PER_SKU]
    if unknown:
        raise ValueError(f"no per-SKU rule for products columns {unknown}")
    if "cost" in names:
        check_costs(src)
    picked = ", ".join(f"{PER_SKU[c]} AS {c}" for c in names)
    return f"(SELECT sku{', ' if picked else ''}{picked} FROM products GROUP BY sku)"


def check_costs(src: Source) -> None:
    """DataError (Chinese) naming the SKUs whose listings on several platforms carry different costs."""
    found = src.sql("""
        SELECT sku, string_agg(coalesce(platform, '未填平台') || ' ¥' || printf('%.2f', cost), '、'
                               ORDER BY platform NULLS LAST, cost) AS costs
        FROM products GROUP BY sku HAVING count(DISTINCT cost) > 1 ORDER BY sku""")
    if found.empty:
        return
    shown = "；".join(f"{sku}（{costs}）" for sku, costs in zip(found["sku"].head(SHOWN), found["costs"].head(SHOWN)))
    more = f" 等 {len(found)} 个" if len(found) > SHOWN else ""
    raise DataError(f"商品表 products 中有 {len(found)} 个商家编码在不同平台的成本价不一致：{shown}{more}。"
                    "同一商家编码的成本价只能有一个（毛利、库存金额都按它算），请在成本表中统一后重新导入，"
                    "或给成本不同的商品各用一个商家编码", headline="商品成本价有冲突，未执行")
