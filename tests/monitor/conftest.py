"""Real local receivers on 127.0.0.1 for the alert channels: an HTTP server standing in
for the Slack webhook and the PagerDuty events endpoint, aiosmtpd for e-mail, and a
socket that accepts connections and never answers."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class HttpReceiver:
    """Answers each POST with the next status of `statuses` (the last one repeats)."""

    statuses: list[int]
    answer: str = "ok"
    requests: list[Received] = field(default_factory=list)
    url: str = ""

    def next_status(self) -> int:
        index = min(len(self.requests) - 1, len(self.statuses) - 1)
        return self.statuses[index]


@pytest.fixture
def http_receiver() -> Iterator[Any]:
    servers: list[ThreadingHTTPServer] = []

    def start(statuses: list[int] | None = None, answer: str = "ok") -> HttpReceiver:
        receiver = HttpReceiver(statuses or [200], answer)
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                with lock:
                    receiver.requests.append(
                        Received(self.path, dict(self.headers.items()), json.loads(raw))
                    )
                    status = receiver.next_status()
                body = receiver.answer.encode() if status < 300 else b"server error"
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        servers.append(server)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        return receiver

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts every connection and never sends or reads a byte."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(sock.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield sock.getsockname()[1]
    sock.shutdown(socket.SHUT_RDWR)
    sock.close()
    for conn in held:
        conn.close()


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.messages.append(message_from_bytes(envelope.content))
        self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
        return "250 OK"


@dataclass
class SmtpServer:
    port: int
    mailbox: Mailbox
    logins: list[str]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[Any]:
    controllers: list[Controller] = []

    def start(login: tuple[str, str] | None = None, **kwargs: Any) -> SmtpServer:
        mailbox = Mailbox()
        logins: list[str] = []

        def authenticator(
            server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
        ) -> AuthResult:
            if (
                login
                and isinstance(data, LoginPassword)
                and (data.login.decode(), data.password.decode()) == login
            ):
                logins.append(data.login.decode())
                return AuthResult(success=True)
            return AuthResult(success=False, handled=False)

        if login:
            kwargs.setdefault("auth_require_tls", False)
            kwargs["authenticator"] = authenticator
            kwargs["auth_required"] = True
        port = free_port()
        controller = Controller(mailbox, hostname="127.0.0.1", port=port, **kwargs)
        controller.start()
        controllers.append(controller)
        return SmtpServer(port, mailbox, logins)

    yield start
    for controller in controllers:
        controller.stop()
