"""The RDS tables propsync reads: columns, engine types, primary keys.

This is the contract of docs/ARCHITECTURE.md ("Tables inside the engine"). Every
source is read through these specs, so the engine sees the same types whatever
the source's own column types are (an enum `status`, an integer `short_id`, a
TIMESTAMP without time zone: all are cast to the types here on the way in).
"""

from __future__ import annotations

from dataclasses import dataclass

from propsync.errors import UsageError


@dataclass(frozen=True)
class Column:
    name: str
    engine_type: str  # DuckDB type in the engine
    pg_type: str  # PostgreSQL type the source column is cast to before transfer


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    updated_column: str = "updated_at"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def engine_ddl(self, table: str | None = None) -> str:
        cols = ", ".join(f'"{c.name}" {c.engine_type}' for c in self.columns)
        return f'CREATE TABLE "{table or self.name}" ({cols})'

    def engine_select(self, relation: str) -> str:
        """SELECT from a staged relation, cast to the engine's types, in contract order."""
        cols = ", ".join(f'CAST("{c.name}" AS {c.engine_type}) AS "{c.name}"' for c in self.columns)
        return f"SELECT {cols} FROM {relation}"


def _c(name: str, engine_type: str, pg_type: str) -> Column:
    return Column(name, engine_type, pg_type)


_TS = ("TIMESTAMPTZ", "timestamptz")
_TEXT = ("VARCHAR", "text")
_BIGINT = ("BIGINT", "bigint")

COMPANIES = TableSpec(
    "companies",
    (
        _c("id", *_BIGINT),
        _c("name", *_TEXT),
        _c("created_at", *_TS),
        _c("updated_at", *_TS),
    ),
    ("id",),
)

PROPERTIES = TableSpec(
    "properties",
    (
        _c("id", *_BIGINT),
        _c("name", *_TEXT),
        _c("short_id", *_TEXT),
        _c("company_id", *_BIGINT),
        _c("address", *_TEXT),
        _c("city", *_TEXT),
        _c("state", *_TEXT),
        _c("zip", *_TEXT),
        _c("status", *_TEXT),
        _c("sfdc_id", *_TEXT),
        _c("created_at", *_TS),
        _c("updated_at", *_TS),
        _c("deleted_at", *_TS),
    ),
    ("id",),
)

PROPERTY_FEATURES = TableSpec(
    "property_features",
    (
        _c("property_id", *_BIGINT),
        _c("feature", *_TEXT),
        _c("enabled", "BOOLEAN", "boolean"),
        _c("updated_at", *_TS),
    ),
    ("property_id", "feature"),
)

TABLES: dict[str, TableSpec] = {t.name: t for t in (COMPANIES, PROPERTIES, PROPERTY_FEATURES)}


def specs(tables: list[str] | tuple[str, ...] | None) -> list[TableSpec]:
    """The specs for the named tables (all three when None); unknown names are an error."""
    if tables is None:
        return list(TABLES.values())
    unknown = [t for t in tables if t not in TABLES]
    if unknown:
        raise UsageError(f"unknown RDS table(s) {unknown}; known: {sorted(TABLES)}")
    return [TABLES[t] for t in tables]
