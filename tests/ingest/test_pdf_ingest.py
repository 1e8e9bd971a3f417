"""PDF filings through the real loader, on DuckDB and PostgreSQL: a folder of text, HTML and PDF filings
loads value for value, bad PDFs are set aside with their reasons while the rest loads, lineage says which
layout and page each value came from, and re-ingesting changes nothing."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from etl.ingest.job import ingest
from etl.lake.rebuild import rebuild
from etl.settings import load_settings
from etl.synthetic.files import MIXED, generate_filings
from etl.synthetic.pdf_layout import PdfStyle
from etl.warehouse import open_warehouse
from tests.ingest import pdf_files as files
from tests.ingest.test_run import snapshot

VALUES = ("SELECT f.firm, CAST(f.end_date AS VARCHAR), f.status, CAST(f.submit_date AS VARCHAR), v.statement, v.code, "
          "v.value, v.line, v.label FROM seg_values v JOIN filings f USING (filing_id) "
          "WHERE f.firm <> 'Citigroup Global Markets Inc.'")


def rows(settings, sql: str, params: dict | None = None) -> list[tuple]:
    """The query's rows, sorted, each value as text (None where NULL), the same on both backends."""
    wh = open_warehouse(settings.warehouse_url)
    try:
        frame = wh.read_df(sql, params)
    finally:
        wh.dispose()
    return sorted(tuple(None if pd.isna(x) else str(x) for x in row) for row in frame.itertuples(index=False))


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    """The same twelve firms over six business days, once mixed (text, HTML, PDF) and once all text, and the
    all-text corpus loaded into a warehouse of its own as the reference."""
    root = tmp_path_factory.mktemp("pdf-corpora")
    days = (date(2016, 3, 7), date(2016, 3, 14))
    mixed = generate_filings(root / "mixed", firms=12, start=days[0], end=days[1], fmt=MIXED, seed=4, amend_rate=0.1)
    generate_filings(root / "text", firms=12, start=days[0], end=days[1], fmt="text", seed=4, amend_rate=0.1)
    reference = load_settings(environ={}, home=root / "reference")
    assert ingest([root / "text"], reference).loaded == mixed.files
    return root, mixed, rows(reference, VALUES)


def bad_pdfs(folder: Path, sample_text: str) -> dict[str, str]:
    """Bad PDFs in ``folder``: file name -> the reason each must be rejected for."""
    folder.mkdir(parents=True)
    bad = {"scan.pdf": (files.scanned_pdf(), "pdf_no_text"),
           "locked.pdf": (files.password_pdf(sample_text), "pdf_password"),
           "partial.pdf": (files.text_print(sample_text)[:2500], "pdf_truncated"),
           "letter.pdf": (files.letter_pdf(), "not_a_filing")}
    for name, (data, _) in bad.items():
        (folder / name).write_bytes(data)
    return {name: reason for name, (_, reason) in bad.items()}


def test_a_mixed_folder_loads_value_for_value_and_bad_pdfs_are_set_aside(any_settings, corpora, tmp_path,
                                                                         sample_text, sample_expected):
    root, mixed, reference = corpora
    assert mixed.by_format["pdf"] >= 12 and mixed.by_format["html"] >= 12 and mixed.files > 64  # workers parse
    landing = tmp_path / "landing"
    shutil.copytree(root / "mixed", landing)
    (landing / "citi.pdf").write_bytes(files.text_print(sample_text))  # the real sample, printed
    reasons = bad_pdfs(landing / "bad", sample_text)

    summary = ingest([landing], any_settings)
    assert summary.loaded == mixed.files + 1
    assert {Path(r.source_path).name: r.reason_code for r in summary.rejected} == reasons
    assert rows(any_settings, VALUES) == reference  # every value, line and label as the text copies give them
    citi = rows(any_settings, "SELECT v.statement, v.code, v.value FROM seg_values v JOIN filings f USING "
                              "(filing_id) WHERE f.firm = 'Citigroup Global Markets Inc.'")
    assert {(s, c): int(v) for s, c, v in citi} == sample_expected

    by_format = rows(any_settings, "SELECT source_format, count(*), count(page_count) FROM filings GROUP BY 1")
    pdfs = mixed.by_format["pdf"] + 1
    assert by_format == sorted([("html", str(mixed.by_format["html"]), "0"), ("pdf", str(pdfs), str(pdfs)),
                                ("text", str(mixed.by_format["text"]), "0")])
    pages = rows(any_settings, "SELECT f.source_format, count(*) = count(v.page), count(v.page) = 0, "
                               "coalesce(max(v.page) <= max(f.page_count), true) "
                               "FROM seg_values v JOIN filings f USING (filing_id) GROUP BY 1")
    assert pages == [("html", "False", "True", "True"), ("pdf", "True", "False", "True"),
                     ("text", "False", "True", "True")]
    wh = open_warehouse(any_settings.warehouse_url)
    try:
        archived = wh.read_df("SELECT source_path, raw_path FROM filings WHERE source_format = 'pdf'")
        quarantined = wh.read_df("SELECT source_path, reason, quarantine_path FROM rejected_filings")
    finally:
        wh.dispose()
    for source, raw in archived.itertuples(index=False):
        assert raw.endswith(".pdf") and Path(raw).read_bytes() == Path(source).read_bytes()
    for source, reason, kept in quarantined.itertuples(index=False):
        assert Path(kept).read_bytes() == Path(source).read_bytes()
        assert json.loads((Path(kept).parent / "reason.json").read_text())["reason"] == reason
    assert "OCR is not supported" in " ".join(quarantined.reason)

    before, lake_before = snapshot(any_settings), {p: p.read_bytes() for p in any_settings.lake.rglob("*.parquet")}
    again = ingest([landing], any_settings)  # nothing changed: not one file is read again
    assert (again.loaded, again.unchanged, again.rejected_count) == (0, again.files_seen, 0)
    rescanned = ingest([landing], any_settings, rescan=True)  # read again: the same bytes, the same rejections
    assert (rescanned.loaded, rescanned.duplicates, rescanned.rejected_count) == (0, mixed.files + 1, len(reasons))
    assert snapshot(any_settings) == before
    assert {p: p.read_bytes() for p in any_settings.lake.rglob("*.parquet")} == lake_before


