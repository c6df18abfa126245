"""The generator's scenario, written to PostgreSQL and to a DuckDB file, extracts to
the same engine tables by both paths (ADBC and ATTACH)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from propsync.engines.duckdb import DuckDBEngine
from propsync.generate import generate
from propsync.sources.embedded import extract_duckdb
from propsync.sources.postgres import extract_tables
from propsync.sources.tables import TABLES


def test_both_paths_agree_on_the_generated_scenario(tmp_path: Path, pg_dsn: str) -> None:
    now = datetime(2026, 11, 1, 12, tzinfo=UTC)
    generate(2_000, 11, rds_target=pg_dsn, out_dir=tmp_path / "pg", now=now)
    file = tmp_path / "rds.duckdb"
    generate(2_000, 11, rds_target=f"duckdb:{file}", out_dir=tmp_path / "file", now=now)

    from_pg, from_file = DuckDBEngine(), DuckDBEngine()
    pg_stats = extract_tables(pg_dsn, from_pg)
    file_stats = extract_duckdb(file, from_file)
    for name, spec in TABLES.items():
        assert pg_stats.tables[name].rows_read == file_stats.tables[name].rows_read > 0
        order = ", ".join(spec.primary_key)
        assert from_pg.arrow(f"SELECT * FROM {name} ORDER BY {order}").equals(
            from_file.arrow(f"SELECT * FROM {name} ORDER BY {order}")
        ), name
    # The scenario's hard cases made the trip: over-long names, non-ASCII, NULL sfdc_ids.
    assert from_pg.scalar("SELECT count(*) FROM properties WHERE length(name) > 80") > 0
    assert from_pg.scalar("SELECT count(*) FROM properties WHERE sfdc_id IS NULL") > 0
    assert from_pg.scalar("SELECT count(*) FROM properties WHERE strlen(name) > length(name)") > 0
