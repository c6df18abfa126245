"""Nobody in (issue 11): the emulator's data folder is private, its admin endpoints and
the per-request knob header need the admin token, and knobs are validated. None of
this is Salesforce behaviour: the local org holds a client secret, a password, tokens
and a TLS key in its folder and on its port, so they are guarded like secrets."""

from __future__ import annotations

import json
import math
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from propsync.emulator import Emulator, read_connection
from propsync.emulator.knobs import ADMIN_HEADER, KNOBS_HEADER, Knobs
from propsync.fields import EXTERNAL_ID, OBJECT
from tests.emulator.conftest import Api, key

PROPSYNC = str(Path(sys.executable).parent / "propsync")


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """A umask that would leave new files 0644 and folders 0755 unless made private."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _modes(root: Path) -> dict[str, int]:
    return {
        str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode)
        for p in [root, *root.rglob("*")]
        if not p.is_symlink()
    }


def _exercise(emu: Emulator) -> None:
    """Writes through every path that makes files: REST, Collections, a Bulk ingest job
    (data, results, unprocessed), a Bulk query job (query, results, offsets), the JWT
    key pair."""
    api = Api(emu)
    api.create(Name="Private", **{EXTERNAL_ID: key()})
    recs = [{"attributes": {"type": OBJECT}, "Name": "P", EXTERNAL_ID: key()}]
    assert api.req("POST", "/composite/sobjects", json={"records": recs}).status_code == 200
    info = api.ingest("insert", f"Name,{EXTERNAL_ID}\nB,{key()}\n")
    api.results(info["id"], "successfulResults")
    api.req("GET", f"/jobs/ingest/{info['id']}/unprocessedrecords")
    r = api.req(
        "POST", "/jobs/query", json={"operation": "query", "query": f"SELECT Id FROM {OBJECT}"}
    )
    api.wait_job("query", r.json()["id"])
    assert emu.jwt_private_key_file


def test_every_file_under_the_data_folder_is_private(
    tmp_path: Path, permissive_umask: None
) -> None:
    """Every file the emulator writes under its data folder is 0600 and every folder
    0700 whatever the umask: org.sqlite and its -wal and -shm (they hold the client
    secret, password and tokens), connection.json, the CA and server key, jobs/ (the
    records), the JWT key pair."""
    data = tmp_path / "org"
    with Emulator.start(data, workflow_delay_s=0.0) as emu:
        _exercise(emu)
        modes = _modes(data)
        for name in ("org.sqlite", "org.sqlite-wal", "org.sqlite-shm", "connection.json",
                     "tls/ca.pem", "tls/server.pem", "jwt-client/private_key.pem"):  # fmt: skip
            assert name in modes, sorted(modes)
        assert any(n.startswith("jobs/") and n.endswith("success.csv") for n in modes)
        assert any(n.startswith("jobs/") and n.endswith("offsets.bin") for n in modes)
        loose = {
            n: oct(m)
            for n, m in modes.items()
            if m != (0o700 if (data / n).is_dir() else 0o600) and n != "."
        }
        assert loose == {}, loose
        assert modes["."] == 0o700


def test_a_folder_left_open_is_locked_down_at_start(tmp_path: Path, permissive_umask: None) -> None:
    """A data folder written by an older emulator (or copied with cp) with 0644 files
    and 0755 folders is made private when a server starts on it, before it serves;
    a file in the folder that is not the emulator's is left alone."""
    data = tmp_path / "org"
    with Emulator.start(data) as emu:
        _exercise(emu)
    for p in [data, *data.rglob("*")]:
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    notes = data / "notes.txt"  # not the emulator's: left as it is
    notes.write_text("mine")
    os.chmod(notes, 0o644)
    with Emulator.start(data):
        modes = _modes(data)
        assert modes.pop("notes.txt") == 0o644
        assert {m for n, m in modes.items() if (data / n).is_dir()} == {0o700}
        assert {m for n, m in modes.items() if not (data / n).is_dir()} == {0o600}


