"""What each task of the DAGs calls: one function per task, resolving settings the Airflow way.

Imports of pandas, databases and Great Expectations happen inside these functions, at run time, so a
DAG file importing this module parses in milliseconds.
"""

from __future__ import annotations

import logging
import time
from datetime import date
from typing import Any

log = logging.getLogger(__name__)
VALIDATION_XCOM = "validation"
WAREHOUSE_WAIT = 600  # seconds a task queues for the embedded warehouse's writer lock, as validation does


def business_day_of(context: dict[str, Any]) -> date:
    """The End Date a run is for: its logical date (midnight New York on schedule; as given by hand)."""
    logical = context.get("logical_date") or context["data_interval_start"]
    return logical.in_timezone("UTC").date() if hasattr(logical, "in_timezone") else logical.date()


def run_links(context: dict[str, Any]) -> dict[str, str]:
    ti = context.get("ti")
    url = getattr(ti, "log_url", None)
    return {"Airflow run": url} if url else {}


def alert_channels(settings):
    """Airflow connections ``dailyseg_smtp`` / ``dailyseg_slack`` where they exist, else the environment."""
    from etl.airflow.config import SLACK_CONN_ID, SMTP_CONN_ID, _variable
    from etl.alerts import env_channels
    from etl.alerts.channels import AirflowSlackChannel, AirflowSmtpChannel
    channels = {c.name: c for c in env_channels(settings)}
    try:
        from airflow.sdk import Connection
    except ImportError:  # pragma: no cover - only without Airflow
        return list(channels.values())
    recipients = list(settings.alert_to) or [a.strip() for a in (_variable("dailyseg_alert_to") or "").split(",")
                                              if a.strip()]
    for conn_id, name, make in ((SMTP_CONN_ID, "email", lambda: AirflowSmtpChannel(SMTP_CONN_ID, recipients,
                                                                                    settings.alert_from)),
                                (SLACK_CONN_ID, "slack", lambda: AirflowSlackChannel(SLACK_CONN_ID))):
        try:
            Connection.get(conn_id)
        except Exception:
            continue
        if name == "email" and not recipients:
            log.warning("connection %s exists but no recipients: set DAILYSEG_ALERT_TO or the dailyseg_alert_to "
                        "Variable", conn_id)
            continue
        channels[name] = make()
    return list(channels.values())


def run_fetch(context: dict[str, Any]) -> dict:
    """Download what the sources published for the run's business day (and the few before it)."""
    from etl.airflow.config import airflow_sources, airflow_settings
    from etl.airflow.steps import fetch_day
    settings = airflow_settings()
    return fetch_day(settings, airflow_sources(settings), business_day_of(context), wait=WAREHOUSE_WAIT)


def run_ingest() -> dict:
    """Queue for a busy embedded warehouse as long as the other steps do (``ingest`` alone gives up
    after a minute): a backfill runs many DAG runs at once, whatever the DAG's ``max_active_runs``."""
    from etl.airflow.config import airflow_settings
    from etl.ingest.run import IngestError
    from etl.locks import LockBusy
    from etl.airflow.steps import ingest_landing
    settings = airflow_settings()
    deadline = time.monotonic() + WAREHOUSE_WAIT
    while True:
        try:
            return ingest_landing(settings)
        except IngestError as exc:
            if not isinstance(exc.__context__, LockBusy) or time.monotonic() >= deadline:
                raise
            log.info("still waiting for the warehouse: %s", exc)


def run_validate(context: dict[str, Any]) -> dict:
    """Validate the run's business day; the summary goes to XCom even when checks fail."""
    from etl.airflow.config import airflow_settings
    from etl.airflow.steps import ChecksFailed, validate_day
    try:
        summary = validate_day(airflow_settings(), business_day_of(context))
    except ChecksFailed as failed:
        context["ti"].xcom_push(key=VALIDATION_XCOM, value=failed.summary)
        raise
    context["ti"].xcom_push(key=VALIDATION_XCOM, value=summary)
    return summary


def run_publish(context: dict[str, Any]) -> dict:
    """Runs beside ``validate`` (and, in a backfill, beside other runs' tasks): an embedded warehouse
    admits one process at a time, so it queues on the writer lock like every other step."""
    from etl.airflow.config import airflow_settings
    from etl.airflow.steps import publish_day
    from etl.warehouse import exclusive_writer
    settings = airflow_settings()
    with exclusive_writer(settings.warehouse_url, wait=WAREHOUSE_WAIT):
        return publish_day(settings, business_day_of(context))


def run_alert(context: dict[str, Any]) -> dict:
    from etl.airflow.config import airflow_settings
    from etl.airflow.steps import alert_run
    settings = airflow_settings()
    validation = context["ti"].xcom_pull(task_ids="validate", key=VALIDATION_XCOM)
    return alert_run(settings, validation, links=run_links(context), channels=alert_channels(settings))


def on_failure(context: dict[str, Any]) -> None:
    """Failure callback: tell the alert channels which step failed and why (bad data is alerted by
    the alert task itself, with its findings)."""
    from etl.airflow.config import airflow_settings
    from etl.alerts import notify_failure
    from etl.airflow.steps import ChecksFailed
    error = context.get("exception")
    if isinstance(error, ChecksFailed):
        return
    ti = context.get("ti")
    where = f"{getattr(ti, 'dag_id', 'dailyseg')}.{getattr(ti, 'task_id', 'task')}"
    try:
        settings = airflow_settings()
        notify_failure(settings, where, f"{type(error).__name__}: {error}" if error else "failed",
                       day=business_day_of(context) if context.get("logical_date") else None,
                       links=run_links(context), channels=alert_channels(settings),
                       run_id=str(getattr(ti, "run_id", "")))
    except Exception:  # a callback must never raise
        log.exception("could not send the failure alert")


def run_report(context: dict[str, Any]) -> dict:
    """Rebuild the analyst report (``$DAILYSEG_HOME/report``) from the published warehouse."""
    from etl.airflow.config import airflow_settings
    from etl.analyst.report import build_report
    summary = build_report(airflow_settings())
    log.info("report: %d firms, %d charts, %s to %s, %.1f s: %s", summary.firms, summary.charts,
             summary.first_day, summary.last_day, summary.seconds, summary.index)
    return {"index": str(summary.index), "firms": summary.firms, "charts": summary.charts,
            "first_day": str(summary.first_day), "last_day": str(summary.last_day)}
