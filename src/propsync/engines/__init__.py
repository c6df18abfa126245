"""Engines run the SQL models. One adapter per engine, chosen from a registry."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from propsync.engines.base import Engine, Tracer

if TYPE_CHECKING:
    from propsync.config import EngineConfig

__all__ = ["Engine", "Tracer", "connect"]


def connect(config: EngineConfig, root: Path, *, tracer: Tracer | None = None) -> Engine:
    """Open the engine a config names; paths are relative to the workspace root."""
    if config.kind == "duckdb":
        from propsync.engines.duckdb import DuckDBEngine

        return DuckDBEngine(
            root / config.path,
            threads=config.threads,
            memory_limit=config.memory_limit,
            tracer=tracer,
        )
    raise NotImplementedError(config.kind)  # pragma: no cover - the config type forbids it
