"""The lake: content-addressed raw archive, quarantine, and the Parquet copy of the long table.

Layout under ``DAILYSEG_LAKE``::

    raw/ab/abcdef....txt                 every accepted file, named by its sha256 (same bytes: no-op)
    quarantine/<sha16>/<name>            every rejected file, with reason.json beside it
    seg_values/year=2016/month=03/part-0.parquet   the long table (zstd), hive-partitioned by End Date
    filings/year=2016/month=03/part-0.parquet      one row per filing version, for lineage

A partition is rewritten whole (existing rows minus the batch's filings, plus the batch) into a hidden
temporary file that is renamed over the old one, under the lake lock: readers see the old or the new
partition, never half of one, and a crash leaves at most a hidden temporary file that the next writer
removes. DuckDB reads it as ``read_parquet('lake/seg_values/**/*.parquet', hive_partitioning = true)``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from etl.locks import exclusive

VALUES_SCHEMA = pa.schema([
    ("filing_id", pa.string()), ("firm", pa.string()), ("end_date", pa.date32()), ("submit_date", pa.date32()),
    ("status", pa.string()), ("statement", pa.string()), ("line", pa.string()), ("label", pa.string()),
    ("code", pa.string()), ("value", pa.int64()), ("sha256", pa.string()),
])
_SORT = [("end_date", "ascending"), ("firm", "ascending"), ("filing_id", "ascending"),
         ("statement", "ascending"), ("code", "ascending")]
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _atomic_write_bytes(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def archive_raw(lake: Path, sha256: str, data: bytes, suffix: str) -> Path:
    """Store accepted bytes under their hash; a second copy of the same bytes writes nothing."""
    suffix = suffix.lower() if suffix.lower() in (".txt", ".htm", ".html") else ".txt"
    target = lake / "raw" / sha256[:2] / f"{sha256}{suffix}"
    if not target.exists():
        _atomic_write_bytes(target, data)
    return target


def safe_file_name(name: str) -> str:
    """A file name with no path, no traversal and only portable characters."""
    cleaned = _SAFE_NAME.sub("_", Path(name.replace("\\", "/")).name).strip("._") or "file"
    return cleaned[:120]


def quarantine(lake: Path, source: Path, sha256: str | None, data: bytes | None, reason: dict) -> Path:
    """Copy a rejected file into the quarantine with its reason; the landing zone is left as it was."""
    folder = lake / "quarantine" / (sha256[:16] if sha256 else "unreadable-" + safe_file_name(str(source)))
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / safe_file_name(source.name)
    if not target.exists():
        if data is not None:
            _atomic_write_bytes(target, data)
        else:
            try:
                shutil.copyfile(source, target, follow_symlinks=False)
            except OSError:
                pass  # unreadable: the reason file says so
    _atomic_write_bytes(folder / "reason.json", json.dumps(reason, indent=2, default=str).encode())
    return target


def _partition_dir(lake: Path, dataset: str, year: int, month: int) -> Path:
    return lake / dataset / f"year={year}" / f"month={month:02d}"


def _clean_temporaries(folder: Path) -> None:
    for stale in folder.glob(".*.tmp-*"):
        stale.unlink(missing_ok=True)


def _rewrite(path: Path, new_rows: pa.Table, replaced_ids: pa.Array, sort) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    _clean_temporaries(path.parent)
    if path.exists():
        old = pq.read_table(path, schema=new_rows.schema)
        old = old.filter(pc.invert(pc.is_in(old["filing_id"], value_set=replaced_ids)))
        table = pa.concat_tables([old, new_rows])
    else:
        table = new_rows
    table = table.sort_by(sort)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.tmp-")
    os.close(fd)
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_partitions(lake: Path, values: pa.Table, filings: pa.Table) -> int:
    """Merge these filings' rows into their month partitions; return the partitions rewritten."""
    if filings.num_rows == 0:
        return 0
    values = values.select(VALUES_SCHEMA.names).cast(VALUES_SCHEMA)
    months = {}
    for table_name, table in (("seg_values", values), ("filings", filings)):
        years = pc.year(table["end_date"])
        month = pc.month(table["end_date"])
        key = pc.add(pc.multiply(years, 100), month)
        for ym in pc.unique(key).to_pylist():
            months.setdefault(ym, {})[table_name] = table.filter(pc.equal(key, ym))
    with exclusive(lake / ".lock", "the lake", wait=600):
        for ym, parts in sorted(months.items()):
            year, month = divmod(ym, 100)
            ids = parts["filings"]["filing_id"].combine_chunks()
            _rewrite(_partition_dir(lake, "seg_values", year, month) / "part-0.parquet",
                     parts.get("seg_values", values.schema.empty_table()), ids, _SORT)
            _rewrite(_partition_dir(lake, "filings", year, month) / "part-0.parquet",
                     parts["filings"], ids, [("end_date", "ascending"), ("filing_id", "ascending")])
    return len(months)
