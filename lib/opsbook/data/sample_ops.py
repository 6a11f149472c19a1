"""The demo shop's operations tables: shipments, service sessions, reviews, keyword ranks, promotion plans, creator
content and SOP pilots — drawn after the orders, each from its own random stream (so that the other tables, and each
other, stay as they were when one of them changes).

Planted faults, each named by a constant below so that tests can find it (the playbook meant to find it in brackets):
- (each table's section lists its own)
- reviews: QUALITY_FAULT (3 reviews of 每日坚果礼盒 with 变质/异物 within 10 h), COMPETITOR_FAULT (7 competitor-attack
  reviews on PDD on one day), POLICY_FAULT (禁售, 3C认证), CLAIMANT_FAULT (a professional claimant) [risk_watch]
- keyword_ranks: RANK_FAULT (防晒衣女 on DY about 59 % lower in the last week) [risk_watch]
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.dataset as ds

from ..settings import TZ_NAME
from .tables import SCHEMAS

OPS_TABLES = ("shipments", "cs_sessions", "reviews", "keyword_ranks", "plan_tasks", "kol_content", "sop_pilots")
RECENT_DAYS = 60  # the operations tables cover the sample's last 60 days (staff look at days and weeks, not years)


@dataclass
class Shop:
    """What the operations tables are drawn from: the shop's recent orders and its small tables."""

    orders: pd.DataFrame  # order lines placed in the last RECENT_DAYS days (all statuses, brushed orders included)
    tables: dict[str, pd.DataFrame]  # products, campaigns, inventory … as written
    first: pd.Timestamp  # first day of the recent window (midnight, Asia/Shanghai)
    end: pd.Timestamp  # the sample's last day (midnight, Asia/Shanghai)


def tables(orders_file: Path, small: dict[str, pd.DataFrame], seed: int, end: str) -> dict[str, pd.DataFrame]:
    """Every operations table of the demo shop that has a generator, in schema column order."""
    last = pd.Timestamp(end, tz=TZ_NAME)
    first = last - pd.Timedelta(days=RECENT_DAYS - 1)
    data = ds.dataset(orders_file)
    recent = data.to_table(filter=ds.field("order_time") >= first.to_pydatetime()).to_pandas()
    shop = Shop(recent, small, first, last)
    streams = dict(zip(OPS_TABLES, np.random.default_rng([seed, 13]).spawn(len(OPS_TABLES))))
    out = {}
    for name in OPS_TABLES:
        frame = GENERATORS[name](streams[name], shop)
        if frame is not None:
            out[name] = frame[list(SCHEMAS[name])].reset_index(drop=True)
    return out


# ---------------------------------------------------------------- shipments (order_fulfilment)

def _shipments(rng: np.random.Generator, shop: Shop) -> pd.DataFrame | None:
    """Parcels of the recent paid orders."""
    return None


# ---------------------------------------------------------------- service sessions (service_quality)

def _cs_sessions(rng: np.random.Generator, shop: Shop) -> pd.DataFrame | None:
    """Customer-service sessions of the recent days."""
    return None


# ---------------------------------------------------------------- reviews (service_quality, risk_watch)

# reviews of 云栖每日坚果礼盒 on three platforms within 10 hours, two of them never answered (≥ 3 quality words in 24 h)
QUALITY_FAULT = {"product": "云栖每日坚果礼盒", "start": "2026-06-28 09:12", "platforms": ("TM", "JD", "TB"),
                 "hours": (0.0, 4.6, 9.4), "ratings": (1, 1, 2), "replied_hours": (1.5, None, None),
                 "texts": ("坚果有一股哈喇味，好几颗核桃已经变质了，发苦", "吃到一半吃出了异物，像是一小块塑料，太恶心了",
                           "开袋就闻到味道不对，腰果软了，感觉是变质了")}
# competitor-attack reviews on one platform on one day (> 5 a platform a day); they also lift that platform's
# bad-review rate over the scan week
COMPETITOR_FAULT = {"platform": "PDD", "day": "2026-06-26", "texts": (
    "抄袭大牌的设计，做工也粗糙，质量差", "质量差，还不如隔壁那家，别买", "价格贵，同样的东西别家便宜一半", "明显是抄袭的款，质量差得离谱",
    "价格贵得离谱，质量差，不推荐", "质量差，用两天就坏，价格贵", "抄袭别人家的，质量差，大家避雷")}
# a review asking whether the power bank is certified: policy words (禁售, 3C认证)
POLICY_FAULT = {"platform": "JD", "product": "云栖20000mAh充电宝", "time": "2026-06-29 15:40", "rating": 2,
                "text": "充电宝上找不到3C认证的标志，没有3C认证的充电宝不是禁售的吗？上飞机都被收了"}
