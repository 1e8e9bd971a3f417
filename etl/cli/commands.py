"""The commands of ``dailyseg``: each calls one function of ``etl`` and prints what people read.

Errors a user can cause are raised as the ``etl`` package's own exceptions (or ``UsageError``) and
turned into one line by ``etl.cli.main``.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager
from pathlib import Path

from etl import UserError
from etl.cli.printers import (print_alert_report, print_cftc_summary, print_fetch_summary, print_ingest_summary,
                              print_validation_summary, short_path)
from etl.cli.progress import ProgressBar

EXIT_OK, EXIT_FAILED_CHECKS, EXIT_CANNOT_RUN = 0, 1, 2
EXIT_STOPPED = 128 + 15  # as a shell reports a process ended by SIGTERM


class UsageError(UserError):
    """A problem with the command's arguments or environment, reported in one line."""


@contextmanager
def progress_bar(args: argparse.Namespace, label: str, unit: str = "files"):
    """A progress bar for a long run (none with ``--quiet``), finished when the run ends."""
    bar = None if args.quiet else ProgressBar(label, unit=unit)
    try:
        yield bar
    finally:
        if bar:
            bar.close()


def settings_of(args: argparse.Namespace):
    from etl.settings import load_settings
    return load_settings(home=getattr(args, "home", None), warehouse_url=getattr(args, "warehouse", None),
                         lake=getattr(args, "lake", None))


def cmd_ingest(args: argparse.Namespace) -> int:
    from etl.ingest.job import ingest
    settings = settings_of(args)
    with progress_bar(args, "ingest") as bar:
        summary = ingest(args.paths, settings, progress=bar, wait=args.wait,
                         on_message=lambda m: print(m, file=sys.stderr), rescan=args.rescan)
    print_ingest_summary(summary, quarantine=settings.quarantine)
    return EXIT_OK


def cmd_fetch(args: argparse.Namespace) -> int:
    from etl.fetch import fetch, read_sources
    settings = settings_of(args).with_overrides(landing=args.landing, sources=args.sources)
    sources = read_sources(settings.sources_file)
    if args.firm:
        sources = [s for s in sources if args.firm.lower() in s.firm.lower()]
        if not sources:
            raise UsageError(f"no source in {settings.sources_file} has a firm name containing {args.firm!r}")
    if not any(s.enabled for s in sources):
        raise UsageError(f"nothing to fetch: no enabled source in {settings.sources_file}")
    with progress_bar(args, "fetch") as bar:
        summary = fetch(settings, sources, args.date_from, args.date_to, progress=bar, wait=args.wait,
                        on_message=lambda m: print(m, file=sys.stderr))
    print_fetch_summary(summary)
    return EXIT_OK


def cmd_cftc(args: argparse.Namespace) -> int:
    from etl.cftc.load import load_cftc
    settings = settings_of(args)
    with progress_bar(args, "cftc load") as bar:
        summary = load_cftc(args.files, settings, progress=bar, wait=args.wait,
                            on_message=lambda m: print(m, file=sys.stderr))
    print_cftc_summary(summary, settings)
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from etl.dq.validate import validate
    settings = settings_of(args)
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
    from etl.synthetic.files import generate_filings
    if args.end < args.start:
        raise UsageError("--end is before --start")
    if (args.cftc_differences or args.cftc_unfiled != 3) and not args.cftc:
        raise UsageError("--cftc-differences and --cftc-unfiled need --cftc DIR")
    with progress_bar(args, "generate") as bar:
        result = generate_filings(Path(args.outdir), firms=args.firms, start=args.start, end=args.end,
                                  fmt=args.format, seed=args.seed, amend_rate=args.amend_rate, progress=bar,
                                  cftc_dir=Path(args.cftc) if args.cftc else None,
                                  cftc_differences=args.cftc_differences, cftc_unfiled=args.cftc_unfiled)
    formats = ", ".join(f"{n:,} {fmt}" for fmt, n in sorted(result.by_format.items()))
    print(f"Wrote {result.files:,} filings ({result.amended:,} amended; {formats}) for {result.firms} firms over "
          f"{result.days} business days to {args.outdir}")
    if args.cftc:
        months = ", ".join(f.stem[-7:] for f in result.cftc_files)  # fcm-financial-data-YYYY-MM
        print(f"Wrote {len(result.cftc_files)} CFTC monthly files to {args.cftc}"
              + (f" (month-ends {months})" if months else " (no month-end in range)")
              + f"; {len(result.cftc_planted)} figures differ from the filings on purpose:")
        for p in result.cftc_planted:
            print(f"  {p.as_of}  {p.firm}  {p.field}: filed {p.daily_value:,}, in the file {p.cftc_value:,}")
    return EXIT_OK


