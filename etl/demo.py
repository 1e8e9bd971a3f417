"""``dailyseg demo``: the main job end to end on the embedded default, in well under a minute.

Generates a few weeks of filings for about twenty firms into the landing zone, adds the real sample
filing, ingests everything into the DuckDB warehouse and the lake, validates the loaded filings (the
real sample's firm stops filing after 2013, which the freshness check reports), and prints the latest
excess per firm. Running it again regenerates the same bytes, so the second ingest
is all duplicates: the demo also shows that re-runs change nothing.
"""

from __future__ import annotations

import shutil
import sys
from datetime import date
from pathlib import Path

from etl.business_days import business_days, previous_business_day
from etl.settings import load_settings

DEMO_END = date(2016, 3, 14)
SAMPLE = Path(__file__).parent / "samples" / "citigroup-global-markets-2013-12-31.txt"

LATEST_EXCESS_SQL = """
SELECT v.firm,
       v.end_date,
       max(CASE WHEN v.code = '7060' THEN v.value END) AS seg_required,
       max(CASE WHEN v.code = '7190' THEN v.value END) AS seg_excess,
       max(CASE WHEN v.code = '7194' THEN v.value END) AS seg_target,
       max(CASE WHEN v.code = '7380' THEN v.value END) AS secured_excess,
       max(CASE WHEN v.code = '8730' THEN v.value END) AS swaps_excess
FROM seg_values_latest v
JOIN (SELECT firm, max(end_date) AS end_date FROM filings GROUP BY firm) last
  ON last.firm = v.firm AND last.end_date = v.end_date
GROUP BY v.firm, v.end_date
ORDER BY seg_required DESC NULLS LAST, v.firm
"""


def _window(days: int) -> tuple[date, date]:
    start = DEMO_END
    for _ in range(max(days, 1) - 1):
        start = previous_business_day(start)
    return start, DEMO_END


def latest_excess_table(warehouse) -> str:
    from etl.console import dollars, is_missing, percent, table
    frame = warehouse.read_df(LATEST_EXCESS_SQL)
    rows = []
    for r in frame.itertuples(index=False):
        known = not (is_missing(r.seg_excess) or is_missing(r.seg_required)) and r.seg_required != 0
        pct = 100.0 * r.seg_excess / r.seg_required if known else None
        rows.append([r.firm[:38], str(r.end_date)[:10], dollars(r.seg_excess), percent(pct), dollars(r.seg_target),
                     dollars(r.secured_excess), dollars(r.swaps_excess)])
    return table(["firm", "end date", "seg excess", "% of req.", "seg target", "30.7 excess", "swaps excess"],
                 rows, right=(2, 3, 4, 5, 6))


def run(home: str | None = None, firms: int = 20, days: int = 15, out=sys.stdout) -> int:
    from etl.cli import print_ingest_summary
    from etl.console import ProgressBar
    from etl.generate import generate_filings
    from etl.ingest import ingest
    from etl.warehouse import open_warehouse

    settings = load_settings(home=home)
    landing = settings.landing / "demo"
    start, end = _window(days)
    print(f"dailyseg demo: data in {settings.home}/, warehouse {settings.warehouse_url}", file=out)
    print(f"\n1. Generating {firms} firms x {len(business_days(start, end))} business days "
          f"({start} to {end}) into {landing}/", file=out)
    bar = ProgressBar("generate")
    generated = generate_filings(landing, firms=firms, start=start, end=end, fmt="text", seed=2016, progress=bar)
    bar.close()
    sample_copy = landing / "2013-12-31" / SAMPLE.name
    sample_copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SAMPLE, sample_copy)
    print(f"   {generated.files:,} filings ({generated.amended} amended) plus the real sample filing "
          f"{SAMPLE.name}", file=out)

    print(f"\n2. Ingesting {landing}/", file=out)
    bar = ProgressBar("ingest")
    summary = ingest([landing], settings, progress=bar, on_message=lambda m: print(m, file=sys.stderr))
    bar.close()
    print_ingest_summary(summary, out=out, quarantine=settings.quarantine)

    from etl.cli import print_validation_summary
    from etl.dq.validate import validate
    print("\n3. Validating every loaded filing (Great Expectations: arithmetic, completeness, sign, deficiency, "
          "target, freshness, anomaly checks)", file=out)
    print_validation_summary(validate(settings), out=out, first=5)

    warehouse = open_warehouse(settings.warehouse_url)
    try:
        print("\n4. Latest excess per firm (dollars; seg = section 4d(2) segregation, 30.7 = secured amounts):",
              file=out)
        print(latest_excess_table(warehouse), file=out)
    finally:
        warehouse.dispose()
    print(f"\nQuery it yourself: .venv/bin/python -c \"import duckdb; print(duckdb.connect("
          f"'{settings.home}/warehouse.duckdb', read_only=True).sql('FROM seg_values_latest LIMIT 5'))\"",
          file=out)
    return 0
