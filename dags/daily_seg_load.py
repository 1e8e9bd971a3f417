"""
### daily_seg_load: the nightly load of futures commission merchants' Daily Seg filings

Runs once per US business day **D** (the run's logical date), at 12:30 New York time on the next
business day, once the day's filings are due (noon ET):

First, **fetch** downloads what the firms' web sites published into the landing zone (sources: the file
`DAILYSEG_SOURCES`, else the Variable `dailyseg_sources`, else `$DAILYSEG_HOME/sources.csv`; nothing to do
when there is none): dated addresses for D and the four business days before it, index pages as they
are. A source that fails is logged and the others go on; the task fails only when it cannot run. Then:

1. **ingest**: loads every new file in the landing zone (`DAILYSEG_LANDING`: a folder, or object storage
   through an Airflow connection, `s3://conn_id@bucket/prefix`) into the warehouse and the Parquet lake;
   bad files go to the quarantine with their reason. Re-running changes nothing (files are recognised
   by content). A damaged embedded warehouse is rebuilt from the lake first, with an alert.
2. **validate**: runs every data-quality check (Great Expectations) on D **and on every End Date whose
   filings this run loaded** (late filings, amendments of earlier days). Fails, without retrying, when a
   deficiency or an error is found (a firm silent for 3 business days is an error).
3. **publish**: marks the warehouse tables as updated (Airflow Assets, whose events carry the run's
   summary: filings, firms, rejections, what the checks found), which triggers `daily_seg_report`. It
   runs once the load succeeded, even when checks failed: good filings are still published.
4. **alert**: sends the new findings by email and Slack (connections `dailyseg_smtp`, `dailyseg_slack`,
   through the providers' notifiers), whether or not validation passed; the digest names the End
   Dates checked.
5. **verdict**: runs only when a task failed, and fails the run: **a failed run is a day whose filings
   fail their checks (or a step that broke); a successful run is a clean day** (warnings do not fail it).

A run not finished `DAILYSEG_DEADLINE_MINUTES` (default 150; 0: none) after it was queued raises a
deadline alert. Every task that touches the warehouse takes a slot of the pool `dailyseg_warehouse` (1 slot on
the embedded DuckDB, which admits one writer process; more on PostgreSQL). **Trigger by hand** with the
params `day` (one End Date) or `date_from`/`date_to` (a range); without them a run checks the day its
logical date names, or, with no logical date or the form's default ("now"), the last business day
whose filings are due. Backfill: `airflow backfill create --dag-id daily_seg_load --from-date 2016-02-01
--to-date 2016-03-31 --reprocess-behavior failed` (re-runs the days that failed).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import (ExceptionRetryPolicy, Param, RetryAction, RetryRule, TriggerRule, dag, get_current_context,
                         task)

from etl.airflow import callbacks, tasks
from etl.airflow.assets import FILINGS, SEG_VALUES
from etl.airflow.config import WRITER_POOL
from etl.airflow.timetable import BusinessDayTimetable
from etl.settings import load_settings

# Transient failures (a warehouse briefly unreachable) are retried with backoff; wrong data and a
# connection dailyseg cannot use are not.
RETRY_POLICY = ExceptionRetryPolicy(rules=[
    RetryRule(exception="etl.airflow.steps.ChecksFailed", action=RetryAction.FAIL,
              reason="the filings fail their checks: a retry cannot change that"),
    RetryRule(exception="etl.airflow.config.ConnectionUnusable", action=RetryAction.FAIL,
              reason="the connection must be fixed first"),
    RetryRule(exception="etl.airflow.tasks.BadParams", action=RetryAction.FAIL,
              reason="the run's params must be fixed first"),
])
DAY = {"type": ["null", "string"], "format": "date"}
PARAMS = {
    "day": Param(None, **DAY, title="End Date",
                 description="Check this End Date (YYYY-MM-DD). Empty: the day the logical date names."),
    "date_from": Param(None, **DAY, title="From End Date", description="Check a range of End Dates: first day."),
    "date_to": Param(None, **DAY, title="To End Date", description="Check a range of End Dates: last day."),
}


@dag(
    dag_id="daily_seg_load",
    schedule=BusinessDayTimetable(),
    start_date=pendulum.datetime(2016, 1, 4, tz="America/New_York"),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["dailyseg", "ingest", "data-quality"],
    params=PARAMS,
    deadline=callbacks.nightly_deadline(load_settings().deadline_minutes),
    default_args={
        "owner": "dailyseg",
        "pool": WRITER_POOL,
        "retries": 3,
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
        "retry_policy": RETRY_POLICY,
        "on_failure_callback": callbacks.on_failure,
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

    @task
    def validate(loaded: dict) -> dict:
        """Check the run's day and every End Date it loaded; fail visibly on errors and deficiencies."""
        return tasks.run_validate(get_current_context(), loaded)

    @task(outlets=[SEG_VALUES, FILINGS], trigger_rule=TriggerRule.ALL_DONE_MIN_ONE_SUCCESS)
    def publish(loaded: dict) -> dict:
        """Announce the updated warehouse tables, with the run's summary, to downstream DAGs."""
        return tasks.run_publish(get_current_context(), loaded, outlets=[SEG_VALUES, FILINGS])

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def alert() -> dict:
        """Send new findings to email and Slack (runs whether validation passed or failed)."""
        return tasks.run_alert(get_current_context())

    @task(trigger_rule=TriggerRule.ONE_FAILED, retries=0, pool="default_pool", on_failure_callback=None)
    def verdict() -> None:
        """Fail the run when any task failed (it is skipped on a clean day)."""
        tasks.run_verdict(get_current_context())

    loaded = ingest()
    fetch() >> loaded
    checked = validate(loaded)
    checked >> publish(loaded) >> alert()

    # The verdict watches every task defined above, so a step added upstream is watched too.
    watcher = verdict()
    for upstream in list(watcher.operator.dag.tasks):
        if upstream is not watcher.operator:
            upstream >> watcher


daily_seg_load()
