"""Every login and REST call has a connect and a read timeout, and fails within a bound
when the other side accepts the connection and never answers, or answers too slowly.
Only loopback servers (tests/salesforce/loopback.py) and the emulator are used."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from propsync.config import SalesforceConfig, SyncConfig
from propsync.errors import TerminalSalesforceError, TransientSalesforceError
from propsync.salesforce import auth
from propsync.salesforce.client import SalesforceClient
from propsync.salesforce.connect import connect, make_session
from tests.salesforce.conftest import make_client, records
from tests.salesforce.loopback import HOST, Reply, clock, fake_server, silent_server

SECRET = "s3cret-never-in-messages"
PASSWORD = "pa55word-never-in-messages"


def _org(port: int, auth_kind: str, scheme: str = "https") -> SalesforceConfig:
    url = f"{scheme}://{HOST}:{port}"
    return SalesforceConfig.model_validate(
        {
            "kind": "org",
            "auth": auth_kind,
            "instance_url": url,
            "login_url": url,
            "connect_timeout_s": 1,
            "timeout_s": 1,
        }
    )


def _key_file(tmp_path: Path) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "server.key"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


LOGINS = ["client_credentials", "jwt", "password-soap", "password-oauth"]


def _login_env(kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PROPSYNC_SF_USERNAME", "integration@example.com")
    monkeypatch.setenv("PROPSYNC_SF_CLIENT_ID", "consumer-key")
    monkeypatch.setenv("PROPSYNC_SF_CLIENT_SECRET", SECRET)
    monkeypatch.setenv("PROPSYNC_SF_PASSWORD", PASSWORD)
    monkeypatch.setenv("PROPSYNC_SF_SECURITY_TOKEN", "token-never-in-messages")
    if kind == "jwt":
        monkeypatch.setenv("PROPSYNC_SF_PRIVATE_KEY_FILE", str(_key_file(tmp_path)))
    if kind == "password-soap":
        monkeypatch.delenv("PROPSYNC_SF_CLIENT_ID")
        monkeypatch.delenv("PROPSYNC_SF_CLIENT_SECRET")
    return kind.split("-")[0]


@pytest.mark.parametrize("scheme", ["https", "http"])
@pytest.mark.parametrize("kind", LOGINS)
def test_a_login_to_a_silent_org_fails_within_its_timeout(kind, scheme, tmp_path, monkeypatch):
    auth_kind = _login_env(kind, tmp_path, monkeypatch)
    with silent_server() as port:
        config = _org(port, auth_kind, scheme)
        with clock() as elapsed, pytest.raises(TransientSalesforceError) as info:
            connect(config, tmp_path)
        took = elapsed()
    print(f"\n{kind} login over {scheme}, silent org, timeouts 1 s: failed after {took:.2f}s")
    assert 0.9 <= took < 3.0
    message = str(info.value)
    assert f"{HOST}:{port}" in message and "login to" in message
    assert "timeout" in message
    for secret in (SECRET, PASSWORD, "token-never-in-messages"):
        assert secret not in message


def test_a_session_refresh_against_a_silent_org_fails_within_its_timeout(tmp_path):
    with silent_server() as port:
        session = make_session(connect_timeout_s=1, timeout_s=1)
        url = f"http://{HOST}:{port}"
        login = auth.client_credentials(session, url, "consumer-key", SECRET)
        client = SalesforceClient(
            instance_url=url, access_token="an-old-token", login=login, session=session
        )
        with clock() as elapsed, pytest.raises(TransientSalesforceError) as info:
            client.refresh_session()
        took = elapsed()
        client.close()
    print(f"\nsession refresh, silent org: failed after {took:.2f}s")
    assert 0.9 <= took < 3.0
    assert f"{HOST}:{port}" in str(info.value) and SECRET not in str(info.value)


def test_a_login_that_answers_too_slowly_fails_within_its_timeout(tmp_path):
    token = {"access_token": "00Dslowtoken", "instance_url": "http://127.0.0.1:1"}
    with fake_server(lambda m, p, b: Reply(body=token, delay_s=30)) as server:
        session = make_session(connect_timeout_s=1, timeout_s=1)
        login = auth.client_credentials(session, server.url, "consumer-key", SECRET)
        with clock() as elapsed, pytest.raises(TransientSalesforceError, match="read timeout"):
            login()
        took = elapsed()
    print(f"\nclient-credentials login, org answering after 30 s: failed after {took:.2f}s")
    assert 0.9 <= took < 3.0


def _silent_client(port: int, **kw: Any) -> SalesforceClient:
    settings: dict[str, Any] = {
        "connect_timeout_s": 0.5,
        "timeout_s": 0.5,
        "max_request_attempts": 3,
        "backoff_base_s": 0.05,
    }
    settings.update(kw)
    return SalesforceClient(
        instance_url=f"http://{HOST}:{port}",
        access_token="a-token",
        login=None,
        session=make_session(),
        **settings,
    )


ROW = {"Id": "a01000000000001", "Name": "x"}
SOQL = "SELECT Id FROM product_property__c"
CALLS = {
    "describe": lambda c: c.describe(),
    "limits": lambda c: c.limits(),
    "query": lambda c: list(c.query_all(SOQL)),
    "update collection": lambda c: c.collections("update", [ROW]),
    "bulk ingest": lambda c: c.bulk_ingest("update", [ROW], columns=["Id", "Name"]),
    "bulk query": lambda c: list(c.bulk_query(SOQL)),
}


@pytest.mark.parametrize("call", list(CALLS))
def test_a_rest_call_to_a_silent_org_is_retried_then_fails_within_its_bound(call):
    # 3 attempts x 0.5 s read timeout, plus at most 0.075 + 0.15 s of backoff
    with silent_server() as port:
        client = _silent_client(port)
        with clock() as elapsed, pytest.raises(TransientSalesforceError) as info:
            CALLS[call](client)
        took = elapsed()
        client.close()
    print(f"\n{call}, silent org, 3 attempts x 0.5 s: failed after {took:.2f}s")
    assert 1.5 <= took < 3.5
    assert "timed out" in str(info.value) and "gave up after 3 attempts" in str(info.value)
    assert f"{HOST}:{port}" in str(info.value)


def test_an_insert_that_times_out_is_not_repeated():
    # The org may have acted on it: a second POST could make a second record.
    with silent_server() as port:
        client = _silent_client(port)
        with clock() as elapsed, pytest.raises(TerminalSalesforceError, match="outcome unknown"):
            client.collections("insert", [{"snappt_property_id__c": "1", "Name": "x"}])
        took = elapsed()
        client.close()
    assert 0.4 <= took < 1.5


def test_a_result_download_that_stalls_midway_is_retried_then_fails():
    job = {"id": "750000000000001", "state": "JobComplete", "numberRecordsProcessed": 2}
    csv = b"sf__Id,sf__Created,Id,Name\na01000000000001,false,a01000000000001,x\n" * 40

    def route(method: str, path: str, body: bytes) -> Reply:
        if method == "POST":
            return Reply(body={"id": job["id"], "state": "Open"})
        if path.endswith("/successfulResults/"):
            return Reply(body=csv, stall_after=100)  # headers and 100 bytes, then silence
        if method == "GET":
            return Reply(body=job)
        return Reply(status=201 if method == "PUT" else 200, body=job)

    with fake_server(route) as server:
        client = SalesforceClient(
            instance_url=server.url, access_token="a-token", login=None, session=make_session(),
            connect_timeout_s=0.5, timeout_s=0.5, max_request_attempts=3, poll_interval_s=0.01,
        )  # fmt: skip
        with clock() as elapsed, pytest.raises(TransientSalesforceError, match="download failed"):
            client.bulk_ingest("update", [ROW], columns=["Id", "Name"])
        took = elapsed()
        downloads = server.seen("GET", "successfulResults")
        client.close()
    print(f"\nresult download stalling midway, 3 attempts x 0.5 s: failed after {took:.2f}s")
    assert len(downloads) == 3
    assert 1.5 <= took < 3.5


def test_emulator_latency_past_the_read_timeout_fails_each_call_in_bound(sf_emulator, ids):
    client = make_client(sf_emulator, timeout_s=0.3, max_request_attempts=2)
    keys = ids(3)
    client.collections("upsert", records(keys))
    soql = f"SELECT Id FROM product_property__c WHERE snappt_property_id__c = '{keys[0]}'"
    calls: dict[str, Any] = {
        "describe": client.describe,
        "limits": client.limits,
        "query": lambda: list(client.query_all(soql)),
        "upsert collection": lambda: client.collections("upsert", records(keys)),
        "bulk ingest": lambda: client.bulk_ingest(
            "upsert", records(keys), columns=["snappt_property_id__c", "Name"]
        ),
        "bulk query": lambda: list(client.bulk_query(soql)),
    }
    try:
        sf_emulator.set_knobs(latency_ms=1500)
        for name, call in calls.items():
            with clock() as elapsed, pytest.raises(TransientSalesforceError, match="timed out"):
                call()
            took = elapsed()
            print(f"\n{name}, emulator latency 1.5 s, 2 attempts x 0.3 s: failed after {took:.2f}s")
            assert 0.6 <= took < 2.0, name
    finally:
        sf_emulator.set_knobs(latency_ms=0.0)
        client.close()


def test_query_more_times_out_like_the_first_page(sf_emulator, ids):
    client = make_client(sf_emulator, timeout_s=0.3, max_request_attempts=2)
    keys = ids(3)
    client.collections("upsert", records(keys))
    ks = ", ".join(f"'{k}'" for k in keys)
    try:
        sf_emulator.set_knobs(query_batch_size=1)
        pages = client.query_pages(f"{SOQL} WHERE snappt_property_id__c IN ({ks})")
        assert len(next(pages)[1]) == 1
        sf_emulator.set_knobs(latency_ms=1500)
        with clock() as elapsed, pytest.raises(TransientSalesforceError, match="query more"):
            next(pages)
        assert 0.6 <= elapsed() < 2.0
    finally:
        sf_emulator.set_knobs(latency_ms=0.0, query_batch_size=2000)
        client.close()


def test_connect_passes_the_configured_timeouts(sf_emulator, tmp_path):
    config = SalesforceConfig.model_validate(
        {"emulator": {"data": str(sf_emulator.data_dir)}, "connect_timeout_s": 3, "timeout_s": 7}
    )
    with connect(config, tmp_path, sync=SyncConfig(bulk_job_timeout_s=42)) as client:
        assert client.timeouts == (3, 7)
        assert client.bulk_job_timeout_s == 42
        adapter: Any = client.session.get_adapter(client.instance_url)
        assert adapter.timeouts == (3, 7)


def test_a_request_naming_its_own_timeout_keeps_it():
    session = make_session(connect_timeout_s=5, timeout_s=5)
    with fake_server(lambda m, p, b: Reply(body={}, delay_s=30)) as server:
        with clock() as elapsed, pytest.raises(Exception, match="Read timed out"):
            session.get(server.url, timeout=(0.5, 0.3))
        assert elapsed() < 1.5
    session.close()
