"""Demand forecast and replenishment (需求预测与补货): a weekly forecast per SKU, a backtest against the seasonal-naive
baseline, and order quantities from the forecast, the latest stock snapshot and what is in transit.

The model, and why. A listing sells a few units a week, often none, and has two years of history or less; big
promotions move a week's sales two- to five-fold and do not fall on the same week each year; many goods are
seasonal. So a SKU's forecast is the product of three parts, each estimated where there is data enough for it:

1. Calendar uplift, by day (`day_factors`): the shop's daily units (all SKUs together: enough volume to measure one
   day) over a baseline (the median of the ordinary days within four weeks either side) give every day of a calendar
   event — an entry of `data/reference/promotions.yaml` (大促, 预售, 物流停运 around 春节), else a public holiday of
   `holidays.China` (`sops.calendar.events`) — its uplift. A day of the same event at the same offset from its start
   gets the mean of the past occurrences (ratio of sums, shrunk toward the event's mean where few units measured
   it); an event the history has not seen gets no uplift, and the report says so. A week's factor is the mean of
   its days'; within a week, daily demand follows the days' factors (the peak on 11-11, not 1/7 of the week).
2. Yearly seasonality (52 weeks), per SKU, once it has `season_weeks` (≥ 52) weeks: each full year of the
   calendar-adjusted series over that year's mean, averaged over the years and smoothed over ±3 weeks. One count of
   a few units per week and year cannot carry 52 seasonal states of their own — Holt-Winters (statsmodels'
   `ExponentialSmoothing(seasonal="add", seasonal_periods=52)`) fits them from the same two or three counts that
   seasonal naive uses, and needs two full years before it can start; the smoothed profile works from one year.
3. Level: simple exponential smoothing, ETS(A,N,N) — statsmodels' `ExponentialSmoothing` (heuristic initial level,
   estimated under 10 weeks; weight by least squares) — of the series divided by 1, 2 and the shop's growth
   (`growth`: the same SKUs' calendar-adjusted units over the same weeks a year before, once there are 13 such
   weeks). No trend per SKU: on a few units a week a fitted trend extrapolates noise; without the shop's growth the
   profile (a year's weeks over its mean) and the level lag it — on the sample that was a 20 % under-forecast.
   Intermittent series need no special model here: the forecast is a mean rate, summed over lead times for
   ordering. A week selling over `spike_ratio` × the median of the 13 weeks around it (a 团购 or wholesale order)
   is counted at that median, and the table says so; it would otherwise become months of level and safety stock.

Measured on the sample shop, backtest of the 8 weeks to 2026-06-28 (the 618 weeks of 2026 among them): WAPE 39.8 %
against 51.6 % for seasonal naive (same week last year); 0.66–0.94× of the baseline at seven reference days a
quarter apart (`bench/run.py forecast`). Without the profile it would be 51.0 %, without the calendar uplift
48.4 %, without the shop's growth 42.6 % (the growth cost a little at 2025-12-28, 47.1 % against 45.6 %, and saved
more elsewhere).

SKUs with fewer than `sku_history_weeks` weeks of history (default 52) are forecast at category level: the
category's total series through the same model, times the SKU's share of the category over its last `share_weeks`
weeks (or the weeks it has had); the tables say so per SKU.

Order quantities (periodic review, order-up-to): the demand forecast over the lead time plus the review period, plus
a safety stock (z of the service level × the weekly forecast error × √(weeks of lead time + review)), minus stock
and in-transit of the latest `inventory` snapshot. The lead time is inventory_watch's (`sops.lead_time`): a SKU's
median days from order to arrival over its received purchase orders of the last year, else its supplier's, else the
parameter; days in a 物流停运 window (春节) do not count as delivery days. The weekly error is the model's in-sample
one-step RMSE, at least √(forecast) (Poisson noise).
A SKU whose weeks without a sale since its last one are implausible for what the model expected of them (Poisson,
P < 0.1 %; the off-season of a seasonal good is no surprise) is said to be silent — taken down, a broken listing or an
unrecorded stockout — and held from ordering.

Why statsmodels: statsforecast (Nixtla) fits ETS much faster but cannot be installed beside pandas 3 — its
fugue/triad dependencies pin pandas < 3; statsmodels 0.15 works with pandas 3 and numpy 2. Around its fit this module
adds about 10 % (2,000 SKUs × 3 years: `bench/run.py forecast`); big panels are fitted in a process pool when the
machine has idle cores (`fit_panel`), statsmodels being single-threaded.
"""
from __future__ import annotations

import datetime as dt
import math
import os
import warnings
from dataclasses import dataclass, replace
from statistics import NormalDist

import numpy as np
import pandas as pd

from .. import report
from ..errors import DataError
from ..flags import Flag, make
from ..sources import Source
from . import calendar, catalogue, data_quality, lead_time

# Chinese labels of the headline metrics in result.json (what delivered report cards show), with their number
# format (`report.FORMATS`) where the name alone would not tell it
METRICS = {"skus": "SKU 数", "category_level_skus": "按类目预测的 SKU", "forecast_units": ("首周预测销量（件）", "count"),
           "wape_model": ("回测误差 WAPE", "pct"), "wape_baseline": ("季节性朴素基线 WAPE", "pct"),
           "order_skus": "建议补货 SKU", "order_units": "建议补货件数", "stockout_risk_skus": "断货风险 SKU"}

LABELS = {
    "method": "预测方式", "history_weeks": "历史周数", "total": "合计", "weekly": "周均预测",
    "lead_time_days": "补货提前期（天）", "lead_basis": "提前期依据", "lead_demand": "提前期需求",
    "cover_demand": "提前期+补货周期需求", "safety_stock": "安全库存（提前期+补货周期）",
    "lead_safety": "安全库存（提前期）", "reorder_point": "再订货点",
    "order_up_to": "目标库存", "in_transit": "在途数量", "stock_date": "库存日期", "cover_days": "可售天数",
    "runout_date": "预计断货日期", "order_qty": "建议补货量", "status": "建议", "actual_units": "实际销量",
    "model_units": "预测销量", "baseline_units": "基准预测销量", "model_error_rate": "预测误差（WAPE）",
    "baseline_error_rate": "基准误差（WAPE）", "model_abs": "模型绝对误差", "baseline_abs": "基准绝对误差", "baseline_kind": "基准方式", "verdict": "结论",
    "share": "类目份额", "next_due": "在途约定到货", "week_label": "周", "actual": "实际销量", "model": "模型预测", "baseline": "基准预测",
    "forecast": "预测销量",
}
DEFINITIONS = ("销量 = 已付款订单（剔除刷单）的件数，按付款日期归入周（周一至周日）。WAPE = Σ|实际 − 预测| ÷ Σ实际。"
               "基准 = 季节性朴素预测：去年同周（52 周前）的销量；SKU 不满一年时用回测前最后一周的销量。"
               "绝对误差 = 各周 |实际 − 预测| 之和；整体 WAPE = 各 SKU 绝对误差之和 ÷ 实际销量之和。"
               "回测期无销量的 SKU 没有单独的 WAPE，但其绝对误差计入整体 WAPE。")
