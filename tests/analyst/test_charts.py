"""What a reader sees in a chart of little data: a single filing day shows its points and figures."""

from __future__ import annotations

from datetime import date

import matplotlib.image as mpimg
import numpy as np
import pandas as pd

from etl.analyst import charts
from etl.analyst.time_axis import time_axis


def history(days: list[date]) -> pd.DataFrame:
    n = len(days)
    return pd.DataFrame({
        "firm": ["Lone Day Futures LLC"] * n, "end_date": pd.to_datetime(days), "statement": ["segregation"] * n,
        "requirement": [4_852_000_000] * n, "funds": [5_182_127_786] * n, "excess": [330_127_786] * n,
        "excess_pct": [6.8] * n, "target": [150_000_000] * n, "excess_over_target": [180_127_786] * n,
        "deficiency": [False] * n, "below_target": [False] * n, "excess_change": [None] * n,
        "excess_mean_20d": [330_127_786.0] * n, "excess_min_20d": [330_127_786] * n})


def blue_pixels(png) -> int:
    image = mpimg.imread(png)[..., :3]
    return int((np.abs(image - np.array([0x1F, 0x5F, 0xA8]) / 255).max(axis=2) < 0.08).sum())


def test_a_single_filing_day_shows_its_points_with_their_figures(tmp_path):
    day = [date(2013, 12, 31)]
    png = charts.excess_chart(history(day), "Lone Day Futures LLC", "segregation", tmp_path / "one.png",
                              time_axis(day))
    top, bottom = charts._figures["excess"][1]
    assert [t.get_text() for t in top.texts if t.get_text().startswith(("excess", "target"))] == [
        "excess $330.1M", "target $150.0M"]
    assert [t.get_text() for t in bottom.texts if t.get_text().endswith("%")] == ["6.8%", "3.1%"]
    assert blue_pixels(png) > 40  # the excess point is drawn (a line through one point draws nothing)


def test_a_few_days_are_drawn_as_points_and_many_as_a_line(tmp_path):
    few = [date(2016, 2, 26), date(2016, 2, 29), date(2016, 3, 1)]
    charts.excess_chart(history(few), "Lone Day Futures LLC", "segregation", tmp_path / "few.png", time_axis(few))
    top = charts._figures["excess"][1][0]
    assert top.lines[1].get_marker() == "o"
    assert [t.get_text() for t in top.texts] == ["Lone Day Futures LLC: Segregation 4d(2)"]  # no figures written
    many = list(pd.bdate_range("2015-01-01", "2016-03-14").date)
    charts.excess_chart(history(many), "Lone Day Futures LLC", "segregation", tmp_path / "many.png",
                        time_axis(many))
    assert charts._figures["excess"][1][0].lines[1].get_marker() in ("None", None, "")
