"""The client against the emulator over HTTPS with the real simple-salesforce: REST
queries with paging, sObject Collections, the retry policy, session refresh, quota
and API usage."""

from __future__ import annotations

import pytest

from propsync.errors import QuotaExhausted, TerminalSalesforceError, TransientSalesforceError
from propsync.salesforce.bulk2 import CLEAR
from tests.salesforce.conftest import fetch, make_client, records


def test_describe_is_cached_and_names_the_contract_fields(sf_client):
    before = sf_client.calls
    first = sf_client.describe()
    assert sf_client.describe() is first
    assert sf_client.calls == before + 1
    fields = {f["name"]: f for f in first["fields"]}
    assert fields["snappt_property_id__c"]["externalId"] is True
    assert fields["Name"]["length"] == 80


def test_query_all_follows_next_records_url(sf_client, ids):
    keys = ids(2_345)
    result = sf_client.bulk_ingest(
        "insert", records(keys), columns=["snappt_property_id__c", "Name"]
    )
    assert result.succeeded == len(keys)
    where = f"WHERE snappt_property_id__c >= '{keys[0]}' AND snappt_property_id__c <= '{keys[-1]}'"
    pages = list(sf_client.query_pages(f"SELECT Id, Name FROM product_property__c {where}"))
    assert len(pages) >= 2
    assert all(total == len(keys) for total, _ in pages)
    got = list(
        sf_client.query_all(f"SELECT snappt_property_id__c FROM product_property__c {where}")
    )
    assert sorted(r["snappt_property_id__c"] for r in got) == keys
    assert all("attributes" not in r for r in got)


def test_malformed_query_is_terminal_with_salesforce_code(sf_client):
    with pytest.raises(TerminalSalesforceError) as info:
        list(sf_client.query_all("SELECT Id FROM product_property__c GROUP BY Name HAVING x"))
    assert info.value.code == "MALFORMED_QUERY"


def test_collections_insert_reports_each_record_in_order(sf_client, ids):
    good, long_name, no_name = ids(3)
    results = sf_client.collections(
        "insert",
        [
            {"snappt_property_id__c": good, "Name": "Zoë's Café Üptown — 北京"},
            {"snappt_property_id__c": long_name, "Name": "x" * 81},
            {"snappt_property_id__c": no_name, "City__c": "Austin"},
        ],
    )
    assert [r.key for r in results] == [good, long_name, no_name]
    assert results[0].success and results[0].created and results[0].id
    assert results[1].errors[0].code == "STRING_TOO_LONG"
    assert results[1].errors[0].fields == ("Name",)
    assert results[2].errors[0].code == "REQUIRED_FIELD_MISSING"
    assert not any(r.transient for r in results[1:])
    assert fetch(sf_client, [good], "Name")[good]["Name"] == "Zoë's Café Üptown — 北京"


def test_collections_upsert_update_none_leaves_clear_empties(sf_client, ids):
    keys = ids(250)  # two calls: 200 + 50
    calls = sf_client.calls
    first = sf_client.collections("upsert", records(keys, City__c="Austin", State__c="TX"))
    assert sf_client.calls - calls == 2
    assert all(r.success and r.created for r in first)
    again = sf_client.collections("upsert", records(keys[:3], City__c="Boston"))
    assert [r.created for r in again] == [False, False, False]
    by_key = {r.key: r.id for r in first}
    update = sf_client.collections(
        "update",
        [
            {"Id": by_key[keys[0]], "City__c": CLEAR, "State__c": None},
            {"Id": by_key[keys[1]], "City__c": None, "State__c": CLEAR},
        ],
    )
    assert [r.key for r in update] == [by_key[keys[0]], by_key[keys[1]]]
    now = fetch(sf_client, keys[:3], "City__c, State__c")
    assert (now[keys[0]]["City__c"], now[keys[0]]["State__c"]) == (None, "TX")
    assert (now[keys[1]]["City__c"], now[keys[1]]["State__c"]) == ("Boston", None)
    assert (now[keys[2]]["City__c"], now[keys[2]]["State__c"]) == ("Boston", "TX")


def test_collections_lock_errors_come_back_as_transient_results(sf_emulator, sf_client, ids):
    sf_emulator.set_knobs(lock_error_rate=0.5, wrapped_lock_error_rate=0.3, seed=11)
    results = sf_client.collections("upsert", records(ids(100)))
    failed = [r for r in results if not r.success]
    codes = {e.code for r in failed for e in r.errors}
    assert failed and codes <= {"UNABLE_TO_LOCK_ROW", "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY"}
    assert all(r.transient for r in failed)


def test_expired_session_is_refreshed_transparently(sf_emulator, sf_client, ids):
    keys = ids(3)
    sf_client.collections("insert", records(keys))
    old_token = sf_client._token
    sf_emulator.set_knobs(expire_sessions_now=True)
    got = fetch(sf_client, keys, "Name")
    assert sorted(got) == keys
    assert sf_client._token != old_token
    sf_emulator.set_knobs(expire_sessions_now=True)
    columns = ["snappt_property_id__c", "Name", "City__c"]
    result = sf_client.bulk_ingest("upsert", records(keys, City__c="Reno"), columns=columns)
    assert result.succeeded == 3


def test_503s_are_retried_with_backoff(sf_emulator, ids):
    client = make_client(sf_emulator, max_request_attempts=12)
    try:
        keys = ids(5)
        client.collections("upsert", records(keys))
        sf_emulator.set_knobs(http_503_rate=0.3, seed=5)
        before = client.calls
        for _ in range(15):
            assert len(fetch(client, keys, "Name")) == 5
        assert client.calls > before + 15  # some requests needed a second try
    finally:
        client.close()


def test_persistent_503_gives_up_after_the_configured_attempts(sf_emulator):
    client = make_client(sf_emulator, max_request_attempts=3)
    try:
        sf_emulator.set_knobs(http_503_rate=1.0)
        before = client.calls
        with pytest.raises(TransientSalesforceError) as info:
            client.limits()
        assert info.value.status == 503
        assert client.calls - before == 3
    finally:
        client.close()
        sf_emulator.set_knobs(http_503_rate=0.0)


def test_a_spent_quota_raises_quota_exhausted_without_retrying(sf_emulator, sf_client):
    sf_client.limits()
    used = sf_client.api_usage.used
    assert used is not None
    sf_emulator.set_knobs(daily_api_limit=used + 1)
    sf_client.limits()
    before = sf_client.calls
    with pytest.raises(QuotaExhausted) as info:
        sf_client.describe()
    assert info.value.code == "REQUEST_LIMIT_EXCEEDED"
    assert sf_client.calls - before == 1


def test_api_usage_comes_from_the_limit_header(sf_emulator, sf_client):
    sf_client.limits()
    usage = sf_client.api_usage
    assert usage.limit == sf_emulator.knobs.daily_api_limit
    assert usage.used == sf_emulator.usage()["total"]
    before = usage.calls_by_this_client
    sf_client.describe()
    list(sf_client.query_all("SELECT Id FROM product_property__c LIMIT 1"))
    after = sf_client.api_usage
    assert after.calls_by_this_client == before + 2
    assert after.used == usage.used + 2
    assert after.remaining == after.limit - after.used
