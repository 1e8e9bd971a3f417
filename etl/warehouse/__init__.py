"""The SQL warehouse: open one by URL and get the backend that knows its bulk path.

``open_warehouse("duckdb:///data/warehouse.duckdb")`` (embedded default) or
``open_warehouse("postgresql+psycopg://user@host/db")`` (production). Both expose the same ``Warehouse``
interface and the same tables and views (``sql/``).
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator

from etl.settings import normalize_warehouse_url
from etl.warehouse.base import LoadBatch, Warehouse, WarehouseError, first_line, redact_url

__all__ = ["LoadBatch", "Warehouse", "WarehouseError", "database_errors", "exclusive_job", "exclusive_writer",
           "first_line", "one_line_errors", "open_warehouse", "opened_for_writing", "redact_url"]


def database_errors() -> tuple[type[BaseException], ...]:
    """The exceptions a database can raise mid-run (connection lost, disk full, lock refused...), for an
    ``except`` clause. PostgreSQL's driver counts once it is loaded (a PostgreSQL warehouse was opened):
    a run on DuckDB never imports it (60 ms)."""
    import duckdb
    import sqlalchemy as sa
    psycopg = sys.modules.get("psycopg")
    return (sa.exc.SQLAlchemyError, duckdb.Error) + ((psycopg.Error,) if psycopg is not None else ())


def open_warehouse(url: str, create: bool = True) -> Warehouse:
    """The warehouse at ``url``, its schema created or brought up to date when ``create``."""
    url = normalize_warehouse_url(url)
    if url.startswith("duckdb"):
        from etl.warehouse.duckdb_backend import DuckDBWarehouse
        warehouse: Warehouse = DuckDBWarehouse(url)
    elif url.startswith("postgresql"):
        from etl.warehouse.postgres_backend import PostgresWarehouse
        warehouse = PostgresWarehouse(url)
    else:
        raise WarehouseError(
            f"unsupported warehouse URL {redact_url(url)}: use duckdb:///path/file.duckdb or "
            "postgresql://user@host/database")
    if create:
        warehouse.ensure_schema()
    return warehouse


def exclusive_writer(url: str, wait: float = 60.0, on_message=None):
    """Hold the embedded warehouse's writer lock (a no-op for PostgreSQL, which takes many writers).

    DuckDB lets one process write a file at a time; every dailyseg command that writes (ingest,
    validate, the DAG's tasks) takes this lock first, so a second one waits ``wait`` seconds and then
    says who holds it instead of failing inside DuckDB.
    """
    from contextlib import nullcontext

    from etl.locks import exclusive
    url = normalize_warehouse_url(url)
    if not url.startswith("duckdb"):
        return nullcontext()
    from etl.warehouse.duckdb_backend import database_path
    path = database_path(url)
    if path is None:
        return nullcontext()
    return exclusive(path.with_name(path.name + ".lock"), f"the warehouse {path.name}", wait=wait, on_wait=on_message)


def exclusive_job(url: str, job: str, wait: float = 60.0, on_message=None):
    """One run of ``job`` (e.g. "validation") at a time on a warehouse.

    On the embedded DuckDB that is the writer lock, which every writer takes anyway; on PostgreSQL,
    which lets many loaders write at once, a session advisory lock named after the job, for jobs
    that share scratch tables and must not interleave.
    """
    normalized = normalize_warehouse_url(url)
    if normalized.startswith("postgresql"):
        from etl.warehouse.postgres_backend import advisory_lock
        return advisory_lock(normalized, job, wait, on_message)
    return exclusive_writer(url, wait, on_message)


@contextmanager
def opened_for_writing(url: str, wait: float = 60.0, on_message=None) -> Iterator[Warehouse]:
    """The warehouse at ``url``, opened under its writer lock (``exclusive_writer``), disposed of at the end."""
    with exclusive_writer(url, wait, on_message):
        warehouse = open_warehouse(url)
        try:
            yield warehouse
        finally:
            warehouse.dispose()


@contextmanager
def one_line_errors(error: type[Exception], during: str, files: str):
    """What a run against the warehouse and the lake can raise, as ``error`` with one line for the user: a
    busy lock or an unusable warehouse as they say it, a database failure "the warehouse failed during
    <during>", an error of the file system "<files>: ..."."""
    from etl.locks import LockBusy
    try:
        yield
    except (LockBusy, WarehouseError) as exc:
        raise error(str(exc)) from None
    except database_errors() as exc:
        raise error(f"the warehouse failed during {during}: {first_line(exc)}") from None
    except OSError as exc:
        raise error(f"{files}: {exc}") from None
