"""Rebuild benchmark: ``dailyseg rebuild`` of a loaded home's warehouse from its lake.

    .venv/bin/python benchmarks/backfill_load_benchmark.py --work W     # load 100 firms x 10 years into W/home
    .venv/bin/python benchmarks/rebuild_benchmark.py --home W/home      # rebuild its DuckDB file
    .venv/bin/python benchmarks/rebuild_benchmark.py --home W/home --postgres postgresql://postgres@127.0.0.1/postgres

On DuckDB the home's warehouse file is set aside (``--replace``) and rebuilt; with ``--postgres`` the
lake is rebuilt into a new PostgreSQL database created on that server (and dropped afterwards). Prints
wall time, throughput, peak memory (the command and its workers), and checks that the rebuilt
warehouse holds as many filings, statements and values as the original.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest_benchmark import DAILYSEG, create_database, drop_database, run_measured  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
COUNTS = "SELECT (SELECT count(*) FROM filings), (SELECT count(*) FROM filing_statements), (SELECT count(*) FROM seg_values)"


def counts(url: str) -> tuple[int, int, int]:
    from etl.warehouse import open_warehouse
    wh = open_warehouse(url)
    try:
        return tuple(wh.read_df(COUNTS).iloc[0].tolist())
    finally:
        wh.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", required=True, help="a DAILYSEG_HOME that was loaded (it has lake/ and warehouse.duckdb)")
    parser.add_argument("--postgres", metavar="ADMIN_URL",
                        help="rebuild into a new database on this PostgreSQL server instead of the DuckDB file")
    args = parser.parse_args()
    home = Path(args.home).resolve()
    original = f"duckdb:///{home / 'warehouse.duckdb'}"
    expected = counts(original)
    print(f"{expected[0]:,} filings, {expected[1]:,} statements, {expected[2]:,} values in {original}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAILYSEG_")}
    env["DAILYSEG_HOME"] = str(home)
    if args.postgres:
        url = env["DAILYSEG_WAREHOUSE"] = create_database("dailyseg_rebuild_bench", args.postgres)
        command = [DAILYSEG, "rebuild", "--quiet"]
    else:
        url = original
        command = [DAILYSEG, "rebuild", "--quiet", "--replace"]
    try:
        wall, peak, out = run_measured(command, env)
        got = counts(url)
    finally:
        if args.postgres:
            drop_database(url, args.postgres)
    print(out.strip())
    print(f"rebuild into {url.split('@')[-1]}: wall {wall:,.1f} s ({expected[0] / wall:,.0f} filings/s, "
          f"{expected[2] / wall:,.0f} values/s), peak {peak:,.0f} MB")
    print(f"rebuilt counts {got}: {'the same as the original' if got == expected else 'DIFFERENT from ' + str(expected)}")
    if got != expected:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
