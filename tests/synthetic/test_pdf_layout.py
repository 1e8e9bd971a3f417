"""The WinJammer-style PDFs the generator writes: the same bytes for the same arguments, each firm with its
own print habits and every habit present among firms, and ``generate`` writing PDF and mixed folders."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date

import pypdfium2 as pdfium

from etl.ingest.parser import parse_filing
from etl.synthetic.files import MIXED, firm_format, generate_filings
from etl.synthetic.firms import make_firms
from etl.synthetic.pdf_layout import BANNER, PdfStyle, render_pdf
from etl.synthetic.values import build_values, cover_page


def test_the_same_arguments_write_the_same_bytes_and_a_real_looking_print():
    firm = make_firms(3, seed=2)[1]
    state: dict = {}
    values = build_values(firm, date(2016, 3, 14), random.Random(1), state)

    def render(status="INITIAL"):
        return render_pdf(firm.name, date(2016, 3, 14), date(2016, 3, 15), status, values, random.Random(5),
                          style=firm.style, cover=cover_page(firm, state), pdf_style=PdfStyle(encrypted=True))

    first = render()
    assert first == render() and first != render("AMENDED")
    document = pdfium.PdfDocument(first)
    assert 4 <= len(document) <= 7
    page_one = document[0].get_textpage().get_text_range()
    assert " ".join(BANNER.split()) in page_one and "INITIAL" in page_one and f"Firm Name:{firm.name}" in page_one
    assert document.get_metadata_dict()["Creator"] == "NFA WinJammer"


def test_each_firm_keeps_its_habits_and_every_habit_occurs():
    styles = [PdfStyle.of(firm.name) for firm in make_firms(60, seed=9)]
    assert PdfStyle.of("Acme Futures LLC") == PdfStyle.of("Acme Futures LLC")
    for habit in ("mono", "shuffled", "encrypted", "continued_titles", "header_on_one_line", "values_on_first_line"):
        assert {getattr(s, habit) for s in styles} == {True, False}, habit
    assert len({s.font_size for s in styles}) >= 4


def test_generate_writes_pdf_and_mixed_folders_with_the_same_figures(tmp_path):
    window = dict(firms=6, start=date(2016, 3, 10), end=date(2016, 3, 11), seed=3, amend_rate=0)
    pdf = generate_filings(tmp_path / "pdf", fmt="pdf", **window)
    mixed = generate_filings(tmp_path / "mixed", fmt=MIXED, **window)
    text = generate_filings(tmp_path / "text", fmt="text", **window)
    assert pdf.by_format == {"pdf": 12} and text.by_format == {"text": 12}
    assert mixed.by_format == {"text": 8, "html": 2, "pdf": 2}
    assert Counter(firm_format(rank, MIXED) for rank in range(60)) == {"text": 40, "html": 10, "pdf": 10}
    for path in sorted((tmp_path / "mixed").rglob("*.*")):
        twin = tmp_path / "text" / path.relative_to(tmp_path / "mixed").with_suffix(".txt")
        from_file, from_text = parse_filing(path.read_bytes()), parse_filing(twin.read_bytes())
        assert from_file.source_format == {".txt": "text", ".html": "html", ".pdf": "pdf"}[path.suffix]
        assert [v[:3] for v in from_file.values] == [v[:3] for v in from_text.values]
