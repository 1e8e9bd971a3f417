"""Fetch: the filings firms publish on their web sites, collected into the landing zone.

The sources are data (``sources``: a CSV of firm, index page or dated address template, optional link
pattern); ``http`` is a client that behaves well on other people's servers (robots.txt, two connections
and a delay per host, conditional requests, bounded retries, redirects, timeouts and size); ``pages``
reads index pages and names files; ``landing`` writes them; ``run`` is one fetch run, which records every
request in the warehouse's ``fetch_log``.
"""

from etl.fetch.run import FetchError, FetchSummary, fetch
from etl.fetch.sources import Source, SourcesError, parse_sources, read_sources

__all__ = ["FetchError", "FetchSummary", "Source", "SourcesError", "fetch", "parse_sources", "read_sources"]
