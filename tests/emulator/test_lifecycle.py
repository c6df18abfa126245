"""Start, stop and restart: state survives in SQLite (records, tokens, pending
workflow events, queued Bulk jobs), connection.json is private, the object
definitions agree with the field contract, and `propsync emulator serve` runs
as a real process until SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from propsync.emulator import Emulator, read_connection
from propsync.emulator.ids import canonical, mint, mint_many
from propsync.emulator.objects import load_objects, parse_object
from propsync.fields import EXTERNAL_ID, FIELDS, OBJECT
from propsync.sfid import checksum
from tests.emulator.conftest import Api, key

PROPSYNC = str(Path(sys.executable).parent / "propsync")


def test_object_definition_agrees_with_the_field_contract() -> None:
    obj = load_objects()[OBJECT.lower()]
    assert obj.key_prefix == "a0X"
    for f in FIELDS:
        d = obj.fields[f.name]
        assert d.type == f.type, f.name
        if f.type in ("string", "id", "reference"):
            assert d.length == f.length, f.name
        assert d.nillable == (not f.required and f.type not in ("boolean", "id")) or (
            f.name in ("CreatedDate", "LastModifiedDate", "LastModifiedById", "IsDeleted")
        ), f.name
        if f.synced:
            assert d.createable and d.updateable, f.name
    assert [f.name for f in obj.fields.values() if f.unique] == [EXTERNAL_ID]
    extra = set(obj.fields) - {f.name for f in FIELDS}
    assert extra == {"CreatedById", "SystemModstamp"}


def test_object_definitions_are_validated() -> None:
    with pytest.raises(ValueError, match="system fields missing"):
        parse_object({"name": "X__c", "keyPrefix": "a0Z", "fields": [{"name": "Id", "type": "id"}]})
    fields = [{"name": n, "type": "string"} for n in load_objects()["property__c"].fields]
    with pytest.raises(ValueError, match="keyPrefix must be 3 characters"):
        parse_object({"name": "X__c", "keyPrefix": "a0", "fields": fields})
    with pytest.raises(ValueError, match="lacks 'keyPrefix'"):
        parse_object({"name": "X__c", "fields": fields}, "x.json")


def test_an_object_added_as_data(tmp_path: Path) -> None:
    base = json.loads(
        (Path(__file__).parents[2] / "src/propsync/emulator/objects/Property__c.json").read_text()
    )
    base.update(name="Lease__c", keyPrefix="a0L", label="Lease")
    (tmp_path / "objects").mkdir()
    (tmp_path / "objects" / "Lease__c.json").write_text(json.dumps(base))
    with Emulator.start(tmp_path, workflow_enabled=False) as emu:
        rid = Api(emu).create("Lease__c", Name="A lease")
        assert rid.startswith("a0L") and rid[15:] == checksum(rid[:15])


def test_ids() -> None:
    assert mint_many("a0X", 1, 4000) == [mint("a0X", n) for n in range(1, 4001)]
    assert mint_many("a01", 62**7, 3) == [mint("a01", 62**7 + n) for n in range(3)]
    rid = mint("a01", 123456789)
    assert len(rid) == 18 and rid[15:] == checksum(rid[:15])
    assert canonical(rid[:15]) == rid and canonical(rid[:15] + rid[15:].lower()) == rid
    wrong = "AAA" if rid[15:] != "AAA" else "BBB"
    assert canonical(rid[:15] + wrong) is None
    assert canonical("short") is None and canonical(rid + "x") is None


def test_state_survives_a_restart(tmp_path: Path) -> None:
    emu = Emulator.start(tmp_path, workflow_delay_s=0.4)
    api = Api(emu)
    k = key()
    rid = api.create(Name="Persistent", **{EXTERNAL_ID: k})
    token = emu.access_token
    used = emu.usage()["total"]
    # a job uploaded but not yet processed when the server goes down
    job = api.req("POST", "/jobs/ingest", json={"object": OBJECT, "operation": "insert"}).json()
    api.req("PUT", f"/jobs/ingest/{job['id']}/batches", data=f"Name,{EXTERNAL_ID}\nQ,{key()}\n",
            headers={"Content-Type": "text/csv"})  # fmt: skip
    emu.stop()
    con = sqlite3.connect(tmp_path / "org.sqlite")
    info = json.loads(con.execute("SELECT info FROM jobs WHERE id = ?", (job["id"],)).fetchone()[0])
    info["state"] = "UploadComplete"  # closed, then the server died before processing it
    con.execute("UPDATE jobs SET info = ? WHERE id = ?", (json.dumps(info), job["id"]))
    con.commit()
    con.close()
    time.sleep(0.5)  # the workflow event falls due while the server is down

    emu2 = Emulator.start(tmp_path, workflow_delay_s=0.4)
    try:
        api2 = Api(emu2, token)  # tokens survive too
        rec = api2.get(rid)
        assert rec["Name"] == "Persistent"
        assert rec["sf_property_id__c"] is not None  # applied lazily before serving
        assert rec["LastModifiedById"] == emu2.workflow_user_id
        assert api2.wait_job("ingest", job["id"])["state"] == "JobComplete"
        assert emu2.usage()["total"] > used
        assert emu2.client_id == emu.client_id and emu2.client_secret == emu.client_secret
        # new ids continue after the old ones
        rid2 = api2.create(Name="Next", **{EXTERNAL_ID: key()})
        assert rid2 > rid
    finally:
        emu2.stop()


def test_connection_file(tmp_path: Path) -> None:
    t = time.perf_counter()
    with Emulator.start(tmp_path) as emu:
        started = time.perf_counter() - t
        path = tmp_path / "connection.json"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE((tmp_path / "org.sqlite").stat().st_mode) == 0o600
        doc = read_connection(tmp_path)
        assert doc["instance_url"] == emu.instance_url and doc["pid"] == os.getpid()
        assert doc["ca_file"] == emu.ca_file and doc["client_id"] == emu.client_id
        assert "access_token" not in doc
    assert not path.exists()  # removed at stop
    assert started < 5  # typically ~0.2 s; generous for a loaded CI machine


def test_cli_serve_until_sigterm(tmp_path: Path) -> None:
    import requests

    data = tmp_path / "org"
    proc, doc = _serve(data, "--latency-ms", "1", "--knobs", '{"lock_error_rate": 0.0}')
    try:
        assert doc["instance_url"].startswith("https://127.0.0.1:")
        s = requests.Session()
        s.verify = doc["ca_file"]
        s.trust_env = False
        r = s.get(f"{doc['instance_url']}/services/data/v59.0/limits/",
                  headers={"Authorization": f"Bearer {doc['access_token']}"})  # fmt: skip
        assert r.status_code == 200
        assert read_connection(data)["pid"] == proc.pid
    finally:
        rc = _stop(proc)
    assert rc == 0
    assert not (data / "connection.json").exists()


def test_cli_rejects_bad_knobs(tmp_path: Path) -> None:
    r = subprocess.run(
        [PROPSYNC, "emulator", "serve", "--data", str(tmp_path),
         "--knobs", '{"nope": 1}'],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 64 and "unknown emulator knob" in r.stderr


def test_cli_takes_defaults_from_the_workspace(tmp_path: Path) -> None:
    (tmp_path / "propsync.toml").write_text(
        '[salesforce.emulator]\ndata = "my-org"\nworkflow_enabled = false\n'
    )
    proc, doc = _serve(None, cwd=tmp_path)
    try:
        assert Path(doc["connection_file"]) == tmp_path / "my-org" / "connection.json"
    finally:
        assert _stop(proc) == 0


def _serve(
    data: Path | None, *extra: str, cwd: Path | None = None
) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """`propsync emulator serve --json` as a child process; stderr goes to a file (a
    pipe nobody reads could fill and block the server)."""
    args = [PROPSYNC, "emulator", "serve", "--json", *extra]
    if data is not None:
        args += ["--data", str(data)]
    err = tempfile.NamedTemporaryFile("w+", suffix=".stderr", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.PIPE, stderr=err, text=True)
    proc.errfile = err.name  # type: ignore[attr-defined]
    assert proc.stdout is not None
    lines: list[str] = []
    while not lines or not lines[-1].startswith("}"):
        line = proc.stdout.readline()
        assert line, Path(err.name).read_text()
        lines.append(line)
    return proc, json.loads("".join(lines))


def _stop(proc: subprocess.Popen[str]) -> int:
    """SIGTERM, then the exit code; the child's stderr in the message if it hangs."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(
            "emulator did not stop on SIGTERM: " + Path(proc.errfile).read_text()  # type: ignore[attr-defined]
        ) from None


