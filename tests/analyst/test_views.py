"""The analyst views: the same rows on DuckDB and PostgreSQL, and figures recomputed by hand (on the
real sample) or independently in pandas (on generated filings)."""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal

import pandas as pd
import pytest

from etl.analyst.wide_view import artifact_paths, wide_codes
from etl.form.catalog import load_catalog
from etl.warehouse import open_warehouse

VIEWS = {
    "firm_name_keys": "name",
    "firm_keys": "name_key",
    "firm_months": "firm, month",
    "firm_names": "firm_as_filed",
    "firms": "firm",
    "firm_statements": "firm, end_date, statement",
    "statement_wide": "firm, end_date, statement",
    "excess_trend": "firm, end_date, statement",
    "monthly_summary": "firm, month",
    "firm_share_daily": "firm, end_date, statement",
    "industry_daily": "end_date, statement",
    "fund_locations": "firm, end_date, statement, location",
}
CITI = "Citigroup Global Markets Inc."
JPM = "J.P. Morgan Securities LLC"


def plain(value):
    """A value as Python sees it, whichever driver returned it (dates, numbers to 6 places, NULL)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.date()
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float, Decimal)):
        return round(float(value), 6)
    return value


def rows(settings, sql: str) -> list[tuple]:
    return [tuple(plain(v) for v in row) for row in frame(settings, sql).astype(object).itertuples(index=False)]


def frame(settings, sql: str) -> pd.DataFrame:
    warehouse = open_warehouse(settings.warehouse_url, create=False)
    try:
        return warehouse.read_df(sql)
    finally:
        warehouse.dispose()  # an embedded warehouse left open would be inherited by the next forked worker


@pytest.mark.postgres
@pytest.mark.parametrize("view", sorted(VIEWS))
def test_every_view_returns_the_same_rows_on_both_backends(view, duck_settings, pg_settings):
    sql = f"SELECT * FROM {view} ORDER BY {VIEWS[view]}"
    on_duckdb, on_postgres = rows(duck_settings, sql), rows(pg_settings, sql)
    assert on_duckdb, f"{view} is empty"
    assert on_duckdb == on_postgres
    columns = [list(frame(s, f"SELECT * FROM {view} LIMIT 1").columns) for s in (duck_settings, pg_settings)]
    assert columns[0] == columns[1]


def test_names_that_differ_in_case_spacing_or_by_alias_are_one_firm(loaded):
    names = dict(rows(loaded, "SELECT firm_as_filed, firm FROM firm_names"))
    # folded into the spelling the firm used most recently
    assert names["CITIGROUP GLOBAL MARKETS INC"] == CITI
    assert names[CITI] == CITI
    assert names["J.P. Morgan Securities Inc."] == JPM
    assert names["JPMorgan Securities LLC"] == JPM
    firms = {r[0]: r[1] for r in rows(loaded, "SELECT firm, n_names FROM firms")}
    assert firms[JPM] == 3
    assert len(firms) == 6 + 3


def test_one_firm_filing_one_day_under_two_names_keeps_the_later_submission(loaded):
    trend = rows(loaded, f"SELECT end_date, excess FROM excess_trend WHERE firm = '{JPM}' "
                         "AND statement = 'segregation' ORDER BY end_date")
    assert trend == [(date(2013, 12, 31), 330127786.0), (date(2014, 1, 2), 330127999.0)]


def test_excess_trend_on_the_real_sample_by_hand(loaded, sample_expected):
    e = {code: v for (statement, code), v in sample_expected.items()}
    got = {r[0]: r[1:] for r in rows(loaded, f"""
        SELECT statement, requirement, funds, excess, excess_pct, target, deficiency, previous_end_date,
               excess_change
        FROM excess_trend WHERE firm = '{CITI}' AND end_date = DATE '2013-12-31'""")}
    assert got["segregation"] == (e["7060"], e["7180"], e["7190"], round(100 * e["7190"] / e["7060"], 6),
                                  None, False, date(2013, 12, 30), 0.0)
    # the 2013 summary secured statement has no 7770: funds come from 7370
    assert got["secured"][:3] == (e["7360"], e["7370"], e["7380"])
    assert got["secured"][3] == pytest.approx(100 * 301805677 / 838897759)
    first_day = rows(loaded, f"SELECT previous_end_date, excess_change, excess_mean_20d, excess_min_20d "
                             f"FROM excess_trend WHERE firm = '{CITI}' AND statement = 'segregation' "
                             "ORDER BY end_date")
    assert first_day == [(None, None, float(e["7190"]), float(e["7190"])),
                         (date(2013, 12, 30), 0.0, float(e["7190"]), float(e["7190"]))]


def test_a_negative_excess_is_a_deficiency_day(loaded):
    got = rows(loaded, "SELECT end_date, excess, deficiency, below_target, excess_change FROM excess_trend "
                       "WHERE firm = 'Shortfall Futures LLC' AND statement = 'segregation' ORDER BY end_date")
    # no management target before 2015, so below_target is unknown (NULL), not false
    assert got == [(date(2013, 12, 30), 330127786.0, False, None, None),
                   (date(2013, 12, 31), -12345678.0, True, False, -12345678.0 - 330127786.0)]
    industry = rows(loaded, "SELECT n_firms, n_deficient FROM industry_daily "
                            "WHERE end_date = DATE '2013-12-31' AND statement = 'segregation'")
    assert industry == [(3.0, 1.0)]


def test_fund_locations_on_the_real_sample_by_hand(loaded, sample_expected):
    e = {code: v for (statement, code), v in sample_expected.items() if statement == "segregation"}
    got = dict(rows(loaded, f"SELECT location, amount FROM fund_locations WHERE firm = '{CITI}' "
                            "AND end_date = DATE '2013-12-31' AND statement = 'segregation'"))
    assert got["bank"] == e["7070"] + e["7080"] + e["7090"]
    assert got["clearing_org"] == e["7100"] + e["7110"] + e["7120"] + e["7130"]
    assert got["options"] == e["7132"] + e["7133"]
    assert got["other_fcm"] == e["7140"] + e["7150"] + e["7160"]
    assert got["on_hand"] == e["7170"]
    # the locations add up to the total in segregation the firm reported
    assert sum(got.values()) == e["7180"]


def test_statement_wide_has_a_column_per_code_holding_the_filed_value(loaded, sample_expected):
    wide = frame(loaded, f"SELECT * FROM statement_wide WHERE firm = '{CITI}' AND end_date = DATE '2013-12-31'")
    codes = wide_codes(load_catalog())
    assert [c for c in wide.columns if c.startswith("c_")] == [f"c_{code}" for code in codes]
    by_statement = wide.set_index("statement")
    for (statement, code), value in sample_expected.items():
        if statement in by_statement.index:
            assert plain(by_statement.loc[statement, f"c_{code}"]) == value, (statement, code)


def test_statement_wide_view_matches_the_catalog():
    stale = [str(p) for p, content in artifact_paths().items() if p.read_text(encoding="utf-8") != content]
    assert not stale, f"regenerate with: dailyseg rules compile ({stale})"


def _generated_long(settings) -> pd.DataFrame:
    """The generated firms' filed figures, straight from seg_values (one filing per firm and day)."""
    long = frame(settings, "SELECT v.firm, v.end_date, v.statement, v.code, v.value FROM seg_values v "
                           "JOIN filings f ON f.filing_id = v.filing_id WHERE f.source_path LIKE '%generated%'")
    long["end_date"] = pd.to_datetime(long["end_date"]).dt.date
    return long


