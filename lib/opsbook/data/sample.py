"""Deterministic generator of a believable demo shop: one parquet file per canonical table.

Planted faults, each named by a constant below so that tests can find it (listings are (design, platform) pairs):
- orders and campaigns: brushed orders (`FAKE_SHARE`), PDD traffic gaps, a channel under the ROI line, a coupon hardly
  redeemed, a promo price not below the 30-day low (`_mark_faults`: the latest TM 大促, CP-2605-TM at seed 7);
- listing audit: `FORBIDDEN_TITLE` (最), `LONG_TITLE` (68 GBK bytes), `FEW_IMAGES` (3), `BAD_SKU_CODE` (month 60),
  `EXPIRED_QUALIFICATION` and `EXPIRING_QUALIFICATION` (18 days ago, in 12 days), `PRICE_BELOW_COST`;
- product performance: `NEGATIVE_MARGIN`, `HIGH_REFUND`, `LOW_CONVERSION` (high traffic), `SLOW_MOVER` (no sale for
  50 days);
- stock: the two best sellers of the latest big promotion sold out during it (`_hot_skus`; they go on taking orders
  with nothing in the warehouse until stock arrives — every other sale is backed by stock), `OVERSOLD` (platform stock
  above the warehouse's over the last 5 days), `SLOW_MOVER`;
- suppliers: `LATE_SUPPLIER`, `DEFECTIVE_SUPPLIER`, `SINGLE_SOURCED` (a design bought from one supplier);
- product evaluation: `CANDIDATES`, one for each way to a recommendation, described in `CANDIDATE_CASES`.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .. import paths
from ..settings import TZ_NAME
from . import sample_ops
from .tables import PLATFORMS, SCHEMAS

CHUNK_LINES = 1_000_000
STOCK_DAYS, PO_DAYS = 120, 365  # days of inventory snapshots; days of purchase orders (the stock simulation's span)
PLATS = tuple(PLATFORMS)  # TB TM JD DY PDD
TB, TM, JD, DY, PDD = range(5)
SHARE = np.array([0.22, 0.30, 0.20, 0.17, 0.11])
LAUNCH_OFFSET = {"TM": 0, "JD": 1, "DY": 2, "TB": 4, "PDD": 7}
PRICE_LEVEL = {"TB": 0.95, "TM": 1.0, "JD": 1.0, "DY": 0.95, "PDD": 0.88}
CATEGORIES = {"01": "服饰", "02": "3C数码", "03": "美妆", "04": "食品", "05": "家居"}
FIT = {  # category affinity per platform, categories 01..05
    "TB": (1.0, 0.9, 1.0, 1.1, 1.0), "TM": (1.1, 1.0, 1.2, 0.9, 1.0), "JD": (0.6, 1.8, 0.6, 1.0, 1.2),
    "DY": (1.3, 0.6, 1.5, 1.0, 0.7), "PDD": (0.8, 0.7, 0.9, 1.5, 1.3)}
SEASONS = {  # demand factor per calendar month, Jan..Dec
    "": (1,) * 12,
    "summer": (0.4, 0.4, 0.7, 1.2, 2.0, 2.2, 2.2, 1.8, 1.2, 0.7, 0.4, 0.4),
    "winter": (2.2, 1.8, 1.0, 0.4, 0.2, 0.2, 0.2, 0.2, 0.5, 1.4, 2.6, 2.2),
    "newyear": (2.5, 1.6, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.9, 1.0, 1.2, 1.6),
}
# name, category, spec, launch YYMM, cost, price, popularity, platforms, season
DESIGNS = (
    ("纯棉圆领短袖T恤", "01", "M", "2403", 26, 79, 9, "TB TM DY PDD", "summer"),
    ("冰丝防晒衣", "01", "L", "2404", 45, 129, 5, "TB TM DY", "summer"),
    ("高腰阔腿牛仔裤", "01", "M", "2309", 62, 169, 4, "TM DY", ""),
    ("轻薄羽绒服", "01", "L", "2310", 168, 459, 5, "TM JD DY", "winter"),
    ("针织开衫", "01", "S", "2508", 55, 139, 3, "TM DY", ""),
    ("蓝牙降噪耳机", "02", "BK", "2311", 128, 299, 6, "TM JD", ""),
    ("20000mAh充电宝", "02", "WH", "2402", 58, 129, 6, "TB JD PDD", ""),
    ("65W氮化镓充电器", "02", "WH", "2405", 36, 99, 5, "TB TM JD", ""),
    ("87键机械键盘", "02", "87", "2406", 188, 249, 2, "JD TM", ""),
    ("智能运动手表", "02", "BK", "2603", 330, 599, 3, "DY JD", ""),
    ("玻尿酸补水面膜10片", "03", "10P", "2312", 22, 89, 8, "TB TM DY PDD", ""),
    ("烟酰胺精华液30ml", "03", "30ML", "2401", 46, 199, 5, "TM DY", ""),
    ("氨基酸洗面奶", "03", "120G", "2311", 18, 69, 5, "TB DY PDD", ""),
    ("持妆粉底液", "03", "30ML", "2406", 62, 239, 3, "TM DY", ""),
    ("每日坚果礼盒", "04", "750G", "2310", 56, 99, 6, "TB TM JD PDD", "newyear"),
    ("云南小粒咖啡豆", "04", "500G", "2402", 34, 79, 3, "JD TB", ""),
    ("低糖燕麦片", "04", "1KG", "2401", 22, 29.9, 4, "TB PDD JD", ""),
    ("手撕牛肉干", "04", "250G", "2405", 40, 88, 3, "DY PDD", "newyear"),
    ("纯棉四件套", "05", "K", "2309", 118, 299, 3, "TM JD PDD", ""),
    ("记忆棉枕头", "05", "STD", "2403", 42, 129, 4, "TB TM JD", ""),
    ("收纳箱三件套", "05", "3P", "2406", 24, 69, 3, "TB PDD", ""),
    ("香薰加湿器", "05", "WH", "2310", 52, 159, 3, "TM JD DY", "winter"),
)
BRAND = "云栖"
LISTING_TITLES = {  # design → its listings' title (≤ 60 bytes in GBK, no absolute terms)
    "纯棉圆领短袖T恤": "云栖纯棉圆领短袖T恤男女同款夏季宽松百搭打底衫", "冰丝防晒衣": "云栖冰丝防晒衣女夏季防紫外线透气薄款外套UPF50+",
    "高腰阔腿牛仔裤": "云栖高腰阔腿牛仔裤女春秋显瘦直筒拖地长裤", "轻薄羽绒服": "云栖轻薄羽绒服女短款白鸭绒冬季保暖立领外套",
    "针织开衫": "云栖针织开衫女秋季V领长袖薄款外搭毛衣", "蓝牙降噪耳机": "云栖蓝牙降噪耳机头戴式无线主动降噪长续航",
    "20000mAh充电宝": "云栖充电宝20000mAh大容量快充移动电源双向22.5W", "65W氮化镓充电器": "云栖65W氮化镓充电器多口快充头适用手机笔记本",
    "87键机械键盘": "云栖87键机械键盘热插拔红轴有线游戏办公键盘", "智能运动手表": "云栖智能运动手表心率监测防水蓝牙通话男女款",
    "玻尿酸补水面膜10片": "云栖玻尿酸补水面膜10片保湿滋润男女学生", "烟酰胺精华液30ml": "云栖烟酰胺精华液30ml提亮肤色面部精华",
    "氨基酸洗面奶": "云栖氨基酸洗面奶温和清洁男女控油洁面乳120g", "持妆粉底液": "云栖持妆粉底液30ml遮瑕控油干油皮适用",
    "每日坚果礼盒": "云栖每日坚果礼盒750g混合果仁零食年货送礼", "云南小粒咖啡豆": "云栖云南小粒咖啡豆500g中度烘焙现磨黑咖啡",
    "低糖燕麦片": "云栖低糖燕麦片1kg即食冲饮营养早餐", "手撕牛肉干": "云栖手撕牛肉干250g风干五香休闲零食",
    "纯棉四件套": "云栖纯棉四件套全棉床单被套床上用品1.8m床", "记忆棉枕头": "云栖记忆棉枕头慢回弹单人枕芯成人家用",
    "收纳箱三件套": "云栖收纳箱三件套塑料加厚衣物整理箱带盖", "香薰加湿器": "云栖香薰加湿器家用静音卧室大雾量空气加湿",
}
# ---- planted faults, one listing (design, platform) or supplier each, for the goods playbooks to find
FORBIDDEN_TITLE = ("记忆棉枕头", "TB")  # an absolute term of the Advertising Law (最) in the title
LONG_TITLE = ("低糖燕麦片", "PDD")  # a title of 68 bytes in GBK (the limit is 60)
TITLES = {  # listings whose titles break the listing rules (absolute term, length)
    FORBIDDEN_TITLE: "云栖记忆棉枕头 全网最舒适 护颈助眠",
    LONG_TITLE: "云栖低糖燕麦片1kg 即食冲饮早餐代餐 饱腹无蔗糖添加 学生上班族营养麦片",
}
FEW_IMAGES = ("氨基酸洗面奶", "PDD")  # 3 main images (at least 5 wanted)
SKU_CODES = {("收纳箱三件套", "TB"): "TB-05-3P-2460"}  # a malformed SKU code: month 60 (typed for 2406)
BAD_SKU_CODE = next(iter(SKU_CODES))
QUALIFIED = ("食品", "美妆")  # categories whose listings keep a qualification on file (and 3C chargers: CCC)
EXPIRED_QUALIFICATION = ("烟酰胺精华液30ml", "DY")  # its 化妆品备案 lapsed 18 days before the sample's end
EXPIRING_QUALIFICATION = ("手撕牛肉干", "DY")  # its 食品生产许可 lapses 12 days after the sample's end
PRICE_BELOW_COST = ("87键机械键盘", "JD")  # cost raised to 258 after a supplier price rise, price still 249
NEGATIVE_MARGIN = ("冰丝防晒衣", "TM")  # cost 125 against a price of 129: with discounts and refunds a loss
COSTS = {PRICE_BELOW_COST: 258.0, NEGATIVE_MARGIN: 125.0}  # products.cost as recorded (the generator draws with DESIGNS)
HIGH_REFUND = ("高腰阔腿牛仔裤", "DY")  # sizes run small: 28 % of completed lines refunded
HIGH_REFUND_RATE = 0.28
LOW_CONVERSION = ("蓝牙降噪耳机", "TM")  # six times the visitors over the last 90 days, hardly more buyers
LOW_CONVERSION_DAYS = 90
OVERSOLD = ("针织开衫", "TM")  # platform stock set by hand over the last 5 days, above the warehouse's stock
SLOW_MOVER = ("云南小粒咖啡豆", "JD")  # delisted quietly: no sales in the last 50 days
# a stockout of a hot SKU: the two best sellers of the latest big promotion (`_hot_skus`) run dry during it, and
# campaign CP-2605-TM (`_mark_faults`) has a promo price that is not below the 30-day low

# suppliers: id, name, months of cooperation at the sample's end, the shop's recorded tier, promised lead time (days),
# share of orders delivered late, defect rate, weekly capacity as a multiple of its average weekly order
SUPPLIERS = (
    ("SUP01", "杭州织里服饰有限公司", 62, "核心", 6, 0.05, 0.006, 3.0),
    ("SUP02", "广州白马制衣厂", 8, "备选", 7, 0.10, 0.012, 2.0),
    ("SUP03", "深圳华强北电子科技有限公司", 46, "核心", 6, 0.05, 0.004, 3.0),
    ("SUP04", "东莞速能电子有限公司", 27, "核心", 6, 0.06, 0.07, 2.5),
    ("SUP05", "广州美研生物科技有限公司", 52, "核心", 6, 0.04, 0.003, 3.0),
    ("SUP06", "临沂好味食品有限公司", 33, "核心", 5, 0.75, 0.005, 2.5),
    ("SUP07", "云南山林食品有限公司", 15, "备选", 7, 0.08, 0.008, 2.0),
    ("SUP08", "南通宜眠家纺有限公司", 40, "核心", 6, 0.06, 0.005, 3.0),
    ("SUP09", "台州优居日用品有限公司", 21, "备选", 6, 0.10, 0.010, 2.0),
    ("SUP10", "宁波智联电器有限公司", 4, None, 7, 0.15, 0.015, 1.5),
    ("SUP11", "杭州植萃化妆品有限公司", 11, "备选", 7, 0.08, 0.006, 2.0),
)
SUPPLY = {row[0]: row for row in SUPPLIERS}
LATE_SUPPLIER = "SUP06"  # promised 5 days, three orders in four arrive 2–6 days late
DEFECTIVE_SUPPLIER = "SUP04"  # 7 % of the units it delivers are defective
SINGLE_SOURCED = "玻尿酸补水面膜10片"  # every listing of this design is bought from one supplier only
SOURCING = {  # design → (main supplier, backup taking every third order)
    "纯棉圆领短袖T恤": ("SUP01", "SUP02"), "冰丝防晒衣": ("SUP01", "SUP02"), "高腰阔腿牛仔裤": ("SUP01", "SUP02"),
    "轻薄羽绒服": ("SUP01", "SUP02"), "针织开衫": ("SUP02", "SUP01"), "蓝牙降噪耳机": ("SUP03", "SUP10"),
    "20000mAh充电宝": ("SUP04", "SUP10"), "65W氮化镓充电器": ("SUP04", "SUP10"), "87键机械键盘": ("SUP03", "SUP10"),
    "智能运动手表": ("SUP03", "SUP10"), SINGLE_SOURCED: ("SUP05", None), "烟酰胺精华液30ml": ("SUP05", "SUP11"),
    "氨基酸洗面奶": ("SUP11", "SUP05"), "持妆粉底液": ("SUP05", "SUP11"), "每日坚果礼盒": ("SUP06", "SUP07"),
    "云南小粒咖啡豆": ("SUP07", "SUP06"), "低糖燕麦片": ("SUP06", "SUP07"), "手撕牛肉干": ("SUP06", "SUP07"),
    "纯棉四件套": ("SUP08", "SUP09"), "记忆棉枕头": ("SUP08", "SUP09"), "收纳箱三件套": ("SUP09", "SUP08"),
    "香薰加湿器": ("SUP10", "SUP09"),
}
# 选品候选: id, name, category, monthly search, search growth (m/m), cost, price, supplier (None: a new one, 0 months
# of cooperation), qualifications complete, notes
CANDIDATES = (
    ("XP-01", "夏季新款雪纺连衣裙", "服饰", 65_000, 0.12, 58.0, 139.0, None, True, "新供应商，已提供质检报告"),
    ("XP-02", "便携榨汁杯", "家居", 128_000, 0.18, 39.0, 99.0, "SUP09", True, None),
    ("XP-03", "冰丝凉感四件套", "家居", 56_000, 0.09, 128.0, 259.0, "SUP08", True, "夏季款，6 月前上架"),
    ("XP-04", "磁吸无线充电宝", "3C数码", 100_000, 0.07, 62.0, 109.0, "SUP03", True, "CCC 证书已提供"),
    ("XP-05", "UPF50+防晒冰袖", "服饰", 42_000, 0.11, 45.0, 79.0, "SUP02", True, None),
    ("XP-06", "桂花乌龙冷泡茶", "食品", 35_000, 0.22, 21.0, 59.0, "SUP07", False, "SC 生产许可证待补"),
    ("XP-07", "硅胶手机壳", "3C数码", 150_000, 0.04, 6.0, 29.0, "SUP03", True, "红海类目"),
    ("XP-08", "平价保温杯", "家居", 210_000, 0.15, 33.0, 46.0, "SUP09", True, None),
    ("XP-09", "电子体温计", "医疗器械", 95_000, 0.06, 18.0, 49.0, "SUP03", True, "二类医疗器械注册证已提供"),
    ("XP-10", "手工皂礼盒", "美妆", 8_000, 0.06, 25.0, 49.0, "SUP11", True, None),
    ("XP-11", "车载香薰", "家居", 4_500, 0.07, 15.0, 26.0, None, True, None),
    ("XP-12", "加厚珊瑚绒睡衣", "服饰", 90_000, -0.12, 55.0, 149.0, "SUP01", True, "冬季款"),
    ("XP-13", "迷你暖风机", "3C数码", 60_000, 0.25, 68.0, 139.0, "SUP10", True, "CCC 证书已提供"),
)
CANDIDATE_CASES = {  # what 选品评估 should say with its default bands (demand + margin + supply, of 15)
    "XP-01": "4 + 5 + 3 = 12 → 小批量试销 (the seed's example: a new supplier with qualifications)",
    "XP-02": "5 + 5 + 5 = 15 → 引入",
    "XP-03": "4 + 5 + 5 = 14 → 引入",
    "XP-04": "5 (exactly 100,000 searches) + 4 + 5 = 14 → 引入 (a charger: CCC on file)",
    "XP-05": "3 + 4 + 4 = 11 → 小批量试销",
    "XP-06": "3 + 5 + 5 = 13, but 食品 without its qualification → 放弃 (not listable)",
    "XP-07": "5 + 5 + 5 = 15, but search growth 4 % ≤ 5 % → 放弃 (gate)",
    "XP-08": "5 + 2 + 5 = 12, but gross margin 28.3 % ≤ 30 % → 放弃 (gate)",
    "XP-09": "4 + 5 + 5 = 14 → 引入 (医疗器械 with its registration)",
    "XP-10": "2 + 4 + 4 = 10 → 小批量试销 (the lowest trial score)",
    "XP-11": "1 + 4 + 3 = 8 → 放弃 (score below 10)",
    "XP-12": "4 + 5 + 5 = 14, but search growth −12 % → 放弃 (gate)",
    "XP-13": "4 + 5 + 3 = 12 → 小批量试销 (a supplier of 4 months counts as new)",
}
PROMO_RANGE = {"大促": (0.70, 0.82), "日常": (0.82, 0.90), "新品": (0.85, 0.92)}  # promo / list price
LINES_P = (0.80, 0.15, 0.05)
HOUR_W = np.array([3.0, 1.6, 0.8, 0.4, 0.3, 0.3, 0.6, 1.2, 2.0, 3.2, 4.2, 4.3,
                   3.8, 4.0, 4.3, 4.4, 4.2, 3.9, 3.8, 4.6, 5.8, 6.4, 5.9, 4.2])
PROVINCES = (("广东", "广州", 6), ("广东", "深圳", 6), ("浙江", "杭州", 6), ("浙江", "宁波", 3), ("江苏", "南京", 4),
             ("江苏", "苏州", 4), ("上海", "上海", 6), ("北京", "北京", 5), ("山东", "青岛", 3), ("山东", "济南", 2),
             ("四川", "成都", 4), ("湖北", "武汉", 3), ("福建", "厦门", 2), ("河南", "郑州", 3), ("湖南", "长沙", 2),
             ("陕西", "西安", 2), ("重庆", "重庆", 3), ("天津", "天津", 2), ("安徽", "合肥", 2), ("辽宁", "沈阳", 2))
PHONE_PREFIX = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155", "157",
                "158", "159", "166", "176", "177", "180", "181", "182", "183", "185", "186", "187", "188", "189",
                "191", "198", "199")
STATUSES = ("unpaid", "paid", "shipped", "completed", "closed", "refunded")
UNPAID, PAID, SHIPPED, COMPLETED, CLOSED, REFUNDED = range(6)
STATUS_BANDS = (  # (max age in hours, statuses, probabilities)
    (24, (UNPAID, PAID, SHIPPED), (0.08, 0.80, 0.12)),
    (72, (CLOSED, PAID, SHIPPED), (0.05, 0.25, 0.70)),
    (240, (CLOSED, SHIPPED, COMPLETED), (0.05, 0.55, 0.40)),
    (np.inf, (CLOSED, COMPLETED), (0.05, 0.95)),
)
REFUND_RATE = (0.10, 0.05, 0.04, 0.03, 0.05)  # per category 01..05
CHANNELS = {  # platform → (channel, share of platform GMV it claims, typical ROI)
    "TB": (("直通车", 0.18, 3.6), ("万相台", 0.14, 2.8), ("引力魔方", 0.06, 2.1)),
    "TM": (("直通车", 0.18, 3.6), ("万相台", 0.14, 2.8), ("引力魔方", 0.06, 2.1)),
    "JD": (("京东快车", 0.25, 3.1),), "DY": (("巨量千川", 0.42, 2.3),), "PDD": (("多多搜索", 0.30, 3.3),),
}
LIVE_SHARE = (0.08, 0.10, 0.04, 0.45, 0.03)
SPRING_FESTIVAL = ("2020-01-25", "2021-02-12", "2022-02-01", "2023-01-22", "2024-02-10", "2025-01-29",
                   "2026-02-17", "2027-02-06", "2028-01-26", "2029-02-13", "2030-02-03")
NEW_SHARE = (0.52, 0.66)  # share of orders placed by first-time buyers: normal days, big-promo days
PROPENSITY_SIGMA = 1.3
PROPENSITY_CAP = 30.0  # keeps the most loyal customer plausible at any shop size
CROSS_PLATFORM = 0.05
FAKE_SHARE = 0.003
ORDER_SEQ_BASE = 31_415_926  # order numbers do not start at zero
DAY_US = 86_400_000_000
UTC_OFFSET_S = 8 * 3600  # Asia/Shanghai has no DST


@dataclass
class _Catalog:
    """Product listings: one SKU per design and platform."""

    frame: pd.DataFrame
    plat: np.ndarray
    cat: np.ndarray
    price: np.ndarray
    cost: np.ndarray
    weight: np.ndarray
    season: np.ndarray
    launch: np.ndarray
    stop: np.ndarray
    design: np.ndarray
    refund: np.ndarray


@dataclass
class _Customers:
    """Per-platform customer pools that grow as first orders arrive; customers are numbered by first purchase."""

    cumw: list
    number: list
    size: np.ndarray
    total: int
    width: int
    salt: np.uint64


@dataclass
class _Tally:
    """Totals gathered while writing orders, needed by the other tables."""

    buyers: np.ndarray
    gmv: np.ndarray
    sold: np.ndarray
    coupons: np.ndarray
    sku_gmv: np.ndarray  # per SKU and day, real order lines: paid amount, paid lines, all lines and their amount, refunds
    sku_paid: np.ndarray
    sku_lines: np.ndarray
    sku_amount: np.ndarray
    sku_refund: np.ndarray


@dataclass
class _World:
    """Everything fixed before the orders are drawn."""

    dates: np.ndarray
    season: np.ndarray
    cat: _Catalog
    price: np.ndarray
    camps: list
    grid: np.ndarray
    sku_of: list
    sku_cum: list
    expected: np.ndarray
    counts: np.ndarray
    cust: _Customers
    fakes: dict
    rngs: dict
    tally: _Tally = field(init=False)
    shop_uv: np.ndarray = field(init=False)  # visitors per platform and day (before the planted export gaps)

    @property
    def n(self) -> int:
        """Number of days."""
        return len(self.dates)


def generate(orders: int, out: str | Path, seed: int = 7, start: str = "2024-07-01",
             end: str = "2026-06-30") -> dict[str, int]:
    """Write a demo shop of about `orders` order lines into folder `out`, a parquet per table; return rows per table."""
    if not 1 <= orders <= 500_000_000:
        raise ValueError("orders must be between 1 and 500,000,000 order lines")
    world = _world(int(orders), seed, start, end)
    out = paths.resolve(out)  # relative to the project root, like every source location
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        rows = {"orders": _write_orders(world, tmp / "orders.parquet")}
        small = _small_tables(world)
        small |= sample_ops.tables(tmp / "orders.parquet", small, seed, end)
        for name, frame in small.items():
            frame.to_parquet(tmp / f"{name}.parquet", index=False)
            rows[name] = len(frame)
        out.mkdir(exist_ok=True)
        for name in rows:
            os.replace(tmp / f"{name}.parquet", out / f"{name}.parquet")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {name: rows[name] for name in SCHEMAS if name in rows}


# ---------------------------------------------------------------- world set-up

def _world(lines: int, seed: int, start: str, end: str) -> _World:
    """Draw the catalogue, calendar, campaigns, prices, customers and daily order counts."""
    rngs = dict(zip(("price", "camp", "count", "cust", "fake", "orders", "traffic", "ads", "stock", "listing", "supply"),
                    np.random.default_rng(seed).spawn(11)))  # streams added at the end leave the others as they were
    dates = np.arange(np.datetime64(start, "D"), np.datetime64(end, "D") + 1)
    if len(dates) < 1:
        raise ValueError("end must not be before start")
    cat = _catalog(dates)
    season = _season(dates)
    price = _price_table(rngs["price"], cat, len(dates))
    camps = _campaign_specs(dates, cat)
    _promo_prices(rngs["camp"], camps, cat, price)
    grid = _campaign_grid(camps, len(dates))
    sku_of, sku_cum = _sku_weights(cat, dates)
    fakes = _fake_episodes(rngs["fake"], cat, price, round(lines * FAKE_SHARE), len(dates))
    regular = max(0, lines - int(fakes["size"].sum())) / np.dot(LINES_P, (1, 2, 3))
    expected = _expected_orders(season, grid, camps, sku_cum, regular)
    counts = rngs["count"].poisson(expected)
    cust = _customers(rngs["cust"], counts, len(fakes["day"]))
    world = _World(dates, season, cat, price, camps, grid, sku_of, sku_cum, expected, counts, cust, fakes, rngs)
    per_sku = [np.zeros((len(cat.plat), len(dates))) for _ in range(6)]
    world.tally = _Tally(np.zeros((5, len(dates))), np.zeros((5, len(dates))), per_sku[0],
                         np.zeros(len(camps), np.int64), *per_sku[1:])
    return world


def _months(dates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month (1-12) and day of month of each date."""
    m = dates.astype("datetime64[M]")
    return (m.astype("datetime64[Y]").astype(int) + 1970, m.astype(int) % 12 + 1,
            (dates - m.astype("datetime64[D]")).astype(int) + 1)


