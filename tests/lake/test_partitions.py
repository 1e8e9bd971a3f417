"""The lake's month partitions across a change of the load tables: a partition written before a column
existed is read, rewritten and rebuilt from as if that column had been empty."""

from __future__ import annotations

from datetime import date

import pyarrow.parquet as pq

from etl.ingest.job import ingest
from etl.lake.rebuild import rebuild
from etl.synthetic.files import generate_filings
from etl.warehouse import open_warehouse


def test_a_partition_from_before_source_url_is_extended_and_rebuilt_from(settings, tmp_path, sample_bytes):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "citi.txt").write_bytes(sample_bytes)
    ingest([tmp_path / "in"], settings)
    part = settings.lake / "filings" / "year=2013" / "month=12" / "part-0.parquet"
    old = pq.read_table(part)
    pq.write_table(old.drop_columns(["source_url"]), part)  # as a lake written before the column was
    assert "source_url" not in pq.read_schema(part).names

    generate_filings(tmp_path / "more", firms=2, start=date(2013, 12, 30), end=date(2013, 12, 30), seed=2,
                     amend_rate=0)
    assert ingest([tmp_path / "more"], settings).loaded == 2  # rewrites the same month's partition
    merged = pq.read_table(part)
    assert merged.num_rows == 3 and merged["source_url"].null_count == 3

    fresh = settings.with_overrides(warehouse_url=f"duckdb:///{tmp_path / 'rebuilt.duckdb'}")
    pq.write_table(merged.drop_columns(["source_url"]), part)
    assert rebuild(fresh).filings == 3
    wh = open_warehouse(fresh.warehouse_url)
    try:
        assert wh.scalar("SELECT count(*) FROM filings WHERE source_url IS NULL") == 3
    finally:
        wh.dispose()
