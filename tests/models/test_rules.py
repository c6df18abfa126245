"""Rules R1-R8 on hand-built rows in a real DuckDB, including the cases that break
naive code."""

from __future__ import annotations

from datetime import timedelta

from propsync import models
from propsync.models.queues import UPDATE_FIELDS, UPDATE_QUEUE_SIZE_SQL
from propsync.sfid import to18
from tests.scenario import T0, Scenario, sync_to_expected

IDV, BANK, PAYROLL, INCOME = (
    "identity_verification",
    "bank_linking",
    "payroll_linking",
    "income_insights",
)
PK15 = "a01Dn00000HHUan"
PK18 = to18(PK15)


def ids(s: Scenario, view: str, column: str = "rds_property_id") -> list:
    """The view's keys as the integers the scenario gave them (the views carry every key
    as text, R9), sorted."""
    keys = [r[0] for r in s.engine.rows(f"SELECT {column} FROM {view}")]
    return sorted(int(k) if k.isdigit() else k for k in keys)


def expected(s: Scenario, pid: int) -> dict:
    return s.one("SELECT * FROM property_expected_values WHERE rds_property_id = ?", [pid])


def test_r1_only_active_and_not_soft_deleted_are_syncable(scenario: Scenario) -> None:
    scenario.prop(1)
    scenario.prop(2, status="INACTIVE")
    scenario.prop(3, deleted=True)  # status ACTIVE but soft-deleted
    scenario.prop(4, status=None)
    scenario.prop(5, status="active")  # R1 compares exactly
    scenario.build()
    assert ids(scenario, "properties_to_create") == [1]
    rows = scenario.engine.rows(
        "SELECT CAST(rds_property_id AS BIGINT), property_status, is_active"
        " FROM rds_properties_enriched ORDER BY 1"
    )
    assert rows == [
        (1, "ACTIVE", True),
        (2, "INACTIVE", False),
        (3, "DELETED", False),
        (4, None, False),
        (5, "active", False),
    ]


def test_r2_normalisation_and_grouping(scenario: Scenario) -> None:
    scenario.prop(1, sfdc_id=PK15)  # 15-char
    scenario.prop(2, sfdc_id=f"  {PK18}\t")  # 18-char with stray whitespace
    scenario.prop(3, sfdc_id=PK15 + PK18[15:].lower())  # lower-case suffix: valid
    scenario.prop(4, sfdc_id="a01Dn00000HHUAN")  # differs only in case: another id
    scenario.prop(5, sfdc_id=PK15 + "AAA")  # wrong checksum: invalid
    scenario.prop(6, sfdc_id="")
    scenario.prop(7, sfdc_id="   ")
    scenario.prop(8, sfdc_id=None)
    scenario.prop(9, sfdc_id="not-an-id")
    scenario.build()
    rows = dict(
        scenario.engine.rows(
            "SELECT CAST(rds_property_id AS BIGINT), sfdc_id FROM rds_properties_enriched"
            " ORDER BY 1"
        )
    )
    assert rows == {
        1: PK18,
        2: PK18,
        3: PK18,
        4: to18("a01Dn00000HHUAN"),
        5: None,
        6: None,
        7: None,
        8: None,
        9: None,
    }
    groups = dict(
        scenario.engine.rows(
            "SELECT sfdc_id, active_property_count FROM properties_aggregated_by_sfdc_id"
        )
    )
    assert groups == {PK18: 3, to18("a01Dn00000HHUAN"): 1}
    invalid = scenario.engine.rows(
        "SELECT rds_property_id, reason FROM sync_exceptions"
        " WHERE exception_type = 'INVALID_SFDC_ID' ORDER BY 1"
    )
    assert [r[0] for r in invalid] == ["5", "9"]  # blanks and NULL are not errors
    assert "RDS property 5" in invalid[0][1] and "sfdc_id" in invalid[0][1]