def _catalog(dates: np.ndarray) -> _Catalog:
    """One listing per design and platform, with SKU codes like TB-01-M-2504."""
    rows = []
    for d, (name, cat, spec, yymm, cost, price, pop, plats, season) in enumerate(DESIGNS):
        for p in plats.split():
            level = PRICE_LEVEL[p]
            listed = price if level == 1 else float(_price_point(np.array(price * level)))
            launch = np.datetime64(f"20{yymm[:2]}-{yymm[2:]}-01") + LAUNCH_OFFSET[p]
            rows.append(dict(sku=SKU_CODES.get((name, p), f"{p}-{cat}-{spec}-{yymm}"), name=BRAND + name,
                             category=CATEGORIES[cat], cost=float(cost), price=round(listed, 2), launch_date=launch,
                             platform=p, title=TITLES.get((name, p), LISTING_TITLES[name]),
                             _plat=PLATS.index(p), _cat=int(cat) - 1, _w=pop * FIT[p][int(cat) - 1],
                             _season=season, _design=d, _stop=(name, p) == SLOW_MOVER,
                             _refund=HIGH_REFUND_RATE if (name, p) == HIGH_REFUND else REFUND_RATE[int(cat) - 1]))
    frame = pd.DataFrame(rows)
    assert frame["sku"].is_unique and (frame["cost"] < frame["price"]).all()
    launch = ((frame["launch_date"].to_numpy().astype("datetime64[D]") - dates[0]).astype(int))
    stop = np.where(frame["_stop"] & (len(dates) > 100), len(dates) - 50, len(dates) + 1)
    frame["launch_date"] = frame["launch_date"].astype("datetime64[us]")
    return _Catalog(frame[[c for c in frame if not c.startswith("_")]], frame["_plat"].to_numpy(), frame["_cat"].to_numpy(),
                    frame["price"].to_numpy(), frame["cost"].to_numpy(), frame["_w"].to_numpy(float),
                    np.array([SEASONS[s] for s in frame["_season"]]), launch, stop, frame["_design"].to_numpy(),
                    frame["_refund"].to_numpy(float))


