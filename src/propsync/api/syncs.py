"""The library surface for runs: the plan, Sync A and B, run history, rollback."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from propsync.errors import UsageError
from propsync.rollout import rollback as _rollback
from propsync.rollout.rollback import RollbackResults
from propsync.state import RunRecord
from propsync.sync import history
from propsync.sync.lifecycle import Progress
from propsync.sync.plan import SyncPlan, Which
from propsync.sync.prepare import plan as _plan
from propsync.sync.run import RunResult, run_sync

if TYPE_CHECKING:
    pass

from propsync.api._common import Ids, WorkspaceLike, _opened

# --- syncs ------------------------------------------------------------------------------


def plan(
    workspace: WorkspaceLike = None,
    which: Which = "all",
    *,
    pilot: str | None = None,
    ids: Ids = None,
    refresh_inputs: bool = True,
    full_refresh: bool = False,
    retry_failed: bool = False,
    progress: Progress | None = None,
) -> SyncPlan:
    """The dry run: refresh the inputs and say what a sync would write, field by field.
    `refresh_inputs=False` plans over the tables already in the engine; `full_refresh`
    reads every Salesforce record instead of those changed since the last extract."""
    with _opened(workspace) as ws:
        return _plan(
            ws,
            which,
            pilot=pilot,
            ids=ids,
            refresh_inputs=refresh_inputs,
            full_refresh=full_refresh,
            retry_failed=retry_failed,
            progress=progress,
        )


def sync(
    workspace: WorkspaceLike = None,
    which: Which = "all",
    *,
    pilot: str | None = None,
    ids: Ids = None,
    dry_run: bool = False,
    force: bool = False,
    refresh_inputs: bool = True,
    full_refresh: bool = False,
    retry_failed: bool = False,
    progress: Progress | None = None,
) -> RunResult:
    """Run Sync A, Sync B or both; `result.exit_code` is what cron should see. `force`
    runs Sync B past the change guardrail; `retry_failed` resends records Salesforce
    rejected before with the same values."""
    with _opened(workspace) as ws:
        return run_sync(
            ws,
            which,
            pilot=pilot,
            ids=ids,
            dry_run=dry_run,
            force=force,
            refresh_inputs=refresh_inputs,
            full_refresh=full_refresh,
            retry_failed=retry_failed,
            progress=progress,
        )


def runs(workspace: WorkspaceLike = None, *, limit: int = 50) -> list[RunRecord]:
    """Recent runs, newest first, each in its latest state."""
    with _opened(workspace) as ws:
        return ws.state().runs.recent(limit)


def run_details(
    workspace: WorkspaceLike, run_id: str, *, limit: int = history.RECORDS_LISTED
) -> history.RunReport:
    """One run: its counts, error codes summarised, and per-record outcomes."""
    with _opened(workspace) as ws:
        return history.run_report(ws, run_id, limit=limit)


# --- rollback ---------------------------------------------------------------------------


def rollback(
    workspace: WorkspaceLike = None,
    run_ids: Sequence[str] = (),
    *,
    pilot: str | None = None,
    dry_run: bool = False,
    delete_created: bool = False,
    force: bool = False,
    progress: Progress | None = None,
) -> RollbackResults:
    """Roll back runs from their audit before-images, newest first, each as a rollback
    run of its own: `run_ids`, and every run recorded with pilot name `pilot`. Records a
    run created are deleted only with `delete_created`; fields changed since the run
    are left alone (reported as drift) unless `force`; `dry_run` writes nothing.
    `result.exit_code` is the worst rollback's (0 / 1 / 2)."""
    with _opened(workspace) as ws:
        ids = list(run_ids)
        if pilot is not None:
            ids += _rollback.pilot_runs(ws, pilot)
        if not ids:
            raise UsageError("rollback: name a RUN_ID or --pilot NAME")
        return _rollback.rollback_runs(
            ws,
            ids,
            dry_run=dry_run,
            delete_created=delete_created,
            force=force,
            progress=progress,
        )
