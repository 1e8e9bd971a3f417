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

# kill points, in seconds after start (a clean run takes about 2.5 s): start-up and imports, discovery,
# parsing in the workers, the warehouse batches and the lake writes
KILL_AFTER = (0.3, 0.65, 1.0, 1.35, 1.7, 2.05)


def _env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAILYSEG_")}
    env["DAILYSEG_HOME"] = str(home)
    return env


def run_to_end(home: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([DAILYSEG, *args], env=_env(home), capture_output=True, text=True, timeout=600)
    assert result.returncode in (0, 1), result.stderr[-2000:]
    return result


def kill_after(home: Path, seconds: float, *args: str) -> bool:
    """Start a run, SIGKILL it (and its workers) after ``seconds``; True if it was still running."""
    proc = subprocess.Popen([DAILYSEG, *args], env=_env(home), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        proc.wait(timeout=seconds)
        return False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return True


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


def test_ingest_killed_anywhere_then_rerun_ends_as_a_clean_run(landing, clean, tmp_path):
    clean_rows, clean_lake, clean_files, _ = clean
    assert len(clean_rows["filings"]) > 1100
    killed = 0
    for n, seconds in enumerate(KILL_AFTER):
        home = tmp_path / f"home-{n}"
        killed += kill_after(home, seconds, "ingest", "--quiet", str(landing))
        # a second kill into the recovery run, then the run that finishes
        killed += kill_after(home, seconds / 2, "ingest", "--quiet", str(landing))
        expected = clean_rows
        finished = subprocess.run([DAILYSEG, "ingest", "--quiet", str(landing)], env=_env(home),
                                  capture_output=True, text=True, timeout=600)
        if finished.returncode == 2 and "Corrupt database file" in finished.stderr:
            # DuckDB 2.0 rewrites its live metadata block in place at each checkpoint, and a kill inside
            # that write leaves the file unreadable (docs/reliability.md: reproduced 12 times in 20 with a
            # kill timed into the write). What dailyseg promises then: the command says so and names
            # the rebuild, and the rebuild gives every row back.
            assert "dailyseg rebuild" in finished.stderr and "Traceback" not in finished.stderr
            run_to_end(home, "rebuild", "--quiet")
            run_to_end(home, "ingest", "--quiet", str(landing))
            expected = without_source_paths(clean_rows)  # files loaded back from the raw zone name it
        else:
            assert finished.returncode in (0, 1), finished.stderr[-2000:]
        settings = load_settings(environ={}, home=home)
        got = snapshot(settings)
        assert (got if expected is clean_rows else without_source_paths(got)) == expected, f"killed after {seconds} s"
        assert lake_rows(settings) == clean_lake, f"killed after {seconds} s"
        files = lake_files(home)
        assert files == clean_files, f"killed after {seconds} s: {sorted(files ^ clean_files)[:5]}"
        wh = open_warehouse(settings.warehouse_url)
        try:
            assert wh.scalar("SELECT count(*) FROM lake_pending") == 0
            assert wh.scalar("SELECT count(*) - count(DISTINCT (filing_id, statement, code)) FROM seg_values") == 0
        finally:
            wh.dispose()
    assert killed >= len(KILL_AFTER), "the runs finished before they could be killed: the test proves nothing"


def _results(home: Path) -> list[tuple]:
    wh = open_warehouse(load_settings(environ={}, home=home).warehouse_url)
    try:
        run = wh.scalar("SELECT run_id FROM dq_runs WHERE status = 'completed' ORDER BY started_at DESC LIMIT 1")
        frame = wh.read_df("SELECT firm, end_date, statement, rule_id, kind, severity, reported, expected "
                           "FROM dq_results WHERE run_id = :r", {"r": run})
        return sorted(map(tuple, frame.astype(str).itertuples(index=False)))
    finally:
        wh.dispose()


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
    killed = sum(kill_after(home, seconds, "validate") for seconds in (1.5, 3.0, 4.5))
    assert killed >= 2
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
    proc = subprocess.Popen([DAILYSEG, "ingest", "--quiet", str(landing)], env=_env(home),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    workers = []
    deadline = time.monotonic() + 60
    while not workers and time.monotonic() < deadline and proc.poll() is None:
        try:
            workers = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        except OSError:
            pass
        time.sleep(0.02)
    assert workers, "the run never started its parsing workers"
    time.sleep(0.3)
    os.kill(int(workers[0]), signal.SIGKILL)
    _, err = proc.communicate(timeout=120)  # ends: it does not wait forever for the lost files
    if proc.returncode == 0:
        pytest.fail("the run finished before the worker could be killed")
    assert proc.returncode == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "run the same command again" in err
    run_to_end(home, "ingest", "--quiet", str(landing))
    assert snapshot(load_settings(environ={}, home=home)) == clean_rows
    assert lake_files(home) == clean_files
