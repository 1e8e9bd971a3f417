"""The fetch client against real HTTP servers on loopback: retries only for what may pass, redirects
bounded and never to another scheme, robots.txt, timeouts, the size cap, and the limits per host."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from etl.fetch.http import FetchFailed, HostLimits, HttpClient
from tests.fetch.sites import Site


@pytest.fixture
def site():
    site = Site()
    yield site
    site.stop()


other_site = site  # a second web site in the same test


def client(**overrides) -> HttpClient:
    options = dict(contact="ops@example.com", timeout=2.0, attempts=3, backoff=0.01, max_bytes=64 * 1024,
                   limits=HostLimits(delay=0.0))
    return HttpClient(**{**options, **overrides})


def anywhere(netloc: str) -> bool:
    return True


def get_at_once(http: HttpClient, urls: list[str]) -> None:
    """Ask for every address at the same time, a thread each."""
    threads = [threading.Thread(target=http.get, args=(url, anywhere)) for url in urls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_a_file_comes_back_with_user_agent_and_contact(site):
    site.publish("/seg/a.txt", b"filing")
    response = client().get(site.url("/seg/a.txt"), anywhere)
    assert (response.status, response.body, response.content_type) == (200, b"filing", "text/plain")
    headers = site.requests_for("/seg/a.txt")[0].headers
    assert headers["user-agent"].startswith("dailyseg/") and "ops@example.com" in headers["user-agent"]
    assert headers["from"] == "ops@example.com"


def test_a_500_is_retried_with_backoff_then_succeeds(site):
    site.publish("/a.txt", b"filing", fail=[500, 503])
    sleeps = []
    response = client(sleep=sleeps.append).get(site.url("/a.txt"), anywhere)
    assert response.status == 200 and response.body == b"filing" and response.attempts == 3
    assert [s.status for s in site.requests_for("/a.txt")] == [500, 503, 200]
    assert sleeps == [0.01, 0.02]  # exponential


def test_a_server_that_keeps_failing_is_given_up_after_the_attempts(site):
    site.publish("/a.txt", b"filing", status=502)
    with pytest.raises(FetchFailed) as failed:
        client(attempts=2).get(site.url("/a.txt"), anywhere)
    assert failed.value.status == 502 and "502 Bad Gateway (2 attempts)" in failed.value.reason
    assert len(site.requests_for("/a.txt")) == 2


@pytest.mark.parametrize("status", [404, 403, 429])
def test_a_4xx_is_not_retried(site, status):
    site.publish("/a.txt", b"", status=status)
    response = client().get(site.url("/a.txt"), anywhere)
    assert response.status == status
    assert len(site.requests_for("/a.txt")) == 1


def test_a_dropped_connection_is_retried(site):
    site.publish("/a.txt", b"filing", drops=1)
    response = client().get(site.url("/a.txt"), anywhere)
    assert response.body == b"filing" and len(site.requests_for("/a.txt")) == 2


def test_a_slow_server_times_out_and_is_retried_then_given_up(site):
    site.publish("/slow.txt", b"filing", delay=0.6)
    started = time.monotonic()
    with pytest.raises(FetchFailed) as failed:
        client(timeout=0.2, attempts=2).get(site.url("/slow.txt"), anywhere)
    assert "no answer within 0.2 s (2 attempts)" in failed.value.reason
    assert len(site.requests_for("/slow.txt")) == 2
    assert time.monotonic() - started < 3


def test_a_refused_connection_is_a_transient_failure():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps = []
    with pytest.raises(FetchFailed) as failed:
        client(sleep=sleeps.append).get(f"http://127.0.0.1:{port}/a.txt", anywhere)
    assert "refused the connection (3 attempts)" in failed.value.reason and len(sleeps) == 2


def test_an_oversized_file_is_refused_by_its_length_or_while_reading(site):
    site.publish("/big.pdf", b"%PDF" + b"x" * 70_000, "application/pdf")
    site.publish("/big-stream.pdf", b"%PDF" + b"x" * 70_000, "application/pdf", send_length=False)
    for path in ("/big.pdf", "/big-stream.pdf"):
        with pytest.raises(FetchFailed) as failed:
            client().get(site.url(path), anywhere)
        assert "over the 65,536-byte limit (DAILYSEG_MAX_FILE_MB)" in failed.value.reason
        assert len(site.requests_for(path)) == 1  # never retried
    assert "70,004 bytes" in str(pytest.raises(FetchFailed, client().get, site.url("/big.pdf"), anywhere).value)


def test_redirects_are_followed_a_few_times_on_the_same_scheme(site):
    site.publish("/new/a.txt", b"filing")
    site.redirect("/old/a.txt", "/new/a.txt", 301)
    response = client().get(site.url("/old/a.txt"), anywhere)
    assert response.body == b"filing" and response.url == site.url("/new/a.txt")
    for n in range(8):
        site.redirect(f"/loop{n}", f"/loop{n + 1}")
    with pytest.raises(FetchFailed, match="more than 5 redirects"):
        client().get(site.url("/loop0"), anywhere)
    assert len([s for s in site.seen if s.path.startswith("/loop")]) == 6


def test_a_redirect_to_another_scheme_or_host_is_not_followed(site, other_site):
    site.redirect("/a.txt", "https://127.0.0.1/a.txt")
    site.redirect("/b.txt", "ftp://127.0.0.1/b.txt")
    other_site.publish("/c.txt", b"filing")
    site.redirect("/c.txt", other_site.url("/c.txt"))
    with pytest.raises(FetchFailed, match="another scheme"):
        client().get(site.url("/a.txt"), anywhere)
    with pytest.raises(FetchFailed, match="not an http or https address"):
        client().get(site.url("/b.txt"), anywhere)
    with pytest.raises(FetchFailed, match="add 127.0.0.1 to the source's hosts"):
        client().get(site.url("/c.txt"), lambda netloc: netloc == site.netloc)
    assert other_site.requests_for("/c.txt") == []
    assert client().get(site.url("/c.txt"), anywhere).body == b"filing"  # when the source allows it


def test_robots_txt_is_read_once_and_honoured(site):
    site.publish("/robots.txt", b"User-agent: *\nDisallow: /private/\n\nUser-agent: dailyseg\nDisallow: /no-bots/\n")
    site.publish("/private/a.txt", b"filing")
    site.publish("/no-bots/a.txt", b"filing")
    site.publish("/public/a.txt", b"filing")
    http = client()
    assert http.get(site.url("/public/a.txt"), anywhere).body == b"filing"
    with pytest.raises(FetchFailed, match="robots.txt disallows /no-bots/a.txt for dailyseg"):
        http.get(site.url("/no-bots/a.txt"), anywhere)
    assert http.get(site.url("/private/a.txt"), anywhere).status == 200  # the group for dailyseg applies, not *
    assert site.requests_for("/no-bots/a.txt") == []
    assert len(site.requests_for("/robots.txt")) == 1


def test_a_failing_robots_txt_keeps_dailyseg_off_the_host_and_a_missing_one_allows_all(site):
    site.publish("/robots.txt", b"", status=500)
    site.publish("/a.txt", b"filing")
    with pytest.raises(FetchFailed, match="robots.txt could not be read"):
        client().get(site.url("/a.txt"), anywhere)
    assert site.requests_for("/a.txt") == []
    del site.routes["/robots.txt"]
    assert client().get(site.url("/a.txt"), anywhere).body == b"filing"


def test_at_most_two_connections_per_host_and_a_delay_between_starts(site, other_site):
    for n in range(6):
        site.publish(f"/{n}.txt", b"filing", delay=0.15)
    get_at_once(client(), [site.url(f"/{n}.txt") for n in range(6)])
    assert site.max_active == 2

    for n in range(4):
        other_site.publish(f"/{n}.txt", b"filing")
    get_at_once(client(limits=HostLimits(delay=0.2)), [other_site.url(f"/{n}.txt") for n in range(4)])
    starts = sorted(s.started for s in other_site.seen if s.path != "/robots.txt")
    assert len(starts) == 4
    assert min(b - a for a, b in zip(starts, starts[1:])) >= 0.18


def test_a_crawl_delay_for_dailyseg_lengthens_the_delay(site):
    site.publish("/robots.txt", b"User-agent: dailyseg\nCrawl-delay: 1\n")
    site.publish("/a.txt", b"a")
    site.publish("/b.txt", b"b")
    http = client()
    http.get(site.url("/a.txt"), anywhere)
    http.get(site.url("/b.txt"), anywhere)
    a, b = site.requests_for("/a.txt")[0].started, site.requests_for("/b.txt")[0].started
    assert b - a >= 0.95
