"""The sources file: what a row means, and one error naming the line and column for anything wrong."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlsplit

import pytest

from etl.fetch.sources import SourcesError, parse_sources, read_sources
from tests.conftest import REPO

HEADER = "firm,url,pattern"


def parse(*lines: str):
    return parse_sources("\n".join(lines) + "\n", "sources.csv")


def test_index_pages_templates_and_optional_columns():
    sources = parse("# where the filings are", "firm,url,pattern,enabled,delay,hosts,notes", "",
                    "Acme Futures LLC,https://acme.example/seg/,,,,,index",
                    'Bolt Clearing,https://bolt.example/d/{date:%Y%m%d}.pdf,,no,2.5,,"daily, one file"',
                    r"Crest & Co.,https://crest.example/f.html,Seg.*\.pdf$,yes,,CDN.crest.example,")
    acme, bolt, crest = sources
    assert (acme.firm, acme.is_template, acme.enabled, acme.delay, acme.line) == ("Acme Futures LLC", False, True,
                                                                               None, 4)
    assert bolt.is_template and not bolt.enabled and bolt.delay == 2.5 and bolt.notes == "daily, one file"
    assert bolt.expand(date(2016, 3, 4)) == "https://bolt.example/d/20160304.pdf"
    assert crest.pattern == r"Seg.*\.pdf$" and crest.allows_host("cdn.crest.example")
    assert crest.allows_host("CREST.example") and not crest.allows_host("evil.example")


@pytest.mark.parametrize("lines, where", [
    (["firm,url,patern"], "line 1, column 3: unknown column 'patern'"),
    (["firm,url"], "line 1: the header lacks pattern"),
    (["firm,url,pattern,firm"], "line 1, column 4: column 'firm' appears twice"),
    ([HEADER, ",https://a.example/,"], "line 2, column 1 (firm): the firm's name is empty"),
    ([HEADER, "A,ftp://a.example/x,"], "line 2, column 2 (url): 'ftp://a.example/x' is not an http or https"),
    ([HEADER, "A,https:///x,"], "line 2, column 2 (url): 'https:///x' has no host"),
    ([HEADER, "A,https://{date:%Y}.example/x,"], "line 2, column 2 (url): the {date:...} placeholder belongs"),
    ([HEADER, "A,https://a.example/{day}.pdf,"], "line 2, column 2 (url): 'https://a.example/{day}.pdf': the only "
                                                 "placeholder"),
    ([HEADER, "A,https://a.example/{date:Ymd}.pdf,"], "line 2, column 2 (url): {date:Ymd} holds no strftime"),
    ([HEADER, "A,https://a.example/,seg(["], "line 2, column 3 (pattern): 'seg([' is not a regular expression"),
    ([HEADER, "A,https://a.example/{date:%Y}.pdf,x"], "line 2, column 3 (pattern): a pattern selects links"),
    (["firm,url,pattern,enabled", "A,https://a.example/,,maybe"], "line 2, column 4 (enabled): 'maybe' is not yes"),
    (["firm,url,pattern,delay", "A,https://a.example/,,-1"], "line 2, column 4 (delay): '-1' is not a number"),
    (["firm,url,pattern,hosts", "A,https://a.example/,,https://b.example/"], "line 2, column 4 (hosts): "
                                                                             "'https://b.example/' is not a host"),
    ([HEADER, "A,https://a.example/,,extra"], "line 2, column 4: 4 cells for 3 columns"),
    ([HEADER, "# a comment", "A,https://a.example/,", "B,https://a.example/,"],
     "line 4, column 2 (url): the same url as line 3"),
    (["# only comments"], "no header line"),
])
def test_a_malformed_file_is_one_error_naming_line_and_column(lines, where):
    with pytest.raises(SourcesError) as error:
        parse(*lines)
    message = str(error.value)
    assert message.startswith("sources.csv") and where in message and "\n" not in message


def test_a_missing_file_says_what_to_do(tmp_path):
    with pytest.raises(SourcesError, match="no sources file at .*sources.example.csv"):
        read_sources(tmp_path / "sources.csv")


def test_the_example_file_is_valid_and_names_placeholder_hosts_only():
    sources = read_sources(REPO / "sources.example.csv")
    assert len(sources) >= 4
    assert any(s.is_template for s in sources) and any(s.pattern for s in sources)
    assert any(not s.enabled for s in sources) and any(s.hosts for s in sources)
    reserved = ("example.com", "example.org", "example.net", "example")  # RFC 2606
    for source in sources:
        for host in [urlsplit(source.url).hostname, *source.hosts]:
            assert any(host == r or host.endswith("." + r) for r in reserved), host
