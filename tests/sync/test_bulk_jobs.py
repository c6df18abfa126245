"""Reconciling a Bulk API job whose run ended without reading its results, against the
emulator: a job still in progress is left for the next run, then audited once."""

from __future__ import annotations

from pathlib import Path

from propsync.salesforce import bulk2
from propsync.salesforce.connect import connect
from propsync.sync.jobs import BulkJournal, reconcile
from propsync.sync.payload import WriteItem
from tests.sync.orgs import make_org


def test_a_job_in_progress_is_left_then_reconciled_once(tmp_path: Path) -> None:
    org = make_org(tmp_path / "org", scale=250, workflow_enabled=False)
    try:
        state = org.ws.state()
        jobs_dir = org.root / "jobs"
        keys = ["900001", "900002", "900003"]
        items = [
            WriteItem("create", k, k, None, {"snappt_property_id__c": k, "Name": f"New {k}"})
            for k in keys
        ]
        run_id = state.runs.start("create")
        journal = BulkJournal(state, run_id, jobs_dir)
        on_job = journal.begin(items, "upsert", 1)
        data = bytearray(b"snappt_property_id__c,Name\n")
        data += "".join(f"{k},New {k}\n" for k in keys).encode()
        # The job reports InProgress for a few polls after it finished.
        org.emu.set_knobs(inprogress_polls=4)
        with connect(org.ws.config.salesforce, org.ws.root, sync=org.ws.config.sync) as sf:
            job = bulk2._submit(sf, "upsert", "snappt_property_id__c", data, keys, on_job)
            # The submitting process "dies" here: its results are never read.
            state.runs._finish(run_id, "ABORTED", {}, None, "killed")

            early = reconcile(state, sf, ["create"], jobs_dir, by_run="r2", wait_s=0.15)
            assert early["left"] == 1 and early["jobs"] == 0
            assert list(state.audit.entries(run_id)) == []
            assert [j.job_id for j in state.bulk_jobs.open()] == [job.id]

            done = reconcile(state, sf, ["create"], jobs_dir, by_run="r3")
            assert done == {"jobs": 1, "left": 0, "succeeded": 3, "failed": 0}
            rows = list(state.audit.entries(run_id))
            assert sorted(r.snappt_property_id_c for r in rows) == keys
            assert all(r.sync_status == "SUCCESS" and r.created for r in rows)
            assert all(r.job_id == job.id and r.api == "bulk2" for r in rows)
            assert {r.after_values["Name"] for r in rows} == {f"New {k}" for k in keys}
            live = {
                r["snappt_property_id__c"]: r["Id"]
                for r in sf.query_all(
                    "SELECT Id, snappt_property_id__c FROM product_property__c",
                    include_deleted=False,
                )
            }
            assert {r.salesforce_id for r in rows} == {live[k] for k in keys}
            assert not list(jobs_dir.glob("*.parquet"))
            # Closed: a third pass finds nothing to do.
            assert reconcile(state, sf, ["create"], jobs_dir, by_run="r4")["jobs"] == 0
            assert len(list(state.audit.entries(run_id))) == 3
    finally:
        org.close()


def test_a_bulk_job_past_its_deadline_ends_the_run_aborted_then_converges(
    tmp_path: Path,
) -> None:
    from collections import Counter

    from propsync.sync import run_sync

    # Bulk API from 10 records; a job deadline of 1 s; the org keeps the job InProgress
    # for more polls than fit in it, as a stuck job would.
    org = make_org(
        tmp_path / "org",
        scale=250,
        workflow_enabled=False,
        sync={"bulk_threshold": 10, "bulk_job_timeout_s": 1.0},
    )
    try:
        org.emu.set_knobs(inprogress_polls=6)
        result = run_sync(org.ws, "create")
        assert result.status == "ABORTED" and result.exit_code == 2
        assert result.error is not None and "deadline" in result.error.lower()
        record = org.ws.state().runs.get(result.run_id)
        assert record is not None and record.status == "ABORTED"
        org.emu.set_knobs(inprogress_polls=0)
        # The next run reconciles the aborted job and sends what is left: only the
        # records Salesforce refuses for their data (predicted, and failing alone).
        again = run_sync(org.ws, "create")
        create = again.plan.queues["create"]
        assert again.totals()["failed"] == create.predicted_failures == create.records
        assert run_sync(org.ws, "create").plan.records_to_write == 0
        assert max(Counter(org.live_records_per_external_id()).values()) == 1
    finally:
        org.close()
