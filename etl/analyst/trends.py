"""Reading the excess history out of the warehouse: firm lookup by name, and the terminal trend table.

``dailyseg trends --firm NAME`` and the report both go through here, so a firm is found the same way
everywhere: an exact name (as folded in ``firms``, or any name it filed under), else a unique
case-insensitive part of one.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from etl import UserError
from etl.analyst.formats import dollars, is_missing, percent, table
from etl.form.catalog import STATEMENTS
from etl.warehouse import Warehouse

TREND_COLUMNS = ("firm", "end_date", "statement", "requirement", "funds", "excess", "excess_pct", "target",
                 "excess_over_target", "deficiency", "below_target", "excess_change", "excess_mean_20d",
                 "excess_min_20d")


class UnknownFirm(UserError, LookupError):
    """No firm, or more than one, answers to the name given; the message says which exist."""


def resolve_firms(warehouse: Warehouse, name: str) -> list[str]:
    """The firm(s) ``name`` means: exact (any spelling it filed under) first, else every firm whose name
    contains it, case-insensitively. Raises ``UnknownFirm`` when nothing matches."""
    names = warehouse.read_df("SELECT firm_as_filed, firm FROM firm_names")
    wanted = " ".join(name.split()).casefold()
    if not wanted:
        raise UnknownFirm("give a firm name (or part of one)")
    exact = sorted({row.firm for row in names.itertuples()
                    if wanted in (row.firm.casefold(), row.firm_as_filed.casefold())})
    if exact:
        return exact
    partial = sorted({row.firm for row in names.itertuples()
                      if wanted in row.firm.casefold() or wanted in row.firm_as_filed.casefold()})
    if partial:
        return partial
    known = sorted(set(names["firm"]))
    hint = ", ".join(known[:8]) + (f" and {len(known) - 8} more" if len(known) > 8 else "")
    raise UnknownFirm(f"no firm matches {name!r}" + (f"; firms in the warehouse: {hint}" if known else
                                                     "; the warehouse holds no filings yet (run dailyseg ingest)"))


def date_range(date_from: date | None, date_to: date | None, firms: list[str] | None = None,
               column: str = "end_date") -> tuple[list[str], dict]:
    """WHERE conditions (and their parameters) keeping ``column``'s dates between the two, either open,
    and the rows of ``firms`` when given."""
    where, params = ["1 = 1"], {}
    if date_from:
        where.append(f"{column} >= :date_from")
        params["date_from"] = date_from
    if date_to:
        where.append(f"{column} <= :date_to")
        params["date_to"] = date_to
    if firms:
        names = {f"firm_{i}": firm for i, firm in enumerate(firms)}
        where.append(f"firm IN ({', '.join(':' + key for key in names)})")
        params.update(names)
    return where, params


def excess_history(warehouse: Warehouse, firms: list[str] | None = None, date_from: date | None = None,
                   date_to: date | None = None) -> pd.DataFrame:
    """Rows of ``excess_trend`` (all firms, or ``firms``) between the dates, oldest first."""
    where, params = date_range(date_from, date_to, firms)
    frame = warehouse.read_df(f"SELECT {', '.join(TREND_COLUMNS)} FROM excess_trend WHERE {' AND '.join(where)} "
                              "ORDER BY firm, statement, end_date", params)
    if not frame.empty:
        frame["end_date"] = pd.to_datetime(frame["end_date"])
    return frame


def flagged(value) -> bool:
    """A boolean column's value as True/False (NULL is False), whichever driver returned it."""
    return not is_missing(value) and bool(value)


def trend_table(history: pd.DataFrame, last: int = 20) -> str:
    """The last ``last`` filing days of one firm, a row per day and account class, flags spelled out."""
    if history.empty:
        return "no filings in that range"
    days = sorted(history["end_date"].unique())[-last:]
    recent = history[history["end_date"].isin(days)].copy()
    recent["order"] = recent["statement"].map({s: i for i, s in enumerate(STATEMENTS)})
    rows = []
    for r in recent.sort_values(["end_date", "order"]).itertuples():
        flags = "DEFICIENCY" if flagged(r.deficiency) else ("below target" if flagged(r.below_target) else "")
        rows.append([r.end_date.date().isoformat(), r.statement, dollars(r.requirement), dollars(r.funds),
                     dollars(r.excess), percent(r.excess_pct), dollars(r.target), dollars(r.excess_change),
                     dollars(r.excess_mean_20d), flags])
    headers = ["end date", "statement", "requirement", "funds", "excess", "excess %", "target",
               "change", "20-day mean", ""]
    return table(headers, rows, right=range(2, 9))
