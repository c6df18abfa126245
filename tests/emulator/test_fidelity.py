"""Conformance, continued: where the emulator used to be kinder than Salesforce and so
hid bugs (issue 10). Each test's docstring states the Salesforce behaviour it copies
and where Salesforce documents it."""

from __future__ import annotations

import json
import socket
import ssl
import time
from typing import Any

import pytest

from propsync.emulator import Emulator
from propsync.fields import EXTERNAL_ID, OBJECT
from tests.emulator.conftest import Api, key


def _rec(**fields: Any) -> dict[str, Any]:
    return {"attributes": {"type": OBJECT}, **fields}


def _collections(api: Api, method: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    r = api.req(method, "/composite/sobjects", json={"allOrNone": False, "records": records})
    assert r.status_code == 200, r.text
    return list(r.json())


def _codes(result: dict[str, Any]) -> list[str]:
    return [e["statusCode"] for e in result["errors"]]


# 1. empty text is null ---------------------------------------------------------------


def test_empty_text_is_null_over_rest_and_collections(api: Api) -> None:
    """Salesforce stores an empty string written to a text field as null (a text field
    is never ""; an Apex or API write of '' reads back null, see
    salesforce.stackexchange.com/q/333174), and "Required fields must have a non-null
    value ... In updates, a required field cannot be set to null" (Object Reference,
    Required Fields, developer.salesforce.com/docs/atlas.en-us.object_reference.meta/
    object_reference/required_fields.htm). So `Name: ""` fails with
    REQUIRED_FIELD_MISSING exactly as a missing Name does, on create and update, and an
    optional text field given "" reads back null and matches `= null` and `= ''`."""
    missing = api.req("POST", f"/sobjects/{OBJECT}/", json={EXTERNAL_ID: key()})
    empty = api.req("POST", f"/sobjects/{OBJECT}/", json={"Name": "", EXTERNAL_ID: key()})
    assert missing.status_code == empty.status_code == 400
    assert empty.json() == missing.json()
    assert empty.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING"

    out = _collections(api, "POST", [_rec(Name="", **{EXTERNAL_ID: key()})])
    assert _codes(out[0]) == ["REQUIRED_FIELD_MISSING"] and out[0]["errors"][0]["fields"] == [
        "Name"
    ]
    rid = api.create(Name="Named", **{EXTERNAL_ID: key()})
    out = _collections(api, "PATCH", [_rec(Id=rid, Name="")])
    assert _codes(out[0]) == ["REQUIRED_FIELD_MISSING"]
    r = api.req("PATCH", f"/sobjects/{OBJECT}/{rid}", json={"Name": ""})
    assert r.status_code == 400 and r.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert api.get(rid)["Name"] == "Named"

    tag = key("empty")
    rid2 = api.create(Name="Blank city", City__c="", Short_ID__c=tag, **{EXTERNAL_ID: key()})
    assert api.get(rid2)["City__c"] is None
    for where in ("City__c = null", "City__c = ''"):
        got = api.soql(f"SELECT Id FROM {OBJECT} WHERE Short_ID__c = '{tag}' AND {where}")
        assert [x["Id"] for x in got["records"]] == [rid2], where
    # an upsert that would create the record fails the same way
    r = api.req("PATCH", f"/sobjects/{OBJECT}/{EXTERNAL_ID}/{key()}", json={"Name": ""})
    assert r.status_code == 400 and r.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING"


def test_empty_cell_in_bulk_csv(api: Api) -> None:
    """Bulk API 2.0: "You must include all required fields when you create a record"
    and "Empty field values are ignored when you update records. To set a field value
    to null, use a field value of #N/A" (Bulk API 2.0, Valid CSV Record Rows,
    developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_bulk_v2/
    datafiles_csv_valid_record_rows.htm). An empty (or quoted empty) Name on insert is
    REQUIRED_FIELD_MISSING, like a missing one; on update it leaves Name as it is."""
    k1, k2 = key(), key()
    info = api.ingest("insert", f'Name,{EXTERNAL_ID}\n,{k1}\n"",{k2}\n')
    failed = api.results(info["id"], "failedResults")
    assert len(failed) == 2
    assert all(f["sf__Error"].startswith("REQUIRED_FIELD_MISSING:") for f in failed)
    rid = api.create(Name="Kept", **{EXTERNAL_ID: key()})
    info = api.ingest("update", f"Id,Name\n{rid},\n")
    assert info["numberRecordsFailed"] == 0 and api.get(rid)["Name"] == "Kept"


# 2. SOQL outside the subset or past its limits -----------------------------------------


def _rest_query(api: Api, soql: str) -> Any:
    return api.req("GET", "/query", params={"q": soql})


def _bulk_query(api: Api, soql: str) -> Any:
    return api.req("POST", "/jobs/query", json={"operation": "query", "query": soql})


BASE = f"SELECT Id FROM {OBJECT} WHERE "
REFUSED = [
    ("nested parentheses", BASE + "(" * 1000 + "Name = 'a'" + ")" * 1000, "MALFORMED_QUERY"),
    ("nested NOT", BASE + "NOT " * 1000 + "Name = 'a'", "MALFORMED_QUERY"),
    ("LIMIT past 32 bits", f"SELECT Id FROM {OBJECT} LIMIT 2147483648", "MALFORMED_QUERY"),
    ("LIMIT of 5,000 digits", f"SELECT Id FROM {OBJECT} LIMIT {'9' * 5000}", "MALFORMED_QUERY"),
    ("OFFSET past 2,000", f"SELECT Id FROM {OBJECT} OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE"),
    ("OFFSET huge", f"SELECT Id FROM {OBJECT} OFFSET {'9' * 30}", "NUMBER_OUTSIDE_VALID_RANGE"),
    ("LAST_N_DAYS huge", BASE + "CreatedDate = LAST_N_DAYS:99999999999", "MALFORMED_QUERY"),
    ("NEXT_N_DAYS past 4000", BASE + "CreatedDate < NEXT_N_DAYS:900000", "MALFORMED_QUERY"),
    ("datetime past 9999", BASE + "CreatedDate > 9999-12-31T23:00:00-05:00", None),
    ("number of 400 digits", BASE + f"Active_Property_Count__c > {'9' * 400}", None),
]


@pytest.mark.parametrize(("what", "soql", "code"), REFUSED, ids=[r[0] for r in REFUSED])
def test_soql_past_the_limits_is_a_400_on_both_query_paths(
    api: Api, what: str, soql: str, code: str | None
) -> None:
    """Salesforce answers a query it will not run with 400 and its error shape
    `[{"message", "errorCode"}]`, never a server error: MALFORMED_QUERY for a
    statement it cannot parse; "The maximum offset is 2,000 rows. Requesting an offset
    greater than 2,000 results in a NUMBER_OUTSIDE_VALID_RANGE error" (SOQL and SOSL
    Reference, OFFSET, developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/
    soql_sosl/sforce_api_calls_soql_select_offset.htm); dates exist from 1700-01-01 to
    4000-12-31 only (help.salesforce.com article 000383587). LIMIT has no documented
    maximum: the emulator takes up to 2^31-1. Deep nesting is the emulator's own limit
    (its parser recurses), refused the same way. Both query paths, REST /query and a
    Bulk API 2.0 query job, answer alike."""
    for answer in (_rest_query(api, soql), _bulk_query(api, soql)):
        assert answer.status_code == 400, (what, answer.status_code, answer.text[:300])
        doc = answer.json()
        assert isinstance(doc, list) and set(doc[0]) >= {"message", "errorCode"}
        if code is not None:
            assert doc[0]["errorCode"] == code, doc
        else:  # a value Salesforce cannot hold in the field's type
            assert doc[0]["errorCode"] == "INVALID_QUERY_FILTER_OPERATOR", doc


def test_soql_at_the_limits_is_answered(api: Api) -> None:
    """What Salesforce accepts is answered, not refused: OFFSET 2,000 exactly, a large
    LIMIT, LAST_N_DAYS reaching back decades, and a long OR chain or IN list within
    the 100,000-character statement limit ("By default, 100,000 characters", SOQL and
    SOSL Limits, developer.salesforce.com/docs/atlas.en-us.salesforce_app_limits_
    cheatsheet.meta/salesforce_app_limits_cheatsheet/salesforce_app_limits_platform_
    soslsoql.htm) - 2,000 ORs and a 10,000-value IN list through a Bulk query job,
    whose statement travels in the body."""
    tag = key("lim")
    rid = api.create(Name="Limit", Short_ID__c=tag, **{EXTERNAL_ID: key()})
    where = f"Short_ID__c = '{tag}'"
    for soql in (
        f"SELECT Id FROM {OBJECT} WHERE {where} LIMIT 2147483647 OFFSET 2000",
        f"SELECT Id FROM {OBJECT} WHERE {where} AND CreatedDate = LAST_N_DAYS:20000",
        f"SELECT Id FROM {OBJECT} WHERE {where} AND " + "(" * 20 + "Name = 'Limit'" + ")" * 20,
    ):
        r = _rest_query(api, soql)
        assert r.status_code == 200, (soql[:80], r.text[:300])
    ors = " OR ".join(f"Name = 'n{i}'" for i in range(2000))
    many = ", ".join(f"'v{i}'" for i in range(10_000))
    for soql in (
        f"SELECT Id FROM {OBJECT} WHERE {where} AND ({ors} OR Name = 'Limit')",
        f"SELECT Id FROM {OBJECT} WHERE {where} AND Name IN ({many}, 'Limit')",
    ):
        assert len(soql) < 100_000
        r = _bulk_query(api, soql)
        assert r.status_code == 200, r.text[:300]
        info = api.wait_job("query", r.json()["id"])
        assert info["state"] == "JobComplete" and info["numberRecordsProcessed"] == 1
        page = api.req("GET", f"/jobs/query/{info['id']}/results").text
        assert rid in page


def test_soql_of_megabytes(api: Api, sf: Any) -> None:
    """A statement over 100,000 characters is refused (SOQL and SOSL Limits: "Maximum
    length of SOQL statements: By default, 100,000 characters"): a Bulk query job,
    whose statement is in the body, answers 400 MALFORMED_QUERY. Over REST the query
    is in the URI, and Salesforce answers a URI over 16,384 bytes with "414 URI Too
    Long" (help.salesforce.com article 000386264, "Maximum number of rows returned by
    SOQL queries over the REST API"): the emulator does the same, and simple-salesforce
    raises for it as for any 4xx."""
    from simple_salesforce.exceptions import SalesforceError  # heavy driver: on first use

    huge = f"SELECT Id FROM {OBJECT} WHERE Name = '{'x' * 2_000_000}'"
    r = _bulk_query(api, huge)
    assert r.status_code == 400 and r.json()[0]["errorCode"] == "MALFORMED_QUERY"
    r = _rest_query(api, huge)
    assert r.status_code == 414 and r.json()[0]["errorCode"] == "URI_TOO_LONG"
    just_over = f"SELECT Id FROM {OBJECT} WHERE Name = '{'x' * 100_001}'"
    assert _bulk_query(api, just_over).json()[0]["errorCode"] == "MALFORMED_QUERY"
    with pytest.raises(SalesforceError) as err:
        sf.query(f"SELECT Id FROM {OBJECT} WHERE Name = '{'x' * 20_000}'")
    assert err.value.status == 414


def test_malformed_query_through_simple_salesforce(sf: Any) -> None:
    """simple-salesforce maps Salesforce's 400 to SalesforceMalformedRequest; a query
    past the emulator's nesting limit meets the same exception a real org's
    MALFORMED_QUERY raises, not SalesforceGeneralError (500)."""
    # heavy driver: imported on first use
    from simple_salesforce.exceptions import SalesforceMalformedRequest

    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.query(BASE + "(" * 600 + "Name = 'a'" + ")" * 600)
    assert err.value.content[0]["errorCode"] == "MALFORMED_QUERY"


# 3. case-insensitive for every letter ---------------------------------------------------


def test_text_compares_case_insensitively_for_all_letters(api: Api) -> None:
    """SOQL: "Comparisons on strings are case-sensitive for unique case-sensitive
    fields. For all other fields, comparisons are case-insensitive" (SOQL and SOSL
    Reference, Comparison Operators, developer.salesforce.com/docs/platform/
    salesforce-soql-sosl/guide/sforce-api-calls-soql-select-comparisonoperators.html),
    for every letter, not ASCII only: 'CAFÉ LOFTS' = 'Café Lofts', in =, !=, IN, NOT IN,
    LIKE and ranges, on the REST and Bulk query paths. (Salesforce folds in the
    querying user's locale; the emulator uses Unicode case folding, the same outside
    Turkish dotted/dotless i. It orders folded text by code point, not by a locale's
    collation, so this test does not compare the order of accented letters.)"""
    tag = key("uni")
    names = ["CAFÉ LOFTS", "Ærø Court", "élan", "Zeta"]
    ids = {n: api.create(Name=n, City__c=n, Short_ID__c=tag, **{EXTERNAL_ID: key()}) for n in names}

    def found(where: str, order: str = "") -> list[str]:
        q = f"SELECT Id, Name FROM {OBJECT} WHERE Short_ID__c = '{tag}' AND ({where}) {order}"
        return [r["Name"] for r in api.soql(q)["records"]]

    assert found("Name = 'Café Lofts'") == ["CAFÉ LOFTS"]
    assert found("City__c = 'café lofts'") == ["CAFÉ LOFTS"]
    assert set(found("Name != 'café lofts'")) == set(names) - {"CAFÉ LOFTS"}
    assert set(found("Name IN ('ÆRØ COURT', 'ÉLAN')")) == {"Ærø Court", "élan"}
    assert set(found("Name NOT IN ('ærø court')")) == set(names) - {"Ærø Court"}
    assert found("Name LIKE 'café%'") == ["CAFÉ LOFTS"]
    assert found("Name LIKE '%LOFTS'") == ["CAFÉ LOFTS"]
    assert found("Name LIKE 'É%'") == ["élan"]
    assert found("Name >= 'ZETA' AND Name < 'zetb'") == ["Zeta"]
    assert found("Name = 'CAFÉ LOFTS' OR Name = 'zeta'", "ORDER BY Name DESC") == [
        "Zeta", "CAFÉ LOFTS",
    ]  # fmt: skip
    q = f"SELECT Id FROM {OBJECT} WHERE Short_ID__c = '{tag}' AND Name = 'café lofts'"
    r = _bulk_query(api, q)
    info = api.wait_job("query", r.json()["id"])
    assert info["numberRecordsProcessed"] == 1
    assert ids["CAFÉ LOFTS"] in api.req("GET", f"/jobs/query/{info['id']}/results").text


def test_external_id_matches_case_insensitively_for_all_letters(api: Api) -> None:
    """A Text External ID that is unique and not case-sensitive matches regardless of
    case (upsert: "If the external ID isn't matched, a new record is created"; the
    unique check of a case-insensitive unique field; Comparison Operators): upserting
    'ÅBC-…' then 'åbc-…' updates the same record, GET by external id finds it, and a
    second record may not take 'Åbc-…' (DUPLICATE_VALUE)."""
    k = key("ÅBC-")
    r = api.req("PATCH", f"/sobjects/{OBJECT}/{EXTERNAL_ID}/{k}", json={"Name": "First"})
    assert r.status_code == 201 and r.json()["created"] is True
    rid = r.json()["id"]
    r = api.req("PATCH", f"/sobjects/{OBJECT}/{EXTERNAL_ID}/{k.lower()}", json={"Name": "Again"})
    assert r.status_code == 200 and r.json() == {
        "id": rid, "success": True, "errors": [], "created": False,
    }  # fmt: skip
    assert api.req("GET", f"/sobjects/{OBJECT}/{EXTERNAL_ID}/{k.lower()}").json()["Id"] == rid
    out = _collections(api, "POST", [_rec(Name="Other", **{EXTERNAL_ID: k.capitalize()})])
    assert _codes(out[0]) == ["DUPLICATE_VALUE"]
    got = api.soql(f"SELECT Id FROM {OBJECT} WHERE {EXTERNAL_ID} IN ('{k.lower()}')")
    assert [x["Id"] for x in got["records"]] == [rid]


# 4. a request whose client went away is still committed --------------------------------


def _send_and_vanish(emu: Emulator, method: str, path: str, body: bytes, length: int) -> None:
    """Send one HTTPS request (Content-Length `length`, body `body`) and close the
    socket without reading a byte of the answer."""
    ctx = ssl.create_default_context(cafile=emu.ca_file)
    head = (
        f"{method} /services/data/v59.0{path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {emu.access_token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    )
    with (
        socket.create_connection(("127.0.0.1", emu.port), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(head.encode() + body)


def _wait_for(api: Api, k: str, timeout: float = 10) -> list[str]:
    deadline = time.time() + timeout
    while True:
        got = api.soql(f"SELECT Id FROM {OBJECT} WHERE {EXTERNAL_ID} = '{k}'")
        if got["records"] or time.time() > deadline:
            return [r["Id"] for r in got["records"]]
        time.sleep(0.05)


def test_a_request_whose_client_went_away_is_still_committed(api: Api, emu: Emulator) -> None:
    """Salesforce runs a DML request it has received to the end whether or not the
    client is still there to read the answer: "it is possible that the call may
    complete on the server but the timeout is still triggered ... any number of them,
    1 or 100, might be created" (AJAX Toolkit, Timeout Parameter,
    developer.salesforce.com/docs/atlas.en-us.ajax.meta/ajax/sforce_api_ajax_timeout.htm;
    the reason UI API offers idempotent writes, "Prevent Record Duplication"). So a
    client that sends a Collections insert (or a REST create) and dies before reading
    the answer finds the records afterwards. A request whose body never fully
    arrived was not received, and writes nothing."""
    k1, k2, k3 = key("gone"), key("gone"), key("gone")
    body = json.dumps({"allOrNone": False, "records": [_rec(Name="Gone", **{EXTERNAL_ID: k1})]})
    _send_and_vanish(emu, "POST", "/composite/sobjects", body.encode(), len(body))
    assert len(_wait_for(api, k1)) == 1
    one = json.dumps({"Name": "Gone too", EXTERNAL_ID: k2}).encode()
    _send_and_vanish(emu, "POST", f"/sobjects/{OBJECT}/", one, len(one))
    assert len(_wait_for(api, k2)) == 1
    cut = json.dumps({"allOrNone": False, "records": [_rec(Name="Cut", **{EXTERNAL_ID: k3})]})
    _send_and_vanish(emu, "POST", "/composite/sobjects", cut.encode()[:-5], len(cut))
    assert _wait_for(api, k3, timeout=1.0) == []
