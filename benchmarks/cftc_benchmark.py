"""CFTC monthly file benchmark: loading years of month-end files, and reconciling them with the filings.

    .venv/bin/python benchmarks/cftc_benchmark.py                         # 100 firms x 2 years, DuckDB
    .venv/bin/python benchmarks/cftc_benchmark.py --firms 100 --years 10 --backends duckdb,postgresql

The warehouse is filled straight from the generator's values (as in the validation benchmark); then
one monthly file per month-end is written from the warehouse's own month-end figures (every firm of
the warehouse, in the layout published from 2014) and loaded with ``dailyseg cftc load`` as a user
would run it. Printed, each beside a peer measured in the same run, as a ratio:

- the load's wall time (imports included) and peak memory; a second load of the same files (all
  unchanged: start-up, the lock, hashing), and what the first added to it beside the time the reader
  alone takes for the same files in this process (the floor: the rest is the warehouse and the lake);
- reading ``cftc_reconciliation`` and ``cftc_coverage`` in full, beside reading ``excess_trend`` in
  full (the view they set the files against);
- ``dailyseg validate --timings``: the reconciliation step beside the whole run's checks.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from analyst_benchmark import read_seconds  # noqa: E402
from ingest_benchmark import DAILYSEG, create_database, drop_database, run_measured  # noqa: E402
from validate_benchmark import fill  # noqa: E402

MONTH_END_SQL = """
SELECT s.firm, s.end_date, s.statement, s.requirement, s.funds, s.excess, s.target
FROM firm_statements s
JOIN cftc_as_of_days d ON d.business_day = s.end_date
"""


def write_files(url: str, start: date, end: date, folder: Path) -> list[Path]:
    """One monthly file per month-end between ``start`` and ``end``, from the warehouse's month-end figures."""
    from etl.cftc.layout import load_columns
    from etl.cftc.load import as_of_days
    from etl.synthetic.cftc_file import published_name, write_cftc_file
    from etl.warehouse import open_warehouse
    from etl.analyst.formats import or_none
    month_ends = []
    day = date(start.year, start.month, 1)
    while day <= end:
        following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
        month_ends.append(date.fromordinal(following.toordinal() - 1))
        day = following
    month_ends = [d for d in month_ends if start <= d <= end]
    warehouse = open_warehouse(url)
    try:
        with warehouse.begin() as conn:  # the calendar the loader would write, to find the month-end days
            conn.exec_driver_sql("DELETE FROM cftc_as_of_days")
            warehouse.insert_arrow(conn, "cftc_as_of_days", as_of_days(month_ends))
        figures = warehouse.read_df(MONTH_END_SQL)
        with warehouse.begin() as conn:
            conn.exec_driver_sql("DELETE FROM cftc_as_of_days")
    finally:
        warehouse.dispose()
    columns = [c for c in load_columns() if c.measure]
    by_day: dict[date, dict[str, dict]] = {}
    for r in figures.itertuples(index=False):
        day = r.end_date.date() if hasattr(r.end_date, "date") else r.end_date
        row = by_day.setdefault(day, {}).setdefault(r.firm, {"firm": published_name(r.firm), "registered_as": "FCM",
                                                             "dsro": "CME"})
        for c in columns:
            if c.statement == r.statement:
                value = or_none(getattr(r, c.measure))
                row[c.field] = None if value is None else int(value)
    files = []
    for as_of in month_ends:
        day = max(d for d in by_day if d <= as_of)
        rows = sorted(({**row, "firm_as_of_date": as_of} for row in by_day[day].values()), key=lambda r: r["firm"])
        files.append(write_cftc_file(folder / f"fcm-financial-data-{as_of:%Y-%m}.xlsx", as_of, rows))
    return files


def reader_floor(files: list[Path]) -> float:
    from etl.cftc.reader import read_cftc_file
    started = time.perf_counter()
    for path in files:
        read_cftc_file(path.read_bytes(), path.name)
    return time.perf_counter() - started


def measure(url: str, files: list[Path], work: Path, label: str) -> None:
    env = dict(os.environ, DAILYSEG_HOME=str(work / f"home-{label}"), DAILYSEG_WAREHOUSE=url)
    floor = reader_floor(files)
    wall, peak, out = run_measured([DAILYSEG, "cftc", "load", "--quiet", *map(str, files)], env)
    firms = sum(int(m) for m in re.findall(r"loaded\s+(\d+)\s+\d+", out))
    print(f"  dailyseg cftc load, {len(files)} files ({firms:,} firm rows): wall {wall:6.1f} s (imports included), "
          f"peak {peak:5.0f} MB")
    again, _, _ = run_measured([DAILYSEG, "cftc", "load", "--quiet", *map(str, files)], env)
    print(f"  the same files again (unchanged: start-up, lock, hashing): wall {again:6.1f} s")
    print(f"  what loading adds, {wall - again:5.1f} s, beside reading the files alone in this process, "
          f"{floor:5.1f} s: {(wall - again) / floor:4.1f}x")
    from etl.warehouse import open_warehouse
    warehouse = open_warehouse(url)
    try:
        peer_rows, peer = read_seconds(warehouse, "SELECT * FROM excess_trend")
        print(f"  excess_trend (the peer)        {peer_rows:>10,} rows  {peer:6.2f} s")
        for view in ("cftc_reconciliation", "cftc_coverage"):
            rows, seconds = read_seconds(warehouse, f"SELECT * FROM {view}")
            print(f"  {view:<30} {rows:>10,} rows  {seconds:6.2f} s  {seconds / peer:5.2f}x excess_trend")
        differ = warehouse.scalar("SELECT count(*) FROM cftc_reconciliation WHERE difference <> 0")
        print(f"  figures that differ: {differ} (the files are the warehouse's own figures: 0 expected)")
    finally:
        warehouse.dispose()
    wall, peak, out = run_measured([DAILYSEG, "validate", "--timings"], env, ok_codes=(0, 1))
    phases = dict(re.findall(r"([a-z][^,:]*?) ([\d.]+) s", out.split("Time by step:")[1]))
    checks = sum(float(v) for k, v in phases.items() if k != "results and Data Docs")
    recon = float(phases.get("reconciliation frame", 0)) + float(phases.get("reconciliation checks (GX)", 0))
    print(f"  dailyseg validate: wall {wall:6.1f} s, peak {peak:5.0f} MB; the reconciliation step {recon:5.1f} s of "
          f"{checks:5.1f} s of checks ({100 * recon / checks:4.1f}%)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--firms", type=int, default=100)
    parser.add_argument("--years", type=int, default=2)
    parser.add_argument("--backends", default="duckdb")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dailyseg-cftc-bench-"))
    end = date(2016, 3, 14)
    start = date(end.year - args.years, end.month, end.day + 1)
    print(f"{args.firms} firms x {args.years} years ({start} to {end}); work folder {work}")
    for backend in args.backends.split(","):
        database = None
        url = f"duckdb:///{work / 'warehouse.duckdb'}" if backend == "duckdb" else None
        if url is None:
            database = url = create_database("dailyseg_cbench")
        try:
            started = time.perf_counter()
            filings = fill(url, args.firms, start, end)
            print(f"\n{backend}: {filings:,} filings filled in {time.perf_counter() - started:.0f} s")
            files = write_files(url, start, end, work / f"cftc-{backend}")
            measure(url, files, work, backend)
        finally:
            if database:
                drop_database(database)


if __name__ == "__main__":
    main()
