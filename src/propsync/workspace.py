"""A workspace is a folder with a propsync.toml: the unit every command works on."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from propsync import config as config_mod
from propsync.config import CONFIG_NAME, Config
from propsync.engines import Engine, Tracer, connect
from propsync.errors import UsageError
from propsync.state import StateStore, open_state


def init(directory: Path, *, force: bool = False) -> Path:
    """Write a commented propsync.toml for the embedded default; return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / CONFIG_NAME
    if target.exists() and not force:
        raise UsageError(f"{target} already exists (use --force to overwrite)")
    target.write_text(config_mod.TEMPLATE, encoding="utf-8")
    return target


@dataclass
class Workspace:
    """Config plus the folder it lives in; opens the engine, state and org lazily."""

    root: Path
    config: Config
    tracer: Tracer | None = None
    _engine: Engine | None = field(default=None, repr=False)
    _state: StateStore | None = field(default=None, repr=False)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def open(cls, config_path: Path | None = None, *, tracer: Tracer | None = None) -> Workspace:
        path = (config_path or Path.cwd() / CONFIG_NAME).resolve()
        return cls(root=path.parent, config=config_mod.load(path), tracer=tracer)

    def path(self, relative: str) -> Path:
        """A path from the config, relative to the workspace root."""
        p = Path(relative)
        return p if p.is_absolute() else self.root / p

    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = connect(self.config.engine, self.root, tracer=self.tracer)
        return self._engine

    def state(self) -> StateStore:
        """The state store, opened (and migrated) on first use; closed by `close()`.
        The DuckDB state lives in the engine's file, so it opens the engine too."""
        if self._state is None:
            state = self.config.state
            self._state = open_state(
                state,
                engine=self.engine() if state.kind == "duckdb" else None,
                locks_dir=self.path("locks"),
                tracer=self.tracer,
            )
        return self._state

    def build_models(self, *, strict: bool = True) -> list[str]:
        """Build every view in the engine. The state tables the monitoring views read are
        migrated first (and mirrored into the engine when the state lives in PostgreSQL).
        Call it after every extraction: the RDS side of the models is materialised."""
        from propsync import models

        engine = self.engine()
        self.state().mirror_to(engine)
        return list(models.build(engine, strict=strict))

    def close(self) -> None:
        for obj in self._cache.values():
            close = getattr(obj, "close", None)
            if callable(close):
                close()
        self._cache.clear()
        state, self._state = self._state, None
        try:
            if state is not None:
                state.close()
        finally:
            if self._engine is not None:
                self._engine.close()
                self._engine = None

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
