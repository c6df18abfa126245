"""Fixtures for the client tests: one emulated org per test module (over HTTPS, with its
own throwaway CA), and a fresh propsync client per test. Knobs are reset after each
test; tests keep apart by using their own external ids (`ids`)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from propsync.emulator import Emulator
from propsync.emulator.knobs import Knobs
from propsync.salesforce import auth
from propsync.salesforce.client import SalesforceClient
from propsync.salesforce.connect import install_redaction, make_session

_counter = itertools.count(1)


@pytest.fixture(scope="module")
def sf_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    emu = Emulator.start(tmp_path_factory.mktemp("org"), workflow_enabled=False)
    try:
        yield emu
    finally:
        emu.stop()


def make_client(emu: Emulator, **kw: Any) -> SalesforceClient:
    """A client logged in with the client-credentials grant, fast polls and backoff."""
    install_redaction()
    session = make_session(emu.ca_file)
    login = auth.client_credentials(session, emu.instance_url, emu.client_id, emu.client_secret)
    token, url = login()
    settings: dict[str, Any] = {"poll_interval_s": 0.02, "backoff_base_s": 0.01}
    settings.update(kw)
    client = SalesforceClient(
        instance_url=url, access_token=token, login=login, session=session, **settings
    )
    client.emulator_admin_token = emu.admin_token  # as connect() does for the emulator
    return client


@pytest.fixture
def sf_client(sf_emulator: Emulator) -> Iterator[SalesforceClient]:
    client = make_client(sf_emulator)
    try:
        yield client
    finally:
        client.close()
        defaults = Knobs()
        sf_emulator.set_knobs(
            latency_ms=0.0, lock_error_rate=0.0, wrapped_lock_error_rate=0.0,
            http_503_rate=0.0, expire_sessions_now=False,
            daily_api_limit=defaults.daily_api_limit, fail_next_job=False, inprogress_polls=0,
            shuffle_results=False, seed=None, token_ttl_s=defaults.token_ttl_s,
        )  # fmt: skip


@pytest.fixture
def ids() -> Callable[[int], list[str]]:
    """n external ids no other test of the session uses."""

    def make(n: int) -> list[str]:
        block = next(_counter)
        return [f"{block}{i:06d}" for i in range(n)]

    return make


def records(keys: list[str], **fields: Any) -> list[dict[str, Any]]:
    return [{"snappt_property_id__c": k, "Name": f"Property {k}", **fields} for k in keys]


def fetch(client: SalesforceClient, keys: list[str], fields: str) -> dict[str, dict[str, Any]]:
    """Current records by external id, read back through REST queryAll."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(keys), 500):
        chunk = ", ".join(f"'{k}'" for k in keys[start : start + 500])
        soql = (
            f"SELECT snappt_property_id__c, {fields} FROM product_property__c "
            f"WHERE snappt_property_id__c IN ({chunk}) AND IsDeleted = false"
        )
        for r in client.query_all(soql):
            found[r["snappt_property_id__c"]] = r
    return found
