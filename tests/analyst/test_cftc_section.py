"""The report's section on the CFTC's monthly file: the figures that differ, and the firms nobody loads."""

from __future__ import annotations

from etl.analyst.report import build_report
from tests.analyst.test_report import parse
from tests.cftc.conftest import duck_world, world  # noqa: F401  (the shared world)


def section(index) -> str:
    page = index.read_text(encoding="utf-8")
    start = page.index("<h2 id=cftc>")
    return page[start:page.index("<h2 id=firms>")]


def test_the_report_lists_each_difference_and_each_firm_nobody_loads(duck_world, world, tmp_path):  # noqa: F811
    summary = build_report(duck_world, out=tmp_path, workers=1)
    parts = parse(summary.index)
    assert not parts.mismatched and not parts.open
    html = section(summary.index)
    assert f"<span class='badge warn'>{len(world.planted)}</span> differ" in html
    assert "; 12 have no daily figure to compare" in html  # the firm that missed its month-end
    for p in world.planted:
        assert f"<td>{p.cftc_value:,}</td><td>{p.daily_value:,}</td><td>{p.daily_value - p.cftc_value:,}</td>" in html
    assert html.count("<tr data-firm=") == len(world.planted)
    for name in world.unfiled:  # highlighted in the latest month's table, with no firm and no filing day
        assert f"<tr class='below'><td>{name}</td><td class=l>-</td>" in html
    assert "<tr><td>2016-01-31</td><td>7</td><td>5</td><td>2</td></tr>" in html  # per month: 7 hold funds, 2 unloaded


def test_one_firm_s_report_shows_only_its_month_ends(duck_world, world, tmp_path):  # noqa: F811
    planted = world.planted[0]
    summary = build_report(duck_world, firm="SG Americas", out=tmp_path, workers=1)
    html = section(summary.index)
    assert "<span class='badge ok'>0</span> differ" in html and planted.firm not in html
    assert "NEWEDGE USA LLC" in html  # its name in the file, beside the firm it is


def test_without_a_monthly_file_the_section_says_how_to_load_one(duck_settings, tmp_path):
    summary = build_report(duck_settings, firm="shortfall", out=tmp_path, workers=1)
    assert "<code>dailyseg cftc load FILE</code>" in section(summary.index)
