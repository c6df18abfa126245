"""One test per knob, server-wide (`Emulator.set_knobs`) and per request (the
`X-Emulator-Knobs` header), with seeded dice so the counts are reproducible."""

from __future__ import annotations

import time
from typing import Any

import pytest

from propsync.emulator import Emulator
from propsync.fields import EXTERNAL_ID, OBJECT
from tests.emulator.conftest import Api, key


def _records(n: int, **more: Any) -> list[dict[str, Any]]:
    return [
        {"attributes": {"type": OBJECT}, "Name": f"R{i}", EXTERNAL_ID: key(), **more}
        for i in range(n)
    ]


def test_latency_ms(api: Api, emu: Emulator) -> None:
    t = time.perf_counter()
    api.req("GET", "/limits/")
    fast = time.perf_counter() - t
    t = time.perf_counter()
    api.req("GET", "/limits/", knobs={"latency_ms": 150})
    assert time.perf_counter() - t >= 0.15 > fast
    emu.set_knobs(latency_ms=120)
    t = time.perf_counter()
    api.req("GET", "/limits/")
    assert time.perf_counter() - t >= 0.12


def test_lock_error_rate_fails_records_and_writes_nothing_for_them(api: Api) -> None:
    recs = _records(200)
    r = api.req("POST", "/composite/sobjects", json={"records": recs},
                knobs={"lock_error_rate": 0.3, "seed": 5})  # fmt: skip
    out = r.json()
    locked = [o for o in out if not o["success"]]
    assert 20 < len(locked) < 100
    e = locked[0]["errors"][0]
    assert e["statusCode"] == "UNABLE_TO_LOCK_ROW"
    assert e["message"].startswith("unable to obtain exclusive access to this record")
    keys = ",".join(f"'{r[EXTERNAL_ID]}'" for r in recs)
    n = api.soql(f"SELECT COUNT() FROM {OBJECT} WHERE {EXTERNAL_ID} IN ({keys})")["totalSize"]
    assert n == 200 - len(locked)
    # the same seed gives the same failures
    again = api.req("POST", "/composite/sobjects", json={"records": _records(200)},
                    knobs={"lock_error_rate": 0.3, "seed": 5}).json()  # fmt: skip
    assert [o["success"] for o in again] == [o["success"] for o in out]


def test_wrapped_lock_error_rate(api: Api, emu: Emulator) -> None:
    emu.set_knobs(wrapped_lock_error_rate=1.0)
    out = api.req("POST", "/composite/sobjects", json={"records": _records(3)}).json()
    e = out[0]["errors"][0]
    assert e["statusCode"] == "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY"
    assert "UNABLE_TO_LOCK_ROW" in e["message"]


def test_lock_errors_in_bulk_results(api: Api) -> None:
    rows = "".join(f"B{i},{key()}\n" for i in range(300))
    info = api.ingest("insert", f"Name,{EXTERNAL_ID}\n" + rows,
                      knobs={"lock_error_rate": 0.1, "seed": 3})  # fmt: skip
    failed = api.results(info["id"], "failedResults")
    assert 10 < info["numberRecordsFailed"] == len(failed) < 60
    assert all(f["sf__Error"].startswith("UNABLE_TO_LOCK_ROW:") for f in failed)


def test_http_503_rate(api: Api, emu: Emulator) -> None:
    before = emu.usage()["total"]
    codes = [api.req("GET", "/limits/", knobs={"http_503_rate": 1.0}).status_code for _ in range(3)]
    assert codes == [503, 503, 503]
    r = api.req("GET", "/limits/", knobs={"http_503_rate": 1.0})
    assert r.json()[0]["errorCode"] == "SERVER_UNAVAILABLE"
    assert emu.usage()["total"] == before  # refused calls are not counted
    emu.set_knobs(http_503_rate=0.5, seed=1)
    codes = [api.req("GET", "/limits/").status_code for _ in range(40)]
    assert 5 < codes.count(503) < 35 and codes.count(200) + codes.count(503) == 40


def test_expire_sessions_now(emu: Emulator) -> None:
    token = emu.org.issue_token(emu.integration_user_id)
    api = Api(emu, token)
    assert api.req("GET", "/limits/").status_code == 200
    emu.set_knobs(expire_sessions_now=True)
    r = api.req("GET", "/limits/")
    assert r.status_code == 401 and r.json()[0]["errorCode"] == "INVALID_SESSION_ID"
    assert emu.knobs.expire_sessions_now is False  # one shot
    fresh = Api(emu, emu.org.issue_token(emu.integration_user_id))
    assert fresh.req("GET", "/limits/").status_code == 200
    assert fresh.req("GET", "/limits/", knobs={"expire_sessions_now": True}).status_code == 401
    emu.access_token = emu.org.issue_token(emu.integration_user_id)  # for later tests


def test_token_ttl_s(emu: Emulator) -> None:
    emu.set_knobs(token_ttl_s=0.2)
    api = Api(emu, emu.org.issue_token(emu.integration_user_id))
    assert api.req("GET", "/limits/").status_code == 200
    time.sleep(0.25)
    assert api.req("GET", "/limits/").status_code == 401


def test_daily_api_limit(api: Api, emu: Emulator) -> None:
    used = emu.usage()["total"]
    emu.set_knobs(daily_api_limit=used + 2)
    assert api.req("GET", "/limits/").status_code == 200
    r = api.req("GET", "/limits/")
    assert r.status_code == 200
    assert r.headers["Sforce-Limit-Info"] == f"api-usage={used + 2}/{used + 2}"
    r = api.req("GET", "/limits/")
    assert r.status_code == 403
    assert r.json() == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    assert emu.usage()["total"] == used + 2


