"""``dailyseg rebuild``: a damaged or lost warehouse rebuilt from the lake, row for row, on both backends."""

from __future__ import annotations

import shutil
from datetime import date, datetime, time
from pathlib import Path

import pandas as pd
import pytest

from etl.synthetic.files import generate_filings
from etl.ingest.job import ingest
from etl.lake.rebuild import RebuildError, read_back_error, rebuild
from etl.settings import load_settings
from etl.warehouse import open_warehouse
from tests.cli.test_cli import run

DUCKDB_HEADER = 3 * 4096  # DuckDB's file headers; then blocks of 256 KiB, each led by its checksum
DUCKDB_BLOCK = 256 * 1024

# every column of the load tables; the rejection time is kept to the second in the quarantine
TABLES = {
    "filings": "SELECT * FROM filings",
    "filing_statements": "SELECT * FROM filing_statements",
    "seg_values": "SELECT * FROM seg_values",
    "rejected_filings": "SELECT source_path, sha256, reason, line_no, reason_code, quarantine_path, size_bytes, "
                        "run_id, date_trunc('second', rejected_at) AS rejected_at FROM rejected_filings",
    "excess_trend": "SELECT * FROM excess_trend",
    "cftc_fcm_monthly": "SELECT * FROM cftc_fcm_monthly",
    "cftc_files": "SELECT * FROM cftc_files",
    "cftc_reconciliation": "SELECT * FROM cftc_reconciliation",
}


