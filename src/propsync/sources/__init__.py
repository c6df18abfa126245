"""Sources: where the RDS tables come from (PostgreSQL, or the embedded DuckDB file).

`extract(ws)` copies `companies`, `properties` and `property_features` from the
configured source into the workspace engine, with the columns and types of
docs/ARCHITECTURE.md. PostgreSQL is read in bulk (Arrow over ADBC) and
incrementally on `updated_at` where it is safe; the embedded DuckDB file is
always copied in full.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from propsync.sources.stats import ExtractStats, Progress, TableStats
from propsync.sources.tables import TABLES, TableSpec

if TYPE_CHECKING:
    from propsync.workspace import Workspace

__all__ = ["TABLES", "ExtractStats", "Progress", "TableSpec", "TableStats", "extract"]


def extract(ws: Workspace, *, full: bool = False, progress: Progress | None = None) -> ExtractStats:
    """Copy the RDS tables from the workspace's configured source into its engine.

    `full=True` forces a full read; otherwise PostgreSQL sources with
    `incremental = true` re-read only changed rows. Raises SourceError (bad DSN,
    missing table or column, unreadable file) or ConfigError (DSN variable unset).
    """
    from propsync.config import DuckDBSource, secret

    source = ws.config.source
    engine = ws.engine()
    if isinstance(source, DuckDBSource):
        from propsync.sources.embedded import extract_duckdb

        return extract_duckdb(ws.path(source.path), engine, progress=progress)

    from propsync.sources.postgres import extract_tables

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
