"""``dailyseg sql``: one query on the warehouse, on a connection that cannot change or reach anything else.

Read-only by construction, not by inspecting the text:

* **DuckDB**: the file is opened read-only with external access disabled (no ``read_csv``/``glob``/
  ``read_text`` of other files, no ``ATTACH``, ``COPY``, ``EXPORT``, ``INSTALL``, ``LOAD``, no extension
  loaded behind the query's back) and the configuration locked, so the query cannot ``SET`` its way
  back. The embedded file admits one writing process, so the query waits for the writer lock like
  every command, and a killed writer's WAL is replayed in memory by the read-only open.
* **PostgreSQL**: a ``READ ONLY`` transaction (no writes, no ``nextval``, no ``SELECT ... FOR UPDATE``)
  that is rolled back, the query declared as a server-side cursor (one ``SELECT``/``VALUES``/``TABLE``
  statement, no data-modifying ``WITH``), and a statement timeout on each fetch. What a query may call
  beyond that (reading server files, signalling other sessions) is the role's privilege: run it as a
  role without them (see ``dailyseg grant``).

Rows are streamed in chunks and at most ``limit`` are read (``limit + 1`` to know there are more); CSV
with no limit streams every row through flat memory. A query running longer than ``timeout`` seconds
without producing its next chunk is stopped. Every refusal is one line.
"""

from __future__ import annotations

import csv
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, TextIO

from etl import UserError
from etl.analyst.formats import is_missing, table
from etl.settings import Settings

DEFAULT_LIMIT = 1000
DEFAULT_TIMEOUT = 300.0
_CHUNK = 1000  # rows per fetch

#: how DuckDB opens the file for a query typed by a person; the configuration is then locked
DUCKDB_READER_CONFIG = {
    "enable_external_access": False,
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
    "allow_community_extensions": False,
    "allow_persistent_secrets": False,
}
#: set on the connection before the lock (DuckDB takes them per connection, not at connect time)
_DUCKDB_READER_SETTINGS = ("SET enable_progress_bar = false",  # it is drawn on stdout, into the rows
                           "SET lock_configuration = true")

_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)
# what a read-only connection says when a query tries to write or reach outside the warehouse
_REFUSED = re.compile(r"read-only|read only|disabled by configuration|configuration has been locked|"
                      r"Loading external extensions is disabled|must not contain data-modifying|"
                      r"multiple commands into a prepared statement", re.IGNORECASE)


class QueryError(UserError, RuntimeError):
    """The query is not a single read, or the database refused or stopped it."""


@dataclass
class QueryOutcome:
    columns: list[str]
    rows: int  # rows written
    more: bool  # the query had more rows than the limit


def single_select(text: str) -> str:
    """The query without a trailing semicolon; a friendly first refusal of what is plainly not a read
    (the connection refuses writes whatever this lets through)."""
    body = _COMMENT.sub(" ", text).strip().rstrip(";").strip()
    if not body:
        raise QueryError("the query is empty")
    if ";" in body:
        raise QueryError("give one statement at a time")
    if not re.match(r"(?is)^(select|with|from|values|table)\b", body):
        raise QueryError("only queries that read (SELECT / WITH ... SELECT) are run here")
    return text.strip().rstrip(";")


