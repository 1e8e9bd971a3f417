"""What a fetched page or file is: the filing links of an index page, whether an answer's content type
can be a filing, and the file name a filing's address gets in the landing zone."""

from __future__ import annotations

import hashlib
import re
from html.parser import HTMLParser
from os.path import splitext
from urllib.parse import unquote, urljoin, urlsplit

from etl.fetch.http import clean_url
from etl.fetch.sources import Source
from etl.lake.raw import safe_file_name

FILING_SUFFIXES = (".pdf", ".txt", ".htm", ".html")
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_PDF_TYPES = frozenset({"application/pdf", "application/x-pdf"})
_OCTET_TYPES = frozenset({"application/octet-stream", "binary/octet-stream", "application/download",
                          "application/force-download"})
#: The content types a filing may come as, by the suffix of its address ("" when it has none).
_TYPES_BY_SUFFIX = {
    ".pdf": _PDF_TYPES | _OCTET_TYPES,
    ".txt": {"text/plain"} | HTML_TYPES | _OCTET_TYPES,
    ".htm": HTML_TYPES | {"text/plain"} | _OCTET_TYPES,
    ".html": HTML_TYPES | {"text/plain"} | _OCTET_TYPES,
    "": _PDF_TYPES | HTML_TYPES | {"text/plain"} | _OCTET_TYPES,
}
_SUFFIX_OF_TYPE = {"application/pdf": ".pdf", "application/x-pdf": ".pdf", "text/plain": ".txt",
                   "text/html": ".html", "application/xhtml+xml": ".html"}


class _Links(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get("href")
        if not href:
            return
        if tag == "base" and self.base is None:
            self.base = href.strip()
        elif tag in ("a", "area"):
            self.hrefs.append(href.strip())


def page_links(body: bytes, page_url: str) -> list[str]:
    """The absolute http(s) addresses an HTML page links to, fragments dropped, each once, in order."""
    parser = _Links()
    parser.feed(body.decode("utf-8", "replace"))
    parser.close()
    base = urljoin(page_url, parser.base) if parser.base else page_url
    seen: dict[str, None] = {}
    for href in parser.hrefs:
        url = urljoin(base, href)
        if urlsplit(url).scheme in ("http", "https"):
            seen.setdefault(clean_url(url), None)
    return list(seen)


def _suffix(url: str) -> str:
    return splitext(unquote(urlsplit(url).path))[1].lower()


def filing_links(source: Source, page_url: str, body: bytes) -> tuple[list[str], int]:
    """The links of an index page that ``source`` follows, and how many filing-like links to other hosts
    it does not follow."""
    own = {clean_url(page_url), clean_url(source.url)}
    pattern = re.compile(source.pattern) if source.pattern else None
    followed, elsewhere = [], 0
    for url in page_links(body, page_url):
        if url in own:
            continue
        if not (pattern.search(url) if pattern else _suffix(url) in FILING_SUFFIXES):
            continue
        if source.allows_host(urlsplit(url).netloc):
            followed.append(url)
        else:
            elsewhere += 1
    return followed, elsewhere


def wrong_type(url: str, content_type: str | None) -> str | None:
    """Why an answer of ``content_type`` from ``url`` cannot be the filing it should be (None if it can)."""
    if content_type is None:
        return None
    suffix = _suffix(url)
    allowed = _TYPES_BY_SUFFIX.get(suffix, _TYPES_BY_SUFFIX[""])
    if content_type in allowed:
        return None
    if suffix == ".pdf" and content_type in HTML_TYPES:
        return f"the server sent a web page ({content_type}) for a PDF address: an error or login page, not the filing"
    return f"the server sent {content_type}, which is not a filing" + (f" (for a {suffix} address)" if suffix else "")


def file_name(url: str, content_type: str | None) -> str:
    """The landing file name of a filing's address: the last part of its path (and its query, if any), made
    safe (``etl.lake.raw.safe_file_name``), with the suffix of its content type when the address has none."""
    parts = urlsplit(url)
    stem, suffix = splitext(unquote(parts.path.rsplit("/", 1)[-1]))
    if parts.query:
        stem = "-".join(filter(None, (stem, unquote(parts.query).replace("/", "-"))))
    if suffix.lower() in FILING_SUFFIXES:
        suffix = suffix.lower()
    else:
        suffix = _SUFFIX_OF_TYPE.get(content_type or "", suffix[:8])
    return safe_file_name((stem or "filing")[:100] + suffix)


def another_name(name: str, url: str) -> str:
    """``name`` made unique for ``url`` (when another address of the same firm has that name)."""
    stem, suffix = splitext(name)
    return f"{stem}-{hashlib.sha256(url.encode()).hexdigest()[:8]}{suffix}"
