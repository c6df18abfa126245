"""`propsync pilot run`: Steps 4.2 and 4.3. The pre-flight checklist (each item with the
rows that make it fail), the baseline of Step 4.3 (the update set as Salesforce holds it
before Sync B), then Sync A and Sync B restricted to the pilot through the ordinary
recorded-run lifecycle (`sync.run.run_sync(..., pilot=name)`).

A failed item refuses the run (exit 2) unless `force`; a forced run is recorded as such
in `pilot_preflights`. The validation (`pilot_validate`) judges the runs started after
the latest pre-flight.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from propsync.config import Config
from propsync.errors import PropsyncError
from propsync.fields import ENGINE_TABLE, SYNCED
from propsync.rollout.report import Item
from propsync.salesforce.client import SalesforceClient
from propsync.state import PilotMember, Preflight
from propsync.sync.lifecycle import Progress
from propsync.sync.prepare import compute_plan, restriction
from propsync.sync.refresh import refresh
from propsync.sync.run import RunResult, run_sync
from propsync.workspace import Workspace

# The plan's baseline columns (Step 4.3, pilot_baseline_update), plus income insights.
BASELINE_COLUMNS = (
    "id",
    "snappt_property_id_c",
    "name",
    "sf_property_id_c",
    "idv_enabled_c",
    "bank_linking_enabled_c",
    "payroll_enabled_c",
    "income_insights_enabled_c",
    "active_property_count_c",
    "is_multi_property_c",
    "last_modified_date",
)


@dataclass
class PilotRunResult:
    """What `pilot run` did: its pre-flight, whether it was refused, the baseline size
    and the two runs (None when refused)."""

    name: str
    preflight: Preflight
    items: list[Item]
    refused: bool
    baseline_records: int = 0
    create: RunResult | None = None
    update: RunResult | None = None

    @property
    def exit_code(self) -> int:
        if self.refused:
            return 2
        return max((r.exit_code for r in (self.create, self.update) if r is not None), default=0)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "preflight_id": self.preflight.preflight_id,
            "passed": self.preflight.passed,
            "forced": self.preflight.forced,
            "refused": self.refused,
            "exit_code": self.exit_code,
            "items": [i.to_json() for i in self.items],
            "baseline_records": self.baseline_records,
            "create": self.create.to_json() if self.create else None,
            "update": self.update.to_json() if self.update else None,
        }


def members_of(ws: Workspace, name: str) -> list[PilotMember]:
    """The pilot set's members (restriction() raises a usage error for an unknown one)."""
    restriction(ws, name, None)
    return ws.state().pilots.members(name)


def keys(members: list[PilotMember], queue: str) -> list[str]:
    return sorted({m.key for m in members if m.queue == queue and m.key is not None})


def _in(values: list[str]) -> str:
    return ", ".join("?" for _ in values) or "NULL"


def preflight_items(
    ws: Workspace,
    name: str,
    members: list[PilotMember],
    client: SalesforceClient,
    *,
    no_monitoring: bool = False,
) -> list[Item]:
    """The pre-flight checklist of Steps 4.2 / 4.3 over the engine as refreshed."""
    engine = ws.engine()
    create_keys, update_keys = keys(members, "create"), keys(members, "update")
    items = [
        Item(
            "Pilot properties selected and exported",
            passed=bool(create_keys) and bool(update_keys),
            measured=f"{len(create_keys)} create, {len(update_keys)} update",
            threshold="both sets non-empty",
            offending=[
                {"queue": q} for q, k in (("create", create_keys), ("update", update_keys)) if not k
            ],
            key="selected",
        )
    ]
    in_create = engine.rows(
        "SELECT CAST(rds_property_id AS VARCHAR) FROM properties_to_create"
        f" WHERE CAST(rds_property_id AS VARCHAR) IN ({_in(create_keys)})",
        create_keys,
    )
    in_update = {
        r[0]
        for r in engine.rows(
            "SELECT snappt_property_id_c FROM properties_to_update"
            f" WHERE snappt_property_id_c IN ({_in(update_keys)})",
            update_keys,
        )
    }
    counts = {"create": len(in_create), "update": len(in_update)}
    missing: list[dict[str, Any]] = [
        {"queue": q, "key": None, "reason": f"no pilot row in properties_to_{q}"}
        for q, n in counts.items()
        if not n
    ]
    missing += [
        {"queue": "update", "key": k, "reason": "not in properties_to_update any more"}
        for k in update_keys
        if k not in in_update
    ]
    items.append(
        Item(
            "Queues non-empty (the pilot's rows are queued)",
            passed=not missing,
            measured=f"{len(in_create)} create, {len(in_update)} update queued",
            threshold="every update member queued; both queues non-empty",
            offending=missing,
            key="queues",
        )
    )
    existing = engine.dicts(
        f"SELECT id, snappt_property_id_c, name, created_date FROM {ENGINE_TABLE}"
        f" WHERE COALESCE(is_deleted, FALSE) = FALSE AND snappt_property_id_c IN"
        f" ({_in(create_keys)}) ORDER BY snappt_property_id_c",
        create_keys,
    )
    items.append(
        Item(
            "None of the create set exists in product_property__c yet",
            passed=not existing,
            measured=len(existing),
            threshold="0 records",
            offending=existing,
            key="create_set_absent",
        )
    )
    items.append(org_answers(client))
    items.append(fields_mapped(client))
    items.append(budget(ws, client, name))
    items.append(monitoring_item(ws.config, declared_off=no_monitoring))
    return items


