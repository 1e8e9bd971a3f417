"""``dailyseg sql`` is read-only by construction, streams its rows with a cap, and stops runaway queries.

The hostile queries go through the real command where the text guard lets them by (``read_csv`` is a
SELECT), and straight to the read-only connection where it would not (``ATTACH``, ``COPY``,
``INSTALL``...), so each refusal below is the connection's, not the guard's.
"""

from __future__ import annotations

import io
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from etl.analyst.query import QueryError, read_only_rows, run_query
from etl.ingest.job import ingest
from etl.settings import load_settings
from etl.warehouse import open_warehouse
from tests.cli.test_cli import DAILYSEG, cli_env, run
from tests.conftest import SAMPLE_PATH, new_pg_database

SECRET = "s3cr3t-in-a-file-outside-the-warehouse"


def _loaded(home: Path, url: str):
    settings = load_settings(environ={}, home=home).with_overrides(warehouse_url=url)
    assert ingest([SAMPLE_PATH], settings).loaded == 1
    return settings


@pytest.fixture(scope="module")
def duck(tmp_path_factory):
    """An embedded warehouse holding the real sample."""
    home = tmp_path_factory.mktemp("duck")
    return _loaded(home, f"duckdb:///{home / 'warehouse.duckdb'}")


@pytest.fixture(scope="module")
def pg(tmp_path_factory):
    """A PostgreSQL warehouse holding the real sample."""
    url, drop = new_pg_database()
    try:
        yield _loaded(tmp_path_factory.mktemp("pg"), url)
    finally:
        drop()


@pytest.fixture(params=["duck", "pg"])
def loaded(request):
    """Each backend in turn."""
    return request.getfixturevalue(request.param)


def sql(settings, *args: str) -> subprocess.CompletedProcess:
    return run("sql", *args, home=settings.home, env={"DAILYSEG_WAREHOUSE": settings.warehouse_url})


def count(settings, table: str = "seg_values") -> int:
    warehouse = open_warehouse(settings.warehouse_url, create=False)
    try:
        return warehouse.scalar(f"SELECT count(*) FROM {table}")
    finally:
        warehouse.dispose()


def refused(settings, query: str) -> str:
    """The one-line refusal of ``query`` by the read-only connection itself (no text guard)."""
    with pytest.raises(QueryError) as caught:
        with read_only_rows(settings, query, wait=10) as (_, chunks):
            list(chunks)
    return str(caught.value)


