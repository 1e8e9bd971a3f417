"""What Airflow calls when something goes wrong: a task failed, or a run missed its deadline.

Both tell every alert channel (the providers' notifiers where their connections exist) and record
the delivery in the warehouse's ``alerts`` table, unless the warehouse connection itself is what is
broken: then the message still goes out and nothing is written anywhere else. A callback never raises.
"""

from __future__ import annotations

import logging
import sys
from datetime import date, timedelta
from typing import Any

log = logging.getLogger(__name__)


def nightly_deadline(minutes: float, argv: list[str] | None = None):
    """The deadline of ``daily_seg_load``: finished ``minutes`` after the run was queued (a scheduled
    run is queued at 12:30 New York time), else the triggerer runs ``on_deadline_missed``. (Not the
    executor: in Airflow 3.3 an executor's callback may not read connections, apache/airflow#66141.)
    None when ``minutes`` is 0, and under ``airflow dags test``, which has no scheduler to watch
    deadlines and in Airflow 3.3 fails at the end of a successful run of a DAG that has one
    (apache/airflow#73428)."""
    argv = sys.argv if argv is None else argv
    if minutes <= 0 or [a for a in argv[1:] if not a.startswith("-")][:2] == ["dags", "test"]:
        return None
    from airflow.sdk import AsyncCallback, DeadlineAlert, DeadlineReference
    return DeadlineAlert(reference=DeadlineReference.DAGRUN_QUEUED_AT, interval=timedelta(minutes=minutes),
                         callback=AsyncCallback(on_deadline_missed), name="nightly run finished")


def _settings_and_channels():
    """The settings, whether they name the warehouse for certain (else: do not record), and the channels."""
    from etl.airflow.config import ConnectionLookupFailed, ConnectionUnusable, airflow_settings
    from etl.airflow.notifiers import alert_channels
    from etl.alerts import env_channels
    from etl.settings import load_settings
    try:
        settings, record = airflow_settings(), True
    except (ConnectionUnusable, ConnectionLookupFailed) as exc:
        log.warning("the failure alert is not recorded: %s", exc)
        settings, record = load_settings(), False
    try:
        channels = alert_channels(settings)
    except ConnectionLookupFailed as exc:
        log.warning("%s; alerting through the channels the environment names", exc)
        channels = env_channels(settings)
    return settings, record, channels


def on_failure(context: dict[str, Any]) -> None:
    """Failure callback of every task: tell the alert channels which step failed and why (bad data is
    alerted by the alert task itself, with its findings)."""
    from etl.airflow.steps import ChecksFailed
    from etl.airflow.tasks import requested_days, run_links
    from etl.alerts import notify_failure
    error = context.get("exception")
    if isinstance(error, ChecksFailed):
        return
    ti = context.get("ti")
    where = f"{getattr(ti, 'dag_id', 'dailyseg')}.{getattr(ti, 'task_id', 'task')}"
    try:
        settings, record, channels = _settings_and_channels()
        try:
            day = requested_days(context)[0]
        except Exception:
            day = None
        notify_failure(settings, where, f"{type(error).__name__}: {error}" if error else "failed", day=day,
                       links=run_links(context), channels=channels, run_id=str(getattr(ti, "run_id", "")),
                       record=record)
    except Exception:  # a callback must never raise
        log.exception("could not send the failure alert")


def _day_of(dag_run: dict) -> date | None:
    from etl.airflow.tasks import requested_days
    try:
        run = type("Run", (), {"run_after": _moment(dag_run.get("run_after"))})()
        return requested_days({"params": dag_run.get("conf") or {}, "dag_run": run,
                               "logical_date": _moment(dag_run.get("logical_date"))})[0]
    except Exception:
        return None


def _moment(value):
    import pendulum
    return None if value in (None, "") else pendulum.parse(str(value))


async def on_deadline_missed(context: dict[str, Any] | None = None, **_: Any) -> None:
    """Deadline callback of ``daily_seg_load``, run by the triggerer: the run has not finished in time.
    The alert (blocking network and database calls) is sent from a worker thread."""
    import asyncio
    await asyncio.to_thread(deadline_missed, context or {})


def deadline_missed(context: dict[str, Any]) -> None:
    """Tell the alert channels that a run has missed its deadline, and record it (kind ``deadline``)."""
    from etl.airflow.timetable import NEW_YORK
    from etl.alerts import notify_failure
    dag_run = context.get("dag_run") or {}
    deadline = (context.get("deadline") or {}).get("deadline_time")
    dag_id, run_id = dag_run.get("dag_id", "daily_seg_load"), dag_run.get("dag_run_id", "")
    when = _moment(deadline)
    by = when.in_timezone(NEW_YORK).format("YYYY-MM-DD HH:mm zz") if when is not None else "its deadline"
    queued = _moment(dag_run.get("queued_at"))
    message = (f"the run {run_id} has not finished by {by}" + (
        f" (queued at {queued.in_timezone(NEW_YORK).format('YYYY-MM-DD HH:mm zz')})" if queued else "")
        + f"; its state is {dag_run.get('state', 'unknown')}")
    if dag_run.get("state") == "failed":  # finished, and its failure was alerted when it happened
        log.info("deadline passed for %s, which has failed: nothing more to send", run_id)
        return
    try:
        settings, record, channels = _settings_and_channels()
        notify_failure(settings, f"{dag_id} (deadline missed)", message, day=_day_of(dag_run), channels=channels,
                       run_id=run_id, record=record, kind="deadline")
        log.warning("deadline missed: %s", message)
    except Exception:  # a callback must never raise
        log.exception("could not send the deadline alert")
