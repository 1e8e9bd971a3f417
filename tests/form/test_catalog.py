"""The line-item catalog: every code of the form, both eras, read from data."""

from __future__ import annotations

from datetime import date

import pytest

from etl.form.catalog import CatalogError, load_catalog, read_catalog


def test_codes_and_statements():
    catalog = load_catalog()
    assert catalog.statement_of["7010"] == "segregation"
    assert catalog.statement_of["7770"] == "secured"
    assert catalog.statement_of["8730"] == "swaps"
    assert len(catalog.codes) == 97  # 7360 and 7380 print in both eras of the secured statement


def test_eras_of_the_secured_statement():
    catalog = load_catalog()
    summary = catalog.required_codes("secured", date(2013, 12, 31))
    full = catalog.required_codes("secured", date(2016, 3, 14))
    assert "7370" in summary and "7305" not in summary and "7780" not in summary
    assert "7305" in full and "7370" not in full and "7785" in full
    assert catalog.item("7360", date(2013, 12, 31)).line == "1"
    assert catalog.item("7360", date(2016, 3, 14)).line == "7"
    assert "7194" in catalog.required_codes("segregation", date(2016, 3, 14))
    assert "7194" not in catalog.required_codes("segregation", date(2013, 12, 31))


def test_lines_on_a_day_are_cached_per_era():
    catalog = load_catalog()
    assert catalog.lines_on(date(2013, 1, 2)) is catalog.lines_on(date(2014, 6, 30))
    assert catalog.lines_on(date(2016, 1, 4))["7380"][0] == "F9"


def test_a_code_under_two_statements_is_refused(tmp_path):
    path = tmp_path / "line_items.csv"
    path.write_text("statement,line,code,label,sign,location,required_from,required_to,same_line_as\n"
                    "segregation,1,7010,Cash,either,,,,\nsecured,1,7010,Cash,either,,,,\n")
    with pytest.raises(CatalogError, match="more than one statement"):
        read_catalog(path)
