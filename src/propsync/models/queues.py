"""How the two write queues map to Salesforce fields: what the sync reads to build writes.

`properties_to_create` (Sync A) holds, per row, the value of every synced field under
`QueueField.expected`. `properties_to_update` (Sync B) holds the expected value, the
current Salesforce value (`current`) and a `changed` flag per field; Sync B sends only
rows with `has_changes_since_last_sync` and, of those, only fields whose flag is TRUE.
"""

from __future__ import annotations

from dataclasses import dataclass

from propsync.salesforce.fields import BY_NAME, EXTERNAL_ID, SYNCED

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
# order of propsync.salesforce.fields.FIELDS.
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
