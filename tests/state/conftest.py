"""Both state backends, on real databases: DuckDB in the engine file, and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from propsync.workspace import Workspace

STATE_DSN_ENV = "PROPSYNC_TEST_STATE_DSN"


@dataclass
class StateWorkspace:
    """A workspace folder for one backend; `open()` gives a Workspace with a SQL tracer."""

    root: Path
    backend: str
    dsn: str | None
    statements: list[str] = field(default_factory=list)

    @property
    def config_path(self) -> Path:
        return self.root / "propsync.toml"

    def open(self) -> Workspace:
        return Workspace.open(self.config_path, tracer=self._trace)

    def _trace(self, sql: str, params: Any) -> None:
        self.statements.append(sql)


@pytest.fixture(params=["duckdb", "postgresql"])
def state_ws(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[StateWorkspace]:
    backend = request.param
    dsn = None
    text = '[engine]\npath = "propsync.duckdb"\n'
    if backend == "postgresql":
        dsn = request.getfixturevalue("pg_dsn")
        monkeypatch.setenv(STATE_DSN_ENV, dsn)
        text += f'\n[state]\nkind = "postgresql"\ndsn_env = "{STATE_DSN_ENV}"\n'
    (tmp_path / "propsync.toml").write_text(text, encoding="utf-8")
    yield StateWorkspace(tmp_path, backend, dsn)
