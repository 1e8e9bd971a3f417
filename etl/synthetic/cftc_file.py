"""The CFTC's monthly "Financial Data for FCMs" spreadsheet for a synthetic industry (xlsx, openpyxl).

``monthly_row`` turns a firm's filing for the month's last business day into its row of the file:
each figure column takes the daily line the catalog says carries that figure (``figure`` in
``expectations/line_items.csv``, matched to the columns' ``statement`` and ``measure`` in
``expectations/cftc_columns.csv``), so the file agrees with the filings unless a difference is
planted. ``workbook_bytes`` writes rows under any layout of headers (the tests write each era's);
``write_cftc_file`` writes the layout published from 2014: title rows, group headers merged over three
header rows, a row of column letters, numbered firms, totals and footnotes, figures as numbers and as
text with thousands separators, a footnote marker or two.
"""

from __future__ import annotations

import io
import random
import re
import unicodedata
import zipfile
from datetime import date, timedelta
from pathlib import Path
from typing import NamedTuple

from etl.business_days import last_business_day_in_month
from etl.cftc.layout import load_columns
from etl.form.catalog import statement_figures
from etl.synthetic.firms import FirmProfile

MONTHS = ("JANUARY", "FEBRUARY", "MARCH", "APRIL", "MAY", "JUNE", "JULY", "AUGUST", "SEPTEMBER", "OCTOBER",
          "NOVEMBER", "DECEMBER")
# Header rows ("<" continues the merged cell to its left) and the field of each column (None: the row number).
LAYOUT = {
    "headers": [
        ["", "FUTURES COMMISSION MERCHANT / RETAIL FOREX DEALER", "REGISTERED AS", "DSRO", "AS OF DATE",
         "ADJUSTED NET CAPITAL", "NET CAPITAL REQUIREMENT", "EXCESS NET CAPITAL",
         "CUSTOMER SEGREGATED FUNDS", "<", "<", "<", "SECURED AMOUNTS (PART 30)", "<", "<", "<",
         "CLEARED SWAPS", "<", "<", "<", "RETAIL FOREX OBLIGATION"],
        ["", "", "", "", "", "", "", "", "CUSTOMERS' ASSETS", "CUSTOMERS' SEG", "EXCESS/DEFICIENT",
         "TARGET RESIDUAL", "FUNDS IN SEPARATE", "CUSTOMER AMOUNT", "EXCESS/DEFICIENT", "TARGET RESIDUAL",
         "FUNDS IN CLEARED", "CLEARED SWAP", "EXCESS/DEFICIENT", "TARGET RESIDUAL", ""],
        ["", "", "", "", "", "", "", "", "IN SEG", "REQUIRED 4D(A)(2)", "FUNDS IN SEG", "INTEREST",
         "SECTION 30.7 ACCOUNTS", "PT. 30 REQUIRED", "FUNDS IN 30.7", "INTEREST", "SWAP SEG",
         "SEG REQUIRED", "FUNDS", "INTEREST (a)", ""],
    ],
    "fields": [None, "firm", "registered_as", "dsro", "firm_as_of_date", "adjusted_net_capital",
               "net_capital_requirement", "excess_net_capital", "seg_assets", "seg_required", "seg_excess",
               "seg_target", "secured_funds", "secured_required", "secured_excess", "secured_target",
               "swaps_funds", "swaps_required", "swaps_excess", "swaps_target", "retail_forex_obligation"],
}
FOOTNOTES = ("(a) Target residual interest: the amount the firm's own policy keeps in excess of what it owes "
             "customers.", "* The firm's report is as of a date other than the month-end.")


def long_date(day: date) -> str:
    return f"{MONTHS[day.month - 1]} {day.day}, {day.year}"


_UNACCENTED = str.maketrans({"ø": "o", "Ø": "O", "ß": "ss", "æ": "ae", "Æ": "AE", "ł": "l", "Ł": "L"})


def published_name(name: str) -> str:
    """A firm's name the way the CFTC's file prints it: capitals, no accents, no periods."""
    plain = unicodedata.normalize("NFKD", name.translate(_UNACCENTED)).encode("ascii", "ignore").decode("ascii")
    return " ".join(plain.replace(".", "").upper().split())


def _round_sig(value: float) -> int:
    return int(float(f"{value:.3g}"))