def test_fail_next_job(api: Api, emu: Emulator) -> None:
    emu.set_knobs(fail_next_job=True)
    info = api.ingest("insert", f"Name,{EXTERNAL_ID}\nA,{key()}\nB,{key()}\n")
    assert info["state"] == "Failed" and "fail_next_job" in info["errorMessage"]
    assert len(api.results(info["id"], "unprocessedrecords")) == 2
    assert emu.knobs.fail_next_job is False  # one shot
    assert api.ingest("insert", f"Name,{EXTERNAL_ID}\nC,{key()}\n")["state"] == "JobComplete"
    info = api.ingest("insert", f"Name,{EXTERNAL_ID}\nD,{key()}\n", knobs={"fail_next_job": True})
    assert info["state"] == "Failed"


def test_inprogress_polls(api: Api) -> None:
    job = api.req("POST", "/jobs/ingest", json={"object": OBJECT, "operation": "insert"}).json()
    api.req("PUT", f"/jobs/ingest/{job['id']}/batches", data=f"Name,{EXTERNAL_ID}\nA,{key()}\n",
            headers={"Content-Type": "text/csv"})  # fmt: skip
    api.req("PATCH", f"/jobs/ingest/{job['id']}", json={"state": "UploadComplete"},
            knobs={"inprogress_polls": 3})  # fmt: skip
    time.sleep(0.3)  # long enough for the worker to finish the job
    states = [api.req("GET", f"/jobs/ingest/{job['id']}").json()["state"] for _ in range(4)]
    assert states == ["InProgress", "InProgress", "InProgress", "JobComplete"]


def test_shuffle_results(api: Api) -> None:
    keys = [key() for _ in range(60)]
    data = f"Name,{EXTERNAL_ID}\n" + "".join(f"S{i},{k}\n" for i, k in enumerate(keys))
    plain = api.ingest("insert", data.replace(",k", ",p"))
    order = [r[EXTERNAL_ID] for r in api.results(plain["id"], "successfulResults")]
    assert order == [k.replace("k", "p", 1) for k in keys]
    shuffled = api.ingest("insert", data, knobs={"shuffle_results": True, "seed": 2})
    order = [r[EXTERNAL_ID] for r in api.results(shuffled["id"], "successfulResults")]
    assert sorted(order) == sorted(keys) and order != keys


def test_workflow_delay_s(api: Api, emu: Emulator) -> None:
    emu.set_knobs(workflow_delay_s=0.8)
    rid = api.create(Name="Slow workflow", **{EXTERNAL_ID: key()})
    time.sleep(0.4)
    assert api.get(rid)["sf_property_id__c"] is None
    time.sleep(0.5)
    assert api.get(rid)["sf_property_id__c"] is not None


def test_set_audit_fields(api: Api, emu: Emulator) -> None:
    other = emu.workflow_user_id
    fields = {
        "Name": "Migrated", EXTERNAL_ID: key(), "CreatedDate": "2021-05-01T10:00:00Z",
        "LastModifiedDate": "2021-06-01T10:00:00.000+0000", "LastModifiedById": other,
    }  # fmt: skip
    rec = api.get(api.create(**fields))
    assert rec["CreatedDate"] == "2021-05-01T10:00:00.000+0000"
    assert rec["LastModifiedById"] == other
    emu.set_knobs(set_audit_fields=False)
    r = api.req("POST", f"/sobjects/{OBJECT}/", json={**fields, EXTERNAL_ID: key()})
    assert r.status_code == 400
    assert r.json()[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_query_batch_size_and_bulk_chunk_size(api: Api, emu: Emulator) -> None:
    tag = key("qb")
    rows = "".join(f"Q{i},{tag}-{i},{tag}\n" for i in range(25))
    emu.set_knobs(bulk_chunk_size=7)
    info = api.ingest("insert", "Name,snappt_property_id__c,Short_ID__c\n" + rows)
    assert info["numberRecordsProcessed"] == 25 and info["numberRecordsFailed"] == 0
    emu.set_knobs(query_batch_size=10)
    first = api.soql(f"SELECT Id FROM {OBJECT} WHERE Short_ID__c = '{tag}'")
    assert len(first["records"]) == 10 and first["totalSize"] == 25
    second = api.req("GET", first["nextRecordsUrl"].replace(f"/services/data/v{'59.0'}", ""))
    assert len(second.json()["records"]) == 10


def test_bad_knobs_are_refused(api: Api, emu: Emulator) -> None:
    r = api.req("GET", "/limits/", knobs={"no_such_knob": 1})
    assert r.status_code == 400 and r.json()[0]["errorCode"] == "INVALID_KNOBS"
    r = api.req("GET", "/limits/", headers={"X-Emulator-Knobs": "not json", **emu.admin_headers()})
    assert r.status_code == 400
    with pytest.raises(ValueError, match="unknown emulator knob"):
        emu.set_knobs(no_such_knob=1)
    with pytest.raises(ValueError, match="must be a number"):
        emu.set_knobs(latency_ms="slow")


def test_admin_endpoints(emu: Emulator) -> None:
    s = emu.session()
    s.headers.update(emu.admin_headers())
    r = s.post(f"{emu.instance_url}/_emulator/knobs", json={"latency_ms": 5})
    assert r.status_code == 200 and r.json()["latency_ms"] == 5 and emu.knobs.latency_ms == 5
    usage = s.get(f"{emu.instance_url}/_emulator/usage").json()
    assert usage["total"] == emu.usage()["total"] and "by_endpoint" in usage
    assert s.post(f"{emu.instance_url}/_emulator/usage/reset").json()["total"] == 0
