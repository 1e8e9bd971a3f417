"""``dailyseg demo``: the main job end to end on the embedded default, in well under a minute.

Generates a few weeks of filings for about twenty firms into the landing zone (most as text, a few
firms publishing HTML pages and a few WinJammer-style PDFs), with the CFTC's monthly file for the
month-end beside them (three firms more that nobody loads, two figures planted that differ from the
filings), adds the real sample filing, ingests everything into the DuckDB warehouse and the lake, loads
the monthly file, validates the loaded filings (the real sample's firm stops filing after 2013, which
the freshness check reports; the planted figures are reconciliation warnings), prints the latest
excess per firm and writes the HTML report. Running it again regenerates the same bytes, so the second ingest
is all duplicates: the demo also shows that re-runs change nothing.
"""

from __future__ import annotations

import shutil
import sys
from datetime import date

from etl.business_days import business_days, previous_business_day
from etl.settings import load_settings
from etl.synthetic import SAMPLE_FILING

DEMO_END = date(2016, 3, 14)

LATEST_EXCESS_SQL = """
WITH last AS (SELECT firm, max(end_date) AS end_date FROM excess_trend GROUP BY firm)
SELECT t.firm, t.end_date,
       max(t.requirement) FILTER (WHERE t.statement = 'segregation') AS seg_required,
       max(t.excess) FILTER (WHERE t.statement = 'segregation') AS seg_excess,
       max(t.excess_pct) FILTER (WHERE t.statement = 'segregation') AS seg_pct,
       max(t.target) FILTER (WHERE t.statement = 'segregation') AS seg_target,
       max(t.excess) FILTER (WHERE t.statement = 'secured') AS secured_excess,
       max(t.excess) FILTER (WHERE t.statement = 'swaps') AS swaps_excess
FROM excess_trend t
JOIN last ON last.firm = t.firm AND last.end_date = t.end_date
GROUP BY t.firm, t.end_date
ORDER BY seg_required DESC NULLS LAST, t.firm
"""


def _window(days: int) -> tuple[date, date]:
    start = DEMO_END
    for _ in range(max(days, 1) - 1):
        start = previous_business_day(start)
    return start, DEMO_END


def latest_excess_table(warehouse) -> str:
    from etl.analyst.formats import dollars, percent, table
    frame = warehouse.read_df(LATEST_EXCESS_SQL)
    rows = []
    for r in frame.itertuples(index=False):
        rows.append([r.firm[:38], str(r.end_date)[:10], dollars(r.seg_excess), percent(r.seg_pct),
                     dollars(r.seg_target), dollars(r.secured_excess), dollars(r.swaps_excess)])
    return table(["firm", "end date", "seg excess", "% of req.", "seg target", "30.7 excess", "swaps excess"],
                 rows, right=(2, 3, 4, 5, 6))


def run(home: str | None = None, firms: int = 20, days: int = 15, out=sys.stdout) -> int:
    from etl.cli.printers import print_ingest_summary
    from etl.cli.progress import ProgressBar
    from etl.synthetic.files import MIXED, generate_filings
    from etl.ingest.job import ingest
    from etl.warehouse import open_warehouse

    settings = load_settings(home=home)
    landing = settings.landing / "demo"
    cftc_dir = settings.landing / "cftc"
    start, end = _window(days)
    print(f"dailyseg demo: data in {settings.home}/, warehouse {settings.warehouse_url}", file=out)
    print(f"\n1. Generating {firms} firms x {len(business_days(start, end))} business days "
          f"({start} to {end}) into {landing}/, and the CFTC's monthly file into {cftc_dir}/", file=out)
    bar = ProgressBar("generate")
    generated = generate_filings(landing, firms=firms, start=start, end=end, fmt=MIXED, seed=2016, progress=bar,
                                 cftc_dir=cftc_dir, cftc_differences=2)
    bar.close()
    sample_copy = landing / "2013-12-31" / SAMPLE_FILING.name
    sample_copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SAMPLE_FILING, sample_copy)
    formats = generated.by_format
    print(f"   {generated.files:,} filings ({generated.amended} amended; {formats.get('text', 0):,} text, "
          f"{formats.get('html', 0):,} HTML, {formats.get('pdf', 0):,} PDF) plus the real sample filing "
          f"{SAMPLE_FILING.name}; {len(generated.cftc_files)} monthly file"
          f"{'s' if len(generated.cftc_files) != 1 else ''} with {len(generated.cftc_planted)} figures planted that "
          "differ from the filings", file=out)

    print(f"\n2. Ingesting {landing}/", file=out)
    bar = ProgressBar("ingest")
    summary = ingest([landing], settings, progress=bar, on_message=lambda m: print(m, file=sys.stderr))
    bar.close()
    print_ingest_summary(summary, out=out, quarantine=settings.quarantine)

    from etl.cftc.load import load_cftc
    from etl.cli.printers import print_cftc_summary
    if generated.cftc_files:
        print(f"\n3. Loading the CFTC's monthly file from {cftc_dir}/", file=out)
        print_cftc_summary(load_cftc(list(generated.cftc_files), settings), settings, out=out, hints=False)
    else:
        print(f"\n3. No month-end between {start} and {end}, so no CFTC monthly file to load (--days 11 or more "
              "reaches back to 29 February)", file=out)

    from etl.cli.printers import print_validation_summary
    from etl.dq.validate import validate
    print("\n4. Validating every loaded filing (Great Expectations: arithmetic, completeness, sign, deficiency, "
          "target, freshness, anomaly checks, and the month-end figures against the CFTC's file)", file=out)
    print_validation_summary(validate(settings), out=out, first=5)

    warehouse = open_warehouse(settings.warehouse_url)
    try:
        print("\n5. Latest excess per firm (dollars; seg = section 4d(2) segregation, 30.7 = secured amounts):",
              file=out)
        print(latest_excess_table(warehouse), file=out)
    finally:
        warehouse.dispose()
    from etl.analyst.report import build_report
    print("\n6. Writing the report (excess history per firm, targets and deficiencies marked; industry totals; "
          "month-ends against the CFTC's file)", file=out)
    report = build_report(settings)
    print(f"   {report.charts} charts for {report.firms} firms in {report.seconds:.1f} s: open {report.index}",
          file=out)
    print("\nNext: ./dev sql sql/queries/02_below_target.sql    (starter queries: sql/README.md)\n"
          "      ./dev sql \"SELECT * FROM cftc_reconciliation WHERE difference <> 0\"\n"
          "      ./dev trends --firm citigroup\n"
          "      ./dev validate --help, ./dev report --help", file=out)
    return 0
