"""Fixtures for the sync tests: hand-built rows on a real DuckDB with the real state
tables (`scenario`, rows and views from `tests/scenario.py`); a generated scenario
loaded into a running emulator lives in `tests/sync/orgs.py`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from propsync.engines.duckdb import DuckDBEngine
from propsync.state import StateStore
from propsync.state.duckdb_store import DuckDBBackend
from tests.scenario import SyncScenario


@pytest.fixture
def scenario(tmp_path: Path) -> Iterator[SyncScenario]:
    engine = DuckDBEngine(":memory:", threads=2, memory_limit="1GB")
    try:
        yield SyncScenario(engine, store=StateStore(DuckDBBackend(engine, tmp_path / "locks")))
    finally:
        engine.close()
