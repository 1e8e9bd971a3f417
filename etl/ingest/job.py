"""An ingest job, as the CLI and the DAG start it: the warehouse's writer lock, a damaged warehouse
repaired from the lake, the run, and every error as one line (``IngestError``).

``ingest(paths, settings)`` takes the embedded warehouse's writer lock (queueing behind another writer
for up to ``wait`` seconds), and if the DuckDB file cannot be opened because it is damaged (the torn
checkpoint of docs/reliability.md), sets it aside and rebuilds the warehouse from the lake first: the
summary's ``repair`` says so. Then it runs an ``etl.ingest.run.Ingestor`` over the paths.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from etl.ingest.run import IngestError, Ingestor, IngestSummary, Progress
from etl.lake.rebuild import RebuildError, repair_if_damaged
from etl.locks import LockBusy
from etl.settings import Settings
from etl.warehouse import DATABASE_ERRORS, WarehouseError, exclusive_writer, first_line, open_warehouse


def ingest(paths: list[str | Path], settings: Settings, progress: Progress | None = None,
           wait: float = 60.0, on_message: Callable[[str], None] | None = None, rescan: bool = False) -> IngestSummary:
    """Ingest the files under ``paths`` that are new or changed since they were last read, or all of them
    with ``rescan`` (see ``etl.ingest.run``). Raises only ``IngestError``."""
    if not paths:
        raise IngestError("give at least one file or folder to ingest")
    for raw in paths:
        if not Path(raw).exists():
            raise IngestError(f"no such file or folder: {raw}")
    try:
        with exclusive_writer(settings.warehouse_url, wait, on_message):
            repair = repair_if_damaged(settings, on_message)
            warehouse = open_warehouse(settings.warehouse_url)
            try:
                summary = Ingestor(settings, warehouse, progress, on_message).run(paths, rescan=rescan)
            finally:
                warehouse.dispose()
            summary.repair = repair
            return summary
    except (LockBusy, WarehouseError, RebuildError) as exc:
        raise IngestError(str(exc)) from None
    except DATABASE_ERRORS as exc:
        raise IngestError(f"the warehouse failed during the run: {first_line(exc)}") from None
    except OSError as exc:
        raise IngestError(f"cannot write the lake or archive: {exc}") from None
