"""Ingest end to end into real DuckDB and PostgreSQL warehouses and the Parquet lake."""

from __future__ import annotations

import hashlib
from datetime import date
import json
import os
from pathlib import Path

import duckdb
import pytest

from etl.ingest import run as ingest_module
from etl.ingest.run import IngestError
from etl.ingest.job import ingest
from etl.warehouse import open_warehouse
from tests.ingest.filing_variants import statements, to_html


def snapshot(settings) -> dict[str, list[tuple]]:
    """Every row of the fact tables (minus load timestamps and run ids), sorted."""
    wh = open_warehouse(settings.warehouse_url)
    try:
        return {
            "filings": sorted(map(tuple, wh.read_df(
                "SELECT filing_id, firm, end_date, submit_date, status, sha256, source_path, n_values "
                "FROM filings").itertuples(index=False))),
            "seg_values": sorted(map(tuple, wh.read_df("SELECT * FROM seg_values").astype(str).itertuples(index=False))),
            "filing_statements": sorted(map(tuple, wh.read_df("SELECT * FROM filing_statements")
                                            .astype(str).itertuples(index=False))),
            "rejected": sorted(map(tuple, wh.read_df(
                "SELECT source_path, sha256, reason_code, line_no FROM rejected_filings")
                .astype(str).itertuples(index=False))),
        }
    finally:
        wh.dispose()


def lake_rows(settings) -> list[tuple]:
    con = duckdb.connect()
    glob = str(settings.lake / "seg_values" / "**" / "*.parquet")
    return sorted(con.execute(
        f"SELECT filing_id, statement, code, value, year, month FROM read_parquet('{glob}', hive_partitioning=true)"
    ).fetchall())


@pytest.fixture
def landing(tmp_path, sample_text, sample_bytes) -> Path:
    folder = tmp_path / "landing"
    (folder / "2013-12-31").mkdir(parents=True)
    (folder / "2013-12-31" / "citigroup.txt").write_bytes(sample_bytes)
    (folder / "2013-12-31" / "citigroup.html").write_text(
        to_html(sample_text.replace("Submit Date:1/2/2014", "Submit Date:1/3/2014")))
    (folder / "bad").mkdir()
    (folder / "bad" / "empty.txt").write_bytes(b"")
    (folder / "bad" / "letter.txt").write_text("Dear customer,\nthis is not a filing.\n")
    (folder / "bad" / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(300))
    (folder / "bad" / "typo.txt").write_text(sample_text.replace("4,362,131,678", "4,36l,131,678"))
    return folder


def test_sample_lands_value_for_value_with_lineage(any_settings, sample_bytes, sample_expected, tmp_path):
    path = tmp_path / "in" / "citi.txt"
    path.parent.mkdir()
    path.write_bytes(sample_bytes)
    summary = ingest([path], any_settings)
    assert (summary.loaded, summary.value_rows, summary.rejected_count) == (1, 80, 0)
    wh = open_warehouse(any_settings.warehouse_url)
    rows = wh.read_df("SELECT v.statement, v.code, v.value, v.line, f.sha256, f.source_path, f.raw_path "
                      "FROM seg_values v JOIN filings f USING (filing_id)")
    assert {(r.statement, r.code): r.value for r in rows.itertuples()} == sample_expected
    sha = hashlib.sha256(sample_bytes).hexdigest()
    assert set(rows.sha256) == {sha}
    assert set(rows.source_path) == {str(path.absolute())}
    raw = Path(rows.raw_path.iloc[0])
    assert raw.read_bytes() == sample_bytes and raw.name.startswith(sha)
    filing = wh.read_df("SELECT * FROM filings").iloc[0]
    assert (filing.firm, str(filing.end_date)[:10], filing.status) == (
        "Citigroup Global Markets Inc.", "2013-12-31", "INITIAL")
    assert filing.filing_id == sha[:16]
    wh.dispose()


