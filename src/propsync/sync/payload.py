"""Rows of the queue SQL -> the records sent to Salesforce, with their before images.

A `WriteItem` is one record to write: the Salesforce payload (API names, JSON-ready
values), what the record held before (for the audit log and rollback), and the error
the describe predicts, if any. Items are built batch by batch from the engine's stream.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from propsync import fields as sf
from propsync.salesforce.client import CLEAR
from propsync.sync.mapping import CREATE_FIELDS, UPDATE_FIELDS, Queue, col

if TYPE_CHECKING:
    import pyarrow as pa

# What the writer does with an item: Sync A's upsert, Sync B's update, or a delete by Id
# (a rollback removing a record its run created).
WriteQueue = Literal["create", "update", "delete"]


@dataclass(slots=True)
class WriteItem:
    """One record to write. `key` is the external id (create) or the Salesforce Id
    (update, delete); `record` holds only the fields written (plus the key field; a
    delete's record is just its Id)."""

    queue: WriteQueue
    key: str
    rds_property_id: str | None
    salesforce_id: str | None
    record: dict[str, Any]
    before: dict[str, Any] = field(default_factory=dict)
    predicted_error: str = ""

    @property
    def fields_written(self) -> list[str]:
        return [k for k, v in self.record.items() if k != "Id" and v is not None]

    def after_image(self) -> dict[str, Any]:
        """The values written, JSON-ready (a cleared field is None); a deleted record's
        is `{"IsDeleted": True}`, the state Salesforce then shows for it."""
        if self.queue == "delete":
            return {"IsDeleted": True}
        return {k: (None if v is CLEAR else v) for k, v in self.record.items() if k != "Id"}


def to_salesforce(value: Any) -> Any:
    """A Python value from the engine -> the JSON value Salesforce expects."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        value = value.astimezone(dt.UTC)
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def items_from_batch(queue: Queue, batch: pa.RecordBatch) -> Iterator[WriteItem]:
    """Turn one Arrow batch of `create_sql` / `update_sql` rows into WriteItems."""
    for row in batch.to_pylist():
        yield item_from_row(queue, row)


def item_from_row(queue: Queue, row: dict[str, Any]) -> WriteItem:
    if queue == "create":
        # On a create an absent value is simply not sent: the new field stays empty.
        values = {name: to_salesforce(row[col(name, "exp")]) for name in CREATE_FIELDS}
        return WriteItem(
            queue="create",
            key=row["key"],
            rds_property_id=row["rds_property_id"],
            salesforce_id=None,
            record=values,
            before={},
            predicted_error=row.get("predicted_error") or "",
        )
    changed = [name for name in UPDATE_FIELDS if row[col(name, "chg")]]
    record: dict[str, Any] = {"Id": row["key"]}
    for name in changed:
        value = to_salesforce(row[col(name, "exp")])
        # The client reads None as "leave the field"; a value that must become empty
        # is sent as CLEAR (JSON null in a collection, #N/A in a Bulk CSV).
        record[name] = CLEAR if value is None else value
    before = {name: to_salesforce(row[col(name, "cur")]) for name in changed}
    return WriteItem(
        queue="update",
        key=row["key"],
        rds_property_id=row["rds_property_id"],
        salesforce_id=row["key"],
        record=record,
        before=before,
        predicted_error=row.get("predicted_error") or "",
    )


def chunked(items: Iterable[WriteItem], size: int) -> Iterator[list[WriteItem]]:
    """Fixed-size lists from a stream, the last one shorter."""
    chunk: list[WriteItem] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def key_field(queue: WriteQueue) -> str:
    return sf.EXTERNAL_ID if queue == "create" else "Id"
