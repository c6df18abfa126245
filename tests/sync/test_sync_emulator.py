"""Sync A and Sync B end to end: a generated scenario, the real client over HTTPS, the
emulator (with its fault knobs), the real state store. Every expected number comes
from the generator's ground truth or from the org itself."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from propsync.errors import GuardrailTripped, LockHeld
from propsync.models import metrics
from propsync.state import AuditEntry
from propsync.sync import plan, run_report, run_sync
from tests.sync.orgs import Org, make_org


@pytest.fixture
def org(tmp_path: Path) -> Iterator[Org]:
    o = make_org(tmp_path / "org")
    try:
        yield o
    finally:
        o.close()


def _unsyncable(org: Org) -> dict[str, str]:
    return {str(u["rds_property_id"]): u["reason"] for u in org.truth["unsyncable"]}


def _audit(org: Org, run_id: str) -> list[AuditEntry]:
    return list(org.ws.state().audit.entries(run_id))


def test_sync_all_converges_failures_carry_salesforce_codes_and_rerun_writes_nothing(
    org: Org, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="propsync")
    truth, unsyncable = org.truth, _unsyncable(org)
    before = org.live_records_per_external_id()
    first = plan(org.ws, "all")
    doc = first.to_json()
    # The queues are the generator's: creates (R5) and the update records with changes (R6).
    assert doc["records_to_send"]["create"] == truth["properties_to_create"]
    assert doc["predicted_failures"]["create"] == len(unsyncable)
    assert doc["records_to_write"]["create"] == truth["properties_to_create"] - len(unsyncable)
    assert doc["records_to_write"]["update"] == truth["update_records_with_changes"]
    assert {r["rds_property_id"] for r in doc["queues"]["create"]["invalid"]} == set(unsyncable)

    caplog.clear()
    result = run_sync(org.ws, "all")
    assert result.status == "PARTIAL" and result.exit_code == 1
    lines = [r for r in caplog.records if r.name.startswith("propsync.sync")]
    assert lines and all(r.getMessage().startswith(f"[run {result.run_id}] ") for r in lines)
    totals = result.totals()
    assert totals["failed"] == len(unsyncable)
    assert totals["created"] == truth["properties_to_create"] - len(unsyncable)
    assert totals["updated"] == truth["update_records_with_changes"]

    rows = _audit(org, result.run_id)
    assert len(rows) == totals["sent"]  # one outcome per record sent
    failed = {str(r.rds_property_id): r.error_code for r in rows if r.sync_status == "FAILED"}
    assert failed == unsyncable  # Salesforce's own codes: STRING_TOO_LONG, REQUIRED_FIELD_MISSING
    update = next(r for r in rows if r.sync_operation == "UPDATE")
    assert set(update.before_values) == set(update.after_values) == set(update.fields_written)
    assert update.before_values != update.after_values

    # Nothing duplicated: every RDS id has at most as many live records as before, and
    # every created one exactly one.
    after = org.live_records_per_external_id()
    assert all(after[k] <= max(before[k], 1) for k in after)
    created = {str(r.rds_property_id) for r in rows if r.created}
    assert created and all(after[k] == 1 for k in created)

    second = plan(org.ws, "all")
    assert second.records_to_write == 0
    assert second.to_json()["held_back"]["create"] == len(unsyncable)
    snap = metrics.snapshot(org.ws.engine())
    assert snap["feature_sync_accuracy_pct"] == 100.0
    assert all(f["accuracy_pct"] == 100.0 for f in snap["feature_accuracy"].values())
    assert snap["properties_missing_from_sf"] == len(unsyncable)

    rerun = run_sync(org.ws, "all")
    assert rerun.status == "SUCCEEDED" and rerun.totals()["sent"] == 0
    report = run_report(org.ws, result.run_id)
    assert sum(report.error_codes.values()) == len(unsyncable)
    assert report.run.status == "PARTIAL"


def test_guardrail_refuses_a_large_sync_b_and_force_overrides(org: Org) -> None:
    share = plan(org.ws, "update").queues["update"].change_share
    assert share is not None and share > 0.1
    org.ws.config = org.ws.config.model_copy(
        update={"sync": org.ws.config.sync.model_copy(update={"max_change_share": 0.1})}
    )
    with pytest.raises(GuardrailTripped, match=r"would change \d+ of \d+ matched records"):
        run_sync(org.ws, "update")
    refused = org.ws.state().runs.recent(limit=1)[0]
    assert refused.status == "ABORTED" and not _audit(org, refused.run_id)
    forced = run_sync(org.ws, "update", force=True)
    assert forced.status == "SUCCEEDED"
    assert forced.totals()["updated"] == org.truth["update_records_with_changes"]


def test_second_run_is_refused_while_the_lock_is_held(org: Org) -> None:
    state = org.ws.state()
    with state.lock("sync-update", "someone-else"), pytest.raises(LockHeld, match="someone-else"):
        run_sync(org.ws, "update", force=True)
    assert state.runs.recent(limit=1)[0].status == "ABORTED"


def test_duckdb_memory_limit_is_lowered_during_a_run_and_restored_after(org: Org) -> None:
    import duckdb

    from propsync.sync.lifecycle import SYNC_MEMORY_LIMIT, WRITE_MEMORY_LIMIT

    engine = org.ws.engine()

    def shown(limit: str) -> str:  # DuckDB's own rendering of a limit
        con = duckdb.connect()
        con.execute(f"SET memory_limit = '{limit}'")
        return str(con.execute("SELECT current_setting('memory_limit')").fetchone()[0])

    def setting() -> str:
        return str(engine.scalar("SELECT current_setting('memory_limit')"))

    seen: dict[str, str] = {}
    configured = shown(org.ws.config.engine.memory_limit)
    assert setting() == configured
    result = run_sync(org.ws, "all", progress=lambda phase, d, t: seen.setdefault(phase, setting()))
    assert result.totals()["sent"] > 0
    assert seen["extract"] == shown(SYNC_MEMORY_LIMIT)
    assert seen["create"] == seen["update"] == shown(WRITE_MEMORY_LIMIT)
    assert setting() == configured


def test_ids_restrict_a_run(org: Org, tmp_path: Path) -> None:
    plan(org.ws, "create")  # builds the views
    creates = [
        str(r[0])
        for r in org.ws.engine().rows(
            "SELECT rds_property_id FROM properties_to_create ORDER BY rds_property_id DESC LIMIT 3"
        )
    ]
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(creates) + "\n", encoding="utf-8")
    result = run_sync(org.ws, "all", ids=ids_file)
    rows = _audit(org, result.run_id)
    assert {str(r.rds_property_id) for r in rows} == set(creates)
    assert all(r.sync_status == "SUCCESS" and r.created for r in rows)


def _valid_ids(org: Org) -> list[str]:
    """Every RDS id either queue would send, except those the data makes unsyncable."""
    plan(org.ws, "all")
    rows = org.ws.engine().rows(
        "SELECT CAST(rds_property_id AS VARCHAR) FROM properties_to_create UNION "
        "SELECT snappt_property_id_c FROM properties_to_update WHERE has_changes_since_last_sync"
    )
    bad = _unsyncable(org)
    return sorted(r[0] for r in rows if r[0] not in bad)


@pytest.mark.slow
def test_lock_errors_503s_and_an_expired_session_end_succeeded_with_nothing_lost(
    tmp_path: Path,
) -> None:
    # Bulk for Sync B (~150 records), Collections for Sync A (~50): both paths under fire.
    org = make_org(tmp_path / "org", sync={"bulk_threshold": 100})
    try:
        ids = _valid_ids(org)
        before = org.live_records_per_external_id()
        org.emu.set_knobs(
            lock_error_rate=0.05,
            wrapped_lock_error_rate=0.02,
            http_503_rate=0.02,
            expire_sessions_now=True,
        )
        result = run_sync(org.ws, "all", ids=ids)
        assert result.status == "SUCCEEDED", result.counts
        assert result.plan.queues["update"].mode == "bulk"
        assert result.plan.queues["create"].mode == "collections"
        rows = _audit(org, result.run_id)
        assert sorted(str(r.rds_property_id) for r in rows) == ids  # each once
        assert all(r.sync_status == "SUCCESS" for r in rows)
        assert max(r.attempt for r in rows) > 1  # lock errors were resubmitted
        assert {r.api for r in rows} == {"bulk2", "collections"}
        org.emu.set_knobs(lock_error_rate=0.0, wrapped_lock_error_rate=0.0, http_503_rate=0.0)
        after = org.live_records_per_external_id()
        assert all(after[k] <= max(before[k], 1) for k in after)
        assert plan(org.ws, "all").records_to_write == 0  # nothing lost
    finally:
        org.close()


@pytest.mark.slow
def test_kill_9_in_the_middle_of_a_bulk_job_then_rerun_converges_and_audits_every_write(
    tmp_path: Path,
) -> None:
    import datetime as dt
    import os
    import signal
    import subprocess
    import sys
    import time
    from collections import Counter

    from propsync.salesforce.connect import connect

    # Workflow off: then every record modified after t0 was written by the sync.
    org = make_org(tmp_path / "org", sync={"bulk_threshold": 20}, workflow_enabled=False)
    try:
        before = org.live_records_per_external_id()
        jobs_before = {j["id"] for j in _ingest_jobs(org)}
        org.ws.close()  # the subprocess needs the DuckDB file to itself
        # Slow calls and a job that reports InProgress a few polls after it finished:
        # the kill lands while Salesforce runs (or has run) a job nobody will read.
        org.emu.set_knobs(latency_ms=300, inprogress_polls=3)
        t0 = dt.datetime.now(dt.UTC).replace(microsecond=0)
        cli = str(Path(sys.executable).parent / "propsync")
        proc = subprocess.Popen(
            [cli, "--config", str(org.config_path), "sync", "all", "--json"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + 60
        while not [
            j for j in _ingest_jobs(org) if j["id"] not in jobs_before and j["state"] != "Open"
        ]:
            assert proc.poll() is None, "the sync ended before a Bulk API job was closed"
            assert time.monotonic() < deadline, "no Bulk API job was closed"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)  # the job is closed: Salesforce runs it anyway
        proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL
        org.emu.set_knobs(latency_ms=0, inprogress_polls=0)
        killed_jobs = [j["id"] for j in _ingest_jobs(org) if j["id"] not in jobs_before]

        ws = org.reopen()
        state = ws.state()
        killed_run = state.runs.recent(limit=1)[0]
        journal = state.bulk_jobs.events(killed_run.run_id)
        # Journalled before upload: every job the killed run created, none closed.
        assert {e.job_id for e in journal} == set(killed_jobs)
        assert all(e.event == "SUBMITTED" for e in journal)

        rerun = run_sync(ws, "all")
        killed = state.runs.get(killed_run.run_id)
        assert killed is not None
        assert killed.status == "ABORTED" and "ended without finishing" in (killed.error or "")
        closing = [e for e in state.bulk_jobs.events(killed_run.run_id) if e.event != "SUBMITTED"]
        assert {e.job_id for e in closing} == set(killed_jobs)  # each closed once
        assert {e.event for e in closing} == {"RECONCILED"}
        assert {e.reconciled_by for e in closing} == {rerun.run_id}
        killed_rows = _audit(org, killed_run.run_id)
        assert any(r.job_id == killed_jobs[-1] for r in killed_rows)
        assert all(r.after_values for r in killed_rows)  # images kept
        assert not list((org.root / "jobs").glob("*.parquet"))  # cleaned up
        assert plan(ws, "all").records_to_write == 0

        # Every record Salesforce wrote since t0 has exactly one SUCCESS audit row,
        # across the killed run and the rerun: nothing unaudited, nothing written twice.
        with connect(ws.config.salesforce, ws.root, sync=ws.config.sync) as sf:
            written = {
                r["Id"]
                for r in sf.query_all(
                    "SELECT Id, LastModifiedDate FROM product_property__c",
                    include_deleted=False,
                )
                if dt.datetime.fromisoformat(r["LastModifiedDate"].replace("+0000", "+00:00")) >= t0
            }
        rows = killed_rows + _audit(org, rerun.run_id)
        successes = Counter(r.salesforce_id for r in rows if r.sync_status == "SUCCESS")
        assert written and set(successes) == written
        assert set(successes.values()) == {1}
        # The unsyncable records failed once, with Salesforce's codes, in one run or other.
        failed = [r for r in rows if r.sync_status == "FAILED"]
        assert sorted(str(r.rds_property_id) for r in failed) == sorted(_unsyncable(org))
        assert {str(r.rds_property_id): r.error_code for r in failed} == _unsyncable(org)

        after = org.live_records_per_external_id()
        assert all(after[k] <= max(before[k], 1) for k in after)
        missing = set(before) | {str(i) for i in _valid_ids(org)}
        assert all(after[k] >= 1 for k in missing if k not in _unsyncable(org))
    finally:
        org.close()


def _ingest_jobs(org: Org) -> list[dict]:
    """The org's ingest jobs (id, state as stored, not as a poll reports it)."""
    import json

    con = org.emu.org.store.connection()
    docs = [json.loads(r[0]) for r in con.execute(
        "SELECT info FROM jobs WHERE kind = 'ingest' ORDER BY created_at"
    )]  # fmt: skip
    return [{"id": d["id"], "state": d["state"]} for d in docs]


