"""The charts' time axis: its own dates or the range asked for, long gaps broken, ticks that read."""

from __future__ import annotations

from datetime import date, timedelta

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from etl.analyst.time_axis import time_axis  # noqa: E402
from etl.business_days import business_days  # noqa: E402

DEMO = [date(2013, 12, 31), *business_days(date(2016, 2, 23), date(2016, 3, 14))]  # the sample, three weeks


def placed(axis, days) -> list[float]:
    """Where each day lands across a drawn axes, 0 (left edge) to 1 (right edge)."""
    fig, ax = plt.subplots(figsize=(9, 3))
    ax.plot(pd.to_datetime(pd.Series(days)), range(len(days)))
    axis.apply([ax])
    fig.canvas.draw()
    x = ax.transData.transform([(mdates.date2num(pd.Timestamp(d)), 0) for d in days])[:, 0]
    left, right = ax.transAxes.transform([(0, 0), (1, 0)])[:, 0]
    plt.close(fig)
    return list((x - left) / (right - left))


def test_three_weeks_beside_a_day_two_years_earlier_use_the_width():
    axis = time_axis(DEMO)
    assert len(axis.stretches) == 2 and len(axis.breaks) == 1
    where = placed(axis, DEMO)
    assert 0 < where[0] < 0.05  # the lone day: a sliver at the left, still on the chart
    assert where[1] < 0.12 and where[-1] > 0.97  # the three weeks: nearly the whole width
    assert where == sorted(where)
    ticks, labels = axis._ticks()
    assert labels[0] == "Dec 31\n2013" and "2016" in labels[1]


def test_one_stretch_spans_the_chart_and_a_short_gap_stays_a_gap():
    days = [d for d in business_days(date(2015, 1, 1), date(2016, 12, 31))
            if not date(2015, 6, 1) <= d <= date(2015, 6, 19)]  # three weeks without filings in two years
    axis = time_axis(days)
    assert axis.breaks == []
    where = placed(axis, days)
    assert where[0] < 0.02 and where[-1] > 0.98


def test_the_range_asked_for_is_the_axis():
    axis = time_axis(DEMO, (date(2016, 1, 1), None))
    assert axis.breaks == []
    first, last = (mdates.num2date(x).date() for x in axis.limits)
    assert first <= date(2016, 1, 1) <= first + timedelta(days=2) and last >= date(2016, 3, 14)


def test_a_single_day_is_centred_with_its_date():
    axis = time_axis([date(2013, 12, 31)])
    assert abs(placed(axis, [date(2013, 12, 31)])[0] - 0.5) < 1e-6
    assert axis._ticks()[1] == ["Dec 31\n2013"]


def test_ticks_never_crowd():
    for days in (business_days(date(2016, 2, 23), date(2016, 3, 14)), business_days(date(2007, 1, 1),
                                                                                    date(2016, 12, 31))):
        ticks, labels = time_axis(days)._ticks()
        gaps = [b - a for a, b in zip(ticks, ticks[1:])]
        assert 3 <= len(ticks) <= 9 and min(gaps) >= 0.45 * (ticks[-1] - ticks[0]) / len(gaps)
        assert len(set(labels)) == len(labels)
