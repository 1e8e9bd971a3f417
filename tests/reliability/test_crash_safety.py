"""Crash safety: ``dailyseg ingest`` and ``dailyseg validate`` killed with SIGKILL at many points, then
run again, end exactly where a clean run ends: the same rows, no duplicates, no partial filing, no
orphan Parquet file."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import date
from pathlib import Path

import pytest

from etl.synthetic.files import generate_filings
from etl.synthetic.firms import make_firms
from etl.settings import load_settings
from etl.warehouse import open_warehouse
from tests.dq.planted import _read, _write
from tests.cli.test_cli import DAILYSEG
from tests.ingest.test_run import lake_rows, snapshot

# where the ingest is killed: the progress markers it reports (DAILYSEG_TRACE), each with the number of the
# occurrence to wait for. A clean run is three batches of 500 files of one month; these cover start-up,
# the worker pool, parsing, a committed batch whose lake partitions are not written yet, a later batch,
# and the month's partitions written at the end with the run not yet marked complete.
KILL_AT = (("ingest:started", 1), ("ingest:pool-started", 1), ("ingest:batch-parsed", 1),
           ("ingest:batch-committed", 1), ("ingest:batch-committed", 2), ("ingest:lake-written", 1))


def _env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAILYSEG_")}
    env["DAILYSEG_HOME"] = str(home)
    return env


def run_to_end(home: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([DAILYSEG, *args], env=_env(home), capture_output=True, text=True, timeout=600)
    assert result.returncode in (0, 1), result.stderr[-2000:]
    return result


def _reached(trace: Path, step: str) -> int:
    try:
        return sum(line.split(" ", 1)[1].startswith(step) for line in trace.read_text().splitlines())
    except (OSError, IndexError):
        return 0


def survivors(group: int) -> list[int]:
    """Processes still in process group ``group`` (the run's workers, if they outlived it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == group and fields[0] not in ("Z", "X"):
                found.append(int(entry.name))
    return found


def signal_at(home: Path, step: str, occurrence: int, *args: str, sig: int = signal.SIGKILL,
              trace: Path | None = None) -> subprocess.Popen | None:
    """Start a run and send ``sig`` to it alone (not to its workers: a supervisor or the OOM killer kills
    the process it watches) as soon as it reports reaching ``step`` for the ``occurrence``-th time.
    Returns the ended process, or None if the run finished before reaching the step."""
    stamp = time.monotonic_ns()
    trace = trace or home.parent / f"{home.name}-trace-{stamp}.log"
    errors = home.parent / f"{home.name}-stderr-{stamp}.log"  # a file, not a pipe that a survivor could hold open
    env = {**_env(home), "DAILYSEG_TRACE": str(trace)}
    with open(errors, "w") as stderr:
        proc = subprocess.Popen([DAILYSEG, *args], env=env, stdout=subprocess.DEVNULL, stderr=stderr,
                                start_new_session=True)
    deadline = time.monotonic() + 300
    while _reached(trace, step) < occurrence:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.wait()
            return None
        time.sleep(0.002)
    os.kill(proc.pid, sig)
    proc.wait(timeout=120)
    proc.stderr_text = errors.read_text()
    return proc


def no_survivors(proc: subprocess.Popen) -> None:
    """The run's workers die with it, within seconds, holding nothing."""
    deadline = time.monotonic() + 10
    while survivors(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert survivors(proc.pid) == [], "workers outlived the process that started them"


def without_source_paths(rows: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    """A ``snapshot`` with the filings' ``source_path`` left out."""
    return {**rows, "filings": sorted(r[:6] + r[7:] for r in rows["filings"])}


def lake_files(home: Path) -> set[str]:
    lake = home / "lake"
    return {str(p.relative_to(lake)) for p in lake.rglob("*") if p.is_file() and "quarantine" not in p.parts}


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("crash") / "landing"
    generate_filings(folder, firms=60, start=date(2016, 1, 4), end=date(2016, 1, 29), seed=21)
    (folder / "bad.txt").write_text("not a filing\n")
    # two planted problems, so validation has findings to reproduce
    firm = make_firms(60, 21)[0].slug
    for day, code, delta in (("2016-01-12", "7010", 5000), ("2016-01-20", "7190", -10**12)):
        path = folder / day / f"{firm}.txt"
        header, values = _read(path)
        values["segregation"][code] += delta
        _write(path, header, values)
    return folder


@pytest.fixture(scope="module")
def clean(landing, tmp_path_factory):
    home = tmp_path_factory.mktemp("clean")
    run_to_end(home, "ingest", "--quiet", str(landing))
    settings = load_settings(environ={}, home=home)
    return snapshot(settings), lake_rows(settings), lake_files(home), home


@pytest.mark.slow
def test_ingest_killed_anywhere_then_rerun_ends_as_a_clean_run(landing, clean, tmp_path):
    clean_rows, clean_lake, clean_files, _ = clean
    assert len(clean_rows["filings"]) > 1100
    for n, (step, occurrence) in enumerate(KILL_AT):
        home = tmp_path / f"home-{n}"
        killed = signal_at(home, step, occurrence, "ingest", "--quiet", str(landing))
        assert killed is not None, f"the run ended before {step} #{occurrence}"
        no_survivors(killed)
        # a second kill, into the recovery run as soon as it has started (it may have nothing left to parse:
        # the manifest knows every file a committed batch read), then the run that finishes, which must
        # not wait for anything the killed runs left behind
        recovery = signal_at(home, "ingest:started", 1, "ingest", "--quiet", str(landing))
        assert recovery is not None
        no_survivors(recovery)
        expected = clean_rows
        finished = subprocess.run([DAILYSEG, "ingest", "--quiet", "--wait", "5", str(landing)], env=_env(home),
                                  capture_output=True, text=True, timeout=600)
        if finished.returncode == 0 and "The warehouse file was damaged" in finished.stdout:
            # DuckDB 2.0 rewrites its live metadata block in place at each checkpoint, and a kill inside
            # that write leaves the file unreadable (docs/reliability.md: reproduced 12 times in 20 with a
            # kill timed into the write). The ingest then sets the file aside, rebuilds the warehouse from
            # the lake and loads: every row comes back, those reloaded from the raw zone naming it.
            expected = without_source_paths(clean_rows)
        else:
            assert finished.returncode in (0, 1), finished.stderr[-2000:]
        settings = load_settings(environ={}, home=home)
        got = snapshot(settings)
        where = f"killed at {step} #{occurrence}"
        assert (got if expected is clean_rows else without_source_paths(got)) == expected, where
        assert lake_rows(settings) == clean_lake, where
        files = lake_files(home)
        assert files == clean_files, f"{where}: {sorted(files ^ clean_files)[:5]}"
        wh = open_warehouse(settings.warehouse_url)
        try:
            assert wh.scalar("SELECT count(*) FROM lake_pending") == 0
            assert wh.scalar("SELECT count(*) - count(DISTINCT (filing_id, statement, code)) FROM seg_values") == 0
        finally:
            wh.dispose()


@pytest.mark.parametrize("step", ["ingest:batch-parsed", "ingest:batch-committed"])
def test_sigterm_stops_an_ingest_cleanly_and_a_rerun_finishes_it(landing, clean, tmp_path, step):
    clean_rows, clean_lake, clean_files, _ = clean
    home = tmp_path / "home"
    stopped = signal_at(home, step, 1, "ingest", "--quiet", str(landing), sig=signal.SIGTERM)
    assert stopped is not None, f"the run ended before {step}"
    err = stopped.stderr_text
    assert stopped.returncode == 143, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "stopped by SIGTERM" in err and "run the same command again" in err
    no_survivors(stopped)
    settings = load_settings(environ={}, home=home)
    wh = open_warehouse(settings.warehouse_url)
    try:
        assert wh.scalar("SELECT status FROM ingest_runs") == "stopped"
        held = wh.scalar("SELECT count(*) FROM filings")
    finally:
        wh.dispose()
    assert 0 <= held < len(clean_rows["filings"])
    # the lock is free at once, and the next run ends where a clean run ends
    finished = subprocess.run([DAILYSEG, "ingest", "--quiet", "--wait", "0", str(landing)], env=_env(home),
                              capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr
    assert snapshot(settings) == clean_rows
    assert lake_rows(settings) == clean_lake and lake_files(home) == clean_files


def _results(home: Path) -> list[tuple]:
    wh = open_warehouse(load_settings(environ={}, home=home).warehouse_url)
    try:
        run = wh.scalar("SELECT run_id FROM dq_runs WHERE status = 'completed' ORDER BY started_at DESC LIMIT 1")
        frame = wh.read_df("SELECT firm, end_date, statement, rule_id, kind, severity, reported, expected "
                           "FROM dq_results WHERE run_id = :r", {"r": run})
        return sorted(map(tuple, frame.astype(str).itertuples(index=False)))
    finally:
        wh.dispose()


@pytest.mark.slow
def test_validate_killed_then_rerun_reports_what_a_clean_run_reports(clean, tmp_path):
    import shutil
    _, _, _, clean_home = clean
    home = tmp_path / "home"
    shutil.copytree(clean_home, home)
    reference = tmp_path / "reference"
    shutil.copytree(clean_home, reference)
    run_to_end(reference, "validate")
    expected = _results(reference)
    assert {r[3] for r in expected} >= {"SEG-NET-EQUITY", "DEFICIENCY-SEG"}, expected[:5]
    for step in ("validate:statement frame", "validate:anomaly checks", "validate:results and Data Docs"):
        killed = signal_at(home, step, 1, "validate")
        assert killed is not None, f"validation ended before {step}"
    run_to_end(home, "validate")
    assert _results(home) == expected
    wh = open_warehouse(load_settings(environ={}, home=home).warehouse_url)
    try:  # a killed run never passes for a completed one
        statuses = list(wh.read_df("SELECT status FROM dq_runs")["status"])
    finally:
        wh.dispose()
    assert statuses.count("completed") == 1


def test_a_worker_killed_mid_run_stops_the_run_with_a_message_and_a_rerun_completes(landing, clean, tmp_path):
    clean_rows, _, clean_files, _ = clean
    home = tmp_path / "home"
    trace = tmp_path / "trace.log"
    proc = subprocess.Popen([DAILYSEG, "ingest", "--quiet", str(landing)], env={**_env(home), "DAILYSEG_TRACE": str(trace)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while _reached(trace, "ingest:batch-parsed") < 1 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)  # the first batch is parsed: the workers are at work on the next one
    workers = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split() if proc.poll() is None else []
    assert workers, "the run never started its parsing workers"
    os.kill(int(workers[0]), signal.SIGKILL)
    _, err = proc.communicate(timeout=120)  # ends: it does not wait forever for the lost files
    if proc.returncode == 0:
        pytest.fail("the run finished before the worker could be killed")
    assert proc.returncode == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "run the same command again" in err
    run_to_end(home, "ingest", "--quiet", str(landing))
    assert snapshot(load_settings(environ={}, home=home)) == clean_rows
    assert lake_files(home) == clean_files


def test_a_killed_report_leaves_no_chart_worker_behind(clean, tmp_path):
    import shutil
    home = shutil.copytree(clean[3], tmp_path / "home")
    killed = signal_at(home, "report:charts-started", 1, "report", "--quiet")
    assert killed is not None, "the report finished before drawing in worker processes"
    no_survivors(killed)
    firm = make_firms(60, 21)[0].name
    trends = subprocess.run([DAILYSEG, "trends", "--firm", firm, "--wait", "0"], env=_env(home),
                            capture_output=True, text=True, timeout=120)
    assert trends.returncode == 0, trends.stderr  # the warehouse lock is free at once
