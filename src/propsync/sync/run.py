"""Sync A and Sync B: `plan` (the dry run) and `run_sync` (plan, guard, write, audit).

    from propsync.sync import plan, run_sync
    p = plan(ws, "all")                      # SyncPlan; p.to_json()["records_to_write"]
    result = run_sync(ws, "all")             # RunResult; result.exit_code for cron

By default both refresh their inputs first (RDS extract, Salesforce extract, models),
because a plan over stale tables writes the wrong things; pass `refresh_inputs=False`
when the caller has just done it (`propsync.sync.refresh`: Salesforce is read
incrementally once the engine holds an extract; `full_refresh=True` reads it all).

A run takes the state store's lock for each sync it runs, marks runs left RUNNING by a
killed process ABORTED, records queue sizes, applies the Sync B guardrail, writes, and
appends every record's outcome to the audit log as soon as it is known, so a kill -9
loses nothing that was written.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from propsync.errors import GuardrailTripped, LockHeld, PropsyncError, QuotaExhausted
from propsync.state import PilotMember, StateStore
from propsync.sync import audit
from propsync.sync.jobs import BulkJournal, reconcile
from propsync.sync.logs import run_logging
from propsync.sync.mapping import Queue, rules_from_describe
from propsync.sync.payload import WriteItem, items_from_batch
from propsync.sync.plan import QueuePlan, SyncPlan, Which, queue_plan, queues_of
from propsync.sync.refresh import refresh
from propsync.sync.restrict import Restriction, combine, from_ids, read_ids_file
from propsync.sync.writer import Outcome, Writer

if TYPE_CHECKING:
    from propsync.workspace import Workspace

log = logging.getLogger("propsync.sync")

# progress(phase, done, total): phase is "extract", "plan", "create" or "update".
Progress = Callable[[str, int, int], None]
STREAM_BATCH = 10_000
AUDIT_PAGE = 10_000
JOBS_DIR = "jobs"  # workspace folder of the row images of Bulk API jobs in flight
# DuckDB's buffer pool during a sync (the configured `[engine] memory_limit` when that is
# lower). DuckDB keeps what it reads cached up to its limit, and the limit (4GB by
# default) is sized for the 10M model build; a sync reads at most a few 100 MB of
# tables at 1M properties and runs as fast with this, while its writer needs the room.
SYNC_MEMORY_LIMIT = "512MB"
WRITE_MEMORY_LIMIT = "256MB"
_MEMORY_KEY = "sync_memory_limit"
_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}  # fmt: skip


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


# --- inputs ---------------------------------------------------------------------------


def restriction(
    ws: Workspace, pilot: str | None, ids: Iterable[str | int] | Path | None
) -> Restriction | None:
    """The pilot set and/or id list a run is limited to (both: the intersection)."""
    from_pilot = None
    if pilot:
        members = ws.state().pilots.members(pilot)
        from_pilot = from_ids(_pilot_ids(members), f"pilot {pilot}")
    from_list = None
    if isinstance(ids, Path):
        from_list = Restriction(f"ids {ids}", read_ids_file(ids))
    elif ids is not None:
        from_list = from_ids(ids)
    return combine(from_pilot, from_list)


def _pilot_ids(members: list[PilotMember]) -> list[str]:
    """The RDS ids a pilot's members name."""
    return [m.key for m in members if m.key is not None]


def _integration_user(ws: Workspace, client: Any) -> str | None:
    """The user the sync writes as: `sync.integration_user_id`, else what the client
    knows, else the user who last modified the records the last successful run
    updated (as the engine's extract shows them)."""
    configured = ws.config.sync.integration_user_id
    if configured:
        return configured
    for attr in ("user_id", "integration_user_id"):
        value = getattr(client, attr, None)
        if isinstance(value, str) and value:
            return value
    return _inferred_user(ws)


def _inferred_user(ws: Workspace) -> str | None:
    state = ws.state()
    for run in state.runs.recent(limit=200):
        if run.dry_run or run.status not in ("SUCCEEDED", "PARTIAL"):
            continue
        # Updated records only: the Salesforce workflow touches new records after us.
        ids = []
        for row in state.audit.entries(run.run_id, status="SUCCESS", operation="UPDATE"):
            if row.salesforce_id:
                ids.append(row.salesforce_id)
            if len(ids) >= 500:
                break
        if not ids:
            continue
        marks = ", ".join("?" for _ in ids)
        found = ws.engine().rows(
            f"SELECT last_modified_by_id, count(*) AS n FROM salesforce_product_property "
            f"WHERE id IN ({marks}) AND last_modified_by_id IS NOT NULL "
            "GROUP BY last_modified_by_id ORDER BY n DESC LIMIT 1",
            ids,
        )
        if found:
            return str(found[0][0])
    return None


