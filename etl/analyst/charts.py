"""The report's charts as PNG files (matplotlib, no display needed), one job each:

* ``excess_chart``: one firm and account class over time: excess in dollars with the management target
  and the 20-day mean, deficiency days in red and days under target in orange; below it, excess as a
  percentage of the requirement with the target's percentage;
* ``industry_totals_chart``: requirement, funds and excess across all firms per account class;
* ``concentration_chart``: the Herfindahl-Hirschman index and the five largest firms' share.

Charts are drawn on one reused figure per process (creating a figure costs more than drawing it).
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("MPLCONFIGDIR", os.path.join(os.path.expanduser("~"), ".cache", "dailyseg-matplotlib"))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from etl.form.catalog import STATEMENTS  # noqa: E402

STATEMENT_TITLES = {"segregation": "Segregation 4d(2)", "secured": "Secured amounts 30.7",
                    "swaps": "Cleared swaps 4d(f)"}
BLUE, ORANGE, RED, GREY, GREEN = "#1f5fa8", "#e08a00", "#c62828", "#9e9e9e", "#2e7d32"
DPI = 100


def dollar_label(value: float, _pos=None) -> str:
    size = abs(value)
    for limit, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if size >= limit:
            return f"${value / limit:,.1f}{suffix}"
    return f"${value:,.0f}"


_DOLLARS = FuncFormatter(dollar_label)
_PERCENT = FuncFormatter(lambda v, _pos=None: f"{v:.1f}%")
_figures: dict[str, tuple] = {}


def _figure(kind: str, rows: int, height: float, ratios=None, right: float = 0.98):
    """This process's figure for a kind of chart, its axes cleared. Margins are fixed (a layout engine
    would cost more than drawing the chart): room for dollar labels on the left, titles on top."""
    if kind not in _figures:
        fig, axes = plt.subplots(rows, 1, figsize=(9, height), dpi=DPI, sharex=True, squeeze=False,
                                 gridspec_kw={"height_ratios": ratios} if ratios else None)
        fig.subplots_adjust(left=0.105, right=right, top=1 - 0.32 / height, bottom=0.45 / height,
                            hspace=0.42 if rows > 2 else 0.16)
        _figures[kind] = (fig, [ax for row in axes for ax in row])
    fig, axes = _figures[kind]
    for ax in axes:
        for twin in getattr(ax, "_dailyseg_twins", []):
            twin.remove()
        ax._dailyseg_twins = []
        ax.cla()
    return fig, axes


def _title(ax, text: str, size: float = 10.5) -> None:
    """A title in axes coordinates (``set_title`` re-measures every tick label to place itself)."""
    ax.text(0, 1.03, text, transform=ax.transAxes, fontsize=size, ha="left", va="bottom")


def _finish(fig, axes, path: Path) -> Path:
    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
    axes[-1].xaxis.set_major_locator(locator)
    axes[-1].xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    for ax in axes:
        ax.grid(True, color="#e6e6e6", linewidth=0.6)
        ax.spines[["top", "right"]].set_visible(False)
    path.parent.mkdir(parents=True, exist_ok=True)
    # light compression: most of a PNG's time is zlib at the default level, for a few percent of size
    fig.savefig(path, format="png", dpi=DPI, pil_kwargs={"compress_level": 2})
    return path


def _values(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series, errors="coerce").astype("float64").to_numpy()


def break_gaps(frame: pd.DataFrame, max_gap_days: int = 10) -> pd.DataFrame:
    """The rows with an empty row inserted wherever filings stop for more than ``max_gap_days``, so a
    line is broken there instead of drawn straight across years without data."""
    days = pd.to_datetime(frame["end_date"])
    gaps = (days.diff() > pd.Timedelta(days=max_gap_days)).to_numpy()
    if not gaps.any():
        return frame
    fillers = pd.DataFrame({"end_date": (days[gaps] - pd.Timedelta(days=1)).to_numpy()})
    for column in frame.columns:
        if column not in fillers:
            fillers[column] = frame[column].iloc[0] if column in ("firm", "statement") else None
    joined = pd.concat([frame.assign(end_date=days), fillers[frame.columns]], ignore_index=True)
    return joined.sort_values("end_date", kind="stable").reset_index(drop=True)


def excess_chart(history: pd.DataFrame, firm: str, statement: str, path: Path) -> Path:
    """``history``: one firm's ``excess_trend`` rows for one account class, oldest first."""
    fig, (top, bottom) = _figure("excess", 2, 4.6, ratios=[3, 2])
    history = break_gaps(history)
    days = pd.to_datetime(history["end_date"]).to_numpy()
    excess, target = _values(history["excess"]), _values(history["target"])
    requirement, mean20 = _values(history["requirement"]), _values(history["excess_mean_20d"])
    deficient = excess < 0
    below = (~deficient) & (_values(history["excess_over_target"]) < 0)

    top.axhline(0, color=GREY, linewidth=0.8)
    top.plot(days, excess, color=BLUE, linewidth=1.4, label="excess")
    if len(days) > 20:
        top.plot(days, mean20, color=BLUE, linewidth=0.8, alpha=0.45, label="20-day mean")
    if np.isfinite(target).any():
        top.step(days, target, where="post", color=ORANGE, linewidth=1.2, linestyle="--", label="management target")
    if below.any():
        top.scatter(days[below], excess[below], s=14, color=ORANGE, zorder=3, label=f"below target ({below.sum()})")
    if deficient.any():
        top.scatter(days[deficient], excess[deficient], s=22, color=RED, zorder=4,
                    label=f"deficiency ({deficient.sum()})")
        top.vlines(days[deficient], 0, 1, transform=top.get_xaxis_transform(), color=RED, alpha=0.15,
                   linewidth=2)
    top.yaxis.set_major_formatter(_DOLLARS)
    top.set_ylabel("excess")
    _title(top, f"{firm}: {STATEMENT_TITLES.get(statement, statement)}", size=11)
    top.legend(loc="upper left", fontsize=7, ncol=5, framealpha=0.85, edgecolor="none")

    with np.errstate(divide="ignore", invalid="ignore"):
        target_pct = np.where(requirement != 0, 100 * target / requirement, np.nan)
    bottom.axhline(0, color=GREY, linewidth=0.8)
    bottom.plot(days, _values(history["excess_pct"]), color=GREEN, linewidth=1.2, label="excess % of requirement")
    if np.isfinite(target_pct).any():
        bottom.step(days, target_pct, where="post", color=ORANGE, linewidth=1.0, linestyle="--",
                    label="target % of requirement")
    bottom.yaxis.set_major_formatter(_PERCENT)
    bottom.set_ylabel("% of requirement")
    bottom.legend(loc="upper left", fontsize=7, ncol=2, framealpha=0.85, edgecolor="none")
    return _finish(fig, [top, bottom], path)


