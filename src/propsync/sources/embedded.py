"""The embedded demo source: a DuckDB file written by `propsync generate`.

With the DuckDB engine the file is ATTACHed read-only and copied with one SQL
statement per table, all inside DuckDB. Other engines get the rows as Arrow batches.
Always a full copy: it takes well under a second per million rows.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from propsync.engines import Engine
from propsync.errors import EngineError, SourceError
from propsync.sources import load
from propsync.sources.stats import ExtractStats, Progress, TableStats, write_watermark
from propsync.sources.tables import TableSpec, specs

ALIAS = "_propsync_rds"


def extract_duckdb(
    path: Path,
    engine: Engine,
    *,
    tables: list[str] | None = None,
    progress: Progress | None = None,
) -> ExtractStats:
    """Copy the RDS tables from a DuckDB file into the engine (full copy)."""
    started = time.perf_counter()
    if not path.exists():
        raise SourceError(f"source file {path} does not exist (run `propsync generate`)")
    source = f"duckdb:{path}"
    stats = ExtractStats(source=source)
    wanted = specs(tables)
    if engine.attaches_duckdb_files:
        _attach_copy(path, engine, wanted, stats, progress)
    else:
        _arrow_copy(path, engine, wanted, stats, progress)
    for spec in wanted:
        write_watermark(engine, stats.tables[spec.name], source, "embedded")
    stats.seconds = time.perf_counter() - started
    return stats


def _check(spec: TableSpec, columns: dict[str, set[str]], path: Path) -> None:
    have = columns.get(spec.name)
    if have is None:
        raise SourceError(f"source table {spec.name} does not exist in {path}")
    missing = [c for c in spec.column_names if c not in have]
    if missing:
        raise SourceError(f"source table {spec.name} in {path} has no column {', '.join(missing)}")


def _attach_copy(
    path: Path,
    engine: Engine,
    wanted: list[TableSpec],
    stats: ExtractStats,
    progress: Progress | None,
) -> None:
    quoted = str(path).replace("'", "''")
    try:
        engine.execute(f"DETACH DATABASE IF EXISTS {ALIAS}")
        engine.execute(f"ATTACH '{quoted}' AS {ALIAS} (READ_ONLY)")
    except EngineError as exc:
        raise SourceError(f"cannot open the source file {path}: {exc}") from None
    try:
        columns: dict[str, set[str]] = {}
        for table, column in engine.rows(
            "SELECT table_name, column_name FROM information_schema.columns"
            f" WHERE table_catalog = '{ALIAS}' AND table_schema = 'main'"
        ):
            columns.setdefault(table, set()).add(column)
        for spec in wanted:
            _check(spec, columns, path)
        for spec in wanted:
            t0 = time.perf_counter()
            load.replace(engine, spec, f'{ALIAS}.main."{spec.name}"')
            ts = TableStats(spec.name, "full", reason="embedded source")
            ts.rows_read = ts.rows_total = load.count(engine, spec.name)
            ts.watermark = load.max_updated(engine, spec)
            ts.seconds = time.perf_counter() - t0
            stats.tables[spec.name] = ts
            if progress is not None:
                progress(spec.name, ts.rows_read)
    finally:
        engine.execute(f"DETACH DATABASE IF EXISTS {ALIAS}")


def _arrow_copy(
    path: Path,
    engine: Engine,
    wanted: list[TableSpec],
    stats: ExtractStats,
    progress: Progress | None,
) -> None:
    import duckdb

    try:
        con: Any = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise SourceError(f"cannot open the source file {path}: {exc}") from None
    try:
        columns: dict[str, set[str]] = {}
        for table, column in con.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = 'main'"
        ).fetchall():
            columns.setdefault(table, set()).add(column)
        for spec in wanted:
            _check(spec, columns, path)
            t0 = time.perf_counter()
            con.execute("SET TimeZone = 'UTC'")
            reader = con.sql(spec.engine_select(f'"{spec.name}"')).to_arrow_reader(100_000)
            counted = load.CountingReader(reader, spec.name, progress)
            engine.load_arrow(spec.name, counted.reader, mode="replace")
            ts = TableStats(spec.name, "full", reason="embedded source")
            ts.rows_read = ts.rows_total = counted.rows
            ts.watermark = load.max_updated(engine, spec)
            ts.seconds = time.perf_counter() - t0
            stats.tables[spec.name] = ts
    finally:
        con.close()
