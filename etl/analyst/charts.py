"""The report's charts as PNG files (matplotlib, no display needed), one job each:

* ``excess_chart``: one firm and account class over time: excess in dollars with the management target
  and the 20-day mean, deficiency days in red and days under target in orange; below it, excess as a
  percentage of the requirement with the target's percentage;
* ``industry_totals_chart``: requirement, funds and excess across all firms per account class;
* ``concentration_chart``: the Herfindahl-Hirschman index and the five largest firms' share.

Each chart's time axis spans its own days, or the range asked for, broken at long stretches without
filings (``etl.analyst.time_axis``); sparse series are drawn with their points, and a single day with
its figures written beside them. Charts are drawn on one reused figure per process (creating a figure
costs more than drawing it).
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("MPLCONFIGDIR", os.path.join(os.path.expanduser("~"), ".cache", "dailyseg-matplotlib"))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from etl.analyst.time_axis import TimeAxis  # noqa: E402
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
                            hspace=0.42 if rows > 2 else 0.3)
        _figures[kind] = (fig, [ax for row in axes for ax in row])
    fig, axes = _figures[kind]
    for ax in axes:
        for twin in getattr(ax, "_dailyseg_twins", []):
            twin.remove()
        ax._dailyseg_twins = []
        ax.cla()
    return fig, axes


def _legend_above(ax) -> None:
    """The legend above the plot, right-aligned beside the title, where it hides no data."""
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles, labels, loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False,
              ncol=len(labels), borderaxespad=0.1, handlelength=1.6, columnspacing=1.0)


def _title(ax, text: str, size: float = 10.5) -> None:
    """A title in axes coordinates (``set_title`` re-measures every tick label to place itself)."""
    ax.text(0, 1.03, text, transform=ax.transAxes, fontsize=size, ha="left", va="bottom")


#: a series with at most this many days is drawn with a marker on each (a line alone hides a lone day)
MARKED_POINTS = 40


def _style(n_days: int) -> dict:
    return {"marker": "o", "markersize": 3.5 if n_days > 1 else 6} if n_days <= MARKED_POINTS else {}


def _label_points(ax, days, values, color: str, text) -> None:
    """Write each point's figure beside it (for a chart of a single day)."""
    for day, value in zip(days, values):
        if np.isfinite(value):
            ax.annotate(text(value), (day, value), xytext=(8, 0), textcoords="offset points", va="center",
                        fontsize=8.5, color=color)


def _finish(fig, axes, path: Path, axis: TimeAxis) -> Path:
    axis.apply(axes)
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