def _price_point(x: np.ndarray) -> np.ndarray:
    """A shop-style price just under x (…x.9), or x to the cent when tiny."""
    return np.where(x >= 2, np.floor(x) - 0.1, np.round(x, 2)).round(2)


def _season(dates: np.ndarray) -> np.ndarray:
    """Relative daily demand: growth, weekly rhythm, 618, 双11, 双12 and the Spring Festival dip."""
    years = (dates - dates[0]).astype(int) / 365.25
    weekday = np.array([0.95, 0.96, 0.97, 0.98, 1.02, 1.08, 1.06])[(dates.astype(int) + 3) % 7]
    return np.exp(0.25 * years) * weekday * _promo_factor(dates) * _spring_factor(dates)


def _promo_factor(dates: np.ndarray) -> np.ndarray:
    """Shopping-festival uplift by calendar day (presale, peaks, post-festival lull)."""
    y, m, d = _months(dates)
    presale = np.where(y >= 2025, 15, 20)
    rules = (
        ((m == 3) & (d >= 6) & (d <= 8), 1.3), ((m == 5) & (d < 20), 0.9), ((m == 5) & (d >= 20), 1.3),
        ((m == 6) & (d <= 17), 2.0), ((m == 6) & ((d == 1) | (d == 16) | (d == 17)), 2.8),
        ((m == 6) & (d == 18), 5.5), ((m == 6) & (d > 18), 0.95), (m == 7, 0.92),
        ((m == 10) & (d < presale), 0.9), ((m == 10) & (d >= presale), 1.3), ((m == 10) & (d == 31), 2.6),
        ((m == 11) & (d <= 3), 2.8), ((m == 11) & (d >= 4) & (d <= 9), 1.8), ((m == 11) & (d == 10), 2.8),
        ((m == 11) & (d == 11), 7.0), ((m == 11) & (d >= 12) & (d <= 20), 0.88), ((m == 12) & (d < 10), 0.92),
        ((m == 12) & (d >= 10) & (d <= 12), 1.35),
    )
    factor = np.ones(len(dates))
    for mask, value in rules:
        factor[mask] = value
    return factor


def _spring_factor(dates: np.ndarray) -> np.ndarray:
    """Spring Festival: 年货 buying before, a courier-capacity dip around, slow recovery after."""
    factor = np.ones(len(dates))
    for day in SPRING_FESTIVAL:
        rel = (dates - np.datetime64(day)).astype(int)
        factor *= np.interp(rel, (-21, -20, -9, -8, -1, 0, 6, 7, 14), (1, 1.1, 1.1, 0.9, 0.45, 0.45, 0.6, 0.7, 1))
    return factor


def _price_table(rng: np.random.Generator, cat: _Catalog, n: int) -> np.ndarray:
    """Daily selling price per SKU: list price with a few short 限时折扣 spells a year."""
    table = np.repeat(cat.price[:, None], n, axis=1)
    for s in range(len(cat.price)):
        for _ in range(rng.poisson(3 * n / 365)):
            first, length = int(rng.integers(0, n)), int(rng.integers(3, 8))
            table[s, first:first + length] = round(cat.price[s] * rng.uniform(0.88, 0.95), 1)
    return table


