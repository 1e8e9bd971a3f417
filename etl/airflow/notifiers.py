"""Alert channels under Airflow: the SMTP and Slack providers' notifiers, with Airflow connections.

``SmtpNotifier`` (connection ``dailyseg_smtp``) and ``SlackWebhookNotifier`` (connection
``dailyseg_slack``) deliver the same digests as the command line's channels (``etl.alerts.channels``),
so ``etl.alerts.deliver`` retries them and records every attempt in ``alerts`` the same way. The
digest is passed as finished text: ``notify`` is called directly, so nothing in a filing is ever read
as a Jinja template.
"""

from __future__ import annotations

import logging

from etl.airflow.config import SLACK_CONN_ID, SMTP_CONN_ID, lookup_connection, variable
from etl.alerts.channels import DeliveryError
from etl.alerts.digest import Digest, render_html, render_slack

log = logging.getLogger(__name__)


class SmtpNotifierChannel:
    """Email through ``SmtpNotifier`` and an SMTP connection (STARTTLS: port 587 with the extra
    ``disable_ssl``; implicit TLS: port 465)."""

    name = "email"

    def __init__(self, conn_id: str, recipients: list[str], sender: str | None = None):
        self.conn_id = conn_id
        self.recipients = recipients
        self.sender = sender

    def secrets(self) -> list[str]:
        return []  # the hook keeps the connection's password to itself

    def send(self, digest: Digest) -> None:
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier
        notifier = SmtpNotifier(to=self.recipients, from_email=self.sender, subject=digest.subject,
                                html_content=render_html(digest), smtp_conn_id=self.conn_id,
                                mime_subtype="alternative")
        try:
            notifier.notify({})
        except Exception as exc:  # the provider raises its own and the standard library's errors
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from None


class SlackNotifierChannel:
    """Slack through ``SlackWebhookNotifier`` and a Slack incoming-webhook connection."""

    name = "slack"

    def __init__(self, conn_id: str, timeout: int = 10):
        self.conn_id = conn_id
        self.timeout = timeout

    def secrets(self) -> list[str]:
        return []

    def send(self, digest: Digest) -> None:
        from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier
        payload = render_slack(digest)
        notifier = SlackWebhookNotifier(slack_webhook_conn_id=self.conn_id, text=payload["text"],
                                        blocks=payload["blocks"], timeout=self.timeout)
        try:
            notifier.notify({})
        except Exception as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from None


def recipients(settings) -> list[str]:
    """``DAILYSEG_ALERT_TO``, else the ``dailyseg_alert_to`` Variable (comma-separated)."""
    return list(settings.alert_to) or [a.strip() for a in (variable("dailyseg_alert_to") or "").split(",")
                                       if a.strip()]


def alert_channels(settings) -> list:
    """The notifiers where their connections exist, else the channels the environment names.
    A connection lookup that fails raises (``ConnectionLookupFailed``) rather than skipping a channel."""
    from etl.alerts import env_channels
    channels = {c.name: c for c in env_channels(settings)}
    to = recipients(settings)
    timeout = max(1, int(settings.alert_timeout))
    if lookup_connection(SMTP_CONN_ID) is not None:
        if to:
            channels["email"] = SmtpNotifierChannel(SMTP_CONN_ID, to, settings.alert_from)
        else:
            log.warning("connection %s exists but no recipients: set DAILYSEG_ALERT_TO or the dailyseg_alert_to "
                        "Variable", SMTP_CONN_ID)
    if lookup_connection(SLACK_CONN_ID) is not None:
        channels["slack"] = SlackNotifierChannel(SLACK_CONN_ID, timeout=timeout)
    return list(channels.values())
