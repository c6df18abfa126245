"""A rollback killed (kill -9) while Salesforce runs one of its Bulk API jobs: the next
rollback reconciles the job under the killed run's id as ROLLBACK rows and finishes the
job, so the org ends exactly as before the run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from propsync.rollout.rollback import rollback
from propsync.sync import run_sync
from tests.rollout.test_rollback import differing, snapshot
from tests.sync.orgs import make_org
from tests.sync.test_sync_emulator import _ingest_jobs


def test_kill_9_during_a_rollback_bulk_job_then_rollback_again_restores_all(
    tmp_path: Path,
) -> None:
    org = make_org(tmp_path / "org", scale=300, sync={"bulk_threshold": 20}, workflow_enabled=False)
    try:
        before = snapshot(org)
        run = run_sync(org.ws, "all")
        jobs_before = {j["id"] for j in _ingest_jobs(org)}
        org.ws.close()  # the subprocess needs the DuckDB file to itself
        org.emu.set_knobs(latency_ms=300, inprogress_polls=3)
        cli = str(Path(sys.executable).parent / "propsync")
        proc = subprocess.Popen(
            [cli, "--config", str(org.config_path), "rollback", run.run_id, "--json"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + 90
        while not [
            j for j in _ingest_jobs(org) if j["id"] not in jobs_before and j["state"] != "Open"
        ]:
            assert proc.poll() is None, "the rollback ended before a Bulk API job was closed"
            assert time.monotonic() < deadline, "no Bulk API job was closed"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        org.emu.set_knobs(latency_ms=0, inprogress_polls=0)

        ws = org.reopen()
        state = ws.state()
        killed = state.runs.recent(limit=1)[0]
        assert killed.sync == "rollback" and killed.status == "RUNNING"
        assert [e.event for e in state.bulk_jobs.events(killed.run_id)] == ["SUBMITTED"]

        again = rollback(ws, run.run_id)
        assert again.status == "SUCCEEDED"
        gone = state.runs.get(killed.run_id)
        assert gone is not None and gone.status == "ABORTED"
        assert {e.event for e in state.bulk_jobs.events(killed.run_id)} == {
            "SUBMITTED",
            "RECONCILED",
        }
        rows = list(state.audit.entries(killed.run_id))
        assert rows and all(
            r.sync_operation == "ROLLBACK" and r.source_run_id == run.run_id and r.before_values
            for r in rows
        )
        # What the killed rollback restored is already back; the rest is restored now.
        assert again.restored + len(rows) == run.counts["update"].succeeded
        assert differing(before, snapshot(org)) == {}
    finally:
        org.close()