# a professional claimant's review (虚假宣传, 12315, 假一赔十), never answered
CLAIMANT_FAULT = {"platform": "TM", "product": "云栖烟酰胺精华液30ml", "time": "2026-06-27 20:05", "rating": 1,
                  "text": "页面写美白淡斑，普通化妆品宣传功效属于虚假宣传，已保留证据向12315投诉，要求假一赔十，"
                          "请尽快联系我139****5678"}
REVIEW_RATE = {"completed": 0.8, "refunded": 0.5}  # share of order lines reviewed
RATING_P = {"completed": (0.007, 0.006, 0.03, 0.107, 0.85), "refunded": (0.07, 0.05, 0.13, 0.15, 0.60)}  # 1…5 stars
DEFAULT_TEXT = "此用户没有填写评价。"
PRAISE = {  # per category: what a happy buyer writes about the product, then a general remark
    "服饰": ("面料很舒服，穿着透气", "版型好看，尺码标准", "做工精细，没有线头", "颜色和图片一样，很显瘦", "穿上很有型，上身效果好"),
    "3C数码": ("音质不错，降噪效果明显", "充电很快，做工扎实", "手感很好，按键清脆", "续航给力，连接稳定", "包装严实，东西是正品"),
    "美妆": ("用着很温和，不刺激", "补水效果不错，吸收快", "味道淡淡的很好闻", "质地清爽不油腻", "用了一周皮肤状态变好了"),
    "食品": ("很新鲜，味道很好", "分量足，独立包装很方便", "口感香脆，家里人都爱吃", "日期很新，包装完好", "香味很浓，会回购"),
    "家居": ("质量很好，摸起来很舒服", "尺寸合适，做工不错", "睡着很舒服，支撑性好", "收纳空间大，很实用", "安静不吵，出雾很细"),
}
REMARK = ("物流很快，第二天就到了", "客服态度很好，有问必答", "性价比高，推荐购买", "已经回购好几次了", "包装很用心",
          "整体满意", "送人也很体面", "比实体店划算", "好评！", "")
NEUTRAL = ("还行吧，一般般", "东西收到了，还没怎么用", "和描述差不多，中规中矩", "物流有点慢，东西还可以", "包装简单了点")
COMPLAINT = {  # 1–2 stars: everyday complaints (a few name a quality problem the risk lexicon watches)
    "服饰": ("尺码偏小，穿不上，退换还麻烦", "洗了一次就起球了", "色差很大，和图片完全不一样", "线头很多，做工粗糙"),
    "3C数码": ("用了三天就连不上了", "充电很慢，和宣传的不一样", "有杂音，体验很差", "收到就有划痕"),
    "美妆": ("用了脸上发红，不适合我", "包装漏了，洒了一半", "味道很刺鼻", "效果一般，没有宣传的好"),
    "食品": ("太咸了，不好吃", "好多碎的，包装压坏了", "口感一般，有点受潮", "分量比以前少了"),
    "家居": ("有很大的味道，散了好几天", "尺寸和描述不符", "用了几天就坏了", "面料起球，质量差"),
}
PHONE_TEXT = "东西不错，有售后问题可以打我电话{}"  # a few buyers leave a phone number (stored masked, as intake leaves it)
PHONE_REVIEWS = 4


def _pick(rng: np.random.Generator, options: tuple[str, ...], n: int) -> np.ndarray:
    return np.array(options, dtype=object)[rng.integers(0, len(options), n)]


def _review_texts(rng: np.random.Generator, category: np.ndarray, rating: np.ndarray) -> np.ndarray:
    """Believable texts per category and rating (vectorised: one draw per template list and category)."""
    n = len(rating)
    text = np.full(n, DEFAULT_TEXT, dtype=object)
    remark = _pick(rng, REMARK, n)
    for cat in PRAISE:
        here = category == cat
        good = here & (rating >= 4)
        text[good] = _pick(rng, PRAISE[cat], int(good.sum())) + np.where(remark[good] == "", "", "，") + remark[good]
        bad = here & (rating <= 2)
        text[bad] = _pick(rng, COMPLAINT[cat], int(bad.sum()))
    mid = rating == 3
    text[mid] = _pick(rng, NEUTRAL, int(mid.sum()))
    silent = (rng.random(n) < 0.12) & (rating >= 4)  # default praise: the buyer wrote nothing
    text[silent] = DEFAULT_TEXT
    return text


