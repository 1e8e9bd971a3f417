"""The lake's Parquet copy of the long table, hive-partitioned by End Date.

Layout under ``DAILYSEG_LAKE`` (the raw archive and quarantine beside it are ``etl.lake.raw``)::

    seg_values/year=2016/month=03/part-0.parquet   the long table (zstd)
    filings/year=2016/month=03/part-0.parquet      one row per filing version, for lineage

A partition is rewritten whole (existing rows minus the batch's filings, plus the batch) into a hidden
temporary file that is renamed over the old one, under the lake lock: readers see the old or the new
partition, never half of one, and a crash leaves at most a hidden temporary file that the next writer
removes. DuckDB reads it as ``read_parquet('lake/seg_values/**/*.parquet', hive_partitioning = true)``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from etl.clock import file_stamp
from etl.lake.durable import atomic_write
from etl.locks import exclusive
from etl.warehouse.tables import FILINGS, LAKE_VALUES

_TEXT = pa.string()
_DICTIONARY = pa.dictionary(pa.int32(), _TEXT)
# Arrow's sort is stable: within a filing, rows keep the order of the filing itself.
_SORT = [("end_date", "ascending"), ("filing_id", "ascending")]


def _locked(lake: Path):
    """The lake's writer lock: one process at a time rewrites (or sets aside) partitions, and a reader
    of a month's two files holds it so that no rename comes between them."""
    return exclusive(lake / ".lock", "the lake", wait=600)


def _partition_dir(lake: Path, dataset: str, year: int, month: int) -> Path:
    return lake / dataset / f"year={year}" / f"month={month:02d}"


def _clean_temporaries(folder: Path) -> None:
    for stale in folder.glob(".*.tmp-*"):
        stale.unlink(missing_ok=True)


def _compact_schema(schema: pa.Schema) -> pa.Schema:
    """``schema`` with its text columns dictionary-encoded."""
    return pa.schema([pa.field(f.name, _DICTIONARY) if f.type == _TEXT else f for f in schema])


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with the columns of ``schema`` in its order, a column it lacks as nulls (a partition
    written before the column existed), cast to ``schema``'s types."""
    missing = [f for f in schema if f.name not in table.column_names]
    for f in missing:
        table = table.append_column(f.name, pa.nulls(table.num_rows, f.type))
    return table.select(schema.names).cast(schema)


def _rewrite(path: Path, new_rows: pa.Table, replaced_ids: pa.Array, sort, schema: pa.Schema) -> None:
    """Rewrite one partition of ``schema`` with ``new_rows`` (plain or compact) in place of the rows of
    ``replaced_ids``.

    Text columns are handled dictionary-encoded (as Parquet stores them): a month of the long table
    repeats each filing's sha256, firm and status on every row, and each line label in every filing, so
    decoded it takes four to five times the memory. Only the two sort keys are decoded, to order the rows.
    The file is written without Arrow's schema, so readers see plain text columns as before.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    _clean_temporaries(path.parent)
    compact = _compact_schema(schema)
    table = new_rows.cast(compact)
    if path.exists():
        text = [f.name for f in schema if f.type == _TEXT]
        old = conform(pq.read_table(path, read_dictionary=text), compact)
        replaced = pc.is_in(old["filing_id"], value_set=replaced_ids)
        if pc.any(replaced).as_py():
            old = old.filter(pc.invert(replaced))
        table = pa.concat_tables([old, table])
    keys = pa.table({name: table[name].cast(schema.field(name).type) for name, _ in sort})
    table = table.take(pc.sort_indices(keys, sort_keys=sort))  # a stable sort
    atomic_write(path, lambda handle: pq.write_table(table, handle, compression="zstd", store_schema=False))


def write_partitions(lake: Path, values: pa.Table, filings: pa.Table) -> int:
    """Merge these filings' rows (``values`` plain, or compact as ``MonthBuffer`` holds them) into their
    month partitions; return the partitions rewritten."""
    if filings.num_rows == 0:
        return 0
    values = compact_values(values)
    months = {}
    for table_name, table in (("seg_values", values), ("filings", filings)):
        for ym, rows in _by_month(table).items():
            months.setdefault(ym, {})[table_name] = rows
    jobs = []
    for ym, parts in sorted(months.items()):
        year, month = divmod(ym, 100)
        ids = parts["filings"]["filing_id"].combine_chunks()
        jobs.append((_partition_dir(lake, "seg_values", year, month) / "part-0.parquet",
                     parts.get("seg_values", values.schema.empty_table()), ids, LAKE_VALUES))
        jobs.append((_partition_dir(lake, "filings", year, month) / "part-0.parquet", parts["filings"], ids,
                     filings.schema))
    from concurrent.futures import ThreadPoolExecutor
    with _locked(lake), ThreadPoolExecutor(min(len(jobs), os.cpu_count() or 1)) as pool:
        # Arrow sorts, compresses and writes without holding the GIL: the partitions are written side by side
        for done in [pool.submit(_rewrite, path, rows, ids, _SORT, schema) for path, rows, ids, schema in jobs]:
            done.result()
    return len(months)


_COMPACT_VALUES = _compact_schema(LAKE_VALUES)


def compact_values(values: pa.Table) -> pa.Table:
    """Lake values with their text columns dictionary-encoded (a fifth of the memory; as they are if so)."""
    return values.select(LAKE_VALUES.names).cast(_COMPACT_VALUES)


def _by_month(table: pa.Table) -> dict[int, pa.Table]:
    """``table``'s rows by End Date month, keyed ``yyyymm`` (the table itself, not a copy, when it is all
    one month)."""
    key = pc.add(pc.multiply(pc.year(table["end_date"]), 100), pc.month(table["end_date"]))
    months = pc.unique(key).to_pylist()
    if len(months) == 1:
        return {months[0]: table}
    return {ym: table.filter(pc.equal(key, ym)) for ym in months}


class MonthBuffer:
    """The lake rows of committed batches, held by month so that each month's partitions are rewritten
    once per run rather than once per batch.

    A month is written as soon as a batch arrives that has none of its filings (files come in date
    order in a backfill: that month is done), when the buffer holds more than ``max_rows`` values, and
    at the end of the run. Until then its filings stay in the warehouse's ``lake_pending``, so a crash
    in between loses nothing: the next run writes them from the warehouse.
    """

    def __init__(self, lake: Path, max_rows: int = 400_000):
        self.lake = lake
        self.max_rows = max_rows
        self._values: dict[int, list[pa.Table]] = {}
        self._filings: dict[int, list[pa.Table]] = {}
        self._rows = 0

    def add(self, values: pa.Table, filings: pa.Table, last: bool = False) -> tuple[list[str], int]:
        """Hold a committed batch's rows; write the months that are done (all of them when it is the
        run's ``last`` batch, in one go). Returns (the filing ids now in the lake, the partitions rewritten)."""
        arriving = _by_month(filings)
        for ym, rows in arriving.items():
            self._filings.setdefault(ym, []).append(rows)
        for ym, rows in _by_month(compact_values(values)).items():  # a month held plain took 50 MB, compact 11
            self._values.setdefault(ym, []).append(rows)
        self._rows += values.num_rows
        done = list(self._filings) if self._rows > self.max_rows or last else \
            [m for m in self._filings if m not in arriving]
        return self._write(done)

    def flush(self) -> tuple[list[str], int]:
        """Write every month still held."""
        return self._write(list(self._filings))

    def _write(self, months: list[int]) -> tuple[list[str], int]:
        if not months:
            return [], 0
        filings = pa.concat_tables([t for m in months for t in self._filings.pop(m)])
        parts = [t for m in months for t in self._values.pop(m, [])]
        values = pa.concat_tables(parts) if parts else LAKE_VALUES.empty_table()
        self._rows -= values.num_rows
        written = write_partitions(self.lake, values, filings)
        return filings["filing_id"].to_pylist(), written
