"""The line-item catalog of the Daily Seg form, read from ``expectations/line_items.csv``.

One row per printed line of each statement (headings have no code), in print order, with the line
number, label, sign convention, where the money sits (for fund-location views) and the window of End
Dates in which the line is part of the form. A code may appear in two rows when its place on the form
changed between eras (7360 and 7380 on the secured statement). Code reads this file; it never lists
codes itself.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from etl.form.files import form_dir, in_window, optional_date

STATEMENTS = ("segregation", "secured", "swaps")
ALL_STATEMENTS = ("cover", *STATEMENTS)
SIGNS = ("positive", "negative", "either")
#: The headline figures of a statement, which lines carry them (column ``figure``). ``funds_summary`` is
#: the 2013-era secured statement's total (7370), used where the full statement's 7770 is absent.
FIGURES = ("requirement", "funds", "funds_summary", "excess", "target", "excess_over_target")


@dataclass(frozen=True)
class LineItem:
    statement: str
    line: str
    code: str | None  # None for a heading
    label: str
    sign: str | None
    location: str | None
    required_from: date | None
    required_to: date | None
    same_line_as: str | None
    figure: str | None = None

    def applies_on(self, day: date) -> bool:
        return in_window(day, self.required_from, self.required_to)


class CatalogError(ValueError):
    """The catalog file is malformed; the message names the row."""


def _date_cell(text: str, where: str) -> date | None:
    return optional_date(text, where, CatalogError)


class Catalog:
    """The rows of the catalog, with the lookups the parser, generator and checks need."""

    def __init__(self, items: list[LineItem]):
        self.items = tuple(items)
        self._by_code: dict[str, list[LineItem]] = {}
        for item in self.items:
            if item.code:
                self._by_code.setdefault(item.code, []).append(item)
        statements = {code: {i.statement for i in rows} for code, rows in self._by_code.items()}
        clash = {code: s for code, s in statements.items() if len(s) > 1}
        if clash:
            raise CatalogError(f"codes listed under more than one statement: {clash}")
        self.statement_of: dict[str, str] = {code: rows[0].statement for code, rows in self._by_code.items()}
        self._multi = tuple(row for rows in self._by_code.values() if len(rows) > 1 for row in rows)
        self._lines: dict[tuple, dict[str, tuple[str, str]]] = {}
        #: code -> headline figure it carries (requirement, funds, excess...), for the codes that carry one
        self.figure_of: dict[str, str] = {i.code: i.figure for i in self.items if i.code and i.figure}

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(self._by_code)

    def item(self, code: str, day: date | None = None) -> LineItem | None:
        """The catalog row of ``code`` for a filing of End Date ``day`` (the first row if none applies)."""
        rows = self._by_code.get(code)
        if not rows:
            return None
        if day is not None and len(rows) > 1:
            for row in rows:
                if row.applies_on(day):
                    return row
        return rows[0]

    def lines_on(self, day: date) -> dict[str, tuple[str, str]]:
        """code -> (line, label) of the form in force on End Date ``day`` (cached per era)."""
        era = tuple(i.applies_on(day) for i in self._multi)
        lines = self._lines.get(era)
        if lines is None:
            lines = self._lines[era] = {code: (row.line, row.label) for code in self._by_code
                                        if (row := self.item(code, day)) is not None}
        return lines

    def layout(self, statement: str, day: date) -> list[LineItem]:
        """The printed lines of one statement on End Date ``day``, headings included, in order."""
        return [i for i in self.items if i.statement == statement and i.applies_on(day)]

    def required_codes(self, statement: str, day: date) -> list[str]:
        """Codes a complete ``statement`` filed for End Date ``day`` carries."""
        return [i.code for i in self.layout(statement, day) if i.code]


def read_catalog(path: Path) -> Catalog:
    items: list[LineItem] = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        expected = {"statement", "line", "code", "label", "sign", "location", "required_from",
                    "required_to", "same_line_as"}
        missing = expected - set(reader.fieldnames or ())
        if missing:
            raise CatalogError(f"{path.name}: missing columns {sorted(missing)}")
        for n, row in enumerate(reader, start=2):
            where = f"{path.name} row {n}"
            statement = row["statement"].strip()
            if statement not in ALL_STATEMENTS:
                raise CatalogError(f"{where}: unknown statement {statement!r}")
            code = row["code"].strip() or None
            if code is not None and not (len(code) == 4 and code.isdigit()):
                raise CatalogError(f"{where}: code {code!r} is not four digits")
            figure = (row.get("figure") or "").strip() or None
            if figure is not None and (figure not in FIGURES or code is None):
                raise CatalogError(f"{where}: figure must be one of {FIGURES} on a coded line, not {figure!r}")
            sign = row["sign"].strip() or None
            if code and sign not in SIGNS:
                raise CatalogError(f"{where}: sign must be one of {SIGNS}, not {sign!r}")
            items.append(LineItem(
                statement=statement,
                line=row["line"].strip(),
                code=code,
                label=" ".join(row["label"].split()),
                sign=sign,
                location=row["location"].strip() or None,
                required_from=_date_cell(row["required_from"], where),
                required_to=_date_cell(row["required_to"], where),
                same_line_as=row["same_line_as"].strip() or None,
                figure=figure,
            ))
    return Catalog(items)


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    """The catalog shipped with dailyseg, read once per process."""
    return read_catalog(form_dir() / "line_items.csv")


def statement_figures(values) -> dict[str, dict[str, int | None]]:
    """Per statement, the headline figures its lines carry (the catalog's ``figure`` column): the
    requirement, funds (the full statement's, else the 2013-era summary's), excess, target and excess
    over target as filed."""
    figure_of = load_catalog().figure_of
    out: dict[str, dict[str, int | None]] = {}
    for value in values:
        figure = figure_of.get(value.code)
        if figure is not None:
            out.setdefault(value.statement, {})[figure] = value.value
    for figures in out.values():
        if figures.get("funds") is None and "funds_summary" in figures:
            figures["funds"] = figures["funds_summary"]
    return out
