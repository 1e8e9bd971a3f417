"""The DDL in sql/warehouse declares exactly the columns and types the loader and the lake write
(etl.warehouse.tables), on both backends: one definition, proved against the real databases."""

from __future__ import annotations

import pyarrow as pa
import pytest

from etl.warehouse import open_warehouse
from etl.warehouse.tables import LOAD_TABLES

# The SQL type each Arrow type is declared as, by information_schema's data_type (DuckDB; PostgreSQL).
SQL_TYPES = {
    pa.string(): {"VARCHAR", "character varying"},
    pa.date32(): {"DATE", "date"},
    pa.timestamp("us"): {"TIMESTAMP", "timestamp without time zone"},
    pa.int64(): {"BIGINT", "bigint"},
    pa.int32(): {"INTEGER", "integer"},
    pa.bool_(): {"BOOLEAN", "boolean"},
}


@pytest.mark.parametrize("table", sorted(LOAD_TABLES))
def test_the_ddl_declares_the_columns_and_types_the_loader_writes(warehouse_url, table):
    wh = open_warehouse(warehouse_url)
    try:
        declared = wh.read_df(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = :t "
            "AND table_schema = current_schema() ORDER BY ordinal_position", {"t": table})
    finally:
        wh.dispose()
    schema = LOAD_TABLES[table]
    assert list(declared["column_name"]) == schema.names
    for (name, sql_type), field in zip(declared.itertuples(index=False), schema):
        assert sql_type in SQL_TYPES[field.type], f"{table}.{name}: DDL says {sql_type}, the loader writes {field.type}"

