"""Reading PDF filings: every print style gives exactly the values of the same filing as text, each value
keeps its page, and bad or hostile PDFs end as clean rejections within their bounds."""

from __future__ import annotations

import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pypdfium2 as pdfium
import pytest

from etl.ingest.parser import RejectedFiling, parse_filing
from etl.ingest.pdf import PdfLimits, is_pdf, read_pdf
from etl.synthetic.pdf_layout import PdfStyle
from etl.synthetic.render import RenderStyle
from tests.ingest import pdf_files as files

STYLES = {
    "columns": (PdfStyle(), RenderStyle()),
    "content stream in random order": (PdfStyle(shuffled=True), RenderStyle(paren_negatives=True)),
    "encrypted, empty user password": (PdfStyle(encrypted=True), RenderStyle()),
    "large print, statements over page breaks": (PdfStyle(font_size=11, continued_titles=False), RenderStyle()),
    "continued titles, values on a label's first line": (PdfStyle(font_size=10.5, values_on_first_line=True),
                                                         RenderStyle(paren_negatives=True)),
    "small print, header on four lines": (PdfStyle(font_size=8, header_on_one_line=False), RenderStyle()),
    "monospaced print of the text layout": (PdfStyle(mono=True, mono_columns=84), RenderStyle()),
    "monospaced, shuffled and encrypted": (PdfStyle(mono=True, mono_columns=92, shuffled=True, encrypted=True),
                                           RenderStyle(paren_negatives=True)),
}
STYLES_RANK = {"monospaced, shuffled and encrypted": 3, "small print, header on four lines": 2}  # other firms


def values_of(parsed) -> list[tuple]:
    return [(v.statement, v.code, v.value, v.line, v.label) for v in parsed.values]


def stream_order_text(pdf: bytes) -> list[str]:
    """Each page's text in content-stream order (what a reader that ignores positions gets)."""
    document = pdfium.PdfDocument(pdf)
    return [document[i].get_textpage().get_text_range() for i in range(len(document))]


@pytest.mark.parametrize("name", STYLES)
def test_each_print_style_reads_value_for_value_like_the_same_filing_as_text(name):
    pdf_style, style = STYLES[name]
    text, pdf = files.twins(pdf_style, style, rank=STYLES_RANK.get(name, 0))
    from_text, from_pdf = parse_filing(text), parse_filing(pdf)
    assert from_pdf.header == from_text.header
    assert from_pdf.statements == from_text.statements and len(from_pdf.statements) == 4  # cover + three
    assert values_of(from_pdf) == values_of(from_text)
    assert (from_pdf.unknown_codes, from_pdf.notes) == (from_text.unknown_codes, from_text.notes) == ([], [])
    assert (from_pdf.source_format, from_text.source_format) == ("pdf", "text")
    assert from_pdf.page_count == len(pdfium.PdfDocument(pdf)) and from_text.page_count is None
    assert all(v.page for v in from_pdf.values) and not any(v.page for v in from_text.values)
    if style.paren_negatives:
        assert re.search(rb"\(\d{1,3}(,\d{3})*\)", text) and any(v.value < 0 for v in from_pdf.values)


def test_reading_order_comes_from_positions_not_from_the_content_stream():
    _, pdf = files.twins(PdfStyle(shuffled=True))
    codes_in_stream = re.findall(r"\[(\d{4})\]", "".join(stream_order_text(pdf)))
    parsed = parse_filing(pdf)
    assert sorted(codes_in_stream) == sorted(v.code for v in parsed.values)
    assert codes_in_stream != [v.code for v in parsed.values]  # a reader in stream order would pair them wrongly


def test_an_encrypted_pdf_with_an_empty_user_password_opens():
    text, pdf = files.twins(PdfStyle(encrypted=True))
    assert b"/Encrypt" in pdf and b"/Encrypt" not in files.twins(PdfStyle())[1]
    assert values_of(parse_filing(pdf)) == values_of(parse_filing(text))


def test_each_value_keeps_its_page_across_page_breaks_and_footers():
    _, pdf = files.twins(PdfStyle(font_size=11))
    parsed = parse_filing(pdf)
    pages = stream_order_text(pdf)
    for value in parsed.values:
        assert f"[{value.code}]" in pages[value.page - 1], (value.code, value.page)
    split = {s for s in parsed.statements if len({v.page for v in parsed.values if v.statement == s}) > 1}
    assert split, "no statement ran over a page break"
    assert all(f"Page {n} of {len(pages)}" in page for n, page in enumerate(pages, 1))
    assert not re.search(r"Page \d+ of", read_pdf(pdf).text)  # footers are not part of the filing's text


def test_a_code_wrapped_onto_the_next_line_of_a_monospaced_print_joins_its_value():
    text, pdf = files.twins(PdfStyle(mono=True, mono_columns=84))
    assert re.search(r"</u>\r?\n\[\d{4}\]", "".join(stream_order_text(pdf)))  # the print did wrap
    assert values_of(parse_filing(pdf)) == values_of(parse_filing(text))


def test_the_real_sample_printed_as_a_pdf_loads_value_for_value(sample_text, sample_expected):
    parsed = parse_filing(files.text_print(sample_text))
    assert {(v.statement, v.code): v.value for v in parsed.values} == sample_expected
    assert parsed.header.firm == "Citigroup Global Markets Inc." and parsed.page_count == 2
    assert {v.page for v in parsed.values} == {1, 2}