SHRINK_UNITS = 25.0  # uplift of an event day measured on fewer expected units is pulled toward the event's mean
SMOOTH_WEEKS = 3  # the yearly profile is smoothed over ±3 weeks
SPIKE_FLOOR = 2.0  # units a week: a spike is above spike_ratio × at least this (Poisson noise of slow sellers)
QUIET_P = 0.001  # weeks without a sale are called implausible below this probability (checked every week for every SKU)
POOL_MIN_SERIES = 1000  # panels at least this big are fitted in a process pool (starting it costs ~3 s: statsmodels)


# ------------------------------------------------------------------------------------------------ the history

@dataclass
class Sales:
    """Weekly units per SKU over complete weeks (Monday–Sunday) up to `last_day`, and the shop's units per day."""

    weeks: pd.DatetimeIndex  # Monday of each complete week, oldest first
    units: pd.DataFrame  # index sku, one column per week; NaN before the SKU's first week
    skus: pd.DataFrame  # index sku: name, category, platform, first_week
    daily: pd.Series  # the shop's units per day, first day of data … last_day
    last_day: dt.date  # the Sunday the history ends with
    data_until: dt.date | None  # last day the source has orders or traffic for
    orders_until: dt.date | None = None  # last day with a paid order

    def cut(self, weeks: int) -> Sales:
        """The history without its last `weeks` weeks (what was known at a backtest's origin)."""
        kept = self.weeks[:len(self.weeks) - weeks]
        last = (kept[-1] + pd.Timedelta(days=6)).date()
        units = self.units[kept]
        skus = self.skus[self.skus["first_week"] <= kept[-1]]
        return replace(self, weeks=kept, units=units.loc[skus.index], skus=skus,
                       daily=self.daily[self.daily.index <= pd.Timestamp(last)], last_day=last)


def last_sunday(day: dt.date) -> dt.date:
    """The Sunday on or before `day` (the end of its last complete week)."""
    return day - dt.timedelta(days=(day.weekday() + 1) % 7)


def sales(src: Source, as_of: dt.date) -> Sales:
    """Weekly units per SKU of paid, non-brushed orders over the complete weeks up to `as_of` (or up to the last day
    with a paid order, when that is earlier: days without imported orders are not weeks without sales); a SKU's
    weeks start with its launch or first sale; the products table gives names and categories."""
    src.check("orders")
    src.check("products")
    first_paid, last_paid = src.sql("SELECT min(CAST(pay_time AS DATE)), max(CAST(pay_time AS DATE)) "
                                    "FROM paid_orders").iloc[0]
    orders_until = pd.Timestamp(last_paid).date() if pd.notna(last_paid) else None
    last = last_sunday(min(as_of, orders_until) if orders_until else as_of)
    if pd.isna(first_paid) or pd.Timestamp(first_paid).date() > last:
        reach = f"（数据从 {pd.Timestamp(first_paid):%Y-%m-%d} 开始）" if pd.notna(first_paid) else "（数据源中没有已付款订单）"
        raise DataError(f"{last} 及之前没有一整周（周一至周日）的已付款订单，无法预测{reach}：请把参考日期设得晚一些")
    start = pd.Timestamp(first_paid).date()
    first_week = start + dt.timedelta(days=(7 - start.weekday()) % 7)  # a week the data starts within is partial
    if first_week > last:
        raise DataError(f"参考日期 {as_of} 之前还没有一整周（周一至周日）的已付款订单（数据从 {start} 开始），无法预测："
                        "请把参考日期设得晚一些")
    weeks = pd.date_range(first_week, last - dt.timedelta(days=6), freq="7D")
    weekly = src.sql("""
        SELECT sku, CAST(date_trunc('week', CAST(pay_time AS DATE)) AS DATE) AS week, sum(quantity) AS units
        FROM paid_orders WHERE CAST(pay_time AS DATE) BETWEEN ? AND ? GROUP BY ALL""", [first_week, last])
    daily = src.sql("""
        SELECT CAST(pay_time AS DATE) AS day, sum(quantity) AS units FROM paid_orders
        WHERE CAST(pay_time AS DATE) BETWEEN ? AND ? GROUP BY 1""", [first_week, last])
    sold = src.sql("""
        SELECT sku, min(CAST(pay_time AS DATE)) AS first_sale, mode(platform) AS sold_on FROM paid_orders
        WHERE CAST(pay_time AS DATE) <= ? GROUP BY sku""", [last])
    products = src.sql(f"SELECT * FROM {catalogue.by_sku(src, 'name, category, launch_date, platform')}")
    skus = _sku_frame(sold, products, weeks, last)
    units = pd.DataFrame(0.0, index=skus.index, columns=weeks)
    if len(weekly):
        weekly["week"] = pd.to_datetime(weekly["week"])
        grid = weekly.pivot_table(index="sku", columns="week", values="units", aggfunc="sum")
        grid = grid.reindex(index=skus.index, columns=weeks)
        units = grid.fillna(0.0).astype(float)
    before = skus["first_week"].to_numpy()[:, None] > weeks.to_numpy()[None, :]
    units = units.mask(before)
    days = pd.date_range(first_week, last, freq="D")
    daily_units = pd.Series(daily["units"].to_numpy(float), index=pd.to_datetime(daily["day"])).reindex(days, fill_value=0.0)
    return Sales(weeks, units, skus, daily_units, last, data_quality.data_until(src), orders_until)


def _sku_frame(sold: pd.DataFrame, products: pd.DataFrame, weeks: pd.DatetimeIndex, last: dt.date) -> pd.DataFrame:
    """The SKUs to forecast — every SKU sold up to `last`, and every product listed by then without a sale yet —
    with name, category, platform and first week."""
    products = products.drop_duplicates("sku").set_index("sku")
    launch = pd.to_datetime(products["launch_date"])
    listed = products.index[launch.notna().to_numpy() & (launch <= pd.Timestamp(last)).to_numpy()]
    index = pd.Index(sorted(set(sold["sku"]) | set(listed)), dtype="str", name="sku")
    frame = pd.DataFrame(index=index)
    sold = sold.set_index("sku")
    frame["name"] = products["name"].reindex(index)
    frame["category"] = products["category"].reindex(index).fillna("（未知类目）")
    frame["platform"] = products["platform"].reindex(index).fillna(sold["sold_on"].reindex(index))
    begins = pd.concat([pd.to_datetime(sold["first_sale"]).reindex(index), launch.reindex(index)], axis=1).min(axis=1)
    monday = begins - pd.to_timedelta(begins.dt.day_of_week, unit="D")
    frame["first_week"] = monday.clip(lower=weeks[0])
    return frame


