"""A parsed filing's rows for the load tables, built as Arrow columns where the filing was parsed.

The worker that parses a group of files (``etl.ingest.workers``) turns their values and statement rows
into two Arrow tables, ``FilingRows.tables()``, and sends those to the loader instead of one Python
tuple per value: Arrow crosses the process boundary as a few buffers, where 195,000 tuples cost the
loader as much to unpickle and convert as they cost the worker to parse. The loader keeps the rows of
the filings it accepts, ``RowSpans.slices``, by position: the same bytes twice under two names are
parsed twice but loaded once.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable, NamedTuple

import pyarrow as pa

from etl.form.catalog import statement_figures
from etl.warehouse.tables import FIGURE_COLUMNS, FILING_KEY, FILING_STATEMENTS, LAKE_VALUES


def append_statement_rows(columns: dict[str, list], filing: dict, statements: Iterable[str], values,
                          per_statement: dict[str, int] | None = None) -> None:
    """Append a filing's ``filing_statements`` rows to ``columns``: one per statement it carries, with
    its number of values and headline figures. ``filing`` holds the filing's key columns; ``values``
    are its values (anything with ``statement``, ``code`` and ``value``), or only those carrying a
    figure when ``per_statement`` gives the number of values of each statement."""
    if per_statement is None:
        per_statement = Counter(v.statement for v in values)
    figures = statement_figures(values)
    for statement in statements:
        for key in FILING_KEY:
            columns[key].append(filing[key])
        columns["statement"].append(statement)
        columns["n_values"].append(per_statement.get(statement, 0))
        mine = figures.get(statement, {})
        for name in FIGURE_COLUMNS:
            columns[name].append(mine.get(name))


class RowSpan(NamedTuple):
    """Where one filing's rows sit in its group's tables."""
    values_at: int
    n_values: int
    statements_at: int
    n_statements: int


class FilingRows:
    """The ``seg_values`` (lake schema, with each value's file hash) and ``filing_statements`` rows of a
    group of parsed filings, column by column."""

    def __init__(self) -> None:
        self.values: dict[str, list] = {name: [] for name in LAKE_VALUES.names}
        self.statements: dict[str, list] = {name: [] for name in FILING_STATEMENTS.names}
        self._n_values = 0
        self._n_statements = 0

    def add(self, parsed, sha: str) -> RowSpan:
        """Append the rows of ``parsed`` (an ``etl.ingest.parser.ParsedFiling``) whose bytes hash to ``sha``."""
        h = parsed.header
        key = {"filing_id": sha[:16], "firm": h.firm, "end_date": h.end_date, "submit_date": h.submit_date,
               "status": h.status}
        span = RowSpan(self._n_values, len(parsed.values), self._n_statements, len(parsed.statements))
        append_statement_rows(self.statements, key, parsed.statements, parsed.values)
        n = span.n_values
        if n:
            v = self.values
            for name, value in key.items():
                v[name].extend([value] * n)
            v["sha256"].extend([sha] * n)
            statements, codes, amounts, lines, labels, pages = zip(*parsed.values)
            v["statement"].extend(statements)
            v["code"].extend(codes)
            v["value"].extend(amounts)
            v["line"].extend(lines)
            v["label"].extend(labels)
            v["page"].extend(pages)
        self._n_values += n
        self._n_statements += span.n_statements
        return span

    def tables(self) -> tuple[pa.Table, pa.Table]:
        """(values, statements) as Arrow tables of ``LAKE_VALUES`` and ``FILING_STATEMENTS``."""
        return pa.table(self.values, schema=LAKE_VALUES), pa.table(self.statements, schema=FILING_STATEMENTS)


class RowSpans:
    """The parts of groups' tables that belong to accepted filings, gathered without copying."""

    def __init__(self) -> None:
        self.values: list[pa.Table] = []
        self.statements: list[pa.Table] = []

    def keep(self, values: pa.Table, statements: pa.Table, spans: list[RowSpan]) -> None:
        """Keep the rows of ``spans`` (in order) of one group's ``values`` and ``statements``."""
        for start, length in _runs([(s.values_at, s.n_values) for s in spans]):
            self.values.append(values.slice(start, length))
        for start, length in _runs([(s.statements_at, s.n_statements) for s in spans]):
            self.statements.append(statements.slice(start, length))

    def tables(self) -> tuple[pa.Table, pa.Table]:
        values = pa.concat_tables(self.values) if self.values else LAKE_VALUES.empty_table()
        statements = pa.concat_tables(self.statements) if self.statements else FILING_STATEMENTS.empty_table()
        return values, statements


def _runs(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``(start, length)`` ranges with each run of adjacent ones merged (empty ones dropped)."""
    merged: list[list[int]] = []
    for start, length in ranges:
        if not length:
            continue
        if merged and merged[-1][0] + merged[-1][1] == start:
            merged[-1][1] += length
        else:
            merged.append([start, length])
    return [(start, length) for start, length in merged]