def test_r3_aggregation_over_active_members_only(scenario: Scenario) -> None:
    scenario.prop(1, sfdc_id=PK18, features=(IDV,), created_at=T0 + timedelta(days=5))
    scenario.prop(2, sfdc_id=PK15, features=(BANK,), created_at=T0 + timedelta(days=1))
    scenario.prop(3, sfdc_id=PK18, features=(PAYROLL,), created_at=T0 + timedelta(days=1))
    scenario.prop(4, sfdc_id=PK18, features=(INCOME,), status="INACTIVE")  # not counted
    scenario.prop(5, sfdc_id=PK18, features=(INCOME,), deleted=True)  # not counted
    scenario.build()
    g = scenario.one("SELECT * FROM properties_aggregated_by_sfdc_id")
    assert g["sfdc_id"] == PK18
    assert (g["idv_enabled"], g["bank_linking_enabled"], g["payroll_enabled"]) == (
        True,
        True,
        True,
    )
    assert g["income_insights_enabled"] is False
    assert g["active_property_count"] == 3 and g["is_multi_property"] is True
    # Earliest created_at; the tie between 2 and 3 goes to the smaller id.
    assert g["primary_rds_property_id"] == "2"


def test_r3_primary_with_null_created_at_sorts_last(scenario: Scenario) -> None:
    scenario.prop(7, sfdc_id=PK18)
    scenario.prop(8, sfdc_id=PK18)
    scenario.build()
    scenario.engine.execute("UPDATE properties SET created_at = NULL WHERE id = 7")
    models.build(scenario.engine)  # the RDS-side models are tables on DuckDB
    assert (
        scenario.one("SELECT primary_rds_property_id FROM properties_aggregated_by_sfdc_id")[
            "primary_rds_property_id"
        ]
        == "8"
    )


def test_r4_expected_values_for_every_property(scenario: Scenario) -> None:
    scenario.prop(1, sfdc_id=PK18, features=(IDV,))
    scenario.prop(2, sfdc_id=PK15, features=(BANK,))
    scenario.prop(3, sfdc_id=None, features=(PAYROLL,))  # active, no id: own flags
    scenario.prop(4, sfdc_id=PK18, status="INACTIVE", features=(INCOME,))  # group active
    # A group whose only active member was deactivated: all false, count 0.
    scenario.prop(5, sfdc_id="001000000000001", status="INACTIVE", features=(IDV, BANK))
    scenario.prop(6, sfdc_id="bad", status="INACTIVE", features=(IDV,))
    scenario.build()
    e1, e3, e4, e5, e6 = (expected(scenario, p) for p in (1, 3, 4, 5, 6))
    assert e1["expected_basis"] == "GROUP"
    assert (e1["idv_enabled"], e1["bank_linking_enabled"], e1["active_property_count"]) == (
        True,
        True,
        2,
    )
    assert e1["is_multi_property"] is True
    assert e3["expected_basis"] == "OWN"
    assert (e3["payroll_enabled"], e3["active_property_count"], e3["is_multi_property"]) == (
        True,
        1,
        False,
    )
    # Inactive member of a live group expects the group, not its own flags.
    assert (e4["income_insights_enabled"], e4["idv_enabled"], e4["active_property_count"]) == (
        False,
        True,
        2,
    )
    for e in (e5, e6):
        assert e["expected_basis"] == "NO_ACTIVE_GROUP"
        assert not any(
            e[k]
            for k in (
                "idv_enabled",
                "bank_linking_enabled",
                "payroll_enabled",
                "income_insights_enabled",
                "is_multi_property",
                "has_any_features_enabled",
            )
        )
        assert e["active_property_count"] == 0
    # Display fields are always the property's own.
    assert e4["property_name"] == "Property 4" and e4["company_id"] == "1"


def test_r4_record_expects_its_snappt_property_not_its_sf_property_id(
    scenario: Scenario,
) -> None:
    other = "001000000000099"
    scenario.prop(1, sfdc_id=PK18, features=(IDV,))
    scenario.prop(2, sfdc_id=PK18)
    scenario.prop(3, sfdc_id=other, features=(INCOME,))
    # Record of property 2 carries the production id of another group (an id mismatch).
    rid = scenario.record(2, sf_property_id=to18(other))
    scenario.build()
    row = scenario.one("SELECT * FROM properties_to_update WHERE id = ?", [rid])
    assert row["idv_enabled"] is True and row["income_insights_enabled"] is False
    assert row["active_property_count"] == 2
    assert row["has_sf_property_id_mismatch"] is True