def test_rolling_change_and_pct_match_an_independent_computation(loaded):
    long = _generated_long(loaded)
    pick = {"segregation": ("7060", "7190"), "swaps": ("8590", "8730")}
    trend = frame(loaded, "SELECT firm, end_date, statement, excess_pct, excess_change, excess_mean_20d, "
                          "excess_min_20d FROM excess_trend")
    trend["end_date"] = pd.to_datetime(trend["end_date"]).dt.date
    trend = trend.set_index(["firm", "statement", "end_date"]).sort_index()
    checked = 0
    for statement, (req_code, excess_code) in pick.items():
        part = long[long.statement == statement].pivot_table(index=["firm", "end_date"], columns="code",
                                                             values="value", aggfunc="first")
        for firm, series in part.groupby(level=0):
            series = series.droplevel(0).sort_index()
            excess = series[excess_code].astype(float)
            expected = pd.DataFrame({
                "excess_pct": 100 * excess / series[req_code].astype(float),
                "excess_change": excess.diff(),
                "excess_mean_20d": excess.rolling(20, min_periods=1).mean(),
                "excess_min_20d": excess.rolling(20, min_periods=1).min(),
            })
            got = trend.loc[(firm, statement)].astype(float)
            pd.testing.assert_frame_equal(got[expected.columns], expected, check_names=False, check_index_type=False,
                                          rtol=1e-9)
            checked += len(expected)
    assert checked > 6 * 45 * 2


