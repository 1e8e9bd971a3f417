"""Reference tables loaded from the reviewed data files: the line-item catalog and firm-name aliases.

The analyst views join to them (``form_lines`` says where each fund line's money sits, ``firm_aliases``
folds the names one firm filed under into one). They are reloaded whenever a file's content changes:
their bytes are part of the schema version (``etl.warehouse.schema``).
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Callable

import pyarrow as pa
import sqlalchemy as sa

from etl.form.files import form_dir

SEEDS = {
    "form_lines": ("line_items.csv",
                   ("statement", "line", "code", "label", "sign", "location", "required_from", "required_to",
                    "figure")),
    "firm_aliases": ("firm_aliases.csv", ("alias", "firm")),
}


def seed_bytes() -> bytes:
    return b"".join((form_dir() / filename).read_bytes() for filename, _ in SEEDS.values())


def _cell(column: str, text: str):
    text = text.strip()
    if not text:
        return None
    if column.startswith("required_"):
        return date.fromisoformat(text)
    return text


def seed_rows(table: str) -> list[dict]:
    filename, columns = SEEDS[table]
    reader = csv.DictReader(io.StringIO((form_dir() / filename).read_text(encoding="utf-8")))
    rows = [{c: _cell(c, row.get(c) or "") for c in columns} for row in reader]
    if table == "form_lines":  # the cover page's uncoded fields are not values anyone joins to
        rows = [r for r in rows if r["code"]]
        for r in rows:
            r["line"] = r["line"] or ""
    return rows


def seed_table(table: str) -> pa.Table:
    """A reference table's rows as Arrow: text columns, and dates for ``required_*``."""
    _, columns = SEEDS[table]
    rows = seed_rows(table)
    schema = pa.schema([(c, pa.date32() if c.startswith("required_") else pa.string()) for c in columns])
    return pa.table({c: [row[c] for row in rows] for c in columns}, schema=schema)


def load_seeds(conn: sa.Connection, insert_arrow: Callable[[sa.Connection, str, pa.Table], None]) -> None:
    """Replace every reference table's rows with the data files' (inside the caller's transaction), on the
    warehouse's bulk path ``insert_arrow`` (row by row, the catalog took 0.1 s of a new warehouse's 0.3 s)."""
    for table in SEEDS:
        conn.exec_driver_sql(f"DELETE FROM {table}")
        insert_arrow(conn, table, seed_table(table))


def refresh_statement_figures(conn: sa.Connection) -> None:
    """Recompute every statement row's headline figures from its values and the catalog's ``figure``
    column (after a schema or catalog change; the loader fills them for new filings)."""
    conn.exec_driver_sql("""
        UPDATE filing_statements
        SET requirement = f.requirement, funds = f.funds, excess = f.excess, target = f.target,
            excess_over_target = f.excess_over_target
        FROM (
            SELECT v.filing_id, v.statement,
                   max(v.value) FILTER (WHERE l.figure = 'requirement') AS requirement,
                   coalesce(max(v.value) FILTER (WHERE l.figure = 'funds'),
                            max(v.value) FILTER (WHERE l.figure = 'funds_summary')) AS funds,
                   max(v.value) FILTER (WHERE l.figure = 'excess') AS excess,
                   max(v.value) FILTER (WHERE l.figure = 'target') AS target,
                   max(v.value) FILTER (WHERE l.figure = 'excess_over_target') AS excess_over_target
            FROM seg_values v
            JOIN (SELECT DISTINCT statement, code, figure FROM form_lines WHERE figure IS NOT NULL) l
              ON l.statement = v.statement AND l.code = v.code
            GROUP BY v.filing_id, v.statement
        ) f
        WHERE filing_statements.filing_id = f.filing_id AND filing_statements.statement = f.statement""")