def test_r5_create_queue(scenario: Scenario) -> None:
    scenario.prop(1)  # no record
    scenario.prop(2)
    scenario.record(2)  # has a live record
    scenario.prop(3)
    scenario.record(3, deleted=True)  # only a deleted record: still queued
    scenario.prop(4, status="INACTIVE")  # never created
    scenario.prop(5)
    scenario.record(" 5")  # not the exact text of the RDS id
    scenario.prop(6, sfdc_id=PK18, features=(IDV,))
    scenario.prop(7, sfdc_id=PK15)
    scenario.record(6)
    scenario.build()
    assert ids(scenario, "properties_to_create") == [1, 3, 5, 7]
    row = scenario.one("SELECT * FROM properties_to_create WHERE rds_property_id = 7")
    # Created with its R4 values, so the next Sync B has nothing to flip.
    assert row["idv_enabled"] is True and row["active_property_count"] == 2
    assert row["snappt_property_id_c"] == "7"
    deleted = scenario.one(
        "SELECT has_deleted_record FROM properties_to_create WHERE rds_property_id = 3"
    )
    assert deleted["has_deleted_record"] is True


def test_r6_update_queue_diff(scenario: Scenario) -> None:
    scenario.prop(1, sfdc_id=PK18, features=(IDV,))
    scenario.prop(2, sfdc_id=PK15, features=(BANK,))
    scenario.prop(3)
    r1 = scenario.record(1)
    r2 = scenario.record(2)
    r3 = scenario.record(3)
    scenario.record(4)  # orphan
    scenario.record(1, deleted=True)  # deleted copy: ignored
    scenario.build()
    assert ids(scenario, "properties_to_update", "id") == sorted([r1, r2, r3])
    sync_to_expected(scenario.engine)
    assert (
        scenario.engine.scalar(
            "SELECT COUNT(*) FROM properties_to_update WHERE has_changes_since_last_sync"
        )
        == 0
    )
    # One field drifts: only that field is flagged.
    scenario.engine.execute(
        "UPDATE salesforce_product_property SET bank_linking_enabled_c = FALSE WHERE id = ?", [r1]
    )
    # A NULL on the Salesforce side IS DISTINCT FROM the expected value.
    scenario.engine.execute(
        "UPDATE salesforce_product_property SET city_c = NULL WHERE id = ?", [r3]
    )
    rows = {r["id"]: r for r in models.show(scenario.engine, "properties_to_update", None)}
    changed = {rid: [f.api_name for f in UPDATE_FIELDS if rows[rid][f.changed]] for rid in rows}
    assert changed == {r1: ["Bank_Linking_Enabled__c"], r2: [], r3: ["City__c"]}
    assert rows[r1]["changed_field_count"] == 1 and rows[r1]["has_changes_since_last_sync"]
    assert rows[r2]["has_changes_since_last_sync"] is False


def test_r6_inactive_and_deactivated_group_records_are_updated_to_zero(
    scenario: Scenario,
) -> None:
    scenario.prop(1, sfdc_id=PK18, status="INACTIVE", features=(IDV,))
    rid = scenario.record(1, idv_enabled_c=True, active_property_count_c=1)
    scenario.build()
    row = scenario.one("SELECT * FROM properties_to_update WHERE id = ?", [rid])
    assert row["idv_enabled"] is False and row["active_property_count"] == 0
    assert row["idv_enabled_changed"] and row["active_property_count_changed"]
    assert ids(scenario, "properties_to_create") == []


def test_r6_created_at_compared_at_salesforce_precision(scenario: Scenario) -> None:
    created = T0 + timedelta(microseconds=123456)
    scenario.prop(1, created_at=created)
    rid = scenario.record(1)
    scenario.build()
    sync_to_expected(scenario.engine)
    stored = scenario.engine.scalar(
        "SELECT rds_created_at_c FROM salesforce_product_property WHERE id = ?", [rid]
    )
    assert stored == T0 + timedelta(microseconds=123000)
    row = scenario.one("SELECT rds_created_at_changed, created_at FROM properties_to_update")
    assert row["rds_created_at_changed"] is False and row["created_at"] == created


