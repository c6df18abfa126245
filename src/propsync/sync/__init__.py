"""Sync A (create) and Sync B (update): plan, write, retry, audit, lock, guardrails.

    from propsync.sync import plan, run_sync
    p = plan(ws, "all")          # the dry run; p.to_json()["records_to_write"]["total"]
    r = run_sync(ws, "all")      # r.status, r.exit_code, r.counts, r.api_calls

See `propsync.sync.run` for what a run does, in order.
"""

from __future__ import annotations

from propsync.sync.history import run_report
from propsync.sync.plan import QueuePlan, SyncPlan
from propsync.sync.refresh import RefreshStats, refresh
from propsync.sync.run import (
    QueueCounts,
    RunResult,
    compute_plan,
    guardrail,
    plan,
    restriction,
    run_sync,
)

__all__ = [
    "QueueCounts",
    "QueuePlan",
    "RefreshStats",
    "RunResult",
    "SyncPlan",
    "compute_plan",
    "guardrail",
    "plan",
    "refresh",
    "restriction",
    "run_report",
    "run_sync",
]
