"""Asking other people's web servers for files, politely: the HTTP client of ``dailyseg fetch``.

Standard library only (``http.client``). Every request:

- names dailyseg and a contact address in its ``User-Agent`` (and ``From``, for an email address);
- goes to ``http`` or ``https`` only, and follows at most ``MAX_REDIRECTS`` redirects, never to another
  scheme and never to a host its source does not allow;
- is checked against the host's ``robots.txt`` first (read once per run; a robots.txt that cannot be
  read because the server fails keeps dailyseg off that host for the run, as search engines do; a
  ``Crawl-delay`` for dailyseg or ``*`` lengthens the delay);
- waits for one of at most ``CONNECTIONS_PER_HOST`` slots of its host, and starts at least the host's
  delay after the previous request to that host started;
- times out on connect and on every read after ``timeout`` seconds, and on the whole answer after
  ``WHOLE_ANSWER_TIMEOUTS`` times that;
- stops reading, and fails, past the size cap (ingest's own, ``DAILYSEG_MAX_FILE_MB``);
- is retried with exponential backoff (``backoff``, 2x, 4x... seconds, or the server's ``Retry-After``
  up to a minute) when the server answers 5xx, does not answer in time, or drops the connection; never
  for a 4xx, a size or a robots.txt refusal, which a retry cannot change.

A request either returns a ``Response`` (2xx, 304 or 4xx: the caller decides what a 404 means) or raises
``FetchFailed`` with one sentence saying why.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from typing import Callable
from urllib.parse import quote, urljoin, urlsplit
from urllib.robotparser import RobotFileParser

from etl import __version__

AGENT = "dailyseg"
CONNECTIONS_PER_HOST = 2
MAX_REDIRECTS = 5
WHOLE_ANSWER_TIMEOUTS = 10
MAX_RETRY_AFTER = 60.0
ROBOTS_MAX_BYTES = 512 * 1024
_REDIRECTS = {301, 302, 303, 307, 308}
_SAFE_PATH = "/%:@!$&'()*+,;=-._~"
_SAFE_QUERY = _SAFE_PATH + "?"


class FetchFailed(Exception):
    """A request that did not bring back an answer to use; ``str()`` says why in one sentence."""

    def __init__(self, reason: str, status: int | None = None, transient: bool = False, attempts: int = 1):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.transient = transient
        self.attempts = attempts

    def __str__(self) -> str:
        return self.reason


@dataclass
class Response:
    url: str  # where the answer came from, after redirects
    status: int
    reason: str
    headers: Message
    body: bytes = b""
    attempts: int = 1

    @property
    def content_type(self) -> str | None:
        value = self.headers.get_content_type() if self.headers.get("Content-Type") else None
        return value.lower() if value else None

    @property
    def status_line(self) -> str:
        return f"{self.status} {self.reason}".strip()


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: the unit robots.txt and the request limits apply to."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.lower()}"


def clean_url(url: str) -> str:
    """``url`` without its fragment, with characters a request line cannot carry (spaces, non-ASCII)
    percent-encoded and existing escapes kept."""
    parts = urlsplit(url.strip())
    path = quote(parts.path, safe=_SAFE_PATH) or "/"
    query = quote(parts.query, safe=_SAFE_QUERY)
    netloc = parts.netloc.encode("idna").decode("ascii") if not parts.netloc.isascii() else parts.netloc
    return f"{parts.scheme}://{netloc}{path}" + (f"?{query}" if query else "")


class HostLimits:
    """At most ``connections`` requests in flight per host, each starting at least the host's delay
    after the previous one to that host started."""

    def __init__(self, delay: float, connections: int = CONNECTIONS_PER_HOST,
                 sleep: Callable[[float], None] = time.sleep):
        self.default_delay = delay
        self.connections = connections
        self.sleep = sleep
        self._lock = threading.Lock()
        self._slots: dict[str, threading.Semaphore] = {}
        self._next_start: dict[str, float] = {}
        self._delays: dict[str, float] = {}

    def set(self, origin: str, delay: float) -> None:
        """The delay of ``origin`` (a source's own), in place of the default."""
        with self._lock:
            self._delays[origin] = delay

    def at_least(self, origin: str, delay: float) -> None:
        """Make the delay of ``origin`` at least ``delay`` seconds (a source's own delay, a Crawl-delay)."""
        with self._lock:
            self._delays[origin] = max(delay, self._delays.get(origin, self.default_delay))

    @contextmanager
    def slot(self, origin: str):
        with self._lock:
            slots = self._slots.setdefault(origin, threading.Semaphore(self.connections))
        slots.acquire()
        try:
            with self._lock:
                now = time.monotonic()
                start = max(now, self._next_start.get(origin, now))
                self._next_start[origin] = start + self._delays.get(origin, self.default_delay)
            if start > now:
                self.sleep(start - now)
            yield
        finally:
            slots.release()


@dataclass
class _Robots:
    parser: RobotFileParser | None = None
    refused: str | None = None  # why the whole host is off limits this run


@dataclass
class HttpClient:
    contact: str
    timeout: float
    attempts: int
    backoff: float
    max_bytes: int
    limits: HostLimits
    sleep: Callable[[float], None] = time.sleep
    requests: int = 0
    bytes_received: int = 0
    _robots: dict[str, _Robots] = field(default_factory=dict)
    _robots_locks: dict[str, threading.Lock] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _tls: ssl.SSLContext = field(default_factory=ssl.create_default_context)

    @property
    def user_agent(self) -> str:
        return f"{AGENT}/{__version__} (+{self.contact})"

    # -- the one call -----------------------------------------------------------------------------------
    def get(self, url: str, allow_host: Callable[[str], bool], headers: dict[str, str] | None = None,
            robots: bool = True) -> Response:
        """GET ``url``, following redirects, retrying what may be transient; see the module docstring."""
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._follow(url, allow_host, headers or {}, robots)
            except FetchFailed as failed:
                if failed.transient and attempt < self.attempts:
                    self.sleep(self._backoff(attempt))
                    continue
                failed.attempts = attempt
                if attempt > 1:
                    failed.reason += f" ({attempt} attempts)"
                raise
            response.attempts = attempt
            if response.status < 500:
                return response
            if attempt >= self.attempts:
                raise FetchFailed(f"the server answered {response.status_line}"
                                  + (f" ({attempt} attempts)" if attempt > 1 else ""), response.status,
                                  transient=True, attempts=attempt)
            self.sleep(max(self._backoff(attempt), _retry_after(response.headers)))

    def _backoff(self, attempt: int) -> float:
        return self.backoff * 2 ** (attempt - 1)

    def _follow(self, url: str, allow_host, headers: dict[str, str], robots: bool) -> Response:
        scheme = urlsplit(url).scheme
        for hop in range(MAX_REDIRECTS + 1):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https"):
                raise FetchFailed(f"{url} is not an http or https address")
            if hop and parts.scheme != scheme:
                raise FetchFailed(f"redirected from {scheme} to another scheme ({url}); dailyseg does not follow "
                                  f"that: if the site moved, put the new address in the sources file")
            if hop and not allow_host(parts.netloc):
                raise FetchFailed(f"redirected to another host ({url}); add {parts.hostname} to the source's "
                                  "hosts column to follow it")
            if robots:
                self._check_robots(url, allow_host)
            response = self._request(url, headers)
            if response.status not in _REDIRECTS:
                return response
            location = response.headers.get("Location")
            if not location:
                raise FetchFailed(f"the server answered {response.status_line} without saying where to",
                                  response.status)
            url = clean_url(urljoin(url, location))
        raise FetchFailed(f"more than {MAX_REDIRECTS} redirects (last to {url})")

    # -- robots.txt -------------------------------------------------------------------------------------
    def _check_robots(self, url: str, allow_host) -> None:
        origin = origin_of(url)
        with self._lock:
            lock = self._robots_locks.setdefault(origin, threading.Lock())
        with lock:  # one read of a host's robots.txt, whichever thread asks first
            if origin not in self._robots:
                self._robots[origin] = self._read_robots(origin, allow_host)
                delay = self._robots[origin].parser.crawl_delay(AGENT) if self._robots[origin].parser else None
                if delay:
                    self.limits.at_least(origin, float(delay))
        rules = self._robots[origin]
        if rules.refused:
            raise FetchFailed(rules.refused)
        if not rules.parser.can_fetch(AGENT, url):
            raise FetchFailed(f"{origin}/robots.txt disallows {urlsplit(url).path or '/'} for dailyseg")

    def _read_robots(self, origin: str, allow_host) -> _Robots:
        try:
            response = self.get(f"{origin}/robots.txt", allow_host, robots=False)
        except FetchFailed as failed:
            return _Robots(refused=f"{origin}/robots.txt could not be read ({failed.reason}); nothing is "
                                   "fetched from this host until it can")
        if response.status in (401, 403):
            return _Robots(refused=f"{origin}/robots.txt is refused to dailyseg ({response.status_line}), which "
                                   "means the whole site is off limits")
        parser = RobotFileParser(f"{origin}/robots.txt")
        if response.status == 200:
            parser.parse(response.body[:ROBOTS_MAX_BYTES].decode("utf-8", "replace").splitlines())
        else:  # no robots.txt (404 and the like): everything is allowed
            parser.allow_all = True
        return _Robots(parser=parser)

    # -- one request --------------------------------------------------------------------------------------
    def _request(self, url: str, headers: dict[str, str]) -> Response:
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            raise FetchFailed(f"{url} has an invalid port") from None
        with self.limits.slot(origin_of(url)):
            with self._lock:
                self.requests += 1
            if parts.scheme == "https":
                conn = http.client.HTTPSConnection(parts.hostname, port, timeout=self.timeout, context=self._tls)
            else:
                conn = http.client.HTTPConnection(parts.hostname, port, timeout=self.timeout)
            try:
                return self._exchange(conn, url, parts, headers)
            except FetchFailed:
                raise
            except (TimeoutError, socket.timeout):
                raise FetchFailed(f"no answer within {self.timeout:g} s", transient=True) from None
            except ConnectionRefusedError:
                raise FetchFailed(f"{parts.netloc} refused the connection", transient=True) from None
            except (http.client.RemoteDisconnected, http.client.IncompleteRead, ConnectionResetError,
                    ConnectionAbortedError, BrokenPipeError):
                raise FetchFailed("the server closed the connection before the end of its answer",
                                  transient=True) from None
            except socket.gaierror:
                raise FetchFailed(f"cannot find the host {parts.hostname}") from None
            except ssl.SSLError as exc:
                raise FetchFailed(f"the TLS connection to {parts.hostname} failed ({exc.reason or exc})") from None
            except http.client.HTTPException as exc:
                raise FetchFailed(f"the server's answer is not HTTP ({type(exc).__name__})") from None
            except OSError as exc:
                raise FetchFailed(f"network error: {exc.strerror or exc}", transient=True) from None
            finally:
                conn.close()

    def _exchange(self, conn, url: str, parts, headers: dict[str, str]) -> Response:
        started = time.monotonic()
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        sent = {"User-Agent": self.user_agent, "Accept-Encoding": "gzip, identity", "Connection": "close",
                **headers}
        if "@" in self.contact and " " not in self.contact.strip():
            sent["From"] = self.contact.strip().removeprefix("mailto:")
        conn.request("GET", target, headers=sent)
        answer = conn.getresponse()
        response = Response(url=url, status=answer.status, reason=answer.reason or "", headers=answer.msg)
        if answer.status != 200:
            return response
        length = answer.getheader("Content-Length")
        if length and length.strip().isdigit() and int(length) > self.max_bytes:
            raise FetchFailed(self._too_large(int(length)), answer.status)
        response.body = self._read_body(answer, started + WHOLE_ANSWER_TIMEOUTS * self.timeout)
        with self._lock:
            self.bytes_received += len(response.body)
        return response

    def _read_body(self, answer: http.client.HTTPResponse, deadline: float) -> bytes:
        encoding = (answer.getheader("Content-Encoding") or "identity").strip().lower()
        if encoding not in ("identity", "gzip", "x-gzip", "deflate"):
            raise FetchFailed(f"the answer is encoded as {encoding!r}, which dailyseg does not read")
        inflate = None if encoding == "identity" else zlib.decompressobj(
            zlib.MAX_WBITS | 16 if "gzip" in encoding else zlib.MAX_WBITS)
        chunks: list[bytes] = []
        size = 0
        while True:
            if time.monotonic() > deadline:
                raise FetchFailed(f"the answer took more than {WHOLE_ANSWER_TIMEOUTS * self.timeout:g} s",
                                  transient=True)
            chunk = answer.read1(65536)
            if not chunk:
                break
            if inflate is not None:
                try:
                    chunk = inflate.decompress(chunk, self.max_bytes + 1 - size)
                except zlib.error as exc:
                    raise FetchFailed(f"the compressed answer is damaged ({exc})") from None
            chunks.append(chunk)
            size += len(chunk)
            if size > self.max_bytes:
                raise FetchFailed(self._too_large(None))
        return b"".join(chunks)

    def _too_large(self, size: int | None) -> str:
        said = f"{size:,} bytes" if size is not None else "larger than that"
        return f"the file is {said}, over the {self.max_bytes:,}-byte limit (DAILYSEG_MAX_FILE_MB)"


def _retry_after(headers: Message) -> float:
    """The seconds a ``Retry-After: N`` header asks for, capped at ``MAX_RETRY_AFTER`` (0 without one)."""
    value = (headers.get("Retry-After") or "").strip()
    return min(float(value), MAX_RETRY_AFTER) if value.isdigit() else 0.0
