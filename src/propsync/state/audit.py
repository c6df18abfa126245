"""The audit log, `property_sync_audit_log`: one row per record outcome of a run, with
before and after images. Written in bulk, read a page at a time."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from propsync.errors import StateError
from propsync.state.backend import Backend
from propsync.state.records import (
    AUDIT_COLUMNS,
    AUDIT_JSON,
    AuditRecord,
    audit_rows,
    from_json,
    from_row,
)

PAGE = 50_000
KEY_COLUMNS = ("snappt_property_id_c", "salesforce_id")


@dataclass(frozen=True)
class AuditEntry:
    """A stored audit row: an `AuditRecord` as written, with its `audit_id` (the
    append order). The fields are the table's columns, in its order."""

    audit_id: int
    sync_timestamp: datetime
    run_id: str
    sync_operation: str  # CREATE | UPDATE | ROLLBACK
    sync_status: str  # SUCCESS | FAILED
    rds_property_id: str | None
    snappt_property_id_c: str | None
    salesforce_id: str | None
    created: bool | None
    attempt: int
    error_code: str | None
    error_message: str | None
    fields_written: list[str] | None
    before_values: dict[str, Any] | None
    after_values: dict[str, Any] | None
    api: str | None
    job_id: str | None
    source_run_id: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class AuditImage:
    """What a rollback reads of a SUCCESS audit row: the record and its images."""

    audit_id: int
    sync_operation: str
    snappt_property_id_c: str | None
    salesforce_id: str | None
    created: bool | None
    before_values: dict[str, Any] | None
    after_values: dict[str, Any] | None


@dataclass(frozen=True)
class AuditSummary:
    """Records of one run per operation, status and error code."""

    sync_operation: str
    sync_status: str
    error_code: str | None
    records: int
    created: int
    max_attempt: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AuditWindow:
    """Record outcomes logged in `[since, until)`: all of them and the FAILED ones."""

    since: datetime
    until: datetime
    total: int
    failed: int

    @property
    def failed_pct(self) -> float | None:
        return round(100.0 * self.failed / self.total, 2) if self.total else None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "failed_pct": self.failed_pct}


