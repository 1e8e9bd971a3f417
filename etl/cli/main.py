"""The ``dailyseg`` command line: argument parsing, ``main`` and the one-line error mapping.

The commands themselves are ``etl.cli.commands``; what they print, ``etl.cli.printers``.

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

from etl import UserError, __version__
from etl.analyst.query import DEFAULT_LIMIT, DEFAULT_TIMEOUT
from etl.form.catalog import STATEMENTS
from etl.processes import Stopped, stop_on_sigterm

from etl.cli.commands import (EXIT_CANNOT_RUN, EXIT_OK, EXIT_STOPPED, cmd_cftc, cmd_demo, cmd_fetch, cmd_generate,
                              cmd_grant, cmd_ingest, cmd_rebuild, cmd_report, cmd_rules, cmd_sql, cmd_trends,
                              cmd_validate)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (use YYYY-MM-DD)") from None


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


# -- parser ------------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dailyseg",
        description="Daily segregation filings of futures commission merchants, as a tested data warehouse.",
        epilog="Configuration: DAILYSEG_HOME, DAILYSEG_WAREHOUSE, DAILYSEG_LAKE, DAILYSEG_LANDING "
               "(see README.md).")
    parser.add_argument("--version", action="version", version=f"dailyseg {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("fetch", help="download new filings from the firms' web sites into the landing zone",
                       description="Download the filings each source in the sources file publishes (index pages "
                                   "and dated address templates) into <landing>/<firm>/, asking each server "
                                   "conditionally so that unchanged files are not downloaded again; a re-published "
                                   "file is downloaded again. Every request is recorded in the warehouse's fetch_log. "
                                   "Needs DAILYSEG_FETCH_CONTACT (an email address or web page, sent in the "
                                   "User-Agent). Exit 0 when the run completed, even when some sources failed "
                                   "(they are listed); 2 when it could not run.")
    p.add_argument("--sources", metavar="FILE",
                   help="the sources CSV (default: $DAILYSEG_SOURCES, else $DAILYSEG_HOME/sources.csv; see "
                        "sources.example.csv)")
    p.add_argument("--landing", metavar="DIR", help="where files land (default: $DAILYSEG_LANDING or "
                                                    "$DAILYSEG_HOME/landing)")
    p.add_argument("--from", dest="date_from", type=_date, metavar="DATE",
                   help="first business day dated addresses are expanded for (default: 5 business days "
                        "before --to)")
    p.add_argument("--to", dest="date_to", type=_date, metavar="DATE",
                   help="last business day dated addresses are expanded for (default: the previous business day)")
    p.add_argument("--firm", metavar="NAME", help="only sources whose firm name contains NAME (case-insensitive)")
    p.add_argument("--warehouse", metavar="URL",
                   help="SQLAlchemy URL of the warehouse holding fetch_log (default: $DAILYSEG_WAREHOUSE, else the "
                        "embedded DuckDB file under $DAILYSEG_HOME)")
    _add_wait_flag(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_fetch)

    p = sub.add_parser("ingest", help="load filing files or folders into the warehouse and lake",
                       description="Load Daily Seg filings (text, HTML or PDF, recognised by content) from files "
                                   "or folders (recursive). "
                                   "Bad files are set aside in the quarantine with their reason and the rest "
                                   "loads; files already loaded (same bytes) are skipped, and files read by an "
                                   "earlier run whose size and modification time have not changed are not read "
                                   "again. Exit 0 when the run completed, even with rejected files; 2 when it "
                                   "could not run.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="filing files or folders")
    p.add_argument("--rescan", action="store_true",
                   help="read every file again, changed or not (e.g. after raising DAILYSEG_MAX_FILE_MB)")
    _add_location_flags(p)
    p.add_argument("--wait", type=float, default=60.0, metavar="SECONDS",
                   help="how long to wait for another run holding the embedded warehouse (default 60)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("cftc", help="the CFTC's monthly \"Financial Data for FCMs\" file beside the filings",
                       description="The CFTC's monthly file of FCM financial data, set against the daily filings "
                                   "(views cftc_reconciliation and cftc_coverage, the reconciliation check of "
                                   "dailyseg validate, and the report).")
    cftc_sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = cftc_sub.add_parser("load", help="load published monthly files (xlsx, xls)",
                            description="Load the CFTC's \"Financial Data for FCMs\" spreadsheets as published "
                                        "(xlsx; xls for older years), in any year's layout: columns are known by "
                                        "their header text. A file already loaded (same bytes) changes nothing; a "
                                        "file that cannot be read is set aside in the quarantine with its reason and "
                                        "the others load. Exit 0 when the run completed, 2 when it could not run.")
    p.add_argument("files", nargs="+", metavar="FILE", help="monthly files, or folders holding them")
    _add_location_flags(p)
    _add_wait_flag(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_cftc)

    p = sub.add_parser("generate", help="write realistic synthetic filings (for demos, tests, benchmarks)",
                       description="Write synthetic Daily Seg filings in the real layout: one per firm and business "
                                   "day (US holidays skipped), some AMENDED, every identity tying.")
    p.add_argument("outdir", metavar="OUTDIR", help="folder to write into (created if missing)")
    p.add_argument("--firms", type=int, default=20, help="number of firms (default 20)")
    p.add_argument("--start", type=_date, required=True, help="first End Date, YYYY-MM-DD")
    p.add_argument("--end", type=_date, required=True, help="last End Date, YYYY-MM-DD")
    p.add_argument("--format", choices=("text", "html", "pdf", "mixed"), default="text",
                   help="file layout: text, html, pdf (WinJammer-style prints, each firm with its own habits) or "
                        "mixed (each firm publishes in one of the three) (default text)")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same bytes)")
    p.add_argument("--amend-rate", type=float, default=0.02, help="share of filings also AMENDED (default 0.02)")
    p.add_argument("--cftc", metavar="DIR",
                   help="also write the CFTC's monthly file (xlsx) for each month-end in range into DIR, its figures "
                        "as the filings state them (load it with dailyseg cftc load)")
    p.add_argument("--cftc-differences", type=int, default=0, metavar="N",
                   help="month-end figures the monthly files state differently from the filings (default 0)")
    p.add_argument("--cftc-unfiled", type=int, default=3, metavar="N",
                   help="firms in the monthly files whose filings are not generated (default 3)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("validate", help="run every data-quality check on the loaded filings",
                       description="Run the statements' arithmetic, completeness, sign, deficiency, target, "
                                   "freshness and anomaly checks, and the month-end reconciliation with the CFTC's "
                                   "monthly file (Great Expectations), on the latest version of each "
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
                                   "marked, plus industry totals and concentration, the month-ends of the CFTC's "
                                   "monthly file against the filings, and a PNG per chart.")
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
    p.add_argument("--statement", choices=STATEMENTS, help="one account class only")
    p.add_argument("--last", type=int, default=20, metavar="N", help="filing days to show (default 20)")
    _add_date_range(p)
    _add_wait_flag(p)
    _add_location_flags(p)
    p.set_defaults(func=cmd_trends)

    p = sub.add_parser("sql", help="run a read-only query (text or a .sql file) on the warehouse and print the rows",
                       description="Run one SELECT on the warehouse, e.g. a starter query from sql/queries/, and "
                                   "print the rows as a table (or CSV). The query cannot change anything: on "
                                   "DuckDB the file is opened read-only with access to other files and extensions "
                                   "disabled, on PostgreSQL it runs in a read-only transaction that is rolled "
                                   "back. Rows are streamed, never read whole.")
    p.add_argument("query", metavar="QUERY", help="SQL text, or the path of a .sql file")
    p.add_argument("--format", choices=("table", "csv"), default="table", help="output format (default table)")
    p.add_argument("--limit", type=int, default=DEFAULT_LIMIT, metavar="N",
                   help=f"read at most N rows (default {DEFAULT_LIMIT:,}); with --format csv, 0 streams every row")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                   help=f"stop the query when it runs longer than this without producing rows "
                        f"(default {DEFAULT_TIMEOUT:g})")
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
    stop_on_sigterm()
    try:
        return args.func(args)
    except Stopped as stop:
        print(f"dailyseg {args.command}: stopped by {stop}; what was committed is kept and nothing is half-written: "
              "run the same command again to finish", file=sys.stderr)
        return EXIT_STOPPED
    except UserError as exc:
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