@pytest.mark.slow
def test_a_job_survives_kill_9_of_the_server(tmp_path: Path) -> None:
    import csv
    import io

    import requests

    data = tmp_path / "org"
    n = 40_000
    proc, doc = _serve(data, "--no-workflow", "--knobs", '{"bulk_chunk_size": 400}')
    s = requests.Session()
    s.verify, s.trust_env = doc["ca_file"], False
    base = f"{doc['instance_url']}/services/data/v59.0/jobs/ingest"
    h = {"Authorization": f"Bearer {doc['access_token']}"}
    job = s.post(base, json={"object": OBJECT, "operation": "insert"}, headers=h).json()
    body = f"Name,{EXTERNAL_ID}\n" + "".join(f"K{i},kill-{i}\n" for i in range(n))
    s.put(f"{base}/{job['id']}/batches", data=body.encode(), headers=h)
    s.patch(f"{base}/{job['id']}", json={"state": "UploadComplete"}, headers=h)
    deadline = time.time() + 60
    while True:  # kill the server while the job is half done
        info = s.get(f"{base}/{job['id']}", headers=h).json()
        if info["numberRecordsProcessed"] >= 2000 or time.time() > deadline:
            break
        time.sleep(0.005)
    proc.kill()
    proc.wait(timeout=20)
    assert 0 < info["numberRecordsProcessed"] < n, "the job finished before the kill"

    proc2, doc2 = _serve(data, "--no-workflow")
    try:
        s2 = requests.Session()
        s2.verify, s2.trust_env = doc2["ca_file"], False
        api = f"{doc2['instance_url']}/services/data/v59.0"
        h2 = {"Authorization": f"Bearer {doc2['access_token']}"}
        deadline = time.time() + 120
        while time.time() < deadline:
            info = s2.get(f"{api}/jobs/ingest/{job['id']}", headers=h2).json()
            if info["state"] == "JobComplete":
                break
            time.sleep(0.05)
        assert info["state"] == "JobComplete"
        assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (n, 0)
        q = f"SELECT COUNT() FROM {OBJECT} WHERE {EXTERNAL_ID} LIKE 'kill-%'"
        assert s2.get(f"{api}/query", params={"q": q}, headers=h2).json()["totalSize"] == n
        text = s2.get(f"{api}/jobs/ingest/{job['id']}/successfulResults", headers=h2).text
        ok = list(csv.DictReader(io.StringIO(text)))
        assert len(ok) == n and len({r["sf__Id"] for r in ok}) == n
        assert {r[EXTERNAL_ID] for r in ok} == {f"kill-{i}" for i in range(n)}
    finally:
        assert _stop(proc2) == 0
