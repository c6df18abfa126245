"""One test per Salesforce error code the emulator produces, through REST, sObject
Collections and Bulk API 2.0, checking the code, the fields and the message shape."""

from __future__ import annotations

from typing import Any

import pytest

from propsync.fields import EXTERNAL_ID, OBJECT
from tests.emulator.conftest import Api, key


def _one(api: Api, record: dict[str, Any], op: str = "POST") -> dict[str, Any]:
    """The single result of a one-record Collections call."""
    rec = {"attributes": {"type": OBJECT}, **record}
    r = api.req(op, "/composite/sobjects", json={"records": [rec]})
    assert r.status_code == 200, r.text
    return dict(r.json()[0])


def _err(result: dict[str, Any]) -> dict[str, Any]:
    assert result["success"] is False, result
    return dict(result["errors"][0])


def test_required_field_missing(api: Api) -> None:
    e = _err(_one(api, {EXTERNAL_ID: key()}))
    assert e == {
        "statusCode": "REQUIRED_FIELD_MISSING",
        "message": "Required fields are missing: [Name]",
        "fields": ["Name"],
    }
    r = api.req("POST", f"/sobjects/{OBJECT}/", json={"City__c": "x"})
    assert r.status_code == 400
    assert r.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert r.json()[0]["fields"] == ["Name", EXTERNAL_ID]
    # clearing a required field on update fails the same way
    rid = api.create(Name="Has name", **{EXTERNAL_ID: key()})
    r = api.req("PATCH", f"/sobjects/{OBJECT}/{rid}", json={"Name": None})
    assert r.status_code == 400 and r.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    info = api.ingest("update", f"Id,Name\n{rid},#N/A\n")
    assert api.results(info["id"], "failedResults")[0]["sf__Error"].startswith(
        "REQUIRED_FIELD_MISSING:"
    )


def test_string_too_long(api: Api) -> None:
    name81 = "N" * 81
    e = _err(_one(api, {"Name": name81, EXTERNAL_ID: key()}))
    assert e["statusCode"] == "STRING_TOO_LONG" and e["fields"] == ["Name"]
    assert e["message"] == f"Name: data value too large: {name81} (max length=80)"
    assert _one(api, {"Name": "N" * 80, EXTERNAL_ID: key()})["success"] is True
    info = api.ingest("insert", f"Name,{EXTERNAL_ID}\n{name81},{key()}\nok,{key()}\n")
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (2, 1)
    assert api.results(info["id"], "failedResults")[0]["sf__Error"].startswith("STRING_TOO_LONG:")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("IDV_Enabled__c", "maybe"),
        ("Active_Property_Count__c", "two"),
        ("RDS_Created_At__c", "soon"),
    ],
)
def test_invalid_type_on_field_in_record(api: Api, field: str, value: str) -> None:
    e = _err(_one(api, {"Name": "T", EXTERNAL_ID: key(), field: value}))
    assert e["statusCode"] == "INVALID_TYPE_ON_FIELD_IN_RECORD" and e["fields"] == [field]
    assert e["message"].endswith(f"value not of required type: {value}")
    info = api.ingest("insert", f"Name,{EXTERNAL_ID},{field}\nT,{key()},{value}\n")
    err = api.results(info["id"], "failedResults")[0]["sf__Error"]
    assert err.startswith("INVALID_TYPE_ON_FIELD_IN_RECORD:")


def test_invalid_field(api: Api) -> None:
    e = _err(_one(api, {"Name": "F", EXTERNAL_ID: key(), "Nope__c": 1}))
    assert e["statusCode"] == "INVALID_FIELD"
    assert e["message"] == f"No such column 'Nope__c' on sobject of type {OBJECT}"
    r = api.req("POST", f"/sobjects/{OBJECT}/", json={"Name": "F", "Nope__c": 1})
    assert r.status_code == 400 and r.json()[0]["errorCode"] == "INVALID_FIELD"


