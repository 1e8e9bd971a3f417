"""``dailyseg cftc load``: published CFTC monthly files into ``cftc_fcm_monthly``, the lake and the raw zone.

Each file is read whole (``etl.cftc.reader``). A file already loaded (the same bytes, under any name)
changes nothing. A file that cannot be read is set aside in the quarantine with its reason and a row in
``rejected_filings``; the other files load. An accepted file is copied to ``lake/cftc/raw/``, its
month is written to the lake (``lake/cftc/fcm_monthly`` and ``lake/cftc/files``, by year and month),
and then, in one transaction, the month's rows in the warehouse are replaced by the file's, when it is
the newest publication for its month (the later "filed by" date; otherwise it is recorded in
``cftc_files`` and its rows are not used). ``cftc_as_of_days`` gets, for each as-of date the file
names, the last business day on or before it in its month.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable

import pyarrow as pa
import sqlalchemy as sa

from etl.business_days import last_business_day_in_month
from etl import UserError
from etl.cftc.reader import CftcFile, CftcFormatError, read_cftc_file
from etl.clock import new_run_id, utc_now
from etl.ingest.run import discover, require_paths
from etl.lake import partitions as lake
from etl.lake.durable import atomic_write
from etl.lake.raw import quarantine
from etl.ingest.workers import read_capped
from etl.settings import Settings
from etl.warehouse import LoadBatch, Warehouse, first_line, one_line_errors, opened_for_writing
from etl.warehouse.tables import (CFTC_AS_OF_DAYS, CFTC_FCM_MONTHLY, CFTC_FILES, FILING_STATEMENTS, FILINGS,
                                  REJECTED_FILINGS, SEG_VALUES)

Progress = Callable[[int, int], None]
ROWS_DATASET = "cftc/fcm_monthly"
FILES_DATASET = "cftc/files"
SUFFIXES = (".xlsx", ".xls", ".xlsm")


class CftcLoadError(UserError, RuntimeError):
    """The load could not run (no such file, warehouse or lake unusable); one line for the user."""


@dataclass
class FileResult:
    source_path: str
    status: str  # loaded | unchanged | older | rejected
    as_of_date: date | None = None
    n_firms: int = 0
    columns: tuple[str, ...] = ()
    unrecognised: tuple[str, ...] = ()
    reason_code: str | None = None
    reason: str | None = None
    quarantine_path: str | None = None


@dataclass
class CftcLoadSummary:
    run_id: str
    warehouse: str
    files: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0
    #: for each month-end loaded: (firms in the file holding customer funds, how many of them have no daily
    #: filing in the warehouse that month)
    coverage: dict[date, tuple[int, int]] = field(default_factory=dict)

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)


def raw_copy(lake_root: Path, sha256: str, suffix: str) -> Path:
    suffix = suffix.lower() if suffix.lower() in SUFFIXES else ".xlsx"
    return lake_root / "cftc" / "raw" / sha256[:2] / f"{sha256}{suffix}"


def as_of_days(dates) -> pa.Table:
    """``cftc_as_of_days`` rows for these as-of dates."""
    days = sorted({d for d in dates if d is not None})
    return pa.table({"as_of_date": days, "business_day": [last_business_day_in_month(d) for d in days]},
                    schema=CFTC_AS_OF_DAYS)


def rows_table(parsed: CftcFile, source: str, loaded_at) -> pa.Table:
    columns = {name: [] for name in CFTC_FCM_MONTHLY.names}
    for row in parsed.rows:
        for name in CFTC_FCM_MONTHLY.names:
            columns[name].append(row.get(name))
    n = len(parsed.rows)
    columns.update(as_of_date=[parsed.as_of_date] * n, source_file=[source] * n, loaded_at=[loaded_at] * n)
    return pa.table(columns, schema=CFTC_FCM_MONTHLY)


def _write_month(conn: sa.Connection, warehouse: Warehouse, as_of: date, files: pa.Table, rows: pa.Table | None) -> None:
    """Replace one month's rows (when ``rows``) and files in the warehouse, inside ``conn``'s transaction."""
    params = {"d": as_of}
    conn.execute(sa.text("DELETE FROM cftc_files WHERE as_of_date = :d"), params)
    warehouse.insert_arrow(conn, "cftc_files", files)
    if rows is not None:
        conn.execute(sa.text("DELETE FROM cftc_fcm_monthly WHERE as_of_date = :d"), params)
        warehouse.insert_arrow(conn, "cftc_fcm_monthly", rows)
        days = as_of_days([as_of, *rows["firm_as_of_date"].to_pylist()])
        conn.execute(sa.text("DELETE FROM cftc_as_of_days WHERE as_of_date IN :days")
                     .bindparams(sa.bindparam("days", expanding=True)), {"days": days["as_of_date"].to_pylist()})
        warehouse.insert_arrow(conn, "cftc_as_of_days", days)


class CftcLoader:
    """One load run against one warehouse and lake."""

    def __init__(self, settings: Settings, warehouse: Warehouse, progress: Progress | None = None):
        self.settings = settings
        self.warehouse = warehouse
        self.progress = progress
        self.run_id = new_run_id()
        self.summary = CftcLoadSummary(self.run_id, warehouse.describe())

    def run(self, paths: list[str | Path]) -> CftcLoadSummary:
        started = time.perf_counter()
        found, refused = discover(paths)
        files = found["path"].to_pylist()
        for path, why in refused:
            self._reject(Path(path), None, None, "symlink_outside", why)
        for done, path in enumerate(files, 1):
            self._load_one(Path(path))
            if self.progress is not None:
                self.progress(done, len(files))
        loaded = sorted({f.as_of_date for f in self.summary.files if f.status == "loaded"})
        if loaded:
            days = ", ".join(f"DATE '{d.isoformat()}'" for d in loaded)
            counts = self.warehouse.read_df(
                "SELECT as_of_date, count(*) AS firms, sum(CASE WHEN daily_filings = 0 THEN 1 ELSE 0 END) AS unloaded "
                f"FROM cftc_coverage WHERE as_of_date IN ({days}) GROUP BY as_of_date")
            for as_of, firms, unloaded in zip(_dates(counts["as_of_date"]), counts["firms"], counts["unloaded"]):
                self.summary.coverage[as_of] = (int(firms), int(unloaded))
        self.summary.seconds = time.perf_counter() - started
        return self.summary

    def _load_one(self, path: Path) -> None:
        try:
            data, _ = read_capped(path, self.settings.max_file_bytes)
        except OSError as exc:
            self._reject(path, None, None, "unreadable", f"cannot read the file: {exc.strerror or exc}")
            return
        sha = hashlib.sha256(data).hexdigest()
        if len(data) > self.settings.max_file_bytes:
            self._reject(path, sha, None, "too_large", f"the file is over the {self.settings.max_file_bytes:,}-byte "
                         "limit (DAILYSEG_MAX_FILE_MB)")
            return
        known = self.warehouse.read_df("SELECT as_of_date FROM cftc_files WHERE sha256 = :s", {"s": sha})
        if len(known):
            self.summary.files.append(FileResult(str(path.absolute()), "unchanged", _dates(known["as_of_date"])[0]))
            return
        try:
            parsed = read_cftc_file(data, path.name)
        except CftcFormatError as exc:
            self._reject(path, sha, data, exc.reason_code, exc.message)
            return
        except Exception as exc:  # a defect of the reader must not stop the run or lose the file
            self._reject(path, sha, data, "cftc_reader_error", f"the reader failed on this file "
                         f"({type(exc).__name__}: {first_line(exc)}); it is kept in the quarantine for a fix")
            return
        self._accept(path, sha, data, parsed)

    def _accept(self, path: Path, sha: str, data: bytes, parsed: CftcFile) -> None:
        source, now = str(path.absolute()), utc_now()
        raw = raw_copy(self.settings.lake, sha, path.suffix)
        if not raw.exists():
            atomic_write(raw, data)
        month = self.warehouse.read_df("SELECT * FROM cftc_files WHERE as_of_date = :d", {"d": parsed.as_of_date})
        in_use = month[month["in_use"].astype(bool)] if len(month) else month
        newest = in_use.empty or all((parsed.filed_by or date.min) >= (d or date.min)
                                     for d in _dates(in_use["filed_by"]))
        files = pa.Table.from_pandas(month[list(CFTC_FILES.names)], preserve_index=False).cast(CFTC_FILES) \
            if len(month) else CFTC_FILES.empty_table()
        if newest:
            files = files.set_column(files.schema.get_field_index("in_use"), "in_use",
                                     pa.array([False] * files.num_rows, pa.bool_()))
        files = pa.concat_tables([files, pa.table({
            "sha256": [sha], "as_of_date": [parsed.as_of_date], "filed_by": [parsed.filed_by], "source_file": [source],
            "raw_path": [str(raw)], "size_bytes": [len(data)], "sheet": [parsed.sheet],
            "columns": [",".join(parsed.fields)], "unrecognised": ["; ".join(parsed.unrecognised) or None],
            "n_firms": [len(parsed.rows)], "in_use": [newest], "loaded_at": [now], "run_id": [self.run_id]},
            schema=CFTC_FILES)]).combine_chunks()  # one chunk: Arrow's CSV writer (COPY) mishandles an empty one
        rows = rows_table(parsed, source, now) if newest else None
        year, month_no = parsed.as_of_date.year, parsed.as_of_date.month
        # the lake first: a crash before the commit leaves a lake the next load of this file rewrites
        lake.write_month_table(self.settings.lake, FILES_DATASET, year, month_no, files)
        if rows is not None:
            lake.write_month_table(self.settings.lake, ROWS_DATASET, year, month_no, rows)
        with self.warehouse.begin() as conn:
            _write_month(conn, self.warehouse, parsed.as_of_date, files, rows)
        self.summary.files.append(FileResult(source, "loaded" if newest else "older", parsed.as_of_date,
                                             len(parsed.rows), parsed.fields, parsed.unrecognised))

    def _reject(self, path: Path, sha: str | None, data: bytes | None, code: str, why: str) -> None:
        source = str(path.absolute())
        result = FileResult(source, "rejected", reason_code=code, reason=why)
        self.summary.files.append(result)
        if (source, sha) in self.warehouse.rejections_held([sha] if sha else [], [] if sha else [source]):
            return  # rejected before: recorded and quarantined already
        now = utc_now()  # one instant for the reason file and the row: a rebuild reads one back as the other
        reason = {"source_path": source, "sha256": sha, "reason_code": code, "reason": why, "line_no": None,
                  "run_id": self.run_id, "rejected_at": now.isoformat(timespec="seconds")}
        result.quarantine_path = str(quarantine(self.settings.lake, path, sha, data, reason))
        rejected = pa.table({"source_path": [source], "sha256": [sha], "reason": [why], "line_no": [None],
                             "rejected_at": [now], "reason_code": [code],
                             "quarantine_path": [result.quarantine_path],
                             "size_bytes": [len(data) if data is not None else None], "run_id": [self.run_id]},
                            schema=REJECTED_FILINGS)
        self.warehouse.write_batch(LoadBatch(self.run_id, FILINGS.empty_table(), FILING_STATEMENTS.empty_table(),
                                             SEG_VALUES.empty_table(), rejected))


def _dates(values) -> list[date | None]:
    import pandas as pd
    return [None if pd.isna(v) else pd.Timestamp(v).date() for v in values]


def restore_from_lake(warehouse: Warehouse, lake_root: Path) -> int:
    """The CFTC tables from the lake's copy (``dailyseg rebuild``); returns the month-ends restored."""
    files = lake.read_month_tables(lake_root, FILES_DATASET, CFTC_FILES)
    rows = lake.read_month_tables(lake_root, ROWS_DATASET, CFTC_FCM_MONTHLY)
    here = [str(raw_copy(lake_root, sha, Path(old).suffix))  # a lake restored from a backup, or moved
            for sha, old in zip(files["sha256"].to_pylist(), files["raw_path"].to_pylist())]
    files = files.set_column(files.schema.get_field_index("raw_path"), "raw_path", pa.array(here, pa.string()))
    months = sorted(set(files["as_of_date"].to_pylist()))
    with warehouse.begin() as conn:
        for table in ("cftc_fcm_monthly", "cftc_files", "cftc_as_of_days"):
            conn.exec_driver_sql(f"DELETE FROM {table}")
        warehouse.insert_arrow(conn, "cftc_files", files)
        warehouse.insert_arrow(conn, "cftc_fcm_monthly", rows)
        warehouse.insert_arrow(conn, "cftc_as_of_days",
                               as_of_days(rows["as_of_date"].to_pylist() + rows["firm_as_of_date"].to_pylist()))
    return len(months)


def load_cftc(paths: list[str | Path], settings: Settings, progress: Progress | None = None, wait: float = 60.0,
              on_message: Callable[[str], None] | None = None) -> CftcLoadSummary:
    """Load published CFTC monthly files; see the module docstring. Raises only ``CftcLoadError``."""
    require_paths(paths, CftcLoadError, "CFTC monthly file (xlsx or xls)")
    with one_line_errors(CftcLoadError, "the load", "cannot write the lake"), \
            opened_for_writing(settings.warehouse_url, wait, on_message) as warehouse:
        return CftcLoader(settings, warehouse, progress).run(paths)
