"""The columns of the CFTC's monthly "Financial Data for FCMs" file, read from ``expectations/cftc_columns.csv``.

The file's columns changed over the years (a B/D? flag, then "Registered As"; the 30.7 columns from
about 2007; retail forex from 2011; target residual interest and cleared swaps from 2014), and its
headers are spread over two to four rows with footnote markers. A column is known by its header text,
never by its place: each row of the data file is one field of ``cftc_fcm_monthly`` with a regular
expression its header must match; the rows are tried in order and the first match wins (so "cleared
swap seg required" is a swaps column before the segregation rows see "seg"). A correction is a
one-line change to that file.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache

from etl.form.files import form_dir

TYPES = ("name", "registration", "text", "date", "money")
MEASURES = ("requirement", "funds", "excess", "target")
#: the fields every layout has: without them the file is not one this reader knows
REQUIRED = ("firm", "seg_required")

_MARKER = re.compile(r"(\s*(\(\s*[a-z0-9]{1,2}\s*\)|\*+|\u2020+))+\s*$", re.IGNORECASE)
_SPACES = re.compile(r"\s+")


class LayoutError(ValueError):
    """The columns file is malformed; the message names the row."""


@dataclass(frozen=True)
class Column:
    field: str
    type: str
    statement: str | None
    measure: str | None
    pattern: re.Pattern
    description: str


def read_columns(path) -> tuple[Column, ...]:
    columns = []
    with open(path, newline="", encoding="utf-8") as handle:
        for n, row in enumerate(csv.DictReader(handle), start=2):
            where = f"{path.name} row {n}"
            kind = row["type"].strip()
            if kind not in TYPES:
                raise LayoutError(f"{where}: type must be one of {TYPES}")
            measure = row["measure"].strip() or None
            if measure is not None and measure not in MEASURES:
                raise LayoutError(f"{where}: measure must be one of {MEASURES}")
            try:
                pattern = re.compile(row["pattern"].strip())
            except re.error as exc:
                raise LayoutError(f"{where}: the pattern is not a regular expression ({exc})") from None
            columns.append(Column(row["field"].strip(), kind, row["statement"].strip() or None, measure, pattern,
                                  row["description"].strip()))
    fields = [c.field for c in columns]
    if len(fields) != len(set(fields)):
        raise LayoutError(f"{path.name}: each field must appear once")
    return tuple(columns)


@lru_cache(maxsize=1)
def load_columns() -> tuple[Column, ...]:
    return read_columns(form_dir() / "cftc_columns.csv")


def column(field: str) -> Column:
    return next(c for c in load_columns() if c.field == field)


def strip_markers(text: str) -> str:
    """``text`` without trailing footnote markers: ``(a)``, ``(1)``, ``*``, ``**``."""
    return _MARKER.sub("", text).strip()


def normalize_header(text: str) -> str:
    """A header as the patterns see it: upper case, one space between words, plain apostrophes."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u00a0", " ")
    return _SPACES.sub(" ", text).strip().upper()


def field_of(header: str) -> Column | None:
    """The field a column with this header holds, or None when no row of the columns file matches."""
    text = normalize_header(header)
    if not text:
        return None
    for candidate in load_columns():
        if candidate.pattern.search(text):
            return candidate
    return None
