"""`sync_bulk_jobs`: the sync's Bulk API ingest jobs, journalled SUBMITTED before their
data is uploaded, then closed once: RECORDED (the run audited the job's records) or
RECONCILED (a later run did, from the job's results)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from propsync.errors import StateError
from propsync.state.backend import Backend
from propsync.state.records import from_row, now, to_json

BULK_JOB_COLUMNS = (
    "event_time",
    "event",
    "run_id",
    "queue",
    "job_id",
    "operation",
    "records",
    "attempt",
    "submitted_at",
    "images_file",
    "reconciled_by",
    "detail",
)
CLOSING_EVENTS = ("RECORDED", "RECONCILED")


@dataclass(frozen=True)
class BulkJob:
    """One journalled event of a Bulk API job (a row of `sync_bulk_jobs`). `event_id`
    is None on the SUBMITTED event `BulkJobs.record` returns (not read back)."""

    event_id: int | None
    event_time: datetime
    event: str  # SUBMITTED | RECORDED | RECONCILED
    run_id: str
    queue: str  # create | update
    job_id: str
    operation: str  # the Bulk API operation: upsert | update
    records: int
    attempt: int
    submitted_at: datetime
    images_file: str | None
    reconciled_by: str | None
    detail: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class BulkJobs:
    """Journal and read `sync_bulk_jobs`."""

    def __init__(self, backend: Backend) -> None:
        self._db = backend

    def record(
        self,
        run_id: str,
        *,
        queue: str,
        job_id: str,
        operation: str,
        records: int,
        attempt: int = 1,
        images_file: str | None = None,
    ) -> BulkJob:
        """Journal a Bulk API ingest job before its data is uploaded ('SUBMITTED');
        return the event (pass it to `close` later)."""
        if queue not in ("create", "update"):
            raise StateError(f"bulk job {job_id}: queue {queue!r} must be create or update")
        at = now()
        job = BulkJob(None, at, "SUBMITTED", run_id, queue, job_id, operation, records, attempt,
                      at, images_file, None, None)  # fmt: skip
        self._append(job, None)
        return job

    def close(
        self,
        job: BulkJob,
        event: str,
        *,
        by_run: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Append a job's closing event: 'RECORDED' (its run audited its records) or
        'RECONCILED' (run `by_run` did, from the job's results). `job` is its
        SUBMITTED event (from `record` or `open`)."""
        if event not in CLOSING_EVENTS:
            raise StateError(f"bulk job {job.job_id}: event {event!r}")
        note = to_json(dict(detail) if detail else None, where=f"bulk job {job.job_id}")
        closing = BulkJob(None, now(), event, job.run_id, job.queue, job.job_id, job.operation,
                          int(job.records), int(job.attempt), job.submitted_at, job.images_file,
                          by_run, None)  # fmt: skip
        self._append(closing, note)

    def _append(self, job: BulkJob, detail_json: str | None) -> None:
        row = (*(getattr(job, c) for c in BULK_JOB_COLUMNS[:-1]), detail_json)
        self._db.insert("sync_bulk_jobs", BULK_JOB_COLUMNS, [row])

    def _read(self, sql: str, params: Sequence[Any]) -> list[BulkJob]:
        return [from_row(BulkJob, r, ("detail",)) for r in self._db.dicts(sql, params)]

    def open(self, queues: Sequence[str] = ("create", "update")) -> list[BulkJob]:
        """Jobs journalled SUBMITTED with no closing event whose run is over (a killed
        run, once ABORTED, or one that stopped on an error): their outcome is known to
        Salesforce only. Oldest first."""
        if not queues:
            return []
        marks = ", ".join("?" for _ in queues)
        return self._read(
            "SELECT j.* FROM sync_bulk_jobs AS j JOIN sync_runs_latest AS r"
            " ON r.run_id = j.run_id"
            f" WHERE j.event = 'SUBMITTED' AND r.status <> 'RUNNING' AND j.queue IN ({marks})"
            " AND NOT EXISTS (SELECT 1 FROM sync_bulk_jobs AS c"
            " WHERE c.job_id = j.job_id AND c.event <> 'SUBMITTED')"
            " ORDER BY j.event_id",
            list(queues),
        )

    def events(self, run_id: str) -> list[BulkJob]:
        """Every journalled event of one run's Bulk API jobs, oldest first."""
        return self._read(
            "SELECT * FROM sync_bulk_jobs WHERE run_id = ? ORDER BY event_id", [run_id]
        )
