"""How a Daily Seg filing looks as a PDF: the WinJammer print that firms post on their web sites.

``render_pdf`` prints one filing the way published copies look: a letter-spaced
``W I N J A M M E R   F I L I N G`` banner, ``INITIAL`` (or ``AMENDED``), the header fields once, then
one page or more per statement (the cover page first when the form has one) and ``Page N of M`` at the
foot of every page. Each line has its number, its label wrapped over as many lines as its column needs,
and its values right-aligned and underlined in a value column with the ``[code]`` beside them; a
subtotal prints in a second value column on the line of its component.

Firms' print software differs, and each firm keeps its own habits (``PdfStyle.of``): the font size (so
some statements run over a page break, with or without a "(continued)" title), text objects written in
an order unrelated to reading order, encryption with an empty user password (the copy opens, editing
is forbidden), negatives as ``(1,234)``, or a monospaced print of the text layout itself, whose long
lines wrap so that a value can end one line while its ``[code]`` starts the next.

The lines themselves (which lines, their order, numbers, labels and pairs) come from
``etl.synthetic.render``, so the PDF carries exactly what the text and HTML layouts carry.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timezone

from etl.synthetic.render import (STATEMENT_TITLES, CoverPage, RenderStyle, cover_lines, format_amount, has_cover,
                                  render_text, statement_lines, statements_in_order, us_date)

BANNER = "W I N J A M M E R   F I L I N G"
PAGE_WIDTH, PAGE_HEIGHT = 612.0, 792.0  # US letter, in points
LEFT, RIGHT, TOP, BOTTOM, FOOTER = 36.0, 576.0, 48.0, 740.0, 766.0
MONO_TAB = 8


@dataclass(frozen=True)
class PdfStyle:
    """One firm's print habits (the same firm always prints the same way)."""

    font_size: float = 9.0
    mono: bool = False            # a print of the text layout in Courier, long lines wrapped
    mono_columns: int = 96        # where the monospaced print wraps
    shuffled: bool = False        # text written in an order unrelated to reading order
    encrypted: bool = False       # empty user password, editing forbidden
    continued_titles: bool = True  # a statement that runs over a page repeats its title "(continued)"
    header_on_one_line: bool = True
    values_on_first_line: bool = False  # a wrapped label's values on its first line, not its last

    @classmethod
    def of(cls, firm_name: str) -> PdfStyle:
        rng = random.Random(f"pdf-style:{firm_name}")
        return cls(
            font_size=rng.choice((8.0, 9.0, 9.0, 10.0, 10.5)),
            mono=rng.random() < 0.2,
            mono_columns=rng.choice((84, 92, 100)),
            shuffled=rng.random() < 0.35,
            encrypted=rng.random() < 0.3,
            continued_titles=rng.random() < 0.6,
            header_on_one_line=rng.random() < 0.7,
            values_on_first_line=rng.random() < 0.25,
        )


# -- what goes on a page ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Text:
    x: float
    y: float  # baseline, from the top of the page
    text: str
    size: float
    bold: bool = False
    mono: bool = False


@dataclass(frozen=True)
class _Rule:
    x1: float
    x2: float
    y: float


class _Pages:
    """Pages of text and rules, filled top to bottom."""

    def __init__(self, leading: float):
        self.pages: list[list] = []
        self.leading = leading
        self.y = 0.0
        self.new_page()

    def new_page(self) -> None:
        self.pages.append([])
        self.y = TOP

    def fits(self, lines: int) -> bool:
        return self.y + lines * self.leading <= BOTTOM

    def put(self, item) -> None:
        self.pages[-1].append(item)


class _Metrics:
    """String widths in the core fonts (the same metrics the PDF viewer uses)."""

    def __init__(self, pdf):
        self.pdf = pdf

    def width(self, text: str, size: float, bold: bool = False, mono: bool = False) -> float:
        self.pdf.set_font("Courier" if mono else "Helvetica", "B" if bold else "", size)
        return self.pdf.get_string_width(text)

    def wrap(self, text: str, width: float, size: float, bold: bool = False) -> list[str]:
        words, lines, current = text.split(), [], ""
        for word in words:
            trial = f"{current} {word}" if current else word
            if current and self.width(trial, size, bold) > width:
                lines.append(current)
                current = word
            else:
                current = trial
        return lines + [current] if current else lines or [""]


def _latin1(text: str) -> str:
    """The core fonts print Windows-1252; anything else becomes '?' (names are Latin-1 already)."""
    return text.encode("cp1252", "replace").decode("cp1252")


