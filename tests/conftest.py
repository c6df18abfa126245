"""Shared fixtures. PostgreSQL tests use the real server on 127.0.0.1:5432; each test
makes and drops its own database. A missing server fails the test, never skips it.

Platform fixtures, each started once per test run on first use and stopped at the end
(`scripts/setup_system.sh`, run by `make test`, installs Chromium and Java):

- `spark`: a local SparkSession, `local[2]`, in this process.
- `spark_connect_url`: `sc://127.0.0.1:PORT` of a Spark Connect server that this run starts
  from the pip pyspark package's own jars, as a separate JVM; `spark_connect` is a client
  session on it.
- `browser`: one headless Chromium (Debian's /usr/bin/chromium) driven by Playwright;
  `page` gives each test a fresh context and page, `screenshot(page)` saves
  test-artifacts/<test name>.png.

A missing Java or Chromium fails the test with a clear message; nothing here skips.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
JAVA_MIN = 17
SPARK_MASTER = "local[2]"
# Small on purpose: the suite's Spark data is fixture-sized, and 2 cores are shared.
SPARK_CONF = {
    "spark.driver.memory": "1g",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.sources.partitionOverwriteMode": "static",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
}
CONNECT_SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
CONNECT_STARTED = re.compile(r"Spark Connect server started at: 127\.0\.0\.1:(\d+)")
CONNECT_START_TIMEOUT_S = 240.0

# Seconds each platform fixture took to start, printed at the end of the run.
PLATFORM_TIMINGS: dict[str, float] = {}


@pytest.fixture
def pg_dsn() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test; dropped afterwards."""
    import psycopg

    name = f"propsync_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if PLATFORM_TIMINGS:
        parts = ", ".join(f"{name} {secs:.1f} s" for name, secs in PLATFORM_TIMINGS.items())
        terminalreporter.write_line(f"platform start-up: {parts}")


# --- Java and Spark ---------------------------------------------------------------------


def _require_java() -> str:
    """The java executable (17+), or fail the test saying what is missing."""
    java = shutil.which("java")
    if java is None:
        pytest.fail(
            f"Java {JAVA_MIN}+ is missing (no java on PATH); Spark needs it. "
            "Run scripts/setup_system.sh (Debian's openjdk-17-jre-headless).",
            pytrace=False,
        )
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)', out.stderr + out.stdout)
    if match is None or int(match.group(1)) < JAVA_MIN:
        pytest.fail(
            f"Java {JAVA_MIN}+ is needed for Spark; `java -version` says: "
            f"{(out.stderr or out.stdout).strip()[:200]!r}",
            pytrace=False,
        )
    return java


def _log4j2_config(directory: Path, root_level: str) -> Path:
    """A log4j2 configuration: root at `root_level`, the Connect server's start line kept."""
    path = directory / f"log4j2-{root_level}.properties"
    path.write_text(
        f"rootLogger.level = {root_level}\n"
        "rootLogger.appenderRef.stderr.ref = console\n"
        "appender.console.type = Console\n"
        "appender.console.name = console\n"
        "appender.console.target = SYSTEM_ERR\n"
        "appender.console.layout.type = PatternLayout\n"
        "appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n\n"
        "logger.connect.name = org.apache.spark.sql.connect.service.SparkConnectServer\n"
        "logger.connect.level = info\n"
    )
    return path


