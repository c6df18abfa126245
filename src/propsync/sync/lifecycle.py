"""The recorded-run lifecycle: what every run that writes to Salesforce goes through.

    with recorded_run(ws, "update", locks=["sync-update"], queues=["update"]) as run:
        ...                                  # run.client, run.counts, run.record(outcomes)
    result = run.status, run.api_calls       # final once the block has left

Sync A and Sync B enter it (`propsync.sync.run`); pilot, rollout and rollback runs do
too, so none of them re-implements locking, status or auditing. In order it: marks
runs left RUNNING by a killed process ABORTED, records the run (RUNNING), takes the
locks, tags every log line with the run id, lowers the engine's memory limit for the
run, owns the Salesforce client (the caller's or the workspace's), appends each record's
outcome to the audit log as soon as it is known (a page at a time), and records the
final status with the counts and the API calls the run made.

How a run ends: the block returns (status from the counts, unless the block set one);
a spent API quota or a Bulk API job past its deadline (ABORTED, and the block is left
without raising: the caller still reports the run); a lock held elsewhere or a tripped
guardrail (ABORTED, raised); any other propsync error (FAILED, raised); an interrupt or a
bug (ABORTED, raised). Every way but kill -9 records the end; a killed run is marked
ABORTED by the next one.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from propsync.errors import (
    BulkJobDeadline,
    GuardrailTripped,
    LockHeld,
    PropsyncError,
    QuotaExhausted,
)
from propsync.salesforce.client import SalesforceClient
from propsync.state import StateStore
from propsync.sync import audit
from propsync.sync.logs import run_logging
from propsync.sync.payload import WriteItem
from propsync.sync.writer import Outcome
from propsync.workspace import Workspace

log = logging.getLogger("propsync.sync")

# progress(phase, done, total): phase is "extract", "plan", "create", "update", ...
Progress = Callable[[str, int, int], None]
AUDIT_PAGE = 10_000
# DuckDB's buffer pool during a run (the configured `[engine] memory_limit` when that is
# lower). DuckDB keeps what it reads cached up to its limit, and the limit (4GB by
# default) is sized for the 10M model build; a sync reads at most a few 100 MB of
# tables at 1M properties and runs as fast with this, while its writer needs the room.
SYNC_MEMORY_LIMIT = "512MB"
WRITE_MEMORY_LIMIT = "256MB"


@dataclass
class QueueCounts:
    planned: int = 0
    sent: int = 0
    succeeded: int = 0
    failed: int = 0
    created: int = 0
    updated: int = 0
    retried: int = 0  # records that needed more than one attempt
    errors: dict[str, int] = field(default_factory=dict)  # error code -> records

    def add(self, item: WriteItem, outcome: Outcome) -> None:
        """Count one record's outcome (and log a failure with its code)."""
        self.sent += 1
        if outcome.attempt > 1:
            self.retried += 1
        if outcome.success:
            self.succeeded += 1
            if outcome.created:
                self.created += 1
            else:
                self.updated += 1
            return
        self.failed += 1
        code = outcome.error_code or "UNKNOWN"
        self.errors[code] = self.errors.get(code, 0) + 1
        log.warning(
            "%s %s (rds %s) failed: %s %s",
            item.queue,
            item.key,
            item.rds_property_id,
            code,
            outcome.error_message,
        )


def status_of(counts: Iterable[QueueCounts]) -> str:
    """SUCCEEDED (no record failed), PARTIAL (some did), FAILED (none succeeded)."""
    counted = list(counts)
    failed = sum(c.failed for c in counted)
    succeeded = sum(c.succeeded for c in counted)
    if not failed:
        return "SUCCEEDED"
    return "PARTIAL" if succeeded else "FAILED"


def flat_counts(counts: dict[str, QueueCounts]) -> dict[str, int]:
    """sync_runs counts: totals (planned, attempted, succeeded, failed, created, updated)
    and the same per queue (`create_failed`, ...)."""
    out: dict[str, int] = {}
    keys = {"attempted": "sent", "succeeded": "succeeded", "failed": "failed"}
    keys |= {"created": "created", "updated": "updated", "retried": "retried"}
    for name, attr in keys.items():
        out[name] = sum(getattr(c, attr) for c in counts.values())
        for queue, c in counts.items():
            out[f"{queue}_{name}"] = getattr(c, attr)
    out["planned"] = sum(c.planned for c in counts.values())
    return out


