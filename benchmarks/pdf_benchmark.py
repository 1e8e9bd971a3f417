"""PDF ingest benchmark: generated WinJammer-style PDF filings into a fresh DuckDB, beside the same filings
as text in the same run.

    .venv/bin/python benchmarks/pdf_benchmark.py                 # 500 filings: 25 firms x 20 business days
    .venv/bin/python benchmarks/pdf_benchmark.py --firms 50 --days 20

Every filing has a cover page and the three statements (End Dates in 2016); the PDFs print on four to
seven pages. Each ingest runs as its own ``dailyseg ingest`` process into a fresh DuckDB warehouse, as a
user would run it: wall time includes interpreter start-up and imports, CPU is every process's user and
system time, and peak memory is sampled over the loader, its workers and their PDF readers twice: as
the resident total (pages the forked processes share counted in each, as ``ingest_benchmark.py`` counts)
and as the proportional total (shared pages counted once, as ``backfill_load_benchmark.py`` counts).
The text run is the peer: on a machine shared with other work both runs see the same load, and the
ratios between them hold better than the absolute figures. Targets on a 2-core machine: 100 PDF
filings/s or more (goal 150), peak memory under 600 MB.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest_benchmark import DAILYSEG, business_window, run_measured_tree  # noqa: E402


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--firms", type=int, default=25)
    parser.add_argument("--days", type=int, default=20, help="business days ending 2016-03-14")
    parser.add_argument("--keep", action="store_true", help="keep the generated files and warehouses")
    args = parser.parse_args()

    from etl.synthetic.files import generate_filings

    work = Path(tempfile.mkdtemp(prefix="dailyseg-pdf-bench-"))
    end = date(2016, 3, 14)
    start = business_window(args.days, end)
    rows = {}
    try:
        for fmt in ("text", "pdf"):
            t0 = time.perf_counter()
            generated = generate_filings(work / fmt, firms=args.firms, start=start, end=end, fmt=fmt, seed=1,
                                         amend_rate=0)
            size_mb = sum(p.stat().st_size for p in (work / fmt).rglob("*") if p.is_file()) / 1e6
            print(f"corpus {fmt:<4}: {generated.files:,} filings ({args.firms} firms x {generated.days} business "
                  f"days, {size_mb:.1f} MB), generated in {time.perf_counter() - t0:.1f} s")
        import pypdfium2 as pdfium
        pages = [len(pdfium.PdfDocument(str(p))) for p in sorted((work / "pdf").rglob("*.pdf"))]
        print(f"PDF pages per filing: {min(pages)} to {max(pages)}, {sum(pages) / len(pages):.1f} on average")
        print(f"{'format':<7} {'wall s':>7} {'filings/s':>10} {'CPU ms/filing':>14} {'peak RSS MB':>12} "
              f"{'peak PSS MB':>12}  loaded")
        for fmt in ("text", "pdf"):
            home = work / f"home-{fmt}"
            env = dict(os.environ, DAILYSEG_HOME=str(home), GX_ANALYTICS_ENABLED="false",
                       DAILYSEG_WAREHOUSE=f"duckdb:///{home / 'warehouse.duckdb'}")
            cpu_before = children_cpu()
            wall, rss, pss, out = run_measured_tree([DAILYSEG, "ingest", str(work / fmt), "--quiet"], env, pss=True)
            cpu = children_cpu() - cpu_before
            loaded = next(int(line.split()[1].replace(",", "")) for line in out.splitlines()
                          if line.strip().startswith("loaded"))
            rows[fmt] = (wall, generated.files / wall, 1000 * cpu / generated.files, rss, pss)
            print(f"{fmt:<7} {wall:>7.2f} {rows[fmt][1]:>10,.0f} {rows[fmt][2]:>14.1f} {rss:>12.0f} {pss:>12.0f}  "
                  f"{loaded:,}")
        text, pdf = rows["text"], rows["pdf"]
        print(f"PDF against text in this run: {pdf[1] / text[1]:.2f}x the throughput, {pdf[2] / text[2]:.1f}x the "
              f"CPU per filing, {pdf[3] / text[3]:.2f}x the peak resident and {pdf[4] / text[4]:.2f}x the peak "
              f"proportional memory; machine load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    finally:
        if args.keep:
            print(f"(files kept in {work})")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
