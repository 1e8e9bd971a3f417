"""The report's section on the CFTC's monthly file: its month-end figures against the daily filings
(``cftc_reconciliation``) and the firms it lists that hold customer funds (``cftc_coverage``)."""

from __future__ import annotations

import html
from datetime import date

import pandas as pd

from etl.analyst.formats import dollars, is_missing, percent
from etl.analyst.trends import date_range
from etl.warehouse import Warehouse

#: differences listed in the report (the rest are counted and the query to see them given)
SHOWN = 50
TITLES = {"segregation": "segregation", "secured": "30.7 secured", "swaps": "cleared swaps"}


def read_cftc(warehouse: Warehouse, firms: list[str] | None, date_from: date | None,
              date_to: date | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(reconciliation rows, coverage rows) with as-of dates in range, of ``firms`` when given."""
    where, params = date_range(date_from, date_to, firms, column="as_of_date")
    condition = " AND ".join(where)
    reconciliation = warehouse.read_df(f"SELECT * FROM cftc_reconciliation WHERE {condition} "
                                       "ORDER BY as_of_date, firm, statement, measure", params)
    coverage = warehouse.read_df(f"SELECT * FROM cftc_coverage WHERE {condition} ORDER BY as_of_date, cftc_firm",
                                 params)
    return reconciliation, coverage


def _day(value) -> str:
    return "-" if is_missing(value) else pd.Timestamp(value).date().isoformat()


def _differences_table(rows: pd.DataFrame) -> str:
    e = html.escape
    ordered = rows.assign(size=pd.to_numeric(rows["difference"]).abs()).sort_values(
        ["size", "firm"], ascending=[False, True])
    body = []
    for r in ordered.head(SHOWN).itertuples():
        share = 100.0 * r.difference / r.cftc_value if r.cftc_value else None
        body.append(f"<tr data-firm='{e(r.firm)}'><td>{e(r.firm)}</td><td>{_day(r.as_of_date)}</td>"
                    f"<td>{_day(r.daily_end_date)}</td><td class=l>{e(TITLES.get(r.statement, r.statement))}</td>"
                    f"<td class=l>{e(r.measure)}</td><td>{dollars(r.cftc_value)}</td><td>{dollars(r.daily_value)}</td>"
                    f"<td>{dollars(r.difference)}</td><td>{percent(share)}</td></tr>")
    more = ""
    if len(ordered) > SHOWN:
        more = (f"<p class=note>... and {len(ordered) - SHOWN:,} more: <code>dailyseg sql \"SELECT * FROM "
                "cftc_reconciliation WHERE difference &lt;&gt; 0\"</code></p>")
    return ("<table><thead><tr><th class=l>firm</th><th>as of</th><th>daily filing of</th><th class=l>account class"
            "</th><th class=l>figure</th><th>CFTC file</th><th>daily filing</th><th>difference</th>"
            "<th>difference %</th></tr></thead><tbody>" + "".join(body) + "</tbody></table>" + more)


def _coverage_tables(coverage: pd.DataFrame) -> str:
    e = html.escape
    months = []
    for as_of, part in coverage.groupby("as_of_date", sort=True):
        missing = int((part["daily_filings"] == 0).sum())
        months.append(f"<tr><td>{_day(as_of)}</td><td>{len(part)}</td><td>{len(part) - missing}</td>"
                      f"<td>{missing}</td></tr>")
    latest = coverage[coverage["as_of_date"] == coverage["as_of_date"].max()].copy()
    latest["unfiled"] = latest["daily_filings"] == 0
    latest["size"] = pd.to_numeric(latest["seg_required"]).fillna(0)
    rows = []
    for r in latest.sort_values(["unfiled", "size"], ascending=[False, False]).itertuples():
        css = " class='below'" if r.unfiled else ""
        rows.append(f"<tr{css}><td>{e(r.cftc_firm)}</td><td class=l>{e(r.firm) if not is_missing(r.firm) else '-'}"
                    f"</td><td>{dollars(r.seg_required)}</td><td>{dollars(r.secured_required)}</td>"
                    f"<td>{dollars(r.swaps_required)}</td><td>{r.daily_filings}</td></tr>")
    return ("<h3>Firms the file lists that the warehouse lacks</h3>"
            "<table><thead><tr><th>as of</th><th>firms holding customer funds</th><th>with daily filings that month"
            "</th><th>with none</th></tr></thead><tbody>" + "".join(months) + "</tbody></table>"
            f"<h3>Firms in the file for {_day(latest['as_of_date'].iloc[0])} that hold customer funds</h3>"
            "<p class=note>Highlighted: no daily filing in the warehouse for that month (a firm nobody loads, or "
            "a name the firm dimension does not know yet: add it to expectations/firm_aliases.csv).</p>"
            "<table><thead><tr><th class=l>name in the CFTC file</th><th class=l>firm in the warehouse</th>"
            "<th>seg required</th><th>30.7 required</th><th>swaps required</th><th>daily filings that month</th>"
            "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def cftc_html(reconciliation: pd.DataFrame, coverage: pd.DataFrame) -> str:
    """The section's HTML (after its heading)."""
    if reconciliation.empty and coverage.empty:
        return ("<p class=note>No CFTC monthly file in this range. <code>dailyseg cftc load FILE</code> loads the "
                "CFTC's \"Financial Data for FCMs\" spreadsheet, and this section then sets its month-end figures "
                "against the daily filings and lists the firms it names that the warehouse has no filings for.</p>")
    parts = []
    if not reconciliation.empty:
        compared = reconciliation[reconciliation["daily_value"].notna()]
        differ = compared[pd.to_numeric(compared["difference"]) != 0]
        absent = reconciliation[reconciliation["daily_value"].isna()]
        months = reconciliation["as_of_date"].nunique()
        parts.append("<h3>Figures that differ</h3>")
        parts.append(
            f"<p class=note>{months} month-end{'s' if months != 1 else ''} of the CFTC's \"Financial Data for FCMs\": "
            f"{len(compared):,} figures of {compared['firm'].nunique()} firms set against each firm's daily filing for "
            f"the month's last business day (the latest version, amendments included). "
            f"<span class='badge {'warn' if len(differ) else 'ok'}'>{len(differ)}</span> differ"
            + (f"; {len(absent)} have no daily figure to compare (the firm filed that month, but not that account "
               "class on that day)" if len(absent) else "")
            + ". The reconciliation check of <code>dailyseg validate</code> reports each difference beyond its "
              "threshold (expectations/checks.csv).</p>")
        if len(differ):
            parts.append(_differences_table(differ))
    if not coverage.empty:
        parts.append(_coverage_tables(coverage))
    return "\n".join(parts)
