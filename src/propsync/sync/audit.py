"""One audit-log row per record outcome, with before and after images.

before: the fields written as Salesforce held them (from this run's extract; empty for
a create; a deleted record's fields). after: the values written (`{"IsDeleted": true}`
for a delete). Rollback replays `before`; a FAILED row's `after`
is what was attempted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from propsync.state import AuditRecord
from propsync.state.records import MAX_ERROR_MESSAGE, QUEUE_OPERATION, audit_rds_id
from propsync.sync.payload import WriteItem
from propsync.sync.writer import Outcome


def rows(
    run_id: str,
    outcomes: Iterable[tuple[WriteItem, Outcome]],
    *,
    operation: str | None = None,
    source_run_id: str | None = None,
) -> list[AuditRecord]:
    """AuditRecords for the state store, stamped now. The operation is CREATE or UPDATE
    from each record's queue unless given (ROLLBACK, with the run it undoes)."""
    now = dt.datetime.now(dt.UTC)
    out = []
    for item, outcome in outcomes:
        after = item.after_image()
        out.append(
            AuditRecord(
                sync_timestamp=now,
                run_id=run_id,
                sync_operation=operation or QUEUE_OPERATION[item.queue],
                sync_status="SUCCESS" if outcome.success else "FAILED",
                rds_property_id=audit_rds_id(item.rds_property_id),
                snappt_property_id_c=item.rds_property_id,
                salesforce_id=outcome.salesforce_id or item.salesforce_id,
                created=outcome.created,
                attempt=outcome.attempt,
                error_code=outcome.error_code,
                error_message=(outcome.error_message or "")[:MAX_ERROR_MESSAGE] or None,
                fields_written=item.fields_written,
                before_values=None if item.queue == "create" else item.before,
                after_values=after,
                api=outcome.api,
                job_id=outcome.job_id,
                source_run_id=source_run_id,
            )
        )
    return out
