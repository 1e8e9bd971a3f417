"""Data quality: the form's arithmetic and the regulatory facts as Great Expectations checks.

``checks`` reads the non-arithmetic checks (``expectations/checks.csv``); ``compile`` turns the rules,
checks and catalog into the check-frame SQL view and the GX expectation suites; ``frames`` computes the
frames GX validates; ``gx_runner`` runs GX (no network, no analytics); ``findings`` turns GX's
unexpected rows into ``dq_results`` rows with messages an analyst can act on; ``validate`` runs it all.
"""
