"""Two loads at once: on PostgreSQL both succeed and nothing is duplicated; on the embedded DuckDB the
second waits for the writer lock (or, told not to wait, fails fast and says who holds it); either way
the warehouse ends as one sequential load would leave it."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from etl.synthetic.files import generate_filings
from etl.settings import load_settings
from tests.conftest import new_pg_database
from tests.cli.test_cli import DAILYSEG
from tests.ingest.test_run import snapshot


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """Two overlapping landing folders (a and b share a week of files) and their union."""
    root = tmp_path_factory.mktemp("overlap")
    generate_filings(root / "all", firms=25, start=date(2016, 2, 1), end=date(2016, 2, 26), seed=5)
    days = sorted(p.name for p in (root / "all").iterdir())
    a, b = root / "a", root / "b"
    for folder, chosen in ((a, days[:13]), (b, days[7:])):
        folder.mkdir()
        for day in chosen:
            shutil.copytree(root / "all" / day, folder / day)  # the same bytes, two ways in
    return a, b, root / "all"


def start(home: Path, url: str, *args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAILYSEG_")}
    env.update({"DAILYSEG_HOME": str(home), "DAILYSEG_WAREHOUSE": url})
    return subprocess.Popen([DAILYSEG, "ingest", "--quiet", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def facts(home: Path, url: str) -> dict:
    rows = snapshot(load_settings(environ={}, home=home).with_overrides(warehouse_url=url))
    rows["filings"] = sorted((r[0], r[5]) for r in rows["filings"])  # which folder won the path is not the point
    return rows


def test_two_overlapping_ingests_on_postgresql_both_succeed_without_duplicates(folders, tmp_path):
    a, b, union = folders
    url, drop = new_pg_database()
    reference_url, drop_reference = new_pg_database()
    try:
        first, second = start(tmp_path / "h1", url, str(a)), start(tmp_path / "h2", url, str(b))
        outs = [p.communicate(timeout=600) for p in (first, second)]
        assert (first.returncode, second.returncode) == (0, 0), outs
        done = start(tmp_path / "h3", reference_url, str(union))
        assert done.wait(timeout=600) == 0
        got, expected = facts(tmp_path / "h1", url), facts(tmp_path / "h3", reference_url)
        for table in ("filings", "filing_statements"):
            assert got[table] == expected[table], table
        values = sorted(tuple(r[:1] + r[2:]) for r in got["seg_values"])
        assert len(values) == len(set(values)) == len(expected["seg_values"])
    finally:
        drop()
        drop_reference()


def test_a_second_ingest_on_duckdb_waits_for_the_first_and_both_land(folders, tmp_path):
    a, b, union = folders
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    first, second = start(tmp_path / "h1", url, str(a)), start(tmp_path / "h2", url, str(b), "--wait", "300")
    outs = [p.communicate(timeout=600) for p in (first, second)]
    assert (first.returncode, second.returncode) == (0, 0), outs
    assert any("waiting for the warehouse" in err for _, err in outs)  # one of them queued, and said so
    reference = f"duckdb:///{tmp_path / 'reference.duckdb'}"
    assert start(tmp_path / "h3", reference, str(union)).wait(timeout=600) == 0
    got, expected = facts(tmp_path / "h1", url), facts(tmp_path / "h3", reference)
    assert got["filings"] == expected["filings"]
    assert sorted(tuple(r[:1] + r[2:]) for r in got["seg_values"]) == sorted(
        tuple(r[:1] + r[2:]) for r in expected["seg_values"])


def test_told_not_to_wait_the_second_ingest_fails_fast_and_changes_nothing(folders, tmp_path):
    from etl.warehouse import exclusive_writer, open_warehouse
    a, _, _ = folders
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    open_warehouse(url).dispose()
    with exclusive_writer(url, wait=0):  # another writer holds the warehouse, as a running load would
        second = start(tmp_path / "h2", url, str(a), "--wait", "0")
        _, err = second.communicate(timeout=120)
    assert second.returncode == 2
    assert "is busy" in err and f"process {os.getpid()}" in err and "Traceback" not in err
    assert facts(tmp_path / "h2", url)["filings"] == []
    # and once it is free, the same command loads
    assert start(tmp_path / "h2", url, str(a), "--wait", "0").wait(timeout=600) == 0
    assert len(facts(tmp_path / "h2", url)["filings"]) == sum(1 for _ in a.rglob("*.txt"))


def test_two_validations_at_once_on_postgresql_both_complete_with_the_same_counts(folders, tmp_path):
    """The nightly DAG and an analyst's CLI run may validate the same PostgreSQL warehouse at once:
    the second waits for the first (they share the scratch tables and the GX project) and both land."""
    _, _, union = folders
    url, drop = new_pg_database()
    try:
        assert start(tmp_path / "home", url, str(union)).wait(timeout=600) == 0
        env = {k: v for k, v in os.environ.items() if not k.startswith("DAILYSEG_")}
        env.update({"DAILYSEG_HOME": str(tmp_path / "home"), "DAILYSEG_WAREHOUSE": url})
        runs = [subprocess.Popen([DAILYSEG, "validate"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True) for _ in range(2)]
        outs = [p.communicate(timeout=600) for p in runs]
        assert [p.returncode for p in runs] == [0, 0], outs
        from etl.warehouse import open_warehouse
        wh = open_warehouse(url)
        recorded = wh.read_df("SELECT status, filings_checked, statements_checked, expectations, failures "
                              "FROM dq_runs ORDER BY started_at")
        leftovers = wh.read_df("SELECT tablename FROM pg_tables WHERE tablename LIKE 'dq_frame%'")
        wh.dispose()
        assert list(recorded.status) == ["completed", "completed"]
        assert recorded.iloc[0, 1:].tolist() == recorded.iloc[1, 1:].tolist()
        assert recorded.filings_checked.iloc[0] > 0
        assert leftovers.empty
    finally:
        drop()


def test_told_not_to_wait_a_second_validation_on_postgresql_says_who_is_running(folders, tmp_path):
    from etl.warehouse.postgres_backend import advisory_lock
    url, drop = new_pg_database()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DAILYSEG_")}
        env.update({"DAILYSEG_HOME": str(tmp_path / "home"), "DAILYSEG_WAREHOUSE": url})
        with advisory_lock(url, "validation", wait=0):
            second = subprocess.run([DAILYSEG, "validate", "--wait", "0"], env=env, capture_output=True, text=True,
                                    timeout=300)
        assert second.returncode == 2, second.stderr
        assert "another validation is running on this warehouse (PostgreSQL session" in second.stderr
        assert "Traceback" not in second.stderr
        after = subprocess.run([DAILYSEG, "validate", "--wait", "0"], env=env, capture_output=True, text=True,
                               timeout=300)
        assert after.returncode == 0, after.stderr  # released with the block: nothing left behind
    finally:
        drop()