def monthly_row(firm: FirmProfile, values: dict[str, dict[str, int]], as_of: date, rng: random.Random) -> dict:
    """The file's row for ``firm`` from ``values`` (statement -> code -> dollars) of its filing for the
    month's last business day."""
    figures = statement_figures(_Value(s, c, v) for s, codes in values.items() for c, v in codes.items())
    row = {"firm": published_name(firm.name), "firm_as_of_date": as_of,
           "registered_as": "FCM BD" if firm.seg_size > 1e9 or "Securities" in firm.name else "FCM",
           "dsro": "CME" if firm.clearing else "NFA"}
    for column in load_columns():
        if column.measure:
            row[column.field] = figures.get(column.statement, {}).get(column.measure)
    requirement = _round_sig(max(1e6, 0.08 * firm.seg_size * rng.uniform(0.6, 1.4)))
    adjusted = _round_sig(requirement * rng.uniform(1.3, 4.0))
    row.update(adjusted_net_capital=adjusted, net_capital_requirement=requirement,
               excess_net_capital=adjusted - requirement, retail_forex_obligation=0)
    return row


class _Value:
    __slots__ = ("statement", "code", "value")

    def __init__(self, statement: str, code: str, value: int | None):
        self.statement, self.code, self.value = statement, code, value


def forex_dealer_row(name: str, as_of: date, rng: random.Random) -> dict:
    """A retail forex dealer: listed in the file, but it holds no futures customers' funds."""
    requirement = _round_sig(2e7 * rng.uniform(0.5, 1.5))
    adjusted = _round_sig(requirement * rng.uniform(1.2, 2.5))
    row = {"firm": name, "registered_as": "RFED", "dsro": "NFA", "firm_as_of_date": as_of,
           "adjusted_net_capital": adjusted, "net_capital_requirement": requirement,
           "excess_net_capital": adjusted - requirement,
           "retail_forex_obligation": _round_sig(3e8 * rng.uniform(0.3, 2.0))}
    for column in load_columns():
        if column.measure:
            row[column.field] = 0
    return row


def plant_difference(row: dict, rng: random.Random) -> tuple[str, int, int]:
    """Change one of the row's non-zero month-end figures the way a restatement or a typing slip does;
    returns (field, old, new)."""
    fields = [c.field for c in load_columns() if c.measure and row.get(c.field)]
    field = rng.choice(fields)
    old = row[field]
    new = old + (1 if old >= 0 else -1) * max(1_000, int(abs(old) * rng.uniform(0.005, 0.03)))
    row[field] = new
    return field, old, new


def _cell(field: str | None, value, n: int):
    if field is None or value is None or field in ("firm", "registered_as", "dsro", "firm_as_of_date"):
        return value
    return value if n % 3 else (f"({abs(value):,})" if value < 0 else f"{value:,}")  # some as text


def sheet_cells(as_of: date, rows: list[dict], headers: list[list[str]], fields: list[str | None],
                filed_by: date | None = None, letters: str = "below", cell=_cell):
    """The sheet as (cells, merges): cells maps (row, column), 0-based, to what it holds; merges are
    ((first row, first column), (last row, last column)). The title, ``headers`` over ``fields`` (the
    column letters above or below them), one numbered row per firm, a totals row and footnotes;
    ``cell(field, value, n)`` gives what each cell holds (a number, text, a date)."""
    cells: dict[tuple[int, int], object] = {(0, 1): f"SELECTED FCM FINANCIAL DATA AS OF {long_date(as_of)}",
                                            (1, 1): f"FROM REPORTS FILED BY {long_date(filed_by or as_of)}"}
    merges = []
    row = 3
    letter_row = {c: chr(65 + c - 1) for c in range(1, len(fields))}
    if letters == "above":
        cells.update({(row, c): letter for c, letter in letter_row.items()})
        row += 1
    for header in headers:
        for c, text in enumerate(header):
            if text in ("", "<"):
                continue
            cells[(row, c)] = text
            span = 1
            while c + span < len(header) and header[c + span] == "<":
                span += 1
            if span > 1:
                merges.append(((row, c), (row, c + span - 1)))
        row += 1
    if letters == "below":
        cells.update({(row, c): letter for c, letter in letter_row.items()})
        row += 1
    for n, firm in enumerate(rows, 1):
        for c, field in enumerate(fields):
            value = n if field is None else cell(field, firm.get(field), n + c)
            if value is not None:
                cells[(row, c)] = value
        row += 1
    cells[(row, 1)] = "TOTALS"
    for c, field in enumerate(fields):
        if field in ("seg_required", "secured_required", "swaps_required"):
            cells[(row, c)] = sum(r.get(field) or 0 for r in rows)
    for i, note in enumerate(FOOTNOTES):
        cells[(row + 2 + i, 0)] = note
    return cells, merges


