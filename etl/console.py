"""Terminal output for the CLI: a progress bar on long runs, aligned tables, dollar formatting.

The bar redraws in place on a terminal and falls back to a line every ten percent when output goes to
a file or a CI log, so long runs always show they are alive.
"""

from __future__ import annotations

import shutil
import sys
import time
from typing import Sequence, TextIO


class ProgressBar:
    def __init__(self, label: str, unit: str = "files", stream: TextIO | None = None):
        self.label = label
        self.unit = unit
        self.stream = stream or sys.stderr
        self.started = time.perf_counter()
        self.last_draw = 0.0
        self.last_decile = -1
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.drawn = False

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        rate = done / max(now - self.started, 1e-9)
        if self.tty:
            if done < total and now - self.last_draw < 0.1:
                return
            self.last_draw = now
            width = max(10, min(40, shutil.get_terminal_size((80, 20)).columns - 50))
            filled = int(width * done / max(total, 1))
            bar = "#" * filled + "." * (width - filled)
            self.stream.write(f"\r{self.label} [{bar}] {done:,}/{total:,} {self.unit} {rate:,.0f}/s ")
            self.drawn = True
            if done >= total:
                self.stream.write("\n")
                self.drawn = False
        elif total >= 200:  # in a log, short runs need no progress lines
            decile = (10 * done) // max(total, 1)
            if decile != self.last_decile and (decile > self.last_decile):
                self.last_decile = decile
                self.stream.write(f"{self.label}: {done:,}/{total:,} {self.unit} ({rate:,.0f}/s)\n")
        self.stream.flush()

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.drawn = False


def is_missing(value) -> bool:
    """None, NaN, pandas NA or NaT."""
    if value is None:
        return True
    try:
        return bool(value != value) or str(value) in ("<NA>", "NaT")
    except TypeError:  # pandas.NA refuses to be a boolean
        return True


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