def for_platform(sales_: Sales, platform: str) -> pd.Index:
    """The SKUs shown for a platform (全部: all) — every SKU is forecast the same way whichever is chosen; DataError
    when the platform has none."""
    skus = sales_.skus
    shown = skus.index if platform == "全部" else skus.index[(skus["platform"] == platform).to_numpy()]
    if shown.empty:
        raise DataError(f"平台 {platform} 在 {sales_.last_day} 之前没有已付款订单，商品表中也没有该平台已上架的 SKU："
                        "请选择其他平台或“全部”")
    return shown


# ------------------------------------------------------------------------------------------------ calendar uplift

def day_factors(daily: pd.Series, last: dt.date) -> pd.DataFrame:
    """Every day from the first of `daily` to `last` with its event (`sops.calendar.events`) and demand factor,
    measured on the days of `daily` only: `seen` says whether the event has occurred in that history."""
    days = calendar.events(daily.index[0].date(), last)
    units = daily.reindex(pd.DatetimeIndex(days["date"]))
    ordinary = units.where(days["event"].isna().to_numpy())
    base = ordinary.rolling(57, center=True, min_periods=7).median()
    measured = days.assign(units=units.to_numpy(), base=base.to_numpy())
    measured = measured[measured["event"].notna() & measured["units"].notna() & (measured["base"] > 0)]
    events = measured.groupby("event")[["units", "base"]].sum()
    event_ratio = (events["units"] + SHRINK_UNITS) / (events["base"] + SHRINK_UNITS)
    offsets = measured.groupby(["event", "offset"])[["units", "base"]].sum()
    weight = offsets["base"] / (offsets["base"] + SHRINK_UNITS)
    of_event = event_ratio.reindex(offsets.index.get_level_values("event")).to_numpy()
    offset_ratio = weight * offsets["units"] / offsets["base"] + (1 - weight) * of_event
    keys = pd.MultiIndex.from_arrays([days["event"], days["offset"]])
    factor = pd.Series(offset_ratio.reindex(keys).to_numpy(), index=days.index)
    factor = factor.fillna(pd.Series(event_ratio.reindex(days["event"]).to_numpy(), index=days.index)).fillna(1.0)
    return days.assign(factor=factor.where(days["event"].notna(), 1.0).to_numpy(),
                       seen=days["event"].isin(events.index).to_numpy() | days["event"].isna().to_numpy())


def week_factors(days: pd.DataFrame, weeks: pd.DatetimeIndex) -> np.ndarray:
    """Each week's factor: the mean of its seven days' (weeks given by their Monday)."""
    factor = days.set_index("date")["factor"]
    every = pd.DatetimeIndex(np.concatenate([weeks.to_numpy() + np.timedelta64(d, "D") for d in range(7)]))
    return factor.reindex(every).fillna(1.0).to_numpy().reshape(7, len(weeks)).mean(axis=0)


# ------------------------------------------------------------------------------------------------ the model

def profile(adjusted: np.ndarray) -> np.ndarray:
    """The 52-week seasonal profile of a series of at least one year (mean 1): each full year over its mean,
    averaged over the years, smoothed over ±3 weeks; position 0 is the week 52 weeks before the series ends."""
    n = len(adjusted)
    years = [adjusted[n - 52 * (k + 1):n - 52 * k] for k in range(n // 52)]
    ratios = [y / y.mean() for y in years if y.mean() > 0]
    if not ratios:
        return np.ones(52)
    mean = np.mean(ratios, axis=0)
    h = SMOOTH_WEEKS
    smooth = np.convolve(np.concatenate([mean[-h:], mean, mean[:h]]), np.ones(2 * h + 1) / (2 * h + 1), "valid")
    smooth = np.maximum(smooth, 0.1)
    return smooth / smooth.mean()


@dataclass(frozen=True)
class Model:
    """How series are fitted: weeks a yearly profile needs, the shop's yearly growth (log), the spike cap."""

    season_weeks: int = 52
    growth: float = 0.0
    spike_ratio: float = 10.0


def prepare(y: np.ndarray, f_hist: np.ndarray, f_future: np.ndarray,
            model: Model) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool, int]:
    """A weekly series (units, oldest first) made ready for the level model: divided by its calendar factors and the
    growth trend, weeks above `spike_ratio` × their usual level (the median of the 13 weeks around them, at least
    SPIKE_FLOOR a week: a season's peak is no spike) counted at that usual level (a bulk order does not repeat), then
    divided by its yearly profile when it has `season_weeks` weeks. Returns that level series, what multiplies the level back into units for the past and for the future
    weeks, whether a profile was used, and how many weeks were capped."""
    n, horizon = len(y), len(f_future)
    trend = np.exp(model.growth * (np.arange(n + horizon) - (n - 1)) / 52)
    adjusted = y / f_hist / trend[:n]
    local = pd.Series(adjusted).rolling(13, center=True, min_periods=1).median().to_numpy()
    spikes = adjusted > model.spike_ratio * np.maximum(local, SPIKE_FLOOR)
    capped = int(spikes.sum())
    adjusted = np.where(spikes, local, adjusted)
    seasonal = n >= model.season_weeks
    shape = profile(adjusted) if seasonal else np.ones(52)
    past = shape[(np.arange(n) - (n - 52)) % 52] * trend[:n] * f_hist
    ahead = shape[(np.arange(n, n + horizon) - (n - 52)) % 52] * trend[n:] * f_future
    return adjusted * trend[:n] * f_hist / past, past, ahead, seasonal, capped


def fit_one(y: np.ndarray, f_hist: np.ndarray, f_future: np.ndarray,
            model: Model) -> tuple[np.ndarray, float, bool, int, np.ndarray, np.ndarray]:
    """One weekly series (units, oldest first): its forecast for the weeks of `f_future`, its weekly error (in-sample
    one-step RMSE over the last year of the capped series, at least √forecast), whether a yearly profile was used,
    how many spikes were capped (`prepare`), and the in-sample one-step levels with what turns them into units."""
    level_series, past, ahead, seasonal, capped = prepare(y, f_hist, f_future, model)
    n = len(y)
    if n < 3 or not level_series.any():
        level = float(level_series.mean()) if n else 0.0
        fitted = np.full(n, level)
    else:
        level, fitted = _ses(level_series)
    forecast = np.maximum(level, 0.0) * ahead
    recent = slice(max(0, n - 52), n)
    error = ((level_series - fitted) * past)[recent]
    rmse = float(np.sqrt(np.mean(error ** 2))) if n else 0.0
    return forecast, max(rmse, math.sqrt(max(float(forecast.mean()), 0.0))), seasonal, capped, fitted, past


def growth(units: pd.DataFrame, f_hist: np.ndarray) -> float:
    """The shop's yearly growth (log): calendar-adjusted units of the last m weeks (m ≤ 52) over the same weeks a
    year before, for the SKUs selling through both spans; 0 with fewer than 13 such weeks (65 weeks of history)."""
    n = units.shape[1]
    m = min(52, n - 52)
    if m < 13:
        return 0.0
    adjusted = units.to_numpy() / f_hist
    now, then = adjusted[:, n - m:], adjusted[:, n - 52 - m:n - 52]
    both = ~np.isnan(then).any(axis=1)
    a, b = float(now[both].sum()), float(then[both].sum())
    return math.log(a / b) if a > 0 and b > 0 else 0.0


def _ses(series: np.ndarray) -> tuple[float, np.ndarray]:
    """Simple exponential smoothing by statsmodels: the level to forecast with, and the one-step fitted values."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing  # ~3 s to import: only playbooks that fit pay it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning and friends would print into reports
        try:
            fit = ses_model(series, ExponentialSmoothing)
            return float(fit.level[-1]), np.asarray(fit.fittedvalues, dtype=float)
        except (ValueError, np.linalg.LinAlgError):  # a degenerate series: its mean is the honest forecast
            return float(series.mean()), np.full(len(series), series.mean())


def ses_model(series: np.ndarray, model=None):
    """statsmodels' fit of ETS(A,N,N) to a series, as this module makes it: heuristic initial level (estimated under
    10 points), smoothing weight by least squares (same weight as the default optimiser, 2× faster)."""
    if model is None:
        from statsmodels.tsa.holtwinters import ExponentialSmoothing as model
    init = "heuristic" if len(series) >= 10 else "estimated"
    return model(series, initialization_method=init).fit(method="least_squares", use_brute=False)


def _fit_chunk(tasks: list, model: Model) -> list:
    """`fit_one` over a list of (series, past factors, future factors) — one unit of work for a pool worker."""
    return [fit_one(y, fh, ff, model) for y, fh, ff in tasks]


def fit_panel(tasks: list, model: Model, workers: int | None = None) -> list:
    """`fit_one` for every (series, past factors, future factors) of `tasks`, in order; big panels are fitted by a
    pool of processes. `workers` None: one per idle core (cores less the load average other processes make) for a
    panel of POOL_MIN_SERIES series or more, else this process alone — on a machine busy with other runs (the
    scheduler's second worker) a pool only adds its start-up."""
    if workers is None:
        idle = len(os.sched_getaffinity(0)) - max(0.0, os.getloadavg()[0] - 1)
        workers = max(1, min(8, int(idle + 0.5))) if len(tasks) >= POOL_MIN_SERIES else 1
    if workers <= 1 or len(tasks) < 2:
        return _fit_chunk(tasks, model)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    size = max(1, math.ceil(len(tasks) / (workers * 4)))
    chunks = [tasks[i:i + size] for i in range(0, len(tasks), size)]
    # forkserver, not fork: a kernel's DuckDB and ZeroMQ threads are never forked mid-lock; the server imports
    # statsmodels once and forks the workers from it
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["statsmodels.tsa.holtwinters", __name__])
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        done = pool.map(_fit_chunk, chunks, [model] * len(chunks))
        return [r for chunk in done for r in chunk]


