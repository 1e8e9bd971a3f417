"""Validation benchmark: every check over years of filings for many firms, on DuckDB and PostgreSQL.

    .venv/bin/python benchmarks/validate_benchmark.py                     # 100 firms x 10 years
    .venv/bin/python benchmarks/validate_benchmark.py --firms 20 --years 1 --backends duckdb
    .venv/bin/python benchmarks/validate_benchmark.py --backends postgresql --keep   # prints the URL it kept
    .venv/bin/python benchmarks/validate_benchmark.py --warehouse postgresql://...  # validate it again

The warehouse is filled straight from the generator's values through the loader's bulk path (the
files themselves are the ingest benchmark's business), then ``dailyseg validate`` runs as a user
would run it: over the whole history, and for one business day (the nightly run). Printed: filings,
wall time of the process (imports included), the run's own time (imports excluded), peak memory.
Targets on a 2-core machine: 250,000 filings in under 60 s on DuckDB and 120 s on PostgreSQL, under
1 GB peak on both (the checks go range by range, ``DAILYSEG_VALIDATE_CHUNK``); a nightly run under 5 s
after imports. ``--one-pass-peer`` also validates the full history in one range (``DAILYSEG_VALIDATE_CHUNK`` above
the history) and prints the default run's time and memory as ratios of it.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest_benchmark import DAILYSEG, create_database, drop_database, run_measured  # noqa: E402


def fill(warehouse_url: str, firms: int, start: date, end: date, batch_filings: int = 2000) -> int:
    """Generated filings straight into the warehouse (no files); returns the number of filings."""
    import hashlib

    from etl.business_days import business_days, next_business_day
    from etl.form.catalog import load_catalog
    from etl.synthetic.values import build_values
    from etl.synthetic.firms import make_firms
    from etl.ingest.run import _BatchBuilder
    from etl.ingest.parser import Header, ParsedFiling, ParsedValue
    from etl.ingest.rows import FilingRows
    from etl.ingest.workers import Prepared, PreparedGroup
    from etl.warehouse import open_warehouse

    warehouse = open_warehouse(warehouse_url)
    catalog = load_catalog()
    days = business_days(start, end)
    profiles = make_firms(firms, seed=5)
    rngs = {f.slug: random.Random(f"bench:{f.slug}") for f in profiles}
    states: dict[str, dict] = {f.slug: {} for f in profiles}
    builder, rows, group = _BatchBuilder("bench"), FilingRows(), []
    loaded_at = datetime.now()
    count = 0
    started = time.perf_counter()
    for day in days:
        lines = catalog.lines_on(day)
        for firm in profiles:
            values = build_values(firm, day, rngs[firm.slug], states[firm.slug])
            parsed_values = [ParsedValue(s, code, v, *lines[code]) for s, codes in values.items()
                             for code, v in codes.items()]
            header = Header("INITIAL", day, firm.name, "Daily Seg - FOCUS II", next_business_day(day))
            parsed = ParsedFiling(header, parsed_values, tuple(values))
            sha = hashlib.sha256(f"{firm.slug}|{day}".encode()).hexdigest()
            prepared = Prepared(Path(f"generated/{day}/{firm.slug}"), sha=sha, size=0, parsed=parsed, raw_path="")
            prepared.span = rows.add(parsed, sha)
            builder.add_filing(prepared, str(prepared.path), loaded_at)
            group.append(prepared)
            count += 1
        if builder.count >= batch_filings or day == days[-1]:
            builder.add_rows(PreparedGroup(group, *rows.tables()), group)
            batch = builder.build()
            warehouse.write_batch(batch)
            builder, rows, group = _BatchBuilder("bench"), FilingRows(), []
            rate = count / (time.perf_counter() - started)
            print(f"\r  filled {count:,} filings ({rate:,.0f}/s) up to {day}", end="", flush=True)
    warehouse.execute("DELETE FROM lake_pending")
    warehouse.dispose()
    print()
    return count


def _last_end_date(url: str) -> date:
    from etl.warehouse import open_warehouse
    warehouse = open_warehouse(url)
    try:
        return warehouse.scalar("SELECT max(end_date) FROM filings")
    finally:
        warehouse.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--firms", type=int, default=100)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--backends", default="duckdb,postgresql")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    parser.add_argument("--one-pass-peer", action="store_true",
                        help="also validate the full history in one range, and compare")
    parser.add_argument("--warehouse", metavar="URL",
                        help="validate this already filled warehouse (e.g. one a --keep run left) instead of filling one")
    args = parser.parse_args()

    end = date(2016, 3, 14)
    start = date(end.year - args.years, end.month, end.day + 1 if end.day < 28 else end.day)
    work = Path(tempfile.mkdtemp(prefix="dailyseg-validate-bench-"))
    print(f"{args.firms} firms x {args.years} years ({start} to {end}); work folder {work}")
    targets = [("postgresql" if args.warehouse.startswith("postgres") else "duckdb", args.warehouse)] \
        if args.warehouse else [(backend, None) for backend in args.backends.split(",")]
    for backend, given in targets:
        database = None
        if given:
            url = given
        elif backend == "duckdb":
            url = f"duckdb:///{work / 'warehouse.duckdb'}"
        else:
            database = url = create_database("dailyseg_vbench")
        try:
            if not given:
                t0 = time.perf_counter()
                filings = fill(url, args.firms, start, end)
                print(f"{backend}: {filings:,} filings loaded in {time.perf_counter() - t0:.0f} s")
                if args.keep and database:
                    print(f"  kept: --warehouse {url}")
            env = dict(os.environ, DAILYSEG_HOME=str(work / f"home-{backend}"), DAILYSEG_WAREHOUSE=url,
                       GX_ANALYTICS_ENABLED="false")
            last = end if not given else _last_end_date(url)
            runs = [("full history", [], {}), ("nightly (1 day)", ["--from", str(last), "--to", str(last)], {})]
            if args.one_pass_peer:
                runs.append(("one pass (peer)", [], {"DAILYSEG_VALIDATE_CHUNK": str(10 ** 9)}))
            measured = {}
            for label, extra, more_env in runs:
                wall, peak, out = run_measured([DAILYSEG, "validate", "--timings", *extra], dict(env, **more_env),
                                               ok_codes=(0, 1))
                first = out.splitlines()[0]
                own = float(re.search(r"([\d.]+) s \(\+", first).group(1))
                checked = re.search(r"([\d,]+) filings", first).group(1)
                measured[label] = (own, peak)
                print(f"  {backend:<10} {label:<16} {checked:>9} filings  wall {wall:6.1f} s  "
                      f"run (after imports) {own:6.1f} s  peak {peak:5.0f} MB")
                print("    " + next(line for line in out.splitlines() if line.startswith("Time by step")))
            if args.one_pass_peer:
                (own, peak), (peer_own, peer_peak) = measured["full history"], measured["one pass (peer)"]
                print(f"  {backend}: range by range against one pass: time {own / peer_own:.2f}x, "
                      f"peak memory {peak / peer_peak:.2f}x")
        finally:
            if database and not args.keep:
                drop_database(database)


if __name__ == "__main__":
    main()
