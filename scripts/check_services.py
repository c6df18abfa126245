"""Fail loudly when a service the test suite needs is missing.

The suite never skips PostgreSQL tests: a missing server is an error, here and in CI.
If the local cluster is installed but stopped, start it (the machine's own service).
"""

from __future__ import annotations

import glob
import os
import socket
import subprocess
import sys
import time

HOST, PORT = "127.0.0.1", 5432


def _reachable() -> bool:
    try:
        with socket.create_connection((HOST, PORT), timeout=2):
            return True
    except OSError:
        return False


def _try_start() -> None:
    versions = sorted(os.path.basename(p) for p in glob.glob("/etc/postgresql/*"))
    if not versions:
        return
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"],
        check=False,
        capture_output=True,
    )
    for _ in range(30):
        if _reachable():
            return
        time.sleep(1)


def main() -> int:
    if not _reachable():
        _try_start()
    if not _reachable():
        print(f"FATAL: PostgreSQL is not reachable on {HOST}:{PORT}; the tests need it.")
        return 1
    print(f"services: PostgreSQL on {HOST}:{PORT} is up")
    return 0


if __name__ == "__main__":
    sys.exit(main())