def silent_weeks(y: np.ndarray, level: np.ndarray, past: np.ndarray, share: float = 1.0) -> int:
    """Weeks since a series' last sale when, at the level the model had then (`level`: in-sample one-step levels,
    `past` what turns them into units, × `share` for a SKU of a category series; aligned with `y` at the end), so
    many units were due over them that selling none is implausible (Poisson probability under QUIET_P: a listing
    taken down or broken, not chance or the off-season); 0 otherwise."""
    sold = np.flatnonzero(np.nan_to_num(y) > 0)
    run = len(y) - 1 - int(sold[-1]) if len(sold) else 0
    if not run:
        return 0
    due = float(level[-run]) * float(past[-run:].sum()) * share
    return run if due > -math.log(QUIET_P) else 0


@dataclass
class Forecast:
    """Weekly forecasts per SKU (rows) for the weeks after the history, with how each was made."""

    weeks: pd.DatetimeIndex  # Monday of each forecast week
    units: pd.DataFrame  # index sku, one column per week
    sigma: pd.Series  # weekly forecast error per SKU
    info: pd.DataFrame  # index sku: method and short (Chinese), history_weeks, share (category level), quiet_weeks
    days: pd.DataFrame  # day factors from the first day of history to the last forecast day
    unseen: list[str]  # events in the forecast weeks the history has never seen (no uplift applied)


def forecast(history: Sales, horizon: int, *, season_weeks: int, sku_history_weeks: int, share_weeks: int,
             spike_ratio: float = 10.0, workers: int | None = None) -> Forecast:
    """Forecast every SKU of `history` for `horizon` weeks: its own series when it has `sku_history_weeks` weeks,
    else its category's forecast × its share of the category's last `share_weeks` weeks; 0 for a SKU without any
    sale in the history (listed, never sold: nothing to forecast from, and the table says so)."""
    weeks = pd.date_range(history.weeks[-1] + pd.Timedelta(days=7), periods=horizon, freq="7D")
    days = day_factors(history.daily, (weeks[-1] + pd.Timedelta(days=6)).date())
    f_all = week_factors(days, history.weeks.append(weeks))
    f_hist, f_future = f_all[:len(history.weeks)], f_all[len(history.weeks):]
    units = history.units
    length = units.notna().sum(axis=1)
    values = units.to_numpy()
    never = np.nan_to_num(values).sum(axis=1) == 0
    own = (length >= sku_history_weeks).to_numpy() & ~never
    cats = history.skus.loc[length.index[~own & ~never], "category"].unique()
    tasks, keys = [], []
    for i in np.flatnonzero(own):
        n = int(length.iloc[i])
        tasks.append((values[i, -n:], f_hist[-n:], f_future))
        keys.append(("sku", units.index[i]))
    totals = {}
    for cat in cats:
        members = history.skus.index[(history.skus["category"] == cat).to_numpy()]
        block = units.loc[members]
        total = block.sum(axis=0, min_count=1).dropna().to_numpy()
        totals[cat] = block
        tasks.append((total, f_hist[-len(total):], f_future))
        keys.append(("cat", cat))
    model = Model(season_weeks, growth(units, f_hist), spike_ratio)
    results = dict(zip(keys, fit_panel(tasks, model, workers)))
    rows, sigma, info = {}, {}, []
    for sku, n, alone, none in zip(units.index, length.to_numpy(int), own, never):
        capped, level, past, part = 0, None, None, 1.0
        if none:
            fc, err, share = np.zeros(horizon), 0.0, np.nan
            method, short = "无销量记录：按 0 预测", "无销量记录"
        elif alone:
            fc, err, seasonal, capped, level, past = results[("sku", sku)]
            method = "单品 ETS" + (" + 年度季节性" if seasonal else f"（历史 {n} 周，不足 {season_weeks} 周：无季节性）")
            short, share = "单品" + ("+季节性" if seasonal else ""), np.nan
        else:
            cat = history.skus.at[sku, "category"]
            fc_cat, err_cat, _, _, level, past = results[("cat", cat)]
            block = totals[cat]
            recent = block.columns[-min(share_weeks, n):] if n else block.columns[-1:]
            cat_units = block[recent].sum(axis=None)
            share = float(block.loc[sku, recent].sum() / cat_units) if n and cat_units > 0 else 0.0
            fc, err = fc_cat * share, max(err_cat * share, math.sqrt(max(float((fc_cat * share).mean()), 0.0)))
            part = share
            method = f"类目预测 × 份额 {share * 100:.1f}%（历史仅 {n} 周，不足 {sku_history_weeks} 周）"
            short = f"类目×份额 {share * 100:.1f}%"
        if capped:
            method += f"；{capped} 周销量异常高（超过平时 {spike_ratio:g} 倍，疑似团购、批发），按前后 13 周的中位数计入"
        quiet = silent_weeks(values[units.index.get_loc(sku), -n:], level, past, part) if level is not None else 0
        if quiet:
            method += f"；近 {quiet} 周无销量"
        rows[sku], sigma[sku] = fc, err
        info.append({"sku": sku, "method": method, "short": short, "history_weeks": n, "share": share,
                     "quiet_weeks": quiet})
    table = pd.DataFrame.from_dict(rows, orient="index", columns=weeks).reindex(units.index)
    info_frame = pd.DataFrame(info).set_index("sku").reindex(units.index)
    future = days[days["date"] >= weeks[0]]
    unseen = sorted(set(future.loc[~future["seen"].astype(bool), "event"].dropna()))
    return Forecast(weeks, table, pd.Series(sigma).reindex(units.index), info_frame, days, unseen)


