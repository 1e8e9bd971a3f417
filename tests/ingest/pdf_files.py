"""PDF files built in the tests (test helpers): the real sample printed as a PDF, a filing in each print
style, and the bad and hostile PDFs the reader must reject cleanly. Nothing binary is committed."""

from __future__ import annotations

import random
import zlib
from datetime import date
from functools import lru_cache

from etl.synthetic.firms import make_firms
from etl.synthetic.pdf_layout import PdfStyle, render_pdf
from etl.synthetic.render import RenderStyle, render_text
from etl.synthetic.values import build_values, cover_page

DAY = date(2016, 3, 14)


# -- a PDF written object by object ------------------------------------------------------------------------
def _escape(text: str) -> bytes:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("cp1252", "replace")


def text_stream(lines: list[str], size: float = 8, leading: float = 10, top: float = 760) -> bytes:
    """A page's content stream printing ``lines`` in Courier, top to bottom."""
    body = [f"BT /F1 {size} Tf {leading} TL 36 {top} Td".encode()]
    body += [b"(" + _escape(line) + b") Tj T*" for line in lines]
    return b"\n".join(body + [b"ET"])


def pdf_document(contents: list, catalog: bytes = b"", page: bytes = b"", objects: list[bytes] = (),
                 compress: bool = True) -> bytes:
    """A PDF with one page per content stream (bytes, compressed here, or ``(filter, encoded bytes)``).
    ``catalog`` and ``page`` add entries to the catalog and to every page dictionary; ``objects`` are
    further objects, numbered from 4 + 2 * pages."""
    n = len(contents)
    first_extra = 4 + 2 * n
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(n))
    bodies = [b"<< /Type /Catalog /Pages 2 0 R " + catalog + b" >>",
              f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode(),
              b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier /Encoding /WinAnsiEncoding >>"]
    for i, stream in enumerate(contents):
        bodies.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> "
                      f">> /Contents {5 + 2 * i} 0 R ".encode() + page + b" >>")
        if isinstance(stream, tuple):
            filters, data = stream
        else:
            filters, data = ("/FlateDecode", zlib.compress(stream)) if compress else ("", stream)
        bodies.append(f"<< /Length {len(data)}{' /Filter ' + filters if filters else ''} >>\nstream\n".encode()
                      + data + b"\nendstream")
    assert len(bodies) == first_extra - 1
    bodies += list(objects)
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(bodies, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(bodies) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(bodies) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def text_print(text: str, lines_per_page: int = 70, **kwargs) -> bytes:
    """A monospaced print of a text filing (tabs expanded), as a PDF."""
    lines = text.expandtabs(8).splitlines()
    pages = [lines[i:i + lines_per_page] for i in range(0, len(lines), lines_per_page)] or [[]]
    return pdf_document([text_stream(p) for p in pages], **kwargs)


# -- generated filings -------------------------------------------------------------------------------------
def a_filing(rank: int = 0, day: date = DAY):
    """(firm name, values, cover) of one generated firm on ``day``."""
    firm = make_firms(6, seed=11)[rank]
    state: dict = {}
    values = build_values(firm, day, random.Random(f"values:{firm.slug}"), state)
    return firm.name, values, cover_page(firm, state)


def twins(pdf_style: PdfStyle, style: RenderStyle = RenderStyle(), rank: int = 0, day: date = DAY,
          status: str = "INITIAL") -> tuple[bytes, bytes]:
    """(text, PDF) of the same filing: the same values, printed the two ways."""
    name, values, cover = a_filing(rank, day)
    submit = date(day.year, day.month, day.day + 1) if day.day < 28 else day
    text = render_text(name, day, submit, status, values, random.Random(1), style=style, cover=cover)
    pdf = render_pdf(name, day, submit, status, values, random.Random(1), style=style, cover=cover,
                     pdf_style=pdf_style)
    return text.encode("utf-8"), pdf


# -- bad and hostile PDFs ----------------------------------------------------------------------------------
def scanned_pdf() -> bytes:
    """One page holding only an image (a scan), no text layer."""
    from fpdf import FPDF
    from PIL import Image, ImageDraw
    image = Image.new("L", (850, 1100), 255)
    ImageDraw.Draw(image).text((60, 60), "Daily Segregation - Segregation Statement", fill=0)
    pdf = FPDF(unit="pt", format="letter")
    pdf.add_page()
    pdf.image(image, x=0, y=0, w=612, h=792)
    return bytes(pdf.output())


def password_pdf(text: str) -> bytes:
    from fpdf import FPDF
    pdf = FPDF(unit="pt", format="letter")
    pdf.set_encryption(owner_password="owner", user_password="secret")
    pdf.add_page()
    pdf.set_font("Courier", size=8)
    for n, line in enumerate(text.expandtabs(8).splitlines()[:60]):
        pdf.text(36, 40 + 10 * n, line)
    return bytes(pdf.output())


def letter_pdf() -> bytes:
    return pdf_document([text_stream(["Dear customer,", "", "your statement for March is enclosed.",
                                      "Page 1 of 1"])])


@lru_cache(maxsize=2)
def deflate_bomb(expanded_mb: int) -> bytes:
    """A page whose content stream inflates (twice) from a few kilobytes to ``expanded_mb`` MB of spaces."""
    inner = zlib.compressobj(9)
    block = b" " * (1 << 20)
    once = b"".join(inner.compress(block) for _ in range(expanded_mb)) + inner.flush()
    return pdf_document([("[/FlateDecode /FlateDecode]", zlib.compress(once, 9))])


def nested_pdf(depth: int = 200_000) -> bytes:
    """A page whose resources nest arrays ``depth`` deep."""
    return pdf_document([text_stream(["INITIAL"])], page=b"/Nested " + b"[" * depth + b"]" * depth)


def many_pages_pdf(pages: int) -> bytes:
    return pdf_document([text_stream([f"page {n}"]) for n in range(pages)])
