"""How the two write queues map to Salesforce fields: what the sync reads to build writes.

`properties_to_create` (Sync A) holds, per row, the value of every synced field under
`QueueField.expected`. `properties_to_update` (Sync B) holds the expected value, the
current Salesforce value (`current`) and a `changed` flag per field; Sync B sends only
rows with `has_changes_since_last_sync` and, of those, only fields whose flag is TRUE.

The rows the sync sends are the queries `sql/queues/<view>.rows.sql` (`rows_sql`):
exp__/cur__/chg__<field> columns (`col`) per synced field, plus two places the sync
fills in: the describe's predicted error and a restriction.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

from propsync.fields import BY_NAME, EXTERNAL_ID, SYNCED
from propsync.models.runner import read_sql

Queue = Literal["create", "update"]
QUEUES: tuple[Queue, ...] = ("create", "update")

CREATE_VIEW = "properties_to_create"
UPDATE_VIEW = "properties_to_update"
# Column of properties_to_create holding the external id value (the RDS id as text).
EXTERNAL_ID_COLUMN = "snappt_property_id_c"
# Column of properties_to_update holding the Salesforce record Id to update.
RECORD_ID_COLUMN = "id"
HAS_CHANGES_COLUMN = "has_changes_since_last_sync"


@dataclass(frozen=True)
class QueueField:
    """One synced Salesforce field and its columns in the queues."""

    api_name: str  # Salesforce field, e.g. IDV_Enabled__c
    expected: str  # column with the R4 value, in both queues
    current: str  # column with the Salesforce value, in properties_to_update
    changed: str  # boolean column in properties_to_update: expected IS DISTINCT FROM current


# Expected-value columns use the plan's names; everything else derives from the field.
_EXPECTED = {
    "Name": "property_name",
    "Short_ID__c": "short_id",
    "Company_ID__c": "company_id",
    "City__c": "city",
    "State__c": "state",
    "IDV_Enabled__c": "idv_enabled",
    "Bank_Linking_Enabled__c": "bank_linking_enabled",
    "Payroll_Enabled__c": "payroll_enabled",
    "Income_Insights_Enabled__c": "income_insights_enabled",
    "Active_Property_Count__c": "active_property_count",
    "Is_Multi_Property__c": "is_multi_property",
    "RDS_Created_At__c": "rds_created_at",
}


def _changed(api_name: str) -> str:
    column = BY_NAME[api_name].column
    return (column[: -len("_c")] if column.endswith("_c") else column) + "_changed"


# Every synced field but the external id (it is the match key, never updated), in the
# order of propsync.fields.FIELDS.
UPDATE_FIELDS: tuple[QueueField, ...] = tuple(
    QueueField(f.name, _EXPECTED[f.name], f.column, _changed(f.name))
    for f in SYNCED
    if f.name != EXTERNAL_ID
)
# What Sync A writes: the external id plus every field above.
CREATE_COLUMNS: dict[str, str] = {
    EXTERNAL_ID: EXTERNAL_ID_COLUMN,
    **{f.api_name: f.expected for f in UPDATE_FIELDS},
}

# The size of properties_to_update without computing a single expected value: the view
# is every MATCHED record joined to property_expected_values, which has a row for every
# RDS property, and a MATCHED record always names one. Counting the view itself would
# aggregate every sfdc_id group and compare every field (about 4x the work at 10M).
UPDATE_QUEUE_SIZE_SQL = (
    "SELECT COUNT(*) FROM salesforce_matched_records WHERE match_status = 'MATCHED'"
)

# What the sync fills in the row queries; as written the files run as they are.
PREDICTED_ERROR_MARK = "/* predicted_error */ ''"
RESTRICTION_MARK = "/* restriction */ TRUE"


def col(api_name: str, kind: str) -> str:
    """Name of a derived column in the row queries: exp__Name, cur__Name, chg__Name."""
    return f"{kind}__{api_name}"


def expected_expr(api_name: str, alias: str = "q") -> str:
    """The expression of a field's expected value in the row queries (the queue's column
    cast to the type Salesforce takes)."""
    source = f"{alias}.{CREATE_COLUMNS[api_name]}"
    field = BY_NAME[api_name]
    if field.type == "string":
        return f"CAST({source} AS VARCHAR)"
    if field.engine_type == "INTEGER":
        return f"CAST({source} AS BIGINT)"
    return source


@functools.cache
def _rows_template(queue: Queue) -> str:
    view = CREATE_VIEW if queue == "create" else UPDATE_VIEW
    text = read_sql("sql/queues", f"{view}.rows")
    for mark in (PREDICTED_ERROR_MARK, RESTRICTION_MARK):
        if text.count(mark) != 1:
            raise ValueError(f"sql/queues/{view}.rows.sql: expected {mark!r} exactly once")
    return text


def rows_sql(queue: Queue, *, where: str = "TRUE", predicted_error: str = "''") -> str:
    """The query of a queue's rows to write (`sql/queues/<view>.rows.sql`), restricted by
    `where` (on the view's alias `q`), with `predicted_error` as the SQL expression of
    the error Salesforce is expected to return ('' when none)."""
    text = _rows_template(queue)
    return text.replace(PREDICTED_ERROR_MARK, predicted_error).replace(RESTRICTION_MARK, where)
