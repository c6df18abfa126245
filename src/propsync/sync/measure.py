"""Queue sizes into `sync_queue_measurements`: the data of the dashboard's 24-hour
trend (the plan's widget 1: "this would be logged to a table periodically"). Every sync
run logs them; `measure` logs them between runs (`propsync serve` every 5 minutes)."""

from __future__ import annotations

from dataclasses import dataclass

from propsync.engines import Engine
from propsync.models import queues as mq
from propsync.sync.refresh import refresh
from propsync.workspace import Workspace


@dataclass(frozen=True)
class QueueSizes:
    create: int  # properties_to_create
    update: int  # matched records (properties_to_update)
    changes: int  # of those, with has_changes_since_last_sync

    def to_json(self) -> dict[str, int]:
        return {"create": self.create, "update": self.update, "changes": self.changes}


def count_create(engine: Engine) -> int:
    """Rows of properties_to_create (the Sync A queue)."""
    return int(engine.scalar(f"SELECT count(*) FROM {mq.CREATE_VIEW}") or 0)


def count_update(engine: Engine) -> int:
    """Matched records (properties_to_update), without computing an expected value."""
    return int(engine.scalar(mq.UPDATE_QUEUE_SIZE_SQL) or 0)


def count_changes(engine: Engine) -> int:
    """Matched records with has_changes_since_last_sync (every field compared)."""
    sql = f"SELECT count(*) FROM {mq.UPDATE_VIEW} WHERE {mq.HAS_CHANGES_COLUMN}"
    return int(engine.scalar(sql) or 0)


def count_queues(engine: Engine) -> QueueSizes:
    """Both queues' sizes from the views as they are in the engine now."""
    return QueueSizes(count_create(engine), count_update(engine), count_changes(engine))


def measure(ws: Workspace, *, refresh_inputs: bool = True) -> QueueSizes:
    """Refresh the inputs (RDS, Salesforce incrementally, the models) unless told not
    to, count both queues and log the measurement."""
    if refresh_inputs:
        refresh(ws, ws.client())
    sizes = count_queues(ws.engine())
    ws.state().queue_sizes.record(sizes.create, sizes.update, changes=sizes.changes)
    return sizes
