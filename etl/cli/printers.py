"""What the commands print: the summaries of an ingest, a validation and an alerting run."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from etl.analyst.formats import table


def print_ingest_summary(summary, out=sys.stdout, quarantine: Path | None = None) -> None:
    rate = summary.files_seen / summary.seconds if summary.seconds else 0.0
    rows_rate = summary.value_rows / summary.seconds if summary.seconds else 0.0
    new_rejections = [r for r in summary.rejected if not r.already_known]
    lines = [
        f"Ingest run {summary.run_id} into {summary.warehouse}",
        f"  files seen   {summary.files_seen:>9,}"
        + (f"   ({summary.unchanged:,} unchanged since they were read: not read again)" if summary.unchanged else ""),
        f"  loaded       {summary.loaded:>9,}   ({summary.value_rows:,} values{_by_format(summary.formats)})",
        f"  duplicates   {summary.duplicates:>9,}   (same bytes already loaded; nothing written)",
        f"  rejected     {summary.rejected_count:>9,}"
        + (f"   ({summary.rejected_count - len(new_rejections):,} already in the quarantine)"
           if summary.rejected_count != len(new_rejections) else ""),
        f"  time         {summary.seconds:>9.1f} s ({rate:,.0f} files/s, {rows_rate:,.0f} values/s)",
    ]
    if summary.repair is not None:
        lines.insert(1, "  " + summary.repair.describe(short_path))
    if summary.recovered_filings:
        lines.append(f"  recovered    {summary.recovered_filings:>9,}   filings an interrupted run had not "
                     "written to the lake")
    print("\n".join(lines), file=out)
    if new_rejections:
        where = f" (set aside in {quarantine})" if quarantine else ""
        print(f"\nRejected files{where}:", file=out)
        shown = new_rejections[:25]
        print(table(["reason", "line", "file", "why"],
                    [[r.reason_code, r.line_no or "", short_path(r.source_path), r.reason] for r in shown]),
              file=out)
        if len(new_rejections) > len(shown):
            print(f"... and {len(new_rejections) - len(shown):,} more (SELECT * FROM rejected_filings)", file=out)
    if summary.unknown_codes:
        codes = ", ".join(f"{code} ({n})" for code, n in summary.unknown_codes.most_common(10))
        print(f"\nCodes not in the catalog, loaded as filed: {codes}", file=out)


def _by_format(formats) -> str:
    """``; 219 text, 45 HTML, 46 PDF`` when the run read more than text, else nothing."""
    if not set(formats) - {"text"}:
        return ""
    names = (("text", "text"), ("html", "HTML"), ("pdf", "PDF"))
    return "; " + ", ".join(f"{formats[key]:,} {name}" for key, name in names if formats.get(key))
def print_cftc_summary(summary, settings, out=None, hints: bool = True) -> None:
    """What a ``dailyseg cftc load`` did, file by file, and where to look next."""
    out = out or sys.stdout
    print(f"CFTC monthly files, run {summary.run_id} into {summary.warehouse} ({summary.seconds:.1f} s)", file=out)
    for status, label in (("loaded", "loaded"), ("older", "older copies"), ("unchanged", "unchanged"),
                          ("rejected", "rejected")):
        n = summary.count(status)
        if n or status in ("loaded", "rejected"):
            note = {"older": "   (a later publication for the same month is in use)",
                    "unchanged": "   (same bytes loaded before; nothing written)"}.get(status, "")
            print(f"  {label:<13}{n:>5}{note}", file=out)
    rows = [[str(f.as_of_date or "-"), f.status, f.n_firms if f.status in ("loaded", "older") else "",
             f"{len(f.columns)}" if f.columns else "", short_path(f.source_path)]
            for f in summary.files if f.status != "rejected"]
    if rows:
        print(table(["as of", "status", "firms", "columns", "file"], rows, right=(2, 3)), file=out)
    for as_of, (firms, unloaded) in sorted(summary.coverage.items()):
        print(f"  {as_of}: {firms} firms in the file hold customer funds; {unloaded} of them have no daily filing "
              "in the warehouse that month", file=out)
    for f in summary.files:
        if f.unrecognised:
            print(f"  {short_path(f.source_path)}: columns not recognised, not loaded: {'; '.join(f.unrecognised)}",
                  file=out)
    rejected = [f for f in summary.files if f.status == "rejected"]
    if rejected:
        print(f"\nRejected files (set aside in {settings.quarantine}):", file=out)
        print(table(["reason", "file", "why"], [[f.reason_code, short_path(f.source_path), f.reason]
                                                for f in rejected]), file=out)
    if hints and summary.count("loaded"):
        print("\nNext: dailyseg sql \"SELECT * FROM cftc_coverage WHERE daily_filings = 0\"   (firms nobody loads)\n"
              "      dailyseg validate --alert   (month-end differences: the reconciliation check)", file=out)


def short_path(path: str) -> str:
    """``path`` relative to the current folder when it lies below it, else as it is."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if relative.startswith("..") else relative


