"""Orchestration benchmark: the daily_seg_load DAG under Airflow, for one night and for a backfill.

    .venv/bin/python benchmarks/dag_benchmark.py                        # 100 firms: nightly run + 20-day backfill
    .venv/bin/python benchmarks/dag_benchmark.py --skip-backfill        # the nightly run only
    .venv/bin/python benchmarks/dag_benchmark.py --sequential           # also 20 `airflow dags test` in a row

Targets on a 2-core machine: one nightly run for 100 firms in under 60 s wall time under
``airflow dags test`` (Airflow's own start-up included); a 20-business-day backfill in under 5 minutes.

nightly   100 firms' filings for one business day in a landing folder, then ``airflow dags test
          daily_seg_load DAY`` as its own process (SQLite metadata, embedded DuckDB warehouse, every
          ``DAILYSEG_*`` setting pointing into a temporary folder); timed a second time for the re-run
          of the same day (nothing new to load). Peak memory: that process's maximum resident set size.
backfill  100 firms x 20 business days in the landing folder, then Airflow's own backfill
          (``airflow backfill create``) carried out by a real scheduler, dag-processor and api-server
          with the LocalExecutor on a PostgreSQL metadata database this script creates and drops. Timed
          from ``backfill create`` until every run has finished; every run must succeed, and the
          warehouse must hold each filing once. Peak memory: the largest total proportional set size
          (shared pages counted once) of the Airflow processes and their task processes, sampled
          every half second.
sequential (optional) the same 20 days as 20 ``airflow dags test`` processes one after another.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest_benchmark import business_window, create_database, drop_database, run_measured  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
AIRFLOW = str(BIN / "airflow")
DAG_ID = "daily_seg_load"
NIGHTLY_TARGET_S = 60
BACKFILL_TARGET_S = 300


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def base_env(airflow_home: Path, dailyseg_home: Path, landing: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAILYSEG_", "AIRFLOW"))}
    env.update({
        "AIRFLOW_HOME": str(airflow_home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"), "GX_ANALYTICS_ENABLED": "false",
        "DAILYSEG_HOME": str(dailyseg_home), "DAILYSEG_LANDING": str(landing),
        "DAILYSEG_WAREHOUSE": f"duckdb:///{dailyseg_home / 'warehouse.duckdb'}",
    })
    return env


def migrate(env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run([AIRFLOW, "db", "migrate"], env=env, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise SystemExit(f"airflow db migrate failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return time.perf_counter() - started


def warehouse_check(dailyseg_home: Path, expected_filings: int, days: list[date]) -> str:
    """Each filing once, each value once, every day validated; raises SystemExit otherwise."""
    from etl.business_days import business_days
    from etl.warehouse import open_warehouse
    wh = open_warehouse(f"duckdb:///{dailyseg_home / 'warehouse.duckdb'}")
    try:
        filings = wh.scalar("SELECT count(*) FROM filings")
        dup_filings = wh.scalar("SELECT count(*) FROM (SELECT sha256 FROM filings GROUP BY sha256 "
                                "HAVING count(*) > 1) d")
        values = wh.scalar("SELECT count(*) FROM seg_values")
        dup_values = wh.scalar("SELECT count(*) FROM (SELECT filing_id, statement, code, line FROM seg_values "
                               "GROUP BY ALL HAVING count(*) > 1) d")
        rejected = wh.scalar("SELECT count(*) FROM rejected_filings")
        spans = wh.read_df("SELECT DISTINCT date_from, date_to FROM dq_runs WHERE status = 'completed'")
        validated = {d.isoformat() for a, b in zip(spans.date_from, spans.date_to)
                     for d in business_days(date.fromisoformat(str(a)[:10]), date.fromisoformat(str(b)[:10]))}
    finally:
        wh.dispose()
    problems = []
    if filings != expected_filings:
        problems.append(f"{filings} filings in the warehouse, expected {expected_filings}")
    if dup_filings or dup_values:
        problems.append(f"duplicates: {dup_filings} files loaded twice, {dup_values} values twice")
    if rejected:
        problems.append(f"{rejected} files rejected")
    missing = [d.isoformat() for d in days if d.isoformat() not in validated]
    if missing:
        problems.append(f"days never validated: {', '.join(missing)}")
    if problems:
        raise SystemExit("warehouse check failed: " + "; ".join(problems))
    return f"{filings:,} filings, {values:,} values, no duplicates, {len(days)} days validated"


def create_pool(env: dict[str, str]) -> None:
    """The writer pool every warehouse task takes a slot of: 1 slot, for the embedded DuckDB."""
    result = subprocess.run([AIRFLOW, "pools", "set", "dailyseg_warehouse", "1", "tasks that open the warehouse"],
                            env=env, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise SystemExit(f"airflow pools set failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")


# -- nightly: airflow dags test ----------------------------------------------------------------------------
CLEAN_RUN = {"ingest": "success", "validate": "success", "publish": "success", "alert": "success",
             "verdict": "skipped"}  # the verdict only runs when something failed


def sqlite_states(airflow_home: Path) -> tuple[str, dict[str, str]]:
    """The newest run's state and its tasks' states."""
    with sqlite3.connect(airflow_home / "airflow.db") as con:
        run_id, state = con.execute("SELECT run_id, state FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1",
                                    (DAG_ID,)).fetchone()
        return state, dict(con.execute("SELECT task_id, state FROM task_instance WHERE dag_id = ? AND run_id = ?",
                                       (DAG_ID, run_id)).fetchall())


def dags_test(env: dict[str, str], airflow_home: Path, day: date) -> tuple[float, float]:
    wall, peak, _ = run_measured([AIRFLOW, "dags", "test", DAG_ID, day.isoformat()], env)
    state, tasks = sqlite_states(airflow_home)
    if state != "success" or tasks != CLEAN_RUN:
        raise SystemExit(f"dags test {day}: the run ended {state}: {tasks}")
    return wall, peak


def nightly(work: Path, firms: int, day: date) -> None:
    from etl.synthetic.files import generate_filings
    landing, home, airflow_home = work / "nightly" / "landing", work / "nightly" / "home", work / "nightly" / "airflow"
    generated = generate_filings(landing, firms=firms, start=day, end=day, seed=1)
    env = base_env(airflow_home, home, landing)
    setup = migrate(env)
    create_pool(env)
    print(f"\nnightly run: {generated.files} filings ({firms} firms, {day}); `airflow db migrate` (SQLite, once) "
          f"{setup:.1f} s")
    print(f"{'run':<8} {'wall s':>7} {'filings/s':>10} {'peak MB':>8}  target")
    for label in ("fresh", "re-run"):
        wall, peak = dags_test(env, airflow_home, day)
        verdict = "" if label != "fresh" else ("met" if wall < NIGHTLY_TARGET_S else "MISSED") + \
            f" (< {NIGHTLY_TARGET_S} s)"
        print(f"{label:<8} {wall:>7.1f} {generated.files / wall:>10,.1f} {peak:>8.0f}  {verdict}")
    print("warehouse: " + warehouse_check(home, generated.files, [day]))


def sequential(work: Path, firms: int, days: list[date]) -> None:
    from etl.synthetic.files import generate_filings
    base = work / "sequential"
    landing, home, airflow_home = base / "landing", base / "home", base / "airflow"
    generated = generate_filings(landing, firms=firms, start=days[0], end=days[-1], seed=1)
    env = base_env(airflow_home, home, landing)
    migrate(env)
    create_pool(env)
    print(f"\nsequential: {len(days)} x `airflow dags test` over {generated.files:,} filings "
          f"({firms} firms x {len(days)} business days)")
    total, peak_all, walls = 0.0, 0.0, []
    for day in days:
        wall, peak = dags_test(env, airflow_home, day)
        walls.append(wall)
        total += wall
        peak_all = max(peak_all, peak)
    print(f"total {total:.1f} s (first run, which loads every file: {walls[0]:.1f} s; the others "
          f"{min(walls[1:] or [0]):.1f} to {max(walls[1:] or [0]):.1f} s), peak {peak_all:.0f} MB  "
          + ("met" if total < BACKFILL_TARGET_S else "MISSED") + f" (< {BACKFILL_TARGET_S} s)")
    print("warehouse: " + warehouse_check(home, generated.files, days))


# -- backfill: scheduler + LocalExecutor + PostgreSQL metadata ----------------------------------------------
class RssSampler:
    """The largest total memory of some processes and all their descendants, as proportional set size
    (PSS: pages shared between processes, as the LocalExecutor's forked workers share most of theirs,
    count once in total rather than once per process); resident set size where PSS is unreadable."""

    def __init__(self, pids: list[int], every: float = 0.5):
        self.pids, self.every, self.peak_mb, self.peak_procs = pids, every, 0.0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil
        while not self._stop.is_set():
            total, count = 0, 0
            for pid in self.pids:
                try:
                    root = psutil.Process(pid)
                    for proc in [root, *root.children(recursive=True)]:
                        try:
                            try:
                                total += proc.memory_full_info().pss
                            except (psutil.AccessDenied, AttributeError):
                                total += proc.memory_info().rss
                            count += 1
                        except psutil.Error:
                            pass
                except psutil.Error:
                    pass
            if total / 2**20 > self.peak_mb:
                self.peak_mb, self.peak_procs = total / 2**20, count
            self._stop.wait(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def _start(stack: ExitStack, argv: list[str], env: dict, log: Path) -> subprocess.Popen:
    handle = stack.enter_context(open(log, "w"))
    process = subprocess.Popen(argv, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)

    def stop():
        for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
            try:
                os.killpg(process.pid, sig)
                process.wait(timeout=wait)
                return
            except ProcessLookupError:
                return
            except subprocess.TimeoutExpired:
                continue
    stack.callback(stop)
    return process


def backfill(work: Path, firms: int, days: list[date], max_active_runs: int | None, timeout: float) -> None:
    import psycopg

    from etl.synthetic.files import generate_filings
    base = work / "backfill"
    landing, home, airflow_home = base / "landing", base / "home", base / "airflow"
    t0 = time.perf_counter()
    generated = generate_filings(landing, firms=firms, start=days[0], end=days[-1], seed=1)
    print(f"\nbackfill: {generated.files:,} filings ({firms} firms x {len(days)} business days, {days[0]} to "
          f"{days[-1]}), generated in {time.perf_counter() - t0:.1f} s")
    plain = create_database("dailyseg_bench_airflow")
    port = _free_port()
    env = base_env(airflow_home, home, landing)
    env.update({
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": plain.replace("postgresql://", "postgresql+psycopg2://", 1),
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": f"bench-{uuid.uuid4().hex}",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_free_port()),
        # only the backfill's runs: no scheduled run of "the latest business day" once the DAG is unpaused
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
    })
    logs = {name: base / f"{name}.log" for name in ("api-server", "scheduler", "dag-processor")}

    def query(sql: str, *args):
        with psycopg.connect(plain, autocommit=True) as con:
            return con.execute(sql, args).fetchall()

    def airflow(*argv: str) -> subprocess.CompletedProcess:
        result = subprocess.run([AIRFLOW, *argv], env=env, capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            raise SystemExit(f"airflow {' '.join(argv)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
        return result

    def wait_for(condition, seconds: float, what: str):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(1)
        tails = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in logs.values() if p.exists())
        raise SystemExit(f"timed out after {seconds:.0f} s waiting for {what}\n{tails}")

    try:
        setup = migrate(env)
        create_pool(env)
        with ExitStack() as stack:
            t0 = time.perf_counter()
            procs = [_start(stack, [AIRFLOW, "api-server", "--port", str(port)], env, logs["api-server"]),
                     _start(stack, [AIRFLOW, "scheduler"], env, logs["scheduler"]),
                     _start(stack, [AIRFLOW, "dag-processor"], env, logs["dag-processor"])]
            wait_for(lambda: query("SELECT 1 FROM dag WHERE dag_id = %s", DAG_ID), 180, "the DAG to be parsed")
            airflow("dags", "unpause", DAG_ID)
            print(f"`airflow db migrate` (PostgreSQL) {setup:.1f} s; api-server, scheduler and dag-processor up "
                  f"with the DAG parsed after {time.perf_counter() - t0:.1f} s (not counted below)")

            argv = ["backfill", "create", "--dag-id", DAG_ID, "--from-date", days[0].isoformat(),
                    "--to-date", days[-1].isoformat()]
            if max_active_runs:
                argv += ["--max-active-runs", str(max_active_runs)]
            with RssSampler([p.pid for p in procs]) as sampler:
                started = time.perf_counter()
                airflow(*argv)
                created = time.perf_counter() - started

                def finished():
                    rows = query("SELECT state FROM dag_run WHERE dag_id = %s AND run_type = 'backfill'", DAG_ID)
                    done = [s for (s,) in rows if s in ("success", "failed")]
                    if len(rows) >= len(days) and len(done) == len(rows):
                        return rows
                    return None

                rows = wait_for(finished, timeout, f"{len(days)} backfill runs to finish")
                wall = time.perf_counter() - started
        states = [s for (s,) in rows]
        limit = query("SELECT max_active_runs FROM backfill WHERE dag_id = %s", DAG_ID)[0][0]
        runs = query("SELECT logical_date, extract(epoch FROM end_date - start_date) FROM dag_run "
                     "WHERE dag_id = %s AND run_type = 'backfill' ORDER BY logical_date", DAG_ID)
        tasks = query("SELECT ti.task_id, count(*), avg(ti.duration), max(ti.duration), "
                      "sum(greatest(ti.try_number - 1, 0)), "
                      "count(*) FILTER (WHERE ti.state NOT IN ('success', 'skipped')) "
                      "FROM task_instance ti JOIN dag_run r ON r.run_id = ti.run_id AND r.dag_id = ti.dag_id "
                      "WHERE r.run_type = 'backfill' "
                      "GROUP BY ti.task_id ORDER BY avg(ti.duration) DESC")
        print(f"{'runs':<5} {'ok':>3} {'wall s':>7} {'s/run':>6} {'filings/s':>10} {'peak MB':>8}  target")
        ok = states.count("success")
        print(f"{len(states):<5} {ok:>3} {wall:>7.1f} {wall / len(states):>6.1f} {generated.files / wall:>10,.1f} "
              f"{sampler.peak_mb:>8.0f}  " + ("met" if wall < BACKFILL_TARGET_S and ok == len(days) else "MISSED")
              + f" (< {BACKFILL_TARGET_S} s)")
        print(f"(backfill max_active_runs {limit}; `backfill create` itself {created:.1f} s; peak memory over "
              f"{sampler.peak_procs} processes; each run took {min(r[1] for r in runs):.1f} to "
              f"{max(r[1] for r in runs):.1f} s from start to end)")
        print(f"{'task':<10} {'n':>3} {'avg s':>6} {'max s':>6} {'retries':>7} {'not ok':>6}")
        for task_id, n, avg, top, retries, bad in tasks:
            print(f"{task_id:<10} {n:>3} {avg or 0:>6.1f} {top or 0:>6.1f} {retries or 0:>7} {bad:>6}")
        if ok != len(days):
            failed = query("SELECT r.logical_date, ti.task_id, ti.state FROM task_instance ti JOIN dag_run r ON "
                           "r.run_id = ti.run_id AND r.dag_id = ti.dag_id WHERE r.run_type = 'backfill' "
                           "AND ti.state NOT IN ('success', 'skipped') ORDER BY 1, 2")
            raise SystemExit(f"{len(days) - ok} runs did not succeed: {failed} (logs in {base})")
        print("warehouse: " + warehouse_check(home, generated.files, days))
    finally:
        drop_database(plain)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--firms", type=int, default=100)
    parser.add_argument("--day", type=date.fromisoformat, default=date(2016, 3, 14),
                        help="the nightly run's business day, and the backfill's last")
    parser.add_argument("--days", type=int, default=20, help="business days in the backfill")
    parser.add_argument("--max-active-runs", type=int, default=None,
                        help="the backfill's own limit (Airflow's default when not given)")
    parser.add_argument("--timeout", type=float, default=1800, help="give up on the backfill after this long")
    parser.add_argument("--skip-nightly", action="store_true")
    parser.add_argument("--skip-backfill", action="store_true")
    parser.add_argument("--sequential", action="store_true", help="also time the days as `airflow dags test` runs")
    args = parser.parse_args()

    from etl.business_days import business_days
    work = Path(tempfile.mkdtemp(prefix="dailyseg-dag-bench-"))
    days = business_days(business_window(args.days, args.day), args.day)
    print(f"daily_seg_load under Airflow, {os.cpu_count()} cores; work folder {work}")
    if not args.skip_nightly:
        nightly(work, args.firms, args.day)
    if not args.skip_backfill:
        backfill(work, args.firms, days, args.max_active_runs, args.timeout)
    if args.sequential:
        sequential(work, args.firms, days)
    print(f"(files and logs kept in {work})")


if __name__ == "__main__":
    main()
