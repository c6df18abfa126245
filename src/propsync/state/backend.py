"""What a state backend supplies: a handful of primitives the repositories are written
on, so each repository's queries exist once for both backends.

Parameters are `?` placeholders; rows come back as dicts (column -> value) inside the
state package only: the repositories turn them into dataclasses.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from propsync.engines import Engine
    from propsync.state.locks import LockHolder
    from propsync.state.migrations import AppliedMigration


class Backend(ABC):
    """One database holding the state tables (DuckDB in the engine file, PostgreSQL)."""

    kind: str

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None: ...

    @abstractmethod
    def dicts(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]: ...

    @abstractmethod
    def insert(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> int:
        """Append rows in one bulk statement; return how many."""

    @abstractmethod
    def lock(self, name: str, run_id: str) -> AbstractContextManager[LockHolder]:
        """Hold the named lock (e.g. "sync-create") for a run; raises LockHeld naming the
        holder (run id, pid, host, since). A killed holder's lock is freed by the OS or
        the database, never left held."""

    @abstractmethod
    def lock_holders(self) -> dict[str, LockHolder]:
        """Run id -> holder, for every lock held right now."""

    @abstractmethod
    def migrate(self) -> list[str]:
        """Apply pending migrations; return the names applied (none when up to date)."""

    @abstractmethod
    def migrations(self) -> list[AppliedMigration]:
        """The migrations applied so far, oldest first."""

    def mirror_to(self, engine: Engine) -> dict[str, int]:
        """Copy the tables the monitoring views read into the engine; return row counts.
        A no-op where the state already lives in the engine."""
        return {}

    def close(self) -> None:  # noqa: B027 - backends without resources keep the default
        """Release connections."""