def test_r7_queues_never_carry_sf_property_id_as_a_write(scenario: Scenario) -> None:
    scenario.prop(1, sfdc_id=PK18)
    scenario.record(1, sf_property_id="001000000000099AAA")
    scenario.build()
    written = {f.api_name for f in UPDATE_FIELDS}
    assert "sf_property_id__c" not in written
    assert "snappt_property_id__c" not in written  # the match key is never updated
    columns = {r[0] for r in scenario.engine.rows("DESCRIBE properties_to_update")}
    assert not any(c.startswith("sf_property_id") and c.endswith("_changed") for c in columns)
    assert {f.changed for f in UPDATE_FIELDS} <= columns


def test_r8_orphans_duplicates_and_mismatches_are_reported_not_queued(
    scenario: Scenario,
) -> None:
    scenario.prop(123, sfdc_id=PK18)
    scenario.prop(124, sfdc_id=PK15)
    scenario.prop(125, sfdc_id=None)
    scenario.prop(126)
    scenario.prop(127, sfdc_id=f" {PK15}")  # 15-char in RDS ...
    exact = scenario.record(123, sf_property_id=PK18)  # fine
    dup = scenario.record("00123")  # equivalent text beside the exact record
    orphan = scenario.record(999)
    orphan_blank = scenario.record(None)
    lonely = scenario.record(" 0126")  # names 126, which has no exact record: orphan
    mismatch = scenario.record(124, sf_property_id="001000000000099")
    same_15 = scenario.record(125, sf_property_id="   ")  # blank: not a mismatch
    # ... and its 18-char form, lower-case suffix, in Salesforce: the same id, no mismatch.
    same_18 = scenario.record(127, sf_property_id=PK18[:15] + PK18[15:].lower())
    scenario.build()
    exc = {
        r[0]: (r[1], r[2])
        for r in scenario.engine.rows(
            "SELECT salesforce_id, exception_type, reason FROM sync_exceptions"
            " WHERE salesforce_id IS NOT NULL"
        )
    }
    assert {k: v[0] for k, v in exc.items()} == {
        dup: "SF_DUPLICATE",
        orphan: "ORPHAN",
        orphan_blank: "ORPHAN",
        lonely: "ORPHAN",
        mismatch: "ID_MISMATCH",
    }
    assert "00123" in exc[dup][1] and "123" in exc[dup][1]
    assert orphan in exc[orphan][1]
    update_ids = ids(scenario, "properties_to_update", "id")
    # The mismatch still gets its R4 values.
    assert update_ids == sorted([exact, mismatch, same_15, same_18])
    # The plan sizes the queue without computing it.
    assert scenario.engine.scalar(UPDATE_QUEUE_SIZE_SQL) == len(update_ids)
    assert ids(scenario, "properties_to_create") == [126]  # ' 0126' is not its record
    results = {r.name: r for r in models.checks.run_checks(scenario.engine)}
    assert all(r.passed for r in results.values()), results


def test_nulls_everywhere_do_not_break_the_views(scenario: Scenario) -> None:
    scenario.prop(1, company_id=None, status=None)
    scenario.prop(2, company_id=None)
    scenario.record(2, name=None, idv_enabled_c=None, active_property_count_c=None)
    scenario.build()
    scenario.engine.execute("UPDATE properties SET name = NULL, city = NULL")
    scenario.engine.execute("INSERT INTO property_features VALUES (2, 'bank_linking', NULL, NULL)")
    scenario.engine.execute("INSERT INTO property_features VALUES (NULL, NULL, NULL, NULL)")
    models.build(scenario.engine)
    row = scenario.one("SELECT * FROM properties_to_update")
    assert row["bank_linking_enabled"] is False  # NULL enabled means off
    assert row["idv_enabled_changed"] is True and row["name_changed"] is False
    for view in models.view_names():
        models.show(scenario.engine, view, None)


def test_r8_no_mismatch_when_rds_knows_no_production_id(scenario: Scenario) -> None:
    # The workflow gave the staging record a production id; RDS has no sfdc_id yet.
    scenario.prop(1)
    rid = scenario.record(1, sf_property_id=to18("a01000000000042"))
    scenario.prop(2, sfdc_id="   ")
    rid2 = scenario.record(2, sf_property_id=to18("a01000000000043"))
    scenario.build()
    for record in (rid, rid2):
        row = scenario.one("SELECT * FROM properties_to_update WHERE id = ?", [record])
        assert row["has_sf_property_id_mismatch"] is False
    assert scenario.one("SELECT COUNT(*) AS n FROM sync_exceptions")["n"] == 0
