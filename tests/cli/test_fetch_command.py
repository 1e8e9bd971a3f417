"""``dailyseg fetch`` then ``dailyseg ingest``, as a user runs them, against firms' web sites on loopback:
every published filing loads value for value, a second fetch downloads nothing, a re-published filing
becomes the latest version, failures are listed and the run still exits 0; and the errors that stop a
run are one line with exit 2."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from etl.synthetic.files import generate_filings
from etl.synthetic.firms import make_firms
from etl.warehouse import open_warehouse
from tests.cli.test_cli import run
from tests.dq.planted import _read, _write
from tests.fetch.sites import Site

START, END = date(2016, 3, 10), date(2016, 3, 14)
FETCH_ENV = {"DAILYSEG_FETCH_CONTACT": "data-team@example.com", "DAILYSEG_FETCH_DELAY": "0",
             "DAILYSEG_FETCH_BACKOFF": "0.01", "DAILYSEG_FETCH_TIMEOUT": "2"}


def serve(site: Site, published: Path, slug: str, route) -> list[str]:
    """Publish a firm's generated filings on ``site`` at ``route(day, suffix)``; return the routes."""
    routes = []
    for path in sorted(published.glob(f"*/{slug}.*")):
        routes.append(route(path.parent.name, path.suffix))
        site.publish(routes[-1], path.read_bytes(), "text/html" if path.suffix == ".html" else "text/plain")
    return routes


@pytest.fixture
def web(tmp_path):
    """Three firms' filings published three ways (an index page, a dated address, an index page whose
    links a pattern selects) and a fourth firm whose site is down."""
    published = tmp_path / "published"
    generate_filings(published, firms=3, start=START, end=END, fmt="text", seed=5, amend_rate=0)
    firms = make_firms(3, 5)
    generate_filings(tmp_path / "html", firms=3, start=END, end=END, fmt="html", seed=5, amend_rate=0)
    for firm in firms[:2]:  # two firms publish their last day in the HTML layout
        (published / str(END) / f"{firm.slug}.txt").unlink()
        shutil.copy(tmp_path / "html" / str(END) / f"{firm.slug}.html", published / str(END))
    index, dated, patterned, down = Site(), Site(), Site(), Site()
    links = serve(index, published, firms[0].slug, lambda day, suffix: f"/regulatory/{day}{suffix}")
    index.page("/regulatory/", links + ["/about.pdf-not", "https://www.example.com/x.pdf"])
    serve(dated, published, firms[1].slug, lambda day, suffix: f"/seg/{day.replace('-', '')}{suffix}")
    files = serve(patterned, published, firms[2].slug, lambda day, suffix: f"/download?file=seg-{day}")
    patterned.page("/financials.html", files + ["/download?file=annual-report", "/contact.html"])
    down.page("/seg/", ["a.txt"], status=503)
    sources = tmp_path / "sources.csv"
    sources.write_text(
        "# the firms' sites\nfirm,url,pattern\n"
        f"{firms[0].name},{index.url('/regulatory/')},\n"
        f"{firms[1].name},{dated.url('/seg/{date:%Y%m%d}.txt')},\n"
        f"{firms[2].name},{patterned.url('/financials.html')},file=seg-\n"
        f"Down Futures LLC,{down.url('/seg/')},\n", encoding="utf-8")
    yield {"published": published, "sources": sources, "firms": firms, "index": index, "dated": dated,
           "patterned": patterned}
    for site in (index, dated, patterned, down):
        site.stop()


def warehouse_values(home: Path) -> set[tuple]:
    wh = open_warehouse(f"duckdb:///{home / 'warehouse.duckdb'}")
    try:
        frame = wh.read_df("SELECT firm, end_date, status, statement, code, value FROM seg_values")
    finally:
        wh.dispose()
    return set(frame.astype(str).itertuples(index=False, name=None))


@pytest.mark.slow
def test_fetch_then_ingest_loads_every_published_filing_and_a_republished_one_becomes_latest(tmp_path, web):
    home = tmp_path / "home"
    env = {**FETCH_ENV, "DAILYSEG_SOURCES": str(web["sources"])}
    fetched = run("fetch", "--from", str(START), "--to", str(END), home=home, env=env)
    assert fetched.returncode == 0, fetched.stderr
    out = fetched.stdout
    assert "Down Futures LLC" in out and "503 Service Unavailable (3 attempts)" in out
    assert "Failed (1; the other sources went on)" in out
    assert "Next: dailyseg ingest" in out
    total = [line for line in out.splitlines() if line.startswith("total")][0].split()
    assert total[1] == "8"  # 3 firms x 3 business days, one of them (dated, 14 March in HTML) not published
    dated_name = web["firms"][1].name
    assert [line for line in out.splitlines() if line.startswith(dated_name)][0].split()[-2:] == ["1", "-"]

    ingested = run("ingest", str(home / "landing"), home=home)
    assert ingested.returncode == 0, ingested.stderr
    assert "loaded               8" in ingested.stdout and "rejected             0" in ingested.stdout

    reference = tmp_path / "reference"
    published = [p for p in web["published"].rglob("*.*")
                 if not (p.parent.name == str(END) and p.stem == web["firms"][1].slug)]
    for path in published:
        (reference / path.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, reference / path.parent.name / path.name)
    assert run("ingest", str(reference), home=tmp_path / "ref-home").returncode == 0
    assert warehouse_values(home) == warehouse_values(tmp_path / "ref-home")  # value for value

    wh = open_warehouse(f"duckdb:///{home / 'warehouse.duckdb'}")
    urls = dict(wh.read_df("SELECT end_date, source_url FROM filings WHERE firm = :f",
                           {"f": web["firms"][0].name}).astype(str).itertuples(index=False, name=None))
    wh.dispose()
    assert urls[str(END)] == web["index"].url(f"/regulatory/{END}.html")  # lineage: the address of the bytes

    again = run("fetch", "--from", str(START), "--to", str(END), home=home, env=env)
    assert again.returncode == 0
    total = [line for line in again.stdout.splitlines() if line.startswith("total")][0].split()
    assert total[1:4] == ["-", "-", "8"] and "Next: dailyseg ingest" not in again.stdout
    assert run("ingest", str(home / "landing"), home=home).stdout.count("loaded               0") == 1

    firm = web["firms"][0]
    header, values = _read(web["published"] / str(START) / f"{firm.slug}.txt")
    values["segregation"]["7010"] += 12_345
    amended = tmp_path / "amended.txt"
    _write(amended, header, values, status="AMENDED", submit=date(2016, 3, 16))
    web["index"].publish(f"/regulatory/{START}.txt", amended.read_bytes())
    third = run("fetch", "--from", str(START), "--to", str(END), home=home, env=env)
    row = [line for line in third.stdout.splitlines() if line.startswith(firm.name)][0].split()
    assert row[-5:] == ["-", "1", "2", "-", "-"]  # re-published 1, unchanged 2
    assert "loaded               1" in run("ingest", str(home / "landing"), home=home).stdout
    wh = open_warehouse(f"duckdb:///{home / 'warehouse.duckdb'}")
    latest = wh.read_df("SELECT l.status, l.value, f.source_url FROM seg_values_latest l JOIN filings f "
                        "USING (filing_id) WHERE l.firm = :f AND l.end_date = :d AND l.code = '7010'",
                        {"f": firm.name, "d": START}).iloc[0]
    wh.dispose()
    assert (latest.status, latest.value) == ("AMENDED", values["segregation"]["7010"])
    assert latest.source_url == web["index"].url(f"/regulatory/{START}.txt")


