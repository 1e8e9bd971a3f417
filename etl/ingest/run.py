"""The ingest run: files and folders of filings into the raw archive, the warehouse and the Parquet lake.

An ``Ingestor`` (started by ``etl.ingest.job.ingest``, which holds the warehouse's lock) finds every
file under the paths, skips bytes already loaded (whatever their name), parses the rest, sets rejected
files aside in the quarantine with their reason, and writes accepted filings in batches: each batch
lands in the warehouse in one transaction, with a marker that its lake partitions are due. Its month
partitions are rewritten in the lake once the month is done (``etl.lake.partitions.MonthBuffer``), and
then the marker is cleared. A crash anywhere leaves either nothing of a batch or markers the next run
finishes, so a re-run always ends where a clean run would. Nothing a user can feed it raises out of a
run: a bad file is a rejection, and only an unusable warehouse or lake stops it (``IngestError``)."""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import pyarrow as pa
import pyarrow.compute as pc

from etl import UserError
from etl.clock import new_run_id, utc_now
from etl.lake import partitions as lake
from etl.lake import raw as raw_archive
from etl.ingest.pdf import PdfLimits
from etl.ingest.rows import RowSpans
from etl.ingest.workers import Prepared, PreparedGroup, Preparer
from etl.processes import Stopped, mark
from etl.settings import Settings
from etl.warehouse import LoadBatch, Warehouse
from etl.warehouse.tables import FILINGS, LAKE_VALUES, LANDED_FILES, REJECTED_FILINGS

Progress = Callable[[int, int], None]



class IngestError(UserError, RuntimeError):
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
    unchanged: int = 0  # files the manifest shows were read before and have not changed since
    repair: Any = None  # what the rebuild of a damaged warehouse did before this run (etl.lake.rebuild)
    formats: Counter = field(default_factory=Counter)  # new filings of this run by layout: text, html, pdf

    @property
    def rejected_count(self) -> int:
        return len(self.rejected)



def discover(paths: Iterable[str | Path]) -> tuple[pa.Table, list[tuple[Path, str]]]:
    """Regular files under ``paths`` (recursively, sorted, hidden entries skipped), as a table of
    ``path`` (absolute), ``size_bytes`` and ``mtime_ns``.

    Returns (found, refused) where ``refused`` lists symlinks pointing outside their folder, which are
    not followed. The paths go into Arrow a few thousand at a time, never all at once as Python
    objects: a backfill finds hundreds of thousands, and as Python strings and tuples they raised the
    loader's resident memory by about 120 MB at 253,000 files (heap that stays resident after it is
    freed, and that the forked workers inherit), for a 21 MB table.
    """
    refused: list[tuple[Path, str]] = []
    batches: list[pa.RecordBatch] = []
    names: list[str] = []
    sizes: list[int] = []
    times: list[int] = []

    def flush() -> None:
        if names:
            batches.append(pa.record_batch([pa.array(names, pa.string()), pa.array(sizes, pa.int64()),
                                            pa.array(times, pa.int64())], schema=FOUND))
            names.clear(), sizes.clear(), times.clear()

    def add(path: str, st: os.stat_result) -> None:
        names.append(path)
        sizes.append(st.st_size)
        times.append(st.st_mtime_ns)
        if len(names) >= 8192:
            flush()

    def walk(folder: str, base: Path) -> None:
        with os.scandir(folder) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if entry.name.startswith("."):
                    continue
                if entry.is_symlink():
                    if not Path(entry.path).resolve().is_relative_to(base):
                        refused.append((Path(entry.path), "a symbolic link to a file outside the folder being "
                                                          "ingested; not followed"))
                        continue
                    if entry.is_file():
                        add(entry.path, entry.stat())
                elif entry.is_dir(follow_symlinks=False):
                    walk(entry.path, base)
                elif entry.is_file(follow_symlinks=False):
                    add(entry.path, entry.stat(follow_symlinks=False))

    given = list(paths)
    roots = [Path(os.path.abspath(raw)) for raw in given]  # absolute once: every path found under it is too
    for raw, root in zip(given, roots):
        if not root.exists() and not root.is_symlink():
            raise IngestError(f"no such file or folder: {raw}")
    folders = [root for root in roots if not root.is_file()]
    walked: set[Path] = set()
    for root in roots:
        # a path given twice, or inside a folder also given, is found once
        if root in walked or any(root != folder and root.is_relative_to(folder) and not any(
                part.startswith(".") for part in root.relative_to(folder).parts) for folder in folders):
            continue
        walked.add(root)
        if root.is_file():
            add(str(root), root.stat())
        else:
            walk(str(root), root.resolve())
    flush()
    return pa.Table.from_batches(batches, schema=FOUND), refused


