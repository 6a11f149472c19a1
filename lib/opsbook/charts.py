"""Charts with a registered CJK font, so Chinese renders without 'Glyph missing' warnings."""
from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
from matplotlib import font_manager
from matplotlib.ticker import FuncFormatter, MaxNLocator

FONT_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)
PALETTE = ["#2c3e50", "#e67e22", "#27ae60", "#8e44ad", "#c0392b", "#16a085"]
NO_FONT = "未找到中文字体，图表中的中文会显示为方框：请安装 fonts-noto-cjk（Debian/Ubuntu：apt-get install fonts-noto-cjk）"


@lru_cache(maxsize=1)
def setup() -> str | None:
    """Register the first CJK font found and make it matplotlib's default; return its family name, or None when
    there is none (charts still draw, their Chinese as boxes: `NO_FONT` says so in the report)."""
    family = None
    for path in FONT_FILES:
        if Path(path).is_file():
            font_manager.fontManager.addfont(path)
            family = font_manager.FontProperties(fname=path).get_name()
            break
    else:
        logging.getLogger("opsbook.charts").warning(NO_FONT)
    plt.rcParams.update({
        "font.family": "sans-serif", "font.sans-serif": [family or "DejaVu Sans", "DejaVu Sans"],
        "axes.unicode_minus": False, "figure.figsize": (9, 3.6), "figure.dpi": 100,
        "axes.spines.top": False, "axes.spines.right": False, "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    })
    return family


def _finish(fig, ax, title: str, money: bool = False, pct: bool = False, hline=None, legend: bool = False):
    if hline is not None:
        value, label = hline
        ax.axhline(value, color="#c0392b", linestyle="--", linewidth=1, label=label)
    if legend or hline is not None:
        ax.legend(frameon=False, fontsize=9)
    ax.set_title(title, loc="left", fontsize=12, fontweight="bold")
    if money:
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"¥{v / 10000:,.0f}万" if abs(v) >= 1e4 else f"¥{v:,.0f}"))
    if pct:
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v * 100:.0f}%"))
    fig.tight_layout()
    plt.close(fig)
    return fig


def line(df, x: str, ys: dict[str, str], title: str, money: bool = False, pct: bool = False, hline=None):
    """Line chart of columns `ys` (column → Chinese legend) against `x`; optional reference line."""
    setup()
    fig, ax = plt.subplots()
    for col, label in ys.items():
        ax.plot(df[x], df[col], label=label, linewidth=1.6)
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    return _finish(fig, ax, title, money, pct, hline, legend=True)


def bar(df, x: str, y: str, title: str, money: bool = False, pct: bool = False, hline=None, highlight=None):
    """Bar chart of `y` per `x`; bars where `highlight` (a boolean column) is true are drawn red."""
    setup()
    fig, ax = plt.subplots()
    colours = [PALETTE[4] if highlight is not None and h else PALETTE[0]
               for h in (df[highlight] if highlight is not None else [False] * len(df))]
    ax.bar(df[x].astype(str), df[y], color=colours)
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    return _finish(fig, ax, title, money, pct, hline)


def funnel(stages: list[str], values: list[float], title: str):
    """Horizontal funnel with the step conversion printed beside each bar."""
    setup()
    fig, ax = plt.subplots(figsize=(9, 0.6 + 0.55 * len(stages)))
    ax.barh(stages[::-1], values[::-1], color=PALETTE[0])
    for i, (stage, value) in enumerate(zip(stages, values)):
        step = f"  {value:,.0f}" + (f"（{value / values[i - 1] * 100:.1f}%）" if i and values[i - 1] else "")
        ax.text(value, len(stages) - 1 - i, step, va="center", fontsize=9)
    ax.set_xticks([])
    return _finish(fig, ax, title)


