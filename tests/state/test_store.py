"""The state store on both backends: migrations, runs, audit, queues, pilots, append-only."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import psycopg
import pytest

from propsync.errors import StateError
from propsync.state import AuditRecord
from propsync.state import migrations as mig
from propsync.state.migrations import Migration

from .conftest import StateWorkspace

TABLES = {
    "sync_runs",
    "property_sync_audit_log",
    "sync_queue_measurements",
    "pilot_sets",
    "signoffs",
    "state_migrations",
    "sync_bulk_jobs",
    "alert_incidents",
}


def test_migrations_are_versioned_and_idempotent(state_ws: StateWorkspace) -> None:
    with state_ws.open() as ws:
        store = ws.state()
        assert ws.state() is store  # one store per workspace
        applied = store.migrations()
        assert [m.version for m in applied] == [m.version for m in mig.available(store.kind)]
        assert applied[0].name == "001_initial.sql"
        assert store.migrate() == []
        names = {
            r["table_name"]
            for r in store.backend.dicts("SELECT table_name FROM information_schema.tables")
        }
        assert names >= TABLES
    with state_ws.open() as ws:  # reopening applies nothing twice
        store = ws.state()
        assert [m.version for m in store.migrations()] == [
            m.version for m in mig.available(store.kind)
        ]


def test_new_migration_applies_once_and_edits_are_refused(
    state_ws: StateWorkspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = mig.available
    n = max(m.version for m in shipped("duckdb")) + 1
    name = f"{n:03d}_notes.sql"
    extra = Migration(n, name, "CREATE TABLE run_notes (run_id VARCHAR, note VARCHAR);")
    monkeypatch.setattr(mig, "available", lambda dialect: [*shipped(dialect), extra])
    with state_ws.open() as ws:
        store = ws.state()
        assert [m.version for m in store.migrations()][-2:] == [n - 1, n]
        assert store.migrate() == []
    edited = Migration(n, name, extra.sql + "\n-- edited")
    monkeypatch.setattr(mig, "available", lambda dialect: [*shipped(dialect), edited])
    with state_ws.open() as ws, pytest.raises(StateError, match=re.escape(name) + " changed after"):
        ws.state()


def test_run_lifecycle(state_ws: StateWorkspace) -> None:
    with state_ws.open() as ws:
        store = ws.state()
        first = store.runs.start("create", pilot="pilot-1", params={"ids": [1, 2]})
        second = store.runs.start("update", dry_run=True)
        assert second > first  # time-prefixed ids sort by start
        run = store.runs.get(first)
        assert run is not None
        assert run.status == "RUNNING" and run.pilot == "pilot-1"
        assert run.params == {"ids": [1, 2]}
        counts = {"planned": 10, "attempted": 10, "succeeded": 9, "failed": 1, "created": 9}
        store.runs.finish(first, "PARTIAL", counts=counts, api_calls=4, error="1 record failed")
        done = store.runs.get(first)
        assert done is not None
        assert done.status == "PARTIAL" and done.succeeded == 9 and done.updated is None
        assert done.api_calls == 4 and done.counts == counts
        assert done.duration_s >= 0 and done.finished_at >= done.started_at
        assert [r.run_id for r in store.runs.recent()] == [second, first]
        assert [r.run_id for r in store.runs.recent(sync="create")] == [first]
        assert [e.status for e in store.runs.events(first)] == ["RUNNING", "PARTIAL"]
        assert store.runs.get("no-such-run") is None
        with pytest.raises(StateError, match="already ended as PARTIAL"):
            store.runs.finish(first, "SUCCEEDED", counts={}, api_calls=0)
        with pytest.raises(StateError, match="status 'DONE'"):
            store.runs.finish(second, "DONE", counts={}, api_calls=0)
        with pytest.raises(StateError, match="counts must be non-negative"):
            store.runs.finish(second, "FAILED", counts={"failed": -1}, api_calls=0)
        with pytest.raises(StateError, match="sync 'delete'"):
            store.runs.start("delete")
        with pytest.raises(StateError, match="does not exist"):
            store.runs.finish("no-such-run", "FAILED", counts={}, api_calls=0)


def _record(run_id: str, i: int, **kw: object) -> AuditRecord:
    return AuditRecord(
        run_id=run_id,
        sync_operation="UPDATE",
        sync_status="SUCCESS",
        rds_property_id=i,
        snappt_property_id_c=str(i),
        salesforce_id=f"a0X{i:015d}",
        created=False,
        fields_written=["IDV_Enabled__c", "Name"],
        before_values={"IDV_Enabled__c": False, "Name": None},
        after_values={"IDV_Enabled__c": True, "Name": f"Résidence 東京 {i}"},
        **kw,  # type: ignore[arg-type]
    )


def test_audit_roundtrip_and_validation(state_ws: StateWorkspace) -> None:
    with state_ws.open() as ws:
        store = ws.state()
        run_id = store.runs.start("update")
        when = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
        records = [_record(run_id, i) for i in range(5)]
        records.append(
            AuditRecord(
                run_id,
                "UPDATE",
                "FAILED",
                rds_property_id=99,
                attempt=4,
                error_code="UNABLE_TO_LOCK_ROW",
                error_message="unable to obtain exclusive access to this record",
                after_values={"RDS_Created_At__c": when},
                api="bulk2",
                job_id="750xx",
                sync_timestamp=when,
            )
        )
        assert store.audit.append(records) == 6
        rows = list(store.audit.entries(run_id))
        assert [r.rds_property_id for r in rows] == ["0", "1", "2", "3", "4", "99"]
        assert rows[1].after_values == {"IDV_Enabled__c": True, "Name": "Résidence 東京 1"}
        assert rows[1].before_values == {"IDV_Enabled__c": False, "Name": None}
        assert rows[1].fields_written == ["IDV_Enabled__c", "Name"]
        failed = list(store.audit.entries(run_id, status="FAILED"))
        assert len(failed) == 1 and failed[0].attempt == 4
        assert failed[0].sync_timestamp == when
        assert failed[0].after_values == {"RDS_Created_At__c": when.isoformat()}
        summary = {(s.sync_status, s.error_code): s.records for s in store.audit.summary(run_id)}
        assert summary == {("SUCCESS", None): 5, ("FAILED", "UNABLE_TO_LOCK_ROW"): 1}

        bad = [_record(run_id, 100), AuditRecord(run_id, "UPSERT", "SUCCESS", rds_property_id=7)]
        with pytest.raises(StateError, match=r"#1 .*rds_property_id 7.*sync_operation 'UPSERT'"):
            store.audit.append(bad)
        with pytest.raises(StateError, match=r"rds_property_id 8.*attempt"):
            store.audit.append([AuditRecord(run_id, "CREATE", "SUCCESS", 8, attempt=0)])
        naive = datetime(2026, 1, 1)
        with pytest.raises(StateError, match="sync_timestamp must carry a time zone"):
            store.audit.append([AuditRecord(run_id, "CREATE", "SUCCESS", 9, sync_timestamp=naive)])
        with pytest.raises(StateError, match="after_values: cannot store as JSON"):
            store.audit.append(
                [AuditRecord(run_id, "CREATE", "SUCCESS", 10, after_values={"x": object()})]
            )
        assert len(list(store.audit.entries(run_id))) == 6  # a bad batch writes nothing
        assert store.audit.append([]) == 0


def test_queue_sizes_pilots_and_signoffs(state_ws: StateWorkspace) -> None:
    with state_ws.open() as ws:
        store = ws.state()
        run_id = store.runs.start("all")
        store.queue_sizes.record(1081, 7980, changes=799, run_id=run_id)
        store.queue_sizes.record(0, 7980)
        sizes = store.queue_sizes.since()
        assert [(m.properties_to_create, m.records_with_changes) for m in sizes] == [
            (1081, 799),
            (0, None),
        ]
        with pytest.raises(StateError, match="queue size create"):
            store.queue_sizes.record(-1, 0)

        rows = [
            {
                "queue": "create",
                "rds_property_id": 5,
                "pilot_reason": "Has Features",
                "priority": 1,
                "city": "Zürich",
            },
            {
                "queue": "update",
                "snappt_property_id_c": "7",
                "pilot_reason": "Multi-Property (2)",
                "priority": 2,
            },
        ]
        assert store.pilots.save("pilot-1", rows) == 2
        saved = store.pilots.members("pilot-1")
        assert [(r.queue, r.rds_property_id, r.snappt_property_id_c) for r in saved] == [
            ("create", "5", None),
            ("update", None, "7"),
        ]
        assert saved[0].details == {"city": "Zürich"}
        time.sleep(0.002)
        store.pilots.save("pilot-1", rows[:1])  # a re-selection replaces the old one
        assert len(store.pilots.members("pilot-1")) == 1
        assert store.pilots.members("nope") == [] and store.pilots.names() == ["pilot-1"]
        with pytest.raises(StateError, match=r"row #0: queue 'delete'"):
            store.pilots.save("bad", [{"queue": "delete", "rds_property_id": 1}])
        with pytest.raises(StateError, match="row #0: needs rds_property_id"):
            store.pilots.save("bad", [{"queue": "create"}])

        store.signoffs.add("pilot-1", who="Ana", role="CS lead", decision="approve")
        store.signoffs.add(
            "pilot-1",
            who="Bo",
            role="Sales ops",
            decision="Rejected",
            comment="wait for Park Kennedy",
        )
        assert [(s.who, s.decision) for s in store.signoffs.for_pilot("pilot-1")] == [
            ("Ana", "APPROVED"),
            ("Bo", "REJECTED"),
        ]
        with pytest.raises(StateError, match="decision 'maybe'"):
            store.signoffs.add("pilot-1", who="Cy", decision="maybe")


_WRITES = re.compile(r"^\s*(UPDATE|DELETE|TRUNCATE|MERGE|DROP|ALTER)\b", re.IGNORECASE)


def test_store_never_updates_or_deletes(state_ws: StateWorkspace) -> None:
    with state_ws.open() as ws:
        store = ws.state()
        run_id = store.runs.start("create")
        with store.lock("sync-create", run_id):
            store.audit.append([_record(run_id, i) for i in range(3)])
        store.queue_sizes.record(1, 2)
        store.pilots.save("p", [{"queue": "create", "rds_property_id": 1}])
        store.signoffs.add("p", who="x")
        store.runs.finish(run_id, "SUCCEEDED", counts={"succeeded": 3}, api_calls=1)
        other = store.runs.start("update")
        store.runs._finish(other, "ABORTED", {}, None, "test")
        store.runs.abort_stale()
        list(store.audit.entries(run_id))
        store.runs.recent()
    assert len(state_ws.statements) > 10  # the tracer really saw the store's SQL
    assert [s for s in state_ws.statements if _WRITES.match(s)] == []


def test_bulk_jobs_stay_open_until_closed_and_their_run_is_over(
    state_ws: StateWorkspace,
) -> None:
    with state_ws.open() as ws:
        store = ws.state()
        run_id = store.runs.start("all")
        for job, queue in (("750A", "create"), ("750B", "update")):
            store.bulk_jobs.record(
                run_id, queue=queue, job_id=job, operation="upsert", records=3, images_file="f"
            )
        assert store.bulk_jobs.open() == []  # its run is still RUNNING
        store.runs._finish(run_id, "ABORTED", {}, None, "killed")
        found = store.bulk_jobs.open()
        assert [j.job_id for j in found] == ["750A", "750B"]
        assert [j.job_id for j in store.bulk_jobs.open(["update"])] == ["750B"]
        assert store.audit.count_for_job(run_id, "750A") == 0
        store.audit.append([_record(run_id, 1, job_id="750X,750A")])
        assert store.audit.count_for_job(run_id, "750A") == 1
        assert store.audit.count_for_job(run_id, "750B") == 0
        store.bulk_jobs.close(found[0], "RECONCILED", by_run="later", detail={"succeeded": 3})
        assert [j.job_id for j in store.bulk_jobs.open()] == ["750B"]
        events = store.bulk_jobs.events(run_id)
        assert [(e.job_id, e.event) for e in events] == [
            ("750A", "SUBMITTED"),
            ("750B", "SUBMITTED"),
            ("750A", "RECONCILED"),
        ]
        assert events[-1].detail == {"succeeded": 3} and events[-1].reconciled_by == "later"
        with pytest.raises(StateError, match="event"):
            store.bulk_jobs.close(found[1], "DONE")


def test_postgres_refuses_updates_and_deletes(pg_dsn: str, state_ws: StateWorkspace) -> None:
    if state_ws.backend != "postgresql":
        return  # DuckDB has no triggers; the tracer test covers it
    with state_ws.open() as ws:
        store = ws.state()
        store.runs.finish(store.runs.start("create"), "SUCCEEDED", counts={}, api_calls=0)
    with psycopg.connect(pg_dsn, autocommit=True) as con:
        for sql in (
            "UPDATE sync_runs SET status = 'FAILED'",
            "DELETE FROM sync_runs",
            "TRUNCATE property_sync_audit_log",
        ):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                con.execute(sql)


def test_duckdb_state_lives_in_the_engine(state_ws: StateWorkspace) -> None:
    with state_ws.open() as ws:
        store = ws.state()
        run_id = store.runs.start("create")
        store.audit.append([_record(run_id, i) for i in range(4)])
        store.queue_sizes.record(3, 4)
        engine = ws.engine()
        if store.kind == "postgresql":
            assert not engine.table_exists("property_sync_audit_log")
            counts = store.mirror_to(engine)
            assert counts == {
                "property_sync_audit_log": 4,
                "sync_queue_measurements": 1,
                "sync_runs": 1,
            }
        else:
            assert store.mirror_to(engine) == {}
        assert engine.rows("SELECT run_id, status FROM sync_runs_latest") == [(run_id, "RUNNING")]
        # What the monitoring views run (the plan's widget 4), straight on the engine:
        rows = engine.rows(
            "SELECT sync_operation, count(*) FILTER (WHERE sync_status = 'SUCCESS')"
            " FROM property_sync_audit_log"
            " WHERE sync_timestamp >= now() - INTERVAL 7 DAYS GROUP BY sync_operation"
        )
        assert rows == [("UPDATE", 4)]
        assert engine.scalar(
            "SELECT json_extract_string(after_values, '$.Name')"
            " FROM property_sync_audit_log WHERE rds_property_id = '3'"
        ) == ("Résidence 東京 3")


@pytest.mark.slow
def test_audit_append_100k_is_one_bulk_statement(state_ws: StateWorkspace) -> None:
    # 100k rows go in as one bulk statement (an Arrow INSERT, a COPY), never a row at a
    # time: the statements the store sends are counted, not timed (speed is measured
    # side by side by the benchmarks, not asserted by a test on a shared host).
    with state_ws.open() as ws:
        store = ws.state()
        run_id = store.runs.start("update")
        records = [_record(run_id, i) for i in range(100_000)]
        before = len(state_ws.statements)
        started = time.perf_counter()
        assert store.audit.append(records) == 100_000
        elapsed = time.perf_counter() - started
        sent = state_ws.statements[before:]
        print(f"\n{store.kind}: 100,000 audit rows in {elapsed:.2f} s, {len(sent)} statement(s)")
        assert 1 <= len(sent) <= 3, sent
        summary = store.audit.summary(run_id)
        assert summary[0].records == 100_000


def test_migration_003_turns_integer_keys_into_text(
    state_ws: StateWorkspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = mig.available
    monkeypatch.setattr(mig, "available", lambda d: [m for m in shipped(d) if m.version < 3])
    with state_ws.open() as ws:
        store = ws.state()
        assert [m.version for m in store.migrations()] == [1, 2]
        run_id = store.runs.start("create")
        store.audit.append([_record(run_id, 17), _record(run_id, 9007199254740993)])
        store.pilots.save("p", [{"queue": "create", "rds_property_id": 5}])
    monkeypatch.setattr(mig, "available", shipped)
    with state_ws.open() as ws:
        store = ws.state()
        assert [m.version for m in store.migrations()][-1] >= 3
        assert sorted(e.rds_property_id for e in store.audit.entries(run_id)) == [
            "17",
            "9007199254740993",
        ]
        assert [m.rds_property_id for m in store.pilots.members("p")] == ["5"]
        # Text keys go in after the migration, and integers are stored as their digits.
        uuid_key = "9f0c2b7e-1d2a-4c1e-8f00-0123456789ab"
        store.audit.append(
            [AuditRecord(run_id, "CREATE", "SUCCESS", rds_property_id=uuid_key, attempt=1)]
        )
        assert uuid_key in {e.rds_property_id for e in store.audit.entries(run_id)}