def write_month_table(lake: Path, dataset: str, year: int, month: int, table: pa.Table) -> Path:
    """Replace one month's partition of a small dataset (``cftc/fcm_monthly``...) with ``table`` whole."""
    path = _partition_dir(lake, dataset, year, month) / "part-0.parquet"
    with _locked(lake):
        path.parent.mkdir(parents=True, exist_ok=True)
        _clean_temporaries(path.parent)
        atomic_write(path, lambda handle: pq.write_table(table, handle, compression="zstd"))
    return path


def read_month_tables(lake: Path, dataset: str, schema: pa.Schema) -> pa.Table:
    """Every month's partition of a small dataset, as one table of ``schema``."""
    with _locked(lake):
        parts = [pq.read_table(p).select(schema.names).cast(schema)
                 for p in sorted((lake / dataset).glob("year=*/month=*/part-0.parquet"))]
    return pa.concat_tables(parts) if parts else schema.empty_table()


def months(lake: Path) -> list[tuple[int, int]]:
    """The (year, month) partitions the lake holds filings for, in order."""
    found = []
    for part in (lake / "filings").glob("year=*/month=*/part-0.parquet"):
        found.append((int(part.parent.parent.name[5:]), int(part.parent.name[6:])))
    return sorted(found)


def read_month(lake: Path, year: int, month: int) -> tuple[pa.Table, pa.Table]:
    """One month's (filings, seg_values) as the loader wrote them, read under the lake lock so that a
    writer renaming new partitions in between cannot pair one version of the filings with another of
    their values."""
    with _locked(lake):
        filings = pq.read_table(_partition_dir(lake, "filings", year, month) / "part-0.parquet")
        values_file = _partition_dir(lake, "seg_values", year, month) / "part-0.parquet"
        values = pq.read_table(values_file) if values_file.exists() else LAKE_VALUES.empty_table()
    return conform(filings, FILINGS), conform(values, LAKE_VALUES)


def set_month_aside(lake: Path, year: int, month: int) -> list[str]:
    """Rename a month's partition files that cannot be read to hidden ``.part-0.parquet.unreadable-<time>``
    (kept, and no longer matched by ``*.parquet``); return their new paths. The next write of that month
    starts it afresh."""
    stamp = file_stamp()
    kept = []
    with _locked(lake):
        for dataset in ("filings", "seg_values"):
            part = _partition_dir(lake, dataset, year, month) / "part-0.parquet"
            if part.exists():
                target = part.with_name(f".{part.name}.unreadable-{stamp}")
                part.rename(target)
                kept.append(str(target))
    return kept

