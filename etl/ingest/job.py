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

from etl.ingest.run import IngestError, Ingestor, IngestSummary, Progress, require_paths
from etl.lake.rebuild import RebuildError, repair_if_damaged
from etl.settings import Settings
from etl.warehouse import exclusive_writer, one_line_errors, open_warehouse


def ingest(paths: list[str | Path], settings: Settings, progress: Progress | None = None,
           wait: float = 60.0, on_message: Callable[[str], None] | None = None, rescan: bool = False) -> IngestSummary:
    """Ingest the files under ``paths`` that are new or changed since they were last read, or all of them
    with ``rescan`` (see ``etl.ingest.run``). Raises only ``IngestError``."""
    require_paths(paths, IngestError, "file or folder to ingest")
    with one_line_errors(IngestError, "the run", "cannot write the lake or archive"), \
            exclusive_writer(settings.warehouse_url, wait, on_message):
        try:
            repair = repair_if_damaged(settings, on_message)
        except RebuildError as exc:
            raise IngestError(str(exc)) from None
        warehouse = open_warehouse(settings.warehouse_url)
        try:
            summary = Ingestor(settings, warehouse, progress, on_message).run(paths, rescan=rescan)
        finally:
            warehouse.dispose()
        summary.repair = repair
        return summary
