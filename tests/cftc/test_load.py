"""dailyseg cftc load on DuckDB and PostgreSQL: re-loading changes nothing, a later publication replaces a
month, a bad file is set aside with its reason while the rest loads, and the lake keeps a copy."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from etl.cftc.load import load_cftc
from etl.cli import main
from etl.warehouse import open_warehouse
from tests.analyst.test_views import rows
from tests.cftc.test_reader import AS_OF, FIRMS
from tests.cftc.sheets import era_workbook

TABLES = ("cftc_fcm_monthly", "cftc_files", "cftc_as_of_days", "rejected_filings")


def snapshot(settings) -> dict[str, list[tuple]]:
    return {table: sorted(rows(settings, f"SELECT * FROM {table}"), key=str) for table in TABLES}


def write(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    return folder / name


def test_loading_the_same_file_again_changes_nothing(any_settings, tmp_path):
    path = write(tmp_path / "in", "fcm-2015-05.xlsx", era_workbook(2015, AS_OF, FIRMS, filed_by=date(2015, 6, 26)))
    first = load_cftc([path], any_settings)
    assert [(f.status, f.n_firms) for f in first.files] == [("loaded", 2)]
    before = snapshot(any_settings)
    lake = sorted((any_settings.lake / "cftc").rglob("*.*"))
    stamps = [p.stat().st_mtime_ns for p in lake]
    copy = write(tmp_path / "elsewhere", "renamed.xlsx", path.read_bytes())
    again = load_cftc([path, copy], any_settings)
    assert [f.status for f in again.files] == ["unchanged", "unchanged"]
    assert snapshot(any_settings) == before
    assert [p.stat().st_mtime_ns for p in sorted((any_settings.lake / "cftc").rglob("*.*"))] == stamps
    assert {p.suffix for p in lake} == {".parquet", ".xlsx"}
    monthly = rows(any_settings, "SELECT firm, as_of_date, seg_required, source_file FROM cftc_fcm_monthly "
                                 "ORDER BY firm")
    assert monthly == [("ARCADIA FUTURES LLC", AS_OF, 1e9, str(path)), ("BELLWETHER SECURITIES & CO", AS_OF,
                                                                         5234567.0, str(path))]
    # the month-end (a Sunday) and the A/O dates map to their month's last business day on or before them
    assert rows(any_settings, "SELECT * FROM cftc_as_of_days ORDER BY as_of_date") == [
        (date(2015, 4, 30), date(2015, 4, 30)), (AS_OF, date(2015, 5, 29))]


def test_the_later_publication_of_a_month_is_the_one_in_use(any_settings, tmp_path):
    early = era_workbook(2015, AS_OF, FIRMS, filed_by=date(2015, 6, 15))
    revised = era_workbook(2015, AS_OF, [dict(FIRMS[0], seg_required=999)], filed_by=date(2015, 6, 30))
    paths = [write(tmp_path, "revised.xlsx", revised), write(tmp_path, "early.xlsx", early)]
    summary = load_cftc(paths, any_settings)  # the revised one first: the early one must not replace it
    assert [f.status for f in summary.files] == ["loaded", "older"]
    assert rows(any_settings, "SELECT firm, seg_required FROM cftc_fcm_monthly") == [("ARCADIA FUTURES LLC", 999.0)]
    assert sorted(rows(any_settings, "SELECT source_file, in_use FROM cftc_files")) == [
        (str(paths[1]), False), (str(paths[0]), True)]


def test_a_bad_file_is_set_aside_with_its_reason_and_the_rest_loads(any_settings, tmp_path, capsys):
    good = write(tmp_path, "good.xlsx", era_workbook(2013, AS_OF, FIRMS))
    bad = write(tmp_path, "notes.xlsx", b"PK\x03\x04 half a zip file")
    code = main(["cftc", "load", "--quiet", "--warehouse", any_settings.warehouse_url, "--lake",
                 str(any_settings.lake), str(bad), str(good)])
    out = capsys.readouterr().out
    assert code == 0
    assert "loaded           1" in out and "rejected         1" in out
    assert "cftc_unreadable" in out and "notes.xlsx" in out
    rejected = rows(any_settings, "SELECT source_path, reason_code, quarantine_path FROM rejected_filings")
    assert [(r[0], r[1]) for r in rejected] == [(str(bad), "cftc_unreadable")]
    kept = Path(rejected[0][2])
    assert kept.read_bytes() == bad.read_bytes()
    reason = json.loads((kept.parent / "reason.json").read_text())
    assert reason["reason"].startswith("not a spreadsheet that can be read")
    assert rows(any_settings, "SELECT count(*) FROM cftc_fcm_monthly") == [(2.0,)]
    # a second run neither duplicates the rejection nor the rows
    assert main(["cftc", "load", "--quiet", "--warehouse", any_settings.warehouse_url, "--lake",
                 str(any_settings.lake), str(bad), str(good)]) == 0
    assert len(rows(any_settings, "SELECT * FROM rejected_filings")) == 1


def test_the_command_explains_what_it_cannot_do_in_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["cftc", "load", "--help"])
    assert "columns are known by their header text" in " ".join(capsys.readouterr().out.split())
    code = main(["cftc", "load", str(tmp_path / "missing.xlsx"), "--warehouse",
                 f"duckdb:///{tmp_path / 'w.duckdb'}", "--lake", str(tmp_path / "lake")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err == f"dailyseg cftc: no such file or folder: {tmp_path / 'missing.xlsx'}"


def test_the_lake_copy_restores_the_tables(any_settings, tmp_path):
    from etl.cftc.load import restore_from_lake
    paths = [write(tmp_path, "a.xlsx", era_workbook(2015, AS_OF, FIRMS)),
             write(tmp_path, "b.xlsx", era_workbook(2008, date(2015, 4, 30), FIRMS))]
    load_cftc(paths, any_settings)
    before = snapshot(any_settings)
    wh = open_warehouse(any_settings.warehouse_url)
    try:
        with wh.begin() as conn:
            conn.exec_driver_sql("DELETE FROM cftc_fcm_monthly")
        assert restore_from_lake(wh, any_settings.lake) == 2
    finally:
        wh.dispose()
    assert snapshot(any_settings) == before


def test_a_damaged_workbook_is_one_line_even_where_the_spreadsheet_library_panics(tmp_path):
    from tests.cftc.sheets import era_xls
    from tests.cli.test_cli import run
    whole = era_xls(2006, AS_OF, FIRMS)
    cut = write(tmp_path, "cut.xls", whole[:607])  # the compound file's header only: calamine panics on it
    half = write(tmp_path, "half.xlsx", era_workbook(2015, AS_OF, FIRMS)[:3000])
    result = run("cftc", "load", "--quiet", str(cut), str(half), home=tmp_path / "home")
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" and "panicked" not in result.stdout
    assert result.stdout.count("cftc_unreadable") == 2 and "rejected         2" in result.stdout
