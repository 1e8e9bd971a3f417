"""Web sites on loopback for fetch tests: real HTTP servers that publish filings the way firms do (index
pages, dated addresses), answer conditional requests, and misbehave on demand (fail, hang, drop the
connection, redirect, send the wrong type or too much). Every request is recorded."""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str | None = "text/plain"
    headers: dict = field(default_factory=dict)
    etag: bool = True  # answer If-None-Match with 304
    last_modified: str | None = None  # answer If-Modified-Since with 304
    fail: list = field(default_factory=list)  # statuses to answer first, one per request
    drops: int = 0  # requests to answer by closing the connection
    delay: float = 0.0  # seconds before answering
    send_length: bool = True

    @property
    def tag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


@dataclass
class Seen:
    path: str
    headers: dict
    started: float
    status: int | None = None


class Site:
    """``Site()`` serves until ``stop()``; ``url(path)`` is its address on 127.0.0.1."""

    def __init__(self):
        self.routes: dict[str, Route] = {}
        self.seen: list[Seen] = []
        self.active = 0
        self.max_active = 0
        self._finished: set[int] = set()
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                seen = Seen(self.path, {k.lower(): v for k, v in self.headers.items()}, time.monotonic())
                with site._lock:
                    site.seen.append(seen)
                    site.active += 1
                    site.max_active = max(site.max_active, site.active)
                try:
                    site._answer(self, seen)
                finally:
                    site._done(seen)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    # -- what it publishes -------------------------------------------------------------------------------
    @property
    def netloc(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str = "/") -> str:
        return f"http://{self.netloc}{path}"

    def publish(self, path: str, body: bytes, content_type: str | None = "text/plain", **options) -> Route:
        route = Route(body=body, content_type=content_type, **options)
        if route.last_modified is None and options.get("etag", True):
            route.last_modified = formatdate(time.time() - 86400, usegmt=True)
        self.routes[path] = route
        return route

    def page(self, path: str, links: list[str], **options) -> Route:
        """An index page linking to ``links`` (hrefs as written)."""
        items = "".join(f'<li><a href="{href}">{href.rsplit("/", 1)[-1] or href}</a></li>' for href in links)
        html = f"<html><head><title>Daily Seg</title></head><body><ul>{items}</ul></body></html>"
        return self.publish(path, html.encode(), "text/html; charset=utf-8", etag=False, **options)

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        self.routes[path] = Route(status=status, headers={"Location": location}, content_type=None, etag=False)

    def requests_for(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- answering ----------------------------------------------------------------------------------------
    def _done(self, seen: Seen) -> None:
        """The request stops counting as in flight: just before its answer goes out (once the client has
        it, it may start another, while this handler is still returning)."""
        with self._lock:
            if id(seen) not in self._finished:
                self._finished.add(id(seen))
                self.active -= 1

    def _answer(self, handler: BaseHTTPRequestHandler, seen: Seen) -> None:
        route = self.routes.get(handler.path)
        if route is None:
            seen.status = 404
            handler.send_response(404)
            handler.send_header("Content-Type", "text/html")
            handler.end_headers()
            handler.wfile.write(b"<html><body>Not Found</body></html>")
            return
        if route.delay:
            time.sleep(route.delay)
        with self._lock:
            drop = route.drops > 0
            route.drops -= drop
            status = route.fail.pop(0) if route.fail else route.status
        if drop:
            handler.close_connection = True
            return  # no answer at all: the client sees the connection closed
        if status == 200 and self._not_modified(route, seen.headers):
            status = 304
        self._done(seen)
        seen.status = status
        handler.send_response(status)
        for name, value in route.headers.items():
            handler.send_header(name, value)
        if status in (200, 304) and route.etag:
            handler.send_header("ETag", route.tag)
        if status in (200, 304) and route.last_modified:
            handler.send_header("Last-Modified", route.last_modified)
        if status != 200:
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        if route.content_type:
            handler.send_header("Content-Type", route.content_type)
        if route.send_length:
            handler.send_header("Content-Length", str(len(route.body)))
        handler.end_headers()
        try:
            handler.wfile.write(route.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading (too large)

    @staticmethod
    def _not_modified(route: Route, headers: dict) -> bool:
        if route.etag and headers.get("if-none-match") == route.tag:
            return True
        return bool(route.last_modified and headers.get("if-modified-since") == route.last_modified
                    and "if-none-match" not in headers)
