"""The warehouse tables as Airflow Assets: ``daily_seg_load`` publishes them, downstream DAGs (the report)
are scheduled on them. One definition, imported by every DAG."""

from __future__ import annotations

from airflow.sdk import Asset

SEG_VALUES = Asset(name="dailyseg_seg_values", uri="dailyseg://warehouse/seg_values", group="dailyseg")
FILINGS = Asset(name="dailyseg_filings", uri="dailyseg://warehouse/filings", group="dailyseg")
