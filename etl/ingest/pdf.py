"""Reading a PDF filing into the text the parser reads, with the page each line is on.

Most firms publish their Daily Seg filings as PDFs (the WinJammer print of the filing). A file whose
bytes start with ``%PDF-`` is read here, whatever its name: ``read_pdf`` returns its text in reading
order, one printed line per line, the line each page starts at and the page count, and
``etl.ingest.parser`` parses that text like any other layout.

**Extraction by position.** Producers write text objects in any order (a value column before the
labels, a page footer first), so the text is put together from where words are on the page, never
from the order of the content stream: each word's box comes from PDFium's boxes of its first and last
characters, words are grouped into lines top to bottom and joined left to right, a wide gap becoming a
tab (a column break, as between the text layout's cells). Library and method chosen by measurement, on
generated 4-7 page filings, CPU per filing on a loaded 2-core machine: opening the pages and PDFium's
text layer costs about 6 ms whatever follows; then pypdfium2's plain text takes 0.5 ms more but comes
in content-stream order; every character's box, one call per character, 10-13 ms more; each text
run's box and text (one call per run, but each scans the page) 13-22 ms more; the two end characters
of each word, which this module uses, 5-6 ms more, plus about 1.5 ms to build the lines. pdfplumber
(pdfminer.six) gives position-ordered text in about 150 ms per filing.

Other traits of real prints: ``Page N of M`` footers are dropped, so a statement continues across a
page break; in a monospaced print of the text layout a long line wraps, so a line that starts with a
``[code]`` right after a line ending in an underlined value is joined back to it.

**Bad and hostile PDFs.** Reading happens in a child process with a bound on time and memory per file
(``etl.processes.BoundedWorker``: one child reads file after file, and is replaced after a failure), so
a PDF that takes too long, exhausts memory or crashes the reader is rejected with a reason and the run
goes on, whether the run parses in workers or, for a few files, in the loader itself. Damaged or truncated files, files that need a password, scans with no text
layer and files with far more pages than a filing are rejected with their own reasons. Nothing in a
PDF is executed or fetched: PDFium's form and JavaScript support is never initialised, and embedded
files, links and actions are not read.
"""

from __future__ import annotations

import bisect
import ctypes
import re
from dataclasses import dataclass
from operator import itemgetter
from typing import NamedTuple

from etl.settings import Settings

PDF_MAGIC = b"%PDF-"
MAX_PAGES = 100  # a Daily Seg filing prints on a handful of pages
MAX_TEXT_CHARS = 2_000_000  # a filing is about 10,000 characters
_FOOTER = re.compile(r"\s*(?:page\s+\d+(?:\s*(?:of|/)\s*\d+)?|-\s*\d+\s*-|\d+\s*/\s*\d+)\s*", re.IGNORECASE)
_STARTS_WITH_CODE = re.compile(r"\s*\[\s*\d{4}\s*\]")
_ENDS_WITH_UNDERLINED = re.compile(r"<\s*/\s*u\s*>\s*$", re.IGNORECASE)
_CONTROL = dict.fromkeys(range(32), " ")  # control characters separate words, like spaces


class UnreadablePdf(ValueError):
    """A PDF that cannot be read as a filing; ``reason`` is a short key, ``message`` says why."""

    def __init__(self, reason: str, message: str):
        super().__init__(reason, message)
        self.reason = reason
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class PdfLimits:
    """What reading one PDF may take (``DAILYSEG_PDF_SECONDS``, ``DAILYSEG_PDF_MEMORY_MB``)."""

    seconds: float = Settings.pdf_seconds
    memory_mb: int = Settings.pdf_memory_mb

    @classmethod
    def of(cls, settings: Settings) -> PdfLimits:
        return cls(settings.pdf_seconds, settings.pdf_memory_mb)


class PdfText(NamedTuple):
    text: str                   # reading-order lines, joined by newlines
    page_starts: tuple[int, ...]  # the index of the first line of each page (pages from 1)
    page_count: int
    notes: tuple[str, ...] = ()   # what the reader noticed (a page with no text, ...)

    def page_of_line(self, index: int) -> int:
        """The page (from 1) that line ``index`` (from 0) of ``text`` is on."""
        return max(1, bisect.bisect_right(self.page_starts, index))


def is_pdf(data: bytes) -> bool:
    """Whether the bytes are a PDF: they start with ``%PDF-`` (after any leading whitespace)."""
    return data[:1024].lstrip()[:5] == PDF_MAGIC


_readers: dict[PdfLimits, object] = {}


