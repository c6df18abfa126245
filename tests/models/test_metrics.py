"""The plan's success metrics, computed from the views of a hand-built scenario."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from propsync.models import metrics
from tests.scenario import Scenario, sync_to_expected

PK15 = "a01Dn00000HHUan"


def _build(s: Scenario) -> None:
    # Group PK: two active members, one with IDV, one with bank linking.
    s.prop(1, sfdc_id=PK15, features=("identity_verification",))
    s.prop(2, sfdc_id=PK15 + "IAH", features=("bank_linking",))
    s.prop(3, features=("payroll_linking",))  # P1: missing, with a feature
    s.prop(4)  # missing, no feature
    s.prop(5, status="INACTIVE")
    s.record(1, idv_enabled_c=True)  # bank flag wrong, count wrong
    s.record(2, idv_enabled_c=True, bank_linking_enabled_c=True)  # count wrong only
    s.record(5)
    s.record(77)  # orphan
    s.build()


def test_snapshot_before_and_after_a_perfect_sync(scenario: Scenario) -> None:
    _build(scenario)
    before = metrics.snapshot(scenario.engine)
    assert before["active_properties"] == 4
    assert before["active_in_salesforce"] == 2
    assert before["properties_in_sf_pct"] == 50.0
    assert before["properties_missing_from_sf"] == 2
    assert before["p1_missing"] == 1 and before["p1_missing_ids"] == ["3"]
    # Records 1, 2 (property 5 expects all-false and holds all-false).
    assert before["feature_records_compared"] == 3
    assert before["feature_mismatched_records"] == 1  # record of property 1: bank flag
    assert before["feature_sync_accuracy_pct"] == round(100 * 2 / 3, 2)
    assert before["feature_accuracy"]["Bank Linking"]["mismatches"] == 1
    assert before["feature_accuracy"]["IDV"]["accuracy_pct"] == 100.0
    assert before["multi_property_cases"] == 2
    assert before["multi_property_cases_handled"] == 0  # counts are wrong on both
    assert before["sync_reliability_pct"] is None
    json.dumps(before)

    # A perfect sync: create the two missing records, update the rest, log outcomes.
    scenario.engine.execute(
        "INSERT INTO salesforce_product_property (id, snappt_property_id_c, is_deleted)"
        " SELECT 'new' || snappt_property_id_c, snappt_property_id_c, FALSE"
        " FROM properties_to_create"
    )
    sync_to_expected(scenario.engine)
    now = datetime.now(UTC)
    scenario.engine.execute(
        "INSERT INTO property_sync_audit_log (sync_timestamp, run_id, sync_operation,"
        " sync_status) VALUES (?, 'r1', 'CREATE', 'SUCCESS'), (?, 'r1', 'UPDATE', 'SUCCESS'),"
        " (?, 'r1', 'UPDATE', 'FAILED'), (?, 'r1', 'ROLLBACK', 'FAILED')",
        [now, now, now, now],
    )
    after = metrics.snapshot(scenario.engine, baseline=before)
    assert after["properties_in_sf_pct"] == 100.0
    assert after["properties_missing_from_sf"] == 0
    assert after["feature_sync_accuracy_pct"] == 100.0
    assert after["p1_baseline"] == 1 and after["p1_synced"] == 1
    assert after["multi_property_cases_handled"] == 2
    assert after["sync_outcomes"] == 3  # ROLLBACK rows are not sync attempts
    assert after["sync_reliability_pct"] == round(100 * 2 / 3, 2)
    assert not scenario.engine.table_exists("_propsync_metrics_p1_baseline")

    table = {row["metric"]: row for row in metrics.compare(before, after)}
    assert table["Properties in Salesforce"]["before"] == "50.0%"
    assert table["Properties in Salesforce"]["improvement"] == "+50.0 pts"
    assert table["Properties missing from SF"]["after"] == "0"
    assert table["Properties missing from SF"]["improvement"] == "-100%"
    assert table["P1 critical properties synced"]["after"] == "1"
    assert table["Multi-property cases handled"]["improvement"] == "2 of 2"
    assert table["Sync reliability"]["before"] == "n/a"


def test_dashboard_views_read_the_state_tables(scenario: Scenario) -> None:
    _build(scenario)
    now = datetime.now(UTC)
    scenario.engine.execute(
        "INSERT INTO property_sync_audit_log (sync_timestamp, run_id, sync_operation,"
        " sync_status) VALUES (?, 'r1', 'UPDATE', 'SUCCESS'), (?, 'r1', 'UPDATE', 'FAILED')",
        [now, now],
    )
    scenario.engine.execute(
        "INSERT INTO sync_queue_measurements VALUES (?, 10, 20), (?, 30, 40)", [now, now]
    )
    health = scenario.engine.dicts("SELECT * FROM sync_health_7d")
    assert [(h["sync_operation"], h["total_syncs"], h["success_rate_pct"]) for h in health] == [
        ("UPDATE", 2, 50.0)
    ]
    q = scenario.one("SELECT * FROM sync_queue_sizes_24h")
    assert (q["avg_create_queue"], q["max_update_queue"]) == (20.0, 40)
    dash = scenario.one("SELECT * FROM sync_monitoring_dashboard")
    assert dash["properties_to_create"] == 2 and dash["last_24h_failed_syncs"] == 1
    missing = scenario.one("SELECT * FROM properties_missing_from_sf")
    # Widget 5 counts only properties with a valid sfdc_id; 3 and 4 have none.
    assert missing["missing_property_count"] == 0 and missing["create_queue_count"] == 2
    assert missing["status"].endswith("OK: <50 properties missing")
