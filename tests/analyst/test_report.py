"""The HTML report and its PNG charts: complete, offline, deficiencies visible, and rendering cleanly in
headless Chromium."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest

from etl.analyst.report import ReportError, build_report, chart_name
from etl.analyst.trends import UnknownFirm
from etl.cli import main
from tests.analyst.conftest import DEFICIENT
from tests.browser import render


class PageParts(HTMLParser):
    """The references and the rows of a page, and whether every tag that opens also closes."""

    VOID = {"meta", "img", "input", "br", "hr", "link"}

    def __init__(self):
        super().__init__()
        self.sources: list[str] = []
        self.links: list[str] = []
        self.rows: list[dict] = []
        self.open: list[str] = []
        self.mismatched: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.sources.append(attrs["src"])
        if tag in ("a", "link", "script") and (attrs.get("href") or attrs.get("src")):
            self.links.append(attrs.get("href") or attrs.get("src"))
        if tag == "tr":
            self.rows.append(attrs)
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        if not self.open or self.open.pop() != tag:
            self.mismatched.append(tag)


def parse(index: Path) -> PageParts:
    parts = PageParts()
    parts.feed(index.read_text(encoding="utf-8"))
    return parts


def red_pixels(png: Path) -> int:
    """Pixels of the deficiency red (#c62828) in a chart."""
    image = mpimg.imread(png)[..., :3]
    return int((np.abs(image - np.array([0xC6, 0x28, 0x28]) / 255).max(axis=2) < 0.08).sum())


@pytest.fixture(scope="module")
def report(duck_settings, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    return build_report(duck_settings, out=out, workers=2)


def test_report_has_a_chart_per_firm_and_account_class_and_opens_offline(report):
    parts = parse(report.index)
    assert not parts.mismatched and not parts.open, (parts.mismatched, parts.open)
    charts = report.index.parent / "charts"
    # 6 generated firms with all three classes (some file zeros for swaps, which get no chart), the
    # folded Citigroup and J.P. Morgan names and the short firm: 3 classes each
    assert report.firms == 9
    assert len(parts.sources) == report.charts == len(list(charts.glob("*.png")))
    for source in parts.sources:
        png = report.index.parent / source
        image = mpimg.imread(png)
        assert image.shape[0] >= 300 and image.shape[1] >= 800, source
        assert image[..., :3].std() > 0.05, f"{source} is blank"
    # nothing fetched from the network: every reference is a local file or an anchor
    assert all(not link.startswith(("http:", "https:", "//")) for link in parts.links + parts.sources)


def test_deficiency_days_are_marked_in_the_table_and_the_chart(report):
    parts = parse(report.index)
    flagged = [row for row in parts.rows if row.get("class") == "deficient"]
    assert [row["data-firm"] for row in flagged] == [DEFICIENT]
    charts = report.index.parent / "charts"
    assert red_pixels(charts / chart_name(DEFICIENT, "segregation")) > 20
    assert red_pixels(charts / chart_name("J.P. Morgan Securities LLC", "segregation")) == 0
    assert "1</span> firms had a deficiency" in report.index.read_text(encoding="utf-8")


@pytest.mark.browser
def test_report_renders_in_headless_chromium_without_console_errors(report, tmp_path):
    # first prove the harness hears a broken page
    broken = tmp_path / "broken.html"
    broken.write_text("<html><body><p>x</p><script>missingFunction();</script></body></html>")
    assert any("missingFunction" in m for m in render(broken, tmp_path / "broken.png", 400, 300))

    shot = tmp_path / "report.png"
    messages = render(report.index, shot)
    assert messages == []
    pixels = mpimg.imread(shot)[..., :3]
    assert pixels.shape[:2] == (1600, 1200)
    assert pixels.std() > 0.1, "the screenshot is blank"
    # the header band is the report's dark blue, so the page's own style applied
    assert np.allclose(pixels[20, 600], np.array([0x12, 0x35, 0x5B]) / 255, atol=0.03)


def test_one_firm_by_part_of_its_name_and_a_date_range(duck_settings, tmp_path):
    summary = build_report(duck_settings, firm="shortfall", out=tmp_path, workers=1)
    assert summary.firms == 1 and (summary.first_day.isoformat(), summary.last_day.isoformat()) == (
        "2013-12-30", "2013-12-31")
    assert sorted(p.name for p in (tmp_path / "charts").glob("*.png")) == sorted(
        [chart_name(DEFICIENT, s) for s in ("segregation", "secured", "swaps")]
        + ["industry-concentration.png", "industry-totals.png"])
    with pytest.raises(UnknownFirm, match="no firm matches 'nobody'"):
        build_report(duck_settings, firm="nobody", out=tmp_path)
    with pytest.raises(ReportError, match="no filings in that range"):
        build_report(duck_settings, date_from=__import__("datetime").date(2030, 1, 1), out=tmp_path)


def test_cli_report_and_trends(duck_settings, tmp_path, capsys):
    args = ["--warehouse", duck_settings.warehouse_url]
    assert main(["report", "--firm", "J.P. Morgan", "--out", str(tmp_path), "--quiet", *args]) == 0
    out = capsys.readouterr().out
    assert "Report: 1 firms" in out and str(tmp_path / "index.html") in out
    assert main(["trends", "--firm", "shortfall", "--statement", "segregation", *args]) == 0
    out = capsys.readouterr().out
    assert "Shortfall Futures LLC" in out
    assert "-12,345,678" in out and "DEFICIENCY" in out
    assert main(["trends", "--firm", "LLC", *args]) == 2
    assert "Give more of the name" in capsys.readouterr().err