def _reader(limits: PdfLimits):
    """This process's bounded reader child for these limits (started on first use)."""
    from etl.processes import BoundedWorker
    reader = _readers.get(limits)
    if reader is None:
        import pypdfium2  # noqa: F401  (initialises PDFium here, so the reader child inherits it)
        reader = _readers[limits] = BoundedWorker(_extract, limits.seconds, limits.memory_mb << 20)
    return reader


def close_readers() -> None:
    """Stop the reader children this process started (the end of a run)."""
    while _readers:
        _readers.popitem()[1].close()


def read_pdf(data: bytes, limits: PdfLimits | None = None) -> PdfText:
    """The filing's text in reading order, or ``UnreadablePdf`` saying why it cannot be read."""
    from etl.processes import Overrun
    limits = limits or PdfLimits()
    if b"%%EOF" not in data[-2048:]:
        raise UnreadablePdf("pdf_truncated", "the PDF is truncated (it does not end with %%EOF): an incomplete "
                                             "download? Fetch it again")
    try:
        outcome = _reader(limits).call(data)
    except Overrun as overrun:
        if overrun.kind == "error":  # a defect of this module, not of the file: not a rejection reason
            raise RuntimeError(f"the PDF reader failed: {overrun.detail}") from None
        if overrun.kind == "time":
            raise UnreadablePdf("pdf_timeout", f"reading the PDF took over {limits.seconds:g} s "
                                               "(DAILYSEG_PDF_SECONDS); a filing takes milliseconds") from None
        raise UnreadablePdf("pdf_resources", f"reading the PDF stopped abruptly ({overrun.detail}): it needs more "
                                             f"than the {limits.memory_mb} MB a PDF may use (DAILYSEG_PDF_MEMORY_MB) "
                                             "or is built to crash readers") from None
    if isinstance(outcome, UnreadablePdf):
        raise outcome
    return outcome


# -- in the bounded child ------------------------------------------------------------------------------------
def _extract(data: bytes) -> PdfText | UnreadablePdf:
    try:
        return _read_document(data)
    except UnreadablePdf as exc:
        return exc


_LOAD_ERRORS = {
    2: ("pdf_damaged", "the PDF cannot be opened: its file structure is damaged"),
    3: ("pdf_damaged", "the PDF is damaged: its structure cannot be read (a broken or incomplete download?)"),
    4: ("pdf_password", "the PDF needs a password to open; only PDFs that open without one can be loaded"),
    5: ("pdf_encryption", "the PDF is encrypted with a method that cannot be opened"),
}


def _read_document(data: bytes) -> PdfText:
    import pypdfium2.raw as pdfium
    buffer = (ctypes.c_char * len(data)).from_buffer_copy(data)
    document = pdfium.FPDF_LoadMemDocument64(buffer, len(data), None)  # an empty user password opens
    if not document:
        code = pdfium.FPDF_GetLastError()
        reason, message = _LOAD_ERRORS.get(code, ("pdf_damaged", f"the PDF cannot be opened (PDFium error {code})"))
        raise UnreadablePdf(reason, message)
    try:
        pages = pdfium.FPDF_GetPageCount(document)
        if pages < 1:
            raise UnreadablePdf("pdf_damaged", "the PDF has no pages")
        if pages > MAX_PAGES:
            raise UnreadablePdf("pdf_too_many_pages", f"the PDF has {pages:,} pages; a Daily Seg filing prints on a "
                                                      f"few (at most {MAX_PAGES} are read)")
        lines: list[str] = []
        page_starts: list[int] = []
        blank_pages: list[int] = []
        images = 0
        chars = 0
        for index in range(pages):
            page = pdfium.FPDF_LoadPage(document, index)
            if not page:
                raise UnreadablePdf("pdf_damaged", f"page {index + 1} of the PDF cannot be read: the file is damaged")
            try:
                page_starts.append(len(lines))
                page_lines = _page_lines(pdfium, page)
                if not page_lines:
                    blank_pages.append(index + 1)
                    images += _count_images(pdfium, page)
                lines += page_lines
                chars += sum(map(len, page_lines))
                if chars > MAX_TEXT_CHARS:
                    raise UnreadablePdf("pdf_too_much_text", "the PDF holds far more text than a filing")
            finally:
                pdfium.FPDF_ClosePage(page)
    finally:
        pdfium.FPDF_CloseDocument(document)
    if len(blank_pages) == pages:
        if images:
            raise UnreadablePdf("pdf_no_text", "scanned image: no text layer; OCR is not supported")
        raise UnreadablePdf("pdf_no_text", "the PDF has no text")
    notes = tuple(f"page {p} of the PDF has no text (a scanned page?); nothing on it was read" for p in blank_pages)
    lines, page_starts = _join_wrapped(lines, page_starts)
    return PdfText("\n".join(lines), tuple(page_starts), pages, notes)


