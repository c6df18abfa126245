"""Bulk API 2.0 through our layer against the emulator: every operation, `#N/A` versus
an empty cell, results mapped back to rows when Salesforce returns them shuffled, jobs
split by size, failed jobs, and query jobs paged by locator."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pytest

from propsync.errors import UsageError
from propsync.salesforce.bulk2 import CLEAR
from tests.salesforce.conftest import fetch, make_client, records

COLUMNS = ["snappt_property_id__c", "Name", "City__c", "State__c", "IDV_Enabled__c"]


def test_insert_update_upsert_delete_round_trip(sf_client, ids):
    keys = ids(40)
    inserted = sf_client.bulk_ingest(
        "insert", records(keys, City__c="Austin", State__c="TX", IDV_Enabled__c=False),
        columns=COLUMNS,
    )  # fmt: skip
    assert [r.key for r in inserted.results] == keys
    assert inserted.succeeded == 40 and inserted.created == 40 and len(inserted.jobs) == 1
    by_key = {r.key: r.id for r in inserted.results}
    assert fetch(sf_client, keys, "Id").keys() == set(keys)
    assert all(fetch(sf_client, keys, "Id")[k]["Id"] == by_key[k] for k in keys)

    # update: None leaves a field, CLEAR (#N/A) empties it, whatever the column order.
    updated = sf_client.bulk_ingest(
        "update",
        [{"Id": by_key[keys[0]], "City__c": CLEAR, "IDV_Enabled__c": True},
         {"Id": by_key[keys[1]], "State__c": CLEAR}],
        columns=["IDV_Enabled__c", "State__c", "City__c", "Id"],
    )  # fmt: skip
    assert [r.key for r in updated.results] == [by_key[keys[0]], by_key[keys[1]]]
    assert all(r.success and r.created is False for r in updated.results)
    now = fetch(sf_client, keys[:3], "City__c, State__c, IDV_Enabled__c")
    assert now[keys[0]] == {**now[keys[0]], "City__c": None, "State__c": "TX",
                            "IDV_Enabled__c": True}  # fmt: skip
    assert (now[keys[1]]["City__c"], now[keys[1]]["State__c"]) == ("Austin", None)
    assert (now[keys[2]]["City__c"], now[keys[2]]["State__c"]) == ("Austin", "TX")

    # upsert: existing keys update, new keys create.
    new = ids(2)
    upserted = sf_client.bulk_ingest(
        "upsert", records([keys[2], *new], City__c="Denver"), columns=COLUMNS[:3]
    )
    assert {r.key: r.created for r in upserted.results} == {keys[2]: False, new[0]: True,
                                                           new[1]: True}  # fmt: skip

    # delete: the records go to the recycle bin, visible to queryAll only.
    deleted = sf_client.bulk_ingest("delete", [{"Id": by_key[k]} for k in keys[:5]], columns=["Id"])
    assert deleted.succeeded == 5
    assert set(fetch(sf_client, keys, "Id")) == set(keys[5:])
    in_bin = list(sf_client.query_all(
        f"SELECT Id, IsDeleted FROM product_property__c WHERE Id = '{by_key[keys[0]]}'"
    ))  # fmt: skip
    assert in_bin == [{"Id": by_key[keys[0]], "IsDeleted": True}]


def test_results_are_mapped_back_when_shuffled_and_split_over_jobs(sf_emulator, sf_client, ids):
    sf_emulator.set_knobs(shuffle_results=True, seed=3)
    keys = ids(3_000)
    rows = records(keys, City__c="Salt Lake City")
    rows[17]["Name"] = "n" * 81  # one failure among the successes, keyed too
    result = sf_client.bulk_ingest("insert", rows, columns=COLUMNS[:3], max_job_bytes=60_000)
    assert len(result.jobs) > 1
    assert [r.key for r in result.results] == keys
    assert [r.key for r in result.failed] == [keys[17]]
    assert result.failed[0].errors[0].code == "STRING_TOO_LONG"
    actual = fetch(sf_client, keys, "Id")
    assert all(r.id == actual[r.key]["Id"] for r in result.results if r.success)
    assert keys[17] not in actual


def test_arrow_tables_write_types_and_nulls(sf_client, ids):
    keys = ids(3)
    when = datetime(2021, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)
    table = pa.table({
        "snappt_property_id__c": keys,
        "Name": ["São Paulo Towers", "Zoë", "北京"],
        "IDV_Enabled__c": [True, False, None],
        "Active_Property_Count__c": [2.0, None, 1.0],
        "RDS_Created_At__c": pa.array([when, None, when], pa.timestamp("us", tz="UTC")),
    })  # fmt: skip
    result = sf_client.bulk_ingest("upsert", table, columns=table.column_names)
    assert result.succeeded == 3
    got = fetch(
        sf_client, keys, "Name, IDV_Enabled__c, Active_Property_Count__c, RDS_Created_At__c"
    )
    assert got[keys[0]]["Name"] == "São Paulo Towers" and got[keys[2]]["Name"] == "北京"
    assert (
        got[keys[0]]["Active_Property_Count__c"] == 2
        and got[keys[1]]["Active_Property_Count__c"] is None
    )
    assert got[keys[0]]["RDS_Created_At__c"].startswith("2021-03-04T05:06:07.890")
    assert got[keys[1]]["RDS_Created_At__c"] is None


def test_a_failed_job_returns_its_rows_as_not_processed(sf_emulator, sf_client, ids):
    keys = ids(25)
    sf_emulator.set_knobs(fail_next_job=True, inprogress_polls=2)
    result = sf_client.bulk_ingest("upsert", records(keys), columns=COLUMNS[:2])
    assert result.succeeded == 0
    assert [r.key for r in result.results] == keys
    assert all(r.errors[0].code == "NOT_PROCESSED" and r.transient for r in result.results)
    assert fetch(sf_client, keys, "Id") == {}
    retry = sf_client.bulk_ingest("upsert", records(keys), columns=COLUMNS[:2])
    assert retry.succeeded == 25


def test_record_lock_errors_are_transient_results(sf_emulator, sf_client, ids):
    sf_emulator.set_knobs(lock_error_rate=0.2, wrapped_lock_error_rate=0.1, seed=9)
    keys = ids(300)
    result = sf_client.bulk_ingest("upsert", records(keys), columns=COLUMNS[:2])
    assert result.failed and all(r.transient for r in result.failed)
    assert result.succeeded + len(result.failed) == 300


def test_503s_during_a_job_are_retried_and_nothing_is_lost(sf_emulator, ids, caplog):
    client = make_client(sf_emulator, max_request_attempts=12)
    try:
        keys = ids(500)
        sf_emulator.set_knobs(http_503_rate=0.35, seed=21)
        result = client.bulk_ingest("upsert", records(keys), columns=COLUMNS[:2])
        sf_emulator.set_knobs(http_503_rate=0.0)
        assert result.succeeded == 500
        retries = [r for r in caplog.records if r.name.endswith("client") and "retry" in r.message]
        assert retries, "the seeded dice should have refused at least one request"
        assert sorted(fetch(client, keys, "Id")) == keys
    finally:
        client.close()


def test_bad_calls_are_refused_before_any_request(sf_client):
    before = sf_client.calls
    with pytest.raises(UsageError, match="appears twice"):
        sf_client.bulk_ingest("upsert", records(["1", "1"]), columns=COLUMNS[:2])
    with pytest.raises(UsageError, match="exactly one column, Id"):
        sf_client.bulk_ingest("delete", [{"Id": "x"}], columns=["Id", "Name"])
    with pytest.raises(UsageError, match="key column Id"):
        sf_client.bulk_ingest("update", [{"Name": "x"}], columns=["Name"])
    assert sf_client.calls == before


def test_bulk_query_pages_by_locator(sf_client, ids):
    keys = ids(1_200)
    sf_client.bulk_ingest("insert", records(keys, City__c="Zürich"), columns=COLUMNS[:3])
    where = f"WHERE snappt_property_id__c >= '{keys[0]}' AND snappt_property_id__c <= '{keys[-1]}'"
    pages = list(sf_client.bulk_query(
        f"SELECT Id, snappt_property_id__c, City__c, State__c FROM product_property__c {where}",
        page_size=500,
    ))  # fmt: skip
    assert [p.num_rows for p in pages] == [500, 500, 200]
    table = pa.concat_tables(pages)
    assert sorted(table.column("snappt_property_id__c").to_pylist()) == keys
    assert set(table.column("City__c").to_pylist()) == {"Zürich"}
    assert table.column("State__c").null_count == 1_200


def test_a_token_expiring_while_a_job_runs_is_refreshed(sf_emulator, ids):
    sf_emulator.set_knobs(token_ttl_s=0.6, inprogress_polls=3)
    client = make_client(sf_emulator, poll_interval_s=0.15)
    try:
        first_token = client._token
        keys = ids(50)
        result = client.bulk_ingest("upsert", records(keys), columns=COLUMNS[:2])
        assert result.succeeded == 50
        assert client._token != first_token  # refreshed between create and results
        assert len(result.jobs) == 1  # the same job, never restarted
    finally:
        client.close()
        sf_emulator.set_knobs(token_ttl_s=7200.0, inprogress_polls=0)
