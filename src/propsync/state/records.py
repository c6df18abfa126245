"""The rows of the state tables as Python values: audit records, run ids, JSON images."""

from __future__ import annotations

import dataclasses
import json
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from propsync.errors import StateError

SYNCS = ("create", "update", "all", "rollback")
RUN_STATUSES = ("RUNNING", "SUCCEEDED", "PARTIAL", "FAILED", "ABORTED")
FINAL_STATUSES = RUN_STATUSES[1:]
OPERATIONS = ("CREATE", "UPDATE", "ROLLBACK")
AUDIT_STATUSES = ("SUCCESS", "FAILED")
COUNT_KEYS = ("planned", "attempted", "succeeded", "failed", "created", "updated")
# The audit operation of each sync queue's writes.
QUEUE_OPERATION = {"create": "CREATE", "update": "UPDATE"}
MAX_ERROR_MESSAGE = 1000  # characters of a Salesforce error message kept in the audit log


@dataclass(frozen=True)
class AuditRecord:
    """One record's outcome in one run: what was written, and what was there before.

    `before_values`/`after_values` map Salesforce field API names to values (the
    before-image is what a rollback restores). `sync_timestamp` defaults to now.
    """

    run_id: str
    sync_operation: str  # CREATE | UPDATE | ROLLBACK
    sync_status: str  # SUCCESS | FAILED
    rds_property_id: str | int | None = None  # stored as text (R9); an int is its digits
    snappt_property_id_c: str | None = None
    salesforce_id: str | None = None
    created: bool | None = None
    attempt: int = 1
    error_code: str | None = None
    error_message: str | None = None
    fields_written: Sequence[str] | None = None
    before_values: Mapping[str, Any] | None = None
    after_values: Mapping[str, Any] | None = None
    api: str | None = None  # "bulk2" | "collections" | "rest"
    job_id: str | None = None  # Bulk API job id, when there was one
    source_run_id: str | None = None  # for ROLLBACK: the run being undone
    sync_timestamp: datetime | None = None


AUDIT_COLUMNS = (
    "sync_timestamp",
    "run_id",
    "sync_operation",
    "sync_status",
    "rds_property_id",
    "snappt_property_id_c",
    "salesforce_id",
    "created",
    "attempt",
    "error_code",
    "error_message",
    "fields_written",
    "before_values",
    "after_values",
    "api",
    "job_id",
    "source_run_id",
)
AUDIT_JSON = ("fields_written", "before_values", "after_values")


def audit_rds_id(key: str | int | None) -> str | None:
    """The audit log's `rds_property_id` for a key: text in its canonical form (R9; an
    integer as its decimal digits, surrounding whitespace dropped), None when empty."""
    if key is None:
        return None
    text = str(key).strip()
    return text or None


def now() -> datetime:
    return datetime.now(UTC)


def new_run_id(at: datetime | None = None) -> str:
    """A run id that sorts by start time: `20261126T150113123Z-a1b2c3`."""
    at = (at or now()).astimezone(UTC)
    return f"{at:%Y%m%dT%H%M%S}{at.microsecond // 1000:03d}Z-{secrets.token_hex(3)}"


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# One encoder for every call: json.dumps with options builds a new one each time.
_ENCODER = json.JSONEncoder(default=_json_default, ensure_ascii=False, sort_keys=True)


def to_json(value: Any, *, where: str | Callable[[], str]) -> str | None:
    """Encode a value as JSON text; `where` (or a function giving it) names it on error."""
    if value is None:
        return None
    try:
        return _ENCODER.encode(value)
    except (TypeError, ValueError) as exc:
        place = where() if callable(where) else where
        raise StateError(f"{place}: cannot store as JSON: {exc}") from None


def from_json(value: Any) -> Any:
    # DuckDB hands JSON back as text, psycopg as Python objects.
    return json.loads(value) if isinstance(value, str) else value


def audit_rows(records: Iterable[AuditRecord]) -> Iterable[tuple[Any, ...]]:
    """Validate audit records and turn them into rows in AUDIT_COLUMNS order.

    Bad input raises StateError naming the record (its position and ids) and the field.
    """
    for index, rec in enumerate(records):
        if not isinstance(rec, AuditRecord):
            raise StateError(f"audit record #{index}: expected AuditRecord, got {type(rec)}")

        def where(rec: AuditRecord = rec, index: int = index) -> str:
            return (
                f"audit record #{index} (run {rec.run_id}, rds_property_id"
                f" {rec.rds_property_id}, salesforce_id {rec.salesforce_id})"
            )

        if not rec.run_id:
            raise StateError(f"{where()}: run_id is empty")
        if rec.sync_operation not in OPERATIONS:
            raise StateError(
                f"{where()}: sync_operation {rec.sync_operation!r} not in {OPERATIONS}"
            )
        if rec.sync_status not in AUDIT_STATUSES:
            raise StateError(f"{where()}: sync_status {rec.sync_status!r} not in {AUDIT_STATUSES}")
        if type(rec.attempt) is not int or rec.attempt < 1:
            raise StateError(f"{where()}: attempt must be a positive integer, got {rec.attempt!r}")
        rds_id = rec.rds_property_id
        if rds_id is not None and type(rds_id) not in (int, str):
            raise StateError(f"{where()}: rds_property_id must be text or an integer")
        fields = rec.fields_written
        if fields is not None and isinstance(fields, str):
            raise StateError(f"{where()}: fields_written must be a list of field names")
        ts = rec.sync_timestamp or now()
        if ts.tzinfo is None:
            raise StateError(f"{where()}: sync_timestamp must carry a time zone")
        before, after = rec.before_values, rec.after_values
        yield (
            ts,
            rec.run_id,
            rec.sync_operation,
            rec.sync_status,
            audit_rds_id(rds_id),
            rec.snappt_property_id_c,
            rec.salesforce_id,
            rec.created,
            rec.attempt,
            rec.error_code,
            rec.error_message,
            None if fields is None else to_json(list(fields), where=where),
            None
            if before is None
            else to_json(dict(before), where=lambda: f"{where()}: before_values"),
            None
            if after is None
            else to_json(dict(after), where=lambda: f"{where()}: after_values"),
            rec.api,
            rec.job_id,
            rec.source_run_id,
        )


Row = TypeVar("Row")


_FIELDS: dict[type, tuple[str, ...]] = {}


def from_row(cls: type[Row], row: Mapping[str, Any], json_columns: Sequence[str] = ()) -> Row:
    """A dataclass from a table row: its fields by column name (columns a later
    migration adds are ignored until the dataclass names them), JSON columns decoded."""
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]
    values = {name: row.get(name) for name in names}
    for column in json_columns:
        values[column] = from_json(values[column])
    return cls(**values)


def normalise_decision(decision: str) -> str:
    value = decision.strip().lower()
    if value in ("approve", "approved", "go"):
        return "APPROVED"
    if value in ("reject", "rejected", "no-go", "nogo"):
        return "REJECTED"
    raise StateError(f"sign-off decision {decision!r}: expected approve or reject")
