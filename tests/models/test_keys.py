"""R9 in the models: keys are text, matched on their exact canonical text; the
Salesforce-side duplicate rule (R8) for text keys; a key longer than the org's field is a
predicted STRING_TOO_LONG."""

from __future__ import annotations

from propsync import fields as sf
from propsync.sync.mapping import FieldRule, queue_sql, rules_from_describe
from tests.scenario import Scenario

UUID = "9f0c2b7e-1d2a-4c1e-8f00-0123456789ab"
UUID2 = "0e1d2c3b-4a59-4687-a5b4-c3d2e1f00a9b"


def _status(s: Scenario) -> dict[str, tuple[str, str | None]]:
    rows = s.engine.rows(
        "SELECT snappt_property_id_c, match_status, rds_property_id FROM salesforce_matched_records"
    )
    return {k: (status, rds) for k, status, rds in rows}


def test_text_and_uuid_keys_match_on_their_exact_text(scenario: Scenario) -> None:
    for key in ("c1", UUID, UUID2, "007", "P-9", "42"):
        scenario.prop(key)
    scenario.record("c1")
    scenario.record(" c1 ")  # whitespace around the key: the same property, a duplicate
    scenario.record(UUID)
    scenario.record(UUID.upper())  # a UUID compares case-insensitively: a duplicate
    scenario.record(UUID2.upper())  # names UUID2, but no exact record: an orphan
    scenario.record("007")
    scenario.record("0007")  # '007' is a text key: leading zeros are part of it
    scenario.record("p-9")  # other text is case-sensitive: names nothing
    scenario.record("42")
    scenario.record("0042")  # digits only: leading zeros dropped, a duplicate of '42'
    scenario.build()
    assert _status(scenario) == {
        "c1": ("MATCHED", "c1"),  # the exact record is the one updated
        " c1 ": ("SF_DUPLICATE", "c1"),
        UUID: ("MATCHED", UUID),
        UUID.upper(): ("SF_DUPLICATE", UUID),
        UUID2.upper(): ("ORPHAN", None),
        "007": ("MATCHED", "007"),
        "0007": ("ORPHAN", None),
        "p-9": ("ORPHAN", None),
        "42": ("MATCHED", "42"),
        "0042": ("SF_DUPLICATE", "42"),
    }
    # R5: a property with only an equivalent record (UUID2) or none (P-9) is created under
    # its exact text; one with an exact record is never created twice.
    created = {
        r[0] for r in scenario.engine.rows("SELECT rds_property_id FROM properties_to_create")
    }
    assert created == {UUID2, "P-9"}
    updated = [
        r[0] for r in scenario.engine.rows("SELECT snappt_property_id_c FROM properties_to_update")
    ]
    assert sorted(updated) == sorted(["007", "42", "c1", UUID])
    reasons = dict(
        scenario.engine.rows(
            "SELECT snappt_property_id_c, reason FROM sync_exceptions"
            " WHERE exception_type IN ('ORPHAN', 'SF_DUPLICATE')"
        )
    )
    assert reasons["0042"].endswith("duplicates the record of RDS property 42")
    assert reasons["0007"].endswith("'0007' names no RDS property")


def test_key_longer_than_the_orgs_field_is_a_predicted_failure(scenario: Scenario) -> None:
    scenario.prop(UUID)  # 36 characters
    scenario.prop("short")
    scenario.build()
    # An org whose snappt_property_id__c is still 20 characters long (from its describe).
    rules = rules_from_describe(
        {"fields": [{"name": sf.EXTERNAL_ID, "type": "string", "length": 20, "nillable": False}]}
    )
    assert rules[sf.EXTERNAL_ID] == FieldRule(sf.EXTERNAL_ID, "string", 20, True)
    rows = dict(
        scenario.engine.rows(f"SELECT key, predicted_error FROM ({queue_sql('create', rules)})")
    )
    assert rows["short"] == ""
    assert rows[UUID].startswith("snappt_property_id__c: STRING_TOO_LONG (36 > 20 characters)")
    # The contract (and the emulator's object) give the field Salesforce's maximum, 255.
    assert sf.BY_NAME[sf.EXTERNAL_ID].length == 255
    default = dict(
        scenario.engine.rows(
            f"SELECT key, predicted_error FROM ({queue_sql('create', rules_from_describe(None))})"
        )
    )
    assert not default["short"]
    assert sf.EXTERNAL_ID not in default[UUID]