def test_bad_files_are_set_aside_and_the_rest_loads(any_settings, landing):
    summary = ingest([landing], any_settings)
    assert summary.files_seen == 6
    assert summary.loaded == 2
    reasons = {Path(r.source_path).name: (r.reason_code, r.line_no) for r in summary.rejected}
    assert reasons == {"empty.txt": ("empty", None), "letter.txt": ("not_a_filing", None),
                       "image.png": ("binary", None), "typo.txt": ("bad_number", 64)}
    wh = open_warehouse(any_settings.warehouse_url)
    table = wh.read_df("SELECT source_path, reason_code, reason, line_no, quarantine_path FROM rejected_filings")
    assert sorted(Path(p).name for p in table.source_path) == sorted(reasons)
    typo = table[table.reason_code == "bad_number"].iloc[0]
    assert "4,36l,131,678" in typo.reason and typo.line_no == 64
    quarantined = Path(typo.quarantine_path)
    assert quarantined.read_bytes() == (landing / "bad" / "typo.txt").read_bytes()
    reason_file = json.loads((quarantined.parent / "reason.json").read_text())
    assert reason_file["reason_code"] == "bad_number" and reason_file["line_no"] == 64
    assert (landing / "bad" / "typo.txt").exists()  # the landing zone is left as it was
    wh.dispose()


def test_second_ingest_of_the_same_folder_changes_nothing(any_settings, landing):
    first = ingest([landing], any_settings)
    before = snapshot(any_settings)
    lake_before = {p: p.read_bytes() for p in any_settings.lake.rglob("*.parquet")}
    second = ingest([landing], any_settings)
    # nothing changed since the first run read them: not one file is read again
    assert second.unchanged == second.files_seen == first.files_seen
    assert (second.loaded, second.duplicates, second.rejected_count, second.value_rows) == (0, 0, 0, 0)
    # read again on request: the same bytes are found loaded, the same rejections already recorded
    third = ingest([landing], any_settings, rescan=True)
    assert third.unchanged == 0
    assert (third.loaded, third.duplicates, third.value_rows) == (0, 2, 0)
    assert all(r.already_known for r in third.rejected) and third.rejected_count == first.rejected_count
    assert snapshot(any_settings) == before
    assert {p: p.read_bytes() for p in any_settings.lake.rglob("*.parquet")} == lake_before


def test_a_file_changed_in_place_is_read_again(any_settings, landing, sample_text):
    """The manifest skips a file only while its size and modification time are those it was read with."""
    first = ingest([landing], any_settings)
    target = landing / "2013-12-31" / "citigroup.txt"
    amended = sample_text.replace("INITIAL", "AMENDED").replace("Submit Date:1/2/2014", "Submit Date:1/6/2014")
    target.write_text(amended)
    second = ingest([landing], any_settings)
    assert second.unchanged == first.files_seen - 1
    assert second.loaded == 1
    wh = open_warehouse(any_settings.warehouse_url)
    try:
        assert wh.scalar("SELECT count(*) FROM filings WHERE status = 'AMENDED'") == 1
        assert wh.scalar("SELECT count(*) FROM landed_files") == wh.scalar("SELECT count(DISTINCT path) FROM landed_files")
    finally:
        wh.dispose()


@pytest.mark.parametrize("batch_size", [500, 1], ids=["one batch", "a later batch"])
def test_same_bytes_under_another_name_are_a_no_op(any_settings, sample_bytes, tmp_path, batch_size):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.txt").write_bytes(sample_bytes)
    (tmp_path / "a" / "copy of one.TXT").write_bytes(sample_bytes)
    summary = ingest([tmp_path / "a"], any_settings.with_overrides(batch_size=batch_size))
    assert (summary.loaded, summary.duplicates) == (1, 1)
    assert len(list((any_settings.lake / "raw").rglob("*.*"))) == 1
    wh = open_warehouse(any_settings.warehouse_url)
    try:
        assert wh.scalar("SELECT count(*) FROM filings") == 1
        assert wh.scalar("SELECT count(*) FROM filing_statements") == wh.scalar(
            "SELECT count(DISTINCT filing_id || statement) FROM filing_statements")
        assert wh.scalar("SELECT count(*) FROM seg_values") == summary.value_rows
    finally:
        wh.dispose()


def _amended_pair(sample_text: str) -> tuple[str, str]:
    amended = (sample_text.replace("INITIAL", "AMENDED").replace("Submit Date:1/2/2014", "Submit Date:1/6/2014")
               .replace("<u>330,127,786</u> [7190]", "<u>330,127,790</u> [7190]"))
    return sample_text, amended


