"""Rollback end to end: a generated scenario in the emulator, a real sync, and its
rollback through the same lifecycle and writer. "Restored exactly" is checked by
reading every live record of the org (through the client, not the engine) before the
run and after the rollback and comparing every synced field."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from propsync import fields as sf
from propsync.cli import main
from propsync.errors import UsageError
from propsync.rollout.rollback import rollback, rollback_runs
from propsync.salesforce.connect import connect
from propsync.sync import run_sync
from tests.sync.orgs import Org, make_org

SYNCED = [f.name for f in sf.FIELDS if f.synced]
Snapshot = dict[str, dict[str, Any]]


@pytest.fixture
def org(tmp_path: Path) -> Iterator[Org]:
    o = make_org(tmp_path / "org", scale=300)
    try:
        yield o
    finally:
        o.close()


def snapshot(org: Org) -> Snapshot:
    """Every live record of the org: Id -> its synced fields, read from Salesforce."""
    with connect(org.ws.config.salesforce, org.ws.root, sync=org.ws.config.sync) as client:
        rows = client.query_all(
            f"SELECT Id, {', '.join(SYNCED)} FROM {sf.OBJECT}", include_deleted=False
        )
        return {r["Id"]: {k: r.get(k) for k in SYNCED} for r in rows}


def differing(a: Snapshot, b: Snapshot) -> dict[str, list[str]]:
    """Records of `a` whose synced fields differ in `b` (or that `b` lacks): Id -> fields."""
    out = {}
    for rid, rec in a.items():
        other = b.get(rid)
        fields = SYNCED if other is None else [k for k in SYNCED if rec[k] != other[k]]
        if fields:
            out[rid] = fields
    return out


def written_fields(org: Org, run_id: str) -> Counter[str]:
    """Fields per name the run wrote successfully on existing records (its audit rows)."""
    counts: Counter[str] = Counter()
    for e in org.ws.state().audit.entries(run_id, status="SUCCESS"):
        if e.before_values is not None:
            counts.update(e.fields_written or [])
    return counts


def test_rollback_restores_every_field_and_its_rollback_restores_the_run(org: Org) -> None:
    before = snapshot(org)
    run = run_sync(org.ws, "all")
    after_run = snapshot(org)
    changed = differing(before, after_run)
    assert len(changed) == run.counts["update"].succeeded > 0  # the run changed records
    created = set(after_run) - set(before)
    assert len(created) == run.counts["create"].created > 0

    rb = rollback(org.ws, run.run_id)
    assert rb.status == "SUCCEEDED" and rb.exit_code == 0 and not rb.dry_run
    assert rb.restored == len(changed) and rb.deleted == 0 and rb.plan.drift_count == 0
    # Records the run created are left in place (listed), by default.
    assert rb.plan.created_left_count == len(created)
    assert {c["salesforce_id"] for c in rb.plan.created_left} == created
    after_rb = snapshot(org)
    assert differing(before, after_rb) == {}  # every field of every record as before
    assert set(after_rb) - set(before) == created
    assert {f.field: f.count for f in rb.plan.fields.values()} == dict(
        written_fields(org, run.run_id)
    )

    state = org.ws.state()
    record = state.runs.get(rb.run_id)
    assert record is not None and record.sync == "rollback" and record.status == "SUCCEEDED"
    assert record.params == {"source_run_id": run.run_id, "delete_created": False, "force": False}
    rows = list(state.audit.entries(rb.run_id))
    assert len(rows) == rb.restored
    assert all(r.sync_operation == "ROLLBACK" and r.source_run_id == run.run_id for r in rows)
    assert all(r.api == "collections" for r in rows)  # below bulk_threshold

    # The rollback of the rollback: back to the run's after state.
    again = rollback(org.ws, rb.run_id)
    assert again.status == "SUCCEEDED" and again.restored == len(changed)
    assert differing(after_run, snapshot(org)) == {}
    assert again.plan.created_left_count == 0 and again.plan.not_restorable_count == 0


def test_delete_created_leaves_the_org_as_before_the_run(org: Org) -> None:
    before = snapshot(org)
    run = run_sync(org.ws, "all")
    rb = rollback(org.ws, run.run_id, delete_created=True)
    assert rb.status == "SUCCEEDED"
    assert rb.deleted == run.counts["create"].created > 0
    assert rb.plan.created_left_count == 0
    after = snapshot(org)
    assert set(after) == set(before) and differing(before, after) == {}
    deletes = [
        r for r in org.ws.state().audit.entries(rb.run_id) if r.after_values == {"IsDeleted": True}
    ]
    assert len(deletes) == rb.deleted and all(r.before_values for r in deletes)
    # Rolling back that rollback restores the fields, and says the deletes are final.
    again = rollback(org.ws, rb.run_id)
    assert again.plan.not_restorable_count == rb.deleted
    assert {r["reason"] for r in again.plan.not_restorable} == {
        "deleted by the run; a rollback does not undelete"
    }


def _update_rows(org: Org, run_id: str) -> list[Any]:
    return [
        e
        for e in org.ws.state().audit.entries(run_id, status="SUCCESS")
        if e.sync_operation == "UPDATE" and len(e.fields_written or []) >= 1
    ]


def test_drift_is_reported_and_left_alone_and_force_overwrites_it(org: Org) -> None:
    before = snapshot(org)
    run = run_sync(org.ws, "all")
    victim = next(e for e in _update_rows(org, run.run_id) if "Name" in (e.fields_written or []))
    assert victim.salesforce_id is not None
    changed_name = "Changed by someone else after the run"
    with connect(org.ws.config.salesforce, org.ws.root, sync=org.ws.config.sync) as client:
        client.collections("update", [{"Id": victim.salesforce_id, "Name": changed_name}])

    rb = rollback(org.ws, run.run_id)
    assert rb.status == "SUCCEEDED"
    assert rb.plan.drift_count == 1 and rb.plan.drift_records == 1
    d = rb.plan.drift[0]
    assert (d["salesforce_id"], d["field"], d["current"]) == (
        victim.salesforce_id,
        "Name",
        changed_name,
    )
    assert d["written"] == (victim.after_values or {})["Name"] and d["action"] == "left alone"
    now = snapshot(org)
    # Everything else is back; the drifted field keeps the other change.
    assert differing(before, now) == {victim.salesforce_id: ["Name"]}
    assert now[victim.salesforce_id]["Name"] == changed_name

    forced = rollback(org.ws, run.run_id, force=True)
    assert forced.plan.drift_count == 1 and forced.restored == 1
    assert forced.plan.drift[0]["action"] == "restored (--force)"
    assert differing(before, snapshot(org)) == {}


def test_dry_run_lists_field_by_field_and_writes_nothing(org: Org) -> None:
    run = run_sync(org.ws, "all")
    after_run = snapshot(org)
    state = org.ws.state()
    dry = rollback(org.ws, run.run_id, dry_run=True, delete_created=True)
    assert dry.dry_run and dry.status == "SUCCEEDED"
    assert snapshot(org) == after_run  # nothing written
    assert not list(state.audit.entries(dry.run_id))
    assert dry.restored == dry.deleted == 0
    assert dry.plan.restores == run.counts["update"].succeeded
    assert dry.plan.deletes == run.counts["create"].created
    plan = {f.field: f for f in dry.plan.fields.values()}
    assert {k: f.count for k, f in plan.items()} == dict(written_fields(org, run.run_id))
    assert all(0 < len(f.samples) <= 5 for f in plan.values())
    sample = next(iter(plan.values())).samples[0]
    assert after_run[sample["key"]][next(iter(plan))] == sample["current"]
    doc = dry.to_json()
    assert doc["plan"]["records_to_write"] == dry.plan.restores + dry.plan.deletes
    # A dry rollback is recorded as a dry run, and cannot itself be rolled back.
    record = state.runs.get(dry.run_id)
    assert record is not None and record.dry_run
    with pytest.raises(UsageError, match="dry run"):
        rollback(org.ws, dry.run_id)


def test_refused_unknown_and_running_runs_exit_64(org: Org) -> None:
    with pytest.raises(UsageError, match="no such run"):
        rollback(org.ws, "20260101T000000000Z-nope00")
    running = org.ws.state().runs.start("update")
    with pytest.raises(UsageError, match="still RUNNING"):
        rollback(org.ws, running)
    org.ws.state().runs.finish(running, "ABORTED", counts={}, api_calls=0, error="test")
    org.ws.close()
    out = CliRunner().invoke(main, ["--config", str(org.config_path), "rollback", "no-such-run"])
    assert out.exit_code == 64 and "no-such-run: no such run" in out.output
    out = CliRunner().invoke(main, ["--config", str(org.config_path), "rollback"])
    assert out.exit_code == 64 and "RUN_ID or --pilot" in out.output


def test_several_runs_newest_first_and_the_cli(org: Org) -> None:
    before = snapshot(org)
    create = run_sync(org.ws, "create")
    update = run_sync(org.ws, "update")
    with pytest.raises(UsageError, match="no such run"):
        rollback_runs(org.ws, [create.run_id, "missing"])  # checked before writing
    assert snapshot(org) != before
    org.ws.close()
    preview = CliRunner().invoke(
        main, ["--config", str(org.config_path), "-q", "rollback", update.run_id, "--dry-run"]
    )
    assert preview.exit_code == 0, preview.output
    assert f"rollback of run {update.run_id} (dry run): fields restored" in preview.output
    assert f"{update.counts['update'].succeeded} record(s) to restore" in preview.output
    out = CliRunner().invoke(
        main,
        [
            "--config",
            str(org.config_path),
            "-q",
            "rollback",
            create.run_id,
            update.run_id,
            "--delete-created",
            "--json",
        ],
    )
    assert out.exit_code == 0, out.output
    import json

    doc = json.loads(out.output)
    assert [r["source_run_id"] for r in doc["rollbacks"]] == [update.run_id, create.run_id]
    assert doc["rollbacks"][0]["restored"] == update.counts["update"].succeeded
    assert doc["rollbacks"][1]["deleted"] == create.counts["create"].created
    assert differing(before, snapshot(org)) == {} and set(snapshot(org)) == set(before)


def test_bulk_path_rollback_restores_and_journals(tmp_path: Path) -> None:
    org = make_org(tmp_path / "org", scale=300, sync={"bulk_threshold": 10})
    try:
        before = snapshot(org)
        run = run_sync(org.ws, "all")
        rb = rollback(org.ws, run.run_id, delete_created=True)
        assert rb.status == "SUCCEEDED" and rb.restored > 10 and rb.deleted > 10
        after = snapshot(org)
        assert set(after) == set(before) and differing(before, after) == {}
        state = org.ws.state()
        rows = list(state.audit.entries(rb.run_id))
        assert rows and all(r.api == "bulk2" and r.job_id for r in rows)
        # The restores' Bulk jobs went through the journal: SUBMITTED, then RECORDED.
        events = state.bulk_jobs.events(rb.run_id)
        assert events and {e.event for e in events} == {"SUBMITTED", "RECORDED"}
        assert not state.bulk_jobs.open(["update"])
    finally:
        org.close()


def test_a_pilot_is_rolled_back_run_by_run_newest_first(org: Org) -> None:
    from propsync import api
    from propsync.sync import plan

    before = snapshot(org)
    plan(org.ws, "all")  # builds the views
    engine = org.ws.engine()
    creates = [r[0] for r in engine.rows(
        "SELECT rds_property_id FROM properties_to_create ORDER BY rds_property_id DESC LIMIT 3"
    )]  # fmt: skip
    updates = [r[0] for r in engine.rows(
        "SELECT snappt_property_id_c FROM properties_to_update"
        " WHERE has_changes_since_last_sync ORDER BY id LIMIT 4"
    )]  # fmt: skip
    rows: list[dict[str, Any]] = [{"queue": "create", "rds_property_id": int(i)} for i in creates]
    rows += [{"queue": "update", "snappt_property_id_c": u} for u in updates]
    org.ws.state().pilots.save("pilot-1", rows)
    sync_a = run_sync(org.ws, "create", pilot="pilot-1")
    sync_b = run_sync(org.ws, "update", pilot="pilot-1")
    outside = run_sync(org.ws, "update")  # not the pilot's: stays
    after_outside = snapshot(org)
    assert outside.counts["update"].succeeded > 0

    with pytest.raises(UsageError, match="no run recorded with that pilot"):
        api.rollback(org.ws, pilot="nobody")
    done = api.rollback(org.ws, pilot="pilot-1", delete_created=True)
    assert done.exit_code == 0
    assert [r.source_run_id for r in done.results] == [sync_b.run_id, sync_a.run_id]
    assert done.results[0].restored == len(updates)
    assert done.results[1].deleted == len(creates)
    now = snapshot(org)
    pilot_ids = {e.salesforce_id for e in org.ws.state().audit.entries(sync_b.run_id)}
    # The pilot's records are as before the pilot; the other run's writes are kept.
    assert differing(before, now).keys() == differing(before, after_outside).keys() - pilot_ids
    assert all(now[i] == before[i] for i in pilot_ids)
