"""Reading filings and loading them: the text layout and amounts (``text_layout``, ``amounts``), the parser
(``parser``), the per-file work in worker processes (``workers``) and the ingest run (``run``)."""
