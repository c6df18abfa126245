"""Fixtures for the emulator tests: one emulated org per test module over HTTPS,
the real simple-salesforce client, and `Api`, a thin requests wrapper for the
endpoints simple-salesforce does not expose (Bulk API 2.0 details, raw status
codes and headers). Knobs are reset after each test; tests keep apart by using
their own external ids (`key()`)."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from propsync.emulator import Emulator
from propsync.emulator.knobs import Knobs

VERSION = "59.0"
_keys = itertools.count(1)


def key(prefix: str = "k") -> str:
    """A fresh external id value, unique within the test session."""
    return f"{prefix}{next(_keys)}"


class Api:
    """Raw HTTP access to one emulator, authenticated as the integration user."""

    def __init__(self, emu: Emulator, token: str | None = None) -> None:
        self.emu = emu
        self.s = emu.session()
        self.base = f"{emu.instance_url}/services/data/v{VERSION}"
        self.token = token or emu.access_token

    def req(
        self, method: str, path: str, *, knobs: dict[str, Any] | None = None, **kw: Any
    ) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kw.pop("headers", {})}
        if knobs is not None:
            headers["X-Emulator-Knobs"] = json.dumps(knobs)
            headers.update(self.emu.admin_headers())
        url = path if path.startswith("https://") else self.base + path
        return self.s.request(method, url, headers=headers, timeout=60, **kw)

    def create(self, obj: str = "product_property__c", **fields: Any) -> str:
        r = self.req("POST", f"/sobjects/{obj}/", json=fields)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def get(self, rid: str, obj: str = "product_property__c") -> dict[str, Any]:
        r = self.req("GET", f"/sobjects/{obj}/{rid}")
        assert r.status_code == 200, r.text
        return dict(r.json())

    def wait_job(self, kind: str, job_id: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.time() + timeout
        while time.time() < deadline:
            info = self.req("GET", f"/jobs/{kind}/{job_id}").json()
            if info["state"] in ("JobComplete", "Failed", "Aborted"):
                return dict(info)
            time.sleep(0.02)
        raise AssertionError(f"job {job_id} did not finish")

    def ingest(
        self,
        operation: str,
        csv_text: str,
        *,
        ext: str | None = None,
        knobs: dict[str, Any] | None = None,
        line_ending: str = "LF",
    ) -> dict[str, Any]:
        """Create, upload, close and wait for one ingest job; returns the final job info."""
        body: dict[str, Any] = {
            "object": "product_property__c",
            "operation": operation,
            "contentType": "CSV",
            "lineEnding": line_ending,
        }
        if ext:
            body["externalIdFieldName"] = ext
        r = self.req("POST", "/jobs/ingest", json=body)
        assert r.status_code == 200, r.text
        job = r.json()
        r = self.req(
            "PUT", f"/jobs/ingest/{job['id']}/batches", data=csv_text.encode(),
            headers={"Content-Type": "text/csv"},
        )  # fmt: skip
        assert r.status_code == 201, r.text
        r = self.req(
            "PATCH", f"/jobs/ingest/{job['id']}", json={"state": "UploadComplete"}, knobs=knobs
        )
        assert r.status_code == 200, r.text
        return self.wait_job("ingest", job["id"])

    def results(self, job_id: str, which: str) -> list[dict[str, str]]:
        import csv
        import io

        r = self.req("GET", f"/jobs/ingest/{job_id}/{which}")
        assert r.status_code == 200, r.text
        return list(csv.DictReader(io.StringIO(r.text)))

    def soql(self, q: str, *, all_rows: bool = False) -> dict[str, Any]:
        r = self.req("GET", "/queryAll" if all_rows else "/query", params={"q": q})
        assert r.status_code == 200, r.text
        return dict(r.json())


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    e = Emulator.start(tmp_path_factory.mktemp("org"), workflow_delay_s=0.3, seed=11)
    try:
        yield e
    finally:
        e.stop()


@pytest.fixture(autouse=True)
def _reset_knobs(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "emu" in request.fixturenames:
        e: Emulator = request.getfixturevalue("emu")
        defaults = Knobs().as_dict()
        defaults.update(workflow_delay_s=0.3, seed=11)
        e.set_knobs(**defaults)


@pytest.fixture
def api(emu: Emulator) -> Api:
    return Api(emu)


@pytest.fixture
def sf(emu: Emulator) -> Any:
    """The real simple-salesforce client, unchanged, over HTTPS to the emulator."""
    from simple_salesforce import Salesforce

    return Salesforce(
        instance_url=emu.instance_url, session_id=emu.access_token, session=emu.session(),
        version=VERSION,
    )  # fmt: skip
