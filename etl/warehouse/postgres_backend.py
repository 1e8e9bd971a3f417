"""The PostgreSQL warehouse (production): bulk loads with ``COPY``, safe for concurrent loaders.

Each batch is copied into temporary staging tables, then moved into the real tables in one
transaction. ``filings`` is inserted with ``ON CONFLICT DO NOTHING RETURNING``: a filing another loader
committed first is skipped whole, so two loaders of overlapping folders never duplicate a value (the
primary key on ``seg_values`` would refuse it anyway).
"""

from __future__ import annotations

import io
from contextlib import contextmanager

import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa

from etl.warehouse.base import LoadBatch, Warehouse
from etl.warehouse.tables import FILING_STATEMENTS, FILINGS, LANDED_FILES, REJECTED_FILINGS, SEG_VALUES

_STAGES = (
    ("stage_filings", "filings", FILINGS.names, "filings"),
    ("stage_statements", "filing_statements", FILING_STATEMENTS.names, "statements"),
    ("stage_values", "seg_values", SEG_VALUES.names, "values"),
    ("stage_rejected", "rejected_filings", REJECTED_FILINGS.names, "rejected"),
)
_CSV_OPTIONS = pacsv.WriteOptions(include_header=False, quoting_style="needed")


def _copy_table(cursor, stage: str, columns: tuple[str, ...], table: pa.Table) -> None:
    """COPY an Arrow table into ``stage``: pyarrow writes CSV in C, PostgreSQL parses it in C.

    Empty strings are quoted by pyarrow and stay empty strings; nulls are unquoted empties and load
    as NULL.
    """
    if table.num_rows == 0:
        return
    buffer = io.BytesIO()
    pacsv.write_csv(table.select(list(columns)), buffer, _CSV_OPTIONS)
    with cursor.copy(f"COPY {stage} ({', '.join(columns)}) FROM STDIN (FORMAT csv)") as copy:
        view = buffer.getbuffer()
        for start in range(0, len(view), 1 << 20):
            copy.write(view[start:start + (1 << 20)])


class PostgresWarehouse(Warehouse):
    dialect = "postgresql"

    def __init__(self, url: str):
        engine = sa.create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})
        super().__init__(url, engine)

    def _lock_schema(self, conn: sa.Connection) -> None:
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(724101)")  # one schema change at a time

    def insert_arrow(self, conn, table: str, rows: pa.Table) -> None:
        with conn.connection.driver_connection.cursor() as cur:
            _copy_table(cur, table, tuple(rows.column_names), rows)

    def write_batch(self, batch: LoadBatch) -> set[str]:
        with self.begin() as conn:
            raw = conn.connection.driver_connection
            with raw.cursor() as cur:
                for stage, table, columns, attr in _STAGES:
                    cur.execute(f"CREATE TEMP TABLE {stage} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP")
                    _copy_table(cur, stage, columns, getattr(batch, attr))
                cur.execute(f"INSERT INTO filings ({', '.join(FILINGS.names)}) "
                            f"SELECT {', '.join(FILINGS.names)} FROM stage_filings "
                            "ON CONFLICT DO NOTHING RETURNING filing_id")
                inserted = {row[0] for row in cur.fetchall()}
                cur.execute("DELETE FROM stage_filings WHERE NOT (filing_id = ANY(%s))", (list(inserted),))
                cur.execute(f"INSERT INTO filing_statements ({', '.join(FILING_STATEMENTS.names)}) "
                            f"SELECT {', '.join('s.' + c for c in FILING_STATEMENTS.names)} FROM stage_statements s "
                            "JOIN stage_filings f USING (filing_id)")
                cur.execute(f"INSERT INTO seg_values ({', '.join(SEG_VALUES.names)}) "
                            f"SELECT {', '.join('s.' + c for c in SEG_VALUES.names)} FROM stage_values s "
                            "JOIN stage_filings f USING (filing_id)")
                cur.execute("INSERT INTO lake_pending SELECT filing_id, end_date FROM stage_filings")
                cur.execute(f"INSERT INTO rejected_filings ({', '.join(REJECTED_FILINGS.names)}) "
                            f"SELECT {', '.join(REJECTED_FILINGS.names)} FROM stage_rejected "
                            "ON CONFLICT DO NOTHING")
                if batch.landed is not None and batch.landed.num_rows:
                    cur.execute("CREATE TEMP TABLE stage_landed (LIKE landed_files) ON COMMIT DROP")
                    _copy_table(cur, "stage_landed", LANDED_FILES.names, batch.landed)
                    cur.execute(f"INSERT INTO landed_files ({', '.join(LANDED_FILES.names)}) "
                                f"SELECT DISTINCT ON (path) {', '.join(LANDED_FILES.names)} FROM stage_landed "
                                "ON CONFLICT (path) DO UPDATE SET size_bytes = EXCLUDED.size_bytes, "
                                "mtime_ns = EXCLUDED.mtime_ns, sha256 = EXCLUDED.sha256, read_at = EXCLUDED.read_at")
        return inserted


def _advisory_key(job: str) -> int:
    """A stable 64-bit key for ``job`` (PostgreSQL advisory locks are named by numbers)."""
    import hashlib
    return int.from_bytes(hashlib.sha256(f"dailyseg:{job}".encode()).digest()[:8], "big", signed=True)


@contextmanager
def advisory_lock(url: str, job: str, wait: float, on_wait=None):
    """Hold a session advisory lock named after ``job`` on the warehouse for the ``with`` block.

    A second holder waits up to ``wait`` seconds, then gets ``LockBusy`` naming the session that holds
    it. The lock lives in its own connection (autocommit: no transaction stays open) and is released
    when the block ends, or by the server when the process dies, so a crash leaves nothing behind.
    """
    from sqlalchemy.pool import NullPool

    from etl.locks import wait_for
    from etl.warehouse.base import WarehouseError, first_line, redact_url

    key = _advisory_key(job)
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        try:
            conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except sa.exc.SQLAlchemyError as exc:
            raise WarehouseError(f"cannot open the warehouse {redact_url(url)}: {first_line(exc)}") from None
        with conn:
            wait_for(lambda: conn.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar(),
                     lambda: _lock_holder(conn, key), wait, on_wait,
                     busy=lambda who: f"another {job} is running on this warehouse ({who}). Wait for it to "
                                      "finish, or retry with a longer --wait.",
                     waiting=lambda who: f"waiting for another {job} to finish ({who})", poll=0.5)
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
    finally:
        engine.dispose()


def _lock_holder(conn: sa.Connection, key: int) -> str:
    row = conn.execute(sa.text(
        "SELECT a.pid, a.backend_start FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted "
        "AND ((l.classid::bigint << 32) | l.objid::bigint) = :key"), {"key": key}).first()
    if row is None:
        return "its holder just finished"
    return f"PostgreSQL session {row.pid}, connected since {row.backend_start:%Y-%m-%d %H:%M:%S}"