def test_a_mistyped_value_in_a_pdf_is_rejected_with_its_page(sample_text):
    with pytest.raises(RejectedFiling) as rejected:
        parse_filing(files.text_print(sample_text.replace("4,362,131,678", "4,36l,131,678"), lines_per_page=40))
    assert rejected.value.reason == "bad_number"
    assert "4,36l,131,678" in rejected.value.message and rejected.value.message.endswith("(page 2)")
    assert rejected.value.line_no is None  # a line of extracted text means nothing to someone with the PDF


def test_pdfs_are_recognised_by_content():
    _, pdf = files.twins(PdfStyle())
    assert is_pdf(pdf) and is_pdf(b"\n  " + pdf)
    assert not is_pdf(b"INITIAL\nEnd Date:1/2/2016 %PDF-") and not is_pdf(b"")


def _slow_pdf() -> bytes:
    """Legal, but hundreds of thousands of tiny text objects: seconds of work for a reader."""
    return files.pdf_document([b"BT /F1 1 Tf " + b"(ab) Tj 0.1 0 Td " * 400_000 + b"ET"])


BAD = {
    "scanned page": (files.scanned_pdf, "pdf_no_text", "scanned image: no text layer; OCR is not supported"),
    "needs a password": (lambda text: files.password_pdf(text), "pdf_password", "needs a password"),
    "truncated download": (lambda text: files.text_print(text)[:2500], "pdf_truncated", "truncated"),
    "damaged": (lambda text: b"%PDF-1.7\n" + bytes(range(256)) * 20 + b"\n%%EOF\n", "pdf_damaged", "damaged"),
    "not a filing": (files.letter_pdf, "not_a_filing", "not a Daily Seg filing"),
    "thousands of pages": (lambda: files.many_pages_pdf(3000), "pdf_too_many_pages", "3,000 pages"),
    "decompression bomb": (lambda: files.deflate_bomb(192), "pdf_resources", "32 MB"),
    "too slow": (_slow_pdf, "pdf_timeout", "over 0.3 s"),
    "nested 200,000 deep": (lambda: files.nested_pdf(), "not_a_filing", "not a Daily Seg filing"),
}
LIMITS = {"decompression bomb": PdfLimits(10, 32), "too slow": PdfLimits(0.3, 256)}


@pytest.mark.parametrize("name", BAD)
def test_bad_and_hostile_pdfs_are_rejected_with_their_reason_within_the_bounds(name, sample_text):
    make, reason, words = BAD[name]
    data = make(sample_text) if make.__code__.co_argcount else make()
    limits = LIMITS.get(name, PdfLimits())
    started = time.monotonic()
    with pytest.raises(RejectedFiling) as rejected:
        parse_filing(data, pdf_limits=limits)
    assert rejected.value.reason == reason
    assert words in rejected.value.message
    assert time.monotonic() - started < limits.seconds + 5


@pytest.mark.parametrize("bad, limits, reason", [
    (lambda: files.deflate_bomb(192), PdfLimits(10, 32), "pdf_resources"),  # the reader crashes out of memory
    (_slow_pdf, PdfLimits(0.3, 256), "pdf_timeout"),  # the reader is stopped at its deadline
], ids=["crash", "stall"])
def test_after_a_pdf_that_crashes_or_stalls_the_reader_the_next_one_reads(sample_text, bad, limits, reason):
    good = files.text_print(sample_text)
    outcomes = []
    for data in (good, bad(), good, bad(), good):
        try:
            outcomes.append(len(parse_filing(data, pdf_limits=limits).values))
        except RejectedFiling as rejected:
            outcomes.append(rejected.reason)
    assert outcomes == [80, reason, 80, reason, 80]


class _Recorder(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802
        self.hits.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_javascript_actions_links_and_embedded_files_are_never_run_or_fetched(sample_text, tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    marker = tmp_path / "launched"
    n = 4 + 2 * 2  # the first extra object of a two-page pdf_document
    objects = [
        f"<< /S /JavaScript /JS (app.launchURL\\(\"{url}/js\", true\\); this.submitForm\\(\"{url}/form\"\\);) >>".encode(),
        f"<< /Type /Filespec /F (run.sh) /EF << /F {n + 2} 0 R >> >>".encode(),
        f"<< /Type /EmbeddedFile /Length {len(str(marker)) + 6} >>\nstream\ntouch {marker}\nendstream".encode(),
        f"<< /Type /Annot /Subtype /Link /Rect [0 0 612 792] /A << /S /Launch /F (/bin/touch) "
        f"/Win << /F (touch) /P ({marker}) >> >> >>".encode(),
        f"<< /Type /Annot /Subtype /Link /Rect [0 0 612 792] /A << /S /URI /URI ({url}/link) >> >>".encode(),
    ]
    pdf = files.text_print(
        sample_text, catalog=f"/OpenAction {n} 0 R /Names << /EmbeddedFiles << /Names [(run.sh) {n + 1} 0 R] >> "
                             f"/JavaScript << /Names [(open) {n} 0 R] >> >>".encode(),
        page=f"/Annots [{n + 3} 0 R {n + 4} 0 R] /AA << /O {n} 0 R >>".encode(), objects=objects)
    try:
        parsed = parse_filing(pdf)
        time.sleep(0.3)
    finally:
        server.shutdown()
    assert len(parsed.values) == 80 and parsed.page_count == 2
    assert _Recorder.hits == [] and not marker.exists()