# -- demo --------------------------------------------------------------------------------------------------
# -- analyst layer ------------------------------------------------------------------------------------------
def cmd_report(args: argparse.Namespace) -> int:
    from etl.analyst.report import build_report
    settings = settings_of(args)
    with progress_bar(args, "report", unit="charts") as bar:
        summary = build_report(settings, firm=args.firm, date_from=args.date_from, date_to=args.date_to,
                               out=Path(args.out) if args.out else None, progress=bar, wait=args.wait)
    print(f"Report: {summary.firms} firms, {summary.charts} charts, {summary.first_day} to {summary.last_day}, "
          f"in {summary.seconds:.1f} s")
    print(f"  open {summary.index}")
    print(f"  charts (PNG) in {summary.index.parent / 'charts'}")
    return EXIT_OK


def cmd_trends(args: argparse.Namespace) -> int:
    from etl.analyst.trends import excess_history, resolve_firms, trend_table
    from etl.warehouse import exclusive_writer, open_warehouse
    settings = settings_of(args)
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
    settings = settings_of(args)
    text = args.query
    if text.endswith(".sql") or Path(text).is_file():
        path = Path(text)
        if not path.is_file():
            raise UsageError(f"no such query file: {path}")
        text = path.read_text(encoding="utf-8")
    outcome = run_query(settings, text, sys.stdout, fmt=args.format, limit=args.limit, timeout=args.timeout,
                        wait=args.wait, on_message=lambda m: print(m, file=sys.stderr))
    if outcome.more:
        note = (f"(the first {outcome.rows:,} rows; the query returns more: raise --limit, or use "
                "--format csv --limit 0 for every row)")
        print(note, file=sys.stderr if args.format == "csv" else sys.stdout)
    elif args.format == "table":
        print(f"({outcome.rows:,} row{'' if outcome.rows == 1 else 's'})")
    return EXIT_OK


def cmd_rebuild(args: argparse.Namespace) -> int:
    from etl.lake.rebuild import rebuild
    settings = settings_of(args)
    with progress_bar(args, "rebuild", unit="months") as bar:
        summary = rebuild(settings, replace=args.replace, progress=bar, wait=args.wait,
                          on_message=lambda m: print(m, file=sys.stderr))
    if summary.damage:
        print(f"The warehouse file was damaged ({summary.damage}).")
    if summary.kept:
        print(f"Set aside, not deleted: {', '.join(short_path(p) for p in summary.kept)}")
    print(f"Rebuilt {summary.warehouse} from the lake {short_path(summary.lake)} in {summary.seconds:.1f} s:")
    print(f"  filings    {summary.filings:>12,}   ({summary.months} months of the lake)")
    print(f"  values     {summary.value_rows:>12,}")
    print(f"  rejected   {summary.rejected:>12,}   (from the quarantine)")
    if summary.cftc_months:
        print(f"  CFTC file  {summary.cftc_months:>12,}   month-ends of the CFTC's monthly file")
    if summary.unreadable_months:
        print(f"  unreadable {len(summary.unreadable_months):>12,}   months of the lake, set aside and loaded from "
              f"the raw zone: {', '.join(summary.unreadable_months)}")
    if summary.raw_loaded:
        print(f"  from raw   {summary.raw_loaded:>12,}   (filings a stopped run committed but had not written to "
              "the lake)")
    print("Not in the lake, so not rebuilt: the ingest history, the fetch log (the next fetch asks each address once "
          "more without its ETag; files already landed are not written again), the data-quality results (run "
          "dailyseg validate) and the alert history (the next alerting validation announces every open finding as "
          "new).")
    return EXIT_OK


def cmd_grant(args: argparse.Namespace) -> int:
    from etl.warehouse import open_warehouse
    from etl.warehouse.roles import grant_roles
    warehouse = open_warehouse(settings_of(args).warehouse_url)
    try:
        granted = grant_roles(warehouse, args.loader, args.analyst)
    finally:
        warehouse.dispose()
    print(f"{args.loader}: reads and writes {len(granted[args.loader])} tables, may create its scratch tables")
    print(f"{args.analyst}: reads {len(granted[args.analyst])} views, nothing else")
    print(f"Give them to accounts with: GRANT {args.analyst} TO someone;")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from etl.cli import demo
    return demo.run(home=args.home, firms=args.firms, days=args.days)


