"""Fail loudly when a service the test suite needs is missing.

The suite never skips: a missing PostgreSQL server, Chromium or Java is an error, here and in
CI, with one line each. If the local PostgreSQL cluster is installed but stopped, start it
(the machine's own service). `scripts/setup_system.sh` installs Chromium and Java.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import socket
import subprocess
import sys
import time

HOST, PORT = "127.0.0.1", 5432
CHROMIUM = "/usr/bin/chromium"
JAVA_MIN = 17


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


def _java_major() -> int | None:
    """The major version `java -version` reports, or None without a working java."""
    java = shutil.which("java")
    if java is None:
        return None
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)', out.stderr + out.stdout)
    return int(match.group(1)) if match else None


def _chromium_version() -> str | None:
    if not os.access(CHROMIUM, os.X_OK):
        return None
    try:
        out = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def main() -> int:
    failures = 0
    if not _reachable():
        _try_start()
    if _reachable():
        print(f"services: PostgreSQL on {HOST}:{PORT} is up")
    else:
        print(f"FATAL: PostgreSQL is not reachable on {HOST}:{PORT}; the tests need it.")
        failures += 1
    chromium = _chromium_version()
    if chromium:
        print(f"services: {chromium} at {CHROMIUM}")
    else:
        print(
            f"FATAL: Chromium is missing or broken at {CHROMIUM}; the browser tests need it "
            "(scripts/setup_system.sh installs Debian's chromium)."
        )
        failures += 1
    java = _java_major()
    if java is not None and java >= JAVA_MIN:
        print(f"services: Java {java} for Spark")
    else:
        found = "no java on PATH" if java is None else f"found Java {java}"
        print(
            f"FATAL: Java {JAVA_MIN}+ is missing ({found}); the Spark tests need it "
            "(scripts/setup_system.sh installs Debian's openjdk-17-jre-headless)."
        )
        failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
