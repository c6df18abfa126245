"""Extraction from the real PostgreSQL into a real DuckDB engine."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from propsync import sources
from propsync.engines.duckdb import DuckDBEngine
from propsync.errors import ConfigError, SourceError
from propsync.sources.postgres import extract_tables
from propsync.sources.tables import TABLES
from propsync.workspace import Workspace

from .conftest import LONG_NAME, pg_workspace


def _norm(value: Any) -> Any:
    # A TIMESTAMP without time zone in the source is taken as UTC.
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def source_rows(dsn: str, table: str) -> list[tuple[Any, ...]]:
    spec = TABLES[table]
    cols = ", ".join(
        f"{c.name}::{c.pg_type}" if c.pg_type == "text" else c.name for c in spec.columns
    )
    order = ", ".join(spec.primary_key)
    with psycopg.connect(dsn) as con:
        con.execute("SET TIME ZONE 'UTC'")
        rows = con.execute(f"SELECT {cols} FROM {table} ORDER BY {order}").fetchall()
    return [tuple(_norm(v) for v in row) for row in rows]


def engine_rows(engine: DuckDBEngine, table: str) -> list[tuple[Any, ...]]:
    spec = TABLES[table]
    cols = ", ".join(f'"{c}"' for c in spec.column_names)
    return engine.rows(f"SELECT {cols} FROM {table} ORDER BY {', '.join(spec.primary_key)}")


def assert_same(dsn: str, engine: DuckDBEngine) -> None:
    for table in TABLES:
        assert engine_rows(engine, table) == source_rows(dsn, table), table


def test_full_extract_keeps_nulls_time_zones_and_text(rds_dsn: str) -> None:
    engine = DuckDBEngine()
    stats = extract_tables(rds_dsn, engine)
    assert_same(rds_dsn, engine)
    assert stats.mode == "full"
    assert {t: s.rows_read for t, s in stats.tables.items()} == {
        t: len(source_rows(rds_dsn, t)) for t in TABLES
    }
    # The engine types are the contract's, whatever the source declared (enum, char(2)).
    types = dict(
        engine.rows(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'properties'"
        )
    )
    assert types["status"] == "VARCHAR" and types["created_at"] == "TIMESTAMP WITH TIME ZONE"
    row = engine.dicts("SELECT * FROM properties WHERE id = 10")[0]
    # 10:00 at +05:30 is 04:30 UTC: the same instant, not the same wall clock.
    assert row["created_at"] == datetime(2024, 3, 10, 4, 30, tzinfo=UTC)
    assert row["city"] == "Zürich"
    assert engine.scalar("SELECT name FROM properties WHERE id = 11") == LONG_NAME
    assert engine.scalar("SELECT length(name) FROM properties WHERE id = 11") == 81
    assert engine.scalar("SELECT sfdc_id FROM properties WHERE id = 11") == " a01Dn00000HHUan "
    assert (
        engine.scalar(
            "SELECT count(*) FROM properties WHERE id = 12 AND name IS NULL "
            "AND status IS NULL AND created_at IS NULL AND deleted_at IS NULL"
        )
        == 1
    )
    assert engine.scalar("SELECT name FROM companies WHERE id = 1") == "Société Générale — 東京"
    assert (
        engine.scalar(
            "SELECT enabled FROM property_features WHERE property_id = 11 "
            "AND feature = 'payroll_linking'"
        )
        is None
    )


def _changed_since(dsn: str, table: str, watermark: datetime) -> int:
    with psycopg.connect(dsn) as con:
        con.execute("SET TIME ZONE 'UTC'")  # naive timestamps in the source are UTC
        row = con.execute(
            f"SELECT count(*) FROM {table} WHERE updated_at >= %s OR updated_at IS NULL",
            [watermark],
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_incremental_reads_only_changed_rows(rds_dsn: str) -> None:
    engine = DuckDBEngine()
    first = extract_tables(rds_dsn, engine, full=False)
    assert first.tables["properties"].mode == "full"
    assert first.tables["properties"].reason == "first extraction"
    wm = first.tables["properties"].watermark
    assert wm is not None
    later = wm + timedelta(hours=1)
    with psycopg.connect(dsn := rds_dsn, autocommit=True) as con:
        # an update, an insert, a soft delete, a feature change and a hard delete
        con.execute("UPDATE properties SET city = 'Genève', updated_at = %s WHERE id = 14", [later])
        con.execute(
            "INSERT INTO properties (id, name, status, created_at, updated_at) "
            "VALUES (15, 'Nouveau', 'ACTIVE', %s, %s)",
            [later, later],
        )
        con.execute(
            "UPDATE properties SET status = 'DISABLED', deleted_at = %s, "
            "updated_at = %s WHERE id = 10",
            [later, later],
        )
        con.execute(
            "UPDATE property_features SET enabled = true, updated_at = %s "
            "WHERE property_id = 11 AND feature = 'identity_verification'",
            [later],
        )
        con.execute("DELETE FROM property_features WHERE property_id = 14")
        # companies.updated_at is a TIMESTAMP without time zone (taken as UTC)
        con.execute(
            "UPDATE companies SET name = 'Ørsted Renamed', "
            "updated_at = '2024-06-01 00:00:00' WHERE id = 3"
        )
    expected_props = _changed_since(dsn, "properties", wm)
    second = extract_tables(dsn, engine, full=False)
    props = second.tables["properties"]
    assert props.mode == "incremental"
    assert props.rows_read == expected_props
    # Changed rows (14, 15, 10), the row still at the old watermark (11), and the
    # row with no updated_at (12): not the untouched row 13.
    assert props.rows_read == 5 and props.rows_total == 6
    assert second.tables["property_features"].rows_deleted == 1
    assert second.tables["property_features"].rows_read == _changed_since(
        dsn,
        "property_features",
        first.tables["property_features"].watermark,  # type: ignore[arg-type]
    )
    companies = second.tables["companies"]
    assert companies.mode == "incremental"
    assert companies.rows_read == 2  # company 3 (changed) and 2 (no updated_at), not 1
    assert companies.watermark == datetime(2024, 6, 1, tzinfo=UTC)
    assert_same(dsn, engine)
    assert engine.scalar("SELECT deleted_at FROM properties WHERE id = 10") == later
    assert props.watermark == later

    # A row that commits late with exactly the watermark's timestamp is still picked up.
    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute(
            "INSERT INTO properties (id, name, updated_at) VALUES (16, 'Late', %s)", [later]
        )
    third = extract_tables(dsn, engine, full=False)
    assert third.tables["properties"].rows_read == _changed_since(dsn, "properties", later)
    assert_same(dsn, engine)

    # Nothing changed: only the rows at the watermark (and without one) are read again.
    fourth = extract_tables(dsn, engine, full=False)
    assert fourth.tables["properties"].rows_read == third.tables["properties"].rows_read
    assert fourth.tables["companies"].rows_read == _changed_since(
        dsn,
        "companies",
        fourth.tables["companies"].previous_watermark,  # type: ignore[arg-type]
    )


def test_schema_change_or_new_source_forces_full(rds_dsn: str) -> None:
    engine = DuckDBEngine()
    extract_tables(rds_dsn, engine)
    with psycopg.connect(rds_dsn, autocommit=True) as con:
        con.execute("ALTER TABLE properties ALTER COLUMN short_id TYPE varchar(40)")
    stats = extract_tables(rds_dsn, engine, full=False)
    assert stats.tables["properties"].mode == "full"
    assert stats.tables["properties"].reason == "source schema changed"
    assert stats.tables["companies"].mode == "incremental"
    # The watermark belongs to the table's data: drop the table and it is full again.
    engine.execute("DROP TABLE companies")
    again = extract_tables(rds_dsn, engine, full=False)
    assert again.tables["companies"].mode == "full"
    assert_same(rds_dsn, engine)


def test_future_dated_row_cannot_freeze_the_watermark(rds_dsn: str) -> None:
    engine = DuckDBEngine()
    with psycopg.connect(rds_dsn, autocommit=True) as con:
        con.execute("UPDATE properties SET updated_at = '2999-01-01+00' WHERE id = 13")
    stats = extract_tables(rds_dsn, engine, full=False)
    wm = stats.tables["properties"].watermark
    assert wm is not None and wm < datetime(2999, 1, 1, tzinfo=UTC)
    with psycopg.connect(rds_dsn, autocommit=True) as con:
        con.execute("UPDATE properties SET name = 'Renamed', updated_at = now() WHERE id = 14")
    extract_tables(rds_dsn, engine, full=False)
    assert engine.scalar("SELECT name FROM properties WHERE id = 14") == "Renamed"


def test_missing_table_and_column_are_named(pg_dsn: str, rds_dsn: str) -> None:
    engine = DuckDBEngine()
    with psycopg.connect(rds_dsn, autocommit=True) as con:
        con.execute("ALTER TABLE properties DROP COLUMN sfdc_id")
    with pytest.raises(SourceError, match=r"public\.properties has no column sfdc_id"):
        extract_tables(rds_dsn, engine)
    with psycopg.connect(rds_dsn, autocommit=True) as con:
        con.execute("DROP TABLE property_features")
    with pytest.raises(SourceError, match=r"public\.property_features does not exist"):
        extract_tables(rds_dsn, engine, tables=["property_features"])
    with pytest.raises(SourceError, match=r"source table elsewhere\.companies does not exist"):
        extract_tables(rds_dsn, engine, schema="elsewhere", tables=["companies"])


def test_bad_dsn_is_a_source_error_without_the_password() -> None:
    dsn = "postgresql://postgres:Sup3rS3cret@127.0.0.1:5432/no_such_database_here"
    with pytest.raises(SourceError) as info:
        extract_tables(dsn, DuckDBEngine())
    message = str(info.value)
    assert "no_such_database_here" in message
    assert "Sup3rS3cret" not in message
    with pytest.raises(SourceError, match="cannot connect"):
        extract_tables("postgresql://postgres:pw%40x@127.0.0.1:1/db", DuckDBEngine())


def test_extract_through_the_workspace(pg_ws: Workspace, rds_dsn: str) -> None:
    seen: list[tuple[str, int]] = []
    stats = sources.extract(
        pg_ws.config.source,
        pg_ws.engine(),
        root=pg_ws.root,
        progress=lambda t, n: seen.append((t, n)),
    )
    assert stats.mode == "full"
    assert {t for t, _ in seen} == set(TABLES)
    engine = pg_ws.engine()
    assert isinstance(engine, DuckDBEngine)
    assert_same(rds_dsn, engine)
    again = sources.extract(pg_ws.config.source, pg_ws.engine(), root=pg_ws.root)
    assert again.mode == "incremental"
    assert (
        sources.extract(pg_ws.config.source, pg_ws.engine(), root=pg_ws.root, full=True).mode
        == "full"
    )
    doc = again.to_dict()
    assert doc["tables"]["properties"]["mode"] == "incremental"
    assert "postgres@" not in doc["source"]


def test_incremental_off_in_config_means_full(
    tmp_path: Path, rds_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROPSYNC_TEST_RDS_DSN_2", rds_dsn)
    with pg_workspace(tmp_path, "PROPSYNC_TEST_RDS_DSN_2", incremental=False) as ws:
        sources.extract(ws.config.source, ws.engine(), root=ws.root)
        assert sources.extract(ws.config.source, ws.engine(), root=ws.root).mode == "full"


def test_unset_dsn_variable_is_a_config_error(tmp_path: Path) -> None:
    with (
        pg_workspace(tmp_path, "PROPSYNC_NO_SUCH_VARIABLE") as ws,
        pytest.raises(ConfigError, match="PROPSYNC_NO_SUCH_VARIABLE"),
    ):
        sources.extract(ws.config.source, ws.engine(), root=ws.root)


@pytest.mark.slow
def test_100k_rows_stream_in_bulk(pg_dsn: str) -> None:
    from .conftest import SCHEMA_SQL

    n = 100_000
    with psycopg.connect(pg_dsn, autocommit=True) as con:
        con.execute(SCHEMA_SQL)
        con.execute(
            "INSERT INTO companies SELECT g, 'Company ' || g, NULL, now(), now() "
            "FROM generate_series(1, 1000) g"
        )
        con.execute(
            "INSERT INTO properties SELECT g, 'Property ñ ' || g, 'S' || g, 1 + g %% 1000, "
            "g || ' Main St', 'City', 'CA', '90210', "
            "(CASE WHEN g %% 10 = 0 THEN 'INACTIVE' ELSE 'ACTIVE' END)::property_status, "
            "NULL, now() - g * interval '1 minute', now(), NULL "
            "FROM generate_series(1, %s) g",
            [n],
        )
        con.execute(
            "INSERT INTO property_features SELECT g, f, g %% 3 = 0, now() "
            "FROM generate_series(1, %s) g, "
            "unnest(ARRAY['identity_verification', 'bank_linking']) f",
            [n],
        )
    engine = DuckDBEngine()
    started = time.perf_counter()
    stats = extract_tables(pg_dsn, engine)
    elapsed = time.perf_counter() - started
    assert stats.tables["properties"].rows_read == n
    assert stats.tables["property_features"].rows_read == 2 * n
    assert engine.scalar("SELECT count(*) FROM properties WHERE status = 'INACTIVE'") == n // 10
    assert engine.scalar("SELECT count(*) FILTER (WHERE enabled) FROM property_features") == (
        2 * (n // 3)
    )
    assert elapsed < 10, f"{3 * n} rows took {elapsed:.1f} s"
