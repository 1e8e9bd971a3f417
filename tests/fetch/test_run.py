"""A fetch run against web sites on loopback: new files land, unchanged ones are asked for conditionally
and never downloaded twice, a re-published file lands again, failures are recorded while the other
sources go on, and every request is a row of fetch_log (on both warehouse backends)."""

from __future__ import annotations

import uuid

from datetime import date

import pytest

from etl.fetch import fetch, parse_sources
from etl.fetch.run import FetchError, template_days
from etl.ingest.job import ingest
from etl.warehouse import open_warehouse
from tests.fetch.sites import Site

DAYS = (date(2016, 3, 10), date(2016, 3, 14))


@pytest.fixture
def sites():
    made: list[Site] = []

    def make() -> Site:
        made.append(Site())
        return made[-1]

    yield make
    for site in made:
        site.stop()


def fetching(settings):
    return settings.with_overrides(fetch_contact="ops@example.com", fetch_delay=0.0, fetch_backoff=0.01,
                                   fetch_timeout=2.0)


def sources_for(*rows: str):
    return parse_sources("firm,url,pattern,hosts\n" + "\n".join(rows) + "\n", "sources.csv")


def log_of(settings, run_id: str):
    wh = open_warehouse(settings.warehouse_url)
    try:
        return wh.read_df("SELECT * FROM fetch_log WHERE run_id = :r ORDER BY url", {"r": run_id})
    finally:
        wh.dispose()


def by_firm(summary) -> dict:
    return {r.source.firm: (r.new, r.republished, r.unchanged, r.not_published, r.failed) for r in summary.results}


def test_new_files_land_then_nothing_is_downloaded_twice_and_a_republished_file_lands_again(any_settings, sites,
                                                                                             sample_bytes):
    settings = fetching(any_settings)
    acme, bolt, elsewhere = sites(), sites(), sites()
    files = {f"/reg/seg/2016-03-{d}.txt": f"Acme filing for March {d}".encode() for d in (10, 11, 14)}
    for path, body in files.items():
        acme.publish(path, body)
    acme.publish("/reg/seg/2016-03-09.htm", b"<html><body>Acme, March 9</body></html>", "text/html")
    acme.page("/reg/", [*(p.rsplit("/", 2)[-2] + "/" + p.rsplit("/", 1)[-1] for p in files), "seg/2016-03-09.htm",
                        "annual.xlsx", elsewhere.url("/seg/2016-03-08.txt"), "mailto:ir@acme.example"])
    for day in (10, 11):
        bolt.publish(f"/d/201603{day}.txt", f"Bolt filing for March {day}".encode())
    bolt.publish("/d/20160314.txt", sample_bytes)  # a real filing: it loads, with the address it came from
    sources = sources_for(f"Acme Futures LLC,{acme.url('/reg/')},,",
                          f"Bolt Clearing,{bolt.url('/d/{date:%Y%m%d}.txt')},,")

    first = fetch(settings, sources, *DAYS)
    assert by_firm(first) == {"Acme Futures LLC": (4, 0, 0, 0, 0), "Bolt Clearing": (3, 0, 0, 0, 0)}
    landing = settings.landing
    for path, body in files.items():
        assert (landing / "acme-futures-llc" / path.rsplit("/", 1)[-1]).read_bytes() == body
    assert (landing / "bolt-clearing" / "20160314.txt").read_bytes() == sample_bytes
    assert first.results[0].other_hosts == 1 and elsewhere.seen == []  # another host's link is not followed
    assert acme.requests_for("/reg/annual.xlsx") == []
    rows = log_of(settings, first.run_id)
    assert sorted(rows["outcome"]) == ["listed"] + ["new"] * 7
    row = rows[rows["url"] == acme.url("/reg/seg/2016-03-14.txt")].iloc[0]
    assert (row.firm, row.kind, row.http_status, row.bytes) == ("Acme Futures LLC", "file", 200, 24)
    assert row.landing_path == str(landing.absolute() / "acme-futures-llc" / "2016-03-14.txt")
    assert row.etag and row.last_modified and len(row.sha256) == 64 and row.source == acme.url("/reg/")

    loaded = ingest([landing], settings)
    assert loaded.loaded == 1  # the sample; the other bodies are not filings and are set aside
    wh = open_warehouse(settings.warehouse_url)
    try:
        assert wh.scalar("SELECT source_url FROM filings") == bolt.url("/d/20160314.txt")
    finally:
        wh.dispose()

    second = fetch(settings, sources, *DAYS)
    assert by_firm(second) == {"Acme Futures LLC": (0, 0, 4, 0, 0), "Bolt Clearing": (0, 0, 3, 0, 0)}
    for site, path in ((acme, "/reg/seg/2016-03-14.txt"), (bolt, "/d/20160314.txt")):
        again = site.requests_for(path)[-1]
        assert again.headers["if-none-match"] and again.status == 304  # asked conditionally, nothing sent
    assert second.bytes_received == len(acme.routes["/reg/"].body)  # only the index page came down

    acme.publish("/reg/seg/2016-03-14.txt", b"Acme filing for March 14, AMENDED")
    third = fetch(settings, sources, *DAYS)
    assert by_firm(third)["Acme Futures LLC"] == (0, 1, 3, 0, 0)
    folder = landing / "acme-futures-llc"
    assert (folder / "2016-03-14.txt").read_bytes() == b"Acme filing for March 14, AMENDED"
    kept = [p for p in folder.glob("2016-03-14.*.txt")]
    assert len(kept) == 1 and kept[0].read_bytes() == b"Acme filing for March 14"  # the earlier version is kept
    assert list(log_of(settings, third.run_id).query("outcome == 'republished'")["url"]) == \
        [acme.url("/reg/seg/2016-03-14.txt")]