def workbook_bytes(as_of: date, rows: list[dict], headers: list[list[str]], fields: list[str | None],
                   filed_by: date | None = None, letters: str = "below", cell=_cell,
                   sheet: str | None = None, notes_sheet: bool = False) -> bytes:
    """The sheet of ``sheet_cells`` as an xlsx workbook; with ``notes_sheet``, after a sheet of notes (as
    some years have)."""
    import openpyxl
    workbook = openpyxl.Workbook()
    ws = workbook.active
    if notes_sheet:
        ws.title = "Notes"
        ws["A1"] = "Financial Data for FCMs: explanatory notes"
        ws = workbook.create_sheet("FCM Data")
    else:
        ws.title = sheet or f"{as_of:%b %Y}"
    cells, merges = sheet_cells(as_of, rows, headers, fields, filed_by, letters, cell)
    for (r, c), value in cells.items():
        ws.cell(r + 1, c + 1, value)
    for (r0, c0), (r1, c1) in merges:
        ws.merge_cells(start_row=r0 + 1, start_column=c0 + 1, end_row=r1 + 1, end_column=c1 + 1)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _same_bytes(buffer.getvalue(), filed_by or as_of)


_STAMP = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def _same_bytes(xlsx: bytes, day: date) -> bytes:
    """The workbook with the save time in its properties and its zip entries replaced by ``day``, so the
    same arguments always write the same bytes (and a re-load of a regenerated file changes nothing)."""
    stamp = day.strftime("%Y-%m-%dT00:00:00Z").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            data = source.read(entry)
            if entry.filename == "docProps/core.xml":
                data = _STAMP.sub(rb"\g<1>" + stamp + rb"\g<2>", data)
            target.writestr(zipfile.ZipInfo(entry.filename, date_time=(day.year, day.month, day.day, 0, 0, 0)),
                            data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def write_cftc_file(path: Path, as_of: date, rows: list[dict], filed_by: date | None = None) -> Path:
    """The file for month-end ``as_of`` in the layout published from 2014."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(workbook_bytes(as_of, rows, LAYOUT["headers"], LAYOUT["fields"], filed_by))
    return path


class Planted(NamedTuple):
    """A month-end figure the generated file states differently from the filing."""

    firm: str  # as the file names it
    as_of: date
    field: str
    daily_value: int
    cftc_value: int


def _last_day(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)


def month_end_of(day: date) -> date | None:
    """The calendar month-end whose figures ``day``'s filing gives, when ``day`` is its month's last
    business day; else None."""
    month_end = _last_day(day.year, day.month)
    return month_end if last_business_day_in_month(month_end) == day else None


def write_monthly_files(outdir: Path, filed: dict[date, list[tuple[FirmProfile, dict]]], seed: int,
                        differences: int = 0, unfiled: int = 3) -> tuple[list[Path], list[Planted]]:
    """One file per month-end in ``filed`` (as-of date -> each firm's values on its last business day),
    plus ``unfiled`` firms that hold customer funds but whose filings were not generated and a retail
    forex dealer; ``differences`` figures planted across the months. Returns the files and the plants."""
    from etl.synthetic.firms import make_firms
    from etl.synthetic.values import build_values
    rng = random.Random(f"cftc:{seed}")
    known = {firm.name for rows in filed.values() for firm, _ in rows}
    candidates = [f for f in make_firms(len(known) + unfiled + 8, seed + 7919) if f.name not in known]
    others = rng.sample(candidates, min(unfiled, len(candidates)))
    months: dict[date, list[dict]] = {}
    for as_of, rows in sorted(filed.items()):
        day = last_business_day_in_month(as_of)
        table = [monthly_row(firm, values, as_of, rng) for firm, values in rows]
        table += [monthly_row(firm, build_values(firm, day, random.Random(f"{seed}:{firm.slug}:{as_of}"), {}),
                              as_of, rng) for firm in others]
        table.append(forex_dealer_row("NORTHSTAR RETAIL FX LLC", as_of, rng))
        months[as_of] = sorted(table, key=lambda r: r["firm"])
    planted = []
    candidates = [(as_of, row) for as_of, table in months.items() for row in table
                  if row["registered_as"] != "RFED" and row["firm"] in {published_name(n) for n in known}]
    for as_of, row in rng.sample(candidates, min(differences, len(candidates))):
        field, old, new = plant_difference(row, rng)
        planted.append(Planted(row["firm"], as_of, field, old, new))
    paths = []
    for as_of, table in months.items():
        filed_by = last_business_day_in_month(_last_day(as_of.year + as_of.month // 12, as_of.month % 12 + 1))
        paths.append(write_cftc_file(outdir / f"fcm-financial-data-{as_of:%Y-%m}.xlsx", as_of, table, filed_by))
    return paths, planted
