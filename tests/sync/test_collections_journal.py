"""The sObject Collections journal: a run killed, stopped by a full disk or left without
a response after Salesforce committed its records leaves a journal the next run
reconciles from Salesforce, so every record the org holds from a run has exactly one
audit row and nothing is written twice; a journal that cannot be written stops the run
before it sends anything."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from propsync.errors import StateError, TransientSalesforceError
from propsync.salesforce.client import SalesforceClient
from propsync.salesforce.connect import connect
from propsync.state import AuditEntry
from propsync.sync import plan, run_sync
from propsync.sync.journal import RECONCILED_API
from tests.sync.orgs import Org, make_org

# Collections only (the queues stay below the Bulk threshold), 5 records a request, so
# a window (50 records) spans a few requests and the run has enough of them to be
# killed five times before it is done.
SYNC = {"collection_size": 5, "bulk_threshold": 100_000}


@pytest.fixture
def org(tmp_path: Path) -> Iterator[Org]:
    o = make_org(tmp_path / "org", sync=SYNC, workflow_enabled=False)
    try:
        yield o
    finally:
        o.close()


def _unsyncable(org: Org) -> set[str]:
    return {str(u["rds_property_id"]) for u in org.truth["unsyncable"]}


def _all_audit(org: Org) -> list[AuditEntry]:
    state = org.ws.state()
    return [row for run in state.runs.recent(limit=100) for row in state.audit.entries(run.run_id)]


def _written_since(org: Org, t0: dt.datetime) -> set[str]:
    with connect(org.ws.config.salesforce, org.ws.root, sync=org.ws.config.sync) as sf:
        return {
            r["Id"]
            for r in sf.query_all(
                "SELECT Id, LastModifiedDate FROM product_property__c", include_deleted=False
            )
            if dt.datetime.fromisoformat(r["LastModifiedDate"].replace("+0000", "+00:00")) >= t0
        }


def _assert_converged(org: Org, t0: dt.datetime, before: Counter[str]) -> list[AuditEntry]:
    """Every record written since t0 has exactly one SUCCESS audit row over all runs; no
    external id has more live records than before (or one, if it had none)."""
    ws = org.ws
    assert plan(ws, "all").records_to_write == 0
    rows = _all_audit(org)
    successes = Counter(r.salesforce_id for r in rows if r.sync_status == "SUCCESS")
    written = _written_since(org, t0)
    assert written and set(successes) == written
    assert set(successes.values()) == {1}
    after = org.live_records_per_external_id()
    assert all(after[k] <= max(before[k], 1) for k in after)
    # The unsyncable records failed, never succeeded.
    assert not {str(r.rds_property_id) for r in rows if r.sync_status == "SUCCESS"} & (
        _unsyncable(org)
    )
    assert not list((org.root / "jobs").glob("*.parquet"))  # every window closed
    return rows


def _writes(org: Org) -> int:
    """Collections write requests the org has received today."""
    by = org.emu.usage()["by_endpoint"]
    return sum(n for name, n in by.items() if "composite/sobjects" in name)


@pytest.mark.slow
def test_kill_9_at_several_moments_of_a_collections_run_then_rerun_audits_each_write_once(
    org: Org,
) -> None:
    before = org.live_records_per_external_id()
    t0 = dt.datetime.now(dt.UTC).replace(microsecond=0)
    org.ws.close()  # each subprocess needs the DuckDB file to itself
    org.emu.set_knobs(latency_ms=60)
    cli = str(Path(sys.executable).parent / "propsync")
    killed = 0
    # Each subprocess first reconciles the previous one's windows, then writes on; it
    # is killed once the org has received a few more write requests (a kill lands
    # before, during or after a request, with outcomes audited or not).
    for extra in (1, 2, 3, 5, 8):
        start = _writes(org)
        proc = subprocess.Popen(
            [cli, "--config", str(org.config_path), "sync", "all", "--json"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + 90
        while _writes(org) < start + extra and proc.poll() is None:
            assert time.monotonic() < deadline, "the sync sent no write request"
            time.sleep(0.01)
        if proc.poll() is not None:
            break  # it finished: nothing left to kill
        time.sleep(0.03 * extra)  # somewhere inside or after that request
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL
        killed += 1
    assert killed >= 3, "the run finished before the kills"
    org.emu.set_knobs(latency_ms=0)

    ws = org.reopen()
    rerun = run_sync(ws, "all")
    assert rerun.status in ("SUCCEEDED", "PARTIAL")
    runs = ws.state().runs.recent(limit=20)
    # A kill lands mid-run (the run is found ABORTED by the next one) or just after the
    # run recorded its own end; none is left RUNNING.
    assert all(r.status != "RUNNING" for r in runs)
    aborted = sum(r.status == "ABORTED" for r in runs)
    assert 2 <= aborted <= killed, [(r.status, r.error) for r in runs]
    rows = _assert_converged(org, t0, before)
    # The kills left audited-nowhere records behind in at least one window, found
    # written in Salesforce by the reconciliation and attributed to their own run.
    reconciled = [r for r in rows if r.api == RECONCILED_API]
    assert reconciled and all(r.run_id != rerun.run_id for r in reconciled)
    assert all(r.job_id and r.job_id.startswith("collections-") for r in reconciled)
    assert all(r.after_values for r in reconciled)


def test_audit_write_failure_after_salesforce_committed_is_reconciled_by_the_next_run(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = org.live_records_per_external_id()
    t0 = dt.datetime.now(dt.UTC).replace(microsecond=0)
    state = org.ws.state()
    real_append = state.audit.append
    appended = {"calls": 0}

    def full_disk(records: Any) -> int:
        appended["calls"] += 1
        if appended["calls"] >= 2:  # the first window is audited, the second is not
            raise StateError("could not write to the audit log: No space left on device")
        return real_append(records)

    monkeypatch.setattr(state.audit, "append", full_disk)
    with pytest.raises(StateError, match="No space left"):
        run_sync(org.ws, "all")
    failed = state.runs.recent(limit=1)[0]
    assert failed.status == "FAILED"
    monkeypatch.setattr(state.audit, "append", real_append)
    open_windows = [j for j in state.bulk_jobs.open() if j.run_id == failed.run_id]
    assert open_windows  # the unaudited window (and any after it) still journalled

    rerun = run_sync(org.ws, "all")
    rows = _assert_converged(org, t0, before)
    reconciled = [r for r in rows if r.api == RECONCILED_API]
    assert reconciled and {r.run_id for r in reconciled} == {failed.run_id}
    closing = [e for e in state.bulk_jobs.events(failed.run_id) if e.event != "SUBMITTED"]
    assert {e.job_id for e in closing} == {
        e.job_id for e in state.bulk_jobs.events(failed.run_id) if e.event == "SUBMITTED"
    }
    assert all(e.reconciled_by in (failed.run_id, rerun.run_id) for e in closing)


def test_a_lost_response_is_reconciled_from_what_salesforce_holds(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = org.live_records_per_external_id()
    t0 = dt.datetime.now(dt.UTC).replace(microsecond=0)
    real = SalesforceClient.collections
    sent = {"n": 0}

    def lose_the_fifth(self: SalesforceClient, *args: Any, **kwargs: Any) -> Any:
        result = real(self, *args, **kwargs)  # Salesforce committed
        sent["n"] += 1
        if sent["n"] == 5:
            raise TransientSalesforceError("read timed out (the response was lost)")
        return result

    monkeypatch.setattr(SalesforceClient, "collections", lose_the_fifth)
    with pytest.raises(TransientSalesforceError):
        run_sync(org.ws, "all")
    monkeypatch.setattr(SalesforceClient, "collections", real)
    failed = org.ws.state().runs.recent(limit=1)[0]
    assert failed.status == "FAILED"
    run_sync(org.ws, "all")
    rows = _assert_converged(org, t0, before)
    reconciled = [r for r in rows if r.api == RECONCILED_API]
    # The lost request's records (10, less any the data makes unsyncable) are audited.
    assert 0 < len(reconciled) <= SYNC["collection_size"]
    assert {r.run_id for r in reconciled} == {failed.run_id}


def _mount_full_tmpfs(path: Path) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(path)], capture_output=True
    )
    if done.returncode != 0:
        return False
    try:  # fill it: the journal finds no room
        with open(path / "filler", "wb") as out:
            while True:
                out.write(b"\0" * 4096)
                out.flush()
    except OSError:
        pass
    return True


def test_a_full_disk_stops_the_run_before_it_sends_anything(org: Org) -> None:
    jobs = org.root / "jobs"
    mounted = False
    try:
        mounted = _mount_full_tmpfs(jobs)
        if not mounted:
            # No tmpfs (not root): the same effect from a folder the journal cannot use.
            jobs.rmdir()
            jobs.write_text("not a folder", encoding="utf-8")
        before = org.live_records_per_external_id()
        writes = _writes(org)
        with pytest.raises(StateError, match=r"cannot journal .* nothing of them was sent"):
            run_sync(org.ws, "all")
        assert _writes(org) == writes  # not one write request
        assert org.live_records_per_external_id() == before
        run = org.ws.state().runs.recent(limit=1)[0]
        assert run.status == "FAILED" and "cannot journal" in (run.error or "")
        assert list(org.ws.state().audit.entries(run.run_id)) == []
    finally:
        if mounted:
            subprocess.run(["umount", str(jobs)], check=True)
        elif jobs.is_file():
            jobs.unlink()
    # Room again: the next run writes everything.
    again = run_sync(org.ws, "all")
    assert again.status in ("SUCCEEDED", "PARTIAL") and again.totals()["succeeded"] > 0


def test_an_images_file_never_journalled_is_removed_once_its_run_is_over(
    scenario: Any, tmp_path: Path
) -> None:
    from propsync.sync import journal

    state = scenario.store
    state.migrate()
    ended, running = state.runs.start("create"), state.runs.start("create")
    state.runs._finish(ended, "ABORTED", {}, None, "killed")
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    orphan = jobs / f"collections-{ended}-create-0001.parquet"
    live = jobs / f"collections-{running}-create-0001.parquet"
    other_queue = jobs / f"collections-{ended}-update-0001.parquet"
    for path in (orphan, live, other_queue):
        path.write_bytes(b"images")
    done = journal.reconcile(state, None, ["create"], jobs, by_run=running)
    assert done == {"windows": 0, "succeeded": 0, "not_written": 0}
    assert not orphan.exists()  # killed between its file and its journal row
    assert live.exists() and other_queue.exists()  # a live run's; a queue not locked
