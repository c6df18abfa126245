"""The adapter surface callers use instead of writing engine SQL: the registry, the
capability flags, validated session settings, the scoped memory limit, and the
statements that are not views (temp tables, merge by key, transactions, counts)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from propsync.config import EngineConfig
from propsync.engines import ADAPTERS, Size, adapter, connect
from propsync.engines.duckdb import DuckDBEngine
from propsync.engines.settings import literal
from propsync.errors import ConfigError, EngineError


@pytest.fixture
def engine() -> Iterator[DuckDBEngine]:
    with DuckDBEngine(":memory:", threads=1, memory_limit="1GB") as eng:
        yield eng


def test_registry_opens_the_adapter_of_a_kind(tmp_path: Path) -> None:
    assert adapter("duckdb") is DuckDBEngine and set(ADAPTERS) == {"duckdb", "spark"}
    with connect(EngineConfig(path="e.duckdb", memory_limit="2GB"), tmp_path) as eng:
        assert isinstance(eng, DuckDBEngine) and (tmp_path / "e.duckdb").exists()
        assert str(eng.memory_limit) == "2GB"
    with pytest.raises(ConfigError, match="unknown engine kind 'oracle'"):
        adapter("oracle")


def test_duckdb_capability_flags() -> None:
    assert DuckDBEngine.materializes_tables and DuckDBEngine.holds_state
    assert DuckDBEngine.supports_memory_limit and DuckDBEngine.attaches_duckdb_files


def test_settings_values_are_validated_and_rendered() -> None:
    assert literal("memory_limit", "size", " 512 mb ") == "'512MB'"
    assert literal("memory_limit", "size", "3.7 GiB") == "'3.7GiB'"
    assert Size.parse("1KiB").bytes == 1024
    assert literal("threads", "int", 4) == "4" and literal("x", "bool", False) == "false"
    for kind, bad in (("size", "512MB'; DROP TABLE t; --"), ("int", "2; SET x"), ("int", True)):
        with pytest.raises(EngineError):
            literal("x", kind, bad)  # type: ignore[arg-type]
    with pytest.raises(EngineError):
        literal("x", "word", "uncompressed'")


def test_unknown_setting_is_refused(engine: DuckDBEngine) -> None:
    with pytest.raises(EngineError, match="unknown DuckDB setting"), engine.settings({"x": 1}):
        pass


def test_settings_are_put_back(engine: DuckDBEngine) -> None:
    with engine.settings({"threads": 2, "preserve_insertion_order": False}):
        assert engine.scalar("SELECT current_setting('threads')") == 2
        assert engine.scalar("SELECT current_setting('preserve_insertion_order')") is False
    assert engine.scalar("SELECT current_setting('threads')") == 1
    assert engine.scalar("SELECT current_setting('preserve_insertion_order')") is True


def test_memory_limit_is_only_ever_lowered_and_restored(engine: DuckDBEngine) -> None:
    def shown() -> str:
        return str(engine.scalar("SELECT current_setting('memory_limit')"))

    configured = shown()
    with engine.memory_limit_at_most("512MB"):
        assert str(engine.memory_limit) == "512MB"
        lowered = shown()
        with engine.memory_limit_at_most("2GB"):  # higher than in effect: unchanged
            assert str(engine.memory_limit) == "512MB" and shown() == lowered
        with engine.memory_limit_at_most("256MB"):
            assert str(engine.memory_limit) == "256MB"
        assert shown() == lowered
    assert str(engine.memory_limit) == "1GB" and shown() == configured


def test_merge_by_key_replaces_and_adds_in_one_transaction(engine: DuckDBEngine) -> None:
    engine.execute("CREATE TABLE t AS SELECT * FROM (VALUES (1, 'a'), (2, 'b')) v(id, name)")
    engine.execute("CREATE TABLE s AS SELECT * FROM (VALUES (2, 'B'), (3, 'c')) v(id, name)")
    engine.merge_by_key("t", "s", "id")
    assert engine.rows("SELECT * FROM t ORDER BY id") == [(1, "a"), (2, "B"), (3, "c")]
    engine.execute("CREATE TABLE bad AS SELECT 4 AS id")  # one column: the INSERT fails
    with pytest.raises(EngineError):
        engine.merge_by_key("t", "bad", "id")
    assert engine.scalar("SELECT count(*) FROM t") == 3  # rolled back, nothing deleted


def test_composite_key_merge_and_delete_absent(engine: DuckDBEngine) -> None:
    engine.execute("CREATE TABLE t AS SELECT * FROM (VALUES (1, 'x', 0), (1, 'y', 0)) v(a, b, n)")
    engine.execute("CREATE TABLE s AS SELECT * FROM (VALUES (1, 'y', 9)) v(a, b, n)")
    engine.merge_by_key("t", "s", ("a", "b"))
    assert engine.rows("SELECT * FROM t ORDER BY b") == [(1, "x", 0), (1, "y", 9)]
    assert engine.delete_absent("t", "s", ("a", "b")) == 1
    assert engine.rows("SELECT * FROM t") == [(1, "y", 9)]


def test_temp_table_counts_and_set_by_key(engine: DuckDBEngine) -> None:
    rows = engine.create_temp_table(
        "p",
        "SELECT CAST(i AS VARCHAR) AS key, i % 2 = 0 AS even, CAST(NULL AS VARCHAR) AS held "
        "FROM range(10) r(i)",
    )
    assert rows == 10
    assert engine.count_filtered("p", ["TRUE", "even"], where="key <> '0'") == [9, 4]
    assert engine.set_by_key("p", "key", "held", {"1": "why", "2": "not"}) == 2
    assert engine.rows("SELECT key, held FROM p WHERE held IS NOT NULL ORDER BY key") == [
        ("1", "why"),
        ("2", "not"),
    ]
    assert not engine.table_exists("_propsync_set_p")
