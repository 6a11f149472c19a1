"""Every fault the sample generator plants raises exactly the flags it should, and nothing else does."""
import pytest

from opsbook.engine import runner


@pytest.mark.parametrize("playbook, params, expected", [
    # a DY 大促 with a channel under the ROI line (before inventory snapshots exist)
    ("campaign_review", {"campaign_id": "CP-2510-DY", "as_of": "2025-11-30"},
     {("campaign.roi", "high"), ("campaign.no_stock_data", "low")}),
    # a coupon redeemed by 6 of 92 buyers
    ("campaign_review", {"campaign_id": "CP-2501-PDD", "as_of": "2025-01-31"},
     {("campaign.coupon", "medium"), ("campaign.no_stock_data", "low")}),
    # a "discount" above the 30-day low, and hot items sold out during 618
    ("campaign_review", {"campaign_id": "CP-2605-TM", "as_of": "2026-06-30"},
     {("campaign.price", "high"), ("campaign.stockout", "medium")}),
    # the same coupon, seen from user tiering, and the important customers to recall
    ("user_tiering", {"as_of": "2025-06-30"}, {("rfm.coupon:2025拼多多年货节", "medium"), ("rfm.recall", "high")}),
    # the week after 618 (a fall that is no alarm) and three PDD days without traffic data
    ("kpi_report", {"period": "周", "report_date": "2026-06-28"}, {("kpi.gmv_drop", "low"), ("kpi.traffic_gaps", "low")}),
    # a day of brushed orders (excluded and said so), on a day under its share of the target
    ("kpi_report", {"period": "日", "report_date": "2025-07-10"}, {("kpi.fake_orders", "low"), ("kpi.target", "medium")}),
    # a quiet TM week: nothing to say
    ("kpi_report", {"period": "周", "report_date": "2026-02-22", "platform": "TM"}, set()),
    # June 2026 per SKU: a listing priced below cost (JD-02-87-2406), one losing money after discounts and refunds
    # (TM-01-L-2404), sizes refunded (DY-01-M-2309), visitors who do not buy (TM-02-BK-2311), no sale since April
    # (JD-04-500G-2402)
    ("product_performance", {"as_of": "2026-06-30"},
     {("perf.price_below_cost", "high"), ("perf.negative_margin", "high"), ("perf.high_refund", "medium"),
      ("perf.low_conversion", "medium"), ("perf.slow_mover", "medium")}),
    # the oversold listing (platform stock above the warehouse's), the slow mover, and 618's sold-out hot SKUs in
    # the 30-day stockout rate
    ("inventory_watch", {}, {("inventory.oversell", "high"), ("inventory.slow_mover", "medium"),
                             ("inventory.stockout_rate", "medium")}),
    # Tmall during 618: the two hot SKUs out of stock, nothing on the way
    ("inventory_watch", {"as_of": "2026-06-17", "platform": "TM"}, {("inventory.out_of_stock", "high"),
                                                                    ("inventory.stockout_rate", "medium")}),
    # the late supplier, the high-defect supplier, the single-sourced face mask (not the watch with a single order);
    # core suppliers suggested lower than their recorded tier (medium), another step (low)
    ("supplier_review", {}, {("supplier.on_time", "high"), ("supplier.defects", "high"),
                             ("supplier.single_source", "medium"), ("supplier.core_downgrade", "medium"),
                             ("supplier.tier_change", "low")}),
    # mid-618: its two best sellers run out before stock can arrive, and the quietly delisted slow mover (the
    # backtest's SKUs worse than seasonal naive left out by a high volume line)
    ("demand_forecast", {"as_of": "2026-06-14", "min_weekly_units": 1000},
     {("forecast.stockout", "high"), ("forecast.no_recent_sales", "low")}),
    # the weekly job: a purchase order overdue with nothing in stock, the slow mover, one big seller forecast worse
    # than last year's same weeks
    ("demand_forecast", {}, {("forecast.stockout", "high"), ("forecast.no_recent_sales", "low"),
                             ("forecast.worse_than_baseline", "low")}),
    # the catalogue: an absolute term, a title of 68 GBK bytes, 3 main images, month 60 in a SKU code, a lapsed and a
    # lapsing qualification, a price below cost
    ("listing_audit", {}, {("audit.ad_words", "high"), ("audit.title_length", "medium"), ("audit.images", "medium"),
                           ("audit.sku_code", "medium"), ("audit.qualification_expired", "high"),
                           ("audit.qualification_expiring", "medium"), ("audit.below_cost", "high")}),
    # the 618 registration: a "discount" above the 30-day low
    ("listing_audit", {"campaign_id": "CP-2605-TM"}, {("audit.promo_price", "high")}),
    # candidates for every recommendation: a sensitive one without qualifications, three failing a gate
    ("product_evaluation", {}, {("eval.not_listable", "high"), ("eval.gate", "medium"), ("eval.introduce", "low"),
                                ("eval.trial", "low")}),
    # the coming 双11's plan: 秋冬新品选品 past its planned end (high), a 30-day sample run on its day 28 (medium)
    ("promo_timeline", {}, {("promo.overdue", "high"), ("promo.at_risk", "medium")}),
    # the 催付话术 v2 pilot (400 + 400 customers, 60.8 % vs 49.3 % paid): a significant improvement to decide on; the
    # 差评回访 v1.1 pilot on 4 + 4 agents: too small for a verdict (no follow-up tasks in a fresh project)
    ("sop_execution", {}, {("sopexec.pilot_result:催付话术_v2", "medium"), ("sopexec.pilot_small:差评回访_v1.1", "low")}),
    # the week to the sample's end: the slow agent 客服07 (under the personal floor, the shop under the 30 s target), a
    # 1-star session nobody called back within 2 h, a complex after-sales session open for 56 h (without reviews in the
    # sample; with the reviews of the risk_watch branch add ("service.bad_review_rate", "medium") when above 0.7 %)
    ("service_quality", {}, {("service.response_rate", "medium"), ("service.bad_review_rate", "medium"), ("service.slow_agent", "high"),
                             ("service.low_rating_overdue", "high"), ("service.complex_open", "high")}),
    # the week to 2026-06-30: a post with 862,000 plays and no link click, a head creator at half its tier's ROI (with
    # two 素人 creators under 60 % of theirs), content under the ROI line; no tier loses money
    ("content_funnel", {}, {("kol.no_link", "high"), ("kol.creator_lag", "medium"), ("kol.low_roi", "medium")}),
    # a week of reviews: three 坚果 reviews with 变质/异物 within 10 h, 7 competitor-attack reviews on PDD on 06-26 (and
    # PDD's bad-review rate), 禁售/3C认证, a professional claimant, complaints unanswered for 24 h; 防晒衣女 on DY ranks 59 %
    # lower than the week before
    ("risk_watch", {}, {("risk.quality", "high"), ("risk.competitor", "medium"), ("risk.policy", "high"),
                        ("risk.claimant", "high"), ("risk.overdue", "high"), ("risk.platform_bad_rate", "high"),
                        ("risk.rank_drop", "high")}),
    # the 18:00 batch of 06-30: paid orders past the 24 h SLA (the order generator's), a dispatch 31 h after payment,
    # a parcel without movement for 60 h, a lost parcel neither reshipped nor refunded after 34 h, 错发/漏发 above 0.2 %
    ("order_fulfilment", {}, {("fulfil.overdue", "high"), ("fulfil.late", "medium"), ("fulfil.stalled", "medium"),
                              ("fulfil.lost_damaged", "high"), ("fulfil.miss_rate", "medium")}),
])
def test_planted_faults_raise_exactly_their_flags(playbook, params, expected):
    result = runner.run(playbook, params)
    assert result.ok, result.error
    assert {(f.code, str(f.severity)) for f in result.flags} == expected
