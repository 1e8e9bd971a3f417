"""The per-file work of an ingest: read, hash, parse and archive one file, in worker processes.

``prepare(path)`` turns a path into a ``Prepared`` record: the file's hash, size and modification
time, its parsed filing (archived in the raw zone) or the reason it is rejected. It never
raises for anything a file can contain. ``prepare_group(paths)`` prepares a few files and builds their
rows for the load tables as Arrow (``etl.ingest.rows``), so the values cross to the loader as a few
buffers, not as one Python object each. ``Preparer`` runs groups over a list of paths on every core, in
order, a batch at a time (so memory stays flat however many files there are), with the next batch
already parsing while the caller writes the previous one.

Only the parser, the raw archive and Arrow are used here (no pandas, no database driver): workers are
forked from the loader and touch nothing else.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import os
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pyarrow as pa

from etl import UserError
from etl.lake import raw as raw_archive
from etl.processes import fork_pool, mark
from etl.ingest.parser import ParsedFiling, RejectedFiling, parse_filing
from etl.ingest.pdf import PdfLimits, close_readers
from etl.ingest.rows import FilingRows, RowSpan

# Below this many files a pool costs more than it saves.
PARALLEL_THRESHOLD = 64


@dataclass
class Prepared:
    path: Path
    sha: str | None = None
    size: int | None = None
    mtime_ns: int | None = None  # the file's modification time when it was read (for the manifest)
    parsed: ParsedFiling | None = None
    raw_path: str | None = None
    reason_code: str | None = None  # set when rejected
    reason: str | None = None
    line_no: int | None = None
    data: bytes | None = None  # a rejected file's bytes, for the quarantine
    detail: str | None = None
    span: RowSpan | None = None  # where its rows sit in its group's tables (``prepare_group``)

    @property
    def rejected(self) -> bool:
        return self.reason_code is not None


def read_capped(path: Path, max_bytes: int) -> tuple[bytes, int]:
    """The file's bytes, or only ``max_bytes + 1`` of them when it is larger (it is rejected then), and
    its modification time as it was opened.

    The buffer is sized from the file's own size, not from the cap, so reading thousands of small
    files does not allocate megabytes each time.
    """
    with open(path, "rb", buffering=0) as handle:
        st = os.fstat(handle.fileno())
        data = handle.read(min(st.st_size, max_bytes) + 1) if st.st_size else handle.read(max_bytes + 1)
        return data, st.st_mtime_ns


def hash_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def prepare(path: Path, lake: Path, max_bytes: int, pdf_limits: PdfLimits | None = None) -> Prepared:
    """Everything about one file that does not need the warehouse (whether its bytes are loaded already
    is the loader's question, asked a batch at a time)."""
    try:
        data, mtime = read_capped(path, max_bytes)
    except OSError as exc:
        return Prepared(path, reason_code="unreadable", reason=f"cannot read the file: {exc.strerror or exc}")
    if len(data) > max_bytes:
        try:
            sha, size = hash_file(path)
        except OSError as exc:
            return Prepared(path, reason_code="unreadable", reason=f"cannot read the file: {exc.strerror or exc}")
        return Prepared(path, sha=sha, size=size, mtime_ns=mtime, reason_code="too_large",
                        reason=f"the file is {size:,} bytes, over the {max_bytes:,}-byte limit (DAILYSEG_MAX_FILE_MB)")
    sha = hashlib.sha256(data).hexdigest()
    try:
        parsed = parse_filing(data, str(path), max_bytes=max_bytes, pdf_limits=pdf_limits)
    except RejectedFiling as rejection:
        return Prepared(path, sha=sha, size=len(data), mtime_ns=mtime, reason_code=rejection.reason,
                        reason=rejection.message,
                        line_no=rejection.line_no, data=data)
    except Exception as exc:  # a parser defect must not stop the run or lose the file
        return Prepared(path, sha=sha, size=len(data), mtime_ns=mtime, reason_code="parser_error",
                        reason=f"the parser failed on this file ({type(exc).__name__}: {exc}); "
                               "it is kept in the quarantine for a fix",
                        data=data, detail=traceback.format_exc(limit=8))
    raw = raw_archive.archive_raw(lake, sha, data, path.suffix, parsed.source_format)
    return Prepared(path, sha=sha, size=len(data), mtime_ns=mtime, parsed=parsed, raw_path=str(raw))


@dataclass
class PreparedGroup:
    """A few prepared files, and the load-table rows of those that parsed, in the same order. Their
    ``parsed.values`` are empty: the values are in ``values``, at each file's ``span``."""
    items: list[Prepared]
    values: pa.Table
    statements: pa.Table


def prepare_group(paths: list, lake: Path, max_bytes: int, pdf_limits: PdfLimits | None = None) -> PreparedGroup:
    rows = FilingRows()
    items = []
    for path in paths:
        prepared = prepare(Path(path), lake, max_bytes, pdf_limits)
        if prepared.parsed is not None:
            prepared.span = rows.add(prepared.parsed, prepared.sha)
            prepared.parsed = dataclasses.replace(prepared.parsed, values=[])
        items.append(prepared)
    values, statements = rows.tables()
    return PreparedGroup(items, values, statements)


# -- running it on every core -----------------------------------------------------------------------------
_worker_args: tuple = ()


def _init_worker(lake: Path, max_bytes: int, pdf_limits: PdfLimits | None) -> None:
    global _worker_args
    _worker_args = (lake, max_bytes, pdf_limits)
    from multiprocessing.util import Finalize
    Finalize(None, close_readers, exitpriority=10)  # a worker's PDF reader ends (and is reaped) with it


def _prepare_group_in_worker(paths: list) -> PreparedGroup:
    return prepare_group(paths, *_worker_args)


def _chunks(items: list | pa.Array, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        chunk = items[start:start + size]
        yield chunk.to_pylist() if isinstance(chunk, pa.Array) else chunk


class WorkerLost(UserError, RuntimeError):
    """A worker process died mid-run; the message says what to do."""


class Preparer:
    """Prepare many files in order, in worker processes when there are enough of them."""

    def __init__(self, lake: Path, max_bytes: int, workers: int | None = None, pdf_limits: PdfLimits | None = None):
        self.lake = lake
        self.max_bytes = max_bytes
        self.pdf_limits = pdf_limits
        self.workers = workers if workers is not None else (os.cpu_count() or 1)
        self._pool = None

    def __enter__(self) -> Preparer:
        return self

    def __exit__(self, *exc) -> None:
        close_readers()  # the PDF reader this process started (workers' own end with them)
        if self._pool is None:
            return
        gc.unfreeze()  # frozen while the workers lived (``_start_pool``)
        if exc[0] is None:
            self._pool.shutdown(wait=True)
        else:  # stopping on an error: the workers' remaining work is not wanted, and one may be dead
            for process in list((getattr(self._pool, "_processes", None) or {}).values()):
                process.kill()  # a dead worker can leave the others blocked on a queue lock it held
            # A worker killed while sending a result leaves half a message in the result pipe, and the
            # pool's manager thread waits in recv() for the rest, forever, since this process holds the
            # pipe's write end too; the interpreter then hangs at exit joining that thread. Closing our
            # write end turns the wait into an EOF, which the manager treats as a broken pool.
            writer = getattr(getattr(self._pool, "_result_queue", None), "_writer", None)
            if writer is not None:
                writer.close()
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = None

    def _collect(self, futures) -> list[PreparedGroup]:
        """The futures' results in order. Waits in short steps and checks the workers meanwhile: the
        pool itself notices a dead worker, except when it died halfway through sending a result, and
        then would wait for the rest of that message forever."""
        from concurrent.futures import TimeoutError as FutureTimeout
        from concurrent.futures.process import BrokenProcessPool
        out: list[PreparedGroup] = []
        for future in futures:
            while True:
                try:
                    out.append(future.result(timeout=1.0))
                    break
                except FutureTimeout:
                    processes = (getattr(self._pool, "_processes", None) or {}).values()
                    if any(p.exitcode is not None for p in list(processes)):
                        raise BrokenProcessPool("a worker process exited") from None
        return out

    def _start_pool(self):
        # An executor rather than multiprocessing.Pool: if a worker dies (killed, out of memory), the run
        # stops with an error instead of waiting forever for the lost files; a re-run resumes. Workers only
        # parse and write files; they never touch the parent's database connections or threads.
        pool = fork_pool(self.workers, initializer=_init_worker, initargs=(self.lake, self.max_bytes, self.pdf_limits))
        # The loader's objects stay out of its own collector's sight while the workers live (``__exit__``
        # lets them back): a collection writes to every object it visits, and a page the loader writes
        # stops being shared with the workers, which then count it whole. (The workers fork at the
        # first task, after this.)
        gc.freeze()
        return pool

    def batches(self, paths: list[str] | list[Path] | pa.Array, batch_size: int) -> Iterator[list[PreparedGroup]]:
        """Prepared files, ``batch_size`` at a time and in the order given (paths as ``str`` or ``Path``, or
        an Arrow array of strings), each batch as the groups it was prepared in."""
        if self.workers <= 1 or len(paths) < PARALLEL_THRESHOLD:
            for chunk in _chunks(paths, batch_size):
                yield [prepare_group(chunk, self.lake, self.max_bytes, self.pdf_limits)]
            return
        self._pool = self._start_pool()
        mark("ingest:pool-started")
        chunksize = max(1, min(32, batch_size // (4 * self.workers)))
        from concurrent.futures.process import BrokenProcessPool
        pending = None
        try:
            for chunk in _chunks(paths, batch_size):
                started = [self._pool.submit(_prepare_group_in_worker, part)  # parses while the caller writes
                           for part in _chunks(chunk, chunksize)]
                if pending is not None:
                    yield self._collect(pending)
                pending = started
            if pending is not None:
                yield self._collect(pending)
        except BrokenProcessPool:
            raise WorkerLost("a parsing worker stopped abruptly (killed, or out of memory); everything loaded "
                             "so far is kept: run the same command again to finish") from None