def test_a_spent_quota_stops_the_run_cleanly(tmp_path: Path) -> None:
    org = make_org(tmp_path / "org", sync={"collection_size": 10})
    try:
        ids = _valid_ids(org)
        used = org.emu.usage()["total"]
        # Enough for the extract, describe, limits and a few writes; not for all.
        org.emu.set_knobs(daily_api_limit=used + 8)
        result = run_sync(org.ws, "all", ids=ids)
        assert result.status == "ABORTED" and result.exit_code == 2
        assert "quota" in (result.error or "")
        rows = _audit(org, result.run_id)
        assert 0 < len(rows) < len(ids)  # what was done is recorded
        assert all(r.sync_status == "SUCCESS" for r in rows)
        assert org.ws.state().runs.get(result.run_id).status == "ABORTED"
        org.emu.set_knobs(daily_api_limit=1_000_000)
        again = run_sync(org.ws, "all", ids=ids)
        assert again.status == "SUCCEEDED"
        assert again.totals()["sent"] == len(ids) - len(rows)  # picks up the rest
    finally:
        org.close()


def test_incremental_refresh_sees_changes_and_deletions_made_in_salesforce(
    org: Org, caplog: pytest.LogCaptureFixture
) -> None:
    from propsync.salesforce.connect import connect

    caplog.set_level(logging.INFO, logger="propsync")
    run_sync(org.ws, "all")
    engine = org.ws.engine()
    victim, flipped = (
        r[0]
        for r in engine.rows(
            "SELECT id FROM properties_to_update WHERE is_active AND NOT idv_enabled"
            " ORDER BY id LIMIT 2"
        )
    )
    with connect(org.ws.config.salesforce, org.ws.root, sync=org.ws.config.sync) as sf:
        sf.collections("delete", [{"Id": victim}])
        sf.collections("update", [{"Id": flipped, "IDV_Enabled__c": True}])
    caplog.clear()
    p = plan(org.ws, "all")
    assert any("salesforce='incremental'" in r.getMessage() for r in caplog.records)
    update = p.queues["update"]
    # The deleted record's property is queued again (R5); the flipped flag is set back.
    assert p.queues["create"].records_to_write == 1
    assert update.records_to_write == 1
    assert next(f for f in update.fields if f.field == "IDV_Enabled__c").count == 1


def test_pilot_restricts_a_run_to_its_set(org: Org) -> None:
    plan(org.ws, "all")  # builds the views
    engine = org.ws.engine()
    creates = [r[0] for r in engine.rows(
        "SELECT rds_property_id FROM properties_to_create ORDER BY rds_property_id DESC LIMIT 2"
    )]  # fmt: skip
    update = engine.rows(
        "SELECT snappt_property_id_c FROM properties_to_update"
        " WHERE has_changes_since_last_sync ORDER BY id LIMIT 1"
    )[0][0]
    rows = [{"queue": "create", "rds_property_id": int(i)} for i in creates]
    rows.append({"queue": "update", "snappt_property_id_c": update})
    org.ws.state().pilots.save("pilot-1", rows)
    result = run_sync(org.ws, "all", pilot="pilot-1")
    assert result.plan.restriction == "pilot pilot-1"
    written = {str(r.rds_property_id) for r in _audit(org, result.run_id)}
    assert written == {str(i) for i in creates} | {update}
    assert org.ws.state().runs.get(result.run_id).pilot == "pilot-1"