def _spark_conf(work: Path, root_level: str) -> dict[str, str]:
    log_config = _log4j2_config(work, root_level)
    return {
        **SPARK_CONF,
        "spark.sql.warehouse.dir": str(work / "warehouse"),
        "spark.local.dir": str(work / "local"),
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile=file:{log_config}",
    }


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    """The run's one local SparkSession (`local[2]`, UTC, UI off, quiet), started on first use."""
    _require_java()
    from pyspark.sql import SparkSession  # heavy driver: imported on first use

    work = tmp_path_factory.mktemp("spark")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    started = time.perf_counter()
    builder = SparkSession.builder.master(SPARK_MASTER).appName("propsync-tests")
    for key, value in _spark_conf(work, "error").items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    session.sql("SELECT 1").collect()  # the first query pays the JIT warm-up, not the test
    PLATFORM_TIMINGS["spark session"] = time.perf_counter() - started
    try:
        yield session
    finally:
        session.stop()


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM if pytest dies, so no server outlives the run."""
    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="session")
def spark_connect_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`sc://127.0.0.1:PORT` of the run's one Spark Connect server, started on first use.

    The server is what `$SPARK_HOME/sbin/start-connect-server.sh --wait` runs, without the
    daemon's pid file: `spark-submit --class SparkConnectServer` from the pip package's
    own jars (`spark-connect_2.13-*.jar` ships in pyspark/jars), on an ephemeral port of
    127.0.0.1 read back from its log. No auth token: it listens on loopback only.
    """
    _require_java()
    from pyspark.find_spark_home import _find_spark_home  # heavy driver: on first use

    spark_home = _find_spark_home()
    work = tmp_path_factory.mktemp("spark-connect")
    log = work / "server.log"
    conf = {
        **_spark_conf(work, "warn"),
        "spark.connect.grpc.binding.address": "127.0.0.1",
        "spark.connect.grpc.binding.port": "0",
    }
    command = [
        os.path.join(spark_home, "bin", "spark-submit"),
        "--class",
        CONNECT_SERVER_CLASS,
        "--name",
        "propsync-tests-connect",
        "--master",
        SPARK_MASTER,
        "--driver-memory",
        conf.pop("spark.driver.memory"),
        "--driver-java-options",
        conf.pop("spark.driver.extraJavaOptions"),
    ]
    for key, value in conf.items():
        command += ["--conf", f"{key}={value}"]
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("SPARK_REMOTE", "SPARK_LOCAL_REMOTE", "SPARK_CONNECT_MODE_ENABLED")
    }
    env |= {
        "SPARK_HOME": spark_home,
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
    }
    started = time.perf_counter()
    with log.open("wb") as out:
        server = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=work,
            preexec_fn=_die_with_parent,
        )
    try:
        port = None
        while port is None:
            match = CONNECT_STARTED.search(log.read_text(errors="replace"))
            if match:
                port = int(match.group(1))
            elif server.poll() is not None:
                pytest.fail(
                    f"Spark Connect server exited with {server.returncode}:\n{_tail(log)}",
                    pytrace=False,
                )
            elif time.perf_counter() - started > CONNECT_START_TIMEOUT_S:
                pytest.fail(
                    f"Spark Connect server not up in {CONNECT_START_TIMEOUT_S:.0f} s:\n"
                    f"{_tail(log)}",
                    pytrace=False,
                )
            else:
                time.sleep(0.2)
        PLATFORM_TIMINGS["spark connect server"] = time.perf_counter() - started
        yield f"sc://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="session")
def spark_connect(spark_connect_url: str) -> Iterator[SparkSession]:
    """A Spark Connect client session on the run's server.

    Built with the Connect module's own builder: `pyspark.sql.SparkSession.builder.remote()`
    would set SPARK_CONNECT_MODE_ENABLED for the whole process, which turns
    `pyspark.sql.functions` and the classic `spark` fixture's SparkContext creation over to
    Connect. SQL text and session methods work on both sessions side by side.
    """
    # heavy driver: imported on first use
    from pyspark.sql.connect.session import SparkSession as ConnectSession

    started = time.perf_counter()
    session = ConnectSession.builder.remote(spark_connect_url).create()
    session.sql("SELECT 1").collect()
    PLATFORM_TIMINGS["spark connect client"] = time.perf_counter() - started
    try:
        yield session
    finally:
        session.stop()


# --- Chromium ---------------------------------------------------------------------------


def _require_chromium() -> None:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"Chromium is missing at {CHROMIUM}; the browser tests need it. "
            "Run scripts/setup_system.sh (Debian's chromium); Playwright never downloads one.",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """The run's one headless Chromium, Debian's, driven by Playwright.

    `launch()` gives the browser a fresh temporary user-data dir and deletes it on close.
    """
    _require_chromium()
    started = time.perf_counter()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        PLATFORM_TIMINGS["browser"] = time.perf_counter() - started
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context and page for one test (1280x800), closed afterwards."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        yield context.new_page()
    finally:
        context.close()


def artifact_path(nodeid: str, suffix: str = "", ext: str = "png") -> Path:
    """test-artifacts/<test file>__<test name>[-suffix].<ext>, safe as a file name."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid.replace("::", "__").replace(".py", ""))
    if suffix:
        stem += "-" + re.sub(r"[^A-Za-z0-9_.-]+", "_", suffix)
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / f"{stem.strip('_')}.{ext}"


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[..., Path]:
    """`screenshot(page, name="")` saves a full-page PNG named after the test; returns it."""

    def save(target: Page, name: str = "") -> Path:
        path = artifact_path(request.node.nodeid, name)
        target.screenshot(path=str(path), full_page=True)
        return path

    return save
