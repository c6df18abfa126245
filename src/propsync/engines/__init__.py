"""Engines run the SQL models. One adapter per engine, chosen from a registry keyed by
`[engine] kind` (like sqlmesh's dialect -> adapter class).

An adapter module is imported only when its engine is opened (DuckDB is a heavy
driver). A new engine is a module here subclassing `Engine` (setting its capability
flags and overriding the statements its SQL spells differently) and one line in
`ADAPTERS`; nothing outside `engines/` changes.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from propsync.engines.base import Engine, Tracer
from propsync.engines.settings import Size
from propsync.errors import ConfigError

if TYPE_CHECKING:
    from propsync.config import EngineConfig

__all__ = ["ADAPTERS", "Engine", "Size", "Tracer", "adapter", "connect"]

# `[engine] kind` -> "module:class" of its adapter, imported on first use.
ADAPTERS: dict[str, str] = {
    "duckdb": "propsync.engines.duckdb:DuckDBEngine",
    "spark": "propsync.engines.spark:SparkEngine",
}


def adapter(kind: str) -> type[Engine]:
    """The adapter class of an engine kind (imports its module)."""
    target = ADAPTERS.get(kind)
    if target is None:
        raise ConfigError(f"unknown engine kind {kind!r}; known: {', '.join(sorted(ADAPTERS))}")
    module, name = target.split(":")
    cls: type[Engine] = getattr(importlib.import_module(module), name)
    return cls


def connect(config: EngineConfig, root: Path, *, tracer: Tracer | None = None) -> Engine:
    """Open the engine a config names; paths are relative to the workspace root."""
    return adapter(config.kind).from_config(config, root, tracer=tracer)