def panels(df, x: str, measures: list[tuple[str, str, float | None]], title: str, pct: bool = True):
    """One small chart per measure, each on its own scale with its own red line: `measures` is (column, Chinese
    name, red line or None); rates of very different sizes no longer flatten each other on one axis."""
    setup()
    fig, axes = plt.subplots(1, len(measures), figsize=(9, 3.2), squeeze=False)
    for ax, (column, name, line) in zip(axes[0], measures):
        ax.plot(df[x].astype(str), df[column], linewidth=1.6, color=PALETTE[0], marker="o", markersize=2.5)
        if line is not None:
            ax.axhline(line, color="#c0392b", linestyle="--", linewidth=1)
            ax.annotate(f"红线 {line * 100:.0f}%" if pct else f"红线 {line:g}", xy=(1, line), xycoords=("axes fraction", "data"),
                        xytext=(-2, 3), textcoords="offset points", ha="right", fontsize=8, color="#c0392b")
        ax.set_title(name, loc="left", fontsize=10)
        ax.tick_params(axis="x", labelrotation=45, labelsize=7)
        ax.tick_params(axis="y", labelsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(6))
        if pct:
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v * 100:.0f}%" if v >= 0.1 or v == 0 else f"{v * 100:.1f}%"))
    fig.suptitle(title, x=0.01, ha="left", fontsize=12, fontweight="bold")
    fig.tight_layout()
    plt.close(fig)
    return fig


def pareto(df, x: str, y: str, title: str, lines: list[tuple[float, str]] = (), xlabel: str = "", ylabel: str = ""):
    """A Pareto curve: cumulative share `y` against cumulative share `x` (both fractions, from 0), with dashed
    horizontal lines at the given shares (value, Chinese label), e.g. the A and A+B classes of an ABC analysis."""
    setup()
    fig, ax = plt.subplots()
    ax.plot(df[x], df[y], linewidth=1.8, color=PALETTE[0])
    ax.fill_between(df[x], df[y], color=PALETTE[0], alpha=0.08)
    for i, (value, label) in enumerate(lines):
        ax.axhline(value, color=PALETTE[(4, 1, 2)[i % 3]], linestyle="--", linewidth=1, label=label)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v * 100:.0f}%"))
    ax.set_xlabel(xlabel, fontsize=9)
    ax.set_ylabel(ylabel, fontsize=9)
    return _finish(fig, ax, title, pct=True, legend=bool(lines))


def gantt(df, label: str, start: str, end: str, colour: str, title: str, today=None, spans=(), marks: str | None = None,
          legend: dict[str, str] | None = None, mark_label: str = ""):
    """A Gantt chart: one bar per row (top to bottom in the frame's order) labelled by `label`, from `start` to `end`
    (dates, both days included), coloured by the `colour` column (#rrggbb); a red dashed line through the `today` day,
    shaded `spans` (first day, last day, Chinese label), a tick on each bar at its `marks` date (e.g. a warning line,
    `mark_label` in the legend), and `legend` (colour → Chinese label) for the bars' colours."""
    import matplotlib.dates as mdates
    import numpy as np
    import pandas as pd
    from matplotlib.patches import Patch

    setup()
    n = len(df)
    fig, ax = plt.subplots(figsize=(10, 1.4 + 0.3 * max(n, 1)))
    y = np.arange(n)
    first = mdates.date2num(pd.to_datetime(df[start]).dt.to_pydatetime()) if n else np.array([])
    last = mdates.date2num(pd.to_datetime(df[end]).dt.to_pydatetime()) + 1 if n else np.array([])
    ax.barh(y, last - first, left=first, color=list(df[colour]), height=0.62, edgecolor="white", linewidth=0.5)
    handles = [Patch(color=c, label=text) for c, text in (legend or {}).items()]
    for a, b, text in spans:
        handles.append(ax.axvspan(mdates.date2num(pd.Timestamp(a)), mdates.date2num(pd.Timestamp(b)) + 1,
                                  color="#f5b7b1", alpha=0.3, label=text, zorder=0))
    if marks is not None and n:
        at = pd.to_datetime(df[marks])
        shown = at.notna().to_numpy()
        if shown.any():
            handles.append(ax.scatter(mdates.date2num(at[shown].dt.to_pydatetime()) + 0.5, y[shown], marker="|",
                                      s=140, linewidths=1.6, color="#2c3e50", label=mark_label or marks, zorder=3))
    if today is not None:
        handles.append(ax.axvline(mdates.date2num(pd.Timestamp(today)) + 0.5, color="#c0392b", linestyle="--",
                                  linewidth=1.2, label=f"参考日期 {pd.Timestamp(today):%Y-%m-%d}", zorder=4))
    ax.set_yticks(y, list(df[label]), fontsize=8)
    ax.set_ylim(n - 0.5, -0.5)
    ax.xaxis_date()
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d"))
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(axis="x", color="#ecf0f1", linewidth=0.8)
    ax.set_axisbelow(True)
    if handles:
        ax.legend(handles=handles, frameon=False, fontsize=8, loc="lower left")
    return _finish(fig, ax, title)