def daily_demand(fc: Forecast, first: dt.date, days: int) -> pd.DataFrame:
    """Forecast units per SKU (rows) for each of `days` days from `first`: a week's forecast spread over its days
    by their calendar factors."""
    span = pd.date_range(first, periods=days, freq="D")
    factors = fc.days.set_index("date")["factor"].reindex(span).fillna(1.0).to_numpy()
    monday = span - pd.to_timedelta(span.day_of_week, unit="D")
    week_of = fc.weeks.get_indexer(monday)
    if (week_of < 0).any():
        raise ValueError("the forecast does not cover the days asked for")
    week_factor = week_factors(fc.days, fc.weeks)[week_of]
    weekly = fc.units.to_numpy()[:, week_of]
    return pd.DataFrame(weekly * factors / (7 * week_factor), index=fc.units.index, columns=span)


# ------------------------------------------------------------------------------------------------ backtest

def backtest(history: Sales, weeks: int, *, season_weeks: int, sku_history_weeks: int, share_weeks: int,
             spike_ratio: float = 10.0, workers: int | None = None) -> tuple[pd.DataFrame, str]:
    """Forecast the last `weeks` weeks from what was known before them, and compare with what sold and with the
    seasonal-naive baseline (the same week 52 weeks earlier; the last week before the origin for a SKU with less
    than a year then). Per SKU existing at the origin: actual, model and baseline units, both absolute errors and
    WAPEs, and the units of each week (`actual_0` …, for the chart); and a note ('' when the backtest ran)."""
    if len(history.weeks) < weeks + 4:
        return (pd.DataFrame(columns=BACKTEST_COLUMNS),
                f"历史只有 {len(history.weeks)} 周，不足回测所需的 {weeks + 4} 周（回测 {weeks} 周 + 至少 4 周历史）：未回测")
    past = history.cut(weeks)
    fc = forecast(past, weeks, season_weeks=season_weeks, sku_history_weeks=sku_history_weeks,
                  share_weeks=share_weeks, spike_ratio=spike_ratio, workers=workers)
    skus, held, origin = fc.units.index, history.weeks[-weeks:], len(past.weeks)
    actual = history.units.loc[skus, held].fillna(0.0).to_numpy()
    model = fc.units.to_numpy()
    before = history.units.loc[skus]
    yearly = past.units.notna().sum(axis=1).to_numpy() >= 52
    same_week = before.iloc[:, origin - 52:origin - 52 + weeks].to_numpy() if origin >= 52 else np.zeros_like(model)
    last = before.iloc[:, origin - 1].to_numpy()
    baseline = np.nan_to_num(np.where(yearly[:, None], same_week, last[:, None]))
    per_sku = pd.DataFrame({
        "sku": skus, "name": history.skus.loc[skus, "name"].to_numpy(), "method": fc.info["method"].to_numpy(),
        "actual_units": actual.sum(axis=1), "model_units": model.sum(axis=1).round(1),
        "baseline_units": baseline.sum(axis=1), "model_abs": np.abs(actual - model).sum(axis=1),
        "baseline_abs": np.abs(actual - baseline).sum(axis=1),
        "baseline_kind": np.where(yearly, "去年同周", "回测前最后一周")})
    sold = per_sku["actual_units"].where(per_sku["actual_units"] > 0)
    per_sku["model_error_rate"] = per_sku["model_abs"] / sold
    per_sku["baseline_error_rate"] = per_sku["baseline_abs"] / sold
    per_sku["verdict"] = np.select(
        [sold.isna().to_numpy(), (per_sku["model_error_rate"] <= per_sku["baseline_error_rate"]).to_numpy()],
        ["回测期无销量", "优于基准"], "不如基准")
    weekly = {f"{kind}_{i}": values[:, i] for kind, values in (("actual", actual), ("model", model),
                                                               ("baseline", baseline)) for i in range(weeks)}
    per_sku = pd.concat([per_sku, pd.DataFrame(weekly)], axis=1)
    per_sku.attrs["weeks"] = [_week_label(w) for w in held]
    return per_sku, ""


BACKTEST_COLUMNS = ["sku", "name", "method", "actual_units", "model_units", "baseline_units", "model_abs",
                    "baseline_abs", "baseline_kind", "model_error_rate", "baseline_error_rate", "verdict"]


def overall(per_sku: pd.DataFrame) -> dict:
    """The backtest's headline over the given SKUs and every week: WAPE of the model and of the baseline, their
    ratio (None without sales in the backtest weeks)."""
    sold = float(per_sku["actual_units"].sum()) if len(per_sku) else 0.0
    if not sold:
        return {"model": None, "baseline": None, "ratio": None}
    model, baseline = float(per_sku["model_abs"].sum() / sold), float(per_sku["baseline_abs"].sum() / sold)
    return {"model": model, "baseline": baseline, "ratio": model / baseline if baseline else None}


def backtest_weeks(per_sku: pd.DataFrame) -> pd.DataFrame:
    """Units per backtest week over the given SKUs: actual, model, baseline (for the chart)."""
    labels = per_sku.attrs.get("weeks", [])
    return pd.DataFrame({"week_label": labels,
                         **{kind: [float(per_sku[f"{kind}_{i}"].sum()) for i in range(len(labels))]
                            for kind in ("actual", "model", "baseline")}})