# ---------------------------------------------------------------- campaigns

def _campaign_specs(dates: np.ndarray, cat: _Catalog) -> list[dict]:
    """The campaign calendar inside the period: 618 and 双11 per major platform, 日常 and 新品 campaigns."""
    specs = [*_festival_specs(dates), *_launch_specs(cat)]
    inside = [s for s in specs if dates[0] <= s["start"] and s["end"] <= dates[-1]]
    inside.sort(key=lambda s: (s["start"], s["p"]))
    kept, ids = [], set()
    for s in inside:
        if any(k["p"] == s["p"] and k["end"] >= s["start"] for k in kept):
            continue  # one campaign per platform at a time
        base = f"CP-{str(s['start'])[2:4]}{str(s['start'])[5:7]}-{s['platform']}"
        s["campaign_id"] = next(f"{base}{x}" for x in ("", "B", "C", "D", "E") if f"{base}{x}" not in ids)
        s["i0"], s["i1"] = (int((s[k] - dates[0]).astype(int)) for k in ("start", "end"))
        ids.add(s["campaign_id"])
        kept.append(s)
    _mark_faults(kept)
    return kept


def _festival_specs(dates: np.ndarray) -> list[dict]:
    """双11 (TM, JD, DY), 618 (TM, JD), 99划算节 (TB) and 年货节 (PDD) for every year touched."""
    specs = []
    for y in range(dates[0].astype("datetime64[Y]").astype(int) + 1970,
                   dates[-1].astype("datetime64[Y]").astype(int) + 1971):
        d11 = f"{y}-10-{15 if y >= 2025 else 20}"
        specs += [_spec(y, "双11", "大促", p, d11, f"{y}-11-11", c)
                  for p, c in (("TM", (300, 50)), ("JD", (199, 30)), ("DY", (150, 20)))]
        specs += [_spec(y, "618", "大促", p, f"{y}-05-20", f"{y}-06-18", c)
                  for p, c in (("TM", (300, 50)), ("JD", (199, 30)))]
        specs.append(_spec(y, "99划算节", "日常", "TB", f"{y}-09-05", f"{y}-09-09", (99, 10)))
        specs.append(_spec(y, "年货节", "日常", "PDD", f"{y}-01-10", f"{y}-01-20", (100, 20)))
    return specs


def _launch_specs(cat: _Catalog) -> list[dict]:
    """A week-long 新品首发 on the first platform of every design, two days after it is listed."""
    specs = []
    for d, design in enumerate(DESIGNS):
        p = design[7].split()[0]
        sku = int(np.flatnonzero((cat.design == d) & (cat.plat == PLATS.index(p)))[0])
        begin = cat.frame["launch_date"].to_numpy()[sku].astype("datetime64[D]") + 2
        year = int(begin.astype("datetime64[Y]").astype(int) + 1970)
        specs.append({**_spec(year, f"新品首发·{design[0]}", "新品", p, str(begin), str(begin + 6), None),
                      "feature": sku})
    return specs


def _spec(year: int, event: str, kind: str, plat: str, start: str, end: str, coupon) -> dict:
    """One campaign definition (dates as numpy days)."""
    return dict(name=f"{year}{PLATFORMS[plat]}{event}", platform=plat, p=PLATS.index(plat), kind=kind,
                start=np.datetime64(start, "D"), end=np.datetime64(end, "D"),
                threshold=coupon[0] if coupon else np.nan, discount=coupon[1] if coupon else np.nan,
                low_redemption=False, low_roi=False, price_fault=False)


def _mark_faults(camps: list[dict]) -> None:
    """Choose the campaigns that carry the review faults (low redemption, low ROI, price compliance)."""
    if not camps:
        return
    coupon = [c for c in camps if c["threshold"] == 100] or [c for c in camps if c["threshold"] == c["threshold"]]
    (coupon or camps)[0]["low_redemption"] = True
    big_dy = [c for c in camps if c["kind"] == "大促" and c["platform"] == "DY"]
    (big_dy or camps)[-1]["low_roi"] = True
    big_tm = [c for c in camps if c["kind"] == "大促" and c["platform"] == "TM"]
    (big_tm or camps)[-1]["price_fault"] = True


def _promo_prices(rng: np.random.Generator, camps: list[dict], cat: _Catalog, price: np.ndarray) -> None:
    """Give each campaign, in date order, 5–8 SKUs with promo prices written into the daily price table."""
    for c in camps:
        c["items"] = _campaign_promos(rng, c, cat, price)
        for s, promo in c["items"]:
            price[s, c["i0"]:c["i1"] + 1] = promo


def _campaign_promos(rng: np.random.Generator, c: dict, cat: _Catalog, price: np.ndarray) -> list[tuple[int, float]]:
    """Promo prices below the 30-day low and above cost; the planted fault is a "discount" that is not one."""
    i0, i1 = c["i0"], c["i1"]
    cands = np.flatnonzero((cat.plat == c["p"]) & (cat.launch <= i0) & (cat.stop > i1))
    if not len(cands):
        return []
    order = rng.choice(cands, len(cands), replace=False, p=_norm(cat.weight[cands]))
    forced = [s for s in cands if s == c.get("feature")] or ([cands[np.argmax(cat.weight[cands])]]
                                                              if c["price_fault"] else [])
    order = [*forced, *(s for s in order if s not in forced)]
    want, items = int(rng.integers(5, 9)), []
    for s in order:
        low = price[s, max(0, i0 - 30):i0].min() if i0 > 0 else cat.price[s]
        promo = float(_price_point(np.array(min(cat.price[s] * rng.uniform(*PROMO_RANGE[c["kind"]]), 0.97 * low))))
        if c["price_fault"] and s == forced[0]:
            flash = slice(max(0, i0 - 21), max(0, i0 - 7))  # a flash sale two weeks before the campaign
            price[s, flash] = np.minimum(price[s, flash], round(cat.price[s] * 0.85, 1))
            promo = round(cat.price[s] * 0.9, 1)
        elif promo < cat.cost[s] * 1.05:
            continue
        items.append((int(s), promo))
        if len(items) == want:
            break
    return items


def _campaign_grid(camps: list[dict], n: int) -> np.ndarray:
    """Campaign index per platform and day (-1 outside every campaign)."""
    grid = np.full((5, n), -1, np.int32)
    for i, c in enumerate(camps):
        grid[c["p"], c["i0"]:c["i1"] + 1] = i
    return grid


# ---------------------------------------------------------------- demand

def _sku_weights(cat: _Catalog, dates: np.ndarray) -> tuple[list, list]:
    """Per platform: its SKUs and their cumulative daily pick weights (launch, delisting, season)."""
    _, month, _ = _months(dates)
    days = np.arange(len(dates))
    sku_of, sku_cum = [], []
    for p in range(5):
        skus = np.flatnonzero(cat.plat == p)
        live = (days[:, None] >= cat.launch[skus]) & (days[:, None] < cat.stop[skus])
        w = cat.weight[skus] * cat.season[skus][:, month - 1].T * live
        sku_of.append(skus)
        sku_cum.append(np.cumsum(w, axis=1))
    return sku_of, sku_cum


def _expected_orders(season: np.ndarray, grid: np.ndarray, camps: list[dict], sku_cum: list,
                     total: float) -> np.ndarray:
    """Expected orders per platform and day, scaled to `total` orders."""
    n = len(season)
    trend = np.ones((5, n))
    trend[DY] = np.linspace(0.75, 1.35, n)  # Douyin grows its share
    boost = np.ones((5, n))
    for c in camps:
        if c["kind"] != "大促":
            boost[c["p"], c["i0"]:c["i1"] + 1] = 1.5
    selling = np.stack([cum[:, -1] > 0 for cum in sku_cum])
    shape = SHARE[:, None] * trend * boost * season[None, :] * selling
    return shape * total / shape.sum()


def _customers(rng: np.random.Generator, counts: np.ndarray, n_fake: int) -> _Customers:
    """Empty customer pools with a lognormal purchase propensity per future slot."""
    bound = counts.sum(1) + 1
    cumw = [np.cumsum(np.minimum(rng.lognormal(0, PROPENSITY_SIGMA, b), PROPENSITY_CAP)) for b in bound]
    width = max(6, len(str(int(bound.sum()) + n_fake)))
    return _Customers(cumw, [np.zeros(b, np.int64) for b in bound], np.zeros(5, np.int64), 0, width,
                      np.uint64(rng.integers(1, 2**63)))


def _hash(x: np.ndarray, salt: np.uint64) -> np.ndarray:
    """A well-mixed 64-bit hash of non-negative integers (splitmix64)."""
    with np.errstate(over="ignore"):
        z = x.astype(np.uint64) + salt
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _customer_ids(cust: _Customers, number: np.ndarray) -> pa.Array:
    """Pseudonymous ids like C000123 (1-based customer numbers)."""
    digits = pc.utf8_lpad(pa.array(number + 1).cast(pa.string()), cust.width, "0")
    return pc.binary_join_element_wise("C", digits, "")


def _masked_phones(cust: _Customers, number: np.ndarray) -> pa.Array:
    """Masked mobile numbers like 138****1234 (the middle four digits never exist anywhere)."""
    h = _hash(number, cust.salt)
    prefix = pa.array(PHONE_PREFIX).take(pa.array((h % np.uint64(len(PHONE_PREFIX))).astype(np.int64)))
    last4 = ((h >> np.uint64(20)) % np.uint64(10_000)).astype(np.int64)
    tail = pc.utf8_lpad(pa.array(last4).cast(pa.string()), 4, "0")
    return pc.binary_join_element_wise(prefix, tail, "****")


def _places(cust: _Customers, number: np.ndarray) -> np.ndarray:
    """Province/city index of each customer, drawn by population weight from the customer's hash."""
    u = (_hash(number, cust.salt ^ np.uint64(0x5EED)) >> np.uint64(11)).astype(np.float64) / 2.0**53
    return np.searchsorted(np.cumsum(_norm([w for *_, w in PROVINCES])), u, side="right").clip(0, len(PROVINCES) - 1)


def _norm(weights) -> np.ndarray:
    """Weights scaled to probabilities."""
    w = np.asarray(weights, float)
    return w / w.sum()