def _quota(client: Any) -> dict[str, int | None]:
    """The day's API quota: from the `Sforce-Limit-Info` header of the calls already
    made (free), else from `/limits/` (one call)."""
    usage = client.api_usage
    if usage.limit is not None and usage.used is not None:
        used_max, remaining = usage.limit, usage.remaining
    else:
        limits = client.limits()
        daily = limits.get("DailyApiRequests", {}) if isinstance(limits, dict) else {}
        used_max, remaining = daily.get("Max"), daily.get("Remaining")
    return {
        "daily_max": used_max,
        "remaining": remaining,
        "used": (used_max - remaining) if used_max is not None and remaining is not None else None,
    }


def _api_calls(client: Any) -> int:
    """HTTP calls the client has made to the org so far."""
    return int(getattr(client, "calls", 0) or 0)


def _last_success(ws: Workspace) -> dt.datetime | None:
    """Start of the last successful run that ran Sync B."""
    return ws.state().runs.last_started(("update", "all"))


def compute_plan(
    ws: Workspace,
    client: Any,
    which: Which,
    restrict: Restriction | None = None,
    *,
    retry_failed: bool = False,
    describe: dict[str, Any] | None = None,
) -> SyncPlan:
    """The plan from the tables as they are now in the engine (no refresh). `describe`
    is the object's describe when the caller already has it."""
    engine = ws.engine()
    rules = rules_from_describe(describe if describe is not None else client.describe())
    if restrict is not None:
        restrict.install(engine)
    queues: dict[Queue, QueuePlan] = {}
    for queue in queues_of(which):
        where = restrict.where(queue) if restrict is not None else "TRUE"
        queues[queue] = queue_plan(
            engine,
            queue,
            rules,
            ws.config.sync,
            where=where,
            integration_user_id=_integration_user(ws, client),
            since=_last_success(ws) if queue == "update" else None,
            retry_failed=retry_failed,
        )
    return SyncPlan(
        which=which,
        queues=queues,
        restriction=restrict.source if restrict is not None else None,
        quota=_quota(client),
        computed_at=dt.datetime.now(dt.UTC).isoformat(),
    )


def plan(
    ws: Workspace,
    which: Which = "all",
    *,
    pilot: str | None = None,
    ids: Iterable[str | int] | Path | None = None,
    refresh_inputs: bool = True,
    full_refresh: bool = False,
    retry_failed: bool = False,
    client: Any = None,
    progress: Progress | None = None,
) -> SyncPlan:
    """The dry run: what `run_sync` would write now, field by field, and its cost."""
    restrict = restriction(ws, pilot, ids)
    with engine_memory(ws), _client(ws, client) as sf, _prefetch(sf.describe) as describe:
        if refresh_inputs:
            refresh(ws, sf, progress, full=full_refresh)
        return compute_plan(
            ws, sf, which, restrict, retry_failed=retry_failed, describe=describe.result()
        )


@contextlib.contextmanager
def _prefetch(fn: Callable[[], Any]) -> Iterator[Any]:
    """Run `fn` in a thread while the caller works (the describe call overlaps the
    extraction instead of adding a round trip); yields its Future."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        yield pool.submit(fn)


def _size_bytes(text: str) -> float | None:
    import re

    m = re.fullmatch(r"\s*([\d.]+)\s*([a-zA-Z]*)\s*", text)
    if not m or m.group(2).lower() not in _UNITS:
        return None
    return float(m.group(1)) * _UNITS[m.group(2).lower()]


@contextlib.contextmanager
def engine_memory(ws: Workspace, limit: str = SYNC_MEMORY_LIMIT) -> Iterator[None]:
    """Run a block with the DuckDB engine's memory limit lowered to `limit` (when the
    one in effect is higher), then set that one back."""
    previous = ws._cache.get(_MEMORY_KEY) or ws.config.engine.memory_limit
    lower, current = _size_bytes(limit), _size_bytes(str(previous))
    engine = ws.engine()
    if engine.dialect != "duckdb" or lower is None or current is None or current <= lower:
        yield
        return
    engine.execute(f"SET memory_limit = '{limit}'")
    ws._cache[_MEMORY_KEY] = limit
    try:
        yield
    finally:
        ws._cache[_MEMORY_KEY] = previous
        with contextlib.suppress(Exception):  # the engine may be closed by now
            engine.execute(f"SET memory_limit = '{previous}'")


@contextlib.contextmanager
def _client(ws: Workspace, client: Any) -> Iterator[Any]:
    """The caller's client, or one opened (and closed: it may own an emulator) here."""
    if client is not None:
        yield client
        return
    own = _connect(ws)
    try:
        yield own
    finally:
        own.close()


