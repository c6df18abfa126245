"""The test platform itself: local Spark, a local Spark Connect server, headless Chromium.

Each of these proves a fixture of tests/conftest.py works end to end, so that a broken
platform shows up here, by name, rather than as a puzzle in the tests that build on it.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.conftest import ARTIFACTS

ROWS = [(1, "a", 10.5), (2, "b", None), (3, "a", 4.5), (4, "c", 1.0), (5, "b", 2.0)]
SCHEMA = "id INT, k STRING, v DOUBLE"
QUERY = """
    SELECT k, count(*) AS n, sum(id) AS ids, sum(v) AS v, count(v) AS with_v
    FROM platform_rows
    GROUP BY k
    ORDER BY k
"""
EXPECTED = [
    ("a", 2, 4, 15.0, 2),
    ("b", 2, 7, 2.0, 1),
    ("c", 1, 4, 1.0, 1),
]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _run_query(session: Any) -> list[tuple[Any, ...]]:
    session.createDataFrame(ROWS, SCHEMA).createOrReplaceTempView("platform_rows")
    return [tuple(row) for row in session.sql(QUERY).collect()]


@pytest.mark.slow
def test_local_spark_runs_sql_over_a_dataframe(spark: Any) -> None:
    assert spark.sparkContext.master == "local[2]"
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert _run_query(spark) == EXPECTED


@pytest.mark.slow
def test_spark_connect_answers_the_same_query(spark_connect_url: str, spark_connect: Any) -> None:
    assert spark_connect_url.startswith("sc://127.0.0.1:")
    assert type(spark_connect).__module__ == "pyspark.sql.connect.session"
    assert spark_connect.conf.get("spark.sql.session.timeZone") == "UTC"
    assert _run_query(spark_connect) == EXPECTED


@pytest.mark.slow
def test_classic_and_connect_sessions_share_the_process(spark: Any, spark_connect: Any) -> None:
    """Both engines answer in one process, in either order (the parity suite needs this).

    The Connect client is not put in process-wide Connect mode, so `pyspark.sql.functions`
    still builds classic columns; Connect DataFrames take `pyspark.sql.connect.functions`.
    """
    from pyspark.sql import functions as classic_f  # heavy driver: imported on first use
    from pyspark.sql.connect import functions as connect_f  # heavy driver: on first use

    assert _run_query(spark) == _run_query(spark_connect) == EXPECTED
    assert "SPARK_CONNECT_MODE_ENABLED" not in os.environ
    classic = spark.createDataFrame(ROWS, SCHEMA).select((classic_f.col("id") * 2).alias("x"))
    remote = spark_connect.createDataFrame(ROWS, SCHEMA).select(
        (connect_f.col("id") * 2).alias("x")
    )
    assert [r.x for r in classic.collect()] == [r.x for r in remote.collect()] == [2, 4, 6, 8, 10]


@pytest.fixture
def http_site(tmp_path: Path) -> Iterator[str]:
    """A page served over HTTP on an ephemeral 127.0.0.1 port, for the length of one test."""
    (tmp_path / "index.html").write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>propsync platform</title>"
        "</head><body><h1 id='title'>propsync test platform</h1>"
        "<p>Chromium über HTTP on 127.0.0.1 ✓</p>"
        "<table border='1'><tr><th>engine</th><th>state</th></tr>"
        "<tr><td>spark</td><td>up</td></tr></table></body></html>",
        encoding="utf-8",
    )
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_chromium_opens_a_local_page_and_keeps_a_screenshot(
    page: Page, http_site: str, screenshot: Callable[..., Path]
) -> None:
    response = page.goto(http_site)
    assert response is not None and response.status == 200
    assert page.title() == "propsync platform"
    assert page.text_content("#title") == "propsync test platform"

    path = screenshot(page)

    assert path.parent == ARTIFACTS
    assert path.name == (
        "tests_test_platform__test_chromium_opens_a_local_page_and_keeps_a_screenshot.png"
    )
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    width = int.from_bytes(data[16:20], "big")
    height = int.from_bytes(data[20:24], "big")
    assert width == 1280 and height >= 100
