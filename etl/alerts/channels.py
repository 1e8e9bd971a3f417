"""Where digests go: email over SMTP and a Slack incoming webhook, with bounded retries.

From the CLI the channels come from ``DAILYSEG_SMTP_URL`` (``smtp://user:pass@host:port``, add
``?starttls=true``; ``smtps://`` for TLS from the start), ``DAILYSEG_ALERT_FROM``, ``DAILYSEG_ALERT_TO``
and ``DAILYSEG_SLACK_WEBHOOK_URL``. Under Airflow the same messages go through the SMTP and Slack
providers' notifiers with the ``dailyseg_smtp`` and ``dailyseg_slack`` connections
(``etl.airflow.notifiers``), as channels of the same shape.

``deliver`` tries a channel a bounded number of times with exponential backoff and returns what
happened; it never raises, and the error it reports has every secret (passwords, webhook URLs)
removed.
"""

from __future__ import annotations

import json
import smtplib
import socket
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from etl.alerts.digest import Digest, render_html, render_slack, render_text


class DeliveryError(Exception):
    """A channel refused or could not take the message."""


class Channel(Protocol):
    name: str

    def send(self, digest: Digest) -> None: ...

    def secrets(self) -> list[str]: ...


@dataclass
class Delivery:
    channel: str
    status: str  # sent | failed
    attempts: int
    error: str | None = None


def redact(text: str, secrets: list[str]) -> str:
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def email_message(digest: Digest, sender: str, recipients: list[str]) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = digest.subject
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="dailyseg.local")
    message.set_content(render_text(digest))
    message.add_alternative(render_html(digest), subtype="html")
    return message


class SmtpChannel:
    """Email through an SMTP server named by a URL."""

    name = "email"

    def __init__(self, url: str, sender: str | None, recipients: list[str] | tuple[str, ...], timeout: float = 10.0):
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError("DAILYSEG_SMTP_URL must start with smtp:// or smtps://")
        options = {k: v[-1].lower() for k, v in parse_qs(parts.query).items()}
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (465 if parts.scheme == "smtps" else 25)
        self.ssl = parts.scheme == "smtps"
        self.starttls = options.get("starttls") in ("1", "true", "yes")
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender = sender or f"dailyseg@{socket.gethostname()}"
        self.recipients = list(recipients)
        self.timeout = timeout
        if not self.recipients:
            raise ValueError("no recipients: set DAILYSEG_ALERT_TO (comma-separated addresses)")

    def secrets(self) -> list[str]:
        return [s for s in (self.password,) if s]

    def send(self, digest: Digest) -> None:
        message = email_message(digest, self.sender, self.recipients)
        try:
            client_class = smtplib.SMTP_SSL if self.ssl else smtplib.SMTP
            with client_class(self.host, self.port, timeout=self.timeout) as client:
                if self.starttls:
                    client.starttls(context=ssl.create_default_context())
                if self.user and self.password:
                    client.login(self.user, self.password)
                client.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from None


class SlackWebhookChannel:
    """A Slack incoming webhook (any HTTP endpoint that takes Slack's JSON)."""

    name = "slack"

    def __init__(self, url: str, timeout: float = 10.0):
        if not url.startswith(("https://", "http://")):
            raise ValueError("DAILYSEG_SLACK_WEBHOOK_URL must be an http(s) URL")
        self.url = url
        self.timeout = timeout

    def secrets(self) -> list[str]:
        path = urlsplit(self.url).path
        return [self.url, path] if path and path != "/" else [self.url]

    def send(self, digest: Digest) -> None:
        body = json.dumps(render_slack(digest)).encode("utf-8")
        request = urllib.request.Request(self.url, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                if response.status >= 300:
                    raise DeliveryError(f"HTTP {response.status}")
        except urllib.error.HTTPError as exc:
            raise DeliveryError(f"HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DeliveryError(f"{type(reason).__name__}: {reason}") from None


def deliver(channel: Channel, digest: Digest, attempts: int = 3, backoff: float = 2.0, sleep=time.sleep) -> Delivery:
    """Send with up to ``attempts`` tries, waiting ``backoff``, 2x, 4x... seconds in between."""
    error = None
    for attempt in range(1, attempts + 1):
        try:
            channel.send(digest)
            return Delivery(channel.name, "sent", attempt)
        except DeliveryError as exc:
            error = redact(str(exc), channel.secrets())
        except Exception as exc:  # a defect in a channel must not stop the others
            error = redact(f"{type(exc).__name__}: {exc}", channel.secrets())
        if attempt < attempts:
            sleep(backoff * 2 ** (attempt - 1))
    return Delivery(channel.name, "failed", attempts, error)
