"""
### daily_seg_report: the analyst report, rebuilt whenever new filings are published

Scheduled on the warehouse's Assets (`dailyseg://warehouse/seg_values`), so it runs after each
`daily_seg_load` run that published, and after a backfill's runs. It writes the static HTML report
with a PNG per chart (excess and excess % per firm and account class, targets and deficiency days
marked; industry totals and concentration) to `$DAILYSEG_HOME/report/index.html`, the same as
`dailyseg report`. The report covers the whole history in the warehouse. It takes a slot of the
pool `dailyseg_warehouse`, like every task that opens the warehouse.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, get_current_context, task

from etl.airflow import callbacks, tasks
from etl.airflow.assets import SEG_VALUES
from etl.airflow.config import WRITER_POOL


@dag(
    dag_id="daily_seg_report",
    schedule=[SEG_VALUES],
    start_date=pendulum.datetime(2016, 1, 4, tz="America/New_York"),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["dailyseg", "report"],
    default_args={
        "owner": "dailyseg",
        "pool": WRITER_POOL,  # reads the warehouse: on the embedded DuckDB, one process at a time
        "retries": 2,
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "on_failure_callback": callbacks.on_failure,
    },
)
def daily_seg_report():
    @task
    def report() -> dict:
        """Rebuild the HTML report and its charts from the warehouse."""
        return tasks.run_report(get_current_context())

    report()


daily_seg_report()