# admin token ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def admin_emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    e = Emulator.start(tmp_path_factory.mktemp("org"), workflow_enabled=False)
    try:
        yield e
    finally:
        e.stop()


ENDPOINTS = [
    ("GET", "/_emulator/usage"),
    ("POST", "/_emulator/usage/reset"),
    ("GET", "/_emulator/knobs"),
    ("POST", "/_emulator/knobs"),
    ("GET", "/_emulator/anything-else"),
    ("DELETE", "/_emulator/knobs/latency_ms"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS, ids=[f"{m} {p}" for m, p in ENDPOINTS])
def test_admin_endpoints_refuse_without_the_token(
    admin_emu: Emulator, method: str, path: str
) -> None:
    """Each admin endpoint answers 401 without the admin token, and with a wrong one,
    and changes nothing; with the token it answers (200, or 404 for a path that is no
    endpoint)."""
    emu = admin_emu
    s = emu.session()
    url = emu.instance_url + path
    api = Api(emu)
    api.req("GET", "/limits/")  # something counted, for the reset to clear
    before = (emu.usage()["total"], emu.knobs.as_dict())
    body = {"latency_ms": 900, "expire_sessions_now": True}
    for headers in ({}, {ADMIN_HEADER: "not-the-token"}, {ADMIN_HEADER: ""},
                    {"Authorization": f"Bearer {emu.access_token}"}):  # fmt: skip
        r = s.request(method, url, json=body, headers=headers, timeout=30)
        assert r.status_code == 401, (headers, r.status_code, r.text)
        assert ADMIN_HEADER in r.json()["error"]
    assert (emu.usage()["total"], emu.knobs.as_dict()) == before
    assert api.req("GET", "/limits/").status_code == 200  # sessions were not expired
    r = s.request(method, url, json={}, headers=emu.admin_headers(), timeout=30)
    assert r.status_code == (404 if "knobs/" in path or "else" in path else 200), r.text


def test_the_knob_header_is_refused_without_the_token(admin_emu: Emulator) -> None:
    """An `X-Emulator-Knobs` header without the admin token never changes behaviour:
    it is refused (401 INVALID_ADMIN_TOKEN) before the knobs, the latency, the session
    check and the usage count, so the attack of issue 11 (an unauthenticated request
    expiring every session) does nothing. With the token it applies to that request."""
    emu = admin_emu
    api = Api(emu)
    s = emu.session()
    used = emu.usage()["total"]
    url = f"{emu.instance_url}/services/data/v59.0/limits/"
    expire = json.dumps({"expire_sessions_now": True, "latency_ms": 3000})
    for headers in (
        {KNOBS_HEADER: expire},  # no session, no token
        {KNOBS_HEADER: expire, "Authorization": f"Bearer {emu.access_token}"},
        {
            KNOBS_HEADER: expire,
            ADMIN_HEADER: "guess",
            "Authorization": f"Bearer {emu.access_token}",
        },
    ):
        r = s.get(url, headers=headers, timeout=2)  # the latency knob would take 3 s
        assert r.status_code == 401 and r.json()[0]["errorCode"] == "INVALID_ADMIN_TOKEN"
    assert emu.usage()["total"] == used
    assert api.req("GET", "/limits/").status_code == 200  # every session still valid
    r = api.req("GET", "/limits/", knobs={"http_503_rate": 1.0})  # Api sends the token
    assert r.status_code == 503


def test_the_admin_token(tmp_path: Path) -> None:
    """The token is new at each start, written to connection.json (0600) and exposed on
    the in-process `Emulator` (`admin_token`, `admin_headers()`); `set_knobs`, `usage`
    and `reset_usage` act in process and need none."""
    with Emulator.start(tmp_path) as emu:
        first = emu.admin_token
        assert len(first) >= 32 and read_connection(tmp_path)["admin_token"] == first
        assert stat.S_IMODE((tmp_path / "connection.json").stat().st_mode) == 0o600
        assert emu.admin_headers() == {ADMIN_HEADER: first}
        emu.set_knobs(latency_ms=1)
        emu.reset_usage()
        assert emu.usage()["total"] == 0
    with Emulator.start(tmp_path) as emu2:
        assert emu2.admin_token != first


# knob validation ------------------------------------------------------------------------

BAD_KNOBS: list[tuple[str, Any, str]] = [
    ("lock_error_rate", 5, "within 0 and 1"),
    ("wrapped_lock_error_rate", -0.1, "within 0 and 1"),
    ("http_503_rate", 1.5, "within 0 and 1"),
    ("http_503_rate", float("nan"), "finite"),
    ("latency_ms", -1, "must not be negative"),
    ("latency_ms", float("inf"), "finite"),
    ("latency_ms", "slow", "must be a number"),
    ("workflow_delay_s", -0.5, "must not be negative"),
    ("token_ttl_s", -1, "must not be negative"),
    ("daily_api_limit", -1, "integer >= 0"),
    ("daily_api_limit", 1.5, "integer >= 0"),
    ("daily_api_limit", True, "integer >= 0"),
    ("inprogress_polls", -2, "integer >= 0"),
    ("query_batch_size", 0, "integer >= 1"),
    ("bulk_chunk_size", 0, "integer >= 1"),
    ("seed", "x", "seed must be an integer"),
    ("seed", True, "seed must be an integer"),
    ("shuffle_results", "yes", "true or false"),
    ("no_such_knob", 1, "known: bulk_chunk_size, daily_api_limit"),
]


@pytest.mark.parametrize(
    ("name", "value", "message"), BAD_KNOBS, ids=[f"{b[0]}={b[1]!r}" for b in BAD_KNOBS]
)
def test_knobs_are_validated(admin_emu: Emulator, name: str, value: Any, message: str) -> None:
    """A knob out of its range is refused wherever it is set, with a message naming it:
    rates within 0..1, latencies and delays non-negative and finite, counts
    non-negative integers (sizes at least 1), flags true/false, an unknown name listed
    with the known ones. `Emulator.set_knobs` and `Emulator.start` raise ValueError
    (which `propsync emulator serve` turns into a usage error); the header and the
    admin endpoint answer 400."""
    emu = admin_emu
    with pytest.raises(ValueError, match=message):
        emu.set_knobs(**{name: value})
    with pytest.raises(ValueError, match=message):
        Knobs().updated(**{name: value})
    if isinstance(value, float) and not math.isfinite(value):
        return  # JSON has no NaN or Infinity
    r = Api(emu).req("GET", "/limits/", knobs={name: value})
    assert r.status_code == 400 and r.json()[0]["errorCode"] == "INVALID_KNOBS"
    assert message in r.json()[0]["message"]
    r = emu.session().post(
        f"{emu.instance_url}/_emulator/knobs", json={name: value}, headers=emu.admin_headers()
    )
    assert r.status_code == 400 and message in r.json()["error"]
    assert emu.knobs == Knobs(workflow_enabled=False)


def test_knobs_at_their_bounds_are_accepted(admin_emu: Emulator) -> None:
    """The edges of each range are valid: rates 0 and 1, zero latency, a zero count."""
    emu = admin_emu
    try:
        emu.set_knobs(lock_error_rate=0, http_503_rate=1, wrapped_lock_error_rate=0.5,
                      latency_ms=0, token_ttl_s=0.0, inprogress_polls=0, query_batch_size=1,
                      seed=None)  # fmt: skip
    finally:
        emu.set_knobs(**Knobs(workflow_enabled=False).as_dict())


def test_start_and_cli_refuse_a_knob_out_of_range(tmp_path: Path) -> None:
    """`Emulator.start(lock_error_rate=5)` raises ValueError before anything is served;
    `propsync emulator serve --knobs '{"lock_error_rate": 5}'` exits 64 naming it."""
    with pytest.raises(ValueError, match="lock_error_rate is a rate"):
        Emulator.start(tmp_path / "a", lock_error_rate=5)
    r = subprocess.run(
        [PROPSYNC, "emulator", "serve", "--data", str(tmp_path / "b"),
         "--knobs", '{"lock_error_rate": 5}'],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 64 and "lock_error_rate" in r.stderr
