"""Coverage-guided fuzzing of the PDF path with atheris (libFuzzer): any bytes behind a ``%PDF-`` header
must give a parsed filing or a clean ``RejectedFiling`` (damaged, truncated, too slow, too hungry, ...),
never another exception and never a stalled or crashed loader, within the reader's time bound.

    .venv/bin/python benchmarks/fuzz_pdf.py -runs=20000              # seeded with generated PDFs
    .venv/bin/python benchmarks/fuzz_pdf.py -max_total_time=600 corpus/

The corpus is seeded with generated filings in several print styles (columns, content stream in random
order, encrypted, a monospaced print of the text layout), compressed and uncompressed, so mutations
start from what firms publish. Inputs are read the way ``dailyseg ingest`` reads them: PDFium runs in
the bounded reader child (``etl.ingest.pdf``), so a PDFium crash or hang is a rejection, not a crash of
this process; what the fuzzer hunts is anything else. An input without the header gets one (and an
``%%EOF`` trailer), so that random bytes reach PDFium rather than stopping at the header check.
"""

from __future__ import annotations

import random
import sys
import tempfile
from datetime import date
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from etl.ingest.parser import ParsedFiling, RejectedFiling, parse_filing
    from etl.ingest.pdf import PdfLimits

SAMPLE = Path(__file__).resolve().parents[1] / "etl" / "synthetic" / "samples" / "citigroup-global-markets-2013-12-31.txt"
LIMITS = PdfLimits(seconds=5, memory_mb=256)


def one_input(data: bytes) -> None:
    if not data.lstrip().startswith(b"%PDF-"):
        data = b"%PDF-1.7\n" + data + b"\n%%EOF\n"
    try:
        result = parse_filing(data, pdf_limits=LIMITS)
    except RejectedFiling:
        return
    assert isinstance(result, ParsedFiling)


def _plain_print(text: str) -> bytes:
    """The real sample as an uncompressed monospaced print (byte mutations then hit the content stream)."""
    from fpdf import FPDF
    pdf = FPDF(unit="pt", format="letter")
    pdf.set_compression(False)
    pdf.set_auto_page_break(False)
    lines = text.expandtabs(8).splitlines()
    for start in range(0, len(lines), 70):
        pdf.add_page()
        pdf.set_font("Courier", size=8)
        for n, line in enumerate(lines[start:start + 70]):
            pdf.text(36, 40 + 10 * n, line)
    return bytes(pdf.output())


def seed_corpus() -> str:
    from etl.synthetic.firms import make_firms
    from etl.synthetic.pdf_layout import PdfStyle, render_pdf
    from etl.synthetic.values import build_values, cover_page
    folder = Path(tempfile.mkdtemp(prefix="dailyseg-fuzz-pdf-seed-"))
    (folder / "sample.pdf").write_bytes(_plain_print(SAMPLE.read_text(encoding="utf-8")))
    day = date(2016, 3, 14)
    styles = {"columns": PdfStyle(), "shuffled": PdfStyle(shuffled=True), "encrypted": PdfStyle(encrypted=True),
              "mono": PdfStyle(mono=True)}
    for (name, style), firm in zip(styles.items(), make_firms(len(styles), seed=3)):
        state: dict = {}
        values = build_values(firm, day, random.Random(name), state)
        (folder / f"{name}.pdf").write_bytes(render_pdf(firm.name, day, date(2016, 3, 15), "INITIAL", values,
                                                        random.Random(name), style=firm.style,
                                                        cover=cover_page(firm, state), pdf_style=style))
    return str(folder)


def main(argv: list[str]) -> None:
    from fuzz_parser import run_fuzzer
    # each input may take the reader's own bound, plus parsing; inputs stay about the size of a filing
    run_fuzzer(argv, one_input, seed_corpus, {"timeout": str(int(LIMITS.seconds) + 10), "max_len": "65536"})


if __name__ == "__main__":
    main(sys.argv)
