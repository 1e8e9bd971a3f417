"""Delivery that holds nothing up: channels deliver outside the warehouse lock and side by side, and a
channel that says no for good is not asked again."""

from __future__ import annotations

import subprocess
import time

import pytest

from etl.alerts import notify_validation_run
from etl.alerts.channels import SlackWebhookChannel, SmtpChannel
from etl.dq.validate import validate
from tests.alerts.receivers import SmtpReceiver, WebhookReceiver
from tests.alerts.test_notify import DAILYSEG, SMTP_PASSWORD, alerts_table, env_for, loaded  # noqa: F401


def _wait_for(condition, seconds: float = 60.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@pytest.mark.slow
def test_a_slow_channel_holds_neither_the_warehouse_nor_the_other_channel(loaded, tmp_path):
    settings, _, landing = loaded
    smtp = SmtpReceiver(user="alerts", password=SMTP_PASSWORD).start()
    slow = WebhookReceiver(delay=6.0)  # Slack answers, but only after six seconds
    try:
        env = env_for(settings, smtp, slow, DAILYSEG_ALERT_TIMEOUT="20")
        alerting = subprocess.Popen([DAILYSEG, "validate", "--alert"], env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
        assert _wait_for(lambda: slow.requests >= 1), "the webhook was never called"
        # Slack is still busy with the message; the email has gone meanwhile, and the warehouse is free:
        # a load started now does not wait at all
        assert _wait_for(lambda: len(smtp.messages) == 1, 5), "the email waited for the slow webhook"
        started = time.monotonic()
        load = subprocess.run([DAILYSEG, "ingest", "--quiet", "--wait", "0", str(landing)], env=env,
                              capture_output=True, text=True, timeout=120)
        assert load.returncode == 0, load.stderr
        assert not slow.posts, "the webhook had answered before the load ran: the test proves nothing"
        out, err = alerting.communicate(timeout=120)
        assert "Alert email: sent" in out and "Alert slack: sent" in out, out + err
        assert time.monotonic() - started < 20
        rows = alerts_table(settings)
        assert sorted((r["channel"], r["status"]) for r in rows) == [("email", "sent"), ("slack", "sent")]
    finally:
        smtp.stop()
        slow.stop()


def test_a_permanent_refusal_is_not_retried_and_a_transient_one_is(loaded):
    settings, _, _ = loaded
    run_id = validate(settings).run_id
    fast = settings.with_overrides(alert_attempts=3, alert_backoff=0.01, alert_timeout=2)
    for status, attempts in ((404, 1), (403, 1), (429, 3), (503, 3)):
        hook = WebhookReceiver(status=status)
        try:
            delivery = notify_validation_run(fast, run_id, channels=[SlackWebhookChannel(hook.url())])["deliveries"][0]
        finally:
            hook.stop()
        assert delivery["status"] == "failed" and f"HTTP {status}" in delivery["error"], delivery
        assert hook.requests == attempts == delivery["attempts"], (status, hook.requests)
        assert ("permanent" in delivery["error"]) == (attempts == 1)


def test_a_refused_smtp_login_is_not_retried(loaded):
    settings, _, _ = loaded
    run_id = validate(settings).run_id
    smtp = SmtpReceiver(user="alerts", password=SMTP_PASSWORD).start()
    try:
        wrong = SmtpChannel(f"smtp://alerts:not-the-password@127.0.0.1:{smtp.port}?allow_plaintext_auth=true",
                            "dailyseg@example.com",
                            ["risk@example.com"], timeout=5)
        fast = settings.with_overrides(alert_attempts=3, alert_backoff=0.01)
        delivery = notify_validation_run(fast, run_id, channels=[wrong])["deliveries"][0]
    finally:
        smtp.stop()
    assert delivery["status"] == "failed" and delivery["attempts"] == 1, delivery
    assert "SMTPAuthenticationError" in delivery["error"] and "not-the-password" not in delivery["error"]
    assert smtp.messages == []
