"""Conformance: each endpoint walked as Salesforce's documentation describes it
(status codes, headers, body shapes, CSV columns), through the real
simple-salesforce 1.12 client where it has a call for it and plain requests
otherwise.

Emulated (REST API v50.0-v62.0, one org, objects from JSON definitions):
- OAuth 2.0 token endpoint: client_credentials (form or Basic auth), JWT bearer
  (RS256, verified against the org's configured keys; iss, sub, aud, exp
  checked), password grant; SOAP partner `login` (username + password +
  security token). Tokens expire after `token_ttl_s`; then 401 INVALID_SESSION_ID.
- GET /services/data/ (no auth), GET /services/data/vXX.X/, /limits/
  (DailyApiRequests, DailyBulkV2QueryJobs, ...), `Sforce-Limit-Info:
  api-usage=N/M` on every API response, the daily quota (403
  REQUEST_LIMIT_EXCEEDED). Every call under /services/data/vXX.X/ counts,
  Bulk API 2.0 included; the token endpoint and the version list do not.
- Describe: global (/sobjects/), basic (/sobjects/X/), full (/sobjects/X/describe/).
- sObject rows: POST create (201), GET by id (?fields=), PATCH update (204),
  DELETE (204, to the recycle bin); GET and PATCH by external id (upsert: 201
  created / 200 updated with a body, 300 with candidate URLs on several
  matches, `updateOnly=true` gives 404 instead of creating).
- sObject Collections: POST create, PATCH update, DELETE ?ids=, PATCH
  /composite/sobjects/X/Field upsert; at most 200 records (400
  EXCEEDED_ID_LIMIT); `allOrNone` (ALL_OR_NONE_OPERATION_ROLLED_BACK);
  per-record `{id, success, errors: [{statusCode, message, fields}], created}`;
  retrieve (GET /composite/sobjects/X?ids=&fields=, or POST with a body).
- SOQL query/queryAll with nextRecordsUrl paging (2,000, or
  `Sforce-Query-Options: batchSize`), the subset in `soql.py` (field lists,
  COUNT(), WHERE comparisons, IN/NOT IN, LIKE, AND/OR/NOT with parentheses,
  NULL tests, date/datetime literals, TODAY/YESTERDAY/TOMORROW/LAST_N_DAYS/
  NEXT_N_DAYS, ORDER BY ASC/DESC NULLS FIRST/LAST, LIMIT, OFFSET); anything
  else 400 MALFORMED_QUERY (INVALID_FIELD / INVALID_TYPE for unknown names), as is
  a query past the limits (100,000 characters, OFFSET 2,000 with
  NUMBER_OUTSIDE_VALID_RANGE, dates 1700-4000, the emulator's nesting limit), never
  a 500; a URI over 16,384 bytes answers 414. Text compares case-insensitively for
  every letter (Unicode case folding). See test_fidelity.py.
- Bulk API 2.0 ingest (insert, update, upsert, delete): create, one CSV upload,
  UploadComplete / Aborted, job info, list, delete; results successfulResults
  (sf__Id, sf__Created), failedResults (sf__Id, sf__Error), unprocessedrecords,
  paths case-insensitive; `#N/A` clears, an empty cell leaves a field as is;
  LF/CRLF, all six column delimiters. Bulk API 2.0 query/queryAll jobs with
  `maxRecords`, `Sforce-Locator`, `Sforce-NumberOfRecords`.
- Records: 18-character ids with the object's key prefix and checksum,
  CreatedDate/CreatedById/LastModifiedDate/LastModifiedById/SystemModstamp/
  IsDeleted; audit fields settable on insert (org permission, knob
  `set_audit_fields`); the unique external id is case-insensitive and applies
  to records outside the recycle bin. Empty text is null (so "" in a required
  field is REQUIRED_FIELD_MISSING). A DML request fully received is committed even
  if its client has gone before the answer.
- The workflow that creates a Property__c and writes its Id to
  sf_property_id__c as the workflow user, `workflow_delay_s` after create.
- Knobs: latency, lock errors (plain and wrapped), 503s, session expiry, quota,
  a failing job, InProgress polls, shuffled results, seed; validated (rates 0..1,
  durations >= 0, counts integers >= 0). They, the `/_emulator/` admin endpoints
  and the `X-Emulator-Knobs` header need the admin token of connection.json; the
  data folder is private (0600/0700). See test_admin.py.

Not emulated: Bulk API 1.0, Composite/batch/tree/graph resources, SOSL,
relationship queries, aggregate functions other than COUNT(), GROUP BY,
TYPEOF, FOR UPDATE, undelete and hard delete, field-level security and
sharing, triggers, validation rules and flows other than the one workflow,
more than one sObject type in one Collections write request, multiple uploads per
ingest job (refused as Salesforce does), PK chunking, gzip request bodies,
the CSV `lineEnding` mismatch check, per-org time zones (UTC), picklists,
API versions below 50.0, Salesforce's internal retry of locked rows, locale-specific
case rules (Turkish i) and locale collation of accented letters in ORDER BY (folded
text sorts by code point), OFFSET refused in Bulk API queries, the 431 for over-long
headers, the 1700-4000 date range on record writes.
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from propsync.emulator import Emulator
from propsync.fields import EXTERNAL_ID, OBJECT
from propsync.sfid import checksum
from tests.emulator.conftest import VERSION, Api, key


def _valid_id(rid: str, prefix: str) -> bool:
    return len(rid) == 18 and rid.startswith(prefix) and rid[15:] == checksum(rid[:15])


# --- discovery, auth, limits ------------------------------------------------------------


def test_version_list_needs_no_session(emu: Emulator) -> None:
    r = emu.session().get(f"{emu.instance_url}/services/data/")
    assert r.status_code == 200
    versions = r.json()
    assert {"label", "url", "version"} <= set(versions[0])
    assert any(v["version"] == VERSION for v in versions)
    assert "Sforce-Limit-Info" not in r.headers


def test_version_root_lists_resources(api: Api) -> None:
    r = api.req("GET", "/")
    assert r.status_code == 200
    body = r.json()
    assert body["sobjects"] == f"/services/data/v{VERSION}/sobjects"
    assert {"query", "queryAll", "limits", "composite", "jobs"} <= set(body)


def test_client_credentials_grant(emu: Emulator) -> None:
    s = emu.session()
    url = f"{emu.instance_url}/services/oauth2/token"
    form = {"grant_type": "client_credentials"}
    r = s.post(url, data=form, auth=(emu.client_id, emu.client_secret))
    assert r.status_code == 200
    doc = r.json()
    assert doc["instance_url"] == emu.instance_url and doc["token_type"] == "Bearer"
    assert Api(emu, doc["access_token"]).req("GET", "/limits/").status_code == 200
    r = s.post(url, data={**form, "client_id": emu.client_id, "client_secret": emu.client_secret})
    assert r.status_code == 200
    r = s.post(url, data=form, auth=(emu.client_id, "wrong"))
    assert r.status_code == 400 and r.json()["error"] == "invalid_client"
    r = s.post(url, data=form, auth=("nope", emu.client_secret))
    assert r.json()["error"] == "invalid_client_id"
    assert s.post(url, data={"grant_type": "magic"}).json()["error"] == "unsupported_grant_type"


def _assertion(emu: Emulator, key_pem: bytes, **claims: Any) -> str:
    import jwt

    payload = {
        "iss": emu.client_id,
        "sub": emu.username,
        "aud": "https://login.salesforce.com",
        "exp": int(time.time()) + 180,
    }
    payload.update(claims)
    return jwt.encode(payload, key_pem, algorithm="RS256")


def test_jwt_bearer_grant_verifies_the_signature(emu: Emulator) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    good = Path(emu.jwt_private_key_file).read_bytes()
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )  # fmt: skip
    url = f"{emu.instance_url}/services/oauth2/token"
    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"

    def post(assertion: str) -> requests.Response:
        return emu.session().post(url, data={"grant_type": grant, "assertion": assertion})

    r = post(_assertion(emu, good))
    assert r.status_code == 200, r.text
    assert Api(emu, r.json()["access_token"]).req("GET", "/limits/").status_code == 200
    assert post(_assertion(emu, other)).json()["error"] == "invalid_grant"
    expired = post(_assertion(emu, good, exp=int(time.time()) - 10)).json()
    assert expired["error"] == "invalid_grant"
    assert post(_assertion(emu, good, sub="someone@else")).json()["error"] == "invalid_grant"
    assert post(_assertion(emu, good, iss="other-app")).json()["error"] == "invalid_client_id"
    assert post(_assertion(emu, good, aud="https://evil")).status_code == 400


def test_soap_login_through_simple_salesforce(emu: Emulator) -> None:
    from simple_salesforce import Salesforce, SalesforceLogin
    from simple_salesforce.exceptions import SalesforceAuthenticationFailed

    session_id, instance = SalesforceLogin(
        username=emu.username, password=emu.password, security_token=emu.security_token,
        scratch_url=emu.instance_url, session=emu.session(), sf_version=VERSION,
    )  # fmt: skip
    assert instance == emu.instance_url.removeprefix("https://")
    sf = Salesforce(instance=instance, session_id=session_id, session=emu.session())
    assert sf.limits()["DailyApiRequests"]["Max"] > 0
    with pytest.raises(SalesforceAuthenticationFailed):
        SalesforceLogin(
            username=emu.username, password="wrong", security_token="",
            scratch_url=emu.instance_url, session=emu.session(),
        )  # fmt: skip


def test_password_grant(emu: Emulator) -> None:
    url = f"{emu.instance_url}/services/oauth2/token"
    form = {
        "grant_type": "password", "client_id": emu.client_id,
        "client_secret": emu.client_secret, "username": emu.username,
        "password": emu.password + emu.security_token,
    }  # fmt: skip
    assert emu.session().post(url, data=form).status_code == 200
    bad = emu.session().post(url, data={**form, "password": "x"})
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"


def test_limits_and_limit_info_header(api: Api, emu: Emulator) -> None:
    r = api.req("GET", "/limits/")
    assert r.status_code == 200
    body = r.json()
    daily = body["DailyApiRequests"]
    assert daily["Max"] == emu.knobs.daily_api_limit
    used = int(r.headers["Sforce-Limit-Info"].split("=")[1].split("/")[0])
    assert daily["Max"] - daily["Remaining"] == used  # the call counts itself
    assert "DailyBulkV2QueryJobs" in body
    r2 = api.req("GET", "/sobjects/")
    used2 = int(r2.headers["Sforce-Limit-Info"].split("=")[1].split("/")[0])
    assert used2 == used + 1
    assert emu.usage()["total"] == used2


def test_missing_or_bad_token_is_invalid_session(api: Api) -> None:
    r = api.s.get(api.base + "/limits/")
    assert r.status_code == 401
    assert r.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]
    r = api.s.get(api.base + "/limits/", headers={"Authorization": "Bearer 00Dxx!nope"})
    assert r.status_code == 401


# --- describe ---------------------------------------------------------------------------


def test_describe(sf: Any) -> None:
    from propsync.fields import FIELDS

    d = sf.product_property__c.describe()
    assert d["name"] == OBJECT and d["keyPrefix"] == "a0X"
    by_name = {f["name"]: f for f in d["fields"]}
    for f in FIELDS:
        got = by_name[f.name]
        assert got["type"] == f.type
        if f.type == "string":
            assert got["length"] == f.length
        if f.required:
            assert got["nillable"] is False
    ext = by_name[EXTERNAL_ID]
    assert ext["externalId"] and ext["unique"] and ext["idLookup"]
    assert by_name["Id"]["createable"] is False
    glob = sf.describe()
    assert {o["name"] for o in glob["sobjects"]} >= {OBJECT, "Property__c"}
    basic = sf.product_property__c.metadata()
    assert basic["objectDescribe"]["keyPrefix"] == "a0X"


# --- sObject rows -----------------------------------------------------------------------


def test_create_get_update_delete(sf: Any, api: Api, emu: Emulator) -> None:
    k = key()
    res = sf.product_property__c.create(
        {"Name": "Maple Court", EXTERNAL_ID: k, "City__c": "Austin"}
    )
    assert res["success"] is True and res["errors"] == []
    rid = res["id"]
    assert _valid_id(rid, "a0X")
    rec = sf.product_property__c.get(rid)
    assert rec["attributes"]["type"] == OBJECT
    assert rec["attributes"]["url"] == f"/services/data/v{VERSION}/sobjects/{OBJECT}/{rid}"
    assert rec["Name"] == "Maple Court" and rec["IDV_Enabled__c"] is False
    assert rec["IsDeleted"] is False
    assert rec["LastModifiedById"] == rec["CreatedById"] == emu.integration_user_id
    assert rec["CreatedDate"].endswith("+0000") and len(rec["CreatedDate"]) == 28
    # A 15-character id works too.
    assert sf.product_property__c.get(rid[:15])["Id"] == rid
    part = api.req("GET", f"/sobjects/{OBJECT}/{rid}", params={"fields": "Name,City__c"}).json()
    assert set(part) == {"attributes", "Id", "Name", "City__c"}
    time.sleep(0.01)
    assert sf.product_property__c.update(rid, {"City__c": None, "IDV_Enabled__c": True}) == 204
    rec2 = sf.product_property__c.get(rid)
    assert rec2["City__c"] is None and rec2["IDV_Enabled__c"] is True
    assert rec2["LastModifiedDate"] > rec["LastModifiedDate"]
    assert sf.product_property__c.delete(rid) == 204
    r = api.req("GET", f"/sobjects/{OBJECT}/{rid}")
    assert r.status_code == 404 and r.json()[0]["errorCode"] == "NOT_FOUND"
    gone = api.soql(f"SELECT Id, IsDeleted FROM {OBJECT} WHERE Id = '{rid}'", all_rows=True)
    assert gone["records"][0]["IsDeleted"] is True
    assert api.soql(f"SELECT Id FROM {OBJECT} WHERE Id = '{rid}'")["totalSize"] == 0


def test_upsert_by_external_id(sf: Any, api: Api) -> None:
    k = key()
    r = api.req("PATCH", f"/sobjects/{OBJECT}/{EXTERNAL_ID}/{k}", json={"Name": "One"})
    assert r.status_code == 201
    assert r.json() == {"id": r.json()["id"], "success": True, "errors": [], "created": True}
    rid = r.json()["id"]
    r = api.req("PATCH", f"/sobjects/{OBJECT}/{EXTERNAL_ID}/{k}", json={"Name": "Two"})
    assert r.status_code == 200 and r.json()["created"] is False and r.json()["id"] == rid
    assert sf.product_property__c.get_by_custom_id(EXTERNAL_ID, k)["Name"] == "Two"
    # simple-salesforce returns the status code
    assert sf.product_property__c.upsert(f"{EXTERNAL_ID}/{k}", {"City__c": "Reno"}) == 200
    assert sf.product_property__c.upsert(f"{EXTERNAL_ID}/{key()}", {"Name": "New"}) == 201
    # updateOnly refuses to create
    r = api.req("PATCH", f"/sobjects/{OBJECT}/{EXTERNAL_ID}/{key()}",
                params={"updateOnly": "true"}, json={"Name": "x"})  # fmt: skip
    assert r.status_code == 404 and r.json()[0]["errorCode"] == "NOT_FOUND"
    r = api.req("PATCH", f"/sobjects/{OBJECT}/{EXTERNAL_ID}/{k}",
                params={"updateOnly": "true"}, json={"Name": "Three"})  # fmt: skip
    assert r.status_code == 200
    # an unknown external id field
    r = api.req("PATCH", f"/sobjects/{OBJECT}/City__c/{k}", json={"Name": "x"})
    assert r.status_code == 404


def test_upsert_with_several_matches_answers_300(sf: Any, api: Api) -> None:
    from simple_salesforce.exceptions import SalesforceMoreThanOneRecord

    # Property__c.Portfolio_Key__c is an external id that is not unique.
    pk = key("pf")
    ids = [api.create("Property__c", Name=f"P{i}", Portfolio_Key__c=pk) for i in range(2)]
    r = api.req("PATCH", f"/sobjects/Property__c/Portfolio_Key__c/{pk}", json={"Name": "x"})
    assert r.status_code == 300
    assert sorted(r.json()) == sorted(
        f"/services/data/v{VERSION}/sobjects/Property__c/{i}" for i in ids
    )
    with pytest.raises(SalesforceMoreThanOneRecord):
        sf.Property__c.upsert(f"Portfolio_Key__c/{pk}", {"Name": "y"})


# --- sObject Collections ----------------------------------------------------------------


def _rec(name: str, k: str, **more: Any) -> dict[str, Any]:
    return {"attributes": {"type": OBJECT}, "Name": name, EXTERNAL_ID: k, **more}


def test_collections_create_update_delete(api: Api) -> None:
    recs = [_rec(f"C{i}", key()) for i in range(3)]
    r = api.req("POST", "/composite/sobjects", json={"allOrNone": False, "records": recs})
    assert r.status_code == 200
    out = r.json()
    assert [set(o) for o in out] == [{"id", "success", "errors", "created"}] * 3
    assert all(o["success"] and o["created"] and _valid_id(o["id"], "a0X") for o in out)
    ids = [o["id"] for o in out]
    upd = [{"attributes": {"type": OBJECT}, "id": ids[0], "City__c": "Oslo"},
           {"attributes": {"type": OBJECT}, "Id": ids[1], "City__c": "Rome"}]  # fmt: skip
    r = api.req("PATCH", "/composite/sobjects", json={"records": upd})
    assert [o["success"] for o in r.json()] == [True, True], r.text
    assert api.get(ids[1])["City__c"] == "Rome"
    r = api.req("DELETE", "/composite/sobjects", params={"ids": ",".join(ids)})
    assert r.status_code == 200 and all(o["success"] for o in r.json())
    assert {tuple(sorted(o)) for o in r.json()} == {("errors", "id", "success")}


def test_collections_upsert_reports_created(api: Api) -> None:
    k1, k2 = key(), key()
    api.req("PATCH", f"/sobjects/{OBJECT}/{EXTERNAL_ID}/{k1}", json={"Name": "Old"})
    recs = [_rec("A", k1), _rec("B", k2)]
    r = api.req("PATCH", f"/composite/sobjects/{OBJECT}/{EXTERNAL_ID}", json={"records": recs})
    assert r.status_code == 200
    assert [(o["success"], o["created"]) for o in r.json()] == [(True, False), (True, True)]


def test_collections_limit_and_all_or_none(api: Api) -> None:
    too_many = [_rec("x", key()) for _ in range(201)]
    r = api.req("POST", "/composite/sobjects", json={"records": too_many})
    assert r.status_code == 400 and r.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    good, bad = _rec("ok", key()), _rec("", key())
    del bad["Name"]
    r = api.req("POST", "/composite/sobjects", json={"allOrNone": True, "records": [good, bad]})
    out = r.json()
    assert out[0]["success"] is False and out[0]["id"] is None
    assert out[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert out[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert out[1]["errors"][0]["fields"] == ["Name"]
    assert (
        api.soql(f"SELECT COUNT() FROM {OBJECT} WHERE {EXTERNAL_ID} = '{good[EXTERNAL_ID]}'")[
            "totalSize"
        ]
        == 0
    )
    r = api.req("POST", "/composite/sobjects", json={"allOrNone": False, "records": [good, bad]})
    assert [o["success"] for o in r.json()] == [True, False]


# --- SOQL -------------------------------------------------------------------------------


def test_query_paging_with_next_records_url(sf: Any, api: Api) -> None:
    tag = key("page")
    rows = "".join(f"Pg {i},{tag}-{i},{tag}\n" for i in range(4500))
    info = api.ingest("insert", "Name,snappt_property_id__c,Short_ID__c\n" + rows)
    assert info["numberRecordsFailed"] == 0
    q = f"SELECT Id, Name FROM {OBJECT} WHERE Short_ID__c = '{tag}' ORDER BY Name"
    first = sf.query(q)
    assert first["totalSize"] == 4500 and first["done"] is False
    assert len(first["records"]) == 2000
    assert first["nextRecordsUrl"].startswith(f"/services/data/v{VERSION}/query/")
    every = sf.query_all(q)["records"]
    assert len(every) == 4500 and len({r["Id"] for r in every}) == 4500
    assert [r["Name"] for r in every] == sorted(r["Name"] for r in every)
    r = api.req("GET", "/query", params={"q": q}, headers={"Sforce-Query-Options": "batchSize=500"})
    assert len(r.json()["records"]) == 500
    r = api.req("GET", "/query/01gNOPE-2000")
    assert r.status_code == 400 and r.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_query_all_sees_the_recycle_bin(sf: Any, api: Api) -> None:
    k = key()
    rid = api.create(Name="Bin", **{EXTERNAL_ID: k})
    sf.product_property__c.delete(rid)
    q = f"SELECT Id, IsDeleted FROM {OBJECT} WHERE {EXTERNAL_ID} = '{k}'"
    assert sf.query(q)["totalSize"] == 0
    assert sf.query_all(q, include_deleted=True)["records"][0]["IsDeleted"] is True


def test_count_and_malformed_query(api: Api, sf: Any) -> None:
    from simple_salesforce.exceptions import SalesforceMalformedRequest

    r = api.req("GET", "/query", params={"q": f"SELECT COUNT() FROM {OBJECT}"})
    assert r.status_code == 200 and r.json()["records"] == [] and r.json()["done"] is True
    for q, code in [
        (f"SELECT Id FROM {OBJECT} GROUP BY Name", "MALFORMED_QUERY"),
        (
            f"SELECT Id FROM {OBJECT} WHERE Name = 'a' AND Name = 'b' OR Name = 'c'",
            "MALFORMED_QUERY",
        ),
        (f"SELECT Nope__c FROM {OBJECT}", "INVALID_FIELD"),
        ("SELECT Id FROM Nope__c", "INVALID_TYPE"),
        (f"SELECT Id FROM {OBJECT} WHERE IDV_Enabled__c = 'true'", "INVALID_QUERY_FILTER_OPERATOR"),
    ]:
        r = api.req("GET", "/query", params={"q": q})
        assert r.status_code == 400 and r.json()[0]["errorCode"] == code, (q, r.text)
    with pytest.raises(SalesforceMalformedRequest):
        sf.query(f"SELECT Id, LastModifiedBy.Name FROM {OBJECT}")


# --- Bulk API 2.0 -----------------------------------------------------------------------


def test_bulk_ingest_job_lifecycle_and_results(api: Api, emu: Emulator) -> None:
    k1, k2, k3 = key(), key(), key()
    body = {"object": OBJECT, "operation": "insert", "contentType": "CSV", "lineEnding": "LF"}
    job = api.req("POST", "/jobs/ingest", json=body).json()
    assert job["state"] == "Open" and job["object"] == OBJECT and job["operation"] == "insert"
    assert job["contentUrl"] == f"services/data/v{VERSION}/jobs/ingest/{job['id']}/batches"
    assert _valid_id(job["id"], "750")
    data = f'Name,{EXTERNAL_ID},City__c\n"Oak, Ltd",{k1},Austin\n,{k2},Reno\nElm,{k3},\n'
    r = api.req("PUT", f"/jobs/ingest/{job['id']}/batches", data=data,
                headers={"Content-Type": "text/csv"})  # fmt: skip
    assert r.status_code == 201
    r = api.req("PUT", f"/jobs/ingest/{job['id']}/batches", data=data,
                headers={"Content-Type": "text/csv"})  # fmt: skip
    assert r.status_code == 400 and "multiple contents" in r.json()[0]["message"]
    r = api.req("PATCH", f"/jobs/ingest/{job['id']}", json={"state": "UploadComplete"})
    assert r.status_code == 200 and r.json()["state"] == "UploadComplete"
    info = api.wait_job("ingest", job["id"])
    assert info["state"] == "JobComplete"
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (3, 1)
    ok = api.results(job["id"], "successfulResults")
    assert list(ok[0]) == ["sf__Id", "sf__Created", "Name", EXTERNAL_ID, "City__c"]
    assert {row["Name"] for row in ok} == {"Oak, Ltd", "Elm"}
    assert all(row["sf__Created"] == "true" and _valid_id(row["sf__Id"], "a0X") for row in ok)
    bad = api.results(job["id"], "FAILEDRESULTS")  # paths are case-insensitive
    assert list(bad[0]) == ["sf__Id", "sf__Error", "Name", EXTERNAL_ID, "City__c"]
    assert bad[0]["sf__Error"].startswith(
        "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]"
    )
    assert api.results(job["id"], "unprocessedrecords") == []
    listed = api.req("GET", "/jobs/ingest").json()
    assert job["id"] in {j["id"] for j in listed["records"]} and listed["done"] is True
    assert api.req("DELETE", f"/jobs/ingest/{job['id']}").status_code == 204
    assert api.req("GET", f"/jobs/ingest/{job['id']}").status_code == 404
    assert "POST jobs/ingest" in emu.usage()["by_endpoint"]


def test_bulk_upsert_update_delete_and_na(api: Api) -> None:
    k1, k2 = key(), key()
    api.ingest("insert", f"Name,{EXTERNAL_ID},City__c,State__c\nA,{k1},Austin,TX\nB,{k2},Reno,NV\n")
    # upsert: #N/A clears City__c, an empty State__c stays as it was
    data = f"{EXTERNAL_ID},Name,City__c,State__c\n{k1},A2,#N/A,\n{key()},C,X,Y\n"
    info = api.ingest("upsert", data, ext=EXTERNAL_ID)
    assert info["numberRecordsFailed"] == 0
    ok = api.results(info["id"], "successfulResults")
    assert sorted(row["sf__Created"] for row in ok) == ["false", "true"]
    rec = api.soql(f"SELECT Id, Name, City__c, State__c FROM {OBJECT} WHERE {EXTERNAL_ID} = '{k1}'")
    r = rec["records"][0]
    assert (r["Name"], r["City__c"], r["State__c"]) == ("A2", None, "TX")
    info = api.ingest("update", f"Id,City__c\r\n{r['Id']},Boise\r\n", line_ending="CRLF")
    assert info["numberRecordsFailed"] == 0 and api.get(r["Id"])["City__c"] == "Boise"
    info = api.ingest("delete", f"Id\n{r['Id']}\n{r['Id'][:15]}x\n")
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (2, 1)
    assert api.results(info["id"], "failedResults")[0]["sf__Error"].startswith("MALFORMED_ID")
    assert api.soql(f"SELECT Id FROM {OBJECT} WHERE Id = '{r['Id']}'")["totalSize"] == 0


def test_bulk_job_with_unknown_column_fails(api: Api) -> None:
    info = api.ingest("insert", f"Name,Nope__c,{EXTERNAL_ID}\nA,1,{key()}\n")
    assert info["state"] == "Failed"
    assert info["errorMessage"] == "InvalidBatch : Field name not found : Nope__c"
    assert len(api.results(info["id"], "unprocessedrecords")) == 1


def test_bulk_abort(api: Api) -> None:
    body = {"object": OBJECT, "operation": "insert", "lineEnding": "LF"}
    job = api.req("POST", "/jobs/ingest", json=body).json()
    r = api.req("PATCH", f"/jobs/ingest/{job['id']}", json={"state": "Aborted"})
    assert r.status_code == 200 and r.json()["state"] == "Aborted"
    r = api.req("PATCH", f"/jobs/ingest/{job['id']}", json={"state": "UploadComplete"})
    assert r.status_code == 409


def test_bulk_query_job_with_locators(api: Api, sf: Any) -> None:
    tag = key("bq")
    rows = "".join(f'"Q, {i}",{tag}-{i},{tag}\n' for i in range(250))
    api.ingest("insert", "Name,snappt_property_id__c,Short_ID__c\n" + rows)
    q = f"SELECT Id, Name, IDV_Enabled__c, CreatedDate FROM {OBJECT} WHERE Short_ID__c = '{tag}'"
    r = api.req("POST", "/jobs/query", json={"operation": "query", "query": q})
    assert r.status_code == 200
    job = r.json()
    assert job["operation"] == "query" and job["object"] == OBJECT
    info = api.wait_job("query", job["id"])
    assert info["state"] == "JobComplete" and info["numberRecordsProcessed"] == 250
    got: list[dict[str, str]] = []
    locator = None
    pages = 0
    while True:
        params: dict[str, Any] = {"maxRecords": 100}
        if locator:
            params["locator"] = locator
        r = api.req("GET", f"/jobs/query/{job['id']}/results", params=params)
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
        page = list(csv.DictReader(io.StringIO(r.text)))
        assert int(r.headers["Sforce-NumberOfRecords"]) == len(page)
        got += page
        pages += 1
        locator = r.headers["Sforce-Locator"]
        if locator == "null":
            break
    assert pages == 3 and len(got) == 250
    assert list(got[0]) == ["Id", "Name", "IDV_Enabled__c", "CreatedDate"]
    assert got[0]["IDV_Enabled__c"] == "false" and got[0]["CreatedDate"].endswith("Z")
    assert {g["Name"] for g in got} == {f"Q, {i}" for i in range(250)}
    # simple-salesforce's own bulk2 query reads the same job format
    chunks = sf.bulk2.product_property__c.query(q, wait=0)
    rows2 = [line for chunk in chunks for line in chunk.splitlines()]
    assert len(rows2) == 251
    r = api.req("POST", "/jobs/query", json={"operation": "query", "query": "SELECT FROM x"})
    assert r.status_code == 400


def test_simple_salesforce_bulk2_round_trip(sf: Any, api: Api) -> None:
    tag = key("ss")
    recs = [{"Name": f"S{i}", EXTERNAL_ID: f"{tag}-{i}", "Short_ID__c": tag} for i in range(30)]
    res = sf.bulk2.product_property__c.insert(records=recs, wait=0)
    assert res[0]["numberRecordsProcessed"] == 30 and res[0]["numberRecordsFailed"] == 0
    for r in recs:
        r["City__c"] = "Upserted"
    res = sf.bulk2.product_property__c.upsert(records=recs, external_id_field=EXTERNAL_ID, wait=0)
    assert res[0]["numberRecordsFailed"] == 0
    ok = sf.bulk2.product_property__c.get_successful_records(res[0]["job_id"])
    assert ok.splitlines()[0].startswith('"sf__Id","sf__Created"') or ok.startswith("sf__Id")
    n = api.soql(
        f"SELECT COUNT() FROM {OBJECT} WHERE City__c = 'Upserted' AND Short_ID__c = '{tag}'"
    )
    assert n["totalSize"] == 30


# --- the workflow -----------------------------------------------------------------------


def test_workflow_fills_sf_property_id_as_the_workflow_user(api: Api, emu: Emulator) -> None:
    rid = api.create(Name="Workflow Place", **{EXTERNAL_ID: key()})
    assert api.get(rid)["sf_property_id__c"] is None
    time.sleep(0.35)
    rec = api.get(rid)  # due events are applied before any request is served
    prop_id = rec["sf_property_id__c"]
    assert prop_id is not None and _valid_id(prop_id, "a01")
    assert rec["LastModifiedById"] == emu.workflow_user_id
    prop = api.get(prop_id, "Property__c")
    assert prop["Name"] == "Workflow Place" and prop["CreatedById"] == emu.workflow_user_id


def test_workflow_can_be_switched_off(api: Api, emu: Emulator) -> None:
    emu.set_knobs(workflow_enabled=False)
    rid = api.create(Name="No Workflow", **{EXTERNAL_ID: key()})
    time.sleep(0.4)
    assert api.get(rid)["sf_property_id__c"] is None
    assert emu.run_workflow() == 0


def test_non_ascii_text_survives_every_path(api: Api, sf: Any) -> None:
    name = "Résidence Ünter den Linden — 東京 ✓"
    k = key()
    rid = api.create(Name=name, **{EXTERNAL_ID: k})
    assert sf.product_property__c.get(rid)["Name"] == name
    assert api.soql(f"SELECT Name FROM {OBJECT} WHERE Name = '{name}'")["totalSize"] >= 1
    info = api.ingest("upsert", f"{EXTERNAL_ID},City__c\n{k},Zürich\n", ext=EXTERNAL_ID)
    assert api.results(info["id"], "successfulResults")[0]["City__c"] == "Zürich"
    assert api.get(rid)["City__c"] == "Zürich"
    # lengths count characters, not bytes: 80 multi-byte characters fit in Name
    assert api.create(Name="é" * 80, **{EXTERNAL_ID: key()})


def test_collections_retrieve(api: Api) -> None:
    a = api.create(Name="Get A", **{EXTERNAL_ID: key()})
    b = api.create(Name="Get B", **{EXTERNAL_ID: key()})
    api.req("DELETE", f"/sobjects/{OBJECT}/{b}")
    r = api.req(
        "GET", f"/composite/sobjects/{OBJECT}", params={"ids": f"{a},{b}", "fields": "Name"}
    )
    assert r.status_code == 200
    got = r.json()
    assert got[1] is None and got[0]["Name"] == "Get A"
    assert got[0]["attributes"]["url"].endswith(f"/{a}")
    r = api.req("POST", f"/composite/sobjects/{OBJECT}", json={"ids": [a[:15]], "fields": ["Id"]})
    assert r.json() == [{"attributes": r.json()[0]["attributes"], "Id": a}]
