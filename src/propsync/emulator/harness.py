"""`Emulator`: start the local org over HTTPS in a background thread (tests,
benchmarks, `propsync demo`) or in the foreground (`propsync emulator serve`).

    with Emulator.start(tmp_path / "org", latency_ms=100) as emu:
        sf = Salesforce(instance_url=emu.instance_url, session_id=emu.access_token,
                        session=emu.session())

A throwaway CA (trustme) is made at each start; its PEM is `emu.ca_file`.
`<data_dir>/connection.json` (mode 0600) tells a separately started client where
the server is and how to log in.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any

import requests

from propsync.emulator.bulk import Jobs
from propsync.emulator.knobs import Knobs
from propsync.emulator.org import (
    INTEGRATION_USER,
    INTEGRATION_USERNAME,
    WORKFLOW_USER,
    Org,
)
from propsync.emulator.workflow import WorkflowTimer, apply_due


class EmulatorBusy(Exception):
    """A live emulator serves the data folder that was to be emptied."""


class Emulator:
    """A running emulated org. Build it with `Emulator.start(...)`; stop with `stop()`
    or by leaving a `with` block."""

    def __init__(self, data_dir: Path, org: Org, server: Any, thread: threading.Thread | None,
                 ca_file: Path, port: int) -> None:  # fmt: skip
        self.data_dir = data_dir
        self.org = org
        self._server = server
        self._thread = thread
        self.ca_file = str(ca_file)
        self.port = port
        self.instance_url = f"https://127.0.0.1:{port}"
        self.client_id = org.client_id
        self.client_secret = org.client_secret
        self.username = INTEGRATION_USERNAME
        self.password = org.password
        self.security_token = org.security_token
        self.integration_user_id = INTEGRATION_USER
        self.workflow_user_id = WORKFLOW_USER
        self.access_token = org.issue_token(INTEGRATION_USER)
        self._stopped = False

    # lifecycle --------------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        data_dir: Path | str,
        *,
        port: int = 0,
        latency_ms: float = 0,
        workflow_delay_s: float = 2.0,
        workflow_enabled: bool = True,
        daily_api_limit: int = 1_000_000,
        token_ttl_s: float = 7200,
        foreground: bool = False,
        **knobs: Any,
    ) -> Emulator:
        """Start the server; returns once it accepts HTTPS connections (or, with
        `foreground=True`, prepares it for `serve_forever()`). Extra keyword
        arguments are knobs (see `propsync.emulator.knobs.Knobs`)."""
        # heavy drivers (trustme, uvicorn, and starlette under app): imported on first use
        import trustme
        import uvicorn

        from propsync.emulator.app import create_app

        if foreground:
            _exit_on_sigterm()
        data_dir = Path(data_dir)
        k = Knobs().updated(
            latency_ms=latency_ms, workflow_delay_s=workflow_delay_s,
            workflow_enabled=workflow_enabled, daily_api_limit=daily_api_limit,
            token_ttl_s=token_ttl_s, **knobs,
        )  # fmt: skip
        org = Org(data_dir, k)
        os.chmod(data_dir / "org.sqlite", 0o600)  # holds the client secret and tokens
        tls = data_dir / "tls"
        tls.mkdir(exist_ok=True)
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        ca_file = tls / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        server_pem = tls / "server.pem"
        cert.private_key_and_cert_chain_pem.write_to_path(str(server_pem))
        os.chmod(server_pem, 0o600)

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(2048)
        sock.set_inheritable(True)
        actual_port = sock.getsockname()[1]
        org.instance_url = f"https://127.0.0.1:{actual_port}"

        jobs = Jobs(org)
        timer = WorkflowTimer(org.store, WORKFLOW_USER)
        app = create_app(org, jobs)
        config = uvicorn.Config(
            app, ssl_certfile=str(server_pem), log_level="warning", access_log=False,
            lifespan="off", timeout_keep_alive=30, limit_concurrency=None,
        )  # fmt: skip
        server = _quick_stop_server(uvicorn)(config)
        server._emu_extras = (jobs, timer, sock)
        jobs.start()
        timer.start()
        thread = None
        if not foreground:
            thread = threading.Thread(
                target=server.run, kwargs={"sockets": [sock]}, name="emulator-http", daemon=True
            )
            thread.start()
            deadline = time.time() + 10
            while not server.started:
                if not thread.is_alive() or time.time() > deadline:
                    raise RuntimeError("the emulator's HTTPS server did not start")
                time.sleep(0.005)
        emu = cls(data_dir, org, server, thread, ca_file, actual_port)
        emu._write_connection()
        return emu

    def serve_forever(self) -> None:
        """Run in the calling thread until SIGINT/SIGTERM (uvicorn handles both), then
        stop the workers and remove connection.json."""
        _, _, sock = self._server._emu_extras
        try:
            self._server.run(sockets=[sock])
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            self._shutdown_workers()

    def stop(self) -> None:
        """Stop serving, finish background workers; the data folder stays."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._shutdown_workers()

    def _shutdown_workers(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        jobs, timer, sock = self._server._emu_extras
        timer.stop()
        jobs.stop()
        self.org.store.close()
        with contextlib.suppress(OSError):
            sock.close()
        conn = self.data_dir / "connection.json"
        try:
            doc = json.loads(conn.read_text())
            if doc.get("pid") == os.getpid() and doc.get("instance_url") == self.instance_url:
                conn.unlink()
        except (OSError, ValueError):
            pass

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _write_connection(self) -> None:
        doc = {
            "instance_url": self.instance_url,
            "ca_file": self.ca_file,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "username": self.username,
            "password": self.password,
            "security_token": self.security_token,
            "pid": os.getpid(),
        }
        path = self.data_dir / "connection.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(doc, fh, indent=2)
        os.chmod(path, 0o600)

    # control ----------------------------------------------------------------------------

    def set_knobs(self, **knobs: Any) -> Knobs:
        """Change server-wide knobs now; ValueError on an unknown knob."""
        return self.org.box.set(**knobs)

    @property
    def knobs(self) -> Knobs:
        return self.org.knobs

    def usage(self) -> dict[str, Any]:
        """API calls counted today: {"total": n, "by_endpoint": {...}, "max": limit}."""
        return self.org.usage()

    def reset_usage(self) -> None:
        self.org.store.reset_usage()

    def run_workflow(self) -> int:
        """Apply due workflow events now; returns how many records were updated."""
        return apply_due(self.org.store, WORKFLOW_USER)

    def session(self) -> Any:
        """A requests.Session trusting the emulator's CA.

        `trust_env` is off because requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE
        override `Session.verify`; with it on, the emulator's CA would be ignored."""
        s = requests.Session()
        s.verify = self.ca_file
        s.trust_env = False
        return s

    @property
    def jwt_private_key_file(self) -> str:
        """A PEM private key whose public key the org trusts for JWT bearer logins
        (made on first use, kept in `<data_dir>/jwt-client/`)."""
        # heavy driver: imported on first use
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key_dir = self.data_dir / "jwt-client"
        private = key_dir / "private_key.pem"
        if not private.exists():
            key_dir.mkdir(exist_ok=True)
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
            trusted = self.data_dir / "jwt"
            trusted.mkdir(exist_ok=True)
            (trusted / "client.pem").write_bytes(
                key.public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
            )
        return str(private)


def _exit_on_sigterm() -> None:
    """SIGTERM becomes SystemExit(0), so a foreground server cleans up on the way out;
    uvicorn, while serving, handles the signal itself and then re-raises it here."""

    def _exit(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _exit)


def _quick_stop_server(uvicorn: Any) -> Any:
    class QuickStopServer(uvicorn.Server):
        """Aborts open connections at shutdown: a TLS close otherwise waits for each
        idle keep-alive client's close_notify, which an idle client never sends."""

        async def shutdown(self, sockets: Any = None) -> None:
            for conn in list(self.server_state.connections):
                transport = getattr(conn, "transport", None)
                if transport is not None:
                    transport.abort()
            await super().shutdown(sockets)

    return QuickStopServer


def read_connection(data_dir: Path | str) -> dict[str, Any]:
    """The connection.json of an emulator serving `data_dir` (FileNotFoundError if none)."""
    return dict(json.loads((Path(data_dir) / "connection.json").read_text()))


def reset_data(data_dir: Path | str) -> None:
    """Empty an emulator's data folder (records, jobs, tokens, CA) so the next start is a
    fresh org. Raises EmulatorBusy while a live server is serving the folder."""
    folder = Path(data_dir)
    try:
        pid = int(read_connection(folder).get("pid") or 0)
    except (FileNotFoundError, ValueError):
        pid = 0
    if pid and pid != os.getpid() and _alive(pid):
        raise EmulatorBusy(f"an emulator (pid {pid}) is serving {folder}; stop it first")
    if folder.exists():
        shutil.rmtree(folder)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
