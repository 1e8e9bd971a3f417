"""The ``dailyseg`` command line: argument parsing, calling ``etl`` functions, and what people read.

Every command has ``--help``. Errors a user can cause (a missing folder, an unreachable warehouse, a
busy lock) end with one line on stderr and a non-zero exit, never a traceback; set ``DAILYSEG_DEBUG=1``
to see the traceback of an unexpected failure.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from datetime import date
from pathlib import Path

from etl import __version__

EXIT_OK, EXIT_FAILED_CHECKS, EXIT_CANNOT_RUN = 0, 1, 2


class UsageError(Exception):
    """A problem with the command's arguments or environment, reported in one line."""


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (use YYYY-MM-DD)") from None


def _settings(args: argparse.Namespace):
    from etl.settings import load_settings
    return load_settings(home=getattr(args, "home", None), warehouse_url=getattr(args, "warehouse", None),
                         lake=getattr(args, "lake", None))


def _add_wait_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--wait", type=float, default=60.0, metavar="SECONDS",
                        help="how long to wait for a run holding the embedded warehouse (default 60)")


def _add_date_range(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="date_from", type=_date, metavar="DATE", help="first End Date")
    parser.add_argument("--to", dest="date_to", type=_date, metavar="DATE", help="last End Date")


def _add_location_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--warehouse", metavar="URL",
                        help="SQLAlchemy URL of the warehouse (default: $DAILYSEG_WAREHOUSE, else the embedded "
                             "DuckDB file under $DAILYSEG_HOME)")
    parser.add_argument("--lake", metavar="DIR", help="lake folder (default: $DAILYSEG_LAKE or $DAILYSEG_HOME/lake)")


# -- ingest ------------------------------------------------------------------------------------------------
def print_ingest_summary(summary, out=sys.stdout, quarantine: Path | None = None) -> None:
    from etl.console import table
    rate = summary.files_seen / summary.seconds if summary.seconds else 0.0
    rows_rate = summary.value_rows / summary.seconds if summary.seconds else 0.0
    new_rejections = [r for r in summary.rejected if not r.already_known]
    lines = [
        f"Ingest run {summary.run_id} into {summary.warehouse}",
        f"  files seen   {summary.files_seen:>9,}",
        f"  loaded       {summary.loaded:>9,}   ({summary.value_rows:,} values)",
        f"  duplicates   {summary.duplicates:>9,}   (same bytes already loaded; nothing written)",
        f"  rejected     {summary.rejected_count:>9,}"
        + (f"   ({summary.rejected_count - len(new_rejections):,} already in the quarantine)"
           if summary.rejected_count != len(new_rejections) else ""),
        f"  time         {summary.seconds:>9.1f} s ({rate:,.0f} files/s, {rows_rate:,.0f} values/s)",
    ]
    if summary.recovered_filings:
        lines.append(f"  recovered    {summary.recovered_filings:>9,}   filings an interrupted run had not "
                     "written to the lake")
    print("\n".join(lines), file=out)
    if new_rejections:
        where = f" (set aside in {quarantine})" if quarantine else ""
        print(f"\nRejected files{where}:", file=out)
        shown = new_rejections[:25]
        print(table(["reason", "line", "file", "why"],
                    [[r.reason_code, r.line_no or "", _short_path(r.source_path), r.reason] for r in shown]),
              file=out)
        if len(new_rejections) > len(shown):
            print(f"... and {len(new_rejections) - len(shown):,} more (SELECT * FROM rejected_filings)", file=out)
    if summary.unknown_codes:
        codes = ", ".join(f"{code} ({n})" for code, n in summary.unknown_codes.most_common(10))
        print(f"\nCodes not in the catalog, loaded as filed: {codes}", file=out)


