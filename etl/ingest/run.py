"""Ingest: files and folders of filings into the raw archive, the warehouse and the Parquet lake.

``ingest(paths, settings)`` finds every file under the paths, skips bytes already loaded (whatever
their name), parses the rest, sets rejected files aside in the quarantine with their reason, and writes
accepted filings in batches: each batch lands in the warehouse in one transaction (with a marker that
its lake partitions are due), then its month partitions are rewritten in the lake and the marker is
cleared. A crash anywhere leaves either nothing of a batch or a marker the next run finishes, so a
re-run always ends where a clean run would. Nothing a user can feed it raises out of ``ingest``: a bad
file is a rejection, and only an unusable warehouse or lake stops the run (``IngestError``).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import pyarrow as pa
import pyarrow.compute as pc

from etl.clock import new_run_id, utc_now
from etl.lake import partitions as lake
from etl.lake import raw as raw_archive
from etl.form.catalog import statement_figures
from etl.ingest.parser import ParsedFiling
from etl.ingest.workers import Prepared, Preparer
from etl.settings import Settings
from etl.warehouse import LoadBatch, Warehouse, one_line_errors, opened_for_writing
from etl.warehouse.tables import FIGURE_COLUMNS, FILING_STATEMENTS, FILINGS, LAKE_VALUES, REJECTED_FILINGS

Progress = Callable[[int, int], None]



class IngestError(RuntimeError):
    """The run could not proceed (bad arguments, warehouse or lake unusable); one line for the user."""


@dataclass
class Rejection:
    source_path: str
    reason_code: str
    reason: str
    line_no: int | None
    quarantine_path: str | None
    already_known: bool = False


@dataclass
class IngestSummary:
    run_id: str
    warehouse: str
    lake: str
    files_seen: int = 0
    loaded: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    value_rows: int = 0
    seconds: float = 0.0
    unknown_codes: Counter = field(default_factory=Counter)
    filings_with_notes: int = 0
    lake_partitions: int = 0
    recovered_filings: int = 0
    loaded_end_dates: set = field(default_factory=set)

    @property
    def rejected_count(self) -> int:
        return len(self.rejected)



def discover(paths: Iterable[str | Path]) -> tuple[list[str], list[tuple[Path, str]]]:
    """Regular files under ``paths`` (recursively, sorted, hidden entries skipped).

    Returns (files, refused) where ``refused`` lists symlinks pointing outside their folder, which are
    not followed. Files are plain strings: a backfill finds hundreds of thousands, and as ``Path``
    objects they would take about 350 bytes each in the loader for the whole run (and be copied into
    every worker), instead of about 100.
    """
    files: list[str] = []
    refused: list[tuple[Path, str]] = []
    for raw in paths:
        root = Path(raw)
        if not root.exists() and not root.is_symlink():
            raise IngestError(f"no such file or folder: {root}")
        if root.is_file():
            files.append(str(root))
            continue
        base = root.resolve()
        for folder, dirs, names in os.walk(root, followlinks=False):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(names):
                if name.startswith("."):
                    continue
                path = os.path.join(folder, name)
                if os.path.islink(path):
                    if not Path(path).resolve().is_relative_to(base):
                        refused.append((Path(path), "a symbolic link to a file outside the folder being "
                                                    "ingested; not followed"))
                        continue
                if os.path.isfile(path):
                    files.append(path)
    return files, refused


def append_statement_rows(columns: dict[str, list], filing: dict, statements: Iterable[str], values,
                          per_statement: dict[str, int] | None = None) -> None:
    """Append a filing's ``filing_statements`` rows to ``columns``: one per statement it carries, with
    its number of values and headline figures. ``filing`` holds the filing's key columns; ``values``
    are its values (anything with ``statement``, ``code`` and ``value``), or only those carrying a
    figure when ``per_statement`` gives the number of values of each statement."""
    if per_statement is None:
        per_statement = Counter(v.statement for v in values)
    figures = statement_figures(values)
    for statement in statements:
        for key in ("filing_id", "firm", "end_date", "submit_date", "status"):
            columns[key].append(filing[key])
        columns["statement"].append(statement)
        columns["n_values"].append(per_statement.get(statement, 0))
        mine = figures.get(statement, {})
        for name in FIGURE_COLUMNS:
            columns[name].append(mine.get(name))


def release_arrow_memory() -> None:
    """Return the memory Arrow has freed to the operating system.

    pyarrow's allocator (mimalloc or jemalloc) keeps freed pages for reuse. Each batch builds its tables
    and rewrites whole month partitions of the lake (read, merge, sort, write), so without this the loader
    holds 100-200 MB more than it uses, in a different shape every batch. It costs a few milliseconds
    per batch (a batch takes about a second)."""
    pa.default_memory_pool().release_unused()


class _BatchBuilder:
    """Columns of one batch's tables, filled filing by filing (plain lists; Arrow at the end)."""

    def __init__(self, run_id: str):
        self.run_id = run_id
        self.filings: dict[str, list] = {name: [] for name in FILINGS.names}
        self.statements: dict[str, list] = {name: [] for name in FILING_STATEMENTS.names}
        self.values: dict[str, list] = {name: [] for name in LAKE_VALUES.names}
        self.rejected: dict[str, list] = {name: [] for name in REJECTED_FILINGS.names}
        self.count = 0

    def add_filing(self, parsed: ParsedFiling, sha: str, source: str, raw_path: str, size: int, now) -> None:
        h = parsed.header
        filing_id = sha[:16]
        row = {
            "filing_id": filing_id, "firm": h.firm, "end_date": h.end_date, "submit_date": h.submit_date,
            "status": h.status, "form": h.form, "source_path": source, "sha256": sha, "loaded_at": now,
            "raw_path": raw_path, "size_bytes": size, "statements": ",".join(parsed.statements),
            "n_values": len(parsed.values),
            "unknown_codes": ",".join(parsed.unknown_codes) or None,
            "notes": "; ".join(parsed.notes) or None, "run_id": self.run_id,
        }
        for key, value in row.items():
            self.filings[key].append(value)
        append_statement_rows(self.statements, row, parsed.statements, parsed.values)
        n = len(parsed.values)
        if n:
            v = self.values
            v["filing_id"].extend([filing_id] * n)
            v["firm"].extend([h.firm] * n)
            v["end_date"].extend([h.end_date] * n)
            v["submit_date"].extend([h.submit_date] * n)
            v["status"].extend([h.status] * n)
            v["sha256"].extend([sha] * n)
            statements, codes, values, lines, labels = zip(*parsed.values)
            v["statement"].extend(statements)
            v["code"].extend(codes)
            v["value"].extend(values)
            v["line"].extend(lines)
            v["label"].extend(labels)
        self.count += 1

    def add_rejection(self, row: dict) -> None:
        for key in REJECTED_FILINGS.names:
            self.rejected[key].append(row.get(key))

    def build(self) -> LoadBatch:
        return LoadBatch(
            run_id=self.run_id,
            filings=pa.table(self.filings, schema=FILINGS),
            statements=pa.table(self.statements, schema=FILING_STATEMENTS),
            values=pa.table(self.values, schema=LAKE_VALUES),
            rejected=pa.table(self.rejected, schema=REJECTED_FILINGS),
        )

    def __bool__(self) -> bool:
        return self.count > 0 or bool(self.rejected["source_path"])


