"""What each task of the DAGs calls: one function per task, resolving settings the Airflow way.

A run of ``daily_seg_load`` is for a business day D: its logical date (or, on a manual run, the
``day`` or ``date_from``/``date_to`` params; with no logical date, the last business day whose filings
were due). It validates D plus every End Date whose filings it loaded, late ones and amendments
included; its state is the day's verdict (``run_verdict``).

Imports of pandas, databases and Great Expectations happen inside these functions, at run time, so a
DAG file importing this module parses in milliseconds.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

log = logging.getLogger(__name__)
VALIDATION_XCOM = "validation"


class BadParams(ValueError):
    """A manual run's params do not name End Dates: retrying will not help."""


def _param_day(value, name: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError:
        raise BadParams(f"the param {name} must be a date (YYYY-MM-DD), not {value!r}") from None


def requested_days(context: dict[str, Any]) -> tuple[date, date]:
    """The End Dates a run is asked for, first and last: the ``day`` param, else the
    ``date_from``/``date_to`` params, else the day its logical date names
    (``etl.airflow.timetable.day_named_by``), else the last business day due at its ``run_after``."""
    import pendulum

    from etl.airflow.timetable import day_named_by, last_due_business_day
    params = context.get("params") or {}
    day = _param_day(params.get("day"), "day")
    if day:
        return day, day
    first, last = _param_day(params.get("date_from"), "date_from"), _param_day(params.get("date_to"), "date_to")
    if first or last:
        first, last = first or last, last or first
        if last < first:
            raise BadParams(f"the param date_to ({last}) is before date_from ({first})")
        return first, last
    if context.get("logical_date") is not None:
        day = day_named_by(context["logical_date"])
        return day, day
    run_after = getattr(context.get("dag_run"), "run_after", None) or pendulum.now("UTC")
    day = last_due_business_day(run_after)
    return day, day


def days_to_validate(context: dict[str, Any], loaded: dict | None) -> set[date]:
    """The business days asked for, plus every End Date whose filings this run loaded."""
    from etl.business_days import business_days
    first, last = requested_days(context)
    days = set(business_days(first, last)) or {first}
    days |= {date.fromisoformat(d) for d in (loaded or {}).get("end_dates", [])}
    return days


def run_links(context: dict[str, Any]) -> dict[str, str]:
    ti = context.get("ti")
    url = getattr(ti, "log_url", None)
    return {"Airflow run": url} if url else {}


def run_fetch(context: dict[str, Any]) -> dict:
    """Download what the sources published for the run's last business day (and the few before it)."""
    from etl.airflow.config import airflow_sources, airflow_settings
    from etl.airflow.steps import WAREHOUSE_WAIT, fetch_day
    settings = airflow_settings()
    return fetch_day(settings, airflow_sources(settings), requested_days(context)[1], wait=WAREHOUSE_WAIT)


def run_ingest() -> dict:
    """Load what is new in the landing zone (a lock held by a command run by hand: fail, retry later). A
    damaged embedded warehouse is rebuilt from the lake first, and the alert channels told."""
    from etl.airflow.config import airflow_settings
    from etl.airflow.notifiers import alert_channels
    from etl.airflow.steps import ingest_landing
    settings = airflow_settings()
    return ingest_landing(settings, channels=alert_channels(settings))


def run_validate(context: dict[str, Any], loaded: dict | None) -> dict:
    """Validate the run's days; the summary goes to XCom even when checks fail."""
    from etl.airflow.config import airflow_settings
    from etl.airflow.steps import ChecksFailed, validate_days
    settings = airflow_settings()
    try:
        summary = validate_days(settings, days_to_validate(context, loaded))
    except ChecksFailed as failed:
        context["ti"].xcom_push(key=VALIDATION_XCOM, value=failed.summary)
        raise
    context["ti"].xcom_push(key=VALIDATION_XCOM, value=summary)
    return summary


def run_publish(context: dict[str, Any], loaded: dict | None, outlets=()) -> dict:
    """The run's summary, on each outlet Asset's event (``extra``): filings and firms for its days,
    what it loaded and rejected, what the checks found. Runs once the load succeeded, whatever the
    checks found: good filings are published and the report rebuilt even on a failed day."""
    from etl.airflow.config import airflow_settings
    from etl.airflow.steps import WAREHOUSE_WAIT, publish_days
    from etl.warehouse import exclusive_writer
    settings = airflow_settings()
    first, last = requested_days(context)
    validation = context["ti"].xcom_pull(task_ids="validate", key=VALIDATION_XCOM)
    with exclusive_writer(settings.warehouse_url, wait=WAREHOUSE_WAIT):
        summary = publish_days(settings, first, last, loaded, validation)
    for asset in outlets:
        context["outlet_events"][asset].extra.update(summary)
    return summary


def run_alert(context: dict[str, Any]) -> dict:
    """Send the new findings of the run's validations, in one digest per channel. Without a validation
    (an earlier step failed, and its failure callback has told the channels) there is nothing to send."""
    from etl.airflow.config import airflow_settings
    from etl.airflow.notifiers import alert_channels
    from etl.airflow.steps import alert_run
    validation = context["ti"].xcom_pull(task_ids="validate", key=VALIDATION_XCOM)
    if not validation:
        log.info("no validation ran: nothing to alert on")
        return {"sent": [], "note": "no validation result to alert on"}
    settings = airflow_settings()
    return alert_run(settings, validation, links=run_links(context), channels=alert_channels(settings))


def run_verdict(context: dict[str, Any]) -> None:
    """Runs only when another task failed (trigger rule ``one_failed``) and fails the run with one line
    that says why, so that the run's state is the day's verdict."""
    from airflow.sdk.exceptions import AirflowFailException

    from etl.alerts.digest import span_text
    ti = context["ti"]
    first, last = requested_days(context)
    validation = ti.xcom_pull(task_ids="validate", key=VALIDATION_XCOM) or {}
    failed = []
    try:
        states = ti.get_task_states(dag_id=ti.dag_id, run_ids=[ti.run_id]).get(ti.run_id, {})
        failed = sorted(t for t, s in states.items() if s in ("failed", "upstream_failed") and t != ti.task_id)
    except Exception:  # the verdict stands without the list
        log.debug("could not read the run's task states", exc_info=True)
    if validation and not validation.get("success", True):
        spans = [(date.fromisoformat(a), date.fromisoformat(b)) for a, b in validation.get("spans", [])]
        reason = (f"the checks found {validation.get('critical', 0)} critical and {validation.get('errors', 0)} "
                  f"error findings for {span_text(spans)}")
    else:
        reason = "a step failed" + (f": {', '.join(failed)}" if failed else "") + " (see its log)"
    raise AirflowFailException(f"the run for {span_text([(first, last)])} failed: {reason}")


def run_report(context: dict[str, Any]) -> dict:
    """Rebuild the analyst report (``$DAILYSEG_HOME/report``) from the published warehouse."""
    from etl.airflow.config import airflow_settings
    from etl.analyst.report import build_report
    summary = build_report(airflow_settings())
    log.info("report: %d firms, %d charts, %s to %s, %.1f s: %s", summary.firms, summary.charts,
             summary.first_day, summary.last_day, summary.seconds, summary.index)
    return {"index": str(summary.index), "firms": summary.firms, "charts": summary.charts,
            "first_day": str(summary.first_day), "last_day": str(summary.last_day)}
