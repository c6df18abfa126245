"""`Emulator`: start the local org over HTTPS in a background thread (tests,
benchmarks, `propsync demo`) or in the foreground (`propsync emulator serve`).

    with Emulator.start(tmp_path / "org", latency_ms=100) as emu:
        sf = Salesforce(instance_url=emu.instance_url, session_id=emu.access_token,
                        session=emu.session())

A throwaway CA (trustme) is made at each start; its PEM is `emu.ca_file`.
`<data_dir>/connection.json` (mode 0600) tells a separately started client where
the server is and how to log in, and holds the admin token (`emu.admin_token`, new
at each start) that the `/_emulator/` endpoints and the `X-Emulator-Knobs` header
require in `X-Emulator-Admin-Token` (see `propsync.emulator.app`). Every file the
server writes under the data folder is 0600 and every folder 0700.
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
from propsync.emulator.files import private_dir, write_private
from propsync.emulator.knobs import ADMIN_HEADER, Knobs
from propsync.emulator.org import (
    INTEGRATION_USER,
    INTEGRATION_USERNAME,
    WORKFLOW_USER,
    Org,
)
from propsync.emulator.server import MAX_REQUEST_HEAD, protocol_class, server_class
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
        self.admin_token = org.admin_token
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
        tls = private_dir(data_dir / "tls")
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        ca_file = tls / "ca.pem"
        write_private(ca_file, ca.cert_pem.bytes())
        server_pem = tls / "server.pem"
        write_private(server_pem, cert.private_key_and_cert_chain_pem.bytes())

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
            http=protocol_class(), h11_max_incomplete_event_size=MAX_REQUEST_HEAD,
        )  # fmt: skip
        server = server_class(uvicorn)(config)
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
            "admin_token": self.admin_token,
            "pid": os.getpid(),
        }
        write_private(self.data_dir / "connection.json", json.dumps(doc, indent=2))

    # control ----------------------------------------------------------------------------

    # In process these act on the org directly, so they need no token; an HTTP caller
    # sends `admin_headers()` to `/_emulator/knobs` and `/_emulator/usage`.

    def set_knobs(self, **knobs: Any) -> Knobs:
        """Change server-wide knobs now; ValueError on an unknown knob or a value out of
        its range (see `propsync.emulator.knobs.check`)."""
        return self.org.box.set(**knobs)

    def admin_headers(self) -> dict[str, str]:
        """The header that authorises a request to `/_emulator/...` or one carrying
        `X-Emulator-Knobs`."""
        return {ADMIN_HEADER: self.admin_token}

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
            private_dir(key_dir)
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            write_private(private, pem)
            trusted = private_dir(self.data_dir / "jwt")
            write_private(
                trusted / "client.pem",
                key.public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                ),
            )
        return str(private)


def _exit_on_sigterm() -> None:
    """SIGTERM becomes SystemExit(0), so a foreground server cleans up on the way out;
    uvicorn, while serving, handles the signal itself and then re-raises it here."""

    def _exit(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _exit)


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
