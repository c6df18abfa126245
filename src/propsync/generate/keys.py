"""`--key-type`: the same scenario keyed on integers, UUIDs or text (rule R9).

The scenario is built on integer ids; a `KeyMap` rewrites every key on the way out, one
to one, so the rows, the org's starting state and the ground truth stay the same
scenario whatever the type:

- `int` (the default, the plan's scenario): nothing changes.
- `uuid`: a property id becomes a UUID (always holding a letter, so its upper-case form
  differs from it); company ids stay integers, because the object's `Company_ID__c`
  holds 20 characters and a UUID company id would be a predicted STRING_TOO_LONG on
  every record rather than the scenario.
- `text`: a property id becomes `P<n>`, a company id `c<n>`.

A Salesforce record's `snappt_property_id__c` names its property in the new form, and
the scenario's Salesforce-side duplicates stay duplicates under R8's reading for that
key type (see `salesforce_matched_records`): `' 22'` becomes `' ' + key(22)`; `'0022'`
(zero-padded, equivalent only for integer keys) becomes the key with a trailing space
(not its upper-case form: the external id is unique case-insensitively, so Salesforce
refuses a second record whose id differs from another's only in case). Orphans name a
key no property has; anything that is not digits is kept as it is.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import pyarrow as pa

KEY_TYPES = ("int", "uuid", "text")
_DIGITS = re.compile(r"^([ \t\r\n]*)([0-9]+)([ \t\r\n]*)$")
# An odd multiplier makes n -> n * M mod 2**124 a bijection: distinct ids, distinct UUIDs.
_MULTIPLIER = 0x9E3779B97F4A7C15F39CC0605CEDC835
_MASK = (1 << 124) - 1

# PostgreSQL and DuckDB column types of the key columns, per key type.
PG_KEY_TYPE = {"int": "BIGINT", "uuid": "UUID", "text": "TEXT"}
DUCKDB_KEY_TYPE = {"int": "BIGINT", "uuid": "UUID", "text": "VARCHAR"}


def uuid_key(n: int) -> str:
    """The UUID of property n: 'a' to 'f' first (never all digits), then 31 hex digits."""
    value = (0xA + n % 6) << 124 | (n * _MULTIPLIER) & _MASK
    return str(uuid.UUID(int=value))


class KeyMap:
    """Rewrites the keys of generated tables into one key type (see the module doc)."""

    def __init__(self, key_type: str = "int") -> None:
        if key_type not in KEY_TYPES:
            raise ValueError(f"key type {key_type!r}: expected one of {', '.join(KEY_TYPES)}")
        self.key_type = key_type

    @property
    def identity(self) -> bool:
        return self.key_type == "int"

    @property
    def company_is_text(self) -> bool:
        return self.key_type == "text"

    def property_key(self, n: int) -> str:
        if self.key_type == "uuid":
            return uuid_key(n)
        if self.key_type == "text":
            return f"P{n}"
        return str(n)

    def company_key(self, n: int) -> str:
        return f"c{n}" if self.company_is_text else str(n)

    def property_value(self, n: int | None) -> Any:
        """A property id as the RDS table holds it (an int for int keys)."""
        if n is None or self.identity:
            return n
        return self.property_key(n)

    def external_id(self, text: str | None) -> str | None:
        """A record's snappt_property_id__c in the new key form (see the module doc)."""
        if text is None or self.identity:
            return text
        match = _DIGITS.match(text)
        if match is None:
            return text
        lead, digits, trail = match.groups()
        key = self.property_key(int(digits))
        exact = digits == str(int(digits))
        if not exact:  # zero-padded: equivalent to the key only for integer keys
            key += " "
        return lead + key + trail

    def company_text(self, text: str | None) -> str | None:
        """A record's Company_ID__c: the company id in its new form."""
        if text is None or not self.company_is_text or not text.isdigit():
            return text
        return self.company_key(int(text))

    # -- tables ----------------------------------------------------------------------

    def rds_table(self, name: str, table: pa.Table) -> pa.Table:
        """An RDS table of the generator with its keys rewritten."""
        if self.identity:
            return table
        by_table: dict[str, dict[str, Callable[[Any], Any]]] = {
            "companies": {"id": self._company},
            "properties": {"id": self._property, "company_id": self._company},
            "property_features": {"property_id": self._property},
        }
        return self._rewrite(table, by_table[name])

    def salesforce_table(self, table: pa.Table) -> pa.Table:
        if self.identity:
            return table
        return self._rewrite(
            table,
            {"snappt_property_id__c": self.external_id, "Company_ID__c": self.company_text},
        )

    def _property(self, value: Any) -> Any:
        return None if value is None else self.property_key(int(value))

    def _company(self, value: Any) -> Any:
        if value is None or not self.company_is_text:
            return value
        return self.company_key(int(value))

    @staticmethod
    def _rewrite(table: pa.Table, columns: dict[str, Callable[[Any], Any]]) -> pa.Table:
        for column, fn in columns.items():
            index = table.schema.get_field_index(column)
            values = [fn(v) for v in table.column(column).to_pylist()]
            text = any(isinstance(v, str) for v in values)
            kind = pa.string() if text else table.schema.field(index).type
            table = table.set_column(index, column, pa.array(values, type=kind))
        return table

    def truth(self, counts: dict[str, Any]) -> dict[str, Any]:
        """The ground truth's RDS ids in the new form (the counts are the same)."""
        if self.identity:
            return counts
        out = dict(counts)
        out["unsyncable"] = [
            {**u, "rds_property_id": self.property_value(u["rds_property_id"])}
            for u in counts.get("unsyncable", [])
        ]
        if "park_kennedy" in counts:
            pk = dict(counts["park_kennedy"])
            pk["rds_property_ids"] = sorted(
                self.property_value(i) for i in pk.get("rds_property_ids", [])
            )
            out["park_kennedy"] = pk
        return out

    def column_types(self, dialect: str) -> dict[tuple[str, str], str]:
        """The SQL type of each key column ((table, column) -> type) in a dialect."""
        types = PG_KEY_TYPE if dialect == "postgresql" else DUCKDB_KEY_TYPE
        prop = types[self.key_type]
        company = types["text" if self.company_is_text else "int"]
        return {
            ("companies", "id"): company,
            ("properties", "id"): prop,
            ("properties", "company_id"): company,
            ("property_features", "property_id"): prop,
        }
