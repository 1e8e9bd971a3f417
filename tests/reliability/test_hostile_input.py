"""Hostile files through the real loader: each ends as a loaded filing or a clean rejection with its
reason, within time and memory bounds, nothing fetched or executed, odd names kept as text."""

from __future__ import annotations

import resource
import socket
import time

import pytest

from etl.ingest.job import ingest
from etl.warehouse import open_warehouse
from tests.ingest.filing_variants import to_html

FIRM = "Citigroup Global Markets Inc."


def hostile_folder(root, sample_text: str, sample_bytes: bytes):
    folder = root / "landing"
    folder.mkdir()
    html = to_html(sample_text)
    files = {
        # too big: rejected with its size, kept in the quarantine
        "huge.txt": sample_bytes + b"\n" + b"9" * (6 * 1024 * 1024),
        # one 4 MB line under the cap, no newline anywhere
        "long-line.txt": b"x" * (4 * 1024 * 1024),
        # 200,000 nested elements, never closed
        "nested.html": ("<html><body>" + "<div><table><tr><td>" * 50_000 + "</body></html>").encode(),
        # a real filing wrapped in scripts, remote images, entities and a comment: parsed, nothing run
        "script.html": html.replace("<body>", "<body><script>fetch('http://192.0.2.1/x');document.write('"
                                              "<u>1</u> [7010]')</script><img src='http://192.0.2.1/p.png'>"
                                              "<!-- <u>5</u> [7020] -->&lt;script&gt;&amp;&#x41;", 1).encode(),
        # NUL bytes after a valid start: binary, rejected
        "nul.txt": sample_bytes[:500] + b"\x00" * 2000 + sample_bytes[500:],
        # a Windows export: Latin-1 bytes for the firm name
        "latin1.txt": sample_text.replace(FIRM, "Société Générale Futures").encode("cp1252"),
        # UTF-16 with a byte-order mark
        "utf16.txt": sample_text.replace(FIRM, "Sixteen Bit Futures LLC").encode("utf-16"),
        # names with spaces, quotes and non-ASCII
        "a b 'quoted' \"name\" é.txt": sample_text.replace(FIRM, "Spaced Name Futures").encode(),
        # a firm name that is SQL
        "sql.txt": sample_text.replace(FIRM, "Robert'); DROP TABLE filings; --").encode(),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection from the loader (or its forked workers) is recorded
    and refused."""
    attempts = []
    real_connect = socket.socket.connect

    def refuse(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not str(address[0]).startswith("127."):
            attempts.append(address)
            raise OSError("network access during ingest")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


def test_hostile_files_load_or_are_rejected_cleanly_in_bounded_time(settings, sample_text, sample_bytes, tmp_path,
                                                                     sample_expected, no_network):
    folder = hostile_folder(tmp_path, sample_text, sample_bytes)
    started = time.perf_counter()
    summary = ingest([folder], settings)
    seconds = time.perf_counter() - started
    rejected = {r.source_path.rsplit("/", 1)[-1]: r.reason_code for r in summary.rejected}
    assert rejected["huge.txt"] == "too_large"
    assert rejected["nul.txt"] == "binary"
    assert {"long-line.txt", "nested.html"} <= set(rejected)  # no filing in them, said so
    assert summary.loaded == 5 and summary.rejected_count == 4, (rejected, summary.duplicates)
    assert seconds < 60, f"hostile files took {seconds:.0f} s"
    assert no_network == []
    # a child's peak memory is bounded too (the loader's workers parse the files)
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss < 2 * 1024 * 1024  # KB: 2 GB

    wh = open_warehouse(settings.warehouse_url)
    try:
        firms = set(wh.read_df("SELECT firm FROM filings")["firm"])
        sevens = wh.read_df("SELECT f.firm, v.value FROM seg_values v JOIN filings f USING (filing_id) "
                            "WHERE v.code = '7010'")
        paths = set(wh.read_df("SELECT source_path FROM filings")["source_path"])
    finally:
        wh.dispose()
    assert firms == {FIRM, "Société Générale Futures", "Sixteen Bit Futures LLC", "Spaced Name Futures",
                     "Robert'); DROP TABLE filings; --"}
    # the script's and the comment's "values" were not taken: every 7010 is the sample's
    assert list(sevens["value"]) == [sample_expected[("segregation", "7010")]] * 5
    assert any(p.endswith("a b 'quoted' \"name\" é.txt") for p in paths)
    kept = {path.name for path in settings.quarantine.rglob("*") if path.is_file() and path.name != "reason.json"}
    assert {"huge.txt", "long-line.txt", "nested.html", "nul.txt"} <= kept  # set aside, not lost


def test_a_firm_name_carrying_sql_round_trips_as_text(any_settings, sample_text, tmp_path):
    evil = "Robert'); DROP TABLE seg_values; -- \" ; DELETE FROM filings WHERE '1'='1"
    path = tmp_path / "evil.txt"
    path.write_text(sample_text.replace(FIRM, evil))
    assert ingest([path], any_settings).loaded == 1
    wh = open_warehouse(any_settings.warehouse_url)
    try:
        assert list(wh.read_df("SELECT firm FROM filings")["firm"]) == [evil]
        assert wh.scalar("SELECT count(*) FROM seg_values") > 0
        assert list(wh.read_df("SELECT DISTINCT firm FROM excess_trend")["firm"]) == [evil]
    finally:
        wh.dispose()


def test_a_path_with_dot_dot_segments_loads_by_what_it_names(settings, sample_bytes, tmp_path):
    (tmp_path / "zone" / "sub").mkdir(parents=True)
    (tmp_path / "zone" / "filing.txt").write_bytes(sample_bytes)
    summary = ingest([tmp_path / "zone" / "sub" / ".." / "filing.txt"], settings)
    assert summary.loaded == 1
    archived = list(settings.raw_zone.rglob("*.txt"))
    assert len(archived) == 1 and settings.raw_zone in archived[0].parents  # stored inside the lake only