def _reviews(rng: np.random.Generator, shop: Shop) -> pd.DataFrame | None:
    """Reviews of the recent completed (and some refunded) order lines: most 5 stars, 1–2 stars near 2–3 %, many
    with the shop's reply; with the planted quality, competitor, policy and claimant reviews."""
    o = shop.orders
    o = o[o["status"].isin(list(REVIEW_RATE)) & ~o["is_fake"].fillna(False).astype(bool)].reset_index(drop=True)
    if o.empty:
        return None
    status = o["status"].to_numpy()
    keep = rng.random(len(o)) < np.where(status == "completed", REVIEW_RATE["completed"], REVIEW_RATE["refunded"])
    end = shop.end + pd.Timedelta(days=1)  # the data ends at midnight after the last day
    after = pd.to_timedelta(rng.uniform(3.5, 15.0, len(o)), unit="D")
    when = (o["order_time"] + after).dt.floor("s")
    keep &= (when < end).to_numpy()
    o, status, when = o[keep].reset_index(drop=True), status[keep], when[keep].reset_index(drop=True)
    n = len(o)
    rating = np.empty(n, dtype=np.int64)
    for s, p in RATING_P.items():
        here = status == s
        rating[here] = rng.choice(np.arange(1, 6), size=int(here.sum()), p=p)
    names = shop.tables["products"].drop_duplicates("sku").set_index("sku")
    category = o["sku"].map(names["category"]).fillna("家居").to_numpy()
    text = _review_texts(rng, category, rating)
    phones = rng.choice(np.flatnonzero(rating >= 4), size=min(PHONE_REVIEWS, int((rating >= 4).sum())), replace=False)
    text[phones] = [PHONE_TEXT.format(f"1{rng.integers(3, 10)}{rng.integers(0, 10):d}****{rng.integers(0, 10 ** 4):04d}")
                    for _ in phones]
    p_reply = np.where(rating <= 3, 0.75, 0.15)
    replied = rng.random(n) < p_reply
    late = rng.random(n) < 0.12  # some answers come after the 24 h the SOP gives
    hours = np.where(late, rng.uniform(26, 72, n), rng.uniform(0.3, 20, n))
    reply = when + pd.to_timedelta(hours, unit="h").floor("s")
    reply = reply.where(replied & (reply < end).to_numpy())
    df = pd.DataFrame({"review_id": "RV" + o["line_id"].astype(str).str.replace("-", "", regex=False),
                       "platform": o["platform"], "order_id": o["order_id"], "sku": o["sku"], "rating": rating,
                       "text": text, "review_time": when, "reply_time": reply})
    _plant_reviews(df, names, o["order_time"])
    return df.sort_values(["review_time", "review_id"]).reset_index(drop=True)


def _plant(df: pd.DataFrame, names: pd.DataFrame, order_time: pd.Series, used: set, platform: str, at: pd.Timestamp,
           text: str, rating: int, reply_hours: float | None, product: str | None = None) -> None:
    """Turn one review of `platform` (of `product`), of an order placed ≥ 3 days before `at`, into a planted one."""
    ok = (df["platform"] == platform) & (order_time <= at - pd.Timedelta(days=3)) & ~df.index.isin(list(used))
    if product is not None:
        ok &= df["sku"].map(names["name"]).eq(product)
    if not ok.any():
        return  # a tiny shop without such an order: the fault is left out
    i = ok[ok].index[-1]  # the most recent such order
    used.add(i)
    df.loc[i, ["text", "rating", "review_time"]] = [text, rating, at]
    df.loc[i, "reply_time"] = at + pd.Timedelta(hours=reply_hours) if reply_hours is not None else pd.NaT


def _plant_reviews(df: pd.DataFrame, names: pd.DataFrame, order_time: pd.Series) -> None:
    """The planted faults (module constants), written over existing reviews so that their orders are real."""
    tz, used = df["review_time"].dt.tz, set()
    q = QUALITY_FAULT
    for platform, hours, rating, reply, text in zip(q["platforms"], q["hours"], q["ratings"], q["replied_hours"],
                                                    q["texts"]):
        at = pd.Timestamp(q["start"], tz=tz) + pd.Timedelta(hours=hours)
        _plant(df, names, order_time, used, platform, at, text, rating, reply, q["product"])
    c = COMPETITOR_FAULT
    for k, text in enumerate(c["texts"]):
        at = pd.Timestamp(c["day"], tz=tz) + pd.Timedelta(hours=9 + 1.7 * k, minutes=7 * k)
        _plant(df, names, order_time, used, c["platform"], at, text, 1, 3.0 if k % 2 else None)
    for f, reply in ((POLICY_FAULT, 5.0), (CLAIMANT_FAULT, None)):
        _plant(df, names, order_time, used, f["platform"], pd.Timestamp(f["time"], tz=tz), f["text"], f["rating"],
               reply, f["product"])