def industry_totals_chart(industry: pd.DataFrame, path: Path) -> Path:
    """``industry``: ``industry_daily`` rows, oldest first."""
    fig, axes = _figure("industry", 3, 7.0)
    for ax, statement in zip(axes, STATEMENTS):
        part = break_gaps(industry[industry["statement"] == statement])
        days = pd.to_datetime(part["end_date"]).to_numpy()
        ax.plot(days, _values(part["total_funds"]), color=GREEN, linewidth=1.2, label="funds held")
        ax.plot(days, _values(part["total_requirement"]), color=BLUE, linewidth=1.2, label="owed (requirement)")
        ax.fill_between(days, _values(part["total_requirement"]), _values(part["total_funds"]), color=GREEN,
                        alpha=0.12, label="excess")
        ax.yaxis.set_major_formatter(_DOLLARS)
        _title(ax, f"All firms: {STATEMENT_TITLES[statement]}")
        ax.legend(loc="upper left", fontsize=7, frameon=False, ncol=3)
    return _finish(fig, axes, path)


def concentration_chart(industry: pd.DataFrame, path: Path) -> Path:
    fig, (ax,) = _figure("concentration", 1, 3.4, right=0.9)
    twin = ax.twinx()
    ax._dailyseg_twins = [twin]
    for statement, style in (("segregation", "-"), ("secured", "--"), ("swaps", ":")):
        part = break_gaps(industry[industry["statement"] == statement])
        days = pd.to_datetime(part["end_date"]).to_numpy()
        ax.plot(days, _values(part["hhi"]), color=BLUE, linestyle=style, linewidth=1.2,
                label=f"HHI, {statement}")
        twin.plot(days, _values(part["top5_share_pct"]), color=ORANGE, linestyle=style, linewidth=1.0,
                  label=f"top 5 share, {statement}")
    ax.set_ylabel("HHI (0-10,000)")
    twin.set_ylabel("five largest firms' share")
    twin.yaxis.set_major_formatter(_PERCENT)
    twin.spines[["top"]].set_visible(False)
    _title(ax, "Concentration of customer funds (share of the requirement)")
    lines = ax.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], loc="upper left", fontsize=7, frameon=False, ncol=3)
    return _finish(fig, [ax], path)