def backtest_table(per_sku: pd.DataFrame) -> pd.DataFrame:
    """回测误差 for people: per SKU the units, both absolute errors and WAPEs, the baseline used and the verdict."""
    return per_sku[["sku", "name", "method", "actual_units", "model_units", "baseline_units", "model_abs",
                    "baseline_abs", "model_error_rate", "baseline_error_rate", "baseline_kind", "verdict"]]


# ------------------------------------------------------------------------------------------------ replenishment

def stock(src: Source, as_of: dt.date) -> pd.DataFrame:
    """Each SKU's latest inventory snapshot on or before `as_of`: stock, in_transit (0 where empty), stock_date;
    `attrs["first_snapshot"]` is the table's first day. An empty frame without attributes when the source has no
    inventory table."""
    columns = ["sku", "stock", "in_transit", "stock_date"]
    if not src.has("inventory"):
        return pd.DataFrame(columns=columns).assign(stock_date=pd.Series(dtype="datetime64[us]"))
    found = src.sql("""
        SELECT sku, arg_max(stock, date) AS stock, coalesce(arg_max(in_transit, date), 0) AS in_transit,
               max(date) AS stock_date
        FROM inventory WHERE date <= ? GROUP BY sku""", [as_of])
    found["stock_date"] = pd.to_datetime(found["stock_date"])
    found = found[columns]
    first = src.sql("SELECT min(date) FROM inventory").iloc[0, 0]
    found.attrs["first_snapshot"] = pd.Timestamp(first).date() if pd.notna(first) else None
    return found


def lead_times(src: Source, skus: pd.Index, as_of: dt.date, default_days: int, min_orders: int) -> pd.DataFrame:
    """Lead time per SKU (`lead_time_days`, `lead_basis`), as inventory_watch takes it (`sops.lead_time`): the median
    days from order to arrival of its purchase orders received in the year before `as_of` when it has at least
    `min_orders` of them (0: never), else its latest supplier's, else `default_days`; lengthened by the days of a
    物流停运 window (春节) between `as_of` and the arrival."""
    found = lead_time.lead_times(src, skus, as_of, default_days=default_days, min_orders=min_orders)
    return found[["lead_time_days", "lead_basis"]]


def horizon(history: Sales, as_of: dt.date, lead: pd.DataFrame, weeks: int, review_days: int) -> int:
    """Weeks to forecast: the `weeks` shown, or more when the longest lead time plus the review period from `as_of`
    reaches further."""
    days = (as_of - history.last_day).days + int(lead["lead_time_days"].max()) + review_days
    return max(weeks, math.ceil(days / 7) + 1)


def arrivals(src: Source, as_of: dt.date) -> pd.DataFrame:
    """Purchase orders placed by `as_of` and not received by then: sku, qty, due (their promised day); overdue ones
    (due by `as_of`) keep their date, so callers can tell them apart."""
    if not src.has("purchase_orders"):
        return pd.DataFrame(columns=["sku", "qty", "due"])
    open_ = src.sql("""
        SELECT sku, ordered_qty AS qty, due_date AS due FROM purchase_orders
        WHERE order_date <= ? AND (received_date IS NULL OR received_date > ?)""", [as_of, as_of])
    open_["due"] = pd.to_datetime(open_["due"])
    return open_


def replenishment(fc: Forecast, history: Sales, stock_: pd.DataFrame, lead: pd.DataFrame, open_orders: pd.DataFrame,
                  as_of: dt.date, *, review_days: int, service_level: float) -> pd.DataFrame:
    """Per SKU, most urgent first: demand over the lead time with its safety stock and the reorder point, demand
    over lead time + review period with its safety stock and the order-up-to level (each level the rounded-up sum
    of the two shown beside it), the latest stock and in-transit, days of cover, the day stock runs out (counting
    purchase orders due before it), the order quantity (order-up-to − stock − in-transit, rounded up; none without
    stock data) and what to do."""
    z = NormalDist().inv_cdf(service_level)
    skus = fc.units.index
    lead = lead.reindex(skus)
    demand = daily_demand(fc, as_of + dt.timedelta(days=1), _covered_days(fc, as_of))
    cum = demand.cumsum(axis=1).to_numpy()
    days_l = lead["lead_time_days"].to_numpy(int)
    days_lr = days_l + review_days
    rows = np.arange(len(skus))
    lead_demand = cum[rows, np.minimum(days_l, cum.shape[1]) - 1].round(1)
    cover_demand = cum[rows, np.minimum(days_lr, cum.shape[1]) - 1].round(1)
    sigma = fc.sigma.to_numpy()
    lead_safety = np.ceil(z * sigma * np.sqrt(days_l / 7))
    safety = np.ceil(z * sigma * np.sqrt(days_lr / 7))
    up_to = np.ceil(cover_demand + safety - 1e-9)  # from the shown (rounded) demand: checkable by hand
    have = stock_.set_index("sku").reindex(skus)
    on_hand, transit = have["stock"].to_numpy(float), have["in_transit"].to_numpy(float)
    rate = cum[rows, np.minimum(days_lr, cum.shape[1]) - 1] / days_lr
    runout = _runout(on_hand, demand.to_numpy(), _due_by_day(open_orders, skus, demand.columns))
    out = pd.DataFrame({
        "sku": skus, "name": history.skus.loc[skus, "name"].to_numpy(), "method": fc.info["short"].to_numpy(),
        "lead_time_days": days_l, "lead_basis": lead["lead_basis"].to_numpy(), "lead_demand": lead_demand,
        "lead_safety": lead_safety, "reorder_point": np.ceil(lead_demand + lead_safety - 1e-9),
        "cover_demand": cover_demand, "safety_stock": safety, "order_up_to": up_to,
        "stock": on_hand, "in_transit": transit, "next_due": _next_due(open_orders, skus),
        "stock_date": have["stock_date"].to_numpy(),
        "cover_days": np.where(rate > 0, np.round(np.maximum(on_hand, 0) / np.where(rate > 0, rate, 1), 1), np.nan),
        "runout_date": [pd.Timestamp(as_of) + pd.Timedelta(days=int(d) + 1) if d >= 0 else pd.NaT for d in runout],
        "order_qty": np.where(np.isnan(on_hand), np.nan,
                              np.ceil(np.maximum(0.0, up_to - np.nan_to_num(on_hand) - np.nan_to_num(transit))))})
    risk = (runout >= 0) & (runout + 1 < days_l)
    quiet = fc.info["quiet_weeks"].to_numpy() > 0
    choices = [(np.isnan(on_hand), "无库存数据：无法计算补货量", 5),
               (risk & (out["order_qty"].to_numpy() > 0), "断货风险：到货前将售罄，请立即补货并加急", 0),
               (risk, "断货风险：在途货物到货前将售罄，请催促在途采购单或调货", 1),
               (quiet, "近期无销量", 3),
               (out["order_qty"].to_numpy() > 0, "建议补货", 2)]
    out["status"] = np.select([c for c, _, _ in choices], [s for _, s, _ in choices], "库存充足")
    hold = out["status"].to_numpy() == "近期无销量"
    out.loc[hold, "status"] = [f"近 {w} 周无销量：请确认是否已下架或链接异常，确认前暂缓补货"
                               for w in fc.info.loc[out.loc[hold, "sku"], "quiet_weeks"]]
    overdue = (out["next_due"].notna() & (out["next_due"] <= pd.Timestamp(as_of))).to_numpy()
    out.loc[overdue, "status"] = out.loc[overdue, "status"] + "（在途采购单已逾期）"
    urgency = np.select([c for c, _, _ in choices], [u for _, _, u in choices], 4)
    return out.assign(_u=urgency).sort_values(["_u", "order_qty", "sku"], ascending=[True, False, True],
                                              kind="stable").drop(columns="_u").reset_index(drop=True)


