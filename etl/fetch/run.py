"""One fetch run: every source's new filings into the landing zone, every request into ``fetch_log``.

``fetch(settings, sources)`` reads what the fetch log knows of each address (its ETag, Last-Modified
and content), then works through the sources host by host, several hosts at a time: a host's index
pages are read and their filing links followed, its templates expanded for each business day in the
range, and each address is asked for conditionally. A file lands in
``<landing>/<firm-slug>/<file name>`` when its bytes are new; an address whose bytes changed (a filing
re-published, e.g. amended) lands again, and the earlier version is kept beside it until ingested. A
source that fails (its server down, a 403, a page that moved) is recorded with the reason and the others
go on; only an unusable setting, landing zone or warehouse stops the run (``FetchError``).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date
from typing import Callable

from etl import UserError
from etl.business_days import business_days, previous_business_day
from etl.clock import new_run_id, utc_now
from etl.fetch.http import CONNECTIONS_PER_HOST, FetchFailed, HostLimits, HttpClient, clean_url
from etl.fetch.landing import Landing
from etl.fetch.pages import HTML_TYPES, another_name, file_name, filing_links, wrong_type
from etl.fetch.sources import Source
from etl.processes import mark
from etl.form.files import slugify
from etl.settings import Settings
from etl.analyst.formats import or_none

#: Business days a template is expanded for when no range is given (ending on the last one whose
#: filing can be out: the previous business day).
DEFAULT_DAYS = 5
#: Hosts worked on at the same time (each with up to ``CONNECTIONS_PER_HOST`` requests in flight).
HOSTS_AT_ONCE = 8
#: Seconds between two writes of the fetch log (each holds the embedded warehouse's lock a moment).
LOG_EVERY = 10.0
Progress = Callable[[int, int], None]


class FetchError(UserError, RuntimeError):
    """The run could not proceed (settings, landing zone or warehouse unusable); one line for the user."""


class _Stopped(Exception):
    """The run was interrupted: a host's worker leaves its remaining addresses alone."""


@dataclass
class SourceResult:
    source: Source
    new: int = 0
    republished: int = 0
    unchanged: int = 0
    not_published: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (url, reason)
    other_hosts: int = 0  # filing links to hosts the source does not allow, not followed

    @property
    def failed(self) -> int:
        return len(self.failures)


@dataclass
class FetchSummary:
    run_id: str
    landing: str
    date_from: date | None
    date_to: date | None
    results: list[SourceResult] = field(default_factory=list)
    requests: int = 0
    bytes_received: int = 0
    seconds: float = 0.0

    def total(self, name: str) -> int:
        return sum(getattr(r, name) for r in self.results)


def default_range(today: date | None = None, days: int = DEFAULT_DAYS) -> tuple[date, date]:
    """The last ``days`` business days whose filings can be published by ``today``."""
    last = previous_business_day(today or date.today())
    first = last
    for _ in range(days - 1):
        first = previous_business_day(first)
    return first, last


@dataclass
class _Known:
    sha256: str
    etag: str | None
    last_modified: str | None
    landing_path: str | None


