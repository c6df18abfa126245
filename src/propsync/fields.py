"""The `product_property__c` contract shared by the generator, the emulator, the
client, the models and the sync.

Salesforce field names (API names) map to the warehouse-replica column names the
plan's SQL uses inside the engine (`IDV_Enabled__c` -> `idv_enabled_c`,
`IsDeleted` -> `is_deleted`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

OBJECT = "product_property__c"
EXTERNAL_ID = "snappt_property_id__c"
ENGINE_TABLE = "salesforce_product_property"


@dataclass(frozen=True)
class SFField:
    name: str
    type: str  # Salesforce describe type: id, string, boolean, double, datetime, reference
    length: int | None = None
    required: bool = False  # nillable = false and no default on create
    synced: bool = False  # written by propsync
    engine_type: str = "VARCHAR"

    @property
    def column(self) -> str:
        return engine_column(self.name)


# The order here is the order of columns in the engine table and in CSV uploads.
FIELDS: tuple[SFField, ...] = (
    SFField("Id", "id", 18),
    SFField("Name", "string", 80, required=True, synced=True),
    SFField(EXTERNAL_ID, "string", 255, required=True, synced=True),
    SFField("Short_ID__c", "string", 20, synced=True),
    SFField("Company_ID__c", "string", 20, synced=True),
    SFField("City__c", "string", 40, synced=True),
    SFField("State__c", "string", 20, synced=True),
    SFField("IDV_Enabled__c", "boolean", synced=True, engine_type="BOOLEAN"),
    SFField("Bank_Linking_Enabled__c", "boolean", synced=True, engine_type="BOOLEAN"),
    SFField("Payroll_Enabled__c", "boolean", synced=True, engine_type="BOOLEAN"),
    SFField("Income_Insights_Enabled__c", "boolean", synced=True, engine_type="BOOLEAN"),
    SFField("Active_Property_Count__c", "double", synced=True, engine_type="INTEGER"),
    SFField("Is_Multi_Property__c", "boolean", synced=True, engine_type="BOOLEAN"),
    SFField("RDS_Created_At__c", "datetime", synced=True, engine_type="TIMESTAMPTZ"),
    SFField("sf_property_id__c", "string", 18),
    SFField("IsDeleted", "boolean", engine_type="BOOLEAN"),
    SFField("CreatedDate", "datetime", engine_type="TIMESTAMPTZ"),
    SFField("LastModifiedDate", "datetime", engine_type="TIMESTAMPTZ"),
    SFField("LastModifiedById", "reference", 18),
)

BY_NAME = {f.name: f for f in FIELDS}
SYNCED = tuple(f for f in FIELDS if f.synced)
FEATURE_FIELDS = (
    "IDV_Enabled__c",
    "Bank_Linking_Enabled__c",
    "Payroll_Enabled__c",
    "Income_Insights_Enabled__c",
)

_SPECIAL = {
    "Id": "id",
    "Name": "name",
    "IsDeleted": "is_deleted",
    "CreatedDate": "created_date",
    "LastModifiedDate": "last_modified_date",
    "LastModifiedById": "last_modified_by_id",
    "CreatedById": "created_by_id",
    "SystemModstamp": "system_modstamp",
}


def engine_column(api_name: str) -> str:
    """`IDV_Enabled__c` -> `idv_enabled_c`; `LastModifiedDate` -> `last_modified_date`."""
    if api_name in _SPECIAL:
        return _SPECIAL[api_name]
    if api_name.endswith("__c"):
        return api_name[:-3].lower() + "_c"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", api_name).lower()


def engine_table_ddl(table: str = ENGINE_TABLE) -> str:
    cols = ",\n  ".join(f"{f.column} {f.engine_type}" for f in FIELDS)
    return f"CREATE OR REPLACE TABLE {table} (\n  {cols}\n)"
