"""The embedded DuckDB warehouse: a single file, bulk inserts straight from Arrow.

DuckDB lets one process open a database file for writing at a time. A ``DuckDBWarehouse`` keeps one
connection open from first use until ``dispose()`` (every command disposes when it is done), and the
loader takes the warehouse lock (``etl.locks``) so two dailyseg processes queue instead of failing. While
a load runs, the Parquet lake stays readable; the warehouse file is free again when the command ends.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.pool import QueuePool

from etl.warehouse.base import LoadBatch, Warehouse
from etl.warehouse.tables import FILING_STATEMENTS, FILINGS, LANDED_FILES, REJECTED_FILINGS, SEG_VALUES


#: DuckDB's memory limit while loading, in MiB (doubled when a batch needs more). DuckDB keeps every
#: block it has written or read in its buffer pool until the pool reaches its limit, which defaults to
#: 80% of the machine's memory: over a long load that is most of the new database (about 330 MB after
#: 250,000 filings), held for nothing, since a load only appends and checks keys. With a limit, blocks
#: already on disk are dropped first. What a batch cannot do without is the key indexes: its inserts
#: touch most of a key index (the keys are hashes, spread over the whole index) and keep it until the
#: next checkpoint. New warehouses key only ``filings`` on DuckDB (13 MB at 253,000 filings; the two
#: other keys, 80 MB more there, are PostgreSQL's alone: sql/warehouse/002_postgres_keys.sql), but
#: one created before holds about 0.45 MB per 1,000 filings, and so may any warehouse big enough. A
#: batch refused for memory is therefore rolled back and retried with twice the limit, up to DuckDB's
#: default.
LOAD_MEMORY_LIMIT_MB = 64

_NAMED_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")  # SQLAlchemy's :name -> DuckDB's $name


def database_path(url: str) -> Path | None:
    """The file behind a ``duckdb:///path`` URL (None for an in-memory database)."""
    database = sa.engine.make_url(url).database
    if not database or database == ":memory:":
        return None
    return Path(database)


#: how DuckDB words a database file or WAL it cannot read back
_DAMAGED = re.compile(r"Corrupt database file|Corrupt WAL file|remaining in MetadataReader|"
                      r"Failure while replaying WAL", re.IGNORECASE)


def is_damage(message: str) -> bool:
    """Whether ``message`` is DuckDB saying it cannot read the warehouse file (or its WAL) back."""
    return bool(_DAMAGED.search(message))


def with_damage_hint(message: str) -> str:
    """``message``, plus what to do when it is DuckDB saying the warehouse file is damaged."""
    if not is_damage(message) or "dailyseg rebuild" in message:
        return message
    return (f"{message} (the warehouse file is damaged: `dailyseg rebuild` rebuilds the warehouse from the lake "
            "and keeps the damaged file aside)")


def _size_bytes(setting: str) -> float:
    """DuckDB's rendering of a size ('18.8 GiB', '128.0 MiB') in bytes."""
    number, unit = setting.split()
    return float(number) * 1024 ** {"bytes": 0, "KiB": 1, "MiB": 2, "GiB": 3, "TiB": 4}[unit]


def _refused_for_memory(exc: BaseException) -> bool:
    """Whether DuckDB refused for want of memory: an out-of-memory error, or a commit that could not
    allocate a block (which DuckDB raises as a failed transaction)."""
    return isinstance(exc, duckdb.OutOfMemoryException) or (
        isinstance(exc, duckdb.TransactionException) and "could not allocate" in str(exc))


def _unregister(raw, *names: str) -> None:
    """Drop registered Arrow views; after a failed statement DuckDB refuses, and the error that
    matters is the one already propagating."""
    for name in names:
        try:
            raw.unregister(name)
        except duckdb.Error:
            pass