def _next_due(open_orders: pd.DataFrame, skus: pd.Index) -> np.ndarray:
    """The earliest promised day of each SKU's open purchase orders (NaT without any)."""
    if open_orders.empty:
        return np.full(len(skus), np.datetime64("NaT"), dtype="datetime64[us]")
    return open_orders.groupby("sku")["due"].min().reindex(skus).to_numpy()


def _covered_days(fc: Forecast, as_of: dt.date) -> int:
    """Days from the day after `as_of` to the last forecast day."""
    return ((fc.weeks[-1] + pd.Timedelta(days=6)).date() - as_of).days


def _due_by_day(open_orders: pd.DataFrame, skus: pd.Index, span: pd.DatetimeIndex) -> np.ndarray:
    """Units of open purchase orders due on each day of `span`, per SKU (overdue ones count as not yet known)."""
    due = np.zeros((len(skus), len(span)))
    if open_orders.empty:
        return due
    where = skus.get_indexer(open_orders["sku"])
    day = span.get_indexer(pd.DatetimeIndex(open_orders["due"]))
    ok = (where >= 0) & (day >= 0)
    np.add.at(due, (where[ok], day[ok]), open_orders["qty"].to_numpy(float)[ok])
    return due


def _runout(stock_now: np.ndarray, demand: np.ndarray, due: np.ndarray) -> np.ndarray:
    """Index of the day stock runs out (expected demand beyond stock and the arrivals so far), −1 if it lasts."""
    position = np.nan_to_num(stock_now)[:, None] + np.cumsum(due - demand, axis=1)
    short = position < 0
    found = short.argmax(axis=1)
    return np.where(short.any(axis=1) & ~np.isnan(stock_now), found, -1)


# ------------------------------------------------------------------------------------------------ tables for people

def _week_label(monday) -> str:
    """2026-W27（06-29起）."""
    return f"{monday.isocalendar().year}-W{monday.isocalendar().week:02d}（{monday:%m-%d}起）"


def forecast_table(fc: Forecast, history: Sales, skus: pd.Index, weeks: int) -> pd.DataFrame:
    """需求预测: one row per SKU, one column per forecast week (units, one decimal), the total, and the method."""
    shown = fc.units.loc[skus].iloc[:, :weeks].round(1)
    shown.columns = [_week_label(w) for w in shown.columns]
    info = history.skus.loc[skus]
    out = pd.DataFrame({"sku": skus, "name": info["name"].to_numpy(), "category": info["category"].to_numpy(),
                        "platform": info["platform"].to_numpy(), "method": fc.info.loc[skus, "method"].to_numpy()})
    out = pd.concat([out, shown.reset_index(drop=True)], axis=1)
    out["total"] = shown.sum(axis=1).round(1).to_numpy()
    return out


def trend(history: Sales, fc: Forecast, skus: pd.Index, weeks: int = 52) -> pd.DataFrame:
    """Weekly units of the chosen SKUs: the last `weeks` weeks sold and the forecast weeks (for the chart)."""
    sold = history.units.loc[skus].sum(axis=0).iloc[-weeks:]
    ahead = fc.units.loc[skus].sum(axis=0)
    return pd.DataFrame({"week": list(sold.index) + list(ahead.index),
                         "actual": list(sold.to_numpy()) + [np.nan] * len(ahead),
                         "forecast": [np.nan] * (len(sold) - 1) + [sold.iloc[-1]] + list(ahead.round(1).to_numpy())})


def forecast_note(history: Sales, fc: Forecast, as_of: dt.date) -> str:
    """What the forecast counted and what it could not adjust for, in Chinese."""
    lines = [f"历史：{history.weeks[0]:%Y-%m-%d} 至 {history.last_day:%Y-%m-%d} 的 {len(history.weeks)} 个完整周；"
             f"预测从 {fc.weeks[0]:%Y-%m-%d}（周一）开始。"]
    if history.orders_until and history.orders_until < as_of:
        lines.append(f"订单数据只到 {history.orders_until}：只用到 {history.last_day}（周日）为止的完整周，之后的日子不当作没有销量；"
                     f"补货按 {as_of + dt.timedelta(days=1)} 起的需求计算。")
    elif history.last_day < as_of:
        lines.append(f"参考日期 {as_of} 所在的周还没过完，只用到 {history.last_day}（周日）为止的完整周；"
                     f"补货按 {as_of + dt.timedelta(days=1)} 起的需求计算。")
    if fc.unseen:
        lines.append("历史中没有出现过的日历事件，预测未做上浮或下调：" + "、".join(fc.unseen) + "。")
    lines.append("大促、预售、春节物流停运和法定节假日的系数按全店每日销量估计（data/reference/promotions.yaml 与 holidays 包）。")
    return "\n".join(lines)


def replenishment_note(stock_: pd.DataFrame, review_days: int, service_level: float) -> str:
    """How the order quantities were computed, in Chinese."""
    z = NormalDist().inv_cdf(service_level)
    lines = [f"建议补货量按目标库存计算，不看再订货点：建议补货量 = 目标库存 − 可售库存 − 在途数量（向上取整，不小于 0）；"
             f"目标库存 = 提前期+补货周期需求（补货周期 {review_days} 天）+ 安全库存（提前期+补货周期），向上取整。",
             "再订货点 = 提前期需求 + 安全库存（提前期），向上取整，仅供参考：库存加在途低于它时，到货前可能断货。",
             f"两列安全库存 = {z:.2f}（服务水平 {service_level * 100:.1f}%）× 周预测误差 × √(所覆盖的周数)，向上取整："
             "覆盖提前期+补货周期的一列大于只覆盖提前期的一列。预计断货日期按可售库存与到期采购单（约定交期）逐日扣减预测需求；"
             "已逾期未到的采购单不计入断货日期前的到货。"]
    if "first_snapshot" not in stock_.attrs:
        lines.append("数据源中没有 inventory（库存）表：无法计算补货量。")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ flags, headline

