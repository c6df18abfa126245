"""Engine-side steps shared by every source: stage Arrow batches, then replace or upsert.

Everything here goes through `Engine.execute`/`load_arrow`, so the tracer sees it
and another engine adapter can run it unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from propsync.engines import Engine
from propsync.sources.stats import Progress
from propsync.sources.tables import TableSpec

if TYPE_CHECKING:
    import pyarrow as pa


def stage_name(table: str, what: str = "stage") -> str:
    return f"_extract_{what}_{table}"


class CountingReader:
    """Wraps a RecordBatchReader: counts rows and reports progress as batches flow."""

    def __init__(self, reader: pa.RecordBatchReader, table: str, progress: Progress | None):
        self.rows = 0
        self._table = table
        self._progress = progress
        import pyarrow as pa  # heavy driver: imported on first use

        self.reader = pa.RecordBatchReader.from_batches(reader.schema, self._batches(reader))

    def _batches(self, reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
        for batch in reader:
            self.rows += batch.num_rows
            if self._progress is not None:
                self._progress(self._table, self.rows)
            yield batch


def replace(engine: Engine, spec: TableSpec, relation: str) -> None:
    """The table becomes exactly the rows of `relation` (one the engine reads itself, such
    as an attached source's table), cast to the contract's types. An Arrow stream goes
    through `Engine.load_arrow(..., select=spec.engine_select)` instead: one write."""
    engine.create_table(f'"{spec.name}"', spec.engine_select(relation))


def upsert(engine: Engine, spec: TableSpec, stage: str) -> None:
    """Staged rows replace the rows with the same primary key; others are kept."""
    engine.merge_by_key(
        f'"{spec.name}"', f'"{stage}"', spec.primary_key, select=spec.engine_select(stage)
    )


def delete_missing(engine: Engine, spec: TableSpec, keys: str) -> int:
    """Delete rows whose primary key is no longer in the source (hard deletes)."""
    return engine.delete_absent(f'"{spec.name}"', f'"{keys}"', spec.primary_key)


def max_updated(engine: Engine, spec: TableSpec) -> datetime | None:
    value = engine.scalar(f'SELECT max("{spec.updated_column}") FROM "{spec.name}"')
    return value if isinstance(value, datetime) else None


def count(engine: Engine, table: str) -> int:
    return int(engine.scalar(f'SELECT count(*) FROM "{table}"'))


def drop(engine: Engine, *tables: str) -> None:
    for table in tables:
        engine.drop(f'"{table}"')
