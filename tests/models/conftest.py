"""Hand-built RDS and Salesforce rows in a real in-memory DuckDB, for the model tests
(the rows and views: `tests/scenario.py`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from propsync.engines.duckdb import DuckDBEngine
from tests.scenario import Scenario


@pytest.fixture
def scenario() -> Iterator[Scenario]:
    engine = DuckDBEngine(":memory:", threads=2, memory_limit="1GB")
    try:
        yield Scenario(engine)
    finally:
        engine.close()