@dataclass
class RecordedRun:
    """A run in progress. `counts` per queue; `status`/`error` may be set by the block
    to end the run a particular way; `phases` collects timings (`with run.phase(...)`)."""

    ws: Workspace
    state: StateStore
    run_id: str
    kind: str
    counts: dict[str, QueueCounts]
    status: str | None = None
    error: str | None = None
    api_calls: int = 0
    phases: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    _given_client: SalesforceClient | None = field(default=None, repr=False)
    _calls_before: int | None = field(default=None, repr=False)

    @property
    def client(self) -> SalesforceClient:
        """The Salesforce client of the run (logged in on first use); the API calls it
        makes from then on are the run's."""
        client = self._given_client if self._given_client is not None else self.ws.client()
        if self._calls_before is None:
            self._calls_before = client.calls
        return client

    def calls_made(self) -> int:
        if self._calls_before is None:
            return 0
        return self.client.calls - self._calls_before

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time a phase of the run (refresh, plan, write, ...) into `phases`."""
        mark = time.monotonic()
        try:
            yield
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.monotonic() - mark

    def record(
        self,
        outcomes: Sequence[tuple[WriteItem, Outcome]],
        *,
        operation: str | None = None,
        source_run_id: str | None = None,
    ) -> None:
        """Append the outcomes' audit rows (operation CREATE / UPDATE from each record's
        queue unless given, e.g. ROLLBACK with the run it undoes) and count them."""
        # A page at a time: the audit records, their JSON and the Arrow table of a
        # 100k-record Bulk job at once would cost a few 100 MB.
        for start in range(0, len(outcomes), AUDIT_PAGE):
            page = outcomes[start : start + AUDIT_PAGE]
            self.state.audit.append(
                audit.rows(self.run_id, page, operation=operation, source_run_id=source_run_id)
            )
        for item, outcome in outcomes:
            self.counts[item.queue].add(item, outcome)

    @property
    def duration_s(self) -> float:
        return time.monotonic() - self.started


@contextlib.contextmanager
def recorded_run(
    ws: Workspace,
    kind: str,
    *,
    locks: Sequence[str],
    queues: Sequence[str],
    pilot: str | None = None,
    dry_run: bool = False,
    params: dict[str, Any] | None = None,
    client: SalesforceClient | None = None,
) -> Iterator[RecordedRun]:
    """Enter the lifecycle (see the module docstring) for a run of `kind` (the
    sync_runs `sync` column: create, update, all, rollback) counting `queues`."""
    state = ws.state()
    state.runs.abort_stale()
    run_id = state.runs.start(kind, pilot=pilot, dry_run=dry_run, params=params)
    run = RecordedRun(
        ws=ws,
        state=state,
        run_id=run_id,
        kind=kind,
        counts={q: QueueCounts() for q in queues},
        _given_client=client,
    )
    try:
        with contextlib.ExitStack() as stack:
            for name in locks:
                stack.enter_context(state.lock(name, run_id))
            stack.enter_context(run_logging(run_id))
            stack.enter_context(ws.engine().memory_limit_at_most(SYNC_MEMORY_LIMIT))
            yield run
        status = run.status or status_of(run.counts.values())
    except QuotaExhausted as exc:
        status, run.error = "ABORTED", f"daily API quota spent: {exc}"
        log.warning("run stopped: %s", run.error)
    except BulkJobDeadline as exc:  # the job was aborted; the next run reconciles it
        status, run.error = "ABORTED", f"Bulk API job past its deadline: {exc}"
        log.warning("run stopped: %s", run.error)
    except (GuardrailTripped, LockHeld) as exc:
        _finish(run, "ABORTED", str(exc))
        exc.run_id, exc.run_status = run_id, "ABORTED"
        raise
    except PropsyncError as exc:
        _finish(run, "FAILED", str(exc))
        exc.run_id, exc.run_status = run_id, "FAILED"
        raise
    except BaseException as exc:  # interrupted (Ctrl-C) or a bug: never leave it RUNNING
        _finish(run, "ABORTED", "interrupted" if isinstance(exc, KeyboardInterrupt) else repr(exc))
        raise
    _finish(run, status, run.error)


def _finish(run: RecordedRun, status: str, error: str | None) -> None:
    run.status, run.error = status, error
    run.api_calls = run.calls_made()
    run.state.runs.finish(
        run.run_id,
        status,
        counts=flat_counts(run.counts),
        api_calls=run.api_calls,
        error=error,
    )
