"""The email channel never sends a password in clear text: a real SMTP server on loopback records every
AUTH it is sent, so a leak would show."""

from __future__ import annotations

from datetime import date

import pytest

from etl.alerts.channels import SmtpChannel, deliver
from etl.alerts.digest import build_failure_digest
from tests.alerts.receivers import SmtpReceiver
from tests.cli.test_cli import run

PASSWORD = "n0t-in-cl34r-text"


@pytest.fixture
def server():
    receiver = SmtpReceiver(user="alerts", password=PASSWORD).start()
    yield receiver
    receiver.stop()


def digest():
    return build_failure_digest("ingest", "disk full", date(2016, 3, 14), {})


def channel(url: str) -> SmtpChannel:
    return SmtpChannel(url, "dailyseg@example.com", ["risk@example.com"], timeout=5)


def test_a_password_without_tls_is_refused_before_anything_is_sent(server, tmp_path):
    cleartext = f"smtp://alerts:{PASSWORD}@127.0.0.1:{server.port}"
    with pytest.raises(ValueError, match="asks for no TLS: use smtps:// or add \\?starttls=true"):
        channel(cleartext)
    result = run("validate", "--alert", home=tmp_path,
                 env={"DAILYSEG_SMTP_URL": cleartext, "DAILYSEG_ALERT_TO": "risk@example.com"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "dailyseg validate: DAILYSEG_SMTP_URL carries a password but asks for no TLS: use smtps:// or add "
        "?starttls=true (a password is never sent in clear text)"]
    assert server.logins == [] and server.messages == []


def test_starttls_asked_of_a_server_that_cannot_fails_without_sending_the_password(server):
    delivery = deliver(channel(f"smtp://alerts:{PASSWORD}@127.0.0.1:{server.port}?starttls=true"), digest(),
                       attempts=1)
    assert delivery.status == "failed" and "STARTTLS" in delivery.error
    assert server.logins == [] and server.messages == []


def test_cleartext_is_allowed_explicitly_and_only_towards_this_machine(server):
    with pytest.raises(ValueError, match="for a test server on this machine only, not mail.example.com"):
        channel(f"smtp://alerts:{PASSWORD}@mail.example.com:25?allow_plaintext_auth=true")
    delivery = deliver(channel(server.url()), digest(), attempts=1)
    assert "allow_plaintext_auth=true" in server.url() and delivery.status == "sent", delivery.error
    assert [login for _, login in server.logins] == ["alerts"] and len(server.messages) == 1


def test_a_server_without_credentials_needs_no_tls():
    receiver = SmtpReceiver().start()
    try:
        assert deliver(channel(receiver.url()), digest(), attempts=1).status == "sent"
        assert len(receiver.messages) == 1
    finally:
        receiver.stop()