def test_the_lake_keeps_each_values_page(settings, tmp_path, sample_text):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "citi.pdf").write_bytes(files.text_print(sample_text))
    ingest([tmp_path / "in"], settings)
    glob = str(settings.lake / "seg_values" / "**" / "*.parquet")
    lake = duckdb.connect().execute(f"SELECT code, page FROM read_parquet('{glob}')").fetchall()
    assert sorted((c, str(p)) for c, p in lake) == rows(settings, "SELECT code, page FROM seg_values")
    assert {p for _, p in lake} == {1, 2}
    filings = duckdb.connect().execute(
        f"SELECT source_format, page_count FROM read_parquet('{settings.lake}/filings/**/*.parquet')").fetchall()
    assert filings == [("pdf", 2)]


def test_files_are_recognised_by_content_whatever_their_name(settings, tmp_path):
    text, pdf = files.twins(PdfStyle(shuffled=True))
    other_text, _ = files.twins(PdfStyle(), rank=1)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "statement.txt").write_bytes(pdf)
    (tmp_path / "in" / "download").write_bytes(text)
    (tmp_path / "in" / "filing.pdf").write_bytes(other_text)
    summary = ingest([tmp_path / "in"], settings)
    assert (summary.loaded, summary.rejected_count) == (3, 0)
    found = rows(settings, "SELECT source_path, source_format, raw_path FROM filings")
    assert [(Path(s).name, f, Path(r).suffix) for s, f, r in found] == [
        ("download", "text", ".txt"), ("filing.pdf", "text", ".txt"), ("statement.txt", "pdf", ".pdf")]


def test_a_few_files_parsed_in_the_loader_itself_get_the_same_bounds(settings, tmp_path, sample_text):
    """Below the pool's threshold the loader parses by itself: a hostile PDF still cannot take it down."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "bomb.pdf").write_bytes(files.deflate_bomb(192))
    (tmp_path / "in" / "citi.pdf").write_bytes(files.text_print(sample_text))
    summary = ingest([tmp_path / "in"], settings.with_overrides(pdf_memory_mb=32))
    assert summary.loaded == 1
    assert [(Path(r.source_path).name, r.reason_code) for r in summary.rejected] == [("bomb.pdf", "pdf_resources")]
    assert "32 MB" in summary.rejected[0].reason and "DAILYSEG_PDF_MEMORY_MB" in summary.rejected[0].reason


def test_a_warehouse_and_lake_from_before_the_lineage_columns_upgrade_in_place(settings, tmp_path, sample_text,
                                                                            sample_bytes):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "citi.txt").write_bytes(sample_bytes)
    ingest([tmp_path / "old"], settings)
    wh = open_warehouse(settings.warehouse_url)  # make it as it was: no lineage columns anywhere
    try:
        for statement in ("ALTER TABLE filings DROP COLUMN source_format", "ALTER TABLE filings DROP COLUMN page_count",
                          "ALTER TABLE seg_values DROP COLUMN page", "DELETE FROM dailyseg_meta"):
            wh.execute(statement)
    finally:
        wh.dispose()
    for part in settings.lake.glob("*/year=*/month=*/part-0.parquet"):
        table = pq.read_table(part)
        pq.write_table(table.drop_columns([c for c in ("page", "source_format", "page_count")
                                           if c in table.column_names]), part)

    (tmp_path / "new").mkdir()
    amended = sample_text.replace("INITIAL", "AMENDED").replace("Submit Date:1/2/2014", "Submit Date:1/6/2014")
    (tmp_path / "new" / "citi-amended.pdf").write_bytes(files.text_print(amended))
    assert ingest([tmp_path / "new"], settings).loaded == 1
    assert rows(settings, "SELECT status, source_format, page_count FROM filings") == [
        ("AMENDED", "pdf", "2"), ("INITIAL", None, None)]
    glob = str(settings.lake / "seg_values" / "**" / "*.parquet")
    lake = duckdb.connect().execute(f"SELECT count(page), count(*) FROM read_parquet('{glob}')").fetchone()
    assert lake == (80, 160)

    summary = rebuild(settings, replace=True)  # the lake alone, old partitions and new, rebuilds the warehouse
    assert (summary.filings, summary.value_rows) == (2, 160)
    assert rows(settings, "SELECT status, source_format FROM filings") == [("AMENDED", "pdf"), ("INITIAL", None)]
