"""What keeps a long load's memory flat: DuckDB's capped block cache, and the lake's partition rewrite."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from etl.lake import partitions as lake
from etl.warehouse.tables import LAKE_VALUES
from etl.ingest.run import Ingestor
from etl.ingest.job import ingest
from etl.warehouse import open_warehouse
from etl.warehouse import duckdb_backend
from etl.warehouse.duckdb_backend import LOAD_MEMORY_LIMIT_MB


def test_a_load_caps_duckdb_memory_and_other_commands_keep_the_default(settings, sample_bytes, tmp_path):
    (tmp_path / "f.txt").write_bytes(sample_bytes)
    wh = open_warehouse(settings.warehouse_url)
    try:
        default = wh.scalar("SELECT current_setting('memory_limit')")
        Ingestor(settings, wh).run([tmp_path / "f.txt"])
        assert wh.scalar("SELECT current_setting('memory_limit')") == f"{LOAD_MEMORY_LIMIT_MB:.1f} MiB"
    finally:
        wh.dispose()
    other = open_warehouse(settings.warehouse_url)  # a later command opens the file with DuckDB's default
    try:
        assert other.scalar("SELECT current_setting('memory_limit')") == default
    finally:
        other.dispose()


def test_a_batch_refused_for_memory_is_retried_with_more(settings, tmp_path, monkeypatch):
    """However big the warehouse's key indexes grow, the load does not fail on the cap: it raises it."""
    from etl.synthetic.files import generate_filings
    generated = generate_filings(tmp_path / "many", firms=12, start=date(2016, 2, 1), end=date(2016, 2, 12), seed=3)
    monkeypatch.setattr(duckdb_backend, "LOAD_MEMORY_LIMIT_MB", 1)  # far too little for any batch
    wh = open_warehouse(settings.warehouse_url)
    try:
        summary = Ingestor(settings.with_overrides(batch_size=40), wh).run([tmp_path / "many"])
        assert summary.loaded == generated.files
        assert wh.memory_limit_mb is None or wh.memory_limit_mb > 1, "never refused: the test proves nothing"
        assert wh.scalar("SELECT count(*) FROM filings") == generated.files
        assert wh.scalar("SELECT count(*) FROM seg_values") == summary.value_rows
        assert wh.scalar("SELECT count(*) FROM lake_pending") == 0
    finally:
        wh.dispose()


def _table(ids_and_dates: list[tuple[str, date]], label: str) -> tuple[pa.Table, pa.Table]:
    values = {name: [] for name in LAKE_VALUES.names}
    for filing_id, end in ids_and_dates:
        for line in ("1", "2", "10"):  # kept in filing order, not sorted as text
            for name, value in (("filing_id", filing_id), ("firm", "Firm " + filing_id), ("end_date", end),
                                ("submit_date", end), ("status", "INITIAL"), ("statement", "segregation"),
                                ("line", line), ("label", f"{label} line {line}"), ("code", "00" + line[-1]),
                                ("value", int(line)), ("page", None), ("sha256", filing_id * 4)):
                values[name].append(value)
    filings = pa.table({"filing_id": [i for i, _ in ids_and_dates], "end_date": [d for _, d in ids_and_dates]})
    return pa.table(values, schema=LAKE_VALUES), filings


def test_a_partition_rewrite_replaces_merges_sorts_and_reads_back_as_text(tmp_path):
    first = [("b" * 16, date(2016, 3, 2)), ("a" * 16, date(2016, 3, 3)), ("c" * 16, date(2016, 3, 1))]
    lake.write_partitions(tmp_path, *_table(first, "old"))
    # a second batch: one filing sent again (its rows are replaced), one new filing between the others
    lake.write_partitions(tmp_path, *_table([("a" * 16, date(2016, 3, 3)), ("d" * 16, date(2016, 3, 2))], "new"))
    table = pq.read_table(tmp_path / "seg_values" / "year=2016" / "month=03" / "part-0.parquet")
    assert table.schema == LAKE_VALUES  # plain text columns, as readers expect
    rows = table.select(["filing_id", "line", "label"]).to_pylist()
    assert [(r["filing_id"][0], r["line"], r["label"]) for r in rows] == [
        ("c", "1", "old line 1"), ("c", "2", "old line 2"), ("c", "10", "old line 10"),
        ("b", "1", "old line 1"), ("b", "2", "old line 2"), ("b", "10", "old line 10"),
        ("d", "1", "new line 1"), ("d", "2", "new line 2"), ("d", "10", "new line 10"),
        ("a", "1", "new line 1"), ("a", "2", "new line 2"), ("a", "10", "new line 10"),
    ]
    assert pc.count_distinct(table["sha256"]).as_py() == 4


def test_many_batches_through_the_workers_leave_the_lake_equal_to_the_warehouse(settings, tmp_path):
    from etl.synthetic.files import generate_filings
    generated = generate_filings(tmp_path / "many", firms=12, start=date(2016, 2, 1), end=date(2016, 2, 12), seed=3)
    summary = ingest([tmp_path / "many"], settings.with_overrides(batch_size=30))
    assert summary.loaded == generated.files
    wh = open_warehouse(settings.warehouse_url)
    try:
        expected = sorted(map(tuple, wh.read_df(
            "SELECT filing_id, statement, code, value FROM seg_values").astype(str).itertuples(index=False)))
    finally:
        wh.dispose()
    import duckdb
    glob = str(settings.lake / "seg_values" / "**" / "*.parquet")
    got = duckdb.connect().execute(f"SELECT filing_id, statement, code, value FROM read_parquet('{glob}')").df()
    assert sorted(map(tuple, got.astype(str).itertuples(index=False))) == expected
