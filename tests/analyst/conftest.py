"""One small warehouse of generated filings plus the real sample (and renamed copies of it), loaded into
DuckDB and into PostgreSQL once per test module, for the analyst views and the report."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from etl.synthetic.files import generate_filings
from etl.ingest.job import ingest
from etl.settings import load_settings
from tests.conftest import SAMPLE_PATH, loaded_on_both_backends

FIRMS = 6
DEFICIENT = "Shortfall Futures LLC"
START, END = date(2016, 1, 4), date(2016, 3, 14)


def sample_variant(text: str, firm: str, end: str = "12/31/2013", submit: str = "1/2/2014",
                   excess: str | None = None) -> str:
    out = (text.replace("Firm Name:Citigroup Global Markets Inc.", f"Firm Name:{firm}")
           .replace("End Date:12/31/2013", f"End Date:{end}")
           .replace("Submit Date:1/2/2014", f"Submit Date:{submit}"))
    if excess is not None:
        out = out.replace("<u>330,127,786</u> [7190]", f"<u>{excess}</u> [7190]")
    return out


def build_landing(root: Path) -> Path:
    landing = root / "landing"
    generate_filings(landing / "generated", firms=FIRMS, start=START, end=END, seed=11, amend_rate=0)
    text = SAMPLE_PATH.read_text(encoding="utf-8")
    names = landing / "names"
    names.mkdir(parents=True)
    (names / "citi.txt").write_text(text, encoding="utf-8")
    # the same firm the business day before, its name in capitals, spaced out and without the period
    (names / "citi-caps.txt").write_text(
        sample_variant(text, "CITIGROUP  GLOBAL MARKETS INC", end="12/30/2013", submit="12/31/2013"),
        encoding="utf-8")
    # a conversion to an LLC, folded by expectations/firm_aliases.csv
    (names / "jpm-old.txt").write_text(sample_variant(text, "J.P. Morgan Securities Inc."), encoding="utf-8")
    (names / "jpm-new.txt").write_text(
        sample_variant(text, "J.P. Morgan Securities LLC", end="1/2/2014", submit="1/3/2014"), encoding="utf-8")
    # one firm, one day, two names: the later submission is the one the views use
    (names / "jpm-same-day.txt").write_text(
        sample_variant(text, "JPMorgan Securities LLC", end="1/2/2014", submit="1/6/2014", excess="330,127,999"),
        encoding="utf-8")
    # a firm whose excess falls below zero on its second day
    (names / "short-ok.txt").write_text(sample_variant(text, DEFICIENT, end="12/30/2013", submit="12/31/2013"),
                                        encoding="utf-8")
    (names / "short-deficient.txt").write_text(sample_variant(text, DEFICIENT, excess="(12,345,678)"),
                                               encoding="utf-8")
    return landing


def load(landing: Path, home: Path, warehouse_url: str):
    settings = load_settings(environ={}, home=home).with_overrides(warehouse_url=warehouse_url)
    summary = ingest([landing], settings)
    assert summary.rejected_count == 0, summary.rejected
    return settings


@pytest.fixture(scope="module")
def analyst_landing(tmp_path_factory) -> Path:
    return build_landing(tmp_path_factory.mktemp("analyst"))


# the loaded warehouse on each backend; ``loaded`` is each of the two in turn
duck_settings, pg_settings, loaded = loaded_on_both_backends("analyst_landing", load, "duck_settings", "pg_settings")
