"""The PostgreSQL source has a connect deadline (libpq's `connect_timeout`, added to a
DSN that names none) and, when configured, a statement deadline: against a socket on
127.0.0.1 that accepts and never answers, extraction fails within the deadline plus a
margin with a SourceError naming host and port and never the password."""

from __future__ import annotations

import time
from pathlib import Path

import adbc_driver_postgresql.dbapi  # noqa: F401  (loaded here: the clocks time the connect)
import psycopg
import pytest

from propsync import sources
from propsync.engines.duckdb import DuckDBEngine
from propsync.errors import SourceError
from propsync.sources.dsn import with_timeouts
from propsync.sources.postgres import extract_tables
from propsync.workspace import Workspace
from tests.salesforce.loopback import HOST, clock, silent_server

PASSWORD = "Sil3ntPw-never-in-messages"


@pytest.mark.parametrize("form", ["url", "key=value"])
def test_a_silent_source_fails_within_connect_timeout(form: str) -> None:
    with silent_server() as port:
        if form == "url":
            dsn = f"postgresql://reader:{PASSWORD}@{HOST}:{port}/product"
        else:
            dsn = f"host={HOST} port={port} dbname=product user=reader password={PASSWORD}"
        with clock() as elapsed, pytest.raises(SourceError) as info:
            extract_tables(dsn, DuckDBEngine(), connect_timeout_s=2)
        took = elapsed()
    print(
        f"\nextraction ({form} DSN), silent source, connect_timeout 2 s: failed after {took:.2f}s"
    )
    assert 1.9 <= took < 4.0
    message = str(info.value)
    assert HOST in message and str(port) in message
    assert "timeout expired" in message and "connect_timeout_s = 2" in message
    assert PASSWORD not in message


def test_the_configured_connect_timeout_reaches_the_dsn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "propsync.toml").write_text(
        '[source]\nkind = "postgresql"\ndsn_env = "PROPSYNC_TEST_SILENT_DSN"\n'
        "connect_timeout_s = 3\n",
        encoding="utf-8",
    )
    with silent_server() as port, Workspace.open(tmp_path / "propsync.toml") as ws:
        dsn = f"postgresql://reader:{PASSWORD}@{HOST}:{port}/product"
        monkeypatch.setenv("PROPSYNC_TEST_SILENT_DSN", dsn)
        with clock() as elapsed, pytest.raises(SourceError, match=f"{HOST}:{port}") as info:
            sources.extract(ws.config.source, ws.engine(), root=ws.root)
        took = elapsed()
    print(f"\nsources.extract, silent source, connect_timeout_s = 3: failed after {took:.2f}s")
    assert 2.9 <= took < 5.0
    assert PASSWORD not in str(info.value)


def test_psycopg_takes_the_same_dsn() -> None:
    with silent_server() as port:
        dsn = with_timeouts(
            f"postgresql://reader:{PASSWORD}@{HOST}:{port}/product", connect_timeout_s=2
        )
        with clock() as elapsed, pytest.raises(psycopg.OperationalError):
            psycopg.connect(dsn)
        took = elapsed()
    print(f"\npsycopg, silent source, connect_timeout 2 s: failed after {took:.2f}s")
    assert 1.9 <= took < 4.0


def test_a_statement_past_statement_timeout_fails(rds_dsn: str) -> None:
    # Another session holds the table, so the extraction's read waits on its lock.
    with psycopg.connect(rds_dsn) as holder:
        holder.execute("LOCK TABLE properties IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        with pytest.raises(SourceError, match="statement timeout"):
            extract_tables(rds_dsn, DuckDBEngine(), statement_timeout_s=1)
        took = time.monotonic() - started
        holder.rollback()
    print(f"\nextraction behind a lock, statement_timeout 1 s: failed after {took:.2f}s")
    assert 0.9 <= took < 3.0
    assert extract_tables(rds_dsn, DuckDBEngine(), statement_timeout_s=30).tables


def test_with_timeouts_adds_only_what_the_dsn_lacks() -> None:
    url = "postgresql://u:p%40ss@db.internal:5432/product"
    assert with_timeouts(url, connect_timeout_s=10) == f"{url}?connect_timeout=10"
    assert (
        with_timeouts(f"{url}?sslmode=require", connect_timeout_s=10, statement_timeout_s=90)
        == f"{url}?sslmode=require&connect_timeout=10&options=-c%20statement_timeout%3D90000"
    )
    own = f"{url}?connect_timeout=3&options=-c%20search_path%3Dx"
    assert with_timeouts(own, connect_timeout_s=10, statement_timeout_s=90) == own
    assert with_timeouts("postgresql:///product", connect_timeout_s=5) == (
        "postgresql:///product?connect_timeout=5"
    )
    kv = "host=db.internal dbname=product password='a b'"
    assert with_timeouts(kv, connect_timeout_s=10, statement_timeout_s=1.5) == (
        f"{kv} connect_timeout=10 options='-c statement_timeout=1500'"
    )
    assert with_timeouts(f"{kv} connect_timeout=4", connect_timeout_s=10) == (
        f"{kv} connect_timeout=4"
    )
    assert with_timeouts(url, connect_timeout_s=None) == url
