"""Analyst-layer benchmark: the views and the report over years of filings for many firms.

    .venv/bin/python benchmarks/analyst_benchmark.py                          # 100 firms x 10 years, DuckDB
    .venv/bin/python benchmarks/analyst_benchmark.py --backends duckdb,postgresql --firms 20 --years 2
    .venv/bin/python benchmarks/analyst_benchmark.py --warehouse duckdb:///path/warehouse.duckdb   # reuse

The warehouse is filled straight from the generator's values through the loader's bulk path (as in
the validation benchmark). Printed: rows and seconds for every view read in full (best of three), a
one firm and one day of the larger views, every starter query, and ``dailyseg report`` for all firms (wall time of
the process, imports included, and its peak memory). Targets on a 2-core machine: excess_trend for
10 years x 100 firms in under 1 s on DuckDB; the full report in under 30 s.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest_benchmark import DAILYSEG, create_database, drop_database, run_measured  # noqa: E402
from validate_benchmark import fill  # noqa: E402

VIEWS = ("excess_trend", "firm_statements", "monthly_summary", "industry_daily", "firm_share_daily",
         "fund_locations", "statement_wide")


def read_seconds(warehouse, sql: str, repeat: int = 3) -> tuple[int, float]:
    """(rows, best wall seconds) of reading a query's whole result into Arrow (DuckDB) or Python rows."""
    best, rows = float("inf"), 0
    for _ in range(repeat):
        started = time.perf_counter()
        if warehouse.dialect == "duckdb":
            with warehouse.engine.connect() as conn:
                raw = conn.connection.driver_connection
                rows = raw.sql(sql).to_arrow_table().num_rows
        else:
            with warehouse.connect() as conn:
                rows = len(conn.exec_driver_sql(sql).fetchall())
        best = min(best, time.perf_counter() - started)
    return rows, best


def measure(url: str, work: Path, label: str) -> None:
    from etl.form.files import sql_dir
    from etl.warehouse import open_warehouse
    open_warehouse(url).dispose()  # bring the schema up to date before anything is timed
    # the report first: a child's peak memory as the kernel reports it starts from its parent's, so it
    # is measured before this process has read the large views
    env = dict(os.environ, DAILYSEG_HOME=str(work / f"home-{label}"), DAILYSEG_WAREHOUSE=url)
    wall, peak, out = run_measured([DAILYSEG, "report", "--quiet"], env)
    print(f"  dailyseg report              wall {wall:6.1f} s (imports included)  peak {peak:5.0f} MB")
    print("    " + out.splitlines()[0])
    warehouse = open_warehouse(url)
    print(f"{label}: {warehouse.scalar('SELECT count(*) FROM filings'):,} filings, "
          f"{warehouse.scalar('SELECT count(*) FROM seg_values'):,} values")
    try:
        for view in VIEWS:
            rows, seconds = read_seconds(warehouse, f"SELECT * FROM {view}")
            print(f"  {view:<28} {rows:>10,} rows  {seconds:6.2f} s")
        firm = warehouse.scalar("SELECT min(firm) FROM firms").replace("'", "''")
        day = warehouse.scalar("SELECT max(end_date) FROM filings")
        for view in ("excess_trend", "statement_wide", "fund_locations"):
            for label, where in (("1 firm", f"firm = '{firm}'"), ("1 day", f"end_date = DATE '{day}'")):
                rows, seconds = read_seconds(warehouse, f"SELECT * FROM {view} WHERE {where}")
                print(f"  {view + ', ' + label:<28} {rows:>10,} rows  {seconds:6.2f} s")
        for path in sorted((sql_dir() / "queries").glob("*.sql")):
            rows, seconds = read_seconds(warehouse, path.read_text(encoding="utf-8").strip().rstrip(";"), repeat=1)
            print(f"  {path.name:<28} {rows:>10,} rows  {seconds:6.2f} s")
    finally:
        warehouse.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--firms", type=int, default=100)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--backends", default="duckdb")
    parser.add_argument("--warehouse", metavar="URL", help="measure an existing warehouse instead of filling one")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="dailyseg-analyst-bench-"))
    if args.warehouse:
        measure(args.warehouse, work, "given warehouse")
        return
    end = date(2016, 3, 14)
    start = date(end.year - args.years, end.month, end.day + 1)
    print(f"{args.firms} firms x {args.years} years ({start} to {end}); work folder {work}")
    for backend in args.backends.split(","):
        database = None
        if backend == "duckdb":
            url = f"duckdb:///{work / 'warehouse.duckdb'}"
        else:
            database = url = create_database("dailyseg_abench")
        try:
            started = time.perf_counter()
            filings = fill(url, args.firms, start, end)
            print(f"{backend}: {filings:,} filings loaded in {time.perf_counter() - started:.0f} s")
            measure(url, work, backend)
        finally:
            if database:
                drop_database(database)


if __name__ == "__main__":
    main()
