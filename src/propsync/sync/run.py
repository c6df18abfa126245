"""Sync A and Sync B: `run_sync` (plan, guard, write, audit) inside a recorded run.

    from propsync.sync import plan, run_sync
    p = plan(ws, "all")                      # SyncPlan; p.to_json()["records_to_write"]
    result = run_sync(ws, "all")             # RunResult; result.exit_code for cron

By default a run refreshes its inputs first (RDS extract, Salesforce extract, models),
because a plan over stale tables writes the wrong things; pass `refresh_inputs=False`
when the caller has just done it (`propsync.sync.refresh`: Salesforce is read
incrementally once the engine holds an extract; `full_refresh=True` reads it all).

The lifecycle (locks, stale runs, run row, memory, client, audit, final status) is
`propsync.sync.lifecycle`; this module is what Sync A and B do inside it: reconcile
Bulk API jobs of killed runs, refresh, plan, record the queue sizes, apply the Sync B
guardrail, and write each queue, auditing every record as soon as its outcome is known.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from propsync.errors import GuardrailTripped
from propsync.salesforce.client import SalesforceClient
from propsync.salesforce.values import CLEAR_TEXT
from propsync.sync import journal
from propsync.sync.jobs import BulkJournal, reconcile
from propsync.sync.lifecycle import (
    WRITE_MEMORY_LIMIT,
    Progress,
    QueueCounts,
    RecordedRun,
    recorded_run,
)
from propsync.sync.measure import count_changes, count_create, count_update
from propsync.sync.payload import WriteItem, items_from_batch
from propsync.sync.plan import QueuePlan, SyncPlan, Which, queues_of
from propsync.sync.prepare import Ids, compute_plan, prefetch, restriction
from propsync.sync.refresh import refresh
from propsync.sync.writer import Writer
from propsync.workspace import Workspace

log = logging.getLogger("propsync.sync")

STREAM_BATCH = 10_000
# Workspace folder of the row images of Bulk API jobs and Collections windows in flight.
JOBS_DIR = "jobs"


@dataclass
class RunResult:
    """What a run did. `status`: SUCCEEDED, PARTIAL (some records failed), FAILED
    (nothing succeeded or the run broke), ABORTED (stopped: quota, interrupted)."""

    run_id: str
    which: Which
    status: str
    dry_run: bool
    plan: SyncPlan
    counts: dict[str, QueueCounts]
    api_calls: int
    duration_s: float
    error: str | None = None
    phases: dict[str, float] = field(default_factory=dict)  # refresh / plan / write seconds

    @property
    def exit_code(self) -> int:
        return {"SUCCEEDED": 0, "PARTIAL": 1}.get(self.status, 2)

    def totals(self) -> dict[str, int]:
        keys = ("sent", "succeeded", "failed", "created", "updated", "retried")
        return {k: sum(getattr(c, k) for c in self.counts.values()) for k in keys}

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "which": self.which,
            "status": self.status,
            "dry_run": self.dry_run,
            "exit_code": self.exit_code,
            "api_calls": self.api_calls,
            "duration_s": round(self.duration_s, 3),
            "phases_s": {k: round(v, 3) for k, v in self.phases.items()},
            "error": self.error,
            "totals": self.totals(),
            "counts": {q: asdict(c) for q, c in self.counts.items()},
            "plan": self.plan.to_json(),
        }


def guardrail(p: SyncPlan, max_share: float, force: bool) -> None:
    """Refuse a Sync B that would change more than `max_share` of the matched records."""
    q = p.queues.get("update")
    if q is None or force or not q.records or q.change_share is None:
        return
    if q.change_share > max_share:
        raise GuardrailTripped(
            f"Sync B would change {q.records:,} of {q.matched:,} matched records "
            f"({q.change_share:.1%}), more than sync.max_change_share = {max_share:.0%}; "
            "check the plan (`propsync plan update`) and rerun with --force if it is right"
        )


def run_sync(
    ws: Workspace,
    which: Which,
    *,
    pilot: str | None = None,
    ids: Ids = None,
    dry_run: bool = False,
    force: bool = False,
    refresh_inputs: bool = True,
    full_refresh: bool = False,
    retry_failed: bool = False,
    client: SalesforceClient | None = None,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> RunResult:
    """Run Sync A (`create`), Sync B (`update`) or both (`all`, A first).

    Raises LockHeld when another run holds a sync's lock, GuardrailTripped when Sync B
    would change too much (unless `force`). A spent API quota ends the run ABORTED and
    returns; other errors end it FAILED and propagate. Once `stop` is set (a scheduler
    shutting down), the batch in flight is finished and audited and the run ends
    ABORTED, saying so."""
    queues = queues_of(which)
    restrict = restriction(ws, pilot, ids)
    params = {
        "restriction": restrict.source if restrict else None,
        "force": force,
        "retry_failed": retry_failed,
    }
    the_plan: SyncPlan | None = None
    with recorded_run(
        ws,
        which,
        locks=[f"sync-{q}" for q in queues],
        queues=queues,
        pilot=pilot,
        dry_run=dry_run,
        params=params,
        client=client,
    ) as run:
        sf = run.client
        with prefetch(sf.describe) as describe:
            log.info("sync %s started (dry run: %s)", which, dry_run)
            with run.phase("refresh"):
                if not dry_run:
                    _reconcile(run, queues)
                if refresh_inputs:
                    refresh(ws, sf, progress, full=full_refresh)
            if not refresh_inputs:  # the phases a caller sees are those that ran
                run.phases.pop("refresh")
            with run.phase("plan"):
                the_plan = compute_plan(
                    ws, sf, which, restrict, retry_failed=retry_failed, describe=describe.result()
                )
                for queue in queues:
                    run.counts[queue].planned = the_plan.queues[queue].records
                _record_queues(run, the_plan)
                guardrail(the_plan, ws.config.sync.max_change_share, force)
        if not dry_run:
            with run.phase("write"):
                _write(run, the_plan, progress, stop)
        log.info("sync %s finished", which)
    assert run.status is not None
    return RunResult(
        run_id=run.run_id,
        which=which,
        status=run.status,
        dry_run=dry_run,
        plan=the_plan or SyncPlan(which, {}, None, {}, ""),
        counts=run.counts,
        api_calls=run.api_calls,
        duration_s=run.duration_s,
        error=run.error,
        phases=run.phases,
    )


def _reconcile(run: RecordedRun, queues: tuple[str, ...]) -> None:
    """Audit the records of Bulk API jobs and Collections windows whose run died before
    auditing them (`propsync.sync.jobs`, `propsync.sync.journal`); before the refresh,
    so the plan sees those records as written and never sends them again."""
    done = reconcile(run.state, run.client, list(queues), run.ws.path(JOBS_DIR), by_run=run.run_id)
    if done["jobs"] or done["left"]:
        log.warning(
            "reconciled %d Bulk API job(s) of ended runs (%d record(s) succeeded, %d failed)"
            "; %d job(s) still in progress, left for the next run",
            done["jobs"],
            done["succeeded"],
            done["failed"],
            done["left"],
        )
    windows = journal.reconcile(
        run.state, run.client, list(queues), run.ws.path(JOBS_DIR), by_run=run.run_id
    )
    if windows["windows"]:
        log.warning(
            "reconciled %d sObject Collections window(s) of ended runs: %d record(s) found "
            "written and audited, %d not written",
            windows["windows"],
            windows["succeeded"],
            windows["not_written"],
        )


def _record_queues(run: RecordedRun, p: SyncPlan) -> None:
    """Both queues' full sizes (whatever the run is restricted to), for the 24h view;
    counted from the plan where it already has them."""
    engine = run.ws.engine()
    create_plan, update_plan = p.queues.get("create"), p.queues.get("update")
    create = create_plan.matched if create_plan is not None else count_create(engine)
    update = update_plan.matched if update_plan is not None else count_update(engine)
    if update_plan is not None and p.restriction is None:
        changes = update_plan.records
    else:
        changes = count_changes(engine)
    run.state.queue_sizes.record(create, update, changes=changes, run_id=run.run_id)


def _write(
    run: RecordedRun, p: SyncPlan, progress: Progress | None, stop: threading.Event | None
) -> None:
    jobs_dir = run.ws.path(JOBS_DIR)
    writer = Writer(
        run.client,
        run.ws.config.sync,
        journal=BulkJournal(run.state, run.run_id, jobs_dir),
        collections_journal=journal.CollectionsJournal(run.state, run.run_id, jobs_dir),
    )
    # The writes only page through the plan's tables: give DuckDB's cache back, for
    # the writer's Bulk jobs.
    with run.ws.engine().memory_limit_at_most(WRITE_MEMORY_LIMIT):
        for q in p.queues.values():
            _write_queue(run, writer, q, progress, stop)
            if stop is not None and stop.is_set():
                run.status = "ABORTED"
                run.error = "stopped after the batch in flight (shutdown)"
                log.warning("run stopped: %s", run.error)
                return


def _write_queue(
    run: RecordedRun,
    writer: Writer,
    q: QueuePlan,
    progress: Progress | None,
    stop: threading.Event | None,
) -> None:
    if not q.records:
        return
    log.info("%s: writing %d record(s) by %s", q.queue, q.records, q.mode)
    if progress is not None:
        progress(q.queue, 0, q.records)
    done = 0
    threshold = run.ws.config.sync.bulk_threshold
    # R10: a value that is literally the Bulk CSV's null marker would be written as empty
    # by a Bulk job (and reported a success); those records go by sObject Collections,
    # whose JSON carries the text as it is, after the others.
    aside: list[WriteItem] = []
    items = _stream(run.ws, q)
    batches = [(_csv_safe(items, aside) if q.records >= threshold else items, q.records)]
    for stream, total in batches:
        for outcomes in writer.write(stream, total):
            run.record(outcomes)
            done += len(outcomes)
            if progress is not None:
                progress(q.queue, done, q.records)
            if stop is not None and stop.is_set():
                return
        if aside and len(batches) == 1:
            log.info(
                "%s: %d record(s) hold the text %s, which a Bulk CSV reads as empty:"
                " sending them by sObject Collections",
                q.queue,
                len(aside),
                CLEAR_TEXT,
            )
            batches.append((iter(aside), min(len(aside), threshold - 1)))


def _csv_safe(items: Iterator[WriteItem], aside: list[WriteItem]) -> Iterator[WriteItem]:
    """The items a Bulk CSV carries as they are; the others are put `aside`."""
    for item in items:
        if any(v == CLEAR_TEXT for v in item.record.values() if isinstance(v, str)):
            aside.append(item)
        else:
            yield item


def _stream(ws: Workspace, q: QueuePlan) -> Iterator[WriteItem]:
    """The planned rows in order, a page at a time. Pages are separate queries (not one
    open stream) because the audit rows go into the same DuckDB connection meanwhile."""
    engine = ws.engine()
    for start in range(0, q.rows_in_table, STREAM_BATCH):
        page = engine.arrow(
            f"SELECT * FROM {q.table} WHERE seq > ? AND seq <= ? AND held IS NULL ORDER BY seq",
            [start, start + STREAM_BATCH],
        )
        for batch in page.to_batches():
            yield from items_from_batch(q.queue, batch)
