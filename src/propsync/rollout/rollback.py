"""Roll back a run from its audit before-images, as a run of its own.

    result = rollback(ws, "20261126T150113123Z-a1b2c3")             # RollbackResult
    result = rollback(ws, run_id, dry_run=True)                      # the preview
    results = rollback_runs(ws, [run_a, run_b], delete_created=True) # newest first
    results = rollback_runs(ws, rollback_pilot_runs(ws, "pilot-1"))

A rollback enters the same recorded-run lifecycle as Sync A and B (`sync-create` and
`sync-update` locks, sync_runs row of kind `rollback`, memory limit, final status) and
writes through the same `Writer` (Bulk API 2.0 at or above `sync.bulk_threshold`
records, sObject Collections below, Bulk jobs journalled). In order: Bulk jobs of
killed runs are reconciled (so their records are audited before being read), the
engine's Salesforce extract is brought up to date from the org (every record changed
since the last extract is read again, so drift by anyone is seen), the inverse plan
is computed (`rollback_plan`: restores, deletes, drift, what is left and why), and the
writes are made, each outcome audited as operation ROLLBACK with `source_run_id` the
run undone; a restore's before image is what Salesforce held, its after image the
restored values, so a rollback can itself be rolled back. `dry_run` records the run
and its plan and writes nothing.

Refused (UsageError, exit 64): an unknown run id, a dry run, a run still RUNNING.
Drift and records left in place do not fail the rollback; they are in its plan.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from propsync.errors import UsageError
from propsync.rollout.rollback_plan import PLAN_TABLE, RollbackPlan, build, stream
from propsync.salesforce.client import SalesforceClient
from propsync.state import RunRecord, StateStore
from propsync.sync.jobs import BulkJournal, reconcile
from propsync.sync.lifecycle import WRITE_MEMORY_LIMIT, QueueCounts, RecordedRun, recorded_run
from propsync.sync.payload import WriteQueue
from propsync.sync.refresh import refresh_salesforce
from propsync.sync.run import JOBS_DIR
from propsync.sync.writer import Writer
from propsync.workspace import Workspace

log = logging.getLogger("propsync.rollout")

KIND = "rollback"
LOCKS = ("sync-create", "sync-update")
QUEUES: tuple[WriteQueue, ...] = ("update", "delete")  # restores, then deletes
Progress = Callable[[str, int, int], None]  # phase ("refresh", "plan", "update", "delete")


@dataclass
class RollbackResult:
    """One rollback run. `status` and `exit_code` as for a sync (0 SUCCEEDED, 1 PARTIAL,
    2 FAILED / ABORTED); drift and records left in place are in `plan`."""

    run_id: str
    source_run_id: str
    status: str
    dry_run: bool
    plan: RollbackPlan
    counts: dict[str, QueueCounts]
    api_calls: int
    duration_s: float
    error: str | None = None
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return {"SUCCEEDED": 0, "PARTIAL": 1}.get(self.status, 2)

    @property
    def restored(self) -> int:
        return self.counts["update"].succeeded

    @property
    def deleted(self) -> int:
        return self.counts["delete"].succeeded

    @property
    def failed(self) -> int:
        return sum(c.failed for c in self.counts.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "source_run_id": self.source_run_id,
            "status": self.status,
            "dry_run": self.dry_run,
            "exit_code": self.exit_code,
            "restored": self.restored,
            "deleted": self.deleted,
            "failed": self.failed,
            "drift": self.plan.drift_count,
            "created_left": self.plan.created_left_count,
            "not_restorable": self.plan.not_restorable_count,
            "api_calls": self.api_calls,
            "duration_s": round(self.duration_s, 3),
            "phases_s": {k: round(v, 3) for k, v in self.phases.items()},
            "error": self.error,
            "counts": {q: asdict(c) for q, c in self.counts.items()},
            "plan": self.plan.to_json(),
        }


@dataclass
class RollbackResults:
    """Rollbacks of several runs (newest first); `exit_code` is the worst of them."""

    results: list[RollbackResult]

    @property
    def exit_code(self) -> int:
        return max((r.exit_code for r in self.results), default=0)

    def to_json(self) -> dict[str, Any]:
        return {"exit_code": self.exit_code, "rollbacks": [r.to_json() for r in self.results]}


def source_run(state: StateStore, run_id: str) -> RunRecord:
    """The run to roll back, or UsageError naming why it cannot be."""
    run = state.runs.get(run_id)
    if run is None:
        raise UsageError(f"rollback {run_id}: no such run (see `propsync runs`)")
    if run.dry_run:
        raise UsageError(f"rollback {run_id}: it was a dry run and wrote nothing")
    if run.status == "RUNNING":
        raise UsageError(f"rollback {run_id}: the run is still RUNNING; wait for it to end")
    return run


def pilot_runs(ws: Workspace, pilot: str) -> list[str]:
    """The runs recorded with pilot name `pilot` that wrote something (rollbacks
    aside), newest first; UsageError when there are none."""
    state = ws.state()
    found = [
        r
        for r in state.audit.runs_with_writes(pilot=pilot)
        if (run := state.runs.get(r)) is not None and run.sync != KIND
    ]
    if not found:
        raise UsageError(
            f"rollback --pilot {pilot}: no run recorded with that pilot wrote anything"
        )
    return found


def rollback(
    ws: Workspace,
    run_id: str,
    *,
    dry_run: bool = False,
    delete_created: bool = False,
    force: bool = False,
    client: SalesforceClient | None = None,
    progress: Progress | None = None,
) -> RollbackResult:
    """Roll back one run (see the module docstring)."""
    source_run(ws.state(), run_id)
    params = {"source_run_id": run_id, "delete_created": delete_created, "force": force}
    plan = RollbackPlan(run_id, delete_created=delete_created, force=force)
    tick = progress or (lambda phase, done, total: None)
    with recorded_run(
        ws, KIND, locks=LOCKS, queues=QUEUES, dry_run=dry_run, params=params, client=client
    ) as run:
        engine = ws.engine()
        log.info("rollback of run %s started (dry run: %s)", run_id, dry_run)
        with run.phase("refresh"):
            tick("refresh", 0, 1)
            if not dry_run:
                _reconcile(run)
            refresh_salesforce(run.client, engine)
            tick("refresh", 1, 1)
        with run.phase("plan"):
            tick("plan", 0, 1)
            build(run.state, engine, plan)
            for queue in QUEUES:
                run.counts[queue].planned = plan.planned(queue)
            tick("plan", 1, 1)
        log.info(
            "rollback of %s: %d restore(s), %d delete(s), %d drifted field(s), %d created"
            " record(s) left, %d not restorable",
            run_id,
            plan.restores,
            plan.deletes,
            plan.drift_count,
            plan.created_left_count,
            plan.not_restorable_count,
        )
        try:
            if not dry_run and plan.records_to_write:
                with run.phase("write"), engine.memory_limit_at_most(WRITE_MEMORY_LIMIT):
                    _write(run, plan, tick)
        finally:
            engine.drop(PLAN_TABLE)
    assert run.status is not None
    return RollbackResult(
        run_id=run.run_id,
        source_run_id=run_id,
        status=run.status,
        dry_run=dry_run,
        plan=plan,
        counts=run.counts,
        api_calls=run.api_calls,
        duration_s=run.duration_s,
        error=run.error,
        phases=run.phases,
    )


def rollback_runs(
    ws: Workspace,
    run_ids: Iterable[str],
    *,
    dry_run: bool = False,
    delete_created: bool = False,
    force: bool = False,
    client: SalesforceClient | None = None,
    progress: Progress | None = None,
) -> RollbackResults:
    """Roll back several runs (a pilot's, a rollout's), newest first, each as a rollback
    run of its own. Every id is checked before anything is written; the rollbacks stop
    at the first that does not end SUCCEEDED or PARTIAL (a spent quota, say)."""
    state = ws.state()
    runs = [source_run(state, r) for r in dict.fromkeys(run_ids)]
    if not runs:
        raise UsageError("rollback: no run given")
    results: list[RollbackResult] = []
    for run in sorted(runs, key=lambda r: (r.started_at, r.run_id), reverse=True):
        result = rollback(
            ws,
            run.run_id,
            dry_run=dry_run,
            delete_created=delete_created,
            force=force,
            client=client,
            progress=progress,
        )
        results.append(result)
        if result.status not in ("SUCCEEDED", "PARTIAL"):
            log.warning(
                "rollback of %s ended %s; not rolling back the older runs",
                run.run_id,
                result.status,
            )
            break
    return RollbackResults(results)


def _reconcile(run: RecordedRun) -> None:
    """Audit Bulk jobs whose run died before reading their results, before reading the
    audit log (the run undone may be one of them)."""
    done = reconcile(
        run.state, run.client, ["create", "update"], run.ws.path(JOBS_DIR), by_run=run.run_id
    )
    if done["jobs"] or done["left"]:
        log.warning(
            "reconciled %d Bulk API job(s) of ended runs; %d still in progress",
            done["jobs"],
            done["left"],
        )


def _write(run: RecordedRun, plan: RollbackPlan, tick: Progress) -> None:
    journal = BulkJournal(run.state, run.run_id, run.ws.path(JOBS_DIR))
    writer = Writer(run.client, run.ws.config.sync, journal=journal)
    engine = run.ws.engine()
    for queue in QUEUES:
        total = plan.planned(queue)
        if not total:
            continue
        tick(queue, 0, total)
        done = 0
        for outcomes in writer.write(stream(engine, queue), total):
            run.record(outcomes, operation="ROLLBACK", source_run_id=plan.source_run_id)
            done += len(outcomes)
            tick(queue, done, total)
