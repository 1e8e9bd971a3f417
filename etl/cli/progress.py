"""A progress bar for long runs of the CLI.

The bar redraws in place on a terminal and falls back to a line every ten percent when output goes to
a file or a CI log, so long runs always show they are alive.
"""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO


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
