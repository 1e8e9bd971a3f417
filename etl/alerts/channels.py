"""Where digests go: email over SMTP and a Slack incoming webhook, with bounded retries.

From the CLI the channels come from ``DAILYSEG_SMTP_URL`` (``smtp://user:pass@host:port``, add
``?starttls=true``; ``smtps://`` for TLS from the start), ``DAILYSEG_ALERT_FROM``, ``DAILYSEG_ALERT_TO``
and ``DAILYSEG_SLACK_WEBHOOK_URL``. A password never travels in clear text: a URL that carries one must
ask for TLS, except ``?allow_plaintext_auth=true`` towards a server on this machine (a test server on a
loopback address). Under Airflow the same messages go through the SMTP and Slack providers' notifiers
with the ``dailyseg_smtp`` and ``dailyseg_slack`` connections (``etl.airflow.notifiers``), as channels
of the same shape.

``deliver`` tries a channel a bounded number of times with exponential backoff and returns what
happened; it never raises, and the error it reports has every secret (passwords, webhook URLs)
removed.
"""

from __future__ import annotations

import ipaddress
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
    """A channel refused or could not take the message. ``transient``: trying again later may work (a
    timeout, a dropped connection, a server error, HTTP 429); otherwise the channel said no for good (a
    refused login, an unknown webhook), and retrying only delays the other work."""

    def __init__(self, message: str, transient: bool = True):
        super().__init__(message)
        self.transient = transient


def _smtp_transient(exc: Exception) -> bool:
    """SMTP reply codes 4xx are temporary and 5xx permanent (RFC 5321); a refused login is permanent;
    anything at the connection level (timeouts, resets, a server that hung up) is transient."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return False
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in exc.recipients.values())
    code = getattr(exc, "smtp_code", None)
    return not (isinstance(code, int) and 500 <= code < 600)


def _http_transient(status: int) -> bool:
    return status == 429 or status >= 500


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
        if self.password and not (self.ssl or self.starttls):
            if options.get("allow_plaintext_auth") not in ("1", "true", "yes"):
                raise ValueError("DAILYSEG_SMTP_URL carries a password but asks for no TLS: use smtps:// or add "
                                 "?starttls=true (a password is never sent in clear text)")
            if not _is_loopback(self.host):
                raise ValueError("allow_plaintext_auth in DAILYSEG_SMTP_URL is for a test server on this machine "
                                 f"only, not {self.host}: use smtps:// or ?starttls=true")
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
            raise DeliveryError(f"{type(exc).__name__}: {exc}", transient=_smtp_transient(exc)) from None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
                    raise DeliveryError(f"HTTP {response.status}", transient=_http_transient(response.status))
        except urllib.error.HTTPError as exc:
            raise DeliveryError(f"HTTP {exc.code} {exc.reason}", transient=_http_transient(exc.code)) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DeliveryError(f"{type(reason).__name__}: {reason}") from None


def deliver(channel: Channel, digest: Digest, attempts: int = 3, backoff: float = 2.0, sleep=time.sleep) -> Delivery:
    """Send with up to ``attempts`` tries, waiting ``backoff``, 2x, 4x... seconds in between; a permanent
    refusal (``DeliveryError.transient`` false) ends the tries at once."""
    error = None
    for attempt in range(1, attempts + 1):
        try:
            channel.send(digest)
            return Delivery(channel.name, "sent", attempt)
        except DeliveryError as exc:
            error = redact(str(exc), channel.secrets())
            if not exc.transient:
                return Delivery(channel.name, "failed", attempt, f"{error} (permanent: not retried)")
        except Exception as exc:  # a defect in a channel must not stop the others
            error = redact(f"{type(exc).__name__}: {exc}", channel.secrets())
        if attempt < attempts:
            sleep(backoff * 2 ** (attempt - 1))
    return Delivery(channel.name, "failed", attempts, error)