def _text(value, home: Path) -> str:
    """A value as text the same on both backends (whole numbers without '.0', ratios to 12 digits, dates without a time, NULL for
    any missing value),
    with paths into ``home`` written as ``<home>``."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "NULL"
    if isinstance(value, float):  # a ratio computed by two engines may differ in its last digit
        value = int(value) if value.is_integer() else f"{value:.12g}"
    if isinstance(value, datetime) and value.time() == time(0):  # DuckDB's frames hold dates as timestamps
        value = value.date()
    return str(value).replace(str(home), "<home>")


def rows(url: str, home: Path) -> dict[str, list[tuple]]:
    """Every row of ``TABLES``, as text."""
    wh = open_warehouse(url)
    try:
        return {name: sorted(tuple(_text(v, home) for v in row) for row in wh.read_df(sql).itertuples(index=False))
                for name, sql in TABLES.items()}
    finally:
        wh.dispose()


def damage(path: Path) -> bytes:
    """Overwrite a few bytes inside every block of a DuckDB file, as a bad disk or a faulty write would;
    return the damaged bytes."""
    size = path.stat().st_size
    with open(path, "r+b") as handle:
        for offset in range(DUCKDB_HEADER, size, DUCKDB_BLOCK):
            handle.seek(offset + 200)
            handle.write(b"\xab" * 32)
    return path.read_bytes()


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, sample_bytes):
    """A home loaded through the CLI: two months of generated filings (some amended), the real sample,
    two bad files and the CFTC's file for the month-end between; with the warehouse's rows."""
    root = tmp_path_factory.mktemp("rebuild")
    landing = root / "landing"
    generate_filings(landing, firms=8, start=date(2016, 1, 25), end=date(2016, 2, 12), seed=5, amend_rate=0.1,
                     cftc_dir=root / "cftc", cftc_differences=1)
    (landing / "citi.txt").write_bytes(sample_bytes)
    (landing / "bad").mkdir()
    (landing / "bad" / "letter.txt").write_text("Dear customer,\nthis is not a filing.\n")
    (landing / "bad" / "typo.txt").write_text(sample_bytes.decode("latin-1").replace("4,362,131,678", "4,36l,131,678"))
    home = root / "home"
    result = run("ingest", "--quiet", str(landing), home=home)
    assert result.returncode == 0, result.stderr
    assert "rebuild" not in result.stderr  # a new warehouse with a new lake: nothing to point at
    assert run("cftc", "load", "--quiet", str(root / "cftc"), home=home).returncode == 0
    settings = load_settings(environ={}, home=home)
    return home, settings, rows(settings.warehouse_url, home)


def copy_home(home: Path, to: Path) -> Path:
    shutil.copytree(home, to, ignore=shutil.ignore_patterns("*.lock"))
    return to


def test_a_damaged_warehouse_file_is_named_and_rebuilt_from_the_lake_row_for_row(loaded, tmp_path):
    original_home, _, before = loaded
    assert len(before["filings"]) > 100 and len(before["rejected_filings"]) == 2
    assert len(before["cftc_files"]) == 1 and len(before["cftc_reconciliation"]) > 50
    assert any("AMENDED" in row for row in before["filings"])
    home = copy_home(original_home, tmp_path / "home")
    warehouse = home / "warehouse.duckdb"
    damaged = damage(warehouse)
    assert read_back_error(warehouse) is not None

    refused = run("sql", "SELECT count(*) FROM filings", home=home)
    assert refused.returncode == 2
    assert "Corrupt database file" in refused.stderr and "dailyseg rebuild" in refused.stderr
    assert "Traceback" not in refused.stderr

    result = run("rebuild", "--quiet", home=home)
    assert result.returncode == 0, result.stderr
    assert "The warehouse file was damaged (Corrupt database file" in result.stdout
    kept = sorted(home.glob("warehouse.duckdb.damaged-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == damaged  # set aside as it was, not deleted
    assert f"filings    {len(before['filings']):>12,}" in result.stdout
    assert "CFTC file             1   month-ends" in result.stdout
    assert read_back_error(warehouse) is None
    assert rows(f"duckdb:///{warehouse}", home) == before

    # the rebuilt warehouse works as before: validation runs, a re-ingest finds everything loaded
    assert run("validate", home=home).returncode in (0, 1)
    again = run("ingest", "--quiet", str(original_home.parent / "landing"), home=home)
    assert again.returncode == 0 and "loaded               0" in again.stdout
    assert rows(f"duckdb:///{warehouse}", home) == before


@pytest.mark.parametrize("month_in_lake", ["missing", "unreadable"])
def test_filings_the_lake_lacks_come_back_from_the_raw_zone(loaded, tmp_path, month_in_lake):
    original_home, _, before = loaded
    home = copy_home(original_home, tmp_path / "home")
    february = home / "lake" / "seg_values" / "year=2016" / "month=02" / "part-0.parquet"
    if month_in_lake == "missing":
        # a run stopped after its warehouse commit, before rewriting this month of the lake
        for dataset in ("filings", "seg_values"):
            shutil.rmtree(home / "lake" / dataset / "year=2016" / "month=02")
    else:  # half a Parquet file
        damaged = february.read_bytes()[: february.stat().st_size // 2]
        february.write_bytes(damaged)
    (home / "warehouse.duckdb").unlink()  # and the warehouse file was lost
    settings = load_settings(environ={}, home=home)

    messages = []
    summary = rebuild(settings, on_message=messages.append)
    if month_in_lake == "unreadable":
        assert summary.unreadable_months == ["2016-02"]
        assert any("partition for 2016-02 cannot be read" in m for m in messages)
        kept = list(february.parent.glob(".part-0.parquet.unreadable-*"))
        assert len(kept) == 1 and kept[0].read_bytes() == damaged  # set aside, not deleted
    february = [row for row in before["filings"] if row[2].startswith("2016-02")]
    assert summary.raw_loaded == len(february) > 0
    assert summary.filings == len(before["filings"]) - len(february)
    after = rows(settings.warehouse_url, home)
    for table in ("seg_values", "filing_statements", "rejected_filings", "excess_trend"):
        assert after[table] == before[table], table
    # the filings themselves are the same; those from the raw zone name it as where they were found
    lineage = {"source_path", "loaded_at", "run_id"}
    wh = open_warehouse(settings.warehouse_url)
    columns = wh.read_df("SELECT * FROM filings LIMIT 0").columns
    wh.dispose()
    keep = [i for i, c in enumerate(columns) if c not in lineage]
    assert [tuple(r[i] for i in keep) for r in after["filings"]] == [tuple(r[i] for i in keep) for r in before["filings"]]
    raw = "<home>/lake/raw"
    assert sum(r[columns.get_loc("source_path")].startswith(raw) for r in after["filings"]) == len(february)
    # and the lake holds that month again
    assert (home / "lake" / "seg_values" / "year=2016" / "month=02" / "part-0.parquet").exists()


def test_a_new_warehouse_beside_a_lake_that_holds_filings_points_at_the_rebuild(loaded, tmp_path, sample_bytes):
    original_home, _, _ = loaded
    home = copy_home(original_home, tmp_path / "home")
    (home / "warehouse.duckdb").unlink()  # deleted, say, after it was damaged
    one = tmp_path / "one" / "citi.txt"
    one.parent.mkdir()
    one.write_bytes(sample_bytes)
    result = run("ingest", "--quiet", str(one), home=home)
    assert result.returncode == 0, result.stderr
    assert "this warehouse holds no filings but its lake does: `dailyseg rebuild`" in result.stderr


def test_a_warehouse_that_holds_filings_is_left_alone_unless_replace(loaded, tmp_path):
    original_home, _, before = loaded
    home = copy_home(original_home, tmp_path / "home")
    result = run("rebuild", "--quiet", home=home)
    assert result.returncode == 2
    assert f"already holds {len(before['filings']):,} filings" in result.stderr and "--replace" in result.stderr
    assert not list(home.glob("warehouse.duckdb.damaged-*"))

    replaced = run("rebuild", "--quiet", "--replace", home=home)
    assert replaced.returncode == 0, replaced.stderr
    assert "damaged" not in replaced.stdout and len(list(home.glob("warehouse.duckdb.replaced-*"))) == 1
    assert rows(f"duckdb:///{home / 'warehouse.duckdb'}", home) == before


def test_an_interrupted_rebuild_is_finished_by_running_it_again(loaded, tmp_path):
    original_home, _, before = loaded
    home = copy_home(original_home, tmp_path / "home")
    (home / "warehouse.duckdb").unlink()
    settings = load_settings(environ={}, home=home)

    def interrupt_after_one_month(done: int, total: int) -> None:
        assert total == 3  # the sample's month and two of generated filings
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rebuild(settings, progress=interrupt_after_one_month)
    partial = rows(settings.warehouse_url, home)["filings"]
    assert 0 < len(partial) < len(before["filings"])

    result = run("rebuild", "--quiet", home=home)
    assert result.returncode == 0, result.stderr
    assert not list(home.glob("warehouse.duckdb.damaged-*"))  # finished in place, nothing set aside
    assert rows(settings.warehouse_url, home) == before


def test_the_lake_rebuilds_an_empty_postgresql_warehouse_row_for_row(loaded, pg_url):
    original_home, settings, before = loaded
    on_postgres = settings.with_overrides(warehouse_url=pg_url)
    summary = rebuild(on_postgres)
    assert summary.filings == len(before["filings"]) and summary.raw_loaded == 0
    assert rows(pg_url, original_home) == before
    with pytest.raises(RebuildError, match="already holds .* filings; rebuild into a new, empty database"):
        rebuild(on_postgres)


def test_rebuild_needs_a_lake(tmp_path):
    result = run("rebuild", home=tmp_path / "nothing")
    assert result.returncode == 2
    assert "holds no filings to rebuild from" in result.stderr
    assert not (tmp_path / "nothing" / "warehouse.duckdb").exists()  # nothing created either
