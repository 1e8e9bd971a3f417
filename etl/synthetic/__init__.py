"""Filings for tests, benchmarks and the demo: a synthetic industry of firms (``firms``), the shape of each
statement in each era (``plan``), their day-by-day values (``values``), the text and HTML layouts
(``render``) and the PDF prints (``pdf_layout``), the CFTC's monthly file (``cftc_file``), files on disk
(``files``), and the real sample filing."""

from pathlib import Path

#: A real filing (Citigroup Global Markets, End Date 31 December 2013), as text.
SAMPLE_FILING = Path(__file__).parent / "samples" / "citigroup-global-markets-2013-12-31.txt"
