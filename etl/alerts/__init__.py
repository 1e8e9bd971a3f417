"""Alerts: tell risk, compliance and data teams what a validation run found, by email and Slack.

``notify_validation_run`` reads a run's findings from ``dq_results``, routes them by severity
(critical and error to every channel, warnings to ``DAILYSEG_WARNING_CHANNEL``: email, slack, both or
none), leaves out what each channel was already told about the same filing version, adds findings an
amendment has since fixed as "resolved" (once), and sends one digest per channel. Every message sent,
failed or not needed is a row in ``alerts``; a channel that is down never stops the other one or the
load, and what it missed is sent with the next run. ``notify_failure`` reports a pipeline failure, and
``notify_event`` something the pipeline did on its own (a damaged warehouse rebuilt from the lake).
"""

from __future__ import annotations

import logging
import uuid
from datetime import date, datetime
from typing import NamedTuple

import sqlalchemy as sa

from etl import UserError
from etl.clock import utc_now
from etl.alerts.channels import Channel, Delivery, SlackWebhookChannel, SmtpChannel, deliver
from etl.alerts.digest import Digest, Item, build_event_digest, build_failure_digest, build_validation_digest
from etl.settings import Settings
from etl.analyst.formats import or_none

log = logging.getLogger(__name__)
ROUTES = {"email": {"email"}, "slack": {"slack"}, "both": {"email", "slack"}, "none": set()}


class AlertConfigError(UserError, ValueError):
    """An alert channel is configured wrongly (bad URL, no recipients)."""


def env_channels(settings: Settings) -> list[Channel]:
    """Channels from DAILYSEG_SMTP_URL / DAILYSEG_ALERT_TO / DAILYSEG_SLACK_WEBHOOK_URL."""
    channels: list[Channel] = []
    try:
        if settings.smtp_url:
            channels.append(SmtpChannel(settings.smtp_url, settings.alert_from, settings.alert_to,
                                        timeout=settings.alert_timeout))
        if settings.slack_webhook_url:
            channels.append(SlackWebhookChannel(settings.slack_webhook_url, timeout=settings.alert_timeout))
    except ValueError as exc:
        raise AlertConfigError(str(exc)) from None
    return channels



def _day(value) -> date | None:
    if value is None:
        return None
    return value if isinstance(value, date) and not isinstance(value, datetime) else value.date() \
        if hasattr(value, "date") else date.fromisoformat(str(value)[:10])


def finding_key(rule_id, firm, end_date, statement, code, filing_id=None, with_version=True) -> str:
    parts = [rule_id, firm, str(end_date), statement or "", code or ""]
    if with_version:
        parts.append(filing_id or "")
    return "|".join(parts)[:200]


class Finding(NamedTuple):
    """A dq_results row as the alerts see it."""

    item: Item
    key: str  # names the filing version: a finding is sent once per version
    semantic_key: str  # the same problem whatever the version: how a fix by amendment is recognised
    filing_id: str | None


def _findings(frame) -> list[Finding]:
    """A ``Finding`` for each dq_results row."""
    out = []
    for row in frame.to_dict("records"):
        day = _day(row["end_date"])
        statement, code, filing_id = or_none(row.get("statement")), or_none(row.get("code")), or_none(row.get("filing_id"))
        item = Item(kind=row["kind"], severity=row["severity"], rule_id=row["rule_id"], firm=row["firm"],
                    end_date=day, statement=statement, code=code,
                    reported=None if or_none(row.get("reported")) is None else int(row["reported"]),
                    expected=None if or_none(row.get("expected")) is None else int(row["expected"]),
                    difference=None if or_none(row.get("difference")) is None else int(row["difference"]),
                    message=row["message"], source=or_none(row.get("source_path")))
        out.append(Finding(item, finding_key(item.rule_id, item.firm, day, statement, code, filing_id),
                           finding_key(item.rule_id, item.firm, day, statement, code, with_version=False), filing_id))
    return out


def _record(conn, alert_id: str, run_id: str, kind: str, delivery: Delivery | None, channel: str, digest: Digest | None,
            n_new: int, n_resolved: int) -> None:
    conn.execute(sa.text(
        "INSERT INTO alerts (alert_id, run_id, kind, channel, status, attempts, error, created_at, n_findings, "
        "n_resolved, headline) VALUES (:a, :r, :k, :c, :s, :n, :e, :t, :f, :v, :h)"),
        {"a": alert_id, "r": run_id, "k": kind, "c": channel,
         "s": delivery.status if delivery else "nothing_new", "n": delivery.attempts if delivery else 0,
         "e": delivery.error if delivery else None, "t": utc_now(), "f": n_new, "v": n_resolved,
         "h": digest.headline if digest else None})


