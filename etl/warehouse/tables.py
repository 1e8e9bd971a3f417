"""One definition of the load tables: each table's columns, in order, with their Arrow types.

The loader builds its batches with these schemas, the lake writes its Parquet with them, and the
backends insert by these column names. The DDL in ``sql/warehouse`` declares the same tables in SQL
(the same text on DuckDB and PostgreSQL); ``tests/warehouse/test_tables.py`` creates a warehouse on
both backends and proves that its columns and types are exactly these.
"""

from __future__ import annotations

import pyarrow as pa

_TEXT = pa.string()

#: The headline figures each statement row carries (filled from the values at load; see the catalog's
#: ``figure`` column).
FIGURE_COLUMNS = ("requirement", "funds", "excess", "target", "excess_over_target")

#: The key columns every row of a filing's tables repeats.
_FILING_KEY = [("filing_id", _TEXT), ("firm", _TEXT), ("end_date", pa.date32()), ("submit_date", pa.date32()),
               ("status", _TEXT)]
FILING_KEY = tuple(name for name, _ in _FILING_KEY)

FILINGS = pa.schema([
    *_FILING_KEY, ("form", _TEXT), ("source_path", _TEXT), ("sha256", _TEXT), ("loaded_at", pa.timestamp("us")),
    ("raw_path", _TEXT), ("size_bytes", pa.int64()), ("statements", _TEXT), ("n_values", pa.int32()),
    ("unknown_codes", _TEXT), ("notes", _TEXT), ("run_id", _TEXT), ("source_url", _TEXT), ("source_format", _TEXT),
    ("page_count", pa.int32()),
])
FILING_STATEMENTS = pa.schema([
    *_FILING_KEY, ("statement", _TEXT), ("n_values", pa.int32()),
    *((name, pa.int64()) for name in FIGURE_COLUMNS),
])
SEG_VALUES = pa.schema([
    *_FILING_KEY, ("statement", _TEXT), ("line", _TEXT), ("label", _TEXT), ("code", _TEXT), ("value", pa.int64()),
    ("page", pa.int32()),
])
REJECTED_FILINGS = pa.schema([
    ("source_path", _TEXT), ("sha256", _TEXT), ("reason", _TEXT), ("line_no", pa.int32()),
    ("rejected_at", pa.timestamp("us")), ("reason_code", _TEXT), ("quarantine_path", _TEXT),
    ("size_bytes", pa.int64()), ("run_id", _TEXT),
])
#: The landing zone's manifest: each file read, as it was when read (``sql/warehouse/008_landed_files.sql``).
LANDED_FILES = pa.schema([
    ("path", _TEXT), ("size_bytes", pa.int64()), ("mtime_ns", pa.int64()), ("sha256", _TEXT),
    ("read_at", pa.timestamp("us")),
])
#: One row per address ``dailyseg fetch`` requested (``etl.fetch``): what came back and where it landed.
FETCH_LOG = pa.schema([
    ("run_id", _TEXT), ("firm", _TEXT), ("source", _TEXT), ("url", _TEXT), ("kind", _TEXT), ("day", pa.date32()),
    ("fetched_at", pa.timestamp("us")), ("http_status", pa.int32()), ("bytes", pa.int64()), ("sha256", _TEXT),
    ("etag", _TEXT), ("last_modified", _TEXT), ("landing_path", _TEXT), ("outcome", _TEXT), ("error", _TEXT),
    ("attempts", pa.int32()),
])
#: The CFTC's monthly file: one row per firm and month-end (NULL where a year's file lacks the column).
CFTC_MONEY_COLUMNS = ("adjusted_net_capital", "net_capital_requirement", "excess_net_capital",
                      "seg_assets", "seg_required", "seg_excess", "seg_target",
                      "secured_funds", "secured_required", "secured_excess", "secured_target",
                      "swaps_funds", "swaps_required", "swaps_excess", "swaps_target", "retail_forex_obligation")
CFTC_FCM_MONTHLY = pa.schema([
    ("firm", _TEXT), ("as_of_date", pa.date32()), ("firm_as_of_date", pa.date32()), ("registered_as", _TEXT),
    ("dsro", _TEXT), *((name, pa.int64()) for name in CFTC_MONEY_COLUMNS), ("source_file", _TEXT),
    ("loaded_at", pa.timestamp("us")),
])
CFTC_FILES = pa.schema([
    ("sha256", _TEXT), ("as_of_date", pa.date32()), ("filed_by", pa.date32()), ("source_file", _TEXT),
    ("raw_path", _TEXT), ("size_bytes", pa.int64()), ("sheet", _TEXT), ("columns", _TEXT), ("unrecognised", _TEXT),
    ("n_firms", pa.int32()), ("in_use", pa.bool_()), ("loaded_at", pa.timestamp("us")), ("run_id", _TEXT),
])
CFTC_AS_OF_DAYS = pa.schema([("as_of_date", pa.date32()), ("business_day", pa.date32())])
#: The lake's copy of ``seg_values`` keeps each value's file hash too (the warehouse has it in ``filings``).
LAKE_VALUES = SEG_VALUES.append(pa.field("sha256", _TEXT))

#: Warehouse table -> its schema, for the checks that the DDL declares the same.
LOAD_TABLES = {"filings": FILINGS, "filing_statements": FILING_STATEMENTS, "seg_values": SEG_VALUES,
               "rejected_filings": REJECTED_FILINGS, "landed_files": LANDED_FILES, "fetch_log": FETCH_LOG,
               "cftc_fcm_monthly": CFTC_FCM_MONTHLY, "cftc_files": CFTC_FILES, "cftc_as_of_days": CFTC_AS_OF_DAYS}


def columns(schema: pa.Schema) -> tuple[str, ...]:
    return tuple(schema.names)
