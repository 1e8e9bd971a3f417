"""``dailyseg sql`` benchmark: memory and speed of a streamed result, beside the same result read whole.

    .venv/bin/python benchmarks/sql_benchmark.py                                # both backends
    .venv/bin/python benchmarks/sql_benchmark.py --backends duckdb --rows 1000,2000000

For each backend and row count, ``dailyseg sql QUERY --format csv --limit 0`` writes every row of a
generated result (a number and 200 characters a row) to /dev/null. Printed: its wall time (start-up
included), rows per second, peak memory and its ratio to the floor (the command's peak for the
smallest result), and beside it the peak memory of a peer measured in the same run: a process that
reads the same result whole from a read-only connection (``fetchall``, what the command used to do)
and its ratio to its own floor. Target: the command's peak does not grow with the number of rows.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest_benchmark import DAILYSEG, backend_env, drop_database, run_measured  # noqa: E402

QUERIES = {
    "duckdb": "SELECT i, repeat('x', 200) AS pad FROM range({n}) t(i)",
    "postgresql": "SELECT i, repeat('x', 200) AS pad FROM generate_series(1, {n}) i",
}

# The peer: the same result read whole, on the same kind of read-only connection.
READ_WHOLE = """
import sys
url, sql = sys.argv[1], sys.argv[2]
if url.startswith("duckdb"):
    import duckdb
    conn = duckdb.connect(url.split("///", 1)[1], read_only=True)
    conn.execute("SET enable_progress_bar = false")
else:
    import psycopg
    conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1))
rows = conn.execute(sql).fetchall()
print(len(rows))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="duckdb,postgresql")
    parser.add_argument("--rows", default="1000,200000,2000000", help="comma-separated row counts")
    args = parser.parse_args()
    counts = [int(n) for n in args.rows.split(",")]
    work = Path(tempfile.mkdtemp(prefix="dailyseg-sql-bench-"))
    print(f"{'backend':<11} {'rows':>10} {'wall s':>7} {'rows/s':>10} {'peak MB':>8} {'x floor':>8}   "
          f"{'read whole MB':>13} {'x floor':>8}")
    for backend in args.backends.split(","):
        env, database = backend_env(work, backend, "dailyseg_sql_bench")
        try:
            floors = None
            for n in counts:
                query = QUERIES[backend].format(n=n)
                wall, peak, _ = run_measured([DAILYSEG, "sql", query, "--format", "csv", "--limit", "0"], env,
                                             keep_output=False)
                _, whole, out = run_measured([sys.executable, "-c", READ_WHOLE, env["DAILYSEG_WAREHOUSE"], query],
                                             env)
                assert int(out) == n, out
                floors = floors or (peak, whole)
                print(f"{backend:<11} {n:>10,} {wall:>7.1f} {n / wall:>10,.0f} {peak:>8.0f} {peak / floors[0]:>7.2f}x   "
                      f"{whole:>13.0f} {whole / floors[1]:>7.2f}x")
        finally:
            if database:
                drop_database(database)


if __name__ == "__main__":
    main()
