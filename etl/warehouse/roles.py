"""Least-privilege roles on the PostgreSQL warehouse (``dailyseg grant``).

Run once by the database owner, after any dailyseg command has created the schema:

* the **loader** role (the pipeline's account: CLI, Airflow) may read and write the warehouse tables
  and create its own scratch tables (validation stages its check frame in ``dq_frame_statements``
  and ``dq_frame_batch``), but cannot change or drop the tables and views it did not create;
* the **analyst** role may only read the views (``excess_trend``, ``monthly_summary``...), not the
  tables behind them, and write nothing.

Both are group roles (NOLOGIN): give them to people and services with ``GRANT dailyseg_analyst TO
alice``. Re-running is harmless, and needed after an upgrade that adds tables or views.
"""

from __future__ import annotations

import re

from etl.warehouse import schema
from etl.warehouse.base import Warehouse, WarehouseError

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def view_names(dialect: str = "postgresql") -> list[str]:
    drops, _ = schema.view_statements(dialect)
    return [statement.split()[4] for statement in reversed(drops)]


def grant_roles(warehouse: Warehouse, loader: str, analyst: str) -> dict[str, list[str]]:
    """Create (if missing) and grant the two roles; return what each may now touch."""
    if warehouse.dialect != "postgresql":
        raise WarehouseError("roles apply to a PostgreSQL warehouse; the embedded DuckDB file is protected by "
                             "the file system's permissions")
    for name in (loader, analyst):
        if not _NAME.match(name):
            raise WarehouseError(f"role name {name!r}: use lower-case letters, digits and underscores")
    views = view_names()
    with warehouse.begin() as conn:
        tables = [r[0] for r in conn.exec_driver_sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]
        database = conn.exec_driver_sql("SELECT current_database()").scalar()
        for name in (loader, analyst):
            exists = conn.exec_driver_sql("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).scalar()
            if not exists:
                conn.exec_driver_sql(f'CREATE ROLE "{name}" NOLOGIN')
        conn.exec_driver_sql("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        conn.exec_driver_sql(f'GRANT CONNECT, TEMPORARY ON DATABASE "{database}" TO "{loader}", "{analyst}"')
        conn.exec_driver_sql(f'GRANT USAGE, CREATE ON SCHEMA public TO "{loader}"')
        conn.exec_driver_sql(f'GRANT USAGE ON SCHEMA public TO "{analyst}"')
        conn.exec_driver_sql(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{loader}"')
        conn.exec_driver_sql(f'GRANT SELECT ON {", ".join(views)} TO "{loader}"')
        conn.exec_driver_sql(f'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "{analyst}"')
        conn.exec_driver_sql(f'GRANT SELECT ON {", ".join(views)} TO "{analyst}"')
    return {loader: tables, analyst: views}
