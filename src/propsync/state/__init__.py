"""The state store: sync_runs, property_sync_audit_log, sync_bulk_jobs,
sync_queue_measurements, pilot_sets, signoffs and alert_incidents. Append-only,
versioned by numbered migrations. One repository per concern behind one facade:

    store = ws.state()                 # open_state(config, engine=..., locks_dir=...)
    run_id = store.runs.start("create", pilot="pilot-1")
    with store.lock("sync-create", run_id):
        store.audit.append([AuditRecord(run_id, "CREATE", "SUCCESS", rds_property_id=1, ...)])
    store.runs.finish(run_id, "SUCCEEDED", counts={"attempted": 1, ...}, api_calls=3)
    store.runs.get(run_id).status      # reads return dataclasses (RunRecord, AuditEntry, ...)

`[state] kind = "duckdb"` (default) keeps the tables in the engine's DuckDB file;
`kind = "postgresql"` (DSN from the variable `dsn_env`) shares them between
processes, and `store.mirror_to(engine)` copies what the monitoring views read.
"""

from __future__ import annotations

from pathlib import Path

from propsync.config import StateConfig, secret
from propsync.engines import Engine, Tracer
from propsync.errors import ConfigError
from propsync.state.audit import AuditEntry, AuditImage, AuditSummary, AuditWindow
from propsync.state.bulk_jobs import BulkJob
from propsync.state.duckdb_store import DuckDBBackend
from propsync.state.incidents import Incident, IncidentEvent
from propsync.state.locks import LockHolder
from propsync.state.migrations import AppliedMigration
from propsync.state.pilot_validations import BaselineRecord, Preflight, Validation
from propsync.state.pilots import PilotMember, Signoff
from propsync.state.postgres_store import PostgresBackend
from propsync.state.queue_sizes import QueueMeasurement
from propsync.state.records import (
    AUDIT_STATUSES,
    OPERATIONS,
    RUN_STATUSES,
    SYNCS,
    AuditRecord,
    new_run_id,
)
from propsync.state.runs import RunRecord
from propsync.state.store import StateStore

__all__ = [
    "AUDIT_STATUSES",
    "OPERATIONS",
    "RUN_STATUSES",
    "SYNCS",
    "AppliedMigration",
    "AuditEntry",
    "AuditImage",
    "AuditRecord",
    "AuditSummary",
    "AuditWindow",
    "BaselineRecord",
    "BulkJob",
    "Incident",
    "IncidentEvent",
    "LockHolder",
    "PilotMember",
    "Preflight",
    "QueueMeasurement",
    "RunRecord",
    "Signoff",
    "StateStore",
    "Validation",
    "new_run_id",
    "open_state",
]


def open_state(
    config: StateConfig,
    *,
    engine: Engine | None,
    locks_dir: Path,
    tracer: Tracer | None = None,
) -> StateStore:
    """The state store `config` names, migrated. DuckDB keeps it in `engine` (which must
    be the DuckDB engine; its run locks are files under `locks_dir`); PostgreSQL opens
    its own connection (DSN from the variable `config.dsn_env`; `engine` is unused).
    The caller closes it (`Workspace.state()` opens one per workspace)."""
    if config.kind == "postgresql":
        dsn = secret(config.dsn_env, what="[state] PostgreSQL DSN")
        store = StateStore(PostgresBackend(dsn, tracer=tracer))
    else:
        if engine is None or engine.dialect != "duckdb":
            dialect = "no" if engine is None else f"the {engine.dialect}"
            raise ConfigError(
                '[state] kind = "duckdb" keeps the state in the DuckDB engine file; '
                f'with {dialect} engine use kind = "postgresql"'
            )
        store = StateStore(DuckDBBackend(engine, locks_dir))
    try:
        store.migrate()
    except BaseException:
        store.close()
        raise
    return store
