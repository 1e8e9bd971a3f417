"""The reconciliation check of ``dailyseg validate``: each month-end figure of the CFTC's file that the
daily filing states differently is one warning naming both figures, on DuckDB and PostgreSQL; its
threshold comes from expectations/checks.csv."""

from __future__ import annotations

import csv
import io

import pandas as pd

from etl.cftc.layout import column
from etl.dq.checks import read_checks
from etl.dq.compile import SUITE_RECONCILIATION, suite_specs
from etl.dq.validate import validate
from etl.form.files import form_dir
from etl.warehouse import open_warehouse
from tests.cftc.conftest import duck_world, loaded, pg_world, world  # noqa: F401  (the shared world)

CODES = {("segregation", "requirement"): "7060", ("segregation", "funds"): "7180", ("segregation", "excess"): "7190",
         ("segregation", "target"): "7194", ("secured", "requirement"): "7360", ("secured", "funds"): "7770",
         ("secured", "excess"): "7380", ("secured", "target"): "7780", ("swaps", "requirement"): "8590",
         ("swaps", "funds"): "8720", ("swaps", "excess"): "8730", ("swaps", "target"): "8760"}


def test_each_planted_difference_is_one_warning_naming_both_figures(loaded, world):  # noqa: F811
    summary = validate(loaded)
    found = [f for f in summary.findings if f.kind == "reconciliation"]
    # warnings only (firms the world stops filing for are overdue: freshness errors, not this check's)
    assert not [f for f in summary.findings if f.severity != "warning" and f.kind != "freshness"]
    wh = open_warehouse(loaded.warehouse_url)
    try:
        firms = dict(wh.read_df("SELECT cftc_firm, firm FROM cftc_firms").itertuples(index=False))
        latest = wh.read_df("SELECT filing_id, firm, end_date, statement FROM firm_statements")
        stored = wh.read_df("SELECT * FROM dq_results WHERE run_id = :r AND kind = 'reconciliation'",
                            {"r": summary.run_id})
    finally:
        wh.dispose()
    latest["end_date"] = pd.to_datetime(latest["end_date"]).dt.date
    filing_of = {(r.firm, r.end_date, r.statement): r.filing_id for r in latest.itertuples()}
    expected = set()
    for p in world.planted:
        statement, measure = column(p.field).statement, column(p.field).measure
        day = p.as_of if p.as_of.weekday() < 5 else p.as_of.replace(day=29)  # 31 January 2016 was a Sunday
        expected.add((firms[p.firm], day, statement, CODES[(statement, measure)], p.daily_value, p.cftc_value,
                      p.daily_value - p.cftc_value, filing_of[(firms[p.firm], day, statement)]))
    assert {(f.firm, f.end_date, f.statement, f.code, f.reported, f.expected, f.difference, f.filing_id)
            for f in found} == expected
    assert {f.severity for f in found} == {"warning"} and len(stored) == len(found)
    for f in found:
        assert f"{f.reported:,}" in f.message and f"{f.expected:,}" in f.message and "CFTC's monthly file" in f.message


def test_the_threshold_is_read_from_the_checks_file(tmp_path):
    text = (form_dir() / "checks.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    for row in rows:
        if row["check_id"] == "RECONCILE-SEC":
            row["threshold"] = "1000"
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    (tmp_path / "checks.csv").write_text(buffer.getvalue(), encoding="utf-8")
    specs = {s["meta"]["check_id"]: s for s in suite_specs(checks=read_checks(tmp_path / "checks.csv"))
             [SUITE_RECONCILIATION]}
    assert specs["RECONCILE-SEC"]["kwargs"] == {"column": "d_reconcile_sec", "min_value": -1000, "max_value": 1000}
    assert specs["RECONCILE-SEG"]["kwargs"] == {"column": "d_reconcile_seg", "min_value": 0, "max_value": 0}
    assert {s["meta"]["severity"] for s in specs.values()} == {"warning"}
