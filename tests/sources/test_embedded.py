"""The embedded source: a DuckDB file ATTACHed read-only and copied with SQL."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from propsync import sources
from propsync.errors import SourceError
from propsync.workspace import Workspace, init

from .conftest import LONG_NAME


def _make_file(path: Path, *, with_features: bool = True) -> None:
    con = duckdb.connect(str(path))
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        "CREATE TABLE companies (id INTEGER, name VARCHAR, created_at TIMESTAMP, "
        "updated_at TIMESTAMPTZ, extra VARCHAR)"
    )
    con.execute(
        "INSERT INTO companies VALUES (1, 'Ünïcode Co', '2024-01-01 00:00:00', "
        "'2024-01-02 00:00:00+03', 'ignored'), (2, NULL, NULL, NULL, NULL)"
    )
    con.execute(
        "CREATE TABLE properties (id BIGINT, name VARCHAR, short_id VARCHAR, "
        "company_id BIGINT, address VARCHAR, city VARCHAR, state VARCHAR, zip VARCHAR, "
        "status VARCHAR, sfdc_id VARCHAR, created_at TIMESTAMPTZ, "
        "updated_at TIMESTAMPTZ, deleted_at TIMESTAMPTZ)"
    )
    con.execute(
        "INSERT INTO properties VALUES "
        "(1, ?, 'S1', 1, NULL, 'Zürich', NULL, NULL, 'ACTIVE', 'a01Dn00000HHUanIAH', "
        "'2024-03-10 10:00:00+05:30', '2024-03-10 10:00:00+05:30', NULL), "
        "(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
        [LONG_NAME],
    )
    if with_features:
        con.execute(
            "CREATE TABLE property_features (property_id BIGINT, feature VARCHAR, "
            "enabled BOOLEAN, updated_at TIMESTAMPTZ)"
        )
        con.execute("INSERT INTO property_features VALUES (1, 'bank_linking', true, NULL)")
    con.close()


def _workspace(tmp_path: Path) -> Workspace:
    init(tmp_path)
    return Workspace.open(tmp_path / "propsync.toml")


def test_embedded_copy(tmp_path: Path) -> None:
    _make_file(tmp_path / "rds.duckdb")
    with _workspace(tmp_path) as ws:
        stats = sources.extract(ws.config.source, ws.engine(), root=ws.root)
        engine = ws.engine()
        assert stats.mode == "full"
        assert {t: s.rows_read for t, s in stats.tables.items()} == {
            "companies": 2,
            "properties": 2,
            "property_features": 1,
        }
        assert engine.scalar("SELECT name FROM properties WHERE id = 1") == LONG_NAME
        assert str(engine.scalar("SELECT created_at FROM properties WHERE id = 1")) == (
            "2024-03-10 04:30:00+00:00"
        )
        # INTEGER ids become text (R9), TIMESTAMP becomes TIMESTAMPTZ (as UTC), extras are
        # dropped.
        cols = engine.rows(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'companies' ORDER BY ordinal_position"
        )
        assert cols == [
            ("id", "VARCHAR"),
            ("name", "VARCHAR"),
            ("created_at", "TIMESTAMP WITH TIME ZONE"),
            ("updated_at", "TIMESTAMP WITH TIME ZONE"),
        ]
        # The source stays readable by others: it was attached read-only and detached.
        assert (
            engine.scalar(
                "SELECT count(*) FROM duckdb_databases() WHERE database_name = '_propsync_rds'"
            )
            == 0
        )
    duckdb.connect(str(tmp_path / "rds.duckdb")).close()


def test_embedded_errors_name_file_and_table(tmp_path: Path) -> None:
    with _workspace(tmp_path) as ws:
        with pytest.raises(SourceError, match=r"does not exist .*propsync generate"):
            sources.extract(ws.config.source, ws.engine(), root=ws.root)
        _make_file(tmp_path / "rds.duckdb", with_features=False)
        with pytest.raises(SourceError, match="source table property_features does not exist"):
            sources.extract(ws.config.source, ws.engine(), root=ws.root)
