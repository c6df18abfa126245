"""`pilot run` (Steps 4.2/4.3) on a generated scenario in the emulator: the pre-flight
checklist refusing and passing, the baseline, Sync A and Sync B restricted to the pilot;
the org and budget items failing for real (the org down, the day's quota nearly spent)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from propsync.rollout import pilot_run
from propsync.rollout.pilot_run import members_of, run_pilot
from propsync.rollout.report import Item
from propsync.sync.prepare import restriction
from tests.rollout.conftest import PILOT
from tests.sync.orgs import Org

MONITORING_ENV = ("PROPSYNC_SLACK_WEBHOOK_URL", "PROPSYNC_PAGERDUTY_ROUTING_KEY")


def _items(result: pilot_run.PilotRunResult) -> dict[str, Item]:
    return {i.key: i for i in result.items}


def test_preflight_refuses_then_the_pilot_runs_only_its_records(
    pilot_org: Callable[..., Org], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in MONITORING_ENV:
        monkeypatch.delenv(name, raising=False)
    org = pilot_org()
    ws = org.ws
    members = members_of(ws, PILOT)
    create_keys = pilot_run.keys(members, "create")
    update_keys = pilot_run.keys(members, "update")
    assert len(create_keys) == len(update_keys) == 50
    before = org.live_records_per_external_id()
    current = {
        r["snappt_property_id_c"]: r
        for r in ws.engine().dicts("SELECT * FROM salesforce_product_property")
        if not r["is_deleted"]
    }

    refused = run_pilot(ws, PILOT)
    items = _items(refused)
    assert refused.refused and refused.exit_code == 2
    assert not items["monitoring"].passed
    assert {r["channel"] for r in items["monitoring"].offending} == {"slack", "pagerduty", "email"}
    assert all(i.passed for k, i in items.items() if k != "monitoring")
    assert [r for r in ws.state().runs.recent(20) if r.pilot == PILOT] == []
    assert ws.state().pilot_validations.baseline(refused.preflight.preflight_id) == []
    assert org.live_records_per_external_id() == before

    monkeypatch.setenv("PROPSYNC_SLACK_WEBHOOK_URL", "https://hooks.example.com/services/x")
    done = run_pilot(ws, PILOT)
    assert not done.refused and done.preflight.passed and not done.preflight.forced
    assert _items(done)["monitoring"].measured == "slack"
    assert done.create is not None and done.update is not None
    assert done.exit_code == 0
    assert done.create.totals()["created"] == 50
    runs = [r for r in ws.state().runs.recent(20) if r.pilot == PILOT]
    assert sorted(r.sync for r in runs) == ["create", "update"]
    written = {a.snappt_property_id_c for r in runs for a in ws.state().audit.entries(r.run_id)}
    assert written and written <= set(create_keys) | set(update_keys)
    assert set(create_keys) <= written
    # The baseline is what Salesforce held before Sync B, record by record.
    baseline = ws.state().pilot_validations.baseline(done.preflight.preflight_id)
    assert done.baseline_records == len(baseline) == 50
    for b in baseline:
        was = current[b.snappt_property_id_c]
        assert b.salesforce_id == was["id"]
        for column in ("idv_enabled_c", "bank_linking_enabled_c", "active_property_count_c"):
            assert b.field_values[column] == was[column]
    # Only the pilot's records changed: every other external id as before.
    after = org.live_records_per_external_id()
    assert {k: v for k, v in after.items() if k not in create_keys} == {
        k: v for k, v in before.items() if k not in create_keys
    }
    assert all(after[k] == 1 for k in create_keys)

    again = run_pilot(ws, PILOT)
    items = _items(again)
    assert again.refused and not items["create_set_absent"].passed
    assert {r["snappt_property_id_c"] for r in items["create_set_absent"].offending} == set(
        create_keys
    )
    assert not items["queues"].passed
    assert {"queue": "create", "key": None, "reason": "no pilot row in properties_to_create"} in (
        items["queues"].offending
    )


def test_org_and_budget_items_fail_for_real(pilot_org: Callable[..., Org]) -> None:
    org = pilot_org()
    ws, client = org.ws, org.ws.client()
    assert pilot_run.org_answers(client).passed
    ok = pilot_run.budget(ws, client, PILOT)
    assert ok.passed and ok.measured == "2 call(s) planned"  # one Collections call per queue
    used = int(org.emu.usage()["total"])
    org.emu.set_knobs(daily_api_limit=used + 2)
    client.limits()  # the quota header now says: 1 call left
    short = pilot_run.budget(ws, client, PILOT)
    assert not short.passed
    assert short.offending == [{"planned_calls": 2, "remaining": 1, "daily_max": used + 2}]
    org.emu.set_knobs(daily_api_limit=1_000_000)
    assert restriction(ws, PILOT, None) is not None
    org.emu.stop()
    down = pilot_run.org_answers(client)
    assert not down.passed and down.measured == "no answer"
    assert len(down.offending) == 1 and down.offending[0]["error"]