def test_read_only_fields_are_refused(api: Api) -> None:
    rid = api.create(Name="RO", **{EXTERNAL_ID: key()})
    r = api.req("PATCH", f"/sobjects/{OBJECT}/{rid}", json={"CreatedDate": "2020-01-01T00:00:00Z"})
    assert r.status_code == 400
    assert r.json()[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert r.json()[0]["fields"] == ["CreatedDate"]


def test_duplicate_value_on_the_unique_external_id(api: Api) -> None:
    k = key()
    rid = api.create(Name="First", **{EXTERNAL_ID: k})
    e = _err(_one(api, {"Name": "Second", EXTERNAL_ID: k.upper()}))  # case-insensitive
    assert e["statusCode"] == "DUPLICATE_VALUE" and e["fields"] == [EXTERNAL_ID]
    assert e["message"] == (
        f"duplicate value found: {EXTERNAL_ID} duplicates value on record with id: {rid}"
    )
    # two records with one key in the same request: the second fails
    k2 = key()
    recs = [{"attributes": {"type": OBJECT}, "Name": n, EXTERNAL_ID: k2} for n in "AB"]
    out = api.req("POST", "/composite/sobjects", json={"records": recs}).json()
    assert [o["success"] for o in out] == [True, False]
    assert out[1]["errors"][0]["statusCode"] == "DUPLICATE_VALUE"
    # a deleted record frees its value (Salesforce checks records outside the recycle bin)
    api.req("DELETE", f"/sobjects/{OBJECT}/{rid}")
    assert _one(api, {"Name": "Third", EXTERNAL_ID: k})["success"] is True


def test_duplicate_external_id_in_one_upsert_request(api: Api) -> None:
    k = key()
    recs = [{"attributes": {"type": OBJECT}, "Name": n, EXTERNAL_ID: k} for n in "AB"]
    r = api.req("PATCH", f"/composite/sobjects/{OBJECT}/{EXTERNAL_ID}", json={"records": recs})
    errs = [o["errors"][0]["statusCode"] for o in r.json()]
    assert errs == ["DUPLICATE_VALUE", "DUPLICATE_VALUE"]
    assert r.json()[0]["errors"][0]["message"] == f"Duplicate external id specified: {k}"


def test_duplicate_external_id_when_the_key_matches_several(api: Api) -> None:
    pk = key("pf")
    ids = sorted(api.create("Property__c", Name=f"P{i}", Portfolio_Key__c=pk) for i in range(2))
    rec = {"attributes": {"type": "Property__c"}, "Name": "X", "Portfolio_Key__c": pk}
    r = api.req(
        "PATCH", "/composite/sobjects/Property__c/Portfolio_Key__c", json={"records": [rec]}
    )
    e = r.json()[0]["errors"][0]
    assert e["statusCode"] == "DUPLICATE_EXTERNAL_ID"
    assert e["message"] == (
        f"Portfolio_Key__c: more than one record found for external id field: [{', '.join(ids)}]"
    )


def test_malformed_id(api: Api) -> None:
    bad = "a0XDn00000000zz"[:-1] + "!"
    e = _err(_one(api, {"id": bad, "Name": "x"}, op="PATCH"))
    assert e["statusCode"] == "MALFORMED_ID"
    # a well-formed id of another object
    prop = api.create("Property__c", Name="Other object")
    e = _err(_one(api, {"id": prop, "Name": "x"}, op="PATCH"))
    assert e["statusCode"] == "MALFORMED_ID"
    # an 18-character id whose checksum suffix is wrong
    rid = api.create(Name="Check", **{EXTERNAL_ID: key()})
    e = _err(_one(api, {"id": rid[:15] + "ZZZ", "Name": "x"}, op="PATCH"))
    assert e["statusCode"] == "MALFORMED_ID"
    r = api.req("DELETE", "/composite/sobjects", params={"ids": "zzz"})
    assert r.json()[0]["errors"][0]["statusCode"] == "MALFORMED_ID"


def test_entity_is_deleted(api: Api) -> None:
    rid = api.create(Name="Gone", **{EXTERNAL_ID: key()})
    assert api.req("DELETE", f"/sobjects/{OBJECT}/{rid}").status_code == 204
    e = _err(_one(api, {"id": rid, "Name": "again"}, op="PATCH"))
    assert e == {"statusCode": "ENTITY_IS_DELETED", "message": "entity is deleted", "fields": []}
    r = api.req("DELETE", f"/sobjects/{OBJECT}/{rid}")
    assert r.status_code == 404 and r.json()[0]["errorCode"] == "ENTITY_IS_DELETED"
    info = api.ingest("update", f"Id,City__c\n{rid},x\n")
    err = api.results(info["id"], "failedResults")[0]["sf__Error"]
    assert err == "ENTITY_IS_DELETED:entity is deleted: --"


def test_not_found_and_invalid_cross_reference(api: Api) -> None:
    missing = "a0XDnzzzzzzzzzz"
    from propsync.sfid import to18

    missing18 = to18(missing)
    r = api.req("GET", f"/sobjects/{OBJECT}/{missing18}")
    assert r.status_code == 404 and r.json()[0]["errorCode"] == "NOT_FOUND"
    r = api.req("PATCH", f"/sobjects/{OBJECT}/{missing18}", json={"Name": "x"})
    assert r.status_code == 404
    e = _err(_one(api, {"id": missing18, "Name": "x"}, op="PATCH"))
    assert e["statusCode"] == "INVALID_CROSS_REFERENCE_KEY"
    r = api.req("GET", f"/sobjects/{OBJECT}/not-an-id")
    assert r.status_code == 404 and "external ID field" in r.json()[0]["message"]
    r = api.req("GET", "/sobjects/Nope__c/describe")
    assert r.status_code == 404


def test_missing_argument_and_bad_json(api: Api) -> None:
    e = _err(_one(api, {"Name": "no id"}, op="PATCH"))
    assert e["statusCode"] == "MISSING_ARGUMENT"
    info = api.ingest("upsert", f"{EXTERNAL_ID},Name\n,NoKey\n", ext=EXTERNAL_ID)
    assert api.results(info["id"], "failedResults")[0]["sf__Error"].startswith("MISSING_ARGUMENT")
    r = api.req("POST", f"/sobjects/{OBJECT}/", data=b"{not json",
                headers={"Content-Type": "application/json"})  # fmt: skip
    assert r.status_code == 400 and r.json()[0]["errorCode"] == "JSON_PARSER_ERROR"


def test_bulk_job_request_errors(api: Api) -> None:
    r = api.req("POST", "/jobs/ingest", json={"object": "Nope__c", "operation": "insert"})
    assert r.status_code == 400 and r.json()[0]["errorCode"] == "INVALIDJOB"
    r = api.req("POST", "/jobs/ingest", json={"object": OBJECT, "operation": "merge"})
    assert r.status_code == 400
    body = {"object": OBJECT, "operation": "upsert", "externalIdFieldName": "City__c"}
    r = api.req("POST", "/jobs/ingest", json=body)
    assert r.status_code == 400 and "External ID" in r.json()[0]["message"]
    job = api.req("POST", "/jobs/ingest", json={"object": OBJECT, "operation": "insert"}).json()
    r = api.req("PATCH", f"/jobs/ingest/{job['id']}", json={"state": "UploadComplete"})
    assert r.status_code == 400  # nothing uploaded
    r = api.req("GET", f"/jobs/ingest/{job['id']}/successfulResults")
    assert r.status_code == 409  # not finished
    assert api.req("GET", "/jobs/ingest/750Dn0000000zzzIAA").status_code == 404