class _Watchdog:
    """Calls ``interrupt`` when an armed wait lasts more than ``seconds`` (DuckDB has no statement
    timeout of its own)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.interrupt = lambda: None  # set to the connection's once it is open
        self.fired = False
        self._deadline: float | None = None
        self._wake = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._watch, name="dailyseg-sql-timeout", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        with self._wake:
            while not self._stopped:
                if self._deadline is None:
                    self._wake.wait()
                    continue
                left = self._deadline - time.monotonic()
                if left > 0:
                    self._wake.wait(left)
                    continue
                self.fired = True
                self._deadline = None
                self.interrupt()

    def arm(self) -> None:
        with self._wake:
            self._deadline = time.monotonic() + self.seconds
            self._wake.notify()

    def disarm(self) -> None:
        with self._wake:
            self._deadline = None

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify()
        self._thread.join()


def _chunks(fetch, watchdog: _Watchdog | None = None) -> Iterator[list[tuple]]:
    while True:
        if watchdog:
            watchdog.arm()
        rows = fetch(_CHUNK)
        if watchdog:
            watchdog.disarm()
        if not rows:
            return
        yield rows


@contextmanager
def _duckdb_reader(url: str, sql: str, watchdog: _Watchdog):
    import duckdb

    from etl.warehouse.duckdb_backend import database_path
    path = database_path(url)
    if path is None:
        raise QueryError("dailyseg sql reads a warehouse file; an in-memory DuckDB warehouse has nothing to read")
    conn = duckdb.connect(str(path), read_only=True, config=DUCKDB_READER_CONFIG)
    watchdog.interrupt = conn.interrupt
    try:
        for setting in _DUCKDB_READER_SETTINGS:
            conn.execute(setting)
        watchdog.arm()
        cursor = conn.execute(sql)
        watchdog.disarm()
        yield [d[0] for d in cursor.description], _chunks(cursor.fetchmany, watchdog)
    finally:
        watchdog.disarm()
        conn.close()


@contextmanager
def _postgres_reader(warehouse, sql: str, timeout: float):
    milliseconds = max(1, int(timeout * 1000))
    with warehouse.engine.connect() as conn:
        conn = conn.execution_options(postgresql_readonly=True)  # BEGIN READ ONLY
        transaction = conn.begin()
        try:
            conn.exec_driver_sql(f"SET LOCAL statement_timeout = {milliseconds}")
            conn.exec_driver_sql(f"SET LOCAL idle_in_transaction_session_timeout = {milliseconds}")
            # a server-side cursor: DECLARE ... CURSOR FOR takes exactly one SELECT, VALUES or TABLE
            result = conn.exec_driver_sql(sql, execution_options={"stream_results": True, "max_row_buffer": _CHUNK})
            yield list(result.keys()), _chunks(result.fetchmany)
        finally:
            transaction.rollback()


def _explain_refusal(exc: BaseException, watchdog: _Watchdog | None, timeout: float) -> QueryError:
    from etl.warehouse import first_line
    said = first_line(exc)
    if (watchdog and watchdog.fired) or "statement timeout" in said:
        return QueryError(f"the query ran longer than {timeout:g} s and was stopped (raise --timeout to allow more)")
    if _REFUSED.search(said):
        return QueryError(f"refused: dailyseg sql only reads the warehouse's own tables and views ({said})")
    return QueryError(f"the warehouse refused the query: {said}")


def _cell(value) -> str:
    if is_missing(value):
        return ""
    if isinstance(value, float):
        return f"{value:,.4f}".rstrip("0").rstrip(".") if abs(value) < 1e15 else str(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _write_table(out: TextIO, columns: list[str], rows: list[tuple]) -> None:
    numeric = [i for i, _ in enumerate(columns) if rows and all(
        isinstance(r[i], (int, float)) or is_missing(r[i]) or type(r[i]).__name__ == "Decimal" for r in rows)]
    out.write(table(columns, [[_cell(v) for v in row] for row in rows], right=numeric) + "\n")


@contextmanager
def read_only_rows(settings: Settings, sql: str, timeout: float = DEFAULT_TIMEOUT, wait: float = 60.0,
                   on_message=None) -> Iterator[tuple[list[str], Iterator[list[tuple]]]]:
    """``(columns, chunks of rows)`` of one query on a connection that cannot write or reach outside the
    warehouse (see the module docstring), under the embedded warehouse's lock. A refusal or a timeout
    raises ``QueryError`` in one line."""
    from etl.warehouse import database_errors, exclusive_writer, open_warehouse  # not for the CLI's defaults
    if timeout <= 0:
        raise QueryError("--timeout must be a number of seconds above 0")
    watchdog = None
    with exclusive_writer(settings.warehouse_url, wait=wait, on_message=on_message):
        warehouse = open_warehouse(settings.warehouse_url)  # the schema created or brought up to date
        try:
            if warehouse.dialect == "duckdb":
                warehouse.dispose()  # the file is reopened read-only; one configuration per file and process
                watchdog = _Watchdog(timeout)
                reader = _duckdb_reader(settings.warehouse_url, sql, watchdog)
            else:
                reader = _postgres_reader(warehouse, sql, timeout)
            with reader as (columns, chunks):
                yield columns, chunks
        except database_errors() as exc:
            raise _explain_refusal(exc, watchdog, timeout) from None
        finally:
            if watchdog:
                watchdog.stop()
            warehouse.dispose()


def run_query(settings: Settings, text: str, out: TextIO, fmt: str = "table", limit: int = DEFAULT_LIMIT,
              timeout: float = DEFAULT_TIMEOUT, wait: float = 60.0, on_message=None) -> QueryOutcome:
    """Run one read-only query and write its rows to ``out`` (an aligned table, or CSV as they arrive).

    At most ``limit`` rows are read; ``limit=0`` reads every row, for CSV only (a table holds its rows to
    line them up).
    """
    if limit < 0 or (limit == 0 and fmt != "csv"):
        raise QueryError("--limit 0 (every row) streams CSV only: add --format csv, or give a number of rows")
    sql = single_select(text)
    cap = limit or None
    writer = csv.writer(out, lineterminator="\n") if fmt == "csv" else None
    kept: list[tuple] = []
    count, more = 0, False
    with read_only_rows(settings, sql, timeout, wait, on_message) as (columns, chunks):
        if writer:
            writer.writerow(columns)
        for rows in chunks:
            if cap is not None and count + len(rows) > cap:
                rows, more = rows[:cap - count], True
            count += len(rows)
            if writer:
                writer.writerows([["" if is_missing(v) else v for v in row] for row in rows])
            else:
                kept.extend(rows)
            if cap is not None and count == cap:
                more = more or next(chunks, None) is not None
                break
    if writer is None:
        _write_table(out, columns, kept)
    return QueryOutcome(columns=columns, rows=count, more=more)