def test_a_template_day_not_published_yet_is_not_a_failure(settings, sites):
    site = sites()
    site.publish("/d/20160310.txt", b"March 10")
    summary = fetch(fetching(settings), sources_for(f"Bolt,{site.url('/d/{date:%Y%m%d}.txt')},,"), *DAYS)
    assert by_firm(summary) == {"Bolt": (1, 0, 0, 2, 0)}  # 11 and 14 are not there yet (12, 13: a weekend)
    rows = log_of(fetching(settings), summary.run_id)
    assert sorted(zip(rows["day"].astype(str).str[:10], rows["outcome"], rows["http_status"])) == [
        ("2016-03-10", "new", 200), ("2016-03-11", "not_published", 404), ("2016-03-14", "not_published", 404)]


def test_failures_are_listed_with_their_reason_and_the_other_sources_go_on(settings, sites):
    settings = fetching(settings).with_overrides(max_file_bytes=64 * 1024)
    down, acme, bolt = sites(), sites(), sites()
    down.page("/seg/", ["a.txt"], fail=[500, 500, 500])
    acme.publish("/robots.txt", b"User-agent: *\nDisallow: /private/\n")
    acme.publish("/seg/good.txt", b"good", fail=[500, 503])  # fails twice, then comes back
    acme.publish("/seg/login.pdf", b"<html>please log in</html>", "text/html")
    acme.publish("/seg/huge.pdf", b"%PDF" + b"0" * 70_000, "application/pdf")
    acme.publish("/seg/gone.txt", b"", status=403)
    acme.publish("/private/secret.txt", b"secret")
    acme.page("/seg/", ["good.txt", "login.pdf", "huge.pdf", "gone.txt", "missing.txt", "/private/secret.txt"])
    bolt.publish("/d/20160314.txt", b"bolt")
    sources = sources_for(f"Down Futures,{down.url('/seg/')},,", f"Acme,{acme.url('/seg/')},,",
                          f"Bolt,{bolt.url('/d/{date:%Y%m%d}.txt')},,")
    summary = fetch(settings, sources, date(2016, 3, 14), date(2016, 3, 14))
    assert by_firm(summary) == {"Down Futures": (0, 0, 0, 0, 1), "Acme": (1, 0, 0, 0, 5), "Bolt": (1, 0, 0, 0, 0)}
    reasons = {url.rsplit("/", 1)[-1] or "index": why for r in summary.results for url, why in r.failures}
    assert reasons["index"] == "the server answered 500 Internal Server Error (3 attempts)"
    assert "a web page (text/html) for a PDF address" in reasons["login.pdf"]
    assert "over the 65,536-byte limit" in reasons["huge.pdf"]
    assert reasons["gone.txt"] == "the server answered 403 Forbidden"
    assert reasons["missing.txt"] == "the server answered 404 Not Found"  # a listed link: a failure, not "not yet"
    assert "robots.txt disallows /private/secret.txt" in reasons["secret.txt"]
    assert acme.requests_for("/private/secret.txt") == []
    assert sorted(p.name for p in settings.landing.rglob("*.*")) == ["20160314.txt", "good.txt"]
    assert [s.status for s in acme.requests_for("/seg/good.txt")] == [500, 503, 200]
    rows = log_of(settings, summary.run_id)
    assert (rows["outcome"] == "failed").sum() == 6 and rows.loc[rows["outcome"] == "failed", "error"].notna().all()