def test_hhi_and_shares_match_an_independent_computation(loaded):
    long = _generated_long(loaded)
    req = long[(long.statement == "segregation") & (long.code == "7060")]
    day = date(2016, 3, 14)
    today = req[req.end_date == day].set_index("firm")["value"].astype(float)
    shares = 100 * today / today.sum()
    got = rows(loaded, "SELECT n_firms, total_requirement, hhi, top5_share_pct FROM industry_daily "
                       "WHERE statement = 'segregation' AND end_date = DATE '2016-03-14'")
    assert got == [(6.0, float(today.sum()), pytest.approx(float((shares ** 2).sum()), abs=1e-4),
                    pytest.approx(float(shares.sort_values(ascending=False).head(5).sum()), abs=1e-6))]
    per_firm = dict(rows(loaded, "SELECT firm, share_pct FROM firm_share_daily "
                                 "WHERE statement = 'segregation' AND end_date = DATE '2016-03-14'"))
    assert per_firm == pytest.approx(shares.to_dict(), abs=1e-6)


def test_monthly_summary_takes_each_months_last_filing(loaded):
    long = _generated_long(loaded)
    seg = long[(long.statement == "segregation")]
    firm = sorted(seg.firm.unique())[0]
    mine = seg[seg.firm == firm]
    feb_end = max(d for d in mine.end_date if d.month == 2)
    figures = mine[mine.end_date == feb_end].set_index("code")["value"]
    got = rows(loaded, f"SELECT as_of, seg_assets, seg_required, seg_excess, seg_target_residual_interest "
                       f"FROM monthly_summary WHERE firm = '{firm.replace(chr(39), chr(39) * 2)}' "
                       "AND month = DATE '2016-02-01'")
    assert got == [(feb_end, float(figures["7180"]), float(figures["7060"]), float(figures["7190"]),
                    float(figures["7194"]))]
    assert feb_end == date(2016, 2, 29)


def test_refreshing_statement_figures_from_the_values_gives_what_the_loader_wrote(loaded):
    """Warehouses loaded before the figures existed (or after the catalog changed) get them recomputed
    from seg_values by SQL; that must agree with what the loader computes in Python."""
    from etl.warehouse.seeds import refresh_statement_figures
    sql = ("SELECT filing_id, statement, requirement, funds, excess, target, excess_over_target "
           "FROM filing_statements ORDER BY filing_id, statement")
    written = rows(loaded, sql)
    assert sum(1 for r in written if r[4] is not None) > 6 * 45
    warehouse = open_warehouse(loaded.warehouse_url, create=False)
    try:
        with warehouse.begin() as conn:
            conn.exec_driver_sql("UPDATE filing_statements SET requirement = NULL, funds = NULL, excess = NULL, "
                                 "target = NULL, excess_over_target = NULL")
            refresh_statement_figures(conn)
    finally:
        warehouse.dispose()
    assert rows(loaded, sql) == written
