"""Filings for tests, benchmarks and the demo: a synthetic industry of firms (``firms``), the shape of each
statement in each era (``plan``), their day-by-day values (``values``), the text and HTML layouts
(``render``), files on disk (``files``), the real sample filing and the demo."""

from pathlib import Path

#: A real filing (Citigroup Global Markets, End Date 31 December 2013), as text.
SAMPLE_FILING = Path(__file__).parent / "samples" / "citigroup-global-markets-2013-12-31.txt"
