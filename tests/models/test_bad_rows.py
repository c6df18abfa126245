"""R10 in the models: an RDS row that cannot be synced as it is (NULL or duplicate key, a
status propsync does not know, a date Salesforce cannot store) is listed in
sync_exceptions with its reason, and every other row is queued as before."""

from __future__ import annotations

from datetime import UTC, datetime

from propsync.models import checks
from tests.scenario import Scenario


def _exceptions(s: Scenario) -> dict[tuple[str, str | None], str]:
    rows = s.engine.rows(
        "SELECT exception_type, rds_property_id, reason FROM sync_exceptions"
        " WHERE salesforce_id IS NULL AND exception_type <> 'INVALID_SFDC_ID'"
    )
    return {(t, k): r for t, k, r in rows}


def test_bad_rows_are_listed_and_the_others_queued(scenario: Scenario) -> None:
    scenario.prop(1)
    scenario.prop(2)
    scenario.record(2)
    scenario.prop(None, name="Keyless Lofts")
    scenario.prop(3, name="Twin A")
    scenario.prop(3, name="Twin B")
    scenario.record(3)  # a record naming the duplicated key is not matched to either
    for pid, status in ((4, "active"), (5, " ACTIVE"), (6, "Active"), (7, None)):
        scenario.prop(pid, status=status)
    scenario.prop(8, status="INACTIVE")  # a status propsync knows: not ACTIVE, not listed
    scenario.prop(9, created_at=datetime(1500, 1, 1, tzinfo=UTC))
    scenario.prop(10, created_at=datetime(1, 1, 1, tzinfo=UTC))
    scenario.prop(11, created_at=datetime(4000, 12, 31, 23, 59, tzinfo=UTC))  # storable
    scenario.prop(12, created_at=datetime(1700, 1, 1, tzinfo=UTC))  # storable
    scenario.build()
    # Dates DuckDB holds and Python cannot: infinity, and past year 9999.
    scenario.engine.execute(
        "INSERT INTO properties SELECT '13', 'Forever', 'S13', '1', NULL, 'Austin', 'TX',"
        " NULL, 'ACTIVE', NULL, 'infinity'::TIMESTAMPTZ, now(), NULL"
    )
    scenario.engine.execute(
        "INSERT INTO properties SELECT '14', 'Far Future', 'S14', '1', NULL, 'Austin', 'TX',"
        " NULL, 'ACTIVE', NULL, '12000-01-01 00:00:00+00'::TIMESTAMPTZ, now(), NULL"
    )
    scenario.rebuild()
    found = _exceptions(scenario)
    assert set(found) == {
        ("NULL_KEY", None),
        ("DUPLICATE_KEY", "3"),
        ("UNKNOWN_STATUS", "4"),
        ("UNKNOWN_STATUS", "5"),
        ("UNKNOWN_STATUS", "6"),
        ("UNKNOWN_STATUS", "7"),
        ("UNSTORABLE_DATE", "9"),
        ("UNSTORABLE_DATE", "10"),
        ("UNSTORABLE_DATE", "13"),
        ("UNSTORABLE_DATE", "14"),
    }
    assert "'Keyless Lofts'" in found[("NULL_KEY", None)]
    assert "properties.id is empty" in found[("NULL_KEY", None)]
    assert "properties.id '3' is on more than one row" in found[("DUPLICATE_KEY", "3")]
    assert "status 'active' is not a status propsync knows" in found[("UNKNOWN_STATUS", "4")]
    assert "status NULL" in found[("UNKNOWN_STATUS", "7")]
    assert "created_at infinity is outside" in found[("UNSTORABLE_DATE", "13")]
    assert "RDS_Created_At__c is left empty" in found[("UNSTORABLE_DATE", "9")]
    # The duplicated key's two rows are one listing each, not one per pair.
    assert (
        scenario.engine.scalar(
            "SELECT COUNT(*) FROM sync_exceptions WHERE exception_type = 'DUPLICATE_KEY'"
        )
        == 2
    )
    # Everything else is queued: 1, the storable dates 11 and 12, and the unstorable dates
    # (sent with RDS_Created_At__c empty); 2 is updated; the bad keys and statuses are not.
    created = dict(
        scenario.engine.rows("SELECT rds_property_id, rds_created_at FROM properties_to_create")
    )
    assert set(created) == {"1", "9", "10", "11", "12", "13", "14"}
    assert created["9"] is None and created["13"] is None and created["14"] is None
    assert created["11"] == datetime(4000, 12, 31, 23, 59, tzinfo=UTC)
    assert [
        r[0] for r in scenario.engine.rows("SELECT rds_property_id FROM properties_to_update")
    ] == ["2"]
    status = scenario.engine.scalar(
        "SELECT match_status FROM salesforce_matched_records WHERE snappt_property_id_c = '3'"
    )
    assert status == "ORPHAN"
    # The checks still hold: every ACTIVE property with a usable key is placed once.
    assert all(r.passed for r in checks.run_checks(scenario.engine))
