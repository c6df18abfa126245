"""`propsync demo`: the main job on the embedded default, end to end.

A fresh workspace; the plan's scenario generated; the local org started and loaded
with the scenario's Salesforce state through the API; the views built; the plan; Sync A
and Sync B; the emulated Salesforce workflow awaited; the views rebuilt and validated;
and the plan's success-metrics table, before and after, every figure computed.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from propsync import generate as gen
from propsync.errors import UsageError
from propsync.models import metrics
from propsync.models.checks import run_checks
from propsync.salesforce.client import SalesforceClient
from propsync.salesforce.load import load_starting_state
from propsync.sync.lifecycle import Progress
from propsync.sync.plan import SyncPlan, Which
from propsync.sync.prepare import compute_plan
from propsync.sync.refresh import refresh
from propsync.sync.run import run_sync
from propsync.workspace import Workspace, init

MARKER = ".propsync-demo"

# step(name, done, total): the CLI turns these into progress bars.
Step = Callable[[str, int, int], None]


@dataclass
class DemoReport:
    workspace: Path
    truth: dict[str, Any]
    queues_before: dict[str, int]
    before: dict[str, Any]
    first_plan: dict[str, Any]
    runs: list[dict[str, Any]]
    workflow: dict[str, Any]
    after: dict[str, Any]
    second_plan: dict[str, Any]
    metrics: list[dict[str, Any]]
    unsyncable: list[dict[str, Any]]
    checks: list[dict[str, Any]]
    exceptions: dict[str, int]
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (
            all(r["status"] in ("SUCCEEDED", "PARTIAL") for r in self.runs)
            and self.second_plan["records_to_write"]["total"] == 0
            and all(c["passed"] for c in self.checks)
        )

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["workspace"] = str(self.workspace)
        doc["ok"] = self.ok
        return doc


def fresh_workspace(directory: Path) -> Path:
    """Create the demo folder anew. Only a folder the demo made (or an empty one) is wiped."""
    directory = directory.resolve()
    if directory.exists() and any(directory.iterdir()):
        if not (directory / MARKER).exists():
            raise UsageError(
                f"{directory} exists and was not made by `propsync demo`; "
                "choose another --workspace or empty it"
            )
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MARKER).write_text("made by propsync demo; wiped by the next demo run\n")
    return directory


def run_demo(
    directory: Path,
    *,
    scale: int | None = None,
    seed: int | None = None,
    step: Step | None = None,
    sync_progress: Progress | None = None,
) -> DemoReport:
    """Run the whole job in a fresh workspace under `directory`; return what happened."""
    tick = step or (lambda name, done, total: None)
    seconds: dict[str, float] = {}
    root = fresh_workspace(directory)
    init(root)
    with Workspace.open(root / "propsync.toml") as ws:
        scale = scale or ws.config.generate.scale
        source = ws.config.source
        if source.kind != "duckdb":  # the demo's own config is always the embedded default
            raise UsageError("the demo runs on the embedded DuckDB source")
        seed = seed if seed is not None else ws.config.generate.seed
        t = time.monotonic()
        tick("generate the scenario", 0, 1)
        out_dir = ws.path("generated")
        truth = gen.generate(
            scale,
            seed,
            rds_target=f"duckdb:{ws.path(source.path)}",
            out_dir=out_dir,
        )
        tick("generate the scenario", 1, 1)
        seconds["generate"] = time.monotonic() - t

        t = time.monotonic()
        tick("start the local org and load its starting state", 0, 1)
        client = ws.client()
        load_starting_state(client, out_dir / gen.SALESFORCE_FILE)
        tick("start the local org and load its starting state", 1, 1)
        seconds["load org"] = time.monotonic() - t

        t = time.monotonic()
        tick("extract RDS and Salesforce, build the views", 0, 1)
        refresh(ws, client)
        engine = ws.engine()
        tick("extract RDS and Salesforce, build the views", 1, 1)
        queues_before = _queue_sizes(ws)
        before = metrics.snapshot(engine)
        first_plan = compute_plan(ws, client, "all")
        seconds["extract + models"] = time.monotonic() - t

        t = time.monotonic()
        # SOQL datetime literal; a second early, so nothing Sync A creates is missed.
        sync_started = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
        runs = [
            _run(ws, "create", sync_progress),
            # The first Sync B of a rollout is meant to change many records
            # (every un-aggregated multi-property record): the guardrail is for
            # the steady state, so the demo acknowledges it, as `--force` would.
            _run(ws, "update", sync_progress, force=True),
        ]
        seconds["sync"] = time.monotonic() - t

        t = time.monotonic()
        workflow = _await_workflow(ws, client, tick, since=sync_started)
        seconds["workflow"] = time.monotonic() - t

        refresh(ws, client)
        after = metrics.snapshot(engine, baseline=before)
        second_plan = compute_plan(ws, client, "all")
        check_results = [
            {"name": c.name, "passed": c.passed, "rows": c.offending} for c in run_checks(engine)
        ]
        unsyncable = _unsyncable(second_plan)
        exceptions = _exceptions(ws)
    return DemoReport(
        workspace=root,
        truth=_truth_summary(truth),
        queues_before=queues_before,
        before=before,
        first_plan=first_plan.to_json(),
        runs=runs,
        workflow=workflow,
        after=after,
        second_plan=second_plan.to_json(),
        metrics=metrics.compare(before, after),
        unsyncable=unsyncable,
        checks=check_results,
        exceptions=exceptions,
        seconds={k: round(v, 2) for k, v in seconds.items()},
    )


def _run(
    ws: Workspace, which: Which, progress: Progress | None, *, force: bool = False
) -> dict[str, Any]:
    result = run_sync(ws, which, force=force, progress=progress)
    doc = result.to_json()
    doc.pop("plan", None)
    return doc


def _queue_sizes(ws: Workspace) -> dict[str, int]:
    engine = ws.engine()
    # One pass over the update queue for both of its figures.
    to_update, with_changes = engine.rows(
        "SELECT COUNT(*), COUNT(*) FILTER (WHERE has_changes_since_last_sync)"
        " FROM properties_to_update"
    )[0]
    return {
        "properties_to_create": int(engine.scalar("SELECT COUNT(*) FROM properties_to_create")),
        "properties_to_update": int(to_update),
        "records_with_changes": int(with_changes),
    }


def _await_workflow(
    ws: Workspace, client: SalesforceClient, tick: Step, *, since: str
) -> dict[str, Any]:
    """Wait until every record created since `since` (the demo's Sync A) carries
    sf_property_id__c, as the plan's Step 4.2 checks, bounded by the workflow delay."""
    cfg = ws.config.salesforce.emulator
    if not cfg.workflow_enabled:
        return {"enabled": False, "waited_s": 0.0, "pending": None}
    deadline = time.monotonic() + cfg.workflow_delay_s * 3 + 30
    started = time.monotonic()
    soql = (
        f"SELECT Id FROM {client.object_name} "
        f"WHERE sf_property_id__c = null AND CreatedDate >= {since}"
    )
    pending = total = _count(client, soql)
    while pending and time.monotonic() < deadline:
        tick("await the Salesforce workflow (sf_property_id__c)", total - pending, total)
        time.sleep(min(1.0, max(0.2, cfg.workflow_delay_s / 4)))
        pending = _count(client, soql)
    tick("await the Salesforce workflow (sf_property_id__c)", total - pending, total)
    return {
        "enabled": True,
        "waited_s": round(time.monotonic() - started, 2),
        "records_awaiting_workflow": total,
        "pending": pending,
    }


def _count(client: SalesforceClient, soql: str) -> int:
    # totalSize of the first page is the query's full count; live records only.
    total, _records = next(client.query_pages(soql, include_deleted=False))
    return int(total)


def _unsyncable(plan: SyncPlan) -> list[dict[str, Any]]:
    """Records the sync cannot write, with Salesforce's reason, from the last plan."""
    listed: list[dict[str, Any]] = []
    for queue, q in plan.queues.items():
        for row in q.invalid:
            listed.append({"queue": queue, **row})
    return listed


def _exceptions(ws: Workspace) -> dict[str, int]:
    rows = ws.engine().rows(
        "SELECT exception_type, COUNT(*) FROM sync_exceptions GROUP BY exception_type ORDER BY 1"
    )
    return {str(kind): int(n) for kind, n in rows}


def _truth_summary(truth: gen.GroundTruth) -> dict[str, Any]:
    doc = truth.counts
    keep = (
        "active_properties",
        "properties_to_create",
        "properties_to_create_with_features",
        "properties_to_update",
        "properties_sharing_sfdc_id",
        "feature_mismatches",
    )
    return {k: doc[k] for k in keep if k in doc}
