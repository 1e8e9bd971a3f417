"""``dailyseg sql``: one read-only query on the warehouse, printed as a table or CSV.

Only a single SELECT (or WITH ... SELECT) statement is run, inside a transaction that is rolled back,
so a starter query cannot change the warehouse whatever it says; errors from the database come back
as one line naming the problem.
"""

from __future__ import annotations

import csv
import io
import re

from etl import UserError
from etl.analyst.formats import is_missing, table
from etl.settings import Settings
from etl.warehouse import DATABASE_ERRORS, exclusive_writer, first_line, open_warehouse

_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)


class QueryError(UserError, RuntimeError):
    """The query is not a single SELECT, or the database refused it."""


def single_select(text: str) -> str:
    body = _COMMENT.sub(" ", text).strip().rstrip(";").strip()
    if not body:
        raise QueryError("the query is empty")
    if ";" in body:
        raise QueryError("give one statement at a time")
    if not re.match(r"(?is)^(select|with|from|values|table)\b", body):
        raise QueryError("only queries that read (SELECT / WITH ... SELECT) are run here")
    return text.strip().rstrip(";")


def _cell(value) -> str:
    if is_missing(value):
        return ""
    if isinstance(value, float):
        return f"{value:,.4f}".rstrip("0").rstrip(".") if abs(value) < 1e15 else str(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def run_query(settings: Settings, text: str, fmt: str = "table", limit: int = 200, wait: float = 60.0) -> str:
    sql = single_select(text)
    with exclusive_writer(settings.warehouse_url, wait=wait):
        warehouse = open_warehouse(settings.warehouse_url)
        try:
            with warehouse.connect() as conn:
                transaction = conn.begin()
                try:
                    result = conn.exec_driver_sql(sql)
                    columns = list(result.keys())
                    rows = result.fetchall()
                finally:
                    transaction.rollback()
        except DATABASE_ERRORS as exc:
            raise QueryError(f"the warehouse refused the query: {first_line(exc)}") from None
        finally:
            warehouse.dispose()
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([["" if is_missing(v) else v for v in row] for row in rows])
        return out.getvalue().rstrip("\n")
    shown = rows[:limit]
    numeric = [i for i, c in enumerate(columns) if shown and all(
        isinstance(r[i], (int, float)) or is_missing(r[i]) or type(r[i]).__name__ == "Decimal" for r in shown)]
    text_table = table(columns, [[_cell(v) for v in row] for row in shown], right=numeric)
    if len(rows) > limit:
        return f"{text_table}\n({len(rows):,} rows, the first {limit:,} shown; use --limit N or --format csv)"
    return f"{text_table}\n({len(rows):,} rows)"
