"""The plan's SQL on hand-built rows in a real DuckDB: what each queue sends, field by
field, what the describe predicts will fail, restrictions, and drift."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from propsync.config import SyncConfig
from propsync.errors import UsageError
from propsync.salesforce.client import CLEAR
from propsync.sync.mapping import rules_from_describe
from propsync.sync.payload import items_from_batch, to_salesforce
from propsync.sync.plan import estimate_calls, queue_plan
from propsync.sync.restrict import from_ids, read_ids_file
from tests.scenario import SyncScenario as Scenario

RULES = rules_from_describe(None)
CFG = SyncConfig()
INTEGRATION = "005000000000001AAA"
OTHER = "005000000000002AAA"


def _items(scenario: Scenario, sql: str, queue: str) -> list:
    out = []
    for batch in scenario.engine.batches(sql):
        out.extend(items_from_batch(queue, batch))  # type: ignore[arg-type]
    return out


def test_create_queue_counts_and_predicted_failures(scenario: Scenario) -> None:
    scenario.prop(1, features=("identity_verification",))
    scenario.prop(2, name="x" * 81)
    scenario.prop(3, name="")  # Name is required: blank is missing
    scenario.prop(4, name="y" * 80)  # at the limit: fine
    scenario.prop(5, status="INACTIVE")  # not syncable (R1)
    scenario.build()
    plan = queue_plan(scenario.engine, "create", RULES, CFG)
    assert plan.records == 4
    assert plan.predicted_failures == 2
    assert plan.records_to_write == 2
    reasons = {r["rds_property_id"]: r["reason"] for r in plan.invalid}
    assert reasons["2"] == "Name: STRING_TOO_LONG (81 > 80 characters)"
    assert reasons["3"].startswith("Name: REQUIRED_FIELD_MISSING")
    assert plan.mode == "collections" and plan.api_calls == 1
    items = {
        i.key: i for i in _items(scenario, f"SELECT * FROM {plan.table} ORDER BY seq", "create")
    }
    one = items["1"].record
    assert one["snappt_property_id__c"] == "1"
    assert one["IDV_Enabled__c"] is True and one["Bank_Linking_Enabled__c"] is False
    assert one["Active_Property_Count__c"] == 1
    assert one["RDS_Created_At__c"] == "2024-01-02T00:00:00.000Z"
    assert "sf_property_id__c" not in one  # R7


def test_update_sends_only_changed_fields_and_clears_with_clear(scenario: Scenario) -> None:
    scenario.prop(10, features=("bank_linking",))
    scenario.prop(11)
    scenario.prop(12)
    scenario.record(10)
    scenario.record(11)
    scenario.record(12)
    scenario.build()
    scenario.sync_to_expected()
    scenario.engine.execute(
        "UPDATE salesforce_product_property SET bank_linking_enabled_c = FALSE "
        "WHERE snappt_property_id_c = '10'"
    )
    # RDS lost the city of 11: Salesforce must be told to empty it, not to leave it.
    scenario.engine.execute("UPDATE properties SET city = NULL WHERE id = 11")
    scenario.rebuild()
    plan = queue_plan(scenario.engine, "update", RULES, CFG)
    assert plan.records == 2 and plan.matched == 3
    assert plan.change_share == pytest.approx(2 / 3)
    changed = {f.field: f.count for f in plan.fields if f.count}
    assert changed == {"Bank_Linking_Enabled__c": 1, "City__c": 1}
    bank = next(f for f in plan.fields if f.field == "Bank_Linking_Enabled__c")
    assert bank.samples[0]["before"] is False and bank.samples[0]["after"] is True
    items = {
        i.rds_property_id: i
        for i in _items(scenario, f"SELECT * FROM {plan.table} ORDER BY seq", "update")
    }
    assert set(items["10"].record) == {"Id", "Bank_Linking_Enabled__c"}
    assert items["10"].before == {"Bank_Linking_Enabled__c": False}
    assert items["11"].record["City__c"] is CLEAR
    assert items["11"].after_image() == {"City__c": None}
    assert items["11"].before == {"City__c": "Austin"}


def test_drift_counts_changes_by_other_users_after_the_last_run(scenario: Scenario) -> None:
    last_run = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
    later = last_run + dt.timedelta(hours=1)
    for pid in (20, 21, 22):
        scenario.prop(pid, features=("payroll_linking",))
    scenario.record(20, last_modified_by_id=OTHER, last_modified_date=later)
    scenario.record(21, last_modified_by_id=INTEGRATION, last_modified_date=later)
    scenario.record(22, last_modified_by_id=OTHER, last_modified_date=last_run - dt.timedelta(1))
    scenario.build()
    plan = queue_plan(
        scenario.engine,
        "update",
        RULES,
        CFG,
        integration_user_id=INTEGRATION,
        since=last_run,
    )
    assert plan.records == 3
    assert plan.drift_count == 1
    assert plan.drift[0]["rds_property_id"] == "20"
    assert "Payroll_Enabled__c" in plan.drift[0]["fields"]
    assert "overwrite" in plan.drift_note


def test_restriction_limits_both_queues(scenario: Scenario) -> None:
    for pid in (30, 31, 32):
        scenario.prop(pid, features=("income_insights",))
    scenario.record(32)
    scenario.build()
    r = from_ids([31, 32])
    r.install(scenario.engine)
    create = queue_plan(scenario.engine, "create", RULES, CFG, where=r.where("create"))
    update = queue_plan(scenario.engine, "update", RULES, CFG, where=r.where("update"))
    assert create.records == 1 and update.records == 1
    assert [i.key for i in _items(scenario, f"SELECT * FROM {create.table}", "create")] == ["31"]


def test_ids_file(tmp_path: Path) -> None:
    path = tmp_path / "ids.txt"
    path.write_text("# pilot\n 12\n\n7\n12\n", encoding="utf-8")
    assert read_ids_file(path) == frozenset({"12", "7"})
    # Keys are text (R9): any non-empty line is an id, trimmed as keys are at extraction.
    path.write_text("12\n abc \n9f0c2b7e-1d2a-4c1e-8f00-0123456789ab\n", encoding="utf-8")
    assert read_ids_file(path) == frozenset({"12", "abc", "9f0c2b7e-1d2a-4c1e-8f00-0123456789ab"})
    path.write_text("# nothing but a comment\n\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"ids.txt: no ids in the file"):
        read_ids_file(path)


def test_call_estimates_follow_the_threshold() -> None:
    cfg = SyncConfig(bulk_threshold=2_000, bulk_batch_size=100_000)
    assert estimate_calls(0, cfg) == ("none", 0)
    assert estimate_calls(1_081, cfg) == ("collections", 6)
    mode, calls = estimate_calls(250_000, cfg)
    assert mode == "bulk" and calls == 3 * 7


def test_datetimes_go_out_in_utc_milliseconds() -> None:
    value = dt.datetime(2024, 3, 4, 5, 6, 7, 891_234, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert to_salesforce(value) == "2024-03-04T03:06:07.891Z"


def test_a_record_rejected_for_the_same_values_is_held_back(scenario: Scenario) -> None:
    from propsync.state import AuditRecord

    scenario.prop(40, name="z" * 81)
    scenario.prop(41)
    scenario.build()
    first = queue_plan(scenario.engine, "create", RULES, CFG)
    assert (first.records, first.predicted_failures, first.held_back) == (2, 1, 0)
    rejected = next(
        i for i in _items(scenario, f"SELECT * FROM {first.table}", "create") if i.key == "40"
    )
    scenario.store.audit.append(
        [
            AuditRecord(
                run_id="r1",
                sync_operation="CREATE",
                sync_status="FAILED",
                rds_property_id=40,
                snappt_property_id_c="40",
                error_code="STRING_TOO_LONG",
                after_values=rejected.after_image(),
            )
        ]
    )
    again = queue_plan(scenario.engine, "create", RULES, CFG)
    assert (again.records, again.predicted_failures, again.held_back) == (1, 0, 1)
    assert again.invalid[0]["held_back"] and "STRING_TOO_LONG" in again.invalid[0]["reason"]
    assert queue_plan(scenario.engine, "create", RULES, CFG, retry_failed=True).records == 2
    # New values (RDS fixed the name, still too long): worth sending again.
    scenario.engine.execute("UPDATE properties SET name = ? WHERE id = 40", ["w" * 81])
    scenario.rebuild()
    assert queue_plan(scenario.engine, "create", RULES, CFG).held_back == 0
