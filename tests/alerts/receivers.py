"""Real receivers on loopback for alert tests: an SMTP server (aiosmtpd) and a webhook HTTP server."""

from __future__ import annotations

import email
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _MailHandler:
    def __init__(self, box: "SmtpReceiver"):
        self.box = box

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        self.box.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "message": message,
                                  "raw": envelope.content})
        return "250 OK"


@dataclass
class SmtpReceiver:
    user: str | None = None
    password: str | None = None
    messages: list = field(default_factory=list)
    logins: list = field(default_factory=list)  # (mechanism, login) of every AUTH the server was sent
    controller: Controller | None = None

    def start(self, port: int = 0) -> "SmtpReceiver":
        kwargs = {}
        if self.user:
            def authenticate(server, session, envelope, mechanism, auth_data):
                self.logins.append((mechanism, getattr(auth_data, "login", b"").decode()))
                ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == self.user \
                    and auth_data.password.decode() == self.password
                return AuthResult(success=ok, handled=False)  # a refusal answers 535, as a real server does
            kwargs = {"authenticator": authenticate, "auth_require_tls": False}
        self._port = port or _free_port()
        self.controller = Controller(_MailHandler(self), hostname="127.0.0.1", port=self._port, **kwargs)
        self.controller.start()
        return self

    @property
    def port(self) -> int:
        return self._port

    def url(self) -> str:
        """The server's URL; with credentials, allowed in clear text because the server is on loopback."""
        if not self.user:
            return f"smtp://127.0.0.1:{self.port}"
        return f"smtp://{self.user}:{self.password}@127.0.0.1:{self.port}?allow_plaintext_auth=true"

    def stop(self) -> None:
        if self.controller:
            self.controller.stop()
            self.controller = None


class WebhookReceiver:
    """An HTTP server recording POSTed JSON; ``status`` and ``delay`` make it fail or hang."""

    def __init__(self, status: int = 200, delay: float = 0.0):
        self.status = status
        self.delay = delay
        self.posts: list[dict] = []
        self.requests = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                receiver.requests += 1
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if receiver.delay:
                    time.sleep(receiver.delay)
                if receiver.status == 200:
                    receiver.posts.append({"path": self.path, "json": json.loads(body)})
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b"ok" if receiver.status == 200 else b"error")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/services/T000/B000/s3cr3tT0ken") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
