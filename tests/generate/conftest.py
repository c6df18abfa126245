"""One default-scale scenario per test session (it takes well under a second)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from propsync.generate import GroundTruth, generate

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def default_scenario(tmp_path_factory: pytest.TempPathFactory) -> GroundTruth:
    out = tmp_path_factory.mktemp("default")
    return generate(rds_target=f"duckdb:{out / 'rds.duckdb'}", out_dir=out, now=NOW)


def duckdb_path(truth: GroundTruth) -> Path:
    return Path(truth.rds_target.removeprefix("duckdb:"))