@pytest.mark.parametrize("order", ["initial_first", "amended_first"])
def test_latest_version_wins_whatever_the_arrival_order(any_settings, sample_text, tmp_path, order):
    initial, amended = _amended_pair(sample_text)
    files = [("initial.txt", initial), ("amended.txt", amended)]
    if order == "amended_first":
        files.reverse()
    for name, text in files:
        path = tmp_path / name
        path.write_text(text)
        ingest([path], any_settings)
    wh = open_warehouse(any_settings.warehouse_url)
    assert wh.scalar("SELECT count(*) FROM filings") == 2
    assert wh.scalar("SELECT count(*) FROM seg_values") == 160  # both versions kept
    latest = wh.read_df("SELECT status, code, value FROM seg_values_latest WHERE statement = 'segregation'")
    assert set(latest.status) == {"AMENDED"}
    assert int(latest[latest.code == "7190"].value.iloc[0]) == 330127790
    assert wh.scalar("SELECT count(*) FROM seg_values_latest") == 80
    wh.dispose()


def test_later_submit_date_wins_among_amendments_and_statements_are_independent(any_settings, sample_text,
                                                                                   tmp_path):
    secured, segregation, swaps = statements(sample_text)
    first_amendment = (segregation.replace("INITIAL", "AMENDED").replace("Submit Date:1/2/2014", "Submit Date:1/7/2014")
                       .replace("<u>0</u> [7170]", "<u>1</u> [7170]"))
    second_amendment = (segregation.replace("INITIAL", "AMENDED")
                        .replace("Submit Date:1/2/2014", "Submit Date:1/9/2014")
                        .replace("<u>0</u> [7170]", "<u>2</u> [7170]"))
    for name, text in [("b.txt", second_amendment), ("full.txt", sample_text), ("a.txt", first_amendment)]:
        (tmp_path / name).write_text(text)
        ingest([tmp_path / name], any_settings)
    wh = open_warehouse(any_settings.warehouse_url)
    latest = wh.read_df("SELECT statement, status, code, value, submit_date FROM seg_values_latest")
    seg = latest[latest.statement == "segregation"]
    assert int(seg[seg.code == "7170"].value.iloc[0]) == 2
    assert set(latest[latest.statement == "secured"].status) == {"INITIAL"}  # not amended: stays
    assert len(latest) == 80
    wh.dispose()


def test_truncated_copy_does_not_hide_the_complete_one(any_settings, sample_bytes, tmp_path):
    (tmp_path / "full.txt").write_bytes(sample_bytes)
    (tmp_path / "cut.txt").write_bytes(sample_bytes[: sample_bytes.index(b"[7100]") + 6])
    ingest([tmp_path], any_settings)
    wh = open_warehouse(any_settings.warehouse_url)
    assert wh.scalar("SELECT count(*) FROM seg_values_latest") == 80
    wh.dispose()


def test_lake_holds_the_same_rows_as_the_warehouse(any_settings, landing):
    ingest([landing], any_settings)
    rows = lake_rows(any_settings)
    wh = open_warehouse(any_settings.warehouse_url)
    expected = sorted((r.filing_id, r.statement, r.code, None if r.value is None else int(r.value), 2013, 12)
                      for r in wh.read_df("SELECT filing_id, statement, code, value FROM seg_values").itertuples())
    assert [(a, b, c, d, int(y), int(m)) for a, b, c, d, y, m in rows] == expected
    assert not list(any_settings.lake.rglob(".*.tmp-*"))
    wh.dispose()


def test_a_crash_between_warehouse_and_lake_is_finished_by_the_next_run(any_settings, sample_bytes, tmp_path,
                                                                        monkeypatch):
    (tmp_path / "f.txt").write_bytes(sample_bytes)

    def crash(*args, **kwargs):
        raise OSError("simulated power cut")

    monkeypatch.setattr(ingest_module.lake, "write_partitions", crash)
    with pytest.raises(IngestError):
        ingest([tmp_path / "f.txt"], any_settings)
    monkeypatch.undo()
    assert not list(any_settings.lake.glob("seg_values/**/*.parquet"))  # the crash came before the lake
    summary = ingest([tmp_path / "f.txt"], any_settings)
    assert summary.recovered_filings == 1 and summary.unchanged == 1  # committed with its manifest row: not read again
    assert len(lake_rows(any_settings)) == 80
    wh = open_warehouse(any_settings.warehouse_url)
    assert wh.scalar("SELECT count(*) FROM lake_pending") == 0
    wh.dispose()


def test_symlink_out_of_the_landing_zone_is_not_followed(settings, sample_bytes, tmp_path):
    outside = tmp_path / "secret" / "filing.txt"
    outside.parent.mkdir()
    outside.write_bytes(sample_bytes)
    zone = tmp_path / "zone"
    zone.mkdir()
    os.symlink(outside, zone / "link.txt")
    summary = ingest([zone], settings)
    assert summary.loaded == 0
    assert [r.reason_code for r in summary.rejected] == ["symlink_outside"]


