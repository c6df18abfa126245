"""A workspace is a folder with a propsync.toml: the unit every command works on.

`Workspace` is where the parts below it are wired together: it holds the typed config,
resolves its paths, and opens the engine, the state store and the Salesforce client
on first use, each once, closing them (newest first) in `close()`. The modules below
(sources, state, salesforce, models, engines) never see a Workspace: they take the
config section, engine and paths they need.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from propsync import config as config_mod
from propsync.config import CONFIG_NAME, Config
from propsync.engines import Engine, Tracer
from propsync.engines import connect as connect_engine
from propsync.errors import UsageError
from propsync.salesforce.client import SalesforceClient
from propsync.salesforce.connect import connect as connect_salesforce
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
    _client: SalesforceClient | None = field(default=None, repr=False)

    @classmethod
    def open(cls, config_path: Path | None = None, *, tracer: Tracer | None = None) -> Workspace:
        path = (config_path or Path.cwd() / CONFIG_NAME).resolve()
        return cls(root=path.parent, config=config_mod.load(path), tracer=tracer)

    def path(self, relative: str | Path) -> Path:
        """A path from the config, relative to the workspace root."""
        p = Path(relative)
        return p if p.is_absolute() else self.root / p

    def engine(self) -> Engine:
        """The engine holding the extracts and the views (opened on first use)."""
        if self._engine is None:
            self._engine = connect_engine(self.config.engine, self.root, tracer=self.tracer)
        return self._engine

    def state(self) -> StateStore:
        """The state store, migrated (opened on first use). The DuckDB state lives in
        the engine's file, so it opens the engine too."""
        if self._state is None:
            state = self.config.state
            self._state = open_state(
                state,
                engine=self.engine() if state.kind == "duckdb" else None,
                locks_dir=self.path("locks"),
                tracer=self.tracer,
            )
        return self._state

    def client(self) -> SalesforceClient:
        """The Salesforce client, logged in (on first use). For the local emulator it
        reuses a running server, else starts one that `close()` stops."""
        if self._client is None:
            self._client = connect_salesforce(
                self.config.salesforce, self.root, sync=self.config.sync
            )
        return self._client

    def close(self) -> None:
        """Close what was opened, newest first; safe to call twice."""
        client, state, engine = self._client, self._state, self._engine
        self._client = self._state = self._engine = None
        try:
            if client is not None:
                client.close()
            if state is not None:
                state.close()
        finally:
            if engine is not None:
                engine.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
