"""Arrow schemas of what the generator writes, and the PostgreSQL DDL of the RDS tables."""

from __future__ import annotations

import pyarrow as pa

from propsync.fields import FIELDS

TS = pa.timestamp("us", tz="UTC")

COMPANIES = pa.schema(
    [
        ("id", pa.int64()),
        ("name", pa.string()),
        ("created_at", TS),
        ("updated_at", TS),
    ]
)

PROPERTIES = pa.schema(
    [
        ("id", pa.int64()),
        ("name", pa.string()),
        ("short_id", pa.string()),
        ("company_id", pa.int64()),
        ("address", pa.string()),
        ("city", pa.string()),
        ("state", pa.string()),
        ("zip", pa.string()),
        ("status", pa.string()),
        ("sfdc_id", pa.string()),
        ("created_at", TS),
        ("updated_at", TS),
        ("deleted_at", TS),
    ]
)

PROPERTY_FEATURES = pa.schema(
    [
        ("property_id", pa.int64()),
        ("feature", pa.string()),
        ("enabled", pa.bool_()),
        ("updated_at", TS),
    ]
)

_SF_TYPES = {
    "boolean": pa.bool_(),
    "double": pa.float64(),
    "datetime": TS,
}
# The org's records with Salesforce API names, in propsync.fields order.
SALESFORCE = pa.schema([(f.name, _SF_TYPES.get(f.type, pa.string())) for f in FIELDS])

RDS_TABLES = {
    "companies": COMPANIES,
    "properties": PROPERTIES,
    "property_features": PROPERTY_FEATURES,
}

# NOT NULL where the product database would enforce it; everything else nullable so
# the scenario can hold NULLs in every column a real RDS allows them in.
POSTGRES_DDL = {
    "companies": """
CREATE TABLE companies (
  id BIGINT PRIMARY KEY,
  name TEXT,
  created_at TIMESTAMPTZ NOT NULL,
  updated_at TIMESTAMPTZ
)""",
    "properties": """
CREATE TABLE properties (
  id BIGINT PRIMARY KEY,
  name TEXT,
  short_id TEXT,
  company_id BIGINT,
  address TEXT,
  city TEXT,
  state TEXT,
  zip TEXT,
  status TEXT NOT NULL,
  sfdc_id TEXT,
  created_at TIMESTAMPTZ NOT NULL,
  updated_at TIMESTAMPTZ,
  deleted_at TIMESTAMPTZ
)""",
    "property_features": """
CREATE TABLE property_features (
  property_id BIGINT NOT NULL,
  feature TEXT NOT NULL,
  enabled BOOLEAN,
  updated_at TIMESTAMPTZ,
  UNIQUE (property_id, feature)
)""",
}


def postgres_ddl(key_types: dict[tuple[str, str], str]) -> dict[str, str]:
    """POSTGRES_DDL with each key column ((table, column) -> SQL type) typed as given."""
    out = dict(POSTGRES_DDL)
    for (table, column), sql_type in key_types.items():
        lines = out[table].split("\n")
        for i, line in enumerate(lines):
            if line.strip().startswith(f"{column} BIGINT"):
                lines[i] = line.replace(f"{column} BIGINT", f"{column} {sql_type}", 1)
        out[table] = "\n".join(lines)
    return out