def _connect(ws: Workspace) -> Any:
    from propsync.salesforce.connect import connect

    return connect(ws)


def _tick(progress: Progress | None, phase: str, done: int, total: int) -> None:
    if progress is not None:
        progress(phase, done, total)


# --- the run --------------------------------------------------------------------------


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
    ids: Iterable[str | int] | Path | None = None,
    dry_run: bool = False,
    force: bool = False,
    refresh_inputs: bool = True,
    full_refresh: bool = False,
    retry_failed: bool = False,
    client: Any = None,
    progress: Progress | None = None,
) -> RunResult:
    """Run Sync A (`create`), Sync B (`update`) or both (`all`, A first).

    Raises LockHeld when another run holds a sync's lock, GuardrailTripped when Sync B
    would change too much (unless `force`). A spent API quota ends the run ABORTED and
    returns; other errors end it FAILED and propagate."""
    queues = queues_of(which)
    restrict = restriction(ws, pilot, ids)
    state = ws.state()
    state.runs.abort_stale()
    run_id = state.runs.start(
        which,
        pilot=pilot,
        dry_run=dry_run,
        params={
            "restriction": restrict.source if restrict else None,
            "force": force,
            "retry_failed": retry_failed,
        },
    )
    started = time.monotonic()
    calls_before = 0
    counts: dict[str, QueueCounts] = {q: QueueCounts() for q in queues}
    status, error = "FAILED", None
    the_plan: SyncPlan | None = None
    phases: dict[str, float] = {}
    client_used = client
    try:
        with contextlib.ExitStack() as stack:
            for queue in queues:
                stack.enter_context(state.lock(f"sync-{queue}", run_id))
            stack.enter_context(run_logging(run_id))
            stack.enter_context(engine_memory(ws))
            client_used = stack.enter_context(_client(ws, client))
            calls_before = _api_calls(client_used)
            describe = stack.enter_context(_prefetch(client_used.describe))
            log.info("sync %s started (dry run: %s)", which, dry_run)
            mark = time.monotonic()
            if not dry_run:
                _reconcile(ws, state, client_used, queues, run_id)
            if refresh_inputs:
                refresh(ws, client_used, progress, full=full_refresh)
                phases["refresh"] = time.monotonic() - mark
                mark = time.monotonic()
            the_plan = compute_plan(
                ws,
                client_used,
                which,
                restrict,
                retry_failed=retry_failed,
                describe=describe.result(),
            )
            for queue in queues:
                counts[queue].planned = the_plan.queues[queue].records
            _record_queues(ws, state, the_plan, run_id)
            guardrail(the_plan, ws.config.sync.max_change_share, force)
            phases["plan"] = time.monotonic() - mark
            mark = time.monotonic()
            if not dry_run:
                journal = BulkJournal(state, run_id, ws.path(JOBS_DIR))
                writer = Writer(client_used, ws.config.sync, journal=journal)
                # The writes only page through the plan's tables: give DuckDB's cache
                # back, for the writer's Bulk jobs.
                with engine_memory(ws, WRITE_MEMORY_LIMIT):
                    for queue in queues:
                        _write_queue(
                            ws, state, writer, the_plan.queues[queue], run_id, counts, progress
                        )
                phases["write"] = time.monotonic() - mark
            status = _status(counts)
            log.info("sync %s finished: %s", which, status)
    except QuotaExhausted as exc:
        status, error = "ABORTED", f"daily API quota spent: {exc}"
        log.warning("run stopped: %s", error)
    except (GuardrailTripped, LockHeld) as exc:
        _finish(state, run_id, "ABORTED", counts, client_used, calls_before, str(exc))
        raise
    except PropsyncError as exc:
        _finish(state, run_id, "FAILED", counts, client_used, calls_before, str(exc))
        raise
    except BaseException as exc:  # interrupted (Ctrl-C) or a bug: never leave it RUNNING
        reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else repr(exc)
        _finish(state, run_id, "ABORTED", counts, client_used, calls_before, reason)
        raise
    api_calls = _finish(state, run_id, status, counts, client_used, calls_before, error)
    assert the_plan is not None or status == "ABORTED"
    return RunResult(
        run_id=run_id,
        which=which,
        status=status,
        dry_run=dry_run,
        plan=the_plan or SyncPlan(which, {}, None, {}, ""),
        counts=counts,
        api_calls=api_calls,
        duration_s=time.monotonic() - started,
        error=error,
        phases=phases,
    )