# -- the WinJammer print ---------------------------------------------------------------------------------
class _Columns:
    """Where things print for a font size: number, label, and two value/code pairs at the right."""

    def __init__(self, metrics: _Metrics, size: float):
        self.size = size
        code_width = metrics.width("[0000]", size)
        value_width = metrics.width("(15,000,000,000)", size) + 4
        gap = size * 0.6
        self.code2 = RIGHT - code_width
        self.value2 = self.code2 - gap  # right edge of the value
        self.code1 = self.value2 - value_width - 2 * gap - code_width
        self.value1 = self.code1 - gap
        self.value_width = value_width
        self.number = LEFT
        self.label = LEFT + size * 2.8
        self.label_width = self.value1 - value_width - gap - self.label


def _put_pair(pages: _Pages, metrics: _Metrics, cols: _Columns, y: float, right: float, code_x: float,
              shown: str, code: str) -> None:
    size = cols.size
    if shown:
        pages.put(_Text(right - metrics.width(shown, size), y, shown, size))
    pages.put(_Rule(right - cols.value_width, right, y + size * 0.2))
    pages.put(_Text(code_x, y, f"[{code}]", size))


def _body(pages: _Pages, metrics: _Metrics, cols: _Columns, title: str, statement: str, day: date,
          values: dict[str, int], style: PdfStyle, parens: bool) -> None:
    size, leading = cols.size, pages.leading

    def continue_on_next_page() -> None:
        pages.new_page()
        if style.continued_titles:
            pages.put(_Text(LEFT, pages.y, f"{title} (continued)", size + 1, bold=True))
            pages.y += leading * 1.5

    for line in statement_lines(statement, day):
        if line.free:
            if not line.label:
                pages.y += leading * 0.5
                continue
            wrapped = metrics.wrap(line.label, RIGHT - LEFT, size, bold=True)
            if not pages.fits(len(wrapped)):
                continue_on_next_page()
            for text in wrapped:
                pages.put(_Text(LEFT, pages.y, _latin1(text), size, bold=True))
                pages.y += leading
            continue
        wrapped = metrics.wrap(_latin1(line.label), cols.label_width, size)
        if not pages.fits(len(wrapped)):
            continue_on_next_page()
        top = pages.y
        if line.number:
            pages.put(_Text(cols.number, top, line.number, size))
        for n, text in enumerate(wrapped):
            pages.put(_Text(cols.label, top + n * leading, text, size))
        y = top if style.values_on_first_line else top + (len(wrapped) - 1) * leading
        if len(line.codes) == 2:
            places = [(cols.value1, cols.code1), (cols.value2, cols.code2)]
        else:  # a lettered sub-line in the inner column, a numbered line in the outer one
            places = [(cols.value2, cols.code2) if line.number else (cols.value1, cols.code1)] * len(line.codes)
        for code, (right, code_x) in zip(line.codes, places):
            _put_pair(pages, metrics, cols, y, right, code_x, format_amount(values.get(code), parens), code)
        pages.y = top + len(wrapped) * leading


def _winjammer_pages(metrics: _Metrics, firm_name: str, end_date: date, submit_date: date, status: str,
                     values: dict[str, dict[str, int]], style: RenderStyle, cover: CoverPage | None,
                     pdf_style: PdfStyle) -> list[list]:
    size = pdf_style.font_size
    cols = _Columns(metrics, size)
    pages = _Pages(leading=size * 1.45)
    pages.put(_Text((PAGE_WIDTH - metrics.width(BANNER, 12, bold=True)) / 2, pages.y, BANNER, 12, bold=True))
    pages.y += 30
    pages.put(_Text(LEFT, pages.y, status, size + 1, bold=True))
    pages.y += pages.leading * 1.6
    fields = [f"End Date:{us_date(end_date)}", f"Firm Name:{_latin1(firm_name)}", f"Form:{style.form_name}",
              f"Submit Date:{us_date(submit_date)}"]
    one_line = "   ".join(fields)
    if pdf_style.header_on_one_line and metrics.width(one_line, size) <= RIGHT - LEFT:
        fields = [one_line]
    for text in fields:
        pages.put(_Text(LEFT, pages.y, text, size))
        pages.y += pages.leading
    pages.y += pages.leading
    blocks = (["cover"] if has_cover(end_date) else []) + statements_in_order(values, style)
    for n, statement in enumerate(blocks):
        if n:
            pages.new_page()
        title = STATEMENT_TITLES[statement]
        pages.put(_Text(LEFT, pages.y, title, size + 1, bold=True))
        pages.y += pages.leading * 1.8
        if statement == "cover":
            rows = [(_latin1(label), _latin1(text)) for label, text in cover_lines(end_date, firm_name, cover)]
            text_x = min(cols.value1 - 40, RIGHT - max(metrics.width(text, size) for _, text in rows))
            for label, text in rows:
                wrapped = metrics.wrap(label, text_x - LEFT - 2 * size, size)
                for k, part in enumerate(wrapped):
                    pages.put(_Text(LEFT, pages.y + k * pages.leading, part, size))
                pages.put(_Text(text_x, pages.y, text, size))
                pages.y += len(wrapped) * pages.leading + 4
            continue
        _body(pages, metrics, cols, title, statement, end_date, values[statement], pdf_style, style.paren_negatives)
    return pages.pages


