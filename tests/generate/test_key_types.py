"""`generate --key-type`: the plan's scenario keyed on integers, UUIDs or text, into
DuckDB and PostgreSQL. The figures come out of the ground truth and out of the views over
the extracted tables, and are the same for every key type."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest

from propsync import models
from propsync.engines.duckdb import DuckDBEngine
from propsync.generate import GroundTruth, generate, load_salesforce_state_into_engine
from propsync.generate.keys import KeyMap, uuid_key
from propsync.sources.embedded import extract_duckdb
from propsync.sources.postgres import extract_tables

from .conftest import NOW

# The plan's figures, as the ground truth names them.
FIGURES = (
    "properties_to_create",
    "properties_to_create_with_features",
    "properties_to_update",
    "properties_sharing_sfdc_id",
    "feature_mismatches",
)
VIEWS = {
    "properties_to_create": "SELECT COUNT(*) FROM properties_to_create",
    "properties_to_create_with_features": (
        "SELECT COUNT(*) FROM properties_to_create WHERE has_any_features_enabled"
    ),
    "properties_to_update": "SELECT COUNT(*) FROM properties_to_update",
    "properties_sharing_sfdc_id": (
        "SELECT COALESCE(SUM(active_property_count), 0) FROM properties_aggregated_by_sfdc_id"
        " WHERE is_multi_property"
    ),
    "feature_mismatches": (
        "SELECT COUNT(*) FROM properties_to_update WHERE idv_enabled_changed"
        " OR bank_linking_enabled_changed OR payroll_enabled_changed"
        " OR income_insights_enabled_changed"
    ),
    "update_records_with_changes": (
        "SELECT COUNT(*) FROM properties_to_update WHERE has_changes_since_last_sync"
    ),
}


def _figures(engine: DuckDBEngine, truth: GroundTruth) -> dict[str, Any]:
    load_salesforce_state_into_engine(engine, truth.salesforce_parquet)
    models.build(engine, strict=False)
    views = {name: int(engine.scalar(sql)) for name, sql in VIEWS.items()}
    exceptions = dict(
        engine.rows("SELECT exception_type, COUNT(*) FROM sync_exceptions GROUP BY 1")
    )
    return {"views": views, "exceptions": exceptions}


@pytest.mark.parametrize("target", ["duckdb", "postgresql"])
def test_every_key_type_gives_the_same_scenario(
    tmp_path: Path, request: pytest.FixtureRequest, target: str
) -> None:
    dsn = request.getfixturevalue("pg_dsn") if target == "postgresql" else None
    seen: dict[str, dict[str, Any]] = {}
    for key_type in ("int", "uuid", "text"):
        out = tmp_path / key_type
        rds = f"duckdb:{out / 'rds.duckdb'}" if dsn is None else dsn
        truth = generate(rds_target=rds, out_dir=out, now=NOW, key_type=key_type)
        assert truth["key_type"] == key_type
        engine = DuckDBEngine()
        if dsn is None:
            extract_duckdb(out / "rds.duckdb", engine)
        else:
            extract_tables(dsn, engine)
        found = _figures(engine, truth)
        # The views agree with the ground truth, counted independently from the rows.
        for name, value in found["views"].items():
            assert value == truth[name], (key_type, name)
        seen[key_type] = {"truth": {n: truth[n] for n in FIGURES}, **found}
        sample = engine.scalar("SELECT id FROM properties WHERE id IS NOT NULL LIMIT 1")
        assert sample == KeyMap(key_type).property_key(int(_int_of(sample, key_type)))
        engine.close()
    assert seen["uuid"] == seen["int"] and seen["text"] == seen["int"]


def _int_of(key: str, key_type: str) -> int:
    """The integer id a key was made from (inverting KeyMap for the check above)."""
    if key_type == "int":
        return int(key)
    if key_type == "text":
        return int(key.removeprefix("P"))
    for n in range(1, 2_000_000):  # the special rows are small, the bulk from 100,001
        if uuid_key(n) == key:
            return n
    raise AssertionError(f"{key} is no generated UUID")


def test_key_columns_are_typed_in_the_targets(tmp_path: Path, pg_dsn: str) -> None:
    generate(500, rds_target=pg_dsn, out_dir=tmp_path / "pg", now=NOW, key_type="uuid")
    with psycopg.connect(pg_dsn) as con:
        types = dict(
            con.execute(
                "SELECT table_name || '.' || column_name, data_type"
                " FROM information_schema.columns"
                " WHERE column_name IN ('id', 'company_id', 'property_id')"
            ).fetchall()
        )
    assert types == {
        "companies.id": "bigint",
        "properties.id": "uuid",
        "properties.company_id": "bigint",
        "property_features.property_id": "uuid",
    }
    path = tmp_path / "rds.duckdb"
    generate(500, rds_target=f"duckdb:{path}", out_dir=tmp_path / "d", now=NOW, key_type="text")
    con = duckdb.connect(str(path), read_only=True)
    try:
        types = dict(
            con.execute(
                "SELECT table_name || '.' || column_name, data_type"
                " FROM information_schema.columns"
                " WHERE column_name IN ('id', 'company_id', 'property_id')"
            ).fetchall()
        )
        assert set(types.values()) == {"VARCHAR"}
        assert con.execute("SELECT min(company_id) FROM properties").fetchone()[0].startswith("c")
    finally:
        con.close()


def test_key_map_keeps_the_duplicate_rule() -> None:
    uuid_map, text_map = KeyMap("uuid"), KeyMap("text")
    key = uuid_map.property_key(22)
    assert key == key.lower() != key.upper()  # a letter in every generated UUID
    assert uuid_map.external_id("22") == key
    assert uuid_map.external_id("0022") == key + " "
    assert uuid_map.external_id(" 22 ") == f" {key} "
    assert uuid_map.external_id("not-a-key") == "not-a-key"
    assert text_map.external_id("0022") == "P22 "
    assert text_map.company_text("7") == "c7"
    assert len({uuid_map.property_key(n) for n in range(10_000)}) == 10_000
    with pytest.raises(ValueError, match="key type 'guid'"):
        KeyMap("guid")