def _reconcile(
    ws: Workspace, state: StateStore, client: Any, queues: Iterable[str], run_id: str
) -> None:
    """Audit the records of Bulk API jobs whose run died before reading their results
    (`propsync.sync.jobs`); before the refresh, so the plan sees those records as
    written and never sends them again."""
    done = reconcile(state, client, list(queues), ws.path(JOBS_DIR), by_run=run_id)
    if done["jobs"] or done["left"]:
        log.warning(
            "reconciled %d Bulk API job(s) of ended runs (%d record(s) succeeded, %d failed)"
            "; %d job(s) still in progress, left for the next run",
            done["jobs"],
            done["succeeded"],
            done["failed"],
            done["left"],
        )


def _status(counts: dict[str, QueueCounts]) -> str:
    failed = sum(c.failed for c in counts.values())
    succeeded = sum(c.succeeded for c in counts.values())
    if not failed:
        return "SUCCEEDED"
    return "PARTIAL" if succeeded else "FAILED"


def _finish(
    state: StateStore,
    run_id: str,
    status: str,
    counts: dict[str, QueueCounts],
    client: Any,
    calls_before: int,
    error: str | None,
) -> int:
    calls = _api_calls(client) - calls_before if client is not None else 0
    state.runs.finish(run_id, status, counts=flat_counts(counts), api_calls=calls, error=error)
    return calls


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


def _record_queues(ws: Workspace, state: StateStore, p: SyncPlan, run_id: str) -> None:
    """Both queues' full sizes (whatever the run is restricted to), for the 24h view;
    counted from the plan where it already has them."""
    from propsync.sync.mapping import CREATE_VIEW, UPDATE_VIEW, mq

    engine = ws.engine()
    create_plan, update_plan = p.queues.get("create"), p.queues.get("update")
    create = (
        create_plan.matched
        if create_plan is not None
        else int(engine.scalar(f"SELECT count(*) FROM {CREATE_VIEW}") or 0)
    )
    update = (
        update_plan.matched
        if update_plan is not None
        else int(engine.scalar(f"SELECT count(*) FROM {UPDATE_VIEW}") or 0)
    )
    if update_plan is not None and p.restriction is None:
        changes = update_plan.records
    else:
        sql = f"SELECT count(*) FROM {UPDATE_VIEW} WHERE {mq.HAS_CHANGES_COLUMN}"
        changes = int(engine.scalar(sql) or 0)
    state.queue_sizes.record(create, update, changes=changes, run_id=run_id)


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


def _write_queue(
    ws: Workspace,
    state: StateStore,
    writer: Writer,
    q: QueuePlan,
    run_id: str,
    counts: dict[str, QueueCounts],
    progress: Progress | None,
) -> None:
    if not q.records:
        return
    c = counts[q.queue]
    log.info("%s: writing %d record(s) by %s", q.queue, q.records, q.mode)
    _tick(progress, q.queue, 0, q.records)
    done = 0
    for outcomes in writer.write(_stream(ws, q), q.records):
        # A page at a time: the AuditRecords, their JSON and the Arrow table of a
        # 100k-record Bulk job at once would cost a few 100 MB.
        for start in range(0, len(outcomes), AUDIT_PAGE):
            state.audit.append(audit.rows(run_id, outcomes[start : start + AUDIT_PAGE]))
        for item, outcome in outcomes:
            _count(c, item, outcome)
        done += len(outcomes)
        _tick(progress, q.queue, done, q.records)


def _count(c: QueueCounts, item: WriteItem, outcome: Outcome) -> None:
    c.sent += 1
    if outcome.attempt > 1:
        c.retried += 1
    if outcome.success:
        c.succeeded += 1
        if outcome.created:
            c.created += 1
        else:
            c.updated += 1
    else:
        c.failed += 1
        code = outcome.error_code or "UNKNOWN"
        c.errors[code] = c.errors.get(code, 0) + 1
        log.warning(
            "%s %s (rds %s) failed: %s %s",
            item.queue,
            item.key,
            item.rds_property_id,
            code,
            outcome.error_message,
        )
