"""Ingest benchmark: generated filings into a fresh DuckDB and a fresh PostgreSQL warehouse, beside the floor.

    .venv/bin/python benchmarks/ingest_benchmark.py                      # 50 firms x 40 business days
    .venv/bin/python benchmarks/ingest_benchmark.py --firms 100 --days 250 --backends duckdb

Each ingest runs as its own ``dailyseg ingest`` process, as a user would run it, so the wall time
includes interpreter start-up and imports; peak memory is that process's (and its workers') highest
resident total. A second ingest of the same folder (all duplicates) is timed too.

The floor is the least any loader of these files must do, measured in the same run on the same files:
a process that reads every file, pulls the header and the ``value [code]`` pairs with two regular
expressions, builds one Arrow table and inserts it into DuckDB once (no raw archive, no lake, no
lineage, no amendments, no rejections, no crash safety). The DuckDB ingest is reported as a ratio to
it, the median of ``--repeat`` runs of each, each floor run right after a DuckDB run so that both see
the same machine (target: 2.0 or less; goal 1.5).
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


def backend_env(work: Path, backend: str, prefix: str, home_name: str | None = None) -> tuple[dict[str, str], str | None]:
    """The environment of ``dailyseg`` commands on ``backend`` (home ``work/home-<backend>``, or
    ``work/<home_name>``), and the PostgreSQL database created for it (None for DuckDB), to drop afterwards."""
    home = work / (home_name or f"home-{backend}")
    env = dict(os.environ, DAILYSEG_HOME=str(home), GX_ANALYTICS_ENABLED="false")
    if backend == "duckdb":
        env["DAILYSEG_WAREHOUSE"] = f"duckdb:///{home / 'warehouse.duckdb'}"
        return env, None
    env["DAILYSEG_WAREHOUSE"] = create_database(prefix)
    return env, env["DAILYSEG_WAREHOUSE"]


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


def run_measured(cmd: list[str], env: dict[str, str], ok_codes=(0,), keep_output: bool = True
                 ) -> tuple[float, float, str]:
    """(wall seconds, peak memory in MB, stdout) of one command (stdout discarded unless ``keep_output``).

    Peak memory is the larger of the command's own high-water mark (VmHWM, which starts afresh at
    exec) and the highest resident total of the command and its workers, sampled every 50 ms. (The
    kernel's ru_maxrss would not do: a child starts from its parent's peak, so a benchmark that holds
    a large warehouse in memory before timing a command would charge it to the command.)
    """
    wall, peak, _, out = run_measured_tree(cmd, env, ok_codes, keep_output=keep_output)
    return wall, peak, out


def run_measured_tree(cmd: list[str], env: dict[str, str], ok_codes=(0,), pss: bool = False,
                      keep_output: bool = True) -> tuple[float, float, float, str]:
    """(wall seconds, peak resident total in MB, peak proportional total in MB, stdout) of one command and
    the processes it starts (see ``run_measured``). The resident total counts the pages forked processes
    share once in each of them; the proportional total (``pss``; 0 unless asked, as it costs a walk of
    every process's page tables per sample) counts them once in all."""
    import threading
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE if keep_output else subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
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
    out = out or ""
    if proc.returncode not in ok_codes:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{out}\n{err}")
    return wall, peak_kb / 1024, peak_pss, out


FLOOR = r"""
import os, re, sys
import duckdb, pyarrow as pa
root, db = sys.argv[1], sys.argv[2]
HEADER = re.compile(rb"End Date:\s*(\d+/\d+/\d+)\s*\**\s*Firm Name:\s*([^\r\n*]+)")
PAIR = re.compile(rb"(-?\(?[\d,]+\)?)(?:</u>)?\s*\[(\d{4})\]")
firms, days, codes, values = [], [], [], []
for folder, _, names in os.walk(root):
    for name in names:
        with open(os.path.join(folder, name), "rb") as handle:
            data = handle.read()
        header = HEADER.search(data)
        firm, day = header.group(2).strip().decode(), header.group(1).decode()
        for value, code in PAIR.findall(data):
            number = int(value.replace(b",", b"").strip(b"()"))
            firms.append(firm); days.append(day); codes.append(code.decode())
            values.append(-number if value.startswith(b"(") else number)
batch = pa.table({"firm": firms, "end_date": days, "code": codes, "value": values})
con = duckdb.connect(db)
con.execute("CREATE TABLE seg_values AS SELECT firm, strptime(end_date, '%m/%d/%Y')::DATE AS end_date, code, value "
            "FROM batch")
con.close()
print(len(values))
"""


def floor_run(landing: Path, work: Path) -> tuple[float, float, int]:
    """(wall seconds, peak MB, values) of the floor loader over ``landing``, into a fresh DuckDB file."""
    database = work / f"floor-{uuid.uuid4().hex[:8]}.duckdb"
    wall, peak, out = run_measured([sys.executable, "-c", FLOOR, str(landing), str(database)], dict(os.environ))
    database.unlink()
    return wall, peak, int(out.strip())


def median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


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
    parser.add_argument("--repeat", type=int, default=3, help="fresh DuckDB runs and floor runs (median)")
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

    ratios, floors = {}, []
    for backend in args.backends.split(","):
        runs = args.repeat if backend == "duckdb" else 1
        walls = []
        for n in range(runs):
            env, database = backend_env(work, backend, "dailyseg_bench", home_name=f"home-{backend}-{n}")
            try:
                for label in ("fresh", "re-run") if n == runs - 1 else ("fresh",):
                    wall, peak, out = run_measured([DAILYSEG, "ingest", str(work / "landing"), "--quiet"], env)
                    loaded = next(int(line.split()[1].replace(",", "")) for line in out.splitlines()
                                  if line.strip().startswith("loaded"))
                    values = next(int(line.split("(")[1].split()[0].replace(",", "")) for line in out.splitlines()
                                  if line.strip().startswith("loaded"))
                    if label == "fresh":
                        walls.append(wall)
                    print(f"{backend:<11} {label:<7} {wall:>7.2f} {generated.files / wall:>10,.0f} "
                          f"{values / wall:>10,.0f} {peak:>8.0f}  {values:,} ({loaded:,} filings loaded)")
            finally:
                if database:
                    drop_database(database)
            if backend == "duckdb":  # the floor right after each DuckDB run: both see the same machine
                wall, peak, values = floor_run(work / "landing", work)
                floors.append(wall)
                print(f"{'floor':<11} {'fresh':<7} {wall:>7.2f} {generated.files / wall:>10,.0f} "
                      f"{values / wall:>10,.0f} {peak:>8.0f}  {values:,} (two regular expressions, one insert)")
        ratios[backend] = median(walls)
    if "duckdb" in ratios:
        floor = median(floors)
        print(f"\ndailyseg ingest into DuckDB / floor, median of {args.repeat}: {ratios['duckdb']:.2f} s / {floor:.2f} s "
              f"= {ratios['duckdb'] / floor:.2f}x (target 2.0x, goal 1.5x)")
    print(f"(files kept in {work})")


if __name__ == "__main__":
    main()
