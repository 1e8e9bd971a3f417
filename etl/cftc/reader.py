"""Reading the CFTC's "Financial Data for FCMs" spreadsheet as published (xlsx; xls for older years).

The sheet holds, top to bottom: title rows (``SELECTED FCM FINANCIAL DATA AS OF <month-end>``, ``FROM
REPORTS FILED BY <date>``), column headers spread over two to four rows (a group header may be merged
across the columns it covers), a row of column letters, one numbered row per firm, totals, and
footnotes. ``read_cftc_file`` finds the title, the first firm row (a name and at least three
figures), the header rows above it, and maps each column by its header text (``etl.cftc.layout``).
Figures may be numbers or text with thousands separators, parentheses for negatives and footnote
markers. A file this cannot make sense of raises ``CftcFormatError`` with one sentence saying what was
missing; nothing is guessed from a column's position.
"""

from __future__ import annotations

import io
import os
import re
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from etl.cftc.layout import REQUIRED, Column, column, field_of, normalize_header, strip_markers

MAX_HEADER_ROWS = 4
_TITLE = re.compile(r"\bAS\s+OF\b[\s:]*(.*)$", re.IGNORECASE)
_FILED_BY = re.compile(r"\bFILED\s+BY\b[\s:]*(.*)$", re.IGNORECASE)
_LETTER = re.compile(r"^\(?[A-Z]{1,2}\)?$")
_ROW_NUMBER = re.compile(r"^\d{1,4}[.)]?\s+(?=\S)")
_FOOTNOTE = re.compile(r"^(\(\s*[a-z0-9]{1,2}\s*\)|\*+|\u2020|note\b|source\b)", re.IGNORECASE)
_AMOUNT = re.compile(r"^(-|\()?\$?\s*(\d{1,3}(,\d{3})+|\d+)(\.\d+)?\)?$")
_EMPTY = {"", "-", "--", "\u2014", "\u2013", "N/A", "NA", "N.A.", "NONE", "*"}
_YES = {"Y", "YES", "X", "TRUE", "BD", "B/D"}
_NO = {"N", "NO", "FALSE"}
_DATE_FORMATS = ("%B %d, %Y", "%B %d %Y", "%b %d, %Y", "%b %d %Y", "%b. %d, %Y", "%m/%d/%Y", "%m/%d/%y",
                 "%Y-%m-%d", "%d-%b-%y", "%d-%b-%Y", "%d %B %Y")
EXCEL_EPOCH = date(1899, 12, 30)
_SPACES_RE = re.compile(r"\s+")
_SIGN_SPACE = re.compile(r"(?<=[-($])\s+")
_NUMBER_HEADER = re.compile(r"^(NO\.?|#|NUMBER|RANK)$")


class CftcFormatError(ValueError):
    """The file is not a CFTC monthly file this reader can read; ``reason_code`` and one sentence."""

    def __init__(self, reason_code: str, message: str):
        super().__init__(message)
        self.reason_code = reason_code
        self.message = message


@dataclass
class CftcFile:
    """What one published file says."""

    as_of_date: date
    filed_by: date | None
    sheet: str
    fields: tuple[str, ...]  # the fields its columns hold, left to right
    unrecognised: tuple[str, ...] = ()  # headers of columns that hold figures but no known field
    rows: list[dict] = field(default_factory=list)  # one per firm: field -> value


