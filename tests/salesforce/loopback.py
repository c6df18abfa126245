"""Servers on 127.0.0.1 that misbehave on purpose, for the deadline tests: one that
accepts TCP connections and never answers, and a small HTTP server whose routes a
test writes (answer after a delay, or send half a body and stall). Nothing here ever
listens on or connects to any other address."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOST = "127.0.0.1"


@contextmanager
def silent_server() -> Iterator[int]:
    """The port of a socket on 127.0.0.1 that accepts every connection and never
    sends a byte (the connections stay open until the block ends)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((HOST, 0))
    listener.listen(128)
    listener.settimeout(0.05)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)

    thread = threading.Thread(target=accept, name="silent-server", daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        listener.close()


@dataclass
class Reply:
    """What a route answers: after `delay_s`; with `stall_after` set, only that many
    bytes of the body are sent and the connection then stays silent."""

    status: int = 200
    body: Any = None  # dict/list: JSON; bytes/str: sent as is
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    stall_after: int | None = None


Route = Callable[[str, str, bytes], Reply]  # (method, path, request body) -> Reply


@dataclass
class FakeServer:
    port: int
    requests: list[tuple[str, str, bytes]]
    release: threading.Event  # set at the end: every stalled or delayed reply gives up

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def seen(self, method: str, path_part: str = "") -> list[tuple[str, str, bytes]]:
        return [r for r in self.requests if r[0] == method and path_part in r[1]]


@contextmanager
def fake_server(route: Route) -> Iterator[FakeServer]:
    """An HTTP/1.1 server on 127.0.0.1 that answers every request with `route`."""
    seen: list[tuple[str, str, bytes]] = []
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            seen.append((self.command, self.path, body))
            reply = route(self.command, self.path, body)
            if reply.delay_s and release.wait(reply.delay_s):
                return
            data = reply.body
            if isinstance(data, (dict, list)):
                data, media = json.dumps(data).encode(), "application/json"
            else:
                data = data.encode() if isinstance(data, str) else (data or b"")
                media = "text/csv"
            self.send_response(reply.status)
            self.send_header("Content-Type", media)
            self.send_header("Content-Length", str(len(data)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if reply.stall_after is None:
                self.wfile.write(data)
                return
            self.wfile.write(data[: reply.stall_after])
            self.wfile.flush()
            release.wait(60)
            self.close_connection = True

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    server = ThreadingHTTPServer((HOST, 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="fake-server", daemon=True)
    thread.start()
    try:
        yield FakeServer(server.server_address[1], seen, release)
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def clock() -> Iterator[Callable[[], float]]:
    """`with clock() as elapsed:` ... `elapsed()` is the seconds since the block began."""
    started = time.monotonic()
    yield lambda: time.monotonic() - started
