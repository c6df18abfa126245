"""The state store: one facade over the repositories of one backend."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from propsync.state.audit import Audit
from propsync.state.backend import Backend
from propsync.state.bulk_jobs import BulkJobs
from propsync.state.incidents import Incidents
from propsync.state.pilot_validations import PilotValidations
from propsync.state.pilots import Pilots, Signoffs
from propsync.state.queue_sizes import QueueSizes
from propsync.state.runs import Runs

if TYPE_CHECKING:
    from propsync.engines import Engine
    from propsync.state.locks import LockHolder
    from propsync.state.migrations import AppliedMigration


class StateStore:
    """The state tables of one workspace, by concern. Open with `open_state`.

    `runs` (sync_runs), `audit` (property_sync_audit_log), `bulk_jobs`
    (sync_bulk_jobs), `queue_sizes` (sync_queue_measurements), `pilots` (pilot_sets),
    `signoffs` (signoffs), `pilot_validations` (pilot_preflights, pilot_baselines,
    pilot_validations), `incidents` (alert_incidents); every read returns dataclasses.
    `backend` gives the primitives the repositories are written on (for tests and new
    repositories)."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.runs = Runs(backend)
        self.audit = Audit(backend)
        self.bulk_jobs = BulkJobs(backend)
        self.queue_sizes = QueueSizes(backend)
        self.pilots = Pilots(backend)
        self.signoffs = Signoffs(backend)
        self.pilot_validations = PilotValidations(backend)
        self.incidents = Incidents(backend)

    @property
    def kind(self) -> str:
        """The backend: "duckdb" or "postgresql"."""
        return self.backend.kind

    def lock(self, name: str, run_id: str) -> AbstractContextManager[LockHolder]:
        """Hold the named lock (e.g. "sync-create") for a run; raises LockHeld naming the
        holder. A killed holder's lock is freed by the OS or the database."""
        return self.backend.lock(name, run_id)

    def migrate(self) -> list[str]:
        """Apply pending migrations; return the names applied (none when up to date)."""
        return self.backend.migrate()

    def migrations(self) -> list[AppliedMigration]:
        """The migrations applied so far, oldest first."""
        return self.backend.migrations()

    def mirror_to(self, engine: Engine) -> dict[str, int]:
        """Copy the tables the monitoring views read into the engine; return row counts
        (a no-op where the state already lives in the engine)."""
        return self.backend.mirror_to(engine)

    def close(self) -> None:
        """Release the backend's connections."""
        self.backend.close()