def test_what_stops_a_fetch_is_one_line_and_exit_two(tmp_path):
    sources = tmp_path / "sources.csv"
    sources.write_text("firm,url,pattern\nAcme,https://acme.example/seg/,\nBolt,gopher://bolt.example/,\n")
    bad = run("fetch", "--sources", str(sources), home=tmp_path, env=FETCH_ENV)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.strip() == (f"dailyseg fetch: {sources} line 3, column 2 (url): 'gopher://bolt.example/' is "
                                  "not an http or https address")
    sources.write_text("firm,url,pattern\nAcme,https://acme.example/seg/,\n")
    no_contact = run("fetch", "--sources", str(sources), home=tmp_path)
    assert no_contact.returncode == 2 and "DAILYSEG_FETCH_CONTACT" in no_contact.stderr
    assert len(no_contact.stderr.strip().splitlines()) == 1
    missing = run("fetch", home=tmp_path / "empty", env=FETCH_ENV)
    assert missing.returncode == 2 and "no sources file at" in missing.stderr
    no_firm = run("fetch", "--sources", str(sources), "--firm", "zebra", home=tmp_path, env=FETCH_ENV)
    assert no_firm.returncode == 2 and "no source in" in no_firm.stderr
    assert run("fetch", "--help", home=tmp_path).stdout.startswith("usage: dailyseg fetch")


def test_an_interrupted_fetch_stops_promptly_and_a_rerun_finishes_the_job(tmp_path):
    import os
    import signal
    import subprocess
    import time

    from tests.cli.test_cli import DAILYSEG
    quick, slow = Site(), Site()
    try:
        quick.publish("/d/20160314.txt", b"quick")
        for n in range(30):
            slow.publish(f"/seg/{n}.txt", f"slow {n}".encode(), delay=0.6)
        slow.page("/seg/", [f"{n}.txt" for n in range(30)])
        sources = tmp_path / "sources.csv"
        sources.write_text(f"firm,url,pattern\nQuick,{quick.url('/d/{date:%Y%m%d}.txt')},\nSlow,{slow.url('/seg/')},\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("DAILYSEG_")}
        trace = tmp_path / "trace.log"
        env.update({**FETCH_ENV, "DAILYSEG_HOME": str(tmp_path / "home"), "DAILYSEG_SOURCES": str(sources),
                    "DAILYSEG_TRACE": str(trace)})
        command = [DAILYSEG, "fetch", "--from", "2016-03-14", "--to", "2016-03-14"]
        # as from a terminal: a test runner's worker process may ignore SIGINT, and its children inherit that
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.monotonic() + 30  # interrupted once the quick host is done and the slow one is under way
        while (len(slow.seen) < 4 or "fetch:host-done 1" not in (trace.read_text() if trace.exists() else "")) \
                and time.monotonic() < deadline:
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        interrupted = time.monotonic()
        _, err = process.communicate(timeout=30)
        assert process.returncode == 130 and "interrupted" in err and "Traceback" not in err
        assert time.monotonic() - interrupted < 3  # the requests in flight end; no new one starts
        assert len(slow.seen) < 12  # of 30 files (and the index page)
        wh = open_warehouse(f"duckdb:///{tmp_path / 'home' / 'warehouse.duckdb'}")
        try:
            logged = set(wh.read_df("SELECT firm FROM fetch_log")["firm"])
        finally:
            wh.dispose()
        assert logged == {"Quick"}  # the host that had finished is logged
        for route in slow.routes.values():
            route.delay = 0
        again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert again.returncode == 0
        row = [line for line in again.stdout.splitlines() if line.startswith("Slow")][0].split()
        assert int(row[1].replace("-", "0")) + int(row[3].replace("-", "0")) == 30  # new, or landed before
        assert len(list((tmp_path / "home" / "landing" / "slow").iterdir())) == 30
    finally:
        quick.stop()
        slow.stop()