class _Message(NamedTuple):
    """What one channel is to be sent for the validation runs, decided under the warehouse lock."""

    channel: Channel
    alert_id: str
    digest: Digest | None  # None: nothing new for this channel
    new: list[Finding]
    resolved: list[tuple[dict, Item]]  # (alert_findings row, the item announcing it resolved)
    superseded: list[dict]


def notify_validation_run(settings: Settings, run_id: str | list[str], links: dict[str, str] | None = None,
                          channels: list[Channel] | None = None, sleep=None, wait: float = 600) -> dict:
    """Send the new findings of validation run ``run_id`` (or of several runs, in one digest that names
    the End Dates they checked) to each channel; see the module docstring.

    Three steps, so that a slow or dead channel holds nothing up: what to send is read under the
    warehouse's writer lock, which is then released while every channel delivers (side by side, with
    its own retries), and the outcomes are recorded under the lock again."""
    from etl.warehouse import exclusive_writer, open_warehouse
    run_ids = [run_id] if isinstance(run_id, str) else list(run_id)
    channels = env_channels(settings) if channels is None else channels
    if not channels:
        return {"run_id": run_ids[0] if run_ids else None, "deliveries": [], "note": "no alert channel configured"}
    with exclusive_writer(settings.warehouse_url, wait=wait):
        warehouse = open_warehouse(settings.warehouse_url)
        try:
            messages = _plan(settings, warehouse, run_ids, links or {}, channels)
        finally:
            warehouse.dispose()
    deliveries = _deliver_all(settings, [(m.channel, m.digest) for m in messages], sleep)
    with exclusive_writer(settings.warehouse_url, wait=wait):
        warehouse = open_warehouse(settings.warehouse_url)
        try:
            with warehouse.begin() as conn:
                for message, delivery in zip(messages, deliveries):
                    _record_message(conn, run_ids[0], message, delivery)
        finally:
            warehouse.dispose()
    return {"run_id": run_ids[0], "run_ids": run_ids, "deliveries": [
        {"channel": m.channel.name, "status": d.status if d else "nothing_new", "attempts": d.attempts if d else 0,
         "error": d.error if d else None, "new": len(m.new), "resolved": len(m.resolved),
         "headline": m.digest.headline if m.digest else None} for m, d in zip(messages, deliveries)]}


def _plan(settings, warehouse, run_ids, links, channels) -> list[_Message]:
    runs = warehouse.read_in("SELECT * FROM dq_runs WHERE run_id IN :ids", run_ids) if run_ids else None
    if runs is None or len(runs) < len(set(run_ids)):
        raise AlertConfigError(f"no validation run {', '.join(run_ids) or '(none given)'}")
    runs = runs.set_index("run_id").loc[list(dict.fromkeys(run_ids))].reset_index()
    spans = [(_day(or_none(a)), _day(or_none(b))) for a, b in zip(runs.date_from, runs.date_to)]
    bounded = all(a and b for a, b in spans)  # a run over everything loaded can resolve any finding
    links = dict(links)
    docs = [p for p in runs.get("data_docs_path", []) if or_none(p)]
    if docs:
        links.setdefault("Data Docs", "file://" + str(docs[-1]))
    findings = _findings(warehouse.read_in(
        "SELECT r.*, f.source_path FROM dq_results r LEFT JOIN filings f ON f.filing_id = r.filing_id "
        "WHERE r.run_id IN :ids", run_ids))
    warning_routes = ROUTES.get(settings.warning_channel, ROUTES["both"])
    messages = []
    for channel in channels:
        routed = [f for f in findings if f.item.severity in ("critical", "error") or channel.name in warning_routes]
        known = warehouse.read_df(
            "SELECT finding_key, rule_id, firm, end_date, statement, code, filing_id, state FROM alert_findings "
            "WHERE channel = :c", {"c": channel.name})
        known_keys = set(known.finding_key)
        new = [f for f in routed if f.key not in known_keys]
        current_semantic = {f.semantic_key for f in routed}
        current_versioned = {f.key for f in routed}
        resolved, superseded = [], []
        for row in known[known.state == "open"].to_dict("records"):
            day = _day(row["end_date"])
            if bounded and not any(a <= day <= b for a, b in spans):
                continue
            semantic = finding_key(row["rule_id"], row["firm"], day, or_none(row["statement"]), or_none(row["code"]),
                                   with_version=False)
            if semantic not in current_semantic:
                resolved.append((row, Item("resolved", "info", row["rule_id"], row["firm"], day,
                                           or_none(row["statement"]), or_none(row["code"]), None, None, None,
                                           "resolved", resolved=True)))
            elif row["finding_key"] not in current_versioned:
                superseded.append(row)  # a newer version of the filing has the same problem: sent as new
        digest = None
        if new or resolved:
            days = [f.item.end_date for f in new if f.item.end_date] + [i.end_date for _, i in resolved]
            digest = build_validation_digest([f.item for f in new], [i for _, i in resolved], ", ".join(run_ids),
                                             days, links, checked=spans if bounded else None)
        messages.append(_Message(channel, "al-" + uuid.uuid4().hex[:16], digest, new, resolved, superseded))
    return messages