def org_answers(client: SalesforceClient) -> Item:
    try:
        limits = client.limits()
    except PropsyncError as exc:
        return Item("The org answers", False, measured="no answer", threshold="answers",
                    offending=[{"error": str(exc)}], key="org")  # fmt: skip
    daily = limits.get("DailyApiRequests", {}) if isinstance(limits, dict) else {}
    return Item(
        "The org answers",
        True,
        measured=f"limits read; {daily.get('Remaining')} of {daily.get('Max')} API calls left",
        threshold="answers",
        key="org",
    )


def fields_mapped(client: SalesforceClient) -> Item:
    try:
        names = {str(f.get("name")) for f in client.describe().get("fields", [])}
    except PropsyncError as exc:
        return Item("Sync fields exist on the object", False, offending=[{"error": str(exc)}],
                    key="fields")  # fmt: skip
    missing = [{"field": f.name} for f in SYNCED if f.name not in names]
    return Item(
        "Sync fields exist on the object (Sync A and B configured)",
        not missing,
        measured=f"{len(SYNCED) - len(missing)} of {len(SYNCED)} fields",
        threshold="all synced fields",
        offending=missing,
        key="fields",
    )


def budget(ws: Workspace, client: SalesforceClient, name: str) -> Item:
    plan = compute_plan(ws, client, "all", restriction(ws, name, None))
    remaining = plan.quota.get("remaining")
    needed = plan.api_calls
    ok = remaining is not None and needed <= remaining
    return Item(
        "The API budget covers the run",
        ok,
        measured=f"{needed} call(s) planned",
        threshold=f"<= {remaining} remaining today" if remaining is not None else "quota known",
        offending=[]
        if ok
        else [
            {
                "planned_calls": needed,
                "remaining": remaining,
                "daily_max": plan.quota.get("daily_max"),
            }
        ],
        detail=f"{plan.records} record(s) to send: "
        + ", ".join(f"{q} {p.records} via {p.mode}" for q, p in plan.queues.items()),
        key="budget",
    )


def monitoring_item(config: Config, *, declared_off: bool) -> Item:
    """Error monitoring: some alert channel is configured (its secret set, or e-mail
    recipients), or the operator said it is not (`--no-monitoring`)."""
    channels = config.alerts.channels
    state = {
        "slack": (bool(os.environ.get(channels.slack.webhook_url_env)),
                  f"environment variable {channels.slack.webhook_url_env}"),
        "pagerduty": (bool(os.environ.get(channels.pagerduty.routing_key_env)),
                      f"environment variable {channels.pagerduty.routing_key_env}"),
        "email": (bool(channels.email.to), "[alerts.channels.email] to"),
    }  # fmt: skip
    configured = [k for k, (ok, _) in state.items() if ok]
    if declared_off:
        measured = "declared not configured (--no-monitoring)"
    else:
        measured = ", ".join(configured) or "no channel configured"
    return Item(
        "Error monitoring active",
        bool(configured) or declared_off,
        measured=measured,
        threshold="a configured alert channel, or --no-monitoring",
        offending=[]
        if configured or declared_off
        else [{"channel": k, "missing": why} for k, (_, why) in state.items()],
        key="monitoring",
    )


def capture_baseline(ws: Workspace, preflight: Preflight, members: list[PilotMember]) -> int:
    """Step 4.3's baseline: the update set's records as the engine's extract holds them
    (refreshed just before), saved under the pre-flight."""
    update_keys = keys(members, "update")
    rows = ws.engine().dicts(
        f"SELECT {', '.join(BASELINE_COLUMNS)} FROM {ENGINE_TABLE}"
        f" WHERE COALESCE(is_deleted, FALSE) = FALSE AND snappt_property_id_c IN"
        f" ({_in(update_keys)}) ORDER BY id",
        update_keys,
    )
    for row in rows:
        key = row["snappt_property_id_c"]
        row["rds_property_id"] = None if key is None else str(key)  # R9: keys are text
    return ws.state().pilot_validations.save_baseline(preflight, rows)


def run_pilot(
    ws: Workspace,
    name: str,
    *,
    force: bool = False,
    no_monitoring: bool = False,
    progress: Progress | None = None,
) -> PilotRunResult:
    """Refresh, check the pre-flight list, capture the baseline, run Sync A then Sync B
    on the pilot. Refused (nothing written) when an item fails, unless `force`."""
    members = members_of(ws, name)
    client = ws.client()
    refresh(ws, client, progress)
    items = preflight_items(ws, name, members, client, no_monitoring=no_monitoring)
    passed = all(i.passed for i in items)
    preflight = ws.state().pilot_validations.record_preflight(
        name,
        members[0].selection_id,
        passed=passed,
        forced=force and not passed,
        items=[i.to_json() for i in items],
    )
    result = PilotRunResult(name, preflight, items, refused=not passed and not force)
    if result.refused:
        return result
    result.baseline_records = capture_baseline(ws, preflight, members)
    result.create = run_sync(
        ws, "create", pilot=name, force=force, refresh_inputs=False, client=client,
        progress=progress,
    )  # fmt: skip
    result.update = run_sync(
        ws, "update", pilot=name, force=force, client=client, progress=progress
    )
    return result
