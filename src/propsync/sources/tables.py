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
    key: bool = False  # an id (R9): text in its canonical form, whatever the source type

    def pg_expr(self, quoted: str) -> str:
        """The PostgreSQL expression reading this column in the engine's type.

        A key is cast to text (an integer gives its decimal digits, a uuid its lower-case
        hyphenated form) and trimmed; empty text becomes NULL (R10 reports it).
        """
        if self.key:
            return f"NULLIF(btrim({quoted}::text, E' \\t\\r\\n'), '')"
        return f"{quoted}::{self.pg_type}"

    def engine_expr(self, quoted: str) -> str:
        """The engine (DuckDB) expression casting a staged column to this column's type."""
        if self.key:
            return (
                f"NULLIF(TRIM(CAST({quoted} AS VARCHAR),"
                " CHR(32) || CHR(9) || CHR(13) || CHR(10)), '')"
            )
        return f"CAST({quoted} AS {self.engine_type})"


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
        cols = ", ".join(f'{c.engine_expr(_quoted(c.name))} AS "{c.name}"' for c in self.columns)
        return f"SELECT {cols} FROM {relation}"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _c(name: str, engine_type: str, pg_type: str) -> Column:
    return Column(name, engine_type, pg_type)


def _key(name: str) -> Column:
    return Column(name, "VARCHAR", "text", key=True)


_TS = ("TIMESTAMPTZ", "timestamptz")
_TEXT = ("VARCHAR", "text")

COMPANIES = TableSpec(
    "companies",
    (
        _key("id"),
        _c("name", *_TEXT),
        _c("created_at", *_TS),
        _c("updated_at", *_TS),
    ),
    ("id",),
)

PROPERTIES = TableSpec(
    "properties",
    (
        _key("id"),
        _c("name", *_TEXT),
        _c("short_id", *_TEXT),
        _key("company_id"),
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
        _key("property_id"),
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
