"""Backfill-load benchmark: years of filings for many firms through ``dailyseg ingest``, with memory and
queryability watched while it runs.

    .venv/bin/python benchmarks/backfill_load_benchmark.py                     # 100 firms x 10 years
    .venv/bin/python benchmarks/backfill_load_benchmark.py --firms 20 --years 1 --warehouse postgresql://...

Generates the files (``dailyseg generate``), then runs one ``dailyseg ingest`` over the whole folder
and samples, every second, the resident memory of the ingest process and its workers (summed
proportional set size, so pages the forked workers share count once) and whether the warehouse
answers a count query meanwhile (on PostgreSQL a reader runs beside the load; the embedded DuckDB
file admits one process, so there the Parquet lake is what stays readable during a load). Prints
wall time, throughput, peak and median memory, and how the peak grew from the first to the last
quarter of the run (flat means it does not grow with the corpus), for the whole and for the loader
process and its workers apart. Targets: under 700 MB peak, first and last quarter within 10%.

Then the nightly increment: one more business day of filings lands beside the whole history, and
``dailyseg ingest`` runs over the whole landing zone again, as a nightly schedule does. It prints
that run's wall time beside the same process loading the same new files from a folder that holds
nothing else (the floor: what those files cost by themselves), as a ratio; a ratio near 1 means the
years already landed cost the night nothing. Target: under 5 s. ``--rescan-peer`` also times
``dailyseg ingest --rescan`` over the same landing zone (every file read and hashed again: what the
night would cost without the manifest).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest_benchmark import DAILYSEG, create_database, drop_database, process_tree, pss_mb  # noqa: E402


def tree_pss_mb(pid: int) -> tuple[float, float]:
    """Proportional set size of a process and of its descendants, in MB."""
    return pss_mb(pid), sum(pss_mb(p) for p in process_tree(pid)[1:])


def reader_answers(url: str, lake: Path) -> bool:
    """Whether the data can be read while the load runs: the warehouse on PostgreSQL, the lake else."""
    try:
        if url.startswith("postgresql"):
            import psycopg
            with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=5) as con:
                con.execute("SELECT count(*) FROM filings").fetchone()
        else:
            import duckdb
            files = list((lake / "seg_values").rglob("*.parquet"))
            if files:
                duckdb.connect().execute(
                    f"SELECT count(*) FROM read_parquet('{lake}/seg_values/**/*.parquet', hive_partitioning=true)"
                ).fetchone()
        return True
    except Exception:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--firms", type=int, default=100)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--warehouse", help="warehouse URL (default: a fresh embedded DuckDB file)")
    parser.add_argument("--work", help="folder to use (default: a new temporary folder)")
    parser.add_argument("--rescan-peer", action="store_true",
                        help="also time a full --rescan of the landing zone after the nightly increment")
    args = parser.parse_args()

    work = Path(args.work or tempfile.mkdtemp(prefix="dailyseg-backfill-bench-"))
    end = date(2016, 3, 14)
    start = date(end.year - args.years, end.month, end.day + 1)
    landing = work / "landing"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAILYSEG_")}
    env["DAILYSEG_HOME"] = str(work / "home")
    url = args.warehouse or f"duckdb:///{work / 'home' / 'warehouse.duckdb'}"
    env["DAILYSEG_WAREHOUSE"] = url
    if not landing.exists():
        t0 = time.perf_counter()
        subprocess.run([DAILYSEG, "generate", str(landing), "--firms", str(args.firms), "--start", str(start),
                        "--end", str(end), "--quiet", "--amend-rate", "0.01"], check=True, env=env)
        print(f"generated {args.firms} firms x {args.years} years in {time.perf_counter() - t0:.0f} s into {landing}")
    files = sum(1 for _ in landing.rglob("*.txt"))
    print(f"{files:,} files; ingesting into {url.split('@')[-1]}")
    t0 = time.perf_counter()
    proc = subprocess.Popen([DAILYSEG, "ingest", "--quiet", str(landing)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    samples, answered, asked = [], 0, 0
    while proc.poll() is None:
        samples.append((time.perf_counter() - t0, *tree_pss_mb(proc.pid)))
        asked += 1
        answered += reader_answers(url, work / "home" / "lake")
        time.sleep(1)
    out = proc.stdout.read()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"ingest failed ({proc.returncode}):\n{out[-3000:]}")
    samples = [s for s in samples if s[1] > 0]
    memory = [loader + workers for _, loader, workers in samples]
    quarter = max(1, len(memory) // 4)
    print(out.strip().splitlines()[-1] if out.strip() else "")
    print(f"wall {wall:,.0f} s  ({files / wall:,.0f} files/s)")
    print(f"memory (PSS of ingest and workers): peak {max(memory):,.0f} MB, median {statistics.median(memory):,.0f} MB, "
          f"peak in the first quarter {max(memory[:quarter]):,.0f} MB, in the last {max(memory[-quarter:]):,.0f} MB")
    for name, column in (("the loader process", 1), ("the parsing workers", 2)):
        part = [s[column] for s in samples]
        print(f"  of which {name}: peak {max(part):,.0f} MB, first quarter {max(part[:quarter]):,.0f} MB, "
              f"last {max(part[-quarter:]):,.0f} MB")
    print(f"readers answered {answered} of {asked} times while the load ran "
          f"({'the warehouse' if url.startswith('postgresql') else 'the Parquet lake'})")
    nightly(work, landing, env, args.firms, end, args.rescan_peer)


def _timed_ingest(env: dict, *paths: Path, extra: tuple[str, ...] = ()) -> tuple[float, str]:
    t0 = time.perf_counter()
    done = subprocess.run([DAILYSEG, "ingest", "--quiet", *extra, *map(str, paths)], env=env,
                          capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"ingest failed ({done.returncode}):\n{(done.stdout + done.stderr)[-3000:]}")
    return wall, done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def nightly(work: Path, landing: Path, env: dict, firms: int, last: date, rescan_peer: bool) -> None:
    """One more business day lands beside the history; ingest the whole landing zone again, against
    the same files ingested alone into a fresh warehouse (the floor)."""
    from etl.business_days import next_business_day
    day = next_business_day(last)
    new = work / f"night-{day}"
    if (landing / new.name).exists():
        raise SystemExit(f"{landing / new.name} already landed (a --work folder used before): give a fresh --work")
    subprocess.run([DAILYSEG, "generate", str(new), "--firms", str(firms), "--start", str(day), "--end", str(day),
                    "--quiet", "--amend-rate", "0"], check=True, env=env)
    new_files = sorted(p for p in new.rglob("*") if p.is_file())
    # the floor: the same new files alone, into a fresh warehouse and lake, by the same command
    alone_env = dict(env, DAILYSEG_HOME=str(work / "home-floor"))
    database = create_database("dailyseg_nightly_floor") if env["DAILYSEG_WAREHOUSE"].startswith("postgresql") else None
    alone_env["DAILYSEG_WAREHOUSE"] = database or f"duckdb:///{work / 'home-floor' / 'warehouse.duckdb'}"
    try:
        floor, _ = _timed_ingest(alone_env, new)
    finally:
        if database:
            drop_database(database)
    target = landing / new.name
    new.rename(target)  # lands beside ten years of files, as a nightly fetch puts it
    wall, out = _timed_ingest(env, landing)
    landed = sum(1 for _ in landing.rglob("*") if _.is_file())
    print(f"nightly increment: {len(new_files)} new files beside {landed - len(new_files):,} already loaded: "
          f"{wall:.2f} s (target under 5 s)")
    print(f"  {out}")
    print(f"  the same {len(new_files)} files alone into a fresh warehouse: {floor:.2f} s; "
          f"ratio {wall / floor:.2f}x (1.0 = the history costs the night nothing)")
    if rescan_peer:
        again, out = _timed_ingest(env, landing, extra=("--rescan",))
        print(f"  peer: --rescan of the same landing zone (every file read and hashed): {again:.1f} s, "
              f"{again / wall:.0f}x the nightly run")


if __name__ == "__main__":
    main()
