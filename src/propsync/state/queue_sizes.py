"""`sync_queue_measurements`: the two write queues' sizes over time (the plan's
`sync_queue_sizes_24h` view reads them)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from propsync.errors import StateError
from propsync.state.backend import Backend
from propsync.state.records import from_row, now

MEASUREMENT_COLUMNS = (
    "measurement_time",
    "properties_to_create",
    "properties_to_update",
    "records_with_changes",
    "run_id",
)


@dataclass(frozen=True)
class QueueMeasurement:
    """One measurement of the queues (a row of `sync_queue_measurements`)."""

    measurement_id: int
    measurement_time: datetime
    properties_to_create: int
    properties_to_update: int
    records_with_changes: int | None
    run_id: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class QueueSizes:
    """Record and read `sync_queue_measurements`."""

    def __init__(self, backend: Backend) -> None:
        self._db = backend

    def record(
        self,
        create: int,
        update: int,
        *,
        changes: int | None = None,
        run_id: str | None = None,
        at: datetime | None = None,
    ) -> None:
        """Log the two queues' sizes now (or at `at`, time-zone aware: backfills, tests)."""
        for what, value in (("create", create), ("update", update), ("changes", changes)):
            if value is not None and (not isinstance(value, int) or value < 0):
                raise StateError(f"queue size {what}: expected a non-negative integer")
        if at is not None and at.tzinfo is None:
            raise StateError("queue measurement: `at` must carry a time zone")
        self._db.insert(
            "sync_queue_measurements",
            MEASUREMENT_COLUMNS,
            [(at or now(), create, update, changes, run_id)],
        )

    def since(self, since: datetime | None = None) -> list[QueueMeasurement]:
        """Measurements since a time (default: the last 24 hours), oldest first."""
        since = since or now() - timedelta(hours=24)
        rows = self._db.dicts(
            "SELECT * FROM sync_queue_measurements WHERE measurement_time >= ?"
            " ORDER BY measurement_id",
            [since],
        )
        return [from_row(QueueMeasurement, r) for r in rows]
