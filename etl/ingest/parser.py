"""Parsing one Daily Seg filing into its header, the statements it contains and every coded value.

The parser works from the form's rules, not from one firm's bytes: after ``text_layout.normalize`` a
filing is a header (``INITIAL``/``AMENDED``, ``End Date:``, ``Firm Name:``, ``Form:``, ``Submit Date:``,
on separate lines, in table cells or run together with ``**``), statement titles
(``Daily Segregation - ...``) and lines carrying ``value [code]`` pairs. A code's value is the number
right before it: the last number inside the underline that ends there, or, where values are not
underlined, the last token before the code when it is shaped like an amount. Values with no code are
ignored, blank values are ``None``, and a code missing from the catalog is kept and reported. The whole
file is scanned once with compiled patterns.

Dates are ``M/D/YYYY`` (also ``-`` or ``.`` between the parts, or ISO ``YYYY-MM-DD``). A two-digit
year follows the POSIX pivot: ``00``-``69`` are 2000-2069, ``70``-``99`` are 1970-1999 (so ``13`` is
2013 and ``12/31/99`` is 1999, which is then refused as too early). An End Date before 2000 or more
than a week after today is refused: no filing is that old, and none is filed for days to come.
PDF filings (bytes starting with ``%PDF-``) are read into reading-order text by ``etl.ingest.pdf`` and
parsed the same way; each of their values records the page it is printed on.

A file that is not a filing, or carries a value that is not a number, raises ``RejectedFiling`` with a
reason and, where it has one, the line number in the file as received (for a PDF, the page).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import NamedTuple

from etl.clock import utc_now
from etl.ingest.amounts import AmountError, looks_like_amount, read_amount
from etl.form.catalog import Catalog, load_catalog
from etl.ingest.pdf import PdfLimits, UnreadablePdf, is_pdf, read_pdf
from etl.ingest.text_layout import UNDERLINE_CLOSE, UNDERLINE_OPEN, UnreadableText, decode, looks_like_html, normalize

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
TWO_DIGIT_YEAR_PIVOT = 70  # two-digit years below it are 20xx, from it 19xx
EARLIEST_END_DATE = date(2000, 1, 1)
END_DATE_FUTURE_DAYS = 7  # an End Date more than this many days after today is refused


class RejectedFiling(Exception):
    """A file that cannot be loaded; ``reason`` is a short key, ``message`` says why in words."""

    def __init__(self, reason: str, message: str, line_no: int | None = None):
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.line_no = line_no

    def __str__(self) -> str:
        where = f" (line {self.line_no})" if self.line_no else ""
        return f"{self.message}{where}"


@dataclass(frozen=True)
class Header:
    status: str  # INITIAL | AMENDED
    end_date: date
    firm: str
    form: str | None
    submit_date: date | None


class ParsedValue(NamedTuple):
    statement: str
    code: str
    value: int | None
    line: str
    label: str
    page: int | None = None  # the PDF page the value is printed on (None for text and HTML)


@dataclass
class ParsedFiling:
    header: Header
    values: list[ParsedValue]
    statements: tuple[str, ...]
    unknown_codes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    source_format: str = "text"  # text | html | pdf
    page_count: int | None = None  # pages of a PDF


# Case-insensitive alternations are slow in ``re``; find the cheap anchors first (a colon, the status
# words in their usual spellings) and check the words around them.
_FIELD_WORDS = ("End", "END", "end", "Submit", "SUBMIT", "submit", "Firm", "FIRM", "firm", "Form", "FORM", "form")
_FIELD_LABEL_AT = re.compile(r"(End\s*Date|Submit\s*Date|Firm\s*Name|Form)\s*:", re.IGNORECASE)
_FIELD_VALUE = re.compile(r"[ \t]*((?:(?!\*\*)[^\n])*)")
_FIELD_STOP = re.compile(r"\b(?:End\s*Date|Submit\s*Date|Firm\s*Name|Form)\s*:", re.IGNORECASE)
_STATUS_WORDS = ("INITIAL", "AMENDED", "Initial", "Amended", "initial", "amended")  # all seven letters
_TITLE_WORDS = ("Daily", "DAILY", "daily")
_TITLE = re.compile(
    r"(?:Daily|DAILY|daily)\s+(?:Segregation|SEGREGATION|segregation)\s*[-\u2013\u2014:]?\s*([^\n\t*]{0,80})")
_CODE = re.compile(r"\[\s*(\d{4})\s*\]")
# An underlined value right before its code (groups 1, 2), or a bare code (group 3) whose value is
# worked out from the text before it.
_PAIR = re.compile(r"\x01([^\x01\x02\n]*)\x02[ \t]*\[\s*(\d{4})\s*\]|\[\s*(\d{4})\s*\]")
_DATE = re.compile(r"(\d{1,2})\s*[/.-]\s*(\d{1,2})\s*[/.-]\s*(\d{2,4})|(\d{4})-(\d{1,2})-(\d{1,2})")
_LINE_PREFIX = re.compile(r"^\s*(\d{1,2}(?:\.[A-Za-z])?[.)]?|[A-Za-z][.)])(?:\s+|$)")
_UNDERLINE_MARKS = str.maketrans("", "", UNDERLINE_OPEN + UNDERLINE_CLOSE)
_SPACES = " \t"


def classify_title(title: str) -> str | None:
    """The statement a ``Daily Segregation - ...`` title names, or None if it names none we know."""
    t = title.lower()
    if "cover" in t:
        return "cover"
    if "secured" in t or "30.7" in t or "foreign" in t:
        return "secured"
    if "swap" in t:
        return "swaps"
    if "segregation" in t or "4d(2)" in t:
        return "segregation"
    return None


def _field_key(label: str) -> str:
    return "".join(label.split()).lower()  # "End  Date" -> "enddate"


def _read_date(text: str) -> date | None:
    m = _DATE.search(text)
    if m is None:
        return None
    if m[4]:
        year, month, day = int(m[4]), int(m[5]), int(m[6])
    else:
        month, day, year = int(m[1]), int(m[2]), int(m[3])
        if year < 100 and len(m[3]) == 2:
            year += 1900 if year >= TWO_DIGIT_YEAR_PIVOT else 2000
    try:
        parsed = date(year, month, day)
    except ValueError:
        return None
    return parsed if 1900 <= parsed.year <= 2999 else None


class _Locator:
    """Line numbers of positions, computed only when a rejection needs one."""

    def __init__(self, normalized: str, original: str):
        self.normalized = normalized
        self.original = original

    def line_of(self, pos: int, token: str | None = None) -> int:
        if token:
            # Report the line in the file as received (HTML normalisation moves lines around).
            found = self.original.find(token)
            if found >= 0:
                return self.original.count("\n", 0, found) + 1
        return self.normalized.count("\n", 0, pos) + 1


def _positions(t: str, words: tuple[str, ...]) -> list[int]:
    """Start of every occurrence of any of ``words`` (plain substring search, in order)."""
    found = []
    for word in words:
        pos = t.find(word)
        while pos >= 0:
            found.append(pos)
            pos = t.find(word, pos + 1)
    return sorted(found)


def _header_fields(t: str):
    """(label, value, position) of every ``Label: value`` header field, in order."""
    for pos in _positions(t, _FIELD_WORDS):
        if pos and t[pos - 1].isalnum():
            continue  # inside a word ("Platform:")
        label = _FIELD_LABEL_AT.match(t, pos)
        if label is None:
            continue
        value = _FIELD_VALUE.match(t, label.end())[1]
        stop = _FIELD_STOP.search(value)
        if stop is not None:
            value = value[:stop.start()]
        yield " ".join(label[1].split()), " ".join(value.replace("*", " ").split()), pos


def _stands_alone(t: str, start: int, end: int) -> bool:
    """A status word alone in its field: between line ends, tabs or ``**`` separators."""
    before = t[max(0, start - 8):start].rstrip(" ")
    after = t[end:end + 8].lstrip(" ")
    return ((not before or before[-1] in "\n\t" or before.endswith("**"))
            and (not after or after[0] in "\n\t" or after.startswith("**")))


def _read_header(t: str, locate: _Locator) -> tuple[Header, list[str]]:
    notes: list[str] = []
    fields: dict[str, tuple[str, int]] = {}
    for label, value, pos in _header_fields(t):
        key = _field_key(label)
        if not value:
            continue
        if key not in fields:
            fields[key] = (value, pos)
            continue
        first = fields[key][0]
        same = (_read_date(first) == _read_date(value)) if key.endswith("date") else (first == value)
        if not same:
            raise RejectedFiling(
                "conflicting_headers",
                f"the file holds more than one filing: {label} is {first!r} in one header and {value!r} in another",
                locate.line_of(pos, value),
            )
    statuses = {t[p:p + 7].upper() for p in _positions(t, _STATUS_WORDS) if _stands_alone(t, p, p + 7)}
    if "enddate" not in fields and "firmname" not in fields:
        raise RejectedFiling("not_a_filing", "not a Daily Seg filing: no header with End Date and Firm Name")
    for key, label in (("enddate", "End Date"), ("firmname", "Firm Name")):
        if key not in fields:
            raise RejectedFiling("incomplete_header", f"the header has no {label}")
    form = fields.get("form", (None, 0))[0]
    if form is not None and not form.lower().startswith("daily seg"):
        raise RejectedFiling("wrong_form", f"the form is {form!r}, not a Daily Seg filing",
                             locate.line_of(fields["form"][1], form))
    end_text, end_pos = fields["enddate"]
    end_date = _read_date(end_text)
    if end_date is None:
        raise RejectedFiling("bad_date", f"End Date {end_text!r} is not a date", locate.line_of(end_pos, end_text))
    latest = utc_now().date() + timedelta(days=END_DATE_FUTURE_DAYS)
    if not EARLIEST_END_DATE <= end_date <= latest:
        when = (f"before {EARLIEST_END_DATE.year}" if end_date < EARLIEST_END_DATE
                else f"more than {END_DATE_FUTURE_DAYS} days after today")
        raise RejectedFiling("date_out_of_range", f"End Date {end_text!r} is {end_date}, {when}: a mistyped date?",
                             locate.line_of(end_pos, end_text))
    submit_date = None
    if "submitdate" in fields:
        submit_text, submit_pos = fields["submitdate"]
        submit_date = _read_date(submit_text)
        if submit_date is None:
            raise RejectedFiling("bad_date", f"Submit Date {submit_text!r} is not a date",
                                 locate.line_of(submit_pos, submit_text))
        if submit_date < end_date:
            notes.append(f"Submit Date {submit_date} is before End Date {end_date}")
    if "AMENDED" in statuses:
        status = "AMENDED"
        if "INITIAL" in statuses:
            notes.append("some statements are marked INITIAL and some AMENDED; loaded as AMENDED")
    elif "INITIAL" in statuses:
        status = "INITIAL"
    else:
        status = "INITIAL"
        notes.append("the header does not say INITIAL or AMENDED; loaded as INITIAL")
    firm = fields["firmname"][0]
    return Header(status=status, end_date=end_date, firm=firm, form=form, submit_date=submit_date), notes


def _value_before(t: str, line_start: int, code_start: int) -> tuple[str | None, bool, int]:
    """The raw value right before a code, whether it is certainly the value, and where the label ends.

    Underlined: the last number inside the underline that ends at the code. Otherwise: the table cell
    before the code when the line has cells (tabs), else the last word before the code. A cell of its
    own after the label's cell is the value cell, so text there that is not an amount is the value,
    unreadable, not the end of the label (a print with no value cell puts the label right before the code).
    """
    end = code_start
    while end > line_start and t[end - 1] in _SPACES:
        end -= 1
    if end > line_start and t[end - 1] == UNDERLINE_CLOSE:
        open_at = t.rfind(UNDERLINE_OPEN, line_start, end)
        if open_at >= 0:
            tokens = t[open_at + 1:end - 1].translate(_UNDERLINE_MARKS).split()
            return (tokens[-1] if tokens else None), True, open_at
        end -= 1  # a stray closing mark: read what is before it
    segment = t[line_start:end]
    tab = segment.rfind("\t")
    cell = segment[tab + 1:].translate(_UNDERLINE_MARKS)
    if not cell.strip():
        return None, False, line_start + max(tab, 0)
    if tab >= 0 and _is_amount(cell):
        return cell.strip(), False, line_start + tab
    last = cell.split()[-1]
    if last.endswith("]"):
        return None, False, end  # the previous pair's code: this value is blank
    if tab >= 0 and any(_is_label(before) for before in segment[:tab].split("\t")):
        return cell.strip(), True, line_start + tab
    return last, False, end - len(last)


def _is_label(cell: str) -> bool:
    """A cell holding words: not empty, not only a line number (``1.``, ``A.``, ``10.B``), not a code."""
    number = _LINE_PREFIX.match(cell)
    words = cell[number.end():] if number else cell
    return any(c.isalpha() for c in words)


def _is_amount(text: str) -> bool:
    try:
        return read_amount(text) is not None
    except AmountError:
        return False


def _line_and_label(t: str, line_start: int, label_end: int) -> tuple[str, str]:
    """The printed line number and label of a code the catalog does not know.

    A wrapped label (the code on the line after its words) takes the words of the line above.
    """
    text = _CODE.sub(" ", t[line_start:label_end].translate(_UNDERLINE_MARKS))
    number = _LINE_PREFIX.match(text)
    line = number[1].rstrip(".)") if number else ""
    label = " ".join((text[number.end():] if number else text).split())
    prev_end = line_start - 1
    while not label and prev_end > 0:
        prev_start = t.rfind("\n", 0, prev_end) + 1
        previous = _CODE.sub(" ", t[prev_start:prev_end].translate(_UNDERLINE_MARKS))
        number = _LINE_PREFIX.match(previous)
        if number and not line:
            line = number[1].rstrip(".)")
        label = " ".join((previous[number.end():] if number else previous).split())
        prev_end = prev_start - 1
    return line[:12], label


class _Pages:
    """The page of each position of a text whose lines start pages at ``page_starts`` (positions asked for
    in increasing order, so the whole text is scanned once)."""

    def __init__(self, t: str, page_starts: tuple[int, ...]):
        self.t, self.starts = t, page_starts
        self.pos = self.line = 0

    def at(self, pos: int) -> int:
        self.line += self.t.count("\n", self.pos, pos)
        self.pos = pos
        return max(1, bisect_right(self.starts, self.line))


def parse_text(t: str, original: str, catalog: Catalog | None = None,
               page_starts: tuple[int, ...] | None = None) -> ParsedFiling:
    """Parse an already normalized text; ``original`` is the decoded file, for line numbers. For the text
    of a PDF, ``page_starts`` are the lines its pages start at, and each value records its page."""
    catalog = catalog or load_catalog()
    pages = _Pages(t, page_starts) if page_starts is not None else None
    locate = _Locator(t, original)
    pairs = list(_PAIR.finditer(t))
    titles = [(m.start(), classify_title(m[1])) for p in _positions(t, _TITLE_WORDS) if (m := _TITLE.match(t, p))]
    if not pairs and not titles and "End Date" not in t and "Firm Name" not in t:
        raise RejectedFiling("not_a_filing", "not a Daily Seg filing: no header, statement or coded line")
    header, notes = _read_header(t, locate)
    if not pairs and not titles:
        raise RejectedFiling("no_statement", "the file has a header but no statement and no coded line")

    statements: dict[str, None] = dict.fromkeys(s for _, s in titles if s)
    values: list[ParsedValue] = []
    seen: dict[tuple[str, str], int | None] = {}
    unknown: list[str] = []
    statement_of = catalog.statement_of
    lines = catalog.lines_on(header.end_date)
    next_title, section = 0, None
    for m in pairs:
        start = m.start()
        while next_title < len(titles) and titles[next_title][0] <= start:
            section = titles[next_title][1]
            next_title += 1
        content, code = m.group(1, 2)
        line_start = label_end = None
        if code is not None:  # the common case: <u>value</u> [code]
            words = content.split()
            raw, certain = (words[-1] if words else None), True
        else:
            code = m[3]
            line_start = t.rfind("\n", 0, start) + 1
            raw, certain, label_end = _value_before(t, line_start, start)
        statement = statement_of.get(code) or section or "unknown"
        value: int | None = None
        if raw is not None:
            try:
                value = read_amount(raw)
            except AmountError:
                if certain or looks_like_amount(raw):
                    if statement == "cover":
                        notes.append(f"cover page code {code}: {raw!r} is not an amount; not loaded")
                        continue
                    raise RejectedFiling(
                        "bad_number", f"the value of code {code} is {raw!r}, which is not a number",
                        locate.line_of(start, raw),
                    ) from None
                value = None  # the label's last word, the value itself is blank
        key = (statement, code)
        if key in seen:
            if seen[key] != value:
                notes.append(f"code {code} appears twice ({seen[key]} and {value}); kept the first")
            continue
        seen[key] = value
        known = lines.get(code)
        if known is None:
            unknown.append(code)
            if line_start is None:
                line_start = t.rfind("\n", 0, start) + 1
                label_end = start
            line, label = _line_and_label(t, line_start, label_end)
        else:
            line, label = known
            if section and section != statement and section != "cover":
                notes.append(f"code {code} ({statement}) appears under the {section} title")
        values.append(ParsedValue(statement, code, value, line, label, pages.at(start) if pages else None))
        statements.setdefault(statement)
    return ParsedFiling(header=header, values=values, statements=tuple(statements), unknown_codes=unknown,
                        notes=notes)


def parse_pdf(data: bytes, catalog: Catalog | None = None, limits: PdfLimits | None = None) -> ParsedFiling:
    """Parse a PDF filing: its text in reading order (``etl.ingest.pdf``), each value with its page."""
    try:
        document = read_pdf(data, limits)
    except UnreadablePdf as exc:
        raise RejectedFiling(exc.reason, exc.message) from None
    try:
        parsed = parse_text(normalize(document.text, html_page=False), document.text, catalog, document.page_starts)
    except RejectedFiling as rejection:  # say the page: line numbers of extracted text mean nothing to a reader
        if rejection.line_no:
            rejection.message += f" (page {document.page_of_line(rejection.line_no - 1)})"
        raise RejectedFiling(rejection.reason, rejection.message) from None
    parsed.source_format, parsed.page_count = "pdf", document.page_count
    parsed.notes.extend(document.notes)
    return parsed


def parse_filing(data: bytes, source: str = "", catalog: Catalog | None = None,
                 max_bytes: int = DEFAULT_MAX_BYTES, pdf_limits: PdfLimits | None = None) -> ParsedFiling:
    """Parse the bytes of one filing file (text, HTML or PDF), or raise ``RejectedFiling`` saying why it
    cannot load. ``pdf_limits`` bound the time and memory reading a PDF may take."""
    if len(data) > max_bytes:
        raise RejectedFiling("too_large", f"the file is {len(data):,} bytes, over the {max_bytes:,}-byte limit")
    if not data.strip():
        raise RejectedFiling("empty", "the file is empty")
    if is_pdf(data):
        return parse_pdf(data, catalog, pdf_limits)
    try:
        text = decode(data)
    except UnreadableText as exc:
        raise RejectedFiling("binary", str(exc)) from None
    html_page = looks_like_html(text)
    parsed = parse_text(normalize(text, html_page), text, catalog)
    if html_page:
        parsed.source_format = "html"
    return parsed