def one_line_refusal(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stdout
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def secret_file(tmp_path) -> Path:
    path = tmp_path / "secret.csv"
    path.write_text(f"name,password\nroot,{SECRET}\n")
    return path


# -- DuckDB: nothing outside the file ---------------------------------------------------------------------
def test_duckdb_reads_no_file_but_the_warehouse(duck, secret_file):
    for query in (f"SELECT * FROM read_csv('{secret_file}')", f"SELECT * FROM glob('{secret_file.parent}/*')"):
        result = sql(duck, query)
        line = one_line_refusal(result)
        assert "refused: dailyseg sql only reads the warehouse's own tables and views" in line
        assert SECRET not in result.stdout + result.stderr and "secret.csv" not in result.stdout
    for query in (f"SELECT * FROM read_text('{secret_file}')", f"SELECT * FROM read_blob('{secret_file}')",
                  f"SELECT * FROM '{secret_file}'", f"SELECT * FROM read_json('{secret_file}')",
                  f"SELECT * FROM sniff_csv('{secret_file}')", f"SELECT * FROM parquet_metadata('{secret_file}')"):
        line = refused(duck, query)
        assert "disabled by configuration" in line and SECRET not in line


def test_duckdb_connection_attaches_copies_installs_and_writes_nothing(duck, tmp_path):
    before = count(duck)
    assert "disabled by configuration" in refused(duck, f"ATTACH '{tmp_path / 'other.duckdb'}' AS other")
    assert "disabled by configuration" in refused(duck, f"COPY seg_values TO '{tmp_path / 'out.csv'}'")
    assert "disabled by configuration" in refused(duck, f"EXPORT DATABASE '{tmp_path / 'export'}'")
    assert "refused" in refused(duck, "INSTALL httpfs")
    assert "refused" in refused(duck, "LOAD httpfs")
    assert "locked" in refused(duck, "SET enable_external_access = true")
    assert "locked" in refused(duck, "RESET lock_configuration")
    assert "read-only" in refused(duck, "WITH x AS (SELECT 1) DELETE FROM seg_values")  # the guard lets WITH by
    assert "read-only" in refused(duck, "CREATE TABLE stolen AS SELECT 1")
    assert list(tmp_path.iterdir()) == []  # nothing written anywhere
    assert count(duck) == before
    with read_only_rows(duck, "SELECT current_setting('enable_progress_bar')") as (_, chunks):
        assert list(chunks) == [[(False,)]]  # DuckDB would draw its bar on stdout, among the rows


def test_duckdb_waits_for_a_writer_then_reads_what_it_committed(duck):
    """The embedded file admits one writing process: the query queues on the writer lock like every
    command (DuckDB itself would refuse a reader while a writer has the file open)."""
    holder = subprocess.Popen([sys.executable, "-c", _HOLD_THE_WAREHOUSE, duck.warehouse_url],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        busy = one_line_refusal(sql(duck, "SELECT 1", "--wait", "0"))
        assert "busy" in busy and f"process {holder.pid}" in busy
        query = "SELECT meta_value FROM dailyseg_meta WHERE meta_key = 'written-while-held'"
        waiting = subprocess.Popen([DAILYSEG, "sql", query, "--format", "csv", "--wait", "60"], text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   env=cli_env(duck.home, {"DAILYSEG_WAREHOUSE": duck.warehouse_url}))
        assert "waiting for the warehouse" in waiting.stderr.readline()
        holder.stdin.close()  # the writer commits, closes and releases the lock
        out, err = waiting.communicate(timeout=60)
        assert waiting.returncode == 0, err
        assert out.splitlines() == ["meta_value", "yes"]
    finally:
        holder.kill()
        holder.wait()


_HOLD_THE_WAREHOUSE = """
import sys
from etl.warehouse import exclusive_writer, open_warehouse
url = sys.argv[1]
with exclusive_writer(url, wait=0):
    warehouse = open_warehouse(url)
    with warehouse.begin() as conn:
        conn.exec_driver_sql("DELETE FROM dailyseg_meta WHERE meta_key = 'written-while-held'")
        conn.exec_driver_sql("INSERT INTO dailyseg_meta VALUES ('written-while-held', 'yes')")
    print("holding", flush=True)
    sys.stdin.read()
    warehouse.dispose()
"""


# -- PostgreSQL: a read-only transaction --------------------------------------------------------------------
def test_postgres_query_writes_nothing_and_advances_no_sequence(pg):
    warehouse = open_warehouse(pg.warehouse_url, create=False)
    try:
        with warehouse.begin() as conn:
            conn.exec_driver_sql("CREATE SEQUENCE IF NOT EXISTS probe_sequence")
    finally:
        warehouse.dispose()
    before = count(pg)
    line = one_line_refusal(sql(pg, "SELECT nextval('probe_sequence')"))
    assert "refused" in line and "read-only transaction" in line
    line = one_line_refusal(sql(pg, "WITH gone AS (DELETE FROM seg_values RETURNING 1) SELECT count(*) FROM gone"))
    assert "refused" in line
    assert "read-only transaction" in refused(pg, "SELECT * FROM seg_values FOR UPDATE")
    assert "syntax error" in refused(pg, "DELETE FROM seg_values")  # a cursor holds one SELECT, nothing else
    assert "refused" in refused(pg, "SELECT 1; DELETE FROM seg_values")
    assert count(pg) == before
    assert count(pg, "probe_sequence") == 1
    warehouse = open_warehouse(pg.warehouse_url, create=False)
    try:
        assert warehouse.scalar("SELECT is_called FROM probe_sequence") is False  # nextval never ran
    finally:
        warehouse.dispose()


# -- both: a cap, streaming, a timeout -------------------------------------------------------------------
def test_rows_are_capped_with_a_sensible_default(loaded):
    series = ("SELECT i FROM range(5000) t(i)" if loaded.warehouse_url.startswith("duckdb")
              else "SELECT i FROM generate_series(0, 4999) i")
    shown = sql(loaded, series)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert len(lines) == 2 + 1000 + 1 and lines[-2].strip() == "999"  # header, rule, 1,000 rows, the note
    assert "the first 1,000 rows; the query returns more" in lines[-1]
    csv_out = sql(loaded, series, "--format", "csv", "--limit", "3")
    assert csv_out.stdout.splitlines() == ["i", "0", "1", "2"]  # the note goes to stderr, the CSV stays clean
    assert "the first 3 rows" in csv_out.stderr
    out = io.StringIO()
    outcome = run_query(loaded, series, out, limit=5000)
    assert (outcome.rows, outcome.more, len(out.getvalue().splitlines())) == (5000, False, 2 + 5000)
    with pytest.raises(QueryError, match="--format csv"):
        run_query(loaded, series, out, limit=0)  # a table holds its rows to line them up: no unbounded table


def test_a_runaway_query_is_stopped_at_the_timeout(loaded):
    endless = ("SELECT count(*) FROM range(100000000000)" if loaded.warehouse_url.startswith("duckdb")
               else "SELECT pg_sleep(120)")
    line = one_line_refusal(sql(loaded, endless, "--timeout", "1"))
    assert line == "dailyseg sql: the query ran longer than 1 s and was stopped (raise --timeout to allow more)"


def _peak_while_streaming(settings, query: str) -> tuple[int, float]:
    """(lines printed, peak resident MB) of ``dailyseg sql QUERY --format csv --limit 0``.

    The peak is the process's own high-water mark (VmHWM, which starts afresh at exec), read until it exits.
    """
    proc = subprocess.Popen([DAILYSEG, "sql", query, "--format", "csv", "--limit", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=cli_env(settings.home, {"DAILYSEG_WAREHOUSE":
                                                                                 settings.warehouse_url}))
    lines = [0]
    errors: list[bytes] = []

    def drain():
        for chunk in iter(lambda: proc.stdout.read(1 << 20), b""):
            lines[0] += chunk.count(b"\n")
        errors.append(proc.stderr.read())

    reader = threading.Thread(target=drain)
    reader.start()
    peak_kb = 0
    status = Path(f"/proc/{proc.pid}/status")
    while proc.poll() is None:
        try:
            peak_kb = max(peak_kb, next(int(line.split()[1]) for line in status.read_text().splitlines()
                                        if line.startswith("VmHWM:")))
        except (OSError, StopIteration, ValueError):
            pass  # exiting
        time.sleep(0.02)
    reader.join()
    assert proc.returncode == 0, errors
    return lines[0], peak_kb / 1024


def test_a_large_result_streams_through_flat_memory(loaded):
    rows = 500_000
    if loaded.warehouse_url.startswith("duckdb"):
        query = "SELECT i, repeat('x', 200) AS pad FROM range({n}) t(i)"
    else:
        query = "SELECT i, repeat('x', 200) AS pad FROM generate_series(1, {n}) i"
    small_lines, small_peak = _peak_while_streaming(loaded, query.format(n=1000))
    large_lines, large_peak = _peak_while_streaming(loaded, query.format(n=rows))
    assert (small_lines, large_lines) == (1001, rows + 1)
    # 100 MB of text went through; read whole, the rows would take about 170 MB as Python objects
    assert large_peak - small_peak < 50, (small_peak, large_peak)
