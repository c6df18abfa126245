"""Extraction from PostgreSQL (AWS RDS) into the engine: Arrow over ADBC, never row by row.

ADBC's PostgreSQL driver reads with binary COPY and hands out Arrow record batches;
each batch goes straight into the engine, so memory stays bounded by the batch size.
All three tables are read inside one REPEATABLE READ, READ ONLY transaction, so they
are a consistent snapshot. Every column is cast on the PostgreSQL side to the type of
the contract (sources/tables.py): an enum, an integer short_id or a TIMESTAMP without
time zone (taken as UTC) arrive as the engine expects them. A full extraction replaces
each table in one statement that writes the stream once, in any order (the old table
stays whole if the read fails); an incremental one stages the changed rows in a
temporary table that never reaches the engine file.

Incremental mode re-reads rows whose `updated_at` is at or after the watermark (the
largest `updated_at` seen, capped at the snapshot's clock so a future-dated row cannot
freeze it), plus rows with no `updated_at` at all, and replaces them by primary key.
`>=` rather than `>` because another row may commit later with the very same
timestamp. Hard deletes are found by comparing primary keys; soft deletes
(`deleted_at`) bump `updated_at` and arrive as ordinary changes.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from propsync.engines import Engine
from propsync.errors import SourceError
from propsync.sources import load
from propsync.sources.dsn import describe, scrub, with_timeouts
from propsync.sources.stats import (
    ExtractStats,
    Progress,
    TableStats,
    read_watermark,
    write_watermark,
)
from propsync.sources.tables import TableSpec, specs

BATCH_BYTES = 16 * 1024 * 1024  # ADBC batch size hint: bounded memory, few round trips


@contextmanager
def _connection(
    dsn: str, *, connect_timeout_s: int | None = None, statement_timeout_s: float | None = None
) -> Iterator[Any]:
    # heavy driver: imported on first use
    import adbc_driver_manager
    import adbc_driver_postgresql.dbapi as adbc

    uri = with_timeouts(
        dsn, connect_timeout_s=connect_timeout_s, statement_timeout_s=statement_timeout_s
    )
    try:
        con = adbc.connect(uri, autocommit=True)
    except adbc_driver_manager.Error as exc:
        message = _first_line(scrub(str(exc), uri))
        if "timeout expired" in message and uri != dsn and connect_timeout_s:
            message += f" (no answer within connect_timeout_s = {connect_timeout_s})"
        raise SourceError(f"cannot connect to the source {describe(dsn)}: {message}") from None
    try:
        yield con
    finally:
        con.close()


def _first_line(message: str) -> str:
    lines = [ln.strip() for ln in message.strip().splitlines() if ln.strip()]
    return " ".join(lines[:2]) if lines else message


class _Reader:
    """One cursor over one snapshot; converts driver errors into SourceError."""

    def __init__(self, con: Any, dsn: str) -> None:
        import adbc_driver_manager

        self._errors = adbc_driver_manager.Error
        self._dsn = dsn
        self.cur = con.cursor()
        self.cur.adbc_statement.set_options(
            **{"adbc.postgresql.batch_size_hint_bytes": str(BATCH_BYTES)}
        )

    def run(self, sql: str, params: Sequence[Any] | None = None, *, what: str) -> None:
        try:
            self.cur.execute(sql, parameters=params)
        except self._errors as exc:
            raise SourceError(f"{what}: {_first_line(scrub(str(exc), self._dsn))}") from None

    def fetchall(self, sql: str, params: Sequence[Any] | None = None, *, what: str) -> list[Any]:
        self.run(sql, params, what=what)
        return list(self.cur.fetchall())

    def stream(self, sql: str, params: Sequence[Any] | None = None, *, what: str) -> Any:
        self.run(sql, params, what=what)
        return self.cur.fetch_record_batch()

    def close(self) -> None:
        self.cur.close()


def _close_quietly(reader: _Reader) -> None:
    # The first error is the one worth reporting; closing the connection ends the
    # read-only transaction anyway.
    with contextlib.suppress(Exception):
        reader.close()


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _source_columns(reader: _Reader, schema: str, names: list[str]) -> dict[str, dict[str, str]]:
    in_list = ", ".join(f"'{n}'" for n in names)  # our own table names, not user input
    rows = reader.fetchall(
        "SELECT table_name, column_name, data_type, udt_name FROM information_schema.columns"
        f" WHERE table_schema = $1 AND table_name IN ({in_list})"
        " ORDER BY table_name, ordinal_position",
        [schema],
        what="reading the source schema",
    )
    found: dict[str, dict[str, str]] = {}
    for table, column, data_type, udt in rows:
        found.setdefault(table, {})[column] = f"{data_type}/{udt}"
    return found


def _check(spec: TableSpec, schema: str, found: dict[str, dict[str, str]]) -> str:
    """Validate one table's columns; return its schema fingerprint."""
    columns = found.get(spec.name)
    if columns is None:
        raise SourceError(f"source table {schema}.{spec.name} does not exist (or is not visible)")
    missing = [c for c in spec.column_names if c not in columns]
    if missing:
        raise SourceError(
            f"source table {schema}.{spec.name} has no column {', '.join(missing)}"
            f" (propsync needs {', '.join(spec.column_names)})"
        )
    shape = ";".join(f"{c}:{columns[c]}" for c in spec.column_names)
    return hashlib.sha256(shape.encode()).hexdigest()[:16]


