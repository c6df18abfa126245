"""The Spark adapter's statements on a local session: what the DuckDB adapter tests
check, plus persistence of tables and views across engines and the rollback that stands
in for Spark's missing transactions."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pytest

from propsync.config import EngineConfig
from propsync.engines import adapter, connect
from propsync.engines.spark import SparkEngine
from propsync.engines.spark_sql import number_placeholders, transpile
from propsync.errors import EngineError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = pytest.mark.slow


def _engine(spark: SparkSession, warehouse: Path) -> SparkEngine:
    return SparkEngine(spark, warehouse=warehouse, database=f"t_{uuid.uuid4().hex[:8]}")


@pytest.fixture
def engine(spark: SparkSession, tmp_path: Path) -> Iterator[SparkEngine]:
    with _engine(spark, tmp_path / "wh") as eng:
        yield eng


def test_registry_flags_and_config(spark: SparkSession, tmp_path: Path) -> None:
    assert adapter("spark") is SparkEngine
    assert SparkEngine.materializes_tables and not SparkEngine.holds_state
    assert not SparkEngine.supports_memory_limit and not SparkEngine.attaches_duckdb_files
    config = EngineConfig(kind="spark", database="cfg_" + uuid.uuid4().hex[:6])
    with connect(config, tmp_path) as eng:  # reuses the test run's session, never stops it
        assert isinstance(eng, SparkEngine) and eng.scalar("SELECT 1") == 1
    assert spark.sql("SELECT 2").collect()[0][0] == 2
    with pytest.raises(ValueError, match="remote"):
        EngineConfig(remote="sc://127.0.0.1:15002")


def test_transpile_fixes_and_parameters() -> None:
    # RE2's `$` is the end of the text; Java's also matches before a final newline.
    assert transpile("SELECT regexp_matches(x, '^[0-9]{3}$')") == (
        "SELECT x RLIKE '^[0-9]{3}\\\\z'"
    )
    assert "STRING" in transpile("CREATE TABLE t (a JSON)")
    sql, args = number_placeholders("SELECT '?', TRIM(a, ?) FROM t WHERE b = ?", ["x", 2])
    assert sql == "SELECT '?', TRIM(a, :p1) FROM t WHERE b = :p2" and args == {"p1": "x", "p2": 2}


def test_parameters_keep_their_order(engine: SparkEngine) -> None:
    t = datetime(2024, 1, 1, 12, tzinfo=UTC)
    got = engine.rows(
        "SELECT TRIM(?, ?) AS a, ? AS b, CAST(? AS TIMESTAMPTZ) AS c", [" x ", " ", 3, t]
    )
    assert got[0][:2] == ("x", 3)
    assert engine.arrow("SELECT CAST(? AS TIMESTAMPTZ) AS c", [t]).to_pylist() == [{"c": t}]


def test_tables_views_and_reopening(spark: SparkSession, tmp_path: Path) -> None:
    wh, db = tmp_path / "wh", f"t_{uuid.uuid4().hex[:8]}"
    with SparkEngine(spark, warehouse=wh, database=db) as eng:
        eng.execute("CREATE OR REPLACE TABLE t (id BIGINT, name VARCHAR, at TIMESTAMPTZ, j JSON)")
        assert eng.relation_type("t") == "TABLE" and eng.scalar("SELECT count(*) FROM t") == 0
        eng.execute("INSERT INTO t VALUES (1, 'a', NULL, NULL), (2, 'é', NULL, '{}')")
        eng.execute("INSERT INTO t BY NAME SELECT 3 AS id")
        eng.execute("CREATE OR REPLACE VIEW v AS SELECT id FROM t WHERE id > ?".replace("?", "1"))
        assert eng.relation_type("v") == "VIEW"
        eng.execute("DELETE FROM t WHERE name = ?", ["a"])  # NULL name (id 3) stays
        assert eng.rows("SELECT id FROM t ORDER BY id") == [(2,), (3,)]
        eng.execute("UPDATE t SET name = 'z' WHERE id = 3")
        assert eng.rows("SELECT id, name FROM t ORDER BY id") == [(2, "é"), (3, "z")]
    with SparkEngine(spark.newSession(), warehouse=wh, database=db) as again:
        assert again.rows("SELECT * FROM v ORDER BY id") == [(2,), (3,)]
        again.drop("v", "VIEW")
        again.drop('"t"')
        assert not again.table_exists("t") and not (wh / "t").exists()


def test_merge_by_key_is_atomic(engine: SparkEngine) -> None:
    engine.execute("CREATE TABLE t AS SELECT * FROM (VALUES (1, 'a'), (2, 'b')) v(id, name)")
    engine.execute("CREATE TABLE s AS SELECT * FROM (VALUES (2, 'B'), (3, 'c')) v(id, name)")
    engine.merge_by_key("t", "s", "id")
    assert engine.rows("SELECT * FROM t ORDER BY id") == [(1, "a"), (2, "B"), (3, "c")]
    engine.execute("CREATE TABLE bad AS SELECT 4 AS id")  # one column: the insert fails
    with pytest.raises(EngineError):
        engine.merge_by_key("t", "bad", "id")
    assert engine.scalar("SELECT count(*) FROM t") == 3


def test_transaction_rolls_back_rewrites(engine: SparkEngine) -> None:
    engine.execute("CREATE TABLE t AS SELECT 1 AS id")
    engine.create_temp_table("tmp", "SELECT 1 AS id")
    with pytest.raises(RuntimeError), engine.transaction():
        engine.execute("INSERT INTO t VALUES (2)")
        engine.execute("CREATE TABLE u AS SELECT 1 AS id")
        engine.load_arrow("tmp", pa.table({"id": [5]}), mode="append")
        raise RuntimeError("boom")
    assert engine.rows("SELECT id FROM t") == [(1,)] and not engine.table_exists("u")
    assert engine.rows("SELECT id FROM tmp") == [(1,)]
    with engine.transaction():
        engine.execute("INSERT INTO t VALUES (2)")
    assert engine.scalar("SELECT count(*) FROM t") == 2


def test_composite_key_merge_and_delete_absent(engine: SparkEngine) -> None:
    engine.execute("CREATE TABLE t AS SELECT * FROM (VALUES (1, 'x', 0), (1, 'y', 0)) v(a, b, n)")
    engine.execute("CREATE TABLE s AS SELECT * FROM (VALUES (1, 'y', 9)) v(a, b, n)")
    engine.merge_by_key("t", "s", ("a", "b"))
    assert engine.rows("SELECT * FROM t ORDER BY b") == [(1, "x", 0), (1, "y", 9)]
    assert engine.delete_absent("t", "s", ("a", "b")) == 1
    assert engine.rows("SELECT * FROM t") == [(1, "y", 9)]


def test_temp_table_counts_set_by_key_and_batches(engine: SparkEngine) -> None:
    rows = engine.create_temp_table(
        "p",
        "SELECT CAST(i AS VARCHAR) AS key, i % 2 = 0 AS even, CAST(NULL AS VARCHAR) AS held "
        "FROM (SELECT explode(sequence(0, 9)) AS i)",
    )
    assert rows == 10 and engine.relation_type("p") == "TABLE"
    assert engine.count_filtered("p", ["TRUE", "even"], where="key <> ?", params=["0"]) == [9, 4]
    assert engine.set_by_key("p", "key", "held", {"1": "why", "2": "not"}) == 2
    assert engine.rows("SELECT key, held FROM p WHERE held IS NOT NULL ORDER BY key") == [
        ("1", "why"),
        ("2", "not"),
    ]
    got = list(engine.batches("SELECT key FROM p ORDER BY key", batch_size=4))
    assert [b.num_rows for b in got] == [4, 4, 2]
    assert pa.Table.from_batches(got).column("key").to_pylist()[:2] == ["0", "1"]


def test_load_arrow_streams_with_select(engine: SparkEngine) -> None:
    schema = pa.schema([("id", pa.int64()), ("at", pa.timestamp("ns", tz="UTC"))])
    t = datetime(2024, 1, 1, tzinfo=UTC)
    reader = pa.RecordBatchReader.from_batches(
        schema, [pa.record_batch([[1, 2], [t, None]], schema=schema)] * 3
    )
    n = engine.load_arrow("x", reader, select=lambda r: f"SELECT id * 10 AS id, at FROM {r}")
    assert n == 6 and engine.scalar("SELECT max(id) FROM x") == 20
    assert engine.load_arrow("x", pa.table({"id": [7]}), mode="append") == 7
    assert engine.load_arrow("tmp", pa.table({"a": ["é"]}), temporary=True) == 1


def test_settings_are_validated_and_put_back(engine: SparkEngine) -> None:
    with engine.settings({"shuffle_partitions": 3}):
        assert engine.spark.conf.get("spark.sql.shuffle.partitions") == "3"
    assert engine.spark.conf.get("spark.sql.shuffle.partitions") == "2"
    with pytest.raises(EngineError, match="unknown Spark setting"), engine.settings({"x": 1}):
        pass
    with engine.memory_limit_at_most("1GB"):  # no memory limit of its own: unchanged
        assert engine.memory_limit is None
