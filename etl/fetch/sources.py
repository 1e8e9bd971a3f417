"""The sources file: where each firm publishes its Daily Seg filings, as data.

A CSV file (``$DAILYSEG_SOURCES``, else ``$DAILYSEG_HOME/sources.csv``; ``sources.example.csv`` shows
one) with the header ``firm,url,pattern`` and, optionally, ``enabled``, ``delay``, ``hosts`` and
``notes``, in any order. Lines starting with ``#`` and blank lines are ignored. Each row is one source:

- ``url`` is an **index page** (fetched, and the links on it that look like a filing followed), or a
  **template** holding ``{date:FORMAT}`` (a strftime format, e.g. ``{date:%Y%m%d}``), expanded for each
  business day asked for;
- ``pattern`` (index pages only), a regular expression: follow the links whose absolute URL matches it
  instead of those ending in ``.pdf``, ``.txt``, ``.htm`` or ``.html``;
- ``enabled`` ``yes`` (default) or ``no``; ``delay`` seconds between two requests to this source's host
  (default ``DAILYSEG_FETCH_DELAY``); ``hosts`` other hosts (space-separated, e.g. a CDN) whose links and
  redirects are followed, where by default only the page's own host is; ``notes`` free text.

Anything wrong is one ``SourcesError`` naming the line and column.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

from etl import UserError

REQUIRED = ("firm", "url", "pattern")
OPTIONAL = ("enabled", "delay", "hosts", "notes")
_PLACEHOLDER = re.compile(r"\{date:([^{}]+)\}")
_YES = {"", "yes", "y", "true", "1", "on"}
_NO = {"no", "n", "false", "0", "off"}


class SourcesError(UserError, ValueError):
    """The sources file cannot be used; the message names the file, line and column."""


@dataclass(frozen=True)
class Source:
    firm: str
    url: str
    pattern: str | None = None
    enabled: bool = True
    delay: float | None = None  # None: the settings' delay
    hosts: tuple[str, ...] = ()
    notes: str = ""
    line: int = 0

    @property
    def is_template(self) -> bool:
        return _PLACEHOLDER.search(self.url) is not None

    @property
    def origin(self) -> str:
        """``scheme://host[:port]``: the site whose robots.txt and request limits apply."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc.lower()}"

    def expand(self, day: date) -> str:
        """The template's address for ``day``."""
        return _PLACEHOLDER.sub(lambda m: day.strftime(m[1]), self.url)

    def allows_host(self, netloc: str) -> bool:
        """Whether links and redirects to ``netloc`` (``host[:port]``) are followed for this source."""
        netloc = netloc.lower()
        return netloc == urlsplit(self.url).netloc.lower() or netloc in self.hosts \
            or netloc.split(":")[0] in self.hosts


def parse_sources(text: str, origin: str) -> list[Source]:
    """The sources in ``text`` (a sources file's content); ``origin`` names it in errors."""
    rows = [(n, line) for n, line in enumerate(text.splitlines(), start=1)
            if line.strip() and not line.lstrip().startswith("#")]
    if not rows:
        raise SourcesError(f"{origin}: no header line; the first line must be {','.join(REQUIRED)}")
    header_line, header_text = rows[0]
    header = [cell.strip().lower() for cell in next(csv.reader([header_text]))]
    for column, name in enumerate(header, start=1):
        if name not in REQUIRED + OPTIONAL:
            raise SourcesError(f"{origin} line {header_line}, column {column}: unknown column {name!r} "
                               f"(columns: {', '.join(REQUIRED + OPTIONAL)})")
        if name in header[:column - 1]:
            raise SourcesError(f"{origin} line {header_line}, column {column}: column {name!r} appears twice")
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise SourcesError(f"{origin} line {header_line}: the header lacks {', '.join(missing)} "
                           f"(it must have {','.join(REQUIRED)})")
    sources: list[Source] = []
    seen: dict[str, int] = {}
    for n, line in rows[1:]:
        cells = next(csv.reader([line]))
        if len(cells) > len(header):
            raise SourcesError(f"{origin} line {n}, column {len(header) + 1}: {len(cells)} cells for "
                               f"{len(header)} columns (quote a value that holds a comma)")
        row = dict(zip(header, (c.strip() for c in cells)))
        source = _source(row, header, origin, n)
        if source.url in seen:
            raise SourcesError(f"{_where(origin, n, header, 'url')}: the same url as line {seen[source.url]}")
        seen[source.url] = n
        sources.append(source)
    return sources


def read_sources(path: Path) -> list[Source]:
    """The sources in the file at ``path``."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SourcesError(f"no sources file at {path}: copy sources.example.csv there and edit it, or set "
                           "DAILYSEG_SOURCES (or --sources)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SourcesError(f"cannot read the sources file {path}: {exc}") from None
    return parse_sources(text, str(path))


def _where(origin: str, line: int, header: list[str], name: str) -> str:
    return f"{origin} line {line}, column {header.index(name) + 1} ({name})"


def _source(row: dict[str, str], header: list[str], origin: str, n: int) -> Source:
    def fail(name: str, why: str):
        raise SourcesError(f"{_where(origin, n, header, name)}: {why}")

    firm, url, pattern = row.get("firm", ""), row.get("url", ""), row.get("pattern", "") or None
    if not firm:
        fail("firm", "the firm's name is empty")
    _check_url(url, fail)
    if pattern is not None:
        if _PLACEHOLDER.search(url):
            fail("pattern", "a pattern selects links on an index page; this url is a {date:...} template")
        try:
            re.compile(pattern)
        except re.error as exc:
            fail("pattern", f"{pattern!r} is not a regular expression ({exc})")
    enabled_text = row.get("enabled", "").lower()
    if enabled_text not in _YES | _NO:
        fail("enabled", f"{row['enabled']!r} is not yes or no")
    delay = None
    if row.get("delay"):
        try:
            delay = float(row["delay"])
        except ValueError:
            delay = -1.0
        if not 0 <= delay <= 3600:
            fail("delay", f"{row['delay']!r} is not a number of seconds between 0 and 3600")
    hosts = tuple(h.lower() for h in row.get("hosts", "").split())
    for host in hosts:
        if "/" in host or not re.fullmatch(r"[a-z0-9.\-\[\]:]+", host):
            fail("hosts", f"{host!r} is not a host name (write example.com, not a URL)")
    return Source(firm=" ".join(firm.split()), url=url, pattern=pattern, enabled=enabled_text in _YES,
                  delay=delay, hosts=hosts, notes=row.get("notes", ""), line=n)


def _check_url(url: str, fail) -> None:
    if not url:
        fail("url", "the url is empty")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        fail("url", f"{url!r} is not an http or https address")
    if _PLACEHOLDER.search(parts.netloc):
        fail("url", "the {date:...} placeholder belongs in the path or query, not in the host")
    if not parts.hostname:
        fail("url", f"{url!r} has no host")
    try:
        parts.port
    except ValueError:
        fail("url", f"{url!r} has an invalid port")
    leftover = _PLACEHOLDER.sub("", url)
    if "{" in leftover or "}" in leftover:
        fail("url", f"{url!r}: the only placeholder is {{date:FORMAT}}, e.g. {{date:%Y%m%d}}")
    for match in _PLACEHOLDER.finditer(url):
        if "%" not in match[1]:
            fail("url", f"{{date:{match[1]}}} holds no strftime directive (e.g. %Y%m%d)")