class DuckDBWarehouse(Warehouse):
    dialect = "duckdb"

    def __init__(self, url: str):
        path = database_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, poolclass=QueuePool, pool_size=1, max_overflow=4)
        super().__init__(url, engine)
        self.path = path
        self.memory_limit_mb: int | None = None  # None: DuckDB's default
        event.listen(engine, "connect", self._configure)

    def _explain(self, exc: Exception) -> str:
        return with_damage_hint(super()._explain(exc))

    def _configure(self, dbapi_connection, _record) -> None:
        if self.memory_limit_mb is not None:
            dbapi_connection.execute(f"SET memory_limit = '{self.memory_limit_mb}MiB'")

    def limit_memory(self, mb: int | None = None) -> None:
        """Cap DuckDB's memory at ``mb`` (``LOAD_MEMORY_LIMIT_MB``) for this process's connections; the
        loader calls this."""
        self.memory_limit_mb = mb or LOAD_MEMORY_LIMIT_MB
        self.engine.dispose()  # connections opened from now on carry the limit

    def lift_memory_limit(self) -> None:
        self.memory_limit_mb = None
        self.engine.dispose()

    def _raise_limit(self, exc: BaseException) -> bool:
        """After an out-of-memory error under our limit: double it (or lift it) and say whether to retry."""
        if self.memory_limit_mb is None or not _refused_for_memory(getattr(exc, "orig", exc)):
            return False
        ceiling = duckdb.connect().execute("SELECT current_setting('memory_limit')").fetchone()[0]
        doubled = self.memory_limit_mb * 2
        self.memory_limit_mb = doubled if doubled * 1024 ** 2 < _size_bytes(ceiling) else None
        self.engine.dispose()  # the failed transaction is rolled back; reopen with the new limit
        return True

    def _with_memory(self, work):
        while True:
            try:
                return work()
            except (duckdb.Error, sa.exc.DBAPIError) as exc:
                if not self._raise_limit(exc):
                    raise

    def clear_lake_pending(self, filing_ids) -> None:
        ids = list(filing_ids)  # its commit may checkpoint, which needs the key indexes in memory
        self._with_memory(lambda: super(DuckDBWarehouse, self).clear_lake_pending(ids))

    # The loader's lookups run under the same cap as its writes (they read the key columns).
    def hashes_held(self, hashes) -> set[str]:
        wanted = list(hashes)
        return self._with_memory(lambda: super(DuckDBWarehouse, self).hashes_held(wanted))

    def source_urls(self, hashes) -> list:
        wanted = list(hashes)
        return self._with_memory(lambda: super(DuckDBWarehouse, self).source_urls(wanted))

    def rejections_held(self, hashes, unhashed=()) -> set:
        wanted, paths = list(hashes), list(unhashed)
        return self._with_memory(lambda: super(DuckDBWarehouse, self).rejections_held(wanted, paths))

    def query_staged(self, name: str, rows: pa.Table, sql: str) -> list[tuple]:
        """As the base's, with ``rows`` read in place by DuckDB (registered, not copied into a table)."""
        with self.connect() as conn:
            raw = conn.connection.driver_connection
            raw.register(name, rows)
            try:
                return raw.execute(sql).fetchall()
            finally:
                _unregister(raw, name)

    def read_df(self, sql, params=None):
        """Query results as a DataFrame, through DuckDB's own columnar transfer (not row by row); under a
        memory cap, a query refused for memory is asked again with a higher one."""
        return self._with_memory(lambda: self._read_df(sql, params))

    def read_in(self, sql, ids):
        return self._with_memory(lambda: super(DuckDBWarehouse, self).read_in(sql, ids))

    def _read_df(self, sql, params=None):
        with self.connect() as conn:
            raw = conn.connection.driver_connection
            cursor = raw.execute(_NAMED_PARAM.sub(r"$\1", sql), params) if params else raw.execute(sql)
            names = [column[0] for column in cursor.description]
            frame = cursor.df()
        frame.columns = names  # as selected: DuckDB's frame renames a repeated name (n, n -> n, n_1)
        return frame

    def insert_arrow(self, conn, table: str, rows: pa.Table) -> None:
        if rows.num_rows == 0:
            return
        raw = conn.connection.driver_connection
        raw.register("insert_rows", rows)
        try:
            raw.execute(f"INSERT INTO {table} ({', '.join(rows.column_names)}) "
                        f"SELECT {', '.join(rows.column_names)} FROM insert_rows")
        finally:
            _unregister(raw, "insert_rows")

    def write_batch(self, batch: LoadBatch) -> set[str]:
        return self._with_memory(lambda: self._write_batch(batch))

    def _write_batch(self, batch: LoadBatch) -> set[str]:
        ids = batch.filing_ids
        with self.begin() as conn:
            raw = conn.connection.driver_connection
            raw.register("batch_filings", batch.filings)
            raw.register("batch_statements", batch.statements)
            raw.register("batch_values", batch.values)
            raw.register("batch_rejected", batch.rejected)
            try:
                if ids:
                    existing = [r[0] for r in raw.execute(
                        "SELECT filing_id FROM filings WHERE filing_id IN (SELECT filing_id FROM batch_filings)"
                    ).fetchall()]
                    if existing:  # a reload of filings already here: replace them whole
                        raw.register("batch_existing", pa.table({"filing_id": existing}))
                        for table in ("seg_values", "filing_statements", "lake_pending", "filings"):
                            raw.execute(f"DELETE FROM {table} WHERE filing_id IN "
                                        "(SELECT filing_id FROM batch_existing)")
                        raw.unregister("batch_existing")
                    raw.execute(f"INSERT INTO filings ({', '.join(FILINGS.names)}) "
                                f"SELECT {', '.join(FILINGS.names)} FROM batch_filings")
                    raw.execute(f"INSERT INTO filing_statements ({', '.join(FILING_STATEMENTS.names)}) "
                                f"SELECT {', '.join(FILING_STATEMENTS.names)} FROM batch_statements")
                    raw.execute(f"INSERT INTO seg_values ({', '.join(SEG_VALUES.names)}) "
                                f"SELECT {', '.join(SEG_VALUES.names)} FROM batch_values")
                    raw.execute("INSERT INTO lake_pending SELECT filing_id, end_date FROM batch_filings")
                if batch.rejected.num_rows:
                    raw.execute("DELETE FROM rejected_filings r USING batch_rejected b "
                                "WHERE r.source_path = b.source_path "
                                "AND coalesce(r.sha256, '') = coalesce(b.sha256, '')")
                    raw.execute(f"INSERT INTO rejected_filings ({', '.join(REJECTED_FILINGS.names)}) "
                                f"SELECT {', '.join(REJECTED_FILINGS.names)} FROM batch_rejected")
                if batch.landed is not None and batch.landed.num_rows:
                    raw.register("batch_landed", batch.landed)
                    raw.execute("DELETE FROM landed_files WHERE path IN (SELECT path FROM batch_landed)")
                    raw.execute(f"INSERT INTO landed_files ({', '.join(LANDED_FILES.names)}) "
                                f"SELECT {', '.join(LANDED_FILES.names)} FROM batch_landed")
                    raw.unregister("batch_landed")
            finally:
                _unregister(raw, "batch_filings", "batch_statements", "batch_values", "batch_rejected")
        return set(ids)