def excess_chart(history: pd.DataFrame, firm: str, statement: str, path: Path, axis: TimeAxis) -> Path:
    """``history``: one firm's ``excess_trend`` rows for one account class, oldest first; ``axis``: the
    firm's time axis."""
    fig, (top, bottom) = _figure("excess", 2, 4.6, ratios=[3, 2])
    n_days = len(history)
    style = _style(n_days)
    history = break_gaps(history)
    days = pd.to_datetime(history["end_date"]).to_numpy()
    excess, target = _values(history["excess"]), _values(history["target"])
    requirement, mean20 = _values(history["requirement"]), _values(history["excess_mean_20d"])
    deficient = excess < 0
    below = (~deficient) & (_values(history["excess_over_target"]) < 0)

    top.axhline(0, color=GREY, linewidth=0.8)
    top.plot(days, excess, color=BLUE, linewidth=1.4, label="excess", **style)
    if len(days) > 20:
        top.plot(days, mean20, color=BLUE, linewidth=0.8, alpha=0.45, label="20-day mean")
    if np.isfinite(target).any():
        top.step(days, target, where="post", color=ORANGE, linewidth=1.2, linestyle="--", label="management target",
                 **style)
    if below.any():
        top.scatter(days[below], excess[below], s=14, color=ORANGE, zorder=3, label=f"below target ({below.sum()})")
    if deficient.any():
        top.scatter(days[deficient], excess[deficient], s=22, color=RED, zorder=4,
                    label=f"deficiency ({deficient.sum()})")
        top.vlines(days[deficient], 0, 1, transform=top.get_xaxis_transform(), color=RED, alpha=0.15,
                   linewidth=2)
    top.yaxis.set_major_formatter(_DOLLARS)
    top.set_ylabel("excess")
    if n_days == 1:
        _label_points(top, days, excess, BLUE, lambda v: f"excess {dollar_label(v)}")
        _label_points(top, days, target, ORANGE, lambda v: f"target {dollar_label(v)}")
    _title(top, f"{firm}: {STATEMENT_TITLES.get(statement, statement)}", size=11)
    _legend_above(top)

    with np.errstate(divide="ignore", invalid="ignore"):
        target_pct = np.where(requirement != 0, 100 * target / requirement, np.nan)
    bottom.axhline(0, color=GREY, linewidth=0.8)
    excess_pct = _values(history["excess_pct"])
    bottom.plot(days, excess_pct, color=GREEN, linewidth=1.2, label="excess % of requirement", **style)
    if np.isfinite(target_pct).any():
        bottom.step(days, target_pct, where="post", color=ORANGE, linewidth=1.0, linestyle="--",
                    label="target % of requirement", **style)
    if n_days == 1:
        _label_points(bottom, days, excess_pct, GREEN, lambda v: f"{v:.1f}%")
        _label_points(bottom, days, target_pct, ORANGE, lambda v: f"{v:.1f}%")
    bottom.yaxis.set_major_formatter(_PERCENT)
    bottom.set_ylabel("% of requirement")
    _legend_above(bottom)
    return _finish(fig, [top, bottom], path, axis)


def industry_totals_chart(industry: pd.DataFrame, path: Path, axis: TimeAxis) -> Path:
    """``industry``: ``industry_daily`` rows, oldest first."""
    fig, axes = _figure("industry", 3, 7.0)
    for ax, statement in zip(axes, STATEMENTS):
        part = industry[industry["statement"] == statement]
        style = _style(len(part))
        part = break_gaps(part)
        days = pd.to_datetime(part["end_date"]).to_numpy()
        ax.plot(days, _values(part["total_funds"]), color=GREEN, linewidth=1.2, label="funds held", **style)
        ax.plot(days, _values(part["total_requirement"]), color=BLUE, linewidth=1.2, label="owed (requirement)",
                **style)
        ax.fill_between(days, _values(part["total_requirement"]), _values(part["total_funds"]), color=GREEN,
                        alpha=0.12, label="excess")
        ax.yaxis.set_major_formatter(_DOLLARS)
        _title(ax, f"All firms: {STATEMENT_TITLES[statement]}")
        _legend_above(ax)
    return _finish(fig, axes, path, axis)


def concentration_chart(industry: pd.DataFrame, path: Path, axis: TimeAxis) -> Path:
    fig, (ax,) = _figure("concentration", 1, 3.4, right=0.9)
    twin = ax.twinx()
    ax._dailyseg_twins = [twin]
    for statement, line in (("segregation", "-"), ("secured", "--"), ("swaps", ":")):
        part = industry[industry["statement"] == statement]
        style = _style(len(part))
        part = break_gaps(part)
        days = pd.to_datetime(part["end_date"]).to_numpy()
        ax.plot(days, _values(part["hhi"]), color=BLUE, linestyle=line, linewidth=1.2,
                label=f"HHI, {statement}", **style)
        twin.plot(days, _values(part["top5_share_pct"]), color=ORANGE, linestyle=line, linewidth=1.0,
                  label=f"top 5 share, {statement}", **style)
    ax.set_ylabel("HHI (0-10,000)")
    twin.set_ylabel("five largest firms' share")
    twin.yaxis.set_major_formatter(_PERCENT)
    twin.spines[["top"]].set_visible(False)
    _title(ax, "Concentration of customer funds (share of the requirement)")
    lines = ax.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], loc="best", fontsize=7, framealpha=0.85, edgecolor="none",
              ncol=2)
    return _finish(fig, [ax], path, axis)  # the twin shares the axis
