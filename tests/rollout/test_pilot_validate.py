"""`pilot validate` and `pilot signoff` end to end: every checklist item passing on a
clean pilot, then failing for real: records changed in Salesforce by another user and by
the integration user outside the pilot, a duplicate, the workflow switched off, injected
record errors, slow runs, a deleted record re-created; Park Kennedy in a pilot; the
sign-off gate."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page

from propsync.rollout.pilot_run import members_of, run_pilot
from propsync.rollout.pilot_signoff import SignoffRefused, latest_signed_validation, signoff
from propsync.rollout.pilot_validate import ValidationResult, validate
from propsync.rollout.report import Item
from propsync.sync.refresh import refresh
from tests.rollout.conftest import PILOT, OrgUser
from tests.sync.orgs import Org

ALL_ITEMS = {
    "created_once", "no_duplicates", "field_values", "feature_flags", "workflow",
    "no_stray_creates", "multi_property", "park_kennedy", "mismatches", "syncs_ran",
    "no_outside_impact", "error_rate", "duration", "read_back",
}  # fmt: skip


def _items(result: ValidationResult) -> dict[str, Item]:
    return {i.key: i for i in result.items}


def _failed(result: ValidationResult) -> set[str]:
    return {i.key for i in result.items if not i.passed}


def _validate_when_workflow_done(org: Org, name: str = PILOT) -> ValidationResult:
    """Validate once the emulator's workflow (0.2 s delay) has run on the new records."""
    deadline = time.time() + 15
    while True:
        result = validate(org.ws, name)
        if _items(result)["workflow"].passed or time.time() > deadline:
            return result
        time.sleep(0.5)


def _check_page(page: Page, result: ValidationResult) -> None:
    """The HTML report in Chromium: every item with its verdict and offending records."""
    page.goto(result.html.as_uri())
    assert page.locator("figure.chart svg").count() == 1
    verdict = page.locator("#verdict").inner_text()
    passed = sum(1 for i in result.items if i.passed)
    assert verdict == f"{passed} of {len(result.items)} items passed"
    for item in result.items:
        box = page.locator(f"div.item[data-item='{item.key}']")
        assert box.count() == 1, item.key
        assert box.locator(".badge").inner_text() == ("PASS" if item.passed else "FAIL")
        assert box.get_attribute("class") == f"item {'passed' if item.passed else 'failed'}"
        cells = box.locator("tbody tr")
        assert cells.count() == min(len(item.offending), 50)
        text = box.inner_text()
        for row in item.offending:
            for value in row.values():
                if isinstance(value, str) and value:
                    assert value in text, (item.key, value)


def test_clean_pilot_passes_then_real_changes_fail_it(
    pilot_org: Callable[..., Org], page: Page, screenshot: Callable[..., Path]
) -> None:
    org = pilot_org()
    ws = org.ws
    with pytest.raises(SignoffRefused, match="has not been validated"):
        signoff(ws, PILOT, by="ana")
    ran = run_pilot(ws, PILOT, no_monitoring=True)
    assert ran.exit_code == 0
    good = _validate_when_workflow_done(org)
    assert set(_items(good)) == ALL_ITEMS
    assert good.passed and good.exit_code == 0, [i.to_json() for i in good.items if not i.passed]
    items = _items(good)
    assert items["mismatches"].measured.endswith("flag(s) resolved")
    assert not items["mismatches"].measured.startswith("0 of 0")
    audited = sum(r.totals()["succeeded"] for r in (ran.create, ran.update) if r is not None)
    assert items["read_back"].measured == f"{audited} record(s) read back"
    text = good.markdown.read_text()
    assert all(i.name in text for i in good.items) and good.html.exists()
    _check_page(page, good)
    screenshot(page, "passed")
    signed = signoff(ws, PILOT, by="ana", note="looks right")
    assert [s.who for s in signed.signoffs] == ["ana"]
    gate = latest_signed_validation(ws, PILOT)
    assert gate is not None and gate.validation.validation_id == good.validation.validation_id

    members = members_of(ws, PILOT)
    engine = ws.engine()
    rows = {
        r["snappt_property_id_c"]: r for r in engine.dicts("SELECT * FROM properties_to_update")
    }
    # A mismatch the pilot resolved: FALSE in the baseline, TRUE expected (and now).
    columns = {"idv_enabled": "IDV_Enabled__c", "bank_linking_enabled": "Bank_Linking_Enabled__c",
               "payroll_enabled": "Payroll_Enabled__c",
               "income_insights_enabled": "Income_Insights_Enabled__c"}  # fmt: skip
    baseline = ws.state().pilot_validations.baseline(ran.preflight.preflight_id)
    mismatch, flag = next(
        (b.snappt_property_id_c, api)
        for b in baseline
        for column, api in columns.items()
        if b.field_values[f"{column}_c"] is False and rows[b.snappt_property_id_c][column]
    )
    multi = next(m.key for m in members if m.key != mismatch and rows[m.key]["is_multi_property"])
    pilot_keys = {m.key for m in members}
    outside = [k for k, r in rows.items() if k not in pilot_keys]
    someone = OrgUser(org.emu, org.emu.workflow_user_id)
    integration = OrgUser(org.emu, org.emu.integration_user_id)
    someone.update(rows[mismatch]["id"], **{flag: False})
    someone.update(rows[multi]["id"], Active_Property_Count__c=99)
    someone.update(rows[outside[0]]["id"], City__c="Changed by someone else")
    integration.update(rows[outside[1]]["id"], City__c="Changed by us, outside the pilot")
    create_key = next(m.key for m in members if m.queue == "create")
    someone.create(Name="Duplicate", snappt_property_id__c=f"0{create_key}")

    bad = validate(ws, PILOT)
    assert bad.exit_code == 1
    assert _failed(bad) == {
        "mismatches", "feature_flags", "field_values", "read_back", "multi_property",
        "no_outside_impact", "no_duplicates",
    }  # fmt: skip
    items = _items(bad)
    assert {(r["snappt_property_id_c"], r["field"]) for r in items["mismatches"].offending} == {
        (mismatch, flag)
    }
    back = {(r["Id"], r["field"]) for r in items["read_back"].offending}
    assert (rows[mismatch]["id"], flag) in back
    assert back <= {(rows[mismatch]["id"], flag), (rows[multi]["id"], "Active_Property_Count__c")}
    assert {r["field"] for r in items["multi_property"].offending} == {"Active_Property_Count__c"}
    assert [r["Id"] for r in items["no_outside_impact"].offending] == [rows[outside[1]]["id"]]
    assert [r["property"] for r in items["no_duplicates"].offending] == [create_key]
    _check_page(page, bad)
    assert screenshot(page, "failed").stat().st_size > 10_000
    with pytest.raises(SignoffRefused, match=r"7 failed item\(s\)"):
        signoff(ws, PILOT, by="ana")
    assert latest_signed_validation(ws, PILOT) is None  # a newer, failing validation