# ---------------------------------------------------------------- keyword ranks (risk_watch)

# the keyword whose search rank falls on one platform: about 17th in the week before the last one, about 27th in the
# last week (a drop of ~59 %, > 20 %: a level-1 traffic warning)
RANK_FAULT = {"keyword": "防晒衣女", "platform": "DY", "before": 17, "after": 27, "days": 7}
KEYWORDS = {  # keyword → the product it leads to (its platforms are that product's)
    "纯棉T恤": "云栖纯棉圆领短袖T恤", "短袖T恤男": "云栖纯棉圆领短袖T恤", "防晒衣女": "云栖冰丝防晒衣",
    "冰丝防晒衣": "云栖冰丝防晒衣", "阔腿牛仔裤": "云栖高腰阔腿牛仔裤", "轻薄羽绒服": "云栖轻薄羽绒服",
    "降噪耳机": "云栖蓝牙降噪耳机", "充电宝20000毫安": "云栖20000mAh充电宝", "氮化镓充电器": "云栖65W氮化镓充电器",
    "机械键盘": "云栖87键机械键盘", "补水面膜": "云栖玻尿酸补水面膜10片", "烟酰胺精华": "云栖烟酰胺精华液30ml",
    "氨基酸洗面奶": "云栖氨基酸洗面奶", "持妆粉底液": "云栖持妆粉底液", "每日坚果": "云栖每日坚果礼盒",
    "咖啡豆": "云栖云南小粒咖啡豆", "低糖燕麦片": "云栖低糖燕麦片", "纯棉四件套": "云栖纯棉四件套",
    "记忆棉枕头": "云栖记忆棉枕头", "香薰加湿器": "云栖香薰加湿器",
}


def _keyword_ranks(rng: np.random.Generator, shop: Shop) -> pd.DataFrame | None:
    """Daily search ranks of the shop's keywords on the platforms their product sells on, over the recent days:
    each around a level of its own with day-to-day noise, a few days out of the ranking; one planted drop."""
    products = shop.tables["products"]
    pairs = [(kw, r.platform, r.sku) for kw, name in KEYWORDS.items()
             for r in products[products["name"] == name].itertuples()]
    if not pairs:
        return None
    days = pd.date_range(shop.first.tz_localize(None), shop.end.tz_localize(None), freq="D")
    k, d = len(pairs), len(days)
    level = np.exp(rng.uniform(np.log(3), np.log(80), k))
    rank = np.rint(level[:, None] * np.exp(rng.normal(0, 0.08, (k, d)))).clip(1)
    missing = rng.random((k, d)) < 0.01  # a day outside the ranking list (top 200)
    f = RANK_FAULT
    for i, (kw, platform, _) in enumerate(pairs):
        if (kw, platform) == (f["keyword"], f["platform"]):
            base = np.full(d, float(f["before"]))
            base[-f["days"]:] = f["after"]
            rank[i] = np.rint(base * np.exp(rng.normal(0, 0.03, d))).clip(1)
            missing[i] = False
    frame = pd.DataFrame({"date": np.tile(days.to_numpy(), k), "platform": np.repeat([p for _, p, _ in pairs], d),
                          "keyword": np.repeat([kw for kw, _, _ in pairs], d),
                          "rank": pd.array(np.where(missing, 0, rank).ravel().astype(np.int64), dtype="Int64"),
                          "sku": np.repeat([s for _, _, s in pairs], d)})
    frame.loc[missing.ravel(), "rank"] = pd.NA
    return frame


# ---------------------------------------------------------------- promotion plans (promo_timeline)

def _plan_tasks(rng: np.random.Generator, shop: Shop) -> pd.DataFrame | None:
    """The plan of the next big promotion."""
    return None


# ---------------------------------------------------------------- creator content (content_funnel)

def _kol_content(rng: np.random.Generator, shop: Shop) -> pd.DataFrame | None:
    """Creator content of the recent weeks."""
    return None


# ---------------------------------------------------------------- SOP pilots (sop_execution)

def _sop_pilots(rng: np.random.Generator, shop: Shop) -> pd.DataFrame | None:
    """Units assigned to the pilot and control groups of new SOP versions."""
    return None


GENERATORS = {"shipments": _shipments, "cs_sessions": _cs_sessions, "reviews": _reviews,
              "keyword_ranks": _keyword_ranks, "plan_tasks": _plan_tasks, "kol_content": _kol_content,
              "sop_pilots": _sop_pilots}
