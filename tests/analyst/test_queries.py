"""The starter queries in sql/queries: each runs on both backends, returns the same rows there, and
answers its question on the fixture data."""

from __future__ import annotations

from datetime import date

import pytest

from etl.form.files import sql_dir
from tests.analyst.conftest import DEFICIENT
from tests.analyst.test_views import rows

QUERIES = sorted((sql_dir() / "queries").glob("*.sql"))


def test_there_is_a_query_for_each_question_the_readme_lists():
    readme = (sql_dir() / "README.md").read_text(encoding="utf-8")
    assert len(QUERIES) >= 6
    for path in QUERIES:
        assert f"queries/{path.name}" in readme, f"{path.name} is not documented in sql/README.md"


@pytest.mark.postgres
@pytest.mark.parametrize("path", QUERIES, ids=lambda p: p.stem)
def test_query_runs_and_agrees_on_both_backends(path, duck_settings, pg_settings):
    sql = path.read_text(encoding="utf-8")
    on_duckdb = rows(duck_settings, sql)
    assert on_duckdb, f"{path.name} returned nothing on the fixture data"
    assert on_duckdb == rows(pg_settings, sql)


def _query(name: str) -> str:
    return next(p for p in QUERIES if p.stem.endswith(name)).read_text(encoding="utf-8")


def test_deficiencies_query_finds_the_deficient_day(duck_settings):
    found = rows(duck_settings, _query("deficiencies"))
    assert [(r[0], r[1], r[2], r[5]) for r in found] == [(date(2013, 12, 31), DEFICIENT, "segregation", -12345678.0)]


def test_fund_locations_query_shares_add_up(duck_settings):
    for row in rows(duck_settings, _query("fund_locations_latest")):
        shares = [v for v in row[3:] if v is not None]
        assert sum(shares) == pytest.approx(100, abs=0.3), row