class Audit:
    """Append and read `property_sync_audit_log`."""

    def __init__(self, backend: Backend) -> None:
        self._db = backend

    def append(self, records: Iterable[AuditRecord]) -> int:
        """Append audit records in bulk; return how many. Validates every record first
        (StateError names the record and the field), so a bad one writes nothing."""
        rows = list(audit_rows(records))
        if not rows:
            return 0
        return self._db.insert("property_sync_audit_log", AUDIT_COLUMNS, rows)

    def entries(
        self, run_id: str, *, status: str | None = None, operation: str | None = None
    ) -> Iterator[AuditEntry]:
        """A run's audit rows in order, streamed a page at a time."""
        last = -1
        while True:
            where = ["run_id = ?", "audit_id > ?"]
            params: list[Any] = [run_id, last]
            if status is not None:
                where.append("sync_status = ?")
                params.append(status)
            if operation is not None:
                where.append("sync_operation = ?")
                params.append(operation)
            page = self._db.dicts(
                "SELECT * FROM property_sync_audit_log WHERE "
                + " AND ".join(where)
                + f" ORDER BY audit_id LIMIT {PAGE}",
                params,
            )
            for row in page:
                yield from_row(AuditEntry, row, AUDIT_JSON)
            if len(page) < PAGE:
                return
            last = int(page[-1]["audit_id"])

    def images(self, run_id: str, *, page: int = PAGE) -> Iterator[list[AuditImage]]:
        """A run's SUCCESS rows in order, a page (list) at a time, with only the columns
        a rollback needs (lighter than `entries` for the 417k rows of a 1M run)."""
        last = -1
        while True:
            rows = self._db.dicts(
                "SELECT audit_id, sync_operation, snappt_property_id_c, salesforce_id,"
                " created, before_values, after_values FROM property_sync_audit_log"
                " WHERE run_id = ? AND audit_id > ? AND sync_status = 'SUCCESS'"
                f" ORDER BY audit_id LIMIT {int(page)}",
                [run_id, last],
            )
            if rows:
                yield [
                    AuditImage(
                        r["audit_id"],
                        r["sync_operation"],
                        r["snappt_property_id_c"],
                        r["salesforce_id"],
                        r["created"],
                        from_json(r["before_values"]),
                        from_json(r["after_values"]),
                    )
                    for r in rows
                ]
            if len(rows) < page:
                return
            last = int(rows[-1]["audit_id"])

    def last_updated_ids(self, limit: int = 500) -> list[str]:
        """Salesforce ids of records the latest completed (not dry) run updated, up to
        `limit`: whose user last modified them says who the integration user is."""
        rows = self._db.dicts(
            "SELECT salesforce_id FROM property_sync_audit_log"
            " WHERE run_id = (SELECT max(a.run_id) FROM property_sync_audit_log AS a"
            " JOIN sync_runs_latest AS r ON r.run_id = a.run_id"
            " WHERE a.sync_operation = 'UPDATE' AND a.sync_status = 'SUCCESS'"
            " AND a.salesforce_id IS NOT NULL AND NOT r.dry_run"
            " AND r.status IN ('SUCCEEDED', 'PARTIAL'))"
            " AND sync_operation = 'UPDATE' AND sync_status = 'SUCCESS'"
            " AND salesforce_id IS NOT NULL ORDER BY audit_id LIMIT ?",
            [int(limit)],
        )
        return [str(r["salesforce_id"]) for r in rows]

    def runs_with_writes(self, *, pilot: str | None = None) -> list[str]:
        """Ids of the runs (dry runs aside) with at least one SUCCESS audit row, newest
        first; with `pilot`, only the runs recorded with that pilot name."""
        where = " AND r.pilot = ?" if pilot is not None else ""
        rows = self._db.dicts(
            "SELECT DISTINCT a.run_id FROM property_sync_audit_log AS a"
            " JOIN sync_runs_latest AS r ON r.run_id = a.run_id"
            " WHERE a.sync_status = 'SUCCESS' AND NOT r.dry_run"
            + where
            + " ORDER BY a.run_id DESC",
            [pilot] if pilot is not None else [],
        )
        return [str(r["run_id"]) for r in rows]

    def window(self, since: datetime, until: datetime) -> AuditWindow:
        """How many record outcomes were logged in `[since, until)`, and how many FAILED
        (the plan's alert 2 over any window)."""
        rows = self._db.dicts(
            "SELECT count(*) AS total, count(*) FILTER (WHERE sync_status = 'FAILED') AS failed"
            " FROM property_sync_audit_log WHERE sync_timestamp >= ? AND sync_timestamp < ?",
            [since, until],
        )
        row = rows[0] if rows else {}
        return AuditWindow(since, until, int(row.get("total") or 0), int(row.get("failed") or 0))

    def summary(self, run_id: str) -> list[AuditSummary]:
        """Counts per operation, status and error code for one run."""
        rows = self._db.dicts(
            "SELECT sync_operation, sync_status, error_code, count(*) AS records,"
            " count(*) FILTER (WHERE created) AS created, max(attempt) AS max_attempt"
            " FROM property_sync_audit_log WHERE run_id = ?"
            " GROUP BY sync_operation, sync_status, error_code"
            " ORDER BY sync_operation, sync_status, records DESC",
            [run_id],
        )
        return [from_row(AuditSummary, r) for r in rows]

    def keys_for_job(self, run_id: str, job_id: str, column: str) -> set[str]:
        """Values of `column` (snappt_property_id_c or salesforce_id) of a run's audit
        rows that name a Bulk API job (a row's job_id may list several jobs,
        comma-separated)."""
        if column not in KEY_COLUMNS:
            raise StateError(f"audited keys: column {column!r}")
        rows = self._db.dicts(
            f"SELECT {column} AS k FROM property_sync_audit_log"
            " WHERE run_id = ? AND (job_id = ? OR job_id LIKE ?)",
            [run_id, job_id, f"%{job_id}%"],
        )
        return {str(r["k"]) for r in rows if r["k"] is not None}

    def keys_in_run(self, run_id: str, column: str) -> set[str]:
        """Values of `column` (snappt_property_id_c or salesforce_id) of every audit row
        of a run (whatever its API or job)."""
        if column not in KEY_COLUMNS:
            raise StateError(f"audited keys: column {column!r}")
        rows = self._db.dicts(
            f"SELECT DISTINCT {column} AS k FROM property_sync_audit_log WHERE run_id = ?",
            [run_id],
        )
        return {str(r["k"]) for r in rows if r["k"] is not None}

    def count_for_job(self, run_id: str, job_id: str) -> int:
        """Audit rows of a run that name a Bulk API job."""
        rows = self._db.dicts(
            "SELECT count(*) AS n FROM property_sync_audit_log"
            " WHERE run_id = ? AND (job_id = ? OR job_id LIKE ?)",
            [run_id, job_id, f"%{job_id}%"],
        )
        return int(rows[0]["n"]) if rows else 0