#: What discovery finds of each file: enough to tell, from the manifest, whether it changed since it was read.
FOUND = pa.schema([("path", pa.string()), ("size_bytes", pa.int64()), ("mtime_ns", pa.int64())])


def release_arrow_memory() -> None:
    """Return the memory Arrow has freed to the operating system.

    pyarrow's allocator (mimalloc or jemalloc) keeps freed pages for reuse. Each batch builds its tables
    and rewrites whole month partitions of the lake (read, merge, sort, write), so without this the loader
    holds 100-200 MB more than it uses, in a different shape every batch. It costs a few milliseconds
    per batch (a batch takes about a second)."""
    pa.default_memory_pool().release_unused()


class _BatchBuilder:
    """One batch's tables: the filings and manifest rows filled file by file (plain lists; Arrow at the
    end), and the values and statement rows the workers built, kept for the filings accepted."""

    def __init__(self, run_id: str):
        self.run_id = run_id
        self.filings: dict[str, list] = {name: [] for name in FILINGS.names}
        self.rows = RowSpans()
        self.rejected: dict[str, list] = {name: [] for name in REJECTED_FILINGS.names}
        self.landed: dict[str, list] = {name: [] for name in LANDED_FILES.names}
        self.count = 0

    def add_filing(self, prepared: Prepared, source: str, now) -> None:
        """A filing's row (its values and statements are kept with ``add_rows``)."""
        parsed = prepared.parsed
        h = parsed.header
        row = {
            "filing_id": prepared.sha[:16], "firm": h.firm, "end_date": h.end_date, "submit_date": h.submit_date,
            "status": h.status, "form": h.form, "source_path": source, "sha256": prepared.sha, "loaded_at": now,
            "raw_path": prepared.raw_path, "size_bytes": prepared.size, "statements": ",".join(parsed.statements),
            "n_values": prepared.span.n_values,
            "unknown_codes": ",".join(parsed.unknown_codes) or None,
            "notes": "; ".join(parsed.notes) or None, "run_id": self.run_id, "source_url": None,
            "source_format": parsed.source_format, "page_count": parsed.page_count,
        }
        for key, value in row.items():
            self.filings[key].append(value)
        self.count += 1

    def add_rows(self, group: PreparedGroup, accepted: list[Prepared]) -> None:
        """Keep the values and statement rows of ``group``'s ``accepted`` filings (in group order)."""
        self.rows.keep(group.values, group.statements, [p.span for p in accepted])

    def add_landed(self, prepared: Prepared, now) -> None:
        """The manifest row of a file this run read whole (not one it could not read: that one is tried
        again next time)."""
        if prepared.sha is None or prepared.mtime_ns is None:
            return
        for key, value in (("path", str(prepared.path.absolute())), ("size_bytes", prepared.size),
                           ("mtime_ns", prepared.mtime_ns), ("sha256", prepared.sha), ("read_at", now)):
            self.landed[key].append(value)

    def add_rejection(self, row: dict) -> None:
        for key in REJECTED_FILINGS.names:
            self.rejected[key].append(row.get(key))

    def build(self) -> LoadBatch:
        values, statements = self.rows.tables()
        return LoadBatch(
            run_id=self.run_id,
            filings=pa.table(self.filings, schema=FILINGS),
            statements=statements,
            values=values,
            rejected=pa.table(self.rejected, schema=REJECTED_FILINGS),
            landed=pa.table(self.landed, schema=LANDED_FILES),
        )

    def __bool__(self) -> bool:
        return self.count > 0 or bool(self.rejected["source_path"]) or bool(self.landed["path"])


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
        self.lake_buffer = lake.MonthBuffer(settings.lake)

    # -- the run ---------------------------------------------------------------------------------------
    def run(self, paths: list[str | Path], rescan: bool = False) -> IngestSummary:
        """Load the files under ``paths`` that are new or changed since they were last read (all of them
        with ``rescan``)."""
        started = time.perf_counter()
        found, refused = discover(paths)
        self.summary.files_seen = found.num_rows + len(refused)
        self.warehouse.start_run(self.run_id, utc_now(), " ".join(str(p) for p in paths)[:2000])
        mark("ingest:started")
        try:
            self._run(found, refused, started, rescan)
        except BaseException as exc:  # recorded for the operator (best effort), then on its way up
            self._record_end("stopped" if isinstance(exc, (Stopped, KeyboardInterrupt)) else "failed")
            raise
        mark("ingest:finished")
        return self.summary

    def _run(self, found: pa.Table, refused: list, started: float, rescan: bool) -> None:
        self._finish_pending_lake_writes()
        if not self.warehouse.holds_filings() and lake.months(self.settings.lake):  # a damaged file deleted?
            self.on_message("this warehouse holds no filings but its lake does: `dailyseg rebuild` loads them "
                            "all from the lake; this run loads only the files it was given")
        unchanged = set() if rescan else self.warehouse.unchanged_files(found)
        # The paths stay in Arrow: as Python strings a backfill's 253,000 took 25 MB more of the loader's
        # heap, for the whole run (and the forked workers' too). Each batch's come out as it is prepared.
        files = found["path"].combine_chunks()
        if unchanged:
            files = files.filter(pc.invert(pc.is_in(files, value_set=pa.array(list(unchanged), pa.string()))))
        del found
        self.summary.unchanged = len(unchanged)
        builder = _BatchBuilder(self.run_id)
        refused_held = self.warehouse.rejections_held([], [str(path.absolute()) for path, _ in refused])
        for path, why in refused:
            self._reject(builder, Prepared(path, reason_code="symlink_outside", reason=why), refused_held)
        done = 0
        self.warehouse.dispose()  # no open database connection (or its threads) while workers fork
        self.warehouse.limit_memory()  # DuckDB: cap its block cache
        preparer = Preparer(self.settings.lake, self.settings.max_file_bytes, self.workers, PdfLimits.of(self.settings))
        with raw_archive.RawWriting(self.settings.lake), preparer:
            for groups in preparer.batches(files, self.settings.batch_size):
                # The same bytes twice in one batch load once; in an earlier batch they are committed, and
                # the warehouse holds them. (A set for the whole run held 37 MB of hashes at 253,000 files.)
                loaded_now: set[str] = set()
                prepared_batch = [prepared for group in groups for prepared in group.items]
                mark(f"ingest:batch-parsed {done + len(prepared_batch)}")
                held = self.warehouse.hashes_held(p.sha for p in prepared_batch if p.parsed is not None)
                rejections = self.warehouse.rejections_held(
                    (p.sha for p in prepared_batch if p.rejected and p.sha),
                    (str(p.path.absolute()) for p in prepared_batch if p.rejected and not p.sha))
                now = utc_now()
                for group in groups:
                    accepted = [prepared for prepared in group.items
                                if self._take(prepared, builder, held, rejections, loaded_now, now)]
                    builder.add_rows(group, accepted)
                for prepared in prepared_batch:
                    builder.add_landed(prepared, now)
                done += len(prepared_batch)
                self._flush(builder, last=done == len(files))
                builder = _BatchBuilder(self.run_id)
                release_arrow_memory()
                if self.progress is not None:
                    self.progress(done, len(files))
        if builder:
            self._flush(builder)
        self._published(*self.lake_buffer.flush())
        self.summary.seconds = time.perf_counter() - started
        self._record_end("completed")

    def _record_end(self, status: str) -> None:
        try:
            self.warehouse.finish_run(
                self.run_id, finished_at=utc_now(), status=status, files_seen=self.summary.files_seen,
                loaded=self.summary.loaded, duplicates=self.summary.duplicates,
                rejected=self.summary.rejected_count, value_rows=self.summary.value_rows,
                seconds=round(self.summary.seconds, 3))
        except Exception:
            if status == "completed":
                raise
            # the warehouse may be what failed; the run's row then says 'running', and the error says why

    def _take(self, prepared: Prepared, builder: _BatchBuilder, held: set[str], rejected_keys: set,
              loaded_now: set[str], now) -> bool:
        """Add one prepared file to the batch: a new filing (True), a duplicate or a rejection (False)."""
        if prepared.parsed is not None and (prepared.sha in held or prepared.sha in loaded_now):
            self.summary.duplicates += 1  # loaded before, or earlier in this run under another name
            return False
        if prepared.rejected:
            self._reject(builder, prepared, rejected_keys)
            return False
        parsed = prepared.parsed
        builder.add_filing(prepared, str(prepared.path.absolute()), now)
        loaded_now.add(prepared.sha)
        self.summary.formats[parsed.source_format] += 1
        self.summary.unknown_codes.update(parsed.unknown_codes)
        self.summary.filings_with_notes += bool(parsed.notes)
        return True

    def _reject(self, builder: _BatchBuilder, prepared: Prepared, rejected_keys: set) -> None:
        source = str(prepared.path.absolute())
        sha = prepared.sha
        known = (source, sha) in rejected_keys
        quarantined = None
        if not known:
            now = utc_now()  # one instant for the reason file and the row: a rebuild reads one back as the other
            reason = {"source_path": source, "sha256": sha, "reason_code": prepared.reason_code,
                      "reason": prepared.reason, "line_no": prepared.line_no, "run_id": self.run_id,
                      "rejected_at": now.isoformat(timespec="seconds")}
            if prepared.detail:
                reason["detail"] = prepared.detail
            try:
                quarantined = str(raw_archive.quarantine(self.settings.lake, prepared.path, sha, prepared.data,
                                                         reason))
            except OSError as exc:
                raise IngestError(f"cannot write to the quarantine under {self.settings.lake}: {exc}") from None
            builder.add_rejection({
                "source_path": source, "sha256": sha, "reason": prepared.reason, "line_no": prepared.line_no,
                "rejected_at": now, "reason_code": prepared.reason_code, "quarantine_path": quarantined,
                "size_bytes": prepared.size, "run_id": self.run_id,
            })
            rejected_keys.add((source, sha))
        self.summary.rejected.append(Rejection(source, prepared.reason_code, prepared.reason, prepared.line_no,
                                               quarantined, already_known=known))

    def _flush(self, builder: _BatchBuilder, last: bool = False) -> None:
        if builder.count:  # the address each file's bytes were fetched from, if they were (dailyseg fetch)
            builder.filings["source_url"] = self.warehouse.source_urls(builder.filings["sha256"])
        batch = builder.build()
        if not builder:
            return
        if builder.count:
            raw_archive.flush_to_disk(self.settings.lake)  # the raw files this batch refers to are on disk before it commits
        inserted = self.warehouse.write_batch(batch)
        mark(f"ingest:batch-committed {self.summary.loaded + len(inserted)}")
        if inserted:
            values = batch.values
            filings = batch.filings
            if len(inserted) != filings.num_rows:  # another loader committed some of them first
                keep = pa.array(sorted(inserted))
                values = values.filter(pc.is_in(values["filing_id"], value_set=keep))
                filings = filings.filter(pc.is_in(filings["filing_id"], value_set=keep))
            self._published(*self.lake_buffer.add(values, filings, last=last))
            self.summary.loaded += len(inserted)
            self.summary.value_rows += values.num_rows
            self.summary.loaded_end_dates.update(filings["end_date"].to_pylist())
        self.summary.duplicates += builder.count - len(inserted)

    def _published(self, filing_ids: list[str], partitions: int) -> None:
        """These filings are in the lake now: their warehouse markers can go."""
        if filing_ids:
            self.warehouse.clear_lake_pending(filing_ids)
            self.summary.lake_partitions += partitions
            mark(f"ingest:lake-written {len(filing_ids)}")

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
