"""Fetch benchmark: ``dailyseg fetch`` from firms' web sites on loopback, beside a bare downloader.

    .venv/bin/python benchmarks/fetch_benchmark.py                      # 16 firms x 25 business days
    .venv/bin/python benchmarks/fetch_benchmark.py --firms 40 --days 60

Each firm is its own web site (an HTTP server on 127.0.0.1): half publish an index page of their
filings, half one file per day at a dated address. ``dailyseg fetch`` runs as its own process, as a user
runs it, with no delay between requests (``DAILYSEG_FETCH_DELAY=0``: these are the figures of the
machinery; politeness is a chosen wait on top, at least ``files per host x delay``). It runs twice:
the first downloads everything, the second finds nothing new (conditional requests, all 304).

The peer, measured in the same run: a bare downloader (``http.client``, two connections per host, the
same number of hosts at once, no robots.txt, no fetch log, no landing checks) fetching the same
addresses, also as its own process. The ratio says what the care costs.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

from ingest_benchmark import DAILYSEG, business_window, run_measured  # noqa: E402

BARE = r"""
import http.client, sys, threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit
from collections import defaultdict
urls = open(sys.argv[1]).read().split()
out = sys.argv[2]
by_host = defaultdict(list)
for url in urls:
    by_host[urlsplit(url).netloc].append(url)
def get(url, n):
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
    conn.request("GET", parts.path + ("?" + parts.query if parts.query else ""))
    body = conn.getresponse().read()
    conn.close()
    with open(f"{out}/{n}", "wb") as handle:
        handle.write(body)
def host(urls):
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(get, urls, [f"{abs(hash(u))}" for u in urls]))
with ThreadPoolExecutor(8) as pool:
    list(pool.map(host, by_host.values()))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--firms", type=int, default=16, help="firms, each its own web site (default 16)")
    parser.add_argument("--days", type=int, default=25, help="business days of filings per firm (default 25)")
    args = parser.parse_args()

    from etl.synthetic.files import generate_filings
    from etl.synthetic.firms import make_firms
    from tests.fetch.sites import Site

    end = date(2016, 3, 31)
    start = business_window(args.days, end)
    with tempfile.TemporaryDirectory(prefix="dailyseg-fetch-bench-") as tmp:
        work = Path(tmp)
        generated = generate_filings(work / "published", firms=args.firms, start=start, end=end, seed=3,
                                     amend_rate=0)
        sites, rows, urls, size = [], ["firm,url,pattern"], [], 0
        for n, firm in enumerate(make_firms(args.firms, 3)):
            site = Site()
            sites.append(site)
            links = []
            for path in sorted((work / "published").glob(f"*/{firm.slug}.txt")):
                body = path.read_bytes()
                size += len(body)
                route = f"/seg/{path.parent.name.replace('-', '')}.txt"
                site.publish(route, body)
                links.append(route)
                urls.append(site.url(route))
            if n % 2:
                rows.append(f"{firm.name},{site.url('/seg/{date:%Y%m%d}.txt')},")
            else:
                site.page("/seg/", links)
                rows.append(f"{firm.name},{site.url('/seg/')},")
        (work / "sources.csv").write_text("\n".join(rows) + "\n")
        (work / "urls.txt").write_text("\n".join(urls))
        env = {k: v for k, v in os.environ.items() if not k.startswith("DAILYSEG_")}
        env.update({"DAILYSEG_HOME": str(work / "home"), "DAILYSEG_SOURCES": str(work / "sources.csv"),
                    "DAILYSEG_FETCH_CONTACT": "benchmark@example.com", "DAILYSEG_FETCH_DELAY": "0",
                    "PYTHONPATH": str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")})
        command = [DAILYSEG, "fetch", "--quiet", "--from", start.isoformat(), "--to", end.isoformat()]
        print(f"{generated.files:,} filings ({size / 1e6:.1f} MB) from {args.firms} web sites on loopback "
              f"({args.firms // 2} dated addresses, {args.firms - args.firms // 2} index pages), "
              f"{args.days} business days")
        first_wall, first_peak, out = run_measured(command, env)
        landed = sum(1 for p in (work / "home" / "landing").rglob("*") if p.is_file())
        if landed != generated.files:
            raise SystemExit(f"fetch landed {landed} files, expected {generated.files}:\n{out}")
        second_wall, second_peak, out = run_measured(command, env)
        if "new" not in out or [line for line in out.splitlines() if line.startswith("total")][0].split()[1] != "-":
            raise SystemExit(f"the second fetch downloaded something:\n{out}")
        (work / "bare").mkdir()
        bare_wall, bare_peak, _ = run_measured([sys.executable, "-c", BARE, str(work / "urls.txt"),
                                                str(work / "bare")], env)
        for site in sites:
            site.stop()
    print(f"{'':<34}{'wall s':>8}{'files/s':>10}{'peak MB':>9}")
    print(f"{'dailyseg fetch, first run':<34}{first_wall:>8.1f}{generated.files / first_wall:>10,.0f}{first_peak:>9.0f}")
    print(f"{'dailyseg fetch, nothing new (304)':<34}{second_wall:>8.1f}{generated.files / second_wall:>10,.0f}"
          f"{second_peak:>9.0f}")
    print(f"{'bare downloader (peer)':<34}{bare_wall:>8.1f}{generated.files / bare_wall:>10,.0f}{bare_peak:>9.0f}")
    print(f"first run / peer: {first_wall / bare_wall:.1f}x; nothing-new run / peer: {second_wall / bare_wall:.1f}x "
          f"(both include interpreter start-up; dailyseg's also its imports, the warehouse and the fetch log)")


if __name__ == "__main__":
    main()