def _select(spec: TableSpec, schema: str, columns: Sequence[str] | None = None) -> str:
    wanted = {c.name: c for c in spec.columns}
    names = list(columns) if columns is not None else spec.column_names
    cols = ", ".join(f"{wanted[n].pg_expr(_quote(n))} AS {_quote(n)}" for n in names)
    return f"SELECT {cols} FROM {_quote(schema)}.{_quote(spec.name)}"


def extract_tables(
    dsn: str,
    engine: Engine,
    *,
    schema: str = "public",
    tables: Sequence[str] | None = None,
    full: bool = True,
    detect_deletes: bool = True,
    overlap: timedelta = timedelta(0),
    progress: Progress | None = None,
    connect_timeout_s: int | None = 10,
    statement_timeout_s: float | None = None,
) -> ExtractStats:
    """Copy the RDS tables from PostgreSQL into the engine; return what was read.

    `full=False` reads only rows changed since the last extraction where that is
    safe (same source, same column types, a watermark in the engine); otherwise the
    table is read in full. `overlap` widens the incremental window backwards, for
    sources whose writers hold long transactions. `connect_timeout_s` and
    `statement_timeout_s` go into the DSN where it names none (see
    `dsn.with_timeouts`). Raises SourceError naming the table or column when the
    source does not match the contract, or host and port when it does not answer.
    """
    started = time.perf_counter()
    source = f"{describe(dsn)}?schema={schema}"
    stats = ExtractStats(source=source)
    wanted = specs(tuple(tables) if tables is not None else None)
    with _connection(
        dsn, connect_timeout_s=connect_timeout_s, statement_timeout_s=statement_timeout_s
    ) as con:
        reader = _Reader(con, dsn)
        reader.run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", what="starting the snapshot")
        try:
            reader.run("SET LOCAL TIME ZONE 'UTC'", what="setting the time zone")
            snapshot_now = reader.fetchall("SELECT now()", what="reading the clock")[0][0]
            found = _source_columns(reader, schema, [s.name for s in wanted])
            fingerprints = {s.name: _check(s, schema, found) for s in wanted}
            for spec in wanted:
                stats.tables[spec.name] = _extract_one(
                    reader,
                    engine,
                    spec,
                    schema=schema,
                    source=source,
                    fingerprint=fingerprints[spec.name],
                    naive_updated=found[spec.name][spec.updated_column].startswith(
                        "timestamp without"
                    ),
                    full=full,
                    detect_deletes=detect_deletes,
                    overlap=overlap,
                    snapshot_now=snapshot_now,
                    progress=progress,
                )
        except BaseException:
            _close_quietly(reader)
            raise
        reader.run("COMMIT", what="ending the snapshot")
        reader.close()
    stats.seconds = time.perf_counter() - started
    return stats


def _extract_one(
    reader: _Reader,
    engine: Engine,
    spec: TableSpec,
    *,
    schema: str,
    source: str,
    fingerprint: str,
    full: bool,
    detect_deletes: bool,
    overlap: timedelta,
    snapshot_now: datetime,
    progress: Progress | None,
    naive_updated: bool = False,
) -> TableStats:
    started = time.perf_counter()
    previous = read_watermark(engine, spec.name)
    mode, reason = "incremental", "changed rows since the watermark"
    if full:
        mode, reason = "full", "full extraction requested"
    elif previous is None:
        mode, reason = "full", "first extraction"
    elif previous.source != source:
        mode, reason = "full", "source changed"
    elif previous.fingerprint != fingerprint:
        mode, reason = "full", "source schema changed"
    elif previous.watermark is None:
        mode, reason = "full", "no watermark (table was empty)"
    stats = TableStats(spec.name, mode, reason=reason)
    stats.previous_watermark = previous.watermark if previous else None

    stage = load.stage_name(spec.name)
    keys = load.stage_name(spec.name, "keys")
    sql, params = _select(spec, schema), None
    upd = _quote(spec.updated_column)
    if mode == "incremental":
        assert stats.previous_watermark is not None
        # Compare in the column's own type, so an index on updated_at can serve it.
        bound = "($1::timestamptz AT TIME ZONE 'UTC')" if naive_updated else "$1::timestamptz"
        sql += f" WHERE {upd} >= {bound} OR {upd} IS NULL"
        params = [stats.previous_watermark - overlap]
    batches = reader.stream(sql, params, what=f"reading {schema}.{spec.name}")
    counted = load.CountingReader(batches, spec.name, progress)
    try:
        if mode == "full":
            # One statement replaces the table with the stream, cast on the way in: the
            # old table stays whole if the read fails, and the rows are written once.
            engine.load_arrow(spec.name, counted.reader, select=spec.engine_select, ordered=False)
        else:
            # The changed rows are staged in memory (a temporary table never reaches the
            # engine file), then replace their keys in one transaction.
            engine.load_arrow(stage, counted.reader, temporary=True, ordered=False)
            load.upsert(engine, spec, stage)
            if detect_deletes:
                key_sql = _select(spec, schema, spec.primary_key)
                key_batches = reader.stream(key_sql, what=f"reading {schema}.{spec.name} keys")
                engine.load_arrow(keys, key_batches, temporary=True, ordered=False)
                stats.rows_deleted = load.delete_missing(engine, spec, keys)
        stats.rows_read = counted.rows
    finally:
        load.drop(engine, stage, keys)
    seen = load.max_updated(engine, spec)
    stats.watermark = min(seen, snapshot_now) if seen is not None else None
    stats.rows_total = load.count(engine, spec.name)
    write_watermark(engine, stats, source, fingerprint)
    stats.seconds = time.perf_counter() - started
    return stats