def test_workflow_off_record_errors_and_slow_runs_fail(pilot_org: Callable[..., Org]) -> None:
    org = pilot_org(
        sync={"max_record_attempts": 1},
        rollout={"workflow_window": "1s", "pilot_max_duration": "0.01s"},
    )
    org.emu.set_knobs(workflow_enabled=False, lock_error_rate=0.15)
    run = run_pilot(org.ws, PILOT, no_monitoring=True)
    assert run.exit_code == 1  # PARTIAL: some records were refused
    failed_runs = sum(r.totals()["failed"] for r in (run.create, run.update) if r is not None)
    assert failed_runs > 0
    time.sleep(1.5)  # past the 1 s window
    result = validate(org.ws, PILOT)
    items = _items(result)
    assert {"workflow", "error_rate", "duration", "created_once"} <= _failed(result)
    assert items["read_back"].passed  # what was written is there
    errors = [r for r in items["error_rate"].offending if r["operation"] in ("CREATE", "UPDATE")]
    assert len(errors) == failed_runs
    assert {r["error_code"] for r in errors} == {"UNABLE_TO_LOCK_ROW"}
    assert {r["reason"] for r in items["workflow"].offending} == {"not filled within the window"}
    created = run.create.totals()["created"] if run.create else 0
    assert len(items["workflow"].offending) == created
    assert len(items["created_once"].offending) == 50 - created
    assert len(items["duration"].offending) == 2


def test_park_kennedy_and_a_record_created_outside_the_create_set(
    pilot_org: Callable[..., Org],
) -> None:
    org = pilot_org(select_pilot=False)
    ws = org.ws
    refresh(ws, ws.client())
    engine = ws.engine()
    pk = engine.dicts(
        "SELECT rds_property_id, snappt_property_id_c, id FROM properties_to_update"
        " WHERE sfdc_id = 'a01Dn00000HHUanIAH' ORDER BY rds_property_id"
    )
    assert len(pk) == 2
    unsyncable = sorted({int(u["rds_property_id"]) for u in org.truth["unsyncable"]}) or [-1]
    marks = ", ".join("?" for _ in unsyncable)
    plain = engine.dicts(
        "SELECT rds_property_id, snappt_property_id_c, id FROM properties_to_update"
        f" WHERE NOT is_multi_property AND rds_property_id NOT IN ({marks})"
        " ORDER BY rds_property_id LIMIT 1",
        unsyncable,
    )[0]
    new = engine.dicts(
        "SELECT rds_property_id FROM properties_to_create"
        f" WHERE rds_property_id NOT IN ({marks}) ORDER BY rds_property_id LIMIT 2",
        unsyncable,
    )
    rows = [{"queue": "update", "rds_property_id": int(r["rds_property_id"]),
             "snappt_property_id_c": r["snappt_property_id_c"], "pilot_reason": "Park Kennedy"}
            for r in [*pk, plain]]  # fmt: skip
    rows += [{"queue": "create", "rds_property_id": int(r["rds_property_id"])} for r in new]
    ws.state().pilots.save("pk", rows)
    someone = OrgUser(org.emu, org.emu.workflow_user_id)
    someone.delete(plain["id"])  # its property is queued for creation again

    refused = run_pilot(ws, "pk", no_monitoring=True)
    assert refused.refused
    queues = next(i for i in refused.items if i.key == "queues")
    assert queues.offending == [{"queue": "update", "key": plain["snappt_property_id_c"],
                                 "reason": "not in properties_to_update any more"}]  # fmt: skip
    forced = run_pilot(ws, "pk", no_monitoring=True, force=True)
    assert forced.preflight.forced and forced.exit_code == 0
    result = _validate_when_workflow_done(org, "pk")
    items = _items(result)
    assert items["park_kennedy"].passed and items["park_kennedy"].measured.startswith("2 record(s)")
    assert "count 2" in items["park_kennedy"].measured
    assert _failed(result) == {"no_stray_creates"}
    assert [r["key"] for r in items["no_stray_creates"].offending] == [
        plain["snappt_property_id_c"]
    ]

    someone.update(pk[1]["id"], Bank_Linking_Enabled__c=False)
    again = validate(ws, "pk")
    offending = _items(again)["park_kennedy"].offending
    assert [(r["Id"], r["field"]) for r in offending] == [(pk[1]["id"], "Bank_Linking_Enabled__c")]
