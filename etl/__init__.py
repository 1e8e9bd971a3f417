"""dailyseg: futures commission merchants' daily segregation filings as a tested data warehouse.

The package owns the whole path from a folder of filings to warehouse tables: the form's catalog and
rules (read from data files), the parser, the lake and warehouse writers, the data-quality checks,
alerts and the analyst layer. The Airflow DAGs in ``dags/`` and the ``dailyseg`` CLI are thin callers.
"""

__version__ = "0.1.0"


class UserError(Exception):
    """A problem the person running dailyseg can act on (bad arguments, a busy or unreachable warehouse, a
    misconfigured channel): the CLI prints its message as one line, with no traceback. Every such error of
    the package derives from it, so the CLI needs to import none of the modules that raise them."""
