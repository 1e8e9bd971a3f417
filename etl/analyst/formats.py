"""Plain-text formatting of figures: dollars, percentages, missing values, aligned tables.

``is_missing`` is the one test of "no value" for anything read back from a warehouse (None, NaN,
pandas NA, NaT); the checks and the alerts use it too. The module imports nothing heavy: the CLI loads it
for every command.

Used wherever dailyseg prints figures for people (the terminal trend table, query results, the report,
the CLI's summaries).
"""

from __future__ import annotations

from typing import Any, Sequence


def is_missing(value) -> bool:
    """None, NaN, pandas NA or NaT."""
    if value is None:
        return True
    try:
        return bool(value != value) or str(value) in ("<NA>", "NaT")
    except TypeError:  # pandas.NA refuses to be a boolean
        return True


def or_none(value: Any) -> Any:
    """``value``, or None when it is missing (see ``is_missing``)."""
    return None if is_missing(value) else value


def dollars(value) -> str:
    return "-" if is_missing(value) else f"{int(value):,}"


def percent(value) -> str:
    return "-" if is_missing(value) else f"{value:.1f}%"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], right: Sequence[int] = ()) -> str:
    """A plain aligned text table; columns listed in ``right`` are right-aligned (numbers)."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def fmt(row):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths)))

    lines = [fmt(cells[0]), "  ".join("-" * w for w in widths)]
    lines += [fmt(r) for r in cells[1:]]
    return "\n".join(line.rstrip() for line in lines)
