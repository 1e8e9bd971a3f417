"""Rebuild: the warehouse's load tables rebuilt from the lake, for a warehouse that is damaged or lost.

Everything the loader commits to the warehouse is in the lake too, so the load tables can be rebuilt
from the lake alone (``dailyseg rebuild``):

- ``filings`` and ``seg_values`` from the lake's Parquet, a month at a time; ``filing_statements`` is
  derived from them the way the loader derives it;
- ``rejected_filings`` from the quarantine: one row per quarantined file, from the reason kept beside
  it (when the same bytes were rejected under several names, the last name);
- the CFTC's monthly files (``cftc_fcm_monthly``, ``cftc_files``, ``cftc_as_of_days``) from the lake's
  ``cftc/`` partitions;
- filings a crashed run committed to the warehouse but had not yet written to the lake: their files
  are in the raw zone (written before the commit), and the normal ingest loads them from there (their
  ``source_path`` is then their place in the raw zone). A month of the lake that cannot be read is set
  aside (``lake.set_month_aside``) and its filings come from the raw zone the same way.

Not in the lake, so not rebuilt: the ingest history (the rebuild records a run of its own), the
data-quality results (``dailyseg validate`` recomputes them) and the alert history (the next alerting
validation announces every open finding as new).

An embedded DuckDB file that cannot be opened or read back is renamed aside, with its WAL, as
``<name>.damaged-<time>`` and never deleted. A warehouse that opens and already holds filings is left
alone, unless ``replace`` (DuckDB only: the file is renamed aside as ``<name>.replaced-<time>``) or
all it holds is from a rebuild that was interrupted, which running it again finishes.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

from etl import UserError
from etl.clock import file_stamp, new_run_id, utc_now
from etl.lake import partitions as lake
from etl.form.catalog import load_catalog
from etl.ingest.rows import append_statement_rows
from etl.ingest.run import Ingestor, Progress
from etl.lake.raw import safe_file_name
from etl.locks import LockBusy
from etl.processes import mark
from etl.settings import Settings, normalize_warehouse_url
from etl.warehouse import (LoadBatch, Warehouse, WarehouseError, database_errors, exclusive_job, first_line,
                           one_line_errors, open_warehouse)
from etl.warehouse.tables import FILING_KEY, FILING_STATEMENTS, FILINGS, LAKE_VALUES, REJECTED_FILINGS

#: how a rebuild names its source in ``ingest_runs``
SOURCES = "rebuild from the lake"
#: the tables whose every block is read back to decide whether a DuckDB file is damaged
LOAD_TABLES = ("filings", "filing_statements", "seg_values", "rejected_filings")


class RebuildError(UserError, RuntimeError):
    """The rebuild could not proceed; one line for the user."""


@dataclass
class RebuildSummary:
    run_id: str
    warehouse: str
    lake: str
    months: int = 0
    filings: int = 0
    value_rows: int = 0
    rejected: int = 0
    cftc_months: int = 0  # month-ends of the CFTC's monthly file restored
    raw_loaded: int = 0
    unreadable_months: list[str] = field(default_factory=list)  # lake partitions set aside, loaded from raw
    damage: str | None = None  # why the DuckDB file was set aside (DuckDB's words), if it was damaged
    kept: list[str] = field(default_factory=list)  # where the old file (and its WAL) now are
    seconds: float = 0.0

    def describe(self, show_path: Callable[[str], str] = str) -> str:
        """One paragraph on a rebuild that repaired a damaged warehouse before a load."""
        kept = ", ".join(show_path(p) for p in self.kept) or "nothing"
        return (f"The warehouse file was damaged ({self.damage}): it was set aside as {kept} and the warehouse "
                f"rebuilt from the lake ({self.filings:,} filings, {self.raw_loaded:,} more from the raw zone, "
                f"{self.seconds:.1f} s) before this load. Ingest, validation and alert history start afresh: run "
                "dailyseg validate.")


class _Value(NamedTuple):
    statement: str
    code: str
    value: int | None



def read_back_error(path: Path) -> str | None:
    """None if the DuckDB file at ``path`` opens and every block of its load tables reads back (DuckDB
    checks each block's checksum as it reads it); otherwise DuckDB's error, first line."""
    import duckdb
    if not path.exists():
        return None
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        return first_line(exc)
    try:
        present = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        for table in LOAD_TABLES:
            if table in present:  # hashing every column makes DuckDB read every block of the table
                con.execute(f"SELECT count(*), sum(hash(COLUMNS(*))) FROM {table}").fetchall()
    except duckdb.Error as exc:
        return first_line(exc)
    finally:
        con.close()
    return None


def set_aside(path: Path, why: str) -> list[str]:
    """Rename a DuckDB file and its WAL to ``<name>.<why>-<time>`` (``.wal``); return the new paths."""
    stamp = file_stamp()
    kept = []
    target = path.with_name(f"{path.name}.{why}-{stamp}")
    for old, new in ((path, target), (path.with_name(path.name + ".wal"), target.with_name(target.name + ".wal"))):
        if old.exists():
            old.rename(new)
            kept.append(str(new))
    return kept


def _statements_table(filings: pa.Table, values: pa.Table) -> pa.Table:
    """The ``filing_statements`` rows of these filings, as the loader builds them. Values are counted by
    Arrow and only those that carry a headline figure reach Python (a month has about 180,000 values
    and 6 figures per statement)."""
    counts = values.group_by(["filing_id", "statement"]).aggregate([([], "count_all")])
    per_filing: dict[str, dict[str, int]] = defaultdict(dict)
    for filing_id, statement, n in zip(*(counts[name].to_pylist() for name in ("filing_id", "statement", "count_all"))):
        per_filing[filing_id][statement] = n
    figure_values = values.filter(pc.is_in(values["code"], value_set=pa.array(list(load_catalog().figure_of))))
    of_filing: dict[str, list[_Value]] = defaultdict(list)
    for filing_id, statement, code, value in zip(*(figure_values[name].to_pylist()
                                                   for name in ("filing_id", "statement", "code", "value"))):
        of_filing[filing_id].append(_Value(statement, code, value))
    columns: dict[str, list] = {name: [] for name in FILING_STATEMENTS.names}
    keys = [*FILING_KEY, "statements"]
    for filing in filings.select(keys).to_pylist():
        statements = [s for s in (filing["statements"] or "").split(",") if s]
        append_statement_rows(columns, filing, statements, of_filing.get(filing["filing_id"], []),
                              per_filing.get(filing["filing_id"], {}))
    return pa.table(columns, schema=FILING_STATEMENTS)


def _in_this_lake(filings: pa.Table, lake_root: Path) -> pa.Table:
    """``filings`` with ``raw_path`` pointing into the raw zone of ``lake_root``: a lake restored from a
    backup, or moved, is rebuilt from where it is now."""
    paths = [str(lake_root / "raw" / sha[:2] / Path(old).name)
             for sha, old in zip(filings["sha256"].to_pylist(), filings["raw_path"].to_pylist())]
    return filings.set_column(filings.schema.get_field_index("raw_path"), "raw_path", pa.array(paths, pa.string()))


def quarantined_rejections(lake_root: Path, run_id: str) -> pa.Table:
    """``rejected_filings`` rows for every file in the quarantine, from the reason kept beside it."""
    rows: dict[str, list] = {name: [] for name in REJECTED_FILINGS.names}
    for reason_file in sorted((lake_root / "quarantine").glob("*/reason.json")):
        try:
            reason = json.loads(reason_file.read_text())
            source = str(reason["source_path"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a reason file the rebuild cannot read says nothing it could load
        kept = reason_file.parent / safe_file_name(Path(source).name)
        try:
            rejected_at = datetime.fromisoformat(str(reason.get("rejected_at")))
        except ValueError:
            rejected_at = utc_now()
        row = {"source_path": source, "sha256": reason.get("sha256"), "reason": reason.get("reason") or "",
               "line_no": reason.get("line_no"), "rejected_at": rejected_at,
               "reason_code": reason.get("reason_code") or "unknown", "quarantine_path": str(kept),
               "size_bytes": kept.stat().st_size if kept.exists() else None,
               "run_id": reason.get("run_id") or run_id}
        for name in REJECTED_FILINGS.names:
            rows[name].append(row[name])
    return pa.table(rows, schema=REJECTED_FILINGS)


def _raw_files_not_loaded(lake_root: Path, loaded: set[str]) -> list[str]:
    """Files of the raw zone (named by their sha256) whose filing the warehouse does not hold."""
    files = []
    for path in sorted((lake_root / "raw").glob("*/*")):
        if path.is_file() and not path.name.startswith(".") and path.name.split(".")[0] not in loaded:
            files.append(str(path))
    return files


class Rebuilder:
    """One rebuild into one (empty) warehouse."""

    def __init__(self, settings: Settings, warehouse: Warehouse, summary: RebuildSummary,
                 progress: Progress | None = None, on_message: Callable[[str], None] | None = None):
        self.settings = settings
        self.warehouse = warehouse
        self.summary = summary
        self.progress = progress
        self.on_message = on_message

    def _load_month(self, year: int, month: int) -> None:
        """One month of the lake into the warehouse, in one transaction; a month that cannot be read is
        set aside (the raw zone still holds its files, which ``run`` loads at the end)."""
        lake_root = self.settings.lake
        try:
            filings, values = lake.read_month(lake_root, year, month)
            filings = _in_this_lake(filings, lake_root)
        except (pa.ArrowException, OSError) as exc:
            kept = lake.set_month_aside(lake_root, year, month)
            self.summary.unreadable_months.append(f"{year}-{month:02d}")
            if self.on_message:
                self.on_message(f"the lake's partition for {year}-{month:02d} cannot be read ({first_line(exc)}); "
                                f"set aside as {', '.join(kept)}; its filings are loaded from the raw zone")
            return
        batch = LoadBatch(run_id=self.summary.run_id, filings=filings, statements=_statements_table(filings, values),
                          values=values, rejected=REJECTED_FILINGS.empty_table())
        inserted = self.warehouse.write_batch(batch)
        self.warehouse.clear_lake_pending(inserted)  # the lake already holds them
        self.summary.filings += filings.num_rows
        self.summary.value_rows += values.num_rows

    def run(self) -> None:
        started = time.perf_counter()
        lake_root = self.settings.lake
        run_id = self.summary.run_id
        self.warehouse.start_run(run_id, utc_now(), f"{SOURCES} {lake_root}")
        self.warehouse.limit_memory()  # DuckDB: cap its block cache, as a load does
        months = lake.months(lake_root)
        for done, (year, month) in enumerate(months, 1):
            self._load_month(year, month)
            mark(f"rebuild:month-loaded {year}-{month:02d}")
            self.summary.months = done
            if self.progress is not None:
                self.progress(done, len(months))
        rejected = quarantined_rejections(lake_root, run_id)
        if rejected.num_rows:
            self.warehouse.write_batch(LoadBatch(run_id, FILINGS.empty_table(),
                                                 FILING_STATEMENTS.empty_table(), LAKE_VALUES.empty_table(),
                                                 rejected))
        self.summary.rejected = rejected.num_rows
        from etl.cftc.load import restore_from_lake
        self.summary.cftc_months = restore_from_lake(self.warehouse, lake_root)
        self.warehouse.finish_run(run_id, finished_at=utc_now(), status="completed",
                                  files_seen=self.summary.filings + self.summary.rejected,
                                  loaded=self.summary.filings, duplicates=0, rejected=self.summary.rejected,
                                  value_rows=self.summary.value_rows,
                                  seconds=round(time.perf_counter() - started, 3))
        leftovers = _raw_files_not_loaded(lake_root, self.warehouse.loaded_hashes())
        if leftovers:
            if self.on_message:
                self.on_message(f"loading {len(leftovers)} files of the raw zone that the lake does not hold "
                                "(from a run that stopped before writing the lake, or a month set aside)")
            loaded = Ingestor(self.settings, self.warehouse, None, self.on_message).run(leftovers)
            self.summary.raw_loaded = loaded.loaded
            self.summary.value_rows += loaded.value_rows
        self.summary.seconds = time.perf_counter() - started


def _filings_held(warehouse: Warehouse) -> int:
    with warehouse.connect() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM filings").scalar() or 0)


def _unfinished_rebuild(warehouse: Warehouse) -> bool:
    """Whether everything this warehouse holds came from rebuilds, one of them stopped before its end: a
    rebuild writes month by month, each month replacing its filings whole, so running it again finishes
    the job."""
    with warehouse.connect() as conn:
        runs = conn.exec_driver_sql("SELECT sources, status FROM ingest_runs").fetchall()
    return bool(runs) and all((sources or "").startswith(SOURCES) for sources, _ in runs) \
        and any(status != "completed" for _, status in runs)


def rebuild(settings: Settings, replace: bool = False, progress: Progress | None = None, wait: float = 60.0,
            on_message: Callable[[str], None] | None = None) -> RebuildSummary:
    """Rebuild the warehouse's load tables from the lake; see the module docstring. Raises only
    ``RebuildError``."""
    try:
        with exclusive_job(settings.warehouse_url, "rebuild", wait, on_message):
            return rebuild_held(settings, replace, progress, on_message)
    except LockBusy as exc:
        raise RebuildError(str(exc)) from None


def rebuild_held(settings: Settings, replace: bool = False, progress: Progress | None = None,
                 on_message: Callable[[str], None] | None = None) -> RebuildSummary:
    """``rebuild`` for a caller that already holds the warehouse's writer lock (the ingest repairing a
    damaged warehouse before it loads). Raises only ``RebuildError``."""
    url = normalize_warehouse_url(settings.warehouse_url)
    lake_root = settings.lake
    if not any((lake_root / part).is_dir() for part in ("filings", "raw", "quarantine", "cftc")):
        raise RebuildError(f"the lake {lake_root} holds no filings to rebuild from (set DAILYSEG_LAKE to "
                           "the lake the warehouse was loaded with)")
    summary = RebuildSummary(run_id=new_run_id(), warehouse="", lake=str(lake_root))
    with one_line_errors(RebuildError, "the rebuild", "cannot read the lake or rename the warehouse file"):
        path = None
        if url.startswith("duckdb"):
            from etl.warehouse.duckdb_backend import database_path
            path = database_path(url)
        if path is not None:
            summary.damage = read_back_error(path)
            if summary.damage is not None:
                summary.kept = set_aside(path, "damaged")
        warehouse = open_warehouse(url)
        summary.warehouse = warehouse.describe()
        try:
            held = _filings_held(warehouse)
            if held and _unfinished_rebuild(warehouse):
                held = 0  # finish it
            if held and not (replace and path is not None):
                how = ("run `dailyseg rebuild --replace` to set this file aside and rebuild" if path is not None
                       else "rebuild into a new, empty database")
                raise RebuildError(f"the warehouse {summary.warehouse} opens and already holds {held:,} filings; "
                                   f"{how}")
            if held:
                warehouse.dispose()
                summary.kept = set_aside(path, "replaced")
                warehouse = open_warehouse(url)
            Rebuilder(settings, warehouse, summary, progress, on_message).run()
        finally:
            warehouse.dispose()
    return summary


def repair_if_damaged(settings: Settings, on_message: Callable[[str], None] | None = None) -> RebuildSummary | None:
    """For a caller holding the writer lock: if the embedded warehouse file cannot be opened because it is
    damaged (the DuckDB torn-checkpoint case in docs/reliability.md), set it aside and rebuild it from the
    lake; return what the rebuild did, or None when the warehouse opens (or is not an embedded file).
    Anything else that stops the warehouse from opening is left for the caller to report."""
    from etl.warehouse.duckdb_backend import database_path, is_damage
    url = normalize_warehouse_url(settings.warehouse_url)
    path = database_path(url) if url.startswith("duckdb") else None
    if path is None or not path.exists():
        return None
    try:
        open_warehouse(url).dispose()
        return None
    except (WarehouseError, *database_errors()) as exc:
        if not is_damage(str(exc)):
            raise
        if on_message:
            on_message(f"the warehouse file {path} is damaged ({first_line(exc)}): setting it aside and rebuilding "
                       "the warehouse from the lake before loading")
    return rebuild_held(settings, on_message=on_message)
