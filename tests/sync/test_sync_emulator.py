"""Sync A and Sync B end to end: a generated scenario, the real client over HTTPS, the
emulator (with its fault knobs), the real state store. Every expected number comes
from the generator's ground truth or from the org itself."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from propsync.errors import GuardrailTripped, LockHeld
from propsync.models import metrics
from propsync.state import open_state
from propsync.sync import plan, run_report, run_sync
from tests.sync.orgs import Org, make_org


@pytest.fixture
def org(tmp_path: Path) -> Iterator[Org]:
    o = make_org(tmp_path / "org")
    try:
        yield o
    finally:
        o.close()


def _unsyncable(org: Org) -> dict[str, str]:
    return {str(u["rds_property_id"]): u["reason"] for u in org.truth["unsyncable"]}


def _audit(org: Org, run_id: str) -> list[dict]:
    return list(open_state(org.ws).audit(run_id))


def test_sync_all_converges_failures_carry_salesforce_codes_and_rerun_writes_nothing(
    org: Org,
) -> None:
    truth, unsyncable = org.truth, _unsyncable(org)
    before = org.live_records_per_external_id()
    first = plan(org.ws, "all")
    doc = first.to_json()
    # The queues are the generator's: creates (R5) and the update records with changes (R6).
    assert doc["records_to_send"]["create"] == truth["properties_to_create"]
    assert doc["predicted_failures"]["create"] == len(unsyncable)
    assert doc["records_to_write"]["create"] == truth["properties_to_create"] - len(unsyncable)
    assert doc["records_to_write"]["update"] == truth["update_records_with_changes"]
    assert {r["rds_property_id"] for r in doc["queues"]["create"]["invalid"]} == set(unsyncable)

    result = run_sync(org.ws, "all")
    assert result.status == "PARTIAL" and result.exit_code == 1
    totals = result.totals()
    assert totals["failed"] == len(unsyncable)
    assert totals["created"] == truth["properties_to_create"] - len(unsyncable)
    assert totals["updated"] == truth["update_records_with_changes"]

    rows = _audit(org, result.run_id)
    assert len(rows) == totals["sent"]  # one outcome per record sent
    failed = {
        str(r["rds_property_id"]): r["error_code"] for r in rows if r["sync_status"] == "FAILED"
    }
    assert failed == unsyncable  # Salesforce's own codes: STRING_TOO_LONG, REQUIRED_FIELD_MISSING
    update = next(r for r in rows if r["sync_operation"] == "UPDATE")
    assert (
        set(update["before_values"]) == set(update["after_values"]) == set(update["fields_written"])
    )
    assert update["before_values"] != update["after_values"]

    # Nothing duplicated: every RDS id has at most as many live records as before, and
    # every created one exactly one.
    after = org.live_records_per_external_id()
    assert all(after[k] <= max(before[k], 1) for k in after)
    created = {str(r["rds_property_id"]) for r in rows if r["created"]}
    assert created and all(after[k] == 1 for k in created)

    second = plan(org.ws, "all")
    assert second.records_to_write == 0
    assert second.to_json()["held_back"]["create"] == len(unsyncable)
    snap = metrics.snapshot(org.ws.engine())
    assert snap["feature_sync_accuracy_pct"] == 100.0
    assert all(f["accuracy_pct"] == 100.0 for f in snap["feature_accuracy"].values())
    assert snap["properties_missing_from_sf"] == len(unsyncable)

    rerun = run_sync(org.ws, "all")
    assert rerun.status == "SUCCEEDED" and rerun.totals()["sent"] == 0
    report = run_report(org.ws, result.run_id)
    assert sum(report["error_codes"].values()) == len(unsyncable)
    assert report["run"]["status"] == "PARTIAL"


def test_guardrail_refuses_a_large_sync_b_and_force_overrides(org: Org) -> None:
    share = plan(org.ws, "update").queues["update"].change_share
    assert share is not None and share > 0.1
    org.ws.config = org.ws.config.model_copy(
        update={"sync": org.ws.config.sync.model_copy(update={"max_change_share": 0.1})}
    )
    with pytest.raises(GuardrailTripped, match=r"would change \d+ of \d+ matched records"):
        run_sync(org.ws, "update")
    refused = open_state(org.ws).runs(limit=1)[0]
    assert refused["status"] == "ABORTED" and not _audit(org, refused["run_id"])
    forced = run_sync(org.ws, "update", force=True)
    assert forced.status == "SUCCEEDED"
    assert forced.totals()["updated"] == org.truth["update_records_with_changes"]


def test_second_run_is_refused_while_the_lock_is_held(org: Org) -> None:
    state = open_state(org.ws)
    with state.lock("sync-update", "someone-else"), pytest.raises(LockHeld, match="someone-else"):
        run_sync(org.ws, "update", force=True)
    assert state.runs(limit=1)[0]["status"] == "ABORTED"


def test_ids_restrict_a_run(org: Org, tmp_path: Path) -> None:
    plan(org.ws, "create")  # builds the views
    creates = [
        str(r[0])
        for r in org.ws.engine().rows(
            "SELECT rds_property_id FROM properties_to_create ORDER BY rds_property_id DESC LIMIT 3"
        )
    ]
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(creates) + "\n", encoding="utf-8")
    result = run_sync(org.ws, "all", ids=ids_file)
    rows = _audit(org, result.run_id)
    assert {str(r["rds_property_id"]) for r in rows} == set(creates)
    assert all(r["sync_status"] == "SUCCESS" and r["created"] for r in rows)