# -- a monospaced print of the text layout ---------------------------------------------------------------------
def _wrap_mono(line: str, columns: int) -> list[str]:
    """A printer's wrap: at the last space before the margin (words longer than a line are cut)."""
    out = []
    while len(line) > columns:
        cut = line.rfind(" ", 1, columns + 1)
        if cut <= 0:
            cut = columns
        out.append(line[:cut].rstrip(" "))
        line = line[cut:].lstrip(" ")
    return out + [line]


def _mono_pages(firm_name: str, end_date: date, submit_date: date, status: str,
                values: dict[str, dict[str, int]], rng: random.Random, style: RenderStyle,
                cover: CoverPage | None, pdf_style: PdfStyle) -> list[list]:
    # Header blocks never run together with ** here: a printer wrapping one would cut a firm's name
    # in two, and the published copies this mimics print each field on its own line.
    text = render_text(firm_name, end_date, submit_date, status, values, rng,
                       style=replace(style, run_together_rate=0.0), cover=cover)
    size, leading = 8.0, 10.0
    pages = _Pages(leading)
    for raw in text.replace("\r\n", "\n").split("\n"):
        for line in _wrap_mono(_latin1(raw.expandtabs(MONO_TAB)), pdf_style.mono_columns):
            if not pages.fits(1):
                pages.new_page()
            if line.strip():
                pages.put(_Text(LEFT, pages.y, line, size, mono=True))
            pages.y += leading
    return pages.pages


# -- the file ------------------------------------------------------------------------------------------------
def _document(end_date: date, submit_date: date, encrypted: bool):
    from fpdf import FPDF
    pdf = FPDF(unit="pt", format="letter")
    pdf.set_auto_page_break(False)
    pdf.set_margins(LEFT, TOP, PAGE_WIDTH - RIGHT)
    pdf.set_creator("NFA WinJammer")
    pdf.set_title(f"Daily Seg {us_date(end_date)}")
    pdf.set_creation_date(datetime.combine(submit_date, time(12, 0), tzinfo=timezone.utc))  # same bytes each run
    if encrypted:
        pdf.set_encryption(owner_password=f"winjammer-{end_date.isoformat()}", user_password="")
    return pdf


def _emit(pdf, pages: list[list], rng: random.Random, shuffled: bool) -> None:
    total = len(pages)
    for number, items in enumerate(pages, 1):
        footer = f"Page {number} of {total}"
        pdf.set_font("Helvetica", "", 8)
        items = items + [_Text((PAGE_WIDTH - pdf.get_string_width(footer)) / 2, FOOTER, footer, 8)]
        if shuffled:
            items = list(items)
            rng.shuffle(items)
        pdf.add_page()
        pdf.set_line_width(0.5)
        for item in items:
            if isinstance(item, _Rule):
                pdf.line(item.x1, item.y, item.x2, item.y)
            else:
                pdf.set_font("Courier" if item.mono else "Helvetica", "B" if item.bold else "", item.size)
                pdf.text(item.x, item.y, item.text)


def render_pdf(firm_name: str, end_date: date, submit_date: date, status: str,
               values: dict[str, dict[str, int]], rng: random.Random, *, style: RenderStyle | None = None,
               cover: CoverPage | None = None, pdf_style: PdfStyle | None = None) -> bytes:
    """One filing as a WinJammer-style PDF (see the module docstring); the same arguments give the same bytes."""
    style = style or RenderStyle.random(rng)
    pdf_style = pdf_style or PdfStyle.of(firm_name)
    pdf = _document(end_date, submit_date, pdf_style.encrypted)
    if pdf_style.mono:
        pages = _mono_pages(firm_name, end_date, submit_date, status, values, rng, style, cover, pdf_style)
    else:
        pages = _winjammer_pages(_Metrics(pdf), firm_name, end_date, submit_date, status, values, style, cover,
                                 pdf_style)
    _emit(pdf, pages, random.Random(f"order:{firm_name}|{end_date}|{status}"), pdf_style.shuffled)
    return bytes(pdf.output())
