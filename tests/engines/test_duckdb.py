"""The DuckDB adapter's Arrow load: one write, atomic replace, temporary staging."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from propsync.engines.duckdb import DuckDBEngine
from propsync.errors import EngineError

SCHEMA = pa.schema([("id", pa.int64()), ("name", pa.string())])


def _batch(ids: range) -> pa.RecordBatch:
    return pa.record_batch([pa.array(list(ids)), pa.array([f"p{i}" for i in ids])], SCHEMA)


def _failing_stream() -> pa.RecordBatchReader:
    def batches() -> Iterator[pa.RecordBatch]:
        yield _batch(range(100, 110))
        raise OSError("connection to the source lost")

    return pa.RecordBatchReader.from_batches(SCHEMA, batches())


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[DuckDBEngine]:
    with DuckDBEngine(tmp_path / "engine.duckdb", threads=2) as eng:
        yield eng


def test_select_transforms_the_data_on_the_way_in(engine: DuckDBEngine) -> None:
    rows = engine.load_arrow(
        "t",
        pa.Table.from_batches([_batch(range(3))]),
        select=lambda source: (
            f"SELECT CAST(id AS INTEGER) AS id, upper(name) AS name FROM {source}"
        ),
    )
    assert rows == 3
    assert engine.rows("SELECT id, name FROM t ORDER BY id") == [(0, "P0"), (1, "P1"), (2, "P2")]
    assert (
        engine.scalar("SELECT data_type FROM information_schema.columns WHERE column_name = 'id'")
        == "INTEGER"
    )


def test_a_stream_failing_midway_leaves_the_old_table_whole(engine: DuckDBEngine) -> None:
    engine.load_arrow("t", pa.Table.from_batches([_batch(range(5))]))
    with pytest.raises((EngineError, OSError)):
        engine.load_arrow("t", _failing_stream(), ordered=False)
    assert engine.rows("SELECT id FROM t ORDER BY id") == [(i,) for i in range(5)]
    # The setting the unordered load switched off is back on.
    assert engine.scalar("SELECT current_setting('preserve_insertion_order')") is True


def test_unordered_load_keeps_every_row_and_restores_the_setting(engine: DuckDBEngine) -> None:
    stream = pa.RecordBatchReader.from_batches(
        SCHEMA, [_batch(range(i, i + 1000)) for i in range(0, 50_000, 1000)]
    )
    assert engine.load_arrow("t", stream, ordered=False) == 50_000
    assert engine.rows("SELECT count(DISTINCT id), min(id), max(id) FROM t") == [
        (50_000, 0, 49_999)
    ]
    assert engine.scalar("SELECT current_setting('preserve_insertion_order')") is True


def test_temporary_table_never_reaches_the_file(engine: DuckDBEngine, tmp_path: Path) -> None:
    engine.load_arrow("stage", pa.Table.from_batches([_batch(range(4))]), temporary=True)
    assert engine.scalar("SELECT temporary FROM duckdb_tables() WHERE table_name = 'stage'") is True
    assert engine.scalar("SELECT count(*) FROM stage") == 4
    engine.close()
    with DuckDBEngine(tmp_path / "engine.duckdb", threads=1) as again:
        assert not again.table_exists("stage")