def test_a_server_ignoring_conditional_requests_or_with_last_modified_only(settings, sites):
    settings = fetching(settings)
    site = sites()
    site.publish("/d/20160314.txt", b"no validators", etag=False, last_modified=None)
    site.publish("/e/20160314.txt", b"dated", etag=False, last_modified="Mon, 14 Mar 2016 17:00:00 GMT")
    sources = sources_for(f"Plain,{site.url('/d/{date:%Y%m%d}.txt')},,", f"Dated,{site.url('/e/{date:%Y%m%d}.txt')},,")
    fetch(settings, sources, date(2016, 3, 14), date(2016, 3, 14))
    landed = settings.landing / "plain" / "20160314.txt"
    stamp = landed.stat().st_mtime_ns
    again = fetch(settings, sources, date(2016, 3, 14), date(2016, 3, 14))
    assert by_firm(again) == {"Plain": (0, 0, 1, 0, 0), "Dated": (0, 0, 1, 0, 0)}
    assert landed.stat().st_mtime_ns == stamp  # same bytes: not written again
    dated = site.requests_for("/e/20160314.txt")[-1]
    assert dated.headers["if-modified-since"] == "Mon, 14 Mar 2016 17:00:00 GMT" and dated.status == 304


def test_two_addresses_with_the_same_file_name_land_apart(settings, sites):
    site = sites()
    site.publish("/2016/03/seg.txt", b"March")
    site.publish("/2016/04/seg.txt", b"April")
    site.page("/", ["2016/03/seg.txt", "2016/04/seg.txt"])
    fetch(fetching(settings), sources_for(f"Acme,{site.url('/')},,"))
    landed = sorted((p.read_bytes(), p.name) for p in (settings.landing / "acme").iterdir())
    assert [body for body, _ in landed] == [b"April", b"March"] and len({name for _, name in landed}) == 2


def test_it_will_not_run_without_a_contact_address(settings):
    with pytest.raises(FetchError, match="DAILYSEG_FETCH_CONTACT"):
        fetch(settings, sources_for("Acme,https://acme.example/,,"))


def test_template_days_default_to_the_last_business_days():
    assert template_days(None, None, today=date(2016, 3, 15)) == [date(2016, 3, d) for d in (8, 9, 10, 11, 14)]
    assert template_days(None, date(2016, 3, 14)) == [date(2016, 3, d) for d in (8, 9, 10, 11, 14)]
    assert template_days(date(2016, 3, 11), date(2016, 3, 14)) == [date(2016, 3, 11), date(2016, 3, 14)]
    with pytest.raises(FetchError, match="ends"):
        template_days(date(2016, 3, 14), date(2016, 3, 11))


def test_a_landing_zone_that_cannot_be_written_stops_the_run(settings, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(FetchError, match="cannot write to the landing zone"):
        fetch(fetching(settings).with_overrides(landing=blocker / "landing"),
              sources_for("Acme,https://acme.example/,,"))


def test_a_landing_zone_in_object_storage(settings, sites, sample_bytes, monkeypatch):
    """An fsspec landing zone (S3, here the moto server on loopback): files land as objects, and the
    nightly ingest step loads them from there."""
    from moto.server import ThreadedMotoServer

    from etl.airflow.steps import ingest_landing
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                            "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": f"http://{host}:{port}"}.items():
            monkeypatch.setenv(name, value)
        import fsspec
        fs = fsspec.filesystem("s3", skip_instance_cache=True)
        bucket = f"filings-{uuid.uuid4().hex[:8]}"  # moto keeps its buckets for the whole process
        fs.mkdir(bucket)
        site = sites()
        site.publish("/d/20131231.txt", sample_bytes)
        site.publish("/d/20140102.txt", b"", status=404)
        on_s3 = fetching(settings).with_overrides(landing=f"s3://{bucket}/landing")
        summary = fetch(on_s3, sources_for(f"Citigroup Global Markets,{site.url('/d/{date:%Y%m%d}.txt')},,"),
                        date(2013, 12, 31), date(2014, 1, 2))
        assert by_firm(summary) == {"Citigroup Global Markets": (1, 0, 0, 1, 0)}
        assert fs.cat_file(f"{bucket}/landing/citigroup-global-markets/20131231.txt") == sample_bytes
        assert log_of(on_s3, summary.run_id).query("outcome == 'new'")["landing_path"].tolist() == \
            [f"s3://{bucket}/landing/citigroup-global-markets/20131231.txt"]
        assert ingest_landing(on_s3)["loaded"] == 1
    finally:
        server.stop()
