"""
### daily_seg_load: the nightly load of futures commission merchants' Daily Seg filings

Runs once per US business day **D** (the run's logical date), at 12:30 New York time on the next
business day, once the day's filings are due (noon ET):

First, **fetch** downloads what the firms' web sites published into the landing zone (sources: the file
`DAILYSEG_SOURCES`, else the Variable `dailyseg_sources`, else `$DAILYSEG_HOME/sources.csv`; nothing to do
when there is none): dated addresses for D and the four business days before it, index pages as they
are. A source that fails is logged and the others go on; the task fails only when it cannot run. Then:

1. **ingest**: loads every new file in the landing zone (`DAILYSEG_LANDING`, a folder or an fsspec URL)
   into the warehouse and the Parquet lake; bad files go to the quarantine with their reason.
   Re-running changes nothing (files are recognised by content).
2. **publish**: marks the warehouse tables as updated (Airflow Assets), which triggers `daily_seg_report`
   (the analyst report); it runs as soon as the load succeeded, even when checks later fail.
3. **validate**: runs every data-quality check (Great Expectations) on the filings whose End Date is D.
   Fails, without retrying, when a deficiency or an error is found.
4. **alert**: sends new findings by email and Slack (connections `dailyseg_smtp`, `dailyseg_slack`),
   whether or not validation passed.

The warehouse comes from `DAILYSEG_WAREHOUSE`, else the connection `dailyseg_warehouse`, else the
embedded DuckDB under `DAILYSEG_HOME`. Backfill a range (both dates included) with
`airflow backfill create --dag-id daily_seg_load --from-date 2016-02-01 --to-date 2016-03-31 --max-active-runs 2`
(on the embedded DuckDB every run queues on one writer lock, so more at once gains nothing).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import ExceptionRetryPolicy, RetryAction, RetryRule, dag, get_current_context, task

from etl.airflow import tasks
from etl.airflow.assets import FILINGS, SEG_VALUES
from etl.airflow.timetable import BusinessDayTimetable

# Transient failures (a warehouse briefly unreachable) are retried with backoff; wrong data is not.
RETRY_POLICY = ExceptionRetryPolicy(rules=[
    RetryRule(exception="etl.airflow.steps.ChecksFailed", action=RetryAction.FAIL,
              reason="the filings fail their checks: a retry cannot change that"),
])


@dag(
    dag_id="daily_seg_load",
    schedule=BusinessDayTimetable(),
    start_date=pendulum.datetime(2016, 1, 4, tz="America/New_York"),
    catchup=False,
    max_active_runs=1,  # runs of the embedded warehouse queue on its writer lock anyway
    doc_md=__doc__,
    tags=["dailyseg", "ingest", "data-quality"],
    default_args={
        "owner": "dailyseg",
        "retries": 3,
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
        "retry_policy": RETRY_POLICY,
        "on_failure_callback": tasks.on_failure,
    },
)
def daily_seg_load():
    @task
    def fetch() -> dict:
        """Download new filings from the firms' web sites into the landing zone."""
        return tasks.run_fetch(get_current_context())

    @task
    def ingest() -> dict:
        """Load what is new in the landing zone."""
        return tasks.run_ingest()

    @task(outlets=[SEG_VALUES, FILINGS])
    def publish(loaded: dict) -> dict:
        """Announce the updated warehouse tables to downstream DAGs."""
        return tasks.run_publish(get_current_context())

    @task
    def validate(loaded: dict) -> dict:
        """Check the filings of the run's business day; fail visibly on errors and deficiencies."""
        return tasks.run_validate(get_current_context())

    @task(trigger_rule="all_done")
    def alert() -> dict:
        """Send new findings to email and Slack (runs whether validation passed or failed)."""
        return tasks.run_alert(get_current_context())

    loaded = ingest()
    fetch() >> loaded
    publish(loaded)
    validate(loaded) >> alert()


daily_seg_load()
