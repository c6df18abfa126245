"""What a run decides before it writes: its restriction, its plan and its inputs.

`plan(ws, which)` is the dry run (refresh, then `compute_plan`); `run_sync` computes the
same plan inside its recorded run, so the dry run shows what a run writes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from propsync.errors import UsageError
from propsync.salesforce.client import SalesforceClient
from propsync.sync.lifecycle import SYNC_MEMORY_LIMIT, Progress
from propsync.sync.mapping import Queue, rules_from_describe
from propsync.sync.plan import (
    QueuePlan,
    SyncPlan,
    Which,
    exceptions_summary,
    queue_plan,
    queues_of,
)
from propsync.sync.refresh import refresh
from propsync.sync.restrict import Restriction, combine, from_ids, read_ids_file
from propsync.workspace import Workspace

Ids = Iterable[str | int] | Path | None


def restriction(ws: Workspace, pilot: str | None, ids: Ids) -> Restriction | None:
    """The pilot set and/or id list a run is limited to (both: the intersection). An
    unknown pilot name is a usage error, never an empty run."""
    from_pilot = None
    if pilot:
        members = ws.state().pilots.members(pilot)
        if not members:
            raise UsageError(f"no pilot set {pilot!r} (see `propsync pilot select`)")
        keys = [m.key for m in members if m.key is not None]
        from_pilot = from_ids(keys, f"pilot {pilot}")
    from_list = None
    if isinstance(ids, Path):
        from_list = Restriction(f"ids {ids}", read_ids_file(ids))
    elif ids is not None:
        from_list = from_ids(ids)
    return combine(from_pilot, from_list)


def integration_user(ws: Workspace) -> str | None:
    """The user the sync writes as: `sync.integration_user_id`, else the user who last
    modified the records the last successful run updated (as the engine's extract
    shows them)."""
    configured = ws.config.sync.integration_user_id
    if configured:
        return configured
    # Updated records only: the Salesforce workflow touches new records after us.
    ids = ws.state().audit.last_updated_ids(limit=500)
    if not ids:
        return None
    marks = ", ".join("?" for _ in ids)
    found = ws.engine().rows(
        f"SELECT last_modified_by_id, count(*) AS n FROM salesforce_product_property "
        f"WHERE id IN ({marks}) AND last_modified_by_id IS NOT NULL "
        "GROUP BY last_modified_by_id ORDER BY n DESC LIMIT 1",
        ids,
    )
    return str(found[0][0]) if found else None


def quota(client: SalesforceClient) -> dict[str, int | None]:
    """The day's API quota: from the `Sforce-Limit-Info` header of the calls already
    made (free), else from `/limits/` (one call)."""
    usage = client.api_usage
    if usage.limit is not None and usage.used is not None:
        daily_max, remaining = usage.limit, usage.remaining
    else:
        limits = client.limits()
        daily = limits.get("DailyApiRequests", {}) if isinstance(limits, dict) else {}
        daily_max, remaining = daily.get("Max"), daily.get("Remaining")
    return {
        "daily_max": daily_max,
        "remaining": remaining,
        "used": (daily_max - remaining)
        if daily_max is not None and remaining is not None
        else None,
    }


def compute_plan(
    ws: Workspace,
    client: SalesforceClient,
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
    user = integration_user(ws)
    queues: dict[Queue, QueuePlan] = {}
    for queue in queues_of(which):
        queues[queue] = queue_plan(
            engine,
            queue,
            rules,
            ws.config.sync,
            where=restrict.where(queue) if restrict is not None else "TRUE",
            integration_user_id=user,
            since=ws.state().runs.last_started(("update", "all")) if queue == "update" else None,
            retry_failed=retry_failed,
        )
    return SyncPlan(
        which=which,
        queues=queues,
        restriction=restrict.source if restrict is not None else None,
        quota=quota(client),
        computed_at=dt.datetime.now(dt.UTC).isoformat(),
        exceptions=exceptions_summary(engine),
    )


def plan(
    ws: Workspace,
    which: Which = "all",
    *,
    pilot: str | None = None,
    ids: Ids = None,
    refresh_inputs: bool = True,
    full_refresh: bool = False,
    retry_failed: bool = False,
    client: SalesforceClient | None = None,
    progress: Progress | None = None,
) -> SyncPlan:
    """The dry run: what `run_sync` would write now, field by field, and its cost."""
    restrict = restriction(ws, pilot, ids)
    sf = client if client is not None else ws.client()
    with (
        ws.engine().memory_limit_at_most(SYNC_MEMORY_LIMIT),
        prefetch(sf.describe) as describe,
    ):
        if refresh_inputs:
            refresh(ws, sf, progress, full=full_refresh)
        return compute_plan(
            ws, sf, which, restrict, retry_failed=retry_failed, describe=describe.result()
        )


@contextlib.contextmanager
def prefetch(fn: Callable[[], Any]) -> Iterator[Future[Any]]:
    """Run `fn` in a thread while the caller works (the describe call overlaps the
    extraction instead of adding a round trip); yields its Future."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        yield pool.submit(fn)