# -- cells --------------------------------------------------------------------------------------------------
def _text(cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip()


def _figure_text(cell) -> str:
    """A figure's text without footnote markers (but ``(5)`` alone is minus five, not a marker)."""
    text = _text(cell)
    return _SIGN_SPACE.sub("", strip_markers(text) or text)


def is_amount(cell) -> bool:
    if isinstance(cell, bool):
        return False
    if isinstance(cell, (int, float)):
        return True
    text = _figure_text(cell)
    return bool(text) and bool(_AMOUNT.match(text))


def parse_amount(cell) -> int | None:
    """Whole dollars from a number or from text such as ``1,234,567``, ``(1,234)``, ``-1,234``, ``$12``
    or ``1,234 (a)``; None for a blank, a dash or N/A. Raises ValueError for anything else."""
    if isinstance(cell, bool):
        raise ValueError("a true/false cell")
    if isinstance(cell, (int, float)):
        if cell != cell:  # NaN
            return None
        return int(round(cell))
    text = _figure_text(cell)
    if text.upper() in _EMPTY:
        return None
    match = _AMOUNT.match(text)
    if not match or (text.startswith("(") != text.endswith(")")):
        raise ValueError("not an amount")
    negative = text.startswith("(") or text.startswith("-")
    value = int(round(float(match[2].replace(",", "") + (match[4] or ""))))
    return -value if negative else value


def parse_date(cell) -> date | None:
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    if isinstance(cell, (int, float)) and not isinstance(cell, bool):
        if 20000 <= cell <= 80000:  # an Excel serial day number in a cell without a date format
            return EXCEL_EPOCH + timedelta(days=int(cell))
        raise ValueError("a number, not a date")
    text = strip_markers(_text(cell)).rstrip(".")
    if text.upper() in _EMPTY:
        return None
    text = _SPACES_RE.sub(" ", text)
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError("not a date")


def _registration(text: str) -> str | None:
    upper = text.upper().rstrip("?")
    if upper in _YES:
        return "FCM BD"
    if upper in _NO:
        return "FCM"
    return text or None


def firm_name(cell) -> str:
    """The firm as the file names it: without a leading row number, footnote markers or extra spaces."""
    text = _SPACES_RE.sub(" ", _text(cell))
    return strip_markers(_ROW_NUMBER.sub("", text))


# -- the sheet ----------------------------------------------------------------------------------------------
def _letter(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def _date_after(cells: list, i: int, rest: str) -> date | None:
    """The date a title gives after its words, in the same cell or the next one; None when there is none."""
    try:
        return parse_date(rest.strip() or (cells[i + 1] if i + 1 < len(cells) else ""))
    except ValueError:
        return None


def _title_dates(grid: list[list]) -> tuple[date | None, date | None, int]:
    """(as-of date, filed-by date, index of the last title row) from the first rows of the sheet."""
    as_of = filed_by = None
    last = -1
    for r, row in enumerate(grid[:15]):
        cells = [c for c in row if _text(c)]
        for i, cell in enumerate(cells):
            text = _text(cell)
            if filed_by is None and (match := _FILED_BY.search(text)):
                filed_by = _date_after(cells, i, match[1])
                last = r if filed_by else last
            elif as_of is None and (match := _TITLE.search(text)):
                as_of = _date_after(cells, i, match[1])
                last = r if as_of else last
    return as_of, filed_by, last


def _is_firm_row(row: list) -> bool:
    texts = [c for c in row if isinstance(c, str) and re.search(r"[A-Za-z]{2}", c)]
    return bool(texts) and sum(1 for c in row if _text(c) and is_amount(c)) >= 3


def _is_letters_row(row: list) -> bool:
    cells = [_text(c) for c in row if _text(c)]
    return len(cells) >= 3 and all(_LETTER.match(c.upper()) for c in cells)


def _header_rows(grid: list[list], first_data: int, title_end: int) -> list[int]:
    """The rows of column headers: up to four non-blank rows right above the first firm row (a blank row or
    the title ends them; a row of column letters is skipped)."""
    rows: list[int] = []
    r = first_data - 1
    while r > title_end and len(rows) < MAX_HEADER_ROWS:
        row = grid[r]
        if not any(_text(c) for c in row):
            if rows:
                break
        elif not _is_letters_row(row):
            rows.insert(0, r)
        r -= 1
    return rows


def _headers(grid: list[list], rows: list[int], merges: list, width: int) -> list[str]:
    """Each column's header: the text of its header cells top to bottom, a merged cell's text in every
    column it spans."""
    cells = {(r, c): _text(grid[r][c]) for r in rows for c in range(width) if c < len(grid[r])}
    for (r0, c0), (r1, c1) in merges:
        text = _text(grid[r0][c0]) if r0 < len(grid) and c0 < len(grid[r0]) else ""
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                if r in rows and c < width and (r, c) != (r0, c0) and not cells.get((r, c)):
                    cells[(r, c)] = text if r == r0 else ""  # a cell merged downwards reads once
    return [" ".join(t for r in rows if (t := cells.get((r, c)))) for c in range(width)]


def _map_columns(headers: list[str], sheet: str) -> dict[int, Column]:
    found: dict[str, int] = {}
    mapped: dict[int, Column] = {}
    for index, header in enumerate(headers):
        col = field_of(header)
        if col is None:
            continue
        if col.field in found:
            first = found[col.field]
            raise CftcFormatError(
                "cftc_layout", f"sheet {sheet!r}: columns {_letter(first)} ({normalize_header(headers[first])!r}) "
                               f"and {_letter(index)} ({normalize_header(header)!r}) both read as {col.description}")
        found[col.field] = index
        mapped[index] = col
    missing = [column(name).description for name in REQUIRED if name not in found]
    if missing:
        raise CftcFormatError("cftc_layout", f"sheet {sheet!r}: no column header reads as "
                                             + " or ".join(repr(m) for m in missing)
                                             + f" (headers found: {'; '.join(h for h in headers if h)[:300]})")
    return mapped


def _value(cell, col: Column, where: str):
    try:
        if col.type == "money":
            return parse_amount(cell)
        if col.type == "date":
            return parse_date(cell)
    except ValueError:
        raise CftcFormatError("cftc_bad_value", f"{where}: {_text(cell)!r} is not "
                                                + ("an amount" if col.type == "money" else "a date")
                                                + f" ({col.description})") from None
    text = strip_markers(_SPACES_RE.sub(" ", _text(cell)))
    if col.type == "registration":
        return _registration(text)
    return text or None


def _read_sheet(name: str, grid: list[list], merges: list) -> CftcFile:
    as_of, filed_by, title_end = _title_dates(grid)
    if as_of is None:
        raise CftcFormatError("cftc_layout", f"sheet {name!r}: no title 'SELECTED FCM FINANCIAL DATA AS OF "
                                             "<month-end>' with a date in its first rows")
    first_data = next((r for r in range(title_end + 1, len(grid)) if _is_firm_row(grid[r])), None)
    if first_data is None:
        raise CftcFormatError("cftc_layout", f"sheet {name!r}: no row of a firm with its figures below the "
                                             "title")
    width = max(len(row) for row in grid)
    header_rows = _header_rows(grid, first_data, title_end)
    if not header_rows:
        raise CftcFormatError("cftc_layout", f"sheet {name!r}: no column headers above the first firm "
                                             f"(row {first_data + 1})")
    headers = _headers(grid, header_rows, merges, width)
    mapped = _map_columns(headers, name)
    firm_column = next(i for i, c in mapped.items() if c.field == "firm")
    value_columns = [i for i, c in mapped.items() if c.field != "firm"]
    rows = []
    for r in range(first_data, len(grid)):
        row = grid[r] + [""] * (width - len(grid[r]))
        name_text = firm_name(row[firm_column])
        if not name_text or _FOOTNOTE.match(name_text) or name_text.upper().startswith("TOTAL"):
            continue
        if not any(_text(row[i]) for i in value_columns):
            continue  # a section heading or a footnote that happens to sit in the firm column
        record = {"firm": name_text}
        for i in value_columns:
            col = mapped[i]
            record[col.field] = _value(row[i], col, f"sheet {name!r} row {r + 1} column {_letter(i)}")
        rows.append(record)
    unrecognised = tuple(normalize_header(header) for i, header in enumerate(headers)
                         if i not in mapped and header and not _NUMBER_HEADER.match(normalize_header(header))
                         and any(i < len(row) and _text(row[i]) and is_amount(row[i]) for row in grid[first_data:]))
    fields = tuple(mapped[i].field for i in sorted(mapped))
    return CftcFile(as_of, filed_by, name, fields, unrecognised, rows)


#: what must never be taken for a damaged file (calamine's panics are BaseExceptions too)
_STOP = (KeyboardInterrupt, SystemExit, GeneratorExit)


@contextmanager
def _rust_panics_unprinted():
    """Keep calamine's Rust panic messages (several lines on the process's stderr, before the panic
    reaches Python as an exception) from the user's terminal: the one-line rejection says it all."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def read_cftc_file(data: bytes, name: str = "file") -> CftcFile:
    """The firms' rows of a published file (xlsx or xls bytes). Raises ``CftcFormatError``."""
    from python_calamine import CalamineWorkbook
    try:
        with _rust_panics_unprinted():
            workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except _STOP:
        raise
    except BaseException as exc:  # calamine's errors, or a panic of its Rust code on damaged bytes
        raise CftcFormatError("cftc_unreadable", f"not a spreadsheet that can be read (xlsx or xls): "
                                                 f"{_first_line(exc)}") from None
    problems = []
    try:
        for sheet_name in workbook.sheet_names:
            try:
                with _rust_panics_unprinted():
                    sheet = workbook.get_sheet_by_name(sheet_name)
                    grid = [list(row) for row in sheet.to_python(skip_empty_area=False)]
                    merges = list(sheet.merged_cell_ranges or [])
            except _STOP:
                raise
            except BaseException as exc:  # a damaged sheet: calamine's errors, or a panic of its Rust code
                problems.append(CftcFormatError("cftc_unreadable", f"sheet {sheet_name!r} cannot be read: "
                                                                   f"{_first_line(exc)}"))
                continue
            if not grid:
                continue
            try:
                return _read_sheet(sheet_name, grid, merges)
            except CftcFormatError as exc:
                problems.append(exc)
    finally:
        workbook.close()
    if not problems:
        raise CftcFormatError("cftc_layout", f"{name}: the workbook has no sheet with any cells")
    # the sheet that got furthest says what is missing (a bad value beats a missing header beats no title)
    order = {"cftc_bad_value": 0, "cftc_layout": 1}
    best = min(problems, key=lambda e: (order.get(e.reason_code, 2), "no title" in e.message))
    raise best