def _short_path(path: str) -> str:
    """``path`` relative to the current folder when it lies below it, else as it is."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if relative.startswith("..") else relative


def cmd_ingest(args: argparse.Namespace) -> int:
    from etl.console import ProgressBar
    from etl.ingest import ingest
    settings = _settings(args)
    bar = None if args.quiet else ProgressBar("ingest")
    summary = ingest(args.paths, settings, progress=bar, wait=args.wait,
                     on_message=lambda m: print(m, file=sys.stderr))
    if bar:
        bar.close()
    print_ingest_summary(summary, quarantine=settings.quarantine)
    return EXIT_OK


# -- validate ----------------------------------------------------------------------------------------------
def print_validation_summary(summary, out=sys.stdout, first: int = 15) -> None:
    from etl.console import table
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


def cmd_validate(args: argparse.Namespace) -> int:
    from etl.dq.validate import validate
    settings = _settings(args)
    if args.alert:
        from etl.alerts import env_channels
        if not env_channels(settings):
            raise UsageError("--alert needs DAILYSEG_SMTP_URL (with DAILYSEG_ALERT_TO) or DAILYSEG_SLACK_WEBHOOK_URL")
    summary = validate(settings, args.date_from, args.date_to, wait=args.wait,
                       on_message=lambda message: print(message, file=sys.stderr, flush=True))
    print_validation_summary(summary)
    if args.timings:
        print("Time by step: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in summary.phases.items()))
    if args.alert:
        from etl.alerts import notify_validation_run
        print_alert_report(notify_validation_run(settings, summary.run_id))
    return EXIT_OK if summary.success else EXIT_FAILED_CHECKS


def cmd_rules(args: argparse.Namespace) -> int:
    from etl.analyst import wide_view
    from etl.dq import compile as dq_compile
    generated = {**dq_compile.artifact_paths(), **wide_view.artifact_paths()}
    stale = [p for p, content in generated.items() if not p.exists() or p.read_text(encoding="utf-8") != content]
    if args.check:
        if stale:
            print("out of date (run: dailyseg rules compile): " + ", ".join(map(str, stale)), file=sys.stderr)
            return EXIT_FAILED_CHECKS
        print("the check-frame view, the wide statement view and the GX suites match the data files")
        return EXIT_OK
    changed = []
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(generated[path], encoding="utf-8")
        changed.append(path)
    print("\n".join(f"wrote {p}" for p in changed) or "nothing to do: the generated files are up to date")
    return EXIT_OK


# -- generate ----------------------------------------------------------------------------------------------
def cmd_generate(args: argparse.Namespace) -> int:
    from etl.console import ProgressBar
    from etl.generate import generate_filings
    if args.end < args.start:
        raise UsageError("--end is before --start")
    bar = None if args.quiet else ProgressBar("generate")
    result = generate_filings(Path(args.outdir), firms=args.firms, start=args.start, end=args.end,
                              fmt=args.format, seed=args.seed, amend_rate=args.amend_rate, progress=bar)
    if bar:
        bar.close()
    print(f"Wrote {result.files:,} filings ({result.amended:,} amended) for {result.firms} firms over "
          f"{result.days} business days to {args.outdir}")
    return EXIT_OK


# -- demo --------------------------------------------------------------------------------------------------
# -- analyst layer ------------------------------------------------------------------------------------------
def cmd_report(args: argparse.Namespace) -> int:
    from etl.analyst.report import build_report
    from etl.console import ProgressBar
    settings = _settings(args)
    bar = None if args.quiet else ProgressBar("report", unit="charts")
    summary = build_report(settings, firm=args.firm, date_from=args.date_from, date_to=args.date_to,
                           out=Path(args.out) if args.out else None, progress=bar, wait=args.wait)
    if bar:
        bar.close()
    print(f"Report: {summary.firms} firms, {summary.charts} charts, {summary.first_day} to {summary.last_day}, "
          f"in {summary.seconds:.1f} s")
    print(f"  open {summary.index}")
    print(f"  charts (PNG) in {summary.index.parent / 'charts'}")
    return EXIT_OK


def cmd_trends(args: argparse.Namespace) -> int:
    from etl.analyst.trends import excess_history, resolve_firms, trend_table
    from etl.warehouse import exclusive_writer, open_warehouse
    settings = _settings(args)
    with exclusive_writer(settings.warehouse_url, wait=args.wait):
        warehouse = open_warehouse(settings.warehouse_url)
        try:
            firms = resolve_firms(warehouse, args.firm)
            if len(firms) > 1:
                raise UsageError(f"{args.firm!r} matches {len(firms)} firms: " + "; ".join(firms[:10]) +
                                 (" ..." if len(firms) > 10 else "") + ". Give more of the name.")
            history = excess_history(warehouse, firms, args.date_from, args.date_to)
        finally:
            warehouse.dispose()
    if args.statement:
        history = history[history["statement"] == args.statement]
    print(f"{firms[0]}: excess by account class, last {args.last} filing days"
          + (f" ({args.statement})" if args.statement else ""))
    print(trend_table(history, last=args.last))
    return EXIT_OK


def cmd_sql(args: argparse.Namespace) -> int:
    from etl.analyst.query import run_query
    settings = _settings(args)
    text = args.query
    if text.endswith(".sql") or Path(text).is_file():
        path = Path(text)
        if not path.is_file():
            raise UsageError(f"no such query file: {path}")
        text = path.read_text(encoding="utf-8")
    print(run_query(settings, text, fmt=args.format, limit=args.limit, wait=args.wait))
    return EXIT_OK


def cmd_rebuild(args: argparse.Namespace) -> int:
    from etl.console import ProgressBar
    from etl.rebuild import rebuild
    settings = _settings(args)
    bar = None if args.quiet else ProgressBar("rebuild", unit="months")
    summary = rebuild(settings, replace=args.replace, progress=bar, wait=args.wait,
                      on_message=lambda m: print(m, file=sys.stderr))
    if bar:
        bar.close()
    if summary.damage:
        print(f"The warehouse file was damaged ({summary.damage}).")
    if summary.kept:
        print(f"Set aside, not deleted: {', '.join(_short_path(p) for p in summary.kept)}")
    print(f"Rebuilt {summary.warehouse} from the lake {_short_path(summary.lake)} in {summary.seconds:.1f} s:")
    print(f"  filings    {summary.filings:>12,}   ({summary.months} months of the lake)")
    print(f"  values     {summary.value_rows:>12,}")
    print(f"  rejected   {summary.rejected:>12,}   (from the quarantine)")
    if summary.unreadable_months:
        print(f"  unreadable {len(summary.unreadable_months):>12,}   months of the lake, set aside and loaded from "
              f"the raw zone: {', '.join(summary.unreadable_months)}")
    if summary.raw_loaded:
        print(f"  from raw   {summary.raw_loaded:>12,}   (filings a stopped run committed but had not written to "
              "the lake)")
    print("Not in the lake, so not rebuilt: the ingest history, the data-quality results (run dailyseg validate) "
          "and the alert history (the next alerting validation announces every open finding as new).")
    return EXIT_OK


def cmd_grant(args: argparse.Namespace) -> int:
    from etl.warehouse import open_warehouse
    from etl.warehouse.roles import grant_roles
    warehouse = open_warehouse(_settings(args).warehouse_url)
    try:
        granted = grant_roles(warehouse, args.loader, args.analyst)
    finally:
        warehouse.dispose()
    print(f"{args.loader}: reads and writes {len(granted[args.loader])} tables, may create its scratch tables")
    print(f"{args.analyst}: reads {len(granted[args.analyst])} views, nothing else")
    print(f"Give them to accounts with: GRANT {args.analyst} TO someone;")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from etl import demo
    return demo.run(home=args.home, firms=args.firms, days=args.days)


# -- parser ------------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dailyseg",
        description="Daily segregation filings of futures commission merchants, as a tested data warehouse.",
        epilog="Configuration: DAILYSEG_HOME, DAILYSEG_WAREHOUSE, DAILYSEG_LAKE, DAILYSEG_LANDING "
               "(see README.md).")
    parser.add_argument("--version", action="version", version=f"dailyseg {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("ingest", help="load filing files or folders into the warehouse and lake",
                       description="Load Daily Seg filings (text or HTML) from files or folders (recursive). "
                                   "Bad files are set aside in the quarantine with their reason and the rest "
                                   "loads; files already loaded (same bytes) are skipped. Exit 0 when the run "
                                   "completed, even with rejected files; 2 when it could not run.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="filing files or folders")
    _add_location_flags(p)
    p.add_argument("--wait", type=float, default=60.0, metavar="SECONDS",
                   help="how long to wait for another run holding the embedded warehouse (default 60)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("generate", help="write realistic synthetic filings (for demos, tests, benchmarks)",
                       description="Write synthetic Daily Seg filings in the real layout: one per firm and business "
                                   "day (US holidays skipped), some AMENDED, every identity tying.")
    p.add_argument("outdir", metavar="OUTDIR", help="folder to write into (created if missing)")
    p.add_argument("--firms", type=int, default=20, help="number of firms (default 20)")
    p.add_argument("--start", type=_date, required=True, help="first End Date, YYYY-MM-DD")
    p.add_argument("--end", type=_date, required=True, help="last End Date, YYYY-MM-DD")
    p.add_argument("--format", choices=("text", "html"), default="text", help="file layout (default text)")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same bytes)")
    p.add_argument("--amend-rate", type=float, default=0.02, help="share of filings also AMENDED (default 0.02)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("validate", help="run every data-quality check on the loaded filings",
                       description="Run the statements' arithmetic, completeness, sign, deficiency, target, "
                                   "freshness and anomaly checks (Great Expectations) on the latest version of each "
                                   "filing with an End Date in range (default: all), write dq_results and dq_runs, "
                                   "and build the Data Docs. Exit 0 when nothing of severity error or critical "
                                   "failed, 1 when something did, 2 when the checks could not run.")
    p.add_argument("--from", dest="date_from", type=_date, metavar="DATE", help="first End Date to check")
    p.add_argument("--to", dest="date_to", type=_date, metavar="DATE", help="last End Date to check")
    p.add_argument("--timings", action="store_true", help="print the time each step took")
    p.add_argument("--wait", type=float, default=600.0, metavar="SECONDS",
                   help="how long to wait for another validation, or a run holding the embedded warehouse "
                        "(default 600)")
    p.add_argument("--alert", action="store_true",
                   help="send new findings by email (DAILYSEG_SMTP_URL, DAILYSEG_ALERT_FROM, DAILYSEG_ALERT_TO) and "
                        "Slack (DAILYSEG_SLACK_WEBHOOK_URL)")
    _add_location_flags(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("rules", help="regenerate the check-frame and wide-statement SQL and the GX suites from the data files",
                       description="Compile expectations/rules.csv, checks.csv and line_items.csv into "
                                   "sql/views/010_dq_check_frame.sql and expectations/gx/*.json.")
    p.add_argument("action", choices=("compile",), help="compile: write the generated files")
    p.add_argument("--check", action="store_true", help="only report whether the generated files are current")
    p.set_defaults(func=cmd_rules)

    p = sub.add_parser("report", help="write the HTML report and PNG charts of excess history",
                       description="Write a static HTML report (opens offline) with, per firm and account class, "
                                   "excess and excess % over time with the management target and deficiency days "
                                   "marked, plus industry totals and concentration, and a PNG per chart.")
    p.add_argument("--firm", metavar="NAME", help="only firms whose name contains NAME (case-insensitive)")
    _add_date_range(p)
    p.add_argument("--out", metavar="DIR", help="output folder (default: $DAILYSEG_HOME/report)")
    _add_wait_flag(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_location_flags(p)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("trends", help="print a firm's excess history as a table",
                       description="Print one firm's excess, excess %, target and 20-day figures for its last "
                                   "filing days, a row per day and account class, deficiencies and days below "
                                   "target flagged.")
    p.add_argument("--firm", metavar="NAME", required=True, help="firm name or a unique part of it")
    p.add_argument("--statement", choices=("segregation", "secured", "swaps"), help="one account class only")
    p.add_argument("--last", type=int, default=20, metavar="N", help="filing days to show (default 20)")
    _add_date_range(p)
    _add_wait_flag(p)
    _add_location_flags(p)
    p.set_defaults(func=cmd_trends)

    p = sub.add_parser("sql", help="run a query (text or a .sql file) on the warehouse and print the rows",
                       description="Run one SELECT on the warehouse, e.g. a starter query from sql/queries/, and "
                                   "print the rows as a table (or CSV). The warehouse is opened the same way as "
                                   "by every other command, so no database client is needed.")
    p.add_argument("query", metavar="QUERY", help="SQL text, or the path of a .sql file")
    p.add_argument("--format", choices=("table", "csv"), default="table", help="output format (default table)")
    p.add_argument("--limit", type=int, default=200, metavar="N",
                   help="print at most N rows in a table (default 200; CSV prints all)")
    _add_wait_flag(p)
    _add_location_flags(p)
    p.set_defaults(func=cmd_sql)

    p = sub.add_parser("rebuild", help="rebuild the warehouse from the lake (a damaged or lost warehouse file)",
                       description="Rebuild the warehouse's filings, values and rejections from the lake: its "
                                   "Parquet files, its quarantine and its raw zone. An embedded warehouse file that "
                                   "cannot be read is renamed aside (never deleted) first. The ingest, "
                                   "data-quality and alert history are not in the lake and start afresh.")
    p.add_argument("--replace", action="store_true",
                   help="also set aside an embedded warehouse file that still opens and holds filings")
    p.add_argument("--wait", type=float, default=60.0, metavar="SECONDS",
                   help="how long to wait for another run holding the warehouse (default 60)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_location_flags(p)
    p.set_defaults(func=cmd_rebuild)

    p = sub.add_parser("grant", help="create least-privilege loader and analyst roles on a PostgreSQL warehouse",
                       description="Run as the database owner after the schema exists: the loader role may read "
                                   "and write the warehouse tables (not change or drop them); the analyst role "
                                   "may only read the views. Both are NOLOGIN group roles to grant to accounts.")
    p.add_argument("--loader", default="dailyseg_loader", help="loader role (default dailyseg_loader)")
    p.add_argument("--analyst", default="dailyseg_analyst", help="analyst role (default dailyseg_analyst)")
    _add_location_flags(p)
    p.set_defaults(func=cmd_grant)

    p = sub.add_parser("demo", help="generate filings, ingest them with the real sample, show the latest excess",
                       description="The main job end to end on the embedded default: generate a few weeks of "
                                   "filings for about 20 firms plus the real sample filing, ingest them, "
                                   "validate them and print the latest excess per firm.")
    p.add_argument("--home", metavar="DIR", help="data folder (default: $DAILYSEG_HOME or ./data)")
    p.add_argument("--firms", type=int, default=20, help="number of generated firms (default 20)")
    p.add_argument("--days", type=int, default=15, help="business days of generated filings (default 15)")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_CANNOT_RUN
    from etl.alerts import AlertConfigError
    from etl.dq.validate import ValidationError
    from etl.ingest import IngestError
    from etl.locks import LockBusy
    from etl.warehouse import WarehouseError
    from etl.analyst.report import ReportError
    from etl.analyst.query import QueryError
    from etl.analyst.trends import UnknownFirm
    from etl.prepare import WorkerLost
    from etl.rebuild import RebuildError
    except_types = (UsageError, IngestError, ValidationError, WarehouseError, LockBusy, AlertConfigError, ReportError,
                    UnknownFirm, QueryError, WorkerLost, RebuildError)
    try:
        return args.func(args)
    except except_types as exc:
        from etl.warehouse.duckdb_backend import with_damage_hint
        print(f"dailyseg {args.command}: {with_damage_hint(str(exc))}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except KeyboardInterrupt:
        print(f"\ndailyseg {args.command}: interrupted; a re-run continues where this one stopped", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # an unexpected failure: one line, the traceback only on request
        if os.environ.get("DAILYSEG_DEBUG"):
            traceback.print_exc()
        from etl.warehouse.duckdb_backend import with_damage_hint
        first_line = with_damage_hint((str(exc).strip().splitlines() or [""])[0][:300])
        print(f"dailyseg {args.command}: unexpected error: {type(exc).__name__}: {first_line} "
              "(set DAILYSEG_DEBUG=1 to see where)", file=sys.stderr)
        return EXIT_CANNOT_RUN


def entry() -> None:
    """The console script: run, flush, and leave without interpreter teardown.

    Some compiled extensions (DuckDB's bindings, once GX has been imported) print reference-leak
    warnings while the interpreter shuts down; a command that has finished has nothing left to clean
    up that its own code did not already close, so it exits directly.
    """
    code = main()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


if __name__ == "__main__":
    entry()