def _deliver_all(settings: Settings, sends: list[tuple[Channel, Digest | None]], sleep=None) -> list[Delivery | None]:
    """Deliver each digest to its channel, all channels at once (a slow one delays no other); None where
    there is nothing to send. Never raises."""
    from concurrent.futures import ThreadPoolExecutor
    kw = {} if sleep is None else {"sleep": sleep}
    with ThreadPoolExecutor(max(1, len(sends))) as pool:
        futures = [pool.submit(deliver, channel, digest, attempts=settings.alert_attempts,
                               backoff=settings.alert_backoff, **kw) if digest is not None else None
                   for channel, digest in sends]
    return [future.result() if future is not None else None for future in futures]


def _record_message(conn, run_id: str, message: _Message, delivery: Delivery | None) -> None:
    _record(conn, message.alert_id, run_id, "validation", delivery, message.channel.name, message.digest,
            len(message.new), len(message.resolved))
    if delivery is None or delivery.status != "sent":
        return
    now = utc_now()
    for finding in message.new:
        item = finding.item
        conn.execute(sa.text(
            "INSERT INTO alert_findings (channel, finding_key, rule_id, firm, end_date, statement, code, "
            "filing_id, state, first_alert_id, updated_at) VALUES (:ch, :k, :r, :f, :d, :s, :c, :fi, "
            "'open', :a, :t)"),
            {"ch": message.channel.name, "k": finding.key, "r": item.rule_id, "f": item.firm, "d": item.end_date,
             "s": item.statement, "c": item.code, "fi": finding.filing_id, "a": message.alert_id, "t": now})
    for state, rows in (("resolved", [r for r, _ in message.resolved]), ("superseded", message.superseded)):
        for row in rows:
            conn.execute(sa.text(
                "UPDATE alert_findings SET state = :st, closed_alert_id = :a, updated_at = :t "
                "WHERE channel = :ch AND finding_key = :k"),
                {"st": state, "a": message.alert_id, "t": now, "ch": message.channel.name, "k": row["finding_key"]})


def notify_failure(settings: Settings, where: str, error: str, day: date | None = None,
                   links: dict[str, str] | None = None, channels: list[Channel] | None = None, run_id: str = "",
                   sleep=None, record: bool = True, kind: str = "failure") -> dict:
    """Tell every channel that a pipeline step failed (``kind``: failure, or deadline for a run that
    is late). Recording it is best effort (the warehouse may be what failed) and skipped when
    ``record`` is false (the settings do not name the warehouse); delivering it never raises."""
    channels = env_channels(settings) if channels is None else channels
    secrets = [s for c in channels for s in c.secrets()]
    from etl.alerts.channels import redact
    digest = build_failure_digest(where, redact(str(error), secrets)[:1000], day, links or {})
    return _broadcast(settings, digest, kind, channels, run_id or where, sleep, record)


def notify_event(settings: Settings, title: str, text: str, channels: list[Channel] | None = None,
                 run_id: str = "", sleep=None) -> dict:
    """Tell every channel about something the pipeline did on its own that people should know (a damaged
    warehouse rebuilt from the lake). Never raises for a delivery problem."""
    channels = env_channels(settings) if channels is None else channels
    return _broadcast(settings, build_event_digest(title, text), "event", channels, run_id or title, sleep)


def _broadcast(settings: Settings, digest: Digest, kind: str, channels: list[Channel], run_id: str, sleep,
               record: bool = True) -> dict:
    """Deliver one digest to every channel, then record each delivery (best effort: the warehouse may be
    what failed)."""
    deliveries = _deliver_all(settings, [(c, digest) for c in channels], sleep)
    if not deliveries or not record:
        return {"deliveries": [d.__dict__ for d in deliveries], "headline": digest.headline}
    try:
        from etl.warehouse import exclusive_writer, open_warehouse
        # queue like every other writer of the embedded warehouse, but not for long: a failing run
        # may be the one holding it, and the message has already gone
        with exclusive_writer(settings.warehouse_url, wait=30):
            warehouse = open_warehouse(settings.warehouse_url)
            try:
                with warehouse.begin() as conn:
                    for delivery in deliveries:
                        _record(conn, "al-" + uuid.uuid4().hex[:16], run_id, kind, delivery, delivery.channel,
                                digest, 1, 0)
            finally:
                warehouse.dispose()
    except Exception as exc:  # recording is best effort here; the message itself is what matters
        log.warning("could not record the %s alert: %s", kind, type(exc).__name__)
    return {"deliveries": [d.__dict__ for d in deliveries], "headline": digest.headline}
