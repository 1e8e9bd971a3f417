"""cftc_reconciliation and cftc_coverage on DuckDB and PostgreSQL: every month-end figure set against the
right daily filing, only the real differences showing, and the firms nobody loads listed."""

from __future__ import annotations

from datetime import date

import pandas as pd

from etl.cftc.layout import column
from etl.synthetic.cftc_file import published_name
from etl.synthetic.firms import make_firms
from etl.warehouse import open_warehouse
from tests.analyst.test_views import rows
from tests.cftc.conftest import ALIAS, ALIAS_FILED_AS, FEBRUARY, JANUARY


def read(settings, sql: str) -> pd.DataFrame:
    wh = open_warehouse(settings.warehouse_url)
    try:
        frame = wh.read_df(sql)
    finally:
        wh.dispose()
    for name in ("as_of_date", "daily_end_date", "end_date"):
        if name in frame:
            frame[name] = pd.to_datetime(frame[name]).dt.date
    return frame


def test_only_the_planted_differences_show(loaded, world):
    rows = read(loaded, "SELECT * FROM cftc_reconciliation")
    # every firm filed every account class on its month-ends, but the one that missed 29 February
    assert set(rows[rows["daily_value"].isna()]["cftc_firm"]) == {world.missed}
    differ = rows[rows["difference"].notna() & (rows["difference"] != 0)]
    found = {(r.cftc_firm, r.as_of_date, r.statement, r.measure, r.daily_value, r.cftc_value)
             for r in differ.itertuples()}
    planted = {(p.firm, p.as_of, column(p.field).statement, column(p.field).measure, p.daily_value, p.cftc_value)
               for p in world.planted}
    assert len(planted) >= 3 and found == planted
    assert (differ["difference"] == differ["daily_value"] - differ["cftc_value"]).all()


def test_each_month_end_is_set_against_the_last_business_day_on_or_before_it(loaded):
    rows = read(loaded, "SELECT DISTINCT as_of_date, daily_end_date FROM cftc_reconciliation")
    # 31 January 2016 was a Sunday: the month's figures are those filed for Friday the 29th
    assert sorted(map(tuple, rows.values.tolist())) == [(JANUARY, date(2016, 1, 29)), (FEBRUARY, FEBRUARY)]


def test_an_amended_month_end_filing_is_compared_in_its_latest_version(loaded):
    versions = read(loaded, """
        SELECT n.firm, s.end_date, s.statement, s.status, s.requirement, s.funds, s.excess
        FROM filing_statements s JOIN firm_names n ON n.firm_as_filed = s.firm
        WHERE s.end_date IN (DATE '2016-01-29', DATE '2016-02-29') AND s.statement <> 'cover'""")
    both = versions.pivot_table(index=["firm", "end_date", "statement"], columns="status",
                                values=["requirement", "funds", "excess"], aggfunc="first").dropna()
    changed = [(key, measure) for key, row in both.iterrows() for measure in ("requirement", "funds", "excess")
               if row[(measure, "AMENDED")] != row[(measure, "INITIAL")]]
    assert changed, "the world should hold a month-end filing that an amendment changed"
    rows = read(loaded, "SELECT * FROM cftc_reconciliation").set_index(["firm", "daily_end_date", "statement",
                                                                        "measure"])
    for (firm, day, statement), measure in changed:
        compared = rows.loc[(firm, day, statement, measure)]
        assert compared["daily_value"] == both.loc[(firm, day, statement), (measure, "AMENDED")]
        assert compared["daily_value"] != both.loc[(firm, day, statement), (measure, "INITIAL")]


def test_the_file_s_names_find_their_firms(loaded, world):
    matched = dict(read(loaded, "SELECT cftc_firm, firm FROM cftc_firms").itertuples(index=False))
    generated = {published_name(f.name): f.name for f in make_firms(5, 9)}  # capitals, no accents or periods
    spelled, published = world.renamed  # "AND" in the file, "&" in the filings
    generated[spelled] = generated.pop(published)
    for name, firm in generated.items():
        assert matched[name] == firm
    assert matched[ALIAS] == ALIAS_FILED_AS  # expectations/firm_aliases.csv
    assert all(pd.isna(matched[name]) for name in world.unfiled)


def test_a_month_end_the_firm_did_not_file_is_not_compared_with_another_day(loaded, world):
    rows = read(loaded, f"SELECT * FROM cftc_reconciliation WHERE cftc_firm = '{world.missed}'")
    assert len(rows) == 12 and set(rows["daily_end_date"]) == {FEBRUARY}
    assert rows["daily_value"].isna().all() and rows["difference"].isna().all()


def test_a_figure_the_file_does_not_have_yields_no_row(loaded):
    rows = read(loaded, "SELECT DISTINCT as_of_date, statement, measure FROM cftc_reconciliation")
    by_month = {day: set(zip(part.statement, part.measure)) for day, part in rows.groupby("as_of_date")}
    # January's file has the 2013 layout: no targets and no cleared swaps columns
    assert by_month[JANUARY] == {(s, m) for s in ("segregation", "secured") for m in ("requirement", "funds", "excess")}
    assert len(by_month[FEBRUARY]) == 12


def test_coverage_lists_every_firm_holding_customer_funds_and_its_filing_days(loaded, world):
    rows = read(loaded, "SELECT * FROM cftc_coverage")
    february = rows[rows["as_of_date"] == FEBRUARY].set_index("cftc_firm")
    assert "NORTHSTAR RETAIL FX LLC" not in february.index  # a retail forex dealer holds no such funds
    assert len(world.unfiled) == 2
    for name in world.unfiled:  # the firms nobody loads
        assert pd.isna(february.loc[name, "firm"]) and february.loc[name, "daily_filings"] == 0
    assert february.loc[ALIAS, "daily_filings"] == 1 and february.loc[world.missed, "daily_filings"] == 1
    generated = [published_name(f.name) for f in make_firms(5, 9)]
    assert (february.loc[[n for n in generated if n in february.index], "daily_filings"] == 20).all()
    january = rows[rows["as_of_date"] == JANUARY]
    assert sorted(january["daily_filings"].tolist()) == [0, 0, 5, 5, 5, 5, 5]  # 25 to 29 January filed


def test_both_databases_give_the_same_rows(duck_world, pg_world):
    for view, order in (("cftc_compared", "as_of_date, cftc_firm, statement, measure"),
                        ("cftc_reconciliation", "as_of_date, cftc_firm, statement, measure"),
                        ("cftc_coverage", "as_of_date, cftc_firm"), ("cftc_firms", "cftc_firm")):
        sql = f"SELECT * FROM {view} ORDER BY {order}"
        on_duckdb = rows(duck_world, sql)
        assert on_duckdb and on_duckdb == rows(pg_world, sql), view
