"""`propsync runs show`: one run's state, its outcomes summarised, and its records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from propsync.errors import UsageError
from propsync.state import AuditEntry, AuditSummary, RunRecord

if TYPE_CHECKING:
    from propsync.workspace import Workspace

RECORDS_LISTED = 1_000


@dataclass(frozen=True)
class RunReport:
    """One run: its latest state, counts per operation / status / error code, records
    per error code, and audit rows (failures first)."""

    run: RunRecord
    summary: list[AuditSummary]
    error_codes: dict[str, int]
    records: list[AuditEntry]

    def to_json(self) -> dict[str, Any]:
        return {
            "run": self.run.to_json(),
            "summary": [s.to_json() for s in self.summary],
            "error_codes": dict(self.error_codes),
            "records": [r.to_json() for r in self.records],
        }


def run_report(ws: Workspace, run_id: str, *, limit: int = RECORDS_LISTED) -> RunReport:
    """The run's report, with up to `limit` audit rows (failures first)."""
    state = ws.state()
    run = state.runs.get(run_id)
    if run is None:
        raise UsageError(f"no run {run_id!r} (see `propsync runs`)")
    summary = state.audit.summary(run_id)
    codes: dict[str, int] = {}
    for row in summary:
        if row.error_code:
            codes[row.error_code] = codes.get(row.error_code, 0) + int(row.records)
    records: list[AuditEntry] = []
    for status in ("FAILED", "SUCCESS"):
        for entry in state.audit.entries(run_id, status=status):
            if len(records) >= limit:
                break
            records.append(entry)
    return RunReport(run=run, summary=summary, error_codes=codes, records=records)