def print_validation_summary(summary, out=sys.stdout, first: int = 15) -> None:
    from etl.dq.checks import KINDS
    span = f"{summary.date_from} to {summary.date_to}" if summary.date_from else "an empty warehouse"
    print(f"Validation {summary.run_id} of {span} ({summary.backend}): {summary.filings_checked:,} filings, "
          f"{summary.statements_checked:,} statements, {summary.expectations} expectations, "
          f"{summary.seconds:.1f} s (+{summary.setup_seconds:.1f} s loading Great Expectations)", file=out)
    counts = summary.by_kind
    severities = ("critical", "error", "warning")
    rows = [[kind] + [counts.get((kind, sev), 0) or "-" for sev in severities] for kind in KINDS
            if any(counts.get((kind, sev)) for sev in severities)]
    if rows:
        print(table(["kind", *severities], rows, right=(1, 2, 3)), file=out)
        print(f"\nFirst {min(first, len(summary.findings))} of {len(summary.findings):,} findings, most severe first:",
              file=out)
        for f in summary.findings[:first]:
            print(f"  {f.severity.upper():<8} {f.rule_id:<18} {f.message}", file=out)
    else:
        print("No check failed.", file=out)
    verdict = "PASSED (nothing of severity error or critical)" if summary.success else \
        "FAILED (errors or critical findings above)"
    print(f"\n{verdict}", file=out)
    if summary.results_path:
        print(f"All findings: SELECT * FROM dq_results WHERE run_id = '{summary.run_id}'", file=out)
        print(f"GX results:   {summary.results_path}", file=out)
        print(f"Data Docs:    {summary.data_docs_path}", file=out)


def print_alert_report(report: dict, out=sys.stdout) -> None:
    if not report.get("deliveries"):
        print(f"Alerts: {report.get('note', 'nothing sent')}", file=out)
        return
    for d in report["deliveries"]:
        if d["status"] == "sent":
            print(f"Alert {d['channel']}: sent ({d['new']} new, {d['resolved']} resolved): {d['headline']}", file=out)
        elif d["status"] == "nothing_new":
            print(f"Alert {d['channel']}: nothing new since the last message", file=out)
        else:
            print(f"Alert {d['channel']}: NOT delivered after {d['attempts']} attempts ({d['error']}); "
                  "recorded in the alerts table, the next run sends it again", file=out)




def print_fetch_summary(summary, out=sys.stdout, first: int = 20) -> None:
    """A row per source (new, re-published, unchanged, not yet published, failed), then each failure with
    its address and reason."""
    from etl.settings import is_url
    span = f"; dated addresses for {summary.date_from} to {summary.date_to}" if summary.date_from else ""
    landing = summary.landing if is_url(summary.landing) else short_path(summary.landing)
    print(f"Fetch run {summary.run_id} into {landing}{span}", file=out)
    rows = [[r.source.firm, r.new, r.republished, r.unchanged, r.not_published, r.failed] for r in summary.results]
    totals = ["total", *(summary.total(n) for n in ("new", "republished", "unchanged", "not_published", "failed"))]
    print(table(["source", "new", "re-published", "unchanged", "not yet published", "failed"],
                [[c if c != 0 else "-" for c in row] for row in rows + [totals]], right=(1, 2, 3, 4, 5)), file=out)
    size = summary.bytes_received
    amount = f"{size / 1e6:,.1f} MB" if size >= 1e6 else f"{size / 1e3:,.1f} kB"
    print(f"{summary.requests:,} requests, {amount} downloaded in {summary.seconds:.1f} s", file=out)
    failures = [(r.source.firm, url, why) for r in summary.results for url, why in r.failures]
    if failures:
        print(f"\nFailed ({len(failures):,}; the other sources went on):", file=out)
        for firm, url, why in failures[:first]:
            print(f"  {firm}: {url}\n      {why}", file=out)
        if len(failures) > first:
            print(f"  ... and {len(failures) - first:,} more: SELECT firm, url, error FROM fetch_log WHERE run_id = "
                  f"'{summary.run_id}' AND outcome = 'failed'", file=out)
    elsewhere = [(r.source.firm, r.other_hosts) for r in summary.results if r.other_hosts]
    for firm, n in elsewhere:
        print(f"\nNot followed: {n} filing link{'s' if n != 1 else ''} on {firm}'s index page to other hosts (list "
              "them in the source's hosts column to follow them)", file=out)
    if (summary.total("new") or summary.total("republished")) and not is_url(summary.landing):
        print(f"\nNext: dailyseg ingest {landing}", file=out)
