"""`propsync runs show`: one run's state, its outcomes summarised, and its records."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from propsync.errors import UsageError

if TYPE_CHECKING:
    from propsync.workspace import Workspace

RECORDS_LISTED = 1_000


def run_report(ws: Workspace, run_id: str, *, limit: int = RECORDS_LISTED) -> dict[str, Any]:
    """{run, summary, error_codes, records}: the run's latest state, counts per
    operation / status / error code, records per error code, and up to `limit` audit
    rows (failures first)."""
    from propsync.state import open_state

    state = open_state(ws)
    run = state.run(run_id)
    if run is None:
        raise UsageError(f"no run {run_id!r} (see `propsync runs`)")
    summary = state.audit_summary(run_id)
    codes: dict[str, int] = {}
    for row in summary:
        if row["error_code"]:
            codes[row["error_code"]] = codes.get(row["error_code"], 0) + int(row["records"])
    records: list[dict[str, Any]] = []
    for status in ("FAILED", "SUCCESS"):
        for row in state.audit(run_id, status=status):
            if len(records) >= limit:
                break
            records.append(row)
    return {"run": run, "summary": summary, "error_codes": codes, "records": records}
