"""Alerts end to end against real receivers on loopback: an SMTP server and a webhook HTTP server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from etl.alerts import notify_validation_run
from etl.alerts.channels import SlackWebhookChannel, SmtpChannel
from etl.business_days import business_days
from etl.dq.validate import validate
from etl.synthetic.files import generate_filings
from etl.synthetic.firms import make_firms
from etl.synthetic.values import recompute_totals
from etl.ingest.job import ingest
from etl.settings import load_settings
from etl.warehouse import open_warehouse
from tests.alerts.receivers import SmtpReceiver, WebhookReceiver
from tests.dq.planted import _largest_funds_leaf, _read, _write

DAYS = business_days(date(2016, 2, 1), date(2016, 2, 5))
DAILYSEG = str(Path(sys.executable).parent / "dailyseg")
SMTP_PASSWORD = "pa55-w0rd-xyz"


def plant(landing: Path) -> dict[str, tuple]:
    """A deficiency, an arithmetic break and a missing filing; returns what was planted where."""
    generate_filings(landing, firms=3, start=DAYS[0], end=DAYS[-1], seed=21, amend_rate=0)
    firms = make_firms(3, 21)
    planted = {}
    path = landing / DAYS[0].isoformat() / f"{firms[0].slug}.txt"
    header, values = _read(path)
    seg = values["segregation"]
    seg[_largest_funds_leaf(seg, "segregation", DAYS[0])] -= seg["7190"] + 250_000
    _write(path, header, recompute_totals(values, DAYS[0]))
    planted["deficiency"] = (firms[0].name, DAYS[0], "DEFICIENCY-SEG")
    path = landing / DAYS[2].isoformat() / f"{firms[1].slug}.txt"
    header, values = _read(path)
    values["segregation"]["7010"] += 40
    _write(path, header, values)
    planted["arithmetic"] = (firms[1].name, DAYS[2], "SEG-NET-EQUITY")
    (landing / DAYS[3].isoformat() / f"{firms[2].slug}.txt").unlink()
    planted["missing"] = (firms[2].name, DAYS[3], "FRESHNESS")
    return planted


@pytest.fixture
def receivers():
    smtp = SmtpReceiver(user="alerts", password=SMTP_PASSWORD).start()
    hook = WebhookReceiver()
    yield smtp, hook
    smtp.stop()
    hook.stop()


@pytest.fixture
def loaded(tmp_path):
    landing = tmp_path / "landing"
    planted = plant(landing)
    settings = load_settings(environ={}, home=tmp_path / "home")
    ingest([landing], settings)
    return settings, planted, landing


def env_for(settings, smtp, hook, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAILYSEG_")}
    env.update({"DAILYSEG_HOME": str(settings.home), "DAILYSEG_SMTP_URL": smtp.url(),
                "DAILYSEG_ALERT_FROM": "dailyseg@example.com", "DAILYSEG_ALERT_TO": "risk@example.com,ops@example.com",
                "DAILYSEG_SLACK_WEBHOOK_URL": hook.url(), "DAILYSEG_ALERT_BACKOFF": "0.05",
                "DAILYSEG_ALERT_TIMEOUT": "2", **extra})
    return env


def alerts_table(settings) -> list[dict]:
    wh = open_warehouse(settings.warehouse_url)
    rows = wh.read_df("SELECT * FROM alerts ORDER BY created_at, channel").to_dict("records")
    wh.dispose()
    return rows


@pytest.mark.slow
def test_validate_alert_delivers_one_email_and_one_slack_message_naming_every_problem(loaded, receivers):
    settings, planted, _ = loaded
    smtp, hook = receivers
    result = subprocess.run([DAILYSEG, "validate", "--alert"], capture_output=True, text=True,
                            env=env_for(settings, smtp, hook), timeout=300)
    assert result.returncode == 1  # a deficiency and an arithmetic break: errors found
    assert "Alert email: sent" in result.stdout and "Alert slack: sent" in result.stdout
    assert len(smtp.messages) == 1 and len(hook.posts) == 1

    mail = smtp.messages[0]
    assert mail["to"] == ["risk@example.com", "ops@example.com"]
    message = mail["message"]
    assert message["Subject"].startswith("[dailyseg] CRITICAL: 1 deficiency")
    text = message.get_body(("plain",)).get_content()
    page = message.get_body(("html",)).get_content()
    assert message.get_body(("plain",)).get_content_type() == "text/plain"
    for firm, day, rule in planted.values():
        assert firm in text and str(day) in text and rule in text
        assert rule in page and str(day) in page
    assert text.index("DEFICIENCY-SEG") < text.index("SEG-NET-EQUITY") < text.index("FRESHNESS")  # most severe first
    assert "7010 + 7020 + 7030 + 7032 + 7033 =" in text  # the signed components
    assert "difference 40" in text or "difference -40" in text
    assert "source: " in text and ".txt" in text
    assert "Data Docs" in text

    payload = hook.posts[0]["json"]
    assert hook.posts[0]["path"] == "/services/T000/B000/s3cr3tT0ken"
    blob = json.dumps(payload)
    assert payload["blocks"][0]["type"] == "header" and len(payload["blocks"]) <= 50
    for firm, day, rule in planted.values():
        assert rule in blob and str(day) in blob
    assert "deficiency" in payload["text"]

    rows = alerts_table(settings)
    assert [(r["channel"], r["status"], r["n_findings"]) for r in rows] == [("email", "sent", 3), ("slack", "sent", 3)]


@pytest.mark.slow
def test_rerun_sends_nothing_new(loaded, receivers):
    settings, _, _ = loaded
    smtp, hook = receivers
    env = env_for(settings, smtp, hook)
    for _ in range(2):
        subprocess.run([DAILYSEG, "validate", "--alert"], capture_output=True, text=True, env=env, timeout=300)
    assert len(smtp.messages) == 1 and len(hook.posts) == 1
    statuses = [(r["channel"], r["status"]) for r in alerts_table(settings)]
    assert statuses[2:] == [("email", "nothing_new"), ("slack", "nothing_new")]


@pytest.mark.slow
def test_a_dead_receiver_loses_only_its_delivery_which_is_recorded_and_sent_later(loaded, receivers):
    settings, _, _ = loaded
    smtp, hook = receivers
    port = smtp.port
    smtp.stop()  # the mail server is down
    env = env_for(settings, smtp, hook, DAILYSEG_SMTP_URL=smtp.url())
    result = subprocess.run([DAILYSEG, "validate", "--alert"], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 1
    assert "Alert email: NOT delivered after 3 attempts" in result.stdout
    assert len(hook.posts) == 1  # Slack still got its message
    rows = alerts_table(settings)
    email = next(r for r in rows if r["channel"] == "email")
    assert email["status"] == "failed" and email["attempts"] == 3 and "Connection" in email["error"]
    assert SMTP_PASSWORD not in result.stdout + result.stderr + json.dumps(rows, default=str)

    smtp.start(port)  # back up: the next run sends what the email channel missed, Slack stays quiet
    subprocess.run([DAILYSEG, "validate", "--alert"], capture_output=True, text=True, env=env, timeout=300)
    assert len(smtp.messages) == 1 and len(hook.posts) == 1
    assert "DEFICIENCY-SEG" in smtp.messages[0]["message"].get_body(("plain",)).get_content()


def test_slow_and_failing_webhooks_are_retried_a_bounded_number_of_times(loaded):
    settings, _, _ = loaded
    summary = validate(settings)
    for receiver, expected_error in ((WebhookReceiver(status=500), "HTTP 500"),
                                     (WebhookReceiver(delay=1.5), "timed out")):
        try:
            fast = settings.with_overrides(alert_timeout=0.5, alert_attempts=3, alert_backoff=0.01)
            report = notify_validation_run(fast, summary.run_id,
                                           channels=[SlackWebhookChannel(receiver.url(), timeout=0.5)])
            delivery = report["deliveries"][0]
            assert delivery["status"] == "failed" and delivery["attempts"] == 3
            assert expected_error in delivery["error"]
            assert receiver.requests == 3
            assert "s3cr3tT0ken" not in delivery["error"]
        finally:
            receiver.stop()


def test_secrets_never_reach_the_warehouse_or_messages(loaded, receivers):
    settings, _, _ = loaded
    smtp, hook = receivers
    env = env_for(settings, smtp, hook)
    result = subprocess.run([DAILYSEG, "validate", "--alert"], capture_output=True, text=True, env=env, timeout=300)
    everything = result.stdout + result.stderr
    wh = open_warehouse(settings.warehouse_url)
    for table in ("alerts", "alert_findings", "dq_results", "dq_runs", "filings"):
        everything += wh.read_df(f"SELECT * FROM {table}").to_csv()
    wh.dispose()
    everything += "".join(m["raw"].decode("utf-8", "replace") for m in smtp.messages)
    everything += json.dumps([p["json"] for p in hook.posts])
    gx_files = "".join(p.read_text(errors="replace") for p in Path(settings.home, "gx").rglob("*") if p.is_file())
    for secret in (SMTP_PASSWORD, "s3cr3tT0ken", hook.url()):
        assert secret not in everything
        assert secret not in gx_files


@pytest.mark.slow
def test_an_amendment_that_fixes_a_finding_is_announced_once_as_resolved(loaded, receivers):
    settings, planted, landing = loaded
    smtp, hook = receivers
    channels = [SmtpChannel(smtp.url(), "d@example.com", ["risk@example.com"])]
    first = validate(settings)
    notify_validation_run(settings, first.run_id, channels=channels)
    firm, day, _ = planted["arithmetic"]
    broken = next(p for p in (landing / day.isoformat()).iterdir() if not p.name.endswith(".amended.txt")
                  and firm in p.read_text())
    header, values = _read(broken)
    values["segregation"]["7010"] -= 40
    _write(broken.with_name(broken.stem + ".amended.txt"), header, values, status="AMENDED",
           submit=date(2016, 2, 9))
    ingest([landing], settings)
    second = validate(settings)
    report = notify_validation_run(settings, second.run_id, channels=channels)
    assert report["deliveries"][0]["resolved"] == 1 and report["deliveries"][0]["new"] == 0
    body = smtp.messages[-1]["message"].get_body(("plain",)).get_content()
    assert "RESOLVED (1)" in body and "SEG-NET-EQUITY" in body
    third = validate(settings)
    again = notify_validation_run(settings, third.run_id, channels=channels)
    assert again["deliveries"][0]["status"] == "nothing_new" and len(smtp.messages) == 2


def test_warnings_follow_the_configured_channel(loaded, receivers):
    settings, _, _ = loaded
    smtp, hook = receivers
    channels = [SmtpChannel(smtp.url(), "d@example.com", ["risk@example.com"]), SlackWebhookChannel(hook.url())]
    summary = validate(settings)
    report = notify_validation_run(settings.with_overrides(warning_channel="email"), summary.run_id, channels=channels)
    by_channel = {d["channel"]: d for d in report["deliveries"]}
    assert by_channel["email"]["new"] == 3 and by_channel["slack"]["new"] == 2  # the missing filing: email only
    assert "FRESHNESS" not in json.dumps(hook.posts[0]["json"])
