"""Alerts under Airflow: digests through the SMTP and Slack providers' notifiers (a real SMTP server
that requires STARTTLS, a real webhook receiver), failures and missed deadlines recorded in ``alerts``,
and nothing written to a warehouse the connection does not name."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import date

import pendulum
import pytest

from etl.airflow import callbacks
from etl.airflow.notifiers import SlackNotifierChannel, SmtpNotifierChannel, alert_channels
from etl.alerts import deliver
from etl.alerts.digest import build_failure_digest
from etl.settings import load_settings
from etl.warehouse import open_warehouse
from tests.alerts.receivers import SmtpReceiver, WebhookReceiver, self_signed_tls


@pytest.fixture
def env(monkeypatch, tmp_path):
    for key in [k for k in os.environ if k.startswith("DAILYSEG_") or k.startswith("AIRFLOW_CONN_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("DAILYSEG_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DAILYSEG_ALERT_TO", "risk@example.com")
    monkeypatch.setenv("DAILYSEG_ALERT_ATTEMPTS", "1")
    return monkeypatch


@pytest.fixture
def starttls_smtp(tmp_path):
    smtp = SmtpReceiver(user="alerts", password="s3cret-relay-pw", tls=self_signed_tls(tmp_path)).start()
    yield smtp
    smtp.stop()


@pytest.fixture
def hook():
    receiver = WebhookReceiver()
    yield receiver
    receiver.stop()


def smtp_connection(smtp: SmtpReceiver, **extra) -> str:
    return json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": smtp.port, "login": smtp.user,
                       "password": smtp.password, "extra": {"from_email": "dailyseg@example.com", **extra}})


def test_smtp_notifier_speaks_starttls_when_the_connection_disables_implicit_ssl(env, starttls_smtp):
    # the README's connection for a relay on port 587; ssl_context "none" only because the test
    # server's certificate is self-signed
    env.setenv("AIRFLOW_CONN_DAILYSEG_SMTP", smtp_connection(starttls_smtp, disable_ssl=True, ssl_context="none"))
    digest = build_failure_digest("daily_seg_load.ingest", "RuntimeError: boom", date(2016, 3, 14), {})
    delivery = deliver(SmtpNotifierChannel("dailyseg_smtp", ["risk@example.com"]), digest, attempts=1)
    assert delivery.status == "sent", delivery.error
    (message,) = starttls_smtp.messages
    assert message["tls"] and message["from"] == "dailyseg@example.com" and message["to"] == ["risk@example.com"]
    assert "daily_seg_load.ingest failed: RuntimeError: boom" in message["message"].get_body(("html",)).get_content()


def test_without_disable_ssl_the_hook_expects_implicit_tls_and_the_delivery_fails(env, starttls_smtp):
    env.setenv("AIRFLOW_CONN_DAILYSEG_SMTP", smtp_connection(starttls_smtp, ssl_context="none"))
    digest = build_failure_digest("daily_seg_load.ingest", "boom", None, {})
    delivery = deliver(SmtpNotifierChannel("dailyseg_smtp", ["risk@example.com"]), digest, attempts=1)
    assert delivery.status == "failed" and starttls_smtp.messages == []


def test_slack_notifier_posts_the_block_kit_digest(env, hook):
    env.setenv("AIRFLOW_CONN_DAILYSEG_SLACK", json.dumps({"conn_type": "slackwebhook", "password": hook.url()}))
    digest = build_failure_digest("daily_seg_load.validate", "boom", date(2016, 3, 14), {})
    assert deliver(SlackNotifierChannel("dailyseg_slack"), digest, attempts=1).status == "sent"
    (post,) = hook.posts
    assert post["path"] == "/services/T000/B000/s3cr3tT0ken"
    assert "pipeline failure in daily_seg_load.validate for 2016-03-14" in json.dumps(post["json"])


def test_the_notifiers_replace_the_environments_channels_where_connections_exist(env, hook):
    env.setenv("DAILYSEG_SLACK_WEBHOOK_URL", "http://127.0.0.1:9/never")
    assert [type(c).__name__ for c in alert_channels(load_settings())] == ["SlackWebhookChannel"]
    env.setenv("AIRFLOW_CONN_DAILYSEG_SLACK", json.dumps({"conn_type": "slackwebhook", "password": hook.url()}))
    env.setenv("AIRFLOW_CONN_DAILYSEG_SMTP", json.dumps({"conn_type": "smtp", "host": "127.0.0.1"}))
    assert sorted(type(c).__name__ for c in alert_channels(load_settings())) == ["SlackNotifierChannel",
                                                                               "SmtpNotifierChannel"]


class TaskInstance:
    dag_id, task_id, run_id, log_url = "daily_seg_load", "ingest", "scheduled__2016-03-14", "http://af/log"


def alerts_rows(home) -> list[tuple]:
    wh = open_warehouse(f"duckdb:///{home / 'warehouse.duckdb'}")
    try:
        return [tuple(r) for r in wh.read_df("SELECT kind, channel, status, run_id FROM alerts ORDER BY channel")
                .itertuples(index=False)]
    finally:
        wh.dispose()


def test_a_failed_task_is_alerted_and_recorded(env, tmp_path, hook):
    env.setenv("AIRFLOW_CONN_DAILYSEG_SLACK", json.dumps({"conn_type": "slackwebhook", "password": hook.url()}))
    callbacks.on_failure({"ti": TaskInstance(), "exception": RuntimeError("warehouse unreachable"),
                          "logical_date": pendulum.datetime(2016, 3, 14, tz="UTC")})
    text = json.dumps(hook.posts[0]["json"])
    assert "daily_seg_load.ingest failed: RuntimeError: warehouse unreachable" in text and "2016-03-14" in text
    assert alerts_rows(tmp_path / "home") == [("failure", "slack", "sent", "scheduled__2016-03-14")]


def test_with_an_unusable_warehouse_connection_the_alert_goes_out_and_nothing_is_written(env, tmp_path, hook):
    env.setenv("AIRFLOW_CONN_DAILYSEG_SLACK", json.dumps({"conn_type": "slackwebhook", "password": hook.url()}))
    env.setenv("AIRFLOW_CONN_DAILYSEG_WAREHOUSE", json.dumps({"conn_type": "http", "host": "wh.example.com"}))
    from etl.airflow.config import ConnectionUnusable
    callbacks.on_failure({"ti": TaskInstance(), "exception": ConnectionUnusable(
        "the Airflow connection dailyseg_warehouse has type 'http'")})
    assert "has type 'http'" in json.dumps(hook.posts[0]["json"])
    assert not (tmp_path / "home").exists()  # no embedded warehouse appeared to record it in


def deadline_context(state: str) -> dict:
    return {"dag_run": {"dag_id": "daily_seg_load", "dag_run_id": "scheduled__2016-03-14", "state": state,
                        "logical_date": "2016-03-14T04:00:00+00:00", "queued_at": "2016-03-15T16:30:05+00:00",
                        "run_after": "2016-03-15T16:30:00+00:00", "conf": {}},
            "deadline": {"id": "x", "deadline_time": "2016-03-15T19:00:05+00:00"}}


def test_a_missed_deadline_is_alerted_with_the_time_and_recorded(env, tmp_path, hook):
    env.setenv("AIRFLOW_CONN_DAILYSEG_SLACK", json.dumps({"conn_type": "slackwebhook", "password": hook.url()}))
    asyncio.run(callbacks.on_deadline_missed(context=deadline_context("running")))
    text = json.dumps(hook.posts[0]["json"])
    assert "daily_seg_load (deadline missed) for 2016-03-14" in text
    assert "has not finished by 2016-03-15 15:00 EDT (queued at 2016-03-15 12:30 EDT)" in text
    assert alerts_rows(tmp_path / "home") == [("deadline", "slack", "sent", "scheduled__2016-03-14")]


def test_a_run_that_already_failed_gets_no_deadline_alert_on_top(env, tmp_path, hook):
    env.setenv("AIRFLOW_CONN_DAILYSEG_SLACK", json.dumps({"conn_type": "slackwebhook", "password": hook.url()}))
    asyncio.run(callbacks.on_deadline_missed(context=deadline_context("failed")))
    assert hook.posts == []


def test_the_deadline_is_configurable_and_absent_under_dags_test():
    deadline = callbacks.nightly_deadline(90, argv=["airflow", "scheduler"])
    assert deadline.interval == pendulum.duration(minutes=90)
    assert deadline.callback.path == "etl.airflow.callbacks.on_deadline_missed"
    assert callbacks.nightly_deadline(0, argv=["airflow", "scheduler"]) is None
    assert callbacks.nightly_deadline(90, argv=["airflow", "dags", "test", "daily_seg_load"]) is None
