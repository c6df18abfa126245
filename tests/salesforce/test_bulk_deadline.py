"""A Bulk API job still unfinished past `bulk_job_timeout_s` is aborted on Salesforce
and BulkJobDeadline names it: the emulator's `inprogress_polls` knob keeps a job
InProgress for the client, and a loopback server keeps one InProgress for good."""

from __future__ import annotations

import json
from typing import Any

import pytest

from propsync.errors import BulkJobDeadline, TerminalSalesforceError
from propsync.salesforce.bulk2 import existing_job_results
from propsync.salesforce.client import SalesforceClient
from propsync.salesforce.connect import make_session
from tests.salesforce.conftest import make_client, records
from tests.salesforce.loopback import Reply, clock, fake_server

COLUMNS = ["snappt_property_id__c", "Name"]
FOREVER = 1_000_000  # polls


def _spy(client: SalesforceClient) -> list[tuple[str, str, Any]]:
    """Record (method, path, json body) of every request the client sends."""
    sent: list[tuple[str, str, Any]] = []
    http = client.http

    def recording(method: str, path: str, **kwargs: Any) -> Any:
        sent.append((method, path, kwargs.get("json")))
        return http(method, path, **kwargs)

    client.http = recording  # type: ignore[method-assign]
    return sent


def _aborts(sent: list[tuple[str, str, Any]]) -> list[str]:
    return [p for m, p, body in sent if m == "PATCH" and body == {"state": "Aborted"}]


def test_an_ingest_job_past_its_deadline_is_aborted(sf_emulator, ids):
    client = make_client(sf_emulator, bulk_job_timeout_s=1.5)
    sent = _spy(client)
    journalled: list[str] = []
    try:
        sf_emulator.set_knobs(inprogress_polls=FOREVER)
        with clock() as elapsed, pytest.raises(BulkJobDeadline) as info:
            client.bulk_ingest(
                "upsert", records(ids(5)), columns=COLUMNS,
                on_job=lambda job_id, keys: journalled.append(job_id),
            )  # fmt: skip
        took = elapsed()
    finally:
        sf_emulator.set_knobs(inprogress_polls=0)
        client.close()
    print(f"\nbulk ingest job, deadline 1.5 s: BulkJobDeadline after {took:.2f}s")
    error = info.value
    assert isinstance(error, TerminalSalesforceError) and error.code == "BULK_JOB_DEADLINE"
    assert error.job_id == journalled[0] and error.kind == "ingest"
    assert 1.5 <= error.waited_s < 2.5 and error.timeout_s == 1.5
    assert 1.5 <= took < 3.0
    assert error.state == "InProgress"
    assert _aborts(sent) == [f"jobs/ingest/{error.job_id}/"]
    # The emulator had processed the job behind the knob, so it refuses the abort; the
    # error says so, and the job's results are there for the next run to reconcile.
    assert not error.aborted and "abort was refused" in str(error)
    assert f"job {error.job_id}" in str(error) and "bulk_job_timeout_s = 1.5" in str(error)


def test_the_jobs_not_yet_awaited_are_aborted_too(sf_emulator, ids):
    client = make_client(sf_emulator, bulk_job_timeout_s=1.0)
    sent = _spy(client)
    journalled: list[str] = []
    try:
        sf_emulator.set_knobs(inprogress_polls=FOREVER)
        with pytest.raises(BulkJobDeadline) as info:
            client.bulk_ingest(
                "upsert", records(ids(3000)), columns=COLUMNS, max_job_bytes=40_000,
                on_job=lambda job_id, keys: journalled.append(job_id),
            )  # fmt: skip
    finally:
        sf_emulator.set_knobs(inprogress_polls=0)
        client.close()
    assert len(journalled) >= 2
    assert info.value.job_id == journalled[0]
    assert _aborts(sent) == [f"jobs/ingest/{j}/" for j in journalled]