def findings(plan: pd.DataFrame, per_sku: pd.DataFrame, summary: dict, stock_: pd.DataFrame, as_of: dt.date, *,
             min_weekly_units: float) -> list[Flag]:
    """Flags: SKUs whose stock runs out before an order placed now could arrive (供应链, high); silent SKUs (运营,
    low); SKUs without a stock snapshot (供应链, low); a stale snapshot (供应链, low); SKUs selling at least
    `min_weekly_units` a week in the backtest whose forecast did worse than the seasonal-naive baseline (数据分析,
    low), or the whole forecast doing so (数据分析, medium)."""
    out = []
    risk = plan[plan["status"].str.startswith("断货风险")]
    if len(risk):
        items = "、".join(_risk_text(r, as_of) for r in risk.head(5).itertuples())
        out.append(make("forecast.stockout", "high", "供应链",
                        f"{len(risk)} 个 SKU 按预测销量在补货到货前就会断货：{items}{' 等' if len(risk) > 5 else ''}。"
                        "请立即补货并要求供应商加急，催促在途采购单，或从其他平台/仓库调货",
                        risk[["sku", "name", "stock", "in_transit", "next_due", "runout_date", "lead_time_days",
                              "order_qty"]]))
    quiet = plan[plan["status"].str.contains("周无销量")]
    if len(quiet):
        items = "、".join(f"{r.sku}（{r.status.split('：')[0]}）" for r in quiet.head(5).itertuples())
        out.append(make("forecast.no_recent_sales", "low", "运营",
                        f"{len(quiet)} 个 SKU 近几周一件未卖，而按此前的销量这几乎不可能是偶然：{items}"
                        f"{' 等' if len(quiet) > 5 else ''}。疑似已下架、链接异常或断货未记录，请确认；预测仍按历史水平，确认前暂缓补货",
                        quiet[["sku", "name", "stock", "order_qty", "status"]]))
    missing = plan[plan["stock"].isna()]
    if "first_snapshot" not in stock_.attrs:
        out.append(make("forecast.no_stock", "low", "供应链",
                        "数据源中没有 inventory（库存）表：只给出需求预测，无法计算补货量；请导入库存快照"))
    elif len(missing):
        first = stock_.attrs["first_snapshot"]
        since = f"（库存快照从 {first} 开始）" if first and first > as_of else ""
        out.append(make("forecast.no_stock", "low", "供应链",
                        f"{len(missing)} 个 SKU 在 {as_of} 及之前没有库存快照{since}，无法计算补货量：请导入这些 SKU 的库存",
                        missing[["sku", "name", "method"]]))
    stale = plan[plan["stock_date"].notna() & (plan["stock_date"] < pd.Timestamp(as_of))]
    if len(stale):
        oldest = stale["stock_date"].min()
        out.append(make("forecast.stock_date", "low", "供应链",
                        f"{len(stale)} 个 SKU 的库存快照早于参考日期 {as_of}（最早 {oldest:%Y-%m-%d}）：补货量按旧库存计算，"
                        "请导入最新库存后复核", stale[["sku", "name", "stock", "stock_date"]]))
    if summary.get("model") is not None and summary.get("baseline") is not None and summary["model"] > summary["baseline"]:
        out.append(make("forecast.worse_overall", "medium", "数据分析",
                        f"回测整体误差（WAPE）{summary['model'] * 100:.1f}% 高于季节性朴素基准 {summary['baseline'] * 100:.1f}%："
                        "本次预测不比“去年同周”更准，补货量请人工复核（检查断货、改价、下架或新的大促是否影响了历史）"))
    weeks = len(per_sku.attrs.get("weeks", [])) or 1
    worse = per_sku[(per_sku["verdict"] == "不如基准") & (per_sku["actual_units"] >= min_weekly_units * weeks)]
    if len(worse):
        items = "、".join(f"{r.sku}（{r.model_error_rate * 100:.1f}% 对 {r.baseline_error_rate * 100:.1f}%）"
                          for r in worse.head(5).itertuples())
        out.append(make("forecast.worse_than_baseline", "low", "数据分析",
                        f"{len(worse)} 个销量较大（回测期周均不少于 {min_weekly_units:g} 件）的 SKU 回测误差高于季节性朴素基准：{items}"
                        f"{' 等' if len(worse) > 5 else ''}。请检查这些 SKU 是否断货、改价、下架或参加了日历外的活动",
                        worse[["sku", "name", "actual_units", "model_error_rate", "baseline_error_rate"]]))
    return out


def _risk_text(r, as_of: dt.date) -> str:
    """One SKU at risk, for a flag: stock, the day it runs out, the lead time, what is in transit and when it is due."""
    sold_out = "已断货" if r.stock <= 0 else f"预计 {r.runout_date:%m-%d} 售罄"  # stock 0 has nothing left to sell out
    text = f"{r.sku}（库存 {r.stock:g}，{sold_out}，提前期 {r.lead_time_days} 天"
    if r.in_transit and r.in_transit > 0:
        if pd.isna(r.next_due):
            text += f"，在途 {r.in_transit:g} 件到货日期未知"
        else:
            late = r.next_due <= pd.Timestamp(as_of)
            text += f"，在途 {r.in_transit:g} 件约定 {r.next_due:%m-%d} 到货{'，已逾期' if late else ''}"
    return text + "）"


def headline(plan: pd.DataFrame, summary: dict, fc: Forecast, skus: pd.Index, backtest_weeks: int) -> tuple[dict, dict]:
    """The run's metrics (None where missing) and the report's cards."""
    def num(v):
        return None if v is None or pd.isna(v) else round(float(v), 4)
    ordered = plan["order_qty"].fillna(0)
    category = fc.info.loc[skus, "method"].str.startswith("类目")
    metrics = {"skus": int(len(skus)), "category_level_skus": int(category.sum()),
               "forecast_units": num(fc.units.loc[skus].iloc[:, 0].sum()),
               "wape_model": num(summary["model"]), "wape_baseline": num(summary["baseline"]),
               "wape_ratio": num(summary["ratio"]), "order_skus": int((ordered > 0).sum()),
               "order_units": int(ordered.sum()), "stockout_risk_skus": int(plan["status"].str.startswith("断货风险").sum())}
    cards = {"SKU 数": f"{metrics['skus']}（类目级 {metrics['category_level_skus']}）",
             f"{_week_label(fc.weeks[0])} 预测销量": report.count(metrics["forecast_units"]),
             f"回测误差（近 {backtest_weeks} 周）": report.pct(summary["model"]),
             "基准误差（去年同周）": report.pct(summary["baseline"]),
             "建议补货": f"{metrics['order_skus']} 个 SKU，{metrics['order_units']:,} 件",
             "断货风险": f"{metrics['stockout_risk_skus']} 个 SKU"}
    return metrics, cards


def only(frame: pd.DataFrame, skus: pd.Index) -> pd.DataFrame:
    """The rows of `frame` for the SKUs shown (the platform chosen), its attributes kept."""
    out = frame[frame["sku"].isin(skus)].reset_index(drop=True)
    out.attrs = dict(frame.attrs)
    return out