def _fake_episodes(rng: np.random.Generator, cat: _Catalog, price: np.ndarray, lines: int, n: int) -> dict:
    """Brushing episodes: one new account buys one cheap SKU many times within minutes."""
    k = max(1, round(lines / 16)) if lines >= 5 else 0  # below ~1,700 order lines a shop shows no brushing
    size = rng.integers(8, 25, k)
    day = rng.integers(0, max(1, n - 3), k)
    plat = rng.choice((TB, PDD, DY), k, p=(0.45, 0.35, 0.20))
    sku = np.array([_cheapest(cat, price, p, d) for p, d in zip(plat, day)], np.int64)
    keep = sku >= 0
    return dict(day=day[keep], plat=plat[keep], sku=sku[keep], size=size[keep],
                t0=rng.integers(9 * 3600, 21 * 3600, k)[keep])


def _cheapest(cat: _Catalog, price: np.ndarray, p: int, d: int) -> int:
    """The cheapest SKU on sale on platform p on day d (-1 if none)."""
    skus = np.flatnonzero((cat.plat == p) & (cat.launch <= d) & (cat.stop > d))
    return int(skus[np.argmin(price[skus, d])]) if len(skus) else -1


# ---------------------------------------------------------------- orders

def _chunks(world: _World) -> list[tuple[int, int]]:
    """Consecutive day ranges holding about CHUNK_LINES order lines each."""
    per_day = world.counts.sum(0) * np.dot(LINES_P, (1, 2, 3))
    np.add.at(per_day, world.fakes["day"], world.fakes["size"])
    group = (np.cumsum(per_day) - per_day) // CHUNK_LINES
    cuts = np.flatnonzero(np.diff(group)) + 1
    edges = [0, *cuts.tolist(), world.n]
    return list(zip(edges[:-1], edges[1:]))


def _write_orders(world: _World, path: Path) -> int:
    """Draw the order lines chunk by chunk and stream them into one parquet file."""
    schema = _order_schema()
    chunks = _chunks(world)
    rngs = world.rngs["orders"].spawn(len(chunks))
    rows, seq = 0, 0
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for (d0, d1), rng in zip(chunks, rngs):
            table, n_orders = _chunk(rng, world, d0, d1, seq)
            seq += n_orders
            writer.write_table(table, row_group_size=max(1, len(table)))
            rows += len(table)
    return rows


