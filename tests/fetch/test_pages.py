"""Reading index pages and naming files: which links are filings, which content types can be one."""

from __future__ import annotations

from etl.fetch.pages import file_name, filing_links, page_links, wrong_type
from etl.fetch.sources import parse_sources

PAGE = b"""<html><head><base href="https://acme.example/reg/"></head><body>
<a href="seg/2016-03-14.pdf">14 March</a>
<a href="/reg/seg/2016-03-11.PDF#page=2">11 March</a>
<a href="https://acme.example/reg/seg/2016-03-11.PDF">11 March again</a>
<a href='seg/March%2010 2016.txt'>10 March</a>
<a href="seg/2016-03-09.htm">9 March</a>
<a href="https://cdn.other.example/seg/2016-03-08.pdf">8 March, elsewhere</a>
<a href="annual-report.xlsx">annual report</a>
<a href="mailto:ir@acme.example">write to us</a>
<a href="javascript:void(0)">menu</a>
<a href="#top">top</a>
<a href="https://acme.example/reg/">this page</a>
<a>no href</a>
<img src="logo.png">
</body></html>"""


def source(row: str):
    return parse_sources("firm,url,pattern,hosts\n" + row + "\n", "sources.csv")[0]


def test_links_are_absolute_without_fragments_once_each():
    links = page_links(PAGE, "https://acme.example/reg/")
    assert "https://acme.example/reg/seg/2016-03-11.PDF" in links
    assert links.count("https://acme.example/reg/seg/2016-03-11.PDF") == 1
    assert "https://acme.example/reg/seg/March%2010%202016.txt" in links
    assert not any(link.startswith(("mailto", "javascript")) for link in links)


def test_an_index_page_yields_its_filing_links_on_its_own_host():
    links, elsewhere = filing_links(source("Acme,https://acme.example/reg/,,"), "https://acme.example/reg/", PAGE)
    assert links == ["https://acme.example/reg/seg/2016-03-14.pdf", "https://acme.example/reg/seg/2016-03-11.PDF",
                     "https://acme.example/reg/seg/March%2010%202016.txt",
                     "https://acme.example/reg/seg/2016-03-09.htm"]
    assert elsewhere == 1  # the CDN link is not followed, only counted


def test_a_pattern_selects_the_links_and_hosts_allow_another_host():
    links, elsewhere = filing_links(source(r"Acme,https://acme.example/reg/,2016-03-(08|14)\.pdf$,cdn.other.example"),
                                    "https://acme.example/reg/", PAGE)
    assert links == ["https://acme.example/reg/seg/2016-03-14.pdf", "https://cdn.other.example/seg/2016-03-08.pdf"]
    assert elsewhere == 0


def test_content_types_that_cannot_be_the_filing():
    assert wrong_type("https://a.example/seg.pdf", "application/pdf") is None
    assert wrong_type("https://a.example/seg.pdf", "application/octet-stream") is None
    assert "a web page (text/html) for a PDF address" in wrong_type("https://a.example/seg.pdf", "text/html")
    assert "image/png, which is not a filing" in wrong_type("https://a.example/seg.txt", "image/png")
    assert wrong_type("https://a.example/download?id=4", "text/plain") is None
    assert wrong_type("https://a.example/download?id=4", "application/json") is not None
    assert wrong_type("https://a.example/seg.htm", None) is None  # no content type: the ingest decides


def test_file_names_from_addresses():
    assert file_name("https://a.example/seg/2016-03-14.pdf", "application/pdf") == "2016-03-14.pdf"
    assert file_name("https://a.example/seg/March%2010%202016.TXT", "text/plain") == "March_10_2016.txt"
    assert file_name("https://a.example/get.aspx?date=20160314", "application/pdf") == "get-date_20160314.pdf"
    assert file_name("https://a.example/get?path=/2016/03/seg.pdf", None) == "get-path_-2016-03-seg.pdf"
    assert file_name("https://a.example/seg/", "text/html") == "filing.html"
    assert file_name("https://a.example/seg/..%2F..%2Fetc%2Fpasswd", None) == "passwd"  # no way out of the folder