class Ingestor:
    """One ingest run against one warehouse and lake."""

    def __init__(self, settings: Settings, warehouse: Warehouse, progress: Progress | None = None,
                 on_message: Callable[[str], None] | None = None, workers: int | None = None):
        self.settings = settings
        self.workers = workers
        self.warehouse = warehouse
        self.progress = progress
        self.on_message = on_message or (lambda message: None)
        self.run_id = new_run_id()
        self.summary = IngestSummary(run_id=self.run_id, warehouse=warehouse.describe(), lake=str(settings.lake))

    # -- the run ---------------------------------------------------------------------------------------
    def run(self, paths: list[str | Path]) -> IngestSummary:
        started = time.perf_counter()
        files, refused = discover(paths)
        self.summary.files_seen = len(files) + len(refused)
        self.warehouse.start_run(self.run_id, utc_now(), " ".join(str(p) for p in paths)[:2000])
        self._finish_pending_lake_writes()
        loaded_hashes = self.warehouse.loaded_hashes()
        if not loaded_hashes and lake.months(self.settings.lake):  # e.g. a damaged warehouse file deleted
            self.on_message("this warehouse holds no filings but its lake does: `dailyseg rebuild` loads them "
                            "all from the lake; this run loads only the files it was given")
        rejected_keys = self.warehouse.rejected_keys()
        builder = _BatchBuilder(self.run_id)
        for path, why in refused:
            self._reject(builder, Prepared(path, reason_code="symlink_outside", reason=why), rejected_keys)
        done = 0
        self.warehouse.dispose()  # no open database connection (or its threads) while workers fork
        self.warehouse.limit_memory()  # DuckDB: cap its block cache
        preparer = Preparer(self.settings.lake, self.settings.max_file_bytes, loaded_hashes, self.workers)
        with raw_archive.RawWriting(self.settings.lake), preparer:
            for prepared_batch in preparer.batches(files, self.settings.batch_size):
                for prepared in prepared_batch:
                    self._take(prepared, builder, loaded_hashes, rejected_keys)
                done += len(prepared_batch)
                self._flush(builder)
                builder = _BatchBuilder(self.run_id)
                release_arrow_memory()
                if self.progress is not None:
                    self.progress(done, len(files))
        if builder:
            self._flush(builder)
        self.summary.seconds = time.perf_counter() - started
        self.warehouse.finish_run(
            self.run_id, finished_at=utc_now(), status="completed", files_seen=self.summary.files_seen,
            loaded=self.summary.loaded, duplicates=self.summary.duplicates,
            rejected=self.summary.rejected_count, value_rows=self.summary.value_rows,
            seconds=round(self.summary.seconds, 3))
        return self.summary

    def _take(self, prepared: Prepared, builder: _BatchBuilder, loaded_hashes: set[str],
              rejected_keys: set) -> None:
        if prepared.duplicate or (prepared.parsed is not None and prepared.sha in loaded_hashes):
            self.summary.duplicates += 1  # loaded before, or earlier in this run under another name
            return
        if prepared.rejected:
            self._reject(builder, prepared, rejected_keys)
            return
        parsed = prepared.parsed
        builder.add_filing(parsed, prepared.sha, str(prepared.path.absolute()), prepared.raw_path, prepared.size,
                           utc_now())
        loaded_hashes.add(prepared.sha)
        self.summary.unknown_codes.update(parsed.unknown_codes)
        self.summary.filings_with_notes += bool(parsed.notes)

    def _reject(self, builder: _BatchBuilder, prepared: Prepared, rejected_keys: set) -> None:
        source = str(prepared.path.absolute())
        sha = prepared.sha
        known = (source, sha) in rejected_keys
        quarantined = None
        if not known:
            reason = {"source_path": source, "sha256": sha, "reason_code": prepared.reason_code,
                      "reason": prepared.reason, "line_no": prepared.line_no, "run_id": self.run_id,
                      "rejected_at": utc_now().isoformat(timespec="seconds")}
            if prepared.detail:
                reason["detail"] = prepared.detail
            try:
                quarantined = str(raw_archive.quarantine(self.settings.lake, prepared.path, sha, prepared.data,
                                                         reason))
            except OSError as exc:
                raise IngestError(f"cannot write to the quarantine under {self.settings.lake}: {exc}") from None
            builder.add_rejection({
                "source_path": source, "sha256": sha, "reason": prepared.reason, "line_no": prepared.line_no,
                "rejected_at": utc_now(), "reason_code": prepared.reason_code, "quarantine_path": quarantined,
                "size_bytes": prepared.size, "run_id": self.run_id,
            })
            rejected_keys.add((source, sha))
        self.summary.rejected.append(Rejection(source, prepared.reason_code, prepared.reason, prepared.line_no,
                                               quarantined, already_known=known))

    def _flush(self, builder: _BatchBuilder) -> None:
        batch = builder.build()
        if not builder:
            return
        if builder.count:
            raw_archive.flush_to_disk()  # the raw files this batch refers to are on disk before it commits
        inserted = self.warehouse.write_batch(batch)
        if inserted:
            values = batch.values
            filings = batch.filings
            if len(inserted) != filings.num_rows:  # another loader committed some of them first
                keep = pa.array(sorted(inserted))
                values = values.filter(pc.is_in(values["filing_id"], value_set=keep))
                filings = filings.filter(pc.is_in(filings["filing_id"], value_set=keep))
            self.summary.lake_partitions += lake.write_partitions(self.settings.lake, values, filings)
            self.warehouse.clear_lake_pending(inserted)
            self.summary.loaded += len(inserted)
            self.summary.value_rows += values.num_rows
            self.summary.loaded_end_dates.update(filings["end_date"].to_pylist())
        self.summary.duplicates += builder.count - len(inserted)

    def _finish_pending_lake_writes(self) -> None:
        """Write the lake partitions of filings a crashed run committed but did not publish."""
        pending = self.warehouse.lake_pending()
        if not pending:
            return
        ids = sorted({filing_id for filing_id, _ in pending})
        self.on_message(f"finishing the lake partitions of {len(ids)} filings from an interrupted run")
        values = self.warehouse.values_of_filings(ids)
        filings = self.warehouse.filings_of(ids)
        values_table = pa.Table.from_pandas(values, preserve_index=False).cast(LAKE_VALUES) \
            if len(values) else LAKE_VALUES.empty_table()
        filings_table = pa.Table.from_pandas(filings[list(FILINGS.names)], preserve_index=False) \
            .cast(FILINGS) if len(filings) else FILINGS.empty_table()
        lake.write_partitions(self.settings.lake, values_table, filings_table)
        self.warehouse.clear_lake_pending(ids)
        self.summary.recovered_filings = len(ids)


def require_paths(paths: list[str | Path], error: type[Exception], what: str) -> None:
    """Raise ``error`` unless ``paths`` names at least one ``what`` and each of them exists."""
    if not paths:
        raise error(f"give at least one {what}")
    for raw in paths:
        if not Path(raw).exists():
            raise error(f"no such file or folder: {raw}")


def ingest(paths: list[str | Path], settings: Settings, progress: Progress | None = None,
           wait: float = 60.0, on_message: Callable[[str], None] | None = None) -> IngestSummary:
    """Ingest files and folders; see the module docstring. Raises only ``IngestError``."""
    require_paths(paths, IngestError, "file or folder to ingest")
    with one_line_errors(IngestError, "the run", "cannot write the lake or archive"), \
            opened_for_writing(settings.warehouse_url, wait, on_message) as warehouse:
        return Ingestor(settings, warehouse, progress, on_message).run(paths)
