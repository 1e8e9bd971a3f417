"""The SQL warehouse: open one by URL and get the backend that knows its bulk path.

``open_warehouse("duckdb:///data/warehouse.duckdb")`` (embedded default) or
``open_warehouse("postgresql+psycopg://user@host/db")`` (production). Both expose the same ``Warehouse``
interface and the same tables and views (``sql/``).
"""

from __future__ import annotations

from etl.settings import normalize_warehouse_url
from etl.warehouse.base import LoadBatch, Warehouse, WarehouseError, redact_url

__all__ = ["DATABASE_ERRORS", "LoadBatch", "Warehouse", "WarehouseError", "open_warehouse", "redact_url"]


def _database_errors() -> tuple[type[BaseException], ...]:
    import duckdb
    import psycopg
    import sqlalchemy as sa
    return (sa.exc.SQLAlchemyError, duckdb.Error, psycopg.Error)


#: Exceptions a database can raise mid-run (connection lost, disk full, lock refused...).
DATABASE_ERRORS = _database_errors()


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
