"""The PostgreSQL target (real server), the engine loader and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import psycopg
import pytest
from click.testing import CliRunner

from propsync.cli import main
from propsync.engines.duckdb import DuckDBEngine
from propsync.fields import ENGINE_TABLE, FIELDS
from propsync.generate import GroundTruth, generate, load_salesforce_state_into_engine
from propsync.generate.special import NON_ASCII_NAME
from tests.generate.conftest import NOW

_COLUMNS = "id, name, short_id, company_id, address, city, state, zip, status, sfdc_id, " \
    "created_at, updated_at, deleted_at"  # fmt: skip


@pytest.mark.postgres
def test_postgresql_target_matches_the_duckdb_target(pg_dsn: str, tmp_path: Path) -> None:
    pg = generate(500, 3, rds_target=pg_dsn, out_dir=tmp_path / "pg", now=NOW)
    dk = generate(
        500, 3, rds_target=f"duckdb:{tmp_path / 'd.duckdb'}", out_dir=tmp_path / "dk", now=NOW
    )
    assert pg.counts == dk.counts
    with psycopg.connect(pg_dsn) as con:
        con.execute("SET TimeZone = 'UTC'")
        pg_rows = con.execute(f"SELECT {_COLUMNS} FROM properties ORDER BY id").fetchall()
        pg_feats = con.execute(
            "SELECT property_id, feature, enabled, updated_at FROM property_features "
            "ORDER BY property_id, feature"
        ).fetchall()
        pg_companies = con.execute("SELECT * FROM companies ORDER BY id").fetchall()
        types = dict(
            con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = 'properties'"
            ).fetchall()
        )
        keys = {
            row[0]
            for row in con.execute(
                "SELECT tc.table_name || ':' || tc.constraint_type "
                "FROM information_schema.table_constraints tc"
            ).fetchall()
        }
    con2 = duckdb.connect(str(tmp_path / "d.duckdb"), read_only=True)
    dk_rows = con2.sql(f"SELECT {_COLUMNS} FROM properties ORDER BY id").fetchall()
    dk_feats = con2.sql(
        "SELECT property_id, feature, enabled, updated_at FROM property_features "
        "ORDER BY property_id, feature"
    ).fetchall()
    dk_companies = con2.sql("SELECT * FROM companies ORDER BY id").fetchall()
    con2.close()
    # NULLs, '' vs NULL, whitespace, non-ASCII and time zones survive COPY unchanged
    assert pg_rows == dk_rows
    assert pg_feats == dk_feats
    assert pg_companies == dk_companies
    names = {r[1] for r in pg_rows}
    assert NON_ASCII_NAME in names and None in names
    assert "" in {r[9] for r in pg_rows} and None in {r[9] for r in pg_rows}
    assert types["id"] == "bigint" and types["created_at"] == "timestamp with time zone"
    assert {"companies:PRIMARY KEY", "properties:PRIMARY KEY", "property_features:UNIQUE"} <= keys


@pytest.mark.postgres
def test_postgresql_target_replaces_previous_tables(pg_dsn: str, tmp_path: Path) -> None:
    generate(500, 3, rds_target=pg_dsn, out_dir=tmp_path, now=NOW)
    t = generate(400, 3, rds_target=pg_dsn, out_dir=tmp_path, now=NOW)
    with psycopg.connect(pg_dsn) as con:
        row = con.execute("SELECT count(*) FROM properties").fetchone()
    assert row is not None and row[0] == t["properties_total"]


def test_load_salesforce_state_into_engine(default_scenario: GroundTruth, tmp_path: Path) -> None:
    engine = DuckDBEngine(tmp_path / "engine.duckdb")
    try:
        loaded = load_salesforce_state_into_engine(engine, default_scenario.salesforce_parquet)
        assert loaded == default_scenario["sf_records_total"]
        columns = [r[0] for r in engine.rows(f"DESCRIBE {ENGINE_TABLE}")]
        assert columns == [f.column for f in FIELDS]
        live = engine.scalar(f"SELECT count(*) FROM {ENGINE_TABLE} WHERE NOT is_deleted")
        assert live == loaded - default_scenario["deleted_sf_records"]
        pk = engine.rows(
            f"SELECT idv_enabled_c, bank_linking_enabled_c, active_property_count_c "
            f"FROM {ENGINE_TABLE} WHERE sf_property_id_c = 'a01Dn00000HHUanIAH' ORDER BY id"
        )
        assert pk == [(True, False, None), (False, True, 1)]
        # loading twice replaces, never appends to the old state
        assert (
            load_salesforce_state_into_engine(engine, default_scenario.salesforce_parquet) == loaded
        )
    finally:
        engine.close()


def test_cli_generate_json(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["generate", "--scale", "500", "--seed", "9", "--to", f"duckdb:{tmp_path / 'r.duckdb'}",
         "--out", str(tmp_path / "gen"), "--now", NOW.isoformat(), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    on_disk = json.loads((tmp_path / "gen" / "ground_truth.json").read_text("utf-8"))
    assert doc["properties_to_create"] == on_disk["properties_to_create"] > 0
    assert doc["paths"]["salesforce_parquet"] == str(
        tmp_path / "gen" / "salesforce_product_property.parquet"
    )


def test_cli_generate_in_a_workspace_uses_its_config(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["init", str(tmp_path)]).exit_code == 0
    config = tmp_path / "propsync.toml"
    config.write_text(config.read_text().replace("scale = 9061", "scale = 300"))
    result = runner.invoke(main, ["--config", str(config), "generate", "--now", NOW.isoformat()])
    assert result.exit_code == 0, result.output
    assert "Park Kennedy" in result.output
    truth = json.loads((tmp_path / "generated" / "ground_truth.json").read_text("utf-8"))
    assert truth["scale"] == 300 and truth["seed"] == 7
    assert (tmp_path / "rds.duckdb").is_file()


def test_cli_errors_are_usage_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no propsync.toml here
    runner = CliRunner()
    no_target = runner.invoke(main, ["generate", "--scale", "500"])
    assert no_target.exit_code == 64 and "--to is required" in no_target.output
    bad_now = runner.invoke(
        main, ["generate", "--to", "duckdb:x.duckdb", "--now", "2026-01-01T00:00:00"]
    )
    assert bad_now.exit_code == 64 and "time zone" in bad_now.output
    small = runner.invoke(main, ["generate", "--to", "duckdb:x.duckdb", "--scale", "50"])
    assert small.exit_code == 64 and "too small" in small.output
