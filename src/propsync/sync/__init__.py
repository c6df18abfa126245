"""Sync A (create) and Sync B (update): plan, write, retry, audit, lock, guardrails.

    from propsync.sync import plan, run_sync
    p = plan(ws, "all")          # the dry run; p.to_json()["records_to_write"]["total"]
    r = run_sync(ws, "all")      # r.status, r.exit_code, r.counts, r.api_calls

`propsync.sync.lifecycle` is the recorded run every writer enters; `propsync.sync.run`
is what Sync A and B do inside it, in order.
"""

from __future__ import annotations

from propsync.sync.history import run_report
from propsync.sync.lifecycle import QueueCounts, RecordedRun, recorded_run
from propsync.sync.plan import QueuePlan, SyncPlan
from propsync.sync.prepare import compute_plan, plan, restriction
from propsync.sync.refresh import RefreshStats, build_models, refresh
from propsync.sync.run import RunResult, guardrail, run_sync

__all__ = [
    "QueueCounts",
    "QueuePlan",
    "RecordedRun",
    "RefreshStats",
    "RunResult",
    "SyncPlan",
    "build_models",
    "compute_plan",
    "guardrail",
    "plan",
    "recorded_run",
    "refresh",
    "restriction",
    "run_report",
    "run_sync",
]
