"""Where the generated RDS tables go: a DuckDB file (Arrow appends) or PostgreSQL (COPY)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

from propsync.errors import SourceError, UsageError
from propsync.generate import schema
from propsync.generate.keys import KeyMap


class RDSWriter(Protocol):
    def append(self, table: str, data: pa.Table) -> None: ...

    def close(self) -> None: ...


def open_writer(target: str, keys: KeyMap | None = None) -> RDSWriter:
    """`duckdb:PATH` or a `postgresql://` DSN; the three RDS tables are (re)created empty,
    their key columns typed for `keys` (BIGINT, UUID or text)."""
    keys = keys or KeyMap()
    if target.startswith("duckdb:"):
        path = target.removeprefix("duckdb:")
        if not path:
            raise UsageError("--to duckdb:PATH needs a path")
        return DuckDBWriter(Path(path), keys)
    if target.startswith(("postgresql://", "postgres://")):
        return PostgresWriter(target, keys)
    raise UsageError(f"unknown target {target!r}: use duckdb:PATH or postgresql://...")


class DuckDBWriter:
    """Replaces companies / properties / property_features in a DuckDB file."""

    def __init__(self, path: Path, keys: KeyMap | None = None) -> None:
        import duckdb

        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(str(path))
        except duckdb.Error as exc:
            raise UsageError(f"cannot open DuckDB file {path}: {exc}") from None
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute("SET enable_progress_bar = false")
        # bounded memory: DuckDB would otherwise buffer up to most of the machine's RAM
        self.con.execute("SET memory_limit = '1GB'")
        self.con.execute("SET preserve_insertion_order = false")
        for name, table_schema in schema.RDS_TABLES.items():
            empty = table_schema.empty_table()
            self.con.register("_propsync_empty", empty)
            self.con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM _propsync_empty')
            self.con.unregister("_propsync_empty")
        for (table, column), sql_type in (keys or KeyMap()).column_types("duckdb").items():
            self.con.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE {sql_type}')

    def append(self, table: str, data: pa.Table) -> None:
        self.con.register("_propsync_chunk", data)
        try:
            self.con.execute(f'INSERT INTO "{table}" SELECT * FROM _propsync_chunk')
        finally:
            self.con.unregister("_propsync_chunk")

    def close(self) -> None:
        self.con.execute("CHECKPOINT")
        self.con.close()


class PostgresWriter:
    """Drops and recreates the RDS tables (typed, with keys) and loads them with COPY."""

    def __init__(self, dsn: str, keys: KeyMap | None = None) -> None:
        import psycopg

        try:
            self.con: Any = psycopg.connect(dsn)
        except psycopg.Error as exc:
            raise SourceError(f"cannot connect to PostgreSQL: {exc}") from None
        with self.con.cursor() as cur:
            for name in schema.RDS_TABLES:
                cur.execute(f"DROP TABLE IF EXISTS {name}")
            for ddl in schema.postgres_ddl((keys or KeyMap()).column_types("postgresql")).values():
                cur.execute(ddl)
        self.con.commit()

    def append(self, table: str, data: pa.Table) -> None:
        import psycopg
        import pyarrow.csv as pacsv

        # CSV from Arrow: NULL is an unquoted empty field, '' a quoted one, which is what
        # COPY ... CSV reads back; timestamps carry their 'Z'.
        buf = io.BytesIO()
        pacsv.write_csv(data, buf, pacsv.WriteOptions(include_header=False))
        columns = ", ".join(data.column_names)
        try:
            with (
                self.con.cursor() as cur,
                cur.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)") as copy,
            ):
                copy.write(buf.getbuffer())
        except psycopg.Error as exc:
            self.con.rollback()
            raise SourceError(f"COPY into {table} failed: {exc}") from None

    def close(self) -> None:
        self.con.commit()
        self.con.close()
