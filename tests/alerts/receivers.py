"""Real receivers on loopback for alert tests: an SMTP server (aiosmtpd) and a webhook HTTP server."""

from __future__ import annotations

import email
import json
import socket
import ssl
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
                                  "raw": envelope.content, "tls": bool(getattr(session, "ssl", None))})
        return "250 OK"


def self_signed_tls(folder) -> ssl.SSLContext:
    """A server TLS context with a fresh self-signed certificate for 127.0.0.1."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context


@dataclass
class SmtpReceiver:
    """``tls``: a server TLS context; the receiver then requires STARTTLS before anything else."""

    user: str | None = None
    password: str | None = None
    messages: list = field(default_factory=list)
    logins: list = field(default_factory=list)  # (mechanism, login) of every AUTH the server was sent
    controller: Controller | None = None
    tls: ssl.SSLContext | None = None

    def start(self, port: int = 0) -> "SmtpReceiver":
        kwargs = {}
        if self.user:
            def authenticate(server, session, envelope, mechanism, auth_data):
                self.logins.append((mechanism, getattr(auth_data, "login", b"").decode()))
                ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == self.user \
                    and auth_data.password.decode() == self.password
                return AuthResult(success=ok, handled=False)  # a refusal answers 535, as a real server does
            kwargs = {"authenticator": authenticate, "auth_require_tls": self.tls is not None}
        if self.tls is not None:
            kwargs.update(tls_context=self.tls, require_starttls=True)
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