def _count_images(pdfium, page) -> int:
    return sum(pdfium.FPDFPageObj_GetType(pdfium.FPDFPage_GetObject(page, i)) == pdfium.FPDF_PAGEOBJ_IMAGE
               for i in range(min(pdfium.FPDFPage_CountObjects(page), 10_000)))


_WORD = re.compile(r"\S+")


def _page_text(pdfium, textpage) -> str:
    """The page's characters in content-stream order (one call), PDFium's inserted spaces and line breaks
    included, control characters as spaces: index ``i`` is character ``i`` of the text page."""
    n = pdfium.FPDFText_CountChars(textpage)
    if n <= 0:
        return ""
    buffer = ctypes.create_string_buffer((n + 1) * 2)
    pdfium.FPDFText_GetText(textpage, 0, n, ctypes.cast(buffer, ctypes.POINTER(ctypes.c_ushort)))
    text = buffer.raw[:n * 2].decode("utf-16-le", "replace")
    if len(text) != n or any("\ud800" <= c <= "\udfff" for c in text):  # characters outside the BMP
        text = "".join(chr(pdfium.FPDFText_GetUnicode(textpage, i)) for i in range(n))
    return text.translate(_CONTROL)


def _words(pdfium, textpage) -> list[tuple[float, float, float, float, str]]:
    """The page's words (runs of non-space characters in stream order) as ``(-middle, height, left, right,
    text)``, from the loose boxes of their first and last characters (font ascent to descent: the same for
    every character on a line). ``middle`` is the vertical centre in PDF space, where larger is higher."""
    text = _page_text(pdfium, textpage)
    box = pdfium.FS_RECTF()
    char_box = pdfium.FPDFText_GetLooseCharBox
    words = []
    for match in _WORD.finditer(text):
        start, end = match.span()
        char_box(textpage, start, box)
        left, bottom, top = box.left, box.bottom, box.top
        if end - start > 1:
            char_box(textpage, end - 1, box)
        words.append((-0.5 * (top + bottom), abs(top - bottom), min(left, box.left), max(left, box.right),
                      match.group()))
    return words


def _page_lines(pdfium, page) -> list[str]:
    textpage = pdfium.FPDFText_LoadPage(page)
    if not textpage:
        return []
    try:
        words = _words(pdfium, textpage)
    finally:
        pdfium.FPDFText_ClosePage(textpage)
    return [line for line in _lines(words) if not _FOOTER.fullmatch(line)]


def _lines(words: list[tuple]) -> list[str]:
    """Words grouped into lines top to bottom (words whose vertical centres are within about half a line
    of each other), each line's words joined left to right."""
    out: list[str] = []
    line: list[tuple] = []
    middle = height = 0.0
    for word in sorted(words):
        if line and word[0] - middle <= 0.45 * max(height, word[1]):
            line.append(word)
            height = max(height, word[1])
            continue
        if line:
            out.append(_join(line, height))
        line, middle, height = [word], word[0], word[1]
    if line:
        out.append(_join(line, height))
    return out


def _join(line: list[tuple], height: float) -> str:
    """One line's words left to right: a gap wider than a few spaces is a column break (a tab, as between
    the text layout's cells), a smaller one a space, none at all joins them (glyphs placed one by one)."""
    line.sort(key=itemgetter(2))
    parts = [line[0][4]]
    tab, space = 1.2 * height, 0.12 * height
    for previous, word in zip(line, line[1:]):
        gap = word[2] - previous[3]
        parts.append("\t" if gap > tab else " " if gap > space else "")
        parts.append(word[4])
    return "".join(parts)


def _join_wrapped(lines: list[str], page_starts: list[int]) -> tuple[list[str], list[int]]:
    """Join a ``[code]`` that a monospaced print wrapped onto the next line back to its underlined value;
    page starts move with the lines."""
    out: list[str] = []
    starts = iter(page_starts)
    next_start = next(starts, None)
    new_starts: list[int] = []
    for index, line in enumerate(lines):
        while next_start is not None and next_start <= index:
            new_starts.append(len(out))
            next_start = next(starts, None)
        if out and _STARTS_WITH_CODE.match(line) and _ENDS_WITH_UNDERLINED.search(out[-1]):
            out[-1] = f"{out[-1]} {line.lstrip()}"
            continue
        out.append(line)
    while next_start is not None:  # pages with no line at the end
        new_starts.append(len(out))
        next_start = next(starts, None)
    return out, new_starts
