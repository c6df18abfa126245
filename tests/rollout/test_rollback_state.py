"""The audit reads a rollback makes (`Audit.images`, `Audit.runs_with_writes`), on both
state backends."""

from __future__ import annotations

from propsync.state import AuditRecord
from tests.state.conftest import StateWorkspace, state_ws  # noqa: F401


def _row(run_id: str, n: int, status: str = "SUCCESS", **kw: object) -> AuditRecord:
    return AuditRecord(
        run_id=run_id,
        sync_operation=str(kw.pop("operation", "UPDATE")),
        sync_status=status,
        rds_property_id=n,
        snappt_property_id_c=str(n),
        salesforce_id=f"a01{n:015d}",
        created=False,
        fields_written=["Name"],
        before_values={"Name": f"old {n}", "City__c": None},
        after_values={"Name": f"new {n}", "City__c": "X"},
        **kw,  # type: ignore[arg-type]
    )


def test_images_pages_success_rows_and_runs_with_writes_by_pilot(
    state_ws: StateWorkspace,  # noqa: F811
) -> None:
    with state_ws.open() as ws:
        state = ws.state()
        pilot_run = state.runs.start("update", pilot="p1")
        other = state.runs.start("all")
        dry = state.runs.start("all", dry_run=True)
        only_failed = state.runs.start("create", pilot="p1")
        state.audit.append(
            [_row(pilot_run, n) for n in range(1, 6)]
            + [_row(pilot_run, 9, "FAILED", error_code="X")]
            + [_row(other, 7), _row(dry, 8), _row(only_failed, 6, "FAILED", error_code="X")]
        )
        for run_id in (pilot_run, other, dry, only_failed):
            state.runs.finish(run_id, "SUCCEEDED", counts={}, api_calls=0)

        pages = list(state.audit.images(pilot_run, page=2))
        assert [len(p) for p in pages] == [2, 2, 1]  # SUCCESS rows only, in order
        rows = [r for p in pages for r in p]
        assert [r.snappt_property_id_c for r in rows] == ["1", "2", "3", "4", "5"]
        assert rows[0].before_values == {"Name": "old 1", "City__c": None}
        assert rows[0].after_values == {"Name": "new 1", "City__c": "X"}
        assert rows[0].salesforce_id == "a01000000000000001" and rows[0].created is False
        assert [r.audit_id for r in rows] == sorted(r.audit_id for r in rows)

        assert state.audit.runs_with_writes(pilot="p1") == [pilot_run]
        assert state.audit.runs_with_writes() == sorted([pilot_run, other], reverse=True)
        assert state.audit.runs_with_writes(pilot="nobody") == []
