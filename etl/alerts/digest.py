"""One message builder: a validation run's findings (or a pipeline failure) as a digest people can act on.

A digest has a headline ("2 deficiencies, 3 arithmetic breaks, 1 missing filing for 2016-03-15"),
then the findings grouped by kind, most severe first, each with firm, End Date, statement, rule,
reported vs expected, the difference, the signed components (in the finding's message) and the
filing's source file; then links to the Data Docs and, under Airflow, to the DAG run. It renders as
plain text and HTML for email and as Block Kit for Slack, within Slack's limits (50 blocks, 3,000
characters a section): what does not fit is summarized as "and N more", never dropped silently.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import date

KIND_TITLES = {
    "deficiency": ("deficiency", "deficiencies"),
    "arithmetic": ("arithmetic break", "arithmetic breaks"),
    "completeness": ("incomplete statement", "incomplete statements"),
    "freshness": ("missing filing", "missing filings"),
    "target": ("excess below target", "excesses below target"),
    "anomaly": ("drop of more than 25%", "drops of more than 25%"),
    "reconciliation": ("month-end difference from the CFTC file", "month-end differences from the CFTC file"),
    "sign": ("sign error", "sign errors"),
    "failure": ("pipeline failure", "pipeline failures"),
    "event": ("notice", "notices"),
}
SEVERITY_RANK = {"critical": 0, "error": 1, "warning": 2, "info": 3}
SLACK_MAX_BLOCKS = 50
SLACK_MAX_SECTION = 3000
SLACK_MAX_TEXT = 3000


@dataclass
class Item:
    kind: str
    severity: str
    rule_id: str
    firm: str
    end_date: date | None
    statement: str | None
    code: str | None
    reported: int | None
    expected: int | None
    difference: int | None
    message: str
    source: str | None = None
    resolved: bool = False


@dataclass
class Digest:
    subject: str
    headline: str
    items: list[Item] = field(default_factory=list)
    resolved: list[Item] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)  # label -> URL
    note: str | None = None

    @property
    def worst(self) -> str:
        severities = [i.severity for i in self.items] or ["info"]
        return min(severities, key=lambda s: SEVERITY_RANK.get(s, 9))

    def groups(self) -> list[tuple[str, list[Item]]]:
        """Items by kind, the kind with the most severe finding first."""
        by_kind: dict[str, list[Item]] = {}
        for item in sorted(self.items, key=lambda i: (SEVERITY_RANK.get(i.severity, 9), str(i.end_date), i.firm)):
            by_kind.setdefault(item.kind, []).append(item)
        return sorted(by_kind.items(), key=lambda kv: min(SEVERITY_RANK.get(i.severity, 9) for i in kv[1]))


def _count(kind: str, n: int) -> str:
    one, many = KIND_TITLES.get(kind, (kind, kind + "s"))
    return f"{n} {one if n == 1 else many}"


def headline_for(items: list[Item], resolved: list[Item], days: list[date]) -> str:
    counts: dict[str, int] = {}
    for item in sorted(items, key=lambda i: SEVERITY_RANK.get(i.severity, 9)):
        counts[item.kind] = counts.get(item.kind, 0) + 1
    parts = [_count(kind, n) for kind, n in counts.items()]
    if resolved:
        parts.append(f"{len(resolved)} resolved")
    span = ""
    if days:
        lo, hi = min(days), max(days)
        span = f" for {lo}" if lo == hi else f" for {lo} to {hi}"
    return (", ".join(parts) or "nothing new") + span


def span_text(spans: list[tuple[date, date]]) -> str:
    """``2016-03-09, 2016-03-14 to 2016-03-15``"""
    return ", ".join(str(a) if a == b else f"{a} to {b}" for a, b in spans)


def build_validation_digest(items: list[Item], resolved: list[Item], run_id: str, days: list[date],
                            links: dict[str, str], checked: list[tuple[date, date]] | None = None) -> Digest:
    """``checked``: the End Dates the run (or runs: ``run_id`` lists them) validated."""
    headline = headline_for(items, resolved, days)
    prefix = "CRITICAL: " if any(i.severity == "critical" for i in items) else ""
    note = f"validation run{'s' if ',' in run_id else ''} {run_id}" + \
        (f"; End Dates checked: {span_text(checked)}" if checked else "")
    return Digest(subject=f"[dailyseg] {prefix}{headline}", headline=headline, items=items, resolved=resolved,
                  links=links, note=note)


def build_failure_digest(where: str, error: str, day: date | None, links: dict[str, str]) -> Digest:
    item = Item("failure", "error", where, "dailyseg pipeline", day, None, None, None, None, None,
                f"{where} failed: {error}")
    headline = f"pipeline failure in {where}" + (f" for {day}" if day else "")
    return Digest(subject=f"[dailyseg] {headline}", headline=headline, items=[item], links=links)


def build_event_digest(title: str, text: str, links: dict[str, str] | None = None) -> Digest:
    item = Item("event", "warning", title, "dailyseg pipeline", None, None, None, None, None, None, text)
    return Digest(subject=f"[dailyseg] {title}", headline=title, items=[item], links=links or {})


def _money(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _facts(item: Item) -> str:
    """``reported 4,843,362,326 vs expected 4,843,362,330 (difference -4)`` where they apply."""
    if item.reported is None and item.expected is None:
        return ""
    return (f"reported {_money(item.reported)} vs expected {_money(item.expected)}"
            + (f" (difference {_money(item.difference)})" if item.difference is not None else ""))


# -- plain text ---------------------------------------------------------------------------------------------
def render_text(digest: Digest) -> str:
    lines = [digest.headline, "=" * min(len(digest.headline), 100), ""]
    for kind, items in digest.groups():
        lines.append(f"{_count(kind, len(items)).upper()}")
        for item in items:
            lines.append(f"- [{item.severity}] {item.rule_id}: {item.message}")
            facts = _facts(item)
            if facts:
                lines.append(f"  {facts}")
            if item.source:
                lines.append(f"  source: {item.source}")
        lines.append("")
    if digest.resolved:
        lines.append(f"RESOLVED ({len(digest.resolved)}): no longer found when validated again")
        lines += [f"- {i.rule_id}: {i.firm}, {i.end_date}, {i.statement or '-'}" for i in digest.resolved]
        lines.append("")
    for label, url in digest.links.items():
        lines.append(f"{label}: {url}")
    if digest.note:
        lines.append(f"({digest.note})")
    return "\n".join(lines).rstrip() + "\n"


# -- HTML ---------------------------------------------------------------------------------------------------
_COLORS = {"critical": "#b00020", "error": "#d35400", "warning": "#8a6d00", "info": "#444444"}
_FIGURES = ("reported", "expected", "difference")
_NOWRAP = "white-space: nowrap;"  # dates, rule ids and amounts must not break at their hyphens


def render_html(digest: Digest) -> str:
    e = html.escape
    out = ['<!DOCTYPE html>', '<html lang="en">', "<head>", '<meta charset="utf-8">',
           f"<title>{e(digest.subject)}</title>", "</head>",
           '<body style="font-family: Arial, Helvetica, sans-serif; font-size: 14px; color: #222;">',
           f'<h1 style="font-size: 18px;">{e(digest.headline)}</h1>']
    for kind, items in digest.groups():
        out.append(f'<h2 style="font-size: 16px; margin-top: 18px;">{e(_count(kind, len(items)))}</h2>')
        out.append('<table style="border-collapse: collapse;" cellpadding="4">')
        out.append("<thead><tr>" + "".join(
            f'<th style="text-align: {"right" if h in _FIGURES else "left"}; border-bottom: 1px solid #999; '
            f'white-space: nowrap;">{h}</th>'
            for h in ("severity", "firm", "end date", "statement", "rule", *_FIGURES)) + "</tr></thead>")
        out.append("<tbody>")
        for item in items:
            color = _COLORS.get(item.severity, "#222")
            out.append("<tr>"
                       f'<td style="color: {color}; font-weight: bold;">{e(item.severity)}</td>'
                       f'<td>{e(item.firm)}</td><td style="{_NOWRAP}">{e(str(item.end_date or ""))}</td>'
                       f'<td>{e(item.statement or "")}</td><td style="{_NOWRAP}">{e(item.rule_id)}</td>'
                       + "".join(f'<td style="text-align: right; {_NOWRAP}">{e(_money(v))}</td>'
                                 for v in (item.reported, item.expected, item.difference))
                       + "</tr>")
            source = f"<br><small>source: {e(item.source)}</small>" if item.source else ""
            out.append(f'<tr><td></td><td colspan="7" style="border-bottom: 1px solid #ddd;">{e(item.message)}'
                       f"{source}</td></tr>")
        out.append("</tbody></table>")
    if digest.resolved:
        out.append(f'<h2 style="font-size: 16px;">Resolved ({len(digest.resolved)})</h2><ul>')
        out += [f"<li>{e(i.rule_id)}: {e(i.firm)}, {e(str(i.end_date))}, {e(i.statement or '-')}</li>"
                for i in digest.resolved]
        out.append("</ul>")
    if digest.links:
        out.append("<p>" + " | ".join(f'<a href="{e(url, quote=True)}">{e(label)}</a>'
                                      for label, url in digest.links.items()) + "</p>")
    if digest.note:
        out.append(f'<p style="color: #777;"><small>{e(digest.note)}</small></p>')
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"


# -- Slack Block Kit ----------------------------------------------------------------------------------------
def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_slack(digest: Digest) -> dict:
    """A Block Kit payload within Slack's limits; findings that do not fit end in "and N more"."""
    emoji = {"critical": ":rotating_light:", "error": ":x:", "warning": ":warning:"}.get(digest.worst, ":white_check_mark:")
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": _fit(f"{digest.headline}", 150)}},
    ]
    footer: list[dict] = []
    if digest.resolved:
        names = "; ".join(f"{i.rule_id} {i.firm} {i.end_date}" for i in digest.resolved)
        footer.append({"type": "section", "text": {"type": "mrkdwn", "text": _fit(
            f"*Resolved ({len(digest.resolved)}):* {_slack_escape(names)}", SLACK_MAX_SECTION)}})
    links = " | ".join(f"<{url}|{_slack_escape(label)}>" for label, url in digest.links.items())
    context = " · ".join(x for x in (links, _slack_escape(digest.note or "")) if x)
    if context:
        footer.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _fit(context, SLACK_MAX_TEXT)}]})
    room = SLACK_MAX_BLOCKS - len(blocks) - len(footer) - 1  # one block kept for "and N more"
    all_items = [(kind, item) for kind, items in digest.groups() for item in items]
    shown = 0
    current_kind = None
    for kind, item in all_items:
        needed = 2 if kind != current_kind else 1
        if room < needed:
            break
        if kind != current_kind:
            count = sum(1 for k, _ in all_items if k == kind)
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*{_count(kind, count)}*"}})
            room -= 1
            current_kind = kind
        facts = _facts(item)
        text = (f"*[{item.severity}] {_slack_escape(item.rule_id)}* {_slack_escape(item.message)}"
                + (f"\n_{_slack_escape(facts)}_" if facts else "")
                + (f"\nsource: `{_slack_escape(item.source)}`" if item.source else ""))
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _fit(text, SLACK_MAX_SECTION)}})
        room -= 1
        shown += 1
    if shown < len(all_items):
        blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                   "text": f"…and {len(all_items) - shown} more (see the email or "
                                                           "dq_results)"}})
    blocks += footer
    return {"text": _fit(f"{emoji} {digest.headline}", SLACK_MAX_TEXT), "blocks": blocks}
