"""Ingest benchmark: generated filings into a fresh DuckDB and a fresh PostgreSQL warehouse.

    .venv/bin/python benchmarks/ingest_benchmark.py                      # 50 firms x 40 business days
    .venv/bin/python benchmarks/ingest_benchmark.py --firms 100 --days 250 --backends duckdb

Each ingest runs as its own ``dailyseg ingest`` process, as a user would run it, so the wall time
includes interpreter start-up and imports; peak memory is that process's maximum resident set size.
A second ingest of the same folder (all duplicates) is timed too. Targets on a 2-core machine for
2,000 filings: DuckDB under 5 s, PostgreSQL under 10 s, peak memory under 500 MB.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DAILYSEG = str(Path(sys.executable).parent / "dailyseg")
PG_ADMIN = os.environ.get("DAILYSEG_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def create_database(prefix: str, admin: str = PG_ADMIN) -> str:
    """Create an empty PostgreSQL database ``<prefix>_<random>`` on ``admin``'s server; return its URL."""
    import psycopg
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin.rsplit("/", 1)[0] + "/" + name


def drop_database(url: str, admin: str = PG_ADMIN) -> None:
    """Drop a database ``create_database`` made, whoever is still connected to it."""
    import psycopg
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants."""
    pids, frontier = [pid], [pid]
    while frontier:
        parent = frontier.pop()
        try:
            children = [int(c) for c in Path(f"/proc/{parent}/task/{parent}/children").read_text().split()]
        except OSError:
            children = []
        pids += children
        frontier += children
    return pids


def pss_mb(pid: int) -> float:
    """Proportional set size of one process, in MB (0 once it is gone): pages it shares with the processes
    it was forked from or forked count once over all of them."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run_measured(cmd: list[str], env: dict[str, str], ok_codes=(0,)) -> tuple[float, float, str]:
    """(wall seconds, peak memory in MB, stdout) of one command.

    Peak memory is the larger of the command's own high-water mark (VmHWM, which starts afresh at
    exec) and the highest resident total of the command and its workers, sampled every 50 ms. (The
    kernel's ru_maxrss would not do: a child starts from its parent's peak, so a benchmark that holds
    a large warehouse in memory before timing a command would charge it to the command.)
    """
    wall, peak, _, out = run_measured_tree(cmd, env, ok_codes)
    return wall, peak, out


def run_measured_tree(cmd: list[str], env: dict[str, str], ok_codes=(0,),
                      pss: bool = False) -> tuple[float, float, float, str]:
    """(wall seconds, peak resident total in MB, peak proportional total in MB, stdout) of one command and
    the processes it starts (see ``run_measured``). The resident total counts the pages forked processes
    share once in each of them; the proportional total (``pss``; 0 unless asked, as it costs a walk of
    every process's page tables per sample) counts them once in all."""
    import threading
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    outputs: list[str] = []
    reader = threading.Thread(target=lambda: outputs.extend(proc.communicate()), daemon=True)
    reader.start()
    peak_kb = 0
    peak_pss = 0.0
    while proc.poll() is None:
        tree = process_tree(proc.pid)
        total = sum(_status_kb(pid, "VmRSS") for pid in tree)
        peak_kb = max(peak_kb, total, _status_kb(proc.pid, "VmHWM"))
        if pss:
            peak_pss = max(peak_pss, sum(pss_mb(pid) for pid in tree))
        time.sleep(0.05)
    wall = time.perf_counter() - started
    reader.join()
    out, err = outputs
    if proc.returncode not in ok_codes:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{out}\n{err}")
    return wall, peak_kb / 1024, peak_pss, out


def business_window(days: int, end: date) -> date:
    from etl.business_days import previous_business_day
    start = end
    for _ in range(days - 1):
        start = previous_business_day(start)
    return start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--firms", type=int, default=50)
    parser.add_argument("--days", type=int, default=40, help="business days ending 2016-03-14")
    parser.add_argument("--backends", default="duckdb,postgresql")
    parser.add_argument("--format", default="text", choices=("text", "html"))
    args = parser.parse_args()

    from etl.synthetic.files import generate_filings

    work = Path(tempfile.mkdtemp(prefix="dailyseg-bench-"))
    end = date(2016, 3, 14)
    start = business_window(args.days, end)
    t0 = time.perf_counter()
    generated = generate_filings(work / "landing", firms=args.firms, start=start, end=end, fmt=args.format, seed=1)
    gen_seconds = time.perf_counter() - t0
    size_mb = sum(p.stat().st_size for p in (work / "landing").rglob("*") if p.is_file()) / 1e6
    print(f"corpus: {generated.files:,} filings ({args.firms} firms x {generated.days} business days, "
          f"{args.format}, {size_mb:.1f} MB), generated in {gen_seconds:.2f} s")
    print(f"{'backend':<11} {'run':<7} {'wall s':>7} {'filings/s':>10} {'values/s':>10} {'peak MB':>8}  values")

    for backend in args.backends.split(","):
        env = dict(os.environ, DAILYSEG_HOME=str(work / f"home-{backend}"), GX_ANALYTICS_ENABLED="false")
        database = None
        if backend == "duckdb":
            env["DAILYSEG_WAREHOUSE"] = f"duckdb:///{work / f'home-{backend}' / 'warehouse.duckdb'}"
        else:
            database = env["DAILYSEG_WAREHOUSE"] = create_database("dailyseg_bench")
        try:
            for label in ("fresh", "re-run"):
                wall, peak, out = run_measured([DAILYSEG, "ingest", str(work / "landing"), "--quiet"], env)
                loaded = next(int(line.split()[1].replace(",", "")) for line in out.splitlines()
                              if line.strip().startswith("loaded"))
                values = next(int(line.split("(")[1].split()[0].replace(",", "")) for line in out.splitlines()
                              if line.strip().startswith("loaded"))
                print(f"{backend:<11} {label:<7} {wall:>7.2f} {generated.files / wall:>10,.0f} "
                      f"{values / wall:>10,.0f} {peak:>8.0f}  {values:,} ({loaded:,} filings loaded)")
        finally:
            if database:
                drop_database(database)
    print(f"(files kept in {work})")


if __name__ == "__main__":
    main()
