"""dailyseg: futures commission merchants' daily segregation filings as a tested data warehouse.

The package owns the whole path from a folder of filings to warehouse tables: the form's catalog and
rules (read from data files), the parser, the lake and warehouse writers, the data-quality checks,
alerts and the analyst layer. The Airflow DAGs in ``dags/`` and the ``dailyseg`` CLI are thin callers.
"""

__version__ = "0.1.0"