def test_paths_given_twice_or_inside_a_folder_given_are_read_once(tmp_path):
    zone = tmp_path / "zone"
    (zone / "2016").mkdir(parents=True)
    (zone / ".hidden").mkdir()
    for name in ("2016/b.txt", "2016/a.txt", "c.txt", ".hidden/d.txt"):
        (zone / name).write_text(name)
    found, refused = ingest_module.discover([zone / "2016" / "a.txt", zone, f"{zone}/", zone / "2016",
                                             zone / ".hidden" / "d.txt"])
    assert found.column("path").to_pylist() == [
        str(zone / "2016" / "a.txt"), str(zone / "2016" / "b.txt"), str(zone / "c.txt"),
        str(zone / ".hidden" / "d.txt")]  # a hidden file is read only when named
    assert found.column("size_bytes").to_pylist() == [10, 10, 5, 13] and refused == []


def test_missing_path_is_a_clear_error(settings, tmp_path):
    with pytest.raises(IngestError, match="no such file or folder"):
        ingest([tmp_path / "nope"], settings)


def test_unreachable_warehouse_is_a_clear_error(settings, sample_bytes, tmp_path):
    (tmp_path / "f.txt").write_bytes(sample_bytes)
    bad = settings.with_overrides(warehouse_url="postgresql://nobody:secret-pw@127.0.0.1:1/none")
    with pytest.raises(IngestError) as caught:
        ingest([tmp_path / "f.txt"], bad)
    assert "cannot open the warehouse" in str(caught.value)
    assert "secret-pw" not in str(caught.value)


def test_oversized_file_is_rejected_and_kept(settings, tmp_path):
    small = settings.with_overrides(max_file_bytes=1000)
    big = tmp_path / "big.txt"
    big.write_bytes(b"INITIAL\n" + b"x" * 5000)
    summary = ingest([big], small)
    assert [r.reason_code for r in summary.rejected] == ["too_large"]
    assert Path(summary.rejected[0].quarantine_path).stat().st_size == big.stat().st_size


def test_many_files_load_in_worker_processes_in_batches(any_settings, tmp_path):
    """Enough files for the parallel path and several batches: same result as one by one."""
    from etl.synthetic.files import generate_filings
    from etl.ingest.workers import PARALLEL_THRESHOLD
    landing = tmp_path / "many"
    generated = generate_filings(landing, firms=12, start=date(2016, 2, 1), end=date(2016, 2, 12), seed=3)
    assert generated.files > PARALLEL_THRESHOLD
    small_batches = any_settings.with_overrides(batch_size=40)
    summary = ingest([landing], small_batches)
    assert summary.loaded == generated.files and summary.rejected_count == 0
    wh = open_warehouse(any_settings.warehouse_url)
    assert wh.scalar("SELECT count(*) FROM filings") == generated.files
    assert wh.scalar("SELECT count(DISTINCT firm) FROM filings") == 12
    assert wh.scalar("SELECT count(*) FROM seg_values") == summary.value_rows
    # one latest version per firm, day and statement, AMENDED where there is one
    assert wh.scalar("SELECT count(*) FROM latest_statements") == wh.scalar(
        "SELECT count(*) FROM (SELECT DISTINCT firm, end_date, statement FROM filing_statements) k")
    assert wh.scalar("SELECT count(*) FROM latest_statements WHERE status = 'AMENDED'") == wh.scalar(
        "SELECT count(*) FROM filing_statements WHERE status = 'AMENDED'")
    wh.dispose()
    assert len(lake_rows(any_settings)) == summary.value_rows


def test_a_backfill_rewrites_each_month_of_the_lake_once(settings, tmp_path):
    """Filings in date order, in many batches: each month's partitions are written when the month is done,
    not once per batch, and every value reaches the lake with nothing left pending."""
    from etl.synthetic.files import generate_filings
    landing = tmp_path / "months"
    generated = generate_filings(landing, firms=3, start=date(2016, 1, 20), end=date(2016, 3, 10), seed=4,
                                 amend_rate=0)
    summary = ingest([landing], settings.with_overrides(batch_size=20))
    assert summary.loaded == generated.files > 100  # more than five batches
    assert summary.lake_partitions == 3  # January, February, March: each once
    assert len(lake_rows(settings)) == summary.value_rows
    wh = open_warehouse(settings.warehouse_url)
    try:
        assert wh.scalar("SELECT count(*) FROM lake_pending") == 0
    finally:
        wh.dispose()
