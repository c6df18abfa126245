"""The dry run: what a sync would write, field by field, and what it will cost.

`queue_plan` materialises the rows of each queue (`propsync.sync.mapping.queue_sql`)
into a temporary table of the engine (`Engine.create_temp_table`); the counts and
samples read it, and the writer pages through the very same table (`QueuePlan.table`),
so the plan is what runs.
Only counts and samples are held in memory, never the rows themselves.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import asdict, dataclass
from dataclasses import field as dc_field
from typing import TYPE_CHECKING, Any, Literal

from propsync.errors import UsageError
from propsync.models.queues import UPDATE_QUEUE_SIZE_SQL
from propsync.sync.mapping import (
    CREATE_FIELDS,
    CREATE_VIEW,
    UPDATE_FIELDS,
    UPDATE_VIEW,
    FieldRule,
    Queue,
    col,
    queue_sql,
)
from propsync.sync.payload import item_from_row

if TYPE_CHECKING:
    from propsync.config import SyncConfig
    from propsync.engines import Engine

Which = Literal["create", "update", "all"]
Mode = Literal["none", "collections", "bulk"]

SAMPLES_PER_FIELD = 3
LISTED_RECORDS = 50
PLAN_TABLE_PREFIX = "_propsync_plan_"

# Calls one Bulk API 2.0 ingest job costs at least: create, upload, UploadComplete,
# one status poll, successfulResults, failedResults, unprocessedrecords.
BULK_CALLS_PER_JOB = 7


def queues_of(which: Which) -> tuple[Queue, ...]:
    if which == "all":
        return ("create", "update")
    if which in ("create", "update"):
        return (which,)
    raise UsageError(f"unknown sync {which!r}: use create, update or all")


@dataclass
class FieldChanges:
    """How many records of a queue get a value for one field, with a few examples."""

    field: str
    count: int
    samples: list[dict[str, Any]] = dc_field(default_factory=list)


@dataclass
class QueuePlan:
    """One queue's share of a plan.

    `records` is what the run sends; `records_to_write` of those are predicted to
    succeed, `predicted_failures` are predicted (from the describe) to be rejected:
    they are still sent, so Salesforce records its own error code for them."""

    queue: Queue
    view: str
    matched: int  # rows in the view (all of them for create; matched records for update)
    records: int
    records_to_write: int
    predicted_failures: int
    held_back: int  # rejected before with the same values: listed, not resent
    fields: list[FieldChanges]
    invalid: list[dict[str, Any]]
    mode: Mode
    api_calls: int
    change_share: float | None = None  # update: records / matched records, for the guardrail
    drift_count: int = 0
    drift: list[dict[str, Any]] = dc_field(default_factory=list)
    drift_note: str = ""
    table: str = dc_field(default="", repr=False)  # the engine's temp table of the rows
    rows_in_table: int = dc_field(default=0, repr=False)  # sent + held back

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc.pop("table")
        doc.pop("rows_in_table")
        return doc


@dataclass
class SyncPlan:
    """The plan of one run: per queue what it writes, and what it costs in API calls."""

    which: Which
    queues: dict[Queue, QueuePlan]
    restriction: str | None
    quota: dict[str, int | None]
    computed_at: str
    # What the sync leaves alone, from sync_exceptions (R8, R10): counts by type, and the
    # RDS rows that cannot be synced as they are, each with its reason.
    exceptions: dict[str, Any] = dc_field(default_factory=dict)

    @property
    def records_to_write(self) -> int:
        return sum(q.records_to_write for q in self.queues.values())

    @property
    def records(self) -> int:
        return sum(q.records for q in self.queues.values())

    @property
    def api_calls(self) -> int:
        return sum(q.api_calls for q in self.queues.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "which": self.which,
            "computed_at": self.computed_at,
            "restriction": self.restriction,
            "records_to_write": {
                **{q: p.records_to_write for q, p in self.queues.items()},
                "total": self.records_to_write,
            },
            "records_to_send": {
                **{q: p.records for q, p in self.queues.items()},
                "total": self.records,
            },
            "predicted_failures": {
                **{q: p.predicted_failures for q, p in self.queues.items()},
                "total": sum(p.predicted_failures for p in self.queues.values()),
            },
            "held_back": {
                **{q: p.held_back for q, p in self.queues.items()},
                "total": sum(p.held_back for p in self.queues.values()),
            },
            "api_calls": {
                **{q: p.api_calls for q, p in self.queues.items()},
                "total": self.api_calls,
            },
            "quota": self.quota,
            "queues": {q: p.to_json() for q, p in self.queues.items()},
            "exceptions": self.exceptions,
        }


EXCEPTIONS_VIEW = "source_exceptions"


def exceptions_summary(engine: Engine) -> dict[str, Any]:
    """The RDS rows that cannot be synced as they are (R10, the view source_exceptions,
    part of sync_exceptions): counts by type, and the first LISTED_RECORDS rows, each with
    its reason ({} without the view)."""
    if not engine.table_exists(EXCEPTIONS_VIEW):
        return {}
    counts = {
        str(t): int(n)
        for t, n in engine.rows(
            f"SELECT exception_type, COUNT(*) FROM {EXCEPTIONS_VIEW} GROUP BY 1 ORDER BY 1"
        )
    }
    listed = [
        {"exception_type": t, "rds_property_id": k, "reason": r}
        for t, k, r in engine.rows(
            f"SELECT exception_type, rds_property_id, reason FROM {EXCEPTIONS_VIEW}"
            f" ORDER BY exception_type, rds_property_id NULLS FIRST, reason"
            f" LIMIT {LISTED_RECORDS}"
        )
    ]
    return {"counts": counts, "source_rows": listed}


def estimate_calls(records: int, cfg: SyncConfig) -> tuple[Mode, int]:
    """The write path a record count takes, and the API calls it costs without retries."""
    if records == 0:
        return "none", 0
    if records >= cfg.bulk_threshold:
        jobs = math.ceil(records / cfg.bulk_batch_size)
        return "bulk", jobs * BULK_CALLS_PER_JOB
    return "collections", math.ceil(records / cfg.collection_size)


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def queue_plan(
    engine: Engine,
    queue: Queue,
    rules: dict[str, FieldRule],
    cfg: SyncConfig,
    *,
    where: str = "TRUE",
    integration_user_id: str | None = None,
    since: dt.datetime | None = None,
    retry_failed: bool = False,
) -> QueuePlan:
    """Count, sample and cost one queue. `where` restricts it (pilot / ids).

    A record whose last attempt Salesforce rejected for its data (STRING_TOO_LONG,
    REQUIRED_FIELD_MISSING, ...) with exactly the values it would get now is held back
    and listed, not resent every run; `retry_failed` sends it anyway.

    The rows to send are materialised once into a temporary table of the engine
    (`QueuePlan.table`): every count and sample reads it, and the writer pages through
    it, so the run writes exactly what was planned, in one scan of the views."""
    query = queue_sql(queue, rules, where)
    sql = f"{PLAN_TABLE_PREFIX}{queue}"
    rows_in_table = engine.create_temp_table(
        sql, f"SELECT *, CAST(NULL AS VARCHAR) AS held FROM ({query}) AS planned"
    )
    if not retry_failed and rows_in_table:
        hold_back_known_failures(engine, sql, queue)
    names = CREATE_FIELDS if queue == "create" else UPDATE_FIELDS
    view = CREATE_VIEW if queue == "create" else UPDATE_VIEW
    if queue == "create":
        per_field = [f"{col(n, 'exp')} IS NOT NULL" for n in names]
    else:
        per_field = [col(n, "chg") for n in names]
    records, predicted, *per_field_counts = engine.count_filtered(
        sql, ["TRUE", "predicted_error <> ''", *per_field], where="held IS NULL"
    )
    fields = [
        FieldChanges(n, c, _samples(engine, sql, queue, n) if c else [])
        for n, c in zip(names, per_field_counts, strict=True)
    ]
    invalid = [
        {
            "key": r[0],
            "rds_property_id": r[1],
            "reason": r[2] or r[3],
            "held_back": r[3] is not None,
        }
        for r in engine.rows(
            f"SELECT key, rds_property_id, predicted_error, held FROM {sql} AS plan_rows "
            f"WHERE predicted_error <> '' OR held IS NOT NULL ORDER BY key LIMIT {LISTED_RECORDS}"
        )
    ]
    # Unrestricted, the create table holds the whole view: no second scan to count it.
    if queue == "create":
        count_sql = f"SELECT count(*) FROM {view}"
        matched = rows_in_table if where == "TRUE" else int(engine.scalar(count_sql) or 0)
    else:
        matched = int(engine.scalar(UPDATE_QUEUE_SIZE_SQL) or 0)
    mode, calls = estimate_calls(records, cfg)
    plan = QueuePlan(
        queue=queue,
        view=view,
        matched=matched,
        records=records,
        records_to_write=records - predicted,
        predicted_failures=predicted,
        held_back=rows_in_table - records,
        fields=fields,
        invalid=invalid,
        mode=mode,
        api_calls=calls,
        table=sql,
        rows_in_table=rows_in_table,
    )
    if queue == "update":
        plan.change_share = records / matched if matched else 0.0
        _drift(engine, plan, integration_user_id, since)
    return plan


def _samples(engine: Engine, sql: str, queue: Queue, name: str) -> list[dict[str, Any]]:
    if queue == "create":
        query = (
            f"SELECT key, rds_property_id, NULL, {col(name, 'exp')} FROM {sql} AS plan_rows "
            f"WHERE {col(name, 'exp')} IS NOT NULL AND held IS NULL LIMIT {SAMPLES_PER_FIELD}"
        )
    else:
        query = (
            f"SELECT key, rds_property_id, {col(name, 'cur')}, {col(name, 'exp')} "
            f"FROM {sql} AS plan_rows WHERE {col(name, 'chg')} AND held IS NULL "
            f"LIMIT {SAMPLES_PER_FIELD}"
        )
    return [
        {"key": k, "rds_property_id": r, "before": _json_value(b), "after": _json_value(a)}
        for k, r, b, a in engine.rows(query)
    ]


def _drift(
    engine: Engine,
    plan: QueuePlan,
    integration_user_id: str | None,
    since: dt.datetime | None,
) -> None:
    """Records about to be written whose last change came from someone other than the
    integration user after the last successful Sync B. Their synced fields differ from
    what RDS expects, so the sync will overwrite that change. The Salesforce workflow's
    own writes (sf_property_id__c only) leave the synced fields equal to what we wrote,
    so such records are not in the queue and never count as drift."""
    if not integration_user_id:
        plan.drift_note = "integration user unknown: drift not assessed"
        return
    if since is None:
        plan.drift_note = "no earlier successful Sync B: drift not assessed"
        return
    cond = "held IS NULL AND last_modified_by_id IS DISTINCT FROM ? AND last_modified_date > ?"
    params: list[Any] = [integration_user_id, since]
    (plan.drift_count,) = engine.count_filtered(plan.table, ["TRUE"], where=cond, params=params)
    changed_cols = ", ".join(col(n, "chg") for n in UPDATE_FIELDS)
    rows = engine.dicts(
        f"SELECT key, rds_property_id, last_modified_by_id, last_modified_date, {changed_cols} "
        f"FROM {plan.table} AS d WHERE {cond} ORDER BY last_modified_date DESC "
        f"LIMIT {LISTED_RECORDS}",
        params,
    )
    plan.drift = [
        {
            "key": r["key"],
            "rds_property_id": r["rds_property_id"],
            "last_modified_by_id": r["last_modified_by_id"],
            "last_modified_date": _json_value(r["last_modified_date"]),
            "fields": [n for n in UPDATE_FIELDS if r[col(n, "chg")]],
        }
        for r in rows
    ]
    if plan.drift_count:
        plan.drift_note = (
            f"{plan.drift_count} record(s) changed in Salesforce by someone other than the "
            "integration user since the last successful Sync B; the sync will overwrite "
            "those fields with the RDS values"
        )


# Rejections that depend only on the values sent: resending the same values fails again.
DATA_ERRORS = (
    "REQUIRED_FIELD_MISSING",
    "STRING_TOO_LONG",
    "INVALID_TYPE_ON_FIELD_IN_RECORD",
    "NUMBER_OUTSIDE_VALID_RANGE",
    "FIELD_CUSTOM_VALIDATION_EXCEPTION",
    "INVALID_FIELD_FOR_INSERT_UPDATE",
)
AUDIT_TABLE = "property_sync_audit_log"


def hold_back_known_failures(engine: Engine, table: str, queue: Queue) -> int:
    """Mark (`held`) the planned rows whose latest outcome in the audit log is a data
    rejection of exactly the values they would send now; return how many."""
    if not engine.table_exists(AUDIT_TABLE):
        return 0
    codes = ", ".join(f"'{c}'" for c in DATA_ERRORS)
    candidates = engine.dicts(
        f"""
        WITH latest AS (
          SELECT snappt_property_id_c AS k, sync_status, error_code,
            CAST(after_values AS VARCHAR) AS after_text,
            row_number() OVER (
              PARTITION BY snappt_property_id_c ORDER BY sync_timestamp DESC, audit_id DESC
            ) AS rn
          FROM {AUDIT_TABLE}
          WHERE sync_operation = ?
            AND snappt_property_id_c IN (SELECT rds_property_id FROM {table})
        )
        SELECT t.*, l.error_code AS last_error_code, l.after_text AS last_after
        FROM {table} AS t JOIN latest AS l ON l.k = t.rds_property_id
        WHERE l.rn = 1 AND l.sync_status = 'FAILED' AND l.error_code IN ({codes})
        """,
        ["CREATE" if queue == "create" else "UPDATE"],
    )
    # The after image is rendered in Python (as the writer renders it), so the values are
    # compared here; the marking is one statement.
    held: dict[str, str] = {}
    for row in candidates:
        last = json.loads(row["last_after"]) if row["last_after"] else None
        if last is not None and item_from_row(queue, row).after_image() == last:
            held[row["key"]] = (
                f"{row['last_error_code']} last time with the same values; not resent"
            )
    return engine.set_by_key(table, "key", "held", held)
