"""Sources: where the RDS tables come from (PostgreSQL, or the embedded DuckDB file).

`extract(source_config, engine, root=...)` copies `companies`, `properties` and
`property_features` from the configured source into the engine, with the columns and types of
docs/ARCHITECTURE.md. PostgreSQL is read in bulk (Arrow over ADBC) and
incrementally on `updated_at` where it is safe; the embedded DuckDB file is
always copied in full.
"""

from __future__ import annotations

from pathlib import Path

from propsync.config import DuckDBSource, PostgresSource, secret
from propsync.engines import Engine
from propsync.sources.embedded import extract_duckdb
from propsync.sources.postgres import extract_tables
from propsync.sources.stats import ExtractStats, Progress, TableStats
from propsync.sources.tables import TABLES, TableSpec

__all__ = ["TABLES", "ExtractStats", "Progress", "TableSpec", "TableStats", "extract"]


def extract(
    source: DuckDBSource | PostgresSource,
    engine: Engine,
    *,
    root: Path,
    full: bool = False,
    progress: Progress | None = None,
) -> ExtractStats:
    """Copy the RDS tables from the configured `[source]` into the engine; a relative
    DuckDB path is read from `root` (the workspace folder).

    `full=True` forces a full read; otherwise PostgreSQL sources with
    `incremental = true` re-read only changed rows. Raises SourceError (bad DSN,
    missing table or column, unreadable file) or ConfigError (DSN variable unset).
    """
    if isinstance(source, DuckDBSource):
        path = Path(source.path)
        return extract_duckdb(
            path if path.is_absolute() else root / path, engine, progress=progress
        )
    dsn = secret(source.dsn_env, what="[source] PostgreSQL DSN")
    return extract_tables(
        dsn,
        engine,
        schema=source.schema_name,
        full=full or not source.incremental,
        progress=progress,
        connect_timeout_s=source.connect_timeout_s,
        statement_timeout_s=source.statement_timeout_s,
    )
