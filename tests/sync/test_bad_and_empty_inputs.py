"""R10 end to end (every bad source row is listed or fails alone; every other record is
written), and the empty inputs a new customer starts from: an org with no records yet,
an org holding only deleted records, a source with no properties, a source with
properties but no features. The real client over HTTPS, the emulator, the state store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from propsync.generate import GroundTruth
from propsync.salesforce.connect import connect
from propsync.sync import plan, run_report, run_sync
from tests.sync.orgs import Org, make_org

# Source rows that cannot be synced as they are, added to the generated scenario: (id,
# name, status, created_at). The ids are far above the generator's.
BAD_ROWS = (
    (None, "Keyless Lofts", "ACTIVE", "2024-01-01 00:00:00+00"),
    (990001, "Twin A", "ACTIVE", "2024-01-01 00:00:00+00"),
    (990001, "Twin B", "ACTIVE", "2024-01-01 00:00:00+00"),
    (990002, "Lower Case", "active", "2024-01-01 00:00:00+00"),
    (990003, "Padded", " ACTIVE", "2024-01-01 00:00:00+00"),
    (990004, "Title Case", "Active", "2024-01-01 00:00:00+00"),
    (990005, "Renaissance", "ACTIVE", "1500-06-01 00:00:00+00"),
    (990006, "Forever", "ACTIVE", "infinity"),
    (990007, "Year One", "ACTIVE", "0001-01-01 00:00:00+00"),
    (990008, "Far Future", "ACTIVE", "12000-01-01 00:00:00+00"),
    (990009, "#N/A", "ACTIVE", "2024-01-01 00:00:00+00"),
)
LISTED = {
    ("NULL_KEY", None),
    ("DUPLICATE_KEY", "990001"),
    ("UNKNOWN_STATUS", "990002"),
    ("UNKNOWN_STATUS", "990003"),
    ("UNKNOWN_STATUS", "990004"),
    ("UNSTORABLE_DATE", "990005"),
    ("UNSTORABLE_DATE", "990006"),
    ("UNSTORABLE_DATE", "990007"),
    ("UNSTORABLE_DATE", "990008"),
}
WRITTEN = {"990005", "990006", "990007", "990008", "990009"}


def _add_bad_rows(root: Path, truth: GroundTruth) -> Path:
    con = duckdb.connect(str(root / "rds.duckdb"))
    for pid, name, status, created in BAD_ROWS:
        con.execute(
            "INSERT INTO properties (id, name, short_id, company_id, city, state, status,"
            " created_at, updated_at) SELECT ?, ?, 'BAD', (SELECT min(id) FROM companies),"
            " 'Austin', 'TX', ?, CAST(? AS TIMESTAMPTZ), now()",
            [pid, name, status, created],
        )
    con.close()
    return truth.salesforce_parquet


def _records(org: Org, keys: set[str]) -> dict[str, dict]:
    with connect(org.ws.config.salesforce, org.ws.root, sync=org.ws.config.sync) as sf:
        rows = sf.query_all(
            "SELECT snappt_property_id__c, Name, RDS_Created_At__c FROM product_property__c",
            include_deleted=False,
        )
        return {r["snappt_property_id__c"]: r for r in rows if r["snappt_property_id__c"] in keys}


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "collections"])
def test_bad_rows_are_listed_or_fail_alone_and_the_rest_is_written(
    tmp_path: Path, bulk: bool
) -> None:
    # A low threshold puts Sync A on the Bulk path, where '#N/A' is the CSV's null marker.
    sync = {"bulk_threshold": 10} if bulk else {"bulk_threshold": 100_000}
    org = make_org(tmp_path / "org", scale=250, sync=sync, prepare=_add_bad_rows)
    try:
        truth = org.truth
        unsyncable = {str(u["rds_property_id"]) for u in truth["unsyncable"]}
        first = plan(org.ws, "all")
        doc = first.to_json()
        listed = {
            (r["exception_type"], r["rds_property_id"]) for r in doc["exceptions"]["source_rows"]
        }
        assert listed == LISTED
        assert doc["exceptions"]["counts"]["UNSTORABLE_DATE"] == 4
        assert doc["records_to_send"]["create"] == truth["properties_to_create"] + len(WRITTEN)
        assert doc["queues"]["create"]["mode"] == ("bulk" if bulk else "collections")

        result = run_sync(org.ws, "all")
        assert result.status == "PARTIAL"  # the generator's own unsyncable records
        totals = result.totals()
        assert totals["created"] == truth["properties_to_create"] - len(unsyncable) + len(WRITTEN)
        assert totals["updated"] == truth["update_records_with_changes"]
        audit = list(org.ws.state().audit.entries(result.run_id))
        failed = {r.rds_property_id for r in audit if r.sync_status == "FAILED"}
        assert failed == unsyncable
        na = next(r for r in audit if r.rds_property_id == "990009")
        assert na.sync_status == "SUCCESS" and na.api == "collections"
        # In the org: '#N/A' is the Name written (not an empty field), and the dates
        # Salesforce cannot hold are left empty.
        records = _records(org, WRITTEN)
        assert set(records) == WRITTEN
        assert records["990009"]["Name"] == "#N/A"
        assert all(records[k]["RDS_Created_At__c"] is None for k in WRITTEN - {"990009"})
        report = run_report(org.ws, result.run_id)
        assert sum(report.error_codes.values()) == len(unsyncable)

        second = plan(org.ws, "all")
        assert second.records_to_write == 0
        assert {
            (r["exception_type"], r["rds_property_id"])
            for r in second.to_json()["exceptions"]["source_rows"]
        } == LISTED
    finally:
        org.close()


# --- empty inputs ---------------------------------------------------------------------


def _empty_org(root: Path, truth: GroundTruth) -> Path | None:
    return None


def _only_deleted(root: Path, truth: GroundTruth) -> Path:
    table = pq.read_table(truth.salesforce_parquet)
    deleted = table.filter(table.column("IsDeleted"))
    assert deleted.num_rows > 0
    path = root / "generated" / "only_deleted.parquet"
    pq.write_table(deleted, path)
    return path


def _no_properties(root: Path, truth: GroundTruth) -> Path:
    con = duckdb.connect(str(root / "rds.duckdb"))
    con.execute("DELETE FROM property_features")
    con.execute("DELETE FROM properties")
    con.close()
    return truth.salesforce_parquet


def _no_features(root: Path, truth: GroundTruth) -> Path:
    con = duckdb.connect(str(root / "rds.duckdb"))
    con.execute("DELETE FROM property_features")
    con.close()
    return truth.salesforce_parquet


@pytest.fixture(params=["empty_org", "only_deleted", "no_properties", "no_features"])
def empty_input(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Org]]:
    prepare = {
        "empty_org": _empty_org,
        "only_deleted": _only_deleted,
        "no_properties": _no_properties,
        "no_features": _no_features,
    }[request.param]
    org = make_org(tmp_path / "org", scale=250, prepare=prepare)
    try:
        yield request.param, org
    finally:
        org.close()


def test_empty_inputs_plan_and_sync_cleanly(empty_input: tuple[str, Org]) -> None:
    case, org = empty_input
    engine = org.ws.engine()
    first = plan(org.ws, "all")
    doc = first.to_json()
    active = engine.scalar("SELECT COUNT(*) FROM rds_properties_normalized WHERE is_active")
    live = engine.scalar(
        "SELECT COUNT(*) FROM salesforce_product_property WHERE NOT COALESCE(is_deleted, FALSE)"
    )
    if case in ("empty_org", "only_deleted"):
        assert live == 0
        assert doc["records_to_send"]["create"] == active > 0
        assert doc["records_to_send"]["update"] == 0
    if case == "no_properties":
        assert active == 0 and live > 0
        assert doc["records_to_send"] == {"create": 0, "update": 0, "total": 0}
        orphans = engine.scalar(
            "SELECT COUNT(*) FROM sync_exceptions WHERE exception_type = 'ORPHAN'"
        )
        assert orphans == live  # every record is reported, none touched (R8)
    if case == "no_features":
        assert (
            engine.scalar(
                "SELECT COUNT(*) FROM rds_properties_normalized WHERE has_any_features_enabled"
            )
            == 0
        )
    # Without features, Sync B turns off every flag the org has on: more than the
    # guardrail's share, so the run is forced as an operator would after reading the plan.
    result = run_sync(org.ws, "all", force=case == "no_features")
    assert result.status in ("SUCCEEDED", "PARTIAL")
    totals = result.totals()
    predicted = doc["predicted_failures"]["total"]
    assert totals["failed"] == predicted  # only what the describe predicted
    assert totals["succeeded"] == doc["records_to_send"]["total"] - predicted
    second = plan(org.ws, "all")
    assert second.records_to_write == 0
    assert second.to_json()["held_back"]["total"] == predicted
    if case == "no_features":
        on = engine.scalar(
            "SELECT COUNT(*) FROM salesforce_matched_records WHERE match_status = 'MATCHED'"
            " AND (idv_enabled_c OR bank_linking_enabled_c OR payroll_enabled_c"
            " OR income_insights_enabled_c)"
        )
        assert on == 0