def test_a_query_job_past_its_deadline_is_aborted(sf_emulator):
    client = make_client(sf_emulator, bulk_job_timeout_s=1.0)
    sent = _spy(client)
    try:
        sf_emulator.set_knobs(inprogress_polls=FOREVER)
        with clock() as elapsed, pytest.raises(BulkJobDeadline) as info:
            list(client.bulk_query("SELECT Id FROM product_property__c"))
        took = elapsed()
    finally:
        sf_emulator.set_knobs(inprogress_polls=0)
        client.close()
    print(f"\nbulk query job, deadline 1 s: BulkJobDeadline after {took:.2f}s")
    assert info.value.kind == "query" and 1.0 <= info.value.waited_s < 2.0
    assert 1.0 <= took < 2.5
    assert _aborts(sent) == [f"jobs/query/{info.value.job_id}/"]


def test_a_job_that_finishes_in_time_is_not_aborted(sf_emulator, ids):
    client = make_client(sf_emulator, bulk_job_timeout_s=5.0)
    sent = _spy(client)
    try:
        sf_emulator.set_knobs(inprogress_polls=3)
        result = client.bulk_ingest("upsert", records(ids(5)), columns=COLUMNS)
    finally:
        sf_emulator.set_knobs(inprogress_polls=0)
        client.close()
    assert result.succeeded == 5 and not _aborts(sent)


def _stuck_org() -> tuple[dict[str, str], Any]:
    """Routes of an org whose one job stays InProgress until it is aborted."""
    job = {"id": "750000000000001", "state": "Open"}

    def route(method: str, path: str, body: bytes) -> Reply:
        if method == "POST":
            return Reply(body=dict(job))
        if method == "PUT":
            return Reply(status=201)
        if method == "PATCH":
            wanted = json.loads(body)["state"]
            job["state"] = "InProgress" if wanted == "UploadComplete" else wanted
        if path.endswith("/unprocessedrecords/"):
            return Reply(body="Id,Name\n")
        return Reply(body=dict(job, numberRecordsProcessed=0, numberRecordsFailed=0))

    return job, route


@pytest.mark.parametrize("kind", ["ingest", "query"])
def test_a_job_that_stays_in_progress_is_aborted_on_the_org(kind):
    job, route = _stuck_org()
    with fake_server(route) as server:
        client = SalesforceClient(
            instance_url=server.url, access_token="a-token", login=None, session=make_session(),
            connect_timeout_s=1, timeout_s=1, poll_interval_s=0.05, bulk_job_timeout_s=1.0,
        )  # fmt: skip
        with clock() as elapsed, pytest.raises(BulkJobDeadline) as info:
            if kind == "ingest":
                client.bulk_ingest("update", [{"Id": "a01", "Name": "x"}], columns=["Id", "Name"])
            else:
                list(client.bulk_query("SELECT Id FROM product_property__c"))
        took = elapsed()
        aborts = server.seen("PATCH", f"/jobs/{kind}/{job['id']}/")
        client.close()
    print(f"\n{kind} job stuck InProgress, deadline 1 s: aborted, raised after {took:.2f}s")
    assert info.value.aborted and "aborted it" in str(info.value)
    assert job["state"] == "Aborted"
    assert json.loads(aborts[-1][2]) == {"state": "Aborted"}
    assert 1.0 <= took < 2.0


def test_reconciling_an_open_job_that_refuses_its_abort_stops_at_wait_s():
    def route(method: str, path: str, body: bytes) -> Reply:
        if method == "PATCH":
            return Reply(status=400, body=[{"errorCode": "INVALIDJOBSTATE", "message": "no"}])
        return Reply(body={"id": "750000000000002", "state": "Open"})

    with fake_server(route) as server:
        client = SalesforceClient(
            instance_url=server.url, access_token="a-token", login=None, session=make_session(),
            timeout_s=1, poll_interval_s=0.05,
        )  # fmt: skip
        with clock() as elapsed:
            info, results = existing_job_results(
                client, "750000000000002", ["a"], key="Id", wait_s=0.5
            )
        took = elapsed()
        client.close()
    assert results is None and info["state"] == "Open"
    assert took < 1.5