class _Run:
    def __init__(self, settings: Settings, sources: list[Source], days: list[date], progress: Progress | None,
                 write_log: Callable[[list[dict]], None], known: dict[str, _Known]):
        self.settings = settings
        self.sources = sources
        self.days = days
        self.progress = progress
        self.write_log = write_log
        self.known = known
        self.run_id = new_run_id()
        self.landing = Landing(settings.landing)
        limits = HostLimits(settings.fetch_delay)
        self.client = HttpClient(contact=settings.fetch_contact or "", timeout=settings.fetch_timeout,
                                 attempts=settings.fetch_attempts, backoff=settings.fetch_backoff,
                                 max_bytes=settings.max_file_bytes, limits=limits)
        delays: dict[str, float] = {}
        for source in sources:
            if source.delay is not None:
                delays[source.origin] = max(delays.get(source.origin, 0.0), source.delay)
        for origin, delay in delays.items():
            limits.set(origin, delay)
        self.claimed = {k.landing_path: url for url, k in known.items() if k.landing_path}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._done = self._total = 0

    # -- bookkeeping -------------------------------------------------------------------------------------
    def _row(self, source: Source, url: str, kind: str, outcome: str, day: date | None = None, **fields) -> dict:
        return {"run_id": self.run_id, "firm": source.firm, "source": source.url, "url": url, "kind": kind,
                "day": day, "fetched_at": utc_now(), "outcome": outcome, **fields}

    def _planned(self, n: int) -> None:
        if n:
            with self._lock:
                self._total += n
                self._tick(0)

    def _tick(self, n: int = 1) -> None:
        self._done += n
        if self.progress is not None:
            self.progress(self._done, self._total)

    # -- the run ------------------------------------------------------------------------------------------
    def run(self) -> FetchSummary:
        started = time.perf_counter()
        summary = FetchSummary(self.run_id, self.landing.location, self.days[0] if self.days else None,
                               self.days[-1] if self.days else None)
        results = {id(s): SourceResult(s) for s in self.sources}
        by_origin: dict[str, list[Source]] = defaultdict(list)
        for source in self.sources:
            by_origin[source.origin].append(source)
        pending: list[dict] = []
        written = time.monotonic()
        with ThreadPoolExecutor(max_workers=max(1, min(HOSTS_AT_ONCE, len(by_origin))),
                                thread_name_prefix="fetch-host") as hosts:
            futures = [hosts.submit(self._host, group, results) for group in by_origin.values()]
            try:
                for hosts_done, future in enumerate(as_completed(futures), 1):
                    pending += future.result()
                    mark(f"fetch:host-done {hosts_done}")  # its log rows are held: an interruption now logs them
                    if time.monotonic() - written >= LOG_EVERY:
                        self._write(pending)
                        written = time.monotonic()
            finally:
                self._stop.set()  # on an interruption, requests in flight end and no other starts
                for future in futures:
                    future.cancel()
                self._write(pending)  # what finished is logged, even when the run is interrupted
        summary.results = [results[id(s)] for s in self.sources]
        summary.requests = self.client.requests
        summary.bytes_received = self.client.bytes_received
        summary.seconds = time.perf_counter() - started
        return summary

    def _write(self, rows: list[dict]) -> None:
        """Log ``rows`` (emptying the list) once the files they name are durable."""
        if rows:
            self.landing.flush()
            self.write_log(rows[:])
            rows.clear()

    def _host(self, sources: list[Source], results: dict[int, SourceResult]) -> list[dict]:
        """Everything of one host's sources; returns their fetch-log rows."""
        rows: list[dict] = []
        targets: list[tuple[Source, str, date | None]] = []
        for source in sources:
            if source.is_template:
                targets += [(source, clean_url(source.expand(day)), day) for day in self.days]
            else:
                links = self._list(source, results[id(source)], rows)
                targets += [(source, url, None) for url in links]
        self._planned(len(targets))
        with ThreadPoolExecutor(max_workers=CONNECTIONS_PER_HOST, thread_name_prefix="fetch-file") as files:
            for (source, _, _), row in zip(targets, files.map(lambda target: self._file(*target), targets)):
                rows.append(row)
                self._count(results[id(source)], row)
        return rows

    def _list(self, source: Source, result: SourceResult, rows: list[dict]) -> list[str]:
        """The filing links of an index page (recording the page's fetch)."""
        try:
            page = self.client.get(clean_url(source.url), source.allows_host,
                                   {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"})
        except FetchFailed as failed:
            return self._index_failed(source, result, rows, failed.reason, failed.status, failed.attempts)
        if page.status != 200:
            return self._index_failed(source, result, rows, f"the index page answered {page.status_line}",
                                      page.status, page.attempts)
        if page.content_type not in HTML_TYPES | {None}:
            return self._index_failed(source, result, rows, f"the index page is {page.content_type}, not a web page",
                                      page.status, page.attempts)
        links, result.other_hosts = filing_links(source, page.url, page.body)
        if not links:
            why = "the index page links to no filing" + (
                f" (its pattern {source.pattern!r} matches none of its links)" if source.pattern else "")
            if result.other_hosts:
                why += (f"; {result.other_hosts} filing links point to other hosts, which are followed only when "
                        "listed in the source's hosts column")
            return self._index_failed(source, result, rows, why, page.status, page.attempts)
        rows.append(self._row(source, source.url, "index", "listed", http_status=page.status,
                              bytes=len(page.body), attempts=page.attempts))
        return links

    def _index_failed(self, source, result, rows, reason, status, attempts) -> list[str]:
        result.failures.append((source.url, reason))
        rows.append(self._row(source, source.url, "index", "failed", http_status=status, error=reason,
                              attempts=attempts))
        return []

    def _count(self, result: SourceResult, row: dict) -> None:
        outcome = row["outcome"]
        if outcome == "failed":
            result.failures.append((row["url"], row["error"]))
        else:
            setattr(result, outcome, getattr(result, outcome) + 1)
        with self._lock:
            self._tick()

    # -- one address ----------------------------------------------------------------------------------------
    def _file(self, source: Source, url: str, day: date | None) -> dict:
        if self._stop.is_set():
            raise _Stopped
        known = self.known.get(url)
        headers = {}
        if known and known.etag:
            headers["If-None-Match"] = known.etag
        if known and known.last_modified:
            headers["If-Modified-Since"] = known.last_modified
        try:
            answer = self.client.get(url, source.allows_host, headers)
        except FetchFailed as failed:
            return self._row(source, url, "file", "failed", day, http_status=failed.status, error=failed.reason,
                             attempts=failed.attempts)
        status = {"http_status": answer.status, "attempts": answer.attempts}
        if answer.status == 304 and known:
            return self._row(source, url, "file", "unchanged", day, sha256=known.sha256,
                             etag=answer.headers.get("ETag") or known.etag,
                             last_modified=answer.headers.get("Last-Modified") or known.last_modified,
                             landing_path=known.landing_path, **status)
        if answer.status in (404, 410) and day is not None:
            return self._row(source, url, "file", "not_published", day, **status)
        why = (f"the server answered {answer.status_line}" if answer.status != 200 else
               wrong_type(answer.url, answer.content_type) or wrong_type(url, answer.content_type)
               or ("the answer is empty" if not answer.body else None))
        if why:
            return self._row(source, url, "file", "failed", day, error=why, **status)
        sha = hashlib.sha256(answer.body).hexdigest()
        validators = {"sha256": sha, "etag": answer.headers.get("ETag"),
                      "last_modified": answer.headers.get("Last-Modified"), "bytes": len(answer.body), **status}
        if known and known.sha256 == sha:  # a server that ignores conditional requests
            return self._row(source, url, "file", "unchanged", day, landing_path=known.landing_path, **validators)
        path = known.landing_path if known and known.landing_path else self._new_path(source, url, answer)
        try:
            there = self.landing.read(path)
            if there is not None and hashlib.sha256(there).hexdigest() == sha:
                outcome = "unchanged"  # landed before, by a run whose log was not written
            else:
                if there is not None:
                    self.landing.keep_aside(path, there)
                self.landing.write(path, answer.body)
                outcome = "republished" if known else "new"
        except OSError as exc:
            return self._row(source, url, "file", "failed", day, error=f"cannot write {path}: {exc}", **status)
        return self._row(source, url, "file", outcome, day, landing_path=path, **validators)

    def _new_path(self, source: Source, url: str, answer) -> str:
        folder = slugify(source.firm) or "firm"
        name = file_name(url, answer.content_type)  # named after the address, wherever it redirected
        with self._lock:
            path = self.landing.path(folder, name)
            if self.claimed.get(path, url) != url:
                path = self.landing.path(folder, another_name(name, url))
            self.claimed[path] = url
        return path


def template_days(date_from: date | None, date_to: date | None, today: date | None = None) -> list[date]:
    """The business days templates are expanded for: the range given (one end given: ``DEFAULT_DAYS``
    business days from or to it), else the last ``DEFAULT_DAYS`` whose filings can be out by ``today``."""
    if date_from is None and date_to is None:
        date_from, date_to = default_range(today)
    elif date_from is None:
        date_from = date_to
        for _ in range(DEFAULT_DAYS - 1):
            date_from = previous_business_day(date_from)
    elif date_to is None:
        date_to = max(date_from, previous_business_day(today or date.today()))
    if date_to < date_from:
        raise FetchError(f"the range ends ({date_to}) before it starts ({date_from})")
    return business_days(date_from, date_to)


def fetch(settings: Settings, sources: list[Source], date_from: date | None = None, date_to: date | None = None,
          progress: Progress | None = None, wait: float = 60.0,
          on_message: Callable[[str], None] | None = None) -> FetchSummary:
    """Fetch the enabled ``sources`` (templates for the business days from ``date_from`` to ``date_to``);
    see the module docstring. Raises only ``FetchError``."""
    if not settings.fetch_contact:
        raise FetchError("set DAILYSEG_FETCH_CONTACT to an email address or web page where the people running the "
                         "sites you fetch from can reach you (it goes in the User-Agent of every request)")
    days = template_days(date_from, date_to)
    landing = Landing(settings.landing)
    try:
        landing.check_writable()
    except OSError as exc:
        raise FetchError(f"cannot write to the landing zone {settings.landing}: {exc}") from None

    def write_log(rows: list[dict]) -> None:
        if rows:
            import pyarrow as pa
            from etl.warehouse.tables import FETCH_LOG
            table = pa.Table.from_pylist([{name: row.get(name) for name in FETCH_LOG.names} for row in rows],
                                         schema=FETCH_LOG)
            _with_warehouse(settings, wait, on_message, lambda warehouse: warehouse.append_fetch_log(table))

    state = _with_warehouse(settings, wait, on_message, lambda warehouse: warehouse.fetch_log_state())
    known = {row.url: _Known(row.sha256, or_none(row.etag), or_none(row.last_modified), or_none(row.landing_path))
             for row in state.itertuples(index=False)}
    return _Run(settings, [s for s in sources if s.enabled], days, progress, write_log, known).run()


def _with_warehouse(settings: Settings, wait: float, on_message, work):
    """``work(warehouse)`` holding the embedded warehouse's writer lock only that long (a fetch spends
    most of its time waiting for other servers, and the warehouse stays free meanwhile)."""
    from etl.warehouse import one_line_errors, opened_for_writing
    with one_line_errors(FetchError, "the fetch", "cannot write the fetch log"), \
            opened_for_writing(settings.warehouse_url, wait, on_message) as warehouse:
        return work(warehouse)
