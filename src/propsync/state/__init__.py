"""The state store: sync_runs, property_sync_audit_log, sync_queue_measurements,
pilot_sets and signoffs. Append-only, versioned by numbered migrations.

    store = open_state(ws)             # migrated on open
    run_id = store.start_run("create", pilot="pilot-1")
    with store.lock("sync-create", run_id):
        store.append_audit([AuditRecord(run_id, "CREATE", "SUCCESS", rds_property_id=1, ...)])
    store.finish_run(run_id, "SUCCEEDED", counts={"attempted": 1, ...}, api_calls=3)

`[state] kind = "duckdb"` (default) keeps the tables in the engine's DuckDB file;
`kind = "postgresql"` (DSN from the variable `dsn_env`) shares them between
processes, and `store.mirror_to(engine)` copies what the monitoring views read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from propsync.state.base import StateStore
from propsync.state.records import (
    AUDIT_STATUSES,
    OPERATIONS,
    RUN_STATUSES,
    SYNCS,
    AuditRecord,
    new_run_id,
)

if TYPE_CHECKING:
    from propsync.workspace import Workspace

__all__ = [
    "AUDIT_STATUSES",
    "OPERATIONS",
    "RUN_STATUSES",
    "SYNCS",
    "AuditRecord",
    "StateStore",
    "new_run_id",
    "open_state",
]

_CACHE_KEY = "state"


def open_state(ws: Workspace) -> StateStore:
    """The workspace's state store, migrated; one per workspace (closed by ws.close())."""
    cached = ws._cache.get(_CACHE_KEY)
    if isinstance(cached, StateStore):
        return cached
    store = _open(ws)
    try:
        store.migrate()
    except BaseException:
        store.close()
        raise
    ws._cache[_CACHE_KEY] = store
    return store


def _open(ws: Workspace) -> StateStore:
    from propsync.errors import ConfigError

    if ws.config.state.kind == "postgresql":
        from propsync.config import secret
        from propsync.state.postgres_store import PostgresStateStore

        dsn = secret(ws.config.state.dsn_env, what="[state] PostgreSQL DSN")
        return PostgresStateStore(dsn, tracer=ws.tracer)

    from propsync.engines.duckdb import DuckDBEngine
    from propsync.state.duckdb_store import DuckDBStateStore

    engine = ws.engine()
    if not isinstance(engine, DuckDBEngine):
        raise ConfigError(
            '[state] kind = "duckdb" keeps the state in the DuckDB engine file; '
            f'with the {engine.dialect} engine use kind = "postgresql"'
        )
    return DuckDBStateStore(engine, ws.path("locks"))