def _order_schema() -> pa.Schema:
    """Arrow schema of the orders file, columns in canonical order."""
    ts = pa.timestamp("us", tz=TZ_NAME)
    kinds = {"str": pa.string(), "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(), "datetime": ts}
    return pa.schema([(c.name, kinds[c.kind]) for c in SCHEMAS["orders"].values()])


def _chunk(rng: np.random.Generator, world: _World, d0: int, d1: int, seq0: int) -> tuple[pa.Table, int]:
    """All order lines of days [d0, d1) as an arrow table, and the number of orders (totals tallied)."""
    o = _chunk_orders(rng, world, d0, d1)
    o["seq"] = seq0 + np.arange(len(o["day"]))
    o["status"] = _order_status(rng, world, o)
    o["pay_delay"] = _pay_delay(rng, o)
    ln = _chunk_lines(rng, world, o)
    _price_lines(rng, world, o, ln)
    _tally(world, o, ln)
    return _arrow(world, o, ln), len(o["day"])


def _chunk_orders(rng: np.random.Generator, world: _World, d0: int, d1: int) -> dict:
    """Order-level arrays for days [d0, d1): regular shoppers plus brushing episodes, time-sorted."""
    c = world.counts[:, d0:d1].ravel()
    plat = np.repeat(np.repeat(np.arange(5), d1 - d0), c)
    day = np.repeat(np.tile(np.arange(d0, d1), 5), c)
    secs = _intraday(rng, world, day)
    f = world.fakes
    sel = (f["day"] >= d0) & (f["day"] < d1)
    size = f["size"][sel]
    gaps = rng.integers(15, 120, size.sum())
    ends = np.cumsum(gaps)
    offsets = ends - np.repeat(ends[np.cumsum(size) - size] - gaps[np.cumsum(size) - size], size)
    o = dict(plat=np.concatenate([plat, np.repeat(f["plat"][sel], size)]),
             day=np.concatenate([day, np.repeat(f["day"][sel], size)]),
             secs=np.concatenate([secs, np.repeat(f["t0"][sel], size) + offsets]),
             episode=np.concatenate([np.full(len(day), -1), np.repeat(np.flatnonzero(sel), size)]),
             fake=np.concatenate([np.zeros(len(day), bool), np.ones(size.sum(), bool)]),
             fixed=np.concatenate([np.full(len(day), -1), np.repeat(f["sku"][sel], size)]))
    o["ts"] = o["day"] * 86_400 + o["secs"]
    order = np.argsort(o["ts"], kind="stable")
    o = {k: v[order] for k, v in o.items()}
    o["cust"] = _assign_customers(rng, world, o)
    return o


def _intraday(rng: np.random.Generator, world: _World, day: np.ndarray) -> np.ndarray:
    """Seconds after midnight: evening-heavy profile, midnight rush on 618 / 双11 peak days."""
    hour = np.searchsorted(np.cumsum(HOUR_W) / HOUR_W.sum(), rng.random(len(day)), side="right")
    _, m, d = _months(world.dates)
    rush = ((m == 6) & ((d == 1) | (d == 18))) | ((m == 11) & ((d == 1) | (d == 11)))
    hour = np.where(rush[day] & (rng.random(len(day)) < 0.25), 0, hour)
    return hour * 3600 + rng.integers(0, 3600, len(day))


def _assign_customers(rng: np.random.Generator, world: _World, o: dict) -> np.ndarray:
    """Customer number per order: a first-time buyer, or a returning one picked by propensity from a pool."""
    cust, n = world.cust, len(o["day"])
    regular = o["episode"] < 0
    new_share = np.where(world.season[o["day"]] > 1.6, *NEW_SHARE)
    new = regular & (rng.random(n) < new_share)
    for p in range(5):
        mine = np.flatnonzero(regular & (o["plat"] == p))
        if len(mine) and cust.size[p] == 0:
            new[mine[0]] = True
    first = np.flatnonzero(new | (o["episode"] >= 0))
    first = first[(o["episode"][first] < 0) | _first_of_episode(o["episode"], first)]
    number = np.full(n, -1, np.int64)
    number[first] = cust.total + np.arange(len(first))
    cust.total += len(first)
    _returning(rng, cust, o, new, regular, number)
    episode = o["episode"] >= 0
    by_episode = dict(zip(o["episode"][first][o["episode"][first] >= 0], number[first][o["episode"][first] >= 0]))
    number[episode] = [by_episode[e] for e in o["episode"][episode]]
    return number


def _first_of_episode(episode: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Whether each position in idx is the first order of its brushing episode."""
    _, first = np.unique(episode[idx], return_index=True)
    mask = np.zeros(len(idx), bool)
    mask[first] = True
    return mask


def _returning(rng: np.random.Generator, cust: _Customers, o: dict, new: np.ndarray, regular: np.ndarray,
               number: np.ndarray) -> None:
    """Enrol this chunk's new customers in their pools and pick returning customers (mostly same platform)."""
    n = len(new)
    cross = rng.random(n) < CROSS_PLATFORM
    pool = np.where(cross, (o["plat"] + rng.integers(1, 5, n)) % 5, o["plat"])
    u = rng.random(n)
    before = np.zeros(n, np.int64)  # pool members that exist before each order
    for p in range(5):
        joins = np.flatnonzero(new & (o["plat"] == p))
        before[pool == p] = cust.size[p] + np.searchsorted(joins, np.flatnonzero(pool == p))
        cust.number[p][cust.size[p]:cust.size[p] + len(joins)] = number[joins]
        cust.size[p] += len(joins)
    pool = np.where(before > 0, pool, o["plat"])  # empty foreign pool: stay home
    for p in range(5):
        joins = np.flatnonzero(new & (o["plat"] == p))
        sel = regular & ~new & (pool == p)
        avail = cust.size[p] - len(joins) + np.searchsorted(joins, np.flatnonzero(sel))
        cw = cust.cumw[p]
        j = np.minimum(np.searchsorted(cw, u[sel] * cw[avail - 1], side="right"), avail - 1)
        number[sel] = cust.number[p][j]


def _order_status(rng: np.random.Generator, world: _World, o: dict) -> np.ndarray:
    """Order status from its age at the end of the period (recent: unpaid/paid/shipped; old: completed/closed)."""
    age = (world.n * 86_400 - o["ts"]) / 3600
    u = rng.random(len(age))
    status = np.full(len(age), COMPLETED, np.int8)
    lower = 0
    for upper, codes, probs in STATUS_BANDS:
        sel = (age >= lower) & (age < upper)
        pick = np.searchsorted(np.cumsum(probs), u[sel], side="right")
        status[sel] = np.array(codes)[np.minimum(pick, len(codes) - 1)]
        lower = upper
    status[o["fake"]] = np.where(age[o["fake"]] < 240, SHIPPED, COMPLETED)
    return status


def _pay_delay(rng: np.random.Generator, o: dict) -> np.ndarray:
    """Microseconds from order to payment: usually under a minute or two, brushing accounts pay at once."""
    delay = np.clip(rng.lognormal(np.log(40), 1.2, len(o["day"])), 3, 3600)
    delay = np.where(o["fake"], rng.uniform(3, 20, len(delay)), delay)
    return np.rint(delay).astype(np.int64) * 1_000_000


def _chunk_lines(rng: np.random.Generator, world: _World, o: dict) -> dict:
    """Order lines: 1–3 per order, distinct SKUs where possible, quantities."""
    n_lines = np.where(o["fake"], 1, rng.choice(3, len(o["day"]), p=LINES_P) + 1)
    oi = np.repeat(np.arange(len(n_lines)), n_lines)
    first = np.cumsum(n_lines) - n_lines
    line_no = np.arange(len(oi)) - first[oi] + 1
    plat, day = o["plat"][oi], o["day"][oi]
    sku = np.where(o["fixed"][oi] >= 0, o["fixed"][oi], _pick_skus(rng, world, plat, day))
    dup = (line_no > 1) & (sku == sku[first[oi]])
    sku[dup] = _pick_skus(rng, world, plat[dup], day[dup])
    food = world.cat.cat[sku] == 3
    qty = np.minimum(rng.geometric(np.where(food, 0.6, 0.8)), 6)
    qty[o["fake"][oi]] = 1
    return dict(oi=oi, first=first, line_no=line_no, plat=plat, day=day, sku=sku, qty=qty)


def _pick_skus(rng: np.random.Generator, world: _World, plat: np.ndarray, day: np.ndarray) -> np.ndarray:
    """A SKU per line from the platform's live SKUs, by that day's pick weights."""
    u = rng.random(len(plat))
    out = np.empty(len(plat), np.int64)
    for p in range(5):
        sel = np.flatnonzero(plat == p)
        cum = world.sku_cum[p][day[sel]]
        j = (cum < (u[sel] * cum[:, -1])[:, None]).sum(axis=1)
        out[sel] = world.sku_of[p][np.minimum(j, cum.shape[1] - 1)]
    return out


def _price_lines(rng: np.random.Generator, world: _World, o: dict, ln: dict) -> None:
    """Unit price, coupon and shop discounts, amount, line status and refunds."""
    oi = ln["oi"]
    ln["unit"] = world.price[ln["sku"], ln["day"]]
    gross = np.round(ln["unit"] * ln["qty"], 2)
    order_gross = np.bincount(oi, gross, minlength=len(o["day"]))
    camp = world.grid[o["plat"], o["day"]]
    o["camp"] = camp
    coupon = _coupons(rng, world, o, camp, order_gross)
    share = np.round(coupon[oi] * gross / order_gross[oi], 2)
    rest = coupon - np.bincount(oi, share, minlength=len(coupon))
    share[ln["first"]] += rest
    shop = np.where((rng.random(len(oi)) < 0.06) & (coupon[oi] == 0) & ~o["fake"][oi],
                    np.round(gross * rng.uniform(0.03, 0.10, len(oi)), 2), 0.0)
    ln["discount"] = np.clip(np.round(share + shop, 2), 0, gross)
    ln["amount"] = np.round(gross - ln["discount"], 2)
    ln["status"] = _line_status(rng, world, o, ln)
    refunded = ln["status"] == REFUNDED
    partial = np.round(ln["amount"] * rng.uniform(0.2, 0.8, len(oi)), 2)
    ln["refund"] = np.where(refunded, np.where(rng.random(len(oi)) < 0.8, ln["amount"], partial), 0.0)


def _coupons(rng: np.random.Generator, world: _World, o: dict, camp: np.ndarray, order_gross: np.ndarray):
    """Coupon discount per order (满X减Y of the running campaign, when the basket reaches it)."""
    threshold = np.array([c["threshold"] for c in world.camps] + [np.nan])[camp]
    off = np.array([c["discount"] for c in world.camps] + [0.0])[camp]
    use = (camp >= 0) & (order_gross >= np.nan_to_num(threshold, nan=np.inf)) & ~o["fake"]
    use &= rng.random(len(camp)) < 0.7
    paid = ~np.isin(o["status"], (UNPAID, CLOSED))
    world.tally.coupons += np.bincount(camp[use & paid], minlength=len(world.camps))[:len(world.camps)]
    return np.where(use, off, 0.0)


def _line_status(rng: np.random.Generator, world: _World, o: dict, ln: dict) -> np.ndarray:
    """Line status: the order's, with some completed lines refunded (more for apparel and after big promos)."""
    status = o["status"][ln["oi"]].copy()
    big = np.array([c["kind"] == "大促" for c in world.camps] + [False])[o["camp"][ln["oi"]]]
    rate = world.cat.refund[ln["sku"]] * np.where(big, 1.3, 1.0)
    refund = (status == COMPLETED) & (rng.random(len(status)) < rate) & ~o["fake"][ln["oi"]]
    status[refund] = REFUNDED
    return status


def _tally(world: _World, o: dict, ln: dict) -> None:
    """Add this chunk's buyers, paid GMV and sold quantities to the running totals."""
    t, n = world.tally, world.n
    paid_order = ~np.isin(o["status"], (UNPAID, CLOSED))
    real = paid_order & ~o["fake"]
    t.buyers += np.bincount(o["plat"][real] * n + o["day"][real], minlength=5 * n).reshape(5, n)
    fake_keys = np.unique(o["cust"][paid_order & o["fake"]] * 5 * n + o["plat"][paid_order & o["fake"]] * n
                          + o["day"][paid_order & o["fake"]]) % (5 * n)
    t.buyers += np.bincount(fake_keys, minlength=5 * n).reshape(5, n)
    line_real = real[ln["oi"]]
    t.gmv += np.bincount(ln["plat"][line_real] * n + ln["day"][line_real], ln["amount"][line_real],
                         minlength=5 * n).reshape(5, n)
    cell, size = ln["sku"] * n + ln["day"], t.sold.size
    t.sold += np.bincount(cell[line_real], ln["qty"][line_real], minlength=size).reshape(t.sold.shape)
    t.sku_gmv += np.bincount(cell[line_real], ln["amount"][line_real], minlength=size).reshape(t.sold.shape)
    t.sku_paid += np.bincount(cell[line_real], minlength=size).reshape(t.sold.shape)
    placed = ~o["fake"][ln["oi"]]
    t.sku_lines += np.bincount(cell[placed], minlength=size).reshape(t.sold.shape)
    t.sku_amount += np.bincount(cell[placed], ln["amount"][placed], minlength=size).reshape(t.sold.shape)
    t.sku_refund += np.bincount(cell[line_real], ln["refund"][line_real], minlength=size).reshape(t.sold.shape)


def _arrow(world: _World, o: dict, ln: dict) -> pa.Table:
    """The chunk's order lines as an arrow table in the canonical column order."""
    oi = pa.array(ln["oi"])
    y, m, d = _months(world.dates)
    yymmdd = (y % 100) * 10_000 + m * 100 + d
    number = (yymmdd[o["day"]] * 10 + o["plat"] + 1) * 1_000_000_000 + ORDER_SEQ_BASE + o["seq"]
    order_id = pa.array(number).cast(pa.string()).take(oi)  # e.g. 2506182031415926: date, platform, sequence
    day0_us = int(world.dates[0].astype(int)) * DAY_US - UTC_OFFSET_S * 1_000_000
    order_us = day0_us + o["ts"] * 1_000_000
    paid = ~np.isin(o["status"], (UNPAID, CLOSED))
    pay_us = order_us + o["pay_delay"]
    ts = pa.timestamp("us", tz=TZ_NAME)
    cust, camp = o["cust"][ln["oi"]], o["camp"][ln["oi"]]
    place = _places(world.cust, cust)
    cols = {
        "order_id": order_id,
        "line_id": pc.binary_join_element_wise(order_id, pa.array(ln["line_no"]).cast(pa.string()), "-"),
        "platform": pa.array(PLATS).take(pa.array(ln["plat"])),
        "customer_id": _customer_ids(world.cust, cust),
        "order_time": pa.array(order_us, ts).take(oi),
        "pay_time": pa.array(pay_us, ts, mask=~paid).take(oi),
        "sku": pa.array(world.cat.frame["sku"].tolist()).take(pa.array(ln["sku"])),
        "quantity": pa.array(ln["qty"].astype(np.int64)),
        "unit_price": pa.array(ln["unit"]),
        "amount": pa.array(ln["amount"]),
        "discount": pa.array(ln["discount"]),
        "refund_amount": pa.array(ln["refund"]),
        "status": pa.array(STATUSES).take(pa.array(ln["status"])),
        "campaign_id": pa.array([c["campaign_id"] for c in world.camps] or [""], pa.string()).take(
            pa.array(camp, mask=camp < 0)),
        "province": pa.array([p for p, _, _ in PROVINCES]).take(pa.array(place)),
        "city": pa.array([c for _, c, _ in PROVINCES]).take(pa.array(place)),
        "phone": _masked_phones(world.cust, cust),
        "is_fake": pa.array(o["fake"][ln["oi"]]),
    }
    return pa.Table.from_arrays(list(cols.values()), schema=_order_schema())


# ---------------------------------------------------------------- the other tables

def _small_tables(world: _World) -> dict[str, pd.DataFrame]:
    """Every table except orders, consistent with the orders just written."""
    ads = _ad_spend(world)  # first: campaign budgets follow the spend
    traffic = _traffic(world)  # before the listings' traffic, which shares out the shop's visitors
    listings = _listings(world)
    inventory, purchase_orders = _stock(world)
    return {"products": listings, "traffic_daily": traffic, "campaigns": _campaigns(world),
            "campaign_items": _campaign_items(world), "ad_spend": ads,
            "product_traffic": _product_traffic(world, listings), "inventory": inventory,
            "suppliers": _suppliers(world, purchase_orders), "purchase_orders": purchase_orders,
            "candidates": _candidates(world)}


def _day_column(days: np.ndarray) -> np.ndarray:
    """Plain dates as naive datetime64 (midnight)."""
    return days.astype("datetime64[D]").astype("datetime64[us]")


def _traffic(world: _World) -> pd.DataFrame:
    """Daily shop traffic per platform, consistent with paying buyers, with gaps and two red-line dips."""
    rng, n = world.rngs["traffic"], world.n
    buyers = world.tally.buyers

    def frac(lo, hi):
        """A random ratio per platform and day."""
        return rng.uniform(lo, hi, (5, n))

    conv = frac(0.024, 0.042) * np.where(world.season > 1.6, 1.25, 1.0)
    uv = np.maximum(np.rint(0.5 * (buyers + world.expected) / conv), np.ceil(buyers / 0.055))
    world.shop_uv = uv
    search = frac(0.30, 0.40)
    search[TB, max(0, n - 17):max(0, n - 10)] = rng.uniform(0.17, 0.23)  # recent search-share drop
    interact = frac(0.16, 0.30)
    interact[DY, max(0, n - 45):max(0, n - 40)] = rng.uniform(0.07, 0.12)  # live interaction dip
    live = np.rint(uv * np.array(LIVE_SHARE)[:, None] * frac(0.8, 1.2))
    cols = dict(uv=uv, pv=np.rint(uv * frac(2.6, 4.2)), bounce_uv=np.rint(uv * frac(0.38, 0.55)),
                cart_uv=np.maximum(np.rint(uv * frac(0.07, 0.12)), buyers), new_uv=np.rint(uv * frac(0.45, 0.62)),
                search_uv=np.rint(uv * search), live_uv=live, live_interactions=np.rint(live * interact))
    keep = np.ones((5, n), bool)
    if n > 80:
        keep[PDD, [n - 75, n - 74, n - 31]] = False  # export gaps
    keep = keep.T.ravel()
    frame = pd.DataFrame({"date": _day_column(np.repeat(world.dates, 5))[keep],
                          "platform": pd.array(np.tile(PLATS, n)[keep], dtype="str")})
    for name, values in cols.items():
        frame[name] = values.T.ravel()[keep].astype(np.int64)
    return frame


def _listings(world: _World) -> pd.DataFrame:
    """The products table: each listing with its platform item id, title, main images, the expiry of its qualification
    (sensitive categories only) and its cost as recorded, planted faults included."""
    rng, cat = world.rngs["listing"], world.cat
    frame = cat.frame.copy()
    keys = [(DESIGNS[d][0], p) for d, p in zip(cat.design, frame["platform"])]
    frame["cost"] = [COSTS.get(k, c) for k, c in zip(keys, frame["cost"])]
    frame["product_id"] = pd.array(_product_ids(cat), dtype="str")
    images = rng.integers(5, 10, len(frame))
    qualified = frame["category"].isin(QUALIFIED).to_numpy() | frame["name"].str.contains("充电").to_numpy()
    expiry = world.dates[-1] + rng.integers(90, 1000, len(frame))
    for key, value in ((FEW_IMAGES, 3),):
        if (i := _listing(cat, key)) is not None:
            images[i] = value
    for key, days in ((EXPIRED_QUALIFICATION, -18), (EXPIRING_QUALIFICATION, 12)):
        if (i := _listing(cat, key)) is not None:
            expiry[i] = world.dates[-1] + days
    frame["main_images"] = images.astype(np.int64)
    frame["qualification_expiry"] = pd.Series(_day_column(expiry)).where(qualified)
    frame = frame.astype({"sku": "str", "name": "str", "category": "str", "platform": "str", "title": "str"})
    return frame[list(SCHEMAS["products"])]


PRODUCT_IDS = {"TB": ("6", 12), "TM": ("7", 12), "JD": ("100", 12), "DY": ("3", 19), "PDD": ("5", 12)}  # prefix, digits


def _product_ids(cat: _Catalog) -> list[str]:
    """Platform item ids (商品ID) in each platform's style: 12 digits, Douyin's 19."""
    h = _hash(np.arange(len(cat.plat)), np.uint64(0x600D5))
    out = []
    for p, v in zip(cat.plat, h):
        prefix, digits = PRODUCT_IDS[PLATS[p]]
        out.append(prefix + str(int(v) % 10 ** (digits - len(prefix))).zfill(digits - len(prefix)))
    return out


def _product_traffic(world: _World, listings: pd.DataFrame) -> pd.DataFrame:
    """Visitors and buyers per listing and day (生意参谋's 商品 report): the platform's visitors shared out by each
    listing's pull that day, buyers, payments and refunds those of its order lines; one listing draws traffic it
    does not convert (`LOW_CONVERSION`)."""
    rng, n, cat, t = world.rngs["listing"], world.n, world.cat, world.tally
    _, month, _ = _months(world.dates)
    pull = np.zeros((len(cat.plat), n))
    for p in range(5):
        pull[world.sku_of[p]] = np.diff(world.sku_cum[p], axis=1, prepend=0).T
    listed = np.arange(n)[None, :] >= cat.launch[:, None]
    pull = np.where(listed & (pull == 0), 0.1 * cat.weight[:, None] * cat.season[:, month - 1], pull)  # out of search
    total = np.zeros((5, n))
    np.add.at(total, cat.plat, pull)
    share = pull / np.where(total > 0, total, 1)[cat.plat]

    def frac(lo, hi):
        """A random ratio per listing and day."""
        return rng.uniform(lo, hi, pull.shape)

    buyers, ordered = t.sku_paid, np.maximum(t.sku_lines, t.sku_paid)
    uv = np.rint(world.shop_uv[cat.plat] * 0.95 * share * rng.lognormal(0, 0.2, pull.shape))
    odd = _listing(cat, LOW_CONVERSION)
    if odd is not None:
        uv[odd, -LOW_CONVERSION_DAYS:] *= 6
    uv = np.maximum(uv, np.ceil(ordered / 0.25))
    cols = dict(uv=uv, pv=np.rint(uv * frac(1.3, 2.3)), pay_buyers=buyers, pay_amount=np.round(t.sku_gmv, 2),
                refund_amount=np.round(t.sku_refund, 2), fav_uv=np.rint(uv * frac(0.015, 0.05)),
                cart_uv=np.minimum(np.maximum(np.rint(uv * frac(0.05, 0.10)), ordered), uv), order_buyers=ordered,
                order_amount=np.round(np.maximum(t.sku_amount, t.sku_gmv), 2), search_uv=np.rint(uv * frac(0.25, 0.45)))
    cols["search_pay_buyers"] = np.minimum(rng.binomial(buyers.astype(np.int64), frac(0.25, 0.5)), cols["search_uv"])
    t_idx, s_idx = np.nonzero(listed.T)
    frame = pd.DataFrame({"date": _day_column(world.dates[t_idx]),
                          "platform": pd.array(listings["platform"].to_numpy()[s_idx], dtype="str"),
                          "product_id": pd.array(listings["product_id"].to_numpy()[s_idx], dtype="str"),
                          "name": pd.array(listings["title"].to_numpy()[s_idx], dtype="str")})
    for name in list(SCHEMAS["product_traffic"])[4:]:
        values = cols[name][s_idx, t_idx]
        frame[name] = values if SCHEMAS["product_traffic"][name].kind == "float" else values.astype(np.int64)
    return frame


def _ad_spend(world: _World) -> pd.DataFrame:
    """Daily paid-traffic spend per campaign and channel; attributed GMV follows the shop's campaign GMV."""
    rng, parts = world.rngs["ads"], []
    for c in world.camps:
        days = np.arange(c["i0"], c["i1"] + 1)
        gmv_day = world.tally.gmv[c["p"], days]
        profile = (gmv_day + gmv_day.mean() + 1e-9) ** 0.8
        c["spend"] = 0.0
        for j, (channel, share, roi) in enumerate(CHANNELS[c["platform"]]):
            gmv = np.round(gmv_day * share * rng.lognormal(0, 0.25, len(days)), 2)
            target = rng.uniform(1.05, 1.3) if c["low_roi"] and j == 0 else max(1.8, roi * rng.lognormal(0, 0.12))
            spend = np.round(gmv.sum() / target * profile / profile.sum(), 2)
            impressions = np.rint(spend / rng.uniform(15, 45, len(days)) * 1000).astype(np.int64)
            clicks = np.rint(impressions * rng.uniform(0.012, 0.045, len(days))).astype(np.int64)
            parts.append(pd.DataFrame({"date": _day_column(world.dates[days]),
                                       "campaign_id": pd.array([c["campaign_id"]] * len(days), dtype="str"),
                                       "platform": pd.array([c["platform"]] * len(days), dtype="str"),
                                       "channel": pd.array([channel] * len(days), dtype="str"),
                                       "spend": spend, "impressions": impressions, "clicks": clicks, "gmv": gmv}))
            c["spend"] += float(spend.sum())
    return pd.concat(parts, ignore_index=True) if parts else _empty("ad_spend")


def _campaigns(world: _World) -> pd.DataFrame:
    """The campaign table: dates, kind, budget, coupon rule and coupon redemption."""
    rng, rows = world.rngs["camp"], []
    for i, c in enumerate(world.camps):
        used = int(world.tally.coupons[i])
        has_coupon = c["threshold"] == c["threshold"]
        rate = rng.uniform(0.05, 0.08) if c["low_redemption"] else rng.uniform(0.22, 0.45)
        budget = max(100.0, float(np.ceil(c.get("spend", 0.0) * rng.uniform(1.05, 1.3) / 100) * 100))
        rows.append(dict(campaign_id=c["campaign_id"], name=c["name"], platform=c["platform"],
                         start_date=c["start"], end_date=c["end"], kind=c["kind"], budget=budget,
                         coupon_threshold=float(c["threshold"]), coupon_discount=float(c["discount"]),
                         coupons_issued=max(10, int(np.ceil(used / rate))) if has_coupon else 0,
                         coupons_used=used))
    if not rows:
        return _empty("campaigns")
    frame = pd.DataFrame(rows)
    for col in ("start_date", "end_date"):
        frame[col] = _day_column(frame[col].to_numpy())
    return frame


def _campaign_items(world: _World) -> pd.DataFrame:
    """Promo price per campaign and SKU."""
    skus = world.cat.frame["sku"].to_numpy()
    rows = [(c["campaign_id"], skus[s], promo) for c in world.camps for s, promo in c["items"]]
    frame = pd.DataFrame(rows, columns=list(SCHEMAS["campaign_items"]))
    return frame.astype({"campaign_id": "str", "sku": "str", "promo_price": "float64"})


def _stock(world: _World) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Daily stock per SKU and the purchase orders that replenished it, over the last year (the inventory table keeps
    the last 120 days): stock follows sales; an order of two weeks' sales is placed when stock and what is on its way
    fall under twelve days' sales (at the pace of the last four weeks) and arrives after its supplier's lead time
    (late ones later), less its defects. Hot SKUs run dry during the latest big promotion.

    The orders are drawn before the stock, so a day may sell more than the simulated stock holds. Those units are
    added back to the stock of the days before (`_backed`): every sale is backed by stock, a SKU that sells out ends
    that day at 0 having started it with stock, and stock never stays at 0 while units sell — except the planted
    fault: the hot SKUs keep taking orders (预售/超卖) from the day they sell out until stock arrives again."""
    rng, n = world.rngs["stock"], world.n
    w0 = n - min(PO_DAYS, n)
    sold = world.tally.sold
    q = sold[:, w0:]
    past = np.concatenate([np.zeros((len(q), 1)), np.cumsum(sold, axis=1)], axis=1)
    ahead = np.maximum(world.cat.launch, w0)  # stocked for the first four weeks' sales when the window (or sales) starts
    start = np.minimum(ahead + 28, n)
    first_weeks = (past[np.arange(len(q)), start] - past[np.arange(len(q)), np.minimum(ahead, n)]) / 28
    stock = np.ceil((first_weeks + 0.2) * rng.uniform(25, 40, len(q))) + 5
    lead = 6
    arrivals = np.zeros((len(q), q.shape[1] + 20))  # sellable units arriving each day (received less defects)
    closing = np.zeros_like(arrivals)  # ordered units leaving the pipeline each day
    pipeline = np.zeros(len(q))
    hot, first, last = _hot_skus(world, w0)
    t0 = max(first - 1, 0)
    out, transit = np.empty(q.shape, np.int64), np.empty(q.shape, np.int64)
    orders, placed = [], np.zeros(len(q), int)
    unbacked = np.zeros(q.shape)  # units sold beyond the stock of the day
    planted = np.zeros(len(q), bool)  # a hot SKU between selling out during the promotion and its next arrival
    for t in range(q.shape[1]):
        if len(hot) and t == t0:  # presale stock-up, too little: the day ends with 80 % of the promotion's sales
            short = np.rint(0.8 * q[hot, t + 1:last + 1].sum(1)) + 2 - (stock[hot] + arrivals[hot, t] - q[hot, t])
            for s, qty in zip(hot, short):
                if qty > 0:
                    orders.append(_stock_up(world, s, w0 + t, int(qty), lead))
                    arrivals[s, t] += qty
                    transit[s, max(0, t - lead):t] += int(qty)  # on its way since it was ordered
        stock += arrivals[:, t]
        pipeline -= closing[:, t]
        if len(hot):
            planted[hot] = (t >= t0) & (planted[hot] | (stock[hot] < q[hot, t])) & ~((t > last) & (arrivals[hot, t] > 0))
        unbacked[:, t] = np.where(planted, 0, np.maximum(q[:, t] - stock, 0))
        stock = np.maximum(stock - q[:, t], 0)
        pace = (past[:, w0 + t + 1] - past[:, max(0, w0 + t - 27)]) / 28 + 0.2
        need = stock + pipeline < np.ceil(pace * 12) + 3
        if len(hot) and t0 - lead <= t <= last:
            need[hot] = False
        for s in np.flatnonzero(need):
            po = _purchase(world, s, placed[s], w0 + t, int(np.ceil(pace[s] * 14) + 5))
            placed[s] += 1
            orders.append(po)
            pipeline[s] += po["ordered_qty"]
            arrivals[s, t + po["lead"]] += po["received_qty"] - po["defect_qty"]
            closing[s, t + po["lead"]] += po["ordered_qty"]
        out[:, t], transit[:, t] = stock, pipeline
    keep = max(0, q.shape[1] - STOCK_DAYS)
    return (_inventory(world, n - q.shape[1] + keep, _backed(out, unbacked)[:, keep:], transit[:, keep:]),
            _purchase_orders(world, orders))


def _backed(stock: np.ndarray, short: np.ndarray) -> np.ndarray:
    """Closing stock with each day's units sold beyond it added to every day before (the stock they were sold from):
    stock(t) + the units short on the days after t. The balance stock(t) = stock(t−1) + arrivals − sales then holds on
    every day, and a day short of stock ends at 0 only if no later day is."""
    later = np.cumsum(short[:, ::-1], axis=1)[:, ::-1] - short  # units short after each day
    return stock + later.astype(np.int64)


def _inventory(world: _World, w0: int, stock: np.ndarray, transit: np.ndarray) -> pd.DataFrame:
    """The inventory table: warehouse stock, what each platform shows for sale (PDD is not linked: empty; a share is
    held back elsewhere; the oversold listing's was set by hand) and what is on its way, for every day a SKU is listed."""
    rng, cat = world.rngs["listing"], world.cat
    shown = np.floor(stock * rng.choice((1.0, 1.0, 0.95, 0.9), len(stock))[:, None])
    odd = _listing(cat, OVERSOLD)
    if odd is not None and stock.shape[1] >= 5:
        shown[odd, -5:] = stock[odd, -5:].max() + 35
    days = np.arange(w0, world.n)
    live = days[None, :] >= cat.launch[:, None]
    s_idx, t_idx = np.nonzero(live)
    platform_stock = pd.array(shown[s_idx, t_idx].astype(np.int64), dtype="Int64")
    platform_stock[cat.plat[s_idx] == PDD] = pd.NA
    return pd.DataFrame({"date": _day_column(world.dates[days[t_idx]]),
                         "sku": pd.array(cat.frame["sku"].to_numpy()[s_idx], dtype="str"),
                         "stock": stock[s_idx, t_idx], "platform_stock": platform_stock,
                         "in_transit": transit[s_idx, t_idx]})


def _listing(cat: _Catalog, key: tuple[str, str]) -> int | None:
    """Index of the listing of design name and platform `key`, or None when the catalogue has none."""
    found = np.flatnonzero((cat.frame["name"] == BRAND + key[0]).to_numpy() & (cat.frame["platform"] == key[1]).to_numpy())
    return int(found[0]) if len(found) else None


def _supplier(world: _World, s: int, k: int) -> tuple:
    """The supplier row of SKU s's k-th purchase order: its design's main supplier, the backup for every third."""
    main, backup = SOURCING[DESIGNS[world.cat.design[s]][0]]
    return SUPPLY[backup if backup and k % 3 == 1 else main]


def _purchase(world: _World, s: int, k: int, day: int, qty: int) -> dict:
    """One purchase order of SKU s placed on day index `day`: its supplier's lead time (sometimes late), a few short
    or over deliveries, defects at the supplier's rate. `lead` is the days until it arrives."""
    rng = world.rngs["supply"]
    sid, _, _, _, promised, late, defects, _ = _supplier(world, s, k)
    lead = promised + (int(rng.integers(2, 7)) if rng.random() < late else int(rng.choice((-1, 0, 0, 0))))
    u = rng.random()
    received = qty + (int(rng.integers(1, qty // 20 + 2)) if u < 0.06 else
                      -int(np.ceil(qty * rng.uniform(0.05, 0.2))) if u > 0.93 else 0)
    return dict(supplier_id=sid, sku=s, ordered_qty=qty, received_qty=received, order_date=day,
                due_date=day + promised, received_date=day + lead, defect_qty=int(rng.binomial(received, defects)),
                lead=lead)


def _stock_up(world: _World, s: int, day: int, qty: int, lead: int) -> dict:
    """The presale stock-up of a hot SKU, received on day index `day` from its main supplier (ordered `lead` days
    before), exactly as ordered."""
    sid = _supplier(world, s, 0)[0]
    ordered = max(0, day - lead)
    return dict(supplier_id=sid, sku=s, ordered_qty=qty, received_qty=qty, order_date=ordered, due_date=day,
                received_date=day, defect_qty=0, lead=day - ordered)


def _purchase_orders(world: _World, orders: list[dict]) -> pd.DataFrame:
    """The purchase-order table: numbered by order day (PO + yymmdd + sequence), those not yet arrived at the end of
    the period with an empty arrival date and nothing received."""
    if not orders:
        return _empty("purchase_orders")
    frame = pd.DataFrame(orders).sort_values(["order_date", "sku"], kind="stable").reset_index(drop=True)
    open_ = frame["received_date"].to_numpy() >= world.n
    frame.loc[open_, ["received_qty", "defect_qty"]] = 0
    y, m, d = _months(world.dates)
    day = frame["order_date"].to_numpy()
    seq = frame.groupby("order_date").cumcount().to_numpy() + 1
    ids = [f"PO{y[i] % 100:02d}{m[i]:02d}{d[i]:02d}{j:02d}" for i, j in zip(day, seq)]
    received = _day_column(world.dates[np.minimum(frame["received_date"].to_numpy(), world.n - 1)])
    return pd.DataFrame({"po_id": pd.array(ids, dtype="str"), "supplier_id": pd.array(frame["supplier_id"], dtype="str"),
                         "sku": pd.array(world.cat.frame["sku"].to_numpy()[frame["sku"].to_numpy()], dtype="str"),
                         "ordered_qty": frame["ordered_qty"].astype(np.int64),
                         "received_qty": frame["received_qty"].astype(np.int64),
                         "order_date": _day_column(world.dates[day]),
                         "due_date": _day_column(world.dates[0] + frame["due_date"].to_numpy()),
                         "received_date": pd.Series(received).where(~open_),
                         "defect_qty": frame["defect_qty"].astype(np.int64)})


def _suppliers(world: _World, orders: pd.DataFrame) -> pd.DataFrame:
    """The supplier table: cooperation start, the shop's recorded tier, weekly capacity (a multiple of the supplier's
    average weekly order, so it scales with the shop)."""
    weeks = max(1.0, min(PO_DAYS, world.n) / 7)
    ordered = orders.groupby("supplier_id")["ordered_qty"].sum()
    end = world.dates[-1].astype("datetime64[M]")
    rows = [(sid, name, (end - months).astype("datetime64[D]") + 11, int(max(20, np.ceil(ordered.get(sid, 0) / weeks
                                                                                            * multiple / 10) * 10)), tier)
            for sid, name, months, tier, _, _, _, multiple in SUPPLIERS]
    frame = pd.DataFrame(rows, columns=list(SCHEMAS["suppliers"]))
    frame["since"] = _day_column(frame["since"].to_numpy())
    return frame.astype({"supplier_id": "str", "name": "str", "capacity_per_week": np.int64, "tier": "str"})


def _candidates(world: _World) -> pd.DataFrame:
    """The candidate products of 选品评估 (`CANDIDATES`), a supplier's months of cooperation as in the supplier table."""
    months = {sid: m for sid, _, m, *_ in SUPPLIERS}
    frame = pd.DataFrame([(cid, name, category, search, growth, cost, price, sid, months.get(sid, 0), qualified, notes)
                          for cid, name, category, search, growth, cost, price, sid, qualified, notes in CANDIDATES],
                         columns=list(SCHEMAS["candidates"]))
    return frame.astype({"candidate_id": "str", "name": "str", "category": "str", "monthly_search": np.int64,
                         "supplier_id": "str", "supplier_months": np.int64, "has_qualification": bool, "notes": "str"})


def _hot_skus(world: _World, w0: int) -> tuple[np.ndarray, int, int]:
    """The two best sellers of the latest big promotion overlapping the stock window, and its days in it."""
    big = [c for c in world.camps if c["kind"] == "大促" and c["i1"] >= w0]
    if not big:
        return np.array([], int), 0, -1
    c = max(big, key=lambda c: (c["i0"], -c["p"]))
    skus = world.sku_of[c["p"]]
    sold = world.tally.sold[skus, max(c["i0"], w0):c["i1"] + 1].sum(1)
    return skus[np.argsort(-sold, kind="stable")[:2]], max(c["i0"] - w0, 0), c["i1"] - w0


def _empty(name: str) -> pd.DataFrame:
    """An empty frame with the table's columns."""
    return pd.DataFrame({c: pd.Series(dtype="object") for c in SCHEMAS[name]})
