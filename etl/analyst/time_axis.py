"""The time axis of the report's charts: where the data is, using the chart's width.

A chart's axis spans the days it has data for, or the range the reader asked for. When the days fall
in stretches separated by a long stretch without filings (one real filing from 2013 beside three weeks
of 2016), the axis is broken there: each stretch gets width in proportion to its length (at least a
sliver, so a single day shows), the gap between them a narrow shaded band, and the ticks are placed
within each stretch. A short gap (a missed week in years of data) stays on the axis at its true width,
where the lines stop and start again (``charts.break_gaps``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.ticker import FixedFormatter, FixedLocator

#: a stretch without filings longer than this many days and than this share of the whole span is broken
LONG_GAP_DAYS = 31
LONG_GAP_SHARE = 0.25
BREAK_WIDTH = 0.03  # the share of the axis a break takes
LEAST_SHARE = 0.05  # the least share of the axis a stretch of filing days takes (a single day shows)
GAP_SHADE = "#eeeeee"


@dataclass
class TimeAxis:
    """Where a chart's x axis starts and ends, and the stretches it is broken into (date numbers)."""

    stretches: list[tuple[float, float]]  # (first, last) shown, padded
    limits: tuple[float, float]
    breaks: list[tuple[float, float]] = field(default_factory=list)
    shares: list[float] = field(default_factory=list)

    def apply(self, axes, labels_on=None) -> None:
        """Set the scale, limits and ticks of ``axes`` (sharing x); shade the breaks."""
        for ax in axes:
            if self.breaks:
                forward, inverse = self._mapping()
                ax.set_xscale("function", functions=(forward, inverse))
                for start, end in self.breaks:
                    ax.axvspan(start, end, color=GAP_SHADE, zorder=0, linewidth=0)
                    for edge in (start, end):
                        ax.axvline(edge, color="#bdbdbd", linewidth=0.8, linestyle=(0, (2, 2)), zorder=1)
            ax.set_xlim(*self.limits)
        ticks, labels = self._ticks()
        bottom = labels_on or axes[-1]
        bottom.xaxis.set_major_locator(FixedLocator(ticks))
        bottom.xaxis.set_major_formatter(FixedFormatter(labels))

    def _mapping(self):
        """The piecewise-linear map from date numbers to positions 0..1 along the axis, and back."""
        dates, positions, at = [], [], 0.0
        for i, ((first, last), share) in enumerate(zip(self.stretches, self.shares)):
            if i:
                at += BREAK_WIDTH
            dates += [first, last]
            positions += [at, at + share]
            at += share
        slope = (positions[1] - positions[0]) / max(dates[1] - dates[0], 1e-9)
        far = 1e6
        dates = [dates[0] - far, *dates, dates[-1] + far]
        positions = [positions[0] - far * slope, *positions, positions[-1] + far * slope]
        d, p = np.array(dates), np.array(positions)
        return (lambda x: np.interp(x, d, p)), (lambda y: np.interp(y, p, d))

    def _ticks(self) -> tuple[list[float], list[str]]:
        """Ticks within each stretch, no two closer than about half their average spacing (a monthly
        rhythm puts the 29th beside the 1st), the first of a stretch of days or weeks with its year."""
        ticks, labels = [], []
        for (first, last), share in zip(self.stretches, self.shares or [1.0]):
            days = last - first
            most = max(2, int(round(8 * share)))
            if days <= 3:
                values = [float(round((first + last) / 2))]
            else:
                locator = mdates.AutoDateLocator(minticks=1, maxticks=most)
                values, spacing = [], 0.45 * days / most
                for value in locator.tick_values(mdates.num2date(first), mdates.num2date(last)):
                    if first <= value <= last and (not values or value - values[-1] >= spacing):
                        values.append(value)
                values = values or [float(round((first + last) / 2))]
            fmt = "%Y" if days > 730 else ("%b %Y" if days > 60 else "%b %d")
            for n, value in enumerate(values):
                day = mdates.num2date(value)
                label = day.strftime(fmt)
                if n == 0 and fmt == "%b %d":
                    label += day.strftime("\n%Y")
                ticks.append(value)
                labels.append(label)
        return ticks, labels


def time_axis(days, span: tuple[date | None, date | None] | None = None) -> TimeAxis:
    """The axis for data on ``days``; ``span`` is the range asked for (either end open), which it then
    covers as it is, unbroken."""
    numbers = np.unique(mdates.date2num(pd.to_datetime(pd.Series(list(days))).dt.to_pydatetime()))
    if span and any(span):
        first = mdates.date2num(pd.Timestamp(span[0])) if span[0] else numbers.min()
        last = mdates.date2num(pd.Timestamp(span[1])) if span[1] else numbers.max()
        pad = max(0.5, 0.01 * (last - first))
        return TimeAxis([(first - pad, last + pad)], (first - pad, last + pad))
    whole = numbers[-1] - numbers[0]
    cut = np.flatnonzero(np.diff(numbers) > max(LONG_GAP_DAYS, LONG_GAP_SHARE * whole))
    starts = [numbers[0], *numbers[cut + 1]]
    ends = [*numbers[cut], numbers[-1]]
    stretches = []
    for first, last in zip(starts, ends):
        pad = max(0.6, 0.02 * (last - first))
        stretches.append((first - pad, last + pad))
    limits = (stretches[0][0], stretches[-1][1])
    if len(stretches) == 1:
        return TimeAxis(stretches, limits)
    room = 1.0 - BREAK_WIDTH * (len(stretches) - 1)
    lengths = np.array([last - first for first, last in stretches])
    shares = np.maximum(LEAST_SHARE, lengths / lengths.sum())
    shares = list(shares / shares.sum() * room)
    breaks = [(stretches[i][1], stretches[i + 1][0]) for i in range(len(stretches) - 1)]
    return TimeAxis(stretches, limits, breaks, shares)
